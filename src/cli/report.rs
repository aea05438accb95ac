//! `funnel report --list` and `funnel report NAME [--by FIELD] [--period P]`.

use super::output::{self, Format};
use crate::app::reports;
use crate::app::Db as Store;
use crate::domain::Period;
use chrono::NaiveDate;
use std::io::Write;

#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &Store,
    name: Option<String>,
    list: bool,
    by: Option<String>,
    period: Option<String>,
    thresholds: (Option<f64>, Option<f64>, Option<String>),
    today: NaiveDate,
    format: Format,
    explicit: Option<Format>,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    if let (true, Some(f)) = (list, explicit.filter(|f| *f != Format::Table)) {
        let mut t = crate::domain::Table::new(&["name", "description", "by", "period"]);
        for (n, d) in reports::REPORTS {
            let yes = |b: bool| crate::domain::Cell::Text(if b { "yes" } else { "no" }.into());
            t.rows.push(vec![
                crate::domain::Cell::Text((*n).into()),
                crate::domain::Cell::Text((*d).into()),
                yes(reports::takes_breakdown(n)),
                yes(reports::takes_period(n)),
            ]);
        }
        output::write_table(out, &t, f)?;
        return Ok(0);
    }
    if list || name.is_none() {
        let width = reports::REPORTS
            .iter()
            .map(|r| r.0.len())
            .max()
            .unwrap_or(8)
            + 2;
        for (n, d) in reports::REPORTS {
            writeln!(out, "{n:<width$}{d}")?;
        }
        if name.is_none() && !list {
            eprintln!("give a report's name: `funnel report NAME [--by FIELD] [--period P]`");
            return Ok(2);
        }
        return Ok(0);
    }
    let name = name.unwrap_or_default();
    let period = period
        .as_deref()
        .map(|p| Period::parse(p).map_err(|e| super::usage(format!("--period: {e}"))))
        .transpose()?;
    let result = match thresholds {
        (None, None, None) => reports::run(store, &name, by.as_deref(), period, today),
        _ if by.is_some() || period.is_some() => Err(reports::ReportError::Usage(
            "--by and --period do not go with --min-support, --min-confidence and --per (the associations report takes neither)".into(),
        )),
        (s, c, per) if name == "associations" => {
            let (ds, dc) = reports::ASSOCIATION_THRESHOLDS;
            let per = match per.as_deref() {
                Some("order") => crate::app::recommend::Per::Order,
                _ => crate::app::recommend::Per::Customer,
            };
            reports::associations(store, today, s.unwrap_or(ds), c.unwrap_or(dc), per)
        }
        _ => Err(reports::ReportError::Usage(
            "--min-support, --min-confidence and --per go with the associations report".into(),
        )),
    };
    let r = match result {
        Ok(r) => r,
        Err(reports::ReportError::Usage(e)) => {
            eprintln!("funnel: report: {e}");
            return Ok(2);
        }
        // The database failing is not a usage error: exit 1 with the cause.
        Err(e) => return Err(e.into()),
    };
    match format {
        Format::Table => {
            writeln!(out, "{}: {}\n", r.name, r.title)?;
            for n in &r.notes {
                writeln!(out, "{}", crate::domain::table::terminal_safe(n))?;
            }
            writeln!(out)?;
            output::write_table(out, &r.table, format)?;
        }
        Format::Markdown => {
            writeln!(out, "## {}\n\n{}\n", r.name, r.title)?;
            for n in &r.notes {
                writeln!(out, "- {}", crate::domain::table::terminal_safe(n))?;
            }
            writeln!(out)?;
            output::write_table(out, &r.table, format)?;
        }
        Format::Csv | Format::Json | Format::Ics => {
            // The data alone on standard output; the notes go to standard error.
            for n in &r.notes {
                eprintln!("{}: {}", r.name, crate::domain::table::terminal_safe(n));
            }
            output::write_table(out, &r.table, format)?;
        }
    }
    Ok(0)
}
