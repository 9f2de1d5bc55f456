//! `cargo xtask bench-receipts [--receipts N] [--runs N] [--keep]`: the release `certmend
//! receipts DIR` reading N receipt files (10,000 by default; one computer each, a
//! REPAIRED line as repair.cmd writes it) from the `receipts\` of an export of N bundles,
//! into a database that has read none of them (each run starts from a copy of the same
//! one), then once more with every line already read. Reports wall time (median and min
//! of the runs) and peak memory (GNU time's maximum resident set size) against the
//! target (under 2 s for 10,000 files). A benchmark, not a test: it prints figures and
//! asserts none.
//!
//! Everything lives in `<target>/bench-receipts/`; all but report.txt is removed at the
//! end (the export of 10,000 bundles takes a few hundred MB), unless `--keep` is given.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bench::{list_text, measure, median};
use crate::{cargo, ensure_packages, status, workspace_root, Result};

/// The target for 10,000 receipt files.
const TARGET_SECONDS: f64 = 2.0;

struct Options {
    receipts: usize,
    runs: usize,
    /// Leave the export and the databases in place (to profile a read).
    keep: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        receipts: 10_000,
        runs: 5,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--keep" {
            options.keep = true;
            continue;
        }
        let value = it
            .next()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0);
        match (arg.as_str(), value) {
            ("--receipts", Some(v)) => options.receipts = v,
            ("--runs", Some(v)) => options.runs = v,
            _ => return Err(format!("bench-receipts: bad argument {arg}")),
        }
    }
    Ok(options)
}

/// Where cargo puts its builds (CARGO_TARGET_DIR, else the workspace's `target`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn remove_dir(path: &Path) -> Result {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn receipts(args: &[String]) -> Result {
    let options = parse(args)?;
    ensure_packages(&["time"])?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "certmend-cli"]);
    status(build, "cargo build --release -p certmend-cli")?;

    let dir = target_dir().join("bench-receipts");
    remove_dir(&dir)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = run(&options, &dir);
    if options.keep {
        eprintln!("xtask: kept {}", dir.display());
        return result;
    }
    // Only the report stays.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.file_name() != "report.txt" {
            let path = entry.path();
            let _ = if path.is_dir() {
                remove_dir(&path)
            } else {
                std::fs::remove_file(&path).map_err(|e| e.to_string())
            };
        }
    }
    result
}

/// A receipt line as repair.cmd writes it (every field, values quoted).
fn receipt_line(computer: &str, bundle: &str, run: usize, after: &str) -> String {
    let before = "AB".repeat(32);
    format!(
        "certmend-receipt=1;computer=\"{computer}\";bundle=\"{bundle}\";run=\"{run}\";\
         date=\"Wed 11/25/2026\";time=\" 9:01:02.03\";mode=\"repair\";ipxfer=\"IpXfer_x64.exe\";\
         ipxfer_exit=\"0\";before=\"{before}\";after=\"{after}\";check=\"sha256\";thumbprint=\"\";\
         service=\"running\";waited=\"3\";server=\"\";name_check=\"match\";guid_check=\"match\";\
         tampered=\"\";result=\"REPAIRED\"\r\n"
    )
}

/// The demo server, N agents imported, N bundles exported to `<dir>/share` (IpXfer
/// stand-ins of 1 KiB, shared tools); the database as it stands then.
fn set_up(certmend: &Path, dir: &Path, n: usize) -> Result<(PathBuf, PathBuf)> {
    let drive = dir.join("drive");
    let mut demo = Command::new(certmend);
    demo.arg("--db")
        .arg(dir.join("demo.sqlite3"))
        .arg("demo")
        .arg(&drive)
        .args(["--seed", "1", "--force"])
        .stdout(Stdio::null());
    status(demo, "certmend demo (the server the receipts belong to)")?;
    let install = drive.join("Program Files (x86)/Trend Micro/Apex One");
    let db = dir.join("setup.sqlite3");
    let list = dir.join("list.csv");
    std::fs::write(&list, list_text(n)).map_err(|e| e.to_string())?;
    let mut import = Command::new(certmend);
    import
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg("--server")
        .arg(&install)
        .arg(&list)
        .stdout(Stdio::null());
    status(import, &format!("certmend import ({n} agents)"))?;
    let tools = dir.join("ipxfer");
    std::fs::create_dir_all(&tools).map_err(|e| e.to_string())?;
    for name in ["IpXfer.exe", "IpXfer_x64.exe"] {
        std::fs::write(tools.join(name), vec![b'M'; 1024]).map_err(|e| e.to_string())?;
    }
    let share = dir.join("share");
    let report = dir.join("export.json");
    let file = std::fs::File::create(&report).map_err(|e| e.to_string())?;
    let mut export = Command::new(certmend);
    export
        .arg("--db")
        .arg(&db)
        .args([
            "--json",
            "bundle",
            "--all-mismatched",
            "--shared-tools",
            "--server",
        ])
        .arg(&install)
        .arg("--ipxfer-dir")
        .arg(&tools)
        .arg("--out")
        .arg(&share)
        .stdout(file);
    status(export, &format!("certmend bundle ({n} bundles)"))?;
    write_receipts(&share, &report)?;
    Ok((db, share))
}

