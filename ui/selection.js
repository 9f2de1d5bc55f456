// The agents table's selection: rows picked by click, Ctrl+click and Shift+click, or
// every agent of one status ("Select all mismatched") without fetching them all.
// Pure logic, tested in ui/tests/selection.test.js.

export class Selection {
  constructor() {
    this.clear();
  }

  clear() {
    /** Names picked one by one. */
    this.names = new Set();
    /** Every agent with this status is selected (except `excluded`). */
    this.status = null;
    /** How many agents had `status` when it was chosen. */
    this.statusCount = 0;
    this.excluded = new Set();
    /** Row index Shift+click extends from. */
    this.anchor = null;
  }

  isSelected(row) {
    if (!row) return false;
    if (this.names.has(row.name)) return true;
    return this.status !== null && row.status === this.status && !this.excluded.has(row.name);
  }

  /** How many agents are selected. */
  get size() {
    const byStatus = this.status === null ? 0 : Math.max(0, this.statusCount - this.excluded.size);
    return byStatus + this.names.size;
  }

  get empty() {
    return this.size === 0;
  }

  /** A plain click: this row alone. */
  only(row, index) {
    this.clear();
    this.names.add(row.name);
    this.anchor = index;
  }

  /** Ctrl+click or Space: flips one row, keeping the others. */
  toggle(row, index) {
    const byStatus = this.status !== null && row.status === this.status;
    if (byStatus) {
      if (this.excluded.has(row.name)) this.excluded.delete(row.name);
      else this.excluded.add(row.name);
    } else if (this.names.has(row.name)) {
      this.names.delete(row.name);
    } else {
      this.names.add(row.name);
    }
    this.anchor = index;
    if (this.status !== null && this.statusCount - this.excluded.size <= 0 && this.names.size === 0) this.clear();
  }

  /** The inclusive row indexes Shift+click at `index` covers. */
  rangeTo(index) {
    const from = this.anchor ?? index;
    return [Math.min(from, index), Math.max(from, index)];
  }

  /** Shift+click: the rows between the anchor and the clicked row (added to the rest with Ctrl). */
  range(rows, { additive = false } = {}) {
    const anchor = this.anchor;
    if (!additive) this.clear();
    for (const row of rows) {
      if (this.status !== null && row.status === this.status) this.excluded.delete(row.name);
      else this.names.add(row.name);
    }
    this.anchor = anchor;
  }

  /** Every agent with `status` (count: how many there are now). */
  allWithStatus(status, count) {
    this.clear();
    this.status = status;
    this.statusCount = count;
  }

  /**
   * What to put in an ExportRequest. `{all_mismatched: true}` when exactly the
   * mismatched agents are selected and `allMismatchedIsExact` (an all-mismatched export
   * also takes agents already given a bundle or whose repair failed: only when there are
   * none is it the same set); `{agents}` for rows picked by name; `null` when the names
   * of a status selection must be fetched first: `expand` then says which.
   */
  exportSelection(allMismatchedIsExact = true) {
    if (allMismatchedIsExact && this.status === "mismatched" && this.excluded.size === 0 && this.names.size === 0) {
      return { all_mismatched: true, agents: [] };
    }
    if (this.status === null) return { all_mismatched: false, agents: [...this.names] };
    return null;
  }

  /** For a status selection that needs its names: the status, whom to leave out, whom to add. */
  get expand() {
    return { status: this.status, excluded: new Set(this.excluded), extra: [...this.names] };
  }
}
