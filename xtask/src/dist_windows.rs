//! `cargo xtask dist-windows`: what a Windows admin downloads, built on this Linux machine
//! for `x86_64-pc-windows-gnu` with Debian's mingw-w64, wixl and msitools (Tauri's own
//! MSI/NSIS bundlers download WiX and NSIS from GitHub, which the build machine cannot
//! reach).
//!
//! - `certmend.exe` and `certmend-app.exe` (UI embedded), release builds, and
//!   `WebView2Loader.dll`: for gnu targets webview2-com-sys links the loader as a DLL (the
//!   static loader is MSVC-only), so the app imports it and does not start without it
//!   beside it. webview2-com-sys unpacks it into its build folder (`out/x64/`) and
//!   tauri-build copies it next to the .exe, in `target/x86_64-pc-windows-gnu/release/`.
//! - Checks on each binary: x86-64 PE, the right subsystem (the app must not open a console),
//!   ASLR/NX, imports only Windows' own DLLs (MinGW's libgcc_s / libwinpthread / libstdc++
//!   would be missing on the admin's server), an icon equal to icons/icon.ico and version
//!   resources naming certmend, the workspace version and the publisher of tauri.conf.json.
//! - `target/dist/certmend-<version>-x64.msi`: wixl builds packaging/windows/certmend.wxs,
//!   then msibuild adds what wixl 0.101 cannot express (see [`msi_fixups`]); the tables are
//!   read back with `msiinfo export` and the files extracted with `msiextract` and compared.
//! - `target/dist/certmend-<version>-windows-x64.zip`: the portable files, listed and
//!   compared after writing.
//!
//! Sizes, imports and build times are printed and appended to `target/dist-report.txt`.
//! The Windows programs cannot run here (no `--version`): Wine lacks bcryptprimitives.dll.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::{cargo, ensure_packages, status, workspace_root, Result};

pub(crate) const TARGET: &str = "x86_64-pc-windows-gnu";

/// mingw-w64 links and compiles the resources (windres) and reads the binaries (objdump, from
/// its binutils); wixl builds the MSI, msitools edits and reads it; zip/unzip the zip.
const PACKAGES: &[&str] = &["gcc-mingw-w64-x86-64", "wixl", "msitools", "zip", "unzip"];

/// DLLs that are part of every Windows 10 / Server 2016 installation, in lower case: exactly
/// the union of what the CLI, the app and WebView2Loader.dll import (see the report), each a
/// system DLL in System32 (bcryptprimitives.dll's ProcessPrng, which Rust's std uses, and
/// combase.dll exist since Windows 8). `api-ms-win-*` API sets are allowed separately. A new
/// import fails the check until someone confirms it is Windows' own and adds it here.
const SYSTEM_DLLS: &[&str] = &[
    "advapi32.dll",
    "bcryptprimitives.dll",
    "combase.dll",
    "comctl32.dll",
    "dwmapi.dll",
    "gdi32.dll",
    "imm32.dll",
    "kernel32.dll",
    "msvcrt.dll",
    "ntdll.dll",
    "ole32.dll",
    "oleaut32.dll",
    "propsys.dll",
    "rpcrt4.dll",
    "shell32.dll",
    "shlwapi.dll",
    "user32.dll",
    "userenv.dll",
    "ws2_32.dll",
];

/// Microsoft's offline WebView2 runtime installer ("Evergreen Standalone Installer", x64):
/// when an admin puts it beside the MSI, the MSI runs it if the runtime is missing.
const WEBVIEW2_INSTALLER: &str = "MicrosoftEdgeWebView2RuntimeInstallerX64.exe";

/// The MSI's fixed UpgradeCode (packaging/windows/certmend.wxs); checked in the built table.
const UPGRADE_CODE: &str = "{D49B9C9C-5172-418C-BABF-94AE2B956ED9}";

/// The files of both packages, as they are named on the admin's disk.
const PAYLOAD: &[&str] = &[
    "certmend-app.exe",
    "certmend.exe",
    "WebView2Loader.dll",
    "README-en.txt",
    "README-ja.txt",
];

/// What a run produced, for `cargo xtask test` to hand to the Wine suites.
pub(crate) struct WindowsDist {
    /// certmend.exe and certmend-app.exe as built (WebView2Loader.dll is beside the app).
    pub cli: PathBuf,
    pub app: PathBuf,
    /// target/dist, holding certmend-<version>-x64.msi and certmend-<version>-windows-x64.zip.
    pub dist: PathBuf,
}

impl WindowsDist {
    /// How to run the Wine suites (tests/wine) by hand on exactly these files.
    pub(crate) fn print_wine_env(&self) {
        println!(
            "xtask: the Wine suites on these files: CERTMEND_WIN_BIN={} CERTMEND_WIN_APP={} \
             CERTMEND_WIN_DIST={} cargo test -p certmend-wine-tests -- --test-threads=1",
            self.cli.display(),
            self.app.display(),
            self.dist.display()
        );
    }
}

