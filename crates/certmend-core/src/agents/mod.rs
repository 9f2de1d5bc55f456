//! Reading CertificateManager `-l` lists of agents with mismatched certificates.
//!
//! The format is undocumented (see DOMAIN.md): Trend's KB (KA-0004099) names the command
//! but shows no output, and no public sample exists, so its columns, header language
//! and any title or summary line before the header are unknown. It is read
//! defensively: encoding and delimiter are detected, the header row is searched for in
//! the first lines (lines before it are skipped and reported, never taken as agents),
//! columns are found by their header names in English or Japanese, and every line after
//! the header ends up as an agent or as a rejection with its line number and reason.
//! The text is streamed: a 100,000-agent list is never held in memory.

pub mod encoding;
pub mod import;
pub mod records;
pub mod status;

use std::io::{self, Read};
use std::net::IpAddr;

use serde::Serialize;

pub use encoding::ListEncoding;
use records::{detect_delimiter, field_count, Record, RecordSplitter};

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
    /// The computer name; in a list with a GUID column and no name column, the GUID
    /// (without braces, letter case as written): the agent is known by it.
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
    /// Lines with text before the header row (a title, a date, a summary): skipped,
    /// never agents. Empty without a header.
    pub skipped_preamble: Vec<SkippedLine>,
    /// The header has a GUID column and no computer-name column: each agent is named
    /// by its GUID.
    pub named_by_guid: bool,
}

/// A line that was read past, with its number and text (shortened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedLine {
    pub line: u64,
    pub text: String,
}

/// How many lines with text (blank lines not counted) are searched for the header row.
/// A title, a date and a summary fit well within it; a header further down is not
/// looked for, and the list is read as having none.
pub const HEADER_SEARCH_LINES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ListError<E: std::error::Error + 'static> {
    #[error("cannot be read: {0}")]
    Io(#[from] io::Error),
    #[error(
        "the header names no computer-name column (looked for e.g. \"Computer Name\", \"Endpoint\", \
         \"コンピュータ名\") and no GUID column; its columns are: {columns}"
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
    sink: F,
) -> Result<ListShape, ListError<E>>
where
    R: Read,
    E: std::error::Error + 'static,
    F: FnMut(ListItem) -> Result<(), E>,
{
    let mut decoder = encoding.encoding().new_decoder_with_bom_removal();
    let mut bytes = vec![0u8; CHUNK];
    let mut text = String::with_capacity(CHUNK * 3 + 16);
    let mut list = ListReader::new(encoding, sink);
    loop {
        let n = reader.read(&mut bytes)?;
        let last = n == 0;
        decode_chunk(&mut decoder, &bytes[..n], &mut text, last);
        list.feed(&text, last)?;
        if last {
            break;
        }
    }
    list.finish()
}

/// Decodes one chunk read into `text` (cleared first).
fn decode_chunk(
    decoder: &mut encoding_rs::Decoder,
    mut input: &[u8],
    text: &mut String,
    last: bool,
) {
    text.clear();
    // Decoding with replacement cannot fail; detection already proved the bytes are
    // valid in this encoding, so nothing is replaced.
    loop {
        let (result, read, _) = decoder.decode_to_string(input, text, last);
        input = &input[read..];
        if result == encoding_rs::CoderResult::InputEmpty {
            break;
        }
        text.reserve(CHUNK);
    }
}

/// The decoded text on its way to `sink`: held back until the header row is known, then
/// split into records and mapped to agents and rejections as it arrives.
struct ListReader<F> {
    encoding: ListEncoding,
    sink: F,
    /// Text read before the header row is known.
    pending: String,
    search: HeaderSearch,
    skipped_preamble: Vec<SkippedLine>,
    /// Decided by the header line, before the first record may be complete.
    delimiter: char,
    splitter: Option<RecordSplitter>,
    mapper: Option<Mapper>,
    shape: Option<ListShape>,
}

