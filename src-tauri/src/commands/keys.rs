//! Key pairs: show and check, back up, list, verify, restore (plan first, then an
//! explicit confirmation). Passwords arrive in the command's arguments, are held in
//! zeroizing strings, and go nowhere else.

use certmend_core::backup::{self, Created, RestorePlan, Restored};
use certmend_core::keypair::{self, Encryption, KeyPairReport};
use certmend_core::server::CodedMessage;
use certmend_core::store::BackupRow;
use certmend_core::{inventory, paths};
use serde::Deserialize;
use tauri::{AppHandle, Manager, Runtime};
use zeroize::Zeroizing;

use super::{blocking, coded, path_from_window};
use crate::state::AppState;

fn backups_dir() -> Result<std::path::PathBuf, CodedMessage> {
    paths::data_dir()
        .map(|d| d.join("backups"))
        .ok_or_else(|| CodedMessage {
            code: "backup.no_data_folder".into(),
            message: "no per-user data folder on this system".into(),
        })
}

/// A key pair file and its password.
#[derive(Deserialize)]
pub struct KeyPairFile {
    /// Empty: the server's own AuthCertBackup\OfficeScanAuth.dat.
    #[serde(default)]
    pub path: String,
    pub password: Zeroizing<String>,
}

fn open_pair(
    state: &AppState,
    file: &KeyPairFile,
) -> Result<(std::path::PathBuf, Zeroizing<Vec<u8>>, keypair::KeyPair), CodedMessage> {
    let path = if file.path.is_empty() {
        backup::server_key_pair_file(&state.server()?).map_err(coded)?
    } else {
        path_from_window(&file.path)?
    };
    let bytes = keypair::read_bytes(&path).map_err(coded)?;
    let pair = keypair::parse_pkcs12(&bytes, &file.password, &path).map_err(coded)?;
    Ok((path, bytes, pair))
}

#[tauri::command]
pub async fn keypair_show<R: Runtime>(
    app: AppHandle<R>,
    file: KeyPairFile,
) -> Result<KeyPairReport, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let (path, _, pair) = open_pair(&state, &file)?;
        let relation = match state.server() {
            Ok(server) => Some(
                backup::relation(
                    &state.store(),
                    server.server_id,
                    &pair.certificate().info().sha256,
                )
                .map_err(coded)?,
            ),
            Err(_) => None,
        };
        Ok(pair.report(&path, relation))
    })
    .await
}

#[derive(Deserialize)]
pub struct BackupRequest {
    pub file: KeyPairFile,
    pub new_password: Zeroizing<String>,
    #[serde(default)]
    pub legacy: bool,
    #[serde(default)]
    pub allow_weak_password: bool,
}

#[tauri::command]
pub async fn backup_create<R: Runtime>(
    app: AppHandle<R>,
    request: BackupRequest,
) -> Result<Created, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let server = state.server()?;
        backup::check_new_password(&request.new_password, request.allow_weak_password)
            .map_err(coded)?;
        let (path, _, pair) = open_pair(&state, &request.file)?;
        pair.ensure_matches(&path).map_err(coded)?;
        let encryption = if request.legacy {
            Encryption::Legacy
        } else {
            Encryption::Modern
        };
        let mut store = state.store();
        backup::create(
            &mut store,
            Some(server.server_id),
            &pair,
            &path,
            &backups_dir()?,
            &request.new_password,
            encryption,
        )
        .map_err(coded)
    })
    .await
}

#[tauri::command]
pub async fn backups_list<R: Runtime>(app: AppHandle<R>) -> Result<Vec<BackupRow>, CodedMessage> {
    blocking(move || app.state::<AppState>().store().backups().map_err(coded)).await
}

#[tauri::command]
pub async fn backup_verify<R: Runtime>(
    app: AppHandle<R>,
    file: KeyPairFile,
) -> Result<KeyPairReport, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let (path, _, pair) = open_pair(&state, &file)?;
        Ok(pair.report(&path, None))
    })
    .await
}

/// What a restore would change; writes nothing (an interrupted earlier restore is
/// finished or undone first).
#[tauri::command]
pub async fn restore_plan<R: Runtime>(
    app: AppHandle<R>,
    file: KeyPairFile,
) -> Result<RestorePlan, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let server = recovered_server(&state)?;
        let (path, _, pair) = open_pair(&state, &file)?;
        pair.ensure_matches(&path).map_err(coded)?;
        let plan = backup::plan(&state.store(), &server, &path, &pair).map_err(coded);
        plan
    })
    .await
}

#[derive(Deserialize)]
pub struct RestoreRequest {
    pub file: KeyPairFile,
    /// The admin confirmed, after seeing the plan.
    pub confirmed: bool,
}

#[tauri::command]
pub async fn restore<R: Runtime>(
    app: AppHandle<R>,
    request: RestoreRequest,
) -> Result<Restored, CodedMessage> {
    if !request.confirmed {
        return Err(CodedMessage {
            code: "backup.not_confirmed".into(),
            message: "not confirmed; nothing was written".into(),
        });
    }
    blocking(move || {
        let state = app.state::<AppState>();
        let server = recovered_server(&state)?;
        let (path, bytes, pair) = open_pair(&state, &request.file)?;
        pair.ensure_matches(&path).map_err(coded)?;
        let restored = {
            let mut store = state.store();
            backup::restore(&mut store, &server, &bytes, &pair, &backups_dir()?).map_err(coded)?
        };
        // Record the server's new certificate.
        let mut store = state.store();
        let reread =
            inventory::open(&mut store, &server.report.server.install_folder).map_err(coded)?;
        drop(store);
        state.set_server(reread);
        Ok(restored)
    })
    .await
}

/// The server in use after finishing or undoing an interrupted restore.
fn recovered_server(state: &AppState) -> Result<inventory::RecordedServer, CodedMessage> {
    let server = state.server()?;
    let (server, outcome) = {
        let mut store = state.store();
        backup::recover_server(&mut store, server).map_err(coded)?
    };
    if outcome.is_some() {
        state.set_server(server.clone());
    }
    Ok(server)
}
