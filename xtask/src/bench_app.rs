//! `cargo xtask bench-app`: the release app (UI embedded) under Xvfb, measured by the
//! ignored e2e test `tests/e2e/tests/bench.rs`: start-up to the server card, memory of
//! all its processes empty and with 100,000 agents, and search time over them. It
//! prints the figures and writes target/bench-app/report.txt; it asserts none.

use std::env;

use crate::{cargo, ensure_packages, ensure_tauri_driver, status, workspace_root, Result};

pub fn app(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("bench-app: unexpected argument {arg}"));
    }
    let mut packages = crate::BUILD_PACKAGES.to_vec();
    packages.extend_from_slice(crate::TEST_PACKAGES);
    ensure_packages(&packages)?;
    let driver = ensure_tauri_driver()?;
    let root = workspace_root();

    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "certmend-app",
        "--features",
        "custom-protocol",
        "-p",
        "certmend-cli",
    ]);
    status(
        build,
        "cargo build --release (app with its UI embedded, CLI)",
    )?;

    let dir = root.join("target/bench-app");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let list = dir.join("agents-100000.csv");
    std::fs::write(&list, crate::bench::list_text(100_000))
        .map_err(|e| format!("{}: {e}", list.display()))?;

    let mut bench = std::process::Command::new("xvfb-run");
    bench
        .current_dir(&root)
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "test",
            "-p",
            "certmend-e2e",
            "--test",
            "bench",
            "--",
            "--ignored",
            "--nocapture",
        ])
        .env("CERTMEND_TAURI_DRIVER", driver)
        .env("CERTMEND_APP", root.join("target/release/certmend-app"))
        .env("CERTMEND_BIN", root.join("target/release/certmend"))
        .env("CERTMEND_BENCH_LIST", &list);
    let result = status(bench, "the app benchmark (xvfb-run)");
    let _ = std::fs::remove_file(&list);
    result
}
