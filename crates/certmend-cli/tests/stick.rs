#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of a stick that every PC it visits can write to (issue 14): each one
//! tries an attack and shows that nothing happened.
//!
//! - `bundle verify`: a swapped IpXfer (in a bundle and in the shared `tools\`), a DLL
//!   planted beside it, a removed file, a bundle certmend never wrote, links; the same
//!   findings when the stick is read back (`receipts`) and exported to again.
//! - `receipts`: lines forged for another agent's bundle, with another certificate,
//!   from the wrong computer; `BUNDLE_TAMPERED` / `WRONG_COMPUTER`; a receipts file that
//!   is a link, or huge; a status a receipt set shows its source, and a newer list
//!   overrides it.
//!
//! Every test has its own demo server, database and stick; hashes are recomputed here.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use common::{
    bundle_ids, json, one_line_error, receipt, run, sha256_hex, write_demo, DEMO_LIST, SERVER_CERT,
    SERVER_IPXFER,
};

struct Env {
    tmp: tempfile::TempDir,
    root: PathBuf,
    install: PathBuf,
    db: PathBuf,
}

impl Env {
    /// A demo server with its list imported.
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("drive");
        let install = write_demo(&root, 1, &tmp.path().join("demo.sqlite3"));
        let env = Env {
            db: tmp.path().join("state.sqlite3"),
            tmp,
            root,
            install,
        };
        env.import(&env.root.join(DEMO_LIST), 0);
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        cmd.env_remove("CERTMEND_DB").arg("--db").arg(&self.db);
        cmd
    }

    /// `certmend --json ARGS`, expecting `code`.
    fn json(&self, args: &[&std::ffi::OsStr], code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.arg("--json").args(args);
        json(&run(&mut cmd, code))
    }

    fn import(&self, list: &Path, code: i32) -> Value {
        self.json(
            &[
                "import".as_ref(),
                list.as_os_str(),
                "--server".as_ref(),
                self.install.as_os_str(),
            ],
            code,
        )
    }

    /// Bundles for `agents` into `out` (seed syntax), expecting `code`; the report.
    fn bundle(&self, out: &Path, agents: &[&str], extra: &[&str], code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "bundle", "--server"])
            .arg(&self.install)
            .arg("--out")
            .arg(out)
            .args(["--ipxfer-syntax", "seed"])
            .args(extra);
        for a in agents {
            cmd.args(["--agent", a]);
        }
        json(&run(&mut cmd, code))
    }

    fn verify(&self, dir: &Path, code: i32) -> Value {
        self.json(
            &["bundle".as_ref(), "verify".as_ref(), dir.as_os_str()],
            code,
        )
    }

    fn receipts(&self, dir: &Path, code: i32) -> Value {
        self.json(&["receipts".as_ref(), dir.as_os_str()], code)
    }

    fn agents(&self) -> BTreeMap<String, Value> {
        let doc = self.json(&["agents".as_ref()], 0);
        doc["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].as_str().unwrap().to_string(), a.clone()))
            .collect()
    }

    fn status(&self, agent: &str) -> String {
        self.agents()[agent]["status"].as_str().unwrap().to_string()
    }

    fn cert_sha256(&self) -> String {
        sha256_hex(&fs::read(self.install.join(SERVER_CERT)).unwrap())
    }

    fn tool(&self, name: &str) -> Vec<u8> {
        fs::read(self.install.join(SERVER_IPXFER).join(name)).unwrap()
    }

    /// Writes `lines` (CRLF) to `stick/receipts/<file>`.
    fn write_receipts(&self, stick: &Path, file: &str, lines: &[String]) -> PathBuf {
        let dir = stick.join("receipts");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file);
        fs::write(&path, lines.join("\r\n") + "\r\n").unwrap();
        path
    }
}

/// (code, file name) of each finding of a check.
fn findings(check: &Value) -> Vec<(String, String)> {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = Path::new(f["path"].as_str().unwrap());
            (
                f["code"].as_str().unwrap().to_string(),
                path.file_name().unwrap().to_string_lossy().into_owned(),
            )
        })
        .collect()
}

fn finding<'a>(check: &'a Value, code: &str, file: &str) -> &'a Value {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["path"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("no {code} for {file}: {check:#}"))
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const A: &str = "PC-ACCT-017";
const B: &str = "PC-DEV-024";
const C: &str = "PC-SALES-010";

