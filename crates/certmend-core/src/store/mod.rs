//! The state store: one SQLite file the CLI and the app share.
//!
//! WAL mode with a busy timeout lets both use it at once; writers take the lock up
//! front (`BEGIN IMMEDIATE`) so they wait for each other instead of failing. The schema
//! is versioned with `PRAGMA user_version`; a database newer than this program is
//! refused, never altered. Passwords are never stored here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::server::ServerInstall;
use crate::ErrorCode;

mod backups;
mod bundles;
mod pages;
pub use backups::{AgentHolding, BackupFile, BackupRow, NewBackup};
pub use bundles::{
    BundleAgent, BundleFile, BundleRow, NewBundle, ReceiptOutcome, ReceiptRecord, ReceiptSource,
};
pub use pages::{AgentPage, AgentQuery, AgentSort, AgentTableRow};

/// Overrides the database path (as `--db` does).
pub const DB_ENV: &str = "CERTMEND_DB";
const DB_FILE: &str = "certmend.sqlite3";
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each entry moves the schema one version up; the index + 1 is the version it makes.
const MIGRATIONS: &[&str] = &[
    // 1: servers, their certificates over time, list imports, agents, the event log.
    r#"
    CREATE TABLE servers (
        id              INTEGER PRIMARY KEY,
        install_folder  TEXT NOT NULL,
        folder_key      TEXT NOT NULL UNIQUE,
        product         TEXT NOT NULL,
        demo            INTEGER NOT NULL DEFAULT 0,
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        read_seq        INTEGER NOT NULL DEFAULT 0,
        current_certificate_id INTEGER REFERENCES certificates(id)
    );
    CREATE TABLE certificates (
        id                 INTEGER PRIMARY KEY,
        server_id          INTEGER NOT NULL REFERENCES servers(id),
        sha256             TEXT NOT NULL,
        sha1_thumbprint    TEXT NOT NULL,
        serial             TEXT NOT NULL,
        subject            TEXT NOT NULL,
        not_before         TEXT NOT NULL,
        not_after          TEXT NOT NULL,
        public_key_sha256  TEXT NOT NULL,
        der                BLOB NOT NULL,
        first_seen         TEXT NOT NULL,
        last_seen          TEXT NOT NULL,
        UNIQUE (server_id, sha256)
    );
    CREATE TABLE list_imports (
        id           INTEGER PRIMARY KEY,
        server_id    INTEGER NOT NULL REFERENCES servers(id),
        file_name    TEXT NOT NULL,
        sha256       TEXT NOT NULL,
        encoding     TEXT NOT NULL,
        delimiter    TEXT NOT NULL,
        header       INTEGER NOT NULL,
        rows         INTEGER NOT NULL,
        agents       INTEGER NOT NULL,
        duplicates   INTEGER NOT NULL,
        rejected     INTEGER NOT NULL,
        resolved     INTEGER NOT NULL,
        imported_at  TEXT NOT NULL,
        UNIQUE (server_id, sha256)
    );
    CREATE TABLE agents (
        id              INTEGER PRIMARY KEY,
        server_id       INTEGER NOT NULL REFERENCES servers(id),
        -- As the list wrote it; compared case-insensitively (as Windows host names are).
        name            TEXT NOT NULL,
        -- Lower case without braces; '' when the list gave none.
        guid            TEXT NOT NULL,
        ip              TEXT,
        domain          TEXT,
        mac             TEXT,
        os              TEXT,
        -- Columns certmend does not know, as JSON [[header, value], ...].
        extra           TEXT,
        status          TEXT NOT NULL,
        -- Times in this table are Unix seconds (UTC): rows stay small for 100,000 agents.
        status_changed  INTEGER NOT NULL,
        first_seen      INTEGER NOT NULL,
        last_seen       INTEGER NOT NULL,
        -- The latest import naming the agent (no REFERENCES: list_ids keeps the history
        -- and a foreign-key check per row costs 15% of a large import).
        last_import_id  INTEGER,
        last_line       INTEGER,
        -- The list imports that named this agent, comma-separated ids, oldest first.
        list_ids        TEXT NOT NULL
        -- (server_id, lower-cased name, guid) is unique: the import keeps it so with an
        -- in-memory map under the write lock, which makes a 100,000-agent import plain
        -- row appends instead of index updates.
    );
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        server_id  INTEGER REFERENCES servers(id),
        subject    TEXT,
        detail     TEXT
    );
    "#,
    // 2: the rejected lines of each import, for the import report.
    r#"
    CREATE TABLE list_rejections (
        import_id  INTEGER NOT NULL REFERENCES list_imports(id),
        line       INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        text       TEXT NOT NULL,
        PRIMARY KEY (import_id, line)
    ) WITHOUT ROWID;
    "#,
    // 3: repair bundles written to sticks, and the receipts read back from them.
    r#"
    CREATE TABLE bundles (
        id                  TEXT PRIMARY KEY,
        agent_id            INTEGER NOT NULL REFERENCES agents(id),
        server_id           INTEGER NOT NULL REFERENCES servers(id),
        certificate_sha256  TEXT NOT NULL,
        out_dir             TEXT NOT NULL,
        folder              TEXT NOT NULL,
        created             TEXT NOT NULL,
        options             TEXT NOT NULL,
        superseded_by       TEXT
    );
    CREATE INDEX bundles_by_agent ON bundles (agent_id);
    CREATE TABLE receipts (
        line_sha256  TEXT PRIMARY KEY,
        bundle_id    TEXT NOT NULL REFERENCES bundles(id),
        run_id       TEXT NOT NULL,
        computer     TEXT NOT NULL,
        mode         TEXT NOT NULL,
        result       TEXT NOT NULL,
        ipxfer_exit  TEXT,
        before       TEXT,
        after        TEXT,
        ran_at       TEXT,
        read_at      TEXT NOT NULL,
        source       TEXT NOT NULL
    );
    "#,
    // 4: the catalog of key-pair backups certmend wrote (never a password), and the
    // restores it made.
    r#"
    CREATE TABLE backups (
        id                  INTEGER PRIMARY KEY,
        server_id           INTEGER REFERENCES servers(id),
        kind                TEXT NOT NULL,
        created             TEXT NOT NULL,
        source              TEXT NOT NULL,
        certificate_sha256  TEXT NOT NULL,
        sha1_thumbprint     TEXT NOT NULL,
        serial              TEXT NOT NULL,
        subject             TEXT NOT NULL,
        not_after           TEXT NOT NULL,
        encryption          TEXT,
        folder              TEXT NOT NULL,
        files               TEXT NOT NULL
    );
    "#,
    // 5: what repair.cmd's check found (receipts before it leave these NULL): which
    // check matched (sha256 or thumbprint), the SHA-1 thumbprint in the agent's file,
    // and with the XG syntax whether the agent's registry names the server.
    r#"
    ALTER TABLE receipts ADD COLUMN matched_by TEXT;
    ALTER TABLE receipts ADD COLUMN thumbprint TEXT;
    ALTER TABLE receipts ADD COLUMN server_check TEXT;
    "#,
    // 6: a stick is written to by every PC it visits. What certmend wrote into each
    // bundle (each file's name, size and SHA-256, the shared tools and the manifest
    // included; NULL for bundles written before), to check a stick against; the line a
    // receipt was read from; and the receipt that set an agent's status (NULL when a
    // list or an export set it), so a status a receipt claims names its source.
    r#"
    ALTER TABLE bundles ADD COLUMN files TEXT;
    ALTER TABLE receipts ADD COLUMN line INTEGER;
    ALTER TABLE agents ADD COLUMN status_receipt TEXT;
    "#,
];

