//! Restoring a key pair: a restore kit for the server's (re)installation.
//!
//! The server signs what it sends with the key pair held in the Windows certificate
//! store; `PCCSRV\Pccnt\Common\OfcNTCer.dat` is only its public half, which agents copy
//! with their next update. Trend documents one way to bring a key pair back: import it
//! while installing the server (Setup's "import an existing certificate", KA-0014308,
//! KA-0004800); on an installed server only `CertificateManager.exe -r/-re` with a ZIP
//! made by `-b`. Replacing `OfcNTCer.dat` on a running server would hand every agent
//! that updates a certificate that does not match the key the server signs with, so
//! certmend never writes into a server folder. It writes a kit instead:
//!
//! - `OfficeScanAuth.pfx`: the key pair, re-encrypted with 3DES and a SHA-1 MAC under
//!   the password of the file it came from (Windows Server 2016 refuses AES-encrypted
//!   PFX files with a misleading "the password is not correct"; 3DES imports on every
//!   Windows Server);
//! - `OfficeScanAuth.cer`: its certificate (DER);
//! - `RESTORE-GUIDE-en.txt` / `RESTORE-GUIDE-ja.txt`: the steps, what to have at hand,
//!   and what to do after;
//! - `certmend-kit.json`: what was written, with hashes.
//!
//! Plan and action are one: [`plan`] names the exact source file by its SHA-256 and
//! the exact folder; [`write`] refuses a source whose bytes are not the ones the admin
//! was shown. The kit is written into a hidden staging folder and renamed into place
//! whole, so a stopped run leaves no half kit under the kit's name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup::{self, CatalogMatch, WrittenFile};
use crate::cert::CertificateInfo;
use crate::durable::{self, DurableError};
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::keypair::{self, Encryption, KeyPair, KeyPairError, ServerRelation};
use crate::store::{AgentHolding, Store, StoreError};
use crate::ErrorCode;

pub const KIT_PFX: &str = "OfficeScanAuth.pfx";
pub const KIT_CER: &str = "OfficeScanAuth.cer";
pub const GUIDE_EN: &str = "RESTORE-GUIDE-en.txt";
pub const GUIDE_JA: &str = "RESTORE-GUIDE-ja.txt";
pub const KIT_MANIFEST: &str = "certmend-kit.json";
/// The kit's encryption: what every Windows Server imports.
pub const KIT_ENCRYPTION: Encryption = Encryption::Legacy;
/// Agent names shown in a plan, per group (the counts are always complete).
pub const AGENT_SAMPLE: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    KeyPair(#[from] KeyPairError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: already exists; a restore kit is never written over another: choose another folder, or move that one away", path.display())]
    KitExists { path: PathBuf },
    #[error("{}: the file changed after it was shown (SHA-256 {now}, shown {shown}); nothing was written: look at it again", path.display())]
    SourceChanged {
        path: PathBuf,
        shown: String,
        now: String,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: read back different from what was written; nothing was kept", path.display())]
    ReadBack { path: PathBuf },
}

impl ErrorCode for RestoreError {
    fn code(&self) -> &'static str {
        match self {
            RestoreError::KeyPair(e) => e.code(),
            RestoreError::Store(e) => e.code(),
            RestoreError::KitExists { .. } => "restore.kit_exists",
            RestoreError::SourceChanged { .. } => "restore.source_changed",
            RestoreError::Write { .. } => "restore.write",
            RestoreError::ReadBack { .. } => "restore.read_back",
        }
    }

    fn args(&self) -> std::collections::BTreeMap<&'static str, String> {
        match self {
            RestoreError::KeyPair(e) => e.args(),
            RestoreError::KitExists { path }
            | RestoreError::SourceChanged { path, .. }
            | RestoreError::Write { path, .. }
            | RestoreError::ReadBack { path } => {
                std::collections::BTreeMap::from([("path", path.display().to_string())])
            }
            RestoreError::Store(e) => e.args(),
        }
    }
}

