// The export dialog's IpXfer choice, as pure functions: which syntax is in effect (the
// admin's, else the one the server's version calls for), and the XG values the dialog
// sends (typed, else prefilled from ofcscan.ini; a missing one is asked for, never
// guessed). The rule itself lives in Rust (certmend-core ipxfer.rs).

export const SYNTAXES = ["seed", "xg"];
export const XG_FIELDS = ["server", "http_port", "https_port", "agent_port"];
/** The reason codes Rust sends (SyntaxReason), each with words in i18n.js. */
export const REASONS = ["no_version", "unreadable_version", "no_source", "officescan_11", "officescan_xg", "apex_one"];

/** The syntax in effect: the admin's choice (`seed`/`xg`), else the server's default. */
export function effectiveSyntax(chosen, defaults) {
  if (SYNTAXES.includes(chosen)) return chosen;
  const fallback = defaults?.decision?.syntax;
  return SYNTAXES.includes(fallback) ? fallback : "seed";
}

/** What a field shows: what the admin typed, else ofcscan.ini's value, else "". */
export function fieldValue(field, typed, fromIni) {
  if (typed && typeof typed[field] === "string") return typed[field];
  const ini = fromIni?.[field];
  return ini === null || ini === undefined ? "" : String(ini);
}

/** Where a field's value comes from: "typed", "ini" or "missing". */
export function fieldSource(field, typed, fromIni) {
  if (typed && typeof typed[field] === "string" && typed[field] !== fieldValue(field, null, fromIni)) return "typed";
  return fieldValue(field, null, fromIni) === "" ? "missing" : "ini";
}

const HOST = /^[A-Za-z0-9._:-]{1,253}$/;

/**
 * The XG values to send, checked as the script will check them: `values` holds the
 * valid ones (numbers for ports), `missing` the empty fields, `invalid` the others.
 */
export function xgValues(typed, fromIni) {
  const values = {};
  const missing = [];
  const invalid = [];
  for (const field of XG_FIELDS) {
    const text = fieldValue(field, typed, fromIni).trim();
    if (text === "") {
      missing.push(field);
      continue;
    }
    if (field === "server") {
      if (HOST.test(text)) values.server = text;
      else invalid.push(field);
      continue;
    }
    const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (port >= 1 && port <= 65535) values[field] = port;
    else invalid.push(field);
  }
  return { values, missing, invalid };
}
