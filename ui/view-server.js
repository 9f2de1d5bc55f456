// The Server view: the certificate (with copy buttons), the server, its files, the
// key-pair backup state, and choosing another install folder.

import * as api from "./api.js";
import { app, emit, navigate, t } from "./app.js";
import { el } from "./dom.js";
import { expiryLevel, formatBytes, formatDate, formatDateTime, groupHex, shortThumbprint } from "./format.js";
import { button, card, copyButton, errorBox, notice, row } from "./widgets.js";

const section = document.getElementById("server-view");
const local = { choosing: false, error: null };

export function daysText(days) {
  return days < 0 ? t("cert.expiredAgo", { days: -days }) : t("cert.daysLeft", { days });
}

/** Opens the server in `path` (a chosen or dropped folder). */
export async function chooseServer(path) {
  local.choosing = true;
  local.error = null;
  render();
  try {
    app.server = await api.chooseServer(path);
    app.serverError = null;
    app.certChanged = false;
    emit("server-changed");
  } catch (error) {
    local.error = error;
  }
  local.choosing = false;
  emit("render");
}

/** Asks for another install folder and opens it (the button, and the broken-certificate banner). */
export async function pickServerFolder() {
  try {
    const path = await api.pickFolder();
    if (path) await chooseServer(path);
  } catch (error) {
    local.error = error;
    render();
  }
}

function certificateCard(cert) {
  const signature =
    cert.signature_valid === true ? t("cert.signatureValid") : cert.signature_valid === false ? t("cert.signatureInvalid") : t("cert.signatureUnchecked");
  return el(
    "section",
    { class: "card", "aria-labelledby": "cert-heading", "data-testid": "cert-card" },
    el("h2", { id: "cert-heading" }, t("cert.heading")),
    el(
      "dl",
      {},
      row(t("cert.subject"), cert.subject),
      row(t("cert.issuer"), cert.issuer),
      row(t("cert.serial"), el("code", {}, cert.serial)),
      row(t("cert.thumbprint"), el("code", { "data-testid": "thumbprint" }, cert.sha1_thumbprint), copyButton(cert.sha1_thumbprint)),
      row(t("cert.sha256"), el("code", { class: "long", title: cert.sha256, "data-testid": "sha256" }, groupHex(cert.sha256)), copyButton(cert.sha256)),
      row(t("cert.validFrom"), formatDate(cert.not_before, app.lang)),
      row(
        t("cert.validTo"),
        formatDate(cert.not_after, app.lang),
        el("span", { class: `days ${expiryLevel(cert.days_left)}`, "data-testid": "days-left" }, daysText(cert.days_left)),
      ),
      row(t("cert.key"), t("cert.keyValue", { algorithm: cert.public_key_algorithm, bits: cert.public_key_bits })),
      row(t("cert.signature"), `${cert.signature_algorithm} · ${signature}`),
      row(t("cert.selfSigned"), cert.self_signed ? t("yes") : t("no")),
    ),
  );
}

/** The newest verified backup of the current key pair, if any. */
export function currentBackup() {
  return app.server?.backup ?? null;
}

/** Server_Version and ServicePack_Build as the registry holds them, or why unknown. */
export function versionText(version) {
  if (version?.server_version) return t("server.versionValue", { version: version.server_version, build: version.service_pack_build ?? "—" });
  return t(version?.registry_key ? "server.versionNoValue" : "server.versionUnknown");
}

