//! The store traits on PostgreSQL: `PgStore` is what `--db postgres://…` opens. Each
//! method runs the same query as SQLite's `Store`, in PostgreSQL's dialect, with rows in
//! the same order so that the analytics see the same input and give the same figures. CSV
//! import runs SQLite's importer on a working copy (`migrate::import_on_postgres`).

use super::{connect, schema, sql_error, Target};
use crate::domain::audit::{Actor, AuditEntry, AuditFilter, Entity};
use crate::domain::customers::{
    Cursor, CustomerDetail, CustomerFilter, CustomerRow, CustomerSort, PageDirection, PickLists,
};
use crate::domain::deals::{AsOfDeal, DealCard, Move, OpenDealRow, SnapshotGroup};
use crate::domain::funnel::{DealPath, OpenInStage};
use crate::domain::records::{
    ContactRecord, CustomerRecord, ProductRecord, RepRecord, StageRecord, TeamRecord,
};
use crate::domain::scoring::DealFacts;
use crate::domain::segments::{LedgerLine, NewSegmentRun, SegmentHistory, SegmentMove, SegmentRun};
use crate::domain::setup::Organisation;
use crate::domain::targets::{Revision, TargetRow};
use crate::domain::{Cell, TargetMetric, TargetScope};
use crate::store::audit::RevertReport;
use crate::store::backend::*;
use crate::store::dashboard::{ForecastRun, NewForecastRun, Team};
use crate::store::db::Result;
use crate::store::db::StoreError;
use crate::store::edits::DealFields;
use crate::store::maintenance::Health;
use crate::store::queries::{Stage, StageTotals, Summary};
use crate::store::remove::{MergeOutcome, RemovalPlan};
use crate::store::reports::ClosedDeal;
use crate::store::scoring::NewScores;
use chrono::NaiveDate;
use postgres::types::ToSql;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;

/// A funnel database on a PostgreSQL server.
pub struct PgStore {
    client: RefCell<postgres::Client>,
    target: Target,
    /// The URL without its password, as a path for messages.
    shown: PathBuf,
    cancel: Option<crate::domain::jobs::CancelFlag>,
    /// Set to stop the thread that cancels a running statement once the flag is set.
    watcher: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgStore {
    /// Connects to `target` and makes sure it holds funnel's schema (created in an empty
    /// database; a newer schema or another application's tables are refused untouched).
    pub fn open(target: Target) -> Result<PgStore> {
        let mut client = connect(&target)?;
        let err = |e: postgres::Error| StoreError::from(sql_error(&target, &e));
        let mut tx = client.transaction().map_err(err)?;
        schema::ensure(&mut tx, &target)?;
        tx.commit().map_err(err)?;
        client
            .batch_execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'")
            .map_err(err)?;
        Ok(PgStore {
            client: RefCell::new(client),
            shown: PathBuf::from(target.to_string()),
            target,
            cancel: None,
            watcher: None,
        })
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::from(sql_error(&self.target, &e))
    }

    /// Watches `flag` (`None`: stops): between statements each new one is refused once it
    /// is set, and a thread asks the server to cancel the statement running at that moment
    /// (the server ends it with "canceling statement due to user request"; what it was
    /// writing is rolled back).
    fn watch(&mut self, flag: Option<crate::domain::jobs::CancelFlag>) {
        use std::sync::atomic::{AtomicBool, Ordering};
        if let Some(stop) = self.watcher.take() {
            stop.store(true, Ordering::SeqCst);
        }
        self.cancel = flag.clone();
        let Some(flag) = flag else { return };
        let token = self.client.borrow().cancel_token();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        self.watcher = Some(stop.clone());
        let target = self.target.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            while !stop.load(Ordering::SeqCst) {
                match (flag.is_cancelled(), sent) {
                    (true, false) => {
                        let _ = match target.ssl {
                            super::SslMode::Disable => token.cancel_query(postgres::NoTls),
                            _ => match super::tls(&target) {
                                Ok(tls) => token.cancel_query(tls),
                                Err(_) => Ok(()),
                            },
                        };
                        sent = true;
                    }
                    (false, true) => sent = false,
                    _ => {}
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }

    fn check_cancel(&self) -> Result<()> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(StoreError::Invalid("interrupted".into()));
        }
        Ok(())
    }

    /// Every row of a query.
    pub(crate) fn rows(&self, sql: &str, params: &Params) -> Result<Vec<postgres::Row>> {
        self.check_cancel()?;
        self.client
            .borrow_mut()
            .query(sql, params)
            .map_err(|e| self.err(e))
    }

    /// Every row of a query turned into `T` as it arrives (the rows are streamed, never
    /// all held at once), gathered into `C` (a `Vec`, a `HashMap`, a `HashSet`).
    pub(crate) fn map_rows<T, C: FromIterator<T>>(
        &self,
        sql: &str,
        params: &Params,
        mut f: impl FnMut(&postgres::Row) -> T,
    ) -> Result<C> {
        use postgres::fallible_iterator::FallibleIterator;
        self.check_cancel()?;
        let mut client = self.client.borrow_mut();
        let mut it = client
            .query_raw(sql, params.iter().copied())
            .map_err(|e| self.err(e))?;
        let mut failed = None;
        let out: C = std::iter::from_fn(|| match it.next() {
            Ok(row) => row.map(|r| f(&r)),
            Err(e) => {
                failed = Some(e);
                None
            }
        })
        .collect();
        match failed {
            Some(e) => Err(self.err(e)),
            None => Ok(out),
        }
    }

    /// Runs `f` on every row of a query as it arrives (streamed).
    pub(crate) fn each(
        &self,
        sql: &str,
        params: &Params,
        mut f: impl FnMut(&postgres::Row),
    ) -> Result<()> {
        self.map_rows::<(), Vec<()>>(sql, params, |r| f(r))?;
        Ok(())
    }

    /// The one row of a query that always returns one.
    pub(crate) fn row(&self, sql: &str, params: &Params) -> Result<postgres::Row> {
        self.check_cancel()?;
        self.client
            .borrow_mut()
            .query_one(sql, params)
            .map_err(|e| self.err(e))
    }

    /// The row of a query that returns at most one.
    pub(crate) fn opt(&self, sql: &str, params: &Params) -> Result<Option<postgres::Row>> {
        self.check_cancel()?;
        self.client
            .borrow_mut()
            .query_opt(sql, params)
            .map_err(|e| self.err(e))
    }

    /// Runs a write `f` in one READ COMMITTED transaction. Every write locks the rows it
    /// reads to change (`SELECT … FOR UPDATE`, a form's row before its version is checked),
    /// so a second writer of the same row waits and then reads what the first committed:
    /// no update is lost, and writers of one hot row take turns instead of failing. A
    /// deadlock, or a unique key two writers inserted at once, ends the transaction, and
    /// `f` is run again on fresh data (up to ten times, with a short growing pause), where
    /// its own checks then see the other's row.
    pub(crate) fn write<T>(
        &self,
        f: impl FnMut(&mut postgres::Transaction) -> TxResult<T>,
    ) -> Result<T> {
        self.transact(postgres::IsolationLevel::ReadCommitted, f)
    }

    /// Runs `f` in one SERIALIZABLE transaction, retried as `write`'s: for what reads many
    /// rows before it writes (undo, reverting an import, deleting and merging with what
    /// hangs on a row), where the server must refuse an outcome no order of the
    /// transactions could give.
    pub(crate) fn write_serializable<T>(
        &self,
        f: impl FnMut(&mut postgres::Transaction) -> TxResult<T>,
    ) -> Result<T> {
        self.transact(postgres::IsolationLevel::Serializable, f)
    }

    fn transact<T>(
        &self,
        level: postgres::IsolationLevel,
        mut f: impl FnMut(&mut postgres::Transaction) -> TxResult<T>,
    ) -> Result<T> {
        self.check_cancel()?;
        let mut client = self.client.borrow_mut();
        let mut attempt = 0u64;
        loop {
            attempt += 1;
            let mut tx = client
                .build_transaction()
                .isolation_level(level)
                .start()
                .map_err(|e| self.err(e))?;
            let out = f(&mut tx).and_then(|v| tx.commit().map(|_| v).map_err(TxError::Pg));
            match out {
                Ok(v) => return Ok(v),
                Err(TxError::Pg(e)) if attempt < 10 && retryable(&e) => {
                    // Growing, and different per process, so that retries do not meet again.
                    let jitter = (u64::from(std::process::id()) * 7 + attempt * 13) % 11;
                    std::thread::sleep(std::time::Duration::from_millis(
                        attempt * attempt + jitter,
                    ));
                }
                Err(TxError::Pg(e)) => return Err(self.err(e)),
                Err(TxError::Store(e)) => return Err(e),
            }
        }
    }
}

impl PgStore {
    /// Runs `f` in one READ COMMITTED transaction, once: for long writes that lock what
    /// they write (a bulk load) and so need no retry.
    pub(crate) fn once<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction) -> TxResult<T>,
    ) -> Result<T> {
        self.check_cancel()?;
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().map_err(|e| self.err(e))?;
        match f(&mut tx).and_then(|v| tx.commit().map(|_| v).map_err(TxError::Pg)) {
            Ok(v) => Ok(v),
            Err(TxError::Pg(e)) => Err(self.err(e)),
            Err(TxError::Store(e)) => Err(e),
        }
    }
}

/// What a write's body can fail with: the server (perhaps worth a retry) or the store's
/// own checks (never retried).
pub(crate) enum TxError {
    Pg(postgres::Error),
    Store(StoreError),
}

