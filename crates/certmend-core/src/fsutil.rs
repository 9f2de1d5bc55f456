//! File-system helpers shared by the domain modules: case-insensitive lookup (Windows
//! paths copied to or mounted on another OS keep any letter case) and streaming hashes.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Finds the entry of `dir` whose name equals `name` ignoring ASCII case.
///
/// An exact match wins; otherwise the first case-insensitive match in sorted order, so
/// the answer does not depend on directory iteration order. Links (symlinks, and on
/// Windows junctions and other reparse points) are stepped over, never returned: the
/// folders searched (a server folder, a copied or mounted one, a stick) may be written
/// by others, and a link there could lead a reader to a local file, a network path
/// (handing the admin's credentials to it) or round in a loop.
pub(crate) fn find_child_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if fs::symlink_metadata(&exact).is_ok() && !crate::untrusted::is_link(&exact) {
        return Some(exact);
    }
    let mut matches: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .eq_ignore_ascii_case(name)
        })
        .map(|entry| entry.path())
        .filter(|path| !crate::untrusted::is_link(path))
        .collect();
    matches.sort();
    matches.into_iter().next()
}

/// Resolves `base/seg1/seg2/...` matching each segment case-insensitively.
pub(crate) fn resolve_ci(base: &Path, segments: &[&str]) -> Option<PathBuf> {
    segments
        .iter()
        .try_fold(base.to_path_buf(), |dir, segment| {
            find_child_ci(&dir, segment)
        })
}

/// SHA-256 of a file's contents, uppercase hex, read in chunks (IpXfer is megabytes).
pub(crate) fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    sha256_reader(&mut fs::File::open(path)?)
}

/// Size and SHA-256 (upper-case hex) of everything `reader` yields.
pub(crate) fn sha256_reader(reader: &mut impl Read) -> io::Result<(u64, String)> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, crate::hexfmt::upper_hex(&hasher.finalize())))
}

// Owner-only files moved to `crate::durable`; the store and `paths` still name them
// here.
#[cfg(unix)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_any_letter_case() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("pccsrv/PCCNT/common");
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("OFCNTCER.DAT"), b"x").unwrap();
        let found = resolve_ci(tmp.path(), &["PCCSRV", "Pccnt", "Common", "OfcNTCer.dat"]);
        assert_eq!(found, Some(deep.join("OFCNTCER.DAT")));
        assert_eq!(resolve_ci(tmp.path(), &["PCCSRV", "Admin"]), None);
    }

    /// Links are stepped over: a planted `PCCSRV` link is never taken for the folder,
    /// while a real folder of another letter case still is.
    #[cfg(unix)]
    #[test]
    fn links_are_never_found() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let install = tmp.path().join("install");
        fs::create_dir(&install).unwrap();
        std::os::unix::fs::symlink(&elsewhere, install.join("PCCSRV")).unwrap();
        assert_eq!(find_child_ci(&install, "PCCSRV"), None);
        assert_eq!(find_child_ci(&install, "pccsrv"), None);
        fs::create_dir(install.join("pccSRV")).unwrap();
        assert_eq!(
            find_child_ci(&install, "PCCSRV"),
            Some(install.join("pccSRV"))
        );
        // Two links naming each other: nothing, at once.
        std::os::unix::fs::symlink(install.join("b"), install.join("a")).unwrap();
        std::os::unix::fs::symlink(install.join("a"), install.join("b")).unwrap();
        assert_eq!(resolve_ci(&install, &["a", "b", "a"]), None);
    }

    #[test]
    fn hashes_in_chunks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        fs::write(&path, vec![7u8; 200_000]).unwrap();
        let (size, hash) = sha256_file(&path).unwrap();
        assert_eq!(size, 200_000);
        assert_eq!(hash, crate::hexfmt::sha256_hex(&vec![7u8; 200_000]));
    }
}
