//! The commands the window may call (listed in build.rs and granted in capabilities/).

use certmend_core::paths;
use certmend_core::server::{self, CodedMessage, DetectSources, Opened};

/// Opens the server the app starts on: `$CERTMEND_ROOT` when set, else this machine's
/// server; with none found, the demo server in the app's data folder.
#[tauri::command]
pub async fn open_server() -> Result<Opened, CodedMessage> {
    // Detection hashes files and may generate demo keys: keep it off the main thread.
    tauri::async_runtime::spawn_blocking(open_server_blocking)
        .await
        .map_err(|e| CodedMessage {
            code: "app.internal".into(),
            message: e.to_string(),
        })?
}

fn open_server_blocking() -> Result<Opened, CodedMessage> {
    let mut sources = DetectSources::from_system();
    if let Some(root) = std::env::var_os("CERTMEND_ROOT").filter(|v| !v.is_empty()) {
        sources = sources.with_root(root);
    }
    let demo_dir = paths::demo_dir().ok_or_else(|| CodedMessage {
        code: "app.no_data_dir".into(),
        message: "the OS gives no per-user application-data folder for the demo server".into(),
    })?;
    server::open_first_or_demo(&sources, &demo_dir).map_err(|e| CodedMessage::from_error(&e))
}
