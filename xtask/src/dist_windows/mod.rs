//! `cargo xtask dist-windows`: what a Windows admin downloads, built on this Linux machine
//! for `x86_64-pc-windows-gnu` with Debian's mingw-w64, wixl and msitools (Tauri's own
//! MSI/NSIS bundlers download WiX and NSIS from GitHub, which the build machine cannot
//! reach).
//!
//! - `certmend.exe` and `certmend-app.exe` (UI embedded), release builds, and
//!   `WebView2Loader.dll`: for gnu targets webview2-com-sys links the loader as a DLL (the
//!   static loader is MSVC-only), so the app imports it and does not start without it
//!   beside it. webview2-com-sys unpacks it into its build folder (`out/x64/`) and
//!   tauri-build copies it next to the .exe, in `target/x86_64-pc-windows-gnu/release/`.
//! - Checks on each binary (`pe.rs`): x86-64 PE, the right subsystem (the app must not open
//!   a console), ASLR/NX, imports only Windows' own DLLs (MinGW's libgcc_s / libwinpthread /
//!   libstdc++ would be missing on the admin's server), an icon equal to icons/icon.ico and
//!   version resources naming certmend, the workspace version and the publisher of
//!   tauri.conf.json.
//! - `target/dist/certmend-<version>-x64.msi` (`msi.rs`): wixl builds
//!   packaging/windows/certmend.wxs, then msibuild adds what wixl 0.101 cannot express (see
//!   `msi_fixups`); the tables are read back with `msiinfo export` and the files extracted
//!   with `msiextract` and compared.
//! - `target/dist/certmend-<version>-windows-x64.zip` (`zip.rs`): the portable files, listed
//!   and compared after writing.
//!
//! Sizes, imports and build times are printed and appended to `target/dist-report.txt`.
//! The Windows programs cannot run here (no `--version`): Wine lacks bcryptprimitives.dll.

mod msi;
mod pe;
mod version_info;
mod zip;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, ensure_packages, status, workspace_root, Result};
use msi::{build_msi, check_msi};
use pe::{check_binary, Subsystem, VersionStrings};
use zip::{build_zip, check_zip};

pub(crate) const TARGET: &str = "x86_64-pc-windows-gnu";

/// mingw-w64 links and compiles the resources (windres); wixl builds the MSI, msitools edits
/// and reads it; zip/unzip the zip. (The binaries are read with the `object` crate.)
const PACKAGES: &[&str] = &["gcc-mingw-w64-x86-64", "wixl", "msitools", "zip", "unzip"];

/// The files of both packages, as they are named on the admin's disk.
const PAYLOAD: &[&str] = &[
    "certmend-app.exe",
    "certmend.exe",
    "WebView2Loader.dll",
    "README-en.txt",
    "README-ja.txt",
];

/// What a run produced, for `cargo xtask test` to hand to the Wine suites.
pub(crate) struct WindowsDist {
    /// certmend.exe and certmend-app.exe as built (WebView2Loader.dll is beside the app).
    pub cli: PathBuf,
    pub app: PathBuf,
    /// target/dist, holding certmend-<version>-x64.msi and certmend-<version>-windows-x64.zip.
    pub dist: PathBuf,
}

impl WindowsDist {
    /// How to run the Wine suites (tests/wine) by hand on exactly these files.
    pub(crate) fn print_wine_env(&self) {
        println!(
            "xtask: the Wine suites on these files: CERTMEND_WIN_BIN={} CERTMEND_WIN_APP={} \
             CERTMEND_WIN_DIST={} cargo test -p certmend-wine-tests -- --test-threads=1",
            self.cli.display(),
            self.app.display(),
            self.dist.display()
        );
    }
}

