#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Black-box tests of `certmend import`: CertificateManager `-l` lists in every encoding,
//! delimiter and quoting the reader promises, rejections with their line numbers,
//! duplicates, re-imports, agent statuses across lists, how the server is chosen, bad
//! inputs, and running CertificateManager itself (a shell-script stand-in on Unix).
//!
//! Every test has its own demo server and its own fresh state database; every list is
//! generated here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

const INSTALL: &str = "Program Files (x86)/Trend Micro/Apex One";
#[cfg(unix)]
const CERTIFICATE_MANAGER: &str = "PCCSRV/Admin/Utility/CertificateManager/CertificateManager.exe";

/// One test's world: a demo server (or two), a fresh database and a folder for lists.
struct Env {
    tmp: tempfile::TempDir,
    install: PathBuf,
    db: PathBuf,
}

/// Writes a demo tree at `root` (with a throwaway database, so the test's own stays empty).
fn write_demo(root: &Path, scratch_db: &Path) -> PathBuf {
    Command::cargo_bin("certmend")
        .unwrap()
        .env_remove("CERTMEND_DB")
        .arg("--db")
        .arg(scratch_db)
        .args(["demo", "--seed", "1"])
        .arg(root)
        .assert()
        .success();
    let install = root.join(INSTALL);
    assert!(install.is_dir(), "{} was not written", install.display());
    install
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let install = write_demo(&tmp.path().join("drive"), &tmp.path().join("demo.sqlite3"));
        fs::create_dir(tmp.path().join("lists")).unwrap();
        let db = tmp.path().join("state.sqlite3");
        Env { tmp, install, db }
    }

    /// A second, independent demo server in the same world.
    fn second_server(&self) -> PathBuf {
        write_demo(
            &self.tmp.path().join("drive2"),
            &self.tmp.path().join("demo2.sqlite3"),
        )
    }

    /// `certmend --db <this test's database>`.
    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("certmend").unwrap();
        cmd.env_remove("CERTMEND_DB").arg("--db").arg(&self.db);
        cmd
    }

    /// Writes a list file and returns its path.
    fn list(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join("lists").join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    /// `certmend --json import FILE --server <demo>`, expecting `code`; the report.
    fn import(&self, file: &Path, code: i32) -> Value {
        self.import_for(&self.install, file, code)
    }

    fn import_for(&self, install: &Path, file: &Path, code: i32) -> Value {
        let mut cmd = self.cmd();
        cmd.args(["--json", "import"])
            .arg(file)
            .arg("--server")
            .arg(install);
        let report = json(&run(&mut cmd, code));
        check_counts(&report);
        report
    }

    /// `certmend --json agents ARGS`: the agents, checked against `count`.
    fn agents(&self, args: &[&str]) -> Vec<Value> {
        let mut cmd = self.cmd();
        cmd.args(["--json", "agents"]).args(args);
        let doc = json(&run(&mut cmd, 0));
        let agents = doc["agents"].as_array().expect("agents is a list").clone();
        assert_eq!(doc["count"].as_u64(), Some(agents.len() as u64), "{doc}");
        agents
    }

    /// The names `certmend agents ARGS` lists, sorted.
    fn names(&self, args: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = self
            .agents(args)
            .iter()
            .map(|a| a["name"].as_str().expect("name is text").to_string())
            .collect();
        names.sort();
        names
    }
}

