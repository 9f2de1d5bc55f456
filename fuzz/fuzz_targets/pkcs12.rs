//! PKCS#12 key-pair files (`AuthCertBackup\OfficeScanAuth.dat`, `.pfx`, `.p12`, and
//! certmend's own backups) through `keypair::parse_pkcs12` with a fixed password, the
//! reader behind `keypair show`, `backup create --from`, `backup verify` and `restore`.
//! A key pair that opens is also checked (public-key equality and sign/verify) and
//! reported, as `keypair show` does.
//!
//! The seeds are protected by the password below with 1 iteration, so mutations get
//! past the MAC and decryption. Iteration counts in a file are the file's: the
//! PKCS#12 library refuses more than 1,000,000 (MAC and each key derivation).
#![no_main]

use std::path::Path;

use certmend_core::keypair;
use certmend_core::ErrorCode;
use libfuzzer_sys::fuzz_target;

/// The password of every seed in corpus/pkcs12.
pub const PASSWORD: &str = "fuzz";

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.p12");
    match keypair::parse_pkcs12(data, PASSWORD, path) {
        Ok(pair) => {
            let report = pair.report(path, None);
            assert_eq!(report.checks.key_matches_certificate, pair.checks().ok());
            assert_eq!(
                report.certificate.sha1_thumbprint,
                pair.certificate().info().sha1_thumbprint
            );
        }
        Err(e) => assert!(e.code().contains('.')),
    }
});
