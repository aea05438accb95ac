//! Writing validated records: resolving references, upserting by external id, keeping
//! stage history and the order ledger in step, and auditing every row.

use super::layout::StageDef;
use crate::domain::date::iso;
use crate::domain::records::*;
use crate::domain::{CustomerStatus, ForecastCategory, StageKind, TargetScope};
use crate::store::audit::{self, Actor, Entity};
use crate::store::db::Result;
use crate::store::edits;
use crate::store::ledger;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

pub use crate::store::edits::Outcome;

mod reference;

/// Ids of the entities rows refer to by name, loaded once per import.
pub struct Writer<'c> {
    conn: &'c Connection,
    actor: Actor,
    create_missing: bool,
    today: NaiveDate,
    stage_defs: Vec<StageDef>,
    customers_by_ext: HashMap<String, i64>,
    customers_by_name: HashMap<String, Vec<i64>>,
    reps: HashMap<String, i64>,
    teams: HashMap<String, i64>,
    products: HashMap<String, i64>,
    stages: HashMap<String, (i64, StageKind)>,
    /// The deals table held no external ids at the start: as a file may not repeat an
    /// external id (refused before the writer), no row can match an existing deal, and the
    /// lookup per row is skipped.
    no_deal_ids: bool,
    /// The largest id of each table before the import: every row above it at the end was
    /// inserted by this import (one writer at a time), and is audited as one id range.
    baseline: Vec<(Entity, i64)>,
    /// What `--create-missing` made, for the report: (entity, name).
    pub created: Vec<(&'static str, String)>,
    /// The file line being written, for messages that name two lines.
    pub line: u64,
    /// The fields this row gives (see `field_given`): bit `i` for field `i` of `fields`.
    pub given: u64,
    /// The canonical fields of the kind being imported.
    pub fields: &'static [(&'static str, bool, &'static [&'static str])],
    /// The external ids (or SKUs) that occur more than once in the file, as 64-bit
    /// hashes, with the line of their first occurrence (see `import::repeated_keys`).
    pub repeated_keys: HashMap<u64, u32>,
    /// Customer names this file wrote, with the line (a second row with the name is
    /// reported with both lines).
    names_in_file: HashMap<String, u64>,
    /// Teams whose parent is resolved at the end (it may come later in the file).
    pending_parents: Vec<PendingParent>,
    /// Deals given real stage history by this file: their inferred rows go, and their
    /// stage-entry dates follow the history, at the end.
    history_deals: Vec<i64>,
    /// Stage changes this file inserted (their `from` stage is set at the end).
    new_changes: Vec<i64>,
    /// Products by sku: (id, list price in cents).
    prices: HashMap<i64, i64>,
    /// Deals given a history inferred from their dates.
    pub inferred_histories: usize,
    /// Stage id -> (position, kind), filled as needed.
    positions: HashMap<i64, (i64, StageKind)>,
    /// Content keys of rows without an external id, with how often each was seen.
    pub keys_seen: HashMap<u64, u32>,
    /// Deals whose inferred history this file replaced.
    replaced: std::collections::HashSet<i64>,
    /// The first open stage (cached; reset when a stage is created or written).
    first_open: Option<Option<i64>>,
}

/// A team row whose parent is resolved at the end of the file.
struct PendingParent {
    team: i64,
    parent: String,
    line: u64,
    /// The row before this file touched it (None: the file inserted it).
    before: Option<String>,
}

/// A row problem found only at the end of the file: (line, field, reason, what the row
/// had been counted as).
pub type LateError = (u64, &'static str, String, Outcome);

fn load_map(conn: &Connection, sql: &str) -> Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut map = HashMap::new();
    for row in rows {
        let (k, v) = row?;
        map.insert(k.to_lowercase(), v);
    }
    Ok(map)
}

