#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! Generated repair.cmd scripts run in a real cmd.exe (Wine), with test stand-ins for
//! IpXfer, certutil (`-hashfile`, and `-dump` in the formats of Windows 10 and later,
//! older Windows and Japanese Windows), fltmc, net, sc (a slow agent service) and icacls
//! (it records what it was asked) built from `c/` with mingw-w64. The script calls
//! Windows' programs only by full path, so the stand-ins replace Wine's own in the
//! prefix's system32 (with WINEDLLOVERRIDES naming them native for the script's runs).
//! Each test exports real bundles with certmend-core, runs one script as an admin would
//! on the bundle's computer (`set COMPUTERNAME=...`: Wine's is the Linux host name),
//! then reads the receipts back with the `certmend receipts` command and checks the
//! agent's status. After every run no work folder may be left in `%SystemRoot%\Temp`.
//!
//! The attacks of a stick every agent PC can write to are tried here: a swapped IpXfer
//! or certificate is not run or used (`BUNDLE_TAMPERED`), a DLL planted beside the
//! stick's IpXfer is not loaded (and, run from the stick, it would be), a file planted in
//! the work folder before its access list changed stops the run, the wrong computer
//! (name or GUID) changes nothing, and a hostile computer name adds no receipt field.
//!
//! Run by `cargo xtask test` (it installs wine64 and mingw-w64 and passes the CLI's
//! path in CERTMEND_BIN). Where Wine differs from Windows (see shared TESTING.md), the
//! script's text is covered by byte-level unit tests in certmend-core instead: Wine's
//! cmd.exe drops `%` from `%%` and from expanded values, reads all of piped stdin in one
//! `set /p`, and lacks `!V:~n!` and `!V:a=b!`, so the typed-password checks (double
//! quote, trailing backslash) and `%` in passwords are covered by certmend-core's
//! byte-level tests only; Wine enforces no access lists, so what icacls is asked for is
//! checked, not its effect.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use certmend_core::bundle::{self, ExportOptions, Selection};
use certmend_core::progress::{Cancel, NoProgress};
use certmend_core::script::{IpXferSyntax, Password, ScriptLanguage};
use certmend_core::store::Store;
use certmend_core::{demo, inventory};
use certmend_wine_tests::{
    build_agent_stand_ins, build_planted_dll, install_system_stand_ins, japanese_locale,
    leftover_work_folders, receipt_field as field, serial, stand_in_overrides, z_path, View,
    WinePrefix,
};
use serde_json::Value;
use zeroize::Zeroizing;

const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";

/// This binary's Wine prefix and the stand-ins, made afresh once per test run under the
/// target folder (see certmend_wine_tests::WinePrefix).
struct WineWorld {
    prefix: WinePrefix,
    tools: PathBuf,
    locale: PathBuf,
    /// A hostile version.dll (`c/planted_version.c`).
    planted_dll: PathBuf,
}

fn world() -> &'static WineWorld {
    static WORLD: OnceLock<WineWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let prefix = WinePrefix::for_this_process(
            &Path::new(env!("CARGO_TARGET_TMPDIR")).join("wine/repair_cmd"),
        );
        let root = prefix.root().to_path_buf();
        let tools = root.join("tools");
        build_agent_stand_ins(&tools);
        // repair.cmd calls Windows' programs by full path: the stand-ins replace Wine's
        // own in system32. IpXfer comes with the bundles.
        install_system_stand_ins(&prefix, &tools);
        let planted_dll = root.join("planted/version.dll");
        std::fs::create_dir_all(planted_dll.parent().unwrap()).unwrap();
        build_planted_dll(&planted_dll);
        let locale = japanese_locale(&root.join("locale"));
        WineWorld {
            prefix,
            tools,
            locale,
            planted_dll,
        }
    })
}

fn wine(args: &[&str]) {
    world().prefix.wine_ok(args);
}

/// A demo server with its list imported and bundles exported; an agent installed in
/// the Wine prefix holding the old certificate.
struct Scene {
    _tmp: tempfile::TempDir,
    db: PathBuf,
    out_dir: PathBuf,
    agent_cert: PathBuf,
    agent_windows_dir: String,
    old_cert: Vec<u8>,
    new_cert: Vec<u8>,
    bundle_dir: PathBuf,
    log: PathBuf,
    /// Where IpXfer ran: its path and current folder (FAKE_IPXFER_WHERE).
    where_log: PathBuf,
    /// icacls.exe's arguments, one line per call (FAKE_ICACLS_LOG).
    icacls_log: PathBuf,
    /// sc.exe's count of `sc query` calls (FAKE_SC_COUNTER).
    sc_counter: PathBuf,
    /// The agent's GUID as the list (and the manifest) gives it.
    guid: String,
}

const AGENT: &str = "PC-ACCT-017";

