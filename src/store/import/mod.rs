//! CSV import: one transaction per file, every bad row reported by its physical line,
//! upsert on external id, vendor exports recognised by their headers, revertible batches.

pub mod layout;
pub mod rows;
pub mod write;

use crate::domain::date::{order_evidence, DateFormat, DayMonthOrder, OrderEvidence};
use crate::store::audit::Actor;
use crate::store::db::{Store, StoreError};
use chrono::NaiveDate;
use layout::{Layout, Mapping};
use rows::{Builder, FieldError, RowView};
use std::collections::HashMap;
use std::path::Path;
use write::{Outcome, Writer};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Customers,
    Contacts,
    Deals,
    Activities,
    Orders,
    Targets,
    Teams,
    Reps,
    Products,
    Stages,
    StageChanges,
}

impl ImportKind {
    pub const ALL: [ImportKind; 11] = [
        ImportKind::Customers,
        ImportKind::Contacts,
        ImportKind::Deals,
        ImportKind::Activities,
        ImportKind::Orders,
        ImportKind::Targets,
        ImportKind::Teams,
        ImportKind::Reps,
        ImportKind::Products,
        ImportKind::Stages,
        ImportKind::StageChanges,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Contacts => "contacts",
            ImportKind::Deals => "deals",
            ImportKind::Activities => "activities",
            ImportKind::Orders => "orders",
            ImportKind::Targets => "targets",
            ImportKind::Teams => "teams",
            ImportKind::Reps => "reps",
            ImportKind::Products => "products",
            ImportKind::Stages => "stages",
            ImportKind::StageChanges => "stage_changes",
        }
    }
    /// The kinds, as the CLI lists them.
    pub fn names() -> String {
        let names: Vec<&str> = ImportKind::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }
    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    fn date_fields(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &["created_on"],
            ImportKind::Contacts
            | ImportKind::Targets
            | ImportKind::Teams
            | ImportKind::Products
            | ImportKind::Stages => &[],
            ImportKind::Reps => &["hired_on"],
            ImportKind::StageChanges => &["entered_on"],
            ImportKind::Deals => &["created_on", "expected_close", "closed_on"],
            ImportKind::Activities => &["due_on", "done_on"],
            ImportKind::Orders => &["ordered_on"],
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub mapping: Option<Mapping>,
    pub dry_run: bool,
    pub skip_invalid: bool,
    pub create_missing: bool,
    pub date_format: Option<DateFormat>,
    /// Round amounts with more than two decimals to the cent (else they are refused).
    pub round: bool,
    /// On an update an empty cell clears the stored value (else it keeps it).
    pub blank_clears: bool,
    /// The date used for defaults (created_on) and stage changes; today unless a test fixes it.
    pub today: Option<NaiveDate>,
}

/// One reported problem: `FILE:LINE: column: reason`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub kind: String,
    /// `funnel` for the canonical format, else the vendor or mapping.
    pub vendor: String,
    pub batch_id: Option<i64>,
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub errors: Vec<RowError>,
    /// Entities made by `--create-missing`, as "kind: name".
    pub created: Vec<String>,
    /// Trailer lines a report export appended, skipped.
    pub ignored_lines: Vec<u64>,
    pub ignored_columns: Vec<String>,
    /// Rows that took a mapping default, by field.
    pub defaulted: std::collections::BTreeMap<String, usize>,
    /// Amounts rounded to the cent (`--round`).
    pub rounded: usize,
    /// Deals given a stage history inferred from their dates.
    pub inferred_histories: usize,
    pub dry_run: bool,
    pub skip_invalid: bool,
    /// Whether anything was written.
    pub committed: bool,
}

