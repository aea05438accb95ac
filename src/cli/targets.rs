//! `funnel targets list|set|revise|propose`.

use super::output::{self, Format};
use crate::app::targets::{self, Method};
use crate::app::Db as Store;
use crate::domain::{Cell, Money, Period, Table, TargetMetric, TargetScope};
use chrono::NaiveDate;
use clap::Subcommand;
use std::io::Write;

#[derive(Subcommand, Debug)]
pub enum TargetsCommand {
    /// Targets with actual, attainment, pace, gap, coverage, projected attainment and the
    /// win rate needed on the open pipeline.
    List {
        /// 2026-03, 2026-Q1 or 2026 (default: every period with targets).
        #[arg(long, value_parser = parse_period)]
        period: Option<Period>,
        /// company, team or rep.
        #[arg(long, value_parser = parse_scope)]
        scope: Option<TargetScope>,
        /// won_revenue, won_deals, activities or new_customers.
        #[arg(long, value_parser = parse_metric)]
        metric: Option<TargetMetric>,
    },
    /// Sets a target (the change is kept as a revision).
    Set {
        /// 2026-03, 2026-Q1 or 2026.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        #[arg(long, conflicts_with_all = ["team", "rep"])]
        company: bool,
        #[arg(long, value_name = "NAME", conflicts_with = "rep")]
        team: Option<String>,
        #[arg(long, value_name = "NAME")]
        rep: Option<String>,
        /// won_revenue (default), won_deals, activities or new_customers.
        #[arg(long, default_value = "won_revenue", value_parser = parse_metric)]
        metric: TargetMetric,
        /// Why (kept with the revision).
        #[arg(long, default_value = "set")]
        reason: String,
        /// An amount for revenue (12500, 12,500.00), a count otherwise.
        amount: String,
    },
    /// Revises a target, keeping the old value, who, when and why.
    Revise {
        id: i64,
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Proposes won-revenue targets for the company, teams and reps, each with its
    /// rationale; saved only with --save.
    Propose {
        /// goal, performance or resource.
        #[arg(long, value_parser = parse_method)]
        method: Method,
        /// 2026-03, 2026-Q1 or 2026.
        #[arg(long, value_parser = parse_period)]
        period: Period,
        /// Growth goal in percent over the forecast (goal method).
        #[arg(long, default_value_t = 10.0)]
        growth: f64,
        #[arg(long)]
        save: bool,
    },
    /// Every revision of a target: old and new value, who, when, why.
    History { id: i64 },
}

/// `--period`, read by clap (a bad one is a usage error, exit 2).
fn parse_period(p: &str) -> Result<Period, String> {
    Period::parse(p).map_err(|e| e.to_string())
}

/// `--scope`.
fn parse_scope(s: &str) -> Result<TargetScope, String> {
    s.parse()
        .map_err(|_| "use company, team or rep".to_string())
}

/// `--metric`.
fn parse_metric(m: &str) -> Result<TargetMetric, String> {
    m.parse()
        .map_err(|_| "use won_revenue, won_deals, activities or new_customers".to_string())
}

/// `--method` of a proposal.
fn parse_method(m: &str) -> Result<Method, String> {
    Method::parse(m).ok_or_else(|| "use goal, performance or resource".to_string())
}

/// What setting or revising a target did: a sentence on a terminal, else one row
/// (target, whose, period, metric, old, new, change, reason) in the format asked for.
#[allow(clippy::too_many_arguments)]
fn write_change(
    out: &mut dyn Write,
    format: Option<Format>,
    id: i64,
    who: &str,
    period: &str,
    metric: TargetMetric,
    old: Option<i64>,
    new: i64,
    reason: &str,
) -> anyhow::Result<()> {
    let change = match old {
        Some(o) if o == new => "unchanged",
        Some(_) => "revised",
        None => "set",
    };
    let Some(format) = format.filter(|f| *f != Format::Table) else {
        let show = |v: i64| targets::format_value(metric, v);
        let what = format!("target {id} ({who} {period} {})", metric.as_str());
        match old {
            Some(o) if o == new => {
                writeln!(out, "{what} unchanged at {}: nothing written", show(new))?
            }
            Some(o) => writeln!(
                out,
                "{what} revised from {} to {}: {reason}",
                show(o),
                show(new)
            )?,
            None => writeln!(out, "{what} set to {}", show(new))?,
        }
        return Ok(());
    };
    let value = |v: i64| {
        if metric.is_money() {
            Cell::Money(Money(v))
        } else {
            Cell::Int(v)
        }
    };
    let mut t = Table::new(&[
        "target", "whose", "period", "metric", "old", "new", "change", "reason",
    ]);
    t.rows.push(vec![
        Cell::Int(id),
        Cell::Text(who.into()),
        Cell::Text(period.into()),
        Cell::Text(metric.as_str().into()),
        old.map(value).unwrap_or(Cell::Null),
        value(new),
        Cell::Text(change.into()),
        Cell::Text(reason.into()),
    ]);
    output::write_table(out, &t, format)?;
    Ok(())
}

fn value_cell(metric: TargetMetric, v: f64) -> Cell {
    if metric.is_money() {
        Cell::Money(Money(v.round() as i64))
    } else if v.fract() == 0.0 {
        Cell::Int(v as i64)
    } else {
        Cell::Real((v * 10.0).round() / 10.0)
    }
}

/// `format` is for the tables (list, history, proposals); `explicit` is the --format the
/// user gave, for what is otherwise a sentence (set, revise).
pub fn run(
    store: &mut Store,
    cmd: TargetsCommand,
    today: NaiveDate,
    format: Format,
    explicit: Option<Format>,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    match cmd {
        TargetsCommand::List {
            period,
            scope,
            metric,
        } => list(store, period, scope, metric, today, format, out),
        TargetsCommand::Set {
            period,
            company,
            team,
            rep,
            metric,
            reason,
            amount,
        } => {
            let (scope, name) = match (company, team, rep) {
                (true, _, _) => (TargetScope::Company, None),
                (false, Some(t), None) => (TargetScope::Team, Some(t)),
                (false, None, Some(r)) => (TargetScope::Rep, Some(r)),
                _ => {
                    return Err(super::usage(
                        "say whose target it is: --company, --team NAME or --rep NAME",
                    ))
                }
            };
            let value = targets::parse_value(metric, &amount)
                .map_err(|e| super::usage(format!("amount: {e}")))?;
            let (id, old) = targets::set(
                store,
                scope,
                name.as_deref(),
                period,
                metric,
                value,
                &reason,
            )?;
            let who = name.unwrap_or_else(|| "company".into());
            write_change(
                out,
                explicit,
                id,
                &who,
                &period.to_string(),
                metric,
                old,
                value,
                &reason,
            )?;
            Ok(0)
        }
        TargetsCommand::Revise { id, amount, reason } => {
            let Some(row) = crate::app::targets::target(store, id)? else {
                anyhow::bail!("there is no target {id} (`funnel targets list` shows the ids)");
            };
            let value = targets::parse_value(row.metric, &amount)
                .map_err(|e| super::usage(format!("amount: {e}")))?;
            let old = targets::revise(store, id, value, &reason)?;
            write_change(
                out,
                explicit,
                id,
                &row.name,
                &row.period.to_string(),
                row.metric,
                Some(old),
                value,
                &reason,
            )?;
            Ok(0)
        }
        TargetsCommand::History { id } => {
            let revs = crate::app::targets::revisions(store, id)?;
            if revs.is_empty() {
                anyhow::bail!("there is no target {id} (`funnel targets list` shows the ids)");
            }
            let mut t = Table::new(&[
                "revision",
                "changed_at",
                "changed_by",
                "metric",
                "old",
                "new",
                "reason",
            ]);
            for r in revs {
                // Revenue is kept in cents: shown as money; counts as they are.
                let value = |v: i64| {
                    if r.metric.is_money() {
                        Cell::Money(Money(v))
                    } else {
                        Cell::Int(v)
                    }
                };
                t.rows.push(vec![
                    Cell::Int(r.id),
                    Cell::Text(r.changed_at),
                    Cell::Text(r.changed_by),
                    Cell::Text(r.metric.as_str().into()),
                    r.old_value.map(value).unwrap_or(Cell::Null),
                    value(r.new_value),
                    Cell::Text(r.reason),
                ]);
            }
            output::write_table(out, &t, format)?;
            Ok(0)
        }
        TargetsCommand::Propose {
            method,
            period,
            growth,
            save,
        } => propose(store, method, period, growth, save, today, format, out),
    }
}

/// `funnel targets list`: every target with where it stands.
fn list(
    store: &mut Store,
    period: Option<Period>,
    scope: Option<TargetScope>,
    metric: Option<TargetMetric>,
    today: NaiveDate,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let rows = targets::list(store, period, scope, metric, today)?;
    let mut t = Table::new(&[
        "id",
        "period",
        "scope",
        "name",
        "metric",
        "target",
        "actual",
        "attainment",
        "pace",
        "gap",
        "coverage",
        "projected",
        "projected_p10",
        "projected_p90",
        "required_win_rate",
        "children_sum",
    ]);
    for r in &rows {
        let m = r.target.metric;
        let s = &r.standing;
        t.rows.push(vec![
            Cell::Int(r.target.id),
            Cell::Text(r.target.period.clone()),
            Cell::Text(r.target.scope.as_str().into()),
            Cell::Text(r.target.name.clone()),
            Cell::Text(m.as_str().into()),
            value_cell(m, s.target),
            value_cell(m, s.actual),
            s.attainment.map(Cell::Ratio).unwrap_or(Cell::Null),
            Cell::Ratio(s.pace),
            value_cell(m, s.gap),
            s.coverage
                .map(|c| Cell::Real((c * 100.0).round() / 100.0))
                .unwrap_or(Cell::Null),
            s.projected.map(Cell::Ratio).unwrap_or(Cell::Null),
            s.projected_p10.map(Cell::Ratio).unwrap_or(Cell::Null),
            s.projected_p90.map(Cell::Ratio).unwrap_or(Cell::Null),
            s.required_win_rate.map(Cell::Ratio).unwrap_or(Cell::Null),
            r.mismatch
                .map(|v| value_cell(m, v as f64))
                .unwrap_or(Cell::Null),
        ]);
    }
    output::write_table(out, &t, format)?;
    let mismatches = rows.iter().filter(|r| r.mismatch.is_some()).count();
    if mismatches > 0 {
        eprintln!(
                "{mismatches} target(s) differ from the sum of the targets one level down (children_sum): \
                 a team's reps and sub-teams, the company's top-level teams"
            );
    }
    if rows.is_empty() {
        eprintln!("no targets match; `funnel targets set` or `funnel targets propose` makes some");
    }
    Ok(0)
}

/// `funnel targets propose`: proposals with their rationale, saved only with --save.
#[allow(clippy::too_many_arguments)]
fn propose(
    store: &mut Store,
    m: Method,
    period: Period,
    growth: f64,
    save: bool,
    today: NaiveDate,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    if !growth.is_finite() || growth <= -100.0 {
        return Err(super::usage(format!(
            "--growth {growth}: give a percentage above -100"
        )));
    }
    let p = targets::propose(store, m, period, growth, today)?;
    if format == Format::Table || format == Format::Markdown {
        writeln!(
            out,
            "{} proposal for {}: {}\n",
            p.method, p.period, p.summary
        )?;
    }
    let mut t = Table::new(&["scope", "name", "proposed", "rationale"]);
    for r in &p.rows {
        t.rows.push(vec![
            Cell::Text(r.scope.as_str().into()),
            Cell::Text(r.name.clone()),
            Cell::Money(Money(r.value_cents)),
            Cell::Text(r.rationale.clone()),
        ]);
    }
    output::write_table(out, &t, format)?;
    if save {
        let n = targets::save_proposal(store, &p)?;
        eprintln!(
            "saved {n} won_revenue targets for {} (revisions keep the old values)",
            p.period
        );
    } else {
        eprintln!("not saved: review, then run again with --save");
    }
    Ok(0)
}
