// The window's frame: the context header (the server in use, never scrolled away), the
// banners under it, the navigation rail in workflow order, keyboard shortcuts, drops
// anywhere, and Rust's events. The views live in view-*.js; every fact comes from
// certmend-core through the commands in src-tauri/COMMANDS.md.

import * as api from "./api.js";
import { app, emit, navigate, on, refreshCounts, runningJob, setLanguage, t, tError } from "./app.js";
import { el, fill, keepFocus } from "./dom.js";
import { dropActs, dropWording, planDrop } from "./drop.js";
import { baseName, expiryLevel, formatNumber, progressParts, shortThumbprint } from "./format.js";
import * as agents from "./view-agents.js";
import * as history from "./view-history.js";
import * as keys from "./view-keys.js";
import * as receipts from "./view-receipts.js";
import * as repair from "./view-repair.js";
import * as server from "./view-server.js";
import { button } from "./widgets.js";

const VIEWS = [server.view, agents.view, repair.view, receipts.view, keys.view, history.view];
const NAV_TESTIDS = { server: "nav-server", agents: "nav-agents", repair: "nav-repair", receipts: "nav-receipts", keys: "nav-keys", history: "nav-history" };

// ---------------------------------------------------------------- header and banners

function renderContext() {
  const box = document.getElementById("context-server");
  const report = app.server?.report;
  if (!report) {
    box.replaceChildren();
    return;
  }
  const { server: s, certificate } = report;
  fill(
    box,
    s.demo ? el("span", { class: "badge demo", "data-testid": "demo-badge" }, t("demo.badge")) : null,
    el("span", { class: "product" }, t(`product.${s.product}`)),
    el("span", { class: "folder", title: s.install_folder }, s.install_folder),
    certificate ? el("span", { class: "thumb", title: `${t("cert.thumbprint")}: ${certificate.sha1_thumbprint}` }, shortThumbprint(certificate.sha1_thumbprint)) : null,
    certificate ? el("span", { class: `days ${expiryLevel(certificate.days_left)}` }, server.daysText(certificate.days_left)) : el("span", { class: "days expired" }, t("nav.certError")),
  );
}

function banner(kind, text, action, attrs = {}) {
  return el("div", { class: `banner ${kind}`, role: kind === "info" ? "note" : "alert", ...attrs }, el("span", { class: "banner-text" }, text), action);
}

function hasVerifiedBackup() {
  return Boolean(app.server?.backup);
}

async function reloadServer() {
  try {
    app.server = await api.reloadServer();
    app.serverError = null;
    app.certChanged = false;
    emit("server-changed");
  } catch (error) {
    app.serverError = error;
  }
  renderAll();
}

function renderBanners() {
  const box = document.getElementById("banners");
  const report = app.server?.report;
  const list = [];
  if (report) {
    // The header's DEMO badge marks every view; the explanation sits on the Server view.
    if (report.server.demo && app.view === "server") list.push(banner("info", t("demo.banner"), null, { "data-testid": "demo-banner" }));
    if (app.certChanged) {
      list.push(banner("warning", t("banner.certChanged"), button(t("banner.reload"), reloadServer, { id: "banner-reload", testid: "banner-reload" }), { "data-testid": "cert-changed-banner" }));
    }
    if (!report.server.complete) list.push(banner("error", t("server.incomplete", { missing: report.server.missing.join(", ") })));
    if (report.certificate_error) {
      list.push(
        el(
          "div",
          { class: "banner error", role: "alert", "data-testid": "cert-error", title: report.certificate_error.message },
          el("span", { class: "banner-text" }, tError(report.certificate_error)),
          button(t("server.choose"), () => {
            navigate("server");
            server.pickServerFolder();
          }, { id: "banner-choose" }),
        ),
      );
    }
    const cert = report.certificate;
    if (cert && expiryLevel(cert.days_left) === "warning") list.push(banner("warning", t("cert.expiryBanner", { days: cert.days_left }), null, { "data-testid": "expiry-banner" }));
    else if (cert && expiryLevel(cert.days_left) === "expired") list.push(banner("error", t("cert.expiredBanner", { days: -cert.days_left }), null, { "data-testid": "expiry-banner" }));
    if (cert && !hasVerifiedBackup()) {
      list.push(banner("warning", el("span", { title: t("banner.noBackupWhy") }, t("banner.noBackup")), app.view === "keys" ? null : button(t("banner.backupNow"), () => navigate("keys", { focus: "backup" }), { id: "banner-backup", testid: "banner-backup" }), { "data-testid": "backup-banner" }));
    }
  }
  keepFocus(box, () => box.replaceChildren(...list));
}

