//! `funnel plan`: a rep's visits and calls for the next working days, drawn by visit
//! probabilities (a softmax of explained priority scores), or every customer's score.

use super::*;

/// What else `funnel plan` does.
#[derive(Debug, clap::Subcommand)]
pub enum PlanAction {
    /// A saved plan against what was done: each planned contact, whether and when it was
    /// logged, and the contacts logged that were not planned.
    Review {
        /// The plan's number (default: the rep's latest).
        #[arg(long)]
        id: Option<i64>,
        /// Whose latest plan (default: the rep in config.toml or $FUNNEL_REP).
        #[arg(long)]
        rep: Option<String>,
    },
    /// Every rep's selling hours in a period given to the rep's accounts by linear
    /// programming (expected revenue with diminishing returns, each rep's capacity, a
    /// minimum touch for every active customer, a maximum per account); binding
    /// constraints, the value of one more hour per rep, and the greedy rule beside it.
    Allocate {
        /// The period (2026-12, 2027-Q1, 2027; from today if it has begun).
        #[arg(long)]
        period: String,
        /// Selling hours a working day of a full-time rep (× the rep's capacity).
        #[arg(long, default_value_t = 4.0)]
        hours_per_day: f64,
        /// Hours every active customer gets.
        #[arg(long, default_value_t = 0.25)]
        min_touch: f64,
        /// Most hours one account gets.
        #[arg(long, default_value_t = 8.0)]
        max_hours: f64,
        /// Share of an account's value at stake that attention can win.
        #[arg(long, default_value_t = 0.3)]
        lift: f64,
        /// Hours by which about 63% of that is won (the curve's bend).
        #[arg(long, default_value_t = 3.0)]
        tau: f64,
        /// One row per account instead of per rep.
        #[arg(long)]
        accounts: bool,
    },
}

/// `funnel plan`.
pub(super) fn run(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Command::Plan {
        action,
        rep,
        days,
        per_day,
        alpha,
        seed,
        greedy,
        scores,
        save,
    } = command
    else {
        unreachable!("execute routes only Plan here")
    };
    match action {
        Some(PlanAction::Review { id, rep: whose }) => {
            return review(ctx, id, whose.or(rep));
        }
        Some(a @ PlanAction::Allocate { .. }) => return allocate(ctx, a),
        None => {}
    }
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
        if scored.is_empty() {
            if let Some(note) = app::plan::unowned_note(&*store, &rep)? {
                eprintln!("funnel: {note}");
            }
        }
        output::write_table(out, &t, format)?;
        return Ok(0);
    }
    let spec = app::plan::PlanSpec {
        days,
        per_day,
        seed,
        greedy,
    };
    let plan = app::plan::plan(&*store, &rep, today, &spec, &w, &learned)?;
    if plan.is_empty() {
        if let Some(note) = app::plan::unowned_note(&*store, &rep)? {
            eprintln!("funnel: {note}");
        }
    }
    let saved = if save {
        let method = spec.describe(w.alpha);
        let actor = crate::domain::audit::Actor::current();
        Some(app::plan::save(
            &mut *store,
            &rep,
            today,
            &method,
            &plan,
            &actor,
        )?)
    } else {
        None
    };
    if format == Format::Ics {
        write_plan_ics(out, &plan)?;
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
    if let Some(id) = saved {
        if format == Format::Table {
            writeln!(
                out,
                "\nsaved as plan #{id}: `funnel plan review --id {id}` compares it with what is logged"
            )?;
        } else {
            eprintln!("saved as plan #{id}");
        }
    }
    Ok(0)
}

/// The plan as an iCalendar file: a whole-day event per planned contact, with its priority,
/// probability and reasons.
fn write_plan_ics(out: &mut dyn Write, plan: &[app::plan::Planned]) -> anyhow::Result<()> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    agenda::ics_line(out, "BEGIN:VCALENDAR")?;
    agenda::ics_line(out, "VERSION:2.0")?;
    agenda::ics_line(out, "PRODID:-//funnel//plan//EN")?;
    for p in plan {
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
    Ok(())
}

