//! The server's key pair: its certificate and RSA private key, read from a PKCS#12 file
//! (`AuthCertBackup\OfficeScanAuth.dat`, any `.pfx`/`.p12`) or from a PEM/DER private key
//! with its certificate, checked (does the key belong to the certificate?) and written
//! back as PKCS#12.
//!
//! PKCS#12 parsing and encryption are p12-keystore's (modern PBES2 and the legacy
//! RC2-40 / 3DES schemes with SHA-1 MACs; passwords as the standard says: BMPString for
//! the legacy PBEs, UTF-8 for PBES2). Key handling is the rsa crate's.

use std::path::{Path, PathBuf};

use p12_keystore::{
    EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12Archive, PrivateKeyChain,
};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use x509_cert::der::Decode;
use zeroize::Zeroizing;

use crate::cert::{self, CertError, Certificate, CertificateInfo};
use crate::untrusted::Kind;
use crate::ErrorCode;

/// PBKDF2 iterations for new modern backups (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const MODERN_ITERATIONS: u32 = 600_000;
/// Iterations of the PKCS#12 key derivation for legacy (3DES) backups and for the MAC.
pub const LEGACY_ITERATIONS: u32 = 600_000;

#[derive(Debug, thiserror::Error)]
pub enum KeyPairError {
    #[error(transparent)]
    File(#[from] CertError),
    #[error("{}: not a PKCS#12 (.pfx) file, or it is damaged or cut short: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{}: wrong password (the file's integrity check failed with it)", path.display())]
    WrongPassword { path: PathBuf },
    #[error("{}: the file has no integrity check (PKCS#12 MAC), so it opens with any password and a changed file goes unnoticed; certmend does not accept it as a key pair backup (export it again with a password, e.g. from the Windows certificate manager)", path.display())]
    NoMac { path: PathBuf },
    #[error("{}: holds a certificate but no private key; a key pair backup needs both", path.display())]
    NoKey { path: PathBuf },
    #[error("{}: holds a private key but no certificate; give its certificate too (keypair show KEY --cert CERT)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: the private key is {algorithm}, not RSA; Apex One / OfficeScan key pairs are RSA", path.display())]
    NotRsa { path: PathBuf, algorithm: String },
    #[error("{}: the private key cannot be read: {detail}", path.display())]
    BadKey { path: PathBuf, detail: String },
    #[error("{}: the private key does not belong to the certificate {thumbprint}", path.display())]
    KeyMismatch { path: PathBuf, thumbprint: String },
    #[error("cannot write the key pair as PKCS#12: {0}")]
    Encode(String),
}

impl ErrorCode for KeyPairError {
    fn code(&self) -> &'static str {
        match self {
            KeyPairError::File(e) => e.code(),
            KeyPairError::Corrupt { .. } => "keypair.corrupt",
            KeyPairError::WrongPassword { .. } => "keypair.wrong_password",
            KeyPairError::NoMac { .. } => "keypair.no_mac",
            KeyPairError::NoKey { .. } => "keypair.no_key",
            KeyPairError::NoCertificate { .. } => "keypair.no_certificate",
            KeyPairError::NotRsa { .. } => "keypair.not_rsa",
            KeyPairError::BadKey { .. } => "keypair.bad_key",
            KeyPairError::KeyMismatch { .. } => "keypair.key_mismatch",
            KeyPairError::Encode(_) => "keypair.encode",
        }
    }
}

/// Where a key pair was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    Pkcs12,
    /// A PEM or DER private key file with a separate certificate file.
    KeyFile,
}

/// How a new PKCS#12 file is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encryption {
    /// PBES2: PBKDF2-HMAC-SHA256 (600,000 iterations) and AES-256-CBC; SHA-256 MAC.
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC for key and certificate, SHA-1 MAC: what Windows
    /// Server 2012 R2 / 2016 and other old importers understand. Weaker: 3DES and SHA-1.
    Legacy,
}