// ---------------------------------------------------------------- navigation rail

function navState(id) {
  const c = app.counts;
  const cert = app.server?.report?.certificate;
  switch (id) {
    case "server":
      if (!app.server) return { text: "" };
      if (!cert) return { text: t("nav.certError"), level: "bad" };
      return { text: t("nav.days", { days: formatNumber(cert.days_left, app.lang) }), level: expiryLevel(cert.days_left) === "ok" ? "" : "bad" };
    case "agents":
      if (c.all === 0) return { text: t("nav.noAgents") };
      return c.mismatched ? { text: t("nav.mismatched", { n: formatNumber(c.mismatched, app.lang) }), level: "bad" } : { text: t("nav.agentsAll", { n: formatNumber(c.all, app.lang) }) };
    case "repair": {
      const job = runningJob("export");
      if (job) return { text: t("nav.exporting", { percent: progressParts(job.progress ?? {}).percent }), level: "busy" };
      return c.bundle_exported ? { text: t("nav.exported", { n: formatNumber(c.bundle_exported, app.lang) }) } : { text: "" };
    }
    case "receipts":
      if (app.receiptsNew) return { text: t("nav.receiptsNew", { n: formatNumber(app.receiptsNew, app.lang) }), level: "busy" };
      if (app.receiptsProblems) return { text: t("nav.receiptsProblems", { n: formatNumber(app.receiptsProblems, app.lang) }), level: "bad" };
      return c.repaired ? { text: t("nav.repaired", { n: formatNumber(c.repaired, app.lang) }), level: "good" } : { text: "" };
    case "keys":
      if (!cert) return { text: "" };
      return hasVerifiedBackup() ? { text: t("nav.backupOk"), level: "good" } : { text: t("nav.backupNone"), level: "bad" };
    default:
      return { text: "" };
  }
}

const SHORTCUTS = { agents: "Ctrl+F", repair: "Ctrl+E", keys: "Ctrl+B" };

// The rail's buttons are built once and updated in place: counts change often, and a
// button rebuilt under a click (or the keyboard focus) would lose it.
const navItems = new Map();
function buildNav() {
  const rail = document.getElementById("rail");
  const list = el("ul", {});
  VIEWS.forEach((v, index) => {
    const label = el("span", { class: "nav-label" });
    const state = el("span", { class: "nav-state" });
    const node = el(
      "button",
      {
        type: "button",
        class: "nav-item",
        id: `nav-${v.id}`,
        "data-testid": NAV_TESTIDS[v.id],
        "aria-keyshortcuts": SHORTCUTS[v.id] ? `Alt+${index + 1} ${SHORTCUTS[v.id].replace("Ctrl", "Control")}` : `Alt+${index + 1}`,
        onclick: () => navigate(v.id),
      },
      el("span", { class: "nav-step", "aria-hidden": "true" }, String(index + 1)),
      el("span", { class: "nav-text" }, label, state),
    );
    list.append(el("li", {}, node));
    navItems.set(v.id, { node, label, state });
  });
  rail.replaceChildren(list);
}

function renderNav() {
  if (navItems.size === 0) buildNav();
  document.getElementById("rail").setAttribute("aria-label", t("nav.label"));
  for (const v of VIEWS) {
    const item = navItems.get(v.id);
    const state = navState(v.id);
    const current = app.view === v.id;
    item.label.textContent = t(`nav.${v.id}`);
    item.state.textContent = state.text;
    item.state.className = `nav-state ${state.level ?? ""}`;
    item.node.classList.toggle("current", current);
    if (current) item.node.setAttribute("aria-current", "page");
    else item.node.removeAttribute("aria-current");
  }
}

// ---------------------------------------------------------------- views

function showView(id, options = {}) {
  const view = VIEWS.find((v) => v.id === id) ?? VIEWS[0];
  app.view = view.id;
  for (const v of VIEWS) v.section.hidden = v.id !== view.id;
  document.getElementById("main").classList.toggle("fill", view.id === "agents");
  if (!app.server && !app.serverError) {
    view.section.hidden = true;
    return;
  }
  if (view.show) view.show(options);
  else view.render();
}

