//! Checks on the Windows binaries, read with the `object` crate (gimli-rs): the headers
//! (x86-64, subsystem, ASLR/NX), the import tables (only Windows' own DLLs) and the resource
//! directory (the icon, and the version resource, whose contents `version_info.rs` reads).
//!
//! Why `object` for the imports too, rather than `x86_64-w64-mingw32-objdump -p` as before:
//! it reads the same table from the bytes already in memory, with no child process and no
//! scraping of text meant for people, and it also reads the delay-load import table, which
//! `objdump -p` does not list (WebView2Loader.dll delay-loads ADVAPI32.dll and ole32.dll: a
//! missing DLL there fails at the first call instead of at start, still a failure on the
//! admin's server). The report keeps listing the load-time imports only.

use object::pe;
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile64};
use object::LittleEndian as LE;

use super::version_info::{rd_u16, rd_u32, VersionInfo};
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

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Subsystem {
    Gui,
    Console,
}

/// What the version resource of an .exe must say.
pub(super) struct VersionStrings<'a> {
    pub(super) version: &'a str,
    pub(super) company: &'a str,
    pub(super) copyright: &'a str,
}

/// Every check on one binary, `name` as shipped and `data` its bytes; returns the DLLs its
/// import table names (what Windows loads at start), for the report. `subsystem` is `None`
/// for a DLL (its subsystem field means nothing; WebView2Loader.dll's says console);
/// `resources` is the expected version resource and icons/icon.ico, for the .exe files.
pub(super) fn check_binary(
    name: &str,
    data: &[u8],
    subsystem: Option<Subsystem>,
    resources: Option<(&VersionStrings, &[u8])>,
) -> Result<Vec<String>> {
    let file = PeFile64::parse(data).map_err(|e| format!("not a 64-bit PE image ({e})"))?;
    check_header(&Header::of(&file), subsystem)?;
    let imports = Imports::of(&file)?;
    check_imports(name, &imports)?;
    if let Some((expected, icon)) = resources {
        check_resources(&resources_of(&file)?, expected, icon)?;
    }
    Ok(imports.dlls)
}

/// The header fields checked, apart from the file so that the checks can be tested on any
/// values.
struct Header {
    machine: pe::Machine,
    subsystem: pe::Subsystem,
    dll_characteristics: pe::DllFlags,
}

impl Header {
    fn of(file: &PeFile64) -> Self {
        let nt = file.nt_headers();
        Header {
            machine: nt.file_header().machine.get(LE),
            subsystem: nt.optional_header().subsystem(),
            dll_characteristics: nt.optional_header().dll_characteristics(),
        }
    }
}

/// x86-64, the expected subsystem (a GUI app must not open a console window beside it), and
/// ASLR (64-bit) and NX, which security scanners on Windows Server report when missing.
fn check_header(header: &Header, subsystem: Option<Subsystem>) -> Result {
    if header.machine != pe::IMAGE_FILE_MACHINE_AMD64 {
        return Err(format!(
            "machine {:#06x}, expected x86-64",
            header.machine.0
        ));
    }
    if let Some(subsystem) = subsystem {
        let found = match header.subsystem {
            pe::IMAGE_SUBSYSTEM_WINDOWS_GUI => Subsystem::Gui,
            pe::IMAGE_SUBSYSTEM_WINDOWS_CUI => Subsystem::Console,
            other => return Err(format!("subsystem {}, expected GUI or console", other.0)),
        };
        if found != subsystem {
            return Err(format!("{found:?} subsystem, expected {subsystem:?}"));
        }
    }
    let wanted = pe::IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA
        | pe::IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE
        | pe::IMAGE_DLLCHARACTERISTICS_NX_COMPAT;
    if !header.dll_characteristics.contains(wanted) {
        return Err(format!(
            "DllCharacteristics {:#06x} lacks ASLR/NX ({:#06x})",
            header.dll_characteristics.0, wanted.0
        ));
    }
    Ok(())
}

/// The DLLs a binary imports, by name as written in the file.
struct Imports {
    /// The import table, sorted and without case-insensitive repeats (MinGW's import
    /// libraries name KERNEL32.dll and kernel32.dll in separate descriptors).
    dlls: Vec<String>,
    /// The delay-load import table, likewise.
    delay_loaded: Vec<String>,
}

