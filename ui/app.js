// What the views share: the language, the server in use, the agents' counts, the
// selection, running jobs; and a tiny message bus so one view can ask the others to
// refresh. The way to Rust is api.js.

import * as api from "./api.js";
import { detectLanguage, translate, translateError } from "./i18n.js";
import { countsByStatus } from "./query.js";
import { Selection } from "./selection.js";

function storedLanguage() {
  try {
    const lang = localStorage.getItem("certmend.lang");
    return lang === "en" || lang === "ja" ? lang : null;
  } catch {
    return null;
  }
}

export const app = {
  lang: storedLanguage() || detectLanguage(navigator.languages),
  /** ServerView from open_server / choose_server / reload_server. */
  server: null,
  /** An error opening the server ({code, message}). */
  serverError: null,
  view: "server",
  /** Agents per status for the whole server (nav rail, repair view). */
  counts: countsByStatus([]),
  /** OfcNTCer.dat changed on disk since the server was read. */
  certChanged: false,
  /** Receipts applied since the Receipts view was last looked at. */
  receiptsNew: 0,
  /** Problem lines in the newest receipts read by themselves, not yet looked at. */
  receiptsProblems: 0,
  /** Running jobs: id → {kind, progress}. */
  jobs: new Map(),
  /** Jobs whose job-done arrived (it can arrive before start_* answers with the id). */
  doneJobs: new Set(),
  selection: new Selection(),
};

export const t = (key, params) => translate(app.lang, key, params);
export const tError = (error) => translateError(app.lang, error);

export function setLanguage(lang) {
  app.lang = lang;
  try {
    localStorage.setItem("certmend.lang", lang);
  } catch {
    // Private mode or no storage: the choice lasts this session.
  }
}

const topics = new Map();

/** Subscribes to a topic: "render", "navigate", "agents-changed", "server-changed", "job-progress", "job-done", "receipts". */
export function on(topic, handler) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(handler);
  return () => topics.get(topic).delete(handler);
}

export function emit(topic, data) {
  for (const handler of topics.get(topic) ?? []) {
    try {
      handler(data);
    } catch (error) {
      console.error(topic, error);
    }
  }
}

/** Goes to a view ("server", "agents", "repair", "receipts", "keys", "history"). */
export function navigate(view, options) {
  emit("navigate", { view, options });
}

/** Asks for the agents' counts per status (the nav rail, the Repair view); resolves once shown. */
export async function refreshCounts() {
  if (!app.server) return;
  try {
    const page = await api.agentsPage({ offset: 0, limit: 1 });
    app.counts = countsByStatus(page.counts);
    emit("counts");
  } catch (error) {
    console.error(error);
  }
}

/** A running job of this kind, if any. */
export function runningJob(kind) {
  for (const [id, job] of app.jobs) if (job.kind === kind) return { id, ...job };
  return null;
}