impl<'c> Writer<'c> {
    pub fn new(
        conn: &'c Connection,
        actor: Actor,
        create_missing: bool,
        today: NaiveDate,
        stage_defs: Vec<StageDef>,
    ) -> Result<Self> {
        let mut customers_by_ext = HashMap::new();
        let mut customers_by_name: HashMap<String, Vec<i64>> = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT id, external_id, name FROM customers")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                if let Some(ext) = r.get::<_, Option<String>>(1)? {
                    customers_by_ext.insert(ext, id);
                }
                customers_by_name
                    .entry(r.get::<_, String>(2)?.to_lowercase())
                    .or_default()
                    .push(id);
            }
        }
        let mut stages = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT name, id, kind FROM stages")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let kind: String = r.get(2)?;
                stages.insert(
                    r.get::<_, String>(0)?.to_lowercase(),
                    (r.get(1)?, kind.parse().unwrap_or(StageKind::Open)),
                );
            }
        }
        Ok(Writer {
            conn,
            create_missing,
            today,
            stage_defs,
            customers_by_ext,
            customers_by_name,
            reps: load_map(conn, "SELECT name, id FROM reps")?,
            teams: load_map(
                conn,
                "SELECT name, id FROM teams UNION ALL SELECT external_id, id FROM teams WHERE external_id IS NOT NULL",
            )?,
            products: load_map(conn, "SELECT sku, id FROM products")?,
            stages,
            no_deal_ids: !conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM deals WHERE external_id IS NOT NULL)",
                [],
                |r| r.get::<_, bool>(0),
            )?,
            created: Vec::new(),
            line: 0,
            given: 0,
            fields: &[],
            repeated_keys: HashMap::new(),
            names_in_file: HashMap::new(),
            pending_parents: Vec::new(),
            history_deals: Vec::new(),
            new_changes: Vec::new(),
            prices: {
                let mut stmt = conn.prepare("SELECT id, list_price_cents FROM products")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            },
            inferred_histories: 0,
            positions: HashMap::new(),
            keys_seen: HashMap::new(),
            replaced: Default::default(),
            first_open: None,
            baseline: audit::ALL_ENTITIES
                .iter()
                .map(|&e| Ok((e, max_id(conn, e)?)))
                .collect::<Result<_>>()?,
            actor,
        })
    }

    /// A prospect with an order in the ledger is a customer: the status follows the
    /// ledger for customers this import gave orders (audited for rows it did not insert).
    fn activate_customers(&mut self) -> Result<()> {
        let before_orders = self
            .baseline
            .iter()
            .find(|b| b.0 == Entity::Order)
            .map_or(0, |b| b.1);
        let before_customers = self
            .baseline
            .iter()
            .find(|b| b.0 == Entity::Customer)
            .map_or(0, |b| b.1);
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare(
                // The new orders drive the join (CROSS JOIN keeps that order): they are a
                // range of ids, and `orders_customer` may be deferred until the commit.
                "SELECT DISTINCT c.id FROM orders o CROSS JOIN customers c ON c.id = o.customer_id
                 WHERE o.id > ?1 AND c.status = 'prospect'",
            )?;
            let ids = stmt
                .query_map([before_orders], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids
        };
        for id in ids {
            if id > before_customers {
                self.conn
                    .execute("UPDATE customers SET status = 'active' WHERE id = ?1", [id])?;
            } else {
                edits::write_row(
                    self.conn,
                    &self.actor,
                    Entity::Customer,
                    Some(id),
                    &["status"],
                    &[&"active"],
                    false,
                )?;
            }
        }
        Ok(())
    }

    /// A row's amount in cents: as given, or (the mapping's `product.list_price` default)
    /// the product's list price times `quantity`.
    fn amount(
        &self,
        from_list_price: bool,
        product: Option<i64>,
        quantity: i64,
        given: crate::domain::Money,
    ) -> std::result::Result<i64, String> {
        if !from_list_price {
            return Ok(given.cents());
        }
        product
            .and_then(|p| self.prices.get(&p))
            .map(|price| price.saturating_mul(quantity))
            .ok_or_else(|| {
                "blank, and its default (the product's list price) needs a product with a list price"
                    .to_string()
            })
    }

    /// With `--create-missing`, a vendor profile's or mapping's whole pipeline is created
    /// before the first row, so that every deal's history starts at its first stage.
    pub fn create_pipeline(&mut self) -> Result<()> {
        if !self.create_missing {
            return Ok(());
        }
        let mut defs = self.stage_defs.clone();
        defs.sort_by_key(|d| d.position.unwrap_or(i64::MAX));
        for d in defs {
            if !self.stages.contains_key(&d.name.to_lowercase()) {
                if let Err(e) = self.create_stage(&d.name)? {
                    return Err(crate::store::db::StoreError::Invalid(e));
                }
            }
        }
        Ok(())
    }

    /// Audits the rows this import inserted: one entry per table with the id range, parents
    /// first so that a revert, reading newest first, deletes children first.
    pub fn finish(&mut self) -> Result<Vec<LateError>> {
        let late = self.resolve_parents()?;
        self.settle_histories()?;
        self.activate_customers()?;
        for &(entity, before) in &self.baseline {
            let now = max_id(self.conn, entity)?;
            if now > before {
                audit::record_inserted_range(self.conn, &self.actor, entity, before + 1, now)?;
            }
        }
        Ok(late)
    }

    /// Inserts the row, or updates row `existing` (auditing the change).
    fn upsert(
        &self,
        entity: Entity,
        existing: Option<i64>,
        columns: &[&str],
        values: &[&dyn rusqlite::ToSql],
    ) -> Result<(i64, Outcome)> {
        edits::write_row_keeping(
            self.conn,
            &self.actor,
            entity,
            existing,
            columns,
            values,
            false,
            &|c| self.field_given(c),
        )
    }

    /// Whether this row's file gives the field behind a column (a value, a mapping default,
    /// or with `--blank clears` an empty cell in a column it has): an update sets only those.
    pub(super) fn field_given(&self, column: &str) -> bool {
        let has = |field: &str| {
            self.fields
                .iter()
                .position(|f| f.0 == field)
                .is_some_and(|i| self.given & (1 << i) != 0)
        };
        match column {
            "owner_rep_id" => has("owner"),
            "customer_id" => has("customer") || has("customer_external_id"),
            "product_id" => has("product"),
            "amount_cents" => has("amount"),
            "rep_id" => has("rep"),
            "deal_id" => has("deal_external_id"),
            other => has(other),
        }
    }

    /// Audits an update; `Unchanged` (and no audit row) when nothing changed.
    fn audit_update(&self, entity: Entity, id: i64, before: Option<String>) -> Result<Outcome> {
        Ok(
            if audit::record_if_changed(self.conn, &self.actor, entity, id, before)? {
                Outcome::Updated
            } else {
                Outcome::Unchanged
            },
        )
    }

    fn existing(&self, entity: Entity, external_id: Option<&str>) -> Result<Option<i64>> {
        let Some(ext) = external_id else {
            return Ok(None);
        };
        let sql = format!("SELECT id FROM {} WHERE external_id = ?1", entity.table());
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([ext], |r| r.get(0))
            .optional()?)
    }

    // ---- references -------------------------------------------------------------------

    /// The customer's id; `Err` is the reason for the row's report.
    pub fn customer_id(
        &mut self,
        r: &CustomerRef,
        name_hint: Option<&str>,
    ) -> Result<Result<i64, String>> {
        match r {
            CustomerRef::ExternalId(ext) => {
                if let Some(id) = self.customers_by_ext.get(ext) {
                    return Ok(Ok(*id));
                }
                if !self.create_missing {
                    return Ok(Err(format!(
                        "no customer with external id '{ext}' (import customers first, or use --create-missing)"
                    )));
                }
                let id = self.create_customer(Some(ext), name_hint.unwrap_or(ext))?;
                Ok(Ok(id))
            }
            CustomerRef::Name(name) => {
                match self.customers_by_name.get(&name.to_lowercase()).map(Vec::as_slice) {
                    Some([id]) => Ok(Ok(*id)),
                    Some(ids) if ids.len() > 1 => Ok(Err(format!(
                        "{} customers are named '{name}'; refer to the customer by external id",
                        ids.len()
                    ))),
                    _ if self.create_missing => Ok(Ok(self.create_customer(None, name)?)),
                    _ => Ok(Err(format!(
                        "no customer named '{name}' (import customers first, or use --create-missing)"
                    ))),
                }
            }
        }
    }

    fn create_customer(&mut self, ext: Option<&str>, name: &str) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO customers(external_id, name, status, created_on) VALUES (?1, ?2, 'prospect', ?3)",
            )?
            .execute(params![ext, name, iso(self.today)])?;
        let id = self.conn.last_insert_rowid();
        if let Some(e) = ext {
            self.customers_by_ext.insert(e.to_string(), id);
        }
        self.customers_by_name
            .entry(name.to_lowercase())
            .or_default()
            .push(id);
        self.created.push(("customer", name.to_string()));
        Ok(id)
    }

    pub fn rep_id(&mut self, name: Option<&str>) -> Result<Result<Option<i64>, String>> {
        match name {
            None => Ok(Ok(None)),
            Some(name) => Ok(self.named_id(Named::Rep, name)?.map(Some)),
        }
    }

    fn team_id(&mut self, name: &str) -> Result<Result<i64, String>> {
        self.named_id(Named::Team, name)
    }

    pub fn product_id(&mut self, sku: Option<&str>) -> Result<Result<Option<i64>, String>> {
        match sku {
            None => Ok(Ok(None)),
            Some(sku) => Ok(self.named_id(Named::Product, sku)?.map(Some)),
        }
    }

    /// A rep, team or product the file names (by name, a product by SKU; any case): the
    /// one the database has, else with `--create-missing` a new one (reported as
    /// created), else why the row is refused.
    fn named_id(&mut self, kind: Named, name: &str) -> Result<Result<i64, String>> {
        let (map, label, missing, insert) = match kind {
            Named::Rep => (
                &mut self.reps,
                "rep",
                ["no rep named", "(use --create-missing to add reps)"],
                "INSERT INTO reps(name) VALUES (?1)",
            ),
            Named::Team => (
                &mut self.teams,
                "team",
                ["no team named", "(use --create-missing to add it)"],
                "INSERT INTO teams(name) VALUES (?1)",
            ),
            Named::Product => (
                &mut self.products,
                "product",
                ["no product with sku", "(use --create-missing to add it)"],
                "INSERT INTO products(sku, name) VALUES (?1, ?1)",
            ),
        };
        if let Some(id) = map.get(&name.to_lowercase()) {
            return Ok(Ok(*id));
        }
        if !self.create_missing {
            return Ok(Err(format!("{} '{name}' {}", missing[0], missing[1])));
        }
        self.conn.prepare_cached(insert)?.execute([name])?;
        let id = self.conn.last_insert_rowid();
        map.insert(name.to_lowercase(), id);
        self.created.push((label, name.to_string()));
        Ok(Ok(id))
    }

    /// The stage by name, or the first won/lost stage for a won/lost status.
    pub fn stage(
        &mut self,
        name: &str,
        status: Option<StageKind>,
    ) -> Result<Result<(i64, StageKind), String>> {
        if let Some(kind @ (StageKind::Won | StageKind::Lost)) = status {
            if let Some(found) = self.first_stage_of(kind)? {
                return Ok(Ok(found));
            }
            let def = self.stage_defs.iter().find(|d| d.kind == kind).cloned();
            let name = def.as_ref().map(|d| d.name.clone()).unwrap_or_else(|| {
                if kind == StageKind::Won {
                    "Closed Won"
                } else {
                    "Closed Lost"
                }
                .to_string()
            });
            return self.create_stage(&name);
        }
        if name.is_empty() {
            return Ok(Err("no stage given".into()));
        }
        if let Some(s) = self.stages.get(&name.to_lowercase()) {
            return Ok(Ok(*s));
        }
        self.create_stage(name)
    }

    fn first_stage_of(&self, kind: StageKind) -> Result<Option<(i64, StageKind)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM stages WHERE kind = ?1 ORDER BY position, id LIMIT 1",
                [kind.as_str()],
                |r| r.get(0),
            )
            .optional()?
            .map(|id| (id, kind)))
    }

    fn create_stage(&mut self, name: &str) -> Result<Result<(i64, StageKind), String>> {
        if !self.create_missing {
            let known: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare("SELECT name FROM stages ORDER BY position")?;
                let names = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                names
            };
            let hint = if known.is_empty() {
                "the database has no stages yet".to_string()
            } else {
                format!("stages are: {}", known.join(", "))
            };
            return Ok(Err(format!(
                "no stage named '{name}' ({hint}; use --create-missing or map it in a mapping file)"
            )));
        }
        let def = self
            .stage_defs
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| infer_stage(name));
        let max_pos: i64 =
            self.conn
                .query_row("SELECT coalesce(max(position), 0) FROM stages", [], |r| {
                    r.get(0)
                })?;
        let category = def.category.unwrap_or(match def.kind {
            StageKind::Won => ForecastCategory::Closed,
            StageKind::Lost => ForecastCategory::Omitted,
            StageKind::Open => ForecastCategory::Pipeline,
        });
        self.conn.execute(
            "INSERT INTO stages(name, position, probability, kind, forecast_category) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                def.name,
                def.position.unwrap_or(max_pos + 1),
                def.probability,
                def.kind.as_str(),
                category.as_str()
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        self.first_open = None;
        self.stages.insert(def.name.to_lowercase(), (id, def.kind));
        self.created.push((
            "stage",
            format!(
                "{} ({}, {:.0}%)",
                def.name,
                def.kind,
                def.probability * 100.0
            ),
        ));
        Ok(Ok((id, def.kind)))
    }

    fn deal_id(&self, ext: Option<&str>) -> Result<Result<Option<i64>, String>> {
        let Some(ext) = ext else { return Ok(Ok(None)) };
        match self.existing(Entity::Deal, Some(ext))? {
            Some(id) => Ok(Ok(Some(id))),
            None => Ok(Err(format!("no deal with external id '{ext}'"))),
        }
    }

    // ---- writes -------------------------------------------------------------------------

    pub fn customer(
        &mut self,
        r: &CustomerRecord,
        status_given: bool,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        let owner = match self.rep_id(r.owner.as_deref())? {
            Ok(o) => o,
            Err(e) => return Ok(Err(("owner", e))),
        };
        let key = r.name.to_lowercase();
        if let Some(first) = self.names_in_file.get(&key) {
            return Ok(Err((
                "name",
                format!("'{}' is also the name on line {first}: one customer per name (give them different names, or one row)", r.name),
            )));
        }
        let by_name: &[i64] = self
            .customers_by_name
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let existing = match r.external_id.as_deref() {
            Some(ext) => match self.customers_by_ext.get(ext).copied() {
                Some(id) => Some(id),
                None => {
                    if let Some(&other) = by_name.first() {
                        let ext: Option<String> = self
                            .conn
                            .prepare_cached("SELECT external_id FROM customers WHERE id = ?1")?
                            .query_row([other], |row| row.get(0))?;
                        // A customer made by name (by --create-missing, say) takes the id.
                        if ext.is_none() && by_name.len() == 1 {
                            return self.write_customer_row(r, Some(other), owner, status_given);
                        }
                        return Ok(Err((
                            "name",
                            format!(
                                "a customer named '{}' already exists ({}); one customer per name",
                                r.name,
                                ext.map(|e| format!("external id {e}"))
                                    .unwrap_or_else(|| format!("id {other}, no external id"))
                            ),
                        )));
                    }
                    None
                }
            },
            // Without an external id, the name is the key.
            None => match by_name {
                [] => None,
                [id] => Some(*id),
                ids => {
                    return Ok(Err((
                        "name",
                        format!(
                            "{} customers are named '{}'; give the external_id column to say which",
                            ids.len(),
                            r.name
                        ),
                    )))
                }
            },
        };
        self.write_customer_row(r, existing, owner, status_given)
    }

    fn write_customer_row(
        &mut self,
        r: &CustomerRecord,
        existing: Option<i64>,
        owner: Option<i64>,
        status_given: bool,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        self.names_in_file.insert(r.name.to_lowercase(), self.line);
        let mut r = std::borrow::Cow::Borrowed(r);
        if !status_given {
            // The status follows the ledger: a customer with an order is active.
            let (stored, ordered): (Option<String>, bool) = match existing {
                None => (None, false),
                Some(id) => self
                    .conn
                    .prepare_cached(
                        "SELECT status, EXISTS (SELECT 1 FROM orders WHERE customer_id = ?1) FROM customers WHERE id = ?1",
                    )?
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?,
            };
            let status = match (stored.as_deref(), ordered) {
                (Some("churned"), _) => CustomerStatus::Churned,
                (_, true) => CustomerStatus::Active,
                (Some(s), false) => s.parse().unwrap_or(CustomerStatus::Prospect),
                (None, false) => CustomerStatus::Prospect,
            };
            r.to_mut().status = status;
        }
        // The status is always written: the file's, or the one the ledger gives.
        let (id, outcome) = edits::write_customer(
            self.conn,
            &self.actor,
            existing,
            &r,
            owner,
            self.today,
            false,
            &|c| c == "status" || self.field_given(c),
        )?;
        if let Some(e) = &r.external_id {
            self.customers_by_ext.insert(e.clone(), id);
        }
        if outcome == Outcome::Inserted {
            self.customers_by_name
                .entry(r.name.to_lowercase())
                .or_default()
                .push(id);
        }
        Ok(Ok(outcome))
    }

    pub fn contact(
        &mut self,
        r: &ContactRecord,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        let customer = match self.customer_id(&r.customer, None)? {
            Ok(c) => c,
            Err(e) => return Ok(Err((customer_field(&r.customer), e))),
        };
        let existing = self.existing(Entity::Contact, r.external_id.as_deref())?;
        let values = params![
            r.external_id,
            customer,
            r.name,
            r.title,
            r.email,
            r.phone,
            r.is_primary
        ];
        let (id, outcome) =
            self.upsert(Entity::Contact, existing, &edits::CONTACT_COLUMNS, values)?;
        if r.is_primary {
            edits::demote_other_primaries(self.conn, &self.actor, customer, id)?;
        }
        Ok(Ok(outcome))
    }

    pub fn deal(
        &mut self,
        r: &DealRecord,
        status: Option<StageKind>,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        let (stage_id, kind) = match self.stage(&r.stage, status)? {
            Ok(s) => s,
            Err(e) => return Ok(Err(("stage", e))),
        };
        let closed_on = match (kind, r.closed_on, r.expected_close) {
            (StageKind::Open, Some(_), _) => {
                return Ok(Err((
                    "closed_on",
                    "an open deal has no close date yet (use expected_close)".into(),
                )))
            }
            (StageKind::Open, None, _) => None,
            (_, Some(c), _) => Some(c),
            // Exports write the actual close date of closed deals in the close-date column.
            (_, None, Some(e)) => Some(e),
            (_, None, None) => {
                return Ok(Err((
                    "closed_on",
                    "a won or lost deal needs its close date".into(),
                )))
            }
        };
        let customer = match self.customer_id(&r.customer, None)? {
            Ok(c) => c,
            Err(e) => return Ok(Err((customer_field(&r.customer), e))),
        };
        let owner = match self.rep_id(r.owner.as_deref())? {
            Ok(o) => o,
            Err(e) => return Ok(Err(("owner", e))),
        };
        let product = match self.product_id(r.product.as_deref())? {
            Ok(p) => p,
            Err(e) => return Ok(Err(("product", e))),
        };
        let amount_cents = match self.amount(r.amount_from_list_price, product, 1, r.amount) {
            Ok(c) => c,
            Err(e) => return Ok(Err(("amount", e))),
        };
        // The stages the file dates (`[stage_dates]`), resolved like the deal's own stage.
        let mut dated: Vec<(i64, NaiveDate)> = Vec::new();
        for (name, on) in &r.stage_dates {
            match self.stage(name, None)? {
                Ok((id, _)) => dated.push((id, *on)),
                Err(e) => return Ok(Err(("stage", e))),
            }
        }
        // (id, stage, entered on, created on, product) of the deal the row updates.
        type Stored = (i64, i64, String, String, Option<i64>);
        let existing: Option<Stored> = match r.external_id.as_deref() {
            None => None,
            Some(_) if self.no_deal_ids => None,
            Some(ext) => self
                .conn
                .prepare_cached(
                    "SELECT id, stage_id, stage_entered_on, created_on, product_id FROM deals WHERE external_id = ?1",
                )?
                .query_row([ext], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
                })
                .optional()?,
        };
        // The ledger follows the deal as stored: an update that does not give the product
        // keeps the stored one (the customer and the amount are always given).
        let ledger_product = match &existing {
            Some(e) if !self.field_given("product_id") => e.4,
            _ => product,
        };
        // An update keeps the stored creation date unless the file gives one; a new deal
        // without one began on the first date it has.
        let stored_created = existing
            .as_ref()
            .and_then(|e| NaiveDate::parse_from_str(&e.3, "%Y-%m-%d").ok());
        let created_on = r.created_on.or(stored_created).unwrap_or_else(|| {
            dated
                .iter()
                .map(|d| d.1)
                .chain(closed_on)
                .min()
                .unwrap_or(self.today)
        });
        if closed_on.is_some_and(|c| c < created_on) {
            return Ok(Err((
                "closed_on",
                format!("the close date is before the deal was created ({created_on})"),
            )));
        }
        let lost_reason = if kind == StageKind::Lost {
            r.lost_reason.clone()
        } else {
            None
        };
        let is_new = existing.is_none();
        let row = NewDealRow {
            customer,
            owner,
            product,
            amount_cents,
            stage_id,
            kind,
            created_on,
            closed_on,
            lost_reason: lost_reason.as_deref(),
        };
        let outcome;
        let deal_id;
        match existing {
            None => {
                deal_id = self.insert_deal(r, &row, &dated)?;
                outcome = Outcome::Inserted;
            }
            Some((id, old_stage, old_entered, _, _)) => {
                deal_id = id;
                outcome = self.update_deal(r, id, old_stage, old_entered, &row)?;
            }
        }
        ledger::sync_order(
            self.conn,
            &self.actor,
            &ledger::DealForLedger {
                deal_id,
                is_new,
                kind,
                customer_id: customer,
                product_id: ledger_product,
                closed_on,
                cents: amount_cents,
            },
            false,
        )?;
        Ok(Ok(outcome))
    }

    /// Updates deal `id` from the file: only what the file gives changes, but the stage and
    /// what follows from it (entry date, close date, a lost reason that no longer applies)
    /// always; a new stage is a recorded stage change.
    fn update_deal(
        &mut self,
        r: &DealRecord,
        id: i64,
        old_stage: i64,
        old_entered: String,
        d: &NewDealRow,
    ) -> Result<Outcome> {
        let NewDealRow {
            customer,
            owner,
            product,
            amount_cents,
            stage_id,
            kind,
            created_on,
            closed_on,
            lost_reason,
        } = *d;
        let outcome;
        let entered = if old_stage == stage_id {
            old_entered
        } else {
            let on = closed_on.unwrap_or(self.today);
            self.conn
                .prepare_cached(
                    "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![id, old_stage, stage_id, iso(on)])?;
            iso(on)
        };
        // Only what the file gives changes; the stage and what follows from it
        // (entry date, close date, a lost reason that no longer applies) always.
        let reopened = kind != StageKind::Lost;
        let update = |c: &str| match c {
            "stage_id" | "stage_entered_on" | "closed_on" => true,
            "lost_reason" => reopened || self.field_given(c),
            "amount_cents" => r.amount_from_list_price || self.field_given(c),
            _ => self.field_given(c),
        };
        (_, outcome) = edits::write_row_keeping(
            self.conn,
            &self.actor,
            Entity::Deal,
            Some(id),
            &[
                "name",
                "customer_id",
                "owner_rep_id",
                "product_id",
                "amount_cents",
                "stage_id",
                "created_on",
                "stage_entered_on",
                "expected_close",
                "closed_on",
                "source",
                "lost_reason",
                "discount_pct",
            ],
            params![
                r.name,
                customer,
                owner,
                product,
                amount_cents,
                stage_id,
                iso(created_on),
                entered,
                r.expected_close.map(iso),
                closed_on.map(iso),
                r.source,
                lost_reason,
                r.discount_pct
            ],
            false,
            &update,
        )?;
        Ok(outcome)
    }

    /// Inserts a new deal with its stage history: the dates the file gives, else inferred
    /// from the deal's own dates and marked so (real history imported later replaces it;
    /// a revert of the insert takes it with the deal). Returns the new id.
    fn insert_deal(
        &mut self,
        r: &DealRecord,
        d: &NewDealRow,
        dated: &[(i64, NaiveDate)],
    ) -> Result<i64> {
        let NewDealRow {
            customer,
            owner,
            product,
            amount_cents,
            stage_id,
            kind,
            created_on,
            closed_on,
            lost_reason,
        } = *d;
        let history = self.infer_history(stage_id, kind, created_on, closed_on, dated)?;
        let entered = history.last().map(|h| h.1).unwrap_or(created_on);
        self.conn
            .prepare_cached(
                "INSERT INTO deals(external_id, name, customer_id, owner_rep_id, product_id, amount_cents,
                   stage_id, created_on, stage_entered_on, expected_close, closed_on, source, lost_reason,
                   discount_pct)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?
            .execute(params![
                r.external_id,
                r.name,
                customer,
                owner,
                product,
                amount_cents,
                stage_id,
                iso(created_on),
                iso(entered),
                r.expected_close.map(iso),
                closed_on.map(iso),
                r.source,
                lost_reason,
                r.discount_pct
            ])?;
        let deal_id = self.conn.last_insert_rowid();
        // A file without stage history: the history is inferred from the deal's
        // dates and marked so (real history imported later replaces it). It is
        // deleted with the deal, so a revert of the insert takes it too.
        let mut from: Option<i64> = None;
        for (stage, on) in &history {
            self.conn
                .prepare_cached(
                    "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on, inferred)
                     VALUES (?1, ?2, ?3, ?4, 1)",
                )?
                .execute(params![deal_id, from, stage, iso(*on)])?;
            from = Some(*stage);
        }
        self.inferred_histories += 1;
        Ok(deal_id)
    }

    pub fn activity(
        &mut self,
        r: &ActivityRecord,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        let customer = match self.customer_id(&r.customer, None)? {
            Ok(c) => c,
            Err(e) => return Ok(Err((customer_field(&r.customer), e))),
        };
        let deal = match self.deal_id(r.deal.as_deref())? {
            Ok(d) => d,
            Err(e) => return Ok(Err(("deal_external_id", e))),
        };
        let rep = match self.rep_id(r.rep.as_deref())? {
            Ok(o) => o,
            Err(e) => return Ok(Err(("rep", e))),
        };
        let existing = self.existing(Entity::Activity, r.external_id.as_deref())?;
        let p = params![
            r.external_id,
            customer,
            deal,
            rep,
            r.kind.as_str(),
            r.subject,
            r.due_on.map(iso),
            r.done_on.map(iso),
            r.outcome
        ];
        let (_, outcome) = self.upsert(
            Entity::Activity,
            existing,
            &[
                "external_id",
                "customer_id",
                "deal_id",
                "rep_id",
                "kind",
                "subject",
                "due_on",
                "done_on",
                "outcome",
            ],
            p,
        )?;
        Ok(Ok(outcome))
    }

    pub fn order(&mut self, r: &OrderRecord) -> Result<Result<Outcome, (&'static str, String)>> {
        let customer = match self.customer_id(&r.customer, None)? {
            Ok(c) => c,
            Err(e) => return Ok(Err((customer_field(&r.customer), e))),
        };
        let deal = match self.deal_id(r.deal.as_deref())? {
            Ok(d) => d,
            Err(e) => return Ok(Err(("deal_external_id", e))),
        };
        let product = match self.product_id(r.product.as_deref())? {
            Ok(p) => p,
            Err(e) => return Ok(Err(("product", e))),
        };
        let by_ext = self.existing(Entity::Order, r.external_id.as_deref())?;
        // A won deal's order is already in the ledger: an order row for that deal updates it.
        let by_deal: Option<i64> = match deal {
            None => None,
            Some(d) => self
                .conn
                .prepare_cached("SELECT id FROM orders WHERE deal_id = ?1")?
                .query_row([d], |row| row.get(0))
                .optional()?,
        };
        let existing = match (by_ext, by_deal) {
            (Some(a), Some(b)) if a != b => {
                return Ok(Err((
                    "deal_external_id",
                    "that deal already has another order in the ledger".into(),
                )))
            }
            (a, b) => a.or(b),
        };
        let cents = match self.amount(r.amount_from_list_price, product, r.quantity, r.amount) {
            Ok(c) => c,
            Err(e) => return Ok(Err(("amount", e))),
        };
        let p = params![
            r.external_id,
            customer,
            deal,
            product,
            iso(r.ordered_on),
            cents,
            r.quantity
        ];
        let (_, outcome) = self.upsert(
            Entity::Order,
            existing,
            &[
                "external_id",
                "customer_id",
                "deal_id",
                "product_id",
                "ordered_on",
                "amount_cents",
                "quantity",
            ],
            p,
        )?;
        Ok(Ok(outcome))
    }

    pub fn target(
        &mut self,
        r: &TargetRecord,
        reason: &str,
    ) -> Result<Result<Outcome, (&'static str, String)>> {
        let (team, rep, key) = match (r.scope, r.name.as_deref()) {
            (TargetScope::Company, _) => (None, None, "company".to_string()),
            (TargetScope::Team, Some(n)) => match self.team_id(n)? {
                Ok(id) => (Some(id), None, format!("team:{id}")),
                Err(e) => return Ok(Err(("name", e))),
            },
            (TargetScope::Rep, Some(n)) => match self.rep_id(Some(n))? {
                Ok(Some(id)) => (None, Some(id), format!("rep:{id}")),
                Ok(None) => return Ok(Err(("name", "required".into()))),
                Err(e) => return Ok(Err(("name", e))),
            },
            (_, None) => return Ok(Err(("name", "required".into()))),
        };
        let period = r.period.to_string();
        let existing: Option<(i64, i64)> = self
            .conn
            .prepare_cached("SELECT id, value FROM targets WHERE scope_key = ?1 AND period = ?2 AND metric = ?3")?
            .query_row(params![key, period, r.metric.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let (id, old, outcome) = match existing {
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO targets(scope, team_id, rep_id, scope_key, period, metric, value)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![r.scope.as_str(), team, rep, key, period, r.metric.as_str(), r.value])?;
                let id = self.conn.last_insert_rowid();
                (id, None, Outcome::Inserted)
            }
            Some((_, old)) if old == r.value => return Ok(Ok(Outcome::Unchanged)),
            Some((id, old)) => {
                let before = audit::row_json(self.conn, Entity::Target, id)?;
                self.conn.execute(
                    "UPDATE targets SET value = ?2 WHERE id = ?1",
                    params![id, r.value],
                )?;
                self.audit_update(Entity::Target, id, before)?;
                (id, Some(old), Outcome::Updated)
            }
        };
        self.conn
            .prepare_cached(
                "INSERT INTO target_revisions(target_id, old_value, new_value, changed_at, changed_by, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![id, old, r.value, self.actor.at, self.actor.os_user, reason])?;
        Ok(Ok(outcome))
    }
}

/// What `Writer::named_id` looks up.
#[derive(Clone, Copy)]
enum Named {
    Rep,
    Team,
    Product,
}

/// Kind and probability for a stage named only in the data: "won"/"lost" in the name
/// decide the kind; an open stage gets 50% until it is configured.
fn infer_stage(name: &str) -> StageDef {
    let lower = name.to_lowercase();
    let kind = if lower.contains("won") || lower == "win" {
        StageKind::Won
    } else if lower.contains("lost") || lower.contains("dead") {
        StageKind::Lost
    } else {
        StageKind::Open
    };
    StageDef {
        name: name.to_string(),
        kind,
        probability: match kind {
            StageKind::Won => 1.0,
            StageKind::Lost => 0.0,
            StageKind::Open => 0.5,
        },
        position: None,
        category: None,
    }
}

/// The field a customer reference came from, for messages.
fn customer_field(r: &CustomerRef) -> &'static str {
    match r {
        CustomerRef::ExternalId(_) => "customer_external_id",
        CustomerRef::Name(_) => "customer",
    }
}

/// The largest id ever handed out in the entity's table (ids are never reused).
fn max_id(conn: &Connection, entity: Entity) -> Result<i64> {
    Ok(crate::store::db::next_id(conn, entity.table())? - 1)
}

/// A new deal's row as resolved from the file (references looked up, dates settled).
#[derive(Clone, Copy)]
struct NewDealRow<'a> {
    customer: i64,
    owner: Option<i64>,
    product: Option<i64>,
    amount_cents: i64,
    stage_id: i64,
    kind: StageKind,
    created_on: NaiveDate,
    closed_on: Option<NaiveDate>,
    lost_reason: Option<&'a str>,
}
