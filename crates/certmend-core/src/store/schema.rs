//! The schema, versioned with `PRAGMA user_version`: each migration moves it one
//! version up, under the write lock, and a database newer than this program is refused
//! (in `Store::open`), never altered.

use rusqlite::TransactionBehavior;

use super::{Store, StoreError};

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

impl Store {
    pub(super) fn migrate(&mut self, target: i64) -> Result<(), StoreError> {
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
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::ErrorCode;

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
}