impl Scene {
    fn new(
        stick_folder: &str,
        shared_tools: bool,
        password: Password,
        syntax: IpXferSyntax,
        language: ScriptLanguage,
    ) -> Self {
        let w = world();
        let tmp = tempfile::tempdir().unwrap();
        let summary = demo::write_demo(
            &tmp.path().join("drive"),
            &demo::DemoOptions {
                seed: Some(4),
                force: false,
            },
        )
        .unwrap();
        let db = tmp.path().join("state.sqlite3");
        let mut store = Store::open(&db).unwrap();
        let server = inventory::open(&mut store, &summary.install_folder).unwrap();
        certmend_core::agents::import::import_list(
            &mut store,
            server.server_id,
            &summary.list_file,
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        let out_dir = tmp.path().join("stick").join(stick_folder);
        let report = bundle::export(
            &mut store,
            &server,
            &ExportOptions {
                out_dir: out_dir.clone(),
                selection: Selection::Agents(vec![AGENT.into()]),
                ipxfer_dir: Some(w.tools.clone()),
                shared_tools,
                syntax,
                language,
                password,
                share: None,
            },
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        let bundle_dir = report.bundles[0].folder.clone();

        // The agent: its own folder in the prefix, named in the registry (64-bit view).
        let n = tmp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('.', "");
        let agent_windows_dir = format!(r"C:\Agents\{n}\OfficeScan Client\");
        let agent_dir = w
            .prefix
            .drive_c()
            .join(format!("Agents/{n}/OfficeScan Client"));
        std::fs::create_dir_all(&agent_dir).unwrap();
        let old_cert = std::fs::read(
            summary
                .collected_folder
                .join(format!("{AGENT}_OfcNTCer.dat")),
        )
        .or_else(|_| std::fs::read(summary.collected_folder.join(format!("{AGENT}.dat"))))
        .unwrap();
        let agent_cert = agent_dir.join("OfcNTCer.dat");
        std::fs::write(&agent_cert, &old_cert).unwrap();
        wine(&[
            "reg",
            "add",
            AGENT_KEY,
            "/v",
            "Application Path",
            "/t",
            "REG_SZ",
            "/d",
            &agent_windows_dir,
            "/f",
            "/reg:64",
        ]);
        let new_cert = std::fs::read(bundle_dir.join("OfcNTCer.dat")).unwrap();
        assert_ne!(old_cert, new_cert);
        let log = tmp.path().join("ipxfer.log");
        let where_log = tmp.path().join("ipxfer-where.log");
        let icacls_log = tmp.path().join("icacls.log");
        let sc_counter = tmp.path().join("sc-queries.txt");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(bundle_dir.join("manifest.json")).unwrap())
                .unwrap();
        let guid = manifest["agent"]["guid"].as_str().unwrap().to_string();
        Scene {
            _tmp: tmp,
            db,
            out_dir,
            agent_cert,
            agent_windows_dir,
            old_cert,
            new_cert,
            bundle_dir,
            log,
            where_log,
            icacls_log,
            sc_counter,
            guid,
        }
    }

    fn plain() -> Self {
        Self::new(
            "stick",
            false,
            Password::Prompt,
            IpXferSyntax::Seed,
            ScriptLanguage::En,
        )
    }

    /// Runs `cmd /c <command>` in the bundle folder on the bundle's computer, `stdin`
    /// typed at its prompt.
    fn run(&self, command: &str, stdin: &str, env: &[(&str, &str)]) -> (i32, String) {
        self.run_on(AGENT, command, stdin, env)
    }

    /// [`Scene::run`] on the computer `computer` (`%COMPUTERNAME%`; cmd's metacharacters
    /// in it escaped with `^`). No work folder may be left behind, whatever happened.
    fn run_on(
        &self,
        computer: &str,
        command: &str,
        stdin: &str,
        env: &[(&str, &str)],
    ) -> (i32, String) {
        let w = world();
        let mut cmd = w.prefix.wine();
        cmd.current_dir(&self.bundle_dir)
            .args([
                "cmd",
                "/c",
                &format!("set COMPUTERNAME={computer}&& {command}"),
            ])
            .env("WINEDLLOVERRIDES", stand_in_overrides())
            .env("FAKE_IPXFER_LOG", z_path(&self.log))
            .env("FAKE_IPXFER_WHERE", z_path(&self.where_log))
            .env("FAKE_ICACLS_LOG", z_path(&self.icacls_log))
            .env("FAKE_SC_COUNTER", z_path(&self.sc_counter))
            .env(
                "FAKE_AGENT_CERT",
                format!("{}OfcNTCer.dat", self.agent_windows_dir),
            );
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = w.prefix.run(
            &mut cmd,
            Some(stdin.as_bytes()),
            Duration::from_secs(90),
            &format!("cmd /c {command}"),
        );
        // cmd.exe writes redirected output in the console code page: CP932 for --lang ja.
        let text = match String::from_utf8(out.stdout) {
            Ok(text) => text,
            Err(e) => encoding_rs::SHIFT_JIS.decode(e.as_bytes()).0.into_owned(),
        };
        assert_eq!(
            leftover_work_folders(&w.prefix),
            Vec::<String>::new(),
            "repair.cmd left its work folder behind: {text}"
        );
        (out.code.unwrap_or(-1), text)
    }

    /// Where IpXfer ran, one (exe, current folder) per run.
    fn ipxfer_where(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.where_log)
            .map(|t| {
                t.lines()
                    .map(|l| {
                        let (exe, cwd) =
                            l.strip_prefix("exe=").unwrap().split_once(" cwd=").unwrap();
                        (exe.to_string(), cwd.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn icacls_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.icacls_log)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn receipts(&self) -> Vec<String> {
        let dir = self.out_dir.join("receipts");
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            lines.extend(text.lines().map(str::to_string));
        }
        lines
    }

    fn ipxfer_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn agent_holds(&self) -> &'static str {
        let now = std::fs::read(&self.agent_cert).unwrap();
        if now == self.new_cert {
            "new"
        } else if now == self.old_cert {
            "old"
        } else {
            "other"
        }
    }

    /// `certmend receipts` on the stick: its JSON report and exit code.
    fn read_back(&self) -> (i32, Value) {
        let bin =
            std::env::var_os("CERTMEND_BIN").expect("CERTMEND_BIN: run through cargo xtask test");
        let output = Command::new(bin)
            .arg("--db")
            .arg(&self.db)
            .args(["--json", "receipts"])
            .arg(&self.out_dir)
            .output()
            .unwrap();
        let code = output.status.code().unwrap_or(-1);
        // 0 or 1 (something to look at); 2 is bad input, never expected here.
        assert!(
            code == 0 || code == 1,
            "certmend receipts: exit {code}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (code, serde_json::from_slice(&output.stdout).unwrap())
    }

    /// How many times `sc query` was asked.
    fn sc_queries(&self) -> u32 {
        std::fs::read_to_string(&self.sc_counter)
            .map(|t| t.trim().parse().unwrap())
            .unwrap_or(0)
    }

    /// The agent's OfcNTCer.dat becomes `bytes`.
    fn agent_holds_bytes(&self, bytes: &[u8]) {
        std::fs::write(&self.agent_cert, bytes).unwrap();
    }

    /// The last receipt line written on computer `computer` (its own file).
    fn last_receipt_of(&self, computer: &str) -> String {
        let path = self
            .out_dir
            .join("receipts")
            .join(format!("{computer}.txt"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines().last().expect("a receipt").to_string()
    }

    /// The receipt line of the latest run (all runs on one computer).
    fn last_receipt(&self) -> String {
        self.receipts().pop().expect("a receipt")
    }

    fn status(&self) -> String {
        let store = Store::open(&self.db).unwrap();
        store
            .agents(&Default::default())
            .unwrap()
            .into_iter()
            .find(|a| a.name == AGENT)
            .unwrap()
            .status
            .as_str()
            .to_string()
    }
}

/// An administrator: `net session` succeeds.
const ADMIN: (&str, &str) = ("FAKE_NET_SESSION", "ok");

#[test]
fn repairs_with_a_prompted_password_and_checks_afterwards() {
    let _serial = serial();
    let scene = Scene::plain();
    // Typed text is never parsed by cmd.exe, so every special arrives as typed. No `%`:
    // Wine's cmd.exe drops it when expanding "%AGENT_PWD%" (Windows does not).
    let password = "p@ss & ^x !y (z) <a> |b| ;=,";
    let (code, out) = scene.run(
        "repair.cmd",
        &format!("{password}\r\n"),
        &[ADMIN, ("FAKE_IPXFER_PASSWORD", password)],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("REPAIRED"), "{out}");
    assert_eq!(scene.agent_holds(), "new");
    let calls = scene.ipxfer_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].starts_with("IpXfer_x64.exe [-e] ["), "{calls:?}");
    assert!(
        calls[0].ends_with(&format!(r"\OfcNTCer.dat] [-pwd] [{password}]")),
        "{calls:?}"
    );
    let receipts = scene.receipts();
    assert_eq!(field(&receipts[0], "result"), "REPAIRED");
    assert_eq!(field(&receipts[0], "ipxfer_exit"), "0");
    assert_eq!(
        field(&receipts[0], "after").to_uppercase(),
        certmend_sha256(&scene.new_cert)
    );
    assert_eq!(
        field(&receipts[0], "before").to_uppercase(),
        certmend_sha256(&scene.old_cert)
    );
    // The same bytes: the SHA-256 check matched; the thumbprint certutil found is the
    // server's; the agent service answered RUNNING at once.
    assert_eq!(field(&receipts[0], "check"), "sha256");
    assert_eq!(
        field(&receipts[0], "thumbprint").to_uppercase(),
        thumbprint(&scene.new_cert)
    );
    assert_eq!(field(&receipts[0], "service"), "running");
    assert_eq!(field(&receipts[0], "waited"), "0");
    assert_eq!(
        field(&receipts[0], "server"),
        "",
        "seed syntax: no server check"
    );
    assert_eq!(
        scene.sc_queries(),
        2,
        "sc query: is there a service, is it running"
    );
    // This computer is the bundle's agent; the registry has no GUID to compare.
    assert_eq!(field(&receipts[0], "computer"), AGENT);
    assert_eq!(field(&receipts[0], "name_check"), "match");
    assert_eq!(field(&receipts[0], "guid_check"), "absent");
    assert_eq!(field(&receipts[0], "tampered"), "");
    // IpXfer ran from a fresh folder under %SystemRoot%\Temp, with that folder as its
    // current directory and the certificate copied there, which icacls had first made
    // Administrators' and SYSTEM's only (SIDs, no inheritance).
    let (exe, cwd) = scene.ipxfer_where().pop().unwrap();
    let work = cwd.clone();
    let name = work
        .strip_prefix(r"C:\windows\Temp\certmend-")
        .unwrap_or_else(|| panic!("{work}"));
    assert!(
        name.len() >= 4 && name.chars().all(|c| c.is_ascii_digit()),
        "{work}"
    );
    // Windows paths: letter case aside (Wine names the module by the folder on disk,
    // `temp`).
    assert!(
        exe.eq_ignore_ascii_case(&format!(r"{work}\IpXfer_x64.exe")),
        "{exe} {work}"
    );
    assert!(
        calls[0].starts_with(&format!(r"IpXfer_x64.exe [-e] [{work}\OfcNTCer.dat]")),
        "{calls:?}"
    );
    assert_eq!(
        scene.icacls_calls(),
        [format!(
            "icacls [{work}] [/inheritance:r] [/grant:r] [*S-1-5-32-544:(OI)(CI)F] [*S-1-5-18:(OI)(CI)F] [/q]"
        )]
    );

    let (code, report) = scene.read_back();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["applied"][0]["status_before"], "bundle_exported");
    assert_eq!(report["applied"][0]["status_after"], "repaired");
    assert_eq!(scene.status(), "repaired");

    // /check changes nothing and finds the certificate in place.
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("MATCHES"));
    assert_eq!(scene.ipxfer_calls().len(), 1);
    // Reading again applies only the new line.
    let (_, report) = scene.read_back();
    assert_eq!(report["already_read"], 1);
    assert_eq!(report["applied"].as_array().unwrap().len(), 1);
    assert_eq!(report["applied"][0]["result"], "MATCHES");
}

fn certmend_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode_upper(sha2::Sha256::digest(bytes))
}

/// The SHA-1 thumbprint certmend reads from a certificate (DER or PEM).
fn thumbprint(cert: &[u8]) -> String {
    certmend_core::cert::parse(cert)
        .unwrap()
        .info()
        .sha1_thumbprint
        .clone()
}

/// `der` as PEM: base64 in 64-character lines ending in `eol`.
fn pem(der: &[u8], eol: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| n << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut text = format!("-----BEGIN CERTIFICATE-----{eol}");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push_str(eol);
    }
    text.push_str(&format!("-----END CERTIFICATE-----{eol}"));
    // The test's own encoder, checked by certmend's reader: the same certificate.
    assert_eq!(thumbprint(text.as_bytes()), thumbprint(der));
    text.into_bytes()
}

#[test]
fn a_wrong_password_fails_twice_then_reinstall_is_recommended() {
    let _serial = serial();
    let scene = Scene::plain();
    let env = [ADMIN, ("FAKE_IPXFER_PASSWORD", "right")];
    let (code, out) = scene.run("repair.cmd", "wrong\r\n", &env);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("FAILED") && out.contains("reinstall"), "{out}");
    assert_eq!(scene.agent_holds(), "old");
    assert_eq!(field(&scene.receipts()[0], "result"), "IPXFER_FAILED");
    assert_eq!(field(&scene.receipts()[0], "ipxfer_exit"), "5");
    let (code, _) = scene.read_back();
    assert_eq!(code, 1, "a failure is a problem to look at");
    assert_eq!(scene.status(), "repair_failed");

