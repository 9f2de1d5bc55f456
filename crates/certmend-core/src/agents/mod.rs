//! Reading CertificateManager `-l` lists of agents with mismatched certificates.
//!
//! The format is undocumented (see DOMAIN.md), so it is read defensively: encoding and
//! delimiter are detected, columns are found by their header names in English or
//! Japanese, and every line ends up as an agent or as a rejection with its line number
//! and reason. The text is streamed: a 100,000-agent list is never held in memory.

pub mod encoding;
pub mod import;
pub mod records;

use std::io::{self, Read};
use std::net::IpAddr;

use serde::Serialize;

pub use encoding::ListEncoding;
use records::{detect_delimiter, Record, RecordSplitter};

/// The columns certmend understands; any other column is kept as an extra field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Name,
    Ip,
    Domain,
    Guid,
    Mac,
    Os,
}

const ALIASES: &[(Column, &[&str])] = &[
    (
        Column::Name,
        &[
            "computername",
            "computer",
            "endpoint",
            "endpointname",
            "hostname",
            "host",
            "agent",
            "agentname",
            "client",
            "clientname",
            "コンピュータ名",
            "コンピューター名",
            "コンピュータ",
            "コンピューター",
            "エンドポイント",
            "エンドポイント名",
            "ホスト名",
            "クライアント名",
            "クライアント",
        ],
    ),
    (
        Column::Ip,
        &["ipaddress", "ip", "ipv4", "ipv4address", "ipアドレス"],
    ),
    (
        Column::Domain,
        &["domain", "domainname", "ドメイン", "ドメイン名"],
    ),
    (Column::Guid, &["guid", "agentguid", "clientguid"]),
    (Column::Mac, &["macaddress", "mac", "macアドレス"]),
    (Column::Os, &["os", "operatingsystem", "os名"]),
];

/// A header name reduced for matching: full-width ASCII made half-width, spaces
/// (including the ideographic space), `_` and `-` removed, lower case.
fn normalise_header(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-' && *c != '\u{FEFF}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which known column a header name stands for.
pub fn column_for_header(name: &str) -> Option<Column> {
    let key = normalise_header(name);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&key.as_str()))
        .map(|(column, _)| *column)
}

/// One agent as a list names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListAgent {
    /// The line the record starts on.
    pub line: u64,
    pub name: String,
    pub ip: Option<String>,
    pub domain: Option<String>,
    pub guid: Option<String>,
    pub mac: Option<String>,
    pub os: Option<String>,
    /// Columns certmend does not know, kept as (header, value).
    pub extra: Vec<(String, String)>,
}

impl ListAgent {
    /// The identity a list names an agent by: its name compared case-insensitively
    /// (as Windows host names are) and its GUID (braces and case ignored).
    pub fn identity(&self) -> (String, String) {
        (name_key(&self.name), guid_key(self.guid.as_deref()))
    }
}

pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

pub fn guid_key(guid: Option<&str>) -> String {
    guid.map(|g| {
        g.trim()
            .trim_start_matches('{')
            .trim_end_matches('}')
            .to_lowercase()
    })
    .unwrap_or_default()
}

/// A line that could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub line: u64,
    /// Stable code of the reason (`list.no_name`, ...), for the window to translate.
    pub code: &'static str,
    /// Values the reason names (`fields`, `columns`), for the translation.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub args: std::collections::BTreeMap<&'static str, String>,
    pub reason: String,
    /// The line's text, shortened.
    pub text: String,
}

pub enum ListItem {
    Agent(ListAgent),
    Rejected(Rejected),
}

/// How the list was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListShape {
    pub encoding: ListEncoding,
    pub delimiter: char,
    /// False when no header was recognised and columns were inferred.
    pub header: bool,
    /// The header's column names as written (empty without a header).
    pub columns: Vec<String>,
    /// Which column each header name was taken as (`null` for extras).
    pub recognised: Vec<Option<Column>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError<E: std::error::Error + 'static> {
    #[error("cannot be read: {0}")]
    Io(#[from] io::Error),
    #[error(
        "the header names no computer-name column (looked for e.g. \"Computer Name\", \"Endpoint\", \
         \"コンピュータ名\"); its columns are: {columns}"
    )]
    NoNameColumn { columns: String },
    #[error(transparent)]
    Sink(E),
}

