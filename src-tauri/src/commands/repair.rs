//! Repair: drives, the export (a job with progress and Cancel), receipts read back
//! (on request, and by themselves when a target's receipts change).

use std::path::{Path, PathBuf};
use std::time::Duration;

use certmend_core::bundle::Destination;
use certmend_core::bundle::{self, Estimate, Selection, SyntaxRequest, TargetCheck, XgValues};
use certmend_core::contract::events;
use certmend_core::drives::{self, Drive};
use certmend_core::ops::repair::{AgentPassword, FleetProgress};
use certmend_core::ops::{self, ServerRef};
use certmend_core::receipts::{self, ReceiptsReport};
use certmend_core::script::{ScriptLanguage, ToolsLocation};
use certmend_core::store::Store;
use certmend_core::{watch, CodedMessage};
use serde::Deserialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use zeroize::Zeroizing;

use super::agents::spawn_job;
use super::{blocking, coded, path_from_window};
use crate::state::{lock, AppState};

#[tauri::command]
pub async fn list_drives() -> Result<Vec<Drive>, CodedMessage> {
    blocking(|| Ok(drives::removable_drives())).await
}

/// Where an export goes, as the dialog says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportDestination {
    #[default]
    Stick,
    Share,
}

/// The export dialog's choices.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportRequest {
    pub out_dir: String,
    /// Agent names; empty with `all_mismatched`.
    #[serde(default)]
    pub agents: Vec<String>,
    #[serde(default)]
    pub all_mismatched: bool,
    #[serde(default)]
    pub shared_tools: bool,
    /// `auto` (the server version's default; also when absent), `seed` or `xg`.
    #[serde(default)]
    pub syntax: Option<SyntaxRequest>,
    /// Older windows' form: `true` = `xg` (when `syntax` is absent).
    #[serde(default)]
    pub xg: bool,
    /// For xg: the values the dialog holds; missing ones come from ofcscan.ini.
    #[serde(default)]
    pub xg_values: XgValues,
    /// `en` or `ja`.
    #[serde(default)]
    pub language: String,
    /// `stick` (the default) or `share`: a share export also gets DEPLOY.txt and
    /// set-permissions.cmd naming `share_path`, the path the agents use.
    #[serde(default)]
    pub destination: ExportDestination,
    #[serde(default)]
    pub share_path: Option<String>,
    /// Present only when the admin chose to embed the password in the scripts.
    #[serde(default)]
    pub embedded_password: Option<String>,
}

impl ExportRequest {
    /// The request the core takes; `ask` hands over the embedded password, if any.
    fn to_ops<'a>(
        &self,
        ask: &'a dyn Fn() -> Result<Zeroizing<String>, CodedMessage>,
    ) -> Result<ops::repair::ExportRequest<'a>, CodedMessage> {
        Ok(ops::repair::ExportRequest {
            out_dir: path_from_window(&self.out_dir)?,
            selection: if self.all_mismatched {
                Selection::AllMismatched
            } else {
                Selection::Agents(self.agents.clone())
            },
            ipxfer_dir: None,
            tools: if self.shared_tools {
                ToolsLocation::Shared
            } else {
                ToolsLocation::InBundle
            },
            syntax: self.syntax.unwrap_or(if self.xg {
                SyntaxRequest::Xg
            } else {
                SyntaxRequest::Auto
            }),
            xg: self.xg_values.clone(),
            language: if self.language == "ja" {
                ScriptLanguage::Ja
            } else {
                ScriptLanguage::En
            },
            password: match self.embedded_password {
                Some(_) => AgentPassword::Embedded(ask),
                None => AgentPassword::AskedByScript,
            },
            destination: match self.destination {
                ExportDestination::Stick => Destination::Stick,
                ExportDestination::Share => Destination::Share {
                    share_path: self.share_path.clone().filter(|p| !p.trim().is_empty()),
                },
            },
        })
    }

    fn password(&self) -> Result<Zeroizing<String>, CodedMessage> {
        Ok(Zeroizing::new(
            self.embedded_password.clone().unwrap_or_default(),
        ))
    }
}

