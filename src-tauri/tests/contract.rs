#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The window's commands are named in four places that nothing else ties together:
//! lib.rs's handler list, build.rs's `COMMANDS` (what a capability may grant), the
//! capability file (what it does grant) and COMMANDS.md; and the window calls them by
//! literal names. A command missing from one of them fails only at run time ("not
//! allowed", or "command not found"), as `restore_kit` once did: this test fails first.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let to = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?}"))
        + from;
    &text[from..to]
}

/// `"name"` literals in `text`.
fn quoted(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn handlers() -> BTreeSet<String> {
    let lib = read("src/lib.rs");
    between(&lib, "generate_handler![", "]")
        .split(',')
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit("::").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_four_command_lists_agree() {
    let handlers = handlers();
    assert!(handlers.len() >= 20, "{handlers:?}");
    let build = quoted(between(
        &read("build.rs"),
        "const COMMANDS: &[&str] = &[",
        "];",
    ));
    assert_eq!(build, handlers, "build.rs COMMANDS vs lib.rs handlers");
    // The contract the window's contract.js is generated from.
    let declared: BTreeSet<String> = certmend_core::contract::COMMANDS
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        declared, handlers,
        "certmend_core::contract::COMMANDS vs lib.rs handlers"
    );

    let capability: serde_json::Value =
        serde_json::from_str(&read("capabilities/default.json")).unwrap();
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(
        granted, handlers,
        "capabilities/default.json vs lib.rs handlers"
    );

    let doc = read("COMMANDS.md");
    let undocumented: Vec<&String> = handlers
        .iter()
        .filter(|c| !doc.contains(&format!("`{c}`")) && !doc.contains(&format!("`{c} ")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in COMMANDS.md: {undocumented:?}"
    );
}

#[test]
fn the_window_calls_only_commands_that_exist() {
    let handlers = handlers();
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    let mut called = BTreeSet::new();
    for entry in fs::read_dir(&ui).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            let text = fs::read_to_string(&path).unwrap();
            for part in text.split("invoke(\"").skip(1) {
                let name = part.split('"').next().unwrap();
                called.insert((name.to_string(), path.file_name().unwrap().to_owned()));
            }
        }
    }
    assert!(called.len() >= 20, "{called:?}");
    let unknown: Vec<_> = called
        .iter()
        .filter(|(name, _)| !handlers.contains(name))
        .collect();
    assert!(unknown.is_empty(), "the window calls: {unknown:?}");
}
