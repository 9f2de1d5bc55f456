//! Checking a stick against what certmend wrote to it.
//!
//! A repair stick is written to by every PC it visits: any of them can swap IpXfer, the
//! certificate or the script, or drop a file beside them. The store keeps, for every
//! bundle certmend wrote, each file's name, size and SHA-256 (the shared tools and the
//! manifest included); [`verify_target`] compares each bundle folder on a target with
//! that record and reports every changed, added and missing file, every link, and every
//! bundle folder the store does not know. Nothing on the stick is trusted to say what
//! it should be: the manifest only names the bundle (and is itself compared), and stick
//! files are read through [`crate::untrusted`] (no links, a cap per file).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{BundleError, Manifest, CERTIFICATE, MANIFEST, RECEIPTS_DIR, SCRIPT, TEMP_PREFIX};
use super::{TOOLS_DIR, TOOLS_PREFIX};
use crate::fsutil::{find_child_ci, sha256_reader};
use crate::store::{BundleFile, BundleRow, Store};
use crate::untrusted::{self, FileError, Kind};
use crate::ErrorCode;

/// One thing on the target that is not as certmend wrote it: a stable code with the
/// values it names (for the window to translate), and an English sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `bundle_check.changed`, `.added`, `.missing`, `.link`, `.unreadable`,
    /// `.unknown_bundle`, `.not_recorded` or `.moved`.
    pub code: &'static str,
    /// The file or folder concerned.
    pub path: PathBuf,
    /// The bundle the folder holds, when known.
    pub bundle_id: Option<String>,
    /// That bundle's agent.
    pub agent: Option<String>,
    /// The SHA-256 certmend wrote (changed, missing).
    pub expected: Option<String>,
    /// The SHA-256 found (changed, added), or what was found instead of a file.
    pub found: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<&'static str, String>,
    pub reason: String,
}

/// What [`verify_target`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetCheck {
    pub dir: PathBuf,
    /// Bundle folders compared with the store's record.
    pub bundles: usize,
    /// Files read and compared (bundle files and shared tools).
    pub files: usize,
    pub findings: Vec<Finding>,
}

impl TargetCheck {
    /// Every bundle certmend knows is as written, and nothing else looks like one.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The bundle a folder holds, for a finding.
#[derive(Clone, Copy)]
struct Whose<'a> {
    bundle_id: Option<&'a str>,
    agent: Option<&'a str>,
}

impl Whose<'_> {
    const NONE: Whose<'static> = Whose {
        bundle_id: None,
        agent: None,
    };
}

