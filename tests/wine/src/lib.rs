//! Shared machinery of the Wine suites (`tests/*.rs`): a fresh Wine prefix per test
//! binary, test stand-ins built with mingw-w64, drive letters, registry values, and
//! running Windows programs with their output captured and a deadline.
//!
//! Every fact it relies on was measured on this machine (shared TESTING.md): a headless
//! 64-bit prefix wants `wineserver -p` before `wineboot -i`; Wine's services keep the
//! server (and any pipe it inherited) alive, so output goes to files and a watchdog stops
//! the server when the test process is gone; Wine 8 lacks `bcryptprimitives.dll`, so
//! every Rust .exe needs the test-only shim built from `c/bcryptprimitives.c`.
//!
//! Test binaries run as separate processes, so each gets its own prefix folder, one per
//! process ([`WinePrefix::for_this_process`]: two runs at once must not share one); tests
//! inside one binary share its prefix (registry, drive letters) and serialise with
//! [`serial`].

// Wine runs on Linux: everything here drives Windows programs from there (the crate
// is empty when the workspace is checked for Windows).
#![cfg(target_os = "linux")]

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Debian's wine64 package: the loader and server are not on PATH.
pub const WINE: &str = "/usr/lib/wine/wine64";
pub const WINESERVER: &str = "/usr/lib/wine/wineserver64";
pub const MINGW: &str = "x86_64-w64-mingw32-gcc";

/// No Mono or Gecko downloads (headless, offline); our ProcessPrng shim instead of the
/// (missing) builtin bcryptprimitives.
pub const DLL_OVERRIDES: &str = "mscoree,mshtml=;bcryptprimitives=n";

/// The folder holding the C sources of the stand-ins.
pub fn c_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c")
}

/// Detaches a command from the test's stdio: Wine's background services inherit
/// whatever the first process had, and a pipe they keep open makes cargo (or CI)
/// wait for them forever.
pub fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
}

/// The environment every Wine process of the suites gets: the prefix, no debug chatter,
/// no display (headless: nothing may try to open a window), a neutral UTF-8 locale.
pub fn wine_env<'a>(cmd: &'a mut Command, prefix: &Path) -> &'a mut Command {
    cmd.env("WINEPREFIX", prefix)
        .env("WINEARCH", "win64")
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", DLL_OVERRIDES)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
}

/// Tests of one binary share its prefix's registry and drive letters: one at a time.
/// A test that failed (poisoned the lock) must not fail the others too.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A Linux path as Wine sees it through its `Z:` drive.
pub fn z_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).expect("absolute path");
    format!("Z:{}", absolute.display()).replace('/', "\\")
}

/// What a process did: exit code, output bytes (as written, no decoding) and time.
#[derive(Debug)]
pub struct Captured {
    /// The exit code (Wine gives it modulo 256); `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: Duration,
}

impl Captured {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Everything, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {:?} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.elapsed,
            self.stdout_text(),
            self.stderr_text()
        )
    }
}

