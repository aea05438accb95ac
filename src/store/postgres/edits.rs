//! Forms' writes on PostgreSQL: customers, contacts, deals, activities and the
//! organisation (teams, reps, products, stages), with the same checks and messages as
//! SQLite's (`store::edits`, `store::setup`), each in one SERIALIZABLE transaction that is
//! redone on a serialization failure. A form's row version (its newest audit entry) is
//! checked inside that transaction, so two people saving the same row from two machines
//! never overwrite each other: the second is told the row changed.

use super::store::{audit_pg, PgStore, TxResult};
use crate::domain::audit::{Actor, Entity};
use crate::domain::date::iso;
use crate::domain::records::*;
use crate::domain::setup::{default_category, fixed_probability};
use crate::store::db::{Result, StoreError};
use crate::store::edits::DealFields;
use crate::store::targets::field;
use chrono::NaiveDate;
use postgres::types::ToSql;
use postgres::Transaction;

type Value<'a> = &'a (dyn ToSql + Sync);

/// The placeholder for column `c`: dates and moments are sent as text and cast, 32-bit
/// integer columns as 64-bit and cast (the values are SQLite's types).
fn mark(c: &str, n: usize) -> String {
    match c {
        "created_on" | "stage_entered_on" | "expected_close" | "closed_on" | "hired_on"
        | "due_on" | "done_on" | "ordered_on" | "changed_on" | "made_on" | "day" | "as_of" => {
            format!("${n}::text::date")
        }
        "position" | "contact_every_days" | "quantity" | "horizon" | "k" => {
            format!("${n}::bigint::int")
        }
        "changed_at" | "at" | "created_at" | "computed_at" | "ran_at" | "reverted_at" => {
            format!("${n}::text::timestamptz")
        }
        _ => format!("${n}"),
    }
}

/// Inserts (with the id given, or the next one) or updates one row, audited as SQLite's
/// `write_row` does (an update that changes nothing leaves no entry).
pub(crate) fn write_row(
    tx: &mut Transaction,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    columns: &[&str],
    values: &[Value],
) -> TxResult<i64> {
    write_row_noted(tx, actor, entity, id, (columns, values), None)
}

/// Like [`write_row`], the audit entry carrying `note` (why: an automation rule's name).
pub(crate) fn write_row_noted(
    tx: &mut Transaction,
    actor: &Actor,
    entity: Entity,
    id: Option<i64>,
    (columns, values): (&[&str], &[Value]),
    note: Option<&str>,
) -> TxResult<i64> {
    match id {
        None => {
            let marks: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| mark(c, i + 1))
                .collect();
            let sql = format!(
                "INSERT INTO {}({}) VALUES ({}) RETURNING id",
                entity.table(),
                columns.join(", "),
                marks.join(", ")
            );
            let id: i64 = tx.query_one(&sql, values)?.get(0);
            audit_pg::inserted(tx, actor, entity, id, note)?;
            Ok(id)
        }
        Some(id) => {
            let before = audit_pg::row_json(tx, entity, id)?.ok_or_else(|| {
                StoreError::Invalid(format!("there is no {} {id}", entity.name()))
            })?;
            let sets: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = {}", mark(c, i + 1)))
                .collect();
            let sql = format!(
                "UPDATE {} SET {} WHERE id = ${}",
                entity.table(),
                sets.join(", "),
                columns.len() + 1
            );
            let mut all: Vec<Value> = values.to_vec();
            all.push(&id);
            tx.execute(&sql, &all)?;
            audit_pg::if_changed(tx, actor, entity, id, Some(before), note)?;
            Ok(id)
        }
    }
}

