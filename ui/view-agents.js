// The Agents view: list imports (with a report per file), the agents table with
// virtual scrolling over agents_page, search, status chips, sort, selection, and the
// verdicts of collected agent certificates.

import * as api from "./api.js";
import { app, emit, navigate, on, refreshCounts, runningJob, t, tError } from "./app.js";
import { el, keepFocus } from "./dom.js";
import { baseName, delimiterKey, formatDate, formatDateTime, formatNumber, shortThumbprint } from "./format.js";
import { COLUMNS, STATUSES, ariaSort, countsByStatus, debounce, defaultQuery, nextSort, pageRequest, queryKey } from "./query.js";
import { PageCache, scrollToShow, visibleRange } from "./virtual.js";
import { button, errorBox, notice, progressSlot, receiptText, statusPill } from "./widgets.js";

const ROW_HEIGHT = 34;
const PAGE_SIZE = 100;
const OVERSCAN = 10;

const section = document.getElementById("agents-view");

const local = {
  query: defaultQuery(),
  cache: new PageCache({ pageSize: PAGE_SIZE, maxPages: 16 }),
  /** Rows matching the query, from the newest agents_page answer (null before one). */
  total: null,
  /** The page-cache generation whose total and counts we hold (see fetchPage). */
  countedGeneration: -1,
  /** Per status, following the search (for the chips). */
  counts: countsByStatus([]),
  /** The row keyboard focus is on. */
  active: 0,
  pageError: null,
  /** Newest first: {at, results: [{file, report, error}] | null, error}. */
  imports: [],
  importError: null,
  /** {at, report} or {at, error} from compare_collected. */
  compare: null,
  comparing: false,
};

// Built once and kept, so the search box keeps its caret and the table its scroll.
const search = el("input", {
  type: "search",
  id: "agent-search",
  class: "search",
  "data-testid": "agent-search",
  autocomplete: "off",
  spellcheck: "false",
  "aria-keyshortcuts": "Control+F",
});
const header = el("div", { class: "trow thead", role: "row", "aria-rowindex": 1 });
const body = el("div", { class: "tbody", role: "rowgroup" });
const rowsLayer = el("div", { class: "rows" });
body.append(rowsLayer);
const grid = el("div", {
  class: "agents-table",
  role: "grid",
  tabindex: 0,
  "data-testid": "agents-table",
  // The element that scrolls (the benchmark scrolls `closest('[data-scroll]')`).
  "data-scroll": "",
  "aria-multiselectable": "true",
});
grid.append(el("div", { role: "rowgroup", class: "thead-group" }, header), body);
const progress = progressSlot("import");
const parts = {
  head: el("div", { class: "view-head" }),
  chips: el("div", { class: "chips", role: "group" }),
  count: el("div", { class: "count-line" }),
  progress: progress.node,
  reports: el("div", { class: "reports" }),
  empty: el("div", { class: "empty-state" }),
};
let built = false;

function build() {
  section.replaceChildren(parts.head, el("div", { class: "filter-bar" }, tools.searchLabel, search, parts.chips), parts.count, parts.progress, parts.reports, parts.empty, grid);
  built = true;
}

// ---------------------------------------------------------------- data

function setQuery(query, { keepScroll = false } = {}) {
  local.query = query;
  if (local.cache.use(queryKey(query)) && !keepScroll) {
    grid.scrollTop = 0;
    local.active = 0;
  }
  requestRows();
  renderHeader();
}

/** Empties the cache (rows changed in the store) and asks again for what is shown. */
export function refreshTable() {
  local.cache.clear();
  requestRows();
}

let fetchToken = 0;
/** At most this many agents_page requests at once: while the scrollbar is dragged
 * across 100,000 rows, pages passed by are never asked for, only what is in view when
 * a request finishes. */
const MAX_IN_FLIGHT = 2;
let inFlight = 0;

/** Fetches the pages the viewport needs, each once. */
function requestRows() {
  pump();
  scheduleRender();
}

function pump() {
  while (inFlight < MAX_IN_FLIGHT) {
    const { start, end } = currentRange();
    // Before the first answer the total is unknown: ask for the first page.
    const missing = local.total === null ? local.cache.missing(0, 1) : local.cache.missing(start, Math.max(end, start + 1));
    if (missing.length === 0) return;
    inFlight += 1;
    fetchPage(missing[0]).then((ok) => {
      inFlight -= 1;
      // After a failure, wait for the next scroll or refresh rather than asking again at once.
      if (ok) pump();
    });
  }
}

