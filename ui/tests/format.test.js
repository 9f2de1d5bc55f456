import { test } from "node:test";
import assert from "node:assert/strict";
import { expiryLevel, shortThumbprint, groupHex, formatBytes, formatDate } from "../format.js";

test("expiry levels around the 90-day warning", () => {
  assert.equal(expiryLevel(1064), "ok");
  assert.equal(expiryLevel(91), "ok");
  assert.equal(expiryLevel(90), "warning");
  assert.equal(expiryLevel(0), "warning");
  assert.equal(expiryLevel(-1), "expired");
});

test("thumbprints shorten and group", () => {
  const hex = "8BE3A715EBFDF495AD84AF0D145CE0B818F4F1FC";
  assert.equal(shortThumbprint(hex), "8BE3A715…F1FC");
  assert.equal(shortThumbprint("ABCD"), "ABCD");
  assert.equal(groupHex("8BE3A715EB"), "8BE3 A715 EB");
});

test("bytes as Explorer shows them", () => {
  assert.equal(formatBytes(834), "834 B");
  assert.equal(formatBytes(1536), "1.5 KB");
  assert.equal(formatBytes(1.5 * 1024 * 1024), "1.5 MB");
  assert.equal(formatBytes(NaN), "");
});

test("dates in both languages", () => {
  assert.match(formatDate("2029-10-25T00:00:00Z", "ja"), /2029\/10\/25/);
  assert.match(formatDate("2029-10-25T00:00:00Z", "en"), /2029/);
  assert.equal(formatDate("not a date", "en"), "not a date");
});

test("numbers, date-times, file names, delimiters, progress", async () => {
  const { formatNumber, formatDateTime, baseName, delimiterKey, progressParts } = await import("../format.js");
  assert.equal(formatNumber(100000, "en"), "100,000");
  assert.equal(formatNumber(100000, "ja"), "100,000");
  assert.match(formatDateTime("2026-11-26T02:52:46Z", "ja"), /^2026\/11\/26 \d\d:\d\d$/);
  assert.match(formatDateTime("2026-11-26T02:52:46Z", "en"), /2026, \d\d:\d\d$/);
  assert.equal(formatDateTime("garbage", "en"), "garbage");
  assert.equal(baseName("C:\\lists\\a b.csv"), "a b.csv");
  assert.equal(baseName("/tmp/x/list.csv"), "list.csv");
  assert.equal(baseName("/tmp/folder/"), "folder");
  assert.equal(delimiterKey("\t"), "delimiter.tab");
  // An export: the bar follows bundles; bytes are shown as written.
  const p = progressParts({ kind: "export", done: 410 * 1024 * 1024, total: 920 * 1024 * 1024, items_done: 139, items_total: 312 });
  assert.deepEqual(p.items, { current: 140, done: 139, total: 312 });
  assert.deepEqual(p.bytes, { done: "410 MB", total: null });
  assert.equal(p.percent, 44);
  // An import of two files, half-way through the second.
  const i = progressParts({ kind: "import", done: 3 * 1024 * 1024, total: 6 * 1024 * 1024, items_done: 1, items_total: 2 });
  assert.equal(i.percent, 75);
  assert.deepEqual(i.bytes, { done: "3.0 MB", total: "6.0 MB" });
  assert.equal(progressParts({ kind: "import", done: 10, total: 10, items_done: 2, items_total: 2 }).percent, 100);
  assert.equal(progressParts({ done: 0, total: 0, items_done: 0, items_total: 0 }).fraction, 0);
});
