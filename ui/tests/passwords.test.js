import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNewPassword, passwordLength, MIN_PASSWORD_LENGTH } from "../passwords.js";

test("the new password is typed twice and is long enough", () => {
  assert.equal(MIN_PASSWORD_LENGTH, 12);
  assert.deepEqual(checkNewPassword("correct horse battery", "correct horse battery"), { ok: true, problems: [] });
  assert.deepEqual(checkNewPassword("short", "short").problems, ["password.short"]);
  assert.deepEqual(checkNewPassword("short", "short", true), { ok: true, problems: [] });
  assert.deepEqual(checkNewPassword("correct horse battery", "correct horse").problems, ["password.mismatch"]);
  assert.deepEqual(checkNewPassword("", "").problems, ["password.empty"]);
});

test("characters are counted as people count them", () => {
  assert.equal(passwordLength("パスワード🔑"), 6);
  assert.deepEqual(checkNewPassword("日本語のパスワードです１２", "日本語のパスワードです１２").ok, true);
});
