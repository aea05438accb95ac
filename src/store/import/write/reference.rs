//! The organisation (teams, reps, products, stages) and stage history: writing their rows,
//! resolving team parents at the end of the file, and inferring a deal's history from its
//! dates when the file has none.

use super::{LateError, Outcome, PendingParent, Writer};
use crate::domain::date::iso;
use crate::domain::records::*;
use crate::domain::{ForecastCategory, StageKind};
use crate::store::audit::{self, Action, Entity};
use crate::store::db::Result;
use crate::store::edits;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, ToSql};
use std::collections::{HashMap, HashSet};

impl PendingParent {
    /// How the row was counted in the report.
    fn counted(&self) -> Outcome {
        if self.before.is_some() {
            Outcome::Updated
        } else {
            Outcome::Inserted
        }
    }
}

type RowResult = Result<std::result::Result<Outcome, (&'static str, String)>>;

impl Writer<'_> {
    /// (position, kind) of a stage, cached for the import.
    fn stage_info(&mut self, id: i64) -> Result<(i64, StageKind)> {
        if let Some(p) = self.positions.get(&id) {
            return Ok(*p);
        }
        let (pos, kind): (i64, String) = self.conn.query_row(
            "SELECT position, kind FROM stages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let info = (pos, kind.parse().unwrap_or(StageKind::Open));
        self.positions.insert(id, info);
        Ok(info)
    }

    /// The stage history of a deal that arrives without one: the first open stage when it
    /// was created, each stage the file dates, and the stage it is in now (on its close
    /// date when closed). In date order, stages of one day in pipeline order; a stage is
    /// listed once.
    pub(super) fn infer_history(
        &mut self,
        stage: i64,
        kind: StageKind,
        created: NaiveDate,
        closed: Option<NaiveDate>,
        dated: &[(i64, NaiveDate)],
    ) -> Result<Vec<(i64, NaiveDate)>> {
        let first_open: Option<i64> = match self.first_open {
            Some(f) => f,
            None => {
                let f = self
                    .conn
                    .prepare_cached(
                        "SELECT id FROM stages WHERE kind = 'open' ORDER BY position, id LIMIT 1",
                    )?
                    .query_row([], |r| r.get(0))
                    .optional()?;
                self.first_open = Some(f);
                f
            }
        };
        let mut entries: Vec<(i64, NaiveDate)> = dated.to_vec();
        if let Some(first) = first_open {
            if !entries.iter().any(|e| e.0 == first) {
                entries.push((first, created));
            }
        }
        match closed {
            Some(on) if kind != StageKind::Open => entries.push((stage, on)),
            _ => {
                if !entries.iter().any(|e| e.0 == stage) {
                    let latest = entries.iter().map(|e| e.1).max().unwrap_or(created);
                    entries.push((stage, latest.max(created)));
                }
            }
        }
        let mut keyed = Vec::with_capacity(entries.len());
        for (s, on) in entries {
            let (pos, k) = self.stage_info(s)?;
            // Closed stages sort after open ones on the same day.
            keyed.push((on, k != StageKind::Open, pos, s));
        }
        keyed.sort();
        let mut seen = HashSet::new();
        Ok(keyed
            .into_iter()
            .filter(|k| seen.insert(k.3))
            .map(|(on, _, _, s)| (s, on))
            .collect())
    }

    /// A team by external id or name (teams written earlier in this file included).
    fn find_team(&self, key: &str) -> Option<i64> {
        self.teams.get(&key.to_lowercase()).copied()
    }

    pub fn team(&mut self, r: &TeamRecord) -> RowResult {
        let existing = r
            .external_id
            .as_deref()
            .and_then(|e| self.find_team(e))
            .or_else(|| self.find_team(&r.name));
        if let Some(other) = self.find_team(&r.name) {
            if existing.is_some_and(|e| e != other) {
                return Ok(Err((
                    "name",
                    format!("another team is already named '{}'", r.name),
                )));
            }
        }
        let before = match existing {
            Some(id) => audit::row_json(self.conn, Entity::Team, id)?,
            None => None,
        };
        // The parent is set at the end, when every team of the file exists.
        let (id, outcome) = match existing {
            None => edits::write_row(
                self.conn,
                &self.actor,
                Entity::Team,
                None,
                &["external_id", "name"],
                &[&r.external_id as &dyn ToSql, &r.name],
                false,
            )?,
            Some(id) => {
                let ext: Option<String> = self.conn.query_row(
                    "SELECT external_id FROM teams WHERE id = ?1",
                    [id],
                    |row| row.get(0),
                )?;
                let ext = r.external_id.clone().or(ext);
                self.conn.execute(
                    "UPDATE teams SET external_id = ?2, name = ?3 WHERE id = ?1",
                    params![id, ext, r.name],
                )?;
                (id, Outcome::Unchanged)
            }
        };
        self.teams.insert(r.name.to_lowercase(), id);
        if let Some(e) = &r.external_id {
            self.teams.insert(e.to_lowercase(), id);
        }
        let parent_now = r.parent.as_deref().and_then(|p| self.find_team(p));
        let settled_now = match parent_now {
            // A parent whose own parent is still to come waits with it.
            Some(p) => {
                p != id
                    && !self.pending_parents.iter().any(|q| q.team == p)
                    && !crate::store::setup::is_at_or_below(self.conn, p, id)?
            }
            None => false,
        };
        match &r.parent {
            // A parent already known is set now, unless it would make a cycle (then the
            // end-of-file check reports it with its lines).
            Some(_) if settled_now => {
                self.conn.execute(
                    "UPDATE teams SET parent_id = ?2 WHERE id = ?1",
                    params![id, parent_now],
                )?;
            }
            Some(parent) => self.pending_parents.push(PendingParent {
                team: id,
                parent: parent.clone(),
                line: self.line,
                before: before.clone(),
            }),
            None => {
                self.conn
                    .execute("UPDATE teams SET parent_id = NULL WHERE id = ?1", [id])?;
            }
        }
        if outcome == Outcome::Inserted {
            return Ok(Ok(Outcome::Inserted));
        }
        // An update whose parent is still to come is settled (and audited) at the end.
        if self.pending_parents.last().is_some_and(|p| p.team == id) {
            return Ok(Ok(Outcome::Updated));
        }
        Ok(Ok(
            if audit::record_if_changed(self.conn, &self.actor, Entity::Team, id, before)? {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            },
        ))
    }

    /// Sets the parents the file named; a parent that does not exist, or one that makes a
    /// cycle, is an error at the lines involved (the rows are put back as they were).
    pub(super) fn resolve_parents(&mut self) -> Result<Vec<LateError>> {
        let pending = std::mem::take(&mut self.pending_parents);
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let mut errors: Vec<LateError> = Vec::new();
        let mut bad: HashSet<i64> = HashSet::new();
        for p in &pending {
            match self.find_team(&p.parent) {
                Some(parent) if parent == p.team => {
                    errors.push((
                        p.line,
                        "parent",
                        "a team cannot be its own parent".into(),
                        p.counted(),
                    ));
                    bad.insert(p.team);
                }
                Some(parent) => {
                    self.conn.execute(
                        "UPDATE teams SET parent_id = ?2 WHERE id = ?1",
                        params![p.team, parent],
                    )?;
                }
                None => {
                    errors.push((
                        p.line,
                        "parent",
                        format!("no team '{}' (in the database or this file)", p.parent),
                        p.counted(),
                    ));
                    bad.insert(p.team);
                }
            }
        }
        // Cycles: walk up from each team the file touched.
        let parents: HashMap<i64, Option<i64>> = {
            let mut stmt = self.conn.prepare("SELECT id, parent_id FROM teams")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let line_of: HashMap<i64, u64> = pending.iter().map(|p| (p.team, p.line)).collect();
        for p in &pending {
            let mut seen = vec![p.team];
            let mut at = parents.get(&p.team).copied().flatten();
            while let Some(t) = at {
                if t == p.team {
                    let mut lines: Vec<u64> = seen
                        .iter()
                        .filter_map(|t| line_of.get(t))
                        .copied()
                        .collect();
                    lines.sort();
                    lines.dedup();
                    let names: Vec<String> = lines.iter().map(u64::to_string).collect();
                    errors.push((
                        p.line,
                        "parent",
                        format!(
                            "'{}' makes a cycle of parents (lines {})",
                            p.parent,
                            names.join(", ")
                        ),
                        p.counted(),
                    ));
                    bad.insert(p.team);
                    break;
                }
                if seen.contains(&t) {
                    break;
                }
                seen.push(t);
                at = parents.get(&t).copied().flatten();
            }
        }
        for p in &pending {
            if bad.contains(&p.team) {
                match &p.before {
                    // Put the row back as it was (parents first resolved to nothing).
                    Some(before) => audit::restore_row(self.conn, Entity::Team, p.team, before)?,
                    None => {
                        self.conn
                            .execute("UPDATE teams SET parent_id = NULL WHERE id = ?1", [p.team])?;
                    }
                }
            } else if p.before.is_some() {
                audit::record_if_changed(
                    self.conn,
                    &self.actor,
                    Entity::Team,
                    p.team,
                    p.before.clone(),
                )?;
            }
        }
        // Rows the file inserted and that failed go again (children first would point
        // at them: clear the links, then delete).
        for p in &pending {
            if bad.contains(&p.team) && p.before.is_none() {
                self.conn.execute(
                    "UPDATE teams SET parent_id = NULL WHERE parent_id = ?1",
                    [p.team],
                )?;
            }
        }
        for p in &pending {
            if bad.contains(&p.team) && p.before.is_none() {
                self.conn
                    .execute("DELETE FROM teams WHERE id = ?1", [p.team])?;
            }
        }
        errors.sort_by_key(|e| e.0);
        Ok(errors)
    }

    pub fn rep(&mut self, r: &RepRecord) -> RowResult {
        let team = match r.team.as_deref() {
            None => None,
            Some(t) => match self.find_team(t) {
                Some(id) => Some(id),
                None => match self.team_id(t)? {
                    Ok(id) => Some(id),
                    Err(e) => return Ok(Err(("team", e))),
                },
            },
        };
        let by_ext: Option<i64> = match r.external_id.as_deref() {
            None => None,
            Some(e) => self
                .conn
                .prepare_cached("SELECT id FROM reps WHERE external_id = ?1")?
                .query_row([e], |row| row.get(0))
                .optional()?,
        };
        let by_name = self.reps.get(&r.name.to_lowercase()).copied();
        if let (Some(a), Some(b)) = (by_ext, by_name) {
            if a != b {
                return Ok(Err((
                    "name",
                    format!("another rep is already named '{}'", r.name),
                )));
            }
        }
        let existing = by_ext.or(by_name);
        let mut cols: Vec<&str> = vec!["name"];
        let mut vals: Vec<&dyn ToSql> = vec![&r.name];
        let given = [
            ("external_id", r.external_id.is_some()),
            ("email", r.email.is_some()),
            ("team_id", r.team.is_some()),
            ("capacity", r.capacity.is_some()),
            ("hired_on", r.hired_on.is_some()),
            ("active", r.active.is_some()),
        ];
        let hired = r.hired_on.map(iso);
        let slots: [&dyn ToSql; 6] = [
            &r.external_id,
            &r.email,
            &team,
            &r.capacity,
            &hired,
            &r.active,
        ];
        for ((col, is_given), v) in given.iter().zip(slots) {
            // On an update a column the file leaves out keeps its value.
            if *is_given || existing.is_none() && *col != "capacity" && *col != "active" {
                cols.push(col);
                vals.push(v);
            }
        }
        let (id, outcome) = edits::write_row(
            self.conn,
            &self.actor,
            Entity::Rep,
            existing,
            &cols,
            &vals,
            false,
        )?;
        self.reps.insert(r.name.to_lowercase(), id);
        Ok(Ok(outcome))
    }

    pub fn product(&mut self, r: &ProductRecord) -> RowResult {
        let existing = self.products.get(&r.sku.to_lowercase()).copied();
        let name = r.name.clone().unwrap_or_else(|| r.sku.clone());
        let price = r.list_price.map(|p| p.cents());
        let mut cols: Vec<&str> = vec!["sku"];
        let mut vals: Vec<&dyn ToSql> = vec![&r.sku];
        if r.name.is_some() || existing.is_none() {
            cols.push("name");
            vals.push(&name);
        }
        if r.family.is_some() {
            cols.push("family");
            vals.push(&r.family);
        }
        if price.is_some() {
            cols.push("list_price_cents");
            vals.push(&price);
        }
        let (id, outcome) = edits::write_row(
            self.conn,
            &self.actor,
            Entity::Product,
            existing,
            &cols,
            &vals,
            false,
        )?;
        self.products.insert(r.sku.to_lowercase(), id);
        if let Some(p) = price {
            self.prices.insert(id, p);
        }
        Ok(Ok(outcome))
    }

    pub fn stage_row(&mut self, r: &StageRecord) -> RowResult {
        let existing = self.stages.get(&r.name.to_lowercase()).copied();
        if let Some((id, old_kind)) = existing {
            if old_kind != r.kind {
                let deals: i64 = self.conn.query_row(
                    "SELECT count(*) FROM deals WHERE stage_id = ?1",
                    [id],
                    |row| row.get(0),
                )?;
                if deals > 0 {
                    return Ok(Err((
                        "kind",
                        format!(
                            "'{}' is a {old_kind} stage with {deals} deals in it; move them before changing its kind",
                            r.name
                        ),
                    )));
                }
            }
        }
        let probability = match (r.kind, r.probability) {
            (StageKind::Won, _) => Some(1.0),
            (StageKind::Lost, _) => Some(0.0),
            (StageKind::Open, p) => p,
        };
        if existing.is_none() && probability.is_none() {
            return Ok(Err((
                "probability",
                "an open stage needs its win probability (0 to 1, or a percentage)".into(),
            )));
        }
        let position = match (r.position, existing) {
            (Some(p), _) => Some(p),
            (None, Some(_)) => None,
            (None, None) => Some(self.conn.query_row(
                "SELECT coalesce(max(position), 0) + 1 FROM stages",
                [],
                |row| row.get(0),
            )?),
        };
        let category = r.category.or_else(|| {
            existing.is_none().then_some(match r.kind {
                StageKind::Won => ForecastCategory::Closed,
                StageKind::Lost => ForecastCategory::Omitted,
                StageKind::Open => ForecastCategory::Pipeline,
            })
        });
        let kind = r.kind.as_str();
        let category = category.map(|c| c.as_str());
        let mut cols: Vec<&str> = vec!["name", "kind"];
        let mut vals: Vec<&dyn ToSql> = vec![&r.name, &kind];
        if probability.is_some() {
            cols.push("probability");
            vals.push(&probability);
        }
        if position.is_some() {
            cols.push("position");
            vals.push(&position);
        }
        if category.is_some() {
            cols.push("forecast_category");
            vals.push(&category);
        }
        let (id, outcome) = edits::write_row(
            self.conn,
            &self.actor,
            Entity::Stage,
            existing.map(|e| e.0),
            &cols,
            &vals,
            false,
        )?;
        self.stages.insert(r.name.to_lowercase(), (id, r.kind));
        self.positions.remove(&id);
        self.first_open = None;
        Ok(Ok(outcome))
    }

    /// One entry of a deal's history. The first real entry for a deal removes the
    /// history inferred for it (audited, so a revert puts it back).
    pub fn stage_change(&mut self, r: &StageChangeRecord) -> RowResult {
        let Some(deal) = self.deal_by_ext(&r.deal)? else {
            return Ok(Err((
                "deal_external_id",
                format!(
                    "no deal with external id '{}' (import the deals first)",
                    r.deal
                ),
            )));
        };
        let Some(&(stage, _)) = self.stages.get(&r.stage.to_lowercase()) else {
            let known: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare("SELECT name FROM stages ORDER BY position")?;
                let names = stmt
                    .query_map([], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                names
            };
            return Ok(Err((
                "stage",
                format!(
                    "no stage named '{}' (stages are: {})",
                    r.stage,
                    known.join(", ")
                ),
            )));
        };
        let created: String = self.conn.query_row(
            "SELECT created_on FROM deals WHERE id = ?1",
            [deal],
            |row| row.get(0),
        )?;
        let had_inferred: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM stage_changes WHERE deal_id = ?1 AND inferred = 1)",
            [deal],
            |row| row.get(0),
        )?;
        if iso(r.entered_on) < created {
            // A creation date taken from the deal's first known date gives way to real
            // history that starts earlier.
            if !(had_inferred || self.replaced.contains(&deal)) {
                return Ok(Err((
                    "entered_on",
                    format!(
                        "{} is before the deal was created ({created})",
                        r.entered_on
                    ),
                )));
            }
            edits::write_row(
                self.conn,
                &self.actor,
                Entity::Deal,
                Some(deal),
                &["created_on"],
                &[&iso(r.entered_on)],
                false,
            )?;
        }
        let on = iso(r.entered_on);
        let same: Option<(i64, bool)> = self
            .conn
            .prepare_cached(
                "SELECT id, inferred FROM stage_changes WHERE deal_id = ?1 AND to_stage_id = ?2 AND changed_on = ?3",
            )?
            .query_row(params![deal, stage, on], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if !r.inferred && !self.history_deals.contains(&deal) {
            self.history_deals.push(deal);
            if had_inferred {
                self.replaced.insert(deal);
            }
            // Real history replaces the guessed one (rows this file wrote are kept).
            let inferred: Vec<i64> = {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT id FROM stage_changes WHERE deal_id = ?1 AND inferred = 1",
                )?;
                let ids = stmt
                    .query_map([deal], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids
            };
            for id in inferred {
                if same.is_some_and(|s| s.0 == id) {
                    continue;
                }
                let before = audit::row_json(self.conn, Entity::StageChange, id)?;
                self.conn
                    .execute("DELETE FROM stage_changes WHERE id = ?1", [id])?;
                audit::record(
                    self.conn,
                    &self.actor,
                    Action::Delete,
                    Entity::StageChange,
                    id,
                    before.as_deref(),
                    None,
                    None,
                )?;
            }
        }
        match same {
            Some((_, was_inferred)) if was_inferred == r.inferred => Ok(Ok(Outcome::Unchanged)),
            Some((id, _)) => {
                let (_, outcome) = edits::write_row(
                    self.conn,
                    &self.actor,
                    Entity::StageChange,
                    Some(id),
                    &["inferred"],
                    &[&r.inferred],
                    false,
                )?;
                Ok(Ok(outcome))
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO stage_changes(deal_id, to_stage_id, changed_on, inferred) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![deal, stage, on, r.inferred])?;
                self.new_changes.push(self.conn.last_insert_rowid());
                if !self.history_deals.contains(&deal) {
                    self.history_deals.push(deal);
                }
                Ok(Ok(Outcome::Inserted))
            }
        }
    }

    fn deal_by_ext(&self, ext: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM deals WHERE external_id = ?1")?
            .query_row([ext], |r| r.get(0))
            .optional()?)
    }

    /// After a stage-history file: each new entry's `from` stage is the deal's entry
    /// before it, and each deal's stage-entry date is its latest entry into the stage it
    /// is in (audited).
    pub(super) fn settle_histories(&mut self) -> Result<()> {
        let deals = std::mem::take(&mut self.history_deals);
        let new: HashSet<i64> = std::mem::take(&mut self.new_changes).into_iter().collect();
        for deal in deals {
            let rows: Vec<(i64, i64, String)> = {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT sc.id, sc.to_stage_id, sc.changed_on FROM stage_changes sc
                     JOIN stages s ON s.id = sc.to_stage_id
                     WHERE sc.deal_id = ?1 ORDER BY sc.changed_on, s.kind <> 'open', s.position, sc.id",
                )?;
                let rows = stmt
                    .query_map([deal], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                rows
            };
            let mut from: Option<i64> = None;
            for (id, to, _) in &rows {
                if new.contains(id) {
                    self.conn.execute(
                        "UPDATE stage_changes SET from_stage_id = ?2 WHERE id = ?1",
                        params![id, from],
                    )?;
                }
                from = Some(*to);
            }
            let (stage, entered): (i64, String) = self.conn.query_row(
                "SELECT stage_id, stage_entered_on FROM deals WHERE id = ?1",
                [deal],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let latest = rows
                .iter()
                .filter(|r| r.1 == stage)
                .map(|r| r.2.clone())
                .max();
            if let Some(on) = latest.filter(|on| *on != entered) {
                edits::write_row(
                    self.conn,
                    &self.actor,
                    Entity::Deal,
                    Some(deal),
                    &["stage_entered_on"],
                    &[&on],
                    false,
                )?;
            }
        }
        Ok(())
    }
}
