//! Checking a certificate's signature against its own public key (self-signed
//! certificates such as OfcNTCer.dat), with the rsa crate.

use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::PublicKey as RsaPublicKey;
use x509_parser::oid_registry::{
    OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA,
};
use x509_parser::prelude::X509Certificate;

/// `Ok(valid)` when the algorithm could be checked, `Err(why not)` otherwise.
pub(crate) fn verify_own_signature(x509: &X509Certificate<'_>) -> Result<bool, String> {
    let tbs = x509.tbs_certificate.as_ref();
    let signature = x509.signature_value.data.as_ref();
    let key =
        RsaPublicKey::from_public_key_der(x509.tbs_certificate.subject_pki.raw).map_err(|_| {
            "signature not checked: the public key is not a supported RSA key".to_string()
        })?;
    let alg = &x509.signature_algorithm.algorithm;
    let valid = if *alg == OID_PKCS1_SHA256WITHRSA {
        verify::<sha2::Sha256>(key, tbs, signature)
    } else if *alg == OID_PKCS1_SHA1WITHRSA {
        verify::<sha1::Sha1>(key, tbs, signature)
    } else if *alg == OID_PKCS1_SHA384WITHRSA {
        verify::<sha2::Sha384>(key, tbs, signature)
    } else if *alg == OID_PKCS1_SHA512WITHRSA {
        verify::<sha2::Sha512>(key, tbs, signature)
    } else {
        return Err(format!(
            "signature not checked: algorithm {} is not supported",
            alg.to_id_string()
        ));
    };
    Ok(valid)
}

fn verify<D>(key: RsaPublicKey, message: &[u8], signature: &[u8]) -> bool
where
    D: rsa::sha2::digest::Digest + rsa::pkcs8::AssociatedOid,
    VerifyingKey<D>: Verifier<Signature>,
{
    match Signature::try_from(signature) {
        Ok(sig) => VerifyingKey::<D>::new(key).verify(message, &sig).is_ok(),
        Err(_) => false,
    }
}
