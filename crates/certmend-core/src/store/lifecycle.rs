//! Agent statuses in SQL. A status is stored as its name and read back as the enum (an
//! unknown name is an error, never a guess). The bulk updates an import runs over
//! 100,000 agents stay single statements, but their status literals are generated
//! from the one rule, [`status::next`], so the SQL cannot drift from it; the tests run
//! the generated SQL for every status and event and compare.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::agents::status::{self, AgentStatus, Event};

impl ToSql for AgentStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for AgentStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        AgentStatus::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown agent status {text:?}").into()))
    }
}

/// A status as an SQL string literal (the names are `[a-z_]`: nothing to escape).
fn literal(status: AgentStatus) -> String {
    format!("'{}'", status.as_str())
}

/// The statuses `event` changes.
fn changed_by(event: Event) -> impl Iterator<Item = AgentStatus> {
    AgentStatus::ALL
        .into_iter()
        .filter(move |s| status::next(*s, event) != *s)
}

/// `(...)`: the statuses `event` changes, for `status IN {}`.
pub(super) fn changed_by_sql(event: Event) -> String {
    let list: Vec<String> = changed_by(event).map(literal).collect();
    format!("({})", list.join(", "))
}

/// The SQL expression of an agent's status after `event`:
/// `CASE status WHEN 'a' THEN 'b' ... ELSE status END`, or the one status every
/// status goes to (cheaper over 100,000 rows).
pub(super) fn next_sql(event: Event) -> String {
    let first = status::next(AgentStatus::ALL[0], event);
    if AgentStatus::ALL
        .into_iter()
        .all(|s| status::next(s, event) == first)
    {
        return literal(first);
    }
    let arms: String = changed_by(event)
        .map(|s| {
            format!(
                " WHEN {} THEN {}",
                literal(s),
                literal(status::next(s, event))
            )
        })
        .collect();
    if arms.is_empty() {
        return "status".to_string();
    }
    format!("CASE status{arms} ELSE status END")
}

