//! `cargo xtask bench-import`: a 100,000-agent list imported into a fresh database by the
//! release `certmend`, against the sqlite3 shell's `.import --csv` of the same CSV, in
//! the same run. Reports wall time (median of the runs) and peak memory (GNU time's
//! maximum resident set size). A benchmark, not a test: it prints figures, asserts none.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{cargo, ensure_packages, status, workspace_root, Result};

/// `--agents N --runs N`, shared by the benchmarks.
pub(crate) struct Options {
    pub(crate) agents: usize,
    pub(crate) runs: usize,
}

/// Parses `--agents N --runs N` over the given defaults; `name` goes into errors.
pub(crate) fn parse(name: &str, args: &[String], defaults: Options) -> Result<Options> {
    let mut options = defaults;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it
            .next()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0);
        match (arg.as_str(), value) {
            ("--agents", Some(v)) => options.agents = v,
            ("--runs", Some(v)) => options.runs = v,
            _ => return Err(format!("{name}: bad argument {arg}")),
        }
    }
    Ok(options)
}

/// A CertificateManager-style list: deterministic names, IPs, GUIDs and MACs.
pub(crate) fn list_text(agents: usize) -> String {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::from("Computer Name,IP Address,Domain,GUID,MAC Address,OS\r\n");
    for i in 0..agents {
        let (a, b) = (next(), next());
        let _ = write!(
            text,
            "PC-{i:06},10.{}.{}.{},DOMAIN{:02},{:08x}-{:04x}-{:04x}-{:04x}-{:012x},{:012X},Windows 10 Enterprise\r\n",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff,
            i % 20,
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff,
            next() & 0xffff_ffff_ffff,
        );
    }
    text
}

/// Runs `cmd` under GNU time; returns wall time and peak RSS in KiB.
pub(crate) fn measure(cmd: &[&std::ffi::OsStr]) -> Result<(Duration, u64)> {
    let mut time = Command::new("/usr/bin/time");
    time.arg("-f").arg("%M").args(cmd);
    let start = Instant::now();
    let output = time.output().map_err(|e| format!("/usr/bin/time: {e}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("no peak memory in: {stderr}"))?;
    Ok((elapsed, rss))
}

pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

pub fn import(args: &[String]) -> Result {
    let options = parse(
        "bench-import",
        args,
        Options {
            agents: 100_000,
            runs: 5,
        },
    )?;
    ensure_packages(&["sqlite3", "time"])?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "certmend-cli"]);
    status(build, "cargo build --release -p certmend-cli")?;

    let root = workspace_root();
    let certmend = root.join("target/release/certmend");
    let dir = root.join("target/bench-import");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let text = list_text(options.agents);
    let utf8 = dir.join("list-utf8.csv");
    let utf16 = dir.join("list-utf16le.csv");
    std::fs::write(&utf8, &text).map_err(|e| e.to_string())?;
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(&utf16, bytes).map_err(|e| e.to_string())?;

    let drive = dir.join("drive");
    let mut demo = Command::new(&certmend);
    demo.arg("--db")
        .arg(dir.join("setup.sqlite3"))
        .arg("demo")
        .arg(&drive)
        .args(["--seed", "1", "--force"])
        .stdout(std::process::Stdio::null());
    status(demo, "certmend demo (the server the lists belong to)")?;
    let install: PathBuf = drive.join("Program Files (x86)/Trend Micro/Apex One");

    let db = dir.join("bench.sqlite3");
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{} agents, {} runs each, median wall time (min) and peak RSS",
        options.agents, options.runs
    );
    let mut sqlite_median = Duration::ZERO;
    {
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..options.runs {
            remove_db(&db);
            let import = format!(".import --csv {} agents", utf8.display());
            let (t, rss) = measure(&["sqlite3".as_ref(), db.as_os_str(), import.as_ref()])?;
            times.push(t);
            peak = peak.max(rss);
        }
        let min = *times.iter().min().unwrap_or(&Duration::ZERO);
        sqlite_median = sqlite_median.max(median(times));
        let _ = writeln!(
            report,
            "  sqlite3 .import --csv (UTF-8)   {:>7.1} ms ({:.1})  {:>6.1} MB",
            sqlite_median.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            peak as f64 / 1024.0
        );
    }
    for (label, file) in [("UTF-8", &utf8), ("UTF-16LE", &utf16)] {
        let mut times = Vec::new();
        let mut peak = 0;
        for _ in 0..options.runs {
            remove_db(&db);
            // The server is read (and recorded) first; only the import is timed.
            let mut setup = Command::new(&certmend);
            setup
                .arg("--db")
                .arg(&db)
                .args(["server", "show"])
                .arg(&install)
                .stdout(std::process::Stdio::null());
            status(setup, "certmend server show")?;
            let (t, rss) = measure(&[
                certmend.as_os_str(),
                "--db".as_ref(),
                db.as_os_str(),
                "--json".as_ref(),
                "import".as_ref(),
                file.as_os_str(),
            ])?;
            times.push(t);
            peak = peak.max(rss);
        }
        let min = *times.iter().min().unwrap_or(&Duration::ZERO);
        let med = median(times);
        let _ = writeln!(
            report,
            "  certmend import ({label:<8})      {:>7.1} ms ({:.1})  {:>6.1} MB   {:.2}x sqlite3",
            med.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            peak as f64 / 1024.0,
            med.as_secs_f64() / sqlite_median.as_secs_f64().max(1e-9)
        );
    }
    print!("{report}");
    std::fs::write(dir.join("report.txt"), &report).map_err(|e| e.to_string())?;
    Ok(())
}
