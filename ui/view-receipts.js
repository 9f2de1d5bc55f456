// The Receipts view: what repair.cmd reported back, read from a stick on request or
// by themselves when an export target's receipts change (`receipts-applied`).

import * as api from "./api.js";
import { app, emit, on, t, tError } from "./app.js";
import { checkReport } from "./bundle-check.js";
import { el, fill, keepFocus } from "./dom.js";
import { baseName, formatDateTime, formatNumber } from "./format.js";
import { button, errorBox, notice, receiptText, statusPill } from "./widgets.js";

/** A receipt problem in the window's language, by its code (a status it names in
 * words too). */
function problemText(p) {
  // A receipts file not read (a link, too large): the file error's own words.
  if (p.code.startsWith("file.")) return tError({ code: p.code, message: p.reason });
  const args = { ...(p.args ?? {}) };
  if (args.status) args.status = t(`status.${args.status}`);
  return t(`reason.${p.code}`, args);
}

const section = document.getElementById("receipts-view");
const local = {
  /** Newest first: {at, live, report}, {at, check} (Verify bundles) or {at, error}. */
  results: [],
  reading: false,
};

/** Checks every bundle on a chosen stick against what certmend wrote. */
async function verifyBundles() {
  try {
    const dir = await api.pickFolder();
    if (!dir) return;
    local.reading = true;
    render();
    const check = await api.verifyBundles(dir);
    remember({ at: new Date().toISOString(), check });
  } catch (error) {
    remember({ at: new Date().toISOString(), error, verifying: true });
  }
  local.reading = false;
  render();
}

function remember(entry) {
  local.results.unshift(entry);
  local.results.length = Math.min(local.results.length, 5);
}

async function readReceipts() {
  try {
    const dir = await api.pickFolder();
    if (!dir) return;
    local.reading = true;
    render();
    const report = await api.readReceipts(dir);
    remember({ at: new Date().toISOString(), live: false, report });
    if (report.applied.length) emit("agents-changed");
  } catch (error) {
    remember({ at: new Date().toISOString(), error });
  }
  local.reading = false;
  render();
}

const PROBLEMS = [
  ["alerts", "receipts.alert"],
  ["disagreeing", "receipts.disagreeing"],
  ["refused_files", "receipts.refused"],
  ["unknown_bundles", "receipts.unknown"],
  ["malformed", "receipts.malformed"],
  ["stale", "receipts.stale"],
];

