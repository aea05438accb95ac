//! The agenda, visit plans and automation rules on PostgreSQL, as SQLite's
//! (`store::agenda`, `store::plans`, `store::rules`): the same rows in the same order,
//! writes audited and in one SERIALIZABLE transaction each.

use super::edits::{readable, rep_by_name, write_row, write_row_noted};
use super::store::{PgStore, TxResult};
use crate::domain::agenda::*;
use crate::domain::audit::{Actor, Entity};
use crate::domain::date::iso;
use crate::domain::rules::{Alert, RuleAction, RuleRun, Then, WatchedDeal};
use crate::store::db::{Result, StoreError};
use postgres::Transaction;
use std::collections::{HashMap, HashSet};

fn plan_customer(r: &postgres::Row) -> PlanCustomer {
    PlanCustomer {
        id: r.get(0),
        name: r.get(1),
        external_id: r.get(2),
        city: r.get(3),
        every_days: r.get(4),
        created_on: r.get(5),
        last_contact: r.get(6),
        weighted_pipeline_cents: r.get::<_, f64>(7).round() as i64,
        stale_deals: r.get(8),
        churn_risk: r.get(9),
        predicted_value_cents: r.get(10),
        tier: r.get(11),
        segment: r.get(12),
        status: r.get(13),
    }
}

