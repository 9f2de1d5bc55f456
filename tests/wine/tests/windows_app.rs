#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! The Windows build of the desktop app, started under Wine: Wine has no WebView2
//! runtime, which is exactly what a Windows Server without it looks like. The app must
//! take its "runtime missing" path — a notice in its start-up log, exit status 3 —
//! within seconds, never a blank window or a hang (before the check, the app panicked
//! "failed to create window" and then hung).
//!
//! `CERTMEND_WIN_APP` names the release build (`cargo xtask test` builds it with
//! `WebView2Loader.dll` beside it). The message box is switched off with
//! `CERTMEND_NO_MESSAGE_BOX=1` (headless: nobody would click it); its text is checked by
//! the app's unit tests.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use certmend_wine_tests::{required_path, z_path, WinePrefix};

fn prefix() -> &'static WinePrefix {
    static PREFIX: OnceLock<WinePrefix> = OnceLock::new();
    PREFIX.get_or_init(|| {
        WinePrefix::for_this_process(
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine/windows_app"),
        )
    })
}

fn app() -> PathBuf {
    let app = required_path(
        "CERTMEND_WIN_APP",
        "the Windows build of the app (target/x86_64-pc-windows-gnu/release/certmend-app.exe)",
    );
    let loader = app.with_file_name("WebView2Loader.dll");
    assert!(
        loader.is_file(),
        "{}: the app needs it beside it (the gnu build imports it)",
        loader.display()
    );
    app
}

#[test]
fn without_webview2_the_app_says_so_in_its_log_and_exits_3() {
    let w = prefix();
    let data = w.local_app_data().join("certmend").join("data");
    let log = data.join("certmend-app.log");
    let _ = std::fs::remove_file(&log);

    let out = w.run(
        w.wine()
            .arg(z_path(&app()))
            .env("CERTMEND_NO_MESSAGE_BOX", "1")
            // The data folder must be the one Windows gives (%LOCALAPPDATA%), not a
            // test override.
            .env_remove("CERTMEND_DATA_DIR"),
        None,
        Duration::from_secs(60),
        "certmend-app.exe under Wine (no WebView2)",
    );
    assert_eq!(out.code, Some(3), "{}", out.describe());

    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| {
        panic!(
            "{}: the start-up log was not written ({e})\n{}",
            log.display(),
            out.describe()
        )
    });
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    assert!(
        line.contains(concat!("certmend-app ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(line.contains("error[app.webview2_missing]"), "{line}");
    // Wine's locale here is English (LANG=C.UTF-8): the English notice, with the way
    // out (the offline installer, the CLI) and the loader's own words.
    for wanted in [
        "Microsoft Edge WebView2 Runtime is not installed",
        "Evergreen Standalone Installer",
        "certmend --help",
        "(WebView2 loader: ",
    ] {
        assert!(line.contains(wanted), "{wanted}: {line}");
    }
    // No window, no server opened, no database: the check comes before everything.
    assert!(
        !data.join("certmend.sqlite3").exists(),
        "the app went on after the check"
    );

    // With the message box on (as an admin starts it): headless Wine has no desktop to
    // show it on and returns at once; what matters here is that the box's code path
    // neither crashes nor keeps the process alive, and the log gets its line anyway.
    let out = w.run(
        w.wine().arg(z_path(&app())).env_remove("CERTMEND_DATA_DIR"),
        None,
        Duration::from_secs(60),
        "certmend-app.exe under Wine, message box on",
    );
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}
