//! What the app holds between commands: the store, the server in use, running jobs
//! and watches. Everything else lives in the store (shared with the CLI).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use certmend_core::inventory::RecordedServer;
use certmend_core::progress::Cancel;
use certmend_core::server::CodedMessage;
use certmend_core::store::Store;
use certmend_core::watch::Watch;

pub struct AppState {
    /// The database file: long jobs open their own connection to it.
    pub db: PathBuf,
    store: Mutex<Store>,
    server: Mutex<Option<RecordedServer>>,
    jobs: Mutex<HashMap<u64, (&'static str, Cancel)>>,
    next_job: AtomicU64,
    /// Folders this app exported bundles to: the only ones `open_folder` opens besides
    /// the backup folder, and the ones watched for receipts.
    pub targets: Mutex<Vec<PathBuf>>,
    /// Alive while watching (the server certificate, export targets).
    pub watches: Mutex<HashMap<String, Watch>>,
}

/// A poisoned lock means a command panicked, which is a bug; the data behind it (the
/// store connection, a path) is still sound, so carry on with it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn internal(message: impl std::fmt::Display) -> CodedMessage {
    CodedMessage::new("app.internal", message.to_string())
}

impl AppState {
    pub fn open() -> Result<Self, CodedMessage> {
        let db = Store::default_path().map_err(|e| CodedMessage::from_error(&e))?;
        let store = Store::open(&db).map_err(|e| CodedMessage::from_error(&e))?;
        Ok(Self {
            db,
            store: Mutex::new(store),
            server: Mutex::new(None),
            jobs: Mutex::new(HashMap::new()),
            next_job: AtomicU64::new(1),
            targets: Mutex::new(Vec::new()),
            watches: Mutex::new(HashMap::new()),
        })
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// The server in use, or `server.none` before one is open.
    pub fn server(&self) -> Result<RecordedServer, CodedMessage> {
        lock(&self.server)
            .clone()
            .ok_or_else(|| CodedMessage::new("app.no_server", "no server is open yet"))
    }

    pub fn set_server(&self, server: RecordedServer) {
        *lock(&self.server) = Some(server);
    }

    /// A new job id of `kind` (`import`, `export`) with its cancellation token.
    pub fn new_job(&self, kind: &'static str) -> (u64, Cancel) {
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        let cancel = Cancel::new();
        lock(&self.jobs).insert(id, (kind, cancel.clone()));
        (id, cancel)
    }

    pub fn cancel_job(&self, id: u64) -> bool {
        match lock(&self.jobs).get(&id) {
            Some((_, cancel)) => {
                cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Kinds of the jobs running now.
    pub fn running(&self) -> Vec<&'static str> {
        lock(&self.jobs).values().map(|(kind, _)| *kind).collect()
    }

    pub fn cancel_all(&self) {
        for (_, cancel) in lock(&self.jobs).values() {
            cancel.cancel();
        }
    }

    pub fn end_job(&self, id: u64) {
        lock(&self.jobs).remove(&id);
    }
}
