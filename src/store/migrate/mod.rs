//! `funnel migrate`: a whole database copied between SQLite and PostgreSQL, every table
//! (the audit log, import batches, model runs and caches included), in one transaction on
//! the receiving side, and verified before it commits: for every table the row count and,
//! for every column, a sum (numbers and flags summed, dates as day numbers, moments as
//! epoch seconds, text and JSON as byte lengths) must agree on both sides. Bulk loads into
//! PostgreSQL use `COPY … FROM STDIN`; reads from it `COPY … TO STDOUT`, in one
//! repeatable-read snapshot. Id counters are carried over so that ids are never handed
//! out again on the other side either.
//!
//! The receiving database must be empty (a new SQLite file, or a PostgreSQL database with
//! no tables or an empty funnel schema). A failure leaves it as it was: PostgreSQL rolls
//! back, and a SQLite file this run created is removed.

use super::db::{Result, StoreError};
use super::postgres::{self, schema, sql_error, Target};
use super::Store;
use rusqlite::types::Value;
use std::io::{BufRead, Write};

mod working_copy;
pub use working_copy::import_on_postgres;

/// Every table, parents before children. `tests` check that this covers the schema.
pub const TABLES: &[&str] = &[
    "funnel_meta",
    "teams",
    "reps",
    "customers",
    "contacts",
    "products",
    "stages",
    "deals",
    "stage_changes",
    "activities",
    "orders",
    "targets",
    "target_revisions",
    "forecast_runs",
    "forecast_points",
    "forecast_history",
    "model_runs",
    "deal_scores",
    "deal_score_history",
    "import_batches",
    "audit_log",
    "analysis_cache",
    "segment_runs",
    "segment_profiles",
    "segment_members",
    "customer_intel",
    "intel_runs",
    "plans",
    "plan_visits",
    "rule_runs",
    "rule_actions",
    "rule_marks",
];

/// Keys of `funnel_meta` that belong to one backend and are not copied.
const OWN_META: &[&str] = &["schema_version"];

/// One table's copy.
#[derive(Debug, Clone, PartialEq)]
pub struct TableCopy {
    pub table: &'static str,
    pub rows: u64,
    /// Column sums compared (besides the row count).
    pub sums: usize,
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub tables: Vec<TableCopy>,
    /// Id counters carried over (tables whose next id was set).
    pub counters: usize,
}

impl Report {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// How a column's values are read, written and summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Bool,
    Date,
    Stamp,
    Text,
}

struct Column {
    name: String,
    kind: Kind,
}

/// A table's count and per-column sums.
#[derive(Debug, Clone, PartialEq)]
struct Check {
    rows: u64,
    sums: Vec<Sum>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sum {
    Exact(i128),
    Float(f64),
}

fn invalid(why: String) -> StoreError {
    StoreError::Invalid(why)
}

fn pg(t: &Target) -> impl Fn(::postgres::Error) -> StoreError + '_ {
    move |e| StoreError::Postgres(sql_error(t, &e))
}

fn kind_of(table: &str, column: &str, data_type: &str) -> Result<Kind> {
    Ok(match data_type {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "double precision" | "real" => Kind::Real,
        "boolean" => Kind::Bool,
        "date" => Kind::Date,
        "timestamp with time zone" => Kind::Stamp,
        "text" | "json" | "jsonb" => Kind::Text,
        other => {
            return Err(invalid(format!(
                "{table}.{column}: PostgreSQL type {other} has no SQLite counterpart"
            )))
        }
    })
}

/// The columns of `table` as PostgreSQL has them, checked against SQLite's.
fn columns(
    tx: &mut ::postgres::Transaction,
    t: &Target,
    sqlite: &rusqlite::Connection,
    table: &str,
) -> Result<Vec<Column>> {
    let rows = tx
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .map_err(pg(t))?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.get(0);
        let data_type: String = r.get(1);
        out.push(Column {
            kind: kind_of(table, &name, &data_type)?,
            name,
        });
    }
    let mut theirs: Vec<String> = sqlite
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut ours: Vec<String> = out.iter().map(|c| c.name.clone()).collect();
    theirs.sort();
    ours.sort();
    if ours.is_empty() || ours != theirs {
        return Err(invalid(format!(
            "table {table} differs between the databases (PostgreSQL: {}; SQLite: {}): both must be at schema {}",
            ours.join(", "),
            theirs.join(", "),
            super::db::SCHEMA_VERSION
        )));
    }
    Ok(out)
}

