// The Repair view and its export dialog: where to write the bundles (removable drives
// first), the options, a live estimate, then the export as a job with progress and
// Cancel, and a result that ends with the next action.

import * as api from "./api.js";
import { app, emit, navigate, on, refreshCounts, runningJob, t } from "./app.js";
import { el, fill, keepFocus, trapFocus } from "./dom.js";
import { formatBytes, formatNumber } from "./format.js";
import { effectiveSyntax, fieldSource, fieldValue, XG_FIELDS, xgValues } from "./ipxfer.js";
import { debounce, notYetRepaired, STATUSES } from "./query.js";
import { namesWithStatus } from "./view-agents.js";
import { button, card, errorBox, notice, progressSlot } from "./widgets.js";
import { checkReport } from "./bundle-check.js";

const section = document.getElementById("repair-view");
const dialog = document.getElementById("export-dialog");
trapFocus(dialog);

const local = {
  /** The last export: {at, result} or {at, error}. */
  last: null,
  startError: null,
  /** Verify bundles on the last export's target: {result} or {error}. */
  check: null,
  verifying: false,
  /** A share export's progress: {result} or {error}; and the receipts' not-listed computers. */
  fleet: null,
  notListed: 0,
  reading: false,
};

/** The dialog's choices (kept while the window is open, except the password). */
const choice = {
  destination: "stick", // "stick" | "share"
  sharePath: "", // the path the PCs use, for a share
  scope: "selection", // "selection" | "mismatched"
  drives: null,
  drivesError: null,
  target: null, // a path
  folder: null, // a folder chosen with the picker
  embed: false,
  syntax: null, // "seed" | "xg" as the admin chose; null = what the server's version calls for
  xgTyped: {}, // XG values typed over ofcscan.ini's, by field
  shared: false,
  language: null, // script language; null = the window's
  estimate: null,
  estimateError: null,
  estimating: false,
  starting: false,
  expanded: null, // names of a hand-edited status selection
};

const progress = progressSlot("export");
const password = el("input", { type: "password", id: "export-password", autocomplete: "off", class: "text" });

// ---------------------------------------------------------------- the request

async function selectionRequest() {
  if (choice.scope === "mismatched") return { all_mismatched: true, agents: [] };
  const direct = app.selection.exportSelection(notYetRepaired(app.counts) === app.counts.mismatched);
  if (direct) return direct;
  if (!choice.expanded) {
    const { status, excluded, extra } = app.selection.expand;
    const names = (await namesWithStatus(status)).filter((n) => !excluded.has(n));
    choice.expanded = [...new Set([...names, ...extra])];
  }
  return { all_mismatched: false, agents: choice.expanded };
}

/** The server's IpXfer defaults (ServerView.ipxfer): version decision and ofcscan.ini values. */
function ipxferDefaults() {
  return app.server?.ipxfer ?? null;
}

function syntaxInEffect() {
  return effectiveSyntax(choice.syntax, ipxferDefaults());
}

/** The XG values as the dialog holds them, checked; null when the seed form is in effect. */
function xgState() {
  return syntaxInEffect() === "xg" ? xgValues(choice.xgTyped, ipxferDefaults()?.from_ini) : null;
}

async function exportRequest() {
  return {
    out_dir: choice.target,
    destination: choice.destination,
    share_path: choice.destination === "share" && choice.sharePath.trim() ? choice.sharePath.trim() : null,
    ...(await selectionRequest()),
    shared_tools: choice.shared,
    syntax: choice.syntax ?? "auto",
    xg_values: xgState()?.values ?? {},
    language: choice.language ?? app.lang,
    embedded_password: choice.embed ? password.value : null,
  };
}

let estimateToken = 0;
async function estimate() {
  const token = ++estimateToken;
  choice.estimate = null;
  choice.estimateError = null;
  const xg = xgState();
  if (!choice.target || (choice.embed && password.value === "") || (xg && (xg.missing.length || xg.invalid.length))) {
    choice.estimating = false;
    renderEstimate();
    return;
  }
  choice.estimating = true;
  renderEstimate();
  try {
    const answer = await api.exportEstimate(await exportRequest());
    if (token !== estimateToken) return;
    choice.estimate = answer;
  } catch (error) {
    if (token !== estimateToken) return;
    choice.estimateError = error;
  }
  choice.estimating = false;
  renderEstimate();
}
const estimateSoon = debounce(estimate, 200);

