// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // WebKitGTK composites through OpenGL; on the machines this app meets (server VMs,
    // RDP sessions, Xvfb) that is Mesa's software renderer, which costs ~100 MB in the
    // web process and start-up time for a window of forms and one table that gains
    // nothing from it (measured: `cargo xtask bench-app`). An admin's own setting wins.
    // Set before any thread starts, as the environment must be.
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    std::process::exit(certmend_app_lib::run());
}
