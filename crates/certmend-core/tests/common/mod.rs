//! The world the use-case tests run in: a copy of one demo server (written once per
//! test binary: key generation is the slow part), a state database of its own, and
//! helpers that build requests, count password prompts and write receipts the way
//! repair.cmd does.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use certmend_core::bundle::{Selection, SyntaxRequest, XgValues};
use certmend_core::demo::{self, DemoOptions, DemoSummary};
use certmend_core::ops::agents::{CertificateManagerRun, ImportInto, ImportRequest};
use certmend_core::ops::repair::{AgentPassword, ExportRequest};
use certmend_core::script::{ScriptLanguage, ToolsLocation};
use certmend_core::store::Store;
use certmend_core::CodedMessage;
use tempfile::TempDir;
use zeroize::Zeroizing;

/// Fixed, so the agents and certificates are the same on every run.
pub const SEED: u64 = 15;

/// The demo written once; tests copy it and never touch it. A static is never dropped,
/// so it lives in Cargo's scratch folder for tests (under target/, gone with `cargo
/// clean`) rather than the system's temporary folder.
fn template() -> &'static DemoSummary {
    static TEMPLATE: OnceLock<(TempDir, DemoSummary)> = OnceLock::new();
    let (_, summary) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("ops-demo-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let summary = demo::write_demo(
            &dir.path().join("drive"),
            &DemoOptions {
                seed: Some(SEED),
                force: false,
            },
        )
        .unwrap();
        (dir, summary)
    });
    summary
}

/// One test's own demo server (a system drive at `demo.root`) and state database.
pub struct World {
    pub tmp: TempDir,
    pub demo: DemoSummary,
    pub store: Store,
}

impl World {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let template = template();
        let root = tmp.path().join("drive");
        copy_tree(&template.root, &root);
        let demo = rebase(template, &root);
        let store = Store::open(&tmp.path().join("state").join("certmend.sqlite3")).unwrap();
        World { tmp, demo, store }
    }

    /// A path under this test's temporary folder (not on the demo drive).
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The demo's current certificate, as the server holds it.
    pub fn certificate_bytes(&self) -> Vec<u8> {
        fs::read(&self.demo.certificate).unwrap()
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The template's summary with every path moved under `root`.
fn rebase(summary: &DemoSummary, root: &Path) -> DemoSummary {
    let moved = |path: &Path| root.join(path.strip_prefix(&summary.root).unwrap());
    DemoSummary {
        root: root.to_path_buf(),
        install_folder: moved(&summary.install_folder),
        certificate: moved(&summary.certificate),
        list_file: moved(&summary.list_file),
        collected_folder: moved(&summary.collected_folder),
        key_pair_file: moved(&summary.key_pair_file),
        previous_key_pair_file: moved(&summary.previous_key_pair_file),
        ..summary.clone()
    }
}

/// A password prompt that counts how often it was asked.
pub struct Prompt {
    answer: String,
    asked: Cell<usize>,
}

impl Prompt {
    pub fn new(answer: &str) -> Self {
        Prompt {
            answer: answer.to_string(),
            asked: Cell::new(0),
        }
    }

    pub fn answer(&self) -> Result<Zeroizing<String>, CodedMessage> {
        self.asked.set(self.asked.get() + 1);
        Ok(Zeroizing::new(self.answer.clone()))
    }

    /// The file-password form ([`certmend_core::ops::keys::PasswordFor`]).
    pub fn answer_for(&self, _file: &Path) -> Result<Zeroizing<String>, CodedMessage> {
        self.answer()
    }

    pub fn asked(&self) -> usize {
        self.asked.get()
    }
}

/// Importing `files` into the server at `install` (read and recorded now).
pub fn import_request(install: &Path, files: &[&Path]) -> ImportRequest {
    ImportRequest {
        into: ImportInto::Folder(install.to_path_buf()),
        files: files.iter().map(|f| f.to_path_buf()).collect(),
        certificate_manager: CertificateManagerRun::Skip,
    }
}

/// An export of every mismatched agent into `out_dir`, as the dialog's defaults have it.
pub fn export_request(out_dir: &Path) -> ExportRequest<'static> {
    ExportRequest {
        out_dir: out_dir.to_path_buf(),
        selection: Selection::AllMismatched,
        ipxfer_dir: None,
        tools: ToolsLocation::InBundle,
        syntax: SyntaxRequest::Auto,
        xg: XgValues::default(),
        language: ScriptLanguage::En,
        password: AgentPassword::AskedByScript,
        destination: certmend_core::bundle::Destination::Stick,
    }
}

/// A receipt line with every field repair.cmd writes now, values quoted.
pub fn receipt_line(computer: &str, bundle: &str, after_sha256: &str, result: &str) -> String {
    let fields = [
        ("computer", computer),
        ("bundle", bundle),
        ("run", "4711"),
        ("date", "Wed 11/25/2026"),
        ("time", " 9:01:02.03"),
        ("mode", "repair"),
        ("ipxfer", "IpXfer_x64.exe"),
        ("ipxfer_exit", "0"),
        ("before", &"AB".repeat(32)),
        ("after", after_sha256),
        ("check", "sha256"),
        ("thumbprint", ""),
        ("service", "running"),
        ("waited", "3"),
        ("server", ""),
        ("name_check", "match"),
        ("guid_check", "match"),
        ("tampered", ""),
        ("result", result),
    ];
    let mut line = String::from("certmend-receipt=1");
    for (key, value) in fields {
        line.push_str(&format!(";{key}=\"{value}\""));
    }
    line.push_str("\r\n");
    line
}

/// Appends `line` to `<out_dir>\receipts\<computer>.txt`, as repair.cmd does.
pub fn append_receipt(out_dir: &Path, computer: &str, line: &str) {
    use std::io::Write;
    let folder = out_dir.join("receipts");
    fs::create_dir_all(&folder).unwrap();
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join(format!("{computer}.txt")))
        .unwrap();
    file.write_all(line.as_bytes()).unwrap();
}
