//! `funnel forecast`: of the database, of a series file, and their accuracy.

use super::*;

/// `--by`, read by clap.
pub(super) fn parse_level(b: &str) -> Result<crate::app::forecast::Level, String> {
    crate::app::forecast::Level::parse(b).ok_or_else(|| "use company, team, rep or product".into())
}

/// `--method`, read by clap (an unknown one is a usage error naming the methods).
pub(super) fn parse_method(m: &str) -> Result<crate::app::forecast::Method, String> {
    crate::app::forecast::Method::parse(m).ok_or_else(|| {
        let names: Vec<&str> = crate::app::forecast::Method::ALL
            .iter()
            .map(|m| m.name())
            .collect();
        format!("use one of {}", names.join(", "))
    })
}

/// `funnel forecast`.
pub(super) fn forecast(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Forecast {
        what,
        series,
        by,
        period,
        horizon,
        method,
    } = command
    else {
        unreachable!("execute routes only Forecast here")
    };
    if series.is_some() || what.is_some() {
        // These forecast the database's revenue; a file or the accuracy table has
        // nothing for them to do.
        if let Some(b) = by {
            return Err(usage(format!(
                "forecast: --by {} is for forecasts of the database's revenue, not {}",
                b.name(),
                if series.is_some() {
                    "--series"
                } else {
                    "accuracy"
                }
            )));
        }
        if period.is_some() && series.is_some() {
            return Err(usage(
                    "forecast: --period is for forecasts of the database's revenue; a --series file is monthly",
                ));
        }
    }
    let by = by.unwrap_or(crate::app::forecast::Level::Company);
    let period = period.unwrap_or_else(|| "month".into());
    // clap has checked both: a method funnel knows, month or quarter.
    let quarterly = period == "quarter";
    let horizon = horizon.unwrap_or(if quarterly { 4 } else { 12 });
    if horizon == 0 || horizon > 120 {
        eprintln!("funnel: forecast: --horizon must be from 1 to 120");
        return Ok(2);
    }
    match what.as_deref() {
        Some("accuracy") => return write_accuracy(out, store, today, format),
        Some(other) => {
            eprintln!("funnel: forecast: '{other}' is not known: use `funnel forecast accuracy`");
            return Ok(2);
        }
        None => {}
    }
    let Some(file) = series else {
        return forecast_database(out, store, by, quarterly, horizon, method, today, format);
    };
    let (forecasts, errors) = crate::app::forecast::forecast_file(&file, horizon, method)?;
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{}:{}: {}: {}", file.display(), e.line, e.column, e.reason);
        }
        return Ok(1);
    }
    for f in forecasts.iter().filter(|f| f.filled > 0) {
        eprintln!(
            "{}: series {}: {} missing months filled by linear interpolation",
            file.display(),
            f.key,
            f.filled
        );
    }
    let mut t = Table::new(&["series", "period", "forecast", "lo", "hi", "model"]);
    for f in &forecasts {
        for (p, v, lo, hi) in &f.points {
            t.rows.push(vec![
                Cell::Text(f.key.clone()),
                Cell::Text(p.to_string()),
                Cell::Real(round4(*v)),
                Cell::Real(round4(*lo)),
                Cell::Real(round4(*hi)),
                Cell::Text(f.method.to_string()),
            ]);
        }
    }
    output::write_table(&mut out, &t, format)?;
    Ok(0)
}

/// Stored forecast runs against what happened: MASE and WAPE per level and run.
fn write_accuracy(
    mut out: &mut dyn Write,
    store: &app::Db,
    today: chrono::NaiveDate,
    format: Format,
) -> anyhow::Result<i32> {
    let rows = crate::app::forecast::accuracy(store, today)?;
    let mut t = Table::new(&[
        "run",
        "created_at",
        "level",
        "period",
        "series",
        "points",
        "mase",
        "wape",
        "coverage_80",
        "drift",
    ]);
    let drifts: Vec<String> = rows
        .iter()
        .filter_map(|a| a.drift.as_ref().map(|d| format!("run {}: {d}", a.run_id)))
        .collect();
    for a in rows {
        t.rows.push(vec![
            Cell::Int(a.run_id),
            Cell::Text(a.created_at),
            Cell::Text(a.level),
            Cell::Text(a.period_kind),
            Cell::Int(a.series as i64),
            Cell::Int(a.points as i64),
            a.mase.map(|v| Cell::Real(round4(v))).unwrap_or(Cell::Null),
            a.wape.map(Cell::Ratio).unwrap_or(Cell::Null),
            a.coverage.map(Cell::Ratio).unwrap_or(Cell::Null),
            Cell::Text(if a.drift.is_some() { "yes" } else { "" }.into()),
        ]);
    }
    output::write_table(&mut out, &t, format)?;
    for d in &drifts {
        if format == Format::Table {
            writeln!(out, "\n{d}")?;
        } else {
            eprintln!("{d}");
        }
    }
    Ok(0)
}

/// A forecast of the database's revenue at one level, stored as a run and printed.
#[allow(clippy::too_many_arguments)]
fn forecast_database(
    mut out: &mut dyn Write,
    store: &mut app::Db,
    level: crate::app::forecast::Level,
    quarterly: bool,
    horizon: usize,
    method: crate::app::forecast::Method,
    today: chrono::NaiveDate,
    format: Format,
) -> anyhow::Result<i32> {
    let id = crate::app::forecast::run(
        store,
        level,
        quarterly,
        horizon,
        method,
        today,
        &mut |_, _| {},
    )?;
    let run = crate::app::forecast::stored_run(store, id)?
        .ok_or_else(|| anyhow::anyhow!("run {id} vanished"))?;
    let mut t = Table::new(&["series", "period", "forecast", "lo", "hi", "model"]);
    for s in &run.series {
        for (p, v, lo, hi) in &s.points {
            t.rows.push(vec![
                Cell::Text(s.key.clone()),
                Cell::Text(p.clone()),
                Cell::Money(crate::domain::Money::from_units(*v)),
                Cell::Money(crate::domain::Money::from_units(lo.max(0.0))),
                Cell::Money(crate::domain::Money::from_units(*hi)),
                Cell::Text(s.model.clone()),
            ]);
        }
    }
    output::write_table(&mut out, &t, format)?;
    let season = if quarterly { 4 } else { 12 };
    for s in run.series.iter().filter(|s| s.history.len() < 2 * season) {
        eprintln!(
            "{}: {} {} of history from {}; seasonal methods need {}, so the forecast is {}",
            s.key,
            s.history.len(),
            if quarterly { "quarters" } else { "months" },
            s.history.first().map(|h| h.0.as_str()).unwrap_or("-"),
            2 * season,
            s.model
        );
    }
    eprintln!(
        "stored as forecast run {id}; `funnel forecast accuracy` compares runs with what happened"
    );
    Ok(0)
}
