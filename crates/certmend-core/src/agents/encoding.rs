//! Telling a list file's encoding: UTF-8 with or without BOM, UTF-16LE/BE with BOM, or
//! CP932 (Shift_JIS as Windows writes it). Never a silent guess: a file that is none of
//! them is refused with the offset of the first byte that fits no candidate.

use std::io::{self, Read};

use encoding_rs::{DecoderResult, Encoding, SHIFT_JIS, UTF_16BE, UTF_16LE, UTF_8};
use serde::Serialize;

/// The encodings certmend reads list files in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ListEncoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
    /// Windows code page 932 (Shift_JIS with Microsoft's extensions).
    #[serde(rename = "cp932")]
    Cp932,
}

impl ListEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            ListEncoding::Utf8 => "utf-8",
            ListEncoding::Utf8Bom => "utf-8-bom",
            ListEncoding::Utf16Le => "utf-16le",
            ListEncoding::Utf16Be => "utf-16be",
            ListEncoding::Cp932 => "cp932",
        }
    }

    pub(crate) fn encoding(self) -> &'static Encoding {
        match self {
            ListEncoding::Utf8 | ListEncoding::Utf8Bom => UTF_8,
            ListEncoding::Utf16Le => UTF_16LE,
            ListEncoding::Utf16Be => UTF_16BE,
            ListEncoding::Cp932 => SHIFT_JIS,
        }
    }
}

/// Why the encoding could not be told.
#[derive(Debug, thiserror::Error)]
pub enum EncodingError {
    #[error(
        "the text is neither UTF-8 nor CP932/Shift_JIS (invalid byte at offset {utf8_offset} for \
         UTF-8, at offset {cp932_offset} for CP932); UTF-16 files need a byte-order mark"
    )]
    Unknown { utf8_offset: u64, cp932_offset: u64 },
    #[error("{0}")]
    Io(#[from] io::Error),
}

const CHUNK: usize = 64 * 1024;

/// Reads `reader` to the end (in chunks, without keeping it) and tells its encoding.
pub fn detect<R: Read>(mut reader: R) -> Result<ListEncoding, EncodingError> {
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < head.len() {
        let n = reader.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = &head[..got];
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(ListEncoding::Utf8Bom);
    }
    if head.starts_with(&[0xFF, 0xFE]) {
        return Ok(ListEncoding::Utf16Le);
    }
    if head.starts_with(&[0xFE, 0xFF]) {
        return Ok(ListEncoding::Utf16Be);
    }

    // No BOM: UTF-8 if every byte is valid UTF-8, else CP932 if every byte is valid
    // CP932. Both decoders see the same chunks in one pass.
    let mut utf8 = Validator::new(UTF_8);
    let mut cp932 = Validator::new(SHIFT_JIS);
    utf8.feed(head, false);
    cp932.feed(head, false);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        utf8.feed(&buf[..n], false);
        cp932.feed(&buf[..n], false);
        if utf8.failed_at.is_some() && cp932.failed_at.is_some() {
            break;
        }
    }
    utf8.feed(&[], true);
    cp932.feed(&[], true);
    match (utf8.failed_at, cp932.failed_at) {
        (None, _) => Ok(ListEncoding::Utf8),
        (Some(_), None) => Ok(ListEncoding::Cp932),
        (Some(utf8_offset), Some(cp932_offset)) => Err(EncodingError::Unknown {
            utf8_offset,
            cp932_offset,
        }),
    }
}

/// Runs bytes through a decoder without replacement, remembering the first bad offset.
struct Validator {
    decoder: encoding_rs::Decoder,
    scratch: String,
    offset: u64,
    failed_at: Option<u64>,
}

impl Validator {
    fn new(encoding: &'static Encoding) -> Self {
        Self {
            decoder: encoding.new_decoder_without_bom_handling(),
            scratch: String::with_capacity(CHUNK * 3 + 16),
            offset: 0,
            failed_at: None,
        }
    }

    fn feed(&mut self, mut bytes: &[u8], last: bool) {
        if self.failed_at.is_some() {
            return;
        }
        loop {
            self.scratch.clear();
            let (result, read) =
                self.decoder
                    .decode_to_string_without_replacement(bytes, &mut self.scratch, last);
            self.offset += read as u64;
            bytes = &bytes[read..];
            match result {
                DecoderResult::InputEmpty => return,
                DecoderResult::OutputFull => continue,
                DecoderResult::Malformed(bad, consumed_after) => {
                    let back = u64::from(bad) + u64::from(consumed_after);
                    self.failed_at = Some(self.offset.saturating_sub(back));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_decide() {
        assert_eq!(
            detect(&b"\xEF\xBB\xBFa,b"[..]).unwrap(),
            ListEncoding::Utf8Bom
        );
        assert_eq!(detect(&b"\xFF\xFEa\0"[..]).unwrap(), ListEncoding::Utf16Le);
        assert_eq!(detect(&b"\xFE\xFF\0a"[..]).unwrap(), ListEncoding::Utf16Be);
    }

    #[test]
    fn utf8_and_cp932_without_bom() {
        assert_eq!(
            detect("コンピュータ名,IP\n".as_bytes()).unwrap(),
            ListEncoding::Utf8
        );
        let (sjis, _, _) = SHIFT_JIS.encode("コンピュータ名,IPアドレス\nＰＣ１,10.0.0.1\n");
        assert_eq!(detect(&sjis[..]).unwrap(), ListEncoding::Cp932);
        assert_eq!(detect(&b""[..]).unwrap(), ListEncoding::Utf8);
        assert_eq!(detect(&b"plain ascii"[..]).unwrap(), ListEncoding::Utf8);
    }

    #[test]
    fn cp932_late_in_a_long_file_is_found() {
        let mut bytes = b"name,ip\n".repeat(20_000);
        let (sjis, _, _) = SHIFT_JIS.encode("営業部PC,10.0.0.1\n");
        bytes.extend_from_slice(&sjis);
        assert_eq!(detect(&bytes[..]).unwrap(), ListEncoding::Cp932);
    }

    #[test]
    fn neither_is_refused_with_offsets() {
        // 0xFF is invalid in UTF-8 and is not a CP932 lead byte; 0x80 alone neither.
        let err = detect(&b"ab\xFF\xFFcd"[..]).unwrap_err();
        match err {
            EncodingError::Unknown {
                utf8_offset,
                cp932_offset,
            } => {
                assert_eq!(utf8_offset, 2);
                assert_eq!(cp932_offset, 2);
            }
            other => panic!("{other}"),
        }
    }
}
