//! Reading back the receipts repair.cmd leaves in `receipts\<COMPUTERNAME>.txt` on the
//! stick. Receipts are matched to bundles (and so to agents) by bundle id. Each line is
//! applied once: reading the same receipts again changes nothing. Unknown bundles,
//! malformed lines and receipts for an older certificate are reported, never silently
//! skipped.
//!
//! The stick is written to by every PC it visits, so a receipt is a claim: it changes
//! its agent's status only when it agrees with its bundle ([`disagreement`]): it ran on
//! the bundle's agent, and a `REPAIRED` / `MATCHES` found the bundle's certificate. A
//! line that does not agree is reported and changes nothing; `BUNDLE_TAMPERED` and
//! `WRONG_COMPUTER` are reported first and change nothing. Every read also checks the
//! bundles on the stick against what certmend wrote ([`crate::bundle::verify_target`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agents::status::{self, AgentStatus};
use crate::bundle::{BundleError, TargetCheck};
use crate::hexfmt::sha256_hex;
use crate::store::{BundleRow, ReceiptBatch, ReceiptOutcome, ReceiptRecord, Store, StoreError};
use crate::untrusted::{self, FileError, Kind};
use crate::ErrorCode;

pub mod format;

// The line format has its own module (shared with the script writer); its paths here
// stay. `ReceiptResult` lives in the lifecycle's module (a receipt's result is one of
// its events).
pub use format::{
    parse_line, IdentityCheck, LineProblem, MatchedBy, Receipt, ReceiptResult, ServerCheck,
    TAMPERED_NAMES,
};

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
    /// The receipts folder itself is a link (never followed).
    #[error(transparent)]
    File(#[from] FileError),
    /// Checking the stick's bundles failed.
    #[error(transparent)]
    Bundle(Box<BundleError>),
}

impl From<BundleError> for ReceiptsError {
    fn from(e: BundleError) -> Self {
        ReceiptsError::Bundle(Box::new(e))
    }
}

impl ErrorCode for ReceiptsError {
    fn code(&self) -> &'static str {
        match self {
            ReceiptsError::NoReceiptsFolder { .. } => "receipts.no_folder",
            ReceiptsError::Unreadable { .. } => "file.unreadable",
            ReceiptsError::Store(e) => e.code(),
            ReceiptsError::File(e) => e.code(),
            ReceiptsError::Bundle(e) => e.code(),
        }
    }
}

/// The agent's next status after a receipt, or None to leave the status and its
/// source as they are (the rule: [`status::next`] and [`status::receipt_is_source`]).
pub fn next_status(current: AgentStatus, result: ReceiptResult) -> Option<AgentStatus> {
    status::receipt_is_source(current, result)
        .then(|| status::next(current, status::Event::Receipt(result)))
}

/// The result words that report an attack or a mistake on the stick, never a repair:
/// repair.cmd found a bundle file changed (`BUNDLE_TAMPERED`) or ran on another
/// computer than the bundle's agent (`WRONG_COMPUTER`), and changed nothing.
pub fn is_alert(result: ReceiptResult) -> bool {
    matches!(
        result,
        ReceiptResult::BundleTampered | ReceiptResult::WrongComputer
    )
}

