//! `funnel score`: win probabilities, their evaluation and explanations.

use super::*;

/// What else `funnel score` does.
#[derive(Debug, clap::Subcommand)]
pub enum ScoreAction {
    /// Every stored scoring run against what happened since to the deals it scored: AUC,
    /// Brier score, log loss and (for the latest run with enough closed deals) the
    /// calibration table, with a drift warning when the live error is significantly worse
    /// than the run's training holdout.
    Accuracy,
}

/// `funnel score`.
pub(super) fn score(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        explicit_format,
        today,
        ..
    } = ctx;
    let Command::Score {
        action,
        evaluate,
        explain,
    } = command
    else {
        unreachable!("execute routes only Score here")
    };
    if let Some(ScoreAction::Accuracy) = action {
        return write_accuracy(out, &*store, format);
    }
    // Evaluating or explaining only reads: the model is learned, not stored.
    let (run, scored) = if evaluate || explain.is_some() {
        let scored = crate::app::scoring::score(store, today)?;
        (None, scored)
    } else {
        let (run, scored) = crate::app::scoring::recompute(store, today)?;
        (Some(run), scored)
    };
    let _ = run;
    if evaluate {
        return write_evaluation(out, &scored, format);
    }
    if let Some(which) = explain {
        return write_explanation(out, &scored, &which, explicit_format);
    }
    let mut rows: Vec<&(crate::domain::scoring::DealFacts, f64)> = scored.open.iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    // Which probabilities the pipeline, targets and forecasts use, and why.
    let learned = scored.trained.useful();
    let stage_p: std::collections::HashMap<String, f64> = app::organisation(&*store)?
        .stages
        .into_iter()
        .map(|s| (s.name, s.probability))
        .collect();
    let said = match scored.trained.not_used_because() {
        None => format!(
            "in use: the learned win probabilities of {} (holdout AUC {:.2}, log loss {:.3} against {:.3} for the base rate; {} deals trained, {} held out)",
            crate::app::scoring::learner_name(&scored),
            scored.trained.metrics().auc,
            scored.trained.metrics().log_loss,
            scored.trained.base_log_loss,
            scored.trained.deals.0,
            scored.trained.deals.2
        ),
        Some(why) => format!(
            "in use: the stage probabilities, not the learned ones — {why}"
        ),
    };
    if format == Format::Table {
        writeln!(out, "{said}\n")?;
    } else {
        eprintln!("{said}");
    }
    let limit = if format == Format::Table {
        50
    } else {
        usize::MAX
    };
    let mut t = Table::new(&[
        "deal",
        "name",
        "customer",
        "stage",
        "amount",
        "win_probability",
        "stage_probability",
        "in_use",
        "expected_value",
    ]);
    for (d, p) in rows.iter().take(limit) {
        let stage = stage_p.get(&d.stage).copied();
        let used = if learned { Some(*p) } else { stage };
        t.rows.push(vec![
            Cell::Text(d.external_id.clone().unwrap_or_else(|| d.id.to_string())),
            Cell::Text(d.name.clone()),
            Cell::Text(d.customer.clone()),
            Cell::Text(d.stage.clone()),
            Cell::Money(crate::domain::Money(d.amount_cents)),
            Cell::Ratio(*p),
            stage.map(Cell::Ratio).unwrap_or(Cell::Null),
            Cell::Text(if learned { "learned" } else { "stage" }.into()),
            used.map(|u| {
                Cell::Money(crate::domain::Money(
                    (d.amount_cents as f64 * u).round() as i64
                ))
            })
            .unwrap_or(Cell::Null),
        ]);
    }
    output::write_table(&mut out, &t, format)?;
    if format == Format::Table && rows.len() > limit {
        writeln!(
            out,
            "… {} more open deals (use --format csv or json for all)",
            rows.len() - limit
        )?;
    }
    Ok(0)
}

