//! The pipeline as a forecast: weighted value by expected close month, forecast
//! categories per period, and a Monte Carlo simulation of what closes.

use crate::analytics::montecarlo::{
    simulate, size_effect, with_odds_factor, OpenDeal, SizeEffect, Window, WindowResult,
};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::{ForecastCategory, Money, Period, StageKind};
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CategoryRow {
    pub period: String,
    pub closed: Money,
    pub commit: Money,
    pub best_case: Money,
    pub pipeline: Money,
}

impl CategoryRow {
    /// Adds an open deal's value to its stage's category (closed and omitted stages hold
    /// no open pipeline).
    fn add(&mut self, category: ForecastCategory, cents: i64) {
        let slot = match category {
            ForecastCategory::Commit => &mut self.commit,
            ForecastCategory::BestCase => &mut self.best_case,
            ForecastCategory::Pipeline => &mut self.pipeline,
            ForecastCategory::Closed | ForecastCategory::Omitted => return,
        };
        *slot = Money(slot.cents() + cents);
    }

    /// Closed, closed + commit, + best case, + pipeline.
    pub fn cumulative(&self) -> [Money; 4] {
        let c = self.closed.cents();
        let cc = c + self.commit.cents();
        let cb = cc + self.best_case.cents();
        [
            Money(c),
            Money(cc),
            Money(cb),
            Money(cb + self.pipeline.cents()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipelineForecast {
    /// Open value times stage probability, by month of expected close (overdue deals in
    /// the current month), for this month and the next five.
    pub weighted_by_month: Vec<(String, Money)>,
    pub categories: Vec<CategoryRow>,
    pub simulation: Vec<WindowResult>,
    pub runs: usize,
    /// Whether the simulation used learned win probabilities (after `funnel score`).
    pub learned_probabilities: bool,
    /// Open deals nobody has given a close date: in no month and no category.
    pub unknown_close: UnknownClose,
    /// Open stages holding deals with a close date but no won deals in the last year to
    /// learn slips from: those dates are simulated as given.
    pub no_slip_history: Vec<String>,
    /// σ of the shared per-run shift of the win log-odds.
    #[serde(default)]
    pub shared_sigma: f64,
    /// The months of the simulation's own errors σ was measured on; 0 when it was learned
    /// from the last 24 months' win rates.
    #[serde(default)]
    pub sigma_error_months: usize,
    /// The share of wins due in a quarter's first days that the simulation closes in the
    /// quarter before, as the last year's wins did (0: no such pull seen).
    #[serde(default)]
    pub quarter_pull: f64,
    /// The win probability the simulation gives unscored deals in each open stage.
    #[serde(default)]
    pub stage_win_rates: Vec<StageWinRate>,
    /// What each prior of the unscored deals' win rates was found to be worth.
    #[serde(default)]
    pub prior_weights: Shrink,
    /// How size moves an unscored deal's win odds: the factor on the odds per tenfold
    /// amount, and the typical deal's amount it is centred on.
    #[serde(default)]
    pub size_odds_per_tenfold: f64,
    #[serde(default)]
    pub size_typical: Money,
}

/// An open stage's configured probability beside the win rate learned from the deals
/// open in it at past month starts (6 to 18 months ago): the simulation's starting point
/// for unscored deals, before their timing (see [`Learned::win_probability`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageWinRate {
    pub stage: String,
    pub configured: f64,
    /// Deal-snapshots learned from and how many of them won.
    pub deals: i64,
    pub won: i64,
    pub learned: f64,
}

/// Open deals without an expected close date. They are not overdue and belong to no
/// month's weighted pipeline or category; the simulation draws their close from the time
/// won deals took from their stage to the win (when there is history for it).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnknownClose {
    pub deals: usize,
    pub value: Money,
    pub weighted: Money,
    /// Their open value by forecast category (the `closed` column stays 0).
    pub categories: CategoryRow,
    /// Deals in stages with no won deals to learn a time to close from: left out of the
    /// simulation ("not enough history").
    pub not_simulated: usize,
}

/// Simulations per forecast: enough for stable P10/P90 (their run-to-run spread is well
/// under 1% on the demo), cheap at 50k open deals.
pub const RUNS: usize = 1000;

/// Pseudo-deals a prior is worth when nothing was learned to judge it by (see [`Shrink`]):
/// a stage with 20 deal-snapshots is then half learned, half configured.
pub const RATE_SHRINK: f64 = 20.0;

/// Pseudo-deals each prior of [`Learned::win_probability`] is worth, each judged by
/// empirical Bayes ([`crate::analytics::stats::prior_strength`]) on how far the learned
/// rates stray from their priors: a stage's rate from its configured probability (a
/// vendor's default probabilities on stages whose deals never win earn little weight), a
/// timing's rate from the overall rate, a stage × timing cell's from its prior.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shrink {
    pub stage: f64,
    pub timing: f64,
    pub cell: f64,
}

impl Default for Shrink {
    fn default() -> Self {
        Shrink {
            stage: RATE_SHRINK,
            timing: RATE_SHRINK,
            cell: RATE_SHRINK,
        }
    }
}
/// Days at a quarter's start from which wins may be pulled into the quarter before.
pub use crate::analytics::montecarlo::PULL_DAYS;
/// The snapshots win rates are learned from: the pipeline at every second month start between
/// this many days before the simulated day and [`SNAPSHOTS_TO`] days before (old enough
/// for most of those deals to have closed; deals still open count as not won).
pub const SNAPSHOTS_FROM: i64 = 540;
pub const SNAPSHOTS_TO: i64 = 180;

/// Where a deal's expected close stands, for its learned win rate: no date, more than 60
/// days overdue, 1–60 days overdue, due within 30 days, in 31–90 days, later.
pub const TIMING: [&str; 6] = [
    "no date",
    "over 60 days overdue",
    "1-60 days overdue",
    "due in 0-30 days",
    "due in 31-90 days",
    "due later",
];

/// The [`TIMING`] bucket of a deal whose expected close is `ahead` days away.
pub fn timing(ahead: Option<i64>) -> usize {
    match ahead {
        None => 0,
        Some(d) if d < -60 => 1,
        Some(d) if d < 0 => 2,
        Some(d) if d <= 30 => 3,
        Some(d) if d <= 90 => 4,
        Some(_) => 5,
    }
}

/// What the simulation learns from the year (and the 24 months) before a day.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Learned {
    /// Indices 0..n (n stages): days from expected to actual close of won deals that had
    /// been in the stage; n..2n: days from entering the stage to the win, for deals
    /// without an expected close (see [`simulated`]).
    pub slips: Vec<Vec<f64>>,
    /// σ of the shared per-run shift of the win log-odds.
    pub sigma: f64,
    /// The months of the simulation's own errors σ was measured on
    /// ([`super::pipeline_backtest::error_sigma`]); 0 when it comes from the months' win
    /// rates instead.
    #[serde(default)]
    pub error_months: usize,
    /// Per stage and [`TIMING`] bucket: of the deals open in the stage at the month starts
    /// 6 to 18 months before, (won since, deals).
    pub outcomes: Vec<[(i64, i64); 6]>,
    /// The share of wins due in a quarter's first days that closed in the quarter before
    /// ([`crate::analytics::montecarlo::quarter_pull`], from the year's wins).
    pub pull: f64,
    /// What each prior of the win rates is worth.
    pub shrink: Shrink,
    /// How a deal's size moves its win odds.
    pub size: SizeEffect,
}

