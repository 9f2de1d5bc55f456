//! The entry script: the `repair.cmd` at the root of an export, beside the bundle
//! folders, for running one file on every PC (a stick carried around, or a share run
//! by a startup script or a scheduled task).
//!
//! It lists every bundle of the export's server on the target: the bundle's id, its
//! folder, its agent's computer name and GUID (only when plain: [`super::netbios_name`],
//! [`super::normalise_guid`], the bundle script's own rules) and the SHA-256 of the
//! bundle's `repair.cmd` as certmend wrote it. Run on a PC it picks the first bundle
//! whose agent is this computer: the name must equal `%COMPUTERNAME%` when the bundle
//! has one, the GUID the registry value `GUID` when both have one, and at least one
//! of them must have been compared. The registry's GUID is read once, stripped of double
//! quotes and kept only when it is a GUID's hex digits and dashes, so it never reaches
//! the script as code. The bundle's `repair.cmd` is hashed (certutil, as the bundle
//! script hashes IpXfer) and run only when it has the recorded SHA-256 (`/quiet` or
//! `/check` passed on); otherwise nothing runs and the receipt says `BUNDLE_TAMPERED`
//! with `tampered="repair.cmd"` (exit 7). The bundle script then does its own checks,
//! identity included. A PC no bundle is for changes nothing and writes a `NOT_LISTED`
//! receipt naming the export (exit 11), once per export in `/quiet` (remembered in
//! HKLM like the bundle script's final receipts).
//!
//! The bundle's script is started in place (it finds its files by `%~dp0`), so what
//! stays possible is what the bundle script's own notes say: a `.cmd` file on a writable
//! share can be changed between the check and the run; keep the share writable only by
//! administrators (DEPLOY.txt says how) and check it with `certmend bundle verify`.
//! Folder names are written as certmend made them ([`crate::bundle::names`]: nothing
//! cmd.exe expands or splits); a name the script's encoding cannot hold (a Japanese name
//! in an English, ASCII script) is left out of the list and reported.

use zeroize::Zeroizing;

use super::{
    echo, escape_set_value, hash_subroutine, normalise_guid, Script, ScriptError, ScriptLanguage,
    AGENT_KEY, DONE_KEY, LOCAL_LOG, REG,
};
use crate::receipts::format::{self as receipt, field, ReceiptResult};

/// A bundle the entry script can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryBundle {
    /// Hex.
    pub bundle_id: String,
    /// The bundle's folder name at the root.
    pub folder: String,
    pub agent_name: String,
    pub agent_guid: Option<String>,
    /// SHA-256 of the bundle's `repair.cmd` as certmend wrote it (64 hex digits).
    pub script_sha256: String,
}

#[derive(Debug, Clone)]
pub struct EntryOptions {
    /// Hex; names the export in `NOT_LISTED` receipts.
    pub export_id: String,
    pub language: ScriptLanguage,
    pub bundles: Vec<EntryBundle>,
}

/// The entry script's bytes, and the bundles it could not list.
#[derive(Debug, Clone)]
pub struct RenderedEntry {
    pub script: Vec<u8>,
    /// Bundle ids left out: their folder name cannot be written in the script's
    /// encoding, or their agent has neither a plain computer name nor a GUID.
    pub unlisted: Vec<String>,
}

struct EntryMessages {
    not_listed: &'static str,
    tampered: &'static str,
    receipt: &'static str,
    running: &'static str,
}

const EN: EntryMessages = EntryMessages {
    not_listed: "NOT LISTED: this export holds no repair bundle for this computer. Nothing was changed.",
    tampered: "STOPPED: this computer's repair.cmd is not the one certmend wrote (its SHA-256 differs). Nothing was run and nothing was changed. Check the export with certmend bundle verify.",
    receipt: "A receipt was written to the receipts folder of this export.",
    running: "Running this computer's repair bundle:",
};

const JA: EntryMessages = EntryMessages {
    not_listed: "対象外: このエクスポートにはこのコンピューター用の修復バンドルがありません。何も変更していません。",
    tampered: "中止: このコンピューター用の repair.cmd は certmend が書いたものではありません (SHA-256 が異なる)。何も実行せず、何も変更していません。certmend bundle verify で確認してください。",
    receipt: "このエクスポートの receipts フォルダに受領記録を書きました。",
    running: "このコンピューターの修復バンドルを実行します:",
};