/// The schema version this program writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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

/// Where an agent is in the repair workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// On a CertificateManager list: holds a certificate the server no longer uses.
    Mismatched,
    BundleExported,
    Repaired,
    RepairFailed,
    ReinstallRecommended,
    /// Absent from a newer list of the same server.
    Resolved,
}

impl AgentStatus {
    pub const ALL: [AgentStatus; 6] = [
        AgentStatus::Mismatched,
        AgentStatus::BundleExported,
        AgentStatus::Repaired,
        AgentStatus::RepairFailed,
        AgentStatus::ReinstallRecommended,
        AgentStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Mismatched => "mismatched",
            AgentStatus::BundleExported => "bundle_exported",
            AgentStatus::Repaired => "repaired",
            AgentStatus::RepairFailed => "repair_failed",
            AgentStatus::ReinstallRecommended => "reinstall_recommended",
            AgentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
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

/// A server as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerRow {
    pub id: i64,
    pub install_folder: String,
    pub product: String,
    pub demo: bool,
    pub first_seen: String,
    pub last_seen: String,
    pub current_sha1_thumbprint: Option<String>,
}

/// A certificate a server had, with when certmend saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRow {
    pub sha256: String,
    pub sha1_thumbprint: String,
    pub serial: String,
    pub subject: String,
    pub not_before: String,
    pub not_after: String,
    pub first_seen: String,
    pub last_seen: String,
    pub current: bool,
}

