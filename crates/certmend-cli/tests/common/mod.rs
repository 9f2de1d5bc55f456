//! Helpers shared by the black-box test files (`bundle.rs`, `faults.rs`): the demo
//! server, generated lists and IpXfer stand-ins, runs of `certmend`, and bundle checks
//! that recompute every hash here. Each test file uses a part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
#[cfg(unix)]
use std::process::Command as StdCommand;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const INSTALL: &str = "Program Files (x86)/Trend Micro/Apex One";
pub const SERVER_CERT: &str = "PCCSRV/Pccnt/Common/OfcNTCer.dat";
pub const SERVER_IPXFER: &str = "PCCSRV/Admin/Utility/IpXfer";
pub const DEMO_LIST: &str = "agents/CertificateManager-mismatched.csv";
pub const DEMO_AGENTS: usize = 36;
pub const HEADER: &str = "Computer Name,IP Address,Domain,GUID,MAC Address,OS";
pub const TEMP_PREFIX: &str = ".certmend-tmp-";
pub const IPXFER_NAMES: [&str; 2] = ["IpXfer.exe", "IpXfer_x64.exe"];

/// `certmend demo ROOT --seed SEED` with a throwaway database; the install folder.
pub fn write_demo(root: &Path, seed: u64, scratch_db: &Path) -> PathBuf {
    Command::cargo_bin("certmend")
        .unwrap()
        .env_remove("CERTMEND_DB")
        .arg("--db")
        .arg(scratch_db)
        .args(["demo", "--seed", &seed.to_string()])
        .arg(root)
        .assert()
        .success();
    let install = root.join(INSTALL);
    assert!(install.is_dir(), "{} was not written", install.display());
    install
}

/// A list in the demo's format: every name quoted (RFC 4180), GUIDs and IPs distinct.
pub fn list_csv(names: &[String]) -> String {
    let mut text = format!("\u{FEFF}{HEADER}\r\n");
    for (i, name) in names.iter().enumerate() {
        text.push_str(&format!(
            "\"{}\",10.{}.{}.{},Workgroup,{:08x}-0000-4000-8000-{:012x},00-11-22-33-44-55,Windows 11 Pro\r\n",
            name.replace('"', "\"\""),
            100 + i / 65536,
            (i / 256) % 256,
            i % 256,
            0xB0_u32,
            i
        ));
    }
    text
}

pub fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:02}")).collect()
}

/// Runs `cmd`, asserting its exit status (with both outputs on failure).
pub fn run(cmd: &mut Command, code: i32) -> Output {
    let output = cmd.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(code),
        "{cmd:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Exit 2 and exactly one stderr line `certmend: error[CODE]: ...`; that line.
pub fn one_line_error(output: &Output, code: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {stderr}");
    let prefix = format!("certmend: error[{code}]: ");
    assert!(
        lines[0].starts_with(&prefix),
        "wanted {prefix}...: {stderr}"
    );
    lines[0].to_string()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Names in `dir`, sorted (empty when `dir` does not exist).
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Every path under `dir`, depth first.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    all.sort();
    all
}

/// Bundle folders at `out` (everything but temporary folders, `tools`, `receipts` and
/// the entry script with its README at the root).
pub fn bundle_folders(out: &Path) -> Vec<PathBuf> {
    names_in(out)
        .into_iter()
        .filter(|n| !n.starts_with(TEMP_PREFIX) && n != "tools" && n != "receipts")
        .filter(|n| n != "repair.cmd" && n != "README.txt")
        .map(|n| out.join(n))
        .collect()
}

pub fn temp_folders(out: &Path) -> Vec<String> {
    names_in(out)
        .into_iter()
        .filter(|n| n.starts_with(TEMP_PREFIX))
        .collect()
}

/// Reads `folder/manifest.json` and checks every file it lists (size and SHA-256,
/// recomputed here); shared tools (`..\tools\X`) are looked up at the output root.
pub fn check_bundle(folder: &Path) -> Result<Value, String> {
    let out = folder.parent().unwrap();
    let manifest_path = folder.join("manifest.json");
    let bytes =
        fs::read(&manifest_path).map_err(|e| format!("{}: no manifest: {e}", folder.display()))?;
    let manifest: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not JSON: {e}", manifest_path.display()))?;
    let files = manifest["files"]
        .as_array()
        .ok_or_else(|| format!("{}: no files list", manifest_path.display()))?;
    if files.is_empty() {
        return Err(format!("{}: lists no file", manifest_path.display()));
    }
    for f in files {
        let name = f["name"].as_str().unwrap_or_default();
        let path = match name.strip_prefix("..\\tools\\") {
            Some(tool) if IPXFER_NAMES.contains(&tool) => out.join("tools").join(tool),
            _ if !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.') => {
                folder.join(name)
            }
            _ => return Err(format!("{}: odd file name {name:?}", folder.display())),
        };
        let data = fs::read(&path)
            .map_err(|e| format!("{}: listed but unreadable: {e}", path.display()))?;
        if Some(data.len() as u64) != f["size"].as_u64() {
            return Err(format!(
                "{}: {} bytes, the manifest says {}",
                path.display(),
                data.len(),
                f["size"]
            ));
        }
        if f["sha256"] != sha256_hex(&data) {
            return Err(format!(
                "{}: SHA-256 {}, the manifest says {}",
                path.display(),
                sha256_hex(&data),
                f["sha256"]
            ));
        }
    }
    Ok(manifest)
}

