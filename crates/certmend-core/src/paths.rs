//! Where certmend keeps its own files (the demo server now; the state database and
//! key-pair backups later): the OS's per-user local application-data folder.

use std::path::PathBuf;

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