impl From<DurableError> for RestoreError {
    fn from(e: DurableError) -> Self {
        match e {
            DurableError::Io { path, source } => RestoreError::Write { path, source },
            DurableError::Mismatch { path, .. } => RestoreError::ReadBack { path },
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// What the kit's certificate is to the server's agents: the question a restore
/// answers. Codes for the window; [`KitPlan::verdict_text`] for the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The server already uses this certificate: reinstalling with it changes nothing
    /// for the agents.
    SameAsCurrent,
    /// The server used it before and agents are known to hold it: a server reinstalled
    /// with this kit is trusted by them again.
    AgentsHoldIt,
    /// The server used it before; which agents hold it is not known.
    PreviousNoAgentsKnown,
    /// certmend never saw this certificate on this server.
    Unknown,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::SameAsCurrent => "restore.verdict.same_as_current",
            Verdict::AgentsHoldIt => "restore.verdict.agents_hold_it",
            Verdict::PreviousNoAgentsKnown => "restore.verdict.previous_no_agents_known",
            Verdict::Unknown => "restore.verdict.unknown",
        }
    }
}

/// Agents of one group: the count and the first names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentGroup {
    pub count: usize,
    pub sample: Vec<String>,
}

impl AgentGroup {
    fn of<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let mut count = 0;
        let mut sample = Vec::new();
        for name in names {
            count += 1;
            if sample.len() < AGENT_SAMPLE {
                sample.push(name.to_string());
            }
        }
        AgentGroup { count, sample }
    }
}

/// What [`write`] will do, shown before it asks for confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct KitPlan {
    pub source_file: PathBuf,
    /// The source's bytes as shown: [`write`] refuses any others.
    pub source_sha256: String,
    pub source_catalog: CatalogMatch,
    pub certificate: CertificateInfo,
    pub relation: ServerRelation,
    pub verdict: Verdict,
    pub verdict_code: &'static str,
    /// The server's certificate now (its OfcNTCer.dat), when readable.
    pub current_certificate: Option<CertificateInfo>,
    pub agents_holding_kit: AgentGroup,
    pub agents_holding_current: AgentGroup,
    /// Agents whose certificate certmend does not know.
    pub agents_unknown: usize,
    pub install_folder: PathBuf,
    /// The folder the kit is written to (created; must not exist).
    pub kit_folder: PathBuf,
    pub files: Vec<PathBuf>,
    pub encryption: Encryption,
    pub encryption_reason: &'static str,
    pub encryption_reason_code: &'static str,
}

pub const ENCRYPTION_REASON: &str = "3DES with a SHA-1 MAC: Windows Server 2016 refuses AES-encrypted PFX files (with a misleading \"the password is not correct\"); 3DES imports on every Windows Server";

impl KitPlan {
    /// The verdict as one English sentence.
    pub fn verdict_text(&self) -> String {
        match self.verdict {
            Verdict::SameAsCurrent => "The server already uses this certificate: a reinstall with this kit keeps it; agents on the CertificateManager list still need repair bundles.".into(),
            Verdict::AgentsHoldIt => format!(
                "The server used this certificate before, and {} agent(s) are known to hold it: a server reinstalled with this kit is trusted by them again.",
                self.agents_holding_kit.count
            ),
            Verdict::PreviousNoAgentsKnown => "The server used this certificate before; certmend does not know which agents still hold it (import a CertificateManager list or collected certificates to find out).".into(),
            Verdict::Unknown => "certmend never saw this certificate on this server: check its thumbprint against an agent's OfcNTCer.dat before relying on it.".into(),
        }
    }
}

/// The kit folder's name for a certificate: `certmend-restore-kit-<8 hex>`.
pub fn kit_folder_name(certificate: &CertificateInfo) -> String {
    let thumb: String = certificate.sha1_thumbprint.chars().take(8).collect();
    format!("certmend-restore-kit-{}", thumb.to_ascii_lowercase())
}

