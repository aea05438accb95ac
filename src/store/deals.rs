//! Deals on the pipeline board: the open deals of each stage (largest first, through the
//! (stage, amount) index), time-in-stage history, and moving a deal between stages.

use super::audit::{self, Actor, Entity};
use super::db::{Result, Store, StoreError};
use super::ledger::{self, DealForLedger};
use crate::domain::date::iso;
pub use crate::domain::deals::*;
use crate::domain::{Money, StageKind};
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

/// A board card from a row of the card queries' columns.
fn card(r: &rusqlite::Row) -> rusqlite::Result<DealCard> {
    Ok(DealCard {
        id: r.get(0)?,
        external_id: r.get(1)?,
        name: r.get(2)?,
        customer: r.get(3)?,
        owner: r.get(4)?,
        amount: Money(r.get(5)?),
        expected_close: r.get(6)?,
        stage_entered_on: r.get(7)?,
        win_probability: r.get(8)?,
        version: r.get(9)?,
        customer_id: r.get(10)?,
    })
}

impl Store {
    /// The `limit` largest open deals in a stage.
    pub fn deals_in_stage(&self, stage_id: i64, limit: usize) -> Result<Vec<DealCard>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, d.external_id, d.name, c.name, r.name, d.amount_cents, d.expected_close, d.stage_entered_on,
               sc.probability, (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'deal' AND a.entity_id = d.id),
               c.id
             FROM deals d INDEXED BY deals_stage JOIN customers c ON c.id = d.customer_id
             LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN deal_scores sc ON sc.deal_id = d.id
             WHERE d.stage_id = ?1 ORDER BY d.amount_cents DESC, d.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![stage_id, limit as i64], card)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One deal as the board shows it, wherever it is (`None` if there is no such deal).
    pub fn deal_card(&self, id: i64) -> Result<Option<DealCard>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT d.id, d.external_id, d.name, c.name, r.name, d.amount_cents, d.expected_close, d.stage_entered_on,
                   sc.probability, (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'deal' AND a.entity_id = d.id),
                   c.id
                 FROM deals d JOIN customers c ON c.id = d.customer_id
                 LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN deal_scores sc ON sc.deal_id = d.id
                 WHERE d.id = ?1",
                [id],
                card,
            )
            .optional()?)
    }

    /// Moves an open deal to another stage, or closes it won or lost (today), keeping its
    /// stage history and the order ledger in step. One transaction, every row audited.
    pub fn move_deal(
        &mut self,
        deal_id: i64,
        to: &Move,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<()> {
        let tx = self.begin()?;
        let deal: Option<(i64, String, i64, Option<i64>, i64)> = tx
            .query_row(
                "SELECT d.stage_id, s.kind, d.customer_id, d.product_id, d.amount_cents
                 FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.id = ?1",
                [deal_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((from, kind, customer, product, cents)) = deal else {
            return Err(StoreError::Invalid(format!("there is no deal {deal_id}")));
        };
        if kind != "open" {
            return Err(StoreError::Invalid(format!(
                "deal {deal_id} is already closed ({kind})"
            )));
        }
        let first_of = |k: &str| -> Result<i64> {
            tx.query_row(
                "SELECT id FROM stages WHERE kind = ?1 ORDER BY position, id LIMIT 1",
                [k],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::Invalid(format!("there is no {k} stage to close the deal into"))
            })
        };
        let (to_stage, to_kind, reason) = match to {
            Move::Stage(id) => {
                let k: Option<String> = tx
                    .query_row("SELECT kind FROM stages WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?;
                match k.as_deref() {
                    Some("open") => (*id, StageKind::Open, None),
                    Some(other) => {
                        return Err(StoreError::Invalid(format!(
                            "stage {id} is a {other} stage: mark the deal won or lost instead"
                        )))
                    }
                    None => return Err(StoreError::Invalid(format!("there is no stage {id}"))),
                }
            }
            Move::Won => (first_of("won")?, StageKind::Won, None),
            Move::Lost(r) if r.trim().is_empty() => {
                return Err(StoreError::Invalid("a lost deal needs a reason".into()))
            }
            Move::Lost(r) => (
                first_of("lost")?,
                StageKind::Lost,
                Some(r.trim().to_string()),
            ),
        };
        if to_stage == from {
            return Ok(());
        }
        let before = audit::row_json(&tx, Entity::Deal, deal_id)?;
        let on = iso(today);
        let closed = (to_kind != StageKind::Open).then_some(on.clone());
        tx.execute(
            "UPDATE deals SET stage_id = ?2, stage_entered_on = ?3, closed_on = ?4, lost_reason = ?5 WHERE id = ?1",
            params![deal_id, to_stage, on, closed, reason],
        )?;
        tx.execute(
            "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on) VALUES (?1, ?2, ?3, ?4)",
            params![deal_id, from, to_stage, on],
        )?;
        let change = tx.last_insert_rowid();
        let after_change = audit::row_json(&tx, Entity::StageChange, change)?;
        audit::record(
            &tx,
            actor,
            audit::Action::Insert,
            Entity::StageChange,
            change,
            None,
            after_change.as_deref(),
            None,
        )?;
        audit::record_if_changed(&tx, actor, Entity::Deal, deal_id, before)?;
        ledger::sync_order(
            &tx,
            actor,
            &DealForLedger {
                deal_id,
                is_new: false,
                kind: to_kind,
                customer_id: customer,
                product_id: product,
                closed_on: closed.as_ref().map(|_| today),
                cents,
            },
            true,
        )?;
        tx.commit()?;
        Ok(())
    }
}

impl Store {
    /// Every open deal: (cents, stage id, expected close, learned win probability if
    /// scored, owner).
    pub fn open_deals(&self) -> Result<Vec<OpenDealRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.amount_cents, d.stage_id, d.expected_close, sc.probability, d.owner_rep_id
             FROM deals d
             LEFT JOIN deal_scores sc ON sc.deal_id = d.id
             WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'open')
             ORDER BY d.stage_id, d.amount_cents, d.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Days between expected and actual close of deals won since `since` (the newest
    /// `limit` entries, plenty for a distribution), under every open stage each deal was
    /// in: a deal in a stage now draws from what deals that were in it did. Won
    /// deals only: the simulations use these for deals that win, and lost deals close far
    /// earlier than expected (about a month on the demo, against 9 days late for wins).
    pub fn close_slips_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sc.to_stage_id, julianday(d.closed_on) - julianday(d.expected_close)
             FROM deals d INDEXED BY deals_closed
             JOIN stages ws ON ws.id = d.stage_id AND ws.kind = 'won'
             JOIN stage_changes sc ON sc.deal_id = d.id
             JOIN stages os ON os.id = sc.to_stage_id AND os.kind = 'open'
             WHERE d.closed_on >= ?1 AND d.closed_on < ?2 AND d.expected_close IS NOT NULL
             ORDER BY d.closed_on DESC, d.stage_id DESC, d.amount_cents DESC, d.id DESC,
                      sc.changed_on, sc.id
             LIMIT ?3",
        )?;
        days_by_stage(&mut stmt, (since, until), limit)
    }
}

