//! `funnel demo`: a deterministic, realistic sales organisation. Seasonality and growth by
//! product, reps who differ in skill, deal size and activity, a stage process with
//! conversion and time-in-stage distributions, engagement that shows in recent activity and
//! in winning, churn and repeat purchases, targets, and a few genuine anomalies.

use crate::app::Db as Store;
use crate::domain::audit::Actor;
use crate::domain::bulk::{BulkSink, NewDeal, SinkError};
use crate::domain::date::iso;
use crate::store::StoreError;
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Normal, Poisson};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Reference {
    first_names: Vec<String>,
    last_names: Vec<String>,
    company_first: Vec<String>,
    company_second: Vec<String>,
    company_suffix: Vec<String>,
    industries: Vec<String>,
    titles: Vec<String>,
    /// [name, share, win log-odds shift]
    sources: Vec<(String, f64, f64)>,
    regions: Vec<RegionRef>,
    segments: Vec<SegmentRef>,
    products: Vec<ProductRef>,
    stages: Vec<StageRef>,
}

#[derive(Deserialize)]
struct RegionRef {
    name: String,
    share: f64,
    cities: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct SegmentRef {
    name: String,
    share: f64,
    size: f64,
    cycle: f64,
    contact_every_days: i64,
    repeat_per_year: f64,
    churn_per_year: f64,
    win_shift: f64,
}

#[derive(Deserialize)]
struct ProductRef {
    sku: String,
    name: String,
    family: String,
    list_price: f64,
    sigma: f64,
    weight: f64,
    growth: f64,
    season: f64,
    peak_month: u32,
    /// [sku, chance] — a buyer of this product takes up the other with this chance over
    /// its life, then buys it as well (the product affinities the associations find).
    #[serde(default)]
    companions: Vec<(String, f64)>,
}

#[derive(Deserialize)]
struct StageRef {
    name: String,
    probability: f64,
    category: String,
    advance: f64,
    median_days: f64,
    lost_reasons: Vec<String>,
}

const REFERENCE: &str = include_str!("../../data/demo.toml");

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub customers: usize,
    pub deals: usize,
    pub months: u32,
    pub force: bool,
    /// The last day of the generated history (today for the CLI).
    pub as_of: NaiveDate,
}

impl DemoOptions {
    pub fn new(as_of: NaiveDate) -> Self {
        DemoOptions {
            seed: 42,
            customers: 2_000,
            deals: 10_000,
            months: 36,
            force: false,
            as_of,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DemoReport {
    pub teams: usize,
    pub reps: usize,
    pub customers: usize,
    pub contacts: usize,
    pub products: usize,
    pub deals: usize,
    pub won: usize,
    pub lost: usize,
    pub open: usize,
    pub stage_changes: usize,
    pub activities: usize,
    pub orders: usize,
    pub targets: usize,
    pub anomalies: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "the database already holds data ({0} customers); use --force to replace it with demo data"
    )]
    NotEmpty(i64),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Where the simulator writes failed (the database, for a load).
    #[error(transparent)]
    Sink(SinkError),
}

impl From<SinkError> for DemoError {
    fn from(e: SinkError) -> Self {
        DemoError::Sink(e)
    }
}

struct Rep {
    id: i64,
    team_leaf: usize,
    region: usize,
    skill: f64,
    size: f64,
    activity: f64,
}

struct Customer {
    id: i64,
    created: NaiveDate,
    segment: usize,
    owner: usize,
    first_win: Option<NaiveDate>,
    product: usize,
    last_order: Option<NaiveDate>,
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn pick_str<'a, S: AsRef<str>>(rng: &mut ChaCha8Rng, items: &'a [S]) -> &'a str {
    pick(rng, items).as_ref()
}

