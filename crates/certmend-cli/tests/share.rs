#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of `certmend bundle --for share`: DEPLOY.txt, set-permissions.cmd and
//! the schtasks lines name this export's exact paths (a share path with spaces and a
//! Japanese folder name), hostile agent names never reach a command line, a stick
//! export writes none of these files, and `bundle verify` knows them as certmend's own.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use common::{json, list_csv, one_line_error, run, write_demo};

const SHARE: &str = "\\\\fs01\\IT Share\\証明書 修復";

struct Env {
    tmp: tempfile::TempDir,
    install: PathBuf,
    db: PathBuf,
}

impl Env {
    fn new(names: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let install = write_demo(
            &tmp.path().join("drive"),
            1,
            &tmp.path().join("demo.sqlite3"),
        );
        let env = Env {
            db: tmp.path().join("state.sqlite3"),
            tmp,
            install,
        };
        let list = env.tmp.path().join("list.csv");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        fs::write(&list, list_csv(&names)).unwrap();
        let mut cmd = env.cmd();
        cmd.args(["--json", "import"])
            .arg(&list)
            .arg("--server")
            .arg(&env.install);
        run(&mut cmd, 0);
        env
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        cmd.env_remove("CERTMEND_DB")
            .env_remove("CERTMEND_AGENT_PASSWORD")
            .arg("--db")
            .arg(&self.db);
        cmd
    }

    fn bundle(&self, out: &Path, args: &[&str], code: i32) -> std::process::Output {
        let mut cmd = self.cmd();
        cmd.args(["--json", "bundle", "--server"])
            .arg(&self.install)
            .arg("--out")
            .arg(out)
            .arg("--all-mismatched")
            .args(args);
        run(&mut cmd, code)
    }
}

const HOSTILE: [&str; 5] = [
    "EVIL\" & calc.exe & \"",
    "PC%COMSPEC%",
    "a^b|c>d",
    "営業部のPC",
    "PC-X & del /q *",
];

#[test]
fn a_share_export_names_its_exact_paths_and_keeps_hostile_names_out_of_commands() {
    let env = Env::new(&[&["PC-ACCT-017", "pc-dev-024"][..], &HOSTILE[..]].concat());
    let out = env.tmp.path().join("exports").join("証明書 修復");
    let report: Value = json(&env.bundle(&out, &["--for", "share", "--share-path", SHARE], 0));
    let deploy = &report["deploy"];
    assert_eq!(deploy["share_path"], SHARE, "{report}");
    assert_eq!(deploy["entry"], format!("{SHARE}\\repair.cmd /quiet"));
    assert_eq!(
        deploy["scheduled"],
        serde_json::json!(["PC-ACCT-017", "PC-DEV-024"])
    );
    assert_eq!(deploy["skipped"].as_array().unwrap().len(), HOSTILE.len());

    let bytes = fs::read(out.join("DEPLOY.txt")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM");
    let text = String::from_utf8(bytes).unwrap();
    let folder = out.to_string_lossy();
    for needed in [
        format!("Share path the computers use: {SHARE}"),
        format!("Script Name:       {SHARE}\\repair.cmd"),
        format!("{SHARE}\\receipts\\"),
        format!("\"{folder}\\set-permissions.cmd\""),
        format!("certmend receipts \"{SHARE}\""),
        "Computer Configuration > Policies > Windows Settings > Scripts (Startup/Shutdown)".into(),
        "コンピューターの構成 > ポリシー > Windows の設定 > スクリプト (スタートアップ/シャットダウン)".into(),
    ] {
        assert!(text.contains(&needed), "{needed} not in:\n{text}");
    }
    // One schtasks line per listed computer, in each language, and none for another name.
    let tasks: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("schtasks /create"))
        .collect();
    assert_eq!(tasks.len(), 4, "{tasks:#?}");
    for computer in ["PC-ACCT-017", "PC-DEV-024"] {
        let line = format!(
            "schtasks /create /s {computer} /ru SYSTEM /sc once /st 23:59 /tn certmend-repair /tr \"\\\"{SHARE}\\repair.cmd\\\" /quiet\" /f && schtasks /run /s {computer} /tn certmend-repair"
        );
        assert_eq!(tasks.iter().filter(|t| **t == line).count(), 2, "{line}");
    }
    // Hostile names: listed as skipped, escaped on one line, in no command.
    for line in text.lines() {
        let command = ["schtasks", "icacls", "New-SmbShare", "net share"]
            .iter()
            .any(|c| line.trim_start().starts_with(c));
        for name in HOSTILE {
            assert!(!(command && line.contains(name)), "{line}");
        }
    }
    assert!(
        text.contains("\"EVIL\\\" & calc.exe & \\\"\""),
        "escaped:\n{text}"
    );

    let script = fs::read_to_string(out.join("set-permissions.cmd")).unwrap();
    assert!(script.contains("chcp 65001 >nul\r\n"));
    assert!(
        script.contains(&format!("set \"CM_ROOT={folder}\"\r\n")),
        "{script}"
    );
    for name in HOSTILE {
        assert!(!script.contains(name));
    }

    // bundle verify knows the root files; a link put in the place of one is named.
    let mut cmd = env.cmd();
    cmd.args(["--json", "bundle", "verify"]).arg(&out);
    let check = json(&run(&mut cmd, 0));
    assert_eq!(check["findings"], serde_json::json!([]), "{check}");
    #[cfg(unix)]
    {
        fs::remove_file(out.join("DEPLOY.txt")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", out.join("DEPLOY.txt")).unwrap();
        let mut cmd = env.cmd();
        cmd.args(["--json", "bundle", "verify"]).arg(&out);
        let check = json(&run(&mut cmd, 1));
        assert_eq!(check["findings"][0]["code"], "bundle_check.link", "{check}");
    }
}

#[test]
fn a_stick_export_writes_no_deployment_files() {
    let env = Env::new(&["PC-ACCT-017"]);
    let out = env.tmp.path().join("stick");
    let report = json(&env.bundle(&out, &[], 0));
    assert!(report["deploy"].is_null(), "{report}");
    let report = json(&env.bundle(&out, &["--for", "stick"], 0));
    assert!(report["deploy"].is_null(), "{report}");
    for name in ["DEPLOY.txt", "set-permissions.cmd"] {
        assert!(!out.join(name).exists(), "{name}");
    }
}

#[test]
fn a_share_export_needs_a_share_path_it_can_write_into_commands() {
    let env = Env::new(&["PC-ACCT-017"]);
    let out = env.tmp.path().join("share");
    let output = env.bundle(&out, &["--for", "share"], 2);
    let line = one_line_error(&output, "bundle.share_path_missing");
    assert!(line.contains("--share-path"), "{line}");
    let output = env.bundle(
        &out,
        &["--for", "share", "--share-path", "\\\\fs01\\a&calc"],
        2,
    );
    one_line_error(&output, "bundle.share_path_invalid");
    assert!(!out.exists(), "nothing written");
    let output = env.bundle(&out, &["--share-path", SHARE], 2);
    one_line_error(&output, "usage.bundle");
}