async function loadDrives() {
  choice.drives = null;
  choice.drivesError = null;
  renderDialog();
  try {
    choice.drives = await api.listDrives();
    if (!choice.target && choice.drives.length) choice.target = choice.drives[0].mount_point;
  } catch (error) {
    choice.drives = [];
    choice.drivesError = error;
  }
  renderDialog();
  estimate();
}

async function chooseFolder() {
  try {
    const path = await api.pickFolder();
    if (path) {
      choice.folder = path;
      choice.target = path;
      renderDialog("export-target-folder");
      estimate();
    }
  } catch (error) {
    choice.estimateError = error;
    renderEstimate();
  }
}

async function start() {
  if (!choice.estimate?.fits || choice.starting) return;
  choice.starting = true;
  renderEstimate();
  try {
    const request = await exportRequest();
    const id = await api.startExport(request);
    local.target = request.out_dir;
    if (!app.jobs.has(id) && !app.doneJobs.has(id)) app.jobs.set(id, { kind: "export", progress: null });
    local.startError = null;
    local.last = null;
    closeDialog();
    navigate("repair");
  } catch (error) {
    choice.estimateError = error;
  }
  choice.starting = false;
  renderEstimate();
}

// ---------------------------------------------------------------- the dialog

/** Opens the export dialog for the selection (or every mismatched agent). */
export function openExportDialog() {
  if (runningJob("export")) {
    navigate("repair");
    return;
  }
  choice.scope = app.selection.empty ? "mismatched" : "selection";
  choice.expanded = null;
  choice.estimate = null;
  choice.estimateError = null;
  password.value = "";
  renderDialog();
  if (!dialog.open) dialog.showModal();
  loadDrives();
}

function closeDialog() {
  password.value = "";
  estimateSoon.cancel();
  if (dialog.open) dialog.close();
}

dialog.addEventListener("close", () => {
  // Escape or the Cancel button: the password never stays in the page.
  password.value = "";
});

function radio(name, value, checked, label, onchange, extra = {}) {
  const id = `${name}-${String(value).replace(/[^a-z0-9]/gi, "_")}`;
  return el(
    "label",
    { class: "option", for: id },
    el("input", { type: "radio", name, id, value, checked, onchange, ...extra }),
    el("span", {}, ...[].concat(label)),
  );
}

/** The IpXfer fieldset: the syntax radios (the server's default marked, with why), and
 * for the XG form the server name and ports, prefilled from ofcscan.ini; a value it
 * lacks is asked for here. */
function syntaxFieldset() {
  const defaults = ipxferDefaults();
  const decision = defaults?.decision ?? null;
  const inEffect = syntaxInEffect();
  const label = (syntax) => [
    t(`export.${syntax}`),
    decision?.syntax === syntax ? [" ", el("span", { class: "muted" }, t("export.syntaxDefault"))] : null,
  ];
  const version = decision?.server_version
    ? t("export.syntaxVersion", { version: decision.server_version, build: decision.service_pack_build ?? "—" })
    : t("export.syntaxNoVersion");
  const why = el(
    "p",
    { class: "muted", id: "export-syntax-reason", "data-testid": "export-syntax-reason" },
    version,
    " ",
    t(`ipxfer.reason.${decision?.reason ?? "no_version"}`),
    choice.syntax && decision && choice.syntax !== decision.syntax ? [" ", t("export.syntaxChosen")] : null,
  );
  let fields = null;
  if (inEffect === "xg") {
    const fromIni = defaults?.from_ini ?? {};
    const state = xgValues(choice.xgTyped, fromIni);
    fields = el(
      "dl",
      { class: "xg-values", "data-testid": "export-xg-values" },
      XG_FIELDS.map((field) => {
        const id = `export-xg-${field.replace("_", "-")}`;
        const source = fieldSource(field, choice.xgTyped, fromIni);
        const hint =
          source === "missing"
            ? t("export.xgMissing")
            : source === "ini"
              ? field === "https_port"
                ? t("export.xgFromIniUndocumented", { key: defaults?.https_port_key ?? "Master_DomainSSLPort" })
                : t("export.xgFromIni")
              : "";
        return [
          el("dt", {}, el("label", { for: id }, t(`export.xg.${field}`))),
          el(
            "dd",
            {},
            el("input", {
              type: "text",
              id,
              class: "text",
              inputmode: field === "server" ? "text" : "numeric",
              autocomplete: "off",
              value: fieldValue(field, choice.xgTyped, fromIni),
              "aria-invalid": state.invalid.includes(field) || state.missing.includes(field) ? "true" : "false",
              oninput: (e) => {
                choice.xgTyped[field] = e.target.value;
                const now = xgValues(choice.xgTyped, fromIni);
                e.target.setAttribute("aria-invalid", now.invalid.includes(field) || now.missing.includes(field) ? "true" : "false");
                estimateSoon();
              },
            }),
            hint ? [" ", el("span", { class: source === "missing" ? "warn-text" : "muted" }, hint)] : null,
          ),
        ];
      }),
    );
  }
  return el(
    "fieldset",
    {},
    el("legend", {}, t("export.syntax")),
    radio("export-syntax", "seed", inEffect === "seed", label("seed"), changed(() => (choice.syntax = "seed"), { structure: true })),
    radio("export-syntax", "xg", inEffect === "xg", label("xg"), changed(() => (choice.syntax = "xg"), { structure: true })),
    why,
    fields,
  );
}

