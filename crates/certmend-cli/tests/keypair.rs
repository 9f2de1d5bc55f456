#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of `certmend keypair show` and `certmend backup create/list/verify/
//! restore`, checked against an independent implementation: the openssl CLI makes key
//! pairs for certmend to read (modern, legacy RC2-40, 3DES; PKCS#8, PKCS#1, encrypted
//! PKCS#8) and reads the backups certmend writes (moduli, fingerprints, encryption
//! schemes). Also: bad files (each refused with one line naming it, a stable code and
//! nothing written), restores (a kit for the server's reinstallation, read by openssl; the
//! server folder never changes, a planted journal changes nothing, a kit killed midway
//! never stands half-written under its name), and passwords that must never leave their
//! files.
//!
//! Every test has its own demo server (`certmend demo DIR --seed N`), its own state
//! database (`--db`) and its own `CERTMEND_DATA_DIR`; nothing touches the real data
//! folder. Passwords go in only through `--password-file`/`--new-password-file` or
//! `CERTMEND_PASSWORD`/`CERTMEND_NEW_PASSWORD`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};

const INSTALL: &str = "Program Files (x86)/Trend Micro/Apex One";
const SERVER_CERT: &str = "PCCSRV/Pccnt/Common/OfcNTCer.dat";
const SERVER_PAIR: &str = "AuthCertBackup/OfficeScanAuth.dat";
/// Where an earlier certmend kept its restore journal: a file in the server folder, which
/// others may write. certmend no longer reads it.
const OLD_JOURNAL: &str = "AuthCertBackup/certmend-restore-journal.json";
const PREVIOUS_PAIR: &str = "key-pairs/previous-OfficeScanAuth.pfx";
const DEMO_PASSWORD: &str = "certmend-demo-keys";
/// The state database's file name; its content (and -wal/-shm) changes on every run.
const DB_NAME: &str = "state.sqlite3";
const NON_ASCII_PASSWORD: &str = "pässwörd 日本語";
const ASCII_PASSWORD: &str = "Plain-ASCII-passw0rd";
/// A new backup password long enough to be accepted.
const NEW_PASSWORD: &str = "a-new-backup-password-2024";
/// Environment variables that would change what certmend reads or where it writes.
const CERTMEND_VARS: [&str; 7] = [
    "CERTMEND_DB",
    "CERTMEND_PASSWORD",
    "CERTMEND_NEW_PASSWORD",
    "CERTMEND_AGENT_PASSWORD",
    "CERTMEND_ROOT",
    "CERTMEND_DATA_DIR",
    "XDG_DATA_HOME",
];

// ---------------------------------------------------------------------------------------
// The world of one test

struct Env {
    tmp: tempfile::TempDir,
    root: PathBuf,
    install: PathBuf,
    db: PathBuf,
    data: PathBuf,
    /// What `certmend --json demo` printed.
    demo: Value,
    /// Every certmend run's output, for the secrets scan.
    outputs: RefCell<Vec<Output>>,
}

impl Env {
    /// A demo server under `<tmp>/drive`, a state database and a data folder of its own.
    fn new(seed: u64) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("drive");
        fs::create_dir(tmp.path().join("secrets")).unwrap();
        fs::create_dir(tmp.path().join("work")).unwrap();
        let mut env = Env {
            install: root.join(INSTALL),
            root,
            db: tmp.path().join(DB_NAME),
            data: tmp.path().join("data"),
            demo: Value::Null,
            outputs: RefCell::new(Vec::new()),
            tmp,
        };
        let mut cmd = env.cmd();
        cmd.args(["--json", "demo", "--seed", &seed.to_string()])
            .arg(&env.root);
        let demo = json(&env.run(&mut cmd, 0));
        assert_eq!(demo["key_pair_password"], DEMO_PASSWORD, "{demo}");
        assert_eq!(
            Path::new(demo["key_pair_file"].as_str().unwrap()),
            env.server_pair()
        );
        assert_eq!(
            Path::new(demo["previous_key_pair_file"].as_str().unwrap()),
            env.previous_pair()
        );
        assert!(env.server_cert().is_file() && env.server_pair().is_file());
        env.demo = demo;
        env
    }

    /// `certmend --db <this test's database>`, data folder inside the test's temp dir.
    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        for var in CERTMEND_VARS {
            cmd.env_remove(var);
        }
        cmd.env("CERTMEND_DATA_DIR", &self.data)
            .env("XDG_DATA_HOME", self.tmp.path().join("xdg"))
            .arg("--db")
            .arg(&self.db);
        cmd
    }

    /// Runs `cmd`, expecting exit `code`; keeps the output for the secrets scan.
    fn run(&self, cmd: &mut Command, code: i32) -> Output {
        let output = cmd.output().unwrap();
        self.outputs.borrow_mut().push(output.clone());
        assert_eq!(
            output.status.code(),
            Some(code),
            "{cmd:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn work(&self, name: &str) -> PathBuf {
        self.path("work").join(name)
    }

    /// A password file (the password and a newline) in `<tmp>/secrets`, readable by
    /// its owner only (certmend refuses others on Unix).
    fn secret(&self, name: &str, password: &str) -> PathBuf {
        let path = self.path("secrets").join(name);
        fs::write(&path, format!("{password}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }

    fn demo_pw(&self) -> PathBuf {
        self.secret("demo.pw", DEMO_PASSWORD)
    }

    fn server_pair(&self) -> PathBuf {
        self.install.join(SERVER_PAIR)
    }

    fn server_cert(&self) -> PathBuf {
        self.install.join(SERVER_CERT)
    }

    /// Where restore kits go unless a test says otherwise (a "stick").
    fn kit_dir(&self) -> PathBuf {
        self.path("stick")
    }

    fn previous_pair(&self) -> PathBuf {
        self.root.join(PREVIOUS_PAIR)
    }

    fn current_thumbprint(&self) -> String {
        self.demo["current_sha1_thumbprint"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn previous_thumbprint(&self) -> String {
        self.demo["previous_sha1_thumbprint"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The hashes of the server's two key-pair files.
    fn server_state(&self) -> (String, String) {
        (
            sha256_hex(&fs::read(self.server_pair()).unwrap()),
            sha256_hex(&fs::read(self.server_cert()).unwrap()),
        )
    }

    /// `certmend --json keypair show FILE --password-file PW [EXTRA]`, expecting `code`.
    fn show(&self, file: &Path, pw: &Path, extra: &[&str], code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "keypair", "show"])
            .arg(file)
            .arg("--password-file")
            .arg(pw)
            .args(extra);
        json(&self.run(&mut cmd, code))
    }

    /// `keypair show FILE --server <demo>`: the relation object.
    fn relation(&self, file: &Path, pw: &Path) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "keypair", "show"])
            .arg(file)
            .arg("--password-file")
            .arg(pw)
            .arg("--server")
            .arg(&self.install);
        let report = json(&self.run(&mut cmd, 0));
        report["checks"]["equals_server_certificate"].clone()
    }

    /// `certmend --json backup restore FILE --server <demo> --out <stick> --password-file
    /// PW EXTRA`.
    fn restore(&self, file: &Path, pw: &Path, extra: &[&str], code: i32) -> Output {
        self.restore_to(file, pw, &self.kit_dir(), extra, code)
    }

    fn restore_to(&self, file: &Path, pw: &Path, out: &Path, extra: &[&str], code: i32) -> Output {
        let mut cmd = self.cmd();
        cmd.args(["--json", "backup", "restore"])
            .arg(file)
            .arg("--server")
            .arg(&self.install)
            .arg("--out")
            .arg(out)
            .arg("--password-file")
            .arg(pw)
            .args(extra);
        self.run(&mut cmd, code)
    }

    fn backups(&self) -> Vec<Value> {
        let mut cmd = self.cmd();
        cmd.args(["--json", "backup", "list"]);
        json(&self.run(&mut cmd, 0))["backups"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Makes sure the state database exists (so later snapshots only see changes).
    fn prime_store(&self) {
        self.backups();
        assert!(self.db.is_file());
    }
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `--json` failure: exit 2, `{"error": {"code": CODE, "message": ...naming FILE}}` on
/// stdout and exactly one line `certmend: error[CODE]: ...FILE...` on stderr.
fn assert_coded_error(output: &Output, code: &str, file: Option<&Path>) {
    let doc = json(output);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{doc}\n{stderr}");
    assert_eq!(doc["error"]["code"], code, "{doc}\nstderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("certmend: error[{code}]: ")),
        "{stderr}"
    );
    if let Some(file) = file {
        let name = file.display().to_string();
        assert!(
            lines[0].contains(&name),
            "stderr does not name {name}: {stderr}"
        );
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&name),
            "message does not name {name}: {doc}"
        );
    }
}

/// Every folder and file under `dir`: files by SHA-256, the state database by name only
/// (its pages change whenever a command opens it), folders as `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut map = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                map.insert(path.clone(), "dir".to_string());
                stack.push(path);
            } else if entry.file_name().to_string_lossy().starts_with(DB_NAME) {
                map.insert(path, "database".to_string());
            } else {
                map.insert(path.clone(), sha256_hex(&fs::read(&path).unwrap()));
            }
        }
    }
    map
}

