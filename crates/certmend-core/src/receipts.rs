//! Reading back the receipts repair.cmd leaves in `receipts\<COMPUTERNAME>.txt` on the
//! stick. Receipts are matched to bundles (and so to agents) by bundle id, never by
//! computer name, which may differ from the list's name. Each line is applied once:
//! reading the same receipts again changes nothing. Unknown bundles, malformed lines and
//! receipts for an older certificate are reported, never silently skipped.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::hexfmt::sha256_hex;
use crate::script::RECEIPT_MAGIC;
use crate::store::{AgentStatus, ReceiptOutcome, ReceiptRecord, Store, StoreError};
use crate::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptsError {
    #[error("{}: no receipts folder here (expected {}\\receipts, written by repair.cmd)", path.display(), path.display())]
    NoReceiptsFolder { path: PathBuf },
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for ReceiptsError {
    fn code(&self) -> &'static str {
        match self {
            ReceiptsError::NoReceiptsFolder { .. } => "receipts.no_folder",
            ReceiptsError::Unreadable { .. } => "file.unreadable",
            ReceiptsError::Store(e) => e.code(),
        }
    }
}

/// What repair.cmd reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiptResult {
    Repaired,
    IpxferFailed,
    CertStillDifferent,
    NotAdmin,
    AgentNotFound,
    BundleBroken,
    Matches,
    Differs,
}

impl ReceiptResult {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "REPAIRED" => Self::Repaired,
            "IPXFER_FAILED" => Self::IpxferFailed,
            "CERT_STILL_DIFFERENT" => Self::CertStillDifferent,
            "NOT_ADMIN" => Self::NotAdmin,
            "AGENT_NOT_FOUND" => Self::AgentNotFound,
            "BUNDLE_BROKEN" => Self::BundleBroken,
            "MATCHES" => Self::Matches,
            "DIFFERS" => Self::Differs,
            _ => return None,
        })
    }

    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Repaired | Self::Matches)
    }
}

/// The agent's next status after a receipt, or None to leave it.
///
/// A failed IpXfer run may be a wrong password: `repair_failed`, and a second failure
/// `reinstall_recommended`. IpXfer running but the certificate not changing is the
/// seed procedure's cue to reinstall at once.
pub fn next_status(current: Option<AgentStatus>, result: ReceiptResult) -> Option<AgentStatus> {
    match result {
        ReceiptResult::Repaired | ReceiptResult::Matches => Some(AgentStatus::Repaired),
        ReceiptResult::IpxferFailed => Some(match current {
            Some(AgentStatus::RepairFailed | AgentStatus::ReinstallRecommended) => {
                AgentStatus::ReinstallRecommended
            }
            _ => AgentStatus::RepairFailed,
        }),
        ReceiptResult::CertStillDifferent => Some(AgentStatus::ReinstallRecommended),
        ReceiptResult::Differs => match current {
            Some(AgentStatus::Repaired) => Some(AgentStatus::Mismatched),
            _ => None,
        },
        ReceiptResult::NotAdmin | ReceiptResult::AgentNotFound | ReceiptResult::BundleBroken => {
            None
        }
    }
}

/// Which check found the server's certificate on the agent (`check=`; receipts of
/// scripts before it have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The agent's OfcNTCer.dat has the bundled file's SHA-256.
    Sha256,
    /// Other bytes, the same certificate: its SHA-1 thumbprint is the server's (the
    /// agent keeps it as PEM, for instance).
    Thumbprint,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Thumbprint => "thumbprint",
        }
    }
}

/// With the XG syntax: what the agent's registry value `Server` said (`server=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerCheck {
    /// It names the server given to IpXfer's `-s`.
    Match,
    /// It names another server.
    Differs,
    /// There is no such value.
    Missing,
}

impl ServerCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Differs => "differs",
            Self::Missing => "missing",
        }
    }

    /// Something for the admin to look at on that agent.
    pub fn is_problem(self) -> bool {
        self != Self::Match
    }
}

