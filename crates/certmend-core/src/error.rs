//! How an error crosses to a person: a stable code, an English message naming the file
//! and what was wrong, and named arguments (the facts a translation needs: a path, how
//! many bytes are missing). Front ends match and translate on the code and arguments,
//! never on the message text.

use std::collections::BTreeMap;
use std::fmt::Display;

use serde::Serialize;

/// A stable, machine-readable code for an error, e.g. `cert.truncated`.
///
/// Front ends match on codes (the app translates them), never on message text.
pub trait ErrorCode {
    fn code(&self) -> &'static str;

    /// The facts of this error a translation may name, by name. None by default.
    fn args(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::new()
    }
}

/// An error as it crosses to a front end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodedMessage {
    pub code: String,
    pub message: String,
    /// Named facts for the translations (`{path}`, `{needed}`); absent when none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
}

impl CodedMessage {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            args: BTreeMap::new(),
        }
    }

    /// The same, with the argument `name` set to `value`.
    pub fn with_arg(mut self, name: &str, value: impl Display) -> Self {
        self.args.insert(name.to_string(), value.to_string());
        self
    }

    pub fn from_error<E: ErrorCode + Display>(error: &E) -> Self {
        Self {
            code: error.code().to_string(),
            message: error.to_string(),
            args: error
                .args()
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        }
    }
}

impl Display for CodedMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}
