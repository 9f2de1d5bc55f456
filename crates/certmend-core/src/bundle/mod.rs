//! Per-agent repair bundles written to a USB stick (or any folder).
//!
//! One folder per agent: `OfcNTCer.dat` (byte for byte the server's), the IpXfer
//! executables (or one shared copy in `tools\`), `repair.cmd`, `README.txt` and
//! `manifest.json`. Each bundle is written into a temporary folder on the target, every
//! file flushed, the manifest last, then renamed into place, so a half-written bundle
//! never looks complete; afterwards every file is read back and checked against the
//! manifest (sticks fail). A later export removes what an interrupted one left.
//!
//! An export is planned first ([`plan`]: certificate, IpXfer, agents, sizes), then the
//! target is taken ([`target`]: lock, leftovers, earlier bundles, folder names), then
//! the bundles are written ([`staging`]). [`manifest`], [`readme`] and [`syntax`] hold
//! what the bundles say; [`verify`] checks a stick against what certmend recorded.
//! An export for a network share also gets [`deploy`]'s DEPLOY.txt and
//! set-permissions.cmd at its root.

pub mod deploy;
mod entry;
mod manifest;
pub mod names;
mod plan;
mod readme;
mod staging;
mod syntax;
mod target;
pub mod verify;

pub use deploy::{share_target, DeployReport, Destination, ShareTarget};
pub use entry::EntryReport;
pub use manifest::{
    manifest_file_path, verify_bundle, Manifest, ManifestAgent, ManifestFile, ManifestOptions,
    ManifestServer,
};
pub use plan::{estimate, Estimate};
pub use syntax::{
    choose_syntax, ipxfer_defaults, xg_syntax, xg_values_from_ini, IpXferDefaults, SyntaxRequest,
    XgValues, HTTPS_PORT_KEY,
};
pub use target::remove_leftovers;
pub use verify::{verify_target, Finding, TargetCheck};

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::durable::DurableError;
use crate::inventory::RecordedServer;
use crate::ipxfer::SyntaxDecision;
use crate::progress::{Cancel, Progress};
use crate::script::{IpXferSyntax, Password, ScriptError, ScriptLanguage};
use crate::store::{BundleAgent, Store, StoreError};
use crate::ErrorCode;

/// Prefix of the temporary folders an export works in.
pub const TEMP_PREFIX: &str = crate::durable::TEMP_PREFIX;
pub const MANIFEST: &str = "manifest.json";
pub const SCRIPT: &str = "repair.cmd";
pub const README: &str = "README.txt";
pub const CERTIFICATE: &str = "OfcNTCer.dat";
pub const TOOLS_DIR: &str = "tools";
pub const RECEIPTS_DIR: &str = "receipts";
/// How a bundle's manifest (and the store) name a file in the shared `tools\`.
pub(crate) const TOOLS_PREFIX: &str = "..\\tools\\";
pub const MANIFEST_VERSION: u32 = 1;

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
    /// A share export: DEPLOY.txt and set-permissions.cmd for these paths (None: a stick).
    pub share: Option<ShareTarget>,
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
    #[error("{}: not a UNC path, so the computers cannot use it as it is: give --share-path \\\\server\\share\\folder (the path the computers will reach this folder by)", out_dir.display())]
    SharePathMissing { out_dir: PathBuf },
    #[error("{path}: cannot be the share path in the deployment commands: {reason}")]
    SharePathInvalid { path: String, reason: &'static str },
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
            BundleError::SharePathMissing { .. } => "bundle.share_path_missing",
            BundleError::SharePathInvalid { .. } => "bundle.share_path_invalid",
        }
    }

    fn args(&self) -> BTreeMap<&'static str, String> {
        let path = |p: &Path| p.display().to_string();
        match self {
            BundleError::IpXferMissing { dir, name } => {
                BTreeMap::from([("dir", path(dir)), ("name", name.to_string())])
            }
            BundleError::UnknownAgents { names } => BTreeMap::from([("names", names.join(", "))]),
            BundleError::NoSpace {
                path: p,
                needed,
                available,
            } => BTreeMap::from([
                ("path", path(p)),
                ("needed_bytes", needed.to_string()),
                ("available_bytes", available.to_string()),
            ]),
            BundleError::Cancelled { done, total } => {
                BTreeMap::from([("done", done.to_string()), ("total", total.to_string())])
            }
            BundleError::SharedToolsInUse { path: p, bundles } => {
                BTreeMap::from([("path", path(p)), ("bundles", bundles.to_string())])
            }
            BundleError::TargetBusy { path: p } | BundleError::NoTarget { path: p, .. } => {
                BTreeMap::from([("path", path(p))])
            }
            BundleError::SharePathMissing { out_dir } => BTreeMap::from([("path", path(out_dir))]),
            BundleError::SharePathInvalid { path: p, .. } => BTreeMap::from([("path", p.clone())]),
            BundleError::File(e) => e.args(),
            BundleError::Stopped { source, .. } => source.args(),
            _ => BTreeMap::new(),
        }
    }
}