/// Index into a cumulative weight table.
fn sample_cumulative(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> usize {
    let total = *cumulative.last().unwrap_or(&0.0);
    let u = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= u)
        .min(cumulative.len().saturating_sub(1))
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn month_start(as_of: NaiveDate, back: i32) -> NaiveDate {
    let total = as_of.year() * 12 + as_of.month0() as i32 - back;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .expect("valid month")
}

fn quarter_end(d: NaiveDate) -> NaiveDate {
    let q_start_month = (d.month0() / 3) * 3 + 1;
    let next =
        NaiveDate::from_ymd_opt(d.year(), q_start_month, 1).expect("valid") + Duration::days(95);
    NaiveDate::from_ymd_opt(next.year(), next.month(), 1).expect("valid") - Duration::days(1)
}

/// The kinds of activity logged around a deal (calls and emails more often).
const ACTIVITY_KINDS: [&str; 7] = ["call", "call", "email", "email", "meeting", "visit", "note"];
/// What activities are about.
const SUBJECTS: [&str; 7] = [
    "Intro call",
    "Discovery",
    "Demo",
    "Follow-up",
    "Pricing discussion",
    "Check-in",
    "Proposal review",
];
/// How activities went.
const OUTCOMES: [&str; 6] = [
    "Reached",
    "Left voicemail",
    "Positive",
    "Needs follow-up",
    "Sent material",
    "Not interested now",
];

/// Fills the database with the simulator's data in one bulk load. `progress` gets a phase
/// name and a fraction done.
pub fn generate(
    store: &mut Store,
    opts: &DemoOptions,
    actor: &Actor,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<DemoReport, DemoError> {
    if opts.customers == 0 || opts.months == 0 {
        return Err(DemoError::Invalid(
            "--customers and --months must be at least 1".into(),
        ));
    }
    if opts.months > 240 {
        return Err(DemoError::Invalid("--months can be at most 240".into()));
    }
    let summary = store.summary()?;
    if (summary.customers > 0 || summary.open_deals + summary.won_deals + summary.lost_deals > 0)
        && !opts.force
    {
        return Err(DemoError::NotEmpty(summary.customers));
    }
    let mut report = None;
    store
        .bulk_load_with(
            opts.force.then_some("demo --force"),
            actor,
            progress,
            &mut |sink, progress| {
                let r = simulate(sink, opts, progress).map_err(SinkError::from)?;
                let note = format!(
                    "demo data loaded (seed {}, {} customers, {} deals, {} months to {})",
                    opts.seed, r.customers, r.deals, opts.months, opts.as_of
                );
                report = Some(r);
                Ok(note)
            },
        )
        .map_err(DemoError::Sink)?;
    report.ok_or_else(|| DemoError::Invalid("the demo load wrote nothing".into()))
}

/// The simulator: writes a whole demo (organisation, customers, deals with their stage
/// history, activities, orders, targets) through `w`, deterministically from the seed.
pub fn simulate(
    w: &dyn BulkSink,
    opts: &DemoOptions,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<DemoReport, DemoError> {
    let r: Reference = toml::from_str(REFERENCE)
        .map_err(|e| DemoError::Invalid(format!("data/demo.toml: {e}")))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let normal = Normal::new(0.0, 1.0).expect("valid normal");
    let as_of = opts.as_of;
    let months = opts.months as i32;
    let start = month_start(as_of, months - 1);
    let mut report = DemoReport::default();

    progress("teams and reps", 0.0);
    let org = organisation(w, &r, opts, &mut rng, &normal, start, months)?;
    report.teams = 1 + r.regions.len() * 3;
    report.reps = org.reps.len();
    let (product_ids, stage_ids, won_stage, lost_stage) = catalogue(w, &r)?;
    report.products = product_ids.len();

    // Customers, sorted by the day they were created so a deal can pick among those that
    // existed at the time.
    progress("customers", 0.02);
    let window_days = (as_of - start).num_days().max(1);
    let (mut customers, created, propensity) = make_customers(
        w,
        &r,
        opts,
        &mut rng,
        &normal,
        start,
        window_days,
        &org.reps,
        &org.leaf_teams,
        &mut report,
    )?;
    report.customers = customers.len();
    let propensity_cum = cumulative(propensity.into_iter());

    // When deals start: per product growth and yearly seasonality, three months of lead-in.
    let cells = deal_cells(&r, as_of, months, &mut report);
    let cell_cum = cumulative(cells.iter().map(|c| c.2));
    let source_cum = cumulative(r.sources.iter().map(|s| s.1));

    // Revenue and activity per (rep, month index) feed the targets.
    let mut rep_revenue: HashMap<(usize, i32), i64> = HashMap::new();
    let month_index =
        |d: NaiveDate| (d.year() - start.year()) * 12 + d.month0() as i32 - start.month0() as i32;

    let n_deals = opts.deals;
    let mut changes: Vec<(Option<i64>, i64, NaiveDate)> = Vec::with_capacity(8);
    let mut ext = String::new();
    let mut deal_name = String::new();
    let ctx = DealCtx {
        w,
        r: &r,
        as_of,
        cells: &cells,
        cell_cum: &cell_cum,
        created: &created,
        kinds: &ACTIVITY_KINDS,
        subjects: &SUBJECTS,
        outcomes: &OUTCOMES,
        propensity_cum: &propensity_cum,
        source_cum: &source_cum,
        month_index: &month_index,
        normal: &normal,
        reps: &org.reps,
        stage_ids: &stage_ids,
        product_ids: &product_ids,
        won_stage,
        lost_stage,
    };
    let mut st = DealState {
        rng: &mut rng,
        customers: &mut customers,
        rep_revenue: &mut rep_revenue,
        report: &mut report,
        changes: &mut changes,
        ext: &mut ext,
        deal_name: &mut deal_name,
    };
    for n in 0..n_deals {
        if n % 20_000 == 0 {
            progress("deals", 0.05 + 0.75 * n as f64 / n_deals.max(1) as f64);
        }
        one_deal(&ctx, &mut st, n)?;
    }
    report.deals = n_deals;

    // Anomaly: one enormous deal, won five months ago by a single rep.
    progress("repeat orders", 0.82);
    let sim = Sim {
        w,
        r: &r,
        product_ids: &product_ids,
        as_of,
        months,
        seed: opts.seed,
    };
    mega_deal(
        &sim,
        &customers,
        &org.reps,
        &stage_ids,
        won_stage,
        &month_index,
        &mut rep_revenue,
        &mut report,
    )?;
    repeat_orders(
        &sim,
        &mut customers,
        &org.reps,
        window_days,
        &month_index,
        &mut rep_revenue,
        &mut rng,
        &normal,
        &mut report,
    )?;
    progress("statuses", 0.9);
    for c in &customers {
        let status = match c.last_order {
            None => continue,
            Some(l) if (as_of - l).num_days() <= 365 => "active",
            Some(_) => "churned",
        };
        w.set_customer_status(c.id, status)?;
    }

    progress("targets", 0.95);
    targets(
        w,
        &r,
        &org,
        &rep_revenue,
        &mut rng,
        &normal,
        as_of,
        months,
        &mut report,
    )?;
    Ok(report)
}

/// The teams (a root, one per region, two selling teams under each) and their reps.
struct Org {
    root: i64,
    /// (team id, region, enterprise)
    leaf_teams: Vec<(i64, usize, bool)>,
    region_team_ids: Vec<i64>,
    reps: Vec<Rep>,
}

/// Writes the organisation: teams and reps with their skill, deal size and activity.
#[allow(clippy::too_many_arguments)]
fn organisation(
    w: &dyn BulkSink,
    r: &Reference,
    opts: &DemoOptions,
    rng: &mut ChaCha8Rng,
    normal: &Normal<f64>,
    start: NaiveDate,
    months: i32,
) -> Result<Org, DemoError> {
    // Teams: a company root, one team per region, and two selling teams under each.
    let root = w.team("Sales", None)?;
    let mut leaf_teams: Vec<(i64, usize, bool)> = Vec::new(); // (id, region, enterprise)
    let mut region_team_ids = Vec::new();
    for (ri, region) in r.regions.iter().enumerate() {
        let rid = w.team(&region.name, Some(root))?;
        region_team_ids.push(rid);
        for (suffix, ent) in [("Enterprise", true), ("Commercial", false)] {
            leaf_teams.push((
                w.team(&format!("{} {suffix}", region.name), Some(rid))?,
                ri,
                ent,
            ));
        }
    }

    let n_reps = (opts.customers / 80).clamp(6, 400);
    let mut reps: Vec<Rep> = Vec::with_capacity(n_reps);
    let mut rep_names = std::collections::HashSet::new();
    for i in 0..n_reps {
        let team_leaf = i % leaf_teams.len();
        let mut name = format!("{} {}", pick(rng, &r.first_names), pick(rng, &r.last_names));
        while !rep_names.insert(name.clone()) {
            name = format!(
                "{} {}. {}",
                pick(rng, &r.first_names),
                (b'A' + rng.random_range(0..26u8)) as char,
                pick(rng, &r.last_names)
            );
        }
        let email = format!(
            "{}@funnel-demo.example",
            name.to_lowercase()
                .replace(['.', '\''], "")
                .replace(' ', ".")
        );
        let capacity = if rng.random::<f64>() < 0.1 { 0.5 } else { 1.0 };
        let hired = if rng.random::<f64>() < 0.15 {
            start + Duration::days(rng.random_range(0..(30 * months as i64).max(1)))
        } else {
            start - Duration::days(rng.random_range(60..2000))
        };
        let id = w.rep(
            &name,
            &email,
            leaf_teams[team_leaf].0,
            capacity,
            &iso(hired),
        )?;
        reps.push(Rep {
            id,
            team_leaf,
            region: leaf_teams[team_leaf].1,
            skill: 0.35 * normal.sample(rng),
            size: (0.2 * normal.sample(rng)).exp(),
            activity: (0.4 * normal.sample(rng)).exp(),
        });
    }
    Ok(Org {
        root,
        leaf_teams,
        region_team_ids,
        reps,
    })
}

/// The products and the stages (the open ones of the reference data, then won and lost).
fn catalogue(w: &dyn BulkSink, r: &Reference) -> Result<(Vec<i64>, Vec<i64>, i64, i64), DemoError> {
    let mut product_ids = Vec::new();
    for p in &r.products {
        product_ids.push(w.product(&p.sku, &p.name, &p.family, (p.list_price * 100.0) as i64)?);
    }
    let mut stage_ids = Vec::new();
    for (i, s) in r.stages.iter().enumerate() {
        stage_ids.push(w.stage(&s.name, i as i64 + 1, s.probability, "open", &s.category)?);
    }
    let won_stage = w.stage(
        "Closed Won",
        r.stages.len() as i64 + 1,
        1.0,
        "won",
        "closed",
    )?;
    let lost_stage = w.stage(
        "Closed Lost",
        r.stages.len() as i64 + 2,
        0.0,
        "lost",
        "omitted",
    )?;
    Ok((product_ids, stage_ids, won_stage, lost_stage))
}

/// The targets: each rep's monthly revenue target is the last half-year's average plus a
/// stretch; quarters, teams and the company roll up; the current quarter's company
/// target was revised once.
#[allow(clippy::too_many_arguments)]
fn targets(
    w: &dyn BulkSink,
    r: &Reference,
    org: &Org,
    rep_revenue: &HashMap<(usize, i32), i64>,
    rng: &mut ChaCha8Rng,
    normal: &Normal<f64>,
    as_of: NaiveDate,
    months: i32,
    report: &mut DemoReport,
) -> Result<(), DemoError> {
    let Org {
        root,
        leaf_teams,
        region_team_ids,
        reps,
    } = org;
    let root = *root;
    // Targets: each rep's monthly revenue target is last half-year's average plus a 10%
    // stretch, with noise, so some reps beat it and some miss; quarters, teams and the
    // company roll up from the months.
    let mean_all: Vec<f64> = (0..reps.len())
        .map(|ri| {
            (0..months)
                .map(|t| *rep_revenue.get(&(ri, t)).unwrap_or(&0) as f64)
                .sum::<f64>()
                / months as f64
        })
        .collect();
    let mut team_month: HashMap<(usize, i32), i64> = HashMap::new();
    let mut rep_quarter: HashMap<(usize, String), i64> = HashMap::new();
    for (ri, rep) in reps.iter().enumerate() {
        for t in 0..months {
            let past: Vec<f64> = (t - 6..t)
                .filter(|&k| k >= 0)
                .map(|k| *rep_revenue.get(&(ri, k)).unwrap_or(&0) as f64)
                .collect();
            let base = if past.len() >= 3 {
                past.iter().sum::<f64>() / past.len() as f64
            } else {
                mean_all[ri]
            };
            let value = (base * 1.10 * (1.0 + 0.12 * normal.sample(rng))).max(0.0);
            let value = ((value / 100_000.0).round() * 100_000.0) as i64; // whole thousands
            let m = month_start(as_of, months - 1 - t);
            w.target(
                "rep",
                None,
                Some(rep.id),
                &crate::domain::Period::month_of(m).to_string(),
                "won_revenue",
                value,
            )?;
            report.targets += 1;
            *team_month.entry((rep.team_leaf, t)).or_default() += value;
            *rep_quarter
                .entry((ri, crate::domain::Period::quarter_of(m).to_string()))
                .or_default() += value;
        }
    }
    let mut keys: Vec<_> = rep_quarter.into_iter().collect();
    keys.sort();
    for ((ri, q), v) in keys {
        w.target("rep", None, Some(reps[ri].id), &q, "won_revenue", v)?;
        report.targets += 1;
    }
    let mut company_month: HashMap<i32, i64> = HashMap::new();
    let mut company_quarter: HashMap<String, i64> = HashMap::new();
    for t in 0..months {
        let m = month_start(as_of, months - 1 - t);
        let period = crate::domain::Period::month_of(m).to_string();
        // Leaf teams carry the sum of their reps; each region the sum of its two teams,
        // and the root (like the company) the sum of the regions.
        let mut region_sum = vec![0i64; r.regions.len()];
        for (li, (team_id, region, _)) in leaf_teams.iter().enumerate() {
            let v = *team_month.get(&(li, t)).unwrap_or(&0);
            w.target("team", Some(*team_id), None, &period, "won_revenue", v)?;
            report.targets += 1;
            region_sum[*region] += v;
            *company_month.entry(t).or_default() += v;
        }
        for (ri, id) in region_team_ids.iter().enumerate() {
            w.target(
                "team",
                Some(*id),
                None,
                &period,
                "won_revenue",
                region_sum[ri],
            )?;
            report.targets += 1;
        }
        w.target(
            "team",
            Some(root),
            None,
            &period,
            "won_revenue",
            company_month[&t],
        )?;
        report.targets += 1;
        *company_quarter
            .entry(crate::domain::Period::quarter_of(m).to_string())
            .or_default() += company_month[&t];
        w.target(
            "company",
            None,
            None,
            &period,
            "won_revenue",
            company_month[&t],
        )?;
        report.targets += 1;
    }
    let mut quarters: Vec<_> = company_quarter.into_iter().collect();
    quarters.sort();
    for (q, v) in &quarters {
        let id = w.target("company", None, None, q, "won_revenue", *v)?;
        report.targets += 1;
        if q == quarters.last().map(|x| &x.0).unwrap_or(q) {
            // The current quarter's company target was raised once, with a reason.
            let old = (*v as f64 * 0.92 / 100_000.0).round() as i64 * 100_000;
            w.target_revision(
                id,
                None,
                old,
                &format!("{}T09:00:00Z", iso(month_start(as_of, 2.min(months - 1)))),
                "demo",
                "Initial plan",
            )?;
            w.target_revision(
                id,
                Some(old),
                *v,
                &format!("{}T09:00:00Z", iso(month_start(as_of, 1.min(months - 1)))),
                "demo",
                "Board approved the stretch plan",
            )?;
        }
    }

    Ok(())
}

/// What the phases after the deals share: where they write, the reference data, the
/// products' ids, and the end and length of the history.
struct Sim<'a> {
    w: &'a dyn BulkSink,
    r: &'a Reference,
    product_ids: &'a [i64],
    as_of: NaiveDate,
    months: i32,
    /// Seeds the lifecycles' own generator (kept apart from the main one, so that the
    /// deals, activities and targets do not depend on them).
    seed: u64,
}

/// One enormous deal, won five months ago by a single rep (an anomaly to find).
#[allow(clippy::too_many_arguments)]
fn mega_deal(
    sim: &Sim,
    customers: &[Customer],
    reps: &[Rep],
    stage_ids: &[i64],
    won_stage: i64,
    month_index: &dyn Fn(NaiveDate) -> i32,
    rep_revenue: &mut HashMap<(usize, i32), i64>,
    report: &mut DemoReport,
) -> Result<(), DemoError> {
    let Sim {
        w,
        r,
        product_ids,
        as_of,
        months,
        ..
    } = *sim;
    let mega_month = month_start(as_of, 5.min(months - 1));
    if let Some(ci) = customers
        .iter()
        .position(|c| r.segments[c.segment].name == "enterprise" && c.created < mega_month)
    {
        let owner = customers[ci].owner;
        let cents = (r.products[0].list_price * 40.0 * 100.0) as i64;
        let on = mega_month + Duration::days(20);
        let created_on = on - Duration::days(120);
        let deal = w.deal(&NewDeal {
            external_id: "D-MEGA-1",
            name: "Funnel Core – global rollout",
            customer_id: customers[ci].id,
            owner_rep_id: reps[owner].id,
            product_id: product_ids[0],
            amount_cents: cents,
            stage_id: won_stage,
            created_on: &iso(created_on),
            stage_entered_on: &iso(on),
            expected_close: &iso(on),
            closed_on: Some(&iso(on)),
            source: "Referral",
            lost_reason: None,
            discount_pct: 18.0,
        })?;
        w.stage_change(deal, None, stage_ids[0], &iso(created_on))?;
        w.stage_change(deal, Some(stage_ids[0]), won_stage, &iso(on))?;
        w.order(
            None,
            customers[ci].id,
            Some(deal),
            product_ids[0],
            &iso(on),
            cents,
            1,
        )?;
        *rep_revenue.entry((owner, month_index(on))).or_default() += cents;
        report.deals += 1;
        report.won += 1;
        report.orders += 1;
        report.stage_changes += 2;
        report.anomalies.push(format!(
            "{}: deal D-MEGA-1, {} won by one rep, about 40 times a usual deal",
            crate::domain::Period::month_of(on),
            crate::domain::Money(cents)
        ));
    }

    Ok(())
}

/// How a customer's buying runs over its life (drawn from the lifecycles' own generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifecycle {
    /// Buys at its segment's rate until it churns.
    Steady,
    /// Buys more as the years go by (an account that expands).
    Growing,
    /// Buys less and less (each order kept with chance e^(−months/10)): slipping away.
    Fading,
    /// Never orders again after the deal that won it.
    OneOff,
}

impl Lifecycle {
    fn draw(rng: &mut ChaCha8Rng) -> Lifecycle {
        match rng.random::<f64>() {
            u if u < 0.15 => Lifecycle::OneOff,
            u if u < 0.40 => Lifecycle::Fading,
            u if u < 0.55 => Lifecycle::Growing,
            _ => Lifecycle::Steady,
        }
    }
}

/// Where the repeat orders are written to, and what they add up to.
struct OrderBook<'a> {
    sim: &'a Sim<'a>,
    month_index: &'a dyn Fn(NaiveDate) -> i32,
    rep_revenue: &'a mut HashMap<(usize, i32), i64>,
    report: &'a mut DemoReport,
    order_no: usize,
}

