// The History view: certmend's event log (imports, exports, receipts, backups,
// certificate changes), newest first.

import * as api from "./api.js";
import { app, t } from "./app.js";
import { el, keepFocus } from "./dom.js";
import { baseName, formatDateTime } from "./format.js";
import { eventSummary } from "./history-format.js";
import { button, errorBox } from "./widgets.js";

const section = document.getElementById("history-view");
const local = { events: null, error: null, loading: false };

async function load() {
  local.loading = true;
  render();
  try {
    local.events = await api.events(500);
    local.error = null;
  } catch (error) {
    local.error = error;
  }
  local.loading = false;
  render();
}

function kindText(kind) {
  const key = `event.${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

function summaryText(event) {
  return eventSummary(event.kind, event.detail)
    .map(({ key, params, raw, words }) => {
      if (raw !== undefined) return raw;
      // Values that are words themselves (statuses, receipt results) in the language.
      const shown = { ...params };
      for (const [name, prefix] of Object.entries(words ?? {})) {
        const wordKey = `${prefix}.${params[name]}`;
        const text = t(wordKey);
        if (text !== wordKey) shown[name] = text;
      }
      return t(key, shown);
    })
    .join(" · ");
}

export function render() {
  const events = local.events;
  let body;
  if (local.error) body = errorBox(local.error);
  else if (events === null) body = el("p", { class: "muted" }, t("app.loadingShort"));
  else if (events.length === 0) body = el("p", { class: "muted", "data-testid": "history-table" }, t("history.empty"));
  else {
    body = el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "data history", "data-testid": "history-table" },
        el("thead", {}, el("tr", {}, ["history.time", "history.kind", "history.server", "history.subject", "history.detail"].map((k) => el("th", { scope: "col" }, t(k))))),
        el(
          "tbody",
          {},
          events.map((e) =>
            el(
              "tr",
              { "data-testid": "history-row" },
              el("td", { class: "nowrap" }, formatDateTime(e.at, app.lang)),
              el("td", {}, el("span", { class: `kind kind-${e.kind.split(".")[0]}` }, kindText(e.kind))),
              el("td", { class: "nowrap", title: e.server ?? "" }, e.server ? baseName(e.server) : ""),
              el("td", { title: e.subject ?? "" }, e.subject ? baseName(e.subject) : ""),
              el("td", { title: e.detail ? JSON.stringify(e.detail) : "" }, summaryText(e)),
            ),
          ),
        ),
      ),
    );
  }
  keepFocus(section, () =>
    section.replaceChildren(
      el("div", { class: "view-head" }, el("h1", {}, t("nav.history")), el("div", { class: "toolbar" }, button(t("history.refresh"), load, { id: "history-refresh", disabled: local.loading }))),
      body,
    ),
  );
}

export function show() {
  load();
}

export const view = { id: "history", section, render, show };
