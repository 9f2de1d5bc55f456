//! What many unit tests start from: a demo server written to a temporary folder, read
//! into a fresh store, its agent list imported.

use crate::demo::{self, DemoSummary};
use crate::inventory::{self, RecordedServer};
use crate::progress::{Cancel, NoProgress};
use crate::store::Store;

pub struct DemoWorld {
    pub tmp: tempfile::TempDir,
    pub summary: DemoSummary,
    pub store: Store,
    pub server: RecordedServer,
}

/// The demo server for `seed`, recorded in a new store; with its list imported when
/// `import_list`.
pub fn demo_world(seed: u64, import_list: bool) -> DemoWorld {
    let tmp = tempfile::tempdir().unwrap();
    let summary = demo::write_demo(
        &tmp.path().join("drive"),
        &demo::DemoOptions {
            seed: Some(seed),
            force: false,
        },
    )
    .unwrap();
    let mut store = Store::open(&tmp.path().join("db.sqlite3")).unwrap();
    let server = inventory::open(&mut store, &summary.install_folder).unwrap();
    if import_list {
        crate::agents::import::import_list(
            &mut store,
            server.server_id,
            &summary.list_file,
            &NoProgress,
            &Cancel::new(),
        )
        .unwrap();
    }
    DemoWorld {
        tmp,
        summary,
        store,
        server,
    }
}
