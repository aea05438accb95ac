//! Loading generated data (the demo) into PostgreSQL: rows are buffered per table in
//! COPY's text format and sent with `COPY … FROM STDIN` a few megabytes at a time; ids are
//! handed out by the loader (the tables are locked for the load, and each identity
//! sequence is moved past the last id at the end), so a parent's id is known before its
//! row is sent. Foreign keys and plain indexes are dropped for the load and built again
//! before the commit (`Deferred`), as `funnel migrate` does: one check per key over all
//! rows instead of one per row. One transaction: a failure leaves nothing.

use super::store::{PgStore, TxError, TxResult};
use crate::domain::audit::Actor;
use crate::domain::bulk::{BulkSink, NewDeal, SinkResult};
use crate::store::db::StoreError;
use crate::store::db::DATA_TABLES;
use crate::store::migrate::escape_into;
use postgres::Transaction;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

/// The foreign keys and the indexes backing no constraint, dropped for a bulk write
/// inside the caller's transaction and built again by `rebuild` before it commits.
pub(crate) struct Deferred {
    keys: Vec<(String, String, String)>,
    indexes: Vec<(String, String)>,
}

impl Deferred {
    pub(crate) fn drop(tx: &mut Transaction) -> Result<Deferred, postgres::Error> {
        let keys: Vec<(String, String, String)> = tx
            .query(
                "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
                 FROM pg_constraint
                 WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
                 ORDER BY conrelid::regclass::text, conname",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        for (table, name, _) in &keys {
            tx.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))?;
        }
        let indexes: Vec<(String, String)> = tx
            .query(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                 WHERE c.relnamespace = current_schema()::regnamespace
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                 ORDER BY 1",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (name, _) in &indexes {
            tx.batch_execute(&format!("DROP INDEX {name}"))?;
        }
        Ok(Deferred { keys, indexes })
    }

    /// Builds the indexes and adds the keys back (each checks every row once). On a
    /// failure, what broke: "the index NAME" or "TABLE's foreign key NAME", and the error.
    pub(crate) fn rebuild(&self, tx: &mut Transaction) -> Result<(), (String, postgres::Error)> {
        for (name, definition) in &self.indexes {
            tx.batch_execute(definition)
                .map_err(|e| (format!("the index {name}"), e))?;
        }
        for (table, name, definition) in &self.keys {
            tx.batch_execute(&format!(
                "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}"
            ))
            .map_err(|e| (format!("the foreign key {name} of {table}"), e))?;
        }
        Ok(())
    }
}

/// The tables a load writes, with the columns the loader sends (id first).
const COLUMNS: &[(&str, &str)] = &[
    ("teams", "id, name, parent_id"),
    ("reps", "id, name, email, team_id, capacity, hired_on"),
    ("products", "id, sku, name, family, list_price_cents"),
    ("stages", "id, name, position, probability, kind, forecast_category"),
    (
        "customers",
        "id, external_id, name, owner_rep_id, industry, segment, region, city, country, email, \
         phone, status, contact_every_days, created_on",
    ),
    ("contacts", "id, external_id, customer_id, name, title, email, is_primary"),
    (
        "deals",
        "id, external_id, name, customer_id, owner_rep_id, product_id, amount_cents, stage_id, \
         created_on, stage_entered_on, expected_close, closed_on, source, lost_reason, discount_pct",
    ),
    ("stage_changes", "id, deal_id, from_stage_id, to_stage_id, changed_on"),
    (
        "activities",
        "id, external_id, customer_id, deal_id, rep_id, kind, subject, due_on, done_on, outcome",
    ),
    (
        "orders",
        "id, external_id, customer_id, deal_id, product_id, ordered_on, amount_cents, quantity",
    ),
    (
        "targets",
        "id, scope, team_id, rep_id, scope_key, period, metric, value",
    ),
    (
        "target_revisions",
        "id, target_id, old_value, new_value, changed_at, changed_by, reason",
    ),
];

/// A buffer is sent once it holds this many bytes.
const FLUSH_AT: usize = 4 << 20;

/// One field of a COPY row.
enum F<'a> {
    I(i64),
    R(f64),
    T(&'a str),
    B(bool),
    N,
}

