//! Finding and reading Apex One / OfficeScan server install folders.
//!
//! A server is found through the registry (`Local_Path`, both registry views), the
//! Program Files folders, or a copied / mounted Windows system drive (`--root`). Names
//! are matched case-insensitively everywhere: a copied tree may read
//! `pccsrv/PCCNT/common/OFCNTCER.DAT`. On Windows the same registry key gives the
//! server's version (`Server_Version`, `ServicePack_Build`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cert::{self, CertificateInfo};
use crate::fsutil::{find_child_ci, resolve_ci, sha256_file};
use crate::ErrorCode;

/// The two product folder names a server may have.
pub const PRODUCT_FOLDERS: [&str; 2] = ["OfficeScan", "Apex One"];
/// The Program Files folders of a system drive, 64-bit Windows' 32-bit one first.
pub const PROGRAM_FILES_FOLDERS: [&str; 2] = ["Program Files (x86)", "Program Files"];

/// The registry key holding `Local_Path` (the PCCSRV folder), `Server_Version` and
/// `ServicePack_Build`.
pub const REGISTRY_KEY: &str = r"HKLM\SOFTWARE\TrendMicro\OfficeScan\service\Information";
/// The same key in the 32-bit view of 64-bit Windows.
pub const REGISTRY_KEY_32: &str =
    r"HKLM\SOFTWARE\WOW6432Node\TrendMicro\OfficeScan\service\Information";

/// The server's version as its registry key holds it, next to `Local_Path`. The form of
/// the values is undocumented, so the text is kept as read (trimmed): third-party
/// scanners compare `Server_Version` with `"8.0"` and `ServicePack_Build` with build
/// numbers such as `2302`. All `None` when nothing was read: no registry (not Windows,
/// a copied or mounted folder) or no key naming this install folder. How the version
/// chooses IpXfer's command line: [`crate::ipxfer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// `Server_Version`, e.g. `14.0`.
    pub server_version: Option<String>,
    /// `ServicePack_Build`, e.g. `8378`.
    pub service_pack_build: Option<String>,
    /// The key they were read from ([`REGISTRY_KEY`] or [`REGISTRY_KEY_32`]).
    pub registry_key: Option<String>,
}

impl ServerVersion {
    pub fn is_known(&self) -> bool {
        self.server_version.is_some()
    }
}

/// A file certmend looks for in every install folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFileSpec {
    pub name: &'static str,
    /// Path below the install folder, one segment each (matched case-insensitively).
    pub segments: &'static [&'static str],
}

pub const OFCNTCER: KnownFileSpec = KnownFileSpec {
    name: "OfcNTCer.dat",
    segments: &["PCCSRV", "Pccnt", "Common", "OfcNTCer.dat"],
};
pub const IPXFER: KnownFileSpec = KnownFileSpec {
    name: "IpXfer.exe",
    segments: &["PCCSRV", "Admin", "Utility", "IpXfer", "IpXfer.exe"],
};
pub const IPXFER_X64: KnownFileSpec = KnownFileSpec {
    name: "IpXfer_x64.exe",
    segments: &["PCCSRV", "Admin", "Utility", "IpXfer", "IpXfer_x64.exe"],
};
pub const CERTIFICATE_MANAGER: KnownFileSpec = KnownFileSpec {
    name: "CertificateManager.exe",
    segments: &[
        "PCCSRV",
        "Admin",
        "Utility",
        "CertificateManager",
        "CertificateManager.exe",
    ],
};
pub const AUTH_CERT_BACKUP: KnownFileSpec = KnownFileSpec {
    name: "OfficeScanAuth.dat",
    segments: &["AuthCertBackup", "OfficeScanAuth.dat"],
};
pub const KNOWN_FILES: [KnownFileSpec; 5] = [
    OFCNTCER,
    IPXFER,
    IPXFER_X64,
    CERTIFICATE_MANAGER,
    AUTH_CERT_BACKUP,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    OfficeScan,
    ApexOne,
    /// The folder was given directly and its name is neither product's.
    Unknown,
}