impl OrderBook<'_> {
    fn put(
        &mut self,
        c: &mut Customer,
        product: usize,
        on: NaiveDate,
        cents: i64,
        qty: i64,
    ) -> Result<(), DemoError> {
        self.order_no += 1;
        self.sim.w.order(
            Some(&format!("R-{:07}", self.order_no)),
            c.id,
            None,
            self.sim.product_ids[product],
            &iso(on),
            cents,
            qty,
        )?;
        *self
            .rep_revenue
            .entry((c.owner, (self.month_index)(on)))
            .or_default() += cents;
        c.last_order = Some(c.last_order.map_or(on, |l| l.max(on)));
        self.report.orders += 1;
        Ok(())
    }
}

impl OrderBook<'_> {
    /// The companions of product `own` that the customer takes up, each with its chance,
    /// on a day within `span` (first purchase, last day it buys); then bought at a rate
    /// of 0.6 times its segment's, with its loyalty.
    #[allow(clippy::too_many_arguments)]
    fn companions(
        &mut self,
        customer: &mut Customer,
        own: usize,
        (first, last_day): (NaiveDate, NaiveDate),
        loyalty: f64,
        life: &mut ChaCha8Rng,
        normal: &Normal<f64>,
        sku_index: &HashMap<&str, usize>,
    ) -> Result<(), DemoError> {
        let r = self.sim.r;
        let seg = &r.segments[customer.segment];
        for (sku, chance) in &r.products[own].companions {
            let Some(&other) = sku_index.get(sku.as_str()) else {
                continue;
            };
            let span = (last_day - first).num_days();
            if span <= 30 || life.random::<f64>() >= *chance {
                continue;
            }
            let q = &r.products[other];
            let mut day = first + Duration::days(life.random_range(30..=span));
            let gap = Exp::new(seg.repeat_per_year * 0.6 * loyalty / 365.0)
                .map_err(|e| DemoError::Invalid(format!("companion rate: {e}")))?;
            while day < last_day {
                let cents = ((q.list_price * 0.15 * seg.size * (0.5 * normal.sample(life)).exp())
                    .round()
                    .max(20.0)
                    * 100.0) as i64;
                let qty = life.random_range(1..=5);
                self.put(customer, other, day, cents, qty)?;
                day += Duration::days(1 + gap.sample(life) as i64);
            }
        }
        Ok(())
    }
}

