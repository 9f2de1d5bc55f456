fn main() {
    // The command list is fixed here: the capability file can only grant these.
    let manifest = tauri_build::AppManifest::new().commands(&["open_server"]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .unwrap_or_else(|e| panic!("tauri-build failed: {e:#}"));
}