async function fetchPage(page) {
  const generation = local.cache.begin(page);
  const { offset, limit } = local.cache.bounds(page);
  const token = ++fetchToken;
  // Counting 100,000 rows costs more than a page: count once per query (and after
  // every refresh, which starts a new generation), then ask only for rows.
  const counts = local.countedGeneration !== generation;
  try {
    const answer = await api.agentsPage(pageRequest(local.query, offset, limit, { counts }));
    if (!local.cache.store(page, answer.rows, generation)) return true;
    local.pageError = null;
    if (answer.total == null) {
      scheduleRender();
      return true;
    }
    local.countedGeneration = generation;
    const totalChanged = local.total !== answer.total;
    local.total = answer.total;
    local.counts = countsByStatus(answer.counts);
    if (local.query.search.trim() === "") {
      app.counts = countsByStatus(answer.counts);
      emit("counts");
    }
    if (totalChanged) {
      local.active = Math.min(local.active, Math.max(0, answer.total - 1));
      // More rows may now be visible (the first answer of a query): ask for them.
      requestRows();
    }
    renderChips();
    renderCount();
    renderEmpty();
    scheduleRender();
    return true;
  } catch (error) {
    local.cache.fail(page, generation);
    if (token === fetchToken) {
      local.pageError = error;
      renderEmpty();
    }
    return false;
  }
}

/** Rows [a, b] (inclusive), from the cache or fetched 1000 at a time (Shift+click far away). */
async function rowsBetween(a, b) {
  const rows = [];
  let index = a;
  while (index <= b) {
    const cached = local.cache.row(index);
    if (cached) {
      rows.push(cached);
      index += 1;
      continue;
    }
    const limit = Math.min(1000, b - index + 1);
    const answer = await api.agentsPage(pageRequest(local.query, index, limit, { counts: false }));
    if (answer.rows.length === 0) break;
    rows.push(...answer.rows);
    index += answer.rows.length;
  }
  return rows;
}

/** Every agent's name with `status` (an export of a hand-edited status selection). */
export async function namesWithStatus(status) {
  const names = [];
  for (let offset = 0; ; offset += 1000) {
    const answer = await api.agentsPage(pageRequest({ ...defaultQuery(), status }, offset, 1000, { counts: false }));
    names.push(...answer.rows.map((r) => r.name));
    if (answer.rows.length < 1000) return names;
  }
}

// ---------------------------------------------------------------- rows

function viewportHeight() {
  return Math.max(0, grid.clientHeight - header.offsetHeight);
}

function currentRange() {
  return visibleRange({
    scrollTop: grid.scrollTop,
    viewportHeight: viewportHeight() || 600,
    rowHeight: ROW_HEIGHT,
    total: local.total ?? 0,
    overscan: OVERSCAN,
  });
}

let frame = 0;
function scheduleRender() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    renderRows();
  });
}

/** Draws only the rows in view (plus overscan); nodes are reused while their row is unchanged. */
const drawn = new Map(); // index → {node, signature}
function renderRows() {
  const total = local.total ?? 0;
  body.style.height = `${total * ROW_HEIGHT}px`;
  grid.setAttribute("aria-rowcount", String(total + 1));
  const { start, end } = currentRange();
  local.cache.touch(start, end);
  const keep = new Set();
  const nodes = [];
  for (let index = start; index < end; index += 1) {
    const row = local.cache.row(index);
    const selected = row ? app.selection.isSelected(row) : false;
    const active = index === local.active;
    const signature = row ? `${row.id}|${row.status}|${row.bundle_id}|${row.receipt}|${row.status_receipt?.file}:${row.status_receipt?.line}|${selected}|${active}|${app.lang}` : `loading|${active}`;
    let entry = drawn.get(index);
    if (!entry || entry.signature !== signature) {
      entry = { node: rowNode(row, index, selected, active), signature };
      drawn.set(index, entry);
    }
    keep.add(index);
    nodes.push(entry.node);
  }
  for (const index of drawn.keys()) if (!keep.has(index)) drawn.delete(index);
  // replaceChildren moves kept nodes without rebuilding them.
  rowsLayer.replaceChildren(...nodes);
  if (total > 0) grid.setAttribute("aria-activedescendant", `agent-row-${local.active}`);
  else grid.removeAttribute("aria-activedescendant");
  if (local.total !== null && !local.pageError && end > start && local.cache.missing(start, end).length) pump();
}

