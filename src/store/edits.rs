//! Single-row edits from the screens: customers, contacts, activities and deals. Each is
//! one transaction with its audit entry (before and after).

use super::audit::{self, Action, Actor, Entity};
use super::db::{Result, Store, StoreError};
use super::ledger::{self, DealForLedger};
use crate::domain::date::iso;
use crate::domain::records::{ActivityRecord, ContactRecord, CustomerRecord};
use crate::domain::{Money, StageKind};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

/// A problem with one field of a form, for showing next to it.
fn field(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Field {
        field,
        reason: reason.into(),
    }
}

fn rep_by_name(
    conn: &Connection,
    name: Option<&str>,
    field_name: &'static str,
) -> Result<Option<i64>> {
    let Some(name) = name else { return Ok(None) };
    conn.query_row(
        "SELECT id FROM reps WHERE name = ?1 COLLATE NOCASE",
        [name],
        |r| r.get(0),
    )
    .optional()?
    .map(Some)
    .ok_or_else(|| field(field_name, format!("no rep named '{name}'")))
}

/// What writing a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

/// Inserts (id `None`) or updates one row, binding `columns` to `values` in order. Updates
/// are audited with before and after (no entry when nothing changed); inserts too when
/// `audit_insert` (an import audits its inserts as one id range instead).
pub fn write_row(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    columns: &[&str],
    values: &[&dyn rusqlite::ToSql],
    audit_insert: bool,
) -> Result<(i64, Outcome)> {
    write_row_keeping(
        conn,
        actor,
        entity,
        id,
        columns,
        values,
        audit_insert,
        &|_| true,
    )
}

/// Like [`write_row`], but an update sets only the columns `update` says yes to (the ones
/// an import's file gives); the others keep their stored values. An insert sets them all.
#[allow(clippy::too_many_arguments)]
pub fn write_row_keeping(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    columns: &[&str],
    values: &[&dyn rusqlite::ToSql],
    audit_insert: bool,
    update: &dyn Fn(&str) -> bool,
) -> Result<(i64, Outcome)> {
    write_row_noted(
        conn,
        actor,
        entity,
        id,
        (columns, values),
        audit_insert,
        update,
        None,
    )
}

/// Inserts or updates one row (as [`write_row`], inserts audited), the audit entry
/// carrying `note` — why the row was written (an automation rule's name).
pub(super) fn write_noted(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    columns: &[&str],
    values: &[&dyn rusqlite::ToSql],
    note: &str,
) -> Result<i64> {
    Ok(write_row_noted(
        conn,
        actor,
        entity,
        id,
        (columns, values),
        true,
        &|_| true,
        Some(note),
    )?
    .0)
}

#[allow(clippy::too_many_arguments)]
fn write_row_noted(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    (columns, values): (&[&str], &[&dyn rusqlite::ToSql]),
    audit_insert: bool,
    update: &dyn Fn(&str) -> bool,
    note: Option<&str>,
) -> Result<(i64, Outcome)> {
    match id {
        None => {
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let sql = format!(
                "INSERT INTO {}({}) VALUES ({})",
                entity.table(),
                columns.join(", "),
                marks.join(", ")
            );
            conn.prepare_cached(&sql)?.execute(values)?;
            let id = conn.last_insert_rowid();
            if audit_insert {
                let after = audit::row_json(conn, entity, id)?;
                audit::record(
                    conn,
                    actor,
                    Action::Insert,
                    entity,
                    id,
                    None,
                    after.as_deref(),
                    note,
                )?;
            }
            Ok((id, Outcome::Inserted))
        }
        Some(id) => {
            let before = audit::row_json(conn, entity, id)?.ok_or_else(|| {
                StoreError::Invalid(format!("there is no {} {id}", entity.name()))
            })?;
            let (columns, values): (Vec<&str>, Vec<&dyn rusqlite::ToSql>) = columns
                .iter()
                .zip(values)
                .filter(|(c, _)| update(c))
                .map(|(c, v)| (*c, *v))
                .unzip();
            if columns.is_empty() {
                return Ok((id, Outcome::Unchanged));
            }
            let sets: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ?{}", i + 1))
                .collect();
            let sql = format!(
                "UPDATE {} SET {} WHERE id = ?{}",
                entity.table(),
                sets.join(", "),
                columns.len() + 1
            );
            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
            all.push(&id);
            conn.prepare_cached(&sql)?.execute(all.as_slice())?;
            let changed =
                audit::record_if_changed_noted(conn, actor, entity, id, Some(before), note)?;
            Ok((
                id,
                if changed {
                    Outcome::Updated
                } else {
                    Outcome::Unchanged
                },
            ))
        }
    }
}