impl Learned {
    /// How the simulation from `today` draws: the shared factor, slips pooled across the
    /// stages, and the quarter-end pull around today.
    pub fn draws(&self, today: NaiveDate) -> crate::analytics::montecarlo::Draws {
        let mut starts = [i64::MIN; 6];
        let mut q = Period::quarter_of(today);
        for s in &mut starts {
            *s = (q.start() - today).num_days();
            q = q.next();
        }
        crate::analytics::montecarlo::Draws {
            sigma: self.sigma,
            pool_size: self.outcomes.len(),
            shrink: crate::analytics::montecarlo::SHRINK,
            pull: crate::analytics::montecarlo::QuarterPull {
                share: self.pull,
                starts,
            },
        }
    }

    /// The win probability the simulation gives an unscored deal of `cents` in stage `i`
    /// whose expected close is `ahead` days away: the share of deals open in the stage at
    /// past month starts that went on to win (shrunk toward the configured stage
    /// probability), then the share of those with the same timing, shrunk toward the
    /// stage's rate times how the timing does in every stage ([`Learned::timing_ratio`]);
    /// each prior worth what [`Shrink`] found; then its odds moved by its size
    /// ([`SizeEffect`]). A deal long overdue in an export nobody updates is not
    /// a deal about to close at its stage's odds, even in a stage with few such deals; a
    /// deal ten times the usual size does not win as often as the usual one.
    pub fn win_probability(
        &self,
        i: usize,
        configured: f64,
        ahead: Option<i64>,
        cents: i64,
    ) -> f64 {
        let p = self.cell_rate(i, configured, timing(ahead));
        with_odds_factor(p, self.size.factor(cents))
    }

