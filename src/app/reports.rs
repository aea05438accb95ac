//! Reports: each a titled table with notes, the same for the CLI (table, CSV, JSON,
//! Markdown) and the TUI's Reports screen.

use crate::analytics::stats::{correlation, describe, robust_z};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::{Cell, Money, Period, Table, TargetMetric, TargetScope};
use crate::store::reports::{ClosedDeal, ClosedExtra};
use chrono::{Duration, NaiveDate};
use std::collections::BTreeMap;

/// Every report: name and what it shows.
pub const REPORTS: &[(&str, &str)] = &[
    ("funnel", "conversion by stage from the stage history of a cohort, days in stage (median, p90), stale thresholds"),
    ("velocity", "sales velocity: open deals x win rate x average won size / average cycle"),
    ("bottleneck", "each stage's conversion, recent cohort against the trailing one; the largest drop"),
    ("stale-deals", "open deals longer in their stage than 80% of the deals that went on to win"),
    ("deal-stats", "count, mean, median, std, quantiles of deal size, cycle time and discount [--by]"),
    ("win-rates", "won revenue, deals and win rate [--by rep|team|product|region|source|segment]"),
    ("correlations", "how each deal feature goes with winning (correlation over closed deals)"),
    ("anomalies", "each rep's monthly won revenue against their own history (robust z-score)"),
    ("leaderboard", "reps against their won-revenue targets: attainment, pace, gap, projection"),
    ("lost-reasons", "why deals are lost: reasons with the stage they were lost at, over the last four quarters [--by]"),
    ("signals", "activity bursts and droughts per rep, product revenue drops, customers whose orders stopped"),
    ("associations", "products bought by the same customers: support, confidence, lift [--min-support --min-confidence]"),
];

/// The associations report's default thresholds: support and confidence.
pub const ASSOCIATION_THRESHOLDS: (f64, f64) = (0.01, 0.1);

/// Association rules over the customers' baskets up to `today` (see
/// `analytics::baskets`): every rule A → B with at least this support and confidence.
pub fn associations(
    store: &Store,
    today: NaiveDate,
    min_support: f64,
    min_confidence: f64,
    per: crate::analytics::baskets::Per,
) -> Result<Report, ReportError> {
    for (flag, v) in [
        ("--min-support", min_support),
        ("--min-confidence", min_confidence),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ReportError::Usage(format!(
                "{flag} {v}: a share between 0 and 1 (0.05 for 5%)"
            )));
        }
    }
    let (baskets, rules) =
        super::recommend::associations(store, today, min_support, min_confidence, per)?;
    let by_order = per == crate::analytics::baskets::Per::Order;
    let mut table = Table::new(&[
        "bought",
        "also_bought",
        if by_order { "orders" } else { "customers" },
        "support",
        "confidence",
        "lift",
    ]);
    for r in &rules {
        table.rows.push(vec![
            Cell::Text(r.bought.clone()),
            Cell::Text(r.also_bought.clone()),
            Cell::Int(r.customers as i64),
            Cell::Ratio(r.support),
            Cell::Ratio(r.confidence),
            Cell::Real((r.lift * 100.0).round() / 100.0),
        ]);
    }
    let what = if by_order {
        format!("{baskets} order baskets (the products of one customer's orders on one day, up to {today})")
    } else {
        format!("{baskets} customer baskets (the products each customer bought up to {today})")
    };
    let notes = vec![format!(
        "{what}; {} rules with support at least {:.1}% and confidence at least {:.1}%, highest lift first; one product on each side",
        rules.len(),
        min_support * 100.0,
        min_confidence * 100.0
    )];
    Ok(Report {
        name: "associations".into(),
        title: REPORTS
            .iter()
            .find(|r| r.0 == "associations")
            .map(|r| r.1.to_string())
            .unwrap_or_default(),
        notes,
        table,
    })
}

/// Whether report `name` breaks down by a field (`--by`).
pub fn takes_breakdown(name: &str) -> bool {
    matches!(name, "deal-stats" | "win-rates" | "lost-reasons")
}

/// Whether report `name` is bounded by a period (`--period`).
pub fn takes_period(name: &str) -> bool {
    matches!(
        name,
        "deal-stats" | "win-rates" | "correlations" | "leaderboard" | "lost-reasons"
    )
}

/// Fields reports break down by.
pub const BREAKDOWNS: &[&str] = &["rep", "team", "product", "region", "source", "segment"];

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: String,
    pub title: String,
    /// Sentences that go with the table (method, window, findings).
    pub notes: Vec<String>,
    pub table: Table,
}

