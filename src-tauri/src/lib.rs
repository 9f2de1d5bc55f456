//! The certmend desktop app: a thin shell. Each command converts arguments, calls one
//! function of certmend-core and returns its result; errors cross to the UI as
//! `{code, message}` so the UI can translate them.

mod commands;

pub fn run() {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::open_server])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("certmend-app: error[app.start]: {error}");
        std::process::exit(1);
    }
}