    let (code, _) = scene.run("repair.cmd", "still wrong\r\n", &env);
    assert_eq!(code, 3);
    scene.read_back();
    assert_eq!(scene.status(), "reinstall_recommended");
}

#[test]
fn an_ipxfer_failure_code_is_recorded() {
    let _serial = serial();
    let scene = Scene::plain();
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN, ("FAKE_IPXFER_MODE", "fail")]);
    assert_eq!(code, 3, "{out}");
    let receipt = &scene.receipts()[0];
    assert_eq!(field(receipt, "result"), "IPXFER_FAILED");
    assert_eq!(field(receipt, "ipxfer_exit"), "7");
    // An empty answer at the prompt means no -pwd at all.
    assert!(
        !scene.ipxfer_calls()[0].contains("-pwd"),
        "{:?}",
        scene.ipxfer_calls()
    );
    scene.read_back();
    assert_eq!(scene.status(), "repair_failed");
}

#[test]
fn a_certificate_that_does_not_change_is_caught_despite_exit_0() {
    let _serial = serial();
    let scene = Scene::plain();
    let (code, out) = scene.run(
        "repair.cmd",
        "\r\n",
        &[ADMIN, ("FAKE_IPXFER_MODE", "nochange")],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("still differs"), "{out}");
    let receipt = &scene.receipts()[0];
    assert_eq!(field(receipt, "result"), "CERT_STILL_DIFFERENT");
    assert_eq!(field(receipt, "ipxfer_exit"), "0");
    // Neither check matched; the thumbprint found is the old certificate's.
    assert_eq!(field(receipt, "check"), "none");
    assert_eq!(
        field(receipt, "thumbprint").to_uppercase(),
        thumbprint(&scene.old_cert)
    );
    scene.read_back();
    assert_eq!(scene.status(), "reinstall_recommended");
}

