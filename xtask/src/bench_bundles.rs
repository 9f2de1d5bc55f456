//! `cargo xtask bench-bundles`: 1,000 repair bundles with IpXfer stand-ins of realistic
//! size (1.5 MiB each) exported to a local folder by the release `certmend`, including
//! its read-back verification, against `cp -r` of the very bytes it wrote, in the same
//! run. Reports wall time (median and min of the runs), throughput and peak memory (GNU
//! time's maximum resident set size). A benchmark, not a test: it prints figures against
//! the targets (≤ 1.3× `cp -r`, < 64 MB) and asserts none.
//!
//! Everything it writes lives in target/bench-bundles/; all but report.txt is removed at
//! the end (the bundles and their copy take about 3 GB each).

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{list_text, measure, median, parse, Options};
use crate::{cargo, ensure_packages, status, workspace_root, Result};

/// Size of each IpXfer stand-in.
const IPXFER_SIZE: usize = 1536 * 1024;
/// The targets from the issue.
const TARGET_RATIO: f64 = 1.3;
const TARGET_PEAK_MB: f64 = 64.0;

/// Deterministic pseudo-random bytes (incompressible, like a real executable roughly is).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

fn remove_dir(path: &Path) -> Result {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Flushes every dirty page, so one step's writeback does not land in the next; timed.
fn sync() -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new("sync")
        .status()
        .map_err(|e| format!("sync: {e}"))?;
    if !status.success() {
        return Err(format!("sync failed ({status})"));
    }
    Ok(start.elapsed())
}