function renderAll() {
  document.documentElement.lang = app.lang;
  document.title = "certmend";
  document.getElementById("lang").textContent = t("lang.switch");
  document.getElementById("lang").setAttribute("aria-label", t("lang.label"));
  renderContext();
  renderBanners();
  renderNav();
  const status = document.getElementById("status");
  if (app.serverError) {
    status.textContent = tError(app.serverError);
    status.className = "status error";
  } else if (!app.server) {
    status.textContent = t("app.loading");
    status.className = "status";
  } else {
    status.textContent = "";
    status.className = "status";
  }
  const view = VIEWS.find((v) => v.id === app.view);
  if (view && (app.server || app.serverError)) {
    view.section.hidden = false;
    view.render();
  }
  if (app.server && document.body.dataset.ready !== "true") {
    document.body.dataset.ready = "true";
    // When the server card first showed (the start-up benchmark reads it).
    document.body.dataset.readyAt = String(Date.now());
  }
}

on("navigate", ({ view, options }) => {
  if (view === "repair" && options?.exportDialog) {
    showView("repair");
    renderBanners();
    renderNav();
    repair.openExportDialog();
    return;
  }
  showView(view, options);
  renderBanners();
  renderNav();
  // Keyboard users moving along the rail stay on it; anything else (a shortcut, a
  // banner's action) lands on the view.
  const inRail = document.getElementById("rail").contains(document.activeElement);
  if (!options?.focus && !inRail) document.getElementById("main").focus({ preventScroll: true });
});
on("render", renderAll);
on("nav", renderNav);
on("counts", renderNav);
on("selection", renderNav);

on("agents-changed", refreshCounts);
on("server-changed", () => {
  refreshCounts();
  renderAll();
});

document.getElementById("lang").addEventListener("click", () => {
  setLanguage(app.lang === "ja" ? "en" : "ja");
  renderAll();
});

// ---------------------------------------------------------------- keyboard

document.addEventListener("keydown", (event) => {
  const ctrl = event.ctrlKey || event.metaKey;
  const dialogOpen = document.getElementById("export-dialog").open;
  if (ctrl && !event.altKey && !event.shiftKey) {
    const key = event.key.toLowerCase();
    if (key === "o") {
      event.preventDefault();
      if (dialogOpen) return;
      navigate("agents");
      agents.openLists();
    } else if (key === "f") {
      event.preventDefault();
      if (dialogOpen) return;
      if (app.view !== "agents") navigate("agents");
      agents.focusSearch();
    } else if (key === "e") {
      event.preventDefault();
      if (!dialogOpen) navigate("repair", { exportDialog: true });
    } else if (key === "b") {
      event.preventDefault();
      if (!dialogOpen) navigate("keys", { focus: "backup" });
    }
    return;
  }
  if (event.altKey && !ctrl && /^[1-6]$/.test(event.key) && !dialogOpen) {
    event.preventDefault();
    navigate(VIEWS[Number(event.key) - 1].id);
  }
  if (event.key === "Escape" && !document.getElementById("drop-overlay").hidden) hideOverlay();
});

// ---------------------------------------------------------------- drag and drop

const overlay = document.getElementById("drop-overlay");
let drop = null; // {paths, plan: Promise}

function hideOverlay() {
  overlay.hidden = true;
  overlay.replaceChildren();
}

function renderOverlay(plan) {
  const lines = plan ? dropWording(plan) : [{ key: "drop.checking", params: {} }];
  const refused = plan?.refused ?? [];
  overlay.replaceChildren(
    el(
      "div",
      { class: `drop-box${plan && !dropActs(plan) ? " refuse" : ""}` },
      el("p", { class: "drop-title" }, t(plan && !dropActs(plan) ? "drop.refuseTitle" : "drop.title")),
      el("ul", { class: "drop-lines" }, lines.map((l) => el("li", {}, t(l.key, { ...l.params, path: l.params.path ? baseName(l.params.path) : "" })))),
      refused.length
        ? el(
            "div",
            { class: "drop-refused" },
            el("p", {}, t("drop.refused", { n: refused.length })),
            el("ul", {}, refused.slice(0, 8).map((r) => el("li", {}, el("code", {}, baseName(r.path)), " — ", t(r.reasonKey)))),
            refused.length > 8 ? el("p", { class: "muted" }, `… +${refused.length - 8}`) : null,
          )
        : null,
    ),
  );
  overlay.hidden = false;
}