fn group_of(d: &ClosedDeal, by: &str) -> String {
    let v = match by {
        "rep" => d.rep.clone(),
        "team" => d.team.clone(),
        "product" => d.product.clone(),
        "region" => d.region.clone(),
        "source" => d.source.clone(),
        "segment" => d.segment.clone(),
        _ => Some("all".into()),
    };
    v.unwrap_or_else(|| "(none)".into())
}

fn ratio(v: Option<f64>) -> Cell {
    v.map(Cell::Ratio).unwrap_or(Cell::Null)
}

fn real(v: Option<f64>) -> Cell {
    v.map(|x| Cell::Real((x * 100.0).round() / 100.0))
        .unwrap_or(Cell::Null)
}

/// Why a report was not run.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report was asked for wrongly (a name, a breakdown or a period it does not take).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The 18 complete months before `today`'s month (oldest first), each month's index by
/// name, and `today`'s month.
fn last_18_months(today: NaiveDate) -> (Period, Vec<Period>, BTreeMap<String, usize>) {
    let current = Period::month_of(today);
    let months: Vec<Period> = (1..=18).rev().map(|i| current.back(i)).collect();
    let index = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.to_string(), i))
        .collect();
    (current, months, index)
}

/// The months (from the 12th on, with at least six months of data before) whose value is
/// more than 3 robust z from the 12 months before: (index, z, median of those months).
fn outlying_months(v: &[f64], first: usize) -> Vec<(usize, f64, f64)> {
    ((first + 6).max(12)..v.len())
        .filter_map(|i| {
            let history = &v[(i - 12).max(first)..i];
            let z = robust_z(v[i], history)?;
            (z.abs() > 3.0).then(|| {
                let med = crate::analytics::stats::quantile(history, 0.5).unwrap_or(0.0);
                (i, z, med)
            })
        })
        .collect()
}

/// Runs report `name`. `period` bounds the deals by close date (default: the last twelve
/// months); the leaderboard's default is this month.
pub fn run(
    store: &Store,
    name: &str,
    by: Option<&str>,
    period: Option<Period>,
    today: NaiveDate,
) -> Result<Report, ReportError> {
    if let Some(b) = by {
        if !BREAKDOWNS.contains(&b) {
            return Err(ReportError::Usage(format!(
                "--by '{b}': use one of {}",
                BREAKDOWNS.join(", ")
            )));
        }
        if !takes_breakdown(name) {
            return Err(ReportError::Usage(format!(
                "report {name} has no breakdown: --by goes with deal-stats and win-rates"
            )));
        }
    }
    if period.is_some() && !takes_period(name) {
        return Err(ReportError::Usage(format!(
            "report {name} does not take --period (it works from the stage history as of today): --period goes with deal-stats, win-rates, correlations and leaderboard"
        )));
    }
    let (from, to, window) = match period {
        Some(p) => (p.start(), p.end_exclusive(), format!("deals closed in {p}")),
        None => (
            today - Duration::days(365),
            today + Duration::days(1),
            format!("deals closed in the 12 months to {today}"),
        ),
    };
    let title = REPORTS
        .iter()
        .find(|r| r.0 == name)
        .map(|r| r.1.to_string())
        .ok_or_else(|| {
            ReportError::Usage(format!(
                "no report '{name}': `funnel report --list` names them ({})",
                REPORTS.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
            ))
        })?;
    let mut notes = Vec::new();
    let ctx = Ctx {
        store,
        name,
        by,
        period,
        today,
        from,
        to,
        window: &window,
    };
    let table = match name {
        "funnel" | "velocity" | "bottleneck" | "stale-deals" => funnel_reports(&ctx, &mut notes)?,
        "deal-stats" => deal_stats(&ctx, &mut notes)?,
        "win-rates" => win_rates(&ctx, &mut notes)?,
        "correlations" => correlations(&ctx, &mut notes)?,
        "anomalies" => anomalies(store, today, &mut notes)?,
        "leaderboard" => leaderboard(&ctx, &mut notes)?,
        "lost-reasons" => lost_reasons(&ctx, &mut notes)?,
        "signals" => signals(store, today, &mut notes)?,
        "associations" => {
            let (s, c) = ASSOCIATION_THRESHOLDS;
            return associations(store, today, s, c, Default::default());
        }
        _ => return Err(ReportError::Usage(format!("no report '{name}'"))),
    };
    Ok(Report {
        name: name.to_string(),
        title,
        notes,
        table,
    })
}

