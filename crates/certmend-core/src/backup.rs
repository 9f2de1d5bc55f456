//! Key-pair backups and restores.
//!
//! A backup is a PKCS#12 file (`.pfx`) under a new password plus the certificate alone
//! (`.cer`, DER), both written through temporary files and read back before they count;
//! the store's catalog records fingerprints, source, time and file hashes, never a
//! password.
//!
//! A restore puts a key pair back on a server: `AuthCertBackup\OfficeScanAuth.dat` (the
//! PKCS#12 file as given) and `PCCSRV\Pccnt\Common\OfcNTCer.dat` (its certificate). The
//! files it replaces are first copied into a pre-restore backup, and a journal beside
//! them names old and new contents, so that a failure rolls back and a process killed
//! midway is detected and repaired by the next run ([`recover`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cert::CertificateInfo;
use crate::fsutil::{sha256_file, target_ci, write_atomic, write_atomic_as};
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::keypair::{self, Encryption, KeyPair, KeyPairError, ServerRelation};
use crate::server::{AUTH_CERT_BACKUP, OFCNTCER};
use crate::store::{AgentHolding, BackupFile, NewBackup, Store, StoreError};
use crate::ErrorCode;

/// Shortest new backup password accepted without `--allow-weak-password`.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The restore journal, beside `OfficeScanAuth.dat`.
pub const JOURNAL: &str = "certmend-restore-journal.json";

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
    #[error("restore failed and was rolled back (the server's files are as before): {cause}")]
    RolledBack { cause: String },
    #[error("restore failed and could not be rolled back: {cause}; the files it replaced are in {}", saved.display())]
    RollbackFailed { cause: String, saved: PathBuf },
    #[error("{}: the restore journal cannot be read ({detail}); compare the files with the pre-restore backup by hand", path.display())]
    BadJournal { path: PathBuf, detail: String },
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
            BackupError::RolledBack { .. } => "backup.restore_rolled_back",
            BackupError::RollbackFailed { .. } => "backup.rollback_failed",
            BackupError::BadJournal { .. } => "backup.bad_journal",
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
    fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;
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
fn catalog_entry(
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
        match create_new(&pfx) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(&pfx)(e)),
        }
        match create_new(&cer) {
            Ok(()) => return Ok((pfx, cer)),
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

fn create_new(path: &Path) -> io::Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

/// A new folder `<base>` (or `<base>-2`...), created exclusively: two restores in the
/// same second never share one.
fn new_folder(dir: &Path, base: &str) -> Result<PathBuf, BackupError> {
    fs::create_dir_all(dir).map_err(write_err(dir))?;
    for n in 1.. {
        let folder = if n == 1 {
            dir.join(base)
        } else {
            dir.join(format!("{base}-{n}"))
        };
        match fs::create_dir(&folder) {
            Ok(()) => return Ok(folder),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_err(&folder)(e)),
        }
    }
    unreachable!("the loop only ends by returning")
}

/// Writes `bytes` atomically and reads the file back.
fn write_checked(path: &Path, bytes: &[u8]) -> Result<WrittenFile, BackupError> {
    write_checked_as(path, bytes, false)
}

/// [`write_checked`] for certmend's own backup folder: owner-only where the OS allows.
fn write_private(path: &Path, bytes: &[u8]) -> Result<WrittenFile, BackupError> {
    write_checked_as(path, bytes, true)
}

fn write_checked_as(path: &Path, bytes: &[u8], private: bool) -> Result<WrittenFile, BackupError> {
    write_atomic_as(path, bytes, private).map_err(write_err(path))?;
    let (size, sha256) = sha256_file(path).map_err(write_err(path))?;
    if sha256 != sha256_hex(bytes) {
        return Err(BackupError::ReadBack {
            path: path.to_path_buf(),
        });
    }
    Ok(WrittenFile {
        path: path.to_path_buf(),
        size,
        sha256,
    })
}

/// What a restore would change, shown before it asks for confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    pub backup_file: PathBuf,
    pub backup_certificate: CertificateInfo,
    /// The server's certificate now (its OfcNTCer.dat), when readable.
    pub current_certificate: Option<CertificateInfo>,
    /// The backup holds the certificate the server already has.
    pub same_as_current: bool,
    pub backup_relation: ServerRelation,
    pub targets: Vec<PathBuf>,
    /// Agents known to hold the backup's certificate / the current one / unknown.
    pub agents_holding_backup: Vec<String>,
    pub agents_holding_current: Vec<String>,
    pub agents_unknown: usize,
}