async function classify(paths) {
  try {
    return planDrop(await api.classifyDrop(paths));
  } catch (error) {
    return { ...planDrop([]), error };
  }
}

async function onDrop(paths) {
  const current = drop && sameList(drop.paths, paths) ? drop : { paths, plan: classify(paths) };
  drop = null;
  const plan = await current.plan;
  hideOverlay();
  if (plan.error) {
    toast(tError(plan.error));
    return;
  }
  if (plan.refused.length) toast(plan.refused.map((r) => `${baseName(r.path)}: ${t(r.reasonKey)}`).join("\n"));
  if (plan.serverFolder) {
    navigate("server");
    await server.chooseServer(plan.serverFolder);
    return;
  }
  if (plan.lists.length) {
    navigate("agents");
    await agents.startImport(plan.lists);
  }
  const certs = [...plan.certificates, ...plan.certificateFolders];
  if (certs.length) {
    if (app.view !== "agents") navigate("agents");
    await agents.compareCollected(certs);
  }
  if (plan.keyPair) navigate("keys", { keyPair: plan.keyPair });
}

function sameList(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function watchDrops() {
  api
    .on(api.DRAG_DROP, (event) => {
      if (document.getElementById("export-dialog").open) return;
      const p = event.payload;
      if (p.type === "enter") {
        const paths = p.paths ?? [];
        drop = { paths, plan: classify(paths) };
        renderOverlay(null);
        const mine = drop;
        drop.plan.then((plan) => {
          if (drop === mine && !overlay.hidden) renderOverlay(plan);
        });
      } else if (p.type === "leave") {
        drop = null;
        hideOverlay();
      } else if (p.type === "drop") {
        onDrop(p.paths ?? drop?.paths ?? []);
      }
    })
    .catch((error) => console.error("drag and drop", error));
}

// ---------------------------------------------------------------- toasts

let toastTimer = 0;
function toast(text) {
  let box = document.getElementById("toast");
  if (!box) {
    box = el("div", { id: "toast", class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 8000);
}

on("toast", toast);

// ---------------------------------------------------------------- Rust's events

function watchEvents() {
  api.on(api.JOB_PROGRESS, ({ payload }) => {
    if (app.doneJobs.has(payload.job)) return;
    const job = app.jobs.get(payload.job) ?? { kind: payload.kind };
    job.progress = payload;
    app.jobs.set(payload.job, job);
    emit("job-progress", payload);
    if (payload.kind === "export") renderNav();
  });
  api.on(api.JOB_DONE, ({ payload }) => {
    app.jobs.delete(payload.job);
    app.doneJobs.add(payload.job);
    emit("job-done", payload);
    renderNav();
  });
  api.on(api.RECEIPTS_APPLIED, ({ payload }) => {
    emit("receipts", payload);
    if (payload.applied?.length) emit("agents-changed");
  });
  api.on(api.SERVER_CERTIFICATE_CHANGED, ({ payload }) => {
    if (app.server && payload.server_id !== app.server.server_id) return;
    // A change the window already shows (e.g. its own restore, then a reload) is no news.
    const shown = app.server?.report?.certificate?.sha256 ?? null;
    if (payload.sha256 === shown) return;
    app.certChanged = true;
    renderBanners();
  });
  // Rust keeps the window open while an export runs and asks here first.
  api.on(api.CLOSE_REQUESTED, async ({ payload }) => {
    const kinds = (payload?.running ?? []).map((k) => t(`job.${k}`)).join(", ");
    if (window.confirm(t("close.confirm", { jobs: kinds }))) await api.quitApp();
  });
}

// ---------------------------------------------------------------- start

async function start() {
  renderAll();
  watchEvents();
  watchDrops();
  try {
    // The start-up benchmark measures from here to the card (readyAt).
    performance.mark("open-server");
    app.server = await api.openServer();
    app.serverError = null;
  } catch (error) {
    app.serverError = error;
  }
  showView("server");
  renderAll();
  refreshCounts();
}

start();
