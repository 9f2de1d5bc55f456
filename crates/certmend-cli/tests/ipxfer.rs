#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of how `certmend` chooses IpXfer's command line: `--ipxfer-syntax
//! auto` (the default) follows the server's version, which only the Windows registry
//! gives (`tests/wine/tests/windows_cli.rs` covers that); here, on a copied folder, the
//! version is unknown and says so, the admin's choice is kept and recorded, and an XG
//! value ofcscan.ini lacks is asked for, never guessed.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use common::{json, one_line_error, run, verify_bundle, write_demo, DEMO_LIST};

struct Env {
    _tmp: tempfile::TempDir,
    install: PathBuf,
    db: PathBuf,
    out: PathBuf,
}

impl Env {
    /// A demo server with its list imported.
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("drive");
        let install = write_demo(&root, 5, &tmp.path().join("demo.sqlite3"));
        let env = Env {
            db: tmp.path().join("state.sqlite3"),
            out: tmp.path().join("stick"),
            install,
            _tmp: tmp,
        };
        let mut import = env.cmd();
        import
            .args(["--json", "import"])
            .arg(root.join(DEMO_LIST))
            .arg("--server")
            .arg(&env.install);
        run(&mut import, 0);
        env
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        cmd.env_remove("CERTMEND_DB").arg("--db").arg(&self.db);
        cmd
    }

    fn bundle(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.cmd();
        cmd.args(["--json", "bundle", "--server"])
            .arg(&self.install)
            .arg("--out")
            .arg(&self.out)
            .args(["--agent", "PC-ACCT-017"])
            .args(args);
        cmd.output().unwrap()
    }

    fn ini(&self) -> PathBuf {
        self.install.join("PCCSRV/ofcscan.ini")
    }
}

fn script_of(report: &Value) -> String {
    let folder = Path::new(report["bundles"][0]["folder"].as_str().unwrap());
    fs::read_to_string(folder.join("repair.cmd")).unwrap()
}

fn manifest_of(report: &Value) -> Value {
    verify_bundle(Path::new(report["bundles"][0]["folder"].as_str().unwrap()))
}

#[test]
fn detect_and_server_show_say_the_version_is_unknown_without_a_registry() {
    let env = Env::new();
    let mut show = env.cmd();
    show.args(["server", "show"]).arg(&env.install);
    let text = String::from_utf8(run(&mut show, 0).stdout).unwrap();
    assert!(
        text.contains(
            "\n  Version  unknown (no registry key names this folder: not on Windows, or a copied folder)\n"
        ),
        "{text}"
    );
    let mut detect = env.cmd();
    detect
        .args(["--json", "detect", "--root"])
        .arg(&env.install);
    let doc = json(&run(&mut detect, 0));
    assert_eq!(
        doc["servers"][0]["version"],
        serde_json::json!({"server_version": null, "service_pack_build": null, "registry_key": null})
    );
}

#[test]
fn auto_without_a_version_writes_the_seed_form_and_says_why() {
    let env = Env::new();
    let output = env.bundle(&[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = json(&output);
    assert_eq!(report["ipxfer"]["syntax"], "seed");
    assert_eq!(report["ipxfer"]["reason"], "no_version");
    assert_eq!(report["ipxfer"]["follows_version"], true);
    let script = script_of(&report);
    assert!(
        script.contains("\"%WORK%\\%IPXFER%\" -e \"%WORK%\\OfcNTCer.dat\""),
        "{script}"
    );
    assert!(!script.contains(" -sp "), "{script}");
    let manifest = manifest_of(&report);
    assert_eq!(manifest["options"]["ipxfer_syntax"]["form"], "seed");
    assert_eq!(manifest["options"]["ipxfer_choice"], report["ipxfer"]);

    // The same in text: which syntax, and why.
    fs::remove_dir_all(&env.out).unwrap();
    let mut cmd = env.cmd();
    cmd.args(["bundle", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(&env.out)
        .args(["--agent", "PC-ACCT-017"]);
    let text = String::from_utf8(run(&mut cmd, 0).stdout).unwrap();
    assert!(
        text.contains("IpXfer syntax: seed: the server's version is unknown (no Server_Version read from the registry): no source to choose by, so the seed form.\n"),
        "{text}"
    );
}

#[test]
fn the_admins_xg_choice_takes_ofcscan_ini_values_and_is_recorded_as_a_choice() {
    let env = Env::new();
    let output = env.bundle(&["--ipxfer-syntax", "xg"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = json(&output);
    assert_eq!(report["ipxfer"]["syntax"], "xg");
    assert_eq!(report["ipxfer"]["default"], "seed");
    assert_eq!(report["ipxfer"]["follows_version"], false);
    assert!(report["ipxfer"]["explanation"]
        .as_str()
        .unwrap()
        .starts_with("xg chosen by the admin; the server's version calls for seed"));
    let script = script_of(&report);
    assert!(
        script.contains("-s \"demo-apexone.example.local\" -p 8080 -sp 4343 -c 21112 -e "),
        "{script}"
    );
    let manifest = manifest_of(&report);
    assert_eq!(
        manifest["options"]["ipxfer_syntax"],
        serde_json::json!({"form": "xg", "server": "demo-apexone.example.local", "http_port": 8080, "https_port": 4343, "agent_port": 21112})
    );
    assert_eq!(
        manifest["options"]["ipxfer_choice"]["follows_version"],
        false
    );
}

#[test]
fn an_xg_value_ofcscan_ini_lacks_is_asked_for_and_a_given_one_is_used() {
    let env = Env::new();
    // A server whose ofcscan.ini has no HTTPS port (the key is undocumented).
    let ini = fs::read_to_string(env.ini()).unwrap();
    let without: String = ini
        .lines()
        .filter(|l| !l.starts_with("Master_DomainSSLPort"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_ne!(without, ini);
    fs::write(env.ini(), without).unwrap();

    let output = env.bundle(&["--ipxfer-syntax", "xg"]);
    let line = one_line_error(&output, "bundle.xg_value_missing");
    assert!(line.contains("give --https-port"), "{line}");
    assert!(
        line.contains("Master_DomainSSLPort (a key no public Trend source documents)"),
        "{line}"
    );
    assert!(!env.out.exists(), "nothing written");

    let output = env.bundle(&["--ipxfer-syntax", "xg", "--https-port", "4443"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let script = script_of(&json(&output));
    assert!(script.contains(" -p 8080 -sp 4443 -c 21112 "), "{script}");

    // A typed server name wins over ofcscan.ini's; one cmd.exe would act on is refused.
    let output = env.bundle(&[
        "--ipxfer-syntax",
        "xg",
        "--https-port",
        "4443",
        "--ipxfer-server",
        "apex.corp.example",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(script_of(&json(&output)).contains("-s \"apex.corp.example\" "));
    let output = env.bundle(&[
        "--ipxfer-syntax",
        "xg",
        "--https-port",
        "4443",
        "--ipxfer-server",
        "a&calc",
    ]);
    one_line_error(&output, "script.bad_server");
}

#[test]
fn an_unknown_syntax_is_a_usage_error() {
    let env = Env::new();
    let output = env.bundle(&["--ipxfer-syntax", "officescan11"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("[possible values: auto, seed, xg]"),
        "{stderr}"
    );
}
