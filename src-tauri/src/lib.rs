//! The certmend desktop app: a thin shell. Each command converts arguments, calls
//! certmend-core and returns its result; errors cross to the UI as `{code, message}`
//! so the UI can translate them. See commands/ for the list, and COMMANDS.md for
//! what each takes, returns and emits.

mod commands;
pub mod startup;
mod state;

use certmend_core::contract::events;
use tauri::{Manager, Runtime};

/// Every command the window may call; build.rs lists the same names for the
/// capability file.
macro_rules! handlers {
    () => {
        tauri::generate_handler![
            commands::server::open_server,
            commands::server::choose_server,
            commands::server::reload_server,
            commands::agents::start_import,
            commands::agents::cancel_job,
            commands::agents::agents_page,
            commands::agents::compare_collected,
            commands::agents::classify_drop,
            commands::repair::list_drives,
            commands::repair::export_estimate,
            commands::repair::start_export,
            commands::repair::read_receipts,
            commands::repair::verify_bundles,
            commands::repair::export_progress,
            commands::repair::open_folder,
            commands::keys::keypair_show,
            commands::keys::backup_create,
            commands::keys::backups_list,
            commands::keys::backup_verify,
            commands::keys::restore_plan,
            commands::keys::restore_kit,
            commands::history::events,
            commands::dialogs::pick_files,
            commands::dialogs::pick_folder,
            commands::server::quit_app,
        ]
    };
}

/// The app as the shell builds it, on any runtime: the real window (Wry) in `run`,
/// Tauri's mock runtime in the command tests (tests/commands.rs).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let state =
                state::AppState::open().map_err(|e| format!("{}: {}", e.code, e.message))?;
            app.manage(state);
            commands::repair::poll_receipts(app.handle().clone());
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing while an import or export runs: ask the window first (it calls
            // quit_app when the admin agrees). A finished bundle stays complete either way.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let running = window.state::<state::AppState>().running();
                if !running.is_empty() {
                    api.prevent_close();
                    let _ = tauri::Emitter::emit(
                        window,
                        events::CLOSE_REQUESTED,
                        serde_json::json!({ "running": running }),
                    );
                }
            }
        })
        .invoke_handler(handlers!())
}

/// tauri.conf.json, the capabilities and the embedded UI, for any runtime.
pub fn context<R: Runtime>() -> tauri::Context<R> {
    tauri::generate_context!()
}

/// Opens the window; returns the process's exit status. On Windows the WebView2
/// runtime is checked first (see [`startup`]).
pub fn run() -> i32 {
    #[cfg(windows)]
    if let Err(notice) = startup::check_webview2() {
        startup::report(&notice);
        return startup::EXIT_WEBVIEW2_MISSING;
    }
    match builder(tauri::Builder::default()).run(context()) {
        Ok(()) => 0,
        Err(error) => {
            let language = startup::Language::of_system();
            startup::report(&startup::start_failed(language, &error.to_string()));
            startup::EXIT_START_FAILED
        }
    }
}
