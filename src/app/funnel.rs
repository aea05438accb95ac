//! The funnel analysis: conversion by stage from the stage history of a cohort, days in
//! stage, sales velocity, the bottleneck and the stale deals past learned thresholds.

use crate::analytics::funnel::{
    bottleneck, conversions, days_summary, stage_days, stale_thresholds, velocity, Conversion,
    DealPath, Velocity,
};
use crate::domain::date::iso;
use crate::domain::StageKind;
use crate::store::funnel::OpenInStage;
use crate::store::{Store, StoreError};
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;

/// Deals younger than this have not had time to move: cohorts end this many days ago.
pub const MATURITY_DAYS: i64 = 90;
/// The share of winners' time in a stage past which an open deal counts as stale.
pub const STALE_QUANTILE: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageRow {
    pub stage_id: i64,
    pub name: String,
    pub conversion: Conversion,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// Days in the stage past which an open deal is stale (80th percentile of winners).
    pub stale_after: Option<f64>,
    pub open_now: i64,
    pub stale_now: usize,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bottleneck {
    pub stage: String,
    pub before: f64,
    pub now: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    /// The cohort: deals created in [from, to).
    pub cohort_from: String,
    pub cohort_to: String,
    pub cohort_deals: usize,
    pub stages: Vec<StageRow>,
    /// Won after the last open stage, for the same cohort.
    pub velocity: Option<Velocity>,
    pub bottleneck: Option<Bottleneck>,
    /// Each stage's conversion in the trailing and in the recent cohort.
    pub trend: Vec<(String, Option<f64>, Option<f64>)>,
    pub stale: Vec<OpenInStage>,
}

/// Runs the whole analysis as of `today`. The cohort is the deals created in the twelve
/// months ending `MATURITY_DAYS` ago; the bottleneck compares the last six of those months
/// with the twelve before them; velocity uses deals closed in the last twelve months.
pub fn analyze(store: &Store, today: NaiveDate) -> Result<Analysis, StoreError> {
    let stages = store.stages()?;
    let open: Vec<&crate::store::Stage> = stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
        .collect();
    let k = open.len();
    let mut index: HashMap<i64, usize> = open.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    for s in stages.iter().filter(|s| s.kind == StageKind::Won) {
        index.insert(s.id, k);
    }
    let end = today - Duration::days(MATURITY_DAYS);
    let mid = end - Duration::days(182);
    let start = end - Duration::days(365);
    let early = mid - Duration::days(365);
    let all = store.deal_paths(&iso(early), &iso(end), &index)?;
    let start_day = crate::store::funnel::day_number(start);
    let mid_day = crate::store::funnel::day_number(mid);
    let cohort: Vec<DealPath> = all
        .iter()
        .filter(|(_, _, p)| p.created >= start_day)
        .map(|(_, _, p)| p.clone())
        .collect();
    let recent: Vec<DealPath> = all
        .iter()
        .filter(|(_, _, p)| p.created >= mid_day)
        .map(|(_, _, p)| p.clone())
        .collect();
    let trailing: Vec<DealPath> = all
        .iter()
        .filter(|(_, _, p)| p.created < mid_day)
        .map(|(_, _, p)| p.clone())
        .collect();
    let conv = conversions(&cohort, k);
    let days = days_summary(&stage_days(&cohort, k, false));
    let stale_after = stale_thresholds(&cohort, k, STALE_QUANTILE);
    let thresholds: HashMap<i64, f64> = open
        .iter()
        .zip(&stale_after)
        .filter_map(|(s, t)| t.map(|t| (s.id, t)))
        .collect();
    let mut stale = store.open_past(&thresholds, &iso(today))?;
    stale.sort_by(|a, b| {
        let over = |d: &OpenInStage| d.days_in_stage as f64 - thresholds[&d.stage_id];
        over(b).total_cmp(&over(a)).then(a.id.cmp(&b.id))
    });
    let open_counts = store.open_counts()?;
    let rows = open
        .iter()
        .enumerate()
        .map(|(i, s)| StageRow {
            stage_id: s.id,
            name: s.name.clone(),
            conversion: conv[i],
            median_days: days[i].0,
            p90_days: days[i].1,
            stale_after: stale_after[i],
            open_now: open_counts.get(&s.id).copied().unwrap_or(0),
            stale_now: stale.iter().filter(|d| d.stage_id == s.id).count(),
        })
        .collect();
    let closed = store.closed_paths(
        &iso(today - Duration::days(365)),
        &iso(today + Duration::days(1)),
    )?;
    let open_total: i64 = open_counts.values().sum();
    let (before, now) = (conversions(&trailing, k), conversions(&recent, k));
    let trend = open
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), before[i].rate(), now[i].rate()))
        .collect();
    let neck = bottleneck(&before, &now, 30).map(|(i, before, now)| Bottleneck {
        stage: open[i].name.clone(),
        before,
        now,
    });
    Ok(Analysis {
        cohort_from: iso(start),
        cohort_to: iso(end),
        cohort_deals: cohort.len(),
        stages: rows,
        velocity: velocity(&closed, open_total as usize),
        bottleneck: neck,
        trend,
        stale,
    })
}
