#![allow(clippy::unwrap_used, clippy::expect_used)]
// Signals, tmpfs mounts and process groups: the faults are injected the Unix way (the
// Windows build's own behaviour under Wine is in tests/wine).
#![cfg(unix)]
//! Fault injection, black-box against the built `certmend`: exports, backups and
//! restore kits SIGKILLed at random moments (seeded: every test prints its seed, and
//! `CERTMEND_FAULT_SEED=N` repeats a run), a stick or server disk that is or becomes
//! full (small tmpfs mounts), the database on a full disk, a database locked by
//! another process, a read-only stick, a stick pulled out midway, and several
//! processes writing one database at once.
//!
//! After each fault: the files certmend promised are intact (hashes recomputed here,
//! key-pair files compared byte for byte), nothing half-written is left where it could
//! be taken for real, `PRAGMA integrity_check` says ok, and the next run repairs what
//! was left. No run may panic.
//!
//! Mounting needs root (CI runs as root); where mounting is not permitted those tests
//! say SKIPPED on stderr and pass. Every mount is unmounted by a guard, even on failure.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;

#[cfg(target_os = "linux")]
use common::mount_tmpfs;
use common::{
    bundle_folders, check_bundle, ipxfer_stand_ins, json, list_csv, names_in, numbered, receipt,
    sha256_hex, temp_folders, write_demo, DEMO_AGENTS, DEMO_LIST, INSTALL, SERVER_CERT,
    TEMP_PREFIX,
};

const SERVER_PAIR: &str = "AuthCertBackup/OfficeScanAuth.dat";
const PREVIOUS_PAIR: &str = "key-pairs/previous-OfficeScanAuth.pfx";
const DEMO_PASSWORD: &str = "certmend-demo-keys";
const NEW_PASSWORD: &str = "a-new-backup-password-2024";
/// Environment variables that would change what certmend reads or where it writes.
const CERTMEND_VARS: [&str; 7] = [
    "CERTMEND_DB",
    "CERTMEND_PASSWORD",
    "CERTMEND_NEW_PASSWORD",
    "CERTMEND_AGENT_PASSWORD",
    "CERTMEND_ROOT",
    "CERTMEND_DATA_DIR",
    "XDG_DATA_HOME",
];
const POLL: Duration = Duration::from_millis(1);
/// Longest any single wait of these tests may take before it is a failure.
const PATIENCE: Duration = Duration::from_secs(60);

macro_rules! args {
    ($($a:expr),* $(,)?) => {
        Vec::<OsString>::from([$(OsString::from(AsRef::<OsStr>::as_ref(&$a))),*])
    };
}

// ---------------------------------------------------------------------------------------
// Seeded randomness

/// splitmix64, seeded from `CERTMEND_FAULT_SEED` or the clock; the seed is printed.
struct Rng {
    seed: u64,
    state: u64,
}

