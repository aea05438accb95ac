//! Export of every entity in the canonical import format, streamed row by row.

use super::db::{Result, Store, StoreError};
use crate::domain::{Cell, Money};
use rusqlite::types::ValueRef;

/// An exportable entity: its columns (the canonical import headers where it is importable)
/// and the query that produces them. Columns named in `money` hold cents and are written
/// as decimal units.
pub(crate) struct Spec {
    pub(crate) columns: &'static [&'static str],
    pub(crate) money: &'static [&'static str],
    pub(crate) sql: &'static str,
}

/// Names accepted by `funnel export`.
pub const EXPORT_KINDS: &[&str] = &[
    "customers",
    "contacts",
    "deals",
    "activities",
    "orders",
    "targets",
    "teams",
    "reps",
    "products",
    "stages",
    "stage_changes",
    "target_revisions",
    "import_batches",
    "audit_log",
];

pub(crate) fn spec(kind: &str) -> Option<Spec> {
    Some(match kind {
        "customers" => Spec {
            columns: &[
                "external_id", "name", "owner", "industry", "segment", "region", "city", "country",
                "email", "phone", "status", "contact_every_days", "created_on",
            ],
            money: &[],
            sql: "SELECT c.external_id, c.name, r.name, c.industry, c.segment, c.region, c.city, c.country,
                    c.email, c.phone, c.status, c.contact_every_days, c.created_on
                  FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id ORDER BY c.id",
        },
        "contacts" => Spec {
            columns: &["external_id", "customer_external_id", "customer", "name", "title", "email", "phone", "is_primary"],
            money: &[],
            sql: "SELECT k.external_id, c.external_id, c.name, k.name, k.title, k.email, k.phone, k.is_primary
                  FROM contacts k JOIN customers c ON c.id = k.customer_id ORDER BY k.id",
        },
        "deals" => Spec {
            columns: &[
                "external_id", "name", "customer_external_id", "customer", "owner", "product", "amount",
                "stage", "created_on", "expected_close", "closed_on", "source", "lost_reason", "discount_pct",
            ],
            money: &["amount"],
            sql: "SELECT d.external_id, d.name, c.external_id, c.name, r.name, p.sku, d.amount_cents,
                    s.name, d.created_on, d.expected_close, d.closed_on, d.source, d.lost_reason, d.discount_pct
                  FROM deals d JOIN customers c ON c.id = d.customer_id JOIN stages s ON s.id = d.stage_id
                  LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN products p ON p.id = d.product_id
                  ORDER BY d.id",
        },
        "activities" => Spec {
            columns: &[
                "external_id", "customer_external_id", "customer", "deal_external_id", "rep", "kind",
                "subject", "due_on", "done_on", "outcome",
            ],
            money: &[],
            sql: "SELECT a.external_id, c.external_id, c.name, d.external_id, r.name, a.kind, a.subject,
                    a.due_on, a.done_on, a.outcome
                  FROM activities a JOIN customers c ON c.id = a.customer_id
                  LEFT JOIN deals d ON d.id = a.deal_id LEFT JOIN reps r ON r.id = a.rep_id ORDER BY a.id",
        },
        "orders" => Spec {
            columns: &[
                "external_id", "customer_external_id", "customer", "deal_external_id", "product",
                "ordered_on", "amount", "quantity",
            ],
            money: &["amount"],
            sql: "SELECT o.external_id, c.external_id, c.name, d.external_id, p.sku, o.ordered_on,
                    o.amount_cents, o.quantity
                  FROM orders o JOIN customers c ON c.id = o.customer_id
                  LEFT JOIN deals d ON d.id = o.deal_id LEFT JOIN products p ON p.id = o.product_id
                  ORDER BY o.id",
        },
        "targets" => Spec {
            columns: &["scope", "name", "period", "metric", "value"],
            money: &[],
            sql: "SELECT t.scope, coalesce(tm.name, r.name), t.period, t.metric, t.value
                  FROM targets t LEFT JOIN teams tm ON tm.id = t.team_id LEFT JOIN reps r ON r.id = t.rep_id
                  ORDER BY t.id",
        },
        "teams" => Spec {
            columns: &["external_id", "name", "parent"],
            money: &[],
            sql: "SELECT t.external_id, t.name, p.name FROM teams t LEFT JOIN teams p ON p.id = t.parent_id ORDER BY t.id",
        },
        "reps" => Spec {
            columns: &["external_id", "name", "email", "team", "capacity", "hired_on", "active"],
            money: &[],
            sql: "SELECT r.external_id, r.name, r.email, t.name, r.capacity, r.hired_on,
                    CASE r.active WHEN 1 THEN 'yes' ELSE 'no' END
                  FROM reps r LEFT JOIN teams t ON t.id = r.team_id ORDER BY r.id",
        },
        "products" => Spec {
            columns: &["sku", "name", "family", "list_price"],
            money: &["list_price"],
            sql: "SELECT sku, name, family, list_price_cents FROM products ORDER BY id",
        },
        "stages" => Spec {
            columns: &["name", "kind", "probability", "position", "category"],
            money: &[],
            sql: "SELECT name, kind, probability, position, forecast_category FROM stages ORDER BY position, id",
        },
        "stage_changes" => Spec {
            columns: &["deal_external_id", "stage", "entered_on", "inferred"],
            money: &[],
            sql: "SELECT d.external_id, t.name, sc.changed_on, CASE sc.inferred WHEN 1 THEN 'yes' ELSE 'no' END
                  FROM stage_changes sc JOIN deals d ON d.id = sc.deal_id
                  JOIN stages t ON t.id = sc.to_stage_id ORDER BY sc.deal_id, sc.changed_on, t.kind <> 'open', t.position, sc.id",
        },
        "target_revisions" => Spec {
            columns: &["target_id", "metric", "old_value", "new_value", "changed_at", "changed_by", "reason"],
            money: &[],
            // Revenue targets are kept in cents: written as money, counts as they are.
            sql: "SELECT v.target_id, t.metric,
                    CASE WHEN t.metric = 'won_revenue' AND v.old_value IS NOT NULL
                         THEN printf('%.2f', v.old_value / 100.0) ELSE v.old_value END,
                    CASE WHEN t.metric = 'won_revenue'
                         THEN printf('%.2f', v.new_value / 100.0) ELSE v.new_value END,
                    v.changed_at, v.changed_by, v.reason
                  FROM target_revisions v JOIN targets t ON t.id = v.target_id ORDER BY v.id",
        },
        "import_batches" => Spec {
            columns: &["id", "kind", "file", "vendor", "created_at", "os_user", "inserted", "updated", "rejected", "reverted_at"],
            money: &[],
            sql: "SELECT id, kind, file, vendor, created_at, os_user, inserted, updated, rejected, reverted_at
                  FROM import_batches ORDER BY id",
        },
        "audit_log" => Spec {
            columns: &["id", "at", "os_user", "action", "entity", "entity_id", "before", "after", "batch_id", "note"],
            money: &[],
            sql: "SELECT id, at, os_user, action, entity, entity_id, before_json, after_json, batch_id, note
                  FROM audit_log ORDER BY id",
        },
        _ => return None,
    })
}

