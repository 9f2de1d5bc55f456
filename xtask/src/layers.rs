//! `cargo xtask layers`: certmend-core's modules import only their own layer and the
//! ones below it, so the core has no cycles and the demo stays off the production path:
//!
//!   leaf helpers → readers → store → services → ops → demo
//!
//! Each module of the core is placed in one layer below ([`LAYERS`]); a file's `crate::`
//! paths (in `use` lines and inline) are read from its text, test modules left out, and
//! a path into a higher layer is an error naming the file, the line and both layers.
//! A module missing from the table is an error too, so a new module must be placed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{workspace_root, Result};

/// Lowest first. A name is a module path under `crate::`; the longest match wins, so
/// `agents::import` (a service that writes the store) sits above `agents` (the list
/// reader).
pub const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaf helpers",
        &[
            "error",
            "hexfmt",
            "fsutil",
            "durable",
            "paths",
            "progress",
            "der_peek",
            "console",
            "untrusted",
            "ErrorCode",
            "CodedMessage",
        ],
    ),
    (
        "readers",
        &[
            "cert",
            "cert_signature",
            "keypair",
            "agents",
            "script",
            "script::entry",
            "ipxfer",
            "server",
            "demo_marker",
            "dropped",
            "drives",
            "watch",
            "bundle::names",
            "receipts::format",
        ],
    ),
    ("store", &["store"]),
    (
        "services",
        &[
            "inventory",
            "agents::import",
            "compare",
            "bundle",
            "receipts",
            "backup",
            "restore",
            "certificate_manager",
        ],
    ),
    ("ops", &["ops", "contract"]),
    ("demo", &["demo"]),
];

/// Files that are not production code (compiled only for tests).
const TEST_ONLY: &[&str] = &["testutil.rs"];

#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub file: PathBuf,
    pub line: usize,
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} imports {}, a higher layer",
            self.file.display(),
            self.line,
            self.from,
            self.to
        )
    }
}

/// The layer of a module path (`agents::import::ImportReport` → services).
fn layer_of(path: &[String]) -> Option<(usize, String)> {
    let mut best: Option<(usize, usize, String)> = None;
    for (index, (name, modules)) in LAYERS.iter().enumerate() {
        for module in *modules {
            let parts: Vec<&str> = module.split("::").collect();
            let matches = parts.len() <= path.len() && parts.iter().zip(path).all(|(a, b)| a == b);
            if matches && best.as_ref().is_none_or(|(len, _, _)| parts.len() > *len) {
                best = Some((parts.len(), index, format!("{module} ({name})")));
            }
        }
    }
    best.map(|(_, index, label)| (index, label))
}

/// The module path of a file under src/: `agents/import.rs` → `agents::import`,
/// `bundle/mod.rs` → `bundle`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        if stem != "mod" {
            parts.push(stem);
        }
    }
    parts
}

/// Production text: everything before the first `#[cfg(test)]` test module.
fn production(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("#[cfg(test)]") {
            let rest = &text[offset + line.len()..];
            if rest.trim_start().starts_with("mod ") {
                return &text[..offset];
            }
        }
        offset += line.len();
    }
    text
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every module path a `crate::` reference at the start of `rest` names, expanding
/// `{a, b::c}` groups: `crate::{x::Y, z}` → [[x, Y], [z]].
fn paths_after(rest: &str) -> Vec<Vec<String>> {
    fn parse(text: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
        let mut path = prefix.to_vec();
        let mut i = 0;
        let bytes: Vec<char> = text.chars().collect();
        loop {
            while i < bytes.len() && bytes[i].is_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == '{' {
                i += 1;
                loop {
                    let used = parse(&bytes[i..].iter().collect::<String>(), &path, out);
                    i += used;
                    while i < bytes.len() && (bytes[i].is_whitespace() || bytes[i] == ',') {
                        i += 1;
                    }
                    if i >= bytes.len() || bytes[i] == '}' {
                        return i + 1;
                    }
                }
            }
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            if i > start {
                path.push(bytes[start..i].iter().collect());
            }
            if i + 1 < bytes.len() && bytes[i] == ':' && bytes[i + 1] == ':' {
                i += 2;
                continue;
            }
            if path.len() > prefix.len() {
                out.push(path);
            }
            return i;
        }
    }
    let mut out = Vec::new();
    parse(rest, &[], &mut out);
    out
}

