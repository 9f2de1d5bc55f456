//! Checks on the Windows binaries: x86-64 PE, subsystem, ASLR/NX, imported DLLs, and the
//! icon and version resources.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::Result;

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

/// Imported DLLs as `objdump -p` lists them; fails on any that is not Windows' own.
pub(super) fn check_imports(file: &Path) -> Result<Vec<String>> {
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
             SYSTEM_DLLS in xtask/src/dist_windows/pe.rs if it is one)"
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
pub(super) enum Subsystem {
    Gui,
    Console,
}

/// x86-64, the expected subsystem (a GUI app must not open a console window beside it), and
/// ASLR (64-bit) and NX, which security scanners on Windows Server report when missing.
pub(super) fn check_header(pe: &Pe, subsystem: Option<Subsystem>) -> Result {
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

pub(super) struct VersionStrings<'a> {
    pub(super) version: &'a str,
    pub(super) company: &'a str,
    pub(super) copyright: &'a str,
}

const RT_ICON: u32 = 3;
const RT_GROUP_ICON: u32 = 14;
const RT_VERSION: u32 = 16;

/// The icon (every image of icons/icon.ico, and a group naming them) and the version
/// resource Explorer's Properties shows.
pub(super) fn check_resources(pe: &Pe, expected: &VersionStrings, ico: &[u8]) -> Result {
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
pub(super) struct Pe<'a> {
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
    pub(super) fn parse(data: &'a [u8]) -> Result<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;

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
}
