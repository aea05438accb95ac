//! Rendering tables as an aligned table, CSV, JSON or Markdown.

use crate::domain::{Cell, Table};
use std::io::{self, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    #[value(alias = "md")]
    Markdown,
    /// iCalendar (RFC 5545): the agenda's follow-ups as events a calendar imports.
    Ics,
}

/// Writes a whole table in the chosen format.
pub fn write_table(out: &mut dyn Write, table: &Table, format: Format) -> io::Result<()> {
    match format {
        Format::Ics => Err(io::Error::other(
            "--format ics goes with `funnel agenda` (a calendar of follow-ups)",
        )),
        Format::Table => write_aligned(out, table),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&table.columns).map_err(super::csv_io)?;
            for row in &table.rows {
                w.write_record(row.iter().map(Cell::to_text))
                    .map_err(super::csv_io)?;
            }
            w.flush()
        }
        Format::Markdown => {
            let esc = |s: String| {
                crate::domain::table::terminal_safe(&s.replace('|', "\\|").replace('\n', " "))
                    .into_owned()
            };
            writeln!(out, "| {} |", table.columns.join(" | "))?;
            let rule: Vec<&str> = (0..table.columns.len())
                .map(|i| {
                    if table.rows.iter().any(|r| r[i].is_numeric()) {
                        "---:"
                    } else {
                        "---"
                    }
                })
                .collect();
            writeln!(out, "| {} |", rule.join(" | "))?;
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(|c| esc(c.to_text())).collect();
                writeln!(out, "| {} |", cells.join(" | "))?;
            }
            Ok(())
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = table
                .rows
                .iter()
                .map(|r| json_row(&table.columns, r))
                .collect();
            serde_json::to_writer_pretty(&mut *out, &rows)?;
            writeln!(out)
        }
    }
}

pub fn json_row(columns: &[String], row: &[Cell]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (c, v) in columns.iter().zip(row) {
        map.insert(c.clone(), v.to_json());
    }
    serde_json::Value::Object(map)
}

/// The terminal's width when printing to one (set once by the CLI); aligned tables are
/// fitted into it.
static TERMINAL_COLUMNS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Tells the table printer how wide the terminal is (call only when stdout is one).
pub fn set_terminal_columns(columns: usize) {
    let _ = TERMINAL_COLUMNS.set(columns);
}

/// Display columns of a text: CJK characters and most emoji take two.
fn width(s: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(s)
}

/// `s` cut to `w` display columns with "…" at the end (only text columns are cut).
fn clip(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// Narrows the widest text columns (never below 8, never a number) until the table fits
/// `max` columns, if it can.
fn fit(widths: &mut [usize], numeric: &[bool], max: usize) {
    loop {
        let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        if total <= max {
            return;
        }
        let Some(i) = (0..widths.len())
            .filter(|&i| !numeric[i] && widths[i] > 8)
            .max_by_key(|&i| widths[i])
        else {
            return;
        };
        widths[i] = (widths[i] - (total - max)).max(8);
    }
}

fn write_aligned(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    write_aligned_within(out, table, TERMINAL_COLUMNS.get().copied())
}

fn write_aligned_within(out: &mut dyn Write, table: &Table, max: Option<usize>) -> io::Result<()> {
    let texts: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::domain::table::terminal_safe(&c.to_text()).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = table.columns.iter().map(|c| width(c)).collect();
    for row in &texts {
        for (i, t) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(t));
        }
    }
    let numeric: Vec<bool> = (0..table.columns.len())
        .map(|i| {
            table.rows.iter().any(|r| r[i].is_numeric())
                && table
                    .rows
                    .iter()
                    .all(|r| r[i].is_numeric() || r[i] == Cell::Null)
        })
        .collect();
    if let Some(max) = max {
        fit(&mut widths, &numeric, max);
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = clip(c, widths[i]);
                let pad = widths[i].saturating_sub(width(&c));
                if numeric[i] {
                    format!("{}{c}", " ".repeat(pad))
                } else {
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    writeln!(out, "{}", line(&table.columns))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    for row in &texts {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_align_and_a_narrow_terminal_cuts_text_not_numbers() {
        let mut t = Table::new(&["name", "amount"]);
        t.rows
            .push(vec![Cell::Text("東京商事".into()), Cell::Int(1200)]);
        t.rows
            .push(vec![Cell::Text("Acme 🚀".into()), Cell::Int(7)]);
        t.rows
            .push(vec![Cell::Text("Zed".into()), Cell::Int(1234567)]);
        let mut out = Vec::new();
        write_aligned_within(&mut out, &t, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Every row ends at the same display column (numbers are right-aligned).
        let w: Vec<usize> = lines.iter().map(|l| width(l)).collect();
        assert!(w.iter().all(|x| *x == w[0]), "{text}\n{w:?}");
        // Fitted into 14 columns: the name is cut with "…", the numbers are whole.
        let mut long = Table::new(&["name", "amount"]);
        long.rows.push(vec![
            Cell::Text("Very Long Customer Name GmbH".into()),
            Cell::Int(1234567),
        ]);
        let mut out = Vec::new();
        write_aligned_within(&mut out, &long, Some(18)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Very Lon…") && text.contains("1234567"),
            "{text}"
        );
        assert!(text.lines().all(|l| width(l) <= 18), "{text}");
    }

    #[test]
    fn tables_and_markdown_never_print_control_characters() {
        let mut t = Table::new(&["name", "value"]);
        t.rows.push(vec![
            Cell::Text("Evil\u{1b}[2J\u{1b}]0;title\u{7}".into()),
            Cell::Int(1),
        ]);
        for format in [Format::Table, Format::Markdown] {
            let mut out = Vec::new();
            write_table(&mut out, &t, format).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{text:?}"
            );
            assert!(text.contains("Evil\\x1b[2J"), "{text}");
        }
    }
}
