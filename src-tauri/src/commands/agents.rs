//! Agents: importing CertificateManager lists (a job with progress), the paged table,
//! and collected certificates dropped on the window.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use certmend_core::certificate_manager::SystemRunner;
use certmend_core::compare::CompareReport;
use certmend_core::contract::events;
use certmend_core::inventory::ChosenServer;
use certmend_core::ops::agents::{CertificateManagerRun, ImportInto, ImportRequest};
use certmend_core::ops::{self, ServerRef};
use certmend_core::progress::Progress;
use certmend_core::store::{AgentPage, AgentQuery, Store};
use certmend_core::CodedMessage;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use super::{blocking, coded, path_from_window};
use crate::state::{lock, AppState};

/// `job-progress`: bytes (or items) done of the total, at most ten times a second.
#[derive(Debug, Clone, Serialize)]
pub struct JobProgress {
    pub job: u64,
    pub kind: &'static str,
    pub done: u64,
    pub total: u64,
    pub items_done: u64,
    pub items_total: u64,
}

/// `job-done`: the result, or the error, of a job.
#[derive(Debug, Clone, Serialize)]
pub struct JobDone {
    pub job: u64,
    pub kind: &'static str,
    pub result: Option<serde_json::Value>,
    pub error: Option<CodedMessage>,
}

/// Progress that becomes `job-progress` events, throttled.
pub struct EventProgress<R: Runtime> {
    app: AppHandle<R>,
    last: Mutex<(Instant, JobProgress)>,
}

impl<R: Runtime> EventProgress<R> {
    pub fn new(app: AppHandle<R>, job: u64, kind: &'static str) -> Self {
        let start = JobProgress {
            job,
            kind,
            done: 0,
            total: 0,
            items_done: 0,
            items_total: 0,
        };
        Self {
            app,
            last: Mutex::new((Instant::now() - Duration::from_secs(1), start)),
        }
    }

    fn send(&self, change: impl FnOnce(&mut JobProgress)) {
        let mut last = lock(&self.last);
        change(&mut last.1);
        let finished = last.1.total > 0 && last.1.done >= last.1.total;
        if finished || last.0.elapsed() >= Duration::from_millis(100) {
            last.0 = Instant::now();
            let _ = self.app.emit(events::JOB_PROGRESS, last.1.clone());
        }
    }
}

impl<R: Runtime> Progress for EventProgress<R> {
    fn update(&self, done: u64, total: u64) {
        self.send(|p| {
            p.done = done;
            p.total = total;
        });
    }
    fn item(&self, done: u64, total: u64) {
        self.send(|p| {
            p.items_done = done;
            p.items_total = total;
        });
    }
}

/// Runs `work` on its own thread as job `id`, then emits `job-done`.
pub fn spawn_job<R: Runtime, T: Serialize>(
    app: AppHandle<R>,
    id: u64,
    kind: &'static str,
    work: impl FnOnce(&EventProgress<R>) -> Result<T, CodedMessage> + Send + 'static,
) {
    std::thread::spawn(move || {
        let progress = EventProgress::new(app.clone(), id, kind);
        let outcome = work(&progress);
        let (result, error) = match outcome {
            Ok(value) => (serde_json::to_value(value).ok(), None),
            Err(error) => (None, Some(error)),
        };
        app.state::<AppState>().end_job(id);
        let _ = app.emit(
            events::JOB_DONE,
            JobDone {
                job: id,
                kind,
                result,
                error,
            },
        );
    });
}

/// Imports list files into the server in use, one after the other; returns the job id
/// at once. Each file is its own transaction: a bad one does not stop the others. The
/// job's result is each file's outcome.
#[tauri::command]
pub fn start_import<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> Result<u64, CodedMessage> {
    let files = paths
        .iter()
        .map(|p| path_from_window(p))
        .collect::<Result<Vec<_>, _>>()?;
    let server = state.server()?;
    let request = ImportRequest {
        into: ImportInto::Chosen(ChosenServer {
            server_id: server.server_id,
            install_folder: server.report.server.install_folder,
            chosen_by: "given",
        }),
        files,
        certificate_manager: CertificateManagerRun::Skip,
    };
    let db = state.db.clone();
    let (id, cancel) = state.new_job("import");
    spawn_job(app, id, "import", move |progress| {
        let mut store = Store::open(&db).map_err(coded)?;
        let outcome = ops::agents::import(&mut store, request, &SystemRunner, progress, &cancel)?;
        Ok(outcome.files)
    });
    Ok(id)
}

#[tauri::command]
pub fn cancel_job(state: State<'_, AppState>, job: u64) -> bool {
    state.cancel_job(job)
}

/// The agents table asks for the rows it shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageRequest {
    #[serde(flatten)]
    pub query: AgentQuery,
}

#[tauri::command]
pub async fn agents_page<R: Runtime>(
    app: AppHandle<R>,
    request: PageRequest,
) -> Result<AgentPage, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let server_id = state.server()?.server_id;
        let page = ops::agents::page(&state.store(), server_id, request.query);
        page
    })
    .await
}

/// Certificates collected from agents (files or folders of them), compared with the
/// server's.
#[tauri::command]
pub async fn compare_collected<R: Runtime>(
    app: AppHandle<R>,
    paths: Vec<String>,
) -> Result<CompareReport, CodedMessage> {
    let paths = paths
        .iter()
        .map(|p| path_from_window(p))
        .collect::<Result<Vec<_>, _>>()?;
    blocking(move || {
        let state = app.state::<AppState>();
        let server = state.server()?;
        let report = ops::agents::compare(&mut state.store(), ServerRef::Recorded(&server), &paths);
        report
    })
    .await
}

/// What a dropped file is, so the window can say what will happen before it happens.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub path: PathBuf,
    pub kind: certmend_core::dropped::Kind,
}

#[tauri::command]
pub async fn classify_drop(paths: Vec<String>) -> Result<Vec<Dropped>, CodedMessage> {
    let paths = paths
        .iter()
        .map(|p| path_from_window(p))
        .collect::<Result<Vec<_>, _>>()?;
    blocking(move || {
        Ok(paths
            .into_iter()
            .map(|path| Dropped {
                kind: certmend_core::dropped::classify(&path),
                path,
            })
            .collect())
    })
    .await
}