/// Plans a kit of `pair` (read from `source`, whose bytes are `source_bytes`) for
/// `server`, to be written under `out_dir`.
pub fn plan(
    store: &Store,
    server: &RecordedServer,
    source: &Path,
    source_bytes: &[u8],
    pair: &KeyPair,
    out_dir: &Path,
) -> Result<KitPlan, RestoreError> {
    pair.ensure_matches(source)?;
    let certificate = pair.certificate().info().clone();
    let source_sha256 = sha256_hex(source_bytes);
    let current_certificate = server.certificate.as_ref().map(|c| c.info().clone());
    let current_sha = current_certificate.as_ref().map(|c| c.sha256.as_str());
    let relation = backup::relation(store, server.server_id, &certificate.sha256)?;
    let holdings: Vec<AgentHolding> = store.agent_holdings(server.server_id)?;
    let holding = |sha: Option<&str>| {
        AgentGroup::of(
            holdings
                .iter()
                .filter(|h| sha.is_some() && h.certificate_sha256.as_deref() == sha)
                .map(|h| h.name.as_str()),
        )
    };
    let agents_holding_kit = holding(Some(&certificate.sha256));
    let verdict = match &relation {
        ServerRelation::Current => Verdict::SameAsCurrent,
        ServerRelation::Previous { .. } if agents_holding_kit.count > 0 => Verdict::AgentsHoldIt,
        ServerRelation::Previous { .. } => Verdict::PreviousNoAgentsKnown,
        ServerRelation::Neither => Verdict::Unknown,
    };
    let kit_folder = out_dir.join(kit_folder_name(&certificate));
    if fs::symlink_metadata(&kit_folder).is_ok() {
        return Err(RestoreError::KitExists { path: kit_folder });
    }
    Ok(KitPlan {
        source_file: source.to_path_buf(),
        source_catalog: backup::catalog_match(store, source, &source_sha256)?,
        source_sha256,
        relation,
        verdict,
        verdict_code: verdict.code(),
        agents_holding_current: holding(current_sha),
        agents_holding_kit,
        agents_unknown: holdings
            .iter()
            .filter(|h| h.certificate_sha256.is_none())
            .count(),
        current_certificate,
        install_folder: server.report.server.install_folder.clone(),
        files: [KIT_PFX, KIT_CER, GUIDE_EN, GUIDE_JA, KIT_MANIFEST]
            .iter()
            .map(|n| kit_folder.join(n))
            .collect(),
        kit_folder,
        certificate,
        encryption: KIT_ENCRYPTION,
        encryption_reason: ENCRYPTION_REASON,
        encryption_reason_code: "restore.encryption.legacy_for_windows_server",
    })
}

/// A kit written and read back.
#[derive(Debug, Clone, Serialize)]
pub struct Kit {
    pub backup_id: i64,
    pub kit_folder: PathBuf,
    pub files: Vec<WrittenFile>,
    pub encryption: Encryption,
    /// Staging folders of earlier, stopped runs removed from the output folder.
    pub stale_staging_removed: usize,
}

/// Writes the kit `plan` describes. `source_bytes` must be the bytes the plan was made
/// of (the admin saw their hash), `pair` read from them with `password`, which also
/// protects the kit's PKCS#12 file.
pub fn write(
    store: &mut Store,
    server_id: i64,
    plan: &KitPlan,
    source_bytes: &[u8],
    pair: &KeyPair,
    password: &str,
) -> Result<Kit, RestoreError> {
    check_source(plan, source_bytes, pair)?;
    let out_dir = plan.kit_folder.parent().unwrap_or(Path::new("."));
    crate::paths::create_private_dir(out_dir).map_err(write_err(out_dir))?;
    if fs::symlink_metadata(&plan.kit_folder).is_ok() {
        return Err(RestoreError::KitExists {
            path: plan.kit_folder.clone(),
        });
    }
    let stale_staging_removed = remove_stale_staging(out_dir);
    let staging = new_staging(out_dir)?;
    let files = write_kit_files(staging.path(), plan, pair, password)?;
    place_kit(staging, plan)?;
    let backup_id = store.record_backup(&backup::catalog_entry(
        "restore_kit",
        Some(server_id),
        &plan.source_file,
        Some(&plan.certificate),
        Some(KIT_ENCRYPTION),
        &plan.kit_folder,
        &files,
    ))?;
    Ok(Kit {
        backup_id,
        kit_folder: plan.kit_folder.clone(),
        files,
        encryption: KIT_ENCRYPTION,
        stale_staging_removed,
    })
}

