//! Passwords for the CLI: from a file, an environment variable or the terminal; never
//! from the command line, never logged, zeroized when dropped.

use std::path::Path;

use certmend_core::server::CodedMessage;
use zeroize::Zeroizing;

/// Environment variable with the agent unload password (for unattended use).
pub const AGENT_PASSWORD_ENV: &str = "CERTMEND_AGENT_PASSWORD";
/// The password of a key pair file being read.
pub const PASSWORD_ENV: &str = "CERTMEND_PASSWORD";
/// The password of a new backup.
pub const NEW_PASSWORD_ENV: &str = "CERTMEND_NEW_PASSWORD";

fn error(code: &str, message: String) -> CodedMessage {
    CodedMessage {
        code: code.into(),
        message,
    }
}

/// Where one secret comes from, in order: a file (its first line), an environment
/// variable, the terminal (typed twice when it is a new one).
struct Source<'a> {
    file: Option<&'a Path>,
    file_option: &'a str,
    env: &'a str,
    prompt: &'a str,
    confirm: bool,
}

fn read(source: Source<'_>) -> Result<Zeroizing<String>, CodedMessage> {
    if let Some(file) = source.file {
        let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
            error(
                "file.unreadable",
                format!("{}: cannot be read: {e}", file.display()),
            )
        })?);
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or_default();
        return Ok(Zeroizing::new(first.to_string()));
    }
    if let Ok(value) = std::env::var(source.env) {
        return Ok(Zeroizing::new(value));
    }
    let no_terminal = |e: std::io::Error| {
        error(
            "password.no_terminal",
            format!(
                "cannot read the password from the terminal ({e}); use {} or {}",
                source.file_option, source.env
            ),
        )
    };
    let first = Zeroizing::new(rpassword::prompt_password(source.prompt).map_err(no_terminal)?);
    if source.confirm {
        let second = Zeroizing::new(rpassword::prompt_password("Again: ").map_err(no_terminal)?);
        if *first != *second {
            return Err(error(
                "password.mismatch",
                "the two passwords differ; nothing was written".into(),
            ));
        }
    }
    Ok(first)
}

/// The agent unload password for `--embed-password`.
pub fn agent_password(file: Option<&Path>) -> Result<Zeroizing<String>, CodedMessage> {
    read(Source {
        file,
        file_option: "--agent-password-file",
        env: AGENT_PASSWORD_ENV,
        prompt: "Agent unload password: ",
        confirm: true,
    })
}

/// The password of a key pair file being read.
pub fn file_password(file: Option<&Path>, of: &Path) -> Result<Zeroizing<String>, CodedMessage> {
    read(Source {
        file,
        file_option: "--password-file",
        env: PASSWORD_ENV,
        prompt: &format!("Password of {}: ", of.display()),
        confirm: false,
    })
}

/// The password of a new backup (typed twice at the terminal).
pub fn new_password(file: Option<&Path>) -> Result<Zeroizing<String>, CodedMessage> {
    read(Source {
        file,
        file_option: "--new-password-file",
        env: NEW_PASSWORD_ENV,
        prompt: "New backup password: ",
        confirm: true,
    })
}
