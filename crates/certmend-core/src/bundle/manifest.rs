//! `manifest.json`: what a bundle holds and for whom; reading and checking a bundle
//! folder against its own manifest.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BundleError, CERTIFICATE, MANIFEST, MANIFEST_VERSION, README, SCRIPT, TOOLS_DIR};
use crate::durable;
use crate::ipxfer::SyntaxDecision;
use crate::script::{IpXferSyntax, ScriptLanguage};
use crate::server::{IPXFER, IPXFER_X64};
use crate::store::BundleAgent;

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

impl Manifest {
    /// The manifest of a new bundle for `agent` holding `files`.
    pub(super) fn for_bundle(
        bundle_id: &str,
        agent: &BundleAgent,
        server: &ManifestServer,
        files: &[ManifestFile],
        options: &ManifestOptions,
    ) -> Self {
        Manifest {
            format_version: MANIFEST_VERSION,
            bundle_id: bundle_id.to_string(),
            agent: ManifestAgent {
                name: agent.name.clone(),
                ip: agent.ip.clone(),
                domain: agent.domain.clone(),
                guid: agent.guid.clone(),
            },
            server: server.clone(),
            files: files.to_vec(),
            options: options.clone(),
            created: crate::store::now_text(),
            certmend_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// Reads and checks a bundle folder: its manifest parses and every file matches it.
/// The folder's own manifest vouches for nothing on a stick others can write to: see
/// [`super::verify_target`] for the check against what certmend recorded.
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
        durable::read_back(&path, &f.sha256)?;
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
