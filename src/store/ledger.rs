//! The order ledger follows the deals: a won deal has exactly one order, dated on its close
//! and for its amount; a deal that is not won has none.

use super::audit::{self, Action, Actor, Entity};
use super::db::Result;
use crate::domain::date::iso;
use crate::domain::StageKind;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

/// A deal as the ledger needs it.
pub struct DealForLedger {
    pub deal_id: i64,
    /// Inserted just now: it cannot have an order yet.
    pub is_new: bool,
    pub kind: StageKind,
    pub customer_id: i64,
    pub product_id: Option<i64>,
    pub closed_on: Option<NaiveDate>,
    pub cents: i64,
}

/// Brings the deal's order in line. Updates and deletes are audited row by row; inserted
/// orders too when `audit_inserts` (an import audits its inserts as one id range instead).
pub fn sync_order(
    conn: &Connection,
    actor: &Actor,
    d: &DealForLedger,
    audit_inserts: bool,
) -> Result<()> {
    let order: Option<i64> = if d.is_new {
        None
    } else {
        conn.prepare_cached("SELECT id FROM orders WHERE deal_id = ?1")?
            .query_row([d.deal_id], |r| r.get(0))
            .optional()?
    };
    match (d.kind, order, d.closed_on) {
        (StageKind::Won, None, Some(on)) => {
            conn.prepare_cached(
                "INSERT INTO orders(customer_id, deal_id, product_id, ordered_on, amount_cents) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![d.customer_id, d.deal_id, d.product_id, iso(on), d.cents])?;
            if audit_inserts {
                let id = conn.last_insert_rowid();
                let after = audit::row_json(conn, Entity::Order, id)?;
                audit::record(
                    conn,
                    actor,
                    Action::Insert,
                    Entity::Order,
                    id,
                    None,
                    after.as_deref(),
                    None,
                )?;
            }
        }
        (StageKind::Won, Some(id), Some(on)) => {
            let before = audit::row_json(conn, Entity::Order, id)?;
            conn.prepare_cached(
                "UPDATE orders SET customer_id = ?2, product_id = ?3, ordered_on = ?4, amount_cents = ?5 WHERE id = ?1",
            )?
            .execute(params![id, d.customer_id, d.product_id, iso(on), d.cents])?;
            audit::record_if_changed(conn, actor, Entity::Order, id, before)?;
        }
        (kind, Some(id), _) if kind != StageKind::Won => {
            let before = audit::row_json(conn, Entity::Order, id)?;
            conn.execute("DELETE FROM orders WHERE id = ?1", [id])?;
            audit::record(
                conn,
                actor,
                Action::Delete,
                Entity::Order,
                id,
                before.as_deref(),
                None,
                None,
            )?;
        }
        _ => {}
    }
    Ok(())
}
