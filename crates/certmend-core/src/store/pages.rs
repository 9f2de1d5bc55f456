//! One page of a server's agents for a table that shows 100,000 of them: the window asks
//! for the rows it can see, never for all of them.

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{unix_text, AgentStatus, ReceiptSource, Store, StoreError};

/// Columns the agents table sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentSort {
    #[default]
    Name,
    Status,
    Ip,
    Domain,
    LastSeen,
    Bundle,
    Receipt,
}

impl AgentSort {
    fn sql(self) -> &'static str {
        match self {
            AgentSort::Name => "a.name COLLATE NOCASE",
            AgentSort::Status => "a.status",
            AgentSort::Ip => "coalesce(a.ip, '')",
            AgentSort::Domain => "coalesce(a.domain, '') COLLATE NOCASE",
            AgentSort::LastSeen => "a.last_seen",
            AgentSort::Bundle => "coalesce(b.created, '')",
            AgentSort::Receipt => "coalesce(r.result, '')",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgentQuery {
    pub server_id: i64,
    pub status: Option<AgentStatus>,
    /// Matched (case-insensitively) against name, IP, domain and GUID.
    pub search: Option<String>,
    pub sort: AgentSort,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
    /// Leave out `total` and `counts`: a table scrolling through a query it already
    /// counted asks only for rows (counting 100,000 rows costs more than a page).
    pub skip_counts: bool,
}

/// A row of the agents table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentTableRow {
    pub id: i64,
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
    pub status: AgentStatus,
    /// When a list last named the agent.
    pub last_seen: String,
    /// The agent's current bundle: id, folder and when it was written.
    pub bundle_id: Option<String>,
    pub bundle_created: Option<String>,
    /// The latest receipt's result word for that bundle (e.g. `REPAIRED`).
    pub receipt: Option<String>,
    /// The receipt that set the status, when one did: a claim, shown with its source.
    pub status_receipt: Option<ReceiptSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentPage {
    /// Rows matching the search and status filter (None with `skip_counts`).
    pub total: Option<u64>,
    /// Per status, the rows matching the search, for the filter chips (None with
    /// `skip_counts`).
    pub counts: Option<Vec<(AgentStatus, u64)>>,
    pub rows: Vec<AgentTableRow>,
}

const MAX_PAGE: u32 = 1000;

/// The agents of server ?1 matching search pattern ?2 (a LIKE pattern, or NULL).
const MATCHES: &str = "a.server_id = ?1
            AND (?2 IS NULL OR unicode_lower(a.name) LIKE ?2 ESCAPE '\\'
                 OR coalesce(a.ip, '') LIKE ?2 ESCAPE '\\'
                 OR unicode_lower(coalesce(a.domain, '')) LIKE ?2 ESCAPE '\\'
                 OR a.guid LIKE ?2 ESCAPE '\\')";

impl Store {
    pub fn agents_page(&self, q: &AgentQuery) -> Result<AgentPage, StoreError> {
        let pattern = q
            .search
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                let escaped = s
                    .trim()
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            });
        let (total, counts) = if q.skip_counts {
            (None, None)
        } else {
            let counts = self.page_counts(q.server_id, pattern.as_deref())?;
            let total = match q.status {
                Some(s) => counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n),
                None => counts.iter().map(|(_, n)| n).sum(),
            };
            (Some(total), Some(counts))
        };
        let rows = self.page_rows(q, pattern.as_deref())?;
        Ok(AgentPage {
            total,
            counts,
            rows,
        })
    }

    /// Per status, the server's agents matching the search.
    fn page_counts(
        &self,
        server_id: i64,
        pattern: Option<&str>,
    ) -> Result<Vec<(AgentStatus, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT a.status, count(*) FROM agents a WHERE {MATCHES} GROUP BY a.status"
            ))
            .map_err(self.sql())?;
        let counts = stmt
            .query_map(params![server_id, pattern], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs()))
            })
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        Ok(counts)
    }

    fn page_rows(
        &self,
        q: &AgentQuery,
        pattern: Option<&str>,
    ) -> Result<Vec<AgentTableRow>, StoreError> {
        let order = format!(
            "{} {dir}, a.name COLLATE NOCASE {dir}, a.id",
            q.sort.sql(),
            dir = if q.descending { "DESC" } else { "ASC" }
        );
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT a.id, a.name, a.ip, a.domain, a.guid, a.status, a.last_seen,
                        b.id, b.created, r.result,
                        sr.source, sr.line, sr.run_id, sr.computer, sr.ran_at, sr.result
                 FROM agents a
                 LEFT JOIN bundles b ON b.agent_id = a.id AND b.superseded_by IS NULL
                 LEFT JOIN receipts r ON r.rowid = (
                     SELECT max(rowid) FROM receipts WHERE bundle_id = b.id)
                 LEFT JOIN receipts sr ON sr.line_sha256 = a.status_receipt
                 WHERE {MATCHES} AND (?3 IS NULL OR a.status = ?3)
                 ORDER BY {order}
                 LIMIT ?4 OFFSET ?5"
            ))
            .map_err(self.sql())?;
        let params = params![
            q.server_id,
            pattern,
            q.status,
            q.limit.clamp(1, MAX_PAGE),
            q.offset
        ];
        let rows = stmt
            .query_map(params, table_row)
            .map_err(self.sql())?
            .collect::<Result<_, _>>()
            .map_err(self.sql())?;
        Ok(rows)
    }
}