/// A receipt line, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub computer: String,
    pub bundle_id: String,
    pub run_id: String,
    pub date: String,
    pub time: String,
    pub mode: String,
    pub ipxfer_exit: String,
    pub before: String,
    pub after: String,
    /// Which check matched; `None` when none did, or the script predates the field.
    pub check: Option<MatchedBy>,
    /// The SHA-1 thumbprint repair.cmd found in the agent's file (upper-case hex).
    pub thumbprint: Option<String>,
    /// The agent service (ntrtscan) after IpXfer: `running`, `not_running` (still not
    /// running after the wait) or `absent` (could not be queried).
    pub service: Option<String>,
    /// Seconds repair.cmd waited for the agent service.
    pub waited_seconds: Option<u32>,
    /// XG syntax only: the agent's registry value `Server` against `-s`.
    pub server: Option<ServerCheck>,
    pub result: ReceiptResult,
}

/// Why a line is not a receipt certmend can use (or what else is wrong with it): a
/// stable code with the values it names, for the window to translate, and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProblem {
    pub code: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<&'static str, String>,
    pub reason: String,
}

impl LineProblem {
    fn new(code: &'static str, args: &[(&'static str, &str)], reason: String) -> Self {
        Self {
            code,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            reason,
        }
    }
}

/// Parses one line; `Err` says why it is not a receipt certmend can use.
pub fn parse_line(line: &str) -> Result<Receipt, LineProblem> {
    let mut fields = line.trim_end_matches(['\r', '\n', ' ']).split(';');
    if fields.next() != Some(RECEIPT_MAGIC) {
        return Err(LineProblem::new(
            "receipts.not_a_receipt",
            &[("magic", RECEIPT_MAGIC)],
            format!("does not start with {RECEIPT_MAGIC}"),
        ));
    }
    let mut get = std::collections::HashMap::new();
    for field in fields {
        match field.split_once('=') {
            Some((key, value)) => {
                get.insert(key, value.trim());
            }
            None => {
                return Err(LineProblem::new(
                    "receipts.field_without_equals",
                    &[("field", field)],
                    format!("field without '=': {field:?}"),
                ))
            }
        }
    }
    let field = |key: &str| get.get(key).map(|v| v.to_string()).unwrap_or_default();
    let bundle_id = field("bundle");
    if bundle_id.is_empty() || !bundle_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(LineProblem::new(
            "receipts.no_bundle_id",
            &[],
            "no bundle id".into(),
        ));
    }
    let result_word = field("result");
    let result = ReceiptResult::parse(&result_word).ok_or_else(|| {
        LineProblem::new(
            "receipts.unknown_result",
            &[("word", &result_word)],
            format!("unknown result {result_word:?}"),
        )
    })?;
    // The fields newer scripts add: absent or empty in older receipts; anything else
    // than the script writes is a line certmend cannot vouch for.
    let bad_field = |key: &'static str, value: &str| {
        LineProblem::new(
            "receipts.bad_field",
            &[("field", key), ("value", value)],
            format!("field {key} has an unexpected value {value:?}"),
        )
    };
    let optional = |key: &'static str| {
        get.get(key)
            .copied()
            .filter(|v| !v.is_empty() && *v != "none")
    };
    let check = match optional("check") {
        None => None,
        Some("sha256") => Some(MatchedBy::Sha256),
        Some("thumbprint") => Some(MatchedBy::Thumbprint),
        Some(other) => return Err(bad_field("check", other)),
    };
    let thumbprint = match optional("thumbprint") {
        None => None,
        Some(v) if v.len() == 40 && v.chars().all(|c| c.is_ascii_hexdigit()) => {
            Some(v.to_ascii_uppercase())
        }
        Some(other) => return Err(bad_field("thumbprint", other)),
    };
    let service = match optional("service") {
        None => None,
        Some(v @ ("running" | "not_running" | "absent")) => Some(v.to_string()),
        Some(other) => return Err(bad_field("service", other)),
    };
    let waited_seconds = match optional("waited") {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| bad_field("waited", v))?),
    };
    let server = match optional("server") {
        None => None,
        Some("match") => Some(ServerCheck::Match),
        Some("differs") => Some(ServerCheck::Differs),
        Some("missing") => Some(ServerCheck::Missing),
        Some(other) => return Err(bad_field("server", other)),
    };
    Ok(Receipt {
        computer: field("computer"),
        bundle_id: bundle_id.to_lowercase(),
        run_id: field("run"),
        date: field("date"),
        time: field("time"),
        mode: field("mode"),
        ipxfer_exit: field("ipxfer_exit"),
        before: field("before"),
        after: field("after"),
        check,
        thumbprint,
        service,
        waited_seconds,
        server,
        result,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub file: PathBuf,
    pub line: usize,
    pub computer: String,
    pub bundle_id: String,
    pub agent: String,
    pub result: ReceiptResult,
    /// Which check found the server's certificate (`None`: none did, or an older script).
    pub check: Option<MatchedBy>,
    /// The SHA-1 thumbprint found in the agent's OfcNTCer.dat.
    pub thumbprint: Option<String>,
    /// XG syntax: whether the agent's registry value `Server` names the server.
    pub server: Option<ServerCheck>,
    pub status_before: String,
    pub status_after: String,
    /// The bundle was replaced by a newer export for the same agent.
    pub superseded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    #[serde(flatten)]
    pub problem: LineProblem,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ReceiptsReport {
    pub folder: PathBuf,
    pub files: usize,
    pub lines: usize,
    pub applied: Vec<Applied>,
    /// Lines read before: nothing changed.
    pub already_read: usize,
    pub unknown_bundles: Vec<Problem>,
    pub malformed: Vec<Problem>,
    /// Receipts for bundles made with a certificate the server no longer uses.
    pub stale: Vec<Problem>,
}

impl ReceiptsReport {
    /// Anything an admin must look at: failures, unknown, malformed or stale lines, and
    /// agents whose registry does not name the server IpXfer was given.
    pub fn has_problems(&self) -> bool {
        !self.unknown_bundles.is_empty()
            || !self.malformed.is_empty()
            || !self.stale.is_empty()
            || self
                .applied
                .iter()
                .any(|a| a.result.is_failure() || a.server.is_some_and(ServerCheck::is_problem))
    }
}

/// The receipts folder of a stick: `dir\receipts`, or `dir` itself when it is one.
pub fn receipts_folder(dir: &Path) -> Result<PathBuf, ReceiptsError> {
    if let Some(found) = crate::fsutil::find_child_ci(dir, "receipts").filter(|p| p.is_dir()) {
        return Ok(found);
    }
    let is_receipts = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("receipts"));
    if is_receipts && dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    Err(ReceiptsError::NoReceiptsFolder {
        path: dir.to_path_buf(),
    })
}

/// A cheap fingerprint of a stick's receipts (files, bytes, newest change), to notice
/// new receipts by polling when a stick comes back (a file watch dies with its mount).
/// `None` when there is no receipts folder.
pub fn receipts_signature(dir: &Path) -> Option<(u64, u64, std::time::SystemTime)> {
    let folder = receipts_folder(dir).ok()?;
    let mut signature = (0, 0, std::time::UNIX_EPOCH);
    for entry in fs::read_dir(folder).ok()?.filter_map(Result::ok) {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            signature.0 += 1;
            signature.1 += meta.len();
            if let Ok(modified) = meta.modified() {
                signature.2 = signature.2.max(modified);
            }
        }
    }
    Some(signature)
}

