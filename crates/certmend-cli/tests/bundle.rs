#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of `certmend bundle` and `certmend receipts`: full exports checked
//! file by file (certificate facts against openssl, hashes recomputed here), shared
//! tools, missing IpXfer, hostile agent names, an export killed midway, a target that
//! is too small (a 2 MB tmpfs, as root), receipts, and bad arguments.
//!
//! Every test has its own demo server, its own state database and its own output
//! folder; every list, receipt and IpXfer stand-in beyond the demo is generated here.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;
use serde_json::Value;

#[cfg(unix)]
use common::numbered;
#[cfg(target_os = "linux")]
use common::Mount;
use common::{
    bundle_folders, bundle_ids, check_bundle, ipxfer_stand_ins, json, list_csv, names_in,
    one_line_error, receipt, run, sha256_hex, temp_folders, verify_bundle, walk, write_demo,
    DEMO_AGENTS, DEMO_LIST, IPXFER_NAMES, SERVER_CERT, SERVER_IPXFER,
};

/// The longest folder name `bundle::names::MAX_LEN` allows, in characters.
const MAX_FOLDER_CHARS: usize = 64;
/// Windows/FAT forbidden characters and the ones cmd.exe acts on in a path.
const FORBIDDEN_IN_FOLDER: &[char] = &[
    '<', '>', ':', '"', '/', '\\', '|', '?', '*', '%', '!', '&', '^', '(', ')', ';',
];
const RESERVED_STEMS: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³",
];

// ---------------------------------------------------------------------------------------
// The world of one test

struct Env {
    tmp: tempfile::TempDir,
    root: PathBuf,
    install: PathBuf,
    db: PathBuf,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("drive");
        let install = write_demo(&root, 1, &tmp.path().join("demo.sqlite3"));
        fs::create_dir(tmp.path().join("lists")).unwrap();
        let db = tmp.path().join("state.sqlite3");
        Env {
            tmp,
            root,
            install,
            db,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `certmend --db <this test's database>`.
    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        cmd.env_remove("CERTMEND_DB")
            .env_remove("CERTMEND_AGENT_PASSWORD")
            .arg("--db")
            .arg(&self.db);
        cmd
    }

    fn server_cert(&self) -> PathBuf {
        self.install.join(SERVER_CERT)
    }

    fn server_cert_sha256(&self) -> String {
        sha256_hex(&fs::read(self.server_cert()).unwrap())
    }

    /// Imports `list` for `install`, expecting exit `code`; the report.
    fn import_for(&self, install: &Path, list: &Path, code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "import"])
            .arg(list)
            .arg("--server")
            .arg(install);
        json(&run(&mut cmd, code))
    }

    fn import_demo(&self) {
        let report = self.import_for(&self.install, &self.root.join(DEMO_LIST), 0);
        assert_eq!(report["agents"], DEMO_AGENTS as u64, "{report}");
    }

    /// Writes a list (one row per name, distinct GUIDs and IPs) and imports it.
    fn import_names(&self, file: &str, names: &[String], code: i32) -> Value {
        let list = self.write_list(file, names);
        self.import_for(&self.install, &list, code)
    }

    fn write_list(&self, file: &str, names: &[String]) -> PathBuf {
        let path = self.path("lists").join(file);
        fs::write(&path, list_csv(names)).unwrap();
        path
    }

    /// `certmend bundle --server <demo> --out OUT ARGS` (no --json): the raw output.
    fn bundle_raw(&self, out: &Path, args: &[&str]) -> Output {
        self.bundle_raw_os(out, args.iter().map(OsStr::new))
    }

    fn bundle_raw_os<'a>(&self, out: &Path, args: impl IntoIterator<Item = &'a OsStr>) -> Output {
        let mut cmd = self.cmd();
        cmd.arg("bundle")
            .arg("--server")
            .arg(&self.install)
            .arg("--out")
            .arg(out)
            .args(args);
        cmd.output().unwrap()
    }

    /// `certmend --json bundle ...` expecting success: the report.
    fn bundle(&self, out: &Path, args: &[&str]) -> Value {
        self.bundle_with(out, args.iter().map(OsStr::new))
    }

    fn bundle_with<'a>(&self, out: &Path, args: impl IntoIterator<Item = &'a OsStr>) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "bundle", "--server"])
            .arg(&self.install)
            .arg("--out")
            .arg(out)
            .args(args);
        json(&run(&mut cmd, 0))
    }

    /// `certmend --json agents`.
    fn agents(&self) -> Vec<Value> {
        let mut cmd = self.cmd();
        cmd.args(["--json", "agents"]);
        let doc = json(&run(&mut cmd, 0));
        let agents = doc["agents"].as_array().expect("agents is a list").clone();
        assert_eq!(doc["count"].as_u64(), Some(agents.len() as u64), "{doc}");
        agents
    }

    /// Each agent's name (exactly as stored) and status.
    fn statuses(&self) -> BTreeMap<String, String> {
        let agents = self.agents();
        let map: BTreeMap<String, String> = agents
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(map.len(), agents.len(), "agent names are not distinct");
        map
    }

    /// `certmend --json receipts DIR`, expecting `code`.
    fn receipts(&self, dir: &Path, code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "receipts"]).arg(dir);
        json(&run(&mut cmd, code))
    }
}

// ---------------------------------------------------------------------------------------
// openssl, an independent reading of the certificate

struct CertFacts {
    sha1: String,
    sha256: String,
    serial: String,
    not_after: String,
}

fn openssl(args: &[&str]) -> String {
    let output = StdCommand::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed for these tests");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn openssl_value(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("{key} not in {output}"))
        .trim()
        .to_string()
}

/// "Oct 26 00:00:00 2029 GMT" -> "2029-10-26T00:00:00Z".
fn openssl_date(text: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "{text}");
    assert_eq!(parts[4], "GMT", "{text}");
    let month = MONTHS.iter().position(|m| *m == parts[0]).unwrap() + 1;
    let day: u32 = parts[1].parse().unwrap();
    format!("{}-{month:02}-{day:02}T{}Z", parts[3], parts[2])
}

fn cert_facts(cert: &Path) -> CertFacts {
    let path = cert.to_str().unwrap();
    let base = ["x509", "-inform", "DER", "-in", path, "-noout"];
    let a = openssl(
        &[
            &base[..],
            &["-fingerprint", "-sha256", "-serial", "-enddate"],
        ]
        .concat(),
    );
    let b = openssl(&[&base[..], &["-fingerprint", "-sha1"]].concat());
    CertFacts {
        sha1: openssl_value(&b, "sha1 Fingerprint=").replace(':', ""),
        sha256: openssl_value(&a, "sha256 Fingerprint=").replace(':', ""),
        serial: openssl_value(&a, "serial="),
        not_after: openssl_date(&openssl_value(&a, "notAfter=")),
    }
}

