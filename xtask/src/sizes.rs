//! `cargo xtask sizes`: no function of certmend-core's production code is longer than
//! [`MAX_LINES`] lines, except the linear templates named in [`TEMPLATES`] (text written
//! out line by line, which reads best whole). Long functions hide the steps of a
//! workflow; this keeps them named.
//!
//! Functions are found by their `fn` line and brace depth, test modules left out: a
//! rough reader, but braces in the core's strings are balanced and the check errs on
//! the side of counting a function longer.

use crate::Result;
use std::fs;

pub const MAX_LINES: usize = 80;

/// `file:function` of linear templates allowed to be longer.
const TEMPLATES: &[&str] = &["restore.rs:guide"];

/// `(function, first line, lines)` of each function in `text` (test modules left out).
pub fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| {
            w[0].trim_start().starts_with("#[cfg(test)]") && w[1].trim_start().starts_with("mod ")
        })
        .unwrap_or(lines.len());
    let mut found = Vec::new();
    let mut i = 0;
    while i < end {
        let Some(name) = fn_name(lines[i]) else {
            i += 1;
            continue;
        };
        let (mut depth, mut opened, mut j) = (0i64, false, i);
        while j < end {
            let line = lines[j];
            depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            opened |= line.contains('{');
            if (opened && depth <= 0) || (!opened && line.trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        if opened {
            found.push((name, i + 1, j - i + 1));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// The name of the function a line starts, if it starts one.
fn fn_name(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn")?;
    let before_ok = words[..at].iter().all(|w| {
        w.starts_with("pub") || matches!(*w, "const" | "async" | "unsafe" | "extern" | "default")
    });
    let name: String = words
        .get(at + 1)?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (before_ok && !name.is_empty()).then_some(name)
}

pub fn sizes(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("sizes: unexpected argument {arg}"));
    }
    let (src, files) = crate::layers::core_sources()?;
    let mut long = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (name, line, count) in functions(&text) {
            if count > MAX_LINES && !TEMPLATES.contains(&format!("{relative}:{name}").as_str()) {
                long.push(format!("  {relative}:{line}: fn {name} is {count} lines"));
            }
        }
    }
    if long.is_empty() {
        eprintln!("xtask: no function of certmend-core is longer than {MAX_LINES} lines (templates aside)");
        return Ok(());
    }
    Err(format!(
        "certmend-core functions longer than {MAX_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_measured_from_fn_to_their_closing_brace() {
        let text = "pub fn a() {\n    if x {\n        y();\n    }\n}\n\nfn b(x: u8)\n    -> u8\n{\n    x\n}\ntrait T {\n    fn c(&self);\n}\n";
        assert_eq!(
            functions(text),
            [("a".to_string(), 1, 5), ("b".to_string(), 7, 5)]
        );
    }

    #[test]
    fn test_modules_are_left_out() {
        let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn long() {\n    }\n}\n";
        assert_eq!(functions(text), [("a".to_string(), 1, 1)]);
    }

    #[test]
    fn a_function_over_the_limit_is_found() {
        let body = "    x();\n".repeat(MAX_LINES);
        let text = format!("pub(crate) fn big() {{\n{body}}}\n");
        assert_eq!(functions(&text), [("big".to_string(), 1, MAX_LINES + 2)]);
    }
}
