#![allow(clippy::unwrap_used)]
//! Black-box tests of the `certmend` binary over a generated demo tree, a case-mangled
//! copy of it, and bad inputs. Certificate facts are checked against openssl.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

const SEED: &str = "42";
const INSTALL: &str = "Program Files (x86)/Trend Micro/Apex One";
const CERT: &str = "Program Files (x86)/Trend Micro/Apex One/PCCSRV/Pccnt/Common/OfcNTCer.dat";

/// The binary, with a state database of this test run's own (never the user's).
fn certmend() -> Command {
    static DB: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DB.get_or_init(|| tempfile::tempdir().unwrap());
    let mut cmd = Command::cargo_bin("certmend").unwrap();
    cmd.env("CERTMEND_DB", dir.path().join("certmend.sqlite3"));
    cmd
}

/// One demo tree for the whole file (key generation is the slow part).
fn demo_root() -> &'static Path {
    static DEMO: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DEMO
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("drive");
            certmend()
                .args(["demo", "--seed", SEED])
                .arg(&root)
                .assert()
                .success();
            (tmp, root)
        })
        .1
}

fn run_json(args: &[&str], expected_code: i32) -> Value {
    let output = certmend().arg("--json").args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "certmend {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn openssl(args: &[&str]) -> String {
    let output = StdCommand::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed for these tests (cargo xtask test installs it)");
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

#[test]
fn certificate_facts_match_openssl() {
    let cert = demo_root().join(CERT);
    let cert_str = cert.to_str().unwrap();
    let info = run_json(&["cert", "show", cert_str], 0);
    let out = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        cert_str,
        "-noout",
        "-fingerprint",
        "-sha1",
        "-serial",
        "-enddate",
        "-startdate",
    ]);
    let sha1 = openssl_value(&out, "sha1 Fingerprint=").replace(':', "");
    assert_eq!(info["sha1_thumbprint"], sha1);
    assert_eq!(info["serial"], openssl_value(&out, "serial="));
    let out256 = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        cert_str,
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert_eq!(
        info["sha256"],
        openssl_value(&out256, "sha256 Fingerprint=").replace(':', "")
    );

    // Dates: openssl prints "Oct 25 00:00:00 2029 GMT"; compare via `date`.
    for (field, key) in [("not_after", "notAfter="), ("not_before", "notBefore=")] {
        let openssl_date = openssl_value(&out, key);
        let epoch = StdCommand::new("date")
            .args(["-u", "-d", &openssl_date, "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .unwrap();
        assert_eq!(
            info[field],
            String::from_utf8_lossy(&epoch.stdout).trim(),
            "{field}"
        );
    }
    assert_eq!(info["format"], "der");
    assert_eq!(info["public_key_algorithm"], "RSA");
    assert_eq!(info["public_key_bits"], 2048);
    assert_eq!(info["self_signed"], true);
    assert_eq!(info["signature_valid"], true);
    assert_eq!(
        info["subject"],
        "CN=OfficeScan Server NTSG, O=certmend demo"
    );
    assert!(info["days_left"].as_i64().unwrap() > 1000);
}

#[test]
fn pem_and_japanese_subjects_from_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k.pem");
    let pem = tmp.path().join("c.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "10",
        "-utf8",
        "-subj",
        "/CN=ウイルスバスター Corp. サーバー/O=株式会社テスト",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        pem.to_str().unwrap(),
    ]);
    let info = run_json(&["cert", "show", pem.to_str().unwrap()], 0);
    assert_eq!(info["format"], "pem");
    assert_eq!(info["common_name"], "ウイルスバスター Corp. サーバー");
    // openssl's "/CN=../O=.." encodes CN first; like Windows, we show the last RDN first.
    assert_eq!(
        info["subject"],
        "O=株式会社テスト, CN=ウイルスバスター Corp. サーバー"
    );
    assert_eq!(info["signature_valid"], true);
    assert!((9..=10).contains(&info["days_left"].as_i64().unwrap()));
    let out = openssl(&[
        "x509",
        "-in",
        pem.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    assert_eq!(
        info["sha1_thumbprint"],
        openssl_value(&out, "sha1 Fingerprint=").replace(':', "")
    );

    // The same certificate as DER compares identical to the PEM.
    let der = tmp.path().join("c.der");
    openssl(&[
        "x509",
        "-in",
        pem.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let cmp = run_json(
        &[
            "cert",
            "compare",
            pem.to_str().unwrap(),
            der.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(cmp["identical"], true);
}

#[test]
fn compare_current_and_previous() {
    let root = demo_root();
    let current = root.join(CERT);
    let collected = root.join("collected");
    let mut previous = None;
    let mut same = None;
    for entry in walk(&collected) {
        let bytes = fs::read(&entry).unwrap();
        if bytes == fs::read(&current).unwrap() {
            same = Some(entry);
        } else {
            previous = Some(entry);
        }
    }
    let (previous, same) = (previous.unwrap(), same.unwrap());
    let cmp = run_json(
        &[
            "cert",
            "compare",
            current.to_str().unwrap(),
            previous.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(cmp["identical"], false);
    assert_eq!(cmp["comparison"]["same_public_key"], false);
    let cmp = run_json(
        &[
            "cert",
            "compare",
            current.to_str().unwrap(),
            same.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(cmp["comparison"]["same_certificate"], true);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn detect_finds_the_demo_server() {
    let root = demo_root();
    let doc = run_json(&["detect", "--root", root.to_str().unwrap()], 0);
    let servers = doc["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let s = &servers[0];
    assert_eq!(s["install_folder"], root.join(INSTALL).to_str().unwrap());
    assert_eq!(s["product"], "apex_one");
    assert_eq!(s["default_location"], "windows64bit");
    assert_eq!(s["demo"], true);
    assert_eq!(s["complete"], true);
    assert_eq!(s["missing"], serde_json::json!([]));
    let files = s["files"].as_array().unwrap();
    assert_eq!(files.len(), 5);
    let cert = files.iter().find(|f| f["name"] == "OfcNTCer.dat").unwrap();
    let out = openssl(&["dgst", "-sha256", "-r", root.join(CERT).to_str().unwrap()]);
    assert_eq!(
        cert["sha256"],
        out.split_whitespace().next().unwrap().to_uppercase()
    );

    // The environment variable works as --root does.
    let out = certmend()
        .env("CERTMEND_ROOT", root)
        .args(["--json", "detect"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["servers"].as_array().unwrap().len(), 1);
}

/// Copies a tree, giving every path segment a different letter case.
fn copy_mangled(from: &Path, to: &Path, depth: usize) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mangled = if depth.is_multiple_of(2) {
            name.to_uppercase()
        } else {
            name.to_lowercase()
        };
        let target = to.join(mangled);
        if entry.path().is_dir() {
            copy_mangled(&entry.path(), &target, depth + 1);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn case_mangled_copy_is_found_with_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    copy_mangled(demo_root(), tmp.path(), 0);
    assert!(tmp
        .path()
        .join("PROGRAM FILES (X86)/trend micro/APEX ONE/pccsrv/PCCNT/common/OFCNTCER.DAT")
        .is_file());
    let doc = run_json(&["detect", "--root", tmp.path().to_str().unwrap()], 0);
    let s = &doc["servers"][0];
    assert_eq!(s["product"], "apex_one");
    assert_eq!(s["default_location"], "windows64bit");
    assert_eq!(s["demo"], true);
    assert_eq!(s["missing"], serde_json::json!([]));

    let original = run_json(&["detect", "--root", demo_root().to_str().unwrap()], 0);
    for (a, b) in s["files"]
        .as_array()
        .unwrap()
        .iter()
        .zip(original["servers"][0]["files"].as_array().unwrap())
    {
        assert_eq!(a["sha256"], b["sha256"]);
    }

    // server show accepts the PCCSRV folder itself, in any case.
    let pccsrv = tmp
        .path()
        .join("PROGRAM FILES (X86)/trend micro/APEX ONE/pccsrv");
    let report = run_json(&["server", "show", pccsrv.to_str().unwrap()], 0);
    assert_eq!(
        report["certificate"]["sha1_thumbprint"],
        original_thumbprint()
    );
}

fn original_thumbprint() -> String {
    let info = run_json(
        &["cert", "show", demo_root().join(CERT).to_str().unwrap()],
        0,
    );
    info["sha1_thumbprint"].as_str().unwrap().to_string()
}

#[test]
fn server_show_reports_incomplete_and_rejects_non_servers() {
    let tmp = tempfile::tempdir().unwrap();
    let install = tmp.path().join("Program Files/Trend Micro/OfficeScan");
    fs::create_dir_all(install.join("PCCSRV/Admin")).unwrap();
    let report = run_json(&["server", "show", install.to_str().unwrap()], 1);
    assert_eq!(report["server"]["complete"], false);
    assert_eq!(report["server"]["default_location"], "windows32bit");
    assert_eq!(
        report["certificate_error"]["code"],
        "server.certificate_missing"
    );
    assert_eq!(report["server"]["missing"].as_array().unwrap().len(), 5);

    let detect = run_json(&["detect", "--root", tmp.path().to_str().unwrap()], 1);
    assert_eq!(detect["servers"][0]["complete"], false);

    let out = certmend()
        .args(["server", "show"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("server.not_an_install_folder"), "{err}");
    assert!(err.contains(tmp.path().to_str().unwrap()), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let none = run_json(&["detect", "--root", empty.path().to_str().unwrap()], 1);
    assert_eq!(none["servers"], serde_json::json!([]));
}

/// Every bad input: exit 2, one line on stderr naming the file and the code, no panic.
#[test]
fn bad_certificate_inputs_get_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = fs::read(demo_root().join(CERT)).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let mut random = vec![0u8; 600];
    let mut x: u32 = 12345;
    for b in random.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    random[0] = 0x7f; // not a DER SEQUENCE, not PEM

    // A real PKCS#12 made by openssl.
    let key = dir.join("k.pem");
    let crt = dir.join("c.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=p12",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        crt.to_str().unwrap(),
    ]);
    let p12 = dir.join("OfficeScanAuth.dat");
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        crt.to_str().unwrap(),
        "-inkey",
        key.to_str().unwrap(),
        "-out",
        p12.to_str().unwrap(),
        "-passout",
        "pass:secret",
    ]);

    let cases: Vec<(PathBuf, &str, &str)> = vec![
        (write("empty.dat", b""), "cert.empty", "empty"),
        (
            write("truncated.dat", &good[..good.len() / 2]),
            "cert.truncated",
            "truncated",
        ),
        (
            write("random.dat", &random),
            "cert.malformed",
            "starts with 7F",
        ),
        (p12, "cert.is_pkcs12", "PKCS#12"),
        (key.clone(), "cert.wrong_pem_label", "PRIVATE KEY"),
        (dir.to_path_buf(), "file.is_directory", "folder"),
        (dir.join("missing.dat"), "file.not_found", "no such file"),
        // Unreadable even for root: reading a process's memory at offset 0 fails (EIO).
        (
            PathBuf::from("/proc/self/mem"),
            "file.unreadable",
            "cannot be read",
        ),
    ];
    for (path, code, words) in cases {
        let out = certmend()
            .args(["cert", "show"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(code), "{stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");

        // --json prints the error as a JSON document too.
        let doc = run_json(&["cert", "show", path.to_str().unwrap()], 2);
        assert_eq!(doc["error"]["code"], code);
    }
}

#[test]
fn demo_refuses_a_folder_in_use_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    let out = certmend()
        .arg("demo")
        .arg(tmp.path())
        .args(["--seed", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("demo.not_empty"));
    assert_eq!(fs::read(tmp.path().join("notes.txt")).unwrap(), b"mine");

    let again = tmp.path().join("again");
    let doc = run_json(&["demo", again.to_str().unwrap(), "--seed", SEED], 0);
    assert_eq!(doc["current_sha1_thumbprint"], original_thumbprint());
    assert_eq!(
        fs::read(again.join("agents/CertificateManager-mismatched.csv")).unwrap(),
        fs::read(demo_root().join("agents/CertificateManager-mismatched.csv")).unwrap()
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = certmend().args(["cert", "frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = certmend().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("certmend "));
}

#[test]
fn demo_list_and_collected_certificates_give_the_expected_verdicts() {
    let db = tempfile::tempdir().unwrap();
    let db = db.path().join("state.sqlite3");
    let db = db.to_str().unwrap();
    let root = demo_root();
    let install = root.join(INSTALL);
    let install = install.to_str().unwrap();

    let imported = run_json(
        &[
            "--db",
            db,
            "import",
            root.join("agents/CertificateManager-mismatched.csv")
                .to_str()
                .unwrap(),
            "--server",
            install,
        ],
        0,
    );
    assert_eq!(imported["agents"], 36);
    assert_eq!(imported["encoding"], "utf-8-bom");

    let report = run_json(
        &[
            "--db",
            db,
            "compare",
            "--server",
            install,
            root.join("collected").to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(report["counts"]["current"], 4);
    assert_eq!(report["counts"]["previous"], 8);
    assert_eq!(report["counts"]["foreign"], 0);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 12);
    for r in results {
        // Every collected host is an agent of the imported list.
        assert_eq!(r["agent_status"], "mismatched", "{r}");
        assert!(r["host"].as_str().unwrap().starts_with("PC-"), "{r}");
        if r["verdict"] == "previous" {
            assert!(
                r["previous"]["first_seen"].as_str().unwrap()
                    < r["previous"]["last_seen"].as_str().unwrap()
            );
        }
    }
    // Layouts: <host>.dat, <host>_OfcNTCer.dat and <host>/OfcNTCer.dat all name their host.
    let hosts: Vec<&str> = results
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts.len(),
        hosts.iter().collect::<std::collections::HashSet<_>>().len()
    );

    // An unknown certificate is foreign, a broken one unreadable; both make exit 1.
    let tmp = tempfile::tempdir().unwrap();
    let foreign_key = tmp.path().join("k.pem");
    let foreign = tmp.path().join("STRANGER.cer");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=x",
        "-keyout",
        foreign_key.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        foreign.to_str().unwrap(),
    ]);
    let broken = tmp.path().join("BROKEN_OfcNTCer.dat");
    fs::write(&broken, b"").unwrap();
    let report = run_json(
        &[
            "--db",
            db,
            "compare",
            "--server",
            install,
            foreign.to_str().unwrap(),
            broken.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(report["results"][0]["verdict"], "foreign");
    assert_eq!(report["results"][0]["host"], "STRANGER");
    assert_eq!(report["results"][1]["verdict"], "unreadable");
    assert_eq!(report["results"][1]["host"], "BROKEN");
    assert_eq!(report["results"][1]["error"]["code"], "cert.empty");

    // Only current certificates: exit 0.
    let current = root.join(CERT);
    let ok = run_json(
        &[
            "--db",
            db,
            "compare",
            "--server",
            install,
            current.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(ok["counts"]["current"], 1);

    // The history shows both certificates of the server and the events.
    let history = run_json(&["--db", db, "history"], 0);
    let certs = history["servers"][0]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs.iter().filter(|c| c["current"] == true).count(), 1);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"list.imported") && kinds.contains(&"certificates.compared"),
        "{kinds:?}"
    );
}

/// Collected certificates on a stick others can write to: two links naming their own
/// folder (a walk that followed them would never end), a link to a local certificate
/// and a link to a local folder. `compare` ends promptly, reads only the real files,
/// lists every link as skipped, and a link given by name is refused as `file.link`.
#[cfg(unix)]
#[test]
fn links_among_collected_certificates_are_never_followed() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state.sqlite3");
    let root = demo_root();
    let install = root.join(INSTALL);
    let stick = tmp.path().join("collected");
    fs::create_dir_all(stick.join("PC-02")).unwrap();
    fs::copy(root.join(CERT), stick.join("PC-01.dat")).unwrap();
    fs::copy(root.join(CERT), stick.join("PC-02/OfcNTCer.dat")).unwrap();
    symlink(".", stick.join("loop-1")).unwrap();
    symlink("..", stick.join("PC-02/loop-2")).unwrap();
    symlink(root.join(CERT), stick.join("PC-03.dat")).unwrap();
    symlink(root.join("collected"), stick.join("PC-04")).unwrap();

    let output = certmend()
        .arg("--db")
        .arg(&db)
        .args(["--json", "compare", "--server"])
        .arg(&install)
        .arg(&stick)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hosts: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["PC-01", "PC-02"], "{report}");
    assert_eq!(report["counts"]["current"], 2);
    let links: Vec<PathBuf> = report["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| PathBuf::from(l.as_str().unwrap()))
        .collect();
    assert_eq!(
        links,
        [
            stick.join("PC-02/loop-2"),
            stick.join("PC-03.dat"),
            stick.join("PC-04"),
            stick.join("loop-1")
        ]
    );
    // The text report says so too.
    let text = certmend()
        .arg("--db")
        .arg(&db)
        .args(["compare", "--server"])
        .arg(&install)
        .arg(&stick)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Skipped 4 links"), "{text}");

    // A link given by name is read by no one.
    let report = run_json(
        &[
            "--db",
            db.to_str().unwrap(),
            "compare",
            "--server",
            install.to_str().unwrap(),
            stick.join("PC-03.dat").to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(report["results"][0]["verdict"], "unreadable");
    assert_eq!(report["results"][0]["error"]["code"], "file.link");
    let out = certmend()
        .args(["cert", "show"])
        .arg(stick.join("PC-03.dat"))
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "certmend: error[file.link]: {}: is a link",
            stick.join("PC-03.dat").display()
        )),
        "{stderr}"
    );
}

/// The per-user data folder and the state database in it are the user's alone on
/// Unix: a data folder an earlier certmend made readable by all is narrowed, and the
/// database (and its -wal and -shm files while they exist) are 0600.
#[cfg(unix)]
#[test]
fn the_data_folder_and_the_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let data = tmp.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    let install = demo_root().join(INSTALL);
    let output = StdCommand::new(env!("CARGO_BIN_EXE_certmend"))
        .env_remove("CERTMEND_DB")
        .env("CERTMEND_DATA_DIR", &data)
        .args(["--json", "server", "show"])
        .arg(&install)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(mode(&data), 0o700);
    for name in [
        "certmend.sqlite3",
        "certmend.sqlite3-wal",
        "certmend.sqlite3-shm",
    ] {
        let file = data.join(name);
        if name == "certmend.sqlite3" || file.exists() {
            assert_eq!(mode(&file), 0o600, "{name}");
        }
    }
    assert_eq!(
        mode(tmp.path()),
        0o755,
        "the folder above is not ours to change"
    );
}

#[test]
fn a_database_from_a_newer_certmend_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("future.sqlite3");
    let status = StdCommand::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE x(y); PRAGMA user_version = 42;")
        .status()
        .expect("sqlite3 (installed by cargo xtask test)");
    assert!(status.success());
    let before = fs::read(&db).unwrap();
    let out = certmend()
        .arg("--db")
        .arg(&db)
        .arg("history")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.too_new") && err.contains("schema version 42"),
        "{err}"
    );
    assert_eq!(fs::read(&db).unwrap(), before);

    // Reading a server still works (the read is just not recorded), with a warning.
    let out = certmend()
        .arg("--db")
        .arg(&db)
        .args(["--json", "detect", "--root"])
        .arg(demo_root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning[store.too_new]"));
}

/// A copy of the demo install whose OfcNTCer.dat expires `days` days from now.
fn server_expiring_in(tmp: &Path, days: i64) -> PathBuf {
    use certmend_core::demo::{generate_key_pair, self_signed_certificate, CertSpec};
    let install = tmp.join("Apex One");
    let common = install.join("PCCSRV/Pccnt/Common");
    fs::create_dir_all(&common).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let key = generate_key_pair(31).unwrap();
    let der = self_signed_certificate(
        &key,
        &CertSpec {
            common_name: "OfficeScan expiring".into(),
            organization: None,
            serial: vec![7],
            not_before: now - time::Duration::days(400),
            // An hour past the day, so "days left" is exactly `days`.
            not_after: now + time::Duration::days(days) + time::Duration::hours(1),
        },
    )
    .unwrap();
    fs::write(common.join("OfcNTCer.dat"), der).unwrap();
    install
}

#[test]
fn server_show_warns_of_a_certificate_that_expires_soon_or_has_expired() {
    let tmp = tempfile::tempdir().unwrap();
    let soon = server_expiring_in(&tmp.path().join("soon"), 30);
    let out = certmend()
        .args(["server", "show"])
        .arg(&soon)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("warning[cert.expires_soon]") && err.contains("expires in 30 days"),
        "{err}"
    );

    let expired = server_expiring_in(&tmp.path().join("expired"), -3);
    let out = certmend()
        .args(["server", "show"])
        .arg(&expired)
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("warning[cert.expired]"), "{err}");

    // The demo's certificate is years from its end: no warning.
    let out = certmend()
        .args(["server", "show"])
        .arg(demo_root().join("Program Files (x86)/Trend Micro/Apex One"))
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("cert.expire"), "{err}");
}