// ---------------------------------------------------------------------------------------
// What a Windows / FAT32 folder name may be

/// Why `name` is not a safe bundle folder name (empty when it is).
fn folder_name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.is_empty() || name == "." || name == ".." {
        problems.push("empty, . or ..".to_string());
    }
    if name.starts_with('.') {
        problems.push("starts with a dot (hidden, or a temporary folder's prefix)".into());
    }
    let chars = name.chars().count();
    if chars > MAX_FOLDER_CHARS {
        problems.push(format!(
            "{chars} characters, over the {MAX_FOLDER_CHARS} the code allows"
        ));
    }
    if name.encode_utf16().count() > 255 {
        problems.push("over 255 UTF-16 units (FAT long name limit)".into());
    }
    for c in name.chars() {
        if c.is_control() || FORBIDDEN_IN_FOLDER.contains(&c) {
            problems.push(format!("holds {c:?}"));
        }
    }
    if name.ends_with('.') || name.ends_with(' ') {
        problems.push("ends with a dot or a space".into());
    }
    let stem = name.split('.').next().unwrap_or("").trim_end_matches(' ');
    if RESERVED_STEMS
        .iter()
        .any(|r| r.to_uppercase() == stem.to_uppercase())
    {
        problems.push(format!("reserved device name {stem:?}"));
    }
    if ["receipts", "tools"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
    {
        problems.push("takes a folder certmend itself uses".into());
    }
    problems
}

/// Names that Windows, FAT32 and exFAT treat as the same (they compare upper-cased).
fn case_collisions(names: &[String]) -> Vec<(String, String)> {
    let mut collisions = BTreeSet::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            if a.to_uppercase() == b.to_uppercase() || a.to_lowercase() == b.to_lowercase() {
                collisions.insert((a.clone(), b.clone()));
            }
        }
    }
    collisions.into_iter().collect()
}

#[test]
fn the_name_checks_of_this_file_catch_what_they_claim() {
    for bad in [
        "CON",
        "con.txt",
        "Lpt1",
        "COM¹.x",
        "AUX .txt",
        "a.",
        "a ",
        ".hidden",
        "..",
        "a%b",
        "a;b",
        "a\\b",
        "a\u{7}b",
        "receipts",
        "TOOLS",
        &"x".repeat(MAX_FOLDER_CHARS + 1),
    ] {
        assert!(!folder_name_problems(bad).is_empty(), "{bad:?}");
    }
    for good in [
        "PC-01",
        "_CON",
        "営業部のPC",
        "a.b",
        &"x".repeat(MAX_FOLDER_CHARS),
    ] {
        assert_eq!(folder_name_problems(good), Vec::<String>::new(), "{good:?}");
    }
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(case_collisions(&names(&["PC", "pc"])).len(), 1);
    assert_eq!(case_collisions(&names(&["PC-σ", "PC-ς"])).len(), 1);
    assert!(case_collisions(&names(&["PC-1", "PC-2", "pc-3"])).is_empty());
}

// =======================================================================================
// 1. A full export