/// Runs `cmd` to completion with stdout and stderr captured in files under `scratch`
/// (piping Wine's output can hang: its services keep the pipe open), `stdin` piped in
/// (or /dev/null when `None`). Past `timeout` the process and everything it started
/// (its own process group) are killed and the test fails, naming `what`: no test may
/// hang.
pub fn run(
    cmd: &mut Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
    scratch: &Path,
    what: &str,
) -> Captured {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    std::fs::create_dir_all(scratch).expect("scratch folder");
    let out_path = scratch.join(format!("run-{n}.stdout"));
    let err_path = scratch.join(format!("run-{n}.stderr"));
    let out = std::fs::File::create(&out_path).expect("stdout file");
    let err = std::fs::File::create(&err_path).expect("stderr file");
    cmd.stdout(out)
        .stderr(err)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        // Its own group, so a timeout also ends the Windows processes it started
        // (Wine forks them from their parent: they stay in the group).
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {:?}: {e}", cmd.get_program()));
    if let Some(bytes) = stdin {
        // Small inputs only: a pipe buffer holds them even if nobody reads.
        let mut input = child.stdin.take().expect("piped stdin");
        input.write_all(bytes).expect("writing stdin");
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            let partial = Captured {
                code: None,
                stdout: std::fs::read(&out_path).unwrap_or_default(),
                stderr: std::fs::read(&err_path).unwrap_or_default(),
                elapsed: started.elapsed(),
            };
            panic!(
                "{what}: did not finish within {timeout:?}; killed. {}",
                partial.describe()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Captured {
        code: status.code(),
        stdout: std::fs::read(&out_path).expect("reading captured stdout"),
        stderr: std::fs::read(&err_path).expect("reading captured stderr"),
        elapsed: started.elapsed(),
    }
}

/// Builds a stand-in from `c/<source>` into `out` with mingw-w64, statically (no mingw
/// DLLs in the prefix). `unicode`: the source has `wmain` (`-municode`).
pub fn build_c(source: &str, out: &Path, unicode: bool, extra: &[&str]) {
    let mut cmd = Command::new(MINGW);
    if unicode {
        cmd.arg("-municode");
    }
    let output = cmd
        .args(["-static", "-O2"])
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg(c_sources().join(source))
        .output()
        .unwrap_or_else(|e| {
            panic!("{MINGW} (gcc-mingw-w64-x86-64, installed by cargo xtask test): {e}")
        });
    assert!(
        output.status.success(),
        "building {} from {source}: {}",
        out.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The path an environment variable names: a build or package the suites test, which
/// `cargo xtask test` makes and passes in. Unset, or naming nothing, is a clear failure
/// saying what the variable stands for — never a silent skip.
pub fn required_path(var: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "{var} is not set: it names {what}. Run the suites through `cargo xtask test`, \
             which builds it and sets it."
        )
    });
    assert!(
        path.exists(),
        "{var}={}: no such file or folder ({what})",
        path.display()
    );
    path
}

/// The stand-ins a repair.cmd run on an agent needs, built into `tools`: IpXfer.exe and
/// IpXfer_x64.exe (`c/fake_ipxfer.c`), and for the Windows programs the script calls by
/// full path ([`install_system_stand_ins`] puts them there): certutil.exe (Wine's prints
/// nothing; `-hashfile` and `-dump` as Windows prints them), fltmc.exe (missing in
/// Wine), net.exe (Wine's `net session` always succeeds), sc.exe (`sc query ntrtscan`,
/// a slow agent service on demand; Wine's knows no such service) and icacls.exe (Wine's
/// is a stub: the stand-in records its arguments).
pub fn build_agent_stand_ins(tools: &Path) {
    std::fs::create_dir_all(tools).unwrap_or_else(|e| panic!("{}: {e}", tools.display()));
    build_c("fake_ipxfer.c", &tools.join("IpXfer.exe"), true, &[]);
    build_c(
        "fake_ipxfer.c",
        &tools.join("IpXfer_x64.exe"),
        true,
        &["-DIPXFER_NAME=L\"IpXfer_x64.exe\""],
    );
    build_c("certutil.c", &tools.join("certutil.exe"), true, &[]);
    build_c("icacls.c", &tools.join("icacls.exe"), true, &[]);
    // net.c, fltmc.c and sc.c have a plain main(); -municode wants wmain.
    build_c("fltmc.c", &tools.join("fltmc.exe"), false, &[]);
    build_c("net.c", &tools.join("net.exe"), false, &[]);
    build_c("sc.c", &tools.join("sc.exe"), false, &[]);
}

/// The Windows programs repair.cmd calls by full path (`%SystemRoot%\System32\...`)
/// for which a stand-in replaces Wine's own.
pub const SYSTEM_STAND_INS: &[&str] = &[
    "certutil.exe",
    "fltmc.exe",
    "icacls.exe",
    "net.exe",
    "sc.exe",
];

/// Copies the stand-ins [`build_agent_stand_ins`] built into `tools` over Wine's own in
/// the prefix's system32: repair.cmd reaches them only by full path. Wine runs them
/// only for processes given [`stand_in_overrides`] (shared TESTING.md), so the rest of
/// the prefix keeps its builtins.
pub fn install_system_stand_ins(prefix: &WinePrefix, tools: &Path) {
    for tool in SYSTEM_STAND_INS {
        std::fs::copy(tools.join(tool), prefix.system32().join(tool))
            .unwrap_or_else(|e| panic!("installing the {tool} stand-in: {e}"));
    }
}

/// WINEDLLOVERRIDES for a repair.cmd run: the suites' own ([`DLL_OVERRIDES`]), the
/// system32 stand-ins as native programs, and `version=n,b`: on Windows version.dll is
/// not one of the KnownDLLs, so a version.dll in a program's folder is loaded before
/// system32's, which is what a planted DLL relies on; Wine prefers its builtin unless
/// told so.
pub fn stand_in_overrides() -> String {
    format!(
        "{DLL_OVERRIDES};{}=n;version=n,b",
        SYSTEM_STAND_INS.join(",")
    )
}

/// Builds `c/planted_version.c` as a hostile `version.dll` at `out`.
pub fn build_planted_dll(out: &Path) {
    build_c("planted_version.c", out, false, &["-shared"]);
}

/// Folders repair.cmd made under `%SystemRoot%\Temp` (`certmend-*`) that are still there:
/// it must remove its own on every path.
pub fn leftover_work_folders(prefix: &WinePrefix) -> Vec<String> {
    let temp = prefix.drive_c().join("windows/temp");
    let Ok(entries) = std::fs::read_dir(&temp) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.to_ascii_lowercase().starts_with("certmend-"))
        .collect();
    found.sort();
    found
}

