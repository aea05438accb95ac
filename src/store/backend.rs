//! The store's API as traits, one per aggregate, so that a second backend implements them
//! without touching `app`, `tui` or `cli`. `Backend` is all of them; the use cases take
//! `&dyn Backend`. SQLite's `Store` implements each by its own methods, PostgreSQL's
//! `postgres::PgStore` by its own queries. `tests/store_contract.rs` is what every backend
//! must pass, and runs on both.

use super::audit::RevertReport;
use super::dashboard::{ForecastRun, NewForecastRun, Team};
use super::db::Result;
use super::edits::DealFields;
use super::maintenance::Health;
use super::queries::{Stage, StageTotals, Summary};
use super::remove::{MergeOutcome, RemovalPlan};
use super::reports::ClosedDeal;
use super::scoring::NewScores;
use super::Store;
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
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;

/// The store of customers: the list (keyset pages), one customer, contacts, deleting and merging.
pub trait Customers {
    fn log_activity(
        &mut self,
        customer_id: i64,
        r: &crate::domain::records::ActivityRecord,
        follow_up: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn count_customers(&self, f: &CustomerFilter) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn customer_detail(&self, id: i64) -> Result<Option<CustomerDetail>>;
    #[allow(clippy::too_many_arguments)]
    fn customer_names_like(&self, text: &str, limit: usize) -> Result<Vec<String>>;
    #[allow(clippy::too_many_arguments)]
    fn customer_page(
        &self,
        f: &CustomerFilter,
        sort: CustomerSort,
        cursor: Option<&Cursor>,
        direction: PageDirection,
        limit: usize,
    ) -> Result<Vec<CustomerRow>>;
    #[allow(clippy::too_many_arguments)]
    fn find_row(&self, entity: Entity, text: &str) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn merge_customers(&mut self, keep: i64, gone: i64, actor: &Actor) -> Result<MergeOutcome>;
    #[allow(clippy::too_many_arguments)]
    fn removal_plan(&self, entity: Entity, id: i64) -> Result<RemovalPlan>;
    #[allow(clippy::too_many_arguments)]
    fn remove(
        &mut self,
        entity: Entity,
        id: i64,
        force: bool,
        actor: &Actor,
    ) -> Result<RemovalPlan>;
    #[allow(clippy::too_many_arguments)]
    fn save_contact(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        customer_id: i64,
        r: &ContactRecord,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn save_customer(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &CustomerRecord,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn pick_lists(&self) -> Result<PickLists>;
    #[allow(clippy::too_many_arguments)]
    fn is_empty(&self) -> Result<bool>;
    #[allow(clippy::too_many_arguments)]
    fn summary(&self) -> Result<Summary>;
}

impl Customers for Store {
    fn log_activity(
        &mut self,
        customer_id: i64,
        r: &crate::domain::records::ActivityRecord,
        follow_up: Option<NaiveDate>,
        actor: &Actor,
    ) -> Result<()> {
        Store::log_activity(self, customer_id, r, follow_up, actor)
    }
    fn count_customers(&self, f: &CustomerFilter) -> Result<i64> {
        Store::count_customers(self, f)
    }
    fn customer_detail(&self, id: i64) -> Result<Option<CustomerDetail>> {
        Store::customer_detail(self, id)
    }
    fn customer_names_like(&self, text: &str, limit: usize) -> Result<Vec<String>> {
        Store::customer_names_like(self, text, limit)
    }
    fn customer_page(
        &self,
        f: &CustomerFilter,
        sort: CustomerSort,
        cursor: Option<&Cursor>,
        direction: PageDirection,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        Store::customer_page(self, f, sort, cursor, direction, limit)
    }
    fn find_row(&self, entity: Entity, text: &str) -> Result<i64> {
        Store::find_row(self, entity, text)
    }
    fn merge_customers(&mut self, keep: i64, gone: i64, actor: &Actor) -> Result<MergeOutcome> {
        Store::merge_customers(self, keep, gone, actor)
    }
    fn removal_plan(&self, entity: Entity, id: i64) -> Result<RemovalPlan> {
        Store::removal_plan(self, entity, id)
    }
    fn remove(
        &mut self,
        entity: Entity,
        id: i64,
        force: bool,
        actor: &Actor,
    ) -> Result<RemovalPlan> {
        Store::remove(self, entity, id, force, actor)
    }
    fn save_contact(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        customer_id: i64,
        r: &ContactRecord,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_contact(self, id, version, customer_id, r, actor)
    }
    fn save_customer(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &CustomerRecord,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_customer(self, id, version, r, today, actor)
    }
    fn pick_lists(&self) -> Result<PickLists> {
        Store::pick_lists(self)
    }
    fn is_empty(&self) -> Result<bool> {
        Store::is_empty(self)
    }
    fn summary(&self) -> Result<Summary> {
        Store::summary(self)
    }
}

/// The store of deals: cards, moves, edits, the open pipeline and the stage history read by the funnel analysis.
pub trait Deals {
    fn last_close_day(&self) -> Result<Option<String>>;
    fn first_order_day(&self) -> Result<Option<String>>;
    #[allow(clippy::too_many_arguments)]
    fn deal_card(&self, id: i64) -> Result<Option<DealCard>>;
    #[allow(clippy::too_many_arguments)]
    fn deals_in_stage(&self, stage_id: i64, limit: usize) -> Result<Vec<DealCard>>;
    #[allow(clippy::too_many_arguments)]
    fn move_deal(&mut self, deal_id: i64, to: &Move, today: NaiveDate, actor: &Actor)
        -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn save_deal(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        f: &DealFields,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn open_deals(&self) -> Result<Vec<OpenDealRow>>;
    #[allow(clippy::too_many_arguments)]
    fn open_counts(&self) -> Result<HashMap<i64, i64>>;
    #[allow(clippy::too_many_arguments)]
    fn open_past(&self, thresholds: &HashMap<i64, f64>, today: &str) -> Result<Vec<OpenInStage>>;
    #[allow(clippy::too_many_arguments)]
    fn stage_totals(&self) -> Result<Vec<StageTotals>>;
    #[allow(clippy::too_many_arguments)]
    fn stages(&self) -> Result<Vec<Stage>>;
    #[allow(clippy::too_many_arguments)]
    fn deal_paths(
        &self,
        from: &str,
        to: &str,
        stage_index: &HashMap<i64, usize>,
        rep_group: &HashMap<i64, usize>,
        max_deals: usize,
    ) -> Result<(Vec<DealPath>, usize)>;
    #[allow(clippy::too_many_arguments)]
    fn closed_paths(&self, from: &str, to: &str, max_deals: usize) -> Result<Vec<DealPath>>;
    #[allow(clippy::too_many_arguments)]
    fn closed_deals(
        &self,
        from: &str,
        to: &str,
        extra: super::reports::ClosedExtra,
    ) -> Result<Vec<ClosedDeal>>;
    #[allow(clippy::too_many_arguments)]
    fn close_slips_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>>;
    #[allow(clippy::too_many_arguments)]
    fn time_to_win_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>>;
    #[allow(clippy::too_many_arguments)]
    fn pipeline_as_of(&self, day: &str) -> Result<Vec<AsOfDeal>>;
    #[allow(clippy::too_many_arguments)]
    fn snapshot_outcomes(&self, days: &[String], known: &str) -> Result<Vec<SnapshotGroup>>;
    #[allow(clippy::too_many_arguments)]
    fn closed_between(&self, from: &str, to: &str) -> Result<HashMap<String, (i64, i64)>>;
}

impl Deals for Store {
    fn last_close_day(&self) -> Result<Option<String>> {
        Store::last_close_day(self)
    }
    fn first_order_day(&self) -> Result<Option<String>> {
        Store::first_order_day(self)
    }
    fn deal_card(&self, id: i64) -> Result<Option<DealCard>> {
        Store::deal_card(self, id)
    }
    fn deals_in_stage(&self, stage_id: i64, limit: usize) -> Result<Vec<DealCard>> {
        Store::deals_in_stage(self, stage_id, limit)
    }
    fn move_deal(
        &mut self,
        deal_id: i64,
        to: &Move,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<()> {
        Store::move_deal(self, deal_id, to, today, actor)
    }
    fn save_deal(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        f: &DealFields,
        today: NaiveDate,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_deal(self, id, version, f, today, actor)
    }
    fn open_deals(&self) -> Result<Vec<OpenDealRow>> {
        Store::open_deals(self)
    }
    fn open_counts(&self) -> Result<HashMap<i64, i64>> {
        Store::open_counts(self)
    }
    fn open_past(&self, thresholds: &HashMap<i64, f64>, today: &str) -> Result<Vec<OpenInStage>> {
        Store::open_past(self, thresholds, today)
    }
    fn stage_totals(&self) -> Result<Vec<StageTotals>> {
        Store::stage_totals(self)
    }
    fn stages(&self) -> Result<Vec<Stage>> {
        Store::stages(self)
    }
    fn deal_paths(
        &self,
        from: &str,
        to: &str,
        stage_index: &HashMap<i64, usize>,
        rep_group: &HashMap<i64, usize>,
        max_deals: usize,
    ) -> Result<(Vec<DealPath>, usize)> {
        Store::deal_paths(self, from, to, stage_index, rep_group, max_deals)
    }
    fn closed_paths(&self, from: &str, to: &str, max_deals: usize) -> Result<Vec<DealPath>> {
        Store::closed_paths(self, from, to, max_deals)
    }
    fn closed_deals(
        &self,
        from: &str,
        to: &str,
        extra: super::reports::ClosedExtra,
    ) -> Result<Vec<ClosedDeal>> {
        Store::closed_deals(self, from, to, extra)
    }
    fn close_slips_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        Store::close_slips_between(self, since, until, limit)
    }
    fn time_to_win_between(
        &self,
        since: &str,
        until: &str,
        limit: usize,
    ) -> Result<HashMap<i64, Vec<f64>>> {
        Store::time_to_win_between(self, since, until, limit)
    }
    fn pipeline_as_of(&self, day: &str) -> Result<Vec<AsOfDeal>> {
        Store::pipeline_as_of(self, day)
    }
    fn snapshot_outcomes(&self, days: &[String], known: &str) -> Result<Vec<SnapshotGroup>> {
        Store::snapshot_outcomes(self, days, known)
    }
    fn closed_between(&self, from: &str, to: &str) -> Result<HashMap<String, (i64, i64)>> {
        Store::closed_between(self, from, to)
    }
}

/// The store of the organisation: teams, reps, products and stages.
pub trait Setup {
    #[allow(clippy::too_many_arguments)]
    fn organisation(&self) -> Result<Organisation>;
    #[allow(clippy::too_many_arguments)]
    fn teams(&self) -> Result<Vec<Team>>;
    #[allow(clippy::too_many_arguments)]
    fn rep_teams(&self) -> Result<HashMap<i64, i64>>;
    #[allow(clippy::too_many_arguments)]
    fn rep_names(&self) -> Result<HashMap<i64, (String, Option<String>)>>;
    #[allow(clippy::too_many_arguments)]
    fn save_team(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &TeamRecord,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn save_rep(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &RepRecord,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn save_product(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &ProductRecord,
        actor: &Actor,
    ) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn save_stage(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &StageRecord,
        actor: &Actor,
    ) -> Result<i64>;
}

impl Setup for Store {
    fn organisation(&self) -> Result<Organisation> {
        Store::organisation(self)
    }
    fn teams(&self) -> Result<Vec<Team>> {
        Store::teams(self)
    }
    fn rep_teams(&self) -> Result<HashMap<i64, i64>> {
        Store::rep_teams(self)
    }
    fn rep_names(&self) -> Result<HashMap<i64, (String, Option<String>)>> {
        Store::rep_names(self)
    }
    fn save_team(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &TeamRecord,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_team(self, id, version, r, actor)
    }
    fn save_rep(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &RepRecord,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_rep(self, id, version, r, actor)
    }
    fn save_product(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &ProductRecord,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_product(self, id, version, r, actor)
    }
    fn save_stage(
        &mut self,
        id: Option<i64>,
        version: Option<i64>,
        r: &StageRecord,
        actor: &Actor,
    ) -> Result<i64> {
        Store::save_stage(self, id, version, r, actor)
    }
}

/// The store of targets, their revisions, and the actuals they are measured against.
pub trait Targets {
    fn rep_capacity(&self) -> Result<Vec<super::targets::RepCapacity>>;
    fn monthly_revenue(&self, from: &str, to: &str) -> Result<Vec<(String, i64)>>;
    #[allow(clippy::too_many_arguments)]
    fn target_rows(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
    ) -> Result<Vec<TargetRow>>;
    #[allow(clippy::too_many_arguments)]
    fn target_revisions(&self, id: i64) -> Result<Vec<Revision>>;
    #[allow(clippy::too_many_arguments)]
    fn target(&self, id: i64) -> Result<Option<TargetRow>>;
    #[allow(clippy::too_many_arguments)]
    fn set_target(
        &mut self,
        scope: TargetScope,
        name: Option<&str>,
        period: &str,
        metric: TargetMetric,
        value: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<(i64, Option<i64>)>;
    #[allow(clippy::too_many_arguments)]
    fn revise_target(&mut self, id: i64, value: i64, reason: &str, actor: &Actor) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn revenue_targets(&self, period: &str) -> Result<HashMap<String, i64>>;
    #[allow(clippy::too_many_arguments)]
    fn revenue_by_rep(&self, from: &str, to: &str) -> Result<HashMap<Option<i64>, i64>>;
    #[allow(clippy::too_many_arguments)]
    fn monthly_actuals_by_rep(
        &self,
        metric: TargetMetric,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<i64>, i64)>>;
    #[allow(clippy::too_many_arguments)]
    fn monthly_revenue_by(&self, by: &str, from: &str) -> Result<Vec<(String, String, i64)>>;
    #[allow(clippy::too_many_arguments)]
    fn monthly_revenue_by_team(&self, from: &str) -> Result<Vec<(String, Option<i64>, i64)>>;
}

impl Targets for Store {
    fn rep_capacity(&self) -> Result<Vec<super::targets::RepCapacity>> {
        Store::rep_capacity(self)
    }
    fn monthly_revenue(&self, from: &str, to: &str) -> Result<Vec<(String, i64)>> {
        Store::monthly_revenue(self, from, to)
    }
    fn target_rows(
        &self,
        period: Option<&str>,
        scope: Option<TargetScope>,
        metric: Option<TargetMetric>,
    ) -> Result<Vec<TargetRow>> {
        Store::target_rows(self, period, scope, metric)
    }
    fn target_revisions(&self, id: i64) -> Result<Vec<Revision>> {
        Store::target_revisions(self, id)
    }
    fn target(&self, id: i64) -> Result<Option<TargetRow>> {
        Store::target(self, id)
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
        Store::set_target(self, scope, name, period, metric, value, reason, actor)
    }
    fn revise_target(&mut self, id: i64, value: i64, reason: &str, actor: &Actor) -> Result<i64> {
        Store::revise_target(self, id, value, reason, actor)
    }
    fn revenue_targets(&self, period: &str) -> Result<HashMap<String, i64>> {
        Store::revenue_targets(self, period)
    }
    fn revenue_by_rep(&self, from: &str, to: &str) -> Result<HashMap<Option<i64>, i64>> {
        Store::revenue_by_rep(self, from, to)
    }
    fn monthly_actuals_by_rep(
        &self,
        metric: TargetMetric,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, Option<i64>, i64)>> {
        Store::monthly_actuals_by_rep(self, metric, from, to)
    }
    fn monthly_revenue_by(&self, by: &str, from: &str) -> Result<Vec<(String, String, i64)>> {
        Store::monthly_revenue_by(self, by, from)
    }
    fn monthly_revenue_by_team(&self, from: &str) -> Result<Vec<(String, Option<i64>, i64)>> {
        Store::monthly_revenue_by_team(self, from)
    }
}

/// The agenda: open activities, contact intervals, and the changes to an activity.
pub trait Agenda {
    /// Open activities due on or before `until` for the scope, earliest first.
    fn open_activities(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        until: &str,
    ) -> Result<Vec<crate::domain::agenda::OpenActivity>>;
    /// The scope's customers with a contact interval of their own and their last contact.
    fn contact_intervals(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        today: &str,
    ) -> Result<Vec<crate::domain::agenda::ContactDue>>;
    /// Gaps in days between contact days of customers who kept buying, by segment.
    fn contact_gaps(&self, today: &str) -> Result<Vec<(String, f64)>>;
    /// A rep's customers with what their visit priority reads, and the rep's capacity.
    fn plan_customers(
        &self,
        rep: &str,
        today: &str,
    ) -> Result<(f64, Vec<crate::domain::agenda::PlanCustomer>)>;
    /// The rep with the most open activities due on or before `until`.
    fn busiest_rep(&self, until: &str) -> Result<Option<String>>;
    /// Every rep with its customers and what their visit priority reads, in one read.
    fn plan_customers_all(&self, today: &str) -> Result<Vec<crate::domain::agenda::RepCustomers>>;
    /// Saves a rep's plan; returns its id.
    fn save_plan(
        &mut self,
        rep: &str,
        made_on: &str,
        method: &str,
        visits: &[crate::domain::agenda::PlanVisit],
        actor: &crate::domain::audit::Actor,
    ) -> Result<i64>;
    /// A saved plan (by id, or the rep's latest) with what was logged in its days.
    fn plan_record(
        &self,
        id: Option<i64>,
        rep: Option<&str>,
    ) -> Result<crate::domain::agenda::PlanRecord>;
    /// Completes, snoozes or reassigns an open activity, audited.
    fn change_activity(
        &mut self,
        id: i64,
        change: &crate::domain::agenda::AgendaChange,
        actor: &crate::domain::audit::Actor,
    ) -> Result<()>;
}

impl Agenda for Store {
    fn open_activities(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        until: &str,
    ) -> Result<Vec<crate::domain::agenda::OpenActivity>> {
        Store::open_activities(self, scope, until)
    }
    fn contact_intervals(
        &self,
        scope: &crate::domain::agenda::AgendaScope,
        today: &str,
    ) -> Result<Vec<crate::domain::agenda::ContactDue>> {
        Store::contact_intervals(self, scope, today)
    }
    fn change_activity(
        &mut self,
        id: i64,
        change: &crate::domain::agenda::AgendaChange,
        actor: &crate::domain::audit::Actor,
    ) -> Result<()> {
        Store::change_activity(self, id, change, actor)
    }
    fn plan_customers(
        &self,
        rep: &str,
        today: &str,
    ) -> Result<(f64, Vec<crate::domain::agenda::PlanCustomer>)> {
        Store::plan_customers(self, rep, today)
    }
    fn contact_gaps(&self, today: &str) -> Result<Vec<(String, f64)>> {
        Store::contact_gaps(self, today)
    }
    fn plan_customers_all(&self, today: &str) -> Result<Vec<crate::domain::agenda::RepCustomers>> {
        Store::plan_customers_all(self, today)
    }
    fn busiest_rep(&self, until: &str) -> Result<Option<String>> {
        Store::busiest_rep(self, until)
    }
    fn save_plan(
        &mut self,
        rep: &str,
        made_on: &str,
        method: &str,
        visits: &[crate::domain::agenda::PlanVisit],
        actor: &crate::domain::audit::Actor,
    ) -> Result<i64> {
        Store::save_plan(self, rep, made_on, method, visits, actor)
    }
    fn plan_record(
        &self,
        id: Option<i64>,
        rep: Option<&str>,
    ) -> Result<crate::domain::agenda::PlanRecord> {
        Store::plan_record(self, id, rep)
    }
}

/// Automation rules: what they read, and their runs, actions and alerts.
pub trait Rules {
    /// The keys a rule has acted on.
    fn rule_keys(&self, rule: &str) -> Result<std::collections::HashSet<String>>;
    /// Open deals of at least `min_cents`.
    fn big_open_deals(&self, min_cents: i64) -> Result<Vec<crate::domain::rules::WatchedDeal>>;
    /// What a deal-slipped rule last saw of each deal: (expected close, amount).
    fn rule_marks(&self, rule: &str) -> Result<HashMap<i64, (Option<String>, i64)>>;
    /// Customers (not churned) without an owner.
    fn customers_without_owner(&self) -> Result<Vec<(i64, String)>>;
    /// Writes one rule's run with its actions and marks, all or nothing; how many acted.
    fn save_rule_run(
        &mut self,
        run: &crate::domain::rules::RuleRun,
        actions: &[crate::domain::rules::RuleAction],
        marks: &[(i64, Option<String>, i64)],
        actor: &crate::domain::audit::Actor,
    ) -> Result<usize>;
    /// Each rule's last run.
    fn last_rule_runs(&self) -> Result<Vec<crate::domain::rules::RuleRun>>;
    /// Alerts not dismissed (at most `limit`) and their count.
    fn open_alerts(&self, limit: usize) -> Result<(usize, Vec<crate::domain::rules::Alert>)>;
    /// Dismisses an alert.
    fn dismiss_alert(&mut self, id: i64, at: &str) -> Result<()>;
}

impl Rules for Store {
    fn rule_keys(&self, rule: &str) -> Result<std::collections::HashSet<String>> {
        Store::rule_keys(self, rule)
    }
    fn big_open_deals(&self, min_cents: i64) -> Result<Vec<crate::domain::rules::WatchedDeal>> {
        Store::big_open_deals(self, min_cents)
    }
    fn rule_marks(&self, rule: &str) -> Result<HashMap<i64, (Option<String>, i64)>> {
        Store::rule_marks(self, rule)
    }
    fn customers_without_owner(&self) -> Result<Vec<(i64, String)>> {
        Store::customers_without_owner(self)
    }
    fn save_rule_run(
        &mut self,
        run: &crate::domain::rules::RuleRun,
        actions: &[crate::domain::rules::RuleAction],
        marks: &[(i64, Option<String>, i64)],
        actor: &crate::domain::audit::Actor,
    ) -> Result<usize> {
        Store::save_rule_run(self, run, actions, marks, actor)
    }
    fn last_rule_runs(&self) -> Result<Vec<crate::domain::rules::RuleRun>> {
        Store::last_rule_runs(self)
    }
    fn open_alerts(&self, limit: usize) -> Result<(usize, Vec<crate::domain::rules::Alert>)> {
        Store::open_alerts(self, limit)
    }
    fn dismiss_alert(&mut self, id: i64, at: &str) -> Result<()> {
        Store::dismiss_alert(self, id, at)
    }
}

/// Customer segment runs and the ledger they are computed from.
pub trait Segments {
    /// Every order on or before `as_of` (refunds included).
    fn order_ledger(&self, as_of: &str) -> Result<Vec<LedgerLine>>;
    /// Every customer's external id and name, by id.
    fn customer_labels(&self) -> Result<HashMap<i64, (Option<String>, String)>>;
    /// Every customer's industry, segment and region, by id.
    fn customer_profiles(&self) -> Result<super::segments::CustomerProfiles>;
    /// The customer and day of every activity done on or before `as_of`.
    fn customer_activity_days(&self, as_of: &str) -> Result<Vec<(i64, String)>>;
    fn save_segment_run(&mut self, run: &NewSegmentRun) -> Result<i64>;
    /// A stored run with its profiles (`None`: the newest).
    fn segment_run(&self, id: Option<i64>) -> Result<Option<SegmentRun>>;
    fn previous_segment_run(&self, id: i64) -> Result<Option<i64>>;
    fn segment_moves(&self, from: i64, to: i64) -> Result<Vec<SegmentMove>>;
    fn segment_history(&self, customer_id: i64) -> Result<Vec<SegmentHistory>>;
    /// Replaces every customer's stored intelligence with a run's (one transaction).
    fn save_intel_run(&mut self, run: &super::intel::NewIntelRun) -> Result<i64>;
    fn last_intel_run(&self) -> Result<Option<crate::domain::intel::IntelRun>>;
    /// One customer's values of the last recompute.
    fn customer_intel(
        &self,
        customer_id: i64,
    ) -> Result<Option<crate::domain::intel::CustomerIntel>>;
    /// Customers and predicted value by value tier, A first.
    fn intel_tiers(&self) -> Result<Vec<(String, usize, crate::domain::Money)>>;
}

impl Segments for Store {
    fn order_ledger(&self, as_of: &str) -> Result<Vec<LedgerLine>> {
        Store::order_ledger(self, as_of)
    }
    fn customer_labels(&self) -> Result<HashMap<i64, (Option<String>, String)>> {
        Store::customer_labels(self)
    }
    fn customer_profiles(&self) -> Result<super::segments::CustomerProfiles> {
        Store::customer_profiles(self)
    }
    fn customer_activity_days(&self, as_of: &str) -> Result<Vec<(i64, String)>> {
        Store::customer_activity_days(self, as_of)
    }
    fn save_segment_run(&mut self, run: &NewSegmentRun) -> Result<i64> {
        Store::save_segment_run(self, run)
    }
    fn segment_run(&self, id: Option<i64>) -> Result<Option<SegmentRun>> {
        Store::segment_run(self, id)
    }
    fn previous_segment_run(&self, id: i64) -> Result<Option<i64>> {
        Store::previous_segment_run(self, id)
    }
    fn segment_moves(&self, from: i64, to: i64) -> Result<Vec<SegmentMove>> {
        Store::segment_moves(self, from, to)
    }
    fn segment_history(&self, customer_id: i64) -> Result<Vec<SegmentHistory>> {
        Store::segment_history(self, customer_id)
    }
    fn save_intel_run(&mut self, run: &super::intel::NewIntelRun) -> Result<i64> {
        Store::save_intel_run(self, run)
    }
    fn last_intel_run(&self) -> Result<Option<crate::domain::intel::IntelRun>> {
        Store::last_intel_run(self)
    }
    fn customer_intel(
        &self,
        customer_id: i64,
    ) -> Result<Option<crate::domain::intel::CustomerIntel>> {
        Store::customer_intel(self, customer_id)
    }
    fn intel_tiers(&self) -> Result<Vec<(String, usize, crate::domain::Money)>> {
        Store::intel_tiers(self)
    }
}

/// The store of stored forecast runs.
pub trait Forecasts {
    #[allow(clippy::too_many_arguments)]
    fn forecast_run(&self, id: i64) -> Result<Option<ForecastRun>>;
    #[allow(clippy::too_many_arguments)]
    fn forecast_runs(&self) -> Result<Vec<(i64, String, String, String)>>;
    #[allow(clippy::too_many_arguments)]
    fn dashboard_forecast_run(&self, level: &str, today: &str) -> Result<Option<ForecastRun>>;
    #[allow(clippy::too_many_arguments)]
    fn save_forecast_run(&mut self, run: &NewForecastRun) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn save_recompute(
        &mut self,
        run: &NewForecastRun,
        scores: Option<&NewScores>,
    ) -> Result<(i64, Option<i64>)>;
}

impl Forecasts for Store {
    fn forecast_run(&self, id: i64) -> Result<Option<ForecastRun>> {
        Store::forecast_run(self, id)
    }
    fn forecast_runs(&self) -> Result<Vec<(i64, String, String, String)>> {
        Store::forecast_runs(self)
    }
    fn dashboard_forecast_run(&self, level: &str, today: &str) -> Result<Option<ForecastRun>> {
        Store::dashboard_forecast_run(self, level, today)
    }
    fn save_forecast_run(&mut self, run: &NewForecastRun) -> Result<i64> {
        Store::save_forecast_run(self, run)
    }
    fn save_recompute(
        &mut self,
        run: &NewForecastRun,
        scores: Option<&NewScores>,
    ) -> Result<(i64, Option<i64>)> {
        Store::save_recompute(self, run, scores)
    }
}

/// The store of what win-probability learning reads, and stored scores.
pub trait Models {
    #[allow(clippy::too_many_arguments)]
    fn scoring_deals(&self, recent: usize, created_by: &str) -> Result<Vec<DealFacts>>;
    #[allow(clippy::too_many_arguments)]
    fn save_scores(&mut self, s: &NewScores) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn activity_days(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<NaiveDate>>>;
    #[allow(clippy::too_many_arguments)]
    fn stage_entries(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<(NaiveDate, i64)>>>;
    #[allow(clippy::too_many_arguments)]
    fn owner_outcomes(&self) -> Result<Vec<(i64, NaiveDate, bool)>>;
    /// Every win-probability run with the outcomes of the deals it scored, closed since.
    fn score_run_outcomes(&self) -> Result<Vec<crate::store::scoring::RunOutcomes>>;
}

impl Models for Store {
    fn scoring_deals(&self, recent: usize, created_by: &str) -> Result<Vec<DealFacts>> {
        Store::scoring_deals(self, recent, created_by)
    }
    fn save_scores(&mut self, s: &NewScores) -> Result<i64> {
        Store::save_scores(self, s)
    }
    fn activity_days(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<NaiveDate>>> {
        Store::activity_days(self, ids)
    }
    fn stage_entries(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<(NaiveDate, i64)>>> {
        Store::stage_entries(self, ids)
    }
    fn score_run_outcomes(&self) -> Result<Vec<crate::store::scoring::RunOutcomes>> {
        Store::score_run_outcomes(self)
    }
    fn owner_outcomes(&self) -> Result<Vec<(i64, NaiveDate, bool)>> {
        Store::owner_outcomes(self)
    }
}

/// The store of the audit trail: reading it, taking actions back, reverting imports.
pub trait AuditTrail {
    #[allow(clippy::too_many_arguments)]
    fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>>;
    #[allow(clippy::too_many_arguments)]
    fn audit_high_water(&self) -> Result<i64>;
    #[allow(clippy::too_many_arguments)]
    fn log_event(&mut self, actor: &Actor, entity: &str, note: &str) -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn undo_range(&mut self, from: i64, to: i64, actor: &Actor) -> Result<usize>;
    #[allow(clippy::too_many_arguments)]
    fn revert_batch(&mut self, batch: i64, actor: &Actor, cascade: bool) -> Result<RevertReport>;
}

impl AuditTrail for Store {
    fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        Store::audit_entries(self, f)
    }
    fn audit_high_water(&self) -> Result<i64> {
        Store::audit_high_water(self)
    }
    fn log_event(&mut self, actor: &Actor, entity: &str, note: &str) -> Result<()> {
        Store::log_event(self, actor, entity, note)
    }
    fn undo_range(&mut self, from: i64, to: i64, actor: &Actor) -> Result<usize> {
        Store::undo_range(self, from, to, actor)
    }
    fn revert_batch(&mut self, batch: i64, actor: &Actor, cascade: bool) -> Result<RevertReport> {
        Store::revert_batch(self, batch, actor, cascade)
    }
}

/// The store of the database as a whole: backups, integrity, conversion, export, the analysis cache.
pub trait Maintenance {
    #[allow(clippy::too_many_arguments)]
    fn backup_to(&self, dest: &Path) -> Result<u64>;
    #[allow(clippy::too_many_arguments)]
    fn restore_from(&mut self, src: &Path, keep_aside: &Path) -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn write_converted(&self, dest: &Path, key: Option<&str>) -> Result<()>;
    #[allow(clippy::too_many_arguments)]
    fn health(&self) -> Result<Health>;
    #[allow(clippy::too_many_arguments)]
    fn mark_damaged(&self, why: &str);
    #[allow(clippy::too_many_arguments)]
    fn clear_damaged(&self);
    #[allow(clippy::too_many_arguments)]
    fn export(
        &self,
        kind: &str,
        header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
        row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
    ) -> Result<usize>;
    #[allow(clippy::too_many_arguments)]
    fn data_version(&self) -> Result<String>;
    #[allow(clippy::too_many_arguments)]
    fn cached_analysis(&self, name: &str, version: &str) -> Result<Option<String>>;
    #[allow(clippy::too_many_arguments)]
    fn keep_analysis(&self, name: &str, version: &str, body: &str);
    /// Watches `flag` while statements run (`None`: stops watching): once it is set, the
    /// running statement and every later one fail as interrupted, until it is reset.
    fn watch_cancel(&mut self, flag: Option<crate::domain::jobs::CancelFlag>);
}

impl Maintenance for Store {
    fn backup_to(&self, dest: &Path) -> Result<u64> {
        Store::backup_to(self, dest)
    }
    fn restore_from(&mut self, src: &Path, keep_aside: &Path) -> Result<()> {
        Store::restore_from(self, src, keep_aside)
    }
    fn write_converted(&self, dest: &Path, key: Option<&str>) -> Result<()> {
        Store::write_converted(self, dest, key)
    }
    fn health(&self) -> Result<Health> {
        Store::health(self)
    }
    fn mark_damaged(&self, why: &str) {
        Store::mark_damaged(self, why)
    }
    fn clear_damaged(&self) {
        Store::clear_damaged(self)
    }
    fn export(
        &self,
        kind: &str,
        header: &mut dyn FnMut(&[&str]) -> std::io::Result<()>,
        row: &mut dyn FnMut(&[Cell]) -> std::io::Result<()>,
    ) -> Result<usize> {
        Store::export(self, kind, header, row)
    }
    fn data_version(&self) -> Result<String> {
        Store::data_version(self)
    }
    fn cached_analysis(&self, name: &str, version: &str) -> Result<Option<String>> {
        Store::cached_analysis(self, name, version)
    }
    fn keep_analysis(&self, name: &str, version: &str, body: &str) {
        Store::keep_analysis(self, name, version, body)
    }
    fn watch_cancel(&mut self, flag: Option<crate::domain::jobs::CancelFlag>) {
        // Every thousand virtual-machine steps: a few microseconds.
        match flag {
            Some(flag) => self
                .conn
                .progress_handler(1000, Some(move || flag.is_cancelled())),
            None => self.conn.progress_handler(0, None::<fn() -> bool>),
        }
    }
}

/// Everything the use cases need of a database.
pub trait Backend:
    Customers
    + Deals
    + Setup
    + Targets
    + Forecasts
    + Segments
    + Agenda
    + Rules
    + Models
    + AuditTrail
    + Maintenance
    + Loading
    + Send
{
    /// The file (or URL) it lives at, for messages and the files written beside it.
    fn path(&self) -> &Path;
}

impl Backend for Store {
    fn path(&self) -> &Path {
        Store::path(self)
    }
}

/// A generator writing through the sink (with a progress callback); it returns how the
/// load is to be described in the audit trail.
pub type Fill<'a> = dyn FnMut(
        &dyn crate::domain::bulk::BulkSink,
        &mut dyn FnMut(&str, f64),
    ) -> crate::domain::bulk::SinkResult<String>
    + 'a;

/// Loading many rows at once: files, generated data, a conversion of the whole file.
pub trait Loading {
    /// Imports a file of `kind` (see `store::import`), all or nothing.
    fn import_file(
        &mut self,
        kind: crate::domain::import::ImportKind,
        path: &Path,
        opts: &super::import::ImportOptions,
        actor: &Actor,
    ) -> std::result::Result<crate::domain::import::ImportReport, super::import::ImportError>;

    /// A generator's rows in one bulk load (see `Store::bulk_load`): `fill` writes them and
    /// says how the load is to be audited.
    fn bulk_load_with(
        &mut self,
        replacing: Option<&str>,
        actor: &Actor,
        progress: &mut dyn FnMut(&str, f64),
        fill: &mut Fill,
    ) -> crate::domain::bulk::SinkResult<()>;

    /// Encrypts (`key`) or decrypts the database file in place, audited as `note`.
    fn convert_in_place(
        self: Box<Self>,
        key: Option<&str>,
        note: &str,
        actor: &Actor,
    ) -> Result<()>;
}

impl Loading for Store {
    fn import_file(
        &mut self,
        kind: crate::domain::import::ImportKind,
        path: &Path,
        opts: &super::import::ImportOptions,
        actor: &Actor,
    ) -> std::result::Result<crate::domain::import::ImportReport, super::import::ImportError> {
        super::import::import_file(self, kind, path, opts, actor)
    }

    fn bulk_load_with(
        &mut self,
        replacing: Option<&str>,
        actor: &Actor,
        progress: &mut dyn FnMut(&str, f64),
        fill: &mut Fill,
    ) -> crate::domain::bulk::SinkResult<()> {
        self.bulk_load::<String, crate::domain::bulk::SinkError>(
            replacing,
            actor,
            progress,
            |sink, progress| fill(sink, progress),
            |note| note.clone(),
        )
        .map(|_| ())
    }

    fn convert_in_place(
        self: Box<Self>,
        key: Option<&str>,
        note: &str,
        actor: &Actor,
    ) -> Result<()> {
        Store::convert_in_place(*self, key, note, actor)
    }
}

/// The traits, in scope without their names: `use crate::store::backend::prelude::*;`.
pub mod prelude {
    pub use super::{
        AuditTrail as _, Backend as _, Customers as _, Deals as _, Forecasts as _, Loading as _,
        Maintenance as _, Models as _, Segments as _, Setup as _, Targets as _,
    };
}
