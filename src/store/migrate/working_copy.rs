//! CSV import on PostgreSQL, through a SQLite working copy. The importer (layout, date
//! order, validation, upserts by external id, stage history, the order ledger, the audit
//! trail) is one piece of code, written for SQLite; rather than a second copy of it in
//! PostgreSQL's dialect, whose answers could drift apart, it runs unchanged on a working
//! copy of the server's data, and what it changed there is applied to the server:
//!
//! 1. One transaction on the server locks the tables an import writes (`EXCLUSIVE`: others
//!    go on reading; a second writer waits until the import ends, as on SQLite).
//! 2. The tables the importer reads are copied into a new SQLite file in the temporary
//!    directory, with every id counter (`migrate`'s copy, checked by count and sums).
//!    Derived results and logs it neither reads nor changes (the audit log it only
//!    appends to, caches, model runs, segments, plans, rules) stay on the server.
//! 3. The importer runs on the copy. Triggers there note which rows it updated or
//!    deleted; the rows it inserted are those above each table's largest id before it ran.
//! 4. The rows it deleted are deleted on the server (children first), the rows it inserted
//!    are copied in and the rows it updated overwritten (parents first, by `COPY`), the
//!    batch and its audit entries appended, and the id counters moved on. Every table the
//!    import changed is then checked against the copy, row count and every column's sum,
//!    before the commit: the server's table must now be exactly the copy's.
//!
//! A dry run, refused rows or any failure roll the server back untouched; the working copy
//! is removed however the import ends.

use super::{column_list, columns, copy_rows, pg, pg_check, sqlite_check, verify, Column};
use super::{fill_sqlite, invalid, sqlite_counter};
use crate::domain::audit::Actor;
use crate::domain::import::{ImportKind, ImportReport};
use crate::store::db::Result;
use crate::store::import::{FileKeys, ImportError, ImportOptions};
use crate::store::postgres::Target;
use crate::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether no import reads or changes rows of `table` (derived results and logs: the
/// audit log it only appends to, caches, model runs, segments, plans, rules): never
/// copied. Imports read and write the audited entities, and add an import batch.
fn never_read(table: &str) -> bool {
    !matches!(table, "funnel_meta" | "import_batches") && !written().contains(&table)
}

/// The deals a file names, on the server (`funnel_deal_keys` holds their external ids).
const NAMED_DEALS: &str =
    "SELECT d.id FROM deals d JOIN funnel_deal_keys k ON k.key = d.external_id";

/// Which rows of `table` an import of `kind` may read or change, as an SQL condition on
/// the server (empty: all; `None`: none). The organisation, the customers and the targets
/// are small next to the deals and go whole; of the deals and what hangs on them only
/// the rows the file names (its keys are in the temporary tables `funnel_deal_keys` and
/// `funnel_own_keys`), or all of them when the file's rows have no key to find them by.
fn rows_for(kind: ImportKind, keys: &FileKeys, table: &str) -> Option<String> {
    use ImportKind::*;
    let all = Some(String::new());
    if never_read(table) {
        return None;
    }
    let deals_named = |sql: &str| match &keys.deals {
        Some(_) => Some(sql.to_string()),
        None => all.clone(),
    };
    let own_named = || match &keys.own {
        Some(_) => Some("external_id IN (SELECT key FROM funnel_own_keys)".to_string()),
        None => all.clone(),
    };
    let with_deals = matches!(kind, Deals | StageChanges | Activities | Orders);
    match table {
        "contacts" if matches!(kind, Contacts | Activities) => all,
        "contacts" => None,
        "deals" if with_deals => {
            let named = "external_id IN (SELECT key FROM funnel_deal_keys)";
            // And the deals the copied orders or activities hang on.
            let child = match kind {
                Orders => Some("orders"),
                Activities => Some("activities"),
                _ => None,
            };
            match child.map(|c| (c, rows_for(kind, keys, c))) {
                Some((c, Some(cond))) => deals_named(&format!(
                    "id IN (SELECT id FROM deals WHERE {named} UNION SELECT deal_id FROM {c}{})",
                    if cond.is_empty() {
                        String::new()
                    } else {
                        format!(" WHERE {cond}")
                    }
                )),
                _ => deals_named(named),
            }
        }
        "stage_changes" if matches!(kind, Deals | StageChanges) => {
            deals_named(&format!("deal_id IN ({NAMED_DEALS})"))
        }
        "orders" if matches!(kind, Deals | StageChanges) => {
            deals_named(&format!("deal_id IN ({NAMED_DEALS})"))
        }
        "orders" if kind == Orders => match (&keys.deals, &keys.own) {
            (Some(_), Some(_)) => Some(format!(
                "id IN (SELECT id FROM orders WHERE external_id IN (SELECT key FROM funnel_own_keys)
                        UNION SELECT o.id FROM orders o WHERE o.deal_id IN ({NAMED_DEALS}))"
            )),
            _ => all,
        },
        "activities" if kind == Activities => own_named(),
        "deals" | "stage_changes" | "orders" | "activities" => None,
        _ => all,
    }
}