#[test]
fn a_32_bit_windows_gets_ipxfer_exe() {
    let _serial = serial();
    let scene = Scene::plain();
    // Wine forces AMD64; a 32-bit Windows says x86 and sets no PROCESSOR_ARCHITEW6432.
    let (code, out) = scene.run(
        "set PROCESSOR_ARCHITECTURE=x86&& repair.cmd",
        "\r\n",
        &[ADMIN],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        scene.ipxfer_calls()[0].starts_with("IpXfer.exe "),
        "{:?}",
        scene.ipxfer_calls()
    );
    assert_eq!(field(&scene.receipts()[0], "ipxfer"), "IpXfer.exe");
    // A 32-bit cmd on 64-bit Windows: x86, but PROCESSOR_ARCHITEW6432 is set.
    let (code, _) = scene.run(
        "set PROCESSOR_ARCHITECTURE=x86&& set PROCESSOR_ARCHITEW6432=AMD64&& repair.cmd",
        "\r\n",
        &[ADMIN],
    );
    assert_eq!(code, 0);
    assert!(
        scene.ipxfer_calls()[1].starts_with("IpXfer_x64.exe "),
        "{:?}",
        scene.ipxfer_calls()
    );
}

#[test]
fn without_administrator_rights_nothing_changes_and_fltmc_is_the_fallback() {
    let _serial = serial();
    let scene = Scene::plain();
    // Both net session and fltmc refuse: not an administrator.
    let (code, out) = scene.run("repair.cmd", "\r\n", &[]);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("administrator"), "{out}");
    assert!(scene.ipxfer_calls().is_empty());
    assert_eq!(scene.agent_holds(), "old");
    assert_eq!(field(&scene.receipts()[0], "result"), "NOT_ADMIN");
    let (code, report) = scene.read_back();
    assert_eq!(code, 1);
    assert_eq!(report["applied"][0]["status_after"], "bundle_exported");

    // An administrator whose Server service is stopped: net session fails, fltmc works.
    let (code, out) = scene.run("repair.cmd", "\r\n", &[("FAKE_FLTMC", "ok")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(scene.agent_holds(), "new");
    assert_eq!(field(&scene.receipts()[1], "result"), "REPAIRED");
}

#[test]
fn a_stick_path_with_spaces_and_parentheses_works_with_shared_tools() {
    let _serial = serial();
    let scene = Scene::new(
        "repair kits (2026) & more",
        true,
        Password::Prompt,
        IpXferSyntax::Seed,
        ScriptLanguage::En,
    );
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(scene.agent_holds(), "new");
    // The shared tools\IpXfer_x64.exe and the bundle's certificate, checked and used
    // from the work folder.
    let call = &scene.ipxfer_calls()[0];
    let (exe, cwd) = &scene.ipxfer_where()[0];
    assert!(
        exe.eq_ignore_ascii_case(&format!(r"{cwd}\IpXfer_x64.exe")),
        "{exe} {cwd}"
    );
    assert!(
        call.starts_with(&format!(r"IpXfer_x64.exe [-e] [{cwd}\OfcNTCer.dat]")),
        "{call}"
    );
    assert!(scene.out_dir.join("receipts").is_dir());
    scene.read_back();
    assert_eq!(scene.status(), "repaired");
}

#[test]
fn an_embedded_password_with_cmd_specials_arrives_intact() {
    let _serial = serial();
    // No `%` here: Wine's cmd.exe turns the script's `%%` into nothing (Windows makes it
    // `%`, as documented); the byte-level unit tests cover `%%` instead.
    let password = r"p@ss w0rd & ^caret !bang (x) <y> |z| ;=,";
    let scene = Scene::new(
        "stick",
        false,
        Password::Embedded(Zeroizing::new(password.into())),
        IpXferSyntax::Xg {
            server: "apex.example.local".into(),
            http_port: 8080,
            https_port: 4343,
            agent_port: 21112,
        },
        ScriptLanguage::En,
    );
    let (code, out) = scene.run(
        "repair.cmd",
        "",
        &[ADMIN, ("FAKE_IPXFER_PASSWORD", password)],
    );
    assert_eq!(code, 0, "{out}\n{:?}", scene.ipxfer_calls());
    let call = &scene.ipxfer_calls()[0];
    assert!(
        call.starts_with(
            "IpXfer_x64.exe [-s] [apex.example.local] [-p] [8080] [-sp] [4343] [-c] [21112] [-e] ["
        ),
        "{call}"
    );
    assert!(call.ends_with(&format!("[-pwd] [{password}]")), "{call}");
}

#[test]
fn check_reports_a_differing_agent_and_a_missing_one() {
    let _serial = serial();
    let scene = Scene::plain();
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(field(&scene.receipts()[0], "result"), "DIFFERS");
    assert!(scene.ipxfer_calls().is_empty());

    wine(&["reg", "delete", AGENT_KEY, "/f", "/reg:64"]);
    let (code, out) = scene.run("repair.cmd", "", &[ADMIN]);
    assert_eq!(code, 4, "{out}");
    assert_eq!(field(&scene.receipts()[1], "result"), "AGENT_NOT_FOUND");
    let (_, report) = scene.read_back();
    assert_eq!(report["applied"].as_array().unwrap().len(), 2);
    assert_eq!(scene.status(), "bundle_exported");
}

#[test]
fn a_japanese_script_speaks_japanese_in_a_japanese_locale() {
    let _serial = serial();
    let scene = Scene::new(
        "stick",
        false,
        Password::Prompt,
        IpXferSyntax::Seed,
        ScriptLanguage::Ja,
    );
    let script = std::fs::read(scene.bundle_dir.join("repair.cmd")).unwrap();
    assert!(std::str::from_utf8(&script).is_err(), "CP932, not UTF-8");
    let locale = world().locale.to_str().unwrap().to_string();
    let (code, out) = scene.run(
        "repair.cmd",
        "\r\n",
        &[ADMIN, ("LOCPATH", locale.as_str()), ("LANG", "ja_JP.UTF-8")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("修復完了"), "{out}");
    assert_eq!(scene.agent_holds(), "new");
}

/// Trend's check is the certificate's thumbprint, not the file's bytes (KA-0010504):
/// an agent that keeps the server's certificate as PEM holds it. The thumbprint is over
/// the DER, so "same certificate, other bytes" means another encoding of the same DER:
/// PEM, with either line end. A DER file with other bytes is another certificate.
#[test]
fn a_pem_copy_of_the_server_certificate_is_the_same_certificate() {
    let _serial = serial();
    let scene = Scene::plain();
    let expected = thumbprint(&scene.new_cert);

    // /check: the agent holds the server's certificate as PEM with LF line ends.
    let held = pem(&scene.new_cert, "\n");
    scene.agent_holds_bytes(&held);
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("MATCHES") && out.contains("encoded differently"),
        "{out}"
    );
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "MATCHES");
    assert_eq!(field(&receipt, "check"), "thumbprint");
    assert_eq!(field(&receipt, "thumbprint").to_uppercase(), expected);
    assert_eq!(
        field(&receipt, "before").to_uppercase(),
        certmend_sha256(&held),
        "the file's own bytes differ"
    );

    // A repair after which the agent's copy is PEM with CRLF line ends (IpXfer runs and
    // leaves it so): REPAIRED, not CERT_STILL_DIFFERENT.
    scene.agent_holds_bytes(&pem(&scene.new_cert, "\r\n"));
    let (code, out) = scene.run(
        "repair.cmd",
        "\r\n",
        &[ADMIN, ("FAKE_IPXFER_MODE", "nochange")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("REPAIRED"), "{out}");
    assert_eq!(scene.ipxfer_calls().len(), 1);
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "REPAIRED");
    assert_eq!(field(&receipt, "check"), "thumbprint");
    assert_eq!(field(&receipt, "thumbprint").to_uppercase(), expected);
    let (code, report) = scene.read_back();
    assert_eq!(code, 0, "{report}");
    let applied = report["applied"].as_array().unwrap();
    let repaired = applied.iter().find(|a| a["result"] == "REPAIRED").unwrap();
    assert_eq!(repaired["check"], "thumbprint");
    assert_eq!(repaired["thumbprint"], expected.as_str());
    assert_eq!(scene.status(), "repaired");
    // The store keeps what the check found (the event of each receipt read).
    let store = Store::open(&scene.db).unwrap();
    let events = store.events(None).unwrap();
    let read = events
        .iter()
        .filter_map(|e| e.detail.as_ref())
        .find(|d| d["result"] == "REPAIRED")
        .unwrap();
    assert_eq!(read["matched_by"], "thumbprint");
    assert_eq!(read["thumbprint"], expected.as_str());

    // The old certificate as PEM is still another certificate, and its thumbprint is
    // what the receipt records.
    scene.agent_holds_bytes(&pem(&scene.old_cert, "\r\n"));
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 1, "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "DIFFERS");
    assert_eq!(field(&receipt, "check"), "none");
    assert_eq!(
        field(&receipt, "thumbprint").to_uppercase(),
        thumbprint(&scene.old_cert)
    );
}