/// A problem with the file as a whole: nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{file}:{line}: {reason}")]
    Line {
        file: String,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

/// Starting words of the summary lines report exports append (Salesforce's
/// "Confidential Information", "Grand Totals (400 records)", "Generated By", …).
fn looks_like_trailer(rec: &csv::StringRecord, width: usize) -> bool {
    let filled: Vec<&str> = rec
        .iter()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if filled.len() <= 1 && rec.len() != width {
        return true;
    }
    let first = filled.first().map(|f| f.to_lowercase()).unwrap_or_default();
    [
        "total",
        "grand total",
        "subtotal",
        "count",
        "generated",
        "confidential",
        "copyright",
        "filtered by",
    ]
    .iter()
    .any(|w| first.starts_with(w))
        && filled.len() <= width / 2 + 1
}

/// Longest record (one CSV row with all its fields) an import reads. Past it the file is
/// refused, naming the line, so that memory stays bounded whatever the file is (a binary
/// file, /dev/zero, a quote left open near the top of a large export).
pub const MAX_RECORD: u64 = 8 << 20;
/// Longest field: a longer one is refused with its line and column.
pub const MAX_FIELD: usize = 1 << 20;

/// Where the line breaks (CR and LF) of the file are, from the bytes read so far but not
/// yet passed by a record: shared between the file's reader and the line counter.
type Breaks = std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<(u64, u8)>>>;

/// Where the CSV state machine is, as the csv reader will parse it (quotes only open at
/// the start of a field; a doubled quote inside quotes is a quote).
#[derive(Clone, Copy, PartialEq)]
enum Lexer {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// An import file read as a stream: a UTF-8 byte-order mark dropped, the line breaks noted
/// for line numbers, and each record's length bounded by `MAX_RECORD`.
pub(crate) struct Source {
    inner: std::io::BufReader<std::fs::File>,
    pos: u64,
    line: u64,
    record_line: u64,
    record_len: u64,
    state: Lexer,
    breaks: Breaks,
    /// Set at the end of the file when it ends inside a quoted field: the line the field's
    /// record began on.
    open_quote: std::rc::Rc<std::cell::Cell<Option<u64>>>,
}

impl Source {
    fn open(path: &Path) -> Result<Source, ImportError> {
        use std::io::BufRead;
        let err = |e: std::io::Error| ImportError::File {
            file: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut inner =
            std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).map_err(err)?);
        if inner.fill_buf().map_err(err)?.starts_with(b"\xEF\xBB\xBF") {
            inner.consume(3);
        }
        Ok(Source {
            inner,
            pos: 0,
            line: 1,
            record_line: 1,
            record_len: 0,
            state: Lexer::FieldStart,
            breaks: Breaks::default(),
            open_quote: Default::default(),
        })
    }

    fn lines(&self) -> LineCounter {
        LineCounter {
            breaks: self.breaks.clone(),
            line: 1,
            open_quote: self.open_quote.clone(),
        }
    }
}

impl std::io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.state == Lexer::Quoted && !buf.is_empty() {
            self.open_quote.set(Some(self.record_line));
        }
        let mut breaks = self.breaks.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.pos + i as u64;
            if b == b'\r' || b == b'\n' {
                breaks.push_back((at, b));
            }
            self.state = match (self.state, b) {
                (Lexer::Quoted, b'"') => Lexer::QuoteInQuoted,
                (Lexer::Quoted, _) => Lexer::Quoted,
                (Lexer::QuoteInQuoted, b'"') => Lexer::Quoted,
                (Lexer::FieldStart, b'"') => Lexer::Quoted,
                (_, b',') => Lexer::FieldStart,
                (_, b'\n') => {
                    self.line += 1;
                    self.record_line = self.line;
                    self.record_len = 0;
                    self.state = Lexer::FieldStart;
                    continue;
                }
                _ => Lexer::Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
            self.record_len += 1;
            if self.record_len > MAX_RECORD {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "line {}: a record longer than {} MiB: not a CSV file, or a quote opened and never closed",
                        self.record_line,
                        MAX_RECORD >> 20
                    ),
                ));
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Physical line numbers from byte offsets. The csv reader's own line count skips the
/// newlines inside quoted fields and blank lines, so it cannot be shown to users.
struct LineCounter {
    breaks: Breaks,
    line: u64,
    open_quote: std::rc::Rc<std::cell::Cell<Option<u64>>>,
}

impl LineCounter {
    /// After the whole file was read: the line of a record whose quoted field the file
    /// ends inside (a file cut short, or a quote never closed).
    fn ended_inside_quotes(&self) -> Option<u64> {
        self.open_quote.get()
    }