fn targets(server: &RecordedServer) -> [PathBuf; 2] {
    let install = &server.report.server.install_folder;
    [
        target_ci(install, AUTH_CERT_BACKUP.segments),
        target_ci(install, OFCNTCER.segments),
    ]
}

pub fn plan(
    store: &Store,
    server: &RecordedServer,
    backup_file: &Path,
    pair: &KeyPair,
) -> Result<RestorePlan, BackupError> {
    let backup_certificate = pair.certificate().info().clone();
    let current_certificate = server.certificate.as_ref().map(|c| c.info().clone());
    let current_sha = current_certificate.as_ref().map(|c| c.sha256.clone());
    let holdings: Vec<AgentHolding> = store.agent_holdings(server.server_id)?;
    let holding = |sha: &str| -> Vec<String> {
        holdings
            .iter()
            .filter(|h| h.certificate_sha256.as_deref() == Some(sha))
            .map(|h| h.name.clone())
            .collect()
    };
    Ok(RestorePlan {
        backup_file: backup_file.to_path_buf(),
        same_as_current: current_sha.as_deref() == Some(backup_certificate.sha256.as_str()),
        backup_relation: relation(store, server.server_id, &backup_certificate.sha256)?,
        agents_holding_backup: holding(&backup_certificate.sha256),
        agents_holding_current: current_sha.as_deref().map(holding).unwrap_or_default(),
        agents_unknown: holdings
            .iter()
            .filter(|h| h.certificate_sha256.is_none())
            .count(),
        targets: targets(server).to_vec(),
        current_certificate,
        backup_certificate,
    })
}

/// One file a restore replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalFile {
    pub target: PathBuf,
    /// The content before, and where a copy of it was saved; none when there was none.
    pub old_sha256: Option<String>,
    pub saved_copy: Option<PathBuf>,
    pub new_sha256: String,
}

/// Written before the first file is replaced and removed after the last one is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub format_version: u32,
    pub started: String,
    pub pre_restore_folder: PathBuf,
    pub files: Vec<JournalFile>,
}

/// The points of a restore where a test can make it fail or stop dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    PreRestoreSaved,
    JournalWritten,
    FileReplaced(usize),
}

/// What a test hook asks for at a [`Step`].
pub enum Fault {
    Continue,
    /// An I/O failure: the restore rolls back.
    Fail(io::Error),
    /// The process dies here: the restore returns at once, leaving the files and the
    /// journal as they are (for [`recover`] to find).
    Die,
}

#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub files: Vec<WrittenFile>,
    pub pre_restore_backup_id: i64,
    pub pre_restore_folder: PathBuf,
    pub next_steps: Vec<String>,
    /// The same steps as stable codes, for the window to translate.
    pub next_step_codes: Vec<&'static str>,
}

/// Codes of [`NEXT_STEPS`], in the same order.
pub const NEXT_STEP_CODES: [&str; 3] = [
    "restore.next.import_with_setup",
    "restore.next.restart_service",
    "restore.next.bundles_stale",
];

/// What the next step on the Windows server is after a restore.
pub const NEXT_STEPS: [&str; 3] = [
    "On the server: copy AuthCertBackup\\OfficeScanAuth.dat to OfficeScanAuth.pfx and import it with the server's Setup (\"import an existing certificate\"), using the key pair file's password.",
    "Restart the Apex One / OfficeScan Master Service; agents that hold this certificate trust the server again.",
    "Bundles exported before this restore carry the previous certificate: they are stale; export new ones for agents still mismatched.",
];

/// Restores `pair` (read from `backup_bytes`) onto `server`. `pre_restore_dir` receives
/// copies of the files replaced.
pub fn restore(
    store: &mut Store,
    server: &RecordedServer,
    backup_bytes: &[u8],
    pair: &KeyPair,
    pre_restore_dir: &Path,
) -> Result<Restored, BackupError> {
    restore_with_faults(store, server, backup_bytes, pair, pre_restore_dir, &|_| {
        Fault::Continue
    })
}