/// Writes a customer row (insert when `id` is `None`). An update that gives no creation
/// date keeps the stored one. Shared by imports and the customer form.
#[allow(clippy::too_many_arguments)]
pub fn write_customer(
    conn: &Connection,
    actor: &Actor,
    id: Option<i64>,
    r: &CustomerRecord,
    owner_rep_id: Option<i64>,
    today: NaiveDate,
    audit_insert: bool,
    update: &dyn Fn(&str) -> bool,
) -> Result<(i64, Outcome)> {
    let created: String = match (r.created_on, id) {
        (Some(d), _) => iso(d),
        (None, Some(id)) => conn
            .prepare_cached("SELECT created_on FROM customers WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?
            .unwrap_or_else(|| iso(today)),
        (None, None) => iso(today),
    };
    write_row_keeping(
        conn,
        actor,
        Entity::Customer,
        id,
        &[
            "external_id",
            "name",
            "owner_rep_id",
            "industry",
            "segment",
            "region",
            "city",
            "country",
            "email",
            "phone",
            "status",
            "contact_every_days",
            "created_on",
        ],
        params![
            r.external_id,
            r.name,
            owner_rep_id,
            r.industry,
            r.segment.map(|s| s.as_str()),
            r.region,
            r.city,
            r.country,
            r.email,
            r.phone,
            r.status.as_str(),
            r.contact_every_days,
            created
        ],
        audit_insert,
        update,
    )
}

/// A screen's edit: every write audited.
/// A customer has one primary contact: when `keep` becomes it, the others stop being it
/// (each change audited).
pub(crate) fn demote_other_primaries(
    conn: &Connection,
    actor: &Actor,
    customer_id: i64,
    keep: i64,
) -> Result<()> {
    let others: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM contacts WHERE customer_id = ?1 AND is_primary = 1 AND id <> ?2",
        )?
        .query_map(params![customer_id, keep], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in others {
        let before = audit::row_json(conn, Entity::Contact, id)?;
        conn.execute("UPDATE contacts SET is_primary = 0 WHERE id = ?1", [id])?;
        audit::record_if_changed(conn, actor, Entity::Contact, id, before)?;
    }
    Ok(())
}

fn write_one(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    columns: &[&str],
    values: &[&dyn rusqlite::ToSql],
) -> Result<i64> {
    Ok(write_row(conn, actor, entity, id, columns, values, true)?.0)
}

/// One of the customer's deals by external id or name (any case); none or several is an
/// error at the field `deal`.
fn customer_deal(conn: &Connection, customer_id: i64, text: &str) -> Result<i64> {
    let ids: Vec<i64> = conn
        .prepare(
            "SELECT id FROM deals WHERE customer_id = ?1 AND external_id = ?2
             UNION SELECT id FROM deals WHERE customer_id = ?1 AND name = ?2 COLLATE NOCASE",
        )?
        .query_map(params![customer_id, text.trim()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    match ids.as_slice() {
        [one] => Ok(*one),
        [] => Err(field("deal", format!("this customer has no deal '{text}'"))),
        _ => Err(field(
            "deal",
            format!("this customer has several deals called '{text}': give the external id"),
        )),
    }
}

/// Updates columns of activity `id`, audited (the agenda's complete, snooze, reassign).
pub(super) fn write_activity(
    conn: &Connection,
    actor: &Actor,
    id: i64,
    columns: &[&str],
    values: &[&dyn rusqlite::ToSql],
) -> Result<()> {
    write_one(conn, actor, Entity::Activity, Some(id), columns, values).map(|_| ())
}

/// A rep's id by name (any case); an unknown name is an error at the field `rep`.
pub(super) fn rep_id(conn: &Connection, name: &str) -> Result<i64> {
    Ok(rep_by_name(conn, Some(name), "rep")?.unwrap_or_default())
}

/// What a deal form edits.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFields {
    pub name: String,
    /// Customer by name or external id (new deals only).
    pub customer: Option<String>,
    pub owner: Option<String>,
    pub amount: Money,
    pub expected_close: Option<NaiveDate>,
    /// Stage by name (new deals only; an open stage).
    pub stage: Option<String>,
    /// Product by name or SKU (new deals only).
    pub product: Option<String>,
}

impl Store {
    /// Saves a customer form: a new customer, or customer `id` if it is still at the
    /// `version` the form read (else `StoreError::Conflict`).
    pub fn save_customer(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &CustomerRecord,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            audit::check_version(&tx, Entity::Customer, id, version)?;
        }
        let owner = rep_by_name(&tx, r.owner.as_deref(), "owner")?;
        if let Some(ext) = &r.external_id {
            let clash: Option<i64> = tx
                .query_row(
                    "SELECT id FROM customers WHERE external_id = ?1",
                    [ext],
                    |row| row.get(0),
                )
                .optional()?;
            if clash.is_some() && clash != id {
                return Err(field(
                    "external_id",
                    format!("another customer has external id '{ext}'"),
                ));
            }
        }
        let same_name: Option<(i64, Option<String>)> = tx
            .query_row(
                "SELECT id, external_id FROM customers WHERE name = ?1 COLLATE NOCASE AND id IS NOT ?2 LIMIT 1",
                params![r.name, id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((other, ext)) = same_name {
            return Err(field(
                "name",
                format!(
                    "another customer is named '{}' ({})",
                    r.name,
                    ext.map(|e| format!("external id {e}"))
                        .unwrap_or_else(|| format!("id {other}"))
                ),
            ));
        }
        let mut r = std::borrow::Cow::Borrowed(r);
        if id.is_none() && r.external_id.is_none() {
            r.to_mut().external_id = Some(readable_id(&tx, Entity::Customer)?);
        }
        // The form shows every field: what it holds is written.
        let (id, _) = write_customer(&tx, actor, id, &r, owner, today, true, &|_| true)?;
        tx.commit()?;
        Ok(id)
    }

    /// Saves a contact form (see `save_customer` for `version`).
    pub fn save_contact(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        customer_id: i64,
        r: &ContactRecord,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            audit::check_version(&tx, Entity::Contact, id, version)?;
        }
        let id = match id {
            Some(id) => write_one(
                &tx,
                actor,
                Entity::Contact,
                Some(id),
                &CONTACT_COLUMNS[1..],
                params![customer_id, r.name, r.title, r.email, r.phone, r.is_primary],
            )?,
            None => write_one(
                &tx,
                actor,
                Entity::Contact,
                None,
                &CONTACT_COLUMNS,
                params![
                    readable_id(&tx, Entity::Contact)?,
                    customer_id,
                    r.name,
                    r.title,
                    r.email,
                    r.phone,
                    r.is_primary
                ],
            )?,
        };
        if r.is_primary {
            demote_other_primaries(&tx, actor, customer_id, id)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Logs an activity; with `follow_up`, also schedules a call due that day.
    pub fn log_activity(
        &mut self,
        customer_id: i64,
        r: &ActivityRecord,
        follow_up: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()> {
        let tx = self.begin()?;
        let rep = rep_by_name(&tx, r.rep.as_deref(), "rep")?;
        let deal = match r.deal.as_deref() {
            Some(d) => Some(customer_deal(&tx, customer_id, d)?),
            None => None,
        };
        let columns = [
            "external_id",
            "customer_id",
            "deal_id",
            "rep_id",
            "kind",
            "subject",
            "due_on",
            "done_on",
            "outcome",
        ];
        write_one(
            &tx,
            actor,
            Entity::Activity,
            None,
            &columns,
            params![
                readable_id(&tx, Entity::Activity)?,
                customer_id,
                deal,
                rep,
                r.kind.as_str(),
                r.subject,
                r.due_on.map(iso),
                r.done_on.map(iso),
                r.outcome
            ],
        )?;
        if let Some(due) = follow_up {
            let subject = format!("Follow up: {}", r.subject.clone().unwrap_or_default());
            write_one(
                &tx,
                actor,
                Entity::Activity,
                None,
                &columns,
                params![
                    readable_id(&tx, Entity::Activity)?,
                    customer_id,
                    deal,
                    rep,
                    "call",
                    subject.trim_end_matches(": "),
                    iso(due),
                    None::<String>,
                    None::<String>
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds an open deal (id `None`) or edits a deal's name, owner, amount and expected
    /// close; a won deal's order follows its amount.
    /// Saves a deal form (see `save_customer` for `version`).
    pub fn save_deal(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        f: &DealFields,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        let tx = self.begin()?;
        if let Some(id) = id {
            audit::check_version(&tx, Entity::Deal, id, version)?;
        }
        let owner = rep_by_name(&tx, f.owner.as_deref(), "owner")?;
        let id = match id {
            Some(id) => {
                let (kind, customer, product, closed): (String, i64, Option<i64>, Option<String>) =
                    tx.query_row(
                        "SELECT s.kind, d.customer_id, d.product_id, d.closed_on FROM deals d
                         JOIN stages s ON s.id = d.stage_id WHERE d.id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()?
                    .ok_or_else(|| StoreError::Invalid(format!("there is no deal {id}")))?;
                write_one(
                    &tx,
                    actor,
                    Entity::Deal,
                    Some(id),
                    &["name", "owner_rep_id", "amount_cents", "expected_close"],
                    params![f.name, owner, f.amount.cents(), f.expected_close.map(iso)],
                )?;
                let kind: StageKind = kind.parse().unwrap_or(StageKind::Open);
                ledger::sync_order(
                    &tx,
                    actor,
                    &DealForLedger {
                        deal_id: id,
                        is_new: false,
                        kind,
                        customer_id: customer,
                        product_id: product,
                        closed_on: closed
                            .and_then(|c| NaiveDate::parse_from_str(&c, "%Y-%m-%d").ok()),
                        cents: f.amount.cents(),
                    },
                    true,
                )?;
                id
            }
            None => {
                let who = f.customer.as_deref().unwrap_or_default();
                let customers: Vec<i64> = tx
                    .prepare("SELECT id FROM customers WHERE external_id = ?1 OR name = ?1 COLLATE NOCASE LIMIT 2")?
                    .query_map([who], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let customer = match customers.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(field(
                            "customer",
                            format!("no customer named '{who}' (or with that external id)"),
                        ))
                    }
                    _ => {
                        return Err(field(
                            "customer",
                            format!("several customers are named '{who}': use the external id"),
                        ))
                    }
                };
                let stage_name = f.stage.as_deref().unwrap_or_default();
                let stage: Option<(i64, String)> = tx
                    .query_row(
                        "SELECT id, kind FROM stages WHERE name = ?1 COLLATE NOCASE",
                        [stage_name],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let stage = match stage {
                    Some((id, k)) if k == "open" => id,
                    Some(_) => return Err(field("stage", "a new deal starts in an open stage")),
                    None => return Err(field("stage", format!("no stage named '{stage_name}'"))),
                };
                let product: Option<i64> = match f.product.as_deref() {
                    None => None,
                    Some(p) => Some(
                        tx.query_row(
                            "SELECT id FROM products WHERE sku = ?1 OR name = ?1 COLLATE NOCASE ORDER BY sku = ?1 DESC LIMIT 1",
                            [p],
                            |r| r.get(0),
                        )
                        .optional()?
                        .ok_or_else(|| field("product", format!("no product named '{p}' (or with that SKU)")))?,
                    ),
                };
                let day = iso(today);
                let id = write_one(
                    &tx,
                    actor,
                    Entity::Deal,
                    None,
                    &[
                        "external_id",
                        "name",
                        "customer_id",
                        "owner_rep_id",
                        "amount_cents",
                        "stage_id",
                        "created_on",
                        "stage_entered_on",
                        "expected_close",
                        "product_id",
                    ],
                    params![
                        readable_id(&tx, Entity::Deal)?,
                        f.name,
                        customer,
                        owner,
                        f.amount.cents(),
                        stage,
                        day,
                        day,
                        f.expected_close.map(iso),
                        product
                    ],
                )?;
                write_one(
                    &tx,
                    actor,
                    Entity::StageChange,
                    None,
                    &["deal_id", "from_stage_id", "to_stage_id", "changed_on"],
                    params![id, None::<i64>, stage, day],
                )?;
                id
            }
        };
        tx.commit()?;
        Ok(id)
    }
}

/// A contact's columns as imports and the form write them (the form keeps the external id).
pub const CONTACT_COLUMNS: [&str; 7] = [
    "external_id",
    "customer_id",
    "name",
    "title",
    "email",
    "phone",
    "is_primary",
];

/// The prefix and digits of a readable external id (C-000123, D-0005225, K-…, A-…).
pub(crate) fn readable_prefix(entity: Entity) -> (&'static str, usize) {
    match entity {
        Entity::Customer => ("C", 6),
        Entity::Contact => ("K", 6),
        Entity::Deal => ("D", 7),
        Entity::Activity => ("A", 7),
        _ => ("R", 6),
    }
}

/// A readable external id for a record made on screen (C-000123, D-0005225, K-…, A-…):
/// the prefix and the id the row is about to get, so that an export re-imports it as an
/// update. If an imported row already holds that text, a suffix keeps it unique.
pub(super) fn readable_id(conn: &Connection, entity: Entity) -> Result<String> {
    let (prefix, width) = readable_prefix(entity);
    let next = crate::store::db::next_id(conn, entity.table())?;
    let base = format!("{prefix}-{next:0width$}");
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE external_id = ?1)",
        entity.table()
    );
    let mut candidate = base.clone();
    let mut n = 1;
    while conn.query_row(&sql, [&candidate], |r| r.get::<_, bool>(0))? {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    Ok(candidate)
}
