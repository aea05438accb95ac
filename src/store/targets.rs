//! Targets and their revisions, and the actuals and open pipeline they are measured
//! against, per rep (teams and the company roll up in the app layer).

use super::audit::{Actor, Entity};
use super::db::{Result, Store, StoreError};
use super::edits::write_row;
pub use crate::domain::targets::{Revision, TargetRow};
use crate::domain::{TargetMetric, TargetScope};
use rusqlite::{params, OptionalExtension};

/// (rep id, name, team id, capacity).
pub type RepCapacity = (i64, String, Option<i64>, f64);

pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Field {
        field,
        reason: reason.into(),
    }
}

impl Store {
    /// Targets, optionally only for one period (as written: 2026-03, 2026-Q1, 2026), scope
    /// and metric, in scope order (company, teams, reps) then name.
    pub fn target_rows(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
    ) -> Result<Vec<TargetRow>> {
        self.targets_where(period, scope, metric, None)
    }

    /// One target by id.
    pub fn target(&self, id: i64) -> Result<Option<TargetRow>> {
        Ok(self
            .targets_where(None, None, None, Some(id))?
            .into_iter()
            .next())
    }

    fn targets_where(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
        id: Option<i64>,
    ) -> Result<Vec<TargetRow>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT t.id, t.scope, t.team_id, t.rep_id, coalesce(tm.name, r.name, 'Company'),
                    t.period, t.metric, t.value
             FROM targets t
             LEFT JOIN teams tm ON tm.id = t.team_id
             LEFT JOIN reps r ON r.id = t.rep_id
             WHERE (?1 IS NULL OR t.scope = ?1) AND (?2 IS NULL OR t.metric = ?2)
               AND (?3 IS NULL OR t.period = ?3) AND (?4 IS NULL OR t.id = ?4)
             ORDER BY t.period, CASE t.scope WHEN 'company' THEN 0 WHEN 'team' THEN 1 ELSE 2 END,
                      5, t.metric",
        )?;
        let rows = stmt.query_map(
            params![
                scope.map(|s| s.as_str()),
                metric.map(|m| m.as_str()),
                period,
                id
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, scope, team_id, rep_id, name, period, metric, value) = row?;
            let (Ok(scope), Ok(metric)) = (scope.parse(), metric.parse()) else {
                continue;
            };
            out.push(TargetRow {
                id,
                scope,
                team_id,
                rep_id,
                name,
                period,
                metric,
                value,
            });
        }
        Ok(out)
    }

    /// Sets a target for a scope, period and metric (creating or changing it) in one
    /// transaction: the row, its revision (old value, who, when, why) and the audit entry.
    /// Returns the target id and the old value; setting the value it already has writes
    /// nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn set_target(
        &mut self,
        scope: TargetScope,
        name: Option<&str>,
        period: &str,
        metric: TargetMetric,
        value: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<(i64, Option<i64>)> {
        check_change(value, reason)?;
        let tx = self.begin()?;
        let (team, rep, key) = match scope {
            TargetScope::Company => (None, None, "company".to_string()),
            TargetScope::Team => {
                let id = id_by_name(&tx, "teams", "team", name)?;
                (Some(id), None, format!("team:{id}"))
            }
            TargetScope::Rep => {
                let id = id_by_name(&tx, "reps", "rep", name)?;
                (None, Some(id), format!("rep:{id}"))
            }
        };
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, value FROM targets WHERE scope_key = ?1 AND period = ?2 AND metric = ?3",
                params![key, period, metric.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, old)) = existing {
            change_value(&tx, actor, id, old, value, reason)?;
            tx.commit()?;
            return Ok((id, Some(old)));
        }
        let (id, _) = write_row(
            &tx,
            actor,
            Entity::Target,
            None,
            &[
                "scope",
                "team_id",
                "rep_id",
                "scope_key",
                "period",
                "metric",
                "value",
            ],
            &[
                &scope.as_str(),
                &team,
                &rep,
                &key,
                &period,
                &metric.as_str(),
                &value,
            ],
            true,
        )?;
        write_revision(&tx, actor, id, None, value, reason)?;
        tx.commit()?;
        Ok((id, None))
    }

    /// Changes a target's value, keeping the old one with who, when and why. Returns the
    /// old value; the value it already has writes nothing.
    pub fn revise_target(
        &mut self,
        id: i64,
        value: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<i64> {
        check_change(value, reason)?;
        let tx = self.begin()?;
        let old: i64 = tx
            .query_row("SELECT value FROM targets WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| field("target", format!("there is no target {id}")))?;
        change_value(&tx, actor, id, old, value, reason)?;
        tx.commit()?;
        Ok(old)
    }

    /// Every revision of a target, oldest first.
    pub fn target_revisions(&self, id: i64) -> Result<Vec<Revision>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT v.id, v.target_id, v.old_value, v.new_value, v.changed_at, v.changed_by, v.reason,
                    t.metric
             FROM target_revisions v JOIN targets t ON t.id = v.target_id
             WHERE v.target_id = ?1 ORDER BY v.id",
        )?;
        let rows = stmt.query_map([id], |r| {
            let metric: String = r.get(7)?;
            Ok(Revision {
                id: r.get(0)?,
                target_id: r.get(1)?,
                metric: metric.parse().unwrap_or(TargetMetric::WonRevenue),
                old_value: r.get(2)?,
                new_value: r.get(3)?,
                changed_at: r.get(4)?,
                changed_by: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What each rep achieved on `metric` in each month of [from, to): won revenue in
    /// cents (the order ledger, repeat orders credited to the customer's owner), won deals
    /// by close date, activities done, or customers created: (YYYY-MM, rep, value). One
    /// scan for any number of periods inside the range.
    pub fn monthly_actuals_by_rep(
        &self,
        metric: TargetMetric,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<i64>, i64)>> {
        let sql = match metric {
            TargetMetric::WonRevenue => {
                "SELECT substr(o.ordered_on, 1, 7), coalesce(d.owner_rep_id, c.owner_rep_id),
                        sum(o.amount_cents)
                 FROM orders o JOIN customers c ON c.id = o.customer_id
                 LEFT JOIN deals d ON d.id = o.deal_id
                 WHERE o.ordered_on >= ?1 AND o.ordered_on < ?2 GROUP BY 1, 2"
            }
            TargetMetric::WonDeals => {
                "SELECT substr(d.closed_on, 1, 7), d.owner_rep_id, count(*)
                 FROM deals d JOIN stages s ON s.id = d.stage_id
                 WHERE s.kind = 'won' AND d.closed_on >= ?1 AND d.closed_on < ?2 GROUP BY 1, 2"
            }
            TargetMetric::Activities => {
                "SELECT substr(done_on, 1, 7), rep_id, count(*) FROM activities
                 WHERE done_on >= ?1 AND done_on < ?2 GROUP BY 1, 2"
            }
            TargetMetric::NewCustomers => {
                "SELECT substr(created_on, 1, 7), owner_rep_id, count(*) FROM customers
                 WHERE created_on >= ?1 AND created_on < ?2 GROUP BY 1, 2"
            }
        };
        let mut stmt = self.connection().prepare_cached(sql)?;
        let rows = stmt.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Won revenue (the order ledger, refunds included) per month `YYYY-MM` in [from, to).
    pub fn monthly_revenue(&self, from: &str, to: &str) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT substr(ordered_on, 1, 7), sum(amount_cents) FROM orders INDEXED BY orders_date
             WHERE ordered_on >= ?1 AND ordered_on < ?2 GROUP BY 1 ORDER BY 1",
        )?;
        let rows = stmt.query_map(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each rep's capacity (1.0 is one full-time seller) and team, active reps only.
    pub fn rep_capacity(&self) -> Result<Vec<RepCapacity>> {
        let mut stmt = self.connection().prepare_cached(
            "SELECT id, name, team_id, capacity FROM reps WHERE active = 1 ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// The id of the team or rep with this name (any case), or a field error naming it.
fn id_by_name(
    conn: &rusqlite::Connection,
    table: &str,
    what: &'static str,
    name: Option<&str>,
) -> Result<i64> {
    let n = name.ok_or_else(|| field(what, format!("give the {what}'s name")))?;
    conn.query_row(
        &format!("SELECT id FROM {table} WHERE name = ?1 COLLATE NOCASE"),
        [n],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| field(what, format!("no {what} named '{n}'")))
}

/// A target value and the reason for setting it, checked before anything is written.
pub(crate) fn check_change(value: i64, reason: &str) -> Result<()> {
    if value < 0 {
        return Err(field("value", format!("{value} is negative")));
    }
    if reason.trim().is_empty() {
        return Err(field("reason", "a revision needs a reason"));
    }
    Ok(())
}

/// Updates a target's value (audited) and records the revision; nothing when unchanged.
fn change_value(
    conn: &rusqlite::Connection,
    actor: &Actor,
    id: i64,
    old: i64,
    value: i64,
    reason: &str,
) -> Result<()> {
    if old == value {
        return Ok(());
    }
    write_row(
        conn,
        actor,
        Entity::Target,
        Some(id),
        &["value"],
        &[&value],
        true,
    )?;
    write_revision(conn, actor, id, Some(old), value, reason)
}

fn write_revision(
    conn: &rusqlite::Connection,
    actor: &Actor,
    target: i64,
    old: Option<i64>,
    new: i64,
    reason: &str,
) -> Result<()> {
    write_row(
        conn,
        actor,
        Entity::TargetRevision,
        None,
        &[
            "target_id",
            "old_value",
            "new_value",
            "changed_at",
            "changed_by",
            "reason",
        ],
        &[&target, &old, &new, &actor.at, &actor.os_user, &reason],
        true,
    )?;
    Ok(())
}