impl Store {
    /// Streams an entity's rows, calling `header` once and `row` for each row.
    pub fn export(
        &self,
        kind: &str,
        header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
        row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let spec = spec(kind).ok_or_else(|| {
            StoreError::Invalid(format!(
                "cannot export '{kind}': choose one of {}",
                EXPORT_KINDS.join(", ")
            ))
        })?;
        let io = StoreError::Output;
        header(spec.columns).map_err(io)?;
        let money: Vec<bool> = spec
            .columns
            .iter()
            .map(|c| spec.money.contains(c))
            .collect();
        let mut stmt = self.conn.prepare(spec.sql)?;
        let mut rows = stmt.query([])?;
        let mut cells = Vec::with_capacity(spec.columns.len());
        let mut n = 0;
        while let Some(r) = rows.next()? {
            cells.clear();
            for (i, &is_money) in money.iter().enumerate() {
                cells.push(match r.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) if is_money => Cell::Money(Money(v)),
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        Cell::Text(String::from_utf8_lossy(t).into_owned())
                    }
                });
            }
            // Revenue targets are money; the other metrics are counts.
            if kind == "targets" && matches!(&cells[3], Cell::Text(m) if m == "won_revenue") {
                if let Cell::Int(v) = cells[4] {
                    cells[4] = Cell::Money(Money(v));
                }
            }
            row(&cells).map_err(io)?;
            n += 1;
        }
        Ok(n)
    }
}