impl From<postgres::Error> for TxError {
    fn from(e: postgres::Error) -> Self {
        TxError::Pg(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

pub(crate) type TxResult<T> = std::result::Result<T, TxError>;

/// Whether the server ended a transaction that may succeed when run again.
fn retryable(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

impl PgStore {
    /// Where the database is (with the password source, never the password).
    pub fn target(&self) -> &Target {
        &self.target
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(stop) = self.watcher.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl Backend for PgStore {
    fn path(&self) -> &Path {
        &self.shown
    }
}

impl Customers for PgStore {
    fn log_activity(
        &mut self,
        customer_id: i64,
        r: &crate::domain::records::ActivityRecord,
        follow_up: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()> {
        PgStore::log_activity(self, customer_id, r, follow_up, actor)
    }
    fn count_customers(&self, f: &CustomerFilter) -> Result<i64> {
        PgStore::count_customers(self, f)
    }
    fn customer_detail(&self, id: i64) -> Result<Option<CustomerDetail>> {
        PgStore::customer_detail(self, id)
    }
    fn customer_names_like(&self, text: &str, limit: usize) -> Result<Vec<String>> {
        PgStore::customer_names_like(self, text, limit)
    }
    fn customer_page(
        &self,
        f: &CustomerFilter,
        sort: CustomerSort,
        cursor: Option<&Cursor>,
        direction: PageDirection,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        PgStore::customer_page(self, f, sort, cursor, direction, limit)
    }
    fn find_row(&self, entity: Entity, text: &str) -> Result<i64> {
        PgStore::find_row(self, entity, text)
    }
    fn merge_customers(&mut self, keep: i64, gone: i64, actor: &Actor) -> Result<MergeOutcome> {
        PgStore::merge_customers(self, keep, gone, actor)
    }
    fn removal_plan(&self, entity: Entity, id: i64) -> Result<RemovalPlan> {
        PgStore::removal_plan(self, entity, id)
    }
    fn remove(
        &mut self,
        entity: Entity,
        id: i64,
        force: bool,
        actor: &Actor,
    ) -> Result<RemovalPlan> {
        PgStore::remove(self, entity, id, force, actor)
    }
    fn save_contact(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        customer_id: i64,
        r: &ContactRecord,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_contact(self, id, version, customer_id, r, actor)
    }
    fn save_customer(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &CustomerRecord,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_customer(self, id, version, r, today, actor)
    }
    fn pick_lists(&self) -> Result<PickLists> {
        PgStore::pick_lists(self)
    }
    fn is_empty(&self) -> Result<bool> {
        Ok(self
            .row(
                "SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM deals)",
                &[],
            )?
            .get(0))
    }
    fn summary(&self) -> Result<Summary> {
        let r = self.row(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM contacts),
                    (SELECT count(*) FROM reps), (SELECT count(*) FROM teams),
                    (SELECT count(*) FROM products), (SELECT count(*) FROM orders),
                    (SELECT coalesce(sum(amount_cents), 0)::bigint FROM orders),
                    (SELECT count(*) FROM activities), (SELECT count(*) FROM targets),
                    (SELECT count(*) FROM import_batches),
                    (SELECT min(ordered_on)::text FROM orders), (SELECT max(ordered_on)::text FROM orders)",
            &[],
        )?;
        let mut s = Summary {
            customers: r.get(0),
            contacts: r.get(1),
            reps: r.get(2),
            teams: r.get(3),
            products: r.get(4),
            orders: r.get(5),
            revenue_cents: r.get(6),
            activities: r.get(7),
            targets: r.get(8),
            import_batches: r.get(9),
            first_order: r.get(10),
            last_order: r.get(11),
            ..Default::default()
        };
        for t in Deals::stage_totals(self)? {
            match t.stage.kind {
                crate::domain::StageKind::Open => {
                    s.open_deals += t.count;
                    s.open_pipeline_cents += t.value.cents();
                }
                crate::domain::StageKind::Won => s.won_deals += t.count,
                crate::domain::StageKind::Lost => s.lost_deals += t.count,
            }
        }
        Ok(s)
    }
}

impl Deals for PgStore {
    fn last_close_day(&self) -> Result<Option<String>> {
        Ok(self
            .row(
                "SELECT greatest((SELECT max(closed_on) FROM deals), (SELECT max(ordered_on) FROM orders))::text",
                &[],
            )?
            .get(0))
    }
    fn first_order_day(&self) -> Result<Option<String>> {
        Ok(self
            .row("SELECT min(ordered_on)::text FROM orders", &[])?
            .get(0))
    }
    fn deal_card(&self, id: i64) -> Result<Option<DealCard>> {
        Ok(self.cards("WHERE d.id = $1", &[&id])?.into_iter().next())
    }
    fn deals_in_stage(&self, stage_id: i64, limit: usize) -> Result<Vec<DealCard>> {
        self.cards(
            "WHERE d.stage_id = $1 ORDER BY d.amount_cents DESC, d.id LIMIT $2",
            &[&stage_id, &(limit as i64)],
        )
    }
    fn move_deal(
        &mut self,
        deal_id: i64,
        to: &Move,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<()> {
        use crate::domain::StageKind;
        self.write(|tx| {
            // The deal alone is locked: with a join, the server re-checks a row another
            // writer just changed against the stage row as it was, and the deal would seem
            // to vanish.
            let Some(r) = tx.query_opt(
                "SELECT stage_id, customer_id, product_id, amount_cents FROM deals
                 WHERE id = $1 FOR UPDATE",
                &[&deal_id],
            )?
            else {
                return Err(StoreError::Invalid(format!("there is no deal {deal_id}")).into());
            };
            let (from, customer, product, cents): (i64, i64, Option<i64>, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            let kind: String = tx
                .query_one("SELECT kind FROM stages WHERE id = $1", &[&from])?
                .get(0);
            if kind != "open" {
                return Err(
                    StoreError::Invalid(format!("deal {deal_id} is already closed ({kind})")).into(),
                );
            }
            let first_of = |tx: &mut postgres::Transaction, k: &str| -> TxResult<i64> {
                Ok(tx
                    .query_opt(
                        "SELECT id FROM stages WHERE kind = $1 ORDER BY position, id LIMIT 1",
                        &[&k],
                    )?
                    .map(|r| r.get(0))
                    .ok_or_else(|| {
                        StoreError::Invalid(format!("there is no {k} stage to close the deal into"))
                    })?)
            };
            let (to_stage, to_kind, reason) = match to {
                Move::Stage(id) => {
                    let k: Option<String> = tx
                        .query_opt("SELECT kind FROM stages WHERE id = $1", &[id])?
                        .map(|r| r.get(0));
                    match k.as_deref() {
                        Some("open") => (*id, StageKind::Open, None),
                        Some(other) => {
                            return Err(StoreError::Invalid(format!(
                                "stage {id} is a {other} stage: mark the deal won or lost instead"
                            ))
                            .into())
                        }
                        None => return Err(StoreError::Invalid(format!("there is no stage {id}")).into()),
                    }
                }
                Move::Won => (first_of(tx, "won")?, StageKind::Won, None),
                Move::Lost(r) if r.trim().is_empty() => {
                    return Err(StoreError::Invalid("a lost deal needs a reason".into()).into())
                }
                Move::Lost(r) => (first_of(tx, "lost")?, StageKind::Lost, Some(r.trim().to_string())),
            };
            if to_stage == from {
                return Ok(());
            }
            let before = audit_pg::row_json(tx, Entity::Deal, deal_id)?;
            let on = crate::domain::date::iso(today);
            let closed = (to_kind != StageKind::Open).then_some(on.clone());
            tx.execute(
                "UPDATE deals SET stage_id = $2, stage_entered_on = $3::text::date,
                                  closed_on = $4::text::date, lost_reason = $5 WHERE id = $1",
                &[&deal_id, &to_stage, &on, &closed, &reason],
            )?;
            let change: i64 = tx
                .query_one(
                    "INSERT INTO stage_changes(deal_id, from_stage_id, to_stage_id, changed_on)
                     VALUES ($1, $2, $3, $4::text::date) RETURNING id",
                    &[&deal_id, &from, &to_stage, &on],
                )?
                .get(0);
            audit_pg::inserted(tx, actor, Entity::StageChange, change, None)?;
            audit_pg::if_changed(tx, actor, Entity::Deal, deal_id, before, None)?;
            // The order ledger follows the deal (as `store::ledger::sync_order`).
            let order: Option<i64> = tx
                .query_opt("SELECT id FROM orders WHERE deal_id = $1", &[&deal_id])?
                .map(|r| r.get(0));
            match (to_kind, order) {
                (StageKind::Won, None) => {
                    let id: i64 = tx
                        .query_one(
                            "INSERT INTO orders(customer_id, deal_id, product_id, ordered_on, amount_cents)
                             VALUES ($1, $2, $3, $4::text::date, $5) RETURNING id",
                            &[&customer, &deal_id, &product, &on, &cents],
                        )?
                        .get(0);
                    audit_pg::inserted(tx, actor, Entity::Order, id, None)?;
                }
                (StageKind::Won, Some(id)) => {
                    let before = audit_pg::row_json(tx, Entity::Order, id)?;
                    tx.execute(
                        "UPDATE orders SET customer_id = $2, product_id = $3, ordered_on = $4::text::date,
                                           amount_cents = $5 WHERE id = $1",
                        &[&id, &customer, &product, &on, &cents],
                    )?;
                    audit_pg::if_changed(tx, actor, Entity::Order, id, before, None)?;
                }
                (_, Some(id)) => {
                    let before = audit_pg::row_json(tx, Entity::Order, id)?;
                    tx.execute("DELETE FROM orders WHERE id = $1", &[&id])?;
                    audit_pg::record(
                        tx,
                        actor,
                        crate::store::audit::Action::Delete,
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
        })
    }
    fn save_deal(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        f: &DealFields,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_deal(self, id, version, f, today, actor)
    }
    fn open_deals(&self) -> Result<Vec<OpenDealRow>> {
        self
            .map_rows(
                "SELECT d.amount_cents, d.stage_id, d.expected_close::text, sc.probability, d.owner_rep_id
                 FROM deals d
                 LEFT JOIN deal_scores sc ON sc.deal_id = d.id
                 WHERE d.stage_id IN (SELECT id FROM stages WHERE kind = 'open')
                 ORDER BY d.stage_id, d.amount_cents, d.id",
                &[], |r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    }
    fn open_counts(&self) -> Result<HashMap<i64, i64>> {
        self.map_rows(
            "SELECT d.stage_id, count(*) FROM deals d
                 JOIN stages s ON s.id = d.stage_id WHERE s.kind = 'open' GROUP BY d.stage_id",
            &[],
            |r| (r.get(0), r.get(1)),
        )
    }
    fn open_past(&self, thresholds: &HashMap<i64, f64>, today: &str) -> Result<Vec<OpenInStage>> {
        let mut out = Vec::new();
        for (stage, limit) in thresholds {
            self.each(
                "SELECT d.id, d.external_id, d.name, c.name, r.name, d.stage_id, d.amount_cents,
                        ($1::text::date - d.stage_entered_on)::bigint
                 FROM deals d
                 JOIN customers c ON c.id = d.customer_id
                 LEFT JOIN reps r ON r.id = d.owner_rep_id
                 WHERE d.stage_id = $2 AND ($1::text::date - d.stage_entered_on) > $3::float8
                 ORDER BY d.id",
                &[&today, stage, limit],
                |r| {
                    out.push(OpenInStage {
                        id: r.get(0),
                        external_id: r.get(1),
                        name: r.get(2),
                        customer: r.get(3),
                        owner: r.get(4),
                        stage_id: r.get(5),
                        amount_cents: r.get(6),
                        days_in_stage: r.get(7),
                    });
                },
            )?;
        }
        Ok(out)
    }
    fn stage_totals(&self) -> Result<Vec<StageTotals>> {
        let stages = PgStore::stages(self)?;
        let totals: HashMap<i64, (i64, i64)> = self.map_rows(
            "SELECT stage_id, count(*), sum(amount_cents)::bigint FROM deals GROUP BY stage_id",
            &[],
            |r| (r.get(0), (r.get(1), r.get(2))),
        )?;
        Ok(stages
            .into_iter()
            .map(|s| {
                let (count, cents) = totals.get(&s.id).copied().unwrap_or((0, 0));
                StageTotals {
                    stage: s,
                    count,
                    value: crate::domain::Money(cents),
                }
            })
            .collect())
    }
    fn stages(&self) -> Result<Vec<Stage>> {
        PgStore::stages(self)
    }
    fn deal_paths(
        &self,
        from: &str,
        to: &str,
        stage_index: &HashMap<i64, usize>,
        rep_group: &HashMap<i64, usize>,
        max_deals: usize,
    ) -> Result<(Vec<DealPath>, usize)> {
        let count: i64 = self
            .row(
                "SELECT count(*) FROM deals WHERE created_on >= $1::text::date AND created_on < $2::text::date",
                &[&from, &to],
            )?
            .get(0);
        let step = (count as usize).div_ceil(max_deals.max(1)).max(1);
        let mut ids = Vec::new();
        let mut out = Vec::new();
        self.each(
            &format!(
                "SELECT d.id, {}, {}, s.kind, d.amount_cents, d.owner_rep_id
                 FROM deals d JOIN stages s ON s.id = d.stage_id
                 WHERE d.created_on >= $1::text::date AND d.created_on < $2::text::date
                   AND d.id % $3 = 0 ORDER BY d.id",
                day("d.created_on"),
                day("d.closed_on")
            ),
            &[&from, &to, &(step as i64)],
            |r| {
                let kind: String = r.get(3);
                let owner: Option<i64> = r.get(5);
                ids.push(r.get::<_, i64>(0));
                out.push(DealPath {
                    created: r.get(1),
                    entries: Vec::new(),
                    outcome: outcome(&kind),
                    closed: r.get(2),
                    amount: r.get::<_, i64>(4) as f64 / 100.0,
                    group: owner.and_then(|o| rep_group.get(&o).copied()),
                });
            },
        )?;
        let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &d)| (d, i)).collect();
        self.each(
            &format!(
                "SELECT sc.deal_id, sc.to_stage_id, {} FROM stage_changes sc
                 WHERE sc.deal_id = ANY($1) ORDER BY sc.deal_id, sc.changed_on, sc.id",
                day("sc.changed_on")
            ),
            &[&ids],
            |r| {
                let deal: i64 = r.get(0);
                let stage: i64 = r.get(1);
                if let (Some(&i), Some(&s)) = (at.get(&deal), stage_index.get(&stage)) {
                    out[i].entries.push((s, r.get(2)));
                }
            },
        )?;
        for p in &mut out {
            p.entries.sort_by_key(|e| e.1);
        }
        Ok((out, step))
    }
    fn closed_paths(&self, from: &str, to: &str, max_deals: usize) -> Result<Vec<DealPath>> {
        let count: i64 = self
            .row(
                "SELECT count(*) FROM deals WHERE closed_on >= $1::text::date AND closed_on < $2::text::date",
                &[&from, &to],
            )?
            .get(0);
        let step = (count as usize).div_ceil(max_deals.max(1)).max(1) as i64;
        self
            .map_rows(
                &format!(
                    "SELECT {}, {}, s.kind, d.amount_cents
                     FROM deals d JOIN stages s ON s.id = d.stage_id
                     WHERE d.closed_on >= $1::text::date AND d.closed_on < $2::text::date AND d.id % $3 = 0
                     ORDER BY d.closed_on, d.stage_id, d.amount_cents, d.id",
                    day("d.created_on"),
                    day("d.closed_on")
                ),
                &[&from, &to, &step], |r| {
                let kind: String = r.get(2);
                DealPath {
                    created: r.get(0),
                    entries: Vec::new(),
                    outcome: outcome(&kind),
                    closed: r.get(1),
                    amount: r.get::<_, i64>(3) as f64 / 100.0,
                    group: None,
                }
            })
    }
    fn closed_deals(
        &self,
        from: &str,
        to: &str,
        extra: crate::store::reports::ClosedExtra,
    ) -> Result<Vec<ClosedDeal>> {
        let names = |sql: &str| -> Result<HashMap<i64, String>> {
            self.map_rows(sql, &[], |r| (r.get(0), r.get(1)))
        };
        let reps = names("SELECT id, name FROM reps")?;
        let teams = names("SELECT id, name FROM teams")?;
        let products = names("SELECT id, name FROM products")?;
        let rep_team: HashMap<i64, i64> = Setup::rep_teams(self)?;
        let customers: HashMap<i64, (Option<String>, Option<String>)> =
            self.map_rows("SELECT id, region, segment FROM customers", &[], |r| {
                (r.get(0), (r.get(1), r.get(2)))
            })?;
        use crate::store::reports::ClosedExtra;
        let sql = format!(
            "SELECT s.kind = 'won', d.amount_cents, d.discount_pct,
                    (d.closed_on - d.created_on)::bigint,
                    {activities}, d.owner_rep_id, d.product_id, d.customer_id, d.source,
                    d.closed_on::text, d.lost_reason,
                    CASE WHEN {lost_stage} AND s.kind = 'lost' THEN
                      (SELECT f.name FROM stage_changes sc JOIN stages f ON f.id = sc.from_stage_id
                       WHERE sc.deal_id = d.id AND sc.to_stage_id = d.stage_id
                       ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1)
                    END
             FROM deals d
             JOIN stages s ON s.id = d.stage_id
             WHERE d.closed_on >= $1::text::date AND d.closed_on < $2::text::date
               AND s.kind IN ('won', 'lost')
             ORDER BY d.closed_on, d.stage_id, d.amount_cents, d.id",
            activities = if extra == ClosedExtra::Activities {
                "(SELECT count(*) FROM activities a WHERE a.deal_id = d.id)"
            } else {
                "0::bigint"
            },
            lost_stage = extra == ClosedExtra::LostStage
        );
        let mut out = Vec::new();
        self.each(&sql, &[&from, &to], |r| {
            let rep: Option<i64> = r.get(5);
            let product: Option<i64> = r.get(6);
            let customer: i64 = r.get(7);
            let (region, segment) = customers.get(&customer).cloned().unwrap_or_default();
            out.push(ClosedDeal {
                won: r.get(0),
                amount_cents: r.get(1),
                discount_pct: r.get(2),
                cycle_days: r.get(3),
                activities: r.get(4),
                rep: rep.and_then(|id| reps.get(&id).cloned()),
                team: rep
                    .and_then(|id| rep_team.get(&id))
                    .and_then(|t| teams.get(t).cloned()),
                product: product.and_then(|id| products.get(&id).cloned()),
                region,
                segment,
                source: r.get(8),
                closed_on: r.get(9),
                lost_reason: r.get(10),
                lost_at: r.get(11),
            });
        })?;
        Ok(out)
    }
    fn close_slips_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        self.days_by_stage(
            "SELECT sc.to_stage_id, (d.closed_on - d.expected_close)::float8
             FROM deals d
             JOIN stages ws ON ws.id = d.stage_id AND ws.kind = 'won'
             JOIN stage_changes sc ON sc.deal_id = d.id
             JOIN stages os ON os.id = sc.to_stage_id AND os.kind = 'open'
             WHERE d.closed_on >= $1::text::date AND d.closed_on < $2::text::date
               AND d.expected_close IS NOT NULL
             ORDER BY d.closed_on DESC, d.stage_id DESC, d.amount_cents DESC, d.id DESC,
                      sc.changed_on, sc.id
             LIMIT $3",
            since,
            until,
            limit,
        )
    }
    fn time_to_win_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        self.days_by_stage(
            "SELECT sc.to_stage_id, (d.closed_on - sc.changed_on)::float8
             FROM deals d
             JOIN stages ws ON ws.id = d.stage_id AND ws.kind = 'won'
             JOIN stage_changes sc ON sc.deal_id = d.id
             JOIN stages os ON os.id = sc.to_stage_id AND os.kind = 'open'
             WHERE d.closed_on >= $1::text::date AND d.closed_on < $2::text::date
             ORDER BY d.closed_on DESC, d.stage_id DESC, d.amount_cents DESC, d.id DESC,
                      sc.changed_on, sc.id
             LIMIT $3",
            since,
            until,
            limit,
        )
    }
    fn pipeline_as_of(&self, day: &str) -> Result<Vec<AsOfDeal>> {
        self.map_rows(
            "SELECT d.amount_cents,
                        (SELECT sc.to_stage_id FROM stage_changes sc
                         WHERE sc.deal_id = d.id AND sc.changed_on < $1::text::date
                         ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1),
                        d.stage_id, d.expected_close::text, d.closed_on::text,
                        (SELECT kind FROM stages WHERE id = d.stage_id) = 'won'
                 FROM deals d
                 WHERE d.created_on < $1::text::date
                   AND (d.closed_on IS NULL OR d.closed_on >= $1::text::date)
                 ORDER BY d.id",
            &[&day],
            |r| AsOfDeal {
                cents: r.get(0),
                stage_then: r.get(1),
                stage_now: r.get(2),
                expected_close: r.get(3),
                closed_on: r.get(4),
                won: r.get(5),
            },
        )
    }
    fn snapshot_outcomes(&self, days: &[String], known: &str) -> Result<Vec<SnapshotGroup>> {
        self
            .map_rows(
                "WITH snap AS MATERIALIZED (
                     SELECT (SELECT sc.to_stage_id FROM stage_changes sc
                             WHERE sc.deal_id = d.id AND sc.changed_on < m.day
                             ORDER BY sc.changed_on DESC, sc.id DESC LIMIT 1) AS stage,
                            (d.expected_close - m.day)::bigint AS ahead,
                            CASE WHEN d.amount_cents > 0 THEN
                                (2 * length(d.amount_cents::text)
                                 + (substr(d.amount_cents::text, 1, 2)::int >= 32)::int)::bigint
                            END AS size,
                            (d.closed_on < $2::text::date AND cs.kind = 'won')::int AS won
                     FROM unnest($1::text[]::date[]) AS m(day)
                     JOIN deals d ON d.created_on < m.day AND (d.closed_on IS NULL OR d.closed_on >= m.day)
                     JOIN stages cs ON cs.id = d.stage_id)
                 SELECT stage, ahead, size, sum(won)::bigint, count(*) FROM snap
                 GROUP BY stage, ahead, size
                 ORDER BY stage NULLS FIRST, ahead NULLS FIRST, size NULLS FIRST",
                &[&days, &known], |r| SnapshotGroup {
                stage: r.get(0),
                days_to_close: r.get(1),
                size: r.get(2),
                won: r.get::<_, Option<i64>>(3).unwrap_or(0),
                deals: r.get(4),
            })
    }
    fn closed_between(&self, from: &str, to: &str) -> Result<HashMap<String, (i64, i64)>> {
        let kinds: HashMap<i64, String> = PgStore::stages(self)?
            .into_iter()
            .map(|s| (s.id, s.kind.as_str().to_string()))
            .collect();
        let mut out: HashMap<String, (i64, i64)> = HashMap::new();
        self.each(
            "SELECT stage_id, count(*), coalesce(sum(amount_cents), 0)::bigint FROM deals
             WHERE closed_on >= $1::text::date AND closed_on < $2::text::date GROUP BY stage_id
             ORDER BY stage_id",
            &[&from, &to],
            |r| {
                let stage: i64 = r.get(0);
                let e = out
                    .entry(kinds.get(&stage).cloned().unwrap_or_default())
                    .or_default();
                e.0 += r.get::<_, i64>(1);
                e.1 += r.get::<_, i64>(2);
            },
        )?;
        Ok(out)
    }
}

impl Setup for PgStore {
    fn organisation(&self) -> Result<Organisation> {
        use crate::domain::setup::*;
        let version = |entity: &str, alias: &str| {
            format!(
                "(SELECT coalesce(max(a.id), 0) FROM audit_log a WHERE a.entity = '{entity}' AND a.entity_id = {alias}.id)"
            )
        };
        let all: Vec<(TeamRow, Option<i64>)> = self.map_rows(
            &format!(
                "SELECT t.id, t.external_id, t.name, p.name,
                            (SELECT count(*) FROM reps r WHERE r.team_id = t.id), t.parent_id, {}
                     FROM teams t LEFT JOIN teams p ON p.id = t.parent_id
                     ORDER BY funnel_nocase(t.name) COLLATE \"C\", t.id",
                version("team", "t")
            ),
            &[],
            |r| {
                (
                    TeamRow {
                        id: r.get(0),
                        external_id: r.get(1),
                        name: r.get(2),
                        parent: r.get(3),
                        depth: 0,
                        reps: r.get(4),
                        version: r.get(6),
                    },
                    r.get(5),
                )
            },
        )?;
        let teams = crate::store::setup::tree_order(all);
        let reps = self.map_rows(
            &format!(
                "SELECT r.id, r.external_id, r.name, r.email, t.name, r.capacity, r.active, {}
                     FROM reps r LEFT JOIN teams t ON t.id = r.team_id
                     ORDER BY funnel_nocase(r.name) COLLATE \"C\", r.id",
                version("rep", "r")
            ),
            &[],
            |r| RepRow {
                id: r.get(0),
                external_id: r.get(1),
                name: r.get(2),
                email: r.get(3),
                team: r.get(4),
                capacity: r.get(5),
                active: r.get(6),
                version: r.get(7),
            },
        )?;
        let products = self.map_rows(
            &format!(
                "SELECT p.id, p.sku, p.name, p.family, p.list_price_cents, {}
                     FROM products p ORDER BY funnel_nocase(p.sku) COLLATE \"C\", p.id",
                version("product", "p")
            ),
            &[],
            |r| ProductRow {
                id: r.get(0),
                sku: r.get(1),
                name: r.get(2),
                family: r.get(3),
                list_price: crate::domain::Money(r.get(4)),
                version: r.get(5),
            },
        )?;
        let stages = self
            .map_rows(
                &format!(
                    "SELECT s.id, s.name, s.kind, s.probability, s.position::bigint, s.forecast_category,
                            (SELECT count(*) FROM deals d WHERE d.stage_id = s.id), {}
                     FROM stages s ORDER BY s.position, s.id",
                    version("stage", "s")
                ),
                &[], |r| {
                let kind: String = r.get(2);
                let category: String = r.get(5);
                StageRow {
                    id: r.get(0),
                    name: r.get(1),
                    kind: kind.parse().unwrap_or(crate::domain::StageKind::Open),
                    probability: r.get(3),
                    position: r.get(4),
                    category: category
                        .parse()
                        .unwrap_or(crate::domain::ForecastCategory::Pipeline),
                    deals: r.get(6),
                    version: r.get(7),
                }
            })?;
        Ok(Organisation {
            teams,
            reps,
            products,
            stages,
        })
    }
    fn teams(&self) -> Result<Vec<Team>> {
        self.map_rows(
            "SELECT id, name, parent_id FROM teams ORDER BY id",
            &[],
            |r| Team {
                id: r.get(0),
                name: r.get(1),
                parent_id: r.get(2),
            },
        )
    }
    fn rep_teams(&self) -> Result<HashMap<i64, i64>> {
        self.map_rows(
            "SELECT id, team_id FROM reps WHERE team_id IS NOT NULL",
            &[],
            |r| (r.get(0), r.get(1)),
        )
    }
    fn rep_names(&self) -> Result<HashMap<i64, (String, Option<String>)>> {
        self.map_rows(
            "SELECT r.id, r.name, t.name FROM reps r LEFT JOIN teams t ON t.id = r.team_id",
            &[],
            |r| (r.get(0), (r.get(1), r.get(2))),
        )
    }
    fn save_team(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &TeamRecord,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_team(self, id, version, r, actor)
    }
    fn save_rep(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &RepRecord,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_rep(self, id, version, r, actor)
    }
    fn save_product(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &ProductRecord,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_product(self, id, version, r, actor)
    }
    fn save_stage(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &StageRecord,
        actor: &Actor,
    ) -> Result<i64> {
        PgStore::save_stage(self, id, version, r, actor)
    }
}

impl Targets for PgStore {
    fn rep_capacity(&self) -> Result<Vec<crate::store::targets::RepCapacity>> {
        self.map_rows(
            "SELECT id, name, team_id, capacity FROM reps WHERE active ORDER BY name COLLATE \"C\"",
            &[],
            |r| (r.get(0), r.get(1), r.get(2), r.get(3)),
        )
    }
    fn monthly_revenue(&self, from: &str, to: &str) -> Result<Vec<(String, i64)>> {
        self
            .map_rows(
                "SELECT to_char(ordered_on, 'YYYY-MM'), sum(amount_cents)::bigint FROM orders
                 WHERE ordered_on >= $1::text::date AND ordered_on < $2::text::date GROUP BY 1 ORDER BY 1",
                &[&from, &to], |r| (r.get(0), r.get(1)))
    }
    fn target_rows(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
    ) -> Result<Vec<TargetRow>> {
        self.targets_where(period, scope, metric, None)
    }
    fn target_revisions(&self, id: i64) -> Result<Vec<Revision>> {
        self.map_rows(
            &format!(
                "SELECT v.id, v.target_id, v.old_value, v.new_value, {}, v.changed_by, v.reason,
                            t.metric
                     FROM target_revisions v JOIN targets t ON t.id = v.target_id
                     WHERE v.target_id = $1 ORDER BY v.id",
                stamp("v.changed_at")
            ),
            &[&id],
            |r| {
                let metric: String = r.get(7);
                Revision {
                    id: r.get(0),
                    target_id: r.get(1),
                    metric: metric.parse().unwrap_or(TargetMetric::WonRevenue),
                    old_value: r.get(2),
                    new_value: r.get(3),
                    changed_at: r.get(4),
                    changed_by: r.get(5),
                    reason: r.get(6),
                }
            },
        )
    }
    fn target(&self, id: i64) -> Result<Option<TargetRow>> {
        Ok(self
            .targets_where(None, None, None, Some(id))?
            .into_iter()
            .next())
    }
    fn set_target(
        &mut self,
        scope: TargetScope,
        name: Option<&str>,
        period: &str,
        metric: TargetMetric,
        value: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<(i64, Option<i64>)> {
        check_change(value, reason)?;
        self.write(|tx| {
            let by_name = |tx: &mut postgres::Transaction,
                           table: &str,
                           what: &'static str|
             -> TxResult<i64> {
                let n = name.ok_or_else(|| field(what, format!("give the {what}'s name")))?;
                Ok(tx
                    .query_opt(
                        &format!(
                            "SELECT id FROM {table} WHERE funnel_nocase(name) = funnel_nocase($1)"
                        ),
                        &[&n],
                    )?
                    .map(|r| r.get(0))
                    .ok_or_else(|| field(what, format!("no {what} named '{n}'")))?)
            };
            let (team, rep, key) = match scope {
                TargetScope::Company => (None, None, "company".to_string()),
                TargetScope::Team => {
                    let id = by_name(tx, "teams", "team")?;
                    (Some(id), None, format!("team:{id}"))
                }
                TargetScope::Rep => {
                    let id = by_name(tx, "reps", "rep")?;
                    (None, Some(id), format!("rep:{id}"))
                }
            };
            let existing = tx.query_opt(
                "SELECT id, value FROM targets WHERE scope_key = $1 AND period = $2 AND metric = $3
                 FOR UPDATE",
                &[&key, &period, &metric.as_str()],
            )?;
            if let Some(r) = existing {
                let (id, old): (i64, i64) = (r.get(0), r.get(1));
                change_value(tx, actor, id, old, value, reason)?;
                return Ok((id, Some(old)));
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO targets(scope, team_id, rep_id, scope_key, period, metric, value)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &scope.as_str(),
                        &team,
                        &rep,
                        &key,
                        &period,
                        &metric.as_str(),
                        &value,
                    ],
                )?
                .get(0);
            audit_pg::inserted(tx, actor, Entity::Target, id, None)?;
            write_revision(tx, actor, id, None, value, reason)?;
            Ok((id, None))
        })
    }
    fn revise_target(&mut self, id: i64, value: i64, reason: &str, actor: &Actor) -> Result<i64> {
        check_change(value, reason)?;
        self.write(|tx| {
            // FOR UPDATE: a second writer waits for this one and then reads its value.
            let old: i64 = tx
                .query_opt("SELECT value FROM targets WHERE id = $1 FOR UPDATE", &[&id])?
                .map(|r| r.get(0))
                .ok_or_else(|| field("target", format!("there is no target {id}")))?;
            change_value(tx, actor, id, old, value, reason)?;
            Ok(old)
        })
    }
    fn revenue_targets(&self, period: &str) -> Result<HashMap<String, i64>> {
        self.map_rows(
            "SELECT scope_key, value FROM targets WHERE period = $1 AND metric = 'won_revenue'",
            &[&period],
            |r| (r.get(0), r.get(1)),
        )
    }
    fn revenue_by_rep(&self, from: &str, to: &str) -> Result<HashMap<Option<i64>, i64>> {
        self
            .map_rows(
                "SELECT coalesce(d.owner_rep_id, c.owner_rep_id), sum(o.amount_cents)::bigint FROM orders o
                 JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id
                 WHERE o.ordered_on >= $1::text::date AND o.ordered_on < $2::text::date GROUP BY 1",
                &[&from, &to], |r| (r.get(0), r.get(1)))
    }
    fn monthly_actuals_by_rep(
        &self,
        metric: TargetMetric,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<i64>, i64)>> {
        let sql = match metric {
            TargetMetric::WonRevenue => {
                "SELECT to_char(o.ordered_on, 'YYYY-MM'), coalesce(d.owner_rep_id, c.owner_rep_id),
                        sum(o.amount_cents)::bigint
                 FROM orders o JOIN customers c ON c.id = o.customer_id
                 LEFT JOIN deals d ON d.id = o.deal_id
                 WHERE o.ordered_on >= $1::text::date AND o.ordered_on < $2::text::date
                 GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST"
            }
            TargetMetric::WonDeals => {
                "SELECT to_char(d.closed_on, 'YYYY-MM'), d.owner_rep_id, count(*)
                 FROM deals d JOIN stages s ON s.id = d.stage_id
                 WHERE s.kind = 'won' AND d.closed_on >= $1::text::date AND d.closed_on < $2::text::date
                 GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST"
            }
            TargetMetric::Activities => {
                "SELECT to_char(done_on, 'YYYY-MM'), rep_id, count(*) FROM activities
                 WHERE done_on >= $1::text::date AND done_on < $2::text::date
                 GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST"
            }
            TargetMetric::NewCustomers => {
                "SELECT to_char(created_on, 'YYYY-MM'), owner_rep_id, count(*) FROM customers
                 WHERE created_on >= $1::text::date AND created_on < $2::text::date
                 GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST"
            }
        };
        self.map_rows(sql, &[&from, &to], |r| (r.get(0), r.get(1), r.get(2)))
    }
    fn monthly_revenue_by(&self, by: &str, from: &str) -> Result<Vec<(String, String, i64)>> {
        let (key, join) = crate::store::dashboard::revenue_breakdown(by);
        let sql = format!(
            "SELECT to_char(o.ordered_on, 'YYYY-MM'), {key}, sum(o.amount_cents)::bigint FROM orders o
             JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id {join}
             WHERE o.ordered_on >= $1::text::date GROUP BY 1, 2 ORDER BY 1, {key} COLLATE \"C\""
        );
        self.map_rows(&sql, &[&from], |r| (r.get(0), r.get(1), r.get(2)))
    }
    fn monthly_revenue_by_team(&self, from: &str) -> Result<Vec<(String, Option<i64>, i64)>> {
        self
            .map_rows(
                "SELECT to_char(o.ordered_on, 'YYYY-MM'), r.team_id, sum(o.amount_cents)::bigint FROM orders o
                 JOIN customers c ON c.id = o.customer_id LEFT JOIN deals d ON d.id = o.deal_id
                 LEFT JOIN reps r ON r.id = coalesce(d.owner_rep_id, c.owner_rep_id)
                 WHERE o.ordered_on >= $1::text::date GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
                &[&from], |r| (r.get(0), r.get(1), r.get(2)))
    }
}

impl Agenda for PgStore {
    fn open_activities(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        until: &str,
    ) -> Result<Vec<crate::domain::agenda::OpenActivity>> {
        PgStore::open_activities(self, scope, until)
    }
    fn contact_intervals(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        today: &str,
    ) -> Result<Vec<crate::domain::agenda::ContactDue>> {
        PgStore::contact_intervals(self, scope, today)
    }
    fn contact_gaps(&self, today: &str) -> Result<Vec<(String, f64)>> {
        PgStore::contact_gaps(self, today)
    }
    fn plan_customers(
        &self,
        rep: &str,
        today: &str,
    ) -> Result<(f64, Vec<crate::domain::agenda::PlanCustomer>)> {
        PgStore::plan_customers(self, rep, today)
    }
    fn busiest_rep(&self, until: &str) -> Result<Option<String>> {
        PgStore::busiest_rep(self, until)
    }
    fn plan_customers_all(&self, today: &str) -> Result<Vec<crate::domain::agenda::RepCustomers>> {
        PgStore::plan_customers_all(self, today)
    }
    fn save_plan(
        &mut self,
        rep: &str,
        made_on: &str,
        method: &str,
        visits: &[crate::domain::agenda::PlanVisit],
        actor: &crate::domain::audit::Actor,
    ) -> Result<i64> {
        PgStore::save_plan(self, rep, made_on, method, visits, actor)
    }
    fn plan_record(
        &self,
        id: Option<i64>,
        rep: Option<&str>,
    ) -> Result<crate::domain::agenda::PlanRecord> {
        PgStore::plan_record(self, id, rep)
    }
    fn change_activity(
        &mut self,
        id: i64,
        change: &crate::domain::agenda::AgendaChange,
        actor: &crate::domain::audit::Actor,
    ) -> Result<()> {
        PgStore::change_activity(self, id, change, actor)
    }
}

impl Rules for PgStore {
    fn rule_keys(&self, rule: &str) -> Result<std::collections::HashSet<String>> {
        PgStore::rule_keys(self, rule)
    }
    fn big_open_deals(&self, min_cents: i64) -> Result<Vec<crate::domain::rules::WatchedDeal>> {
        PgStore::big_open_deals(self, min_cents)
    }
    fn rule_marks(&self, rule: &str) -> Result<HashMap<i64, (Option<String>, i64)>> {
        PgStore::rule_marks(self, rule)
    }
    fn customers_without_owner(&self) -> Result<Vec<(i64, String)>> {
        PgStore::customers_without_owner(self)
    }
    fn save_rule_run(
        &mut self,
        run: &crate::domain::rules::RuleRun,
        actions: &[crate::domain::rules::RuleAction],
        marks: &[(i64, Option<String>, i64)],
        actor: &crate::domain::audit::Actor,
    ) -> Result<usize> {
        PgStore::save_rule_run(self, run, actions, marks, actor)
    }
    fn last_rule_runs(&self) -> Result<Vec<crate::domain::rules::RuleRun>> {
        PgStore::last_rule_runs(self)
    }
    fn open_alerts(&self, limit: usize) -> Result<(usize, Vec<crate::domain::rules::Alert>)> {
        PgStore::open_alerts(self, limit)
    }
    fn dismiss_alert(&mut self, id: i64, at: &str) -> Result<()> {
        PgStore::dismiss_alert(self, id, at)
    }
}

impl Segments for PgStore {
    fn order_ledger(&self, as_of: &str) -> Result<Vec<LedgerLine>> {
        self.map_rows(
            "SELECT customer_id, ordered_on::text, amount_cents, product_id FROM orders
                 WHERE ordered_on <= $1::text::date ORDER BY ordered_on, amount_cents, id",
            &[&as_of],
            |r| LedgerLine {
                customer_id: r.get(0),
                ordered_on: r.get(1),
                amount_cents: r.get(2),
                product_id: r.get(3),
            },
        )
    }
    fn customer_labels(&self) -> Result<HashMap<i64, (Option<String>, String)>> {
        self.map_rows("SELECT id, external_id, name FROM customers", &[], |r| {
            (r.get(0), (r.get(1), r.get(2)))
        })
    }
    fn customer_profiles(&self) -> Result<crate::store::segments::CustomerProfiles> {
        self.map_rows(
            "SELECT id, industry, segment, region FROM customers",
            &[],
            |r| (r.get(0), (r.get(1), r.get(2), r.get(3))),
        )
    }
    fn customer_activity_days(&self, as_of: &str) -> Result<Vec<(i64, String)>> {
        self.map_rows(
            "SELECT customer_id, done_on::text FROM activities
                 WHERE done_on IS NOT NULL AND done_on <= $1::text::date AND customer_id IS NOT NULL
                 ORDER BY customer_id, done_on, id",
            &[&as_of],
            |r| (r.get(0), r.get(1)),
        )
    }
    fn save_segment_run(&mut self, run: &NewSegmentRun) -> Result<i64> {
        self.write(|tx| insert_segment_run(tx, run))
    }
    fn segment_run(&self, id: Option<i64>) -> Result<Option<SegmentRun>> {
        let Some(head) = self.opt(
            &format!(
                "SELECT id, as_of::text, {}, k::bigint, silhouette, adjusted_rand_min FROM segment_runs
                 WHERE id = coalesce($1, (SELECT max(id) FROM segment_runs))",
                stamp("created_at")
            ),
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let mut run = SegmentRun {
            id: head.get(0),
            as_of: head.get(1),
            created_at: head.get(2),
            k: head.get::<_, i64>(3) as usize,
            silhouette: head.get(4),
            adjusted_rand_min: head.get(5),
            profiles: Vec::new(),
        };
        run.profiles = self.map_rows(
            "SELECT name, description, customers, revenue_cents, recency_days, frequency,
                        monetary_cents, tenure_days, breadth
                 FROM segment_profiles WHERE run_id = $1 ORDER BY position",
            &[&run.id],
            |r| crate::domain::segments::SegmentProfile {
                name: r.get(0),
                description: r.get(1),
                customers: r.get::<_, i64>(2) as usize,
                revenue_cents: r.get(3),
                recency_days: r.get(4),
                frequency: r.get(5),
                monetary_cents: r.get(6),
                tenure_days: r.get(7),
                breadth: r.get(8),
            },
        )?;
        Ok(Some(run))
    }
    fn previous_segment_run(&self, id: i64) -> Result<Option<i64>> {
        Ok(self
            .row("SELECT max(id) FROM segment_runs WHERE id < $1", &[&id])?
            .get(0))
    }
    fn segment_moves(&self, from: i64, to: i64) -> Result<Vec<SegmentMove>> {
        self.map_rows(
            "SELECT pa.name, pb.name, count(*) FROM segment_members a
                 JOIN segment_members b ON b.customer_id = a.customer_id AND b.run_id = $2
                 JOIN segment_profiles pa ON pa.run_id = a.run_id AND pa.position = a.position
                 JOIN segment_profiles pb ON pb.run_id = b.run_id AND pb.position = b.position
                 WHERE a.run_id = $1 AND pa.name <> pb.name
                 GROUP BY pa.name, pb.name
                 ORDER BY count(*) DESC, pa.name COLLATE \"C\", pb.name COLLATE \"C\"",
            &[&from, &to],
            |r| SegmentMove {
                from: r.get(0),
                to: r.get(1),
                customers: r.get::<_, i64>(2) as usize,
            },
        )
    }
    fn segment_history(&self, customer_id: i64) -> Result<Vec<SegmentHistory>> {
        self.map_rows(
            "SELECT r.id, r.as_of::text, p.name FROM segment_members m
                 JOIN segment_runs r ON r.id = m.run_id
                 JOIN segment_profiles p ON p.run_id = m.run_id AND p.position = m.position
                 WHERE m.customer_id = $1 ORDER BY r.id",
            &[&customer_id],
            |r| SegmentHistory {
                run_id: r.get(0),
                as_of: r.get(1),
                segment: r.get(2),
            },
        )
    }
    fn save_intel_run(&mut self, run: &crate::store::intel::NewIntelRun) -> Result<i64> {
        self.write(|tx| {
            let segment_run_id = match &run.segments {
                Some(s) => Some(insert_segment_run(tx, s)?),
                None => None,
            };
            tx.execute(
                "UPDATE customer_intel SET as_of = $1::text::date, segment = NULL, tier = NULL,
                   p_alive = NULL, churn_risk = NULL, expected_purchases = NULL,
                   predicted_value_cents = NULL, lifetime_cents = NULL, need_family = NULL,
                   need_share = NULL, need_rule = NULL, offers = NULL",
                &[&run.as_of],
            )?;
            let c = &run.customers;
            let ids: Vec<i64> = c.iter().map(|c| c.customer_id).collect();
            let segment: Vec<Option<&str>> = c.iter().map(|c| c.segment.as_deref()).collect();
            let tier: Vec<Option<&str>> = c.iter().map(|c| c.tier.as_deref()).collect();
            let p_alive: Vec<Option<f64>> = c.iter().map(|c| c.p_alive).collect();
            let churn: Vec<Option<f64>> = c.iter().map(|c| c.churn_risk).collect();
            let expected: Vec<Option<f64>> = c.iter().map(|c| c.expected_purchases).collect();
            let predicted: Vec<Option<i64>> = c.iter().map(|c| c.predicted_value.map(|m| m.0)).collect();
            let lifetime: Vec<Option<i64>> = c.iter().map(|c| c.lifetime_value.map(|m| m.0)).collect();
            let family: Vec<Option<&str>> = c
                .iter()
                .map(|c| c.need.as_ref().map(|n| n.family.as_str()))
                .collect();
            let share: Vec<Option<f64>> = c.iter().map(|c| c.need.as_ref().map(|n| n.share)).collect();
            let rule: Vec<Option<&str>> = c
                .iter()
                .map(|c| c.need.as_ref().map(|n| n.rule.as_str()))
                .collect();
            let offers: Vec<Option<String>> = c
                .iter()
                .map(|c| {
                    (!c.offers.is_empty()).then(|| serde_json::to_string(&c.offers).unwrap_or_default())
                })
                .collect();
            // One statement for every customer: arrays in, one row of each per customer.
            tx.execute(
                "UPDATE customer_intel ci SET segment = v.segment, tier = v.tier, p_alive = v.p_alive,
                   churn_risk = v.churn, expected_purchases = v.expected,
                   predicted_value_cents = v.predicted, lifetime_cents = v.lifetime,
                   need_family = v.family, need_share = v.share, need_rule = v.rule,
                   offers = v.offers::json
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::float8[],
                             $6::float8[], $7::bigint[], $8::bigint[], $9::text[], $10::float8[],
                             $11::text[], $12::text[])
                      AS v(id, segment, tier, p_alive, churn, expected, predicted, lifetime, family,
                           share, rule, offers)
                 WHERE ci.customer_id = v.id",
                &[
                    &ids, &segment, &tier, &p_alive, &churn, &expected, &predicted, &lifetime, &family,
                    &share, &rule, &offers,
                ],
            )?;
            let valued = c.iter().filter(|c| c.predicted_value.is_some()).count() as i64;
            let customers: i64 = tx
                .query_one("SELECT count(*) FROM customer_intel", &[])?
                .get(0);
            Ok(tx
                .query_one(
                    "INSERT INTO intel_runs(created_at, as_of, segment_run_id, customers, valued, notes)
                     VALUES ($1::text::timestamptz, $2::text::date, $3, $4, $5, $6) RETURNING id",
                    &[
                        &run.created_at,
                        &run.as_of,
                        &segment_run_id,
                        &customers,
                        &valued,
                        &run.notes.join("\n"),
                    ],
                )?
                .get(0))
        })
    }
    fn last_intel_run(&self) -> Result<Option<crate::domain::intel::IntelRun>> {
        Ok(self
            .opt(
                &format!(
                    "SELECT id, {}, as_of::text, segment_run_id, customers, valued, notes
                     FROM intel_runs ORDER BY id DESC LIMIT 1",
                    stamp("created_at")
                ),
                &[],
            )?
            .map(|r| {
                let notes: String = r.get(6);
                crate::domain::intel::IntelRun {
                    id: r.get(0),
                    created_at: r.get(1),
                    as_of: r.get(2),
                    segment_run_id: r.get(3),
                    customers: r.get::<_, i64>(4) as usize,
                    valued: r.get::<_, i64>(5) as usize,
                    notes: notes
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect(),
                }
            }))
    }
    fn customer_intel(
        &self,
        customer_id: i64,
    ) -> Result<Option<crate::domain::intel::CustomerIntel>> {
        use crate::domain::intel::{NeedLine, OfferLine};
        use crate::domain::Money;
        Ok(self
            .opt(
                "SELECT as_of::text, segment, tier, p_alive, churn_risk, expected_purchases,
                   predicted_value_cents, lifetime_cents, need_family, need_share, need_rule, offers::text
                 FROM customer_intel WHERE customer_id = $1 AND as_of IS NOT NULL",
                &[&customer_id],
            )?
            .map(|r| {
                let need = match (
                    r.get::<_, Option<String>>(8),
                    r.get::<_, Option<f64>>(9),
                    r.get::<_, Option<String>>(10),
                ) {
                    (Some(family), Some(share), rule) => Some(NeedLine {
                        family,
                        share,
                        rule: rule.unwrap_or_default(),
                    }),
                    _ => None,
                };
                let offers: Option<String> = r.get(11);
                crate::domain::intel::CustomerIntel {
                    customer_id,
                    as_of: r.get(0),
                    segment: r.get(1),
                    tier: r.get(2),
                    p_alive: r.get(3),
                    churn_risk: r.get(4),
                    expected_purchases: r.get(5),
                    predicted_value: r.get::<_, Option<i64>>(6).map(Money),
                    lifetime_value: r.get::<_, Option<i64>>(7).map(Money),
                    need,
                    offers: offers
                        .and_then(|o| serde_json::from_str::<Vec<OfferLine>>(&o).ok())
                        .unwrap_or_default(),
                }
            }))
    }
    fn intel_tiers(&self) -> Result<Vec<(String, usize, crate::domain::Money)>> {
        self
            .map_rows(
                "SELECT tier, count(*), coalesce(sum(predicted_value_cents), 0)::bigint FROM customer_intel
                 WHERE tier IS NOT NULL GROUP BY tier ORDER BY tier COLLATE \"C\"",
                &[], |r| {
                (
                    r.get(0),
                    r.get::<_, i64>(1) as usize,
                    crate::domain::Money(r.get(2)),
                )
            })
    }
}

impl Forecasts for PgStore {
    fn forecast_run(&self, id: i64) -> Result<Option<ForecastRun>> {
        let Some(level) = self
            .opt("SELECT level FROM forecast_runs WHERE id = $1", &[&id])?
            .map(|r| r.get::<_, String>(0))
        else {
            return Ok(None);
        };
        self.load_run(id, &level)
    }
    fn forecast_runs(&self) -> Result<Vec<(i64, String, String, String)>> {
        self.map_rows(
            &format!(
                "SELECT id, {}, level, period_kind FROM forecast_runs ORDER BY id DESC",
                stamp("created_at")
            ),
            &[],
            |r| (r.get(0), r.get(1), r.get(2), r.get(3)),
        )
    }
    fn dashboard_forecast_run(&self, level: &str, today: &str) -> Result<Option<ForecastRun>> {
        let Some(id) = self
            .opt(
                "SELECT id FROM forecast_runs
                 WHERE level = $1 AND for_dashboard AND (as_of IS NULL OR as_of <= $2::text::date)
                 ORDER BY as_of DESC NULLS LAST, id DESC LIMIT 1",
                &[&level, &today],
            )?
            .map(|r| r.get::<_, i64>(0))
        else {
            return Ok(None);
        };
        self.load_run(id, level)
    }
    fn save_forecast_run(&mut self, run: &NewForecastRun) -> Result<i64> {
        self.write(|tx| insert_forecast_run(tx, run))
    }
    fn save_recompute(
        &mut self,
        run: &NewForecastRun,
        scores: Option<&NewScores>,
    ) -> Result<(i64, Option<i64>)> {
        self.write(|tx| {
            let forecast = insert_forecast_run(tx, run)?;
            let model = match scores {
                Some(s) => Some(insert_scores(tx, s)?),
                None => None,
            };
            Ok((forecast, model))
        })
    }
}

impl Models for PgStore {
    fn scoring_deals(&self, recent: usize, created_by: &str) -> Result<Vec<DealFacts>> {
        let base = "SELECT d.id, d.external_id, d.name, c.name, d.owner_rep_id, r.name, d.amount_cents,
                      d.created_on, d.closed_on, s.kind, s.name, c.segment, d.source, p.name
                    FROM deals d JOIN stages s ON s.id = d.stage_id JOIN customers c ON c.id = d.customer_id
                    LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN products p ON p.id = d.product_id";
        let read = |r: &postgres::Row| {
            let kind: String = r.get(9);
            DealFacts {
                id: r.get(0),
                external_id: r.get(1),
                name: r.get(2),
                customer: r.get(3),
                owner_id: r.get(4),
                owner: r.get(5),
                amount_cents: r.get(6),
                created_on: r.get(7),
                closed_on: r.get(8),
                outcome: match kind.as_str() {
                    "won" => Some(true),
                    "lost" => Some(false),
                    _ => None,
                },
                stage: r.get(10),
                segment: r.get(11),
                source: r.get(12),
                product: r.get(13),
            }
        };
        let mut closed: Vec<DealFacts> = self.map_rows(
            &format!(
                    "{base} WHERE d.id IN (SELECT id FROM deals WHERE closed_on IS NOT NULL
                       AND created_on <= $2::text::date ORDER BY created_on DESC, id DESC LIMIT $1)"
                ),
            &[&(recent as i64), &created_by],
            read,
        )?;
        closed.retain(|d| d.outcome.is_some());
        closed.sort_by(|a, b| a.closed_on.cmp(&b.closed_on).then(a.id.cmp(&b.id)));
        closed.extend(
            self.rows(&format!("{base} WHERE s.kind = 'open' ORDER BY d.id"), &[])?
                .iter()
                .map(read),
        );
        Ok(closed)
    }
    fn save_scores(&mut self, s: &NewScores) -> Result<i64> {
        self.write(|tx| insert_scores(tx, s))
    }
    fn activity_days(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<NaiveDate>>> {
        let mut out: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
        self.each(
            "SELECT deal_id, done_on FROM activities WHERE deal_id = ANY($1) AND done_on IS NOT NULL",
            &[&ids], |r| {
            out.entry(r.get(0)).or_default().push(r.get(1));
        })?;
        out.values_mut().for_each(|v| v.sort());
        Ok(out)
    }
    fn stage_entries(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<(NaiveDate, i64)>>> {
        let mut out: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
        self.each(
            "SELECT sc.deal_id, sc.changed_on, s.position::bigint FROM stage_changes sc
             JOIN stages s ON s.id = sc.to_stage_id AND s.kind = 'open'
             WHERE sc.deal_id = ANY($1) ORDER BY sc.deal_id, sc.changed_on, sc.id",
            &[&ids],
            |r| {
                out.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
            },
        )?;
        Ok(out)
    }
    fn owner_outcomes(&self) -> Result<Vec<(i64, NaiveDate, bool)>> {
        self.map_rows(
            "SELECT d.owner_rep_id, d.closed_on, s.kind = 'won' FROM deals d
                 JOIN stages s ON s.id = d.stage_id
                 WHERE d.closed_on IS NOT NULL AND d.owner_rep_id IS NOT NULL AND s.kind <> 'open'
                 ORDER BY d.closed_on, d.stage_id, d.amount_cents, d.id",
            &[],
            |r| (r.get(0), r.get(1), r.get(2)),
        )
    }
    fn score_run_outcomes(&self) -> Result<Vec<crate::store::scoring::RunOutcomes>> {
        let mut runs: Vec<crate::store::scoring::RunOutcomes> = self.map_rows(
            &format!(
                "SELECT r.id, {}, r.metrics_json::text,
                       (SELECT count(*) FROM deal_score_history h WHERE h.model_run_id = r.id)
                     FROM model_runs r WHERE r.kind = 'win_probability' ORDER BY r.id",
                stamp("r.created_at")
            ),
            &[],
            |r| crate::store::scoring::RunOutcomes {
                run_id: r.get(0),
                at: r.get(1),
                metrics_json: r.get(2),
                scored: r.get::<_, i64>(3) as usize,
                closed: Vec::new(),
            },
        )?;
        let at: HashMap<i64, usize> = runs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.run_id, i))
            .collect();
        self.each(
            "SELECT h.model_run_id, h.probability, s.kind = 'won'
             FROM deal_score_history h JOIN deals d ON d.id = h.deal_id
             JOIN stages s ON s.id = d.stage_id WHERE s.kind IN ('won', 'lost')
             ORDER BY h.model_run_id, h.deal_id",
            &[],
            |r| {
                if let Some(&i) = at.get(&r.get::<_, i64>(0)) {
                    runs[i].closed.push((r.get(1), r.get(2)));
                }
            },
        )?;
        Ok(runs)
    }
}

impl AuditTrail for PgStore {
    fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.map_rows(
            &format!(
                "SELECT id, {}, os_user, action, entity, entity_id, entity_id_last, batch_id, note,
                            before_json::text, after_json::text, display_name
                     FROM audit_log
                     WHERE ($1::text IS NULL OR entity = $1)
                       AND ($2::text IS NULL OR at >= $2::text::timestamptz)
                       AND ($3::text IS NULL OR os_user = $3 OR display_name = $3)
                       AND ($5::bigint IS NULL OR id < $5)
                     ORDER BY id DESC LIMIT $4",
                stamp("at")
            ),
            &[
                &f.entity,
                &f.since,
                &f.user,
                &(f.limit as i64),
                &f.before_id,
            ],
            |r| AuditEntry {
                id: r.get(0),
                at: r.get(1),
                os_user: r.get(2),
                action: r.get(3),
                entity: r.get(4),
                entity_id: r.get(5),
                entity_id_last: r.get(6),
                batch_id: r.get(7),
                note: r.get(8),
                before: r.get(9),
                after: r.get(10),
                display_name: r.get(11),
            },
        )
    }
    fn audit_high_water(&self) -> Result<i64> {
        Ok(self
            .row("SELECT coalesce(max(id), 0) FROM audit_log", &[])?
            .get(0))
    }
    fn log_event(&mut self, actor: &Actor, entity: &str, note: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit_log(at, os_user, action, entity, entity_id, before_json, after_json,
                                       batch_id, note, display_name)
                 VALUES ($1::text::timestamptz, $2, 'insert', $3, 0, NULL, NULL, NULL, $4, $5)",
                &[&actor.at, &actor.os_user, &entity, &note, &actor.display_name],
            )?;
            Ok(())
        })
    }
    fn undo_range(&mut self, from: i64, to: i64, actor: &Actor) -> Result<usize> {
        PgStore::undo_range(self, from, to, actor)
    }
    fn revert_batch(&mut self, batch: i64, actor: &Actor, cascade: bool) -> Result<RevertReport> {
        PgStore::revert_batch(self, batch, actor, cascade)
    }
}

impl Maintenance for PgStore {
    fn backup_to(&self, dest: &Path) -> Result<u64> {
        PgStore::backup_to(self, dest)
    }
    fn restore_from(&mut self, _src: &Path, _keep_aside: &Path) -> Result<()> {
        Err(self.restore_refused())
    }
    fn write_converted(&self, _dest: &Path, _key: Option<&str>) -> Result<()> {
        Err(self.encryption_refused())
    }
    fn health(&self) -> Result<Health> {
        PgStore::health(self)
    }
    fn mark_damaged(&self, _why: &str) {
        // The server keeps its own integrity (checksums, WAL): nothing to mark here.
    }
    fn clear_damaged(&self) {}
    fn export(
        &self,
        kind: &str,
        header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
        row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
    ) -> Result<usize> {
        self.export_rows(kind, header, row)
    }
    fn data_version(&self) -> Result<String> {
        let r = self.row(
            "SELECT (SELECT coalesce(max(id), 0) FROM audit_log)::text || '.' ||
                    (SELECT coalesce(max(id), 0) FROM model_runs)::text || '.' ||
                    (SELECT coalesce(max(id), 0) FROM forecast_runs)::text",
            &[],
        )?;
        Ok(r.get(0))
    }
    fn cached_analysis(&self, name: &str, version: &str) -> Result<Option<String>> {
        Ok(self
            .opt(
                "SELECT body FROM analysis_cache WHERE name = $1 AND version = $2",
                &[&name, &version],
            )?
            .map(|r| r.get(0)))
    }
    fn keep_analysis(&self, name: &str, version: &str, body: &str) {
        PgStore::keep_analysis(self, name, version, body)
    }
    fn watch_cancel(&mut self, flag: Option<crate::domain::jobs::CancelFlag>) {
        self.watch(flag);
    }
}

impl Loading for PgStore {
    fn import_file(
        &mut self,
        kind: crate::domain::import::ImportKind,
        path: &Path,
        opts: &crate::store::import::ImportOptions,
        actor: &Actor,
    ) -> std::result::Result<crate::domain::import::ImportReport, crate::store::import::ImportError>
    {
        self.check_cancel()?;
        crate::store::migrate::import_on_postgres(
            &mut self.client.borrow_mut(),
            &self.target,
            kind,
            path,
            opts,
            actor,
        )
    }
    fn bulk_load_with(
        &mut self,
        replacing: Option<&str>,
        actor: &Actor,
        progress: &mut dyn FnMut(&str, f64),
        fill: &mut Fill,
    ) -> crate::domain::bulk::SinkResult<()> {
        self.bulk_load_pg(replacing, actor, progress, fill)
    }
    fn convert_in_place(
        self: Box<Self>,
        _key: Option<&str>,
        _note: &str,
        _actor: &Actor,
    ) -> Result<()> {
        Err(self.encryption_refused())
    }
}

impl PgStore {
    pub fn keep_analysis(&self, name: &str, version: &str, body: &str) {
        let _ = self.client.borrow_mut().execute(
            "INSERT INTO analysis_cache(name, version, body) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body",
            &[&name, &version, &body],
        );
    }
}

/// A TIMESTAMPTZ column as funnel writes moments everywhere: RFC 3339 in UTC, to the
/// second (`2026-09-01T09:00:00Z`); the session's time zone is UTC.
pub(crate) fn stamp(col: &str) -> String {
    format!("to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

impl PgStore {
    pub fn stages(&self) -> Result<Vec<Stage>> {
        self.map_rows(
            "SELECT id, name, position::bigint, probability, kind, forecast_category
                 FROM stages ORDER BY position, id",
            &[],
            |r| {
                let kind: String = r.get(4);
                let cat: String = r.get(5);
                Stage {
                    id: r.get(0),
                    name: r.get(1),
                    position: r.get(2),
                    probability: r.get(3),
                    kind: kind.parse().unwrap_or(crate::domain::StageKind::Open),
                    category: cat
                        .parse()
                        .unwrap_or(crate::domain::ForecastCategory::Pipeline),
                }
            },
        )
    }

    fn targets_where(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
        id: Option<i64>,
    ) -> Result<Vec<TargetRow>> {
        let rows = self.rows(
            "SELECT t.id, t.scope, t.team_id, t.rep_id, coalesce(tm.name, r.name, 'Company'),
                    t.period, t.metric, t.value
             FROM targets t
             LEFT JOIN teams tm ON tm.id = t.team_id
             LEFT JOIN reps r ON r.id = t.rep_id
             WHERE ($1::text IS NULL OR t.scope = $1) AND ($2::text IS NULL OR t.metric = $2)
               AND ($3::text IS NULL OR t.period = $3) AND ($4::bigint IS NULL OR t.id = $4)
             ORDER BY t.period COLLATE \"C\",
                      CASE t.scope WHEN 'company' THEN 0 WHEN 'team' THEN 1 ELSE 2 END,
                      coalesce(tm.name, r.name, 'Company') COLLATE \"C\", t.metric COLLATE \"C\"",
            &[
                &scope.map(|s| s.as_str()),
                &metric.map(|m| m.as_str()),
                &period,
                &id,
            ],
        )?;
        let mut out = Vec::new();
        for r in rows {
            let scope: String = r.get(1);
            let metric: String = r.get(6);
            let (Ok(scope), Ok(metric)) = (scope.parse(), metric.parse()) else {
                continue;
            };
            out.push(TargetRow {
                id: r.get(0),
                scope,
                team_id: r.get(2),
                rep_id: r.get(3),
                name: r.get(4),
                period: r.get(5),
                metric,
                value: r.get(7),
            });
        }
        Ok(out)
    }

    fn load_run(&self, id: i64, level: &str) -> Result<Option<ForecastRun>> {
        let head = self.row(
            &format!(
                "SELECT {}, last_actual, note FROM forecast_runs WHERE id = $1",
                stamp("created_at")
            ),
            &[&id],
        )?;
        let mut series: Vec<crate::domain::forecasts::ForecastSeries> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut slot = |key: String, series: &mut Vec<crate::domain::forecasts::ForecastSeries>| {
            *index.entry(key.clone()).or_insert_with(|| {
                series.push(crate::domain::forecasts::ForecastSeries {
                    key,
                    ..Default::default()
                });
                series.len() - 1
            })
        };
        self.each(
            "SELECT series_key, period, value FROM forecast_history WHERE run_id = $1
             ORDER BY series_key COLLATE \"C\", period COLLATE \"C\"",
            &[&id],
            |r| {
                let i = slot(r.get(0), &mut series);
                series[i].history.push((r.get(1), r.get(2)));
            },
        )?;
        self.each(
            "SELECT series_key, period, forecast, lo, hi, model, backtest_mase FROM forecast_points
             WHERE run_id = $1 ORDER BY series_key COLLATE \"C\", period COLLATE \"C\"",
            &[&id],
            |r| {
                let i = slot(r.get(0), &mut series);
                series[i]
                    .points
                    .push((r.get(1), r.get(2), r.get(3), r.get(4)));
                series[i].model = r.get(5);
                series[i].backtest_mase = r.get(6);
            },
        )?;
        Ok(Some(ForecastRun {
            id,
            created_at: head.get(0),
            level: level.to_string(),
            last_actual: head.get(1),
            note: head.get(2),
            series,
        }))
    }
}

/// A DATE column as the day number SQLite's `CAST(julianday(d) AS INTEGER)` gives (the
/// paths and the analytics count days in it).
fn day(col: &str) -> String {
    format!("({col} - DATE '2000-01-01' + 2451544)::bigint")
}

use crate::store::funnel::outcome;

/// `funnel export`'s queries in PostgreSQL's dialect: the same columns, in the same order,
/// with dates and moments as the text SQLite keeps (`store::export` has the columns).
fn export_sql(kind: &str) -> Option<String> {
    Some(match kind {
        "customers" => "SELECT c.external_id, c.name, r.name, c.industry, c.segment, c.region, c.city,
                c.country, c.email, c.phone, c.status, c.contact_every_days, c.created_on::text
              FROM customers c LEFT JOIN reps r ON r.id = c.owner_rep_id ORDER BY c.id"
            .into(),
        "contacts" => "SELECT k.external_id, c.external_id, c.name, k.name, k.title, k.email, k.phone,
                k.is_primary::int
              FROM contacts k JOIN customers c ON c.id = k.customer_id ORDER BY k.id"
            .into(),
        "deals" => "SELECT d.external_id, d.name, c.external_id, c.name, r.name, p.sku, d.amount_cents,
                s.name, d.created_on::text, d.expected_close::text, d.closed_on::text, d.source,
                d.lost_reason, d.discount_pct
              FROM deals d JOIN customers c ON c.id = d.customer_id JOIN stages s ON s.id = d.stage_id
              LEFT JOIN reps r ON r.id = d.owner_rep_id LEFT JOIN products p ON p.id = d.product_id
              ORDER BY d.id"
            .into(),
        "activities" => "SELECT a.external_id, c.external_id, c.name, d.external_id, r.name, a.kind,
                a.subject, a.due_on::text, a.done_on::text, a.outcome
              FROM activities a JOIN customers c ON c.id = a.customer_id
              LEFT JOIN deals d ON d.id = a.deal_id LEFT JOIN reps r ON r.id = a.rep_id ORDER BY a.id"
            .into(),
        "orders" => "SELECT o.external_id, c.external_id, c.name, d.external_id, p.sku,
                o.ordered_on::text, o.amount_cents, o.quantity
              FROM orders o JOIN customers c ON c.id = o.customer_id
              LEFT JOIN deals d ON d.id = o.deal_id LEFT JOIN products p ON p.id = o.product_id
              ORDER BY o.id"
            .into(),
        "targets" => "SELECT t.scope, coalesce(tm.name, r.name), t.period, t.metric, t.value
              FROM targets t LEFT JOIN teams tm ON tm.id = t.team_id LEFT JOIN reps r ON r.id = t.rep_id
              ORDER BY t.id"
            .into(),
        "teams" => "SELECT t.external_id, t.name, p.name FROM teams t
              LEFT JOIN teams p ON p.id = t.parent_id ORDER BY t.id"
            .into(),
        "reps" => "SELECT r.external_id, r.name, r.email, t.name, r.capacity, r.hired_on::text,
                CASE WHEN r.active THEN 'yes' ELSE 'no' END
              FROM reps r LEFT JOIN teams t ON t.id = r.team_id ORDER BY r.id"
            .into(),
        "products" => "SELECT sku, name, family, list_price_cents FROM products ORDER BY id".into(),
        "stages" => "SELECT name, kind, probability, position, forecast_category FROM stages
              ORDER BY position, id"
            .into(),
        "stage_changes" => "SELECT d.external_id, t.name, sc.changed_on::text,
                CASE WHEN sc.inferred THEN 'yes' ELSE 'no' END
              FROM stage_changes sc JOIN deals d ON d.id = sc.deal_id
              JOIN stages t ON t.id = sc.to_stage_id
              ORDER BY sc.deal_id, sc.changed_on, t.kind <> 'open', t.position, sc.id"
            .into(),
        "target_revisions" => format!(
            "SELECT v.target_id, t.metric,
                CASE WHEN t.metric = 'won_revenue' AND v.old_value IS NOT NULL
                     THEN (v.old_value / 100.0)::numeric(30, 2)::text ELSE v.old_value::text END,
                CASE WHEN t.metric = 'won_revenue'
                     THEN (v.new_value / 100.0)::numeric(30, 2)::text ELSE v.new_value::text END,
                {}, v.changed_by, v.reason
              FROM target_revisions v JOIN targets t ON t.id = v.target_id ORDER BY v.id",
            stamp("v.changed_at")
        ),
        "import_batches" => format!(
            "SELECT id, kind, file, vendor, {}, os_user, inserted, updated, rejected, reverted_at::text
              FROM import_batches ORDER BY id",
            stamp("created_at")
        ),
        "audit_log" => format!(
            "SELECT id, {}, os_user, action, entity, entity_id, before_json::text, after_json::text,
                batch_id, note
              FROM audit_log ORDER BY id",
            stamp("at")
        ),
        _ => return None,
    })
}

/// One value of a row as the export's cell (money columns as money).
fn cell(r: &postgres::Row, i: usize, money: bool) -> Cell {
    use crate::domain::Money;
    use postgres::types::Type;
    let ty = r.columns()[i].type_().clone();
    let int = |v: Option<i64>| match v {
        None => Cell::Null,
        Some(v) if money => Cell::Money(Money(v)),
        Some(v) => Cell::Int(v),
    };
    match ty {
        Type::INT8 => int(r.get(i)),
        Type::INT4 => int(r.get::<_, Option<i32>>(i).map(i64::from)),
        Type::INT2 => int(r.get::<_, Option<i16>>(i).map(i64::from)),
        Type::FLOAT8 => r.get::<_, Option<f64>>(i).map_or(Cell::Null, Cell::Real),
        Type::BOOL => int(r.get::<_, Option<bool>>(i).map(i64::from)),
        _ => r.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
    }
}

impl PgStore {
    fn export_rows(
        &self,
        kind: &str,
        header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
        row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let (Some(spec), Some(sql)) = (crate::store::export::spec(kind), export_sql(kind)) else {
            return Err(StoreError::Invalid(format!(
                "cannot export '{kind}': choose one of {}",
                crate::store::export::EXPORT_KINDS.join(", ")
            )));
        };
        let io = StoreError::Output;
        header(spec.columns).map_err(io)?;
        let money: Vec<bool> = spec
            .columns
            .iter()
            .map(|c| spec.money.contains(c))
            .collect();
        self.check_cancel()?;
        let mut client = self.client.borrow_mut();
        // Streamed: a million rows are never held at once.
        let mut tx = client.transaction().map_err(|e| self.err(e))?;
        let portal = tx.bind(sql.as_str(), &[]).map_err(|e| self.err(e))?;
        let mut cells = Vec::with_capacity(spec.columns.len());
        let mut n = 0;
        loop {
            let batch = tx.query_portal(&portal, 5000).map_err(|e| self.err(e))?;
            if batch.is_empty() {
                break;
            }
            for r in &batch {
                cells.clear();
                for (i, &is_money) in money.iter().enumerate() {
                    cells.push(cell(r, i, is_money));
                }
                // Counts' revisions are numbers (SQLite's CASE keeps each value's own type).
                if kind == "target_revisions"
                    && !matches!(&cells[1], Cell::Text(m) if m == "won_revenue")
                {
                    for c in &mut cells[2..4] {
                        if let Cell::Text(t) = c {
                            if let Ok(v) = t.parse() {
                                *c = Cell::Int(v);
                            }
                        }
                    }
                }
                if kind == "targets" && matches!(&cells[3], Cell::Text(m) if m == "won_revenue") {
                    if let Cell::Int(v) = cells[4] {
                        cells[4] = Cell::Money(crate::domain::Money(v));
                    }
                }
                row(&cells).map_err(io)?;
                n += 1;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(n)
    }
}

impl PgStore {
    /// (stage id, days) rows of a query taking two dates and a row limit, by stage.
    fn days_by_stage(
        &self,
        sql: &str,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        let mut out: HashMap<i64, Vec<f64>> = HashMap::new();
        self.each(sql, &[&since, &until, &(limit as i64)], |r| {
            if let Some(days) = r.get::<_, Option<f64>>(1) {
                out.entry(r.get(0)).or_default().push(days);
            }
        })?;
        Ok(out)
    }

    /// Board cards: the card columns of the deals `tail` picks.
    fn cards(&self, tail: &str, params: &Params) -> Result<Vec<DealCard>> {
        self.map_rows(
            &format!(
                "SELECT d.id, d.external_id, d.name, c.name, r.name, d.amount_cents,
                       d.expected_close::text, d.stage_entered_on::text, sc.probability,
                       (SELECT coalesce(max(a.id), 0) FROM audit_log a
                        WHERE a.entity = 'deal' AND a.entity_id = d.id),
                       c.id
                     FROM deals d JOIN customers c ON c.id = d.customer_id
                     LEFT JOIN reps r ON r.id = d.owner_rep_id
                     LEFT JOIN deal_scores sc ON sc.deal_id = d.id {tail}"
            ),
            params,
            |r| DealCard {
                id: r.get(0),
                external_id: r.get(1),
                name: r.get(2),
                customer: r.get(3),
                owner: r.get(4),
                amount: crate::domain::Money(r.get(5)),
                expected_close: r.get(6),
                stage_entered_on: r.get(7),
                win_probability: r.get(8),
                version: r.get(9),
                customer_id: r.get(10),
            },
        )
    }
}

/// The audit trail on PostgreSQL, written as SQLite's: each row as a JSON object of its
/// columns in table order, numbers as numbers, flags as 0/1, dates as `YYYY-MM-DD` and
/// moments as RFC 3339, so that entries read the same whichever backend wrote them.
pub(crate) mod audit_pg {
    use super::{Actor, Entity, TxResult};
    use crate::store::audit::Action;
    use postgres::types::Type;
    use std::fmt::Write;

    pub fn row_json(
        tx: &mut postgres::Transaction,
        entity: Entity,
        id: i64,
    ) -> TxResult<Option<String>> {
        let sql = format!("SELECT * FROM {} WHERE id = $1", entity.table());
        let Some(row) = tx.query_opt(&sql, &[&id])? else {
            return Ok(None);
        };
        let mut out = String::with_capacity(256);
        out.push('{');
        for (i, c) in row.columns().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{}\":", c.name());
            let text = |v: Option<String>| {
                v.map_or("null".to_string(), |t| {
                    serde_json::to_string(&t).unwrap_or_default()
                })
            };
            let num = |v: Option<i64>| v.map_or("null".to_string(), |v| v.to_string());
            let value = match *c.type_() {
                Type::INT8 => num(row.get(i)),
                Type::INT4 => num(row.get::<_, Option<i32>>(i).map(i64::from)),
                Type::BOOL => num(row.get::<_, Option<bool>>(i).map(i64::from)),
                Type::FLOAT8 => row
                    .get::<_, Option<f64>>(i)
                    .map_or("null".to_string(), |v| {
                        crate::store::audit::sql_to_json(rusqlite::types::Value::Real(v))
                            .to_string()
                    }),
                Type::DATE => text(
                    row.get::<_, Option<chrono::NaiveDate>>(i)
                        .map(|d| d.format("%Y-%m-%d").to_string()),
                ),
                Type::TIMESTAMPTZ => text(
                    row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                ),
                _ => text(row.get(i)),
            };
            out.push_str(&value);
        }
        out.push('}');
        Ok(Some(out))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        tx: &mut postgres::Transaction,
        actor: &Actor,
        action: Action,
        entity: Entity,
        entity_id: i64,
        before: Option<&str>,
        after: Option<&str>,
        note: Option<&str>,
    ) -> TxResult<()> {
        tx.execute(
            "INSERT INTO audit_log(at, os_user, action, entity, entity_id, before_json, after_json,
                                   batch_id, note, display_name)
             VALUES ($1::text::timestamptz, $2, $3, $4, $5, $6::text::json, $7::text::json, $8, $9, $10)",
            &[
                &actor.at,
                &actor.os_user,
                &action.as_str(),
                &entity.name(),
                &entity_id,
                &before,
                &after,
                &actor.batch_id,
                &note,
                &actor.display_name,
            ],
        )?;
        Ok(())
    }

    /// An insert's entry: the new row as it is.
    pub fn inserted(
        tx: &mut postgres::Transaction,
        actor: &Actor,
        entity: Entity,
        id: i64,
        note: Option<&str>,
    ) -> TxResult<()> {
        let after = row_json(tx, entity, id)?;
        record(
            tx,
            actor,
            Action::Insert,
            entity,
            id,
            None,
            after.as_deref(),
            note,
        )
    }

    /// An update's entry, when the row changed.
    pub fn if_changed(
        tx: &mut postgres::Transaction,
        actor: &Actor,
        entity: Entity,
        id: i64,
        before: Option<String>,
        note: Option<&str>,
    ) -> TxResult<()> {
        let after = row_json(tx, entity, id)?;
        if after != before {
            record(
                tx,
                actor,
                Action::Update,
                entity,
                id,
                before.as_deref(),
                after.as_deref(),
                note,
            )?;
        }
        Ok(())
    }
}

use crate::store::targets::{check_change, field};

/// Changes a target's value (audited) and records the revision; nothing when unchanged.
fn change_value(
    tx: &mut postgres::Transaction,
    actor: &Actor,
    id: i64,
    old: i64,
    value: i64,
    reason: &str,
) -> TxResult<()> {
    if old == value {
        return Ok(());
    }
    let before = audit_pg::row_json(tx, Entity::Target, id)?;
    tx.execute(
        "UPDATE targets SET value = $2 WHERE id = $1",
        &[&id, &value],
    )?;
    audit_pg::if_changed(tx, actor, Entity::Target, id, before, None)?;
    write_revision(tx, actor, id, Some(old), value, reason)
}

fn write_revision(
    tx: &mut postgres::Transaction,
    actor: &Actor,
    target: i64,
    old: Option<i64>,
    new: i64,
    reason: &str,
) -> TxResult<()> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO target_revisions(target_id, old_value, new_value, changed_at, changed_by, reason)
             VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6) RETURNING id",
            &[&target, &old, &new, &actor.at, &actor.os_user, &reason],
        )?
        .get(0);
    audit_pg::inserted(tx, actor, Entity::TargetRevision, id, None)
}

