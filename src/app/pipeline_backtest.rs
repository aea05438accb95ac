//! `funnel pipeline --backtest`: does the pipeline simulation's P10–P90 hold on history?
//! At the start of each of the last 24 complete months the pipeline is rebuilt as it stood
//! that morning (deals created before and not yet closed, each in the stage the stage
//! history puts it in then), the simulation runs with what was known then (stage
//! probabilities, slips and times to win of the year before, the shared factor's σ from
//! the simulation's own misses in the six months before, as `funnel pipeline` measures it
//! ([`error_sigma`])), and the month's actual revenue from those deals is checked against
//! the simulated range.

use super::pipeline_forecast::{learned_before, monthly_outcomes, simulated, Learned};
use crate::analytics::montecarlo::{
    miss_term, sigma_from_misses, simulate, simulate_groups, with_odds_factor, Draws, OpenDeal,
    Window,
};
use crate::analytics::stats::pinball_loss;
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::deals::AsOfDeal;
use crate::domain::{Period, StageKind};
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Simulations per backtest month (fewer than the live forecast's: 48 simulations run).
pub const BACKTEST_RUNS: usize = 500;
/// Months backtested.
pub const BACKTEST_MONTHS: u32 = 24;
/// Deal-snapshots (6 to 18 months before) a month's win rates must rest on to count in
/// the summary; months with fewer are shown but said to have too little history.
pub const MIN_LEARNED: i64 = 200;

/// One backtested month.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BacktestMonth {
    pub month: String,
    /// Deals open on the month's first morning.
    pub open_deals: usize,
    /// Of them, deals the stage history does not place in an open stage then: simulated
    /// from the first open stage.
    pub stage_unknown: usize,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// Revenue won in the month from the deals open on its first morning.
    pub actual: f64,
    /// Revenue won in the month from deals created during it (no pipeline forecast can
    /// see those; not part of `actual`).
    pub new_in_month: f64,
    /// Mean pinball loss at P10, P50 and P90.
    pub pinball: f64,
    /// Deal-snapshots the month's win rates were learned from.
    pub learned_from: i64,
    /// The same with every deal drawn on its own (no shared factor) and slips unpooled.
    pub independent: (f64, f64, f64),
}