/// Builds the entry script: CRLF, ASCII (English) or CP932 (Japanese).
pub fn render(o: &EntryOptions) -> Result<RenderedEntry, ScriptError> {
    let is_hex = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_hexdigit());
    if !is_hex(&o.export_id) {
        return Err(ScriptError::Internal("the export id must be hex".into()));
    }
    let m = match o.language {
        ScriptLanguage::En => &EN,
        ScriptLanguage::Ja => &JA,
    };
    let mut s = Script(Zeroizing::new(String::with_capacity(8 * 1024)));
    header(&mut s, o);
    main_flow(&mut s, m);
    s.line("rem ---- the bundles of this export ----");
    s.line(":find_bundle");
    s.line("set \"B_FOUND=\"");
    let mut unlisted = Vec::new();
    for b in &o.bundles {
        match bundle_lines(b, o.language)? {
            Some(lines) => lines.iter().for_each(|l| s.line(l)),
            None => unlisted.push(b.bundle_id.clone()),
        }
    }
    s.line("goto :eof");
    s.line("");
    subroutines(&mut s);
    let text = &s.0;
    let script = match o.language {
        ScriptLanguage::En if text.is_ascii() => text.as_bytes().to_vec(),
        ScriptLanguage::En => return Err(ScriptError::Internal("non-ASCII entry script".into())),
        ScriptLanguage::Ja => {
            let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
            if unmappable {
                return Err(ScriptError::Internal("entry script not CP932".into()));
            }
            bytes.into_owned()
        }
    };
    Ok(RenderedEntry { script, unlisted })
}

/// The lines that set one bundle's values and ask whether it is this computer's, or
/// None when it cannot be listed.
fn bundle_lines(
    b: &EntryBundle,
    language: ScriptLanguage,
) -> Result<Option<Vec<String>>, ScriptError> {
    let is_hex = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_hexdigit());
    if !is_hex(&b.bundle_id) || b.script_sha256.len() != 64 || !is_hex(&b.script_sha256) {
        return Err(ScriptError::Internal("bundle ids must be hex".into()));
    }
    let name = super::agent_computer_name_of(&b.agent_name, b.agent_guid.as_deref());
    let guid = b.agent_guid.as_deref().and_then(normalise_guid);
    let encodable = match language {
        ScriptLanguage::En => b.folder.is_ascii(),
        ScriptLanguage::Ja => !encoding_rs::SHIFT_JIS.encode(&b.folder).2,
    };
    let Ok(folder) = escape_set_value(&b.folder) else {
        return Ok(None);
    };
    let plain = !folder.is_empty() && !folder.contains(['%', '\\', '/']);
    if !encodable || !plain || (name.is_none() && guid.is_none()) {
        return Ok(None);
    }
    Ok(Some(vec![
        format!("set \"B_ID={}\"", b.bundle_id.to_ascii_lowercase()),
        format!("set \"B_DIR={folder}\""),
        format!("set \"B_NAME={}\"", name.unwrap_or_default()),
        format!("set \"B_GUID={}\"", guid.unwrap_or_default()),
        format!("set \"B_SHA={}\"", b.script_sha256.to_ascii_uppercase()),
        "call :consider".to_string(),
        "if defined B_FOUND goto :eof".to_string(),
    ]))
}

/// The header and the variables, set before anything runs.
fn header(s: &mut Script, o: &EntryOptions) {
    s.line("@echo off");
    s.line("rem certmend entry script. Generated by certmend; do not edit.");
    s.line("rem   repair.cmd          run this computer's repair bundle (as administrator)");
    s.line("rem   repair.cmd /check   only compare this agent's certificate; changes nothing");
    s.line("rem   repair.cmd /quiet   unattended (startup script, scheduled task): asks nothing");
    s.line("setlocal EnableExtensions DisableDelayedExpansion");
    s.line(&format!(
        "set \"EXPORT_ID={}\"",
        o.export_id.to_ascii_lowercase()
    ));
    s.line("set \"ROOT=%~dp0\"");
    s.line("set \"RECEIPTS=%~dp0receipts\"");
    s.line(&format!("set \"LOG={LOCAL_LOG}\""));
    s.line("rem Never the export as the current folder: it would be searched for programs.");
    s.line("cd /d \"%SystemRoot%\\System32\"");
    s.line("set \"RUN_ID=%RANDOM%%RANDOM%%RANDOM%\"");
    s.line("set \"MODE=repair\"");
    s.line("set \"ARG=\"");
    s.line("set \"QUIET=\"");
    s.line("if /i \"%~1\"==\"/check\" set \"MODE=check\"");
    s.line("if /i \"%~1\"==\"/check\" set \"ARG=/check\"");
    s.line("if /i \"%~1\"==\"/quiet\" set \"ARG=/quiet\"");
    s.line("if /i \"%~1\"==\"/quiet\" set \"QUIET=1\"");
    s.line("set \"BUNDLE_ID=\"");
    s.line("set \"TAMPERED=\"");
    s.line("set \"RESULT=\"");
    s.line("set \"DONE=\"");
    s.line("rem This computer's name without double quotes: only ever expanded inside quotes.");
    s.line("set \"R_COMPUTER=\"");
    s.line("if defined COMPUTERNAME set \"R_COMPUTER=%COMPUTERNAME:\"=%\"");
    s.line("");
}

