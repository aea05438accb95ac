//! `funnel delete` and `funnel merge`.

use super::*;

/// `funnel delete`.
pub(super) fn delete(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store, out, format, ..
    } = ctx;
    let Command::Delete {
        kind,
        row,
        force,
        yes,
    } = command
    else {
        unreachable!("execute routes only Delete here")
    };
    let entity = kind.entity();
    let id = app::find_row(store, entity, &row)?;
    let planned = app::removal_plan(store, entity, id)?;
    if let (Some(w), true, false) = (planned.ledger_warning(), yes, force) {
        anyhow::bail!(
                "delete: not deleted: {w}. Add --force to delete it anyway (`funnel merge` keeps the revenue when it is a duplicate customer)"
            );
    }
    let plan = if yes {
        app::remove(store, entity, id, force)?
    } else {
        planned
    };
    let warning = plan.ledger_warning();
    if format == Format::Json {
        let with: serde_json::Map<String, serde_json::Value> = plan
            .with
            .iter()
            .map(|(t, n)| (t.to_string(), (*n).into()))
            .collect();
        let v = serde_json::json!({
            "deleted": yes,
            "entity": entity.name(),
            "id": id,
            "label": plan.label,
            "with": with,
            "ledger_orders": plan.ledger.map(|l| l.0),
            "ledger_revenue": plan.ledger.map(|l| l.1.to_string()),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else if yes {
        writeln!(out, "deleted {} (audited)", plan.describe())?;
    } else {
        writeln!(out, "would delete {}", plan.describe())?;
        if let Some(w) = &warning {
            writeln!(out, "refused without --force: {w}")?;
        }
        writeln!(out, "nothing was deleted: add --yes to delete")?;
    }
    Ok(0)
}

/// `funnel merge`.
pub(super) fn merge(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store, out, format, ..
    } = ctx;
    let Command::Merge { keep, gone, yes } = command else {
        unreachable!("execute routes only Merge here")
    };
    let keep_id = app::find_row(store, app::Entity::Customer, &keep)?;
    let gone_id = app::find_row(store, app::Entity::Customer, &gone)?;
    if keep_id == gone_id {
        return Err(usage(format!(
            "merge: '{keep}' and '{gone}' are the same customer"
        )));
    }
    if !yes {
        let plan = app::removal_plan(store, app::Entity::Customer, gone_id)?;
        let kept = app::removal_plan(store, app::Entity::Customer, keep_id)?;
        writeln!(
            out,
            "would merge {} into {}: its {} move over and it is deleted",
            plan.label,
            kept.label,
            if plan.with.is_empty() {
                "fields".to_string()
            } else {
                plan.with
                    .iter()
                    .filter(|(t, _)| *t != "stage_changes")
                    .map(|(t, n)| app::count_of(*n, t))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )?;
        writeln!(out, "nothing was merged: add --yes to merge")?;
    } else {
        let m = app::merge_customers(store, keep_id, gone_id)?;
        let moved: Vec<String> = m.moved.iter().map(|(t, n)| app::count_of(*n, t)).collect();
        if format == Format::Json {
            let v = serde_json::json!({
                "kept": m.kept, "removed": m.removed,
                "moved": m.moved.iter().map(|(t, n)| (t.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
                "filled": m.filled,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        } else {
            writeln!(
                out,
                "merged {} into {}: moved {}{} (audited)",
                m.removed,
                m.kept,
                if moved.is_empty() {
                    "nothing".to_string()
                } else {
                    moved.join(", ")
                },
                if m.filled.is_empty() {
                    String::new()
                } else {
                    format!("; filled {}", m.filled.join(", "))
                }
            )?;
        }
    }
    Ok(0)
}
