//! Reading X.509 certificates such as `OfcNTCer.dat` (DER or PEM) and comparing them.
//!
//! Facts are reported as Windows shows them: SHA-1 thumbprint and serial in uppercase
//! hex without separators. Parsing is a pure function over bytes; [`load`] adds the file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{self, Oid};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

use crate::der_peek;
use crate::hexfmt::{sha1_hex, sha256_hex, upper_hex};
use crate::untrusted::{self, FileError, Kind};
use crate::ErrorCode;

/// How the certificate was stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertFormat {
    Der,
    Pem,
}

/// Everything certmend reports about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    pub format: CertFormat,
    pub subject: String,
    pub issuer: String,
    /// The subject's common name, when it has one (what admins recognise).
    pub common_name: Option<String>,
    /// Uppercase hex of the serial number's bytes, no separators, no sign padding.
    pub serial: String,
    /// SHA-1 over the DER certificate: the Windows "Thumbprint".
    pub sha1_thumbprint: String,
    /// SHA-256 over the DER certificate.
    pub sha256: String,
    /// SHA-256 over the DER SubjectPublicKeyInfo: equal for certificates of one key pair.
    pub public_key_sha256: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub not_after: String,
    /// Whole days until `not_after`, rounded down: negative once expired.
    pub days_left: i64,
    pub public_key_algorithm: String,
    pub public_key_bits: usize,
    pub signature_algorithm: String,
    /// Subject and issuer are the same name.
    pub self_signed: bool,
    /// Whether the signature verifies with the certificate's own public key; `None`
    /// when the algorithm is one certmend cannot check (see `warnings`).
    pub signature_valid: Option<bool>,
    /// Things that did not stop the reading but an admin should know.
    pub warnings: Vec<String>,
}

/// Warn this many days before a certificate expires (UI.md: 90 days): a server whose
/// certificate expires signs nothing its agents accept.
pub const EXPIRY_WARNING_DAYS: i64 = 90;

/// How near a certificate is to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    Ok,
    /// Within [`EXPIRY_WARNING_DAYS`] of `not_after`.
    Warning,
    Expired,
}

impl Expiry {
    pub fn of(days_left: i64) -> Self {
        if days_left < 0 {
            Expiry::Expired
        } else if days_left <= EXPIRY_WARNING_DAYS {
            Expiry::Warning
        } else {
            Expiry::Ok
        }
    }
}

impl CertificateInfo {
    pub fn expiry(&self) -> Expiry {
        Expiry::of(self.days_left)
    }
}

/// A parsed certificate: its DER bytes and the facts read from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    not_after_unix: i64,
    info: CertificateInfo,
}

impl Certificate {
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// Whole days from `now` until the certificate expires, rounded down.
    pub fn days_left_at(&self, now: OffsetDateTime) -> i64 {
        (self.not_after_unix - now.unix_timestamp()).div_euclid(86_400)
    }
}

/// What is wrong with bytes that should be a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the file is empty (0 bytes); expected an X.509 certificate (DER or PEM)")]
    Empty,
    #[error(
        "truncated certificate: the DER data declares {expected} bytes but the file has {actual}"
    )]
    Truncated { expected: usize, actual: usize },
    #[error(
        "this is a PKCS#12 key-pair file (.pfx/.p12, e.g. OfficeScanAuth.dat), not a certificate; \
         give the certificate (OfcNTCer.dat or a .cer file) instead"
    )]
    Pkcs12,
    #[error("the PEM block is a {label}, not a CERTIFICATE")]
    WrongPemLabel { label: String },
    #[error("the PEM data cannot be decoded: {detail}")]
    BadPem { detail: String },
    #[error("not an X.509 certificate: {detail}")]
    Malformed { detail: String },
}