/// The problem an alert receipt ([`is_alert`]) is reported as.
fn alert_problem(receipt: &Receipt, bundle: &BundleRow) -> LineProblem {
    let agent = bundle.agent_name.as_str();
    let computer = receipt.computer.as_str();
    let args = |file: &str| {
        vec![
            ("bundle", receipt.bundle_id.clone()),
            ("agent", agent.to_string()),
            ("computer", computer.to_string()),
            ("file", file.to_string()),
        ]
    };
    let (code, args, reason) = match (receipt.result, receipt.tampered.as_deref()) {
        (ReceiptResult::WrongComputer, _) => (
            "receipts.alert_wrong_computer",
            args(""),
            format!(
                "repair.cmd of {agent}'s bundle ran on computer {computer:?} and changed nothing there: run each bundle on its own agent"
            ),
        ),
        (_, Some("work_folder")) => (
            "receipts.alert_work_folder",
            args("work_folder"),
            format!(
                "repair.cmd of {agent}'s bundle could not make a folder only administrators can write to run IpXfer from, and ran nothing (computer {computer:?})"
            ),
        ),
        (_, file) => {
            let file = file.unwrap_or("?");
            (
                "receipts.alert_bundle_tampered",
                args(file),
                format!(
                    "repair.cmd of {agent}'s bundle found {file} not as certmend wrote it and ran nothing (computer {computer:?}): a PC this stick visited changed it; run `certmend bundle verify`, export again to an emptied stick, and look at that PC"
                ),
            )
        }
    };
    LineProblem {
        code,
        args: args.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        reason,
    }
}

/// The NetBIOS name Windows gives `%COMPUTERNAME%` for a computer called `name`: at most
/// 15 bytes (MAX_COMPUTERNAME_LENGTH) in the OEM code page. Both cuts are offered: 15
/// characters, and 15 bytes of CP932 (Japanese Windows).
fn netbios_names(name: &str) -> Vec<String> {
    let name = name.trim();
    let mut names = vec![name.to_string()];
    // A DNS name (not an IP address): its host part is the computer name.
    if name.parse::<std::net::IpAddr>().is_err() {
        if let Some((host, _)) = name.split_once('.') {
            names.push(host.to_string());
        }
    }
    for n in names.clone() {
        names.push(n.chars().take(15).collect());
        let mut cut = String::new();
        for c in n.chars() {
            let mut next = cut.clone();
            next.push(c);
            if encoding_rs::SHIFT_JIS.encode(&next).0.len() > 15 {
                break;
            }
            cut = next;
        }
        names.push(cut);
    }
    names
}

/// Whether a receipt's `computer=` (repair.cmd's `%COMPUTERNAME%`) is the computer of
/// an agent the list names `agent`: Windows computer names compare in any letter case,
/// and `%COMPUTERNAME%` is the NetBIOS name, cut at 15 characters.
pub fn same_computer(computer: &str, agent: &str) -> bool {
    let computer = computer.trim().to_lowercase();
    !computer.is_empty()
        && netbios_names(agent)
            .iter()
            .any(|n| n.to_lowercase() == computer)
}

/// Why a receipt must not change its agent's status, or None when it may: the
/// computer it ran on is not the bundle's agent, or a `REPAIRED` (`MATCHES`, for a
/// `/check`) that did not find the bundle's certificate — the SHA-256 of the agent's
/// file after the repair (before it, for a check) is the bundle certificate's, or with
/// `check=thumbprint` (the same certificate kept as PEM) the thumbprint found is the
/// bundle certificate's SHA-1 thumbprint.
pub fn disagreement(receipt: &Receipt, bundle: &BundleRow) -> Option<LineProblem> {
    if is_alert(receipt.result) {
        return None;
    }
    wrong_computer(receipt, bundle).or_else(|| certificate_not_found(receipt, bundle))
}

/// The receipt ran on another computer than the bundle's agent (see [`disagreement`]).
fn wrong_computer(receipt: &Receipt, bundle: &BundleRow) -> Option<LineProblem> {
    let guid_differs = receipt.guid_check == Some(IdentityCheck::Differs);
    // An agent a list named only by its GUID: the script's registry GUID check is the
    // only way to know the computer (its name says nothing of the GUID).
    let right_computer = if crate::script::normalise_guid(&bundle.agent_name).is_some() {
        receipt.guid_check == Some(IdentityCheck::Match)
    } else {
        same_computer(&receipt.computer, &bundle.agent_name)
    };
    if guid_differs || !right_computer {
        return Some(LineProblem::new(
            "receipts.wrong_computer",
            &[
                ("computer", &receipt.computer),
                ("agent", &bundle.agent_name),
                ("bundle", &bundle.id),
            ],
            format!(
                "written on computer {:?}{}, but bundle {} is for agent {}; the status was not changed (a bundle run on the wrong computer, or a forged line)",
                receipt.computer,
                if guid_differs {
                    " whose agent GUID is another"
                } else {
                    ""
                },
                bundle.id,
                bundle.agent_name
            ),
        ));
    }
    None
}