#[test]
fn full_export_writes_complete_verified_bundles_and_a_new_export_supersedes() {
    let env = Env::new();
    env.import_demo();
    let agents = env.agents();
    assert_eq!(agents.len(), DEMO_AGENTS);
    assert!(agents.iter().all(|a| a["status"] == "mismatched"));

    let out = env.path("stick");
    let report = env.bundle(&out, &["--all-mismatched"]);
    let reported = report["bundles"].as_array().unwrap();
    assert_eq!(reported.len(), DEMO_AGENTS, "{report}");
    assert_eq!(report["shared_tools"], Value::Null);
    assert_eq!(report["password_embedded"], false);
    assert_eq!(report["removed_leftovers"].as_array().unwrap().len(), 0);

    let server_cert = fs::read(env.server_cert()).unwrap();
    let cert_sha256 = sha256_hex(&server_cert);
    let facts = cert_facts(&env.server_cert());
    assert_eq!(facts.sha256, cert_sha256, "openssl and sha2 agree");
    let tools: Vec<(&str, Vec<u8>)> = IPXFER_NAMES
        .iter()
        .map(|n| {
            (
                *n,
                fs::read(env.install.join(SERVER_IPXFER).join(n)).unwrap(),
            )
        })
        .collect();

    // The root holds one folder per agent, the entry script and its README.
    let top = names_in(&out);
    assert_eq!(top.len(), DEMO_AGENTS + 2, "{top:?}");
    assert!(top.contains(&"repair.cmd".to_string()) && top.contains(&"README.txt".to_string()));
    assert!(temp_folders(&out).is_empty(), "{top:?}");
    let mut ids = BTreeSet::new();
    let mut report_bytes = 0;
    for name in top
        .iter()
        .filter(|n| *n != "repair.cmd" && *n != "README.txt")
    {
        let folder = out.join(name);
        assert!(folder.is_dir(), "{name} is not a folder");
        let mut expected = vec![
            "IpXfer.exe",
            "IpXfer_x64.exe",
            "OfcNTCer.dat",
            "README.txt",
            "manifest.json",
            "repair.cmd",
        ];
        expected.sort();
        assert_eq!(names_in(&folder), expected, "files of {name}");

        assert_eq!(
            fs::read(folder.join("OfcNTCer.dat")).unwrap(),
            server_cert,
            "{name}: OfcNTCer.dat is not the server's byte for byte"
        );
        for (tool, bytes) in &tools {
            assert_eq!(
                &fs::read(folder.join(tool)).unwrap(),
                bytes,
                "{name}/{tool}"
            );
        }

        let manifest = verify_bundle(&folder);
        assert_eq!(manifest["format_version"], 1);
        let id = manifest["bundle_id"].as_str().unwrap().to_string();
        assert!(
            id.len() == 32
                && id
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "bundle id {id:?}"
        );
        assert!(ids.insert(id.clone()), "bundle id {id} used twice");

        // The agent, as imported.
        let agent_name = manifest["agent"]["name"].as_str().unwrap();
        assert_eq!(agent_name, name, "the demo's names are safe folder names");
        let row = agents.iter().find(|a| a["name"] == agent_name).unwrap();
        for key in ["ip", "domain", "guid"] {
            assert_eq!(manifest["agent"][key], row[key], "{name}: agent.{key}");
            assert!(manifest["agent"][key].is_string(), "{name}: agent.{key}");
        }

        // The server certificate, as openssl reads it.
        let server = &manifest["server"];
        assert_eq!(server["certificate_sha256"], facts.sha256, "{name}");
        assert_eq!(server["certificate_sha1_thumbprint"], facts.sha1, "{name}");
        assert_eq!(
            server["certificate_serial"]
                .as_str()
                .unwrap()
                .to_uppercase(),
            facts.serial.to_uppercase(),
            "{name}"
        );
        assert_eq!(server["certificate_not_after"], facts.not_after, "{name}");
        assert_eq!(
            server["certificate_subject"],
            "CN=OfficeScan Server NTSG, O=certmend demo"
        );
        assert_eq!(
            Path::new(server["install_folder"].as_str().unwrap()),
            env.install.as_path()
        );
        assert_eq!(manifest["options"]["shared_tools"], false);
        assert_eq!(manifest["options"]["password"], "prompt");
        assert!(manifest["certmend_version"].is_string());
        assert!(manifest["created"].is_string());

        // The manifest lists every other file (itself excepted).
        let mut listed: Vec<&str> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        listed.sort();
        let others: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|n| *n != "manifest.json")
            .collect();
        assert_eq!(listed, others, "{name}: manifest files");

        // repair.cmd: ASCII, CRLF only, for this bundle and certificate, tools beside it.
        let script = fs::read(folder.join("repair.cmd")).unwrap();
        assert!(script.is_ascii(), "{name}: repair.cmd is not ASCII");
        for (i, b) in script.iter().enumerate() {
            if *b == b'\n' {
                assert!(i > 0 && script[i - 1] == b'\r', "{name}: bare LF at {i}");
            }
            if *b == b'\r' {
                assert_eq!(script.get(i + 1), Some(&b'\n'), "{name}: bare CR at {i}");
            }
        }
        assert!(script.ends_with(b"\r\n"));
        let script = String::from_utf8(script).unwrap();
        assert!(
            script.contains(&format!("set \"BUNDLE_ID={id}\"\r\n")),
            "{name}"
        );
        assert!(script.contains(&format!("set \"EXPECTED={cert_sha256}\"\r\n")));
        assert!(script.contains("set \"TOOLS=%~dp0\"\r\n"), "{name}");

        // README.txt: UTF-8 with a BOM, English and Japanese.
        let readme = fs::read(folder.join("README.txt")).unwrap();
        assert!(readme.starts_with(&[0xEF, 0xBB, 0xBF]), "{name}: no BOM");
        let readme = String::from_utf8(readme).unwrap();
        for text in [
            "[English]",
            "Run as administrator",
            "[日本語]",
            "管理者として実行",
            name.as_str(),
            facts.sha1.as_str(),
            // The stick is writable by every PC: said plainly, in both languages.
            "written to by every PC it visits",
            "certmend bundle verify",
            "すべての PC から書き込めます",
        ] {
            assert!(readme.contains(text), "{name}: README lacks {text:?}");
        }

        // The JSON report says the same.
        let r = reported
            .iter()
            .find(|b| b["bundle_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} not in the report"));
        assert_eq!(Path::new(r["folder"].as_str().unwrap()), folder.as_path());
        assert_eq!(r["agent"]["name"], agent_name);
        let rf = r["files"].as_array().unwrap();
        assert_eq!(rf.len(), 6);
        let m = rf.iter().find(|f| f["name"] == "manifest.json").unwrap();
        assert_eq!(
            m["sha256"],
            sha256_hex(&fs::read(folder.join("manifest.json")).unwrap())
        );
        report_bytes += rf.iter().map(|f| f["size"].as_u64().unwrap()).sum::<u64>();
    }
    assert_eq!(report["bytes"].as_u64(), Some(report_bytes));
    let statuses = env.statuses();
    assert_eq!(statuses.len(), DEMO_AGENTS);
    assert!(
        statuses.values().all(|s| s == "bundle_exported"),
        "{statuses:?}"
    );

    // The checks above are not blind: a changed or shortened file is caught.
    let victim = out.join(&top[0]);
    let script = fs::read(victim.join("repair.cmd")).unwrap();
    let mut changed = script.clone();
    changed[10] ^= 0x20;
    fs::write(victim.join("repair.cmd"), &changed).unwrap();
    assert!(check_bundle(&victim).unwrap_err().contains("SHA-256"));
    fs::write(victim.join("repair.cmd"), &script[..script.len() - 1]).unwrap();
    assert!(check_bundle(&victim).unwrap_err().contains("bytes"));

    // A second export of the same agents replaces every bundle with a new one; the
    // script changed on the stick meanwhile is reported (exit 1), never silently
    // replaced.
    let mut cmd = env.cmd();
    cmd.args(["--json", "bundle", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(&out)
        .arg("--all-mismatched");
    let again = json(&run(&mut cmd, 1));
    let findings = again["bundle_check"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{again}");
    assert_eq!(findings[0]["code"], "bundle_check.changed");
    assert_eq!(
        findings[0]["path"],
        victim.join("repair.cmd").display().to_string()
    );
    assert_eq!(findings[0]["expected"], sha256_hex(&script));
    assert_eq!(again["bundles"].as_array().unwrap().len(), DEMO_AGENTS);
    assert_eq!(names_in(&out), top, "same folders, nothing left over");
    let mut new_ids = BTreeSet::new();
    for folder in bundle_folders(&out) {
        let manifest = verify_bundle(&folder);
        let id = manifest["bundle_id"].as_str().unwrap().to_string();
        assert!(
            !ids.contains(&id),
            "{}: old bundle id kept",
            folder.display()
        );
        new_ids.insert(id);
    }
    assert_eq!(new_ids.len(), DEMO_AGENTS);
    assert!(env.statuses().values().all(|s| s == "bundle_exported"));
}

// =======================================================================================
// 2. Shared tools

#[test]
fn shared_tools_write_one_copy_at_the_root_that_every_script_uses() {
    let env = Env::new();
    env.import_demo();
    let out = env.path("stick");
    let report = env.bundle(&out, &["--all-mismatched", "--shared-tools"]);
    assert_eq!(report["bundles"].as_array().unwrap().len(), DEMO_AGENTS);
    assert_eq!(
        Path::new(report["shared_tools"].as_str().unwrap()),
        out.join("tools")
    );

    let tools_dir = out.join("tools");
    assert_eq!(names_in(&tools_dir), IPXFER_NAMES);
    for tool in IPXFER_NAMES {
        assert_eq!(
            fs::read(tools_dir.join(tool)).unwrap(),
            fs::read(env.install.join(SERVER_IPXFER).join(tool)).unwrap(),
            "tools/{tool}"
        );
    }
    let folders = bundle_folders(&out);
    assert_eq!(folders.len(), DEMO_AGENTS);
    assert_eq!(
        names_in(&out).len(),
        DEMO_AGENTS + 1 + 2,
        "agents, tools, the entry script and its README only"
    );
    for folder in &folders {
        assert_eq!(
            names_in(folder),
            ["OfcNTCer.dat", "README.txt", "manifest.json", "repair.cmd"],
            "{}",
            folder.display()
        );
        let manifest = verify_bundle(folder);
        assert_eq!(manifest["options"]["shared_tools"], true);
        let listed: BTreeSet<&str> = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(listed.contains("..\\tools\\IpXfer.exe"), "{listed:?}");
        assert!(listed.contains("..\\tools\\IpXfer_x64.exe"), "{listed:?}");
        let script = fs::read_to_string(folder.join("repair.cmd")).unwrap();
        assert!(
            script.contains("set \"TOOLS=%~dp0..\\tools\\\"\r\n"),
            "{}: repair.cmd does not use ..\\tools\\",
            folder.display()
        );
        assert!(!script.contains("set \"TOOLS=%~dp0\"\r\n"));
        // The shared IpXfer is what the script copies (and checks) before running it.
        assert!(script.contains("copy /b /y \"%TOOLS%%IPXFER%\""));
    }
    // Exporting again with the same tools keeps them and every bundle verifies.
    env.bundle(&out, &["--all-mismatched", "--shared-tools"]);
    assert_eq!(names_in(&tools_dir), IPXFER_NAMES);
    assert!(temp_folders(&out).is_empty());
    bundle_folders(&out).iter().for_each(|f| {
        verify_bundle(f);
    });
}

/// A later shared-tools export with other IpXfer files would have to replace `tools\`,
/// which bundles already on the stick use: it is refused before anything is written,
/// and every bundle on the stick still verifies. Exporting every one of those agents
/// again is allowed (nothing is left using the old files).
#[test]
fn a_shared_tools_update_that_would_break_other_bundles_is_refused() {
    let env = Env::new();
    env.import_demo();
    let out = env.path("stick");
    env.bundle(&out, &["--all-mismatched", "--shared-tools"]);
    let first = bundle_folders(&out);
    let before = names_in(&out);
    let tools_before = fs::read(out.join("tools").join("IpXfer.exe")).unwrap();
    let newer = ipxfer_stand_ins(&env.path("newer-ipxfer"), 4096, 7);
    let names = bundle_ids(&out);
    let one = names.keys().next().unwrap().clone();
    let output = env.bundle_raw_os(
        &out,
        [
            OsStr::new("--agent"),
            OsStr::new(&one),
            OsStr::new("--shared-tools"),
            OsStr::new("--ipxfer-dir"),
            newer.as_os_str(),
        ],
    );
    let line = one_line_error(&output, "bundle.shared_tools_in_use");
    assert!(
        line.contains(&format!("{} bundles", first.len() - 1)),
        "{line}"
    );
    assert_eq!(names_in(&out), before);
    assert_eq!(
        fs::read(out.join("tools").join("IpXfer.exe")).unwrap(),
        tools_before
    );
    let broken: Vec<String> = first.iter().filter_map(|f| check_bundle(f).err()).collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));

    // Every agent again with the newer files: tools\ is replaced, all bundles verify.
    env.bundle_with(
        &out,
        [
            OsStr::new("--all-mismatched"),
            OsStr::new("--shared-tools"),
            OsStr::new("--ipxfer-dir"),
            newer.as_os_str(),
        ],
    );
    assert_eq!(bundle_folders(&out).len(), first.len());
    let broken: Vec<String> = bundle_folders(&out)
        .iter()
        .filter_map(|f| check_bundle(f).err())
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    assert_eq!(
        fs::read(out.join("tools").join("IpXfer.exe"))
            .unwrap()
            .len(),
        4096
    );
}

