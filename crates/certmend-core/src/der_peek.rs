//! Just enough DER header reading to tell *why* bytes are not a certificate:
//! truncated data and PKCS#12 files get their own messages instead of a parser's
//! generic complaint.

/// The outer TLV header of a DER value: tag, header length and content length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub tag: u8,
    pub header_len: usize,
    pub content_len: usize,
}

impl Header {
    pub fn total_len(&self) -> usize {
        self.header_len + self.content_len
    }
}

/// Reads a definite-length DER header; `None` when the bytes cannot even hold one.
pub(crate) fn header(bytes: &[u8]) -> Option<Header> {
    let tag = *bytes.first()?;
    let first_len = *bytes.get(1)?;
    if first_len < 0x80 {
        return Some(Header {
            tag,
            header_len: 2,
            content_len: usize::from(first_len),
        });
    }
    let count = usize::from(first_len & 0x7f);
    // 0x80 is BER's indefinite length (not DER); more than 4 length bytes is absurd
    // for a certificate.
    if count == 0 || count > 4 {
        return None;
    }
    let len_bytes = bytes.get(2..2 + count)?;
    let content_len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some(Header {
        tag,
        header_len: 2 + count,
        content_len,
    })
}

const SEQUENCE: u8 = 0x30;

/// True when the bytes start like a PKCS#12 PFX: `SEQUENCE { INTEGER 3, SEQUENCE {...} }`.
pub(crate) fn looks_like_pkcs12(bytes: &[u8]) -> bool {
    match header(bytes) {
        Some(h) if h.tag == SEQUENCE => bytes
            .get(h.header_len..h.header_len + 4)
            .is_some_and(|inner| inner == [0x02, 0x01, 0x03, SEQUENCE]),
        _ => false,
    }
}

/// True when the bytes start with a DER SEQUENCE header (what every certificate is).
pub(crate) fn starts_like_der_sequence(bytes: &[u8]) -> bool {
    bytes.first() == Some(&SEQUENCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        assert_eq!(
            header(&[0x30, 0x05]),
            Some(Header {
                tag: 0x30,
                header_len: 2,
                content_len: 5
            })
        );
        assert_eq!(
            header(&[0x30, 0x82, 0x03, 0x1a]),
            Some(Header {
                tag: 0x30,
                header_len: 4,
                content_len: 0x031a
            })
        );
        assert_eq!(header(&[0x30, 0x82, 0x03]), None);
        assert_eq!(header(&[0x30, 0x80]), None);
        assert_eq!(header(&[0x30]), None);
    }

    #[test]
    fn pkcs12_shape() {
        assert!(looks_like_pkcs12(&[
            0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30
        ]));
        assert!(!looks_like_pkcs12(&[0x30, 0x82, 0x01, 0x00, 0x30, 0x82]));
    }
}