    /// The line on which the record the reader reports at `offset` begins. The reader's
    /// offset can point at the previous record's terminator or at blank lines before the
    /// record, so those are skipped first (a record never starts with CR or LF). Offsets
    /// come in order; the breaks before them are forgotten.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        let mut offset = offset;
        loop {
            while let Some(&(at, b)) = breaks.front() {
                if at >= offset {
                    break;
                }
                if b == b'\n' {
                    self.line += 1;
                }
                breaks.pop_front();
            }
            match breaks.front() {
                Some(&(at, _)) if at == offset => offset += 1,
                _ => return self.line,
            }
        }
    }
}

fn reader(source: Source) -> csv::Reader<Source> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(source)
}

/// A field over `MAX_FIELD`: (its column index, its length).
fn oversized(rec: &csv::StringRecord) -> Option<(usize, usize)> {
    rec.iter()
        .enumerate()
        .find(|(_, f)| f.len() > MAX_FIELD)
        .map(|(i, f)| (i, f.len()))
}

/// The field that identifies a row in the file: a product's SKU, else the external id.
fn key_field(kind: ImportKind) -> &'static str {
    if kind == ImportKind::Products {
        "sku"
    } else {
        "external_id"
    }
}

/// The external ids (or SKUs) that occur more than once in the file, as 64-bit hashes,
/// with the line of their first occurrence. A streamed pass keeps (hash, line) pairs in
/// one vector, sorted and dropped before the import starts (16 bytes a row, instead of a
/// hash map of every id held through the whole import); the import then holds only the
/// repeated keys, usually none. A hash stands for the id: two different ids of one file
/// share one with a chance of about 1 in 10^7 at a million rows, and then the second is
/// refused (a false alarm writes nothing; it can never overwrite).
fn repeated_keys(
    path: &Path,
    layout: &Layout,
    kind: ImportKind,
) -> Result<HashMap<u64, u32>, ImportError> {
    let field = key_field(kind);
    if !layout.fields.contains_key(field) && !layout.defaults.contains_key(field) {
        return Ok(HashMap::new());
    }
    let source = Source::open(path)?;
    let mut lines = source.lines();
    let mut rdr = reader(source);
    let mut rec = csv::StringRecord::new();
    let mut pairs: Vec<(u64, u32)> = Vec::new();
    let mut first = true;
    // Unreadable records stop the pass: the import reports them.
    while rdr.read_record(&mut rec).unwrap_or(false) {
        if std::mem::take(&mut first) || rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
        let view = RowView {
            record: &rec,
            layout,
        };
        if let Some(id) = view.get(field) {
            pairs.push((
                fnv1a(id.as_bytes()),
                u32::try_from(line).unwrap_or(u32::MAX),
            ));
        }
    }
    pairs.sort_unstable();
    let mut out = HashMap::new();
    for w in pairs.windows(2) {
        if w[0].0 == w[1].0 {
            out.entry(w[0].0).or_insert(w[0].1);
        }
    }
    Ok(out)
}

/// Settles day/month order from the file: any date that can only be read one way decides
/// for all; if the file contradicts itself the import stops.
fn settle_date_order(
    path: &Path,
    layout: &Layout,
    kind: ImportKind,
    file: &str,
) -> Result<Option<DayMonthOrder>, ImportError> {
    let cols: Vec<usize> = kind
        .date_fields()
        .iter()
        .filter_map(|f| layout.fields.get(f))
        .flatten()
        .copied()
        .collect();
    if cols.is_empty() {
        return Ok(None);
    }
    let (mut day_first, mut month_first) = (None, None);
    let source = Source::open(path)?;
    let mut lines = source.lines();
    let mut rdr = reader(source);
    let mut rec = csv::StringRecord::new();
    let mut first = true;
    while rdr.read_record(&mut rec).unwrap_or(false) {
        if std::mem::take(&mut first) {
            continue;
        }
        let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
        for &c in &cols {
            match rec.get(c).map(order_evidence) {
                Some(OrderEvidence::DayFirst) if day_first.is_none() => day_first = Some(line),
                Some(OrderEvidence::MonthFirst) if month_first.is_none() => {
                    month_first = Some(line)
                }
                _ => {}
            }
        }
        if day_first.is_some() && month_first.is_some() {
            break;
        }
    }
    match (day_first, month_first) {
        (Some(d), Some(m)) => Err(ImportError::File {
            file: file.to_string(),
            reason: format!(
                "dates disagree: line {d} has a day-first date and line {m} a month-first one; give --date-format"
            ),
        }),
        (Some(_), None) => Ok(Some(DayMonthOrder::DayFirst)),
        (None, Some(_)) => Ok(Some(DayMonthOrder::MonthFirst)),
        (None, None) => Ok(None),
    }
}

