// The Key pairs view: back up the server's key pair (check first, then a new password
// typed twice), the list of backups with Verify, and Restore, which writes a restore
// kit for the server's reinstallation (a plan, an explicit confirmation of exactly the
// file the plan showed, then the kit) and never touches the server folder. Password
// fields are emptied once used.

import * as api from "./api.js";
import { app, emit, on, t } from "./app.js";
import { el, keepFocus } from "./dom.js";
import { expiryLevel, formatBytes, formatDate, formatDateTime, shortThumbprint } from "./format.js";
import { checkNewPassword, MIN_PASSWORD_LENGTH } from "./passwords.js";
import { daysText } from "./view-server.js";
import { button, card, copyButton, errorBox, notice, row } from "./widgets.js";

const section = document.getElementById("keys-view");

const local = {
  source: "server", // "server" | "file"
  sourceFile: null,
  checking: false,
  check: null,
  checkError: null,
  allowWeak: false,
  legacy: false,
  creating: false,
  created: null,
  createError: null,
  backups: null,
  backupsError: null,
  verifyFile: null,
  verifying: false,
  verified: null,
  verifyError: null,
  restoreFile: null,
  kitFolder: null,
  planning: false,
  plan: null,
  planError: null,
  confirmed: false,
  restoring: false,
  kit: null,
  restoreError: null,
  openError: null,
};

const passwordInput = (id, testid, autocomplete = "off") => el("input", { type: "password", id, class: "text", autocomplete, "data-testid": testid });
const sourcePassword = passwordInput("kp-password", "keypair-password", "current-password");
const newPassword = passwordInput("kp-new-password", "backup-password", "new-password");
const newPassword2 = passwordInput("kp-new-password2", "backup-password2", "new-password");
const verifyPassword = passwordInput("kp-verify-password", "verify-password");
const restorePassword = passwordInput("kp-restore-password", "restore-password");

function clear(...inputs) {
  for (const input of inputs) input.value = "";
}

// A changed source or password makes the earlier check (or plan) stale.
sourcePassword.addEventListener("input", () => {
  if (local.check || local.checkError) {
    local.check = null;
    local.checkError = null;
    render();
  }
});
for (const input of [newPassword, newPassword2]) input.addEventListener("input", () => renderPasswordRules());
restorePassword.addEventListener("input", () => {
  if (local.plan || local.planError) {
    local.plan = null;
    local.planError = null;
    local.confirmed = false;
    render();
  }
});
for (const [input, action] of [
  [sourcePassword, () => check()],
  [verifyPassword, () => verify()],
  [restorePassword, () => plan()],
]) {
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      action();
    }
  });
}

function sourceFile() {
  return { path: local.source === "file" ? local.sourceFile ?? "" : "", password: sourcePassword.value };
}

async function pickKeyPair() {
  const paths = await api.pickFiles("key_pair");
  return paths[0] ?? null;
}

// ---------------------------------------------------------------- back up

async function chooseSource() {
  try {
    const path = await pickKeyPair();
    if (path) {
      local.source = "file";
      local.sourceFile = path;
      local.check = null;
      local.checkError = null;
    }
  } catch (error) {
    local.checkError = error;
  }
  render();
  sourcePassword.focus();
}

async function check() {
  if (local.source === "file" && !local.sourceFile) return;
  local.checking = true;
  local.check = null;
  local.checkError = null;
  local.created = null;
  render();
  try {
    local.check = await api.keypairShow(sourceFile());
  } catch (error) {
    local.checkError = error;
  }
  local.checking = false;
  render();
  document.getElementById(local.check ? "kp-new-password" : "kp-password")?.focus();
}