/// What every report reads: the database, its name, breakdown and period, the day and the
/// window of close dates (with its description).
#[derive(Clone, Copy)]
struct Ctx<'a> {
    store: &'a Store,
    name: &'a str,
    by: Option<&'a str>,
    period: Option<Period>,
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    window: &'a str,
}

/// The funnel reports, from the stage history: funnel, velocity, bottleneck, stale deals.
fn funnel_reports(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store, name, today, ..
    } = *c;
    Ok({
        let a = super::funnel::analyze(store, today)?;
        match name {
            "funnel" => {
                notes.push(format!(
                        "cohort: {} deals created {} to {} (at least {} days old){}; conversion = advanced / (advanced + lost), deals still in the stage do not count",
                        a.cohort_deals, a.cohort_from, a.cohort_to, super::funnel::MATURITY_DAYS,
                        if a.sample_every > 1 { format!(", every {}th deal of the window", a.sample_every) } else { String::new() }
                    ));
                let mut t = Table::new(&[
                    "stage",
                    "reached",
                    "advanced",
                    "lost",
                    "still_open",
                    "conversion",
                    "median_days",
                    "p90_days",
                    "stale_after_days",
                    "open_now",
                    "stale_now",
                ]);
                for s in &a.stages {
                    t.rows.push(vec![
                        Cell::Text(s.name.clone()),
                        Cell::Int(s.conversion.reached as i64),
                        Cell::Int(s.conversion.advanced as i64),
                        Cell::Int(s.conversion.lost as i64),
                        Cell::Int(s.conversion.open as i64),
                        ratio(s.conversion.rate()),
                        real(s.median_days),
                        real(s.p90_days),
                        real(s.stale_after),
                        Cell::Int(s.open_now),
                        Cell::Int(s.stale_now as i64),
                    ]);
                }
                if let Some(v) = &a.velocity {
                    notes.push(format!(
                            "velocity: {} open deals x {:.1}% win rate x {} average won / {:.0}-day cycle = {} a day, {} a month",
                            v.open_deals, v.win_rate * 100.0, Money((v.average_won * 100.0).round() as i64),
                            v.cycle_days, Money((v.per_day * 100.0).round() as i64),
                            Money((v.per_day * 30.4 * 100.0).round() as i64)
                        ));
                }
                match &a.bottleneck {
                        Some(b) => notes.push(format!(
                            "bottleneck: {} — conversion {:.1}% in the last six months' cohort against {:.1}% in the twelve months before",
                            b.stage, b.now * 100.0, b.before * 100.0
                        )),
                        None => notes.push("bottleneck: no stage converts worse than in the trailing cohort".into()),
                    }
                notes.push(weakest_team_note(&a));
                t
            }
            "velocity" => {
                let mut t = Table::new(&[
                    "open_deals",
                    "win_rate",
                    "average_won",
                    "cycle_days",
                    "per_day",
                    "per_month",
                ]);
                notes.push("win rate, average won size and cycle (created to won) from deals closed in the last 12 months".into());
                if let Some(v) = a.velocity {
                    t.rows.push(vec![
                        Cell::Int(v.open_deals as i64),
                        Cell::Ratio(v.win_rate),
                        Cell::Money(Money((v.average_won * 100.0).round() as i64)),
                        real(Some(v.cycle_days)),
                        Cell::Money(Money((v.per_day * 100.0).round() as i64)),
                        Cell::Money(Money((v.per_day * 30.4 * 100.0).round() as i64)),
                    ]);
                } else {
                    notes.push("nothing won in the last 12 months".into());
                }
                t
            }
            "bottleneck" => bottleneck_table(store, today, notes)?,
            _ => {
                let names: BTreeMap<i64, String> = a
                    .stages
                    .iter()
                    .map(|s| (s.stage_id, s.name.clone()))
                    .collect();
                let limits: BTreeMap<i64, Option<f64>> = a
                    .stages
                    .iter()
                    .map(|s| (s.stage_id, s.stale_after))
                    .collect();
                notes.push(format!(
                        "{} open deals past their stage's threshold (80th percentile of the days winners spent there), longest over first",
                        a.stale.len()
                    ));
                let mut t = Table::new(&[
                    "deal",
                    "name",
                    "customer",
                    "owner",
                    "stage",
                    "amount",
                    "days_in_stage",
                    "threshold_days",
                ]);
                for d in &a.stale {
                    t.rows.push(vec![
                        Cell::Text(d.external_id.clone().unwrap_or_else(|| d.id.to_string())),
                        Cell::Text(d.name.clone()),
                        Cell::Text(d.customer.clone()),
                        d.owner.clone().map(Cell::Text).unwrap_or(Cell::Null),
                        Cell::Text(names.get(&d.stage_id).cloned().unwrap_or_default()),
                        Cell::Money(Money(d.amount_cents)),
                        Cell::Int(d.days_in_stage),
                        real(limits.get(&d.stage_id).copied().flatten()),
                    ]);
                }
                t
            }
        }
    })
}