/// A `REPAIRED` or `MATCHES` that did not find the bundle's certificate (see
/// [`disagreement`]).
fn certificate_not_found(receipt: &Receipt, bundle: &BundleRow) -> Option<LineProblem> {
    let field = match receipt.result {
        ReceiptResult::Repaired => format::field::AFTER,
        ReceiptResult::Matches => format::field::BEFORE,
        _ => return None,
    };
    if receipt.check == Some(MatchedBy::Thumbprint) {
        let expected = bundle.certificate_sha1_thumbprint.as_deref().unwrap_or("");
        let found = receipt.thumbprint.as_deref().unwrap_or("");
        if expected.is_empty() || !found.eq_ignore_ascii_case(expected) {
            return Some(LineProblem::new(
                "receipts.thumbprint_differs",
                &[
                    ("bundle", &bundle.id),
                    ("expected", expected),
                    ("found", found),
                ],
                format!(
                    "claims the agent holds the bundle's certificate in another encoding, but the thumbprint it found ({found:?}) is not the bundle certificate's ({expected}); the status was not changed"
                ),
            ));
        }
        return None;
    }
    let found = if field == format::field::AFTER {
        &receipt.after
    } else {
        &receipt.before
    };
    if !found.eq_ignore_ascii_case(&bundle.certificate_sha256) {
        return Some(LineProblem::new(
            "receipts.certificate_differs",
            &[
                ("bundle", &bundle.id),
                ("field", field),
                ("expected", &bundle.certificate_sha256),
                ("found", found),
            ],
            format!(
                "claims {:?}, but the agent's certificate it hashed ({field}={found:?}) is not the bundle's ({}); the status was not changed",
                format::result_word(receipt.result),
                bundle.certificate_sha256
            ),
        ));
    }
    None
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
    pub status_before: AgentStatus,
    pub status_after: AgentStatus,
    /// The bundle was replaced by a newer export for the same agent.
    pub superseded: bool,
}

/// A computer the export's entry script ran on that has no bundle in it
/// (`NOT_LISTED`): it changed nothing there. Such a line concerns no agent and is not
/// recorded; it is listed on every read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotListed {
    pub file: PathBuf,
    pub line: usize,
    pub computer: String,
    /// The export whose entry script ran.
    pub export_id: String,
    pub date: String,
    pub time: String,
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
    /// `BUNDLE_TAMPERED` and `WRONG_COMPUTER`: repair.cmd found the stick changed or
    /// ran on another computer than the bundle's agent, and changed nothing. Reported
    /// on every read, first.
    pub alerts: Vec<Problem>,
    /// Receipts that do not agree with their bundle (another computer, another
    /// certificate): they changed no status. Reported on every read.
    pub disagreeing: Vec<Problem>,
    /// Receipt files not read: links (never followed), files too large or not regular.
    pub refused_files: Vec<Problem>,
    pub unknown_bundles: Vec<Problem>,
    pub malformed: Vec<Problem>,
    /// Receipts for bundles made with a certificate the server no longer uses.
    pub stale: Vec<Problem>,
    /// Computers the entry script ran on that no bundle of the export is for.
    pub not_listed: Vec<NotListed>,
    /// The bundles on the stick checked against what certmend wrote.
    pub bundle_check: Option<TargetCheck>,
}