/// The holdout evaluation: each learner's AUC, Brier score and log loss, the base rate, the reliability table.
fn write_evaluation(
    mut out: &mut dyn Write,
    scored: &crate::app::scoring::Scored,
    format: Format,
) -> anyhow::Result<i32> {
    let t = &scored.trained;
    let mut m = Table::new(&["learner", "holdout_deals", "auc", "brier", "log_loss"]);
    for (name, x) in crate::app::scoring::evaluation(scored) {
        m.rows.push(vec![
            Cell::Text(name.into()),
            Cell::Int(x.n as i64),
            Cell::Real(round4(x.auc)),
            Cell::Real(round4(x.brier)),
            Cell::Real(round4(x.log_loss)),
        ]);
    }
    let mut r = Table::new(&["predicted", "mean_predicted", "observed_win_rate", "deals"]);
    for (i, (p, o, c)) in t.metrics().reliability.iter().enumerate() {
        r.rows.push(vec![
            Cell::Text(format!("{}-{}%", i * 10, i * 10 + 10)),
            if *c > 0 { Cell::Ratio(*p) } else { Cell::Null },
            if *c > 0 { Cell::Ratio(*o) } else { Cell::Null },
            Cell::Int(*c as i64),
        ]);
    }
    if format == Format::Json {
        let table_json = |t: &Table| -> serde_json::Value {
            let mut buf = Vec::new();
            output::write_table(&mut buf, t, Format::Json).ok();
            serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null)
        };
        let v = serde_json::json!({
            "trained_snapshots": t.train,
            "calibration_snapshots": t.calibration,
            "holdout_deals": t.logistic.n,
            "learner_in_use": t.chosen,
            "learners": table_json(&m),
            "base_rate_log_loss": round4(t.base_log_loss),
            "model_used": t.useful(),
            "not_used_because": t.not_used_because(),
            "deals": {"train": t.deals.0, "calibration": t.deals.1, "holdout": t.deals.2},
            "reliability": table_json(&r),
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(0);
    }
    if format == Format::Table {
        writeln!(
                out,
                "trained on {} snapshots of {} closed deals, calibrated on {} snapshots of {} deals, tested on {} of the {} most recent deals \
                 (split by deal, oldest first: no deal in two slices); not stored (`funnel score` or `recompute` stores scores)\n",
                t.train, t.deals.0, t.calibration, t.deals.1, t.metrics().n, t.deals.2
            )?;
    }
    output::write_table(&mut out, &m, format)?;
    if format == Format::Table {
        writeln!(
            out,
            "\nbase rate (always the training win rate): log loss {:.4}; {}",
            t.base_log_loss,
            match t.not_used_because() {
                None => format!(
                    "{} has the lowest holdout log loss and beats it, so its scores are used",
                    crate::app::scoring::learner_name(scored)
                ),
                Some(why) => format!("{why}, so its scores are not used"),
            }
        )?;
        writeln!(
            out,
            "\nreliability of {} on the holdout",
            crate::app::scoring::learner_name(scored)
        )?;
        output::write_table(&mut out, &r, format)?;
    }
    Ok(0)
}

/// Why one open deal has its win probability: each factor in log-odds and in words.
fn write_explanation(
    mut out: &mut dyn Write,
    scored: &crate::app::scoring::Scored,
    which: &str,
    explicit_format: Option<Format>,
) -> anyhow::Result<i32> {
    let Some(x) = crate::app::scoring::explain_deal(scored, which) else {
        anyhow::bail!(
            "no open deal '{which}' (give its external id or id; closed deals are not scored)"
        );
    };
    // A sentence and its reasons, unless a format was asked for.
    if let Some(format) = explicit_format.filter(|f| *f != Format::Table) {
        let mut t = Table::new(&["factor", "log_odds", "effect"]);
        for (text, c, effect) in &x.factors {
            t.rows.push(vec![
                Cell::Text(text.clone()),
                Cell::Real(round4(*c)),
                Cell::Text((*effect).into()),
            ]);
        }
        if format == Format::Json {
            let mut buf = Vec::new();
            output::write_table(&mut buf, &t, Format::Json)?;
            let factors: serde_json::Value = serde_json::from_slice(&buf)?;
            let v = serde_json::json!({
                "deal_id": x.deal_id,
                "headline": x.headline,
                "factors": factors,
                "note": x.note,
            });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        } else {
            output::write_table(&mut out, &t, format)?;
        }
        return Ok(0);
    }
    // The explanation quotes the deal's own data: printed terminal-safe.
    let safe = |s: &str| crate::domain::table::terminal_safe(s).into_owned();
    writeln!(out, "{}\n", safe(&x.headline))?;
    writeln!(
        out,
        "what moves it, against an average deal (log-odds; + raises, - lowers the chance):"
    )?;
    for (text, c, effect) in &x.factors {
        writeln!(out, "  {c:>+6.2}  {} — {}", safe(text), safe(effect))?;
    }
    if let Some(note) = &x.note {
        writeln!(out, "\nnote: {}", safe(note))?;
    }
    Ok(0)
}

/// `funnel score accuracy`.
fn write_accuracy(mut out: &mut dyn Write, store: &app::Db, format: Format) -> anyhow::Result<i32> {
    let runs = app::scoring::accuracy(store)?;
    let mut t = Table::new(&[
        "run",
        "at",
        "used",
        "scored",
        "closed_since",
        "won",
        "auc",
        "brier",
        "log_loss",
        "holdout_log_loss",
        "drift",
    ]);
    for r in &runs {
        let m = r.live.as_ref();
        t.rows.push(vec![
            Cell::Int(r.run_id),
            Cell::Text(r.at.clone()),
            Cell::Text(if r.used { "yes" } else { "no" }.into()),
            Cell::Int(r.scored as i64),
            Cell::Int(r.closed as i64),
            Cell::Int(r.won as i64),
            m.map(|m| Cell::Real(round4(m.auc))).unwrap_or(Cell::Null),
            m.map(|m| Cell::Real(round4(m.brier))).unwrap_or(Cell::Null),
            m.map(|m| Cell::Real(round4(m.log_loss)))
                .unwrap_or(Cell::Null),
            r.holdout_log_loss
                .map(|x| Cell::Real(round4(x)))
                .unwrap_or(Cell::Null),
            Cell::Text(if r.drift.is_some() { "yes" } else { "" }.into()),
        ]);
    }
    if format != Format::Table {
        for r in &runs {
            if let Some(d) = &r.drift {
                eprintln!("run {}: {d}", r.run_id);
            }
        }
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    if runs.is_empty() {
        writeln!(
            out,
            "no scoring runs yet: `funnel score` or `funnel recompute` makes one"
        )?;
        return Ok(0);
    }
    writeln!(
        out,
        "each scoring run against the deals it scored that have closed since (AUC, Brier, log loss on them; the run's training holdout beside)\n"
    )?;
    output::write_table(&mut out, &t, format)?;
    for r in &runs {
        if let Some(d) = &r.drift {
            writeln!(out, "\nrun {}: {d}", r.run_id)?;
        }
    }
    let latest = runs
        .iter()
        .rev()
        .find(|r| r.closed >= app::scoring::MIN_LIVE);
    match latest.and_then(|r| r.live.as_ref().map(|m| (r, m))) {
        Some((r, m)) => {
            writeln!(
                out,
                "\ncalibration of run {} on its {} deals closed since",
                r.run_id, r.closed
            )?;
            let mut c = Table::new(&["predicted", "mean_predicted", "observed_win_rate", "deals"]);
            for (i, (p, o, n)) in m.reliability.iter().enumerate() {
                c.rows.push(vec![
                    Cell::Text(format!("{}-{}%", i * 10, i * 10 + 10)),
                    if *n > 0 { Cell::Ratio(*p) } else { Cell::Null },
                    if *n > 0 { Cell::Ratio(*o) } else { Cell::Null },
                    Cell::Int(*n as i64),
                ]);
            }
            output::write_table(&mut out, &c, format)?;
        }
        None => writeln!(
            out,
            "\nno run has seen {} of its deals close yet: no live calibration to show",
            app::scoring::MIN_LIVE
        )?,
    }
    Ok(0)
}