fn assert_same_tree(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) {
    if before == after {
        return;
    }
    let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let removed: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k)
        .collect();
    panic!("the tree changed: added {added:?}, removed {removed:?}, changed {changed:?}");
}

// ---------------------------------------------------------------------------------------
// openssl, the independent implementation

fn openssl() -> StdCommand {
    let mut cmd = StdCommand::new("openssl");
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs an openssl command that must succeed.
fn ok(cmd: &mut StdCommand) -> Output {
    let output = cmd
        .output()
        .expect("the openssl CLI is needed for these tests");
    assert!(
        output.status.success(),
        "{cmd:?} failed\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// The value of the first line `PREFIX...` (prefix compared in any case).
fn field(output: &str, prefix: &str) -> String {
    output
        .lines()
        .find(|l| l.to_lowercase().starts_with(&prefix.to_lowercase()))
        .unwrap_or_else(|| panic!("no {prefix} in {output}"))[prefix.len()..]
        .trim()
        .to_string()
}

/// A certificate's SHA-1 fingerprint (hex, no colons) and serial, as openssl reads them.
fn cert_facts(cert: &Path, der: bool) -> (String, String) {
    let mut cmd = openssl();
    cmd.arg("x509");
    if der {
        cmd.args(["-inform", "DER"]);
    }
    cmd.arg("-in")
        .arg(cert)
        .args(["-noout", "-fingerprint", "-sha1", "-serial"]);
    let out = text(&ok(&mut cmd).stdout);
    (
        field(&out, "sha1 Fingerprint=")
            .replace(':', "")
            .to_uppercase(),
        field(&out, "serial=").to_uppercase(),
    )
}

fn cert_modulus(cert: &Path, der: bool) -> String {
    let mut cmd = openssl();
    cmd.arg("x509");
    if der {
        cmd.args(["-inform", "DER"]);
    }
    cmd.arg("-in").arg(cert).args(["-noout", "-modulus"]);
    field(&text(&ok(&mut cmd).stdout), "Modulus=")
}

fn key_modulus(key: &Path) -> String {
    let out = ok(openssl()
        .arg("rsa")
        .arg("-in")
        .arg(key)
        .args(["-noout", "-modulus"]));
    field(&text(&out.stdout), "Modulus=")
}

/// `openssl pkcs12 [-legacy] -in PFX -passin file:PW ARGS -out OUT`.
fn pkcs12_out(pfx: &Path, pw: &Path, legacy: bool, args: &[&str], out: &Path) {
    let mut cmd = openssl();
    cmd.arg("pkcs12");
    if legacy {
        cmd.arg("-legacy");
    }
    cmd.arg("-in")
        .arg(pfx)
        .arg("-passin")
        .arg(passin(pw))
        .args(args)
        .arg("-out")
        .arg(out);
    ok(&mut cmd);
}

/// The modulus of the private key in a PKCS#12 file, read by openssl.
fn pfx_key_modulus(pfx: &Path, pw: &Path, legacy: bool, scratch: &Path) -> String {
    pkcs12_out(pfx, pw, legacy, &["-nocerts", "-nodes"], scratch);
    let modulus = key_modulus(scratch);
    fs::remove_file(scratch).unwrap();
    modulus
}

/// The certificate of a PKCS#12 file (PEM), extracted by openssl, and its facts.
fn pfx_cert_facts(pfx: &Path, pw: &Path, out: &Path) -> (String, String) {
    pkcs12_out(pfx, pw, true, &["-nokeys", "-clcerts"], out);
    cert_facts(out, false)
}

/// What `openssl pkcs12 -info -noout` says about a file's encryption (it writes to stderr).
fn pkcs12_info(pfx: &Path, pw: &Path, legacy: bool) -> String {
    let mut cmd = openssl();
    cmd.arg("pkcs12");
    if legacy {
        cmd.arg("-legacy");
    }
    cmd.args(["-info", "-noout", "-in"])
        .arg(pfx)
        .arg("-passin")
        .arg(passin(pw));
    let out = ok(&mut cmd);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn passin(pw: &Path) -> String {
    format!("file:{}", pw.display())
}

/// An RSA-2048 key (PKCS#8 PEM, `openssl genpkey`) and a self-signed certificate.
struct OpensslPair {
    key: PathBuf,
    cert: PathBuf,
    cert_der: PathBuf,
}

fn openssl_pair(dir: &Path, name: &str, cn: &str) -> OpensslPair {
    let key = dir.join(format!("{name}.key.pem"));
    let cert = dir.join(format!("{name}.cert.pem"));
    let cert_der = dir.join(format!("{name}.cer"));
    ok(openssl()
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key));
    ok(openssl()
        .args(["req", "-new", "-x509", "-sha256", "-days", "400", "-subj"])
        .arg(format!("/CN={cn}/O=certmend tests"))
        .arg("-key")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    ok(openssl()
        .args(["x509", "-in"])
        .arg(&cert)
        .args(["-outform", "DER", "-out"])
        .arg(&cert_der));
    OpensslPair {
        key,
        cert,
        cert_der,
    }
}

/// `openssl pkcs12 -export -in CERT -inkey KEY -out OUT -passout file:PW EXTRA`.
fn export_pfx(pair: &OpensslPair, out: &Path, pw: &Path, extra: &[&str]) {
    ok(openssl()
        .args(["pkcs12", "-export", "-in"])
        .arg(&pair.cert)
        .arg("-inkey")
        .arg(&pair.key)
        .arg("-out")
        .arg(out)
        .arg("-passout")
        .arg(passin(pw))
        .args(extra));
}

// ---------------------------------------------------------------------------------------
// A PKCS#12 file holding the certificate of one key pair and the key of another: openssl
// refuses to write one (`X509_check_private_key`), so it is spliced here from two
// openssl files written without a MAC (the bags themselves stay encrypted by openssl).

/// (header length, content length) of the DER element at the start of `der`.
fn der_header(der: &[u8]) -> (usize, usize) {
    let first = der[1] as usize;
    if first < 0x80 {
        (2, first)
    } else {
        let n = first & 0x7f;
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (2 + n, len)
    }
}

fn der_content(der: &[u8]) -> &[u8] {
    let (header, len) = der_header(der);
    &der[header..header + len]
}

/// The elements (whole TLVs) of a constructed element's content.
fn der_children(mut content: &[u8]) -> Vec<&[u8]> {
    let mut children = Vec::new();
    while !content.is_empty() {
        let (header, len) = der_header(content);
        children.push(&content[..header + len]);
        content = &content[header + len..];
    }
    children
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The ContentInfos of a PFX's AuthenticatedSafe (a PFX without MacData).
fn auth_safe_items(pfx: &[u8]) -> Vec<Vec<u8>> {
    let parts = der_children(der_content(pfx));
    assert_eq!(
        parts.len(),
        2,
        "version and authSafe only (written with -nomac)"
    );
    let content_info = der_children(der_content(parts[1]));
    let octets = der_content(content_info[1]);
    let safe = der_content(octets);
    der_children(der_content(safe))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect()
}

/// One PFX of `a`'s and `b`'s contents, with a MAC under `password` (certmend refuses a
/// PFX without one): HMAC-SHA256, key from the PKCS#12 derivation, 2048 rounds.
fn splice_pfx(a: &[u8], b: &[u8], password: &str) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let items: Vec<u8> = auth_safe_items(a)
        .into_iter()
        .chain(auth_safe_items(b))
        .flatten()
        .collect();
    let safe = der(0x30, &items);
    let explicit = der(0xA0, &der(0x04, &safe));
    let data_oid = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
    ];
    let content_info = der(0x30, &[&data_oid[..], &explicit].concat());
    let salt = [7u8; 16];
    let key = pkcs12::kdf::derive_key_utf8::<Sha256>(
        password,
        &salt,
        pkcs12::kdf::Pkcs12KeyType::Mac,
        2048,
        32,
    )
    .unwrap();
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&safe);
    let digest = mac.finalize().into_bytes();
    let sha256_oid = [
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
    ];
    let algorithm = der(0x30, &[&sha256_oid[..], &[0x05, 0x00]].concat());
    let digest_info = der(0x30, &[algorithm, der(0x04, &digest)].concat());
    let mac_data = der(
        0x30,
        &[digest_info, der(0x04, &salt), vec![0x02, 0x02, 0x08, 0x00]].concat(),
    );
    der(
        0x30,
        &[&[0x02, 0x01, 0x03][..], &content_info, &mac_data].concat(),
    )
}

/// `cert_of`'s certificate with `key_of`'s key, in one PKCS#12 file protected by `pw`.
fn mismatched_pfx(cert_of: &OpensslPair, key_of: &OpensslPair, pw: &Path, out: &Path) {
    // openssl itself refuses: the premise of building it by hand.
    let refused = openssl()
        .args(["pkcs12", "-export", "-in"])
        .arg(&cert_of.cert)
        .arg("-inkey")
        .arg(&key_of.key)
        .arg("-passout")
        .arg(passin(pw))
        .arg("-out")
        .arg(out.with_extension("refused"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "openssl now writes mismatched pairs"
    );
    let _ = fs::remove_file(out.with_extension("refused"));
    let cert_only = out.with_extension("cert-part");
    let key_only = out.with_extension("key-part");
    ok(openssl()
        .args(["pkcs12", "-export", "-nomac", "-nokeys", "-in"])
        .arg(&cert_of.cert)
        .arg("-passout")
        .arg(passin(pw))
        .arg("-out")
        .arg(&cert_only));
    ok(openssl()
        .args(["pkcs12", "-export", "-nomac", "-nocerts", "-inkey"])
        .arg(&key_of.key)
        .arg("-passout")
        .arg(passin(pw))
        .arg("-out")
        .arg(&key_only));
    let password = fs::read_to_string(pw).unwrap();
    let spliced = splice_pfx(
        &fs::read(&cert_only).unwrap(),
        &fs::read(&key_only).unwrap(),
        password.lines().next().unwrap(),
    );
    fs::write(out, spliced).unwrap();
    fs::remove_file(cert_only).unwrap();
    fs::remove_file(key_only).unwrap();
    // openssl reads the splice back: A's certificate, B's key.
    let scratch = out.with_extension("check.pem");
    pkcs12_out(out, pw, false, &["-nokeys"], &scratch);
    assert_eq!(
        cert_facts(&scratch, false),
        cert_facts(&cert_of.cert, false)
    );
    pkcs12_out(out, pw, false, &["-nocerts", "-nodes"], &scratch);
    assert_eq!(key_modulus(&scratch), key_modulus(&key_of.key));
    fs::remove_file(scratch).unwrap();
}

// ---------------------------------------------------------------------------------------
// 1. openssl → certmend

#[test]
fn key_pairs_made_by_openssl_read_with_openssls_facts() {
    let env = Env::new(11);
    let pair = openssl_pair(&env.path("work"), "ossl", "openssl made pair");
    let (sha1, serial) = cert_facts(&pair.cert, false);
    let check = |report: &Value, container: &str, what: &str| {
        assert_eq!(report["container"], container, "{what}: {report}");
        assert_eq!(report["certificate"]["sha1_thumbprint"], sha1, "{what}");
        assert_eq!(report["certificate"]["serial"], serial, "{what}");
        assert_eq!(report["key"]["algorithm"], "RSA", "{what}");
        assert_eq!(report["key"]["bits"], 2048, "{what}");
        let checks = &report["checks"];
        assert_eq!(checks["password_ok"], true, "{what}: {checks}");
        assert_eq!(checks["key_matches_certificate"], true, "{what}: {checks}");
        assert_eq!(checks["public_key_equal"], true, "{what}: {checks}");
        assert_eq!(checks["sign_verify"], true, "{what}: {checks}");
        assert!(
            checks.get("equals_server_certificate").is_none(),
            "{what}: no --server, no relation: {checks}"
        );
    };

    // PKCS#12, three ways, under a non-ASCII and an ASCII password.
    let ways: [(&str, &[&str], &str); 3] = [
        ("default", &[], "PBES2, PBKDF2, AES-256-CBC"),
        ("legacy", &["-legacy"], "pbeWithSHA1And40BitRC2-CBC"),
        (
            "3des",
            &[
                "-certpbe",
                "PBE-SHA1-3DES",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
            "pbeWithSHA1And3-KeyTripleDES-CBC",
        ),
    ];
    for (pw_name, password) in [("non-ascii", NON_ASCII_PASSWORD), ("ascii", ASCII_PASSWORD)] {
        let pw = env.secret(&format!("{pw_name}.pw"), password);
        for (way, args, scheme) in &ways {
            let pfx = env.work(&format!("{way}-{pw_name}.pfx"));
            export_pfx(&pair, &pfx, &pw, args);
            // The file is what it claims to be.
            let info = pkcs12_info(&pfx, &pw, true);
            assert!(info.contains(scheme), "{way}: {info}");
            if *way != "default" {
                assert!(info.contains("MAC: sha1"), "{way}: {info}");
            }
            let report = env.show(&pfx, &pw, &[], 0);
            check(&report, "pkcs12", &format!("{way} / {pw_name}"));
            assert_eq!(Path::new(report["file"].as_str().unwrap()), pfx, "{report}");
            assert_eq!(report["other_certificates"], 0);
        }
    }

    // With another certificate in the file (a chain): the key's own is reported.
    let stray = openssl_pair(&env.path("work"), "stray", "another certificate");
    let chain = env.work("chain.pfx");
    let pw = env.secret("ascii.pw", ASCII_PASSWORD);
    export_pfx(
        &pair,
        &chain,
        &pw,
        &["-certfile", stray.cert.to_str().unwrap()],
    );
    let report = env.show(&chain, &pw, &[], 0);
    check(&report, "pkcs12", "with a chain");
    assert_eq!(report["other_certificates"], 1, "{report}");

    // The same password from CERTMEND_PASSWORD, and from a file as Notepad writes it
    // (UTF-8 BOM, CRLF, more lines after the first).
    let legacy = env.work("legacy-non-ascii.pfx");
    let mut cmd = env.cmd();
    cmd.args(["--json", "keypair", "show"])
        .arg(&legacy)
        .env("CERTMEND_PASSWORD", NON_ASCII_PASSWORD);
    check(
        &json(&env.run(&mut cmd, 0)),
        "pkcs12",
        "legacy, env password",
    );
    let notepad = env.path("secrets").join("notepad.pw");
    fs::write(
        &notepad,
        format!("\u{feff}{NON_ASCII_PASSWORD}\r\nsecond line\r\n"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&notepad, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let report = env.show(&env.work("3des-non-ascii.pfx"), &notepad, &[], 0);
    check(&report, "pkcs12", "3des, BOM + CRLF password file");

    // Private key files with the certificate: PKCS#8 (genpkey), PKCS#1 (-traditional),
    // encrypted PKCS#8 (AES-256-CBC, non-ASCII password), DER PKCS#8 with a DER cert.
    let pkcs1 = env.work("pkcs1.pem");
    ok(openssl()
        .args(["rsa", "-traditional", "-in"])
        .arg(&pair.key)
        .arg("-out")
        .arg(&pkcs1));
    let encrypted = env.work("pkcs8-encrypted.pem");
    let pw = env.secret("key.pw", NON_ASCII_PASSWORD);
    ok(openssl()
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(&pair.key)
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&encrypted));
    let der_key = env.work("pkcs8.der");
    ok(openssl()
        .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in"])
        .arg(&pair.key)
        .arg("-out")
        .arg(&der_key));
    let der_pkcs1 = env.work("pkcs1.der");
    ok(openssl()
        .args(["rsa", "-traditional", "-outform", "DER", "-in"])
        .arg(&pair.key)
        .arg("-out")
        .arg(&der_pkcs1));
    let der_encrypted = env.work("pkcs8-encrypted.der");
    ok(openssl()
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-outform",
            "DER",
            "-in",
        ])
        .arg(&pair.key)
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&der_encrypted));
    let cases = [
        (&pair.key, "-----BEGIN PRIVATE KEY-----", &pair.cert),
        (&pkcs1, "-----BEGIN RSA PRIVATE KEY-----", &pair.cert),
        (
            &encrypted,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
            &pair.cert,
        ),
        (&der_key, "", &pair.cert_der),
        (&der_pkcs1, "", &pair.cert_der),
        (&der_encrypted, "", &pair.cert),
    ];
    for (key, header, cert) in cases {
        let body = fs::read(key).unwrap();
        assert!(body.starts_with(header.as_bytes()), "{}", key.display());
        let report = env.show(key, &pw, &["--cert", cert.to_str().unwrap()], 0);
        check(&report, "key_file", &key.display().to_string());
    }
    // An unencrypted key file needs no password at all (none is asked for).
    let mut cmd = env.cmd();
    cmd.args(["--json", "keypair", "show"])
        .arg(&pkcs1)
        .arg("--cert")
        .arg(&pair.cert);
    check(
        &json(&env.run(&mut cmd, 0)),
        "key_file",
        "PKCS#1, no password",
    );
}

// ---------------------------------------------------------------------------------------
// 2. certmend → openssl

#[test]
fn backups_read_with_openssl_hold_the_servers_key_pair() {
    let env = Env::new(12);
    let pw = env.demo_pw();
    let new_pw = env.secret("new.pw", NEW_PASSWORD);
    let server_modulus = cert_modulus(&env.server_cert(), true);
    let server_cert = fs::read(env.server_cert()).unwrap();
    let out_dir = env.path("out");

    // Default (modern) into the data folder, --legacy into --out.
    for legacy in [false, true] {
        let mut cmd = env.cmd();
        cmd.args(["--json", "backup", "create", "--server"])
            .arg(&env.install)
            .arg("--password-file")
            .arg(&pw)
            .arg("--new-password-file")
            .arg(&new_pw);
        if legacy {
            cmd.arg("--legacy").arg("--out").arg(&out_dir);
        }
        let output = env.run(&mut cmd, 0);
        let created = json(&output);
        let stderr = text(&output.stderr);
        assert_eq!(
            created["encryption"],
            if legacy { "legacy" } else { "modern" }
        );
        assert_eq!(
            created["certificate"]["sha1_thumbprint"],
            env.current_thumbprint()
        );
        if legacy {
            assert!(
                stderr.contains("warning") && stderr.contains("3DES"),
                "{stderr}"
            );
            assert_eq!(
                created["warnings"].as_array().unwrap().len(),
                1,
                "{created}"
            );
        } else {
            assert!(stderr.is_empty(), "{stderr}");
            assert_eq!(created["warnings"], serde_json::json!([]));
        }
        let expected_dir = if legacy {
            out_dir.clone()
        } else {
            env.data.join("backups")
        };

        // Every file named exists, with the size and hash named; nothing else was written.
        let files = created["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{created}");
        let mut pfx = None;
        let mut cer = None;
        for f in files {
            let path = PathBuf::from(f["path"].as_str().unwrap());
            let bytes = fs::read(&path).unwrap();
            assert_eq!(path.parent().unwrap(), expected_dir);
            assert_eq!(f["size"], bytes.len() as u64);
            assert_eq!(f["sha256"], sha256_hex(&bytes));
            match path.extension().and_then(|e| e.to_str()) {
                Some("pfx") => pfx = Some(path),
                Some("cer") => cer = Some(path),
                _ => panic!("unexpected file {}", path.display()),
            }
        }
        let (pfx, cer) = (pfx.unwrap(), cer.unwrap());
        let mut names: Vec<_> = fs::read_dir(&expected_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        let mut named = vec![pfx.clone(), cer.clone()];
        named.sort();
        assert_eq!(names, named, "only the files named were written");

        // The .cer is the server's certificate, byte for byte.
        assert_eq!(fs::read(&cer).unwrap(), server_cert);

        // openssl: key modulus == .cer modulus == server's OfcNTCer.dat modulus.
        let scratch = env.work("key.pem");
        let key_mod = pfx_key_modulus(&pfx, &new_pw, legacy, &scratch);
        assert_eq!(key_mod, cert_modulus(&cer, true));
        assert_eq!(key_mod, server_modulus);

        // openssl: the encryption is what the issue promises.
        let info = pkcs12_info(&pfx, &new_pw, legacy);
        if legacy {
            assert!(info.contains("MAC: sha1"), "{info}");
            assert_eq!(
                info.matches("pbeWithSHA1And3-KeyTripleDES-CBC").count(),
                2,
                "certificates and key under 3DES: {info}"
            );
            assert!(!info.contains("RC2"), "{info}");
        } else {
            assert!(info.contains("MAC: sha256"), "{info}");
            assert_eq!(
                info.matches("PBES2, PBKDF2, AES-256-CBC").count(),
                2,
                "certificates and key under AES-256: {info}"
            );
            let iterations: Vec<u64> = info
                .split("Iteration ")
                .skip(1)
                .map(|s| {
                    s.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                        .parse()
                        .unwrap()
                })
                .collect();
            assert!(iterations.len() >= 2, "{info}");
            assert!(
                iterations.iter().all(|i| *i >= 600_000),
                "PBKDF2 iterations {iterations:?}: {info}"
            );
        }

        // certmend verifies its own backup.
        let mut cmd = env.cmd();
        cmd.args(["--json", "backup", "verify"])
            .arg(&pfx)
            .arg("--password-file")
            .arg(&new_pw);
        let report = json(&env.run(&mut cmd, 0));
        assert_eq!(report["checks"]["key_matches_certificate"], true);
        assert_eq!(
            report["certificate"]["sha1_thumbprint"],
            env.current_thumbprint()
        );
    }

    // The catalog: both backups, fingerprints, source, time, file hashes.
    let backups = env.backups();
    assert_eq!(backups.len(), 2, "{backups:?}");
    for b in &backups {
        assert_eq!(b["kind"], "backup");
        assert_eq!(b["sha1_thumbprint"], env.current_thumbprint());
        assert_eq!(Path::new(b["source"].as_str().unwrap()), env.server_pair());
        assert!(!b["created"].as_str().unwrap().is_empty());
        for f in b["files"].as_array().unwrap() {
            let path = Path::new(b["folder"].as_str().unwrap()).join(f["name"].as_str().unwrap());
            assert_eq!(f["sha256"], sha256_hex(&fs::read(&path).unwrap()));
        }
    }
    let encryptions: Vec<_> = backups.iter().map(|b| b["encryption"].clone()).collect();
    assert!(encryptions.contains(&Value::from("modern")));
    assert!(encryptions.contains(&Value::from("legacy")));
}

// ---------------------------------------------------------------------------------------
// 3. Errors

#[test]
fn bad_key_pair_files_are_refused_naming_the_file_and_nothing_is_written() {
    let env = Env::new(13);
    let pw = env.secret("pw", NON_ASCII_PASSWORD);
    let wrong = env.secret("wrong.pw", "not-the-password");
    let new_pw = env.secret("new.pw", NEW_PASSWORD);
    let a = openssl_pair(&env.path("work"), "a", "pair A");
    let b = openssl_pair(&env.path("work"), "b", "pair B");

    let good = env.work("good.pfx");
    export_pfx(&a, &good, &pw, &[]);
    let truncated = env.work("truncated.pfx");
    let bytes = fs::read(&good).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let random = env.work("random.pfx");
    let noise: Vec<u8> = (0u32..128)
        .flat_map(|i| Sha256::digest(i.to_be_bytes()).to_vec())
        .collect();
    fs::write(&random, noise).unwrap();
    let cert_only = env.work("cert-only.pfx");
    export_pfx(&a, &cert_only, &pw, &["-nokeys"]);
    let key_only = env.work("key-only.pfx");
    ok(openssl()
        .args(["pkcs12", "-export", "-nocerts", "-inkey"])
        .arg(&a.key)
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&key_only));
    let mismatched = env.work("mismatched.pfx");
    mismatched_pfx(&a, &b, &pw, &mismatched);
    let ec_key = env.work("ec.key.pem");
    let ec_cert = env.work("ec.cert.pem");
    ok(openssl()
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=ec",
            "-keyout",
        ])
        .arg(&ec_key)
        .arg("-out")
        .arg(&ec_cert));
    let ec_pfx = env.work("ec.pfx");
    ok(openssl()
        .args(["pkcs12", "-export", "-in"])
        .arg(&ec_cert)
        .arg("-inkey")
        .arg(&ec_key)
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&ec_pfx));
    // No MAC, and no encryption either: opens with any password (openssl's own
    // `-nomac -keypbe NONE -certpbe NONE`); and no MAC with an encrypted key.
    let no_mac_plain = env.work("no-mac-plain.pfx");
    export_pfx(
        &a,
        &no_mac_plain,
        &pw,
        &["-nomac", "-keypbe", "NONE", "-certpbe", "NONE"],
    );
    let no_mac = env.work("no-mac.pfx");
    export_pfx(&a, &no_mac, &pw, &["-nomac"]);
    let encrypted_key = env.work("a-encrypted.pem");
    ok(openssl()
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(&a.key)
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&encrypted_key));

    env.prime_store();
    let before = snapshot(env.tmp.path());
    let server_before = env.server_state();

    let cases: [(&Path, &Path, &str); 10] = [
        (&good, &wrong, "keypair.wrong_password"),
        (&no_mac_plain, &wrong, "keypair.no_mac"),
        (&no_mac_plain, &pw, "keypair.no_mac"),
        (&no_mac, &pw, "keypair.no_mac"),
        (&ec_pfx, &pw, "keypair.not_rsa"),
        (&env.server_pair(), &wrong, "keypair.wrong_password"),
        (&truncated, &pw, "keypair.corrupt"),
        (&random, &pw, "keypair.corrupt"),
        (&cert_only, &pw, "keypair.no_key"),
        (&key_only, &pw, "keypair.no_certificate"),
    ];
    for (file, password, code) in cases {
        let mut show = env.cmd();
        show.args(["--json", "keypair", "show"])
            .arg(file)
            .arg("--password-file")
            .arg(password);
        let mut verify = env.cmd();
        verify
            .args(["--json", "backup", "verify"])
            .arg(file)
            .arg("--password-file")
            .arg(password);
        let mut create = env.cmd();
        create
            .args(["--json", "backup", "create", "--server"])
            .arg(&env.install)
            .arg("--from")
            .arg(file)
            .arg("--password-file")
            .arg(password)
            .arg("--new-password-file")
            .arg(&new_pw);
        let mut restore = env.cmd();
        restore
            .args(["--json", "backup", "restore", "--yes", "--server"])
            .arg(&env.install)
            .arg("--out")
            .arg(env.kit_dir())
            .arg(file)
            .arg("--password-file")
            .arg(password);
        for cmd in [&mut show, &mut verify, &mut create, &mut restore] {
            let output = env.run(cmd, 2);
            assert_coded_error(&output, code, Some(file));
        }
    }
    // The server's own key pair with a wrong password (no --from).
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "create", "--server"])
        .arg(&env.install)
        .arg("--password-file")
        .arg(&wrong)
        .arg("--new-password-file")
        .arg(&new_pw);
    let output = env.run(&mut cmd, 2);
    assert_coded_error(&output, "keypair.wrong_password", Some(&env.server_pair()));

    // An encrypted PKCS#8 key with a wrong password.
    let output = env.run(
        env.cmd()
            .args(["--json", "keypair", "show"])
            .arg(&encrypted_key)
            .arg("--cert")
            .arg(&a.cert)
            .arg("--password-file")
            .arg(&wrong),
        2,
    );
    assert_coded_error(&output, "keypair.wrong_password", Some(&encrypted_key));

    // An EC key file with its certificate: not RSA.
    let output = env.run(
        env.cmd()
            .args(["--json", "keypair", "show"])
            .arg(&ec_key)
            .arg("--cert")
            .arg(&ec_cert),
        2,
    );
    assert_coded_error(&output, "keypair.not_rsa", Some(&ec_key));

    // A key with the certificate of another key: shown (exit 1, both checks fail).
    let report = env.show(&b.key, &pw, &["--cert", a.cert.to_str().unwrap()], 1);
    let checks = &report["checks"];
    assert_eq!(checks["key_matches_certificate"], false, "{checks}");
    assert_eq!(checks["public_key_equal"], false, "{checks}");
    assert_eq!(checks["sign_verify"], false, "{checks}");
    // The same in one PKCS#12 file: show and verify say so (exit 1)...
    let report = env.show(&mismatched, &pw, &[], 1);
    assert_eq!(
        report["certificate"]["sha1_thumbprint"],
        cert_facts(&a.cert, false).0
    );
    assert_eq!(report["checks"]["key_matches_certificate"], false);
    assert_eq!(report["checks"]["public_key_equal"], false);
    assert_eq!(report["checks"]["sign_verify"], false);
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "verify"])
        .arg(&mismatched)
        .arg("--password-file")
        .arg(&pw);
    let report = json(&env.run(&mut cmd, 1));
    assert_eq!(report["checks"]["key_matches_certificate"], false);
    // ...and create and restore refuse it.
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "create", "--server"])
        .arg(&env.install)
        .arg("--from")
        .arg(&mismatched)
        .arg("--password-file")
        .arg(&pw)
        .arg("--new-password-file")
        .arg(&new_pw);
    let output = env.run(&mut cmd, 2);
    assert_coded_error(&output, "keypair.key_mismatch", Some(&mismatched));
    let output = env.restore(&mismatched, &pw, &["--yes"], 2);
    assert_coded_error(&output, "keypair.key_mismatch", Some(&mismatched));

    assert_eq!(env.server_state(), server_before);
    assert!(!env.kit_dir().exists());
    assert_same_tree(&before, &snapshot(env.tmp.path()));
    assert!(env.backups().is_empty(), "nothing recorded");
}