/** Where a status a receipt set comes from (repair.cmd's claim: a newer list overrides it). */
function statusSource(row) {
  const r = row.status_receipt;
  if (!r) return null;
  return t("agents.statusByReceipt", { status: t(`status.${row.status}`), file: r.file, line: r.line ?? "?", run: r.run_id, computer: r.computer, at: r.ran_at ?? "" });
}

function rowNode(row, index, selected, active) {
  const attrs = {
    class: `trow${selected ? " selected" : ""}${active ? " active" : ""}${row ? "" : " loading"}`,
    role: "row",
    id: `agent-row-${index}`,
    "aria-rowindex": index + 2,
    "aria-selected": row ? String(selected) : null,
    "data-index": index,
    "data-testid": "agent-row",
  };
  const node = el("div", attrs);
  node.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
  if (!row) {
    node.append(el("div", { role: "gridcell", class: "cell wide" }, el("span", { class: "muted" }, t("agents.loadingRow"))));
    return node;
  }
  const bundle = row.bundle_id
    ? el("span", { title: `${row.bundle_id}${row.bundle_created ? ` · ${formatDateTime(row.bundle_created, app.lang)}` : ""}` }, row.bundle_created ? formatDate(row.bundle_created, app.lang) : t("agents.bundleYes"))
    : el("span", { class: "muted" }, "—");
  node.append(
    el("div", { role: "gridcell", class: "cell c-status", title: statusSource(row) }, statusPill(row.status)),
    el("div", { role: "gridcell", class: "cell c-name", title: row.guid ? `${row.name} · ${row.guid}` : row.name }, row.name),
    el("div", { role: "gridcell", class: "cell c-ip" }, row.ip ?? ""),
    el("div", { role: "gridcell", class: "cell c-domain" }, row.domain ?? ""),
    el("div", { role: "gridcell", class: "cell c-last_seen", title: formatDateTime(row.last_seen, app.lang) }, formatDate(row.last_seen, app.lang)),
    el("div", { role: "gridcell", class: "cell c-bundle" }, bundle),
    el(
      "div",
      { role: "gridcell", class: `cell c-receipt${row.receipt ? ` receipt-${row.receipt.toLowerCase()}` : ""}`, title: row.receipt ? [receiptText(row.receipt), statusSource(row)].filter(Boolean).join(" · ") : null },
      row.receipt ? receiptText(row.receipt) : el("span", { class: "muted" }, "—"),
    ),
  );
  return node;
}

// ---------------------------------------------------------------- selection

async function clickRow(index, event) {
  const row = local.cache.row(index);
  if (!row) return;
  local.active = index;
  if (event.shiftKey) {
    const [a, b] = app.selection.rangeTo(index);
    try {
      app.selection.range(await rowsBetween(a, b), { additive: event.ctrlKey || event.metaKey });
    } catch (error) {
      local.pageError = error;
      renderEmpty();
    }
  } else if (event.ctrlKey || event.metaKey) {
    app.selection.toggle(row, index);
  } else {
    app.selection.only(row, index);
  }
  selectionChanged();
}

function selectionChanged() {
  renderCount();
  scheduleRender();
  emit("selection");
}

function moveActive(to, { extend = false } = {}) {
  const total = local.total ?? 0;
  if (total === 0) return;
  local.active = Math.max(0, Math.min(total - 1, to));
  const top = scrollToShow({ index: local.active, scrollTop: grid.scrollTop, viewportHeight: viewportHeight(), rowHeight: ROW_HEIGHT });
  if (top !== grid.scrollTop) grid.scrollTop = top;
  if (extend) {
    const [a, b] = app.selection.rangeTo(local.active);
    rowsBetween(a, b).then((rows) => {
      app.selection.range(rows);
      selectionChanged();
    });
  }
  requestRows();
}