/// Whether the install folder is one of the documented default locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultLocation {
    /// `Program Files\Trend Micro\...`: the default on 32-bit Windows.
    Windows32bit,
    /// `Program Files (x86)\Trend Micro\...`: the default on 64-bit Windows.
    Windows64bit,
    /// Anywhere else.
    Custom,
}

/// How a server was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    Registry,
    ProgramFiles,
    Root,
    Folder,
    /// Nothing real was found; the demo server was opened instead.
    Demo,
}

/// One known file of an install folder: where it is, or that it is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownFile {
    pub name: &'static str,
    /// The documented place, Windows style, relative to the install folder.
    pub expected: String,
    pub present: bool,
    /// The actual path (its letter case as on disk).
    pub path: Option<PathBuf>,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// Present but could not be read.
    pub error: Option<String>,
}

/// A server install folder and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInstall {
    pub install_folder: PathBuf,
    pub pccsrv_folder: Option<PathBuf>,
    pub product: Product,
    pub default_location: DefaultLocation,
    pub found_by: FoundBy,
    /// Made by `certmend demo`: the UI labels it DEMO.
    pub demo: bool,
    /// From the registry key whose `Local_Path` names this folder (Windows only).
    pub version: ServerVersion,
    /// OfcNTCer.dat is present (without it nothing can be repaired).
    pub complete: bool,
    /// Names of the known files that are missing.
    pub missing: Vec<&'static str>,
    pub files: Vec<KnownFile>,
}

impl ServerInstall {
    pub fn file(&self, spec: KnownFileSpec) -> Option<&KnownFile> {
        self.files.iter().find(|f| f.name == spec.name)
    }

    /// The actual path of the server's OfcNTCer.dat, when present.
    pub fn certificate_path(&self) -> Option<&Path> {
        self.file(OFCNTCER).and_then(|f| f.path.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{}: no such folder", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a file, not a folder; give the server's install folder (the one holding PCCSRV)", path.display())]
    NotAFolder { path: PathBuf },
    #[error(
        "{}: not an OfficeScan / Apex One install folder: it has no PCCSRV folder and is not one \
         (expected e.g. C:\\Program Files (x86)\\Trend Micro\\Apex One)",
        path.display()
    )]
    NotAnInstallFolder { path: PathBuf },
}

impl ErrorCode for ServerError {
    fn args(&self) -> std::collections::BTreeMap<&'static str, String> {
        let (ServerError::NotFound { path }
        | ServerError::NotAFolder { path }
        | ServerError::NotAnInstallFolder { path }) = self;
        std::collections::BTreeMap::from([("path", path.display().to_string())])
    }

    fn code(&self) -> &'static str {
        match self {
            ServerError::NotFound { .. } => "server.not_found",
            ServerError::NotAFolder { .. } => "server.not_a_folder",
            ServerError::NotAnInstallFolder { .. } => "server.not_an_install_folder",
        }
    }
}

/// Where to look for servers. [`DetectSources::from_system`] fills it from this machine;
/// tests and `--root` fill it by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectSources {
    /// `Local_Path` values read from the registry (PCCSRV folders).
    pub registry_local_paths: Vec<PathBuf>,
    /// Program Files folders (`%ProgramFiles(x86)%`, `%ProgramFiles%`).
    pub program_files: Vec<PathBuf>,
    /// Roots of mounted or copied system drives, or folders that are themselves an
    /// install or PCCSRV folder.
    pub roots: Vec<PathBuf>,
}

impl DetectSources {
    /// The sources of this machine: on Windows the registry (both views) and the
    /// Program Files folders; elsewhere none (use a root).
    pub fn from_system() -> Self {
        if !cfg!(windows) {
            return Self::default();
        }
        let mut program_files = Vec::new();
        for var in ["ProgramFiles(x86)", "ProgramFiles", "ProgramW6432"] {
            if let Some(value) = std::env::var_os(var) {
                let path = PathBuf::from(value);
                if !program_files.contains(&path) {
                    program_files.push(path);
                }
            }
        }
        Self {
            registry_local_paths: registry::local_paths(),
            program_files,
            roots: Vec::new(),
        }
    }