/// The issue: "a key without a certificate: a clear message naming the file, exit 2".
/// A PEM private key given to `keypair show` without `--cert` is read as PKCS#12 and
/// reported as "not a PKCS#12 (.pfx) file, or it is damaged or cut short: unknown/
/// unsupported ASN.1 DER tag: 0x2d", which says nothing of the missing certificate.
#[test]
fn a_private_key_file_without_its_certificate_says_the_certificate_is_missing() {
    let env = Env::new(14);
    let pw = env.secret("pw", NON_ASCII_PASSWORD);
    let a = openssl_pair(&env.path("work"), "a", "pair A");
    let before = snapshot(env.tmp.path());
    let mut cmd = env.cmd();
    cmd.args(["--json", "keypair", "show"])
        .arg(&a.key)
        .arg("--password-file")
        .arg(&pw);
    let output = env.run(&mut cmd, 2);
    let doc = json(&output);
    let code = doc["error"]["code"].as_str().unwrap().to_string();
    assert_coded_error(&output, &code, Some(&a.key));
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("certificate") || message.contains("--cert"),
        "a key file without --cert must be told its certificate is missing, got [{code}] {message}"
    );
    // Without a password (none is needed for an unencrypted key): the same answer, not
    // a request for a password (today: `password.no_terminal`).
    let output = env.run(env.cmd().args(["--json", "keypair", "show"]).arg(&a.key), 2);
    let doc = json(&output);
    assert_ne!(doc["error"]["code"], "password.no_terminal", "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{doc}"
    );
    assert_same_tree(&before, &snapshot(env.tmp.path()));
}