async function create() {
  const rules = checkNewPassword(newPassword.value, newPassword2.value, local.allowWeak);
  if (!rules.ok || !local.check) return;
  local.creating = true;
  local.createError = null;
  render();
  try {
    local.created = await api.backupCreate({ file: sourceFile(), new_password: newPassword.value, legacy: local.legacy, allow_weak_password: local.allowWeak });
    clear(sourcePassword, newPassword, newPassword2);
    local.check = null;
    await loadBackups();
    updateServerBackup();
  } catch (error) {
    local.createError = error;
  }
  local.creating = false;
  render();
  document.getElementById("backup-result")?.focus();
}

/** After a backup: the server's "verified backup" state, from the list (no reload needed). */
function updateServerBackup() {
  const sha = app.server?.report?.certificate?.sha256;
  const match = (local.backups ?? []).find((b) => b.kind === "backup" && b.certificate_sha256 === sha);
  if (app.server && match) {
    app.server.backup = match;
    emit("render");
  }
}

function relationItem(relation) {
  if (!relation) return null;
  if (relation.relation === "current") return el("li", { class: "ok" }, mark(true), t("keys.relationCurrent"));
  if (relation.relation === "previous") {
    return el("li", { class: "warn" }, mark("warn"), t("keys.relationPrevious", { from: formatDate(relation.first_seen, app.lang), to: formatDate(relation.last_seen, app.lang) }));
  }
  return el("li", { class: "bad" }, mark(false), t("keys.relationNeither"));
}

/** What the catalog says of a file (backup_verify, restore_plan): certmend's own, changed, or another's. */
function catalogItem(catalog) {
  if (!catalog) return null;
  if (catalog.kind === "unchanged") return el("li", { class: "ok", "data-testid": "catalog-match" }, mark(true), t("keys.catalogUnchanged", { id: catalog.backup_id }));
  if (catalog.kind === "changed") return el("li", { class: "bad", "data-testid": "catalog-match" }, mark(false), t("keys.catalogChanged", { id: catalog.backup_id }));
  return el("li", { class: "warn", "data-testid": "catalog-match" }, mark("warn"), t("keys.catalogNotCertmend"));
}

/** ✓, ✗ or ! before a check's words (the words say it too: never the sign alone). */
function mark(ok) {
  const sign = ok === "warn" ? "!" : ok ? "✓" : "✗";
  return el("span", { class: "mark", "aria-hidden": "true" }, sign);
}

/** The checks of a key pair (keypair_show / backup_verify) and its certificate. */
function checksBlock(report, testid) {
  const c = report.checks;
  const cert = report.certificate;
  return el(
    "div",
    { class: "checks-block", "data-testid": testid },
    el(
      "ul",
      { class: "checks" },
      el("li", { class: c.password_ok ? "ok" : "bad" }, mark(c.password_ok), t(c.password_ok ? "keys.passwordOk" : "keys.passwordBad")),
      el(
        "li",
        { class: c.key_matches_certificate ? "ok" : "bad" },
        mark(c.key_matches_certificate),
        t(c.key_matches_certificate ? "keys.keyMatches" : "keys.keyDiffers"),
        el(
          "span",
          { class: "muted" },
          ` (${t("keys.publicKeyEqual")}: ${c.public_key_equal ? t("yes") : t("no")} · ${t("keys.signVerify")}: ${c.sign_verify ? t("yes") : t("no")})`,
        ),
      ),
      relationItem(c.equals_server_certificate),
      catalogItem(report.catalog),
    ),
    el(
      "dl",
      {},
      row(t("keys.file"), el("code", {}, report.file)),
      row(t("cert.subject"), cert.subject),
      row(t("cert.thumbprint"), el("code", {}, cert.sha1_thumbprint), copyButton(cert.sha1_thumbprint)),
      row(t("cert.validTo"), formatDate(cert.not_after, app.lang), el("span", { class: `days ${expiryLevel(cert.days_left)}` }, daysText(cert.days_left))),
      row(t("cert.key"), t("cert.keyValue", { algorithm: report.key.algorithm, bits: report.key.bits })),
      row(t("keys.container"), t(`container.${report.container}`)),
      report.other_certificates ? row(t("keys.otherCertificates"), String(report.other_certificates)) : null,
    ),
  );
}