const CHUNK: usize = 64 * 1024;

/// Reads a list in `encoding`, handing each agent or rejection to `sink` as it is read.
pub fn read_list<R, E, F>(
    mut reader: R,
    encoding: ListEncoding,
    mut sink: F,
) -> Result<ListShape, ListError<E>>
where
    R: Read,
    E: std::error::Error + 'static,
    F: FnMut(ListItem) -> Result<(), E>,
{
    let mut decoder = encoding.encoding().new_decoder_with_bom_removal();
    let mut bytes = vec![0u8; CHUNK];
    let mut text = String::with_capacity(CHUNK * 3 + 16);
    let mut pending = String::new(); // text read before the delimiter is known
    let mut search = HeaderSearch::default();
    // Decided by the header line, before the first record may be complete.
    let mut delimiter = ',';
    let mut splitter: Option<RecordSplitter> = None;
    let mut mapper: Option<Mapper> = None;
    let mut shape: Option<ListShape> = None;

    let mut handle = |records: Vec<Record>,
                      mapper: &mut Option<Mapper>,
                      shape: &mut Option<ListShape>,
                      delimiter: char|
     -> Result<(), ListError<E>> {
        for record in records {
            let m = match mapper {
                Some(m) => m,
                None => {
                    let (m, s, header_consumed) = Mapper::from_first(&record, encoding, delimiter)?;
                    *shape = Some(s);
                    let m = mapper.insert(m);
                    if header_consumed {
                        continue;
                    }
                    m
                }
            };
            sink(m.map(record, delimiter)).map_err(ListError::Sink)?;
        }
        Ok(())
    };

    loop {
        let n = reader.read(&mut bytes)?;
        let last = n == 0;
        text.clear();
        // Decoding with replacement cannot fail; detection already proved the bytes
        // are valid in this encoding, so nothing is replaced.
        let mut input = &bytes[..n];
        loop {
            let (result, read, _) = decoder.decode_to_string(input, &mut text, last);
            input = &input[read..];
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
            text.reserve(CHUNK);
        }
        match splitter.as_mut() {
            Some(s) => {
                s.feed(&text);
                let records = s.take();
                handle(records, &mut mapper, &mut shape, delimiter)?;
            }
            None => {
                pending.push_str(&text);
                if let Some(header) = first_non_blank_line(&pending, &mut search, last) {
                    delimiter = detect_delimiter(header);
                    let mut s = RecordSplitter::new(delimiter);
                    s.feed(&pending);
                    pending = String::new();
                    let records = s.take();
                    splitter = Some(s);
                    handle(records, &mut mapper, &mut shape, delimiter)?;
                }
            }
        }
        if last {
            break;
        }
    }
    if let Some(s) = splitter {
        let records = s.finish();
        handle(records, &mut mapper, &mut shape, delimiter)?;
    }
    Ok(shape.unwrap_or(ListShape {
        encoding,
        delimiter,
        header: false,
        columns: Vec::new(),
        recognised: Vec::new(),
    }))
}

/// How far the search for the header line got in the text read so far.
#[derive(Default)]
struct HeaderSearch {
    /// Where the first line not yet known to be blank starts.
    line_start: usize,
    /// Up to where that line was searched for its end.
    scanned: usize,
}

/// The first line with any non-space text, once it is complete (or the input ended).
/// `text` only grows between calls; `search` keeps each call from reading again what
/// an earlier one read (a file of blank lines read in chunks was quadratic).
fn first_non_blank_line<'t>(
    text: &'t str,
    search: &mut HeaderSearch,
    at_end: bool,
) -> Option<&'t str> {
    loop {
        match text[search.scanned..].find('\n') {
            Some(i) => {
                let end = search.scanned + i;
                let line = text[search.line_start..end].trim_end_matches('\r');
                if !line.trim().is_empty() {
                    return Some(line);
                }
                search.line_start = end + 1;
                search.scanned = end + 1;
            }
            None if at_end => return Some(&text[search.line_start..]),
            None => {
                search.scanned = text.len();
                return None;
            }
        }
    }
}

