#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! The Windows build of the CLI (`certmend.exe`, x86_64-pc-windows-gnu) run under Wine:
//! server detection through the real registry and Program Files folders, the whole
//! workflow with Windows paths and a drive letter, CertificateManager run by the CLI,
//! `drives` without PowerShell, the bytes printed for Japanese names, a reader that
//! stops early, and two exports to one stick at once.
//!
//! Needs env `CERTMEND_WIN_BIN` (the .exe; `cargo xtask test` builds it and sets it).
//! Stand-ins (IpXfer, certutil, net, sc, fltmc, icacls, CertificateManager, PowerShell)
//! are built from `c/` with mingw-w64 (the ones repair.cmd calls by full path replace
//! Wine's own in system32, used only by its run); every Rust .exe needs the bcryptprimitives shim on Wine 8 (the
//! prefix has it, see certmend_wine_tests). Tests share one prefix (registry, drive
//! letters, Program Files): each takes the lock and starts from a clean slate.
//!

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use certmend_wine_tests::{
    build_agent_stand_ins, build_c, install_system_stand_ins, japanese_locale,
    leftover_work_folders, required_path, serial, stand_in_overrides, z_path, Captured, View,
    WinePrefix, DLL_OVERRIDES,
};
use serde_json::Value;
use sha2::Digest;

/// Where a server keeps `Local_Path` (the PCCSRV folder).
const INFO_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\OfficeScan\service\Information";
/// Where repair.cmd finds the agent's folder.
const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";
/// The default install folder on 64-bit Windows, where the workflow tests put a server.
const APEX_X86: &str = r"C:\Program Files (x86)\Trend Micro\Apex One";
/// One certmend.exe run: generous for a loaded 2-core machine, far below "hung".
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// This binary's prefix, certmend.exe copied into it, the stand-ins, and a demo server
/// written once by certmend.exe itself.
struct World {
    prefix: WinePrefix,
    /// `C:\certmend\certmend.exe`, as a Linux path.
    exe: PathBuf,
    tools: PathBuf,
    /// What `D:` stands for.
    drive_d: PathBuf,
    locale: PathBuf,
    demo: Demo,
}

/// The demo server `certmend.exe demo C:\demo --seed 11` wrote.
struct Demo {
    /// Its install folder (Linux path), copied wherever a test wants a server.
    install: PathBuf,
    thumbprint: String,
    password: String,
    certificate: Vec<u8>,
    /// A certificate from the demo's older key pair, for an agent that needs repair.
    previous_certificate: Vec<u8>,
}

fn win_bin() -> PathBuf {
    required_path(
        "CERTMEND_WIN_BIN",
        "the Windows build of the CLI (target/x86_64-pc-windows-gnu/release/certmend.exe)",
    )
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let bin = win_bin();
        let prefix = WinePrefix::for_this_process(
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine/windows_cli"),
        );
        let root = prefix.root().to_path_buf();
        let tools = root.join("tools");
        build_agent_stand_ins(&tools);
        build_c(
            "certificate_manager.c",
            &tools.join("CertificateManager.exe"),
            true,
            &[],
        );
        build_c("powershell.c", &tools.join("powershell.exe"), true, &[]);
        // The Windows programs repair.cmd calls by full path (as in repair_cmd.rs): Wine
        // runs these stand-ins only for processes told so (stand_in_overrides).
        install_system_stand_ins(&prefix, &tools);
        // A copy inside C:, as an admin would have it (and its folder is the one Windows
        // searches first for programs the CLI starts).
        let exe_dir = prefix.drive_c().join("certmend");
        std::fs::create_dir_all(&exe_dir).unwrap();
        let exe = exe_dir.join("certmend.exe");
        std::fs::copy(&bin, &exe).unwrap();
        let drive_d = root.join("drive_d");
        std::fs::create_dir_all(&drive_d).unwrap();
        prefix.map_drive('d', &drive_d);
        let locale = japanese_locale(&root.join("locale"));

        let mut w = World {
            prefix,
            exe,
            tools,
            drive_d,
            locale,
            demo: Demo {
                install: PathBuf::new(),
                thumbprint: String::new(),
                password: String::new(),
                certificate: Vec::new(),
                previous_certificate: Vec::new(),
            },
        };
        let out = w.certmend(&["--json", "demo", r"C:\demo", "--seed", "11"]);
        assert_eq!(out.code, Some(0), "certmend.exe demo: {}", out.describe());
        let summary = json(&out);
        // Every path shown is written the way Windows writes it: no '/' mixed in (it
        // printed `C:\demo\Program Files (x86)/Trend Micro/Apex One\PCCSRV/...` once).
        assert_eq!(
            summary["install_folder"],
            r"C:\demo\Program Files (x86)\Trend Micro\Apex One"
        );
        for key in [
            "root",
            "install_folder",
            "certificate",
            "list_file",
            "collected_folder",
            "key_pair_file",
            "previous_key_pair_file",
        ] {
            let path = summary[key].as_str().unwrap_or_default();
            assert!(
                path.starts_with(r"C:\demo") && !path.contains('/'),
                "{key}: {path}"
            );
        }
        let install = w.linux_path(summary["install_folder"].as_str().unwrap());
        let certificate = std::fs::read(install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat")).unwrap();
        let previous_certificate =
            std::fs::read_dir(w.linux_path(summary["collected_folder"].as_str().unwrap()))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file())
                .map(|p| std::fs::read(p).unwrap())
                .find(|bytes| *bytes != certificate)
                .expect("the demo collects certificates of its older key pair");
        w.demo = Demo {
            install,
            thumbprint: summary["current_sha1_thumbprint"]
                .as_str()
                .unwrap()
                .to_string(),
            password: summary["key_pair_password"].as_str().unwrap().to_string(),
            certificate,
            previous_certificate,
        };
        w
    })
}

fn json(out: &Captured) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", out.describe()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode_upper(sha2::Sha256::digest(bytes))
}

/// Recursive copy (the demo's install tree into a test's place).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn remove_if_there(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