// ---------------------------------------------------------------------------------------
// bundle verify

#[test]
fn verify_names_every_file_a_pc_changed_added_or_removed() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B], &[], 0);
    let clean = env.verify(&stick, 0);
    assert_eq!(clean["bundles"], 2, "{clean}");
    // Six files per bundle, and the entry script with its README at the root.
    assert_eq!(clean["files"], 12 + 2, "{clean}");
    assert_eq!(clean["findings"], Value::Array(vec![]));

    // A PC the stick visited swaps IpXfer, plants a DLL beside it (the stick would be
    // in IpXfer's DLL search path), removes a README, and adds a bundle of its own.
    let evil_exe = b"MZ this is not Trend's IpXfer".to_vec();
    fs::write(stick.join(A).join("IpXfer_x64.exe"), &evil_exe).unwrap();
    fs::write(stick.join(A).join("version.dll"), b"MZ planted DLL").unwrap();
    fs::remove_file(stick.join(B).join("README.txt")).unwrap();
    fs::create_dir(stick.join("PC-EXTRA")).unwrap();
    fs::write(
        stick.join("PC-EXTRA").join("repair.cmd"),
        b"@echo off\r\nnet user evil /add\r\n",
    )
    .unwrap();

    let check = env.verify(&stick, 1);
    assert_eq!(
        findings(&check),
        owned(&[
            ("bundle_check.changed", "IpXfer_x64.exe"),
            ("bundle_check.added", "version.dll"),
            ("bundle_check.missing", "README.txt"),
            ("bundle_check.unknown_bundle", "PC-EXTRA"),
        ]),
        "{check:#}"
    );
    let swapped = finding(&check, "bundle_check.changed", "IpXfer_x64.exe");
    assert_eq!(swapped["expected"], sha256_hex(&env.tool("IpXfer_x64.exe")));
    assert_eq!(swapped["found"], sha256_hex(&evil_exe));
    assert_eq!(swapped["agent"], A);
    let planted = finding(&check, "bundle_check.added", "version.dll");
    assert_eq!(planted["found"], sha256_hex(b"MZ planted DLL"));
    let missing = finding(&check, "bundle_check.missing", "README.txt");
    assert_eq!(missing["agent"], B);
    assert!(missing["expected"].as_str().unwrap().len() == 64);

    // The text names each file and says what to do.
    let mut cmd = env.cmd();
    cmd.args(["bundle", "verify"]).arg(&stick);
    let text = String::from_utf8(run(&mut cmd, 1).stdout).unwrap();
    for needle in [
        "CHANGED [PC-ACCT-017]",
        "IpXfer_x64.exe",
        &sha256_hex(&evil_exe),
        "ADDED [PC-ACCT-017]",
        "version.dll",
        "MISSING [PC-DEV-024]",
        "UNKNOWN_BUNDLE",
        "Do not run these bundles",
    ] {
        assert!(text.contains(needle), "{needle} not in:\n{text}");
    }

    // A folder that is no stick: exit 2, one line naming it.
    let mut cmd = env.cmd();
    cmd.args(["bundle", "verify"])
        .arg(env.path("no-such-stick"));
    let line = one_line_error(&cmd.output().unwrap(), "bundle.no_target");
    assert!(line.contains("no-such-stick"), "{line}");
}

#[test]
fn a_manifest_rewritten_to_match_a_swapped_certificate_does_not_fool_verify() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A], &[], 0);
    let folder = stick.join(A);
    let evil = b"-----BEGIN CERTIFICATE-----\nthe attacker's\n-----END CERTIFICATE-----\n";
    fs::write(folder.join("OfcNTCer.dat"), evil).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["name"] == "OfcNTCer.dat" {
            f["sha256"] = Value::from(sha256_hex(evil));
            f["size"] = Value::from(evil.len());
        }
    }
    fs::write(
        folder.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    // The bundle vouches for itself now; the store does not.
    let check = env.verify(&stick, 1);
    assert_eq!(
        findings(&check),
        owned(&[
            ("bundle_check.changed", "OfcNTCer.dat"),
            ("bundle_check.changed", "manifest.json"),
        ]),
        "{check:#}"
    );
    assert_eq!(
        finding(&check, "bundle_check.changed", "OfcNTCer.dat")["expected"],
        env.cert_sha256()
    );
}