/// The fields of a receipt line as repair.cmd writes them now: every value quoted (the
/// test fails on an unquoted one), so that `;` and `=` inside a value stay there.
pub fn receipt_fields(receipt: &str) -> Vec<(&str, &str)> {
    let (magic, mut rest) = receipt
        .trim_end()
        .split_once(';')
        .unwrap_or_else(|| panic!("not a receipt line: {receipt}"));
    assert_eq!(magic, "certmend-receipt=1", "{receipt}");
    let mut out = Vec::new();
    loop {
        let (key, after) = rest.split_once('=').unwrap_or_else(|| panic!("{receipt}"));
        let quoted = after
            .strip_prefix('"')
            .unwrap_or_else(|| panic!("{key} is not quoted: {receipt}"));
        let end = quoted.find('"').unwrap_or_else(|| panic!("{receipt}"));
        out.push((key, &quoted[..end]));
        match quoted[end + 1..].strip_prefix(';') {
            Some(next) => rest = next,
            None => {
                assert_eq!(&quoted[end + 1..], "", "{receipt}");
                return out;
            }
        }
    }
}

pub fn receipt_field<'a>(receipt: &'a str, key: &str) -> &'a str {
    receipt_fields(receipt)
        .into_iter()
        .find_map(|(k, v)| (k == key).then_some(v))
        .unwrap_or_else(|| panic!("{key} not in {receipt}"))
}

/// Builds the test-only `bcryptprimitives.dll` (see `c/bcryptprimitives.c`) into `dir`.
pub fn build_bcrypt_shim(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("shim folder");
    let dll = dir.join("bcryptprimitives.dll");
    let c = c_sources();
    let output = Command::new(MINGW)
        .args(["-shared", "-O2", "-o"])
        .arg(&dll)
        .arg(c.join("bcryptprimitives.c"))
        .arg(c.join("bcryptprimitives.def"))
        .arg("-lbcrypt")
        .output()
        .unwrap_or_else(|e| panic!("{MINGW}: {e}"));
    assert!(
        output.status.success(),
        "building bcryptprimitives.dll: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dll
}

/// A registry view: `HKLM\SOFTWARE\...` as 64-bit programs see it, or as 32-bit ones do
/// (`HKLM\SOFTWARE\WOW6432Node\...` on 64-bit Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Bits64,
    Bits32,
}

impl View {
    /// `key` (`HKLM\SOFTWARE\...`) in this view, spelled out for a .reg file.
    pub fn key(self, key: &str) -> String {
        let rest = key
            .strip_prefix(r"HKLM\SOFTWARE\")
            .unwrap_or_else(|| panic!("{key}: only HKLM\\SOFTWARE\\... keys are supported"));
        match self {
            View::Bits64 => format!(r"HKEY_LOCAL_MACHINE\SOFTWARE\{rest}"),
            View::Bits32 => format!(r"HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\{rest}"),
        }
    }
}

/// A string escaped for a .reg file.
fn reg_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', r"\\").replace('"', "\\\""))
}

/// A fresh Wine prefix (64-bit, booted) in `<root>/prefix`, with the bcryptprimitives
/// shim installed; scratch files in `<root>/runs`. Made once per test binary and never
/// dropped (a static), so it lives in the target folder, not a temporary folder that
/// would leak: the next run removes it first.
pub struct WinePrefix {
    root: PathBuf,
    prefix: PathBuf,
}

impl WinePrefix {
    /// Removes whatever `root` held (a server left by an interrupted run first), makes
    /// and boots a new prefix and starts a watchdog that stops its wineserver once this
    /// test process has gone, however it ends.
    pub fn fresh(root: &Path) -> Self {
        Self::remove(root);
        Self::boot(root)
    }

