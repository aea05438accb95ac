//! Customer segment runs: the order ledger they are computed from, and the runs kept.

use super::db::{Result, Store};
pub use crate::domain::segments::{
    LedgerLine, NewSegmentRun, SegmentHistory, SegmentMove, SegmentProfile, SegmentRun,
};
use rusqlite::{params, OptionalExtension};

/// Industry, segment and region by customer id.
pub type CustomerProfiles =
    std::collections::HashMap<i64, (Option<String>, Option<String>, Option<String>)>;

impl Store {
    /// Every order of the ledger on or before `as_of` (refunds included).
    pub fn order_ledger(&self, as_of: &str) -> Result<Vec<LedgerLine>> {
        let mut stmt = self.conn.prepare(
            "SELECT customer_id, ordered_on, amount_cents, product_id FROM orders
             WHERE ordered_on <= ?1 ORDER BY ordered_on, amount_cents, id",
        )?;
        let rows = stmt
            .query_map([as_of], |r| {
                Ok(LedgerLine {
                    customer_id: r.get(0)?,
                    ordered_on: r.get(1)?,
                    amount_cents: r.get(2)?,
                    product_id: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Every customer's external id and name, by id (for listing many customers at once).
    pub fn customer_labels(
        &self,
    ) -> Result<std::collections::HashMap<i64, (Option<String>, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, external_id, name FROM customers")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Every customer's industry, segment and region, by id.
    pub fn customer_profiles(&self) -> Result<CustomerProfiles> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, industry, segment, region FROM customers")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The customer and day of every activity done on or before `as_of`.
    pub fn customer_activity_days(&self, as_of: &str) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT customer_id, done_on FROM activities
             WHERE done_on IS NOT NULL AND done_on <= ?1 AND customer_id IS NOT NULL
             ORDER BY customer_id, done_on, id",
        )?;
        let rows = stmt
            .query_map([as_of], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Stores a run, its profiles and every customer's segment, in one transaction.
    pub fn save_segment_run(&mut self, run: &NewSegmentRun) -> Result<i64> {
        let tx = self.begin()?;
        let id = insert_segment_run(&tx, run)?;
        tx.commit()?;
        Ok(id)
    }

    /// A stored run with its profiles; `None` for the newest when `id` is `None` and there
    /// is none.
    pub fn segment_run(&self, id: Option<i64>) -> Result<Option<SegmentRun>> {
        let head = self
            .conn
            .query_row(
                "SELECT id, as_of, created_at, k, silhouette, adjusted_rand_min FROM segment_runs
                 WHERE id = coalesce(?1, (SELECT max(id) FROM segment_runs))",
                [id],
                |r| {
                    Ok(SegmentRun {
                        id: r.get(0)?,
                        as_of: r.get(1)?,
                        created_at: r.get(2)?,
                        k: r.get::<_, i64>(3)? as usize,
                        silhouette: r.get(4)?,
                        adjusted_rand_min: r.get(5)?,
                        profiles: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut run) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare(
            "SELECT name, description, customers, revenue_cents, recency_days, frequency,
                    monetary_cents, tenure_days, breadth
             FROM segment_profiles WHERE run_id = ?1 ORDER BY position",
        )?;
        run.profiles = stmt
            .query_map([run.id], |r| {
                Ok(SegmentProfile {
                    name: r.get(0)?,
                    description: r.get(1)?,
                    customers: r.get::<_, i64>(2)? as usize,
                    revenue_cents: r.get(3)?,
                    recency_days: r.get(4)?,
                    frequency: r.get(5)?,
                    monetary_cents: r.get(6)?,
                    tenure_days: r.get(7)?,
                    breadth: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(run))
    }

    /// The run stored before run `id`, if any.
    pub fn previous_segment_run(&self, id: i64) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT max(id) FROM segment_runs WHERE id < ?1",
            [id],
            |r| r.get(0),
        )?)
    }

    /// How many customers went from each segment of run `from` to each of run `to`
    /// (customers in both runs whose segment name changed), most first.
    pub fn segment_moves(&self, from: i64, to: i64) -> Result<Vec<SegmentMove>> {
        let mut stmt = self.conn.prepare(
            "SELECT pa.name, pb.name, count(*) FROM segment_members a
             JOIN segment_members b ON b.customer_id = a.customer_id AND b.run_id = ?2
             JOIN segment_profiles pa ON pa.run_id = a.run_id AND pa.position = a.position
             JOIN segment_profiles pb ON pb.run_id = b.run_id AND pb.position = b.position
             WHERE a.run_id = ?1 AND pa.name <> pb.name
             GROUP BY pa.name, pb.name ORDER BY count(*) DESC, pa.name, pb.name",
        )?;
        let rows = stmt
            .query_map([from, to], |r| {
                Ok(SegmentMove {
                    from: r.get(0)?,
                    to: r.get(1)?,
                    customers: r.get::<_, i64>(2)? as usize,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// A customer's segment in every run that placed it, oldest first.
    pub fn segment_history(&self, customer_id: i64) -> Result<Vec<SegmentHistory>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.as_of, p.name FROM segment_members m
             JOIN segment_runs r ON r.id = m.run_id
             JOIN segment_profiles p ON p.run_id = m.run_id AND p.position = m.position
             WHERE m.customer_id = ?1 ORDER BY r.id",
        )?;
        let rows = stmt
            .query_map([customer_id], |r| {
                Ok(SegmentHistory {
                    run_id: r.get(0)?,
                    as_of: r.get(1)?,
                    segment: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// Writes a segment run, its profiles and members inside `tx`; its id.
pub(super) fn insert_segment_run(
    tx: &rusqlite::Transaction<'_>,
    run: &NewSegmentRun,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO segment_runs(created_at, as_of, k, silhouette, adjusted_rand_min)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            run.created_at,
            run.as_of,
            run.k as i64,
            run.silhouette,
            run.adjusted_rand_min
        ],
    )?;
    let id = tx.last_insert_rowid();
    {
        let mut profile = tx.prepare(
            "INSERT INTO segment_profiles(run_id, position, name, description, customers,
               revenue_cents, recency_days, frequency, monetary_cents, tenure_days, breadth)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (i, p) in run.profiles.iter().enumerate() {
            profile.execute(params![
                id,
                i as i64,
                p.name,
                p.description,
                p.customers as i64,
                p.revenue_cents,
                p.recency_days,
                p.frequency,
                p.monetary_cents,
                p.tenure_days,
                p.breadth
            ])?;
        }
        let mut member = tx.prepare(
            "INSERT INTO segment_members(customer_id, run_id, position) VALUES (?1, ?2, ?3)",
        )?;
        for (customer, position) in &run.members {
            member.execute(params![customer, id, *position as i64])?;
        }
    }
    Ok(id)
}
