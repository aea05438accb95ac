//! Targets: set, revise, list with attainment, and propose three ways. Shared by the CLI
//! and the TUI.

/// Where a target stands (attainment, pace, gap, coverage, projection with its range).
pub use crate::analytics::targets::Standing;
use crate::analytics::targets::{
    month_weights, performance_based, roll_up, seasonal_pace, split, standing,
};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::{Period, TargetMetric, TargetScope};
use crate::store::audit::Actor;
use crate::store::targets::TargetRow;
use crate::store::StoreError;
use chrono::{Datelike, NaiveDate};
use std::collections::HashMap;

/// A target with where it stands today.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetStatus {
    pub target: TargetRow,
    pub standing: Standing,
    /// For a team or the company: what the targets one level down add up to, when they
    /// exist and differ from this target.
    pub mismatch: Option<i64>,
    /// Depth in the tree as listed: the company 0, top-level teams 1, their reps and
    /// sub-teams 2, and so on.
    pub depth: usize,
}

/// Every metric a target can measure, in the order the Targets screen cycles them.
pub const METRICS: [TargetMetric; 4] = [
    TargetMetric::WonRevenue,
    TargetMetric::WonDeals,
    TargetMetric::Activities,
    TargetMetric::NewCustomers,
];

/// Months of won revenue used to learn the seasonal weights.
const SEASON_MONTHS: i32 = 36;

/// Seasonal weights of the calendar months from the company's won revenue (the last three
/// complete years), used for pace and performance proposals.
pub fn season_weights(store: &Store, today: NaiveDate) -> Result<[f64; 12], StoreError> {
    let current = Period::month_of(today);
    let mut first = current.back(SEASON_MONTHS as u32);
    // From the month the data begins (never from empty months before it); a month after
    // that without revenue is a real zero.
    match super::forecast::first_month(store)? {
        Some(d) if d > first => first = d,
        None => return Ok([1.0; 12]),
        _ => {}
    }
    let revenue: HashMap<String, i64> = store
        .monthly_revenue(&iso(first.start()), &iso(current.start()))?
        .into_iter()
        .collect();
    let mut history: Vec<(u32, f64)> = Vec::new();
    let mut m = first;
    while m < current {
        let v = revenue.get(&m.to_string()).copied().unwrap_or(0);
        history.push((m.start().month(), v as f64));
        m = m.next();
    }
    Ok(month_weights(&history))
}

/// The elapsed share of `period` by `today`, each month weighted by its seasonal weight.
pub fn pace(period: Period, weights: &[f64; 12], today: NaiveDate) -> f64 {
    let months: Vec<(NaiveDate, NaiveDate, f64)> = period
        .months()
        .into_iter()
        .map(|m| {
            (
                m.start(),
                m.end_exclusive(),
                weights[m.start().month0() as usize],
            )
        })
        .collect();
    seasonal_pace(&months, today)
}

/// What each team (including sub-teams), each rep and the company achieved on `metric`
/// in `period`, keyed like targets: "company", "team:ID", "rep:ID".
/// Per-rep monthly actuals of one metric over a range of months, summed into any period
/// inside it.
struct Monthly(HashMap<String, HashMap<Option<i64>, f64>>);

impl Monthly {
    fn load(
        store: &Store,
        metric: TargetMetric,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Monthly, StoreError> {
        let mut by_month: HashMap<String, HashMap<Option<i64>, f64>> = HashMap::new();
        for (m, rep, v) in store.monthly_actuals_by_rep(metric, &iso(from), &iso(to))? {
            *by_month.entry(m).or_default().entry(rep).or_default() += v as f64;
        }
        Ok(Monthly(by_month))
    }

    /// The period's actuals rolled up to teams and the company.
    fn period(&self, tree: &Tree, period: Period) -> HashMap<String, f64> {
        let mut by_rep: HashMap<Option<i64>, f64> = HashMap::new();
        for m in period.months() {
            for (rep, v) in self.0.get(&m.to_string()).into_iter().flatten() {
                *by_rep.entry(*rep).or_default() += v;
            }
        }
        roll(tree, &by_rep)
    }
}

/// Reps' teams and the team tree, read once for any number of roll-ups.
struct Tree {
    teams: Vec<crate::store::dashboard::Team>,
    rep_team: HashMap<i64, i64>,
    parents: HashMap<i64, Option<i64>>,
}

impl Tree {
    fn load(store: &Store) -> Result<Tree, StoreError> {
        let teams = store.teams()?;
        Ok(Tree {
            parents: teams.iter().map(|t| (t.id, t.parent_id)).collect(),
            teams,
            rep_team: store.rep_teams()?,
        })
    }

