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