/// Runs `cmd`, asserting its exit status (with both outputs on failure).
fn run(cmd: &mut Command, code: i32) -> Output {
    let output = cmd.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// rows == agents + duplicates + rejected (for an import that read the file).
fn check_counts(report: &Value) {
    if report.is_array() {
        report.as_array().unwrap().iter().for_each(check_counts);
        return;
    }
    if !report["already_imported"].is_null() {
        return;
    }
    let n = |key: &str| {
        report[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{key} missing: {report}"))
    };
    let rejected = report["rejected"].as_array().expect("rejected is a list");
    assert_eq!(
        n("rows"),
        n("agents") + n("duplicates") + rejected.len() as i64,
        "rows must be agents + duplicates + rejected: {report}"
    );
}

/// Asserts exit 2 with exactly one stderr line `certmend: error[CODE]: [PATH: ]...`.
fn assert_error(output: &Output, code: &str, path: Option<&Path>) -> String {
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    let prefix = format!("certmend: error[{code}]: ");
    assert!(lines[0].starts_with(&prefix), "{stderr}");
    if let Some(path) = path {
        let expected = format!("{prefix}{}: ", path.display());
        assert!(
            lines[0].starts_with(&expected),
            "{stderr}\nwanted {expected}"
        );
    }
    lines[0].to_string()
}

/// The agent named `name` (exactly), failing when there is not exactly one.
fn agent<'a>(agents: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = agents.iter().filter(|a| a["name"] == name).collect();
    assert_eq!(found.len(), 1, "one agent named {name} in {agents:#?}");
    found[0]
}

fn strs(value: &Value) -> Vec<Option<String>> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn some(items: &[&str]) -> Vec<Option<String>> {
    items.iter().map(|s| Some((*s).to_string())).collect()
}

/// (line, reason) of each rejection.
fn rejections(report: &Value) -> Vec<(u64, String)> {
    report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The numbers written in `text`, in order.
fn numbers(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect()
}

fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

fn utf16be(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes
}

/// CP932 by hand: ASCII as is, and the few Japanese characters these tests use.
fn cp932(text: &str) -> Vec<u8> {
    const TABLE: &[(char, [u8; 2])] = &[
        ('コ', [0x83, 0x52]),
        ('ン', [0x83, 0x93]),
        ('ピ', [0x83, 0x73]),
        ('ュ', [0x83, 0x85]),
        ('ー', [0x81, 0x5B]),
        ('タ', [0x83, 0x5E]),
        ('名', [0x96, 0xBC]),
        ('ア', [0x83, 0x41]),
        ('ド', [0x83, 0x68]),
        ('レ', [0x83, 0x8C]),
        ('ス', [0x83, 0x58]),
        ('メ', [0x83, 0x81]),
        ('イ', [0x83, 0x43]),
        ('営', [0x89, 0x63]),
        ('業', [0x8B, 0xC6]),
        ('部', [0x95, 0x94]),
        ('経', [0x8C, 0x6F]),
        ('理', [0x97, 0x9D]),
        // Trail byte 0x5C (a backslash in ASCII): the classic Shift_JIS trap.
        ('ソ', [0x83, 0x5C]),
        ('表', [0x95, 0x5C]),
    ];
    let mut bytes = Vec::new();
    for c in text.chars() {
        if c.is_ascii() {
            bytes.push(c as u8);
        } else {
            let (_, pair) = TABLE
                .iter()
                .find(|(k, _)| *k == c)
                .unwrap_or_else(|| panic!("{c} is not in the test's CP932 table"));
            bytes.extend_from_slice(pair);
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------
// Encodings

/// A Japanese list (header and names), CRLF, as CertificateManager on a Japanese
/// Windows writes it.
const JAPANESE_LIST: &str = "コンピュータ名,IPアドレス,ドメイン\r\n\
                             営業PC,10.0.0.1,営業部\r\n\
                             経理PC,10.0.0.2,経理部\r\n\
                             ソ表PC,10.0.0.3,営業部\r\n";

/// Imports `bytes` and checks it was read as `encoding` with the right names.
fn check_japanese_list(bytes: Vec<u8>, encoding: &str) {
    let env = Env::new();
    let file = env.list("list.csv", bytes);
    let report = env.import(&file, 0);
    assert_eq!(report["encoding"], encoding, "{report}");
    assert_eq!(report["delimiter"], ",");
    assert_eq!(report["header"], true);
    assert_eq!(
        strs(&report["columns"]),
        some(&["コンピュータ名", "IPアドレス", "ドメイン"]),
        "the header names as written (no byte-order mark): {report}"
    );
    assert_eq!(strs(&report["recognised"]), some(&["name", "ip", "domain"]));
    assert_eq!(report["rows"], 3);
    assert_eq!(report["agents"], 3);
    assert_eq!(report["new_agents"], 3);
    assert_eq!(report["duplicates"], 0);
    assert!(report["already_imported"].is_null());

    let agents = env.agents(&[]);
    assert_eq!(agents.len(), 3, "{agents:#?}");
    let sales = agent(&agents, "営業PC");
    assert_eq!(sales["ip"], "10.0.0.1");
    assert_eq!(sales["domain"], "営業部");
    assert_eq!(sales["status"], "mismatched");
    assert_eq!(agent(&agents, "経理PC")["domain"], "経理部");
    assert_eq!(agent(&agents, "ソ表PC")["ip"], "10.0.0.3");
}

#[test]
fn cp932_table_matches_known_bytes() {
    assert_eq!(
        cp932("コンピュータ名"),
        [0x83, 0x52, 0x83, 0x93, 0x83, 0x73, 0x83, 0x85, 0x81, 0x5B, 0x83, 0x5E, 0x96, 0xBC]
    );
    // And the bytes are not UTF-8, so the file really is CP932-only.
    assert!(std::str::from_utf8(&cp932(JAPANESE_LIST)).is_err());
}

#[test]
fn utf8_without_bom() {
    check_japanese_list(JAPANESE_LIST.as_bytes().to_vec(), "utf-8");
}

#[test]
fn utf8_with_bom() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(JAPANESE_LIST.as_bytes());
    check_japanese_list(bytes, "utf-8-bom");
}

#[test]
fn utf16le_with_bom() {
    check_japanese_list(utf16le(JAPANESE_LIST), "utf-16le");
}

#[test]
fn utf16be_with_bom() {
    check_japanese_list(utf16be(JAPANESE_LIST), "utf-16be");
}

#[test]
fn cp932_without_bom() {
    check_japanese_list(cp932(JAPANESE_LIST), "cp932");
}

#[test]
fn utf16le_tab_separated_with_an_english_header() {
    let env = Env::new();
    let file = env.list(
        "list.tsv",
        utf16le("Computer Name\tIP Address\r\nPC-UTF16\t10.0.0.16\r\n"),
    );
    let report = env.import(&file, 0);
    assert_eq!(report["encoding"], "utf-16le");
    assert_eq!(report["delimiter"], "\t");
    assert_eq!(agent(&env.agents(&[]), "PC-UTF16")["ip"], "10.0.0.16");
}

#[test]
fn a_file_in_no_known_encoding_is_refused() {
    let env = Env::new();
    let file = env.list(
        "broken.csv",
        b"Computer Name,IP Address\nPC1,10.0.0.1\nPC\xFF\xFF2,10.0.0.2\n",
    );
    let mut cmd = env.cmd();
    cmd.arg("import")
        .arg(&file)
        .arg("--server")
        .arg(&env.install);
    let output = run(&mut cmd, 2);
    assert_error(&output, "list.unknown_encoding", Some(&file));
    assert!(env.agents(&[]).is_empty(), "nothing is stored");
}

// ---------------------------------------------------------------------------------------
// Delimiters and headers

#[test]
fn comma_tab_and_semicolon_are_detected_from_the_header() {
    let env = Env::new();
    for (delimiter, name, file_name, os) in [
        (",", "PC-COMMA", "comma.csv", "Windows 10; build 19045\tx"),
        ("\t", "PC-TAB", "tab.tsv", "Windows 10, build 19045; x"),
        (";", "PC-SEMI", "semi.csv", "Windows 10, build 19045\tx"),
    ] {
        let text = format!(
            "Computer Name{d}IP Address{d}OS\r\n{name}{d}10.1.0.1{d}{os}\r\n",
            d = delimiter
        );
        let report = env.import(&env.list(file_name, text), 0);
        assert_eq!(report["delimiter"], delimiter, "{report}");
        assert_eq!(strs(&report["recognised"]), some(&["name", "ip", "os"]));
        assert_eq!(report["agents"], 1);
        let agents = env.agents(&["--search", name]);
        let found = agent(&agents, name);
        assert_eq!(found["ip"], "10.1.0.1");
        assert_eq!(found["os"], os, "the other delimiters are plain text");
    }
}

#[test]
fn computer_name_headers_in_english_and_japanese_any_case_and_spacing() {
    let env = Env::new();
    let aliases = [
        "Computer Name",
        "Computer",
        "Endpoint",
        "Endpoint Name",
        "Host Name",
        "Hostname",
        "Agent",
        "Client",
        "Client Name",
        "コンピュータ名",
        "コンピューター名",
        "エンドポイント",
        "エンドポイント名",
        "ホスト名",
        "クライアント名",
        // Case and spaces do not matter.
        "COMPUTER NAME",
        "computer name",
        "ComputerName",
        "computer  name",
        " Host Name ",
        "HOSTNAME",
        "endpointname",
    ];
    let mut expected = Vec::new();
    for (i, alias) in aliases.iter().enumerate() {
        let name = format!("ALIAS-PC-{i:02}");
        let text = format!("{alias},IP Address\n{name},10.2.0.{i}\n");
        let report = env.import(&env.list(&format!("alias-{i}.csv"), text), 0);
        assert_eq!(report["header"], true, "{alias:?}: {report}");
        assert_eq!(
            strs(&report["recognised"]),
            some(&["name", "ip"]),
            "{alias:?}: {report}"
        );
        assert_eq!(report["columns"][0], alias.trim(), "{alias:?}: {report}");
        assert_eq!(report["agents"], 1, "{alias:?}: {report}");
        expected.push(name);
    }
    assert_eq!(env.names(&[]), expected);
}

#[test]
fn other_column_headers_in_english_and_japanese() {
    let env = Env::new();
    let sets = [
        ["IP Address", "Domain", "GUID", "MAC Address", "OS"],
        ["IP", "Domain Name", "Agent GUID", "MAC", "Operating System"],
        ["IPv4", "ドメイン", "Client GUID", "MACアドレス", "OS名"],
        [
            "IPアドレス",
            "ドメイン名",
            "guid",
            "mac address",
            "operating system",
        ],
        ["ip address", "DOMAIN", "AGENT GUID", "Mac", "os"],
        [
            "IPV4",
            "domain name",
            "clientguid",
            "MACADDRESS",
            "OPERATING  SYSTEM",
        ],
    ];
    for (i, set) in sets.iter().enumerate() {
        let name = format!("COLS-PC-{i}");
        let guid = format!("0000000{i}-1111-2222-3333-444444444444");
        let text = format!(
            "Computer Name,{}\r\n{name},10.3.0.{i},DOM{i},{guid},00-11-22-33-44-0{i},Windows {i}\r\n",
            set.join(",")
        );
        let report = env.import(&env.list(&format!("cols-{i}.csv"), text), 0);
        assert_eq!(
            strs(&report["recognised"]),
            some(&["name", "ip", "domain", "guid", "mac", "os"]),
            "{set:?}: {report}"
        );
        let agents = env.agents(&["--search", &name]);
        let found = agent(&agents, &name);
        assert_eq!(found["ip"], format!("10.3.0.{i}"), "{set:?}");
        assert_eq!(found["domain"], format!("DOM{i}"), "{set:?}");
        assert_eq!(found["guid"], guid, "{set:?}");
        assert_eq!(found["mac"], format!("00-11-22-33-44-0{i}"), "{set:?}");
        assert_eq!(found["os"], format!("Windows {i}"), "{set:?}");
    }
}

#[test]
fn unknown_columns_are_kept_and_do_not_shift_the_known_ones() {
    let env = Env::new();
    let file = env.list(
        "extras.csv",
        "Last Seen,Computer Name,Department,IP Address,最終接続\n\
         2026-01-02,PC-EXTRA,Sales,10.4.0.1,昨日\n",
    );
    let report = env.import(&file, 0);
    assert_eq!(
        strs(&report["columns"]),
        some(&[
            "Last Seen",
            "Computer Name",
            "Department",
            "IP Address",
            "最終接続"
        ])
    );
    assert_eq!(
        strs(&report["recognised"]),
        vec![None, Some("name".into()), None, Some("ip".into()), None]
    );
    assert!(report["rejected"].as_array().unwrap().is_empty());
    let agents = env.agents(&[]);
    assert_eq!(agent(&agents, "PC-EXTRA")["ip"], "10.4.0.1");
}

#[test]
fn a_quoted_header_is_recognised() {
    let env = Env::new();
    let file = env.list(
        "quoted-header.csv",
        "\"Computer Name\",\"IP Address\"\r\n\"PC-QH\",\"10.4.1.1\"\r\n",
    );
    let report = env.import(&file, 0);
    assert_eq!(report["header"], true);
    assert_eq!(
        strs(&report["columns"]),
        some(&["Computer Name", "IP Address"])
    );
    assert_eq!(agent(&env.agents(&[]), "PC-QH")["ip"], "10.4.1.1");
}

#[test]
fn a_header_without_a_name_column_is_refused_and_nothing_is_stored() {
    let env = Env::new();
    // (A GUID column without a name column names the agents by GUID: not this case.)
    let file = env.list(
        "no-name.csv",
        "IP Address,Domain,OS\n10.5.0.1,CORP,Windows\n",
    );
    for _ in 0..2 {
        // Twice: the refused file is not remembered as imported.
        let mut cmd = env.cmd();
        cmd.args(["--json", "import"])
            .arg(&file)
            .arg("--server")
            .arg(&env.install);
        let output = run(&mut cmd, 2);
        assert_error(&output, "list.no_name_column", Some(&file));
        assert_eq!(json(&output)["error"]["code"], "list.no_name_column");
    }
    assert!(env.agents(&[]).is_empty());
}

// ---------------------------------------------------------------------------------------
// RFC 4180 quoting, line ends, blank lines, no header

/// Quoted delimiters, doubled quotes and a field spanning three lines; the lines after it
/// keep their physical numbers.
const QUOTED: &str = "Computer Name,IP Address,Domain,OS\n\
                      \"PC-QUOTED, INC\",10.6.0.1,\"CORP\",\"Windows \"\"11\"\" Pro\"\n\
                      PC-MULTI,10.6.0.2,CORP,\"line one\nline two\nline three\"\n\
                      ,10.6.0.3,CORP,no name\n\
                      PC-AFTER,10.6.0.4,CORP,\"\"\n\
                      PC-COUNT,10.6.0.5\n";

fn check_quoted(env: &Env, report: &Value) {
    assert_eq!(report["rows"], 5, "{report}");
    assert_eq!(report["agents"], 3);
    let rejected = rejections(report);
    assert_eq!(rejected.len(), 2, "{report}");
    // The multi-line field starts on line 3 and ends on line 5.
    assert_eq!(rejected[0], (6, "no computer name".to_string()));
    assert_eq!(report["rejected"][0]["text"], ",10.6.0.3,CORP,no name");
    assert_eq!(rejected[1].0, 8);
    assert_eq!(numbers(&rejected[1].1), [2, 4], "{}", rejected[1].1);

    let agents = env.agents(&[]);
    let quoted = agent(&agents, "PC-QUOTED, INC");
    assert_eq!(quoted["ip"], "10.6.0.1");
    assert_eq!(quoted["domain"], "CORP");
    assert_eq!(quoted["os"], "Windows \"11\" Pro");
    let multi = agent(&agents, "PC-MULTI");
    assert_eq!(
        multi["os"].as_str().unwrap().lines().collect::<Vec<_>>(),
        ["line one", "line two", "line three"]
    );
    assert_eq!(agent(&agents, "PC-AFTER")["ip"], "10.6.0.4");
}

#[test]
fn rfc4180_quoting_with_lf() {
    let env = Env::new();
    let report = env.import(&env.list("quoted-lf.csv", QUOTED), 1);
    check_quoted(&env, &report);
}

#[test]
fn rfc4180_quoting_with_crlf() {
    let env = Env::new();
    let report = env.import(
        &env.list("quoted-crlf.csv", QUOTED.replace('\n', "\r\n")),
        1,
    );
    check_quoted(&env, &report);
}

#[test]
fn blank_lines_are_skipped_and_not_counted() {
    let env = Env::new();
    let text = "Computer Name,IP Address\n\
                \n\
                PC-B1,10.7.0.1\n\
                \x20\x20\x20\n\
                \r\n\
                PC-B2,10.7.0.2\n\
                \n\
                ,10.7.0.3\n\
                \n";
    let report = env.import(&env.list("blank.csv", text), 1);
    assert_eq!(report["rows"], 3, "{report}");
    assert_eq!(report["agents"], 2);
    assert_eq!(rejections(&report), [(8, "no computer name".to_string())]);
    assert_eq!(env.names(&[]), ["PC-B1", "PC-B2"]);
}

#[test]
fn without_a_header_the_first_column_is_the_name_and_ips_are_found() {
    let env = Env::new();
    let text = "PC-NH1,10.8.0.1,WORKGROUP\n\
                PC-NH2,something,10.8.0.2\n\
                ,10.8.0.3\n\
                PC-NH4\n\
                PC-NH5,fe80::5\n";
    let report = env.import(&env.list("no-header.csv", text), 1);
    assert_eq!(report["header"], false, "{report}");
    assert_eq!(report["rows"], 5, "the first line is data: {report}");
    assert_eq!(report["agents"], 4);
    assert_eq!(rejections(&report), [(3, "no computer name".to_string())]);
    let agents = env.agents(&[]);
    assert_eq!(agent(&agents, "PC-NH1")["ip"], "10.8.0.1");
    assert_eq!(agent(&agents, "PC-NH2")["ip"], "10.8.0.2");
    assert!(agent(&agents, "PC-NH4")["ip"].is_null());
    assert_eq!(agent(&agents, "PC-NH5")["ip"], "fe80::5");
}

// ---------------------------------------------------------------------------------------
// Rejections

#[test]
fn bad_lines_are_rejected_with_line_and_reason() {
    let env = Env::new();
    let text = "Computer Name,IP Address,Domain\n\
                PC-R1,10.9.0.1,D\n\
                ,10.9.0.2,D\n\
                \"  \",10.9.0.3,D\n\
                PC-R5,10.9.0.5,D,EXTRA\n\
                PC-R6,10.9.0.6\n\
                PC-R7,10.9.0.7,D\n";
    let report = env.import(&env.list("bad.csv", text), 1);
    assert_eq!(report["rows"], 6);
    assert_eq!(report["agents"], 2);
    let rejected = rejections(&report);
    let lines: Vec<u64> = rejected.iter().map(|r| r.0).collect();
    assert_eq!(lines, [3, 4, 5, 6], "{report}");
    assert_eq!(rejected[0].1, "no computer name");
    assert_eq!(rejected[1].1, "no computer name");
    assert_eq!(numbers(&rejected[2].1), [4, 3], "{}", rejected[2].1);
    assert_eq!(numbers(&rejected[3].1), [2, 3], "{}", rejected[3].1);
    assert_eq!(report["rejected"][0]["text"], ",10.9.0.2,D");
    assert_eq!(report["rejected"][2]["text"], "PC-R5,10.9.0.5,D,EXTRA");
    // The good lines were stored even though the exit status is 1.
    assert_eq!(env.names(&[]), ["PC-R1", "PC-R7"]);
}

#[test]
fn an_unterminated_quote_at_the_end_is_rejected_and_the_next_lines_are_read() {
    let env = Env::new();
    let text = "Computer Name,IP Address\n\
                PC-U1,10.10.0.1\n\
                PC-U2,\"10.10.0.2\n\
                PC-U3,10.10.0.3\n\
                PC-U4,10.10.0.4\n";
    let report = env.import(&env.list("open-quote.csv", text), 1);
    let rejected = rejections(&report);
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0].0, 3);
    assert!(rejected[0].1.contains("unterminated quote"), "{report}");
    assert!(report["rejected"][0]["text"]
        .as_str()
        .unwrap()
        .contains("PC-U2"));
    assert_eq!(report["agents"], 3);
    assert_eq!(env.names(&[]), ["PC-U1", "PC-U3", "PC-U4"]);
}

#[test]
fn an_unterminated_quote_early_in_a_long_list_loses_no_later_line() {
    let env = Env::new();
    let mut text = String::from("Computer Name,IP Address\nPC-L1,10.11.0.1\nPC-L2,\"10.11.0.2\n");
    for i in 4..=103 {
        text.push_str(&format!("PC-L{i},10.11.1.{}\n", i % 250));
    }
    text.push_str(",10.11.2.1\n"); // line 104
    let report = env.import(&env.list("open-quote-long.csv", text), 1);
    let rejected = rejections(&report);
    assert_eq!(rejected.len(), 2, "{report}");
    assert_eq!(rejected[0].0, 3);
    assert!(rejected[0].1.contains("unterminated quote"), "{report}");
    assert_eq!(rejected[1], (104, "no computer name".to_string()));
    assert_eq!(report["agents"], 101);
    let names = env.names(&[]);
    assert_eq!(names.len(), 101);
    assert!(names.contains(&"PC-L4".to_string()));
    assert!(names.contains(&"PC-L103".to_string()));
}

/// The same promise for a list that quotes every field (as many CSV writers do): the
/// open quote on line 3 must not swallow line 4.
#[test]
fn an_unterminated_quote_in_a_fully_quoted_list_loses_no_later_line() {
    let env = Env::new();
    let text = "\"Computer Name\",\"IP Address\"\n\
                \"PC-Q1\",\"10.12.0.1\"\n\
                \"PC-Q2\",\"10.12.0.2\n\
                \"PC-Q3\",\"10.12.0.3\"\n\
                \"PC-Q4\",\"10.12.0.4\"\n";
    let report = env.import(&env.list("open-quote-quoted.csv", text), 1);
    let rejected = rejections(&report);
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0].0, 3, "{report}");
    assert!(
        rejected[0].1.contains("unterminated quote"),
        "reason: {}",
        rejected[0].1
    );
    assert_eq!(
        env.names(&[]),
        ["PC-Q1", "PC-Q3", "PC-Q4"],
        "the well-formed line 4 must still be an agent: {report}"
    );
}