    /// The key of the target one level up: a rep's team, a team's parent team, and the
    /// company above the top-level teams.
    fn parent_key(&self, t: &TargetRow) -> Option<String> {
        match t.scope {
            TargetScope::Company => None,
            TargetScope::Team => {
                let id = t.team_id?;
                Some(match self.parents.get(&id)? {
                    Some(p) => format!("team:{p}"),
                    None => "company".into(),
                })
            }
            TargetScope::Rep => Some(format!("team:{}", self.rep_team.get(&t.rep_id?)?)),
        }
    }
}

fn roll(tree: &Tree, by_rep: &HashMap<Option<i64>, f64>) -> HashMap<String, f64> {
    let (rep_team, parents) = (&tree.rep_team, &tree.parents);
    // roll_up sums integers: values go in as thousandths to keep fractions of counts.
    let mut direct: HashMap<i64, i64> = HashMap::new();
    let mut out: HashMap<String, f64> = HashMap::new();
    // In rep order: sums of floats must not depend on a hash map's order.
    let mut reps: Vec<(&Option<i64>, &f64)> = by_rep.iter().collect();
    reps.sort_by_key(|(r, _)| **r);
    for (rep, v) in reps {
        if let Some(r) = rep {
            *out.entry(format!("rep:{r}")).or_default() += v;
            if let Some(t) = rep_team.get(r) {
                *direct.entry(*t).or_default() += (v * 1000.0).round() as i64;
            }
        }
        *out.entry("company".into()).or_default() += v;
    }
    for (team, v) in roll_up(parents, &direct) {
        out.insert(format!("team:{team}"), v as f64 / 1000.0);
    }
    out
}

/// Simulations behind a projection: plenty for a median.
const PROJECTION_RUNS: usize = 400;

/// The open pipeline of `period` per key: what is expected to close in it (overdue deals
/// count now), weighted by win probability (learned, else the stage's), and the median
/// over a Monte Carlo simulation of what it adds (each open deal wins with that
/// probability and closes on its expected date moved by a slip drawn from its stage's
/// history, as in `funnel pipeline`). Cents for revenue, deals for won deals.
fn pipeline_keyed(
    store: &Store,
    tree: &Tree,
    money: bool,
    period: Period,
    today: NaiveDate,
) -> Result<PipelineKeyed, StoreError> {
    use crate::analytics::montecarlo::{simulate_groups, OpenDeal};
    let stages = store.stages()?;
    let stage_at: HashMap<i64, usize> = stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    // What the simulation learned from history, read once for the pipeline forecast too.
    let learned = super::pipeline_forecast::learned(store, &stages, today)?;
    let slips = &learned.slips;
    let start = (period.start() - today).num_days().max(0);
    let end = (period.end_exclusive() - today).num_days();
    let mut reps: Vec<Option<i64>> = Vec::new();
    let mut group_of: HashMap<Option<i64>, usize> = HashMap::new();
    let mut deals = Vec::new();
    let mut open: HashMap<Option<i64>, f64> = HashMap::new();
    let mut weighted: HashMap<Option<i64>, f64> = HashMap::new();
    for (cents, stage_id, expected, score, owner) in store.open_deals()? {
        let Some(&si) = stage_at.get(&stage_id) else {
            continue;
        };
        // No expected close: in no period's pipeline (not coverage), and the projection
        // draws its close from its stage's time to win.
        let day = expected
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| (d - today).num_days());
        let g = *group_of.entry(owner).or_insert_with(|| {
            reps.push(owner);
            reps.len() - 1
        });
        let amount = if money { cents as f64 } else { 1.0 };
        let probability = score.unwrap_or(stages[si].probability);
        // Overdue deals count now in the period's pipeline; the simulation takes the date
        // as given, given that the deal is still open today.
        if day.is_some_and(|d| d.max(0) >= start && d.max(0) < end) {
            *open.entry(owner).or_default() += amount;
            *weighted.entry(owner).or_default() += amount * probability;
        }
        // Without enough history to say when it could close, it is left out.
        if let Some((expected_close, stage, dated)) =
            super::pipeline_forecast::simulated(day, si, slips)
        {
            deals.push((
                OpenDeal {
                    amount,
                    // The simulation: the learned score, else the stage's learned win rate.
                    probability: score.unwrap_or(learned.win_probability(
                        si,
                        stages[si].probability,
                        day,
                        cents,
                    )),
                    expected_close,
                    stage,
                    dated,
                },
                g,
            ));
        }
    }
    let runs = simulate_groups(
        &deals,
        reps.len(),
        slips,
        (start, end),
        PROJECTION_RUNS,
        20_261_122,
        &learned.draws(today),
    );
    // Each rep's total goes to its own key, its team and every team above, and the
    // company: the key indices are worked out once, then each run is a few additions.
    let mut keys: Vec<String> = vec!["company".into()];
    let mut index: HashMap<String, usize> = HashMap::from([("company".to_string(), 0)]);
    let mut key = |k: String| -> usize {
        *index.entry(k.clone()).or_insert_with(|| {
            keys.push(k);
            keys.len() - 1
        })
    };
    let targets_of: Vec<Vec<usize>> = reps
        .iter()
        .map(|rep| {
            let mut out = vec![0];
            if let Some(r) = rep {
                out.push(key(format!("rep:{r}")));
                let mut team = tree.rep_team.get(r).copied();
                let mut hops = 0;
                while let Some(t) = team {
                    out.push(key(format!("team:{t}")));
                    team = tree.parents.get(&t).copied().flatten();
                    hops += 1;
                    if hops > tree.parents.len() {
                        break;
                    }
                }
            }
            out
        })
        .collect();
    let mut per_key = vec![Vec::with_capacity(runs.len()); keys.len()];
    let mut acc = vec![0.0; keys.len()];
    for run in &runs {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for (g, v) in run.iter().enumerate() {
            for k in &targets_of[g] {
                acc[*k] += v;
            }
        }
        for (k, a) in acc.iter().enumerate() {
            per_key[k].push(*a);
        }
    }
    Ok(PipelineKeyed {
        open: roll(tree, &open),
        weighted: roll(tree, &weighted),
        sim: keys
            .into_iter()
            .zip(per_key)
            .map(|(k, v)| {
                let q = |p: f64| crate::analytics::stats::quantile(&v, p).unwrap_or(0.0);
                (k, (q(0.1), q(0.5), q(0.9)))
            })
            .collect(),
    })
}