/// [`restore`] with a hook called at each [`Step`] (fault injection for tests).
pub fn restore_with_faults(
    store: &mut Store,
    server: &RecordedServer,
    backup_bytes: &[u8],
    pair: &KeyPair,
    pre_restore_dir: &Path,
    fault: &dyn Fn(Step) -> Fault,
) -> Result<Restored, BackupError> {
    let targets = targets(server);
    let new_contents: [&[u8]; 2] = [backup_bytes, pair.certificate().der()];

    // 1. Save what will be replaced.
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_default();
    let folder = new_folder(pre_restore_dir, &format!("pre-restore-{stamp}"))?;
    let mut journal = Journal {
        format_version: 1,
        started: crate::store::now_text(),
        pre_restore_folder: folder.clone(),
        files: Vec::new(),
    };
    let mut saved = Vec::new();
    for (target, new) in targets.iter().zip(new_contents) {
        let old = match fs::read(target) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(write_err(target)(e)),
        };
        let saved_copy = match &old {
            Some(bytes) => {
                let name = target.file_name().unwrap_or_default();
                let copy = folder.join(name);
                saved.push(write_private(&copy, bytes)?);
                Some(copy)
            }
            None => None,
        };
        journal.files.push(JournalFile {
            target: target.clone(),
            old_sha256: old.as_deref().map(sha256_hex),
            saved_copy,
            new_sha256: sha256_hex(new),
        });
    }
    let pre_restore_backup_id = store.record_backup(&catalog_entry(
        "pre_restore",
        Some(server.server_id),
        &server.report.server.install_folder,
        server.certificate.as_ref().map(|c| c.info()),
        None,
        &folder,
        &saved,
    ))?;
    match fault(Step::PreRestoreSaved) {
        Fault::Continue => {}
        Fault::Fail(e) => return Err(write_err(&folder)(e)),
        Fault::Die => return Err(died()),
    }

    // 2. The journal, then each file through a temporary file and a rename.
    let journal_path = journal_path(server);
    if let Some(dir) = journal_path.parent() {
        fs::create_dir_all(dir).map_err(write_err(dir))?;
    }
    let journal_bytes = serde_json::to_vec_pretty(&journal).unwrap_or_default();
    write_atomic(&journal_path, &journal_bytes).map_err(write_err(&journal_path))?;
    let replaced = (|| {
        match fault(Step::JournalWritten) {
            Fault::Continue => {}
            Fault::Fail(e) => return Err(Some(write_err(&journal_path)(e))),
            Fault::Die => return Err(None),
        }
        let mut files = Vec::new();
        for (i, (target, new)) in targets.iter().zip(new_contents).enumerate() {
            files.push(write_checked(target, new).map_err(Some)?);
            match fault(Step::FileReplaced(i)) {
                Fault::Continue => {}
                Fault::Fail(e) => return Err(Some(write_err(target)(e))),
                Fault::Die => return Err(None),
            }
        }
        Ok(files)
    })();
    let files = match replaced {
        Ok(files) => files,
        Err(None) => return Err(died()),
        Err(Some(cause)) => {
            return Err(match roll_back(&journal) {
                Ok(()) => {
                    let _ = fs::remove_file(&journal_path);
                    BackupError::RolledBack {
                        cause: cause.to_string(),
                    }
                }
                Err(e) => BackupError::RollbackFailed {
                    cause: format!("{cause}; rolling back: {e}"),
                    saved: folder,
                },
            })
        }
    };
    fs::remove_file(&journal_path).map_err(write_err(&journal_path))?;
    store.log_event(
        "backup.restored",
        Some(server.server_id),
        Some(&server.report.server.install_folder.to_string_lossy()),
        &serde_json::json!({
            "sha1_thumbprint": pair.certificate().info().sha1_thumbprint,
            "pre_restore_backup_id": pre_restore_backup_id,
        }),
    )?;
    Ok(Restored {
        files,
        pre_restore_backup_id,
        pre_restore_folder: folder,
        next_steps: NEXT_STEPS.iter().map(|s| s.to_string()).collect(),
        next_step_codes: NEXT_STEP_CODES.to_vec(),
    })
}

fn died() -> BackupError {
    BackupError::Write {
        path: PathBuf::new(),
        source: io::Error::other("stopped by a test fault"),
    }
}