/// Find this computer's bundle, check its script, run it; or say it is not listed.
fn main_flow(s: &mut Script, m: &EntryMessages) {
    s.line("call :read_guid");
    s.line("call :find_bundle");
    s.line("if not defined B_FOUND goto not_listed");
    s.line("set \"BUNDLE_ID=%B_ID%\"");
    s.line("rem The bundle's script must be the one certmend wrote before anything runs.");
    s.line("call :hash \"%ROOT%%B_DIR%\\repair.cmd\"");
    s.line("if not defined HASH goto tampered");
    s.line("if /i not \"%HASH%\"==\"%B_SHA%\" goto tampered");
    s.line(&format!("echo {} %B_DIR%", super::echo_text(m.running)));
    s.line("rem Started in place (it finds its files by %~dp0), not with call, which would");
    s.line("rem expand the path a second time; its exit code is this script's.");
    s.line("\"%ROOT%%B_DIR%\\repair.cmd\" %ARG%");
    s.line("");
    s.line(":tampered");
    s.line("set \"TAMPERED=repair.cmd\"");
    s.line(&format!(
        "set \"RESULT={}\"",
        receipt::result_word(ReceiptResult::BundleTampered)
    ));
    s.line(&echo(m.tampered));
    s.line("call :receipt");
    s.line(&echo(m.receipt));
    s.line(&format!("exit /b {}", super::exit::BUNDLE_TAMPERED));
    s.line("");
    s.line(":not_listed");
    s.line(&echo(m.not_listed));
    s.line("if defined QUIET call :find_done");
    s.line("if defined DONE goto not_listed_done");
    s.line(&format!(
        "set \"RESULT={}\"",
        receipt::result_word(ReceiptResult::NotListed)
    ));
    s.line("call :receipt");
    s.line(&echo(m.receipt));
    s.line(&format!(
        "if defined QUIET {REG} add \"{DONE_KEY}\" /v \"export-%EXPORT_ID%\" /t REG_SZ /d \"NOT_LISTED\" /f /reg:64 >nul 2>&1"
    ));
    s.line(":not_listed_done");
    s.line(&format!("exit /b {}", super::exit::NOT_LISTED));
    s.line("");
}

/// Subroutines: matching a bundle, the registry's GUID, the hash, the receipt.
fn subroutines(s: &mut Script) {
    s.line("rem B_FOUND=1 when the bundle in B_* is this computer's: its name equals this");
    s.line("rem computer's (when it has one), its GUID the registry's (when both have one), and");
    s.line("rem at least one of the two was compared.");
    s.line(":consider");
    s.line("if not defined B_NAME goto consider_guid");
    s.line("if /i not \"%R_COMPUTER%\"==\"%B_NAME%\" goto :eof");
    s.line("if not defined B_GUID goto consider_found");
    s.line("if not defined REG_GUID goto consider_found");
    s.line("if /i \"%REG_GUID%\"==\"%B_GUID%\" goto consider_found");
    s.line("goto :eof");
    s.line(":consider_guid");
    s.line("if not defined B_GUID goto :eof");
    s.line("if not defined REG_GUID goto :eof");
    s.line("if /i not \"%REG_GUID%\"==\"%B_GUID%\" goto :eof");
    s.line(":consider_found");
    s.line("set \"B_FOUND=1\"");
    s.line("goto :eof");
    s.line("");
    guid_subroutine(s);
    hash_subroutine(s);
    s.line("rem DONE=1 when this PC already reported that this export does not list it.");
    s.line(":find_done");
    s.line("set \"DONE=\"");
    s.line(&format!(
        "{REG} query \"{DONE_KEY}\" /v \"export-%EXPORT_ID%\" /reg:64 >nul 2>&1"
    ));
    s.line("if not errorlevel 1 set \"DONE=1\"");
    s.line("goto :eof");
    s.line("");
    s.line("rem The receipt line, every value quoted, in this export's receipts folder.");
    s.line(":receipt");
    s.line("set \"R_DATE=%DATE:\"=%\"");
    s.line("set \"R_TIME=%TIME:\"=%\"");
    s.line("if not exist \"%RECEIPTS%\\\" mkdir \"%RECEIPTS%\" >nul 2>&1");
    let line = receipt::line(ENTRY_VARIABLES.iter().map(|(k, v)| (*k, format!("%{v}%"))));
    s.line(&format!(">>\"%RECEIPTS%\\%R_COMPUTER%.txt\" echo {line}"));
    s.line(&format!(">>\"%LOG%\" echo {line}"));
    s.line("goto :eof");
}

