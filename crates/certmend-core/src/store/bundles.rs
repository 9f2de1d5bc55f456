//! Bundles written to sticks and receipts read back: the store's side.

use std::path::Path;
use std::sync::LazyLock;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{insert_event, lifecycle, now_text, AgentStatus, Store, StoreError};
use crate::agents::status::Event;

/// An agent a bundle is made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleAgent {
    pub id: i64,
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
    pub status: AgentStatus,
}

/// A file certmend wrote into a bundle: its name relative to the bundle folder
/// (`..\tools\IpXfer.exe` for the shared tools), size and SHA-256 (upper-case hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// A bundle just written, to be recorded.
#[derive(Debug, Clone)]
pub struct NewBundle {
    pub id: String,
    pub agent_id: i64,
    pub certificate_sha256: String,
    pub folder: String,
    pub options: serde_json::Value,
    /// Every file of the bundle as written, the manifest and shared tools included: a
    /// stick is checked against these (see `bundle::verify`).
    pub files: Vec<BundleFile>,
}

/// A recorded bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleRow {
    pub id: String,
    pub agent_id: i64,
    pub agent_name: String,
    pub agent_status: AgentStatus,
    /// The agent's GUID as the list gave it (lower case, no braces), if any.
    pub agent_guid: Option<String>,
    pub server_id: i64,
    pub certificate_sha256: String,
    /// The SHA-1 thumbprint of the bundle's certificate (upper-case hex), when the
    /// store holds that certificate (it does for every bundle certmend wrote).
    pub certificate_sha1_thumbprint: Option<String>,
    /// The server's certificate now (None if never read with a readable certificate).
    pub server_certificate_sha256: Option<String>,
    pub created: String,
    pub superseded_by: Option<String>,
    /// The folder the bundle was written to, and its name there.
    pub out_dir: String,
    pub folder: String,
    /// What was written; None for bundles written before certmend recorded it.
    pub files: Option<Vec<BundleFile>>,
}

/// The event kind that records an export's root files ([`Store::entry_files`]).
pub const ENTRY_WRITTEN: &str = "bundles.entry_written";

/// The detail of an [`ENTRY_WRITTEN`] event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryDetail {
    pub export_id: String,
    pub files: Vec<BundleFile>,
    /// Bundles the entry script lists.
    pub bundles: usize,
}

/// One receipt line to record.
#[derive(Debug, Clone)]
pub struct ReceiptRecord<'a> {
    pub line_sha256: &'a str,
    pub bundle_id: &'a str,
    pub run_id: &'a str,
    pub computer: &'a str,
    pub mode: &'a str,
    pub result: &'a str,
    pub ipxfer_exit: &'a str,
    pub before: &'a str,
    pub after: &'a str,
    /// `sha256` or `thumbprint`: which check found the server's certificate.
    pub matched_by: Option<&'a str>,
    /// The SHA-1 thumbprint found in the agent's OfcNTCer.dat.
    pub thumbprint: Option<&'a str>,
    /// XG syntax: `match`, `differs` or `missing` (the agent's registry value Server).
    pub server_check: Option<&'a str>,
    pub ran_at: &'a str,
    pub source: &'a str,
    /// The line's number in `source`.
    pub line: i64,
}

/// Where a status a receipt set came from: the receipt file and line, and what the
/// line said (repair.cmd's run id, the computer it ran on, when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptSource {
    pub file: String,
    /// None for receipts read before certmend recorded line numbers.
    pub line: Option<i64>,
    pub run_id: String,
    pub computer: String,
    pub ran_at: Option<String>,
    pub result: String,
}

