import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { catalogs } from "../i18n.js";
import { effectiveSyntax, fieldSource, fieldValue, REASONS, XG_FIELDS, xgValues } from "../ipxfer.js";

const apex = {
  decision: { syntax: "xg", default: "xg", reason: "apex_one", server_version: "14.0", service_pack_build: "8378" },
  from_ini: { server: "apex.example.local", http_port: 8080, https_port: 4343, agent_port: 21112 },
  https_port_key: "Master_DomainSSLPort",
};

test("the admin's choice wins; else the server's default; else seed", () => {
  assert.equal(effectiveSyntax(null, apex), "xg");
  assert.equal(effectiveSyntax("seed", apex), "seed");
  assert.equal(effectiveSyntax("xg", { decision: { syntax: "seed" } }), "xg");
  assert.equal(effectiveSyntax(null, null), "seed");
  assert.equal(effectiveSyntax(null, { decision: { syntax: "officescan11" } }), "seed");
  assert.equal(effectiveSyntax("auto", apex), "xg");
});

test("fields show what was typed, else ofcscan.ini's value, else nothing", () => {
  assert.equal(fieldValue("http_port", {}, apex.from_ini), "8080");
  assert.equal(fieldValue("http_port", { http_port: "80" }, apex.from_ini), "80");
  assert.equal(fieldValue("http_port", { http_port: "" }, apex.from_ini), "", "a cleared field stays cleared");
  assert.equal(fieldValue("https_port", {}, { https_port: null }), "");
  assert.equal(fieldSource("https_port", {}, apex.from_ini), "ini");
  assert.equal(fieldSource("https_port", { https_port: "4343" }, apex.from_ini), "ini", "typed the same value");
  assert.equal(fieldSource("https_port", { https_port: "443" }, apex.from_ini), "typed");
  assert.equal(fieldSource("https_port", {}, {}), "missing");
});

test("complete values from ofcscan.ini go as they are", () => {
  assert.deepEqual(xgValues({}, apex.from_ini), {
    values: { server: "apex.example.local", http_port: 8080, https_port: 4343, agent_port: 21112 },
    missing: [],
    invalid: [],
  });
});

test("a value ofcscan.ini lacks is asked for, never filled in", () => {
  const ini = { server: "srv", http_port: 8080, https_port: null, agent_port: null };
  const asked = xgValues({}, ini);
  assert.deepEqual(asked.missing, ["https_port", "agent_port"]);
  assert.deepEqual(asked.values, { server: "srv", http_port: 8080 });
  const typed = xgValues({ https_port: " 4343 ", agent_port: "21112" }, ini);
  assert.deepEqual(typed, { values: { server: "srv", http_port: 8080, https_port: 4343, agent_port: 21112 }, missing: [], invalid: [] });
});

test("what the script would refuse is caught in the dialog", () => {
  const bad = xgValues({ server: "a&calc", http_port: "0", https_port: "65536", agent_port: "12x" }, {});
  assert.deepEqual(bad.invalid, ["server", "http_port", "https_port", "agent_port"]);
  assert.deepEqual(bad.values, {});
  assert.deepEqual(xgValues({ server: "10.0.0.5", http_port: "65535", https_port: "1", agent_port: "443" }, {}).invalid, []);
  assert.deepEqual(xgValues({ server: "fe80::1", http_port: "1", https_port: "1", agent_port: "1" }, {}).invalid, []);
});

test("every reason Rust sends has words in both languages, and so does every field", () => {
  const rust = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../crates/certmend-core/src/ipxfer.rs"), "utf8");
  const codes = [...rust.matchAll(/SyntaxReason::\w+ => "([a-z0-9_]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...codes].sort(), [...REASONS].sort());
  for (const lang of ["en", "ja"]) {
    for (const code of REASONS) assert.ok(`ipxfer.reason.${code}` in catalogs[lang], `${lang} ${code}`);
    for (const field of XG_FIELDS) assert.ok(`export.xg.${field}` in catalogs[lang], `${lang} ${field}`);
  }
});