/// Refuses with `Conflict` when the row is no longer at the version the form read (its
/// newest audit entry); the row is locked first so that nothing changes it meanwhile.
fn check_version(
    tx: &mut Transaction,
    entity: Entity,
    id: i64,
    expected: Option<i64>,
) -> TxResult<()> {
    tx.query_opt(
        &format!("SELECT 1 FROM {} WHERE id = $1 FOR UPDATE", entity.table()),
        &[&id],
    )?;
    let Some(v) = expected else { return Ok(()) };
    let now: i64 = tx
        .query_one(
            "SELECT coalesce(max(id), 0) FROM audit_log WHERE entity = $1 AND entity_id = $2",
            &[&entity.name(), &id],
        )?
        .get(0);
    if now != v {
        return Err(StoreError::Conflict {
            entity: entity.name(),
            id,
        }
        .into());
    }
    Ok(())
}

pub(crate) fn rep_by_name(
    tx: &mut Transaction,
    name: Option<&str>,
    at: &'static str,
) -> TxResult<Option<i64>> {
    let Some(name) = name else { return Ok(None) };
    match tx.query_opt(
        "SELECT id FROM reps WHERE funnel_nocase(name) = funnel_nocase($1)",
        &[&name],
    )? {
        Some(r) => Ok(Some(r.get(0))),
        None => Err(field(at, format!("no rep named '{name}'")).into()),
    }
}

/// The id the next row of `table` gets, taken now (SQLite's readable ids name it before
/// the insert; here the sequence hands it out, so two writers never take the same one).
fn next_id(tx: &mut Transaction, table: &str) -> TxResult<i64> {
    Ok(tx
        .query_one(
            "SELECT nextval(pg_get_serial_sequence($1, 'id'))",
            &[&table],
        )?
        .get(0))
}

/// A new row's id and its readable external id (C-000123, D-0005225, K-…, A-…), as
/// SQLite's `readable_id`.
pub(crate) fn readable(tx: &mut Transaction, entity: Entity) -> TxResult<(i64, String)> {
    let (prefix, width) = crate::store::edits::readable_prefix(entity);
    let id = next_id(tx, entity.table())?;
    let base = format!("{prefix}-{id:0width$}");
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE external_id = $1)",
        entity.table()
    );
    let mut candidate = base.clone();
    let mut n = 1;
    while tx.query_one(&sql, &[&candidate])?.get::<_, bool>(0) {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    Ok((id, candidate))
}

/// Refuses a value another row of `table` already has in `column` (any case).
fn unique(
    tx: &mut Transaction,
    (table, column): (&str, &str),
    value: &str,
    id: Option<i64>,
    name: &'static str,
    what: &str,
) -> TxResult<()> {
    let sql = format!(
        "SELECT id FROM {table} WHERE funnel_nocase({column}) = funnel_nocase($1)
           AND id IS DISTINCT FROM $2 LIMIT 1"
    );
    if tx.query_opt(&sql, &[&value, &id])?.is_some() {
        return Err(field(name, format!("another {what} has {column} '{value}'")).into());
    }
    Ok(())
}

/// A team by name (any case) or external id.
fn team_by_name(tx: &mut Transaction, t: &str) -> TxResult<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT id FROM teams WHERE funnel_nocase(name) = funnel_nocase($1) OR external_id = $1
             ORDER BY id LIMIT 1",
            &[&t],
        )?
        .map(|r| r.get(0)))
}