/// Turns records into agents, knowing the header.
struct Mapper {
    /// Column of each field position (None = extra), with header mode.
    columns: Vec<Option<Column>>,
    /// Position of the name column (0 without a header).
    name_index: usize,
    names: Vec<String>,
    header: bool,
}

impl Mapper {
    /// Builds the mapper from the first record; says whether that record was a header.
    fn from_first<E: std::error::Error + 'static>(
        first: &Record,
        encoding: ListEncoding,
        delimiter: char,
    ) -> Result<(Self, ListShape, bool), ListError<E>> {
        let recognised: Vec<Option<Column>> =
            first.fields.iter().map(|f| column_for_header(f)).collect();
        // A line holding an IP address is data, even if a name in it reads like a
        // column name (a computer called CLIENT).
        let holds_ip = first
            .fields
            .iter()
            .any(|f| f.trim().parse::<IpAddr>().is_ok());
        let any_known = !holds_ip && recognised.iter().any(Option::is_some);
        let has_name = recognised.contains(&Some(Column::Name));
        if first.error.is_none() && any_known {
            if !has_name {
                return Err(ListError::NoNameColumn {
                    columns: first.fields.join(", "),
                });
            }
            // A column name used twice: the first occurrence counts, later ones are extras.
            let mut seen = Vec::new();
            let columns: Vec<Option<Column>> = recognised
                .iter()
                .map(|c| match c {
                    Some(c) if !seen.contains(c) => {
                        seen.push(*c);
                        Some(*c)
                    }
                    _ => None,
                })
                .collect();
            let shape = ListShape {
                encoding,
                delimiter,
                header: true,
                columns: first.fields.iter().map(|f| f.trim().to_string()).collect(),
                recognised: columns.clone(),
            };
            let mapper = Mapper {
                name_index: columns
                    .iter()
                    .position(|c| *c == Some(Column::Name))
                    .unwrap_or(0),
                columns,
                names: shape.columns.clone(),
                header: true,
            };
            return Ok((mapper, shape, true));
        }
        let shape = ListShape {
            encoding,
            delimiter,
            header: false,
            columns: Vec::new(),
            recognised: Vec::new(),
        };
        let mapper = Mapper {
            columns: Vec::new(),
            name_index: 0,
            names: Vec::new(),
            header: false,
        };
        Ok((mapper, shape, false))
    }

    fn map(&self, record: Record, delimiter: char) -> ListItem {
        let reject = |record: &Record,
                      code: &'static str,
                      args: &[(&'static str, usize)],
                      reason: String| {
            ListItem::Rejected(Rejected {
                line: record.line,
                code,
                args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                reason,
                text: record.text(delimiter),
            })
        };
        if let Some(error) = &record.error {
            // The record reader's only error.
            return reject(&record, "list.unterminated_quote", &[], error.clone());
        }
        if self.header && record.fields.len() != self.columns.len() {
            let reason = format!(
                "{} fields where the header has {} (an unquoted delimiter in a value?)",
                record.fields.len(),
                self.columns.len()
            );
            let args = [
                ("fields", record.fields.len()),
                ("columns", self.columns.len()),
            ];
            return reject(&record, "list.field_count", &args, reason);
        }
        // The name decides whether the line is taken: check it while the record is whole.
        let name = record
            .fields
            .get(self.name_index)
            .map(|n| n.trim())
            .unwrap_or("");
        if name.is_empty() {
            return reject(&record, "list.no_name", &[], "no computer name".to_string());
        }
        if name.chars().any(char::is_control) {
            return reject(
                &record,
                "list.control_characters",
                &[],
                "the computer name contains control characters".to_string(),
            );
        }
        let mut agent = ListAgent {
            line: record.line,
            name: String::new(),
            ip: None,
            domain: None,
            guid: None,
            mac: None,
            os: None,
            extra: Vec::new(),
        };
        // Fields move into the agent (no copies: this runs 100,000 times for a big list).
        for (i, mut value) in record.fields.into_iter().enumerate() {
            trim_in_place(&mut value);
            let column = if self.header {
                self.columns[i]
            } else if i == 0 {
                Some(Column::Name)
            } else if agent.ip.is_none() && value.parse::<IpAddr>().is_ok() {
                Some(Column::Ip)
            } else {
                None
            };
            if value.is_empty() {
                continue;
            }
            let slot = match column {
                Some(Column::Name) => {
                    agent.name = value;
                    continue;
                }
                Some(Column::Ip) => &mut agent.ip,
                Some(Column::Domain) => &mut agent.domain,
                Some(Column::Guid) => &mut agent.guid,
                Some(Column::Mac) => &mut agent.mac,
                Some(Column::Os) => &mut agent.os,
                None => {
                    let header = self
                        .names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("column {}", i + 1));
                    agent.extra.push((header, value));
                    continue;
                }
            };
            *slot = Some(value);
        }
        ListItem::Agent(agent)
    }
}

