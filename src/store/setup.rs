//! The organisation edited on the Setup screen: teams (with their parent), reps (team,
//! capacity, active), products and stages. Every save is one transaction, validated
//! against the rest of the organisation first and audited with before and after.

use super::audit::{Actor, Entity};
use super::db::{Result, Store, StoreError};
use super::edits::write_row;
use crate::domain::records::{ProductRecord, RepRecord, StageRecord, TeamRecord};
use crate::domain::setup::*;
use crate::domain::{ForecastCategory, Money, StageKind};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use std::collections::HashMap;

fn field(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Field {
        field,
        reason: reason.into(),
    }
}

impl Store {
    /// Teams in tree order (each followed by its sub-teams), reps by name, products by
    /// sku, stages in pipeline order.
    pub fn organisation(&self) -> Result<Organisation> {
        let conn = &self.conn;
        let teams: Vec<TeamRow> = {
            let mut stmt = conn.prepare(
                "SELECT t.id, t.external_id, t.name, p.name,
                        (SELECT count(*) FROM reps r WHERE r.team_id = t.id), t.parent_id,
                        (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'team' AND a.entity_id = t.id)
                 FROM teams t LEFT JOIN teams p ON p.id = t.parent_id ORDER BY t.name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    TeamRow {
                        id: r.get(0)?,
                        external_id: r.get(1)?,
                        name: r.get(2)?,
                        parent: r.get(3)?,
                        depth: 0,
                        reps: r.get(4)?,
                        version: r.get(6)?,
                    },
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?;
            let all: Vec<(TeamRow, Option<i64>)> = rows.collect::<rusqlite::Result<_>>()?;
            tree_order(all)
        };
        let reps = {
            let mut stmt = conn.prepare(
                "SELECT r.id, r.external_id, r.name, r.email, t.name, r.capacity, r.active,
                        (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'rep' AND a.entity_id = r.id)
                 FROM reps r LEFT JOIN teams t ON t.id = r.team_id ORDER BY r.name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(RepRow {
                    id: r.get(0)?,
                    external_id: r.get(1)?,
                    name: r.get(2)?,
                    email: r.get(3)?,
                    team: r.get(4)?,
                    capacity: r.get(5)?,
                    active: r.get(6)?,
                    version: r.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let products = {
            let mut stmt = conn.prepare(
                "SELECT p.id, p.sku, p.name, p.family, p.list_price_cents, (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'product' AND a.entity_id = p.id)
                 FROM products p ORDER BY p.sku COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ProductRow {
                    id: r.get(0)?,
                    sku: r.get(1)?,
                    name: r.get(2)?,
                    family: r.get(3)?,
                    list_price: Money(r.get(4)?),
                    version: r.get(5)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let stages = {
            let mut stmt = conn.prepare(
                "SELECT s.id, s.name, s.kind, s.probability, s.position, s.forecast_category,
                        (SELECT count(*) FROM deals d WHERE d.stage_id = s.id),
                        (SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = 'stage' AND a.entity_id = s.id)
                 FROM stages s ORDER BY s.position, s.id",
            )?;
            let rows = stmt.query_map([], |r| {
                let kind: String = r.get(2)?;
                let category: String = r.get(5)?;
                Ok(StageRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    kind: kind.parse().unwrap_or(StageKind::Open),
                    probability: r.get(3)?,
                    position: r.get(4)?,
                    category: category.parse().unwrap_or(ForecastCategory::Pipeline),
                    deals: r.get(6)?,
                    version: r.get(7)?,
                })
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        Ok(Organisation {
            teams,
            reps,
            products,
            stages,
        })
    }

    /// Adds (`id` None) or edits a team. The parent is named by name or external id; a
    /// parent at or below the team itself is refused.
    pub fn save_team(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &TeamRecord,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            super::audit::check_version(&tx, Entity::Team, id, version)?;
        }
        unique(&tx, "teams", "name", &r.name, id, "name", "team")?;
        if let Some(e) = &r.external_id {
            unique(&tx, "teams", "external_id", e, id, "external_id", "team")?;
        }
        let parent = match r.parent.as_deref() {
            None => None,
            Some(p) => {
                let found: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM teams WHERE name = ?1 COLLATE NOCASE OR external_id = ?1 LIMIT 1",
                        [p],
                        |row| row.get(0),
                    )
                    .optional()?;
                let Some(pid) = found else {
                    return Err(field("parent", format!("no team named '{p}'")));
                };
                if let Some(me) = id {
                    if is_at_or_below(&tx, pid, me)? {
                        return Err(field(
                            "parent",
                            format!("'{p}' is this team or one of its sub-teams: that would make a cycle"),
                        ));
                    }
                }
                Some(pid)
            }
        };
        let (id, _) = write_row(
            &tx,
            actor,
            Entity::Team,
            id,
            &["external_id", "name", "parent_id"],
            &[&r.external_id as &dyn ToSql, &r.name, &parent],
            true,
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Adds or edits a rep; the team is named by name or external id.
    pub fn save_rep(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &RepRecord,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            super::audit::check_version(&tx, Entity::Rep, id, version)?;
        }
        unique(&tx, "reps", "name", &r.name, id, "name", "rep")?;
        if let Some(e) = &r.external_id {
            unique(&tx, "reps", "external_id", e, id, "external_id", "rep")?;
        }
        let team: Option<i64> = match r.team.as_deref() {
            None => None,
            Some(t) => Some(
                tx.query_row(
                    "SELECT id FROM teams WHERE name = ?1 COLLATE NOCASE OR external_id = ?1 LIMIT 1",
                    [t],
                    |row| row.get(0),
                )
                .optional()?
                .ok_or_else(|| field("team", format!("no team named '{t}'")))?,
            ),
        };
        let hired = r.hired_on.map(crate::domain::date::iso);
        let capacity = r.capacity.unwrap_or(1.0);
        let active = r.active.unwrap_or(true);
        let (id, _) = write_row(
            &tx,
            actor,
            Entity::Rep,
            id,
            &[
                "external_id",
                "name",
                "email",
                "team_id",
                "capacity",
                "hired_on",
                "active",
            ],
            &[
                &r.external_id as &dyn ToSql,
                &r.name,
                &r.email,
                &team,
                &capacity,
                &hired,
                &active,
            ],
            true,
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn save_product(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &ProductRecord,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            super::audit::check_version(&tx, Entity::Product, id, version)?;
        }
        unique(&tx, "products", "sku", &r.sku, id, "sku", "product")?;
        let name = r.name.clone().unwrap_or_else(|| r.sku.clone());
        let price = r.list_price.map(|p| p.cents()).unwrap_or(0);
        let (id, _) = write_row(
            &tx,
            actor,
            Entity::Product,
            id,
            &["sku", "name", "family", "list_price_cents"],
            &[&r.sku as &dyn ToSql, &name, &r.family, &price],
            true,
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Adds or edits a stage. A won stage has probability 1 and a lost one 0; an open
    /// stage needs its probability; a stage with deals in it keeps its kind.
    pub fn save_stage(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &StageRecord,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            super::audit::check_version(&tx, Entity::Stage, id, version)?;
        }
        unique(&tx, "stages", "name", &r.name, id, "name", "stage")?;
        if let Some(me) = id {
            let (kind, deals): (String, i64) = tx
                .query_row(
                    "SELECT kind, (SELECT count(*) FROM deals WHERE stage_id = ?1) FROM stages WHERE id = ?1",
                    [me],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("there is no stage {me}")))?;
            if kind != r.kind.as_str() && deals > 0 {
                return Err(field(
                    "kind",
                    format!("{deals} deals are in this {kind} stage: move them before changing its kind"),
                ));
            }
        }
        let probability = match (fixed_probability(r.kind), r.probability) {
            (Some(fixed), Some(p)) if p != fixed => {
                return Err(field(
                    "probability",
                    format!("a {} stage has probability {fixed}", r.kind),
                ))
            }
            (Some(fixed), _) => fixed,
            (None, Some(p)) => p,
            (None, None) => {
                return Err(field(
                    "probability",
                    "an open stage needs its win probability (0 to 1, or a percentage)",
                ))
            }
        };
        let position: i64 = match r.position {
            Some(p) => p,
            None => match id {
                Some(me) => {
                    tx.query_row("SELECT position FROM stages WHERE id = ?1", [me], |row| {
                        row.get(0)
                    })?
                }
                None => tx.query_row(
                    "SELECT coalesce(max(position), 0) + 1 FROM stages",
                    [],
                    |row| row.get(0),
                )?,
            },
        };
        let category = r.category.unwrap_or_else(|| default_category(r.kind));
        let (id, _) = write_row(
            &tx,
            actor,
            Entity::Stage,
            id,
            &[
                "name",
                "kind",
                "probability",
                "position",
                "forecast_category",
            ],
            &[
                &r.name as &dyn ToSql,
                &r.kind.as_str(),
                &probability,
                &position,
                &category.as_str(),
            ],
            true,
        )?;
        tx.commit()?;
        Ok(id)
    }
}

/// Refuses a value another row of `table` already has in `column` (case-insensitively).
fn unique(
    conn: &Connection,
    table: &str,
    column: &str,
    value: &str,
    id: Option<i64>,
    name: &'static str,
    what: &str,
) -> Result<()> {
    let sql = format!(
        "SELECT id FROM {table} WHERE {column} = ?1 COLLATE NOCASE AND id IS NOT ?2 LIMIT 1"
    );
    let clash: Option<i64> = conn
        .query_row(&sql, params![value, id], |r| r.get(0))
        .optional()?;
    match clash {
        Some(_) => Err(field(
            name,
            format!("another {what} has {column} '{value}'"),
        )),
        None => Ok(()),
    }
}

/// Whether team `t` is `ancestor` or below it (a walk up the parents; a cycle already in
/// the data counts as below).
pub(crate) fn is_at_or_below(conn: &Connection, t: i64, ancestor: i64) -> Result<bool> {
    let mut at = Some(t);
    let mut steps = 0;
    while let Some(x) = at {
        if x == ancestor {
            return Ok(true);
        }
        steps += 1;
        if steps > 10_000 {
            return Ok(true);
        }
        at = conn
            .query_row("SELECT parent_id FROM teams WHERE id = ?1", [x], |r| {
                r.get(0)
            })
            .optional()?
            .flatten();
    }
    Ok(false)
}

/// Teams ordered as a tree (a team, then its sub-teams, each level by name), with depth.
pub(crate) fn tree_order(all: Vec<(TeamRow, Option<i64>)>) -> Vec<TeamRow> {
    let ids: std::collections::HashSet<i64> = all.iter().map(|t| t.0.id).collect();
    let mut children: HashMap<Option<i64>, Vec<usize>> = HashMap::new();
    for (i, (_, parent)) in all.iter().enumerate() {
        // A parent that is not there (cannot happen with foreign keys) counts as none.
        let p = parent.filter(|p| ids.contains(p));
        children.entry(p).or_default().push(i);
    }
    let mut out = Vec::with_capacity(all.len());
    let mut seen = vec![false; all.len()];
    let mut stack: Vec<(usize, usize)> = children
        .get(&None)
        .map(|v| v.iter().rev().map(|&i| (i, 0)).collect())
        .unwrap_or_default();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let mut row = all[i].0.clone();
        row.depth = depth;
        if let Some(kids) = children.get(&Some(row.id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
        out.push(row);
    }
    // Teams in a cycle (refused on every write path, but never lost from the list).
    for (i, (row, _)) in all.iter().enumerate() {
        if !seen[i] {
            out.push(row.clone());
        }
    }
    out
}
