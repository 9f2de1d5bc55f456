//! Key-pair backups and restores.
//!
//! A backup is a PKCS#12 file (`.pfx`) under a new password plus the certificate alone
//! (`.cer`, DER), both written through temporary files and read back before they count;
//! the store's catalog records fingerprints, source, time and file hashes, never a
//! password.
//!
//! Restores never write into a server folder: see [`crate::restore`] (a kit for the
//! server's reinstallation). A key-pair file given to certmend is compared with the
//! catalog ([`catalog_match`]): one it wrote, unchanged or not, or another.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cert::CertificateInfo;
use crate::durable::{self, DurableError};
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::keypair::{self, Encryption, KeyPair, KeyPairError, ServerRelation};
use crate::server::AUTH_CERT_BACKUP;
use crate::store::{BackupFile, NewBackup, Store, StoreError};
use crate::ErrorCode;

/// Shortest new backup password accepted without `--allow-weak-password`.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    KeyPair(#[from] KeyPairError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error("the new backup password is {chars} characters; use at least {MIN_PASSWORD_CHARS} (or --allow-weak-password)")]
    WeakPassword { chars: usize },
    #[error("{}: the server has no key pair backup here (AuthCertBackup\\OfficeScanAuth.dat); give the key pair file with --from", path.display())]
    NoServerKeyPair { path: PathBuf },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: read back different from what was written; nothing was kept", path.display())]
    ReadBack { path: PathBuf },
}

impl ErrorCode for BackupError {
    fn code(&self) -> &'static str {
        match self {
            BackupError::KeyPair(e) => e.code(),
            BackupError::Store(e) => e.code(),
            BackupError::Inventory(e) => e.code(),
            BackupError::WeakPassword { .. } => "backup.weak_password",
            BackupError::NoServerKeyPair { .. } => "backup.no_server_key_pair",
            BackupError::Write { .. } => "backup.write",
            BackupError::ReadBack { .. } => "backup.read_back",
        }
    }

    fn args(&self) -> BTreeMap<&'static str, String> {
        match self {
            BackupError::KeyPair(e) => e.args(),
            BackupError::WeakPassword { chars } => BTreeMap::from([
                ("chars", chars.to_string()),
                ("min", MIN_PASSWORD_CHARS.to_string()),
            ]),
            BackupError::NoServerKeyPair { path }
            | BackupError::Write { path, .. }
            | BackupError::ReadBack { path, .. } => {
                BTreeMap::from([("path", path.display().to_string())])
            }
            _ => BTreeMap::new(),
        }
    }
}

