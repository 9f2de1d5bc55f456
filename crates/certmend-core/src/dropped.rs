//! What a file or folder dropped on the window is, judged from its content (names
//! lie: lists arrive as .txt or .csv, certificates as .dat, .cer or .crt), so the window
//! can say what will happen before anything does.

use std::path::Path;

use serde::Serialize;

use crate::untrusted::{self, FileError};
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

/// Entries of a dropped folder looked at before it is called empty.
const FOLDER_LOOK: usize = 1000;

pub fn classify(path: &Path) -> Kind {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return unknown("drop.not_found", "not found");
    };
    // A link dropped (or met in a dropped folder) is never followed: on a stick it may
    // name a local file, which would then be read into the store, or a network path,
    // which Windows would hand the admin's credentials to.
    if untrusted::is_link(path) {
        return unknown("drop.link", LINK);
    }
    if meta.is_dir() {
        return classify_folder(path);
    }
    classify_file(path)
}

/// Why a link is refused.
const LINK: &str =
    "a link (symbolic link, junction or shortcut to elsewhere); certmend does not follow links";

fn unknown(code: &'static str, reason: &str) -> Kind {
    Kind::Unknown {
        code,
        reason: reason.to_string(),
    }
}

/// A folder: a server's, one of collected certificates, or neither.
fn classify_folder(path: &Path) -> Kind {
    if server::open(path).is_ok()
        || !server::detect(&server::DetectSources::default().with_root(path)).is_empty()
    {
        return Kind::ServerFolder;
    }
    if holds_certificates(path) {
        Kind::CertificateFolder
    } else {
        unknown(
            "drop.empty_folder",
            "a folder with neither a server nor agent certificates in it",
        )
    }
}

/// Whether a folder holds agent certificates, directly or one folder down as
/// `OfcNTCer.dat` (links left alone; the first [`FOLDER_LOOK`] entries).
fn holds_certificates(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .take(FOLDER_LOOK)
                .map(|e| e.path())
                .filter(|p| !untrusted::is_link(p))
                .any(|p| {
                    p.is_file() && classify(&p) == Kind::Certificate
                        || p.is_dir() && {
                            let inner = p.join("OfcNTCer.dat");
                            !untrusted::is_link(&inner) && inner.is_file()
                        }
                })
        })
        .unwrap_or(false)
}

/// A file, judged from its first bytes: a certificate, a key pair file, a list, or
/// nothing certmend reads.
fn classify_file(path: &Path) -> Kind {
    let bytes = match read_head(path) {
        Ok(bytes) => bytes,
        Err(error) => return unreadable(&error),
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

/// Why a file that could not be read is refused.
fn unreadable(error: &FileError) -> Kind {
    match error {
        FileError::NotRegular { .. } => unknown(
            "drop.not_regular",
            "not a regular file (a device, a pipe or a socket)",
        ),
        FileError::TooLarge { .. } => unknown(
            "drop.too_large",
            "too large for any file certmend reads (at most 256 MiB, for a list)",
        ),
        FileError::Link { .. } => unknown("drop.link", LINK),
        _ => unknown("drop.unreadable", "cannot be read"),
    }
}

/// The first bytes of a dropped file, opened as [`untrusted::open`] opens any file from
/// a stick: a regular file, no link, no larger than the largest kind certmend reads
/// (a list); what it is decides the cap applied when it is read in full.
fn read_head(path: &Path) -> Result<Vec<u8>, FileError> {
    use std::io::Read;
    let (file, _) = untrusted::open(path, untrusted::Kind::List)?;
    let mut bytes = Vec::new();
    file.take(SNIFF as u64)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
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

    #[cfg(unix)]
    fn code_of(kind: Kind) -> &'static str {
        match kind {
            Kind::Unknown { code, .. } => code,
            other => panic!("taken: {other:?}"),
        }
    }

    /// What a stick could hold to make a drop read something else, hang, or exhaust
    /// memory: each is refused with its own reason, before anything is read.
    #[cfg(unix)]
    #[test]
    fn links_pipes_and_huge_files_are_refused() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let d = crate::demo::write_demo(
            &tmp.path().join("d"),
            &crate::demo::DemoOptions {
                seed: Some(3),
                force: false,
            },
        )
        .unwrap();
        let stick = tmp.path().join("stick");
        std::fs::create_dir(&stick).unwrap();
        // Links to a list, a certificate, a server and a folder of certificates.
        for (name, target) in [
            ("agents-list.csv", &d.list_file),
            ("OfcNTCer.dat", &d.certificate),
            ("server", &d.install_folder),
            ("collected", &d.collected_folder),
        ] {
            let link = stick.join(name);
            symlink(target, &link).unwrap();
            assert_eq!(code_of(classify(&link)), "drop.link", "{name}");
        }
        // A folder holding only links to certificates holds no certificates.
        let only_links = tmp.path().join("only-links");
        std::fs::create_dir_all(only_links.join("PC-9")).unwrap();
        symlink(&d.certificate, only_links.join("PC-1.dat")).unwrap();
        symlink(&d.certificate, only_links.join("PC-9/OfcNTCer.dat")).unwrap();
        symlink(&d.collected_folder, only_links.join("more")).unwrap();
        assert_eq!(code_of(classify(&only_links)), "drop.empty_folder");
        // A pipe would block a reader forever.
        let fifo = stick.join("agents.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(code_of(classify(&fifo)), "drop.not_regular");
        // Larger than any file certmend reads (sparse: no disk used).
        let huge = stick.join("huge.csv");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(crate::untrusted::Kind::List.cap() + 1)
            .unwrap();
        assert_eq!(code_of(classify(&huge)), "drop.too_large");
    }
}
