//! Per-agent repair bundles written to a USB stick (or any folder).
//!
//! One folder per agent: `OfcNTCer.dat` (byte for byte the server's), the IpXfer
//! executables (or one shared copy in `tools\`), `repair.cmd`, `README.txt` and
//! `manifest.json`. Each bundle is written into a temporary folder on the target, every
//! file flushed, the manifest last, then renamed into place, so a half-written bundle
//! never looks complete; afterwards every file is read back and checked against the
//! manifest (sticks fail). A later export removes what an interrupted one left.

pub mod names;
pub mod verify;

pub use verify::{verify_target, Finding, TargetCheck};

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::fsutil::{drop_from_cache, find_child_ci, sha256_file, sha256_reader};
use crate::hexfmt::{sha256_hex, upper_hex};
use crate::inventory::RecordedServer;
use crate::ipxfer::{SyntaxChoice, SyntaxDecision};
use crate::progress::{Cancel, Progress};
use crate::script::{
    self, IpXferSyntax, Password, ScriptError, ScriptLanguage, ScriptOptions, ToolsLocation,
};
use crate::server::{ServerInstall, IPXFER, IPXFER_X64};
use crate::store::{BundleAgent, BundleFile, NewBundle, Store, StoreError};
use crate::ErrorCode;

/// Prefix of the temporary folders an export works in.
pub const TEMP_PREFIX: &str = ".certmend-tmp-";
pub const MANIFEST: &str = "manifest.json";
pub const SCRIPT: &str = "repair.cmd";
pub const README: &str = "README.txt";
pub const CERTIFICATE: &str = "OfcNTCer.dat";
pub const TOOLS_DIR: &str = "tools";
pub const RECEIPTS_DIR: &str = "receipts";
/// How a bundle's manifest (and the store) name a file in the shared `tools\`.
pub(crate) const TOOLS_PREFIX: &str = "..\\tools\\";
pub const MANIFEST_VERSION: u32 = 1;

/// Room each file may take beyond its size (a FAT32 cluster can be 32 KiB).
const PER_FILE_SLACK: u64 = 32 * 1024;

/// Which agents get a bundle.
#[derive(Debug, Clone)]
pub enum Selection {
    /// By name (every agent of the server with that name, any letter case).
    Agents(Vec<String>),
    /// Every agent of the server not yet `repaired` or `resolved`.
    AllMismatched,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub out_dir: PathBuf,
    pub selection: Selection,
    /// Take IpXfer.exe and IpXfer_x64.exe from here instead of the server.
    pub ipxfer_dir: Option<PathBuf>,
    pub shared_tools: bool,
    pub syntax: IpXferSyntax,
    pub language: ScriptLanguage,
    pub password: Password,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{}: the server's certificate cannot be read: {message}", path.display())]
    NoServerCertificate { path: PathBuf, message: String },
    #[error("{}: {name} not found; copy it from the server's PCCSRV\\Admin\\Utility\\IpXfer or give --ipxfer-dir", dir.display())]
    IpXferMissing { dir: PathBuf, name: &'static str },
    #[error("no agent of this server is named {}; import its list first (names are compared in any letter case)", names.join(", "))]
    UnknownAgents { names: Vec<String> },
    #[error("no agent to export: every agent of this server is repaired or resolved, or no list was imported")]
    NothingToExport,
    #[error("{}: not enough free space: the bundles need {needed} bytes, {available} are free; nothing was written", path.display())]
    NoSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: read back different from what was written (expected SHA-256 {expected}, found {found}); the stick may be failing", path.display())]
    Verify {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}: another export is writing to this folder now; wait for it to finish, then export again", path.display())]
    TargetBusy { path: PathBuf },
    #[error("{}: not a folder that can be read: {source}", path.display())]
    NoTarget {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    File(#[from] crate::untrusted::FileError),
    #[error("export cancelled after {done} of {total} bundles; the finished ones are complete and recorded")]
    Cancelled { done: usize, total: usize },
    /// A failure once the export had begun writing (a stick that fills up or is pulled
    /// out): the cause, and how far the export got — "no bundle was written" when it
    /// failed on the first one. Its code is the cause's.
    #[error("{source}; {}", how_far(*done, *total))]
    Stopped {
        done: usize,
        total: usize,
        #[source]
        source: Box<BundleError>,
    },
    #[error("{}: holds other IpXfer files, which {bundles} bundles on this target use; export to another folder, without --shared-tools, or every agent again", path.display())]
    SharedToolsInUse { path: PathBuf, bundles: usize },
    #[error(
        "the XG syntax needs {what}: give {option}, or the server's PCCSRV\\ofcscan.ini must have {key}{}{}",
        key_note(key),
        by_version.map(|why| format!("; the XG syntax is the default here because {why}; or choose the seed syntax")).unwrap_or_default()
    )]
    XgValueMissing {
        what: &'static str,
        option: &'static str,
        key: &'static str,
        /// Why the server's version made the XG syntax the default, when it did.
        by_version: Option<&'static str>,
    },
}

/// Master_DomainSSLPort is read for IpXfer's `-sp` because servers have it, but no
/// public Trend source documents it (Master_DomainName, Master_DomainPort and
/// Client_LocalServer_Port are documented `ofcscan.ini` keys).
fn key_note(key: &str) -> &'static str {
    if key == HTTPS_PORT_KEY {
        " (a key no public Trend source documents)"
    } else {
        ""
    }
}

/// The ofcscan.ini key read for the HTTPS port (`-sp`); see [`key_note`].
pub const HTTPS_PORT_KEY: &str = "Master_DomainSSLPort";

/// How far an export that stopped got, for [`BundleError::Stopped`].
fn how_far(done: usize, total: usize) -> String {
    if done == 0 {
        format!(
            "the export stopped before its first bundle was finished: no bundle was written \
             (the {total} agents have no bundle yet)"
        )
    } else {
        format!(
            "the export stopped after {done} of {total} bundles (those are complete, verified \
             and recorded; the other agents have no bundle yet)"
        )
    }
}