impl From<DurableError> for BackupError {
    fn from(e: DurableError) -> Self {
        match e {
            DurableError::Io { path, source } => BackupError::Write { path, source },
            DurableError::Mismatch { path, .. } => BackupError::ReadBack { path },
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses a new backup password shorter than [`MIN_PASSWORD_CHARS`] unless allowed.
pub fn check_new_password(password: &str, allow_weak: bool) -> Result<(), BackupError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS && !allow_weak {
        return Err(BackupError::WeakPassword { chars });
    }
    Ok(())
}

/// The server's own key pair file, `AuthCertBackup\OfficeScanAuth.dat`.
pub fn server_key_pair_file(server: &RecordedServer) -> Result<PathBuf, BackupError> {
    server
        .report
        .server
        .file(AUTH_CERT_BACKUP)
        .and_then(|f| f.path.clone())
        .ok_or_else(|| BackupError::NoServerKeyPair {
            path: server.report.server.install_folder.clone(),
        })
}

/// How a certificate relates to what the store knows of a server's certificates.
pub fn relation(
    store: &Store,
    server_id: i64,
    certificate_sha256: &str,
) -> Result<ServerRelation, StoreError> {
    let history = store.certificate_history(server_id)?;
    Ok(
        match history.iter().find(|c| c.sha256 == certificate_sha256) {
            Some(c) if c.current => ServerRelation::Current,
            Some(c) => ServerRelation::Previous {
                first_seen: c.first_seen.clone(),
                last_seen: c.last_seen.clone(),
            },
            None => ServerRelation::Neither,
        },
    )
}

/// A backup written and read back.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub backup_id: i64,
    pub certificate: CertificateInfo,
    pub encryption: Encryption,
    /// Every file written, with size and SHA-256.
    pub files: Vec<WrittenFile>,
    pub warnings: Vec<String>,
    /// The same warnings as stable codes, for the window to translate.
    pub warning_codes: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

pub const LEGACY_WARNING: &str = "legacy encryption (3DES, SHA-1 MAC) is weaker than the default AES-256/PBKDF2; use it only for importers that need it (Windows Server 2012 R2/2016, old tools) and keep the file safe";

/// Writes a new backup of `pair` into `out_dir`: `<name>.pfx` under `password` and
/// `<name>.cer`; both are read back and checked before the catalog records them.
pub fn create(
    store: &mut Store,
    server_id: Option<i64>,
    pair: &KeyPair,
    source: &Path,
    out_dir: &Path,
    password: &str,
    encryption: Encryption,
) -> Result<Created, BackupError> {
    pair.ensure_matches(source)?;
    let info = pair.certificate().info().clone();
    let pfx = pair.to_pkcs12(password, encryption)?;
    // Owner-only when certmend creates it (Unix); see paths::create_private_dir.
    crate::paths::create_private_dir(out_dir).map_err(write_err(out_dir))?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let thumb: String = info.sha1_thumbprint.chars().take(8).collect();
    let (pfx_path, cer_path) = claim_names(out_dir, &format!("keypair-{stamp}-{thumb}"))?;

    let written = (|| {
        let a = write_private(&pfx_path, &pfx)?;
        let b = write_private(&cer_path, pair.certificate().der())?;
        // The backup must open with its password and hold the same key pair.
        let back = keypair::read_pkcs12(&pfx_path, password)?;
        if back.certificate().der() != pair.certificate().der() || !back.checks().ok() {
            return Err(BackupError::ReadBack {
                path: pfx_path.clone(),
            });
        }
        Ok(vec![a, b])
    })();
    let files = match written {
        Ok(files) => files,
        Err(e) => {
            let _ = fs::remove_file(&pfx_path);
            let _ = fs::remove_file(&cer_path);
            return Err(e);
        }
    };
    let backup_id = store.record_backup(&catalog_entry(
        "backup",
        server_id,
        source,
        Some(&info),
        Some(encryption),
        out_dir,
        &files,
    ))?;
    let mut warnings = Vec::new();
    let mut warning_codes = Vec::new();
    if encryption == Encryption::Legacy {
        warnings.push(LEGACY_WARNING.to_string());
        warning_codes.push("backup.legacy_weaker");
    }
    Ok(Created {
        backup_id,
        certificate: info,
        encryption,
        files,
        warnings,
        warning_codes,
    })
}

/// The catalog's record of files written: what they hold (a certificate's facts,
/// empty when there was none), where from, how protected. Never a password.
pub(crate) fn catalog_entry(
    kind: &str,
    server_id: Option<i64>,
    source: &Path,
    certificate: Option<&CertificateInfo>,
    encryption: Option<Encryption>,
    folder: &Path,
    files: &[WrittenFile],
) -> NewBackup {
    let fact = |f: fn(&CertificateInfo) -> &String| certificate.map(f).cloned().unwrap_or_default();
    NewBackup {
        server_id,
        kind: kind.into(),
        source: source.to_string_lossy().into_owned(),
        certificate_sha256: fact(|c| &c.sha256),
        sha1_thumbprint: fact(|c| &c.sha1_thumbprint),
        serial: fact(|c| &c.serial),
        subject: fact(|c| &c.subject),
        not_after: fact(|c| &c.not_after),
        encryption: encryption.map(|e| encryption_name(e).into()),
        folder: folder.to_string_lossy().into_owned(),
        files: files.iter().map(catalog_file).collect(),
    }
}

fn encryption_name(e: Encryption) -> &'static str {
    match e {
        Encryption::Modern => "modern",
        Encryption::Legacy => "legacy",
    }
}

fn catalog_file(f: &WrittenFile) -> BackupFile {
    BackupFile {
        name: f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        size: f.size,
        sha256: f.sha256.clone(),
    }
}

/// Claims `<base>.pfx` and `<base>.cer` (or `<base>-2`...) by creating them empty and
/// exclusively, so no earlier backup, nor one written at the same moment, is ever
/// overwritten; the real content then replaces these placeholders.
fn claim_names(dir: &Path, base: &str) -> Result<(PathBuf, PathBuf), BackupError> {
    for n in 1.. {
        let name = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let pfx = dir.join(format!("{name}.pfx"));
        let cer = dir.join(format!("{name}.cer"));
        match durable::open_new(&pfx, true) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(&pfx)(e)),
        }
        match durable::open_new(&cer, true) {
            Ok(_) => return Ok((pfx, cer)),
            Err(e) => {
                let _ = fs::remove_file(&pfx);
                if e.kind() != io::ErrorKind::AlreadyExists {
                    return Err(write_err(&cer)(e));
                }
            }
        }
    }
    unreachable!("the loop only ends by returning")
}

