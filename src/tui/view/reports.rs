//! The reports screen: every report by name on the left; the one run on the right, with
//! its notes and its table (scrolling), exportable as CSV and Markdown.

use crate::app::reports::REPORTS;
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
    let (name, about) = REPORTS[s.selected.min(REPORTS.len() - 1)];
    let by = s.by.map(|b| format!(" by {b}")).unwrap_or_default();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" {name}{by} · enter runs · b breakdown · e export "),
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
    let mut shown = 0;
    let mut used = 0usize;
    for w in &full {
        let need = w + if shown > 0 { 2 } else { 0 };
        if used + need > table_area.width as usize && shown > 0 {
            break;
        }
        used += need;
        shown += 1;
    }
    let hidden = full.len() - shown;
    let widths: Vec<Constraint> = full[..shown]
        .iter()
        .map(|w| Constraint::Length(*w as u16))
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
                row.into_iter()
                    .zip(numeric)
                    .take(shown)
                    .map(|(text, num)| {
                        if num {
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
                "+{hidden} more column(s): {} — widen the terminal or export (e)",
                r.table.columns[shown..].join(", ")
            ))
            .style(t.muted),
            area,
        );
    }
    frame.render_widget(
        Table::new(rows, widths)
            .header(Row::new(r.table.columns[..shown].to_vec()).style(t.muted))
            .column_spacing(2),
        table_area,
    );
}