/** USB stick or network share, side by side, each saying what it is for. */
function destinationFieldset() {
  const option = (value, title, why) =>
    el(
      "label",
      { class: `option destination${choice.destination === value ? " chosen" : ""}`, for: `export-destination-${value}` },
      el("input", { type: "radio", name: "export-destination", id: `export-destination-${value}`, value, checked: choice.destination === value, "data-testid": `export-destination-${value}`, onchange: changed(() => (choice.destination = value), { structure: true }) }),
      el("span", {}, el("strong", {}, title), el("br"), el("span", { class: "muted" }, why)),
    );
  const sharePath = el("input", {
    type: "text",
    class: "text",
    id: "export-share-path",
    "data-testid": "export-share-path",
    placeholder: "\\\\server\\share\\certmend",
    value: choice.sharePath,
    oninput: (e) => {
      choice.sharePath = e.target.value;
      estimateSoon();
    },
  });
  return el(
    "fieldset",
    {},
    el("legend", {}, t("export.destination")),
    el("div", { class: "destinations" }, option("stick", t("export.toStick"), t("export.toStickWhy")), option("share", t("export.toShare"), t("export.toShareWhy"))),
    choice.destination === "share"
      ? el("div", { class: "share-path" }, el("label", { for: "export-share-path" }, t("export.sharePath")), sharePath, el("p", { class: "muted" }, t("export.sharePathHint")))
      : null,
  );
}

function changed(update, { structure = false, focus = null } = {}) {
  return (event) => {
    update(event);
    if (structure) renderDialog(focus ?? event?.target?.id);
    estimateSoon();
  };
}

