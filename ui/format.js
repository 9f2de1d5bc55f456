// Pure formatting helpers (tested with `node --test ui/tests`). No DOM here.

import { EXPIRY_WARNING_DAYS } from "./contract.js";

export { EXPIRY_WARNING_DAYS };

/** "ok", "warning" (within EXPIRY_WARNING_DAYS, Rust's cert::Expiry) or "expired". */
export function expiryLevel(daysLeft) {
  if (daysLeft < 0) return "expired";
  if (daysLeft <= EXPIRY_WARNING_DAYS) return "warning";
  return "ok";
}

/** A thumbprint shortened for the header: first 8 and last 4 hex digits. */
export function shortThumbprint(hex) {
  if (typeof hex !== "string" || hex.length <= 16) return hex ?? "";
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/** Hex in groups of four, easier to compare by eye ("AB12 CD34 ..."). */
export function groupHex(hex, size = 4) {
  if (typeof hex !== "string") return "";
  const groups = [];
  for (let i = 0; i < hex.length; i += size) groups.push(hex.slice(i, i + size));
  return groups.join(" ");
}

/** A byte count as "1.5 MB" style text (1024-based, as Explorer shows). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** An RFC 3339 instant as a local date in the given language (e.g. "2029/10/25"). */
export function formatDate(rfc3339, lang) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return rfc3339 ?? "";
  return date.toLocaleDateString(lang === "ja" ? "ja-JP" : "en-GB", {
    year: "numeric",
    month: lang === "ja" ? "2-digit" : "short",
    day: "2-digit",
  });
}

const LOCALES = { en: "en-GB", ja: "ja-JP" };

/** A whole number with the language's digit grouping ("100,000"). */
export function formatNumber(n, lang) {
  if (!Number.isFinite(n)) return "";
  return n.toLocaleString(lang === "ja" ? "ja-JP" : "en-US");
}

/** An RFC 3339 instant as local date and time ("2026/11/26 11:52" / "26 Nov 2026, 11:52"). */
export function formatDateTime(rfc3339, lang) {
  const date = new Date(rfc3339);
  if (typeof rfc3339 !== "string" || Number.isNaN(date.getTime())) return rfc3339 ?? "";
  const day = formatDate(rfc3339, lang);
  const time = date.toLocaleTimeString(LOCALES[lang] ?? LOCALES.en, { hour: "2-digit", minute: "2-digit", hour12: false });
  return lang === "ja" ? `${day} ${time}` : `${day}, ${time}`;
}

/** The last part of a Windows or POSIX path ("C:\\x\\list.csv" → "list.csv"). */
export function baseName(path) {
  if (typeof path !== "string") return "";
  const trimmed = path.replace(/[\\/]+$/, "");
  const cut = Math.max(trimmed.lastIndexOf("\\"), trimmed.lastIndexOf("/"));
  return cut < 0 ? trimmed : trimmed.slice(cut + 1);
}

/** The catalog key naming a list file's delimiter. */
export function delimiterKey(delimiter) {
  return { ",": "delimiter.comma", "\t": "delimiter.tab", ";": "delimiter.semicolon" }[delimiter] ?? "delimiter.other";
}

/**
 * The pieces of "Bundle 140 of 312 · 410 MB of 920 MB" from a job-progress payload.
 * Imports report bytes of the file being read and files as items: the bar moves
 * through each file in turn. Exports report bundles as items and the bytes written,
 * against a total that includes cluster slack (the estimate's "needed"), so the two
 * never meet: the bar follows bundles and the bytes are shown as written.
 */
export function progressParts(p) {
  const itemsTotal = Number(p?.items_total) || 0;
  const itemsDone = Math.min(itemsTotal, Number(p?.items_done) || 0);
  const bytesTotal = Number(p?.total) || 0;
  const bytesDone = Math.min(bytesTotal || Infinity, Number(p?.done) || 0);
  const export_ = p?.kind === "export";
  let fraction = 0;
  if (export_ && itemsTotal > 0) fraction = itemsDone / itemsTotal;
  else if (itemsTotal > 0 && bytesTotal > 0) fraction = itemsDone >= itemsTotal ? 1 : (itemsDone + bytesDone / bytesTotal) / itemsTotal;
  else if (bytesTotal > 0) fraction = bytesDone / bytesTotal;
  else if (itemsTotal > 0) fraction = itemsDone / itemsTotal;
  fraction = Math.max(0, Math.min(1, fraction));
  return {
    fraction,
    percent: Math.floor(fraction * 100),
    // The item being worked on: "Bundle 1 of 3" while the first is written.
    items: itemsTotal > 0 ? { current: Math.min(itemsTotal, itemsDone + 1), done: itemsDone, total: itemsTotal } : null,
    bytes: bytesTotal > 0 || (export_ && bytesDone > 0) ? { done: formatBytes(bytesDone), total: export_ ? null : formatBytes(bytesTotal) } : null,
  };
}
