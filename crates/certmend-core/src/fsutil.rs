//! File-system helpers shared by the domain modules: case-insensitive lookup (Windows
//! paths copied to or mounted on another OS keep any letter case) and streaming hashes.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Finds the entry of `dir` whose name equals `name` ignoring ASCII case.
///
/// An exact match wins; otherwise the first case-insensitive match in sorted order, so
/// the answer does not depend on directory iteration order.
pub(crate) fn find_child_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if fs::symlink_metadata(&exact).is_ok() {
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

/// Replaces (or creates) `path` with `bytes` so that it holds either the old or the
/// new content whenever the process stops: a temporary file beside it, flushed, then
/// renamed over it. `private` makes the file readable by its owner only where the OS
/// has such modes (Unix; on Windows the folder's access rules apply).
pub(crate) fn write_atomic_as(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".certmend-tmp-{name}"));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // Make the rename itself durable where a folder can be synced (not Windows).
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Asks the OS to forget the cached pages of a file already flushed, so the next read
/// comes from the device (a USB stick that lost the data is then caught). Linux only;
/// elsewhere reads may still be served from the cache. Advice only: errors are ignored.
pub(crate) fn drop_from_cache(file: &fs::File) {
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

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
