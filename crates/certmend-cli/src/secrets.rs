//! Passwords for the CLI: from a file, an environment variable or the terminal; never
//! from the command line, never logged, zeroized when dropped.
//!
//! The environment variables are for unattended runs and carry a cost the README
//! states: every child process inherits them, and a value typed on a command line
//! (`CERTMEND_PASSWORD=... certmend ...`) may stay in the shell's history. A password
//! file (owner-only on Unix) or the prompt avoids both.

use std::io::Read;
use std::path::Path;

use certmend_core::server::CodedMessage;
use certmend_core::untrusted::{self, FileError, Kind};
use certmend_core::ErrorCode;
use zeroize::Zeroizing;

/// Environment variable with the agent unload password (for unattended use).
pub const AGENT_PASSWORD_ENV: &str = "CERTMEND_AGENT_PASSWORD";
/// The password of a key pair file being read.
pub const PASSWORD_ENV: &str = "CERTMEND_PASSWORD";
/// The password of a new backup.
pub const NEW_PASSWORD_ENV: &str = "CERTMEND_NEW_PASSWORD";

fn error(code: &str, message: String) -> CodedMessage {
    CodedMessage::new(code, message)
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

/// The first line of a password file. Like every file certmend reads, only a regular
/// file reached without a link, and a small one ([`Kind::PasswordFile`]). On Unix a
/// file that other users can read or change is refused: its password is not secret,
/// and whoever could change it chooses the password of a new backup.
fn read_file(file: &Path) -> Result<Zeroizing<String>, CodedMessage> {
    let refused = |e: FileError| error(e.code(), e.to_string());
    let unreadable = |e: std::io::Error| {
        refused(FileError::Unreadable {
            path: file.to_path_buf(),
            source: e,
        })
    };
    let (handle, _) = untrusted::open(file, Kind::PasswordFile).map_err(refused)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = handle.metadata().map_err(unreadable)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(error(
                "password.file_not_private",
                format!(
                    "{}: other users can read or change this password file (mode {:03o}); \
                     make it yours alone (chmod 600 {}) and run again",
                    file.display(),
                    mode & 0o777,
                    file.display()
                ),
            ));
        }
    }
    let cap = Kind::PasswordFile.cap();
    let mut bytes = Zeroizing::new(Vec::new());
    handle
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > cap {
        return Err(refused(FileError::TooLarge {
            path: file.to_path_buf(),
            size: bytes.len() as u64,
            cap,
            what: "a password file",
        }));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        error(
            "file.unreadable",
            format!("{}: cannot be read: not UTF-8 text", file.display()),
        )
    })?;
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default();
    Ok(Zeroizing::new(first.to_string()))
}

fn read(source: Source<'_>) -> Result<Zeroizing<String>, CodedMessage> {
    if let Some(file) = source.file {
        return read_file(file);
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
