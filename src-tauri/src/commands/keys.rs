//! Key pairs: show and check, back up, list, verify, and a restore kit (plan first,
//! then an explicit confirmation of exactly the file the plan showed). Passwords arrive
//! in the command's arguments, are held in zeroizing strings, and go nowhere else.

use std::path::{Path, PathBuf};

use certmend_core::backup::{Created, Verified};
use certmend_core::keypair::{Encryption, KeyPairReport};
use certmend_core::ops::keys::{Approval, BackupRequest, KeySource, Pkcs12Source, WeakPassword};
use certmend_core::ops::{self, ServerRef};
use certmend_core::restore::{Kit, KitPlan};
use certmend_core::store::{BackupRow, Store};
use certmend_core::CodedMessage;
use serde::Deserialize;
use tauri::{AppHandle, Manager, Runtime};
use zeroize::Zeroizing;

use super::{blocking, path_from_window};
use crate::state::AppState;

/// A key pair file and its password.
#[derive(Deserialize)]
pub struct KeyPairFile {
    /// Empty: the server's own AuthCertBackup\OfficeScanAuth.dat.
    #[serde(default)]
    pub path: String,
    pub password: Zeroizing<String>,
}

impl KeyPairFile {
    /// The file the window named; `None` for the server's own.
    fn path(&self) -> Result<Option<PathBuf>, CodedMessage> {
        match self.path.as_str() {
            "" => Ok(None),
            text => path_from_window(text).map(Some),
        }
    }

    fn password(&self, _: &Path) -> Result<Zeroizing<String>, CodedMessage> {
        Ok(self.password.clone())
    }
}

#[tauri::command]
pub async fn keypair_show<R: Runtime>(
    app: AppHandle<R>,
    file: KeyPairFile,
) -> Result<KeyPairReport, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let path = file.path()?;
        let password = |p: &Path| file.password(p);
        let source = KeySource::Pkcs12(Pkcs12Source {
            file: path.as_deref(),
            password: &password,
        });
        let server = state.server().ok();
        let mut store = state.store();
        let against = server
            .as_ref()
            .map(|server| (&mut *store, ServerRef::Recorded(server)));
        ops::keys::show(source, against)
    })
    .await
}

#[derive(Deserialize)]
pub struct BackupRequestArgs {
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
    request: BackupRequestArgs,
) -> Result<Created, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let server = state.server()?;
        let path = request.file.path()?;
        let password = |p: &Path| request.file.password(p);
        let new_password = || Ok(request.new_password.clone());
        let created = ops::keys::backup(
            &mut state.store(),
            BackupRequest {
                server: ServerRef::Recorded(&server),
                source: Pkcs12Source {
                    file: path.as_deref(),
                    password: &password,
                },
                out_dir: None,
                encryption: if request.legacy {
                    Encryption::Legacy
                } else {
                    Encryption::Modern
                },
                weak_password: if request.allow_weak_password {
                    WeakPassword::Allow
                } else {
                    WeakPassword::Refuse
                },
                new_password: &new_password,
            },
        );
        created
    })
    .await
}

#[tauri::command]
pub async fn backups_list<R: Runtime>(app: AppHandle<R>) -> Result<Vec<BackupRow>, CodedMessage> {
    blocking(move || ops::keys::backups(&app.state::<AppState>().store())).await
}

#[tauri::command]
pub async fn backup_verify<R: Runtime>(
    app: AppHandle<R>,
    file: KeyPairFile,
) -> Result<Verified, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let path = file.path()?;
        let password = |p: &Path| file.password(p);
        let source = Pkcs12Source {
            file: path.as_deref(),
            password: &password,
        };
        let server = state.server().ok();
        let verified = ops::keys::verify(
            &mut state.store(),
            source,
            server.as_ref().map(ServerRef::Recorded),
        );
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

impl KitRequest {
    /// Runs `work` with the request's server, key pair source and kit folder.
    fn with<T>(
        &self,
        state: &AppState,
        work: impl FnOnce(&mut Store, ServerRef<'_>, Pkcs12Source<'_>, &Path) -> Result<T, CodedMessage>,
    ) -> Result<T, CodedMessage> {
        let server = state.server()?;
        let out_dir = path_from_window(&self.out_dir)?;
        let path = self.file.path()?;
        let password = |p: &Path| self.file.password(p);
        let source = Pkcs12Source {
            file: path.as_deref(),
            password: &password,
        };
        let result = work(
            &mut state.store(),
            ServerRef::Recorded(&server),
            source,
            &out_dir,
        );
        result
    }
}

/// What a restore kit would hold and what its certificate is to the agents; writes
/// nothing.
#[tauri::command]
pub async fn restore_plan<R: Runtime>(
    app: AppHandle<R>,
    request: KitRequest,
) -> Result<KitPlan, CodedMessage> {
    blocking(move || {
        request.with(
            &app.state::<AppState>(),
            |store, server, source, out_dir| {
                Ok(ops::keys::plan_kit(store, server, source, out_dir)?.plan)
            },
        )
    })
    .await
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
    let approval = if request.confirmed {
        Approval::Approved {
            source_sha256: request.source_sha256.clone(),
        }
    } else {
        Approval::NotApproved
    };
    blocking(move || {
        request.kit.with(
            &app.state::<AppState>(),
            |store, server, source, out_dir| {
                ops::keys::approved_kit(store, server, source, out_dir, approval)
            },
        )
    })
    .await
}
