//! Private key files (PEM or DER; PKCS#8, encrypted PKCS#8, PKCS#1) through
//! `keypair::parse_key`, the reader behind `keypair show KEY --cert CERT` and
//! `backup create --from KEY`, with and without a password.
#![no_main]

use std::path::Path;

use certmend_core::keypair;
use certmend_core::ErrorCode;
use libfuzzer_sys::fuzz_target;

/// The password of the encrypted seeds in corpus/keyfile.
const PASSWORD: &str = "fuzz";

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.key");
    for password in [None, Some(PASSWORD)] {
        if let Err(e) = keypair::parse_key(data, password, path) {
            assert!(e.code().starts_with("keypair.") || e.code().starts_with("cert."));
        }
    }
});
