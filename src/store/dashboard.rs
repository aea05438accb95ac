//! Queries behind the dashboard: stage entries, closed deals in a period, revenue by rep,
//! the team tree, targets, monthly revenue by team, and stored forecast runs.

use super::db::{Result, Store};
pub use crate::domain::forecasts::{ForecastRun, ForecastSeries};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub parent_id: Option<i64>,
}

/// A run to store.
pub struct NewForecastRun<'a> {
    pub level: &'a str,
    pub period_kind: &'a str,
    pub horizon: usize,
    pub last_actual: &'a str,
    pub note: &'a str,
    pub created_at: &'a str,
    pub series: &'a [ForecastSeries],
    /// Made by a recompute for the dashboard (not an ad-hoc `funnel forecast`).
    pub for_dashboard: bool,
    /// The day the run was made for (YYYY-MM-DD).
    pub as_of: &'a str,
}

/// What monthly revenue is broken down by (`by` is "rep" or "product"): the key's SQL
/// and the join it needs, the same on both backends.
pub(crate) fn revenue_breakdown(by: &str) -> (&'static str, &'static str) {
    match by {
        "rep" => (
            "coalesce(r.name, '(no rep)')",
            "LEFT JOIN reps r ON r.id = coalesce(d.owner_rep_id, c.owner_rep_id)",
        ),
        _ => (
            "coalesce(p.name, '(no product)')",
            "LEFT JOIN products p ON p.id = o.product_id",
        ),
    }
}