fn column_list(cols: &[Column]) -> String {
    cols.iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PostgreSQL's count and sums of a table, computed by the server.
fn pg_check(
    tx: &mut ::postgres::Transaction,
    t: &Target,
    table: &str,
    cols: &[Column],
    filter: &str,
) -> Result<Check> {
    let mut exprs = vec!["count(*)::text".to_string()];
    for c in cols {
        let n = format!("\"{}\"", c.name);
        exprs.push(match c.kind {
            Kind::Int => format!("coalesce(sum({n}::numeric), 0)::text"),
            Kind::Real => format!("coalesce(sum({n}), 0)::text"),
            Kind::Bool => format!("coalesce(sum({n}::int), 0)::text"),
            Kind::Date => format!("coalesce(sum({n} - DATE '1970-01-01'), 0)::text"),
            Kind::Stamp => format!("coalesce(sum(floor(extract(epoch FROM {n}))), 0)::text"),
            Kind::Text => format!("coalesce(sum(octet_length({n}::text)), 0)::text"),
        });
    }
    let row = tx
        .query_one(
            &format!("SELECT {} FROM \"{table}\"{filter}", exprs.join(", ")),
            &[],
        )
        .map_err(pg(t))?;
    let text = |i: usize| -> String { row.get::<_, String>(i) };
    let rows = text(0)
        .parse::<u64>()
        .map_err(|e| invalid(format!("{table}: count: {e}")))?;
    let mut sums = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let v = text(i + 1);
        sums.push(match c.kind {
            Kind::Real => {
                Sum::Float(parse_float(&v).map_err(|e| invalid(format!("{table}: {e}")))?)
            }
            _ => Sum::Exact(
                v.parse::<i128>()
                    .map_err(|e| invalid(format!("{table}.{}: sum {v}: {e}", c.name)))?,
            ),
        });
    }
    Ok(Check { rows, sums })
}

impl Check {
    /// Nothing counted yet for `cols`.
    fn empty(cols: &[Column]) -> Check {
        Check {
            rows: 0,
            sums: cols
                .iter()
                .map(|c| match c.kind {
                    Kind::Real => Sum::Float(0.0),
                    _ => Sum::Exact(0),
                })
                .collect(),
        }
    }

    /// Counts one SQLite row (its values in `cols`' order).
    fn add(&mut self, table: &str, cols: &[Column], row: &rusqlite::Row) -> Result<()> {
        self.rows += 1;
        for (i, c) in cols.iter().enumerate() {
            let v: Value = row.get(i)?;
            self.sums[i] = match (self.sums[i], contribution(table, c, &v)?) {
                (Sum::Exact(a), Sum::Exact(b)) => Sum::Exact(a + b),
                (Sum::Float(a), Sum::Float(b)) => Sum::Float(a + b),
                _ => unreachable!("a column's sums are of one kind"),
            };
        }
        Ok(())
    }
}

/// SQLite's count and sums of a table, read row by row (SQLite's own `sum` overflows where
/// PostgreSQL's does not).
fn sqlite_check(conn: &rusqlite::Connection, table: &str, cols: &[Column]) -> Result<Check> {
    let mut stmt = conn.prepare(&format!("SELECT {} FROM \"{table}\"", column_list(cols)))?;
    let mut rows = stmt.query([])?;
    let mut check = Check::empty(cols);
    while let Some(r) = rows.next()? {
        check.add(table, cols, r)?;
    }
    Ok(check)
}