impl<E, F> ListReader<F>
where
    E: std::error::Error + 'static,
    F: FnMut(ListItem) -> Result<(), E>,
{
    fn new(encoding: ListEncoding, sink: F) -> Self {
        Self {
            encoding,
            sink,
            pending: String::new(),
            search: HeaderSearch::new(),
            skipped_preamble: Vec::new(),
            delimiter: ',',
            splitter: None,
            mapper: None,
            shape: None,
        }
    }

    /// Takes the next decoded chunk (`last`: the input has ended).
    fn feed(&mut self, text: &str, last: bool) -> Result<(), ListError<E>> {
        if let Some(splitter) = self.splitter.as_mut() {
            splitter.feed(text);
            let records = splitter.take();
            return self.handle(records);
        }
        self.pending.push_str(text);
        if !self.search.scan(&self.pending, last) {
            return Ok(());
        }
        let start = self.search.start(&self.pending);
        self.delimiter = start.delimiter;
        self.skipped_preamble = start.skipped;
        let mut splitter = RecordSplitter::starting_at(self.delimiter, start.line);
        splitter.feed(&self.pending[start.offset..]);
        self.pending = String::new();
        let records = splitter.take();
        self.splitter = Some(splitter);
        self.handle(records)
    }

    /// Maps records to `sink`; the first one decides the mapper (and is consumed when it
    /// is the header row).
    fn handle(&mut self, records: Vec<Record>) -> Result<(), ListError<E>> {
        for record in records {
            let mapper = match &self.mapper {
                Some(mapper) => mapper,
                None => {
                    let (mapper, shape, header_consumed) =
                        Mapper::from_first(&record, self.encoding, self.delimiter)?;
                    self.shape = Some(shape);
                    let mapper = self.mapper.insert(mapper);
                    if header_consumed {
                        continue;
                    }
                    mapper
                }
            };
            (self.sink)(mapper.map(record, self.delimiter)).map_err(ListError::Sink)?;
        }
        Ok(())
    }

    /// Maps what is left once the input has ended, and says how the list was read.
    fn finish(mut self) -> Result<ListShape, ListError<E>> {
        if let Some(splitter) = self.splitter.take() {
            let records = splitter.finish();
            self.handle(records)?;
        }
        let mut shape = self
            .shape
            .unwrap_or_else(|| ListShape::headerless(self.encoding, self.delimiter));
        if shape.header {
            shape.skipped_preamble = self.skipped_preamble;
        }
        Ok(shape)
    }
}

impl ListShape {
    fn headerless(encoding: ListEncoding, delimiter: char) -> Self {
        ListShape {
            encoding,
            delimiter,
            header: false,
            columns: Vec::new(),
            recognised: Vec::new(),
            skipped_preamble: Vec::new(),
            named_by_guid: false,
        }
    }
}

/// One physical line with text, found while searching for the header.
#[derive(Debug, Clone, Copy)]
struct LineSpan {
    /// 1-based physical line number (CRLF, LF and a lone CR each end a line, as in
    /// [`RecordSplitter`]).
    number: u64,
    start: usize,
    /// Where its text ends (before the line break).
    end: usize,
    /// Where the next line starts.
    next: usize,
}

/// The search for the header row: collects the first [`HEADER_SEARCH_LINES`] lines with
/// text as it arrives. `text` only grows between calls; the search never reads again
/// what an earlier call read (a file of blank lines read in chunks was quadratic).
struct HeaderSearch {
    /// Where the line being looked at starts, and its number.
    line_start: usize,
    line: u64,
    /// Up to where that line was searched for its end.
    scanned: usize,
    /// Lines with text so far.
    lines: Vec<LineSpan>,
    /// Where the searched text ends: after the last line's break, or at the input's end.
    end: usize,
}

/// Where record splitting starts, once the header search is over.
struct Start {
    offset: usize,
    line: u64,
    delimiter: char,
    skipped: Vec<SkippedLine>,
}

impl HeaderSearch {
    fn new() -> Self {
        Self {
            line_start: 0,
            line: 1,
            scanned: 0,
            lines: Vec::new(),
            end: 0,
        }
    }

