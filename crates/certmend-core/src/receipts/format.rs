//! The receipt line: what repair.cmd appends to `receipts\<COMPUTERNAME>.txt` on the
//! stick, and what certmend reads back. Both sides take it from here: the script writes
//! its `echo` line with [`line`] from [`FIELDS`] and sets `RESULT` to a [`result_word`]
//! ([`crate::script`]); [`parse_line`] reads it.
//!
//! `certmend-receipt=1;computer="PC-01";bundle="00ff";...;result="REPAIRED"`: the
//! [`MAGIC`] (the format's name and [`VERSION`]) is the whole first field; then
//! `key=value` fields, separated by [`SEPARATOR`]. repair.cmd quotes every value
//! ([`QUOTE`]) and removes double quotes from the values the system gives it, so that a
//! `;` or `=` in a computer name or a date cannot add a field. Receipts of older scripts
//! are unquoted and lack the newer fields; they still read. Only [`REQUIRED`] fields
//! must be there.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

pub use crate::agents::status::ReceiptResult;

/// The first field of every receipt line: the format's name and its [`VERSION`].
pub const MAGIC: &str = "certmend-receipt=1";

/// The format's version: the value of the magic field.
pub const VERSION: u32 = 1;

/// Separates the fields of a line.
pub const SEPARATOR: char = ';';

/// Encloses every value repair.cmd writes; a quoted value ends at the next one.
pub const QUOTE: char = '"';

/// The field names.
pub mod field {
    /// `%COMPUTERNAME%`, without double quotes.
    pub const COMPUTER: &str = "computer";
    /// The bundle id (hex): what matches a receipt to its bundle.
    pub const BUNDLE: &str = "bundle";
    pub const RUN: &str = "run";
    pub const DATE: &str = "date";
    pub const TIME: &str = "time";
    /// `repair` or `check`.
    pub const MODE: &str = "mode";
    /// Which IpXfer executable ran (written, not read).
    pub const IPXFER: &str = "ipxfer";
    pub const IPXFER_EXIT: &str = "ipxfer_exit";
    /// SHA-256 of the agent's OfcNTCer.dat before and after IpXfer.
    pub const BEFORE: &str = "before";
    pub const AFTER: &str = "after";
    pub const CHECK: &str = "check";
    pub const THUMBPRINT: &str = "thumbprint";
    pub const SERVICE: &str = "service";
    pub const WAITED: &str = "waited";
    pub const SERVER: &str = "server";
    pub const NAME_CHECK: &str = "name_check";
    pub const GUID_CHECK: &str = "guid_check";
    pub const TAMPERED: &str = "tampered";
    /// One of [`super::result_word`]'s words.
    pub const RESULT: &str = "result";
    /// The export (hex id) whose entry script, the root `repair.cmd`, wrote the line:
    /// only the entry script writes it, and a `NOT_LISTED` line, which names no bundle,
    /// must have it.
    pub const EXPORT: &str = "export";
}

/// Every field after the magic, in the order repair.cmd writes them.
pub const FIELDS: [&str; 19] = [
    field::COMPUTER,
    field::BUNDLE,
    field::RUN,
    field::DATE,
    field::TIME,
    field::MODE,
    field::IPXFER,
    field::IPXFER_EXIT,
    field::BEFORE,
    field::AFTER,
    field::CHECK,
    field::THUMBPRINT,
    field::SERVICE,
    field::WAITED,
    field::SERVER,
    field::NAME_CHECK,
    field::GUID_CHECK,
    field::TAMPERED,
    field::RESULT,
];

/// The fields the entry script (the root `repair.cmd` of an export) writes, in its
/// order: `bundle` is empty in a `NOT_LISTED` line, `tampered` names `repair.cmd` when
/// the bundle's script was not the one certmend wrote.
pub const ENTRY_FIELDS: [&str; 9] = [
    field::COMPUTER,
    field::BUNDLE,
    field::RUN,
    field::DATE,
    field::TIME,
    field::MODE,
    field::EXPORT,
    field::TAMPERED,
    field::RESULT,
];