/// The tables an import writes rows of, parents before children: the audited entities'.
/// (Besides these it adds one `import_batches` row and appends to `audit_log`; the
/// server's own trigger gives each new customer its `customer_intel` row.)
fn written() -> Vec<&'static str> {
    crate::domain::audit::ALL_ENTITIES
        .iter()
        .map(|e| e.table())
        .collect()
}

/// The new SQLite file the import runs on, removed (with its journal files) when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Scratch(
            std::env::temp_dir().join(format!("funnel-import-{}-{nanos}.db", std::process::id())),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

/// Imports one file into the PostgreSQL database `target` (see the module's notes).
pub fn import_on_postgres(
    client: &mut ::postgres::Client,
    target: &Target,
    kind: ImportKind,
    path: &Path,
    opts: &ImportOptions,
    actor: &Actor,
) -> std::result::Result<ImportReport, ImportError> {
    let t = target;
    let mut tx = client.transaction().map_err(pg(t))?;
    // The import holds its locks for its whole length: if this process dies while the
    // server runs one of its statements, the server should notice the closed connection
    // and roll back within seconds rather than when the statement ends (PostgreSQL 14+;
    // an idle connection's end is noticed at once anyway).
    let version: i32 = tx
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map_err(pg(t))?
        .get(0);
    if version >= 140_000 {
        tx.batch_execute("SET LOCAL client_connection_check_interval = '2s'")
            .map_err(pg(t))?;
    }
    let mut locked: Vec<&str> = written();
    locked.extend(["import_batches", "audit_log", "customer_intel"]);
    tx.batch_execute(&format!(
        "SET CONSTRAINTS ALL DEFERRED; LOCK TABLE {} IN EXCLUSIVE MODE",
        locked.join(", ")
    ))
    .map_err(pg(t))?;
    let keys = crate::store::import::file_keys(kind, path, opts);
    for (name, list) in [
        ("funnel_deal_keys", &keys.deals),
        ("funnel_own_keys", &keys.own),
    ] {
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE {name} (key TEXT PRIMARY KEY) ON COMMIT DROP"
        ))
        .map_err(pg(t))?;
        let mut w = tx
            .copy_in(&format!("COPY {name} (key) FROM STDIN"))
            .map_err(pg(t))?;
        let mut buf = Vec::new();
        for k in list.iter().flatten() {
            super::escape_into(&mut buf, k);
            buf.push(b'\n');
        }
        w.write_all(&buf)
            .map_err(|e| invalid(format!("{name}: sending keys: {e}")))?;
        w.finish().map_err(pg(t))?;
        tx.batch_execute(&format!("ANALYZE {name}"))
            .map_err(pg(t))?;
    }
    let plan: Vec<(&str, Option<String>)> = super::TABLES
        .iter()
        .map(|&table| (table, rows_for(kind, &keys, table)))
        .collect();
    let rows_of = |table: &str| -> Option<String> {
        plan.iter().find(|p| p.0 == table).and_then(|p| p.1.clone())
    };
    let scratch = Scratch::new();
    let mut store = Store::open(&scratch.0)?;
    // The copy, its id counters, and the largest id of each table before the import.
    let baseline = {
        store.conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        let stx = store.conn.unchecked_transaction()?;
        fill_sqlite(&mut tx, t, &stx, &rows_of, &mut |_, _| {})?;
        // The batch the import adds takes the server's next batch id (the copy would give
        // the largest id plus one, and the server may have handed out more).
        let served: Option<i64> = tx
            .query_one(
                "SELECT pg_sequence_last_value(pg_get_serial_sequence('import_batches', 'id')::regclass)",
                &[],
            )
            .map_err(pg(t))?
            .get(0);
        let largest = largest_id(&stx, "import_batches")?;
        let reserved = served.filter(|&s| s > largest);
        if let Some(served) = reserved {
            stx.execute(
                "INSERT INTO import_batches(id, kind, file, vendor, created_at, os_user)
                 VALUES (?1, 'reserved', '', '', '', '')",
                [served],
            )?;
        }
        let mut baseline = Vec::new();
        for table in written().iter().chain(&["import_batches"]) {
            // Above the server's counter (copied to the copy's), where the import's new
            // rows begin: the rows not copied lie below it too.
            let counter = sqlite_counter(&stx, table)?;
            baseline.push((*table, largest_id(&stx, table)?.max(counter)));
        }
        stx.commit()?;
        store.conn.execute_batch("PRAGMA foreign_keys = ON")?;
        (baseline, reserved)
    };
    let (baseline, reserved) = baseline;
    watch_changes(&store.conn)?;
    let report = crate::store::import::import_file(&mut store, kind, path, opts, actor)?;
    if !report.committed {
        tx.rollback().map_err(pg(t))?;
        return Ok(report);
    }
    if let Some(id) = reserved {
        // Not the server's: the copy's batches are now the server's but for the new one.
        store.conn.execute(
            "DELETE FROM import_batches WHERE id = ?1 AND kind = 'reserved'",
            [id],
        )?;
    }
    apply(&mut tx, t, &store.conn, &baseline, &rows_of)?;
    tx.commit().map_err(pg(t))?;
    Ok(report)
}

