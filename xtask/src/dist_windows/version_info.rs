//! The contents of a version resource (RT_VERSION): the one part of the binary checks that is
//! parsed by hand. `object` finds the resource's bytes (see `pe.rs`) but does not read
//! inside them, and the crate that does, pelite, was last released in 2022 (one commit
//! since), so this stays a small reader of exactly what the checks use: VS_FIXEDFILEINFO's
//! two versions and the StringFileInfo strings. Layout: Microsoft's "VS_VERSIONINFO" / "String" docs; a blob
//! is a tree of nodes, each `wLength, wValueLength, wType, szKey (UTF-16, NUL)`, padding to
//! 4 bytes, the value, padding, then the children up to `wLength`.

use std::collections::BTreeMap;

use crate::Result;

/// VS_VERSIONINFO: the fixed numeric versions and the StringFileInfo strings.
pub(super) struct VersionInfo {
    pub(super) file_version: [u16; 4],
    pub(super) product_version: [u16; 4],
    /// Every string of every StringFileInfo table (windres writes one, 000004b0).
    pub(super) strings: BTreeMap<String, String>,
}

impl VersionInfo {
    pub(super) fn parse(blob: &[u8]) -> Result<Self> {
        let root = VersionBlock::parse(blob, 0)?;
        if root.key != "VS_VERSION_INFO" {
            return Err(format!("version resource key {:?}", root.key));
        }
        // VS_FIXEDFILEINFO: signature, struct version, then FileVersionMS/LS and
        // ProductVersionMS/LS, each version as four 16-bit parts, most significant first.
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
            // The other child, VarFileInfo (the translation list), is not checked.
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

/// Little-endian reads that are `None` past the end (also used for the .ico directory).
pub(super) fn rd_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn rd_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
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
pub(super) mod tests {
    use super::*;

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

    /// A whole VS_VERSIONINFO blob: FILEVERSION and PRODUCTVERSION, and one string table.
    pub(in crate::dist_windows) fn version_resource(
        file_version: [u16; 4],
        product_version: [u16; 4],
        strings: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut fixed = Vec::new();
        let ms_ls = |v: [u16; 4]| {
            [
                u32::from(v[0]) << 16 | u32::from(v[1]),
                u32::from(v[2]) << 16 | u32::from(v[3]),
            ]
        };
        for word in [0xFEEF_04BDu32, 0x1_0000]
            .into_iter()
            .chain(ms_ls(file_version))
            .chain(ms_ls(product_version))
        {
            fixed.extend_from_slice(&word.to_le_bytes());
        }
        fixed.resize(52, 0);
        let strings: Vec<Vec<u8>> = strings
            .iter()
            .map(|(k, v)| block(k, true, &utf16z(v), &[]))
            .collect();
        let table = block("000004b0", true, &[], &strings);
        block(
            "VS_VERSION_INFO",
            false,
            &fixed,
            &[block("StringFileInfo", true, &[], &[table])],
        )
    }

    #[test]
    fn reads_version_resources() {
        let info = version_resource(
            [1, 2, 3, 0],
            [4, 5, 6, 0],
            &[
                ("ProductName", "certmend"),
                ("FileVersion", "1.2.3"),
                ("X", ""),
            ],
        );
        let parsed = VersionInfo::parse(&info).unwrap();
        assert_eq!(parsed.file_version, [1, 2, 3, 0]);
        assert_eq!(parsed.product_version, [4, 5, 6, 0]);
        assert_eq!(parsed.strings["ProductName"], "certmend");
        assert_eq!(parsed.strings["FileVersion"], "1.2.3");
        assert_eq!(parsed.strings["X"], "");
        assert!(VersionInfo::parse(&info[..20]).is_err());
        // The wrong root key, and a blob without VS_FIXEDFILEINFO's signature.
        let mut renamed = info.clone();
        renamed[6] = b'W';
        assert!(VersionInfo::parse(&renamed).is_err());
        let mut unsigned = info.clone();
        let signature = 0xFEEF_04BDu32.to_le_bytes();
        let at = info.windows(4).position(|w| w == signature).unwrap();
        unsigned[at] = 0;
        assert!(VersionInfo::parse(&unsigned).is_err());
    }
}
