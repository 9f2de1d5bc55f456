//! Text that Windows console programs print (CertificateManager.exe): bytes in the
//! console's code page — the system's OEM code page unless someone changed it, CP932
//! on a Japanese server — or UTF-8 when the console was switched with `chcp 65001`.

use encoding_rs::Encoding;

/// Decodes a console program's output: UTF-8 when it is valid UTF-8 (plain ASCII
/// included), else the OEM code page `oem_code_page` when encoding_rs knows it, else
/// UTF-8 with replacement characters (nothing is dropped silently).
pub fn decode(bytes: &[u8], oem_code_page: Option<u32>) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    match oem_code_page.and_then(encoding_for) {
        Some(encoding) => encoding.decode_without_bom_handling(bytes).0.into_owned(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The East Asian OEM code pages (the same as their ANSI ones); the Western OEM pages
/// (437, 850, …) have no encoding_rs decoder and fall back to UTF-8 replacement.
fn encoding_for(code_page: u32) -> Option<&'static Encoding> {
    match code_page {
        932 => Some(encoding_rs::SHIFT_JIS),
        936 => Some(encoding_rs::GBK),
        949 => Some(encoding_rs::EUC_KR),
        950 => Some(encoding_rs::BIG5),
        866 => Some(encoding_rs::IBM866),
        65001 => Some(encoding_rs::UTF_8),
        _ => None,
    }
}

/// This system's OEM code page (`HKLM\SYSTEM\CurrentControlSet\Control\Nls\CodePage`,
/// value `OEMCP`, read through the API): what a console program writes by default.
#[cfg(windows)]
pub fn oem_code_page() -> Option<u32> {
    use winreg::enums::{HKEY_LOCAL_MACHINE, KEY_READ};
    let key = winreg::RegKey::predef(HKEY_LOCAL_MACHINE)
        .open_subkey_with_flags(r"SYSTEM\CurrentControlSet\Control\Nls\CodePage", KEY_READ)
        .ok()?;
    let value: String = key.get_value("OEMCP").ok()?;
    value.trim().parse().ok()
}

#[cfg(not(windows))]
pub fn oem_code_page() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_console_output_is_decoded_with_the_oem_code_page() {
        let text = "証明書が見つかりません。";
        let (cp932, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert_eq!(decode(&cp932, Some(932)), text);
        // UTF-8 (a console switched with chcp 65001) reads as UTF-8 whatever the OEM page.
        assert_eq!(decode(text.as_bytes(), Some(932)), text);
        assert_eq!(decode(b"Access is denied.", Some(437)), "Access is denied.");
    }

    #[test]
    fn an_unknown_code_page_keeps_every_byte_visible() {
        let decoded = decode(b"Caf\x82 ok", Some(437));
        assert_eq!(decoded, "Caf\u{FFFD} ok");
        assert_eq!(decode(b"\x82", None), "\u{FFFD}");
    }
}
