//! `funnel export`: CSV that re-imports, or JSON.

use super::*;

/// `funnel export`.
pub(super) fn export(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Ctx {
        store,
        format,
        explicit_format,
        path,
        ..
    } = ctx;
    let Command::Export {
        kind,
        output,
        force,
        raw,
    } = command
    else {
        unreachable!("execute routes only Export here")
    };
    match &output {
        _ if matches!(explicit_format, Some(Format::Table | Format::Markdown)) => {
            return Err(usage(
                "export writes CSV (re-importable) or JSON: give --format csv or --format json",
            ));
        }
        Some(p) => {
            let mut file = outfile::OutFile::create(p, path, force)?;
            let n = write_export(store, &kind, &mut file, format, raw)?;
            file.commit()?;
            eprintln!("exported {n} {kind} to {}", p.display());
        }
        None => {
            let mut sink = std::io::BufWriter::new(std::io::stdout());
            write_export(store, &kind, &mut sink, format, raw)?;
        }
    }
    Ok(0)
}
