//! The analysis cache (see migration 008): a result computed from the data, stored with
//! the data version it was computed on.

use super::db::{Result, Store};
use rusqlite::OptionalExtension;

impl Store {
    /// A text that changes whenever the data an analysis reads may have changed: every
    /// write through funnel is audited (edits, imports, reverts, demo loads, restores), and
    /// model and forecast runs are numbered. Writes made to the file by other programs are
    /// not seen.
    pub fn data_version(&self) -> Result<String> {
        Ok(self.conn.query_row(
            "SELECT (SELECT coalesce(max(id), 0) FROM audit_log) || '.' ||
                    (SELECT coalesce(max(id), 0) FROM model_runs) || '.' ||
                    (SELECT coalesce(max(id), 0) FROM forecast_runs)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The stored body of analysis `name` if it was computed on `version`.
    pub fn cached_analysis(&self, name: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT body FROM analysis_cache WHERE name = ?1 AND version = ?2",
                [name, version],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Keeps an analysis for later reads. Best effort and never waiting: a database that
    /// is busy, read-only or refusing writes (damaged) is left as it is, and the analysis
    /// is simply computed again next time.
    pub fn keep_analysis(&self, name: &str, version: &str, body: &str) {
        if self.refuse_if_damaged().is_err() {
            return;
        }
        let _ = self.conn.busy_timeout(std::time::Duration::ZERO);
        let _ = self.conn.execute(
            "INSERT OR REPLACE INTO analysis_cache(name, version, body) VALUES (?1, ?2, ?3)",
            [name, version, body],
        );
        let _ = self
            .conn
            .busy_timeout(std::time::Duration::from_secs(super::db::BUSY_TIMEOUT_SECS));
    }
}