grid.addEventListener("scroll", () => {
  local.pageError = null;
  requestRows();
});
body.addEventListener("click", (event) => {
  const node = event.target.closest(".trow");
  if (node) clickRow(Number(node.dataset.index), event);
});
body.addEventListener("mousedown", (event) => {
  // Shift+click selects rows, not text.
  if (event.shiftKey) event.preventDefault();
});
grid.addEventListener("keydown", (event) => {
  if (event.target !== grid) return;
  const page = Math.max(1, Math.floor(viewportHeight() / ROW_HEIGHT) - 1);
  const extend = event.shiftKey;
  switch (event.key) {
    case "ArrowDown":
      moveActive(local.active + 1, { extend });
      break;
    case "ArrowUp":
      moveActive(local.active - 1, { extend });
      break;
    case "PageDown":
      moveActive(local.active + page, { extend });
      break;
    case "PageUp":
      moveActive(local.active - page, { extend });
      break;
    case "Home":
      moveActive(0, { extend });
      break;
    case "End":
      moveActive((local.total ?? 1) - 1, { extend });
      break;
    case " ": {
      const row = local.cache.row(local.active);
      if (row) {
        app.selection.toggle(row, local.active);
        selectionChanged();
      }
      break;
    }
    case "Escape":
      if (app.selection.empty) return;
      app.selection.clear();
      selectionChanged();
      break;
    default:
      return;
  }
  event.preventDefault();
});
new ResizeObserver(() => {
  if (!section.hidden) requestRows();
}).observe(grid);

const searchChanged = debounce(() => setQuery({ ...local.query, search: search.value }), 150);
search.addEventListener("input", searchChanged);
search.addEventListener("keydown", (event) => {
  if (event.key === "Enter") searchChanged.flush();
  if (event.key === "ArrowDown") {
    event.preventDefault();
    grid.focus();
  }
});

// ---------------------------------------------------------------- actions

export async function openLists() {
  try {
    const paths = await api.pickFiles("lists");
    if (paths.length) await startImport(paths);
  } catch (error) {
    local.importError = error;
    renderReports();
  }
}

export async function startImport(paths) {
  local.importError = null;
  try {
    const id = await api.startImport(paths);
    if (!app.jobs.has(id) && !app.doneJobs.has(id)) app.jobs.set(id, { kind: "import", progress: null, paths });
  } catch (error) {
    local.importError = error;
  }
  renderProgress();
  renderReports();
}

export async function compareCollected(paths) {
  local.comparing = true;
  renderReports();
  try {
    local.compare = { at: new Date().toISOString(), report: await api.compareCollected(paths) };
    emit("agents-changed");
  } catch (error) {
    local.compare = { at: new Date().toISOString(), error };
  }
  local.comparing = false;
  renderReports();
}

async function pickCertificates() {
  try {
    const paths = await api.pickFiles("certificates");
    if (paths.length) await compareCollected(paths);
  } catch (error) {
    local.compare = { at: new Date().toISOString(), error };
    renderReports();
  }
}

async function pickCertificateFolder() {
  try {
    const path = await api.pickFolder();
    if (path) await compareCollected([path]);
  } catch (error) {
    local.compare = { at: new Date().toISOString(), error };
    renderReports();
  }
}

function selectAllMismatched() {
  app.selection.allWithStatus("mismatched", app.counts.mismatched);
  selectionChanged();
}

export function focusSearch() {
  search.focus();
  search.select();
}

// ---------------------------------------------------------------- rendering

// Toolbar, chips and count-line buttons are built once and relabelled, so a click or
// an answer arriving never takes the keyboard focus away from them.
const tools = {
  title: el("h1", {}),
  open: button("", () => openLists(), { primary: true, shortcut: "Ctrl+O", testid: "open-lists", id: "open-lists" }),
  certs: button("", () => pickCertificates(), { testid: "check-certificates", id: "check-certificates" }),
  folder: button("", () => pickCertificateFolder(), { id: "check-folder" }),
  searchLabel: el("label", { class: "visually-hidden", for: "agent-search" }),
  countText: el("span", { "data-testid": "agent-count", "aria-live": "polite" }),
  selectMismatched: button("", () => selectAllMismatched(), { testid: "select-mismatched", id: "select-mismatched" }),
  clearSelection: button("", () => {
    app.selection.clear();
    selectionChanged();
    grid.focus();
  }, { testid: "clear-selection", id: "clear-selection" }),
  exportSelected: button("", () => navigate("repair", { exportDialog: true }), { shortcut: "Ctrl+E", testid: "export-selected", id: "export-selected" }),
};
parts.head.append(tools.title, el("div", { class: "toolbar" }, tools.open, tools.certs, tools.folder));
parts.count.append(tools.countText, el("span", { class: "count-actions" }, tools.selectMismatched, tools.clearSelection, tools.exportSelected));
const chips = new Map([null, ...STATUSES].map((status) => {
  const label = el("span", {});
  const count = el("span", { class: "chip-count" });
  const node = el(
    "button",
    { type: "button", class: `chip${status ? ` chip-${status}` : ""}`, "data-testid": `chip-${status ?? "all"}`, id: `chip-${status ?? "all"}`, onclick: () => setQuery({ ...local.query, status }) },
    status ? el("span", { class: `dot status-${status}`, "aria-hidden": "true" }) : null,
    label,
    count,
  );
  parts.chips.append(node);
  return [status, { node, label, count }];
}));