struct Checker<'a> {
    store: &'a Store,
    report: TargetCheck,
}

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &mut self,
        code: &'static str,
        path: &Path,
        whose: Whose<'_>,
        expected: Option<&str>,
        found: Option<&str>,
        args: &[(&'static str, &str)],
        reason: String,
    ) {
        let mut all: BTreeMap<&'static str, String> =
            args.iter().map(|(k, v)| (*k, v.to_string())).collect();
        all.insert("file", path.display().to_string());
        if let Some(e) = expected {
            all.insert("expected", e.to_string());
        }
        if let Some(f) = found {
            all.insert("found", f.to_string());
        }
        if let Some(b) = whose.bundle_id {
            all.insert("bundle", b.to_string());
        }
        self.report.findings.push(Finding {
            code,
            path: path.to_path_buf(),
            bundle_id: whose.bundle_id.map(str::to_string),
            agent: whose.agent.map(str::to_string),
            expected: expected.map(str::to_string),
            found: found.map(str::to_string),
            args: all,
            reason: format!("{}: {reason}", path.display()),
        });
    }

    fn link(&mut self, path: &Path, whose: Whose<'_>) {
        self.finding(
            "bundle_check.link",
            path,
            whose,
            None,
            Some("link"),
            &[],
            "is a link (symbolic link, junction or other reparse point), which certmend never writes; not followed".into(),
        );
    }

    fn unreadable(&mut self, path: &Path, whose: Whose<'_>, error: &dyn std::fmt::Display) {
        let error = error.to_string();
        self.finding(
            "bundle_check.unreadable",
            path,
            whose,
            None,
            None,
            &[("error", &error)],
            format!("cannot be checked: {error}"),
        );
    }

    /// SHA-256 of a stick file read through `untrusted` (a link or an oversized file
    /// is reported, never read), or None when it was reported.
    fn hash(&mut self, path: &Path, name: &str, whose: Whose<'_>) -> Option<String> {
        let kind = if name.eq_ignore_ascii_case(MANIFEST) {
            Kind::Manifest
        } else if name.eq_ignore_ascii_case(CERTIFICATE) {
            Kind::Certificate
        } else {
            // IpXfer, the script, README: the largest cap untrusted knows.
            Kind::List
        };
        match untrusted::open(path, kind) {
            Ok((mut file, _)) => match sha256_reader(&mut file) {
                Ok((_, sha256)) => {
                    self.report.files += 1;
                    Some(sha256)
                }
                Err(e) => {
                    self.unreadable(path, whose, &e);
                    None
                }
            },
            Err(FileError::Link { .. }) => {
                self.link(path, whose);
                None
            }
            Err(e) => {
                let code = e.code();
                self.unreadable(path, whose, &format_args!("{e} [{code}]"));
                None
            }
        }
    }

    /// Compares `folder`'s files with `expected` (names in any letter case; entries
    /// starting `..\` are the shared tools, checked elsewhere).
    fn compare_folder(&mut self, folder: &Path, expected: &[BundleFile], whose: Whose<'_>) {
        let local: Vec<&BundleFile> = expected
            .iter()
            .filter(|f| !f.name.starts_with("..\\"))
            .collect();
        let mut entries = match fs::read_dir(folder) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<_>>(),
            Err(e) => {
                self.unreadable(folder, whose, &e);
                return;
            }
        };
        entries.sort();
        let mut seen = BTreeSet::new();
        for path in entries {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match local.iter().find(|f| f.name.eq_ignore_ascii_case(&name)) {
                Some(f) => {
                    seen.insert(f.name.to_ascii_lowercase());
                    self.compare_file(&path, f, whose);
                }
                None => self.added(&path, &name, whose),
            }
        }
        for f in local {
            if !seen.contains(&f.name.to_ascii_lowercase()) {
                self.finding(
                    "bundle_check.missing",
                    &folder.join(&f.name),
                    whose,
                    Some(&f.sha256),
                    None,
                    &[],
                    format!(
                        "missing: certmend wrote it ({} bytes, SHA-256 {})",
                        f.size, f.sha256
                    ),
                );
            }
        }
    }

    fn compare_file(&mut self, path: &Path, f: &BundleFile, whose: Whose<'_>) {
        let Some(found) = self.hash(path, &f.name, whose) else {
            return;
        };
        if !found.eq_ignore_ascii_case(&f.sha256) {
            self.finding(
                "bundle_check.changed",
                path,
                whose,
                Some(&f.sha256),
                Some(&found),
                &[],
                format!(
                    "changed since certmend wrote it (SHA-256 {} written, {found} found)",
                    f.sha256
                ),
            );
        }
    }

    /// As [`Self::compare_file`], accepting any of the `accepted` hashes (upper case).
    fn compare_file_to_any(&mut self, path: &Path, f: &BundleFile, accepted: &BTreeSet<String>) {
        let Some(found) = self.hash(path, &f.name, Whose::NONE) else {
            return;
        };
        if !accepted.contains(&found.to_ascii_uppercase()) {
            self.compare_file(path, f, Whose::NONE);
        }
    }

    /// Something in a bundle (or tools) folder that certmend did not write there.
    fn added(&mut self, path: &Path, name: &str, whose: Whose<'_>) {
        if untrusted::is_link(path) {
            self.link(path, whose);
            return;
        }
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            self.finding(
                "bundle_check.added",
                path,
                whose,
                None,
                Some("folder"),
                &[],
                "a folder certmend did not write".into(),
            );
            return;
        }
        if let Some(found) = self.hash(path, name, whose) {
            self.finding(
                "bundle_check.added",
                path,
                whose,
                None,
                Some(&found),
                &[],
                format!("a file certmend did not write (SHA-256 {found})"),
            );
        }
    }

    /// The record of the bundle a folder on the target holds: the one its manifest
    /// names, else the one certmend wrote into a folder of this name on this target.
    fn identify(&self, dir: &Path, folder: &Path, name: &str) -> Result<Identity, BundleError> {
        let manifest_id = find_child_ci(folder, MANIFEST)
            .and_then(|p| untrusted::read(&p, Kind::Manifest).ok())
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok())
            .map(|m| m.bundle_id);
        if let Some(id) = &manifest_id {
            if let Some(row) = self.store.bundle(&id.to_ascii_lowercase())? {
                return Ok(Identity::Known(Box::new(row)));
            }
        }
        let recorded = self.store.bundles_in_folder(dir, name)?;
        if let Some(row) = recorded
            .iter()
            .find(|b| b.superseded_by.is_none())
            .or(recorded.first())
        {
            return Ok(Identity::Known(Box::new(row.clone())));
        }
        let looks_like_bundle = manifest_id.is_some()
            || find_child_ci(folder, MANIFEST).is_some()
            || find_child_ci(folder, SCRIPT).is_some();
        Ok(if looks_like_bundle {
            Identity::Unknown(manifest_id)
        } else {
            Identity::NotABundle
        })
    }
}