#[test]
fn a_short_new_password_is_refused_unless_allowed() {
    let env = Env::new(15);
    let pw = env.demo_pw();
    env.prime_store();
    let create = |new_pw: &Path, extra: &[&str], code: i32| {
        let mut cmd = env.cmd();
        cmd.args(["--json", "backup", "create", "--server"])
            .arg(&env.install)
            .arg("--password-file")
            .arg(&pw)
            .arg("--new-password-file")
            .arg(new_pw)
            .args(extra);
        env.run(&mut cmd, code)
    };
    // 8 ASCII characters; 11 characters; 8 characters in 24 UTF-8 bytes.
    let weak: Vec<(PathBuf, &str)> = [
        ("short", "short-pw"),
        ("eleven", "eleven-char"),
        ("kana", "日本語パスワード"),
    ]
    .into_iter()
    .map(|(name, weak)| (env.secret(&format!("{name}.pw"), weak), weak))
    .collect();
    let before = snapshot(env.tmp.path());
    for (new_pw, weak) in weak {
        let output = create(&new_pw, &[], 2);
        assert_coded_error(&output, "backup.weak_password", None);
        let message = json(&output)["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("12"), "{message}");
        assert!(
            !message.contains(weak),
            "the password is not echoed: {message}"
        );
    }
    assert_same_tree(&before, &snapshot(env.tmp.path()));

    // Accepted with --allow-weak-password (legacy: cheaper), and openssl opens it.
    let short = env.secret("short.pw", "short-pw");
    let out = env.path("out");
    let created = json(&create(
        &short,
        &[
            "--allow-weak-password",
            "--legacy",
            "--out",
            out.to_str().unwrap(),
        ],
        0,
    ));
    let pfx = created["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f["path"].as_str().unwrap()))
        .find(|p| p.extension().is_some_and(|e| e == "pfx"))
        .unwrap();
    assert_eq!(pfx.parent().unwrap(), out);
    let info = pkcs12_info(&pfx, &short, true);
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    assert_eq!(
        pfx_key_modulus(&pfx, &short, true, &env.work("key.pem")),
        cert_modulus(&env.server_cert(), true)
    );
}

#[test]
fn a_restore_without_yes_and_without_a_terminal_is_refused() {
    let env = Env::new(16);
    let pw = env.demo_pw();
    env.prime_store();
    let before = snapshot(env.tmp.path());
    let server_before = env.server_state();
    // assert_cmd gives the child a pipe as stdin: no terminal.
    let output = env.restore(&env.previous_pair(), &pw, &[], 2);
    assert_coded_error(&output, "backup.needs_confirmation", None);
    assert!(
        text(&output.stderr).contains("--yes"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(env.server_state(), server_before);
    assert_same_tree(&before, &snapshot(env.tmp.path()));
    assert!(!env.kit_dir().exists());
    assert!(env.backups().is_empty(), "no kit recorded");
}

// ---------------------------------------------------------------------------------------
// 4. keypair show --server

#[test]
fn keypair_show_relates_a_pair_to_the_servers_certificates() {
    let env = Env::new(21);
    let pw = env.demo_pw();
    assert_eq!(
        env.relation(&env.server_pair(), &pw),
        serde_json::json!({ "relation": "current" })
    );
    // The previous pair, with the dates the demo's history gives it.
    let demo_file: Value =
        serde_json::from_slice(&fs::read(env.install.join("certmend-demo.json")).unwrap()).unwrap();
    let history = &demo_file["history"][0];
    let relation = env.relation(&env.previous_pair(), &pw);
    assert_eq!(relation["relation"], "previous", "{relation}");
    assert_eq!(relation["first_seen"], history["first_seen"], "{relation}");
    assert_eq!(relation["last_seen"], history["last_seen"], "{relation}");
    assert!(
        relation["first_seen"].as_str().unwrap() < relation["last_seen"].as_str().unwrap(),
        "{relation}"
    );
    // A pair openssl just made: neither.
    let pair = openssl_pair(&env.path("work"), "other", "not the server");
    let other_pw = env.secret("other.pw", ASCII_PASSWORD);
    let pfx = env.work("other.pfx");
    export_pfx(&pair, &pfx, &other_pw, &[]);
    assert_eq!(
        env.relation(&pfx, &other_pw),
        serde_json::json!({ "relation": "neither" })
    );
}

// ---------------------------------------------------------------------------------------
// 5. Restore: a kit, never the server

/// The kit's files, as `backup restore` names them.
const KIT_FILES: [&str; 5] = [
    "OfficeScanAuth.pfx",
    "OfficeScanAuth.cer",
    "RESTORE-GUIDE-en.txt",
    "RESTORE-GUIDE-ja.txt",
    "certmend-kit.json",
];

/// Checks a kit folder: every file there and as its manifest says; the key pair opens
/// with `pw` in openssl, is 3DES with a SHA-1 MAC, and holds `cert`'s key; the .cer is
/// `cert`. Returns the thumbprint openssl read.
fn assert_kit(env: &Env, kit: &Path, pw: &Path, cert: &Path, cert_der: bool) -> String {
    let manifest: Value =
        serde_json::from_slice(&fs::read(kit.join("certmend-kit.json")).unwrap()).unwrap();
    for name in KIT_FILES {
        assert!(kit.join(name).is_file(), "{}: no {name}", kit.display());
    }
    for f in manifest["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert_eq!(
            f["sha256"],
            sha256_hex(&fs::read(kit.join(name)).unwrap()),
            "{name}"
        );
    }
    let pfx = kit.join("OfficeScanAuth.pfx");
    // No -legacy: 3DES and SHA-1 are in OpenSSL 3's default provider, RC2 is not.
    let info = pkcs12_info(&pfx, pw, false);
    assert!(info.contains("MAC: sha1"), "{info}");
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    assert!(!info.contains("AES"), "{info}");
    assert_eq!(
        pfx_key_modulus(&pfx, pw, false, &env.work("kit-key.pem")),
        cert_modulus(cert, cert_der)
    );
    let (sha1, serial) = cert_facts(&kit.join("OfficeScanAuth.cer"), true);
    assert_eq!((sha1.clone(), serial), cert_facts(cert, cert_der));
    assert_eq!(manifest["certificate"]["sha1_thumbprint"], sha1);
    sha1
}

#[test]
fn a_restore_writes_a_kit_and_never_touches_the_server() {
    let env = Env::new(22);
    let pw = env.demo_pw();
    let previous = env.previous_pair();
    env.prime_store();
    let server_before = snapshot(&env.root);

    // Dry run: the plan, and nothing written.
    let before = snapshot(env.tmp.path());
    let dry = json(&env.restore(&previous, &pw, &["--dry-run"], 0));
    assert_eq!(dry["dry_run"], true, "{dry}");
    let plan = &dry["plan"];
    assert_eq!(
        plan["certificate"]["sha1_thumbprint"],
        env.previous_thumbprint()
    );
    assert_eq!(
        plan["current_certificate"]["sha1_thumbprint"],
        env.current_thumbprint()
    );
    assert_eq!(plan["relation"]["relation"], "previous", "{plan}");
    assert!(
        ["agents_hold_it", "previous_no_agents_known"].contains(&plan["verdict"].as_str().unwrap()),
        "{plan}"
    );
    assert_eq!(
        plan["source_sha256"],
        sha256_hex(&fs::read(&previous).unwrap())
    );
    assert_eq!(plan["source_catalog"]["kind"], "not_certmend", "{plan}");
    assert_eq!(plan["encryption"], "legacy");
    let kit = PathBuf::from(plan["kit_folder"].as_str().unwrap());
    assert_eq!(kit.parent().unwrap(), env.kit_dir());
    let files: Vec<PathBuf> = plan["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f.as_str().unwrap()))
        .collect();
    assert_eq!(files, KIT_FILES.map(|n| kit.join(n)).to_vec());
    assert_same_tree(&before, &snapshot(env.tmp.path()));
    assert!(env.backups().is_empty());

    // The real thing (text output: what it is, what it writes, where to go next).
    let mut cmd = env.cmd();
    cmd.args(["backup", "restore", "--yes", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(env.kit_dir())
        .arg(&previous)
        .arg("--password-file")
        .arg(&pw);
    let stdout = text(&env.run(&mut cmd, 0).stdout);
    for needle in [
        "Restore kit written and verified",
        "RESTORE-GUIDE-en.txt",
        "Nothing on the server was changed",
        "3DES with a SHA-1 MAC",
        "The server folder is not changed",
    ] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    assert_same_tree(&server_before, &snapshot(&env.root));
    let previous_cert = env.work("previous-cert.pem");
    let (previous_sha1, _) = pfx_cert_facts(&previous, &pw, &previous_cert);
    assert_eq!(previous_sha1, env.previous_thumbprint());
    assert_eq!(
        assert_kit(&env, &kit, &pw, &previous_cert, false),
        previous_sha1
    );
    let guide = fs::read_to_string(kit.join("RESTORE-GUIDE-en.txt")).unwrap();
    for needle in [
        previous_sha1.as_str(),
        "Import an existing certificate",
        "KA-0014308",
        "Never copy OfficeScanAuth.cer",
        "ofcsslagent",
    ] {
        assert!(guide.contains(needle), "{needle}: {guide}");
    }
    let guide_ja = fs::read(kit.join("RESTORE-GUIDE-ja.txt")).unwrap();
    let guide_ja = String::from_utf8(guide_ja[3..].to_vec()).unwrap();
    assert!(
        guide_ja.contains("既存の証明書をインポートする"),
        "{guide_ja}"
    );

    // The catalog has the kit; verify knows its key pair as certmend's, unchanged...
    let kits: Vec<Value> = env
        .backups()
        .into_iter()
        .filter(|b| b["kind"] == "restore_kit")
        .collect();
    assert_eq!(kits.len(), 1, "{kits:?}");
    assert_eq!(Path::new(kits[0]["folder"].as_str().unwrap()), kit);
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "verify"])
        .arg(kit.join("OfficeScanAuth.pfx"))
        .arg("--password-file")
        .arg(&pw);
    let verified = json(&env.run(&mut cmd, 0));
    assert_eq!(verified["catalog"]["kind"], "unchanged", "{verified}");
    assert_eq!(
        verified["catalog"]["backup_id"], kits[0]["id"],
        "{verified}"
    );
    // ...and a changed copy under the same name as changed (exit 1).
    let tampered = env.work("tampered.pfx");
    pkcs12_out(
        &kit.join("OfficeScanAuth.pfx"),
        &pw,
        false,
        &["-nodes"],
        &env.work("t.pem"),
    );
    ok(openssl()
        .args(["pkcs12", "-export", "-iter", "2048", "-in"])
        .arg(env.work("t.pem"))
        .arg("-passout")
        .arg(passin(&pw))
        .arg("-out")
        .arg(&tampered));
    fs::copy(&tampered, kit.join("OfficeScanAuth.pfx")).unwrap();
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "verify"])
        .arg(kit.join("OfficeScanAuth.pfx"))
        .arg("--password-file")
        .arg(&pw);
    let verified = json(&env.run(&mut cmd, 1));
    assert_eq!(verified["catalog"]["kind"], "changed", "{verified}");

    // Never over an existing kit.
    let output = env.restore(&previous, &pw, &["--yes"], 2);
    assert_coded_error(&output, "restore.kit_exists", Some(&kit));

    // The server's own pair, to another stick: same as current, and the server unchanged.
    let other = env.path("stick2");
    let done = json(&env.restore_to(&env.server_pair(), &pw, &other, &["--yes"], 0));
    assert_eq!(done["plan"]["verdict"], "same_as_current", "{done}");
    let kit2 = PathBuf::from(done["kit"]["kit_folder"].as_str().unwrap());
    assert_kit(&env, &kit2, &pw, &env.server_cert(), true);
    assert_same_tree(&server_before, &snapshot(&env.root));
}

/// An earlier certmend kept a restore journal in the server folder, where others can
/// write. One planted there (naming the server's files as targets and "saved copies"
/// of an attacker's choosing) and one in the data folder change nothing: no command
/// reads them.
#[test]
fn a_planted_journal_changes_nothing() {
    let env = Env::new(23);
    let pw = env.demo_pw();
    let evil = env.work("evil.dat");
    fs::write(&evil, b"not a certificate").unwrap();
    let journal = serde_json::json!({
        "format_version": 1,
        "started": "2026-01-01T00:00:00Z",
        "pre_restore_folder": env.work(""),
        "files": [
            { "target": env.server_pair(), "old_sha256": sha256_hex(b"not a certificate"),
              "saved_copy": evil, "new_sha256": "00" },
            { "target": env.server_cert(), "old_sha256": sha256_hex(b"not a certificate"),
              "saved_copy": evil, "new_sha256": "00" },
        ],
    });
    let bytes = serde_json::to_vec_pretty(&journal).unwrap();
    fs::write(env.install.join(OLD_JOURNAL), &bytes).unwrap();
    fs::create_dir_all(&env.data).unwrap();
    fs::write(env.data.join("certmend-restore-journal.json"), &bytes).unwrap();
    let server_before = snapshot(&env.root);

    let mut cmd = env.cmd();
    cmd.args(["--json", "server", "show"]).arg(&env.install);
    env.run(&mut cmd, 0);
    env.restore(&env.previous_pair(), &pw, &["--dry-run"], 0);
    env.restore(&env.previous_pair(), &pw, &["--yes"], 0);
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "create", "--legacy", "--server"])
        .arg(&env.install)
        .arg("--password-file")
        .arg(&pw)
        .arg("--new-password-file")
        .arg(env.secret("new.pw", NEW_PASSWORD));
    env.run(&mut cmd, 0);
    for output in env.outputs.borrow().iter() {
        assert!(
            !text(&output.stderr).contains("interrupted restore"),
            "{}",
            text(&output.stderr)
        );
    }
    assert_same_tree(&server_before, &snapshot(&env.root));
    assert_eq!(
        fs::read(env.data.join("certmend-restore-journal.json")).unwrap(),
        bytes
    );
}