const rulesBox = el("ul", { class: "rules", id: "kp-rules", "aria-live": "polite" });
function renderPasswordRules() {
  const a = newPassword.value;
  const b = newPassword2.value;
  const result = checkNewPassword(a, b, local.allowWeak);
  const long = [...a].length >= MIN_PASSWORD_LENGTH;
  rulesBox.replaceChildren(
    el("li", { class: long ? "ok" : local.allowWeak ? "warn" : "pending" }, mark(long), t("keys.ruleLength", { n: MIN_PASSWORD_LENGTH })),
    el("li", { class: a && a === b ? "ok" : b ? "bad" : "pending" }, mark(a && a === b), t(b && a !== b ? "keys.ruleMismatch" : "keys.ruleMatch")),
  );
  const createButton = document.getElementById("kp-create");
  if (createButton) createButton.disabled = !result.ok || local.creating;
}

function backupCard() {
  const server = app.server?.report?.server;
  const serverHasPair = server?.files?.some((f) => f.name === "OfficeScanAuth.dat" && f.present);
  const sourceChoice = el(
    "fieldset",
    {},
    el("legend", {}, t("keys.source")),
    el(
      "label",
      { class: "option", for: "kp-source-server" },
      el("input", {
        type: "radio",
        name: "kp-source",
        id: "kp-source-server",
        checked: local.source === "server",
        onchange: () => {
          local.source = "server";
          local.check = null;
          render();
        },
      }),
      el("span", {}, t("keys.sourceServer"), serverHasPair ? null : el("span", { class: "warn-text" }, ` — ${t("keys.sourceServerMissing")}`)),
    ),
    el(
      "label",
      { class: "option", for: "kp-source-file" },
      el("input", {
        type: "radio",
        name: "kp-source",
        id: "kp-source-file",
        checked: local.source === "file",
        disabled: !local.sourceFile,
        onchange: () => {
          local.source = "file";
          local.check = null;
          render();
        },
      }),
      el("span", {}, local.sourceFile ? [t("keys.sourceFile"), " ", el("code", {}, local.sourceFile)] : t("keys.sourceNoFile")),
    ),
    el("div", { class: "row-buttons" }, button(t("keys.chooseFile"), chooseSource, { id: "kp-choose-source" })),
  );
  const step1 = el(
    "div",
    { class: "step" },
    el("label", { for: "kp-password" }, t("keys.sourcePassword")),
    el("div", { class: "inline-row" }, sourcePassword, button(t("keys.check"), check, { primary: !local.check, id: "kp-check", testid: "keypair-check", disabled: local.checking })),
    local.checking ? el("p", { class: "muted" }, t("keys.checking")) : null,
    local.checkError ? errorBox(local.checkError) : null,
    local.check ? checksBlock(local.check, "keypair-checks") : null,
  );
  const usable = local.check && local.check.checks.key_matches_certificate;
  const step2 = usable
    ? el(
        "div",
        { class: "step" },
        el("h3", {}, t("keys.newPasswordHeading")),
        el("p", { class: "muted" }, t("keys.newPasswordExplain")),
        el("div", { class: "field" }, el("label", { for: "kp-new-password" }, t("keys.newPassword")), newPassword),
        el("div", { class: "field" }, el("label", { for: "kp-new-password2" }, t("keys.newPasswordAgain")), newPassword2),
        rulesBox,
        el(
          "label",
          { class: "option", for: "kp-allow-weak" },
          el("input", {
            type: "checkbox",
            id: "kp-allow-weak",
            checked: local.allowWeak,
            onchange: (e) => {
              local.allowWeak = e.target.checked;
              renderPasswordRules();
            },
          }),
          el("span", {}, t("keys.allowWeak")),
        ),
        el(
          "label",
          { class: "option", for: "kp-legacy" },
          el("input", {
            type: "checkbox",
            id: "kp-legacy",
            checked: local.legacy,
            onchange: (e) => {
              local.legacy = e.target.checked;
              render();
            },
          }),
          el("span", {}, t("keys.legacy")),
        ),
        local.legacy ? notice("warning", el("p", {}, t("keys.legacyWarning"))) : null,
        el("div", { class: "row-buttons" }, button(t("keys.create"), create, { primary: true, id: "kp-create", testid: "backup-create", disabled: local.creating })),
        local.creating ? el("p", { class: "muted" }, t("keys.creating")) : null,
        local.createError ? errorBox(local.createError) : null,
      )
    : null;
  return card("kp-backup-heading", t("keys.backupHeading"), el("p", { class: "intro" }, t("keys.backupIntro")), sourceChoice, step1, step2, createdBox());
}