function renderDialog(focusId) {
  const focused = focusId ?? document.activeElement?.id;
  const size = app.selection.size;
  const drives = choice.drives;
  const targetRadios = [];
  if (drives === null) targetRadios.push(el("p", { class: "muted" }, t("export.lookingForDrives")));
  else {
    for (const d of drives) {
      targetRadios.push(
        radio(
          "export-target",
          d.mount_point,
          choice.target === d.mount_point,
          [el("strong", {}, d.mount_point), " ", el("span", { class: "muted" }, `${d.device}${d.free !== null && d.free !== undefined ? ` · ${t("export.free", { size: formatBytes(d.free) })}` : ""}`)],
          changed(() => (choice.target = d.mount_point)),
          { "data-testid": "export-drive" },
        ),
      );
    }
    if (drives.length === 0) targetRadios.push(el("p", { class: "muted" }, t("export.noDrives")));
  }
  if (choice.folder) {
    targetRadios.push(radio("export-target", "folder", choice.target === choice.folder, [t("export.folder"), " ", el("code", {}, choice.folder)], changed(() => (choice.target = choice.folder)), { id: "export-target-folder" }));
  }
  const passwordBlock = choice.embed
    ? el(
        "div",
        { class: "embed" },
        el("label", { for: "export-password" }, t("export.password")),
        password,
        notice("warning", el("p", {}, t("export.embedWarning"))),
      )
    : null;
  dialog.replaceChildren(
    el(
      "form",
      { method: "dialog", class: "dialog-form", onsubmit: (e) => { e.preventDefault(); start(); } },
      el("h2", { id: "export-title" }, t("export.title")),
      el(
        "div",
        { class: "dialog-body" },
      el(
        "fieldset",
        {},
        el("legend", {}, t("export.which")),
        radio("export-scope", "selection", choice.scope === "selection", t(size === 1 ? "export.scopeSelection.one" : "export.scopeSelection", { n: formatNumber(size, app.lang) }), changed(() => (choice.scope = "selection")), { disabled: size === 0 }),
        radio("export-scope", "mismatched", choice.scope === "mismatched", t("export.scopeMismatched", { n: formatNumber(notYetRepaired(app.counts), app.lang) }), changed(() => (choice.scope = "mismatched"))),
      ),
      destinationFieldset(),
      el(
        "fieldset",
        {},
        el("legend", {}, t("export.target")),
        ...targetRadios,
        el("div", { class: "row-buttons" }, button(t("export.chooseFolder"), chooseFolder, { id: "export-choose-folder" }), button(t("export.refreshDrives"), loadDrives)),
        choice.drivesError ? errorBox(choice.drivesError) : null,
      ),
      el(
        "fieldset",
        {},
        el("legend", {}, t("export.passwordLegend")),
        radio("export-embed", "prompt", !choice.embed, [t("export.prompt"), " ", el("span", { class: "muted" }, t("export.recommended"))], changed(() => {
          choice.embed = false;
          password.value = "";
        }, { structure: true })),
        radio("export-embed", "embed", choice.embed, t("export.embed"), changed(() => (choice.embed = true), { structure: true, focus: "export-password" })),
        passwordBlock,
      ),
      syntaxFieldset(),
      el(
        "fieldset",
        {},
        el("legend", {}, t("export.more")),
        el(
          "label",
          { class: "option", for: "export-shared" },
          el("input", { type: "checkbox", id: "export-shared", checked: choice.shared, onchange: changed((e) => (choice.shared = e.target.checked)) }),
          el("span", {}, t("export.shared")),
        ),
        el(
          "label",
          { class: "inline", for: "export-language" },
          el("span", {}, t("export.language")),
          el(
            "select",
            { id: "export-language", onchange: changed((e) => (choice.language = e.target.value)) },
            el("option", { value: "en", selected: (choice.language ?? app.lang) === "en" }, "English"),
            el("option", { value: "ja", selected: (choice.language ?? app.lang) === "ja" }, "日本語"),
          ),
        ),
      ),
      ),
      el(
        "div",
        { class: "dialog-foot" },
        el("div", { class: "estimate", id: "export-estimate", "data-testid": "export-estimate", "aria-live": "polite" }),
        el(
          "div",
          { class: "dialog-buttons" },
          button(t("cancel"), closeDialog, { testid: "export-cancel" }),
          el("button", { type: "submit", class: "button primary", id: "export-start", "data-testid": "export-start" }, t("export.start")),
        ),
      ),
    ),
  );
  renderEstimate();
  const again = focused ? document.getElementById(focused) : null;
  if (again && dialog.contains(again)) again.focus();
}

password.addEventListener("input", () => estimateSoon());

function renderEstimate() {
  const box = document.getElementById("export-estimate");
  const startButton = document.getElementById("export-start");
  if (!box) return;
  let content;
  if (!choice.target) content = el("p", { class: "muted" }, t("export.chooseTarget"));
  else if (choice.embed && password.value === "") content = el("p", { class: "muted" }, t("export.typePassword"));
  else if (xgState()?.missing.length || xgState()?.invalid.length) {
    const xg = xgState();
    const names = (fields) => fields.map((f) => t(`export.xg.${f}`)).join(", ");
    content = el(
      "p",
      { class: "warn-text", "data-testid": "export-xg-needed" },
      xg.missing.length ? t("export.xgNeeded", { fields: names(xg.missing) }) : t("export.xgInvalid", { fields: names(xg.invalid) }),
    );
  }
  else if (choice.estimateError) content = errorBox(choice.estimateError);
  else if (choice.estimating || !choice.estimate) content = el("p", { class: "muted" }, t("export.estimating"));
  else {
    const e = choice.estimate;
    const words = t(e.bundles === 1 ? "export.estimate.one" : "export.estimate", {
      n: formatNumber(e.bundles, app.lang),
      needed: formatBytes(e.bytes_needed),
      free: formatBytes(e.bytes_available),
    });
    content = e.fits
      ? el("p", { class: "estimate-ok" }, words)
      : el("div", {}, el("p", { class: "estimate-bad" }, words), notice("error", el("p", {}, t("export.noSpace"))));
  }
  box.replaceChildren(content);
  if (startButton) startButton.disabled = !(choice.estimate?.fits && !choice.estimating && !choice.estimateError) || choice.starting;
}

