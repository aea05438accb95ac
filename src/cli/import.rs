//! `funnel import` and `funnel import revert`.

use super::*;

/// `funnel import`.
pub(super) fn import(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        mut out,
        format,
        today,
        ..
    } = ctx;
    let Command::Import {
        kind,
        file,
        mapping,
        dry_run,
        skip_invalid,
        create_missing,
        date_format,
        round,
        blank,
        cascade,
    } = command
    else {
        unreachable!("execute routes only Import here")
    };
    if cascade && kind != "revert" {
        return Err(usage("--cascade goes with `import revert BATCH`"));
    }
    if kind == "revert" {
        let batch: i64 = file.parse().map_err(|_| {
                usage(format!("import revert: '{file}' is not a batch number (`funnel export import_batches` lists them)"))
            })?;
        let (r, backup) = app::revert_import(store, batch, cascade)?;
        if let Some(b) = &backup {
            eprintln!(
                "funnel: backup of the data before the revert: {}",
                b.display()
            );
        }
        if format == Format::Json {
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        } else {
            write!(
                out,
                "reverted import batch {batch}: {} removed, {} restored",
                plural(r.deleted, "row"),
                plural(r.restored, "row")
            )?;
            if cascade {
                write!(
                    out,
                    ", {} later rows removed or unlinked with them",
                    r.cascaded
                )?;
            }
            writeln!(out)?;
        }
        return Ok(0);
    }
    let Some(kind) = ImportKind::parse(&kind) else {
        eprintln!(
            "funnel: import: '{kind}' is not a kind: use {} or revert",
            ImportKind::names()
        );
        return Ok(2);
    };
    let file = PathBuf::from(file);
    let req = ImportRequest {
        kind,
        file: &file,
        mapping: mapping.as_deref(),
        dry_run,
        skip_invalid,
        create_missing,
        date_format: date_format.as_deref(),
        round,
        blank_clears: blank == "clears",
        today: Some(today),
    };
    let report = match app::import(store, &req) {
        Ok(r) => r,
        Err(AppError::Usage(m)) => {
            eprintln!("funnel: {m}");
            return Ok(2);
        }
        Err(e) => return Err(e.into()),
    };
    print_import(&mut out, &report, format)
}