    pub fn with_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.roots.push(root.into());
        self
    }
}

/// Finds every server reachable from `sources`, each install folder once, in the order
/// registry, Program Files, roots.
pub fn detect(sources: &DetectSources) -> Vec<ServerInstall> {
    let mut found: Vec<ServerInstall> = Vec::new();
    let mut push = |install: PathBuf, by: FoundBy| {
        let key = normalise_for_dedup(&install);
        if !found
            .iter()
            .any(|s| normalise_for_dedup(&s.install_folder) == key)
        {
            found.push(inspect_install(&install, by));
        }
    };
    for local_path in &sources.registry_local_paths {
        // Local_Path names PCCSRV\ (trailing backslash); the install folder is its parent.
        if local_path.is_dir() {
            let install = local_path.parent().unwrap_or(local_path).to_path_buf();
            push(install, FoundBy::Registry);
        }
    }
    for program_files in &sources.program_files {
        for install in product_folders_in(program_files) {
            push(install, FoundBy::ProgramFiles);
        }
    }
    for root in &sources.roots {
        if let Some(install) = classify_folder(root) {
            push(install, FoundBy::Folder);
            continue;
        }
        for pf in PROGRAM_FILES_FOLDERS {
            if let Some(program_files) = find_child_ci(root, pf) {
                for install in product_folders_in(&program_files) {
                    push(install, FoundBy::Root);
                }
            }
        }
    }
    found
}

/// `Local_Path` values from the registry that name no folder: a server uninstalled
/// without cleaning the registry, or moved. Not fatal (other servers are still
/// found), but worth telling the admin, who may expect that server to be found.
pub fn missing_registry_paths(sources: &DetectSources) -> Vec<PathBuf> {
    sources
        .registry_local_paths
        .iter()
        .filter(|p| !p.is_dir())
        .cloned()
        .collect()
}

fn normalise_for_dedup(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical.to_string_lossy().to_lowercase()
}

/// `Trend Micro\OfficeScan` and `Trend Micro\Apex One` below a Program Files folder.
fn product_folders_in(program_files: &Path) -> Vec<PathBuf> {
    let Some(trend) = find_child_ci(program_files, "Trend Micro") else {
        return Vec::new();
    };
    PRODUCT_FOLDERS
        .iter()
        .filter_map(|product| find_child_ci(&trend, product))
        .filter(|p| p.is_dir())
        .collect()
}

/// The install folder a given folder stands for: itself when it holds PCCSRV, its
/// parent when it is a PCCSRV folder.
fn classify_folder(folder: &Path) -> Option<PathBuf> {
    if !folder.is_dir() {
        return None;
    }
    if find_child_ci(folder, "PCCSRV").is_some_and(|p| p.is_dir()) {
        return Some(folder.to_path_buf());
    }
    let named_pccsrv = folder
        .file_name()
        .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("PCCSRV"));
    if named_pccsrv || find_child_ci(folder, "Pccnt").is_some_and(|p| p.is_dir()) {
        let absolute = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        return absolute.parent().map(Path::to_path_buf);
    }
    None
}

/// Reads the install folder `folder` (or the one a PCCSRV folder belongs to).
pub fn open(folder: &Path) -> Result<ServerInstall, ServerError> {
    match std::fs::metadata(folder) {
        Err(_) => Err(ServerError::NotFound {
            path: folder.to_path_buf(),
        }),
        Ok(meta) if !meta.is_dir() => Err(ServerError::NotAFolder {
            path: folder.to_path_buf(),
        }),
        Ok(_) => classify_folder(folder)
            .map(|install| inspect_install(&install, FoundBy::Folder))
            .ok_or_else(|| ServerError::NotAnInstallFolder {
                path: folder.to_path_buf(),
            }),
    }
}

