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
];

/// Whether an error (anywhere in a chain of sources) is SQLite giving up on a lock after
/// the busy timeout.
pub fn is_busy(e: &(dyn std::error::Error + 'static)) -> bool {
    let sqlite =
        e.downcast_ref::<rusqlite::Error>()
            .or_else(|| match e.downcast_ref::<StoreError>() {
                Some(StoreError::Sqlite(s)) => Some(s),
                _ => None,
            });
    matches!(
        sqlite.and_then(|s| s.sqlite_error_code()),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
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
    #[error("{0}")]
    Invalid(String),
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
        match std::fs::symlink_metadata(path) {
            Err(_) => create_private_file(path)?,
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
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
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

fn classify(e: rusqlite::Error, path: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotSqlite(path.to_path_buf()),
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
    pub fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
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

/// How many rows of user data each table holds, for saying what a clear removed.
pub fn data_counts(conn: &rusqlite::Connection) -> Result<Vec<(&'static str, i64)>> {
    const TABLES: [&str; 12] = [
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
    TABLES
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
