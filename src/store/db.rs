//! Opening a funnel database: file creation with mode 0600, pragmas, and migrations
//! versioned with `PRAGMA user_version`.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The schema migrations, embedded in the binary. Index `i` takes the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_orders_by_date_covering.sql"),
    include_str!("migrations/003_reference_ids_inferred_history.sql"),
    include_str!("migrations/004_audit_append_only.sql"),
    include_str!("migrations/005_ids_never_reused.sql"),
    include_str!("migrations/006_audit_display_name.sql"),
    include_str!("migrations/007_dashboard_forecast.sql"),
    include_str!("migrations/008_analysis_cache.sql"),
    include_str!("migrations/009_segments.sql"),
    include_str!("migrations/010_customer_intel.sql"),
    include_str!("migrations/011_plans_rules.sql"),
    include_str!("migrations/012_score_history.sql"),
];

/// The migration (an index into `MIGRATIONS`) that rebuilds the user-data tables with
/// AUTOINCREMENT; it runs with foreign keys off, as SQLite's table-rebuild procedure needs.
const REBUILD_MIGRATION: usize = 4;

/// Whether an error (anywhere in a chain of sources) is SQLite giving up on a lock after
/// the busy timeout.
pub fn is_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        sqlite_code(e),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// SQLite's error code, when the error is SQLite's (directly or as a store error).
fn sqlite_code(e: &(dyn std::error::Error + 'static)) -> Option<rusqlite::ErrorCode> {
    e.downcast_ref::<rusqlite::Error>()
        .or_else(|| match e.downcast_ref::<StoreError>() {
            Some(StoreError::Sqlite(s)) => Some(s),
            _ => None,
        })
        .and_then(|s| s.sqlite_error_code())
}

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT_SECS: u64 = 5;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}: not a SQLite database (is this the right file?)")]
    NotSqlite(PathBuf),
    #[error("{0}: a SQLite database, but not a funnel database (it has other tables)")]
    NotFunnel(PathBuf),
    #[error(
        "{path}: this database has schema version {found}, made by a newer funnel; this funnel \
         knows versions up to {known}. Upgrade funnel to open it"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] super::postgres::PgError),
    /// Writing out what was read (an export to a file or a pipe) failed; the io error is
    /// the source (shown after it in the error chain, and told apart by its kind).
    #[error("writing the export")]
    Output(#[source] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "{path}: this database failed its integrity check ({why}); writes are refused so that \
         nothing more is written into a damaged file. `funnel doctor` shows the damage; \
         `funnel restore BACKUP` goes back to a backup (the damaged file is kept aside)"
    )]
    Damaged { path: PathBuf, why: String },
    /// A form's row changed (another process, another screen) after the form read it.
    #[error("this {entity} was changed by someone else after the form was opened")]
    Conflict { entity: &'static str, id: i64 },
    /// A value a form gave that the database cannot take, named by field.
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open funnel database.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrating it to the current schema.
    pub fn open(path: &Path) -> Result<Store> {
        let invalid = |why: &str| StoreError::Invalid(format!("{}: {why}", path.display()));
        let mut created = false;
        match std::fs::symlink_metadata(path) {
            Err(_) => {
                create_private_file(path)?;
                created = true;
            }
            Ok(meta) => {
                if meta.file_type().is_symlink() && !path.exists() {
                    return Err(invalid(&format!(
                        "a symbolic link to {}, which does not exist",
                        std::fs::read_link(path)
                            .map(|t| t.display().to_string())
                            .unwrap_or_else(|_| "nothing".into())
                    )));
                }
                let target = std::fs::metadata(path).map_err(|e| invalid(&e.to_string()))?;
                if !target.is_file() {
                    return Err(invalid(
                        "not a regular file (a database is a file; give a file path)",
                    ));
                }
                if target.len() == 0 {
                    return Err(invalid(
                        "an empty file, not a funnel database: remove it, or give a new path and funnel creates the database there",
                    ));
                }
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(e, path))?;
        super::crypto::unlock(&conn, path, created)?;
        Self::setup(conn, path.to_path_buf())
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(conn: Connection, path: PathBuf) -> Result<Store> {
        // The first read of the header tells a non-SQLite file apart.
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(e, &path))?;
        conn.busy_timeout(std::time::Duration::from_secs(BUSY_TIMEOUT_SECS))?;
        // Another application's database (whatever its user_version) is not ours to touch.
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        let has_meta: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'funnel_meta'",
            [],
            |r| r.get(0),
        )?;
        if (version == 0 && tables > 0) || (version > 0 && !has_meta) {
            return Err(StoreError::NotFunnel(path));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if path.as_os_str() != ":memory:" {
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;",
        )?;
        let mut store = Store { conn, path };
        store.migrate(version)?;
        Ok(store)
    }

    /// Brings a database of schema `from` (a restored backup, say) to the current schema.
    pub(crate) fn migrate_from(&mut self, from: i64) -> Result<()> {
        self.migrate(from)
    }

    fn migrate(&mut self, from: i64) -> Result<()> {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
            let rebuild = i == REBUILD_MIGRATION;
            if rebuild {
                // Outside any transaction: the pragma is a no-op inside one.
                self.conn.execute_batch("PRAGMA foreign_keys = OFF")?;
            }
            let result = self.migrate_one(i, sql, rebuild);
            if rebuild {
                self.conn.execute_batch("PRAGMA foreign_keys = ON")?;
            }
            result?;
        }
        Ok(())
    }

    fn migrate_one(&mut self, i: usize, sql: &str, rebuild: bool) -> Result<()> {
        self.refuse_if_damaged()?;
        {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            if rebuild {
                ids_never_reused(&tx)?;
            }
            if i == 0 {
                tx.execute(
                    "INSERT INTO funnel_meta(key, value) VALUES ('created_at', ?1), ('currency', 'USD')",
                    [chrono::Utc::now().to_rfc3339()],
                )?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Direct access for the store's own modules and for tests that inspect the schema.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Rebuilds every user-data table with `INTEGER PRIMARY KEY AUTOINCREMENT` (SQLite's
/// twelve-step procedure: new table, copy, drop, rename, indexes again), then raises each
/// table's sequence to the largest id its audit trail names, so that ids of rows deleted
/// before this migration are not handed out again either. Runs inside the migration's
/// transaction with foreign keys off; the foreign-key check at the end must come back empty.
fn ids_never_reused(tx: &Connection) -> Result<()> {
    use super::audit::ALL_ENTITIES;
    for entity in ALL_ENTITIES {
        let table = entity.table();
        let sql: String = tx.query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )?;
        if sql.contains("AUTOINCREMENT") {
            continue;
        }
        let head = format!("CREATE TABLE {table} (");
        let key = "INTEGER PRIMARY KEY";
        let (Some(rest), true) = (sql.strip_prefix(&head), sql.contains(key)) else {
            return Err(StoreError::Invalid(format!(
                "cannot migrate table {table}: unexpected definition"
            )));
        };
        let new_table = format!(
            "CREATE TABLE {table}__new ({}",
            rest.replacen(key, "INTEGER PRIMARY KEY AUTOINCREMENT", 1)
        );
        let others: Vec<String> = tx
            .prepare(
                "SELECT sql FROM sqlite_master
                 WHERE type IN ('index', 'trigger') AND tbl_name = ?1 AND sql IS NOT NULL",
            )?
            .query_map([table], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        tx.execute_batch(&new_table)?;
        tx.execute_batch(&format!(
            "INSERT INTO {table}__new SELECT * FROM {table};
             DROP TABLE {table};
             ALTER TABLE {table}__new RENAME TO {table};"
        ))?;
        for sql in others {
            tx.execute_batch(&sql)?;
        }
        let seen: i64 = tx.query_row(
            &format!(
                "SELECT max(coalesce((SELECT max(id) FROM {table}), 0),
                            coalesce((SELECT max(coalesce(entity_id_last, entity_id))
                                      FROM audit_log WHERE entity = ?1), 0))"
            ),
            [entity.name()],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM sqlite_sequence WHERE name = ?1", [table])?;
        tx.execute(
            "INSERT INTO sqlite_sequence(name, seq) VALUES (?1, ?2)",
            rusqlite::params![table, seen],
        )?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        return Err(StoreError::Invalid(format!(
            "cannot migrate: {broken} rows break a foreign key; run `funnel doctor`"
        )));
    }
    Ok(())
}

/// The id the next row of `table` will get: ids are never reused, so this is one past the
/// largest ever handed out, not one past the largest present.
pub fn next_id(conn: &Connection, table: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0),
                        coalesce((SELECT max(id) FROM {table}), 0)) + 1"
        ),
        [table],
        |r| r.get(0),
    )?)
}

fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => super::crypto::unreadable(path),
        // Say why in the operating system's words: the file or its directory (where SQLite
        // keeps the WAL) cannot be opened for writing.
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) => {
            let why = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
                Err(io) => io.to_string(),
                Ok(_) => "its directory is not writable (SQLite keeps its write-ahead log beside the database)".into(),
            };
            StoreError::Invalid(format!(
                "{}: cannot open the database: {why}",
                path.display()
            ))
        }
        _ => StoreError::Sqlite(e),
    }
}

/// Creates an empty file readable only by its owner, so that the database (and the WAL
/// files SQLite gives the same mode) never holds customer data for other users to read.
pub(crate) fn create_private_file(path: &Path) -> Result<()> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(io)?;
    Ok(())
}

impl Store {
    /// Runs a bulk load of generated rows: with a rollback journal instead of the WAL (pages
    /// appended to the file then need no journal copy, so the data is written once, not
    /// twice) and with foreign keys checked once over the whole load (see
    /// [`check_foreign_keys`]) instead of one lookup per reference per row. Still atomic: a
    /// crash rolls the load back. WAL and per-row checks are restored afterwards.
    pub fn with_bulk_load<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T> {
        let in_file = self.path.as_os_str() != ":memory:";
        if in_file {
            self.conn
                .query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        }
        self.conn.execute_batch("PRAGMA foreign_keys = OFF")?;
        let out = f(self);
        self.conn.execute_batch("PRAGMA foreign_keys = ON")?;
        if in_file {
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        Ok(out)
    }

    /// Starts a transaction for a use case that writes many rows at once.
    /// A write transaction, started as one (`BEGIN IMMEDIATE`): it waits its turn behind
    /// other writers for the busy timeout, instead of failing at once when a read has to
    /// become a write.
    /// A write transaction (immediate: it waits for other writers up front rather than
    /// failing when a read must become a write). Refused while the database is marked as
    /// failing its integrity check.
    pub fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        self.refuse_if_damaged()?;
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

/// The file beside a database that records that it failed an integrity check.
pub fn damage_marker(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.damaged", path.display()))
}

/// The schema version of the funnel database at `path` when opening it will rebuild its
/// tables (an upgrade across migration 005, about a minute per million deals), so that
/// the front end can say so first. `None` when not, or when it cannot tell.
pub fn slow_upgrade_pending(path: &Path) -> Option<i64> {
    if !path.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    super::crypto::unlock(&conn, path, false).ok()?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .ok()?;
    // Every command asks: the deals are counted only when the upgrade is due.
    if version < 1 || version > REBUILD_MIGRATION as i64 {
        return None;
    }
    let deals: i64 = conn
        .query_row("SELECT count(*) FROM deals", [], |r| r.get(0))
        .ok()?;
    (deals > 100_000).then_some(version)
}

/// Marks the database at `path` damaged (see `Store::mark_damaged`), for a caller that
/// no longer holds the store.
pub fn mark_damaged_at(path: &Path, why: &str) {
    if path.as_os_str() != ":memory:" {
        let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let why: String = why.chars().filter(|c| !c.is_control()).take(300).collect();
        // Best effort: a directory we cannot write to also refuses the writes.
        let _ = std::fs::write(damage_marker(path), format!("{stamp} {why}\n"));
    }
}

/// Whether an error (anywhere in a chain of sources) is SQLite finding the file damaged.
pub fn is_corrupt(e: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        sqlite_code(e),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl Store {
    /// Records that the database failed an integrity check (a read hit a damaged page, or
    /// `doctor` found damage): until it passes again or is restored, writes are refused.
    pub fn mark_damaged(&self, why: &str) {
        mark_damaged_at(&self.path, why);
    }

    /// Lifts the refusal, after a clean integrity check or a restore.
    pub fn clear_damaged(&self) {
        let _ = std::fs::remove_file(damage_marker(&self.path));
    }

    pub(crate) fn refuse_if_damaged(&self) -> Result<()> {
        match std::fs::read_to_string(damage_marker(&self.path)) {
            Ok(why) => Err(StoreError::Damaged {
                path: self.path.clone(),
                why: why.trim().to_string(),
            }),
            Err(_) => Ok(()),
        }
    }
}

/// Fails if any row points at a missing parent. Run inside a bulk load's transaction,
/// before commit, so a bad load is rolled back whole.
pub fn check_foreign_keys(conn: &rusqlite::Connection) -> Result<()> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    if let Some(r) = rows.next()? {
        let table: String = r.get(0)?;
        let rowid: Option<i64> = r.get(1)?;
        let parent: String = r.get(2)?;
        return Err(StoreError::Invalid(format!(
            "bulk load left {table} row {} pointing at a missing {parent} row",
            rowid.unwrap_or(0)
        )));
    }
    Ok(())
}

/// The tables of user data, for saying what a clear removed (on either backend).
pub(crate) const DATA_TABLES: [&str; 12] = [
    "customers",
    "contacts",
    "deals",
    "stage_changes",
    "activities",
    "orders",
    "targets",
    "teams",
    "reps",
    "products",
    "stages",
    "forecast_runs",
];

/// How many rows of user data each table holds, for saying what a clear removed.
pub fn data_counts(conn: &rusqlite::Connection) -> Result<Vec<(&'static str, i64)>> {
    DATA_TABLES
        .iter()
        .map(|t| {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            Ok((*t, n))
        })
        .collect()
}

/// Deletes every row of user data (not the schema, the audit log or the import batches),
/// children first. For `demo --force`.
pub fn clear_all_data(conn: &rusqlite::Connection) -> Result<()> {
    // Earlier import batches can no longer be reverted: their rows are gone, and their id
    // ranges would now name new, unrelated rows.
    conn.execute(
        "UPDATE import_batches SET reverted_at = 'removed by demo --force at ' || ?1 WHERE reverted_at IS NULL",
        [chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
    )?;
    conn.execute_batch(
        "DELETE FROM forecast_points; DELETE FROM forecast_history; DELETE FROM forecast_runs; DELETE FROM deal_scores; DELETE FROM model_runs;
         DELETE FROM customer_intel; DELETE FROM intel_runs;
         DELETE FROM segment_members; DELETE FROM segment_profiles; DELETE FROM segment_runs;
         DELETE FROM target_revisions; DELETE FROM targets; DELETE FROM orders;
         DELETE FROM activities; DELETE FROM stage_changes; DELETE FROM deals;
         DELETE FROM contacts; DELETE FROM customers; DELETE FROM stages; DELETE FROM products;
         DELETE FROM reps; UPDATE teams SET parent_id = NULL; DELETE FROM teams;",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_migrated_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.db");
        let store = Store::open(&path).unwrap();
        let v: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let fk: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perm = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(perm & 0o777, 0o600);
        }
        drop(store);
        Store::open(&path).expect("reopens");
    }

    #[test]
    fn refuses_newer_foreign_and_non_sqlite_files() {
        let dir = tempfile::tempdir().unwrap();
        let newer = dir.path().join("newer.db");
        drop(Store::open(&newer).unwrap());
        Connection::open(&newer)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            Store::open(&newer),
            Err(StoreError::TooNew { .. })
        ));

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE t(x)")
            .unwrap();
        assert!(matches!(
            Store::open(&foreign),
            Err(StoreError::NotFunnel(_))
        ));

        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "this is not a database, just some text that is long enough",
        )
        .unwrap();
        let err = Store::open(&text).err().expect("refused");
        assert!(matches!(err, StoreError::NotSqlite(_)), "{err}");
    }
}