impl PgStore {
    pub fn save_customer(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        r: &CustomerRecord,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = id {
                check_version(tx, Entity::Customer, id, version)?;
            }
            let owner = rep_by_name(tx, r.owner.as_deref(), "owner")?;
            if let Some(ext) = &r.external_id {
                let clash: Option<i64> = tx
                    .query_opt("SELECT id FROM customers WHERE external_id = $1", &[ext])?
                    .map(|r| r.get(0));
                if clash.is_some() && clash != id {
                    return Err(field(
                        "external_id",
                        format!("another customer has external id '{ext}'"),
                    )
                    .into());
                }
            }
            if let Some(row) = tx.query_opt(
                "SELECT id, external_id FROM customers
                 WHERE funnel_nocase(name) = funnel_nocase($1) AND id IS DISTINCT FROM $2 LIMIT 1",
                &[&r.name, &id],
            )? {
                let (other, ext): (i64, Option<String>) = (row.get(0), row.get(1));
                return Err(field(
                    "name",
                    format!(
                        "another customer is named '{}' ({})",
                        r.name,
                        ext.map(|e| format!("external id {e}"))
                            .unwrap_or_else(|| format!("id {other}"))
                    ),
                )
                .into());
            }
            let created: String = match (r.created_on, id) {
                (Some(d), _) => iso(d),
                (None, Some(id)) => tx
                    .query_opt(
                        "SELECT created_on::text FROM customers WHERE id = $1",
                        &[&id],
                    )?
                    .map(|r| r.get(0))
                    .unwrap_or_else(|| iso(today)),
                (None, None) => iso(today),
            };
            let (new_id, external) = match (id, &r.external_id) {
                (None, None) => {
                    let (n, e) = readable(tx, Entity::Customer)?;
                    (Some(n), Some(e))
                }
                (None, Some(_)) => (Some(next_id(tx, "customers")?), r.external_id.clone()),
                (Some(_), _) => (None, r.external_id.clone()),
            };
            let segment = r.segment.map(|s| s.as_str());
            let status = r.status.as_str();
            let mut columns = vec![
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
            ];
            let mut values: Vec<Value> = vec![
                &external,
                &r.name,
                &owner,
                &r.industry,
                &segment,
                &r.region,
                &r.city,
                &r.country,
                &r.email,
                &r.phone,
                &status,
                &r.contact_every_days,
                &created,
            ];
            if let Some(n) = &new_id {
                columns.insert(0, "id");
                values.insert(0, n);
            }
            write_row(tx, actor, Entity::Customer, id, &columns, &values)
        })
    }

    pub fn save_contact(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        customer_id: i64,
        r: &ContactRecord,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            let id = match id {
                Some(id) => {
                    check_version(tx, Entity::Contact, id, version)?;
                    write_row(
                        tx,
                        actor,
                        Entity::Contact,
                        Some(id),
                        &[
                            "customer_id",
                            "name",
                            "title",
                            "email",
                            "phone",
                            "is_primary",
                        ],
                        &[
                            &customer_id,
                            &r.name,
                            &r.title,
                            &r.email,
                            &r.phone,
                            &r.is_primary,
                        ],
                    )?
                }
                None => {
                    let (n, ext) = readable(tx, Entity::Contact)?;
                    write_row(
                        tx,
                        actor,
                        Entity::Contact,
                        None,
                        &[
                            "id",
                            "external_id",
                            "customer_id",
                            "name",
                            "title",
                            "email",
                            "phone",
                            "is_primary",
                        ],
                        &[
                            &n,
                            &ext,
                            &customer_id,
                            &r.name,
                            &r.title,
                            &r.email,
                            &r.phone,
                            &r.is_primary,
                        ],
                    )?
                }
            };
            if r.is_primary {
                let others: Vec<i64> = tx
                    .query(
                        "SELECT id FROM contacts WHERE customer_id = $1 AND is_primary AND id <> $2
                         ORDER BY id",
                        &[&customer_id, &id],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for other in others {
                    let before = audit_pg::row_json(tx, Entity::Contact, other)?;
                    tx.execute(
                        "UPDATE contacts SET is_primary = FALSE WHERE id = $1",
                        &[&other],
                    )?;
                    audit_pg::if_changed(tx, actor, Entity::Contact, other, before, None)?;
                }
            }
            Ok(id)
        })
    }

    pub fn log_activity(
        &self,
        customer_id: i64,
        r: &ActivityRecord,
        follow_up: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()> {
        self.write(|tx| {
            let rep = rep_by_name(tx, r.rep.as_deref(), "rep")?;
            let deal: Option<i64> = match r.deal.as_deref() {
                None => None,
                Some(text) => {
                    let ids: Vec<i64> = tx
                        .query(
                            "SELECT id FROM deals WHERE customer_id = $1 AND external_id = $2
                             UNION SELECT id FROM deals WHERE customer_id = $1
                               AND funnel_nocase(name) = funnel_nocase($2)",
                            &[&customer_id, &text.trim()],
                        )?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    match ids.as_slice() {
                        [one] => Some(*one),
                        [] => {
                            return Err(
                                field("deal", format!("this customer has no deal '{text}'")).into()
                            )
                        }
                        _ => {
                            return Err(field(
                                "deal",
                                format!(
                                    "this customer has several deals called '{text}': give the external id"
                                ),
                            )
                            .into())
                        }
                    }
                }
            };
            let columns = [
                "id",
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
            let (n, ext) = readable(tx, Entity::Activity)?;
            let (due, done) = (r.due_on.map(iso), r.done_on.map(iso));
            write_row(
                tx,
                actor,
                Entity::Activity,
                None,
                &columns,
                &[
                    &n,
                    &ext,
                    &customer_id,
                    &deal,
                    &rep,
                    &r.kind.as_str(),
                    &r.subject,
                    &due,
                    &done,
                    &r.outcome,
                ],
            )?;
            if let Some(due) = follow_up {
                let subject = format!("Follow up: {}", r.subject.clone().unwrap_or_default());
                let (n, ext) = readable(tx, Entity::Activity)?;
                write_row(
                    tx,
                    actor,
                    Entity::Activity,
                    None,
                    &columns,
                    &[
                        &n,
                        &ext,
                        &customer_id,
                        &deal,
                        &rep,
                        &"call",
                        &subject.trim_end_matches(": "),
                        &iso(due),
                        &None::<String>,
                        &None::<String>,
                    ],
                )?;
            }
            Ok(())
        })
    }

    pub fn save_deal(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        f: &DealFields,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            let owner = rep_by_name(tx, f.owner.as_deref(), "owner")?;
            let expected = f.expected_close.map(iso);
            let cents = f.amount.cents();
            if let Some(id) = id {
                check_version(tx, Entity::Deal, id, version)?;
                let row = tx
                    .query_opt(
                        "SELECT s.kind, d.customer_id, d.product_id, d.closed_on::text FROM deals d
                         JOIN stages s ON s.id = d.stage_id WHERE d.id = $1",
                        &[&id],
                    )?
                    .ok_or_else(|| StoreError::Invalid(format!("there is no deal {id}")))?;
                let (kind, customer, product, closed): (String, i64, Option<i64>, Option<String>) =
                    (row.get(0), row.get(1), row.get(2), row.get(3));
                write_row(
                    tx,
                    actor,
                    Entity::Deal,
                    Some(id),
                    &["name", "owner_rep_id", "amount_cents", "expected_close"],
                    &[&f.name, &owner, &cents, &expected],
                )?;
                // A won deal's order follows its amount.
                if kind == "won" {
                    let order: Option<i64> = tx
                        .query_opt("SELECT id FROM orders WHERE deal_id = $1", &[&id])?
                        .map(|r| r.get(0));
                    match (order, closed) {
                        (Some(o), Some(on)) => {
                            let before = audit_pg::row_json(tx, Entity::Order, o)?;
                            tx.execute(
                                "UPDATE orders SET customer_id = $2, product_id = $3,
                                   ordered_on = $4::text::date, amount_cents = $5 WHERE id = $1",
                                &[&o, &customer, &product, &on, &cents],
                            )?;
                            audit_pg::if_changed(tx, actor, Entity::Order, o, before, None)?;
                        }
                        (None, Some(on)) => {
                            let o: i64 = tx
                                .query_one(
                                    "INSERT INTO orders(customer_id, deal_id, product_id, ordered_on, amount_cents)
                                     VALUES ($1, $2, $3, $4::text::date, $5) RETURNING id",
                                    &[&customer, &id, &product, &on, &cents],
                                )?
                                .get(0);
                            audit_pg::inserted(tx, actor, Entity::Order, o, None)?;
                        }
                        _ => {}
                    }
                }
                return Ok(id);
            }
            let who = f.customer.as_deref().unwrap_or_default();
            let customers: Vec<i64> = tx
                .query(
                    "SELECT id FROM customers
                     WHERE external_id = $1 OR funnel_nocase(name) = funnel_nocase($1) LIMIT 2",
                    &[&who],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let customer = match customers.as_slice() {
                [one] => *one,
                [] => {
                    return Err(field(
                        "customer",
                        format!("no customer named '{who}' (or with that external id)"),
                    )
                    .into())
                }
                _ => {
                    return Err(field(
                        "customer",
                        format!("several customers are named '{who}': use the external id"),
                    )
                    .into())
                }
            };
            let stage_name = f.stage.as_deref().unwrap_or_default();
            let stage = match tx.query_opt(
                "SELECT id, kind FROM stages WHERE funnel_nocase(name) = funnel_nocase($1)",
                &[&stage_name],
            )? {
                Some(r) if r.get::<_, String>(1) == "open" => r.get::<_, i64>(0),
                Some(_) => return Err(field("stage", "a new deal starts in an open stage").into()),
                None => {
                    return Err(field("stage", format!("no stage named '{stage_name}'")).into())
                }
            };
            let product: Option<i64> = match f.product.as_deref() {
                None => None,
                Some(p) => Some(
                    tx.query_opt(
                        "SELECT id FROM products
                         WHERE sku = $1 OR funnel_nocase(name) = funnel_nocase($1)
                         ORDER BY sku = $1 DESC LIMIT 1",
                        &[&p],
                    )?
                    .map(|r| r.get::<_, i64>(0))
                    .ok_or_else(|| {
                        field("product", format!("no product named '{p}' (or with that SKU)"))
                    })?,
                ),
            };
            let day = iso(today);
            let (n, ext) = readable(tx, Entity::Deal)?;
            let id = write_row(
                tx,
                actor,
                Entity::Deal,
                None,
                &[
                    "id",
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
                &[
                    &n, &ext, &f.name, &customer, &owner, &cents, &stage, &day, &day, &expected,
                    &product,
                ],
            )?;
            write_row(
                tx,
                actor,
                Entity::StageChange,
                None,
                &["deal_id", "from_stage_id", "to_stage_id", "changed_on"],
                &[&id, &None::<i64>, &stage, &day],
            )?;
            Ok(id)
        })
    }

    pub fn save_team(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        r: &TeamRecord,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = id {
                check_version(tx, Entity::Team, id, version)?;
            }
            unique(tx, ("teams", "name"), &r.name, id, "name", "team")?;
            if let Some(e) = &r.external_id {
                unique(tx, ("teams", "external_id"), e, id, "external_id", "team")?;
            }
            let parent = match r.parent.as_deref() {
                None => None,
                Some(p) => {
                    let Some(pid) = team_by_name(tx, p)? else {
                        return Err(field("parent", format!("no team named '{p}'")).into());
                    };
                    if let Some(me) = id {
                        // Walk up from the new parent: reaching this team would be a cycle.
                        let mut at = Some(pid);
                        let mut steps = 0;
                        while let Some(x) = at {
                            steps += 1;
                            if x == me || steps > 10_000 {
                                return Err(field(
                                    "parent",
                                    format!("'{p}' is this team or one of its sub-teams: that would make a cycle"),
                                )
                                .into());
                            }
                            at = tx
                                .query_opt("SELECT parent_id FROM teams WHERE id = $1", &[&x])?
                                .and_then(|r| r.get(0));
                        }
                    }
                    Some(pid)
                }
            };
            write_row(
                tx,
                actor,
                Entity::Team,
                id,
                &["external_id", "name", "parent_id"],
                &[&r.external_id, &r.name, &parent],
            )
        })
    }

    pub fn save_rep(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        r: &RepRecord,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = id {
                check_version(tx, Entity::Rep, id, version)?;
            }
            unique(tx, ("reps", "name"), &r.name, id, "name", "rep")?;
            if let Some(e) = &r.external_id {
                unique(tx, ("reps", "external_id"), e, id, "external_id", "rep")?;
            }
            let team = match r.team.as_deref() {
                None => None,
                Some(t) => Some(
                    team_by_name(tx, t)?
                        .ok_or_else(|| field("team", format!("no team named '{t}'")))?,
                ),
            };
            let hired = r.hired_on.map(iso);
            let capacity = r.capacity.unwrap_or(1.0);
            let active = r.active.unwrap_or(true);
            write_row(
                tx,
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
                    &r.external_id,
                    &r.name,
                    &r.email,
                    &team,
                    &capacity,
                    &hired,
                    &active,
                ],
            )
        })
    }

    pub fn save_product(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        r: &ProductRecord,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = id {
                check_version(tx, Entity::Product, id, version)?;
            }
            unique(tx, ("products", "sku"), &r.sku, id, "sku", "product")?;
            let name = r.name.clone().unwrap_or_else(|| r.sku.clone());
            let price = r.list_price.map(|p| p.cents()).unwrap_or(0);
            write_row(
                tx,
                actor,
                Entity::Product,
                id,
                &["sku", "name", "family", "list_price_cents"],
                &[&r.sku, &name, &r.family, &price],
            )
        })
    }

    pub fn save_stage(
        &self,
        id: Option<i64>,
        version: Option<i64>,
        r: &StageRecord,
        actor: &Actor,
    ) -> Result<i64> {
        self.write(|tx| {
            if let Some(id) = id {
                check_version(tx, Entity::Stage, id, version)?;
            }
            unique(tx, ("stages", "name"), &r.name, id, "name", "stage")?;
            if let Some(me) = id {
                let row = tx
                    .query_opt(
                        "SELECT kind, (SELECT count(*) FROM deals WHERE stage_id = $1)
                         FROM stages WHERE id = $1",
                        &[&me],
                    )?
                    .ok_or_else(|| StoreError::Invalid(format!("there is no stage {me}")))?;
                let (kind, deals): (String, i64) = (row.get(0), row.get(1));
                if kind != r.kind.as_str() && deals > 0 {
                    return Err(field(
                        "kind",
                        format!("{deals} deals are in this {kind} stage: move them before changing its kind"),
                    )
                    .into());
                }
            }
            let probability = match (fixed_probability(r.kind), r.probability) {
                (Some(fixed), Some(p)) if p != fixed => {
                    return Err(field(
                        "probability",
                        format!("a {} stage has probability {fixed}", r.kind),
                    )
                    .into())
                }
                (Some(fixed), _) => fixed,
                (None, Some(p)) => p,
                (None, None) => {
                    return Err(field(
                        "probability",
                        "an open stage needs its win probability (0 to 1, or a percentage)",
                    )
                    .into())
                }
            };
            let position: i64 = match (r.position, id) {
                (Some(p), _) => p,
                (None, Some(me)) => tx
                    .query_one("SELECT position::bigint FROM stages WHERE id = $1", &[&me])?
                    .get(0),
                (None, None) => tx
                    .query_one("SELECT coalesce(max(position), 0)::bigint + 1 FROM stages", &[])?
                    .get(0),
            };
            let category = r.category.unwrap_or_else(|| default_category(r.kind));
            write_row(
                tx,
                actor,
                Entity::Stage,
                id,
                &["name", "kind", "probability", "position", "forecast_category"],
                &[&r.name, &r.kind.as_str(), &probability, &position, &category.as_str()],
            )
        })
    }
}
