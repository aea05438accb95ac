//! The funnel analysis: conversion by stage from the stage history of a cohort, days in
//! stage, sales velocity, the bottleneck and the stale deals past learned thresholds.

use crate::analytics::funnel::{
    bottleneck, conversions, days_summary, stage_days, stale_thresholds, velocity, weakest_group,
    Conversion, DealPath, Velocity,
};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::StageKind;
use crate::store::funnel::OpenInStage;
use crate::store::StoreError;
use chrono::{Duration, NaiveDate};
use std::collections::HashMap;

/// Deals younger than this have not had time to move: cohorts end this many days ago.
pub const MATURITY_DAYS: i64 = 90;
/// Deals read in full per analysis: beyond this, a systematic sample of every n-th deal
/// (the conversions' standard error stays under half a percentage point).
pub const MAX_DEALS: usize = 60_000;
/// Stays of winners a stage needs before its stale threshold is trusted.
pub const MIN_STAYS: usize = 20;
/// The share of winners' time in a stage past which an open deal counts as stale.
pub const STALE_QUANTILE: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bottleneck {
    pub stage: String,
    pub before: f64,
    pub now: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// The cohort: deals created in [from, to).
    pub cohort_from: String,
    pub cohort_to: String,
    pub cohort_deals: usize,
    /// 1 when every deal was read; n when every n-th deal was (see `MAX_DEALS`).
    pub sample_every: usize,
    pub stages: Vec<StageRow>,
    /// Won after the last open stage, for the same cohort.
    pub velocity: Option<Velocity>,
    pub bottleneck: Option<Bottleneck>,
    /// The team whose cohort converts worst at some stage against the rest of the company
    /// (a significant shortfall); `before` is the rest's rate, `now` the team's.
    pub weakest_team: Option<(String, Bottleneck)>,
    /// Its Benjamini–Hochberg q-value, and how many team × stage comparisons were made.
    pub weakest_team_q: Option<f64>,
    pub team_comparisons: usize,
    /// Each stage's conversion in the trailing and in the recent cohort.
    pub trend: Vec<(String, Option<f64>, Option<f64>)>,
    pub stale: Vec<OpenInStage>,
}

/// The stale threshold of each open stage id, as the analysis computes it.
pub fn thresholds(store: &Store, today: NaiveDate) -> Result<HashMap<i64, f64>, StoreError> {
    let (open, paths) = cohort_paths(store, today)?;
    Ok(open
        .iter()
        .zip(stale_thresholds(
            &paths,
            open.len(),
            STALE_QUANTILE,
            MIN_STAYS,
        ))
        .filter_map(|(id, t)| t.map(|t| (*id, t)))
        .collect())
}

/// Each open stage's conversion (advanced / (advanced + lost)) in the cohort of deals
/// created in the twelve months ending `MATURITY_DAYS` ago: the measure `funnel pipeline`
/// and the funnel report call conversion, by stage name.
pub fn stage_conversions(
    store: &Store,
    today: NaiveDate,
) -> Result<HashMap<String, f64>, StoreError> {
    let stages = store.stages()?;
    let (open, paths) = cohort_paths(store, today)?;
    Ok(open
        .iter()
        .zip(conversions(&paths, open.len()))
        .filter_map(|(id, c)| {
            let name = stages.iter().find(|s| s.id == *id)?.name.clone();
            Some((name, c.rate()?))
        })
        .collect())
}

/// The open stage ids in order and the stage paths of the cohort: deals created in the
/// twelve months ending `MATURITY_DAYS` before `today`.
fn cohort_paths(
    store: &Store,
    today: NaiveDate,
) -> Result<(Vec<i64>, Vec<crate::analytics::funnel::DealPath>), StoreError> {
    let (open, index) = stage_index(store)?;
    let end = today - Duration::days(MATURITY_DAYS);
    let (paths, _) = store.deal_paths(
        &iso(end - Duration::days(365)),
        &iso(end),
        &index,
        &HashMap::new(),
        MAX_DEALS,
    )?;
    Ok((open, paths))
}

/// Open stage ids in order, and the index of every open (0..k) and won (k) stage.
fn stage_index(store: &Store) -> Result<(Vec<i64>, HashMap<i64, usize>), StoreError> {
    let stages = store.stages()?;
    let open: Vec<i64> = stages
        .iter()
        .filter(|s| s.kind == StageKind::Open)
        .map(|s| s.id)
        .collect();
    let k = open.len();
    let mut index: HashMap<i64, usize> = open.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    for s in stages.iter().filter(|s| s.kind == StageKind::Won) {
        index.insert(s.id, k);
    }
    Ok((open, index))
}

/// Runs the whole analysis as of `today`. The cohort is the deals created in the twelve
/// months ending `MATURITY_DAYS` ago; the bottleneck compares the last six of those months
/// with the twelve before them; velocity uses deals closed in the last twelve months.
pub fn analyze(store: &Store, today: NaiveDate) -> Result<Analysis, StoreError> {
    let stages = store.stages()?;
    let (open_ids, index) = stage_index(store)?;
    let open: Vec<&crate::store::Stage> = open_ids
        .iter()
        .filter_map(|id| stages.iter().find(|s| s.id == *id))
        .collect();
    let k = open.len();
    let end = today - Duration::days(MATURITY_DAYS);
    let mid = end - Duration::days(182);
    let start = end - Duration::days(365);
    let early = mid - Duration::days(365);
    // Deals grouped by their owner's team, to find the team that converts worst.
    let teams = store.teams()?;
    let team_at: HashMap<i64, usize> = teams.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let rep_group: HashMap<i64, usize> = store
        .rep_teams()?
        .into_iter()
        .filter_map(|(rep, team)| team_at.get(&team).map(|g| (rep, *g)))
        .collect();
    let (all, sample_every) =
        store.deal_paths(&iso(early), &iso(end), &index, &rep_group, MAX_DEALS)?;
    let start_day = crate::store::funnel::day_number(start);
    let mid_day = crate::store::funnel::day_number(mid);
    let pick = |keep: &dyn Fn(&DealPath) -> bool| -> Vec<DealPath> {
        all.iter().filter(|p| keep(p)).cloned().collect()
    };
    let cohort = pick(&|p| p.created >= start_day);
    let recent = pick(&|p| p.created >= mid_day);
    let trailing = pick(&|p| p.created < mid_day);
    let conv = conversions(&cohort, k);
    let days = days_summary(&stage_days(&cohort, k, false));
    let stale_after = stale_thresholds(&cohort, k, STALE_QUANTILE, MIN_STAYS);
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
        MAX_DEALS,
    )?;
    let open_total: i64 = open_counts.values().sum();
    let (before, now) = (conversions(&trailing, k), conversions(&recent, k));
    let trend = open
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), before[i].rate(), now[i].rate()))
        .collect();
    let team = weakest_group(&cohort, teams.len(), k, 30);
    let neck = bottleneck(&before, &now, 30).map(|(i, before, now)| Bottleneck {
        stage: open[i].name.clone(),
        before,
        now,
    });
    Ok(Analysis {
        cohort_from: iso(start),
        cohort_to: iso(end),
        cohort_deals: cohort.len(),
        sample_every,
        stages: rows,
        velocity: velocity(&closed, open_total as usize),
        bottleneck: neck,
        weakest_team: team.worst.map(|(g, i, others, ours, _)| {
            (
                teams[g].name.clone(),
                Bottleneck {
                    stage: open[i].name.clone(),
                    before: others,
                    now: ours,
                },
            )
        }),
        weakest_team_q: team.worst.map(|w| w.4),
        team_comparisons: team.comparisons,
        trend,
        stale,
    })
}
