//! `funnel pipeline --backtest`: does the pipeline simulation's P10–P90 hold on history?
//! At the start of each of the last 24 complete months the pipeline is rebuilt as it stood
//! that morning (deals created before and not yet closed, each in the stage the stage
//! history puts it in then), the simulation runs with what was known then (stage
//! probabilities, slips and times to win of the year before, the shared factor's σ from
//! the 24 months before), and the month's actual revenue from those deals is checked
//! against the simulated range.

use super::pipeline_forecast::{learned_before, monthly_outcomes, simulated};
use crate::analytics::montecarlo::{simulate, Draws, OpenDeal, Window};
use crate::analytics::stats::pinball_loss;
use crate::app::Db as Store;
use crate::domain::date::iso;
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
    learned: super::pipeline_forecast::Learned,
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
    let outcomes = monthly_outcomes(store, this, BACKTEST_MONTHS + 24)?;
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
        // already read), the 24 before it from back on.
        let won_total = outcomes[back as usize - 1].2;
        let before = &outcomes[back as usize..];
        let input = month_input(store, &stages, (month, won_total), before)?;
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
    store: &Store,
    stages: &[crate::store::Stage],
    (month, won_total): (Period, i64),
    before: &[(f64, f64, i64)],
) -> Result<MonthInput, StoreError> {
    let start = month.start();
    let end = month.end_exclusive();
    let index: HashMap<i64, usize> = stages.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let first_open = stages.iter().position(|s| s.kind == StageKind::Open);
    let learned = learned_before(store, stages, start, before, 20_000)?;
    let mut deals = Vec::new();
    let mut stage_unknown = 0;
    let mut actual = 0i64;
    let mut closed = (0, 0);
    for d in store.pipeline_as_of(&iso(start))? {
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
    Ok(MonthInput {
        month,
        deals,
        learned,
        stage_unknown,
        actual: actual as f64 / 100.0,
        won_total: won_total as f64 / 100.0,
        closed,
    })
}

/// Simulates every month, correlated and independent, on all cores (pure work).
fn run_months(inputs: &[MonthInput]) -> Vec<BacktestMonth> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = inputs.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(run_month).collect::<Vec<_>>()))
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
        learned_from: m
            .learned
            .outcomes
            .iter()
            .flat_map(|b| b.iter().map(|x| x.1))
            .sum(),
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
