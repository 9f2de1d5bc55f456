#![allow(clippy::unwrap_used, clippy::expect_used)]
// Xvfb, /proc memory figures and inotify: a Linux benchmark.
#![cfg(target_os = "linux")]
//! `cargo xtask bench-app`: the release app under Xvfb. A benchmark, not a test
//! (ignored unless asked for): it prints figures and asserts none.
//!
//! - start-up, in two parts: the app started by itself (no WebDriver, whose automation
//!   session adds ~0.6 s before the page loads) from its exec to the moment `open_server`
//!   opens the server's certificate (inotify), plus, in the page, from the call to
//!   `open_server` (a performance mark) to the card showing (`body[data-ready-at]`).
//!   The figure through WebDriver, from /proc start time to the card, is printed too;
//! - memory: the proportional set size (PSS, /proc/*/smaps_rollup) of the app and all
//!   its WebKit processes, with the Agents view open, with no agents and with 100,000;
//! - search: `agents_page` with a search over 100,000 agents, timed in the page
//!   (IPC and SQL), and the table showing the result after typing in the search box.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use certmend_e2e::{required_env, wait_until_ready, Client, Driver, Locator};

const INSTALL: &str = "demo-server/Program Files (x86)/Trend Micro/Apex One";

fn ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100.0)
}

/// Seconds since the epoch at which `pid` started.
fn start_time(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let ticks: f64 = rest.split(' ').nth(19).unwrap().parse().unwrap();
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    boot + ticks / ticks_per_second()
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(1)?.parse().ok()
}

/// The running app: the newest process whose executable is `app`.
fn app_pid(app: &Path) -> u32 {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app) {
            found.push((start_time(pid), pid));
        }
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    found.last().expect("the app is running").1
}

/// PSS in KiB of `root` and every process below it (and each one's, by name).
fn pss_tree(root: u32) -> u64 {
    pss_by_process(root).iter().map(|(_, kib)| kib).sum()
}

fn pss_by_process(root: u32) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let mut p = Some(pid);
        let mut below = false;
        while let Some(q) = p {
            if q == root {
                below = true;
                break;
            }
            if q <= 1 {
                break;
            }
            p = parent_of(q);
        }
        if !below {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                .to_string();
            found.push((name, kib));
        }
    }
    found
}

