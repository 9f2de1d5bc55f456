// The agents table's query: status filter, search, sort, and the agents_page request
// built from them. Pure logic, tested in ui/tests/query.test.js.

import { EXPORTABLE_STATUSES, STATUSES } from "./contract.js";

/** Agent statuses in workflow order: Rust's (contract.js). */
export { STATUSES };

/** Columns in table order, each with the `sort` value agents_page takes. */
export const COLUMNS = ["status", "name", "ip", "domain", "last_seen", "bundle", "receipt"];

export function defaultQuery() {
  return { status: null, search: "", sort: "name", descending: false };
}

/** The search text as the request carries it: trimmed, or null when empty. */
export function searchTerm(text) {
  const trimmed = typeof text === "string" ? text.trim() : "";
  return trimmed === "" ? null : trimmed;
}

/**
 * `{request}` for agents_page: the rows [offset, offset + limit) of `query`; with
 * `counts: false` only the rows (no total, no per-status counts), for pages of a query
 * already counted.
 */
export function pageRequest(query, offset, limit, { counts = true } = {}) {
  const request = {
    sort: COLUMNS.includes(query.sort) ? query.sort : "name",
    descending: Boolean(query.descending),
    offset: Math.max(0, Math.floor(offset)),
    limit: Math.max(1, Math.min(1000, Math.floor(limit))),
  };
  if (STATUSES.includes(query.status)) request.status = query.status;
  const search = searchTerm(query.search);
  if (search !== null) request.search = search;
  if (!counts) request.skip_counts = true;
  return request;
}

/** A string naming the rows a query selects (the page cache's key). */
export function queryKey(query) {
  return JSON.stringify([query.status ?? null, searchTerm(query.search), query.sort, Boolean(query.descending)]);
}

/** Clicking a column header: the same column flips the order, another sorts ascending. */
export function nextSort(query, column) {
  if (query.sort === column) return { ...query, descending: !query.descending };
  return { ...query, sort: column, descending: false };
}

/** aria-sort of a column header. */
export function ariaSort(query, column) {
  if (query.sort !== column) return "none";
  return query.descending ? "descending" : "ascending";
}

/** `counts` from agents_page ([[status, n]...]) as {all, mismatched, ...} with zeros. */
export function countsByStatus(counts) {
  const result = { all: 0 };
  for (const status of STATUSES) result[status] = 0;
  for (const [status, n] of Array.isArray(counts) ? counts : []) {
    const value = Number(n) || 0;
    result[status] = (result[status] ?? 0) + value;
    result.all += value;
  }
  return result;
}

/**
 * Agents an "all mismatched" export takes: those whose status the core calls exportable
 * (contract.js EXPORTABLE_STATUSES: not yet repaired or resolved, which includes those
 * already given a bundle or whose repair failed).
 */
export function notYetRepaired(counts) {
  return EXPORTABLE_STATUSES.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
}

/** Calls `fn` once `ms` after the last call (the search box: ~150 ms). */
export function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  debounced.flush = (...args) => {
    clearTimeout(timer);
    timer = null;
    fn(...args);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}