pub(crate) fn dist_windows(args: &[String]) -> Result<WindowsDist> {
    if let Some(arg) = args.first() {
        return Err(format!("dist-windows: unexpected argument {arg}"));
    }
    ensure_packages(PACKAGES)?;
    ensure_rust_target()?;
    let root = workspace_root();
    let version = workspace_version(&root)?;
    let config = std::fs::read_to_string(root.join("src-tauri/tauri.conf.json"))
        .map_err(|e| format!("src-tauri/tauri.conf.json: {e}"))?;
    let company = json_string(&config, "publisher")?;
    let copyright = json_string(&config, "copyright")?;

    let mut times = Vec::new();
    for (package, extra) in [
        ("certmend-cli", None),
        ("certmend-app", Some("custom-protocol")),
    ] {
        let mut build = cargo();
        build.args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "-p",
            package,
        ]);
        if let Some(feature) = extra {
            build.args(["--features", feature]);
        }
        let started = Instant::now();
        status(
            build,
            &format!("cargo build --release --target {TARGET} -p {package}"),
        )?;
        times.push(format!(
            "{package} for {TARGET}: {:.0} s",
            started.elapsed().as_secs_f64()
        ));
    }

    let out = root.join("target").join(TARGET).join("release");
    let expected = VersionStrings {
        version: &version,
        company: &company,
        copyright: &copyright,
    };
    let icon =
        std::fs::read(root.join("icons/icon.ico")).map_err(|e| format!("icons/icon.ico: {e}"))?;
    let mut report = String::new();
    // Microsoft's WebView2Loader.dll is checked for its imports and header flags only
    // (a DLL's subsystem field means nothing; this one says console).
    for (name, subsystem) in [
        ("certmend.exe", Some(Subsystem::Console)),
        ("certmend-app.exe", Some(Subsystem::Gui)),
        ("WebView2Loader.dll", None),
    ] {
        let file = out.join(name);
        let imports = check_imports(&file)?;
        let pe = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let pe = Pe::parse(&pe).map_err(|e| format!("{}: {e}", file.display()))?;
        check_header(&pe, subsystem).map_err(|e| format!("{}: {e}", file.display()))?;
        if name.ends_with(".exe") {
            check_resources(&pe, &expected, &icon)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
        let line = format!(
            "Windows {name}: {} ({}), imports {}\n",
            file.display(),
            size(&file),
            imports.join(" ")
        );
        print!("{line}");
        report.push_str(&line);
    }

    let dist = root.join("target/dist");
    let work = root.join("target/dist-windows");
    let msi = dist.join(format!("certmend-{version}-x64.msi"));
    let zip = dist.join(format!("certmend-{version}-windows-x64.zip"));
    // Packages are built and checked in `work` and only then moved into target/dist: a
    // failed run leaves no package there, not even the previous run's.
    for stale in [&msi, &zip] {
        let _ = std::fs::remove_file(stale);
    }
    let _ = std::fs::remove_dir_all(&work);
    let stage = work.join("stage");
    std::fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    stage_files(&root, &out, &stage, &version)?;

    let built_msi = work.join(msi.file_name().unwrap_or_default());
    build_msi(&root, &stage, &built_msi, &version)?;
    check_msi(&built_msi, &stage, &work, &version)?;
    let built_zip = work.join(zip.file_name().unwrap_or_default());
    build_zip(&stage, &built_zip)?;
    check_zip(&built_zip, &stage)?;
    for (built, published) in [(&built_msi, &msi), (&built_zip, &zip)] {
        std::fs::rename(built, published).map_err(|e| format!("{}: {e}", published.display()))?;
    }

    let packages = format!(
        "Windows MSI: {} ({})\nWindows zip: {} ({})\nWindows release builds: {}\n",
        msi.display(),
        size(&msi),
        zip.display(),
        size(&zip),
        times.join(", ")
    );
    print!("{packages}");
    report.push_str(&packages);
    append_report(&root.join("target/dist-report.txt"), &report)?;
    Ok(WindowsDist {
        cli: out.join("certmend.exe"),
        app: out.join("certmend-app.exe"),
        dist,
    })
}

/// `rustup target add` when the standard library for the Windows target is missing.
pub(crate) fn ensure_rust_target() -> Result {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup: cannot start ({e}); install the {TARGET} target"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", TARGET]);
    status(add, &format!("rustup target add {TARGET}"))
}

/// `[workspace.package] version` of the root Cargo.toml: every crate inherits it.
fn workspace_version(root: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(root.join("Cargo.toml")).map_err(|e| format!("Cargo.toml: {e}"))?;
    let mut in_section = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                return Ok(value.trim_matches('"').to_string());
            }
        }
    }
    Err("Cargo.toml: no version in [workspace.package]".into())
}

/// The string value of the first `"key": "..."` in a JSON text. Enough for the two plain
/// strings of tauri.conf.json read here; xtask stays free of dependencies.
fn json_string(json: &str, key: &str) -> Result<String> {
    let quoted = format!("\"{key}\"");
    let missing = || format!("src-tauri/tauri.conf.json: no string \"{key}\"");
    let after = &json[json.find(&quoted).ok_or_else(missing)? + quoted.len()..];
    let after = after.trim_start().strip_prefix(':').ok_or_else(missing)?;
    let mut chars = after
        .trim_start()
        .strip_prefix('"')
        .ok_or_else(missing)?
        .chars();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Ok(value),
            '\\' => match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some(other) => value.push(other),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(missing())
}

