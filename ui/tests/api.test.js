// api.js is the window's one contract with Rust: no other file reaches Tauri, and its
// commands are exactly lib.rs's `handlers!` with the argument names the Rust functions
// take — a command added, renamed or given a new argument on one side fails here.

import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as api from "../api.js";
import { dropCommands } from "../drop.js";

const ui = join(dirname(fileURLToPath(import.meta.url)), "..");
const srcTauri = join(ui, "..", "src-tauri");
const read = (path) => readFileSync(path, "utf8");

/** The command names in lib.rs's `generate_handler![…]`. */
function handlers() {
  const lib = read(join(srcTauri, "src", "lib.rs"));
  const from = lib.indexOf("generate_handler![");
  assert.ok(from >= 0, "no generate_handler! in lib.rs");
  const list = lib.slice(from + "generate_handler![".length, lib.indexOf("]", from));
  return list
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => p.split("::").pop());
}

/** The window-supplied parameters of each `fn` in src-tauri/src/commands/*.rs (Tauri's injected AppHandle/State left out). */
function rustParameters() {
  const dir = join(srcTauri, "src", "commands");
  const params = new Map();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".rs"))) {
    const text = read(join(dir, file));
    for (const m of text.matchAll(/\bfn\s+(\w+)\s*(?:<[^(]*>)?\s*\(([^)]*)\)/g)) {
      params.set(m[1], topLevelCommas(m[2]).map((p) => p.split(":")[0].trim()).filter((name) => name && !injected(m[2], name)));
    }
  }
  return params;
}

function topLevelCommas(text) {
  const parts = [];
  let depth = 0;
  let part = "";
  for (const c of text) {
    if (c === "<") depth++;
    if (c === ">") depth--;
    if (c === "," && depth === 0) {
      parts.push(part);
      part = "";
    } else part += c;
  }
  parts.push(part);
  return parts;
}

function injected(paramText, name) {
  const type = new RegExp(`\\b${name}\\s*:\\s*(\\w+)`).exec(paramText)?.[1];
  return type === "AppHandle" || type === "State" || type === "Window" || type === "WebviewWindow";
}

const camel = (snake) => snake.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

// ---------------------------------------------------------------- a stubbed Tauri

let calls;
let listens;
beforeEach(() => {
  calls = [];
  listens = [];
  globalThis.window = {
    __TAURI__: {
      core: { invoke: (command, args) => (calls.push([command, args]), Promise.resolve("answer")) },
      event: { listen: (name, handler) => (listens.push([name, handler]), Promise.resolve(() => {})) },
      webview: { getCurrentWebview: () => ({ onDragDropEvent: (handler) => (listens.push(["webview", handler]), Promise.resolve(() => {})) }) },
    },
  };
});

/** Each exported command function, called with placeholder arguments: {name, command, args}. */
function everyCall() {
  return Object.entries(api)
    .filter(([name, value]) => typeof value === "function" && name !== "on")
    .map(([name, fn]) => {
      calls = [];
      fn(...Array.from({ length: fn.length }, (_, i) => `arg${i}`));
      assert.equal(calls.length, 1, `${name} invoked ${calls.length} commands`);
      return { name, command: calls[0][0], args: calls[0][1] };
    });
}

// ---------------------------------------------------------------- the tests

