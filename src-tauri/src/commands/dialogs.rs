//! The OS file dialogs, opened from Rust: the window gets paths to hand back to other
//! commands, and needs no dialog permission of its own.

use certmend_core::server::CodedMessage;
use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::DialogExt;

use super::blocking;

fn to_strings(paths: Vec<tauri_plugin_dialog::FilePath>) -> Vec<String> {
    paths
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// `lists`, `certificates` or `key_pair`: the filter the dialog offers first.
#[tauri::command]
pub async fn pick_files<R: Runtime>(
    app: AppHandle<R>,
    kind: String,
) -> Result<Vec<String>, CodedMessage> {
    blocking(move || {
        let dialog = app.dialog().file();
        let dialog = match kind.as_str() {
            "lists" => dialog.add_filter("CertificateManager lists", &["csv", "txt", "tsv"]),
            "certificates" => dialog.add_filter("Certificates", &["dat", "cer", "crt", "pem"]),
            "key_pair" => dialog.add_filter("PKCS#12 key pairs", &["pfx", "p12", "dat"]),
            _ => dialog,
        };
        let picked = if kind == "key_pair" {
            dialog.blocking_pick_file().map(|p| vec![p])
        } else {
            dialog.blocking_pick_files()
        };
        Ok(picked.map(to_strings).unwrap_or_default())
    })
    .await
}

#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>) -> Result<Option<String>, CodedMessage> {
    blocking(move || {
        Ok(app
            .dialog()
            .file()
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok())
            .map(|p| p.to_string_lossy().into_owned()))
    })
    .await
}
