//! Repair: sizing and writing the bundles, checking a stick, reading receipts back.

use std::path::{Path, PathBuf};

use super::{coded, CodedMessage, ServerRef};
pub use crate::bundle::Destination;
use crate::bundle::{
    self, Estimate, ExportOptions, ExportReport, Selection, SyntaxRequest, TargetCheck, XgValues,
};
use crate::inventory::RecordedServer;
use crate::progress::{Cancel, Progress};
use crate::receipts::{self, ReceiptResult, ReceiptsReport};
use crate::script::{Password, ScriptLanguage, ToolsLocation};
use crate::store::Store;
use zeroize::Zeroizing;

/// The agent unload password for the scripts.
#[derive(Clone)]
pub enum AgentPassword<'a> {
    /// The script asks for it when it runs (empty = none). The default.
    AskedByScript,
    /// Written into every script; asked through the callback once the export's other
    /// choices were checked.
    Embedded(&'a dyn Fn() -> Result<Zeroizing<String>, CodedMessage>),
    /// The first line of this file on each agent PC (an absolute Windows path, checked
    /// when the scripts are written), read when repair.cmd runs: for unattended runs.
    FileOnAgents(String),
}

/// What an admin asks of an export.
#[derive(Clone)]
pub struct ExportRequest<'a> {
    pub out_dir: PathBuf,
    pub selection: Selection,
    /// Take IpXfer.exe and IpXfer_x64.exe from here instead of the server.
    pub ipxfer_dir: Option<PathBuf>,
    pub tools: ToolsLocation,
    pub syntax: SyntaxRequest,
    /// For the XG syntax: the values given; missing ones come from ofcscan.ini.
    pub xg: XgValues,
    pub language: ScriptLanguage,
    pub password: AgentPassword<'a>,
    /// A stick (the default), or a network share: then DEPLOY.txt and
    /// set-permissions.cmd too, for the share path given (or `out_dir`, a UNC path).
    pub destination: Destination,
}

fn options(
    server: &RecordedServer,
    request: ExportRequest<'_>,
) -> Result<ExportOptions, CodedMessage> {
    let syntax = bundle::choose_syntax(server, request.syntax, &request.xg).map_err(coded)?;
    // The share path goes into commands: checked before the password is asked.
    let share = match &request.destination {
        Destination::Stick => None,
        Destination::Share { share_path } => {
            Some(bundle::share_target(&request.out_dir, share_path.as_deref()).map_err(coded)?)
        }
    };
    let password = match request.password {
        AgentPassword::AskedByScript => Password::Prompt,
        AgentPassword::Embedded(ask) => Password::Embedded(ask()?),
        AgentPassword::FileOnAgents(path) => Password::File(path),
    };
    Ok(ExportOptions {
        out_dir: request.out_dir,
        selection: request.selection,
        ipxfer_dir: request.ipxfer_dir,
        shared_tools: request.tools == ToolsLocation::Shared,
        syntax,
        language: request.language,
        password,
        share,
    })
}

/// Checks an export's choices and sizes it (bundles, bytes needed, free); writes nothing.
pub fn estimate(
    store: &mut Store,
    server: ServerRef<'_>,
    request: ExportRequest<'_>,
) -> Result<Estimate, CodedMessage> {
    let server = server.resolve(store)?;
    let options = options(&server, request)?;
    bundle::estimate(store, &server, &options).map_err(coded)
}

/// Writes one verified bundle per selected agent.
pub fn export(
    store: &mut Store,
    server: ServerRef<'_>,
    request: ExportRequest<'_>,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ExportReport, CodedMessage> {
    let server = server.resolve(store)?;
    let options = options(&server, request)?;
    bundle::export(store, &server, &options, progress, cancel).map_err(coded)
}

/// Checks every bundle on a stick against what certmend wrote.
pub fn verify(store: &Store, dir: &Path) -> Result<TargetCheck, CodedMessage> {
    bundle::verify_target(store, dir).map_err(coded)
}

/// Reads the receipts repair.cmd left on a stick (its root or its receipts folder) and
/// updates the agents' statuses.
pub fn read_receipts(store: &mut Store, dir: &Path) -> Result<ReceiptsReport, CodedMessage> {
    receipts::read_receipts(store, dir).map_err(coded)
}

/// Receipts read without being asked (a watched stick): the report, when it holds
/// anything an admin should hear about (statuses changed, or problems).
pub fn receipts_news(store: &mut Store, dir: &Path) -> Option<ReceiptsReport> {
    let report = receipts::read_receipts(store, dir).ok()?;
    (!report.applied.is_empty() || report.has_problems()).then_some(report)
}

/// How a fleet export is doing: its current bundles, and what their latest receipts say.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FleetProgress {
    pub out_dir: PathBuf,
    pub bundles: usize,
    /// Bundles with at least one receipt.
    pub reported: usize,
    /// Latest receipt REPAIRED or MATCHES.
    pub repaired: usize,
    /// Latest receipt a failure (IpXfer failed, certificate still different, ...).
    pub failed: usize,
    /// Latest receipt PASSWORD_NEEDED: the unattended run had no unload password.
    pub password_needed: usize,
    /// No receipt yet.
    pub silent: usize,
}

/// The progress of the export at `dir` (its current bundles of `server`), from the
/// receipts read so far. Computers that ran the entry script with no bundle for them
/// (NOT_LISTED) are in the receipts report, not here: they have no bundle.
pub fn fleet_progress(
    store: &mut Store,
    server: ServerRef<'_>,
    dir: &Path,
) -> Result<FleetProgress, CodedMessage> {
    let server = server.resolve(store)?;
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let bundles = store
        .current_bundles_in(server.server_id, &dir)
        .map_err(coded)?;
    let latest = store
        .latest_receipt_results(server.server_id)
        .map_err(coded)?;
    let mut progress = FleetProgress {
        out_dir: dir,
        bundles: bundles.len(),
        ..FleetProgress::default()
    };
    for bundle in &bundles {
        let result = latest
            .get(&bundle.id)
            .and_then(|word| ReceiptResult::parse(word));
        match result {
            None => progress.silent += 1,
            Some(result) => {
                progress.reported += 1;
                match result {
                    ReceiptResult::Repaired | ReceiptResult::Matches => progress.repaired += 1,
                    ReceiptResult::PasswordNeeded => progress.password_needed += 1,
                    r if r.is_failure() => progress.failed += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(progress)
}
