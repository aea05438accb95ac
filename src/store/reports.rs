//! Facts the reports group and summarise: closed deals with every breakdown field, and
//! monthly won revenue per rep.

use super::db::{Result, Store};
use rusqlite::params;
use std::collections::HashMap;

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
    /// YYYY-MM-DD.
    pub closed_on: String,
    pub lost_reason: Option<String>,
    /// For a lost deal, the stage it was in before it was lost (from its stage history).
    pub lost_at: Option<String>,
}

/// What `closed_deals` reads beyond the deal itself (each costs a lookup per deal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedExtra {
    None,
    /// The number of activities on each deal.
    Activities,
    /// For lost deals, the stage they were lost at (from the stage history).
    LostStage,
}

impl Store {
    /// Deals won or lost with a close date in [from, to). Names come from small lookup
    /// tables read once (reps, teams, products, customers' region and segment) rather than
    /// a join per deal; the activity count per deal only when asked for (it costs a lookup
    /// per deal).
    pub fn closed_deals(
        &self,
        from: &str,
        to: &str,
        extra: ClosedExtra,
    ) -> Result<Vec<ClosedDeal>> {
        let names = |sql: &str| -> Result<HashMap<i64, String>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let reps = names("SELECT id, name FROM reps")?;
        let teams = names("SELECT id, name FROM teams")?;
        let products = names("SELECT id, name FROM products")?;
        let rep_team: HashMap<i64, i64> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, team_id FROM reps WHERE team_id IS NOT NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let customers: HashMap<i64, (Option<String>, Option<String>)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, region, segment FROM customers")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let sql = format!(
            "SELECT s.kind = 'won', d.amount_cents, d.discount_pct,
                    CAST(julianday(d.closed_on) - julianday(d.created_on) AS INTEGER),
                    {activities}, d.owner_rep_id, d.product_id, d.customer_id, d.source,
                    d.closed_on, d.lost_reason,
                    CASE WHEN {lost_stage} AND s.kind = 'lost' THEN
                      (SELECT f.name FROM stage_changes sc JOIN stages f ON f.id = sc.from_stage_id
                       WHERE sc.deal_id = d.id AND sc.to_stage_id = d.stage_id
                       ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1)
                    END
             FROM deals d INDEXED BY deals_closed
             JOIN stages s ON s.id = d.stage_id
             WHERE d.closed_on >= ?1 AND d.closed_on < ?2 AND s.kind IN ('won', 'lost')",
            activities = if extra == ClosedExtra::Activities {
                "(SELECT count(*) FROM activities a WHERE a.deal_id = d.id)"
            } else {
                "0"
            },
            lost_stage = i32::from(extra == ClosedExtra::LostStage)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![from, to])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let rep: Option<i64> = r.get(5)?;
            let product: Option<i64> = r.get(6)?;
            let customer: i64 = r.get(7)?;
            let (region, segment) = customers.get(&customer).cloned().unwrap_or_default();
            out.push(ClosedDeal {
                won: r.get(0)?,
                amount_cents: r.get(1)?,
                discount_pct: r.get(2)?,
                cycle_days: r.get(3)?,
                activities: r.get(4)?,
                rep: rep.and_then(|id| reps.get(&id).cloned()),
                team: rep
                    .and_then(|id| rep_team.get(&id))
                    .and_then(|t| teams.get(t).cloned()),
                product: product.and_then(|id| products.get(&id).cloned()),
                region,
                segment,
                source: r.get(8)?,
                closed_on: r.get(9)?,
                lost_reason: r.get(10)?,
                lost_at: r.get(11)?,
            });
        }
        Ok(out)
    }
}