/// What one SQLite value adds to its column's sum.
fn contribution(table: &str, c: &Column, v: &Value) -> Result<Sum> {
    let bad = || wrong_kind(table, c, v);
    Ok(match (c.kind, v) {
        (Kind::Real, Value::Null) => Sum::Float(0.0),
        (_, Value::Null) => Sum::Exact(0),
        (Kind::Int, Value::Integer(i)) => Sum::Exact(*i as i128),
        (Kind::Bool, Value::Integer(i)) => Sum::Exact((*i != 0) as i128),
        (Kind::Real, Value::Real(f)) => Sum::Float(*f),
        (Kind::Real, Value::Integer(i)) => Sum::Float(*i as f64),
        (Kind::Date, Value::Text(s)) => Sum::Exact(date_number(s).ok_or_else(bad)? as i128),
        (Kind::Stamp, Value::Text(s)) => Sum::Exact(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| bad())?
                .timestamp() as i128,
        ),
        (Kind::Text, Value::Text(s)) => Sum::Exact(s.len() as i128),
        _ => return Err(bad()),
    })
}

fn wrong_kind(table: &str, c: &Column, v: &Value) -> StoreError {
    invalid(format!(
        "{table}.{}: {} is not a {:?} value",
        c.name,
        describe(v),
        c.kind
    ))
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => format!("the integer {i}"),
        Value::Real(f) => format!("the number {f}"),
        Value::Text(s) => format!("'{s}'"),
        Value::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

fn date_number(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days())
}

fn parse_float(v: &str) -> std::result::Result<f64, String> {
    match v {
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => v.parse::<f64>().map_err(|e| format!("'{v}': {e}")),
    }
}

/// Whether two checks agree: counts and whole sums exactly, float sums to the rounding
/// that a different order of adding gives.
fn agree(a: &Check, b: &Check) -> bool {
    a.rows == b.rows
        && a.sums.len() == b.sums.len()
        && a.sums.iter().zip(&b.sums).all(|(x, y)| sum_agrees(x, y))
}

fn sum_agrees(x: &Sum, y: &Sum) -> bool {
    match (x, y) {
        (Sum::Exact(x), Sum::Exact(y)) => x == y,
        (Sum::Float(x), Sum::Float(y)) => {
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        _ => false,
    }
}

fn verify(table: &str, cols: &[Column], from: &Check, to: &Check) -> Result<()> {
    if agree(from, to) {
        return Ok(());
    }
    let mut diffs = Vec::new();
    if from.rows != to.rows {
        diffs.push(format!("{} rows read, {} written", from.rows, to.rows));
    }
    for (c, (x, y)) in cols.iter().zip(from.sums.iter().zip(&to.sums)) {
        if !sum_agrees(x, y) {
            diffs.push(format!("{}: sum {x:?} read, {y:?} written", c.name));
        }
    }
    Err(invalid(format!(
        "table {table} did not verify ({}); nothing was kept",
        diffs.join("; ")
    )))
}

/// COPY's text format: backslash, newline, carriage return and tab escaped.
pub(crate) fn escape_into(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            _ => buf.push(b),
        }
    }
}

/// One SQLite value as a field of COPY's text format.
fn copy_field(buf: &mut Vec<u8>, table: &str, c: &Column, v: &Value) -> Result<()> {
    let bad = || wrong_kind(table, c, v);
    match (c.kind, v) {
        (_, Value::Null) => buf.extend_from_slice(b"\\N"),
        (Kind::Int, Value::Integer(i)) => buf.extend_from_slice(i.to_string().as_bytes()),
        (Kind::Bool, Value::Integer(i)) => buf.push(if *i != 0 { b't' } else { b'f' }),
        (Kind::Real, Value::Integer(i)) => buf.extend_from_slice(i.to_string().as_bytes()),
        (Kind::Real, Value::Real(f)) => {
            let text = if f.is_nan() {
                "NaN".to_string()
            } else if f.is_infinite() {
                if *f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
            } else {
                // Rust's shortest round-trip form: PostgreSQL reads back the same double.
                format!("{f:?}")
            };
            buf.extend_from_slice(text.as_bytes())
        }
        (Kind::Date, Value::Text(s)) => {
            date_number(s).ok_or_else(bad)?;
            escape_into(buf, s)
        }
        (Kind::Stamp, Value::Text(s)) => {
            chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
            escape_into(buf, s)
        }
        (Kind::Text, Value::Text(s)) => escape_into(buf, s),
        _ => return Err(bad()),
    }
    Ok(())
}

/// Undoes COPY's text escapes in one field (`None` for `\N`).
fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    if field == b"\\N" {
        return None;
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' && i + 1 < field.len() {
            i += 1;
            out.push(match field[i] {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 8,
                b'f' => 12,
                b'v' => 11,
                other => other,
            });
        } else {
            out.push(field[i]);
        }
        i += 1;
    }
    Some(out)
}