function filesTable(files, nameOf = (f) => f.path) {
  return el(
    "table",
    { class: "data files-written" },
    el("thead", {}, el("tr", {}, ["files.path", "files.size", "cert.sha256"].map((k) => el("th", { scope: "col" }, t(k))))),
    el(
      "tbody",
      {},
      files.map((f) =>
        el(
          "tr",
          {},
          el("td", { class: "path" }, el("code", {}, nameOf(f))),
          el("td", { class: "num" }, formatBytes(f.size)),
          el("td", {}, el("code", { class: "hash", title: f.sha256 }, `${f.sha256.slice(0, 16)}…`), copyButton(f.sha256)),
        ),
      ),
    ),
  );
}

function parentFolder(path) {
  const cut = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
  return cut > 0 ? path.slice(0, cut) : path;
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

function createdBox() {
  const c = local.created;
  if (!c) return null;
  return el(
    "div",
    { class: "result-box", "data-testid": "backup-result", id: "backup-result", tabindex: -1 },
    el("h3", {}, t("keys.created", { thumb: shortThumbprint(c.certificate.sha1_thumbprint) })),
    el("p", {}, t("keys.encryption", { encryption: t(`encryption.${c.encryption}`) })),
    filesTable(c.files),
    (c.warning_codes ?? []).map((code) => t(`reason.${code}`)).map((w) => notice("warning", el("p", {}, w))),
    el("div", { class: "row-buttons" }, c.files[0] ? button(t("export.openFolder"), () => openFolder(parentFolder(c.files[0].path)), { id: "kp-open-created" }) : null),
    el("p", { class: "next-step" }, t("keys.createdNext")),
  );
}

// ---------------------------------------------------------------- backups and verify

async function loadBackups() {
  try {
    local.backups = await api.backupsList();
    local.backupsError = null;
  } catch (error) {
    local.backupsError = error;
  }
}

function joinPath(folder, name) {
  const sep = folder.includes("\\") && !folder.includes("/") ? "\\" : "/";
  return folder.endsWith(sep) ? folder + name : folder + sep + name;
}

function keyPairFileOf(backup) {
  const pfx = backup.files.find((f) => /\.(pfx|p12|dat)$/i.test(f.name)) ?? backup.files[0];
  return pfx ? joinPath(backup.folder, pfx.name) : null;
}

function useForVerify(path) {
  local.verifyFile = path;
  local.verified = null;
  local.verifyError = null;
  render();
  verifyPassword.focus();
}

function useForRestore(path) {
  local.restoreFile = path;
  local.plan = null;
  local.planError = null;
  local.confirmed = false;
  local.kit = null;
  render();
  restorePassword.focus();
}

async function verify() {
  if (!local.verifyFile) return;
  local.verifying = true;
  local.verified = null;
  local.verifyError = null;
  render();
  try {
    local.verified = await api.backupVerify({ path: local.verifyFile, password: verifyPassword.value });
    clear(verifyPassword);
  } catch (error) {
    local.verifyError = error;
  }
  local.verifying = false;
  render();
}

function backupsCard() {
  const list = local.backups;
  let table;
  if (local.backupsError) table = errorBox(local.backupsError);
  else if (list === null) table = el("p", { class: "muted" }, t("app.loadingShort"));
  else if (list.length === 0) table = el("p", { class: "muted", "data-testid": "backups-list" }, t("keys.noBackups"));
  else {
    const current = app.server?.report?.certificate?.sha256;
    table = el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        { class: "data", "data-testid": "backups-list" },
        el("thead", {}, el("tr", {}, ["keys.kind", "keys.createdAt", "keys.certificate", "keys.encryptionLabel", "keys.files", ""].map((k) => el("th", { scope: "col" }, k ? t(k) : "")))),
        el(
          "tbody",
          {},
          list.map((b) => {
            const file = keyPairFileOf(b);
            return el(
              "tr",
              { "data-testid": "backup-row" },
              el("td", {}, t(`backupKind.${b.kind}`), b.certificate_sha256 === current ? el("span", { class: "tag" }, t("keys.currentTag")) : null),
              el("td", { class: "nowrap" }, formatDateTime(b.created, app.lang)),
              el(
                "td",
                { title: `${b.subject}\n${b.sha1_thumbprint}` },
                el("code", { class: "nowrap" }, shortThumbprint(b.sha1_thumbprint)),
                el("div", { class: "muted small nowrap" }, t("keys.validTo", { date: formatDate(b.not_after, app.lang) })),
              ),
              el("td", {}, b.encryption ? t(`encryptionShort.${b.encryption}`) : "—"),
              el(
                "td",
                { class: "files-cell" },
                b.files.map((f) => el("div", { title: `${f.name}\nSHA-256 ${f.sha256}` }, el("span", { class: "ext" }, (f.name.split(".").pop() ?? "").toUpperCase()), el("span", { class: "muted" }, ` ${formatBytes(f.size)}`))),
              ),
              el(
                "td",
                { class: "actions" },
                file ? button(t("keys.verifyThis"), () => useForVerify(file)) : null,
                file ? button(t("keys.restoreThis"), () => useForRestore(file)) : null,
                button(t("export.openFolder"), () => openFolder(b.folder)),
              ),
            );
          }),
        ),
      ),
    );
  }
  const verifyBlock = el(
    "div",
    { class: "step" },
    el("h3", { id: "kp-verify-heading" }, t("keys.verifyHeading")),
    el(
      "p",
      {},
      local.verifyFile ? [t("keys.fileLabel"), " ", el("code", {}, local.verifyFile)] : el("span", { class: "muted" }, t("keys.verifyNoFile")),
      " ",
      button(t("keys.chooseFile"), async () => {
        try {
          const path = await pickKeyPair();
          if (path) useForVerify(path);
        } catch (error) {
          local.verifyError = error;
          render();
        }
      }, { id: "kp-verify-choose" }),
    ),
    el("label", { for: "kp-verify-password" }, t("keys.filePassword")),
    el("div", { class: "inline-row" }, verifyPassword, button(t("keys.verify"), verify, { id: "kp-verify", testid: "backup-verify", disabled: !local.verifyFile || local.verifying })),
    local.verifying ? el("p", { class: "muted" }, t("keys.checking")) : null,
    local.verifyError ? errorBox(local.verifyError) : null,
    local.verified ? checksBlock(local.verified, "verify-result") : null,
  );
  return card("kp-list-heading", t("keys.listHeading"), table, local.openError ? errorBox(local.openError) : null, verifyBlock);
}