impl ReceiptSource {
    /// From six columns starting at `at`: source, line, run_id, computer, ran_at,
    /// result (all NULL when no receipt set the status).
    pub(crate) fn from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Self>> {
        let Some(file) = r.get::<_, Option<String>>(at)? else {
            return Ok(None);
        };
        Ok(Some(ReceiptSource {
            file,
            line: r.get(at + 1)?,
            run_id: r.get::<_, Option<String>>(at + 2)?.unwrap_or_default(),
            computer: r.get::<_, Option<String>>(at + 3)?.unwrap_or_default(),
            ran_at: r.get(at + 4)?,
            result: r.get::<_, Option<String>>(at + 5)?.unwrap_or_default(),
        }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ReceiptOutcome {
    /// This exact line was read before: nothing changed.
    AlreadyRead,
    /// Recorded; the agent's status went from `before` to `after` (equal when unchanged).
    Recorded {
        before: AgentStatus,
        after: AgentStatus,
    },
}

const BUNDLE_ROW: &str =
    "SELECT b.id, b.agent_id, a.name, a.status, b.server_id, b.certificate_sha256, c.sha256,
        b.created, b.superseded_by, a.guid, bc.sha1_thumbprint, b.out_dir, b.folder, b.files
     FROM bundles b JOIN agents a ON a.id = b.agent_id JOIN servers s ON s.id = b.server_id
     LEFT JOIN certificates c ON c.id = s.current_certificate_id
     LEFT JOIN certificates bc ON bc.server_id = b.server_id AND bc.sha256 = b.certificate_sha256";

fn bundle_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BundleRow> {
    let guid: String = r.get(9)?;
    let files: Option<String> = r.get(13)?;
    Ok(BundleRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        agent_name: r.get(2)?,
        agent_status: r.get(3)?,
        server_id: r.get(4)?,
        certificate_sha256: r.get(5)?,
        server_certificate_sha256: r.get(6)?,
        created: r.get(7)?,
        superseded_by: r.get(8)?,
        agent_guid: (!guid.is_empty()).then_some(guid),
        certificate_sha1_thumbprint: r.get(10)?,
        out_dir: r.get(11)?,
        folder: r.get(12)?,
        // Written by certmend itself; unreadable JSON counts as not recorded.
        files: files.and_then(|f| serde_json::from_str(&f).ok()),
    })
}

fn agent_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BundleAgent> {
    let guid: String = r.get(4)?;
    Ok(BundleAgent {
        id: r.get(0)?,
        name: r.get(1)?,
        ip: r.get(2)?,
        domain: r.get(3)?,
        guid: (!guid.is_empty()).then_some(guid),
        status: r.get(5)?,
    })
}

/// The server's agents (?1) an export can be for, by name.
const EXPORT_CANDIDATES: &str = "SELECT id, name, ip, domain, guid, status FROM agents
     WHERE server_id = ?1 ORDER BY name COLLATE NOCASE, guid";

/// The same, only those "export every agent not yet repaired" takes: the statuses
/// [`crate::agents::status::exportable`] accepts.
static EXPORTABLE_AGENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT id, name, ip, domain, guid, status FROM agents
         WHERE server_id = ?1 AND {} ORDER BY name COLLATE NOCASE, guid",
        lifecycle::exportable_sql()
    )
});

/// The agent a bundle was just written for ([`Event::BundleExported`]): ?1 now, ?2 the
/// agent. Even an agent already `bundle_exported` gets a new status time and loses a
/// receipt as the status's source: the new bundle is what it now waits for.
pub(super) static MARK_EXPORTED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE agents SET status = {}, status_changed = ?1, status_receipt = NULL WHERE id = ?2",
        lifecycle::next_sql(Event::BundleExported)
    )
});

