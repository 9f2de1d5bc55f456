//! Watching folders for changes (a stick's receipts, the server's certificate), with
//! bursts of events folded into one call: a stick being written or a certificate
//! being replaced produces many events for one change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::{new_debouncer, notify::RecursiveMode, DebounceEventResult};

use crate::ErrorCode;

#[derive(Debug, thiserror::Error)]
#[error("{}: cannot be watched for changes: {message}", path.display())]
pub struct WatchError {
    pub path: PathBuf,
    pub message: String,
}

impl ErrorCode for WatchError {
    fn code(&self) -> &'static str {
        "watch.failed"
    }
}

/// Watches while alive; dropping it stops the watching.
pub struct Watch {
    _debouncer: notify_debouncer_mini::Debouncer<notify_debouncer_mini::notify::RecommendedWatcher>,
}

/// Calls `on_change` with the changed paths, at most once per `quiet` period, whenever
/// something under `folder` changes (recursively). The paths are hints: a file created
/// right after its new folder may be reported only as the folder (the OS watch on it
/// starts a moment later), so callers read again what they care about. A folder that
/// does not exist (a stick not plugged in) is an error.
pub fn watch(
    folder: &Path,
    quiet: Duration,
    on_change: impl Fn(Vec<PathBuf>) + Send + 'static,
) -> Result<Watch, WatchError> {
    let error = |e: &dyn std::fmt::Display| WatchError {
        path: folder.to_path_buf(),
        message: e.to_string(),
    };
    let mut debouncer = new_debouncer(quiet, move |result: DebounceEventResult| {
        if let Ok(events) = result {
            let paths: Vec<PathBuf> = events.into_iter().map(|e| e.path).collect();
            if !paths.is_empty() {
                on_change(paths);
            }
        }
    })
    .map_err(|e| error(&e))?;
    debouncer
        .watcher()
        .watch(folder, RecursiveMode::Recursive)
        .map_err(|e| error(&e))?;
    Ok(Watch {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_burst_of_writes_is_folded_into_few_calls() {
        let tmp = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let _watch = watch(tmp.path(), Duration::from_millis(200), move |paths| {
            let _ = tx.send(paths);
        })
        .unwrap();
        let receipts = tmp.path().join("receipts");
        std::fs::create_dir(&receipts).unwrap();
        let started = std::time::Instant::now();
        for i in 0..200 {
            std::fs::write(receipts.join(format!("PC-{i}.txt")), b"x").unwrap();
        }
        let writing = started.elapsed();
        let mut calls = vec![rx.recv_timeout(Duration::from_secs(5)).unwrap()];
        while let Ok(more) = rx.recv_timeout(Duration::from_millis(700)) {
            calls.push(more);
        }
        // Hundreds of events become a handful of calls (the debouncer releases each path
        // once it has been quiet, on its own ticks, so a burst may end in a few calls),
        // and they point at the receipts folder for the caller to read again.
        assert!(
            calls.len() < 20,
            "{} calls for 200 files written in {writing:?}",
            calls.len()
        );
        assert!(calls.iter().flatten().any(|p| p.starts_with(&receipts)));
    }
}
