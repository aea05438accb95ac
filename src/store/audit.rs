//! The audit log: who changed what, when, with the row before and after as JSON. Import
//! batches are reverted by replaying their audit rows backwards.

use super::db::{Result, StoreError};
pub use crate::domain::audit::*;
use rusqlite::{params, types::Value, Connection, OptionalExtension};

static DISPLAY_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the display name every audit entry of this process carries beside the OS account
/// (from the front end's configuration). Control characters are dropped; empty is none.
pub fn set_display_name(name: &str) {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    if !clean.trim().is_empty() {
        let _ = DISPLAY_NAME.set(clean.trim().to_string());
    }
}

impl Actor {
    /// The operating-system user running funnel, now.
    pub fn current() -> Actor {
        Actor {
            os_user: os_user(),
            display_name: DISPLAY_NAME.get().cloned(),
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            batch_id: None,
        }
    }
}

/// The login name of the process owner (`$USER`, `$LOGNAME`, `$USERNAME`).
/// The account the process runs as, asked of the operating system by user id (never from
/// `$USER`, which anyone can set and cron leaves unset); `uid N` when the id has no name.
pub fn os_user() -> String {
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers given, and
        // the name is read only when it reports success with a non-null result.
        unsafe {
            let uid = libc::getuid();
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut buf = vec![0 as libc::c_char; 4096];
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
            if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
                let name = std::ffi::CStr::from_ptr(pwd.pw_name).to_string_lossy();
                if !name.is_empty() {
                    return name.into_owned();
                }
            }
            format!("uid {uid}")
        }
    }
    #[cfg(not(unix))]
    {
        ["USERNAME", "USER"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Insert,
    Update,
    Delete,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Insert => "insert",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Appends one audit row.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &Connection,
    actor: &Actor,
    action: Action,
    entity: Entity,
    entity_id: i64,
    before: Option<&str>,
    after: Option<&str>,
    note: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log(at, os_user, action, entity, entity_id, before_json, after_json, batch_id, note, display_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        actor.at,
        actor.os_user,
        action.as_str(),
        entity.name(),
        entity_id,
        before,
        after,
        actor.batch_id,
        note,
        actor.display_name
    ])?;
    Ok(())
}

/// The row as a JSON object of its columns, or `None` if there is no such row. Written
/// straight into a string: this runs for every row an import writes.
pub fn row_json(conn: &Connection, entity: Entity, id: i64) -> Result<Option<String>> {
    use rusqlite::types::ValueRef;
    use std::fmt::Write;
    let sql = format!("SELECT * FROM {} WHERE id = ?1", entity.table());
    let mut stmt = conn.prepare_cached(&sql)?;
    // Column names are plain identifiers from our own schema: no escaping needed.
    let names: Vec<&str> = (0..stmt.column_count())
        .map(|i| stmt.column_name(i).unwrap_or("?"))
        .collect::<Vec<_>>();
    let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut out = String::with_capacity(256);
    out.push('{');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        match row.get_ref(i)? {
            ValueRef::Null => out.push_str("null"),
            ValueRef::Integer(v) => {
                let _ = write!(out, "{v}");
            }
            ValueRef::Real(v) => out.push_str(&sql_to_json(Value::Real(v)).to_string()),
            ValueRef::Text(t) | ValueRef::Blob(t) => out
                .push_str(&serde_json::to_string(&String::from_utf8_lossy(t)).unwrap_or_default()),
        }
    }
    out.push('}');
    Ok(Some(out))
}

pub(crate) fn sql_to_json(v: Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => i.into(),
        Value::Real(f) => serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Text(s) => s.into(),
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned().into(),
    }
}