impl<'a> From<i64> for F<'a> {
    fn from(v: i64) -> Self {
        F::I(v)
    }
}
impl<'a> From<&'a str> for F<'a> {
    fn from(v: &'a str) -> Self {
        F::T(v)
    }
}
impl<'a> From<Option<i64>> for F<'a> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(F::N, F::I)
    }
}
impl<'a> From<Option<&'a str>> for F<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(F::N, F::T)
    }
}

struct Loader<'t, 'c> {
    tx: RefCell<&'t mut Transaction<'c>>,
    /// Per table: the next id to hand out and the rows not sent yet.
    tables: RefCell<HashMap<&'static str, (i64, Vec<u8>)>>,
    statuses: RefCell<(Vec<i64>, Vec<String>)>,
}

impl Loader<'_, '_> {
    /// Buffers one row of `table` with the next id; returns that id.
    fn row(&self, table: &'static str, fields: &[F]) -> SinkResult<i64> {
        let mut tables = self.tables.borrow_mut();
        let (next, buf) = tables.get_mut(table).ok_or("no such table")?;
        let id = *next;
        *next += 1;
        let _ = write!(buf, "{id}");
        for f in fields {
            buf.push(b'\t');
            match f {
                F::I(v) => {
                    let _ = write!(buf, "{v}");
                }
                F::R(v) => {
                    let _ = write!(buf, "{v:?}");
                }
                F::T(s) => escape_into(buf, s),
                F::B(b) => buf.push(if *b { b't' } else { b'f' }),
                F::N => buf.extend_from_slice(b"\\N"),
            }
        }
        buf.push(b'\n');
        if buf.len() >= FLUSH_AT {
            let data = std::mem::take(buf);
            drop(tables);
            self.send(table, &data)?;
        }
        Ok(id)
    }

    fn send(&self, table: &str, data: &[u8]) -> Result<(), postgres::Error> {
        if data.is_empty() {
            return Ok(());
        }
        let columns = COLUMNS
            .iter()
            .find(|(t, _)| *t == table)
            .map_or("", |(_, c)| c);
        let mut tx = self.tx.borrow_mut();
        let mut w = tx.copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))?;
        // A write error here is the connection's; `finish` reports it as the server's.
        let _ = w.write_all(data);
        w.finish()?;
        Ok(())
    }

    /// Sends what is left, moves each sequence past the ids handed out, applies the
    /// customers' statuses.
    fn finish(&self) -> Result<(), postgres::Error> {
        let rest: Vec<(&'static str, i64, Vec<u8>)> = self
            .tables
            .borrow_mut()
            .iter_mut()
            .map(|(t, (next, buf))| (*t, *next, std::mem::take(buf)))
            .collect();
        for (table, _, data) in &rest {
            self.send(table, data)?;
        }
        let mut tx = self.tx.borrow_mut();
        for (table, next, _) in &rest {
            tx.query(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), $2::bigint, true) WHERE $2::bigint > 0",
                &[table, &(next - 1)],
            )?;
        }
        let (ids, statuses) = &*self.statuses.borrow();
        tx.execute(
            "UPDATE customers c SET status = v.s FROM unnest($1::bigint[], $2::text[]) AS v(id, s)
             WHERE c.id = v.id",
            &[ids, statuses],
        )?;
        Ok(())
    }
}

