//! Importing a list file into the store: hash and encoding in one streaming pass, then
//! the lines in a second, written in one transaction (all or nothing). Re-importing the
//! same file (same SHA-256) for the same server changes nothing.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest;

use super::encoding::{self, EncodingError, ListEncoding};
use super::{read_list, Column, ListError, ListItem, ListShape, Rejected, SkippedLine};
use crate::progress::{Cancel, Progress};
use crate::store::{ImportCounts, ImportMeta, ImportRow, Store, StoreError};
use crate::untrusted::{self, FileError, Kind};
use crate::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a folder, not a list file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A link, a device or pipe, or a list beyond [`Kind::List`]'s cap (`file.link`,
    /// `file.not_regular`, `file.too_large`): nothing is read.
    #[error(transparent)]
    Refused(FileError),
    #[error("{}: {source}", path.display())]
    Encoding {
        path: PathBuf,
        #[source]
        source: EncodingError,
    },
    #[error("{}: {message}", path.display())]
    List { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: import cancelled; nothing was stored", path.display())]
    Cancelled { path: PathBuf },
}

impl ErrorCode for ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::NotFound { .. } => "file.not_found",
            ImportError::IsDirectory { .. } => "file.is_directory",
            ImportError::Unreadable { .. } => "file.unreadable",
            ImportError::Refused(e) => e.code(),
            ImportError::Encoding { .. } => "list.unknown_encoding",
            ImportError::List { .. } => "list.no_name_column",
            ImportError::Store(e) => e.code(),
            ImportError::Cancelled { .. } => "import.cancelled",
        }
    }
}

/// What an import did, as `certmend import --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: PathBuf,
    pub sha256: String,
    pub server_id: i64,
    pub encoding: ListEncoding,
    /// `","`, `"\t"` or `";"`.
    pub delimiter: String,
    pub header: bool,
    pub columns: Vec<String>,
    pub recognised: Vec<Option<Column>>,
    /// Lines with text before the header row (a title, a summary), skipped: never agents.
    pub skipped_preamble: Vec<SkippedLine>,
    /// No computer-name column but a GUID column: agents are named by their GUID.
    pub named_by_guid: bool,
    /// Data lines read (the header, lines before it and blank lines not counted).
    pub rows: i64,
    /// Distinct agents this file names.
    pub agents: i64,
    /// Lines naming an agent named earlier in the same file.
    pub duplicates: i64,
    pub rejected: Vec<Rejected>,
    pub new_agents: i64,
    pub resolved: i64,
    /// Set when this file was imported before for this server: nothing changed.
    pub already_imported: Option<ImportRow>,
}

impl From<FileError> for ImportError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::NotFound { path } => ImportError::NotFound { path },
            FileError::IsDirectory { path } => ImportError::IsDirectory { path },
            FileError::Unreadable { path, source } => ImportError::Unreadable { path, source },
            other => ImportError::Refused(other),
        }
    }
}

/// Opens a list file: it may come from a stick, a share or a dropped folder, so only a
/// regular file reached without a link, and never more of it than [`Kind::List`]'s cap
/// (one byte more is read, so that a file that grew past it is caught).
fn open(path: &Path) -> Result<io::Take<File>, ImportError> {
    let (file, _) = untrusted::open(path, Kind::List)?;
    Ok(file.take(Kind::List.cap() + 1))
}

/// Refuses a list that turned out larger than the cap while it was read.
fn within_cap(path: &Path, read: u64) -> Result<(), ImportError> {
    if read > Kind::List.cap() {
        return Err(ImportError::Refused(FileError::TooLarge {
            path: path.to_path_buf(),
            size: read,
            cap: Kind::List.cap(),
            what: "an agent list",
        }));
    }
    Ok(())
}

/// Hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: sha2::Sha256,
    read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Counts bytes read, reports progress and stops when cancelled.
struct ProgressReader<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    progress: &'a dyn Progress,
    cancel: &'a Cancel,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.progress.update(self.done, self.total);
        Ok(n)
    }
}