/// Months from `from` to `to` (fractional).
fn months_between(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / 30.44
}

/// Repeat purchases until each customer churns (seasonal by product), shaped by its
/// lifecycle — steady, growing, fading or one-off; some long-standing buyers stop
/// abruptly in the last eight months (the churners to catch) — and the companion
/// products it takes up (the affinities). Then two more anomalies: a large refund three
/// months ago and a rep logging 60 calls in one day.
#[allow(clippy::too_many_arguments)]
fn repeat_orders(
    sim: &Sim,
    customers: &mut [Customer],
    reps: &[Rep],
    window_days: i64,
    month_index: &dyn Fn(NaiveDate) -> i32,
    rep_revenue: &mut HashMap<(usize, i32), i64>,
    rng: &mut ChaCha8Rng,
    normal: &Normal<f64>,
    report: &mut DemoReport,
) -> Result<(), DemoError> {
    let Sim {
        w,
        r,
        product_ids,
        as_of,
        months,
        seed,
    } = *sim;
    // The lifecycles draw from a generator of their own: the main one's draws (and so
    // every deal, activity and target) stay as they were.
    let mut life = ChaCha8Rng::seed_from_u64(seed ^ 0x11FE_C7C1);
    let sku_index: HashMap<&str, usize> = r
        .products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.sku.as_str(), i))
        .collect();
    let mut book = OrderBook {
        sim,
        month_index,
        rep_revenue,
        report,
        order_no: 0,
    };
    for customer in customers.iter_mut() {
        let Some(first) = customer.first_win else {
            continue;
        };
        let seg = &r.segments[customer.segment];
        let own = customer.product;
        let p = &r.products[own];
        let life_years = Exp::new(seg.churn_per_year)
            .map(|e| e.sample(rng))
            .unwrap_or(5.0);
        let churn = first + Duration::days((life_years * 365.0) as i64);
        let loyalty = (0.5 * normal.sample(rng)).exp();
        let lifecycle = Lifecycle::draw(&mut life);
        // A buyer of more than a year who stops abruptly 2–8 months ago.
        let stop = (matches!(lifecycle, Lifecycle::Steady | Lifecycle::Growing)
            && (as_of - first).num_days() > 365
            && life.random::<f64>() < 0.15)
            .then(|| as_of - Duration::days(life.random_range(60..240)));
        let end = stop.map_or(churn, |s| s.min(churn));
        let mut m = month_start(first, -1);
        while m <= as_of && m < churn {
            let angle =
                2.0 * std::f64::consts::PI * (m.month() as f64 - p.peak_month as f64) / 12.0;
            let rate = seg.repeat_per_year / 12.0 * loyalty * (1.0 + p.season * angle.cos());
            let k = Poisson::new(rate.max(1e-6))
                .map(|x| x.sample(rng) as usize)
                .unwrap_or(0);
            for _ in 0..k {
                let on = (m + Duration::days(rng.random_range(0..28))).min(as_of);
                if on >= churn {
                    continue;
                }
                let cents = ((p.list_price * 0.15 * seg.size * (0.5 * normal.sample(rng)).exp())
                    .round()
                    .max(20.0)
                    * 100.0) as i64;
                let qty = rng.random_range(1..=5);
                let t = months_between(first, on);
                let keep = on < end
                    && match lifecycle {
                        Lifecycle::OneOff => false,
                        Lifecycle::Fading => life.random::<f64>() < (-t / 10.0).exp(),
                        Lifecycle::Steady | Lifecycle::Growing => true,
                    };
                if !keep {
                    continue;
                }
                book.put(customer, own, on, cents, qty)?;
                // An expanding account buys again the same month, more often each year.
                if lifecycle == Lifecycle::Growing && life.random::<f64>() < (t / 24.0).min(1.0) {
                    let again = (on + Duration::days(life.random_range(1..20))).min(as_of);
                    if again < end {
                        let more = (cents as f64 * (0.3 * normal.sample(&mut life)).exp()) as i64;
                        book.put(customer, own, again, more, qty)?;
                    }
                }
            }
            m = month_start(m, -1);
        }
        if lifecycle == Lifecycle::OneOff {
            continue;
        }
        // Companion products taken up some time into the customer's life.
        let span = (first, end.min(as_of));
        book.companions(customer, own, span, loyalty, &mut life, normal, &sku_index)?;
    }
    let OrderBook {
        rep_revenue,
        report,
        ..
    } = book;
    // Anomaly: a large refund three months ago.
    if let Some(ci) = customers
        .iter()
        .position(|c| c.first_win.is_some_and(|f| f < month_start(as_of, 4)))
    {
        let on = month_start(as_of, 3.min(months - 1)) + Duration::days(9);
        let cents = -(r.products[0].list_price * 6.0 * 100.0) as i64;
        w.order(
            Some("R-REFUND-1"),
            customers[ci].id,
            None,
            product_ids[0],
            &iso(on),
            cents,
            1,
        )?;
        *rep_revenue
            .entry((customers[ci].owner, month_index(on)))
            .or_default() += cents;
        report.orders += 1;
        report.anomalies.push(format!(
            "{}: order R-REFUND-1, a refund of {}",
            crate::domain::Period::month_of(on),
            crate::domain::Money(-cents)
        ));
    }
    call_burst(
        w,
        reps,
        customers,
        as_of - Duration::days(40.min(window_days)),
        report,
    )
}

