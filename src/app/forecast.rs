//! Recomputing and storing revenue forecasts with the automatic method of
//! `analytics::ts`; every screen that shows a forecast names the method of each series.

use crate::analytics::targets::roll_up;
pub use crate::analytics::ts::Method;
use crate::app::Db as Store;
use crate::domain::Period;
use crate::store::dashboard::{ForecastSeries, NewForecastRun};
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

/// Forecast level the dashboard reads: the company and every team.
pub const LEVEL: &str = "team";
/// Months of history fitted; months forecast.
pub const HISTORY_MONTHS: i32 = 36;
pub const HORIZON: usize = 6;

fn months_back(p: Period, n: i32) -> Period {
    let Period::Month { year, month } = p else {
        return p;
    };
    let total = year * 12 + month as i32 - 1 - n;
    Period::Month {
        year: total.div_euclid(12),
        month: total.rem_euclid(12) as u32 + 1,
    }
}

/// What a forecast run is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Company,
    /// Every team (rolled up through the team tree), with the company first.
    Team,
    Rep,
    Product,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "company" => Some(Level::Company),
            "team" => Some(Level::Team),
            "rep" => Some(Level::Rep),
            "product" => Some(Level::Product),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Level::Company => "company",
            Level::Team => "team",
            Level::Rep => "rep",
            Level::Product => "product",
        }
    }
}

/// Monthly won revenue per series key over `months` (oldest first), in currency units.
fn monthly_series(
    store: &Store,
    level: Level,
    months: &[Period],
) -> Result<Vec<(String, Vec<f64>)>, StoreError> {
    let first = crate::domain::date::iso(months[0].start());
    let index: HashMap<String, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.to_string(), i))
        .collect();
    let mut out: Vec<(String, Vec<f64>)> = Vec::new();
    match level {
        Level::Company | Level::Team => {
            let rows = store.monthly_revenue_by_team(&first)?;
            let teams = store.teams()?;
            let parents: HashMap<i64, Option<i64>> =
                teams.iter().map(|t| (t.id, t.parent_id)).collect();
            let mut company = vec![0.0; months.len()];
            let mut direct: Vec<HashMap<i64, i64>> = vec![HashMap::new(); months.len()];
            for (month, team, cents) in rows {
                let Some(&i) = index.get(&month) else {
                    continue;
                };
                company[i] += cents as f64 / 100.0;
                if let Some(t) = team {
                    *direct[i].entry(t).or_default() += cents;
                }
            }
            out.push(("Company".to_string(), company));
            if level == Level::Team {
                let rolled: Vec<HashMap<i64, i64>> =
                    direct.iter().map(|d| roll_up(&parents, d)).collect();
                for t in &teams {
                    out.push((
                        t.name.clone(),
                        rolled
                            .iter()
                            .map(|r| *r.get(&t.id).unwrap_or(&0) as f64 / 100.0)
                            .collect(),
                    ));
                }
            }
        }
        Level::Rep | Level::Product => {
            let mut by_key: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for (month, key, cents) in store.monthly_revenue_by(level.name(), &first)? {
                let Some(&i) = index.get(&month) else {
                    continue;
                };
                by_key.entry(key).or_insert_with(|| vec![0.0; months.len()])[i] +=
                    cents as f64 / 100.0;
            }
            out.extend(by_key);
        }
    }
    Ok(out)
}

/// The month the revenue ledger begins.
pub(crate) fn first_month(store: &Store) -> Result<Option<Period>, StoreError> {
    Ok(store
        .first_order_day()?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .map(Period::month_of))
}

/// Sums months into calendar quarters, keeping only complete quarters.
fn to_quarters(months: &[Period], values: &[f64]) -> (Vec<Period>, Vec<f64>) {
    let mut quarters: Vec<Period> = Vec::new();
    let mut sums: Vec<(f64, usize)> = Vec::new();
    for (m, v) in months.iter().zip(values) {
        let q = Period::quarter_of(m.start());
        if quarters.last() != Some(&q) {
            quarters.push(q);
            sums.push((0.0, 0));
        }
        let last = sums.last_mut().expect("pushed");
        last.0 += v;
        last.1 += 1;
    }
    let keep: Vec<usize> = (0..quarters.len()).filter(|&i| sums[i].1 == 3).collect();
    (
        keep.iter().map(|&i| quarters[i]).collect(),
        keep.iter().map(|&i| sums[i].0).collect(),
    )
}