/// certutil -dump as older Windows prints it (bytes with spaces, no sha256 lines) and
/// with labels repair.cmd does not know (here full-width parentheses, as a translation
/// might have them): the server's thumbprint as a whole value still counts.
#[test]
fn the_thumbprint_is_read_from_older_and_unknown_certutil_formats() {
    let _serial = serial();
    let scene = Scene::plain();
    let expected = thumbprint(&scene.new_cert);
    let legacy = ("FAKE_CERTUTIL_FORMAT", "legacy");
    scene.agent_holds_bytes(&pem(&scene.new_cert, "\r\n"));
    let (code, out) = scene.run("repair.cmd /check", "", &[legacy]);
    assert_eq!(code, 0, "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "check"), "thumbprint");
    assert_eq!(field(&receipt, "thumbprint").to_uppercase(), expected);
    // The spaced value of another certificate is read and recorded, not matched.
    scene.agent_holds_bytes(&scene.old_cert);
    let (code, _) = scene.run("repair.cmd /check", "", &[legacy]);
    assert_eq!(code, 1);
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "check"), "none");
    assert_eq!(
        field(&receipt, "thumbprint").to_uppercase(),
        thumbprint(&scene.old_cert)
    );
    // The SHA-256 of spaced -hashfile output still matches the same bytes.
    scene.agent_holds_bytes(&scene.new_cert);
    let (code, _) = scene.run("repair.cmd /check", "", &[legacy]);
    assert_eq!(code, 0);
    assert_eq!(field(&scene.last_receipt(), "check"), "sha256");

    // Labels the script cannot parse: matched by value; another certificate's
    // thumbprint then cannot be named (the receipt leaves it empty).
    let unknown = ("FAKE_CERTUTIL_FORMAT", "fullwidth");
    scene.agent_holds_bytes(&pem(&scene.new_cert, "\n"));
    let (code, out) = scene.run("repair.cmd /check", "", &[unknown]);
    assert_eq!(code, 0, "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "check"), "thumbprint");
    assert_eq!(field(&receipt, "thumbprint"), expected);
    scene.agent_holds_bytes(&pem(&scene.old_cert, "\n"));
    let (code, _) = scene.run("repair.cmd /check", "", &[unknown]);
    assert_eq!(code, 1);
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "check"), "none");
    assert_eq!(field(&receipt, "thumbprint"), "");
}