impl Store {
    /// Agents of a server to export bundles for: those named (any letter case; every
    /// agent of that name), with the names that matched none; or, with `None`, every
    /// agent not yet `repaired` or `resolved`.
    pub fn agents_for_export(
        &self,
        server_id: i64,
        names: Option<&[String]>,
    ) -> Result<(Vec<BundleAgent>, Vec<String>), StoreError> {
        let Some(names) = names else {
            let chosen = self.export_candidates(&EXPORTABLE_AGENTS, server_id)?;
            return Ok((chosen, Vec::new()));
        };
        let all = self.export_candidates(EXPORT_CANDIDATES, server_id)?;
        let mut chosen = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            let key = crate::agents::name_key(name);
            let matching: Vec<_> = all
                .iter()
                .filter(|a| crate::agents::name_key(&a.name) == key)
                .filter(|a| !chosen.iter().any(|c: &BundleAgent| c.id == a.id))
                .cloned()
                .collect();
            if matching.is_empty()
                && !chosen
                    .iter()
                    .any(|c| crate::agents::name_key(&c.name) == key)
            {
                unknown.push(name.clone());
            }
            chosen.extend(matching);
        }
        Ok((chosen, unknown))
    }

    fn export_candidates(
        &self,
        query: &str,
        server_id: i64,
    ) -> Result<Vec<BundleAgent>, StoreError> {
        let mut stmt = self.conn.prepare(query).map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], agent_from_row)
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Records one bundle: it supersedes the agent's earlier ones and the agent becomes
    /// `bundle_exported`.
    pub fn record_bundle(
        &mut self,
        server_id: i64,
        out_dir: &Path,
        b: &NewBundle,
    ) -> Result<(), StoreError> {
        let now = now_text();
        let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let out = out_dir.to_string_lossy().into_owned();
        let files = serde_json::to_string(&b.files).map_err(|e| StoreError::Sql {
            path: self.path.clone(),
            source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        })?;
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        tx.execute(
            "UPDATE bundles SET superseded_by = ?1 WHERE agent_id = ?2 AND superseded_by IS NULL",
            params![b.id, b.agent_id],
        )
        .map_err(sql)?;
        tx.execute(
            "INSERT INTO bundles (id, agent_id, server_id, certificate_sha256, out_dir, folder, created, options, files)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                b.id,
                b.agent_id,
                server_id,
                b.certificate_sha256,
                out,
                b.folder,
                now,
                b.options.to_string(),
                files
            ],
        )
        .map_err(sql)?;
        tx.execute(&MARK_EXPORTED, params![now_unix, b.agent_id])
            .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    pub fn bundle(&self, id: &str) -> Result<Option<BundleRow>, StoreError> {
        bundle_by_id(&self.conn, id).map_err(self.sql())
    }

    /// A write transaction for many receipt lines at once (a share holds thousands):
    /// see [`ReceiptBatch`].
    pub fn receipt_batch(&mut self) -> Result<ReceiptBatch<'_>, StoreError> {
        let (tx, path) = self.write()?;
        Ok(ReceiptBatch { tx, path })
    }

    /// The bundles recorded as written into `folder` (any letter case) of an export
    /// to `out_dir` (compared as a whole path in any letter case), newest first.
    pub fn bundles_in_folder(
        &self,
        out_dir: &Path,
        folder: &str,
    ) -> Result<Vec<BundleRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{BUNDLE_ROW} WHERE b.folder = ?1 COLLATE NOCASE ORDER BY b.created DESC, b.rowid DESC"
            ))
            .map_err(self.sql())?;
        let key = out_dir.to_string_lossy().to_lowercase();
        let rows = stmt
            .query_map([folder], bundle_from_row)
            .map_err(self.sql())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.sql())?;
        Ok(rows
            .into_iter()
            .filter(|b| b.out_dir.to_lowercase() == key)
            .collect())
    }

    /// The bundles of server `server_id` recorded as written to `out_dir` (compared as
    /// a whole path in any letter case) and not replaced by a newer one, by agent name.
    pub fn current_bundles_in(
        &self,
        server_id: i64,
        out_dir: &Path,
    ) -> Result<Vec<BundleRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "{BUNDLE_ROW} WHERE b.server_id = ?1 AND b.superseded_by IS NULL
                 ORDER BY a.name COLLATE NOCASE, b.created, b.rowid"
            ))
            .map_err(self.sql())?;
        let key = out_dir.to_string_lossy().to_lowercase();
        let rows = stmt
            .query_map([server_id], bundle_from_row)
            .map_err(self.sql())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.sql())?;
        Ok(rows
            .into_iter()
            .filter(|b| b.out_dir.to_lowercase() == key)
            .collect())
    }

    /// The latest receipt result of each bundle of server `server_id` that has one (by
    /// when it was read), keyed by bundle id: what a fleet's progress is counted from.
    pub fn latest_receipt_results(
        &self,
        server_id: i64,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.bundle_id, r.result FROM receipts r JOIN bundles b ON b.id = r.bundle_id
                 WHERE b.server_id = ?1 ORDER BY r.read_at, r.rowid",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(self.sql())?;
        // Later rows replace earlier ones: the map holds each bundle's latest result.
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// The files at the root of `out_dir` the latest export there wrote (the entry
    /// script and its README), with that export's id: recorded as the event
    /// [`ENTRY_WRITTEN`] (subject: the folder, detail: `export_id` and `files`).
    pub fn entry_files(
        &self,
        out_dir: &Path,
    ) -> Result<Option<(String, Vec<BundleFile>)>, StoreError> {
        Ok(self.entry_file_versions(out_dir)?.into_iter().next())
    }

    /// Every version of the root files exports recorded for `out_dir`, newest first.
    pub fn entry_file_versions(
        &self,
        out_dir: &Path,
    ) -> Result<Vec<(String, Vec<BundleFile>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT subject, detail FROM events WHERE kind = ?1 ORDER BY id DESC")
            .map_err(self.sql())?;
        let key = out_dir.to_string_lossy().to_lowercase();
        let rows = stmt
            .query_map([ENTRY_WRITTEN], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            })
            .map_err(self.sql())?;
        let mut versions = Vec::new();
        for row in rows {
            let (subject, detail) = row.map_err(self.sql())?;
            if subject.map(|s| s.to_lowercase()) != Some(key.clone()) {
                continue;
            }
            let Some(detail) = detail.and_then(|d| serde_json::from_str::<EntryDetail>(&d).ok())
            else {
                continue;
            };
            versions.push((detail.export_id, detail.files));
        }
        Ok(versions)
    }

    /// Records a receipt line once (by its SHA-256) and, when `new_status` is given,
    /// sets the agent's status, in one transaction.
    pub fn record_receipt(
        &mut self,
        receipt: &ReceiptRecord<'_>,
        agent_id: i64,
        new_status: Option<AgentStatus>,
    ) -> Result<ReceiptOutcome, StoreError> {
        let mut batch = self.receipt_batch()?;
        let outcome = batch.record_receipt(receipt, agent_id, new_status)?;
        // A line read before changed nothing: nothing to commit.
        if matches!(outcome, ReceiptOutcome::Recorded { .. }) {
            batch.commit()?;
        }
        Ok(outcome)
    }
}