fn trim_in_place(value: &mut String) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    fn read(bytes: &[u8], encoding: ListEncoding) -> (ListShape, Vec<ListAgent>, Vec<Rejected>) {
        let mut agents = Vec::new();
        let mut rejected = Vec::new();
        let shape = read_list::<_, Never, _>(bytes, encoding, |item| {
            match item {
                ListItem::Agent(a) => agents.push(a),
                ListItem::Rejected(r) => rejected.push(r),
            }
            Ok(())
        })
        .unwrap();
        (shape, agents, rejected)
    }

    #[test]
    fn headers_in_both_languages() {
        for (header, expected) in [
            ("Computer Name", Some(Column::Name)),
            ("computer_name", Some(Column::Name)),
            ("ＩＰアドレス", Some(Column::Ip)),
            ("IP Address", Some(Column::Ip)),
            ("コンピューター名", Some(Column::Name)),
            ("エンドポイント 名", Some(Column::Name)),
            ("Client GUID", Some(Column::Guid)),
            ("MACアドレス", Some(Column::Mac)),
            ("Operating System", Some(Column::Os)),
            ("ドメイン名", Some(Column::Domain)),
            ("Last Seen", None),
        ] {
            assert_eq!(column_for_header(header), expected, "{header}");
        }
    }

    #[test]
    fn reads_a_japanese_list_with_extras() {
        let text = "\u{FEFF}コンピュータ名\tIPアドレス\tドメイン\t最終接続\r\nＰＣ-営業-01\t10.0.0.1\t営業部\t2026/11/01\r\n";
        let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8Bom);
        assert!(shape.header);
        assert_eq!(shape.delimiter, '\t');
        assert_eq!(
            shape.recognised,
            vec![
                Some(Column::Name),
                Some(Column::Ip),
                Some(Column::Domain),
                None
            ]
        );
        assert!(rejected.is_empty());
        assert_eq!(agents[0].name, "ＰＣ-営業-01");
        assert_eq!(agents[0].ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(
            agents[0].extra,
            vec![("最終接続".to_string(), "2026/11/01".to_string())]
        );
        assert_eq!(agents[0].line, 2);
    }

    #[test]
    fn without_a_header_the_first_column_is_the_name() {
        let (shape, agents, _) = read(b"PC1,x,10.1.2.3,y\nPC2,,fe80::1\n", ListEncoding::Utf8);
        assert!(!shape.header);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(agents[1].ip.as_deref(), Some("fe80::1"));
        assert_eq!(agents[0].extra.len(), 2);
    }

    #[test]
    fn every_bad_line_is_rejected_with_its_number() {
        let text = "Computer Name,IP Address\nPC1,10.0.0.1\n,10.0.0.2\nPC3,10.0.0.3,extra\n\"PC\u{7}4\",1\n\nPC5,10.0.0.5\n";
        let (_, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8);
        assert_eq!(
            agents.iter().map(|a| a.line).collect::<Vec<_>>(),
            vec![2, 7]
        );
        let lines: Vec<_> = rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(lines[0], (3, "no computer name"));
        assert_eq!(lines[1].0, 4);
        assert!(lines[1].1.contains("3 fields where the header has 2"));
        assert_eq!(lines[2].0, 5);
        assert!(lines[2].1.contains("control"));
        assert_eq!(rejected[0].text, ",10.0.0.2");
        // Codes and values for the window to translate.
        let codes: Vec<_> = rejected.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [
                "list.no_name",
                "list.field_count",
                "list.control_characters"
            ]
        );
        assert_eq!(rejected[1].args["fields"], "3");
        assert_eq!(rejected[1].args["columns"], "2");
    }

    #[test]
    fn a_first_line_with_an_ip_is_data_even_if_it_names_a_column() {
        let (shape, agents, _) = read(b"CLIENT,10.0.0.1\nPC2,10.0.0.2\n", ListEncoding::Utf8);
        assert!(!shape.header);
        assert_eq!(
            agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            vec!["CLIENT", "PC2"]
        );
    }

    #[test]
    fn a_header_without_a_name_column_is_refused() {
        let err = read_list::<_, Never, _>(
            &b"IP Address,Domain\n10.0.0.1,x\n"[..],
            ListEncoding::Utf8,
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no computer-name column"), "{err}");
    }

    #[test]
    fn utf16_both_orders() {
        let text = "Hostname;IP\r\nPC1;10.0.0.1\r\n";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for unit in text.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
            be.extend_from_slice(&unit.to_be_bytes());
        }
        for (bytes, enc) in [(le, ListEncoding::Utf16Le), (be, ListEncoding::Utf16Be)] {
            let (shape, agents, _) = read(&bytes, enc);
            assert_eq!(shape.delimiter, ';');
            assert_eq!(agents[0].name, "PC1");
        }
    }

    /// Blank lines before the header were searched again for every chunk read: 5 MB of
    /// them took 46 s (10 MB: 196 s), so a hostile list could hang an import.
    #[test]
    fn blank_lines_before_the_header_are_read_once() {
        let blank = 4_000_000;
        let mut bytes = "\r\n".repeat(blank).into_bytes();
        bytes.extend_from_slice(b"Computer Name,IP\r\nPC-1,10.0.0.1\r\n");
        let started = std::time::Instant::now();
        let (shape, agents, rejected) = read(&bytes, ListEncoding::Utf8);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert!(shape.header);
        assert!(rejected.is_empty());
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].line, blank as u64 + 2);
    }

    /// Found by the `list` fuzz target: when the first record was not complete in the
    /// chunk that held the header line (a quote running over lines and past a 64 KiB
    /// read), later chunks were split and reported with `,` whatever the header said.
    #[test]
    fn the_delimiter_holds_when_the_first_record_spans_reads() {
        let text = "Computer Name;\"a\nb\";x\nPC-1;IP;y\nPC-2;10.0.0.2;z\n";
        let bytes = text.as_bytes();
        let whole = read(bytes, ListEncoding::Utf8);
        assert_eq!(whole.0.delimiter, ';');
        // One byte per read: the header line is complete long before its record.
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut items = Vec::new();
        let shape = read_list::<_, Never, _>(Trickle(bytes), ListEncoding::Utf8, |item| {
            items.push(match item {
                ListItem::Agent(a) => Ok(a),
                ListItem::Rejected(r) => Err(r),
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(shape, whole.0);
        let agents: Vec<ListAgent> = items.iter().filter_map(|i| i.clone().ok()).collect();
        assert_eq!(agents, whole.1);
    }

    #[test]
    fn identity_ignores_case_and_braces() {
        let a = ListAgent {
            line: 1,
            name: "PC-Sales".into(),
            ip: None,
            domain: None,
            guid: Some("{ABC-1}".into()),
            mac: None,
            os: None,
            extra: vec![],
        };
        let mut b = a.clone();
        b.name = "pc-sales".into();
        b.guid = Some("abc-1".into());
        assert_eq!(a.identity(), b.identity());
    }
}