/// The violations in one file's text.
pub fn check_text(relative: &Path, text: &str) -> Vec<Violation> {
    let module = module_of(relative);
    let Some((own, own_label)) = layer_of(&module) else {
        return vec![Violation {
            file: relative.to_path_buf(),
            line: 0,
            from: module.join("::"),
            to: "no layer: place the module in xtask/src/layers.rs LAYERS".into(),
        }];
    };
    let text = production(text);
    let mut found = Vec::new();
    for (index, _) in text.match_indices("crate::") {
        let before = text[..index].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == '$') {
            continue;
        }
        // Comments (docs linking to another module) import nothing.
        let line_start = text[..index].rfind('\n').map_or(0, |i| i + 1);
        if text[line_start..index].contains("//") {
            continue;
        }
        let line = text[..index].matches('\n').count() + 1;
        let rest = &text[index + "crate::".len()..];
        // A path ends by the statement's end at the latest.
        let rest = &rest[..rest.find(';').unwrap_or(rest.len())];
        for path in paths_after(rest) {
            if let Some((layer, label)) = layer_of(&path) {
                if layer > own {
                    found.push(Violation {
                        file: relative.to_path_buf(),
                        line,
                        from: own_label.clone(),
                        to: label,
                    });
                }
            }
        }
    }
    found
}

/// certmend-core's Rust files under src/, sorted (the structure checks read them all).
pub(crate) fn core_sources() -> Result<(PathBuf, Vec<PathBuf>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
        let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
        Ok(())
    }
    let src = workspace_root().join("crates/certmend-core/src");
    let mut files = Vec::new();
    walk(&src, &mut files)?;
    files.sort();
    Ok((src, files))
}

pub fn layers(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("layers: unexpected argument {arg}"));
    }
    let (src, files) = core_sources()?;
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap_or(file);
        let name = relative.to_string_lossy();
        if name == "lib.rs" || TEST_ONLY.contains(&name.as_ref()) {
            continue;
        }
        let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        violations.extend(check_text(relative, &text));
    }
    if violations.is_empty() {
        eprintln!(
            "xtask: certmend-core's {} files import only their own layer and those below",
            files.len()
        );
        return Ok(());
    }
    let lines: Vec<String> = violations.iter().map(|v| format!("  {v}")).collect();
    Err(format!(
        "certmend-core imports against its layers (leaf → readers → store → services → ops → demo):\n{}",
        lines.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        paths_after(text)
            .into_iter()
            .map(|p| p.join("::"))
            .collect()
    }

    #[test]
    fn crate_paths_are_read_with_their_groups() {
        assert_eq!(paths("store::Store;"), ["store::Store"]);
        assert_eq!(
            paths("{agents::{import::X, status}, cert};"),
            ["agents::import::X", "agents::status", "cert"]
        );
        assert_eq!(paths("demo::write_demo(&dir)"), ["demo::write_demo"]);
    }

    #[test]
    fn an_import_of_a_higher_layer_is_a_violation_and_a_lower_one_is_not() {
        let bad = "use crate::store::Store;\nfn f() { crate::demo::write_demo(); }\n";
        let found = check_text(Path::new("server.rs"), bad);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].line, found[1].line), (1, 2));
        assert!(found[1].to.starts_with("demo"), "{}", found[1]);
        let fine = "use crate::cert::Certificate;\nuse crate::paths;\n";
        assert!(check_text(Path::new("store/servers.rs"), fine).is_empty());
    }

    #[test]
    fn the_longest_module_decides_and_tests_are_left_out() {
        // agents::import is a service: it may use the store; agents (a reader) may not.
        let text = "use crate::store::Store;\n";
        assert!(check_text(Path::new("agents/import.rs"), text).is_empty());
        assert_eq!(check_text(Path::new("agents/mod.rs"), text).len(), 1);
        let with_tests = "use crate::cert;\n#[cfg(test)]\nmod tests {\n use crate::demo;\n}\n";
        assert!(check_text(Path::new("server.rs"), with_tests).is_empty());
    }

    #[test]
    fn a_module_without_a_layer_is_reported() {
        let found = check_text(Path::new("shiny.rs"), "");
        assert_eq!(found.len(), 1);
        assert!(found[0].to.contains("no layer"), "{}", found[0]);
    }

    #[test]
    fn comments_are_not_imports() {
        let text = "//! Writing is [`crate::demo`]'s.\nlet x = 1; // see crate::store\n";
        assert!(check_text(Path::new("server.rs"), text).is_empty());
    }

    #[test]
    fn macro_crate_paths_are_not_imports() {
        assert!(check_text(Path::new("server.rs"), "$crate::demo::x!()").is_empty());
    }
}
