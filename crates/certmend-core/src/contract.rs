//! The contract between Rust and the window, declared once: the commands the window may
//! call, the events Rust emits, the agent statuses and receipt results, the codes every
//! message to a person carries (with the names of their arguments), and the numbers the
//! window must agree with (the backup password minimum, the expiry warning).
//!
//! `cargo xtask contract` writes `ui/contract.js` from [`javascript`]; `cargo xtask test`
//! fails when that file is stale. The app's command lists (handlers, build.rs, the
//! capability, COMMANDS.md) are checked against [`COMMANDS`] by its contract test.

use serde_json::{json, Map, Value};

use crate::agents::status::{self, AgentStatus, ReceiptResult};

/// Every command of the desktop app, in the order of its handler list.
pub const COMMANDS: &[&str] = &[
    "open_server",
    "choose_server",
    "reload_server",
    "start_import",
    "cancel_job",
    "agents_page",
    "compare_collected",
    "classify_drop",
    "list_drives",
    "export_estimate",
    "start_export",
    "read_receipts",
    "verify_bundles",
    "export_progress",
    "open_folder",
    "keypair_show",
    "backup_create",
    "backups_list",
    "backup_verify",
    "restore_plan",
    "restore_kit",
    "events",
    "pick_files",
    "pick_folder",
    "quit_app",
];

/// The events the app emits to the window.
pub mod events {
    /// A job's bytes (or items) done of the total, at most ten times a second.
    pub const JOB_PROGRESS: &str = "job-progress";
    /// A job's result or error.
    pub const JOB_DONE: &str = "job-done";
    /// Receipts read by themselves (a watched stick) that changed or found something.
    pub const RECEIPTS_APPLIED: &str = "receipts-applied";
    /// The server's OfcNTCer.dat differs from what the window shows.
    pub const SERVER_CERTIFICATE_CHANGED: &str = "server-certificate-changed";
    /// The window is being closed while jobs run: it asks the admin first.
    pub const CLOSE_REQUESTED: &str = "close-requested";

    pub const ALL: &[(&str, &str)] = &[
        ("JOB_PROGRESS", JOB_PROGRESS),
        ("JOB_DONE", JOB_DONE),
        ("RECEIPTS_APPLIED", RECEIPTS_APPLIED),
        ("SERVER_CERTIFICATE_CHANGED", SERVER_CERTIFICATE_CHANGED),
        ("CLOSE_REQUESTED", CLOSE_REQUESTED),
    ];
}

/// The kinds of entries in the event log (History).
pub const EVENT_KINDS: &[&str] = &[
    "list.imported",
    "server.first_read",
    "certificate.changed",
    "bundles.exported",
    "bundles.entry_written",
    "receipt.read",
    "certificates.compared",
    "backup.created",
    "backup.pre_restore",
    "backup.restored",
    "backup.restore_recovered",
    "backup.restore_kit",
];

/// A code a message to a person carries, and the names of the arguments it comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub args: &'static [&'static str],
}