    /// Stage `i`'s [`TIMING`] `bucket` rate, before the deal's size.
    pub fn cell_rate(&self, i: usize, configured: f64, bucket: usize) -> f64 {
        let prior = self.cell_prior(i, configured, bucket);
        let (won, n) = self.outcomes.get(i).map(|b| b[bucket]).unwrap_or((0, 0));
        let m = self.shrink.cell;
        (won as f64 + m * prior) / (n as f64 + m)
    }

    /// The prior of stage `i`'s [`TIMING`] `bucket`: the stage's rate with its odds moved
    /// by the timing's ratio.
    pub fn cell_prior(&self, i: usize, configured: f64, bucket: usize) -> f64 {
        let stage = self.stage_rate(i, configured).clamp(1e-6, 1.0 - 1e-6);
        let odds = stage / (1.0 - stage) * self.timing_ratio(bucket);
        odds / (1.0 + odds)
    }

    /// How a [`TIMING`] bucket's deals win relative to all deals, pooled over the stages:
    /// the odds of its win rate (shrunk toward the overall rate by [`Shrink::timing`]
    /// pseudo-deals) over the overall odds; 1 with nothing (or only wins) learned.
    pub fn timing_ratio(&self, bucket: usize) -> f64 {
        let add = |a: (i64, i64), x: &(i64, i64)| (a.0 + x.0, a.1 + x.1);
        let (won, n) = self.outcomes.iter().flatten().fold((0, 0), add);
        if won == 0 || won == n {
            return 1.0;
        }
        let overall = won as f64 / n as f64;
        let (bw, bn) = self
            .outcomes
            .iter()
            .map(|b| b[bucket])
            .fold((0, 0), |a, x| add(a, &x));
        let m = self.shrink.timing;
        let rate = (bw as f64 + m * overall) / (bn as f64 + m);
        rate / (1.0 - rate) / (overall / (1.0 - overall))
    }

