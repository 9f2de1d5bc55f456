// What a drop will do, from classify_drop's answer: the overlay's wording and the
// commands the drop then calls (the same ones as the buttons). Pure logic, tested in
// ui/tests/drop.test.js.

/**
 * Groups classified paths: `[{path, kind: {kind, reason?}}]` →
 * {lists, certificates, certificateFolders, serverFolder, keyPair, refused}.
 * One server folder and one key pair at a time; more are refused with a reason.
 */
export function planDrop(classified) {
  const plan = { lists: [], certificates: [], certificateFolders: [], serverFolder: null, keyPair: null, refused: [] };
  for (const item of Array.isArray(classified) ? classified : []) {
    const kind = item?.kind?.kind;
    const path = item?.path;
    switch (kind) {
      case "list":
        plan.lists.push(path);
        break;
      case "certificate":
        plan.certificates.push(path);
        break;
      case "certificate_folder":
        plan.certificateFolders.push(path);
        break;
      case "server_folder":
        if (plan.serverFolder === null) plan.serverFolder = path;
        else plan.refused.push({ path, reasonKey: "drop.oneServer" });
        break;
      case "key_pair":
        if (plan.keyPair === null) plan.keyPair = path;
        else plan.refused.push({ path, reasonKey: "drop.oneKeyPair" });
        break;
      default:
        // Rust's code (translated by the catalogs); a path Rust said nothing of is unknown.
        plan.refused.push({ path, reasonKey: item?.kind?.code ? `reason.${item.kind.code}` : "reason.drop.unknown_file" });
    }
  }
  // Opening another server changes what the lists and certificates would be checked
  // against: a server folder is taken alone.
  if (plan.serverFolder !== null && (plan.lists.length || plan.certificates.length || plan.certificateFolders.length || plan.keyPair)) {
    for (const path of [...plan.lists, ...plan.certificates, ...plan.certificateFolders, ...(plan.keyPair ? [plan.keyPair] : [])]) {
      plan.refused.push({ path, reasonKey: "drop.withServer" });
    }
    plan.lists = [];
    plan.certificates = [];
    plan.certificateFolders = [];
    plan.keyPair = null;
  }
  return plan;
}

/** Whether the drop does anything at all. */
export function dropActs(plan) {
  return Boolean(plan.lists.length || plan.certificates.length || plan.certificateFolders.length || plan.serverFolder || plan.keyPair);
}

/**
 * The overlay's lines as catalog keys with parameters, in the order the drop acts:
 * [{key, params}] ("Import 2 list files", "Check 14 agent certificates", ...).
 */
export function dropWording(plan) {
  const lines = [];
  if (plan.serverFolder) lines.push({ key: "drop.server", params: { path: plan.serverFolder } });
  if (plan.lists.length) lines.push({ key: plan.lists.length === 1 ? "drop.lists.one" : "drop.lists", params: { n: plan.lists.length } });
  const certs = plan.certificates.length;
  const folders = plan.certificateFolders.length;
  if (certs && folders) lines.push({ key: "drop.certsAndFolders", params: { n: certs, folders } });
  else if (certs) lines.push({ key: certs === 1 ? "drop.certs.one" : "drop.certs", params: { n: certs } });
  else if (folders) lines.push({ key: folders === 1 ? "drop.certFolders.one" : "drop.certFolders", params: { n: folders } });
  if (plan.keyPair) lines.push({ key: "drop.keyPair", params: { path: plan.keyPair } });
  if (!dropActs(plan)) lines.push({ key: "drop.nothing", params: {} });
  return lines;
}

/** The commands a drop calls, in order: [{command, args}]. */
export function dropCommands(plan) {
  const commands = [];
  if (plan.serverFolder) commands.push({ command: "choose_server", args: { path: plan.serverFolder } });
  if (plan.lists.length) commands.push({ command: "start_import", args: { paths: [...plan.lists] } });
  const certs = [...plan.certificates, ...plan.certificateFolders];
  if (certs.length) commands.push({ command: "compare_collected", args: { paths: certs } });
  return commands;
}
