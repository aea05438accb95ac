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
}

/// Writes a whole table in the chosen format.
pub fn write_table(out: &mut dyn Write, table: &Table, format: Format) -> io::Result<()> {
    match format {
        Format::Table => write_aligned(out, table),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&table.columns)?;
            for row in &table.rows {
                w.write_record(row.iter().map(Cell::to_text))?;
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

fn write_aligned(out: &mut dyn Write, table: &Table) -> io::Result<()> {
    let texts: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::domain::table::terminal_safe(&c.to_text()).into_owned())
                .collect()
        })
        .collect();
    let width = |s: &str| s.chars().count();
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
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - width(c);
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
