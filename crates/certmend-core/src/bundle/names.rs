//! Folder names for bundles. Agent names come from list files and are untrusted: the
//! folder made from one is a single path component that Windows, FAT32 and exFAT accept,
//! that cmd.exe cannot expand or split when it reaches a script through `%~dp0`, and
//! that can never point outside the output folder. The manifest keeps the true name.

use std::collections::HashSet;

/// Characters replaced by `_`: forbidden on Windows/FAT (`<>:"/\|?*`) and those cmd.exe
/// would act on in a path (`% ! & ^ ( ) ;`), plus `,` `=` and `'`, which cmd treats
/// as separators in places, and `~`, which short-name expansion gives a meaning.
const REPLACED: &[char] = &[
    '<', '>', ':', '"', '/', '\\', '|', '?', '*', '%', '!', '&', '^', '(', ')', ';', ',', '=',
    '\'', '~', '`', '[', ']', '{', '}', '$', '#', '@', '+',
];

/// Longest folder name, in characters: leaves room for the path on the stick.
pub const MAX_LEN: usize = 64;

const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³",
];

/// Folder names certmend itself uses at the output root.
const OURS: &[&str] = &["receipts", "tools"];

/// A safe single folder name for `name` (not yet unique).
pub fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_control() || REPLACED.contains(&c) || c.is_whitespace() && c != ' ' {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Leading dots (".", "..", hidden names) and spaces; trailing dots and spaces, which
    // Windows silently drops.
    out = out.trim_matches(|c| c == ' ' || c == '.').to_string();
    if out.is_empty() {
        out = "agent".to_string();
    }
    let stem = out.split('.').next().unwrap_or("").trim_end();
    let reserved = RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem))
        || OURS.iter().any(|r| r.eq_ignore_ascii_case(&out));
    if reserved {
        out.insert(0, '_');
    }
    // Cut last, so the `_` above counts too.
    truncate(&out, MAX_LEN)
}

/// At most `max` characters, without a trailing dot or space (Windows drops them).
fn truncate(name: &str, max: usize) -> String {
    let cut: String = name.chars().take(max).collect();
    cut.trim_end_matches([' ', '.']).to_string()
}

/// The key two names collide under. Windows, FAT32 and exFAT compare names upper-cased
/// (`σ` and `ς` are one name there); lower-casing first as well also merges pairs only
/// one direction folds. A false collision costs a `-2`; a missed one loses a bundle.
pub fn fold(name: &str) -> String {
    name.to_lowercase().to_uppercase()
}

/// Hands out distinct folder names: names equal but for letter case get `-2`, `-3`...
#[derive(Debug, Default)]
pub struct FolderNames {
    taken: HashSet<String>,
}

impl FolderNames {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks a name as used (a folder or file already on the target).
    pub fn take(&mut self, name: &str) {
        self.taken.insert(fold(name));
    }

    pub fn assign(&mut self, agent_name: &str) -> String {
        let base = safe_name(agent_name);
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.taken.insert(fold(&candidate)) {
            let suffix = format!("-{n}");
            let room = MAX_LEN.saturating_sub(suffix.chars().count());
            candidate = format!("{}{suffix}", truncate(&base, room));
            n += 1;
        }
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    const HOSTILE: &[&str] = &[
        "..",
        ".",
        "../../etc/passwd",
        "..\\..\\Windows\\System32",
        "C:\\Windows",
        "\\\\server\\share\\x",
        "/abs/path",
        "CON",
        "con.txt",
        "Lpt1",
        "COM9.log",
        "NUL ",
        "PC-01. . .",
        "  spaced  ",
        "a<b>c:d\"e/f\\g|h?i*j",
        "100%!&^();,=x",
        "tab\there",
        "new\nline",
        "bell\u{7}",
        "receipts",
        "TOOLS",
        "",
        "   ",
        "営業部のPC",
        "ＰＣ－０１",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "%COMPUTERNAME%",
        "!PATH!",
        "a & calc.exe",
        "pc\u{0}null",
    ];

    #[test]
    fn hostile_names_become_safe_single_components() {
        for name in HOSTILE {
            let safe = safe_name(name);
            let path = Path::new(&safe);
            let components: Vec<_> = path.components().collect();
            assert_eq!(components.len(), 1, "{name:?} -> {safe:?}");
            assert!(
                matches!(components[0], Component::Normal(_)),
                "{name:?} -> {safe:?}"
            );
            assert!(
                !safe.is_empty() && safe.chars().count() <= MAX_LEN,
                "{name:?} -> {safe:?}"
            );
            assert!(!safe.ends_with('.') && !safe.ends_with(' ') && !safe.starts_with('.'));
            assert!(
                !safe
                    .chars()
                    .any(|c| c.is_control() || REPLACED.contains(&c)),
                "{safe:?}"
            );
            let stem = safe.split('.').next().unwrap();
            assert!(
                !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem.trim())),
                "{safe:?}"
            );
            assert!(
                !OURS.iter().any(|r| r.eq_ignore_ascii_case(&safe)),
                "{safe:?}"
            );
        }
        assert_eq!(safe_name("営業部のPC"), "営業部のPC");
        assert_eq!(safe_name("PC-01"), "PC-01");
        assert_eq!(safe_name("con.txt"), "_con.txt");
        // The `_` for a reserved name counts towards the limit.
        let long_reserved = safe_name(&format!("CON.{}", "z".repeat(300)));
        assert!(long_reserved.starts_with("_CON.zz"));
        assert_eq!(long_reserved.chars().count(), MAX_LEN);
    }

    #[test]
    fn names_windows_upper_cases_alike_collide() {
        let mut names = FolderNames::new();
        let a = names.assign("PC-σ");
        let b = names.assign("PC-ς");
        assert_eq!(a, "PC-σ");
        assert_eq!(b, "PC-ς-2");
        // Names already on the target are never handed out again.
        let mut names = FolderNames::new();
        names.take("PC_1");
        assert_eq!(names.assign("pc#1"), "pc_1-2");
    }

    #[test]
    fn case_collisions_get_distinct_names() {
        let mut names = FolderNames::new();
        let a = names.assign("PC-01");
        let b = names.assign("pc-01");
        let c = names.assign("Pc-01");
        let d = names.assign("PC_01");
        let e = names.assign("PC:01"); // becomes PC_01 too
        let all = [&a, &b, &c, &d, &e];
        let lower: HashSet<String> = all.iter().map(|s| fold(s)).collect();
        assert_eq!(lower.len(), 5, "{all:?}");
        assert_eq!(b, "pc-01-2");
        let long = "y".repeat(100);
        let first = names.assign(&long);
        let second = names.assign(&long.to_uppercase());
        assert_ne!(first.to_lowercase(), second.to_lowercase());
        assert!(second.chars().count() <= MAX_LEN);
    }
}