    /// Stage `i`'s learned win rate over every timing, shrunk toward `configured`.
    pub fn stage_rate(&self, i: usize, configured: f64) -> f64 {
        let (won, n) = self
            .outcomes
            .get(i)
            .map(|b| b.iter().fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1)))
            .unwrap_or((0, 0));
        let m = self.shrink.stage;
        (won as f64 + m * configured) / (n as f64 + m)
    }

    /// [`Shrink`] judged on the outcomes learned, for stages configured at `configured`:
    /// first the stage and timing priors, then the cells' (whose priors they make).
    pub fn judge_shrink(&mut self, configured: &[f64]) {
        use crate::analytics::stats::prior_strength;
        let sum = |b: &[(i64, i64)]| b.iter().fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
        let stages: Vec<(f64, f64, f64)> = self
            .outcomes
            .iter()
            .zip(configured)
            .map(|(b, &c)| {
                let (won, n) = sum(b);
                (won as f64, n as f64, c)
            })
            .collect();
        let all: Vec<(i64, i64)> = self.outcomes.iter().flatten().copied().collect();
        let (won, n) = sum(&all);
        let overall = if n > 0 { won as f64 / n as f64 } else { 0.5 };
        let timings: Vec<(f64, f64, f64)> = (0..TIMING.len())
            .map(|t| {
                let col: Vec<(i64, i64)> = self.outcomes.iter().map(|b| b[t]).collect();
                let (w, n) = sum(&col);
                (w as f64, n as f64, overall)
            })
            .collect();
        self.shrink.stage = prior_strength(&stages, RATE_SHRINK);
        self.shrink.timing = prior_strength(&timings, RATE_SHRINK);
        let mut cells = Vec::new();
        for (i, (b, &c)) in self.outcomes.iter().zip(configured).enumerate() {
            for (t, &(w, n)) in b.iter().enumerate() {
                cells.push((w as f64, n as f64, self.cell_prior(i, c, t)));
            }
        }
        self.shrink.cell = prior_strength(&cells, RATE_SHRINK);
    }
}

/// [`Learned`] as of today (today's closes included), kept for the day and data version:
/// the pipeline forecast and the projections of every target read it once. The newest
/// 20,000 slips per kind. σ is the simulation's own misses in the last six complete months
/// ([`super::pipeline_backtest::error_sigma`]) where they can be judged, else from the
/// months' win rates. Judging the six months (learning as of six months ago, six pipelines
/// read and simulated) is kept for the month and the closed history: at 1M deals it adds
/// about 3–4 s to the first forecast of a month, not to the one after an edit.
pub(super) fn learned(
    store: &Store,
    stages: &[crate::store::Stage],
    today: NaiveDate,
) -> Result<Learned, StoreError> {
    let limit = 20_000;
    super::cache::cached(store, "pipeline_learned", today, || {
        let this = Period::month_of(today);
        let errors = super::pipeline_backtest::ERROR_MONTHS;
        let months = monthly_outcomes(store, this, 24 + errors)?;
        let mut learned = learned_before(
            store,
            stages,
            today + chrono::Duration::days(1),
            (this.back(1), &months),
            limit,
        )?;
        // Kept for the month and the closed history it is judged on (the months' outcomes
        // and the stages): an edit to today's open deals does not measure it again.
        let mut key = std::hash::DefaultHasher::new();
        for m in &months {
            (m.0.to_bits(), m.1.to_bits(), m.2).hash(&mut key);
        }
        for s in stages {
            (s.id, s.probability.to_bits(), s.kind.as_str()).hash(&mut key);
        }
        let key = format!("{this}/{:016x}", key.finish());
        let judged = super::cache::cached_by_key(store, "pipeline_error_sigma", &key, || {
            let mut reads = super::pipeline_backtest::Reads::default();
            super::pipeline_backtest::error_sigma(store, stages, this, &months, &mut reads)
        })?;
        if let Some((sigma, n)) = judged {
            learned.sigma = sigma;
            learned.error_months = n;
        }
        Ok(learned)
    })
}