impl World {
    /// A Windows path on C: or D: as a Linux path.
    fn linux_path(&self, windows: &str) -> PathBuf {
        let (base, rest) = match windows.get(..3).map(str::to_ascii_uppercase).as_deref() {
            Some(r"C:\") => (self.prefix.drive_c(), &windows[3..]),
            Some(r"D:\") => (self.drive_d.clone(), &windows[3..]),
            _ => panic!("{windows}: only C:\\ and D:\\ paths are mapped here"),
        };
        rest.split('\\')
            .filter(|s| !s.is_empty())
            .fold(base, |p, s| p.join(s))
    }

    /// certmend.exe with `args`, started in `C:\`, no CERTMEND_* variables from the
    /// test's environment (each test says what it wants).
    fn certmend(&self, args: &[&str]) -> Captured {
        self.certmend_with(args, &[], &self.prefix.drive_c())
    }

    fn certmend_with(&self, args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Captured {
        let mut cmd = self.certmend_command(args, env, cwd);
        self.prefix.run(
            &mut cmd,
            None,
            CLI_TIMEOUT,
            &format!("certmend.exe {args:?}"),
        )
    }

    fn certmend_command(&self, args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Command {
        let mut cmd = self.prefix.wine();
        cmd.current_dir(cwd).arg(&self.exe).args(args);
        for var in [
            "CERTMEND_DB",
            "CERTMEND_DATA_DIR",
            "CERTMEND_ROOT",
            "CERTMEND_PASSWORD",
            "CERTMEND_NEW_PASSWORD",
            "CERTMEND_AGENT_PASSWORD",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Back to an empty machine: no Trend registry keys (either view), no server or
    /// agent folders, nothing on D: or E:, no per-user certmend data.
    fn reset(&self) {
        self.prefix.delete_reg_key(r"HKLM\SOFTWARE\TrendMicro");
        let c = self.prefix.drive_c();
        for dir in [
            "Program Files (x86)/Trend Micro",
            "Program Files/Trend Micro",
            "Custom",
            "Agents",
            "lists",
            "tests",
            "work",
        ] {
            remove_if_there(&c.join(dir));
        }
        for entry in std::fs::read_dir(&self.drive_d).unwrap() {
            remove_if_there(&entry.unwrap().path());
        }
        self.prefix.unmap_drive('e');
        remove_if_there(&self.prefix.local_app_data().join("certmend"));
        assert_eq!(
            self.prefix.query_reg(View::Bits64, INFO_KEY, "Local_Path"),
            None
        );
        assert_eq!(
            self.prefix.query_reg(View::Bits32, INFO_KEY, "Local_Path"),
            None
        );
    }

    /// Copies the demo server to `windows_install`, with real (stand-in) executables
    /// for IpXfer and CertificateManager instead of the demo's text files; returns its
    /// Linux path.
    fn install_server(&self, windows_install: &str) -> PathBuf {
        let install = self.linux_path(windows_install);
        copy_tree(&self.demo.install, &install);
        let ipxfer = install.join("PCCSRV/Admin/Utility/IpXfer");
        for tool in ["IpXfer.exe", "IpXfer_x64.exe"] {
            std::fs::copy(self.tools.join(tool), ipxfer.join(tool)).unwrap();
        }
        std::fs::copy(
            self.tools.join("CertificateManager.exe"),
            install.join("PCCSRV/Admin/Utility/CertificateManager/CertificateManager.exe"),
        )
        .unwrap();
        install
    }

    /// A fresh folder `C:\tests\<name>` for a test's database and files: (Windows
    /// path, Linux path).
    fn test_dir(&self, name: &str) -> (String, PathBuf) {
        let windows = format!(r"C:\tests\{name}");
        let linux = self.linux_path(&windows);
        remove_if_there(&linux);
        std::fs::create_dir_all(&linux).unwrap();
        (windows, linux)
    }

    fn detect(&self, db: &str, env: &[(&str, &str)]) -> (Captured, Value) {
        let out = self.certmend_with(
            &["--db", db, "--json", "detect"],
            env,
            &self.prefix.drive_c(),
        );
        let doc = json(&out);
        (out, doc)
    }

    fn set_local_path(&self, view: View, value: &str) {
        self.prefix
            .set_reg_string(view, INFO_KEY, "Local_Path", value);
    }
}

/// (install folder, found_by) of each server a `detect --json` found, in its order.
fn found(doc: &Value) -> Vec<(String, String)> {
    doc["servers"]
        .as_array()
        .unwrap_or_else(|| panic!("no servers array: {doc}"))
        .iter()
        .map(|s| {
            (
                s["install_folder"].as_str().unwrap().to_string(),
                s["found_by"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn file_entry<'a>(server: &'a Value, name: &str) -> &'a Value {
    server["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not reported: {server}"))
}

// ---------------------------------------------------------------------------------
// Detection

#[test]
fn detect_finds_local_path_in_the_64_bit_registry_view() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect64");
    let install = w.install_server(r"C:\Custom\Trend Micro\Apex One");
    w.set_local_path(View::Bits64, r"C:\Custom\Trend Micro\Apex One\PCCSRV\");
    assert_eq!(
        w.prefix.query_reg(View::Bits32, INFO_KEY, "Local_Path"),
        None
    );

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        found(&doc),
        [(
            r"C:\Custom\Trend Micro\Apex One".to_string(),
            "registry".to_string()
        )]
    );
    assert_eq!(out.stderr_text(), "", "no warning");
    assert_eq!(doc["registry_paths_missing"], serde_json::json!([]));
    let server = &doc["servers"][0];
    assert_eq!(server["product"], "apex_one");
    assert_eq!(server["default_location"], "custom");
    assert_eq!(server["complete"], true);
    assert_eq!(server["missing"], serde_json::json!([]));
    let cert = file_entry(server, "OfcNTCer.dat");
    assert_eq!(
        cert["path"],
        r"C:\Custom\Trend Micro\Apex One\PCCSRV\Pccnt\Common\OfcNTCer.dat"
    );
    assert_eq!(cert["size"], w.demo.certificate.len());
    assert_eq!(cert["sha256"], sha256_hex(&w.demo.certificate));
    let ipxfer = file_entry(server, "IpXfer_x64.exe");
    assert_eq!(
        ipxfer["sha256"],
        sha256_hex(
            &std::fs::read(install.join("PCCSRV/Admin/Utility/IpXfer/IpXfer_x64.exe")).unwrap()
        )
    );

    // The same in text: the folder and each file's Windows path.
    let text = w.certmend(&["--db", &format!(r"{db}\state.sqlite3"), "detect"]);
    assert_eq!(text.code, Some(0), "{}", text.describe());
    let stdout = text.stdout_text();
    assert!(
        stdout.starts_with("C:\\Custom\\Trend Micro\\Apex One  [DEMO DATA]\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(r"C:\Custom\Trend Micro\Apex One\AuthCertBackup\OfficeScanAuth.dat"),
        "{stdout}"
    );
}

#[test]
fn detect_finds_local_path_in_the_32_bit_registry_view() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect32");
    w.install_server(r"C:\Custom\TM32\OfficeScan");
    w.set_local_path(View::Bits32, r"C:\Custom\TM32\OfficeScan\PCCSRV\");
    // Only the 32-bit view (WOW6432Node) holds it, as on a 64-bit server.
    assert_eq!(
        w.prefix.query_reg(View::Bits64, INFO_KEY, "Local_Path"),
        None
    );
    assert_eq!(
        w.prefix
            .query_reg(View::Bits32, INFO_KEY, "Local_Path")
            .as_deref(),
        Some(r"C:\Custom\TM32\OfficeScan\PCCSRV\")
    );

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        found(&doc),
        [(
            r"C:\Custom\TM32\OfficeScan".to_string(),
            "registry".to_string()
        )]
    );
    assert_eq!(doc["servers"][0]["product"], "office_scan");
}

#[test]
fn detect_takes_local_path_without_trailing_backslash_in_any_case_once() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-case");
    w.install_server(r"C:\Custom\Trend Micro\OfficeScan");
    // The two views name one folder, differently spelled: one server.
    w.set_local_path(View::Bits64, r"c:\custom\trend micro\officescan\pccsrv");
    w.set_local_path(View::Bits32, r"C:\Custom\Trend Micro\OfficeScan\PCCSRV\");

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let servers = found(&doc);
    assert_eq!(servers.len(), 1, "one folder, reported once: {servers:?}");
    assert!(
        servers[0]
            .0
            .eq_ignore_ascii_case(r"C:\Custom\Trend Micro\OfficeScan"),
        "{servers:?}"
    );
    assert_eq!(servers[0].1, "registry");
    assert_eq!(doc["servers"][0]["complete"], true);
    assert_eq!(doc["servers"][0]["product"], "office_scan");
}

#[test]
fn detect_finds_a_custom_folder_on_another_drive_and_both_views_at_once() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-d");
    w.install_server(r"D:\TM\Apex One");
    w.install_server(r"C:\Custom\Second\OfficeScan");
    w.set_local_path(View::Bits64, r"D:\TM\Apex One\PCCSRV\");
    w.set_local_path(View::Bits32, r"C:\Custom\Second\OfficeScan\PCCSRV\");

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        found(&doc),
        [
            (r"D:\TM\Apex One".to_string(), "registry".to_string()),
            (
                r"C:\Custom\Second\OfficeScan".to_string(),
                "registry".to_string()
            ),
        ],
        "64-bit view first, then the 32-bit one"
    );
    assert_eq!(doc["servers"][0]["default_location"], "custom");
    assert_eq!(
        file_entry(&doc["servers"][0], "OfcNTCer.dat")["path"],
        r"D:\TM\Apex One\PCCSRV\Pccnt\Common\OfcNTCer.dat"
    );
}

#[test]
fn detect_finds_both_products_in_program_files_x86_without_registry() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-pf86");
    w.install_server(APEX_X86);
    w.install_server(r"C:\Program Files (x86)\Trend Micro\OfficeScan");

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let mut servers = found(&doc);
    servers.sort();
    assert_eq!(
        servers,
        [
            (APEX_X86.to_string(), "program_files".to_string()),
            (
                r"C:\Program Files (x86)\Trend Micro\OfficeScan".to_string(),
                "program_files".to_string()
            ),
        ]
    );
    for s in doc["servers"].as_array().unwrap() {
        assert_eq!(s["default_location"], "windows64bit", "{s}");
        assert_eq!(s["complete"], true, "{s}");
    }
    let products: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["product"].as_str().unwrap())
        .collect();
    assert!(
        products.contains(&"apex_one") && products.contains(&"office_scan"),
        "{products:?}"
    );
}

#[test]
fn detect_finds_officescan_in_program_files_the_32_bit_windows_default() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-pf");
    w.install_server(r"C:\Program Files\Trend Micro\OfficeScan");

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        found(&doc),
        [(
            r"C:\Program Files\Trend Micro\OfficeScan".to_string(),
            "program_files".to_string()
        )],
        "found once, though %ProgramFiles% and %ProgramW6432% both name it"
    );
    assert_eq!(doc["servers"][0]["default_location"], "windows32bit");
    assert_eq!(doc["servers"][0]["product"], "office_scan");
}

#[test]
fn detect_reports_a_server_in_the_registry_and_program_files_once() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-both");
    w.install_server(APEX_X86);
    w.set_local_path(View::Bits32, &format!(r"{APEX_X86}\PCCSRV\"));

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        found(&doc),
        [(APEX_X86.to_string(), "registry".to_string())]
    );
    assert_eq!(doc["servers"][0]["default_location"], "windows64bit");
}

#[test]
fn detect_says_which_files_an_incomplete_server_lacks_and_exits_1() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-incomplete");
    let install = w.install_server(r"C:\Program Files (x86)\Trend Micro\OfficeScan");
    std::fs::remove_file(install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat")).unwrap();

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(
        out.code,
        Some(1),
        "an incomplete server is a problem: {}",
        out.describe()
    );
    assert_eq!(doc["servers"][0]["complete"], false);
    assert_eq!(
        doc["servers"][0]["missing"],
        serde_json::json!(["OfcNTCer.dat"])
    );
    let text = w.certmend(&["--db", &format!(r"{db}\state.sqlite3"), "detect"]);
    assert_eq!(text.code, Some(1));
    let stdout = text.stdout_text();
    assert!(stdout.contains("INCOMPLETE"), "{stdout}");
    assert!(
        stdout.contains(
            r"missing  OfcNTCer.dat             (expected PCCSRV\Pccnt\Common\OfcNTCer.dat)"
        ),
        "{stdout}"
    );
}

/// A server uninstalled or moved without cleaning the registry: not fatal (the others
/// are still found, the status is theirs), but said, in text and in JSON.
#[test]
fn detect_reports_a_registry_value_naming_a_missing_folder_and_finds_the_others() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-gone");
    w.install_server(APEX_X86);
    let gone = r"C:\Gone\Trend Micro\OfficeScan\PCCSRV\";
    w.set_local_path(View::Bits64, gone);
    let warning = format!(
        "certmend: warning[detect.registry_path_missing]: {}\\Local_Path names {gone}, \
         which does not exist (a server uninstalled or moved?); looked elsewhere\n",
        INFO_KEY
    );

    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(out.code, Some(0), "not fatal: {}", out.describe());
    assert_eq!(
        found(&doc),
        [(APEX_X86.to_string(), "program_files".to_string())]
    );
    assert_eq!(doc["registry_paths_missing"], serde_json::json!([gone]));
    assert_eq!(out.stderr_text(), warning);

    let text = w.certmend(&["--db", &format!(r"{db}\state.sqlite3"), "detect"]);
    assert_eq!(text.code, Some(0), "{}", text.describe());
    assert!(
        text.stdout_text()
            .starts_with(&format!("{APEX_X86}  [DEMO DATA]\n")),
        "{}",
        text.describe()
    );
    assert_eq!(text.stderr_text(), warning);
}

#[test]
fn detect_with_nothing_installed_says_so_and_exits_1() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-none");
    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(
        out.code,
        Some(1),
        "nothing found is a problem: {}",
        out.describe()
    );
    assert_eq!(
        doc,
        serde_json::json!({ "servers": [], "registry_paths_missing": [] })
    );
    let text = w.certmend(&["--db", &format!(r"{db}\state.sqlite3"), "detect"]);
    assert_eq!(text.code, Some(1), "{}", text.describe());
    assert_eq!(
        text.stdout_text(),
        "No OfficeScan / Apex One server found on this machine. Use --root DIR for a mounted or copied drive.\n"
    );
    assert_eq!(text.stderr_text(), "");
}

/// A Japanese folder name in `Local_Path`: found on Japanese Windows (here a private
/// ja_JP locale, OEM code page 932) and on English Windows (437, which cannot even
/// spell it: reg.exe would print `?`; the CLI reads the registry through the API).
#[test]
fn detect_reads_a_japanese_local_path_on_japanese_and_english_windows() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-ja");
    w.install_server(r"C:\Custom\トレンドマイクロ\Apex One");
    w.set_local_path(View::Bits64, r"C:\Custom\トレンドマイクロ\Apex One\PCCSRV\");
    let locale = w.locale.to_str().unwrap();
    for env in [
        &[("LOCPATH", locale), ("LANG", "ja_JP.UTF-8")][..],
        &[("LANG", "C.UTF-8")][..],
    ] {
        let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), env);
        assert_eq!(out.code, Some(0), "{env:?}: {}", out.describe());
        assert_eq!(
            found(&doc),
            [(
                r"C:\Custom\トレンドマイクロ\Apex One".to_string(),
                "registry".to_string()
            )],
            "{env:?}"
        );
    }
}