// ---------------------------------------------------------------------------------------
// 6. A restore kit killed midway

/// `backup restore` SIGKILLed at delays spread over a full run: afterwards the kit's
/// folder is either absent or complete and verified (it is renamed into place whole),
/// and the server folder never changed.
#[cfg(unix)]
#[test]
fn a_kit_killed_at_any_moment_is_whole_or_absent() {
    const KILLS: usize = 12;
    let env = Env::new(24);
    let pw = env.demo_pw();
    let bin = assert_cmd::cargo::cargo_bin("certmend");
    let previous = env.previous_pair();
    let server_before = snapshot(&env.root);
    let spawn = || {
        let mut cmd = StdCommand::new(&bin);
        for var in CERTMEND_VARS {
            cmd.env_remove(var);
        }
        cmd.env("CERTMEND_DATA_DIR", &env.data)
            .arg("--db")
            .arg(&env.db)
            .args(["--json", "backup", "restore", "--yes", "--server"])
            .arg(&env.install)
            .arg("--out")
            .arg(env.kit_dir())
            .arg(&previous)
            .arg("--password-file")
            .arg(&pw)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = std::time::Instant::now();
    assert!(spawn().wait().unwrap().success());
    let full = started.elapsed();
    let previous_cert = env.work("previous-cert.pem");
    pfx_cert_facts(&previous, &pw, &previous_cert);
    let (mut absent, mut whole, mut staging_left) = (0, 0, 0);
    for k in 0..KILLS {
        let _ = fs::remove_dir_all(env.kit_dir());
        let delay = full.mul_f64(k as f64 / (KILLS - 1) as f64);
        let mut child = spawn();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let mut kits = Vec::new();
        for entry in fs::read_dir(env.kit_dir()).into_iter().flatten() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with(".certmend-kit-") {
                staging_left += 1;
            } else {
                kits.push(name);
            }
        }
        match kits.as_slice() {
            [] => absent += 1,
            [name] => {
                assert_kit(&env, &env.kit_dir().join(name), &pw, &previous_cert, false);
                whole += 1;
            }
            more => panic!("killed after {delay:?}: {more:?}"),
        }
        assert_same_tree(&server_before, &snapshot(&env.root));
    }
    eprintln!(
        "killed {KILLS} kit writes (full run {full:?}): {absent} left no kit, {whole} a whole \
         one; {staging_left} hidden staging folders were left"
    );
    assert_eq!(absent + whole, KILLS);
}

