//! Bundle manifests (`<bundle>\manifest.json` on a stick: untrusted) as
//! `bundle::verify_bundle` and the export's look at a target read them: JSON into
//! `bundle::Manifest`, then `bundle::manifest_file_path` for every file it names.
//! The property that matters: a manifest can only ever point at the five files a
//! bundle holds, or at IpXfer in the shared `tools` folder beside it.
#![no_main]

use std::path::{Component, Path};

use certmend_core::bundle::{self, Manifest};
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "OfcNTCer.dat",
    "repair.cmd",
    "README.txt",
    "IpXfer.exe",
    "IpXfer_x64.exe",
];

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = serde_json::from_slice::<Manifest>(data) else {
        return;
    };
    let stick = Path::new("/stick");
    let folder = stick.join("PC-01");
    for file in &manifest.files {
        let Some(path) = bundle::manifest_file_path(&folder, &file.name) else {
            continue;
        };
        assert!(
            path.components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_))),
            "{:?} leads to {path:?}",
            file.name
        );
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(NAMES.contains(&name), "{:?} leads to {path:?}", file.name);
        let parent = path.parent().unwrap_or(stick);
        assert!(
            parent == folder || parent == stick.join("tools") && name.starts_with("IpXfer"),
            "{:?} leads to {path:?}",
            file.name
        );
    }
    // What certmend writes, it reads back the same.
    let again = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let back: Manifest = serde_json::from_slice(&again).expect("and reads back");
    assert_eq!(back, manifest);
});
