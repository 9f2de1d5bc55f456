#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! The Windows installer (`cargo xtask dist-windows`) installed and removed under Wine's
//! msiexec, in a fresh prefix of its own.
//!
//! Needs env `CERTMEND_WIN_DIST`: the folder holding `certmend-<version>-x64.msi` and
//! `certmend-<version>-windows-x64.zip` (`target/dist`; `cargo xtask test` sets it).
//! The contract (xtask/src/dist_windows.rs, packaging/windows/certmend.wxs): a
//! per-machine install into `C:\Program Files\certmend\` of `certmend-app.exe`,
//! `WebView2Loader.dll`, `certmend.exe` and the README files; a Start-menu shortcut; the
//! install folder appended to the system PATH; an uninstall that takes all of that away
//! and leaves the admin's data in `%LOCALAPPDATA%\certmend` alone.
//!
//! The prefix has the test-only bcryptprimitives shim (certmend_wine_tests), without
//! which no Rust .exe starts on Wine 8; the packages never ship it. The app itself is not
//! started: Wine has no WebView2 runtime.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use certmend_wine_tests::{required_path, serial, z_path, Captured, WinePrefix};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// What both packages hold, as named on the admin's disk.
const PAYLOAD: [&str; 5] = [
    "certmend-app.exe",
    "certmend.exe",
    "WebView2Loader.dll",
    "README-en.txt",
    "README-ja.txt",
];
const ENVIRONMENT_KEY: &str = r"HKLM\System\CurrentControlSet\Control\Session Manager\Environment";
const INSTALL_DIR: &str = r"C:\Program Files\certmend";
/// msiexec is slow under Wine on a loaded machine, but never minutes.
const MSIEXEC_TIMEOUT: Duration = Duration::from_secs(300);

fn dist_dir() -> PathBuf {
    required_path(
        "CERTMEND_WIN_DIST",
        "the folder with the Windows packages (target/dist after `cargo xtask dist-windows`)",
    )
}

fn msi() -> PathBuf {
    let msi = dist_dir().join(format!("certmend-{VERSION}-x64.msi"));
    assert!(msi.is_file(), "{}: missing", msi.display());
    msi
}

fn zip() -> PathBuf {
    let zip = dist_dir().join(format!("certmend-{VERSION}-windows-x64.zip"));
    assert!(zip.is_file(), "{}: missing", zip.display());
    zip
}

fn prefix() -> &'static WinePrefix {
    static PREFIX: OnceLock<WinePrefix> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let p = WinePrefix::for_this_process(
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine/installer"),
        );
        // The package refuses anything older than Windows 10 / Server 2016 (its launch
        // condition); a new Wine 8 prefix says Windows 7.
        p.set_windows_version("win10");
        p
    })
}

fn msiexec(p: &WinePrefix, args: &[&str], what: &str) -> Captured {
    let log = p.scratch().join(format!("msiexec-{what}.log"));
    let out = p.run(
        p.wine()
            .arg("msiexec")
            .args(args)
            .arg("/l*v")
            .arg(z_path(&log)),
        None,
        MSIEXEC_TIMEOUT,
        &format!("msiexec {what}"),
    );
    assert_eq!(
        out.code,
        Some(0),
        "msiexec {what}: {}\n--- the installer's log ({}) ---\n{}",
        out.describe(),
        log.display(),
        read_msi_log(&log)
    );
    out
}

