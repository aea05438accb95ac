//! What win-probability scoring reads: the deals to learn from and to score, their stage
//! history and activity dates, every owner's closed deals; and where scores are kept.

use super::db::{Result, Store};
pub use crate::domain::scoring::DealFacts;
use chrono::NaiveDate;
use rusqlite::params;
use std::collections::HashMap;

fn date(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
}

impl Store {
    /// Closed deals to learn from, followed by every open deal: the `recent` most recently
    /// created deals among those created on or before `created_by` that have closed. Taking
    /// whole creation cohorts old enough to have mostly closed avoids learning only from
    /// the deals that closed fast (mostly losses), which choosing by close date would do.
    pub fn scoring_deals(&self, recent: usize, created_by: &str) -> Result<Vec<DealFacts>> {
        let base = "SELECT d.id, d.external_id, d.name, c.name, d.owner_rep_id, r.name, d.amount_cents, d.created_on,
                      d.closed_on, s.kind, s.name, c.segment, d.source, p.name
                    FROM deals d JOIN stages s ON s.id = d.stage_id JOIN customers c ON c.id = d.customer_id
                    LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN products p ON p.id = d.product_id";
        let read = |r: &rusqlite::Row| -> rusqlite::Result<DealFacts> {
            let kind: String = r.get(9)?;
            Ok(DealFacts {
                id: r.get(0)?,
                external_id: r.get(1)?,
                name: r.get(2)?,
                customer: r.get(3)?,
                owner_id: r.get(4)?,
                owner: r.get(5)?,
                amount_cents: r.get(6)?,
                created_on: date(r.get(7)?).unwrap_or_default(),
                closed_on: date(r.get(8)?),
                outcome: match kind.as_str() {
                    "won" => Some(true),
                    "lost" => Some(false),
                    _ => None,
                },
                stage: r.get(10)?,
                segment: r.get(11)?,
                source: r.get(12)?,
                product: r.get(13)?,
            })
        };
        let mut closed: Vec<DealFacts> = self
            .conn
            .prepare(&format!(
                "{base} WHERE d.id IN (SELECT id FROM deals WHERE closed_on IS NOT NULL AND created_on <= ?2
                   ORDER BY created_on DESC, id DESC LIMIT ?1)"
            ))?
            .query_map(params![recent as i64, created_by], read)?
            .collect::<rusqlite::Result<_>>()?;
        closed.retain(|d| d.outcome.is_some());
        closed.sort_by(|a, b| a.closed_on.cmp(&b.closed_on).then(a.id.cmp(&b.id)));
        let open: Vec<DealFacts> = self
            .conn
            .prepare(&format!("{base} WHERE s.kind = 'open' ORDER BY d.id"))?
            .query_map([], read)?
            .collect::<rusqlite::Result<_>>()?;
        closed.extend(open);
        Ok(closed)
    }

    fn fill_ids(&self, ids: &[i64]) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS scoring_ids(id INTEGER PRIMARY KEY); DELETE FROM scoring_ids;",
        )?;
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO scoring_ids(id) VALUES (?1)")?;
        for id in ids {
            stmt.execute([id])?;
        }
        Ok(())
    }

    /// For each deal: (date, position) of every open stage it entered.
    pub fn stage_entries(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<(NaiveDate, i64)>>> {
        self.fill_ids(ids)?;
        let mut stmt = self.conn.prepare(
            "SELECT sc.deal_id, sc.changed_on, s.position FROM stage_changes sc
             JOIN scoring_ids i ON i.id = sc.deal_id JOIN stages s ON s.id = sc.to_stage_id AND s.kind = 'open'
             ORDER BY sc.deal_id, sc.changed_on, sc.id",
        )?;
        let mut out: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(d) = date(r.get(1)?) {
                out.entry(r.get(0)?).or_default().push((d, r.get(2)?));
            }
        }
        Ok(out)
    }

    /// For each deal, the days activities on it were done, sorted.
    pub fn activity_days(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<NaiveDate>>> {
        self.fill_ids(ids)?;
        let mut stmt = self.conn.prepare(
            "SELECT a.deal_id, a.done_on FROM activities a JOIN scoring_ids i ON i.id = a.deal_id
             WHERE a.done_on IS NOT NULL",
        )?;
        let mut out: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(d) = date(r.get(1)?) {
                out.entry(r.get(0)?).or_default().push(d);
            }
        }
        out.values_mut().for_each(|v| v.sort());
        Ok(out)
    }

    /// Every closed deal's owner, close date and outcome, by close date.
    pub fn owner_outcomes(&self) -> Result<Vec<(i64, NaiveDate, bool)>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.owner_rep_id, d.closed_on, s.kind = 'won' FROM deals d JOIN stages s ON s.id = d.stage_id
             WHERE d.closed_on IS NOT NULL AND d.owner_rep_id IS NOT NULL AND s.kind <> 'open'
             ORDER BY d.closed_on, d.stage_id, d.amount_cents, d.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (owner, closed, won) = row?;
            if let Some(d) = date(closed) {
                out.push((owner, d, won));
            }
        }
        Ok(out)
    }

    /// Stores a model run and the scores it gave, replacing earlier scores.
    pub fn save_scores(&mut self, s: &NewScores) -> Result<i64> {
        let tx = self.begin()?;
        let run = insert_scores(&tx, s)?;
        tx.commit()?;
        Ok(run)
    }
}

