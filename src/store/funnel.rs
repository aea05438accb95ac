//! Deal histories for funnel analytics: each deal's path through the stages as day
//! numbers, read in two passes (deals, then their stage changes through the deal index).

use super::db::{Result, Store};
pub use crate::domain::funnel::OpenInStage;
use crate::domain::funnel::{DealPath, Outcome};
use rusqlite::params;
use std::collections::HashMap;

/// The day number the paths use for a date: SQLite's `CAST(julianday(d) AS INTEGER)`.
pub fn day_number(d: chrono::NaiveDate) -> i64 {
    // julianday('2000-01-01') = 2451544.5, truncated to 2451544.
    (d - chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date")).num_days() + 2_451_544
}

pub(crate) fn outcome(kind: &str) -> Outcome {
    match kind {
        "won" => Outcome::Won,
        "lost" => Outcome::Lost,
        _ => Outcome::Open,
    }
}

impl Store {
    /// Paths of the deals created in [from, to). `stage_index` maps open stage ids to
    /// 0..k and the won stages to k; other stages are left out of the entries; `rep_group`
    /// puts each deal in its owner's group (for comparing teams). With more
    /// than `max_deals` deals in the window, every n-th deal (in id order) is kept so that
    /// at most `max_deals` are read in full (ids divisible by n: a systematic sample);
    /// returns the paths and that n.
    pub fn deal_paths(
        &self,
        from: &str,
        to: &str,
        stage_index: &HashMap<i64, usize>,
        rep_group: &HashMap<i64, usize>,
        max_deals: usize,
    ) -> Result<(Vec<DealPath>, usize)> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM deals WHERE created_on >= ?1 AND created_on < ?2",
            params![from, to],
            |r| r.get(0),
        )?;
        let step = (count as usize).div_ceil(max_deals.max(1)).max(1);
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, CAST(julianday(d.created_on) AS INTEGER),
                    CAST(julianday(d.closed_on) AS INTEGER), s.kind, d.amount_cents, d.owner_rep_id
             FROM deals d JOIN stages s ON s.id = d.stage_id
             WHERE d.created_on >= ?1 AND d.created_on < ?2 AND d.id % ?3 = 0 ORDER BY d.id",
        )?;
        let mut all: Vec<(i64, DealPath, Option<i64>)> = Vec::new();
        let mut rows = stmt.query(params![from, to, step as i64])?;
        while let Some(r) = rows.next()? {
            let kind: String = r.get(3)?;
            all.push((
                r.get(0)?,
                DealPath {
                    created: r.get(1)?,
                    entries: Vec::new(),
                    outcome: outcome(&kind),
                    closed: r.get(2)?,
                    amount: r.get::<_, i64>(4)? as f64 / 100.0,
                    group: None,
                },
                r.get::<_, Option<i64>>(5)?,
            ));
        }
        let at: HashMap<i64, usize> = all.iter().enumerate().map(|(i, d)| (d.0, i)).collect();
        let mut out: Vec<DealPath> = all
            .into_iter()
            .map(|(_, mut p, owner)| {
                p.group = owner.and_then(|o| rep_group.get(&o).copied());
                p
            })
            .collect();
        // The kept ids drive the stage-change lookups through the deal index.
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS funnel_deals(id INTEGER PRIMARY KEY);
             DELETE FROM temp.funnel_deals;",
        )?;
        {
            let mut ins = self
                .conn
                .prepare_cached("INSERT INTO temp.funnel_deals(id) VALUES (?1)")?;
            for id in at.keys() {
                ins.execute([id])?;
            }
        }
        // CROSS JOIN keeps the kept ids as the outer loop (the planner would otherwise scan
        // every stage change); the deal index returns each deal's changes by date, then id.
        let mut stmt = self.conn.prepare_cached(
            "SELECT sc.deal_id, sc.to_stage_id, CAST(julianday(sc.changed_on) AS INTEGER)
             FROM temp.funnel_deals t CROSS JOIN stage_changes sc INDEXED BY stage_changes_deal
                  ON sc.deal_id = t.id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let deal: i64 = r.get(0)?;
            let stage: i64 = r.get(1)?;
            let day: i64 = r.get(2)?;
            if let (Some(&i), Some(&s)) = (at.get(&deal), stage_index.get(&stage)) {
                out[i].entries.push((s, day));
            }
        }
        drop(rows);
        self.conn.execute("DELETE FROM temp.funnel_deals", [])?;
        // In time order whatever order the rows came in (stable: same-day changes keep
        // the index's id order).
        for p in &mut out {
            p.entries.sort_by_key(|e| e.1);
        }
        Ok((out, step))
    }

    /// Deals closed in [from, to) as paths without entries (for win rate, size, cycle);
    /// beyond `max_deals`, the ids divisible by n (read from the close-date index before
    /// the rows are fetched).
    pub fn closed_paths(&self, from: &str, to: &str, max_deals: usize) -> Result<Vec<DealPath>> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM deals INDEXED BY deals_closed WHERE closed_on >= ?1 AND closed_on < ?2",
            params![from, to],
            |r| r.get(0),
        )?;
        let step = (count as usize).div_ceil(max_deals.max(1)).max(1) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT CAST(julianday(d.created_on) AS INTEGER), CAST(julianday(d.closed_on) AS INTEGER),
                    s.kind, d.amount_cents
             FROM deals d INDEXED BY deals_closed JOIN stages s ON s.id = d.stage_id
             WHERE d.closed_on >= ?1 AND d.closed_on < ?2 AND d.rowid % ?3 = 0",
        )?;
        let rows = stmt.query_map(params![from, to, step], |r| {
            let kind: String = r.get(2)?;
            Ok(DealPath {
                created: r.get(0)?,
                entries: Vec::new(),
                outcome: outcome(&kind),
                closed: r.get(1)?,
                amount: r.get::<_, i64>(3)? as f64 / 100.0,
                group: None,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open deals that have been in their stage longer than its threshold (days, by stage
    /// id), longest over first.
    pub fn open_past(
        &self,
        thresholds: &HashMap<i64, f64>,
        today: &str,
    ) -> Result<Vec<OpenInStage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, d.external_id, d.name, c.name, r.name, d.stage_id, d.amount_cents,
                    CAST(julianday(?1) - julianday(d.stage_entered_on) AS INTEGER)
             FROM deals d INDEXED BY deals_stage
             JOIN customers c ON c.id = d.customer_id
             LEFT JOIN reps r ON r.id = d.owner_rep_id
             WHERE d.stage_id = ?2 AND julianday(?1) - julianday(d.stage_entered_on) > ?3",
        )?;
        let mut out = Vec::new();
        for (stage, limit) in thresholds {
            let rows = stmt.query_map(params![today, stage, limit], |r| {
                Ok(OpenInStage {
                    id: r.get(0)?,
                    external_id: r.get(1)?,
                    name: r.get(2)?,
                    customer: r.get(3)?,
                    owner: r.get(4)?,
                    stage_id: r.get(5)?,
                    amount_cents: r.get(6)?,
                    days_in_stage: r.get(7)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// Open deals per stage id.
    pub fn open_counts(&self) -> Result<HashMap<i64, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.stage_id, count(*) FROM deals d INDEXED BY deals_stage
             JOIN stages s ON s.id = d.stage_id WHERE s.kind = 'open' GROUP BY d.stage_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_numbers_match_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for d in ["2000-01-01", "2026-11-22", "1999-12-31", "2024-02-29"] {
            let want: i64 = conn
                .query_row("SELECT CAST(julianday(?1) AS INTEGER)", [d], |r| r.get(0))
                .unwrap();
            let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            assert_eq!(super::day_number(date), want, "{d}");
        }
    }
}