pub fn verify_bundle(folder: &Path) -> Value {
    check_bundle(folder).unwrap_or_else(|e| panic!("{e}"))
}

/// Stand-in IpXfer executables of `size` bytes each (different contents) in a new folder.
pub fn ipxfer_stand_ins(dir: &Path, size: usize, seed: u8) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    for (k, name) in IPXFER_NAMES.iter().enumerate() {
        let mut state = 0x9E37_79B9_u32 ^ (u32::from(seed) << 8) ^ k as u32;
        let mut data = Vec::with_capacity(size);
        data.extend_from_slice(b"MZ");
        while data.len() < size {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            data.extend_from_slice(&state.to_le_bytes());
        }
        data.truncate(size);
        fs::write(dir.join(name), data).unwrap();
    }
    dir.to_path_buf()
}

/// One receipt line as repair.cmd writes it on `computer` (without the line end).
/// certmend counts it only when `computer` is the bundle's agent and a REPAIRED's
/// `after` is the bundle's certificate.
pub fn receipt(
    computer: &str,
    bundle: &str,
    run: &str,
    exit: &str,
    before: &str,
    after: &str,
    result: &str,
) -> String {
    format!(
        "certmend-receipt=1;computer={computer};bundle={bundle};run={run};date=2026/11/25;time=10:01:02.03;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit={exit};before={before};after={after};result={result}"
    )
}

/// Agent name -> bundle id, from the manifests on the stick.
pub fn bundle_ids(out: &Path) -> BTreeMap<String, String> {
    bundle_folders(out)
        .iter()
        .map(|f| {
            let m = verify_bundle(f);
            (
                m["agent"]["name"].as_str().unwrap().to_string(),
                m["bundle_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Mounts (Linux, as root)

/// A mounted file system, unmounted when dropped (lazily if something still uses it).
#[cfg(target_os = "linux")]
pub struct Mount(pub PathBuf);

#[cfg(target_os = "linux")]
impl Drop for Mount {
    fn drop(&mut self) {
        let ok = StdCommand::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = StdCommand::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Running as root (mounting needs it; CI runs as root).
#[cfg(unix)]
pub fn is_root() -> bool {
    let uid = StdCommand::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&uid.stdout).trim() == "0"
}

/// A tmpfs mounted on `dir` (created) with `options` (e.g. `size=2m`, `ro`), or None
/// with a message saying why the calling test is skipped (not root, or mounting is not
/// permitted here).
#[cfg(target_os = "linux")]
pub fn mount_tmpfs(dir: &Path, options: &str, test: &str) -> Option<Mount> {
    if !is_root() {
        eprintln!("SKIPPED {test}: mounting a tmpfs needs root (CI runs as root)");
        return None;
    }
    fs::create_dir_all(dir).unwrap();
    let output = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", options, "tmpfs"])
        .arg(dir)
        .output()
        .unwrap();
    if !output.status.success() {
        eprintln!(
            "SKIPPED {test}: mount -t tmpfs -o {options} is not permitted here: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    Some(Mount(dir.to_path_buf()))
}
