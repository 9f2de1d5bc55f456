//! Certificate files (`OfcNTCer.dat`, `.cer`, `.crt`; DER or PEM) through
//! `cert::parse_at`, the reader behind `cert show`, `compare`, the server read and the
//! dropped-file classifier. Beyond not panicking: the facts reported are those of the
//! DER kept, and that DER reads back as the same certificate.
#![no_main]

use certmend_core::cert::{self, CertFormat};
use libfuzzer_sys::fuzz_target;
use sha1::Digest as _;
use time::OffsetDateTime;

fuzz_target!(|data: &[u8]| {
    // A fixed "now" keeps runs reproducible (days_left).
    let Ok(now) = OffsetDateTime::from_unix_timestamp(1_767_225_600) else {
        return;
    };
    let Ok(c) = cert::parse_at(data, now) else {
        return;
    };
    let info = c.info();
    assert_eq!(
        info.sha1_thumbprint,
        hex::encode_upper(sha1::Sha1::digest(c.der()))
    );
    assert_eq!(
        info.sha256,
        hex::encode_upper(sha2::Sha256::digest(c.der()))
    );
    assert_eq!(
        info.public_key_sha256,
        hex::encode_upper(sha2::Sha256::digest(c.public_key_der()))
    );
    assert!(info
        .serial
        .chars()
        .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_lowercase()));
    assert_eq!(info.days_left, c.days_left_at(now));
    if info.format == CertFormat::Der {
        assert!(data.starts_with(c.der()));
    }

    // The DER kept is the certificate alone: it reads back to the same facts.
    let again = cert::parse_at(c.der(), now).expect("a certificate's own DER re-parses");
    assert!(cert::compare(&c, &again).identical());
    let mut expected = info.clone();
    expected.format = CertFormat::Der;
    expected
        .warnings
        .retain(|w| !w.contains("after the certificate"));
    assert_eq!(again.info(), &expected);
});
