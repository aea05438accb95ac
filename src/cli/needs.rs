//! `funnel needs`: the product family each customer is likely to buy next.

use super::*;
use crate::app::needs;
use std::collections::BTreeMap;

/// `funnel needs`.
pub(super) fn needs(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Needs {
        customer,
        rules,
        depth,
        evaluate,
    } = command
    else {
        unreachable!("execute routes only Needs here")
    };
    if evaluate {
        let e = needs::evaluate(store, today)?;
        if format == Format::Json {
            serde_json::to_writer_pretty(&mut out, &e)?;
            writeln!(out)?;
            return Ok(0);
        }
        let mut t = Table::new(&["method", "top1", "top3"]);
        t.rows.push(vec![
            Cell::Text("decision tree".into()),
            Cell::Ratio(e.top1),
            Cell::Ratio(e.top3),
        ]);
        t.rows.push(vec![
            Cell::Text("popularity".into()),
            Cell::Ratio(e.popularity_top1),
            Cell::Ratio(e.popularity_top3),
        ]);
        t.rows.push(vec![
            Cell::Text("same as last family".into()),
            Cell::Ratio(e.last_family_top1),
            Cell::Null,
        ]);
        if format == Format::Table {
            writeln!(
                out,
                "learned from {} examples (monthly snapshots whose 90 days ended before {}); tested on the {} customers who ordered in the 90 days from {}\n",
                e.train_examples, e.test_from, e.test_examples, e.test_from
            )?;
        }
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    let (rule_lines, predicted) = needs::learn(store, today, depth)?;
    if rules {
        let mut t = Table::new(&["rule"]);
        t.rows = rule_lines
            .into_iter()
            .map(|r| vec![Cell::Text(r)])
            .collect();
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    if let Some(row) = customer {
        let id = app::find_row(store, app::Entity::Customer, &row)?;
        let Some(need) = predicted.get(&id) else {
            writeln!(
                out,
                "no prediction: the customer has no orders before {today}"
            )?;
            return Ok(0);
        };
        let mut t = Table::new(&["family", "share", "because"]);
        for (i, (family, share)) in need.ranked.iter().enumerate() {
            t.rows.push(vec![
                Cell::Text(family.clone()),
                Cell::Ratio(*share),
                Cell::Text(if i == 0 {
                    need.rule.join(" and ")
                } else {
                    String::new()
                }),
            ]);
        }
        output::write_table(&mut out, &t, format)?;
        return Ok(0);
    }
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for n in predicted.values() {
        if let Some((f, _)) = n.ranked.first() {
            *by.entry(f.clone()).or_default() += 1;
        }
    }
    let mut t = Table::new(&["likely_next_family", "customers"]);
    for (f, n) in by {
        t.rows.push(vec![Cell::Text(f), Cell::Int(n as i64)]);
    }
    output::write_table(&mut out, &t, format)?;
    Ok(0)
}
