//! Removable drives to offer as export targets (any folder may still be chosen).
//!
//! Linux: mount points of block devices whose `/sys/block/<dev>/removable` is 1. Windows:
//! logical disks of drive type 2 (removable), asked of PowerShell so the code stays free
//! of `unsafe` Win32 calls. Parsing is pure and tested on every OS.

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drive {
    pub mount_point: PathBuf,
    /// The device (`/dev/sdb1`) or drive letter (`E:`).
    pub device: String,
    /// Free bytes, when they could be read.
    pub free: Option<u64>,
}

/// Removable drives that are mounted now.
pub fn removable_drives() -> Vec<Drive> {
    let mut drives = if cfg!(windows) {
        windows_drives()
    } else {
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        linux_drives(&mounts, Path::new("/sys/block"))
    };
    for d in &mut drives {
        d.free = fs4::available_space(&d.mount_point).ok();
    }
    drives
}

/// Mounts (from /proc/mounts text) whose block device is removable (per `sys_block`).
pub fn linux_drives(proc_mounts: &str, sys_block: &Path) -> Vec<Drive> {
    proc_mounts
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let device = parts.next()?;
            let mount = parts.next()?;
            let name = device.strip_prefix("/dev/")?;
            removable_disk(name, sys_block).then(|| Drive {
                mount_point: PathBuf::from(unescape_mount(mount)),
                device: device.to_string(),
                free: None,
            })
        })
        .collect()
}

/// `sdb1` belongs to disk `sdb`, `mmcblk0p1` to `mmcblk0`: the longest /sys/block
/// entry the partition name starts with.
fn removable_disk(partition: &str, sys_block: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(sys_block) else {
        return false;
    };
    let disk = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|disk| partition.starts_with(disk.as_str()))
        .max_by_key(String::len);
    disk.and_then(|d| std::fs::read_to_string(sys_block.join(d).join("removable")).ok())
        .is_some_and(|v| v.trim() == "1")
}

/// /proc/mounts writes spaces and tabs in paths as octal escapes.
fn unescape_mount(path: &str) -> String {
    path.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\134", "\\")
}

fn windows_drives() -> Vec<Drive> {
    let output = std::process::Command::new(crate::paths::windows_tool(
        r"WindowsPowerShell\v1.0\powershell.exe",
    ))
    .args([
        "-NoProfile",
        "-NonInteractive",
        "-Command",
        "Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=2' | ForEach-Object { $_.DeviceID }",
    ])
    .output();
    match output {
        Ok(o) if o.status.success() => parse_drive_letters(&String::from_utf8_lossy(&o.stdout)),
        _ => Vec::new(),
    }
}

/// Lines such as `E:` from PowerShell.
pub fn parse_drive_letters(text: &str) -> Vec<Drive> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.len() == 2 && l.ends_with(':') && l.as_bytes()[0].is_ascii_alphabetic())
        .map(|letter| Drive {
            mount_point: PathBuf::from(format!("{letter}\\")),
            device: letter.to_string(),
            free: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_removable_mounts() {
        let tmp = tempfile::tempdir().unwrap();
        for (disk, removable) in [("sda", "0"), ("sdb", "1"), ("mmcblk0", "1")] {
            std::fs::create_dir_all(tmp.path().join(disk)).unwrap();
            std::fs::write(
                tmp.path().join(disk).join("removable"),
                format!("{removable}\n"),
            )
            .unwrap();
        }
        let mounts = "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /media/admin/USB\\040STICK vfat rw 0 0\nproc /proc proc rw 0 0\n/dev/mmcblk0p1 /mnt/sd exfat rw 0 0\n";
        let drives = linux_drives(mounts, tmp.path());
        let points: Vec<_> = drives
            .iter()
            .map(|d| d.mount_point.to_string_lossy().into_owned())
            .collect();
        assert_eq!(points, vec!["/media/admin/USB STICK", "/mnt/sd"]);
    }

    #[test]
    fn parses_windows_drive_letters() {
        let drives = parse_drive_letters("E:\r\nF:\r\n\r\nnot a drive\r\n");
        assert_eq!(drives.len(), 2);
        assert_eq!(drives[0].device, "E:");
    }
}