/// Deal statistics over the window, optionally broken down.
fn deal_stats(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store,
        by,
        from,
        to,
        window,
        ..
    } = *c;
    Ok({
        let deals = store.closed_deals(&iso(from), &iso(to), ClosedExtra::None)?;
        notes.push(format!("{window}; size and discount of every closed deal, cycle time (created to closed) of won deals"));
        let by = by.unwrap_or("all");
        let mut groups: BTreeMap<String, Vec<&ClosedDeal>> = BTreeMap::new();
        for d in &deals {
            groups.entry(group_of(d, by)).or_default().push(d);
        }
        let mut t = Table::new(&[
            by, "measure", "count", "mean", "std", "min", "q25", "median", "q75", "q90", "max",
        ]);
        for (g, ds) in &groups {
            let measures: [(&str, Vec<f64>); 3] = [
                (
                    "deal_size",
                    ds.iter().map(|d| d.amount_cents as f64 / 100.0).collect(),
                ),
                (
                    "cycle_days",
                    ds.iter()
                        .filter(|d| d.won)
                        .map(|d| d.cycle_days as f64)
                        .collect(),
                ),
                ("discount_pct", ds.iter().map(|d| d.discount_pct).collect()),
            ];
            for (m, v) in measures {
                if let Some(s) = describe(&v) {
                    let mut row = vec![
                        Cell::Text(g.clone()),
                        Cell::Text(m.into()),
                        Cell::Int(s.count as i64),
                    ];
                    for x in [s.mean, s.std, s.min, s.q25, s.median, s.q75, s.q90, s.max] {
                        row.push(real(Some(x)));
                    }
                    t.rows.push(row);
                }
            }
        }
        t
    })
}

/// Lost deals by reason (and by `--by` when given): how many, their share of the lost deals
/// and their value, the stage most of them were lost at, and the count in each of the
/// window's last four quarters (the trend). A lost deal without a reason is "(none)".
fn lost_reasons(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store,
        by,
        from,
        to,
        window,
        ..
    } = *c;
    let lost: Vec<ClosedDeal> = store
        .closed_deals(&iso(from), &iso(to), ClosedExtra::LostStage)?
        .into_iter()
        .filter(|d| !d.won)
        .collect();
    let last = Period::quarter_of(to - Duration::days(1));
    let quarters: Vec<Period> = (0..4).rev().map(|i| last.back(i)).collect();
    #[derive(Default)]
    struct Group {
        deals: i64,
        cents: i64,
        stages: BTreeMap<String, i64>,
        by_quarter: [i64; 4],
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for d in &lost {
        let key = (
            by.map(|b| group_of(d, b)).unwrap_or_default(),
            d.lost_reason.clone().unwrap_or_else(|| "(none)".into()),
        );
        let g = groups.entry(key).or_default();
        g.deals += 1;
        g.cents += d.amount_cents;
        *g.stages
            .entry(d.lost_at.clone().unwrap_or_else(|| "(unknown)".into()))
            .or_default() += 1;
        if let Ok(day) = NaiveDate::parse_from_str(&d.closed_on, "%Y-%m-%d") {
            if let Some(q) = quarters.iter().position(|q| q.contains(day)) {
                g.by_quarter[q] += 1;
            }
        }
    }
    notes.push(format!(
        "{} lost deals, {window}{}; lost at = the stage most of them were in before they were lost (stage history); the last four columns count them by quarter",
        lost.len(),
        by.map(|b| format!(", by {b}")).unwrap_or_default()
    ));
    let mut rows: Vec<((String, String), Group)> = groups.into_iter().collect();
    rows.sort_by(|a, b| {
        a.0 .0
            .cmp(&b.0 .0)
            .then(b.1.deals.cmp(&a.1.deals))
            .then(a.0 .1.cmp(&b.0 .1))
    });
    let q: Vec<String> = quarters.iter().map(|p| p.to_string()).collect();
    let mut header: Vec<&str> = Vec::new();
    if let Some(b) = by {
        header.push(b);
    }
    header.extend(["reason", "lost", "share", "value_lost", "lost_at"]);
    header.extend(q.iter().map(String::as_str));
    let mut t = Table::new(&header);
    let total = lost.len().max(1) as f64;
    for ((group, reason), g) in rows {
        let mut row = Vec::new();
        if by.is_some() {
            row.push(Cell::Text(group));
        }
        let stage = g
            .stages
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(s, n)| format!("{s} ({:.0}%)", *n as f64 / g.deals as f64 * 100.0))
            .unwrap_or_default();
        row.extend([
            Cell::Text(reason),
            Cell::Int(g.deals),
            Cell::Ratio(g.deals as f64 / total),
            Cell::Money(crate::domain::Money(g.cents)),
            Cell::Text(stage),
        ]);
        row.extend(g.by_quarter.iter().map(|n| Cell::Int(*n)));
        t.rows.push(row);
    }
    Ok(t)
}