/// One PostgreSQL field (as COPY prints it with `DateStyle` ISO and UTC) as SQLite's value.
fn sqlite_value(table: &str, c: &Column, field: &[u8]) -> Result<Value> {
    let Some(bytes) = unescape(field) else {
        return Ok(Value::Null);
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| invalid(format!("{table}.{}: text that is not UTF-8", c.name)))?;
    let bad = |why: String| invalid(format!("{table}.{}: '{text}': {why}", c.name));
    Ok(match c.kind {
        Kind::Int => Value::Integer(text.parse::<i64>().map_err(|e| bad(e.to_string()))?),
        Kind::Real => Value::Real(parse_float(&text).map_err(bad)?),
        Kind::Bool => Value::Integer(match text.as_str() {
            "t" => 1,
            "f" => 0,
            _ => return Err(bad("not t or f".into())),
        }),
        Kind::Date | Kind::Text => Value::Text(text),
        // `2026-09-01 09:00:00+00` (or with a fraction) back to funnel's RFC 3339 form.
        Kind::Stamp => {
            let utc = text
                .strip_suffix("+00")
                .ok_or_else(|| bad("not a UTC time".into()))?;
            Value::Text(format!("{}Z", utc.replacen(' ', "T", 1)))
        }
    })
}

/// The id counter SQLite keeps for an AUTOINCREMENT table (0 when it has none).
fn sqlite_counter(conn: &rusqlite::Connection, table: &str) -> Result<i64> {
    let has_sequence: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'sqlite_sequence'",
        [],
        |r| r.get(0),
    )?;
    let seq: i64 = if has_sequence {
        conn.query_row(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?1",
            [table],
            |r| r.get(0),
        )?
    } else {
        0
    };
    Ok(seq)
}

fn has_id(cols: &[Column]) -> bool {
    cols.iter().any(|c| c.name == "id")
}

/// The funnel tables (but funnel_meta) that hold rows, by `count` of each: a receiving
/// database must have none.
fn rows_present(mut count: impl FnMut(&str) -> Result<i64>) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in TABLES.iter().filter(|t| **t != "funnel_meta") {
        let n = count(table)?;
        if n > 0 {
            out.push((*table, n));
        }
    }
    Ok(out)
}

fn not_empty(what: &str, rows: &[(&str, i64)]) -> StoreError {
    let list: Vec<String> = rows.iter().map(|(t, n)| format!("{n} {t}")).collect();
    invalid(format!(
        "{what} already holds funnel data ({}); migrate copies into an empty database, nothing was changed",
        list.join(", ")
    ))
}