fn write_err(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl From<DurableError> for BundleError {
    fn from(e: DurableError) -> Self {
        match e {
            DurableError::Io { path, source } => BundleError::Write { path, source },
            DurableError::Mismatch {
                path,
                expected,
                found,
            } => BundleError::Verify {
                path,
                expected,
                found,
            },
        }
    }
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
    /// The entry script and README written at the root, listing every bundle there.
    pub entry: EntryReport,
    /// A share export: DEPLOY.txt and set-permissions.cmd (None for a stick).
    pub deploy: Option<DeployReport>,
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
    let _lock = target::lock_target(store, &out_dir)?;
    let removed_leftovers = remove_leftovers(&out_dir)?;
    let bundle_check = target::check_earlier_bundles(store, &out_dir)?;
    let plan = plan::prepare(store, server, options)?;
    plan.ensure_fits()?;
    let folders = target::assign_folders(store, &plan)?;
    let out_dir = &plan.out_dir;
    fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;

    let mut count = staging::ByteCount::new(plan.to_write, progress);
    let shared_tools = if options.shared_tools {
        let dir = staging::write_shared_tools(out_dir, &plan.tools, cancel)?;
        count.add(plan.tools_bytes);
        Some(dir)
    } else {
        None
    };
    let source = staging::BundleSource::of(&plan, options, cancel);
    let (written, result) =
        staging::write_bundles(store, server, &source, &plan.agents, &folders, &mut count);
    let total = plan.agents.len();
    if !written.is_empty() {
        store.log_event(
            "bundles.exported",
            Some(server.server_id),
            Some(&out_dir.to_string_lossy()),
            &serde_json::json!({ "bundles": written.len(), "of": total }),
        )?;
    }
    result.map_err(|e| stopped_early(e, written.len(), total))?;
    let entry = entry::write_entry_files(store, server, out_dir, options.language)?;
    let deploy = match &options.share {
        Some(share) => Some(deploy::write_deploy_files(
            out_dir,
            share,
            &agent_names(&written),
        )?),
        None => None,
    };
    let shared_bytes = if options.shared_tools {
        plan.tools_bytes
    } else {
        0
    };
    Ok(ExportReport {
        out_dir: out_dir.clone(),
        bytes: written
            .iter()
            .flat_map(|b| &b.files)
            .map(|f| f.size)
            .sum::<u64>()
            + shared_bytes,
        bundles: written,
        shared_tools,
        removed_leftovers,
        password_embedded: matches!(options.password, Password::Embedded(_)),
        ipxfer: plan.ipxfer.clone(),
        bundle_check,
        entry,
        deploy,
    })
}

/// The agents of the bundles written, for DEPLOY.txt's scheduled tasks.
fn agent_names(written: &[WrittenBundle]) -> Vec<String> {
    written.iter().map(|b| b.agent.name.clone()).collect()
}

/// Why an export stopped before its last bundle: a cancel as such; anything else with
/// how far it got.
fn stopped_early(e: BundleError, done: usize, total: usize) -> BundleError {
    match e {
        BundleError::Cancelled { .. } => e,
        _ => BundleError::Stopped {
            done,
            total,
            source: Box::new(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipxfer::SyntaxChoice;
    use crate::server::IPXFER;
    use target::lock_target;

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
                share: None,
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
        // The entry script and its README at the root, beside the bundles.
        assert_eq!(
            names,
            [
                "PC-ACCT-017",
                "PC-DEV-024",
                "README.txt",
                "repair.cmd",
                "tools"
            ]
        );
        for b in &e.report.bundles {
            assert!(!b.folder.join(IPXFER.name).exists());
        }
    }

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
            share: None,
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

    pub(super) fn server_with_version(server: &RecordedServer, version: &str) -> RecordedServer {
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
                    share: None,
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
                share: None,
            },
        )
        .unwrap();
        assert_eq!(
            (estimate.ipxfer.syntax, estimate.ipxfer.reason),
            (SyntaxChoice::Seed, crate::ipxfer::SyntaxReason::NoVersion)
        );
        assert!(estimate.ipxfer.follows_version);
    }
}