impl BacktestMonth {
    pub fn inside(&self) -> bool {
        self.actual >= self.p10 && self.actual <= self.p90
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub months: usize,
    /// Share of months whose actual fell inside P10–P90 (target 75–85%).
    pub inside: f64,
    pub below_p10: usize,
    pub above_p90: usize,
    /// Mean pinball loss (currency units), and divided by the mean actual.
    pub pinball: f64,
    pub pinball_relative: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipelineBacktest {
    pub runs: usize,
    pub months: Vec<BacktestMonth>,
    /// Months with no deal open on their first morning: nothing to simulate.
    pub skipped: Vec<String>,
    /// Months after the last recorded close (the data ends before them).
    pub after_data: Vec<String>,
    /// The simulation as `funnel pipeline` runs it, over the months with at least
    /// [`MIN_LEARNED`] deal-snapshots to learn win rates from.
    pub correlated: Option<Summary>,
    /// Deals independent, slips unpooled: what the ranges were before they were correlated.
    pub independent: Option<Summary>,
    /// Of the backtested deals that went on to close (one per month it was open in), the
    /// share whose recorded expected close is its close day: an export with one "close
    /// date" for both, where the backtest (keeping no history of expected closes) reads
    /// each winner's close day as known beforehand. None when none closed.
    pub expected_is_close: Option<f64>,
}

/// From this share of [`PipelineBacktest::expected_is_close`] on, the backtest says that
/// its figures flatter the method.
pub const EXPECTED_IS_CLOSE_WARNING: f64 = 0.9;

/// What one month's simulation needs, read from the store.
struct MonthInput {
    month: Period,
    deals: Vec<OpenDeal>,
    learned: Learned,
    stage_unknown: usize,
    actual: f64,
    won_total: f64,
    /// Deals open that morning that closed later, and of them those whose expected close
    /// is their close day.
    closed: (usize, usize),
}

/// Backtests the last [`BACKTEST_MONTHS`] complete months before `today`'s; kept per data
/// version, so that `funnel pipeline` can say how its ranges did (see [`kept`]).
pub fn backtest(store: &Store, today: NaiveDate) -> Result<PipelineBacktest, StoreError> {
    super::cache::cached(store, "pipeline_backtest", today, || compute(store, today))
}

/// The backtest of the data as it is now, if one was run since the last change (running
/// one at a million deals takes most of a minute, too long for every `funnel pipeline`).
pub fn kept(store: &Store, today: NaiveDate) -> Result<Option<PipelineBacktest>, StoreError> {
    super::cache::kept(store, "pipeline_backtest", today)
}

fn compute(store: &Store, today: NaiveDate) -> Result<PipelineBacktest, StoreError> {
    let stages = store.stages()?;
    let this = Period::month_of(today);
    let outcomes = monthly_outcomes(store, this, BACKTEST_MONTHS + 24 + ERROR_MONTHS)?;
    let mut reads = Reads::for_backtest();
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    let mut after_data = Vec::new();
    let last = store
        .last_close_day()?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    for back in (1..=BACKTEST_MONTHS).rev() {
        let month = this.back(back);
        // After the last recorded close (an export's end) nothing can be checked.
        if last.is_none_or(|l| l < month.start()) {
            after_data.push(month.to_string());
            continue;
        }
        // `outcomes` starts at this.back(1): the month's own is at back - 1 (its won value,
        // already read), the months before it from back on.
        let won_total = outcomes[back as usize - 1].2;
        let before = &outcomes[back as usize..];
        let mut learned = reads.learned(store, &stages, month.start(), before)?;
        if let Some((sigma, n)) = error_sigma(store, &stages, month, before, &mut reads)? {
            learned.sigma = sigma;
            learned.error_months = n;
        }
        reads.forget_before(month.back(ERROR_MONTHS).start());
        let rows = reads.pipeline(store, month.start())?;
        let input = month_input(&stages, (month, won_total), learned, rows);
        if input.deals.is_empty() && input.actual == 0.0 {
            skipped.push(month.to_string());
        } else {
            inputs.push(input);
        }
    }
    let (closed, same) = inputs
        .iter()
        .fold((0, 0), |a, m| (a.0 + m.closed.0, a.1 + m.closed.1));
    let expected_is_close = (closed > 0).then(|| same as f64 / closed as f64);
    let months = run_months(&inputs);
    let learned: Vec<BacktestMonth> = months
        .iter()
        .filter(|m| m.learned_from >= MIN_LEARNED)
        .cloned()
        .collect();
    Ok(PipelineBacktest {
        runs: BACKTEST_RUNS,
        correlated: summary(&learned, |m| (m.p10, m.p50, m.p90)),
        independent: summary(&learned, |m| m.independent),
        months,
        skipped,
        after_data,
        expected_is_close,
    })
}

fn month_input(
    stages: &[crate::store::Stage],
    (month, won_total): (Period, i64),
    learned: Learned,
    rows: &[AsOfDeal],
) -> MonthInput {
    let m = month_deals(stages, &learned, month, rows);
    MonthInput {
        month,
        deals: m.deals,
        learned,
        stage_unknown: m.stage_unknown,
        actual: m.actual as f64 / 100.0,
        won_total: won_total as f64 / 100.0,
        closed: m.closed,
    }
}

/// The deals open on a month's first morning as the simulation sees them with `learned`,
/// and what they won in the month.
struct MonthDeals {
    deals: Vec<OpenDeal>,
    stage_unknown: usize,
    /// Cents won in the month.
    actual: i64,
    closed: (usize, usize),
}

fn month_deals(
    stages: &[crate::store::Stage],
    learned: &Learned,
    month: Period,
    rows: &[AsOfDeal],
) -> MonthDeals {
    let start = month.start();
    let end = month.end_exclusive();
    let index: HashMap<i64, usize> = stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let first_open = stages.iter().position(|s| s.kind == StageKind::Open);
    let mut deals = Vec::new();
    let mut stage_unknown = 0;
    let mut actual = 0i64;
    let mut closed = (0, 0);
    for d in rows {
        if let Some(c) = d.closed_on.as_deref() {
            closed.0 += 1;
            closed.1 += usize::from(d.expected_close.as_deref() == Some(c));
        }
        let closed_in_month = d
            .closed_on
            .as_deref()
            .and_then(|c| NaiveDate::parse_from_str(c, "%Y-%m-%d").ok())
            .is_some_and(|c| c < end);
        if d.won && closed_in_month {
            actual += d.cents;
        }
        let then = d
            .stage_then
            .and_then(|s| index.get(&s).copied())
            .filter(|&i| stages[i].kind == StageKind::Open);
        let Some(i) = then.or_else(|| {
            stage_unknown += 1;
            first_open
        }) else {
            continue;
        };
        let expected = d
            .expected_close
            .as_deref()
            .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
            .map(|e| (e - start).num_days());
        if let Some((expected_close, stage, dated)) = simulated(expected, i, &learned.slips) {
            deals.push(OpenDeal {
                amount: d.cents as f64 / 100.0,
                probability: learned.win_probability(i, stages[i].probability, expected, d.cents),
                expected_close,
                stage,
                dated,
            });
        }
    }
    MonthDeals {
        deals,
        stage_unknown,
        actual,
        closed,
    }
}

/// Reads a backtest needs more than once (each month's σ is judged on the six before it,
/// with the model learned before the first of them): the model learned before a month
/// start, and the pipeline as it stood that morning.
#[derive(Default)]
pub(super) struct Reads {
    learned: HashMap<NaiveDate, Learned>,
    pipelines: HashMap<NaiveDate, Vec<AsOfDeal>>,
    /// Whether pipelines are kept once used (a backtest reads each seven times; a single
    /// forecast once, and then keeps memory small).
    keep_pipelines: bool,
}

impl Reads {
    fn for_backtest() -> Reads {
        Reads {
            keep_pipelines: true,
            ..Reads::default()
        }
    }

    /// [`learned_before`] `start` (a month start), from the months `before` it (newest
    /// first: the month before its own first).
    fn learned(
        &mut self,
        store: &Store,
        stages: &[crate::store::Stage],
        start: NaiveDate,
        before: &[(f64, f64, i64)],
    ) -> Result<Learned, StoreError> {
        if let Some(l) = self.learned.get(&start) {
            return Ok(l.clone());
        }
        let newest = Period::month_of(start).back(1);
        let l = learned_before(store, stages, start, (newest, before), 20_000)?;
        self.learned.insert(start, l.clone());
        Ok(l)
    }

    fn pipeline(&mut self, store: &Store, start: NaiveDate) -> Result<&[AsOfDeal], StoreError> {
        Ok(match self.pipelines.entry(start) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(store.pipeline_as_of(&iso(start))?)
            }
        })
    }

