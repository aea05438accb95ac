//! `funnel demo`: realistic, deterministic demo data.

use super::*;

/// `funnel demo`.
pub(super) fn demo(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        path,
        ..
    } = ctx;
    let Command::Demo {
        seed,
        customers,
        deals,
        months,
        force,
        as_of,
    } = command
    else {
        unreachable!("execute routes only Demo here")
    };
    let as_of = match as_of {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("--as-of: '{d}' is not a date (YYYY-MM-DD)"))?,
        None => today,
    };
    let opts = app::demo::DemoOptions {
        seed,
        customers,
        deals,
        months,
        force,
        as_of,
    };
    if force {
        // Replacing the data: a verified backup first (the newest few are kept).
        if let Some(b) = app::rolling_backup(store, "demo-force")? {
            eprintln!(
                "kept a backup of the data being replaced at {}",
                b.display()
            );
        }
    }
    let started = std::time::Instant::now();
    let progress = progress::Progress::new("demo");
    let report = app::demo::generate(store, &opts, &Actor::current(), &mut |phase, done| {
        progress.update(phase, done)
    })?;
    drop(progress);
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        writeln!(
                out,
                "demo data in {} ({:.1}s): {} customers, {} contacts, {} reps in {} teams, {} products, \
                 {} deals ({} won, {} lost, {} open), {} stage changes, {} activities, {} orders, {} targets",
                path.display(),
                started.elapsed().as_secs_f64(),
                report.customers,
                report.contacts,
                report.reps,
                report.teams,
                report.products,
                report.deals,
                report.won,
                report.lost,
                report.open,
                report.stage_changes,
                report.activities,
                report.orders,
                report.targets
            )?;
        for a in &report.anomalies {
            writeln!(out, "  anomaly: {a}")?;
        }
    }
    Ok(0)
}
