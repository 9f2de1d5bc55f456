//! The target folder of an export: one export at a time, what interrupted ones left,
//! what earlier ones wrote (bundle folders and the shared `tools\`), and which folder
//! each agent's bundle goes to.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::names::FolderNames;
use super::plan::{Prepared, Source};
use super::{verify_target, write_err, BundleError, Manifest, TargetCheck};
use super::{MANIFEST, RECEIPTS_DIR, TEMP_PREFIX, TOOLS_DIR};
use crate::fsutil::sha256_file;
use crate::hexfmt::sha256_hex;
use crate::store::Store;

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
            // A bundle being staged is a folder; a root file being replaced atomically (the
            // entry script, DEPLOY.txt) is a file. A link is removed itself, never followed.
            let is_folder = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            let removing = if is_folder {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removing.map_err(write_err(&path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Held while an export writes to a folder. A second export to the same folder (the app
/// and the CLI, say) would take the first one's temporary bundle folders for leftovers
/// of a killed run and remove them: it is refused instead. The lock files live beside
/// the database (`<database>-export-locks/`, one per target; the stick gets no extra
/// file); the OS releases a lock when its process ends, however it ends.
pub(super) fn lock_target(store: &Store, out_dir: &Path) -> Result<File, BundleError> {
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

/// What earlier exports left on the target, checked against what certmend recorded
/// before anything is replaced (`None` when the target does not exist yet).
pub(super) fn check_earlier_bundles(
    store: &Store,
    out_dir: &Path,
) -> Result<Option<TargetCheck>, BundleError> {
    if out_dir.is_dir() {
        Ok(Some(verify_target(store, out_dir)?))
    } else {
        Ok(None)
    }
}

/// The folder each agent's bundle goes to. Names already on the target are never given
/// to another agent; an agent's own earlier bundle folder is reused (its bundle
/// superseded in place). With shared tools, refuses new IpXfer files in `tools\` that
/// bundles staying on the target still use.
pub(super) fn assign_folders(store: &Store, plan: &Prepared) -> Result<Vec<String>, BundleError> {
    let on_target = bundles_on_target(&plan.out_dir, store)?;
    let mut folder_names = FolderNames::new();
    for entry in &on_target {
        folder_names.take(&entry.name);
    }
    let mut reused = vec![false; on_target.len()];
    let folders: Vec<String> = plan
        .agents
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
    let shared = plan.tools_location == crate::script::ToolsLocation::Shared;
    if shared && !shared_tools_current(&plan.out_dir, &plan.tools) {
        let users = on_target
            .iter()
            .zip(&reused)
            .filter(|(e, replaced)| e.uses_shared_tools && !**replaced)
            .count();
        if users > 0 {
            return Err(BundleError::SharedToolsInUse {
                path: plan.out_dir.join(TOOLS_DIR),
                bundles: users,
            });
        }
    }
    Ok(folders)
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
pub(super) fn shared_tools_current(out_dir: &Path, tools: &[Source; 2]) -> bool {
    let dir = out_dir.join(TOOLS_DIR);
    !crate::untrusted::is_link(&dir)
        && tools.iter().all(|t| {
            let path = dir.join(t.name);
            !crate::untrusted::is_link(&path)
                && matches!(sha256_file(&path), Ok((_, h)) if h == t.sha256)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A killed export can leave a staged bundle folder and a half-replaced root file
    /// (both named with the temporary prefix): the next export removes both.
    #[test]
    fn leftover_folders_and_files_are_both_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join(format!("{TEMP_PREFIX}abc"));
        fs::create_dir_all(folder.join("inner")).unwrap();
        fs::write(folder.join("inner/x"), b"x").unwrap();
        let file = tmp.path().join(format!("{TEMP_PREFIX}def"));
        fs::write(&file, b"half a repair.cmd").unwrap();
        fs::write(tmp.path().join("repair.cmd"), b"kept").unwrap();
        let mut removed = remove_leftovers(tmp.path()).unwrap();
        removed.sort();
        assert_eq!(removed, [folder.clone(), file.clone()]);
        assert!(!folder.exists() && !file.exists());
        assert!(tmp.path().join("repair.cmd").is_file());
    }
}