/// One write transaction for many receipt lines ([`Store::receipt_batch`]): reading
/// 10,000 receipts from a share is one commit, not 10,000. Its lookups see what its
/// earlier lines recorded (an agent's status after the line before), so a batch gives
/// what one transaction per line gave; nothing is kept unless it is committed.
pub struct ReceiptBatch<'a> {
    tx: rusqlite::Transaction<'a>,
    path: std::path::PathBuf,
}

impl ReceiptBatch<'_> {
    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// [`Store::bundle`], inside the batch.
    pub fn bundle(&self, id: &str) -> Result<Option<BundleRow>, StoreError> {
        bundle_by_id(&self.tx, id).map_err(self.sql())
    }

    /// [`Store::record_receipt`], inside the batch.
    pub fn record_receipt(
        &mut self,
        receipt: &ReceiptRecord<'_>,
        agent_id: i64,
        new_status: Option<AgentStatus>,
    ) -> Result<ReceiptOutcome, StoreError> {
        let now = now_text();
        let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let sql = self.sql();
        let tx = &self.tx;
        if !insert_receipt(tx, receipt, &now).map_err(&sql)? {
            return Ok(ReceiptOutcome::AlreadyRead);
        }
        let (before, server_id): (AgentStatus, i64) = tx
            .prepare_cached("SELECT status, server_id FROM agents WHERE id = ?1")
            .and_then(|mut stmt| stmt.query_row([agent_id], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(&sql)?;
        let after = match new_status {
            Some(status) if status != before => {
                tx.prepare_cached(
                    "UPDATE agents SET status = ?1, status_changed = ?2, status_receipt = ?3 WHERE id = ?4",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![status, now_unix, receipt.line_sha256, agent_id])
                })
                .map_err(&sql)?;
                status
            }
            // The same status again (a second MATCHES, say): the newer receipt is its source.
            Some(_) => {
                tx.prepare_cached("UPDATE agents SET status_receipt = ?1 WHERE id = ?2")
                    .and_then(|mut stmt| stmt.execute(params![receipt.line_sha256, agent_id]))
                    .map_err(&sql)?;
                before
            }
            None => before,
        };
        insert_event(
            tx,
            "receipt.read",
            Some(server_id),
            Some(receipt.computer),
            &serde_json::json!({
                "bundle": receipt.bundle_id,
                "result": receipt.result,
                "matched_by": receipt.matched_by,
                "thumbprint": receipt.thumbprint,
                "server_check": receipt.server_check,
                "status_before": before,
                "status_after": after,
            }),
        )
        .map_err(&sql)?;
        Ok(ReceiptOutcome::Recorded { before, after })
    }

    /// Keeps what the batch recorded.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path;
        self.tx
            .commit()
            .map_err(|source| StoreError::Sql { path, source })
    }
}

/// The bundle `id` with its agent and certificates (one cached statement: receipts and
/// `bundle verify` look up thousands).
fn bundle_by_id(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<BundleRow>> {
    conn.prepare_cached(&format!("{BUNDLE_ROW} WHERE b.id = ?1"))?
        .query_row([id], bundle_from_row)
        .optional()
}

/// Stores a receipt line; false when this exact line was stored before.
fn insert_receipt(
    tx: &rusqlite::Transaction<'_>,
    receipt: &ReceiptRecord<'_>,
    now: &str,
) -> rusqlite::Result<bool> {
    let inserted = tx.prepare_cached(
        "INSERT OR IGNORE INTO receipts (line_sha256, bundle_id, run_id, computer, mode, result, ipxfer_exit,
                                         before, after, ran_at, read_at, source,
                                         matched_by, thumbprint, server_check, line)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
            receipt.line_sha256,
            receipt.bundle_id,
            receipt.run_id,
            receipt.computer,
            receipt.mode,
            receipt.result,
            receipt.ipxfer_exit,
            receipt.before,
            receipt.after,
            receipt.ran_at,
            now,
            receipt.source,
            receipt.matched_by,
            receipt.thumbprint,
            receipt.server_check,
            receipt.line
        ])?;
    Ok(inserted > 0)
}