fn journal_path(server: &RecordedServer) -> PathBuf {
    targets(server)[0]
        .parent()
        .map(|d| d.join(JOURNAL))
        .unwrap_or_else(|| PathBuf::from(JOURNAL))
}

/// Puts every file of `journal` back as it was.
fn roll_back(journal: &Journal) -> Result<(), BackupError> {
    for f in &journal.files {
        match (&f.old_sha256, &f.saved_copy) {
            (Some(old), Some(copy)) => {
                // A file the restore had not replaced yet is left alone: nothing to
                // undo, and rewriting it could fail (a full disk) where it need not.
                if matches!(sha256_file(&f.target), Ok((_, h)) if &h == old) {
                    continue;
                }
                let bytes = fs::read(copy).map_err(write_err(copy))?;
                if &sha256_hex(&bytes) != old {
                    return Err(BackupError::ReadBack { path: copy.clone() });
                }
                write_checked(&f.target, &bytes)?;
            }
            _ => match fs::remove_file(&f.target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(write_err(&f.target)(e)),
            },
        }
    }
    Ok(())
}

/// [`recover`], then the server read again when a restore was finished or undone (its
/// certificate may have changed), so callers go on with what is on disk.
pub fn recover_server(
    store: &mut Store,
    server: RecordedServer,
) -> Result<(RecordedServer, Option<Recovery>), BackupError> {
    let outcome = recover(store, &server)?;
    if outcome.is_none() {
        return Ok((server, None));
    }
    let reread = crate::inventory::open(store, &server.report.server.install_folder)?;
    Ok((reread, outcome))
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

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// Every file already held the new content: the restore had finished.
    Completed,
    /// A mix (or old files): every file was put back as before the restore.
    RolledBack,
}