/// Anomaly: one rep logs 60 calls on a single day (a bulk data-entry session).
fn call_burst(
    w: &dyn BulkSink,
    reps: &[Rep],
    customers: &[Customer],
    day: NaiveDate,
    report: &mut DemoReport,
) -> Result<(), DemoError> {
    if let Some(rep) = reps.first() {
        let ci = customers.iter().position(|c| c.owner == 0).unwrap_or(0);
        for _ in 0..60 {
            w.activity(
                customers[ci].id,
                None,
                rep.id,
                "call",
                "Cold call",
                None,
                Some(&iso(day)),
                Some("Left voicemail"),
            )?;
        }
        report.activities += 60;
        report
            .anomalies
            .push(format!("{day}: rep #{} logged 60 calls in one day", rep.id));
    }
    Ok(())
}

/// The customers, their creation days (ascending) and their propensity to buy.
type Clientele = (Vec<Customer>, Vec<NaiveDate>, Vec<f64>);

/// The customers, in the order they were created (so that a deal can pick among those
/// that existed at the time), each owned by a rep of its region and segment; their
/// creation days and their propensity to buy.
#[allow(clippy::too_many_arguments)]
fn make_customers(
    w: &dyn BulkSink,
    r: &Reference,
    opts: &DemoOptions,
    rng: &mut ChaCha8Rng,
    normal: &Normal<f64>,
    start: NaiveDate,
    window_days: i64,
    reps: &[Rep],
    leaf_teams: &[(i64, usize, bool)],
    report: &mut DemoReport,
) -> Result<Clientele, DemoError> {
    let region_cum = cumulative(r.regions.iter().map(|x| x.share));
    let segment_cum = cumulative(r.segments.iter().map(|x| x.share));
    let mut created: Vec<NaiveDate> = (0..opts.customers)
        .map(|_| {
            if rng.random::<f64>() < 0.55 {
                start - Duration::days(rng.random_range(0..900))
            } else {
                start + Duration::days(rng.random_range(0..window_days))
            }
        })
        .collect();
    created.sort();
    let reps_by_region: Vec<Vec<usize>> = (0..r.regions.len())
        .map(|ri| (0..reps.len()).filter(|&i| reps[i].region == ri).collect())
        .collect();
    let mut customers: Vec<Customer> = Vec::with_capacity(opts.customers);
    let mut propensity = Vec::with_capacity(opts.customers);
    let mut names = std::collections::HashSet::new();
    for (i, day) in created.iter().enumerate() {
        let region = sample_cumulative(rng, &region_cum);
        let segment = sample_cumulative(rng, &segment_cum);
        let enterprise = r.segments[segment].name == "enterprise";
        let candidates: Vec<usize> = reps_by_region[region]
            .iter()
            .copied()
            .filter(|&ri| leaf_teams[reps[ri].team_leaf].2 == enterprise)
            .collect();
        let pool = if candidates.is_empty() {
            &reps_by_region[region]
        } else {
            &candidates
        };
        let owner = if pool.is_empty() {
            rng.random_range(0..reps.len())
        } else {
            *pick(rng, pool)
        };
        let (city, country) = pick(rng, &r.regions[region].cities).clone();
        let mut name = format!(
            "{} {} {}",
            pick(rng, &r.company_first),
            pick(rng, &r.company_second),
            pick(rng, &r.company_suffix)
        );
        if !names.insert(name.clone()) {
            name = format!("{name} ({city})");
            if !names.insert(name.clone()) {
                name = format!("{name} #{}", i + 1);
                names.insert(name.clone());
            }
        }
        let slug: String = name
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(18)
            .collect();
        let seg = &r.segments[segment];
        let id = w.customer(
            &format!("C-{:06}", i + 1),
            &name,
            reps[owner].id,
            pick_str(rng, &r.industries),
            &seg.name,
            &r.regions[region].name,
            &city,
            &country,
            &format!("info@{slug}.example"),
            &format!(
                "+{} {:03} {:04}",
                rng.random_range(1..99),
                rng.random_range(100..999),
                rng.random_range(0..9999)
            ),
            seg.contact_every_days,
            &iso(*day),
        )?;
        let n_contacts = rng.random_range(1..=3);
        for k in 0..n_contacts {
            let first = pick(rng, &r.first_names);
            let last = pick(rng, &r.last_names);
            w.contact(
                &format!("P-{:06}-{}", i + 1, k + 1),
                id,
                &format!("{first} {last}"),
                pick_str(rng, &r.titles),
                &format!(
                    "{}.{}@{slug}.example",
                    first.to_lowercase(),
                    last.to_lowercase().replace(['\'', ' '], "")
                ),
                k == 0,
            )?;
            report.contacts += 1;
        }
        let seg_weight = match seg.name.as_str() {
            "enterprise" => 2.0,
            "mid_market" => 1.3,
            _ => 1.0,
        };
        propensity.push(seg_weight * (normal.sample(rng)).exp());
        customers.push(Customer {
            id,
            created: *day,
            segment,
            owner,
            first_win: None,
            product: 0,
            last_order: None,
        });
    }
    Ok((customers, created, propensity))
}

