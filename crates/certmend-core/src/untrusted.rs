//! Reading files that others may have written: a USB stick every agent PC it visits can
//! write to, a network share, a folder dropped on the window, a server folder.
//!
//! Such a file is read only when it is a regular file reached without following a link
//! (a symlink, or on Windows any reparse point: a link to a network path would hand the
//! admin's credentials to whoever named it, a link to a local file would read that file
//! into the store) and only up to a size cap for its kind, so that a hostile file can
//! neither hang a reader (a FIFO, a device) nor exhaust memory. Folder walkers use
//! [`is_link`] to step over links, so a loop of links ends.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::ErrorCode;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// What a file is read as; each kind has its own size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An agent's or a server's certificate (`OfcNTCer.dat` is about 1 KiB).
    Certificate,
    /// A CertificateManager list (100,000 agents take about 10 MiB).
    List,
    /// One computer's receipts file on a stick.
    Receipts,
    /// A bundle's manifest.json.
    Manifest,
    /// A PKCS#12 key pair file.
    KeyPair,
    /// A file holding a password (its first line).
    PasswordFile,
}

impl Kind {
    /// The largest file of this kind certmend reads.
    pub const fn cap(self) -> u64 {
        match self {
            Kind::Certificate => MIB,
            Kind::List => 256 * MIB,
            Kind::Receipts => 16 * MIB,
            Kind::Manifest => MIB,
            Kind::KeyPair => MIB,
            Kind::PasswordFile => 4 * KIB,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Certificate => "a certificate",
            Kind::List => "an agent list",
            Kind::Receipts => "a receipts file",
            Kind::Manifest => "a bundle manifest",
            Kind::KeyPair => "a key pair file",
            Kind::PasswordFile => "a password file",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a folder, not a file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: is a link (symbolic link, junction or other reparse point); certmend does not follow links out of a stick, a share or a dropped folder", path.display())]
    Link { path: PathBuf },
    #[error("{}: is not a regular file (a device, a pipe or a socket)", path.display())]
    NotRegular { path: PathBuf },
    #[error("{}: {size} bytes is too large for {what} (at most {cap} bytes)", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        cap: u64,
        what: &'static str,
    },
    #[error("{}: cannot be read: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ErrorCode for FileError {
    fn code(&self) -> &'static str {
        match self {
            FileError::NotFound { .. } => "file.not_found",
            FileError::IsDirectory { .. } => "file.is_directory",
            FileError::Link { .. } => "file.link",
            FileError::NotRegular { .. } => "file.not_regular",
            FileError::TooLarge { .. } => "file.too_large",
            FileError::Unreadable { .. } => "file.unreadable",
        }
    }

    fn args(&self) -> BTreeMap<&'static str, String> {
        let mut args = BTreeMap::from([("path", self.path().display().to_string())]);
        if let FileError::TooLarge { size, cap, .. } = self {
            args.insert("size_bytes", size.to_string());
            args.insert("cap_bytes", cap.to_string());
        }
        args
    }
}

impl FileError {
    pub fn path(&self) -> &Path {
        match self {
            FileError::NotFound { path }
            | FileError::IsDirectory { path }
            | FileError::Link { path }
            | FileError::NotRegular { path }
            | FileError::TooLarge { path, .. }
            | FileError::Unreadable { path, .. } => path,
        }
    }
}

/// Whether `path` itself is a link: a symlink, or on Windows any reparse point
/// (junctions, mount points, symlinks, and placeholders that stand for data elsewhere).
/// Never follows it. A path that cannot be examined is not called a link.
pub fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| metadata_is_link(&m))
}

fn metadata_is_link(meta: &fs::Metadata) -> bool {
    if meta.file_type().is_symlink() {
        return true;
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x400;
        if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return true;
        }
    }
    false
}

/// Opens `path` for reading as a file of `kind`: a regular file, not a link, within the
/// cap. Returns the file and its size.
pub fn open(path: &Path, kind: Kind) -> Result<(File, u64), FileError> {
    let err = |source: io::Error| FileError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FileError::NotFound {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(err(e)),
    };
    check(path, &meta, kind)?;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    // The check above and the open are two steps: the open itself must not follow a
    // link put there meanwhile, nor block on a pipe put there meanwhile.
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(flags.bits() as i32);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = options.open(path).map_err(|e| {
        // ELOOP: a symlink appeared between the check and the open.
        if is_link(path) {
            FileError::Link {
                path: path.to_path_buf(),
            }
        } else {
            err(e)
        }
    })?;
    let meta = file.metadata().map_err(err)?;
    check(path, &meta, kind)?;
    Ok((file, meta.len()))
}

fn check(path: &Path, meta: &fs::Metadata, kind: Kind) -> Result<(), FileError> {
    if metadata_is_link(meta) {
        return Err(FileError::Link {
            path: path.to_path_buf(),
        });
    }
    if meta.is_dir() {
        return Err(FileError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    too_large(path, meta.len(), kind)
}

fn too_large(path: &Path, size: u64, kind: Kind) -> Result<(), FileError> {
    if size > kind.cap() {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size,
            cap: kind.cap(),
            what: kind.name(),
        });
    }
    Ok(())
}

/// Reads all of `path` as a file of `kind` (see [`open`]). A file that grows past the
/// cap while it is read is refused too.
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, FileError> {
    let (file, size) = open(path, kind)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(kind.cap() + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
    too_large(path, bytes.len() as u64, kind)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_and_caps_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("pw.txt");
        fs::write(&path, b"secret\n").unwrap();
        assert_eq!(read(&path, Kind::PasswordFile).unwrap(), b"secret\n");
        fs::write(&path, vec![b'x'; 4 * 1024 + 1]).unwrap();
        let err = read(&path, Kind::PasswordFile).unwrap_err();
        assert_eq!(err.code(), "file.too_large", "{err}");
        assert!(err.to_string().contains("a password file"), "{err}");
        assert_eq!(
            read(&tmp.path().join("none"), Kind::List)
                .unwrap_err()
                .code(),
            "file.not_found"
        );
        assert_eq!(
            read(tmp.path(), Kind::List).unwrap_err().code(),
            "file.is_directory"
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_pipes_and_loops_are_refused_without_hanging() {
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("local-secret.txt");
        fs::write(&secret, b"not for the store").unwrap();
        let link = tmp.path().join("receipts.txt");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read(&link, Kind::Receipts).unwrap_err();
        assert_eq!(err.code(), "file.link", "{err}");
        assert!(is_link(&link));
        assert!(!is_link(&secret));
        // Two links naming each other.
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert_eq!(read(&a, Kind::Certificate).unwrap_err().code(), "file.link");
        // A FIFO would block a plain read forever.
        let fifo = tmp.path().join("fifo.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(
            read(&fifo, Kind::List).unwrap_err().code(),
            "file.not_regular"
        );
    }
}