impl Store {
    /// How many times deals entered each stage on or after `since` (ISO date).
    pub fn stage_entries_since(&self, since: &str) -> Result<HashMap<i64, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT to_stage_id, count(*) FROM stage_changes INDEXED BY stage_changes_when
             WHERE changed_on >= ?1 GROUP BY to_stage_id",
        )?;
        let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Count and value of deals closed in [from, to) by stage kind ("won", "lost").
    pub fn closed_between(&self, from: &str, to: &str) -> Result<HashMap<String, (i64, i64)>> {
        // Pinned to the covering index: with a stage join the planner may instead walk
        // every deal of every stage.
        let mut stmt = self.conn.prepare_cached(
            "SELECT stage_id, count(*), coalesce(sum(amount_cents), 0) FROM deals INDEXED BY deals_closed
             WHERE closed_on >= ?1 AND closed_on < ?2 GROUP BY stage_id",
        )?;
        let by_stage: Vec<(i64, i64, i64)> = stmt
            .query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let kinds: HashMap<i64, String> = self
            .stages()?
            .into_iter()
            .map(|s| (s.id, s.kind.as_str().to_string()))
            .collect();
        let mut out: HashMap<String, (i64, i64)> = HashMap::new();
        for (stage, n, cents) in by_stage {
            let e = out
                .entry(kinds.get(&stage).cloned().unwrap_or_default())
                .or_default();
            e.0 += n;
            e.1 += cents;
        }
        Ok(out)
    }

    /// Won revenue (the order ledger) in [from, to) by the rep credited: the deal's owner,
    /// or for repeat orders the customer's owner. Key `None` for orders with no rep.
    pub fn revenue_by_rep(&self, from: &str, to: &str) -> Result<HashMap<Option<i64>, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(d.owner_rep_id, c.owner_rep_id), sum(o.amount_cents) FROM orders o
             JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id
             WHERE o.ordered_on >= ?1 AND o.ordered_on < ?2 GROUP BY 1",
        )?;
        let rows = stmt.query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Monthly won revenue from `from` on, by the team of the credited rep:
    /// (YYYY-MM, team id or None, cents).
    pub fn monthly_revenue_by_team(&self, from: &str) -> Result<Vec<(String, Option<i64>, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT substr(o.ordered_on, 1, 7), r.team_id, sum(o.amount_cents) FROM orders o
             JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id
             LEFT JOIN reps r ON r.id = coalesce(d.owner_rep_id, c.owner_rep_id)
             WHERE o.ordered_on >= ?1 GROUP BY 1, 2 ORDER BY 1",
        )?;
        let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Monthly won revenue from `from` on by the credited rep's name or the product's name
    /// (`by` is "rep" or "product"): (YYYY-MM, name, cents).
    pub fn monthly_revenue_by(&self, by: &str, from: &str) -> Result<Vec<(String, String, i64)>> {
        let (key, join) = revenue_breakdown(by);
        let sql = format!(
            "SELECT substr(o.ordered_on, 1, 7), {key}, sum(o.amount_cents) FROM orders o
             JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id {join}
             WHERE o.ordered_on >= ?1 GROUP BY 1, 2 ORDER BY 1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every stored forecast run, newest first: (id, created_at, level, period kind).
    pub fn forecast_runs(&self) -> Result<Vec<(i64, String, String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, created_at, level, period_kind FROM forecast_runs ORDER BY id DESC",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A stored run with its series, by id.
    pub fn forecast_run(&self, id: i64) -> Result<Option<ForecastRun>> {
        let level: Option<String> = self
            .conn
            .query_row("SELECT level FROM forecast_runs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(level) = level else { return Ok(None) };
        self.load_run(id, &level)
    }

    pub fn teams(&self) -> Result<Vec<Team>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, parent_id FROM teams ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(Team {
                id: r.get(0)?,
                name: r.get(1)?,
                parent_id: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// rep id -> (name, team name), every rep.
    pub fn rep_names(&self) -> Result<HashMap<i64, (String, Option<String>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.name, t.name FROM reps r LEFT JOIN teams t ON t.id = r.team_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// rep id -> team id, for reps in a team.
    pub fn rep_teams(&self) -> Result<HashMap<i64, i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, team_id FROM reps WHERE team_id IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Won-revenue targets for a period: (scope key, cents), scope key as in the table
    /// (`company`, `team:ID`, `rep:ID`).
    pub fn revenue_targets(&self, period: &str) -> Result<HashMap<String, i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT scope_key, value FROM targets WHERE period = ?1 AND metric = 'won_revenue'",
        )?;
        let rows = stmt.query_map([period], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores a forecast run with its actuals and points; returns its id.
    pub fn save_forecast_run(&mut self, run: &NewForecastRun) -> Result<i64> {
        let tx = self.begin()?;
        let id = insert_forecast_run(&tx, run)?;
        tx.commit()?;
        Ok(id)
    }

    /// A recompute: the forecast run and (when a model was learned) the model run with its
    /// scores, in one transaction, so that a failure or a kill leaves neither half.
    pub fn save_recompute(
        &mut self,
        run: &NewForecastRun,
        scores: Option<&super::scoring::NewScores>,
    ) -> Result<(i64, Option<i64>)> {
        let tx = self.begin()?;
        let forecast = insert_forecast_run(&tx, run)?;
        let model = match scores {
            Some(s) => Some(super::scoring::insert_scores(&tx, s)?),
            None => None,
        };
        tx.commit()?;
        Ok((forecast, model))
    }
}

fn insert_forecast_run(tx: &rusqlite::Connection, run: &NewForecastRun) -> Result<i64> {
    {
        tx.execute(
            "INSERT INTO forecast_runs(created_at, level, period_kind, horizon, last_actual, note, for_dashboard, as_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                run.created_at,
                run.level,
                run.period_kind,
                run.horizon as i64,
                run.last_actual,
                run.note,
                run.for_dashboard,
                run.as_of
            ],
        )?;
        let id = tx.last_insert_rowid();
        for s in run.series {
            for (period, value) in &s.history {
                tx.prepare_cached("INSERT INTO forecast_history(run_id, series_key, period, value) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![id, s.key, period, value])?;
            }
            for (period, f, lo, hi) in &s.points {
                tx.prepare_cached(
                    "INSERT INTO forecast_points(run_id, series_key, period, forecast, lo, hi, model, backtest_mase)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![id, s.key, period, f, lo, hi, s.model, s.backtest_mase])?;
            }
        }
        Ok(id)
    }
}

impl Store {
    /// The dashboard's forecast: the newest run a recompute made at `level` for a day no
    /// later than `today` (the one for `today` when there is one), with its series.
    pub fn dashboard_forecast_run(&self, level: &str, today: &str) -> Result<Option<ForecastRun>> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM forecast_runs
                 WHERE level = ?1 AND for_dashboard = 1 AND (as_of IS NULL OR as_of <= ?2)
                 ORDER BY as_of DESC, id DESC LIMIT 1",
                params![level, today],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        self.load_run(id, level)
    }

    fn load_run(&self, id: i64, level: &str) -> Result<Option<ForecastRun>> {
        let (created_at, last_actual, note): (String, String, Option<String>) =
            self.conn.query_row(
                "SELECT created_at, last_actual, note FROM forecast_runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        let mut series: Vec<ForecastSeries> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut slot = |key: String, series: &mut Vec<ForecastSeries>| -> usize {
            *index.entry(key.clone()).or_insert_with(|| {
                series.push(ForecastSeries {
                    key,
                    ..Default::default()
                });
                series.len() - 1
            })
        };
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT series_key, period, value FROM forecast_history WHERE run_id = ?1 ORDER BY series_key, period",
            )?;
            let mut rows = stmt.query([id])?;
            while let Some(r) = rows.next()? {
                let i = slot(r.get(0)?, &mut series);
                series[i].history.push((r.get(1)?, r.get(2)?));
            }
        }
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT series_key, period, forecast, lo, hi, model, backtest_mase FROM forecast_points
                 WHERE run_id = ?1 ORDER BY series_key, period",
            )?;
            let mut rows = stmt.query([id])?;
            while let Some(r) = rows.next()? {
                let i = slot(r.get(0)?, &mut series);
                series[i]
                    .points
                    .push((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
                series[i].model = r.get(5)?;
                series[i].backtest_mase = r.get(6)?;
            }
        }
        Ok(Some(ForecastRun {
            id,
            created_at,
            level: level.to_string(),
            last_actual,
            note,
            series,
        }))
    }
}