/// The SHA-256 and encoding of a list file, in one pass.
fn fingerprint(path: &Path) -> Result<(String, ListEncoding, u64), ImportError> {
    let unreadable = |source| ImportError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = HashingReader {
        inner: BufReader::with_capacity(64 * 1024, open(path)?),
        hasher: sha2::Sha256::new(),
        read: 0,
    };
    let detected = encoding::detect(&mut reader);
    // Detection may stop early (a BOM decides at once): hash the rest too.
    io::copy(&mut reader, &mut io::sink()).map_err(unreadable)?;
    within_cap(path, reader.read)?;
    let encoding = detected.map_err(|source| match source {
        EncodingError::Io(e) => unreadable(e),
        other => ImportError::Encoding {
            path: path.to_path_buf(),
            source: other,
        },
    })?;
    let sha256 = crate::hexfmt::upper_hex(&reader.hasher.finalize());
    Ok((sha256, encoding, reader.read))
}

impl ImportReport {
    /// The report for a file imported before (same SHA-256 for the same server):
    /// nothing read, nothing changed.
    fn already(
        path: &Path,
        sha256: String,
        server_id: i64,
        encoding: ListEncoding,
        earlier: ImportRow,
    ) -> Self {
        ImportReport {
            file: path.to_path_buf(),
            sha256,
            server_id,
            encoding,
            delimiter: String::new(),
            header: false,
            columns: Vec::new(),
            recognised: Vec::new(),
            skipped_preamble: Vec::new(),
            named_by_guid: false,
            rows: 0,
            agents: 0,
            duplicates: 0,
            rejected: Vec::new(),
            new_agents: 0,
            resolved: 0,
            already_imported: Some(earlier),
        }
    }
}

/// Imports the list at `path` for the server `server_id`.
pub fn import_list(
    store: &mut Store,
    server_id: i64,
    path: &Path,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ImportReport, ImportError> {
    let (sha256, encoding, size) = fingerprint(path)?;
    if let Some(earlier) = store.find_import(server_id, &sha256)? {
        return Ok(ImportReport::already(
            path, sha256, server_id, encoding, earlier,
        ));
    }
    let list = ListFile {
        path,
        sha256: &sha256,
        encoding,
    };
    let reader = ProgressReader {
        inner: open(path)?,
        done: 0,
        total: size,
        progress,
        cancel,
    };
    let Some(stored) = list.store(store, server_id, reader, cancel)? else {
        // Another process imported the same file between the check above and the
        // write lock.
        let earlier =
            store
                .find_import(server_id, &sha256)?
                .ok_or_else(|| ImportError::Cancelled {
                    path: path.to_path_buf(),
                })?;
        return Ok(ImportReport::already(
            path, sha256, server_id, encoding, earlier,
        ));
    };
    Ok(ImportReport::imported(
        path, sha256, server_id, encoding, stored,
    ))
}

/// The list file being imported, as its fingerprint found it.
struct ListFile<'a> {
    path: &'a Path,
    sha256: &'a str,
    encoding: ListEncoding,
}

/// What storing a list did: the store's counts, how the list was read, and the lines
/// it rejected.
struct Stored {
    counts: ImportCounts,
    shape: ListShape,
    rejected: Vec<Rejected>,
}

impl ListFile<'_> {
    /// Reads the list from `reader` into the store, in one transaction; `None` when
    /// the store finds this file already imported for the server.
    fn store(
        &self,
        store: &mut Store,
        server_id: i64,
        reader: impl Read,
        cancel: &Cancel,
    ) -> Result<Option<Stored>, ImportError> {
        let path = self.path;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let subject = path.to_string_lossy().into_owned();
        let mut rejected = Vec::new();
        let mut shape = None;
        let meta = ImportMeta {
            file_name: &file_name,
            sha256: self.sha256,
            encoding: self.encoding.as_str(),
        };
        let counts = store.import_list(server_id, &meta, &subject, |sink| {
            let read = read_list(reader, self.encoding, |item| match item {
                ListItem::Agent(agent) => sink.add_agent(&agent).map(|_| ()),
                ListItem::Rejected(r) => {
                    let result = sink.add_rejection(&r);
                    rejected.push(r);
                    result
                }
            });
            let read = read.map_err(|e| list_error(path, cancel, e))?;
            shape = Some(read.clone());
            Ok::<_, ImportError>(read)
        })?;
        let Some(counts) = counts else {
            return Ok(None);
        };
        let shape = shape.ok_or_else(|| ImportError::Cancelled {
            path: path.to_path_buf(),
        })?;
        Ok(Some(Stored {
            counts,
            shape,
            rejected,
        }))
    }
}

