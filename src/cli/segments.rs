//! `funnel segments`: customer segments from the order ledger, stored as a run.

use super::*;
use crate::app::segments::{self, SegmentReport};

/// `funnel segments`.
pub(super) fn segments(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Segments { evaluate, customer } = command else {
        unreachable!("execute routes only Segments here")
    };
    if let Some(row) = customer {
        let id = app::find_row(store, app::Entity::Customer, &row)?;
        let mut t = Table::new(&["run", "as_of", "segment"]);
        for h in segments::history(store, id)? {
            t.rows.push(vec![
                Cell::Int(h.run_id),
                Cell::Text(h.as_of),
                Cell::Text(h.segment),
            ]);
        }
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    let report = segments::run(store, today, evaluate)?;
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &json(&report))?;
        writeln!(out)?;
        return Ok(0);
    }
    let total: i64 = report.run.profiles.iter().map(|p| p.revenue_cents).sum();
    let mut t = Table::new(&[
        "segment",
        "customers",
        "revenue",
        "revenue_share",
        "days_since_order",
        "orders",
        "spend",
        "tenure_days",
        "products",
    ]);
    for p in &report.run.profiles {
        t.rows.push(vec![
            Cell::Text(p.name.clone()),
            Cell::Int(p.customers as i64),
            Cell::Money(crate::domain::Money(p.revenue_cents)),
            Cell::Ratio(if total > 0 {
                p.revenue_cents as f64 / total as f64
            } else {
                0.0
            }),
            Cell::Real(p.recency_days),
            Cell::Real(p.frequency),
            Cell::Money(crate::domain::Money(p.monetary_cents.round() as i64)),
            Cell::Real(p.tenure_days),
            Cell::Real(p.breadth),
        ]);
    }
    if format == Format::Table {
        writeln!(
            out,
            "segment run {} as of {}: {} customers with orders in {} segments (k by silhouette {:.3}; medians per segment)\n",
            report.run.id, report.run.as_of, report.customers, report.run.k, report.run.silhouette
        )?;
    }
    output::write_table(&mut out, &t, format)?;
    if format != Format::Table {
        return Ok(0);
    }
    writeln!(out)?;
    for p in &report.run.profiles {
        writeln!(out, "{}: {}", p.name, p.description)?;
    }
    match report.previous_run {
        Some(prev) if report.moves.is_empty() => {
            writeln!(out, "\nno customer changed segment since run {prev}")?
        }
        Some(prev) => {
            writeln!(out, "\nmoved since run {prev}:")?;
            for m in report.moves.iter().take(10) {
                writeln!(out, "  {} → {}: {}", m.from, m.to, m.customers)?;
            }
        }
        None => {}
    }
    if let Some(ari) = report.run.adjusted_rand_min {
        let tried: Vec<String> = report
            .tried
            .iter()
            .map(|(k, s)| format!("k={k} {s:.3}"))
            .collect();
        writeln!(
            out,
            "\nsilhouette by k: {}\nlowest adjusted Rand index between the clusterings of {} seeds: {ari:.3}",
            tried.join(", "),
            segments::STABILITY_SEEDS
        )?;
    }
    Ok(0)
}

fn json(r: &SegmentReport) -> serde_json::Value {
    serde_json::json!({
        "run_id": r.run.id,
        "as_of": r.run.as_of,
        "k": r.run.k,
        "silhouette": r.run.silhouette,
        "adjusted_rand_min": r.run.adjusted_rand_min,
        "customers": r.customers,
        "tried": r.tried.iter().map(|(k, s)| serde_json::json!({"k": k, "silhouette": s})).collect::<Vec<_>>(),
        "segments": r.run.profiles,
        "previous_run": r.previous_run,
        "moves": r.moves,
    })
}
