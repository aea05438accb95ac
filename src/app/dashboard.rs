//! What the dashboard shows: the open funnel with conversion, won and lost this month,
//! target attainment by team with pace, and the latest stored forecast run.

use crate::analytics::targets::{elapsed_share, roll_up};
use crate::app::Db as Store;
use crate::domain::date::iso;
use crate::domain::{Money, Period, StageKind};
use crate::store::dashboard::ForecastRun;
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStage {
    pub name: String,
    pub count: i64,
    pub value: Money,
    pub weighted: Money,
    /// Entries into the next stage (or won, after the last open stage) per entry into this
    /// one, over the last 12 months.
    pub conversion: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelPane {
    pub period: Period,
    pub stages: Vec<FunnelStage>,
    pub won: (i64, Money),
    pub lost: (i64, Money),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetGauge {
    pub name: String,
    /// 0 for the company, 1 for top-level teams, and so on.
    pub depth: usize,
    pub target: Option<Money>,
    pub actual: Money,
}

impl TargetGauge {
    pub fn attainment(&self) -> Option<f64> {
        self.target
            .filter(|t| t.cents() > 0)
            .map(|t| self.actual.cents() as f64 / t.cents() as f64)
    }
    /// What is still missing to reach the target (zero once reached).
    pub fn gap(&self) -> Option<Money> {
        self.target
            .map(|t| Money((t.cents() - self.actual.cents()).max(0)))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetsPane {
    pub period: Period,
    /// Where attainment should be today: the share of the period passed (linear in days).
    pub pace: f64,
    pub gauges: Vec<TargetGauge>,
    /// Every rep with a target or revenue this period, best attainment first.
    pub leaderboard: Vec<RepStanding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepStanding {
    pub rep: String,
    pub team: Option<String>,
    pub target: Option<Money>,
    pub actual: Money,
}

impl RepStanding {
    pub fn attainment(&self) -> Option<f64> {
        self.target
            .filter(|t| t.cents() > 0)
            .map(|t| self.actual.cents() as f64 / t.cents() as f64)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub today: NaiveDate,
    /// The last day something closed, when that is more than `STALE_DAYS` before today:
    /// the data ends long before today, and the screens can be viewed as of that day.
    pub data_ends: Option<NaiveDate>,
    pub funnel: FunnelPane,
    pub targets: TargetsPane,
    pub forecast: Option<ForecastRun>,
    /// Alerts the automation rules raised and nobody dismissed.
    pub alerts: usize,
}

/// Days without a close after which the dashboard says the data has ended.
pub const STALE_DAYS: i64 = 90;

/// The last day something closed, when nothing has closed in the `STALE_DAYS` before
/// `today`: the data ends long before today.
pub fn data_ends(store: &Store, today: NaiveDate) -> Result<Option<NaiveDate>, StoreError> {
    Ok(store
        .last_close_day()?
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .filter(|d| (today - *d).num_days() > STALE_DAYS))
}

pub fn load(store: &Store, today: NaiveDate) -> Result<Dashboard, StoreError> {
    let period = Period::month_of(today);
    let (targets, order) = targets(store, today, period)?;
    let mut forecast = store.dashboard_forecast_run(super::forecast::LEVEL, &today.to_string())?;
    if let Some(run) = &mut forecast {
        // The company first, then the teams in tree order, as on the Targets pane.
        let rank = |key: &str| order.iter().position(|n| n == key).unwrap_or(usize::MAX);
        run.series.sort_by_key(|s| rank(&s.key));
    }
    let data_ends = data_ends(store, today)?;
    Ok(Dashboard {
        today,
        data_ends,
        funnel: funnel(store, period)?,
        targets,
        forecast,
        alerts: store.open_alerts(0)?.0,
    })
}

fn funnel(store: &Store, period: Period) -> Result<FunnelPane, StoreError> {
    let totals = store.stage_totals()?;
    let stages = totals
        .iter()
        .filter(|t| t.stage.kind == StageKind::Open)
        .map(|t| FunnelStage {
            name: t.stage.name.clone(),
            count: t.count,
            value: t.value,
            weighted: Money((t.value.cents() as f64 * t.stage.probability).round() as i64),
            conversion: None,
        })
        .collect();
    let closed = store.closed_between(&iso(period.start()), &iso(period.end_exclusive()))?;
    let pick = |k: &str| {
        closed
            .get(k)
            .map(|&(n, c)| (n, Money(c)))
            .unwrap_or((0, Money(0)))
    };
    Ok(FunnelPane {
        period,
        stages,
        won: pick("won"),
        lost: pick("lost"),
    })
}

/// The targets pane, and every team name in tree order (the company first).
fn targets(
    store: &Store,
    today: NaiveDate,
    period: Period,
) -> Result<(TargetsPane, Vec<String>), StoreError> {
    let (from, to) = (iso(period.start()), iso(period.end_exclusive()));
    let by_rep = store.revenue_by_rep(&from, &to)?;
    let rep_team = store.rep_teams()?;
    let teams = store.teams()?;
    let goals = store.revenue_targets(&period.to_string())?;
    let mut direct: HashMap<i64, i64> = HashMap::new();
    for (rep, cents) in &by_rep {
        if let Some(team) = rep.and_then(|r| rep_team.get(&r)) {
            *direct.entry(*team).or_default() += cents;
        }
    }
    let parents: HashMap<i64, Option<i64>> = teams.iter().map(|t| (t.id, t.parent_id)).collect();
    let totals = roll_up(&parents, &direct);
    let mut gauges = vec![TargetGauge {
        name: "Company".into(),
        depth: 0,
        target: goals.get("company").map(|&c| Money(c)),
        actual: Money(by_rep.values().sum()),
    }];
    let mut order = vec!["Company".to_string()];
    for (t, depth) in team_order(&teams) {
        order.push(t.name.clone());
        let target = goals.get(&format!("team:{}", t.id)).map(|&c| Money(c));
        let actual = Money(totals.get(&t.id).copied().unwrap_or(0));
        if target.is_some() || actual.cents() != 0 {
            gauges.push(TargetGauge {
                name: t.name.clone(),
                depth,
                target,
                actual,
            });
        }
    }
    let names = store.rep_names()?;
    let mut leaderboard: Vec<RepStanding> = names
        .iter()
        .filter_map(|(id, (rep, team))| {
            let target = goals.get(&format!("rep:{id}")).map(|&c| Money(c));
            let actual = Money(by_rep.get(&Some(*id)).copied().unwrap_or(0));
            (target.is_some() || actual.cents() != 0).then(|| RepStanding {
                rep: rep.clone(),
                team: team.clone(),
                target,
                actual,
            })
        })
        .collect();
    leaderboard.sort_by(|a, b| {
        b.attainment()
            .unwrap_or(-1.0)
            .total_cmp(&a.attainment().unwrap_or(-1.0))
            .then(b.actual.cmp(&a.actual))
            .then(a.rep.cmp(&b.rep))
    });
    Ok((
        TargetsPane {
            period,
            pace: elapsed_share(period.start(), period.end_exclusive(), today),
            gauges,
            leaderboard,
        },
        order,
    ))
}

/// Teams in tree order, each right after its parent, with its depth (top-level teams 1).
/// A cycle in the parent links stops at 16 levels rather than looping.
pub(super) fn team_order(
    teams: &[crate::store::dashboard::Team],
) -> Vec<(&crate::store::dashboard::Team, usize)> {
    fn walk<'a>(
        parent: Option<i64>,
        depth: usize,
        teams: &'a [crate::store::dashboard::Team],
        out: &mut Vec<(&'a crate::store::dashboard::Team, usize)>,
    ) {
        for t in teams.iter().filter(|t| t.parent_id == parent) {
            out.push((t, depth));
            if depth < 16 {
                walk(Some(t.id), depth + 1, teams, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(None, 1, teams, &mut out);
    out
}

/// Each open stage's conversion, the same measure `funnel pipeline` and the funnel report
/// show (advanced / (advanced + lost) in the cohort of deals created in the twelve months
/// before the last 90 days), by stage name. Loaded after the first frame, since it reads a
/// year of stage history.
/// Kept per data version (a year of stage history is read to work them out).
pub fn conversions(store: &Store, today: NaiveDate) -> Result<HashMap<String, f64>, StoreError> {
    super::cache::cached(store, "conversions", today, || {
        super::funnel::stage_conversions(store, today)
    })
}