/** Sets a button's label, keeping its shortcut hint. */
function relabel(node, text) {
  node.firstChild.nodeValue = text;
}

function renderHeaderBar() {
  const running = Boolean(runningJob("import"));
  tools.title.textContent = t("nav.agents");
  relabel(tools.open, t("agents.openLists"));
  relabel(tools.certs, t("agents.checkCertificates"));
  relabel(tools.folder, t("agents.checkFolder"));
  tools.open.disabled = running;
  tools.certs.disabled = local.comparing;
  tools.folder.disabled = local.comparing;
  tools.searchLabel.textContent = t("agents.searchLabel");
  search.placeholder = t("agents.searchPlaceholder");
}

function renderChips() {
  parts.chips.setAttribute("aria-label", t("agents.filterLabel"));
  // No agents at all: nothing to filter.
  parts.chips.hidden = local.counts.all === 0 && local.query.search.trim() === "" && local.query.status === null;
  for (const [status, chip] of chips) {
    const n = status ? local.counts[status] : local.counts.all;
    chip.label.textContent = status ? t(`status.${status}`) : t("agents.all");
    chip.count.textContent = formatNumber(n, app.lang);
    chip.node.classList.toggle("zero", n === 0);
    // Statuses no agent has are left out (the pressed one stays, to be released).
    chip.node.hidden = status !== null && n === 0 && local.query.status !== status;
    chip.node.setAttribute("aria-pressed", String((local.query.status ?? null) === status));
  }
}

function renderCount() {
  const total = local.total ?? 0;
  const filtered = local.query.status !== null || local.query.search.trim() !== "";
  const all = app.counts.all;
  const size = app.selection.size;
  const words = [
    local.total === null
      ? t("app.loadingShort")
      : filtered
        ? t("agents.countFiltered", { n: formatNumber(total, app.lang), all: formatNumber(all, app.lang) })
        : t(all === 1 ? "agents.count.one" : "agents.count", { n: formatNumber(all, app.lang) }),
  ];
  if (size) words.push(t("agents.selected", { n: formatNumber(size, app.lang) }));
  tools.countText.textContent = words.join(" · ") + (app.selection.status ? ` (${t("agents.selectedByStatus", { status: t(`status.${app.selection.status}`) })})` : "");
  relabel(tools.selectMismatched, t("agents.selectAllMismatched", { n: formatNumber(app.counts.mismatched, app.lang) }));
  tools.selectMismatched.disabled = app.counts.mismatched === 0;
  relabel(tools.clearSelection, t("agents.clearSelection"));
  tools.clearSelection.hidden = size === 0;
  relabel(tools.exportSelected, size ? t("agents.exportSelected") : t("agents.exportMismatched"));
  tools.exportSelected.disabled = size === 0 && app.counts.mismatched === 0;
}

function renderHeader() {
  keepFocus(header, () => header.replaceChildren(
    ...COLUMNS.map((column) =>
      el(
        "div",
        { role: "columnheader", class: `cell c-${column}`, "aria-sort": ariaSort(local.query, column) },
        el(
          "button",
          { type: "button", class: "sort", id: `sort-${column}`, onclick: () => setQuery(nextSort(local.query, column), { keepScroll: true }) },
          t(`column.${column}`),
          el("span", { class: "sort-mark", "aria-hidden": "true" }, local.query.sort === column ? (local.query.descending ? "▼" : "▲") : ""),
        ),
      ),
    ),
  ));
}

function renderEmpty() {
  const total = local.total;
  let content = null;
  if (local.pageError) content = errorBox(local.pageError);
  else if (total === 0 && app.counts.all === 0 && local.query.search.trim() === "") content = notice("info", el("p", {}, t("agents.emptyHint")));
  else if (total === 0) content = notice("info", el("p", {}, t("agents.noMatch")));
  parts.empty.replaceChildren(...(content ? [content] : []));
  grid.hidden = total === 0 && !local.pageError;
}