/// The fields a line cannot do without: a bundle id (hex) and a known result word.
/// Any other field may be absent (it reads as empty, or as nothing found). A
/// `NOT_LISTED` line names no bundle: it must name its export instead ([`field::EXPORT`]).
pub const REQUIRED: [&str; 2] = [field::BUNDLE, field::RESULT];

/// The value of a newer field that means "nothing found" (`check=none`), read as absent.
pub const NONE: &str = "none";

/// What `service=` may say of the agent service after IpXfer.
pub const SERVICE_WORDS: [&str; 3] = ["running", "not_running", "absent"];

/// What `tampered=` may name: the file repair.cmd found changed (the entry script
/// names the bundle's `repair.cmd`), or `work_folder` (the folder to run IpXfer from
/// could not be made safe).
pub const TAMPERED_NAMES: &[&str] = &[
    "repair.cmd",
    "IpXfer.exe",
    "IpXfer_x64.exe",
    "OfcNTCer.dat",
    "work_folder",
];

/// The `result=` word of a receipt (the words [`ReceiptResult`] reads and serialises to).
pub fn result_word(result: ReceiptResult) -> &'static str {
    match result {
        ReceiptResult::Repaired => "REPAIRED",
        ReceiptResult::IpxferFailed => "IPXFER_FAILED",
        ReceiptResult::CertStillDifferent => "CERT_STILL_DIFFERENT",
        ReceiptResult::NotAdmin => "NOT_ADMIN",
        ReceiptResult::AgentNotFound => "AGENT_NOT_FOUND",
        ReceiptResult::BundleBroken => "BUNDLE_BROKEN",
        ReceiptResult::Matches => "MATCHES",
        ReceiptResult::Differs => "DIFFERS",
        ReceiptResult::BundleTampered => "BUNDLE_TAMPERED",
        ReceiptResult::WrongComputer => "WRONG_COMPUTER",
        ReceiptResult::PasswordNeeded => "PASSWORD_NEEDED",
        ReceiptResult::NotListed => "NOT_LISTED",
    }
}

/// A receipt line as repair.cmd writes it: the magic, then `;key="value"` for each
/// field. A value must hold no double quote (the script removes them from what the
/// system gives it): one would end the value early.
pub fn line<K: AsRef<str>, V: AsRef<str>>(fields: impl IntoIterator<Item = (K, V)>) -> String {
    let mut out = MAGIC.to_string();
    for (key, value) in fields {
        let (key, value) = (key.as_ref(), value.as_ref());
        out.push_str(&format!("{SEPARATOR}{key}={QUOTE}{value}{QUOTE}"));
    }
    out
}

/// Which check found the server's certificate on the agent (`check=`; receipts of
/// scripts before it have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The agent's OfcNTCer.dat has the bundled file's SHA-256.
    Sha256,
    /// Other bytes, the same certificate: its SHA-1 thumbprint is the server's (the
    /// agent keeps it as PEM, for instance).
    Thumbprint,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Thumbprint => "thumbprint",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        [Self::Sha256, Self::Thumbprint]
            .into_iter()
            .find(|m| m.as_str() == word)
    }
}

/// With the XG syntax: what the agent's registry value `Server` said (`server=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerCheck {
    /// It names the server given to IpXfer's `-s`.
    Match,
    /// It names another server.
    Differs,
    /// There is no such value.
    Missing,
}

impl ServerCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Differs => "differs",
            Self::Missing => "missing",
        }
    }

    /// Something for the admin to look at on that agent.
    pub fn is_problem(self) -> bool {
        self != Self::Match
    }

    fn from_word(word: &str) -> Option<Self> {
        [Self::Match, Self::Differs, Self::Missing]
            .into_iter()
            .find(|c| c.as_str() == word)
    }
}