function resultSection(entry, index) {
  const head = (title) =>
    el(
      "div",
      { class: "report-head" },
      el("h2", {}, title, el("span", { class: "muted" }, ` · ${formatDateTime(entry.at, app.lang)}`)),
      el("button", { type: "button", class: "link", onclick: () => { local.results.splice(index, 1); render(); } }, t("close")),
    );
  if (entry.error) {
    return el("section", { class: "card result", "data-testid": "receipts-result" }, head(t(entry.verifying ? "bundleCheck.failed" : "receipts.failed")), errorBox(entry.error));
  }
  if (entry.check) {
    return el("section", { class: "card result", "data-testid": "bundle-check-result" }, head(t("bundleCheck.heading")), checkReport(entry.check));
  }
  const r = entry.report;
  const problems = PROBLEMS.flatMap(([field, key]) => (r[field] ?? []).map((p) => ({ ...p, key })));
  const alerts = r.alerts ?? [];
  const check = r.bundle_check;
  return el(
    "section",
    { class: "card result", "data-testid": "receipts-result" },
    head(entry.live ? t("receipts.liveHeading") : t("receipts.readHeading")),
    // What repair.cmd refused to do comes first: a stick changed by a PC it visited,
    // a bundle run on the wrong computer.
    alerts.length
      ? notice(
          "error",
          el("p", {}, el("strong", {}, t("receipts.alertsHeading"))),
          alerts.map((p) => el("p", { "data-testid": "receipt-alert" }, problemText(p), " ", el("span", { class: "detail" }, `${baseName(p.file)}:${p.line}`))),
        )
      : null,
    check && check.findings.length ? el("div", { class: "problems" }, el("h3", {}, t("bundleCheck.onStick")), checkReport(check)) : null,
    (r.disagreeing ?? []).length ? notice("warning", el("p", {}, t("receipts.disagreeingNote", { n: formatNumber(r.disagreeing.length, app.lang) }))) : null,
    el("p", { class: "facts" }, t("receipts.summary", { files: formatNumber(r.files, app.lang), lines: formatNumber(r.lines, app.lang) }), " · ", el("code", {}, r.folder)),
    el(
      "ul",
      { class: "counts" },
      el("li", {}, el("span", { class: "n" }, formatNumber(r.applied.length, app.lang)), " ", t("receipts.applied")),
      el("li", {}, el("span", { class: "n" }, formatNumber(r.already_read, app.lang)), " ", t("receipts.alreadyRead")),
      el("li", { class: problems.length ? "bad" : "" }, el("span", { class: "n" }, formatNumber(problems.length, app.lang)), " ", t("receipts.problems")),
    ),
    r.applied.length
      ? el(
          "table",
          { class: "data" },
          el(
            "thead",
            {},
            el("tr", {}, ["receipts.agent", "receipts.result", "receipts.change", "receipts.where"].map((k) => el("th", { scope: "col" }, t(k)))),
          ),
          el(
            "tbody",
            {},
            r.applied.map((a) =>
              el(
                "tr",
                { "data-testid": "receipt-applied" },
                el("td", {}, a.agent, a.computer && a.computer.toLowerCase() !== a.agent.toLowerCase() ? el("span", { class: "muted" }, ` (${a.computer})`) : null),
                el("td", { class: `receipt-${String(a.result).toLowerCase()}` }, receiptText(a.result), a.superseded ? el("span", { class: "muted" }, ` · ${t("receipts.superseded")}`) : null),
                el("td", {}, statusPill(a.status_before), el("span", { class: "arrow", "aria-label": t("receipts.becomes") }, " → "), statusPill(a.status_after)),
                el("td", { class: "muted", title: a.file }, `${baseName(a.file)}:${a.line}`),
              ),
            ),
          ),
        )
      : el("p", { class: "muted" }, t("receipts.nothingNew")),
    problems.length
      ? el(
          "div",
          { class: "problems" },
          el("h3", {}, t("receipts.problemsHeading")),
          el(
            "table",
            { class: "data" },
            el("thead", {}, el("tr", {}, ["receipts.kind", "receipts.where", "import.reason", "import.text"].map((k) => el("th", { scope: "col" }, t(k))))),
            el(
              "tbody",
              {},
              problems.map((p) =>
                el(
                  "tr",
                  { "data-testid": "receipt-problem" },
                  el("td", {}, el("span", { class: "pill bad" }, t(p.key))),
                  el("td", { class: "muted", title: p.file }, p.line ? `${baseName(p.file)}:${p.line}` : baseName(p.file)),
                  el("td", {}, problemText(p)),
                  el("td", {}, el("code", { class: "raw" }, p.text)),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

export function render() {
  app.receiptsNew = 0;
  app.receiptsProblems = 0;
  emit("nav");
  keepFocus(section, () =>
    fill(
      section,
      el(
        "div",
        { class: "view-head" },
        el("h1", {}, t("nav.receipts")),
        el(
          "div",
          { class: "toolbar" },
          button(t("receipts.read"), readReceipts, { primary: true, testid: "read-receipts", id: "read-receipts", disabled: local.reading }),
          button(t("bundleCheck.verify"), verifyBundles, { testid: "verify-bundles", id: "verify-bundles", disabled: local.reading }),
        ),
      ),
      el("p", { class: "intro" }, t("receipts.intro")),
      local.reading ? notice("info", el("p", {}, t("receipts.reading"))) : null,
      ...local.results.map(resultSection),
    ),
  );
}

/** The problem lines of a report, as one string (to tell a repeated report apart). */
function problemKey(report) {
  const findings = (report.bundle_check?.findings ?? []).map((f) => `bundle_check|${f.path}|${f.code}|${f.found}`);
  return [...PROBLEMS.flatMap(([field]) => (report[field] ?? []).map((p) => `${field}|${p.file}|${p.line}|${p.reason}`)), ...findings].join("\n");
}

on("receipts", (report) => {
  // The watcher reads the stick again on every change there: lines it could not use
  // come back each time. A report that changes nothing and repeats the last one's
  // problems is not news.
  const last = local.results.find((r) => r.live && r.report);
  if (report.applied.length === 0 && last && problemKey(last.report) === problemKey(report)) return;
  remember({ at: new Date().toISOString(), live: true, report });
  if (app.view === "receipts") render();
  else {
    app.receiptsNew += report.applied.length;
    app.receiptsProblems = problemKey(report) === "" ? 0 : problemKey(report).split("\n").length;
    emit("nav");
  }
});

on("server-changed", () => {
  local.results = [];
});

export const view = { id: "receipts", section, render };
