//! Writing bundles: each one into a temporary folder on the target, every file flushed
//! to the device, the manifest last, everything read back from the device, then
//! recorded and renamed into place, so a folder with a bundle's name is always complete
//! and checked. The shared `tools\` is replaced the same way.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::plan::{Prepared, Source};
use super::target::{remove_leftovers, shared_tools_current};
use super::{readme, write_err, BundleError, ExportOptions, Manifest, ManifestFile};
use super::{WrittenBundle, CERTIFICATE, MANIFEST, README, SCRIPT, TEMP_PREFIX, TOOLS_DIR};
use crate::durable;
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::progress::{Cancel, Progress};
use crate::script::{self, ScriptOptions};
use crate::store::{BundleAgent, BundleFile, NewBundle, Store};

/// A new bundle's id, 32 random hex digits; also makes temporary folder names unique.
pub(super) fn new_bundle_id() -> String {
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

/// Bytes written so far against the total, reported as they grow.
pub(super) struct ByteCount<'a> {
    done: u64,
    total: u64,
    progress: &'a dyn Progress,
}

impl<'a> ByteCount<'a> {
    pub(super) fn new(total: u64, progress: &'a dyn Progress) -> Self {
        ByteCount {
            done: 0,
            total,
            progress,
        }
    }

    pub(super) fn add(&mut self, bytes: u64) {
        self.done += bytes;
        self.progress.update(self.done, self.total);
    }

    /// Counts the `n`th of `of` bundles. README and manifest sizes were estimated:
    /// never past the end, and exactly at the end after the last bundle.
    fn add_bundle(&mut self, bytes: u64, n: usize, of: usize) {
        self.done += bytes;
        self.total = if n == of {
            self.done
        } else {
            self.total.max(self.done + 1)
        };
        self.progress.update(self.done, self.total);
        self.progress.item(n as u64, of as u64);
    }
}

/// `tools\` at the output root, replaced atomically when its content differs.
pub(super) fn write_shared_tools(
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
        durable::copy_hashed(&t.path, &to, &|| !cancel.is_cancelled())?;
        durable::read_back(&to, &t.sha256)?;
    }
    replace_dir(&tmp, &final_dir, out_dir)?;
    for t in tools {
        durable::read_back(&final_dir.join(t.name), &t.sha256)?;
    }
    Ok(final_dir)
}

/// Moves `tmp` to `final_dir` in `out_dir`, replacing an earlier `final_dir`.
fn replace_dir(tmp: &Path, final_dir: &Path, out_dir: &Path) -> Result<(), BundleError> {
    let aside = out_dir.join(format!("{TEMP_PREFIX}old-{}", new_bundle_id()));
    Ok(durable::replace_dir(tmp, final_dir, &aside)?)
}

/// What every bundle of one export shares.
#[derive(Clone, Copy)]
pub(super) struct BundleSource<'a> {
    pub(super) out_dir: &'a Path,
    pub(super) cert_bytes: &'a [u8],
    pub(super) cert_sha256: &'a str,
    pub(super) tools: &'a [Source; 2],
    pub(super) server: &'a super::ManifestServer,
    pub(super) manifest_options: &'a super::ManifestOptions,
    pub(super) options: &'a ExportOptions,
    pub(super) tools_location: script::ToolsLocation,
    pub(super) cancel: &'a Cancel,
}

impl<'a> BundleSource<'a> {
    pub(super) fn of(plan: &'a Prepared, options: &'a ExportOptions, cancel: &'a Cancel) -> Self {
        BundleSource {
            out_dir: &plan.out_dir,
            cert_bytes: &plan.cert_bytes,
            cert_sha256: plan.cert_sha256(),
            tools: &plan.tools,
            server: &plan.manifest_server,
            manifest_options: &plan.manifest_options,
            options,
            tools_location: plan.tools_location,
            cancel,
        }
    }
}

/// Writes, records and places one bundle per agent, in `folders`, counting bytes as they
/// go. Returns the bundles placed, and why it stopped early if it did.
pub(super) fn write_bundles(
    store: &mut Store,
    server: &RecordedServer,
    source: &BundleSource<'_>,
    agents: &[BundleAgent],
    folders: &[String],
    count: &mut ByteCount<'_>,
) -> (Vec<WrittenBundle>, Result<(), BundleError>) {
    let total = agents.len();
    let mut written = Vec::new();
    for (i, (agent, folder_name)) in agents.iter().zip(folders).enumerate() {
        if source.cancel.is_cancelled() {
            return (written, Err(BundleError::Cancelled { done: i, total }));
        }
        let staged = match write_bundle(source, folder_name, &new_bundle_id(), agent) {
            Ok(staged) => staged,
            Err(BundleError::Write { source: e, .. })
                if e.kind() == io::ErrorKind::Interrupted && source.cancel.is_cancelled() =>
            {
                let _ = remove_leftovers(source.out_dir);
                return (written, Err(BundleError::Cancelled { done: i, total }));
            }
            Err(e) => return (written, Err(e)),
        };
        let bundle = match place(store, server.server_id, source, agent, folder_name, staged) {
            Ok(bundle) => bundle,
            Err(e) => return (written, Err(e)),
        };
        count.add_bundle(bundle.files.iter().map(|f| f.size).sum(), i + 1, total);
        written.push(bundle);
    }
    (written, Ok(()))
}