/// Win rates over the window, optionally broken down.
fn win_rates(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store,
        by,
        from,
        to,
        window,
        ..
    } = *c;
    Ok({
        let deals = store.closed_deals(&iso(from), &iso(to), ClosedExtra::None)?;
        let by = by.unwrap_or("rep");
        notes.push(format!("{window}, by {by}; win rate = won / (won + lost)"));
        let mut groups: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for d in &deals {
            let e = groups.entry(group_of(d, by)).or_default();
            if d.won {
                e.0 += 1;
                e.2 += d.amount_cents;
            } else {
                e.1 += 1;
            }
        }
        let mut rows: Vec<(String, (i64, i64, i64))> = groups.into_iter().collect();
        rows.sort_by(|a, b| b.1 .2.cmp(&a.1 .2).then(a.0.cmp(&b.0)));
        let mut t = Table::new(&[
            by,
            "closed",
            "won",
            "lost",
            "win_rate",
            "won_revenue",
            "average_won",
        ]);
        for (g, (w, l, rev)) in rows {
            t.rows.push(vec![
                Cell::Text(g),
                Cell::Int(w + l),
                Cell::Int(w),
                Cell::Int(l),
                ratio((w + l > 0).then(|| w as f64 / (w + l) as f64)),
                Cell::Money(Money(rev)),
                if w > 0 {
                    Cell::Money(Money(rev / w))
                } else {
                    Cell::Null
                },
            ]);
        }
        t
    })
}

/// What goes with winning: each factor's correlation with the outcome.
fn correlations(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store,
        from,
        to,
        window,
        ..
    } = *c;
    Ok({
        let deals = store.closed_deals(&iso(from), &iso(to), ClosedExtra::Activities)?;
        notes.push(format!(
                "{window}; Pearson correlation of each feature with winning (1 won, 0 lost): the point-biserial correlation. \
                 Cycle length is known only at the close, so it describes, it does not predict"
            ));
        let won: Vec<f64> = deals.iter().map(|d| f64::from(u8::from(d.won))).collect();
        let mut features: Vec<(String, Vec<f64>)> = vec![
            (
                "log amount".into(),
                deals
                    .iter()
                    .map(|d| (d.amount_cents as f64 / 100.0).ln_1p())
                    .collect(),
            ),
            (
                "discount %".into(),
                deals.iter().map(|d| d.discount_pct).collect(),
            ),
            (
                "activities on the deal".into(),
                deals.iter().map(|d| d.activities as f64).collect(),
            ),
            (
                "cycle days".into(),
                deals.iter().map(|d| d.cycle_days as f64).collect(),
            ),
        ];
        for field in ["segment", "source", "product", "region"] {
            let mut values: Vec<String> = deals.iter().map(|d| group_of(d, field)).collect();
            values.sort();
            values.dedup();
            for v in values.into_iter().take(8) {
                features.push((
                    format!("{field} is {v}"),
                    deals
                        .iter()
                        .map(|d| f64::from(u8::from(group_of(d, field) == v)))
                        .collect(),
                ));
            }
        }
        let mut rows: Vec<(String, f64)> = features
            .into_iter()
            .filter_map(|(n, x)| correlation(&x, &won).map(|c| (n, c)))
            .collect();
        rows.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let mut t = Table::new(&["feature", "correlation", "deals", "reading"]);
        for (n, c) in rows {
            let strength = match c.abs() {
                a if a >= 0.5 => "strong",
                a if a >= 0.3 => "moderate",
                a if a >= 0.1 => "weak",
                _ => "negligible",
            };
            let dir = if c >= 0.0 {
                "goes with winning"
            } else {
                "goes with losing"
            };
            t.rows.push(vec![
                Cell::Text(n),
                Cell::Real((c * 1000.0).round() / 1000.0),
                Cell::Int(deals.len() as i64),
                Cell::Text(format!("{strength}; {dir}")),
            ]);
        }
        t
    })
}

