import { test } from "node:test";
import assert from "node:assert/strict";
import { catalogs, detectLanguage, translate, translateError } from "../i18n.js";

test("both catalogs have exactly the same keys", () => {
  const en = Object.keys(catalogs.en).sort();
  const ja = Object.keys(catalogs.ja).sort();
  assert.deepEqual(ja, en);
});

test("placeholders match between languages", () => {
  const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(catalogs.en)) {
    assert.deepEqual(names(catalogs.ja[key]), names(catalogs.en[key]), key);
  }
});

test("language from the OS locale", () => {
  assert.equal(detectLanguage(["ja-JP", "en-US"]), "ja");
  assert.equal(detectLanguage(["en-US"]), "en");
  assert.equal(detectLanguage(undefined), "en");
});

test("translation fills placeholders and falls back", () => {
  assert.equal(translate("en", "cert.daysLeft", { days: 12 }), "12 days left");
  assert.equal(translate("ja", "cert.daysLeft", { days: 12 }), "残り 12 日");
  assert.equal(translate("en", "no.such.key"), "no.such.key");
});

test("errors translate by code, never by message text", () => {
  assert.match(translateError("ja", { code: "server.certificate_missing", message: "x" }), /OfcNTCer\.dat が見つかりません/);
  assert.equal(translateError("en", { code: "unknown.code", message: "disk on fire" }), "Something went wrong: disk on fire");
});

test("an error's facts follow its words when Rust sent their arguments", () => {
  const error = { code: "bundle.no_space", message: "x", args: { path: "E:\\", needed_bytes: "3170602560", available_bytes: "1048576" } };
  const en = translateError("en", error);
  assert.match(en, /^Not enough free space on the target: nothing was written\. Needed: 3\.0 GB; free: 1\.0 MB \(E:\\\)\.$/);
  assert.match(translateError("ja", error), /必要: 3\.0 GB、空き: 1\.0 MB/);
  // Wrapped without its arguments: the words alone, no "{path}" left in them.
  const bare = translateError("en", { code: "bundle.no_space", message: "x" });
  assert.equal(bare, "Not enough free space on the target: nothing was written.");
  assert.ok(!translateError("ja", { code: "file.not_found", message: "x", args: {} }).includes("{"));
  assert.match(translateError("ja", { code: "file.not_found", message: "x", args: { path: "/x/a.csv" } }), /ファイル: \/x\/a\.csv$/);
});