impl Imports {
    fn of(file: &PeFile64) -> Result<Self> {
        let bad = |e: object::Error| format!("malformed import table ({e})");
        let mut dlls = Vec::new();
        if let Some(table) = file.import_table().map_err(bad)? {
            for descriptor in table.descriptors().map_err(bad)? {
                let name = table.name(descriptor.map_err(bad)?.name.get(LE));
                dlls.push(String::from_utf8_lossy(name.map_err(bad)?).into_owned());
            }
        }
        let mut delay_loaded = Vec::new();
        if let Some(table) = file.delay_load_import_table().map_err(bad)? {
            for descriptor in table.descriptors().map_err(bad)? {
                let name = table.name(descriptor.map_err(bad)?.dll_name_rva.get(LE));
                delay_loaded.push(String::from_utf8_lossy(name.map_err(bad)?).into_owned());
            }
        }
        for list in [&mut dlls, &mut delay_loaded] {
            list.sort_by_key(|d| d.to_ascii_lowercase());
            list.dedup_by_key(|d| d.to_ascii_lowercase());
        }
        Ok(Imports { dlls, delay_loaded })
    }
}

/// Fails on any imported DLL, loaded at start or delay-loaded, that is not Windows' own.
fn check_imports(name: &str, imports: &Imports) -> Result {
    // Every Windows program imports kernel32.dll at least: none found means a misread.
    if imports.dlls.is_empty() {
        return Err("no imports in the import table".into());
    }
    let mut bad = foreign_imports(name, &imports.dlls);
    bad.extend(foreign_imports(name, &imports.delay_loaded));
    if bad.is_empty() {
        return Ok(());
    }
    let hint = if bad.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        d.starts_with("libgcc") || d.starts_with("libwinpthread") || d.starts_with("libstdc++")
    }) {
        " (the MinGW runtime is linked dynamically; it is not on the admin's Windows)"
    } else {
        " (not a Windows system DLL: ship it, link it statically, or add it to \
         SYSTEM_DLLS in xtask/src/dist_windows/pe.rs if it is one)"
    };
    Err(format!("imports {}{hint}", bad.join(", ")))
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

/// One resource: its type ID (`None` for a named type, never one of the standard types
/// checked) and its bytes.
type Resource<'a> = (Option<u16>, &'a [u8]);

/// Every resource of the file. The tree is type → name → language → data entry, and a data
/// entry gives the bytes as an RVA and a size, found by way of the section table.
fn resources_of<'a>(file: &PeFile64<'a>) -> Result<Vec<Resource<'a>>> {
    let bad = |e: object::Error| format!("malformed resource directory ({e})");
    let not_a = |what: &str| format!("malformed resource directory (no {what} where expected)");
    let sections = file.section_table();
    let directory = file
        .data_directories()
        .resource_directory(file.data(), &sections)
        .map_err(|e| format!("resource directory outside the file ({e})"))?
        .ok_or("no resources (.rsrc)")?;
    let mut found = Vec::new();
    for of_type in directory.root().map_err(bad)?.entries {
        let type_id = of_type.name_or_id().id();
        let names = of_type.data(directory).map_err(bad)?;
        for of_name in names.table().ok_or_else(|| not_a("table"))?.entries {
            let languages = of_name.data(directory).map_err(bad)?;
            for leaf in languages.table().ok_or_else(|| not_a("table"))?.entries {
                let entry = leaf.data(directory).map_err(bad)?;
                let entry = entry.data().ok_or_else(|| not_a("data entry"))?;
                let size = entry.size.get(LE) as usize;
                let data = sections
                    .pe_data_at(file.data(), entry.offset_to_data.get(LE))
                    .and_then(|d| d.get(..size))
                    .ok_or_else(|| not_a("resource data in the file"))?;
                found.push((type_id, data));
            }
        }
    }
    Ok(found)
}