/// A model run and its scores (as `store::scoring::insert_scores`), the scores sent as
/// arrays in one statement each.
fn insert_scores(tx: &mut postgres::Transaction, s: &NewScores) -> TxResult<i64> {
    let run: i64 = tx
        .query_one(
            "INSERT INTO model_runs(created_at, kind, params_json, metrics_json)
             VALUES ($1::text::timestamptz, 'win_probability', $2::text::json, $3::text::json)
             RETURNING id",
            &[&s.at, &s.params_json, &s.metrics_json],
        )?
        .get(0);
    tx.execute("DELETE FROM deal_scores", &[])?;
    let (deals, ps): (Vec<i64>, Vec<f64>) = s
        .scores
        .iter()
        .map(|(d, p)| (*d, p.clamp(0.0, 1.0)))
        .unzip();
    tx.execute(
        "INSERT INTO deal_scores(deal_id, model_run_id, probability, computed_at)
         SELECT v.deal, $2, v.p, $4::text::timestamptz FROM unnest($1::bigint[], $3::float8[]) AS v(deal, p)",
        &[&deals, &run, &ps, &s.at],
    )?;
    let (deals, ps): (Vec<i64>, Vec<f64>) = s
        .history
        .iter()
        .map(|(d, p)| (*d, p.clamp(0.0, 1.0)))
        .unzip();
    tx.execute(
        "INSERT INTO deal_score_history(model_run_id, deal_id, probability)
         SELECT $1, v.deal, v.p FROM unnest($2::bigint[], $3::float8[]) AS v(deal, p)",
        &[&run, &deals, &ps],
    )?;
    Ok(run)
}

