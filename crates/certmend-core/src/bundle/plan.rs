//! An export planned before anything is written: the server's certificate, the IpXfer
//! files, the agents selected, what the manifests record, and the room the bundles
//! need on the target. [`estimate`] shows the plan; `export` carries it out.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{write_err, BundleError, ExportOptions, ManifestOptions, ManifestServer, Selection};
use crate::fsutil::{find_child_ci, sha256_file};
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::ipxfer::{SyntaxChoice, SyntaxDecision};
use crate::script::{self, Password, ScriptOptions, ToolsLocation};
use crate::server::{IPXFER, IPXFER_X64};
use crate::store::{BundleAgent, Store};

/// Room each file may take beyond its size (a FAT32 cluster can be 32 KiB).
const PER_FILE_SLACK: u64 = 32 * 1024;

/// A source file to copy into bundles, hashed once.
pub(super) struct Source {
    pub(super) name: &'static str,
    pub(super) path: PathBuf,
    pub(super) size: u64,
    pub(super) sha256: String,
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

/// Everything an export needs, checked, with nothing written yet.
pub(super) struct Prepared {
    pub(super) out_dir: PathBuf,
    pub(super) cert_bytes: Vec<u8>,
    pub(super) manifest_server: ManifestServer,
    pub(super) tools: [Source; 2],
    pub(super) tools_bytes: u64,
    pub(super) agents: Vec<BundleAgent>,
    pub(super) tools_location: ToolsLocation,
    pub(super) manifest_options: ManifestOptions,
    pub(super) ipxfer: SyntaxDecision,
    /// Bytes the bundles take on the target, with room for cluster slack.
    pub(super) needed: u64,
    /// Bytes of the files themselves (what progress counts), README and manifest
    /// estimated.
    pub(super) to_write: u64,
    /// Free bytes on the target (the nearest folder of it that exists).
    pub(super) available: u64,
}

impl Prepared {
    /// Refuses an export the target has no room for, before anything is written.
    pub(super) fn ensure_fits(&self) -> Result<(), BundleError> {
        if self.needed > self.available {
            return Err(BundleError::NoSpace {
                path: self.out_dir.clone(),
                needed: self.needed,
                available: self.available,
            });
        }
        Ok(())
    }

    /// The SHA-256 of the server's certificate, as every bundle carries it.
    pub(super) fn cert_sha256(&self) -> &str {
        &self.manifest_server.certificate_sha256
    }
}

/// Checks an export's options and plans it, writing nothing.
pub(super) fn prepare(
    store: &Store,
    server: &RecordedServer,
    options: &ExportOptions,
) -> Result<Prepared, BundleError> {
    // Everything is checked before anything is written.
    let (cert_bytes, manifest_server) = server_certificate(server)?;
    let tools = locate_ipxfer(server, options.ipxfer_dir.as_deref())?;
    let agents = select_agents(store, server, &options.selection)?;
    let tools_location = if options.shared_tools {
        ToolsLocation::Shared
    } else {
        ToolsLocation::InBundle
    };
    let ipxfer = SyntaxDecision::for_version(&server.report.server.version)
        .with_syntax(SyntaxChoice::of(&options.syntax));
    let manifest_options = manifest_options(options, &ipxfer);
    let script_len = probe_script_len(&manifest_server, &tools, options, tools_location)?;
    let out_dir = std::path::absolute(&options.out_dir).unwrap_or_else(|_| options.out_dir.clone());
    let tools_bytes: u64 = tools.iter().map(|t| t.size).sum();
    let (needed, to_write) = sizes(
        cert_bytes.len() as u64 + script_len,
        tools_bytes,
        agents.len() as u64,
        options.shared_tools,
    );
    let available = available_space(&out_dir)?;
    Ok(Prepared {
        out_dir,
        cert_bytes,
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

/// The server's certificate file, and what the manifests say of it.
fn server_certificate(server: &RecordedServer) -> Result<(Vec<u8>, ManifestServer), BundleError> {
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
    let info = certificate.info();
    let manifest_server = ManifestServer {
        install_folder: install.to_string_lossy().into_owned(),
        certificate_subject: info.subject.clone(),
        certificate_serial: info.serial.clone(),
        certificate_sha1_thumbprint: info.sha1_thumbprint.clone(),
        certificate_sha256: sha256_hex(&cert_bytes),
        certificate_not_after: info.not_after.clone(),
    };
    Ok((cert_bytes, manifest_server))
}

/// The agents that get a bundle: every name must be known, and at least one agent.
fn select_agents(
    store: &Store,
    server: &RecordedServer,
    selection: &Selection,
) -> Result<Vec<BundleAgent>, BundleError> {
    let names = match selection {
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
    Ok(agents)
}

/// What every manifest of the export records of its options (never the password).
fn manifest_options(options: &ExportOptions, ipxfer: &SyntaxDecision) -> ManifestOptions {
    ManifestOptions {
        ipxfer_syntax: options.syntax.clone(),
        language: options.language,
        shared_tools: options.shared_tools,
        password: match options.password {
            Password::Prompt => "prompt".into(),
            Password::Embedded(_) => "embedded".into(),
            Password::File(_) => "file".into(),
        },
        ipxfer_choice: Some(ipxfer.clone()),
    }
}

/// The length of the longest script the export writes. The script differs between
/// bundles only by id, name and GUID; rendering one finds script errors (a bad
/// password, a bad server name) before anything is written. The longest name and GUID a
/// script can hold make the size an upper bound.
fn probe_script_len(
    server: &ManifestServer,
    tools: &[Source; 2],
    options: &ExportOptions,
    tools_location: ToolsLocation,
) -> Result<u64, BundleError> {
    let probe = script::render(&ScriptOptions {
        bundle_id: "0".repeat(32),
        certificate_sha256: server.certificate_sha256.clone(),
        certificate_sha1_thumbprint: server.certificate_sha1_thumbprint.clone(),
        ipxfer_sha256: tools[0].sha256.clone(),
        ipxfer_x64_sha256: tools[1].sha256.clone(),
        agent_name: "X".repeat(15),
        agent_guid: Some("00000000-0000-0000-0000-000000000000".into()),
        syntax: options.syntax.clone(),
        language: options.language,
        tools: tools_location,
        password: options.password.clone(),
    })?;
    Ok(probe.len() as u64)
}

/// The bytes `bundles` bundles take on the target with room for cluster slack, and the
/// bytes of their files (what progress counts); `payload` is a bundle's certificate and
/// script.
fn sizes(payload: u64, tools_bytes: u64, bundles: u64, shared_tools: bool) -> (u64, u64) {
    let (own_tools, shared) = if shared_tools {
        (0, tools_bytes)
    } else {
        (tools_bytes, 0)
    };
    let per_bundle = payload
        + 8 * 1024 // README.txt
        + 4 * 1024 // manifest.json
        + own_tools
        + 5 * PER_FILE_SLACK;
    let shared_slack = if shared_tools { 2 * PER_FILE_SLACK } else { 0 };
    let needed = per_bundle * bundles + shared + shared_slack;
    let per_bundle_files = payload
        + 4 * 1024 // README.txt, about
        + 2 * 1024 // manifest.json, about
        + own_tools;
    (needed, per_bundle_files * bundles + shared)
}

/// Free bytes on the target, measured on the nearest folder of it that exists: nothing
/// is created before this check.
fn available_space(out_dir: &Path) -> Result<u64, BundleError> {
    let existing = out_dir
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(out_dir)
        .to_path_buf();
    fs4::available_space(&existing).map_err(write_err(&existing))
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
