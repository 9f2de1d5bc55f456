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

/// Prefix of the temporary files [`write_atomic_as`] creates (a random part follows).
pub(crate) const TEMP_FILE_PREFIX: &str = ".certmend-tmp-";

/// Replaces (or creates) `path` with `bytes` so that it holds either the old or the
/// new content whenever the process stops: a temporary file beside it, flushed, then
/// renamed over it. `private` makes the file readable by its owner only where the OS
/// has such modes (Unix, 0600; on Windows the folder's access rules apply: under
/// `%LOCALAPPDATA%` the user profile's, which admit the user, SYSTEM and Administrators).
///
/// The temporary file has an unpredictable name and is created exclusively
/// (`O_EXCL`, `CREATE_NEW`): nothing planted beside `path` (a file, or a link to
/// somewhere else) can stand in for it or be written through.
pub(crate) fn write_atomic_as(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_FILE_PREFIX);
    // tempfile creates owner-only (0600) files on Unix; anything else asks for the
    // usual mode, which the umask then narrows.
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = private;
    // Removed when dropped, so every early return below leaves nothing behind.
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable where a folder can be synced (not Windows).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Narrows an existing file or folder of certmend's own to owner-only `mode` (0600,
/// 0700) when its group or others have any access: files and folders earlier versions
/// wrote with the default mode. Never through a link. Best effort: a file of another
/// user or on a read-only disk stays as it is, and whatever uses it says so if needed.
#[cfg(unix)]
pub(crate) fn make_owner_only(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.file_type().is_symlink() && meta.permissions().mode() & 0o077 != 0 {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
    }
}

/// Creates `path` as an empty owner-only (0600) file unless something is already
/// there (never through a link: `O_EXCL`). For files another library creates with
/// the default mode, such as SQLite's database. Best effort, like [`make_owner_only`].
#[cfg(unix)]
pub(crate) fn create_private_file(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
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

    /// The temporary file is not the old predictable `.certmend-tmp-<name>`: a link
    /// planted there (or anything else) is not written through, and the written file
    /// replaces a link at its own name instead of writing where the link points.
    #[cfg(unix)]
    #[test]
    fn atomic_writes_go_through_no_planted_link() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim.txt");
        fs::write(&victim, b"precious").unwrap();
        let dir = tmp.path().join("backups");
        fs::create_dir(&dir).unwrap();
        let planted = dir.join(".certmend-tmp-key.pfx");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let target = dir.join("key.pfx");
        write_atomic_as(&target, b"new bytes", true).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&target).unwrap(), b"new bytes");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // A link at the file's own name is replaced, not followed.
        let linked = dir.join("other.pfx");
        std::os::unix::fs::symlink(&victim, &linked).unwrap();
        write_atomic_as(&linked, b"replaced", true).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(&linked)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&linked).unwrap(), b"replaced");

        // Not private: the mode any new file gets (the umask decides).
        let public = dir.join("public.txt");
        write_atomic_as(&public, b"x", false).unwrap();
        let usual = tmp.path().join("usual.txt");
        fs::write(&usual, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&public), mode(&usual));

        // Nothing left behind but the planted link and the three files.
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".certmend-tmp-key.pfx",
                "key.pfx",
                "other.pfx",
                "public.txt"
            ]
        );
        // A failed write (no such folder) leaves nothing either.
        assert!(write_atomic_as(&tmp.path().join("none/x"), b"x", true).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_narrows_files_but_never_through_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
        let open = |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
        let file = tmp.path().join("db");
        fs::write(&file, b"x").unwrap();
        open(&file);
        make_owner_only(&file, 0o600);
        assert_eq!(mode(&file), 0o600);
        let victim = tmp.path().join("victim");
        fs::write(&victim, b"x").unwrap();
        open(&victim);
        let link = tmp.path().join("db-wal");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        make_owner_only(&link, 0o600);
        assert_eq!(mode(&victim), 0o644, "not through the link");
        // create_private_file: new files 0600, an existing one (or a link) untouched.
        let new = tmp.path().join("new.sqlite3");
        create_private_file(&new);
        assert_eq!(mode(&new), 0o600);
        create_private_file(&link);
        assert_eq!(fs::read(&victim).unwrap(), b"x");
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