/// Copies the SQLite database `src` into the PostgreSQL database `dst` (which must be
/// empty); `progress` hears each table's name and rows as it is copied.
pub fn sqlite_to_postgres(
    src: &Store,
    dst: &Target,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Report> {
    let mut client = postgres::connect(dst)?;
    client
        .batch_execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'")
        .map_err(pg(dst))?;
    let mut tx = client.transaction().map_err(pg(dst))?;
    schema::ensure(&mut tx, dst)?;
    let present = rows_present(|table| {
        Ok(tx
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .map_err(pg(dst))?
            .get(0))
    })?;
    if !present.is_empty() {
        return Err(not_empty(&dst.to_string(), &present));
    }
    // The foreign keys are dropped for the load and added back before the commit: adding
    // one checks every row in a single join, where keeping them checked each row on its
    // own (deferred, 7 million checks took longer than the copy itself at a million deals).
    // So are the indexes that back no constraint: built once over the loaded rows.
    let deferred = super::postgres::bulk::Deferred::drop(&mut tx).map_err(pg(dst))?;
    // One snapshot of the source for the whole copy, while others may go on writing.
    let read = src.conn.unchecked_transaction()?;
    let mut report = Report {
        tables: Vec::new(),
        counters: 0,
    };
    for &table in TABLES {
        let cols = columns(&mut tx, dst, &read, table)?;
        let list = column_list(&cols);
        let mut stmt = read.prepare(&format!("SELECT {list} FROM \"{table}\""))?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        // The source's count and sums, taken from the rows as they are sent.
        let mut source = Check::empty(&cols);
        if table == "funnel_meta" {
            while let Some(r) = rows.next()? {
                let (key, value): (String, String) = (r.get(0)?, r.get(1)?);
                if OWN_META.contains(&key.as_str()) {
                    continue;
                }
                tx.execute(
                    "INSERT INTO funnel_meta(key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    &[&key, &value],
                )
                .map_err(pg(dst))?;
                n += 1;
            }
        } else {
            if table == "customer_intel" {
                // The rows the schema's trigger made for each copied customer make way
                // for the copied ones.
                tx.execute("DELETE FROM customer_intel", &[])
                    .map_err(pg(dst))?;
            }
            n = copy_rows(
                &mut tx,
                dst,
                &mut rows,
                table,
                &cols,
                &format!("COPY \"{table}\" ({list}) FROM STDIN"),
                &mut |r| source.add(table, &cols, r),
            )?;
        }
        drop(rows);
        drop(stmt);
        // funnel_meta differs by design (each side's own keys); every other table must
        // agree in count and sums.
        let meta = table == "funnel_meta";
        if !meta {
            let to = pg_check(&mut tx, dst, table, &cols, "")?;
            verify(table, &cols, &source, &to)?;
        }
        if !meta && has_id(&cols) {
            let counter = sqlite_counter(&read, table)?;
            let set = tx
                .query_opt(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), v, true)
                         FROM (SELECT greatest(coalesce(max(id), 0), $1::bigint) AS v FROM \"{table}\") m
                         WHERE v > 0"
                    ),
                    &[&counter],
                )
                .map_err(pg(dst))?;
            if set.is_some() {
                report.counters += 1;
            }
        }
        progress(table, n);
        report.tables.push(TableCopy {
            table,
            rows: n,
            sums: if meta { 0 } else { cols.len() },
        });
    }
    deferred.rebuild(&mut tx).map_err(|(what, e)| {
        StoreError::Invalid(format!(
            "the copied rows break {what} ({}); nothing was kept",
            sql_error(dst, &e)
        ))
    })?;
    tx.commit().map_err(pg(dst))?;
    drop(read);
    Ok(report)
}

/// Sends SQLite `rows` of `table` (its `cols`, in order) to the server through `copy_sql`
/// (a `COPY … FROM STDIN`), calling `each` on every row first; the rows sent.
fn copy_rows(
    tx: &mut ::postgres::Transaction,
    t: &Target,
    rows: &mut rusqlite::Rows,
    table: &str,
    cols: &[Column],
    copy_sql: &str,
    each: &mut dyn FnMut(&rusqlite::Row) -> Result<()>,
) -> Result<u64> {
    let mut writer = tx.copy_in(copy_sql).map_err(pg(t))?;
    let mut buf = Vec::with_capacity(1 << 17);
    let mut n = 0u64;
    let send_err = |e: std::io::Error| invalid(format!("{table}: sending rows: {e}"));
    while let Some(r) = rows.next()? {
        let row_err = |e: StoreError| invalid(format!("{table} row {}: {e}", n + 1));
        each(r).map_err(row_err)?;
        for (i, c) in cols.iter().enumerate() {
            if i > 0 {
                buf.push(b'\t');
            }
            let v: Value = r.get(i)?;
            copy_field(&mut buf, table, c, &v).map_err(row_err)?;
        }
        buf.push(b'\n');
        n += 1;
        if buf.len() >= 1 << 16 {
            writer.write_all(&buf).map_err(send_err)?;
            buf.clear();
        }
    }
    writer.write_all(&buf).map_err(send_err)?;
    writer.finish().map_err(pg(t))?;
    Ok(n)
}

