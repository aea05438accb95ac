//! `funnel pipeline`: the funnel by stage, its analysis and the pipeline forecast.

use super::*;

/// `funnel pipeline`.
pub(super) fn pipeline(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Pipeline { backtest } = command else {
        unreachable!("execute routes only Pipeline here")
    };
    if backtest {
        let b = app::pipeline_backtest::backtest(store, today)?;
        write_backtest(&mut out, &b, format)?;
        return Ok(0);
    }
    let report = app::pipeline_report(store, today)?;
    let fa = &report.funnel;
    let by_stage: std::collections::HashMap<&str, &crate::app::funnel::StageRow> =
        fa.stages.iter().map(|s| (s.name.as_str(), s)).collect();
    let rich = matches!(format, Format::Table | Format::Markdown);
    // How such ranges did on this data's history, when a backtest was run since it changed
    // (the CSV, the stage table alone, does not say it).
    let checked = if rich || format == Format::Json {
        app::pipeline_backtest::kept(store, today)?.and_then(|b| b.correlated)
    } else {
        None
    };
    if format == Format::Json {
        write_json(out, &report, &by_stage, checked.as_ref())?;
        return Ok(0);
    }
    write_stages(&mut out, &report, &by_stage, format)?;
    if rich {
        write_analysis(&mut out, store, &report, today)?;
        write_forecast(&mut out, &report, format, checked.as_ref())?;
    }
    Ok(0)
}

type ByStage<'a> = std::collections::HashMap<&'a str, &'a crate::app::funnel::StageRow>;

/// The whole report as one JSON document.
fn write_json(
    mut out: &mut dyn Write,
    report: &app::PipelineReport,
    by_stage: &ByStage,
    checked: Option<&app::pipeline_backtest::Summary>,
) -> anyhow::Result<()> {
    let (f, fa) = (&report.stages, &report.funnel);
    serde_json::to_writer_pretty(
        &mut out,
        &serde_json::json!({
            "stages": f.stages.iter().map(|s| serde_json::json!({
                "stage": s.stage,
                "kind": s.kind,
                "probability": s.probability,
                "deals": s.count,
                "value": s.value.units(),
                "weighted_value": s.weighted_value.units(),
                "conversion": by_stage.get(s.stage.as_str()).and_then(|r| r.conversion.rate()),
                "median_days": by_stage.get(s.stage.as_str()).and_then(|r| r.median_days),
                "p90_days": by_stage.get(s.stage.as_str()).and_then(|r| r.p90_days).map(|d| (d * 10.0).round() / 10.0),
                "stale_after_days": by_stage.get(s.stage.as_str()).and_then(|r| r.stale_after),
                "stale_deals": by_stage.get(s.stage.as_str()).map(|r| r.stale_now),
            })).collect::<Vec<_>>(),
            "funnel": {
                "cohort_from": fa.cohort_from,
                "cohort_to": fa.cohort_to,
                "cohort_deals": fa.cohort_deals,
                "sample_every": fa.sample_every,
                "velocity": fa.velocity,
                "bottleneck": fa.bottleneck,
                "weakest_team": fa.weakest_team,
                "weakest_team_q": fa.weakest_team_q,
                "team_comparisons": fa.team_comparisons,
            },
            "open": {
                "deals": f.open_count,
                "value": f.open_value.units(),
                "weighted_value": f.open_weighted_value.units(),
            },
            "forecast": &report.forecast,
            // null until `funnel pipeline --backtest` has run on the data as it is now.
            "backtest": checked,
        }),
    )?;
    writeln!(out)?;
    Ok(())
}

/// The stage table: counts, value, weighted value, conversion, days in stage, staleness.
fn write_stages(
    mut out: &mut dyn Write,
    report: &app::PipelineReport,
    by_stage: &ByStage,
    format: Format,
) -> anyhow::Result<()> {
    let (f, fa) = (&report.stages, &report.funnel);
    let rich = matches!(format, Format::Table | Format::Markdown);
    let mut t = Table::new(&[
        "stage",
        "kind",
        "probability",
        "deals",
        "value",
        "weighted_value",
        "conversion",
        "median_days",
        "p90_days",
        "stale_after_days",
        "stale_deals",
    ]);
    let opt = |v: Option<f64>| v.map(|x| Cell::Real(round4(x))).unwrap_or(Cell::Null);
    for s in &f.stages {
        let r = by_stage.get(s.stage.as_str());
        t.rows.push(vec![
            Cell::Text(s.stage.clone()),
            Cell::Text(s.kind.to_string()),
            Cell::Ratio(s.probability),
            Cell::Int(s.count),
            Cell::Money(s.value),
            Cell::Money(s.weighted_value),
            r.and_then(|r| r.conversion.rate())
                .map(Cell::Ratio)
                .unwrap_or(Cell::Null),
            opt(r.and_then(|r| r.median_days)),
            opt(r.and_then(|r| r.p90_days)),
            opt(r.and_then(|r| r.stale_after)),
            r.map(|r| Cell::Int(r.stale_now as i64))
                .unwrap_or(Cell::Null),
        ]);
    }
    if rich {
        t.rows.push(vec![
            Cell::Text("open pipeline".into()),
            Cell::Text(String::new()),
            Cell::Null,
            Cell::Int(f.open_count),
            Cell::Money(f.open_value),
            Cell::Money(f.open_weighted_value),
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Null,
            Cell::Int(fa.stale.len() as i64),
        ]);
    }
    output::write_table(&mut out, &t, format)?;
    Ok(())
}