/// Finishes or undoes a restore that was interrupted: with a journal present, files
/// that all hold the new content make it complete; anything else is rolled back to
/// the saved copies. Without a journal, nothing to do.
pub fn recover(
    store: &mut Store,
    server: &RecordedServer,
) -> Result<Option<Recovery>, BackupError> {
    let path = journal_path(server);
    // A journal being written when the process died: the restore had not begun.
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        let _ = fs::remove_file(dir.join(format!(".certmend-tmp-{}", name.to_string_lossy())));
    }
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(write_err(&path)(e)),
    };
    let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| BackupError::BadJournal {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let all_new = journal
        .files
        .iter()
        .all(|f| matches!(sha256_file(&f.target), Ok((_, h)) if h == f.new_sha256));
    let outcome = if all_new {
        Recovery::Completed
    } else {
        roll_back(&journal)?;
        Recovery::RolledBack
    };
    // Temporary files of the interrupted writes.
    for f in &journal.files {
        if let (Some(dir), Some(name)) = (f.target.parent(), f.target.file_name()) {
            let _ = fs::remove_file(dir.join(format!(".certmend-tmp-{}", name.to_string_lossy())));
        }
    }
    fs::remove_file(&path).map_err(write_err(&path))?;
    store.log_event(
        "backup.restore_recovered",
        Some(server.server_id),
        Some(&server.report.server.install_folder.to_string_lossy()),
        &serde_json::json!({ "outcome": outcome }),
    )?;
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;

    struct World {
        tmp: tempfile::TempDir,
        store: Store,
        server: RecordedServer,
        summary: demo::DemoSummary,
        previous: KeyPair,
        previous_bytes: Vec<u8>,
    }

    fn world() -> World {
        let crate::testutil::DemoWorld {
            tmp,
            summary,
            store,
            server,
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
            server,
            summary,
            previous,
            previous_bytes,
        }
    }

    impl World {
        fn files(&self) -> [Vec<u8>; 2] {
            [
                fs::read(&self.summary.key_pair_file).unwrap(),
                fs::read(&self.summary.certificate).unwrap(),
            ]
        }
        fn pre_restore_dir(&self) -> PathBuf {
            self.tmp.path().join("backups")
        }
        fn restore(&mut self, fault: &dyn Fn(Step) -> Fault) -> Result<Restored, BackupError> {
            let dir = self.pre_restore_dir();
            restore_with_faults(
                &mut self.store,
                &self.server,
                &self.previous_bytes,
                &self.previous,
                &dir,
                fault,
            )
        }
    }

    #[test]
    fn restore_writes_both_files_and_keeps_the_old_ones() {
        let mut w = world();
        let before = w.files();
        let plan = plan(&w.store, &w.server, Path::new("p.pfx"), &w.previous).unwrap();
        assert!(!plan.same_as_current);
        assert!(matches!(
            plan.backup_relation,
            ServerRelation::Previous { .. }
        ));
        let done = w.restore(&|_| Fault::Continue).unwrap();
        let after = w.files();
        assert_eq!(after[0], w.previous_bytes);
        assert_eq!(after[1], w.previous.certificate().der());
        // The pre-restore copy holds exactly the old files, and the catalog says so.
        assert_eq!(
            fs::read(done.pre_restore_folder.join("OfficeScanAuth.dat")).unwrap(),
            before[0]
        );
        assert_eq!(
            fs::read(done.pre_restore_folder.join("OfcNTCer.dat")).unwrap(),
            before[1]
        );
        let rows = w.store.backups().unwrap();
        assert_eq!(rows[0].kind, "pre_restore");
        assert_eq!(rows[0].files.len(), 2);
        assert!(!journal_path(&w.server).exists());
        assert_eq!(recover(&mut w.store, &w.server).unwrap(), None);
    }

    #[test]
    fn a_failure_at_any_step_rolls_back() {
        for step in [
            Step::PreRestoreSaved,
            Step::JournalWritten,
            Step::FileReplaced(0),
            Step::FileReplaced(1),
        ] {
            let mut w = world();
            let before = w.files();
            let err = w
                .restore(&|s| {
                    if s == step {
                        Fault::Fail(io::Error::other("injected"))
                    } else {
                        Fault::Continue
                    }
                })
                .unwrap_err();
            assert_eq!(w.files(), before, "{step:?}: {err}");
            if step != Step::PreRestoreSaved {
                assert_eq!(err.code(), "backup.restore_rolled_back", "{step:?}");
            }
            assert!(!journal_path(&w.server).exists(), "{step:?}");
        }
    }

    /// Rolling back rewrites only the files the restore had replaced: one it had not
    /// reached keeps its inode (so a rollback on a full disk need not write it).
    #[cfg(unix)]
    #[test]
    fn a_rollback_leaves_files_not_yet_replaced_alone() {
        use std::os::unix::fs::MetadataExt;
        let mut w = world();
        let before = w.files();
        let cert = w.summary.certificate.clone();
        let inode = fs::metadata(&cert).unwrap().ino();
        let err = w
            .restore(&|s| {
                if s == Step::FileReplaced(0) {
                    Fault::Fail(io::Error::other("injected"))
                } else {
                    Fault::Continue
                }
            })
            .unwrap_err();
        assert_eq!(err.code(), "backup.restore_rolled_back", "{err}");
        assert_eq!(w.files(), before);
        assert_eq!(fs::metadata(&cert).unwrap().ino(), inode, "rewritten");
    }

    #[test]
    fn a_process_killed_midway_is_repaired_by_the_next_run() {
        // Stopped after the first file: a mix, which recovery rolls back.
        let mut w = world();
        let before = w.files();
        w.restore(&|s| {
            if s == Step::FileReplaced(0) {
                Fault::Die
            } else {
                Fault::Continue
            }
        })
        .unwrap_err();
        let mixed = w.files();
        assert_eq!(mixed[0], w.previous_bytes);
        assert_eq!(mixed[1], before[1]);
        assert!(journal_path(&w.server).exists());
        assert_eq!(
            recover(&mut w.store, &w.server).unwrap(),
            Some(Recovery::RolledBack)
        );
        assert_eq!(w.files(), before);
        assert!(!journal_path(&w.server).exists());

        // Stopped after the last file, before the journal went: it had finished.
        let mut w = world();
        w.restore(&|s| {
            if s == Step::FileReplaced(1) {
                Fault::Die
            } else {
                Fault::Continue
            }
        })
        .unwrap_err();
        assert_eq!(
            recover(&mut w.store, &w.server).unwrap(),
            Some(Recovery::Completed)
        );
        assert_eq!(w.files()[1], w.previous.certificate().der());
        assert!(!journal_path(&w.server).exists());
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
        assert_eq!(
            check_new_password("short", false).unwrap_err().code(),
            "backup.weak_password"
        );
        check_new_password("short", true).unwrap();
        check_new_password("日本語のながいパスワードです", false).unwrap();
    }
}