/// A Japanese Windows: certutil answers in Japanese, in CP932 (the stand-in follows the
/// Windows UI language, as certutil does), and the Japanese script reads both its
/// -hashfile and its -dump output.
#[test]
fn a_japanese_certutil_is_read_by_a_japanese_script() {
    let _serial = serial();
    let w = world();
    let scene = Scene::new(
        "stick",
        false,
        Password::Prompt,
        IpXferSyntax::Seed,
        ScriptLanguage::Ja,
    );
    let locale = w.locale.to_str().unwrap().to_string();
    let japanese = [("LOCPATH", locale.as_str()), ("LANG", "ja_JP.UTF-8")];

    // What the stand-in prints there, to be sure this test reads Japanese output.
    let mut dump = w.prefix.wine();
    dump.arg(z_path(&w.tools.join("certutil.exe")))
        .arg("-dump")
        .arg(format!("{}OfcNTCer.dat", scene.agent_windows_dir));
    for (k, v) in japanese {
        dump.env(k, v);
    }
    let printed = w
        .prefix
        .run(&mut dump, None, Duration::from_secs(60), "certutil -dump");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&printed.stdout);
    assert!(!bad, "CP932: {}", printed.describe());
    assert!(
        text.contains(&format!(
            "証明書のハッシュ(sha1): {}",
            thumbprint(&scene.old_cert).to_lowercase()
        )),
        "{text}"
    );
    assert!(text.contains("CertUtil: -dump コマンドは正常に完了しました。"));

    // Same bytes (Japanese -hashfile), then PEM (Japanese -dump).
    scene.agent_holds_bytes(&scene.new_cert);
    let (code, out) = scene.run("repair.cmd /check", "", &japanese);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("一致"), "{out}");
    assert_eq!(field(&scene.last_receipt(), "check"), "sha256");
    scene.agent_holds_bytes(&pem(&scene.new_cert, "\r\n"));
    let (code, out) = scene.run("repair.cmd /check", "", &japanese);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("同じ証明書"), "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "check"), "thumbprint");
    assert_eq!(
        field(&receipt, "thumbprint").to_uppercase(),
        thumbprint(&scene.new_cert)
    );
}

/// IpXfer restarts the agent service (KA-0006149): the script waits until `sc query
/// ntrtscan` says RUNNING (here after STOPPED and START_PENDING), then checks; a service
/// that cannot be queried is not waited for.
#[test]
fn a_slow_agent_service_is_waited_for() {
    let _serial = serial();
    let scene = Scene::plain();
    // Queries 1-3 are not RUNNING: the existence check and two polls, then RUNNING.
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN, ("FAKE_SC_PENDING", "3")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Waiting for the agent service"), "{out}");
    assert_eq!(scene.sc_queries(), 4);
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "service"), "running");
    assert_eq!(field(&receipt, "waited"), "2");
    assert_eq!(field(&receipt, "result"), "REPAIRED");

    // No such service: no wait at all.
    let (code, out) = scene.run(
        "repair.cmd",
        "\r\n",
        &[ADMIN, ("FAKE_SC_SERVICE", "absent")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Waiting"), "{out}");
    assert_eq!(scene.sc_queries(), 5, "asked once");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "service"), "absent");
    assert_eq!(field(&receipt, "waited"), "0");
    scene.read_back();
    assert_eq!(scene.status(), "repaired");
}

/// With the XG syntax the agent's registry value Server is compared with `-s`: the
/// certificate decides the repair, a different server is a warning the receipts report.
#[test]
fn the_xg_syntax_checks_the_server_named_in_the_agents_registry() {
    let _serial = serial();
    let scene = Scene::new(
        "stick",
        false,
        Password::Prompt,
        IpXferSyntax::Xg {
            server: "apex.example.local".into(),
            http_port: 8080,
            https_port: 4343,
            agent_port: 21112,
        },
        ScriptLanguage::En,
    );
    let server = |value: &str| {
        world()
            .prefix
            .set_reg_string(View::Bits32, AGENT_KEY, "Server", value)
    };
    server("APEX.example.local");
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    assert_eq!(field(&scene.last_receipt(), "server"), "match");
    let (code, report) = scene.read_back();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["applied"][0]["server"], "match");

    server("old-apex.example.local");
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("WARNING") && out.contains("MATCHES"), "{out}");
    assert_eq!(field(&scene.last_receipt(), "server"), "differs");
    let (code, report) = scene.read_back();
    assert_eq!(code, 1, "something to look at: {report}");
    assert_eq!(report["applied"][0]["server"], "differs");
    assert_eq!(scene.status(), "repaired");

    wine(&["reg", "delete", AGENT_KEY, "/v", "Server", "/f", "/reg:32"]);
    let (code, _) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 0);
    assert_eq!(field(&scene.last_receipt(), "server"), "missing");
}

/// The certificate's names (in certutil's dump) and the registry are the agent's text:
/// none of it may run, however it is quoted.
#[test]
fn text_from_the_agent_never_runs_as_code() {
    let _serial = serial();
    let w = world();
    let marker = |n: u32| w.prefix.drive_c().join(format!("injected-{n}.txt"));
    let attack = |n: u32| {
        format!(
            r#"CN=x(sha1): " & echo INJECTED>C:\injected-{n}.txt & " %PATH% ^& !x! (sha1): ) & echo INJECTED>C:\injected-{n}.txt"#
        )
    };
    let scene = Scene::new(
        "stick",
        false,
        Password::Prompt,
        IpXferSyntax::Xg {
            server: "apex.example.local".into(),
            http_port: 8080,
            https_port: 4343,
            agent_port: 21112,
        },
        ScriptLanguage::En,
    );
    scene.agent_holds_bytes(&pem(&scene.new_cert, "\r\n"));
    w.prefix
        .set_reg_string(View::Bits64, AGENT_KEY, "Server", &attack(3));
    let subject = attack(1);
    let subject_last = attack(2);
    // The hostile line in the subject (before the hash lines, as certutil prints it),
    // then also after them, where it is the last "(sha1)" line the script reads.
    for (env, n) in [
        (vec![("FAKE_CERTUTIL_SUBJECT", subject.as_str())], 1),
        (
            vec![
                ("FAKE_CERTUTIL_SUBJECT", subject_last.as_str()),
                ("FAKE_CERTUTIL_SUBJECT_LAST", "1"),
            ],
            2,
        ),
    ] {
        let (code, out) = scene.run("repair.cmd /check", "", &env);
        assert_eq!(code, 0, "{out}");
        assert!(!out.contains("INJECTED"), "{out}");
        assert!(!marker(n).exists(), "the dump's text ran");
        let receipt = scene.last_receipt();
        assert_eq!(field(&receipt, "check"), "thumbprint", "{receipt}");
        assert_eq!(
            field(&receipt, "thumbprint").to_uppercase(),
            thumbprint(&scene.new_cert)
        );
        assert_eq!(field(&receipt, "server"), "differs");
    }
    assert!(!marker(3).exists(), "the registry's text ran");
    wine(&["reg", "delete", AGENT_KEY, "/v", "Server", "/f", "/reg:64"]);
}

