//! Progress reporting and cancellation for long work (import, export, backup), so the
//! CLI can draw a bar and the app can emit events from the same core code.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Receives progress: `done` of `total` units (bytes, bundles; the caller says which).
pub trait Progress {
    fn update(&self, done: u64, total: u64);

    /// Items (bundles) done of total, for work that has them besides bytes.
    fn item(&self, _done: u64, _total: u64) {}
}

/// Reports nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _done: u64, _total: u64) {}
}

/// A cancellation flag shared between the worker and whoever may cancel it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