/// Records a staged bundle, then gives it its name. Recorded first: whenever the export
/// stops, every bundle on the target is known, so its receipts count. (Stopped in
/// between, a record points to a bundle that never arrived; the next export supersedes
/// it.)
fn place(
    store: &mut Store,
    server_id: i64,
    source: &BundleSource<'_>,
    agent: &BundleAgent,
    folder_name: &str,
    staged: Staged,
) -> Result<WrittenBundle, BundleError> {
    let Staged { bundle, tmp } = staged;
    let record = NewBundle {
        id: bundle.bundle_id.clone(),
        agent_id: agent.id,
        certificate_sha256: source.cert_sha256.to_string(),
        folder: folder_name.to_string(),
        options: serde_json::to_value(source.manifest_options).unwrap_or_default(),
        files: bundle
            .files
            .iter()
            .map(|f| BundleFile {
                name: f.name.clone(),
                size: f.size,
                sha256: f.sha256.clone(),
            })
            .collect(),
    };
    let placed = store
        .record_bundle(server_id, source.out_dir, &record)
        .map_err(BundleError::from)
        .and_then(|()| replace_dir(&tmp, &bundle.folder, source.out_dir));
    if let Err(e) = placed {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(bundle)
}

/// Stages one bundle in a new temporary folder on the target.
pub(super) fn write_bundle(
    source: &BundleSource<'_>,
    folder_name: &str,
    bundle_id: &str,
    agent: &BundleAgent,
) -> Result<Staged, BundleError> {
    let tmp = source.out_dir.join(format!("{TEMP_PREFIX}{bundle_id}"));
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
    let mut files = write_payload(source, tmp, bundle_id, agent)?;
    let manifest = Manifest::for_bundle(
        bundle_id,
        agent,
        source.server,
        &files,
        source.manifest_options,
    );
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Write {
        path: tmp.join(MANIFEST),
        source: io::Error::other(e),
    })?;
    // The manifest last: a folder with a manifest has every other file complete.
    let manifest_file = write_bytes(tmp, MANIFEST, &manifest_bytes)?;
    durable::sync_dir(tmp);

    // Read everything back from the stick before the bundle takes its name, so a
    // folder with that name is always complete and checked.
    for f in files.iter().chain([&manifest_file]) {
        let path = if f.name.starts_with("..\\") {
            let name = f.name.rsplit('\\').next().unwrap_or(&f.name);
            source.out_dir.join(TOOLS_DIR).join(name)
        } else {
            tmp.join(&f.name)
        };
        durable::read_back(&path, &f.sha256)?;
    }
    files.push(manifest_file);
    Ok(Staged {
        bundle: WrittenBundle {
            bundle_id: bundle_id.to_string(),
            agent: agent.clone(),
            folder: source.out_dir.join(folder_name),
            files,
        },
        tmp: tmp.to_path_buf(),
    })
}

/// Writes the certificate, the IpXfer files (or names the shared ones), the script and
/// the README into `tmp`, flushed to the device.
fn write_payload(
    source: &BundleSource<'_>,
    tmp: &Path,
    bundle_id: &str,
    agent: &BundleAgent,
) -> Result<Vec<ManifestFile>, BundleError> {
    let mut files = vec![write_bytes(tmp, CERTIFICATE, source.cert_bytes)?];
    for t in source.tools {
        files.push(stage_tool(source, tmp, t)?);
    }
    let script = script::render(&ScriptOptions {
        bundle_id: bundle_id.to_string(),
        certificate_sha256: source.cert_sha256.to_string(),
        certificate_sha1_thumbprint: source.server.certificate_sha1_thumbprint.clone(),
        ipxfer_sha256: source.tools[0].sha256.clone(),
        ipxfer_x64_sha256: source.tools[1].sha256.clone(),
        agent_name: agent.name.clone(),
        agent_guid: agent.guid.clone(),
        syntax: source.options.syntax.clone(),
        language: source.options.language,
        tools: source.tools_location,
        password: source.options.password.clone(),
    })?;
    files.push(write_bytes(tmp, SCRIPT, &script)?);
    let readme = readme::readme(agent, source.server, source.options);
    files.push(write_bytes(tmp, README, &readme)?);
    Ok(files)
}

/// Writes the new file `tmp\name`, flushed to the device.
fn write_bytes(tmp: &Path, name: &str, bytes: &[u8]) -> Result<ManifestFile, BundleError> {
    let path = tmp.join(name);
    durable::write_new(&path, bytes).map_err(write_err(&path))?;
    Ok(ManifestFile {
        name: name.into(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    })
}

/// Copies an IpXfer file into the bundle, or with shared tools names the copy in
/// `..\tools\`.
fn stage_tool(
    source: &BundleSource<'_>,
    tmp: &Path,
    t: &Source,
) -> Result<ManifestFile, BundleError> {
    if source.options.shared_tools {
        return Ok(ManifestFile {
            name: format!("..\\{TOOLS_DIR}\\{}", t.name),
            size: t.size,
            sha256: t.sha256.clone(),
        });
    }
    let cancel = source.cancel;
    let sha256 = durable::copy_hashed(&t.path, &tmp.join(t.name), &|| !cancel.is_cancelled())?;
    // The source changed since it was hashed.
    if sha256 != t.sha256 {
        return Err(BundleError::Verify {
            path: t.path.clone(),
            expected: t.sha256.clone(),
            found: sha256,
        });
    }
    Ok(ManifestFile {
        name: t.name.into(),
        size: t.size,
        sha256,
    })
}

/// A bundle written and read back in its temporary folder, not yet in place.
pub(super) struct Staged {
    /// `folder` is where it goes.
    bundle: WrittenBundle,
    tmp: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{ManifestOptions, ManifestServer, Selection};
    use crate::script::{IpXferSyntax, Password, ScriptLanguage, ToolsLocation};
    use crate::server::{IPXFER, IPXFER_X64};

    /// A bundle whose files cannot all be written (here an IpXfer "file" that cannot be
    /// read; on a real stick: full, failing, pulled out) leaves no temporary folder.
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
            share: None,
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
