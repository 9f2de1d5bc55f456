// Catalog completeness beyond "same keys in both": every key the window's code names
// exists, every value a key is built from (statuses, columns, verdicts...) has its
// words, every error code Rust can send is translated, and Rust's fixed English
// sentences have Japanese.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogs, translateError, translateText } from "../i18n.js";
import { COLUMNS, STATUSES } from "../query.js";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = readdirSync(ui)
  .filter((f) => f.endsWith(".js") && f !== "i18n.js")
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

test("Rust's fixed English sentences have Japanese", () => {
  const backup = join(ui, "../crates/certmend-core/src/backup.rs");
  const texts = [
    "no computer name",
    "neither a list, a certificate nor a key pair file",
    "7 fields where the header has 6 (an unquoted delimiter in a value?)",
    "bundle 0a1b is not known to this certmend database",
  ];
  if (existsSync(backup)) {
    // The legacy warning, as Rust writes it.
    const source = readFileSync(backup, "utf8");
    texts.push(JSON.parse(source.match(/LEGACY_WARNING: &str = ("(?:[^"\\]|\\.)*")/)[1]));
  }
  for (const text of texts) assert.notEqual(translateText("ja", text), text, text);
  assert.equal(translateText("en", "no computer name"), "no computer name");
  assert.equal(translateText("ja", "something new"), "something new");
});

test("every reason code Rust sends has words in both languages", () => {
  const core = join(ui, "..", "crates", "certmend-core", "src");
  const rust = ["agents/mod.rs", "dropped.rs"].map((f) => readFileSync(join(core, f), "utf8")).join("\n");
  const receipts = readFileSync(join(core, "receipts.rs"), "utf8");
  const codes = [
    ...[...rust.matchAll(/"((?:list|drop)\.[a-z_]+)"/g)].map((m) => m[1]),
    // Receipt problems (LineProblem::new("receipts.…")), not the module's error codes.
    ...[...receipts.matchAll(/LineProblem::new\(\s*"(receipts\.[a-z_]+)"/g)].map((m) => m[1]),
    // Backup warnings (backup.rs), restore verdicts and the kit's encryption (restore.rs).
    ...[...readFileSync(join(core, "backup.rs"), "utf8").matchAll(/"(backup\.legacy[.a-z_]*)"/g)].map((m) => m[1]),
    ...[...readFileSync(join(core, "restore.rs"), "utf8").matchAll(/"(restore\.(?:verdict|encryption)\.[a-z_]+)"/g)].map((m) => m[1]),
  ];
  assert.ok(codes.length >= 19, `found ${codes.length} codes`);
  for (const code of codes) {
    for (const lang of ["en", "ja"]) assert.ok(`reason.${code}` in catalogs[lang], `${lang}: reason.${code}`);
  }
});
