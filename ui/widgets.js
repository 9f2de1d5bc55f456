// Pieces several views show: copy buttons, errors, progress bars, status pills.

import * as api from "./api.js";
import { app, t, tError } from "./app.js";
import { el, keepFocus } from "./dom.js";
import { formatNumber, progressParts } from "./format.js";

export function copyButton(text) {
  const button = el("button", { type: "button", class: "copy", "aria-label": `${t("copy")} ${text}` }, t("copy"));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t("copied");
      setTimeout(() => (button.textContent = t("copy")), 1500);
    } catch {
      // Clipboard refused (no focus or permission): select the text for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(button.previousElementSibling);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
  });
  return button;
}

/** An error from Rust: the translated sentence, and Rust's own message (names the file) below. */
export function errorBox(error, attrs = {}, kind = "error") {
  const detail = error?.message && error.code ? error.message : null;
  return el(
    "div",
    { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status", ...attrs },
    el("p", {}, tError(error)),
    detail ? el("p", { class: "detail" }, detail) : null,
  );
}

export function notice(kind, ...children) {
  return el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** The status of an agent as a coloured pill with its word (never colour alone). */
export function statusPill(status) {
  return el("span", { class: `pill status-${status}` }, t(`status.${status}`));
}

/** A receipt's result word (REPAIRED, IPXFER_FAILED...) in words. */
export function receiptText(word) {
  if (!word) return "";
  const key = `receipt.${word}`;
  const text = t(key);
  return text === key ? word : text;
}

/**
 * A labelled progress bar with counts and Cancel for a job: {node, update(progress)}.
 * Updated in place (job-progress arrives up to ten times a second), so the focus stays
 * on Cancel.
 */
export function progressWidget(kind, onCancel) {
  const title = el("span", { class: "progress-title" }, t(kind === "export" ? "progress.exporting" : "progress.importing"));
  const words = el("span", { class: "progress-words" });
  const bar = el("progress", { max: 100, value: 0 });
  const cancel = onCancel ? el("button", { type: "button", class: "button", onclick: onCancel, "data-testid": "job-cancel", id: `cancel-${kind}` }, t("cancel")) : null;
  const node = el("div", { class: "progress", "data-testid": "job-progress" }, el("div", { class: "progress-head" }, title, words), el("div", { class: "progress-row" }, bar, cancel));
  const update = (progress) => {
    const parts = progressParts(progress ?? {});
    const list = [];
    if (parts.items) {
      list.push(t(kind === "export" ? "progress.bundle" : "progress.file", { n: formatNumber(parts.items.current, app.lang), total: formatNumber(parts.items.total, app.lang) }));
    }
    if (parts.bytes) list.push(parts.bytes.total ? t("progress.bytes", { done: parts.bytes.done, total: parts.bytes.total }) : t("progress.written", { done: parts.bytes.done }));
    if (list.length === 0) list.push(t("progress.starting"));
    const label = list.join(" · ");
    words.textContent = label;
    bar.value = parts.percent;
    bar.setAttribute("aria-label", label);
  };
  return { node, update };
}

/** A progress area for one kind of job: shows the running job, updated in place. */
export function progressSlot(kind) {
  const slot = el("div", { class: "progress-area" });
  let shown = null; // {id, lang, widget}
  const refresh = (job) => {
    if (!job) {
      if (shown) slot.replaceChildren();
      shown = null;
      return;
    }
    if (!shown || shown.id !== job.id || shown.lang !== app.lang) {
      const widget = progressWidget(kind, () => cancelJob(job.id));
      keepFocus(slot, () => slot.replaceChildren(widget.node));
      shown = { id: job.id, lang: app.lang, widget };
    }
    shown.widget.update(job.progress);
  };
  return { node: slot, refresh };
}

export async function cancelJob(id) {
  try {
    await api.cancelJob(id);
  } catch (error) {
    console.error(error);
  }
}

/** A "label: value" row pair for a <dl>. */
export function row(label, value, ...extra) {
  return [el("dt", {}, label), el("dd", {}, value, ...extra)];
}

/** A card with a heading. */
export function card(id, title, ...children) {
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id }, title), ...children);
}

/** A button with an optional keyboard shortcut shown after its label. */
export function button(label, onclick, { primary = false, danger = false, shortcut = null, testid = null, disabled = false, id = null } = {}) {
  const classes = ["button", primary ? "primary" : "", danger ? "danger" : ""].filter(Boolean).join(" ");
  return el(
    "button",
    { type: "button", class: classes, onclick, "aria-keyshortcuts": shortcut, "data-testid": testid, disabled, id },
    label,
    shortcut ? el("kbd", {}, shortcut) : null,
  );
}

/** The language currently shown (for code that builds requests). */
export function currentLanguage() {
  return app.lang;
}
