//! One file per command: its arguments (clap), then `exec`, which converts them into a
//! request, makes one certmend-core call (mostly `ops::`) and renders the result.

pub mod agents;
pub mod backup;
pub mod bundle;
pub mod cert;
pub mod compare;
pub mod demo;
pub mod detect;
pub mod drives;
pub mod history;
pub mod import;
pub mod keypair;
pub mod receipts;
pub mod server;

use std::path::PathBuf;

use certmend_core::progress::Progress;
use certmend_core::store::Store;
use certmend_core::{CodedMessage, ErrorCode};

/// How a command ended, beyond what it printed.
pub enum Outcome {
    Ok,
    /// The check found a problem (exit 1).
    Problem,
    /// Some of the work failed on bad input, already reported (exit 2).
    Failed,
}

impl Outcome {
    /// `Ok` when `fine`, else `Problem`.
    pub fn problem_unless(fine: bool) -> Self {
        if fine {
            Outcome::Ok
        } else {
            Outcome::Problem
        }
    }
}

/// What every command may use: the output form and the database.
pub struct Ctx {
    pub json: bool,
    pub db: Option<PathBuf>,
}

impl Ctx {
    pub fn open_store(&self) -> Result<Store, CodedMessage> {
        let path = match &self.db {
            Some(path) => path.clone(),
            None => Store::default_path().map_err(coded)?,
        };
        Store::open(&path).map_err(coded)
    }
}

pub fn coded<E: ErrorCode + std::fmt::Display>(error: E) -> CodedMessage {
    CodedMessage::from_error(&error)
}

/// A warning on stderr: `certmend: warning[code]: message`.
pub fn warn(error: &CodedMessage, suffix: &str) {
    eprintln!(
        "certmend: warning[{}]: {}{suffix}",
        error.code, error.message
    );
}

/// An indicatif bar on stderr (hidden when stderr is not a terminal).
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    pub fn bytes(label: &str) -> Self {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Bar(bar)
    }
}

impl Progress for Bar {
    fn update(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