/// The icon (every image of icons/icon.ico, and a group naming them) and the version
/// resource Explorer's Properties shows.
fn check_resources(resources: &[Resource], expected: &VersionStrings, ico: &[u8]) -> Result {
    let of_type = |t: u16| {
        resources
            .iter()
            .filter(move |r| r.0 == Some(t))
            .map(|r| r.1)
    };
    let icons: Vec<&[u8]> = of_type(pe::RT_ICON).collect();
    let images = ico_images(ico)?;
    if of_type(pe::RT_GROUP_ICON).count() == 0 {
        return Err("no icon (RT_GROUP_ICON resource)".into());
    }
    if let Some(missing) = images.iter().position(|img| !icons.contains(img)) {
        return Err(format!(
            "the icon differs from icons/icon.ico (image {missing} of {} not embedded)",
            images.len()
        ));
    }

    let version = of_type(pe::RT_VERSION)
        .next()
        .ok_or("no version resource (RT_VERSION)")?;
    let info = VersionInfo::parse(version)?;
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

/// The image blobs of a .ico file, as RT_ICON resources hold them: ICONDIR (reserved 0,
/// type 1, count), then one 16-byte ICONDIRENTRY each, whose last two fields are the
/// image's size and file offset.
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

#[cfg(test)]
mod tests {
    use super::super::version_info::tests::version_resource;
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
        // The messages: the MinGW hint, the generic one, a delay-loaded DLL, none at all.
        let imports = |dlls: &[&str], delay_loaded: &[&str]| Imports {
            dlls: dlls.iter().map(|d| d.to_string()).collect(),
            delay_loaded: delay_loaded.iter().map(|d| d.to_string()).collect(),
        };
        let check = |dlls: &[&str], delay_loaded: &[&str]| {
            check_imports("certmend.exe", &imports(dlls, delay_loaded))
        };
        assert_eq!(check(&["KERNEL32.dll"], &["ole32.dll"]), Ok(()));
        let mingw = check(&["KERNEL32.dll", "libgcc_s_seh-1.dll"], &[]).unwrap_err();
        assert!(
            mingw.contains("imports libgcc_s_seh-1.dll (the MinGW"),
            "{mingw}"
        );
        let other = check(&["KERNEL32.dll"], &["foo.dll"]).unwrap_err();
        assert!(other.contains("imports foo.dll (not a Windows"), "{other}");
        assert!(check(&[], &[]).unwrap_err().contains("no imports"));
    }

    #[test]
    fn header_checks_refuse_other_machines_subsystems_and_flags() {
        let good = || Header {
            machine: pe::IMAGE_FILE_MACHINE_AMD64,
            subsystem: pe::IMAGE_SUBSYSTEM_WINDOWS_CUI,
            dll_characteristics: pe::DllFlags(0x0160),
        };
        let check = |header: Header, subsystem| check_header(&header, subsystem);
        assert_eq!(check(good(), Some(Subsystem::Console)), Ok(()));
        // A DLL's subsystem is not checked.
        assert_eq!(check(good(), None), Ok(()));
        let i386 = Header {
            machine: pe::IMAGE_FILE_MACHINE_I386,
            ..good()
        };
        assert_eq!(
            check(i386, None).unwrap_err(),
            "machine 0x014c, expected x86-64"
        );
        assert_eq!(
            check(good(), Some(Subsystem::Gui)).unwrap_err(),
            "Console subsystem, expected Gui"
        );
        let native = Header {
            subsystem: pe::IMAGE_SUBSYSTEM_NATIVE,
            ..good()
        };
        assert_eq!(
            check(native, Some(Subsystem::Console)).unwrap_err(),
            "subsystem 1, expected GUI or console"
        );
        for missing in [0x0020, 0x0040, 0x0100] {
            let header = Header {
                dll_characteristics: pe::DllFlags(0x0160 & !missing),
                ..good()
            };
            let error = check(header, None).unwrap_err();
            assert!(error.contains("lacks ASLR/NX (0x0160)"), "{error}");
        }
    }

    #[test]
    fn reads_the_images_of_the_icon() {
        let ico = std::fs::read(workspace_root().join("icons/icon.ico")).unwrap();
        let images = ico_images(&ico).unwrap();
        assert!(!images.is_empty());
        assert!(images.iter().all(|i| !i.is_empty()));
        assert!(ico_images(b"not an icon").is_err());
    }

    #[test]
    fn resource_checks_refuse_a_wrong_icon_or_version() {
        let ico = std::fs::read(workspace_root().join("icons/icon.ico")).unwrap();
        let images = ico_images(&ico).unwrap();
        let expected = VersionStrings {
            version: "1.2.3",
            company: "Example Co.",
            copyright: "(c) Example",
        };
        let strings = [
            ("ProductName", "certmend"),
            ("FileVersion", "1.2.3"),
            ("ProductVersion", "1.2.3"),
            ("CompanyName", "Example Co."),
            ("LegalCopyright", "(c) Example"),
            ("FileDescription", "certmend"),
        ];
        let version = version_resource([1, 2, 3, 0], [1, 2, 3, 0], &strings);
        let group = b"group".as_slice();
        let mut good: Vec<Resource> = images.iter().map(|i| (Some(pe::RT_ICON), *i)).collect();
        good.push((Some(pe::RT_GROUP_ICON), group));
        good.push((Some(pe::RT_VERSION), &version));
        let check = |resources: &[Resource]| check_resources(resources, &expected, &ico);
        assert_eq!(check(&good), Ok(()));

        let without =
            |t: u16| -> Vec<Resource> { good.iter().copied().filter(|r| r.0 != Some(t)).collect() };
        assert_eq!(
            check(&without(pe::RT_GROUP_ICON)).unwrap_err(),
            "no icon (RT_GROUP_ICON resource)"
        );
        assert!(check(&without(pe::RT_ICON))
            .unwrap_err()
            .starts_with("the icon differs from icons/icon.ico (image 0 of"));
        assert_eq!(
            check(&without(pe::RT_VERSION)).unwrap_err(),
            "no version resource (RT_VERSION)"
        );
        let mut changed = images[0].to_vec();
        changed[0] ^= 1;
        let mut other_icon = good.clone();
        other_icon[0].1 = &changed;
        assert!(check(&other_icon).unwrap_err().contains("image 0 of"));

        let with_version = |blob: &[u8]| -> Result {
            let mut resources = without(pe::RT_VERSION);
            resources.push((Some(pe::RT_VERSION), blob));
            check(&resources)
        };
        let old = version_resource([1, 2, 2, 0], [1, 2, 3, 0], &strings);
        assert!(with_version(&old)
            .unwrap_err()
            .starts_with("FILEVERSION [1, 2, 2, 0] in the version resource"));
        let mut other_company = strings;
        other_company[3].1 = "Someone Else";
        let blob = version_resource([1, 2, 3, 0], [1, 2, 3, 0], &other_company);
        assert!(with_version(&blob)
            .unwrap_err()
            .starts_with("version resource CompanyName = Some(\"Someone Else\")"));
        let blob = version_resource([1, 2, 3, 0], [1, 2, 3, 0], &strings[..5]);
        assert_eq!(
            with_version(&blob).unwrap_err(),
            "version resource without FileDescription"
        );
        assert!(with_version(&version[..40]).is_err());
    }

    /// Where in `data` the value `field` refers to lies (`field` borrowed from `data` by
    /// `object`): the tests below patch exactly the bytes the checks read.
    fn offset_of<T>(data: &[u8], field: &T) -> usize {
        field as *const T as usize - data.as_ptr() as usize
    }

    fn replace_all(data: &mut [u8], from: &[u8], to: &[u8]) -> usize {
        assert_eq!(from.len(), to.len());
        let mut count = 0;
        let mut at = 0;
        while let Some(found) = data[at..].windows(from.len()).position(|w| w == from) {
            data[at + found..at + found + to.len()].copy_from_slice(to);
            at += found + to.len();
            count += 1;
        }
        count
    }

    /// The binaries `cargo xtask dist-windows` built pass every check, and copies with one
    /// thing broken each fail it with their own message. Skipped, saying so, when they have
    /// not been built (the cross build takes minutes).
    #[test]
    fn the_built_binaries_pass_and_broken_copies_fail() {
        let root = workspace_root();
        let out = root
            .join("target")
            .join(super::super::TARGET)
            .join("release");
        let read = |name: &str| std::fs::read(out.join(name));
        let (Ok(cli), Ok(app), Ok(loader)) = (
            read("certmend.exe"),
            read("certmend-app.exe"),
            read("WebView2Loader.dll"),
        ) else {
            eprintln!(
                "SKIPPED: no Windows build in {}; run `cargo xtask dist-windows` first",
                out.display()
            );
            return;
        };
        let version = super::super::WORKSPACE_VERSION.to_string();
        let (company, copyright) = super::super::publisher_and_copyright(&root).unwrap();
        let expected = VersionStrings {
            version: &version,
            company: &company,
            copyright: &copyright,
        };
        let icon = std::fs::read(root.join("icons/icon.ico")).unwrap();
        let exe = |name: &str, data: &[u8], subsystem| {
            check_binary(name, data, Some(subsystem), Some((&expected, &icon)))
        };
        let cli_imports = exe("certmend.exe", &cli, Subsystem::Console).unwrap();
        // The letter case of a DLL name is whatever the import library had: it differs
        // between builds (kernel32.dll in a clean one, KERNEL32.dll in another).
        assert!(cli_imports
            .iter()
            .any(|d| d.eq_ignore_ascii_case("kernel32.dll")));
        let app_imports = exe("certmend-app.exe", &app, Subsystem::Gui).unwrap();
        assert!(app_imports
            .iter()
            .any(|d| d.eq_ignore_ascii_case("WebView2Loader.dll")));
        assert_eq!(
            check_binary("WebView2Loader.dll", &loader, None, None).unwrap(),
            ["KERNEL32.dll"]
        );
        let loader_imports = Imports::of(&PeFile64::parse(loader.as_slice()).unwrap()).unwrap();
        assert_eq!(loader_imports.delay_loaded, ["ADVAPI32.dll", "ole32.dll"]);

        let fails = |data: &[u8], subsystem, start: &str| {
            let error = exe("certmend.exe", data, subsystem).unwrap_err();
            assert!(error.starts_with(start), "{error:?} should start {start:?}");
        };
        // The app as the CLI: the subsystem check.
        fails(&app, Subsystem::Console, "Gui subsystem, expected Console");
        // Cut short: headers, then the sections the tables point into.
        for len in [0, 64, 0x200, 4096, cli.len() / 2] {
            assert!(exe("certmend.exe", &cli[..len], Subsystem::Console).is_err());
        }
        fails(&cli[..64], Subsystem::Console, "not a 64-bit PE image (");

        let file = PeFile64::parse(cli.as_slice()).unwrap();
        let nt = file.nt_headers();
        let machine = offset_of(&cli, &nt.file_header().machine);
        let optional = nt.optional_header();
        let magic = offset_of(&cli, &optional.magic);
        let subsystem = offset_of(&cli, &optional.subsystem);
        let flags = offset_of(&cli, &optional.dll_characteristics);
        let resources = offset_of(
            &cli,
            file.data_directory(pe::IMAGE_DIRECTORY_ENTRY_RESOURCE)
                .unwrap(),
        );
        let patched = |at: usize, bytes: &[u8]| {
            let mut copy = cli.clone();
            copy[at..at + bytes.len()].copy_from_slice(bytes);
            copy
        };
        fails(
            &patched(magic, &0x10bu16.to_le_bytes()),
            Subsystem::Console,
            "not a 64-bit PE image (",
        );
        fails(
            &patched(machine, &0x014cu16.to_le_bytes()),
            Subsystem::Console,
            "machine 0x014c, expected x86-64",
        );
        fails(
            &patched(subsystem, &2u16.to_le_bytes()),
            Subsystem::Console,
            "Gui subsystem, expected Console",
        );
        let without_nx = optional.dll_characteristics.get(LE).0 & !0x0100;
        fails(
            &patched(flags, &without_nx.to_le_bytes()),
            Subsystem::Console,
            "DllCharacteristics 0x",
        );
        fails(
            &patched(resources, &[0; 8]),
            Subsystem::Console,
            "no resources (.rsrc)",
        );

        // The import table's names: a MinGW runtime DLL where kernel32.dll was.
        let mut mingw = cli.clone();
        assert!(replace_all(&mut mingw, b"KERNEL32.dll\0", b"libgcc_s.dll\0") > 0);
        fails(
            &mingw,
            Subsystem::Console,
            "imports libgcc_s.dll (the MinGW runtime is linked dynamically",
        );
        // The delay-load table: WebView2Loader.dll's ole32.dll renamed.
        let mut delay = loader.clone();
        assert!(replace_all(&mut delay, b"ole32.dll\0", b"oleXX.dll\0") > 0);
        let error = check_binary("WebView2Loader.dll", &delay, None, None).unwrap_err();
        assert!(
            error.starts_with("imports oleXX.dll (not a Windows"),
            "{error}"
        );

        // The resources: one byte of an embedded icon image, then the publisher's name.
        let images = ico_images(&icon).unwrap();
        let image = images.last().unwrap();
        let mut other_icon = cli.clone();
        let at = cli.windows(image.len()).position(|w| w == *image).unwrap();
        other_icon[at + image.len() / 2] ^= 0xff;
        fails(
            &other_icon,
            Subsystem::Console,
            "the icon differs from icons/icon.ico",
        );
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let mut other_copyright = cli.clone();
        let renamed: String = copyright.chars().rev().collect();
        assert!(replace_all(&mut other_copyright, &utf16(&copyright), &utf16(&renamed)) > 0);
        fails(
            &other_copyright,
            Subsystem::Console,
            "version resource LegalCopyright = ",
        );
    }
}