enum Identity {
    Known(Box<BundleRow>),
    /// Looks like a bundle (a manifest or a repair.cmd), with the id its manifest gives.
    Unknown(Option<String>),
    NotABundle,
}

/// Checks every bundle folder in `dir` (an export target: a stick's root) against what
/// the store recorded when certmend wrote it, and the shared `tools\` the known
/// bundles use. The `receipts` folder, temporary folders of an export and files at the
/// root are not bundles and are left alone (a link in the place of a share export's
/// DEPLOY.txt or set-permissions.cmd is reported); a folder with neither a manifest nor a
/// repair.cmd that the store does not know is not a bundle either.
pub fn verify_target(store: &Store, dir: &Path) -> Result<TargetCheck, BundleError> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let entries = target_entries(&dir)?;
    let mut checker = Checker {
        store,
        report: TargetCheck {
            dir: dir.clone(),
            ..Default::default()
        },
    };
    let mut shared = SharedTools::new();
    for (name, path) in &entries {
        if is_ours_not_a_bundle(name) {
            continue;
        }
        if is_root_file(name) {
            // certmend's own (DEPLOY.txt, set-permissions.cmd): a link there would send
            // whoever opens or runs it elsewhere.
            if untrusted::is_link(path) {
                checker.link(path, Whose::NONE);
            }
            continue;
        }
        if untrusted::is_link(path) {
            checker.link(path, Whose::NONE);
            continue;
        }
        if !fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        if let Some(row) = checker.known_bundle(&dir, path, name)? {
            checker.check_bundle(path, name, &row, &mut shared);
        }
    }
    if !shared.is_empty() {
        check_tools(&mut checker, &dir, &shared);
    }
    check_entry(&mut checker, &dir)?;
    Ok(checker.report)
}

/// The entry script and README at the root against what the latest export there
/// recorded; a target without such a record has none to check.
fn check_entry(checker: &mut Checker<'_>, dir: &Path) -> Result<(), BundleError> {
    let versions = checker.store.entry_file_versions(dir)?;
    let Some((_, files)) = versions.first() else {
        return Ok(());
    };
    // An export records the root files before it puts them in place, so one stopped in
    // between leaves an earlier version: any version certmend recorded here is its own.
    let recorded = |name: &str| -> BTreeSet<String> {
        versions
            .iter()
            .flat_map(|(_, files)| files.iter().filter(|f| f.name == name))
            .map(|f| f.sha256.to_ascii_uppercase())
            .collect()
    };
    for f in files {
        let Some(path) = find_child_ci(dir, &f.name) else {
            checker.finding(
                "bundle_check.missing",
                &dir.join(&f.name),
                Whose::NONE,
                Some(&f.sha256),
                None,
                &[],
                format!("missing: certmend wrote it (SHA-256 {})", f.sha256),
            );
            continue;
        };
        if untrusted::is_link(&path) {
            checker.link(&path, Whose::NONE);
            continue;
        }
        checker.compare_file_to_any(&path, f, &recorded(&f.name));
    }
    Ok(())
}

