//! What certmend knows about servers over time: every read of a server is recorded in
//! the store with its certificate, building the certificate history `compare` uses.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cert::Certificate;
use crate::server::{self, ServerError, ServerInstall, ServerReport};
use crate::store::{Store, StoreError};
use crate::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no server is known yet: give the server with --server DIR (its install folder)")]
    NoServerKnown,
}

impl ErrorCode for InventoryError {
    fn code(&self) -> &'static str {
        match self {
            InventoryError::Server(e) => e.code(),
            InventoryError::Store(e) => e.code(),
            InventoryError::NoServerKnown => "server.none_known",
        }
    }
}

/// A server read and recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedServer {
    pub server_id: i64,
    pub report: ServerReport,
    #[serde(skip)]
    pub certificate: Option<Certificate>,
}

impl RecordedServer {
    /// Why the server's certificate could not be read ("" when it was).
    pub fn certificate_problem(&self) -> String {
        self.report
            .certificate_error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    }
}

/// Reads `install`'s certificate and records the read (and, for the demo server, the
/// certificate history its marker carries).
pub fn record(store: &mut Store, install: ServerInstall) -> Result<RecordedServer, StoreError> {
    // Only a demo's marker carries a history; a real server's folder is not searched.
    let history = if install.demo {
        crate::demo_marker::recorded_history(&install.install_folder)
    } else {
        Vec::new()
    };
    let (report, certificate) = server::read(install);
    let server_id = store.record_server_read(&report.server, certificate.as_ref(), &history)?;
    Ok(RecordedServer {
        server_id,
        report,
        certificate,
    })
}

/// Opens the install (or PCCSRV) folder `dir`, reads and records it.
pub fn open(store: &mut Store, dir: &Path) -> Result<RecordedServer, InventoryError> {
    let install = server::open(dir)?;
    Ok(record(store, install)?)
}

/// Which server a list belongs to, and how that was decided.
#[derive(Debug, Clone, Serialize)]
pub struct ChosenServer {
    pub server_id: i64,
    pub install_folder: PathBuf,
    /// `given` (--server), or `last_read` (the server read last, or the only one known).
    pub chosen_by: &'static str,
}

/// The server `dir` names (read and recorded), else the server read last.
pub fn choose(store: &mut Store, dir: Option<&Path>) -> Result<ChosenServer, InventoryError> {
    if let Some(dir) = dir {
        let recorded = open(store, dir)?;
        return Ok(ChosenServer {
            server_id: recorded.server_id,
            install_folder: recorded.report.server.install_folder,
            chosen_by: "given",
        });
    }
    let last = store
        .last_read_server()?
        .ok_or(InventoryError::NoServerKnown)?;
    Ok(ChosenServer {
        server_id: last.id,
        install_folder: PathBuf::from(last.install_folder),
        chosen_by: "last_read",
    })
}
