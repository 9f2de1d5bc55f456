//! Durable writes: a file certmend writes counts only once it is on the device and has
//! been read back from there.
//!
//! Sticks fail, fill up and are pulled out; disks fill. Every file certmend writes for
//! later use (repair bundles, key-pair backups, restore kits, the demo) goes through
//! here: written new (never over something else) or atomically (a temporary file
//! beside it, flushed, renamed over it, the folder synced), its cached pages then
//! dropped so that the read-back, compared with the SHA-256 of what was meant to be
//! written, comes from the device and not from memory. Folders are replaced whole.
//! Owner-only files and folders (Unix modes) for what holds a private key live here
//! too.
//!
//! Errors carry the path they concern; each caller wraps them in its own error type
//! and code.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::fsutil::sha256_reader;
use crate::hexfmt::{sha256_hex, upper_hex};

/// Prefix of every temporary file and folder certmend writes beside what it writes (a
/// random part follows); an export removes folders of this name an interrupted one
/// left.
pub(crate) const TEMP_PREFIX: &str = ".certmend-tmp-";

/// Buffer size for copies: IpXfer is megabytes, sticks like large writes.
const COPY_BUFFER: usize = 256 * 1024;

/// A durable write that failed.
#[derive(Debug)]
pub(crate) enum DurableError {
    /// Reading or writing `path` failed (a cancelled copy: [`io::ErrorKind::Interrupted`]).
    Io { path: PathBuf, source: io::Error },
    /// `path` read back with another SHA-256 than what was written.
    Mismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> DurableError + '_ {
    move |source| DurableError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `path` exclusively (`O_EXCL`, `CREATE_NEW`: never over an existing file, nor
/// through a link); `private` makes it owner-only (0600) on Unix.
pub(crate) fn open_new(path: &Path, private: bool) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// Flushes a written file to the device and forgets its cached pages, so the next read
/// of it comes from the device.
fn flush_to_device(file: &File) -> io::Result<()> {
    file.sync_all()?;
    drop_from_cache(file);
    Ok(())
}

/// Writes `bytes` to the new file `path`, flushed to the device.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = open_new(path, false)?;
    file.write_all(bytes)?;
    flush_to_device(&file)
}

/// Replaces (or creates) `path` with `bytes` so that it holds either the old or the
/// new content whenever the process stops: a temporary file beside it, flushed, then
/// renamed over it. `private` makes the file readable by its owner only where the OS
/// has such modes (Unix, 0600; on Windows the folder's access rules apply: under
/// `%LOCALAPPDATA%` the user profile's, which admit the user, SYSTEM and Administrators).
///
/// The temporary file has an unpredictable name and is created exclusively
/// (`O_EXCL`, `CREATE_NEW`): nothing planted beside `path` (a file, or a link to
/// somewhere else) can stand in for it or be written through.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
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
    flush_to_device(tmp.as_file())?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    sync_dir(dir);
    Ok(())
}

/// [`write_atomic`], then [`read_back`]: the file's size and SHA-256, as on the device.
pub(crate) fn write_atomic_checked(
    path: &Path,
    bytes: &[u8],
    private: bool,
) -> Result<(u64, String), DurableError> {
    write_atomic(path, bytes, private).map_err(at(path))?;
    let sha256 = sha256_hex(bytes);
    let size = read_back(path, &sha256)?;
    Ok((size, sha256))
}

/// Streams `from` into the new file `to`, flushed to the device; returns the SHA-256 of
/// what was copied. Asks `keep_going` before each chunk: when it says no, the copy
/// stops with an [`io::ErrorKind::Interrupted`] error on `to`.
pub(crate) fn copy_hashed(
    from: &Path,
    to: &Path,
    keep_going: &dyn Fn() -> bool,
) -> Result<String, DurableError> {
    use sha2::Digest;
    let source = File::open(from).map_err(at(from))?;
    let mut reader = BufReader::with_capacity(COPY_BUFFER, source);
    let file = open_new(to, false).map_err(at(to))?;
    let mut writer = BufWriter::with_capacity(COPY_BUFFER, file);
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        if !keep_going() {
            let cancelled = io::Error::new(io::ErrorKind::Interrupted, "cancelled");
            return Err(at(to)(cancelled));
        }
        let n = reader.read(&mut buf).map_err(at(from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n]).map_err(at(to))?;
    }
    let file = writer.into_inner().map_err(|e| at(to)(e.into_error()))?;
    flush_to_device(&file).map_err(at(to))?;
    Ok(upper_hex(&hasher.finalize()))
}