fn key_of(t: &TargetRow) -> String {
    match (t.scope, t.team_id, t.rep_id) {
        (TargetScope::Team, Some(id), _) => format!("team:{id}"),
        (TargetScope::Rep, _, Some(id)) => format!("rep:{id}"),
        _ => "company".into(),
    }
}

/// Targets with actual, attainment, pace, gap, coverage, projection and required win
/// rate; `period` `None` lists every period that has targets.
pub fn list(
    store: &Store,
    period: Option<Period>,
    scope: Option<TargetScope>,
    metric: Option<TargetMetric>,
    today: NaiveDate,
) -> Result<Vec<TargetStatus>, StoreError> {
    let wanted = period.map(|p| p.to_string());
    // Every target of the periods and metrics asked for: the ones listed, and the ones one
    // level down whose sum each is checked against.
    let all = store.target_rows(wanted.as_deref(), None, metric)?;
    let weights = season_weights(store, today)?;
    let tree = Tree::load(store)?;
    let mut below: HashMap<(String, TargetMetric, String), (usize, i64)> = HashMap::new();
    for c in &all {
        if let Some(parent) = tree.parent_key(c) {
            let e = below
                .entry((c.period.clone(), c.metric, parent))
                .or_default();
            e.0 += 1;
            e.1 += c.value;
        }
    }
    // Actuals per metric in one scan over every month the listed periods cover.
    let mut monthly: HashMap<TargetMetric, Monthly> = HashMap::new();
    for m in METRICS {
        let spans: Vec<Period> = all
            .iter()
            .filter(|t| t.metric == m)
            .filter_map(|t| Period::parse(&t.period).ok())
            .collect();
        if let (Some(from), Some(to)) = (
            spans.iter().map(|p| p.start()).min(),
            spans.iter().map(|p| p.end_exclusive()).max(),
        ) {
            monthly.insert(m, Monthly::load(store, m, from, to)?);
        }
    }
    let mut cache: HashMap<(String, TargetMetric), Measured> = HashMap::new();
    let mut out = Vec::new();
    for t in all
        .into_iter()
        .filter(|t| scope.is_none_or(|s| t.scope == s))
    {
        let Ok(p) = Period::parse(&t.period) else {
            continue;
        };
        let cache_key = (t.period.clone(), t.metric);
        if !cache.contains_key(&cache_key) {
            let a = monthly
                .get(&t.metric)
                .map(|m| m.period(&tree, p))
                .unwrap_or_default();
            let pipe = pipeline(store, &tree, t.metric, p, today)?;
            cache.insert(cache_key.clone(), (a, pipe));
        }
        let (a, pipe) = &cache[&cache_key];
        let key = key_of(&t);
        let actual = a.get(&key).copied().unwrap_or(0.0);
        let share = if t.metric.is_money() || t.metric == TargetMetric::WonDeals {
            pace(p, &weights, today)
        } else {
            pace(p, &[1.0; 12], today)
        };
        let (open, weighted, sim) = match pipe {
            Some(pk) => (
                Some(pk.open.get(&key).copied().unwrap_or(0.0)),
                Some(pk.weighted.get(&key).copied().unwrap_or(0.0)),
                Some(pk.sim.get(&key).copied().unwrap_or((0.0, 0.0, 0.0))),
            ),
            None => (None, None, None),
        };
        let standing = standing(actual, t.value as f64, share, open, weighted, sim);
        // One level down: the reps of a team and its direct sub-teams; the company's
        // top-level teams.
        let mismatch = below
            .get(&(t.period.clone(), t.metric, key))
            .filter(|(n, sum)| *n > 0 && *sum != t.value)
            .map(|(_, sum)| *sum);
        out.push(TargetStatus {
            target: t,
            standing,
            mismatch,
            depth: 0,
        });
    }
    // In tree order within each period: the company, then each team followed by its reps
    // and sub-teams (reps without a team last).
    let mut place: HashMap<String, (usize, usize)> = HashMap::new();
    place.insert("company".into(), (0, 0));
    for (t, depth) in super::dashboard::team_order(&tree.teams) {
        let n = place.len();
        place.insert(format!("team:{}", t.id), (n, depth));
        let mut reps: Vec<i64> = tree
            .rep_team
            .iter()
            .filter(|(_, team)| **team == t.id)
            .map(|(r, _)| *r)
            .collect();
        reps.sort_unstable();
        for r in reps {
            let n = place.len();
            place.insert(format!("rep:{r}"), (n, depth + 1));
        }
    }
    for r in &mut out {
        r.depth = place.get(&key_of(&r.target)).map(|p| p.1).unwrap_or(1);
    }
    out.sort_by_key(|r| {
        (
            r.target.period.clone(),
            place
                .get(&key_of(&r.target))
                .map(|p| p.0)
                .unwrap_or(usize::MAX),
            r.target.name.clone(),
            r.target.metric.as_str(),
        )
    });
    Ok(out)
}

