//! Bundles written to sticks and receipts read back: the store's side.

use std::path::Path;

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{insert_event, now_text, AgentStatus, Store, StoreError};

/// An agent a bundle is made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleAgent {
    pub id: i64,
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
    pub status: String,
}

/// A bundle just written, to be recorded.
#[derive(Debug, Clone)]
pub struct NewBundle {
    pub id: String,
    pub agent_id: i64,
    pub certificate_sha256: String,
    pub folder: String,
    pub options: serde_json::Value,
}

/// A recorded bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleRow {
    pub id: String,
    pub agent_id: i64,
    pub agent_name: String,
    pub agent_status: String,
    pub server_id: i64,
    pub certificate_sha256: String,
    /// The server's certificate now (None if never read with a readable certificate).
    pub server_certificate_sha256: Option<String>,
    pub created: String,
    pub superseded_by: Option<String>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ReceiptOutcome {
    /// This exact line was read before: nothing changed.
    AlreadyRead,
    /// Recorded; the agent's status went from `before` to `after` (equal when unchanged).
    Recorded { before: String, after: String },
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

impl Store {
    /// Agents of a server to export bundles for: those named (any letter case; every
    /// agent of that name), with the names that matched none; or, with `None`, every
    /// agent not yet `repaired` or `resolved`.
    pub fn agents_for_export(
        &self,
        server_id: i64,
        names: Option<&[String]>,
    ) -> Result<(Vec<BundleAgent>, Vec<String>), StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, ip, domain, guid, status FROM agents WHERE server_id = ?1
                 ORDER BY name COLLATE NOCASE, guid",
            )
            .map_err(self.sql())?;
        let all = stmt
            .query_map([server_id], agent_from_row)
            .map_err(self.sql())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.sql())?;
        let Some(names) = names else {
            let chosen = all
                .into_iter()
                .filter(|a| {
                    !matches!(
                        AgentStatus::parse(&a.status),
                        Some(AgentStatus::Repaired | AgentStatus::Resolved)
                    )
                })
                .collect();
            return Ok((chosen, Vec::new()));
        };
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
            "INSERT INTO bundles (id, agent_id, server_id, certificate_sha256, out_dir, folder, created, options)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                b.id,
                b.agent_id,
                server_id,
                b.certificate_sha256,
                out,
                b.folder,
                now,
                b.options.to_string()
            ],
        )
        .map_err(sql)?;
        tx.execute(
            "UPDATE agents SET status = 'bundle_exported', status_changed = ?1 WHERE id = ?2",
            params![now_unix, b.agent_id],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)
    }

    pub fn bundle(&self, id: &str) -> Result<Option<BundleRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT b.id, b.agent_id, a.name, a.status, b.server_id, b.certificate_sha256, c.sha256,
                        b.created, b.superseded_by
                 FROM bundles b JOIN agents a ON a.id = b.agent_id JOIN servers s ON s.id = b.server_id
                 LEFT JOIN certificates c ON c.id = s.current_certificate_id
                 WHERE b.id = ?1",
                [id],
                |r| {
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
                    })
                },
            )
            .optional()
            .map_err(self.sql())
    }

    /// Records a receipt line once (by its SHA-256) and, when `new_status` is given,
    /// sets the agent's status, in one transaction.
    pub fn record_receipt(
        &mut self,
        receipt: &ReceiptRecord<'_>,
        agent_id: i64,
        new_status: Option<AgentStatus>,
    ) -> Result<ReceiptOutcome, StoreError> {
        let now = now_text();
        let now_unix = time::OffsetDateTime::now_utc().unix_timestamp();
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO receipts (line_sha256, bundle_id, run_id, computer, mode, result, ipxfer_exit,
                                                 before, after, ran_at, read_at, source,
                                                 matched_by, thumbprint, server_check)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
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
                    receipt.server_check
                ],
            )
            .map_err(sql)?;
        if inserted == 0 {
            return Ok(ReceiptOutcome::AlreadyRead);
        }
        let (before, server_id): (String, i64) = tx
            .query_row(
                "SELECT status, server_id FROM agents WHERE id = ?1",
                [agent_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql)?;
        let after = match new_status {
            Some(status) if status.as_str() != before => {
                tx.execute(
                    "UPDATE agents SET status = ?1, status_changed = ?2 WHERE id = ?3",
                    params![status.as_str(), now_unix, agent_id],
                )
                .map_err(sql)?;
                status.as_str().to_string()
            }
            _ => before.clone(),
        };
        insert_event(
            &tx,
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
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(ReceiptOutcome::Recorded { before, after })
    }
}