/// Reads a written file back (from the device: its pages were dropped after the flush)
/// and compares its SHA-256 with `expected` (upper-case hex); then drops it again so
/// thousands of files do not fill the cache. Returns its size.
pub(crate) fn read_back(path: &Path, expected: &str) -> Result<u64, DurableError> {
    let mut file = File::open(path).map_err(at(path))?;
    let (size, found) = sha256_reader(&mut file).map_err(at(path))?;
    drop_from_cache(&file);
    if found != expected {
        return Err(DurableError::Mismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(size)
}

/// Makes a rename in `dir` durable where the OS allows syncing a folder (not Windows).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Renames `from` to `to` (a folder onto a name that must be free) and makes the rename
/// durable.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// Moves the folder `tmp` to `final_dir`, setting any earlier `final_dir` aside to
/// `aside` first (a folder cannot be renamed onto an existing one on Windows) and
/// removing it once the new one is in place.
pub(crate) fn replace_dir(tmp: &Path, final_dir: &Path, aside: &Path) -> Result<(), DurableError> {
    let old = if final_dir.exists() {
        fs::rename(final_dir, aside).map_err(at(final_dir))?;
        Some(aside)
    } else {
        None
    };
    rename_into_place(tmp, final_dir).map_err(at(final_dir))?;
    if let Some(old) = old {
        fs::remove_dir_all(old).map_err(at(old))?;
    }
    Ok(())
}

/// Asks the OS to forget the cached pages of a file already flushed, so the next read
/// comes from the device (a USB stick that lost the data is then caught). Linux only;
/// elsewhere reads may still be served from the cache. Advice only: errors are ignored.
fn drop_from_cache(file: &File) {
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
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
    let _ = open_new(path, true);
}

#[cfg(test)]
mod tests {
    use super::*;

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
        write_atomic(&target, b"new bytes", true).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&target).unwrap(), b"new bytes");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // A link at the file's own name is replaced, not followed.
        let linked = dir.join("other.pfx");
        std::os::unix::fs::symlink(&victim, &linked).unwrap();
        write_atomic(&linked, b"replaced", true).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(&linked)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&linked).unwrap(), b"replaced");

        // Not private: the mode any new file gets (the umask decides).
        let public = dir.join("public.txt");
        write_atomic(&public, b"x", false).unwrap();
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
        assert!(write_atomic(&tmp.path().join("none/x"), b"x", true).is_err());
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

    /// New files are never written over anything; a copy is hashed, can be stopped, and
    /// a changed file is caught on read-back.
    #[test]
    fn new_files_copies_and_read_backs() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        write_new(&a, &[7u8; 300_000]).unwrap();
        assert_eq!(
            write_new(&a, b"again").unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        let b = tmp.path().join("b");
        let sha = copy_hashed(&a, &b, &|| true).unwrap();
        assert_eq!(sha, sha256_hex(&[7u8; 300_000]));
        assert_eq!(read_back(&b, &sha).unwrap(), 300_000);
        let c = tmp.path().join("c");
        assert!(matches!(
            copy_hashed(&a, &c, &|| false),
            Err(DurableError::Io { path, source })
                if path == c && source.kind() == io::ErrorKind::Interrupted
        ));
        fs::write(&b, b"changed").unwrap();
        assert!(matches!(
            read_back(&b, &sha),
            Err(DurableError::Mismatch { found, .. }) if found == sha256_hex(b"changed")
        ));
        // A folder replaced whole; the earlier one is gone, nothing set aside is left.
        let (old, new, aside) = (
            tmp.path().join("d"),
            tmp.path().join("n"),
            tmp.path().join("x"),
        );
        fs::create_dir(&old).unwrap();
        fs::write(old.join("f"), b"old").unwrap();
        fs::create_dir(&new).unwrap();
        fs::write(new.join("f"), b"new").unwrap();
        replace_dir(&new, &old, &aside).unwrap();
        assert_eq!(fs::read(old.join("f")).unwrap(), b"new");
        assert!(!new.exists() && !aside.exists());
    }

    /// The read-back of an atomic write (backups, restore kits) comes from the device as
    /// a bundle's does: afterwards no page of the file is cached (fincore, util-linux).
    #[cfg(target_os = "linux")]
    #[test]
    fn atomic_writes_are_read_back_from_the_device() {
        let tmp = tempfile::tempdir().unwrap();
        let fs_type = std::process::Command::new("stat")
            .args(["-f", "-c", "%T"])
            .arg(tmp.path())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&fs_type.stdout).trim() == "tmpfs" {
            eprintln!("skipped: the temporary folder is on tmpfs");
            return;
        }
        let path = tmp.path().join("key.pfx");
        let (size, sha256) = write_atomic_checked(&path, &[5u8; 100_000], true).unwrap();
        assert_eq!((size, sha256), (100_000, sha256_hex(&[5u8; 100_000])));
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(&path)
            .output()
            .expect("fincore (util-linux)");
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    }
}