pub(crate) fn dist_windows(args: &[String]) -> Result<WindowsDist> {
    if let Some(arg) = args.first() {
        return Err(format!("dist-windows: unexpected argument {arg}"));
    }
    ensure_packages(PACKAGES)?;
    ensure_rust_target()?;
    let root = workspace_root();
    let version = WORKSPACE_VERSION.to_string();
    let (company, copyright) = publisher_and_copyright(&root)?;

    let mut times = Vec::new();
    for (package, extra) in [
        ("certmend-cli", None),
        ("certmend-app", Some("custom-protocol")),
    ] {
        let mut build = cargo();
        build.args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            package,
        ]);
        if let Some(feature) = extra {
            build.args(["--features", feature]);
        }
        let started = Instant::now();
        status(
            build,
            &format!("cargo build --release --target {TARGET} -p {package}"),
        )?;
        times.push(format!(
            "{package} for {TARGET}: {:.0} s",
            started.elapsed().as_secs_f64()
        ));
    }

    let out = root.join("target").join(TARGET).join("release");
    let expected = VersionStrings {
        version: &version,
        company: &company,
        copyright: &copyright,
    };
    let icon =
        std::fs::read(root.join("icons/icon.ico")).map_err(|e| format!("icons/icon.ico: {e}"))?;
    let mut report = String::new();
    // Microsoft's WebView2Loader.dll is checked for its imports and header flags only.
    for (name, subsystem) in [
        ("certmend.exe", Some(Subsystem::Console)),
        ("certmend-app.exe", Some(Subsystem::Gui)),
        ("WebView2Loader.dll", None),
    ] {
        let file = out.join(name);
        let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let resources = name
            .ends_with(".exe")
            .then_some((&expected, icon.as_slice()));
        let imports = check_binary(name, &data, subsystem, resources)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let line = format!(
            "Windows {name}: {} ({}), imports {}\n",
            file.display(),
            size(&file),
            imports.join(" ")
        );
        print!("{line}");
        report.push_str(&line);
    }

    let dist = root.join("target/dist");
    let work = root.join("target/dist-windows");
    let msi = dist.join(format!("certmend-{version}-x64.msi"));
    let zip = dist.join(format!("certmend-{version}-windows-x64.zip"));
    // Packages are built and checked in `work` and only then moved into target/dist: a
    // failed run leaves no package there, not even the previous run's.
    for stale in [&msi, &zip] {
        let _ = std::fs::remove_file(stale);
    }
    let _ = std::fs::remove_dir_all(&work);
    let stage = work.join("stage");
    std::fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    stage_files(&root, &out, &stage, &version)?;

    let built_msi = work.join(msi.file_name().unwrap_or_default());
    build_msi(&root, &stage, &built_msi, &version)?;
    check_msi(&built_msi, &stage, &work, &version)?;
    let built_zip = work.join(zip.file_name().unwrap_or_default());
    build_zip(&stage, &built_zip)?;
    check_zip(&built_zip, &stage)?;
    for (built, published) in [(&built_msi, &msi), (&built_zip, &zip)] {
        std::fs::rename(built, published).map_err(|e| format!("{}: {e}", published.display()))?;
    }

    let packages = format!(
        "Windows MSI: {} ({})\nWindows zip: {} ({})\nWindows release builds: {}\n",
        msi.display(),
        size(&msi),
        zip.display(),
        size(&zip),
        times.join(", ")
    );
    print!("{packages}");
    report.push_str(&packages);
    append_report(&root.join("target/dist-report.txt"), &report)?;
    Ok(WindowsDist {
        cli: out.join("certmend.exe"),
        app: out.join("certmend-app.exe"),
        dist,
    })
}

/// `rustup target add` when the standard library for the Windows target is missing.
pub(crate) fn ensure_rust_target() -> Result {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup: cannot start ({e}); install the {TARGET} target"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", TARGET]);
    status(add, &format!("rustup target add {TARGET}"))
}

/// The workspace version: xtask's own (`version.workspace = true`), so it cannot drift
/// from what the programs are built with.
pub(super) const WORKSPACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `bundle.publisher` and `bundle.copyright` of src-tauri/tauri.conf.json, which the
/// version resources of both programs must carry.
pub(super) fn publisher_and_copyright(root: &Path) -> Result<(String, String)> {
    let path = root.join("src-tauri/tauri.conf.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let field = |key: &str| {
        config["bundle"][key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{}: no string bundle.{key}", path.display()))
    };
    Ok((field("publisher")?, field("copyright")?))
}

/// The files of both packages in one folder: the binaries as built, the README texts with
/// the version filled in, UTF-8 with a BOM and CRLF line ends (Notepad on Windows Server
/// 2016 reads a BOM-less UTF-8 file as the ANSI code page and garbles the Japanese), and
/// the icon wixl needs for Programs and Features.
fn stage_files(root: &Path, out: &Path, stage: &Path, version: &str) -> Result {
    for name in ["certmend-app.exe", "certmend.exe", "WebView2Loader.dll"] {
        copy(&out.join(name), &stage.join(name))?;
    }
    for name in ["README-en.txt", "README-ja.txt"] {
        let source = root.join("packaging/windows").join(name);
        let text =
            std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let text = text.replace("{version}", version).replace("\r\n", "\n");
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
        let target = stage.join(name);
        std::fs::write(&target, bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    copy(&root.join("icons/icon.ico"), &stage.join("icon.ico"))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// Adds this run's lines to the report `cargo xtask dist` writes, replacing the Windows
/// lines of an earlier run (both commands run more than once on one machine).
fn append_report(file: &Path, text: &str) -> Result {
    let earlier = std::fs::read_to_string(file).unwrap_or_default();
    let mut report: String = earlier
        .lines()
        .filter(|l| !l.starts_with("Windows "))
        .map(|l| format!("{l}\n"))
        .collect();
    report.push_str(text);
    std::fs::write(file, report).map_err(|e| format!("{}: {e}", file.display()))
}

fn size(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!("{:.1} MB", m.len() as f64 / 1_000_000.0),
        Err(e) => format!("unreadable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_publisher_and_copyright_of_the_app() {
        let (publisher, copyright) = publisher_and_copyright(&workspace_root()).unwrap();
        assert_eq!(publisher, "certmend");
        assert!(copyright.contains("certmend"), "{copyright}");
        assert!(WORKSPACE_VERSION.split('.').count() >= 3);
    }
}
