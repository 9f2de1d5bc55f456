//! `cargo xtask run` and `cargo xtask test`: the README's two commands.
//!
//! Each installs what it needs when it is missing (Debian/Ubuntu packages via apt-get,
//! tauri-driver via cargo install), so they work on a fresh machine and are quick on a
//! prepared one.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod bench_app;
mod bench_bundles;
mod bench_receipts;
mod contract;
mod deny;
mod dist;
mod dist_windows;
mod fuzz;
mod layers;
mod sizes;

/// What building the Tauri app needs on Linux (see shared TESTING.md).
pub(crate) const BUILD_PACKAGES: &[&str] = &[
    "pkg-config",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
];

/// What the test suites add: the real window under Xvfb driven through WebDriver,
/// screenshots, openssl as the independent checker, node for the UI's pure modules.
pub(crate) const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "xvfb",
    "xauth",
    "imagemagick",
    "openssl",
    "nodejs",
    "sqlite3",
    // Japanese text in the window's screenshots.
    "fonts-ipafont-gothic",
    // One real drag and drop: a GTK drag source (python3-gi) moved by xdotool.
    "xdotool",
    "python3-gi",
    "gir1.2-gtk-3.0",
];

/// The generated repair.cmd runs in Wine's cmd.exe with stand-ins built by mingw-w64;
/// `locales` provides the ja_JP source for a private Japanese locale (localedef).
const WINE_PACKAGES: &[&str] = &["wine64", "gcc-mingw-w64-x86-64", "locales"];