// ---------------------------------------------------------------------------------------
// Duplicates and identity

#[test]
fn duplicates_are_same_name_any_case_and_same_guid() {
    let env = Env::new();
    let text = "Computer Name,IP Address,GUID\n\
                PC-D1,10.13.0.1,{ABCDEF01-0000-0000-0000-000000000001}\n\
                pc-d1,10.13.0.1,abcdef01-0000-0000-0000-000000000001\n\
                PC-D1,10.13.0.9,{ABCDEF01-0000-0000-0000-000000000002}\n\
                PC-D2,10.13.0.2,\n\
                Pc-D2,10.13.0.2,\n";
    let report = env.import(&env.list("dups.csv", text), 0);
    assert_eq!(report["rows"], 5, "{report}");
    assert_eq!(report["agents"], 3);
    assert_eq!(report["duplicates"], 2);
    assert_eq!(report["new_agents"], 3);
    assert!(report["rejected"].as_array().unwrap().is_empty());

    let agents = env.agents(&[]);
    assert_eq!(agents.len(), 3, "{agents:#?}");
    let d1: Vec<&Value> = agents
        .iter()
        .filter(|a| a["name"].as_str().unwrap().eq_ignore_ascii_case("PC-D1"))
        .collect();
    assert_eq!(d1.len(), 2, "same name, different GUID: two agents");
    let mut guids: Vec<String> = d1
        .iter()
        .map(|a| {
            a["guid"]
                .as_str()
                .unwrap()
                .trim_matches(['{', '}'])
                .to_lowercase()
        })
        .collect();
    guids.sort();
    assert_eq!(
        guids,
        [
            "abcdef01-0000-0000-0000-000000000001",
            "abcdef01-0000-0000-0000-000000000002"
        ]
    );
    let d2 = agents
        .iter()
        .filter(|a| a["name"].as_str().unwrap().eq_ignore_ascii_case("PC-D2"))
        .count();
    assert_eq!(d2, 1);
}