/// Files, folders (one level down: the bundles) and bytes under `dir`.
fn tree_size(dir: &Path) -> Result<(u64, usize, u64)> {
    let (mut files, mut folders, mut bytes) = (0u64, 0usize, 0u64);
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((path, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?;
            let meta = entry
                .metadata()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.is_dir() {
                if depth == 0 {
                    folders += 1;
                }
                stack.push((entry.path(), depth + 1));
            } else {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    Ok((files, folders, bytes))
}

struct Series {
    times: Vec<Duration>,
    peak_kib: u64,
}

impl Series {
    fn new() -> Self {
        Series {
            times: Vec::new(),
            peak_kib: 0,
        }
    }

    fn push(&mut self, (time, rss): (Duration, u64)) {
        self.times.push(time);
        self.peak_kib = self.peak_kib.max(rss);
    }

    fn median(&self) -> Duration {
        median(self.times.clone())
    }

    fn min(&self) -> Duration {
        self.times.iter().min().copied().unwrap_or(Duration::ZERO)
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn each_run(times: &[Duration]) -> String {
    let parts: Vec<String> = times.iter().map(|t| format!("{:.2}", secs(*t))).collect();
    parts.join(" ")
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

pub fn bundles(args: &[String]) -> Result {
    let options = parse(
        "bench-bundles",
        args,
        Options {
            agents: 1000,
            runs: 5,
        },
    )?;
    ensure_packages(&["time"])?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "certmend-cli"]);
    status(build, "cargo build --release -p certmend-cli")?;

    let dir = workspace_root().join("target/bench-bundles");
    // A fresh database and drive every time; an earlier report is replaced at the end.
    remove_dir(&dir)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = run(&options, &dir);
    // Leave the disk as found: only the report stays.
    let mut cleanup = Ok(());
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.file_name() == "report.txt" {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            remove_dir(&path)
        } else {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        if cleanup.is_ok() {
            cleanup = removed;
        }
    }
    result.and(cleanup)
}

fn run(options: &Options, dir: &Path) -> Result {
    let certmend = workspace_root().join("target/release/certmend");
    let db = dir.join("bench.sqlite3");

    let drive = dir.join("drive");
    let mut demo = Command::new(&certmend);
    demo.arg("--db")
        .arg(dir.join("setup.sqlite3"))
        .arg("demo")
        .arg(&drive)
        .args(["--seed", "1", "--force"])
        .stdout(Stdio::null());
    status(demo, "certmend demo (the server the bundles are for)")?;
    let install: PathBuf = drive.join("Program Files (x86)/Trend Micro/Apex One");

    let list = dir.join("list.csv");
    std::fs::write(&list, list_text(options.agents)).map_err(|e| e.to_string())?;
    let mut import = Command::new(&certmend);
    import
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg("--server")
        .arg(&install)
        .arg(&list)
        .stdout(Stdio::null());
    status(
        import,
        &format!("certmend import ({} agents)", options.agents),
    )?;

    let ipxfer = dir.join("ipxfer");
    std::fs::create_dir_all(&ipxfer).map_err(|e| format!("{}: {e}", ipxfer.display()))?;
    for (name, seed) in [
        ("IpXfer.exe", 0x9E37_79B9_7F4A_7C15),
        ("IpXfer_x64.exe", 0xD1B5_4A32_D192_ED03),
    ] {
        let path = ipxfer.join(name);
        std::fs::write(&path, noise(IPXFER_SIZE, seed))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }

    let out = dir.join("out");
    let copy = dir.join("copy");
    let export: Vec<&OsStr> = vec![
        certmend.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
        "bundle".as_ref(),
        "--server".as_ref(),
        install.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--all-mismatched".as_ref(),
        "--ipxfer-dir".as_ref(),
        ipxfer.as_os_str(),
    ];
    let cp: Vec<&OsStr> = vec![
        "cp".as_ref(),
        "-r".as_ref(),
        out.as_os_str(),
        copy.as_os_str(),
    ];

    let mut certmend_series = Series::new();
    let mut cp_series = Series::new();
    let mut cp_sync = Vec::new();
    let mut size = None;
    for run in 1..=options.runs {
        eprintln!("xtask: run {run}/{}", options.runs);
        remove_dir(&out)?;
        remove_dir(&copy)?;
        sync()?;
        certmend_series
            .push(measure(&export).map_err(|e| format!("bench-bundles: the export failed: {e}"))?);
        let (files, folders, bytes) = tree_size(&out)?;
        if folders != options.agents {
            return Err(format!(
                "bench-bundles: the export wrote {folders} bundle folders, expected {}",
                options.agents
            ));
        }
        size = Some((files, folders, bytes));
        sync()?;
        let (t, rss) = measure(&cp).map_err(|e| format!("bench-bundles: cp -r failed: {e}"))?;
        cp_series.push((t, rss));
        // The sync before the next step; timed, since certmend's files are flushed
        // (fsync) and cp's are not.
        cp_sync.push(t + sync()?);
    }
    remove_dir(&out)?;
    remove_dir(&copy)?;

    let (files, folders, bytes) = size.unwrap_or_default();
    let cm = certmend_series.median();
    let cpm = cp_series.median();
    let cpsm = median(cp_sync.clone());
    let ratio = cm.as_secs_f64() / cpm.as_secs_f64().max(1e-9);
    let peak_mb = certmend_series.peak_kib as f64 / 1024.0;
    let mut report = String::new();
    let _ = writeln!(
        report,
        "{folders} bundles ({files} files, {bytes} bytes; IpXfer stand-ins {IPXFER_SIZE} bytes each), \
         {} runs each, median wall time (min), throughput, peak RSS",
        options.runs
    );
    let _ = writeln!(
        report,
        "  certmend bundle (incl. read-back) {:>7.2} s ({:.2})  {:>7.1} MB/s  {:>6.1} MB",
        secs(cm),
        secs(certmend_series.min()),
        mb_per_s(bytes, cm),
        peak_mb
    );
    let _ = writeln!(
        report,
        "  cp -r                             {:>7.2} s ({:.2})  {:>7.1} MB/s  {:>6.1} MB",
        secs(cpm),
        secs(cp_series.min()),
        mb_per_s(bytes, cpm),
        cp_series.peak_kib as f64 / 1024.0
    );
    let _ = writeln!(
        report,
        "  cp -r, then sync                  {:>7.2} s ({:.2})  {:>7.1} MB/s",
        secs(cpsm),
        secs(*cp_sync.iter().min().unwrap_or(&Duration::ZERO)),
        mb_per_s(bytes, cpsm)
    );
    let _ = writeln!(
        report,
        "  ratio certmend / cp -r            {ratio:.2}x (target <= {TARGET_RATIO}x: {}); \
         / (cp -r + sync) {:.2}x",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        },
        cm.as_secs_f64() / cpsm.as_secs_f64().max(1e-9)
    );
    let _ = writeln!(
        report,
        "  peak RSS certmend                 {peak_mb:.1} MB (target < {TARGET_PEAK_MB} MB: {})",
        if peak_mb < TARGET_PEAK_MB {
            "met"
        } else {
            "NOT met"
        }
    );
    let _ = writeln!(
        report,
        "  each run (s): certmend {}; cp -r {}; cp -r + sync {}",
        each_run(&certmend_series.times),
        each_run(&cp_series.times),
        each_run(&cp_sync)
    );
    print!("{report}");
    std::fs::write(dir.join("report.txt"), &report).map_err(|e| e.to_string())?;
    Ok(())
}