/// Describes an install folder: which known files it has, their sizes and hashes.
/// Paths are made absolute, so what the store records does not depend on where a
/// command ran.
fn inspect_install(install: &Path, found_by: FoundBy) -> ServerInstall {
    let absolute = std::path::absolute(install).unwrap_or_else(|_| install.to_path_buf());
    let install = absolute.as_path();
    let files: Vec<KnownFile> = KNOWN_FILES
        .iter()
        .map(|spec| known_file(install, spec))
        .collect();
    let missing = files
        .iter()
        .filter(|f| !f.present)
        .map(|f| f.name)
        .collect();
    let complete = files.iter().any(|f| f.name == OFCNTCER.name && f.present);
    ServerInstall {
        install_folder: install.to_path_buf(),
        pccsrv_folder: find_child_ci(install, "PCCSRV").filter(|p| p.is_dir()),
        product: product_of(install),
        default_location: default_location_of(install),
        found_by,
        demo: crate::demo_marker::is_demo(install),
        version: registry::version_of(install),
        complete,
        missing,
        files,
    }
}

fn known_file(install: &Path, spec: &KnownFileSpec) -> KnownFile {
    let expected = spec.segments.join("\\");
    let path = resolve_ci(install, spec.segments).filter(|p| p.is_file());
    let mut file = KnownFile {
        name: spec.name,
        expected,
        present: path.is_some(),
        path: path.clone(),
        size: None,
        sha256: None,
        error: None,
    };
    if let Some(path) = path {
        match sha256_file(&path) {
            Ok((size, sha256)) => {
                file.size = Some(size);
                file.sha256 = Some(sha256);
            }
            Err(e) => file.error = Some(format!("{}: cannot be read: {e}", path.display())),
        }
    }
    file
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn product_of(install: &Path) -> Product {
    let name = name_of(install);
    if name.eq_ignore_ascii_case("Apex One") {
        Product::ApexOne
    } else if name.eq_ignore_ascii_case("OfficeScan") {
        Product::OfficeScan
    } else {
        Product::Unknown
    }
}

fn default_location_of(install: &Path) -> DefaultLocation {
    let trend = install.parent();
    let program_files = trend.and_then(Path::parent);
    let trend_ok = trend.is_some_and(|t| name_of(t).eq_ignore_ascii_case("Trend Micro"));
    let known_product = product_of(install) != Product::Unknown;
    match program_files.map(name_of) {
        Some(pf) if trend_ok && known_product && pf.eq_ignore_ascii_case("Program Files (x86)") => {
            DefaultLocation::Windows64bit
        }
        Some(pf) if trend_ok && known_product && pf.eq_ignore_ascii_case("Program Files") => {
            DefaultLocation::Windows32bit
        }
        _ => DefaultLocation::Custom,
    }
}

/// A server with its certificate read, as `certmend server show` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub server: ServerInstall,
    pub certificate: Option<CertificateInfo>,
    /// Why the certificate could not be read, when it is missing or broken.
    pub certificate_error: Option<CodedMessage>,
}

pub use crate::error::CodedMessage;

impl ServerReport {
    /// A report is healthy when the certificate was read.
    pub fn is_healthy(&self) -> bool {
        self.certificate.is_some()
    }
}

/// Reads a server's certificate into a report.
pub fn report(server: ServerInstall) -> ServerReport {
    read(server).0
}

/// Reads a server's certificate: the report, and the parsed certificate when readable.
pub fn read(server: ServerInstall) -> (ServerReport, Option<cert::Certificate>) {
    let (certificate, certificate_error) = match server.certificate_path() {
        Some(path) => match cert::load(path) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(CodedMessage::from_error(&e))),
        },
        None => (
            None,
            Some(
                CodedMessage::new(
                    "server.certificate_missing",
                    format!(
                        "{}: OfcNTCer.dat not found in PCCSRV\\Pccnt\\Common; choose the install folder again",
                        server.install_folder.display()
                    ),
                )
                .with_arg("path", server.install_folder.display()),
            ),
        ),
    };
    let report = ServerReport {
        server,
        certificate: certificate.as_ref().map(|c| c.info().clone()),
        certificate_error,
    };
    (report, certificate)
}