// ---------------------------------------------------------------------------------------
// Re-imports and statuses

#[test]
fn reimporting_the_same_bytes_changes_nothing() {
    let env = Env::new();
    let text = "Computer Name,IP Address\nPC-RE1,10.14.0.1\nPC-RE2,10.14.0.2\n";
    let file = env.list("list.csv", text);
    let first = env.import(&file, 0);
    assert!(first["already_imported"].is_null());
    let before = env.agents(&[]);
    assert_eq!(before.len(), 2);

    let again = env.import(&file, 0);
    assert!(again["already_imported"].is_object(), "{again}");
    assert_eq!(again["new_agents"], 0);
    assert_eq!(env.agents(&[]), before);

    // Same bytes under another name: still the same list.
    let copy = env.list("copy of list.csv", text);
    let copied = env.import(&copy, 0);
    assert!(copied["already_imported"].is_object(), "{copied}");
    assert_eq!(env.agents(&[]), before);
}

#[test]
fn the_same_bytes_for_another_server_are_imported() {
    let env = Env::new();
    let other = env.second_server();
    let file = env.list("list.csv", "Computer Name\nPC-TWO-SERVERS\n");
    assert!(env.import(&file, 0)["already_imported"].is_null());
    let report = env.import_for(&other, &file, 0);
    assert!(report["already_imported"].is_null(), "{report}");
    assert_eq!(report["new_agents"], 1);
    assert_eq!(report["server"]["install_folder"], other.to_str().unwrap());
    let agents = env.agents(&[]);
    assert_eq!(agents.len(), 2, "one agent per server: {agents:#?}");
    let mut cmd = env.cmd();
    cmd.args(["--json", "agents", "--server"]).arg(&other);
    let doc = json(&run(&mut cmd, 0));
    assert_eq!(doc["count"], 1);
}