/// Imports one file. Row problems come back in the report (and, unless `skip_invalid`,
/// mean nothing was written); problems with the file itself are an `Err`.
pub fn import_file(
    store: &mut Store,
    kind: ImportKind,
    path: &Path,
    opts: &ImportOptions,
    actor: &Actor,
) -> Result<ImportReport, ImportError> {
    let file = path.display().to_string();
    let file_err = |reason: String| ImportError::File {
        file: file.clone(),
        reason,
    };
    if let Some(want) = opts.mapping.as_ref().and_then(|m| m.kind.as_deref()) {
        if want != kind.as_str() {
            return Err(file_err(format!(
                "the mapping file is for {want}, not {}",
                kind.as_str()
            )));
        }
    }
    let source = Source::open(path)?;
    let lines = source.lines();
    let mut rdr = reader(source);
    let mut rec = csv::StringRecord::new();
    let header_ok = rdr
        .read_record(&mut rec)
        .map_err(|e| file_err(format!("cannot read the header line: {e}")))?;
    if !header_ok || rec.iter().all(|h| h.trim().is_empty()) {
        return Err(file_err("the file is empty: expected a header line".into()));
    }
    let headers: Vec<String> = rec.iter().map(|h| h.trim().to_string()).collect();
    let mut layout = layout::resolve(kind, &headers, opts.mapping.as_ref()).map_err(|reason| {
        ImportError::Line {
            file: file.clone(),
            line: 1,
            reason,
        }
    })?;
    layout.round |= opts.round;
    layout.blank_clears |= opts.blank_clears;
    let date_format = match (&opts.date_format, &layout.date_format) {
        (Some(f), _) => f.clone(),
        (None, Some(text)) => DateFormat::from_user(text).map_err(file_err)?,
        (None, None) => DateFormat::Auto(settle_date_order(path, &layout, kind, &file)?),
    };

    // A large import touches many index pages; without room for them SQLite spills dirty
    // pages to the WAL mid-transaction and reads them back. Every reference is resolved
    // against the database by the writer, so the per-row foreign-key lookups are skipped.
    store.conn.execute_batch(&format!(
        "PRAGMA cache_size = -{}; PRAGMA foreign_keys = OFF",
        import_cache_kib()
    ))?;
    let repeated = repeated_keys(path, &layout, kind)?;
    let result = import_rows(
        store,
        kind,
        &file,
        rdr,
        lines,
        repeated,
        &layout,
        &date_format,
        opts,
        actor,
        headers,
    );
    store.conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

/// The page cache an import works with, in KiB: `$FUNNEL_IMPORT_CACHE_MIB` MiB, else 48
/// MiB, or 256 MiB for an encrypted database. Measured at a million deals (see the
/// README): a plain import at 48 MiB takes as long as at 64 or 256 MiB (45-50 s) and
/// peaks at 85 MiB; 16 MiB takes 71 s. An encrypted one pays for every page that leaves
/// the cache (decrypted again when read back), so 64 MiB takes 71-74 s where 256 MiB
/// takes about as long as plain.
fn import_cache_kib() -> u64 {
    let default = if super::crypto::key().is_some() {
        256
    } else {
        48
    };
    std::env::var("FUNNEL_IMPORT_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&m| (2..=4096).contains(&m))
        .unwrap_or(default)
        * 1024
}

#[allow(clippy::too_many_arguments)]
fn import_rows(
    store: &mut Store,
    kind: ImportKind,
    file: &str,
    mut rdr: csv::Reader<Source>,
    mut lines: LineCounter,
    repeated: HashMap<u64, u32>,
    layout: &Layout,
    date_format: &DateFormat,
    opts: &ImportOptions,
    actor: &Actor,
    headers: Vec<String>,
) -> Result<ImportReport, ImportError> {
    let file = file.to_string();
    let mut rec = csv::StringRecord::new();
    let mut report = ImportReport {
        file: file.clone(),
        kind: kind.as_str().to_string(),
        vendor: layout.vendor.clone(),
        ignored_columns: layout.ignored_columns.clone(),
        dry_run: opts.dry_run,
        skip_invalid: opts.skip_invalid,
        ..Default::default()
    };
    let today = opts
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let tx = store.begin()?;
    tx.execute(
        "INSERT INTO import_batches(kind, file, vendor, created_at, os_user) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![kind.as_str(), file, layout.vendor, actor.at, actor.os_user],
    )?;
    let batch_id = tx.last_insert_rowid();
    let batch_actor = Actor {
        batch_id: Some(batch_id),
        ..actor.clone()
    };
    let reason = format!("import batch {batch_id} ({file})");
    {
        let mut writer = Writer::new(
            &tx,
            batch_actor,
            opts.create_missing,
            today,
            layout.stages.clone(),
        )?;
        writer.fields = layout::canonical_fields(kind);
        writer.repeated_keys = repeated;
        if kind == ImportKind::Deals {
            writer.create_pipeline()?;
        }
        let width = headers.len();
        // Rows that look like an export's trailer are held back until a data row shows
        // they were not at the end after all.
        let mut held: Vec<(u64, csv::StringRecord)> = Vec::new();
        loop {
            let more = match rdr.read_record(&mut rec) {
                Ok(more) => more,
                Err(e) => {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        // The file cannot be read on (or is not a CSV file): nothing of it
                        // is imported.
                        return Err(ImportError::File {
                            file: file.clone(),
                            reason: io.to_string(),
                        });
                    }
                    let line = lines.line_at(e.position().map(|p| p.byte()).unwrap_or(0));
                    report.rejected += 1;
                    report.errors.push(RowError {
                        line,
                        column: "-".into(),
                        reason: format!("unreadable record: {e}"),
                    });
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            };
            if !more {
                break;
            }
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
            if let Some((column, len)) = oversized(&rec) {
                report.rejected += 1;
                report.errors.push(RowError {
                    line,
                    column: layout
                        .headers
                        .get(column)
                        .cloned()
                        .unwrap_or_else(|| format!("column {}", column + 1)),
                    reason: format!(
                        "a value of {len} bytes, longer than the {} MiB a field may hold",
                        MAX_FIELD >> 20
                    ),
                });
                continue;
            }
            if looks_like_trailer(&rec, width) {
                held.push((line, rec.clone()));
                continue;
            }
            let ctx = Ctx {
                kind,
                layout,
                dates: date_format,
                width,
                reason: &reason,
            };
            for (l, h) in std::mem::take(&mut held) {
                process(&h, l, &ctx, &mut writer, &mut report)?;
            }
            process(&rec, line, &ctx, &mut writer, &mut report)?;
        }
        if let Some(line) = lines.ended_inside_quotes() {
            return Err(ImportError::Line {
                file: file.clone(),
                line,
                reason: "the file ends inside a quoted field that begins on this line: it was cut short, or a quote was never closed; nothing was imported".into(),
            });
        }
        report.ignored_lines = held.iter().map(|(l, _)| *l).collect();
        let late = writer.finish()?;
        let mut late_lines: Vec<u64> = Vec::new();
        for (line, field, reason, was) in late {
            if !late_lines.contains(&line) {
                late_lines.push(line);
                report.rejected += 1;
                match was {
                    Outcome::Inserted => report.inserted = report.inserted.saturating_sub(1),
                    Outcome::Updated => report.updated = report.updated.saturating_sub(1),
                    Outcome::Unchanged => report.unchanged = report.unchanged.saturating_sub(1),
                }
            }
            report.errors.push(RowError {
                line,
                column: layout.column_name(field),
                reason,
            });
        }
        report.errors.sort_by_key(|e| e.line);
        report.inferred_histories = writer.inferred_histories;
        report.created = writer
            .created
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
    }
    let failed = report.rejected > 0 && !opts.skip_invalid;
    if opts.dry_run || failed || report.inserted + report.updated == 0 && report.created.is_empty()
    {
        tx.rollback()?;
    } else {
        // References were resolved against the database while writing (foreign keys are off
        // for speed during the import); debug builds, where the tests run, verify that.
        if cfg!(debug_assertions) {
            crate::store::db::check_foreign_keys(&tx)?;
        }
        tx.execute(
            "UPDATE import_batches SET inserted = ?2, updated = ?3, rejected = ?4 WHERE id = ?1",
            rusqlite::params![batch_id, report.inserted, report.updated, report.rejected],
        )?;
        tx.commit()?;
        report.batch_id = Some(batch_id);
        report.committed = true;
    }
    Ok(report)
}

/// What every row of one file is read with.
struct Ctx<'a> {
    kind: ImportKind,
    layout: &'a Layout,
    dates: &'a DateFormat,
    width: usize,
    reason: &'a str,
}

fn process(
    rec: &csv::StringRecord,
    line: u64,
    ctx: &Ctx,
    writer: &mut Writer,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let Ctx {
        kind,
        layout,
        dates,
        width,
        reason,
    } = *ctx;
    report.rows += 1;
    let reject = |report: &mut ImportReport, errors: Vec<FieldError>| {
        report.rejected += 1;
        report.errors.extend(errors.into_iter().map(|e| RowError {
            line,
            column: e.column,
            reason: e.reason,
        }));
    };
    if rec.len() != width {
        reject(
            report,
            vec![FieldError {
                column: "-".into(),
                reason: format!(
                    "expected {width} fields as in the header, found {}",
                    rec.len()
                ),
            }],
        );
        return Ok(());
    }
    // Control characters (NUL, escape sequences, …) have no place in stored text and
    // could drive a terminal when printed: the row is refused, naming the column.
    let controls: Vec<FieldError> = rec
        .iter()
        .enumerate()
        .filter(|(i, _)| layout.used[*i])
        .filter_map(|(i, v)| {
            let (pos, c) = v
                .chars()
                .enumerate()
                .find(|(_, c)| crate::domain::table::is_forbidden_control(*c))?;
            Some(FieldError {
                column: layout.headers[i].clone(),
                reason: format!(
                    "contains a control character (U+{:04X}) at character {}: remove it",
                    c as u32,
                    pos + 1
                ),
            })
        })
        .collect();
    if !controls.is_empty() {
        reject(report, controls);
        return Ok(());
    }
    let view = RowView {
        record: rec,
        layout,
    };
    // One row per record: a second row with the same external id (or sku) is refused with
    // both lines, rather than silently overwriting the first.
    let key_field = key_field(kind);
    if let Some(id) = view.get(key_field) {
        // A 64-bit hash stands for the id: two different ids in one file share one with a
        // chance of about 1 in 10^7 at a million rows, and then the second is refused (a
        // false alarm writes nothing; it can never overwrite).
        let key = fnv1a(id.as_bytes());
        let first = writer.repeated_keys.get(&key).map(|&l| u64::from(l));
        if let Some(first) = first.filter(|&f| f != line) {
            reject(
                report,
                vec![FieldError {
                    column: layout.column_name(key_field),
                    reason: format!(
                        "'{id}' is also on line {first}: one row per record (merge the two rows, or keep one)"
                    ),
                }],
            );
            return Ok(());
        }
    }
    let mut b = Builder::new(&view, dates);
    writer.line = line;
    // What this row gives (a value, a mapping default, or with `--blank clears` a column
    // at all): an update changes only these fields.
    writer.given = writer
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            layout.defaults.contains_key(f.0)
                || layout.fields.contains_key(f.0)
                    && (layout.blank_clears || view.raw(f.0).is_some())
        })
        .fold(0u64, |bits, (i, _)| bits | (1 << i));
    let written = match kind {
        ImportKind::Customers => {
            let r = rows::customer(&mut b);
            let given = view.get("status").is_some();
            b.finish(r).map(|r| writer.customer(&r, given))
        }
        ImportKind::Contacts => {
            let mut r = rows::contact(&mut b);
            if r.external_id.is_none() {
                r.external_id = Some(content_key(&view, kind, &mut writer.keys_seen));
            }
            b.finish(r).map(|r| writer.contact(&r))
        }
        ImportKind::Deals => {
            let mut r = rows::deal(&mut b);
            if r.0.external_id.is_none() {
                r.0.external_id = Some(content_key(&view, kind, &mut writer.keys_seen));
            }
            b.finish(r).map(|(r, status)| writer.deal(&r, status))
        }
        ImportKind::Activities => {
            let mut r = rows::activity(&mut b);
            if r.external_id.is_none() {
                r.external_id = Some(content_key(&view, kind, &mut writer.keys_seen));
            }
            b.finish(r).map(|r| writer.activity(&r))
        }
        ImportKind::Orders => {
            let mut r = rows::order(&mut b);
            // A won deal's order is found through its deal.
            if r.external_id.is_none() && r.deal.is_none() {
                r.external_id = Some(content_key(&view, kind, &mut writer.keys_seen));
            }
            b.finish(r).map(|r| writer.order(&r))
        }
        ImportKind::Targets => {
            let r = rows::target(&mut b);
            b.finish(r).map(|r| writer.target(&r, reason))
        }
        ImportKind::Teams => {
            let r = rows::team(&mut b);
            b.finish(r).map(|r| writer.team(&r))
        }
        ImportKind::Reps => {
            let r = rows::rep(&mut b);
            b.finish(r).map(|r| writer.rep(&r))
        }
        ImportKind::Products => {
            let r = rows::product(&mut b);
            b.finish(r).map(|r| writer.product(&r))
        }
        ImportKind::Stages => {
            let r = rows::stage(&mut b);
            b.finish(r).map(|r| writer.stage_row(&r))
        }
        ImportKind::StageChanges => {
            let r = rows::stage_change(&mut b);
            b.finish(r).map(|r| writer.stage_change(&r))
        }
    };
    if written.as_ref().is_ok_and(|w| matches!(w, Ok(Ok(_)))) {
        report.rounded += b.rounded;
        for f in view.defaulted() {
            *report.defaulted.entry(f.to_string()).or_default() += 1;
        }
    }
    match written {
        Err(errors) => reject(report, errors),
        Ok(result) => match result.map_err(|e| ImportError::Line {
            file: report.file.clone(),
            line,
            reason: e.to_string(),
        })? {
            Ok(Outcome::Inserted) => report.inserted += 1,
            Ok(Outcome::Updated) => report.updated += 1,
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            Err((field, reason)) => reject(
                report,
                vec![FieldError {
                    column: layout.column_name(field),
                    reason,
                }],
            ),
        },
    }
    Ok(())
}

