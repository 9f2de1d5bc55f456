//! The demo server's marker file, as readers see it: `certmend-demo.json` in an install
//! folder says the folder is a demo certmend wrote, and carries the certificate history
//! certmend would have recorded had it read the server before its "rebuild". Writing
//! demos is [`crate::demo`]'s (the top layer); reading the marker is here, so reading a
//! server never reaches up into the demo writer.

use std::path::Path;

use serde::Serialize;

use crate::untrusted;

/// In the install folder of every demo server.
pub const MARKER_FILE: &str = "certmend-demo.json";

/// Whether `install` holds a demo marker.
pub fn is_demo(install: &Path) -> bool {
    crate::fsutil::find_child_ci(install, MARKER_FILE).is_some_and(|p| p.is_file())
}

/// The marker file's content. `history` stands for what certmend would have recorded
/// had it read this server before its "rebuild": the older certificate and when it was
/// in use, so `compare` can tell agents holding it apart from strangers.
#[derive(Serialize, serde::Deserialize)]
pub(crate) struct Marker {
    pub(crate) generator: String,
    pub(crate) version: String,
    pub(crate) demo: bool,
    pub(crate) seed: u64,
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) history: Vec<MarkerHistory>,
}

#[derive(Serialize, serde::Deserialize)]
pub(crate) struct MarkerHistory {
    pub(crate) certificate_pem: String,
    pub(crate) first_seen: String,
    pub(crate) last_seen: String,
}

/// The earlier certificates a demo install's marker records, with when they were in
/// use. Empty for real servers (no marker) and for markers that cannot be read.
pub fn recorded_history(install: &Path) -> Vec<(crate::cert::Certificate, String, String)> {
    let Some(path) = crate::fsutil::find_child_ci(install, MARKER_FILE) else {
        return Vec::new();
    };
    // The folder may be anyone's: no link followed, no file larger than a manifest.
    let Ok(bytes) = untrusted::read(&path, untrusted::Kind::Manifest) else {
        return Vec::new();
    };
    let Ok(marker) = serde_json::from_slice::<Marker>(&bytes) else {
        return Vec::new();
    };
    marker
        .history
        .into_iter()
        .filter_map(|h| {
            let cert = crate::cert::parse(h.certificate_pem.as_bytes()).ok()?;
            Some((cert, h.first_seen, h.last_seen))
        })
        .collect()
}