#[test]
fn agents_absent_from_a_later_list_are_resolved() {
    let env = Env::new();
    let a = env.list(
        "a.csv",
        "Computer Name,IP Address\nPC-X,10.15.0.1\nPC-Y,10.15.0.2\n",
    );
    let b = env.list(
        "b.csv",
        "Computer Name,IP Address\npc-y,10.15.0.2\nPC-Z,10.15.0.3\n",
    );
    let first = env.import(&a, 0);
    assert_eq!(first["new_agents"], 2);
    assert_eq!(first["resolved"], 0);

    let second = env.import(&b, 0);
    assert_eq!(second["resolved"], 1, "{second}");
    assert_eq!(second["new_agents"], 1, "pc-y is PC-Y: {second}");
    assert_eq!(second["agents"], 2);

    // Which spelling of Y's name is kept is not the point here: compare in lower case.
    let lower = |names: Vec<String>| -> Vec<String> {
        let mut names: Vec<String> = names.into_iter().map(|n| n.to_lowercase()).collect();
        names.sort();
        names
    };
    assert_eq!(env.names(&["--status", "resolved"]), ["PC-X"]);
    assert_eq!(
        lower(env.names(&["--status", "mismatched"])),
        ["pc-y", "pc-z"]
    );
    let all = env.agents(&[]);
    assert_eq!(all.len(), 3);
    let y = all
        .iter()
        .find(|a| a["name"].as_str().unwrap().eq_ignore_ascii_case("pc-y"))
        .unwrap();
    assert_eq!(y["lists"], 2);
    assert!(env.names(&["--status", "repaired"]).is_empty());

    // A again: its bytes were imported before, so nothing changes (X stays resolved).
    let third = env.import(&a, 0);
    assert!(third["already_imported"].is_object(), "{third}");
    assert_eq!(env.agents(&[]), all);
    assert_eq!(env.names(&["--status", "resolved"]), ["PC-X"]);

    // A new list naming only X: X is mismatched again, Y and Z resolved.
    let c = env.list("c.csv", "Computer Name,IP Address\nPC-X,10.15.0.1\n");
    let fourth = env.import(&c, 0);
    assert_eq!(fourth["resolved"], 2, "{fourth}");
    assert_eq!(fourth["new_agents"], 0);
    assert_eq!(env.names(&["--status", "mismatched"]), ["PC-X"]);
    assert_eq!(
        lower(env.names(&["--status", "resolved"])),
        ["pc-y", "pc-z"]
    );
}

