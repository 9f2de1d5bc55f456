// The codes a stick check and a receipts read-back send (bundle_check.*, the receipts
// that were not counted, the alerts) have words in both languages, for every finding
// kind the Repair and Receipts views show as a pill.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogs, translate } from "../i18n.js";

const core = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "crates", "certmend-core", "src");

test("every bundle_check finding code has a reason and a pill in both languages", () => {
  const source = readFileSync(join(core, "bundle", "verify.rs"), "utf8");
  const codes = [...new Set([...source.matchAll(/"(bundle_check\.[a-z_]+)"/g)].map((m) => m[1]))];
  assert.ok(codes.length >= 8, `found ${codes.join(", ")}`);
  for (const code of codes) {
    for (const lang of ["en", "ja"]) {
      assert.ok(`reason.${code}` in catalogs[lang], `${lang}: reason.${code}`);
      assert.ok(`bundleCheck.${code.replace("bundle_check.", "")}` in catalogs[lang], `${lang}: pill for ${code}`);
    }
  }
});

test("every receipts problem code has words in both languages", () => {
  const source = ["receipts/mod.rs", "receipts/format.rs"].map((f) => readFileSync(join(core, f), "utf8")).join("\n");
  const codes = [...new Set([...source.matchAll(/"(receipts\.[a-z_]+)"/g)].map((m) => m[1]))].filter((c) => c !== "receipts.no_folder");
  for (const code of ["receipts.wrong_computer", "receipts.certificate_differs", "receipts.thumbprint_differs", "receipts.alert_bundle_tampered", "receipts.alert_wrong_computer"]) {
    assert.ok(codes.includes(code), `${code} is sent by receipts/`);
  }
  for (const code of codes) {
    for (const lang of ["en", "ja"]) assert.ok(`reason.${code}` in catalogs[lang], `${lang}: reason.${code}`);
  }
});

test("a finding reads with its values filled in", () => {
  const args = { file: "/media/stick/PC-01/IpXfer.exe", expected: "AA", found: "BB" };
  assert.equal(translate("en", "reason.bundle_check.changed", args), "changed since certmend wrote it (SHA-256 written AA, found BB)");
  assert.match(translate("ja", "reason.bundle_check.changed", args), /AA.*BB/);
  const wrong = translate("ja", "reason.receipts.wrong_computer", { computer: "PC-02", agent: "PC-01" });
  assert.match(wrong, /PC-02.*PC-01/);
});