impl ErrorCode for ParseError {
    fn code(&self) -> &'static str {
        match self {
            ParseError::Empty => "cert.empty",
            ParseError::Truncated { .. } => "cert.truncated",
            ParseError::Pkcs12 => "cert.is_pkcs12",
            ParseError::WrongPemLabel { .. } => "cert.wrong_pem_label",
            ParseError::BadPem { .. } => "cert.bad_pem",
            ParseError::Malformed { .. } => "cert.malformed",
        }
    }
}

/// A certificate file that could not be read, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{}: no such file", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a folder, not a certificate file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A link, a device or pipe, or a file too large for its kind (`file.link`,
    /// `file.not_regular`, `file.too_large`): never read.
    #[error(transparent)]
    Refused(FileError),
    #[error("{}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
}

impl ErrorCode for CertError {
    fn code(&self) -> &'static str {
        match self {
            CertError::NotFound { .. } => "file.not_found",
            CertError::IsDirectory { .. } => "file.is_directory",
            CertError::Unreadable { .. } => "file.unreadable",
            CertError::Refused(e) => e.code(),
            CertError::Parse { source, .. } => source.code(),
        }
    }
}

/// Reads a certificate file (DER or PEM). The file may come from a stick, a share or a
/// dropped folder: it is read only as a regular file reached without a link, at most
/// [`Kind::Certificate`]'s cap.
pub fn load(path: &Path) -> Result<Certificate, CertError> {
    let bytes = read_file(path, Kind::Certificate)?;
    parse(&bytes).map_err(|source| CertError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a whole file of `kind` through [`untrusted::read`], turning its refusals into
/// messages that name the file.
pub(crate) fn read_file(path: &Path, kind: Kind) -> Result<Vec<u8>, CertError> {
    untrusted::read(path, kind).map_err(CertError::from)
}

impl From<FileError> for CertError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::NotFound { path } => CertError::NotFound { path },
            FileError::IsDirectory { path } => CertError::IsDirectory { path },
            FileError::Unreadable { path, source } => CertError::Unreadable { path, source },
            other => CertError::Refused(other),
        }
    }
}

/// Parses certificate bytes, DER or PEM, with `days_left` counted from now.
pub fn parse(bytes: &[u8]) -> Result<Certificate, ParseError> {
    parse_at(bytes, OffsetDateTime::now_utc())
}

/// Parses certificate bytes with `days_left` counted from `now` (for tests and replays).
pub fn parse_at(bytes: &[u8], now: OffsetDateTime) -> Result<Certificate, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let (format, der) = if der_peek::starts_like_der_sequence(bytes) {
        (CertFormat::Der, bytes.to_vec())
    } else if let Some(der) = pem_certificate(bytes)? {
        // The same rule as for a DER file: x509-parser would take a SEQUENCE tag
        // without its constructed bit, and the DER kept would then not read back.
        if !der_peek::starts_like_der_sequence(&der) {
            return Err(ParseError::Malformed {
                detail: format!(
                    "the PEM block does not hold a DER certificate (it starts with byte {:02X}, a certificate with 30)",
                    der.first().copied().unwrap_or(0)
                ),
            });
        }
        (CertFormat::Pem, der)
    } else {
        return Err(ParseError::Malformed {
            detail: describe_unknown(bytes),
        });
    };
    parse_der(format, der, now)
}

