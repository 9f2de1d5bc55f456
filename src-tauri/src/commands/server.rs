//! The server in use: found at start, or chosen (folder picker, dropped folder).

use std::time::Duration;

use certmend_core::contract::events;
use certmend_core::ops::server::Overview;
use certmend_core::server::DetectSources;
use certmend_core::{ops, paths, watch, CodedMessage};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use super::{blocking, path_from_window};
use crate::state::{lock, AppState};

/// What the Server view shows.
pub type ServerView = Overview;

/// Keeps `view`'s server as the one in use and watches its certificate.
fn use_server<R: Runtime>(app: &AppHandle<R>, view: &ServerView) {
    app.state::<AppState>().set_server(view.recorded.clone());
    watch_certificate(app, view);
}

/// The server the app starts on: `$CERTMEND_ROOT` when set, else this machine's server;
/// with none found, the demo server in the app's data folder.
#[tauri::command]
pub async fn open_server<R: Runtime>(app: AppHandle<R>) -> Result<ServerView, CodedMessage> {
    let app2 = app.clone();
    let view = blocking(move || {
        let mut sources = DetectSources::from_system();
        if let Some(root) = std::env::var_os("CERTMEND_ROOT").filter(|v| !v.is_empty()) {
            sources = sources.with_root(root);
        }
        let demo_dir = paths::demo_dir().ok_or_else(|| {
            CodedMessage::new(
                "app.no_data_dir",
                "the OS gives no per-user application-data folder for the demo server",
            )
        })?;
        let state = app2.state::<AppState>();
        let demo = || certmend_core::demo::ensure(&demo_dir).map_err(super::coded);
        let view = ops::server::open_at_start(&mut state.store(), &sources, &demo);
        view
    })
    .await?;
    use_server(&app, &view);
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
        let view = ops::server::choose(&mut state.store(), &folder);
        view
    })
    .await?;
    use_server(&app, &view);
    Ok(view)
}

/// The server in use, read again (after a restore, or when its certificate changed).
#[tauri::command]
pub async fn reload_server<R: Runtime>(app: AppHandle<R>) -> Result<ServerView, CodedMessage> {
    let app2 = app.clone();
    let view = blocking(move || {
        let state = app2.state::<AppState>();
        let folder = state.server()?.report.server.install_folder;
        let view = ops::server::reload(&mut state.store(), &folder);
        view
    })
    .await?;
    // Watch again from what is there now.
    use_server(&app, &view);
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
                events::SERVER_CERTIFICATE_CHANGED,
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