/// Pinned so every machine drives the window with the same driver.
const TAURI_DRIVER_VERSION: &str = "2.0.6";
/// Seconds each fuzz target runs in `cargo xtask test`.
const FUZZ_SMOKE_SECONDS: u64 = 5;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run_app(&args[1..]),
        Some("test") => test_all(),
        Some("bench-import") => bench::import(&args[1..]),
        Some("bench-bundles") => bench_bundles::bundles(&args[1..]),
        Some("bench-receipts") => bench_receipts::receipts(&args[1..]),
        Some("bench-app") => bench_app::app(&args[1..]),
        Some("contract") => contract::contract(&args[1..]),
        Some("layers") => layers::layers(&args[1..]),
        Some("sizes") => sizes::sizes(&args[1..]),
        Some("deny") => deny::deny(&args[1..]),
        Some("dist") => dist::dist(&args[1..]),
        Some("dist-windows") => dist_windows::dist_windows(&args[1..]).map(|d| d.print_wine_env()),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        _ => Err(
            "usage: cargo xtask run [ARGS...]   build and open the desktop app\n       \
             cargo xtask test             install what the tests need and run every suite\n       \
             cargo xtask bench-import [--agents N] [--runs N]\n                                    \
             time a list import against sqlite3's .import\n       \
             cargo xtask bench-bundles [--agents N] [--runs N]\n                                    \
             time a bundle export against cp -r of the same bytes\n       \
             cargo xtask bench-receipts [--receipts N] [--runs N] [--keep]\n                                    \
             time `certmend receipts` reading N receipt files (10,000 by default)\n       \
             cargo xtask bench-app        start-up, memory and search of the release app\n       \
             cargo xtask contract [--check]  write (or check) ui/contract.js from Rust's contract\n       \
             cargo xtask layers           check certmend-core's layers (leaf → readers → store → services → ops → demo)\n       \
             cargo xtask sizes            check that no certmend-core function is over 80 lines (templates aside)\n       \
             cargo xtask deny             cargo-deny: advisories, licences, bans, sources (deny.toml)\n       \
             cargo xtask dist             every release package: Linux (.deb; AppImage where possible) and Windows (dist-windows)\n       \
             cargo xtask dist-windows     Windows builds (x86_64-pc-windows-gnu), MSI and portable zip in target/dist\n       \
             cargo xtask fuzz [--seconds N] [--seed N] [TARGET...]\n                                    \
             run the cargo-fuzz targets in fuzz/ (60 s each by default)"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Runs `cmd`, saying what it is and, afterwards, how long it took (the figures CI's
/// time budget is planned with).
pub(crate) fn status(mut cmd: Command, what: &str) -> Result {
    eprintln!("xtask: {what}");
    let started = std::time::Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if status.success() {
        eprintln!("xtask: {what}: done in {seconds:.0} s");
        Ok(())
    } else {
        Err(format!("{what}: failed ({status}) after {seconds:.0} s"))
    }
}

/// Runs `cmd` like [`status`], but keeps its stderr (echoed as well) for the caller
/// to tell one kind of failure from another; the exit status comes back as it is.
pub(crate) fn status_and_stderr(
    mut cmd: Command,
    what: &str,
) -> Result<(std::process::ExitStatus, String)> {
    eprintln!("xtask: {what}");
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprint!("{stderr}");
    Ok((out.status, stderr))
}

fn have_command(name: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Installs the Debian packages among `packages` that are not installed yet.
pub(crate) fn ensure_packages(packages: &[&str]) -> Result {
    if !cfg!(target_os = "linux") {
        return Ok(());
    }
    if !have_command("dpkg") || !have_command("apt-get") {
        eprintln!(
            "xtask: not a Debian/Ubuntu system; make sure these are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            // `dpkg -s` exits 0 for removed-but-configured packages too: read the status.
            Command::new("dpkg-query")
                .args(["-W", "-f=${db:Status-Abbrev}", p])
                .output()
                .map(|o| !String::from_utf8_lossy(&o.stdout).starts_with("ii"))
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if as_root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    status(apt(&["update", "-qq"]), "apt-get update")?;
    let mut install = apt(&["install", "-y", "-qq", "--no-install-recommends"]);
    install.args(&missing);
    status(install, &format!("apt-get install {}", missing.join(" ")))
}

fn cargo_bin_dir() -> PathBuf {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

pub(crate) fn ensure_tauri_driver() -> Result<PathBuf> {
    ensure_cargo_tool("tauri-driver", TAURI_DRIVER_VERSION, "tauri-driver")
}

/// `crate_name` at `version`, installed with `cargo install --locked` unless cargo's own
/// list of installed crates already has it (some tools have no --version); returns the
/// path of its executable `bin`.
pub(crate) fn ensure_cargo_tool(crate_name: &str, version: &str, bin: &str) -> Result<PathBuf> {
    let installed = cargo_bin_dir().join(bin);
    let listed = cargo()
        .args(["install", "--list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let version_ok = installed.is_file()
        && listed
            .lines()
            .any(|l| l.starts_with(&format!("{crate_name} v{version}:")));
    if !version_ok {
        let mut cmd = cargo();
        cmd.args(["install", crate_name, "--locked", "--version", version]);
        status(cmd, &format!("cargo install {crate_name} {version}"))?;
    }
    Ok(installed)
}

fn run_app(app_args: &[String]) -> Result {
    ensure_packages(BUILD_PACKAGES)?;
    let mut build = cargo();
    build.args(["build", "-p", "certmend-app"]);
    status(build, "cargo build -p certmend-app")?;
    if cfg!(target_os = "linux")
        && env::var_os("DISPLAY").is_none()
        && env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return Err(
            "no display (DISPLAY/WAYLAND_DISPLAY unset): run it in a desktop session, or \
             headless with `xvfb-run -a cargo xtask run`"
                .into(),
        );
    }
    let app = workspace_root().join("target/debug/certmend-app");
    let mut cmd = Command::new(app);
    cmd.args(app_args);
    status(cmd, "certmend-app")
}

fn test_all() -> Result {
    let mut packages = BUILD_PACKAGES.to_vec();
    packages.extend_from_slice(TEST_PACKAGES);
    packages.extend_from_slice(WINE_PACKAGES);
    ensure_packages(&packages)?;
    let driver = ensure_tauri_driver()?;
    let root = workspace_root();

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    status(fmt, "cargo fmt --check")?;

    // The window's copy of the contract (commands, statuses, codes) is Rust's, current.
    contract::contract(&["--check".to_string()])?;
    // certmend-core's modules import only their own layer and those below.
    layers::layers(&[])?;
    // ...and keep their workflows in named steps.
    sizes::sizes(&[])?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy, "cargo clippy -D warnings")?;

    // Windows is the users' platform: its code paths (registry, message boxes, file
    // locks) must stay compiled and clean though the suites run on Linux.
    dist_windows::ensure_rust_target()?;
    let mut clippy_windows = cargo();
    clippy_windows.args([
        "clippy",
        "--target",
        dist_windows::TARGET,
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(
        clippy_windows,
        "cargo clippy --target x86_64-pc-windows-gnu -D warnings",
    )?;

    deny::deny(&[])?;

    // Unit and black-box suites of the core, the CLI and the app shell.
    let mut unit = cargo();
    unit.args([
        "test",
        "--workspace",
        "--exclude",
        "certmend-e2e",
        "--exclude",
        "certmend-wine-tests",
        "--exclude",
        "xtask",
    ]);
    status(unit, "cargo test (core, CLI, app)")?;

    // The Windows programs as admins get them (release builds, MSI, zip), checked; the
    // Wine suites below run exactly these.
    let windows = dist_windows::dist_windows(&[])?;
    // xtask's own tests: its checks of those binaries must still fail on broken copies.
    let mut xtask_tests = cargo();
    xtask_tests.args(["test", "-p", "xtask"]);
    status(
        xtask_tests,
        "cargo test -p xtask (the Windows binary checks)",
    )?;

    // The Windows side in Wine: generated repair.cmd scripts in a real cmd.exe (receipts
    // read back by the Linux CLI), the Windows CLI, the app without WebView2, the MSI.
    let mut cli = cargo();
    cli.args(["build", "-p", "certmend-cli"]);
    status(cli, "cargo build -p certmend-cli")?;
    let mut wine = cargo();
    wine.args([
        "test",
        "-p",
        "certmend-wine-tests",
        "--",
        "--test-threads=1",
    ])
    .env("CERTMEND_BIN", root.join("target/debug/certmend"))
    .env("CERTMEND_WIN_BIN", &windows.cli)
    .env("CERTMEND_WIN_APP", &windows.app)
    .env("CERTMEND_WIN_DIST", &windows.dist);
    status(wine, "the Windows suites in Wine")?;

    // The UI's pure modules.
    let mut node = Command::new("node");
    node.current_dir(&root).args(["--test", "ui/tests/"]);
    status(node, "node --test ui/tests/")?;

    // The real window: build the app, then drive it through WebDriver under Xvfb.
    let mut build = cargo();
    build.args(["build", "-p", "certmend-app"]);
    status(build, "cargo build -p certmend-app")?;
    let mut e2e = Command::new("xvfb-run");
    e2e.current_dir(&root)
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "-p", "certmend-e2e", "--", "--test-threads=1"])
        .env("CERTMEND_TAURI_DRIVER", driver)
        .env("CERTMEND_APP", root.join("target/debug/certmend-app"))
        .env("CERTMEND_BIN", root.join("target/debug/certmend"));
    status(e2e, "end-to-end tests of the real window (xvfb-run)")?;

    // Every reader of untrusted bytes under libFuzzer: a smoke run (seconds each) on
    // the kept corpus, with a fixed seed so that it fails only when the code changed;
    // `cargo xtask fuzz` runs longer, with random seeds.
    fuzz::fuzz(&[
        "--seconds".to_string(),
        FUZZ_SMOKE_SECONDS.to_string(),
        "--seed".to_string(),
        "1".to_string(),
    ])?;

    // The Linux release build and its packages, as users get them (the Windows ones
    // were built and tested above).
    dist::linux()
}
