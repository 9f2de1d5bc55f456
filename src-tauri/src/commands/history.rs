//! The event log.

use certmend_core::server::CodedMessage;
use certmend_core::store::EventRow;
use tauri::{AppHandle, Manager, Runtime};

use super::{blocking, coded};
use crate::state::AppState;

#[tauri::command]
pub async fn events<R: Runtime>(
    app: AppHandle<R>,
    limit: Option<u32>,
) -> Result<Vec<EventRow>, CodedMessage> {
    blocking(move || {
        app.state::<AppState>()
            .store()
            .events(Some(limit.unwrap_or(500).min(5000)))
            .map_err(coded)
    })
    .await
}
