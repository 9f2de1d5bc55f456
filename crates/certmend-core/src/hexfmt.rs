//! Hex as Windows shows fingerprints and serials: uppercase, no separators.

pub(crate) fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    upper_hex(&sha2::Sha256::digest(bytes))
}

pub(crate) fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    upper_hex(&sha1::Sha1::digest(bytes))
}

/// Hex digits in pairs separated by spaces (`AB12` → `AB 12`): how certutil on Windows
/// before 10 prints a hash. Keeps the letter case it is given.
pub(crate) fn byte_pairs(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}
