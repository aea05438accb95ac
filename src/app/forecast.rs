//! Recomputing and storing revenue forecasts with the automatic method of
//! `analytics::ts`; every screen that shows a forecast names the method of each series.

use crate::analytics::targets::roll_up;
use crate::domain::Period;
use crate::store::dashboard::{ForecastSeries, NewForecastRun};
use crate::store::{Store, StoreError};
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

/// Monthly won revenue for the company and each team over the complete months before
/// `today`, forecast `HORIZON` months ahead, stored as one run. Returns the run id.
pub fn recompute(
    store: &mut Store,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<i64, StoreError> {
    progress("reading revenue", 0.0);
    let current = Period::month_of(today);
    let last = months_back(current, 1);
    let first = months_back(current, HISTORY_MONTHS);
    let months: Vec<Period> = (0..HISTORY_MONTHS)
        .map(|i| months_back(last, HISTORY_MONTHS - 1 - i))
        .collect();
    let rows = store.monthly_revenue_by_team(&crate::domain::date::iso(first.start()))?;
    let teams = store.teams()?;
    let parents: HashMap<i64, Option<i64>> = teams.iter().map(|t| (t.id, t.parent_id)).collect();
    // month -> team -> cents (direct), and the company total.
    let mut direct: BTreeMap<String, HashMap<i64, i64>> = BTreeMap::new();
    let mut company: HashMap<String, i64> = HashMap::new();
    for (month, team, cents) in rows {
        if month >= current.to_string() {
            continue;
        }
        *company.entry(month.clone()).or_default() += cents;
        if let Some(t) = team {
            *direct.entry(month).or_default().entry(t).or_default() += cents;
        }
    }
    let mut series_values: Vec<(String, Vec<f64>)> = vec![(
        "Company".to_string(),
        months
            .iter()
            .map(|m| *company.get(&m.to_string()).unwrap_or(&0) as f64 / 100.0)
            .collect(),
    )];
    let rolled: Vec<HashMap<i64, i64>> = months
        .iter()
        .map(|m| {
            roll_up(
                &parents,
                direct.get(&m.to_string()).unwrap_or(&HashMap::new()),
            )
        })
        .collect();
    for t in &teams {
        series_values.push((
            t.name.clone(),
            rolled
                .iter()
                .map(|r| *r.get(&t.id).unwrap_or(&0) as f64 / 100.0)
                .collect(),
        ));
    }
    // Leading months before any revenue are not history: trim them so a young team is
    // forecast from its own start.
    let mut series = Vec::new();
    let total = series_values.len();
    for (i, (key, values)) in series_values.into_iter().enumerate() {
        progress("forecasting", 0.1 + 0.8 * i as f64 / total.max(1) as f64);
        let start = values
            .iter()
            .position(|v| *v != 0.0)
            .unwrap_or(values.len());
        let history: Vec<f64> = values[start..].to_vec();
        if history.is_empty() {
            continue;
        }
        let f = crate::analytics::ts::auto(&history, 12, HORIZON);
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
            model: f.method.to_string(),
            backtest_mase: None,
            history: months[start..]
                .iter()
                .map(|m| m.to_string())
                .zip(history)
                .collect(),
            points,
        });
    }
    progress("saving", 0.95);
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let id = store.save_forecast_run(&NewForecastRun {
        level: LEVEL,
        period_kind: "month",
        horizon: HORIZON,
        last_actual: &last.to_string(),
        note: "automatic method per series (Theta on seasonally adjusted revenue); model comparison and backtests come with the forecasting engine",
        created_at: &created,
        series: &series,
    })?;
    progress("done", 1.0);
    Ok(id)
}

/// One forecast line of `funnel forecast --series`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesForecast {
    pub key: String,
    pub method: &'static str,
    /// (period, forecast, lo, hi)
    pub points: Vec<(Period, f64, f64, f64)>,
    pub filled: usize,
}

/// Forecasts every series of a long-format file with the automatic method.
pub fn forecast_file(
    path: &std::path::Path,
    horizon: usize,
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
            let f = crate::analytics::ts::auto(&s.values, 12, horizon);
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