/// `funnel plan review`.
fn review(ctx: Ctx, id: Option<i64>, rep: Option<String>) -> anyhow::Result<i32> {
    let Ctx {
        store,
        out,
        format,
        today,
        ..
    } = ctx;
    let rep = rep.or_else(app::configured_rep);
    if id.is_none() && rep.is_none() {
        return Err(usage(
            "which plan? give --id N or --rep NAME (or set `rep` in config.toml or $FUNNEL_REP)",
        ));
    }
    let r = app::plan::review(&*store, id, rep.as_deref(), today)?;
    let mut t = Table::new(&[
        "day",
        "customer",
        "score",
        "probability",
        "contacted",
        "how",
    ]);
    for o in &r.outcomes {
        t.rows.push(vec![
            Cell::Text(o.day.clone()),
            Cell::Text(o.customer.clone()),
            Cell::Real((o.score * 1000.0).round() / 1000.0),
            Cell::Ratio(o.probability),
            o.contacted_on.clone().map(Cell::Text).unwrap_or(Cell::Null),
            o.how.clone().map(Cell::Text).unwrap_or(Cell::Null),
        ]);
    }
    for u in &r.unplanned {
        t.rows.push(vec![
            Cell::Text("unplanned".into()),
            Cell::Text(u.customer.clone()),
            Cell::Null,
            Cell::Null,
            Cell::Text(u.done_on.clone()),
            Cell::Text(u.kind.clone()),
        ]);
    }
    if format == Format::Table {
        let n = r.outcomes.len();
        writeln!(
            out,
            "plan #{} of {} made {} ({}), {} to {}{}:\n  {} of {n} planned contacts done ({:.0}%), {} on the planned day; {} contact(s) with customers not in the plan\n",
            r.plan.id,
            r.plan.rep,
            r.plan.made_on,
            r.plan.method,
            r.plan.first_day,
            r.plan.last_day,
            if r.running { ", still running" } else { "" },
            r.contacted,
            100.0 * r.contacted as f64 / n.max(1) as f64,
            r.on_the_day,
            r.unplanned.len()
        )?;
    }
    output::write_table(out, &t, format)?;
    Ok(0)
}

