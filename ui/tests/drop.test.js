import { test } from "node:test";
import assert from "node:assert/strict";
import { dropActs, dropCommands, dropWording, planDrop } from "../drop.js";
import { translate } from "../i18n.js";

const k = (kind, reason) => (reason ? { kind, reason } : { kind });
const say = (lang, plan) => dropWording(plan).map((l) => translate(lang, l.key, l.params));

test("lists are imported and certificates checked", () => {
  const plan = planDrop([
    { path: "/a/1.csv", kind: k("list") },
    { path: "/a/2.csv", kind: k("list") },
    ...Array.from({ length: 14 }, (_, i) => ({ path: `/c/PC-${i}.dat`, kind: k("certificate") })),
  ]);
  assert.deepEqual(say("en", plan), ["Import 2 list files", "Check 14 agent certificates"]);
  assert.deepEqual(say("ja", plan), ["一覧ファイル 2 件を取り込みます", "エージェント証明書 14 件を確認します"]);
  assert.deepEqual(dropCommands(plan), [
    { command: "start_import", args: { paths: ["/a/1.csv", "/a/2.csv"] } },
    { command: "compare_collected", args: { paths: plan.certificates } },
  ]);
});

test("a server folder opens that server, alone", () => {
  const plan = planDrop([
    { path: "/mnt/c", kind: k("server_folder") },
    { path: "/a/1.csv", kind: k("list") },
  ]);
  assert.deepEqual(dropCommands(plan), [{ command: "choose_server", args: { path: "/mnt/c" } }]);
  assert.equal(plan.refused.length, 1);
  assert.equal(plan.refused[0].reasonKey, "drop.withServer");
  assert.deepEqual(say("en", plan), ["Open the server in /mnt/c"]);
});

test("unknown files are refused with their reason", () => {
  const plan = planDrop([{ path: "/x/IpXfer.exe", kind: k("unknown", "neither a list, a certificate nor a key pair file") }]);
  assert.equal(dropActs(plan), false);
  // Rust sent no code here: the window says "unknown file" in its own words.
  assert.deepEqual(plan.refused, [{ path: "/x/IpXfer.exe", reasonKey: "reason.drop.unknown_file" }]);
  assert.deepEqual(say("en", plan), ["Nothing here can be used"]);
  assert.deepEqual(dropCommands(plan), []);
});

test("one list, a folder of certificates, a key pair", () => {
  const plan = planDrop([
    { path: "/a/1.csv", kind: k("list") },
    { path: "/collected", kind: k("certificate_folder") },
    { path: "/k/a.pfx", kind: k("key_pair") },
    { path: "/k/b.pfx", kind: k("key_pair") },
  ]);
  assert.deepEqual(say("en", plan), ["Import 1 list file", "Check the agent certificates in 1 folder", "Open the key pair /k/a.pfx in Key pairs"]);
  assert.equal(plan.refused[0].reasonKey, "drop.oneKeyPair");
});

test("a refusal with Rust's code is translated from the catalogs", () => {
  const classified = [{ path: "/x/a.bin", kind: { kind: "unknown", code: "drop.unknown_file", reason: "neither a list, a certificate nor a key pair file" } }];
  const plan = planDrop(classified);
  assert.equal(plan.refused[0].reasonKey, "reason.drop.unknown_file");
});