/// Writes `bytes` atomically, readable by the owner only where the OS allows, and
/// reads the file back from the device.
fn write_private(path: &Path, bytes: &[u8]) -> Result<WrittenFile, BackupError> {
    let (size, sha256) = durable::write_atomic_checked(path, bytes, true)?;
    Ok(WrittenFile {
        path: path.to_path_buf(),
        size,
        sha256,
    })
}

/// What the catalog says of a key-pair file given to certmend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CatalogMatch {
    /// Byte for byte a file certmend wrote (a backup, or a restore kit's).
    Unchanged { backup_id: i64, name: String },
    /// certmend wrote a file of this name in this folder, with other contents.
    Changed { backup_id: i64, name: String },
    /// Not a file certmend wrote.
    NotCertmend,
}

impl CatalogMatch {
    /// One English sentence, as the CLI prints it.
    pub fn text(&self) -> String {
        match self {
            CatalogMatch::Unchanged { backup_id, .. } => {
                format!("certmend backup #{backup_id}, unchanged")
            }
            CatalogMatch::Changed { backup_id, .. } => format!(
                "CHANGED since certmend wrote it (backup #{backup_id}): its SHA-256 differs from the catalog's"
            ),
            CatalogMatch::NotCertmend => "not a file certmend wrote".into(),
        }
    }
}

/// Compares a file (its path and SHA-256) with every file the catalog recorded.
pub fn catalog_match(store: &Store, path: &Path, sha256: &str) -> Result<CatalogMatch, StoreError> {
    let rows = store.backups()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for row in &rows {
        if let Some(f) = row
            .files
            .iter()
            .find(|f| f.sha256.eq_ignore_ascii_case(sha256))
        {
            return Ok(CatalogMatch::Unchanged {
                backup_id: row.id,
                name: f.name.clone(),
            });
        }
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let folder = path.parent().map(absolute);
    for row in &rows {
        if folder.as_deref() == Some(absolute(Path::new(&row.folder)).as_path())
            && row.files.iter().any(|f| f.name == name)
        {
            return Ok(CatalogMatch::Changed {
                backup_id: row.id,
                name,
            });
        }
    }
    Ok(CatalogMatch::NotCertmend)
}

/// A key-pair file checked (`backup verify`): its report and what the catalog says.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    #[serde(flatten)]
    pub report: keypair::KeyPairReport,
    pub catalog: CatalogMatch,
}

impl Verified {
    /// The key belongs to its certificate and the file is not a changed copy of one
    /// certmend wrote.
    pub fn ok(&self) -> bool {
        self.report.checks.key_matches_certificate
            && !matches!(self.catalog, CatalogMatch::Changed { .. })
    }
}