/// A forecast run with its actuals and points (as `store::dashboard`).
fn insert_forecast_run(tx: &mut postgres::Transaction, run: &NewForecastRun) -> TxResult<i64> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO forecast_runs(created_at, level, period_kind, horizon, last_actual, note,
                                       for_dashboard, as_of)
             VALUES ($1::text::timestamptz, $2, $3, $4::bigint::int, $5, $6, $7, $8::text::date)
             RETURNING id",
            &[
                &run.created_at,
                &run.level,
                &run.period_kind,
                &(run.horizon as i64),
                &run.last_actual,
                &run.note,
                &run.for_dashboard,
                &run.as_of,
            ],
        )?
        .get(0);
    let history = tx.prepare(
        "INSERT INTO forecast_history(run_id, series_key, period, value) VALUES ($1, $2, $3, $4)",
    )?;
    let points = tx.prepare(
        "INSERT INTO forecast_points(run_id, series_key, period, forecast, lo, hi, model, backtest_mase)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )?;
    for s in run.series {
        for (period, value) in &s.history {
            tx.execute(&history, &[&id, &s.key, period, value])?;
        }
        for (period, f, lo, hi) in &s.points {
            tx.execute(
                &points,
                &[&id, &s.key, period, f, lo, hi, &s.model, &s.backtest_mase],
            )?;
        }
    }
    Ok(id)
}

