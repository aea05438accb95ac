//! `funnel plan`: a rep's visits and calls for the next working days, drawn by visit
//! probabilities (a softmax of explained priority scores), or every customer's score.

use super::*;

/// `funnel plan`.
pub(super) fn run(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Command::Plan {
        rep,
        days,
        per_day,
        alpha,
        seed,
        greedy,
        scores,
    } = command
    else {
        unreachable!("execute routes only Plan here")
    };
    let Ctx {
        store,
        out,
        format,
        today,
        ..
    } = ctx;
    let Some(rep) = rep.or_else(app::configured_rep) else {
        return Err(usage(
            "whose plan? give --rep NAME (or set `rep = \"Your Name\"` in config.toml or $FUNNEL_REP)",
        ));
    };
    let mut w = app::priority_weights().map_err(usage)?;
    if let Some(a) = alpha {
        if !(a >= 0.0 && a.is_finite()) {
            return Err(usage(format!("--alpha {a}: a number of 0 or more")));
        }
        w.alpha = a;
    }
    if days == 0 || per_day == Some(0) {
        return Err(usage("--days and --per-day must be at least 1"));
    }
    let learned = app::agenda::learned_intervals(&*store, today)?;
    if scores {
        let (_, scored) = app::plan::priorities(&*store, &rep, today, &w, &learned)?;
        let mut t = Table::new(&["customer", "city", "score", "probability", "reasons"]);
        for s in &scored {
            t.rows.push(vec![
                Cell::Text(s.customer.clone()),
                s.city.clone().map(Cell::Text).unwrap_or(Cell::Null),
                Cell::Real((s.score * 1000.0).round() / 1000.0),
                Cell::Ratio(s.probability),
                Cell::Text(s.reasons.join("; ")),
            ]);
        }
        if format == Format::Ics {
            return Err(usage("--format ics is for the plan, not --scores"));
        }
        output::write_table(out, &t, format)?;
        return Ok(0);
    }
    let plan = app::plan::plan(
        &*store, &rep, today, days, per_day, &w, seed, greedy, &learned,
    )?;
    if format == Format::Ics {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        agenda::ics_line(out, "BEGIN:VCALENDAR")?;
        agenda::ics_line(out, "VERSION:2.0")?;
        agenda::ics_line(out, "PRODID:-//funnel//plan//EN")?;
        for p in &plan {
            let day = p.day.format("%Y%m%d").to_string();
            let next = p
                .day
                .succ_opt()
                .unwrap_or(p.day)
                .format("%Y%m%d")
                .to_string();
            agenda::ics_line(out, "BEGIN:VEVENT")?;
            agenda::ics_line(
                out,
                &format!("UID:plan-{}-{day}@funnel", p.visit.customer_id),
            )?;
            agenda::ics_line(out, &format!("DTSTAMP:{stamp}"))?;
            agenda::ics_line(out, &format!("DTSTART;VALUE=DATE:{day}"))?;
            agenda::ics_line(out, &format!("DTEND;VALUE=DATE:{next}"))?;
            agenda::ics_line(
                out,
                &format!(
                    "SUMMARY:{}",
                    agenda::ics_text(&format!("visit or call: {}", p.visit.customer))
                ),
            )?;
            agenda::ics_line(
                out,
                &format!(
                    "DESCRIPTION:{}",
                    agenda::ics_text(&format!(
                        "priority {:.2}, P {:.1}%\n{}",
                        p.visit.score,
                        100.0 * p.visit.probability,
                        p.visit.reasons.join("\n")
                    ))
                ),
            )?;
            if let Some(c) = &p.visit.city {
                agenda::ics_line(out, &format!("LOCATION:{}", agenda::ics_text(c)))?;
            }
            agenda::ics_line(out, "END:VEVENT")?;
        }
        agenda::ics_line(out, "END:VCALENDAR")?;
        return Ok(0);
    }
    let mut t = Table::new(&["day", "customer", "city", "score", "probability", "reasons"]);
    for p in &plan {
        t.rows.push(vec![
            Cell::Text(p.day.to_string()),
            Cell::Text(p.visit.customer.clone()),
            p.visit.city.clone().map(Cell::Text).unwrap_or(Cell::Null),
            Cell::Real((p.visit.score * 1000.0).round() / 1000.0),
            Cell::Ratio(p.visit.probability),
            Cell::Text(p.visit.reasons.join("; ")),
        ]);
    }
    if format == Format::Table {
        writeln!(
            out,
            "{rep}: {} contacts over {days} working days, {}; α = {}\n",
            plan.len(),
            if greedy {
                "the top scores".to_string()
            } else {
                format!("drawn by visit probability (seed {seed})")
            },
            w.alpha
        )?;
    }
    output::write_table(out, &t, format)?;
    Ok(0)
}
