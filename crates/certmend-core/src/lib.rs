//! certmend-core: every domain rule of certmend, free of any UI.
//!
//! Apex One / OfficeScan servers sign what they send to their agents; each agent holds
//! the server's public certificate (`OfcNTCer.dat`). This crate finds server install
//! folders, reads and compares certificates, and builds a demo server to try it all on.
//! Front ends (the `certmend` CLI and the desktop app) convert arguments and results
//! and call into here; they hold no domain logic.

// Also set workspace-wide (Cargo.toml); said here so it holds wherever the crate goes.
#![forbid(unsafe_code)]
// Everything here reads files from servers, sticks and admins: a malformed one is an
// error to report, never a panic. Tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod agents;
pub mod backup;
pub mod bundle;
pub mod cert;
mod cert_signature;
pub mod certificate_manager;
pub mod compare;
pub mod console;
pub mod contract;
pub mod demo;
pub mod demo_marker;
mod der_peek;
pub mod drives;
pub mod dropped;
mod durable;
pub mod error;
mod fsutil;
mod hexfmt;
pub mod inventory;
pub mod ipxfer;
pub mod keypair;
pub mod ops;
pub mod paths;
pub mod progress;
pub mod receipts;
pub mod restore;
pub mod script;
pub mod server;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod untrusted;
pub mod watch;

pub use error::{CodedMessage, ErrorCode};