/// One receipt file per bundle of the export report, named after its computer.
fn write_receipts(share: &Path, report: &Path) -> Result {
    let text = std::fs::read_to_string(report).map_err(|e| e.to_string())?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let folder = share.join("receipts");
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let bundles = report["bundles"].as_array().cloned().unwrap_or_default();
    for (i, b) in bundles.iter().enumerate() {
        let agent = b["agent"]["name"].as_str().unwrap_or_default();
        let id = b["bundle_id"].as_str().unwrap_or_default();
        let cert = b["files"]
            .as_array()
            .and_then(|files| files.iter().find(|f| f["name"] == "OfcNTCer.dat"))
            .and_then(|f| f["sha256"].as_str())
            .unwrap_or_default();
        let path = folder.join(format!("{agent}.txt"));
        std::fs::write(&path, receipt_line(agent, id, i, cert))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `certmend receipts` on `db` (a fresh copy of it with `fresh`): wall time and peak RSS.
fn read_once(certmend: &Path, db: &Path, share: &Path, fresh: bool) -> Result<(Duration, u64)> {
    let run_db = db.with_file_name("run.sqlite3");
    if fresh {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", run_db.display()));
        }
        std::fs::copy(db, &run_db).map_err(|e| e.to_string())?;
    }
    let cmd = [
        certmend.as_os_str(),
        "--db".as_ref(),
        run_db.as_os_str(),
        "receipts".as_ref(),
        share.as_os_str(),
    ];
    measure(&cmd)
}

fn run(options: &Options, dir: &Path) -> Result {
    let certmend = target_dir().join("release/certmend");
    let (db, share) = set_up(&certmend, dir, options.receipts)?;
    let (mut first, mut again) = (Vec::new(), Vec::new());
    let (mut peak_first, mut peak_again) = (0, 0);
    for run in 1..=options.runs {
        eprintln!("xtask: run {run}/{}", options.runs);
        let (t, rss) = read_once(&certmend, &db, &share, true)?;
        first.push(t);
        peak_first = peak_first.max(rss);
        let (t, rss) = read_once(&certmend, &db, &share, false)?;
        again.push(t);
        peak_again = peak_again.max(rss);
    }
    // What the last read applied, from a read of its own (not timed).
    let check_db = dir.join("check.sqlite3");
    std::fs::copy(&db, &check_db).map_err(|e| e.to_string())?;
    let output = Command::new(&certmend)
        .arg("--db")
        .arg(&check_db)
        .args(["--json", "receipts"])
        .arg(&share)
        .output()
        .map_err(|e| e.to_string())?;
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let count = |key: &str| summary[key].as_array().map_or(0, Vec::len);

    let secs = |d: Duration| d.as_secs_f64();
    let each = |v: &[Duration]| {
        v.iter()
            .map(|t| format!("{:.2}", secs(*t)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let med = secs(median(first.clone()));
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{} receipt files (one REPAIRED line each) under {} bundles, {} runs each, median wall time (min), peak RSS",
        options.receipts, options.receipts, options.runs
    );
    let _ = writeln!(
        report,
        "  certmend receipts, first read   {:>6.2} s ({:.2})  {:>6.1} MB  target < {TARGET_SECONDS} s: {}",
        med,
        secs(*first.iter().min().unwrap_or(&Duration::ZERO)),
        peak_first as f64 / 1024.0,
        if med < TARGET_SECONDS { "met" } else { "NOT met" }
    );
    let _ = writeln!(
        report,
        "  certmend receipts, read again   {:>6.2} s ({:.2})  {:>6.1} MB",
        secs(median(again.clone())),
        secs(*again.iter().min().unwrap_or(&Duration::ZERO)),
        peak_again as f64 / 1024.0
    );
    let _ = writeln!(
        report,
        "  one read: {} files, {} lines, {} applied, {} unknown, {} malformed, {} disagreeing, {} bundle findings",
        summary["files"],
        summary["lines"],
        count("applied"),
        count("unknown_bundles"),
        count("malformed"),
        count("disagreeing"),
        summary["bundle_check"]["findings"].as_array().map_or(0, Vec::len)
    );
    let _ = writeln!(
        report,
        "  each run (s): first {}; again {}",
        each(&first),
        each(&again)
    );
    print!("{report}");
    std::fs::write(dir.join("report.txt"), &report).map_err(|e| e.to_string())?;
    Ok(())
}
