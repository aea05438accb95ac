//! Deleting and merging rows, undoing an action and finding a row by what a person types,
//! on PostgreSQL, as SQLite's (`store::remove`, `store::audit`): the same cascades (from
//! `audit::references`), every row audited with its before image, one transaction each.
//! A row is put back from its audit image by `json_populate_record`, which reads the
//! image's values into the table's own types.

use super::store::{audit_pg, PgStore, TxResult};
use crate::domain::audit::{Actor, Entity};
use crate::domain::Money;
use crate::store::audit::{outside_ranges, references, Action, Tie};
use crate::store::db::{Result, StoreError};
use crate::store::remove::{MergeOutcome, RemovalPlan, FILLABLE, REMOVABLE};
use postgres::Transaction;

fn label(tx: &mut Transaction, entity: Entity, id: i64) -> TxResult<Option<String>> {
    let sql = match entity {
        Entity::Customer => {
            "SELECT 'customer ' || name || coalesce(' (' || external_id || ')', '') FROM customers WHERE id = $1"
        }
        Entity::Contact => {
            "SELECT 'contact ' || k.name || ' of ' || c.name FROM contacts k
             JOIN customers c ON c.id = k.customer_id WHERE k.id = $1"
        }
        Entity::Deal => {
            "SELECT 'deal ' || name || coalesce(' (' || external_id || ')', '') FROM deals WHERE id = $1"
        }
        Entity::Activity => {
            r#"SELECT a.kind || ' ' || coalesce(a.done_on::text, 'due ' || a.due_on::text, '')
                 || coalesce(' "' || a.subject || '"', '') || ' with ' || c.name
               FROM activities a JOIN customers c ON c.id = a.customer_id WHERE a.id = $1"#
        }
        other => {
            return Err(StoreError::Invalid(format!(
                "a {} is not deleted this way",
                other.name()
            ))
            .into())
        }
    };
    Ok(tx.query_opt(sql, &[&id])?.map(|r| r.get(0)))
}

fn plan(tx: &mut Transaction, entity: Entity, id: i64) -> TxResult<RemovalPlan> {
    if !REMOVABLE.contains(&entity) {
        return Err(
            StoreError::Invalid(format!("a {} cannot be deleted here", entity.name())).into(),
        );
    }
    let label = label(tx, entity, id)?
        .ok_or_else(|| StoreError::Invalid(format!("there is no {} {id}", entity.name())))?;
    let ledger = match entity {
        Entity::Customer | Entity::Deal => {
            let col = if entity == Entity::Customer {
                "customer_id"
            } else {
                "deal_id"
            };
            let r = tx.query_one(
                &format!(
                    "SELECT count(*), coalesce(sum(amount_cents), 0)::bigint FROM orders WHERE {col} = $1"
                ),
                &[&id],
            )?;
            let (n, cents): (i64, i64) = (r.get(0), r.get(1));
            (n > 0).then_some((n, Money(cents)))
        }
        _ => None,
    };
    Ok(RemovalPlan {
        entity,
        id,
        label,
        with: owned_counts(tx, entity, id)?,
        ledger,
    })
}

/// As `audit::owned_counts`.
fn owned_counts(
    tx: &mut Transaction,
    entity: Entity,
    id: i64,
) -> TxResult<Vec<(&'static str, i64)>> {
    let mut out: Vec<(&'static str, i64)> = Vec::new();
    let mut add = |table: &'static str, n: i64| {
        if n > 0 {
            match out.iter_mut().find(|(t, _)| *t == table) {
                Some(e) => e.1 += n,
                None => out.push((table, n)),
            }
        }
    };
    for &(child, column, tie) in references(entity) {
        if tie != Tie::Owned {
            continue;
        }
        let n: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE {column} = $1", child.table()),
                &[&id],
            )?
            .get(0);
        add(child.table(), n);
        for &(grand, gcolumn, gtie) in references(child) {
            if gtie != Tie::Owned || (child == Entity::Deal && grand == Entity::Order) {
                continue;
            }
            let n: i64 = tx
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {} WHERE {gcolumn} IN (SELECT id FROM {} WHERE {column} = $1)",
                        grand.table(),
                        child.table()
                    ),
                    &[&id],
                )?
                .get(0);
            add(grand.table(), n);
        }
    }
    Ok(out)
}