impl ErrorCode for BundleError {
    fn code(&self) -> &'static str {
        match self {
            BundleError::NoServerCertificate { .. } => "bundle.no_server_certificate",
            BundleError::IpXferMissing { .. } => "bundle.ipxfer_missing",
            BundleError::UnknownAgents { .. } => "bundle.unknown_agents",
            BundleError::NothingToExport => "bundle.nothing_to_export",
            BundleError::NoSpace { .. } => "bundle.no_space",
            BundleError::Write { .. } => "bundle.write",
            BundleError::Verify { .. } => "bundle.verify",
            BundleError::Script(e) => e.code(),
            BundleError::Store(e) => e.code(),
            BundleError::Cancelled { .. } => "bundle.cancelled",
            BundleError::TargetBusy { .. } => "bundle.target_busy",
            BundleError::NoTarget { .. } => "bundle.no_target",
            BundleError::File(e) => e.code(),
            BundleError::Stopped { source, .. } => source.code(),
            BundleError::XgValueMissing { .. } => "bundle.xg_value_missing",
            BundleError::SharedToolsInUse { .. } => "bundle.shared_tools_in_use",
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// A file of a bundle as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the bundle folder (`..\tools\IpXfer.exe` for shared tools).
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAgent {
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestServer {
    pub install_folder: String,
    pub certificate_subject: String,
    pub certificate_serial: String,
    pub certificate_sha1_thumbprint: String,
    pub certificate_sha256: String,
    pub certificate_not_after: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestOptions {
    pub ipxfer_syntax: IpXferSyntax,
    pub language: ScriptLanguage,
    pub shared_tools: bool,
    /// `prompt` or `embedded`; the password itself is never written here.
    pub password: String,
    /// Which IpXfer syntax and why (the server's version, or the admin's choice).
    /// Absent from manifests certmend wrote before it recorded this.
    #[serde(default)]
    pub ipxfer_choice: Option<SyntaxDecision>,
}

/// `manifest.json`: what a bundle holds and for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub bundle_id: String,
    pub agent: ManifestAgent,
    pub server: ManifestServer,
    pub files: Vec<ManifestFile>,
    pub options: ManifestOptions,
    pub created: String,
    pub certmend_version: String,
}

/// A bundle written and verified.
#[derive(Debug, Clone, Serialize)]
pub struct WrittenBundle {
    pub bundle_id: String,
    pub agent: BundleAgent,
    pub folder: PathBuf,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub out_dir: PathBuf,
    pub bundles: Vec<WrittenBundle>,
    /// Bytes written (and read back).
    pub bytes: u64,
    pub shared_tools: Option<PathBuf>,
    /// Temporary folders an interrupted export had left, now removed.
    pub removed_leftovers: Vec<PathBuf>,
    /// The scripts hold the agent unload password in plain text.
    pub password_embedded: bool,
    /// Which IpXfer syntax the scripts use and why.
    pub ipxfer: SyntaxDecision,
    /// The bundles already on the target, checked against what certmend wrote before
    /// this export began (None when the target was new): any PC the stick visited
    /// may have changed them.
    pub bundle_check: Option<TargetCheck>,
}

/// A source file to copy into bundles, hashed once.
struct Source {
    name: &'static str,
    path: PathBuf,
    size: u64,
    sha256: String,
}

impl Source {
    fn open(path: PathBuf, name: &'static str) -> Result<Self, BundleError> {
        let (size, sha256) = sha256_file(&path).map_err(|source| BundleError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            name,
            path,
            size,
            sha256,
        })
    }
}

fn locate_ipxfer(
    server: &RecordedServer,
    ipxfer_dir: Option<&Path>,
) -> Result<[Source; 2], BundleError> {
    let find = |spec: crate::server::KnownFileSpec| -> Result<Source, BundleError> {
        let (dir, path) = match ipxfer_dir {
            Some(dir) => (dir.to_path_buf(), find_child_ci(dir, spec.name)),
            None => (
                server
                    .report
                    .server
                    .install_folder
                    .join("PCCSRV\\Admin\\Utility\\IpXfer"),
                server.report.server.file(spec).and_then(|f| f.path.clone()),
            ),
        };
        match path.filter(|p| p.is_file()) {
            Some(path) => Source::open(path, spec.name),
            None => Err(BundleError::IpXferMissing {
                dir,
                name: spec.name,
            }),
        }
    };
    Ok([find(IPXFER)?, find(IPXFER_X64)?])
}

/// Values for IpXfer's XG / Apex One syntax; missing ones come from the server's
/// `PCCSRV\ofcscan.ini`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct XgValues {
    pub server: Option<String>,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub agent_port: Option<u16>,
}

/// What the server's `PCCSRV\ofcscan.ini` holds for the XG syntax: Master_DomainName
/// (`-s`), Master_DomainPort (`-p`), Master_DomainSSLPort (`-sp`, undocumented: see
/// [`HTTPS_PORT_KEY`]) and Client_LocalServer_Port (`-c`). A value that is missing or
/// unreadable stays `None`, to be asked for: never guessed.
pub fn xg_values_from_ini(server: &ServerInstall) -> XgValues {
    let ini = server
        .pccsrv_folder
        .as_ref()
        .and_then(|p| find_child_ci(p, "ofcscan.ini"))
        .and_then(|p| fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let ini_value = |key: &str| {
        ini.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    };
    let port = |key: &str| {
        ini_value(key)
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|p| *p != 0)
    };
    XgValues {
        server: ini_value("Master_DomainName"),
        http_port: port("Master_DomainPort"),
        https_port: port(HTTPS_PORT_KEY),
        agent_port: port("Client_LocalServer_Port"),
    }
}

/// Completes `given` from the server's ofcscan.ini ([`xg_values_from_ini`]); a value
/// found in neither is refused with the option that gives it.
pub fn xg_syntax(server: &RecordedServer, given: &XgValues) -> Result<IpXferSyntax, BundleError> {
    let ini = xg_values_from_ini(&server.report.server);
    let missing =
        |what: &'static str, option: &'static str, key: &'static str| BundleError::XgValueMissing {
            what,
            option,
            key,
            by_version: None,
        };
    Ok(IpXferSyntax::Xg {
        server: given
            .server
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or(ini.server)
            .ok_or(missing(
                "the server name",
                "--ipxfer-server",
                "Master_DomainName",
            ))?,
        http_port: given.http_port.or(ini.http_port).ok_or(missing(
            "the HTTP port",
            "--http-port",
            "Master_DomainPort",
        ))?,
        https_port: given.https_port.or(ini.https_port).ok_or(missing(
            "the HTTPS port",
            "--https-port",
            HTTPS_PORT_KEY,
        ))?,
        agent_port: given.agent_port.or(ini.agent_port).ok_or(missing(
            "the agent port",
            "--agent-port",
            "Client_LocalServer_Port",
        ))?,
    })
}

/// The syntax a front end asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyntaxRequest {
    /// What the server's version calls for ([`crate::ipxfer::default_syntax`]).
    #[default]
    Auto,
    Seed,
    Xg,
}

impl SyntaxRequest {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(SyntaxRequest::Auto),
            "seed" => Some(SyntaxRequest::Seed),
            "xg" => Some(SyntaxRequest::Xg),
            _ => None,
        }
    }
}

/// The IpXfer syntax for an export: the admin's, or under `Auto` the server version's;
/// the XG values completed as [`xg_syntax`] does. Under `Auto`, a missing value's error
/// also says why the XG syntax was the default.
pub fn choose_syntax(
    server: &RecordedServer,
    request: SyntaxRequest,
    given: &XgValues,
) -> Result<IpXferSyntax, BundleError> {
    let decision = SyntaxDecision::for_version(&server.report.server.version);
    let xg = match request {
        SyntaxRequest::Xg => true,
        SyntaxRequest::Seed => false,
        SyntaxRequest::Auto => decision.syntax == SyntaxChoice::Xg,
    };
    if !xg {
        return Ok(IpXferSyntax::Seed);
    }
    xg_syntax(server, given).map_err(|e| match e {
        BundleError::XgValueMissing {
            what, option, key, ..
        } if request == SyntaxRequest::Auto => BundleError::XgValueMissing {
            what,
            option,
            key,
            by_version: Some(decision.reason.explanation()),
        },
        e => e,
    })
}

/// What an export dialog starts from: the syntax the server's version calls for (and
/// why), and the XG values its ofcscan.ini holds (missing ones to be asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpXferDefaults {
    pub decision: SyntaxDecision,
    pub from_ini: XgValues,
    /// The ofcscan.ini key `from_ini.https_port` comes from, which no public source
    /// documents: the window says so next to the value.
    pub https_port_key: &'static str,
}

pub fn ipxfer_defaults(server: &ServerInstall) -> IpXferDefaults {
    IpXferDefaults {
        decision: SyntaxDecision::for_version(&server.version),
        from_ini: xg_values_from_ini(server),
        https_port_key: HTTPS_PORT_KEY,
    }
}

