//! The use cases: one function per thing an admin does, shared by the CLI and the app.
//!
//! Each takes a typed request (domain enums, never loose strings or flags), the store
//! and, for long work, the progress/cancel seam, and returns a typed report. Front ends
//! only convert their input into a request and render the report: the CLI draws text or
//! JSON and picks an exit status, the app returns the report to the window. Anything
//! that decides something about servers, certificates or agents belongs here or below,
//! never in a front end.
//!
//! Errors cross as [`CodedMessage`]: a stable code, the English message naming the file,
//! and named arguments for translations.

pub mod agents;
pub mod history;
pub mod keys;
pub mod repair;
pub mod server;

pub use crate::server::CodedMessage;
use crate::ErrorCode;

/// Any coded error as it crosses to a front end.
pub(crate) fn coded<E: ErrorCode + std::fmt::Display>(error: E) -> CodedMessage {
    CodedMessage::from_error(&error)
}

/// Which server a use case works on: a folder given by the admin (read and recorded
/// now), or the one a front end already holds.
#[derive(Debug, Clone, Copy)]
pub enum ServerRef<'a> {
    Folder(&'a std::path::Path),
    Recorded(&'a crate::inventory::RecordedServer),
}

impl ServerRef<'_> {
    /// The server, read and recorded when given as a folder.
    pub(crate) fn resolve(
        self,
        store: &mut crate::store::Store,
    ) -> Result<crate::inventory::RecordedServer, CodedMessage> {
        match self {
            ServerRef::Folder(dir) => crate::inventory::open(store, dir).map_err(coded),
            ServerRef::Recorded(server) => Ok(server.clone()),
        }
    }
}