impl Code {
    const fn new(code: &'static str, args: &'static [&'static str]) -> Self {
        Self { code, args }
    }
}

/// Every code Rust sends: errors, refused drops, rejected list lines, receipt problems,
/// stick findings, warnings and verdicts. A test reads the sources for codes missing here.
pub const CODES: &[Code] = &[
    Code::new("app.bad_path", &[]),
    Code::new("app.folder_not_allowed", &[]),
    Code::new("app.internal", &[]),
    Code::new("app.no_data_dir", &[]),
    Code::new("app.no_server", &[]),
    Code::new("app.open_folder", &[]),
    Code::new("app.start", &[]),
    Code::new("app.webview2_missing", &[]),
    Code::new("backup.legacy_weaker", &[]),
    Code::new("backup.needs_confirmation", &[]),
    Code::new("backup.no_data_folder", &[]),
    Code::new("backup.no_server_key_pair", &["path"]),
    Code::new("backup.not_confirmed", &[]),
    Code::new("backup.read_back", &["path"]),
    Code::new("backup.weak_password", &["chars", "min"]),
    Code::new("backup.write", &["path"]),
    Code::new("bundle.cancelled", &["done", "total"]),
    Code::new("bundle.ipxfer_missing", &["dir", "name"]),
    Code::new("bundle.no_server_certificate", &[]),
    Code::new(
        "bundle.no_space",
        &["path", "needed_bytes", "available_bytes"],
    ),
    Code::new("bundle.no_target", &["path"]),
    Code::new("bundle.nothing_to_export", &[]),
    Code::new("bundle.share_path_invalid", &["path"]),
    Code::new("bundle.share_path_missing", &["path"]),
    Code::new("bundle.shared_tools_in_use", &["path", "bundles"]),
    Code::new("bundle.target_busy", &["path"]),
    Code::new("bundle.unknown_agents", &["names"]),
    Code::new("bundle.verify", &[]),
    Code::new("bundle.write", &[]),
    Code::new("bundle.xg_value_missing", &[]),
    Code::new("bundle_check.added", &["found"]),
    Code::new("bundle_check.changed", &["expected", "found"]),
    Code::new("bundle_check.link", &[]),
    Code::new("bundle_check.missing", &["expected"]),
    Code::new("bundle_check.moved", &["recorded"]),
    Code::new("bundle_check.not_recorded", &[]),
    Code::new("bundle_check.unknown_bundle", &[]),
    Code::new("bundle_check.unreadable", &["error"]),
    Code::new("cert.bad_pem", &[]),
    Code::new("cert.empty", &[]),
    Code::new("cert.expired", &[]),
    Code::new("cert.expires_soon", &[]),
    Code::new("cert.is_pkcs12", &[]),
    Code::new("cert.malformed", &[]),
    Code::new("cert.truncated", &[]),
    Code::new("cert.wrong_pem_label", &[]),
    Code::new("certificate_manager.failed", &[]),
    Code::new("certificate_manager.listed", &[]),
    Code::new("certificate_manager.missing", &[]),
    Code::new("certificate_manager.nothing_listed", &[]),
    Code::new("certificate_manager.start", &[]),
    Code::new("compare.no_server_certificate", &[]),
    Code::new("demo.certificate", &[]),
    Code::new("demo.io", &[]),
    Code::new("demo.key", &[]),
    Code::new("demo.not_a_demo", &[]),
    Code::new("demo.not_empty", &[]),
    Code::new("detect.registry_path_missing", &[]),
    Code::new("detect.root_not_found", &["path"]),
    Code::new("drop.empty_file", &[]),
    Code::new("drop.empty_folder", &[]),
    Code::new("drop.link", &[]),
    Code::new("drop.not_found", &[]),
    Code::new("drop.not_regular", &[]),
    Code::new("drop.too_large", &[]),
    Code::new("drop.unknown_file", &[]),
    Code::new("drop.unreadable", &[]),
    Code::new("file.is_directory", &["path"]),
    Code::new("file.link", &["path"]),
    Code::new("file.not_found", &["path"]),
    Code::new("file.not_regular", &["path"]),
    Code::new("file.too_large", &["path", "size_bytes", "cap_bytes"]),
    Code::new("file.unreadable", &["path"]),
    Code::new("file.unwritable", &[]),
    Code::new("import.cancelled", &[]),
    Code::new("keypair.bad_key", &[]),
    Code::new("keypair.corrupt", &[]),
    Code::new("keypair.encode", &[]),
    Code::new("keypair.key_mismatch", &[]),
    Code::new("keypair.no_certificate", &[]),
    Code::new("keypair.no_key", &[]),
    Code::new("keypair.no_mac", &[]),
    Code::new("keypair.not_rsa", &[]),
    Code::new("keypair.wrong_password", &[]),
    Code::new("list.control_characters", &[]),
    Code::new("list.field_count", &["fields", "columns"]),
    Code::new("list.no_guid", &[]),
    Code::new("list.no_name", &[]),
    Code::new("list.no_name_column", &[]),
    Code::new("list.unknown_encoding", &[]),
    Code::new("list.unterminated_quote", &[]),
    Code::new("password.file_not_private", &[]),
    Code::new("password.mismatch", &[]),
    Code::new("password.no_terminal", &[]),
    Code::new(
        "receipts.alert_bundle_tampered",
        &["agent", "file", "computer"],
    ),
    Code::new("receipts.alert_work_folder", &["agent", "computer"]),
    Code::new("receipts.alert_wrong_computer", &["agent", "computer"]),
    Code::new("receipts.bad_field", &["field", "value"]),
    Code::new("receipts.bad_quoting", &["field"]),
    Code::new(
        "receipts.certificate_differs",
        &["bundle", "field", "expected", "found"],
    ),
    Code::new("receipts.duplicate_field", &["field"]),
    Code::new("receipts.field_without_equals", &["field"]),
    Code::new("receipts.no_bundle_id", &[]),
    Code::new("receipts.no_export_id", &[]),
    Code::new("receipts.no_folder", &[]),
    Code::new("receipts.not_a_receipt", &["magic"]),
    Code::new("receipts.stale", &["bundle", "status"]),
    Code::new(
        "receipts.thumbprint_differs",
        &["bundle", "expected", "found"],
    ),
    Code::new("receipts.unknown_bundle", &["bundle"]),
    Code::new("receipts.unknown_result", &["word"]),
    Code::new("receipts.wrong_computer", &["computer", "agent", "bundle"]),
    Code::new("restore.encryption.legacy_for_windows_server", &[]),
    Code::new("restore.kit_exists", &["path"]),
    Code::new("restore.read_back", &["path"]),
    Code::new("restore.source_changed", &["path"]),
    Code::new("restore.verdict.agents_hold_it", &["n"]),
    Code::new("restore.verdict.previous_no_agents_known", &[]),
    Code::new("restore.verdict.same_as_current", &[]),
    Code::new("restore.verdict.unknown", &[]),
    Code::new("restore.write", &["path"]),
    Code::new("script.bad_port", &[]),
    Code::new("script.bad_server", &[]),
    Code::new("script.internal", &[]),
    Code::new("script.password_control", &[]),
    Code::new("script.password_encoding", &[]),
    Code::new("script.password_file", &[]),
    Code::new("script.password_quote", &[]),
    Code::new("server.certificate_missing", &["path"]),
    Code::new("server.none_known", &[]),
    Code::new("server.not_a_folder", &["path"]),
    Code::new("server.not_an_install_folder", &["path"]),
    Code::new("server.not_found", &["path"]),
    Code::new("server.unknown", &["path"]),
    Code::new("store.busy", &[]),
    Code::new("store.disk_full", &[]),
    Code::new("store.folder", &[]),
    Code::new("store.no_default_path", &[]),
    Code::new("store.open", &[]),
    Code::new("store.sql", &[]),
    Code::new("store.too_new", &[]),
    Code::new("usage.bundle", &[]),
    Code::new("usage.no_files", &[]),
    Code::new("watch.failed", &[]),
];

/// The registered code `code`, if it is one.
pub fn code(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// The statuses an export of "every agent not yet repaired" takes.
pub fn exportable_statuses() -> Vec<AgentStatus> {
    AgentStatus::ALL
        .into_iter()
        .filter(|s| status::exportable(*s))
        .collect()
}

/// `ui/contract.js`: the contract as ES module exports.
pub fn javascript() -> String {
    let status_words =
        |list: &[AgentStatus]| -> Value { list.iter().map(|s| Value::from(s.as_str())).collect() };
    let events: Map<String, Value> = events::ALL
        .iter()
        .map(|(name, event)| (name.to_string(), Value::from(*event)))
        .collect();
    let codes: Map<String, Value> = CODES
        .iter()
        .map(|c| (c.code.to_string(), json!(c.args)))
        .collect();
    let exports: [(&str, &str, Value); 9] = [
        (
            "Every command the window may call.",
            "COMMANDS",
            json!(COMMANDS),
        ),
        (
            "The events Rust emits, by name.",
            "EVENTS",
            Value::Object(events),
        ),
        (
            "Agent statuses, in the order the window lists them.",
            "STATUSES",
            status_words(&AgentStatus::ALL),
        ),
        (
            "The statuses an export of every agent not yet repaired takes.",
            "EXPORTABLE_STATUSES",
            status_words(&exportable_statuses()),
        ),
        (
            "The results repair.cmd writes.",
            "RECEIPT_RESULTS",
            ReceiptResult::ALL
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or_default())
                .collect(),
        ),
        (
            "The kinds of event-log entries.",
            "EVENT_KINDS",
            json!(EVENT_KINDS),
        ),
        (
            "A new backup password has at least this many characters (unless allowed weaker).",
            "PASSWORD_MIN_CHARS",
            json!(crate::backup::MIN_PASSWORD_CHARS),
        ),
        (
            "Warn this many days before a certificate expires.",
            "EXPIRY_WARNING_DAYS",
            json!(crate::cert::EXPIRY_WARNING_DAYS),
        ),
        (
            "Every code Rust sends, with the names of its arguments.",
            "CODES",
            Value::Object(codes),
        ),
    ];
    let mut out = String::from(
        "// Generated by `cargo xtask contract` from crates/certmend-core/src/contract.rs: do\n\
         // not edit. `cargo xtask test` fails when this file differs from what Rust declares.\n",
    );
    for (doc, name, value) in exports {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default();
        out.push_str(&format!(
            "\n/** {doc} */\nexport const {name} = Object.freeze({text});\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Strings that look like codes but are not: file names, SQL aliases, test values.
    fn not_a_code(text: &str) -> bool {
        const EXTENSIONS: &[&str] = &[
            "csv", "txt", "pfx", "p12", "exe", "dat", "dll", "cmd", "json", "ini", "sqlite3",
            "key", "cer", "local", "example",
        ];
        let last = text.rsplit('.').next().unwrap_or_default();
        EXTENSIONS.contains(&last) || text.starts_with("test.")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// `"word.word"` literals of a family a registered code belongs to.
    fn code_like_literals(text: &str, families: &[&str]) -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                let mut parts = s.split('.');
                let family = parts.next().unwrap_or_default();
                s.contains('.')
                    && families.contains(&family)
                    && s.split('.').all(|p| {
                        !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_code_in_the_sources_is_registered() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in [
            "crates/certmend-core/src",
            "crates/certmend-cli/src",
            "src-tauri/src",
        ] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 40, "{} files", files.len());
        let families: Vec<&str> = CODES
            .iter()
            .map(|c| c.code.split('.').next().unwrap_or_default())
            .collect();
        let mut missing = std::collections::BTreeSet::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for literal in code_like_literals(&text, &families) {
                if code(&literal).is_none()
                    && !EVENT_KINDS.contains(&literal.as_str())
                    && !not_a_code(&literal)
                {
                    missing.insert(format!("{literal} ({})", file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "codes not in contract::CODES: {missing:#?}"
        );
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            assert!(c.code.contains('.'), "{}", c.code);
        }
    }

    #[test]
    fn the_javascript_names_every_part_of_the_contract() {
        let js = javascript();
        for name in [
            "COMMANDS",
            "EVENTS",
            "STATUSES",
            "EXPORTABLE_STATUSES",
            "CODES",
            "PASSWORD_MIN_CHARS",
            "EXPIRY_WARNING_DAYS",
        ] {
            assert!(js.contains(&format!("export const {name} = ")), "{name}");
        }
        assert!(js.contains("\"bundle.no_space\""));
        assert!(js.contains("\"job-progress\""));
    }
}