impl BulkSink for Loader<'_, '_> {
    fn team(&self, name: &str, parent: Option<i64>) -> SinkResult<i64> {
        self.row("teams", &[name.into(), parent.into()])
    }
    fn rep(
        &self,
        name: &str,
        email: &str,
        team: i64,
        capacity: f64,
        hired_on: &str,
    ) -> SinkResult<i64> {
        self.row(
            "reps",
            &[
                name.into(),
                email.into(),
                team.into(),
                F::R(capacity),
                hired_on.into(),
            ],
        )
    }
    fn product(
        &self,
        sku: &str,
        name: &str,
        family: &str,
        list_price_cents: i64,
    ) -> SinkResult<i64> {
        self.row(
            "products",
            &[
                sku.into(),
                name.into(),
                family.into(),
                list_price_cents.into(),
            ],
        )
    }
    fn stage(
        &self,
        name: &str,
        position: i64,
        probability: f64,
        kind: &str,
        category: &str,
    ) -> SinkResult<i64> {
        self.row(
            "stages",
            &[
                name.into(),
                position.into(),
                F::R(probability),
                kind.into(),
                category.into(),
            ],
        )
    }
    fn customer(
        &self,
        external_id: &str,
        name: &str,
        owner: i64,
        industry: &str,
        segment: &str,
        region: &str,
        city: &str,
        country: &str,
        email: &str,
        phone: &str,
        contact_every_days: i64,
        created_on: &str,
    ) -> SinkResult<i64> {
        self.row(
            "customers",
            &[
                external_id.into(),
                name.into(),
                owner.into(),
                industry.into(),
                segment.into(),
                region.into(),
                city.into(),
                country.into(),
                email.into(),
                phone.into(),
                "prospect".into(),
                contact_every_days.into(),
                created_on.into(),
            ],
        )
    }
    fn set_customer_status(&self, id: i64, status: &str) -> SinkResult<()> {
        let mut s = self.statuses.borrow_mut();
        s.0.push(id);
        s.1.push(status.to_string());
        Ok(())
    }
    fn contact(
        &self,
        external_id: &str,
        customer: i64,
        name: &str,
        title: &str,
        email: &str,
        primary: bool,
    ) -> SinkResult<i64> {
        self.row(
            "contacts",
            &[
                external_id.into(),
                customer.into(),
                name.into(),
                title.into(),
                email.into(),
                F::B(primary),
            ],
        )
    }
    fn deal(&self, d: &NewDeal) -> SinkResult<i64> {
        self.row(
            "deals",
            &[
                d.external_id.into(),
                d.name.into(),
                d.customer_id.into(),
                d.owner_rep_id.into(),
                d.product_id.into(),
                d.amount_cents.into(),
                d.stage_id.into(),
                d.created_on.into(),
                d.stage_entered_on.into(),
                d.expected_close.into(),
                d.closed_on.into(),
                d.source.into(),
                d.lost_reason.into(),
                F::R(d.discount_pct),
            ],
        )
    }
    fn stage_change(&self, deal: i64, from: Option<i64>, to: i64, on: &str) -> SinkResult<()> {
        self.row(
            "stage_changes",
            &[deal.into(), from.into(), to.into(), on.into()],
        )?;
        Ok(())
    }
    fn activity(
        &self,
        customer: i64,
        deal: Option<i64>,
        rep: i64,
        kind: &str,
        subject: &str,
        due_on: Option<&str>,
        done_on: Option<&str>,
        outcome: Option<&str>,
    ) -> SinkResult<()> {
        // The readable external id of the id this row gets (A-0000123), as SQLite's loader.
        let next = self.tables.borrow().get("activities").map_or(0, |t| t.0);
        let external = format!("A-{next:07}");
        self.row(
            "activities",
            &[
                external.as_str().into(),
                customer.into(),
                deal.into(),
                rep.into(),
                kind.into(),
                subject.into(),
                due_on.into(),
                done_on.into(),
                outcome.into(),
            ],
        )?;
        Ok(())
    }
    fn order(
        &self,
        external_id: Option<&str>,
        customer: i64,
        deal: Option<i64>,
        product: i64,
        on: &str,
        cents: i64,
        quantity: i64,
    ) -> SinkResult<()> {
        self.row(
            "orders",
            &[
                external_id.into(),
                customer.into(),
                deal.into(),
                product.into(),
                on.into(),
                cents.into(),
                quantity.into(),
            ],
        )?;
        Ok(())
    }
    fn target(
        &self,
        scope: &str,
        team: Option<i64>,
        rep: Option<i64>,
        period: &str,
        metric: &str,
        value: i64,
    ) -> SinkResult<i64> {
        let key = match (team, rep) {
            (Some(t), _) => format!("team:{t}"),
            (_, Some(r)) => format!("rep:{r}"),
            _ => "company".to_string(),
        };
        self.row(
            "targets",
            &[
                scope.into(),
                team.into(),
                rep.into(),
                key.as_str().into(),
                period.into(),
                metric.into(),
                value.into(),
            ],
        )
    }
    fn target_revision(
        &self,
        target: i64,
        old: Option<i64>,
        new: i64,
        at: &str,
        by: &str,
        reason: &str,
    ) -> SinkResult<()> {
        self.row(
            "target_revisions",
            &[
                target.into(),
                old.into(),
                new.into(),
                at.into(),
                by.into(),
                reason.into(),
            ],
        )?;
        Ok(())
    }
}