/// Checks a key pair read from `path` (its bytes `bytes`) against the catalog.
pub fn verified(
    store: &Store,
    path: &Path,
    bytes: &[u8],
    pair: &KeyPair,
) -> Result<Verified, StoreError> {
    Ok(Verified {
        report: pair.report(path, None),
        catalog: catalog_match(store, path, &sha256_hex(bytes))?,
    })
}

/// The newest backup certmend wrote of the server's current key pair, if any.
pub fn latest_backup(
    store: &Store,
    server: &RecordedServer,
) -> Result<Option<crate::store::BackupRow>, StoreError> {
    let Some(current) = server.certificate.as_ref() else {
        return Ok(None);
    };
    let sha = &current.info().sha256;
    Ok(store
        .backups()?
        .into_iter()
        .find(|b| b.kind == "backup" && &b.certificate_sha256 == sha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::sha256_file;

    struct World {
        tmp: tempfile::TempDir,
        store: Store,
        previous: KeyPair,
    }

    fn world() -> World {
        let crate::testutil::DemoWorld {
            tmp,
            summary,
            store,
            ..
        } = crate::testutil::demo_world(3, false);
        let previous_bytes = fs::read(&summary.previous_key_pair_file).unwrap();
        let previous = keypair::parse_pkcs12(
            &previous_bytes,
            &summary.key_pair_password,
            &summary.previous_key_pair_file,
        )
        .unwrap();
        World {
            tmp,
            store,
            previous,
        }
    }

    #[test]
    fn backups_are_checked_and_never_overwritten() {
        let mut w = world();
        let out = w.tmp.path().join("out");
        let pair = w.previous.clone();
        let a = create(
            &mut w.store,
            None,
            &pair,
            Path::new("p.pfx"),
            &out,
            "long enough pw",
            Encryption::Legacy,
        )
        .unwrap();
        let b = create(
            &mut w.store,
            None,
            &pair,
            Path::new("p.pfx"),
            &out,
            "long enough pw",
            Encryption::Modern,
        )
        .unwrap();
        assert_eq!(a.warnings.len(), 1);
        assert!(b.warnings.is_empty());
        let names: std::collections::HashSet<_> = a
            .files
            .iter()
            .chain(&b.files)
            .map(|f| f.path.clone())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
        for f in a.files.iter().chain(&b.files) {
            assert_eq!(sha256_file(&f.path).unwrap().1, f.sha256);
            // Readable by the owner only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&f.path).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{}: {mode:o}", f.path.display());
            }
        }
        // The folder certmend made for them too; and no temporary file is left.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        assert_eq!(fs::read_dir(&out).unwrap().count(), 4);
        assert_eq!(
            check_new_password("short", false).unwrap_err().code(),
            "backup.weak_password"
        );
        check_new_password("short", true).unwrap();
        check_new_password("日本語のながいパスワードです", false).unwrap();
    }

    #[test]
    fn a_file_is_compared_with_the_catalog() {
        let mut w = world();
        let out = w.tmp.path().join("out");
        let pair = w.previous.clone();
        let made = create(
            &mut w.store,
            None,
            &pair,
            Path::new("p.pfx"),
            &out,
            "long enough pw",
            Encryption::Legacy,
        )
        .unwrap();
        let pfx = &made.files[0];
        assert_eq!(
            catalog_match(&w.store, &pfx.path, &pfx.sha256).unwrap(),
            CatalogMatch::Unchanged {
                backup_id: made.backup_id,
                name: pfx.path.file_name().unwrap().to_string_lossy().into(),
            }
        );
        // The same name in the same folder with other bytes: changed.
        let changed = catalog_match(&w.store, &pfx.path, &sha256_hex(b"other")).unwrap();
        assert!(
            matches!(changed, CatalogMatch::Changed { backup_id, .. } if backup_id == made.backup_id)
        );
        assert!(changed.text().starts_with("CHANGED"));
        // Anything else: not certmend's.
        assert_eq!(
            catalog_match(&w.store, Path::new("/elsewhere/x.pfx"), &sha256_hex(b"x")).unwrap(),
            CatalogMatch::NotCertmend
        );
    }
}