    /// Reads on in `text`; true once enough lines are known (or the input ended).
    fn scan(&mut self, text: &str, at_end: bool) -> bool {
        while self.lines.len() < HEADER_SEARCH_LINES {
            let Some(i) = text[self.scanned..].find(['\r', '\n']) else {
                if !at_end {
                    self.scanned = text.len();
                    return false;
                }
                if !text[self.line_start..].trim().is_empty() {
                    self.lines.push(LineSpan {
                        number: self.line,
                        start: self.line_start,
                        end: text.len(),
                        next: text.len(),
                    });
                }
                self.end = text.len();
                return true;
            };
            let at = self.scanned + i;
            let next = if text[at..].starts_with("\r\n") {
                at + 2
            } else if text[at..].starts_with('\r') && at + 1 == text.len() && !at_end {
                // A CR as the last char read: an LF may follow in the next chunk.
                self.scanned = at;
                return false;
            } else {
                at + 1
            };
            if !text[self.line_start..at].trim().is_empty() {
                self.lines.push(LineSpan {
                    number: self.line,
                    start: self.line_start,
                    end: at,
                    next,
                });
            }
            self.line += 1;
            self.line_start = next;
            self.scanned = next;
            self.end = next;
        }
        true
    }

    /// Picks the header row among the lines found (see [`choose_header`]): records start
    /// there and every line with text before it is skipped. Without one, records start
    /// at the top as before, the delimiter taken from the first line with text.
    fn start(&self, text: &str) -> Start {
        let window = &text[..self.end];
        let candidates: Vec<Candidate> = self
            .lines
            .iter()
            .map(|span| Candidate::read(window, *span))
            .collect();
        match choose_header(window, &candidates) {
            Some(i) => Start {
                offset: candidates[i].span.start,
                line: candidates[i].span.number,
                delimiter: candidates[i].delimiter,
                skipped: candidates[..i]
                    .iter()
                    .map(|c| SkippedLine {
                        line: c.span.number,
                        text: records::shorten(&window[c.span.start..c.span.end]),
                    })
                    .collect(),
            },
            None => Start {
                offset: 0,
                line: 1,
                delimiter: candidates.first().map_or(',', |c| c.delimiter),
                skipped: Vec::new(),
            },
        }
    }
}

/// A line with text, read as if it were the header row.
struct Candidate {
    span: LineSpan,
    /// Detected from this line alone.
    delimiter: char,
    /// The record starting on this line (it may run over several lines).
    record: Option<Record>,
}

impl Candidate {
    fn read(window: &str, span: LineSpan) -> Self {
        let delimiter = detect_delimiter(&window[span.start..span.end]);
        let mut splitter = RecordSplitter::starting_at(delimiter, span.number);
        // Most records end with their line; a quoted field may carry one further.
        splitter.feed(&window[span.start..span.next]);
        let mut records = splitter.take();
        if records.is_empty() {
            splitter.feed(&window[span.next..]);
            records = splitter.take();
        }
        if records.is_empty() {
            records = splitter.finish();
        }
        Candidate {
            span,
            delimiter,
            record: records.into_iter().next(),
        }
    }

    /// The known columns this record names when it reads as a header row: no reading
    /// error, no IP address among its fields, and a computer-name or GUID column.
    fn header_columns(&self) -> Option<Vec<Option<Column>>> {
        let record = self.record.as_ref()?;
        let columns = header_like(record)?;
        let keyed = columns.contains(&Some(Column::Name)) || columns.contains(&Some(Column::Guid));
        keyed.then_some(columns)
    }
}

/// Which known column each field names, when `record` can be a header row at all: no
/// reading error, and no IP address among its fields (a line holding one is data, even
/// if a name in it reads like a column name: a computer called CLIENT).
fn header_like(record: &Record) -> Option<Vec<Option<Column>>> {
    if record.error.is_some() {
        return None;
    }
    if record
        .fields
        .iter()
        .any(|f| f.trim().parse::<IpAddr>().is_ok())
    {
        return None;
    }
    let columns: Vec<Option<Column>> = record.fields.iter().map(|f| column_for_header(f)).collect();
    columns.iter().any(Option::is_some).then_some(columns)
}

