//! Splitting decoded list text into records: RFC 4180 quoting (quoted delimiters,
//! doubled quotes, line breaks inside quotes), CRLF or LF, with the physical line each
//! record starts on.
//!
//! Hand-written rather than the `csv` crate because certmend must report every line it
//! cannot take, with its number and why: an unterminated quote is rejected at the line
//! where it opened and reading resumes on the next line, instead of the quote silently
//! swallowing the rest of the file.

/// A quoted field longer than this (bytes) or spanning more line breaks is taken to be
/// an unterminated quote: no real computer name, IP or OS string comes close.
const MAX_QUOTED_BYTES: usize = 64 * 1024;
const MAX_QUOTED_LINES: u64 = 50;
/// How much of a rejected record's raw text is kept for the report.
const RAW_KEEP: usize = 300;

/// One record as it came out of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1-based physical line the record starts on.
    pub line: u64,
    pub fields: Vec<String>,
    /// The record's text as read (shortened), for reports. `None` for a plain line
    /// (no quotes), which is its fields joined by the delimiter: see [`Record::text`].
    pub raw: Option<String>,
    /// Why the record cannot be used, when it cannot.
    pub error: Option<String>,
}

impl Record {
    /// The record's text for a report, shortened.
    pub fn text(&self, delimiter: char) -> String {
        match &self.raw {
            Some(raw) => raw.clone(),
            None => shorten(&self.fields.join(&delimiter.to_string())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just read a quote inside a quoted field: either a doubled quote or the end.
    QuoteInQuoted,
    /// After a closing quote: only a delimiter or line end may follow.
    AfterQuoted,
}

/// A push parser: feed it text in chunks of any size, take records as they complete.
pub struct RecordSplitter {
    delimiter: char,
    state: State,
    fields: Vec<String>,
    field: String,
    raw: String,
    /// Line the current record started on.
    start_line: u64,
    /// Current physical line.
    line: u64,
    /// The previous char was a CR (so a following LF is part of the same line break).
    after_cr: bool,
    quoted_bytes: usize,
    quoted_lines: u64,
    /// The current record had text after a closing quote.
    stray_text: bool,
    /// The current record has any content (so a lone line break is a blank line).
    has_content: bool,
    /// The current record had a quoted field (so it is not blank even if empty).
    had_quote: bool,
    out: Vec<Record>,
}

impl RecordSplitter {
    pub fn new(delimiter: char) -> Self {
        Self::starting_at(delimiter, 1)
    }

    /// A splitter for text that starts on physical line `line` of the file (the header
    /// row, when lines before it were skipped), so records keep the file's line numbers.
    pub fn starting_at(delimiter: char, line: u64) -> Self {
        Self {
            delimiter,
            state: State::FieldStart,
            fields: Vec::new(),
            field: String::new(),
            raw: String::new(),
            start_line: line,
            line,
            after_cr: false,
            quoted_bytes: 0,
            quoted_lines: 0,
            stray_text: false,
            has_content: false,
            had_quote: false,
            out: Vec::new(),
        }
    }

    /// Feeds text; completed records are collected for [`RecordSplitter::take`].
    pub fn feed(&mut self, text: &str) {
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = self.fast_line(rest) {
                rest = after;
                continue;
            }
            // One char through the state machine, then try the fast path again.
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                self.push_char(c);
            }
            rest = chars.as_str();
        }
    }

    /// The common case, a whole line with no quotes and a plain line end, split at once.
    /// Returns the text after the line, or None to go char by char.
    fn fast_line<'t>(&mut self, text: &'t str) -> Option<&'t str> {
        if self.has_content || self.after_cr || self.state != State::FieldStart {
            return None;
        }
        let end = text.find('\n')?;
        let line = text[..end].strip_suffix('\r').unwrap_or(&text[..end]);
        if line.contains(['"', '\r']) {
            return None;
        }
        let rest = &text[end + 1..];
        self.line += 1;
        if line.trim().is_empty() && !line.contains(self.delimiter) {
            // A blank line.
            self.start_line = self.line;
            return Some(rest);
        }
        self.out.push(Record {
            line: self.line - 1,
            fields: line.split(self.delimiter).map(str::to_string).collect(),
            raw: None,
            error: None,
        });
        self.start_line = self.line;
        Some(rest)
    }

    /// Records completed so far.
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.out)
    }

    /// Ends the input: the last record (with no final line break) completes, and a
    /// quote still open is reported.
    pub fn finish(mut self) -> Vec<Record> {
        if matches!(self.state, State::Quoted) {
            self.reject_unterminated();
            // Whatever followed the opening line was re-read by reject_unterminated.
        }
        if matches!(self.state, State::Quoted) {
            // A re-read can itself end inside a quote: keep rejecting until settled.
            return self.finish();
        }
        if self.has_content {
            self.end_record();
        }
        self.out
    }

    fn push_char(&mut self, c: char) {
        let was_cr = std::mem::replace(&mut self.after_cr, false);
        if c == '\n' && was_cr {
            // Second half of CRLF: the line break was already counted (and, inside
            // quotes, already stored as LF). It belongs to the raw text only of a record
            // still open (inside quotes); after a CR that ended a record, an LF kept
            // here would start the next record's raw text, and an unterminated quote
            // there would then be reported twice, every later line number one too high.
            if !self.raw.is_empty() {
                self.keep_raw(c);
            }
            return;
        }
        let line_break = c == '\n' || c == '\r';
        if c == '\r' {
            self.after_cr = true;
        }
        if !self.has_content && !line_break {
            self.start_line = self.line;
        }
        self.keep_raw(c);

        match self.state {
            State::Quoted => {
                if c == '"' {
                    self.state = State::QuoteInQuoted;
                } else {
                    // CR and CRLF inside quotes become LF.
                    self.field.push(if c == '\r' { '\n' } else { c });
                    self.quoted_bytes += c.len_utf8();
                    if line_break {
                        self.line += 1;
                        self.quoted_lines += 1;
                    }
                    if self.quoted_bytes > MAX_QUOTED_BYTES || self.quoted_lines > MAX_QUOTED_LINES
                    {
                        self.reject_unterminated();
                    }
                }
            }
            State::QuoteInQuoted => {
                if c == '"' {
                    self.field.push('"');
                    self.state = State::Quoted;
                } else {
                    self.state = State::AfterQuoted;
                    self.after_field_char(c, line_break);
                }
            }
            State::AfterQuoted => self.after_field_char(c, line_break),
            State::FieldStart => {
                if c == '"' {
                    self.state = State::Quoted;
                    self.has_content = true;
                    self.had_quote = true;
                    self.quoted_bytes = 0;
                    self.quoted_lines = 0;
                } else {
                    self.unquoted_char(c, line_break);
                }
            }
            State::Unquoted => self.unquoted_char(c, line_break),
        }
    }

    fn unquoted_char(&mut self, c: char, line_break: bool) {
        if line_break {
            self.line += 1;
            if self.has_content {
                self.end_record();
            } else {
                self.reset_record();
            }
        } else if c == self.delimiter {
            self.has_content = true;
            self.end_field();
        } else {
            self.has_content = true;
            self.field.push(c);
            self.state = State::Unquoted;
        }
    }

    fn after_field_char(&mut self, c: char, line_break: bool) {
        if line_break {
            self.line += 1;
            self.end_record();
        } else if c == self.delimiter {
            self.end_field();
        } else if self.quoted_lines > 0 {
            // A quoted field ran over a line break and "closed" on the next line's
            // opening quote: the real fault is a quote never closed on the first line.
            // Reject that line and read the following ones afresh.
            self.reject_unterminated();
        } else {
            // `"abc"def`: keep the text, but the record is reported, not guessed at.
            self.stray_text = true;
            self.field.push(c);
        }
    }

    /// The whole record is kept (an unterminated quote re-reads it); reports shorten it.
    fn keep_raw(&mut self, c: char) {
        self.raw.push(c);
    }

    fn end_field(&mut self) {
        self.fields.push(std::mem::take(&mut self.field));
        self.state = State::FieldStart;
    }

    fn end_record(&mut self) {
        self.end_field();
        // Only spaces on the line: a blank line, as on the fast path.
        if !self.had_quote && self.fields.len() == 1 && self.fields[0].trim().is_empty() {
            self.reset_record();
            return;
        }
        let error = self.stray_text.then(|| {
            "text after a closing quote (a quote inside a field must be doubled)".to_string()
        });
        let record = Record {
            line: self.start_line,
            fields: std::mem::take(&mut self.fields),
            raw: Some(shorten(&self.raw)),
            error,
        };
        self.out.push(record);
        self.reset_record();
    }

    fn reset_record(&mut self) {
        self.fields.clear();
        self.field.clear();
        self.raw.clear();
        self.state = State::FieldStart;
        self.stray_text = false;
        self.has_content = false;
        self.had_quote = false;
        self.start_line = self.line;
    }

    /// Rejects the record whose quote never closed and re-reads what followed its first
    /// line as ordinary records.
    fn reject_unterminated(&mut self) {
        let raw = std::mem::take(&mut self.raw);
        let first_break = raw.find(['\r', '\n']);
        let (first_line, rest) = match first_break {
            Some(i) => {
                let after = if raw[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + 1
                };
                (&raw[..i], raw[after..].to_string())
            }
            None => (raw.as_str(), String::new()),
        };
        self.out.push(Record {
            line: self.start_line,
            fields: Vec::new(),
            raw: Some(shorten(first_line)),
            error: Some("unterminated quote: a field opened with \" never closes".to_string()),
        });
        let resume_line = self.start_line + 1;
        self.fields.clear();
        self.field.clear();
        self.state = State::FieldStart;
        self.stray_text = false;
        self.has_content = false;
        self.had_quote = false;
        self.after_cr = false;
        self.line = resume_line;
        self.start_line = resume_line;
        self.feed(&rest);
    }
}

