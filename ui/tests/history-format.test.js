import { test } from "node:test";
import assert from "node:assert/strict";
import { eventSummary } from "../history-format.js";
import { translate } from "../i18n.js";

const line = (lang, kind, detail) => eventSummary(kind, detail).map((p) => (p.raw ?? translate(lang, p.key, p.params))).join(" · ");

test("event details in words", () => {
  const imported = { agents: 36, duplicates: 0, encoding: "utf-8-bom", new_agents: 36, rejected: 0, resolved: 0, rows: 36 };
  assert.equal(line("en", "list.imported", imported), "36 rows · 36 new · 0 rejected · 0 resolved");
  assert.equal(line("en", "bundles.exported", { bundles: 3, of: 3 }), "3 of 3 bundles written");
  assert.equal(line("en", "certificate.changed", { from: "77E999A7DFA40BD0194C1E1D08382225A3DC9422", to: "8BE3A715EBFDF495AD84AF0D145CE0B818F4F1FC" }), "77E999A7…9422 → 8BE3A715…F1FC");
  assert.match(line("ja", "list.imported", imported), /36 行/);
  assert.equal(line("en", "something.new", { a: 1, nested: { b: 2 } }), "a: 1");
  assert.equal(line("en", "list.imported", null), "");
});
