//! Where certmend keeps its own files (the state database, key-pair backups, the demo
//! server, the app's start-up log): the OS's per-user local application-data folder.
//!
//! Who else can read them: on Unix certmend makes its folders owner-only (0700) and
//! its files 0600 (see [`create_private_dir`]). On Windows the data folder is
//! `%LOCALAPPDATA%\certmend\data`, inside the user's profile: a folder created there
//! inherits the profile's access list, which admits only the user, SYSTEM and the
//! Administrators group, so other users of the computer are kept out without certmend
//! writing an access list itself (the Rust crates for Windows ACLs have been
//! unmaintained since 2021; `icacls.exe` would only repeat what the profile gives).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Overrides the data folder (tests, portable use).
pub const DATA_DIR_ENV: &str = "CERTMEND_DATA_DIR";

/// `%LOCALAPPDATA%\certmend\data` on Windows, `$XDG_DATA_HOME/certmend` on Linux,
/// or `$CERTMEND_DATA_DIR` when set. `None` when the OS gives no home folder.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "certmend")
        .map(|dirs| dirs.data_local_dir().to_path_buf())
}

/// Creates `dir`, a folder for certmend's own files (the data folder, a backup or kit
/// folder), with what is missing above it.
///
/// Unix: a folder certmend creates is owner-only (0700), and the per-user data folder
/// ([`data_dir`]) is made so, even when it exists (earlier versions created it with the
/// default mode), whenever it or a folder in it is asked for. Other existing folders
/// are left as they are: `--db ./x.sqlite3` must not change who may read the current
/// folder; the files certmend writes are 0600 wherever they are.
///
/// Windows: the folder inherits the access list of the folder it is made in (see the
/// module's notes for the data folder). A folder given elsewhere (`--out`, `--db`)
/// keeps that place's rules.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(data) = data_dir().filter(|d| dir.starts_with(d)) {
        create_private_dir_as(&data, true)?;
        if data == dir {
            return Ok(());
        }
    }
    create_private_dir_as(dir, false)
}

/// [`create_private_dir`], with whether an existing `dir` is narrowed to owner-only.
pub(crate) fn create_private_dir_as(dir: &Path, narrow_existing: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {
                if narrow_existing {
                    crate::durable::make_owner_only(dir, 0o700);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = narrow_existing;
        fs::create_dir_all(dir)
    }
}

/// Where backups and pre-restore copies go unless the admin names a folder.
pub fn backups_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("backups"))
}

/// Where the app keeps the demo server it opens when no real server is found.
pub fn demo_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("demo-server"))
}

/// `base` joined with a relative path written with `/` (the constants in this crate),
/// one component at a time, so the result uses the platform's separator: on Windows
/// `C:\demo\Program Files (x86)\Trend Micro\Apex One`, never
/// `C:\demo\Program Files (x86)/Trend Micro/Apex One`, which admins read as a typo.
pub fn join_slashed(base: &Path, relative: &str) -> PathBuf {
    relative
        .split('/')
        .filter(|part| !part.is_empty())
        .fold(base.to_path_buf(), |path, part| path.join(part))
}

/// A program of Windows' own, by full path under `%SystemRoot%\System32`: never looked
/// up on PATH or beside the running program, where anyone who can write a folder
/// could put a `reg.exe` of their own.
pub fn windows_tool(relative: &str) -> PathBuf {
    let root = std::env::var_os("SystemRoot")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\Windows"));
    root.join("System32").join(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// A folder certmend creates is owner-only; an existing one is narrowed only when
    /// asked (the data folder), never another folder of the admin's.
    #[cfg(unix)]
    #[test]
    fn folders_certmend_creates_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let open = |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        open(tmp.path());
        let new = tmp.path().join("a/b/data");
        create_private_dir_as(&new, false).unwrap();
        assert_eq!(mode(&new), 0o700);
        // Created again: still fine, still 0700.
        create_private_dir_as(&new, false).unwrap();
        assert_eq!(mode(&new), 0o700);

        let existing = tmp.path().join("old-data");
        fs::create_dir(&existing).unwrap();
        open(&existing);
        create_private_dir_as(&existing, false).unwrap();
        assert_eq!(mode(&existing), 0o755, "not the data folder: left alone");
        create_private_dir_as(&existing, true).unwrap();
        assert_eq!(mode(&existing), 0o700, "the data folder: narrowed");

        // A file in the way is an error, not a folder.
        let file = tmp.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(create_private_dir_as(&file, true).is_err());
        assert_eq!(mode(tmp.path()), 0o755, "the parent is not touched");
    }

    #[test]
    fn slashed_paths_take_the_platform_separator() {
        let joined = join_slashed(Path::new("base"), "Program Files (x86)/Trend Micro//x.dat");
        let parts: Vec<_> = joined
            .components()
            .map(|c| c.as_os_str().to_owned())
            .collect();
        assert_eq!(
            parts,
            ["base", "Program Files (x86)", "Trend Micro", "x.dat"]
        );
        let expected = ["base", "Program Files (x86)", "Trend Micro", "x.dat"]
            .join(std::path::MAIN_SEPARATOR_STR);
        assert_eq!(joined.to_string_lossy(), expected);
    }
}