/// Imported DLLs as `objdump -p` lists them; fails on any that is not Windows' own.
fn check_imports(file: &Path) -> Result<Vec<String>> {
    let out = Command::new("x86_64-w64-mingw32-objdump")
        .arg("-p")
        .arg(file)
        .output()
        .map_err(|e| format!("x86_64-w64-mingw32-objdump: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "x86_64-w64-mingw32-objdump -p {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut dlls: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("DLL Name:"))
        .map(|d| d.trim().to_string())
        .collect();
    dlls.sort_by_key(|d| d.to_ascii_lowercase());
    dlls.dedup_by_key(|d| d.to_ascii_lowercase());
    if dlls.is_empty() {
        return Err(format!("{}: no imports found by objdump", file.display()));
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let bad = foreign_imports(name, &dlls);
    if !bad.is_empty() {
        let hint = if bad.iter().any(|d| {
            let d = d.to_ascii_lowercase();
            d.starts_with("libgcc") || d.starts_with("libwinpthread") || d.starts_with("libstdc++")
        }) {
            " (the MinGW runtime is linked dynamically; it is not on the admin's Windows)"
        } else {
            " (not a Windows system DLL: ship it, link it statically, or add it to \
             SYSTEM_DLLS in xtask/src/dist_windows.rs if it is one)"
        };
        return Err(format!(
            "{} imports {}{hint}",
            file.display(),
            bad.join(", ")
        ));
    }
    Ok(dlls)
}

/// The imports of binary `name` that are neither Windows' own nor shipped beside it.
fn foreign_imports<'a>(name: &str, dlls: &'a [String]) -> Vec<&'a str> {
    dlls.iter()
        .map(String::as_str)
        .filter(|d| {
            let d = d.to_ascii_lowercase();
            // The app's own loader ships beside it (the MSI and the zip hold it).
            let shipped = name == "certmend-app.exe" && d == "webview2loader.dll";
            !(SYSTEM_DLLS.contains(&d.as_str()) || d.starts_with("api-ms-win-") || shipped)
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Subsystem {
    Gui,
    Console,
}

/// x86-64, the expected subsystem (a GUI app must not open a console window beside it), and
/// ASLR (64-bit) and NX, which security scanners on Windows Server report when missing.
fn check_header(pe: &Pe, subsystem: Option<Subsystem>) -> Result {
    const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
    const HIGH_ENTROPY_VA: u16 = 0x0020;
    const DYNAMIC_BASE: u16 = 0x0040;
    const NX_COMPAT: u16 = 0x0100;
    if pe.machine != IMAGE_FILE_MACHINE_AMD64 {
        return Err(format!("machine {:#06x}, expected x86-64", pe.machine));
    }
    if let Some(subsystem) = subsystem {
        let found = match pe.subsystem {
            2 => Subsystem::Gui,
            3 => Subsystem::Console,
            other => return Err(format!("subsystem {other}, expected GUI or console")),
        };
        if found != subsystem {
            return Err(format!("{found:?} subsystem, expected {subsystem:?}"));
        }
    }
    let wanted = HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT;
    if pe.dll_characteristics & wanted != wanted {
        return Err(format!(
            "DllCharacteristics {:#06x} lacks ASLR/NX ({wanted:#06x})",
            pe.dll_characteristics
        ));
    }
    Ok(())
}

struct VersionStrings<'a> {
    version: &'a str,
    company: &'a str,
    copyright: &'a str,
}

const RT_ICON: u32 = 3;
const RT_GROUP_ICON: u32 = 14;
const RT_VERSION: u32 = 16;

/// The icon (every image of icons/icon.ico, and a group naming them) and the version
/// resource Explorer's Properties shows.
fn check_resources(pe: &Pe, expected: &VersionStrings, ico: &[u8]) -> Result {
    let resources = pe.resources()?;
    let of_type = |t: u32| resources.iter().filter(move |r| r.type_id == t);
    let icons: Vec<&[u8]> = of_type(RT_ICON).map(|r| r.data).collect();
    let images = ico_images(ico)?;
    if of_type(RT_GROUP_ICON).count() == 0 {
        return Err("no icon (RT_GROUP_ICON resource)".into());
    }
    if let Some(missing) = images.iter().position(|img| !icons.contains(img)) {
        return Err(format!(
            "the icon differs from icons/icon.ico (image {missing} of {} not embedded)",
            images.len()
        ));
    }

    let version = of_type(RT_VERSION)
        .next()
        .ok_or("no version resource (RT_VERSION)")?;
    let info = VersionInfo::parse(version.data)?;
    let numeric = {
        let mut parts = expected
            .version
            .split(['.', '-', '+'])
            .map(|p| p.parse::<u16>().unwrap_or(0));
        let mut next = || parts.next().unwrap_or(0);
        [next(), next(), next(), 0]
    };
    for (what, found) in [
        ("FILEVERSION", info.file_version),
        ("PRODUCTVERSION", info.product_version),
    ] {
        if found != numeric {
            return Err(format!(
                "{what} {found:?} in the version resource, expected {numeric:?} ({})",
                expected.version
            ));
        }
    }
    for (key, want) in [
        ("ProductName", "certmend"),
        ("FileVersion", expected.version),
        ("ProductVersion", expected.version),
        ("CompanyName", expected.company),
        ("LegalCopyright", expected.copyright),
    ] {
        match info.strings.get(key) {
            Some(found) if found == want => {}
            found => {
                return Err(format!(
                    "version resource {key} = {found:?}, expected {want:?} \
                     (workspace version / src-tauri/tauri.conf.json)"
                ))
            }
        }
    }
    if info
        .strings
        .get("FileDescription")
        .is_none_or(|d| d.is_empty())
    {
        return Err("version resource without FileDescription".into());
    }
    Ok(())
}

/// The image blobs of a .ico file, as RT_ICON resources hold them.
fn ico_images(ico: &[u8]) -> Result<Vec<&[u8]>> {
    let bad = || "icons/icon.ico: not an .ico file".to_string();
    if rd_u16(ico, 0) != Some(0) || rd_u16(ico, 2) != Some(1) {
        return Err(bad());
    }
    let count = rd_u16(ico, 4).ok_or_else(bad)? as usize;
    (0..count)
        .map(|i| {
            let entry = 6 + 16 * i;
            let len = rd_u32(ico, entry + 8).ok_or_else(bad)? as usize;
            let at = rd_u32(ico, entry + 12).ok_or_else(bad)? as usize;
            ico.get(at..at + len).ok_or_else(bad)
        })
        .collect()
}

fn rd_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn rd_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The parts of a PE32+ image the checks read: header fields, and the resource tree by
/// way of the section table (resource addresses are RVAs).
struct Pe<'a> {
    data: &'a [u8],
    machine: u16,
    subsystem: u16,
    dll_characteristics: u16,
    /// (virtual address, virtual size, file offset, raw size) of each section.
    sections: Vec<(u32, u32, u32, u32)>,
    /// RVA and size of the resource directory (data directory 2).
    resource_dir: (u32, u32),
}

struct Resource<'a> {
    type_id: u32,
    data: &'a [u8],
}

impl<'a> Pe<'a> {
    fn parse(data: &'a [u8]) -> Result<Self> {
        let bad = |what: &str| format!("not a 64-bit PE image ({what})");
        if data.get(..2) != Some(b"MZ") {
            return Err(bad("no MZ header"));
        }
        let pe = rd_u32(data, 0x3c).ok_or_else(|| bad("truncated"))? as usize;
        if data.get(pe..pe + 4) != Some(b"PE\0\0") {
            return Err(bad("no PE signature"));
        }
        let coff = pe + 4;
        let machine = rd_u16(data, coff).ok_or_else(|| bad("truncated"))?;
        let section_count = rd_u16(data, coff + 2).ok_or_else(|| bad("truncated"))?;
        let optional_size = rd_u16(data, coff + 16).ok_or_else(|| bad("truncated"))?;
        let optional = coff + 20;
        if rd_u16(data, optional) != Some(0x20b) {
            return Err(bad("not PE32+"));
        }
        let field = |at: usize| rd_u16(data, optional + at).ok_or_else(|| bad("truncated"));
        let subsystem = field(68)?;
        let dll_characteristics = field(70)?;
        // Data directories start at 112 in a PE32+ optional header; the resource one is third.
        let resource_dir = (
            rd_u32(data, optional + 112 + 16).ok_or_else(|| bad("truncated"))?,
            rd_u32(data, optional + 112 + 20).ok_or_else(|| bad("truncated"))?,
        );
        let table = optional + optional_size as usize;
        let sections = (0..section_count as usize)
            .map(|i| {
                let s = table + 40 * i;
                Some((
                    rd_u32(data, s + 12)?,
                    rd_u32(data, s + 8)?,
                    rd_u32(data, s + 20)?,
                    rd_u32(data, s + 16)?,
                ))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("truncated section table"))?;
        Ok(Pe {
            data,
            machine,
            subsystem,
            dll_characteristics,
            sections,
            resource_dir,
        })
    }

    /// `len` bytes at `rva`, if a section's file data holds them.
    fn at_rva(&self, rva: u32, len: u32) -> Option<&'a [u8]> {
        let (va, _, file, raw) = self
            .sections
            .iter()
            .copied()
            .find(|&(va, vsize, _, raw)| rva >= va && rva < va + vsize.max(raw))?;
        let offset = rva - va;
        if offset.checked_add(len)? > raw {
            return None;
        }
        let start = (file + offset) as usize;
        self.data.get(start..start + len as usize)
    }

    /// Every resource (type → name → language → data), with its type ID.
    fn resources(&self) -> Result<Vec<Resource<'a>>> {
        let (rva, size) = self.resource_dir;
        if rva == 0 || size == 0 {
            return Err("no resources (.rsrc)".into());
        }
        let tree = self
            .at_rva(rva, size)
            .ok_or("resource directory outside the file")?;
        let bad = || "malformed resource directory".to_string();
        // (offset, is a directory) of each entry of the directory at `dir`.
        let entries = |dir: usize| -> Result<Vec<(u32, u32)>> {
            let named = rd_u16(tree, dir + 12).ok_or_else(bad)? as usize;
            let ids = rd_u16(tree, dir + 14).ok_or_else(bad)? as usize;
            (0..named + ids)
                .map(|i| {
                    let e = dir + 16 + 8 * i;
                    Ok((
                        rd_u32(tree, e).ok_or_else(bad)?,
                        rd_u32(tree, e + 4).ok_or_else(bad)?,
                    ))
                })
                .collect()
        };
        const SUBDIR: u32 = 0x8000_0000;
        let mut found = Vec::new();
        for (type_id, types) in entries(0)? {
            if types & SUBDIR == 0 {
                return Err(bad());
            }
            for (_, names) in entries((types & !SUBDIR) as usize)? {
                if names & SUBDIR == 0 {
                    return Err(bad());
                }
                for (_, leaf) in entries((names & !SUBDIR) as usize)? {
                    let leaf = leaf as usize;
                    let data_rva = rd_u32(tree, leaf).ok_or_else(bad)?;
                    let data_len = rd_u32(tree, leaf + 4).ok_or_else(bad)?;
                    let data = self.at_rva(data_rva, data_len).ok_or_else(bad)?;
                    found.push(Resource {
                        // Named types (high bit set) are never the standard ones checked.
                        type_id: if type_id & SUBDIR == 0 { type_id } else { 0 },
                        data,
                    });
                }
            }
        }
        Ok(found)
    }
}

