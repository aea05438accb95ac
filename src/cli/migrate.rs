//! `funnel migrate --from DB --to DB`.

use super::*;
use crate::app::migrate::{self, Place};
use crate::domain::table::{Cell, Table};

pub(super) fn run(command: Command, given: Option<String>, format: Format) -> anyhow::Result<i32> {
    let Command::Migrate { from, to } = command else {
        unreachable!("execute routes only Migrate here")
    };
    let parse = |flag: &str, text: &str| {
        migrate::place(text).map_err(|e| usage(format!("{flag} {}: {e}", migrate::redact(text))))
    };
    let (from, to) = (parse("--from", &from)?, parse("--to", &to)?);
    // An encrypted SQLite file is read or written with its key, as for any command.
    for place in [&from, &to] {
        if let Place::File(path) = place {
            let key = match &given {
                Some(k) => Some(k.clone()),
                None if app::looks_encrypted(path) => {
                    prompt_key(&format!("key for {}: ", path.display()))?
                }
                None => None,
            };
            if let Some(k) = key {
                app::set_key(k).map_err(anyhow::Error::msg)?;
            }
        }
    }
    let started = std::time::Instant::now();
    let quiet = !std::io::stderr().is_terminal();
    let report = migrate::run(&from, &to, &mut |table, rows| {
        if !quiet {
            eprintln!("funnel: copied {table}: {rows} rows, verified");
        }
    })
    .map_err(|e| anyhow::anyhow!("migrate {from} -> {to}: {e}"))?;
    let mut table = Table::new(&["table", "rows", "sums_checked"]);
    for t in &report.tables {
        table.rows.push(vec![
            Cell::Text(t.table.to_string()),
            Cell::Int(t.rows as i64),
            Cell::Int(t.sums as i64),
        ]);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    output::write_table(&mut out, &table, format)?;
    eprintln!(
        "funnel: copied {} rows in {} tables from {from} to {to} in {:.1} s; every table's count and column sums agree on both sides; {} id counters carried over",
        report.rows(),
        report.tables.len(),
        started.elapsed().as_secs_f64(),
        report.counters
    );
    Ok(0)
}