#[test]
fn search_matches_name_ip_domain_and_guid() {
    let env = Env::new();
    let text = "Computer Name,IP Address,Domain,GUID\n\
                PC-SEARCH-ONE,10.16.0.1,SALES,{AB12CD34-0000-0000-0000-000000000001}\n\
                PC-SEARCH-TWO,10.16.0.2,FACTORY,{AB12CD34-0000-0000-0000-000000000002}\n\
                PC_3,192.168.7.3,LAB,\n\
                PCX3,192.168.7.4,LAB,\n";
    env.import(&env.list("search.csv", text), 0);
    assert_eq!(env.names(&["--search", "search-one"]), ["PC-SEARCH-ONE"]);
    assert_eq!(
        env.names(&["--search", "10.16.0."]),
        ["PC-SEARCH-ONE", "PC-SEARCH-TWO"]
    );
    assert_eq!(env.names(&["--search", "factory"]), ["PC-SEARCH-TWO"]);
    assert_eq!(
        env.names(&["--search", "AB12CD34-0000-0000-0000-000000000002"]),
        ["PC-SEARCH-TWO"]
    );
    assert_eq!(
        env.names(&["--search", "ab12cd34-0000-0000-0000-000000000001"]),
        ["PC-SEARCH-ONE"]
    );
    assert_eq!(env.names(&["--search", "lab"]), ["PCX3", "PC_3"]);
    // `_` and `%` are text, not wildcards.
    assert_eq!(env.names(&["--search", "_"]), ["PC_3"]);
    assert!(env.names(&["--search", "%"]).is_empty());
    assert!(env.names(&["--search", "no-such-agent"]).is_empty());
    assert_eq!(
        env.names(&["--search", "pc", "--status", "resolved"]),
        Vec::<String>::new()
    );
}

/// `--search` with exactly the text the list wrote must find the agent, whatever its
/// script (full-width letters are common in Japanese computer names).
#[test]
fn search_finds_non_ascii_names_as_written() {
    let env = Env::new();
    let text = "コンピュータ名,IPアドレス,ドメイン\n\
                ＰＣ－営業,10.17.0.1,営業部\n\
                ÉCOLE-PC,10.17.0.2,Zürich\n";
    env.import(&env.list("non-ascii.csv", text), 0);
    assert_eq!(env.names(&["--search", "営業"]), ["ＰＣ－営業"]);
    assert_eq!(env.names(&["--search", "Zürich"]), ["ÉCOLE-PC"]);
    assert_eq!(
        env.names(&["--search", "ＰＣ"]),
        ["ＰＣ－営業"],
        "full-width upper-case letters, exactly as stored"
    );
    assert_eq!(
        env.names(&["--search", "ÉCOLE"]),
        ["ÉCOLE-PC"],
        "accented upper-case letters, exactly as stored"
    );
}

// ---------------------------------------------------------------------------------------
// Choosing the server

