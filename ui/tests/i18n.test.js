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
