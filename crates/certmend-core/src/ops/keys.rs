//! The server's key pair: reading and checking one, backing it up, verifying a backup,
//! and a restore kit (planned, shown, confirmed, then written).
//!
//! Passwords are asked through callbacks, after the file was read: a missing or wrong
//! file is reported before anyone types a password. They stay in zeroizing strings.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use super::{coded, CodedMessage, ServerRef};
use crate::backup::{self, Created, Verified};
use crate::inventory::RecordedServer;
use crate::keypair::{self, Encryption, KeyPair, KeyPairReport};
use crate::paths;
use crate::restore::{self, Kit, KitPlan};
use crate::store::{BackupRow, Store};

/// Asks for (or hands over) the password of the file at the given path.
pub type PasswordFor<'a> = &'a dyn Fn(&Path) -> Result<Zeroizing<String>, CodedMessage>;

/// A PKCS#12 key pair file and how to get its password.
#[derive(Clone, Copy)]
pub struct Pkcs12Source<'a> {
    /// `None`: the server's own `AuthCertBackup\OfficeScanAuth.dat`.
    pub file: Option<&'a Path>,
    pub password: PasswordFor<'a>,
}

/// A key pair opened: where from, its bytes, the pair and the password that opened it.
pub struct OpenedPair {
    pub path: PathBuf,
    pub bytes: Zeroizing<Vec<u8>>,
    pub pair: KeyPair,
    pub password: Zeroizing<String>,
}

fn open_pkcs12(
    source: Pkcs12Source<'_>,
    server: Option<&RecordedServer>,
) -> Result<OpenedPair, CodedMessage> {
    let path = match (source.file, server) {
        (Some(file), _) => file.to_path_buf(),
        (None, Some(server)) => backup::server_key_pair_file(server).map_err(coded)?,
        (None, None) => {
            return Err(CodedMessage::new(
                "app.no_server",
                "no server is open yet to take its key pair from",
            ))
        }
    };
    let bytes = keypair::read_bytes(&path).map_err(coded)?;
    keypair::expect_pkcs12(&bytes, &path).map_err(coded)?;
    let password = (source.password)(&path)?;
    let pair = keypair::parse_pkcs12(&bytes, &password, &path).map_err(coded)?;
    Ok(OpenedPair {
        path,
        bytes,
        pair,
        password,
    })
}

/// Which key pair to show.
pub enum KeySource<'a> {
    Pkcs12(Pkcs12Source<'a>),
    /// A private key file (PKCS#8, encrypted PKCS#8, PKCS#1) and its certificate; the
    /// password is asked only for an encrypted key.
    KeyFile {
        key: &'a Path,
        certificate: &'a Path,
        password: PasswordFor<'a>,
    },
}

/// Reads a key pair and checks that its key belongs to its certificate; against a
/// server, also says whether the certificate is the server's current, a previous one or
/// neither.
pub fn show(
    source: KeySource<'_>,
    against: Option<(&mut Store, ServerRef<'_>)>,
) -> Result<KeyPairReport, CodedMessage> {
    let (store, server) = match against {
        Some((store, server)) => {
            let server = server.resolve(store)?;
            (Some(store), Some(server))
        }
        None => (None, None),
    };
    let (path, pair) = match source {
        KeySource::Pkcs12(source) => {
            let opened = open_pkcs12(source, server.as_ref())?;
            (opened.path, opened.pair)
        }
        KeySource::KeyFile {
            key,
            certificate,
            password,
        } => {
            let password = if keypair::key_file_is_encrypted(key) {
                Some(password(key)?)
            } else {
                None
            };
            let pair =
                keypair::read_key_file(key, certificate, password.as_deref().map(|p| p.as_str()))
                    .map_err(coded)?;
            (key.to_path_buf(), pair)
        }
    };
    let relation = match (store, &server) {
        (Some(store), Some(server)) => Some(
            backup::relation(store, server.server_id, &pair.certificate().info().sha256)
                .map_err(coded)?,
        ),
        _ => None,
    };
    Ok(pair.report(&path, relation))
}

/// Whether a new backup password under the minimum length is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPassword {
    Refuse,
    Allow,
}

pub struct BackupRequest<'a> {
    pub server: ServerRef<'a>,
    pub source: Pkcs12Source<'a>,
    /// Where to write; `None`: backups in certmend's data folder.
    pub out_dir: Option<PathBuf>,
    pub encryption: Encryption,
    pub weak_password: WeakPassword,
    /// The new backup's password, asked once the key pair was read and checked.
    pub new_password: &'a dyn Fn() -> Result<Zeroizing<String>, CodedMessage>,
}