/// Reps ranked by won revenue in the period (this month unless given).
fn leaderboard(c: &Ctx, notes: &mut Vec<String>) -> Result<Table, ReportError> {
    let Ctx {
        store,
        period,
        today,
        ..
    } = *c;
    Ok({
        let p = period.unwrap_or_else(|| Period::month_of(today));
        let list = super::targets::list(
            store,
            Some(p),
            Some(TargetScope::Rep),
            Some(TargetMetric::WonRevenue),
            today,
        )?;
        notes.push(format!(
                "reps' won-revenue targets for {p}, by attainment; pace is where attainment should be today (seasonal)"
            ));
        let mut rows = list;
        rows.sort_by(|a, b| {
            b.standing
                .attainment
                .unwrap_or(-1.0)
                .total_cmp(&a.standing.attainment.unwrap_or(-1.0))
                .then(a.target.name.cmp(&b.target.name))
        });
        let mut t = Table::new(&[
            "rank",
            "rep",
            "target",
            "actual",
            "attainment",
            "pace",
            "gap",
            "projected",
            "projected_p10",
            "projected_p90",
        ]);
        for (i, r) in rows.iter().enumerate() {
            let s = &r.standing;
            t.rows.push(vec![
                Cell::Int(i as i64 + 1),
                Cell::Text(r.target.name.clone()),
                Cell::Money(Money(s.target.round() as i64)),
                Cell::Money(Money(s.actual.round() as i64)),
                ratio(s.attainment),
                Cell::Ratio(s.pace),
                Cell::Money(Money(s.gap.round() as i64)),
                ratio(s.projected),
                ratio(s.projected_p10),
                ratio(s.projected_p90),
            ]);
        }
        if rows.is_empty() {
            notes.push(format!("no rep has a won-revenue target for {p}"));
        }
        t
    })
}

/// Writes a report as `funnel-NAME[-by-FIELD]-DATE.csv` (the table) and `.md` (title,
/// notes and table) in `dir`; returns the two paths.
pub fn export(
    r: &Report,
    by: Option<&str>,
    dir: &std::path::Path,
    today: NaiveDate,
) -> Result<(std::path::PathBuf, std::path::PathBuf), String> {
    let stem = match by {
        Some(b) => format!("funnel-{}-by-{b}-{today}", r.name),
        None => format!("funnel-{}-{today}", r.name),
    };
    let csv_path = dir.join(format!("{stem}.csv"));
    let md_path = dir.join(format!("{stem}.md"));
    let fail = |p: &std::path::Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let mut w = csv::Writer::from_path(&csv_path).map_err(|e| fail(&csv_path, &e))?;
    w.write_record(&r.table.columns)
        .map_err(|e| fail(&csv_path, &e))?;
    for row in &r.table.rows {
        w.write_record(row.iter().map(Cell::to_text))
            .map_err(|e| fail(&csv_path, &e))?;
    }
    w.flush().map_err(|e| fail(&csv_path, &e))?;
    let mut md = format!("## {}\n\n{}\n\n", r.name, r.title);
    for n in &r.notes {
        md.push_str(&format!("- {n}\n"));
    }
    md.push_str(&format!("\n| {} |\n", r.table.columns.join(" | ")));
    md.push_str(&format!("|{}\n", " --- |".repeat(r.table.columns.len())));
    for row in &r.table.rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| c.to_text().replace('|', "\\|").replace('\n', " "))
            .collect();
        md.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    std::fs::write(&md_path, md).map_err(|e| fail(&md_path, &e))?;
    Ok((csv_path, md_path))
}

/// Conversion per stage: the cohort of the last six matured months against the twelve
/// before.
fn bottleneck_table(
    store: &Store,
    today: NaiveDate,
    notes: &mut Vec<String>,
) -> Result<Table, crate::store::StoreError> {
    let a = super::funnel::analyze(store, today)?;
    let recent = &a.trend;
    let mut t = Table::new(&[
        "stage",
        "trailing_conversion",
        "recent_conversion",
        "change_points",
        "bottleneck",
    ]);
    for (name, before, now) in recent {
        let change = match (before, now) {
            (Some(b), Some(n)) => Some((n - b) * 100.0),
            _ => None,
        };
        let is = a
            .bottleneck
            .as_ref()
            .map(|b| &b.stage == name)
            .unwrap_or(false);
        t.rows.push(vec![
            Cell::Text(name.clone()),
            ratio(*before),
            ratio(*now),
            real(change),
            Cell::Text(if is { "yes".into() } else { String::new() }),
        ]);
    }
    notes.push(match &a.bottleneck {
        Some(b) => format!(
            "the bottleneck is {}: {:.1}% now against {:.1}% before (recent cohort: deals created in the six months ending {} days ago; trailing: the twelve months before; at least 30 decided deals in both)",
            b.stage, b.now * 100.0, b.before * 100.0, super::funnel::MATURITY_DAYS
        ),
        None => "no stage converts worse than in the trailing cohort".into(),
    });
    notes.push(weakest_team_note(&a));
    Ok(t)
}