/// Refuses a source whose bytes (or key pair) are not the ones the plan showed.
fn check_source(plan: &KitPlan, source_bytes: &[u8], pair: &KeyPair) -> Result<(), RestoreError> {
    let now = sha256_hex(source_bytes);
    if now != plan.source_sha256 || pair.certificate().info().sha256 != plan.certificate.sha256 {
        return Err(RestoreError::SourceChanged {
            path: plan.source_file.clone(),
            shown: plan.source_sha256.clone(),
            now,
        });
    }
    pair.ensure_matches(&plan.source_file)?;
    Ok(())
}

/// The hidden folder a kit is written in before it takes its name.
fn new_staging(out_dir: &Path) -> Result<tempfile::TempDir, RestoreError> {
    // An unpredictable name, created exclusively: nothing planted can stand in for it.
    // Owner-only on Unix (0700; its files are 0600): it holds a private key.
    let mut staging = tempfile::Builder::new();
    staging.prefix(STAGING_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        staging.permissions(fs::Permissions::from_mode(0o700));
    }
    staging.tempdir_in(out_dir).map_err(write_err(out_dir))
}

/// Writes and reads back every file of the kit in `staging`, the manifest last, and
/// checks that the kit's key pair opens with the password and is the planned one.
fn write_kit_files(
    staging: &Path,
    plan: &KitPlan,
    pair: &KeyPair,
    password: &str,
) -> Result<Vec<WrittenFile>, RestoreError> {
    let pfx = pair.to_pkcs12(password, KIT_ENCRYPTION)?;
    let der = pair.certificate().der();
    let (pfx_sha, cer_sha) = (sha256_hex(&pfx), sha256_hex(der));
    let mut files = Vec::new();
    for (name, bytes) in [
        (KIT_PFX, pfx.clone()),
        (KIT_CER, der.to_vec()),
        (GUIDE_EN, guide(plan, &pfx_sha, &cer_sha, Language::En)),
        (GUIDE_JA, guide(plan, &pfx_sha, &cer_sha, Language::Ja)),
    ] {
        files.push(put_file(staging, &plan.kit_folder, name, &bytes)?);
    }
    let manifest = serde_json::to_vec_pretty(&kit_manifest(plan, &files)).unwrap_or_default();
    files.push(put_file(
        staging,
        &plan.kit_folder,
        KIT_MANIFEST,
        &manifest,
    )?);

    let written = staging.join(KIT_PFX);
    let back = keypair::read_pkcs12(&written, password)?;
    if back.certificate().der() != der || !back.checks().ok() {
        return Err(RestoreError::ReadBack { path: written });
    }
    Ok(files)
}

/// `certmend-kit.json`: what the kit holds, with hashes.
fn kit_manifest(plan: &KitPlan, files: &[WrittenFile]) -> serde_json::Value {
    serde_json::json!({
        "format": "certmend-restore-kit",
        "format_version": 1,
        "created": crate::store::now_text(),
        "certificate": {
            "sha1_thumbprint": plan.certificate.sha1_thumbprint,
            "sha256": plan.certificate.sha256,
            "serial": plan.certificate.serial,
            "subject": plan.certificate.subject,
            "not_after": plan.certificate.not_after,
        },
        "encryption": "pbeWithSHAAnd3-KeyTripleDES-CBC, SHA-1 MAC",
        "source_sha256": plan.source_sha256,
        "files": files.iter().map(|f| serde_json::json!({
            "name": f.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "size": f.size,
            "sha256": f.sha256,
        })).collect::<Vec<_>>(),
    })
}

