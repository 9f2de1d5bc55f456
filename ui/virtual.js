// Virtual scrolling for the agents table: which rows to draw, and a cache of the pages
// fetched through agents_page. Pure logic (no DOM), tested in ui/tests/virtual.test.js.

/** Rows to draw for a viewport: [start, end) with `overscan` rows either side. */
export function visibleRange({ scrollTop, viewportHeight, rowHeight, total, overscan = 8 }) {
  if (!(total > 0) || !(rowHeight > 0)) return { start: 0, end: 0 };
  const top = Math.max(0, scrollTop || 0);
  const first = Math.floor(top / rowHeight);
  const shown = Math.ceil(Math.max(0, viewportHeight || 0) / rowHeight) + 1;
  const start = Math.max(0, Math.min(total - 1, first) - overscan);
  const end = Math.min(total, first + shown + overscan);
  return { start, end: Math.max(start, end) };
}

/** Page indexes covering rows [start, end). */
export function pagesFor(start, end, pageSize) {
  const pages = [];
  if (end <= start) return pages;
  for (let p = Math.floor(start / pageSize); p <= Math.floor((end - 1) / pageSize); p += 1) pages.push(p);
  return pages;
}

/** The scrollTop that brings row `index` into view (unchanged when it already is). */
export function scrollToShow({ index, scrollTop, viewportHeight, rowHeight }) {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/**
 * Pages of rows for one query (search, filter, sort). A new query key empties it, so a
 * late answer for an old query is dropped (its generation no longer matches).
 */
export class PageCache {
  constructor({ pageSize = 100, maxPages = 60 } = {}) {
    this.pageSize = pageSize;
    this.maxPages = maxPages;
    this.key = null;
    this.generation = 0;
    this.pages = new Map(); // page index → rows (Map keeps insertion order: oldest first)
    this.pending = new Set();
  }

  /** Switches to `key`; returns true when that emptied the cache. */
  use(key) {
    if (key === this.key) return false;
    this.key = key;
    this.clear();
    return true;
  }

  /** Forgets every page (after an import or export changed the rows). */
  clear() {
    this.generation += 1;
    this.pages.clear();
    this.pending.clear();
  }

  /** The row at `index`, or undefined while its page is not here. */
  row(index) {
    const rows = this.pages.get(Math.floor(index / this.pageSize));
    if (!rows) return undefined;
    const row = rows[index % this.pageSize];
    return row;
  }

  hasPage(page) {
    return this.pages.has(page);
  }

  /** Pages covering [start, end) that are neither here nor being fetched. */
  missing(start, end) {
    return pagesFor(start, end, this.pageSize).filter((p) => !this.pages.has(p) && !this.pending.has(p));
  }

  /** Marks `page` as being fetched; returns the generation to hand back to `store`. */
  begin(page) {
    this.pending.add(page);
    return this.generation;
  }

  /** A fetched page; ignored when the cache changed since `begin`. Returns whether kept. */
  store(page, rows, generation) {
    if (generation !== this.generation) return false;
    this.pending.delete(page);
    this.pages.delete(page);
    this.pages.set(page, rows);
    while (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value);
    return true;
  }

  /** A fetch that failed: allow it to be asked again. */
  fail(page, generation) {
    if (generation === this.generation) this.pending.delete(page);
  }

  /** Marks pages in use so the oldest unused ones are evicted first. */
  touch(start, end) {
    for (const p of pagesFor(start, end, this.pageSize)) {
      const rows = this.pages.get(p);
      if (rows) {
        this.pages.delete(p);
        this.pages.set(p, rows);
      }
    }
  }

  /** The request offset and limit for `page`. */
  bounds(page) {
    return { offset: page * this.pageSize, limit: this.pageSize };
  }
}