/// Actuals and open pipeline of one period and metric, per key.
type Measured = (HashMap<String, f64>, Option<PipelineKeyed>);

/// Monthly values per rep name, with the months they are for.
type MonthlyByRep = (Vec<Period>, HashMap<String, Vec<f64>>);

/// Open pipeline expected in the period, per key: unweighted and weighted (in cents for
/// revenue, deals for won deals). `None` for metrics without a pipeline.
struct PipelineKeyed {
    open: HashMap<String, f64>,
    weighted: HashMap<String, f64>,
    /// Monte Carlo 10th, 50th and 90th percentiles of what the pipeline adds.
    sim: HashMap<String, (f64, f64, f64)>,
}

fn pipeline(
    store: &Store,
    tree: &Tree,
    metric: TargetMetric,
    period: Period,
    today: NaiveDate,
) -> Result<Option<PipelineKeyed>, StoreError> {
    if !matches!(metric, TargetMetric::WonRevenue | TargetMetric::WonDeals) {
        return Ok(None);
    }
    // A period that has ended has no pipeline left; one not started counts from its start.
    if period.end_exclusive() <= today {
        return Ok(Some(PipelineKeyed {
            open: HashMap::new(),
            weighted: HashMap::new(),
            sim: HashMap::new(),
        }));
    }
    Ok(Some(pipeline_keyed(
        store,
        tree,
        metric.is_money(),
        period,
        today,
    )?))
}

