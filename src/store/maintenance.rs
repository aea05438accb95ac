//! Keeping a database safe: online backups verified before they are reported done, restore
//! from a checked backup (the current database kept aside first), and a health check.

use super::db::{Result, Store, StoreError, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// What `doctor` found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Health {
    pub schema_version: i64,
    /// `ok`, or the problems SQLite's integrity check lists.
    pub integrity: Vec<String>,
    /// Rows whose foreign key points at nothing.
    pub foreign_key_violations: usize,
    /// Size of the write-ahead log not yet checkpointed into the database file.
    pub wal_bytes: u64,
    /// Won deals without their order in the ledger.
    pub won_without_order: i64,
    /// Orders of deals that are not won (a ledger out of step).
    pub orders_of_unwon_deals: i64,
    /// Stage-history rows recorded, and inferred from a deal's dates.
    pub history_real: i64,
    pub history_inferred: i64,
}

impl Health {
    pub fn healthy(&self) -> bool {
        self.integrity == ["ok"]
            && self.foreign_key_violations == 0
            && self.won_without_order == 0
            && self.orders_of_unwon_deals == 0
    }
}

/// Runs SQLite's integrity check on a connection: `["ok"]` when sound.
fn integrity(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(20)")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Opens a file that should be a funnel database, read-only, and checks it: a SQLite file,
/// with funnel's tables, a schema this funnel knows, and a clean integrity check.
fn checked_copy(path: &Path) -> Result<Connection> {
    let invalid = |why: String| StoreError::Invalid(format!("{}: {why}", path.display()));
    if !path.is_file() {
        return Err(invalid("no such file".into()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    super::crypto::unlock(&conn, path, false)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|_| super::crypto::unreadable(path))?;
    let funnel: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'funnel_meta')",
        [],
        |r| r.get(0),
    )?;
    if !funnel || version < 1 {
        return Err(invalid("not a funnel database".into()));
    }
    if version > SCHEMA_VERSION {
        return Err(invalid(format!(
            "schema version {version}, newer than this funnel knows ({SCHEMA_VERSION})"
        )));
    }
    let check = integrity(&conn)?;
    if check != ["ok"] {
        return Err(invalid(format!(
            "fails its integrity check: {}",
            check.join("; ")
        )));
    }
    Ok(conn)
}

/// Copies a database file and its write-ahead log byte for byte (mode 0600), for a
/// damaged database that SQLite cannot copy.
fn copy_files_as_they_are(db: &Path, dest: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    for (from, to) in [
        (db.to_path_buf(), dest.to_path_buf()),
        (
            PathBuf::from(format!("{}-wal", db.display())),
            PathBuf::from(format!("{}-wal", dest.display())),
        ),
    ] {
        if !from.exists() {
            continue;
        }
        super::db::create_private_file(&to)?;
        let mut reader = std::fs::File::open(&from).map_err(io(&from))?;
        let mut writer = std::fs::OpenOptions::new()
            .write(true)
            .open(&to)
            .map_err(io(&to))?;
        std::io::copy(&mut reader, &mut writer).map_err(io(&to))?;
        writer.sync_all().map_err(io(&to))?;
    }
    Ok(())
}

impl Store {
    /// Writes a consistent copy of the database to `dest` (a new file, mode 0600) while
    /// others may go on reading and writing, then checks the copy's integrity before
    /// reporting it done. Returns the copy's size.
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        if dest.exists() {
            return Err(StoreError::Invalid(format!(
                "{}: already exists; a backup never replaces a file",
                dest.display()
            )));
        }
        let text = dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("{}: not a UTF-8 path", dest.display())))?;
        // Created empty with mode 0600 first (VACUUM INTO fills an empty file), so the copy
        // is never readable by others, not even for a moment.
        super::db::create_private_file(dest)?;
        if let Err(e) = self.conn.execute("VACUUM INTO ?1", [text]) {
            let _ = std::fs::remove_file(dest);
            return Err(e.into());
        }
        let verified = checked_copy(dest);
        if let Err(e) = verified {
            let _ = std::fs::remove_file(dest);
            return Err(StoreError::Invalid(format!(
                "the backup failed its check: {e}"
            )));
        }
        Ok(std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0))
    }

    /// Replaces the database's contents with the backup at `src` after checking it (a
    /// funnel database of a known schema that passes its integrity check). The current
    /// contents are first saved to `keep_aside`. The copy is SQLite's online backup, one
    /// step: other connections see the old data or the new, never a mix. An older backup
    /// is brought to the current schema.
    pub fn restore_from(&mut self, src: &Path, keep_aside: &Path) -> Result<()> {
        let source = checked_copy(src)?;
        match self.backup_to(keep_aside) {
            Ok(_) => {}
            // A damaged database cannot be read whole: keep its files as they are.
            Err(StoreError::Sqlite(e)) if super::db::is_corrupt(&e) => {
                let _ = std::fs::remove_file(keep_aside);
                copy_files_as_they_are(self.path(), keep_aside)?;
            }
            Err(e) => return Err(e),
        }
        {
            let backup = rusqlite::backup::Backup::new(&source, &mut self.conn)?;
            backup.step(-1)?;
        }
        // The restored contents passed their integrity check: writes are allowed again.
        self.clear_damaged();
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        self.migrate_from(version)?;
        Ok(())
    }

    /// Rewrites the whole database into `dest` (a new file, mode 0600): encrypted with `key`,
    /// or plain when `None`, from one consistent snapshot while others may go on writing.
    /// The copy is checked before this returns. The database itself is not changed.
    pub fn write_converted(&self, dest: &Path, key: Option<&str>) -> Result<()> {
        self.convert_into(dest, key, "BEGIN")
    }

    /// `write_converted`, reading inside `begin` (a deferred or an exclusive transaction).
    /// The check: the copy opens with its key, passes its integrity check and has the
    /// same schema version and row counts.
    fn convert_into(&self, dest: &Path, key: Option<&str>, begin: &str) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::Invalid(format!(
                "{}: already exists; funnel never replaces a file with a converted copy",
                dest.display()
            )));
        }
        let text = dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid(format!("{}: not a UTF-8 path", dest.display())))?;
        super::db::create_private_file(dest)?;
        let result = self.export_into(text, key, begin).and_then(|()| {
            let copy = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            if let Some(k) = key {
                super::crypto::apply_key(&copy, k)?;
            }
            let version = |c: &Connection| -> Result<i64> {
                Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)
            };
            let check = integrity(&copy)?;
            if check != ["ok"]
                || version(&copy)? != version(&self.conn)?
                || super::db::data_counts(&copy)? != super::db::data_counts(&self.conn)?
            {
                return Err(StoreError::Invalid(format!(
                    "{}: the converted copy does not match the database ({}); nothing was changed",
                    dest.display(),
                    check.join("; ")
                )));
            }
            Ok(())
        });
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    /// SQLCipher's export of every table, index and sequence into the empty file `dest`,
    /// plus the schema version (which the export leaves out), in one transaction.
    fn export_into(&self, dest: &str, key: Option<&str>, begin: &str) -> Result<()> {
        self.conn.execute(
            "ATTACH DATABASE ?1 AS converted KEY ?2",
            [dest, key.unwrap_or("")],
        )?;
        let done = (|| -> Result<()> {
            if let Err(e) = self.conn.execute_batch(begin) {
                if super::db::is_busy(&e) {
                    return Err(StoreError::Invalid(format!(
                        "{}: another funnel (the TUI, a script) has the database open; close it first",
                        self.path().display()
                    )));
                }
                return Err(e.into());
            }
            let version: i64 = self
                .conn
                .query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
            let exported = self
                .conn
                .query_row("SELECT sqlcipher_export('converted')", [], |_| Ok(()))
                .and_then(|()| {
                    self.conn
                        .pragma_update(Some("converted"), "user_version", version)
                });
            match exported {
                Ok(()) => self.conn.execute_batch("COMMIT")?,
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e.into());
                }
            }
            Ok(())
        })();
        let detached = self.conn.execute_batch("DETACH DATABASE converted");
        done?;
        detached?;
        Ok(())
    }

    /// Replaces the database file with a converted copy of itself (encrypted with `key`, or
    /// plain): the copy is written and checked beside it, the conversion audited in it, and
    /// it is renamed over the database in one step, so a failure at any point leaves the
    /// database as it was. Refused while another process has the database open, since it
    /// would go on writing to the old file. The store is closed; open the file again (with
    /// the new key) to go on. The old file's blocks are freed, not overwritten.
    pub fn convert_in_place(
        self,
        key: Option<&str>,
        note: &str,
        actor: &super::audit::Actor,
    ) -> Result<()> {
        let path = self.path().to_path_buf();
        let tmp = PathBuf::from(format!("{}.converting", path.display()));
        let _ = std::fs::remove_file(&tmp);
        // Everything in the main file; from the first transaction on, only this
        // connection may use it (the lock is kept until it closes).
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn
            .query_row("PRAGMA main.locking_mode = EXCLUSIVE", [], |_| Ok(()))?;
        self.conn
            .busy_timeout(std::time::Duration::from_millis(500))?;
        self.convert_into(&tmp, key, "BEGIN EXCLUSIVE")?;
        let finish = (|| -> Result<()> {
            let copy = Connection::open(&tmp)?;
            if let Some(k) = key {
                super::crypto::apply_key(&copy, k)?;
            }
            super::audit::record_event(&copy, actor, "database", note)?;
            drop(copy);
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|source| StoreError::Io {
                    path: path.clone(),
                    source,
                })
        })();
        if finish.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        finish?;
        // The old file is gone from the directory; its write-ahead log (empty after the
        // checkpoint) is not the new file's, which was written without one.
        drop(self);
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{side}", path.display()));
        }
        Ok(())
    }

    /// Integrity, foreign keys, the WAL, the ledger and the stage history.
    pub fn health(&self) -> Result<Health> {
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        let fk: usize = {
            let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
            let mut rows = stmt.query([])?;
            let mut n = 0;
            while rows.next()?.is_some() {
                n += 1;
            }
            n
        };
        let wal = PathBuf::from(format!("{}-wal", self.path().display()));
        Ok(Health {
            schema_version: count("PRAGMA user_version")?,
            integrity: integrity(&self.conn)?,
            foreign_key_violations: fk,
            wal_bytes: std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0),
            won_without_order: count(
                "SELECT count(*) FROM deals d JOIN stages s ON s.id = d.stage_id
                 WHERE s.kind = 'won' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.deal_id = d.id)",
            )?,
            orders_of_unwon_deals: count(
                "SELECT count(*) FROM orders o JOIN deals d ON d.id = o.deal_id
                 JOIN stages s ON s.id = d.stage_id WHERE s.kind <> 'won'",
            )?,
            history_real: count("SELECT count(*) FROM stage_changes WHERE inferred = 0")?,
            history_inferred: count("SELECT count(*) FROM stage_changes WHERE inferred = 1")?,
        })
    }
}