impl ReceiptsReport {
    /// Anything an admin must look at: failures, alerts, disagreeing, refused,
    /// unknown, malformed or stale lines, bundles on the stick not as certmend wrote
    /// them, and agents whose registry does not name the server IpXfer was given.
    pub fn has_problems(&self) -> bool {
        !self.alerts.is_empty()
            || !self.disagreeing.is_empty()
            || !self.refused_files.is_empty()
            || !self.unknown_bundles.is_empty()
            || !self.malformed.is_empty()
            || !self.stale.is_empty()
            || self.bundle_check.as_ref().is_some_and(|c| !c.is_clean())
            || self
                .applied
                .iter()
                .any(|a| a.result.is_failure() || a.server.is_some_and(ServerCheck::is_problem))
    }
}

/// The receipts folder of a stick: `dir\receipts`, or `dir` itself when it is one.
pub fn receipts_folder(dir: &Path) -> Result<PathBuf, ReceiptsError> {
    use crate::bundle::RECEIPTS_DIR;
    if let Some(found) = crate::fsutil::find_child_ci(dir, RECEIPTS_DIR).filter(|p| p.is_dir()) {
        return Ok(found);
    }
    // A receipts folder that is a link (to a local folder, a share) is refused by name
    // rather than passed over as missing.
    if let Some(link) = fs::read_dir(dir).ok().and_then(|entries| {
        entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(RECEIPTS_DIR))
                && untrusted::is_link(p)
        })
    }) {
        return Err(FileError::Link { path: link }.into());
    }
    let is_receipts = dir
        .file_name()
        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case(RECEIPTS_DIR));
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

/// Receipt files in `folder` (`*.txt`, any letter case), sorted; links are refused
/// with a problem, never followed, and folders are skipped.
fn receipt_files(
    folder: &Path,
    report: &mut ReceiptsReport,
) -> Result<Vec<PathBuf>, ReceiptsError> {
    let entries = fs::read_dir(folder).map_err(|source| ReceiptsError::Unreadable {
        path: folder.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
        {
            continue;
        }
        if !untrusted::is_link(&path) && fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        files.push(path);
    }
    files.sort();
    report.files = files.len();
    Ok(files)
}

fn refused(file: &Path, error: &FileError) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line: 0,
        problem: LineProblem::new(
            error.code(),
            &[("file", &file.display().to_string())],
            error.to_string(),
        ),
        text: String::new(),
    }
}

/// Reads every receipt under `dir` and applies the new ones that agree with their
/// bundle to the store; checks the stick's bundles too.
pub fn read_receipts(store: &mut Store, dir: &Path) -> Result<ReceiptsReport, ReceiptsError> {
    let folder = receipts_folder(dir)?;
    // A receipts folder that is a link would read files from elsewhere.
    if untrusted::is_link(&folder) {
        return Err(FileError::Link { path: folder }.into());
    }
    let mut report = ReceiptsReport {
        folder: folder.clone(),
        ..Default::default()
    };
    // Every line in one write transaction: thousands of receipts are one commit.
    let mut batch = store.receipt_batch()?;
    for file in receipt_files(&folder, &mut report)? {
        let bytes = match untrusted::read(&file, Kind::Receipts) {
            Ok(bytes) => bytes,
            Err(FileError::NotFound { .. }) => continue,
            Err(e) => {
                report.refused_files.push(refused(&file, &e));
                continue;
            }
        };
        let text = decode(&bytes);
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            report.lines += 1;
            apply_line(&mut batch, &mut report, &file, index + 1, line)?;
        }
    }
    batch.commit()?;
    // The stick the receipts folder is on: what else the PCs it visited may have changed.
    let target = folder.parent().unwrap_or(&folder);
    report.bundle_check = Some(crate::bundle::verify_target(store, target)?);
    Ok(report)
}

/// One line of a receipt file, where it was read.
struct LineAt<'a> {
    file: &'a Path,
    number: usize,
    text: &'a str,
}

impl LineAt<'_> {
    /// A problem of this line, as reported.
    fn problem(&self, problem: LineProblem) -> Problem {
        Problem {
            file: self.file.to_path_buf(),
            line: self.number,
            problem,
            text: self.text.chars().take(300).collect(),
        }
    }
}