/// Forecasts won revenue by `level`, monthly or quarterly, from the complete periods before
/// `today`, and stores the run (history, points and the method of each series). Returns
/// the run id.
pub fn run(
    store: &mut Store,
    level: Level,
    quarterly: bool,
    horizon: usize,
    method: Method,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<i64, StoreError> {
    let prepared = prepare(store, level, quarterly, horizon, method, today, progress)?;
    progress("saving", 0.95);
    let id = store.save_forecast_run(&prepared.as_new(false))?;
    progress("done", 1.0);
    Ok(id)
}

/// A computed forecast run, not yet stored.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    level: &'static str,
    period_kind: &'static str,
    horizon: usize,
    last_actual: String,
    note: String,
    created_at: String,
    series: Vec<ForecastSeries>,
    as_of: String,
}

impl PreparedRun {
    /// The run to store; `for_dashboard` when a recompute made it.
    pub fn as_new(&self, for_dashboard: bool) -> NewForecastRun<'_> {
        NewForecastRun {
            for_dashboard,
            as_of: &self.as_of,
            level: self.level,
            period_kind: self.period_kind,
            horizon: self.horizon,
            last_actual: &self.last_actual,
            note: &self.note,
            created_at: &self.created_at,
            series: &self.series,
        }
    }
}

