//! The event log.

use certmend_core::store::EventRow;
use certmend_core::{ops, CodedMessage};
use tauri::{AppHandle, Manager, Runtime};

use super::blocking;
use crate::state::AppState;

#[tauri::command]
pub async fn events<R: Runtime>(
    app: AppHandle<R>,
    limit: Option<u32>,
) -> Result<Vec<EventRow>, CodedMessage> {
    blocking(move || {
        // The window shows at most 5,000 events; 500 unless it asks.
        let limit = limit.unwrap_or(500).min(5000);
        let events = ops::history::events(&app.state::<AppState>().store(), limit);
        events
    })
    .await
}