    /// Makes and boots a prefix in `root/prefix` (not there yet).
    fn boot(root: &Path) -> Self {
        let prefix = root.join("prefix");
        std::fs::create_dir_all(&prefix).expect("prefix folder");
        let this = WinePrefix {
            root: root.to_path_buf(),
            prefix,
        };

        // A persistent server: Wine's services would restart (seconds) each time it
        // stopped between two runs. The watchdog below ends it.
        let mut server = Command::new(WINESERVER);
        let status = quiet(wine_env(&mut server, &this.prefix).arg("-p"))
            .status()
            .expect("wineserver64 (package wine64, installed by cargo xtask test)");
        assert!(status.success(), "wineserver -p");
        let watchdog = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; exec {WINESERVER} -k",
            std::process::id()
        );
        let mut sh = Command::new("sh");
        // Deliberately never waited for: it must outlive this process (init reaps it).
        #[allow(clippy::zombie_processes)]
        quiet(wine_env(&mut sh, &this.prefix).args(["-c", &watchdog]))
            .spawn()
            .expect("sh");

        let boot = this.run(
            this.wine().args(["wineboot", "-i"]),
            None,
            Duration::from_secs(300),
            "wineboot -i",
        );
        assert_eq!(boot.code, Some(0), "wineboot -i: {}", boot.describe());

