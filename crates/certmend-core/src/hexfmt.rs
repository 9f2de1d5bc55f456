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
