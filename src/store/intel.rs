//! Customer intelligence as of the last recompute: one row per customer in
//! `customer_intel` (sorted and filtered on by the customer list) and a record of each run.

use super::db::{Result, Store};
use crate::domain::intel::{CustomerIntel, IntelRun, NeedLine, OfferLine};
use crate::domain::Money;
use rusqlite::{params, OptionalExtension};

/// What a recompute stores: the run's record and every valued customer's values.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIntelRun {
    pub created_at: String,
    pub as_of: String,
    /// The segment run made with it (stored in the same transaction).
    pub segments: Option<crate::domain::segments::NewSegmentRun>,
    pub notes: Vec<String>,
    /// Customers not listed keep no values (their row is cleared).
    pub customers: Vec<CustomerIntel>,
}

impl Store {
    /// Stores the run's segment run and replaces every customer's values with the run's,
    /// in one transaction: a customer the run did not value is cleared rather than left
    /// with older values, and a failure keeps neither.
    pub fn save_intel_run(&mut self, run: &NewIntelRun) -> Result<i64> {
        let tx = self.begin()?;
        let segment_run_id = match &run.segments {
            Some(s) => Some(super::segments::insert_segment_run(&tx, s)?),
            None => None,
        };
        tx.execute(
            "UPDATE customer_intel SET as_of = ?1, segment = NULL, tier = NULL, p_alive = NULL,
               churn_risk = NULL, expected_purchases = NULL, predicted_value_cents = NULL,
               lifetime_cents = NULL, need_family = NULL, need_share = NULL, need_rule = NULL,
               offers = NULL",
            [&run.as_of],
        )?;
        {
            let mut stmt = tx.prepare(
                "UPDATE customer_intel SET segment = ?2, tier = ?3, p_alive = ?4, churn_risk = ?5,
                   expected_purchases = ?6, predicted_value_cents = ?7, lifetime_cents = ?8,
                   need_family = ?9, need_share = ?10, need_rule = ?11, offers = ?12
                 WHERE customer_id = ?1",
            )?;
            for c in &run.customers {
                let offers = if c.offers.is_empty() {
                    None
                } else {
                    Some(serde_json::to_string(&c.offers).unwrap_or_default())
                };
                stmt.execute(params![
                    c.customer_id,
                    c.segment,
                    c.tier,
                    c.p_alive,
                    c.churn_risk,
                    c.expected_purchases,
                    c.predicted_value.map(|m| m.0),
                    c.lifetime_value.map(|m| m.0),
                    c.need.as_ref().map(|n| n.family.as_str()),
                    c.need.as_ref().map(|n| n.share),
                    c.need.as_ref().map(|n| n.rule.as_str()),
                    offers,
                ])?;
            }
        }
        let valued = run
            .customers
            .iter()
            .filter(|c| c.predicted_value.is_some())
            .count();
        let customers: i64 =
            tx.query_row("SELECT count(*) FROM customer_intel", [], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO intel_runs(created_at, as_of, segment_run_id, customers, valued, notes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.created_at,
                run.as_of,
                segment_run_id,
                customers,
                valued as i64,
                run.notes.join("\n")
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// The last recompute's record, if there was one.
    pub fn last_intel_run(&self) -> Result<Option<IntelRun>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, as_of, segment_run_id, customers, valued, notes
                 FROM intel_runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    let notes: String = r.get(6)?;
                    Ok(IntelRun {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        as_of: r.get(2)?,
                        segment_run_id: r.get(3)?,
                        customers: r.get::<_, i64>(4)? as usize,
                        valued: r.get::<_, i64>(5)? as usize,
                        notes: notes
                            .lines()
                            .filter(|l| !l.is_empty())
                            .map(str::to_string)
                            .collect(),
                    })
                },
            )
            .optional()?)
    }

    /// One customer's values as of the last recompute (`None` before any).
    pub fn customer_intel(&self, customer_id: i64) -> Result<Option<CustomerIntel>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT as_of, segment, tier, p_alive, churn_risk, expected_purchases,
                   predicted_value_cents, lifetime_cents, need_family, need_share, need_rule, offers
                 FROM customer_intel WHERE customer_id = ?1 AND as_of IS NOT NULL",
            )?
            .query_row([customer_id], |r| {
                let need = match (
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<f64>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ) {
                    (Some(family), Some(share), rule) => Some(NeedLine {
                        family,
                        share,
                        rule: rule.unwrap_or_default(),
                    }),
                    _ => None,
                };
                let offers: Option<String> = r.get(11)?;
                Ok(CustomerIntel {
                    customer_id,
                    as_of: r.get(0)?,
                    segment: r.get(1)?,
                    tier: r.get(2)?,
                    p_alive: r.get(3)?,
                    churn_risk: r.get(4)?,
                    expected_purchases: r.get(5)?,
                    predicted_value: r.get::<_, Option<i64>>(6)?.map(Money),
                    lifetime_value: r.get::<_, Option<i64>>(7)?.map(Money),
                    need,
                    // Written by `save_intel_run` only; unreadable JSON shows as no offers.
                    offers: offers
                        .and_then(|o| serde_json::from_str::<Vec<OfferLine>>(&o).ok())
                        .unwrap_or_default(),
                })
            })
            .optional()?;
        Ok(row)
    }

    /// Customers and predicted value by value tier, A first.
    pub fn intel_tiers(&self) -> Result<Vec<(String, usize, Money)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT tier, count(*), coalesce(sum(predicted_value_cents), 0) FROM customer_intel
             WHERE tier IS NOT NULL GROUP BY tier ORDER BY tier",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as usize, Money(r.get(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
