//! Fast inserts for generated data (the demo), with cached prepared statements inside one
//! transaction. Not audited row by row: the caller audits the load as one action.

use super::db::Result;
use rusqlite::{params, Connection};

pub struct BulkWriter<'c> {
    conn: &'c Connection,
    /// The next activity id (0 until read), for readable external ids.
    next_activity: std::cell::Cell<i64>,
}

pub struct NewDeal<'a> {
    pub external_id: &'a str,
    pub name: &'a str,
    pub customer_id: i64,
    pub owner_rep_id: i64,
    pub product_id: i64,
    pub amount_cents: i64,
    pub stage_id: i64,
    pub created_on: &'a str,
    pub stage_entered_on: &'a str,
    pub expected_close: &'a str,
    pub closed_on: Option<&'a str>,
    pub source: &'a str,
    pub lost_reason: Option<&'a str>,
    pub discount_pct: f64,
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
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
               AND tbl_name IN ('customers', 'contacts', 'deals', 'stage_changes', 'activities', 'orders', 'targets')
               -- Children are written in their parent's order, so these grow at the end.
               AND name NOT IN ('stage_changes_deal', 'activities_deal', 'contacts_customer')",
        )?;
        let found: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (name, _) in &found {
            conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        Ok(DeferredIndexes {
            definitions: found.into_iter().map(|(_, sql)| sql).collect(),
        })
    }

    pub fn rebuild(self, conn: &Connection) -> Result<()> {
        for sql in &self.definitions {
            conn.execute_batch(sql)?;
        }
        conn.execute_batch("PRAGMA cache_size = -2000")?;
        Ok(())
    }
}