fn largest_id(conn: &rusqlite::Connection, table: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!("SELECT coalesce(max(id), 0) FROM \"{table}\""),
        [],
        |r| r.get(0),
    )?)
}

/// Triggers on the copy that note each row the import updates or deletes (in the copy's
/// own schema, not as temporary objects: a large import changes `temp_store`, which drops
/// those).
fn watch_changes(conn: &rusqlite::Connection) -> Result<()> {
    let mut sql = String::from(
        "CREATE TABLE funnel_touched(tbl TEXT NOT NULL, id INTEGER NOT NULL, deleted INTEGER NOT NULL,
             PRIMARY KEY (tbl, id, deleted)) WITHOUT ROWID;\n",
    );
    for table in written() {
        sql.push_str(&format!(
            "CREATE TRIGGER funnel_touched_{table}_u AFTER UPDATE ON \"{table}\"
             BEGIN INSERT OR IGNORE INTO funnel_touched VALUES ('{table}', new.id, 0); END;
             CREATE TRIGGER funnel_touched_{table}_d AFTER DELETE ON \"{table}\"
             BEGIN INSERT OR IGNORE INTO funnel_touched VALUES ('{table}', old.id, 1); END;\n"
        ));
    }
    conn.execute_batch(&sql)?;
    Ok(())
}