/// What repair.cmd found comparing the computer it ran on with the bundle's agent
/// (`name_check=`, `guid_check=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityCheck {
    /// The same computer.
    Match,
    /// Another computer: the script changed nothing (`WRONG_COMPUTER`).
    Differs,
    /// GUID only: the agent's registry has no value `GUID` to compare.
    Absent,
    /// Not compared: the list's name is not a plain computer name, or the list had no
    /// (valid) GUID.
    Skipped,
}

impl IdentityCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Differs => "differs",
            Self::Absent => "absent",
            Self::Skipped => "skipped",
        }
    }

    /// What `name_check=` may say (a name is never absent).
    const NAME: &'static [Self] = &[Self::Match, Self::Differs, Self::Skipped];
    /// What `guid_check=` may say.
    const GUID: &'static [Self] = &[Self::Match, Self::Differs, Self::Absent, Self::Skipped];
}

/// A receipt line, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub computer: String,
    /// Empty in a `NOT_LISTED` line (the computer has no bundle).
    pub bundle_id: String,
    /// The export whose entry script wrote the line (lower-case hex), if it was that.
    pub export_id: Option<String>,
    pub run_id: String,
    pub date: String,
    pub time: String,
    pub mode: String,
    pub ipxfer_exit: String,
    pub before: String,
    pub after: String,
    /// Which check matched; `None` when none did, or the script predates the field.
    pub check: Option<MatchedBy>,
    /// The SHA-1 thumbprint repair.cmd found in the agent's file (upper-case hex).
    pub thumbprint: Option<String>,
    /// The agent service (ntrtscan) after IpXfer: `running`, `not_running` (still not
    /// running after the wait) or `absent` (could not be queried).
    pub service: Option<String>,
    /// Seconds repair.cmd waited for the agent service.
    pub waited_seconds: Option<u32>,
    /// XG syntax only: the agent's registry value `Server` against `-s`.
    pub server: Option<ServerCheck>,
    /// `%COMPUTERNAME%` against the bundle agent's name (scripts before the check: None).
    pub name_check: Option<IdentityCheck>,
    /// The agent's registry value `GUID` against the list's.
    pub guid_check: Option<IdentityCheck>,
    /// With `BUNDLE_TAMPERED`: which file (one of [`TAMPERED_NAMES`]).
    pub tampered: Option<String>,
    pub result: ReceiptResult,
}

/// Why a line is not a receipt certmend can use (or what else is wrong with it): a
/// stable code with the values it names, for the window to translate, and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProblem {
    pub code: &'static str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<&'static str, String>,
    pub reason: String,
}

impl LineProblem {
    pub(crate) fn new(code: &'static str, args: &[(&'static str, &str)], reason: String) -> Self {
        Self {
            code,
            args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            reason,
        }
    }
}

