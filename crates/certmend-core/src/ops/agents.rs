//! Agents: importing CertificateManager lists, comparing collected certificates, and
//! listing the agents known.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{coded, CodedMessage, ServerRef};
use crate::agents::import::{import_list, ImportReport};
use crate::certificate_manager::{self, ListOutcome, ProcessRunner};
use crate::compare::{self, CompareReport};
use crate::inventory::{self, ChosenServer};
use crate::progress::{Cancel, Progress};
use crate::server;
use crate::store::{AgentFilter, AgentPage, AgentQuery, AgentRow, AgentStatus, Store};

/// The server lists are imported into.
#[derive(Debug, Clone)]
pub enum ImportInto {
    /// An install folder the admin named (read and recorded now).
    Folder(PathBuf),
    /// The server certmend read last (or the only one it knows).
    LastRead,
    /// The server a front end has open.
    Chosen(ChosenServer),
}

/// Whether to run the server's `CertificateManager.exe -l` for a fresh list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateManagerRun {
    Run,
    Skip,
}

#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub into: ImportInto,
    pub files: Vec<PathBuf>,
    pub certificate_manager: CertificateManagerRun,
}

/// One file's outcome: each file is its own import, so one that fails neither undoes
/// nor hides the others.
#[derive(Debug, Clone, Serialize)]
pub struct FileImport {
    pub file: PathBuf,
    pub report: Option<ImportReport>,
    pub error: Option<CodedMessage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub server: ChosenServer,
    /// CertificateManager ran, exited 0 and wrote no list (see [`ListOutcome`]).
    pub nothing_listed: Option<ListOutcome>,
    /// The given files first, then CertificateManager's list when it wrote one.
    pub files: Vec<FileImport>,
}

impl ImportOutcome {
    pub fn any_rejected(&self) -> bool {
        self.files
            .iter()
            .any(|f| f.report.as_ref().is_some_and(|r| !r.rejected.is_empty()))
    }

    pub fn any_failed(&self) -> bool {
        self.files.iter().any(|f| f.error.is_some())
    }
}

/// Imports list files (and CertificateManager's own list when asked) into a server, one
/// after the other; stops between files when cancelled.
pub fn import(
    store: &mut Store,
    request: ImportRequest,
    runner: &dyn ProcessRunner,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ImportOutcome, CodedMessage> {
    let server = match request.into {
        ImportInto::Folder(dir) => inventory::choose(store, Some(&dir)).map_err(coded)?,
        ImportInto::LastRead => inventory::choose(store, None).map_err(coded)?,
        ImportInto::Chosen(chosen) => chosen,
    };
    let mut files = request.files;
    // Holds CertificateManager's output until it is imported, then removes it.
    let mut _output_dir = None;
    let mut nothing_listed = None;
    if request.certificate_manager == CertificateManagerRun::Run {
        let dir = private_temp_dir()?;
        let install = server::open(&server.install_folder).map_err(coded)?;
        let csv = dir.path().join("CertificateManager-l.csv");
        match certificate_manager::list_mismatched(runner, &install, &csv).map_err(coded)? {
            ListOutcome::Listed { csv, .. } => files.push(csv),
            outcome => nothing_listed = Some(outcome),
        }
        _output_dir = Some(dir);
    }
    let mut results = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        progress.item(i as u64, files.len() as u64);
        let outcome = import_list(store, server.server_id, file, progress, cancel);
        results.push(match outcome {
            Ok(report) => FileImport {
                file: file.clone(),
                report: Some(report),
                error: None,
            },
            Err(e) => FileImport {
                file: file.clone(),
                report: None,
                error: Some(coded(e)),
            },
        });
        if cancel.is_cancelled() {
            break;
        }
    }
    progress.item(files.len() as u64, files.len() as u64);
    Ok(ImportOutcome {
        server,
        nothing_listed,
        files: results,
    })
}

/// A random name, created exclusively; on Unix the owner's alone (the list names every
/// mismatched agent). On Windows %TEMP% is per-user.
fn private_temp_dir() -> Result<tempfile::TempDir, CodedMessage> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("certmend-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir().map_err(|e| {
        CodedMessage::new(
            "file.unwritable",
            format!("cannot create a temporary folder: {e}"),
        )
    })
}

/// Certificates collected from agents (files or folders of them) compared with the
/// server's. The verdicts are reported, and the counts logged (`certificates.compared`);
/// agents' statuses are not changed by them.
pub fn compare(
    store: &mut Store,
    server: ServerRef<'_>,
    paths: &[PathBuf],
) -> Result<CompareReport, CodedMessage> {
    let server = server.resolve(store)?;
    compare::compare_collected(store, &server, paths).map_err(coded)
}

/// Which agents to list.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only this server's agents (its install folder).
    pub server: Option<PathBuf>,
    pub status: Option<AgentStatus>,
    /// Matched in any letter case against name, IP, domain and GUID.
    pub search: Option<String>,
}

pub fn list(store: &Store, request: ListRequest) -> Result<Vec<AgentRow>, CodedMessage> {
    let server_id = match &request.server {
        Some(dir) => Some(known_server_id(store, dir)?),
        None => None,
    };
    store
        .agents(&AgentFilter {
            server_id,
            status: request.status,
            search: request.search,
        })
        .map_err(coded)
}

/// The id of a server certmend has read before; reading it here would record it, and a
/// server never read has no agents to list.
fn known_server_id(store: &Store, dir: &Path) -> Result<i64, CodedMessage> {
    let install = server::open(dir).map_err(coded)?;
    store
        .server_id_for(&install.install_folder)
        .map_err(coded)?
        .ok_or_else(|| {
            CodedMessage::new(
                "server.unknown",
                format!(
                    "{}: certmend has not read this server yet; import a list for it first",
                    install.install_folder.display()
                ),
            )
            .with_arg("path", install.install_folder.display())
        })
}

/// One page of a server's agents table.
pub fn page(store: &Store, server_id: i64, query: AgentQuery) -> Result<AgentPage, CodedMessage> {
    store
        .agents_page(&AgentQuery { server_id, ..query })
        .map_err(coded)
}