fn json_to_sql(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Integer(*b as i64),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

fn table_columns(conn: &Connection, entity: Entity) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", entity.table()))?;
    let cols = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Writes a row back as it was (`before` JSON): an update if it exists, else an insert.
pub fn restore_row(conn: &Connection, entity: Entity, id: i64, before: &str) -> Result<()> {
    let parsed: serde_json::Value = serde_json::from_str(before)
        .map_err(|e| StoreError::Invalid(format!("audit row for {} {id}: {e}", entity.name())))?;
    let obj = parsed.as_object().ok_or_else(|| {
        StoreError::Invalid(format!(
            "audit row for {} {id} is not an object",
            entity.name()
        ))
    })?;
    let known = table_columns(conn, entity)?;
    let cols: Vec<&String> = obj.keys().filter(|k| known.contains(k)).collect();
    let values: Vec<Value> = cols.iter().map(|c| json_to_sql(&obj[c.as_str()])).collect();
    let exists: bool = conn.query_row(
        &format!("SELECT count(*) > 0 FROM {} WHERE id = ?1", entity.table()),
        [id],
        |r| r.get(0),
    )?;
    let sql = if exists {
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("\"{c}\" = ?{}", i + 1))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE id = ?{}",
            entity.table(),
            sets.join(", "),
            cols.len() + 1
        )
    } else {
        let names: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO {}({}) VALUES ({})",
            entity.table(),
            names.join(", "),
            marks.join(", ")
        )
    };
    let mut params: Vec<Value> = values;
    if exists {
        params.push(Value::Integer(id));
    }
    conn.execute(&sql, rusqlite::params_from_iter(params))?;
    Ok(())
}

/// What reverting a batch did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RevertReport {
    pub batch_id: i64,
    pub deleted: usize,
    pub restored: usize,
    /// With `--cascade`: rows written later that were removed with the batch's rows
    /// (owned by them) or lost their link to them, each audited.
    pub cascaded: usize,
}