        let shim = build_bcrypt_shim(&root.join("shim"));
        std::fs::copy(&shim, this.system32().join("bcryptprimitives.dll"))
            .expect("installing the bcryptprimitives shim");
        this
    }

    /// A fresh prefix for this test process in `<base>/<pid>`: two runs of one suite at
    /// once (two people, or cargo and CI, sharing a target folder) must not remove each
    /// other's prefix. Folders of runs whose process is gone are removed first (statics
    /// are never dropped, so a run cannot clean up after itself).
    pub fn for_this_process(base: &Path) -> Self {
        std::fs::create_dir_all(base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
        let me = std::process::id();
        for entry in std::fs::read_dir(base).expect("reading the prefixes' folder") {
            let entry = entry.expect("reading the prefixes' folder");
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(pid) = name.parse::<u32>() else {
                continue;
            };
            // In use while its process lives: the same start time in its owner file, or no
            // owner file yet (being claimed right now).
            let owner = std::fs::read_to_string(entry.path().join("owner")).ok();
            let in_use = process_start(pid)
                .is_some_and(|start| owner.as_deref().is_none_or(|owner| owner.trim() == start));
            if pid != me && !in_use {
                Self::remove(&entry.path());
            }
        }
        // Left by an earlier process that had this pid: remove it, then claim the folder
        // before booting, so that a run starting meanwhile leaves it alone.
        let root = base.join(me.to_string());
        Self::remove(&root);
        std::fs::create_dir_all(&root).expect("prefix folder");
        let start = process_start(me).expect("this process's start time");
        std::fs::write(root.join("owner"), start).expect("writing the owner file");
        Self::boot(&root)
    }

    /// Stops the server of a prefix left in `root` and removes the folder.
    fn remove(root: &Path) {
        if root.exists() {
            let mut kill = Command::new(WINESERVER);
            let _ = quiet(wine_env(&mut kill, &root.join("prefix")).arg("-k")).status();
            // Another run may be removing the same stale folder.
            match std::fs::remove_dir_all(root) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("removing {}: {e}", root.display())
                }
                _ => {}
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The WINEPREFIX folder.
    pub fn path(&self) -> &Path {
        &self.prefix
    }

    pub fn drive_c(&self) -> PathBuf {
        self.prefix.join("drive_c")
    }

    pub fn system32(&self) -> PathBuf {
        self.drive_c().join("windows/system32")
    }

    /// Where [`WinePrefix::run`] keeps captured output.
    pub fn scratch(&self) -> PathBuf {
        self.root.join("runs")
    }

    /// The Linux user name Wine uses for `C:\users\<user>`.
    pub fn user(&self) -> String {
        std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                let out = Command::new("id").arg("-un").output().expect("id -un");
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            })
    }

    /// `%LOCALAPPDATA%` in the prefix, as a Linux path.
    pub fn local_app_data(&self) -> PathBuf {
        self.drive_c()
            .join("users")
            .join(self.user())
            .join("AppData/Local")
    }

    /// `program` with the prefix's environment.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        wine_env(&mut cmd, &self.prefix);
        cmd
    }

    /// The wine loader with the prefix's environment; add the Windows program and its
    /// arguments.
    pub fn wine(&self) -> Command {
        self.command(WINE)
    }

    /// [`run`] with this prefix's scratch folder.
    pub fn run(
        &self,
        cmd: &mut Command,
        stdin: Option<&[u8]>,
        timeout: Duration,
        what: &str,
    ) -> Captured {
        run(cmd, stdin, timeout, &self.scratch(), what)
    }

    /// `wine <args>`, which must exit 0 within a minute.
    pub fn wine_ok(&self, args: &[&str]) -> Captured {
        let what = format!("wine {args:?}");
        let out = self.run(self.wine().args(args), None, Duration::from_secs(60), &what);
        assert_eq!(out.code, Some(0), "{what}: {}", out.describe());
        out
    }

    /// Makes the prefix report another Windows version (`win10`, `win7`, ...): a new
    /// Wine 8 prefix says Windows 7 (build 7601), which installers for Windows 10 and
    /// later rightly refuse.
    pub fn set_windows_version(&self, version: &str) {
        self.wine_ok(&["winecfg", "/v", version]);
        let out = self.wine_ok(&["winecfg", "/v"]);
        assert_eq!(
            out.stdout_text().trim(),
            version,
            "winecfg /v after setting {version}"
        );
    }

    /// Makes `letter:` a drive standing for the Linux folder `target` (replacing any
    /// earlier mapping of that letter).
    pub fn map_drive(&self, letter: char, target: &Path) {
        let link = self.drive_link(letter);
        self.unmap_drive(letter);
        std::os::unix::fs::symlink(target, &link)
            .unwrap_or_else(|e| panic!("mapping {letter}: to {}: {e}", target.display()));
    }

    pub fn unmap_drive(&self, letter: char) {
        let link = self.drive_link(letter);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link)
                .unwrap_or_else(|e| panic!("removing {}: {e}", link.display()));
        }
    }

    fn drive_link(&self, letter: char) -> PathBuf {
        self.prefix
            .join("dosdevices")
            .join(format!("{}:", letter.to_ascii_lowercase()))
    }

    /// Imports .reg lines (after the header) with `regedit /S`. The file is UTF-16LE
    /// (version 5.00), so values may hold any character.
    pub fn import_reg(&self, body: &str) {
        static FILES: AtomicUsize = AtomicUsize::new(0);
        let n = FILES.fetch_add(1, Ordering::Relaxed);
        let text = format!("Windows Registry Editor Version 5.00\r\n\r\n{body}\r\n");
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let file = self.scratch().join(format!("import-{n}.reg"));
        std::fs::create_dir_all(self.scratch()).expect("scratch folder");
        std::fs::write(&file, bytes).expect("writing the .reg file");
        let out = self.run(
            self.wine().args(["regedit", "/S"]).arg(z_path(&file)),
            None,
            Duration::from_secs(60),
            "regedit /S",
        );
        assert_eq!(out.code, Some(0), "regedit /S:\n{body}\n{}", out.describe());
    }

    /// Sets the string value `name` of `key` (`HKLM\SOFTWARE\...`) in `view`.
    pub fn set_reg_string(&self, view: View, key: &str, name: &str, value: &str) {
        self.import_reg(&format!(
            "[{}]\r\n{}={}\r\n",
            view.key(key),
            reg_string(name),
            reg_string(value)
        ));
    }

    /// Removes `key` (`HKLM\SOFTWARE\...`) and everything below it, in both views.
    pub fn delete_reg_key(&self, key: &str) {
        self.import_reg(&format!(
            "[-{}]\r\n\r\n[-{}]\r\n",
            View::Bits64.key(key),
            View::Bits32.key(key)
        ));
    }

    /// `reg query <key> /v <name> /reg:NN`: the value as reg.exe prints it, or `None`.
    pub fn query_reg(&self, view: View, key: &str, name: &str) -> Option<String> {
        let flag = match view {
            View::Bits64 => "/reg:64",
            View::Bits32 => "/reg:32",
        };
        let out = self.run(
            self.wine().args(["reg", "query", key, "/v", name, flag]),
            None,
            Duration::from_secs(60),
            "reg query",
        );
        if out.code != Some(0) {
            return None;
        }
        let text = out.stdout_text();
        text.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(name)?;
            let rest = rest.trim_start();
            let (_kind, value) = rest.split_once(char::is_whitespace)?;
            Some(value.trim().to_string())
        })
    }
}

/// A process's start time (clock ticks since boot, /proc/<pid>/stat field 22): with
/// the pid it names one process, even after the pid is reused. `None` when it is gone.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// A private Japanese locale (Wine decodes batch files and picks its code pages by
/// `LANG`, never by `chcp`), compiled into `dir` without touching the system: run with
/// `LOCPATH=<returned path> LANG=ja_JP.UTF-8`.
pub fn japanese_locale(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("locale folder");
    let status = quiet(
        Command::new("localedef")
            .args(["-i", "ja_JP", "-f", "UTF-8"])
            .arg(dir.join("ja_JP.UTF-8")),
    )
    .status()
    .expect("localedef (package locales)");
    assert!(status.success(), "localedef ja_JP.UTF-8");
    dir.to_path_buf()
}