// =======================================================================================
// 3. Missing IpXfer

#[test]
fn missing_ipxfer_is_refused_before_anything_is_written() {
    let env = Env::new();
    env.import_demo();
    let stick = env.path("stick");
    fs::create_dir(&stick).unwrap();
    let not_yet = env.path("not-yet");

    // An empty --ipxfer-dir: the first file is named.
    let empty = env.path("empty-ipxfer");
    fs::create_dir(&empty).unwrap();
    for out in [&stick, &not_yet] {
        let output = env.bundle_raw_os(
            out,
            [
                OsStr::new("--all-mismatched"),
                OsStr::new("--ipxfer-dir"),
                empty.as_os_str(),
            ],
        );
        let line = one_line_error(&output, "bundle.ipxfer_missing");
        assert!(line.contains("IpXfer.exe not found"), "{line}");
        assert!(line.contains(&empty.display().to_string()), "{line}");
    }

    // Only the 32-bit one: the 64-bit one is named.
    let half = env.path("half-ipxfer");
    fs::create_dir(&half).unwrap();
    fs::write(half.join("IpXfer.exe"), b"MZ 32-bit").unwrap();
    let output = env.bundle_raw_os(
        &stick,
        [
            OsStr::new("--all-mismatched"),
            OsStr::new("--ipxfer-dir"),
            half.as_os_str(),
        ],
    );
    let line = one_line_error(&output, "bundle.ipxfer_missing");
    assert!(line.contains("IpXfer_x64.exe not found"), "{line}");

    // A server whose IpXfer folder is gone.
    let root2 = env.path("drive2");
    let install2 = write_demo(&root2, 2, &env.path("demo2.sqlite3"));
    fs::remove_dir_all(install2.join(SERVER_IPXFER)).unwrap();
    env.import_for(&install2, &root2.join(DEMO_LIST), 0);
    let output = env
        .cmd()
        .arg("bundle")
        .arg("--server")
        .arg(&install2)
        .arg("--out")
        .arg(&stick)
        .arg("--all-mismatched")
        .output()
        .unwrap();
    let line = one_line_error(&output, "bundle.ipxfer_missing");
    assert!(line.contains("IpXfer.exe not found"), "{line}");
    assert!(line.contains("--ipxfer-dir"), "{line}");

    assert_eq!(
        names_in(&stick),
        Vec::<String>::new(),
        "written to the stick"
    );
    assert!(!not_yet.exists(), "the output folder was created");
    // Both servers' agents (the two demos share names, so not env.statuses()).
    let agents = env.agents();
    assert_eq!(agents.len(), 2 * DEMO_AGENTS);
    assert!(
        agents.iter().all(|a| a["status"] == "mismatched"),
        "{agents:#?}"
    );
}

// =======================================================================================
// 4. Hostile agent names

fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "..",
        ".",
        "../../evil",
        "..\\..\\evil2",
        "C:\\Windows\\x",
        "\\\\server\\share",
        "/abs/evil3",
        "CON",
        "con.txt",
        "nul",
        "COM1",
        "LPT9.log",
        "AUX .txt",
        "COM¹",
        "CONIN$",
        "a<b>c:d\"e/f\\g|h?i*j",
        "name. .",
        "100%",
        "a!b&c^d(e)f;g",
        "%COMPUTERNAME%",
        "PC-Case",
        "pc-case",
        "PC-σ",
        "PC-ς",
        "receipts",
        "RECEIPTS",
        "tools",
        "Tools",
        ".certmend-tmp-evil",
        "営業部のPC",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push("x".repeat(300));
    names.push(format!("{}y", "x".repeat(299)));
    names.push(format!("CON.{}", "z".repeat(300)));
    names
}

/// Names with control characters: the import must refuse them (or the export must make
/// them safe; either way no folder may hold one).
fn control_names() -> Vec<String> {
    [
        "ctl\u{1}x",
        "bell\u{7}",
        "esc\u{1b}[31m",
        "del\u{7f}x",
        "nel\u{85}x",
        "tab\tx",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn hostile_agent_names_become_safe_distinct_folders_inside_the_output() {
    let env = Env::new();
    let good = hostile_names();
    let control = control_names();
    let mut all = good.clone();
    all.extend(control.iter().cloned());
    let report = env.import_names("hostile.csv", &all, 1);
    let rejected: BTreeSet<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(
                r["reason"].as_str().unwrap().contains("control"),
                "{report}"
            );
            r["line"].as_u64().unwrap()
        })
        .collect();
    let control_lines: BTreeSet<u64> = (0..control.len())
        .map(|i| (good.len() + i + 2) as u64)
        .collect();
    assert_eq!(rejected, control_lines, "{report}");
    let stored: BTreeSet<String> = env.statuses().into_keys().collect();
    let expected: BTreeSet<String> = good.iter().cloned().collect();
    assert_eq!(stored, expected, "the import kept every name as written");

    let before_outside = names_in(env.tmp.path());
    let out = env.path("stick");
    let report = env.bundle(&out, &["--all-mismatched", "--shared-tools"]);
    assert_eq!(report["bundles"].as_array().unwrap().len(), good.len());

    // Nothing outside the output folder.
    let mut after_outside = names_in(env.tmp.path());
    after_outside.retain(|n| n != "stick" && !n.starts_with("state.sqlite3"));
    let mut before = before_outside.clone();
    before.retain(|n| !n.starts_with("state.sqlite3"));
    assert_eq!(after_outside, before, "written beside the output folder");
    for escaped in ["evil", "evil2", "evil3"] {
        for up in [env.tmp.path(), env.tmp.path().parent().unwrap()] {
            assert!(!up.join(escaped).exists(), "{}", up.join(escaped).display());
        }
    }
    assert!(!Path::new("/abs/evil3").exists());
    let canonical_out = out.canonicalize().unwrap();
    for path in walk(&out) {
        let c = path.canonicalize().unwrap();
        assert!(c.starts_with(&canonical_out), "{} escapes", path.display());
    }

    // The root: tools\ (IpXfer only) and one folder per agent, all safe and distinct.
    assert_eq!(names_in(&out.join("tools")), IPXFER_NAMES);
    assert!(!out.join("receipts").exists());
    let folders = bundle_folders(&out);
    assert_eq!(folders.len(), good.len());
    let folder_names: Vec<String> = folders
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut problems = Vec::new();
    let mut manifest_names = Vec::new();
    for (folder, name) in folders.iter().zip(&folder_names) {
        for p in folder_name_problems(name) {
            problems.push(format!("{name:?}: {p}"));
        }
        if !fs::symlink_metadata(folder).unwrap().is_dir() {
            problems.push(format!("{name:?} is not a plain folder"));
        }
        let manifest = verify_bundle(folder);
        let agent = manifest["agent"]["name"].as_str().unwrap().to_string();
        let r = report["bundles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["bundle_id"] == manifest["bundle_id"])
            .unwrap();
        assert_eq!(r["agent"]["name"], agent.as_str());
        assert_eq!(Path::new(r["folder"].as_str().unwrap()), folder.as_path());
        manifest_names.push(agent);
    }
    for (a, b) in case_collisions(&folder_names) {
        problems.push(format!(
            "{a:?} and {b:?} are the same folder on Windows/FAT32/exFAT"
        ));
    }
    manifest_names.sort();
    let mut want: Vec<String> = good.clone();
    want.sort();
    assert_eq!(
        manifest_names, want,
        "one bundle per agent, each manifest with the true name"
    );
    assert!(
        folder_names.iter().any(|n| n == "営業部のPC"),
        "a safe name is kept as it is: {folder_names:?}"
    );
    assert!(
        problems.is_empty(),
        "unsafe folder names:\n{}\nall folders: {folder_names:?}",
        problems.join("\n")
    );

    // The agent named "receipts" has a bundle like any other, and its receipt is read.
    let ids = bundle_ids(&out);
    let sha = env.server_cert_sha256();
    fs::create_dir(out.join("receipts")).unwrap();
    fs::write(
        out.join("receipts").join("RECEIPTS.txt"),
        format!(
            "{}\r\n",
            receipt(
                "receipts",
                &ids["receipts"],
                "1",
                "0",
                "AA",
                &sha,
                "REPAIRED"
            )
        ),
    )
    .unwrap();
    let read = env.receipts(&out, 0);
    assert_eq!(read["applied"].as_array().unwrap().len(), 1, "{read}");
    assert_eq!(read["applied"][0]["agent"], "receipts");
    assert_eq!(env.statuses()["receipts"], "repaired");
    assert_eq!(env.statuses()["RECEIPTS"], "bundle_exported");
}

/// Folder names are handed out per export: a later export must not take (and replace)
/// the folder of another agent's bundle already on the stick.
#[test]
fn a_later_export_never_replaces_another_agents_bundle() {
    let env = Env::new();
    // Both become PC_1 once `#` and `@` are replaced.
    env.import_names("two.csv", &["PC#1".to_string(), "PC@1".to_string()], 0);
    let out = env.path("stick");
    env.bundle(&out, &["--agent", "PC#1"]);
    env.bundle(&out, &["--agent", "PC@1"]);
    let mut on_stick: Vec<String> = bundle_folders(&out)
        .iter()
        .map(|f| {
            verify_bundle(f)["agent"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    on_stick.sort();
    assert_eq!(
        on_stick,
        ["PC#1", "PC@1"],
        "exporting PC@1 removed PC#1's bundle (folders: {:?}); statuses: {:?}",
        names_in(&out),
        env.statuses()
    );
}

/// The same across exports for names differing only in letter case: the stick may be
/// FAT32/exFAT, where `PC-Case` and `pc-case` are one folder.
#[test]
fn folders_from_separate_exports_stay_distinct_in_any_letter_case() {
    let env = Env::new();
    env.import_names(
        "case.csv",
        &["PC-Case".to_string(), "pc-case".to_string()],
        0,
    );
    let out = env.path("stick");
    env.bundle(&out, &["--all-mismatched"]);
    let ids = bundle_ids(&out);
    assert_eq!(ids.len(), 2, "{:?}", names_in(&out));
    // PC-Case is repaired; the next export is for pc-case alone.
    fs::create_dir(out.join("receipts")).unwrap();
    let sha = env.server_cert_sha256();
    fs::write(
        out.join("receipts/PC-CASE.txt"),
        format!(
            "{}\r\n",
            receipt("PC-CASE", &ids["PC-Case"], "1", "0", "AA", &sha, "REPAIRED")
        ),
    )
    .unwrap();
    env.receipts(&out, 0);
    let again = env.bundle(&out, &["--all-mismatched"]);
    assert_eq!(again["bundles"].as_array().unwrap().len(), 1, "{again}");
    let folders: Vec<String> = bundle_folders(&out)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        case_collisions(&folders).is_empty(),
        "folders on the stick that are one folder on FAT32/exFAT/NTFS: {folders:?}"
    );
}

// =======================================================================================
// 5. An export killed midway

#[cfg(unix)]
struct Killed {
    env: Env,
    out: PathBuf,
    ipxfer: PathBuf,
    total: usize,
    complete: Vec<PathBuf>,
    temps: Vec<String>,
}

/// Starts a slow export (30 agents, 2 x 20 MB stand-ins), waits for the first finished
/// bundle folder and SIGKILLs it.
#[cfg(unix)]
fn killed_export() -> Killed {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let env = Env::new();
    let total = 30;
    env.import_names("slow.csv", &numbered("SLOW", total), 0);
    let ipxfer = ipxfer_stand_ins(&env.path("big-ipxfer"), 20 * 1024 * 1024, 1);
    let out = env.path("stick");
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_certmend"))
        .env_remove("CERTMEND_DB")
        .arg("--db")
        .arg(&env.db)
        .arg("bundle")
        .arg("--server")
        .arg(&env.install)
        .arg("--out")
        .arg(&out)
        .arg("--all-mismatched")
        .arg("--ipxfer-dir")
        .arg(&ipxfer)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the export ended ({status}) before it could be killed: make it slower");
        }
        if !bundle_folders(&out).is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no finished bundle after 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        None,
        "the export finished before the kill arrived ({status})"
    );
    let complete = bundle_folders(&out);
    let temps = temp_folders(&out);
    assert!(
        !complete.is_empty() && complete.len() < total,
        "killed midway: {} of {total} bundles",
        complete.len()
    );
    Killed {
        env,
        out,
        ipxfer,
        total,
        complete,
        temps,
    }
}

#[cfg(unix)]
#[test]
fn a_killed_export_leaves_only_complete_bundles_and_the_next_export_cleans_up() {
    let k = killed_export();
    // A bundle that looks complete is complete.
    for folder in &k.complete {
        let manifest = verify_bundle(folder);
        assert_eq!(manifest["files"].as_array().unwrap().len(), 5);
        assert_eq!(
            names_in(folder).len(),
            6,
            "{}: {:?}",
            folder.display(),
            names_in(folder)
        );
    }
    assert!(
        k.temps.len() <= 1,
        "more than one temporary folder: {:?}",
        k.temps
    );
    for t in &k.temps {
        assert!(k.out.join(t).is_dir());
    }

    // The same export again: it succeeds, removes the leftovers, and every bundle verifies.
    let report = k.env.bundle_with(
        &k.out,
        [
            OsStr::new("--all-mismatched"),
            OsStr::new("--ipxfer-dir"),
            k.ipxfer.as_os_str(),
        ],
    );
    let removed: Vec<String> = report["removed_leftovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            Path::new(p.as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(removed, k.temps, "reported leftovers");
    assert!(temp_folders(&k.out).is_empty(), "{:?}", names_in(&k.out));
    let folders = bundle_folders(&k.out);
    assert_eq!(folders.len(), k.total);
    // The bundles and the entry script with its README.
    assert_eq!(names_in(&k.out).len(), k.total + 2);
    let reported: BTreeSet<&str> = report["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bundle_id"].as_str().unwrap())
        .collect();
    for folder in &folders {
        let manifest = verify_bundle(folder);
        assert!(reported.contains(manifest["bundle_id"].as_str().unwrap()));
        assert_eq!(
            fs::metadata(folder.join("IpXfer_x64.exe")).unwrap().len(),
            20 * 1024 * 1024
        );
    }
    assert!(k.env.statuses().values().all(|s| s == "bundle_exported"));
}

/// The bundles a killed export finished look complete and can be taken to the agents;
/// their receipts must then be recognised (the store must know the bundles).
#[cfg(unix)]
#[test]
fn a_killed_export_records_the_bundles_it_finished() {
    let k = killed_export();
    let sha = k.env.server_cert_sha256();
    let statuses = k.env.statuses();
    let mut problems = Vec::new();
    let mut lines = String::new();
    for (i, folder) in k.complete.iter().enumerate() {
        let manifest = verify_bundle(folder);
        let name = manifest["agent"]["name"].as_str().unwrap();
        if statuses[name] != "bundle_exported" {
            problems.push(format!(
                "{name}: complete bundle on the stick, status {}",
                statuses[name]
            ));
        }
        lines.push_str(&receipt(
            name,
            manifest["bundle_id"].as_str().unwrap(),
            &i.to_string(),
            "0",
            "AA",
            &sha,
            "REPAIRED",
        ));
        lines.push_str("\r\n");
    }
    fs::create_dir(k.out.join("receipts")).unwrap();
    fs::write(k.out.join("receipts/SOMEPC.txt"), lines).unwrap();
    let mut cmd = k.env.cmd();
    cmd.args(["--json", "receipts"]).arg(&k.out);
    let read = json(&cmd.output().unwrap());
    for u in read["unknown_bundles"].as_array().unwrap() {
        problems.push(format!("receipt not recognised: {}", u["reason"]));
    }
    assert!(
        problems.is_empty(),
        "{} finished bundle(s) of a killed export are unknown to the database:\n{}",
        k.complete.len(),
        problems.join("\n")
    );
}

// =======================================================================================
// 6. A target too small

/// A 2 MB tmpfs, or None (with a message) when not running as root.
#[cfg(target_os = "linux")]
fn small_stick(env: &Env, test: &str) -> Option<Mount> {
    let uid = StdCommand::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        eprintln!("SKIPPED {test}: mounting a 2 MB tmpfs needs root (CI runs as root)");
        return None;
    }
    let dir = env.path("small-stick");
    fs::create_dir(&dir).unwrap();
    let output = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "running as root, yet mount -t tmpfs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(Mount(dir))
}