/// The header row among the first lines with text, as an index into `candidates`.
///
/// Undocumented territory (no sample of CertificateManager's output exists), so the
/// rules are chosen to keep headerless lists reading as they always did:
/// - a header row names a computer-name or GUID column, holds no IP address and has at
///   least two fields;
/// - below the first line, it must also name two different known columns, or else
///   differ in field count from every line above it: a line above with as many fields
///   could be an agent of a headerless list in which a value happens to read like a
///   column name ("PC-1,Sales" then "PC-2,Client");
/// - of several, the one naming the most known columns wins, the first on a tie: a
///   title such as "Endpoint,Certificate check,2026/12/04" names one, the header below
///   it several;
/// - a one-field header row counts only on the first line: a one-field line further
///   down cannot be told from an agent named like a column (`HOST`).
fn choose_header(window: &str, candidates: &[Candidate]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (index, known columns)
    for (i, candidate) in candidates.iter().enumerate() {
        let Some(columns) = candidate.header_columns() else {
            continue;
        };
        if columns.len() < 2 {
            continue;
        }
        let mut known = Vec::new();
        for column in columns.iter().flatten() {
            if !known.contains(column) {
                known.push(*column);
            }
        }
        let below_preamble_ok = i == 0
            || known.len() >= 2
            || candidates[..i].iter().all(|above| {
                field_count(
                    &window[above.span.start..above.span.end],
                    candidate.delimiter,
                ) != columns.len()
            });
        if below_preamble_ok && best.is_none_or(|(_, most)| known.len() > most) {
            best = Some((i, known.len()));
        }
    }
    match best {
        Some((i, _)) => Some(i),
        None => candidates
            .first()
            .and_then(Candidate::header_columns)
            .map(|_| 0),
    }
}

/// Turns records into agents, knowing the header.
struct Mapper {
    /// Column of each field position (None = extra), with header mode.
    columns: Vec<Option<Column>>,
    /// Position of the name column (0 without a header; the GUID column when the
    /// header has a GUID column and no name column).
    name_index: usize,
    names: Vec<String>,
    header: bool,
    /// Agents are named by their GUID (no name column).
    by_guid: bool,
}

