//! The event log: what happened, when, to which server.

use rusqlite::{params, Transaction};
use serde::Serialize;

use super::{now_text, Store, StoreError};

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

impl Store {
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

pub(crate) fn insert_event(
    tx: &Transaction<'_>,
    kind: &str,
    server_id: Option<i64>,
    subject: Option<&str>,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    // Cached: a read of a share's receipts logs thousands in one transaction.
    tx.prepare_cached(
        "INSERT INTO events (at, kind, server_id, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        now_text(),
        kind,
        server_id,
        subject,
        detail.to_string()
    ])?;
    Ok(())
}