/// A PC that can write to the stick swaps IpXfer (one file for every bundle with
/// --shared-tools) or the certificate: repair.cmd runs nothing, changes nothing, says
/// which file in a BUNDLE_TAMPERED receipt, and removes its work folder. Put back, the
/// same bundle repairs: the refusal came from the swap.
#[test]
fn a_swapped_ipxfer_or_certificate_on_the_stick_is_never_run() {
    let _serial = serial();
    let scene = Scene::plain();
    let x64 = scene.bundle_dir.join("IpXfer_x64.exe");
    let x86 = scene.bundle_dir.join("IpXfer.exe");
    let cert = scene.bundle_dir.join("OfcNTCer.dat");
    let original_x64 = std::fs::read(&x64).unwrap();
    let original_x86 = std::fs::read(&x86).unwrap();

    // Another program in IpXfer_x64.exe's place (it would log its run as IpXfer.exe).
    std::fs::write(&x64, &original_x86).unwrap();
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("IpXfer_x64.exe: STOPPED"), "{out}");
    assert!(
        scene.ipxfer_calls().is_empty(),
        "{:?}",
        scene.ipxfer_calls()
    );
    assert_eq!(scene.agent_holds(), "old");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "BUNDLE_TAMPERED");
    assert_eq!(field(&receipt, "tampered"), "IpXfer_x64.exe");
    assert_eq!(field(&receipt, "ipxfer_exit"), "");
    assert_eq!(
        scene.icacls_calls().len(),
        1,
        "the work folder was made, then removed"
    );

    // A 32-bit Windows checks IpXfer.exe.
    std::fs::write(&x64, &original_x64).unwrap();
    std::fs::write(&x86, &original_x64).unwrap();
    let (code, out) = scene.run(
        "set PROCESSOR_ARCHITECTURE=x86&& repair.cmd",
        "\r\n",
        &[ADMIN],
    );
    assert_eq!(code, 7, "{out}");
    assert_eq!(field(&scene.last_receipt(), "tampered"), "IpXfer.exe");
    assert!(scene.ipxfer_calls().is_empty());
    std::fs::write(&x86, &original_x86).unwrap();

    // A certificate the attacker chose (here the old one) in OfcNTCer.dat's place.
    std::fs::write(&cert, &scene.old_cert).unwrap();
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 7, "{out}");
    assert!(out.contains("OfcNTCer.dat: STOPPED"), "{out}");
    assert_eq!(field(&scene.last_receipt(), "tampered"), "OfcNTCer.dat");
    assert!(scene.ipxfer_calls().is_empty());
    assert_eq!(scene.agent_holds(), "old");

    // certmend reads the refusals and changes no status.
    let (code, report) = scene.read_back();
    assert_eq!(code, 1, "{report}");
    assert_eq!(scene.status(), "bundle_exported");

    // Put back: the same bundle repairs.
    std::fs::write(&cert, &scene.new_cert).unwrap();
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(scene.ipxfer_calls().len(), 1);
    assert_eq!(scene.agent_holds(), "new");
}

/// With --shared-tools one tools\IpXfer_x64.exe serves every bundle on the stick: a
/// swapped one is refused by each of them.
#[test]
fn a_swapped_shared_ipxfer_is_never_run() {
    let _serial = serial();
    let scene = Scene::new(
        "stick",
        true,
        Password::Prompt,
        IpXferSyntax::Seed,
        ScriptLanguage::En,
    );
    let shared = scene.out_dir.join("tools/IpXfer_x64.exe");
    let mut bytes = std::fs::read(&shared).unwrap();
    // One byte changed in the program's padding: still a program, no longer the one
    // certmend wrote.
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    std::fs::write(&shared, &bytes).unwrap();
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 7, "{out}");
    assert_eq!(field(&scene.last_receipt(), "tampered"), "IpXfer_x64.exe");
    assert!(scene.ipxfer_calls().is_empty());
    assert_eq!(scene.agent_holds(), "old");
}

/// An infected PC drops a version.dll beside the stick's IpXfer (Windows loads a DLL
/// from the program's folder first): repair.cmd runs its checked copy from an
/// admin-only folder, so the DLL is never loaded. Run from the stick, the same IpXfer
/// does load it: the test can fail.
#[test]
fn a_dll_planted_beside_the_sticks_ipxfer_is_not_loaded() {
    let _serial = serial();
    let w = world();
    let scene = Scene::plain();
    for dir in [scene.bundle_dir.clone(), scene.out_dir.clone()] {
        std::fs::copy(&w.planted_dll, dir.join("version.dll")).unwrap();
    }
    let marker = scene.out_dir.join("planted-dll-loaded.txt");
    let marker_env = z_path(&marker);
    let planted = ("FAKE_PLANTED_MARKER", marker_env.as_str());
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN, planted]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(scene.agent_holds(), "new");
    assert_eq!(scene.ipxfer_calls().len(), 1);
    assert!(
        !marker.exists(),
        "the planted DLL was loaded: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );

    // The stick's own copy, started where it lies, loads the planted DLL.
    let mut direct = w.prefix.wine();
    direct
        .current_dir(&scene.bundle_dir)
        .arg(z_path(&scene.bundle_dir.join("IpXfer_x64.exe")))
        .env("WINEDLLOVERRIDES", stand_in_overrides())
        .env("FAKE_IPXFER_MODE", "nochange")
        .env("FAKE_PLANTED_MARKER", &marker_env);
    let ran = w.prefix.run(
        &mut direct,
        None,
        Duration::from_secs(60),
        "IpXfer_x64.exe from the stick",
    );
    assert_eq!(ran.code, Some(0), "{}", ran.describe());
    let loaded =
        std::fs::read_to_string(&marker).expect("run from the stick, the planted DLL loads");
    assert!(loaded.contains(r"\PC-ACCT-017\IpXfer_x64.exe"), "{loaded}");
}