/// Applies one receipt line (see [`read_receipts`]): a receipt of a known bundle that
/// agrees with it is recorded once, and changes its agent's status unless it is an
/// alert or its bundle is stale.
fn apply_line(
    store: &mut ReceiptBatch<'_>,
    report: &mut ReceiptsReport,
    file: &Path,
    number: usize,
    line: &str,
) -> Result<(), ReceiptsError> {
    let at = LineAt {
        file,
        number,
        text: line,
    };
    let Some((receipt, bundle)) = receipt_of_known_bundle(store, report, &at)? else {
        return Ok(());
    };
    let alert = is_alert(receipt.result);
    if alert {
        report
            .alerts
            .push(at.problem(alert_problem(&receipt, &bundle)));
    }
    let stale =
        bundle.server_certificate_sha256.as_deref() != Some(bundle.certificate_sha256.as_str());
    let new_status = if stale || alert {
        None
    } else {
        next_status(bundle.agent_status, receipt.result)
    };
    match record(store, &at, &receipt, &bundle, new_status)? {
        ReceiptOutcome::AlreadyRead => report.already_read += 1,
        ReceiptOutcome::Recorded { before, after } => {
            if stale {
                report
                    .stale
                    .push(at.problem(stale_problem(&receipt, before)));
            }
            report
                .applied
                .push(applied(&at, &receipt, &bundle, before, after));
        }
    }
    Ok(())
}

/// The line's receipt and its bundle, or None when the line is reported instead:
/// malformed, of a bundle this database does not know, or not agreeing with its bundle
/// (such a line is not recorded: it is no receipt of that agent, and it is reported
/// again on every read).
fn receipt_of_known_bundle(
    store: &ReceiptBatch<'_>,
    report: &mut ReceiptsReport,
    at: &LineAt,
) -> Result<Option<(Receipt, BundleRow)>, ReceiptsError> {
    let receipt = match parse_line(at.text) {
        Ok(r) => r,
        Err(reason) => {
            report.malformed.push(at.problem(reason));
            return Ok(None);
        }
    };
    if receipt.result == ReceiptResult::NotListed {
        report.not_listed.push(NotListed {
            file: at.file.to_path_buf(),
            line: at.number,
            computer: receipt.computer,
            export_id: receipt.export_id.unwrap_or_default(),
            date: receipt.date,
            time: receipt.time,
        });
        return Ok(None);
    }
    let Some(bundle) = store.bundle(&receipt.bundle_id)? else {
        report.unknown_bundles.push(at.problem(LineProblem::new(
            "receipts.unknown_bundle",
            &[("bundle", &receipt.bundle_id)],
            format!(
                "bundle {} is not known to this certmend database",
                receipt.bundle_id
            ),
        )));
        return Ok(None);
    };
    if let Some(reason) = disagreement(&receipt, &bundle) {
        report.disagreeing.push(at.problem(reason));
        return Ok(None);
    }
    Ok(Some((receipt, bundle)))
}

/// Records the receipt (once: the line's SHA-256 says whether it was read before) and,
/// with `new_status`, its agent's status.
fn record(
    store: &mut ReceiptBatch<'_>,
    at: &LineAt,
    receipt: &Receipt,
    bundle: &BundleRow,
    new_status: Option<AgentStatus>,
) -> Result<ReceiptOutcome, ReceiptsError> {
    let ran_at = format!("{} {}", receipt.date, receipt.time);
    let line_sha256 = sha256_hex(at.text.trim_end().as_bytes());
    Ok(store.record_receipt(
        &ReceiptRecord {
            line_sha256: &line_sha256,
            bundle_id: &receipt.bundle_id,
            run_id: &receipt.run_id,
            computer: &receipt.computer,
            mode: &receipt.mode,
            result: format::result_word(receipt.result),
            ipxfer_exit: &receipt.ipxfer_exit,
            before: &receipt.before,
            after: &receipt.after,
            matched_by: receipt.check.map(MatchedBy::as_str),
            thumbprint: receipt.thumbprint.as_deref(),
            server_check: receipt.server.map(ServerCheck::as_str),
            ran_at: &ran_at,
            source: &at.file.to_string_lossy(),
            line: i64::try_from(at.number).unwrap_or(i64::MAX),
        },
        bundle.agent_id,
        new_status,
    )?)
}