function serverCard(server) {
  const backup = currentBackup();
  const ipxfer = app.server?.ipxfer?.decision ?? null;
  return el(
    "section",
    { class: "card", "aria-labelledby": "server-heading" },
    el("h2", { id: "server-heading" }, t("server.heading")),
    el(
      "dl",
      {},
      row(t("server.installFolder"), el("code", {}, server.install_folder)),
      row(t("server.product"), t(`product.${server.product}`)),
      row(t("server.location"), t(`location.${server.default_location}`)),
      row(t("server.foundBy"), t(`foundBy.${server.found_by}`)),
      row(t("server.version"), el("span", { "data-testid": "server-version" }, versionText(server.version))),
      ipxfer ? row(t("server.ipxferDefault"), el("span", { "data-testid": "server-ipxfer" }, t(`export.${ipxfer.syntax}`), " · ", el("span", { class: "muted" }, t(`ipxfer.reason.${ipxfer.reason}`)))) : null,
      row(
        t("server.backup"),
        !app.server?.report?.certificate
          ? el("span", { class: "muted", "data-testid": "server-backup" }, "—")
          : backup
          ? el(
              "span",
              { class: "ok-text", "data-testid": "server-backup" },
              t("server.backupYes", { date: formatDateTime(backup.created, app.lang), thumb: shortThumbprint(backup.sha1_thumbprint) }),
            )
          : el("span", { class: "warn-text", "data-testid": "server-backup" }, t("server.backupNo")),
        backup || !app.server?.report?.certificate
          ? null
          : el("span", { class: "row-action" }, button(t("banner.backupNow"), () => navigate("keys", { focus: "backup" }), { shortcut: "Ctrl+B" })),
      ),
    ),
  );
}

function filesCard(server) {
  const fileState = (f) => (f.error ? t("files.unreadable") : f.present ? t("files.present") : t("files.missing"));
  return el(
    "section",
    { class: "card", "aria-labelledby": "files-heading" },
    el("h2", { id: "files-heading" }, t("files.heading")),
    el(
      "table",
      { class: "files data", "data-testid": "files" },
      el("thead", {}, el("tr", {}, ["files.name", "files.state", "files.size", "files.path"].map((k) => el("th", { scope: "col" }, t(k))))),
      el(
        "tbody",
        {},
        server.files.map((f) =>
          el(
            "tr",
            { class: f.present ? "present" : "missing" },
            el("td", {}, f.name),
            el("td", {}, el("span", { class: `pill ${f.present && !f.error ? "ok" : "bad"}` }, fileState(f))),
            el("td", { class: "num" }, f.size === null || f.size === undefined ? "" : formatBytes(f.size)),
            el("td", { class: "path" }, el("code", {}, f.path ?? f.expected)),
          ),
        ),
      ),
    ),
  );
}

function otherServers() {
  const current = app.server?.report?.server?.install_folder;
  const others = (app.server?.found ?? []).filter((s) => s.install_folder !== current);
  if (others.length === 0) return null;
  return card(
    "found-heading",
    t("server.others"),
    el(
      "ul",
      { class: "plain" },
      others.map((s) =>
        el(
          "li",
          {},
          el("code", {}, s.install_folder),
          " ",
          el("span", { class: "muted" }, t(`product.${s.product}`)),
          " ",
          button(t("server.open"), () => chooseServer(s.install_folder)),
        ),
      ),
    ),
  );
}

/**
 * The management console's own warning for the problem certmend solves, word for word as
 * the product shows it (KA-0004224, KB 1102855), so an admin recognises it.
 */
function consoleWarning(product) {
  const products = product === "unknown" ? ["apex_one", "office_scan"] : [product];
  return notice(
    "info",
    el(
      "p",
      { "data-testid": "console-warning" },
      t("server.purpose"),
      " ",
      products.map((p, i) => [i ? " / " : "", el("q", {}, t(`consoleWarning.${p}`))]),
    ),
  );
}

export function render() {
  const report = app.server?.report;
  const head = el(
    "div",
    { class: "view-head" },
    el("h1", {}, t("nav.server")),
    el(
      "div",
      { class: "toolbar" },
      button(t("server.choose"), pickServerFolder, { testid: "choose-server", disabled: local.choosing }),
      local.choosing ? el("span", { class: "muted" }, t("server.opening")) : null,
    ),
  );
  const errors = [local.error ? errorBox(local.error) : null];
  if (!report) {
    section.replaceChildren(head, ...errors.filter(Boolean));
    return;
  }
  section.replaceChildren(
    head,
    ...errors.filter(Boolean),
    consoleWarning(report.server.product),
    el("div", { class: "cards" }, report.certificate ? certificateCard(report.certificate) : null, serverCard(report.server), filesCard(report.server), otherServers()),
  );
}

export const view = { id: "server", section, render };