impl Store {
    /// Days from entering each open stage to the winning close, for deals won since
    /// `since` (the newest `limit` entries): how long a deal in that stage still takes,
    /// for open deals whose close date nobody has given.
    pub fn time_to_win_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sc.to_stage_id, julianday(d.closed_on) - julianday(sc.changed_on)
             FROM deals d INDEXED BY deals_closed
             JOIN stages ws ON ws.id = d.stage_id AND ws.kind = 'won'
             JOIN stage_changes sc ON sc.deal_id = d.id
             JOIN stages os ON os.id = sc.to_stage_id AND os.kind = 'open'
             WHERE d.closed_on >= ?1 AND d.closed_on < ?2
             ORDER BY d.closed_on DESC, d.stage_id DESC, d.amount_cents DESC, d.id DESC,
                      sc.changed_on, sc.id
             LIMIT ?3",
        )?;
        days_by_stage(&mut stmt, (since, until), limit)
    }

    /// For each of `days`, the deals open at its start (as in [`Store::pipeline_as_of`]),
    /// grouped by their stage then (`None`: no stage change recorded by then), the days
    /// from that day to their expected close as last recorded (`None`: no date) and their
    /// [`crate::domain::deals::size_bucket`] (amount as last recorded): how many
    /// there were and how many had won before `known`. What deals like today's went on to
    /// do, for the simulation's win probabilities.
    pub fn snapshot_outcomes(&self, days: &[String], known: &str) -> Result<Vec<SnapshotGroup>> {
        let days = serde_json::to_string(days).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut stmt = self.conn.prepare_cached(
            // A full scan per day (NOT INDEXED: through deals_closed, most rows would be
            // fetched one by one), each deal's stage then looked up once (MATERIALIZED).
            "WITH snap AS MATERIALIZED (
                 SELECT (SELECT sc.to_stage_id FROM stage_changes sc
                         WHERE sc.deal_id = d.id AND sc.changed_on < m.value
                         ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1) AS stage,
                        CAST(julianday(d.expected_close) - julianday(m.value) AS INTEGER)
                            AS ahead,
                        CASE WHEN d.amount_cents > 0 THEN
                            2 * length(CAST(d.amount_cents AS TEXT))
                            + (CAST(substr(CAST(d.amount_cents AS TEXT), 1, 2) AS INTEGER) >= 32)
                        END AS size,
                        d.closed_on < ?2 AND cs.kind = 'won' AS won
                 FROM json_each(?1) m
                 JOIN deals d NOT INDEXED ON d.created_on < m.value
                                 AND (d.closed_on IS NULL OR d.closed_on >= m.value)
                 JOIN stages cs ON cs.id = d.stage_id)
             SELECT stage, ahead, size, SUM(won), COUNT(*) FROM snap
             GROUP BY stage, ahead, size ORDER BY stage, ahead, size",
        )?;
        let rows = stmt.query_map(rusqlite::params![days, known], |r| {
            Ok(SnapshotGroup {
                stage: r.get(0)?,
                days_to_close: r.get(1)?,
                size: r.get(2)?,
                won: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                deals: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The deals open at the start of `day` (created before it, not closed before it), as
    /// they were then where the store knows it: the stage from the stage history (`None`
    /// when no stage change is recorded by then), the amount and expected close as last
    /// recorded (the store keeps no history of those), and how each ended.
    pub fn pipeline_as_of(&self, day: &str) -> Result<Vec<AsOfDeal>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.amount_cents,
                    (SELECT sc.to_stage_id FROM stage_changes sc
                     WHERE sc.deal_id = d.id AND sc.changed_on < ?1
                     ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1),
                    d.stage_id, d.expected_close, d.closed_on,
                    (SELECT kind FROM stages WHERE id = d.stage_id) = 'won'
             FROM deals d NOT INDEXED
             WHERE d.created_on < ?1 AND (d.closed_on IS NULL OR d.closed_on >= ?1)
             ORDER BY d.id",
        )?;
        let rows = stmt.query_map([day], |r| {
            Ok(AsOfDeal {
                cents: r.get(0)?,
                stage_then: r.get(1)?,
                stage_now: r.get(2)?,
                expected_close: r.get(3)?,
                closed_on: r.get(4)?,
                won: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Collects (stage id, days) rows of a query taking a date and a row limit.
fn days_by_stage(
    stmt: &mut rusqlite::Statement,
    (since, until): (&str, &str),
    limit: usize,
) -> Result<HashMap<i64, Vec<f64>>> {
    let mut rows = stmt.query(rusqlite::params![since, until, limit as i64])?;
    let mut out: HashMap<i64, Vec<f64>> = HashMap::new();
    while let Some(r) = rows.next()? {
        let stage: i64 = r.get(0)?;
        if let Some(days) = r.get::<_, Option<f64>>(1)? {
            out.entry(stage).or_default().push(days);
        }
    }
    Ok(out)
}