/// A target value as a user writes it: money for revenue (from cents), a count otherwise.
/// `parse_value` reads it back.
pub fn format_value(metric: TargetMetric, v: i64) -> String {
    if metric.is_money() {
        crate::domain::Money(v).to_string()
    } else {
        v.to_string()
    }
}

/// Parses a target value given on the command line or in a form: money for revenue
/// (returned in cents), a whole non-negative count otherwise.
pub fn parse_value(metric: TargetMetric, text: &str) -> Result<i64, String> {
    if metric.is_money() {
        let m = crate::domain::money::parse_amount(text).map_err(|e| format!("'{text}': {e}"))?;
        if m.cents() < 0 {
            return Err(format!("'{text}' is negative"));
        }
        Ok(m.cents())
    } else {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| format!("'{text}' is not a whole number of {}", metric.as_str()))
    }
}

/// Sets a target (with its revision and audit entry).
#[allow(clippy::too_many_arguments)]
pub fn set(
    store: &mut Store,
    scope: TargetScope,
    name: Option<&str>,
    period: Period,
    metric: TargetMetric,
    value: i64,
    reason: &str,
) -> Result<(i64, Option<i64>), StoreError> {
    store.set_target(
        scope,
        name,
        &period.to_string(),
        metric,
        value,
        reason,
        &Actor::current(),
    )
}

/// Revises a target, keeping the old value, who, when and why.
pub fn revise(store: &mut Store, id: i64, value: i64, reason: &str) -> Result<i64, StoreError> {
    store.revise_target(id, value, reason, &Actor::current())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Goal,
    Performance,
    Resource,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "goal" => Some(Method::Goal),
            "performance" => Some(Method::Performance),
            "resource" => Some(Method::Resource),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Method::Goal => "goal",
            Method::Performance => "performance",
            Method::Resource => "resource",
        }
    }
}

/// One proposed won-revenue target with the reason for its number.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposed {
    pub scope: TargetScope,
    pub name: String,
    pub value_cents: i64,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Proposal {
    pub method: &'static str,
    pub period: String,
    /// How the whole proposal was made.
    pub summary: String,
    pub rows: Vec<Proposed>,
}

/// A rep as proposals see them.
struct Seller {
    id: i64,
    name: String,
    team: Option<i64>,
    capacity: f64,
}

/// Monthly won revenue per rep name for the last `months` complete months before today.
fn monthly_by_rep(
    store: &Store,
    today: NaiveDate,
    months: u32,
) -> Result<MonthlyByRep, StoreError> {
    let current = Period::month_of(today);
    let list: Vec<Period> = (1..=months).rev().map(|i| current.back(i)).collect();
    let index: HashMap<String, usize> = list
        .iter()
        .enumerate()
        .map(|(i, m)| (m.to_string(), i))
        .collect();
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for (m, rep, cents) in store.monthly_revenue_by("rep", &iso(list[0].start()))? {
        if let Some(&i) = index.get(&m) {
            out.entry(rep).or_insert_with(|| vec![0.0; list.len()])[i] += cents as f64;
        }
    }
    Ok((list, out))
}

