//! Deleting a customer, contact, deal or activity, and merging two customers. Each is one
//! transaction; every row it deletes or changes is audited with its before image, so `u`
//! on the screens (or the audit trail by hand) can put it back. A row the revenue ledger
//! depends on (a customer or deal with orders) is refused unless forced.

use super::audit::{self, Actor, Entity};
use super::db::{Result, Store, StoreError};
use crate::domain::Money;
use rusqlite::{params, Connection, OptionalExtension};

/// What deleting a row takes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalPlan {
    pub entity: Entity,
    pub id: i64,
    /// The row as a person knows it: "customer Acme Ltd (C-000012)".
    pub label: String,
    /// Rows that belong to it and go with it: (table, count).
    pub with: Vec<(&'static str, i64)>,
    /// Orders in the revenue ledger that depend on it, and their total: deleting takes
    /// that revenue out of targets, forecasts and reports.
    pub ledger: Option<(i64, Money)>,
}

impl RemovalPlan {
    /// "customer Acme Ltd (C-000012) with 2 contacts, 3 deals, 1 stage_changes".
    pub fn describe(&self) -> String {
        let mut s = self.label.clone();
        if !self.with.is_empty() {
            let parts: Vec<String> = self.with.iter().map(|(t, n)| count_of(*n, t)).collect();
            s.push_str(&format!(" with its {}", parts.join(", ")));
        }
        s
    }

    /// Why the delete needs forcing, if it does.
    pub fn ledger_warning(&self) -> Option<String> {
        self.ledger.map(|(n, total)| {
            format!(
                "the revenue ledger holds {n} order{} ({total}) of this {}: deleting takes that \
                 revenue out of targets, forecasts and reports",
                if n == 1 { "" } else { "s" },
                self.entity.name()
            )
        })
    }
}

/// "1 contact", "3 stage changes": a count of a table's rows in words.
pub fn count_of(n: i64, table: &str) -> String {
    let plural = table.replace('_', " ");
    if n != 1 {
        return format!("{n} {plural}");
    }
    let one = match plural.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => plural.strip_suffix('s').unwrap_or(&plural).to_string(),
    };
    format!("1 {one}")
}

/// What merging two customers did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MergeOutcome {
    pub kept: String,
    pub removed: String,
    /// Rows moved to the kept customer: (table, count).
    pub moved: Vec<(&'static str, i64)>,
    /// Fields of the kept customer that were empty and took the other's value.
    pub filled: Vec<&'static str>,
}

pub(crate) const REMOVABLE: [Entity; 4] = [
    Entity::Customer,
    Entity::Contact,
    Entity::Deal,
    Entity::Activity,
];

fn label(conn: &Connection, entity: Entity, id: i64) -> Result<Option<String>> {
    let sql = match entity {
        Entity::Customer => {
            "SELECT 'customer ' || name || coalesce(' (' || external_id || ')', '') FROM customers WHERE id = ?1"
        }
        Entity::Contact => {
            "SELECT 'contact ' || k.name || ' of ' || c.name FROM contacts k JOIN customers c ON c.id = k.customer_id WHERE k.id = ?1"
        }
        Entity::Deal => {
            "SELECT 'deal ' || name || coalesce(' (' || external_id || ')', '') FROM deals WHERE id = ?1"
        }
        Entity::Activity => {
            r#"SELECT a.kind || ' ' || coalesce(a.done_on, 'due ' || a.due_on, '') || coalesce(' "' || a.subject || '"', '') || ' with ' || c.name
             FROM activities a JOIN customers c ON c.id = a.customer_id WHERE a.id = ?1"#
        }
        other => {
            return Err(StoreError::Invalid(format!(
                "a {} is not deleted this way",
                other.name()
            )))
        }
    };
    Ok(conn
        .query_row(sql, [id], |r| r.get::<_, String>(0))
        .optional()?)
}

