#![allow(clippy::unwrap_used, clippy::expect_used)]
// Wine runs on Linux: the suite drives Windows programs from there.
#![cfg(target_os = "linux")]
//! Generated repair.cmd scripts run in a real cmd.exe (Wine), with test stand-ins for
//! IpXfer, certutil and fltmc built from `c/` with mingw-w64. Each test exports real
//! bundles with certmend-core, runs one script as an admin would, then reads the
//! receipts back with the `certmend receipts` command and checks the agent's status.
//!
//! Run by `cargo xtask test` (it installs wine64 and mingw-w64 and passes the CLI's
//! path in CERTMEND_BIN). Where Wine differs from Windows (see shared TESTING.md), the
//! script's text is covered by byte-level unit tests in certmend-core instead: Wine's
//! `net session` always succeeds and cannot be replaced on PATH, so a stand-in is put in
//! the bundle folder (cmd.exe looks there first); Wine's cmd.exe drops `%` from `%%` and
//! from expanded values, reads all of piped stdin in one `set /p`, and lacks `!V:~n!` and
//! `!V:a=b!`, so the typed-password checks (double quote, trailing backslash) and `%` in
//! passwords are covered by certmend-core's byte-level tests only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use certmend_core::bundle::{self, ExportOptions, Selection};
use certmend_core::progress::{Cancel, NoProgress};
use certmend_core::script::{IpXferSyntax, Password, ScriptLanguage};
use certmend_core::store::Store;
use certmend_core::{demo, inventory};
use certmend_wine_tests::{build_agent_stand_ins, japanese_locale, serial, z_path, WinePrefix};
use serde_json::Value;
use zeroize::Zeroizing;

const AGENT_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\PC-cillinNTCorp\CurrentVersion";

/// This binary's Wine prefix and the stand-ins, made afresh once per test run under the
/// target folder (see certmend_wine_tests::WinePrefix).
struct WineWorld {
    prefix: WinePrefix,
    tools: PathBuf,
    locale: PathBuf,
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

        // Stand-ins Wine lacks (certutil prints nothing there, fltmc is missing) go on
        // WINEPATH (C:\shims, set for script runs); IpXfer comes with the bundles.
        let shims = prefix.drive_c().join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        for tool in ["certutil.exe", "fltmc.exe"] {
            std::fs::copy(tools.join(tool), shims.join(tool)).unwrap();
        }
        let locale = japanese_locale(&root.join("locale"));
        WineWorld {
            prefix,
            tools,
            locale,
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

    /// Runs `cmd /c <command>` in the bundle folder, `stdin` typed at its prompt.
    fn run(&self, command: &str, stdin: &str, env: &[(&str, &str)]) -> (i32, String) {
        let w = world();
        // Wine's own `net session` always succeeds and cannot be replaced on PATH, but
        // cmd.exe looks in the current folder first: the stand-in answers there.
        std::fs::copy(w.tools.join("net.exe"), self.bundle_dir.join("net.exe")).unwrap();
        let mut cmd = w.prefix.wine();
        cmd.current_dir(&self.bundle_dir)
            .args(["cmd", "/c", command])
            .env("WINEPATH", r"C:\shims")
            .env("FAKE_IPXFER_LOG", z_path(&self.log))
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
        (out.code.unwrap_or(-1), text)
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
        (
            output.status.code().unwrap_or(-1),
            serde_json::from_slice(&output.stdout).unwrap(),
        )
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
    }
}

fn field<'a>(receipt: &'a str, key: &str) -> &'a str {
    receipt
        .split(';')
        .find_map(|f| f.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} not in {receipt}"))
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
    let call = &scene.ipxfer_calls()[0];
    assert!(
        call.contains(r"repair kits (2026) & more\PC-ACCT-017\OfcNTCer.dat]"),
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
