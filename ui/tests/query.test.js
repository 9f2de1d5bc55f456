import { test } from "node:test";
import assert from "node:assert/strict";
import { ariaSort, countsByStatus, debounce, defaultQuery, nextSort, notYetRepaired, pageRequest, queryKey, searchTerm } from "../query.js";

test("the agents_page request carries only what is set", () => {
  const q = defaultQuery();
  assert.deepEqual(pageRequest(q, 0, 100), { sort: "name", descending: false, offset: 0, limit: 100 });
  const filtered = { status: "mismatched", search: "  pc-dev ", sort: "last_seen", descending: true };
  assert.deepEqual(pageRequest(filtered, 200, 100), {
    status: "mismatched",
    search: "pc-dev",
    sort: "last_seen",
    descending: true,
    offset: 200,
    limit: 100,
  });
  assert.equal(pageRequest(q, 0, 5000).limit, 1000, "never more than agents_page allows");
  assert.equal(pageRequest({ ...q, status: "bogus", sort: "bogus" }, 0, 10).status, undefined);
  assert.equal(pageRequest({ ...q, sort: "bogus" }, 0, 10).sort, "name");
  assert.equal(pageRequest(q, 0, 10).skip_counts, undefined, "counted unless asked not to");
  assert.equal(pageRequest(q, 100, 100, { counts: false }).skip_counts, true);
});

test("the cache key changes with what selects rows", () => {
  const q = defaultQuery();
  assert.equal(queryKey(q), queryKey({ ...q, search: "  " }));
  assert.notEqual(queryKey(q), queryKey({ ...q, search: "x" }));
  assert.notEqual(queryKey(q), queryKey({ ...q, descending: true }));
  assert.equal(searchTerm(" a "), "a");
  assert.equal(searchTerm(""), null);
});

test("sorting by header clicks, with aria-sort", () => {
  let q = defaultQuery();
  assert.equal(ariaSort(q, "name"), "ascending");
  q = nextSort(q, "name");
  assert.equal(ariaSort(q, "name"), "descending");
  q = nextSort(q, "ip");
  assert.deepEqual([q.sort, q.descending], ["ip", false]);
  assert.equal(ariaSort(q, "name"), "none");
});

test("counts per status for the chips", () => {
  const c = countsByStatus([["mismatched", 30], ["repaired", 6]]);
  assert.equal(c.all, 36);
  assert.equal(c.mismatched, 30);
  assert.equal(c.bundle_exported, 0);
  assert.equal(countsByStatus(undefined).all, 0);
});

test("debounce calls once after the typing stops", async () => {
  const calls = [];
  const d = debounce((v) => calls.push(v), 20);
  d("a");
  d("ab");
  d("abc");
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(calls, ["abc"]);
});

test("an all-mismatched export takes every agent not yet repaired or resolved", () => {
  const counts = countsByStatus([["mismatched", 5], ["bundle_exported", 3], ["repair_failed", 1], ["reinstall_recommended", 2], ["repaired", 7], ["resolved", 4]]);
  assert.equal(notYetRepaired(counts), 11);
  assert.equal(notYetRepaired(countsByStatus([])), 0);
});