/// What every deal is made from: the reference data, the months and products deals start
/// in, the customers' creation days and propensity, the reps, stages and products.
#[derive(Clone, Copy)]
struct DealCtx<'a> {
    w: &'a dyn BulkSink,
    r: &'a Reference,
    as_of: NaiveDate,
    cells: &'a [(NaiveDate, usize, f64)],
    cell_cum: &'a [f64],
    created: &'a [NaiveDate],
    kinds: &'a [&'a str],
    subjects: &'a [&'a str],
    outcomes: &'a [&'a str],
    propensity_cum: &'a [f64],
    source_cum: &'a [f64],
    month_index: &'a dyn Fn(NaiveDate) -> i32,
    normal: &'a Normal<f64>,
    reps: &'a [Rep],
    stage_ids: &'a [i64],
    product_ids: &'a [i64],
    won_stage: i64,
    lost_stage: i64,
}

/// What making deals changes: the random stream, the customers (first win, last order),
/// the revenue per rep and month, the report, and reused buffers.
struct DealState<'a> {
    rng: &'a mut ChaCha8Rng,
    customers: &'a mut Vec<Customer>,
    rep_revenue: &'a mut HashMap<(usize, i32), i64>,
    report: &'a mut DemoReport,
    changes: &'a mut Vec<(Option<i64>, i64, NaiveDate)>,
    ext: &'a mut String,
    deal_name: &'a mut String,
}