impl Mapper {
    /// Builds the mapper from the first record; says whether that record was a header.
    fn from_first<E: std::error::Error + 'static>(
        first: &Record,
        encoding: ListEncoding,
        delimiter: char,
    ) -> Result<(Self, ListShape, bool), ListError<E>> {
        if let Some(recognised) = header_like(first) {
            let has_name = recognised.contains(&Some(Column::Name));
            let by_guid = !has_name && recognised.contains(&Some(Column::Guid));
            if !has_name && !by_guid {
                return Err(ListError::NoNameColumn {
                    columns: first.fields.join(", "),
                });
            }
            let key_column = if by_guid { Column::Guid } else { Column::Name };
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
                skipped_preamble: Vec::new(),
                named_by_guid: by_guid,
            };
            let mapper = Mapper {
                name_index: columns
                    .iter()
                    .position(|c| *c == Some(key_column))
                    .unwrap_or(0),
                columns,
                names: shape.columns.clone(),
                header: true,
                by_guid,
            };
            return Ok((mapper, shape, true));
        }
        let shape = ListShape::headerless(encoding, delimiter);
        let mapper = Mapper {
            columns: Vec::new(),
            name_index: 0,
            names: Vec::new(),
            header: false,
            by_guid: false,
        };
        Ok((mapper, shape, false))
    }

    fn map(&self, record: Record, delimiter: char) -> ListItem {
        // The name decides whether the line is taken: checked while the record is whole.
        match self.refusal(&record, delimiter) {
            Some(rejected) => ListItem::Rejected(rejected),
            None => ListItem::Agent(self.agent(record)),
        }
    }

    /// Why `record` cannot be taken as an agent, if it cannot.
    fn refusal(&self, record: &Record, delimiter: char) -> Option<Rejected> {
        let reject = |code, args: &[(&'static str, usize)], reason: String| {
            Some(rejected(record, delimiter, code, args, reason))
        };
        if let Some(error) = &record.error {
            // The record reader's only error.
            return reject("list.unterminated_quote", &[], error.clone());
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
            return reject("list.field_count", &args, reason);
        }
        let name = self.name_of(record);
        if name.is_empty() && self.by_guid {
            return reject("list.no_guid", &[], "no GUID".into());
        }
        if name.is_empty() {
            return reject("list.no_name", &[], "no computer name".into());
        }
        if name.chars().any(char::is_control) {
            return reject(
                "list.control_characters",
                &[],
                "the computer name contains control characters".into(),
            );
        }
        None
    }

    /// The name `record` gives its agent, trimmed.
    fn name_of<'r>(&self, record: &'r Record) -> &'r str {
        let name = record
            .fields
            .get(self.name_index)
            .map(|n| n.trim())
            .unwrap_or("");
        // Named by GUID: braces dropped, so `{ABC}` and `ABC` are one agent (as
        // `guid_key` has it) and the name is the GUID as the table shows it.
        if self.by_guid {
            name.trim_start_matches('{').trim_end_matches('}').trim()
        } else {
            name
        }
    }

    /// The agent of a record [`Mapper::refusal`] let through.
    fn agent(&self, record: Record) -> ListAgent {
        let name = if self.by_guid {
            self.name_of(&record).to_string()
        } else {
            String::new()
        };
        let mut agent = ListAgent {
            line: record.line,
            name,
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
            let column = self.column_at(i, &value, &agent);
            if !value.is_empty() {
                self.place(&mut agent, i, column, value);
            }
        }
        agent
    }

    /// Which column the field at `i` is: the header's, or without one the first field
    /// the name and the first IP address the IP.
    #[inline]
    fn column_at(&self, i: usize, value: &str, agent: &ListAgent) -> Option<Column> {
        if self.header {
            self.columns[i]
        } else if i == 0 {
            Some(Column::Name)
        } else if agent.ip.is_none() && value.parse::<IpAddr>().is_ok() {
            Some(Column::Ip)
        } else {
            None
        }
    }

    /// Puts the (non-empty) field at `i` into its place in `agent`.
    #[inline]
    fn place(&self, agent: &mut ListAgent, i: usize, column: Option<Column>, value: String) {
        let slot = match column {
            Some(Column::Name) => {
                agent.name = value;
                return;
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
                return;
            }
        };
        *slot = Some(value);
    }
}