/// A learned win-probability model to store: its parameters and metrics (JSON), when, and
/// the scores of open deals (empty when the model is not worth using).
#[derive(Debug, Clone, PartialEq)]
pub struct NewScores {
    pub params_json: String,
    pub metrics_json: String,
    pub at: String,
    pub scores: Vec<(i64, f64)>,
    /// Every open deal's learned probability, used or not (kept for monitoring).
    pub history: Vec<(i64, f64)>,
}

pub(super) fn insert_scores(tx: &rusqlite::Connection, s: &NewScores) -> Result<i64> {
    tx.execute(
        "INSERT INTO model_runs(created_at, kind, params_json, metrics_json) VALUES (?1, 'win_probability', ?2, ?3)",
        params![s.at, s.params_json, s.metrics_json],
    )?;
    let run = tx.last_insert_rowid();
    // An empty `scores` (a model not worth using) clears the old ones too.
    tx.execute("DELETE FROM deal_scores", [])?;
    let mut stmt = tx.prepare(
        "INSERT INTO deal_scores(deal_id, model_run_id, probability, computed_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (deal, p) in &s.scores {
        stmt.execute(params![deal, run, p.clamp(0.0, 1.0), s.at])?;
    }
    let mut stmt = tx.prepare(
        "INSERT INTO deal_score_history(model_run_id, deal_id, probability) VALUES (?1, ?2, ?3)",
    )?;
    for (deal, p) in &s.history {
        stmt.execute(params![run, deal, p.clamp(0.0, 1.0)])?;
    }
    Ok(run)
}

/// A win-probability run with what happened since to the deals it scored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcomes {
    pub run_id: i64,
    pub at: String,
    pub metrics_json: String,
    /// Open deals it scored.
    pub scored: usize,
    /// (probability, won) of the deals it scored that have closed since.
    pub closed: Vec<(f64, bool)>,
}

impl Store {
    /// Every win-probability run (oldest first) with the outcomes of the deals it scored
    /// that have closed since.
    pub fn score_run_outcomes(&self) -> Result<Vec<RunOutcomes>> {
        let mut runs: Vec<RunOutcomes> = self
            .conn
            .prepare(
                "SELECT r.id, r.created_at, r.metrics_json,
                   (SELECT count(*) FROM deal_score_history h WHERE h.model_run_id = r.id)
                 FROM model_runs r WHERE r.kind = 'win_probability' ORDER BY r.id",
            )?
            .query_map([], |r| {
                Ok(RunOutcomes {
                    run_id: r.get(0)?,
                    at: r.get(1)?,
                    metrics_json: r.get(2)?,
                    scored: r.get::<_, i64>(3)? as usize,
                    closed: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT h.model_run_id, h.probability, s.kind = 'won'
             FROM deal_score_history h JOIN deals d ON d.id = h.deal_id
             JOIN stages s ON s.id = d.stage_id WHERE s.kind IN ('won', 'lost')
             ORDER BY h.model_run_id, h.deal_id",
        )?;
        let mut rows = stmt.query([])?;
        let at: HashMap<i64, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.run_id, i))
            .collect();
        while let Some(r) = rows.next()? {
            if let Some(&i) = at.get(&r.get::<_, i64>(0)?) {
                runs[i].closed.push((r.get(1)?, r.get(2)?));
            }
        }
        Ok(runs)
    }
}