pub(crate) fn shorten(raw: &str) -> String {
    let trimmed = raw.trim_end_matches(['\r', '\n']);
    if trimmed.chars().count() <= RAW_KEEP {
        trimmed.to_string()
    } else {
        let mut s: String = trimmed.chars().take(RAW_KEEP).collect();
        s.push('…');
        s
    }
}

/// Picks the delimiter from a header line: the most frequent of comma, tab and
/// semicolon outside quotes; comma when none occurs (a one-column file).
pub fn detect_delimiter(header_line: &str) -> char {
    let mut counts = [(',', 0usize), ('\t', 0), (';', 0)];
    for (d, n) in counts.iter_mut() {
        *n = delimiters_outside_quotes(header_line, *d);
    }
    // Ties keep the earlier (comma before tab before semicolon).
    counts
        .iter()
        .fold(
            (',', 0),
            |best, &(d, n)| if n > best.1 { (d, n) } else { best },
        )
        .0
}

/// How many fields one line has with `delimiter` (a quote toggles, as in
/// [`detect_delimiter`]; a quote left open counts what came before it).
pub fn field_count(line: &str, delimiter: char) -> usize {
    delimiters_outside_quotes(line, delimiter) + 1
}

fn delimiters_outside_quotes(line: &str, delimiter: char) -> usize {
    let mut in_quotes = false;
    let mut n = 0;
    for c in line.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && c == delimiter {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, delimiter: char) -> Vec<Record> {
        let mut s = RecordSplitter::new(delimiter);
        s.feed(text);
        let mut out = s.take();
        out.extend(s.finish());
        out
    }

    fn split_in_pieces(text: &str, delimiter: char, piece: usize) -> Vec<Record> {
        let mut s = RecordSplitter::new(delimiter);
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        for chunk in chars.chunks(piece) {
            s.feed(&chunk.iter().collect::<String>());
            out.extend(s.take());
        }
        out.extend(s.finish());
        out
    }

    fn fields(records: &[Record]) -> Vec<(u64, Vec<&str>)> {
        records
            .iter()
            .map(|r| (r.line, r.fields.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn quoting_cases() {
        let text = "a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n  \r\nlast,,\"\"";
        let records = split(text, ',');
        assert_eq!(
            fields(&records),
            vec![
                (1, vec!["a", "b", "c"]),
                (2, vec!["x,1", "say \"hi\"", "two\nlines"]),
                (5, vec!["last", "", ""]),
            ]
        );
        assert!(records.iter().all(|r| r.error.is_none()));
        // The same in chunks of every small size, so CRLF and quotes split across
        // chunk boundaries change nothing.
        for piece in 1..7 {
            assert_eq!(
                fields(&split_in_pieces(text, ',', piece)),
                fields(&records),
                "piece {piece}"
            );
        }
    }

    #[test]
    fn lf_tab_and_semicolon() {
        assert_eq!(
            fields(&split("a\tb\nc\td\n", '\t')),
            vec![(1, vec!["a", "b"]), (2, vec!["c", "d"])]
        );
        assert_eq!(fields(&split("a;b\n", ';')), vec![(1, vec!["a", "b"])]);
    }

    #[test]
    fn unterminated_quote_is_rejected_and_reading_resumes() {
        let mut text = String::from("name,ip\nPC1,\"10.0.0.1\nPC2,10.0.0.2\n");
        // Enough lines that the open quote is given up on before the end.
        for i in 3..60 {
            text.push_str(&format!("PC{i},10.0.0.{i}\n"));
        }
        let records = split(&text, ',');
        assert_eq!(records[0].fields, vec!["name", "ip"]);
        assert_eq!(records[1].line, 2);
        assert!(records[1]
            .error
            .as_deref()
            .unwrap()
            .contains("unterminated quote"));
        assert_eq!(records[1].raw.as_deref(), Some("PC1,\"10.0.0.1"));
        assert_eq!(records[2].line, 3);
        assert_eq!(records[2].fields, vec!["PC2", "10.0.0.2"]);
        assert_eq!(records.len(), 2 + 58);
        assert_eq!(records.last().unwrap().line, 60);
    }

    #[test]
    fn unterminated_quote_at_the_end_of_the_file() {
        let records = split("a,b\n\"open,x\nc,d", ',');
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].line, 2);
        assert!(records[1].error.is_some());
        assert_eq!(
            (records[2].line, records[2].fields.clone()),
            (3, vec!["c".to_string(), "d".to_string()])
        );
    }

    #[test]
    fn an_unclosed_quote_in_a_fully_quoted_list_costs_one_line() {
        let text = "\"Name\",\"IP\"\n\"PC-Q1\",\"10.12.0.1\"\n\"PC-Q2\",\"10.12.0.2\n\"PC-Q3\",\"10.12.0.3\"\n\"PC-Q4\",\"10.12.0.4\"\n";
        let records = split(text, ',');
        let summary: Vec<(u64, Option<&str>, Option<&str>)> = records
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.fields.first().map(String::as_str),
                    r.error.as_deref().map(|e| &e[..12]),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (1, Some("Name"), None),
                (2, Some("PC-Q1"), None),
                (3, None, Some("unterminated")),
                (4, Some("PC-Q3"), None),
                (5, Some("PC-Q4"), None),
            ]
        );
    }

    /// Found by the `list` fuzz target: the LF of a CRLF that ended a slow-path record
    /// (one with quotes) stayed in the raw text of the next one.
    #[test]
    fn crlf_after_a_quoted_record_leaves_nothing_behind() {
        let text = "h1,h2\r\n\"a,1\",x,\"q\",\r\nb,2\r\n\"open,3\r\nc,4\r\n";
        let expected = vec![
            (1, vec!["h1", "h2"], None),
            (2, vec!["a,1", "x", "q", ""], None),
            (3, vec!["b", "2"], None),
            (4, vec![], Some("\"open,3")),
            (5, vec!["c", "4"], None),
        ];
        let summary = |records: &[Record]| -> Vec<(u64, Vec<String>, Option<String>)> {
            records
                .iter()
                .map(|r| {
                    (
                        r.line,
                        r.fields.clone(),
                        r.error.as_ref().map(|_| r.text(',')),
                    )
                })
                .collect()
        };
        let expected: Vec<(u64, Vec<String>, Option<String>)> = expected
            .into_iter()
            .map(|(line, fields, text)| {
                (
                    line,
                    fields.into_iter().map(String::from).collect(),
                    text.map(String::from),
                )
            })
            .collect();
        assert_eq!(summary(&split(text, ',')), expected);
        // A CRLF split between two reads (a 64 KiB chunk boundary) is the same, and
        // leaves no LF at the start of the next record's text.
        for piece in 1..9 {
            let records = split_in_pieces(text, ',', piece);
            assert_eq!(summary(&records), expected, "piece {piece}");
            assert!(
                records.iter().all(|r| !r.text(',').starts_with('\n')),
                "piece {piece}: {records:?}"
            );
        }
    }

    #[test]
    fn text_after_a_closing_quote_is_reported() {
        let records = split("\"ab\"cd,e\n", ',');
        assert!(records[0]
            .error
            .as_deref()
            .unwrap()
            .contains("after a closing quote"));
    }

    #[test]
    fn delimiter_from_the_header() {
        assert_eq!(detect_delimiter("Computer Name,IP Address,Domain"), ',');
        assert_eq!(detect_delimiter("Computer Name\tIP Address"), '\t');
        assert_eq!(detect_delimiter("Computer Name;IP Address;\"a,b\""), ';');
        assert_eq!(detect_delimiter("Computer Name"), ',');
    }
}
