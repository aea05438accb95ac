//! Facts the reports group and summarise: closed deals with every breakdown field, and
//! monthly won revenue per rep.

use super::db::{Result, Store};
use rusqlite::params;

/// A deal closed in the report's window with the fields reports break down by.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedDeal {
    pub won: bool,
    pub amount_cents: i64,
    pub discount_pct: f64,
    pub cycle_days: i64,
    pub activities: i64,
    pub rep: Option<String>,
    pub team: Option<String>,
    pub product: Option<String>,
    pub region: Option<String>,
    pub source: Option<String>,
    pub segment: Option<String>,
}

impl Store {
    /// Deals won or lost with a close date in [from, to).
    pub fn closed_deals(&self, from: &str, to: &str) -> Result<Vec<ClosedDeal>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.kind = 'won', d.amount_cents, d.discount_pct,
                    CAST(julianday(d.closed_on) - julianday(d.created_on) AS INTEGER),
                    (SELECT count(*) FROM activities a WHERE a.deal_id = d.id),
                    r.name, t.name, p.name, c.region, d.source, c.segment
             FROM deals d INDEXED BY deals_closed
             JOIN stages s ON s.id = d.stage_id
             JOIN customers c ON c.id = d.customer_id
             LEFT JOIN reps r ON r.id = d.owner_rep_id
             LEFT JOIN teams t ON t.id = r.team_id
             LEFT JOIN products p ON p.id = d.product_id
             WHERE d.closed_on >= ?1 AND d.closed_on < ?2 AND s.kind IN ('won', 'lost')",
        )?;
        let rows = stmt.query_map(params![from, to], |r| {
            Ok(ClosedDeal {
                won: r.get(0)?,
                amount_cents: r.get(1)?,
                discount_pct: r.get(2)?,
                cycle_days: r.get(3)?,
                activities: r.get(4)?,
                rep: r.get(5)?,
                team: r.get(6)?,
                product: r.get(7)?,
                region: r.get(8)?,
                source: r.get(9)?,
                segment: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