/// A certificate with its RSA private key.
#[derive(Clone)]
pub struct KeyPair {
    certificate: Certificate,
    key: rsa::PrivateKey,
    container: Container,
    /// Certificates in the file besides the key's own (chains, strays).
    other_certificates: usize,
}

impl std::fmt::Debug for KeyPair {
    // Never print the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("certificate", &self.certificate.info().sha1_thumbprint)
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

/// The two checks that a key belongs to a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MatchChecks {
    /// The certificate's public key is the key's public half.
    pub public_key_equal: bool,
    /// A signature made with the key verifies with the certificate's public key.
    pub sign_verify: bool,
}

impl MatchChecks {
    pub fn ok(&self) -> bool {
        self.public_key_equal && self.sign_verify
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub algorithm: String,
    pub bits: usize,
}

impl KeyPair {
    /// A key pair from its parts (the checks say whether they belong together).
    pub fn new(certificate: Certificate, key: rsa::PrivateKey) -> Self {
        Self {
            certificate,
            key,
            container: Container::KeyFile,
            other_certificates: 0,
        }
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn container(&self) -> Container {
        self.container
    }

    pub fn other_certificates(&self) -> usize {
        self.other_certificates
    }

    pub fn key_info(&self) -> KeyInfo {
        KeyInfo {
            algorithm: "RSA".into(),
            bits: self.key.size() * 8,
        }
    }

    /// Public-key equality and a sign/verify round trip.
    pub fn checks(&self) -> MatchChecks {
        let cert_key = rsa::PublicKey::from_public_key_der(self.certificate.public_key_der()).ok();
        let public_key_equal = cert_key
            .as_ref()
            .is_some_and(|k| *k == self.key.to_public_key());
        let message = b"certmend key pair check";
        let sign_verify = match (&cert_key, self.key.pkcs1v15_sign::<sha2::Sha256>(message)) {
            (Some(public), Ok(signature)) => public
                .pkcs1v15_verify::<sha2::Sha256>(message, &signature)
                .is_ok(),
            _ => false,
        };
        MatchChecks {
            public_key_equal,
            sign_verify,
        }
    }

    /// Fails unless the key belongs to the certificate.
    pub fn ensure_matches(&self, path: &Path) -> Result<(), KeyPairError> {
        if self.checks().ok() {
            Ok(())
        } else {
            Err(KeyPairError::KeyMismatch {
                path: path.to_path_buf(),
                thumbprint: self.certificate.info().sha1_thumbprint.clone(),
            })
        }
    }

    /// The key pair as a PKCS#12 file protected by `password`.
    pub fn to_pkcs12(
        &self,
        password: &str,
        encryption: Encryption,
    ) -> Result<Vec<u8>, KeyPairError> {
        let iterations = match encryption {
            Encryption::Modern => MODERN_ITERATIONS,
            Encryption::Legacy => LEGACY_ITERATIONS,
        };
        self.to_pkcs12_with_iterations(password, encryption, iterations)
    }

    /// [`Self::to_pkcs12`] with another iteration count: only for files whose password
    /// is no secret (the demo's), where slow key derivation protects nothing.
    pub(crate) fn to_pkcs12_with_iterations(
        &self,
        password: &str,
        encryption: Encryption,
        iterations: u32,
    ) -> Result<Vec<u8>, KeyPairError> {
        let encode = |e: &dyn std::fmt::Display| KeyPairError::Encode(e.to_string());
        let pkcs8 = self.key.to_pkcs8_der().map_err(|e| encode(&e))?;
        let key = p12_keystore::PrivateKey::from_der(pkcs8.as_bytes()).map_err(|e| encode(&e))?;
        let certificate =
            p12_keystore::Certificate::from_der(self.certificate.der()).map_err(|e| encode(&e))?;
        // The local key id ties key and certificate together: the certificate's SHA-1,
        // as Windows writes it.
        let local_key_id =
            hex::decode(&self.certificate.info().sha1_thumbprint).unwrap_or_else(|_| vec![1]);
        let mut store = KeyStore::new();
        let alias = self
            .certificate
            .info()
            .common_name
            .clone()
            .unwrap_or_else(|| "certmend".into());
        store.add_entry(
            &alias,
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, [certificate])),
        );
        let writer = store.writer(password);
        let writer = match encryption {
            Encryption::Modern => writer
                .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
                .mac_algorithm(MacAlgorithm::HmacSha256),
            Encryption::Legacy => writer
                .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
                .mac_algorithm(MacAlgorithm::HmacSha1),
        }
        .encryption_iterations(iterations)
        .mac_iterations(iterations);
        writer.write().map_err(|e| encode(&e))
    }
}

