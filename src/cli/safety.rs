//! `funnel backup`, `restore`, `doctor` and `audit`.

use super::*;

/// `funnel backup`.
pub(super) fn backup(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx { store, out, .. } = ctx;
    let Command::Backup { file } = command else {
        unreachable!("execute routes only Backup here")
    };
    let bytes = app::backup(store, &file)?;
    writeln!(
        out,
        "backed up to {} ({bytes} bytes; integrity checked)",
        file.display()
    )?;
    Ok(0)
}

/// `funnel restore`.
pub(super) fn restore(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx { store, out, .. } = ctx;
    let Command::Restore { file } = command else {
        unreachable!("execute routes only Restore here")
    };
    let aside = app::restore(store, &file)?;
    writeln!(
        out,
        "restored from {}; the contents before were kept at {}",
        file.display(),
        aside.display()
    )?;
    Ok(0)
}

/// `funnel audit`.
pub(super) fn audit(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        ..
    } = ctx;
    let Command::Audit {
        entity,
        since,
        user,
        limit,
    } = command
    else {
        unreachable!("execute routes only Audit here")
    };
    if let Some(s) = &since {
        if chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").is_err() {
            eprintln!("funnel: audit: --since '{s}' is not a date (YYYY-MM-DD)");
            return Ok(2);
        }
    }
    let filter = crate::domain::audit::AuditFilter {
        entity,
        since,
        user,
        before_id: None,
        limit,
    };
    let entries = match app::audit(store, &filter) {
        Ok(e) => e,
        Err(AppError::Usage(m)) => {
            eprintln!("funnel: audit: {m}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &entries)?;
        writeln!(out)?;
    } else {
        let mut t = Table::new(&[
            "id", "at", "user", "action", "entity", "ids", "batch", "note",
        ]);
        for e in &entries {
            t.rows.push(vec![
                Cell::Int(e.id),
                Cell::Text(e.at.clone()),
                Cell::Text(match &e.display_name {
                    Some(n) => format!("{} ({n})", e.os_user),
                    None => e.os_user.clone(),
                }),
                Cell::Text(e.action.clone()),
                Cell::Text(e.entity.clone()),
                Cell::Text(match e.entity_id_last {
                    Some(last) if last != e.entity_id => format!("{}..{last}", e.entity_id),
                    _ => e.entity_id.to_string(),
                }),
                e.batch_id.map(Cell::Int).unwrap_or(Cell::Null),
                e.note.clone().map(Cell::Text).unwrap_or(Cell::Null),
            ]);
        }
        output::write_table(&mut out, &t, format)?;
    }
    Ok(0)
}

/// `funnel doctor`.
pub(super) fn doctor(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        ..
    } = ctx;
    let Command::Doctor = command else {
        unreachable!("execute routes only Doctor here")
    };
    let h = app::health(store)?;
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &h)?;
        writeln!(out)?;
    } else {
        let mut t = Table::new(&["check", "result"]);
        let row = |name: &str, v: String| vec![Cell::Text(name.into()), Cell::Text(v)];
        t.rows
            .push(row("schema version", h.schema_version.to_string()));
        t.rows.push(row("integrity", h.integrity.join("; ")));
        t.rows.push(row(
            "foreign keys",
            match h.foreign_key_violations {
                0 => "ok".into(),
                1 => "1 row points at nothing".into(),
                n => format!("{n} rows point at nothing"),
            },
        ));
        t.rows
            .push(row("write-ahead log", format!("{} bytes", h.wal_bytes)));
        t.rows.push(row(
            "ledger",
            if h.won_without_order + h.orders_of_unwon_deals == 0 {
                "ok: every won deal has its order, and only won deals".into()
            } else {
                format!(
                    "{} won deals without an order, {} orders of deals not won",
                    h.won_without_order, h.orders_of_unwon_deals
                )
            },
        ));
        t.rows.push(row(
            "stage history",
            format!(
                "{} recorded, {} inferred from deals' dates",
                h.history_real, h.history_inferred
            ),
        ));
        output::write_table(&mut out, &t, format)?;
    }
    if !h.healthy() {
        eprintln!(
            "funnel: the database has problems (above); `funnel restore FILE` puts back a backup"
        );
        return Ok(1);
    }
    Ok(0)
}