/// Copies the PostgreSQL database `src` into the SQLite database `dst` (new or empty).
pub fn postgres_to_sqlite(
    src: &Target,
    dst: &mut Store,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Report> {
    let present = rows_present(|table| {
        Ok(dst
            .conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })?)
    })?;
    if !present.is_empty() {
        return Err(not_empty(&dst.path().display().to_string(), &present));
    }
    let mut client = postgres::connect(src)?;
    client
        .batch_execute(
            "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1",
        )
        .map_err(pg(src))?;
    let mut read = client
        .build_transaction()
        .isolation_level(::postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg(src))?;
    check_source_schema(&mut read, src)?;
    dst.conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let _keys_back_on = ForeignKeysOn(&dst.conn);
    let tx = dst.conn.unchecked_transaction()?;
    let report = fill_sqlite(&mut read, src, &tx, &|_| Some(String::new()), progress)?;
    tx.commit()?;
    read.commit().map_err(pg(src))?;
    Ok(report)
}

/// Fills the SQLite transaction `tx` from PostgreSQL's `read`: of each table the rows
/// meeting the condition `rows_of` gives (an SQL expression; empty: every row; `None`:
/// none), checked by count and sums, and every table's id counter, so that ids handed out
/// on the SQLite side continue the server's.
pub(crate) fn fill_sqlite(
    read: &mut ::postgres::Transaction,
    src: &Target,
    tx: &rusqlite::Transaction,
    rows_of: &dyn Fn(&str) -> Option<String>,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<Report> {
    // Foreign keys are checked once over the whole copy before the commit
    // (`foreign_key_check`) rather than row by row, and the indexes are built once after
    // the load: at a million deals the row-by-row upkeep took most of the time.
    let indexes: Vec<(String, String)> = tx
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    let mut report = Report {
        tables: Vec::new(),
        counters: 0,
    };
    for &table in TABLES {
        let cols = columns(read, src, tx, table)?;
        let copied = rows_of(table);
        let list = column_list(&cols);
        let placeholders = vec!["?"; cols.len()].join(", ");
        // Rows the schema made for itself (funnel_meta's, the intel row each customer gets)
        // are replaced by the copied ones.
        let verb = if matches!(table, "funnel_meta" | "customer_intel") {
            "INSERT OR REPLACE"
        } else {
            "INSERT"
        };
        let mut insert = tx.prepare(&format!(
            "{verb} INTO \"{table}\" ({list}) VALUES ({placeholders})"
        ))?;
        let filter = if let Some(only) = copied.as_ref().filter(|c| !c.is_empty()) {
            format!(" WHERE {only}")
        } else if copied.is_none() {
            " WHERE false".to_string()
        } else if table == "funnel_meta" {
            format!(
                " WHERE key NOT IN ({})",
                OWN_META
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        };
        let mut reader = read
            .copy_out(&format!(
                "COPY (SELECT {list} FROM \"{table}\"{filter}) TO STDOUT"
            ))
            .map_err(pg(src))?;
        let mut line = Vec::new();
        let mut n = 0u64;
        let mut values = Vec::with_capacity(cols.len());
        loop {
            line.clear();
            let got = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| invalid(format!("{table}: reading rows: {e}")))?;
            if got == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            values.clear();
            for (c, field) in cols.iter().zip(line.split(|b| *b == b'\t')) {
                values.push(sqlite_value(table, c, field)?);
            }
            if values.len() != cols.len() {
                return Err(invalid(format!(
                    "{table}: a row of {} fields where {} were expected",
                    values.len(),
                    cols.len()
                )));
            }
            insert
                .execute(rusqlite::params_from_iter(values.iter()))
                .map_err(|e| invalid(format!("{table} row {}: {e}", n + 1)))?;
            n += 1;
        }
        drop(reader);
        drop(insert);
        if table != "funnel_meta" && copied.is_some() {
            let from = pg_check(read, src, table, &cols, &filter)?;
            let to = sqlite_check(tx, table, &cols)?;
            verify(table, &cols, &from, &to)?;
        }
        if has_id(&cols) && table != "funnel_meta" && autoincrement(tx, table)? {
            let next: Option<i64> = read
                .query_one(
                    &format!(
                        "SELECT pg_sequence_last_value(pg_get_serial_sequence('\"{table}\"', 'id')::regclass)"
                    ),
                    &[],
                )
                .map_err(pg(src))?
                .get(0);
            let used = next.unwrap_or(0);
            if used > 0 {
                tx.execute(
                    "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
                    rusqlite::params![table, used],
                )?;
                tx.execute(
                    "INSERT INTO sqlite_sequence(name, seq)
                     SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
                    rusqlite::params![table, used],
                )?;
                report.counters += 1;
            }
        }
        progress(table, n);
        report.tables.push(TableCopy {
            table,
            rows: n,
            sums: if table == "funnel_meta" || copied.is_none() {
                0
            } else {
                cols.len()
            },
        });
    }
    for (name, sql) in &indexes {
        tx.execute_batch(sql).map_err(|e| {
            invalid(format!(
                "the copied rows break the index {name} ({e}); nothing was kept"
            ))
        })?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(invalid(format!(
            "{broken} copied rows break a foreign key; nothing was kept"
        )));
    }
    Ok(report)
}
/// Turns SQLite's foreign keys back on when the copy ends, however it ends.
struct ForeignKeysOn<'a>(&'a rusqlite::Connection);

