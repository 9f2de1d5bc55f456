//! Comparing certificates collected from agents with what the server has had.
//!
//! Admins copy agents' `OfcNTCer.dat` files as `<host>.dat`, `<host>_OfcNTCer.dat`, or
//! `<host>\OfcNTCer.dat`. Each gets a verdict: `current` (the server's certificate now),
//! `previous` (one it had before, from the store's history), `foreign` (never seen), or
//! `unreadable`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cert;
use crate::inventory::RecordedServer;
use crate::server::CodedMessage;
use crate::store::{CertificateRow, Store, StoreError};
use crate::ErrorCode;

/// File endings taken as certificates inside a folder (any case).
const CERT_EXTENSIONS: [&str; 5] = ["dat", "cer", "crt", "der", "pem"];

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("{}: no such file or folder", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot list the folder: {source}", path.display())]
    Unlistable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the server's own certificate cannot be read, so there is nothing to compare with: {message}", path.display())]
    NoServerCertificate { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for CompareError {
    fn code(&self) -> &'static str {
        match self {
            CompareError::NotFound { .. } => "file.not_found",
            CompareError::Unlistable { .. } => "file.unreadable",
            CompareError::NoServerCertificate { .. } => "compare.no_server_certificate",
            CompareError::Store(e) => e.code(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Current,
    Previous,
    Foreign,
    Unreadable,
}

/// One collected certificate and what it is.
#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    pub file: PathBuf,
    /// The agent it was collected from, from the file or folder name.
    pub host: String,
    pub verdict: Verdict,
    pub sha1_thumbprint: Option<String>,
    pub sha256: Option<String>,
    /// For `previous`: the server's earlier certificate it equals, with when it was seen.
    pub previous: Option<CertificateRow>,
    /// For `unreadable`: why.
    pub error: Option<CodedMessage>,
    /// The agent's status in the store, when the host is a known agent of this server.
    pub agent_status: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerdictCounts {
    pub current: usize,
    pub previous: usize,
    pub foreign: usize,
    pub unreadable: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub server: PathBuf,
    pub server_sha1_thumbprint: String,
    pub results: Vec<Collected>,
    pub counts: VerdictCounts,
    /// Files in the given folders that were not taken as certificates (by their ending).
    pub skipped: Vec<PathBuf>,
}

impl CompareReport {
    pub fn all_current(&self) -> bool {
        self.results.iter().all(|r| r.verdict == Verdict::Current)
    }
}

/// The host a collected certificate belongs to.
pub fn host_for(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem.eq_ignore_ascii_case("OfcNTCer") {
        return path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(file);
    }
    let lower = stem.to_ascii_lowercase();
    if let Some(cut) = lower.strip_suffix("_ofcntcer") {
        return stem[..cut.len()].to_string();
    }
    stem
}

/// The files to compare: files as given, folders walked (sorted), with what was skipped.
pub fn collect_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), CompareError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|_| CompareError::NotFound { path: path.clone() })?;
        if meta.is_dir() {
            walk(path, &mut files, &mut skipped)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok((files, skipped))
}

fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> Result<(), CompareError> {
    let unlistable = |source| CompareError::Unlistable {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unlistable)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unlistable)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files, skipped)?;
        } else if path
            .extension()
            .is_some_and(|e| CERT_EXTENSIONS.iter().any(|c| e.eq_ignore_ascii_case(c)))
        {
            files.push(path);
        } else {
            skipped.push(path);
        }
    }
    Ok(())
}

/// Compares every collected certificate under `paths` with `server`'s certificates.
pub fn compare_collected(
    store: &mut Store,
    server: &RecordedServer,
    paths: &[PathBuf],
) -> Result<CompareReport, CompareError> {
    let install = server.report.server.install_folder.clone();
    let current = server
        .certificate
        .as_ref()
        .ok_or_else(|| CompareError::NoServerCertificate {
            path: install.clone(),
            message: server.certificate_problem(),
        })?;
    let history = store.certificate_history(server.server_id)?;
    let statuses = store.agent_statuses(server.server_id)?;
    let (files, skipped) = collect_files(paths)?;
    let mut counts = VerdictCounts::default();
    let mut results = Vec::with_capacity(files.len());
    for file in files {
        let host = host_for(&file);
        let agent_status = statuses.get(&crate::agents::name_key(&host)).cloned();
        let mut entry = Collected {
            file: file.clone(),
            host,
            verdict: Verdict::Unreadable,
            sha1_thumbprint: None,
            sha256: None,
            previous: None,
            error: None,
            agent_status,
        };
        match cert::load(&file) {
            Err(e) => entry.error = Some(CodedMessage::from_error(&e)),
            Ok(c) => {
                let info = c.info();
                entry.sha1_thumbprint = Some(info.sha1_thumbprint.clone());
                entry.sha256 = Some(info.sha256.clone());
                entry.verdict = if c.der() == current.der() {
                    Verdict::Current
                } else if let Some(row) = history
                    .iter()
                    .find(|h| h.sha256 == info.sha256 && !h.current)
                {
                    entry.previous = Some(row.clone());
                    Verdict::Previous
                } else {
                    Verdict::Foreign
                };
            }
        }
        match entry.verdict {
            Verdict::Current => counts.current += 1,
            Verdict::Previous => counts.previous += 1,
            Verdict::Foreign => counts.foreign += 1,
            Verdict::Unreadable => counts.unreadable += 1,
        }
        results.push(entry);
    }
    store.log_event(
        "certificates.compared",
        Some(server.server_id),
        Some(&install.to_string_lossy()),
        &serde_json::json!({
            "current": counts.current,
            "previous": counts.previous,
            "foreign": counts.foreign,
            "unreadable": counts.unreadable,
        }),
    )?;
    Ok(CompareReport {
        server: install,
        server_sha1_thumbprint: current.info().sha1_thumbprint.clone(),
        results,
        counts,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_from_the_three_layouts() {
        assert_eq!(host_for(Path::new("c/PC-01.dat")), "PC-01");
        assert_eq!(host_for(Path::new("c/PC-02_OfcNTCer.dat")), "PC-02");
        assert_eq!(host_for(Path::new("c/pc-03_ofcntcer.DAT")), "pc-03");
        assert_eq!(host_for(Path::new("c/PC-04/OfcNTCer.dat")), "PC-04");
        assert_eq!(host_for(Path::new("c/PC-05/OFCNTCER.DAT")), "PC-05");
        assert_eq!(host_for(Path::new("c/営業PC.cer")), "営業PC");
    }
}