/// Deal number `n`: its customer, product, owner, amount and dates, its path through the
/// stages with the stage history, its order when won, and the activities around it.
fn one_deal(ctx: &DealCtx, st: &mut DealState, n: usize) -> Result<(), DemoError> {
    let DealCtx {
        w,
        r,
        as_of,
        cells,
        cell_cum,
        created,
        propensity_cum,
        source_cum,
        normal,
        reps,
        stage_ids,
        product_ids,
        won_stage,
        lost_stage,
        ..
    } = *ctx;
    let DealState {
        rng,
        customers,
        report,
        changes,
        ext,
        deal_name,
        ..
    } = st;
    let (month, pi, _) = cells[sample_cumulative(rng, cell_cum)];
    let month_days = (month_start(as_of, -1).min(month + Duration::days(31)) - month)
        .num_days()
        .clamp(1, 31);
    let mut created_on = (month + Duration::days(rng.random_range(0..month_days))).min(as_of);
    if month.month() != created_on.month() {
        created_on = month;
    }
    let eligible = created.partition_point(|d| *d <= created_on).max(1);
    let ci = sample_cumulative(rng, &propensity_cum[..eligible]);
    let created_on = created_on.max(customers[ci].created);
    let seg = &r.segments[customers[ci].segment];
    let rep = &reps[customers[ci].owner];
    let product = &r.products[pi];
    let engagement: f64 = normal.sample(rng);
    let si = sample_cumulative(rng, source_cum);
    let shift = 1.2 * rep.skill + 0.45 * engagement + r.sources[si].2 + seg.win_shift;

    let (outcome, at_stage) = walk_stages(ctx, rng, changes, created_on, seg, rep, shift);
    let mut amount =
        product.list_price * seg.size * rep.size * (product.sigma * normal.sample(rng)).exp();
    amount = ((amount / 10.0).round() * 10.0).max(100.0);
    let cycle: f64 = r.stages.iter().map(|s| s.median_days).sum::<f64>() * seg.cycle;
    let mut expected =
        created_on + Duration::days((cycle * (0.8 + 0.5 * rng.random::<f64>())) as i64);
    let (stage_id, closed_on, lost_reason) = match outcome {
        Some((true, d, _)) => (won_stage, Some(d), None),
        Some((false, d, reason)) => (lost_stage, Some(d), reason),
        None => {
            if expected < as_of && rng.random::<f64>() < 0.6 {
                expected = as_of + Duration::days(rng.random_range(7..60));
            }
            (stage_ids[at_stage], None, None)
        }
    };
    let entered = changes.last().map(|c| c.2).unwrap_or(created_on);
    let discount = {
        let mut d = rng.random::<f64>() * 10.0;
        if seg.name == "enterprise" {
            d += 5.0;
        }
        if closed_on.is_some_and(|c| (quarter_end(c) - c).num_days() <= 10) {
            d += 5.0;
        }
        (d * 10.0).round() / 10.0
    };
    ext.clear();
    use std::fmt::Write;
    let _ = write!(ext, "D-{:07}", n + 1);
    deal_name.clear();
    let _ = write!(
        deal_name,
        "{} – {}",
        product.name,
        if n.is_multiple_of(3) {
            "expansion"
        } else {
            "new business"
        }
    );
    let created_s = iso(created_on);
    let entered_s = iso(entered);
    let expected_s = iso(expected);
    let closed_s = closed_on.map(iso);
    let deal_id = w.deal(&NewDeal {
        external_id: ext,
        name: deal_name,
        customer_id: customers[ci].id,
        owner_rep_id: rep.id,
        product_id: product_ids[pi],
        amount_cents: (amount * 100.0) as i64,
        stage_id,
        created_on: &created_s,
        stage_entered_on: &entered_s,
        expected_close: &expected_s,
        closed_on: closed_s.as_deref(),
        source: &r.sources[si].0,
        lost_reason,
        discount_pct: discount,
    })?;
    for (from, to, on) in changes.iter() {
        w.stage_change(deal_id, *from, *to, &iso(*on))?;
    }
    report.stage_changes += changes.len();

    around_deal(
        ctx,
        st,
        &Made {
            ci,
            deal_id,
            pi,
            amount,
            engagement,
            created_on,
            closed_on,
            outcome,
        },
    )
}

/// The (month, product, weight) cells deals start in: per-product growth and yearly
/// seasonality over the history and three months of lead-in, with one planted supply
/// outage (an anomaly the report lists).
fn deal_cells(
    r: &Reference,
    as_of: NaiveDate,
    months: i32,
    report: &mut DemoReport,
) -> Vec<(NaiveDate, usize, f64)> {
    let lead = 3;
    let outage_month = months - 10;
    let outage_product = r.products.iter().position(|p| p.sku == "MOBL");
    let mut cells = Vec::new();
    for t in -lead..months {
        let m = month_start(as_of, months - 1 - t);
        for (pi, p) in r.products.iter().enumerate() {
            let angle =
                2.0 * std::f64::consts::PI * (m.month() as f64 - p.peak_month as f64) / 12.0;
            let mut weight =
                p.weight * (1.0 + p.growth).powf(t as f64 / 12.0) * (1.0 + p.season * angle.cos());
            if t == outage_month && Some(pi) == outage_product {
                weight *= 0.08;
            }
            cells.push((m, pi, weight));
        }
    }
    if outage_month >= 0 {
        if let Some(pi) = outage_product {
            report.anomalies.push(format!(
                "{}: a supply outage cut new {} deals to a tenth",
                crate::domain::Period::month_of(month_start(as_of, months - 1 - outage_month)),
                r.products[pi].name
            ));
        }
    }
    cells
}

/// A deal as written, for what happens around it.
struct Made<'a> {
    ci: usize,
    deal_id: i64,
    pi: usize,
    amount: f64,
    engagement: f64,
    created_on: NaiveDate,
    closed_on: Option<NaiveDate>,
    outcome: Option<(bool, NaiveDate, Option<&'a str>)>,
}

