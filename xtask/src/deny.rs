//! `cargo xtask deny`: cargo-deny over the whole dependency graph with deny.toml —
//! licences, bans and sources always; RustSec advisories when its database can be
//! fetched (it lives on GitHub, which this project's CI cannot reach: then the run says
//! so in a banner and does not pretend the advisories were checked).

use std::process::Command;

use crate::{cargo, ensure_cargo_tool, status, status_and_stderr, workspace_root, Result};

const CARGO_DENY_VERSION: &str = "0.20.2";

pub fn deny(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("deny: unexpected argument {arg}"));
    }
    ensure_cargo_tool("cargo-deny", CARGO_DENY_VERSION, "cargo-deny")?;
    let root = workspace_root();

    let mut offline = cargo();
    offline.current_dir(&root).args([
        "deny",
        "--locked",
        "check",
        "--hide-inclusion-graph",
        "bans",
        "licenses",
        "sources",
    ]);
    status(offline, "cargo deny check bans licenses sources")?;

    let mut advisories = cargo();
    advisories
        .current_dir(&root)
        .args(["deny", "--locked", "check", "advisories"]);
    advisories_check(advisories)
}

fn advisories_check(cmd: Command) -> Result {
    let (status, stderr) = status_and_stderr(cmd, "cargo deny check advisories")?;
    if status.success() {
        return Ok(());
    }
    if stderr.contains("failed to fetch advisory database") {
        eprintln!(
            "\n==================================================================\n\
             xtask: ADVISORIES NOT CHECKED: RustSec's advisory database could not\n\
             be fetched (no route to GitHub from here). Licences, bans and sources\n\
             were checked. Run `cargo xtask deny` where GitHub is reachable.\n\
             ==================================================================\n"
        );
        return Ok(());
    }
    Err(format!("cargo deny check advisories failed ({status})"))
}
