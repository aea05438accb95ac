//! `funnel recommend`: the next products to offer a customer, and their evaluation.

use super::*;
use crate::app::recommend;

/// `funnel recommend`.
pub(super) fn recommend(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Recommend {
        customer,
        top,
        evaluate,
        calibration_end,
    } = command
    else {
        unreachable!("execute routes only Recommend here")
    };
    if let (true, Some(cal)) = (evaluate, calibration_end) {
        if cal >= today {
            return Err(usage(format!(
                "--calibration-end {cal} must be before today ({today})"
            )));
        }
        let h = recommend::evaluate(store, cal, today)?;
        if format == Format::Json {
            serde_json::to_writer_pretty(&mut out, &h)?;
            writeln!(out)?;
            return Ok(0);
        }
        let mut t = Table::new(&["method", "customers", "hit_rate_at_3", "hit_rate_at_5"]);
        for (m, h3, h5) in [
            ("rules and similarity", h.hit_rate_at_3, h.hit_rate_at_5),
            (
                "popularity",
                h.popularity_hit_rate_at_3,
                h.popularity_hit_rate_at_5,
            ),
        ] {
            t.rows.push(vec![
                Cell::Text(m.into()),
                Cell::Int(h.customers as i64),
                Cell::Ratio(h3),
                Cell::Ratio(h5),
            ]);
        }
        if format == Format::Table {
            writeln!(
                out,
                "learned on orders up to {cal}; scored on the {} customers who then bought a product new to them, up to {today}\n",
                h.customers
            )?;
        }
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    let Some(row) = customer else {
        return Err(usage(
            "recommend: name a customer (external id, name or row id), or --evaluate --calibration-end DATE",
        ));
    };
    let id = app::find_row(store, app::Entity::Customer, &row)?;
    let offers = recommend::offers(store, id, today, top)?;
    let mut t = Table::new(&["product", "score", "reason"]);
    for o in &offers {
        t.rows.push(vec![
            Cell::Text(o.product.clone()),
            Cell::Real((o.score * 1000.0).round() / 1000.0),
            Cell::Text(o.reason.clone()),
        ]);
    }
    if offers.is_empty() && format == Format::Table {
        writeln!(
            out,
            "nothing to offer: the customer has every product bought by others"
        )?;
        return Ok(0);
    }
    output::write_table(&mut out, &t, format)?;
    Ok(0)
}