export function renderProgress() {
  const job = runningJob("import");
  progress.refresh(job);
  if (tools.open.disabled !== Boolean(job)) renderHeaderBar();
}

function encodingText(encoding) {
  const key = `encoding.${encoding}`;
  const text = t(key);
  return text === key ? encoding : text;
}

function fileReport(entry) {
  const name = baseName(entry.file);
  const head = el("h4", { class: "file-name", title: entry.file }, name);
  if (entry.error) return el("article", { class: "file-report bad" }, head, errorBox(entry.error));
  const r = entry.report;
  const count = (key, n, cls) => el("li", { class: cls ?? "" }, el("span", { class: "n" }, formatNumber(n, app.lang)), " ", t(key));
  const rejected = r.rejected ?? [];
  const skipped = r.skipped_preamble ?? [];
  return el(
    "article",
    { class: `file-report ${r.already_imported ? "already" : rejected.length ? "warn" : "good"}` },
    head,
    r.already_imported
      ? notice("info", el("p", {}, t("import.already", { date: formatDateTime(r.already_imported.imported_at, app.lang) })))
      : null,
    el(
      "p",
      { class: "facts" },
      t("import.encoding", { encoding: encodingText(r.encoding) }),
      " · ",
      t("import.delimiter", { delimiter: t(delimiterKey(r.delimiter)) }),
      " · ",
      r.header ? t("import.header", { n: r.columns?.length ?? 0 }) : t("import.noHeader"),
      r.named_by_guid ? ` · ${t("import.namedByGuid")}` : null,
    ),
    el(
      "ul",
      { class: "counts" },
      count("import.rows", r.rows),
      count("import.agents", r.agents),
      count("import.new", r.new_agents),
      count("import.duplicates", r.duplicates),
      count("import.rejected", rejected.length, rejected.length ? "bad" : ""),
      count("import.resolved", r.resolved),
    ),
    // Lines before the header row (a title, a summary): read past, never agents.
    skipped.length
      ? el(
          "details",
          { class: "skipped", "data-testid": "skipped-preamble" },
          el("summary", {}, t(skipped.length === 1 ? "import.skippedPreamble.one" : "import.skippedPreamble", { n: formatNumber(skipped.length, app.lang) })),
          el(
            "table",
            { class: "data" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("import.line")), el("th", { scope: "col" }, t("import.text")))),
            el("tbody", {}, skipped.map((line) => el("tr", {}, el("td", { class: "num" }, line.line), el("td", {}, el("code", { class: "raw" }, line.text))))),
          ),
        )
      : null,
    rejected.length
      ? el(
          "details",
          { class: "rejected" },
          el("summary", {}, t(rejected.length === 1 ? "import.rejectedLines.one" : "import.rejectedLines", { n: formatNumber(rejected.length, app.lang) })),
          el(
            "table",
            { class: "data" },
            el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("import.line")), el("th", { scope: "col" }, t("import.reason")), el("th", { scope: "col" }, t("import.text")))),
            el(
              "tbody",
              {},
              rejected.map((line) =>
                el("tr", { "data-testid": "rejected-line" }, el("td", { class: "num" }, line.line), el("td", {}, t(`reason.${line.code}`, line.args ?? {})), el("td", {}, el("code", { class: "raw" }, line.text))),
              ),
            ),
          ),
        )
      : null,
  );
}

function importReport(entry, index) {
  const results = entry.results ?? [];
  return el(
    "section",
    { class: "report", "data-testid": "import-report", "aria-label": t("import.heading") },
    el(
      "div",
      { class: "report-head" },
      el(
        "h3",
        {},
        results.length && results.every((r) => r.error?.code === "import.cancelled")
          ? t("import.cancelledHeading")
          : t(results.length === 1 ? "import.headingFiles.one" : "import.headingFiles", { n: results.length }),
        el("span", { class: "muted" }, ` · ${formatDateTime(entry.at, app.lang)}`),
      ),
      el("button", { type: "button", class: "link", onclick: () => { local.imports.splice(index, 1); renderReports(); } }, t("close")),
    ),
    entry.error ? errorBox(entry.error) : null,
    entry.error && entry.error.code === "import.cancelled" ? null : results.map(fileReport),
  );
}

const VERDICTS = ["current", "previous", "foreign", "unreadable"];

