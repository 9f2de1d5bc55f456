//! The portable zip, written by Info-ZIP's zip and read back with unzip.

use std::path::Path;
use std::process::Command;

use super::PAYLOAD;
use crate::{status, Result};

/// The portable zip: the payload at the top level (Explorer's "Extract All" makes the
/// folder), written by Info-ZIP's zip.
pub(super) fn build_zip(stage: &Path, zip: &Path) -> Result {
    let _ = std::fs::remove_file(zip);
    let mut cmd = Command::new("zip");
    // -X: no Unix extra fields (owners, times beyond DOS), nothing Windows would not use.
    cmd.current_dir(stage)
        .args(["-q", "-X", "-9"])
        .arg(zip)
        .args(PAYLOAD);
    status(cmd, "zip (portable package)")
}

/// The listing must be exactly the payload, and every member must read back unchanged.
pub(super) fn check_zip(zip: &Path, stage: &Path) -> Result {
    let listing = Command::new("unzip")
        .arg("-Z1")
        .arg(zip)
        .output()
        .map_err(|e| format!("unzip: cannot start: {e}"))?;
    let mut names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    let mut wanted: Vec<String> = PAYLOAD.iter().map(|s| s.to_string()).collect();
    wanted.sort();
    if !listing.status.success() || names != wanted {
        return Err(format!(
            "{}: holds {names:?}, expected {wanted:?}",
            zip.display()
        ));
    }
    for name in PAYLOAD {
        let member = Command::new("unzip")
            .arg("-p")
            .arg(zip)
            .arg(name)
            .output()
            .map_err(|e| format!("unzip: cannot start: {e}"))?;
        let staged = std::fs::read(stage.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if !member.status.success() || member.stdout != staged {
            return Err(format!(
                "{}: {name} does not read back as written",
                zip.display()
            ));
        }
    }
    println!("xtask: zip checked: {}", names.join(" "));
    Ok(())
}