/// Reads a key pair file's bytes (zeroized when dropped), with the usual file errors.
/// Only a regular file reached without a link, at most [`Kind::KeyPair`]'s cap: a key
/// pair may be dropped from a stick or read from a server folder.
pub fn read_bytes(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyPairError> {
    Ok(Zeroizing::new(cert::read_file(path, Kind::KeyPair)?))
}

/// Reads a PKCS#12 file.
pub fn read_pkcs12(path: &Path, password: &str) -> Result<KeyPair, KeyPairError> {
    parse_pkcs12(&read_bytes(path)?, password, path)
}

/// Refuses, before any password is asked for, a file that is clearly not PKCS#12 but
/// half of a key pair: a private key alone (its certificate is missing) or a
/// certificate alone (its key is missing).
pub fn expect_pkcs12(bytes: &[u8], path: &Path) -> Result<(), KeyPairError> {
    let pem_key = std::str::from_utf8(bytes)
        .is_ok_and(|t| t.contains("-----BEGIN") && t.contains("PRIVATE KEY-----"));
    let der_key = rsa::pkcs8::PrivateKeyInfoRef::try_from(bytes).is_ok()
        || rsa::pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes).is_ok()
        || rsa::PrivateKey::from_pkcs1_der(bytes).is_ok();
    if pem_key || der_key {
        return Err(KeyPairError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    if cert::parse(bytes).is_ok() {
        return Err(KeyPairError::NoKey {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Parses PKCS#12 bytes; `path` names them in messages.
pub fn parse_pkcs12(bytes: &[u8], password: &str, path: &Path) -> Result<KeyPair, KeyPairError> {
    expect_pkcs12(bytes, path)?;
    refuse_unsafe_pkcs12(bytes, path)?;
    let archive = open_pkcs12(bytes, password, path)?;
    pair_from_archive(&archive, path)
}

/// Refuses, before the password is tried, PKCS#12 files that cannot be opened safely.
fn refuse_unsafe_pkcs12(bytes: &[u8], path: &Path) -> Result<(), KeyPairError> {
    // p12-keystore hands scrypt parameters to the pkcs5 crate, which panics on an N of
    // 0 (before any password check when the file has no MAC). PKCS#12 files never use
    // scrypt (Windows and OpenSSL write PBKDF2 or the PKCS#12 KDF): refuse it.
    if bytes
        .windows(SCRYPT_OID_DER.len())
        .any(|w| w == SCRYPT_OID_DER)
    {
        return Err(KeyPairError::Corrupt {
            path: path.to_path_buf(),
            detail: "it uses scrypt key derivation, which PKCS#12 files do not".into(),
        });
    }
    // Without a MAC nothing proves the password (an unencrypted key opens with any
    // password) nor that the file is as it was written. Windows and OpenSSL always
    // write one unless told not to.
    if pkcs12::pfx::Pfx::from_der(bytes).is_ok_and(|pfx| pfx.mac_data.is_none()) {
        return Err(KeyPairError::NoMac {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Decrypts the archive with `password`.
fn open_pkcs12(bytes: &[u8], password: &str, path: &Path) -> Result<Pkcs12Archive, KeyPairError> {
    use p12_keystore::error::Error as P12;
    Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| match e {
        // The MAC over the contents failed: the password (the file's structure parsed).
        P12::MacError(_) => KeyPairError::WrongPassword {
            path: path.to_path_buf(),
        },
        // Decryption padding or a key that does not parse after decryption: without
        // a MAC, this is how a wrong password shows.
        P12::UnpadError | P12::InvalidPrivateKey => KeyPairError::WrongPassword {
            path: path.to_path_buf(),
        },
        other => KeyPairError::Corrupt {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// The key pair an opened archive holds.
///
/// Pairs by public key, not by the bags' local key ids (not every tool writes them):
/// the first key with a certificate of its own; otherwise the first key with the first
/// certificate, and the checks will say they do not match.
fn pair_from_archive(archive: &Pkcs12Archive, path: &Path) -> Result<KeyPair, KeyPairError> {
    let certificates: Vec<Certificate> = archive
        .certs
        .iter()
        .filter_map(|bag| cert::parse(bag.cert.as_der()).ok())
        .collect();
    let Some(first_key) = archive.keys.first() else {
        return Err(KeyPairError::NoKey {
            path: path.to_path_buf(),
        });
    };
    if certificates.is_empty() {
        return Err(KeyPairError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    let mut keys = Vec::new();
    for bag in &archive.keys {
        keys.push(rsa_key(bag, path)?);
    }
    let (key, index) = match paired_key(&keys, &certificates) {
        Some(found) => found,
        None => (rsa_key(first_key, path)?, 0),
    };
    let other_certificates = certificates.len() - 1;
    Ok(KeyPair {
        certificate: certificates.into_iter().nth(index).ok_or_else(|| {
            KeyPairError::NoCertificate {
                path: path.to_path_buf(),
            }
        })?,
        key,
        container: Container::Pkcs12,
        other_certificates,
    })
}

/// A key bag's RSA key; any other algorithm is refused by name.
fn rsa_key(
    bag: &p12_keystore::PrivateKeyBag,
    path: &Path,
) -> Result<rsa::PrivateKey, KeyPairError> {
    rsa::PrivateKey::from_pkcs8_der(bag.key.as_der()).map_err(|_| KeyPairError::NotRsa {
        path: path.to_path_buf(),
        algorithm: algorithm_name(&bag.key.oid().to_string()),
    })
}

/// The first key with a certificate of its own, and that certificate's index.
fn paired_key(
    keys: &[rsa::PrivateKey],
    certificates: &[Certificate],
) -> Option<(rsa::PrivateKey, usize)> {
    keys.iter().find_map(|key| {
        let public = key.to_public_key();
        certificates
            .iter()
            .position(|c| {
                rsa::PublicKey::from_public_key_der(c.public_key_der()).is_ok_and(|p| p == public)
            })
            .map(|i| (key.clone(), i))
    })
}

/// Reads a PEM or DER private key (PKCS#8, encrypted PKCS#8, PKCS#1) and its certificate.
pub fn read_key_file(
    key_path: &Path,
    certificate_path: &Path,
    password: Option<&str>,
) -> Result<KeyPair, KeyPairError> {
    let certificate = cert::load(certificate_path)?;
    let bytes = read_bytes(key_path)?;
    let key = parse_key(&bytes, password, key_path)?;
    Ok(KeyPair {
        certificate,
        key,
        container: Container::KeyFile,
        other_certificates: 0,
    })
}

/// Whether a private key file is encrypted (so its password must be asked for).
pub fn key_file_is_encrypted(path: &Path) -> bool {
    let Ok(bytes) = read_bytes(path) else {
        return false;
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        }
        _ => rsa::pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes.as_slice()).is_ok(),
    }
}

/// Parses private key bytes (PEM or DER); public for the fuzz targets.
#[doc(hidden)]
pub fn parse_key(
    bytes: &[u8],
    password: Option<&str>,
    path: &Path,
) -> Result<rsa::PrivateKey, KeyPairError> {
    let bad = |detail: String| KeyPairError::BadKey {
        path: path.to_path_buf(),
        detail,
    };
    let wrong = || KeyPairError::WrongPassword {
        path: path.to_path_buf(),
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains("-----BEGIN") {
            let text = text.trim_start_matches('\u{feff}');
            if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
                let password = password.ok_or_else(|| {
                    bad(
                        "it is encrypted; give its password (--password-file or CERTMEND_PASSWORD)"
                            .into(),
                    )
                })?;
                if let Ok((_, der)) = pem_rfc7468::decode_vec(text.as_bytes()) {
                    check_key_derivation(&der).map_err(bad)?;
                }
                return rsa::PrivateKey::from_pkcs8_encrypted_pem(text, password)
                    .map_err(|_| wrong());
            }
            if text.contains("Proc-Type: 4,ENCRYPTED") {
                return Err(bad(
                    "old OpenSSL PEM encryption (Proc-Type) is not supported; convert it with `openssl pkcs8 -topk8`".into(),
                ));
            }
            if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
                return rsa::PrivateKey::from_pkcs1_pem(text).map_err(|e| bad(e.to_string()));
            }
            if text.contains("-----BEGIN PRIVATE KEY-----") {
                return rsa::PrivateKey::from_pkcs8_pem(text).map_err(|e| {
                    match pkcs8_algorithm(text).filter(|oid| oid != RSA_ENCRYPTION) {
                        Some(oid) => KeyPairError::NotRsa {
                            path: path.to_path_buf(),
                            algorithm: algorithm_name(&oid),
                        },
                        None => bad(e.to_string()),
                    }
                });
            }
            return Err(bad(
                "no PRIVATE KEY block (expected PKCS#8 or PKCS#1 PEM)".into()
            ));
        }
    }
    if let Ok(key) = rsa::PrivateKey::from_pkcs8_der(bytes) {
        return Ok(key);
    }
    if let Ok(key) = rsa::PrivateKey::from_pkcs1_der(bytes) {
        return Ok(key);
    }
    match password {
        Some(password) if rsa::pkcs8::EncryptedPrivateKeyInfoRef::try_from(bytes).is_ok() => {
            check_key_derivation(bytes).map_err(bad)?;
            rsa::PrivateKey::from_pkcs8_encrypted_der(bytes, password).map_err(|_| wrong())
        }
        _ => Err(bad(
            "not a PKCS#8, encrypted PKCS#8 or PKCS#1 RSA key (PEM or DER)".into(),
        )),
    }
}

/// The DER of the scrypt OID (1.3.6.1.4.1.11591.4.11).
const SCRYPT_OID_DER: &[u8] = &[
    0x06, 0x09, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x04, 0x0B,
];

/// Most PBKDF2 iterations an encrypted key file may ask for (p12-keystore's limit for
/// PKCS#12 files; certmend's own backups use 600,000).
const MAX_KDF_ITERATIONS: u32 = 1_000_000;
/// Most scrypt work (128 * N * r * p bytes) an encrypted key file may ask for.
const MAX_SCRYPT_WORK_BYTES: u64 = 1 << 30;

/// Refuses an encrypted PKCS#8 key whose key derivation is invalid or too costly, before
/// any derivation runs: the file sets the cost, and a hostile one could otherwise ask
/// for 4 billion PBKDF2 iterations (hours), scrypt memory beyond any RAM, or an scrypt
/// N of 0 (which panics in the pkcs5 crate).
fn check_key_derivation(der: &[u8]) -> Result<(), String> {
    use rsa::pkcs8::pkcs5::{pbes2::Kdf, EncryptionScheme};
    let Ok(info) = rsa::pkcs8::EncryptedPrivateKeyInfoRef::try_from(der) else {
        return Ok(()); // not encrypted PKCS#8: decoding says what is wrong
    };
    // PBES1 counts its iterations in 16 bits: cheap whatever the file says.
    let EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Ok(());
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > MAX_KDF_ITERATIONS => Err(format!(
            "its encryption asks for {} PBKDF2 iterations, more than the {MAX_KDF_ITERATIONS} \
             certmend accepts",
            p.iteration_count
        )),
        Kdf::Scrypt(p) => {
            let n = p.cost_parameter;
            let work = 128u64
                .checked_mul(n)
                .and_then(|w| w.checked_mul(u64::from(p.block_size)))
                .and_then(|w| w.checked_mul(u64::from(p.parallelization)));
            if n < 2 || !n.is_power_of_two() || work.is_none_or(|w| w == 0) {
                Err("its scrypt parameters are invalid".into())
            } else if work.is_some_and(|w| w > MAX_SCRYPT_WORK_BYTES) {
                Err(format!(
                    "its scrypt parameters (N={n}, r={}, p={}) ask for more work than certmend \
                     accepts",
                    p.block_size, p.parallelization
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// The algorithm OID of a PKCS#8 PEM key.
fn pkcs8_algorithm(pem: &str) -> Option<String> {
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes()).ok()?;
    let info = rsa::pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).ok()?;
    Some(info.algorithm.oid.to_string())
}

/// A readable name for a key algorithm OID.
fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "EC (elliptic curve)".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        other => format!("algorithm {other}"),
    }
}

/// What `keypair show` reports.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPairReport {
    pub file: PathBuf,
    pub container: Container,
    pub certificate: CertificateInfo,
    pub key: KeyInfo,
    /// Certificates in the file besides the key's own.
    pub other_certificates: usize,
    pub checks: Checks,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    /// The file opened with the password (always true in a report: a wrong password is
    /// an error).
    pub password_ok: bool,
    pub key_matches_certificate: bool,
    pub public_key_equal: bool,
    pub sign_verify: bool,
    /// Against `--server`: `current`, `previous` (with when), or `neither`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals_server_certificate: Option<ServerRelation>,
}

/// How a key pair's certificate relates to a server's certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "relation", rename_all = "snake_case")]
pub enum ServerRelation {
    Current,
    Previous {
        first_seen: String,
        last_seen: String,
    },
    Neither,
}

impl KeyPair {
    pub fn report(&self, file: &Path, server: Option<ServerRelation>) -> KeyPairReport {
        let checks = self.checks();
        KeyPairReport {
            file: file.to_path_buf(),
            container: self.container,
            certificate: self.certificate.info().clone(),
            key: self.key_info(),
            other_certificates: self.other_certificates,
            checks: Checks {
                password_ok: true,
                key_matches_certificate: checks.ok(),
                public_key_equal: checks.public_key_equal,
                sign_verify: checks.sign_verify,
                equals_server_certificate: server,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    fn demo_pair(seed: u64) -> KeyPair {
        let key = demo::generate_key_pair(seed).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let spec = demo::CertSpec {
            common_name: "unit-test".into(),
            organization: None,
            serial: vec![1, 2, 3],
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(365),
        };
        let der = demo::self_signed_certificate(&key, &spec).unwrap();
        KeyPair {
            certificate: cert::parse(&der).unwrap(),
            key,
            container: Container::KeyFile,
            other_certificates: 0,
        }
    }

    #[test]
    fn modern_and_legacy_round_trips() {
        let pair = demo_pair(1);
        assert!(pair.checks().ok());
        for encryption in [Encryption::Modern, Encryption::Legacy] {
            let bytes = pair.to_pkcs12("pässwörd 日本", encryption).unwrap();
            let back = parse_pkcs12(&bytes, "pässwörd 日本", Path::new("x.pfx")).unwrap();
            assert_eq!(back.certificate().der(), pair.certificate().der());
            assert!(back.checks().ok());
            assert_eq!(back.key_info().bits, 2048);
            let err = parse_pkcs12(&bytes, "passwörd", Path::new("x.pfx")).unwrap_err();
            assert_eq!(err.code(), "keypair.wrong_password", "{encryption:?}");
            let err = parse_pkcs12(
                &bytes[..bytes.len() / 2],
                "pässwörd 日本",
                Path::new("x.pfx"),
            )
            .unwrap_err();
            assert_eq!(err.code(), "keypair.corrupt", "{err}");
            assert!(err.to_string().starts_with("x.pfx: "));
        }
    }

    #[test]
    fn a_key_of_another_pair_is_caught_by_both_checks() {
        let a = demo_pair(1);
        let b = demo_pair(2);
        let mixed = KeyPair {
            certificate: a.certificate.clone(),
            key: b.key.clone(),
            ..a.clone()
        };
        let checks = mixed.checks();
        assert!(!checks.public_key_equal);
        assert!(!checks.sign_verify);
        let err = mixed.ensure_matches(Path::new("m.pfx")).unwrap_err();
        assert_eq!(err.code(), "keypair.key_mismatch");
        // Written and read back, the mismatch is still reported (not silently repaired).
        let bytes = mixed.to_pkcs12("pw", Encryption::Modern).unwrap();
        let back = parse_pkcs12(&bytes, "pw", Path::new("m.pfx")).unwrap();
        assert!(!back.checks().ok());
    }

    /// A PKCS#12 file without a MAC opens with any password when its key is not
    /// encrypted, and nothing shows that it was changed: refused whatever the password.
    #[test]
    fn a_file_without_a_mac_is_refused_whatever_the_password() {
        use x509_cert::der::Encode;
        let pair = demo_pair(1);
        let bytes = pair
            .to_pkcs12_with_iterations("pw", Encryption::Legacy, 1)
            .unwrap();
        let mut pfx = pkcs12::pfx::Pfx::from_der(&bytes).unwrap();
        assert!(pfx.mac_data.is_some());
        pfx.mac_data = None;
        let stripped = pfx.to_der().unwrap();
        for password in ["pw", "anything else"] {
            let err = parse_pkcs12(&stripped, password, Path::new("nomac.pfx")).unwrap_err();
            assert_eq!(err.code(), "keypair.no_mac", "{err}");
            assert!(err.to_string().starts_with("nomac.pfx: "), "{err}");
        }
        // The same file with its MAC still opens.
        parse_pkcs12(&bytes, "pw", Path::new("mac.pfx")).unwrap();
    }

    #[test]
    fn not_pkcs12_at_all() {
        let err = parse_pkcs12(b"hello", "pw", Path::new("h.pfx")).unwrap_err();
        assert_eq!(err.code(), "keypair.corrupt");
    }

    /// An encrypted PKCS#8 key (DER) with the given key derivation and junk ciphertext.
    fn encrypted_key(kdf: rsa::pkcs8::pkcs5::pbes2::Kdf) -> Vec<u8> {
        use rsa::pkcs8::der::{asn1::OctetString, Encode};
        use rsa::pkcs8::pkcs5::{pbes2, EncryptionScheme};
        let params = pbes2::Parameters {
            kdf,
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [2; 16] },
        };
        rsa::pkcs8::EncryptedPrivateKeyInfoOwned {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: OctetString::new(vec![0u8; 32]).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// Found while fuzzing (`keyfile` target): the file sets its own key-derivation
    /// cost, so a hostile key file could hang certmend (PBKDF2), exhaust memory
    /// (scrypt) or panic the pkcs5 crate (scrypt N = 0) once a password is given.
    #[test]
    fn hostile_key_derivation_is_refused_before_it_runs() {
        use rsa::pkcs8::pkcs5::pbes2::{Kdf, Pbkdf2Params, Pbkdf2Prf, Salt, ScryptParams};
        let salt = Salt::new([1u8; 8]).unwrap();
        let pbkdf2 = |iteration_count| {
            Kdf::Pbkdf2(Pbkdf2Params {
                salt,
                iteration_count,
                key_length: None,
                prf: Pbkdf2Prf::HmacWithSha256,
            })
        };
        let scrypt = |cost_parameter, block_size, parallelization| {
            Kdf::Scrypt(ScryptParams {
                salt,
                cost_parameter,
                block_size,
                parallelization,
                key_length: None,
            })
        };
        let path = Path::new("hostile.key");
        let started = std::time::Instant::now();
        for kdf in [
            pbkdf2(u32::MAX),
            pbkdf2(MAX_KDF_ITERATIONS + 1),
            scrypt(0, 1, 1),
            scrypt(1 << 40, 8, 1),
            scrypt(1 << 20, 8, 16),
            scrypt(3, 1, 1),
        ] {
            let der = encrypted_key(kdf);
            let err = parse_key(&der, Some("pw"), path).unwrap_err();
            assert_eq!(err.code(), "keypair.bad_key", "{err}");
            let pem = pem_rfc7468::encode_string(
                "ENCRYPTED PRIVATE KEY",
                pem_rfc7468::LineEnding::LF,
                &der,
            )
            .unwrap();
            let err = parse_key(pem.as_bytes(), Some("pw"), path).unwrap_err();
            assert_eq!(err.code(), "keypair.bad_key", "{err}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Within the limits, derivation runs and the junk fails as a wrong password.
        for kdf in [pbkdf2(1), scrypt(16, 1, 1)] {
            let err = parse_key(&encrypted_key(kdf), Some("pw"), path).unwrap_err();
            assert_eq!(err.code(), "keypair.wrong_password", "{err}");
        }
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=127 => out.push(n as u8),
            n => {
                let len = (n as u32).to_be_bytes();
                let skip = len.iter().take_while(|b| **b == 0).count();
                out.push(0x80 | (4 - skip) as u8);
                out.extend_from_slice(&len[skip..]);
            }
        }
        out.extend_from_slice(content);
        out
    }

    /// Found while fuzzing: a PKCS#12 file without a MAC whose encrypted contents use
    /// scrypt with N = 0 panicked in the pkcs5 crate (through p12-keystore) whatever the
    /// password. PKCS#12 files never use scrypt: such a file is refused as damaged.
    #[test]
    fn pkcs12_with_scrypt_is_refused_without_a_panic() {
        use rsa::pkcs8::der::Encode;
        use rsa::pkcs8::pkcs5::pbes2::{self, Kdf, Salt, ScryptParams};
        use rsa::pkcs8::pkcs5::EncryptionScheme;
        let data_oid = [
            0x06, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01,
        ];
        let encrypted_data_oid = [
            0x06, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x06,
        ];
        let scheme = EncryptionScheme::Pbes2(pbes2::Parameters {
            kdf: Kdf::Scrypt(ScryptParams {
                salt: Salt::new([1u8; 8]).unwrap(),
                cost_parameter: 0,
                block_size: 1,
                parallelization: 1,
                key_length: None,
            }),
            encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: [2; 16] },
        });
        let algorithm = scheme.to_der().unwrap();
        let content_info = [&data_oid[..], &algorithm, &tlv(0x80, &[0u8; 32])].concat();
        let encrypted = tlv(0x30, &[&[2, 1, 0][..], &tlv(0x30, &content_info)].concat());
        let safe = tlv(
            0x30,
            &[&encrypted_data_oid[..], &tlv(0xA0, &encrypted)].concat(),
        );
        let auth_safe = tlv(0x30, &safe);
        let outer = [&data_oid[..], &tlv(0xA0, &tlv(0x04, &auth_safe))].concat();
        let pfx = tlv(0x30, &[&[2, 1, 3][..], &tlv(0x30, &outer)].concat());
        let err = parse_pkcs12(&pfx, "pw", Path::new("scrypt.pfx")).unwrap_err();
        assert_eq!(err.code(), "keypair.corrupt", "{err}");
    }
}