fn breakdown(root: u32) -> String {
    pss_by_process(root)
        .iter()
        .map(|(name, kib)| format!("{name} {:.1}", *kib as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn js_number(client: &Client, script: &str) -> f64 {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
        .as_f64()
        .unwrap_or(f64::NAN)
}

async fn open_agents_view(client: &Client) {
    client
        .find(Locator::Css("[data-testid=nav-agents]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
}

fn ms_list(seconds: &[f64]) -> String {
    seconds
        .iter()
        .map(|s| format!("{:.0}", s * 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts the app by itself (as an admin's double-click does) and returns the seconds
/// from its exec to the first open of a file in `folder` (the server's certificate,
/// which `open_server` reads once the page has loaded), seen through inotify.
fn exec_to_certificate_read(app: &Path, envs: &[(&str, &Path)], folder: &Path) -> f64 {
    use rustix::fs::inotify;
    let fd = inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).unwrap();
    inotify::add_watch(&fd, folder, inotify::WatchFlags::OPEN).unwrap();
    let mut command = Command::new(app);
    for (name, value) in envs {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [std::mem::MaybeUninit::uninit(); 4096];
    let seen = loop {
        let mut reader = inotify::Reader::new(&fd, &mut buf);
        if reader.next().is_ok() {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the app did not read {} within 20 s",
            folder.display()
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(300));
    seen.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "a benchmark: run it with cargo xtask bench-app"]
async fn startup_memory_and_search() {
    let app = required_env("CERTMEND_APP");
    let cli = required_env("CERTMEND_BIN");
    let list = required_env("CERTMEND_BENCH_LIST");
    let data = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let db = data.path().join("bench.sqlite3");
    let envs: [(&str, &Path); 3] = [
        ("CERTMEND_DATA_DIR", data.path()),
        ("CERTMEND_ROOT", root.path()),
        ("CERTMEND_DB", &db),
    ];
    let mut report = String::new();
    let mut say = |line: String| {
        println!("{line}");
        report.push_str(&line);
        report.push('\n');
    };

    // Start-up through WebDriver, five times (the first also writes the demo server).
    let mut startups = Vec::new();
    let mut in_page = Vec::new();
    for run in 0..6 {
        let driver = Driver::start(&envs);
        let client = driver.open_app().await;
        wait_until_ready(&client).await;
        let ready_at = js_number(&client, "return Number(document.body.dataset.readyAt)").await;
        let page_start = js_number(&client, "return performance.timeOrigin").await;
        let open_server = js_number(
            &client,
            "return performance.timeOrigin + performance.getEntriesByName('open-server')[0].startTime",
        )
        .await;
        let started = start_time(app_pid(&app));
        if run > 0 {
            startups.push(ready_at / 1000.0 - started);
            in_page.push((ready_at - open_server) / 1000.0);
            println!(
                "  run {run}: process start → page load {:.0} ms, page load → server card {:.0} ms",
                (page_start / 1000.0 - started) * 1000.0,
                ready_at - page_start
            );
        }
        client.close().await.unwrap();
    }
    say(format!(
        "start-up through WebDriver (automation session included), process start to the server card: median {:.0} ms (runs: {})",
        median(startups.clone()) * 1000.0,
        ms_list(&startups)
    ));
    let certificate = data.path().join(INSTALL).join("PCCSRV/Pccnt/Common");
    let alone: Vec<f64> = (0..6)
        .map(|_| exec_to_certificate_read(&app, &envs, &certificate))
        .skip(1)
        .collect();
    say(format!(
        "start-up by itself: exec to open_server reading the certificate median {:.0} ms (runs: {}); open_server to the card {:.0} ms (runs: {}); together {:.0} ms",
        median(alone.clone()) * 1000.0,
        ms_list(&alone),
        median(in_page.clone()) * 1000.0,
        ms_list(&in_page),
        (median(alone) + median(in_page)) * 1000.0
    ));

    // Memory with no agents.
    let empty = {
        let driver = Driver::start(&envs);
        let client = driver.open_app().await;
        wait_until_ready(&client).await;
        open_agents_view(&client).await;
        let kib = pss_tree(app_pid(&app));
        println!("  empty, by process (MB): {}", breakdown(app_pid(&app)));
        client.close().await.unwrap();
        kib
    };

    // 100,000 agents, imported with the CLI into the app's database.
    let install: PathBuf = data.path().join(INSTALL);
    let started = Instant::now();
    let status = Command::new(&cli)
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg("--server")
        .arg(&install)
        .arg(&list)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "import of the benchmark list");
    say(format!(
        "(100,000 agents imported by the CLI in {:.1} s)",
        started.elapsed().as_secs_f64()
    ));

    let driver = Driver::start(&envs);
    let client = driver.open_app().await;
    wait_until_ready(&client).await;
    open_agents_view(&client).await;
    // Scroll through the table a little, as a person would.
    for top in [2000, 40_000, 800_000, 0] {
        client
            .execute(
                &format!(
                    "const t = document.querySelector('[data-testid=agents-table]'); if (t) {{ const s = t.closest('[data-scroll]') || t.parentElement; s.scrollTop = {top}; }}"
                ),
                vec![],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let loaded = pss_tree(app_pid(&app));
    println!("  100,000, by process (MB): {}", breakdown(app_pid(&app)));
    say(format!(
        "memory (PSS of the app and its WebKit processes, Agents view): {:.1} MB empty, {:.1} MB with 100,000 agents: +{:.1} MB",
        empty as f64 / 1024.0,
        loaded as f64 / 1024.0,
        (loaded as f64 - empty as f64) / 1024.0
    ));

    // Search, through the command the table uses.
    let mut searches = Vec::new();
    for query in [
        "PC-09999",
        "10.1.",
        "DOMAIN07",
        "nothing-matches",
        "pc-0",
        "a1b2",
    ] {
        let ms = js_number(
            &client,
            &format!(
                "const t = performance.now(); return window.__TAURI__.core.invoke('agents_page', {{request: {{search: '{query}', offset: 0, limit: 60}}}}).then(() => performance.now() - t);"
            ),
        )
        .await;
        searches.push(ms);
    }
    say(format!(
        "search over 100,000 agents (agents_page, IPC + SQL): median {:.1} ms (runs: {})",
        median(searches.clone()),
        searches
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    client.close().await.unwrap();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.txt"), report).unwrap();
}
