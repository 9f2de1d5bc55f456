//! Importing a list of agents: one transaction per list file, fed line by line.

use std::path::Path;
use std::sync::LazyLock;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;
use time::OffsetDateTime;

use super::{insert_event, lifecycle, now_text, Store, StoreError};
use crate::agents::status::{self, Event};

/// An earlier import of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub sha256: String,
    pub imported_at: String,
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

/// A new agent: first listed. Built once (the strings come from the lifecycle's rule);
/// prepared once per import.
static INSERT_AGENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO agents (server_id, name, guid, ip, domain, mac, os, extra,
                        status, status_changed, first_seen, last_seen, last_import_id, last_line, list_ids)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '{}', ?9, ?9, ?9, ?10, ?11, ?10)",
        status::FIRST_LISTED.as_str()
    )
});

/// A known agent named again ([`Event::Listed`]): agents back on a list after being
/// resolved or repaired are mismatched again, the server's list imported after a
/// receipt overriding what the receipt claimed. The status's time and source change
/// only with the status.
pub(super) static UPDATE_AGENT: LazyLock<String> = LazyLock::new(|| {
    let changed = lifecycle::changed_by_sql(Event::Listed);
    format!(
        "UPDATE agents SET
        name = ?2, ip = coalesce(?4, ip), domain = coalesce(?5, domain),
        mac = coalesce(?6, mac), os = coalesce(?7, os), extra = coalesce(?8, extra),
        status_changed = CASE WHEN status IN {changed} THEN ?9 ELSE status_changed END,
        status_receipt = CASE WHEN status IN {changed} THEN NULL ELSE status_receipt END,
        status = {next},
        last_seen = ?9, last_import_id = ?10, last_line = ?11, list_ids = list_ids || ',' || ?10
    WHERE id = ?1",
        next = lifecycle::next_sql(Event::Listed)
    )
});

/// The server's agents this import did not name ([`Event::AbsentFromNewerList`]):
/// ?1 now, ?2 the server, ?3 the import. Changes only the statuses the event changes,
/// so the count is of agents newly resolved.
pub(super) static RESOLVE_ABSENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE agents SET status = {next}, status_changed = ?1, status_receipt = NULL
         WHERE server_id = ?2 AND status IN {changed} AND last_import_id IS NOT ?3",
        next = lifecycle::next_sql(Event::AbsentFromNewerList),
        changed = lifecycle::changed_by_sql(Event::AbsentFromNewerList)
    )
});

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

impl<'t> ImportSink<'t> {
    fn new(
        tx: &'t Transaction<'_>,
        path: &'t Path,
        server_id: i64,
        import_id: i64,
        now: i64,
        known: IdentityMap,
    ) -> rusqlite::Result<Self> {
        Ok(ImportSink {
            insert: tx.prepare(&INSERT_AGENT)?,
            update: tx.prepare(&UPDATE_AGENT)?,
            reject: tx.prepare(
                "INSERT OR REPLACE INTO list_rejections (import_id, line, reason, text) VALUES (?1, ?2, ?3, ?4)",
            )?,
            path,
            server_id,
            import_id,
            now,
            known,
            counts: ImportCounts::default(),
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
        let Some(import_id) = begin_import(&tx, server_id, meta, &now).map_err(sql)? else {
            return Ok(None);
        };
        let known = known_agents(&tx, server_id).map_err(sql)?;
        let agents_before = known.len();
        let (shape, mut counts, known_after) = {
            let mut sink =
                ImportSink::new(&tx, &path, server_id, import_id, now_unix, known).map_err(sql)?;
            // On an error the transaction is dropped here: rolled back, nothing stored.
            let shape = feed(&mut sink)?;
            (shape, sink.counts, sink.known.len())
        };
        // A newer list of the same server replaces the earlier one: every agent of the
        // server it does not name is resolved (the list is the server's word on which
        // agents still hold an old certificate).
        counts.resolved =
            replace_earlier_lists(&tx, server_id, import_id, now_unix).map_err(sql)?;
        counts.new_agents =
            i64::try_from(known_after.saturating_sub(agents_before)).unwrap_or(i64::MAX);
        finish_import(&tx, server_id, import_id, subject, &shape, &counts).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Some(counts))
    }
}

/// Records the import's row; None when the server has this file (by SHA-256) already.
fn begin_import(
    tx: &Transaction<'_>,
    server_id: i64,
    meta: &ImportMeta<'_>,
    now: &str,
) -> rusqlite::Result<Option<i64>> {
    tx.query_row(
        "INSERT INTO list_imports (server_id, file_name, sha256, encoding, delimiter, header, rows, agents,
                                   duplicates, rejected, resolved, imported_at)
         VALUES (?1, ?2, ?3, ?4, '', 0, 0, 0, 0, 0, 0, ?5)
         ON CONFLICT (server_id, sha256) DO NOTHING RETURNING id",
        params![server_id, meta.file_name, meta.sha256, meta.encoding, now],
        |r| r.get(0),
    )
    .optional()
}

/// The server's agents by identity, none named by this import yet.
fn known_agents(tx: &Transaction<'_>, server_id: i64) -> rusqlite::Result<IdentityMap> {
    let mut known = IdentityMap::default();
    let mut stmt = tx.prepare("SELECT id, name, guid FROM agents WHERE server_id = ?1")?;
    let rows = stmt.query_map([server_id], |r| {
        let name: String = r.get(1)?;
        Ok((
            (crate::agents::name_key(&name), r.get(2)?),
            (r.get(0)?, false),
        ))
    })?;
    for row in rows {
        let (identity, entry) = row?;
        known.insert(identity, entry);
    }
    Ok(known)
}

/// The step "a newer list of the same server replaces the earlier one": the event
/// [`Event::AbsentFromNewerList`] for every agent of the server that `import_id` did
/// not name. Returns how many agents it resolved.
fn replace_earlier_lists(
    tx: &Transaction<'_>,
    server_id: i64,
    import_id: i64,
    now: i64,
) -> rusqlite::Result<i64> {
    let resolved = tx.execute(&RESOLVE_ABSENT, params![now, server_id, import_id])?;
    Ok(i64::try_from(resolved).unwrap_or(i64::MAX))
}

/// Completes the import's row with how the list was read and what it did, and logs it.
fn finish_import(
    tx: &Transaction<'_>,
    server_id: i64,
    import_id: i64,
    subject: &str,
    shape: &crate::agents::ListShape,
    counts: &ImportCounts,
) -> rusqlite::Result<()> {
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
    )?;
    insert_event(
        tx,
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
}

impl Store {
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
}

fn line_number(line: u64) -> i64 {
    i64::try_from(line).unwrap_or(i64::MAX)
}