// ---------------------------------------------------------------- the view

function resultBox() {
  const last = local.last;
  if (!last) return null;
  if (last.error) {
    const cancelled = last.error.code === "bundle.cancelled";
    return el(
      "section",
      { class: "card result", "data-testid": "export-result", "aria-labelledby": "export-result-heading" },
      el("h2", { id: "export-result-heading" }, t(cancelled ? "export.cancelledHeading" : "export.failedHeading")),
      errorBox(last.error, {}, cancelled ? "warning" : "error"),
      cancelled ? el("p", {}, t("export.cancelledNext")) : null,
      cancelled && local.target
        ? el(
            "div",
            { class: "next" },
            button(t("export.openFolder"), () => openFolder(local.target), { testid: "open-folder", id: "export-open-folder" }),
            el("p", { class: "next-step" }, t("export.eject")),
          )
        : null,
      local.openError ? errorBox(local.openError) : null,
    );
  }
  const r = last.result;
  const n = r.bundles.length;
  return el(
    "section",
    { class: "card result", "data-testid": "export-result", "aria-labelledby": "export-result-heading" },
    el("h2", { id: "export-result-heading" }, t(n === 1 ? "export.done.one" : "export.done", { n: formatNumber(n, app.lang), size: formatBytes(r.bytes) })),
    el("dl", {}, el("dt", {}, t("export.folderLabel")), el("dd", {}, el("code", {}, r.out_dir)), r.shared_tools ? [el("dt", {}, t("export.sharedLabel")), el("dd", {}, el("code", {}, r.shared_tools))] : null),
    r.password_embedded ? notice("warning", el("p", {}, t("export.embeddedDone"))) : null,
    r.removed_leftovers?.length ? el("p", { class: "muted" }, t("export.leftovers", { n: r.removed_leftovers.length })) : null,
    r.deploy ? deployBox(r) : null,
    // Bundles of earlier exports on this target that a PC the stick visited changed.
    r.bundle_check?.findings?.length ? el("div", { class: "problems" }, el("h3", {}, t("bundleCheck.before")), checkReport(r.bundle_check, { testid: "export-precheck" })) : null,
    el(
      "div",
      { class: "next" },
      button(t("export.openFolder"), () => openFolder(r.out_dir), { primary: true, testid: "open-folder", id: "export-open-folder" }),
      button(t("bundleCheck.verifyHere"), () => verifyBundles(r.out_dir), { testid: "verify-bundles-export", id: "export-verify-bundles", disabled: local.verifying }),
      el("p", { class: "next-step" }, t("export.eject")),
      el("p", { class: "muted" }, t("export.thenRun")),
    ),
    local.openError ? errorBox(local.openError) : null,
    local.check ? el("div", { class: "problems" }, el("h3", {}, t("bundleCheck.heading")), local.check.error ? errorBox(local.check.error) : checkReport(local.check.result)) : null,
  );
}

/** A share export: the command every PC runs, where the steps are, and how it is going. */
function deployBox(r) {
  const f = local.fleet?.result;
  const count = (key, n) => el("li", { "data-testid": `fleet-${key}` }, el("span", { class: "n" }, formatNumber(n ?? 0, app.lang)), " ", t(`deploy.${key}`));
  return el(
    "div",
    { class: "deploy", "data-testid": "export-deploy" },
    el("h3", {}, t("deploy.heading")),
    el("p", {}, t("deploy.entry"), " ", el("code", { "data-testid": "deploy-entry" }, r.deploy.entry)),
    el("p", {}, t("deploy.steps")),
    el("ul", { class: "plain" }, r.deploy.files.map((file) => el("li", {}, el("code", {}, file)))),
    el("h3", {}, t("deploy.progress")),
    local.fleet?.error
      ? errorBox(local.fleet.error)
      : el(
          "ul",
          { class: "counts" },
          count("bundles", f?.bundles),
          count("reported", f?.reported),
          count("repaired", f?.repaired),
          count("failed", f?.failed),
          count("password_needed", f?.password_needed),
          count("not_listed", local.notListed),
          count("silent", f?.silent),
        ),
    el("div", { class: "row-buttons" }, button(t("deploy.readNow"), () => readFleetReceipts(r.out_dir), { testid: "deploy-read", id: "deploy-read", disabled: local.reading })),
  );
}