    /// Drops what was read for days before `day` (a backtest goes forward in time).
    fn forget_before(&mut self, day: NaiveDate) {
        self.learned.retain(|d, _| *d >= day);
        self.pipelines.retain(|d, _| *d >= day);
    }
}

/// Complete months of the simulation's own errors the shared factor's σ is measured on.
pub const ERROR_MONTHS: u32 = 6;
/// Simulations per error month, and per shift of it (the same draws as its first runs).
const ERROR_RUNS: usize = 200;
const SHIFT_RUNS: usize = 50;
/// The shift of the win log-odds (either way) by which an error month's revenue is found to
/// move with the shared factor.
const ERROR_SHIFT: f64 = 0.25;
/// Error months needed (with revenue won and a simulated range) for a σ from them.
const MIN_ERROR_MONTHS: usize = 4;

/// σ of the shared factor from the simulation's own errors, and the months it rests on:
/// the pipelines of the [`ERROR_MONTHS`] complete months before `month` are simulated
/// with what was learned before the first of them (so no month is judged by a model that
/// saw it), deals independent (σ 0), and each month's miss beyond its draws' own spread
/// is turned into a shift of the win log-odds ([`miss_term`], by simulating
/// ±[`ERROR_SHIFT`]); σ² is their mean ([`sigma_from_misses`]). Everything the simulation
/// missed therefore widens the range: good and bad months alike for every deal, and the
/// model's own misses (which deals land in the month), which win rates by month cannot
/// show. `None` with fewer than [`MIN_ERROR_MONTHS`] months with revenue won or with
/// fewer than [`MIN_LEARNED`] deal-snapshots to learn from: σ then comes from the months'
/// win rates ([`crate::analytics::montecarlo::shared_sigma`]). `before` holds the monthly
/// outcomes from the month before `month` back, newest first.
pub(super) fn error_sigma(
    store: &Store,
    stages: &[crate::store::Stage],
    month: Period,
    before: &[(f64, f64, i64)],
    reads: &mut Reads,
) -> Result<Option<(f64, usize)>, StoreError> {
    let k = ERROR_MONTHS as usize;
    if before.len() < k {
        return Ok(None);
    }
    let learned = reads.learned(
        store,
        stages,
        month.back(ERROR_MONTHS).start(),
        &before[k..],
    )?;
    if learned_from(&learned) < MIN_LEARNED {
        return Ok(None);
    }
    let mut months = Vec::new();
    for back in (1..=ERROR_MONTHS).rev() {
        let m = month.back(back);
        let d = month_deals(stages, &learned, m, reads.pipeline(store, m.start())?);
        if !reads.keep_pipelines {
            reads.pipelines.remove(&m.start());
        }
        months.push((m, d.deals, d.actual as f64 / 100.0));
    }
    let terms: Vec<f64> = on_all_cores(&months, |(m, deals, actual)| {
        error_term(deals, &learned, *m, *actual)
    })
    .into_iter()
    .flatten()
    .collect();
    if terms.len() < MIN_ERROR_MONTHS {
        return Ok(None);
    }
    Ok(Some((sigma_from_misses(&terms), terms.len())))
}

