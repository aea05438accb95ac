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
        ]);
        let (model_run, scored, auc, used) = match &r.model {
            Some((run, s)) => (
                Cell::Int(*run),
                Cell::Int(s.open.len() as i64),
                Cell::Real(round4(s.trained.logistic.auc)),
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
            scored.trained.logistic.auc
        )?,
        (Some((run, scored)), _) => writeln!(
            out,
            "model run {run} is no better than the base rate on the holdout (AUC {:.3}); \
                 deals keep their stage probabilities",
            scored.trained.logistic.auc
        )?,
        (None, why) => writeln!(
            out,
            "win probabilities not learned: {}; deals keep their stage probabilities",
            why.as_deref().unwrap_or("no model")
        )?,
    }
    Ok(0)
}