#[test]
fn without_server_the_server_read_last_is_used() {
    let env = Env::new();
    let other = env.second_server();
    env.cmd()
        .arg("server")
        .arg("show")
        .arg(&env.install)
        .assert()
        .success();
    let file = env.list("list.csv", "Computer Name\nPC-LAST-READ\n");
    let mut cmd = env.cmd();
    cmd.args(["--json", "import"]).arg(&file);
    let report = json(&run(&mut cmd, 0));
    assert_eq!(report["server"]["chosen_by"], "last_read", "{report}");
    assert_eq!(
        report["server"]["install_folder"],
        env.install.to_str().unwrap()
    );
    assert_eq!(report["agents"], 1);
    let mut cmd = env.cmd();
    cmd.args(["--json", "agents", "--server"]).arg(&env.install);
    assert_eq!(json(&run(&mut cmd, 0))["count"], 1);

    // Importing with --server reads that server, so it becomes the one read last.
    let given = env.import_for(&other, &env.list("other.csv", "Computer Name\nPC-O\n"), 0);
    assert_eq!(given["server"]["chosen_by"], "given");
    assert_eq!(given["server"]["install_folder"], other.to_str().unwrap());
    let mut cmd = env.cmd();
    cmd.args(["--json", "import"])
        .arg(env.list("next.csv", "Computer Name\nPC-N\n"));
    let next = json(&run(&mut cmd, 0));
    assert_eq!(next["server"]["chosen_by"], "last_read");
    assert_eq!(next["server"]["install_folder"], other.to_str().unwrap());
}

#[test]
fn without_server_and_with_no_server_known_the_import_is_refused() {
    let env = Env::new();
    let file = env.list("list.csv", "Computer Name\nPC1\n");
    let mut cmd = env.cmd();
    cmd.arg("import").arg(&file);
    let output = run(&mut cmd, 2);
    assert_error(&output, "server.none_known", None);
}