/// `col IN (ids)` for a scope's reps (`NULL` for none: nothing matches).
fn in_list(col: &str, ids: &Option<Vec<i64>>) -> String {
    match ids {
        None => String::new(),
        Some(ids) if ids.is_empty() => format!(" AND {col} IN (NULL)"),
        Some(ids) => format!(
            " AND {col} IN ({})",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
    }
}

impl PgStore {
    fn scope_reps(&self, scope: &AgendaScope) -> Result<Option<Vec<i64>>> {
        let one = |sql: &str, name: &str, what: &str| -> Result<Vec<i64>> {
            let ids: Vec<i64> = self.map_rows(sql, &[&name], |r| r.get(0))?;
            if ids.is_empty() {
                let exists: bool = self
                    .row(
                        &format!(
                            "SELECT EXISTS(SELECT 1 FROM {what}s WHERE funnel_nocase(name) = funnel_nocase($1))"
                        ),
                        &[&name],
                    )?
                    .get(0);
                if !exists {
                    return Err(StoreError::Invalid(format!("no {what} named '{name}'")));
                }
            }
            Ok(ids)
        };
        Ok(match scope {
            AgendaScope::All => None,
            AgendaScope::Rep(name) => Some(one(
                "SELECT id FROM reps WHERE funnel_nocase(name) = funnel_nocase($1) ORDER BY id",
                name,
                "rep",
            )?),
            AgendaScope::Team(name) => Some(one(
                "WITH RECURSIVE tree(id) AS (
                   SELECT id FROM teams WHERE funnel_nocase(name) = funnel_nocase($1)
                   UNION SELECT t.id FROM teams t JOIN tree ON t.parent_id = tree.id)
                 SELECT r.id FROM reps r JOIN tree ON r.team_id = tree.id ORDER BY r.id",
                name,
                "team",
            )?),
        })
    }

    pub fn open_activities(&self, scope: &AgendaScope, until: &str) -> Result<Vec<OpenActivity>> {
        let filter = in_list(
            "coalesce(a.rep_id, c.owner_rep_id)",
            &self.scope_reps(scope)?,
        );
        self.map_rows(
            &format!(
                "SELECT a.id, a.external_id, a.due_on::text, a.kind, a.subject, c.id, c.name,
                       c.external_id, c.city, r.name, d.name
                     FROM activities a JOIN customers c ON c.id = a.customer_id
                     LEFT JOIN reps r ON r.id = coalesce(a.rep_id, c.owner_rep_id)
                     LEFT JOIN deals d ON d.id = a.deal_id
                     WHERE a.done_on IS NULL AND a.due_on <= $1::text::date{filter}
                     ORDER BY a.due_on, a.id"
            ),
            &[&until],
            |r| OpenActivity {
                id: r.get(0),
                external_id: r.get(1),
                due_on: r.get(2),
                kind: r.get(3),
                subject: r.get(4),
                customer_id: r.get(5),
                customer: r.get(6),
                customer_external_id: r.get(7),
                city: r.get(8),
                rep: r.get(9),
                deal: r.get(10),
            },
        )
    }

    pub fn contact_intervals(&self, scope: &AgendaScope, today: &str) -> Result<Vec<ContactDue>> {
        let filter = in_list("c.owner_rep_id", &self.scope_reps(scope)?);
        self
            .map_rows(
                &format!(
                    "SELECT c.id, c.name, c.external_id, c.city, r.name, c.contact_every_days::bigint,
                       c.created_on::text,
                       (SELECT max(a.done_on)::text FROM activities a
                        WHERE a.customer_id = c.id AND a.done_on <= $1::text::date),
                       EXISTS(SELECT 1 FROM activities a WHERE a.customer_id = c.id AND a.done_on IS NULL),
                       c.segment
                     FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id
                     WHERE c.status = 'active'{filter}
                     ORDER BY c.id"
                ),
                &[&today], |r| ContactDue {
                customer_id: r.get(0),
                customer: r.get(1),
                customer_external_id: r.get(2),
                city: r.get(3),
                rep: r.get(4),
                every_days: r.get::<_, Option<i64>>(5).filter(|d| *d > 0),
                created_on: r.get(6),
                last_contact: r.get(7),
                scheduled: r.get(8),
                segment: r.get(9),
            })
    }

    pub fn change_activity(&self, id: i64, change: &AgendaChange, actor: &Actor) -> Result<()> {
        self.write(|tx| {
            let done: Option<Option<String>> = tx
                .query_opt(
                    "SELECT done_on::text FROM activities WHERE id = $1 FOR UPDATE",
                    &[&id],
                )?
                .map(|r| r.get(0));
            match done {
                None => return Err(StoreError::Invalid(format!("no activity #{id}")).into()),
                Some(Some(on)) => {
                    return Err(StoreError::Invalid(format!(
                        "activity #{id} was already done on {on}"
                    ))
                    .into())
                }
                Some(None) => {}
            }
            let a = Entity::Activity;
            match change {
                AgendaChange::Complete { on, outcome } => write_row(
                    tx,
                    actor,
                    a,
                    Some(id),
                    &["done_on", "outcome"],
                    &[&iso(*on), outcome],
                )?,
                AgendaChange::Snooze { to } => {
                    write_row(tx, actor, a, Some(id), &["due_on"], &[&iso(*to)])?
                }
                AgendaChange::Reassign { rep } => {
                    let rep_id = rep_by_name(tx, Some(rep), "rep")?;
                    write_row(tx, actor, a, Some(id), &["rep_id"], &[&rep_id])?
                }
            };
            Ok(())
        })
    }

    pub fn plan_customers(&self, rep: &str, today: &str) -> Result<(f64, Vec<PlanCustomer>)> {
        let Some(r) = self.opt(
            "SELECT id, capacity FROM reps WHERE funnel_nocase(name) = funnel_nocase($1)",
            &[&rep],
        )?
        else {
            return Err(StoreError::Invalid(format!("no rep named '{rep}'")));
        };
        let (rep_id, capacity): (i64, f64) = (r.get(0), r.get(1));
        let rows = self
            .map_rows(
                "SELECT c.id, c.name, c.external_id, c.city, c.contact_every_days::bigint,
                   c.created_on::text,
                   (SELECT max(a.done_on)::text FROM activities a
                    WHERE a.customer_id = c.id AND a.done_on <= $2::text::date),
                   (SELECT coalesce(sum(d.amount_cents * s.probability), 0)::float8 FROM deals d
                      JOIN stages s ON s.id = d.stage_id WHERE d.customer_id = c.id AND s.kind = 'open'),
                   (SELECT count(*) FROM deals d JOIN stages s ON s.id = d.stage_id
                      WHERE d.customer_id = c.id AND s.kind = 'open'
                        AND d.expected_close < $2::text::date),
                   ci.churn_risk, ci.predicted_value_cents, ci.tier, c.segment, c.status
                 FROM customers c LEFT JOIN customer_intel ci ON ci.customer_id = c.id
                 WHERE c.owner_rep_id = $1 AND c.status <> 'churned'
                 ORDER BY c.id",
                &[&rep_id, &today], plan_customer)?;
        Ok((capacity, rows))
    }

    pub fn busiest_rep(&self, until: &str) -> Result<Option<String>> {
        Ok(self
            .opt(
                "SELECT r.name FROM activities a JOIN customers c ON c.id = a.customer_id
                 JOIN reps r ON r.id = coalesce(a.rep_id, c.owner_rep_id)
                 WHERE a.done_on IS NULL AND a.due_on <= $1::text::date
                 GROUP BY r.id, r.name ORDER BY count(*) DESC, r.name COLLATE \"C\" LIMIT 1",
                &[&until],
            )?
            .map(|r| r.get(0)))
    }

    pub fn plan_customers_all(&self, today: &str) -> Result<Vec<RepCustomers>> {
        let mut reps: Vec<RepCustomers> = Vec::new();
        let mut at: HashMap<i64, usize> = HashMap::new();
        self.each(
            "SELECT id, name, capacity FROM reps ORDER BY id",
            &[],
            |r| {
                at.insert(r.get(0), reps.len());
                reps.push(RepCustomers {
                    rep: r.get(1),
                    capacity: r.get(2),
                    customers: Vec::new(),
                });
            },
        )?;
        self.each(
            "WITH p AS MATERIALIZED (
               SELECT d.customer_id, sum(d.amount_cents * s.probability) AS w,
                 count(*) FILTER (WHERE d.expected_close < $1::text::date) AS stale
               FROM stages s JOIN deals d ON d.stage_id = s.id
               WHERE s.kind = 'open' GROUP BY d.customer_id)
             SELECT c.id, c.name, c.external_id, c.city, c.contact_every_days::bigint,
               c.created_on::text,
               (SELECT max(a.done_on)::text FROM activities a
                WHERE a.customer_id = c.id AND a.done_on <= $1::text::date),
               coalesce(p.w, 0)::float8, coalesce(p.stale, 0),
               ci.churn_risk, ci.predicted_value_cents, ci.tier, c.segment, c.status,
               c.owner_rep_id
             FROM customers c
             LEFT JOIN p ON p.customer_id = c.id
             LEFT JOIN customer_intel ci ON ci.customer_id = c.id
             WHERE c.owner_rep_id IS NOT NULL AND c.status <> 'churned'
             ORDER BY c.id",
            &[&today],
            |r| {
                if let Some(&i) = at.get(&r.get::<_, i64>(14)) {
                    reps[i].customers.push(plan_customer(r));
                }
            },
        )?;
        Ok(reps)
    }

    pub fn contact_gaps(&self, today: &str) -> Result<Vec<(String, f64)>> {
        Ok(self
            .rows(
                "WITH days AS (
                   SELECT DISTINCT a.customer_id, a.done_on FROM activities a
                   WHERE a.done_on IS NOT NULL AND a.done_on <= $1::text::date
                     AND a.customer_id IN (SELECT customer_id FROM orders
                       WHERE ordered_on > $1::text::date - 365 AND ordered_on <= $1::text::date))
                 SELECT c.segment, (d.done_on - lag(d.done_on)
                          OVER (PARTITION BY d.customer_id ORDER BY d.done_on))::float8
                 FROM days d JOIN customers c ON c.id = d.customer_id
                 WHERE c.segment IS NOT NULL
                 ORDER BY d.customer_id, d.done_on",
                &[&today],
            )?
            .iter()
            .filter_map(|r| r.get::<_, Option<f64>>(1).map(|g| (r.get(0), g)))
            .collect())
    }

    pub fn save_plan(
        &self,
        rep: &str,
        made_on: &str,
        method: &str,
        visits: &[PlanVisit],
        actor: &Actor,
    ) -> Result<i64> {
        let (Some(first), Some(last)) = (
            visits.iter().map(|v| v.day).min(),
            visits.iter().map(|v| v.day).max(),
        ) else {
            return Err(StoreError::Invalid(
                "the plan has no contacts to save".into(),
            ));
        };
        self.write(|tx| {
            let rep_id = rep_by_name(tx, Some(rep), "rep")?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO plans(rep_id, made_on, saved_at, saved_by, method, first_day, last_day)
                     VALUES ($1, $2::text::date, $3::text::timestamptz, $4, $5, $6::text::date,
                             $7::text::date)
                     RETURNING id",
                    &[
                        &rep_id,
                        &made_on,
                        &actor.at,
                        &actor.os_user,
                        &method,
                        &iso(first),
                        &iso(last),
                    ],
                )?
                .get(0);
            let insert = tx.prepare(
                "INSERT INTO plan_visits(plan_id, customer_id, day, score, probability, reasons)
                 VALUES ($1, $2, $3::text::date, $4, $5, $6)",
            )?;
            for v in visits {
                tx.execute(
                    &insert,
                    &[&id, &v.customer_id, &iso(v.day), &v.score, &v.probability, &v.reasons],
                )?;
            }
            Ok(id)
        })
    }

    pub fn plan_record(&self, id: Option<i64>, rep: Option<&str>) -> Result<PlanRecord> {
        let head = format!(
            "SELECT p.id, r.name, p.made_on::text, {}, p.saved_by, p.method, p.first_day::text,
               p.last_day::text, p.rep_id FROM plans p JOIN reps r ON r.id = p.rep_id",
            super::store::stamp("p.saved_at")
        );
        let row = match (id, rep) {
            (Some(id), _) => self
                .opt(&format!("{head} WHERE p.id = $1"), &[&id])?
                .ok_or_else(|| StoreError::Invalid(format!("no saved plan #{id}")))?,
            (None, Some(rep)) => {
                let rep_id: i64 = self
                    .opt(
                        "SELECT id FROM reps WHERE funnel_nocase(name) = funnel_nocase($1)",
                        &[&rep],
                    )?
                    .map(|r| r.get(0))
                    .ok_or_else(|| {
                        crate::store::targets::field("rep", format!("no rep named '{rep}'"))
                    })?;
                self.opt(
                    &format!("{head} WHERE p.rep_id = $1 ORDER BY p.id DESC LIMIT 1"),
                    &[&rep_id],
                )?
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "{rep} has no saved plan (save one with `funnel plan --save`)"
                    ))
                })?
            }
            (None, None) => return Err(StoreError::Invalid("which plan?".into())),
        };
        let plan = SavedPlan {
            id: row.get(0),
            rep: row.get(1),
            made_on: row.get(2),
            saved_at: row.get(3),
            saved_by: row.get(4),
            method: row.get(5),
            first_day: row.get(6),
            last_day: row.get(7),
        };
        let rep_id: i64 = row.get(8);
        let visits = self.map_rows(
            "SELECT v.day::text, v.customer_id, c.name, v.score, v.probability
                 FROM plan_visits v JOIN customers c ON c.id = v.customer_id
                 WHERE v.plan_id = $1 ORDER BY v.day, v.score DESC, v.customer_id",
            &[&plan.id],
            |r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)),
        )?;
        let logged = self
            .map_rows(
                "SELECT a.customer_id, c.name, a.done_on::text, a.kind
                 FROM activities a JOIN customers c ON c.id = a.customer_id
                 WHERE a.kind <> 'note' AND a.id IN (
                   SELECT id FROM activities WHERE rep_id = $1
                     AND done_on BETWEEN $2::text::date AND $3::text::date
                   UNION SELECT x.id FROM customers o JOIN activities x ON x.customer_id = o.id
                     WHERE o.owner_rep_id = $1 AND x.done_on BETWEEN $2::text::date AND $3::text::date
                   UNION SELECT x.id FROM plan_visits v JOIN activities x ON x.customer_id = v.customer_id
                     WHERE v.plan_id = $4 AND x.done_on BETWEEN $2::text::date AND $3::text::date)
                 ORDER BY a.done_on, a.id",
                &[&rep_id, &plan.first_day, &plan.last_day, &plan.id], |r| LoggedContact {
                customer_id: r.get(0),
                customer: r.get(1),
                done_on: r.get(2),
                kind: r.get(3),
            })?;
        Ok(PlanRecord {
            plan,
            visits,
            logged,
        })
    }

    pub fn rule_keys(&self, rule: &str) -> Result<HashSet<String>> {
        self.map_rows(
            "SELECT key FROM rule_actions WHERE rule = $1",
            &[&rule],
            |r| r.get(0),
        )
    }

    pub fn big_open_deals(&self, min_cents: i64) -> Result<Vec<WatchedDeal>> {
        self.map_rows(
            "SELECT d.id, d.name, c.id, c.name, d.expected_close::text, d.amount_cents
                 FROM stages s JOIN deals d ON d.stage_id = s.id
                 JOIN customers c ON c.id = d.customer_id
                 WHERE s.kind = 'open' AND d.amount_cents >= $1 ORDER BY d.id",
            &[&min_cents],
            |r| WatchedDeal {
                id: r.get(0),
                name: r.get(1),
                customer_id: r.get(2),
                customer: r.get(3),
                expected_close: r.get(4),
                amount_cents: r.get(5),
            },
        )
    }

    pub fn rule_marks(&self, rule: &str) -> Result<HashMap<i64, (Option<String>, i64)>> {
        self.map_rows(
            "SELECT deal_id, expected_close::text, amount_cents FROM rule_marks WHERE rule = $1",
            &[&rule],
            |r| (r.get(0), (r.get(1), r.get(2))),
        )
    }

    pub fn customers_without_owner(&self) -> Result<Vec<(i64, String)>> {
        self.map_rows(
            "SELECT id, name FROM customers
                 WHERE owner_rep_id IS NULL AND status <> 'churned' ORDER BY id",
            &[],
            |r| (r.get(0), r.get(1)),
        )
    }

    pub fn save_rule_run(
        &self,
        run: &RuleRun,
        actions: &[RuleAction],
        marks: &[(i64, Option<String>, i64)],
        actor: &Actor,
    ) -> Result<usize> {
        self.write(|tx| {
            let mut acted = 0;
            for a in actions {
                let taken: bool = tx
                    .query_one(
                        "SELECT EXISTS(SELECT 1 FROM rule_actions WHERE rule = $1 AND key = $2)",
                        &[&a.rule, &a.hit.key],
                    )?
                    .get(0);
                if !taken {
                    write_action(tx, a, actor)?;
                    acted += 1;
                }
            }
            for (deal, close, amount) in marks {
                tx.execute(
                    "INSERT INTO rule_marks(rule, deal_id, expected_close, amount_cents)
                     VALUES ($1, $2, $3::text::date, $4)
                     ON CONFLICT (rule, deal_id) DO UPDATE SET expected_close = excluded.expected_close,
                       amount_cents = excluded.amount_cents",
                    &[&run.rule, deal, close, amount],
                )?;
            }
            tx.execute(
                "INSERT INTO rule_runs(rule, ran_at, as_of, dry_run, matched, acted, summary)
                 VALUES ($1, $2::text::timestamptz, $3::text::date, $4, $5, $6, $7)",
                &[
                    &run.rule,
                    &run.ran_at,
                    &run.as_of,
                    &run.dry_run,
                    &run.matched,
                    &(acted as i64),
                    &run.summary,
                ],
            )?;
            Ok(acted)
        })
    }

    pub fn last_rule_runs(&self) -> Result<Vec<RuleRun>> {
        self.map_rows(
            &format!(
                "SELECT rule, {}, as_of::text, dry_run, matched, acted, summary FROM rule_runs
                     WHERE id IN (SELECT max(id) FROM rule_runs GROUP BY rule) ORDER BY id DESC",
                super::store::stamp("ran_at")
            ),
            &[],
            |r| RuleRun {
                rule: r.get(0),
                ran_at: r.get(1),
                as_of: r.get(2),
                dry_run: r.get(3),
                matched: r.get(4),
                acted: r.get(5),
                summary: r.get(6),
            },
        )
    }

    pub fn open_alerts(&self, limit: usize) -> Result<(usize, Vec<Alert>)> {
        let count: i64 = self
            .row(
                "SELECT count(*) FROM rule_actions WHERE action = 'alert' AND dismissed_at IS NULL",
                &[],
            )?
            .get(0);
        let alerts = self.map_rows(
            &format!(
                "SELECT id, rule, message, {}, customer_id, deal_id FROM rule_actions
                     WHERE action = 'alert' AND dismissed_at IS NULL ORDER BY id DESC LIMIT $1",
                super::store::stamp("created_at")
            ),
            &[&(limit as i64)],
            |r| Alert {
                id: r.get(0),
                rule: r.get(1),
                message: r.get(2),
                created_at: r.get(3),
                customer_id: r.get(4),
                deal_id: r.get(5),
            },
        )?;
        Ok((count as usize, alerts))
    }

    pub fn dismiss_alert(&self, id: i64, at: &str) -> Result<()> {
        let n = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE rule_actions SET dismissed_at = $2::text::timestamptz
                 WHERE id = $1 AND action = 'alert' AND dismissed_at IS NULL",
                &[&id, &at],
            )?)
        })?;
        if n == 0 {
            return Err(StoreError::Invalid(format!("no open alert #{id}")));
        }
        Ok(())
    }
}

