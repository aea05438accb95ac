//! The PostgreSQL schema, versioned as SQLite's: a database made here is at the same
//! schema number as the SQLite migrations (`SCHEMA_VERSION`), written in `funnel_meta` under
//! `schema_version` (PostgreSQL has no `user_version`). A newer schema is refused; a
//! database holding another application's tables is refused and left untouched.

use super::{sql_error, PgError, Target};
use crate::store::db::SCHEMA_VERSION;

/// The schema files, by the version each brings the database to. The first is the whole
/// model at version 12 (SQLite's migrations 001-012); a later change to the model adds a
/// SQLite migration and a file here with the same number.
pub const MIGRATIONS: &[(i64, &str)] = &[(12, include_str!("schema/012_baseline.sql"))];

/// The advisory lock that makes two processes creating or upgrading the schema at once
/// take turns ("funnel" in ASCII).
const SCHEMA_LOCK: i64 = 0x66_75_6e_6e_65_6c;

/// What `ensure` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// An empty database: the schema was created.
    Created,
    /// A funnel database, upgraded from this version (equal to `SCHEMA_VERSION` when it
    /// was current).
    Existing(i64),
}

/// The schema version of the connected database: `None` when it has no tables at all;
/// another application's database (tables, but not funnel's) is an error.
pub fn version(tx: &mut postgres::Transaction, t: &Target) -> Result<Option<i64>, PgError> {
    let err = |e: postgres::Error| sql_error(t, &e);
    let tables: i64 = tx
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .map_err(err)?
        .get(0);
    let has_meta: bool = tx
        .query_one(
            "SELECT to_regclass(quote_ident(current_schema()) || '.funnel_meta') IS NOT NULL",
            &[],
        )
        .map_err(err)?
        .get(0);
    if tables == 0 {
        return Ok(None);
    }
    let not_funnel = || PgError::NotFunnel {
        target: t.to_string(),
        tables,
    };
    if !has_meta {
        return Err(not_funnel());
    }
    let v: Option<String> = tx
        .query_opt(
            "SELECT value FROM funnel_meta WHERE key = 'schema_version'",
            &[],
        )
        .map_err(err)?
        .map(|r| r.get(0));
    match v.as_deref().map(str::parse::<i64>) {
        Some(Ok(v)) => Ok(Some(v)),
        _ => Err(not_funnel()),
    }
}

/// Makes sure the connected database holds funnel's schema at `SCHEMA_VERSION`, inside
/// `tx` (PostgreSQL's DDL is transactional: a failure leaves nothing). Refuses a newer
/// schema and another application's database without changing either.
pub fn ensure(tx: &mut postgres::Transaction, t: &Target) -> Result<Opened, PgError> {
    let err = |e: postgres::Error| sql_error(t, &e);
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .map_err(err)?;
    let found = version(tx, t)?;
    if let Some(v) = found {
        if v > SCHEMA_VERSION {
            return Err(PgError::TooNew {
                target: t.to_string(),
                found: v,
                known: SCHEMA_VERSION,
            });
        }
    }
    let from = found.unwrap_or(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        tx.batch_execute(sql).map_err(err)?;
        tx.execute(
            "INSERT INTO funnel_meta(key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&version.to_string()],
        )
        .map_err(err)?;
    }
    if found.is_none() {
        let now = chrono::Utc::now().to_rfc3339();
        tx.execute(
            "INSERT INTO funnel_meta(key, value) VALUES ('created_at', $1), ('currency', 'USD')",
            &[&now],
        )
        .map_err(err)?;
        return Ok(Opened::Created);
    }
    Ok(Opened::Existing(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_files_end_at_the_sqlite_schema_version() {
        let last = MIGRATIONS.last().unwrap().0;
        assert_eq!(
            last, SCHEMA_VERSION,
            "add the PostgreSQL side of the migration"
        );
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
