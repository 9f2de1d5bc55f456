//! Windows builds of `certmend.exe` carry an icon and version resources, like the app's
//! (tauri-build writes those): Explorer's Properties, Task Manager and an admin's
//! software inventory then name the program, its version and who made it.
//! Other targets get nothing: the build script does no work there.
//!
//! Company name and copyright come from `src-tauri/tauri.conf.json`, the one place the
//! app's resources take them from, so the two programs can never disagree.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The build script runs on the host: the target is in CARGO_CFG_*, not cfg!().
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir.join("../..");
    let icon = root.join("icons/icon.ico");
    let config_path = root.join("src-tauri/tauri.conf.json");
    println!("cargo:rerun-if-changed={}", icon.display());
    println!("cargo:rerun-if-changed={}", config_path.display());

    let config: serde_json::Value = std::fs::read_to_string(&config_path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .unwrap_or_else(|e| panic!("{}: {e}", config_path.display()));
    let bundle_text = |key: &str| {
        config["bundle"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no bundle.{key}", config_path.display()))
            .to_string()
    };
    let company = bundle_text("publisher");
    let copyright = bundle_text("copyright");

    // FileVersion/ProductVersion (strings and the numeric fields) default to the
    // package version, which is the workspace's.
    let mut res = tauri_winres::WindowsResource::new();
    res.set_icon(&icon.display().to_string())
        .set("ProductName", "certmend")
        .set("FileDescription", "certmend command line")
        .set("InternalName", "certmend")
        .set("OriginalFilename", "certmend.exe")
        .set("CompanyName", &company)
        .set("LegalCopyright", &copyright);
    // Cross builds use mingw-w64's windres (x86_64-w64-mingw32-windres, or $RC_<target>).
    res.compile()
        .unwrap_or_else(|e| panic!("Windows resources for certmend.exe: {e}"));
}