function compareReport() {
  const c = local.compare;
  const head = (title) =>
    el(
      "div",
      { class: "report-head" },
      el("h3", {}, title, el("span", { class: "muted" }, ` · ${formatDateTime(c.at, app.lang)}`)),
      el("button", { type: "button", class: "link", onclick: () => { local.compare = null; renderReports(); } }, t("close")),
    );
  if (c.error) return el("section", { class: "report", "data-testid": "compare-result" }, head(t("compare.heading")), errorBox(c.error));
  const r = c.report;
  return el(
    "section",
    { class: "report", "data-testid": "compare-result" },
    head(t("compare.headingAgainst", { thumb: shortThumbprint(r.server_sha1_thumbprint) })),
    el(
      "ul",
      { class: "counts" },
      VERDICTS.map((v) => el("li", { class: `verdict-count v-${v}` }, el("span", { class: "n" }, formatNumber(r.counts?.[v] ?? 0, app.lang)), " ", t(`verdict.${v}`))),
    ),
    el("p", { class: "muted" }, t("compare.explain")),
    el(
      "table",
      { class: "data" },
      el(
        "thead",
        {},
        el("tr", {}, ["compare.host", "compare.verdict", "compare.thumbprint", "compare.detail", "compare.agent"].map((k) => el("th", { scope: "col" }, t(k)))),
      ),
      el(
        "tbody",
        {},
        r.results.map((x) =>
          el(
            "tr",
            { "data-testid": "compare-row" },
            el("td", { title: x.file }, x.host),
            el("td", {}, el("span", { class: `pill verdict-${x.verdict}` }, t(`verdict.${x.verdict}`))),
            el("td", {}, x.sha1_thumbprint ? el("code", { title: x.sha1_thumbprint }, shortThumbprint(x.sha1_thumbprint)) : ""),
            el(
              "td",
              {},
              x.verdict === "previous" && x.previous
                ? t("compare.previousSeen", { from: formatDate(x.previous.first_seen, app.lang), to: formatDate(x.previous.last_seen, app.lang) })
                : x.verdict === "current"
                  ? t("compare.currentDetail")
                  : x.verdict === "foreign"
                    ? t("compare.foreignDetail")
                    : x.error
                      ? el("span", { title: x.error.message }, tError(x.error))
                      : "",
            ),
            el("td", {}, x.agent_status ? statusPill(x.agent_status) : el("span", { class: "muted" }, t("compare.notInList"))),
          ),
        ),
      ),
    ),
    r.skipped?.length ? el("p", { class: "muted" }, t("compare.skipped", { n: r.skipped.length })) : null,
  );
}

function renderReports() {
  const nodes = [];
  if (local.importError) nodes.push(errorBox(local.importError));
  if (local.comparing) nodes.push(notice("info", el("p", {}, t("compare.running"))));
  if (local.compare) nodes.push(compareReport());
  local.imports.forEach((entry, i) => nodes.push(importReport(entry, i)));
  keepFocus(parts.reports, () => parts.reports.replaceChildren(...nodes));
  parts.reports.hidden = nodes.length === 0;
  renderHeaderBar();
}

export function render() {
  if (!built) build();
  renderHeaderBar();
  renderChips();
  renderCount();
  renderProgress();
  renderReports();
  renderHeader();
  renderEmpty();
  drawn.clear();
  if (local.total === null) setQuery(local.query);
  else requestRows();
}

// ---------------------------------------------------------------- events

on("job-progress", (p) => {
  if (p.kind === "import" && !section.hidden) renderProgress();
});

on("job-done", async (done) => {
  if (done.kind !== "import") return;
  local.imports.unshift({ at: new Date().toISOString(), results: done.result ?? [], error: done.error });
  local.imports.length = Math.min(local.imports.length, 5);
  refreshTable();
  // The counts first, so the report and the rail's "36 mismatched" show together.
  await refreshCounts();
  if (app.view !== "agents") emit("toast", t("import.doneToast"));
  else {
    renderProgress();
    renderReports();
  }
});

on("agents-changed", () => {
  refreshTable();
});

on("server-changed", () => {
  app.selection.clear();
  local.imports = [];
  local.compare = null;
  local.total = null;
  refreshTable();
  if (!section.hidden) render();
});

on("counts", () => {
  if (!section.hidden) renderCount();
});

export const view = { id: "agents", section, render };