#[cfg(unix)]
#[test]
fn links_on_the_stick_are_reported_and_never_read() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A], &[], 0);
    let local = env.path("local-secret.txt");
    fs::write(&local, b"a file of the admin's machine").unwrap();
    let cert = stick.join(A).join("OfcNTCer.dat");
    fs::remove_file(&cert).unwrap();
    std::os::unix::fs::symlink(&local, &cert).unwrap();
    std::os::unix::fs::symlink(env.tmp.path(), stick.join("PC-LOOP")).unwrap();
    let check = env.verify(&stick, 1);
    assert_eq!(
        findings(&check),
        owned(&[
            ("bundle_check.link", "OfcNTCer.dat"),
            ("bundle_check.link", "PC-LOOP"),
        ]),
        "{check:#}"
    );
    let text = check.to_string();
    assert!(!text.contains(&sha256_hex(b"a file of the admin's machine")));
}

#[test]
fn swapped_shared_tools_are_found_by_verify_by_the_read_back_and_by_the_next_export() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B], &["--shared-tools"], 0);
    assert_eq!(env.verify(&stick, 0)["files"], 2 * 4 + 2 + 2);
    let ids = bundle_ids(&stick);
    // One infected PC swaps the IpXfer every later bundle runs.
    let evil = b"MZ one file for every bundle".to_vec();
    fs::write(stick.join("tools").join("IpXfer_x64.exe"), &evil).unwrap();
    let expect = owned(&[("bundle_check.changed", "IpXfer_x64.exe")]);
    let check = env.verify(&stick, 1);
    assert_eq!(findings(&check), expect, "{check:#}");
    assert_eq!(
        finding(&check, "bundle_check.changed", "IpXfer_x64.exe")["expected"],
        sha256_hex(&env.tool("IpXfer_x64.exe"))
    );

    // Read back: the receipt counts (it agrees with its bundle), and the report says
    // the stick was changed; exit 1.
    let sha = env.cert_sha256();
    env.write_receipts(
        &stick,
        "PC-ACCT-017.txt",
        &[receipt(A, &ids[A], "1", "0", "AA", &sha, "REPAIRED")],
    );
    let report = env.receipts(&stick, 1);
    assert_eq!(report["applied"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(findings(&report["bundle_check"]), expect, "{report:#}");
    let mut cmd = env.cmd();
    cmd.arg("receipts").arg(&stick);
    let text = String::from_utf8(run(&mut cmd, 1).stdout).unwrap();
    assert!(
        text.contains("CHANGED") && text.contains("IpXfer_x64.exe"),
        "{text}"
    );

    // Exported to again (another agent, tools in its bundle): the report carries what
    // was already on the stick; exit 1.
    let again = env.bundle(&stick, &[C], &[], 1);
    assert_eq!(findings(&again["bundle_check"]), expect, "{again:#}");
    assert_eq!(again["bundles"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Receipts that must agree

#[test]
fn forged_receipts_change_no_status_and_are_reported_on_every_read() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B, C], &[], 0);
    let ids = bundle_ids(&stick);
    let sha = env.cert_sha256();
    let other = "0".repeat(64);
    let thumbprint = env.json(
        &[
            "cert".as_ref(),
            "show".as_ref(),
            env.install.join(SERVER_CERT).as_os_str(),
        ],
        0,
    )["sha1_thumbprint"]
        .as_str()
        .unwrap()
        .to_string();
    let forged = [
        // A, compromised, marks B repaired with B's bundle id read from the stick.
        receipt(A, &ids[B], "1", "0", &other, &sha, "REPAIRED"),
        // On B itself, but the certificate after is not the bundle's.
        receipt(B, &ids[B], "2", "0", &other, &other, "REPAIRED"),
        // A survey from the wrong folder: C's bundle run on A says C matches.
        receipt(A, &ids[C], "3", "", &sha, "", "MATCHES").replace("mode=repair", "mode=check"),
        // A failure written from elsewhere would push C into the reinstall list.
        receipt(
            "PC-EVIL",
            &ids[C],
            "4",
            "5",
            &other,
            &other,
            "IPXFER_FAILED",
        ),
        // "Same certificate as PEM", with a thumbprint that is not the bundle's.
        receipt(C, &ids[C], "5", "0", &other, &other, "REPAIRED").replace(
            ";result=",
            &format!(";check=thumbprint;thumbprint={};result=", "9".repeat(40)),
        ),
    ];
    env.write_receipts(&stick, "PC-ACCT-017.txt", &forged);
    for round in 0..2 {
        let report = env.receipts(&stick, 1);
        let codes: Vec<(u64, &str)> = report["disagreeing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["line"].as_u64().unwrap(), p["code"].as_str().unwrap()))
            .collect();
        assert_eq!(
            codes,
            [
                (1, "receipts.wrong_computer"),
                (2, "receipts.certificate_differs"),
                (3, "receipts.wrong_computer"),
                (4, "receipts.wrong_computer"),
                (5, "receipts.thumbprint_differs"),
            ],
            "round {round}: {report:#}"
        );
        let first = &report["disagreeing"][0];
        assert_eq!(first["args"]["computer"], A);
        assert_eq!(first["args"]["agent"], B);
        assert_eq!(report["disagreeing"][1]["args"]["found"], other);
        assert_eq!(report["disagreeing"][1]["args"]["expected"], sha);
        assert_eq!(report["applied"], Value::Array(vec![]), "{report:#}");
        assert_eq!(report["already_read"], 0, "not recorded: {report:#}");
        for agent in [A, B, C] {
            assert_eq!(
                env.status(agent),
                "bundle_exported",
                "round {round}: {agent}"
            );
            assert_eq!(env.agents()[agent]["status_receipt"], Value::Null);
        }
    }

    // The genuine ones count: on the agent's own computer (any letter case; a PEM copy
    // by its thumbprint).
    env.write_receipts(
        &stick,
        "PC-DEV-024.txt",
        &[
            receipt("pc-dev-024", &ids[B], "6", "0", &other, &sha, "REPAIRED"),
            receipt(C, &ids[C], "7", "0", &other, &other, "REPAIRED").replace(
                ";result=",
                &format!(";check=thumbprint;thumbprint={thumbprint};result="),
            ),
        ],
    );
    let report = env.receipts(&stick, 1);
    assert_eq!(report["applied"].as_array().unwrap().len(), 2, "{report:#}");
    assert_eq!(env.status(B), "repaired");
    assert_eq!(env.status(C), "repaired");
    assert_eq!(env.status(A), "bundle_exported");
}

#[test]
fn tampered_and_wrong_computer_receipts_are_alerts_that_change_nothing() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B], &[], 0);
    let ids = bundle_ids(&stick);
    let lines = [
        receipt(A, &ids[A], "1", "", "", "", "BUNDLE_TAMPERED")
            .replace(";result=", ";tampered=IpXfer_x64.exe;result="),
        receipt("PC-OTHER", &ids[B], "2", "", "", "", "WRONG_COMPUTER")
            .replace(";result=", ";name_check=differs;result="),
    ];
    env.write_receipts(&stick, "MIXED.txt", &lines);
    for _ in 0..2 {
        let report = env.receipts(&stick, 1);
        let alerts: Vec<(&str, &str)> = report["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["code"].as_str().unwrap(),
                    p["args"]["agent"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            alerts,
            [
                ("receipts.alert_bundle_tampered", A),
                ("receipts.alert_wrong_computer", B)
            ],
            "{report:#}"
        );
        assert_eq!(report["alerts"][0]["args"]["file"], "IpXfer_x64.exe");
        assert_eq!(env.status(A), "bundle_exported");
        assert_eq!(env.status(B), "bundle_exported");
    }
    // In the text, before anything else.
    let mut cmd = env.cmd();
    cmd.arg("receipts").arg(&stick);
    let text = String::from_utf8(run(&mut cmd, 1).stdout).unwrap();
    let second_line = text.lines().nth(1).unwrap_or_default();
    assert!(second_line.contains("ALERT"), "{text}");
    assert!(
        text.contains("IpXfer_x64.exe not as certmend wrote it"),
        "{text}"
    );
}