// ---------------------------------------------------------------------------------------
// 7. Secrets

/// A password file other users can read or change is refused on Unix (naming the file
/// and `chmod 600`); a link, and a file far too large for a password, are refused as
/// any file from elsewhere is; a key pair given as a link is read by no one. Nothing
/// is written. Made the owner's alone, the same file works, and the backup lands in
/// an owner-only data folder as owner-only files.
#[cfg(unix)]
#[test]
fn shared_linked_and_huge_password_files_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let env = Env::new(32);
    let pw = env.demo_pw();
    let new_pw = env.secret("new.pw", NEW_PASSWORD);
    let readable = env.secret("readable.pw", DEMO_PASSWORD);
    fs::set_permissions(&readable, fs::Permissions::from_mode(0o644)).unwrap();
    let writable = env.secret("writable.pw", NEW_PASSWORD);
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o620)).unwrap();
    let link = env.path("secrets").join("link.pw");
    std::os::unix::fs::symlink(&pw, &link).unwrap();
    let huge = env.secret("huge.pw", &"x".repeat(5000));
    let pair_link = env.work("OfficeScanAuth.pfx");
    std::os::unix::fs::symlink(env.server_pair(), &pair_link).unwrap();
    env.prime_store();
    let before = snapshot(env.tmp.path());
    let create = |pw: &Path, new_pw: &Path, code: i32| {
        let mut cmd = env.cmd();
        cmd.args(["--json", "backup", "create", "--server"])
            .arg(&env.install)
            .arg("--password-file")
            .arg(pw)
            .arg("--new-password-file")
            .arg(new_pw);
        env.run(&mut cmd, code)
    };
    for (pw, new_pw, bad, code) in [
        (&readable, &new_pw, &readable, "password.file_not_private"),
        (&pw, &writable, &writable, "password.file_not_private"),
        (&link, &new_pw, &link, "file.link"),
        (&huge, &new_pw, &huge, "file.too_large"),
    ] {
        let output = create(pw, new_pw, 2);
        assert_coded_error(&output, code, Some(bad));
        if code == "password.file_not_private" {
            let message = json(&output)["error"]["message"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(message.contains("chmod 600"), "{message}");
        }
    }
    let output = env.run(
        env.cmd()
            .args(["--json", "keypair", "show"])
            .arg(&pair_link)
            .arg("--password-file")
            .arg(&pw),
        2,
    );
    assert_coded_error(&output, "file.link", Some(&pair_link));
    assert_same_tree(&before, &snapshot(env.tmp.path()));

    // The owner's alone: accepted.
    fs::set_permissions(&readable, fs::Permissions::from_mode(0o600)).unwrap();
    let created = json(&create(&readable, &new_pw, 0));
    assert_eq!(mode(&env.data), 0o700);
    assert_eq!(mode(&env.data.join("backups")), 0o700);
    for f in created["files"].as_array().unwrap() {
        let path = PathBuf::from(f["path"].as_str().unwrap());
        assert!(
            path.starts_with(env.data.join("backups")),
            "{}",
            path.display()
        );
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[test]
fn passwords_never_leave_their_files() {
    const READ_PASSWORD: &str = "Sekret-7f3a9c-パス";
    const BACKUP_PASSWORD: &str = "Neu-Geheim-4e9d1b-秘密";
    let env = Env::new(31);
    let demo_pw = env.demo_pw();
    let read_pw = env.secret("read.pw", READ_PASSWORD);
    let backup_pw = env.secret("backup.pw", BACKUP_PASSWORD);

    // The server's key pair under the distinctive password (modern and legacy).
    let pem = env.work("current.pem");
    pkcs12_out(&env.server_pair(), &demo_pw, true, &["-nodes"], &pem);
    let source = env.work("source.pfx");
    let source_legacy = env.work("source-legacy.pfx");
    for (out, extra) in [(&source, &[][..]), (&source_legacy, &["-legacy"][..])] {
        ok(openssl()
            .args(["pkcs12", "-export", "-in"])
            .arg(&pem)
            .arg("-passout")
            .arg(passin(&read_pw))
            .arg("-out")
            .arg(out)
            .args(extra));
    }
    fs::remove_file(&pem).unwrap();

    env.show(&source, &read_pw, &[], 0);
    let mut cmd = env.cmd();
    cmd.args(["keypair", "show"])
        .arg(&source_legacy)
        .arg("--server")
        .arg(&env.install)
        .env("CERTMEND_PASSWORD", READ_PASSWORD);
    env.run(&mut cmd, 0);
    // Wrong passwords both ways round: the messages must not echo them.
    env.show(&source, &backup_pw, &[], 2);
    let mut cmd = env.cmd();
    cmd.args(["keypair", "show"])
        .arg(&source_legacy)
        .env("CERTMEND_PASSWORD", BACKUP_PASSWORD);
    env.run(&mut cmd, 2);

    // Backups: modern (passwords from the environment), legacy (from files).
    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "create", "--server"])
        .arg(&env.install)
        .arg("--from")
        .arg(&source)
        .env("CERTMEND_PASSWORD", READ_PASSWORD)
        .env("CERTMEND_NEW_PASSWORD", BACKUP_PASSWORD);
    let created = json(&env.run(&mut cmd, 0));
    let backup = PathBuf::from(created["files"][0]["path"].as_str().unwrap());
    assert_eq!(backup.extension().unwrap(), "pfx");
    assert!(backup.starts_with(&env.data));
    let mut cmd = env.cmd();
    cmd.args(["backup", "create", "--legacy", "--server"])
        .arg(&env.install)
        .arg("--from")
        .arg(&source_legacy)
        .arg("--password-file")
        .arg(&read_pw)
        .arg("--new-password-file")
        .arg(&backup_pw);
    env.run(&mut cmd, 0);
    // A weak new password refused: not echoed either.
    let mut cmd = env.cmd();
    cmd.args(["backup", "create", "--server"])
        .arg(&env.install)
        .arg("--from")
        .arg(&source_legacy)
        .arg("--password-file")
        .arg(&read_pw)
        .env("CERTMEND_NEW_PASSWORD", &READ_PASSWORD[..6]);
    env.run(&mut cmd, 2);

    let mut cmd = env.cmd();
    cmd.args(["--json", "backup", "verify"])
        .arg(&backup)
        .arg("--password-file")
        .arg(&backup_pw);
    env.run(&mut cmd, 0);
    let mut cmd = env.cmd();
    cmd.args(["backup", "verify"])
        .arg(&backup)
        .env("CERTMEND_PASSWORD", READ_PASSWORD);
    env.run(&mut cmd, 2);

    // Restore kits: a dry run, the certmend backup, then the legacy source (text output).
    let mut cmd = env.cmd();
    cmd.args(["backup", "restore", "--dry-run", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(env.kit_dir())
        .arg(&source_legacy)
        .env("CERTMEND_PASSWORD", READ_PASSWORD);
    env.run(&mut cmd, 0);
    env.restore(&backup, &backup_pw, &["--yes"], 0);
    let mut cmd = env.cmd();
    cmd.args(["backup", "restore", "--yes", "--server"])
        .arg(&env.install)
        .arg("--out")
        .arg(env.path("stick2"))
        .arg(&source_legacy)
        .arg("--password-file")
        .arg(&read_pw);
    env.run(&mut cmd, 0);
    env.backups();
    let mut cmd = env.cmd();
    cmd.args(["backup", "list"]);
    env.run(&mut cmd, 0);
    let mut cmd = env.cmd();
    cmd.args(["--json", "history"]);
    env.run(&mut cmd, 0);

    // The needles: each password in UTF-8, UTF-16LE and UTF-16BE (BMPString).
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for password in [READ_PASSWORD, BACKUP_PASSWORD] {
        needles.push((format!("{password} (UTF-8)"), password.as_bytes().to_vec()));
        let le: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        needles.push((format!("{password} (UTF-16LE)"), le));
        needles.push((format!("{password} (UTF-16BE)"), be));
    }
    let find = |haystack: &[u8]| -> Vec<&str> {
        needles
            .iter()
            .filter(|(_, n)| haystack.windows(n.len()).any(|w| w == n.as_slice()))
            .map(|(name, _)| name.as_str())
            .collect()
    };
    // The search works: the password files hold them.
    assert_eq!(find(&fs::read(&read_pw).unwrap()).len(), 1);

    // Every file of the test except the password files and the PKCS#12 containers
    // (encrypted under the passwords): the database (and -wal/-shm), the data folder,
    // the server, the work folder.
    let mut scanned = Vec::new();
    let mut leaks = Vec::new();
    let secrets = env.path("secrets");
    for path in snapshot(env.tmp.path()).into_keys() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir()
            || path.starts_with(&secrets)
            || name.ends_with(".pfx")
            || name == "OfficeScanAuth.dat"
        {
            continue;
        }
        let found = find(&fs::read(&path).unwrap());
        if !found.is_empty() {
            leaks.push(format!("{}: {found:?}", path.display()));
        }
        scanned.push(path);
    }
    assert!(scanned.contains(&env.db), "the database was scanned");
    assert!(
        scanned
            .iter()
            .any(|p| p.starts_with(&env.data) && p.extension().is_some_and(|e| e == "cer")),
        "the data folder's backups were scanned: {scanned:?}"
    );
    assert!(
        scanned
            .iter()
            .any(|p| p.starts_with(env.kit_dir()) && p.ends_with("RESTORE-GUIDE-ja.txt")),
        "the restore kits were scanned: {scanned:?}"
    );
    // Every run's stdout and stderr.
    let outputs = env.outputs.borrow();
    assert!(outputs.len() >= 15, "{} runs", outputs.len());
    for (i, output) in outputs.iter().enumerate() {
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            let found = find(bytes);
            if !found.is_empty() {
                leaks.push(format!("run {i} {stream}: {found:?}\n{}", text(bytes)));
            }
        }
    }
    assert!(leaks.is_empty(), "passwords found:\n{}", leaks.join("\n"));
}