fn plan(conn: &Connection, entity: Entity, id: i64) -> Result<RemovalPlan> {
    if !REMOVABLE.contains(&entity) {
        return Err(StoreError::Invalid(format!(
            "a {} cannot be deleted here",
            entity.name()
        )));
    }
    let label = label(conn, entity, id)?
        .ok_or_else(|| StoreError::Invalid(format!("there is no {} {id}", entity.name())))?;
    let ledger_column = match entity {
        Entity::Customer => Some("customer_id"),
        Entity::Deal => Some("deal_id"),
        _ => None,
    };
    let ledger = match ledger_column {
        Some(col) => {
            let (n, cents): (i64, i64) = conn.query_row(
                &format!(
                    "SELECT count(*), coalesce(sum(amount_cents), 0) FROM orders WHERE {col} = ?1"
                ),
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            (n > 0).then_some((n, Money(cents)))
        }
        None => None,
    };
    Ok(RemovalPlan {
        entity,
        id,
        label,
        with: audit::owned_counts(conn, entity, id)?,
        ledger,
    })
}

/// The customer columns a merge fills on the kept customer when it has none.
pub(crate) const FILLABLE: [&str; 9] = [
    "owner_rep_id",
    "industry",
    "segment",
    "region",
    "city",
    "country",
    "email",
    "phone",
    "contact_every_days",
];

impl Store {
    /// What deleting row `id` of `entity` (customer, contact, deal or activity) would take
    /// with it. Reads only.
    pub fn removal_plan(&self, entity: Entity, id: i64) -> Result<RemovalPlan> {
        plan(&self.conn, entity, id)
    }

    /// Deletes the row and what belongs to it (see `RemovalPlan`), refusing a row the
    /// revenue ledger depends on unless `force`. Returns the plan it carried out.
    pub fn remove(
        &mut self,
        entity: Entity,
        id: i64,
        force: bool,
        actor: &Actor,
    ) -> Result<RemovalPlan> {
        let tx = self.begin()?;
        let p = plan(&tx, entity, id)?;
        if let (Some(why), false) = (p.ledger_warning(), force) {
            return Err(StoreError::Invalid(format!(
                "not deleted: {why}; force the delete to go ahead anyway"
            )));
        }
        audit::remove_row(&tx, entity, id, actor, "delete")?;
        tx.commit()?;
        Ok(p)
    }

    /// Merges customer `gone` into customer `keep`: its contacts, deals, activities and
    /// orders move over (the revenue ledger keeps every order), fields `keep` leaves empty
    /// take `gone`'s values, the earlier customer-since date is kept, one primary contact
    /// remains (`keep`'s), and `gone` is deleted. Everything audited.
    pub fn merge_customers(&mut self, keep: i64, gone: i64, actor: &Actor) -> Result<MergeOutcome> {
        if keep == gone {
            return Err(StoreError::Invalid(
                "a customer cannot be merged into itself".into(),
            ));
        }
        let tx = self.begin()?;
        let kept = label(&tx, Entity::Customer, keep)?
            .ok_or_else(|| StoreError::Invalid(format!("there is no customer {keep}")))?;
        let removed = label(&tx, Entity::Customer, gone)?
            .ok_or_else(|| StoreError::Invalid(format!("there is no customer {gone}")))?;
        let note = format!("merged into {kept}");
        let mut out = MergeOutcome {
            kept,
            removed,
            ..Default::default()
        };
        let had_primary: Option<i64> = tx
            .query_row(
                "SELECT id FROM contacts WHERE customer_id = ?1 AND is_primary = 1 ORDER BY id LIMIT 1",
                [keep],
                |r| r.get(0),
            )
            .optional()?;
        for child in [
            Entity::Contact,
            Entity::Deal,
            Entity::Activity,
            Entity::Order,
        ] {
            let ids: Vec<i64> = tx
                .prepare(&format!(
                    "SELECT id FROM {} WHERE customer_id = ?1 ORDER BY id",
                    child.table()
                ))?
                .query_map([gone], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for &id in &ids {
                let before = audit::row_json(&tx, child, id)?;
                tx.execute(
                    &format!(
                        "UPDATE {} SET customer_id = ?1 WHERE id = ?2",
                        child.table()
                    ),
                    params![keep, id],
                )?;
                let after = audit::row_json(&tx, child, id)?;
                audit::record(
                    &tx,
                    actor,
                    audit::Action::Update,
                    child,
                    id,
                    before.as_deref(),
                    after.as_deref(),
                    Some(&note),
                )?;
            }
            if !ids.is_empty() {
                out.moved.push((child.table(), ids.len() as i64));
            }
        }
        if let Some(primary) = had_primary {
            super::edits::demote_other_primaries(&tx, actor, keep, primary)?;
        }
        let before = audit::row_json(&tx, Entity::Customer, keep)?;
        for col in FILLABLE {
            let n = tx.execute(
                &format!(
                    "UPDATE customers SET {col} = (SELECT {col} FROM customers WHERE id = ?2)
                     WHERE id = ?1 AND {col} IS NULL
                       AND (SELECT {col} FROM customers WHERE id = ?2) IS NOT NULL"
                ),
                params![keep, gone],
            )?;
            if n > 0 {
                out.filled.push(col);
            }
        }
        tx.execute(
            "UPDATE customers SET created_on = (SELECT created_on FROM customers WHERE id = ?2)
             WHERE id = ?1 AND (SELECT created_on FROM customers WHERE id = ?2) < created_on",
            params![keep, gone],
        )?;
        audit::record_if_changed(&tx, actor, Entity::Customer, keep, before)?;
        audit::remove_row(&tx, Entity::Customer, gone, actor, &note)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Store {
    /// See `app::find_row`.
    pub fn find_row(&self, entity: Entity, text: &str) -> Result<i64> {
        let text = text.trim();
        let table = entity.table();
        let named = matches!(entity, Entity::Customer | Entity::Deal | Entity::Contact);
        let sql = format!(
            "SELECT id FROM {table} WHERE external_id = ?1{} LIMIT 2",
            if named {
                " UNION SELECT id FROM (SELECT id FROM {table} WHERE name = ?1 COLLATE NOCASE LIMIT 2)"
                    .replace("{table}", table)
            } else {
                String::new()
            }
        );
        let mut ids: Vec<i64> = self
            .conn
            .prepare(&sql)?
            .query_map([text], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if ids.is_empty() {
            if let Ok(n) = text.parse::<i64>() {
                let found: Option<i64> = self
                    .conn
                    .query_row(&format!("SELECT id FROM {table} WHERE id = ?1"), [n], |r| {
                        r.get(0)
                    })
                    .optional()?;
                ids.extend(found);
            }
        }
        match ids.as_slice() {
            [one] => Ok(*one),
            [] => Err(StoreError::Invalid(format!(
                "no {} with external id{} '{text}'",
                entity.name(),
                if named { " or name" } else { "" }
            ))),
            _ => Err(StoreError::Invalid(format!(
                "several {table} are called '{text}': give the external id"
            ))),
        }
    }
}