/// A receipt file's text: UTF-8, else CP932 (never fails). Public for the fuzz targets.
#[doc(hidden)]
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        // cmd writes in the console code page: CP932 on Japanese Windows.
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    }
}

/// Reads every receipt under `dir` and applies the new ones to the store.
pub fn read_receipts(store: &mut Store, dir: &Path) -> Result<ReceiptsReport, ReceiptsError> {
    let folder = receipts_folder(dir)?;
    let mut report = ReceiptsReport {
        folder: folder.clone(),
        ..Default::default()
    };
    let unreadable = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReceiptsError::Unreadable { path, source }
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&folder)
        .map_err(unreadable(&folder))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt")))
        .collect();
    files.sort();
    for file in files {
        report.files += 1;
        let bytes = fs::read(&file).map_err(unreadable(&file))?;
        let text = decode(&bytes);
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            let problem = |problem: LineProblem| Problem {
                file: file.clone(),
                line: number,
                problem,
                text: line.chars().take(300).collect(),
            };
            let receipt = match parse_line(line) {
                Ok(r) => r,
                Err(reason) => {
                    report.malformed.push(problem(reason));
                    continue;
                }
            };
            let Some(bundle) = store.bundle(&receipt.bundle_id)? else {
                report.unknown_bundles.push(problem(LineProblem::new(
                    "receipts.unknown_bundle",
                    &[("bundle", &receipt.bundle_id)],
                    format!(
                        "bundle {} is not known to this certmend database",
                        receipt.bundle_id
                    ),
                )));
                continue;
            };
            let stale = bundle.server_certificate_sha256.as_deref()
                != Some(bundle.certificate_sha256.as_str());
            let new_status = if stale {
                None
            } else {
                next_status(AgentStatus::parse(&bundle.agent_status), receipt.result)
            };
            let ran_at = format!("{} {}", receipt.date, receipt.time);
            let line_sha256 = sha256_hex(line.trim_end().as_bytes());
            let outcome = store.record_receipt(
                &ReceiptRecord {
                    line_sha256: &line_sha256,
                    bundle_id: &receipt.bundle_id,
                    run_id: &receipt.run_id,
                    computer: &receipt.computer,
                    mode: &receipt.mode,
                    result: &serde_json::to_value(receipt.result)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    ipxfer_exit: &receipt.ipxfer_exit,
                    before: &receipt.before,
                    after: &receipt.after,
                    matched_by: receipt.check.map(MatchedBy::as_str),
                    thumbprint: receipt.thumbprint.as_deref(),
                    server_check: receipt.server.map(ServerCheck::as_str),
                    ran_at: &ran_at,
                    source: &file.to_string_lossy(),
                },
                bundle.agent_id,
                new_status,
            )?;
            match outcome {
                ReceiptOutcome::AlreadyRead => report.already_read += 1,
                ReceiptOutcome::Recorded { before, after } => {
                    if stale {
                        report.stale.push(problem(LineProblem::new(
                            "receipts.stale",
                            &[("bundle", &receipt.bundle_id), ("status", &before)],
                            format!(
                                "bundle {} carries a certificate the server no longer uses; the agent's status was left as {}",
                                receipt.bundle_id, before
                            ),
                        )));
                    }
                    report.applied.push(Applied {
                        file: file.clone(),
                        line: number,
                        computer: receipt.computer.clone(),
                        bundle_id: receipt.bundle_id.clone(),
                        agent: bundle.agent_name.clone(),
                        result: receipt.result,
                        check: receipt.check,
                        thumbprint: receipt.thumbprint.clone(),
                        server: receipt.server,
                        status_before: before,
                        status_after: after,
                        superseded: bundle.superseded_by.is_some(),
                    })
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_repair_cmd_writes() {
        let line = "certmend-receipt=1;computer=PC-01;bundle=00ff;run=123;date=2026/11/25;time=10:01:02.03;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before=AA;after=BB;result=REPAIRED\r\n";
        let r = parse_line(line).unwrap();
        assert_eq!(r.computer, "PC-01");
        assert_eq!(r.bundle_id, "00ff");
        assert_eq!(r.result, ReceiptResult::Repaired);
        assert_eq!(r.time, "10:01:02.03");
        let err = parse_line("hello").unwrap_err();
        assert!(err.reason.contains("does not start"));
        assert_eq!(err.code, "receipts.not_a_receipt");
        assert!(parse_line("certmend-receipt=1;bundle=;result=REPAIRED").is_err());
        let err = parse_line("certmend-receipt=1;bundle=ab;result=MAYBE").unwrap_err();
        assert!(err.reason.contains("MAYBE"));
        assert_eq!(err.code, "receipts.unknown_result");
        assert_eq!(err.args["word"], "MAYBE");
        assert!(parse_line("certmend-receipt=1;bundle=ab;junk;result=REPAIRED").is_err());
        // A receipt of a script before the checks were recorded.
        assert_eq!(r.check, None);
        assert_eq!(r.thumbprint, None);
        assert_eq!(r.server, None);
        assert_eq!(r.waited_seconds, None);
    }

    #[test]
    fn parses_which_check_matched_and_the_thumbprint_found() {
        let thumb = "03f5b11491a94614ce0ff6653eb33b77f4834afc";
        let line = format!("certmend-receipt=1;computer=PC-01;bundle=00ff;run=1;date=d;time=t;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before=AA;after=BB;check=thumbprint;thumbprint={thumb};service=running;waited=3;server=differs;result=REPAIRED\r\n");
        let r = parse_line(&line).unwrap();
        assert_eq!(r.check, Some(MatchedBy::Thumbprint));
        assert_eq!(r.thumbprint.as_deref(), Some(thumb.to_uppercase().as_str()));
        assert_eq!(r.service.as_deref(), Some("running"));
        assert_eq!(r.waited_seconds, Some(3));
        assert_eq!(r.server, Some(ServerCheck::Differs));
        // What a run that matched nothing (or stopped early) writes.
        let r = parse_line("certmend-receipt=1;bundle=ab;check=none;thumbprint=;service=absent;waited=0;server=;result=CERT_STILL_DIFFERENT").unwrap();
        assert_eq!((r.check, r.thumbprint, r.server), (None, None, None));
        assert_eq!(r.service.as_deref(), Some("absent"));
        let r = parse_line("certmend-receipt=1;bundle=ab;check=sha256;result=MATCHES").unwrap();
        assert_eq!(r.check, Some(MatchedBy::Sha256));
        for (bad, field) in [
            ("check=md5", "check"),
            ("thumbprint=ABC", "thumbprint"),
            ("thumbprint=&calc", "thumbprint"),
            ("service=sleeping", "service"),
            ("waited=-1", "waited"),
            ("server=maybe", "server"),
        ] {
            let err = parse_line(&format!(
                "certmend-receipt=1;bundle=ab;{bad};result=REPAIRED"
            ))
            .unwrap_err();
            assert_eq!(err.code, "receipts.bad_field", "{bad}");
            assert_eq!(err.args["field"], field);
        }
    }

    #[test]
    fn statuses_after_receipts() {
        use AgentStatus::*;
        assert_eq!(
            next_status(Some(BundleExported), ReceiptResult::Repaired),
            Some(Repaired)
        );
        assert_eq!(
            next_status(Some(BundleExported), ReceiptResult::IpxferFailed),
            Some(RepairFailed)
        );
        assert_eq!(
            next_status(Some(RepairFailed), ReceiptResult::IpxferFailed),
            Some(ReinstallRecommended)
        );
        assert_eq!(
            next_status(Some(BundleExported), ReceiptResult::CertStillDifferent),
            Some(ReinstallRecommended)
        );
        assert_eq!(
            next_status(Some(BundleExported), ReceiptResult::NotAdmin),
            None
        );
        assert_eq!(
            next_status(Some(Repaired), ReceiptResult::Differs),
            Some(Mismatched)
        );
        assert_eq!(
            next_status(Some(BundleExported), ReceiptResult::Differs),
            None
        );
        assert_eq!(
            next_status(Some(Mismatched), ReceiptResult::Matches),
            Some(Repaired)
        );
    }

    #[test]
    fn the_signature_changes_when_a_receipt_is_added() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(receipts_signature(tmp.path()), None);
        let folder = tmp.path().join("receipts");
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join("PC-1.txt"), b"line\r\n").unwrap();
        let first = receipts_signature(tmp.path()).unwrap();
        assert_eq!((first.0, first.1), (1, 6));
        assert_eq!(receipts_signature(tmp.path()), Some(first));
        fs::write(folder.join("PC-1.txt"), b"line\r\nline\r\n").unwrap();
        assert_ne!(receipts_signature(tmp.path()), Some(first));
    }
}
