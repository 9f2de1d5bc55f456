//! The certificate history of every server certmend read, and the event log.

use serde::Serialize;

use super::{coded, CodedMessage};
use crate::store::{CertificateRow, EventRow, ServerRow, Store};

#[derive(Debug, Clone, Serialize)]
pub struct ServerHistory {
    pub server: ServerRow,
    pub certificates: Vec<CertificateRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub servers: Vec<ServerHistory>,
    pub events: Vec<EventRow>,
}

/// Every server with its certificates over time, and the newest `limit` events.
pub fn history(store: &Store, limit: u32) -> Result<History, CodedMessage> {
    let mut servers = Vec::new();
    for server in store.servers().map_err(coded)? {
        let certificates = store.certificate_history(server.id).map_err(coded)?;
        servers.push(ServerHistory {
            server,
            certificates,
        });
    }
    Ok(History {
        servers,
        events: events(store, limit)?,
    })
}

/// The newest `limit` events.
pub fn events(store: &Store, limit: u32) -> Result<Vec<EventRow>, CodedMessage> {
    store.events(Some(limit)).map_err(coded)
}
