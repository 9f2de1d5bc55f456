//! Agent names (from list files: untrusted) made into bundle folder names by
//! `bundle::names::safe_name` and `FolderNames::assign`. Input: names separated by
//! newlines, any bytes (lossy UTF-8). Every folder name must be one path component that
//! Windows, FAT32 and exFAT accept, that cmd.exe cannot act on, never `.`/`..`, never a
//! device name, at most `MAX_LEN` characters; and assigned names never collide in
//! Windows' letter-case folding.
#![no_main]

use std::collections::HashSet;

use certmend_core::bundle::names::{fold, safe_name, FolderNames, MAX_LEN};
use libfuzzer_sys::fuzz_target;

const FORBIDDEN: &[char] = &[
    '<', '>', ':', '"', '/', '\\', '|', '?', '*', '%', '!', '&', '^', '(', ')', ';', ',', '=',
    '\'', '~', '`', '[', ']', '{', '}', '$', '#', '@', '+',
];

const DEVICES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³",
];

fn check(folder: &str, from: &str) {
    assert!(!folder.is_empty(), "{from:?} -> empty");
    assert!(folder.chars().count() <= MAX_LEN, "{from:?} -> {folder:?}");
    assert!(
        !folder
            .chars()
            .any(|c| c.is_control() || FORBIDDEN.contains(&c) || c.is_whitespace() && c != ' '),
        "{from:?} -> {folder:?}"
    );
    assert!(!folder.starts_with(['.', ' ']), "{from:?} -> {folder:?}");
    assert!(!folder.ends_with(['.', ' ']), "{from:?} -> {folder:?}");
    let stem = folder.split('.').next().unwrap_or("").trim_end();
    assert!(
        !DEVICES.iter().any(|d| d.eq_ignore_ascii_case(stem)),
        "{from:?} -> {folder:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut names = FolderNames::new();
    names.take("receipts");
    names.take("tools");
    let mut given = HashSet::new();
    for name in text.split('\n').take(200) {
        check(&safe_name(name), name);
        let folder = names.assign(name);
        check(&folder, name);
        assert!(given.insert(fold(&folder)), "{name:?} -> {folder:?} twice");
        assert!(!["receipts", "tools"].contains(&fold(&folder).to_lowercase().as_str()));
    }
});