/// Decodes the first PEM block, if the bytes are PEM at all.
fn pem_certificate(bytes: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = match find(text, b"-----BEGIN ") {
        Some(start) => start,
        None => return Ok(None),
    };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(&text[start..]).map_err(|e| ParseError::BadPem {
            detail: format!("{e}"),
        })?;
    match pem.label.as_str() {
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => Ok(Some(pem.contents)),
        "PKCS12" => Err(ParseError::Pkcs12),
        other => Err(ParseError::WrongPemLabel {
            label: other.to_string(),
        }),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn describe_unknown(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect();
    format!(
        "neither DER (which starts with byte 30) nor PEM (a -----BEGIN CERTIFICATE----- line); \
         the file starts with {}",
        shown.join(" ")
    )
}

fn parse_der(
    format: CertFormat,
    der: Vec<u8>,
    now: OffsetDateTime,
) -> Result<Certificate, ParseError> {
    if der_peek::looks_like_pkcs12(&der) {
        return Err(ParseError::Pkcs12);
    }
    if let Some(h) = der_peek::header(&der) {
        if h.total_len() > der.len() {
            return Err(ParseError::Truncated {
                expected: h.total_len(),
                actual: der.len(),
            });
        }
    }
    let (rest, x509) = X509Certificate::from_der(&der).map_err(|e| ParseError::Malformed {
        detail: format!("{e}"),
    })?;
    let mut warnings = Vec::new();
    if !rest.is_empty() {
        warnings.push(format!(
            "{} bytes after the certificate were ignored",
            rest.len()
        ));
    }
    let cert_len = der.len() - rest.len();
    let tbs = &x509.tbs_certificate;

    let not_before = asn1_time(tbs.validity.not_before.timestamp())?;
    let not_after = asn1_time(tbs.validity.not_after.timestamp())?;

    let (public_key_algorithm, public_key_bits) = match tbs.subject_pki.parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA".to_string(), rsa.key_size()),
        Ok(PublicKey::EC(point)) => ("EC".to_string(), point.key_size()),
        Ok(PublicKey::DSA(_)) => ("DSA".to_string(), 0),
        Ok(PublicKey::GostR3410(_)) | Ok(PublicKey::GostR3410_2012(_)) => ("GOST".to_string(), 0),
        Ok(PublicKey::Unknown(_)) | Err(_) => (
            oid_name(&tbs.subject_pki.algorithm.algorithm),
            tbs.subject_pki.subject_public_key.data.len() * 8,
        ),
    };

    let signature_valid = match crate::cert_signature::verify_own_signature(&x509) {
        Ok(valid) => Some(valid),
        Err(unsupported) => {
            warnings.push(unsupported);
            None
        }
    };

    let info = CertificateInfo {
        format,
        subject: name_to_string(&tbs.subject),
        issuer: name_to_string(&tbs.issuer),
        common_name: common_name(&tbs.subject),
        serial: serial_hex(tbs.raw_serial()),
        sha1_thumbprint: sha1_hex(&der[..cert_len]),
        sha256: sha256_hex(&der[..cert_len]),
        public_key_sha256: sha256_hex(tbs.subject_pki.raw),
        not_before: format_time(not_before),
        not_after: format_time(not_after),
        days_left: 0,
        public_key_algorithm,
        public_key_bits,
        signature_algorithm: oid_name(&x509.signature_algorithm.algorithm),
        self_signed: tbs.subject.as_raw() == tbs.issuer.as_raw(),
        signature_valid,
        warnings,
    };
    let spki_der = tbs.subject_pki.raw.to_vec();
    let mut cert = Certificate {
        not_after_unix: not_after.unix_timestamp(),
        der: der[..cert_len].to_vec(),
        spki_der,
        info,
    };
    cert.info.days_left = cert.days_left_at(now);
    Ok(cert)
}

fn asn1_time(unix: i64) -> Result<OffsetDateTime, ParseError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|e| ParseError::Malformed {
        detail: format!("validity date out of range: {e}"),
    })
}