/// One rule action (as `store::rules::write_action`): the task or the reassignment,
/// audited with the rule's name, and its row.
fn write_action(tx: &mut Transaction, a: &RuleAction, actor: &Actor) -> TxResult<()> {
    let note = format!("rule '{}'", a.rule);
    let to = match &a.to {
        Some(name) => rep_by_name(tx, Some(name), "rep")?,
        None => None,
    };
    let customer: Option<i64> = match (a.hit.customer_id, a.hit.deal_id) {
        (Some(c), _) => Some(c),
        (None, Some(d)) => tx
            .query_opt("SELECT customer_id FROM deals WHERE id = $1", &[&d])?
            .map(|r| r.get(0)),
        (None, None) => None,
    };
    let deal_owner: Option<i64> = match a.hit.deal_id {
        Some(d) => tx
            .query_opt("SELECT owner_rep_id FROM deals WHERE id = $1", &[&d])?
            .and_then(|r| r.get(0)),
        None => None,
    };
    let owner = match (deal_owner, customer) {
        (Some(o), _) => Some(o),
        (None, Some(c)) => tx
            .query_opt("SELECT owner_rep_id FROM customers WHERE id = $1", &[&c])?
            .and_then(|r| r.get(0)),
        (None, None) => None,
    };
    let mut activity = None;
    let rep;
    match a.then {
        Then::Task => {
            let Some(customer) = customer else {
                return Err(StoreError::Invalid(format!(
                    "rule '{}': a task needs a customer ({})",
                    a.rule, a.hit.message
                ))
                .into());
            };
            rep = to.or(owner);
            let (n, ext) = readable(tx, Entity::Activity)?;
            let subject = format!("{}: {}", a.rule, a.hit.message);
            let id = write_row_noted(
                tx,
                actor,
                Entity::Activity,
                None,
                (
                    &[
                        "id",
                        "external_id",
                        "customer_id",
                        "deal_id",
                        "rep_id",
                        "kind",
                        "subject",
                        "due_on",
                    ],
                    &[
                        &n,
                        &ext,
                        &customer,
                        &a.hit.deal_id,
                        &rep,
                        &"call",
                        &subject,
                        &a.due_on,
                    ],
                ),
                Some(&note),
            )?;
            activity = Some(id);
        }
        Then::Reassign => {
            let Some(to) = to else {
                return Err(
                    StoreError::Invalid(format!("rule '{}': reassign needs `to`", a.rule)).into(),
                );
            };
            let (entity, id) = match (a.hit.deal_id, customer) {
                (Some(d), _) => (Entity::Deal, d),
                (None, Some(c)) => (Entity::Customer, c),
                (None, None) => {
                    return Err(StoreError::Invalid(format!(
                        "rule '{}': nothing to reassign ({})",
                        a.rule, a.hit.message
                    ))
                    .into())
                }
            };
            write_row_noted(
                tx,
                actor,
                entity,
                Some(id),
                (&["owner_rep_id"], &[&to]),
                Some(&note),
            )?;
            rep = Some(to);
        }
        Then::Alert => rep = owner,
    }
    tx.execute(
        "INSERT INTO rule_actions(rule, key, action, activity_id, customer_id, deal_id, rep_id,
           message, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::timestamptz)",
        &[
            &a.rule,
            &a.hit.key,
            &a.then.name(),
            &activity,
            &customer,
            &a.hit.deal_id,
            &rep,
            &a.hit.message,
            &actor.at,
        ],
    )?;
    Ok(())
}