/// Against the team: the team whose cohort converts worst at a stage, if any does so
/// significantly.
fn weakest_team_note(a: &super::funnel::Analysis) -> String {
    let n = a.team_comparisons;
    match &a.weakest_team {
        Some((team, b)) => format!(
            "against the team: {team} converts {:.1}% at {} against {:.1}% for the rest of the company (same cohort; q = {:.3} after Benjamini–Hochberg across {n} team × stage comparisons, false discovery rate 5%)",
            b.now * 100.0,
            b.stage,
            b.before * 100.0,
            a.weakest_team_q.unwrap_or(f64::NAN)
        ),
        None => format!(
            "against the team: no team converts worse than the rest at any stage with the false discovery rate held at 5% across {n} team × stage comparisons (Benjamini–Hochberg)"
        ),
    }
}

/// Behaviour that changed: each rep's monthly activities and each product's monthly revenue
/// against their own 12 months before (robust z beyond 3: bursts and droughts, drops),
/// and customers who bought regularly (4 purchase days or more) but have not for three
/// times their usual gap (and at least 60 days).
fn signals(
    store: &Store,
    today: NaiveDate,
    notes: &mut Vec<String>,
) -> Result<Table, crate::store::StoreError> {
    let (current, months, index) = last_18_months(today);
    let first = super::forecast::first_month(store)?
        .and_then(|d| months.iter().position(|m| *m >= d))
        .unwrap_or(months.len());
    let reps: BTreeMap<i64, String> = store
        .organisation()?
        .reps
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut activities: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let from = iso(months[0].start());
    for (m, rep, n) in
        store.monthly_actuals_by_rep(TargetMetric::Activities, &from, &iso(current.start()))?
    {
        let name = rep
            .and_then(|r| reps.get(&r).cloned())
            .unwrap_or_else(|| "(no rep)".into());
        if let Some(&i) = index.get(&m) {
            activities
                .entry(name)
                .or_insert_with(|| vec![0.0; months.len()])[i] += n as f64;
        }
    }
    let mut products: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (m, product, cents) in store.monthly_revenue_by("product", &from)? {
        if let Some(&i) = index.get(&m) {
            products
                .entry(product)
                .or_insert_with(|| vec![0.0; months.len()])[i] += cents as f64 / 100.0;
        }
    }
    let mut found: Vec<(u8, f64, Vec<Cell>)> = Vec::new();
    let row = |check: &str,
               who: &str,
               when: String,
               value: Cell,
               typical: Cell,
               score: f64,
               why: String| {
        vec![
            Cell::Text(check.into()),
            Cell::Text(who.into()),
            Cell::Text(when),
            value,
            typical,
            Cell::Real((score * 100.0).round() / 100.0),
            Cell::Text(why),
        ]
    };
    for (rep, v) in &activities {
        for (i, z, med) in outlying_months(v, first) {
            let kind = if z > 0.0 {
                "activity burst"
            } else {
                "activity drought"
            };
            let why = format!("{rep} logged {:.0} activities in {} against a typical {med:.0} (median of the 12 months before)", v[i], months[i]);
            found.push((
                0,
                z.abs(),
                row(
                    kind,
                    rep,
                    months[i].to_string(),
                    Cell::Int(v[i] as i64),
                    Cell::Real(med),
                    z,
                    why,
                ),
            ));
        }
    }
    for (product, v) in &products {
        for (i, z, med) in outlying_months(v, first).into_iter().filter(|f| f.1 < 0.0) {
            let money = |x: f64| Money((x * 100.0).round() as i64);
            let why = format!(
                "{product} brought {} in {} against a typical {} (median of the 12 months before)",
                money(v[i]),
                months[i],
                money(med)
            );
            found.push((
                1,
                z.abs(),
                row(
                    "revenue drop",
                    product,
                    months[i].to_string(),
                    Cell::Money(money(v[i])),
                    Cell::Money(money(med)),
                    z,
                    why,
                ),
            ));
        }
    }
    for (name, last, gap, silent) in stopped_customers(store, today)? {
        let why = format!("{name} bought every {gap:.0} days (median gap) and has not for {silent} days, since {last}");
        found.push((
            2,
            silent as f64 / gap,
            row(
                "orders stopped",
                &name,
                last,
                Cell::Int(silent),
                Cell::Real(gap),
                silent as f64 / gap,
                why,
            ),
        ));
    }
    notes.push(format!(
        "robust z of each month against the 12 before (|z| > 3; product revenue: drops only); customers with at least 4 purchase days whose silence is over 3 times their median gap and 60 days; {} signals",
        found.len()
    ));
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut t = Table::new(&[
        "check",
        "who",
        "when",
        "value",
        "typical",
        "score",
        "explanation",
    ]);
    t.rows = found.into_iter().map(|f| f.2).collect();
    Ok(t)
}