// ---------------------------------------------------------------- restore

async function chooseKitFolder() {
  try {
    const path = await api.pickFolder();
    if (path) {
      local.kitFolder = path;
      local.plan = null;
      local.planError = null;
      local.confirmed = false;
      render();
    }
  } catch (error) {
    local.planError = error;
    render();
  }
}

const kitRequest = () => ({ file: { path: local.restoreFile, password: restorePassword.value }, out_dir: local.kitFolder });

async function plan() {
  if (!local.restoreFile || !local.kitFolder) return;
  local.planning = true;
  local.plan = null;
  local.planError = null;
  local.confirmed = false;
  local.kit = null;
  render();
  try {
    local.plan = await api.restorePlan(kitRequest());
  } catch (error) {
    local.planError = error;
  }
  local.planning = false;
  render();
  document.getElementById(local.plan ? "restore-plan" : "kp-restore-password")?.focus();
}

async function writeKit() {
  if (!local.plan || !local.confirmed) return;
  local.restoring = true;
  local.restoreError = null;
  render();
  try {
    // The hash of the file the plan showed: a file changed since is refused.
    local.kit = await api.restoreKit({ ...kitRequest(), source_sha256: local.plan.source_sha256, confirmed: true });
    clear(restorePassword);
    local.plan = null;
    local.confirmed = false;
    await loadBackups();
  } catch (error) {
    local.restoreError = error;
  }
  local.restoring = false;
  render();
  document.getElementById("restore-result")?.focus();
}

