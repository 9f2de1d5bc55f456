//! `cargo xtask contract [--check]`: writes ui/contract.js, the window's copy of what
//! Rust declares in crates/certmend-core/src/contract.rs (commands, events, statuses,
//! codes with their arguments, limits); `--check` fails when the file is stale.

use std::process::Stdio;

use crate::{cargo, workspace_root, Result};

const FILE: &str = "ui/contract.js";

pub fn contract(args: &[String]) -> Result {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        [other, ..] => return Err(format!("contract: unexpected argument {other}")),
    };
    let mut generate = cargo();
    generate
        .args([
            "run",
            "--quiet",
            "-p",
            "certmend-core",
            "--example",
            "contract",
        ])
        .stderr(Stdio::inherit());
    let output = generate
        .output()
        .map_err(|e| format!("cargo run --example contract: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo run --example contract failed ({})",
            output.status
        ));
    }
    let path = workspace_root().join(FILE);
    if check {
        let current = std::fs::read(&path).unwrap_or_default();
        if current != output.stdout {
            return Err(format!(
                "{FILE} is stale: Rust's contract changed; run `cargo xtask contract` and commit the file"
            ));
        }
        eprintln!("xtask: {FILE} matches Rust's contract");
        return Ok(());
    }
    std::fs::write(&path, &output.stdout).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: wrote {FILE}");
    Ok(())
}