/// Subroutine: the agent's registry value GUID, kept only when it is a GUID.
fn guid_subroutine(s: &mut Script) {
    s.line("rem REG_GUID: the agent's registry value GUID (either view, braces dropped), kept");
    s.line("rem only when it is 36 characters of hex digits and dashes; the registry's text is");
    s.line("rem stripped of double quotes and checked before anything else uses it.");
    s.line(":read_guid");
    s.line("set \"REG_GUID=\"");
    s.line("for %%V in (64 32) do if not defined REG_GUID call :query_guid %%V");
    s.line("if not defined REG_GUID goto :eof");
    s.line("set \"REG_GUID=%REG_GUID:\"=%\"");
    s.line("if not defined REG_GUID goto :eof");
    s.line("set \"NOT_HEX=%REG_GUID%\"");
    for digit in "0123456789ABCDEF-".chars() {
        s.line(&format!(
            "if defined NOT_HEX set \"NOT_HEX=%NOT_HEX:{digit}=%\""
        ));
    }
    s.line("if defined NOT_HEX set \"REG_GUID=\"");
    s.line("if not defined REG_GUID goto :eof");
    s.line("if not \"%REG_GUID:~36%\"==\"\" set \"REG_GUID=\"");
    s.line("if not defined REG_GUID goto :eof");
    s.line("if \"%REG_GUID:~35,1%\"==\"\" set \"REG_GUID=\"");
    s.line("goto :eof");
    s.line(":query_guid");
    s.line(&format!("for /f \"tokens=1-3 delims={{}} \" %%A in ('{REG} query \"{AGENT_KEY}\" /v \"GUID\" /reg:%1 2^>nul') do if /i \"%%A %%B\"==\"GUID REG_SZ\" set \"REG_GUID=%%C\""));
    s.line("goto :eof");
    s.line("");
}