/// Proposes won-revenue targets for every active rep, their teams (the sum of their reps
/// and sub-teams) and the company for `period`, by `method`. Nothing is saved.
pub fn propose(
    store: &Store,
    method: Method,
    period: Period,
    growth_pct: f64,
    today: NaiveDate,
) -> Result<Proposal, StoreError> {
    let sellers: Vec<Seller> = store
        .rep_capacity()?
        .into_iter()
        .map(|(id, name, team, capacity)| Seller {
            id,
            name,
            team,
            capacity,
        })
        .collect();
    if sellers.is_empty() {
        return Err(StoreError::Invalid(
            "no active reps to propose targets for: proposals are made per rep and summed up the team tree (import or add reps first)".into(),
        ));
    }
    let weights = season_weights(store, today)?;
    let factor = |p: Period| -> f64 {
        let ms = p.months();
        ms.iter()
            .map(|m| weights[m.start().month0() as usize])
            .sum::<f64>()
            / ms.len() as f64
    };
    let n_months = period.months().len() as f64;
    let (months, history) = monthly_by_rep(store, today, 60)?;
    let Some(data_start) = super::forecast::first_month(store)? else {
        return Err(StoreError::Invalid(
            "no won revenue yet: proposals learn from the order ledger (import orders or won deals first)".into(),
        ));
    };
    // Months of the window the data covers (the ones before it are not zero revenue).
    let covered: Vec<usize> = (0..months.len())
        .filter(|&i| months[i] >= data_start)
        .collect();
    let mut rep_values: Vec<(i64, String)> = Vec::new();
    let basis = Basis {
        sellers: &sellers,
        months: &months,
        history: &history,
        covered: &covered,
        period,
        today,
        growth_pct,
        n_months,
        factor: &factor,
        data_start,
    };
    let summary = match method {
        Method::Goal => goal(&basis, &mut rep_values)?,
        Method::Performance => performance(&basis, &mut rep_values)?,
        Method::Resource => resource(&basis, &mut rep_values)?,
    };
    if rep_values.iter().all(|(v, _)| *v == 0) {
        return Err(StoreError::Invalid(format!(
            "no proposal for {period}: every rep would get 0 ({summary}); the reps have no won revenue in that history"
        )));
    }
    // Teams and the company are the sums of their reps (so the levels agree by design).
    let mut by_rep: HashMap<Option<i64>, f64> = HashMap::new();
    let mut rows = Vec::new();
    for (s, (v, why)) in sellers.iter().zip(&rep_values) {
        by_rep.insert(Some(s.id), *v as f64);
        rows.push(Proposed {
            scope: TargetScope::Rep,
            name: s.name.clone(),
            value_cents: *v,
            rationale: why.clone(),
        });
    }
    let tree = Tree::load(store)?;
    let keyed = roll(&tree, &by_rep);
    let mut head = vec![Proposed {
        scope: TargetScope::Company,
        name: "Company".into(),
        value_cents: keyed.get("company").copied().unwrap_or(0.0).round() as i64,
        rationale: "sum of the reps".into(),
    }];
    for t in &tree.teams {
        let v = keyed
            .get(&format!("team:{}", t.id))
            .copied()
            .unwrap_or(0.0)
            .round() as i64;
        head.push(Proposed {
            scope: TargetScope::Team,
            name: t.name.clone(),
            value_cents: v,
            rationale: "sum of its reps and sub-teams".into(),
        });
    }
    head.extend(rows);
    Ok(Proposal {
        method: method.name(),
        period: period.to_string(),
        summary,
        rows: head,
    })
}

/// Months from `a` to `b` (both months).
fn month_distance(a: Period, b: Period) -> i64 {
    let idx = |p: Period| p.start().year() as i64 * 12 + p.start().month0() as i64;
    idx(b) - idx(a)
}

/// Saves every target of a proposal as a revision with the method as its reason.
pub fn save_proposal(store: &mut Store, p: &Proposal) -> Result<usize, StoreError> {
    let period = Period::parse(&p.period).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let reason = format!("proposal: {} method", p.method);
    for r in &p.rows {
        let name = (r.scope != TargetScope::Company).then_some(r.name.as_str());
        set(
            store,
            r.scope,
            name,
            period,
            TargetMetric::WonRevenue,
            r.value_cents,
            &reason,
        )?;
    }
    Ok(p.rows.len())
}