#[cfg(unix)]
#[test]
fn a_linked_or_huge_receipts_file_is_refused_and_the_others_are_read() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B, C], &[], 0);
    let ids = bundle_ids(&stick);
    let sha = env.cert_sha256();
    // A link to a file outside the stick holding a receipt that would count.
    let outside = env.path("elsewhere.txt");
    fs::write(
        &outside,
        receipt(A, &ids[A], "1", "0", "AA", &sha, "REPAIRED") + "\r\n",
    )
    .unwrap();
    let receipts = stick.join("receipts");
    fs::create_dir_all(&receipts).unwrap();
    std::os::unix::fs::symlink(&outside, receipts.join("PC-ACCT-017.txt")).unwrap();
    // A receipts file past the 16 MiB cap whose first line would count.
    let mut huge = receipt(B, &ids[B], "2", "0", "AA", &sha, "REPAIRED") + "\r\n";
    huge.push_str(&"x".repeat(16 * 1024 * 1024));
    fs::write(receipts.join("PC-DEV-024.txt"), huge).unwrap();
    // And a good one.
    env.write_receipts(
        &stick,
        "PC-SALES-010.txt",
        &[receipt(C, &ids[C], "3", "0", "AA", &sha, "REPAIRED")],
    );
    let report = env.receipts(&stick, 1);
    let refused: Vec<(&str, &str)> = report["refused_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                Path::new(p["file"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap(),
                p["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("PC-ACCT-017.txt", "file.link"),
            ("PC-DEV-024.txt", "file.too_large")
        ],
        "{report:#}"
    );
    assert!(report["refused_files"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("PC-DEV-024.txt"));
    assert_eq!(env.status(A), "bundle_exported");
    assert_eq!(env.status(B), "bundle_exported");
    assert_eq!(env.status(C), "repaired");

    // A receipts folder that is itself a link: refused as a whole.
    let stick2 = env.path("stick2");
    fs::create_dir(&stick2).unwrap();
    std::os::unix::fs::symlink(&receipts, stick2.join("receipts")).unwrap();
    let mut cmd = env.cmd();
    cmd.arg("receipts").arg(&stick2);
    one_line_error(&cmd.output().unwrap(), "file.link");
}

