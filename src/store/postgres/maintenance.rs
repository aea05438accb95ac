//! Keeping a PostgreSQL database safe, as far as funnel's part goes: `doctor` checks the
//! schema version, foreign keys, the ledger and the stage history (the server keeps its
//! own pages sound: there is no file for funnel to check); `backup` writes a verified
//! SQLite copy of the whole database (`funnel migrate`'s copy, every table checked by
//! count and sums), which `funnel migrate --from COPY --to URL` puts back into an empty
//! database. Replacing a server database in place and encrypting it are refused with
//! what to do instead: those are the server's tools' work.

use super::store::PgStore;
use crate::store::db::{Result, StoreError};
use crate::store::maintenance::Health;
use std::path::Path;

impl PgStore {
    pub fn health(&self) -> Result<Health> {
        let count = |sql: &str| -> Result<i64> { Ok(self.row(sql, &[])?.get(0)) };
        // Every foreign key is a constraint the server enforces; one that was added NOT
        // VALID or disabled would show here as a key not validated.
        let unvalidated = count(
            "SELECT count(*) FROM pg_constraint
             WHERE contype = 'f' AND NOT convalidated
               AND connamespace = current_schema()::regnamespace",
        )?;
        // The schema's foreign keys, each a REFERENCES clause of its files.
        let expected: i64 = super::schema::MIGRATIONS
            .iter()
            .map(|(_, sql)| sql.matches("REFERENCES").count() as i64)
            .sum();
        let missing_keys = expected
            - count(
                "SELECT count(*) FROM pg_constraint
             WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
            )?;
        let mut integrity = Vec::new();
        if unvalidated > 0 {
            integrity.push(format!("{unvalidated} foreign keys are not validated"));
        }
        if missing_keys > 0 {
            integrity.push(format!(
                "{missing_keys} of funnel's foreign keys are missing"
            ));
        }
        if integrity.is_empty() {
            integrity.push("ok".to_string());
        }
        let version: i64 = self
            .row(
                "SELECT value::bigint FROM funnel_meta WHERE key = 'schema_version'",
                &[],
            )?
            .get(0);
        Ok(Health {
            schema_version: version,
            integrity,
            foreign_key_violations: 0,
            wal_bytes: 0,
            won_without_order: count(
                "SELECT count(*) FROM deals d JOIN stages s ON s.id = d.stage_id
                 WHERE s.kind = 'won' AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.deal_id = d.id)",
            )?,
            orders_of_unwon_deals: count(
                "SELECT count(*) FROM orders o JOIN deals d ON d.id = o.deal_id
                 JOIN stages s ON s.id = d.stage_id WHERE s.kind <> 'won'",
            )?,
            history_real: count("SELECT count(*) FROM stage_changes WHERE NOT inferred")?,
            history_inferred: count("SELECT count(*) FROM stage_changes WHERE inferred")?,
        })
    }

    /// A verified SQLite copy of the whole database at `dest` (a new file; removed again
    /// if the copy fails). Others may go on writing: the copy reads one snapshot.
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        if dest.exists() {
            return Err(StoreError::Invalid(format!(
                "{}: already exists; a backup never replaces a file",
                dest.display()
            )));
        }
        let result = crate::store::Store::open(dest).and_then(|mut store| {
            let r = crate::store::migrate::postgres_to_sqlite(
                self.target(),
                &mut store,
                &mut |_, _| {},
            );
            drop(store);
            r
        });
        if let Err(e) = result {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = dest.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(std::path::PathBuf::from(p));
            }
            return Err(e);
        }
        Ok(std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0))
    }

    pub fn restore_refused(&self) -> StoreError {
        StoreError::Invalid(format!(
            "{}: a PostgreSQL database is not replaced in place (its audit trail is append-only); \
             put a backup into a new, empty database with `funnel migrate --from BACKUP.db --to URL`, \
             or use the server's own pg_dump and pg_restore",
            self.target()
        ))
    }

    pub fn encryption_refused(&self) -> StoreError {
        StoreError::Invalid(format!(
            "{}: encryption with a key is for SQLite files; on PostgreSQL the data is encrypted \
             in transit with ?sslmode=require (or verify-full) and at rest by the server's disks",
            self.target()
        ))
    }
}
