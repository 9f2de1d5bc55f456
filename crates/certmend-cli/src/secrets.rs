//! Passwords for the CLI: from a file, an environment variable or the terminal; never
//! from the command line, never logged, zeroized when dropped.

use std::path::Path;

use certmend_core::server::CodedMessage;
use zeroize::Zeroizing;

/// Environment variable with the agent unload password (for unattended use).
pub const AGENT_PASSWORD_ENV: &str = "CERTMEND_AGENT_PASSWORD";

fn error(code: &str, message: String) -> CodedMessage {
    CodedMessage {
        code: code.into(),
        message,
    }
}

/// The agent unload password: `file` (first line), else the environment, else typed
/// twice at the terminal.
pub fn agent_password(file: Option<&Path>) -> Result<Zeroizing<String>, CodedMessage> {
    if let Some(file) = file {
        let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
            error(
                "file.unreadable",
                format!("{}: cannot be read: {e}", file.display()),
            )
        })?);
        let first = text.lines().next().unwrap_or_default();
        return Ok(Zeroizing::new(first.to_string()));
    }
    if let Ok(value) = std::env::var(AGENT_PASSWORD_ENV) {
        return Ok(Zeroizing::new(value));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Agent unload password: ")
            .map_err(|e| error("password.no_terminal", format!("cannot read the password from the terminal ({e}); use --agent-password-file or {AGENT_PASSWORD_ENV}")))?,
    );
    let second = Zeroizing::new(rpassword::prompt_password("Again: ").map_err(|e| {
        error(
            "password.no_terminal",
            format!("cannot read the password from the terminal: {e}"),
        )
    })?);
    if *first != *second {
        return Err(error(
            "password.mismatch",
            "the two passwords differ; nothing was written".into(),
        ));
    }
    Ok(first)
}
