//! Saved visit plans and what was logged in their days.

use super::db::{Result, Store, StoreError};
use crate::domain::agenda::{LoggedContact, PlanRecord, PlanVisit, SavedPlan};
use crate::domain::audit::Actor;
use crate::domain::date::iso;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Saves a rep's plan made on `made_on`; returns its id. An empty plan is refused.
    pub fn save_plan(
        &mut self,
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
        let tx = self.begin()?;
        let rep_id = super::edits::rep_id(&tx, rep)?;
        tx.execute(
            "INSERT INTO plans(rep_id, made_on, saved_at, saved_by, method, first_day, last_day)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                rep_id,
                made_on,
                actor.at,
                actor.os_user,
                method,
                iso(first),
                iso(last)
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut stmt = tx.prepare(
                "INSERT INTO plan_visits(plan_id, customer_id, day, score, probability, reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for v in visits {
                stmt.execute(params![
                    id,
                    v.customer_id,
                    iso(v.day),
                    v.score,
                    v.probability,
                    v.reasons
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// A saved plan (by id, or the rep's latest) with its visits and the contacts logged
    /// in its days with the rep's customers or by the rep.
    pub fn plan_record(&self, id: Option<i64>, rep: Option<&str>) -> Result<PlanRecord> {
        let head = "SELECT p.id, r.name, p.made_on, p.saved_at, p.saved_by, p.method, p.first_day,
                      p.last_day, p.rep_id FROM plans p JOIN reps r ON r.id = p.rep_id";
        let read = |r: &rusqlite::Row| -> rusqlite::Result<(SavedPlan, i64)> {
            Ok((
                SavedPlan {
                    id: r.get(0)?,
                    rep: r.get(1)?,
                    made_on: r.get(2)?,
                    saved_at: r.get(3)?,
                    saved_by: r.get(4)?,
                    method: r.get(5)?,
                    first_day: r.get(6)?,
                    last_day: r.get(7)?,
                },
                r.get(8)?,
            ))
        };
        let found = match (id, rep) {
            (Some(id), _) => self
                .conn
                .query_row(&format!("{head} WHERE p.id = ?1"), [id], read)
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("no saved plan #{id}")))?,
            (None, Some(rep)) => {
                let rep_id = super::edits::rep_id(&self.conn, rep)?;
                self.conn
                    .query_row(
                        &format!("{head} WHERE p.rep_id = ?1 ORDER BY p.id DESC LIMIT 1"),
                        [rep_id],
                        read,
                    )
                    .optional()?
                    .ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "{rep} has no saved plan (save one with `funnel plan --save`)"
                        ))
                    })?
            }
            (None, None) => return Err(StoreError::Invalid("which plan?".into())),
        };
        let (plan, rep_id) = found;
        let visits = self
            .conn
            .prepare(
                "SELECT v.day, v.customer_id, c.name, v.score, v.probability
                 FROM plan_visits v JOIN customers c ON c.id = v.customer_id
                 WHERE v.plan_id = ?1 ORDER BY v.day, v.score DESC, v.customer_id",
            )?
            .query_map([plan.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let logged = self
            .conn
            .prepare(
                "SELECT a.customer_id, c.name, a.done_on, a.kind
                 FROM activities a JOIN customers c ON c.id = a.customer_id
                 WHERE a.kind != 'note' AND a.id IN (
                   SELECT id FROM activities WHERE rep_id = ?1 AND done_on BETWEEN ?2 AND ?3
                   UNION SELECT x.id FROM customers o JOIN activities x ON x.customer_id = o.id
                     WHERE o.owner_rep_id = ?1 AND x.done_on BETWEEN ?2 AND ?3
                   UNION SELECT x.id FROM plan_visits v JOIN activities x ON x.customer_id = v.customer_id
                     WHERE v.plan_id = ?4 AND x.done_on BETWEEN ?2 AND ?3)
                 ORDER BY a.done_on, a.id",
            )?
            .query_map(
                params![rep_id, plan.first_day, plan.last_day, plan.id],
                |r| {
                    Ok(LoggedContact {
                        customer_id: r.get(0)?,
                        customer: r.get(1)?,
                        done_on: r.get(2)?,
                        kind: r.get(3)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(PlanRecord {
            plan,
            visits,
            logged,
        })
    }
}