fn table_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AgentTableRow> {
    Ok(AgentTableRow {
        id: r.get(0)?,
        name: r.get(1)?,
        ip: r.get(2)?,
        domain: r.get(3)?,
        guid: r
            .get::<_, String>(4)
            .map(|g| (!g.is_empty()).then_some(g))?,
        status: r.get(5)?,
        last_seen: unix_text(r.get(6)?),
        bundle_id: r.get(7)?,
        bundle_created: r.get(8)?,
        receipt: r.get(9)?,
        status_receipt: ReceiptSource::from_row(r, 10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sort_search_and_count() {
        // The whole world stays alive: its folder holds the database.
        let world = crate::testutil::demo_world(5, true);
        let (store, server) = (&world.store, &world.server);
        let q = |search: Option<&str>, offset, limit, descending| AgentQuery {
            server_id: server.server_id,
            search: search.map(str::to_string),
            offset,
            limit,
            descending,
            ..Default::default()
        };
        let all = store.agents_page(&q(None, 0, 1000, false)).unwrap();
        assert_eq!(all.total, Some(36));
        assert_eq!(all.rows.len(), 36);
        assert_eq!(all.counts, Some(vec![(AgentStatus::Mismatched, 36)]));
        let mut names: Vec<_> = all.rows.iter().map(|r| r.name.to_lowercase()).collect();
        let sorted = {
            let mut s = names.clone();
            s.sort();
            s
        };
        assert_eq!(names, sorted);
        // Pages are slices of the same order; descending reverses it.
        let page = store.agents_page(&q(None, 10, 5, false)).unwrap();
        assert_eq!(page.total, Some(36));
        assert_eq!(page.rows, all.rows[10..15].to_vec());
        // A page without counts: the same rows, no total or counts.
        let rows_only = AgentQuery {
            skip_counts: true,
            ..q(None, 10, 5, false)
        };
        let rows_only = store.agents_page(&rows_only).unwrap();
        assert_eq!((rows_only.total, rows_only.counts), (None, None));
        assert_eq!(rows_only.rows, page.rows);
        let desc = store.agents_page(&q(None, 0, 1, true)).unwrap();
        names.reverse();
        assert_eq!(desc.rows[0].name.to_lowercase(), names[0]);
        // Search narrows total and counts alike; a status filter only the rows.
        let acct = store.agents_page(&q(Some("ACCT"), 0, 100, false)).unwrap();
        assert!(acct.total.is_some_and(|n| n > 0 && n < 36));
        assert!(acct.rows.iter().all(|r| r.name.contains("ACCT")));
        let none = AgentQuery {
            status: Some(AgentStatus::Repaired),
            ..q(None, 0, 100, false)
        };
        let none = store.agents_page(&none).unwrap();
        assert_eq!(none.total, Some(0));
        assert!(none.rows.is_empty());
        assert_eq!(none.counts, all.counts);
    }
}
