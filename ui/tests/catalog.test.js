// Catalog completeness beyond "same keys in both": every key the window's code names
// exists, every value a key is built from (statuses, columns, verdicts...) has its
// words, every error code Rust can send is translated, and Rust's fixed English
// sentences have Japanese.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogs, translateError } from "../i18n.js";
import { CODES } from "../contract.js";
import { COLUMNS, STATUSES } from "../query.js";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = readdirSync(ui)
  .filter((f) => f.endsWith(".js") && f !== "i18n.js" && f !== "contract.js")
  .map((f) => [f, readFileSync(join(ui, f), "utf8")]);
const prefixes = new Set(Object.keys(catalogs.en).map((k) => k.split(".")[0]));

test("every catalog key named in the code exists", () => {
  const missing = [];
  for (const [file, text] of sources) {
    for (const [, key] of text.matchAll(/["'`]([a-z]+(?:\.[a-zA-Z0-9_]+)+)["'`]/g)) {
      if (!prefixes.has(key.split(".")[0]) || key.endsWith(".js") || key.endsWith(".dat")) continue;
      // Event kinds ("receipt.read") and error codes ("import.cancelled") are values,
      // named in the catalog as event.<kind> and error.<code>.
      if (!(key in catalogs.en) && !(`event.${key}` in catalogs.en) && !(`error.${key}` in catalogs.en)) missing.push(`${file}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("keys built from values have words for every value", () => {
  const families = {
    status: STATUSES,
    column: COLUMNS,
    verdict: ["current", "previous", "foreign", "unreadable"],
    receipt: ["REPAIRED", "IPXFER_FAILED", "CERT_STILL_DIFFERENT", "NOT_ADMIN", "AGENT_NOT_FOUND", "BUNDLE_BROKEN", "MATCHES", "DIFFERS", "BUNDLE_TAMPERED", "WRONG_COMPUTER"],
    encoding: ["utf-8", "utf-8-bom", "utf-16le", "utf-16be", "cp932"],
    encryption: ["modern", "legacy"],
    encryptionShort: ["modern", "legacy"],
    container: ["pkcs12", "key_file"],
    backupKind: ["backup", "pre_restore", "restore_kit"],
    nav: ["server", "agents", "repair", "receipts", "keys", "history"],
    product: ["apex_one", "office_scan", "unknown"],
    consoleWarning: ["apex_one", "office_scan"],
    event: ["list.imported", "server.first_read", "certificate.changed", "bundles.exported", "receipt.read", "certificates.compared", "backup.created", "backup.pre_restore", "backup.restored", "backup.restore_recovered", "backup.restore_kit"],
  };
  for (const [family, values] of Object.entries(families)) {
    for (const value of values) assert.ok(`${family}.${value}` in catalogs.en, `${family}.${value}`);
  }
});

test("the error codes the window handles are translated in both languages", () => {
  const codes = [
    "keypair.wrong_password", "keypair.no_mac", "keypair.corrupt", "keypair.key_mismatch", "keypair.no_key", "keypair.no_certificate", "keypair.not_rsa", "keypair.bad_key",
    "backup.weak_password", "backup.no_server_key_pair", "backup.write", "backup.read_back", "backup.not_confirmed",
    "restore.kit_exists", "restore.source_changed", "restore.write", "restore.read_back",
    "bundle.cancelled", "bundle.no_space", "bundle.nothing_to_export", "bundle.unknown_agents", "bundle.ipxfer_missing", "bundle.verify", "bundle.write", "bundle.xg_value_missing", "bundle.shared_tools_in_use", "bundle.target_busy",
    "list.no_name_column", "list.unknown_encoding", "receipts.no_folder", "import.cancelled",
    "store.busy", "store.disk_full", "app.no_server", "app.bad_path", "app.folder_not_allowed", "app.open_folder", "app.internal", "app.no_data_dir",
    "file.not_found", "file.unreadable", "file.is_directory", "file.link", "file.not_regular", "file.too_large", "server.not_an_install_folder", "script.password_quote",
  ];
  for (const code of codes) {
    for (const lang of ["en", "ja"]) {
      const text = translateError(lang, { code, message: "DETAIL" });
      assert.ok(!text.includes("DETAIL"), `${lang} ${code}: ${text}`);
    }
  }
});

// Codes only the CLI prints (its usage, its password prompts, CertificateManager runs,
// registry notes, expiry lines on stderr) or that the app shows before the window exists
// (startup.rs has its own words in both languages): the window never receives them.
const NOT_SHOWN_BY_THE_WINDOW = new Set([
  "app.start", "app.webview2_missing",
  "cert.expired", "cert.expires_soon",
  "certificate_manager.failed", "certificate_manager.listed", "certificate_manager.missing", "certificate_manager.nothing_listed", "certificate_manager.start",
  "detect.registry_path_missing",
  "password.mismatch", "password.no_terminal", "password.file_not_private",
  "usage.bundle", "usage.no_files",
]);

test("every code Rust declares has words in both languages, naming only its arguments", () => {
  // contract.js is generated from certmend-core's contract.rs, whose test finds every
  // code in the Rust sources: a code Rust sends without words fails here.
  const missing = [];
  const unknownArgs = [];
  for (const [code, args] of Object.entries(CODES)) {
    for (const lang of ["en", "ja"]) {
      const key = [`error.${code}`, `reason.${code}`].find((k) => k in catalogs[lang]);
      if (!key) {
        if (!NOT_SHOWN_BY_THE_WINDOW.has(code)) missing.push(`${lang}: ${code}`);
        continue;
      }
      for (const k of [key, `${key}.facts`].filter((k) => k in catalogs[lang])) {
        for (const [, name] of catalogs[lang][k].matchAll(/\{(\w+)\}/g)) {
          if (!args.includes(name)) unknownArgs.push(`${lang} ${k}: {${name}} is not one of ${JSON.stringify(args)}`);
        }
      }
    }
  }
  assert.ok(Object.keys(CODES).length > 100, `${Object.keys(CODES).length} codes`);
  assert.deepEqual(missing, []);
  assert.deepEqual(unknownArgs, []);
});