fn format_time(t: OffsetDateTime) -> String {
    // RFC 3339 formatting only fails for years outside 0..=9999, which X.509 cannot encode.
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Serial bytes as openssl and Windows show them: the DER sign-padding zero removed.
fn serial_hex(raw: &[u8]) -> String {
    let trimmed = match raw {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    };
    upper_hex(trimmed)
}

fn oid_name(oid: &Oid<'_>) -> String {
    oid_registry::OidRegistry::default()
        .with_all_crypto()
        .with_x509()
        .get(oid)
        .map(|entry| entry.sn().to_string())
        .unwrap_or_else(|| oid.to_id_string())
}

/// An RFC 4514 name as Windows shows it ("CN=..., O=...": last RDN first), with every
/// ASN.1 string type decoded, so Japanese names in BMPString or UTF8String read as text.
pub(crate) fn name_to_string(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let key = attribute_short_name(attr.attr_type());
                    format!("{key}={}", attribute_text(attr.attr_value()))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn attribute_short_name(oid: &Oid<'_>) -> String {
    let short = match oid.to_id_string().as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "S",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "2.5.4.42" => "G",
        "2.5.4.4" => "SN",
        "1.2.840.113549.1.9.1" => "E",
        "0.9.2342.19200300.100.1.25" => "DC",
        other => return other.to_string(),
    };
    short.to_string()
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .map(|attr| attribute_text(attr.attr_value()))
}

fn attribute_text(value: &x509_parser::asn1_rs::Any<'_>) -> String {
    let data = value.data;
    match value.tag() {
        Tag::BmpString => utf16be(data),
        Tag::UniversalString => data
            .chunks(4)
            .map(|c| {
                let code = c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        // T61/Teletex is in practice Latin-1.
        Tag::T61String => data.iter().map(|b| char::from(*b)).collect(),
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => String::from_utf8_lossy(data).into_owned(),
        _ => format!("#{}", upper_hex(data)),
    }
}

fn utf16be(data: &[u8]) -> String {
    let units: Vec<u16> = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// The result of comparing two certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// Byte-for-byte the same certificate (same SHA-256 over the DER).
    pub same_certificate: bool,
    /// Same key pair (same SubjectPublicKeyInfo), possibly a renewed certificate.
    pub same_public_key: bool,
    pub same_subject: bool,
    pub same_serial: bool,
}

impl Comparison {
    pub fn identical(&self) -> bool {
        self.same_certificate
    }
}

pub fn compare(a: &Certificate, b: &Certificate) -> Comparison {
    Comparison {
        same_certificate: a.der == b.der,
        same_public_key: a.spki_der == b.spki_der,
        same_subject: a.info.subject == b.info.subject,
        same_serial: a.info.serial == b.info.serial,
    }
}

impl fmt::Display for CertFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertFormat::Der => "DER",
            CertFormat::Pem => "PEM",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_warns_within_ninety_days_and_marks_the_expired() {
        let cases = [
            (-1, Expiry::Expired),
            (0, Expiry::Warning),
            (EXPIRY_WARNING_DAYS, Expiry::Warning),
            (EXPIRY_WARNING_DAYS + 1, Expiry::Ok),
            (1000, Expiry::Ok),
        ];
        for (days, expected) in cases {
            assert_eq!(Expiry::of(days), expected, "{days} days left");
        }
    }
    use crate::demo::{generate_key_pair, self_signed_certificate, CertSpec};
    use time::macros::datetime;

    fn sample(cn: &str, seed: u64) -> Vec<u8> {
        let key = generate_key_pair(seed).unwrap();
        self_signed_certificate(
            &key,
            &CertSpec {
                common_name: cn.to_string(),
                organization: Some("Trend Micro デモ".into()),
                serial: vec![0x00, 0x8a, 0x01, 0x02],
                not_before: datetime!(2024-01-01 0:00 UTC),
                not_after: datetime!(2027-01-01 0:00 UTC),
            },
        )
        .unwrap()
    }

    #[test]
    fn reads_der_facts() {
        let der = sample("OfficeScan Server NTSG テスト", 1);
        let now = datetime!(2026-12-30 12:00 UTC);
        let cert = parse_at(&der, now).unwrap();
        let info = cert.info();
        assert_eq!(info.format, CertFormat::Der);
        assert_eq!(
            info.common_name.as_deref(),
            Some("OfficeScan Server NTSG テスト")
        );
        assert!(
            info.subject.contains("CN=OfficeScan Server NTSG テスト"),
            "{}",
            info.subject
        );
        assert!(
            info.subject.contains("O=Trend Micro デモ"),
            "{}",
            info.subject
        );
        assert_eq!(info.serial, "8A0102");
        assert_eq!(info.sha1_thumbprint, sha1_hex(&der));
        assert_eq!(info.sha1_thumbprint.len(), 40);
        assert_eq!(info.not_before, "2024-01-01T00:00:00Z");
        assert_eq!(info.not_after, "2027-01-01T00:00:00Z");
        assert_eq!(info.days_left, 1);
        assert_eq!(info.public_key_algorithm, "RSA");
        assert_eq!(info.public_key_bits, 2048);
        assert!(info.self_signed);
        assert_eq!(info.signature_valid, Some(true));
        assert!(info.warnings.is_empty());
        assert_eq!(cert.days_left_at(datetime!(2027-01-01 0:00:01 UTC)), -1);
    }

    #[test]
    fn pem_equals_der() {
        let der = sample("a", 2);
        let pem = crate::demo::to_pem("CERTIFICATE", &der);
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(pem.as_bytes());
        let from_pem = parse(&with_bom).unwrap();
        assert_eq!(from_pem.info().format, CertFormat::Pem);
        assert_eq!(from_pem.der(), der.as_slice());
    }

    /// Found by the `cert` fuzz target: PEM around a SEQUENCE whose tag lacks the
    /// constructed bit (10 instead of 30) was read, though the same bytes as a DER file
    /// are refused (so the DER kept did not read back).
    #[test]
    fn pem_holding_a_non_sequence_is_refused_like_der() {
        let mut der = sample("a", 2);
        der[0] = 0x10;
        let pem = crate::demo::to_pem("CERTIFICATE", &der);
        let err = parse(pem.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "cert.malformed", "{err}");
        assert!(err.to_string().contains("starts with byte 10"), "{err}");
        assert_eq!(parse(&der).unwrap_err().code(), "cert.malformed");
    }

    #[test]
    fn tampered_signature_is_reported_invalid() {
        let mut der = sample("a", 3);
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert_eq!(parse(&der).unwrap().info().signature_valid, Some(false));
    }

    #[test]
    fn bad_inputs_have_their_own_codes() {
        let der = sample("a", 4);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "cert.empty"),
            (der[..der.len() / 2].to_vec(), "cert.truncated"),
            (vec![0x30, 0x82], "cert.malformed"),
            (b"hello world, not a certificate".to_vec(), "cert.malformed"),
            (
                vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x80],
                "cert.is_pkcs12",
            ),
            (
                crate::demo::to_pem("PRIVATE KEY", &[1, 2, 3]).into_bytes(),
                "cert.wrong_pem_label",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
                "cert.bad_pem",
            ),
        ];
        for (bytes, code) in cases {
            let err = parse(&bytes).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
        }
    }

    #[test]
    fn compare_tells_certificate_from_key() {
        let key = generate_key_pair(5).unwrap();
        let spec = |serial: u8| CertSpec {
            common_name: "x".into(),
            organization: None,
            serial: vec![serial],
            not_before: datetime!(2024-01-01 0:00 UTC),
            not_after: datetime!(2027-01-01 0:00 UTC),
        };
        let a = parse(&self_signed_certificate(&key, &spec(1)).unwrap()).unwrap();
        let renewed = parse(&self_signed_certificate(&key, &spec(2)).unwrap()).unwrap();
        let other = parse(&sample("x", 6)).unwrap();
        assert!(compare(&a, &a).identical());
        let c = compare(&a, &renewed);
        assert!(!c.identical() && c.same_public_key && !c.same_serial);
        let c = compare(&a, &other);
        assert!(!c.identical() && !c.same_public_key);
    }

    #[test]
    fn bmp_string_names_decode() {
        let text = utf16be(&[0x30, 0xC6, 0x30, 0xB9, 0x30, 0xC8]);
        assert_eq!(text, "テスト");
    }
}