/// Removes temporary folders an interrupted export left in `out_dir`.
pub fn remove_leftovers(out_dir: &Path) -> Result<Vec<PathBuf>, BundleError> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(out_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(write_err(out_dir)(e)),
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(write_err(&path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Streams `from` into a new file `to`, flushed to the device; returns its SHA-256.
fn copy_file(from: &Path, to: &Path, cancel: &Cancel) -> Result<String, BundleError> {
    let mut reader = BufReader::with_capacity(
        256 * 1024,
        File::open(from).map_err(|source| BundleError::Write {
            path: from.to_path_buf(),
            source,
        })?,
    );
    let file = File::create(to).map_err(write_err(to))?;
    let mut writer = BufWriter::with_capacity(256 * 1024, file);
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if cancel.is_cancelled() {
            return Err(BundleError::Write {
                path: to.to_path_buf(),
                source: io::Error::new(io::ErrorKind::Interrupted, "cancelled"),
            });
        }
        let n = reader.read(&mut buf).map_err(|source| BundleError::Write {
            path: from.to_path_buf(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n]).map_err(write_err(to))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| write_err(to)(e.into_error()))?;
    file.sync_all().map_err(write_err(to))?;
    drop_from_cache(&file);
    Ok(upper_hex(&hasher.finalize()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let mut file = File::create(path).map_err(write_err(path))?;
    file.write_all(bytes).map_err(write_err(path))?;
    file.sync_all().map_err(write_err(path))?;
    drop_from_cache(&file);
    Ok(())
}

/// Makes a rename durable where the OS allows syncing a folder (not on Windows).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads a written file back (from the device: its pages were dropped after the flush)
/// and compares its SHA-256; then drops it again so thousands of bundles do not fill
/// the cache.
fn check_file(path: &Path, expected: &str) -> Result<(), BundleError> {
    let read_err = |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read_err)?;
    let (_, found) = sha256_reader(&mut file).map_err(read_err)?;
    drop_from_cache(&file);
    if found != expected {
        return Err(BundleError::Verify {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// README.txt: what to do, in Japanese and English; UTF-8 with a BOM so Notepad shows it.
fn readme(agent: &BundleAgent, server: &ManifestServer, options: &ExportOptions) -> Vec<u8> {
    let embedded = matches!(options.password, Password::Embedded(_));
    let mut t = String::from("\u{FEFF}");
    let mut line = |s: &str| {
        t.push_str(s);
        t.push_str("\r\n");
    };
    line("certmend repair bundle / certmend 修復バンドル");
    line("=============================================");
    line(&format!("Agent / エージェント: {}", agent.name));
    line(&format!(
        "Server certificate / サーバー証明書: {} (SHA-1 {})",
        server.certificate_subject, server.certificate_sha1_thumbprint
    ));
    line("");
    line("[English]");
    line("1. On this agent computer, right-click repair.cmd and choose \"Run as administrator\".");
    line("2. If asked, type the agent unload password (press Enter if there is none).");
    line("3. The script puts the server certificate on the agent with Trend Micro's IpXfer,");
    line(
        "   checks the result itself, and writes a receipt into the receipts folder of this stick.",
    );
    line("4. If it reports a failure, reinstall the agent on this computer.");
    line("5. Bring the stick back and read the receipts with certmend.");
    line("To only check this agent without changing anything: repair.cmd /check");
    line("Not repaired here: the agent's second certificate, \"OfficeScan SSL Agent\"");
    line("(ofcsslagent), derived from the server's and refreshed separately (Trend KB 000155981).");
    if embedded {
        line("WARNING: repair.cmd contains the agent unload password in plain text.");
        line("Keep this stick safe and delete the bundles when the repair is done.");
    }
    line("This stick can be written to by every PC it visits. repair.cmd checks IpXfer and");
    line("OfcNTCer.dat against the SHA-256 written into it, copies them into a new folder only");
    line("administrators can write and runs IpXfer from there; if anything differs it runs");
    line("nothing (BUNDLE_TAMPERED). On another computer than this bundle's agent it changes");
    line("nothing (WRONG_COMPUTER). repair.cmd itself can be changed as well: check the stick");
    line("with certmend (Verify bundles, or certmend bundle verify) before each round, and if");
    line("anything is reported, do not run the bundles: export again to an emptied stick.");
    line("");
    line("[日本語]");
    line("1. このエージェントのコンピューターで repair.cmd を右クリックし「管理者として実行」を選びます。");
    line("2. 求められたらエージェントのアンロードパスワードを入力します (ない場合は Enter)。");
    line("3. スクリプトは Trend Micro の IpXfer でサーバー証明書をエージェントに配置し、結果を自分で確認して、");
    line("   このメモリの receipts フォルダに受領記録を書き込みます。");
    line(
        "4. 失敗と表示された場合は、このコンピューターのエージェントを再インストールしてください。",
    );
    line("5. メモリを持ち帰り、certmend で受領記録を読み込みます。");
    line("変更せずに確認だけする場合: repair.cmd /check");
    line("ここでは修復しないもの: エージェントの2つ目の証明書「OfficeScan SSL Agent」(ofcsslagent)。");
    line("サーバーの証明書から作られ、別に更新されます (Trend KB 000155981)。");
    if embedded {
        line("警告: repair.cmd にはエージェントのアンロードパスワードが平文で含まれています。");
        line("このメモリを安全に保管し、修復が終わったらバンドルを削除してください。");
    }
    line("このメモリは、差し込んだすべての PC から書き込めます。repair.cmd は IpXfer と OfcNTCer.dat を");
    line("自身に書き込まれた SHA-256 と照合し、管理者だけが書き込める新しいフォルダにコピーして、そこから");
    line("IpXfer を実行します。違いがあれば何も実行しません (BUNDLE_TAMPERED)。このバンドルのエージェント");
    line("以外のコンピューターでは何も変更しません (WRONG_COMPUTER)。repair.cmd 自体も書き換えられ得るため、");
    line("作業の前ごとに certmend でメモリを確認してください (バンドルを検証、または certmend bundle verify)。");
    line("何か報告されたら、そのバンドルは実行せず、空にしたメモリにもう一度出力してください。");
    t.into_bytes()
}

fn new_bundle_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: fall back to time and a counter (ids must only be distinct).
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
}

/// Everything an export needs, checked, with nothing written yet.
struct Prepared {
    out_dir: PathBuf,
    cert_bytes: Vec<u8>,
    cert_sha256: String,
    manifest_server: ManifestServer,
    tools: [Source; 2],
    tools_bytes: u64,
    agents: Vec<BundleAgent>,
    tools_location: ToolsLocation,
    manifest_options: ManifestOptions,
    ipxfer: SyntaxDecision,
    /// Bytes the bundles take on the target, with room for cluster slack.
    needed: u64,
    /// Bytes of the files themselves (what progress counts), README and manifest
    /// estimated.
    to_write: u64,
    /// Free bytes on the target (the nearest folder of it that exists).
    available: u64,
}

fn prepare(
    store: &Store,
    server: &RecordedServer,
    options: &ExportOptions,
) -> Result<Prepared, BundleError> {
    // Everything is checked before anything is written.
    let install = &server.report.server.install_folder;
    let cert_path = server
        .report
        .server
        .certificate_path()
        .map(Path::to_path_buf)
        .ok_or_else(|| BundleError::NoServerCertificate {
            path: install.clone(),
            message: "OfcNTCer.dat is missing".into(),
        })?;
    let certificate =
        server
            .certificate
            .as_ref()
            .ok_or_else(|| BundleError::NoServerCertificate {
                path: cert_path.clone(),
                message: server.certificate_problem(),
            })?;
    let cert_bytes = fs::read(&cert_path).map_err(|source| BundleError::Write {
        path: cert_path.clone(),
        source,
    })?;
    let cert_sha256 = sha256_hex(&cert_bytes);
    let info = certificate.info();
    let manifest_server = ManifestServer {
        install_folder: install.to_string_lossy().into_owned(),
        certificate_subject: info.subject.clone(),
        certificate_serial: info.serial.clone(),
        certificate_sha1_thumbprint: info.sha1_thumbprint.clone(),
        certificate_sha256: cert_sha256.clone(),
        certificate_not_after: info.not_after.clone(),
    };
    let tools = locate_ipxfer(server, options.ipxfer_dir.as_deref())?;
    let names = match &options.selection {
        Selection::Agents(names) => Some(names.as_slice()),
        Selection::AllMismatched => None,
    };
    let (agents, unknown) = store.agents_for_export(server.server_id, names)?;
    if !unknown.is_empty() {
        return Err(BundleError::UnknownAgents { names: unknown });
    }
    if agents.is_empty() {
        return Err(BundleError::NothingToExport);
    }
    let tools_location = if options.shared_tools {
        ToolsLocation::Shared
    } else {
        ToolsLocation::InBundle
    };
    let ipxfer = SyntaxDecision::for_version(&server.report.server.version)
        .with_syntax(SyntaxChoice::of(&options.syntax));
    let manifest_options = ManifestOptions {
        ipxfer_syntax: options.syntax.clone(),
        language: options.language,
        shared_tools: options.shared_tools,
        password: match options.password {
            Password::Prompt => "prompt".into(),
            Password::Embedded(_) => "embedded".into(),
        },
        ipxfer_choice: Some(ipxfer.clone()),
    };
    // The script differs between bundles only by id; render one to size them all and
    // to find script errors (a bad password, a bad server name) before writing.
    // The longest name and GUID a script can hold, so the size is an upper bound.
    let probe = script::render(&ScriptOptions {
        bundle_id: "0".repeat(32),
        certificate_sha256: cert_sha256.clone(),
        certificate_sha1_thumbprint: info.sha1_thumbprint.clone(),
        ipxfer_sha256: tools[0].sha256.clone(),
        ipxfer_x64_sha256: tools[1].sha256.clone(),
        agent_name: "X".repeat(15),
        agent_guid: Some("00000000-0000-0000-0000-000000000000".into()),
        syntax: options.syntax.clone(),
        language: options.language,
        tools: tools_location,
        password: options.password.clone(),
    })?;

    let out_dir = std::path::absolute(&options.out_dir).unwrap_or_else(|_| options.out_dir.clone());

    let tools_bytes: u64 = tools.iter().map(|t| t.size).sum();
    let per_bundle = cert_bytes.len() as u64
        + probe.len() as u64
        + 8 * 1024 // README.txt
        + 4 * 1024 // manifest.json
        + if options.shared_tools { 0 } else { tools_bytes }
        + 5 * PER_FILE_SLACK;
    let needed = per_bundle * agents.len() as u64
        + if options.shared_tools {
            tools_bytes + 2 * PER_FILE_SLACK
        } else {
            0
        };
    let per_bundle_files = cert_bytes.len() as u64
        + probe.len() as u64
        + 4 * 1024 // README.txt, about
        + 2 * 1024 // manifest.json, about
        + if options.shared_tools { 0 } else { tools_bytes };
    let to_write =
        per_bundle_files * agents.len() as u64 + if options.shared_tools { tools_bytes } else { 0 };
    // Measured on the nearest folder that exists: nothing is created before this check.
    let existing = out_dir
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(&out_dir)
        .to_path_buf();
    let available = fs4::available_space(&existing).map_err(write_err(&existing))?;
    Ok(Prepared {
        out_dir,
        cert_bytes,
        cert_sha256,
        manifest_server,
        tools,
        tools_bytes,
        agents,
        tools_location,
        manifest_options,
        ipxfer,
        needed,
        to_write,
        available,
    })
}

/// What an export would write, for the window's export dialog.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub out_dir: PathBuf,
    pub bundles: usize,
    /// Bytes the bundles take on the target, with room for cluster slack.
    pub bytes_needed: u64,
    pub bytes_available: u64,
    pub fits: bool,
    /// Which IpXfer syntax the scripts would use and why.
    pub ipxfer: SyntaxDecision,
}

/// Checks an export's options and sizes it, writing nothing.
pub fn estimate(
    store: &Store,
    server: &RecordedServer,
    options: &ExportOptions,
) -> Result<Estimate, BundleError> {
    let p = prepare(store, server, options)?;
    Ok(Estimate {
        out_dir: p.out_dir,
        bundles: p.agents.len(),
        bytes_needed: p.needed,
        bytes_available: p.available,
        fits: p.needed <= p.available,
        ipxfer: p.ipxfer,
    })
}

/// Held while an export writes to a folder. A second export to the same folder (the app
/// and the CLI, say) would take the first one's temporary bundle folders for leftovers
/// of a killed run and remove them: it is refused instead. The lock files live beside
/// the database (`<database>-export-locks/`, one per target; the stick gets no extra
/// file); the OS releases a lock when its process ends, however it ends.
fn lock_target(store: &Store, out_dir: &Path) -> Result<File, BundleError> {
    // Beside the database like SQLite's own -wal and -shm files.
    let mut dir = store.path().as_os_str().to_owned();
    dir.push("-export-locks");
    let dir = PathBuf::from(dir);
    fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    // Lower-cased: on Windows E:\Repair and e:\repair are one folder (elsewhere two
    // folders differing only in case merely share a lock).
    let key = out_dir.to_string_lossy().to_lowercase();
    let path = dir.join(format!("{}.lock", &sha256_hex(key.as_bytes())[..16]));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(write_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(BundleError::TargetBusy {
            path: out_dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(write_err(&path)(e)),
    }
}

/// Writes bundles for the selected agents of `server` into `options.out_dir`.
pub fn export(
    store: &mut Store,
    server: &RecordedServer,
    options: &ExportOptions,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<ExportReport, BundleError> {
    // Everything is checked before anything is written; leftovers of an interrupted
    // export are removed first, as they count against the free space.
    let out_dir = std::path::absolute(&options.out_dir).unwrap_or_else(|_| options.out_dir.clone());
    let _lock = lock_target(store, &out_dir)?;
    let removed_leftovers = remove_leftovers(&out_dir)?;
    // What earlier exports left on the target, checked before anything is replaced.
    let bundle_check = if out_dir.is_dir() {
        Some(verify_target(store, &out_dir)?)
    } else {
        None
    };
    let Prepared {
        out_dir,
        cert_bytes,
        cert_sha256,
        manifest_server,
        tools,
        tools_bytes,
        agents,
        tools_location,
        manifest_options,
        ipxfer,
        needed,
        to_write,
        available,
    } = prepare(store, server, options)?;
    if needed > available {
        return Err(BundleError::NoSpace {
            path: out_dir,
            needed,
            available,
        });
    }

    // Names already on the target are never given to another agent; an agent's own
    // earlier bundle folder is reused (its bundle superseded in place).
    let on_target = bundles_on_target(&out_dir, store)?;
    let mut folder_names = names::FolderNames::new();
    for entry in &on_target {
        folder_names.take(&entry.name);
    }
    let mut reused = vec![false; on_target.len()];
    let folders: Vec<String> = agents
        .iter()
        .map(|agent| {
            let own = on_target
                .iter()
                .enumerate()
                .find(|(k, e)| !reused[*k] && e.agent_id == Some(agent.id));
            match own {
                Some((k, e)) => {
                    reused[k] = true;
                    e.name.clone()
                }
                None => folder_names.assign(&agent.name),
            }
        })
        .collect();
    // New IpXfer files in tools\ would break the bundles that stay and use the old ones.
    if options.shared_tools && !shared_tools_current(&out_dir, &tools) {
        let users = on_target
            .iter()
            .zip(&reused)
            .filter(|(e, replaced)| e.uses_shared_tools && !**replaced)
            .count();
        if users > 0 {
            return Err(BundleError::SharedToolsInUse {
                path: out_dir.join(TOOLS_DIR),
                bundles: users,
            });
        }
    }
    fs::create_dir_all(&out_dir).map_err(write_err(&out_dir))?;

    let mut bytes_done = 0u64;
    let mut total_bytes = to_write;
    let shared_tools = if options.shared_tools {
        let dir = write_shared_tools(&out_dir, &tools, cancel)?;
        bytes_done += tools_bytes;
        progress.update(bytes_done, total_bytes);
        Some(dir)
    } else {
        None
    };

    let source = BundleSource {
        out_dir: &out_dir,
        cert_bytes: &cert_bytes,
        cert_sha256: &cert_sha256,
        tools: &tools,
        server: &manifest_server,
        manifest_options: &manifest_options,
        options,
        tools_location,
        cancel,
    };
    let mut written = Vec::new();
    let total = agents.len();
    let mut result = Ok(());
    for (i, agent) in agents.iter().enumerate() {
        if cancel.is_cancelled() {
            result = Err(BundleError::Cancelled { done: i, total });
            break;
        }
        let folder_name = &folders[i];
        let bundle_id = new_bundle_id();
        let outcome = write_bundle(&source, folder_name, &bundle_id, agent);
        match outcome {
            Ok(Staged { bundle, tmp }) => {
                // Recorded before it takes its name: whenever the export stops, every
                // bundle on the target is known, so its receipts count. (Stopped in
                // between, a record points to a bundle that never arrived; the next
                // export supersedes it.)
                let placed = store
                    .record_bundle(
                        server.server_id,
                        &out_dir,
                        &NewBundle {
                            id: bundle.bundle_id.clone(),
                            agent_id: agent.id,
                            certificate_sha256: cert_sha256.clone(),
                            folder: folder_name.clone(),
                            options: serde_json::to_value(&manifest_options).unwrap_or_default(),
                            files: bundle
                                .files
                                .iter()
                                .map(|f| BundleFile {
                                    name: f.name.clone(),
                                    size: f.size,
                                    sha256: f.sha256.clone(),
                                })
                                .collect(),
                        },
                    )
                    .map_err(BundleError::from)
                    .and_then(|()| replace_dir(&tmp, &bundle.folder, &out_dir));
                if let Err(e) = placed {
                    let _ = fs::remove_dir_all(&tmp);
                    result = Err(e);
                    break;
                }
                bytes_done += bundle.files.iter().map(|f| f.size).sum::<u64>();
                // README and manifest sizes were estimated: never past the end, and
                // exactly at the end after the last bundle.
                total_bytes = if i + 1 == total {
                    bytes_done
                } else {
                    total_bytes.max(bytes_done + 1)
                };
                progress.update(bytes_done, total_bytes);
                progress.item(i as u64 + 1, total as u64);
                written.push(bundle);
            }
            Err(BundleError::Write { source, .. })
                if source.kind() == io::ErrorKind::Interrupted && cancel.is_cancelled() =>
            {
                let _ = remove_leftovers(&out_dir);
                result = Err(BundleError::Cancelled { done: i, total });
                break;
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if !written.is_empty() {
        store.log_event(
            "bundles.exported",
            Some(server.server_id),
            Some(&out_dir.to_string_lossy()),
            &serde_json::json!({ "bundles": written.len(), "of": total }),
        )?;
    }
    result.map_err(|e| match e {
        BundleError::Cancelled { .. } => e,
        _ => BundleError::Stopped {
            done: written.len(),
            total,
            source: Box::new(e),
        },
    })?;
    Ok(ExportReport {
        out_dir,
        bytes: written
            .iter()
            .flat_map(|b| b.files.iter())
            .map(|f| f.size)
            .sum::<u64>()
            + if options.shared_tools { tools_bytes } else { 0 },
        bundles: written,
        shared_tools,
        removed_leftovers,
        password_embedded: matches!(options.password, Password::Embedded(_)),
        ipxfer,
        bundle_check,
    })
}

/// A folder or file already in the output folder.
struct OnTarget {
    name: String,
    /// The agent whose recorded bundle it holds, if this database knows it.
    agent_id: Option<i64>,
    /// Its manifest lists files in the shared `tools\`.
    uses_shared_tools: bool,
}

/// What is already in `out_dir` (certmend's own `tools` and `receipts` and temporary
/// folders aside): every name is taken; bundle folders say whose they are.
fn bundles_on_target(out_dir: &Path, store: &Store) -> Result<Vec<OnTarget>, BundleError> {
    let entries = match fs::read_dir(out_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(write_err(out_dir)(e)),
    };
    let shared_prefix = format!("..\\{TOOLS_DIR}\\");
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(write_err(out_dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(TEMP_PREFIX)
            || [TOOLS_DIR, RECEIPTS_DIR]
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(&name))
        {
            continue;
        }
        // Read as any stick file: never through a link, within the cap.
        let manifest = crate::untrusted::read(
            &entry.path().join(MANIFEST),
            crate::untrusted::Kind::Manifest,
        )
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok());
        let agent_id = match &manifest {
            Some(m) => store.bundle(&m.bundle_id)?.map(|b| b.agent_id),
            None => None,
        };
        found.push(OnTarget {
            name,
            agent_id,
            uses_shared_tools: manifest
                .is_some_and(|m| m.files.iter().any(|f| f.name.starts_with(&shared_prefix))),
        });
    }
    Ok(found)
}

/// `tools\` already holds exactly these IpXfer files (regular files, not links).
fn shared_tools_current(out_dir: &Path, tools: &[Source; 2]) -> bool {
    let dir = out_dir.join(TOOLS_DIR);
    !crate::untrusted::is_link(&dir)
        && tools.iter().all(|t| {
            let path = dir.join(t.name);
            !crate::untrusted::is_link(&path)
                && matches!(sha256_file(&path), Ok((_, h)) if h == t.sha256)
        })
}

/// `tools\` at the output root, replaced atomically when its content differs.
fn write_shared_tools(
    out_dir: &Path,
    tools: &[Source; 2],
    cancel: &Cancel,
) -> Result<PathBuf, BundleError> {
    let final_dir = out_dir.join(TOOLS_DIR);
    if shared_tools_current(out_dir, tools) {
        return Ok(final_dir);
    }
    let tmp = out_dir.join(format!("{TEMP_PREFIX}tools-{}", new_bundle_id()));
    fs::create_dir(&tmp).map_err(write_err(&tmp))?;
    for t in tools {
        let to = tmp.join(t.name);
        copy_file(&t.path, &to, cancel)?;
        check_file(&to, &t.sha256)?;
    }
    replace_dir(&tmp, &final_dir, out_dir)?;
    for t in tools {
        check_file(&final_dir.join(t.name), &t.sha256)?;
    }
    Ok(final_dir)
}

/// Moves `tmp` to `final_dir`, setting any earlier `final_dir` aside first (a folder
/// cannot be renamed onto an existing one on Windows).
fn replace_dir(tmp: &Path, final_dir: &Path, out_dir: &Path) -> Result<(), BundleError> {
    let old = if final_dir.exists() {
        let aside = out_dir.join(format!("{TEMP_PREFIX}old-{}", new_bundle_id()));
        fs::rename(final_dir, &aside).map_err(write_err(final_dir))?;
        Some(aside)
    } else {
        None
    };
    fs::rename(tmp, final_dir).map_err(write_err(final_dir))?;
    sync_dir(out_dir);
    if let Some(old) = old {
        fs::remove_dir_all(&old).map_err(write_err(&old))?;
    }
    Ok(())
}

/// What every bundle of one export shares.
#[derive(Clone, Copy)]
struct BundleSource<'a> {
    out_dir: &'a Path,
    cert_bytes: &'a [u8],
    cert_sha256: &'a str,
    tools: &'a [Source; 2],
    server: &'a ManifestServer,
    manifest_options: &'a ManifestOptions,
    options: &'a ExportOptions,
    tools_location: ToolsLocation,
    cancel: &'a Cancel,
}

fn write_bundle(
    source: &BundleSource<'_>,
    folder_name: &str,
    bundle_id: &str,
    agent: &BundleAgent,
) -> Result<Staged, BundleError> {
    let out_dir = source.out_dir;
    let tmp = out_dir.join(format!("{TEMP_PREFIX}{bundle_id}"));
    fs::create_dir(&tmp).map_err(write_err(&tmp))?;
    let staged = stage_bundle(source, &tmp, folder_name, bundle_id, agent);
    // A bundle that cannot be finished (a stick that fills up, fails or is pulled out)
    // leaves no half-written folder behind.
    if staged.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    staged
}

/// Writes and reads back every file of a bundle in `tmp`; [`write_bundle`] removes
/// `tmp` when this fails.
fn stage_bundle(
    source: &BundleSource<'_>,
    tmp: &Path,
    folder_name: &str,
    bundle_id: &str,
    agent: &BundleAgent,
) -> Result<Staged, BundleError> {
    let BundleSource {
        out_dir,
        cert_bytes,
        cert_sha256,
        tools,
        server,
        manifest_options,
        options,
        tools_location,
        cancel,
    } = *source;
    let mut files = Vec::new();

    write_file(&tmp.join(CERTIFICATE), cert_bytes)?;
    files.push(ManifestFile {
        name: CERTIFICATE.into(),
        size: cert_bytes.len() as u64,
        sha256: cert_sha256.to_string(),
    });
    for t in tools {
        if options.shared_tools {
            files.push(ManifestFile {
                name: format!("..\\{TOOLS_DIR}\\{}", t.name),
                size: t.size,
                sha256: t.sha256.clone(),
            });
        } else {
            let to = tmp.join(t.name);
            let sha256 = copy_file(&t.path, &to, cancel)?;
            if sha256 != t.sha256 {
                return Err(BundleError::Verify {
                    path: t.path.clone(),
                    expected: t.sha256.clone(),
                    found: sha256,
                });
            }
            files.push(ManifestFile {
                name: t.name.into(),
                size: t.size,
                sha256,
            });
        }
    }
    let script = script::render(&ScriptOptions {
        bundle_id: bundle_id.to_string(),
        certificate_sha256: cert_sha256.to_string(),
        certificate_sha1_thumbprint: server.certificate_sha1_thumbprint.clone(),
        ipxfer_sha256: tools[0].sha256.clone(),
        ipxfer_x64_sha256: tools[1].sha256.clone(),
        agent_name: agent.name.clone(),
        agent_guid: agent.guid.clone(),
        syntax: options.syntax.clone(),
        language: options.language,
        tools: tools_location,
        password: options.password.clone(),
    })?;
    write_file(&tmp.join(SCRIPT), &script)?;
    files.push(ManifestFile {
        name: SCRIPT.into(),
        size: script.len() as u64,
        sha256: sha256_hex(&script),
    });
    let readme = readme(agent, server, options);
    write_file(&tmp.join(README), &readme)?;
    files.push(ManifestFile {
        name: README.into(),
        size: readme.len() as u64,
        sha256: sha256_hex(&readme),
    });

    let manifest = Manifest {
        format_version: MANIFEST_VERSION,
        bundle_id: bundle_id.to_string(),
        agent: ManifestAgent {
            name: agent.name.clone(),
            ip: agent.ip.clone(),
            domain: agent.domain.clone(),
            guid: agent.guid.clone(),
        },
        server: server.clone(),
        files: files.clone(),
        options: manifest_options.clone(),
        created: crate::store::now_text(),
        certmend_version: env!("CARGO_PKG_VERSION").into(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Write {
        path: tmp.join(MANIFEST),
        source: io::Error::other(e),
    })?;
    // The manifest last: a folder with a manifest has every other file complete.
    write_file(&tmp.join(MANIFEST), &manifest_bytes)?;
    sync_dir(tmp);

    // Read everything back from the stick before the bundle takes its name, so a
    // folder with that name is always complete and checked.
    let read_back = files
        .iter()
        .map(|f| {
            let path = if f.name.starts_with("..\\") {
                out_dir
                    .join(TOOLS_DIR)
                    .join(f.name.rsplit('\\').next().unwrap_or(&f.name))
            } else {
                tmp.join(&f.name)
            };
            (path, f.sha256.clone())
        })
        .chain([(tmp.join(MANIFEST), sha256_hex(&manifest_bytes))])
        .try_for_each(|(path, sha256)| check_file(&path, &sha256));
    read_back?;
    files.push(ManifestFile {
        name: MANIFEST.into(),
        size: manifest_bytes.len() as u64,
        sha256: sha256_hex(&manifest_bytes),
    });
    Ok(Staged {
        bundle: WrittenBundle {
            bundle_id: bundle_id.to_string(),
            agent: agent.clone(),
            folder: out_dir.join(folder_name),
            files,
        },
        tmp: tmp.to_path_buf(),
    })
}

/// A bundle written and read back in its temporary folder, not yet in place.
struct Staged {
    /// `folder` is where it goes.
    bundle: WrittenBundle,
    tmp: PathBuf,
}

/// Reads and checks a bundle folder: its manifest parses and every file matches it.
/// The folder's own manifest vouches for nothing on a stick others can write to: see
/// [`verify_target`] for the check against what certmend recorded.
pub fn verify_bundle(folder: &Path) -> Result<Manifest, BundleError> {
    let manifest_path = folder.join(MANIFEST);
    let bytes = crate::untrusted::read(&manifest_path, crate::untrusted::Kind::Manifest)?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| BundleError::Write {
        path: manifest_path.clone(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })?;
    for f in &manifest.files {
        let Some(path) = manifest_file_path(folder, &f.name) else {
            return Err(BundleError::Write {
                path: manifest_path,
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the manifest names an unexpected file {:?}", f.name),
                ),
            });
        };
        if crate::untrusted::is_link(&path) {
            return Err(crate::untrusted::FileError::Link { path }.into());
        }
        check_file(&path, &f.sha256)?;
    }
    Ok(manifest)
}

/// Where a file a manifest names lives, or `None` for a name certmend never writes.
/// A manifest on a stick is untrusted: only the names certmend writes are followed
/// (public for the fuzz targets).
#[doc(hidden)]
pub fn manifest_file_path(folder: &Path, name: &str) -> Option<PathBuf> {
    let shared = name.strip_prefix(&format!("..\\{TOOLS_DIR}\\"));
    match shared {
        Some(tool) if [IPXFER.name, IPXFER_X64.name].contains(&tool) => {
            Some(folder.parent().unwrap_or(folder).join(TOOLS_DIR).join(tool))
        }
        None if [CERTIFICATE, SCRIPT, README, IPXFER.name, IPXFER_X64.name].contains(&name) => {
            Some(folder.join(name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Exported {
        _tmp: tempfile::TempDir,
        report: ExportReport,
    }

    /// Remembers every progress report.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<(u64, u64)>>);

    impl Progress for Recorded {
        fn update(&self, done: u64, total: u64) {
            self.0.lock().unwrap().push((done, total));
        }
    }

    /// A failure while the first bundle is written must say so, not leave the admin
    /// to guess whether anything on the stick is usable.
    #[test]
    fn a_stopped_export_says_how_far_it_got_even_before_the_first_bundle() {
        let cause = || {
            Box::new(BundleError::Write {
                path: PathBuf::from("/media/stick/PC-1"),
                source: io::Error::other("No space left on device"),
            })
        };
        let first = BundleError::Stopped {
            done: 0,
            total: 40,
            source: cause(),
        };
        assert_eq!(first.code(), "bundle.write");
        let text = first.to_string();
        assert!(text.starts_with("/media/stick/PC-1: cannot write: No space left on device; "));
        assert!(text.contains("no bundle was written"), "{text}");
        let later = BundleError::Stopped {
            done: 3,
            total: 40,
            source: cause(),
        };
        assert!(
            later
                .to_string()
                .contains("the export stopped after 3 of 40 bundles"),
            "{later}"
        );
    }

    fn export_demo(shared_tools: bool) -> Exported {
        let progress = Recorded::default();
        let crate::testutil::DemoWorld {
            tmp,
            mut store,
            server,
            ..
        } = crate::testutil::demo_world(9, true);
        let report = export(
            &mut store,
            &server,
            &ExportOptions {
                out_dir: tmp.path().join("stick"),
                selection: Selection::Agents(vec!["PC-ACCT-017".into(), "pc-dev-024".into()]),
                ipxfer_dir: None,
                shared_tools,
                syntax: IpXferSyntax::Seed,
                language: ScriptLanguage::En,
                password: Password::Prompt,
            },
            &progress,
            &Cancel::new(),
        )
        .unwrap();
        // Bytes reported only grow, never pass the total, and end exactly at it.
        let updates = progress.0.into_inner().unwrap();
        assert!(updates.windows(2).all(|w| w[0].0 <= w[1].0), "{updates:?}");
        assert!(
            updates.iter().all(|(done, total)| done <= total),
            "{updates:?}"
        );
        let (done, total) = *updates.last().unwrap();
        assert_eq!(done, total);
        assert_eq!(done, report.bytes);
        Exported { _tmp: tmp, report }
    }

    /// The read-back must come from the device, not from what the OS still holds in
    /// memory: after an export no page of a written file is cached (fincore, util-linux).
    #[cfg(target_os = "linux")]
    #[test]
    fn written_files_are_read_back_from_the_device() {
        let e = export_demo(false);
        // tmpfs keeps files only in the page cache: nothing to drop there.
        let fs_type = std::process::Command::new("stat")
            .args(["-f", "-c", "%T"])
            .arg(&e.report.out_dir)
            .output()
            .unwrap();
        if String::from_utf8_lossy(&fs_type.stdout).trim() == "tmpfs" {
            eprintln!("skipped: the temporary folder is on tmpfs");
            return;
        }
        let mut checked = 0;
        for bundle in &e.report.bundles {
            for f in &bundle.files {
                let path = bundle.folder.join(&f.name);
                let out = std::process::Command::new("fincore")
                    .args(["--bytes", "--noheadings", "--output", "RES"])
                    .arg(&path)
                    .output()
                    .expect("fincore (util-linux)");
                assert!(out.status.success(), "fincore {}", path.display());
                let resident = String::from_utf8_lossy(&out.stdout).trim().to_string();
                assert_eq!(resident, "0", "{} still cached", path.display());
                checked += 1;
            }
        }
        assert_eq!(checked, 2 * 6);
    }

    #[test]
    fn verify_catches_a_changed_byte_and_a_manifest_pointing_elsewhere() {
        let e = export_demo(true);
        let folder = &e.report.bundles[0].folder;
        let manifest = verify_bundle(folder).unwrap();
        assert_eq!(manifest.agent.name, "PC-ACCT-017");
        assert_eq!(manifest.files.len(), 5, "{:?}", manifest.files);
        assert!(manifest
            .files
            .iter()
            .any(|f| f.name == "..\\tools\\IpXfer_x64.exe"));

        // A stick that lost a bit.
        let cert = folder.join(CERTIFICATE);
        let mut bytes = fs::read(&cert).unwrap();
        bytes[100] ^= 1;
        fs::write(&cert, &bytes).unwrap();
        let err = verify_bundle(folder).unwrap_err();
        assert_eq!(err.code(), "bundle.verify");
        assert!(err.to_string().contains("OfcNTCer.dat"), "{err}");

        // A manifest is untrusted: it cannot send the check outside the bundle.
        let other = &e.report.bundles[1].folder;
        let path = other.join(MANIFEST);
        let mut m: Manifest = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        m.files[0].name = "..\\..\\drive\\secret.txt".into();
        fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        let err = verify_bundle(other).unwrap_err();
        assert!(err.to_string().contains("unexpected file"), "{err}");
    }

    #[test]
    fn shared_tools_are_written_once_at_the_root() {
        let e = export_demo(true);
        let first: Vec<_> = e.report.bundles.iter().map(|b| &b.bundle_id).collect();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1]);
        let stick = &e.report.out_dir;
        let mut names: Vec<_> = fs::read_dir(stick)
            .unwrap()
            .map(|d| d.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["PC-ACCT-017", "PC-DEV-024", "tools"]);
        for b in &e.report.bundles {
            assert!(!b.folder.join(IPXFER.name).exists());
        }
    }

    /// A bundle whose files cannot all be written (here an IpXfer "file" that cannot be
    /// read; on a real stick: full, failing, pulled out) leaves no temporary folder.
    #[test]
    fn a_second_export_to_the_same_folder_is_refused_while_one_runs() {
        let crate::testutil::DemoWorld {
            tmp,
            mut store,
            server,
            ..
        } = crate::testutil::demo_world(9, true);
        let out = tmp.path().join("stick");
        let options = ExportOptions {
            out_dir: out.clone(),
            selection: Selection::AllMismatched,
            ipxfer_dir: None,
            shared_tools: false,
            syntax: IpXferSyntax::Seed,
            language: ScriptLanguage::En,
            password: Password::Prompt,
        };
        // Another export holds the folder (in this process here; the lock is the OS's).
        let running = lock_target(&store, &out).unwrap();
        let err = export(
            &mut store,
            &server,
            &options,
            &crate::progress::NoProgress,
            &Cancel::new(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "bundle.target_busy", "{err}");
        assert!(
            err.to_string().contains(&out.display().to_string()),
            "{err}"
        );
        assert!(!out.exists(), "nothing written");
        // The same folder named differently (letter case) is the same target.
        let upper = PathBuf::from(out.to_string_lossy().to_uppercase());
        assert!(matches!(
            lock_target(&store, &upper),
            Err(BundleError::TargetBusy { .. })
        ));
        drop(running);
        let report = export(
            &mut store,
            &server,
            &options,
            &crate::progress::NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(report.bundles.len(), 36);
    }

    fn server_with_version(server: &RecordedServer, version: &str) -> RecordedServer {
        let mut server = server.clone();
        server.report.server.version = crate::server::ServerVersion {
            server_version: Some(version.into()),
            service_pack_build: Some("8378".into()),
            registry_key: Some(crate::server::REGISTRY_KEY_32.into()),
        };
        server
    }

    /// The version's default goes into the script and the manifest says why; the
    /// admin's other choice is kept and recorded as such; a manifest from before this
    /// record still reads.
    #[test]
    fn the_server_version_chooses_the_syntax_and_every_manifest_says_why() {
        let crate::testutil::DemoWorld {
            tmp,
            mut store,
            server,
            ..
        } = crate::testutil::demo_world(9, true);
        let apex = server_with_version(&server, "14.0");
        let defaults = ipxfer_defaults(&apex.report.server);
        assert_eq!(defaults.decision.syntax, SyntaxChoice::Xg);
        assert_eq!(
            defaults.from_ini,
            XgValues {
                server: Some("demo-apexone.example.local".into()),
                http_port: Some(8080),
                https_port: Some(4343),
                agent_port: Some(21112),
            }
        );
        let export_with = |store: &mut Store, out: &str, syntax: IpXferSyntax| {
            export(
                store,
                &apex,
                &ExportOptions {
                    out_dir: tmp.path().join(out),
                    selection: Selection::Agents(vec!["PC-ACCT-017".into()]),
                    ipxfer_dir: None,
                    shared_tools: false,
                    syntax,
                    language: ScriptLanguage::En,
                    password: Password::Prompt,
                },
                &crate::progress::NoProgress,
                &Cancel::new(),
            )
            .unwrap()
        };
        let xg = xg_syntax(&apex, &XgValues::default()).unwrap();
        let auto = export_with(&mut store, "auto", xg);
        assert!(auto.ipxfer.follows_version);
        assert_eq!(
            auto.ipxfer.reason,
            crate::ipxfer::SyntaxReason::ApexOne,
            "{:?}",
            auto.ipxfer
        );
        let folder = &auto.bundles[0].folder;
        let script = fs::read_to_string(folder.join(SCRIPT)).unwrap();
        assert!(
            script.contains("-s \"demo-apexone.example.local\" -p 8080 -sp 4343 -c 21112 "),
            "{script}"
        );
        let manifest = verify_bundle(folder).unwrap();
        let recorded = manifest.options.ipxfer_choice.clone().unwrap();
        assert_eq!(recorded, auto.ipxfer);
        assert_eq!(recorded.server_version.as_deref(), Some("14.0"));
        assert_eq!(recorded.service_pack_build.as_deref(), Some("8378"));
        assert!(recorded.explanation.contains("KA-0004099"));

        let manual = export_with(&mut store, "manual", IpXferSyntax::Seed);
        assert!(!manual.ipxfer.follows_version);
        assert_eq!(manual.ipxfer.syntax, SyntaxChoice::Seed);
        assert_eq!(manual.ipxfer.default, SyntaxChoice::Xg);
        let script = fs::read_to_string(manual.bundles[0].folder.join(SCRIPT)).unwrap();
        assert!(!script.contains(" -sp "), "{script}");

        // A manifest written before the record existed.
        let path = folder.join(MANIFEST);
        let mut json: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        json["options"]
            .as_object_mut()
            .unwrap()
            .remove("ipxfer_choice");
        fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(verify_bundle(folder).unwrap().options.ipxfer_choice, None);

        // The demo itself has no version: seed, and the estimate says why.
        let estimate = estimate(
            &store,
            &server,
            &ExportOptions {
                out_dir: tmp.path().join("estimate"),
                selection: Selection::AllMismatched,
                ipxfer_dir: None,
                shared_tools: false,
                syntax: IpXferSyntax::Seed,
                language: ScriptLanguage::En,
                password: Password::Prompt,
            },
        )
        .unwrap();
        assert_eq!(
            (estimate.ipxfer.syntax, estimate.ipxfer.reason),
            (SyntaxChoice::Seed, crate::ipxfer::SyntaxReason::NoVersion)
        );
        assert!(estimate.ipxfer.follows_version);
    }

    /// A value ofcscan.ini lacks is asked for (the error names the option), never
    /// guessed; the undocumented HTTPS key is named as such; a given value completes it.
    #[test]
    fn xg_values_missing_from_ofcscan_ini_are_asked_for() {
        let crate::testutil::DemoWorld {
            tmp: _tmp, server, ..
        } = crate::testutil::demo_world(9, false);
        let ini = server
            .report
            .server
            .pccsrv_folder
            .as_ref()
            .unwrap()
            .join("ofcscan.ini");
        fs::write(
            &ini,
            "[INI_SERVER_SECTION]\r\nmaster_domainname = srv.example\r\nMaster_DomainPort=8080\r\n\
             Master_DomainSSLPort=\r\nClient_LocalServer_Port=0\r\n",
        )
        .unwrap();
        assert_eq!(
            xg_values_from_ini(&server.report.server),
            XgValues {
                server: Some("srv.example".into()),
                http_port: Some(8080),
                https_port: None,
                agent_port: None,
            }
        );
        let err = xg_syntax(&server, &XgValues::default()).unwrap_err();
        assert_eq!(err.code(), "bundle.xg_value_missing");
        assert_eq!(
            err.to_string(),
            "the XG syntax needs the HTTPS port: give --https-port, or the server's \
             PCCSRV\\ofcscan.ini must have Master_DomainSSLPort (a key no public Trend \
             source documents)"
        );
        let err = xg_syntax(
            &server,
            &XgValues {
                https_port: Some(4343),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("must have Client_LocalServer_Port"),
            "{err}"
        );
        let given = XgValues {
            server: Some("  ".into()),
            https_port: Some(4343),
            agent_port: Some(21112),
            ..Default::default()
        };
        assert_eq!(
            xg_syntax(&server, &given).unwrap(),
            IpXferSyntax::Xg {
                server: "srv.example".into(),
                http_port: 8080,
                https_port: 4343,
                agent_port: 21112,
            }
        );
        // Under auto, an Apex One server's missing value says why XG was the default;
        // seed needs no value; the demo (no version) stays seed.
        let apex = server_with_version(&server, "14.0");
        let err = choose_syntax(&apex, SyntaxRequest::Auto, &XgValues::default()).unwrap_err();
        assert_eq!(err.code(), "bundle.xg_value_missing");
        assert!(
            err.to_string().ends_with(
                "; the XG syntax is the default here because Apex One: KA-0004099 documents \
                 -s -p -sp -c -e OfcNTCer.dat -pwd; or choose the seed syntax"
            ),
            "{err}"
        );
        assert!(
            !choose_syntax(&apex, SyntaxRequest::Xg, &XgValues::default())
                .unwrap_err()
                .to_string()
                .contains("default here")
        );
        for request in [SyntaxRequest::Seed, SyntaxRequest::Auto] {
            let server = if request == SyntaxRequest::Seed {
                &apex
            } else {
                &server
            };
            assert_eq!(
                choose_syntax(server, request, &XgValues::default()).unwrap(),
                IpXferSyntax::Seed
            );
        }
        assert_eq!(SyntaxRequest::parse("auto"), Some(SyntaxRequest::Auto));
        assert_eq!(SyntaxRequest::parse("XG"), None);

        // No ofcscan.ini at all: every value is asked for, the first one named.
        fs::remove_file(&ini).unwrap();
        assert_eq!(
            xg_values_from_ini(&server.report.server),
            XgValues::default()
        );
        assert!(xg_syntax(&server, &XgValues::default())
            .unwrap_err()
            .to_string()
            .contains("--ipxfer-server"));
    }

    #[test]
    fn a_bundle_that_cannot_be_finished_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("stick");
        fs::create_dir(&out).unwrap();
        let unreadable = tmp.path().join("not-a-file");
        fs::create_dir(&unreadable).unwrap();
        let source = |name| Source {
            name,
            path: unreadable.clone(),
            size: 1,
            sha256: "00".into(),
        };
        let options = ExportOptions {
            out_dir: out.clone(),
            selection: Selection::AllMismatched,
            ipxfer_dir: None,
            shared_tools: false,
            syntax: IpXferSyntax::Seed,
            language: ScriptLanguage::En,
            password: Password::Prompt,
        };
        let server = ManifestServer {
            install_folder: "C:\\x".into(),
            certificate_subject: "CN=x".into(),
            certificate_serial: "01".into(),
            certificate_sha1_thumbprint: "00".into(),
            certificate_sha256: "00".into(),
            certificate_not_after: "2030-01-01T00:00:00Z".into(),
        };
        let manifest_options = ManifestOptions {
            ipxfer_syntax: IpXferSyntax::Seed,
            language: ScriptLanguage::En,
            shared_tools: false,
            password: "prompt".into(),
            ipxfer_choice: None,
        };
        let agent = BundleAgent {
            id: 1,
            name: "PC-1".into(),
            ip: None,
            domain: None,
            guid: None,
            status: crate::store::AgentStatus::Mismatched,
        };
        let tools = [source(IPXFER.name), source(IPXFER_X64.name)];
        let cert_sha256 = sha256_hex(b"cert");
        let cancel = Cancel::new();
        let shared = BundleSource {
            out_dir: &out,
            cert_bytes: b"cert",
            cert_sha256: &cert_sha256,
            tools: &tools,
            server: &server,
            manifest_options: &manifest_options,
            options: &options,
            tools_location: ToolsLocation::InBundle,
            cancel: &cancel,
        };
        let result = write_bundle(&shared, "PC-1", &new_bundle_id(), &agent);
        assert!(matches!(result, Err(BundleError::Write { .. })));
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "left on the stick");
    }
}