impl Drop for ForeignKeysOn<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("PRAGMA foreign_keys = ON");
    }
}

fn autoincrement(conn: &rusqlite::Connection, table: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1
         AND sql LIKE '%AUTOINCREMENT%'",
        [table],
        |r| r.get(0),
    )?)
}

/// The source PostgreSQL database must be a funnel database at this schema.
fn check_source_schema(tx: &mut ::postgres::Transaction, t: &Target) -> Result<()> {
    let Some(v) = schema::version(tx, t)? else {
        return Err(invalid(format!("{t}: an empty database, nothing to copy")));
    };
    if v != super::db::SCHEMA_VERSION {
        return Err(invalid(format!(
            "{t}: schema version {v}, this funnel copies schema {}{}",
            super::db::SCHEMA_VERSION,
            if v > super::db::SCHEMA_VERSION {
                " (made by a newer funnel: upgrade funnel)"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_copied() {
        let store = Store::open_in_memory().unwrap();
        let mut names: Vec<String> = store
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let mut ours: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        names.sort();
        ours.sort();
        assert_eq!(names, ours);
    }

    #[test]
    fn copy_text_escapes_round_trip() {
        let c = Column {
            name: "note".into(),
            kind: Kind::Text,
        };
        let text = "tab\there\\back\nline\rcr — ünïcode";
        let mut buf = Vec::new();
        copy_field(&mut buf, "t", &c, &Value::Text(text.into())).unwrap();
        assert!(!buf.contains(&b'\t') && !buf.contains(&b'\n'));
        assert_eq!(
            sqlite_value("t", &c, &buf).unwrap(),
            Value::Text(text.into())
        );
        let mut null = Vec::new();
        copy_field(&mut null, "t", &c, &Value::Null).unwrap();
        assert_eq!(sqlite_value("t", &c, &null).unwrap(), Value::Null);
    }

    #[test]
    fn values_convert_both_ways_by_kind() {
        let col = |kind| Column {
            name: "c".into(),
            kind,
        };
        let mut b = Vec::new();
        copy_field(&mut b, "t", &col(Kind::Real), &Value::Real(0.1 + 0.2)).unwrap();
        assert_eq!(
            sqlite_value("t", &col(Kind::Real), &b).unwrap(),
            Value::Real(0.1 + 0.2)
        );
        assert_eq!(
            sqlite_value("t", &col(Kind::Bool), b"t").unwrap(),
            Value::Integer(1)
        );
        assert_eq!(
            sqlite_value("t", &col(Kind::Stamp), b"2026-09-01 09:00:00+00").unwrap(),
            Value::Text("2026-09-01T09:00:00Z".into())
        );
        let e = copy_field(
            &mut Vec::new(),
            "deals",
            &col(Kind::Date),
            &Value::Text("2026-02-30".into()),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("deals.c") && e.contains("'2026-02-30'"), "{e}");
    }

    #[test]
    fn checks_tell_a_missing_row_and_a_changed_sum() {
        let a = Check {
            rows: 2,
            sums: vec![Sum::Exact(10), Sum::Float(0.30000000000000004)],
        };
        let mut b = a.clone();
        b.sums[1] = Sum::Float(0.3);
        assert!(agree(&a, &b), "float sums in another order agree");
        b.sums[0] = Sum::Exact(11);
        assert!(!agree(&a, &b));
        let c = Check {
            rows: 1,
            ..a.clone()
        };
        assert!(!agree(&a, &c));
    }
}