/// Checks the export's choices and sizes it (bundles, bytes needed, free), writing nothing.
#[tauri::command]
pub async fn export_estimate<R: Runtime>(
    app: AppHandle<R>,
    request: ExportRequest,
) -> Result<Estimate, CodedMessage> {
    blocking(move || {
        let state = app.state::<AppState>();
        let server = state.server()?;
        let ask = || request.password();
        let estimate = ops::repair::estimate(
            &mut state.store(),
            ServerRef::Recorded(&server),
            request.to_ops(&ask)?,
        );
        estimate
    })
    .await
}

/// Writes the bundles as a job; the target is then watched for receipts.
#[tauri::command]
pub fn start_export<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: ExportRequest,
) -> Result<u64, CodedMessage> {
    let server = state.server()?;
    // Checked now, so a bad path fails the call rather than the job.
    path_from_window(&request.out_dir)?;
    let db = state.db.clone();
    let (id, cancel) = state.new_job("export");
    let app2 = app.clone();
    spawn_job(app, id, "export", move |progress| {
        let mut store = Store::open(&db).map_err(coded)?;
        let ask = || request.password();
        let report = ops::repair::export(
            &mut store,
            ServerRef::Recorded(&server),
            request.to_ops(&ask)?,
            progress,
            &cancel,
        )?;
        let state = app2.state::<AppState>();
        {
            let mut targets = lock(&state.targets);
            if !targets.contains(&report.out_dir) {
                targets.push(report.out_dir.clone());
            }
        }
        watch_receipts(&app2, &report.out_dir);
        Ok(report)
    });
    Ok(id)
}

/// Reads the receipts on a stick (its root or its receipts folder).
#[tauri::command]
pub async fn read_receipts<R: Runtime>(
    app: AppHandle<R>,
    dir: String,
) -> Result<ReceiptsReport, CodedMessage> {
    let dir = path_from_window(&dir)?;
    blocking(move || {
        let state = app.state::<AppState>();
        let report = ops::repair::read_receipts(&mut state.store(), &dir);
        report
    })
    .await
}

/// Checks every bundle on a stick (its root, the folder exported to) against what
/// certmend wrote: changed, added and missing files, links, bundles it does not know.
#[tauri::command]
pub async fn verify_bundles<R: Runtime>(
    app: AppHandle<R>,
    dir: String,
) -> Result<TargetCheck, CodedMessage> {
    let dir = path_from_window(&dir)?;
    blocking(move || {
        let state = app.state::<AppState>();
        let check = ops::repair::verify(&state.store(), &dir);
        check
    })
    .await
}

/// How a (share) export is doing: its bundles and what their latest receipts say.
#[tauri::command]
pub async fn export_progress<R: Runtime>(
    app: AppHandle<R>,
    dir: String,
) -> Result<FleetProgress, CodedMessage> {
    let dir = path_from_window(&dir)?;
    blocking(move || {
        let state = app.state::<AppState>();
        let server = state.server()?;
        let progress =
            ops::repair::fleet_progress(&mut state.store(), ServerRef::Recorded(&server), &dir);
        progress
    })
    .await
}

/// Watches an export target: receipts written there (a stick plugged in again) are
/// read at once and the window told (`receipts-applied`).
fn watch_receipts<R: Runtime>(app: &AppHandle<R>, target: &Path) {
    let emitter = app.clone();
    let dir = target.to_path_buf();
    let watching = watch::watch(target, Duration::from_millis(700), move |paths| {
        if !paths.iter().any(|p| {
            p.components()
                .any(|c| c.as_os_str().eq_ignore_ascii_case(bundle::RECEIPTS_DIR))
        }) {
            return;
        }
        let state = emitter.state::<AppState>();
        let news = ops::repair::receipts_news(&mut state.store(), &dir);
        if let Some(report) = news {
            let _ = emitter.emit(events::RECEIPTS_APPLIED, report);
        }
    });
    if let Ok(w) = watching {
        let state = app.state::<AppState>();
        lock(&state.watches).insert(format!("target:{}", target.display()), w);
    }
}