/// A folder name outside CP932 on a non-Japanese Windows (English: OEM code page 437).
/// The CLI once parsed `reg query` output and decoded it as CP932: `é` (0x82 in 437)
/// came out as another character and the server was reported missing. It reads the
/// registry through the API now.
#[test]
fn detect_reads_an_accented_local_path_on_english_windows() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("detect-accent");
    w.install_server(r"C:\Custom\Café\Apex One");
    w.set_local_path(View::Bits64, r"C:\Custom\Café\Apex One\PCCSRV\");
    let (out, doc) = w.detect(&format!(r"{db}\state.sqlite3"), &[]);
    assert_eq!(
        found(&doc),
        [(
            r"C:\Custom\Café\Apex One".to_string(),
            "registry".to_string()
        )],
        "{}",
        out.describe()
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(doc["registry_paths_missing"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------------
// The workflow with Windows paths

/// `text` as CP932 (what Excel or a Japanese server writes as "ANSI").
fn cp932(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable, "{text} has characters CP932 lacks");
    bytes.into_owned()
}

/// `text` as UTF-16LE with a BOM.
fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// Statuses by agent name from `agents --json`.
fn statuses(w: &World, db: &str) -> BTreeMap<String, String> {
    let out = w.certmend(&["--db", db, "--json", "agents"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc = json(&out);
    let agents = doc["agents"].as_array().unwrap();
    assert_eq!(doc["count"], agents.len());
    agents
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The agent the workflow repairs, and two with Japanese names and domains.
const REPAIRED: &str = "PC-ACCT-017";
const JA_AGENT: &str = "経理-ＰＣ０１";
const JA_AGENT_2: &str = "営業-ノート３";

#[test]
fn the_whole_workflow_with_windows_paths_and_a_stick_on_e() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("workflow");
    let db = format!(r"{dir}\state.sqlite3");
    let install = w.install_server(APEX_X86);

    // server show: the Windows paths and the certificate.
    let out = w.certmend(&["--db", &db, "--json", "server", "show", APEX_X86]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let shown = json(&out);
    assert_eq!(shown["server"]["install_folder"], APEX_X86);
    assert_eq!(shown["server"]["found_by"], "folder");
    assert_eq!(
        shown["server"]["pccsrv_folder"],
        format!(r"{APEX_X86}\PCCSRV")
    );
    assert_eq!(
        shown["certificate"]["sha1_thumbprint"],
        w.demo.thumbprint.as_str()
    );
    assert_eq!(
        shown["certificate"]["sha256"]
            .as_str()
            .unwrap()
            .replace(':', "")
            .to_uppercase(),
        sha256_hex(&w.demo.certificate)
    );
    assert_eq!(
        file_entry(&shown["server"], "OfcNTCer.dat")["path"],
        format!(r"{APEX_X86}\PCCSRV\Pccnt\Common\OfcNTCer.dat")
    );

    // Two lists: CP932 (comma) and UTF-16LE with BOM (tab), the second naming one more.
    let lists = w.linux_path(r"C:\lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("mismatched-cp932.csv"),
        cp932(&format!(
            "コンピュータ名,IPアドレス,ドメイン\r\n{REPAIRED},10.20.1.11,経理部\r\n\
             {JA_AGENT},10.20.1.12,経理部\r\n{JA_AGENT_2},10.20.1.13,営業部\r\n"
        )),
    )
    .unwrap();
    std::fs::write(
        lists.join("mismatched-utf16.txt"),
        utf16le_bom(&format!(
            "Computer Name\tIP Address\tDomain\r\n{REPAIRED}\t10.20.1.11\t経理部\r\n\
             {JA_AGENT}\t10.20.1.12\t経理部\r\n{JA_AGENT_2}\t10.20.1.13\t営業部\r\n\
             PC-DEV-024\t10.20.1.137\t開発部\r\n"
        )),
    )
    .unwrap();
    let out = w.certmend(&[
        "--db",
        &db,
        "--json",
        "import",
        r"C:\lists\mismatched-cp932.csv",
        "--server",
        APEX_X86,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let first = json(&out);
    assert_eq!(first["encoding"], "cp932");
    assert_eq!(first["delimiter"], ",");
    assert_eq!(first["file"], r"C:\lists\mismatched-cp932.csv");
    assert_eq!(first["server"]["install_folder"], APEX_X86);
    assert_eq!(
        (&first["rows"], &first["agents"], &first["new_agents"]),
        (&3.into(), &3.into(), &3.into())
    );
    assert_eq!(first["rejected"], serde_json::json!([]));
    let out = w.certmend(&[
        "--db",
        &db,
        "--json",
        "import",
        r"C:\lists\mismatched-utf16.txt",
        "--server",
        APEX_X86,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let second = json(&out);
    assert_eq!(second["encoding"], "utf-16le");
    assert_eq!(second["delimiter"], "\t");
    assert_eq!(
        (
            &second["agents"],
            &second["new_agents"],
            &second["resolved"]
        ),
        (&4.into(), &1.into(), &0.into())
    );
    let agents = statuses(w, &db);
    assert_eq!(
        agents.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "PC-ACCT-017",
            "PC-DEV-024",
            "営業-ノート３",
            "経理-ＰＣ０１"
        ]
    );
    assert!(agents.values().all(|s| s == "mismatched"), "{agents:?}");

    // Bundles onto E:, a drive letter standing for a stick.
    let stick = dir_linux.join("stick");
    std::fs::create_dir_all(&stick).unwrap();
    w.prefix.map_drive('e', &stick);
    let out = w.certmend(&[
        "--db",
        &db,
        "--json",
        "bundle",
        "--server",
        APEX_X86,
        "--out",
        r"E:\",
        "--all-mismatched",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let export = json(&out);
    assert_eq!(export["out_dir"], r"E:\");
    let bundles = export["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 4, "{export}");
    for b in bundles {
        let folder = b["folder"].as_str().unwrap();
        let name = folder
            .strip_prefix(r"E:\")
            .unwrap_or_else(|| panic!("{folder}: not on E:\\"));
        assert!(!name.contains('\\'), "{folder}");
        for file in [
            "OfcNTCer.dat",
            "IpXfer.exe",
            "IpXfer_x64.exe",
            "repair.cmd",
            "README.txt",
            "manifest.json",
        ] {
            assert!(stick.join(name).join(file).is_file(), "{folder}\\{file}");
        }
        assert_eq!(
            std::fs::read(stick.join(name).join("OfcNTCer.dat")).unwrap(),
            w.demo.certificate
        );
        assert_eq!(
            std::fs::read(stick.join(name).join("IpXfer_x64.exe")).unwrap(),
            std::fs::read(install.join("PCCSRV/Admin/Utility/IpXfer/IpXfer_x64.exe")).unwrap()
        );
    }
    let bundle = bundles
        .iter()
        .find(|b| b["agent"]["name"] == REPAIRED)
        .unwrap();
    assert_eq!(bundle["folder"], format!(r"E:\{REPAIRED}"));
    assert!(bundles.iter().any(|b| b["agent"]["name"] == JA_AGENT));
    assert!(statuses(w, &db).values().all(|s| s == "bundle_exported"));

    // The agent: its folder named in the registry, holding the old certificate.
    let agent_dir = w.linux_path(r"C:\Agents\workflow\OfficeScan Client");
    std::fs::create_dir_all(&agent_dir).unwrap();
    std::fs::write(agent_dir.join("OfcNTCer.dat"), &w.demo.previous_certificate).unwrap();
    w.prefix.set_reg_string(
        View::Bits64,
        AGENT_KEY,
        "Application Path",
        r"C:\Agents\workflow\OfficeScan Client\",
    );
    // repair.cmd from E:, as an administrator, on the agent's computer (Wine's
    // %COMPUTERNAME% is the Linux host's): the stand-ins in system32 answer for net,
    // certutil, sc and icacls.
    let bundle_dir = stick.join(REPAIRED);
    let ipxfer_log = dir_linux.join("ipxfer.log");
    let mut cmd = w.prefix.wine();
    cmd.current_dir(&bundle_dir)
        .args([
            "cmd",
            "/c",
            &format!(r"set COMPUTERNAME={REPAIRED}&& E:\{REPAIRED}\repair.cmd"),
        ])
        .env("WINEDLLOVERRIDES", stand_in_overrides())
        .env("FAKE_NET_SESSION", "ok")
        .env("FAKE_IPXFER_LOG", z_path(&ipxfer_log))
        .env(
            "FAKE_AGENT_CERT",
            r"C:\Agents\workflow\OfficeScan Client\OfcNTCer.dat",
        );
    let run = w
        .prefix
        .run(&mut cmd, Some(b"\r\n"), CLI_TIMEOUT, "repair.cmd on E:");
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        std::fs::read(agent_dir.join("OfcNTCer.dat")).unwrap(),
        w.demo.certificate,
        "the agent holds the server's certificate"
    );
    // IpXfer ran from its checked copy in a work folder under %SystemRoot%\Temp, gone now.
    let calls = std::fs::read_to_string(&ipxfer_log).unwrap();
    assert!(
        calls.starts_with(r"IpXfer_x64.exe [-e] [C:\windows\Temp\certmend-")
            && calls.trim_end().ends_with(r"\OfcNTCer.dat]"),
        "{calls}"
    );
    assert_eq!(leftover_work_folders(&w.prefix), Vec::<String>::new());
    assert!(stick.join("receipts").is_dir());

    // The receipts, read by certmend.exe from E:\.
    let out = w.certmend(&["--db", &db, "--json", "receipts", r"E:\"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let receipts = json(&out);
    assert_eq!(receipts["folder"], r"E:\receipts");
    let applied = receipts["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "{receipts}");
    assert_eq!(applied[0]["agent"], REPAIRED);
    assert_eq!(applied[0]["bundle_id"], bundle["bundle_id"]);
    assert_eq!(applied[0]["status_before"], "bundle_exported");
    assert_eq!(applied[0]["status_after"], "repaired");
    let after = statuses(w, &db);
    assert_eq!(after[REPAIRED], "repaired");
    for other in ["PC-DEV-024", JA_AGENT, JA_AGENT_2] {
        assert_eq!(after[other], "bundle_exported", "{after:?}");
    }
    // Nothing of certmend's own landed on the stick or in the per-user folder: --db.
    assert!(!w.prefix.local_app_data().join("certmend").exists());
}

#[test]
fn backup_create_and_verify_use_the_data_folder_in_localappdata() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("backup");
    w.install_server(APEX_X86);
    // The new password from a file (first line), the key pair's from the environment:
    // never on the command line.
    let new_password = "a new backup password, long enough";
    std::fs::write(dir_linux.join("new.txt"), format!("{new_password}\r\n")).unwrap();
    let new_file = format!(r"{dir}\new.txt");
    let out = w.certmend_with(
        &[
            "--json",
            "backup",
            "create",
            "--server",
            APEX_X86,
            "--new-password-file",
            &new_file,
        ],
        &[("CERTMEND_PASSWORD", &w.demo.password)],
        &w.prefix.drive_c(),
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let created = json(&out);
    assert_eq!(
        created["certificate"]["sha1_thumbprint"],
        w.demo.thumbprint.as_str()
    );
    assert!(!out.stdout_text().contains(new_password) && !out.stderr_text().contains(new_password));

    // Everything under %LOCALAPPDATA%\certmend\data of the prefix's user.
    let local = format!(r"C:\users\{}\AppData\Local", w.prefix.user());
    let data = w.prefix.local_app_data().join("certmend/data");
    assert!(
        data.join("certmend.sqlite3").is_file(),
        "the database in {local}\\certmend\\data"
    );
    let files = created["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{created}");
    let mut pfx = None;
    for f in files {
        let path = f["path"].as_str().unwrap();
        let prefix = format!(r"{local}\certmend\data\backups\");
        assert!(
            path.to_lowercase().starts_with(&prefix.to_lowercase()),
            "{path} not in {prefix}"
        );
        let name = &path[prefix.len()..];
        assert!(name.starts_with("keypair-"), "{name}");
        let on_disk = data.join("backups").join(name);
        let bytes =
            std::fs::read(&on_disk).unwrap_or_else(|e| panic!("{}: {e}", on_disk.display()));
        assert_eq!(f["size"], bytes.len());
        assert_eq!(f["sha256"], sha256_hex(&bytes));
        if name.ends_with(".pfx") {
            pfx = Some(path.to_string());
        } else {
            assert!(name.ends_with(".cer"), "{name}");
            assert_eq!(bytes, w.demo.certificate, "the .cer is the certificate");
        }
    }
    let pfx = pfx.expect("a .pfx");
    // Written through temporary files with random names (CREATE_NEW), renamed into
    // place: none is left beside the two backup files. The folder is under the
    // profile's %LOCALAPPDATA%, whose access list keeps other users out (Wine has no
    // access lists to show; certmend sets none of its own).
    let mut left: Vec<String> = std::fs::read_dir(data.join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|n| n.starts_with("keypair-")), "{left:?}");

    let out = w.certmend(&[
        "--json",
        "backup",
        "verify",
        &pfx,
        "--password-file",
        &new_file,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let verified = json(&out);
    assert_eq!(verified["checks"]["key_matches_certificate"], true);
    assert_eq!(
        verified["certificate"]["sha1_thumbprint"],
        w.demo.thumbprint.as_str()
    );
    let out = w.certmend(&["--json", "backup", "list"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(json(&out)["backups"].as_array().unwrap().len(), 1);

    // The wrong password is refused.
    let out = w.certmend_with(
        &["backup", "verify", &pfx],
        &[("CERTMEND_PASSWORD", "not the password")],
        &w.prefix.drive_c(),
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    assert!(
        out.stderr_text().starts_with("certmend: error["),
        "{}",
        out.describe()
    );
}

// ---------------------------------------------------------------------------------
// CertificateManager.exe run by the CLI

/// What the stand-in CertificateManager saw: its working directory and arguments.
struct CmLogs {
    cwd: PathBuf,
    args: PathBuf,
}

impl CmLogs {
    fn new(dir: &Path) -> Self {
        Self {
            cwd: dir.join("cm-cwd.txt"),
            args: dir.join("cm-args.txt"),
        }
    }

    fn env(&self, mode: &str) -> Vec<(&'static str, String)> {
        vec![
            ("FAKE_CM_CWD_LOG", z_path(&self.cwd)),
            ("FAKE_CM_ARGS_LOG", z_path(&self.args)),
            ("FAKE_CM_MODE", mode.to_string()),
        ]
    }

    fn cwd(&self) -> String {
        std::fs::read_to_string(&self.cwd)
            .expect("CertificateManager.exe was not run")
            .trim_end()
            .to_string()
    }

    fn args(&self) -> String {
        std::fs::read_to_string(&self.args)
            .expect("CertificateManager.exe was not run")
            .trim_end()
            .to_string()
    }
}

/// `import --run-certificate-manager --server <Apex One>` started in `C:\work`, with the
/// stand-in in `mode` and `extra_env` (a locale).
fn run_certificate_manager(
    w: &World,
    db: &str,
    logs: &CmLogs,
    mode: &str,
    extra_env: &[(&str, &str)],
) -> Captured {
    let work = w.linux_path(r"C:\work");
    std::fs::create_dir_all(&work).unwrap();
    let env = logs.env(mode);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra_env);
    w.certmend_with(
        &[
            "--db",
            db,
            "--json",
            "import",
            "--run-certificate-manager",
            "--server",
            APEX_X86,
        ],
        &env,
        &work,
    )
}

#[test]
fn certificate_manager_writes_the_list_that_is_imported() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-ok");
    let db = format!(r"{dir}\state.sqlite3");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);

    let out = run_certificate_manager(w, &db, &logs, "ok", &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let report = json(&out);
    assert_eq!(report["encoding"], "utf-16le");
    assert_eq!(report["delimiter"], "\t");
    assert_eq!(
        (&report["rows"], &report["agents"], &report["new_agents"]),
        (&3.into(), &3.into(), &3.into())
    );
    assert_eq!(report["server"]["install_folder"], APEX_X86);

    // `-l <full path of a .csv>`, in a folder the CLI removes once imported.
    let args = logs.args();
    let list = args
        .strip_prefix("[-l][")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("expected [-l][<path>], got {args}"));
    assert!(
        list.len() > 3 && list.as_bytes()[1] == b':' && list.as_bytes()[2] == b'\\',
        "a full path: {list}"
    );
    assert!(list.ends_with(".csv"), "{list}");
    assert_eq!(report["file"], list);
    let users = format!(r"C:\users\{}\", w.prefix.user());
    let temp = list
        .strip_prefix(&users)
        .map(|rest| {
            w.prefix
                .drive_c()
                .join("users")
                .join(w.prefix.user())
                .join(rest.replace('\\', "/"))
        })
        .unwrap_or_else(|| panic!("{list}: expected the user's %TEMP%"));
    assert!(!temp.exists(), "{list} is removed after the import");

    let agents = statuses(w, &db);
    assert_eq!(
        agents.keys().map(String::as_str).collect::<Vec<_>>(),
        ["CM-PC-001", "CM-PC-003", "経理-ＰＣ０２"]
    );
    let out = w.certmend(&["--db", &db, "--json", "agents", "--search", "経理"]);
    let doc = json(&out);
    assert_eq!(doc["count"], 1);
    assert_eq!(doc["agents"][0]["domain"], "経理部");
    assert_eq!(doc["agents"][0]["ip"], "10.30.0.2");
}

/// Trend's KB (KA-0004099) changes into the tool's folder before running it, and the
/// tool may look for files beside itself: the CLI does the same, wherever it was
/// started (here `C:\work`).
#[test]
fn certificate_manager_runs_in_its_own_folder() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-cwd");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);
    let out = run_certificate_manager(w, &format!(r"{dir}\state.sqlite3"), &logs, "ok", &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        logs.cwd().eq_ignore_ascii_case(&format!(
            r"{APEX_X86}\PCCSRV\Admin\Utility\CertificateManager"
        )),
        "{}",
        logs.cwd()
    );
}

#[test]
fn certificate_manager_failure_is_an_error_with_its_exit_code_and_nothing_imported() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-fail");
    let db = format!(r"{dir}\state.sqlite3");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);
    let out = run_certificate_manager(w, &db, &logs, "fail", &[]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let stderr = out.stderr_text();
    assert!(
        stderr.starts_with("certmend: error[certificate_manager.failed]: "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            r"{APEX_X86}\PCCSRV\Admin\Utility\CertificateManager\CertificateManager.exe: `-l` failed with exit code 5"
        )),
        "{stderr}"
    );
    assert_eq!(
        json(&out)["error"]["code"],
        "certificate_manager.failed",
        "--json: the error as a document too"
    );
    assert!(statuses(w, &db).is_empty(), "nothing imported");
}

/// On a Japanese server (here a private ja_JP locale: OEM code page 932) the tool's
/// console output is CP932; the CLI's error shows it decoded, in UTF-8. (It once decoded
/// it as UTF-8 and printed U+FFFD instead of the reason.)
#[test]
fn certificate_manager_japanese_output_is_shown_decoded_on_a_japanese_server() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-ja");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);
    let locale = w.locale.to_str().unwrap();
    let out = run_certificate_manager(
        w,
        &format!(r"{dir}\state.sqlite3"),
        &logs,
        "fail",
        &[("LOCPATH", locale), ("LANG", "ja_JP.UTF-8")],
    );
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let stderr = String::from_utf8(out.stderr.clone()).expect("the CLI writes UTF-8");
    assert!(
        stderr.ends_with(
            "`-l` failed with exit code 5 (output: 証明書の一覧を作成できませんでした。 / \
             管理者として実行してください。)\n"
        ),
        "{stderr}"
    );
}

/// Exit 0 and no list written: undocumented by Trend (it may mean that no agent is
/// mismatched), so the CLI reports it as its own outcome with the tool's output and
/// exit status 0, never as a failure; nothing is imported.
#[test]
fn certificate_manager_writing_no_list_is_reported_as_its_own_outcome() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-none");
    let db = format!(r"{dir}\state.sqlite3");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);
    let out = run_certificate_manager(w, &db, &logs, "none", &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(logs.args().starts_with("[-l]["), "{}", logs.args());
    let doc = json(&out);
    assert_eq!(doc["code"], "certificate_manager.nothing_listed", "{doc}");
    assert_eq!(doc["certificate_manager"]["outcome"], "nothing_listed");
    assert_eq!(doc["certificate_manager"]["output"], "No list written.");
    assert_eq!(doc["server"]["install_folder"], APEX_X86);
    assert!(
        doc["message"].as_str().unwrap().contains(
            "CertificateManager wrote no list: it may mean no agent is mismatched \
             (Trend does not document this case) (output: No list written.)"
        ),
        "{doc}"
    );
    assert_eq!(out.stderr_text(), "", "{}", out.describe());

    // The same as text.
    let work = w.linux_path(r"C:\work");
    let env = logs.env("none");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = w.certmend_with(
        &[
            "--db",
            &db,
            "import",
            "--run-certificate-manager",
            "--server",
            APEX_X86,
        ],
        &env,
        &work,
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let text = out.stdout_text();
    assert!(
        text.starts_with(
            "CertificateManager wrote no list: it may mean no agent is mismatched \
             (Trend does not document this case).\n"
        ) && text.contains("  Output      No list written.\n"),
        "{text}"
    );
    assert!(statuses(w, &db).is_empty(), "nothing imported");
}

/// A list that starts with a title line and a blank line: the header row is found
/// below them (its tabs, not the title, decide the delimiter), the title is reported
/// as skipped with its line number, and only the real agents are imported.
#[test]
fn certificate_manager_list_with_a_title_line_imports_the_agents_and_reports_the_title() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("cm-title");
    let db = format!(r"{dir}\state.sqlite3");
    w.install_server(APEX_X86);
    let logs = CmLogs::new(&dir_linux);
    let out = run_certificate_manager(w, &db, &logs, "title", &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let report = json(&out);
    assert_eq!(report["encoding"], "utf-16le");
    assert_eq!(report["delimiter"], "\t");
    assert_eq!(report["header"], true);
    assert_eq!(
        report["columns"],
        serde_json::json!(["コンピュータ名", "IPアドレス", "ドメイン", "GUID"])
    );
    assert_eq!(
        report["skipped_preamble"],
        serde_json::json!([{ "line": 1, "text": "Agents with invalid certificate 2026/12/04" }])
    );
    assert_eq!(
        (&report["rows"], &report["agents"], &report["rejected"]),
        (&2.into(), &2.into(), &serde_json::json!([]))
    );
    let agents = statuses(w, &db);
    assert_eq!(
        agents.keys().map(String::as_str).collect::<Vec<_>>(),
        ["CM-PC-101", "CM-PC-102"]
    );
    let out = w.certmend(&["--db", &db, "--json", "agents", "--search", "CM-PC-101"]);
    let doc = json(&out);
    assert_eq!(doc["agents"][0]["ip"], "10.31.0.1");
    assert_eq!(doc["agents"][0]["domain"], "営業部");
    assert_eq!(
        doc["agents"][0]["guid"],
        "6f1c2a9e-0101-4c1d-9a55-000000000101"
    );
}

// ---------------------------------------------------------------------------------
// drives

/// Wine's powershell.exe is a stub that prints nothing and returns 0: no drives.
#[test]
fn drives_without_powershell_finish_quickly_with_no_drives() {
    let _serial = serial();
    let w = world();
    w.reset();
    let limit = Duration::from_secs(20);
    let mut cmd = w.certmend_command(&["--json", "drives"], &[], &w.prefix.drive_c());
    let out = w
        .prefix
        .run(&mut cmd, None, limit, "certmend.exe --json drives");
    assert_eq!(out.code, Some(0), "{}", out.describe());
    // A few seconds at most, Wine's start-up on a loaded machine included (about 0.2 s
    // when idle): an admin waits for this list in the export dialog.
    assert!(out.elapsed < Duration::from_secs(10), "{}", out.describe());
    assert_eq!(json(&out), serde_json::json!({ "drives": [] }));
    let mut cmd = w.certmend_command(&["drives"], &[], &w.prefix.drive_c());
    let out = w.prefix.run(&mut cmd, None, limit, "certmend.exe drives");
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        out.stdout_text(),
        "No removable drive is mounted. Any folder can be given to `certmend bundle --out`.\n"
    );
    assert_eq!(out.stderr_text(), "");
}

/// With a PowerShell that answers (a stand-in over Wine's stub in System32, preferred to
/// the builtin by a DLL override), the drive letters it prints are offered, with their
/// free space. A powershell.exe beside certmend.exe is never run: the CLI starts
/// Windows' own by full path (anyone who can write that folder could plant one).
#[test]
fn drives_lists_the_removable_drives_system32_powershell_reports() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (_, dir_linux) = w.test_dir("drives");
    let stick = dir_linux.join("stick");
    std::fs::create_dir_all(&stick).unwrap();
    w.prefix.map_drive('e', &stick);
    let system = w
        .prefix
        .system32()
        .join("WindowsPowerShell/v1.0/powershell.exe");
    let stub = dir_linux.join("wine-powershell.exe");
    std::fs::copy(&system, &stub).unwrap();
    std::fs::copy(w.tools.join("powershell.exe"), &system).unwrap();
    let planted = w.exe.with_file_name("powershell.exe");
    std::fs::copy(w.tools.join("powershell.exe"), &planted).unwrap();
    let log = dir_linux.join("ps.log");
    let log_env = z_path(&log);
    let overrides = format!("{DLL_OVERRIDES};powershell.exe=n");
    let out = w.certmend_with(
        &["--json", "drives"],
        &[
            ("FAKE_PS_DRIVES", "E:"),
            ("FAKE_PS_LOG", &log_env),
            ("WINEDLLOVERRIDES", &overrides),
        ],
        &w.prefix.drive_c(),
    );
    std::fs::remove_file(&planted).unwrap();
    std::fs::copy(&stub, &system).unwrap();
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc = json(&out);
    let drives = doc["drives"].as_array().unwrap();
    assert_eq!(drives.len(), 1, "{doc}");
    assert_eq!(drives[0]["mount_point"], r"E:\");
    assert_eq!(drives[0]["device"], "E:");
    assert!(drives[0]["free"].as_u64().is_some_and(|f| f > 0), "{doc}");
    let asked = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = asked.lines().collect();
    assert_eq!(calls.len(), 1, "{asked}");
    assert!(
        calls[0]
            .to_lowercase()
            .starts_with(r"c:\windows\system32\windowspowershell\v1.0\powershell.exe["),
        "System32's PowerShell, not the one beside certmend.exe: {asked}"
    );
    assert!(calls[0].contains("DriveType=2"), "{asked}");
}

// ---------------------------------------------------------------------------------
// What agents prints

/// A database with the agents of a CP932 list (Japanese names and domains).
fn japanese_agents_db(w: &World, name: &str) -> (String, PathBuf) {
    let (dir, dir_linux) = w.test_dir(name);
    w.install_server(APEX_X86);
    std::fs::write(
        dir_linux.join("list.csv"),
        cp932(&format!(
            "コンピュータ名,IPアドレス,ドメイン\r\n{JA_AGENT},10.20.1.12,経理部\r\n\
             {JA_AGENT_2},10.20.1.13,営業部\r\n"
        )),
    )
    .unwrap();
    let db = format!(r"{dir}\state.sqlite3");
    let out = w.certmend(&[
        "--db",
        &db,
        "import",
        &format!(r"{dir}\list.csv"),
        "--server",
        APEX_X86,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    (db, dir_linux)
}

#[test]
fn agents_prints_japanese_names_as_utf8_to_a_file() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, dir_linux) = japanese_agents_db(w, "agents-utf8");

    let out = w.certmend(&["--db", &db, "agents"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let text = String::from_utf8(out.stdout.clone())
        .unwrap_or_else(|e| panic!("stdout is not UTF-8 ({e}): {:?}", out.stdout));
    assert!(!text.starts_with('\u{feff}'), "no BOM");
    assert!(!out.stdout.contains(&0), "not UTF-16");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[2], "2 agents");
    let row = lines
        .iter()
        .find(|l| l.contains(JA_AGENT))
        .unwrap_or_else(|| panic!("{JA_AGENT} not printed: {text}"));
    let fields: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &fields[..4],
        ["mismatched", JA_AGENT, "10.20.1.12", "経理部"]
    );
    // The exact bytes of the name and the domain.
    let bytes = &out.stdout;
    for needle in [JA_AGENT, JA_AGENT_2, "経理部", "営業部"] {
        assert!(
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} as UTF-8"
        );
    }
    assert_eq!(&JA_AGENT.as_bytes()[..3], [0xE7, 0xB5, 0x8C], "経 in UTF-8");

    // JSON: strictly UTF-8, the names as the list had them.
    let out = w.certmend(&["--db", &db, "--json", "agents"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let doc = json(&out);
    let names: Vec<&str> = doc["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&JA_AGENT) && names.contains(&JA_AGENT_2),
        "{names:?}"
    );
    assert!(
        !out.stdout.windows(6).any(|w| w == b"\\u7d4c"),
        "not \\u-escaped"
    );

    // cmd.exe's own redirection gives the program a file handle: the same bytes. (No
    // quotes in the line: Wine passes them to cmd.exe backslash-escaped.)
    let dir = db
        .strip_suffix(r"\state.sqlite3")
        .expect("the database in the test's folder");
    let redirected = dir_linux.join("agents.txt");
    let line = format!(r"C:\certmend\certmend.exe --db {db} agents > {dir}\agents.txt");
    let run = w.prefix.run(
        w.prefix.wine().args(["cmd", "/c", &line]),
        None,
        CLI_TIMEOUT,
        "cmd /c certmend.exe agents > file",
    );
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(std::fs::read(&redirected).unwrap(), text.as_bytes());
}

/// Enough agents that `agents` prints more than a pipe holds (64 KiB).
fn many_agents_db(w: &World, name: &str, agents: usize) -> String {
    let (dir, dir_linux) = w.test_dir(name);
    w.install_server(APEX_X86);
    let mut list = String::from("Computer Name,IP Address,Domain\r\n");
    for i in 0..agents {
        list.push_str(&format!(
            "PC-MANY-{i:05},10.40.{}.{},経理部\r\n",
            i / 250,
            i % 250
        ));
    }
    std::fs::write(dir_linux.join("many.csv"), list).unwrap();
    let db = format!(r"{dir}\state.sqlite3");
    let out = w.certmend(&[
        "--db",
        &db,
        "import",
        &format!(r"{dir}\many.csv"),
        "--server",
        APEX_X86,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    db
}

/// `certmend.exe agents` writing into a pipe whose reader goes away after `keep` bytes
/// (0: before anything was written): its exit code and stderr.
fn agents_into_a_closing_pipe(w: &World, db: &str, keep: usize) -> (Option<i32>, String) {
    let stderr = w
        .prefix
        .scratch()
        .join(format!("closing-pipe-{keep}.stderr"));
    let mut cmd = w.certmend_command(&["--db", db, "agents"], &[], &w.prefix.drive_c());
    // The wineserver and its services run already (started with no pipes): only
    // certmend.exe holds this pipe's write end.
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = child.stdout.take().unwrap();
    let mut got = vec![0u8; keep];
    reader.read_exact(&mut got).unwrap();
    if keep > 0 {
        assert!(
            got.starts_with(b"mismatched "),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    drop(reader);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CLI_TIMEOUT {
            let _ = child.kill();
            panic!("certmend.exe agents did not end after its reader went away");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code(),
        String::from_utf8_lossy(&std::fs::read(&stderr).unwrap()).into_owned(),
    )
}

/// A reader that stops early (`| more` quit, `| findstr /m`) must end the CLI quietly:
/// status 0, nothing on stderr — not a panic (exit 101), not an error line. Windows
/// reports the closed pipe as ERROR_NO_DATA (232), ERROR_BROKEN_PIPE (109) or, as Wine
/// does here, ERROR_PIPE_NOT_CONNECTED (233); the CLI takes all three for a reader that
/// left. (`cmd /c "certmend agents | more"` itself is not run: Wine's pipelines are
/// unreliable.)
#[test]
fn agents_whose_reader_stops_early_ends_quietly() {
    let _serial = serial();
    let w = world();
    w.reset();
    let db = many_agents_db(w, "agents-pipe", 2000);
    for keep in [0, 4096] {
        let (code, stderr) = agents_into_a_closing_pipe(w, &db, keep);
        assert_eq!(code, Some(0), "after {keep} bytes: {stderr}");
        assert_eq!(stderr, "", "after {keep} bytes");
    }
}

// ---------------------------------------------------------------------------------
// Two exports to one stick at once

/// Big IpXfer stand-ins, so that an export takes long enough to be caught mid-way.
fn big_ipxfer(dir: &Path, bytes: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, name) in ["IpXfer.exe", "IpXfer_x64.exe"].iter().enumerate() {
        // Not all zeros: nothing below may store it sparsely or compress it away.
        let data: Vec<u8> = (0..bytes)
            .map(|k| (k.wrapping_mul(2_654_435_761 + i) >> 13) as u8)
            .collect();
        std::fs::write(dir.join(name), data).unwrap();
    }
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            if meta.is_dir() {
                stack.push(entry.path());
                files.insert(rel, u64::MAX);
            } else {
                files.insert(rel, meta.len());
            }
        }
    }
    files
}

fn temp_folders(stick: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(stick)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".certmend-tmp-")
        })
        .collect()
}

fn signal(pid: u32, sig: &str) {
    // The group: the wine loader is the process itself, but be sure nothing it
    // started keeps running.
    let status = Command::new("kill")
        .args([&format!("-{sig}"), "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} -{pid}");
}

/// Kills a process group when dropped: a test that panics midway leaves nothing running.
/// (After a normal end the group is gone and the kill fails harmlessly.)
struct KillGroupOnDrop(u32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

/// Waits until every thread of `pid` is stopped (state `T` in /proc). `kill -STOP`
/// returns at once, but a write already inside the kernel (a 256 KiB chunk of a bundle
/// file) completes first: a snapshot taken before this would race with it (seen once in
/// a CI run, the file 256 KiB longer after the second export than before it).
fn wait_stopped(pid: u32) {
    let started = Instant::now();
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
        let all_stopped = tasks.flatten().all(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // The state follows the ")" that closes the command name.
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            matches!(state, Some(Some('T' | 't')))
        });
        if all_stopped {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "process {pid} did not stop"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_second_export_to_a_stick_in_use_is_refused_and_the_first_completes() {
    const AGENTS: usize = 12;
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("busy");
    let db = format!(r"{dir}\state.sqlite3");
    w.install_server(APEX_X86);
    let mut list = String::from("Computer Name\r\n");
    for i in 0..AGENTS {
        list.push_str(&format!("PC-BUSY-{i:02}\r\n"));
    }
    std::fs::write(dir_linux.join("busy.csv"), list).unwrap();
    let out = w.certmend(&[
        "--db",
        &db,
        "import",
        &format!(r"{dir}\busy.csv"),
        "--server",
        APEX_X86,
    ]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    big_ipxfer(&dir_linux.join("ipxfer"), 3 * 1024 * 1024);
    let stick = dir_linux.join("stick");
    std::fs::create_dir_all(&stick).unwrap();
    w.prefix.map_drive('e', &stick);
    let ipxfer_dir = format!(r"{dir}\ipxfer");
    let args = [
        "--db",
        &db,
        "--json",
        "bundle",
        "--server",
        APEX_X86,
        "--out",
        r"E:\",
        "--all-mismatched",
        "--ipxfer-dir",
        &ipxfer_dir,
    ];

    let first_out = dir_linux.join("first.stdout");
    let first_err = dir_linux.join("first.stderr");
    let mut first = w
        .certmend_command(&args, &[], &w.prefix.drive_c())
        .stdout(std::fs::File::create(&first_out).unwrap())
        .stderr(std::fs::File::create(&first_err).unwrap())
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = first.id();
    // Should an assertion below fail, the first export must not live on (resumed or
    // stopped) and write into the folders the next tests reset.
    let _first_guard = KillGroupOnDrop(pid);
    // Stop the first while it writes a bundle's files: a temporary folder without its
    // manifest (written last). Then it holds the target's lock and no database lock
    // (a bundle is recorded only once staged), so the second meets only the lock.
    let started = Instant::now();
    loop {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first export ended before it could be caught mid-way: use bigger stand-ins"
        );
        assert!(
            started.elapsed() < CLI_TIMEOUT,
            "the first export never started writing"
        );
        let staging = temp_folders(&stick)
            .iter()
            .any(|t| !t.join("manifest.json").exists());
        if staging {
            signal(pid, "STOP");
            wait_stopped(pid);
            let still = temp_folders(&stick)
                .iter()
                .any(|t| !t.join("manifest.json").exists());
            if still {
                break;
            }
            signal(pid, "CONT");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let before = tree(&stick);
    let events_before = json(&w.certmend(&["--db", &db, "--json", "history"]))["events"].clone();
    let agents_before = statuses(w, &db);

    let second = w.certmend(&args);
    let on_stick = tree(&stick);
    let events_after = json(&w.certmend(&["--db", &db, "--json", "history"]))["events"].clone();
    let agents_after = statuses(w, &db);
    signal(pid, "CONT");

    assert_eq!(second.code, Some(2), "{}", second.describe());
    let stderr = second.stderr_text();
    assert!(
        stderr.starts_with("certmend: error[bundle.target_busy]: "),
        "{stderr}"
    );
    assert!(stderr.contains(r"E:\"), "names the stick: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(before, on_stick, "the second wrote nothing on the stick");
    assert_eq!(events_before, events_after, "the second recorded nothing");
    assert_eq!(agents_before, agents_after);

    let started = Instant::now();
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CLI_TIMEOUT {
            signal(pid, "KILL");
            panic!("the first export did not finish after it was resumed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let first_stderr = std::fs::read_to_string(&first_err).unwrap();
    assert_eq!(status.code(), Some(0), "the first export: {first_stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&first_out).unwrap()).unwrap();
    let bundles = report["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), AGENTS);
    for b in bundles {
        let name = b["folder"].as_str().unwrap().strip_prefix(r"E:\").unwrap();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(stick.join(name).join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["bundle_id"], b["bundle_id"]);
        assert_eq!(
            std::fs::metadata(stick.join(name).join("IpXfer_x64.exe"))
                .unwrap()
                .len(),
            3 * 1024 * 1024
        );
    }
    assert!(temp_folders(&stick).is_empty(), "no temporary folder left");
    assert!(statuses(w, &db).values().all(|s| s == "bundle_exported"));
}

// ---------------------------------------------------------------------------------
// The server's version (Server_Version, ServicePack_Build) and the IpXfer syntax

/// Imports a one-agent list for the server at `install` (Windows path) into `db`.
fn import_one_agent(w: &World, db: &str, dir_linux: &Path, dir: &str, install: &str, agent: &str) {
    std::fs::write(
        dir_linux.join("one.csv"),
        format!("Computer Name,IP Address\r\n{agent},10.9.8.7\r\n"),
    )
    .unwrap();
    let list = format!(r"{dir}\one.csv");
    let out = w.certmend(&["--db", db, "--json", "import", &list, "--server", install]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
}

#[test]
fn detect_and_bundle_read_the_version_from_the_registry_and_choose_the_syntax_by_it() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (dir, dir_linux) = w.test_dir("version");
    let db = format!(r"{dir}\state.sqlite3");
    // An Apex One upgraded from OfficeScan keeps its folder; a 32-bit key (WOW6432Node).
    const INSTALL: &str = r"C:\Custom\TM\OfficeScan";
    w.install_server(INSTALL);
    w.set_local_path(View::Bits32, &format!(r"{INSTALL}\PCCSRV\"));
    w.prefix
        .set_reg_string(View::Bits32, INFO_KEY, "Server_Version", "14.0");
    w.prefix
        .set_reg_string(View::Bits32, INFO_KEY, "ServicePack_Build", "8378");

    let (out, doc) = w.detect(&db, &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(found(&doc), [(INSTALL.to_string(), "registry".to_string())]);
    assert_eq!(
        doc["servers"][0]["version"],
        serde_json::json!({
            "server_version": "14.0",
            "service_pack_build": "8378",
            "registry_key": r"HKLM\SOFTWARE\WOW6432Node\TrendMicro\OfficeScan\service\Information",
        })
    );
    let text = w.certmend(&["--db", &db, "detect"]);
    assert_eq!(text.code, Some(0), "{}", text.describe());
    assert!(
        text.stdout_text().contains(
            "\n  Version  14.0, build 8378 (HKLM\\SOFTWARE\\WOW6432Node\\TrendMicro\\OfficeScan\\service\\Information)\n"
        ),
        "{}",
        text.stdout_text()
    );
    // The folder opened by path finds its key too.
    let out = w.certmend(&["--db", &db, "--json", "server", "show", INSTALL]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(json(&out)["server"]["version"]["server_version"], "14.0");

    // --ipxfer-syntax auto (the default): Apex One's documented XG form, values from
    // the server's ofcscan.ini, and the manifest says why.
    import_one_agent(w, &db, &dir_linux, &dir, INSTALL, "PC-VER-01");
    let bundle = |out_dir: &str| {
        let out = w.certmend(&[
            "--db",
            &db,
            "--json",
            "bundle",
            "--server",
            INSTALL,
            "--out",
            out_dir,
            "--agent",
            "PC-VER-01",
        ]);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        json(&out)
    };
    let report = bundle(&format!(r"{dir}\apex"));
    assert_eq!(report["ipxfer"]["syntax"], "xg", "{report}");
    assert_eq!(report["ipxfer"]["reason"], "apex_one");
    assert_eq!(report["ipxfer"]["follows_version"], true);
    assert_eq!(report["ipxfer"]["service_pack_build"], "8378");
    let folder = dir_linux.join("apex").join("PC-VER-01");
    let script = std::fs::read_to_string(folder.join("repair.cmd")).unwrap();
    assert!(
        script.contains(
            "\"%WORK%\\%IPXFER%\" -s \"demo-apexone.example.local\" -p 8080 -sp 4343 -c 21112 -e "
        ),
        "{script}"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["options"]["ipxfer_syntax"]["form"], "xg");
    assert_eq!(manifest["options"]["ipxfer_choice"], report["ipxfer"]);

    // OfficeScan 11.0: documented with -p for the password, which certmend does not
    // write: the seed form, and the reason says so.
    w.prefix
        .set_reg_string(View::Bits32, INFO_KEY, "Server_Version", "11.0");
    let report = bundle(&format!(r"{dir}\osce11"));
    assert_eq!(report["ipxfer"]["syntax"], "seed", "{report}");
    assert_eq!(report["ipxfer"]["reason"], "officescan_11");
    let script = std::fs::read_to_string(dir_linux.join("osce11/PC-VER-01/repair.cmd")).unwrap();
    assert!(!script.contains(" -sp "), "{script}");
}

#[test]
fn detect_reads_a_numeric_build_and_says_when_the_key_has_no_version() {
    let _serial = serial();
    let w = world();
    w.reset();
    let (db, _) = w.test_dir("version-dword");
    let db = format!(r"{db}\state.sqlite3");
    w.install_server(APEX_X86);
    w.set_local_path(View::Bits64, &format!(r"{APEX_X86}\PCCSRV\"));
    // The values' types are undocumented: a build stored as a number is read too.
    w.prefix.import_reg(&format!(
        "[{}]\r\n\"ServicePack_Build\"=dword:000020ba\r\n",
        View::Bits64.key(INFO_KEY)
    ));
    let (out, doc) = w.detect(&db, &[]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        doc["servers"][0]["version"],
        serde_json::json!({
            "server_version": null,
            "service_pack_build": "8378",
            "registry_key": INFO_KEY,
        })
    );
    let text = w.certmend(&["--db", &db, "detect"]).stdout_text();
    assert!(
        text.contains(&format!(
            "\n  Version  unknown ({INFO_KEY} has no Server_Version, build 8378)\n"
        )),
        "{text}"
    );
}
