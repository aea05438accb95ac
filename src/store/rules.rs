//! What automation rules read (big open deals, customers without an owner, what earlier
//! runs did) and write (a run: its tasks, alerts and reassignments with the rule's name in
//! the audit trail, in one transaction).

use super::db::{Result, Store, StoreError};
use crate::domain::audit::{Actor, Entity};
use crate::domain::rules::{Alert, RuleAction, RuleRun, Then, WatchedDeal};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};

impl Store {
    /// The keys a rule has acted on (each only once, ever).
    pub fn rule_keys(&self, rule: &str) -> Result<HashSet<String>> {
        Ok(self
            .conn
            .prepare("SELECT key FROM rule_actions WHERE rule = ?1")?
            .query_map([rule], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Open deals of at least `min_cents`.
    pub fn big_open_deals(&self, min_cents: i64) -> Result<Vec<WatchedDeal>> {
        Ok(self
            .conn
            .prepare(
                "SELECT d.id, d.name, c.id, c.name, d.expected_close, d.amount_cents
                 FROM stages s CROSS JOIN deals d ON d.stage_id = s.id
                 JOIN customers c ON c.id = d.customer_id
                 WHERE s.kind = 'open' AND d.amount_cents >= ?1 ORDER BY d.id",
            )?
            .query_map([min_cents], |r| {
                Ok(WatchedDeal {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    customer_id: r.get(2)?,
                    customer: r.get(3)?,
                    expected_close: r.get(4)?,
                    amount_cents: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// What a deal-slipped rule last saw of each deal: (expected close, amount).
    pub fn rule_marks(&self, rule: &str) -> Result<HashMap<i64, (Option<String>, i64)>> {
        Ok(self
            .conn
            .prepare(
                "SELECT deal_id, expected_close, amount_cents FROM rule_marks WHERE rule = ?1",
            )?
            .query_map([rule], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Customers (not churned) without an owner: (id, name).
    pub fn customers_without_owner(&self) -> Result<Vec<(i64, String)>> {
        Ok(self
            .conn
            .prepare(
                "SELECT id, name FROM customers
                 WHERE owner_rep_id IS NULL AND status != 'churned' ORDER BY id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Writes one rule's run: its actions (tasks, alerts, reassignments — any whose key
    /// was acted on meanwhile is skipped), the deal marks it saw (deal-slipped), and the
    /// run's line; all or nothing. Every task and reassignment is audited with the note
    /// `rule '<name>'`. Returns how many actions were written.
    pub fn save_rule_run(
        &mut self,
        run: &RuleRun,
        actions: &[RuleAction],
        marks: &[(i64, Option<String>, i64)],
        actor: &Actor,
    ) -> Result<usize> {
        let tx = self.begin()?;
        let mut acted = 0;
        for a in actions {
            let taken: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM rule_actions WHERE rule = ?1 AND key = ?2)",
                params![a.rule, a.hit.key],
                |r| r.get(0),
            )?;
            if !taken {
                write_action(&tx, a, actor)?;
                acted += 1;
            }
        }
        {
            let mut stmt = tx.prepare(
                "INSERT INTO rule_marks(rule, deal_id, expected_close, amount_cents)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(rule, deal_id) DO UPDATE SET expected_close = excluded.expected_close,
                   amount_cents = excluded.amount_cents",
            )?;
            for (deal, close, amount) in marks {
                stmt.execute(params![run.rule, deal, close, amount])?;
            }
        }
        tx.execute(
            "INSERT INTO rule_runs(rule, ran_at, as_of, dry_run, matched, acted, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.rule,
                run.ran_at,
                run.as_of,
                run.dry_run,
                run.matched,
                acted as i64,
                run.summary
            ],
        )?;
        tx.commit()?;
        Ok(acted)
    }

    /// Each rule's last run (newest first).
    pub fn last_rule_runs(&self) -> Result<Vec<RuleRun>> {
        Ok(self
            .conn
            .prepare(
                "SELECT rule, ran_at, as_of, dry_run, matched, acted, summary FROM rule_runs
                 WHERE id IN (SELECT max(id) FROM rule_runs GROUP BY rule) ORDER BY id DESC",
            )?
            .query_map([], |r| {
                Ok(RuleRun {
                    rule: r.get(0)?,
                    ran_at: r.get(1)?,
                    as_of: r.get(2)?,
                    dry_run: r.get(3)?,
                    matched: r.get(4)?,
                    acted: r.get(5)?,
                    summary: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Alerts not dismissed, newest first (at most `limit`), and how many there are.
    pub fn open_alerts(&self, limit: usize) -> Result<(usize, Vec<Alert>)> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM rule_actions WHERE action = 'alert' AND dismissed_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        let alerts = self
            .conn
            .prepare(
                "SELECT id, rule, message, created_at, customer_id, deal_id FROM rule_actions
                 WHERE action = 'alert' AND dismissed_at IS NULL ORDER BY id DESC LIMIT ?1",
            )?
            .query_map([limit as i64], |r| {
                Ok(Alert {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    message: r.get(2)?,
                    created_at: r.get(3)?,
                    customer_id: r.get(4)?,
                    deal_id: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok((count as usize, alerts))
    }

    /// Dismisses an alert (its key stays taken: the same condition raises no new one).
    pub fn dismiss_alert(&mut self, id: i64, at: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE rule_actions SET dismissed_at = ?2
             WHERE id = ?1 AND action = 'alert' AND dismissed_at IS NULL",
            params![id, at],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no open alert #{id}")));
        }
        Ok(())
    }
}

/// One action: the task or the reassignment (audited, noted with the rule), and its row.
fn write_action(conn: &Connection, a: &RuleAction, actor: &Actor) -> Result<()> {
    let note = format!("rule '{}'", a.rule);
    let to = match &a.to {
        Some(name) => Some(super::edits::rep_id(conn, name)?),
        None => None,
    };
    // The customer (from the deal when the hit names only a deal) and its owner.
    let customer = match (a.hit.customer_id, a.hit.deal_id) {
        (Some(c), _) => Some(c),
        (None, Some(d)) => conn
            .query_row("SELECT customer_id FROM deals WHERE id = ?1", [d], |r| {
                r.get(0)
            })
            .optional()?,
        (None, None) => None,
    };
    let owner: Option<i64> = match a.hit.deal_id {
        Some(d) => conn
            .query_row("SELECT owner_rep_id FROM deals WHERE id = ?1", [d], |r| {
                r.get(0)
            })
            .optional()?
            .flatten(),
        None => None,
    }
    .or(match customer {
        Some(c) => conn
            .query_row(
                "SELECT owner_rep_id FROM customers WHERE id = ?1",
                [c],
                |r| r.get(0),
            )
            .optional()?
            .flatten(),
        None => None,
    });
    let mut activity = None;
    let rep;
    match a.then {
        Then::Task => {
            let Some(customer) = customer else {
                return Err(StoreError::Invalid(format!(
                    "rule '{}': a task needs a customer ({})",
                    a.rule, a.hit.message
                )));
            };
            rep = to.or(owner);
            let id = super::edits::write_noted(
                conn,
                actor,
                Entity::Activity,
                None,
                &[
                    "external_id",
                    "customer_id",
                    "deal_id",
                    "rep_id",
                    "kind",
                    "subject",
                    "due_on",
                ],
                params![
                    super::edits::readable_id(conn, Entity::Activity)?,
                    customer,
                    a.hit.deal_id,
                    rep,
                    "call",
                    format!("{}: {}", a.rule, a.hit.message),
                    a.due_on
                ],
                &note,
            )?;
            activity = Some(id);
        }
        Then::Reassign => {
            let Some(to) = to else {
                return Err(StoreError::Invalid(format!(
                    "rule '{}': reassign needs `to`",
                    a.rule
                )));
            };
            let (entity, id) = match (a.hit.deal_id, customer) {
                (Some(d), _) => (Entity::Deal, d),
                (None, Some(c)) => (Entity::Customer, c),
                (None, None) => {
                    return Err(StoreError::Invalid(format!(
                        "rule '{}': nothing to reassign ({})",
                        a.rule, a.hit.message
                    )))
                }
            };
            super::edits::write_noted(
                conn,
                actor,
                entity,
                Some(id),
                &["owner_rep_id"],
                params![to],
                &note,
            )?;
            rep = Some(to);
        }
        Then::Alert => rep = owner,
    }
    conn.execute(
        "INSERT INTO rule_actions(rule, key, action, activity_id, customer_id, deal_id, rep_id,
           message, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.rule,
            a.hit.key,
            a.then.name(),
            activity,
            customer,
            a.hit.deal_id,
            rep,
            a.hit.message,
            actor.at
        ],
    )?;
    Ok(())
}