test("no file but api.js calls invoke or listen or touches __TAURI__", () => {
  const files = readdirSync(ui).filter((f) => f.endsWith(".js") && f !== "api.js");
  assert.ok(files.length >= 15, files.join(" "));
  const offences = [];
  for (const file of files) {
    const text = read(join(ui, file));
    for (const [what, re] of [
      ["invoke(", /\binvoke\s*\(/],
      ["listen(", /\blisten\s*\(/],
      ["__TAURI__", /__TAURI__/],
    ]) {
      if (re.test(text)) offences.push(`${file}: ${what}`);
    }
  }
  assert.deepEqual(offences, []);
});

test("api.js names exactly lib.rs's commands, each once", () => {
  const rust = handlers();
  assert.ok(rust.length >= 20, rust.join(" "));
  const text = read(join(ui, "api.js"));
  const named = [...text.matchAll(/\binvoke\("([a-z_]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...named].sort(), [...rust].sort(), "api.js invoke(\"…\") vs lib.rs generate_handler!");
  for (const command of rust) {
    assert.equal(text.split(`"${command}"`).length - 1, 1, `"${command}" appears more than once in api.js`);
  }
  const sent = everyCall().map((c) => c.command);
  assert.deepEqual([...sent].sort(), [...rust].sort(), "the commands api.js's exports send");
});

test("each api function sends the argument names its Rust command takes", () => {
  const params = rustParameters();
  for (const { name, command, args } of everyCall()) {
    assert.ok(params.has(command), `no fn ${command} in src-tauri/src/commands`);
    const expected = params.get(command).map(camel).sort();
    assert.deepEqual(Object.keys(args ?? {}).sort(), expected, `${name} → ${command}`);
    assert.equal(name, camel(command), `${command} is exported as ${camel(command)}`);
  }
});

test("command name literals elsewhere: only drop.js's description of a drop, and real ones", () => {
  const commands = new Set(handlers());
  const found = [];
  // contract.js is Rust's declaration of the commands (generated), not a caller.
  for (const file of readdirSync(ui).filter((f) => f.endsWith(".js") && f !== "api.js" && f !== "contract.js")) {
    for (const m of read(join(ui, file)).matchAll(/["']([a-z_]+)["']/g)) {
      if (commands.has(m[1])) found.push(`${file}: ${m[1]}`);
    }
  }
  assert.ok(found.every((f) => f.startsWith("drop.js: ")), found.join(", "));
  const plan = { serverFolder: "/s", lists: ["/l"], certificates: ["/c"], certificateFolders: [], keyPair: null };
  for (const { command } of dropCommands(plan)) assert.ok(commands.has(command), command);
});

test("commands go to Tauri's invoke with their argument object", async () => {
  assert.equal(await api.openServer(), "answer");
  await api.startImport(["/a.csv"]);
  await api.agentsPage({ offset: 0, limit: 1 });
  await api.cancelJob(7);
  await api.backupVerify({ path: "/k.dat", password: "p" });
  await api.events(500);
  await api.pickFiles("lists");
  await api.exportEstimate({ out_dir: "/o", agents: ["a"] });
  assert.deepEqual(calls, [
    ["open_server", undefined],
    ["start_import", { paths: ["/a.csv"] }],
    ["agents_page", { request: { offset: 0, limit: 1 } }],
    ["cancel_job", { job: 7 }],
    ["backup_verify", { file: { path: "/k.dat", password: "p" } }],
    ["events", { limit: 500 }],
    ["pick_files", { kind: "lists" }],
    ["export_estimate", { request: { out_dir: "/o", agents: ["a"] } }],
  ]);
});

test("invoke is looked up at each call (the e2e tests wrap it after start-up)", async () => {
  const wrapped = [];
  window.__TAURI__.core = { invoke: (command, args) => (wrapped.push([command, args]), Promise.resolve(null)) };
  await api.pickFolder();
  assert.deepEqual(wrapped, [["pick_folder", undefined]]);
  assert.deepEqual(calls, []);
});

test("on: Rust's events through listen, drag and drop through the webview", async () => {
  const handler = () => {};
  for (const event of [api.JOB_PROGRESS, api.JOB_DONE, api.RECEIPTS_APPLIED, api.SERVER_CERTIFICATE_CHANGED, api.CLOSE_REQUESTED]) {
    assert.equal(typeof (await api.on(event, handler)), "function");
  }
  await api.on(api.DRAG_DROP, handler);
  assert.deepEqual(
    listens.map(([name, h]) => [name, h === handler]),
    [
      ["job-progress", true],
      ["job-done", true],
      ["receipts-applied", true],
      ["server-certificate-changed", true],
      ["close-requested", true],
      ["webview", true],
    ],
  );
  assert.throws(() => api.on("job-finished", handler), /unknown event/);
});

test("on without Tauri's event API or a webview: nothing comes, nothing throws", async () => {
  globalThis.window = { __TAURI__: { core: {} } };
  assert.equal(typeof (await api.on(api.JOB_DONE, () => {})), "function");
  assert.equal(typeof (await api.on(api.DRAG_DROP, () => {})), "function");
  globalThis.window = {};
  assert.equal(typeof (await api.on(api.JOB_DONE, () => {})), "function");
});
