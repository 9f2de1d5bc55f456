// The new backup password typed twice: what the window checks before asking Rust
// (which checks again: backup.weak_password). Pure logic, tested in ui/tests/passwords.test.js.

import { PASSWORD_MIN_CHARS } from "./contract.js";

/** Rust's rule for a new key-pair backup password (backup::check_new_password). */
export const MIN_PASSWORD_LENGTH = PASSWORD_MIN_CHARS;

/** Characters as a person counts them (a surrogate pair is one). */
export function passwordLength(text) {
  return typeof text === "string" ? [...text].length : 0;
}

/**
 * {ok, problems: [catalog key]} for a new password and its repetition. Problems:
 * `password.empty`, `password.short` (unless allowWeak), `password.mismatch`.
 */
export function checkNewPassword(first, second, allowWeak = false) {
  const problems = [];
  if (!first) problems.push("password.empty");
  else if (!allowWeak && passwordLength(first) < MIN_PASSWORD_LENGTH) problems.push("password.short");
  if (first && second !== first) problems.push("password.mismatch");
  return { ok: problems.length === 0, problems };
}
