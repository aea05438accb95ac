//! The agenda's reads (open activities and customers past their contact interval, for a
//! rep, a team's tree or everyone) and its writes (complete, snooze, reassign; audited).

use super::db::{Result, Store, StoreError};
use crate::domain::agenda::{
    AgendaChange, AgendaScope, ContactDue, OpenActivity, PlanCustomer, RepCustomers,
};
use crate::domain::audit::Actor;
use crate::domain::date::iso;
use rusqlite::params;

impl Store {
    /// The rep ids of a scope (`None`: everyone); a rep or team that does not exist is an
    /// error naming it.
    fn scope_reps(&self, scope: &AgendaScope) -> Result<Option<Vec<i64>>> {
        let one = |sql: &str, name: &str, what: &str| -> Result<Vec<i64>> {
            let ids: Vec<i64> = self
                .conn
                .prepare(sql)?
                .query_map([name], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if ids.is_empty() {
                let exists: bool = self.conn.query_row(
                    &format!("SELECT EXISTS(SELECT 1 FROM {what}s WHERE name = ?1 COLLATE NOCASE)"),
                    [name],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::Invalid(format!("no {what} named '{name}'")));
                }
            }
            Ok(ids)
        };
        Ok(match scope {
            AgendaScope::All => None,
            AgendaScope::Rep(name) => Some(one(
                "SELECT id FROM reps WHERE name = ?1 COLLATE NOCASE",
                name,
                "rep",
            )?),
            AgendaScope::Team(name) => Some(one(
                "WITH RECURSIVE tree(id) AS (
                   SELECT id FROM teams WHERE name = ?1 COLLATE NOCASE
                   UNION SELECT t.id FROM teams t JOIN tree ON t.parent_id = tree.id)
                 SELECT r.id FROM reps r JOIN tree ON r.team_id = tree.id",
                name,
                "team",
            )?),
        })
    }

    /// Open activities due on or before `until` of the scope's reps (the customer's owner
    /// when the activity has no rep), earliest first.
    pub fn open_activities(&self, scope: &AgendaScope, until: &str) -> Result<Vec<OpenActivity>> {
        let reps = self.scope_reps(scope)?;
        let filter = match &reps {
            None => String::new(),
            Some(ids) => format!(
                " AND coalesce(a.rep_id, c.owner_rep_id) IN ({})",
                if ids.is_empty() {
                    "NULL".to_string()
                } else {
                    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
                }
            ),
        };
        let sql = format!(
            "SELECT a.id, a.external_id, a.due_on, a.kind, a.subject, c.id, c.name, c.external_id,
               c.city, r.name, d.name
             FROM activities a JOIN customers c ON c.id = a.customer_id
             LEFT JOIN reps r ON r.id = coalesce(a.rep_id, c.owner_rep_id)
             LEFT JOIN deals d ON d.id = a.deal_id
             WHERE a.done_on IS NULL AND a.due_on <= ?1{filter}
             ORDER BY a.due_on, a.id"
        );
        let rows = self
            .conn
            .prepare(&sql)?
            .query_map([until], |r| {
                Ok(OpenActivity {
                    id: r.get(0)?,
                    external_id: r.get(1)?,
                    due_on: r.get(2)?,
                    kind: r.get(3)?,
                    subject: r.get(4)?,
                    customer_id: r.get(5)?,
                    customer: r.get(6)?,
                    customer_external_id: r.get(7)?,
                    city: r.get(8)?,
                    rep: r.get(9)?,
                    deal: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The scope's active customers (by owner) with their contact interval if they have
    /// one, their segment, their last contact done up to `today` and whether something is
    /// scheduled for them.
    pub fn contact_intervals(&self, scope: &AgendaScope, today: &str) -> Result<Vec<ContactDue>> {
        let reps = self.scope_reps(scope)?;
        let filter = match &reps {
            None => String::new(),
            Some(ids) => format!(
                " AND c.owner_rep_id IN ({})",
                if ids.is_empty() {
                    "NULL".to_string()
                } else {
                    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
                }
            ),
        };
        let sql = format!(
            "SELECT c.id, c.name, c.external_id, c.city, r.name, c.contact_every_days, c.created_on,
               (SELECT max(a.done_on) FROM activities a WHERE a.customer_id = c.id AND a.done_on <= ?1),
               EXISTS(SELECT 1 FROM activities a WHERE a.customer_id = c.id AND a.done_on IS NULL),
               c.segment
             FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id
             WHERE c.status = 'active'{filter}
             ORDER BY c.id"
        );
        let rows = self
            .conn
            .prepare(&sql)?
            .query_map([today], |r| {
                Ok(ContactDue {
                    customer_id: r.get(0)?,
                    customer: r.get(1)?,
                    customer_external_id: r.get(2)?,
                    city: r.get(3)?,
                    rep: r.get(4)?,
                    every_days: r.get::<_, Option<i64>>(5)?.filter(|d| *d > 0),
                    created_on: r.get(6)?,
                    last_contact: r.get(7)?,
                    scheduled: r.get(8)?,
                    segment: r.get(9)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Completes, snoozes or reassigns an open activity, audited. An activity already
    /// done is refused.
    pub fn change_activity(&mut self, id: i64, change: &AgendaChange, actor: &Actor) -> Result<()> {
        let tx = self.begin()?;
        let done: Option<Option<String>> = {
            use rusqlite::OptionalExtension;
            tx.query_row("SELECT done_on FROM activities WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
        };
        match done {
            None => return Err(StoreError::Invalid(format!("no activity #{id}"))),
            Some(Some(on)) => {
                return Err(StoreError::Invalid(format!(
                    "activity #{id} was already done on {on}"
                )))
            }
            Some(None) => {}
        }
        match change {
            AgendaChange::Complete { on, outcome } => super::edits::write_activity(
                &tx,
                actor,
                id,
                &["done_on", "outcome"],
                params![iso(*on), outcome],
            )?,
            AgendaChange::Snooze { to } => {
                super::edits::write_activity(&tx, actor, id, &["due_on"], params![iso(*to)])?
            }
            AgendaChange::Reassign { rep } => {
                let rep_id = super::edits::rep_id(&tx, rep)?;
                super::edits::write_activity(&tx, actor, id, &["rep_id"], params![rep_id])?
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A rep's customers (not churned) with what their visit priority reads, and the
    /// rep's capacity (1.0 = one full-time seller).
    pub fn plan_customers(&self, rep: &str, today: &str) -> Result<(f64, Vec<PlanCustomer>)> {
        use rusqlite::OptionalExtension;
        let Some((rep_id, capacity)) = self
            .conn
            .query_row(
                "SELECT id, capacity FROM reps WHERE name = ?1 COLLATE NOCASE",
                [rep],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)),
            )
            .optional()?
        else {
            return Err(StoreError::Invalid(format!("no rep named '{rep}'")));
        };
        let rows = self
            .conn
            .prepare(
                "SELECT c.id, c.name, c.external_id, c.city, c.contact_every_days, c.created_on,
                   (SELECT max(a.done_on) FROM activities a WHERE a.customer_id = c.id AND a.done_on <= ?2),
                   (SELECT coalesce(sum(d.amount_cents * s.probability), 0) FROM deals d
                      JOIN stages s ON s.id = d.stage_id WHERE d.customer_id = c.id AND s.kind = 'open'),
                   (SELECT count(*) FROM deals d JOIN stages s ON s.id = d.stage_id
                      WHERE d.customer_id = c.id AND s.kind = 'open' AND d.expected_close < ?2),
                   ci.churn_risk, ci.predicted_value_cents, ci.tier, c.segment, c.status
                 FROM customers c LEFT JOIN customer_intel ci ON ci.customer_id = c.id
                 WHERE c.owner_rep_id = ?1 AND c.status != 'churned'
                 ORDER BY c.id",
            )?
            .query_map(params![rep_id, today], plan_customer)?
            .collect::<rusqlite::Result<_>>()?;
        Ok((capacity, rows))
    }

    /// The rep with the most open activities due on or before `until` (by name on a tie).
    pub fn busiest_rep(&self, until: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row(
                "SELECT r.name FROM activities a JOIN customers c ON c.id = a.customer_id
                 JOIN reps r ON r.id = coalesce(a.rep_id, c.owner_rep_id)
                 WHERE a.done_on IS NULL AND a.due_on <= ?1
                 GROUP BY r.id ORDER BY count(*) DESC, r.name LIMIT 1",
                [until],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Every rep (by id) with its customers (not churned) and what their visit priority
    /// reads, in one pass over the customers: the open pipeline is summed once from the
    /// open stages' deals instead of once per customer.
    pub fn plan_customers_all(&self, today: &str) -> Result<Vec<RepCustomers>> {
        let mut reps: Vec<RepCustomers> = Vec::new();
        let mut at: std::collections::HashMap<i64, usize> = Default::default();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT id, name, capacity FROM reps ORDER BY id")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                at.insert(r.get(0)?, reps.len());
                reps.push(RepCustomers {
                    rep: r.get(1)?,
                    capacity: r.get(2)?,
                    customers: Vec::new(),
                });
            }
        }
        let mut stmt = self.conn.prepare(
            "WITH p AS MATERIALIZED (
               SELECT d.customer_id, sum(d.amount_cents * s.probability) AS w,
                 sum(d.expected_close < ?1) AS stale
               FROM stages s CROSS JOIN deals d ON d.stage_id = s.id
               WHERE s.kind = 'open' GROUP BY d.customer_id)
             SELECT c.id, c.name, c.external_id, c.city, c.contact_every_days, c.created_on,
               (SELECT max(a.done_on) FROM activities a WHERE a.customer_id = c.id AND a.done_on <= ?1),
               coalesce(p.w, 0), coalesce(p.stale, 0),
               ci.churn_risk, ci.predicted_value_cents, ci.tier, c.segment, c.status,
               c.owner_rep_id
             FROM customers c NOT INDEXED
             LEFT JOIN p ON p.customer_id = c.id
             LEFT JOIN customer_intel ci ON ci.customer_id = c.id
             WHERE c.owner_rep_id IS NOT NULL AND c.status != 'churned'
             ORDER BY c.id",
        )?;
        let mut rows = stmt.query([today])?;
        while let Some(r) = rows.next()? {
            let Some(&i) = at.get(&r.get::<_, i64>(14)?) else {
                continue;
            };
            reps[i].customers.push(plan_customer(r)?);
        }
        Ok(reps)
    }

    /// The gaps in days between consecutive contact days of the customers who kept buying
    /// (an order in the year up to `today`), by customer segment.
    pub fn contact_gaps(&self, today: &str) -> Result<Vec<(String, f64)>> {
        let mut stmt = self.conn.prepare(
            "WITH days AS (
               SELECT DISTINCT a.customer_id, a.done_on FROM activities a
               WHERE a.done_on IS NOT NULL AND a.done_on <= ?1
                 AND a.customer_id IN (SELECT customer_id FROM orders
                   WHERE ordered_on > date(?1, '-365 days') AND ordered_on <= ?1))
             SELECT c.segment, julianday(d.done_on) - julianday(lag(d.done_on)
                      OVER (PARTITION BY d.customer_id ORDER BY d.done_on))
             FROM days d JOIN customers c ON c.id = d.customer_id
             WHERE c.segment IS NOT NULL
             ORDER BY d.customer_id, d.done_on",
        )?;
        let rows = stmt
            .query_map([today], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<f64>>(1)?))
            })?
            .filter_map(|r| match r {
                Ok((s, Some(g))) => Some(Ok((s, g))),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// A customer's row of the plan reads (columns 0–13 in `plan_customers`' order).
fn plan_customer(r: &rusqlite::Row) -> rusqlite::Result<PlanCustomer> {
    Ok(PlanCustomer {
        id: r.get(0)?,
        name: r.get(1)?,
        external_id: r.get(2)?,
        city: r.get(3)?,
        every_days: r.get(4)?,
        created_on: r.get(5)?,
        last_contact: r.get(6)?,
        weighted_pipeline_cents: r.get::<_, f64>(7)?.round() as i64,
        stale_deals: r.get(8)?,
        churn_risk: r.get(9)?,
        predicted_value_cents: r.get(10)?,
        tier: r.get(11)?,
        segment: r.get(12)?,
        status: r.get(13)?,
    })
}