/// [`Learned`] from the deals closed in the 366 days before `until` (exclusive) and the
/// 24 `months` of (won, lost, won cents) before it, newest first, the newest being the
/// month `newest`.
pub(super) fn learned_before(
    store: &Store,
    stages: &[crate::store::Stage],
    until: NaiveDate,
    (newest, months): (Period, &[(f64, f64, i64)]),
    limit: usize,
) -> Result<Learned, StoreError> {
    let until_day = until;
    let since = iso(until - chrono::Duration::days(366));
    let until = iso(until);
    let by_stage = store.close_slips_between(&since, &until, limit)?;
    let to_win = store.time_to_win_between(&since, &until, limit)?;
    let mut days = Vec::new();
    let mut m = Period::month_of(until_day - chrono::Duration::days(SNAPSHOTS_FROM));
    // Every second month start: six snapshots, half the reading of twelve (1.2 s at 1M
    // deals) for win rates that barely move between neighbouring months.
    while m.start() < until_day - chrono::Duration::days(SNAPSHOTS_TO) {
        if m.start() >= until_day - chrono::Duration::days(SNAPSHOTS_FROM) {
            days.push(iso(m.start()));
        }
        m = m.next().next();
    }
    let index: HashMap<i64, usize> = stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut rates = vec![[(0i64, 0i64); 6]; stages.len()];
    // (stage, timing, size, deals, won) of the groups with a known stage and size.
    let mut sized = Vec::new();
    for g in store.snapshot_outcomes(&days, &until)? {
        if let Some(&i) = g.stage.and_then(|s| index.get(&s)) {
            let t = timing(g.days_to_close);
            let b = &mut rates[i][t];
            b.0 += g.won;
            b.1 += g.deals;
            if let Some(size) = g.size {
                sized.push((i, t, size, g.deals, g.won));
            }
        }
    }
    // Wins on the first days of each of the 12 months before, quarter starts apart. Days
    // on which nothing closed at all (before an export's history starts or after it ends)
    // say nothing about a pull and are left out.
    let (mut starts, mut others) = ((0.0, 0.0), (0.0, 0.0));
    let mut m = Period::month_of(until_day).back(12);
    for _ in 0..12 {
        let from = m.start();
        let to = from + chrono::Duration::days(i64::from(crate::analytics::montecarlo::PULL_DAYS));
        let closed = store.closed_between(&iso(from), &iso(to))?;
        m = m.next();
        if closed.values().all(|c| c.0 == 0) {
            continue;
        }
        let g = if chrono::Datelike::month0(&from).is_multiple_of(3) {
            &mut starts
        } else {
            &mut others
        };
        g.0 += closed.get("won").map_or(0, |w| w.0) as f64;
        g.1 += f64::from(crate::analytics::montecarlo::PULL_DAYS);
    }
    let pull = crate::analytics::montecarlo::quarter_pull(starts, others);
    // With a pull, σ is measured within each place in the quarter (see `shared_sigma`).
    let counts: Vec<(f64, f64, u8)> = months
        .iter()
        .take(24)
        .enumerate()
        .map(|(j, m)| {
            let month0 = chrono::Datelike::month0(&newest.back(j as u32).start());
            (m.0, m.1, if pull > 0.0 { (month0 % 3) as u8 } else { 0 })
        })
        .collect();
    let mut learned = Learned {
        slips: stages
            .iter()
            .map(|s| by_stage.get(&s.id).cloned().unwrap_or_default())
            .chain(
                stages
                    .iter()
                    .map(|s| to_win.get(&s.id).cloned().unwrap_or_default()),
            )
            .collect(),
        sigma: crate::analytics::montecarlo::shared_sigma(&counts),
        error_months: 0,
        outcomes: rates,
        pull,
        shrink: Shrink::default(),
        size: SizeEffect::default(),
    };
    let configured: Vec<f64> = stages.iter().map(|s| s.probability).collect();
    learned.judge_shrink(&configured);
    let groups: Vec<(i64, i64, i64, f64)> = sized
        .iter()
        .map(|&(i, t, size, deals, won)| (size, deals, won, learned.cell_rate(i, configured[i], t)))
        .collect();
    learned.size = size_effect(&groups);
    Ok(learned)
}