/// Undoes every change an import batch made, newest first. Refuses when a later change
/// (another batch or an edit) touched the same rows, since undoing would overwrite it, and
/// when rows written later hang on rows the batch created, unless `cascade`: then those go
/// too (rows they own removed, links to them cleared), each with its own audit entry.
/// Ids are never reused (AUTOINCREMENT), so a batch's recorded id ranges name exactly its
/// own rows. The caller runs this inside a transaction.
pub fn revert_batch(
    conn: &Connection,
    batch_id: i64,
    actor: &Actor,
    cascade: bool,
) -> Result<RevertReport> {
    check_revertible(conn, batch_id, cascade)?;
    let entries = entries_newest_first(conn, "batch_id = ?1 AND note IS NULL", params![batch_id])?;
    let undo = Actor {
        batch_id: Some(batch_id),
        ..actor.clone()
    };
    let mut report = RevertReport {
        batch_id,
        ..Default::default()
    };
    let entity_of = |audit_id: i64, name: &str| {
        Entity::from_name(name).ok_or_else(|| {
            StoreError::Invalid(format!(
                "audit entry {audit_id} names an unknown entity '{name}'"
            ))
        })
    };
    // First put back what the batch changed or deleted, so that nothing still points at
    // rows it created; then delete those, children before parents (newest entry first).
    for (audit_id, action, entity_name, entity_id, _, before) in
        entries.iter().filter(|e| e.1 != "insert")
    {
        let entity = entity_of(*audit_id, entity_name)?;
        let Some(before) = before else {
            return Err(StoreError::Invalid(format!(
                "audit entry {audit_id} has no before image to restore"
            )));
        };
        let current = row_json(conn, entity, *entity_id)?;
        restore_row(conn, entity, *entity_id, before)?;
        let act = if current.is_some() {
            Action::Update
        } else {
            Action::Insert
        };
        let _ = action;
        record(
            conn,
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
    // Rows written later (other batches, edits) that hang on rows this batch inserted would
    // go with them (cascades) or lose their link (set null): refuse, naming them.
    let ranges: Vec<(Entity, i64, i64)> = entries
        .iter()
        .filter(|e| e.1 == "insert")
        .filter_map(|e| Some((Entity::from_name(&e.2)?, e.3, e.4.unwrap_or(e.3))))
        .collect();
    if cascade {
        report.cascaded = cascade_ranges(conn, &ranges, &undo)?;
    } else {
        let dependants = dependants(conn, &ranges)?;
        if !dependants.is_empty() {
            return Err(StoreError::Invalid(format!(
                "cannot revert import batch {batch_id}: rows written later depend on rows it created: {}; revert or delete those first, or give --cascade to remove them too (each audited)",
                dependants.join(", ")
            )));
        }
    }
    for (audit_id, _, entity_name, first, last, _) in entries.iter().filter(|e| e.1 == "insert") {
        let entity = entity_of(*audit_id, entity_name)?;
        let last = last.unwrap_or(*first);
        if cascade {
            // Rows of the batch that were changed later lose those changes: keep each
            // one's last state in the audit.
            let changed: Vec<i64> = conn
                .prepare(
                    "SELECT DISTINCT entity_id FROM audit_log
                     WHERE entity = ?1 AND entity_id BETWEEN ?2 AND ?3 AND id > ?4
                       AND (batch_id IS NULL OR batch_id <> ?5)
                     ORDER BY entity_id",
                )?
                .query_map(
                    params![entity.name(), first, last, audit_id, batch_id],
                    |r| r.get(0),
                )?
                .collect::<rusqlite::Result<_>>()?;
            for id in changed {
                if let Some(before) = row_json(conn, entity, id)? {
                    record(
                        conn,
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
            // Teams of the range may be each other's parents, and a parent link restricts
            // deletion row by row: unlink them first (they all go).
            conn.execute(
                "UPDATE teams SET parent_id = NULL WHERE id BETWEEN ?1 AND ?2",
                [first, &last],
            )?;
        }
        let sql = format!("DELETE FROM {} WHERE id BETWEEN ?1 AND ?2", entity.table());
        let n = conn
            .execute(&sql, [first, &last])
            .map_err(|e| referenced(e, entity, *first, batch_id))?;
        conn.execute(
            "INSERT INTO audit_log(at, os_user, action, entity, entity_id, entity_id_last, batch_id, note, display_name)
             VALUES (?1, ?2, 'delete', ?3, ?4, ?5, ?6, 'revert', ?7)",
            params![undo.at, undo.os_user, entity.name(), first, last, batch_id, undo.display_name],
        )?;
        report.deleted += n;
    }
    conn.execute(
        "UPDATE import_batches SET reverted_at = ?2 WHERE id = ?1",
        params![batch_id, actor.at],
    )?;
    Ok(report)
}

/// Refuses a batch that does not exist, was reverted already, or whose rows were changed
/// since by something else (naming the rows; with `cascade` only changes it cannot carry
/// along): a revert must not undo later work.
fn check_revertible(conn: &Connection, batch_id: i64, cascade: bool) -> Result<()> {
    let reverted: Option<Option<String>> = conn
        .query_row(
            "SELECT reverted_at FROM import_batches WHERE id = ?1",
            [batch_id],
            |r| r.get(0),
        )
        .optional()?;
    match reverted {
        None => {
            return Err(StoreError::Invalid(format!(
                "there is no import batch {batch_id}"
            )))
        }
        Some(Some(at)) if at.starts_with("removed") => {
            return Err(StoreError::Invalid(format!(
                "import batch {batch_id} cannot be reverted: its rows were {at}"
            )))
        }
        Some(Some(at)) => {
            return Err(StoreError::Invalid(format!(
                "import batch {batch_id} was already reverted at {at}"
            )))
        }
        Some(None) => {}
    }
    let conflicts: Vec<(String, i64, i64)> = conn
        .prepare(
            "SELECT DISTINCT a1.entity, a2.entity_id, a2.id FROM audit_log a1
             JOIN audit_log a2 ON a2.entity = a1.entity
               AND a2.entity_id BETWEEN a1.entity_id AND coalesce(a1.entity_id_last, a1.entity_id)
               AND a2.id > a1.id
             LEFT JOIN import_batches b ON b.id = a2.batch_id
             WHERE a1.batch_id = ?1 AND a1.note IS NULL
               AND (a2.batch_id IS NULL OR (a2.batch_id <> ?1 AND b.reverted_at IS NULL))
               AND NOT (?2 AND a1.action = 'insert')
             LIMIT 5",
        )?
        // With cascade, rows the batch created go whatever happened to them later (each
        // such row is audited with its last state below); rows it updated are still put
        // back only when nothing changed them since.
        .query_map(params![batch_id, cascade], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(e, id, audit)| format!("{e} {id} (audit entry {audit})"))
            .collect();
        return Err(StoreError::Invalid(format!(
            "cannot revert import batch {batch_id}: rows it wrote were changed later: {}; revert or undo those changes first{}",
            list.join(", "),
            if cascade {
                ""
            } else {
                " (or give --cascade if the rows were created by this batch: they go with everything written on them, each audited)"
            }
        )));
    }
    Ok(())
}

/// An audit entry as a revert or an undo replays it: (id, action, entity, entity id,
/// last id of a range, before image).
type Entry = (i64, String, String, i64, Option<i64>, Option<String>);

/// The audit entries matching `filter` (an SQL condition on `params`), newest first.
fn entries_newest_first(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Entry>> {
    let sql = format!(
        "SELECT id, action, entity, entity_id, entity_id_last, before_json FROM audit_log
         WHERE {filter} ORDER BY id DESC"
    );
    Ok(conn
        .prepare(&sql)?
        .query_map(params, |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The newest audit entry's id (0 when there is none): taken before and after an action,
/// the entries between are the action's, which `undo_range` can take back.
pub fn high_water(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT coalesce(max(id), 0) FROM audit_log", [], |r| {
            r.get(0)
        })?,
    )
}

/// Takes back the changes audited in entries `from`+1..=`to` (one action of a user: a
/// form saved, a deal moved, won or lost), newest first, from their before images: rows
/// it inserted are removed, rows it changed or removed are put back, so the ledger and the
/// stage history follow. Refused, changing nothing, when a later entry touched one of those
/// rows or a later row hangs on one it inserted. Each step is audited (note `undo`). The
/// caller runs this inside a transaction. Returns how many rows were put back or removed.
pub fn undo_range(conn: &Connection, from: i64, to: i64, actor: &Actor) -> Result<usize> {
    let entries = entries_newest_first(conn, "id > ?1 AND id <= ?2", params![from, to])?;
    let mut inserted = Vec::new();
    for (id, action, entity, entity_id, last, _) in &entries {
        let Some(e) = Entity::from_name(entity) else {
            continue; // a whole-database event: nothing to take back
        };
        if last.is_some() {
            return Err(StoreError::Invalid(format!(
                "audit entry {id} is an import's; `funnel import revert` undoes imports"
            )));
        }
        let later: Option<i64> = conn.query_row(
            "SELECT min(id) FROM audit_log WHERE entity = ?1 AND entity_id = ?2 AND id > ?3",
            params![entity, entity_id, to],
            |r| r.get(0),
        )?;
        if let Some(l) = later {
            return Err(StoreError::Invalid(format!(
                "cannot undo: {entity} {entity_id} was changed since (audit entry {l})"
            )));
        }
        if action == "insert" {
            inserted.push((e, *entity_id, *entity_id));
        }
    }
    let hanging = dependants(conn, &inserted)?;
    if !hanging.is_empty() {
        return Err(StoreError::Invalid(format!(
            "cannot undo: rows written since depend on rows it created: {}",
            hanging.join(", ")
        )));
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
        let current = row_json(conn, e, *entity_id)?;
        if action == "insert" {
            if let Some(cur) = &current {
                conn.execute(
                    &format!("DELETE FROM {} WHERE id = ?1", e.table()),
                    [entity_id],
                )?;
                record(
                    conn,
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
            )));
        };
        restore_row(conn, e, *entity_id, before)?;
        let act = if current.is_some() {
            Action::Update
        } else {
            Action::Insert
        };
        record(
            conn,
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
}

/// What becomes of a row whose parent is removed by a cascading revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tie {
    /// The row belongs to its parent (a deal's stage history, a customer's contacts): it goes.
    Owned,
    /// The row only points at it (a customer's owner rep): the link is cleared.
    Linked,
}

/// The references to each table that a revert must not break: (child entity, column, tie).
pub(crate) fn references(parent: Entity) -> &'static [(Entity, &'static str, Tie)] {
    use Tie::*;
    match parent {
        Entity::Customer => &[
            (Entity::Contact, "customer_id", Owned),
            (Entity::Deal, "customer_id", Owned),
            (Entity::Activity, "customer_id", Owned),
            (Entity::Order, "customer_id", Owned),
        ],
        Entity::Deal => &[
            (Entity::StageChange, "deal_id", Owned),
            (Entity::Activity, "deal_id", Linked),
            // A won deal's order is its revenue in the ledger: it goes with the deal.
            (Entity::Order, "deal_id", Owned),
        ],
        Entity::Team => &[
            (Entity::Rep, "team_id", Linked),
            (Entity::Team, "parent_id", Linked),
            (Entity::Target, "team_id", Owned),
        ],
        Entity::Rep => &[
            (Entity::Customer, "owner_rep_id", Linked),
            (Entity::Deal, "owner_rep_id", Linked),
            (Entity::Activity, "rep_id", Linked),
            (Entity::Target, "rep_id", Owned),
        ],
        Entity::Product => &[
            (Entity::Deal, "product_id", Linked),
            (Entity::Order, "product_id", Linked),
        ],
        Entity::Stage => &[
            (Entity::Deal, "stage_id", Owned),
            (Entity::StageChange, "to_stage_id", Owned),
            (Entity::StageChange, "from_stage_id", Linked),
        ],
        Entity::Target => &[(Entity::TargetRevision, "target_id", Owned)],
        _ => &[],
    }
}

/// `AND NOT (id BETWEEN …)` for each of `ranges` in `child`'s table: the batch's own rows,
/// which the revert deletes itself.
pub(crate) fn outside_ranges(child: Entity, ranges: &[(Entity, i64, i64)]) -> String {
    ranges
        .iter()
        .filter(|r| r.0 == child)
        .map(|r| format!(" AND NOT (id BETWEEN {} AND {})", r.1, r.2))
        .collect()
}

/// Removes or unlinks every row outside `ranges` that hangs on a row inside them, deepest
/// first, auditing each with its before image. Returns how many rows it touched.
fn cascade_ranges(conn: &Connection, ranges: &[(Entity, i64, i64)], undo: &Actor) -> Result<usize> {
    let mut n = 0;
    for &(parent, first, last) in ranges {
        n += cascade_from(
            conn,
            parent,
            &format!("BETWEEN {first} AND {last}"),
            ranges,
            undo,
            "revert cascade",
        )?;
    }
    Ok(n)
}

fn cascade_from(
    conn: &Connection,
    parent: Entity,
    parent_ids: &str,
    ranges: &[(Entity, i64, i64)],
    undo: &Actor,
    note: &str,
) -> Result<usize> {
    let mut n = 0;
    for &(child, column, tie) in references(parent) {
        let sql = format!(
            "SELECT id FROM {} WHERE {column} {parent_ids}{} ORDER BY id",
            child.table(),
            outside_ranges(child, ranges)
        );
        let ids: Vec<i64> = conn
            .prepare(&sql)?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            let Some(before) = row_json(conn, child, id)? else {
                continue; // already removed through another parent
            };
            match tie {
                Tie::Owned => {
                    n += cascade_from(conn, child, &format!("= {id}"), ranges, undo, note)?;
                    conn.execute(
                        &format!("DELETE FROM {} WHERE id = ?1", child.table()),
                        [id],
                    )?;
                    record(
                        conn,
                        undo,
                        Action::Delete,
                        child,
                        id,
                        Some(&before),
                        None,
                        Some(note),
                    )?;
                }
                Tie::Linked => {
                    conn.execute(
                        &format!("UPDATE {} SET {column} = NULL WHERE id = ?1", child.table()),
                        [id],
                    )?;
                    let after = row_json(conn, child, id)?;
                    record(
                        conn,
                        undo,
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

/// Deletes one row and what belongs to it (a customer's contacts, deals and their stage
/// history, activities and orders; a deal's stage history and order), unlinking rows that
/// only point at it; every row audited with its before image under `note`. Returns how
/// many rows it deleted or changed, the row itself included.
pub fn remove_row(
    conn: &Connection,
    entity: Entity,
    id: i64,
    actor: &Actor,
    note: &str,
) -> Result<usize> {
    let Some(before) = row_json(conn, entity, id)? else {
        return Err(StoreError::Invalid(format!(
            "there is no {} {id}",
            entity.name()
        )));
    };
    let n = cascade_from(conn, entity, &format!("= {id}"), &[], actor, note)?;
    conn.execute(
        &format!("DELETE FROM {} WHERE id = ?1", entity.table()),
        [id],
    )?;
    record(
        conn,
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

/// How many rows of each table belong to row `id` of `entity` (and would go with it),
/// as (table, count), deepest tables included, empty counts left out.
pub fn owned_counts(
    conn: &Connection,
    entity: Entity,
    id: i64,
) -> Result<Vec<(&'static str, i64)>> {
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
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {} WHERE {column} = ?1", child.table()),
            [id],
            |r| r.get(0),
        )?;
        add(child.table(), n);
        // One level further down: a customer's deals own their stage history and orders.
        for &(grand, gcolumn, gtie) in references(child) {
            if gtie != Tie::Owned || (child == Entity::Deal && grand == Entity::Order) {
                continue; // a customer's orders are counted once, directly
            }
            let n: i64 = conn.query_row(
                &format!(
                    "SELECT count(*) FROM {} WHERE {gcolumn} IN (SELECT id FROM {} WHERE {column} = ?1)",
                    grand.table(),
                    child.table()
                ),
                [id],
                |r| r.get(0),
            )?;
            add(grand.table(), n);
        }
    }
    Ok(out)
}

/// "3 contacts (ids 5, 9, 12)", or "more than 5 …" when `ids` (at most 6 read) hold six.
pub(crate) fn dependant_rows(table: &str, ids: &[i64]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(i64::to_string).collect();
    format!(
        "{} {table} (ids {}{})",
        if ids.len() > 5 {
            "more than 5".to_string()
        } else {
            ids.len().to_string()
        },
        shown.join(", "),
        if ids.len() > 5 { ", …" } else { "" }
    )
}

/// Rows outside `ranges` that point into them, as "N contacts (ids 5, 9, …)".
fn dependants(conn: &Connection, ranges: &[(Entity, i64, i64)]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (parent, first, last) in ranges {
        for (child, column, _) in references(*parent) {
            let sql = format!(
                "SELECT id FROM {} WHERE {column} BETWEEN ?1 AND ?2{} ORDER BY id LIMIT 6",
                child.table(),
                outside_ranges(*child, ranges)
            );
            let ids: Vec<i64> = conn
                .prepare(&sql)?
                .query_map(params![first, last], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if !ids.is_empty() {
                out.push(dependant_rows(child.table(), &ids));
            }
        }
    }
    Ok(out)
}

/// Records the rows an import inserted into one table, ids `first..=last`, as one entry.
pub fn record_inserted_range(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    first: i64,
    last: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log(at, os_user, action, entity, entity_id, entity_id_last, batch_id, display_name)
         VALUES (?1, ?2, 'insert', ?3, ?4, ?5, ?6, ?7)",
        params![
            actor.at,
            actor.os_user,
            entity.name(),
            first,
            last,
            actor.batch_id,
            actor.display_name
        ],
    )?;
    Ok(())
}

fn referenced(e: rusqlite::Error, entity: Entity, first: i64, batch: i64) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
        StoreError::Invalid(format!(
            "cannot revert import batch {batch}: {}s it created (from id {first}) are now used by rows written later; delete those first",
            entity.name()
        ))
    } else {
        StoreError::Sqlite(e)
    }
}

/// The row's version: the newest audit entry naming it (0 for a row never changed since
/// an import inserted it). Every write funnel makes to a row is audited, so a form that
/// read version v saves only while the row is still at v.
pub fn row_version(conn: &Connection, entity: Entity, id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(max(id), 0) FROM audit_log WHERE entity = ?1 AND entity_id = ?2",
        )?
        .query_row(params![entity.name(), id], |r| r.get(0))?)
}

/// Refuses (with `StoreError::Conflict`) when the row is no longer at the version a form
/// read; run inside the save's write transaction, so nothing can change in between.
pub fn check_version(
    conn: &Connection,
    entity: Entity,
    id: i64,
    expected: Option<i64>,
) -> Result<()> {
    match expected {
        Some(v) if row_version(conn, entity, id)? != v => Err(StoreError::Conflict {
            entity: entity.name(),
            id,
        }),
        _ => Ok(()),
    }
}

/// Records a bulk action that is not one row (a demo load, a clear) as one audit entry.
pub fn record_event(conn: &Connection, actor: &Actor, entity: &str, note: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_log(at, os_user, action, entity, entity_id, before_json, after_json, batch_id, note, display_name)
         VALUES (?1, ?2, 'insert', ?3, 0, NULL, NULL, NULL, ?4, ?5)",
        params![actor.at, actor.os_user, entity, note, actor.display_name],
    )?;
    Ok(())
}

/// Audits an update of a row whose `before` image was taken: one entry with before and
/// after, or none when nothing changed. Returns whether it changed.
pub fn record_if_changed(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: i64,
    before: Option<String>,
) -> Result<bool> {
    record_if_changed_noted(conn, actor, entity, id, before, None)
}

/// Like [`record_if_changed`], the entry carrying `note` (why the row changed).
pub fn record_if_changed_noted(
    conn: &Connection,
    actor: &Actor,
    entity: Entity,
    id: i64,
    before: Option<String>,
    note: Option<&str>,
) -> Result<bool> {
    let after = row_json(conn, entity, id)?;
    if after == before {
        return Ok(false);
    }
    record(
        conn,
        actor,
        Action::Update,
        entity,
        id,
        before.as_deref(),
        after.as_deref(),
        note,
    )?;
    Ok(true)
}

impl crate::store::Store {
    /// The newest audit entries matching `f`, newest first.
    pub fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, os_user, action, entity, entity_id, entity_id_last, batch_id, note,
                    before_json, after_json, display_name
             FROM audit_log
             WHERE (?1 IS NULL OR entity = ?1) AND (?2 IS NULL OR at >= ?2)
               AND (?3 IS NULL OR os_user = ?3 OR display_name = ?3)
               AND (?5 IS NULL OR id < ?5)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![f.entity, f.since, f.user, f.limit as i64, f.before_id],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    os_user: r.get(2)?,
                    action: r.get(3)?,
                    entity: r.get(4)?,
                    entity_id: r.get(5)?,
                    entity_id_last: r.get(6)?,
                    batch_id: r.get(7)?,
                    note: r.get(8)?,
                    before: r.get(9)?,
                    after: r.get(10)?,
                    display_name: r.get(11)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl crate::store::Store {
    /// Records a whole-database event (a restore, a conversion) in its own transaction.
    pub fn log_event(&mut self, actor: &Actor, entity: &str, note: &str) -> Result<()> {
        let tx = self.begin()?;
        record_event(&tx, actor, entity, note)?;
        tx.commit()?;
        Ok(())
    }

    /// The newest audit entry's id.
    pub fn audit_high_water(&self) -> Result<i64> {
        high_water(&self.conn)
    }

    /// Takes back the audit entries `from`+1..=`to` in one transaction (see `undo_range`).
    pub fn undo_range(&mut self, from: i64, to: i64, actor: &Actor) -> Result<usize> {
        let tx = self.begin()?;
        let n = undo_range(&tx, from, to, actor)?;
        tx.commit()?;
        Ok(n)
    }

    /// Reverts import batch `batch` in one transaction (see `revert_batch`).
    pub fn revert_batch(
        &mut self,
        batch: i64,
        actor: &Actor,
        cascade: bool,
    ) -> Result<RevertReport> {
        let tx = self.begin()?;
        let report = revert_batch(&tx, batch, actor, cascade)?;
        tx.commit()?;
        Ok(report)
    }
}