/// VS_VERSIONINFO: the fixed numeric versions and the StringFileInfo strings.
struct VersionInfo {
    file_version: [u16; 4],
    product_version: [u16; 4],
    strings: BTreeMap<String, String>,
}

impl VersionInfo {
    fn parse(blob: &[u8]) -> Result<Self> {
        let root = VersionBlock::parse(blob, 0)?;
        if root.key != "VS_VERSION_INFO" {
            return Err(format!("version resource key {:?}", root.key));
        }
        let fixed = root.value;
        if rd_u32(fixed, 0) != Some(0xFEEF_04BD) {
            return Err("version resource without VS_FIXEDFILEINFO".into());
        }
        let pair = |at: usize| -> Result<[u16; 4]> {
            let ms = rd_u32(fixed, at).ok_or("short VS_FIXEDFILEINFO")?;
            let ls = rd_u32(fixed, at + 4).ok_or("short VS_FIXEDFILEINFO")?;
            Ok([(ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16])
        };
        let mut strings = BTreeMap::new();
        for child in root.children(blob)? {
            if child.key != "StringFileInfo" {
                continue;
            }
            for table in child.children(blob)? {
                for string in table.children(blob)? {
                    strings.insert(string.key.clone(), utf16_until_nul(string.value));
                }
            }
        }
        Ok(VersionInfo {
            file_version: pair(8)?,
            product_version: pair(16)?,
            strings,
        })
    }
}

/// One node of a version resource: length, value length, type, key, value, children.
struct VersionBlock<'a> {
    key: String,
    value: &'a [u8],
    /// Where the children start and where the block ends, in the whole blob.
    children_at: usize,
    end: usize,
}

