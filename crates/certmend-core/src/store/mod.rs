//! The state store: one SQLite file the CLI and the app share.
//!
//! WAL mode with a busy timeout lets both use it at once; writers take the lock up
//! front (`BEGIN IMMEDIATE`) so they wait for each other instead of failing. The schema
//! is versioned with `PRAGMA user_version`; a database newer than this program is
//! refused, never altered. Passwords are never stored here.
//!
//! By concern: `schema` (migrations), `servers` (servers and their certificates),
//! `import` (list imports), `agents` and `pages` (agent queries), `lifecycle` (agent
//! statuses in SQL), `bundles` (bundles and receipts), `backups`, `events` (the log).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::ErrorCode;

mod agents;
mod backups;
mod bundles;
mod events;
mod import;
mod lifecycle;
mod pages;
mod schema;
mod servers;
pub use crate::agents::status::AgentStatus;
pub use agents::{AgentFilter, AgentRow};
pub use backups::{AgentHolding, BackupFile, BackupRow, NewBackup};
pub use bundles::{
    BundleAgent, BundleFile, BundleRow, EntryDetail, NewBundle, ReceiptBatch, ReceiptOutcome,
    ReceiptRecord, ReceiptSource, ENTRY_WRITTEN,
};
pub(crate) use events::insert_event;
pub use events::EventRow;
pub use import::{ImportCounts, ImportMeta, ImportRow, ImportSink};
pub use pages::{AgentPage, AgentQuery, AgentSort, AgentTableRow};
pub use schema::SCHEMA_VERSION;
pub use servers::{CertificateRow, ServerRow};

/// Overrides the database path (as `--db` does).
pub const DB_ENV: &str = "CERTMEND_DB";
const DB_FILE: &str = "certmend.sqlite3";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: the database was written by a newer certmend (schema version {found}; this one understands up to {supported}); update certmend, it was left unchanged", path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{}: cannot open the database: {source}{}", path.display(), hint(path, source))]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{}: database error: {source}{}", path.display(), hint(path, source))]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no per-user application-data folder on this system; give the database with --db PATH or CERTMEND_DB")]
    NoDefaultPath,
    #[error("{}: cannot create the folder: {source}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What SQLite's words leave unsaid: that another program holds the database (after
/// certmend waited for it), or that the disk holding it is full (SQLite calls a
/// shared-memory file it cannot grow a "disk I/O error").
fn is_busy(source: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as E;
    matches!(
        source.sqlite_error_code(),
        Some(E::DatabaseBusy | E::DatabaseLocked)
    )
}

/// The folder holding the database when SQLite's error comes from its disk being full
/// (SQLite calls a shared-memory file it cannot grow a "disk I/O error").
fn disk_full<'a>(path: &'a Path, source: &rusqlite::Error) -> Option<&'a Path> {
    use rusqlite::ErrorCode as E;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match source.sqlite_error_code() {
        Some(E::DiskFull) => Some(dir),
        Some(E::SystemIoFailure | E::CannotOpen) => {
            matches!(fs4::available_space(dir), Ok(0)).then_some(dir)
        }
        _ => None,
    }
}

fn hint(path: &Path, source: &rusqlite::Error) -> String {
    if is_busy(source) {
        format!(
            " (another program is using the database; certmend waited {} s for it: close that program or try again later)",
            BUSY_TIMEOUT.as_secs()
        )
    } else if let Some(dir) = disk_full(path, source) {
        format!(" (the disk holding {} is full)", dir.display())
    } else {
        String::new()
    }
}

/// Puts the database in WAL mode (once; it stays). Switching needs an exclusive lock,
/// and when several processes open a new database at once SQLite answers some of them
/// SQLITE_BUSY at once instead of calling the busy handler (waiting could deadlock):
/// so wait and retry here, within the same time the busy handler would give.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let attempt = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(())
                } else {
                    conn.pragma_update(None, "journal_mode", "WAL")
                }
            });
        match attempt {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::TooNew { .. } => "store.too_new",
            StoreError::Open { source, .. } | StoreError::Sql { source, .. } if is_busy(source) => {
                "store.busy"
            }
            StoreError::Open { path, source } | StoreError::Sql { path, source }
                if disk_full(path, source).is_some() =>
            {
                "store.disk_full"
            }
            StoreError::Open { .. } => "store.open",
            StoreError::Sql { .. } => "store.sql",
            StoreError::NoDefaultPath => "store.no_default_path",
            StoreError::Folder { .. } => "store.folder",
        }
    }
}

pub(crate) fn now_text() -> String {
    timestamp(OffsetDateTime::now_utc())
}

