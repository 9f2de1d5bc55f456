//! Key pairs: show and check, back up, list, verify, and a restore kit (plan first,
//! then an explicit confirmation of exactly the file the plan showed). Passwords arrive
//! in the command's arguments, are held in zeroizing strings, and go nowhere else.

use certmend_core::backup::{self, Created, Verified};
use certmend_core::keypair::{self, Encryption, KeyPairReport};
use certmend_core::paths;
use certmend_core::restore::{self, Kit, KitPlan};
use certmend_core::server::CodedMessage;
use certmend_core::store::BackupRow;
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
) -> Result<Verified, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let (path, bytes, pair) = open_pair(&state, &file)?;
        let verified = backup::verified(&state.store(), &path, &bytes, &pair).map_err(coded);
        verified
    })
    .await
}

/// A restore kit: a key pair file and the folder the kit goes into.
#[derive(Deserialize)]
pub struct KitRequest {
    pub file: KeyPairFile,
    pub out_dir: String,
}

fn kit_plan(
    state: &AppState,
    request: &KitRequest,
) -> Result<(KitPlan, Zeroizing<Vec<u8>>, keypair::KeyPair), CodedMessage> {
    let server = state.server()?;
    let out_dir = path_from_window(&request.out_dir)?;
    let (path, bytes, pair) = open_pair(state, &request.file)?;
    let plan =
        restore::plan(&state.store(), &server, &path, &bytes, &pair, &out_dir).map_err(coded)?;
    Ok((plan, bytes, pair))
}

/// What a restore kit would hold and what its certificate is to the agents; writes
/// nothing.
#[tauri::command]
pub async fn restore_plan<R: Runtime>(
    app: AppHandle<R>,
    request: KitRequest,
) -> Result<KitPlan, CodedMessage> {
    blocking(move || kit_plan(&app.state::<AppState>(), &request).map(|(plan, _, _)| plan)).await
}

#[derive(Deserialize)]
pub struct WriteKitRequest {
    #[serde(flatten)]
    pub kit: KitRequest,
    /// The SHA-256 of the key pair file the plan showed: any other bytes are refused.
    pub source_sha256: String,
    /// The admin confirmed, after seeing the plan.
    pub confirmed: bool,
}

#[tauri::command]
pub async fn restore_kit<R: Runtime>(
    app: AppHandle<R>,
    request: WriteKitRequest,
) -> Result<Kit, CodedMessage> {
    if !request.confirmed {
        return Err(CodedMessage {
            code: "backup.not_confirmed".into(),
            message: "not confirmed; nothing was written".into(),
        });
    }
    blocking(move || {
        let state = app.state::<AppState>();
        let server_id = state.server()?.server_id;
        let (mut plan, bytes, pair) = kit_plan(&state, &request.kit)?;
        // What the admin approved, not what the file holds now: write() compares them.
        plan.source_sha256 = request.source_sha256;
        let mut store = state.store();
        restore::write(
            &mut store,
            server_id,
            &plan,
            &bytes,
            &pair,
            &request.kit.file.password,
        )
        .map_err(coded)
    })
    .await
}