/// The key of a row from a file without external ids: a hash of the fields that name the
/// record (for deals, not the ones that change as it moves: stage, amount, dates of
/// closing), numbered when the file holds the same content more than once. Importing the
/// same file again finds the same keys, so its rows are unchanged instead of doubled.
fn content_key(view: &RowView, kind: ImportKind, seen: &mut HashMap<u64, u32>) -> String {
    const MUTABLE: &[&str] = &[
        "stage",
        "status",
        "amount",
        "expected_close",
        "closed_on",
        "lost_reason",
        "discount_pct",
        "owner",
    ];
    let mut fields: Vec<&&str> = view
        .layout
        .fields
        .keys()
        .filter(|f| !(kind == ImportKind::Deals && MUTABLE.contains(f)))
        .collect();
    fields.sort();
    // Each part ends with 0xff (a byte UTF-8 never holds), so "ab"+"c" and "a"+"bc" differ.
    let mut h = FNV_OFFSET;
    let mut eat = |bytes: &[u8]| h = fnv1a_extend(fnv1a_extend(h, bytes), &[0xff]);
    eat(kind.as_str().as_bytes());
    for f in fields {
        eat(f.as_bytes());
        eat(view.get(f).as_deref().unwrap_or("").as_bytes());
    }
    let n = seen.entry(h).or_insert(0);
    *n += 1;
    if *n == 1 {
        format!("key:{h:016x}")
    } else {
        format!("key:{h:016x}-{n}")
    }
}