/// A segment run, its profiles and members (as `store::segments::insert_segment_run`).
fn insert_segment_run(tx: &mut postgres::Transaction, run: &NewSegmentRun) -> TxResult<i64> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO segment_runs(created_at, as_of, k, silhouette, adjusted_rand_min)
             VALUES ($1::text::timestamptz, $2::text::date, $3::bigint::int, $4, $5) RETURNING id",
            &[
                &run.created_at,
                &run.as_of,
                &(run.k as i64),
                &run.silhouette,
                &run.adjusted_rand_min,
            ],
        )?
        .get(0);
    let profile = tx.prepare(
        "INSERT INTO segment_profiles(run_id, position, name, description, customers,
           revenue_cents, recency_days, frequency, monetary_cents, tenure_days, breadth)
         VALUES ($1, $2::bigint::int, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )?;
    for (i, p) in run.profiles.iter().enumerate() {
        tx.execute(
            &profile,
            &[
                &id,
                &(i as i64),
                &p.name,
                &p.description,
                &(p.customers as i64),
                &p.revenue_cents,
                &p.recency_days,
                &p.frequency,
                &p.monetary_cents,
                &p.tenure_days,
                &p.breadth,
            ],
        )?;
    }
    let (customers, positions): (Vec<i64>, Vec<i64>) =
        run.members.iter().map(|(c, p)| (*c, *p as i64)).unzip();
    tx.execute(
        "INSERT INTO segment_members(customer_id, run_id, position)
         SELECT v.c, $2, v.p::int FROM unnest($1::bigint[], $3::bigint[]) AS v(c, p)",
        &[&customers, &id, &positions],
    )?;
    Ok(id)
}
