//! The reports screen: every report by name on the left; the one run on the right, with
//! its notes and its table (rows with ctrl-d/ctrl-u, columns with h/l), exportable as CSV and
//! Markdown.

use crate::app::reports::{Report, REPORTS};
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let s = &app.reports;
    let [list, body] =
        Layout::horizontal([Constraint::Length(18), Constraint::Min(20)]).areas(area);
    render_list(app, frame, list);
    let (name, about) = REPORTS[s.selected.min(REPORTS.len() - 1)];
    let by = s.by.map(|b| format!(" by {b}")).unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            // The key hints go whole when the title does not fit.
            [
                format!(" {name}{by} · enter runs · b breakdown · e export "),
                format!(" {name}{by} · enter runs "),
                format!(" {name}{by} "),
            ]
            .into_iter()
            .find(|t| super::cols(t) + 2 <= body.width as usize)
            .unwrap_or_else(|| {
                super::clip(
                    &format!("{name}{by}"),
                    (body.width as usize).saturating_sub(2),
                )
            }),
            t.title,
        ));
    let Some(r) = s.report.as_ref() else {
        let msg = if s.loading {
            "running…".to_string()
        } else {
            format!("{about}\n\nenter runs it")
        };
        frame.render_widget(
            Paragraph::new(msg)
                .style(t.muted)
                .wrap(Wrap { trim: false })
                .block(block),
            body,
        );
        return;
    };
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let notes: Vec<Line> = std::iter::once(Line::from(Span::styled(
        format!("{}: {}", r.name, r.title),
        t.accent,
    )))
    .chain(
        r.notes
            .iter()
            .map(|n| Line::from(Span::styled(n.clone(), t.muted))),
    )
    .collect();
    let note_h = (notes.len() as u16 * 2).min(inner.height / 3).max(1);
    let [top, table_area] =
        Layout::vertical([Constraint::Length(note_h), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: true }), top);
    render_table(app, r, frame, table_area);
}

/// Every report by name, the selected one highlighted.
fn render_list(app: &App, frame: &mut Frame, list: Rect) {
    let t = &app.theme;
    let s = &app.reports;
    app.hit(
        Rect {
            x: list.x + 1,
            y: list.y + 1,
            width: list.width.saturating_sub(2),
            height: list.height.saturating_sub(2),
        },
        crate::tui::state::HitTarget::Reports,
        0,
        1,
    );
    let items: Vec<Line> = REPORTS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            Line::from(Span::styled(
                format!(" {name}"),
                if i == s.selected { t.selected } else { t.base },
            ))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(items).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.focus)
                .title(Span::styled(" reports ", t.focus)),
        ),
        list,
    );
}

/// The report's table: whole columns only, from the scroll offset, as many as fit; rows
/// from the row offset.
fn render_table(app: &App, r: &Report, frame: &mut Frame, table_area: Rect) {
    let t = &app.theme;
    let s = &app.reports;
    let texts: Vec<Vec<String>> = r
        .table
        .rows
        .iter()
        .map(|row| row.iter().map(|c| c.to_text()).collect())
        .collect();
    // Whole columns only, from the left, as many as fit: a cut number would mislead.
    let full: Vec<usize> = r
        .table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            texts
                .iter()
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(c.chars().count())
                .min(60)
        })
        .collect();
    // The first column, then whole columns from the scroll offset, as many as fit.
    let offset = s.col_offset.min(full.len().saturating_sub(2));
    let order: Vec<usize> = std::iter::once(0).chain((1 + offset)..full.len()).collect();
    let mut cols: Vec<usize> = Vec::new();
    let mut used = 0usize;
    for &i in &order {
        let need = full[i] + if cols.is_empty() { 0 } else { 2 };
        if used + need > table_area.width as usize && !cols.is_empty() {
            break;
        }
        used += need;
        cols.push(i);
    }
    let hidden_left = offset;
    let hidden = full.len() - cols.len();
    let widths: Vec<Constraint> = cols
        .iter()
        .map(|i| Constraint::Length(full[*i] as u16))
        .collect();
    let (table_area, more) = if hidden > 0 {
        let [a, b] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(table_area);
        (a, Some(b))
    } else {
        (table_area, None)
    };
    let visible = table_area.height.saturating_sub(1) as usize;
    let rows: Vec<Row> = texts
        .into_iter()
        .enumerate()
        .skip(s.scroll)
        .take(visible)
        .map(|(i, row)| {
            let numeric: Vec<bool> = r.table.rows[i].iter().map(|c| c.is_numeric()).collect();
            Row::new(
                cols.iter()
                    .map(|&c| {
                        let text = row[c].clone();
                        if numeric[c] {
                            Cell::from(Line::from(text).right_aligned())
                        } else {
                            Cell::from(text)
                        }
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    if let Some(area) = more {
        frame.render_widget(
            Paragraph::new(format!(
                "{hidden} more column(s){} — h/l scroll, or export (e)",
                if hidden_left > 0 {
                    format!(", {hidden_left} to the left")
                } else {
                    String::new()
                }
            ))
            .style(t.muted),
            area,
        );
    }
    frame.render_widget(
        Table::new(rows, widths)
            .header(
                Row::new(
                    cols.iter()
                        .map(|c| r.table.columns[*c].clone())
                        .collect::<Vec<_>>(),
                )
                .style(t.muted),
            )
            .column_spacing(2),
        table_area,
    );
}
