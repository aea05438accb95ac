//! The pipeline as a forecast: weighted value by expected close month, forecast
//! categories per period, and a Monte Carlo simulation of what closes.

use crate::analytics::montecarlo::{simulate, OpenDeal, Window, WindowResult};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::{ForecastCategory, Money, Period, StageKind};
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

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
    /// σ of the shared per-run shift of the win log-odds (learned from 24 months).
    #[serde(default)]
    pub shared_sigma: f64,
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

/// Close-date slips (days) of deals won over the last year, the newest `limit`, indexed
/// like `stages`: what the simulations draw a winning deal's slip from.
pub(super) fn stage_slips(
    store: &Store,
    stages: &[crate::store::Stage],
    today: NaiveDate,
    limit: usize,
) -> Result<Vec<Vec<f64>>, StoreError> {
    let by_stage = store.close_slips_since(&iso(today - chrono::Duration::days(365)), limit)?;
    let to_win = store.time_to_win_since(&iso(today - chrono::Duration::days(365)), limit)?;
    // Indices 0..n: slips past the expected close; n..2n: days from entering the stage to
    // the win, for deals without an expected close (see `unknown_stage`).
    Ok(stages
        .iter()
        .map(|s| by_stage.get(&s.id).cloned().unwrap_or_default())
        .chain(
            stages
                .iter()
                .map(|s| to_win.get(&s.id).cloned().unwrap_or_default()),
        )
        .collect())
}

/// How the simulation's draws hang together, learned from history: the shared factor's σ
/// from the last 24 complete months' won and lost counts (what binomial chance does not
/// explain), the slips pooled per kind (slips past the expected close; times to win) with
/// `SHRINK` pseudo-examples. `stages`: how many lists of each kind `stage_slips` made.
pub(super) fn draws(
    store: &Store,
    stages: usize,
    today: NaiveDate,
) -> Result<crate::analytics::montecarlo::Draws, StoreError> {
    let mut months = Vec::new();
    let this = crate::domain::Period::month_of(today);
    for back in 1..=24 {
        let p = this.back(back);
        let c = store.closed_between(&iso(p.start()), &iso(p.end_exclusive()))?;
        let count = |k: &str| c.get(k).map(|x| x.0 as f64).unwrap_or(0.0);
        months.push((count("won"), count("lost")));
    }
    Ok(crate::analytics::montecarlo::Draws {
        sigma: crate::analytics::montecarlo::shared_sigma(&months),
        pool_size: stages,
        shrink: crate::analytics::montecarlo::SHRINK,
    })
}

/// Where an open deal in stage `i` enters the simulation, given `slips` from
/// [`stage_slips`]: on its expected close day (moved by its stage's slips), or without one
/// today plus a time to win drawn from its stage's history — `None` when there is no such
/// history ("not enough history").
pub(super) fn simulated(
    expected_day: Option<i64>,
    i: usize,
    slips: &[Vec<f64>],
) -> Option<(i64, usize)> {
    match expected_day {
        Some(day) => Some((day, i)),
        None => {
            let unknown = slips.len() / 2 + i;
            slips
                .get(unknown)
                .is_some_and(|s| !s.is_empty())
                .then_some((0, unknown))
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
    // An overdue deal is expected now; a deal without a date is not expected at all.
    let expected = |e: &Option<String>| -> Option<NaiveDate> {
        e.as_deref()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .map(|d| d.max(today))
    };
    let slips = stage_slips(store, &stages, today, 20_000)?;
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
        let probability = score.unwrap_or(stage.probability);
        let Some(when) = expected(exp) else {
            unknown.deals += 1;
            unknown.value = Money(unknown.value.cents() + cents);
            unknown.weighted = Money(
                unknown.weighted.cents() + (*cents as f64 * stage.probability).round() as i64,
            );
            unknown.categories.add(stage.category, *cents);
            match simulated(None, stage_index[stage_id], &slips) {
                Some((expected_close, stage)) => deals.push(OpenDeal {
                    amount: *cents as f64 / 100.0,
                    probability,
                    expected_close,
                    stage,
                }),
                None => unknown.not_simulated += 1,
            }
            continue;
        };
        if let Some(i) = months.iter().position(|m| m.contains(when)) {
            weighted[i] += (*cents as f64 * stage.probability).round() as i64;
        }
        for (p, row) in periods.iter().zip(categories.iter_mut()) {
            if p.contains(when) {
                row.add(stage.category, *cents);
            }
        }
        deals.push(OpenDeal {
            amount: *cents as f64 / 100.0,
            // The learned probability when the deal has been scored, else its stage's.
            probability,
            expected_close: day(when),
            stage: stage_index[stage_id],
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
    let how = draws(store, stages.len(), today)?;
    let simulation = simulate(&deals, &slips, &windows, RUNS, 20_261_122, &how);
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
    })
}