#[test]
fn a_status_from_a_receipt_names_its_source_and_a_newer_list_overrides_it() {
    let env = Env::new();
    let stick = env.path("stick");
    env.bundle(&stick, &[A, B], &[], 0);
    let ids = bundle_ids(&stick);
    let sha = env.cert_sha256();
    let file = env.write_receipts(
        &stick,
        "PC-ACCT-017.txt",
        &[
            receipt(A, &ids[A], "4711", "0", "AA", &sha, "REPAIRED"),
            receipt(B, &ids[B], "4712", "0", "AA", &sha, "REPAIRED"),
        ],
    );
    env.receipts(&stick, 0);
    let agents = env.agents();
    assert_eq!(agents[A]["status"], "repaired");
    let source = &agents[A]["status_receipt"];
    assert_eq!(source["file"], file.to_str().unwrap(), "{source}");
    assert_eq!(source["line"], 1);
    assert_eq!(source["run_id"], "4711");
    assert_eq!(source["computer"], A);
    assert_eq!(source["result"], "REPAIRED");
    assert_eq!(agents[B]["status_receipt"]["line"], 2);
    let mut cmd = env.cmd();
    cmd.arg("agents");
    let text = String::from_utf8(run(&mut cmd, 0).stdout).unwrap();
    let claim = format!("repaired by receipt {}:1 (run 4711", file.display());
    assert!(text.contains(&claim), "{claim} not in:\n{text}");

    // The server's newer list still names A (the demo list with one more agent): the
    // list wins, A is mismatched again and its source is gone. A newer list without B
    // resolves B.
    let demo = fs::read_to_string(env.root.join(DEMO_LIST)).unwrap();
    let newer = env.path("newer.csv");
    fs::write(
        &newer,
        format!("{demo}\"PC-NEW-001\",10.9.9.9,Workgroup,,,Windows 11 Pro\r\n"),
    )
    .unwrap();
    env.import(&newer, 0);
    let agents = env.agents();
    assert_eq!(agents[A]["status"], "mismatched");
    assert_eq!(agents[A]["status_receipt"], Value::Null);
    assert_eq!(agents[B]["status"], "mismatched");
    let without_b: String = demo
        .lines()
        .filter(|l| !l.contains(B))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let newest = env.path("newest.csv");
    fs::write(&newest, without_b).unwrap();
    env.import(&newest, 0);
    assert_eq!(env.status(B), "resolved");
    assert_eq!(env.agents()[B]["status_receipt"], Value::Null);
    // Reading the old receipts again changes nothing: they were read.
    let again = env.receipts(&stick, 0);
    assert_eq!(again["already_read"], 2, "{again}");
    assert_eq!(env.status(A), "mismatched");
}
