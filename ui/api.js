// The window's one way to Rust: a function per command of src-tauri/src/lib.rs
// `handlers!` and `on` for Rust's events (src-tauri/COMMANDS.md has the shapes). No other
// file calls Tauri's invoke or listen or touches window.__TAURI__, so a command renamed or
// added on one side fails ui/tests/api.test.js instead of at run time.
//
// Tauri is looked up at each call, not once at load: the e2e tests wrap
// window.__TAURI__.core.invoke after the page has started. Every command rejects with
// {code, message} (the window translates `code`).

import { EVENTS as EVENTS_FROM_RUST } from "./contract.js";

function invoke(command, args) {
  return window.__TAURI__.core.invoke(command, args);
}

// ---------------------------------------------------------------- server

/** @returns {Promise<ServerView>} the detected server, $CERTMEND_ROOT's, or the demo. */
export const openServer = () => invoke("open_server");

/** @param {string} path an install / PCCSRV folder or a drive root. @returns {Promise<ServerView>} */
export const chooseServer = (path) => invoke("choose_server", { path });

/** @returns {Promise<ServerView>} the server in use, read again (and watched again). */
export const reloadServer = () => invoke("reload_server");

/** @returns {Promise<void>} after cancelling running jobs (up to 5 s); the app then quits. */
export const quitApp = () => invoke("quit_app");

// ---------------------------------------------------------------- agents and jobs

/** @param {string[]} paths @returns {Promise<{path, kind: {kind, reason?}}[]>} what each dropped path is. */
export const classifyDrop = (paths) => invoke("classify_drop", { paths });

/** @param {string[]} paths list files. @returns {Promise<number>} the job id; `job-done` carries `[{file, report, error}]`. */
export const startImport = (paths) => invoke("start_import", { paths });

/** @param {number} job @returns {Promise<boolean>} whether the job was running. */
export const cancelJob = (job) => invoke("cancel_job", { job });

/**
 * @param {{status?, search?, sort?, descending?, offset, limit, skip_counts?}} request
 * @returns {Promise<{total, counts, rows}>} one page of the agents table (total and counts null with skip_counts).
 */
export const agentsPage = (request) => invoke("agents_page", { request });

/** @param {string[]} paths agent certificate files or folders. @returns {Promise<CompareReport>} each one's verdict against the server's certificate. */
export const compareCollected = (paths) => invoke("compare_collected", { paths });

// ---------------------------------------------------------------- repair and receipts

/** @returns {Promise<{mount_point, device, free}[]>} the removable drives. */
export const listDrives = () => invoke("list_drives");

/** @param {ExportRequest} request @returns {Promise<{out_dir, bundles, bytes_needed, bytes_available, fits}>} (writes nothing). */
export const exportEstimate = (request) => invoke("export_estimate", { request });

/** @param {ExportRequest} request @returns {Promise<number>} the job id; `job-done` carries the export's result. */
export const startExport = (request) => invoke("start_export", { request });

/** @param {string} dir a stick's root. @returns {Promise<ReceiptsReport>} the receipts read and applied. */
export const readReceipts = (dir) => invoke("read_receipts", { dir });

/** @param {string} dir an export target's root. @returns {Promise<TargetCheck>} the bundles as found against as written. */
export const verifyBundles = (dir) => invoke("verify_bundles", { dir });

/** @param {string} dir an export target (a share). @returns {Promise<FleetProgress>} its bundles and what their latest receipts say. */
export const exportProgress = (dir) => invoke("export_progress", { dir });

/** @param {string} path an export target or the backup folder. @returns {Promise<void>} once the file manager was asked to open it. */
export const openFolder = (path) => invoke("open_folder", { path });

// ---------------------------------------------------------------- key pairs

/** @param {{path, password}} file @returns {Promise<KeyPairReport>} the key pair's certificate, key and checks. */
export const keypairShow = (file) => invoke("keypair_show", { file });

/** @param {{file, new_password, legacy, allow_weak_password}} request @returns {Promise<{backup_id, certificate, encryption, files, warnings}>} */
export const backupCreate = (request) => invoke("backup_create", { request });

/** @returns {Promise<BackupRow[]>} backups, pre-restore copies and restore kits. */
export const backupsList = () => invoke("backups_list");

/** @param {{path, password}} file @returns {Promise<Verified>} as keypairShow, plus `catalog` (unchanged / changed / not_certmend). */
export const backupVerify = (file) => invoke("backup_verify", { file });

/** @param {{file, out_dir}} request @returns {Promise<KitPlan>} what a restore kit would hold (writes nothing). */
export const restorePlan = (request) => invoke("restore_plan", { request });

/** @param {{file, out_dir, source_sha256, confirmed}} request @returns {Promise<{backup_id, kit_folder, files, encryption, stale_staging_removed}>} */
export const restoreKit = (request) => invoke("restore_kit", { request });

// ---------------------------------------------------------------- other

/** @param {number} [limit] @returns {Promise<{id, at, kind, server, subject, detail}[]>} the history, newest first. */
export const events = (limit) => invoke("events", { limit });

/** @param {"lists"|"certificates"|"key_pair"} kind @returns {Promise<string[]>} the files chosen in the OS dialog (empty when cancelled). */
export const pickFiles = (kind) => invoke("pick_files", { kind });

/** @returns {Promise<string|null>} the folder chosen in the OS dialog (null when cancelled). */
export const pickFolder = () => invoke("pick_folder");

// ---------------------------------------------------------------- events

/** `{job, kind, done, total, items_done, items_total}`, at most 10 a second. */
export const JOB_PROGRESS = EVENTS_FROM_RUST.JOB_PROGRESS;
/** `{job, kind, result, error}`. */
export const JOB_DONE = EVENTS_FROM_RUST.JOB_DONE;
/** As readReceipts' answer: receipts appeared on an export target and were read. */
export const RECEIPTS_APPLIED = EVENTS_FROM_RUST.RECEIPTS_APPLIED;
/** `{server_id, sha256}`: OfcNTCer.dat changed on disk. */
export const SERVER_CERTIFICATE_CHANGED = EVENTS_FROM_RUST.SERVER_CERTIFICATE_CHANGED;
/** `{running: [kind]}`: the window was closed while jobs run; Rust kept it open. */
export const CLOSE_REQUESTED = EVENTS_FROM_RUST.CLOSE_REQUESTED;
/** Not a Rust event: the webview's drag and drop, `{type: enter|over|drop|leave, paths}`. */
export const DRAG_DROP = "drag-drop";

const EVENTS = new Set([JOB_PROGRESS, JOB_DONE, RECEIPTS_APPLIED, SERVER_CERTIFICATE_CHANGED, CLOSE_REQUESTED, DRAG_DROP]);

/**
 * Calls `handler({payload})` for each `event` (one of the constants above).
 * Without Tauri's event API (or a webview, for DRAG_DROP) nothing ever comes.
 * @returns {Promise<() => void>} resolves to the function that stops listening.
 */
export function on(event, handler) {
  if (!EVENTS.has(event)) throw new Error(`api.on: unknown event ${event}`);
  if (event === DRAG_DROP) {
    const webview = window.__TAURI__?.webview?.getCurrentWebview?.();
    return webview ? webview.onDragDropEvent(handler) : Promise.resolve(() => {});
  }
  return window.__TAURI__?.event?.listen(event, handler) ?? Promise.resolve(() => {});
}