/// Under the table on a terminal: the cohort, velocity, bottleneck and what could not be learned.
fn write_analysis(
    out: &mut dyn Write,
    store: &app::Db,
    report: &app::PipelineReport,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let fa = &report.funnel;
    writeln!(
            out,
            "\nconversion: of {} deals created {} to {}{}, advanced / (advanced + lost) per stage, from the stage history; \
             stale after: 80th percentile of the days winners spent in the stage (`funnel report stale-deals` lists them)",
            fa.cohort_deals, fa.cohort_from, fa.cohort_to,
            if fa.sample_every > 1 { format!(" (every {}th deal)", fa.sample_every) } else { String::new() }
        )?;
    if let Some(v) = &fa.velocity {
        writeln!(
                out,
                "velocity: {} open deals x {:.1}% win rate x {} average won / {:.0}-day cycle = {} a day",
                v.open_deals,
                v.win_rate * 100.0,
                crate::domain::Money::from_units(v.average_won),
                v.cycle_days,
                crate::domain::Money::from_units(v.per_day)
            )?;
    }
    match &fa.bottleneck {
        Some(b) => writeln!(
            out,
            "bottleneck: {} converts {:.1}% in the recent cohort against {:.1}% before",
            b.stage,
            b.now * 100.0,
            b.before * 100.0
        )?,
        None => writeln!(
            out,
            "bottleneck: none (no stage converts worse than in the trailing cohort)"
        )?,
    }
    if let Some((team, b)) = &fa.weakest_team {
        writeln!(
            out,
            "weakest team: {team} converts {:.1}% at {} against {:.1}% for the rest (q = {:.3}, Benjamini–Hochberg across {} comparisons)",
            b.now * 100.0,
            b.stage,
            b.before * 100.0,
            fa.weakest_team_q.unwrap_or(f64::NAN),
            fa.team_comparisons
        )?;
    }
    if let Some(end) = crate::app::dashboard::data_ends(store, today)? {
        writeln!(
                out,
                "the data ends {end}: nothing closed in the {} days before {today}; give --today {end} to see it as of then",
                crate::app::dashboard::STALE_DAYS
            )?;
    }
    let unlearned: Vec<&str> = fa
        .stages
        .iter()
        .filter(|s| s.stale_after.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if !unlearned.is_empty() {
        writeln!(
                out,
                "stale thresholds: not enough history for {} (a stage needs {} stays of deals that went on to win)",
                unlearned.join(", "),
                crate::app::funnel::MIN_STAYS
            )?;
    }
    Ok(())
}

/// The forecast categories by period and the Monte Carlo ranges.
fn write_forecast(
    mut out: &mut dyn Write,
    report: &app::PipelineReport,
    format: Format,
    checked: Option<&app::pipeline_backtest::Summary>,
) -> anyhow::Result<()> {
    let pf = &report.forecast;
    if !pf.no_slip_history.is_empty() {
        writeln!(
                out,
                "close-date slips: not enough history for {} (no deal won from it in the last year): their expected close dates are taken as given",
                pf.no_slip_history.join(", ")
            )?;
    }
    writeln!(
        out,
        "\nweighted pipeline by expected close month (overdue deals count in this month)"
    )?;
    let mut w = Table::new(&["month", "weighted_value"]);
    for (m, v) in &pf.weighted_by_month {
        w.rows.push(vec![Cell::Text(m.clone()), Cell::Money(*v)]);
    }
    let u = &pf.unknown_close;
    if u.deals > 0 {
        w.rows.push(vec![
            Cell::Text("close date unknown".into()),
            Cell::Money(u.weighted),
        ]);
    }
    output::write_table(&mut out, &w, format)?;
    if u.deals > 0 {
        writeln!(
                out,
                "close date unknown: {} open deal{} worth {} have no expected close; they are in no month or category{}",
                u.deals,
                if u.deals == 1 { "" } else { "s" },
                crate::domain::Money(u.value.cents()),
                if u.not_simulated > 0 {
                    format!(
                        "; {} of them are left out of the simulation (not enough history: no won deals from their stage in the last year)",
                        u.not_simulated
                    )
                } else {
                    "; the simulation draws their close from the time won deals took from their stage".into()
                }
            )?;
    }
    writeln!(out, "\nforecast categories by expected close (cumulative: closed, +commit, +best case, +pipeline)")?;
    let mut c = Table::new(&[
        "period",
        "closed",
        "commit",
        "best_case",
        "pipeline",
        "to_commit",
        "to_best_case",
        "to_pipeline",
    ]);
    let unknown_row = (pf.unknown_close.deals > 0).then_some(&pf.unknown_close.categories);
    for r in pf.categories.iter().chain(unknown_row) {
        let cum = r.cumulative();
        c.rows.push(vec![
            Cell::Text(r.period.clone()),
            Cell::Money(r.closed),
            Cell::Money(r.commit),
            Cell::Money(r.best_case),
            Cell::Money(r.pipeline),
            Cell::Money(cum[1]),
            Cell::Money(cum[2]),
            Cell::Money(cum[3]),
        ]);
    }
    output::write_table(&mut out, &c, format)?;
    writeln!(
        out,
        "\nMonte Carlo, {} runs: each open deal wins with {}, all moved together \
             in good and bad months (a shared factor, σ = {:.2} on the log-odds, {}); \
             a win's close slips as won deals from its stage did over the last year (pooled across stages where few), \
             no earlier than today{}.",
        pf.runs,
        if pf.learned_probabilities {
            "its learned win probability (funnel score), unscored deals as below".to_string()
        } else {
            let w = &pf.prior_weights;
            format!(
                "the share of deals like it that won: deals open in its stage at the month starts 6 to 18 months ago, \
                 by how far their expected close was (overdue, due soon, later, none); where few, the stage's rate moved by how that timing wins in every stage \
                 (each rate shrunk toward its prior by the pseudo-deals this data shows the prior is worth: the configured stage probability {:.0}, \
                 the overall rate for a timing {:.0}, the stage's for a stage and timing {:.0}){}",
                w.stage, w.timing, w.cell,
                if pf.size_typical.cents() > 0 {
                    format!(
                        ", its odds ×{:.2} per tenfold amount, centred on deals of about {} (by maximum likelihood on those deals)",
                        pf.size_odds_per_tenfold, pf.size_typical
                    )
                } else {
                    String::new()
                }
            )
        },
        pf.shared_sigma,
        if pf.sigma_error_months > 0 {
            format!(
                "as large as this simulation's own misses in the last {} complete months, each simulated with what was known before the first of them",
                pf.sigma_error_months
            )
        } else if pf.quarter_pull > 0.0 {
            "from the last 24 months' win rates, each month against the others in its place in the quarter, any far off the rest left out".to_string()
        } else {
            "from the last 24 months' win rates, any far off the rest left out".to_string()
        },
        if pf.quarter_pull > 0.0 {
            format!(
                "; {:.0}% of the wins due in a quarter's first {} days close on the last day of the quarter before, as the last year's did",
                pf.quarter_pull * 100.0,
                app::pipeline_forecast::PULL_DAYS
            )
        } else {
            String::new()
        }
    )?;
    // How ranges made this way did on this data's history, when that was checked since the
    // data last changed; else how to check.
    match checked {
        Some(s) => writeln!(
            out,
            "On this data's last 24 months such ranges held the month's actual in {} of {} ({:.0}%; \
             target 75–85%){} (`funnel pipeline --backtest`).",
            s.months - s.below_p10 - s.above_p90,
            s.months,
            100.0 * s.inside,
            if s.inside < 0.75 {
                ": too narrow or off-centre here, read them with care"
            } else if s.inside > 0.85 {
                ": wider than they need to be here"
            } else {
                ""
            }
        )?,
        None => writeln!(
            out,
            "`funnel pipeline --backtest` checks such ranges on the last 24 months of this data."
        )?,
    }
    let mut r = Table::new(&[
        "stage",
        "stage_probability",
        "snapshots",
        "won",
        "learned_win_rate",
    ]);
    for w in &pf.stage_win_rates {
        r.rows.push(vec![
            Cell::Text(w.stage.clone()),
            Cell::Ratio(w.configured),
            Cell::Int(w.deals),
            Cell::Int(w.won),
            Cell::Ratio(w.learned),
        ]);
    }
    output::write_table(&mut out, &r, format)?;
    let mut m = Table::new(&["period", "closed", "p10", "p50", "p90"]);
    for r in &pf.simulation {
        m.rows.push(vec![
            Cell::Text(r.name.clone()),
            Cell::Money(crate::domain::Money::from_units(r.closed)),
            Cell::Money(crate::domain::Money::from_units(r.p10)),
            Cell::Money(crate::domain::Money::from_units(r.p50)),
            Cell::Money(crate::domain::Money::from_units(r.p90)),
        ]);
    }
    output::write_table(&mut out, &m, format)?;
    Ok(())
}

/// `funnel pipeline --backtest`: each month's range and actual, then how often the actual
/// fell inside P10–P90 and the pinball loss, correlated against independent draws.
fn write_backtest(
    mut out: &mut dyn Write,
    b: &app::pipeline_backtest::PipelineBacktest,
    format: Format,
) -> anyhow::Result<()> {
    use crate::domain::Money;
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, b)?;
        writeln!(out)?;
        return Ok(());
    }
    let rich = matches!(format, Format::Table | Format::Markdown);
    if rich {
        writeln!(
            out,
            "pipeline backtest: at each month start, the pipeline as it stood that morning (stage from the stage history; amount and expected close as last recorded), simulated {} times with what was known then (win rates by stage and timing from the pipelines of 6 to 18 months before, slips of the year before, σ from the simulation's misses in the {} months before, simulated with what was known before them, else from the win rates of the 24 months before); actual = revenue won in the month from those deals",
            b.runs,
            app::pipeline_backtest::ERROR_MONTHS
        )?;
    }
    let mut t = Table::new(&[
        "month",
        "open_deals",
        "stage_unknown",
        "p10",
        "p50",
        "p90",
        "actual",
        "inside",
        "pinball",
        "independent_p10",
        "independent_p90",
        "new_in_month",
        "learned_from",
    ]);
    for m in &b.months {
        t.rows.push(vec![
            Cell::Text(m.month.clone()),
            Cell::Int(m.open_deals as i64),
            Cell::Int(m.stage_unknown as i64),
            Cell::Money(Money::from_units(m.p10)),
            Cell::Money(Money::from_units(m.p50)),
            Cell::Money(Money::from_units(m.p90)),
            Cell::Money(Money::from_units(m.actual)),
            Cell::Text(
                if m.inside() {
                    "yes"
                } else if m.actual < m.p10 {
                    "below"
                } else {
                    "above"
                }
                .into(),
            ),
            Cell::Money(Money::from_units(m.pinball)),
            Cell::Money(Money::from_units(m.independent.0)),
            Cell::Money(Money::from_units(m.independent.2)),
            Cell::Money(Money::from_units(m.new_in_month)),
            Cell::Int(m.learned_from),
        ]);
    }
    output::write_table(&mut out, &t, format)?;
    if !rich {
        return Ok(());
    }
    if !b.skipped.is_empty() {
        writeln!(
            out,
            "no deal open on the first morning of {}: nothing to simulate",
            b.skipped.join(", ")
        )?;
    }
    if !b.after_data.is_empty() {
        writeln!(
            out,
            "after the last recorded close: {} (left out: the data ends before them)",
            b.after_data.join(", ")
        )?;
    }
    let thin = b
        .months
        .iter()
        .filter(|m| m.learned_from < app::pipeline_backtest::MIN_LEARNED)
        .count();
    if thin > 0 {
        writeln!(
            out,
            "{thin} month{} had fewer than {} deal-snapshots (6 to 18 months before) to learn win rates from: shown, left out of the summary",
            if thin == 1 { "" } else { "s" },
            app::pipeline_backtest::MIN_LEARNED
        )?;
    }
    let unknown: usize = b.months.iter().map(|m| m.stage_unknown).sum();
    if unknown > 0 {
        writeln!(
            out,
            "{unknown} deal-months had no stage change recorded by their month start (an export with close dates only): simulated from the first open stage"
        )?;
    }
    if let Some(share) = b
        .expected_is_close
        .filter(|s| *s >= app::pipeline_backtest::EXPECTED_IS_CLOSE_WARNING)
    {
        writeln!(
            out,
            "caution: {:.0}% of these deals that closed have their close day as their expected close (an export with one close date for both); with no history of expected closes the backtest reads each winner's close day as known beforehand, so the ranges look better here than they are",
            share * 100.0
        )?;
    }
    for (name, s) in [
        ("correlated (as `funnel pipeline` runs it)", &b.correlated),
        ("independent deals, slips unpooled", &b.independent),
    ] {
        match s {
            Some(s) => writeln!(
                out,
                "{name}: actual inside P10–P90 in {} of {} months ({:.0}%; target 75–85%), below P10 {}, above P90 {}; mean pinball loss {} ({:.1}% of the mean actual)",
                s.months - s.below_p10 - s.above_p90,
                s.months,
                s.inside * 100.0,
                s.below_p10,
                s.above_p90,
                Money::from_units(s.pinball),
                s.pinball_relative * 100.0
            )?,
            None => writeln!(out, "{name}: no month to backtest")?,
        }
    }
    Ok(())
}