/// Shared tool name (lower case) -> (name, the hashes bundles recorded for it).
type SharedTools = BTreeMap<String, (String, BTreeSet<String>)>;

/// What is in the target folder, by name, sorted.
fn target_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, BundleError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            return Err(BundleError::NoTarget {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut entries: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// The folders of the target certmend writes that are no bundle: an export's temporary
/// folders, the shared tools (checked on their own) and the receipts.
fn is_ours_not_a_bundle(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
        || [TOOLS_DIR, RECEIPTS_DIR]
            .iter()
            .any(|ours| ours.eq_ignore_ascii_case(name))
}

/// The files certmend writes at a target's root besides the bundles (a share export's
/// DEPLOY.txt and set-permissions.cmd), in any letter case.
fn is_root_file(name: &str) -> bool {
    super::deploy::ROOT_FILES
        .iter()
        .any(|ours| ours.eq_ignore_ascii_case(name))
}

impl Checker<'_> {
    /// The record of the bundle folder `path` holds, or None when it is no bundle or one
    /// certmend has no record of (reported).
    fn known_bundle(
        &mut self,
        dir: &Path,
        path: &Path,
        name: &str,
    ) -> Result<Option<Box<BundleRow>>, BundleError> {
        let id = match self.identify(dir, path, name)? {
            Identity::Known(row) => return Ok(Some(row)),
            Identity::NotABundle => return Ok(None),
            Identity::Unknown(id) => id.unwrap_or_default(),
        };
        let reason = if id.is_empty() {
            "looks like a repair bundle (a manifest or a repair.cmd) that certmend has no record of; do not run it".to_string()
        } else {
            format!(
                "holds bundle {id}, which this certmend database has no record of; do not run it"
            )
        };
        self.finding(
            "bundle_check.unknown_bundle",
            path,
            Whose {
                bundle_id: (!id.is_empty()).then_some(id.as_str()),
                agent: None,
            },
            None,
            None,
            &[],
            reason,
        );
        Ok(None)
    }

    /// A known bundle's folder against its record: every file, and the folder's name;
    /// the shared tools it uses are added to `shared`.
    fn check_bundle(&mut self, path: &Path, name: &str, row: &BundleRow, shared: &mut SharedTools) {
        let whose = Whose {
            bundle_id: Some(&row.id),
            agent: Some(&row.agent_name),
        };
        let Some(files) = &row.files else {
            self.finding(
                "bundle_check.not_recorded",
                path,
                whose,
                None,
                None,
                &[],
                format!(
                    "bundle {} was written by a certmend that did not record its files, so it cannot be checked; export this agent again",
                    row.id
                ),
            );
            return;
        };
        self.report.bundles += 1;
        if !row.folder.eq_ignore_ascii_case(name) {
            self.finding(
                "bundle_check.moved",
                path,
                whose,
                None,
                None,
                &[("recorded", &row.folder)],
                format!(
                    "holds bundle {} of {}, which certmend wrote into the folder {}",
                    row.id, row.agent_name, row.folder
                ),
            );
        }
        self.compare_folder(path, files, whose);
        for f in files {
            if let Some(tool) = f.name.strip_prefix(TOOLS_PREFIX) {
                shared
                    .entry(tool.to_ascii_lowercase())
                    .or_insert_with(|| (tool.to_string(), BTreeSet::new()))
                    .1
                    .insert(f.sha256.to_ascii_uppercase());
            }
        }
    }
}

/// The shared `tools\` folder: each file some bundle uses must have a hash a bundle
/// recorded for it; anything else there is reported.
fn check_tools(checker: &mut Checker<'_>, dir: &Path, shared: &SharedTools) {
    let tools = find_child_ci(dir, TOOLS_DIR).unwrap_or_else(|| dir.join(TOOLS_DIR));
    let whose = Whose::NONE;
    if untrusted::is_link(&tools) {
        checker.link(&tools, whose);
        return;
    }
    let mut seen = BTreeSet::new();
    if let Ok(entries) = fs::read_dir(&tools) {
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some((_, hashes)) = shared.get(&name.to_ascii_lowercase()) else {
                checker.added(&path, &name, whose);
                continue;
            };
            seen.insert(name.to_ascii_lowercase());
            let Some(found) = checker.hash(&path, &name, whose) else {
                continue;
            };
            if !hashes.contains(&found.to_ascii_uppercase()) {
                let expected = hashes.iter().cloned().collect::<Vec<_>>().join(" or ");
                checker.finding(
                    "bundle_check.changed",
                    &path,
                    whose,
                    Some(&expected),
                    Some(&found),
                    &[],
                    format!(
                        "changed since certmend wrote it (SHA-256 {expected} written, {found} found)"
                    ),
                );
            }
        }
    }
    for (key, (name, hashes)) in shared {
        if !seen.contains(key) {
            let expected = hashes.iter().cloned().collect::<Vec<_>>().join(" or ");
            checker.finding(
                "bundle_check.missing",
                &tools.join(name),
                whose,
                Some(&expected),
                None,
                &[],
                format!("missing: certmend wrote it (SHA-256 {expected}) and bundles here use it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{export, ExportOptions, Selection};
    use crate::progress::{Cancel, NoProgress};
    use crate::script::{IpXferSyntax, Password, ScriptLanguage};
    use crate::testutil::{demo_world, DemoWorld};

    fn exported(shared_tools: bool) -> (DemoWorld, PathBuf) {
        let mut world = demo_world(9, true);
        let out = world.tmp.path().join("stick");
        export(
            &mut world.store,
            &world.server,
            &ExportOptions {
                out_dir: out.clone(),
                selection: Selection::Agents(vec!["PC-ACCT-017".into(), "PC-DEV-024".into()]),
                ipxfer_dir: None,
                shared_tools,
                syntax: IpXferSyntax::Seed,
                language: ScriptLanguage::En,
                password: Password::Prompt,
                share: None,
            },
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        (world, out)
    }

    fn codes(check: &TargetCheck) -> Vec<(&'static str, String)> {
        check
            .findings
            .iter()
            .map(|f| {
                let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
                (f.code, name)
            })
            .collect()
    }

    /// An export records its root files before it puts them in place: one stopped in
    /// between leaves the earlier version, which is certmend's; any other text is not.
    #[test]
    fn an_earlier_recorded_root_script_is_certmends_and_any_other_is_a_finding() {
        let (mut world, out) = exported(false);
        let first = fs::read(out.join("repair.cmd")).unwrap();
        export(
            &mut world.store,
            &world.server,
            &ExportOptions {
                out_dir: out.clone(),
                selection: Selection::Agents(vec!["PC-DEV-024".into()]),
                ipxfer_dir: None,
                shared_tools: false,
                syntax: IpXferSyntax::Seed,
                language: ScriptLanguage::En,
                password: Password::Prompt,
                share: None,
            },
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
        assert_ne!(
            fs::read(out.join("repair.cmd")).unwrap(),
            first,
            "a new entry script"
        );
        fs::write(out.join("repair.cmd"), &first).unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        assert!(check.is_clean(), "{:#?}", check.findings);

        let mut changed = first.clone();
        changed.extend_from_slice(b"\r\ncall evil.cmd\r\n");
        fs::write(out.join("repair.cmd"), &changed).unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        assert_eq!(
            codes(&check),
            [("bundle_check.changed", "repair.cmd".to_string())]
        );
    }

    #[test]
    fn a_stick_as_written_is_clean_and_every_change_is_named() {
        let (world, out) = exported(false);
        let clean = verify_target(&world.store, &out).unwrap();
        assert!(clean.is_clean(), "{:#?}", clean.findings);
        assert_eq!(clean.bundles, 2);
        // Six files per bundle: certificate, two IpXfer, script, README, manifest; and
        // the entry script and its README at the root.
        assert_eq!(clean.files, 12 + 2);

        let acct = out.join("PC-ACCT-017");
        let dev = out.join("PC-DEV-024");
        // A swapped IpXfer, a planted DLL, a removed README, a new folder.
        fs::write(acct.join("IpXfer_x64.exe"), b"MZ not Trend's").unwrap();
        fs::write(acct.join("version.dll"), b"MZ planted").unwrap();
        fs::remove_file(dev.join("README.txt")).unwrap();
        fs::create_dir(dev.join("extra")).unwrap();
        // A folder that looks like a bundle and that certmend never wrote.
        fs::create_dir(out.join("PC-EVIL")).unwrap();
        fs::write(out.join("PC-EVIL").join("repair.cmd"), b"@echo off\r\n").unwrap();
        // Neither a bundle nor a file at the root are findings.
        fs::create_dir(out.join("photos")).unwrap();
        fs::write(out.join("notes.txt"), b"hello").unwrap();

        let check = verify_target(&world.store, &out).unwrap();
        let found = codes(&check);
        assert_eq!(
            found,
            [
                ("bundle_check.changed", "IpXfer_x64.exe".to_string()),
                ("bundle_check.added", "version.dll".to_string()),
                ("bundle_check.added", "extra".to_string()),
                ("bundle_check.missing", "README.txt".to_string()),
                ("bundle_check.unknown_bundle", "PC-EVIL".to_string()),
            ],
            "{:#?}",
            check.findings
        );
        let changed = &check.findings[0];
        assert_eq!(changed.agent.as_deref(), Some("PC-ACCT-017"));
        assert_eq!(
            changed.found.as_deref(),
            Some(crate::hexfmt::sha256_hex(b"MZ not Trend's").as_str())
        );
        let written = fs::read(
            world
                .summary
                .install_folder
                .join("PCCSRV/Admin/Utility/IpXfer/IpXfer_x64.exe"),
        )
        .unwrap();
        assert_eq!(
            changed.expected.as_deref(),
            Some(crate::hexfmt::sha256_hex(&written).as_str())
        );
        assert!(changed.reason.contains("changed since certmend wrote it"));
        assert_eq!(
            changed.args["file"],
            acct.join("IpXfer_x64.exe").display().to_string()
        );
        assert_eq!(
            check.findings[1].found.as_deref(),
            Some(crate::hexfmt::sha256_hex(b"MZ planted").as_str())
        );
        assert!(check.findings[3].expected.is_some());
    }

    #[test]
    fn a_manifest_rewritten_to_vouch_for_a_swapped_file_is_caught() {
        let (world, out) = exported(false);
        let folder = out.join("PC-ACCT-017");
        // The attacker swaps the certificate and updates the manifest to match it.
        let evil = b"-----BEGIN CERTIFICATE-----\nnot the server's\n";
        fs::write(folder.join("OfcNTCer.dat"), evil).unwrap();
        let mut manifest: Manifest =
            serde_json::from_slice(&fs::read(folder.join(MANIFEST)).unwrap()).unwrap();
        for f in &mut manifest.files {
            if f.name == CERTIFICATE {
                f.sha256 = crate::hexfmt::sha256_hex(evil);
                f.size = evil.len() as u64;
            }
        }
        fs::write(
            folder.join(MANIFEST),
            serde_json::to_vec(&manifest).unwrap(),
        )
        .unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        let names: Vec<_> = codes(&check);
        assert_eq!(
            names,
            [
                ("bundle_check.changed", "OfcNTCer.dat".to_string()),
                ("bundle_check.changed", "manifest.json".to_string()),
            ],
            "{:#?}",
            check.findings
        );
        // A manifest that is not JSON at all: the folder is still known by its name.
        fs::write(folder.join(MANIFEST), b"{ nonsense").unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        assert!(check
            .findings
            .iter()
            .any(|f| f.code == "bundle_check.changed"
                && f.path.ends_with(MANIFEST)
                && f.agent.as_deref() == Some("PC-ACCT-017")));
    }

    #[test]
    fn shared_tools_are_checked_once_for_every_bundle_that_uses_them() {
        let (world, out) = exported(true);
        let clean = verify_target(&world.store, &out).unwrap();
        assert!(clean.is_clean(), "{:#?}", clean.findings);
        // Four files per bundle, the two shared tools, the two root files.
        assert_eq!(clean.files, 2 * 4 + 2 + 2);
        let tools = out.join(TOOLS_DIR);
        fs::write(tools.join("IpXfer.exe"), b"MZ swapped").unwrap();
        fs::write(tools.join("winmm.dll"), b"MZ planted").unwrap();
        fs::remove_file(tools.join("IpXfer_x64.exe")).unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        assert_eq!(
            codes(&check),
            [
                ("bundle_check.changed", "IpXfer.exe".to_string()),
                ("bundle_check.added", "winmm.dll".to_string()),
                ("bundle_check.missing", "IpXfer_x64.exe".to_string()),
            ],
            "{:#?}",
            check.findings
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_on_the_stick_are_reported_and_never_followed() {
        let (world, out) = exported(true);
        let secret = world.tmp.path().join("local-secret.bin");
        fs::write(&secret, b"not for the stick").unwrap();
        let acct = out.join("PC-ACCT-017");
        // A bundle file replaced by a link to a local file, a link added beside it,
        // a whole bundle folder that is a link, a shared tool that is a link.
        fs::remove_file(acct.join("OfcNTCer.dat")).unwrap();
        std::os::unix::fs::symlink(&secret, acct.join("OfcNTCer.dat")).unwrap();
        std::os::unix::fs::symlink(&secret, acct.join("evil.dll")).unwrap();
        std::os::unix::fs::symlink(world.tmp.path(), out.join("PC-LINK")).unwrap();
        let tool = out.join(TOOLS_DIR).join("IpXfer.exe");
        fs::remove_file(&tool).unwrap();
        std::os::unix::fs::symlink(&secret, &tool).unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        assert_eq!(
            codes(&check),
            [
                ("bundle_check.link", "OfcNTCer.dat".to_string()),
                ("bundle_check.link", "evil.dll".to_string()),
                ("bundle_check.link", "PC-LINK".to_string()),
                ("bundle_check.link", "IpXfer.exe".to_string()),
            ],
            "{:#?}",
            check.findings
        );
        // Nothing was read through a link: no hash of the secret anywhere.
        let secret_hash = crate::hexfmt::sha256_hex(b"not for the stick");
        assert!(check
            .findings
            .iter()
            .all(|f| f.found.as_deref() != Some(secret_hash.as_str())));
    }

    #[test]
    fn a_bundle_copied_into_another_folder_is_named() {
        let (world, out) = exported(false);
        let from = out.join("PC-ACCT-017");
        let to = out.join("PC-COPY");
        fs::create_dir(&to).unwrap();
        for entry in fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
        let check = verify_target(&world.store, &out).unwrap();
        assert_eq!(
            codes(&check),
            [("bundle_check.moved", "PC-COPY".to_string())],
            "{:#?}",
            check.findings
        );
        assert_eq!(check.findings[0].args["recorded"], "PC-ACCT-017");
    }

    #[test]
    fn a_missing_target_is_an_error_naming_it() {
        let world = demo_world(9, false);
        let gone = world.tmp.path().join("no-stick");
        let err = verify_target(&world.store, &gone).unwrap_err();
        assert_eq!(err.code(), "bundle.no_target");
        assert!(err.to_string().contains("no-stick"), "{err}");
    }

    /// The root's entry script is checked like a bundle file: changed, it is a finding.
    #[test]
    fn a_changed_entry_script_at_the_root_is_a_finding() {
        let (world, out) = exported(false);
        let script = out.join(SCRIPT);
        let text = fs::read_to_string(&script).unwrap();
        assert!(text.contains("set \"B_DIR=PC-ACCT-017\""), "{text}");
        assert!(text.contains("set \"B_DIR=PC-DEV-024\""), "{text}");
        fs::write(&script, text.replace("goto tampered", "rem")).unwrap();
        fs::remove_file(out.join(super::super::README)).unwrap();
        let check = verify_target(&world.store, &out).unwrap();
        let codes = codes(&check);
        assert!(
            codes.contains(&("bundle_check.changed", "repair.cmd".to_string())),
            "{codes:?}"
        );
        assert!(
            codes.contains(&("bundle_check.missing", "README.txt".to_string())),
            "{codes:?}"
        );
    }
}