impl ImportReport {
    /// The report for a list just stored.
    fn imported(
        path: &Path,
        sha256: String,
        server_id: i64,
        encoding: ListEncoding,
        stored: Stored,
    ) -> Self {
        let Stored {
            counts,
            shape,
            rejected,
        } = stored;
        let ImportCounts {
            rows,
            agents,
            duplicates,
            new_agents,
            resolved,
            ..
        } = counts;
        ImportReport {
            file: path.to_path_buf(),
            sha256,
            server_id,
            encoding,
            delimiter: shape.delimiter.to_string(),
            header: shape.header,
            columns: shape.columns,
            recognised: shape.recognised,
            skipped_preamble: shape.skipped_preamble,
            named_by_guid: shape.named_by_guid,
            rows,
            agents,
            duplicates,
            rejected,
            new_agents,
            resolved,
            already_imported: None,
        }
    }
}

/// An error from reading the list, as an import error naming the file.
fn list_error(path: &Path, cancel: &Cancel, error: ListError<StoreError>) -> ImportError {
    match error {
        ListError::Io(_) if cancel.is_cancelled() => ImportError::Cancelled {
            path: path.to_path_buf(),
        },
        ListError::Io(source) => ImportError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
        ListError::Sink(e) => e.into(),
        e @ ListError::NoNameColumn { .. } => ImportError::List {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;
    use crate::server::ServerInstall;

    fn store_with_server(tmp: &Path) -> (Store, i64) {
        let mut store = Store::open(&tmp.join("db.sqlite3")).unwrap();
        let install = tmp.join("server");
        std::fs::create_dir_all(install.join("PCCSRV")).unwrap();
        let server: ServerInstall = crate::server::open(&install).unwrap();
        let id = store.record_server_read(&server, None, &[]).unwrap();
        (store, id)
    }

    #[test]
    fn a_cancelled_import_stores_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, server) = store_with_server(tmp.path());
        let list = tmp.path().join("list.csv");
        let mut text = String::from("Computer Name\n");
        for i in 0..50_000 {
            text.push_str(&format!("PC-{i}\n"));
        }
        std::fs::write(&list, text).unwrap();

        /// Cancels once the first bytes are read.
        struct CancelAfterStart(Cancel);
        impl Progress for CancelAfterStart {
            fn update(&self, done: u64, _total: u64) {
                if done > 0 {
                    self.0.cancel();
                }
            }
        }
        let cancel = Cancel::new();
        let err = import_list(
            &mut store,
            server,
            &list,
            &CancelAfterStart(cancel.clone()),
            &cancel,
        )
        .unwrap_err();
        assert_eq!(err.code(), "import.cancelled");
        assert!(store.agents(&Default::default()).unwrap().is_empty());
        assert!(store
            .find_import(server, &fingerprint(&list).unwrap().0)
            .unwrap()
            .is_none());

        // The same file imports fine afterwards.
        let report = import_list(&mut store, server, &list, &NoProgress, &Cancel::new()).unwrap();
        assert_eq!(report.agents, 50_000);
    }

    /// A list on a stick that is a link to a local file, a pipe, or larger than any
    /// list: refused with its own code, and nothing reaches the store.
    #[cfg(unix)]
    #[test]
    fn links_pipes_and_huge_lists_are_refused_and_store_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, server) = store_with_server(tmp.path());
        let local = tmp.path().join("local-names.csv");
        std::fs::write(&local, "Computer Name\nSECRET-PC\n").unwrap();
        let link = tmp.path().join("list.csv");
        std::os::unix::fs::symlink(&local, &link).unwrap();
        let fifo = tmp.path().join("fifo.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let huge = tmp.path().join("huge.csv");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(Kind::List.cap() + 1)
            .unwrap();
        for (path, code, words) in [
            (&link, "file.link", "is a link"),
            (&fifo, "file.not_regular", "not a regular file"),
            (&huge, "file.too_large", "too large for an agent list"),
        ] {
            let err =
                import_list(&mut store, server, path, &NoProgress, &Cancel::new()).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(words), "{text}");
        }
        assert!(store.agents(&Default::default()).unwrap().is_empty());
        // The file itself imports.
        let report = import_list(&mut store, server, &local, &NoProgress, &Cancel::new()).unwrap();
        assert_eq!(report.agents, 1);
    }

    #[test]
    fn a_list_without_a_name_column_leaves_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, server) = store_with_server(tmp.path());
        let list = tmp.path().join("list.csv");
        std::fs::write(&list, "IP Address,Domain\n10.0.0.1,x\n").unwrap();
        let err = import_list(&mut store, server, &list, &NoProgress, &Cancel::new()).unwrap_err();
        assert_eq!(err.code(), "list.no_name_column");
        assert!(err.to_string().contains("list.csv"), "{err}");
        let kinds: Vec<String> = store
            .events(None)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(!kinds.contains(&"list.imported".to_string()));
    }

    /// A list with a GUID column and no name column: agents are stored and shown by
    /// their GUID, and a later list writing the same GUIDs with braces or in another
    /// letter case names the same agents.
    #[test]
    fn agents_of_a_guid_only_list_are_kept_by_guid() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, server) = store_with_server(tmp.path());
        let import = |store: &mut Store, name: &str, text: &str| {
            let path = tmp.path().join(name);
            std::fs::write(&path, text).unwrap();
            import_list(store, server, &path, &NoProgress, &Cancel::new()).unwrap()
        };
        let a = import(
            &mut store,
            "a.csv",
            "Agents with invalid certificate 2026/12/04\nGUID,IP Address\nAB-01,10.0.0.1\nab-02,10.0.0.2\n",
        );
        assert!(a.named_by_guid);
        assert_eq!(a.skipped_preamble.len(), 1);
        assert_eq!((a.rows, a.agents, a.new_agents), (2, 2, 2));
        let rows = store.agents(&Default::default()).unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.name.as_str(), r.guid.as_deref(), r.ip.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("AB-01", Some("ab-01"), Some("10.0.0.1")),
                ("ab-02", Some("ab-02"), Some("10.0.0.2"))
            ]
        );
        let b = import(&mut store, "b.csv", "GUID,IP Address\n{ab-01},10.0.0.9\n");
        assert_eq!((b.agents, b.new_agents, b.resolved), (1, 0, 1));
        let rows = store.agents(&Default::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].guid.as_deref(),
                rows[0].status.as_str(),
                rows[0].ip.as_deref()
            ),
            (Some("ab-01"), "mismatched", Some("10.0.0.9"))
        );
        assert_eq!(rows[1].status.as_str(), "resolved");
    }

    #[test]
    fn statuses_follow_the_lists() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut store, server) = store_with_server(tmp.path());
        let import = |store: &mut Store, name: &str, text: &str| {
            let path = tmp.path().join(name);
            std::fs::write(&path, text).unwrap();
            import_list(store, server, &path, &NoProgress, &Cancel::new()).unwrap()
        };
        let status_of = |store: &Store, name: &str| {
            store
                .agents(&Default::default())
                .unwrap()
                .into_iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .map(|a| (a.status.as_str().to_string(), a.lists))
        };
        import(&mut store, "a.csv", "Computer Name\nPC-X\nPC-Y\n");
        let b = import(&mut store, "b.csv", "Computer Name\npc-y\nPC-Z\n");
        assert_eq!((b.agents, b.new_agents, b.resolved), (2, 1, 1));
        assert_eq!(status_of(&store, "PC-X"), Some(("resolved".into(), 1)));
        assert_eq!(status_of(&store, "PC-Y"), Some(("mismatched".into(), 2)));
        // Back on a later list: mismatched again.
        let c = import(&mut store, "c.csv", "Computer Name\nPC-X\nPC-Y\nPC-Z\n");
        assert_eq!((c.new_agents, c.resolved), (0, 0));
        assert_eq!(status_of(&store, "PC-X"), Some(("mismatched".into(), 2)));
        assert_eq!(store.agents(&Default::default()).unwrap().len(), 3);
    }
}
