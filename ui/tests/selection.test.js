import { test } from "node:test";
import assert from "node:assert/strict";
import { Selection } from "../selection.js";

const rows = Array.from({ length: 10 }, (_, i) => ({ name: `PC-${i}`, status: i < 6 ? "mismatched" : "repaired" }));

test("click, Ctrl+click and Shift+click as in Explorer", () => {
  const s = new Selection();
  s.only(rows[2], 2);
  assert.equal(s.size, 1);
  assert.ok(s.isSelected(rows[2]));
  s.toggle(rows[5], 5);
  assert.equal(s.size, 2);
  assert.deepEqual(s.rangeTo(8), [5, 8]);
  s.range(rows.slice(5, 9));
  assert.deepEqual([...s.names].sort(), ["PC-5", "PC-6", "PC-7", "PC-8"], "Shift+click replaces with the range");
  assert.equal(s.anchor, 5, "the anchor stays for the next Shift+click");
  s.only(rows[0], 0);
  s.range(rows.slice(0, 3), { additive: true });
  s.toggle(rows[1], 1);
  assert.deepEqual([...s.names].sort(), ["PC-0", "PC-2"]);
  assert.deepEqual(s.exportSelection(), { all_mismatched: false, agents: ["PC-0", "PC-2"] });
});

test("select all mismatched exports with all_mismatched, without the names", () => {
  const s = new Selection();
  s.allWithStatus("mismatched", 36);
  assert.equal(s.size, 36);
  assert.ok(s.isSelected(rows[0]));
  assert.ok(!s.isSelected(rows[7]));
  assert.deepEqual(s.exportSelection(), { all_mismatched: true, agents: [] });
});

test("changing a status selection by hand asks for its names", () => {
  const s = new Selection();
  s.allWithStatus("mismatched", 6);
  s.toggle(rows[1], 1); // untick one mismatched
  s.toggle(rows[7], 7); // add a repaired one
  assert.equal(s.size, 6);
  assert.ok(!s.isSelected(rows[1]));
  assert.ok(s.isSelected(rows[7]));
  assert.equal(s.exportSelection(), null);
  assert.deepEqual(s.expand.extra, ["PC-7"]);
  assert.ok(s.expand.excluded.has("PC-1"));
  s.toggle(rows[1], 1);
  s.toggle(rows[7], 7);
  assert.deepEqual(s.exportSelection(), { all_mismatched: true, agents: [] });
});

test("an empty selection", () => {
  const s = new Selection();
  assert.ok(s.empty);
  assert.deepEqual(s.exportSelection(), { all_mismatched: false, agents: [] });
  s.allWithStatus("mismatched", 1);
  s.toggle(rows[0], 0);
  assert.ok(s.empty, "unticking the last one leaves nothing selected");
});

test("select all mismatched asks for the names once other unrepaired agents exist", () => {
  const s = new Selection();
  s.allWithStatus("mismatched", 6);
  // An all-mismatched export would also take agents with a bundle: not the same set.
  assert.equal(s.exportSelection(false), null);
  assert.equal(s.expand.status, "mismatched");
});
