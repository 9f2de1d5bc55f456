//! The certificate and key forge of the demo (and of tests): deterministic RSA key pairs
//! and self-signed certificates shaped like OfficeScan's. Nothing in production reads
//! certificates through it.

use std::str::FromStr;
use std::time::SystemTime;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::PrivateKey as RsaPrivateKey;
use time::OffsetDateTime;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::Encode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;
use x509_cert::TbsCertificate;

use super::DemoError;

/// Generates an RSA-2048 key pair from a seed (deterministic for one seed).
pub fn generate_key_pair(seed: u64) -> Result<RsaPrivateKey, DemoError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    RsaPrivateKey::new(&mut rng, 2048).map_err(|e| DemoError::Key(e.to_string()))
}

/// What to put into a demo certificate.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub common_name: String,
    pub organization: Option<String>,
    /// Big-endian serial bytes (a leading zero is fine).
    pub serial: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A self-signed server certificate profile, shaped like OfficeScan's own: a CA
/// certificate (it signs what the server sends) with a subject key identifier.
struct ServerProfile {
    subject: Name,
}

impl BuilderProfile for ServerProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut extensions = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(tbs.subject(), &extensions)?);
        extensions.push(
            BasicConstraints {
                ca: true,
                path_len_constraint: None,
            }
            .to_extension(tbs.subject(), &extensions)?,
        );
        let usage = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign;
        extensions.push(KeyUsage(usage).to_extension(tbs.subject(), &extensions)?);
        Ok(extensions)
    }
}

/// Makes a self-signed sha256WithRSA certificate and returns its DER bytes.
pub fn self_signed_certificate(key: &RsaPrivateKey, spec: &CertSpec) -> Result<Vec<u8>, DemoError> {
    let cert_err = |e: &dyn std::fmt::Display| DemoError::Certificate(e.to_string());
    let mut dn = format!("CN={}", escape_rdn(&spec.common_name));
    if let Some(org) = &spec.organization {
        dn.push_str(&format!(",O={}", escape_rdn(org)));
    }
    let subject = Name::from_str(&dn).map_err(|e| cert_err(&e))?;
    let serial = SerialNumber::new(&spec.serial).map_err(|e| cert_err(&e))?;
    let validity = Validity::new(
        x509_time(spec.not_before).map_err(|e| cert_err(&e))?,
        x509_time(spec.not_after).map_err(|e| cert_err(&e))?,
    );
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| cert_err(&e))?;
    let spki = SubjectPublicKeyInfo::try_from(spki_der.as_bytes()).map_err(|e| cert_err(&e))?;
    let builder = CertificateBuilder::new(ServerProfile { subject }, serial, validity, spki)
        .map_err(|e| cert_err(&e))?;
    let signer = SigningKey::<sha2::Sha256>::new(key.clone());
    let cert = builder
        .build::<_, rsa::pkcs1v15::Signature>(&signer)
        .map_err(|e| cert_err(&e))?;
    cert.to_der().map_err(|e| cert_err(&e))
}

fn x509_time(t: OffsetDateTime) -> Result<x509_cert::time::Time, x509_cert::der::Error> {
    x509_cert::time::Time::try_from(SystemTime::from(t))
}

/// Escapes an RFC 4514 attribute value.
fn escape_rdn(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, '#' | ' '));
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// PEM text for DER bytes (64-column base64, LF line ends).
pub fn to_pem(label: &str, der: &[u8]) -> String {
    // Only fails for labels that are not printable ASCII, which callers never pass.
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdn_values_are_escaped() {
        assert_eq!(escape_rdn("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rdn("#x"), "\\#x");
    }
}
