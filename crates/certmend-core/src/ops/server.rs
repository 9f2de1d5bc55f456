//! Finding, opening and reading a server: what the Server view and `certmend detect` /
//! `server show` show.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{coded, CodedMessage};
use crate::backup;
use crate::bundle::{self, IpXferDefaults};
use crate::inventory::{self, RecordedServer};
use crate::server::{self, DetectSources, ServerInstall, ServerReport};
use crate::store::{BackupRow, Store};

/// Every server `sources` lead to, recorded for the certificate history.
#[derive(Debug, Clone, Serialize)]
pub struct Detected {
    pub servers: Vec<ServerInstall>,
    /// Registry `Local_Path` values naming folders that do not exist (a server
    /// uninstalled or moved); the search looked elsewhere.
    pub registry_paths_missing: Vec<PathBuf>,
    /// Why the reads were not recorded, when the store could not take them. Reading
    /// works without the store, so this is a warning, not a failure.
    #[serde(skip)]
    pub not_recorded: Option<CodedMessage>,
}

impl Detected {
    /// At least one server was found, and every one is complete.
    pub fn all_complete(&self) -> bool {
        !self.servers.is_empty() && self.servers.iter().all(|s| s.complete)
    }
}

/// Where to look: `root` (a mounted or copied system drive, or an install folder) or,
/// without one, this machine (registry and both Program Files).
pub fn sources(root: Option<&Path>) -> Result<DetectSources, CodedMessage> {
    match root {
        Some(root) if !root.is_dir() => Err(CodedMessage::new(
            "detect.root_not_found",
            format!("{}: no such folder", root.display()),
        )
        .with_arg("path", root.display())),
        Some(root) => Ok(DetectSources::default().with_root(root)),
        None => Ok(DetectSources::from_system()),
    }
}

/// Finds the servers `sources` lead to and records each read when `store` is there.
pub fn detect(sources: &DetectSources, store: Result<&mut Store, CodedMessage>) -> Detected {
    let servers = server::detect(sources);
    let registry_paths_missing = server::missing_registry_paths(sources);
    let not_recorded = store.and_then(|store| record_all(store, &servers)).err();
    Detected {
        servers,
        registry_paths_missing,
        not_recorded,
    }
}

fn record_all(store: &mut Store, servers: &[ServerInstall]) -> Result<(), CodedMessage> {
    for server in servers {
        inventory::record(store, server.clone()).map_err(coded)?;
    }
    Ok(())
}

/// One install folder read (`server show`): its files and certificate; the read is
/// recorded when `store` is there (see [`Detected::not_recorded`]).
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub report: ServerReport,
    #[serde(skip)]
    pub not_recorded: Option<CodedMessage>,
}

pub fn show(dir: &Path, store: Result<&mut Store, CodedMessage>) -> Result<Shown, CodedMessage> {
    let install = server::open(dir).map_err(coded)?;
    let not_recorded = store
        .and_then(|store| record_all(store, std::slice::from_ref(&install)))
        .err();
    Ok(Shown {
        report: server::report(install),
        not_recorded,
    })
}

/// The server a front end works on, as the Server view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub server_id: i64,
    pub report: ServerReport,
    /// Every server found on this machine (only when it was searched).
    pub found: Vec<ServerInstall>,
    pub fell_back_to_demo: bool,
    /// The newest backup certmend verified of the server's current key pair.
    pub backup: Option<BackupRow>,
    /// The IpXfer syntax the server's version calls for (and why), and the XG values
    /// its ofcscan.ini holds: where an export starts.
    pub ipxfer: IpXferDefaults,
    /// The server as recorded, for the front end to keep working on.
    #[serde(skip)]
    pub recorded: RecordedServer,
}

fn overview(
    store: &mut Store,
    install: ServerInstall,
    found: Vec<ServerInstall>,
    fell_back_to_demo: bool,
) -> Result<Overview, CodedMessage> {
    let recorded = inventory::record(store, install).map_err(coded)?;
    let backup = backup::latest_backup(store, &recorded).map_err(coded)?;
    Ok(Overview {
        server_id: recorded.server_id,
        ipxfer: bundle::ipxfer_defaults(&recorded.report.server),
        report: recorded.report.clone(),
        found,
        fell_back_to_demo,
        backup,
        recorded,
    })
}

/// The server to start on: the first complete one `sources` lead to (or the first
/// incomplete one, so the admin sees what is missing); with none, the demo server whose
/// install folder `demo` gives (`certmend_core::demo::ensure`: the demo sits above this
/// layer, so the front end hands it in).
pub fn open_at_start(
    store: &mut Store,
    sources: &DetectSources,
    demo: &dyn Fn() -> Result<PathBuf, CodedMessage>,
) -> Result<Overview, CodedMessage> {
    match server::first_found(sources) {
        (Some(install), found) => overview(store, install, found, false),
        (None, found) => {
            let install = server::inspect_demo(&demo()?);
            overview(store, install, found, true)
        }
    }
}

/// A folder the admin chose or dropped: an install folder, a PCCSRV folder, or a
/// mounted/copied system drive holding one (its first server).
pub fn choose(store: &mut Store, folder: &Path) -> Result<Overview, CodedMessage> {
    let install = match server::open(folder) {
        Ok(install) => install,
        Err(open_error) => server::detect(&DetectSources::default().with_root(folder))
            .into_iter()
            .next()
            .ok_or_else(|| coded(open_error))?,
    };
    overview(store, install, Vec::new(), false)
}

/// The server at `install_folder`, read again (its certificate may have changed).
pub fn reload(store: &mut Store, install_folder: &Path) -> Result<Overview, CodedMessage> {
    let install = server::open(install_folder).map_err(coded)?;
    overview(store, install, Vec::new(), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn falls_back_to_the_demo_once_and_reuses_it() {
        let tmp = tempfile::tempdir().unwrap();
        let empty_root = tmp.path().join("c");
        fs::create_dir_all(&empty_root).unwrap();
        let sources = DetectSources::default().with_root(&empty_root);
        let demo_root = tmp.path().join("data/demo-server");
        let mut store = Store::open(&tmp.path().join("db.sqlite3")).unwrap();
        let demo = || crate::demo::ensure(&demo_root).map_err(coded);
        let first = open_at_start(&mut store, &sources, &demo).unwrap();
        assert!(first.fell_back_to_demo && first.report.server.demo);
        assert_eq!(first.report.server.found_by, crate::server::FoundBy::Demo);
        let thumb = first.report.certificate.unwrap().sha1_thumbprint;
        let second = open_at_start(&mut store, &sources, &demo).unwrap();
        assert_eq!(second.report.certificate.unwrap().sha1_thumbprint, thumb);

        // A real (even incomplete) server wins over the demo.
        fs::create_dir_all(empty_root.join("Program Files/Trend Micro/OfficeScan/PCCSRV")).unwrap();
        let real = open_at_start(&mut store, &sources, &demo).unwrap();
        assert!(!real.fell_back_to_demo && !real.report.server.complete);
    }
}
