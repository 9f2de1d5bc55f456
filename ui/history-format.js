// One line about an event's detail for the History table, as catalog keys with
// parameters (the view translates them). Pure logic, tested in ui/tests/history-format.test.js.

import { shortThumbprint } from "./format.js";

const n = (v) => (Number.isFinite(Number(v)) ? Number(v) : 0);

/** [{key, params}] or [{raw}] pieces for `detail` of an event of `kind`. */
export function eventSummary(kind, detail) {
  const d = detail && typeof detail === "object" ? detail : null;
  if (!d) return [];
  switch (kind) {
    case "list.imported":
      return [
        { key: "detail.rows", params: { n: n(d.rows) } },
        { key: "detail.newAgents", params: { n: n(d.new_agents) } },
        { key: "detail.rejected", params: { n: n(d.rejected) } },
        { key: "detail.resolved", params: { n: n(d.resolved) } },
      ];
    case "bundles.exported":
      return [{ key: "detail.bundles", params: { n: n(d.bundles), of: n(d.of) } }];
    case "receipt.read":
      return [
        {
          key: "detail.receipt",
          params: { result: String(d.result ?? ""), before: String(d.status_before ?? ""), after: String(d.status_after ?? "") },
          words: { result: "receipt", before: "status", after: "status" },
        },
      ];
    case "certificates.compared":
      return [{ key: "detail.compared", params: { current: n(d.current), previous: n(d.previous), foreign: n(d.foreign), unreadable: n(d.unreadable) } }];
    case "certificate.changed":
      return [{ key: "detail.changed", params: { from: shortThumbprint(d.from ?? ""), to: shortThumbprint(d.to ?? "") } }];
    case "server.first_read":
      return d.certificate ? [{ key: "detail.certificate", params: { thumb: shortThumbprint(d.certificate) } }] : [];
    case "backup.created":
    case "backup.pre_restore":
    case "backup.restored":
      return d.sha1_thumbprint ? [{ key: "detail.certificate", params: { thumb: shortThumbprint(d.sha1_thumbprint) } }] : [];
    default:
      return Object.entries(d)
        .filter(([, v]) => v === null || typeof v !== "object")
        .map(([k, v]) => ({ raw: `${k}: ${v}` }));
  }
}
