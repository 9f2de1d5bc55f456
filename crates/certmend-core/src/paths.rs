//! Where certmend keeps its own files (the demo server now; the state database and
//! key-pair backups later): the OS's per-user local application-data folder.

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