/// The SQL expression that is true for a status [`status::exportable`] accepts.
pub(super) fn exportable_sql() -> String {
    let list: Vec<String> = AgentStatus::ALL
        .into_iter()
        .filter(|s| status::exportable(*s))
        .map(literal)
        .collect();
    format!("status IN ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use rusqlite::{params, Connection};

    use super::*;

    fn sql_next(conn: &Connection, expr: &str, current: AgentStatus) -> AgentStatus {
        conn.query_row(
            &format!("SELECT {expr} FROM (SELECT ?1 AS status)"),
            [current],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn sql_true(conn: &Connection, expr: &str, current: AgentStatus) -> bool {
        conn.query_row(
            &format!("SELECT {expr} FROM (SELECT ?1 AS status)"),
            [current],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// The generated SQL gives, for every status and event, what `next` gives.
    #[test]
    fn generated_sql_agrees_with_the_rule() {
        let conn = Connection::open_in_memory().unwrap();
        for event in Event::all() {
            let next = next_sql(event);
            let changed = format!("status IN {}", changed_by_sql(event));
            for current in AgentStatus::ALL {
                let expected = status::next(current, event);
                assert_eq!(
                    sql_next(&conn, &next, current),
                    expected,
                    "{current} after {event:?}: {next}"
                );
                assert_eq!(
                    sql_true(&conn, &changed, current),
                    expected != current,
                    "{current} changed by {event:?}: {changed}"
                );
            }
        }
        let exportable = exportable_sql();
        for current in AgentStatus::ALL {
            assert_eq!(
                sql_true(&conn, &exportable, current),
                status::exportable(current),
                "{current}: {exportable}"
            );
        }
    }

    /// An agents table with agent i (1..=6) in the i-th status of `AgentStatus::ALL`,
    /// its status set at time 0 by a receipt, last named by import 1.
    fn agents_of_every_status() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE agents (id INTEGER PRIMARY KEY, server_id, name, guid, ip, domain,
                 mac, os, extra, status, status_changed, first_seen, last_seen,
                 last_import_id, last_line, list_ids, status_receipt)",
        )
        .unwrap();
        for (i, current) in (1..).zip(AgentStatus::ALL) {
            conn.execute(
                "INSERT INTO agents (id, server_id, name, guid, status, status_changed,
                     first_seen, last_seen, last_import_id, list_ids, status_receipt)
                 VALUES (?1, 1, ?1, '', ?2, 0, 0, 0, 1, '1', 'receipt')",
                params![i, current],
            )
            .unwrap();
        }
        conn
    }

    /// Agent `id`'s status, status time and status source.
    fn status_row(conn: &Connection, id: i64) -> (AgentStatus, i64, Option<String>) {
        conn.query_row(
            "SELECT status, status_changed, status_receipt FROM agents WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    }

    /// What a statement run at time `now` leaves when the event moves `current` on: a
    /// changed status gets the time and loses its receipt; an unchanged one keeps both.
    fn expected(
        current: AgentStatus,
        event: Event,
        now: i64,
    ) -> (AgentStatus, i64, Option<String>) {
        let next = status::next(current, event);
        if next == current {
            (current, 0, Some("receipt".to_string()))
        } else {
            (next, now, None)
        }
    }

    /// The import's statement for an agent a list names again, on every status.
    #[test]
    fn listing_again_in_sql_agrees_with_the_rule() {
        let conn = agents_of_every_status();
        let none = None::<String>;
        for (i, current) in (1..).zip(AgentStatus::ALL) {
            // ?1 agent, ?2..?8 name, GUID, IP, domain, MAC, OS, extra; ?9 now, ?10 the
            // import, ?11 the line.
            let values = params![i, "n", "", none, none, none, none, none, 5, 2, 1];
            conn.execute(&super::super::import::UPDATE_AGENT, values)
                .unwrap();
            assert_eq!(
                status_row(&conn, i),
                expected(current, Event::Listed, 5),
                "{current} listed again"
            );
        }
    }

    /// The import's statement for the agents a newer list does not name.
    #[test]
    fn absence_from_a_newer_list_in_sql_agrees_with_the_rule() {
        let conn = agents_of_every_status();
        let resolved = conn
            .execute(&super::super::import::RESOLVE_ABSENT, params![7, 1, 3])
            .unwrap();
        let changed = AgentStatus::ALL
            .into_iter()
            .filter(|s| status::next(*s, Event::AbsentFromNewerList) != *s)
            .count();
        assert_eq!(resolved, changed, "counted as resolved");
        for (i, current) in (1..).zip(AgentStatus::ALL) {
            assert_eq!(
                status_row(&conn, i),
                expected(current, Event::AbsentFromNewerList, 7),
                "{current} absent from a newer list"
            );
        }
    }

    /// The statement for an exported bundle: it always restarts the status's clock.
    #[test]
    fn an_export_in_sql_agrees_with_the_rule() {
        let conn = agents_of_every_status();
        for (i, current) in (1..).zip(AgentStatus::ALL) {
            conn.execute(&super::super::bundles::MARK_EXPORTED, params![9, i])
                .unwrap();
            assert_eq!(
                status_row(&conn, i),
                (status::next(current, Event::BundleExported), 9, None),
                "{current} exported"
            );
        }
    }

    #[test]
    fn an_unknown_status_in_the_database_is_an_error() {
        let conn = Connection::open_in_memory().unwrap();
        let err = conn
            .query_row("SELECT 'bogus'", [], |r| r.get::<_, AgentStatus>(0))
            .unwrap_err();
        assert!(
            matches!(err, rusqlite::Error::FromSqlConversionFailure(..)),
            "{err:?}"
        );
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = conn
            .query_row("SELECT 3", [], |r| r.get::<_, AgentStatus>(0))
            .unwrap_err();
        assert!(
            matches!(err, rusqlite::Error::InvalidColumnType(..)),
            "{err:?}"
        );
    }
}
