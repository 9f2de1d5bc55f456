//! Folder names for bundles. Agent names come from list files and are untrusted: the
//! folder made from one is a single path component that Windows, FAT32 and exFAT accept,
//! that cmd.exe cannot expand or split when it reaches a script through `%~dp0`, that
//! holds no look-alike an ANSI code page would turn into such a character (full-width
//! `＂` or `％`, `∖`...) and nothing invisible (bidi controls, zero-width characters),
//! and that can never point outside the output folder. The manifest keeps the true name.

use std::collections::HashSet;

/// Characters replaced by `_`: forbidden on Windows/FAT (`<>:"/\|?*`) and those cmd.exe
/// would act on in a path (`% ! & ^ ( ) ;`), plus `,` `=` and `'`, which cmd treats
/// as separators in places, and `~`, which short-name expansion gives a meaning.
const REPLACED: &[char] = &[
    '<', '>', ':', '"', '/', '\\', '|', '?', '*', '%', '!', '&', '^', '(', ')', ';', ',', '=',
    '\'', '~', '`', '[', ']', '{', '}', '$', '#', '@', '+',
];

/// Look-alikes that Windows' best-fit mapping turns into one of [`REPLACED`] when a
/// name passes through an ANSI code page (a program reading its command line or a path
/// with the `A` functions: "WorstFit", Orange Tsai 2025; Microsoft's bestfit1252.txt
/// and bestfit932.txt). Full-width forms (U+FF01–U+FF5E) are handled by [`narrow`].
const LOOK_ALIKES: &[char] = &[
    '\u{02BA}', '\u{030E}', // -> "
    '\u{066A}', // -> %
    '\u{2216}', '\u{00A5}', // -> \ (U+00A5 YEN SIGN in CP932)
    '\u{2215}', '\u{2044}', // -> /
    '\u{01C0}', '\u{2223}', '\u{2758}', '\u{00A6}', // -> | (U+00A6 in CP932)
    '\u{2329}', '\u{3008}', // -> <
    '\u{232A}', '\u{3009}', // -> >
    '\u{02C4}', '\u{0302}', '\u{2303}', // -> ^
    '\u{01C3}', '\u{00A1}', // -> ! (U+00A1 in CP932)
    '\u{0589}', '\u{2236}', // -> :
    '\u{2217}', // -> *
];

/// Characters that show nothing but change how a name reads or compares: bidirectional
/// controls (which can make `exe.cmd` display as `dmc.exe`), zero-width characters,
/// the byte-order mark, the soft hyphen and other invisible format characters.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// A full-width form of an ASCII character (U+FF01–U+FF5E) as that character, which is
/// what best-fit makes of it (`＂` becomes `"`, `％` `%`, `ＰＣ` `PC`); the ASCII rules
/// then apply to it. Other full-width and half-width symbols (U+FF5F–U+FF60,
/// U+FFE0–U+FFEE: white parentheses, cent, pound, yen, broken bar...) have ANSI
/// look-alikes of their own and become `_`; half-width katakana stay.
fn narrow(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        '\u{FF5F}'..='\u{FF60}' | '\u{FFE0}'..='\u{FFEE}' => Some('_'),
        _ => Some(c),
    }
}