/// Renames the staging folder to the kit's name: whole, under its name, or not at all
/// (the staging folder goes when dropped).
fn place_kit(staging: tempfile::TempDir, plan: &KitPlan) -> Result<(), RestoreError> {
    durable::rename_into_place(staging.path(), &plan.kit_folder).map_err(|e| {
        if fs::symlink_metadata(&plan.kit_folder).is_ok() {
            RestoreError::KitExists {
                path: plan.kit_folder.clone(),
            }
        } else {
            write_err(&plan.kit_folder)(e)
        }
    })?;
    // Renamed away: nothing left for the TempDir to remove.
    let _ = staging.keep();
    Ok(())
}

const STAGING_PREFIX: &str = ".certmend-kit-";

/// Removes the hidden staging folders of kits whose writing was stopped (they may hold
/// an encrypted key pair nobody knows is there). Only real folders directly in
/// `out_dir` named as certmend names them; links are left alone (and removing a
/// folder never follows links inside it). Returns how many went.
fn remove_stale_staging(out_dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(out_dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_staging = entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX);
        let is_real_dir = entry
            .file_type()
            .is_ok_and(|t| t.is_dir() && !t.is_symlink());
        if is_staging && is_real_dir && fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Writes one kit file into the staging folder and reads it back from the device; the
/// result names it where it will be once the kit is in place.
fn put_file(
    staging: &Path,
    kit_folder: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<WrittenFile, RestoreError> {
    let (size, sha256) = durable::write_atomic_checked(&staging.join(name), bytes, true)?;
    Ok(WrittenFile {
        path: kit_folder.join(name),
        size,
        sha256,
    })
}

#[derive(Clone, Copy)]
enum Language {
    En,
    Ja,
}

/// The guide, CRLF line ends (Notepad on Windows Server 2016 shows LF files as one
/// line); the Japanese one UTF-8 with a BOM, which every Notepad reads as UTF-8.
fn guide(plan: &KitPlan, pfx_sha: &str, cer_sha: &str, language: Language) -> Vec<u8> {
    let c = &plan.certificate;
    let install = plan.install_folder.display();
    let source = plan
        .source_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = match language {
        Language::En => format!(
            "certmend restore kit
====================

What this is
  The key pair of an Apex One / OfficeScan server, to be imported while the server is
  installed again. This is the way Trend Micro documents to bring a key pair back
  (KA-0014308, KA-0004800): Setup's \"Import an existing certificate\".

Certificate
  Thumbprint (SHA-1)  {thumb}
  Serial number       {serial}
  Subject             {subject}
  Valid until         {not_after}

What it is to the server {install}
  {verdict}
  Agents known to hold this certificate: {holding}. Agents known to hold the server's
  current certificate: {holding_current}. Agents whose certificate is not known: {unknown}.

Files
  {KIT_PFX}   the key pair (PKCS#12), {encryption}
                       SHA-256 {pfx_sha}
  {KIT_CER}   its certificate, SHA-256 {cer_sha}
  {KIT_MANIFEST}    what certmend wrote (for certmend)

Have at hand
  - The password of {source}, the key pair file this kit was made from: it also
    protects {KIT_PFX}, and Setup asks for it.
  - The Apex One / OfficeScan installer for the server, and an administrator account.
  - This folder, copied to a local disk of the server (for example C:\\certmend-kit).

Steps
  1. Check the copy: in a command prompt in the folder,
       certutil -hashfile {KIT_PFX} SHA256
     must print the SHA-256 above.
  2. Run the server's Setup. At the authentication certificate step choose
     \"Import an existing certificate\" (Japanese Setup: 既存の証明書をインポートする),
     select {KIT_PFX} in this folder and type its password.
  3. After the installation, check the server's certificate:
       certutil -dump \"<install folder>\\PCCSRV\\Pccnt\\Common\\OfcNTCer.dat\"
     must show Cert Hash(sha1) {thumb_spaced} (or the same digits without spaces).
  4. Agents that hold this certificate obey the server again with their next update.
     Agents that hold another one are listed by CertificateManager.exe -l on the server
     (the console warns \"One or more Security Agents do not have a valid Apex One server
     certificate\"): give each of them a repair bundle from certmend (IpXfer).
  5. Delete this kit once the server runs: {KIT_PFX} is the server's private key,
     protected only by its password.

Never
  - Never copy {KIT_CER} (or any certificate) over PCCSRV\\Pccnt\\Common\\OfcNTCer.dat
    on a running server. The server signs with the key held in the Windows certificate
    store; agents would take a certificate that does not match it, and every agent that
    updates would stop obeying the server.
  - On a server that is installed and running, Trend documents only
    CertificateManager.exe -r / -re with a ZIP made by CertificateManager.exe -b; from
    Apex One Patch 3 (build 8378) the key can no longer be exported (KA-0014308).

Also good to know
  - Why 3DES: {reason}.
  - Agents also hold a second certificate derived from the server's, \"OfficeScan SSL
    Agent\" (ofcsslagent), which is refreshed separately (Trend KB 000155981). certmend
    does not repair it.
",
            thumb = c.sha1_thumbprint,
            thumb_spaced = spaced(&c.sha1_thumbprint),
            serial = c.serial,
            subject = c.subject,
            not_after = c.not_after,
            verdict = plan.verdict_text(),
            holding = plan.agents_holding_kit.count,
            holding_current = plan.agents_holding_current.count,
            unknown = plan.agents_unknown,
            encryption = "3DES, SHA-1 MAC",
            reason = ENCRYPTION_REASON,
        ),
        Language::Ja => format!(
            "certmend 復元キット
====================

これは何か
  Apex One / ウイルスバスター Corp. (OfficeScan) サーバのキーペアです。サーバを
  インストールし直すときにインポートします。Trend Micro が文書化しているキーペアの
  戻し方はこれです (KA-0014308、KA-0004800): セットアップの
  「既存の証明書をインポートする」。

証明書
  拇印 (SHA-1)       {thumb}
  シリアル番号       {serial}
  サブジェクト       {subject}
  有効期限           {not_after}

サーバ {install} にとってのこの証明書
  {verdict}
  この証明書を持つと分かっているエージェント: {holding}。サーバの現在の証明書を
  持つと分かっているエージェント: {holding_current}。証明書が分からないエージェント: {unknown}。

ファイル
  {KIT_PFX}   キーペア (PKCS#12)、3DES、SHA-1 MAC
                       SHA-256 {pfx_sha}
  {KIT_CER}   その証明書、SHA-256 {cer_sha}
  {KIT_MANIFEST}    certmend が書いた内容 (certmend 用)

用意するもの
  - このキットの元になったキーペアファイル {source} のパスワード。
    {KIT_PFX} も同じパスワードで保護されています。セットアップで入力します。
  - サーバの Apex One / ウイルスバスター Corp. のインストーラと管理者アカウント。
  - このフォルダ (サーバのローカルディスクにコピーしてください。例: C:\\certmend-kit)。

手順
  1. コピーを確かめます。このフォルダでコマンドプロンプトを開き、
       certutil -hashfile {KIT_PFX} SHA256
     が上の SHA-256 を表示することを確認します。
  2. サーバのセットアップを実行します。サーバ認証証明書の手順で
     「既存の証明書をインポートする」 (英語版: Import an existing certificate) を選び、
     このフォルダの {KIT_PFX} を選んでパスワードを入力します。
  3. インストール後、サーバの証明書を確かめます:
       certutil -dump \"<インストールフォルダ>\\PCCSRV\\Pccnt\\Common\\OfcNTCer.dat\"
     の「証明書のハッシュ(sha1)」(英語版: Cert Hash(sha1)) が {thumb_spaced}
     (または空白なしの同じ数字) であること。
  4. この証明書を持つエージェントは、次のアップデートでサーバの指示に従うように
     なります。別の証明書を持つエージェントは、サーバで CertificateManager.exe -l を
     実行すると一覧になります (管理コンソールの警告「Apex Oneサーバの有効な証明書が
     ないセキュリティエージェントが1つ以上あります。」)。それぞれに certmend の修復
     バンドル (IpXfer) を使ってください。
  5. サーバが動き始めたら、このキットを削除してください。{KIT_PFX} はサーバの
     秘密鍵で、パスワードだけで守られています。

してはいけないこと
  - 動作中のサーバで PCCSRV\\Pccnt\\Common\\OfcNTCer.dat に {KIT_CER} (や他の証明書) を
    上書きしないでください。サーバは Windows の証明書ストアにある鍵で署名します。
    エージェントはその鍵に合わない証明書を受け取り、アップデートしたエージェントが
    すべてサーバの指示に従わなくなります。
  - インストール済みで動作中のサーバについて Trend が文書化しているのは、
    CertificateManager.exe -b で作った ZIP を使う CertificateManager.exe -r / -re だけ
    です。Apex One Patch 3 (ビルド 8378) 以降は鍵をエクスポートできません (KA-0014308)。

知っておくと良いこと
  - 3DES を使う理由: Windows Server 2016 は AES で暗号化された PFX ファイルを
    「パスワードが正しくありません」という誤解を招くメッセージで拒否します。3DES と
    SHA-1 MAC ならどの Windows Server でもインポートできます。
  - エージェントはサーバの証明書から作られる2つ目の証明書「OfficeScan SSL Agent」
    (ofcsslagent) も持ち、これは別に更新されます (Trend KB 000155981)。certmend は
    これを修復しません。
",
            thumb = c.sha1_thumbprint,
            thumb_spaced = spaced(&c.sha1_thumbprint),
            serial = c.serial,
            subject = c.subject,
            not_after = c.not_after,
            verdict = verdict_ja(plan),
            holding = plan.agents_holding_kit.count,
            holding_current = plan.agents_holding_current.count,
            unknown = plan.agents_unknown,
        ),
    };
    let mut bytes = match language {
        Language::En => Vec::new(),
        Language::Ja => vec![0xEF, 0xBB, 0xBF],
    };
    bytes.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
    bytes
}

fn verdict_ja(plan: &KitPlan) -> String {
    match plan.verdict {
        Verdict::SameAsCurrent => "サーバはすでにこの証明書を使っています。このキットで再インストールしても証明書は変わりません。CertificateManager の一覧にあるエージェントには修復バンドルが必要です。".into(),
        Verdict::AgentsHoldIt => format!(
            "サーバは以前この証明書を使っていました。{} 台のエージェントがこの証明書を持っていると分かっています。このキットで再インストールしたサーバを、それらのエージェントは再び信頼します。",
            plan.agents_holding_kit.count
        ),
        Verdict::PreviousNoAgentsKnown => "サーバは以前この証明書を使っていました。どのエージェントがまだ持っているかは certmend には分かりません (CertificateManager の一覧か、集めた証明書を読み込むと分かります)。".into(),
        Verdict::Unknown => "certmend はこのサーバでこの証明書を見たことがありません。頼る前に、拇印をエージェントの OfcNTCer.dat と比べてください。".into(),
    }
}

/// `AB12CD...` as `ab 12 cd ...`: how certutil on older Windows prints a hash.
fn spaced(hex: &str) -> String {
    crate::hexfmt::byte_pairs(&hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::sha256_file;
    use crate::testutil::{demo_world, DemoWorld};

    struct World {
        w: DemoWorld,
        previous_bytes: Vec<u8>,
        previous: KeyPair,
        password: String,
    }

    fn world() -> World {
        let w = demo_world(3, false);
        let previous_bytes = fs::read(&w.summary.previous_key_pair_file).unwrap();
        let password = w.summary.key_pair_password.clone();
        let previous = keypair::parse_pkcs12(
            &previous_bytes,
            &password,
            &w.summary.previous_key_pair_file,
        )
        .unwrap();
        World {
            w,
            previous_bytes,
            previous,
            password,
        }
    }

    fn server_files(w: &DemoWorld) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![w.server.report.server.install_folder.clone()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push((path.clone(), fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_kit_holds_the_planned_pair_and_the_server_is_untouched() {
        let mut t = world();
        let before = server_files(&t.w);
        let out = t.w.tmp.path().join("stick");
        let source = t.w.summary.previous_key_pair_file.clone();
        let plan = plan(
            &t.w.store,
            &t.w.server,
            &source,
            &t.previous_bytes,
            &t.previous,
            &out,
        )
        .unwrap();
        assert!(matches!(plan.relation, ServerRelation::Previous { .. }));
        assert_ne!(plan.verdict, Verdict::SameAsCurrent);
        assert_eq!(plan.source_catalog, CatalogMatch::NotCertmend);
        assert_eq!(plan.files.len(), 5);
        let kit = write(
            &mut t.w.store,
            t.w.server.server_id,
            &plan,
            &t.previous_bytes,
            &t.previous,
            &t.password,
        )
        .unwrap();
        assert_eq!(server_files(&t.w), before, "the server folder changed");
        for f in &kit.files {
            assert_eq!(sha256_file(&f.path).unwrap().1, f.sha256);
        }
        // The kit holds a private key: its folder and files are the owner's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&kit.kit_folder), 0o700);
            for f in &kit.files {
                assert_eq!(mode(&f.path), 0o600, "{}", f.path.display());
            }
        }
        let pfx = keypair::read_pkcs12(&kit.kit_folder.join(KIT_PFX), &t.password).unwrap();
        assert_eq!(pfx.certificate().der(), t.previous.certificate().der());
        assert_eq!(
            fs::read(kit.kit_folder.join(KIT_CER)).unwrap(),
            t.previous.certificate().der()
        );
        let en = fs::read_to_string(kit.kit_folder.join(GUIDE_EN)).unwrap();
        assert!(en.contains(&plan.certificate.sha1_thumbprint) && en.contains("\r\n"));
        assert!(en.contains("Import an existing certificate"), "{en}");
        let ja = fs::read(kit.kit_folder.join(GUIDE_JA)).unwrap();
        assert_eq!(&ja[..3], &[0xEF, 0xBB, 0xBF]);
        let ja = String::from_utf8(ja[3..].to_vec()).unwrap();
        assert!(ja.contains("既存の証明書をインポートする"), "{ja}");
        // No staging folder left; the catalog has the kit.
        let left: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let rows = t.w.store.backups().unwrap();
        assert_eq!(rows[0].kind, "restore_kit");
        assert_eq!(rows[0].files.len(), 5);

        // Never over an existing kit.
        let again = super::plan(
            &t.w.store,
            &t.w.server,
            &source,
            &t.previous_bytes,
            &t.previous,
            &out,
        )
        .unwrap_err();
        assert_eq!(again.code(), "restore.kit_exists");
    }

    #[test]
    fn bytes_other_than_the_planned_ones_are_refused() {
        let mut t = world();
        let out = t.w.tmp.path().join("stick");
        let source = t.w.summary.previous_key_pair_file.clone();
        let plan = plan(
            &t.w.store,
            &t.w.server,
            &source,
            &t.previous_bytes,
            &t.previous,
            &out,
        )
        .unwrap();
        // The server's own pair, read from another file, under the same plan.
        let current_bytes = fs::read(&t.w.summary.key_pair_file).unwrap();
        let current =
            keypair::parse_pkcs12(&current_bytes, &t.password, &t.w.summary.key_pair_file).unwrap();
        let err = write(
            &mut t.w.store,
            t.w.server.server_id,
            &plan,
            &current_bytes,
            &current,
            &t.password,
        )
        .unwrap_err();
        assert_eq!(err.code(), "restore.source_changed", "{err}");
        assert!(!out.join(kit_folder_name(&plan.certificate)).exists());
    }

    #[test]
    fn the_verdict_follows_what_the_store_knows() {
        let t = world();
        let out = t.w.tmp.path().join("stick");
        let current_bytes = fs::read(&t.w.summary.key_pair_file).unwrap();
        let current =
            keypair::parse_pkcs12(&current_bytes, &t.password, &t.w.summary.key_pair_file).unwrap();
        let p = plan(
            &t.w.store,
            &t.w.server,
            &t.w.summary.key_pair_file,
            &current_bytes,
            &current,
            &out,
        )
        .unwrap();
        assert_eq!(p.verdict, Verdict::SameAsCurrent);
        assert_eq!(p.verdict_code, "restore.verdict.same_as_current");
        assert_eq!(spaced("AB12"), "ab 12");
    }
}
