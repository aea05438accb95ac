//! `funnel clv`: lifetime value and churn risk, and their evaluation on a time split.

use super::*;
use crate::app::clv;

/// A YYYY-MM-DD date for clap.
pub(super) fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date (YYYY-MM-DD)"))
}

/// `funnel clv`.
pub(super) fn clv(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Clv {
        evaluate,
        calibration_end,
        top,
    } = command
    else {
        unreachable!("execute routes only Clv here")
    };
    if evaluate {
        let Some(cal) = calibration_end else {
            return Err(usage("clv --evaluate needs --calibration-end DATE"));
        };
        if cal >= today {
            return Err(usage(format!(
                "--calibration-end {cal} must be before today ({today}): the days after it are the holdout"
            )));
        }
        let e = clv::evaluate(store, cal, today)?;
        return write_evaluation(&mut out, &e, format);
    }
    let r = clv::values(store, today)?;
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
        return Ok(0);
    }
    if format == Format::Table {
        let tiers = ['A', 'B', 'C'].map(|t| r.customers.iter().filter(|c| c.tier == t).count());
        writeln!(
            out,
            "BG/NBD (days) r {:.4} alpha {:.4} a {:.4} b {:.4}; Gamma-Gamma p {:.4} q {:.4} gamma {:.4}\n\
             {} customers valued as of {} over the next {} days: tier A {}, B {}, C {}\n",
            r.bgnbd.r,
            r.bgnbd.alpha,
            r.bgnbd.a,
            r.bgnbd.b,
            r.gamma_gamma.p,
            r.gamma_gamma.q,
            r.gamma_gamma.gamma,
            r.customers.len(),
            r.as_of,
            clv::HORIZON_DAYS,
            tiers[0],
            tiers[1],
            tiers[2]
        )?;
    }
    let limit = if format == Format::Table {
        top
    } else {
        usize::MAX
    };
    let mut t = Table::new(&[
        "external_id",
        "customer",
        "tier",
        "predicted_value",
        "expected_purchases",
        "expected_spend",
        "p_alive",
        "churn_risk",
        "repeat_purchases",
        "days_since_last",
    ]);
    for c in r.customers.iter().take(limit) {
        t.rows.push(vec![
            Cell::Text(c.external_id.clone().unwrap_or_default()),
            Cell::Text(c.name.clone()),
            Cell::Text(c.tier.to_string()),
            Cell::Money(crate::domain::Money(
                (c.predicted_value * 100.0).round() as i64
            )),
            Cell::Real((c.expected_purchases * 100.0).round() / 100.0),
            Cell::Money(crate::domain::Money(
                (c.expected_spend * 100.0).round() as i64
            )),
            Cell::Ratio(c.p_alive),
            Cell::Ratio(c.churn_risk),
            Cell::Real(c.frequency),
            Cell::Real(c.age_days - c.recency_days),
        ]);
    }
    output::write_table(&mut out, &t, format)?;
    Ok(0)
}

fn write_evaluation(
    out: &mut dyn Write,
    e: &clv::ClvEvaluation,
    format: Format,
) -> anyhow::Result<i32> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, e)?;
        writeln!(out)?;
        return Ok(0);
    }
    if format == Format::Table {
        writeln!(
            out,
            "fitted on orders up to {}, scored on the orders after it up to {} ({} customers)\n\
             BG/NBD (days) r {:.4} alpha {:.4} a {:.4} b {:.4}; Gamma-Gamma p {:.4} q {:.4} gamma {:.4}\n\
             holdout repeat purchases: actual {:.0}, predicted {:.0}; per-customer MAE {:.4}\n\
             holdout revenue: actual {:.0}, predicted {:.0}; per-customer MAE {:.3}; Spearman {:.4}\n",
            e.calibration_end,
            e.end,
            e.customers,
            e.bgnbd.r,
            e.bgnbd.alpha,
            e.bgnbd.a,
            e.bgnbd.b,
            e.gamma_gamma.p,
            e.gamma_gamma.q,
            e.gamma_gamma.gamma,
            e.holdout_purchases_actual,
            e.holdout_purchases_predicted,
            e.purchases_mae,
            e.revenue_actual,
            e.revenue_predicted,
            e.revenue_mae,
            e.spearman_revenue
        )?;
    }
    let mut t = Table::new(&["decile", "customers", "revenue_predicted", "revenue_actual"]);
    for d in &e.deciles {
        t.rows.push(vec![
            Cell::Int(d.decile as i64),
            Cell::Int(d.customers as i64),
            Cell::Money(crate::domain::Money(
                (d.revenue_predicted * 100.0).round() as i64
            )),
            Cell::Money(crate::domain::Money(
                (d.revenue_actual * 100.0).round() as i64
            )),
        ]);
    }
    output::write_table(out, &t, format)?;
    Ok(0)
}
