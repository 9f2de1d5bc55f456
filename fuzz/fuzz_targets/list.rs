//! CertificateManager `-l` list files through what `import` runs before the store:
//! `agents::encoding::detect` and `agents::read_list`. Checks that reading in small
//! pieces gives what reading at once gives (the reader streams 64 KiB chunks), that the
//! same text in UTF-8, UTF-8 with BOM, UTF-16LE/BE with BOM and CP932 reads the same,
//! that line numbers increase (lines skipped before the header included, which only a
//! header follows), that every agent has a name, and the import's count
//! `rows == agents + duplicates + rejected`.
#![no_main]

use std::collections::HashSet;
use std::io::Read;

use certmend_core::agents::encoding::{detect, ListEncoding};
use certmend_core::agents::{read_list, ListAgent, ListItem, ListShape, Rejected};
use libfuzzer_sys::fuzz_target;

/// Hands out at most `step` bytes per read.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[derive(Debug)]
struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

#[derive(Debug, PartialEq)]
enum Item {
    Agent(ListAgent),
    Rejected(Rejected),
}

impl Item {
    fn line(&self) -> u64 {
        match self {
            Item::Agent(a) => a.line,
            Item::Rejected(r) => r.line,
        }
    }
}

type Read_ = Result<(ListShape, Vec<Item>), String>;

fn read(data: &[u8], encoding: ListEncoding, step: usize) -> Read_ {
    let mut items = Vec::new();
    let shape = read_list(Trickle { data, step }, encoding, |item| {
        items.push(match item {
            ListItem::Agent(a) => Item::Agent(a),
            ListItem::Rejected(r) => Item::Rejected(r),
        });
        Ok::<(), Never>(())
    })
    .map_err(|e| e.to_string())?;
    Ok((shape, items))
}

fn detected(data: &[u8], step: usize) -> Option<ListEncoding> {
    detect(Trickle { data, step }).ok()
}

/// The same reading but for the encoding the shape names.
fn same_reading(a: &Read_, b: &Read_) -> bool {
    match (a, b) {
        (Ok((sa, ia)), Ok((sb, ib))) => {
            sa.delimiter == sb.delimiter
                && sa.header == sb.header
                && sa.columns == sb.columns
                && sa.recognised == sb.recognised
                && sa.skipped_preamble == sb.skipped_preamble
                && sa.named_by_guid == sb.named_by_guid
                && ia == ib
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    // Whatever encoding the caller names, reading never panics.
    for encoding in [
        ListEncoding::Utf8,
        ListEncoding::Utf8Bom,
        ListEncoding::Utf16Le,
        ListEncoding::Utf16Be,
        ListEncoding::Cp932,
    ] {
        let _ = read(data, encoding, usize::MAX);
    }

    let step = 1 + data.len() % 7;
    let encoding = detected(data, usize::MAX);
    assert_eq!(
        encoding,
        detected(data, step),
        "detection depends on read sizes"
    );
    let Some(encoding) = encoding else {
        return;
    };
    let whole = read(data, encoding, usize::MAX);
    let pieces = read(data, encoding, step);
    assert!(
        same_reading(&whole, &pieces),
        "reading in {step}-byte pieces differs:\n{whole:?}\n{pieces:?}"
    );
    let Ok((shape, items)) = &whole else {
        return;
    };
    assert_eq!(shape.encoding, encoding);
    assert_eq!(shape.columns.len(), shape.recognised.len());
    assert!(shape.header || shape.skipped_preamble.is_empty());
    assert!(shape.header || !shape.named_by_guid);

    // Line numbers increase, from the skipped lines to the items; agents have a
    // trimmed, printable name.
    let mut last = 0;
    for skipped in &shape.skipped_preamble {
        assert!(skipped.line > last, "skipped lines go back: {shape:?}");
        assert!(
            !skipped.text.trim().is_empty(),
            "a blank line reported: {shape:?}"
        );
        last = skipped.line;
    }
    let (mut agents, mut duplicates, mut rejected) = (0usize, 0usize, 0usize);
    let mut seen = HashSet::new();
    for item in items {
        assert!(item.line() > last, "line numbers go back: {items:?}");
        last = item.line();
        match item {
            Item::Agent(a) => {
                assert!(!a.name.is_empty());
                assert_eq!(a.name.trim(), a.name);
                assert!(!a.name.chars().any(char::is_control));
                if seen.insert(a.identity()) {
                    agents += 1;
                } else {
                    duplicates += 1;
                }
            }
            Item::Rejected(r) => {
                assert!(r.code.starts_with("list."));
                rejected += 1;
            }
        }
    }
    assert_eq!(items.len(), agents + duplicates + rejected);

    // The same text in every other encoding reads the same.
    let text = match encoding {
        ListEncoding::Utf8 => std::str::from_utf8(data).ok(),
        ListEncoding::Utf8Bom => std::str::from_utf8(&data[3..]).ok(),
        _ => None,
    };
    let Some(text) = text else {
        return;
    };
    if text.starts_with('\u{FEFF}') {
        return; // a second BOM is text, and UTF-16 would drop it
    }
    let mut variants: Vec<(ListEncoding, Vec<u8>)> = Vec::new();
    let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
    utf8_bom.extend_from_slice(text.as_bytes());
    variants.push((ListEncoding::Utf8Bom, utf8_bom));
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
        be.extend_from_slice(&unit.to_be_bytes());
    }
    variants.push((ListEncoding::Utf16Le, le));
    variants.push((ListEncoding::Utf16Be, be));
    let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    // Only where CP932 holds the text exactly (WHATWG's encoder maps U+00A5 to `\`).
    let round_trips = encoding_rs::SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(&cp932)
        .is_some_and(|back| back == text);
    if !unmappable && round_trips && !text.is_ascii() {
        variants.push((ListEncoding::Cp932, cp932.into_owned()));
    }
    for (expected, bytes) in variants {
        let got = detected(&bytes, usize::MAX);
        if expected == ListEncoding::Cp932 && got != Some(ListEncoding::Cp932) {
            continue; // CP932 bytes that happen to be valid UTF-8 too
        }
        assert_eq!(got, Some(expected));
        let other = read(&bytes, expected, step);
        assert!(
            same_reading(&whole, &other),
            "{expected:?} reads differently:\n{whole:?}\n{other:?}"
        );
    }
});
