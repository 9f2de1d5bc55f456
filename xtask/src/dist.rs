//! `cargo xtask dist`: the release app and the Linux packages Tauri's bundler makes here.
//! - `.deb`: the app (UI embedded) and the `certmend` CLI in /usr/bin, a desktop entry and
//!   the icons; unpacked afterwards, checked for those files, and the packaged CLI run.
//! - AppImage: tried after the .deb; the bundler downloads AppRun and linuxdeploy from
//!   GitHub, so on a machine that reaches only the package registries it cannot be
//!   built — then the run says so and keeps the .deb.
//!
//! The Windows programs and packages come from `dist_windows` (also run by `dist`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{ensure_packages, status, status_and_stderr, workspace_root, Result};

/// Tauri's bundler, pinned so every machine packages the same way.
const TAURI_CLI_VERSION: &str = "2.12.4";

/// `cargo xtask dist`: every release package, Linux and Windows.
pub fn dist(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("dist: unexpected argument {arg}"));
    }
    linux()?;
    crate::dist_windows::dist_windows(&[]).map(|_| ())
}

/// The Linux release app and its packages (`cargo xtask test` builds the Windows ones
/// earlier, before the Wine suites that test them).
pub fn linux() -> Result {
    let mut packages = crate::BUILD_PACKAGES.to_vec();
    // dpkg-deb to look into the package; file to name what the bundler wrote.
    packages.extend_from_slice(&["dpkg-dev", "file"]);
    ensure_packages(&packages)?;
    let tauri = ensure_tauri_cli()?;
    let root = workspace_root();
    let bundle_dir = root.join("target/release/bundle");
    // Stale packages of an older version must not be mistaken for this build's.
    let _ = std::fs::remove_dir_all(&bundle_dir);

    let mut deb = Command::new(&tauri);
    deb.current_dir(root.join("src-tauri"))
        .args(["build", "--ci", "--bundles", "deb"]);
    status(deb, "tauri build --bundles deb")?;
    let deb_file = only_file(&bundle_dir.join("deb"), "deb")?;
    check_deb(&deb_file)?;

    let mut appimage = Command::new(&tauri);
    appimage
        .current_dir(root.join("src-tauri"))
        .args(["build", "--ci", "--bundles", "appimage"]);
    let (appimage_status, log) = status_and_stderr(appimage, "tauri build --bundles appimage")?;
    let appimage_note = if appimage_status.success() {
        let file = only_file(&bundle_dir.join("appimage"), "AppImage")?;
        format!("AppImage: {} ({})", file.display(), size(&file))
    } else if log.contains("Downloading") && log.contains("failed to lookup address") {
        "AppImage: NOT BUILT — Tauri's bundler downloads AppRun and linuxdeploy from \
         GitHub, which this machine cannot reach (the .deb above is complete)"
            .to_string()
    } else {
        return Err(format!(
            "tauri build --bundles appimage failed ({appimage_status})"
        ));
    };

    let app = root.join("target/release/certmend-app");
    let cli = root.join("target/release/certmend");
    let report = format!(
        "release app: {} ({})\nrelease CLI: {} ({})\n.deb: {} ({})\n{appimage_note}\n",
        app.display(),
        size(&app),
        cli.display(),
        size(&cli),
        deb_file.display(),
        size(&deb_file),
    );
    print!("{report}");
    // The Windows lines (`cargo xtask dist-windows`, run earlier by `cargo xtask test`)
    // stay; this run's Linux lines replace the previous ones.
    let report_file = root.join("target/dist-report.txt");
    let windows: String = std::fs::read_to_string(&report_file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("Windows "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&report_file, report + &windows)
        .map_err(|e| format!("{}: {e}", report_file.display()))
}

/// Tauri's CLI from the npm registry (`@tauri-apps/cli`, which ships the same tauri-cli
/// built for linux-x64 in `@tauri-apps/cli-linux-x64-gnu`), in target/tools/: seconds to
/// install, where `cargo install tauri-cli` compiles some 600 crates — 13 to 22 minutes
/// on 2 cores, most of a fresh machine's first `cargo xtask test`.
fn ensure_tauri_cli() -> Result<PathBuf> {
    let dir = workspace_root().join("target/tools/tauri-cli");
    let bin = dir.join("node_modules/.bin/tauri");
    let wanted = format!("tauri-cli {TAURI_CLI_VERSION}");
    let installed = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == wanted);
    if !installed {
        let mut npm = Command::new("npm");
        npm.args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&dir)
        .arg(format!("@tauri-apps/cli@{TAURI_CLI_VERSION}"));
        status(
            npm,
            &format!("npm install @tauri-apps/cli@{TAURI_CLI_VERSION}"),
        )?;
    }
    Ok(bin)
}

/// The one file with extension `ext` in `dir`.
fn only_file(dir: &Path, ext: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(format!("{}: {n} .{ext} files, expected one", dir.display())),
    }
}

/// Unpacks the .deb and checks what an admin installing it gets: both programs, the
/// desktop entry and an icon, and a CLI that runs.
fn check_deb(deb: &Path) -> Result {
    let out = workspace_root().join("target/dist-check");
    let _ = std::fs::remove_dir_all(&out);
    let mut extract = Command::new("dpkg-deb");
    extract.arg("-x").arg(deb).arg(&out);
    status(extract, "dpkg-deb -x")?;
    for wanted in [
        "usr/bin/certmend-app",
        "usr/bin/certmend",
        "usr/share/applications/certmend.desktop",
        "usr/share/icons/hicolor/128x128/apps/certmend-app.png",
    ] {
        if !out.join(wanted).is_file() {
            return Err(format!("{}: no {wanted} in the package", deb.display()));
        }
    }
    let mut cli = Command::new(out.join("usr/bin/certmend"));
    cli.arg("--version");
    status(cli, "the packaged certmend --version")?;
    let mut info = Command::new("dpkg-deb");
    info.arg("--field")
        .arg(deb)
        .args(["Package", "Version", "Depends"]);
    status(info, "dpkg-deb --field")
}

fn size(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!("{:.1} MB", m.len() as f64 / 1_000_000.0),
        Err(e) => format!("unreadable: {e}"),
    }
}