/// One character of a folder name: itself, or `_` when Windows, FAT or cmd.exe would
/// act on it, or on what an ANSI code page makes of it.
fn safe_char(c: char) -> char {
    let c = narrow(c).unwrap_or('_');
    if c.is_control()
        || REPLACED.contains(&c)
        || c.is_whitespace() && c != ' '
        || LOOK_ALIKES.contains(&c)
        || invisible(c)
    {
        '_'
    } else {
        c
    }
}

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
    let mut out: String = name.chars().map(safe_char).collect();
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
        "\u{FF02} & calc \u{FF05}PATH\u{FF05}",
        "x\u{2216}..\u{2216}..\u{FF3C}Windows",
        "\u{202E}\u{200B}\u{FEFF}",
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

    /// Every look-alike the facts list, and the invisible characters: none survives, and
    /// each becomes what the table says.
    #[test]
    fn look_alikes_and_invisible_characters_are_replaced() {
        let table: &[(&str, &str)] = &[
            // Full-width forms: best-fit makes them ASCII, and so does certmend.
            ("PC\u{FF02}x", "PC_x"),          // ＂ -> "
            ("PC\u{FF05}x", "PC_x"),          // ％ -> %
            ("PC\u{FF3C}x", "PC_x"),          // ＼ -> \
            ("PC\u{FF0F}x", "PC_x"),          // ／ -> /
            ("PC\u{FF06}x", "PC_x"),          // ＆ -> &
            ("PC\u{FF5C}x", "PC_x"),          // ｜ -> |
            ("PC\u{FF1C}x\u{FF1E}", "PC_x_"), // ＜ ＞
            ("PC\u{FF3E}x", "PC_x"),          // ＾ -> ^
            ("PC\u{FF01}x", "PC_x"),          // ！ -> !
            ("PC\u{FF1A}x", "PC_x"),          // ： -> :
            ("PC\u{FF0A}x", "PC_x"),          // ＊ -> *
            ("PC\u{FF1F}x", "PC_x"),          // ？ -> ?
            ("PC\u{FF0E}x", "PC.x"),          // ． -> .
            ("\u{FF0E}\u{FF0E}", "agent"),    // ．． -> .. (never a parent)
            ("ＰＣ－０１", "PC-01"),
            ("経理-ＰＣ０１", "経理-PC01"),
            ("\u{FFE5}\u{FFE4}\u{FF5F}", "___"), // ￥ ￤ ｟
            ("ｶﾅ", "ｶﾅ"),                        // half-width katakana stay
            // Other best-fit look-alikes (CP1252).
            ("a\u{02BA}b\u{030E}c", "a_b_c"),            // -> "
            ("a\u{066A}b", "a_b"),                       // -> %
            ("a\u{2216}b", "a_b"),                       // -> \
            ("a\u{2215}b\u{2044}c", "a_b_c"),            // -> /
            ("a\u{01C0}b\u{2223}c\u{2758}d", "a_b_c_d"), // -> |
            ("a\u{2329}b\u{3008}c", "a_b_c"),            // -> <
            ("a\u{232A}b\u{3009}c", "a_b_c"),            // -> >
            ("a\u{02C4}b\u{0302}c\u{2303}d", "a_b_c_d"), // -> ^
            ("a\u{01C3}b", "a_b"),                       // -> !
            ("a\u{0589}b\u{2236}c", "a_b_c"),            // -> :
            ("a\u{2217}b", "a_b"),                       // -> *
            // CP932's best fit.
            ("a\u{00A5}b\u{00A6}c\u{00A1}d", "a_b_c_d"),
            // Bidi controls: "PC\u{202E}dmc.exe" would show as "PCexe.cmd".
            ("PC\u{202E}dmc.exe", "PC_dmc.exe"),
            ("\u{202A}\u{202B}\u{202C}\u{202D}", "____"),
            ("\u{2066}\u{2067}\u{2068}\u{2069}", "____"),
            ("a\u{200E}b\u{200F}c\u{061C}d", "a_b_c_d"),
            // Zero-width characters and the BOM.
            ("PC\u{200B}01", "PC_01"),
            ("\u{200C}\u{200D}\u{2060}\u{FEFF}x", "____x"),
            // The ideographic space is whitespace.
            ("PC\u{3000}01", "PC_01"),
        ];
        for (name, expected) in table {
            assert_eq!(safe_name(name), *expected, "{name:?}");
        }
        for c in LOOK_ALIKES
            .iter()
            .copied()
            .chain(('\u{FF01}'..='\u{FF5E}').filter(|c| !c.is_alphanumeric()))
            .chain(('\u{0}'..='\u{10FFFF}').filter(|&c| invisible(c)))
        {
            let safe = safe_name(&format!("a{c}b"));
            assert!(
                !safe.contains(c)
                    && safe
                        .chars()
                        .all(|k| k.is_alphanumeric() || "_-.".contains(k)),
                "U+{:04X} -> {safe:?}",
                c as u32
            );
        }
        // Two names that differ only by an invisible character do not share a folder.
        let mut names = FolderNames::new();
        assert_eq!(names.assign("PC-01"), "PC-01");
        assert_eq!(names.assign("PC-0\u{200B}1"), "PC-0_1");
        assert_eq!(names.assign("ＰＣ－０１"), "PC-01-2");
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