/// (won, lost, won value in cents) of each of the `n` complete months before `this`,
/// newest first.
pub(super) fn monthly_outcomes(
    store: &Store,
    this: Period,
    n: u32,
) -> Result<Vec<(f64, f64, i64)>, StoreError> {
    let mut months = Vec::new();
    for back in 1..=n {
        let p = this.back(back);
        let c = store.closed_between(&iso(p.start()), &iso(p.end_exclusive()))?;
        let count = |k: &str| c.get(k).map(|x| x.0 as f64).unwrap_or(0.0);
        let won = c.get("won").map(|x| x.1).unwrap_or(0);
        months.push((count("won"), count("lost"), won));
    }
    Ok(months)
}

/// Where an open deal in stage `i` enters the simulation, given `slips` from
/// [`stage_slips`]: on its expected close day (moved by its stage's slips), or without one
/// today plus a time to win drawn from its stage's history — `None` when there is no such
/// history ("not enough history").
pub(super) fn simulated(
    expected_day: Option<i64>,
    i: usize,
    slips: &[Vec<f64>],
) -> Option<(i64, usize, bool)> {
    match expected_day {
        Some(day) => Some((day, i, true)),
        None => {
            let unknown = slips.len() / 2 + i;
            slips
                .get(unknown)
                .is_some_and(|s| !s.is_empty())
                .then_some((0, unknown, false))
        }
    }
}

