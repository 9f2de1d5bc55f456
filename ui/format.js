// Pure formatting helpers (tested with `node --test ui/tests`). No DOM here.

/** Warn this many days before a certificate expires (UI.md: 90 days). */
export const EXPIRY_WARNING_DAYS = 90;

/** "ok", "warning" (within 90 days) or "expired". */
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