/// Backs up a server's key pair into a new PKCS#12 file under a new password, plus its
/// certificate; both read back and checked before the catalog records them.
pub fn backup(store: &mut Store, request: BackupRequest<'_>) -> Result<Created, CodedMessage> {
    let out_dir = match request.out_dir {
        Some(dir) => dir,
        None => default_backups_dir()?,
    };
    let server = request.server.resolve(store)?;
    let opened = open_pkcs12(request.source, Some(&server))?;
    opened.pair.ensure_matches(&opened.path).map_err(coded)?;
    let new_password = (request.new_password)()?;
    backup::check_new_password(&new_password, request.weak_password == WeakPassword::Allow)
        .map_err(coded)?;
    backup::create(
        store,
        Some(server.server_id),
        &opened.pair,
        &opened.path,
        &out_dir,
        &new_password,
        request.encryption,
    )
    .map_err(coded)
}

/// certmend's backups folder in the per-user data folder.
pub fn default_backups_dir() -> Result<PathBuf, CodedMessage> {
    paths::backups_dir().ok_or_else(|| {
        CodedMessage::new(
            "backup.no_data_folder",
            "no per-user data folder on this system to keep backups in; name a folder for the backup",
        )
    })
}

/// The backups certmend wrote (and the restore kits), newest first.
pub fn backups(store: &Store) -> Result<Vec<BackupRow>, CodedMessage> {
    store.backups().map_err(coded)
}

/// Proves a backup opens with its password and its key matches its certificate, and
/// compares it with the catalog (a file certmend wrote, unchanged?).
///
/// `server` is needed only when `source` names no file (the server's own key pair).
pub fn verify(
    store: &mut Store,
    source: Pkcs12Source<'_>,
    server: Option<ServerRef<'_>>,
) -> Result<Verified, CodedMessage> {
    let server = server.map(|s| s.resolve(store)).transpose()?;
    let opened = open_pkcs12(source, server.as_ref())?;
    backup::verified(store, &opened.path, &opened.bytes, &opened.pair).map_err(coded)
}

/// A restore kit planned: what it would hold and what its certificate is to the agents,
/// with the opened key pair kept for [`write_kit`].
pub struct KitDraft {
    pub plan: KitPlan,
    server_id: i64,
    opened: OpenedPair,
}

/// Plans a restore kit into a new folder under `out_dir`; writes nothing.
pub fn plan_kit(
    store: &mut Store,
    server: ServerRef<'_>,
    source: Pkcs12Source<'_>,
    out_dir: &Path,
) -> Result<KitDraft, CodedMessage> {
    let server = server.resolve(store)?;
    let opened = open_pkcs12(source, Some(&server))?;
    let plan = restore::plan(
        store,
        &server,
        &opened.path,
        &opened.bytes,
        &opened.pair,
        out_dir,
    )
    .map_err(coded)?;
    Ok(KitDraft {
        plan,
        server_id: server.server_id,
        opened,
    })
}

/// The admin's answer to a kit's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Approval {
    /// Write the kit, from exactly the file the plan showed (its SHA-256): other bytes
    /// are refused.
    Approved {
        source_sha256: String,
    },
    NotApproved,
}

impl Approval {
    /// The approved file's SHA-256, or `backup.not_confirmed`.
    fn require(self) -> Result<String, CodedMessage> {
        match self {
            Approval::Approved { source_sha256 } => Ok(source_sha256),
            Approval::NotApproved => Err(CodedMessage::new(
                "backup.not_confirmed",
                "not confirmed; nothing was written",
            )),
        }
    }
}

/// A kit approved before its plan was shown here (the window showed it): checks the
/// approval first, then plans and writes as [`plan_kit`] and [`write_kit`] do.
pub fn approved_kit(
    store: &mut Store,
    server: ServerRef<'_>,
    source: Pkcs12Source<'_>,
    out_dir: &Path,
    approval: Approval,
) -> Result<Kit, CodedMessage> {
    let source_sha256 = approval.require()?;
    let draft = plan_kit(store, server, source, out_dir)?;
    write_kit(store, draft, Approval::Approved { source_sha256 })
}

/// Writes a planned kit once approved; its files are read back and checked. The kit's
/// `OfficeScanAuth.pfx` is protected by the same password as the source.
pub fn write_kit(
    store: &mut Store,
    mut draft: KitDraft,
    approval: Approval,
) -> Result<Kit, CodedMessage> {
    let source_sha256 = approval.require()?;
    // What the admin approved, not what the file holds now: write() compares them.
    draft.plan.source_sha256 = source_sha256;
    restore::write(
        store,
        draft.server_id,
        &draft.plan,
        &draft.opened.bytes,
        &draft.opened.pair,
        &draft.opened.password,
    )
    .map_err(coded)
}