/// The server to start on: the first complete one `sources` lead to, or the first
/// incomplete one (so the admin sees what is missing); with every server found.
pub fn first_found(sources: &DetectSources) -> (Option<ServerInstall>, Vec<ServerInstall>) {
    let found = detect(sources);
    let chosen = found
        .iter()
        .find(|s| s.complete)
        .or_else(|| found.first())
        .cloned();
    (chosen, found)
}

/// The demo server's install folder, read as a server found as the demo.
pub fn inspect_demo(install: &Path) -> ServerInstall {
    inspect_install(install, FoundBy::Demo)
}

/// Reading the server's registry key, both views (on 64-bit Windows a 32-bit server's
/// key lives under `SOFTWARE\WOW6432Node`): `Local_Path`, `Server_Version` and
/// `ServicePack_Build`. Through the API, so a path arrives as Windows holds it (UTF-16),
/// whatever the console's code page.
pub mod registry {
    use std::path::{Path, PathBuf};

    use super::ServerVersion;

    /// One view's key.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Entry {
        /// `Local_Path`: the PCCSRV folder (trailing backslash).
        pub local_path: PathBuf,
        pub version: ServerVersion,
    }

    /// Each view's key that has a `Local_Path`, 64-bit view first. None elsewhere than
    /// Windows.
    #[cfg(windows)]
    pub fn entries() -> Vec<Entry> {
        use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ, KEY_WOW64_32KEY, KEY_WOW64_64KEY};
        let subkey = super::REGISTRY_KEY
            .strip_prefix(r"HKLM\")
            .unwrap_or(super::REGISTRY_KEY);
        let hklm = winreg::RegKey::predef(HKEY_LOCAL_MACHINE);
        let mut entries = Vec::new();
        for (view, shown) in [
            (KEY_WOW64_64KEY, super::REGISTRY_KEY),
            (KEY_WOW64_32KEY, super::REGISTRY_KEY_32),
        ] {
            let Ok(key) = hklm.open_subkey_with_flags(subkey, KEY_READ | view) else {
                continue;
            };
            // REG_SZ or REG_EXPAND_SZ; an empty or unreadable value is no server.
            let Ok(local_path) = key.get_value::<std::ffi::OsString, _>("Local_Path") else {
                continue;
            };
            // The values' types are undocumented: text, or a number (REG_DWORD) as text.
            let text = |name: &str| {
                key.get_value::<String, _>(name)
                    .ok()
                    .or_else(|| key.get_value::<u32, _>(name).ok().map(|n| n.to_string()))
            };
            entries.push(Entry {
                local_path: PathBuf::from(local_path),
                version: ServerVersion {
                    server_version: clean(text("Server_Version")),
                    service_pack_build: clean(text("ServicePack_Build")),
                    registry_key: Some(shown.to_string()),
                },
            });
        }
        entries
    }

    #[cfg(not(windows))]
    pub fn entries() -> Vec<Entry> {
        Vec::new()
    }

    /// The `Local_Path` values found, each once, 64-bit view first.
    pub fn local_paths() -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in entries() {
            if !entry.local_path.as_os_str().is_empty() && !paths.contains(&entry.local_path) {
                paths.push(entry.local_path);
            }
        }
        paths
    }

    /// The version the registry gives for the install folder `install` (the parent of
    /// its `Local_Path`); unknown when no key names it.
    pub fn version_of(install: &Path) -> ServerVersion {
        if !cfg!(windows) {
            return ServerVersion::default();
        }
        matching_version(&entries(), install)
    }

    /// The version of the first entry whose `Local_Path` belongs to `install` (names
    /// compared as Windows does, in any letter case), preferring one that has a
    /// `Server_Version` (both views may name the folder, one of them stale).
    pub fn matching_version(entries: &[Entry], install: &Path) -> ServerVersion {
        let key = super::normalise_for_dedup(install);
        let names_install = |e: &&Entry| {
            let local = e.local_path.to_string_lossy();
            let local = Path::new(local.trim_end_matches(['\\', '/']));
            local
                .parent()
                .is_some_and(|p| super::normalise_for_dedup(p) == key)
        };
        let mut matching = entries.iter().filter(names_install);
        let first = matching.clone().next();
        matching
            .find(|e| e.version.is_known())
            .or(first)
            .map(|e| e.version.clone())
            .unwrap_or_default()
    }

    /// A value as text: trimmed, and none when empty.
    pub fn clean(value: Option<String>) -> Option<String> {
        value
            .map(|v| v.trim().trim_end_matches('\0').trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(path: &Path, bytes: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn finds_all_four_default_folders_under_a_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for pf in PROGRAM_FILES_FOLDERS {
            for product in PRODUCT_FOLDERS {
                touch(
                    &root
                        .join(pf)
                        .join("Trend Micro")
                        .join(product)
                        .join("PCCSRV/Pccnt/Common/OfcNTCer.dat"),
                    b"x",
                );
            }
        }
        let found = detect(&DetectSources::default().with_root(root));
        assert_eq!(found.len(), 4);
        assert!(found
            .iter()
            .all(|s| s.found_by == FoundBy::Root && s.complete));
        let x86: Vec<_> = found
            .iter()
            .filter(|s| s.default_location == DefaultLocation::Windows64bit)
            .collect();
        assert_eq!(x86.len(), 2);
        assert!(found.iter().any(|s| s.product == Product::ApexOne));
        assert!(found.iter().any(|s| s.product == Product::OfficeScan));
    }

    #[test]
    fn reports_incomplete_folders_with_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let install = tmp.path().join("program files/trend micro/officescan");
        touch(
            &install.join("pccsrv/admin/utility/ipxfer/IPXFER.EXE"),
            b"tool",
        );
        let found = detect(&DetectSources::default().with_root(tmp.path()));
        assert_eq!(found.len(), 1);
        let server = &found[0];
        assert!(!server.complete);
        assert_eq!(server.default_location, DefaultLocation::Windows32bit);
        assert!(server.missing.contains(&"OfcNTCer.dat"));
        assert!(!server.missing.contains(&"IpXfer.exe"));
        let ipxfer = server.file(IPXFER).unwrap();
        assert_eq!(ipxfer.size, Some(4));
        assert_eq!(
            ipxfer.path.as_deref(),
            Some(
                install
                    .join("pccsrv/admin/utility/ipxfer/IPXFER.EXE")
                    .as_path()
            )
        );
        assert_eq!(
            ipxfer.sha256.as_deref(),
            Some(crate::hexfmt::sha256_hex(b"tool").as_str())
        );
    }

    #[test]
    fn accepts_install_and_pccsrv_folders_directly() {
        let tmp = tempfile::tempdir().unwrap();
        let install = tmp.path().join("D-drive/TM/Server");
        touch(&install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat"), b"x");
        let by_install = open(&install).unwrap();
        assert_eq!(by_install.product, Product::Unknown);
        assert_eq!(by_install.default_location, DefaultLocation::Custom);
        let by_pccsrv = open(&install.join("PCCSRV")).unwrap();
        assert_eq!(by_pccsrv.install_folder, install);
        let found = detect(
            &DetectSources::default()
                .with_root(&install)
                .with_root(install.join("PCCSRV")),
        );
        assert_eq!(
            found.len(),
            1,
            "one install folder, found twice, reported once"
        );
    }

    #[test]
    fn a_registry_path_naming_no_folder_is_reported_and_the_rest_still_found() {
        let tmp = tempfile::tempdir().unwrap();
        let install = tmp.path().join("Trend Micro/OfficeScan");
        touch(&install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat"), b"x");
        let gone = tmp.path().join("Old/Apex One/PCCSRV");
        let sources = DetectSources {
            registry_local_paths: vec![gone.clone(), install.join("PCCSRV")],
            ..Default::default()
        };
        assert_eq!(missing_registry_paths(&sources), vec![gone]);
        let found = detect(&sources);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].install_folder, install);
    }

    #[test]
    fn registry_local_path_points_at_pccsrv() {
        let tmp = tempfile::tempdir().unwrap();
        let install = tmp.path().join("Trend Micro/OfficeScan");
        touch(&install.join("PCCSRV/Pccnt/Common/OfcNTCer.dat"), b"x");
        let sources = DetectSources {
            registry_local_paths: vec![install.join("PCCSRV")],
            ..Default::default()
        };
        let found = detect(&sources);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].install_folder, install);
        assert_eq!(found[0].found_by, FoundBy::Registry);
    }

    #[test]
    fn open_rejects_what_is_not_a_server() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            open(&tmp.path().join("nope")).unwrap_err().code(),
            "server.not_found"
        );
        touch(&tmp.path().join("file"), b"x");
        assert_eq!(
            open(&tmp.path().join("file")).unwrap_err().code(),
            "server.not_a_folder"
        );
        assert_eq!(
            open(tmp.path()).unwrap_err().code(),
            "server.not_an_install_folder"
        );
    }

    fn entry(local_path: PathBuf, version: Option<&str>, build: Option<&str>) -> registry::Entry {
        registry::Entry {
            local_path,
            version: ServerVersion {
                server_version: version.map(str::to_string),
                service_pack_build: build.map(str::to_string),
                registry_key: Some(REGISTRY_KEY.into()),
            },
        }
    }

    #[test]
    fn the_registry_version_belongs_to_the_folder_its_local_path_names() {
        let tmp = tempfile::tempdir().unwrap();
        let apex = tmp.path().join("Trend Micro/Apex One");
        let other = tmp.path().join("Trend Micro/OfficeScan");
        fs::create_dir_all(apex.join("PCCSRV")).unwrap();
        fs::create_dir_all(other.join("PCCSRV")).unwrap();
        // Local_Path ends with a separator, as the registry holds it.
        let with_slash = |p: &Path| PathBuf::from(format!("{}/", p.join("PCCSRV").display()));
        let entries = [
            entry(with_slash(&other), Some("12.0"), Some("1222")),
            // A stale key for the same folder without a version, then the real one.
            entry(with_slash(&apex), None, None),
            entry(apex.join("PCCSRV"), Some(" 14.0 "), Some("8378")),
        ];
        let found = registry::matching_version(&entries, &apex);
        assert_eq!(found.server_version.as_deref(), Some(" 14.0 "));
        assert_eq!(found.service_pack_build.as_deref(), Some("8378"));
        assert_eq!(
            registry::matching_version(&entries, &other)
                .server_version
                .as_deref(),
            Some("12.0")
        );
        // A folder no key names has no version.
        assert_eq!(
            registry::matching_version(&entries, tmp.path()),
            ServerVersion::default()
        );
        // Only a key without the value: the folder is the registry's, the version unknown.
        let bare = registry::matching_version(&entries[1..2], &apex);
        assert!(!bare.is_known());
        assert_eq!(bare.registry_key.as_deref(), Some(REGISTRY_KEY));

        assert_eq!(
            registry::clean(Some(" 14.0\0".into())).as_deref(),
            Some("14.0")
        );
        assert_eq!(registry::clean(Some("  ".into())), None);
        assert_eq!(registry::clean(None), None);
    }

    #[test]
    fn without_a_registry_the_version_is_unknown_and_says_so_in_json() {
        let tmp = tempfile::tempdir().unwrap();
        touch(&tmp.path().join("PCCSRV/Pccnt/Common/OfcNTCer.dat"), b"x");
        let server = open(tmp.path()).unwrap();
        if cfg!(windows) {
            return; // The machine's own registry may name anything.
        }
        assert_eq!(server.version, ServerVersion::default());
        let json = serde_json::to_value(&server).unwrap();
        assert_eq!(
            json["version"],
            serde_json::json!({"server_version": null, "service_pack_build": null, "registry_key": null})
        );
    }
}