#[test]
fn given_server_is_reported() {
    let env = Env::new();
    let report = env.import(&env.list("list.csv", "Computer Name\nPC1\n"), 0);
    assert_eq!(report["server"]["chosen_by"], "given");
    assert_eq!(
        report["server"]["install_folder"],
        env.install.to_str().unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// Bad files and usage

#[test]
fn a_missing_file_and_a_folder_are_refused() {
    let env = Env::new();
    let missing = env.tmp.path().join("lists").join("no-such-list.csv");
    let mut cmd = env.cmd();
    cmd.args(["--json", "import"])
        .arg(&missing)
        .arg("--server")
        .arg(&env.install);
    let output = run(&mut cmd, 2);
    assert_error(&output, "file.not_found", Some(&missing));
    assert_eq!(json(&output)["error"]["code"], "file.not_found");

    let folder = env.tmp.path().join("lists");
    let mut cmd = env.cmd();
    cmd.arg("import")
        .arg(&folder)
        .arg("--server")
        .arg(&env.install);
    let output = run(&mut cmd, 2);
    assert_error(&output, "file.is_directory", Some(&folder));
}

/// A stick holds a "list" that is a link to a local file, a pipe, or a file larger
/// than any list: each is refused with its own code and the file's name, promptly, and
/// nothing reaches the store.
#[cfg(unix)]
#[test]
fn a_link_a_pipe_and_a_huge_list_are_refused_and_nothing_is_stored() {
    let env = Env::new();
    let local = env.list("local-agents.csv", "Computer Name\nNOT-FROM-THE-STICK\n");
    let stick = env.tmp.path().join("stick");
    fs::create_dir(&stick).unwrap();
    let link = stick.join("CertificateManager.csv");
    std::os::unix::fs::symlink(&local, &link).unwrap();
    let fifo = stick.join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let huge = stick.join("huge.csv");
    // Sparse: 256 MiB + 1 byte without using the disk.
    fs::File::create(&huge)
        .unwrap()
        .set_len(256 * 1024 * 1024 + 1)
        .unwrap();
    for (file, code, words) in [
        (&link, "file.link", "is a link"),
        (&fifo, "file.not_regular", "not a regular file"),
        (&huge, "file.too_large", "too large for an agent list"),
    ] {
        let mut cmd = env.cmd();
        cmd.arg("import")
            .arg(file)
            .arg("--server")
            .arg(&env.install)
            .timeout(std::time::Duration::from_secs(60));
        let output = run(&mut cmd, 2);
        let line = assert_error(&output, code, Some(file));
        assert!(line.contains(words), "{line}");
    }
    assert!(env.names(&[]).is_empty(), "nothing was stored");
}

#[test]
fn import_without_files_is_a_usage_error() {
    let env = Env::new();
    let mut cmd = env.cmd();
    cmd.arg("import").arg("--server").arg(&env.install);
    let output = run(&mut cmd, 2);
    assert_error(&output, "usage.no_files", None);
}

#[test]
fn several_files_give_one_report_each() {
    let env = Env::new();
    let good = env.list("good.csv", "Computer Name\nPC-M1\n");
    let bad = env.list("bad.csv", "Computer Name,IP\nPC-M2,10.18.0.2\n,10.18.0.3\n");
    let mut cmd = env.cmd();
    cmd.args(["--json", "import"])
        .arg(&good)
        .arg(&bad)
        .arg("--server")
        .arg(&env.install);
    // One rejected line in any file: exit 1.
    let reports = json(&run(&mut cmd, 1));
    check_counts(&reports);
    let reports = reports.as_array().expect("one report per file");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["agents"], 1);
    assert_eq!(reports[1]["agents"], 1);
    assert_eq!(
        rejections(&reports[1]),
        [(3, "no computer name".to_string())]
    );
    assert!(reports.iter().all(|r| r["server"]["chosen_by"] == "given"));
    // The second list replaced the first: PC-M1 is no longer on it.
    assert_eq!(env.names(&["--status", "resolved"]), ["PC-M1"]);
    assert_eq!(env.names(&["--status", "mismatched"]), ["PC-M2"]);
}

#[test]
fn a_failing_file_does_not_hide_the_others() {
    let env = Env::new();
    let good = env.list("good.csv", "Computer Name\nPC-F1\n");
    let folder = env.tmp.path().join("lists");
    let later = env.list("later.csv", "Computer Name\nPC-F1\nPC-F2\n");
    let mut cmd = env.cmd();
    cmd.args(["--json", "import"])
        .arg(&good)
        .arg(&folder)
        .arg(&later)
        .arg("--server")
        .arg(&env.install);
    let output = run(&mut cmd, 2);
    let docs = json(&output);
    let docs = docs.as_array().expect("one entry per file");
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["agents"], 1);
    assert_eq!(docs[1]["error"]["code"], "file.is_directory");
    assert_eq!(docs[2]["agents"], 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(env.names(&[]), ["PC-F1", "PC-F2"]);
}

// ---------------------------------------------------------------------------------------
// Running CertificateManager (a shell script stands in for the .exe)

/// Replaces the demo's CertificateManager.exe with an executable shell script.
#[cfg(unix)]
fn install_certificate_manager(env: &Env, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let tool = env.install.join(CERTIFICATE_MANAGER);
    assert!(tool.is_file(), "the demo has {}", tool.display());
    let source = env.tmp.path().join("certificate-manager.sh");
    fs::write(&source, format!("#!/bin/sh\n{body}\n")).unwrap();
    // Copied by a child process, so no descriptor open for writing on the script can
    // leak into a process another test thread forks at the same time (which would make
    // executing it fail with "Text file busy").
    let status = std::process::Command::new("cp")
        .arg(&source)
        .arg(&tool)
        .status()
        .unwrap();
    assert!(status.success());
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
fn run_certificate_manager(env: &Env, code: i32) -> Output {
    let mut cmd = env.cmd();
    cmd.args(["--json", "import", "--run-certificate-manager", "--server"])
        .arg(&env.install);
    run(&mut cmd, code)
}

#[cfg(unix)]
#[test]
fn certificate_manager_list_is_imported() {
    let env = Env::new();
    install_certificate_manager(
        &env,
        r#"[ "$1" = "-l" ] || { echo "first argument was $1" >&2; exit 9; }
case "$2" in /*) ;; *) echo "not an absolute path: $2" >&2; exit 9 ;; esac
printf 'Computer Name,IP Address\r\nCM-PC-1,10.19.0.1\r\nCM-PC-2,10.19.0.2\r\n' > "$2"
echo "List written."
"#,
    );
    let report = json(&run_certificate_manager(&env, 0));
    check_counts(&report);
    assert_eq!(report["agents"], 2, "{report}");
    assert_eq!(report["server"]["chosen_by"], "given");
    let agents = env.agents(&[]);
    assert_eq!(agent(&agents, "CM-PC-1")["ip"], "10.19.0.1");
    assert_eq!(agent(&agents, "CM-PC-2")["ip"], "10.19.0.2");
    // The list CertificateManager wrote was a temporary file.
    let written = Path::new(report["file"].as_str().unwrap());
    assert!(written.is_absolute(), "{report}");
    assert!(!written.exists(), "{} was left behind", written.display());
}

#[cfg(unix)]
#[test]
fn certificate_manager_failing_is_reported_with_code_and_output() {
    let env = Env::new();
    install_certificate_manager(&env, "echo 'Access is denied.'\nexit 123");
    let output = run_certificate_manager(&env, 2);
    let line = assert_error(&output, "certificate_manager.failed", None);
    // The numbers after the program's path (the path itself has digits of its own).
    let (_, after_program) = line.split_once("CertificateManager.exe").expect(&line);
    assert!(numbers(after_program).contains(&123), "{line}");
    assert!(line.contains("Access is denied."), "{line}");
    assert!(env.agents(&[]).is_empty());
}

/// Exit 0 and no list is undocumented (it may mean no agent is mismatched): its own
/// outcome with the tool's output, exit status 0, never an error.
#[cfg(unix)]
#[test]
fn certificate_manager_writing_no_list_is_reported_as_nothing_listed() {
    let env = Env::new();
    install_certificate_manager(&env, "echo 'Nothing to do.'\nexit 0");
    let doc = json(&run_certificate_manager(&env, 0));
    assert_eq!(doc["code"], "certificate_manager.nothing_listed", "{doc}");
    assert_eq!(doc["certificate_manager"]["outcome"], "nothing_listed");
    assert_eq!(doc["certificate_manager"]["output"], "Nothing to do.");
    assert!(
        doc["message"].as_str().unwrap().contains(
            "CertificateManager wrote no list: it may mean no agent is mismatched \
             (Trend does not document this case)"
        ),
        "{doc}"
    );
    let mut cmd = env.cmd();
    cmd.args(["import", "--run-certificate-manager", "--server"])
        .arg(&env.install);
    let output = run(&mut cmd, 0);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("CertificateManager wrote no list: it may mean no agent is mismatched")
            && stdout.contains("Output      Nothing to do."),
        "{stdout}"
    );
    assert!(output.stderr.is_empty());
    assert!(env.agents(&[]).is_empty());
}

/// `certmend agents | head -1`: the reader takes one line and goes away. The command
/// must end quietly (status 0, nothing on stderr), not panic with "failed printing to
/// stdout" and a backtrace. Text and JSON output both; the list is far larger than a
/// pipe's buffer, so the writes after the reader left do fail.
#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command as StdCommand, Stdio};

    let env = Env::new();
    let names: Vec<String> = (0..5000).map(|i| format!("PC-PIPE-{i:05}")).collect();
    let mut text = String::from("Computer Name,IP Address\r\n");
    for (i, name) in names.iter().enumerate() {
        text.push_str(&format!("{name},10.9.{}.{}\r\n", i / 256, i % 256));
    }
    env.import(&env.list("many.csv", text), 0);

    for json in [false, true] {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin("certmend"));
        cmd.env_remove("CERTMEND_DB").arg("--db").arg(&env.db);
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .arg("agents")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "json={json}: nothing printed");
        // The reader is dropped here: the pipe closes with most of the output unread.
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "json={json}: {stderr}");
        assert!(stderr.is_empty(), "json={json}: {stderr}");
    }
}
