//! Agents as the store lists them.

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use super::{unix_text, AgentStatus, ReceiptSource, Store, StoreError};

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
    pub status: AgentStatus,
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

impl Store {
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
            .query_map(params![filter.server_id, filter.status, pattern], |r| {
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
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Each agent name of a server (lower-cased) with its status; for a name used by
    /// several agents (different GUIDs), the most recently seen.
    pub fn agent_statuses(
        &self,
        server_id: i64,
    ) -> Result<HashMap<String, AgentStatus>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, status FROM agents WHERE server_id = ?1 ORDER BY last_seen, id")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([server_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, AgentStatus>(1)?))
            })
            .map_err(self.sql())?;
        let mut map = HashMap::new();
        for row in rows {
            let (name, status) = row.map_err(self.sql())?;
            map.insert(crate::agents::name_key(&name), status);
        }
        Ok(map)
    }
}