/// A receipt of a bundle whose certificate the server no longer uses: recorded, its
/// agent's status left as `status`.
fn stale_problem(receipt: &Receipt, status: AgentStatus) -> LineProblem {
    LineProblem::new(
        "receipts.stale",
        &[("bundle", &receipt.bundle_id), ("status", status.as_str())],
        format!(
            "bundle {} carries a certificate the server no longer uses; the agent's status was left as {}",
            receipt.bundle_id, status
        ),
    )
}

/// A recorded receipt, as reported.
fn applied(
    at: &LineAt,
    receipt: &Receipt,
    bundle: &BundleRow,
    before: AgentStatus,
    after: AgentStatus,
) -> Applied {
    Applied {
        file: at.file.to_path_buf(),
        line: at.number,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_after_receipts() {
        use AgentStatus::*;
        assert_eq!(
            next_status(BundleExported, ReceiptResult::Repaired),
            Some(Repaired)
        );
        assert_eq!(
            next_status(BundleExported, ReceiptResult::IpxferFailed),
            Some(RepairFailed)
        );
        assert_eq!(
            next_status(RepairFailed, ReceiptResult::IpxferFailed),
            Some(ReinstallRecommended)
        );
        assert_eq!(
            next_status(BundleExported, ReceiptResult::CertStillDifferent),
            Some(ReinstallRecommended)
        );
        assert_eq!(next_status(BundleExported, ReceiptResult::NotAdmin), None);
        assert_eq!(
            next_status(Repaired, ReceiptResult::Differs),
            Some(Mismatched)
        );
        assert_eq!(next_status(BundleExported, ReceiptResult::Differs), None);
        assert_eq!(
            next_status(Mismatched, ReceiptResult::Matches),
            Some(Repaired)
        );
    }

    #[test]
    fn computer_names_compare_as_windows_netbios_names() {
        assert!(same_computer("PC-01", "pc-01"));
        assert!(same_computer("pc-01", "PC-01"));
        // %COMPUTERNAME% is the NetBIOS name: 15 characters.
        assert!(same_computer(
            "ACCOUNTING-WORK",
            "accounting-workstation-07"
        ));
        assert!(!same_computer(
            "ACCOUNTING-WOR",
            "accounting-workstation-07"
        ));
        // A DNS name in the list: its host part.
        assert!(same_computer("PC-02", "pc-02.corp.example"));
        assert!(!same_computer("CORP", "pc-02.corp.example"));
        // Japanese names: 15 bytes of CP932 (7 characters) or 15 characters.
        let ja = "経理部のパソコン一号機です";
        assert!(same_computer("経理部のパソコ", ja));
        assert!(same_computer(&ja.chars().take(15).collect::<String>(), ja));
        assert!(!same_computer("経理部", ja));
        assert!(!same_computer("", "PC-01"));
        assert!(!same_computer("PC-010", "PC-01"));
        assert!(!same_computer("PC-0", "PC-01"));
    }

    fn bundle_row() -> BundleRow {
        BundleRow {
            id: "00ff".into(),
            agent_id: 1,
            agent_name: "PC-01".into(),
            agent_status: AgentStatus::BundleExported,
            agent_guid: None,
            server_id: 1,
            certificate_sha256: "AB".repeat(32),
            certificate_sha1_thumbprint: Some("CD".repeat(20)),
            server_certificate_sha256: Some("AB".repeat(32)),
            created: String::new(),
            superseded_by: None,
            out_dir: String::new(),
            folder: "PC-01".into(),
            files: None,
        }
    }

    #[test]
    fn a_receipt_counts_only_when_it_agrees_with_its_bundle() {
        let bundle = bundle_row();
        let cert = "ab".repeat(32);
        let other = "EF".repeat(32);
        let line = |fields: &str| {
            parse_line(&format!("certmend-receipt=1;bundle=00ff;run=1;{fields}")).unwrap()
        };
        let code = |r: &Receipt| disagreement(r, &bundle).map(|p| p.code);
        // As repair.cmd writes them on the right computer: they count.
        let good = line(&format!(
            "computer=pc-01;before={other};after={cert};check=sha256;result=REPAIRED"
        ));
        assert_eq!(code(&good), None);
        let check = line(&format!(
            "computer=PC-01;mode=check;before={cert};after=;result=MATCHES"
        ));
        assert_eq!(code(&check), None);
        let pem = line(&format!("computer=PC-01;before={other};after={other};check=thumbprint;thumbprint={};result=REPAIRED", "cd".repeat(20)));
        assert_eq!(code(&pem), None);
        // Another computer, another certificate, another thumbprint: refused.
        let elsewhere = line(&format!(
            "computer=PC-02;before={other};after={cert};result=REPAIRED"
        ));
        let problem = disagreement(&elsewhere, &bundle).unwrap();
        assert_eq!(problem.code, "receipts.wrong_computer");
        assert_eq!(problem.args["computer"], "PC-02");
        assert_eq!(problem.args["agent"], "PC-01");
        let forged = line(&format!(
            "computer=PC-01;before={other};after={other};result=REPAIRED"
        ));
        let problem = disagreement(&forged, &bundle).unwrap();
        assert_eq!(problem.code, "receipts.certificate_differs");
        assert_eq!(problem.args["field"], "after");
        assert_eq!(problem.args["found"], other);
        // /check compares the certificate before (there is no after).
        let check_other = line(&format!(
            "computer=PC-01;mode=check;before={other};after={cert};result=MATCHES"
        ));
        let problem = disagreement(&check_other, &bundle).unwrap();
        assert_eq!(
            (problem.code, problem.args["field"].as_str()),
            ("receipts.certificate_differs", "before")
        );
        let bad_thumb = line(&format!(
            "computer=PC-01;after={other};check=thumbprint;thumbprint={};result=REPAIRED",
            "99".repeat(20)
        ));
        assert_eq!(code(&bad_thumb), Some("receipts.thumbprint_differs"));
        let no_thumb = line(&format!(
            "computer=PC-01;after={other};check=thumbprint;result=REPAIRED"
        ));
        assert_eq!(code(&no_thumb), Some("receipts.thumbprint_differs"));
        // A failure from the wrong computer would push the agent into the wrong list.
        let failed = line("computer=PC-99;ipxfer_exit=5;result=IPXFER_FAILED");
        assert_eq!(code(&failed), Some("receipts.wrong_computer"));
        // A failure on the right computer needs no certificate.
        let failed = line("computer=PC-01;ipxfer_exit=5;after=;result=IPXFER_FAILED");
        assert_eq!(code(&failed), None);

        // An agent a list named only by its GUID: the registry GUID check decides.
        let mut by_guid = bundle_row();
        by_guid.agent_name = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427".into();
        let code = |r: &Receipt| disagreement(r, &by_guid).map(|p| p.code);
        let matched = line(&format!(
            "computer=ANY-PC;after={cert};check=sha256;guid_check=match;result=REPAIRED"
        ));
        assert_eq!(code(&matched), None);
        for check in ["skipped", "absent"] {
            let unproven = line(&format!(
                "computer=1B4E28BA-2FA1-11D2-883F-0016D3CCA427;after={cert};check=sha256;guid_check={check};result=REPAIRED"
            ));
            assert_eq!(code(&unproven), Some("receipts.wrong_computer"), "{check}");
        }
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