/// Unix seconds as RFC 3339 text (the agents table stores times as integers).
fn unix_text(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(timestamp)
        .unwrap_or_else(|_| seconds.to_string())
}

pub(crate) fn timestamp(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// `$CERTMEND_DB`, else `certmend.sqlite3` in the per-user data folder.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        if let Some(path) = std::env::var_os(DB_ENV).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        crate::paths::data_dir()
            .map(|d| d.join(DB_FILE))
            .ok_or(StoreError::NoDefaultPath)
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_up_to(path, SCHEMA_VERSION)
    }

    fn open_up_to(path: &Path, target: i64) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::paths::create_private_dir(dir).map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // Owner-only on Unix (the database names every agent and the backups' catalog):
        // SQLite creates a database with the default mode, and its -wal and -shm files
        // with the database's, so the file is made first, 0600. On Windows the folder's
        // access list applies (under %LOCALAPPDATA%: the user, SYSTEM, Administrators).
        #[cfg(unix)]
        crate::durable::create_private_file(path);
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Check the version before touching anything, WAL mode included.
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        switch_to_wal(&conn).map_err(open_err)?;
        // Files an earlier certmend left with the default mode.
        #[cfg(unix)]
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            crate::durable::make_owner_only(Path::new(&file), 0o600);
        }
        // In WAL mode NORMAL loses no committed transaction on a crash, only on power loss.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // Unicode lower case for searches: SQLite's LIKE folds only ASCII letters, and
        // admins search for names such as "ＰＣ－営業" or "ÉCOLE".
        conn.create_scalar_function(
            "unicode_lower",
            1,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8
                | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                Ok(ctx
                    .get::<Option<String>>(0)?
                    .map(|text| text.to_lowercase()))
            },
        )
        .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate(target)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// A write transaction that waits for other writers instead of failing.
    pub(crate) fn write(&mut self) -> Result<(Transaction<'_>, PathBuf), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sql {
                path: path.clone(),
                source,
            })?;
        Ok((tx, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database names every agent and catalogs the backups: on Unix it and its
    /// -wal and -shm files are the owner's alone, in a folder of the owner's alone when
    /// certmend makes it, and files an earlier certmend left readable are narrowed.
    #[cfg(unix)]
    #[test]
    fn the_database_and_its_wal_and_shm_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = tmp.path().join("new/db.sqlite3");
        let mut store = Store::open(&path).unwrap();
        store
            .log_event("test.event", None, None, &serde_json::json!({}))
            .unwrap();
        assert_eq!(mode(&tmp.path().join("new")), 0o700);
        for suffix in ["", "-wal", "-shm"] {
            let file = tmp.path().join(format!("new/db.sqlite3{suffix}"));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        drop(store);

        // An older database, readable by everyone, and its WAL.
        let old = tmp.path().join("old.sqlite3");
        drop(Store::open(&old).unwrap());
        let wal = tmp.path().join("old.sqlite3-wal");
        std::fs::write(&wal, b"").unwrap();
        for file in [&old, &wal] {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let store = Store::open(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(&wal), 0o600);
        drop(store);
        assert_eq!(
            mode(tmp.path()),
            0o755,
            "a folder that existed (not the data folder) is left as it was"
        );
    }

    /// A busy database says another program holds it and how long certmend waited.
    #[test]
    fn a_busy_database_is_explained() {
        let busy = StoreError::Sql {
            path: PathBuf::from("state.sqlite3"),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None),
        };
        let text = busy.to_string();
        assert!(
            text.starts_with("state.sqlite3: database error: "),
            "{text}"
        );
        assert!(text.contains("another program"), "{text}");
        assert!(
            text.contains(&format!("waited {} s", BUSY_TIMEOUT.as_secs())),
            "{text}"
        );
        assert_eq!(busy.code(), "store.busy");
        let other = StoreError::Sql {
            path: PathBuf::from("state.sqlite3"),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(19), None),
        };
        assert!(!other.to_string().contains('('), "{other}");
        assert_eq!(other.code(), "store.sql");
        let full = StoreError::Sql {
            path: PathBuf::from("state.sqlite3"),
            source: rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), None),
        };
        assert_eq!(full.code(), "store.disk_full");
    }
    #[test]
    fn two_connections_write_at_the_same_time() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        Store::open(&path).unwrap();
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    for i in 0..200 {
                        store
                            .log_event(
                                "test.write",
                                None,
                                Some(&format!("w{w}-{i}")),
                                &serde_json::json!({}),
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.events(None).unwrap().len(), 400);
    }
}