fn event(tx: &mut Transaction, actor: &Actor, note: &str) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO audit_log(at, os_user, action, entity, entity_id, note, display_name)
         VALUES ($1::text::timestamptz, $2, 'insert', 'database', 0, $3, $4)",
        &[&actor.at, &actor.os_user, &note, &actor.display_name],
    )?;
    Ok(())
}

impl PgStore {
    /// See `Loading::bulk_load_with`: as SQLite's `bulk_load`, on PostgreSQL.
    pub fn bulk_load_pg(
        &self,
        replacing: Option<&str>,
        actor: &Actor,
        progress: &mut dyn FnMut(&str, f64),
        fill: &mut crate::store::backend::Fill,
    ) -> SinkResult<()> {
        // Not retried: a load is one long transaction that nothing else writes into (its
        // tables are locked), so a serialization failure cannot end it.
        let result = self.once(|tx| -> TxResult<()> {
            tx.batch_execute(&format!(
                "LOCK TABLE {} IN EXCLUSIVE MODE",
                COLUMNS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            ))?;
            if let Some(action) = replacing {
                let mut removed = Vec::new();
                for t in DATA_TABLES {
                    let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {t}"), &[])?.get(0);
                    if n > 0 {
                        removed.push(format!("{n} {t}"));
                    }
                }
                if !removed.is_empty() {
                    event(tx, actor, &format!("{action} removed {}", removed.join(", ")))?;
                }
                // Earlier import batches can no longer be reverted: their rows are gone.
                let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                tx.execute(
                    "UPDATE import_batches SET reverted_at = 'removed by demo --force at ' || $1
                     WHERE reverted_at IS NULL",
                    &[&at],
                )?;
                tx.batch_execute(
                    "DELETE FROM forecast_points; DELETE FROM forecast_history; DELETE FROM forecast_runs;
                     DELETE FROM deal_scores; DELETE FROM deal_score_history; DELETE FROM model_runs;
                     DELETE FROM customer_intel; DELETE FROM intel_runs;
                     DELETE FROM segment_members; DELETE FROM segment_profiles; DELETE FROM segment_runs;
                     DELETE FROM target_revisions; DELETE FROM targets; DELETE FROM orders;
                     DELETE FROM activities; DELETE FROM stage_changes; DELETE FROM deals;
                     DELETE FROM contacts; DELETE FROM customers; DELETE FROM stages; DELETE FROM products;
                     DELETE FROM reps; UPDATE teams SET parent_id = NULL; DELETE FROM teams;",
                )?;
            }
            let deferred = Deferred::drop(tx)?;
            let mut tables = HashMap::new();
            for (t, _) in COLUMNS {
                let next: i64 = tx
                    .query_one(
                        &format!(
                            "SELECT greatest(
                               (SELECT last_value + 1 FROM pg_sequences
                                WHERE schemaname = current_schema() AND sequencename = '{t}_id_seq'),
                               (SELECT coalesce(max(id), 0) + 1 FROM {t}))"
                        ),
                        &[],
                    )?
                    .get::<_, Option<i64>>(0)
                    .unwrap_or(1);
                tables.insert(*t, (next, Vec::new()));
            }
            let note = {
                let loader = Loader {
                    tx: RefCell::new(&mut *tx),
                    tables: RefCell::new(tables),
                    statuses: RefCell::new((Vec::new(), Vec::new())),
                };
                let note = fill(&loader, progress)
                    .map_err(|e| TxError::Store(StoreError::Invalid(e.to_string())))?;
                loader.finish()?;
                note
            };
            event(tx, actor, &note)?;
            progress("indexing", 0.97);
            deferred.rebuild(tx).map_err(|(what, e)| {
                TxError::Store(StoreError::Invalid(format!(
                    "the loaded rows break {what} ({}); nothing was kept",
                    e.as_db_error().map_or(e.to_string(), |d| d.message().to_string())
                )))
            })?;
            progress("saving", 0.99);
            Ok(())
        });
        progress("done", 1.0);
        result.map_err(|e| Box::new(e) as crate::domain::bulk::SinkError)
    }
}