/// 20 agents with 2 x 1 MB IpXfer stand-ins into `out` on the small stick: refused with
/// a clear message naming the sizes and the target.
#[cfg(target_os = "linux")]
fn export_too_big(env: &Env, out: &Path) {
    env.import_names("twenty.csv", &numbered("BIG", 20), 0);
    let ipxfer = ipxfer_stand_ins(&env.path("mb-ipxfer"), 1024 * 1024, 3);
    let output = env.bundle_raw_os(
        out,
        [
            OsStr::new("--all-mismatched"),
            OsStr::new("--ipxfer-dir"),
            ipxfer.as_os_str(),
        ],
    );
    let line = one_line_error(&output, "bundle.no_space");
    assert!(line.contains(&out.display().to_string()), "{line}");
    assert!(line.contains("not enough free space"), "{line}");
    let number_after = |key: &str| -> u64 {
        let rest = line
            .split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("no {key:?} in {line}"));
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no number after {key:?}: {line}"))
    };
    let needed = number_after("need ");
    let free = number_after("bytes, ");
    assert!(line.contains(&format!("{free} are free")), "{line}");
    assert!(needed >= 20 * 2 * 1024 * 1024, "{line}");
    assert!(free <= 2 * 1024 * 1024 && free < needed, "{line}");
    assert!(env.statuses().values().all(|s| s == "mismatched"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_stick_too_small_is_refused_and_left_untouched() {
    let env = Env::new();
    let Some(stick) = small_stick(&env, "a_stick_too_small_is_refused_and_left_untouched") else {
        return;
    };
    export_too_big(&env, &stick.0);
    assert_eq!(
        names_in(&stick.0),
        Vec::<String>::new(),
        "written to the stick"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_stick_too_small_gets_no_output_folder_either() {
    let env = Env::new();
    let Some(stick) = small_stick(&env, "a_stick_too_small_gets_no_output_folder_either") else {
        return;
    };
    let out = stick.0.join("bundles");
    export_too_big(&env, &out);
    assert_eq!(
        walk(&stick.0),
        Vec::<PathBuf>::new(),
        "the error says nothing was written, yet the stick holds something"
    );
}

// =======================================================================================
// 7. Receipts

#[test]
fn receipts_set_statuses_once_and_report_unknown_malformed_and_superseded_lines() {
    let env = Env::new();
    env.import_demo();
    let out = env.path("stick");
    env.bundle(&out, &["--all-mismatched"]);
    let first = bundle_ids(&out);
    assert_eq!(first.len(), DEMO_AGENTS);
    let names: Vec<String> = first.keys().cloned().collect();
    let (a, b, c, d, f) = (&names[0], &names[1], &names[2], &names[3], &names[4]);
    // A newer bundle for D supersedes its first one.
    env.bundle(&out, &["--agent", d]);
    let second = bundle_ids(&out);
    assert_ne!(first[d], second[d]);
    assert_eq!(first[a], second[a]);

    let sha = env.server_cert_sha256();
    let old = "0".repeat(64);
    let unknown_id = "0123456789abcdef0123456789abcdef";
    assert!(!first.values().any(|v| v == unknown_id));
    let somepc = [
        receipt(a, &first[a], "11", "0", &old, &sha, "REPAIRED"),
        receipt(b, &first[b], "12", "1", &old, &old, "IPXFER_FAILED"),
        receipt("SOMEPC", unknown_id, "13", "0", &old, &sha, "REPAIRED"),
        "this is not a receipt".to_string(),
        receipt(d, &first[d], "14", "0", &old, &sha, "REPAIRED"),
        format!(
            "certmend-receipt=1;computer=SOMEPC;bundle={};result=MAYBE",
            first[a]
        ),
    ];
    let other = [
        receipt(c, &first[c], "21", "1", &old, &old, "IPXFER_FAILED"),
        receipt(c, &first[c], "22", "1", &old, &old, "IPXFER_FAILED"),
        receipt(f, &first[f], "31", "1", &old, &old, "IPXFER_FAILED"),
        // The very same line again (same run): counted once.
        receipt(f, &first[f], "31", "1", &old, &old, "IPXFER_FAILED"),
    ];
    let receipts = out.join("receipts");
    fs::create_dir(&receipts).unwrap();
    fs::write(receipts.join("SOMEPC.txt"), somepc.join("\r\n") + "\r\n").unwrap();
    fs::write(receipts.join("OTHERPC.txt"), other.join("\r\n") + "\r\n").unwrap();

    let report = env.receipts(&out, 1);
    assert_eq!(report["files"], 2, "{report}");
    assert_eq!(report["lines"], 10, "{report}");
    let applied = report["applied"].as_array().unwrap();
    let summary: Vec<(String, String, String, String, bool)> = applied
        .iter()
        .map(|x| {
            (
                x["agent"].as_str().unwrap().to_string(),
                x["result"].as_str().unwrap().to_string(),
                x["status_before"].as_str().unwrap().to_string(),
                x["status_after"].as_str().unwrap().to_string(),
                x["superseded"].as_bool().unwrap(),
            )
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        summary,
        [
            // OTHERPC.txt sorts first.
            (
                c.clone(),
                s("IPXFER_FAILED"),
                s("bundle_exported"),
                s("repair_failed"),
                false
            ),
            (
                c.clone(),
                s("IPXFER_FAILED"),
                s("repair_failed"),
                s("reinstall_recommended"),
                false
            ),
            (
                f.clone(),
                s("IPXFER_FAILED"),
                s("bundle_exported"),
                s("repair_failed"),
                false
            ),
            (
                a.clone(),
                s("REPAIRED"),
                s("bundle_exported"),
                s("repaired"),
                false
            ),
            (
                b.clone(),
                s("IPXFER_FAILED"),
                s("bundle_exported"),
                s("repair_failed"),
                false
            ),
            (
                d.clone(),
                s("REPAIRED"),
                s("bundle_exported"),
                s("repaired"),
                true
            ),
        ],
        "{report:#}"
    );
    assert_eq!(report["already_read"], 1, "{report}");
    let unknown = report["unknown_bundles"].as_array().unwrap();
    assert_eq!(unknown.len(), 1, "{report}");
    assert_eq!(unknown[0]["line"], 3);
    assert!(unknown[0]["reason"].as_str().unwrap().contains(unknown_id));
    let malformed: Vec<u64> = report["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["line"].as_u64().unwrap())
        .collect();
    assert_eq!(malformed, [4, 6], "{report}");
    assert!(report["malformed"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("MAYBE"));
    assert_eq!(report["stale"].as_array().unwrap().len(), 0);

    let statuses = env.statuses();
    let expect = |name: &str, status: &str| assert_eq!(statuses[name], status, "{name}");
    expect(a, "repaired");
    expect(b, "repair_failed");
    expect(c, "reinstall_recommended");
    expect(d, "repaired");
    expect(f, "repair_failed");
    assert_eq!(
        statuses
            .values()
            .filter(|s| *s == "bundle_exported")
            .count(),
        DEMO_AGENTS - 5
    );

    // Read again (the stick, then its receipts folder itself): nothing changes.
    for dir in [&out, &receipts] {
        let again = env.receipts(dir, 1);
        assert_eq!(again["applied"].as_array().unwrap().len(), 0, "{again}");
        assert_eq!(again["already_read"], 7, "{again}");
        assert_eq!(again["unknown_bundles"].as_array().unwrap().len(), 1);
        assert_eq!(again["malformed"].as_array().unwrap().len(), 2);
        assert_eq!(env.statuses(), statuses);
    }

    // Only good news: exit 0.
    let clean = env.path("clean");
    fs::create_dir_all(clean.join("receipts")).unwrap();
    fs::write(
        clean.join("receipts/PC.txt"),
        format!(
            "{}\r\n",
            receipt(
                &names[5],
                &first[&names[5]],
                "41",
                "0",
                &old,
                &sha,
                "REPAIRED"
            )
        ),
    )
    .unwrap();
    let ok = env.receipts(&clean, 0);
    assert_eq!(ok["applied"][0]["status_after"], "repaired");

    // The repaired agents are not exported again.
    let next = env.bundle(&env.path("stick2"), &["--all-mismatched"]);
    let exported: BTreeSet<&str> = next["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["agent"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(exported.len(), DEMO_AGENTS - 3);
    for repaired in [a, d, &names[5]] {
        assert!(!exported.contains(repaired.as_str()), "{repaired}");
    }
    assert!(exported.contains(c.as_str()) && exported.contains(b.as_str()));
}

#[test]
fn receipts_for_a_certificate_the_server_replaced_are_stale() {
    let env = Env::new();
    env.import_demo();
    let out = env.path("stick");
    env.bundle(&out, &["--all-mismatched"]);
    let ids = bundle_ids(&out);
    let name = ids.keys().next().unwrap().clone();
    let old_sha = env.server_cert_sha256();

    // The server gets another certificate (another demo's), and certmend reads it.
    let other = write_demo(&env.path("drive2"), 2, &env.path("demo2.sqlite3"));
    fs::copy(other.join(SERVER_CERT), env.server_cert()).unwrap();
    assert_ne!(env.server_cert_sha256(), old_sha);
    let mut show = env.cmd();
    show.args(["--json", "server", "show"]).arg(&env.install);
    show.output().unwrap();

    fs::create_dir(out.join("receipts")).unwrap();
    fs::write(
        out.join("receipts/PC.txt"),
        format!(
            "{}\r\n",
            receipt(&name, &ids[&name], "1", "0", "AA", &old_sha, "REPAIRED")
        ),
    )
    .unwrap();
    let report = env.receipts(&out, 1);
    let stale = report["stale"].as_array().unwrap();
    assert_eq!(stale.len(), 1, "{report}");
    assert!(stale[0]["reason"].as_str().unwrap().contains(&ids[&name]));
    assert_eq!(
        env.statuses()[&name],
        "bundle_exported",
        "status left as it was"
    );
}

#[test]
fn receipts_without_a_receipts_folder_are_an_error() {
    let env = Env::new();
    let empty = env.path("empty-stick");
    fs::create_dir(&empty).unwrap();
    let mut cmd = env.cmd();
    cmd.arg("receipts").arg(&empty);
    let line = one_line_error(&cmd.output().unwrap(), "receipts.no_folder");
    assert!(line.contains(&empty.display().to_string()), "{line}");
}

// =======================================================================================
// 8. Bad arguments

#[test]
fn out_pointing_at_a_file_is_refused() {
    let env = Env::new();
    env.import_demo();
    let file = env.path("a-file");
    fs::write(&file, b"not a folder").unwrap();
    let before = names_in(env.tmp.path());
    let output = env.bundle_raw(&file, &["--all-mismatched"]);
    let line = one_line_error(&output, "bundle.write");
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert_eq!(fs::read(&file).unwrap(), b"not a folder");
    let not_db = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| !n.starts_with("state.sqlite3"))
            .collect()
    };
    assert_eq!(not_db(names_in(env.tmp.path())), not_db(before));
    assert!(env.statuses().values().all(|s| s == "mismatched"));
}

#[test]
fn an_unknown_agent_is_named_and_nothing_is_written() {
    let env = Env::new();
    env.import_demo();
    let real = env.statuses().into_keys().next().unwrap();
    let out = env.path("stick");
    let output = env.bundle_raw(&out, &["--agent", "NO-SUCH-PC", "--agent", &real]);
    let line = one_line_error(&output, "bundle.unknown_agents");
    assert!(line.contains("NO-SUCH-PC"), "{line}");
    assert!(!line.contains(&real), "{line}");
    assert!(!out.exists(), "the output folder was created");

    // With --json the error is also one JSON document on stdout.
    let mut cmd = env.cmd();
    cmd.args(["--json", "bundle", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(&out)
        .args(["--agent", "no-such-pc"]);
    let doc = json(&run(&mut cmd, 2));
    assert_eq!(doc["error"]["code"], "bundle.unknown_agents");
    assert!(!out.exists());
    assert!(env.statuses().values().all(|s| s == "mismatched"));

    // Any letter case names the same agent.
    let report = env.bundle(&out, &["--agent", &real.to_lowercase()]);
    assert_eq!(report["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(report["bundles"][0]["agent"]["name"], real.as_str());
}

#[test]
fn nothing_selected_is_a_usage_error_naming_both_ways_to_select() {
    let env = Env::new();
    env.import_demo();
    let out = env.path("stick");
    let output = env.bundle_raw(&out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error:"), "{stderr}");
    assert!(!out.exists(), "the output folder was created");
    assert!(
        stderr.contains("--agent") && stderr.contains("--all-mismatched"),
        "the message should offer --agent NAME and --all-mismatched:\n{stderr}"
    );
}

#[test]
fn all_mismatched_with_no_agent_is_an_error() {
    let env = Env::new();
    let out = env.path("stick");
    let output = env.bundle_raw(&out, &["--all-mismatched"]);
    let line = one_line_error(&output, "bundle.nothing_to_export");
    assert!(line.contains("no agent to export"), "{line}");
    assert!(!out.exists());
}