/// The activities around a deal (busier reps and engaged buyers log more; won deals get a
/// last meeting before signing, lost deals go quiet, open engaged deals have recent
/// contact and often a next step), and a won deal's order in the ledger.
fn around_deal(ctx: &DealCtx, st: &mut DealState, d: &Made) -> Result<(), DemoError> {
    let DealCtx {
        w,
        as_of,
        kinds,
        outcomes,
        subjects,
        month_index,
        reps,
        product_ids,
        ..
    } = *ctx;
    let DealState {
        rng,
        customers,
        rep_revenue,
        report,
        ..
    } = st;
    let Made {
        ci,
        deal_id,
        pi,
        amount,
        engagement,
        created_on,
        closed_on,
        outcome,
    } = *d;
    let rep = &reps[customers[ci].owner];
    // Activities: busier reps and engaged buyers log more; won deals get a last meeting
    // before signing, lost deals go quiet, open engaged deals have recent contact.
    let end = closed_on.unwrap_or(as_of);
    let life = (end - created_on).num_days().max(1);
    let lambda =
        (1.4 * rep.activity * (0.35 * engagement).exp() * (life as f64 / 45.0).sqrt()).min(12.0);
    let count = Poisson::new(lambda.max(0.05))
        .map(|p| p.sample(rng) as usize)
        .unwrap_or(0);
    // Days after creation an activity can fall on: never past the close or today.
    let days = (end - created_on).num_days().max(0);
    let span = match outcome {
        Some((false, _, _)) => (days as f64 * 0.7) as i64,
        _ => days,
    };
    let customer_id = customers[ci].id;
    for _ in 0..count {
        let on = created_on + Duration::days(rng.random_range(0..=span));
        w.activity(
            customer_id,
            Some(deal_id),
            rep.id,
            pick_str(rng, kinds),
            pick_str(rng, subjects),
            None,
            Some(&iso(on)),
            Some(pick_str(rng, outcomes)),
        )?;
    }
    report.activities += count;
    match outcome {
        Some((true, close, _)) => {
            let on = (close - Duration::days(rng.random_range(0..7))).max(created_on);
            w.activity(
                customer_id,
                Some(deal_id),
                rep.id,
                "meeting",
                "Contract walkthrough",
                None,
                Some(&iso(on)),
                Some("Positive"),
            )?;
            report.activities += 1;
            report.won += 1;
            let cents = (amount * 100.0) as i64;
            w.order(
                None,
                customer_id,
                Some(deal_id),
                product_ids[pi],
                &iso(close),
                cents,
                1,
            )?;
            report.orders += 1;
            *rep_revenue
                .entry((customers[ci].owner, month_index(close)))
                .or_default() += cents;
            let c = &mut customers[ci];
            if c.first_win.is_none_or(|f| close < f) {
                c.first_win = Some(close);
                c.product = pi;
            }
            c.last_order = Some(c.last_order.map_or(close, |l| l.max(close)));
        }
        Some((false, _, _)) => report.lost += 1,
        None => {
            report.open += 1;
            let mean = 30.0 * (-engagement).exp();
            let ago = Exp::new(1.0 / mean)
                .map(|e| e.sample(rng) as i64)
                .unwrap_or(30)
                .min(days);
            w.activity(
                customer_id,
                Some(deal_id),
                rep.id,
                pick_str(rng, kinds),
                "Follow-up",
                None,
                Some(&iso(as_of - Duration::days(ago))),
                Some(pick_str(rng, outcomes)),
            )?;
            report.activities += 1;
            if rng.random::<f64>() < 0.5 {
                let due = as_of + Duration::days(rng.random_range(-10..14));
                w.activity(
                    customer_id,
                    Some(deal_id),
                    rep.id,
                    "call",
                    "Next step",
                    Some(&iso(due)),
                    None,
                    None,
                )?;
                report.activities += 1;
            }
        }
    }
    Ok(())
}

/// How a deal ended: won (true) or lost, on which day, and why it was lost.
type Ending<'r> = (bool, NaiveDate, Option<&'r str>);

/// A deal's path through the open stages from its creation: each stay lognormal around
/// the stage's median (slower for less active reps), each step won or lost by the stage's
/// odds shifted by the rep's skill, the buyer's engagement and the source; the moves go
/// into `changes`. Returns how it ended (won or lost, when, why) if it did, and the stage
/// it reached.
fn walk_stages<'r>(
    ctx: &DealCtx<'r>,
    rng: &mut ChaCha8Rng,
    changes: &mut Vec<(Option<i64>, i64, NaiveDate)>,
    created_on: NaiveDate,
    seg: &SegmentRef,
    rep: &Rep,
    shift: f64,
) -> (Option<Ending<'r>>, usize) {
    let DealCtx {
        r,
        as_of,
        normal,
        stage_ids,
        won_stage,
        lost_stage,
        ..
    } = *ctx;
    changes.clear();
    changes.push((None, stage_ids[0], created_on));
    let mut day = created_on;
    let mut outcome: Option<(bool, NaiveDate, Option<&str>)> = None;
    let mut at_stage = 0;
    for (i, st) in r.stages.iter().enumerate() {
        at_stage = i;
        let median = st.median_days * seg.cycle / rep.activity.powf(0.2);
        let days = (median.ln() + 0.55 * normal.sample(rng))
            .exp()
            .round()
            .max(1.0) as i64;
        let next = day + Duration::days(days);
        if next > as_of {
            break;
        }
        if rng.random::<f64>() < sigmoid(logit(st.advance) + shift) {
            if i + 1 == r.stages.len() {
                let mut close = next;
                // Reps pull deals into the quarter they nearly made.
                let quarter_start =
                    NaiveDate::from_ymd_opt(close.year(), (close.month0() / 3) * 3 + 1, 1)
                        .expect("valid");
                let previous_end = quarter_start - Duration::days(1);
                if (close - previous_end).num_days() <= 10
                    && previous_end > day
                    && rng.random::<f64>() < 0.5
                {
                    close = previous_end;
                }
                changes.push((Some(stage_ids[i]), won_stage, close));
                outcome = Some((true, close, None));
            } else {
                changes.push((Some(stage_ids[i]), stage_ids[i + 1], next));
                day = next;
                continue;
            }
        } else {
            let reason = pick(rng, &st.lost_reasons).as_str();
            changes.push((Some(stage_ids[i]), lost_stage, next));
            outcome = Some((false, next, Some(reason)));
        }
        break;
    }
    (outcome, at_stage)
}