/// Every few seconds, each export target's receipts are compared with what was seen
/// before; new ones are read and the window told. This catches a stick plugged in
/// again, which the file watch (gone with the old mount) cannot.
pub fn poll_receipts<R: Runtime>(app: AppHandle<R>) {
    std::thread::spawn(move || {
        let mut seen = std::collections::HashMap::new();
        loop {
            std::thread::sleep(Duration::from_secs(3));
            let state = app.state::<AppState>();
            let targets = lock(&state.targets).clone();
            for target in targets {
                let signature = receipts::receipts_signature(&target);
                if signature.is_none() || seen.get(&target) == Some(&signature) {
                    seen.insert(target, signature);
                    continue;
                }
                seen.insert(target.clone(), signature);
                let news = ops::repair::receipts_news(&mut state.store(), &target);
                if let Some(report) = news {
                    let _ = app.emit(events::RECEIPTS_APPLIED, report);
                }
            }
        }
    });
}

/// Opens a folder in the OS file manager: only folders this app wrote (export targets,
/// the backup folder).
#[tauri::command]
pub fn open_folder(state: State<'_, AppState>, path: String) -> Result<(), CodedMessage> {
    let folder = path_from_window(&path)?;
    let backups = certmend_core::paths::backups_dir();
    let allowed = folder_allowed(&folder, &lock(&state.targets), backups.as_deref());
    if !allowed || !folder.is_dir() {
        return Err(CodedMessage::new(
            "app.folder_not_allowed",
            format!("{}: not a folder this app wrote to", folder.display()),
        ));
    }
    let opener: (&str, Vec<PathBuf>) = if cfg!(windows) {
        ("explorer", vec![folder])
    } else if cfg!(target_os = "macos") {
        ("open", vec![folder])
    } else {
        ("xdg-open", vec![folder])
    };
    std::process::Command::new(opener.0)
        .args(&opener.1)
        .spawn()
        .map(drop)
        .map_err(|e| CodedMessage::new("app.open_folder", format!("cannot open the folder: {e}")))
}

/// Whether `folder` is inside one this app wrote to. `..` is refused outright: the
/// check compares path components, and `target/../elsewhere` starts with `target`.
fn folder_allowed(folder: &Path, targets: &[PathBuf], backups: Option<&Path>) -> bool {
    if folder
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return false;
    }
    targets.iter().any(|t| folder.starts_with(t)) || backups.is_some_and(|b| folder.starts_with(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_request_names_its_syntax_or_follows_the_server() {
        let parse =
            |json: serde_json::Value| -> ExportRequest { serde_json::from_value(json).unwrap() };
        let bare = parse(serde_json::json!({"out_dir": "/media/stick"}));
        assert_eq!((bare.syntax, bare.xg), (None, false));
        assert_eq!(bare.xg_values, XgValues::default());
        let typed = parse(serde_json::json!({
            "out_dir": "/media/stick",
            "syntax": "xg",
            "xg_values": {"server": "apex.example", "https_port": 4343}
        }));
        assert_eq!(typed.syntax, Some(SyntaxRequest::Xg));
        assert_eq!(typed.xg_values.server.as_deref(), Some("apex.example"));
        assert_eq!(typed.xg_values.https_port, Some(4343));
        assert_eq!(typed.xg_values.http_port, None);
        assert!(serde_json::from_value::<ExportRequest>(
            serde_json::json!({"out_dir": "/x", "syntax": "officescan11"})
        )
        .is_err());
    }

    #[test]
    fn only_folders_the_app_wrote_open() {
        let targets = vec![PathBuf::from("/media/stick/kits")];
        let backups = Path::new("/home/a/.local/share/certmend/backups");
        let allowed = |p: &str| folder_allowed(Path::new(p), &targets, Some(backups));
        assert!(allowed("/media/stick/kits"));
        assert!(allowed("/media/stick/kits/PC-01"));
        assert!(allowed(
            "/home/a/.local/share/certmend/backups/pre-restore-1"
        ));
        assert!(!allowed("/media/stick"));
        assert!(!allowed("/media/stick/kits/../../../etc"));
        assert!(!allowed("/media/stick/kitsune"));
        assert!(!allowed("/etc"));
    }
}