impl Rng {
    fn new(test: &str) -> Self {
        let seed = std::env::var("CERTMEND_FAULT_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                (nanos as u64) ^ u64::from(std::process::id())
            });
        eprintln!(
            "{test}: seed {seed} (CERTMEND_FAULT_SEED={seed} repeats the same fault choices)"
        );
        Rng { seed, state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// The world of one test

struct World {
    tmp: tempfile::TempDir,
    root: PathBuf,
    install: PathBuf,
    db: PathBuf,
    data: PathBuf,
}

impl World {
    /// A demo server (`--seed seed`) under `<tmp>/drive`, a state database and a data
    /// folder of its own.
    fn new(seed: u64) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("state.sqlite3");
        Self::with_db(tmp, seed, db)
    }

    fn with_db(tmp: tempfile::TempDir, seed: u64, db: PathBuf) -> Self {
        let root = tmp.path().join("drive");
        let install = write_demo(&root, seed, &tmp.path().join("demo.sqlite3"));
        fs::create_dir_all(tmp.path().join("lists")).unwrap();
        fs::create_dir_all(tmp.path().join("logs")).unwrap();
        for (name, password) in [("demo.pw", DEMO_PASSWORD), ("new.pw", NEW_PASSWORD)] {
            let path = tmp.path().join(name);
            fs::write(&path, format!("{password}\n")).unwrap();
            // certmend refuses a password file others can read (Unix).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        World {
            data: tmp.path().join("data"),
            root,
            install,
            db,
            tmp,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn demo_pw(&self) -> PathBuf {
        self.path("demo.pw")
    }

    fn new_pw(&self) -> PathBuf {
        self.path("new.pw")
    }

    /// `certmend --db <db> ARGS` with nothing from the caller's environment.
    fn std_cmd(&self, args: &[OsString]) -> StdCommand {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_certmend"));
        for var in CERTMEND_VARS {
            cmd.env_remove(var);
        }
        cmd.env("CERTMEND_DATA_DIR", &self.data)
            .env("XDG_DATA_HOME", self.path("xdg"))
            .env_remove("RUST_BACKTRACE")
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs certmend to the end; asserts it did not panic.
    fn output(&self, args: &[OsString]) -> Output {
        let output = Command::from_std(self.std_cmd(args)).output().unwrap();
        assert_no_panic(&output.stderr, &format!("certmend {args:?}"));
        output
    }

    /// Runs certmend expecting exit `code`.
    fn run(&self, args: &[OsString], code: i32) -> Output {
        let output = self.output(args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "certmend {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Starts certmend in the background, stderr into a log file.
    fn spawn(&self, args: &[OsString]) -> Running {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = self.path(&format!("logs/{n}.stderr"));
        let child = self
            .std_cmd(args)
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Running {
            child,
            log,
            what: format!("certmend {args:?}"),
        }
    }

    fn import(&self, install: &Path, list: &Path) -> Value {
        json(&self.run(&args!["--json", "import", list, "--server", install], 0))
    }

    /// Writes a list of `names` (the demo's format) into `<tmp>/lists/FILE`.
    fn write_list(&self, file: &str, names: &[String]) -> PathBuf {
        let path = self.path("lists").join(file);
        fs::write(&path, list_csv(names)).unwrap();
        path
    }

    fn import_names(&self, file: &str, names: &[String]) {
        let report = self.import(&self.install, &self.write_list(file, names));
        assert_eq!(report["agents"], names.len() as u64, "{report}");
    }

    fn bundle_args(&self, out: &Path, ipxfer: &Path) -> Vec<OsString> {
        args![
            "bundle",
            "--server",
            self.install,
            "--out",
            out,
            "--all-mismatched",
            "--ipxfer-dir",
            ipxfer
        ]
    }

    /// A whole export that must succeed: its report.
    fn export(&self, out: &Path, ipxfer: &Path) -> Value {
        let mut a = args!["--json"];
        a.extend(self.bundle_args(out, ipxfer));
        json(&self.run(&a, 0))
    }

    /// Agent name -> status (all servers; names are distinct in these tests).
    fn statuses(&self) -> BTreeMap<String, String> {
        self.statuses_of(None)
    }

    fn statuses_of(&self, server: Option<&Path>) -> BTreeMap<String, String> {
        let mut a = args!["--json", "agents"];
        if let Some(server) = server {
            a.extend(args!["--server", server]);
        }
        let doc = json(&self.run(&a, 0));
        let agents = doc["agents"].as_array().unwrap();
        let map: BTreeMap<String, String> = agents
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(map.len(), agents.len(), "agent names are not distinct");
        map
    }

    fn backups(&self) -> Vec<Value> {
        json(&self.run(&args!["--json", "backup", "list"], 0))["backups"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// `backup create --legacy`: the default encryption's 600,000 key-derivation rounds
    /// take seconds in a debug build, too slow to kill it again and again.
    fn backup_create_args(&self, install: &Path, out: &Path) -> Vec<OsString> {
        args![
            "--json",
            "backup",
            "create",
            "--server",
            install,
            "--out",
            out,
            "--legacy",
            "--password-file",
            self.demo_pw(),
            "--new-password-file",
            self.new_pw()
        ]
    }

    /// `backup restore FILE --server INSTALL --out OUT`: a restore kit into `out`.
    fn restore_args(&self, file: &Path, install: &Path, out: &Path, extra: &str) -> Vec<OsString> {
        args![
            "--json",
            "backup",
            "restore",
            file,
            "--server",
            install,
            "--out",
            out,
            "--password-file",
            self.demo_pw(),
            extra
        ]
    }

    /// The two key-pair files of the server under `install`, as bytes.
    fn pair_files(install: &Path) -> (Vec<u8>, Vec<u8>) {
        (
            fs::read(install.join(SERVER_PAIR)).unwrap(),
            fs::read(install.join(SERVER_CERT)).unwrap(),
        )
    }
}

/// A certmend process running in the background; killed when dropped.
struct Running {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Running {
    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// SIGKILLs it (if still running): its exit code (None when the kill ended it) and
    /// stderr, checked for panics.
    fn kill(mut self) -> (Option<i32>, String) {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for it: exit code and stderr, checked for panics.
    fn wait(mut self) -> (Option<i32>, String) {
        self.finish()
    }

    fn finish(&mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let stderr = fs::read(&self.log).unwrap();
        assert_no_panic(&stderr, &self.what);
        (status.code(), String::from_utf8_lossy(&stderr).into_owned())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_no_panic(stderr: &[u8], what: &str) {
    let text = String::from_utf8_lossy(stderr);
    assert!(!text.contains("panicked"), "{what} panicked:\n{text}");
}

/// Sends a signal (STOP, CONT) with kill(1).
#[cfg(unix)]
fn signal(running: &Running, sig: &str) {
    let status = StdCommand::new("kill")
        .arg(format!("-{sig}"))
        .arg(running.pid())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {}", running.pid());
}

/// Waits until `ready()` holds (or the time runs out: a failure).
fn poll_until(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// Exactly one line `certmend: error[CODE]: ...` among the stderr lines (others may be
/// warnings); that line.
fn error_line(stderr: &str, codes: &[&str]) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("certmend: error["))
        .collect();
    assert_eq!(errors.len(), 1, "one error line, got:\n{stderr}");
    let line = errors[0];
    eprintln!("  stderr: {line}");
    assert!(
        codes
            .iter()
            .any(|c| line.starts_with(&format!("certmend: error[{c}]: "))),
        "wanted one of {codes:?}: {line}"
    );
    for other in stderr.lines().filter(|l| *l != line) {
        assert!(
            other.starts_with("certmend: warning"),
            "an unexpected line on stderr: {other}\n{stderr}"
        );
    }
    line.to_string()
}

/// `N` of "the export stopped after N of TOTAL bundles" in an error line.
fn stopped_after(line: &str, total: usize) -> usize {
    let rest = line
        .split("the export stopped after ")
        .nth(1)
        .unwrap_or_else(|| panic!("the line does not say how far the export got: {line}"));
    let (done, rest) = rest.split_once(" of ").unwrap();
    assert!(rest.starts_with(&format!("{total} bundles")), "{line}");
    done.parse().unwrap()
}

fn file_names(paths: &Value) -> Vec<String> {
    let mut names: Vec<String> = paths
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            Path::new(p.as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// The database, read directly

fn open_db(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
        .unwrap_or_else(|e| panic!("{}: {e}", db.display()))
}

/// `PRAGMA integrity_check` says ok and no foreign key dangles.
fn assert_db_consistent(db: &Path, context: &str) {
    let conn = open_db(db);
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        ["ok"],
        "{context}: integrity_check of {}",
        db.display()
    );
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(
        dangling,
        0,
        "{context}: foreign_key_check of {}",
        db.display()
    );
}

/// Every bundle id the database knows.
fn known_bundle_ids(db: &Path) -> BTreeSet<String> {
    let conn = open_db(db);
    let mut stmt = conn.prepare("SELECT id FROM bundles").unwrap();
    let ids = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids
}

/// The bundles the database holds as each agent's latest: (id, out_dir, folder, agent).
fn current_bundles(db: &Path) -> Vec<(String, PathBuf, String, String)> {
    let conn = open_db(db);
    let mut stmt = conn
        .prepare(
            "SELECT b.id, b.out_dir, b.folder, a.name FROM bundles b JOIN agents a ON a.id = b.agent_id
             WHERE b.superseded_by IS NULL ORDER BY a.name",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                PathBuf::from(r.get::<_, String>(1)?),
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows
}

// ---------------------------------------------------------------------------------------
// Bundles on a stick

/// Bundle ids of the folders on the stick.
fn ids_on(out: &Path) -> BTreeSet<String> {
    bundle_folders(out)
        .iter()
        .filter_map(|f| fs::read(f.join("manifest.json")).ok())
        .filter_map(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter_map(|m| m["bundle_id"].as_str().map(str::to_string))
        .collect()
}

/// How many bundle folders on the stick hold a bundle not in `old`.
fn new_bundles(out: &Path, old: &BTreeSet<String>) -> usize {
    ids_on(out).difference(old).count()
}

/// The stick holds one verified bundle per agent (`agents` of them), no temporary
/// folder, and the database's latest bundle of every agent is exactly the one in its
/// folder there; every agent is `bundle_exported`.
fn assert_exported_and_recorded(w: &World, out: &Path, agents: usize, context: &str) {
    assert_eq!(
        temp_folders(out),
        Vec::<String>::new(),
        "{context}: temporary folders left"
    );
    let folders = bundle_folders(out);
    assert_eq!(folders.len(), agents, "{context}: {:?}", names_in(out));
    let mut on_stick = BTreeMap::new();
    for folder in &folders {
        let m = check_bundle(folder).unwrap_or_else(|e| panic!("{context}: {e}"));
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        on_stick.insert(name, m["bundle_id"].as_str().unwrap().to_string());
    }
    let current = current_bundles(&w.db);
    assert_eq!(current.len(), agents, "{context}: {current:?}");
    for (id, out_dir, folder, agent) in &current {
        assert_eq!(
            out_dir, out,
            "{context}: {agent}'s latest bundle is elsewhere"
        );
        assert_eq!(
            on_stick.get(folder),
            Some(id),
            "{context}: the database's latest bundle of {agent} is {id} in {folder}; the stick holds {on_stick:?}"
        );
    }
    let statuses = w.statuses();
    assert!(
        statuses.values().all(|s| s == "bundle_exported"),
        "{context}: {statuses:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Full disks

/// Free bytes of the file system holding `dir` (for unprivileged users).
fn free_bytes(dir: &Path) -> u64 {
    let out = StdCommand::new("stat")
        .args(["-f", "-c", "%a %S"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>().unwrap());
    parts.next().unwrap() * parts.next().unwrap()
}

/// Another program's file `dir/name` that takes every free byte of the file system;
/// its path.
fn fill(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut file = File::create(&path).unwrap();
    let chunk = vec![0xA5u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    drop(file);
    assert_eq!(
        free_bytes(dir),
        0,
        "{} did not fill the disk",
        path.display()
    );
    path
}

/// Shortens `filler` (from [`fill`]) so that exactly `pages` pages of 4 KiB are free.
fn leave_free(filler: &Path, pages: u64) {
    if pages == 0 {
        return;
    }
    let len = fs::metadata(filler).unwrap().len();
    let allocated = len.div_ceil(4096);
    let file = fs::OpenOptions::new().write(true).open(filler).unwrap();
    file.set_len((allocated - pages) * 4096).unwrap();
    drop(file);
    let dir = filler.parent().unwrap();
    assert_eq!(
        free_bytes(dir),
        pages * 4096,
        "free space on {}",
        dir.display()
    );
}

/// `cp -a FROM/. TO`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let status = StdCommand::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Every file the backup catalog lists exists with the recorded size and SHA-256.
fn assert_catalog_matches_files(w: &World, context: &str) -> Vec<Value> {
    let backups = w.backups();
    for b in &backups {
        let folder = Path::new(b["folder"].as_str().unwrap());
        for f in b["files"].as_array().unwrap() {
            let path = folder.join(f["name"].as_str().unwrap());
            let bytes = fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{context}: backup {} lists {}: {e}",
                    b["id"],
                    path.display()
                )
            });
            assert_eq!(
                Some(bytes.len() as u64),
                f["size"].as_u64(),
                "{context}: {}",
                path.display()
            );
            assert_eq!(
                f["sha256"],
                sha256_hex(&bytes),
                "{context}: {}",
                path.display()
            );
        }
    }
    backups
}

// =======================================================================================
// 1. An export killed at random points

/// Fault: `certmend bundle` (12 agents, 2 x 256 KiB IpXfer stand-ins) SIGKILLed 20
/// times: half at a random time within a full export's duration, half a random moment
/// after a random number of bundles was placed; onto the same stick (bundles superseded
/// in place) or, now and then, a fresh one. Expected after each kill: every bundle
/// folder verifies (hashes recomputed here) and is known to the database, at most two
/// temporary folders (one being written, one old bundle set aside), integrity_check
/// ok; the next export reports exactly those leftovers, removes them and leaves one
/// verified bundle per agent, each the one the database records as the agent's latest.
#[cfg(unix)]
#[test]
fn an_export_killed_at_random_points_leaves_verified_bundles_and_the_next_run_repairs() {
    const KILLS: usize = 20;
    const AGENTS: usize = 12;
    let mut rng = Rng::new("an_export_killed_at_random_points");
    let w = World::new(11);
    w.import_names("kill.csv", &numbered("KILL", AGENTS));
    let ipxfer = ipxfer_stand_ins(&w.path("ipxfer"), 256 * 1024, 5);
    let mut stick = w.path("stick-0");
    let started = Instant::now();
    w.export(&stick, &ipxfer);
    let full = started.elapsed();
    assert_exported_and_recorded(&w, &stick, AGENTS, "first export");
    let per_bundle = full / AGENTS as u32;

    let (mut before_writing, mut midway, mut finished) = (0, 0, 0);
    for k in 0..KILLS {
        if rng.below(4) == 0 {
            stick = w.path(&format!("stick-{}", k + 1));
        }
        let old = ids_on(&stick);
        let mut running = w.spawn(&w.bundle_args(&stick, &ipxfer));
        let how = if rng.below(2) == 0 {
            let delay = full.mul_f64(1.2 * rng.unit());
            std::thread::sleep(delay);
            format!("{delay:?} after the start")
        } else {
            let placed = rng.below(AGENTS);
            poll_until("bundles to appear", || {
                running.exited() || new_bundles(&stick, &old) >= placed
            });
            let extra = per_bundle.mul_f64(rng.unit());
            std::thread::sleep(extra);
            format!("{extra:?} after {placed} new bundle(s)")
        };
        let context = format!("seed {}, kill {k} ({how})", rng.seed);
        let (code, stderr) = running.kill();

        // Whatever looks like a bundle is one, and the database knows it.
        let known = known_bundle_ids(&w.db);
        for folder in bundle_folders(&stick) {
            let m = check_bundle(&folder).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert!(
                known.contains(m["bundle_id"].as_str().unwrap()),
                "{context}: {} is on the stick but unknown to the database",
                folder.display()
            );
        }
        let temps = temp_folders(&stick);
        assert!(temps.len() <= 2, "{context}: {temps:?}");
        assert_db_consistent(&w.db, &context);
        let new = new_bundles(&stick, &old);
        match code {
            Some(0) => finished += 1,
            Some(c) => panic!("{context}: the export failed by itself (exit {c}): {stderr}"),
            None if new == 0 && temps.is_empty() => before_writing += 1,
            None => midway += 1,
        }

        // The next run says what it removed and leaves everything whole and recorded.
        let report = w.export(&stick, &ipxfer);
        assert_eq!(
            file_names(&report["removed_leftovers"]),
            temps,
            "{context}: leftovers reported"
        );
        assert_exported_and_recorded(&w, &stick, AGENTS, &context);
        assert_db_consistent(&w.db, &context);
    }
    eprintln!(
        "killed {KILLS} exports (a full one takes {full:?}): {before_writing} before any \
         bundle was written, {midway} midway, {finished} after they had finished"
    );
    assert!(
        midway >= KILLS / 4,
        "only {midway} of {KILLS} kills hit an export midway: the test is not testing"
    );
}

// =======================================================================================
// 2. Key-pair backups and restores killed at random points

/// Fault: `certmend backup create --legacy` SIGKILLed 10 times: half at a random time
/// within a full run, half a random moment after its first file appeared. Expected
/// after each kill: every file `backup list` shows exists with its recorded size and
/// SHA-256 and opens with the new password (`backup verify`); any other file left in
/// the folder is an empty claimed name, a temporary file, or a complete backup that
/// opens, never a cut-short one; integrity_check ok. At the end another create
/// succeeds and no earlier file was overwritten.
#[cfg(unix)]
#[test]
fn a_backup_killed_at_random_points_never_lists_a_half_written_file() {
    const KILLS: usize = 10;
    let mut rng = Rng::new("a_backup_killed_at_random_points");
    let w = World::new(12);
    let out = w.path("backups");
    let cert = fs::read(w.install.join(SERVER_CERT)).unwrap();
    let started = Instant::now();
    w.run(&w.backup_create_args(&w.install, &out), 0);
    let full = started.elapsed();

    let mut verified_files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut seen: BTreeMap<PathBuf, String> = BTreeMap::new();
    let (mut placeholders, mut temps, mut unrecorded_complete) = (0, 0, 0);
    let verify = |path: &Path, context: &str| {
        let output = w.output(&args![
            "--json",
            "backup",
            "verify",
            path,
            "--password-file",
            w.new_pw()
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{context}: {} does not open: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(json(&output)["checks"]["key_matches_certificate"], true);
    };
    for k in 0..KILLS {
        let before: BTreeSet<String> = names_in(&out).into_iter().collect();
        let mut running = w.spawn(&w.backup_create_args(&w.install, &out));
        let how = if rng.below(2) == 0 {
            let delay = full.mul_f64(1.2 * rng.unit());
            std::thread::sleep(delay);
            format!("{delay:?} after the start")
        } else {
            poll_until("a backup file to appear", || {
                running.exited() || names_in(&out).iter().any(|n| !before.contains(n))
            });
            let extra = Duration::from_millis(20).mul_f64(rng.unit());
            std::thread::sleep(extra);
            format!("{extra:?} after its first file appeared")
        };
        let context = format!("seed {}, kill {k} ({how})", rng.seed);
        let (code, stderr) = running.kill();
        assert!(
            code.is_none() || code == Some(0),
            "{context}: exit {code:?}: {stderr}"
        );

        // What the catalog lists is whole and opens.
        let backups = assert_catalog_matches_files(&w, &context);
        let mut listed = BTreeSet::new();
        for b in &backups {
            assert_eq!(b["kind"], "backup");
            for f in b["files"].as_array().unwrap() {
                let path =
                    Path::new(b["folder"].as_str().unwrap()).join(f["name"].as_str().unwrap());
                listed.insert(path.clone());
                if path.extension() == Some(OsStr::new("pfx"))
                    && verified_files.insert(path.clone())
                {
                    verify(&path, &context);
                }
            }
        }
        // Whatever else is there is harmless.
        for name in names_in(&out) {
            let path = out.join(&name);
            if listed.contains(&path) || seen.contains_key(&path) {
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            if name.starts_with(TEMP_PREFIX) {
                temps += 1;
            } else if bytes.is_empty() {
                placeholders += 1;
            } else if name.ends_with(".pfx") {
                verify(&path, &context);
                unrecorded_complete += 1;
            } else {
                assert!(name.ends_with(".cer"), "{context}: {name}");
                assert_eq!(bytes, cert, "{context}: {name} is not the certificate");
            }
        }
        assert_db_consistent(&w.db, &context);
        for name in names_in(&out) {
            let path = out.join(&name);
            seen.insert(path.clone(), sha256_hex(&fs::read(&path).unwrap()));
        }
    }

    // The next create works and overwrites nothing a kill left.
    let created = json(&w.run(&w.backup_create_args(&w.install, &out), 0));
    for f in created["files"].as_array().unwrap() {
        let path = PathBuf::from(f["path"].as_str().unwrap());
        assert!(
            !seen.contains_key(&path),
            "{} was written again",
            path.display()
        );
    }
    for (path, sha) in &seen {
        let name = path.file_name().unwrap().to_string_lossy();
        match fs::read(path) {
            Ok(bytes) => assert_eq!(&sha256_hex(&bytes), sha, "{} changed", path.display()),
            Err(_) => assert!(
                name.starts_with(TEMP_PREFIX) || sha == &sha256_hex(b""),
                "{} (a complete file) is gone",
                path.display()
            ),
        }
    }
    assert_catalog_matches_files(&w, "after the last create");
    assert_db_consistent(&w.db, "after the last create");
    eprintln!(
        "killed {KILLS} backups (a full one takes {full:?}); left behind, unlisted: \
         {placeholders} empty claimed names, {temps} temporary files, \
         {unrecorded_complete} complete but unrecorded backups"
    );
}

/// Fault: `certmend backup restore` (a restore kit) SIGKILLed 10 times: half at a random
/// time within a full run, half a random moment (under 10 ms) after its hidden staging
/// folder appeared. Expected: each stick holds either no kit or a whole one (every file
/// as its manifest says; it is renamed into place whole), nothing but hidden staging
/// folders besides, the server's files byte for byte as before (a restore never writes
/// there), every catalog entry's files match the catalog, integrity_check ok.
#[cfg(unix)]
#[test]
fn a_restore_kit_killed_at_random_points_is_whole_or_absent() {
    const KILLS: usize = 10;
    let mut rng = Rng::new("a_restore_kit_killed_at_random_points");
    let w = World::new(13);
    let previous = w.root.join(PREVIOUS_PAIR);
    let server = World::pair_files(&w.install);
    let started = Instant::now();
    w.run(
        &w.restore_args(&previous, &w.install, &w.path("stick-full"), "--yes"),
        0,
    );
    let full = started.elapsed();
    let (mut absent, mut whole, mut staging_left) = (0, 0, 0);
    for k in 0..KILLS {
        let stick = w.path(&format!("stick-{k}"));
        let mut running = w.spawn(&w.restore_args(&previous, &w.install, &stick, "--yes"));
        let how = if rng.below(2) == 0 {
            let delay = full.mul_f64(1.2 * rng.unit());
            std::thread::sleep(delay);
            format!("{delay:?} after the start")
        } else {
            poll_until("the kit's staging folder", || {
                running.exited()
                    || names_in(&stick)
                        .iter()
                        .any(|n| n.starts_with(".certmend-kit-"))
            });
            let extra = Duration::from_millis(10).mul_f64(rng.unit());
            std::thread::sleep(extra);
            format!("{extra:?} after its staging folder appeared")
        };
        let context = format!("seed {}, kill {k} ({how})", rng.seed);
        let (code, stderr) = running.kill();
        assert!(
            code.is_none() || code == Some(0),
            "{context}: exit {code:?}: {stderr}"
        );
        let names = names_in(&stick);
        let kits: Vec<&String> = names
            .iter()
            .filter(|n| !n.starts_with(".certmend-kit-"))
            .collect();
        staging_left += names.len() - kits.len();
        match kits.as_slice() {
            [] => absent += 1,
            [kit] => {
                let kit = stick.join(kit);
                let manifest: Value =
                    serde_json::from_slice(&fs::read(kit.join("certmend-kit.json")).unwrap())
                        .unwrap();
                let files = manifest["files"].as_array().unwrap();
                assert_eq!(files.len(), 4, "{context}: {manifest}");
                for f in files {
                    let path = kit.join(f["name"].as_str().unwrap());
                    assert_eq!(
                        f["sha256"],
                        sha256_hex(&fs::read(&path).unwrap()),
                        "{context}: {}",
                        path.display()
                    );
                }
                whole += 1;
            }
            more => panic!("{context}: {more:?}"),
        }
        assert_eq!(World::pair_files(&w.install), server, "{context}");
        assert_catalog_matches_files(&w, &context);
        assert_db_consistent(&w.db, &context);
        // The next run into the same folder removes what a stopped one left hidden.
        if kits.is_empty() {
            let done = json(&w.run(&w.restore_args(&previous, &w.install, &stick, "--yes"), 0));
            assert_eq!(
                done["kit"]["stale_staging_removed"],
                names.len(),
                "{context}: {done}"
            );
            assert_eq!(
                names_in(&stick).len(),
                1,
                "{context}: {:?}",
                names_in(&stick)
            );
        }
    }
    eprintln!(
        "killed {KILLS} restore kits (a full one takes {full:?}): {absent} left no kit, \
         {whole} a whole one; {staging_left} hidden staging folders were left"
    );
}

// =======================================================================================
// 3. Full disks

/// Fault: the stick has room for the export when it starts (the size check passes),
/// then another program fills it while the export runs (certmend is stopped with
/// SIGSTOP right after it starts writing, the disk filled, then SIGCONT). Expected:
/// exit 2, one line naming the path and "No space left on device", no panic, no
/// temporary folder left on the stick, every bundle on it verified and recorded, the
/// agents without one still `mismatched`, integrity_check ok (the database is on a
/// normal disk); once space is freed the same export completes.
#[cfg(target_os = "linux")]
#[test]
fn a_stick_that_fills_up_during_an_export_fails_cleanly_and_the_next_run_completes() {
    const AGENTS: usize = 40;
    let w = World::new(14);
    let Some(stick) = mount_tmpfs(&w.path("stick"), "size=16m", "a_stick_that_fills_up") else {
        return;
    };
    w.import_names("fill.csv", &numbered("FILL", AGENTS));
    let ipxfer = ipxfer_stand_ins(&w.path("ipxfer"), 64 * 1024, 6);
    let out = stick.0.join("bundles");
    let mut running = w.spawn(&w.bundle_args(&out, &ipxfer));
    // Wait for a *finished* bundle, not merely a temporary folder: filling the disk
    // while the first bundle is written is a different outcome (no bundle written), and
    // on a loaded machine the first bundle can take long enough for that to happen.
    poll_until("the first finished bundle", || {
        running.exited() || !bundle_folders(&out).is_empty()
    });
    signal(&running, "STOP");
    assert!(
        !running.exited(),
        "the export ended before the disk could be filled"
    );
    let filler = fill(&stick.0, "another-program.bin");
    signal(&running, "CONT");
    let (code, stderr) = running.wait();
    assert_eq!(code, Some(2), "{stderr}");
    let line = error_line(&stderr, &["bundle.write"]);
    assert!(line.contains(&out.display().to_string()), "{line}");
    assert!(line.contains("No space left on device"), "{line}");
    let done = stopped_after(&line, AGENTS);

    assert_eq!(
        temp_folders(&out),
        Vec::<String>::new(),
        "a half-written bundle is left on the full stick"
    );
    let folders = bundle_folders(&out);
    assert!(folders.len() < AGENTS, "the export did not fail midway");
    let current = current_bundles(&w.db);
    let on_stick: BTreeSet<String> = ids_on(&out);
    for folder in &folders {
        check_bundle(folder).unwrap();
    }
    let statuses = w.statuses();
    for (name, status) in &statuses {
        let recorded = current.iter().find(|c| &c.3 == name);
        match recorded {
            Some((id, ..)) => {
                assert!(
                    on_stick.contains(id),
                    "{name}: recorded bundle {id} is not on the stick"
                );
                assert_eq!(status, "bundle_exported", "{name}");
            }
            None => assert_eq!(status, "mismatched", "{name}"),
        }
    }
    assert_eq!(on_stick.len(), current.len());
    assert_eq!(done, current.len(), "{line}");
    assert_db_consistent(&w.db, "after the full stick");

    fs::remove_file(&filler).unwrap();
    w.export(&out, &ipxfer);
    assert_exported_and_recorded(&w, &out, AGENTS, "after space was freed");
    assert_db_consistent(&w.db, "after space was freed");
}

/// Fault: `backup create --out` a full disk. Expected: exit 2, one error line naming the
/// backup file and "No space left on device", no file at all in the backup folder, the
/// catalog empty, the server's key pair byte-identical, integrity_check ok (database on
/// a normal disk); once space is freed the same command writes a backup that verifies.
#[cfg(target_os = "linux")]
#[test]
fn a_backup_onto_a_full_disk_fails_cleanly() {
    let w = World::new(15);
    let Some(disk) = mount_tmpfs(&w.path("disk"), "size=1m", "a_backup_onto_a_full_disk") else {
        return;
    };
    let before = World::pair_files(&w.install);
    let out = disk.0.join("backups");
    let filler = fill(&disk.0, "another-program.bin");
    let output = w.run(&w.backup_create_args(&w.install, &out), 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = error_line(&stderr, &["backup.write"]);
    assert!(line.contains(&out.display().to_string()), "{line}");
    assert!(line.contains("No space left on device"), "{line}");
    assert_eq!(
        names_in(&out),
        Vec::<String>::new(),
        "left in {}",
        out.display()
    );
    assert!(w.backups().is_empty());
    assert_eq!(World::pair_files(&w.install), before);
    assert_db_consistent(&w.db, "after the full disk");

    fs::remove_file(&filler).unwrap();
    let created = json(&w.run(&w.backup_create_args(&w.install, &out), 0));
    assert_eq!(created["files"].as_array().unwrap().len(), 2, "{created}");
    assert_eq!(
        assert_catalog_matches_files(&w, "after space was freed").len(),
        1
    );
}

/// Fault: a restore kit onto a full stick, with no free page at all and with one.
/// Expected: exit 2, one `restore.write` line naming the stick and "No space left on
/// device", nothing left on the stick (the staging folder goes), the server's files
/// byte for byte as before, catalog and database consistent; once space is freed the
/// kit is written.
#[cfg(target_os = "linux")]
#[test]
fn a_restore_kit_onto_a_full_stick_leaves_nothing() {
    let w = World::new(16);
    let Some(disk) = mount_tmpfs(&w.path("stick"), "size=1m", "a_restore_kit_onto_a_full") else {
        return;
    };
    let previous = w.root.join(PREVIOUS_PAIR);
    let server = World::pair_files(&w.install);
    let out = disk.0.join("kits");
    for free_pages in [0, 1] {
        let context = format!("{free_pages} free page(s)");
        let filler = fill(&disk.0, "another-program.bin");
        leave_free(&filler, free_pages);
        let output = w.run(&w.restore_args(&previous, &w.install, &out, "--yes"), 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = error_line(&stderr, &["restore.write"]);
        assert!(
            line.contains(&out.display().to_string()),
            "{context}: {line}"
        );
        assert!(
            line.contains("No space left on device"),
            "{context}: {line}"
        );
        assert_eq!(names_in(&out), Vec::<String>::new(), "{context}");
        assert_eq!(World::pair_files(&w.install), server, "{context}");
        assert_catalog_matches_files(&w, &context);
        assert_db_consistent(&w.db, &context);
        fs::remove_file(&filler).unwrap();
    }
    let done = json(&w.run(&w.restore_args(&previous, &w.install, &out, "--yes"), 0));
    assert_eq!(done["kit"]["files"].as_array().unwrap().len(), 5, "{done}");
    assert_eq!(World::pair_files(&w.install), server);
    assert_eq!(
        assert_catalog_matches_files(&w, "after space was freed").len(),
        1
    );
}

/// Fault: the database itself on a full disk (a 1 MB tmpfs), an import of 5,000 agents
/// started twice: with no free page (SQLite cannot even open its shared-memory file)
/// and with 16 free pages (it opens, then the write-ahead log cannot grow mid-import).
/// Expected each time: exit 2, one line naming the database and saying the disk is
/// full, no panic; once space is freed the database is intact (integrity_check ok, the
/// 36 agents imported before and nothing of the failed import). Then the import works.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_database_fails_cleanly_and_keeps_it_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db-disk/state.sqlite3");
    let w = World::with_db(tmp, 17, db.clone());
    let Some(disk) = mount_tmpfs(
        &w.path("db-disk"),
        "size=1m",
        "a_full_disk_under_the_database",
    ) else {
        return;
    };
    w.import(&w.install, &w.root.join(DEMO_LIST));
    let big = w.write_list("big.csv", &numbered("BIG", 5000));
    for free_pages in [0, 16] {
        let context = format!("{free_pages} free page(s)");
        let filler = fill(&disk.0, "another-program.bin");
        leave_free(&filler, free_pages);
        let output = w.run(&args!["import", big, "--server", w.install], 2);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = error_line(&stderr, &["store.disk_full"]);
        assert!(
            line.contains(&db.display().to_string()),
            "{context}: {line}"
        );
        assert!(line.contains("is full"), "{context}: {line}");

        fs::remove_file(&filler).unwrap();
        assert_db_consistent(&db, &context);
        assert_eq!(w.statuses().len(), DEMO_AGENTS, "{context}");
    }
    let report = w.import(&w.install, &big);
    assert_eq!(report["agents"], 5000);
    assert_eq!(w.statuses().len(), DEMO_AGENTS + 5000);
    assert_db_consistent(&db, "after the import");
}

// =======================================================================================
// 4. A database locked by another process

/// The sqlite3 shell holding `BEGIN EXCLUSIVE` on a database until dropped.
struct Locker {
    child: Child,
}

impl Locker {
    fn lock(db: &Path) -> Self {
        let mut child = StdCommand::new("sqlite3")
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sqlite3 shell is needed for this test");
        let stdin = child.stdin.as_mut().unwrap();
        // It waits for the probe below rather than failing against it.
        stdin
            .write_all(b".timeout 10000\nBEGIN EXCLUSIVE;\n")
            .unwrap();
        stdin.flush().unwrap();
        // Locked once another connection cannot start writing.
        poll_until("sqlite3 to take the lock", || {
            let conn = open_db(db);
            conn.busy_timeout(Duration::ZERO).unwrap();
            conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_err()
        });
        Locker { child }
    }

    fn release(mut self) {
        let mut stdin = self.child.stdin.take().unwrap();
        stdin.write_all(b"COMMIT;\n.quit\n").unwrap();
        drop(stdin);
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fault: another process (the sqlite3 shell) holds `BEGIN EXCLUSIVE` on the database
/// while an import and an export run. Expected: both wait for the busy timeout, then
/// exit 2 with one line naming the database, nothing written to the stick, no panic;
/// once the lock is released the very same commands succeed.
#[test]
fn a_locked_database_is_reported_after_the_busy_timeout_then_works() {
    let w = World::new(18);
    w.statuses(); // creates the database
    let list = w.write_list("more.csv", &numbered("MORE", 20));
    let out = w.path("stick");
    let import = args!["import", list, "--server", w.install];
    let export = w.bundle_args(&out, &w.install.join("PCCSRV/Admin/Utility/IpXfer"));

    let locker = Locker::lock(&w.db);
    let started = Instant::now();
    let runs = [w.spawn(&import), w.spawn(&export)];
    let mut ended = Vec::new();
    for running in runs {
        let (code, stderr) = running.wait();
        ended.push(started.elapsed());
        assert_eq!(code, Some(2), "{stderr}");
        let line = error_line(&stderr, &["store.busy"]);
        assert!(line.contains(&w.db.display().to_string()), "{line}");
        assert!(line.contains("another program"), "{line}");
    }
    assert!(
        ended.iter().all(|t| *t >= Duration::from_secs(5)),
        "gave up after {ended:?}, without waiting for the lock"
    );
    assert!(
        !out.exists(),
        "written to the stick while the database was locked"
    );
    locker.release();

    assert_db_consistent(&w.db, "after the lock");
    w.run(&import, 0);
    assert_eq!(w.statuses().len(), 20);
    let mut a = args!["--json"];
    a.extend(export);
    json(&w.run(&a, 0));
    assert_exported_and_recorded(&w, &out, 20, "after the lock");
}

// =======================================================================================
// 5. A read-only stick

/// Fault: the target is a read-only file system (a tmpfs mounted `ro`; root ignores
/// file modes). Expected: an export onto it, into a folder on it, and a key-pair backup
/// onto it each exit 2 with one line naming the folder and "Read-only file system";
/// nothing is recorded (agents still `mismatched`, no backup listed), integrity_check ok.
#[cfg(target_os = "linux")]
#[test]
fn a_read_only_target_is_refused_naming_the_folder() {
    let w = World::new(19);
    let Some(stick) = mount_tmpfs(&w.path("ro-stick"), "ro,size=64m", "a_read_only_target") else {
        return;
    };
    w.import(&w.install, &w.root.join(DEMO_LIST));
    let ipxfer = w.install.join("PCCSRV/Admin/Utility/IpXfer");
    for out in [stick.0.clone(), stick.0.join("bundles")] {
        let output = w.run(&w.bundle_args(&out, &ipxfer), 2);
        let line = error_line(&String::from_utf8_lossy(&output.stderr), &["bundle.write"]);
        assert!(line.contains(&out.display().to_string()), "{line}");
        assert!(line.contains("Read-only file system"), "{line}");
    }
    let out = stick.0.join("backups");
    let output = w.run(&w.backup_create_args(&w.install, &out), 2);
    let line = error_line(&String::from_utf8_lossy(&output.stderr), &["backup.write"]);
    assert!(line.contains(&out.display().to_string()), "{line}");
    assert!(line.contains("Read-only file system"), "{line}");

    assert_eq!(names_in(&stick.0), Vec::<String>::new());
    assert!(w.statuses().values().all(|s| s == "mismatched"));
    assert!(w.backups().is_empty());
    assert_db_consistent(&w.db, "after the read-only stick");
}

// =======================================================================================
// 6. A stick pulled out midway

/// Fault: the target folder is deleted (`rm -rf`, as a pulled stick vanishes) as soon
/// as the first bundle is in place, while the export goes on. Expected: exit 2, one line
/// naming the folder, no panic, integrity_check ok. The bundles finished before were
/// verified on the stick and are recorded (their receipts must count if the stick comes
/// back); every agent with such a record is `bundle_exported`, every other one still
/// `mismatched`. The next export to the stick writes a bundle for every agent again
/// (recorded ones included: they are not repaired yet) and the database then records
/// exactly what is on the stick.
#[cfg(unix)]
#[test]
fn a_stick_pulled_out_midway_is_reported_and_the_next_run_exports_everyone() {
    const AGENTS: usize = 24;
    let w = World::new(20);
    w.import_names("pulled.csv", &numbered("PULL", AGENTS));
    let ipxfer = ipxfer_stand_ins(&w.path("ipxfer"), 256 * 1024, 8);
    let out = w.path("stick");
    let mut running = w.spawn(&w.bundle_args(&out, &ipxfer));
    poll_until("the first bundle", || {
        running.exited() || !bundle_folders(&out).is_empty()
    });
    assert!(
        !running.exited(),
        "the export ended before the stick could be pulled"
    );
    poll_until("the stick to be gone", || {
        let _ = fs::remove_dir_all(&out);
        !out.exists()
    });
    let (code, stderr) = running.wait();
    assert_eq!(code, Some(2), "{stderr}");
    let line = error_line(&stderr, &["bundle.write"]);
    assert!(line.contains(&out.display().to_string()), "{line}");
    let done = stopped_after(&line, AGENTS);
    assert_db_consistent(&w.db, "after the stick was pulled");

    let current = current_bundles(&w.db);
    assert!(
        !current.is_empty() && current.len() < AGENTS,
        "bundles recorded: {current:?}"
    );
    assert_eq!(done, current.len(), "{line}");
    let statuses = w.statuses();
    for (name, status) in &statuses {
        let recorded = current.iter().any(|c| &c.3 == name);
        let want = if recorded {
            "bundle_exported"
        } else {
            "mismatched"
        };
        assert_eq!(status, want, "{name}: {statuses:?}");
    }

    w.export(&out, &ipxfer);
    assert_exported_and_recorded(&w, &out, AGENTS, "after the stick came back");
    assert_db_consistent(&w.db, "after the stick came back");
}

// =======================================================================================
// 7. Several writers at once

/// Fault: several certmend processes write one database at the same moment: four
/// imports racing to create it, then three rounds of imports for three servers
/// (1,500 agents each) next to two `receipts` runs reading the same new receipts.
/// Expected: every process exits 0 (the busy timeout lets writers wait for each other),
/// no panic, and no update is lost: every agent of every list is there (the latest
/// list of each server `mismatched`, the earlier ones `resolved`), every receipt's
/// agent `repaired` (each line recorded once), integrity_check ok.
#[test]
fn concurrent_writers_lose_no_update() {
    const ROUNDS: usize = 3;
    const PER_LIST: usize = 1500;
    let w = World::new(21);
    let servers: Vec<PathBuf> = ["b", "c", "d"]
        .iter()
        .map(|s| {
            let root = w.path(&format!("drive-{s}"));
            copy_tree(&w.root, &root);
            root.join(INSTALL)
        })
        .collect();
    let list_for = |round: usize, k: usize| {
        let names: Vec<String> = (0..PER_LIST)
            .map(|i| format!("R{round}-S{k}-{i:04}"))
            .collect();
        w.write_list(&format!("r{round}-s{k}.csv"), &names)
    };
    let all_ok = |runs: Vec<Running>, context: &str| {
        for running in runs {
            let what = running.what.clone();
            let (code, stderr) = running.wait();
            assert_eq!(code, Some(0), "{context}: {what}\n{stderr}");
        }
    };

    // Round 0: no database yet; four imports create it at once.
    let mut runs = vec![w.spawn(&args![
        "import",
        w.root.join(DEMO_LIST),
        "--server",
        w.install
    ])];
    for (k, server) in servers.iter().enumerate() {
        runs.push(w.spawn(&args!["import", list_for(0, k), "--server", server]));
    }
    all_ok(runs, "round 0");
    assert_db_consistent(&w.db, "round 0");
    for server in &servers {
        assert_eq!(w.statuses_of(Some(server)).len(), PER_LIST, "round 0");
    }

    // Bundles for the demo's agents; their receipts come back a third per round.
    let stick = w.path("stick");
    w.export(&stick, &w.install.join("PCCSRV/Admin/Utility/IpXfer"));
    let ids: Vec<(String, String)> = bundle_folders(&stick)
        .iter()
        .map(|f| {
            let m = check_bundle(f).unwrap();
            (
                m["agent"]["name"].as_str().unwrap().to_string(),
                m["bundle_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ids.len(), DEMO_AGENTS);
    let sha = sha256_hex(&fs::read(w.install.join(SERVER_CERT)).unwrap());
    fs::create_dir(stick.join("receipts")).unwrap();
    let per_round = DEMO_AGENTS.div_ceil(ROUNDS);

    for round in 1..=ROUNDS {
        let context = format!("round {round}");
        let chunk = &ids[(round - 1) * per_round..(round * per_round).min(DEMO_AGENTS)];
        let lines: String = chunk
            .iter()
            .enumerate()
            .map(|(i, (name, id))| {
                receipt(
                    name,
                    id,
                    &format!("{round}{i:02}"),
                    "0",
                    "AA",
                    &sha,
                    "REPAIRED",
                ) + "\r\n"
            })
            .collect();
        fs::write(stick.join(format!("receipts/PC-{round}.txt")), lines).unwrap();
        let mut runs = Vec::new();
        for (k, server) in servers.iter().enumerate() {
            runs.push(w.spawn(&args!["import", list_for(round, k), "--server", server]));
        }
        runs.push(w.spawn(&args!["receipts", stick]));
        runs.push(w.spawn(&args!["receipts", stick]));
        all_ok(runs, &context);
        assert_db_consistent(&w.db, &context);

        for (k, server) in servers.iter().enumerate() {
            let statuses = w.statuses_of(Some(server));
            assert_eq!(statuses.len(), PER_LIST * (round + 1), "{context}");
            for (name, status) in &statuses {
                let latest = name.starts_with(&format!("R{round}-S{k}-"));
                let want = if latest { "mismatched" } else { "resolved" };
                assert_eq!(status, want, "{context}: {name}");
            }
        }
        let demo = w.statuses_of(Some(&w.install));
        for (i, (name, _)) in ids.iter().enumerate() {
            let want = if i < round * per_round {
                "repaired"
            } else {
                "bundle_exported"
            };
            assert_eq!(demo[name], want, "{context}: {name}");
        }
        let receipts: i64 = open_db(&w.db)
            .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            receipts as usize,
            (round * per_round).min(DEMO_AGENTS),
            "{context}: receipt lines recorded"
        );
    }
}

/// Fault: the same list imported by several processes at once (two admins, or the app
/// and a script), each finding it "not imported yet" before any had committed.
/// Expected: every process exits 0, the list is recorded once, the others report it as
/// already imported, and the agents are there once (found by this suite: the losers
/// failed with a raw UNIQUE-constraint error).
#[test]
fn one_list_imported_by_several_processes_at_once_is_recorded_once() {
    // Large enough that the first import holds the write lock while the others have
    // already looked for the list (each round races; without the fix most rounds fail).
    const AGENTS: usize = 8000;
    const PROCESSES: usize = 6;
    let w = World::new(23);
    for round in 0..5 {
        let context = format!("round {round}");
        let list = w.write_list(
            &format!("same-{round}.csv"),
            &numbered(&format!("SAME{round}-"), AGENTS),
        );
        let runs: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let mut cmd = w.std_cmd(&args!["--json", "import", list, "--server", w.install]);
                cmd.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        let mut fresh = 0;
        for child in runs {
            let out = child.wait_with_output().unwrap();
            assert_no_panic(&out.stderr, &context);
            assert!(
                out.status.success(),
                "{context}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report = json(&out);
            let report = if report.is_array() {
                report[0].clone()
            } else {
                report
            };
            if report["already_imported"].is_null() {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1, "{context}: imports that read the list");
        let conn = open_db(&w.db);
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            count("SELECT count(*) FROM list_imports WHERE file_name LIKE 'same-%'"),
            round + 1,
            "{context}"
        );
        assert_eq!(
            count("SELECT count(*) FROM agents WHERE name LIKE 'SAME%'"),
            AGENTS as i64 * (round + 1),
            "{context}"
        );
        assert_db_consistent(&w.db, &context);
    }
}

/// Fault: a second export to the same stick while one runs (the app and the CLI, or two
/// windows). Expected: the second is refused at once with `bundle.target_busy` naming the
/// folder and writes nothing; the first is not disturbed (before the lock, the second
/// removed the first's temporary folders as leftovers and the first failed); after it,
/// every bundle verifies and an export to the same stick works again.
#[test]
fn a_second_export_to_a_stick_in_use_is_refused_and_the_first_completes() {
    const AGENTS: usize = 16;
    let w = World::new(29);
    w.import_names("busy.csv", &numbered("BUSY", AGENTS));
    let ipxfer = ipxfer_stand_ins(&w.path("ipxfer"), 2 * 1024 * 1024, 7);
    let stick = w.path("stick");
    let mut first = w.spawn(&w.bundle_args(&stick, &ipxfer));
    poll_until("the first export to start writing", || {
        first.exited() || !temp_folders(&stick).is_empty() || !bundle_folders(&stick).is_empty()
    });
    assert!(
        !first.exited(),
        "the first export ended before the second could start: use bigger stand-ins"
    );
    let second = w.output(&w.bundle_args(&stick, &ipxfer));
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let line = error_line(
        &String::from_utf8_lossy(&second.stderr),
        &["bundle.target_busy"],
    );
    assert!(line.contains(&stick.display().to_string()), "{line}");
    let (code, stderr) = first.wait();
    assert_eq!(code, Some(0), "the first export: {stderr}");
    assert_exported_and_recorded(&w, &stick, AGENTS, "after both");
    w.export(&stick, &ipxfer);
    assert_exported_and_recorded(&w, &stick, AGENTS, "exported again");
}
