// The window's script: asks Rust for the server through the one command this window may
// call, and renders it. All facts come from certmend-core; this file only lays them out.

import { detectLanguage, translate, translateError } from "./i18n.js";
import { expiryLevel, formatBytes, formatDate, groupHex, shortThumbprint } from "./format.js";

const state = {
  lang: localStorage.getItem("certmend.lang") || detectLanguage(navigator.languages),
  opened: null,
  error: null,
};

const t = (key, params) => translate(state.lang, key, params);

/** Builds an element: el("div", {class: "x"}, child, "text", ...). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function copyButton(text) {
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

function daysText(days) {
  return days < 0 ? t("cert.expiredAgo", { days: -days }) : t("cert.daysLeft", { days });
}

function renderContext() {
  const box = document.getElementById("context-server");
  box.replaceChildren();
  const report = state.opened?.report;
  if (!report) return;
  const { server, certificate } = report;
  if (server.demo) box.append(el("span", { class: "badge demo", "data-testid": "demo-badge" }, t("demo.badge")));
  box.append(el("span", { class: "product" }, t(`product.${server.product}`)));
  box.append(el("span", { class: "folder", title: server.install_folder }, server.install_folder));
  if (certificate) {
    box.append(
      el("span", { class: "thumb", title: certificate.sha1_thumbprint }, shortThumbprint(certificate.sha1_thumbprint)),
      el("span", { class: `days ${expiryLevel(certificate.days_left)}` }, daysText(certificate.days_left)),
    );
  }
}

function banners(report) {
  const list = [];
  if (report.server.demo) list.push(el("div", { class: "banner info", role: "note", "data-testid": "demo-banner" }, t("demo.banner")));
  if (!report.server.complete) {
    list.push(el("div", { class: "banner error", role: "alert" }, t("server.incomplete", { missing: report.server.missing.join(", ") })));
  }
  if (report.certificate_error) {
    list.push(el(
        "div",
        { class: "banner error", role: "alert", "data-testid": "cert-error", title: report.certificate_error.message },
        translateError(state.lang, report.certificate_error),
      ));
  }
  const cert = report.certificate;
  if (cert && expiryLevel(cert.days_left) === "warning") {
    list.push(el("div", { class: "banner warning", role: "alert" }, t("cert.expiryBanner", { days: cert.days_left })));
  } else if (cert && expiryLevel(cert.days_left) === "expired") {
    list.push(el("div", { class: "banner error", role: "alert" }, t("cert.expiredBanner", { days: -cert.days_left })));
  }
  return list;
}

function row(label, value, extra) {
  return [el("dt", {}, label), el("dd", {}, value, extra)];
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
      row(t("cert.validFrom"), formatDate(cert.not_before, state.lang)),
      row(
        t("cert.validTo"),
        formatDate(cert.not_after, state.lang),
        el("span", { class: `days ${expiryLevel(cert.days_left)}`, "data-testid": "days-left" }, daysText(cert.days_left)),
      ),
      row(t("cert.key"), t("cert.keyValue", { algorithm: cert.public_key_algorithm, bits: cert.public_key_bits })),
      row(t("cert.signature"), `${cert.signature_algorithm} · ${signature}`),
      row(t("cert.selfSigned"), cert.self_signed ? t("yes") : t("no")),
    ),
  );
}

function serverCard(server) {
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
      { class: "files", "data-testid": "files" },
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
            el("td", { class: "num" }, f.size === null ? "" : formatBytes(f.size)),
            el("td", { class: "path" }, el("code", {}, f.path ?? f.expected)),
          ),
        ),
      ),
    ),
  );
}

function render() {
  document.documentElement.lang = state.lang;
  document.getElementById("lang").textContent = t("lang.switch");
  const status = document.getElementById("status");
  const view = document.getElementById("server-view");
  renderContext();
  if (state.error) {
    status.textContent = translateError(state.lang, state.error);
    status.className = "status error";
    view.hidden = true;
    return;
  }
  const report = state.opened?.report;
  if (!report) {
    status.textContent = t("app.loading");
    view.hidden = true;
    return;
  }
  status.textContent = "";
  view.replaceChildren(
    ...banners(report),
    el("div", { class: "cards" }, report.certificate ? certificateCard(report.certificate) : null, serverCard(report.server), filesCard(report.server)),
  );
  view.hidden = false;
  document.body.dataset.ready = "true";
}

document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "ja" ? "en" : "ja";
  localStorage.setItem("certmend.lang", state.lang);
  render();
});

async function start() {
  render();
  try {
    state.opened = await window.__TAURI__.core.invoke("open_server");
  } catch (error) {
    state.error = error;
  }
  render();
}

start();
