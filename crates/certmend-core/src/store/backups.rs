//! The catalog of key-pair backups: fingerprints, source, time and file hashes. Never
//! a password.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{insert_event, now_text, AgentStatus, Store, StoreError};

/// A file a backup consists of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// A backup just written, to be recorded.
#[derive(Debug, Clone)]
pub struct NewBackup {
    pub server_id: Option<i64>,
    /// `backup` (asked for), `restore_kit` (a kit for a server's reinstallation) or
    /// `pre_restore` (the files an earlier certmend's restore replaced).
    pub kind: String,
    pub source: String,
    pub certificate_sha256: String,
    pub sha1_thumbprint: String,
    pub serial: String,
    pub subject: String,
    pub not_after: String,
    /// `modern` / `legacy`; none for a pre-restore copy (the files as they were).
    pub encryption: Option<String>,
    pub folder: String,
    pub files: Vec<BackupFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRow {
    pub id: i64,
    pub server_id: Option<i64>,
    pub kind: String,
    pub created: String,
    pub source: String,
    pub certificate_sha256: String,
    pub sha1_thumbprint: String,
    pub serial: String,
    pub subject: String,
    pub not_after: String,
    pub encryption: Option<String>,
    pub folder: String,
    pub files: Vec<BackupFile>,
}

/// What the store knows of the certificates a server's agents hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentHolding {
    pub name: String,
    pub status: AgentStatus,
    /// The certificate of the agent's latest bundle when a receipt said it worked;
    /// otherwise unknown (a mismatched agent holds some other certificate).
    pub certificate_sha256: Option<String>,
}

impl Store {
    pub fn record_backup(&mut self, b: &NewBackup) -> Result<i64, StoreError> {
        let now = now_text();
        let (tx, path) = self.write()?;
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let files = serde_json::to_string(&b.files).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO backups (server_id, kind, created, source, certificate_sha256, sha1_thumbprint,
                                  serial, subject, not_after, encryption, folder, files)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                b.server_id,
                b.kind,
                now,
                b.source,
                b.certificate_sha256,
                b.sha1_thumbprint,
                b.serial,
                b.subject,
                b.not_after,
                b.encryption,
                b.folder,
                files
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        insert_event(
            &tx,
            match b.kind.as_str() {
                "pre_restore" => "backup.pre_restore",
                "restore_kit" => "backup.restore_kit",
                _ => "backup.created",
            },
            b.server_id,
            Some(&b.folder),
            &serde_json::json!({ "backup_id": id, "sha1_thumbprint": b.sha1_thumbprint }),
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Every backup, newest first.
    pub fn backups(&self) -> Result<Vec<BackupRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, server_id, kind, created, source, certificate_sha256, sha1_thumbprint,
                        serial, subject, not_after, encryption, folder, files
                 FROM backups ORDER BY id DESC",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                let files: String = r.get(12)?;
                Ok(BackupRow {
                    id: r.get(0)?,
                    server_id: r.get(1)?,
                    kind: r.get(2)?,
                    created: r.get(3)?,
                    source: r.get(4)?,
                    certificate_sha256: r.get(5)?,
                    sha1_thumbprint: r.get(6)?,
                    serial: r.get(7)?,
                    subject: r.get(8)?,
                    not_after: r.get(9)?,
                    encryption: r.get(10)?,
                    folder: r.get(11)?,
                    files: serde_json::from_str(&files).unwrap_or_default(),
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Each agent of a server with the certificate it is known to hold.
    pub fn agent_holdings(&self, server_id: i64) -> Result<Vec<AgentHolding>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.name, a.status,
                        (SELECT b.certificate_sha256 FROM bundles b
                         WHERE b.agent_id = a.id AND b.superseded_by IS NULL)
                 FROM agents a WHERE a.server_id = ?1 ORDER BY a.name",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], |r| {
                let status: AgentStatus = r.get(1)?;
                let bundle_cert: Option<String> = r.get(2)?;
                Ok(AgentHolding {
                    certificate_sha256: bundle_cert.filter(|_| status == AgentStatus::Repaired),
                    name: r.get(0)?,
                    status,
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }
}