/// msiexec's verbose log is UTF-16LE (with a BOM) or ANSI.
fn read_msi_log(log: &Path) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    if bytes.starts_with(&[0xFF, 0xFE]) {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The system PATH as the registry holds it (what new processes get).
fn system_path(p: &WinePrefix) -> String {
    let out = p.run(
        p.wine()
            .args(["reg", "query", ENVIRONMENT_KEY, "/v", "PATH"]),
        None,
        Duration::from_secs(60),
        "reg query PATH",
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let text = out.stdout_text();
    text.lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix("PATH")?;
            let rest = rest.trim_start();
            let (kind, value) = rest.split_once(char::is_whitespace)?;
            kind.starts_with("REG_").then(|| value.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no PATH in {text}"))
}

fn path_entries(path: &str) -> Vec<String> {
    path.split(';')
        .filter(|e| !e.is_empty())
        .map(|e| e.trim_end_matches('\\').to_ascii_lowercase())
        .collect()
}

/// A new cmd.exe started in `C:\` running `line`: what a user gets from the Start menu
/// or Win+R after the install.
fn new_cmd(p: &WinePrefix, line: &str) -> Captured {
    p.run(
        p.wine().args(["cmd", "/c", &format!(r"cd /d C:\& {line}")]),
        None,
        Duration::from_secs(120),
        &format!("cmd /c {line}"),
    )
}

/// The Start menu's Programs folders: all users', then the user's.
fn start_menus(p: &WinePrefix) -> [PathBuf; 2] {
    [
        p.drive_c()
            .join("ProgramData/Microsoft/Windows/Start Menu/Programs"),
        p.drive_c()
            .join("users")
            .join(p.user())
            .join("AppData/Roaming/Microsoft/Windows/Start Menu/Programs"),
    ]
}

/// The shortcut: a Shell Link file (MS-SHLLINK: header size 0x4C, the link CLSID)
/// naming the installed app.
fn assert_shortcut(lnk: &Path) {
    let bytes = std::fs::read(lnk).unwrap_or_else(|e| panic!("{}: {e}", lnk.display()));
    assert!(
        bytes.starts_with(&[
            0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x46
        ]),
        "{}: not a Shell Link",
        lnk.display()
    );
    let ansi = b"certmend-app.exe".to_vec();
    let wide: Vec<u8> = "certmend-app.exe"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let names = |needle: &[u8]| {
        bytes
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    assert!(
        names(&ansi) || names(&wide),
        "{}: does not point at certmend-app.exe",
        lnk.display()
    );
}

/// Extracts `name` from the portable zip (unzip, installed by `cargo xtask dist`).
fn from_zip(name: &str) -> Vec<u8> {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(zip())
        .arg(format!("*{name}"))
        .output()
        .expect("unzip (package unzip)");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{name} in {}: {}",
        zip().display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn the_msi_installs_for_all_users_puts_certmend_on_path_and_uninstalls_cleanly() {
    let _serial = serial();
    let p = prefix();
    let msi = z_path(&msi());
    let install = p.drive_c().join("Program Files/certmend");
    assert!(!install.exists());

    // The admin's data: written before the install, must survive the uninstall.
    let data = p.local_app_data().join("certmend/data");
    std::fs::create_dir_all(&data).unwrap();
    let kept = data.join("certmend.sqlite3");
    let kept_bytes = b"the admin's database: never touched by the package".to_vec();
    std::fs::write(&kept, &kept_bytes).unwrap();
    let path_before = system_path(p);
    assert!(
        !path_entries(&path_before).contains(&INSTALL_DIR.to_ascii_lowercase()),
        "{path_before}"
    );

    msiexec(p, &["/i", &msi, "/qn"], "install");

    for name in PAYLOAD {
        let file = install.join(name);
        let size = std::fs::metadata(&file)
            .unwrap_or_else(|e| panic!(r"{INSTALL_DIR}\{name}: {e}"))
            .len();
        assert!(size > 0, r"{INSTALL_DIR}\{name} is empty");
    }
    // The MSI and the portable zip deliver the same programs.
    for name in ["certmend.exe", "certmend-app.exe", "WebView2Loader.dll"] {
        assert!(
            std::fs::read(install.join(name)).unwrap() == from_zip(name),
            "{name} differs between the MSI and the zip"
        );
    }
    // Per machine (ALLUSERS=1), so Windows puts the shortcut in the all-users Start
    // menu. Wine's msi sets ProgramMenuFolder to the user's Start menu whatever ALLUSERS
    // says ("FIXME: set to AllUsers profile path if ALLUSERS is set", dlls/msi/package.c),
    // so here it is accepted in either, once, with the per-machine context in the log.
    let log = read_msi_log(&p.scratch().join("msiexec-install.log"));
    assert!(
        log.contains("Property(S): ALLUSERS = 1"),
        "a per-machine install (ALLUSERS=1):\n{log}"
    );
    let shortcuts: Vec<PathBuf> = start_menus(p)
        .iter()
        .map(|dir| dir.join("certmend.lnk"))
        .filter(|lnk| lnk.exists())
        .collect();
    assert_eq!(shortcuts.len(), 1, "one Start-menu shortcut: {shortcuts:?}");
    assert_shortcut(&shortcuts[0]);

    // The install folder at the end of the system PATH, what was there kept.
    let path_after = system_path(p);
    let entries = path_entries(&path_after);
    assert_eq!(
        entries.last().map(String::as_str),
        Some(INSTALL_DIR.to_ascii_lowercase().as_str()),
        "{path_after}"
    );
    assert_eq!(
        entries[..entries.len() - 1],
        path_entries(&path_before)[..],
        "{path_after}"
    );
    // A new cmd.exe in C:\ (no certmend.exe there) finds it on PATH.
    let run = new_cmd(p, "certmend --version");
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(run.stdout_text(), format!("certmend {VERSION}\n"));
    let run = new_cmd(p, "echo %PATH%");
    assert!(
        path_entries(run.stdout_text().trim()).contains(&INSTALL_DIR.to_ascii_lowercase()),
        "{}",
        run.describe()
    );

    msiexec(p, &["/x", &msi, "/qn"], "uninstall");

    for name in PAYLOAD {
        assert!(
            !install.join(name).exists(),
            r"{INSTALL_DIR}\{name} left behind"
        );
    }
    assert!(!install.exists(), "{INSTALL_DIR} left behind");
    for dir in start_menus(p) {
        assert!(
            !dir.join("certmend.lnk").exists(),
            "the shortcut left behind in {}",
            dir.display()
        );
    }
    let path_removed = system_path(p);
    assert_eq!(
        path_entries(&path_removed),
        path_entries(&path_before),
        "PATH after the uninstall: {path_removed}"
    );
    // (Wine's cmd.exe exits 0 for a command it cannot find: look at what ran instead.)
    let run = new_cmd(p, "certmend --version");
    assert!(
        !run.stdout_text().contains("certmend"),
        "certmend still runs: {}",
        run.describe()
    );
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        kept_bytes,
        "the admin's data under %LOCALAPPDATA%\\certmend\\data"
    );
}

#[test]
fn the_portable_zip_holds_the_programs_and_the_cli_runs_from_it() {
    let _serial = serial();
    let p = prefix();
    let folder = p.drive_c().join("portable");
    std::fs::create_dir_all(&folder).unwrap();
    let out = Command::new("unzip")
        .arg("-o")
        .arg("-j")
        .arg(zip())
        .arg("-d")
        .arg(&folder)
        .output()
        .expect("unzip (package unzip)");
    assert!(
        out.status.success(),
        "unzip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = PAYLOAD.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
    let run = p.run(
        p.wine()
            .current_dir(&folder)
            .args([r"C:\portable\certmend.exe", "--version"]),
        None,
        Duration::from_secs(120),
        "portable certmend.exe --version",
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(run.stdout_text(), format!("certmend {VERSION}\n"));
}

/// Where Microsoft's WebView2 runtime registers itself per machine (32-bit view).
const WEBVIEW2_KEY: &str =
    r"HKLM\SOFTWARE\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}";
const WEBVIEW2_INSTALLER: &str = "MicrosoftEdgeWebView2RuntimeInstallerX64.exe";

/// An admin of an isolated server puts Microsoft's WebView2 offline installer beside the
/// MSI (here a stand-in, `c/webview2_installer.c`, in a folder whose name has spaces and
/// parentheses, as a stick's may): the MSI runs it, silently, when the runtime is
/// missing, and not when it is there.
#[test]
fn the_msi_runs_a_webview2_installer_placed_beside_it_only_when_the_runtime_is_missing() {
    let _serial = serial();
    let p = prefix();
    let folder = p.scratch().join("from the stick (E)");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let msi_copy = folder.join(msi().file_name().unwrap());
    std::fs::copy(msi(), &msi_copy).unwrap();
    let installer = folder.join(WEBVIEW2_INSTALLER);
    certmend_wine_tests::build_c("webview2_installer.c", &installer, true, &[]);
    let ran = p.drive_c().join("webview2-installer.log");
    let _ = std::fs::remove_file(&ran);
    p.delete_reg_key(WEBVIEW2_KEY);
    let msi = z_path(&msi_copy);

    msiexec(p, &["/i", &msi, "/qn"], "install-with-webview2-installer");
    let log = std::fs::read_to_string(&ran).unwrap_or_else(|e| {
        panic!(
            "{}: the WebView2 installer beside the MSI did not run ({e})",
            ran.display()
        )
    });
    assert_eq!(
        log,
        format!("{}[/silent][/install]\n", z_path(&installer)),
        "run once, silently, from beside the MSI"
    );
    let registered = p.query_reg(certmend_wine_tests::View::Bits32, WEBVIEW2_KEY, "pv");
    assert!(
        registered.is_some_and(|v| v.contains("131.0")),
        "the stand-in registered a runtime"
    );

    // The runtime is there now: uninstalled and installed again, the MSI leaves the
    // installer alone.
    msiexec(p, &["/x", &msi, "/qn"], "uninstall-after-webview2");
    msiexec(p, &["/i", &msi, "/qn"], "install-with-runtime-present");
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        log,
        "run again although the runtime is installed"
    );

    msiexec(p, &["/x", &msi, "/qn"], "uninstall-webview2-test");
    p.delete_reg_key(WEBVIEW2_KEY);
    let _ = std::fs::remove_file(&ran);
    assert!(!p.drive_c().join("Program Files/certmend").exists());
}

const UNINSTALL_KEY: &str = r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall";

/// The ProductCode of an MSI (`msiinfo`, from msitools, which dist-windows installs).
fn product_code(msi: &Path) -> String {
    let out = Command::new("msiinfo")
        .args(["export"])
        .arg(msi)
        .arg("Property")
        .output()
        .expect("msiinfo (msitools, installed by cargo xtask dist-windows)");
    assert!(out.status.success(), "msiinfo export {}", msi.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("ProductCode\t").map(str::to_string))
        .expect("a ProductCode")
}

/// An admin installs a newer certmend over an older one: one entry in Programs and
/// Features (the older product removed by the major upgrade), the newer files, and the
/// admin's data untouched. The newer package is the built MSI with a higher
/// ProductVersion and new product and package codes (msibuild), which is all that tells
/// two versions apart to Windows Installer.
#[test]
fn a_newer_msi_replaces_the_older_one_and_keeps_the_admins_data() {
    let _serial = serial();
    let p = prefix();
    let folder = p.scratch().join("upgrade");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    let older = msi();
    let newer = folder.join("certmend-next-x64.msi");
    std::fs::copy(&older, &newer).unwrap();
    const NEXT_PRODUCT: &str = "{0F1E2D3C-4B5A-4697-8877-665544332211}";
    const NEXT_PACKAGE: &str = "{11223344-5566-4778-899A-ABBCCDDEEFF0}";
    // Windows Installer compares the first three fields only: bump the third.
    let mut fields: Vec<u32> = VERSION.split('.').map(|f| f.parse().unwrap()).collect();
    fields[2] += 1;
    let next_version = format!("{}.{}.{}", fields[0], fields[1], fields[2]);
    let status = Command::new("msibuild")
        .arg(&newer)
        .arg("-q")
        .arg(format!(
            "UPDATE `Property` SET `Value` = '{next_version}' WHERE `Property` = 'ProductVersion'"
        ))
        .arg("-q")
        .arg(format!(
            "UPDATE `Property` SET `Value` = '{NEXT_PRODUCT}' WHERE `Property` = 'ProductCode'"
        ))
        .args([
            "-s",
            "Installation Database",
            "certmend",
            "x64;1033",
            NEXT_PACKAGE,
        ])
        .status()
        .expect("msibuild (msitools)");
    assert!(status.success(), "msibuild");
    let old_product = product_code(&older);
    assert_eq!(product_code(&newer), NEXT_PRODUCT);

    let data = p.local_app_data().join("certmend/data");
    std::fs::create_dir_all(&data).unwrap();
    let kept = data.join("certmend.sqlite3");
    std::fs::write(&kept, b"the admin's database").unwrap();
    let entry = |code: &str| {
        p.query_reg(
            certmend_wine_tests::View::Bits64,
            &format!(r"{UNINSTALL_KEY}\{code}"),
            "DisplayVersion",
        )
    };

    let path_before = system_path(p);
    msiexec(p, &["/i", &z_path(&older), "/qn"], "install-older");
    assert_eq!(entry(&old_product).as_deref(), Some(VERSION));
    msiexec(p, &["/i", &z_path(&newer), "/qn"], "install-newer");
    assert_eq!(
        entry(&old_product),
        None,
        "the older version is still listed in Programs and Features"
    );
    assert_eq!(entry(NEXT_PRODUCT).as_deref(), Some(next_version.as_str()));
    let dir = INSTALL_DIR.to_ascii_lowercase();
    let path = system_path(p);
    assert_eq!(
        path_entries(&path).iter().filter(|e| **e == dir).count(),
        1,
        "the install folder once on PATH after the upgrade: {path}"
    );
    let install = p.drive_c().join("Program Files/certmend");
    for name in PAYLOAD {
        assert!(install.join(name).is_file(), "{name} after the upgrade");
    }
    assert_eq!(std::fs::read(&kept).unwrap(), b"the admin's database");

    // And back: the older package refuses to replace the newer one.
    let refused = p.run(
        p.wine().args(["msiexec", "/i", &z_path(&older), "/qn"]),
        None,
        MSIEXEC_TIMEOUT,
        "msiexec install-older-over-newer",
    );
    assert_ne!(refused.code, Some(0), "a downgrade went through");
    assert_eq!(entry(NEXT_PRODUCT).as_deref(), Some(next_version.as_str()));

    msiexec(p, &["/x", &z_path(&newer), "/qn"], "uninstall-newer");
    assert!(!install.exists(), "{INSTALL_DIR} left behind");
    assert_eq!(std::fs::read(&kept).unwrap(), b"the admin's database");
    std::fs::remove_file(&kept).unwrap();
    // Wine's msi leaves the `;` of each removed entry behind, and Wine's cmd.exe stops
    // searching PATH at an empty entry: put PATH back as it was, so the other tests of
    // this prefix start from a clean one (what Windows does here is not known to us).
    assert_eq!(path_entries(&system_path(p)), path_entries(&path_before));
    p.wine_ok(&[
        "reg",
        "add",
        ENVIRONMENT_KEY,
        "/v",
        "PATH",
        "/t",
        "REG_EXPAND_SZ",
        "/d",
        &path_before,
        "/f",
    ]);
}
