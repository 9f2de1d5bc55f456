#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The app and the CLI writing the same database at once: the window imports four
//! lists (one import job, through the command its drop handler calls); as soon as the
//! first of them is committed, four `certmend import` processes import four others into
//! the same file while the job goes on. Nothing may be lost: every list recorded once,
//! every agent present, the statuses those of the list that committed last, and
//! SQLite's integrity and foreign-key checks clean.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use certmend_e2e::{required_env, wait_until_ready, Driver};
use serde_json::json;

const INSTALL: &str = "demo-server/Program Files (x86)/Trend Micro/Apex One";
const LISTS: usize = 8;
const AGENTS: usize = 20_000;

fn list(k: usize) -> String {
    let mut text = String::from("Computer Name,IP Address,Domain\r\n");
    for i in 0..AGENTS {
        text.push_str(&format!(
            "L{k}-PC-{i:05},10.{k}.{}.{},DOMAIN{k}\r\n",
            i / 250,
            i % 250
        ));
    }
    text
}

fn sql(db: &Path, query: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(query)
        .output()
        .expect("sqlite3 (installed by cargo xtask test)");
    assert!(out.status.success(), "{query}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "current_thread")]
async fn the_app_and_the_cli_import_into_one_database_at_once() {
    let cli = required_env("CERTMEND_BIN");
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = data.path().join("shared.sqlite3");
    let driver = Driver::start(&[
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", root.path()),
        ("CERTMEND_DB", &db),
    ]);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;

    let lists: Vec<_> = (0..LISTS)
        .map(|k| {
            let path = data.path().join(format!("list-{k}.csv"));
            std::fs::write(&path, list(k)).unwrap();
            path
        })
        .collect();
    let install = data.path().join(INSTALL);

    let app_lists: Vec<String> = lists[LISTS / 2..]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let job = client
        .execute(
            "return window.__TAURI__.core.invoke('start_import', { paths: arguments[0] });",
            vec![json!(app_lists)],
        )
        .await
        .unwrap();
    assert!(job.is_u64(), "start_import answered {job}");
    // The window's job has committed its first list and is writing the next.
    let deadline = Instant::now() + Duration::from_secs(60);
    let committed = loop {
        let n: usize = sql(&db, "SELECT count(*) FROM list_imports")
            .parse()
            .unwrap();
        if n > 0 {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "the window's import did not start"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        committed < LISTS / 2,
        "the window's job ended before the CLI could start: make the lists longer"
    );
    let children: Vec<_> = lists[..LISTS / 2]
        .iter()
        .map(|list| {
            Command::new(&cli)
                .arg("--db")
                .arg(&db)
                .arg("import")
                .arg("--server")
                .arg(&install)
                .arg(list)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "certmend import: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while sql(&db, "SELECT count(*) FROM list_imports") != LISTS.to_string() {
        assert!(
            Instant::now() < deadline,
            "the window's import did not finish: {} lists recorded",
            sql(&db, "SELECT count(*) FROM list_imports")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    client.close().await.unwrap();

    // Every list once, every agent present.
    assert_eq!(
        sql(&db, "SELECT count(DISTINCT sha256) FROM list_imports"),
        LISTS.to_string()
    );
    assert_eq!(
        sql(&db, "SELECT count(*) FROM agents"),
        (LISTS * AGENTS).to_string()
    );
    for k in 0..LISTS {
        assert_eq!(
            sql(
                &db,
                &format!("SELECT count(*) FROM agents WHERE name LIKE 'L{k}-PC-%'")
            ),
            AGENTS.to_string(),
            "agents of list {k}"
        );
    }
    // A newer list resolves the agents it no longer names: whatever the order the
    // writers committed in, the agents still mismatched are exactly the last list's.
    let last = sql(
        &db,
        "SELECT file_name FROM list_imports ORDER BY id DESC LIMIT 1",
    );
    let k: usize = last
        .trim_start_matches("list-")
        .trim_end_matches(".csv")
        .parse()
        .unwrap();
    assert_eq!(
        sql(
            &db,
            "SELECT count(*) FROM agents WHERE status = 'mismatched'"
        ),
        AGENTS.to_string()
    );
    assert_eq!(
        sql(
            &db,
            &format!(
                "SELECT count(*) FROM agents WHERE status = 'mismatched' AND name LIKE 'L{k}-PC-%'"
            )
        ),
        AGENTS.to_string()
    );
    assert_eq!(
        sql(&db, "SELECT count(*) FROM agents WHERE status = 'resolved'"),
        ((LISTS - 1) * AGENTS).to_string()
    );
    assert_eq!(sql(&db, "PRAGMA integrity_check"), "ok");
    assert_eq!(sql(&db, "PRAGMA foreign_key_check"), "");
}