/// One target as stored, if there is one with that id.
pub fn target(store: &Store, id: i64) -> Result<Option<TargetRow>, StoreError> {
    store.target(id)
}

/// A target's revisions, oldest first: old and new value, who, when, why.
pub fn revisions(
    store: &Store,
    id: i64,
) -> Result<Vec<crate::domain::targets::Revision>, StoreError> {
    store.target_revisions(id)
}

/// What every proposal method starts from: the sellers, their monthly revenue, the
/// months the data covers, the period and its seasonal factor.
#[derive(Clone, Copy)]
struct Basis<'a> {
    sellers: &'a [Seller],
    months: &'a [Period],
    history: &'a HashMap<String, Vec<f64>>,
    covered: &'a [usize],
    period: Period,
    today: NaiveDate,
    growth_pct: f64,
    n_months: f64,
    factor: &'a dyn Fn(Period) -> f64,
    data_start: Period,
}

/// The goal method: each rep's forecast to the period's end, the company's sum times the growth goal, split by share of the forecast.
fn goal(b: &Basis, rep_values: &mut Vec<(i64, String)>) -> Result<String, StoreError> {
    let Basis {
        sellers,
        months,
        history,
        covered,
        period,
        growth_pct,
        ..
    } = *b;
    Ok({
        // Forecast each rep's monthly revenue up to the period's end; the company
        // figure is the sum, times the growth goal, split by share of the forecast.
        let last = *months.last().expect("60 months");
        let months_ahead: Vec<Period> = period.months();
        let horizon = months_ahead
            .iter()
            .map(|m| month_distance(last, *m))
            .max()
            .unwrap_or(0)
            .max(1) as usize;
        let mut per_rep = Vec::new();
        for s in sellers {
            let all = history.get(&s.name).cloned().unwrap_or_default();
            // The forecast fits the last 36 months (from where the data begins).
            let from = all
                .len()
                .saturating_sub(36)
                .max(covered.first().copied().unwrap_or(0));
            let y = all[from.min(all.len())..].to_vec();
            let f = if y.iter().any(|v| *v != 0.0) {
                let start = y.iter().position(|v| *v != 0.0).unwrap_or(0);
                crate::analytics::ts::auto(&y[start..], 12, horizon)
                    .points
                    .iter()
                    .map(|p| p.forecast)
                    .collect::<Vec<f64>>()
            } else {
                vec![0.0; horizon]
            };
            let total: f64 = months_ahead
                .iter()
                .filter_map(|m| {
                    let d = month_distance(last, *m);
                    (d >= 1).then(|| f.get(d as usize - 1).copied().unwrap_or(0.0))
                })
                .sum();
            per_rep.push(total);
        }
        let forecast: f64 = per_rep.iter().sum();
        // Whole currency units: the goal and every part, adding up exactly.
        let goal = (forecast * (1.0 + growth_pct / 100.0) / 100.0).round() as i64 * 100;
        let parts: Vec<i64> = split(goal / 100, &per_rep)
            .into_iter()
            .map(|v| v * 100)
            .collect();
        for ((s, f), v) in sellers.iter().zip(&per_rep).zip(parts) {
            let share = if forecast > 0.0 { f / forecast } else { 0.0 };
            rep_values.push((
                v,
                format!(
                    "{:.1}% of the forecast ({} of {})",
                    share * 100.0,
                    crate::domain::Money(f.round() as i64),
                    crate::domain::Money(forecast.round() as i64),
                ),
            ));
            let _ = s;
        }
        format!(
                "forecast of won revenue for {period} (the automatic forecast per rep: mean of ETS, ARIMA and Theta, from 36 months) \
                 {} × (1 + {growth_pct}% growth goal) = {}, split by each rep's share of the forecast",
                crate::domain::Money(forecast.round() as i64),
                crate::domain::Money(goal)
            )
    })
}