impl<'a> VersionBlock<'a> {
    fn parse(blob: &'a [u8], at: usize) -> Result<Self> {
        let bad = || "malformed version resource".to_string();
        let len = rd_u16(blob, at).ok_or_else(bad)? as usize;
        let value_len = rd_u16(blob, at + 2).ok_or_else(bad)? as usize;
        let text = rd_u16(blob, at + 4).ok_or_else(bad)? == 1;
        let end = at + len;
        if len < 6 || end > blob.len() {
            return Err(bad());
        }
        let mut key_end = at + 6;
        while rd_u16(blob, key_end).ok_or_else(bad)? != 0 {
            key_end += 2;
        }
        let key = String::from_utf16_lossy(
            &blob[at + 6..key_end]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        );
        let value_at = align4(key_end + 2);
        // A text value's length counts UTF-16 units, a binary one bytes.
        let value_bytes = if text { value_len * 2 } else { value_len };
        let value_end = (value_at + value_bytes).min(end);
        let value = blob.get(value_at.min(end)..value_end).ok_or_else(bad)?;
        Ok(VersionBlock {
            key,
            value,
            children_at: align4(value_end),
            end,
        })
    }

    fn children(&self, blob: &'a [u8]) -> Result<Vec<VersionBlock<'a>>> {
        let mut at = self.children_at;
        let mut children = Vec::new();
        while at + 6 <= self.end {
            let child = VersionBlock::parse(blob, at)?;
            at = align4(child.end);
            children.push(child);
        }
        Ok(children)
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn utf16_until_nul(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// The files of both packages in one folder: the binaries as built, the README texts with
/// the version filled in, UTF-8 with a BOM and CRLF line ends (Notepad on Windows Server
/// 2016 reads a BOM-less UTF-8 file as the ANSI code page and garbles the Japanese), and
/// the icon wixl needs for Programs and Features.
fn stage_files(root: &Path, out: &Path, stage: &Path, version: &str) -> Result {
    for name in ["certmend-app.exe", "certmend.exe", "WebView2Loader.dll"] {
        copy(&out.join(name), &stage.join(name))?;
    }
    for name in ["README-en.txt", "README-ja.txt"] {
        let source = root.join("packaging/windows").join(name);
        let text =
            std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let text = text.replace("{version}", version).replace("\r\n", "\n");
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
        let target = stage.join(name);
        std::fs::write(&target, bytes).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    copy(&root.join("icons/icon.ico"), &stage.join("icon.ico"))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// wixl, run in the staging folder (the .wxs names its files relative to it), then the
/// additions of [`msi_fixups`].
fn build_msi(root: &Path, stage: &Path, built: &Path, version: &str) -> Result {
    let wxs = root.join("packaging/windows/certmend.wxs");
    let mut wixl = Command::new("wixl");
    wixl.current_dir(stage)
        .args(["-a", "x64", "-D"])
        .arg(format!("Version={version}"))
        .arg("-o")
        .arg(built)
        .arg(&wxs);
    status(wixl, "wixl (packaging/windows/certmend.wxs)")?;

    let secure = msi_table(built, "Property")?
        .into_iter()
        .find(|row| row[0] == "SecureCustomProperties")
        .map(|row| row[1].clone())
        .unwrap_or_default();
    let mut msibuild = Command::new("msibuild");
    msibuild.arg(built);
    for query in msi_fixups(version, &secure) {
        msibuild.arg("-q").arg(query);
    }
    status(msibuild, "msibuild (PATH, upgrades, WebView2)")
}

/// What wixl 0.101 cannot express, as SQL on the built database.
fn msi_fixups(version: &str, secure: &str) -> Vec<String> {
    // Runs only on a first install (not on repair, uninstall or when the runtime is there).
    let webview2_missing =
        r#"NOT Installed AND (NOT WEBVIEW2_VERSION OR WEBVIEW2_VERSION = "0.0.0.0")"#;
    let secure = [secure, "WINDOWSBUILDNUMBER", "WEBVIEW2_VERSION"]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(";");
    vec![
        // System PATH: WiX's <Environment Name="PATH" Value="[INSTALLDIR]" Part="last"
        // System="yes" Action="set"> is this row. "=" sets the variable on install, "-"
        // removes the value again when the component is removed, "*" means the system
        // environment; "[~];" appends to the existing value instead of replacing it.
        // Component Cli is certmend.exe's: the entry comes and goes with it.
        "CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, \
         `Name` CHAR(255) NOT NULL LOCALIZABLE, `Value` CHAR(255) LOCALIZABLE, \
         `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)"
            .into(),
        "INSERT INTO `Environment` (`Environment`, `Name`, `Value`, `Component_`) \
         VALUES ('CertmendPath', '=-*PATH', '[~];[INSTALLDIR]', 'Cli')"
            .into(),
        // The standard actions that apply the table, at their standard sequence numbers.
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) \
         VALUES ('RemoveEnvironmentStrings', 3300)"
            .into(),
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) \
         VALUES ('WriteEnvironmentStrings', 5200)"
            .into(),
        // WiX's AllowSameVersionUpgrades: the removal row's VersionMax becomes inclusive
        // (msidbUpgradeAttributesVersionMaxInclusive 0x200, with MigrateFeatures 0x1). The
        // key columns cannot be UPDATEd, so the row is replaced.
        "DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'".into(),
        format!(
            "INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, \
             `ActionProperty`) VALUES ('{UPGRADE_CODE}', '{version}', 513, \
             'WIX_UPGRADE_DETECTED')"
        ),
        // wixl ignores Property/@Secure: the searches' results must reach the server side
        // when AppSearch ran in the UI sequence (the launch condition runs again there).
        format!(
            "UPDATE `Property` SET `Value` = '{secure}' \
             WHERE `Property` = 'SecureCustomProperties'"
        ),
        // The WebView2 runtime, from Microsoft's offline installer placed beside the MSI.
        // SourceDir (the MSI's folder) is only defined after ResolveSource; the file's
        // presence is tested by cmd.exe's `if exist` (an AppSearch file search would run
        // before the source is resolved). Type 3170 = 34 (exe, working directory from the
        // Directory table) + 1024 (deferred) + 2048 (no impersonation: runs as LocalSystem,
        // so the runtime is installed per machine) + 64 (exit code ignored: a failed runtime
        // install must not take certmend.exe away; the app reports a missing runtime).
        format!(
            "INSERT INTO `CustomAction` (`Action`, `Type`, `Source`, `Target`) VALUES \
             ('InstallWebView2Runtime', 3170, 'INSTALLDIR', '\"[System64Folder]cmd.exe\" /d /c \
             if exist \"[SourceDir]{WEBVIEW2_INSTALLER}\" \"[SourceDir]{WEBVIEW2_INSTALLER}\" \
             /silent /install')"
        ),
        format!(
            "INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) \
             VALUES ('ResolveSource', '{webview2_missing}', 850)"
        ),
        format!(
            "INSERT INTO `InstallExecuteSequence` (`Action`, `Condition`, `Sequence`) \
             VALUES ('InstallWebView2Runtime', '{webview2_missing}', 6500)"
        ),
    ]
}

/// A table of the MSI as `msiinfo export` writes it (.idt: names, types, keys, then rows).
fn msi_table(msi: &Path, table: &str) -> Result<Vec<Vec<String>>> {
    let out = Command::new("msiinfo")
        .arg("export")
        .arg(msi)
        .arg(table)
        .output()
        .map_err(|e| format!("msiinfo: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "msiinfo export {} {table}: {}",
            msi.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .map(|l| {
            l.trim_end_matches('\r')
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect())
}

/// Reads the MSI back: the tables that make the install what the README promises, and
/// the files in its cabinet, byte for byte the staged ones.
fn check_msi(msi: &Path, stage: &Path, work: &Path, version: &str) -> Result {
    let fail = |what: String| Err(format!("{}: {what}", msi.display()));
    let table = |name: &str| msi_table(msi, name);
    let has_row = |rows: &[Vec<String>], want: &[&str]| {
        rows.iter().any(|r| {
            want.iter()
                .enumerate()
                .all(|(i, w)| r.get(i).map(String::as_str) == Some(*w))
        })
    };

    let properties = table("Property")?;
    for want in [
        ["ProductVersion", version],
        ["UpgradeCode", UPGRADE_CODE],
        ["ALLUSERS", "1"],
        ["ProductName", "certmend"],
    ] {
        if !has_row(&properties, &want) {
            return fail(format!("Property {} is not {}", want[0], want[1]));
        }
    }
    let secure = properties
        .iter()
        .find(|r| r[0] == "SecureCustomProperties")
        .map(|r| r[1].split(';').map(String::from).collect::<Vec<_>>())
        .unwrap_or_default();
    for want in [
        "WIX_UPGRADE_DETECTED",
        "WIX_DOWNGRADE_DETECTED",
        "WINDOWSBUILDNUMBER",
        "WEBVIEW2_VERSION",
    ] {
        if !secure.iter().any(|s| s == want) {
            return fail(format!("{want} missing from SecureCustomProperties"));
        }
    }

    let directories = table("Directory")?;
    if !has_row(
        &directories,
        &["INSTALLDIR", "ProgramFiles64Folder", "certmend"],
    ) {
        return fail("INSTALLDIR is not ProgramFiles64Folder\\certmend".into());
    }
    let files = table("File")?;
    for name in PAYLOAD {
        if !files
            .iter()
            .any(|r| r.get(2).map(String::as_str) == Some(name))
        {
            return fail(format!("no {name} in the File table"));
        }
    }
    if files.len() != PAYLOAD.len() {
        return fail(format!("{} files, expected {}", files.len(), PAYLOAD.len()));
    }
    // 256 = msidbComponentAttributes64bit: 64-bit components of an x64 package.
    if let Some(row) = table("Component")?.iter().find(|r| r[3] != "256") {
        return fail(format!("component {} is not 64-bit", row[0]));
    }
    if !has_row(
        &table("Shortcut")?,
        &[
            "AppStartMenuShortcut",
            "ProgramMenuFolder",
            "certmend",
            "App",
            "[#CertmendAppExe]",
        ],
    ) {
        return fail("no Start menu shortcut to certmend-app.exe".into());
    }
    if !has_row(
        &table("Environment")?,
        &["CertmendPath", "=-*PATH", "[~];[INSTALLDIR]", "Cli"],
    ) {
        return fail("no system PATH entry for INSTALLDIR".into());
    }
    let upgrades = table("Upgrade")?;
    if !has_row(
        &upgrades,
        &[
            UPGRADE_CODE,
            "",
            version,
            "",
            "513",
            "",
            "WIX_UPGRADE_DETECTED",
        ],
    ) || !has_row(
        &upgrades,
        &[
            UPGRADE_CODE,
            version,
            "",
            "",
            "2",
            "",
            "WIX_DOWNGRADE_DETECTED",
        ],
    ) {
        return fail("the Upgrade table does not make a major upgrade".into());
    }
    let launch = table("LaunchCondition")?;
    if !launch
        .iter()
        .any(|r| r[0].contains("WINDOWSBUILDNUMBER >= 10240"))
    {
        return fail("no Windows 10 / Server 2016 launch condition".into());
    }
    let actions = table("CustomAction")?;
    if !actions.iter().any(|r| {
        r[0] == "InstallWebView2Runtime" && r[1] == "3170" && r[3].contains(WEBVIEW2_INSTALLER)
    }) {
        return fail("no WebView2 runtime custom action".into());
    }
    let sequence = table("InstallExecuteSequence")?;
    let position = |action: &str| {
        sequence
            .iter()
            .find(|r| r[0] == action)
            .and_then(|r| r.get(2)?.parse::<u32>().ok())
    };
    for (action, after, before) in [
        (
            "RemoveEnvironmentStrings",
            "InstallInitialize",
            "InstallFiles",
        ),
        ("WriteEnvironmentStrings", "InstallFiles", "InstallFinalize"),
        ("ResolveSource", "CostInitialize", "CostFinalize"),
        ("InstallWebView2Runtime", "InstallFiles", "InstallFinalize"),
        (
            "RemoveExistingProducts",
            "InstallValidate",
            "InstallFinalize",
        ),
    ] {
        match (position(after), position(action), position(before)) {
            (Some(a), Some(x), Some(b)) if a < x && x < b => {}
            _ => {
                return fail(format!(
                    "{action} is not sequenced between {after} and {before}"
                ))
            }
        }
    }

    // Both WebView2 steps run only on a first install, and only without the runtime.
    for action in ["ResolveSource", "InstallWebView2Runtime"] {
        let condition = sequence
            .iter()
            .find(|r| r[0] == action)
            .map(|r| r[1].as_str())
            .unwrap_or_default();
        if !(condition.contains("NOT Installed") && condition.contains("NOT WEBVIEW2_VERSION")) {
            return fail(format!("{action} runs under condition {condition:?}"));
        }
    }
    let summary = Command::new("msiinfo")
        .arg("suminfo")
        .arg(msi)
        .output()
        .map_err(|e| format!("msiinfo: cannot start: {e}"))?;
    if !String::from_utf8_lossy(&summary.stdout).contains("Template: x64;1033") {
        return fail("the summary information does not say x64".into());
    }

    let extracted = work.join("msi-extract");
    let mut extract = Command::new("msiextract");
    extract.arg("-C").arg(&extracted).arg(msi);
    extract.stdout(std::process::Stdio::null());
    status(extract, "msiextract (the MSI's files)")?;
    for name in PAYLOAD {
        same_bytes(&extracted.join("certmend").join(name), &stage.join(name))?;
    }
    println!(
        "xtask: MSI checked: {} files into ProgramFiles64Folder\\certmend, Start menu \
         shortcut, PATH entry, major upgrade {UPGRADE_CODE}, Windows 10 condition, WebView2",
        PAYLOAD.len()
    );
    Ok(())
}

fn same_bytes(a: &Path, b: &Path) -> Result {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    if read(a)? == read(b)? {
        Ok(())
    } else {
        Err(format!("{} differs from {}", a.display(), b.display()))
    }
}

/// The portable zip: the payload at the top level (Explorer's "Extract All" makes the
/// folder), written by Info-ZIP's zip.
fn build_zip(stage: &Path, zip: &Path) -> Result {
    let _ = std::fs::remove_file(zip);
    let mut cmd = Command::new("zip");
    // -X: no Unix extra fields (owners, times beyond DOS), nothing Windows would not use.
    cmd.current_dir(stage)
        .args(["-q", "-X", "-9"])
        .arg(zip)
        .args(PAYLOAD);
    status(cmd, "zip (portable package)")
}

/// The listing must be exactly the payload, and every member must read back unchanged.
fn check_zip(zip: &Path, stage: &Path) -> Result {
    let listing = Command::new("unzip")
        .arg("-Z1")
        .arg(zip)
        .output()
        .map_err(|e| format!("unzip: cannot start: {e}"))?;
    let mut names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    let mut wanted: Vec<String> = PAYLOAD.iter().map(|s| s.to_string()).collect();
    wanted.sort();
    if !listing.status.success() || names != wanted {
        return Err(format!(
            "{}: holds {names:?}, expected {wanted:?}",
            zip.display()
        ));
    }
    for name in PAYLOAD {
        let member = Command::new("unzip")
            .arg("-p")
            .arg(zip)
            .arg(name)
            .output()
            .map_err(|e| format!("unzip: cannot start: {e}"))?;
        let staged = std::fs::read(stage.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if !member.status.success() || member.stdout != staged {
            return Err(format!(
                "{}: {name} does not read back as written",
                zip.display()
            ));
        }
    }
    println!("xtask: zip checked: {}", names.join(" "));
    Ok(())
}

/// Adds this run's lines to the report `cargo xtask dist` writes, replacing the Windows
/// lines of an earlier run (both commands run more than once on one machine).
fn append_report(file: &Path, text: &str) -> Result {
    let earlier = std::fs::read_to_string(file).unwrap_or_default();
    let mut report: String = earlier
        .lines()
        .filter(|l| !l.starts_with("Windows "))
        .map(|l| format!("{l}\n"))
        .collect();
    report.push_str(text);
    std::fs::write(file, report).map_err(|e| format!("{}: {e}", file.display()))
}

fn size(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(m) => format!("{:.1} MB", m.len() as f64 / 1_000_000.0),
        Err(e) => format!("unreadable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_strings() {
        let json =
            r#"{ "version": "1.0", "bundle": { "publisher" : "a \"b\" c", "copyright": "x" } }"#;
        assert_eq!(json_string(json, "publisher").unwrap(), r#"a "b" c"#);
        assert_eq!(json_string(json, "copyright").unwrap(), "x");
        assert!(json_string(json, "icon").is_err());
    }

    #[test]
    fn reads_the_workspace_version() {
        let version = workspace_version(&workspace_root()).unwrap();
        assert!(version.split('.').count() >= 3, "{version}");
    }

    #[test]
    fn refuses_dlls_that_are_not_windows_own() {
        let dlls: Vec<String> = [
            "KERNEL32.dll",
            "api-ms-win-core-synch-l1-2-0.dll",
            "libgcc_s_seh-1.dll",
            "libwinpthread-1.dll",
            "WebView2Loader.dll",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            foreign_imports("certmend.exe", &dlls),
            [
                "libgcc_s_seh-1.dll",
                "libwinpthread-1.dll",
                "WebView2Loader.dll"
            ]
        );
        assert_eq!(
            foreign_imports("certmend-app.exe", &dlls),
            ["libgcc_s_seh-1.dll", "libwinpthread-1.dll"]
        );
    }

    #[test]
    fn reads_the_images_of_the_icon() {
        let ico = std::fs::read(workspace_root().join("icons/icon.ico")).unwrap();
        let images = ico_images(&ico).unwrap();
        assert!(!images.is_empty());
        assert!(images.iter().all(|i| !i.is_empty()));
        assert!(ico_images(b"not an icon").is_err());
    }

    /// A version-resource node as windres lays it out: header, key, padding, value,
    /// padding, children.
    fn block(key: &str, text: bool, value: &[u8], children: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0u8; 6];
        for unit in key.encode_utf16().chain([0]) {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out.resize(align4(out.len()), 0);
        out.extend_from_slice(value);
        for child in children {
            out.resize(align4(out.len()), 0);
            out.extend_from_slice(child);
        }
        let value_len = if text { value.len() / 2 } else { value.len() };
        let len = out.len() as u16;
        out[0..2].copy_from_slice(&len.to_le_bytes());
        out[2..4].copy_from_slice(&(value_len as u16).to_le_bytes());
        out[4..6].copy_from_slice(&u16::from(text).to_le_bytes());
        out
    }

    fn utf16z(text: &str) -> Vec<u8> {
        text.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    #[test]
    fn reads_version_resources() {
        let mut fixed = Vec::new();
        for word in [
            0xFEEF_04BDu32,
            0x1_0000,
            0x0001_0002,
            0x0003_0000,
            0x0004_0005,
            0x0006_0000,
        ] {
            fixed.extend_from_slice(&word.to_le_bytes());
        }
        fixed.resize(52, 0);
        let strings = [
            ("ProductName", "certmend"),
            ("FileVersion", "1.2.3"),
            ("X", ""),
        ]
        .map(|(k, v)| block(k, true, &utf16z(v), &[]));
        let table = block("000004b0", true, &[], &strings);
        let info = block(
            "VS_VERSION_INFO",
            false,
            &fixed,
            &[block("StringFileInfo", true, &[], &[table])],
        );
        let parsed = VersionInfo::parse(&info).unwrap();
        assert_eq!(parsed.file_version, [1, 2, 3, 0]);
        assert_eq!(parsed.product_version, [4, 5, 6, 0]);
        assert_eq!(parsed.strings["ProductName"], "certmend");
        assert_eq!(parsed.strings["FileVersion"], "1.2.3");
        assert_eq!(parsed.strings["X"], "");
        assert!(VersionInfo::parse(&info[..20]).is_err());
    }

    #[test]
    fn fixups_keep_wixl_secure_properties_and_name_the_version() {
        let queries = msi_fixups("1.2.3", "A;B").join("\n");
        assert!(queries.contains("'A;B;WINDOWSBUILDNUMBER;WEBVIEW2_VERSION'"));
        assert!(queries.contains("'1.2.3', 513, 'WIX_UPGRADE_DETECTED'"));
        assert!(queries.contains(WEBVIEW2_INSTALLER));
    }
}