/// A line that cannot be taken, with the reason's code, its values and its text.
fn rejected(
    record: &Record,
    delimiter: char,
    code: &'static str,
    args: &[(&'static str, usize)],
    reason: String,
) -> Rejected {
    Rejected {
        line: record.line,
        code,
        args: args.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        reason,
        text: record.text(delimiter),
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

    fn skipped(shape: &ListShape) -> Vec<(u64, &str)> {
        shape
            .skipped_preamble
            .iter()
            .map(|s| (s.line, s.text.as_str()))
            .collect()
    }

    fn names(agents: &[ListAgent]) -> Vec<(u64, &str)> {
        agents.iter().map(|a| (a.line, a.name.as_str())).collect()
    }

    #[test]
    fn a_title_and_a_blank_line_before_the_header_are_skipped_and_reported() {
        let text = "Agents with invalid certificate 2026/12/04\r\n\r\nComputer Name,IP Address,GUID\r\nPC-1,10.0.0.1,{A1}\r\nPC-2,10.0.0.2,{A2}\r\n";
        let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8);
        assert!(shape.header);
        assert_eq!(shape.columns, ["Computer Name", "IP Address", "GUID"]);
        assert_eq!(
            skipped(&shape),
            [(1, "Agents with invalid certificate 2026/12/04")]
        );
        assert_eq!(names(&agents), [(4, "PC-1"), (5, "PC-2")]);
        assert!(rejected.is_empty(), "{rejected:?}");
        assert!(!shape.named_by_guid);
    }

    /// The titles hold no tab: the delimiter comes from the header row, not from the
    /// first line (which would have made it a comma and the header one field).
    #[test]
    fn japanese_title_lines_before_a_tab_separated_japanese_header() {
        let text = "\u{FEFF}証明書が無効なエージェント一覧\r\n作成日時: 2026/12/04 10:00\r\nコンピュータ名\tIPアドレス\tドメイン\r\n営業-PC01\t10.1.0.1\t営業部\r\n";
        let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8Bom);
        assert_eq!(shape.delimiter, '\t');
        assert_eq!(
            shape.recognised,
            [Some(Column::Name), Some(Column::Ip), Some(Column::Domain)]
        );
        assert_eq!(
            skipped(&shape),
            [
                (1, "証明書が無効なエージェント一覧"),
                (2, "作成日時: 2026/12/04 10:00")
            ]
        );
        assert_eq!(names(&agents), [(4, "営業-PC01")]);
        assert_eq!(agents[0].domain.as_deref(), Some("営業部"));
        assert!(rejected.is_empty());
    }

    /// A summary line, even one split by the delimiter into as many fields as the
    /// header has, is skipped: the header names two known columns.
    #[test]
    fn a_summary_line_before_the_header_is_skipped() {
        let text = "Total,2\nComputer Name,IP Address\nPC-1,10.0.0.1\nPC-2,10.0.0.2\n";
        let (shape, agents, _) = read(text.as_bytes(), ListEncoding::Utf8);
        assert_eq!(skipped(&shape), [(1, "Total,2")]);
        assert_eq!(names(&agents), [(3, "PC-1"), (4, "PC-2")]);
        let text = "合計: 1 台\nコンピュータ名,最終接続\nPC-1,2026/12/01\n";
        let (shape, agents, _) = read(text.as_bytes(), ListEncoding::Utf8);
        assert_eq!(skipped(&shape), [(1, "合計: 1 台")]);
        assert_eq!(names(&agents), [(3, "PC-1")]);
    }

    /// Titles that read like a header: a column name as a whole field ("Client",
    /// "Endpoint"), or column words inside a longer field. The real header below names
    /// more known columns.
    #[test]
    fn a_title_that_looks_like_a_header_is_not_taken_for_it() {
        for title in [
            "Client",
            "エンドポイント",
            "Endpoint,Certificate check,2026/12/04",
            "Computer Name list: agents with an invalid IP Address certificate",
        ] {
            let text = format!("{title}\nComputer Name,IP Address,Domain\nPC-1,10.0.0.1,CORP\n");
            let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8);
            assert_eq!(skipped(&shape), [(1, title)], "{title}");
            assert_eq!(shape.columns, ["Computer Name", "IP Address", "Domain"]);
            assert_eq!(names(&agents), [(3, "PC-1")], "{title}");
            assert!(rejected.is_empty(), "{title}: {rejected:?}");
        }
    }

    /// Headerless lists read as they always did, even when a value in the first lines
    /// happens to be a column name.
    #[test]
    fn headerless_lists_with_column_words_among_the_values_stay_headerless() {
        for (text, expected) in [
            ("PC-1,Sales\nPC-2,Client\n", vec!["PC-1", "PC-2"]),
            ("PC1\nPC2\nHOST\nPC4\n", vec!["PC1", "PC2", "HOST", "PC4"]),
            ("PC-1,10.0.0.1\nCLIENT,10.0.0.2\n", vec!["PC-1", "CLIENT"]),
        ] {
            let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8);
            assert!(!shape.header, "{text}");
            assert!(shape.skipped_preamble.is_empty(), "{text}");
            assert_eq!(
                agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
                expected
            );
            assert!(rejected.is_empty());
        }
    }

    /// The search covers the first HEADER_SEARCH_LINES lines with text: a header below
    /// them is not looked for, and the list reads as having none (as before).
    #[test]
    fn a_header_below_the_searched_lines_is_not_found() {
        let mut text = String::new();
        for i in 1..=HEADER_SEARCH_LINES {
            text.push_str(&format!("note {i}\n\n"));
        }
        text.push_str("Computer Name,IP Address\nPC-1,10.0.0.1\n");
        let (shape, agents, _) = read(text.as_bytes(), ListEncoding::Utf8);
        assert!(!shape.header);
        assert!(shape.skipped_preamble.is_empty());
        assert_eq!(agents.len(), HEADER_SEARCH_LINES + 2);
        // One line fewer above it: found.
        let text = text.replacen("note 1\n\n", "", 1);
        let (shape, agents, _) = read(text.as_bytes(), ListEncoding::Utf8);
        assert!(shape.header);
        assert_eq!(shape.skipped_preamble.len(), HEADER_SEARCH_LINES - 1);
        assert_eq!(names(&agents), [(2 * HEADER_SEARCH_LINES as u64, "PC-1")]);
    }

    #[test]
    fn a_list_with_a_guid_column_and_no_name_column_names_agents_by_guid() {
        let text = "Agents with invalid certificate\nClient GUID,IP Address\n{6F1C2A9E-0001-4C1D-9A55-000000000001},10.0.0.1\n6f1c2a9e-0002-4c1d-9a55-000000000002,10.0.0.2\n,10.0.0.3\n{},10.0.0.4\n";
        let (shape, agents, rejected) = read(text.as_bytes(), ListEncoding::Utf8);
        assert!(shape.header && shape.named_by_guid);
        assert_eq!(shape.recognised, [Some(Column::Guid), Some(Column::Ip)]);
        assert_eq!(skipped(&shape), [(1, "Agents with invalid certificate")]);
        assert_eq!(
            names(&agents),
            [
                (3, "6F1C2A9E-0001-4C1D-9A55-000000000001"),
                (4, "6f1c2a9e-0002-4c1d-9a55-000000000002")
            ]
        );
        assert_eq!(
            agents[0].guid.as_deref(),
            Some("{6F1C2A9E-0001-4C1D-9A55-000000000001}")
        );
        assert_eq!(agents[0].ip.as_deref(), Some("10.0.0.1"));
        // The same GUID with or without braces, in any case, is one agent.
        let mut other = agents[0].clone();
        other.name = other.name.to_lowercase();
        other.guid = Some(other.name.clone());
        assert_eq!(agents[0].identity(), other.identity());
        assert_eq!(
            rejected
                .iter()
                .map(|r| (r.line, r.code, r.reason.as_str()))
                .collect::<Vec<_>>(),
            [
                (5, "list.no_guid", "no GUID"),
                (6, "list.no_guid", "no GUID")
            ]
        );
        // A name column, when there is one, names the agents.
        let (shape, agents, _) = read(b"GUID,Hostname\nabc,PC-1\n", ListEncoding::Utf8);
        assert!(!shape.named_by_guid);
        assert_eq!(agents[0].name, "PC-1");
        assert_eq!(agents[0].guid.as_deref(), Some("abc"));
    }

    /// The header search waits for whole lines: the same list read one byte at a time,
    /// with CRLF, LF and lone CR line ends, reads the same as at once.
    #[test]
    fn the_header_search_does_not_depend_on_read_sizes() {
        let text = "Report\r\r\nGenerated\rHostname;IP;Note\r\nPC-1;10.0.0.1;\"a\r\nb\"\nPC-2;10.0.0.2;x\r";
        let whole = read(text.as_bytes(), ListEncoding::Utf8);
        assert_eq!(skipped(&whole.0), [(1, "Report"), (3, "Generated")]);
        assert_eq!(whole.0.delimiter, ';');
        assert_eq!(names(&whole.1), [(5, "PC-1"), (7, "PC-2")]);
        struct Trickle<'a>(&'a [u8]);
        impl std::io::Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut agents = Vec::new();
        let shape =
            read_list::<_, Never, _>(Trickle(text.as_bytes()), ListEncoding::Utf8, |item| {
                if let ListItem::Agent(a) = item {
                    agents.push(a);
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(shape, whole.0);
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
