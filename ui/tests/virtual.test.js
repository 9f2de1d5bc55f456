import { test } from "node:test";
import assert from "node:assert/strict";
import { PageCache, pagesFor, scrollToShow, visibleRange } from "../virtual.js";

test("the visible window with overscan, clamped to the rows there are", () => {
  // 100,000 rows of 32 px, a 640 px viewport scrolled to row 5,000.
  const r = visibleRange({ scrollTop: 5000 * 32, viewportHeight: 640, rowHeight: 32, total: 100000, overscan: 8 });
  assert.deepEqual(r, { start: 4992, end: 5029 });
  assert.ok(r.end - r.start < 50, "draws tens of rows, never all");
  assert.deepEqual(visibleRange({ scrollTop: 0, viewportHeight: 640, rowHeight: 32, total: 5, overscan: 8 }), { start: 0, end: 5 });
  assert.deepEqual(visibleRange({ scrollTop: 0, viewportHeight: 640, rowHeight: 32, total: 0 }), { start: 0, end: 0 });
  // Scrolled past the end (the list shrank under a search): still a valid range.
  const past = visibleRange({ scrollTop: 99999 * 32, viewportHeight: 640, rowHeight: 32, total: 10, overscan: 2 });
  assert.ok(past.start >= 0 && past.end <= 10 && past.start <= past.end, JSON.stringify(past));
});

test("pages covering a range", () => {
  assert.deepEqual(pagesFor(0, 100, 100), [0]);
  assert.deepEqual(pagesFor(95, 105, 100), [0, 1]);
  assert.deepEqual(pagesFor(4992, 5029, 100), [49, 50]);
  assert.deepEqual(pagesFor(10, 10, 100), []);
});

test("scrolling a row into view", () => {
  assert.equal(scrollToShow({ index: 10, scrollTop: 0, viewportHeight: 320, rowHeight: 32 }), 32);
  assert.equal(scrollToShow({ index: 2, scrollTop: 320, viewportHeight: 320, rowHeight: 32 }), 64);
  assert.equal(scrollToShow({ index: 12, scrollTop: 320, viewportHeight: 320, rowHeight: 32 }), 320);
});

test("the page cache fetches each page once and drops answers to old queries", () => {
  const cache = new PageCache({ pageSize: 100, maxPages: 3 });
  cache.use("q1");
  assert.deepEqual(cache.missing(95, 105), [0, 1]);
  const g0 = cache.begin(0);
  cache.begin(1);
  assert.deepEqual(cache.missing(95, 105), [], "pending pages are not asked twice");
  assert.ok(cache.store(0, Array.from({ length: 100 }, (_, i) => ({ name: `PC-${i}` })), g0));
  assert.equal(cache.row(42).name, "PC-42");
  assert.equal(cache.row(142), undefined);
  assert.deepEqual(cache.bounds(3), { offset: 300, limit: 100 });

  // A new search: the late answer for page 1 of the old one is thrown away.
  const g1 = cache.generation;
  assert.equal(cache.use("q2"), true);
  assert.equal(cache.store(1, [{ name: "old" }], g1), false);
  assert.equal(cache.row(100), undefined);
  assert.equal(cache.use("q2"), false, "the same key keeps the pages");
  assert.deepEqual(cache.missing(0, 10), [0]);
});

test("the page cache evicts the least recently used pages", () => {
  const cache = new PageCache({ pageSize: 10, maxPages: 2 });
  cache.use("q");
  for (const p of [0, 1]) cache.store(p, [{ name: `p${p}` }], cache.begin(p));
  cache.touch(0, 5); // page 0 used again
  cache.store(2, [{ name: "p2" }], cache.begin(2));
  assert.ok(cache.hasPage(0) && cache.hasPage(2) && !cache.hasPage(1));
  const g = cache.begin(5);
  cache.fail(5, g);
  assert.deepEqual(cache.missing(50, 55), [5], "a failed page can be asked again");
});
