//! The server in use: found at start, or chosen (folder picker, dropped folder).

use std::time::Duration;

use certmend_core::server::{self, CodedMessage, DetectSources, Opened, ServerReport};
use certmend_core::store::BackupRow;
use certmend_core::{bundle, inventory, paths, watch};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use super::{blocking, coded, path_from_window};
use crate::state::{lock, AppState};

/// What the Server view shows.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    pub server_id: i64,
    pub report: ServerReport,
    /// Every server found on this machine.
    pub found: Vec<server::ServerInstall>,
    pub fell_back_to_demo: bool,
    /// The newest backup certmend verified of the server's current key pair.
    pub backup: Option<BackupRow>,
    /// The IpXfer syntax the server's version calls for (and why), and the XG values
    /// its ofcscan.ini holds: where the export dialog starts.
    pub ipxfer: bundle::IpXferDefaults,
}

fn view(state: &AppState, opened: Opened) -> Result<ServerView, CodedMessage> {
    let recorded = {
        let mut store = state.store();
        inventory::record(&mut store, opened.report.server.clone()).map_err(coded)?
    };
    let backup = certmend_core::backup::latest_backup(&state.store(), &recorded).map_err(coded)?;
    state.set_server(recorded.clone());
    Ok(ServerView {
        server_id: recorded.server_id,
        ipxfer: bundle::ipxfer_defaults(&recorded.report.server),
        report: recorded.report,
        found: opened.found,
        fell_back_to_demo: opened.fell_back_to_demo,
        backup,
    })
}

/// The server the app starts on: `$CERTMEND_ROOT` when set, else this machine's server;
/// with none found, the demo server in the app's data folder.
#[tauri::command]
pub async fn open_server<R: Runtime>(app: AppHandle<R>) -> Result<ServerView, CodedMessage> {
    let app2 = app.clone();
    let view = blocking(move || {
        let state = app2.state::<AppState>();
        let mut sources = DetectSources::from_system();
        if let Some(root) = std::env::var_os("CERTMEND_ROOT").filter(|v| !v.is_empty()) {
            sources = sources.with_root(root);
        }
        let demo_dir = paths::demo_dir().ok_or_else(|| CodedMessage {
            code: "app.no_data_dir".into(),
            message: "the OS gives no per-user application-data folder for the demo server".into(),
        })?;
        let opened = server::open_first_or_demo(&sources, &demo_dir).map_err(coded)?;
        view(&state, opened)
    })
    .await?;
    watch_certificate(&app, &view);
    Ok(view)
}

/// A folder the admin chose or dropped: an install folder, a PCCSRV folder, or a
/// mounted/copied system drive holding one.
#[tauri::command]
pub async fn choose_server<R: Runtime>(
    app: AppHandle<R>,
    path: String,
) -> Result<ServerView, CodedMessage> {
    let folder = path_from_window(&path)?;
    let app2 = app.clone();
    let view = blocking(move || {
        let state = app2.state::<AppState>();
        let install = match server::open(&folder) {
            Ok(install) => install,
            Err(open_error) => {
                // A drive root: look for the default install folders below it.
                let found = server::detect(&DetectSources::default().with_root(&folder));
                found.into_iter().next().ok_or_else(|| coded(open_error))?
            }
        };
        let opened = Opened {
            report: server::report(install),
            found: Vec::new(),
            fell_back_to_demo: false,
        };
        view(&state, opened)
    })
    .await?;
    watch_certificate(&app, &view);
    Ok(view)
}

/// The server in use, read again (after a restore, or when its certificate changed).
#[tauri::command]
pub async fn reload_server<R: Runtime>(app: AppHandle<R>) -> Result<ServerView, CodedMessage> {
    let app2 = app.clone();
    let view = blocking(move || {
        let state = app2.state::<AppState>();
        let folder = state.server()?.report.server.install_folder;
        let install = server::open(&folder).map_err(coded)?;
        view(
            &state,
            Opened {
                report: server::report(install),
                found: Vec::new(),
                fell_back_to_demo: false,
            },
        )
    })
    .await?;
    // Watch again from what is there now.
    watch_certificate(&app, &view);
    Ok(view)
}

/// `server-certificate-changed`: OfcNTCer.dat differs from what the window shows.
#[derive(Debug, Clone, Serialize)]
struct CertificateChanged {
    server_id: i64,
    /// SHA-256 of the file now; none when it is gone or unreadable.
    sha256: Option<String>,
}

/// Watches the server's PCCSRV\Pccnt\Common folder: a new OfcNTCer.dat makes the
/// window show a banner (and, once reloaded, bundles made before become stale).
pub fn watch_certificate<R: Runtime>(app: &AppHandle<R>, view: &ServerView) {
    let Some(folder) = view
        .report
        .server
        .certificate_path()
        .and_then(|p| p.parent())
        .map(|p| p.to_path_buf())
    else {
        return;
    };
    let known = view.report.certificate.as_ref().map(|c| c.sha256.clone());
    let emitter = app.clone();
    let server_id = view.server_id;
    let certificate = view
        .report
        .server
        .certificate_path()
        .map(|p| p.to_path_buf());
    let watching = watch::watch(&folder, Duration::from_millis(500), move |_| {
        let now = certificate
            .as_deref()
            .and_then(|p| certmend_core::cert::load(p).ok())
            .map(|c| c.info().sha256.clone());
        if now != known {
            let _ = emitter.emit(
                "server-certificate-changed",
                CertificateChanged {
                    server_id,
                    sha256: now,
                },
            );
        }
    });
    if let Ok(w) = watching {
        let state = app.state::<AppState>();
        lock(&state.watches).insert("certificate".into(), w);
    }
}

/// Stops running jobs (an export keeps the bundles it finished) and quits: the window's
/// answer to `close-requested`.
#[tauri::command]
pub fn quit_app<R: Runtime>(app: AppHandle<R>) {
    let state = app.state::<AppState>();
    state.cancel_all();
    // Give jobs a moment to stop between files, so no temporary folder is left behind.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !state.running().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    app.exit(0);
}
