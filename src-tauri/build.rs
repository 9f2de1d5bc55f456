/// The commands the window may call (the same list as lib.rs's handlers): the
/// capability file can only grant these.
const COMMANDS: &[&str] = &[
    "open_server",
    "choose_server",
    "reload_server",
    "start_import",
    "cancel_job",
    "agents_page",
    "compare_collected",
    "classify_drop",
    "list_drives",
    "export_estimate",
    "start_export",
    "read_receipts",
    "verify_bundles",
    "export_progress",
    "open_folder",
    "keypair_show",
    "backup_create",
    "backups_list",
    "backup_verify",
    "restore_plan",
    "restore_kit",
    "events",
    "pick_files",
    "pick_folder",
    "quit_app",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .unwrap_or_else(|e| panic!("tauri-build failed: {e:#}"));
}