function certColumn(title, cert) {
  return el(
    "div",
    { class: "cert-col" },
    el("h4", {}, title),
    cert
      ? el(
          "dl",
          {},
          row(t("cert.subject"), cert.subject),
          row(t("cert.thumbprint"), el("code", { title: cert.sha1_thumbprint }, shortThumbprint(cert.sha1_thumbprint))),
          row(t("cert.validTo"), formatDate(cert.not_after, app.lang)),
        )
      : el("p", { class: "muted" }, t("keys.noCurrent")),
  );
}

function agentList(group) {
  if (!group.sample.length) return null;
  const more = group.count - group.sample.length;
  return el("details", {}, el("summary", {}, t("keys.showAgents")), el("p", { class: "names" }, group.sample.join(", "), more > 0 ? ` … (+${more})` : ""));
}

function planBox() {
  const p = local.plan;
  if (!p) return null;
  const verdictClass = { same_as_current: "info", agents_hold_it: "info", previous_no_agents_known: "warning", unknown: "warning" }[p.verdict];
  return el(
    "div",
    { class: "plan", "data-testid": "restore-plan", id: "restore-plan", tabindex: -1 },
    el("h3", {}, t("keys.planHeading")),
    el("div", { class: "cert-compare" }, certColumn(t("keys.planBackup"), p.certificate), certColumn(t("keys.planServer"), p.current_certificate)),
    notice(verdictClass, el("p", { "data-testid": "restore-verdict" }, t(`reason.${p.verdict_code}`, { n: p.agents_holding_kit.count }))),
    el("ul", { class: "checks" }, relationItem(p.relation), catalogItem(p.source_catalog)),
    el(
      "ul",
      { class: "plain" },
      el("li", {}, t("keys.agentsBackup", { n: p.agents_holding_kit.count }), agentList(p.agents_holding_kit)),
      el("li", {}, t("keys.agentsCurrent", { n: p.agents_holding_current.count }), agentList(p.agents_holding_current)),
      el("li", {}, t("keys.agentsUnknown", { n: p.agents_unknown })),
    ),
    el("h4", {}, t("keys.planWrites")),
    el("ul", { class: "plain" }, p.files.map((file) => el("li", {}, el("code", {}, file)))),
    el("p", { class: "muted" }, t(`reason.${p.encryption_reason_code}`)),
    el("p", { class: "muted" }, t("keys.planServerUntouched")),
    el(
      "div",
      { class: "confirm" },
      el(
        "label",
        { class: "option", for: "kp-confirm" },
        el("input", {
          type: "checkbox",
          id: "kp-confirm",
          "data-testid": "restore-confirm",
          checked: local.confirmed,
          onchange: (e) => {
            local.confirmed = e.target.checked;
            const go = document.getElementById("kp-restore");
            if (go) go.disabled = !local.confirmed || local.restoring;
          },
        }),
        el("span", {}, t("keys.confirm")),
      ),
      button(t("keys.restoreGo"), writeKit, { id: "kp-restore", testid: "restore-go", disabled: !local.confirmed || local.restoring }),
    ),
  );
}