/// An earlier import of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub sha256: String,
    pub imported_at: String,
}

/// An agent as `certmend agents` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRow {
    pub id: i64,
    pub server: String,
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
    pub mac: Option<String>,
    pub os: Option<String>,
    pub status: String,
    pub status_changed: String,
    pub first_seen: String,
    pub last_seen: String,
    /// How many imported lists named this agent.
    pub lists: i64,
    /// The receipt that set the status, when one did (a claim repair.cmd made on the
    /// agent; a list imported later overrides it). None: a list or an export set it.
    pub status_receipt: Option<ReceiptSource>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    pub server_id: Option<i64>,
    pub status: Option<AgentStatus>,
    /// Matched (case-insensitively) against name, IP, domain and GUID.
    pub search: Option<String>,
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub server: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<serde_json::Value>,
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
        crate::fsutil::create_private_file(path);
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
            crate::fsutil::make_owner_only(Path::new(&file), 0o600);
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

    fn migrate(&mut self, target: i64) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = move |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&sql)?;
        // Read again under the write lock: another process may have migrated meanwhile.
        let mut version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&sql)?;
        while version < target {
            let step = MIGRATIONS[usize::try_from(version).unwrap_or(0)];
            tx.execute_batch(step).map_err(&sql)?;
            version += 1;
            tx.pragma_update(None, "user_version", version)
                .map_err(&sql)?;
        }
        tx.commit().map_err(&sql)
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sql())
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

    /// Records that `server` was read, with its certificate if it has a readable one.
    /// Also records `history` (certificates it had before, with when) where given.
    pub fn record_server_read(
        &mut self,
        server: &ServerInstall,
        certificate: Option<&Certificate>,
        history: &[(Certificate, String, String)],
    ) -> Result<i64, StoreError> {
        let now = now_text();
        let folder = server.install_folder.to_string_lossy().into_owned();
        let key = folder_key(&server.install_folder);
        let product = serde_json::to_value(server.product)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let server_id: i64 = tx
            .query_row(
                "INSERT INTO servers (install_folder, folder_key, product, demo, first_seen, last_seen, read_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, (SELECT coalesce(max(read_seq), 0) + 1 FROM servers))
                 ON CONFLICT (folder_key) DO UPDATE SET
                    install_folder = excluded.install_folder, product = excluded.product,
                    demo = excluded.demo, last_seen = excluded.last_seen, read_seq = excluded.read_seq
                 RETURNING id",
                params![folder, key, product, server.demo, now],
                |r| r.get(0),
            )
            .map_err(sql)?;
        for (cert, first_seen, last_seen) in history {
            upsert_certificate(&tx, server_id, cert, first_seen, last_seen).map_err(sql)?;
        }
        if let Some(cert) = certificate {
            let previous: Option<(i64, String)> = tx
                .query_row(
                    "SELECT c.id, c.sha1_thumbprint FROM servers s JOIN certificates c ON c.id = s.current_certificate_id WHERE s.id = ?1",
                    [server_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql)?;
            let cert_id = upsert_certificate(&tx, server_id, cert, &now, &now).map_err(sql)?;
            tx.execute(
                "UPDATE servers SET current_certificate_id = ?1 WHERE id = ?2",
                params![cert_id, server_id],
            )
            .map_err(sql)?;
            match previous {
                Some((prev_id, prev_thumb)) if prev_id != cert_id => {
                    insert_event(
                        &tx,
                        "certificate.changed",
                        Some(server_id),
                        Some(&folder),
                        &serde_json::json!({
                            "from": prev_thumb,
                            "to": cert.info().sha1_thumbprint,
                        }),
                    )
                    .map_err(sql)?;
                }
                None => {
                    insert_event(
                        &tx,
                        "server.first_read",
                        Some(server_id),
                        Some(&folder),
                        &serde_json::json!({ "certificate": cert.info().sha1_thumbprint }),
                    )
                    .map_err(sql)?;
                }
                _ => {}
            }
        }
        tx.commit().map_err(sql)?;
        Ok(server_id)
    }

    /// The server read most recently, by any front end.
    pub fn last_read_server(&self) -> Result<Option<ServerRow>, StoreError> {
        Ok(self.servers()?.into_iter().next())
    }

    /// Known servers, the one read last first.
    pub fn servers(&self) -> Result<Vec<ServerRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, s.install_folder, s.product, s.demo, s.first_seen, s.last_seen, c.sha1_thumbprint
                 FROM servers s LEFT JOIN certificates c ON c.id = s.current_certificate_id
                 ORDER BY s.read_seq DESC",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ServerRow {
                    id: r.get(0)?,
                    install_folder: r.get(1)?,
                    product: r.get(2)?,
                    demo: r.get(3)?,
                    first_seen: r.get(4)?,
                    last_seen: r.get(5)?,
                    current_sha1_thumbprint: r.get(6)?,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    pub fn server_id_for(&self, install_folder: &Path) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM servers WHERE folder_key = ?1",
                [folder_key(install_folder)],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Every certificate the server has had, newest first.
    pub fn certificate_history(&self, server_id: i64) -> Result<Vec<CertificateRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.sha256, c.sha1_thumbprint, c.serial, c.subject, c.not_before, c.not_after,
                        c.first_seen, c.last_seen, c.id = s.current_certificate_id
                 FROM certificates c JOIN servers s ON s.id = c.server_id
                 WHERE c.server_id = ?1 ORDER BY c.last_seen DESC, c.id DESC",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], |r| {
                Ok(CertificateRow {
                    sha256: r.get(0)?,
                    sha1_thumbprint: r.get(1)?,
                    serial: r.get(2)?,
                    subject: r.get(3)?,
                    not_before: r.get(4)?,
                    not_after: r.get(5)?,
                    first_seen: r.get(6)?,
                    last_seen: r.get(7)?,
                    current: r.get::<_, Option<bool>>(8)?.unwrap_or(false),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    pub fn find_import(
        &self,
        server_id: i64,
        sha256: &str,
    ) -> Result<Option<ImportRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, file_name, sha256, imported_at FROM list_imports WHERE server_id = ?1 AND sha256 = ?2",
                params![server_id, sha256],
                |r| {
                    Ok(ImportRow {
                        id: r.get(0)?,
                        file_name: r.get(1)?,
                        sha256: r.get(2)?,
                        imported_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.sql())
    }

    /// Agents matching `filter`, by name.
    pub fn agents(&self, filter: &AgentFilter) -> Result<Vec<AgentRow>, StoreError> {
        let pattern = filter.search.as_ref().map(|s| {
            let escaped = s
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.id, s.install_folder, a.name, a.ip, a.domain, a.guid, a.mac, a.os, a.status,
                        a.status_changed, a.first_seen, a.last_seen,
                        length(a.list_ids) - length(replace(a.list_ids, ',', '')) + 1,
                        r.source, r.line, r.run_id, r.computer, r.ran_at, r.result
                 FROM agents a JOIN servers s ON s.id = a.server_id
                 LEFT JOIN receipts r ON r.line_sha256 = a.status_receipt
                 WHERE (?1 IS NULL OR a.server_id = ?1)
                   AND (?2 IS NULL OR a.status = ?2)
                   AND (?3 IS NULL OR unicode_lower(a.name) LIKE ?3 ESCAPE '\\'
                        OR coalesce(a.ip, '') LIKE ?3 ESCAPE '\\'
                        OR unicode_lower(coalesce(a.domain, '')) LIKE ?3 ESCAPE '\\'
                        OR a.guid LIKE ?3 ESCAPE '\\')
                 ORDER BY a.name COLLATE NOCASE, a.guid",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map(
                params![
                    filter.server_id,
                    filter.status.map(AgentStatus::as_str),
                    pattern
                ],
                |r| {
                    Ok(AgentRow {
                        id: r.get(0)?,
                        server: r.get(1)?,
                        name: r.get(2)?,
                        ip: r.get(3)?,
                        domain: r.get(4)?,
                        guid: r
                            .get::<_, String>(5)
                            .map(|g| (!g.is_empty()).then_some(g))?,
                        mac: r.get(6)?,
                        os: r.get(7)?,
                        status: r.get(8)?,
                        status_changed: unix_text(r.get(9)?),
                        first_seen: unix_text(r.get(10)?),
                        last_seen: unix_text(r.get(11)?),
                        lists: r.get(12)?,
                        status_receipt: ReceiptSource::from_row(r, 13)?,
                    })
                },
            )
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Each agent name of a server (lower-cased) with its status; for a name used by
    /// several agents (different GUIDs), the most recently seen.
    pub fn agent_statuses(
        &self,
        server_id: i64,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, status FROM agents WHERE server_id = ?1 ORDER BY last_seen, id")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sql())?;
        let mut map = std::collections::HashMap::new();
        for row in rows {
            let (name, status) = row.map_err(self.sql())?;
            map.insert(crate::agents::name_key(&name), status);
        }
        Ok(map)
    }

    /// The event log, newest first.
    pub fn events(&self, limit: Option<u32>) -> Result<Vec<EventRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.id, e.at, e.kind, s.install_folder, e.subject, e.detail
                 FROM events e LEFT JOIN servers s ON s.id = e.server_id
                 ORDER BY e.id DESC LIMIT ?1",
            )
            .map_err(self.sql())?;
        let limit = limit.map(i64::from).unwrap_or(-1);
        let rows = stmt
            .query_map([limit], |r| {
                let detail: Option<String> = r.get(5)?;
                Ok(EventRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    server: r.get(3)?,
                    subject: r.get(4)?,
                    detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Appends an event on its own.
    pub fn log_event(
        &mut self,
        kind: &str,
        server_id: Option<i64>,
        subject: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        insert_event(&tx, kind, server_id, subject, detail).map_err(sql)?;
        tx.commit().map_err(sql)
    }
}

/// What is known about a list file before its lines are read.
#[derive(Debug, Clone)]
pub struct ImportMeta<'a> {
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub encoding: &'a str,
}

/// Counts an import ends with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub rows: i64,
    pub agents: i64,
    pub duplicates: i64,
    pub rejected: i64,
    /// Agents seen for the first time on this server.
    pub new_agents: i64,
    /// Agents of the server absent from this list, now `resolved`.
    pub resolved: i64,
}

const INSERT_AGENT: &str = "INSERT INTO agents (server_id, name, guid, ip, domain, mac, os, extra,
                        status, status_changed, first_seen, last_seen, last_import_id, last_line, list_ids)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'mismatched', ?9, ?9, ?9, ?10, ?11, ?10)";

// Agents back on a list after being resolved or repaired are mismatched again: the
// server's list imported after a receipt overrides what the receipt claimed.
const UPDATE_AGENT: &str = "UPDATE agents SET
        name = ?2, ip = coalesce(?4, ip), domain = coalesce(?5, domain),
        mac = coalesce(?6, mac), os = coalesce(?7, os), extra = coalesce(?8, extra),
        status_changed = CASE WHEN status IN ('resolved', 'repaired') THEN ?9 ELSE status_changed END,
        status_receipt = CASE WHEN status IN ('resolved', 'repaired') THEN NULL ELSE status_receipt END,
        status = CASE WHEN status IN ('resolved', 'repaired') THEN 'mismatched' ELSE status END,
        last_seen = ?9, last_import_id = ?10, last_line = ?11, list_ids = list_ids || ',' || ?10
    WHERE id = ?1";

/// Agents by (lower-cased name, GUID). foldhash: several times faster than SipHash on
/// 100,000 short keys, and still seeded per process against crafted collisions.
type IdentityMap =
    std::collections::HashMap<(String, String), (i64, bool), foldhash::fast::RandomState>;

/// Receives one list's agents and rejections inside the import's transaction.
pub struct ImportSink<'t> {
    insert: rusqlite::Statement<'t>,
    update: rusqlite::Statement<'t>,
    reject: rusqlite::Statement<'t>,
    path: &'t Path,
    server_id: i64,
    import_id: i64,
    now: i64,
    /// The server's agents by identity, with whether this file named them yet. The
    /// write lock is held, so this map is the truth that keeps identities unique.
    known: IdentityMap,
    counts: ImportCounts,
}

impl ImportSink<'_> {
    /// Adds an agent; returns false when this file named it already (a duplicate: the
    /// first line naming an agent wins).
    pub fn add_agent(&mut self, agent: &crate::agents::ListAgent) -> Result<bool, StoreError> {
        self.counts.rows += 1;
        let identity = agent.identity();
        let existing = match self.known.get_mut(&identity) {
            Some((_, named)) if *named => {
                self.counts.duplicates += 1;
                return Ok(false);
            }
            Some((id, named)) => {
                *named = true;
                Some(*id)
            }
            None => None,
        };
        self.counts.agents += 1;
        let extra = if agent.extra.is_empty() {
            None
        } else {
            serde_json::to_string(&agent.extra).ok()
        };
        let line = line_number(agent.line);
        let path = self.path;
        let sql = |source| StoreError::Sql {
            path: path.to_path_buf(),
            source,
        };
        // Both statements take the same parameters; ?1 is the agent (update) or the
        // server (insert).
        let first = existing.unwrap_or(self.server_id);
        let values = params![
            first,
            agent.name,
            identity.1,
            agent.ip,
            agent.domain,
            agent.mac,
            agent.os,
            extra,
            self.now,
            self.import_id,
            line
        ];
        if existing.is_some() {
            self.update.execute(values).map_err(sql)?;
        } else {
            let id = self.insert.insert(values).map_err(sql)?;
            self.known.insert(identity, (id, true));
        }
        Ok(true)
    }

    pub fn add_rejection(&mut self, rejected: &crate::agents::Rejected) -> Result<(), StoreError> {
        self.counts.rows += 1;
        self.counts.rejected += 1;
        let import_id = self.import_id;
        let path = self.path;
        self.reject
            .execute(params![
                import_id,
                line_number(rejected.line),
                rejected.reason,
                rejected.text
            ])
            .map(|_| ())
            .map_err(|source| StoreError::Sql {
                path: path.to_path_buf(),
                source,
            })
    }
}

impl Store {
    /// Imports one list in a single transaction: `feed` hands every line to the sink and
    /// returns how the list was read; then agents of the server absent from the list
    /// become `resolved`, the import is logged, and all of it commits. If `feed` fails,
    /// nothing is stored. `None` (and `feed` not called) when the same file is already
    /// imported for the server: checked under the write lock, so two processes
    /// importing one file at once record it once.
    pub fn import_list<E, F>(
        &mut self,
        server_id: i64,
        meta: &ImportMeta<'_>,
        subject: &str,
        feed: F,
    ) -> Result<Option<ImportCounts>, E>
    where
        E: From<StoreError>,
        F: FnOnce(&mut ImportSink<'_>) -> Result<crate::agents::ListShape, E>,
    {
        let now = now_text();
        let now_unix = OffsetDateTime::now_utc().unix_timestamp();
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let import_id: Option<i64> = tx
            .query_row(
                "INSERT INTO list_imports (server_id, file_name, sha256, encoding, delimiter, header, rows, agents,
                                           duplicates, rejected, resolved, imported_at)
                 VALUES (?1, ?2, ?3, ?4, '', 0, 0, 0, 0, 0, 0, ?5)
                 ON CONFLICT (server_id, sha256) DO NOTHING RETURNING id",
                params![server_id, meta.file_name, meta.sha256, meta.encoding, now],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let Some(import_id) = import_id else {
            return Ok(None);
        };
        let mut known = IdentityMap::default();
        {
            let mut stmt = tx
                .prepare("SELECT id, name, guid FROM agents WHERE server_id = ?1")
                .map_err(sql)?;
            let rows = stmt
                .query_map([server_id], |r| {
                    let name: String = r.get(1)?;
                    Ok((
                        (crate::agents::name_key(&name), r.get(2)?),
                        (r.get(0)?, false),
                    ))
                })
                .map_err(sql)?;
            for row in rows {
                let (identity, entry) = row.map_err(sql)?;
                known.insert(identity, entry);
            }
        }
        let agents_before = known.len();
        let (shape, mut counts, known_after) = {
            let mut sink = ImportSink {
                insert: tx.prepare(INSERT_AGENT).map_err(sql)?,
                update: tx.prepare(UPDATE_AGENT).map_err(sql)?,
                reject: tx
                    .prepare("INSERT OR REPLACE INTO list_rejections (import_id, line, reason, text) VALUES (?1, ?2, ?3, ?4)")
                    .map_err(sql)?,
                path: &path,
                server_id,
                import_id,
                now: now_unix,
                known,
                counts: ImportCounts::default(),
            };
            // On an error the transaction is dropped here: rolled back, nothing stored.
            let shape = feed(&mut sink)?;
            (shape, sink.counts, sink.known.len())
        };
        let resolved = tx
            .execute(
                "UPDATE agents SET status = 'resolved', status_changed = ?1, status_receipt = NULL
                 WHERE server_id = ?2 AND status != 'resolved' AND last_import_id IS NOT ?3",
                params![now_unix, server_id, import_id],
            )
            .map_err(sql)?;
        counts.resolved = i64::try_from(resolved).unwrap_or(i64::MAX);
        counts.new_agents =
            i64::try_from(known_after.saturating_sub(agents_before)).unwrap_or(i64::MAX);
        tx.execute(
            "UPDATE list_imports SET delimiter = ?1, header = ?2, rows = ?3, agents = ?4, duplicates = ?5,
                    rejected = ?6, resolved = ?7 WHERE id = ?8",
            params![
                shape.delimiter.to_string(),
                shape.header,
                counts.rows,
                counts.agents,
                counts.duplicates,
                counts.rejected,
                counts.resolved,
                import_id
            ],
        )
        .map_err(sql)?;
        insert_event(
            &tx,
            "list.imported",
            Some(server_id),
            Some(subject),
            &serde_json::json!({
                "encoding": shape.encoding,
                "rows": counts.rows,
                "agents": counts.agents,
                "new_agents": counts.new_agents,
                "duplicates": counts.duplicates,
                "rejected": counts.rejected,
                "resolved": counts.resolved,
            }),
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Some(counts))
    }
}

fn line_number(line: u64) -> i64 {
    i64::try_from(line).unwrap_or(i64::MAX)
}

/// Case-insensitive identity of an install folder (Windows paths ignore case).
fn folder_key(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.to_string_lossy().to_lowercase()
}

fn upsert_certificate(
    tx: &Transaction<'_>,
    server_id: i64,
    cert: &Certificate,
    first_seen: &str,
    last_seen: &str,
) -> rusqlite::Result<i64> {
    let info = cert.info();
    tx.query_row(
        "INSERT INTO certificates (server_id, sha256, sha1_thumbprint, serial, subject, not_before, not_after,
                                   public_key_sha256, der, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (server_id, sha256) DO UPDATE SET
            first_seen = min(first_seen, excluded.first_seen),
            last_seen = max(last_seen, excluded.last_seen)
         RETURNING id",
        params![
            server_id,
            info.sha256,
            info.sha1_thumbprint,
            info.serial,
            info.subject,
            info.not_before,
            info.not_after,
            info.public_key_sha256,
            cert.der(),
            first_seen,
            last_seen
        ],
        |r| r.get(0),
    )
}

pub(crate) fn insert_event(
    tx: &Transaction<'_>,
    kind: &str,
    server_id: Option<i64>,
    subject: Option<&str>,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO events (at, kind, server_id, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_text(), kind, server_id, subject, detail.to_string()],
    )?;
    Ok(())
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
    fn fresh_database_gets_the_latest_schema_and_wal() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("sub/db.sqlite3")).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn an_old_version_is_migrated_keeping_its_data() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        {
            let store = Store::open_up_to(&path, 1).unwrap();
            assert_eq!(store.schema_version().unwrap(), 1);
            store
                .conn
                .execute(
                    "INSERT INTO events (at, kind, detail) VALUES ('2025-01-01T00:00:00Z', 'legacy', '{}')",
                    [],
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let events = store.events(None).unwrap();
        assert_eq!(events[0].kind, "legacy");
        let tables: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'list_rejections'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
    }

    #[test]
    fn receipts_read_before_version_5_keep_their_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        {
            let store = Store::open_up_to(&path, 4).unwrap();
            // A receipt row alone: the migration must not depend on its bundle.
            store
                .conn
                .execute_batch(
                    "PRAGMA foreign_keys = OFF;
                     INSERT INTO receipts (line_sha256, bundle_id, run_id, computer, mode, result,
                                           ipxfer_exit, before, after, ran_at, read_at, source)
                     VALUES ('aa', 'b1', 'r1', 'PC-1', 'repair', 'REPAIRED', '0', 'B', 'A',
                             'd t', '2025-01-01T00:00:00Z', 'PC-1.txt');",
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let row: (String, Option<String>, Option<String>, Option<String>) = store
            .conn
            .query_row(
                "SELECT result, matched_by, thumbprint, server_check FROM receipts",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row, ("REPAIRED".to_string(), None, None, None));
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("db.sqlite3");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
                .unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let err = Store::open(&path).err().unwrap();
        assert_eq!(err.code(), "store.too_new");
        assert!(err.to_string().contains("schema version 99"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(!tmp.path().join("db.sqlite3-wal").exists());
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

    #[test]
    fn statuses_round_trip() {
        for s in AgentStatus::ALL {
            assert_eq!(AgentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AgentStatus::parse("bogus"), None);
    }
}
