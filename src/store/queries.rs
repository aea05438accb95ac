//! Read queries used by the front ends: the funnel by stage and the database summary.

use super::db::{Result, Store};
use crate::domain::{ForecastCategory, Money, StageKind};
use rusqlite::OptionalExtension;

/// A configured stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub probability: f64,
    pub kind: StageKind,
    pub category: ForecastCategory,
}

/// Deals currently in one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageTotals {
    pub stage: Stage,
    pub count: i64,
    pub value: Money,
}

/// Counts for the start screen and `funnel` without a subcommand.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub customers: i64,
    pub contacts: i64,
    pub reps: i64,
    pub teams: i64,
    pub products: i64,
    pub open_deals: i64,
    pub won_deals: i64,
    pub lost_deals: i64,
    pub open_pipeline_cents: i64,
    pub orders: i64,
    pub revenue_cents: i64,
    pub first_order: Option<String>,
    pub last_order: Option<String>,
    pub activities: i64,
    pub targets: i64,
    pub import_batches: i64,
}

impl Store {
    pub fn stages(&self) -> Result<Vec<Stage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, position, probability, kind, forecast_category FROM stages ORDER BY position, id",
        )?;
        let rows = stmt.query_map([], |r| {
            let kind: String = r.get(4)?;
            let cat: String = r.get(5)?;
            Ok(Stage {
                id: r.get(0)?,
                name: r.get(1)?,
                position: r.get(2)?,
                probability: r.get(3)?,
                kind: kind.parse().unwrap_or(StageKind::Open),
                category: cat.parse().unwrap_or(ForecastCategory::Pipeline),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Count and value of the deals in each stage, in stage order (every stage, even empty).
    pub fn stage_totals(&self) -> Result<Vec<StageTotals>> {
        let stages = self.stages()?;
        // Reads only the (stage_id, amount_cents) index.
        let mut stmt = self.conn.prepare_cached(
            "SELECT stage_id, count(*), sum(amount_cents) FROM deals GROUP BY stage_id",
        )?;
        let mut totals = std::collections::HashMap::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            totals.insert(
                r.get::<_, i64>(0)?,
                (r.get::<_, i64>(1)?, r.get::<_, i64>(2)?),
            );
        }
        Ok(stages
            .into_iter()
            .map(|s| {
                let (count, cents) = totals.get(&s.id).copied().unwrap_or((0, 0));
                StageTotals {
                    stage: s,
                    count,
                    value: Money(cents),
                }
            })
            .collect())
    }

    pub fn summary(&self) -> Result<Summary> {
        let c = &self.conn;
        let count = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        let mut s = Summary {
            customers: count("SELECT count(*) FROM customers")?,
            contacts: count("SELECT count(*) FROM contacts")?,
            reps: count("SELECT count(*) FROM reps")?,
            teams: count("SELECT count(*) FROM teams")?,
            products: count("SELECT count(*) FROM products")?,
            orders: count("SELECT count(*) FROM orders")?,
            revenue_cents: count("SELECT coalesce(sum(amount_cents), 0) FROM orders")?,
            activities: count("SELECT count(*) FROM activities")?,
            targets: count("SELECT count(*) FROM targets")?,
            import_batches: count("SELECT count(*) FROM import_batches")?,
            ..Default::default()
        };
        for t in self.stage_totals()? {
            match t.stage.kind {
                StageKind::Open => {
                    s.open_deals += t.count;
                    s.open_pipeline_cents += t.value.cents();
                }
                StageKind::Won => s.won_deals += t.count,
                StageKind::Lost => s.lost_deals += t.count,
            }
        }
        let range: Option<(Option<String>, Option<String>)> = c
            .query_row(
                "SELECT min(ordered_on), max(ordered_on) FROM orders",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((a, b)) = range {
            s.first_order = a;
            s.last_order = b;
        }
        Ok(s)
    }

    /// True when there are no customers and no deals: the TUI shows its welcome screen.
    /// The first day of the revenue ledger (the order-date index's first entry): history
    /// windows start at its month, not before.
    pub fn first_order_day(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT min(ordered_on) FROM orders", [], |r| r.get(0))?)
    }

    /// The last day anything closed or was ordered (read from the close-date and
    /// order-date indexes).
    pub fn last_close_day(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT max(d) FROM (SELECT max(closed_on) AS d FROM deals
                                 UNION ALL SELECT max(ordered_on) FROM orders)",
            [],
            |r| r.get(0),
        )?)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM deals)",
            [],
            |r| r.get(0),
        )?)
    }
}
