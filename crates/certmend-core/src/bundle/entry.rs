//! The export's root files: the entry script `repair.cmd` ([`crate::script::entry`])
//! and its `README.txt`, written beside the bundle folders at the end of every export.
//!
//! They list every current bundle of the server on the target (what the store knows,
//! not only this export's), so they are regenerated whole each time: written to a
//! temporary file, flushed, renamed over the old one (atomic on one volume) and read
//! back. The store records them as an event ([`crate::store::ENTRY_WRITTEN`]) with a
//! new export id, so that `bundle verify` can check them like bundle files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::staging::new_bundle_id;
use super::{BundleError, README, SCRIPT};
use crate::durable;
use crate::hexfmt::sha256_hex;
use crate::inventory::RecordedServer;
use crate::script::entry::{self, EntryBundle, EntryOptions};
use crate::script::ScriptLanguage;
use crate::store::{BundleFile, BundleRow, EntryDetail, Store, ENTRY_WRITTEN};

/// What the root files say.
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    /// Names this export in `NOT_LISTED` receipts.
    pub export_id: String,
    pub script: PathBuf,
    pub files: Vec<BundleFile>,
    /// Bundles the entry script runs.
    pub listed: usize,
    /// Agents whose bundle it cannot list (a folder name the script's encoding cannot
    /// hold, or no plain computer name and no GUID): their PCs run their own folder's
    /// repair.cmd.
    pub unlisted: Vec<String>,
}

/// Writes the entry script and README at the root of `out_dir`, for every current
/// bundle of `server` there, and records them.
pub(super) fn write_entry_files(
    store: &mut Store,
    server: &RecordedServer,
    out_dir: &Path,
    language: ScriptLanguage,
) -> Result<EntryReport, BundleError> {
    let rows: Vec<BundleRow> = store
        .current_bundles_in(server.server_id, out_dir)?
        .into_iter()
        .filter(|b| out_dir.join(&b.folder).is_dir())
        .collect();
    let bundles: Vec<EntryBundle> = rows.iter().filter_map(entry_bundle).collect();
    let export_id = new_bundle_id();
    let rendered = entry::render(&EntryOptions {
        export_id: export_id.clone(),
        language,
        bundles: bundles.clone(),
    })?;
    let unlisted: Vec<String> = rows
        .iter()
        .filter(|b| rendered.unlisted.contains(&b.id) || entry_bundle(b).is_none())
        .map(|b| b.agent_name.clone())
        .collect();
    let listed = rows.len() - unlisted.len();
    let readme = readme(language, listed, &unlisted);
    let contents = [
        (SCRIPT, rendered.script.as_slice()),
        (README, readme.as_slice()),
    ];
    let files: Vec<BundleFile> = contents
        .iter()
        .map(|(name, bytes)| BundleFile {
            name: name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        })
        .collect();
    // Recorded before they are put in place: an export stopped in between leaves the
    // earlier version on the target, which a check accepts as certmend's (it accepts
    // every version recorded there), never a file no record knows.
    let detail = EntryDetail {
        export_id: export_id.clone(),
        files: files.clone(),
        bundles: listed,
    };
    store.log_event(
        ENTRY_WRITTEN,
        Some(server.server_id),
        Some(&out_dir.to_string_lossy()),
        &serde_json::to_value(&detail).unwrap_or_default(),
    )?;
    for ((name, bytes), recorded) in contents.iter().zip(&files) {
        let (_, sha256) = durable::write_atomic_checked(&out_dir.join(name), bytes, false)?;
        debug_assert_eq!(sha256, recorded.sha256);
    }
    Ok(EntryReport {
        export_id,
        script: out_dir.join(SCRIPT),
        files,
        listed,
        unlisted,
    })
}

/// A recorded bundle as the entry script lists it; None without a recorded repair.cmd.
fn entry_bundle(b: &BundleRow) -> Option<EntryBundle> {
    let script = b
        .files
        .as_ref()?
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(SCRIPT))?;
    Some(EntryBundle {
        bundle_id: b.id.clone(),
        folder: b.folder.clone(),
        agent_name: b.agent_name.clone(),
        agent_guid: b.agent_guid.clone(),
        script_sha256: script.sha256.clone(),
    })
}

/// README.txt at the root: UTF-8 with a BOM (Notepad); English, and Japanese first for
/// a Japanese export.
fn readme(language: ScriptLanguage, listed: usize, unlisted: &[String]) -> Vec<u8> {
    let mut t = String::from("\u{FEFF}");
    let mut line = |s: &str| {
        t.push_str(s);
        t.push_str("\r\n");
    };
    if language == ScriptLanguage::Ja {
        line("certmend 修復エクスポート");
        line("========================");
        line(&format!(
            "repair.cmd はこのフォルダの {listed} 個のバンドルから、実行したコンピューターのものを"
        ));
        line("コンピューター名とエージェント GUID で探し、そのバンドルの repair.cmd を確認してから実行します。");
        line("1. 各エージェント PC で repair.cmd を右クリックし「管理者として実行」を選びます。");
        line(
            "2. 無人実行 (スタートアップスクリプト、タスク): repair.cmd /quiet (何も尋ねません)。",
        );
        line("3. 一覧にないコンピューターでは何も変更せず、NOT_LISTED を receipts に書きます。");
        line("4. 結果は receipts フォルダに書かれます。certmend receipts で読み込みます。");
        line("   PC 上の記録: %SystemRoot%\\Temp\\certmend.log");
        if !unlisted.is_empty() {
            line("次のエージェントは repair.cmd から探せません。各フォルダの repair.cmd を実行してください:");
            unlisted.iter().for_each(|a| line(&format!("  {a}")));
        }
        line("");
    }
    line("certmend repair export");
    line("======================");
    line(&format!(
        "repair.cmd finds this computer's bundle among the {listed} in this folder (by"
    ));
    line("computer name and agent GUID), checks that bundle's repair.cmd, and runs it.");
    line("1. On each agent PC, right-click repair.cmd and choose \"Run as administrator\".");
    line("2. Unattended (startup script, scheduled task): repair.cmd /quiet (asks nothing).");
    line("3. A computer not listed changes nothing and writes NOT_LISTED into receipts.");
    line("4. Receipts go to the receipts folder; read them with certmend receipts.");
    line("   Log on each PC: %SystemRoot%\\Temp\\certmend.log");
    if !unlisted.is_empty() {
        line("repair.cmd cannot find these agents; run the repair.cmd in their own folder:");
        unlisted.iter().for_each(|a| line(&format!("  {a}")));
    }
    t.into_bytes()
}