pub fn load(store: &Store, today: NaiveDate) -> Result<PipelineForecast, StoreError> {
    let stages = store.stages()?;
    let by_id: HashMap<i64, &crate::store::Stage> = stages.iter().map(|s| (s.id, s)).collect();
    let open = store.open_deals()?;
    let month = Period::month_of(today);
    let quarter = Period::quarter_of(today);
    let periods = [month, month.next(), quarter, quarter.next()];
    let day = |d: NaiveDate| (d - today).num_days();
    // The expected close as given (the simulation conditions on it); for months and
    // categories an overdue deal is expected now. No date: not expected at all.
    let given = |e: &Option<String>| -> Option<NaiveDate> {
        e.as_deref()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    let history = learned(store, &stages, today)?;
    let slips = &history.slips;
    let mut unknown = UnknownClose {
        categories: CategoryRow {
            period: "close date unknown".into(),
            ..Default::default()
        },
        ..Default::default()
    };

    let mut months = vec![month];
    for _ in 0..5 {
        let next = months.last().expect("non-empty").next();
        months.push(next);
    }
    let mut weighted = vec![0i64; months.len()];
    let mut categories: Vec<CategoryRow> = periods
        .iter()
        .map(|p| {
            let closed = store
                .closed_between(&iso(p.start()), &iso(p.end_exclusive()))
                .map(|c| c.get("won").map(|x| x.1).unwrap_or(0))
                .unwrap_or(0);
            CategoryRow {
                period: p.to_string(),
                closed: Money(closed),
                commit: Money(0),
                best_case: Money(0),
                pipeline: Money(0),
            }
        })
        .collect();
    let stage_index: HashMap<i64, usize> =
        stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let mut deals = Vec::with_capacity(open.len());
    let learned = open.iter().any(|d| d.3.is_some());
    for (cents, stage_id, exp, score, _) in &open {
        let Some(stage) = by_id.get(stage_id) else {
            continue;
        };
        if stage.kind != StageKind::Open {
            continue;
        }
        let stage_probability = stage.probability;
        let Some(given) = given(exp) else {
            unknown.deals += 1;
            unknown.value = Money(unknown.value.cents() + cents);
            unknown.weighted = Money(
                unknown.weighted.cents() + (*cents as f64 * stage.probability).round() as i64,
            );
            unknown.categories.add(stage.category, *cents);
            let i = stage_index[stage_id];
            match simulated(None, i, slips) {
                Some((expected_close, stage, dated)) => deals.push(OpenDeal {
                    amount: *cents as f64 / 100.0,
                    probability: score.unwrap_or(history.win_probability(
                        i,
                        stage_probability,
                        None,
                        *cents,
                    )),
                    expected_close,
                    stage,
                    dated,
                }),
                None => unknown.not_simulated += 1,
            }
            continue;
        };
        let when = given.max(today);
        if let Some(i) = months.iter().position(|m| m.contains(when)) {
            weighted[i] += (*cents as f64 * stage.probability).round() as i64;
        }
        for (p, row) in periods.iter().zip(categories.iter_mut()) {
            if p.contains(when) {
                row.add(stage.category, *cents);
            }
        }
        let i = stage_index[stage_id];
        let ahead = day(given);
        deals.push(OpenDeal {
            amount: *cents as f64 / 100.0,
            // The learned probability when the deal has been scored, else its stage's
            // learned win rate.
            probability: score.unwrap_or(history.win_probability(
                i,
                stage_probability,
                Some(ahead),
                *cents,
            )),
            // As given (negative when overdue): simulated given that it is open today.
            expected_close: ahead,
            stage: i,
            dated: true,
        });
    }
    let mut no_slip_history: Vec<String> = Vec::new();
    for d in deals.iter().filter(|d| d.stage < stages.len()) {
        let name = &stages[d.stage].name;
        if slips[d.stage].is_empty() && !no_slip_history.contains(name) {
            no_slip_history.push(name.clone());
        }
    }
    let windows: Vec<Window> = periods
        .iter()
        .zip(&categories)
        .map(|(p, c)| Window {
            name: p.to_string(),
            start: day(p.start()).max(0),
            end: day(p.end_exclusive()),
            closed: c.closed.units(),
        })
        .collect();
    let how = history.draws(today);
    let simulation = simulate(&deals, slips, &windows, RUNS, 20_261_122, &how);
    Ok(PipelineForecast {
        weighted_by_month: months
            .iter()
            .map(|m| m.to_string())
            .zip(weighted.into_iter().map(Money))
            .collect(),
        categories,
        simulation,
        runs: RUNS,
        learned_probabilities: learned,
        unknown_close: unknown,
        no_slip_history,
        shared_sigma: how.sigma,
        sigma_error_months: history.error_months,
        quarter_pull: how.pull.share,
        stage_win_rates: stages
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == StageKind::Open)
            .map(|(i, s)| StageWinRate {
                stage: s.name.clone(),
                configured: s.probability,
                deals: history
                    .outcomes
                    .get(i)
                    .map_or(0, |o| o.iter().map(|b| b.1).sum()),
                won: history
                    .outcomes
                    .get(i)
                    .map_or(0, |o| o.iter().map(|b| b.0).sum()),
                learned: history.stage_rate(i, s.probability),
            })
            .collect(),
        prior_weights: history.shrink,
        size_odds_per_tenfold: history.size.slope.exp(),
        size_typical: Money(if history.size.slope == 0.0 {
            0
        } else {
            crate::domain::deals::size_bucket_floor(history.size.centre.round() as i64)
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_buckets_split_overdue_due_soon_and_later() {
        assert_eq!(timing(None), 0);
        assert_eq!(timing(Some(-61)), 1);
        assert_eq!(timing(Some(-60)), 2);
        assert_eq!(timing(Some(-1)), 2);
        assert_eq!(timing(Some(0)), 3);
        assert_eq!(timing(Some(30)), 3);
        assert_eq!(timing(Some(31)), 4);
        assert_eq!(timing(Some(91)), 5);
    }

    /// Known answers: a stage of 80 snapshots, 40 won, configured at 0.2, learns
    /// (40 + 20·0.2) / (80 + 20) = 0.44 (odds 11/14). Over every stage half the deals won
    /// (odds 1). Its 20 deals more than 60 days overdue, none won, pool to
    /// (0 + 20·0.5) / (20 + 20) = 0.25 (odds 1/3), so their prior is odds 11/14 · 1/3 =
    /// 11/42, p = 11/53, and they learn (0 + 20·11/53) / (20 + 20) = 11/106; its 60 due
    /// soon, 40 won, pool to 50/80 (odds 5/3): prior odds 55/42, p = 55/97, learned
    /// (40 + 20·55/97) / 80. A bucket never seen pools to the overall rate (ratio 1) and
    /// takes the stage's rate; a stage never seen, its configured probability moved by
    /// the timing's odds (0.7: odds 7/3 · 5/3 = 35/9, p = 35/44).
    #[test]
    fn win_rates_are_learned_by_stage_and_timing_and_shrunk_where_few() {
        let mut b = [(0i64, 0i64); 6];
        b[1] = (0, 20);
        b[3] = (40, 60);
        let l = Learned {
            slips: vec![vec![], vec![]],
            sigma: 0.0,
            error_months: 0,
            outcomes: vec![b],
            pull: 0.0,
            shrink: Shrink::default(),
            size: SizeEffect::default(),
        };
        assert!((l.stage_rate(0, 0.2) - 0.44).abs() < 1e-12);
        assert!((l.timing_ratio(1) - 1.0 / 3.0).abs() < 1e-12);
        assert!((l.timing_ratio(5) - 1.0).abs() < 1e-12);
        assert!((l.win_probability(0, 0.2, Some(-90), 1000) - 11.0 / 106.0).abs() < 1e-12);
        assert!((l.win_probability(0, 0.2, Some(200), 1000) - 0.44).abs() < 1e-12);
        let due_soon = (40.0 + 20.0 * 55.0 / 97.0) / 80.0;
        assert!((l.win_probability(0, 0.2, Some(10), 1000) - due_soon).abs() < 1e-12);
        assert!((l.win_probability(3, 0.7, Some(10), 1000) - 35.0 / 44.0).abs() < 1e-12);
        // Nothing learned at all: the configured probability, whatever the timing.
        let none = Learned {
            slips: vec![vec![], vec![]],
            sigma: 0.0,
            error_months: 0,
            outcomes: vec![[(0, 0); 6]],
            pull: 0.0,
            shrink: Shrink::default(),
            size: SizeEffect::default(),
        };
        assert!((none.win_probability(0, 0.3, Some(-90), 1000) - 0.3).abs() < 1e-12);
    }

    /// Two stages learned from 300 snapshots each. Configured at 0.2 and 0.9, they won 60
    /// and 0: the configured probabilities are contradicted, weigh the least the range
    /// allows, and the 0.9 stage's rate is 0.9/301. Configured at 0.2 and 0.3 for the same
    /// outcomes, they are borne out and weigh the most.
    #[test]
    fn configured_probabilities_weigh_what_the_data_shows_them_worth() {
        let (lo, hi) = crate::analytics::stats::PRIOR_STRENGTH_RANGE;
        let mut a = [(0i64, 0i64); 6];
        a[3] = (60, 300);
        let mut b = [(0i64, 0i64); 6];
        b[3] = (90, 300);
        let mut l = Learned {
            slips: vec![vec![]; 4],
            sigma: 0.0,
            error_months: 0,
            outcomes: vec![a, [(0, 0), (0, 0), (0, 0), (0, 300), (0, 0), (0, 0)]],
            pull: 0.0,
            shrink: Shrink::default(),
            size: SizeEffect::default(),
        };
        l.judge_shrink(&[0.2, 0.9]);
        assert_eq!(l.shrink.stage, lo);
        assert!((l.stage_rate(1, 0.9) - 0.9 / 301.0).abs() < 1e-12);
        assert!(l.win_probability(1, 0.9, Some(10), 1000) < 0.01);
        l.outcomes[1] = b;
        l.judge_shrink(&[0.2, 0.3]);
        assert_eq!(l.shrink.stage, hi);
    }
}
