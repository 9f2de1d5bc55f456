//! The commands the window may call: each converts arguments, calls certmend-core and
//! converts the result. The list is fixed in build.rs and granted in capabilities/.
//! Errors cross as `{code, message}`; the window translates codes.
//!
//! Paths from the window are untrusted: each command checks what it is given (a file
//! that exists, a folder), and certmend-core validates contents. The window never
//! reads or writes files itself.

pub mod agents;
pub mod dialogs;
pub mod history;
pub mod keys;
pub mod repair;
pub mod server;

use std::path::PathBuf;

use certmend_core::server::CodedMessage;
use certmend_core::ErrorCode;

use crate::state::internal;

pub fn coded<E: ErrorCode + std::fmt::Display>(error: E) -> CodedMessage {
    CodedMessage::from_error(&error)
}

/// Runs blocking work (file and database I/O, key derivation) off the main thread.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CodedMessage> + Send + 'static,
) -> Result<T, CodedMessage> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(internal)?
}

/// A path the window sent: absolute, as the OS gives them to drops and dialogs.
pub fn path_from_window(text: &str) -> Result<PathBuf, CodedMessage> {
    let path = PathBuf::from(text);
    if text.is_empty() || !path.is_absolute() {
        return Err(CodedMessage::new(
            "app.bad_path",
            format!("{text:?}: not an absolute path"),
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_the_window_must_be_absolute() {
        assert!(path_from_window("/tmp/list.csv").is_ok());
        for bad in ["", "list.csv", "../etc/passwd", "./x"] {
            assert_eq!(
                path_from_window(bad).unwrap_err().code,
                "app.bad_path",
                "{bad}"
            );
        }
    }
}