/// Regular buyers who stopped: (name, last purchase day, median gap in days, days since).
fn stopped_customers(
    store: &Store,
    today: NaiveDate,
) -> Result<Vec<(String, String, f64, i64)>, crate::store::StoreError> {
    let mut days: BTreeMap<i64, std::collections::BTreeSet<NaiveDate>> = BTreeMap::new();
    for l in store.order_ledger(&iso(today))? {
        if let (true, Ok(d)) = (
            l.amount_cents >= 0,
            NaiveDate::parse_from_str(&l.ordered_on, "%Y-%m-%d"),
        ) {
            days.entry(l.customer_id).or_default().insert(d);
        }
    }
    let labels = store.customer_labels()?;
    let mut out = Vec::new();
    for (c, d) in days.into_iter().filter(|(_, d)| d.len() >= 4) {
        let v: Vec<NaiveDate> = d.into_iter().collect();
        let gaps: Vec<f64> = v
            .windows(2)
            .map(|w| (w[1] - w[0]).num_days() as f64)
            .collect();
        let gap = crate::analytics::stats::quantile(&gaps, 0.5)
            .unwrap_or(0.0)
            .max(1.0);
        let last = v[v.len() - 1];
        let silent = (today - last).num_days();
        if silent as f64 > 3.0 * gap && silent >= 60 {
            let name = labels
                .get(&c)
                .map(|l| l.1.clone())
                .unwrap_or_else(|| c.to_string());
            out.push((name, last.to_string(), gap, silent));
        }
    }
    Ok(out)
}

/// Each rep's won revenue in each of the last six complete months against the twelve
/// months before it.
fn anomalies(
    store: &Store,
    today: NaiveDate,
    notes: &mut Vec<String>,
) -> Result<Table, crate::store::StoreError> {
    let (_, months, index) = last_18_months(today);
    let mut by_rep: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (m, rep, cents) in store.monthly_revenue_by("rep", &iso(months[0].start()))? {
        if let Some(&i) = index.get(&m) {
            by_rep.entry(rep).or_insert_with(|| vec![0.0; months.len()])[i] += cents as f64 / 100.0;
        }
    }
    notes.push(
        "robust z = (month - median of the 12 months before) / (1.4826 x their median absolute deviation); |z| > 3 is flagged".into(),
    );
    // Months before the ledger begins are no baseline: a month is judged against at least
    // six months of data before it.
    let first = super::forecast::first_month(store)?
        .and_then(|d| months.iter().position(|m| *m >= d))
        .unwrap_or(months.len());
    if first > 0 && first < months.len() {
        notes.push(format!(
            "the data begins in {}: baselines start there (a month needs 6 months of data before it)",
            months[first]
        ));
    }
    let mut found: Vec<(f64, Vec<Cell>)> = Vec::new();
    for (rep, v) in &by_rep {
        for (i, z, med) in outlying_months(v, first) {
            let why = format!(
                "{rep}'s won revenue in {} was {} against a typical {} (median of the 12 months before): unusually {}",
                months[i],
                Money((v[i] * 100.0).round() as i64),
                Money((med * 100.0).round() as i64),
                if z > 0.0 { "high" } else { "low" }
            );
            found.push((
                z.abs(),
                vec![
                    Cell::Text(rep.clone()),
                    Cell::Text(months[i].to_string()),
                    Cell::Money(Money((v[i] * 100.0).round() as i64)),
                    Cell::Money(Money((med * 100.0).round() as i64)),
                    Cell::Real((z * 100.0).round() / 100.0),
                    Cell::Text(why),
                ],
            ));
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut t = Table::new(&[
        "rep",
        "month",
        "won_revenue",
        "typical",
        "robust_z",
        "explanation",
    ]);
    t.rows = found.into_iter().map(|f| f.1).collect();
    if t.rows.is_empty() {
        notes.push("no rep's month stands out".into());
    }
    Ok(t)
}