/// `funnel plan allocate`.
fn allocate(ctx: Ctx, action: PlanAction) -> anyhow::Result<i32> {
    let PlanAction::Allocate {
        period,
        hours_per_day,
        min_touch,
        max_hours,
        lift,
        tau,
        accounts,
    } = action
    else {
        unreachable!("run routes only Allocate here")
    };
    let Ctx {
        store,
        out,
        format,
        today,
        ..
    } = ctx;
    if format == Format::Ics {
        return Err(usage("--format ics is for plans, not allocations"));
    }
    let period = crate::domain::Period::parse(&period)
        .map_err(|e| usage(format!("--period {period}: {e}")))?;
    for (flag, v, ok) in [
        (
            "--hours-per-day",
            hours_per_day,
            hours_per_day > 0.0 && hours_per_day <= 24.0,
        ),
        ("--min-touch", min_touch, min_touch >= 0.0),
        (
            "--max-hours",
            max_hours,
            max_hours > 0.0 && max_hours >= min_touch,
        ),
        ("--lift", lift, lift > 0.0 && lift <= 1.0),
        ("--tau", tau, tau > 0.0),
    ] {
        if !(ok && v.is_finite()) {
            return Err(usage(format!(
                "{flag} {v}: out of range (hours per day in (0, 24], min touch ≥ 0, max hours > 0 and ≥ min touch, lift in (0, 1], tau > 0)"
            )));
        }
    }
    let params = app::allocate::Params {
        lift,
        tau,
        min_touch,
        max_hours,
    };
    let a = app::allocate::allocate(&*store, period, today, hours_per_day, &params)?;
    if format == Format::Table {
        let planned: Vec<_> = a.reps.iter().filter(|r| r.short_of.is_none()).collect();
        let binding = planned.iter().filter(|r| r.binding).count();
        let at_min = a
            .accounts
            .iter()
            .filter(|x| x.bound == Some("minimum"))
            .count();
        let at_max = a
            .accounts
            .iter()
            .filter(|x| x.bound == Some("maximum"))
            .count();
        writeln!(
            out,
            "{}: {} working days × {} selling hours a day per full-time rep; {} accounts of {} reps\n\
             expected revenue {} by the LP vs {} by the greedy rule (biggest accounts first): {:+.1}%\n\
             binding: the capacity of {binding} of {} reps; {at_min} accounts held at the minimum touch, {at_max} at the maximum ({} h); solved in {:.0} ms\n",
            a.period,
            a.days,
            a.hours_per_day,
            a.accounts.len(),
            a.reps.len(),
            Money(a.lp_cents),
            Money(a.greedy_cents),
            100.0 * (a.lp_cents - a.greedy_cents) as f64 / a.greedy_cents.max(1) as f64,
            planned.len(),
            params.max_hours,
            a.solve_ms
        )?;
        for r in a.reps.iter().filter(|r| r.short_of.is_some()) {
            writeln!(
                out,
                "not planned: {} has {:.1} h but their active customers need {:.1} h at {} h each (lower --min-touch or take a longer period)",
                r.rep,
                r.hours,
                r.short_of.unwrap_or_default(),
                params.min_touch
            )?;
        }
        if a.unowned > 0 {
            writeln!(
                out,
                "{} customer(s) have no owner and get no hours: accounts follow customer owners (give them owners with `funnel import customers` or a no-owner rule)",
                a.unowned
            )?;
        }
        if a.unowned > 0 || a.reps.iter().any(|r| r.short_of.is_some()) {
            writeln!(out)?;
        }
    }
    let t = allocation_table(&a, accounts);
    output::write_table(out, &t, format)?;
    Ok(0)
}

/// The allocation per rep, or per account with `accounts`.
fn allocation_table(a: &app::allocate::Allocated, accounts: bool) -> Table {
    if accounts {
        let mut t = Table::new(&[
            "rep",
            "customer",
            "at stake",
            "hours",
            "greedy hours",
            "expected",
            "bound",
        ]);
        for x in &a.accounts {
            t.rows.push(vec![
                Cell::Text(x.rep.clone()),
                Cell::Text(x.customer.clone()),
                Cell::Money(Money(x.at_stake_cents)),
                Cell::Real((x.hours * 100.0).round() / 100.0),
                Cell::Real((x.greedy_hours * 100.0).round() / 100.0),
                Cell::Money(Money(x.expected_cents)),
                x.bound.map(|b| Cell::Text(b.into())).unwrap_or(Cell::Null),
            ]);
        }
        t
    } else {
        let mut t = Table::new(&[
            "rep",
            "hours",
            "used",
            "accounts",
            "expected (LP)",
            "expected (greedy)",
            "one more hour",
            "binding",
        ]);
        for r in &a.reps {
            t.rows.push(vec![
                Cell::Text(r.rep.clone()),
                Cell::Real((r.hours * 10.0).round() / 10.0),
                Cell::Real((r.used * 10.0).round() / 10.0),
                Cell::Int(r.accounts as i64),
                Cell::Money(Money(r.lp_cents)),
                Cell::Money(Money(r.greedy_cents)),
                Cell::Money(Money(r.hour_cents)),
                Cell::Text(
                    match (r.short_of, r.binding) {
                        (Some(_), _) => "not planned",
                        (None, true) => "capacity",
                        (None, false) => "",
                    }
                    .into(),
                ),
            ]);
        }
        t
    }
}