/// FNV-1a: stable across builds and platforms (the std hasher is not promised to be).
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// One monthly series read from a long-format file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesData {
    pub key: String,
    /// The first month.
    pub start: crate::domain::Period,
    /// One value per month from `start`; gaps filled by linear interpolation.
    pub values: Vec<f64>,
    /// Months that were missing and filled.
    pub filled: usize,
}

/// Reads `series,period,value` (period `YYYY-MM`) in any row order. Bad rows come back as
/// `FILE:LINE` errors; a file-level problem is an `Err`.
pub fn read_series(path: &Path) -> Result<(Vec<SeriesData>, Vec<RowError>), ImportError> {
    use crate::domain::Period;
    let file = path.display().to_string();
    let source = Source::open(path)?;
    let mut lines = source.lines();
    let mut rdr = reader(source);
    let mut rec = csv::StringRecord::new();
    let file_err = |reason: String| ImportError::File {
        file: file.clone(),
        reason,
    };
    if !rdr
        .read_record(&mut rec)
        .map_err(|e| file_err(e.to_string()))?
    {
        return Err(file_err(
            "the file is empty: expected the header series,period,value".into(),
        ));
    }
    let col = |name: &str| rec.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let (Some(cs), Some(cp), Some(cv)) = (col("series"), col("period"), col("value")) else {
        return Err(ImportError::Line {
            file,
            line: 1,
            reason: "the header must name the columns series, period and value".into(),
        });
    };
    let mut errors = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut points: std::collections::HashMap<
        String,
        std::collections::BTreeMap<Period, (f64, u64)>,
    > = std::collections::HashMap::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(file_err(io.to_string()));
                }
                let line = lines.line_at(e.position().map(|p| p.byte()).unwrap_or(0));
                errors.push(RowError {
                    line,
                    column: "-".into(),
                    reason: format!("unreadable record: {e}"),
                });
                continue;
            }
        }
        if let Some((column, len)) = oversized(&rec) {
            let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
            errors.push(RowError {
                line,
                column: format!("column {}", column + 1),
                reason: format!(
                    "a value of {len} bytes, longer than the {} MiB a field may hold",
                    MAX_FIELD >> 20
                ),
            });
            continue;
        }
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = lines.line_at(rec.position().map(|p| p.byte()).unwrap_or(0));
        let mut bad = |column: &str, reason: String| {
            errors.push(RowError {
                line,
                column: column.into(),
                reason,
            })
        };
        let key = rec.get(cs).unwrap_or("").trim().to_string();
        if key.is_empty() {
            bad("series", "required, but empty".into());
            continue;
        }
        let period = match Period::parse(rec.get(cp).unwrap_or("")) {
            Ok(p @ Period::Month { .. }) => p,
            Ok(p) => {
                bad("period", format!("'{p}' is not a month (write YYYY-MM)"));
                continue;
            }
            Err(e) => {
                bad("period", e.to_string());
                continue;
            }
        };
        let raw = rec.get(cv).unwrap_or("").trim();
        let value = match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                bad("value", format!("'{raw}' is not a number"));
                continue;
            }
        };
        let entry = points.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Default::default()
        });
        if let Some((_, first)) = entry.insert(period, (value, line)) {
            errors.push(RowError {
                line,
                column: "period".into(),
                reason: format!("{period} of {key} is also on line {first}"),
            });
        }
    }
    let series = order
        .into_iter()
        .map(|key| {
            let months = &points[&key];
            let start = *months.keys().next().expect("a series has a month");
            let end = *months.keys().last().expect("a series has a month");
            let mut values = Vec::new();
            let mut filled = 0;
            let mut p = start;
            let mut last_known: Option<f64> = None;
            let mut pending = 0usize;
            while p <= end {
                match months.get(&p) {
                    Some(&(v, _)) => {
                        if pending > 0 {
                            let v0 = last_known.expect("a gap follows a known month");
                            for k in 1..=pending {
                                let frac = k as f64 / (pending + 1) as f64;
                                values.push(v0 + (v - v0) * frac);
                            }
                            filled += pending;
                            pending = 0;
                        }
                        values.push(v);
                        last_known = Some(v);
                    }
                    None => pending += 1,
                }
                p = p.next();
            }
            SeriesData {
                key,
                start,
                values,
                filled,
            }
        })
        .collect();
    Ok((series, errors))
}