/// The performance method: the last four periods of the same kind, newest weighted most, each put on the period's season.
fn performance(b: &Basis, rep_values: &mut Vec<(i64, String)>) -> Result<String, StoreError> {
    let Basis {
        sellers,
        months,
        history,
        period,
        today,
        factor,
        data_start,
        ..
    } = *b;
    Ok({
        // The same kind of period, the last four of them, newest weighted most.
        // The last four complete periods of the same kind before today (not before the
        // target period, which may lie in the future), inside the data.
        let this = match period {
            Period::Month { .. } => Period::month_of(today),
            Period::Quarter { .. } => Period::quarter_of(today),
            Period::Year { .. } => Period::Year { year: today.year() },
        };
        let lookback: Vec<Period> = (1..=4)
            .rev()
            .map(|i| this.back(i))
            .filter(|p| p.start() >= data_start.start())
            .collect();
        if lookback.is_empty() {
            return Err(StoreError::Invalid(format!(
                    "not enough history for a performance proposal for {period}: it needs at least one complete {} of won revenue, and the data begins in {data_start}",
                    match period {
                        Period::Month { .. } => "month",
                        Period::Quarter { .. } => "quarter",
                        Period::Year { .. } => "year",
                    }
                )));
        }
        let target_factor = factor(period);
        for s in sellers {
            let y = history.get(&s.name);
            let hist: Vec<(f64, f64)> = lookback
                .iter()
                .map(|p| {
                    let total: f64 = p
                        .months()
                        .iter()
                        .filter_map(|m| months.iter().position(|x| x == m))
                        .map(|i| y.map(|v| v[i]).unwrap_or(0.0))
                        .sum();
                    (total, factor(*p))
                })
                .collect();
            let v = (performance_based(&hist, target_factor) / 100.0).round() as i64 * 100;
            let text = hist
                .iter()
                .zip(&lookback)
                .map(|((v, _), p)| format!("{p} {}", crate::domain::Money(v.round() as i64)))
                .collect::<Vec<_>>()
                .join(", ");
            rep_values.push((
                v,
                format!("history {text}; seasonal factor of {period} {target_factor:.2}"),
            ));
        }
        format!(
                "each rep's won revenue in the last {} complete periods like {period}, weighted 1, 2, … \
                 toward the newest, each divided by its seasonal factor and put on {period}'s",
                lookback.len()
            )
    })
}

/// The resource method: revenue per unit of capacity over the last 12 covered months, per team, times each rep's capacity.
fn resource(b: &Basis, rep_values: &mut Vec<(i64, String)>) -> Result<String, StoreError> {
    let Basis {
        sellers,
        history,
        covered,
        period,
        today,
        n_months,
        factor,
        data_start,
        ..
    } = *b;
    Ok({
        // Revenue per unit of capacity over the last 12 months the data covers, per team.
        let last12: Vec<usize> = covered.iter().rev().take(12).rev().copied().collect();
        if last12.is_empty() {
            return Err(StoreError::Invalid(format!(
                    "not enough history for a resource proposal: it needs at least one complete month of won revenue before {}, and the data begins in {data_start}",
                    Period::month_of(today)
                )));
        }
        let span = last12.len() as f64;
        let mut team_rev: HashMap<Option<i64>, f64> = HashMap::new();
        let mut team_cap: HashMap<Option<i64>, f64> = HashMap::new();
        for s in sellers {
            let rev: f64 = history
                .get(&s.name)
                .map(|v| last12.iter().map(|i| v[*i]).sum())
                .unwrap_or(0.0);
            *team_rev.entry(s.team).or_default() += rev;
            *team_cap.entry(s.team).or_default() += s.capacity;
        }
        let season = factor(period);
        for s in sellers {
            let cap = team_cap.get(&s.team).copied().unwrap_or(0.0);
            let per_unit_month = if cap > 0.0 {
                team_rev.get(&s.team).copied().unwrap_or(0.0) / cap / span
            } else {
                0.0
            };
            let v = (s.capacity * per_unit_month * n_months * season / 100.0).round() as i64 * 100;
            rep_values.push((
                v,
                format!(
                    "capacity {:.2} × team's {} per capacity-month × {} months × season {:.2}",
                    s.capacity,
                    crate::domain::Money(per_unit_month.round() as i64),
                    n_months,
                    season
                ),
            ));
        }
        format!(
                "each rep's capacity times their team's won revenue per unit of capacity over the last \
                 {span} months with data, for the {n_months} months of {period}, adjusted for the season"
            )
    })
}
