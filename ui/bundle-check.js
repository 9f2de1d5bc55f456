// A stick checked against what certmend wrote to it (`verify_bundles`, and the checks
// an export and a receipts read-back make): shared by the Repair and Receipts views.

import { app, t } from "./app.js";
import { el } from "./dom.js";
import { baseName, formatNumber } from "./format.js";
import { notice } from "./widgets.js";

/** One finding in the window's language, by its code (`bundle_check.*`). */
export function findingText(f) {
  const key = `reason.${f.code}`;
  const text = t(key, f.args ?? {});
  return text === key ? f.reason : text;
}

/**
 * The findings of a TargetCheck: a notice that every bundle is as written, or a warning
 * with what to do and a table of every changed, added or missing file.
 */
export function checkReport(check, { testid = "bundle-check" } = {}) {
  const summary = el("p", { class: "facts" }, t("bundleCheck.summary", { bundles: formatNumber(check.bundles, app.lang), files: formatNumber(check.files, app.lang) }), " · ", el("code", {}, check.dir));
  if (!check.findings.length) {
    return el("div", { "data-testid": testid, "data-clean": "true" }, summary, notice("info", el("p", {}, t("bundleCheck.clean"))));
  }
  return el(
    "div",
    { "data-testid": testid, "data-clean": "false" },
    summary,
    notice("error", el("p", {}, t("bundleCheck.tampered", { n: formatNumber(check.findings.length, app.lang) })), el("p", {}, t("bundleCheck.whatToDo"))),
    el(
      "table",
      { class: "data" },
      el("thead", {}, el("tr", {}, ["bundleCheck.kind", "bundleCheck.file", "bundleCheck.agent", "bundleCheck.what"].map((k) => el("th", { scope: "col" }, t(k))))),
      el(
        "tbody",
        {},
        check.findings.map((f) =>
          el(
            "tr",
            { "data-testid": "bundle-finding", "data-code": f.code },
            el("td", {}, el("span", { class: "pill bad" }, t(`bundleCheck.${f.code.replace("bundle_check.", "")}`))),
            el("td", { class: "nowrap", title: f.path }, baseName(f.path)),
            el("td", { class: "nowrap" }, f.agent ?? (f.bundle_id ? el("code", {}, f.bundle_id) : el("span", { class: "muted" }, "—"))),
            // Hashes are long: they wrap anywhere.
            el("td", { class: "names" }, findingText(f)),
          ),
        ),
      ),
    ),
  );
}
