//! Comparing certificates collected from agents with what the server has had.
//!
//! Admins copy agents' `OfcNTCer.dat` files as `<host>.dat`, `<host>_OfcNTCer.dat`, or
//! `<host>\OfcNTCer.dat`. Each gets a verdict: `current` (the server's certificate now),
//! `previous` (one it had before, from the store's history), `foreign` (never seen), or
//! `unreadable`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agents::status::AgentStatus;
use crate::cert;
use crate::inventory::RecordedServer;
use crate::server::CodedMessage;
use crate::store::{CertificateRow, Store, StoreError};
use crate::untrusted;
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
    /// Entries of the given folders that were not read: files that are not certificates
    /// by their ending, and links (also listed in `links`).
    pub skipped: Vec<PathBuf>,
    /// Links (symbolic links, junctions, other reparse points) met in the given folders
    /// or given themselves as folders: stepped over, never followed, so a link cannot
    /// read a file from elsewhere into the report (or reach a network path), and a loop
    /// of links ends.
    pub links: Vec<PathBuf>,
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

/// What [`collect_files`] found under the given paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collection {
    /// Files to read as certificates.
    pub files: Vec<PathBuf>,
    /// Entries not read: files that are not certificates by their ending, and links.
    pub skipped: Vec<PathBuf>,
    /// The links among `skipped`.
    pub links: Vec<PathBuf>,
}

/// The files to compare: files as given, folders walked (sorted), with what was skipped.
///
/// Collected certificates come from sticks and shares others can write to. A folder
/// walk never follows a link ([`untrusted::is_link`]): it is reported and stepped over,
/// so two links naming their own folder end instead of multiplying forever. A file
/// given by name is read by [`cert::load`], which refuses a link with `file.link`.
pub fn collect_files(paths: &[PathBuf]) -> Result<Collection, CompareError> {
    let mut found = Collection::default();
    for path in paths {
        let meta = std::fs::symlink_metadata(path)
            .map_err(|_| CompareError::NotFound { path: path.clone() })?;
        if meta.is_dir() {
            walk(path, &mut found)?;
        } else if untrusted::is_link(path) && path.is_dir() {
            // A folder reached through a link: not walked.
            found.skipped.push(path.clone());
            found.links.push(path.clone());
        } else {
            found.files.push(path.clone());
        }
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Collection) -> Result<(), CompareError> {
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
        if untrusted::is_link(&path) {
            found.skipped.push(path.clone());
            found.links.push(path);
        } else if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|e| CERT_EXTENSIONS.iter().any(|c| e.eq_ignore_ascii_case(c)))
        {
            found.files.push(path);
        } else {
            found.skipped.push(path);
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
    let known = Known {
        current,
        history: store.certificate_history(server.server_id)?,
        statuses: store.agent_statuses(server.server_id)?,
    };
    let Collection {
        files,
        skipped,
        links,
    } = collect_files(paths)?;
    let mut counts = VerdictCounts::default();
    let mut results = Vec::with_capacity(files.len());
    for file in files {
        let entry = known.judge(file);
        counts.add(entry.verdict);
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
        links,
    })
}

/// What a collected certificate is compared with: the server's certificate, the ones
/// it had before, and its agents' statuses by name.
struct Known<'a> {
    current: &'a cert::Certificate,
    history: Vec<CertificateRow>,
    statuses: HashMap<String, AgentStatus>,
}

impl Known<'_> {
    /// One collected file, read and judged.
    fn judge(&self, file: PathBuf) -> Collected {
        let host = host_for(&file);
        let agent_status = self
            .statuses
            .get(&crate::agents::name_key(&host))
            .map(|s| s.as_str().to_string());
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
                entry.verdict = if c.der() == self.current.der() {
                    Verdict::Current
                } else if let Some(row) = self
                    .history
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
        entry
    }
}

impl VerdictCounts {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Current => self.current += 1,
            Verdict::Previous => self.previous += 1,
            Verdict::Foreign => self.foreign += 1,
            Verdict::Unreadable => self.unreadable += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A collected folder from a stick with two links naming their own folder (a
    /// walk that followed them would never end), a link to a local certificate, and a
    /// link to another folder: the walk ends at once, reads only the real file, and
    /// reports every link as skipped.
    #[cfg(unix)]
    #[test]
    fn links_in_collected_folders_are_stepped_over_and_loops_end() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let local = tmp.path().join("local");
        std::fs::create_dir(&local).unwrap();
        std::fs::write(local.join("secret.dat"), b"a local file").unwrap();
        let collected = tmp.path().join("collected");
        std::fs::create_dir_all(collected.join("PC-02")).unwrap();
        std::fs::write(collected.join("PC-01.dat"), b"x").unwrap();
        std::fs::write(collected.join("PC-02/OfcNTCer.dat"), b"x").unwrap();
        symlink(".", collected.join("loop-a")).unwrap();
        symlink(".", collected.join("PC-02/loop-b")).unwrap();
        symlink(local.join("secret.dat"), collected.join("PC-03.dat")).unwrap();
        symlink(&local, collected.join("PC-04")).unwrap();

        let (tx, rx) = std::sync::mpsc::channel();
        let paths = vec![collected.clone()];
        std::thread::spawn(move || tx.send(collect_files(&paths)).unwrap());
        let found = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the walk ends")
            .unwrap();
        assert_eq!(
            found.files,
            [
                collected.join("PC-01.dat"),
                collected.join("PC-02/OfcNTCer.dat")
            ]
        );
        let links = [
            collected.join("PC-02/loop-b"),
            collected.join("PC-03.dat"),
            collected.join("PC-04"),
            collected.join("loop-a"),
        ];
        assert_eq!(found.links, links);
        assert_eq!(found.skipped, links);

        // Given by name: a link to a file is listed, and refused when read.
        let given = collect_files(&[collected.join("PC-03.dat"), collected.join("PC-04")]).unwrap();
        assert_eq!(given.files, [collected.join("PC-03.dat")]);
        assert_eq!(given.links, [collected.join("PC-04")]);
        let err = cert::load(&collected.join("PC-03.dat")).unwrap_err();
        assert_eq!(err.code(), "file.link", "{err}");
        assert!(err.to_string().contains("PC-03.dat"), "{err}");
    }

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