/// Parses one line; `Err` says why it is not a receipt certmend can use. Values may be
/// quoted (`computer="PC-01"`, what repair.cmd writes now) or not (older scripts).
pub fn parse_line(line: &str) -> Result<Receipt, LineProblem> {
    let line = line.trim_end_matches(['\r', '\n', ' ']);
    let fields = Fields(split_fields(after_magic(line)?)?.into_iter().collect());
    // The required fields first: their problems are the ones reported.
    let result = fields.result();
    let export_id = fields.word(field::EXPORT, hex_id)?;
    let bundle_id = if result == Ok(ReceiptResult::NotListed) {
        if export_id.is_none() {
            return Err(LineProblem::new(
                "receipts.no_export_id",
                &[],
                "a NOT_LISTED receipt names no export".into(),
            ));
        }
        String::new()
    } else {
        fields.bundle_id()?
    };
    let result = result?;
    Ok(Receipt {
        computer: fields.text(field::COMPUTER),
        bundle_id,
        export_id,
        run_id: fields.text(field::RUN),
        date: fields.text(field::DATE),
        time: fields.text(field::TIME),
        mode: fields.text(field::MODE),
        ipxfer_exit: fields.text(field::IPXFER_EXIT),
        before: fields.text(field::BEFORE),
        after: fields.text(field::AFTER),
        check: fields.word(field::CHECK, MatchedBy::from_word)?,
        thumbprint: fields.word(field::THUMBPRINT, |v| {
            let hex = v.len() == 40 && v.chars().all(|c| c.is_ascii_hexdigit());
            hex.then(|| v.to_ascii_uppercase())
        })?,
        service: fields.word(field::SERVICE, |v| {
            SERVICE_WORDS.contains(&v).then(|| v.to_string())
        })?,
        waited_seconds: fields.word(field::WAITED, |v| v.parse().ok())?,
        server: fields.word(field::SERVER, ServerCheck::from_word)?,
        name_check: fields.identity(field::NAME_CHECK, IdentityCheck::NAME)?,
        guid_check: fields.identity(field::GUID_CHECK, IdentityCheck::GUID)?,
        tampered: fields.word(field::TAMPERED, |v| {
            TAMPERED_NAMES.contains(&v).then(|| v.to_string())
        })?,
        result,
    })
}

/// A hex id (bundle or export), lower case.
fn hex_id(value: &str) -> Option<String> {
    let hex = !value.is_empty() && value.chars().all(|c| c.is_ascii_hexdigit());
    hex.then(|| value.to_ascii_lowercase())
}

/// The fields after the magic, or why the line does not start with it (the magic is
/// the whole first field).
fn after_magic(line: &str) -> Result<&str, LineProblem> {
    match line.strip_prefix(MAGIC) {
        Some("") => Ok(""),
        Some(rest) if rest.starts_with(SEPARATOR) => Ok(&rest[1..]),
        _ => Err(LineProblem::new(
            "receipts.not_a_receipt",
            &[("magic", MAGIC)],
            format!("does not start with {MAGIC}"),
        )),
    }
}

/// The `key=value` fields after the magic. A value runs to the next `;`, or, when it
/// starts with a double quote, to the next double quote, which must end the field
/// ([`value_and_rest`]). A field named twice is refused: which one would count is
/// exactly what a forged line would play on.
fn split_fields(rest: &str) -> Result<Vec<(&str, &str)>, LineProblem> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    if rest.is_empty() {
        return Ok(fields);
    }
    let mut rest = rest;
    loop {
        let field_end = rest.find(SEPARATOR).unwrap_or(rest.len());
        let Some(equals) = rest[..field_end].find('=') else {
            let field = &rest[..field_end];
            return Err(LineProblem::new(
                "receipts.field_without_equals",
                &[("field", field)],
                format!("field without '=': {field:?}"),
            ));
        };
        let key = &rest[..equals];
        let (value, next) = value_and_rest(key, &rest[equals + 1..])?;
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(LineProblem::new(
                "receipts.duplicate_field",
                &[("field", key)],
                format!("field {key} appears twice"),
            ));
        }
        fields.push((key, value.trim()));
        match next {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

/// The value of field `key` at the start of `after` (what follows its `=`), and the
/// fields after it (`None` at the end of the line).
fn value_and_rest<'a>(
    key: &str,
    after: &'a str,
) -> Result<(&'a str, Option<&'a str>), LineProblem> {
    let Some(quoted) = after.strip_prefix(QUOTE) else {
        return Ok(match after.find(SEPARATOR) {
            Some(end) => (&after[..end], Some(&after[end + 1..])),
            None => (after, None),
        });
    };
    let bad_quoting = || {
        LineProblem::new(
            "receipts.bad_quoting",
            &[("field", key)],
            format!("field {key}: a quoted value must end with a double quote followed by ';' or the end of the line"),
        )
    };
    let close = quoted.find(QUOTE).ok_or_else(bad_quoting)?;
    let tail = &quoted[close + 1..];
    let next = match tail.strip_prefix(SEPARATOR) {
        Some(next) => Some(next),
        None if tail.is_empty() => None,
        None => return Err(bad_quoting()),
    };
    Ok((&quoted[..close], next))
}

