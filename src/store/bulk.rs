//! Fast inserts for generated data (the demo), with cached prepared statements inside one
//! transaction. Not audited row by row: the caller audits the load as one action.

use super::db::Result;
pub use crate::domain::bulk::{BulkSink, NewDeal, SinkResult};
use rusqlite::{params, Connection};

pub struct BulkWriter<'c> {
    conn: &'c Connection,
    /// The next activity id (0 until read), for readable external ids.
    next_activity: std::cell::Cell<i64>,
}

impl<'c> BulkWriter<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        BulkWriter {
            conn,
            next_activity: std::cell::Cell::new(0),
        }
    }

    fn insert(&self, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<i64> {
        self.conn.prepare_cached(sql)?.execute(p)?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn team(&self, name: &str, parent: Option<i64>) -> Result<i64> {
        self.insert(
            "INSERT INTO teams(name, parent_id) VALUES (?1, ?2)",
            params![name, parent],
        )
    }

    pub fn rep(
        &self,
        name: &str,
        email: &str,
        team: i64,
        capacity: f64,
        hired_on: &str,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO reps(name, email, team_id, capacity, hired_on) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, email, team, capacity, hired_on],
        )
    }

    pub fn product(
        &self,
        sku: &str,
        name: &str,
        family: &str,
        list_price_cents: i64,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO products(sku, name, family, list_price_cents) VALUES (?1, ?2, ?3, ?4)",
            params![sku, name, family, list_price_cents],
        )
    }

    pub fn stage(
        &self,
        name: &str,
        position: i64,
        probability: f64,
        kind: &str,
        category: &str,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO stages(name, position, probability, kind, forecast_category) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, position, probability, kind, category],
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn customer(
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
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO customers(external_id, name, owner_rep_id, industry, segment, region, city, country,
               email, phone, status, contact_every_days, created_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'prospect', ?11, ?12)",
            params![external_id, name, owner, industry, segment, region, city, country, email, phone, contact_every_days, created_on],
        )
    }

    pub fn set_customer_status(&self, id: i64, status: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE customers SET status = ?2 WHERE id = ?1")?
            .execute(params![id, status])?;
        Ok(())
    }

    pub fn contact(
        &self,
        external_id: &str,
        customer: i64,
        name: &str,
        title: &str,
        email: &str,
        primary: bool,
    ) -> Result<i64> {
        self.insert(
            "INSERT INTO contacts(external_id, customer_id, name, title, email, is_primary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![external_id, customer, name, title, email, primary],
        )
    }

    pub fn deal(&self, d: &NewDeal) -> Result<i64> {
        self.insert(
            "INSERT INTO deals(external_id, name, customer_id, owner_rep_id, product_id, amount_cents, stage_id,
               created_on, stage_entered_on, expected_close, closed_on, source, lost_reason, discount_pct)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                d.external_id,
                d.name,
                d.customer_id,
                d.owner_rep_id,
                d.product_id,
                d.amount_cents,
                d.stage_id,
                d.created_on,
                d.stage_entered_on,
                d.expected_close,
                d.closed_on,
                d.source,
                d.lost_reason,
                d.discount_pct
            ],
        )
    }

    pub fn stage_change(&self, deal: i64, from: Option<i64>, to: i64, on: &str) -> Result<()> {
        self.insert(
            "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on) VALUES (?1, ?2, ?3, ?4)",
            params![deal, from, to, on],
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn activity(
        &self,
        customer: i64,
        deal: Option<i64>,
        rep: i64,
        kind: &str,
        subject: &str,
        due_on: Option<&str>,
        done_on: Option<&str>,
        outcome: Option<&str>,
    ) -> Result<()> {
        // The id the row will get (ids are handed out in order inside the load's
        // transaction), read once and then counted.
        if self.next_activity.get() == 0 {
            let next = crate::store::db::next_id(self.conn, "activities")?;
            self.next_activity.set(next);
        }
        self.insert(
            // A readable external id like the screens give (A-0000123), so that an export
            // re-imports as updates.
            "INSERT INTO activities(external_id, customer_id, deal_id, rep_id, kind, subject, due_on, done_on, outcome)
             VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                customer,
                deal,
                rep,
                kind,
                subject,
                due_on,
                done_on,
                outcome,
                format!("A-{:07}", self.next_activity.get())
            ],
        )?;
        self.next_activity.set(self.next_activity.get() + 1);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub fn order(
        &self,
        external_id: Option<&str>,
        customer: i64,
        deal: Option<i64>,
        product: i64,
        on: &str,
        cents: i64,
        quantity: i64,
    ) -> Result<()> {
        self.insert(
            "INSERT INTO orders(external_id, customer_id, deal_id, product_id, ordered_on, amount_cents, quantity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![external_id, customer, deal, product, on, cents, quantity],
        )?;
        Ok(())
    }

    pub fn target(
        &self,
        scope: &str,
        team: Option<i64>,
        rep: Option<i64>,
        period: &str,
        metric: &str,
        value: i64,
    ) -> Result<i64> {
        let key = match (team, rep) {
            (Some(t), _) => format!("team:{t}"),
            (_, Some(r)) => format!("rep:{r}"),
            _ => "company".to_string(),
        };
        self.insert(
            "INSERT INTO targets(scope, team_id, rep_id, scope_key, period, metric, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![scope, team, rep, key, period, metric, value],
        )
    }

    pub fn target_revision(
        &self,
        target: i64,
        old: Option<i64>,
        new: i64,
        at: &str,
        by: &str,
        reason: &str,
    ) -> Result<()> {
        self.insert(
            "INSERT INTO target_revisions(target_id, old_value, new_value, changed_at, changed_by, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![target, old, new, at, by, reason],
        )?;
        Ok(())
    }
}

/// Secondary indexes dropped for a bulk load and rebuilt after it: building an index
/// once from sorted data is many times faster than updating it a million times.
pub struct DeferredIndexes {
    definitions: Vec<String>,
}

impl DeferredIndexes {
    /// Drops the non-unique indexes of the big tables (inside the caller's transaction) and
    /// gives SQLite a large page cache for the load.
    pub fn drop(conn: &Connection) -> Result<DeferredIndexes> {
        conn.execute_batch("PRAGMA cache_size = -262144")?;
        Self::drop_where(
            conn,
            "tbl_name IN ('customers', 'contacts', 'deals', 'stage_changes', 'activities', 'orders', 'targets')
               -- Children are written in their parent's order, so these grow at the end.
               AND name NOT IN ('stage_changes_deal', 'activities_deal', 'contacts_customer')",
            [],
        )
    }

    /// Drops the named indexes that exist (inside the caller's transaction; a rollback
    /// brings them back), keeping their definitions for [`DeferredIndexes::rebuild`].
    pub fn drop_named(conn: &Connection, names: &[&str]) -> Result<DeferredIndexes> {
        let list = names.join(",");
        Self::drop_where(
            conn,
            "instr(',' || ?1 || ',', ',' || name || ',') > 0",
            [list],
        )
    }

    fn drop_where<P: rusqlite::Params>(
        conn: &Connection,
        filter: &str,
        params: P,
    ) -> Result<DeferredIndexes> {
        let mut stmt = conn.prepare(&format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND {filter}"
        ))?;
        let found: Vec<(String, String)> = stmt
            .query_map(params, |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &found {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        Ok(DeferredIndexes {
            definitions: found.into_iter().map(|(_, sql)| sql).collect(),
        })
    }

    /// Builds the dropped indexes again (each from one sorted pass over its table), with
    /// the page cache lowered to 16 MiB: the sort's memory follows the cache's size. (Where
    /// the sort spills is the connection's `temp_store`, which cannot change inside the
    /// transaction: an import sets it to files before it begins.)
    pub fn build(&self, conn: &Connection) -> Result<()> {
        let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA cache_size = -16384")?;
        let built = self
            .definitions
            .iter()
            .try_for_each(|sql| conn.execute_batch(sql));
        conn.execute_batch(&format!("PRAGMA cache_size = {cache}"))?;
        Ok(built?)
    }

    pub fn rebuild(self, conn: &Connection) -> Result<()> {
        self.build(conn)?;
        conn.execute_batch("PRAGMA cache_size = -2000")?;
        Ok(())
    }
}

/// The database as a bulk sink: each call is the writer's own insert.
impl BulkSink for BulkWriter<'_> {
    fn team(&self, name: &str, parent: Option<i64>) -> SinkResult<i64> {
        Ok(BulkWriter::team(self, name, parent)?)
    }
    fn rep(
        &self,
        name: &str,
        email: &str,
        team: i64,
        capacity: f64,
        hired_on: &str,
    ) -> SinkResult<i64> {
        Ok(BulkWriter::rep(
            self, name, email, team, capacity, hired_on,
        )?)
    }
    fn product(
        &self,
        sku: &str,
        name: &str,
        family: &str,
        list_price_cents: i64,
    ) -> SinkResult<i64> {
        Ok(BulkWriter::product(
            self,
            sku,
            name,
            family,
            list_price_cents,
        )?)
    }
    fn stage(
        &self,
        name: &str,
        position: i64,
        probability: f64,
        kind: &str,
        category: &str,
    ) -> SinkResult<i64> {
        Ok(BulkWriter::stage(
            self,
            name,
            position,
            probability,
            kind,
            category,
        )?)
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
        Ok(BulkWriter::customer(
            self,
            external_id,
            name,
            owner,
            industry,
            segment,
            region,
            city,
            country,
            email,
            phone,
            contact_every_days,
            created_on,
        )?)
    }
    fn set_customer_status(&self, id: i64, status: &str) -> SinkResult<()> {
        Ok(BulkWriter::set_customer_status(self, id, status)?)
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
        Ok(BulkWriter::contact(
            self,
            external_id,
            customer,
            name,
            title,
            email,
            primary,
        )?)
    }
    fn deal(&self, d: &NewDeal) -> SinkResult<i64> {
        Ok(BulkWriter::deal(self, d)?)
    }
    fn stage_change(&self, deal: i64, from: Option<i64>, to: i64, on: &str) -> SinkResult<()> {
        Ok(BulkWriter::stage_change(self, deal, from, to, on)?)
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
        Ok(BulkWriter::activity(
            self, customer, deal, rep, kind, subject, due_on, done_on, outcome,
        )?)
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
        Ok(BulkWriter::order(
            self,
            external_id,
            customer,
            deal,
            product,
            on,
            cents,
            quantity,
        )?)
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
        Ok(BulkWriter::target(
            self, scope, team, rep, period, metric, value,
        )?)
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
        Ok(BulkWriter::target_revision(
            self, target, old, new, at, by, reason,
        )?)
    }
}

impl super::Store {
    /// Loads generated data in one transaction with the bulk-load settings: with
    /// `replacing` (the action's name, such as "demo --force") every row is removed first
    /// and audited as what it removed; the big tables' secondary indexes are dropped and
    /// rebuilt after; references are checked in debug builds; the load is audited as
    /// `describe` says. `fill` writes the rows through the sink; a failure anywhere rolls
    /// everything back.
    pub fn bulk_load<R, E: From<super::StoreError>>(
        &mut self,
        replacing: Option<&str>,
        actor: &super::audit::Actor,
        progress: &mut dyn FnMut(&str, f64),
        fill: impl FnOnce(&dyn BulkSink, &mut dyn FnMut(&str, f64)) -> std::result::Result<R, E>,
        describe: impl FnOnce(&R) -> String,
    ) -> std::result::Result<R, E> {
        self.with_bulk_load(|store| {
            let tx = store.begin()?;
            if let Some(action) = replacing {
                let counts = super::db::data_counts(&tx)?;
                let removed: Vec<String> = counts
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(t, n)| format!("{n} {t}"))
                    .collect();
                if !removed.is_empty() {
                    super::audit::record_event(
                        &tx,
                        actor,
                        "database",
                        &format!("{action} removed {}", removed.join(", ")),
                    )?;
                }
                super::db::clear_all_data(&tx)?;
            }
            let deferred = DeferredIndexes::drop(&tx)?;
            let w = BulkWriter::new(&tx);
            let r = fill(&w, progress)?;
            super::audit::record_event(&tx, actor, "database", &describe(&r))?;
            progress("indexing", 0.97);
            deferred.rebuild(&tx)?;
            // Every reference is an id an insert just returned, so the whole-database check
            // (3 s at a million deals) runs in debug builds, which is where the tests run.
            if cfg!(debug_assertions) {
                progress("checking references", 0.98);
                super::db::check_foreign_keys(&tx)?;
            }
            progress("saving", 0.99);
            tx.commit().map_err(super::StoreError::from)?;
            progress("done", 1.0);
            Ok(r)
        })?
    }
}