/// Until icacls has replaced the folder's access list, it has the Temp folder's
/// (users may add files): a file planted in that moment stops the run, and so does an
/// icacls that fails. Nothing runs; the folder is removed.
#[test]
fn a_work_folder_that_is_not_admin_only_and_empty_stops_the_run() {
    let _serial = serial();
    let scene = Scene::plain();
    for mode in ["plant", "fail"] {
        let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN, ("FAKE_ICACLS_MODE", mode)]);
        assert_eq!(code, 7, "{mode}: {out}");
        assert!(
            out.contains("could not make a folder only administrators can write"),
            "{out}"
        );
        let receipt = scene.last_receipt();
        assert_eq!(field(&receipt, "result"), "BUNDLE_TAMPERED");
        assert_eq!(field(&receipt, "tampered"), "work_folder");
        assert!(scene.ipxfer_calls().is_empty(), "{mode}");
        assert_eq!(scene.agent_holds(), "old");
    }
    assert_eq!(scene.icacls_calls().len(), 2);
}

/// A bundle run on another computer, by mistake or by a survey from the wrong folder,
/// changes nothing and reports WRONG_COMPUTER, with /check too; a computer name full of
/// receipt separators and cmd metacharacters neither runs nor adds a field.
#[test]
fn the_wrong_computer_changes_nothing() {
    let _serial = serial();
    let scene = Scene::plain();
    let (code, out) = scene.run_on("PC-ACCT-018", "repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("this bundle is for another computer"), "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "WRONG_COMPUTER");
    assert_eq!(field(&receipt, "computer"), "PC-ACCT-018");
    assert_eq!(field(&receipt, "name_check"), "differs");
    assert!(scene.ipxfer_calls().is_empty());
    assert!(scene.icacls_calls().is_empty(), "not even a work folder");
    assert_eq!(scene.agent_holds(), "old");

    // A survey with /check from this folder on a computer that does hold the server's
    // certificate: WRONG_COMPUTER, not MATCHES, and the agent stays to be repaired.
    scene.agent_holds_bytes(&scene.new_cert);
    let (code, out) = scene.run_on("PC-ACCT-018", "repair.cmd /check", "", &[]);
    assert_eq!(code, 8, "{out}");
    assert!(!out.contains("MATCHES"), "{out}");
    assert_eq!(
        field(&scene.last_receipt_of("PC-ACCT-018"), "result"),
        "WRONG_COMPUTER"
    );
    let (code, report) = scene.read_back();
    assert_eq!(code, 1, "{report}");
    assert_eq!(scene.status(), "bundle_exported");

    // Separators and metacharacters a NetBIOS name may hold: one receipt line, the
    // whole name in its computer field, nothing run.
    scene.agent_holds_bytes(&scene.old_cert);
    let hostile = "EVIL;result=REPAIRED;x=(1)";
    let (code, out) = scene.run_on(
        &format!("{hostile}^&echo INJECTED"),
        "repair.cmd",
        "\r\n",
        &[ADMIN],
    );
    assert_eq!(code, 8, "{out}");
    assert!(!out.contains("INJECTED"), "{out}");
    let file = std::fs::read_dir(scene.out_dir.join("receipts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("EVIL"))
        .expect("a receipts file named after the computer");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(field(&text, "computer"), format!("{hostile}&echo INJECTED"));
    assert_eq!(field(&text, "result"), "WRONG_COMPUTER");
    let parsed = certmend_core::receipts::parse_line(text.lines().next().unwrap()).unwrap();
    assert_eq!(parsed.computer, format!("{hostile}&echo INJECTED"));
    assert_eq!(
        parsed.result,
        certmend_core::receipts::ReceiptResult::WrongComputer
    );
    assert!(scene.ipxfer_calls().is_empty());
    scene.read_back();
    assert_eq!(scene.status(), "bundle_exported");

    // The bundle's own computer, its name in any letter case (as Windows compares
    // them), holding the server's certificate: MATCHES, and that does count.
    scene.agent_holds_bytes(&scene.new_cert);
    let (code, out) = scene.run_on("pc-acct-017", "repair.cmd /check", "", &[]);
    assert_eq!(code, 0, "{out}");
    let receipt = scene.last_receipt_of("pc-acct-017");
    assert_eq!(field(&receipt, "name_check"), "match");
    assert_eq!(field(&receipt, "result"), "MATCHES");
    scene.read_back();
    assert_eq!(scene.status(), "repaired");
}

/// The agent's registry value GUID names another agent: WRONG_COMPUTER, nothing
/// changed. The same GUID with braces in lower case, in the 32-bit view, is a match.
#[test]
fn a_guid_mismatch_changes_nothing() {
    let _serial = serial();
    let w = world();
    let scene = Scene::plain();
    let set_guid =
        |view: View, value: &str| w.prefix.set_reg_string(view, AGENT_KEY, "GUID", value);
    set_guid(View::Bits64, "{00000000-1111-2222-3333-444444444444}");
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 8, "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "result"), "WRONG_COMPUTER");
    assert_eq!(field(&receipt, "name_check"), "match");
    assert_eq!(field(&receipt, "guid_check"), "differs");
    assert!(scene.ipxfer_calls().is_empty());
    assert_eq!(scene.agent_holds(), "old");
    let (code, out) = scene.run("repair.cmd /check", "", &[]);
    assert_eq!(code, 8, "{out}");

    wine(&["reg", "delete", AGENT_KEY, "/v", "GUID", "/f", "/reg:64"]);
    set_guid(View::Bits32, &format!("{{{}}}", scene.guid.to_lowercase()));
    let (code, out) = scene.run("repair.cmd", "\r\n", &[ADMIN]);
    assert_eq!(code, 0, "{out}");
    let receipt = scene.last_receipt();
    assert_eq!(field(&receipt, "guid_check"), "match");
    assert_eq!(field(&receipt, "result"), "REPAIRED");
    assert_eq!(scene.agent_holds(), "new");
    wine(&["reg", "delete", AGENT_KEY, "/v", "GUID", "/f", "/reg:32"]);
}