/// The ids of `table`'s rows that were there before the import and that it updated
/// (`deleted` false; rows since deleted left out) or deleted.
fn touched(
    conn: &rusqlite::Connection,
    table: &str,
    before: i64,
    deleted: bool,
) -> Result<Vec<i64>> {
    let sql = if deleted {
        "SELECT id FROM funnel_touched WHERE tbl = ?1 AND deleted = 1 AND id <= ?2 ORDER BY id"
    } else {
        "SELECT id FROM funnel_touched t WHERE tbl = ?1 AND deleted = 0 AND id <= ?2
           AND NOT EXISTS (SELECT 1 FROM funnel_touched d WHERE d.tbl = t.tbl AND d.id = t.id AND d.deleted = 1)
         ORDER BY id"
    };
    let ids = conn
        .prepare(sql)?
        .query_map(rusqlite::params![table, before], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Puts what the import did on the copy onto the server (see the module's notes).
fn apply(
    tx: &mut ::postgres::Transaction,
    t: &Target,
    copy: &rusqlite::Connection,
    baseline: &[(&str, i64)],
    rows_of: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let before = |table: &str| baseline.iter().find(|b| b.0 == table).map_or(0, |b| b.1);
    // Deleted rows, children first.
    let mut changed: Vec<&str> = Vec::new();
    for &table in written().iter().rev() {
        let ids = touched(copy, table, before(table), true)?;
        if !ids.is_empty() {
            tx.execute(
                &format!("DELETE FROM \"{table}\" WHERE id = ANY($1)"),
                &[&ids],
            )
            .map_err(pg(t))?;
            changed.push(table);
        }
    }
    // New and updated rows, parents first (the batch before the audit entries naming it).
    let mut columns_of: Vec<(&str, Vec<Column>)> = Vec::new();
    for &table in written().iter().chain(&["import_batches"]) {
        let cols = columns(tx, t, copy, table)?;
        let list = column_list(&cols);
        let inserted = send(
            tx,
            t,
            copy,
            table,
            &cols,
            &format!("COPY \"{table}\" ({list}) FROM STDIN"),
            "id > ?1",
            rusqlite::params![before(table)],
        )?;
        let updated = touched(copy, table, before(table), false)?;
        if !updated.is_empty() {
            tx.batch_execute(&format!(
                "CREATE TEMP TABLE funnel_updated (LIKE \"{table}\") ON COMMIT DROP"
            ))
            .map_err(pg(t))?;
            let ids = serde_json::to_string(&updated).unwrap_or_default();
            send(
                tx,
                t,
                copy,
                table,
                &cols,
                &format!("COPY funnel_updated ({list}) FROM STDIN"),
                "id IN (SELECT value FROM json_each(?1))",
                rusqlite::params![ids],
            )?;
            let set: Vec<String> = cols
                .iter()
                .filter(|c| c.name != "id")
                .map(|c| format!("\"{0}\" = u.\"{0}\"", c.name))
                .collect();
            let n = tx
                .execute(
                    &format!(
                        "UPDATE \"{table}\" r SET {} FROM funnel_updated u WHERE r.id = u.id",
                        set.join(", ")
                    ),
                    &[],
                )
                .map_err(pg(t))?;
            if n != updated.len() as u64 {
                return Err(invalid(format!(
                    "{table}: {} rows to update, {n} found on the server; nothing was imported",
                    updated.len()
                )));
            }
            tx.batch_execute("DROP TABLE funnel_updated")
                .map_err(pg(t))?;
        }
        if (inserted > 0 || !updated.is_empty()) && !changed.contains(&table) {
            changed.push(table);
        }
        // Ids go on from the copy's counters (a row inserted and removed again took one).
        let counter = sqlite_counter(copy, table)?.max(largest_id(copy, table)?);
        if counter > 0 {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), greatest($1::bigint,
                        coalesce(pg_sequence_last_value(pg_get_serial_sequence('\"{table}\"', 'id')::regclass), 1)))"
                ),
                &[&counter],
            )
            .map_err(pg(t))?;
        }
        columns_of.push((table, cols));
    }
    // The audit entries, numbered by the server after its own.
    let audit: Vec<Column> = columns(tx, t, copy, "audit_log")?
        .into_iter()
        .filter(|c| c.name != "id")
        .collect();
    let first: i64 = tx
        .query_one("SELECT coalesce(max(id), 0) FROM audit_log", &[])
        .map_err(pg(t))?
        .get(0);
    let entries = send(
        tx,
        t,
        copy,
        "audit_log",
        &audit,
        &format!("COPY audit_log ({}) FROM STDIN", column_list(&audit)),
        "id > ?1",
        rusqlite::params![0],
    )?;
    let written: i64 = tx
        .query_one("SELECT count(*) FROM audit_log WHERE id > $1", &[&first])
        .map_err(pg(t))?
        .get(0);
    if written != entries as i64 {
        return Err(invalid(format!(
            "audit_log: {entries} entries sent, {written} written; nothing was imported"
        )));
    }
    // The server's rows that were copied, and those added, must now be exactly the copy's.
    for (table, cols) in columns_of.iter().filter(|c| changed.contains(&c.0)) {
        let (table, cols) = (*table, cols.as_slice());
        // (A union, not `OR`: PostgreSQL cannot hash a subquery under `OR` once its keys
        // outgrow work_mem, and then scans it once per row.)
        let copied = match rows_of(table) {
            Some(c) if c.is_empty() => String::new(),
            Some(c) => format!(
                " WHERE id IN (SELECT id FROM \"{table}\" WHERE {c} UNION SELECT id FROM \"{table}\" WHERE id > {})",
                before(table)
            ),
            None => format!(" WHERE id > {}", before(table)),
        };
        let server = pg_check(tx, t, table, cols, &copied)?;
        let local = sqlite_check(copy, table, cols)?;
        verify(table, cols, &local, &server)?;
    }
    Ok(())
}

/// Sends the copy's rows of `table` matching `filter` (in id order) through `copy_sql`.
#[allow(clippy::too_many_arguments)]
fn send(
    tx: &mut ::postgres::Transaction,
    t: &Target,
    copy: &rusqlite::Connection,
    table: &str,
    cols: &[Column],
    copy_sql: &str,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<u64> {
    let mut stmt = copy.prepare(&format!(
        "SELECT {} FROM \"{table}\" WHERE {filter} ORDER BY id",
        column_list(cols)
    ))?;
    let mut rows = stmt.query(params)?;
    copy_rows(tx, t, &mut rows, table, cols, copy_sql, &mut |_| Ok(()))
}
