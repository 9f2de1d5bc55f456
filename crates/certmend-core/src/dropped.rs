//! What a file or folder dropped on the window is, judged from its content (names
//! lie: lists arrive as .txt or .csv, certificates as .dat, .cer or .crt), so the window
//! can say what will happen before anything does.

use std::path::Path;

use serde::Serialize;

use crate::{cert, server};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    /// A CertificateManager list (text).
    List,
    /// An agent's (or the server's) certificate.
    Certificate,
    /// A PKCS#12 key pair file.
    KeyPair,
    /// An install folder, a PCCSRV folder, or a drive holding one.
    ServerFolder,
    /// A folder of collected agent certificates.
    CertificateFolder,
    /// Refused, with the reason (`code` for the window to translate).
    Unknown { code: &'static str, reason: String },
}

const SNIFF: usize = 64 * 1024;

pub fn classify(path: &Path) -> Kind {
    let unknown = |code: &'static str, reason: &str| Kind::Unknown {
        code,
        reason: reason.to_string(),
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return unknown("drop.not_found", "not found");
    };
    if meta.is_dir() {
        if server::open(path).is_ok()
            || !server::detect(&server::DetectSources::default().with_root(path)).is_empty()
        {
            return Kind::ServerFolder;
        }
        let holds_certificates = std::fs::read_dir(path)
            .map(|entries| {
                entries.filter_map(Result::ok).take(1000).any(|e| {
                    let p = e.path();
                    p.is_file() && classify(&p) == Kind::Certificate
                        || p.is_dir() && p.join("OfcNTCer.dat").is_file()
                })
            })
            .unwrap_or(false);
        return if holds_certificates {
            Kind::CertificateFolder
        } else {
            unknown(
                "drop.empty_folder",
                "a folder with neither a server nor agent certificates in it",
            )
        };
    }
    let Ok(bytes) = read_head(path) else {
        return unknown("drop.unreadable", "cannot be read");
    };
    if bytes.is_empty() {
        return unknown("drop.empty_file", "the file is empty");
    }
    if cert::parse(&bytes).is_ok() {
        return Kind::Certificate;
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    // PKCS#12 is DER (a SEQUENCE) and cannot be parsed without its password.
    if bytes[0] == 0x30 && matches!(extension.as_str(), "pfx" | "p12" | "dat") {
        return Kind::KeyPair;
    }
    if looks_like_text(&bytes) {
        return Kind::List;
    }
    unknown(
        "drop.unknown_file",
        "neither a list, a certificate nor a key pair file",
    )
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(SNIFF as u64)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// UTF-16 with a BOM, or bytes without NULs (UTF-8, CP932).
fn looks_like_text(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) || !bytes.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_files_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let d = crate::demo::write_demo(
            &tmp.path().join("d"),
            &crate::demo::DemoOptions {
                seed: Some(2),
                force: false,
            },
        )
        .unwrap();
        assert_eq!(classify(&d.list_file), Kind::List);
        assert_eq!(classify(&d.certificate), Kind::Certificate);
        assert_eq!(classify(&d.key_pair_file), Kind::KeyPair);
        assert_eq!(classify(&d.previous_key_pair_file), Kind::KeyPair);
        assert_eq!(classify(&d.install_folder), Kind::ServerFolder);
        assert_eq!(classify(&d.root), Kind::ServerFolder);
        assert_eq!(classify(&d.collected_folder), Kind::CertificateFolder);
        let exe = d
            .install_folder
            .join("PCCSRV/Admin/Utility/IpXfer/IpXfer.exe");
        std::fs::write(&exe, [0x4d, 0x5a, 0, 0, 3]).unwrap();
        assert!(matches!(
            classify(&exe),
            Kind::Unknown {
                code: "drop.unknown_file",
                ..
            }
        ));
        assert!(matches!(
            classify(&tmp.path().join("none")),
            Kind::Unknown {
                code: "drop.not_found",
                ..
            }
        ));
    }
}