/** The share export's progress as the store has it. */
async function refreshFleet(dir) {
  try {
    local.fleet = { result: await api.exportProgress(dir) };
  } catch (error) {
    local.fleet = { error };
  }
  render();
}

/** Reads the share's receipts now (they also arrive by themselves), then the progress. */
async function readFleetReceipts(dir) {
  local.reading = true;
  render();
  try {
    const report = await api.readReceipts(dir);
    local.notListed = report.not_listed?.length ?? 0;
    emit("receipts", report);
    if (report.applied?.length) emit("agents-changed");
  } catch (error) {
    local.fleet = { error };
  }
  local.reading = false;
  await refreshFleet(dir);
}

/** Checks the bundles on the export target against what certmend wrote. */
async function verifyBundles(dir) {
  local.verifying = true;
  render();
  try {
    local.check = { result: await api.verifyBundles(dir) };
  } catch (error) {
    local.check = { error };
  }
  local.verifying = false;
  render();
}

async function openFolder(path) {
  try {
    await api.openFolder(path);
    local.openError = null;
  } catch (error) {
    local.openError = error;
  }
  render();
}

export function render() {
  const job = runningJob("export");
  const size = app.selection.size;
  const c = app.counts;
  progress.refresh(job);
  keepFocus(section, () => fill(section,
    el(
      "div",
      { class: "view-head" },
      el("h1", {}, t("nav.repair")),
      el("div", { class: "toolbar" }, button(t("repair.export"), openExportDialog, { primary: true, shortcut: "Ctrl+E", testid: "open-export", id: "open-export", disabled: Boolean(job) || (size === 0 && notYetRepaired(c) === 0) })),
    ),
    el("ol", { class: "steps" }, el("li", {}, t("repair.step1")), el("li", {}, t("repair.step2")), el("li", {}, t("repair.step3"))),
    progress.node,
    local.startError ? errorBox(local.startError) : null,
    resultBox(),
    card(
      "repair-state",
      t("repair.state"),
      el(
        "ul",
        { class: "counts" },
        STATUSES.filter((s) => s !== "resolved").map((s) =>
          el("li", {}, el("span", { class: "n" }, formatNumber(c[s], app.lang)), " ", el("span", { class: `pill status-${s}` }, t(`status.${s}`))),
        ),
      ),
      el("p", {}, size ? t("repair.selection", { n: formatNumber(size, app.lang) }) : t("repair.noSelection")),
    ),
  ));
}

// ---------------------------------------------------------------- events

on("job-progress", (p) => {
  if (p.kind === "export") progress.refresh(runningJob("export"));
});

on("job-done", async (done) => {
  if (done.kind !== "export") return;
  local.last = { at: new Date().toISOString(), result: done.result, error: done.error };
  local.openError = null;
  local.check = null;
  local.fleet = null;
  local.notListed = 0;
  if (done.result?.deploy) refreshFleet(done.result.out_dir);
  app.selection.clear();
  emit("selection");
  emit("agents-changed");
  await refreshCounts();
  if (app.view !== "repair") emit("toast", t(done.error ? "export.stoppedToast" : "export.doneToast"));
  else render();
});

on("server-changed", () => {
  // Values typed for one server's XG form are not another's.
  choice.xgTyped = {};
});

on("selection", () => {
  choice.expanded = null;
  if (!section.hidden) render();
});
on("counts", () => {
  if (!section.hidden) render();
});

// Receipts that arrived by themselves on the last share export's folder: its progress moved.
on("receipts", (report) => {
  const r = local.last?.result;
  if (!r?.deploy || !report?.folder || !String(report.folder).startsWith(r.out_dir)) return;
  local.notListed = report.not_listed?.length ?? local.notListed;
  refreshFleet(r.out_dir);
});

window.addEventListener("beforeunload", (event) => {
  if (runningJob("export")) {
    event.preventDefault();
    event.returnValue = "";
  }
});

export const view = { id: "repair", section, render };