/// As `audit::cascade_from`: rows hanging on the parent rows go (owned) or lose the link.
fn cascade_from(
    tx: &mut Transaction,
    parent: Entity,
    parent_ids: &str,
    ranges: &[(Entity, i64, i64)],
    actor: &Actor,
    note: &str,
) -> TxResult<usize> {
    let mut n = 0;
    for &(child, column, tie) in references(parent) {
        let ids: Vec<i64> = tx
            .query(
                &format!(
                    "SELECT id FROM {} WHERE {column} {parent_ids}{} ORDER BY id",
                    child.table(),
                    outside_ranges(child, ranges)
                ),
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for id in ids {
            let Some(before) = audit_pg::row_json(tx, child, id)? else {
                continue;
            };
            match tie {
                Tie::Owned => {
                    n += cascade_from(tx, child, &format!("= {id}"), ranges, actor, note)?;
                    tx.execute(
                        &format!("DELETE FROM {} WHERE id = $1", child.table()),
                        &[&id],
                    )?;
                    audit_pg::record(
                        tx,
                        actor,
                        Action::Delete,
                        child,
                        id,
                        Some(&before),
                        None,
                        Some(note),
                    )?;
                }
                Tie::Linked => {
                    tx.execute(
                        &format!("UPDATE {} SET {column} = NULL WHERE id = $1", child.table()),
                        &[&id],
                    )?;
                    let after = audit_pg::row_json(tx, child, id)?;
                    audit_pg::record(
                        tx,
                        actor,
                        Action::Update,
                        child,
                        id,
                        Some(&before),
                        after.as_deref(),
                        Some(note),
                    )?;
                }
            }
            n += 1;
        }
    }
    Ok(n)
}

/// As `audit::remove_row`.
fn remove_row(
    tx: &mut Transaction,
    entity: Entity,
    id: i64,
    actor: &Actor,
    note: &str,
) -> TxResult<usize> {
    let Some(before) = audit_pg::row_json(tx, entity, id)? else {
        return Err(StoreError::Invalid(format!("there is no {} {id}", entity.name())).into());
    };
    let n = cascade_from(tx, entity, &format!("= {id}"), &[], actor, note)?;
    tx.execute(
        &format!("DELETE FROM {} WHERE id = $1", entity.table()),
        &[&id],
    )?;
    audit_pg::record(
        tx,
        actor,
        Action::Delete,
        entity,
        id,
        Some(&before),
        None,
        Some(note),
    )?;
    Ok(n + 1)
}

/// As `audit::dependants`: rows outside `ranges` that point into them.
fn dependants(tx: &mut Transaction, ranges: &[(Entity, i64, i64)]) -> TxResult<Vec<String>> {
    let mut out = Vec::new();
    for (parent, first, last) in ranges {
        for (child, column, _) in references(*parent) {
            let ids: Vec<i64> = tx
                .query(
                    &format!(
                        "SELECT id FROM {} WHERE {column} BETWEEN $1 AND $2{} ORDER BY id LIMIT 6",
                        child.table(),
                        outside_ranges(*child, ranges)
                    ),
                    &[first, last],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !ids.is_empty() {
                out.push(crate::store::audit::dependant_rows(child.table(), &ids));
            }
        }
    }
    Ok(out)
}

/// Writes a row back as its audit image shows it: an update if it exists, else an insert.
fn restore_row(tx: &mut Transaction, entity: Entity, id: i64, before: &str) -> TxResult<()> {
    let parsed: serde_json::Value = serde_json::from_str(before)
        .map_err(|e| StoreError::Invalid(format!("audit row for {} {id}: {e}", entity.name())))?;
    let Some(obj) = parsed.as_object() else {
        return Err(StoreError::Invalid(format!(
            "audit row for {} {id} is not an object",
            entity.name()
        ))
        .into());
    };
    let known: Vec<String> = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&entity.table()],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let cols: Vec<String> = obj
        .keys()
        .filter(|k| known.contains(k))
        .map(|k| format!("\"{k}\""))
        .collect();
    let list = cols.join(", ");
    let table = entity.table();
    let exists = tx
        .query_opt(&format!("SELECT 1 FROM {table} WHERE id = $1"), &[&id])?
        .is_some();
    if exists {
        tx.execute(
            &format!(
                "UPDATE {table} SET ({list}) = (SELECT {list} FROM json_populate_record(NULL::{table}, $1::text::json))
                 WHERE id = $2"
            ),
            &[&before, &id],
        )?;
    } else {
        tx.execute(
            &format!(
                "INSERT INTO {table}({list}) SELECT {list} FROM json_populate_record(NULL::{table}, $1::text::json)"
            ),
            &[&before],
        )?;
    }
    Ok(())
}

type Entry = (i64, String, String, i64, Option<i64>, Option<String>);

impl PgStore {
    pub fn removal_plan(&self, entity: Entity, id: i64) -> Result<RemovalPlan> {
        self.write_serializable(|tx| plan(tx, entity, id))
    }

    pub fn remove(
        &self,
        entity: Entity,
        id: i64,
        force: bool,
        actor: &Actor,
    ) -> Result<RemovalPlan> {
        self.write_serializable(|tx| {
            let p = plan(tx, entity, id)?;
            if let (Some(why), false) = (p.ledger_warning(), force) {
                return Err(StoreError::Invalid(format!(
                    "not deleted: {why}; force the delete to go ahead anyway"
                ))
                .into());
            }
            remove_row(tx, entity, id, actor, "delete")?;
            Ok(p)
        })
    }

    pub fn merge_customers(&self, keep: i64, gone: i64, actor: &Actor) -> Result<MergeOutcome> {
        if keep == gone {
            return Err(StoreError::Invalid(
                "a customer cannot be merged into itself".into(),
            ));
        }
        self.write_serializable(|tx| {
            let kept = label(tx, Entity::Customer, keep)?
                .ok_or_else(|| StoreError::Invalid(format!("there is no customer {keep}")))?;
            let removed = label(tx, Entity::Customer, gone)?
                .ok_or_else(|| StoreError::Invalid(format!("there is no customer {gone}")))?;
            let note = format!("merged into {kept}");
            let mut out = MergeOutcome {
                kept,
                removed,
                ..Default::default()
            };
            let had_primary: Option<i64> = tx
                .query_opt(
                    "SELECT id FROM contacts WHERE customer_id = $1 AND is_primary ORDER BY id LIMIT 1",
                    &[&keep],
                )?
                .map(|r| r.get(0));
            for child in [
                Entity::Contact,
                Entity::Deal,
                Entity::Activity,
                Entity::Order,
            ] {
                let ids: Vec<i64> = tx
                    .query(
                        &format!(
                            "SELECT id FROM {} WHERE customer_id = $1 ORDER BY id",
                            child.table()
                        ),
                        &[&gone],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                for &id in &ids {
                    let before = audit_pg::row_json(tx, child, id)?;
                    tx.execute(
                        &format!("UPDATE {} SET customer_id = $1 WHERE id = $2", child.table()),
                        &[&keep, &id],
                    )?;
                    let after = audit_pg::row_json(tx, child, id)?;
                    audit_pg::record(
                        tx,
                        actor,
                        Action::Update,
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
                let others: Vec<i64> = tx
                    .query(
                        "SELECT id FROM contacts WHERE customer_id = $1 AND is_primary AND id <> $2
                         ORDER BY id",
                        &[&keep, &primary],
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
            let before = audit_pg::row_json(tx, Entity::Customer, keep)?;
            for col in FILLABLE {
                let n = tx.execute(
                    &format!(
                        "UPDATE customers SET {col} = (SELECT {col} FROM customers WHERE id = $2)
                         WHERE id = $1 AND {col} IS NULL
                           AND (SELECT {col} FROM customers WHERE id = $2) IS NOT NULL"
                    ),
                    &[&keep, &gone],
                )?;
                if n > 0 {
                    out.filled.push(col);
                }
            }
            tx.execute(
                "UPDATE customers SET created_on = (SELECT created_on FROM customers WHERE id = $2)
                 WHERE id = $1 AND (SELECT created_on FROM customers WHERE id = $2) < created_on",
                &[&keep, &gone],
            )?;
            audit_pg::if_changed(tx, actor, Entity::Customer, keep, before, None)?;
            remove_row(tx, Entity::Customer, gone, actor, &note)?;
            Ok(out)
        })
    }

    pub fn find_row(&self, entity: Entity, text: &str) -> Result<i64> {
        let text = text.trim();
        let table = entity.table();
        let named = matches!(entity, Entity::Customer | Entity::Deal | Entity::Contact);
        let sql = format!(
            "SELECT id FROM {table} WHERE external_id = $1{} LIMIT 2",
            if named {
                format!(
                    " UNION SELECT id FROM (SELECT id FROM {table}
                       WHERE funnel_nocase(name) = funnel_nocase($1) LIMIT 2) n"
                )
            } else {
                String::new()
            }
        );
        let mut ids: Vec<i64> = self
            .rows(&sql, &[&text])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if ids.is_empty() {
            if let Ok(n) = text.parse::<i64>() {
                ids.extend(
                    self.opt(&format!("SELECT id FROM {table} WHERE id = $1"), &[&n])?
                        .map(|r| r.get::<_, i64>(0)),
                );
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

    /// As `audit::undo_range`.
    pub fn undo_range(&self, from: i64, to: i64, actor: &Actor) -> Result<usize> {
        self.write_serializable(|tx| {
            let entries: Vec<Entry> = tx
                .query(
                    "SELECT id, action, entity, entity_id, entity_id_last, before_json::text
                     FROM audit_log WHERE id > $1 AND id <= $2 ORDER BY id DESC",
                    &[&from, &to],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            let mut inserted = Vec::new();
            for (id, action, entity, entity_id, last, _) in &entries {
                let Some(e) = Entity::from_name(entity) else {
                    continue;
                };
                if last.is_some() {
                    return Err(StoreError::Invalid(format!(
                        "audit entry {id} is an import's; `funnel import revert` undoes imports"
                    ))
                    .into());
                }
                let later: Option<i64> = tx
                    .query_one(
                        "SELECT min(id) FROM audit_log WHERE entity = $1 AND entity_id = $2 AND id > $3",
                        &[entity, entity_id, &to],
                    )?
                    .get(0);
                if let Some(l) = later {
                    return Err(StoreError::Invalid(format!(
                        "cannot undo: {entity} {entity_id} was changed since (audit entry {l})"
                    ))
                    .into());
                }
                if action == "insert" {
                    inserted.push((e, *entity_id, *entity_id));
                }
            }
            let hanging = dependants(tx, &inserted)?;
            if !hanging.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "cannot undo: rows written since depend on rows it created: {}",
                    hanging.join(", ")
                ))
                .into());
            }
            let undo = Actor {
                batch_id: None,
                ..actor.clone()
            };
            let mut n = 0;
            for (id, action, entity, entity_id, _, before) in &entries {
                let Some(e) = Entity::from_name(entity) else {
                    continue;
                };
                let current = audit_pg::row_json(tx, e, *entity_id)?;
                if action == "insert" {
                    if let Some(cur) = &current {
                        tx.execute(
                            &format!("DELETE FROM {} WHERE id = $1", e.table()),
                            &[entity_id],
                        )?;
                        audit_pg::record(
                            tx,
                            &undo,
                            Action::Delete,
                            e,
                            *entity_id,
                            Some(cur),
                            None,
                            Some("undo"),
                        )?;
                        n += 1;
                    }
                    continue;
                }
                let Some(before) = before else {
                    return Err(StoreError::Invalid(format!(
                        "audit entry {id} has no before image to put back"
                    ))
                    .into());
                };
                restore_row(tx, e, *entity_id, before)?;
                let act = if current.is_some() {
                    Action::Update
                } else {
                    Action::Insert
                };
                audit_pg::record(
                    tx,
                    &undo,
                    act,
                    e,
                    *entity_id,
                    current.as_deref(),
                    Some(before),
                    Some("undo"),
                )?;
                n += 1;
            }
            Ok(n)
        })
    }
}

/// As `audit::check_revertible`: the batch exists, was not reverted, and nothing else
/// changed its rows since (with `cascade`, rows it inserted go whatever happened later).
fn check_revertible(tx: &mut Transaction, batch_id: i64, cascade: bool) -> TxResult<()> {
    let reverted: Option<Option<String>> = tx
        .query_opt(
            "SELECT reverted_at::text FROM import_batches WHERE id = $1",
            &[&batch_id],
        )?
        .map(|r| r.get(0));
    let refuse = |why: String| -> TxResult<()> { Err(StoreError::Invalid(why).into()) };
    match reverted {
        None => return refuse(format!("there is no import batch {batch_id}")),
        Some(Some(at)) if at.starts_with("removed") => {
            return refuse(format!(
                "import batch {batch_id} cannot be reverted: its rows were {at}"
            ))
        }
        Some(Some(at)) => {
            return refuse(format!(
                "import batch {batch_id} was already reverted at {at}"
            ))
        }
        Some(None) => {}
    }
    let conflicts: Vec<(String, i64, i64)> = tx
        .query(
            "SELECT DISTINCT a1.entity, a2.entity_id, a2.id FROM audit_log a1
             JOIN audit_log a2 ON a2.entity = a1.entity
               AND a2.entity_id BETWEEN a1.entity_id AND coalesce(a1.entity_id_last, a1.entity_id)
               AND a2.id > a1.id
             LEFT JOIN import_batches b ON b.id = a2.batch_id
             WHERE a1.batch_id = $1 AND a1.note IS NULL
               AND (a2.batch_id IS NULL OR (a2.batch_id <> $1 AND b.reverted_at IS NULL))
               AND NOT ($2 AND a1.action = 'insert')
             ORDER BY a2.id
             LIMIT 5",
            &[&batch_id, &cascade],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(e, id, audit)| format!("{e} {id} (audit entry {audit})"))
            .collect();
        return refuse(format!(
            "cannot revert import batch {batch_id}: rows it wrote were changed later: {}; revert or undo those changes first{}",
            list.join(", "),
            if cascade {
                ""
            } else {
                " (or give --cascade if the rows were created by this batch: they go with everything written on them, each audited)"
            }
        ));
    }
    Ok(())
}

impl PgStore {
    /// As `audit::revert_batch`: undoes every change an import batch made, newest first.
    pub fn revert_batch(
        &self,
        batch_id: i64,
        actor: &Actor,
        cascade: bool,
    ) -> Result<crate::store::audit::RevertReport> {
        self.write_serializable(|tx| {
            check_revertible(tx, batch_id, cascade)?;
            let entries: Vec<Entry> = tx
                .query(
                    "SELECT id, action, entity, entity_id, entity_id_last, before_json::text
                     FROM audit_log WHERE batch_id = $1 AND note IS NULL ORDER BY id DESC",
                    &[&batch_id],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            let undo = Actor {
                batch_id: Some(batch_id),
                ..actor.clone()
            };
            let mut report = crate::store::audit::RevertReport {
                batch_id,
                ..Default::default()
            };
            let entity_of = |audit_id: i64, name: &str| -> TxResult<Entity> {
                Entity::from_name(name).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "audit entry {audit_id} names an unknown entity '{name}'"
                    ))
                    .into()
                })
            };
            for (audit_id, _, name, entity_id, _, before) in
                entries.iter().filter(|e| e.1 != "insert")
            {
                let entity = entity_of(*audit_id, name)?;
                let Some(before) = before else {
                    return Err(StoreError::Invalid(format!(
                        "audit entry {audit_id} has no before image to restore"
                    ))
                    .into());
                };
                let current = audit_pg::row_json(tx, entity, *entity_id)?;
                restore_row(tx, entity, *entity_id, before)?;
                let act = if current.is_some() {
                    Action::Update
                } else {
                    Action::Insert
                };
                audit_pg::record(
                    tx,
                    &undo,
                    act,
                    entity,
                    *entity_id,
                    current.as_deref(),
                    Some(before),
                    Some("revert"),
                )?;
                report.restored += 1;
            }
            let ranges: Vec<(Entity, i64, i64)> = entries
                .iter()
                .filter(|e| e.1 == "insert")
                .filter_map(|e| Some((Entity::from_name(&e.2)?, e.3, e.4.unwrap_or(e.3))))
                .collect();
            if cascade {
                for &(parent, first, last) in &ranges {
                    report.cascaded += cascade_from(
                        tx,
                        parent,
                        &format!("BETWEEN {first} AND {last}"),
                        &ranges,
                        &undo,
                        "revert cascade",
                    )?;
                }
            } else {
                let hanging = dependants(tx, &ranges)?;
                if !hanging.is_empty() {
                    return Err(StoreError::Invalid(format!(
                        "cannot revert import batch {batch_id}: rows written later depend on rows it created: {}; revert or delete those first, or give --cascade to remove them too (each audited)",
                        hanging.join(", ")
                    ))
                    .into());
                }
            }
            for (audit_id, _, name, first, last, _) in entries.iter().filter(|e| e.1 == "insert") {
                let entity = entity_of(*audit_id, name)?;
                let last = last.unwrap_or(*first);
                if cascade {
                    let changed: Vec<i64> = tx
                        .query(
                            "SELECT DISTINCT entity_id FROM audit_log
                             WHERE entity = $1 AND entity_id BETWEEN $2 AND $3 AND id > $4
                               AND (batch_id IS NULL OR batch_id <> $5)
                             ORDER BY entity_id",
                            &[&entity.name(), first, &last, audit_id, &batch_id],
                        )?
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    for id in changed {
                        if let Some(before) = audit_pg::row_json(tx, entity, id)? {
                            audit_pg::record(
                                tx,
                                &undo,
                                Action::Delete,
                                entity,
                                id,
                                Some(&before),
                                None,
                                Some("revert cascade"),
                            )?;
                        }
                    }
                }
                if entity == Entity::Team {
                    tx.execute(
                        "UPDATE teams SET parent_id = NULL WHERE id BETWEEN $1 AND $2",
                        &[first, &last],
                    )?;
                }
                let n = tx
                    .execute(
                        &format!("DELETE FROM {} WHERE id BETWEEN $1 AND $2", entity.table()),
                        &[first, &last],
                    )
                    .map_err(|e| -> super::store::TxError {
                        if e.code() == Some(&postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                            StoreError::Invalid(format!(
                                "cannot revert import batch {batch_id}: {}s it created (from id {first}) are now used by rows written later; delete those first",
                                entity.name()
                            ))
                            .into()
                        } else {
                            e.into()
                        }
                    })?;
                tx.execute(
                    "INSERT INTO audit_log(at, os_user, action, entity, entity_id, entity_id_last,
                                           batch_id, note, display_name)
                     VALUES ($1::text::timestamptz, $2, 'delete', $3, $4, $5, $6, 'revert', $7)",
                    &[
                        &undo.at,
                        &undo.os_user,
                        &entity.name(),
                        first,
                        &last,
                        &batch_id,
                        &undo.display_name,
                    ],
                )?;
                report.deleted += n as usize;
            }
            tx.execute(
                "UPDATE import_batches SET reverted_at = $2 WHERE id = $1",
                &[&batch_id, &actor.at],
            )?;
            Ok(report)
        })
    }
}
