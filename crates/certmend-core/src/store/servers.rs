//! Servers as certmend read them, and the certificates each has had.

use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::{insert_event, now_text, Store, StoreError};
use crate::cert::Certificate;
use crate::server::ServerInstall;

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

impl Store {
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
        let server_id =
            upsert_server(&tx, &folder, &key, &product, server.demo, &now).map_err(sql)?;
        for (cert, first_seen, last_seen) in history {
            upsert_certificate(&tx, server_id, cert, first_seen, last_seen).map_err(sql)?;
        }
        if let Some(cert) = certificate {
            record_current_certificate(&tx, server_id, &folder, cert, &now).map_err(sql)?;
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

/// The server's row, made or brought up to date; it becomes the one read last.
fn upsert_server(
    tx: &Transaction<'_>,
    folder: &str,
    key: &str,
    product: &str,
    demo: bool,
    now: &str,
) -> rusqlite::Result<i64> {
    tx.query_row(
        "INSERT INTO servers (install_folder, folder_key, product, demo, first_seen, last_seen, read_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, (SELECT coalesce(max(read_seq), 0) + 1 FROM servers))
         ON CONFLICT (folder_key) DO UPDATE SET
            install_folder = excluded.install_folder, product = excluded.product,
            demo = excluded.demo, last_seen = excluded.last_seen, read_seq = excluded.read_seq
         RETURNING id",
        params![folder, key, product, demo, now],
        |r| r.get(0),
    )
}

/// Makes `cert` the server's current certificate, logging a change of certificate or
/// the server's first read with one.
fn record_current_certificate(
    tx: &Transaction<'_>,
    server_id: i64,
    folder: &str,
    cert: &Certificate,
    now: &str,
) -> rusqlite::Result<()> {
    let previous: Option<(i64, String)> = tx
        .query_row(
            "SELECT c.id, c.sha1_thumbprint FROM servers s JOIN certificates c ON c.id = s.current_certificate_id WHERE s.id = ?1",
            [server_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let cert_id = upsert_certificate(tx, server_id, cert, now, now)?;
    tx.execute(
        "UPDATE servers SET current_certificate_id = ?1 WHERE id = ?2",
        params![cert_id, server_id],
    )?;
    let thumbprint = &cert.info().sha1_thumbprint;
    match previous {
        Some((prev_id, prev_thumb)) if prev_id != cert_id => insert_event(
            tx,
            "certificate.changed",
            Some(server_id),
            Some(folder),
            &serde_json::json!({ "from": prev_thumb, "to": thumbprint }),
        ),
        None => insert_event(
            tx,
            "server.first_read",
            Some(server_id),
            Some(folder),
            &serde_json::json!({ "certificate": thumbprint }),
        ),
        _ => Ok(()),
    }
}