/// The entry script's receipt fields ([`receipt::ENTRY_FIELDS`]) and their variables.
const ENTRY_VARIABLES: [(&str, &str); receipt::ENTRY_FIELDS.len()] = [
    (field::COMPUTER, "R_COMPUTER"),
    (field::BUNDLE, "BUNDLE_ID"),
    (field::RUN, "RUN_ID"),
    (field::DATE, "R_DATE"),
    (field::TIME, "R_TIME"),
    (field::MODE, "MODE"),
    (field::EXPORT, "EXPORT_ID"),
    (field::TAMPERED, "TAMPERED"),
    (field::RESULT, "RESULT"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(n: u8, name: &str, guid: Option<&str>) -> EntryBundle {
        EntryBundle {
            bundle_id: format!("{n:02x}{}", "a".repeat(30)),
            folder: name.to_string(),
            agent_name: name.to_string(),
            agent_guid: guid.map(str::to_string),
            script_sha256: format!("{n:02X}").repeat(32),
        }
    }

    fn options(bundles: Vec<EntryBundle>) -> EntryOptions {
        EntryOptions {
            export_id: "00ff".into(),
            language: ScriptLanguage::En,
            bundles,
        }
    }

    fn text(o: &EntryOptions) -> String {
        String::from_utf8(render(o).unwrap().script).unwrap()
    }

    #[test]
    fn every_bundle_is_listed_with_its_identity_and_script_hash() {
        let o = options(vec![
            bundle(
                1,
                "PC-ACCT-017",
                Some("{6f1c2a9e-0001-4c1d-9a55-000000000001}"),
            ),
            bundle(2, "pc-dev-024", None),
        ]);
        let t = text(&o);
        assert!(t.is_ascii());
        assert_eq!(t.matches('\n').count(), t.matches("\r\n").count());
        assert!(t.contains(&format!(
            "set \"B_ID={}\"\r\nset \"B_DIR=PC-ACCT-017\"\r\nset \"B_NAME=PC-ACCT-017\"\r\nset \"B_GUID=6F1C2A9E-0001-4C1D-9A55-000000000001\"\r\nset \"B_SHA={}\"\r\ncall :consider\r\nif defined B_FOUND goto :eof\r\n",
            o.bundles[0].bundle_id,
            "01".repeat(32)
        )));
        assert!(t.contains(
            "set \"B_DIR=pc-dev-024\"\r\nset \"B_NAME=PC-DEV-024\"\r\nset \"B_GUID=\"\r\n"
        ));
        assert!(t.contains("set \"EXPORT_ID=00ff\"\r\n"));
        // The script is checked before it runs, and run in place with /quiet passed on.
        let main = &t[t.find("call :find_bundle").unwrap()..t.find(":tampered").unwrap()];
        let check = main
            .find("if /i not \"%HASH%\"==\"%B_SHA%\" goto tampered")
            .unwrap();
        let run = main
            .find("\"%ROOT%%B_DIR%\\repair.cmd\" %ARG%\r\n")
            .unwrap();
        assert!(check < run);
        assert!(!main.contains("call \""));
        // Windows' programs by full path only.
        assert!(!t.contains(" reg.exe") && !t.contains("'reg "));
    }

    #[test]
    fn hostile_names_are_never_written_and_unencodable_folders_are_reported() {
        let mut evil = bundle(3, "x", None);
        evil.agent_name = "PC\" & calc & \"".into();
        evil.folder = "PC_ _calc_".into();
        let mut japanese = bundle(4, "経理-01", Some("6f1c2a9e-0001-4c1d-9a55-000000000004"));
        japanese.folder = "経理-01".into();
        let good = bundle(5, "PC-05", None);
        let o = options(vec![evil.clone(), japanese.clone(), good]);
        let r = render(&o).unwrap();
        let t = String::from_utf8(r.script).unwrap();
        assert!(!t.contains("calc &"));
        // No plain name and no GUID: it cannot be found, so it is reported.
        assert_eq!(
            r.unlisted,
            [evil.bundle_id.clone(), japanese.bundle_id.clone()]
        );
        let mut ja = options(vec![japanese.clone()]);
        ja.language = ScriptLanguage::Ja;
        let r = render(&ja).unwrap();
        assert!(r.unlisted.is_empty());
        let decoded = encoding_rs::SHIFT_JIS.decode(&r.script).0.into_owned();
        assert!(decoded.contains("set \"B_DIR=経理-01\"\r\nset \"B_NAME=\"\r\nset \"B_GUID=6F1C2A9E-0001-4C1D-9A55-000000000004\"\r\n"));
        assert!(render(&EntryOptions {
            export_id: "x".into(),
            ..options(vec![])
        })
        .is_err());
    }

    /// The registry's GUID is compared only once it is a GUID's characters.
    #[test]
    fn the_registry_guid_is_checked_before_use() {
        let t = text(&options(vec![]));
        let read =
            &t[t.find("\r\n:read_guid\r\n").unwrap()..t.find("\r\n:query_guid\r\n").unwrap()];
        let strip = read.find("set \"REG_GUID=%REG_GUID:\"=%\"").unwrap();
        let hex = read.find("if defined NOT_HEX set \"REG_GUID=\"").unwrap();
        assert!(strip < hex);
        assert!(read.contains("if defined NOT_HEX set \"NOT_HEX=%NOT_HEX:-=%\""));
        // Before the check REG_GUID is never expanded but in the stripping line.
        let before: Vec<&str> = read[..hex]
            .lines()
            .filter(|l| l.contains("%REG_GUID"))
            .collect();
        assert_eq!(
            before,
            [
                "set \"REG_GUID=%REG_GUID:\"=%\"",
                "set \"NOT_HEX=%REG_GUID%\""
            ]
        );
    }

    /// The NOT_LISTED line reads back: no bundle, the export's id.
    #[test]
    fn the_not_listed_receipt_reads_back() {
        let t = text(&options(vec![]));
        let echo_line = t
            .lines()
            .find(|l| l.starts_with(">>\"%RECEIPTS%\\%R_COMPUTER%.txt\" echo "))
            .unwrap();
        let template = echo_line.split_once(" echo ").unwrap().1;
        let mut written = template.to_string();
        for (var, value) in [
            ("R_COMPUTER", "PC-STRAY"),
            ("BUNDLE_ID", ""),
            ("RUN_ID", "1"),
            ("R_DATE", "2026/11/25"),
            ("R_TIME", "9:00"),
            ("MODE", "repair"),
            ("EXPORT_ID", "00ff"),
            ("TAMPERED", ""),
            ("RESULT", "NOT_LISTED"),
        ] {
            written = written.replace(&format!("%{var}%"), value);
        }
        let r = crate::receipts::parse_line(&written).unwrap();
        assert_eq!(r.result, ReceiptResult::NotListed);
        assert_eq!(r.export_id.as_deref(), Some("00ff"));
        assert_eq!(r.computer, "PC-STRAY");
    }
}