/// One error month's [`miss_term`] (see [`error_sigma`]).
fn error_term(deals: &[OpenDeal], learned: &Learned, month: Period, actual: f64) -> Option<f64> {
    if actual <= 0.0 || deals.is_empty() {
        return None;
    }
    let days = (month.end_exclusive() - month.start()).num_days();
    let draws = Draws {
        sigma: 0.0,
        ..learned.draws(month.start())
    };
    let seed = 20_261_203 + chrono::Datelike::num_days_from_ce(&month.start()) as u64;
    let at = |shift: f64, runs: usize| {
        let shifted: Vec<(OpenDeal, usize)> = deals
            .iter()
            .map(|d| {
                let p = with_odds_factor(d.probability, shift.exp());
                (
                    OpenDeal {
                        probability: p,
                        ..*d
                    },
                    0,
                )
            })
            .collect();
        simulate_groups(&shifted, 1, &learned.slips, (0, days), runs, seed, &draws)
            .into_iter()
            .map(|run| run[0])
            .collect::<Vec<f64>>()
    };
    miss_term(
        &at(0.0, ERROR_RUNS),
        &at(ERROR_SHIFT, SHIFT_RUNS),
        &at(-ERROR_SHIFT, SHIFT_RUNS),
        ERROR_SHIFT,
        actual,
    )
}

/// Deal-snapshots `learned`'s win rates rest on.
fn learned_from(learned: &Learned) -> i64 {
    learned
        .outcomes
        .iter()
        .flat_map(|b| b.iter().map(|x| x.1))
        .sum()
}

/// Simulates every month, correlated and independent, on all cores (pure work).
fn run_months(inputs: &[MonthInput]) -> Vec<BacktestMonth> {
    on_all_cores(inputs, run_month)
}

/// `f` of every item, in order, on all cores (at most 8 threads): for pure work.
fn on_all_cores<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = items.len().div_ceil(workers).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("backtest worker panicked"))
            .collect()
    })
}

fn run_month(m: &MonthInput) -> BacktestMonth {
    let days = (m.month.end_exclusive() - m.month.start()).num_days();
    let window = [Window {
        name: m.month.to_string(),
        start: 0,
        end: days,
        closed: 0.0,
    }];
    let seed = 20_261_122 + chrono::Datelike::num_days_from_ce(&m.month.start()) as u64;
    let slips = &m.learned.slips;
    let c = &simulate(
        &m.deals,
        slips,
        &window,
        BACKTEST_RUNS,
        seed,
        &m.learned.draws(m.month.start()),
    )[0];
    let i = &simulate(
        &m.deals,
        slips,
        &window,
        BACKTEST_RUNS,
        seed,
        &Draws {
            sigma: 0.0,
            pool_size: 0,
            ..m.learned.draws(m.month.start())
        },
    )[0];
    BacktestMonth {
        month: m.month.to_string(),
        open_deals: m.deals.len(),
        stage_unknown: m.stage_unknown,
        p10: c.p10,
        p50: c.p50,
        p90: c.p90,
        actual: m.actual,
        new_in_month: (m.won_total - m.actual).max(0.0),
        pinball: pinball_loss(m.actual, &[(0.1, c.p10), (0.5, c.p50), (0.9, c.p90)]),
        learned_from: learned_from(&m.learned),
        independent: (i.p10, i.p50, i.p90),
    }
}

fn summary(
    months: &[BacktestMonth],
    range: impl Fn(&BacktestMonth) -> (f64, f64, f64),
) -> Option<Summary> {
    if months.is_empty() {
        return None;
    }
    let n = months.len() as f64;
    let mut below = 0;
    let mut above = 0;
    let mut loss = 0.0;
    for m in months {
        let (p10, p50, p90) = range(m);
        if m.actual < p10 {
            below += 1;
        } else if m.actual > p90 {
            above += 1;
        }
        loss += pinball_loss(m.actual, &[(0.1, p10), (0.5, p50), (0.9, p90)]);
    }
    let mean_actual = months.iter().map(|m| m.actual).sum::<f64>() / n;
    Some(Summary {
        months: months.len(),
        inside: (months.len() - below - above) as f64 / n,
        below_p10: below,
        above_p90: above,
        pinball: loss / n,
        pinball_relative: if mean_actual > 0.0 {
            loss / n / mean_actual
        } else {
            0.0
        },
    })
}