/// Computes a run (see [`run`]) without storing it.
pub fn prepare(
    store: &Store,
    level: Level,
    quarterly: bool,
    horizon: usize,
    method: Method,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<PreparedRun, StoreError> {
    progress("reading revenue", 0.0);
    let current = Period::month_of(today);
    let history_months = if quarterly { 48 } else { HISTORY_MONTHS };
    let months: Vec<Period> = (1..=history_months)
        .rev()
        .map(|i| months_back(current, i))
        .collect();
    let series_values = monthly_series(store, level, &months)?;
    // Months before the ledger begins are not zero revenue: they are not history at all.
    let data_start = first_month(store)?;
    let total = series_values.len();
    let mut series = Vec::new();
    let mut last_label = months.last().map(|m| m.to_string()).unwrap_or_default();
    for (i, (key, values)) in series_values.into_iter().enumerate() {
        progress("forecasting", 0.1 + 0.8 * i as f64 / total.max(1) as f64);
        // Leading months before the data began, or before this series' first revenue (a
        // young team), are not history: each series starts where its data does, and a
        // quarterly series at its first complete quarter.
        let first = values
            .iter()
            .enumerate()
            .position(|(i, v)| *v != 0.0 && data_start.is_some_and(|d| months[i] >= d))
            .unwrap_or(values.len());
        let (periods, values, m) = if quarterly {
            let (q, v) = to_quarters(&months[first..], &values[first..]);
            (q, v, 4)
        } else {
            (months[first..].to_vec(), values[first..].to_vec(), 12)
        };
        let start = 0;
        let history: Vec<f64> = values[start..].to_vec();
        let Some(&last) = periods.last() else {
            continue;
        };
        last_label = last.to_string();
        if history.is_empty() {
            continue;
        }
        let f = crate::analytics::ts::forecast_with(method, &history, m, horizon);
        let mut next = last;
        let points = f
            .points
            .iter()
            .map(|p| {
                next = next.next();
                (next.to_string(), p.forecast, p.lo, p.hi)
            })
            .collect();
        series.push(ForecastSeries {
            key,
            model: f.method,
            // The same method on this series' own past: rolling origins, fitted on what
            // came before each.
            backtest_mase: crate::analytics::ts::backtest_mase(
                method,
                &history,
                m,
                horizon.min(history.len() / 3),
            ),
            history: periods[start..]
                .iter()
                .map(|p| p.to_string())
                .zip(history)
                .collect(),
            points,
        });
    }
    if series.is_empty() {
        // Say what is missing rather than store an empty run.
        return Err(StoreError::Invalid(match data_start {
            None => "nothing to forecast: the order ledger is empty (import orders or won deals)".into(),
            Some(d) if quarterly => {
                let first_full = if Period::quarter_of(d.start()).start() == d.start() {
                    Period::quarter_of(d.start())
                } else {
                    Period::quarter_of(d.start()).next()
                };
                format!(
                    "not enough history: a quarterly forecast needs at least one complete quarter of won revenue before today; \
                     the data begins in {d}, so the first complete quarter is {first_full} (use --period month meanwhile)"
                )
            }
            Some(d) => format!(
                "not enough history: a forecast needs at least one complete month of won revenue before today; the data begins in {d}"
            ),
        }));
    }
    Ok(PreparedRun {
        level: level.name(),
        period_kind: if quarterly { "quarter" } else { "month" },
        horizon,
        last_actual: last_label,
        note: format!(
            "method {}: {}",
            method.name(),
            if method == Method::Auto {
                "mean of ETS (form by AICc) and Theta on seasonally adjusted won revenue"
            } else {
                "as asked for"
            }
        ),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        series,
        as_of: today.to_string(),
    })
}

/// What a recompute stored.
pub struct Recomputed {
    pub forecast_run: i64,
    /// The model run and what it learned, when there was enough to learn from.
    pub model: Option<(i64, super::scoring::Scored)>,
    /// Why deals were not scored (too little history), when they were not.
    pub not_scored: Option<String>,
    /// The customer intelligence stored after them (its own transaction: a failure there
    /// keeps the forecasts and scores, and is told here).
    pub intel: Result<super::intel::IntelSummary, String>,
}

/// The dashboard's forecasts and the deals' win probabilities, computed and then stored
/// in one transaction: a failure (or a kill) stores neither. Too little history to learn
/// win probabilities from is not a failure: the forecasts are stored and the reason told.
/// Then the customer intelligence (segments, lifetime value, needs, offers), stored in a
/// transaction of its own.
pub fn recompute_all(
    store: &mut Store,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<Recomputed, StoreError> {
    let run = prepare(
        store,
        Level::Team,
        false,
        HORIZON,
        Method::Auto,
        today,
        &mut |phase, done| progress(phase, done * 0.45),
    )?;
    progress("scoring open deals", 0.5);
    let (scored, not_scored) = match super::scoring::score_checked(store, today)? {
        Ok(s) => (Some(s), None),
        Err(why) => (None, Some(why)),
    };
    progress("saving", 0.55);
    let new_scores = scored.as_ref().map(super::scoring::new_scores);
    let (forecast_run, model_run) = store.save_recompute(&run.as_new(true), new_scores.as_ref())?;
    let intel = super::intel::recompute(store, today, &mut |phase, done| {
        progress(phase, 0.6 + 0.4 * done)
    })
    .map_err(|e| e.to_string());
    progress("done", 1.0);
    Ok(Recomputed {
        forecast_run,
        model: model_run.zip(scored),
        not_scored,
        intel,
    })
}

/// The dashboard's run: the company and every team, monthly, `HORIZON` months ahead.
pub fn recompute(
    store: &mut Store,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<i64, StoreError> {
    run(
        store,
        Level::Team,
        false,
        HORIZON,
        Method::Auto,
        today,
        progress,
    )
}

/// How a stored run did against what happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Accuracy {
    pub run_id: i64,
    pub created_at: String,
    pub level: String,
    pub period_kind: String,
    pub series: usize,
    /// Forecast points whose period has closed.
    pub points: usize,
    /// Mean over series of the error scaled by the in-sample seasonal-naive error.
    pub mase: Option<f64>,
    /// Total absolute error over total actual revenue.
    pub wape: Option<f64>,
    /// Share of the closed points inside their 80% interval.
    pub coverage: Option<f64>,
    /// Said when significantly fewer points than 80% fell inside their intervals
    /// (one-sided z > 1.96, at least `MIN_COVERAGE_POINTS` points).
    pub drift: Option<String>,
}

/// Closed points a run needs before its interval coverage is judged.
pub const MIN_COVERAGE_POINTS: usize = 10;

/// The drift warning for `inside` of `n` points in their 80% intervals, if coverage is
/// significantly short of 80%.
pub fn coverage_drift(inside: usize, n: usize) -> Option<String> {
    if n < MIN_COVERAGE_POINTS {
        return None;
    }
    let cov = inside as f64 / n as f64;
    let z = (0.8 - cov) / (0.8 * 0.2 / n as f64).sqrt();
    (z > 1.96).then(|| {
        format!(
            "drift: only {:.0}% of the {n} closed periods fell inside their 80% intervals (z = {z:.1}): the forecasts no longer fit the data — recompute",
            100.0 * cov
        )
    })
}

/// Compares every stored run's forecasts for periods that have closed with the actual
/// won revenue, by the run's own level and period.
pub fn accuracy(store: &Store, today: NaiveDate) -> Result<Vec<Accuracy>, StoreError> {
    let current = Period::month_of(today);
    let mut out = Vec::new();
    for (id, created_at, level_name, kind) in store.forecast_runs()? {
        let Some(level) = Level::parse(&level_name) else {
            continue;
        };
        let Some(run) = store.forecast_run(id)? else {
            continue;
        };
        let quarterly = kind == "quarter";
        let m = if quarterly { 4 } else { 12 };
        let months: Vec<Period> = (1..=60).rev().map(|i| months_back(current, i)).collect();
        let actual_series = monthly_series(store, level, &months)?;
        let mut actual: HashMap<(String, String), f64> = HashMap::new();
        for (key, values) in actual_series {
            let (periods, values) = if quarterly {
                to_quarters(&months, &values)
            } else {
                (months.clone(), values)
            };
            for (p, v) in periods.iter().zip(values) {
                actual.insert((key.clone(), p.to_string()), v);
            }
        }
        let (mut abs_err, mut abs_actual, mut points, mut inside) = (0.0, 0.0, 0usize, 0usize);
        let mut mases = Vec::new();
        for s in &run.series {
            let h: Vec<f64> = s.history.iter().map(|x| x.1).collect();
            let lag = if h.len() > m { m } else { 1 };
            let scale = if h.len() > lag {
                (lag..h.len())
                    .map(|t| (h[t] - h[t - lag]).abs())
                    .sum::<f64>()
                    / (h.len() - lag) as f64
            } else {
                0.0
            };
            let errs: Vec<(f64, f64)> = s
                .points
                .iter()
                .filter_map(|(p, f, lo, hi)| {
                    let y = actual.get(&(s.key.clone(), p.clone()))?;
                    inside += (lo <= y && y <= hi) as usize;
                    Some((*y, *f))
                })
                .collect();
            if errs.is_empty() {
                continue;
            }
            points += errs.len();
            let mae = errs.iter().map(|(y, f)| (y - f).abs()).sum::<f64>() / errs.len() as f64;
            abs_err += errs.iter().map(|(y, f)| (y - f).abs()).sum::<f64>();
            abs_actual += errs.iter().map(|(y, _)| y.abs()).sum::<f64>();
            if scale > 0.0 {
                mases.push(mae / scale);
            }
        }
        out.push(Accuracy {
            run_id: id,
            created_at,
            level: level_name,
            period_kind: kind,
            series: run.series.len(),
            points,
            mase: (!mases.is_empty()).then(|| mases.iter().sum::<f64>() / mases.len() as f64),
            wape: (abs_actual > 0.0).then(|| abs_err / abs_actual),
            coverage: (points > 0).then(|| inside as f64 / points as f64),
            drift: coverage_drift(inside, points),
        });
    }
    Ok(out)
}

/// One forecast line of `funnel forecast --series`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    pub key: String,
    pub method: String,
    /// (period, forecast, lo, hi)
    pub points: Vec<(Period, f64, f64, f64)>,
    pub filled: usize,
}

/// Forecasts every series of a long-format file with `method` (normally `Auto`).
pub fn forecast_file(
    path: &std::path::Path,
    horizon: usize,
    method: Method,
) -> Result<
    (Vec<SeriesForecast>, Vec<crate::store::import::RowError>),
    crate::store::import::ImportError,
> {
    let (series, errors) = crate::store::import::read_series(path)?;
    if !errors.is_empty() {
        return Ok((Vec::new(), errors));
    }
    let out = series
        .into_iter()
        .map(|s| {
            let f = crate::analytics::ts::forecast_with(method, &s.values, 12, horizon);
            let mut p = s.start;
            for _ in 0..s.values.len() {
                p = p.next();
            }
            let mut points = Vec::with_capacity(horizon);
            for pt in f.points {
                points.push((p, pt.forecast, pt.lo, pt.hi));
                p = p.next();
            }
            SeriesForecast {
                key: s.key,
                method: f.method,
                points,
                filled: s.filled,
            }
        })
        .collect();
    Ok((out, Vec::new()))
}

/// A stored forecast run with its series, if there is one with that id.
pub fn stored_run(
    store: &Store,
    id: i64,
) -> Result<Option<crate::store::dashboard::ForecastRun>, StoreError> {
    store.forecast_run(id)
}

#[cfg(test)]
mod coverage_tests {
    use super::coverage_drift;

    #[test]
    fn coverage_drift_is_said_only_when_significantly_short_of_80_percent() {
        // 16 of 20 inside: on target.
        assert_eq!(coverage_drift(16, 20), None);
        // 13 of 20 (65%): z = 0.15 / 0.0894 = 1.68, chance.
        assert_eq!(coverage_drift(13, 20), None);
        // 9 of 20 (45%): z = 3.9.
        let d = coverage_drift(9, 20).unwrap();
        assert!(d.contains("only 45% of the 20 closed periods"), "{d}");
        // Too few points to judge.
        assert_eq!(coverage_drift(0, 9), None);
    }
}
