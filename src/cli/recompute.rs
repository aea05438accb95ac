//! `funnel recompute`: forecasts and win probabilities, stored.

use super::*;

/// `funnel recompute`.
pub(super) fn recompute(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        explicit_format,
        today,
        ..
    } = ctx;
    let Command::Recompute = command else {
        unreachable!("execute routes only Recompute here")
    };
    let progress = progress::Progress::new("recompute");
    // Forecasts and scores are stored together or not at all.
    let r = crate::app::forecast::recompute_all(store, today, &mut |phase, done| {
        progress.update(phase, done)
    })?;
    drop(progress);
    if let Some(f) = explicit_format.filter(|f| *f != Format::Table) {
        let mut t = Table::new(&[
            "forecast_run",
            "model_run",
            "open_deals_scored",
            "holdout_auc",
            "model_used",
            "note",
            "intel_run",
            "customers_valued",
            "segment_run",
            "intel_note",
        ]);
        let (model_run, scored, auc, used) = match &r.model {
            Some((run, s)) => (
                Cell::Int(*run),
                Cell::Int(s.open.len() as i64),
                Cell::Real(round4(s.trained.metrics().auc)),
                s.trained.useful(),
            ),
            None => (Cell::Null, Cell::Int(0), Cell::Null, false),
        };
        t.rows.push(vec![
            Cell::Int(r.forecast_run),
            model_run,
            scored,
            auc,
            Cell::Text(if used { "yes" } else { "no" }.into()),
            r.not_scored.clone().map(Cell::Text).unwrap_or(Cell::Null),
        ]);
        let row = t.rows.last_mut().expect("one row");
        match &r.intel {
            Ok(i) => {
                row.push(Cell::Int(i.run.id));
                row.push(Cell::Int(i.run.valued as i64));
                row.push(i.run.segment_run_id.map(Cell::Int).unwrap_or(Cell::Null));
                row.push(if i.run.notes.is_empty() {
                    Cell::Null
                } else {
                    Cell::Text(i.run.notes.join("; "))
                });
            }
            Err(e) => {
                row.extend([Cell::Null, Cell::Int(0), Cell::Null, Cell::Text(e.clone())]);
            }
        }
        output::write_table(&mut out, &t, f)?;
        return Ok(0);
    }
    writeln!(
        out,
        "stored forecast run {} (company and teams, monthly)",
        r.forecast_run
    )?;
    match (&r.model, &r.not_scored) {
        (Some((run, scored)), _) if scored.trained.useful() => writeln!(
            out,
            "stored model run {run}: {} open deals scored (holdout AUC {:.3})",
            scored.open.len(),
            scored.trained.metrics().auc
        )?,
        (Some((run, scored)), _) => writeln!(
            out,
            "model run {run} is not used ({}); deals keep their stage probabilities",
            scored.trained.not_used_because().unwrap_or_default()
        )?,
        (None, why) => writeln!(
            out,
            "win probabilities not learned: {}; deals keep their stage probabilities",
            why.as_deref().unwrap_or("no model")
        )?,
    }
    match &r.intel {
        Ok(i) => {
            let segments = if i.segments.is_empty() {
                "no segments".to_string()
            } else {
                let names: Vec<String> =
                    i.segments.iter().map(|(n, c)| format!("{n} {c}")).collect();
                format!(
                    "segment run {}: {}",
                    i.run.segment_run_id.unwrap_or(0),
                    names.join(", ")
                )
            };
            writeln!(
                out,
                "stored customer intelligence run {}: {} of {} customers valued, {} with a predicted need; {segments}",
                i.run.id, i.run.valued, i.run.customers, i.with_need
            )?;
            for n in &i.run.notes {
                writeln!(out, "  not computed: {n}")?;
            }
        }
        Err(e) => writeln!(
            out,
            "customer intelligence not stored: {e} (the forecasts and scores above are)"
        )?,
    }
    Ok(0)
}