/// A line's fields by name.
struct Fields<'a>(HashMap<&'a str, &'a str>);

impl<'a> Fields<'a> {
    /// A field's text; absent reads as empty (older scripts lack the newer fields).
    fn text(&self, key: &str) -> String {
        self.0.get(key).map(|v| v.to_string()).unwrap_or_default()
    }

    fn bundle_id(&self) -> Result<String, LineProblem> {
        let id = self.text(field::BUNDLE);
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LineProblem::new(
                "receipts.no_bundle_id",
                &[],
                "no bundle id".into(),
            ));
        }
        Ok(id.to_lowercase())
    }

    fn result(&self) -> Result<ReceiptResult, LineProblem> {
        let word = self.text(field::RESULT);
        ReceiptResult::parse(&word).ok_or_else(|| {
            LineProblem::new(
                "receipts.unknown_result",
                &[("word", &word)],
                format!("unknown result {word:?}"),
            )
        })
    }

    /// A field newer scripts add, read by `read`: absent, empty or [`NONE`] in older
    /// receipts is `None`; anything else than the script writes is a line certmend
    /// cannot vouch for.
    fn word<T>(
        &self,
        key: &'static str,
        read: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, LineProblem> {
        let value = self.0.get(key).copied();
        match value.filter(|v| !v.is_empty() && *v != NONE) {
            None => Ok(None),
            Some(v) => read(v).map(Some).ok_or_else(|| {
                LineProblem::new(
                    "receipts.bad_field",
                    &[("field", key), ("value", v)],
                    format!("field {key} has an unexpected value {v:?}"),
                )
            }),
        }
    }

    /// `name_check=` or `guid_check=`: one of `allowed`.
    fn identity(
        &self,
        key: &'static str,
        allowed: &[IdentityCheck],
    ) -> Result<Option<IdentityCheck>, LineProblem> {
        self.word(key, |v| allowed.iter().copied().find(|c| c.as_str() == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_is_the_name_and_the_version() {
        assert_eq!(MAGIC, format!("certmend-receipt={VERSION}"));
    }

    /// The words repair.cmd writes are the ones [`ReceiptResult`] reads and serialises.
    #[test]
    fn result_words_are_the_lifecycle_words() {
        for result in ReceiptResult::ALL {
            let word = result_word(result);
            assert_eq!(ReceiptResult::parse(word), Some(result));
            assert_eq!(serde_json::to_value(result).unwrap(), word);
        }
    }

    /// A line written by [`line`] from every field name reads back, value for value;
    /// without a required field it is refused, without any other it still reads.
    #[test]
    fn a_written_line_reads_back() {
        let thumb = "03F5B11491A94614CE0FF6653EB33B77F4834AFC";
        let values = |skip: &'static str| {
            FIELDS.into_iter().filter(move |f| *f != skip).map(|f| {
                let value = match f {
                    field::COMPUTER => "PC;01=x",
                    field::BUNDLE => "00FF",
                    field::CHECK => "thumbprint",
                    field::THUMBPRINT => thumb,
                    field::SERVICE => "not_running",
                    field::WAITED => "60",
                    field::SERVER => "missing",
                    field::NAME_CHECK => "skipped",
                    field::GUID_CHECK => "absent",
                    field::TAMPERED => "",
                    field::RESULT => result_word(ReceiptResult::CertStillDifferent),
                    other => other,
                };
                (f, value)
            })
        };
        let written = line(values(""));
        assert!(written.starts_with("certmend-receipt=1;computer=\"PC;01=x\";bundle="));
        let r = parse_line(&written).unwrap();
        let expected = Receipt {
            computer: "PC;01=x".into(),
            bundle_id: "00ff".into(),
            export_id: None,
            run_id: field::RUN.into(),
            date: field::DATE.into(),
            time: field::TIME.into(),
            mode: field::MODE.into(),
            ipxfer_exit: field::IPXFER_EXIT.into(),
            before: field::BEFORE.into(),
            after: field::AFTER.into(),
            check: Some(MatchedBy::Thumbprint),
            thumbprint: Some(thumb.into()),
            service: Some("not_running".into()),
            waited_seconds: Some(60),
            server: Some(ServerCheck::Missing),
            name_check: Some(IdentityCheck::Skipped),
            guid_check: Some(IdentityCheck::Absent),
            tampered: None,
            result: ReceiptResult::CertStillDifferent,
        };
        assert_eq!(r, expected);
        for f in FIELDS {
            let parsed = parse_line(&line(values(f)));
            assert_eq!(parsed.is_err(), REQUIRED.contains(&f), "without {f}");
        }
    }

    #[test]
    fn parses_what_repair_cmd_writes() {
        let line = "certmend-receipt=1;computer=PC-01;bundle=00ff;run=123;date=2026/11/25;time=10:01:02.03;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before=AA;after=BB;result=REPAIRED\r\n";
        let r = parse_line(line).unwrap();
        assert_eq!(r.computer, "PC-01");
        assert_eq!(r.bundle_id, "00ff");
        assert_eq!(r.result, ReceiptResult::Repaired);
        assert_eq!(r.time, "10:01:02.03");
        let err = parse_line("hello").unwrap_err();
        assert!(err.reason.contains("does not start"));
        assert_eq!(err.code, "receipts.not_a_receipt");
        assert!(parse_line("certmend-receipt=1;bundle=;result=REPAIRED").is_err());
        let err = parse_line("certmend-receipt=1;bundle=ab;result=MAYBE").unwrap_err();
        assert!(err.reason.contains("MAYBE"));
        assert_eq!(err.code, "receipts.unknown_result");
        assert_eq!(err.args["word"], "MAYBE");
        assert!(parse_line("certmend-receipt=1;bundle=ab;junk;result=REPAIRED").is_err());
        // A receipt of a script before the checks were recorded.
        assert_eq!(r.check, None);
        assert_eq!(r.thumbprint, None);
        assert_eq!(r.server, None);
        assert_eq!(r.waited_seconds, None);
    }

    #[test]
    fn parses_which_check_matched_and_the_thumbprint_found() {
        let thumb = "03f5b11491a94614ce0ff6653eb33b77f4834afc";
        let line = format!("certmend-receipt=1;computer=PC-01;bundle=00ff;run=1;date=d;time=t;mode=repair;ipxfer=IpXfer_x64.exe;ipxfer_exit=0;before=AA;after=BB;check=thumbprint;thumbprint={thumb};service=running;waited=3;server=differs;result=REPAIRED\r\n");
        let r = parse_line(&line).unwrap();
        assert_eq!(r.check, Some(MatchedBy::Thumbprint));
        assert_eq!(r.thumbprint.as_deref(), Some(thumb.to_uppercase().as_str()));
        assert_eq!(r.service.as_deref(), Some("running"));
        assert_eq!(r.waited_seconds, Some(3));
        assert_eq!(r.server, Some(ServerCheck::Differs));
        // What a run that matched nothing (or stopped early) writes.
        let r = parse_line("certmend-receipt=1;bundle=ab;check=none;thumbprint=;service=absent;waited=0;server=;result=CERT_STILL_DIFFERENT").unwrap();
        assert_eq!((r.check, r.thumbprint, r.server), (None, None, None));
        assert_eq!(r.service.as_deref(), Some("absent"));
        let r = parse_line("certmend-receipt=1;bundle=ab;check=sha256;result=MATCHES").unwrap();
        assert_eq!(r.check, Some(MatchedBy::Sha256));
        for (bad, field) in [
            ("check=md5", "check"),
            ("thumbprint=ABC", "thumbprint"),
            ("thumbprint=&calc", "thumbprint"),
            ("service=sleeping", "service"),
            ("waited=-1", "waited"),
            ("server=maybe", "server"),
        ] {
            let err = parse_line(&format!(
                "certmend-receipt=1;bundle=ab;{bad};result=REPAIRED"
            ))
            .unwrap_err();
            assert_eq!(err.code, "receipts.bad_field", "{bad}");
            assert_eq!(err.args["field"], field);
        }
    }

    /// What repair.cmd writes now: every value quoted, so `;`, `=` and cmd's
    /// metacharacters in a computer name or a date stay inside their field; the new
    /// words and fields; and lines that play on quoting or repeat a field are refused.
    #[test]
    fn quoted_values_cannot_add_fields() {
        let thumb = "03F5B11491A94614CE0FF6653EB33B77F4834AFC";
        let line = format!("certmend-receipt=1;computer=\"PC-01\";bundle=\"00ff\";run=\"123\";date=\"Wed 11/25/2026\";time=\" 9:01:02.03\";mode=\"repair\";ipxfer=\"IpXfer_x64.exe\";ipxfer_exit=\"0\";before=\"AA\";after=\"BB\";check=\"sha256\";thumbprint=\"{thumb}\";service=\"running\";waited=\"0\";server=\"\";name_check=\"match\";guid_check=\"absent\";tampered=\"\";result=\"REPAIRED\"\r\n");
        let r = parse_line(&line).unwrap();
        assert_eq!(r.computer, "PC-01");
        assert_eq!(r.bundle_id, "00ff");
        assert_eq!(r.date, "Wed 11/25/2026");
        assert_eq!(r.time, "9:01:02.03");
        assert_eq!(r.check, Some(MatchedBy::Sha256));
        assert_eq!(r.thumbprint.as_deref(), Some(thumb));
        assert_eq!(r.server, None);
        assert_eq!(r.name_check, Some(IdentityCheck::Match));
        assert_eq!(r.guid_check, Some(IdentityCheck::Absent));
        assert_eq!(r.tampered, None);
        assert_eq!(r.result, ReceiptResult::Repaired);

        // A computer name (or date) holding the separators stays one value.
        let hostile = "certmend-receipt=1;computer=\"EVIL;result=REPAIRED;bundle=ff&calc\";bundle=\"00aa\";date=\"a=b;c\";result=\"WRONG_COMPUTER\";name_check=\"differs\";guid_check=\"skipped\"";
        let r = parse_line(hostile).unwrap();
        assert_eq!(r.computer, "EVIL;result=REPAIRED;bundle=ff&calc");
        assert_eq!(r.bundle_id, "00aa");
        assert_eq!(r.date, "a=b;c");
        assert_eq!(r.result, ReceiptResult::WrongComputer);
        assert!(r.result.is_failure());
        assert_eq!(r.name_check, Some(IdentityCheck::Differs));
        assert_eq!(r.guid_check, Some(IdentityCheck::Skipped));

        let r = parse_line("certmend-receipt=1;computer=\"PC-01\";bundle=\"ab\";tampered=\"IpXfer_x64.exe\";result=\"BUNDLE_TAMPERED\"").unwrap();
        assert_eq!(r.result, ReceiptResult::BundleTampered);
        assert!(r.result.is_failure());
        assert_eq!(r.tampered.as_deref(), Some("IpXfer_x64.exe"));
        for name in TAMPERED_NAMES {
            let line =
                format!("certmend-receipt=1;bundle=ab;tampered={name};result=BUNDLE_TAMPERED");
            assert_eq!(parse_line(&line).unwrap().tampered.as_deref(), Some(*name));
        }

        // The old unquoted form mixed with the new one still reads.
        let r =
            parse_line("certmend-receipt=1;computer=PC-01;bundle=\"ab\";result=MATCHES").unwrap();
        assert_eq!(
            (r.computer.as_str(), r.result),
            ("PC-01", ReceiptResult::Matches)
        );
    }

    /// Lines that play on quoting or repeat a field are refused.
    #[test]
    fn lines_that_play_on_quoting_are_refused() {
        for (bad, code, field) in [
            // An unquoted second `result` after a forged one: refused, whichever is first.
            (
                "bundle=ab;result=DIFFERS;result=REPAIRED",
                "receipts.duplicate_field",
                "result",
            ),
            (
                "bundle=ab;bundle=cd;result=REPAIRED",
                "receipts.duplicate_field",
                "bundle",
            ),
            // Quotes that do not close, or text after the closing quote.
            (
                "bundle=ab;computer=\"PC-01;result=REPAIRED",
                "receipts.bad_quoting",
                "computer",
            ),
            (
                "bundle=ab;computer=\"PC\"-01;result=REPAIRED",
                "receipts.bad_quoting",
                "computer",
            ),
            (
                "bundle=ab;name_check=maybe;result=REPAIRED",
                "receipts.bad_field",
                "name_check",
            ),
            (
                "bundle=ab;name_check=absent;result=REPAIRED",
                "receipts.bad_field",
                "name_check",
            ),
            (
                "bundle=ab;guid_check=\"other\";result=REPAIRED",
                "receipts.bad_field",
                "guid_check",
            ),
            (
                "bundle=ab;tampered=\"..\\evil.exe\";result=BUNDLE_TAMPERED",
                "receipts.bad_field",
                "tampered",
            ),
        ] {
            let err = parse_line(&format!("certmend-receipt=1;{bad}")).unwrap_err();
            assert_eq!(
                (err.code, err.args["field"].as_str()),
                (code, field),
                "{bad}"
            );
        }
        // The magic is the whole first field.
        assert_eq!(
            parse_line("certmend-receipt=12;bundle=ab;result=REPAIRED")
                .unwrap_err()
                .code,
            "receipts.not_a_receipt"
        );
    }

    /// The entry script's line: a `NOT_LISTED` one names no bundle but its export, and
    /// is refused without it; any other result still needs a bundle.
    #[test]
    fn a_not_listed_line_names_its_export_instead_of_a_bundle() {
        let entry = |bundle: &str, export: &str, result: ReceiptResult| {
            line(ENTRY_FIELDS.map(|f| {
                let value = match f {
                    field::COMPUTER => "PC-STRAY",
                    field::BUNDLE => bundle,
                    field::EXPORT => export,
                    field::MODE => "repair",
                    field::RESULT => result_word(result),
                    _ => "",
                };
                (f, value)
            }))
        };
        let r = parse_line(&entry("", "00AB", ReceiptResult::NotListed)).unwrap();
        assert_eq!(r.result, ReceiptResult::NotListed);
        assert_eq!(r.bundle_id, "");
        assert_eq!(r.export_id.as_deref(), Some("00ab"));
        assert_eq!(r.computer, "PC-STRAY");
        let err = parse_line(&entry("", "", ReceiptResult::NotListed)).unwrap_err();
        assert_eq!(err.code, "receipts.no_export_id");
        assert_eq!(
            parse_line(&entry("", "0x", ReceiptResult::NotListed))
                .unwrap_err()
                .code,
            "receipts.bad_field"
        );
        let err = parse_line(&entry("", "00ab", ReceiptResult::PasswordNeeded)).unwrap_err();
        assert_eq!(err.code, "receipts.no_bundle_id");
        let r = parse_line(&entry("00ff", "00ab", ReceiptResult::BundleTampered)).unwrap();
        assert_eq!(
            (r.bundle_id.as_str(), r.export_id.as_deref()),
            ("00ff", Some("00ab"))
        );
    }
}