function kitBox() {
  const k = local.kit;
  if (!k) return null;
  return el(
    "div",
    { class: "result-box", "data-testid": "restore-result", id: "restore-result", tabindex: -1 },
    el("h3", {}, t("keys.restored")),
    filesTable(k.files),
    el("p", {}, el("code", {}, k.kit_folder), " ", button(t("export.openFolder"), () => openFolder(k.kit_folder))),
    el("h4", {}, t("keys.nextSteps")),
    el("ol", { class: "next-steps" }, ["keys.kitNext1", "keys.kitNext2", "keys.kitNext3"].map((key) => el("li", {}, t(key)))),
  );
}

function restoreCard() {
  return el(
    "section",
    { class: "card", "aria-labelledby": "kp-restore-heading" },
    el("h2", { id: "kp-restore-heading" }, t("keys.restoreHeading")),
    el("p", { class: "intro" }, t("keys.restoreIntro")),
    el(
      "p",
      {},
      local.restoreFile ? [t("keys.fileLabel"), " ", el("code", {}, local.restoreFile)] : el("span", { class: "muted" }, t("keys.restoreNoFile")),
      " ",
      button(t("keys.chooseFile"), async () => {
        try {
          const path = await pickKeyPair();
          if (path) useForRestore(path);
        } catch (error) {
          local.planError = error;
          render();
        }
      }, { id: "kp-restore-choose" }),
    ),
    el(
      "p",
      { "data-testid": "restore-kit-folder" },
      local.kitFolder ? [t("keys.kitFolderLabel"), " ", el("code", {}, local.kitFolder)] : el("span", { class: "muted" }, t("keys.kitNoFolder")),
      " ",
      button(t("keys.chooseKitFolder"), chooseKitFolder, { id: "kp-kit-folder", testid: "restore-folder" }),
    ),
    el("label", { for: "kp-restore-password" }, t("keys.filePassword")),
    el("div", { class: "inline-row" }, restorePassword, button(t("keys.plan"), plan, { id: "kp-plan", testid: "restore-plan-button", disabled: !local.restoreFile || !local.kitFolder || local.planning })),
    local.planning ? el("p", { class: "muted" }, t("keys.checking")) : null,
    local.planError ? errorBox(local.planError) : null,
    planBox(),
    local.restoring ? el("p", { class: "muted" }, t("keys.restoring")) : null,
    local.restoreError ? errorBox(local.restoreError) : null,
    kitBox(),
  );
}

// ---------------------------------------------------------------- view

export function render() {
  keepFocus(section, () =>
    section.replaceChildren(
      el("div", { class: "view-head" }, el("h1", {}, t("nav.keys"))),
      backupCard(),
      backupsCard(),
      restoreCard(),
    ),
  );
  renderPasswordRules();
}

/** Called when the view is shown (options from navigate: {focus: "backup"} or {keyPair: path}). */
export async function show(options = {}) {
  if (options.keyPair) {
    local.source = "file";
    local.sourceFile = options.keyPair;
    local.check = null;
    local.checkError = null;
    if (!local.verifyFile) local.verifyFile = options.keyPair;
    if (!local.restoreFile) local.restoreFile = options.keyPair;
  }
  render();
  if (options.focus === "backup" || options.keyPair) sourcePassword.focus();
  if (local.backups === null) {
    await loadBackups();
    render();
  }
}

on("server-changed", () => {
  clear(sourcePassword, newPassword, newPassword2, verifyPassword, restorePassword);
  local.check = null;
  local.checkError = null;
  local.backups = null;
  if (app.view === "keys") show();
});

export const view = { id: "keys", section, render, show };
