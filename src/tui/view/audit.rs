//! The Audit screen: the trail as a table (only the rows that fit are drawn) and, on
//! `enter`, the selected entry's row before and after.

use super::table::DataTable;
use crate::domain::table::terminal_safe;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let a = &app.audit;
    let (list, detail) = if a.expanded {
        let [l, d] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (l, Some(d))
    } else {
        (area, None)
    };
    let title = format!(
        " Audit trail · {} entries read{} · enter: before/after ",
        a.rows.len(),
        if a.complete {
            " (all)"
        } else if a.loading {
            " …"
        } else {
            ""
        }
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Line::styled(title, t.title));
    if let Some(e) = &a.error {
        frame.render_widget(
            Paragraph::new(terminal_safe(e).into_owned())
                .style(t.danger)
                .block(block),
            list,
        );
        return;
    }
    if a.rows.is_empty() {
        let text = if a.loading {
            "reading the audit trail…"
        } else {
            "nothing has been changed yet"
        };
        frame.render_widget(Paragraph::new(text).style(t.muted).block(block), list);
        return;
    }
    let widths = vec![
        Constraint::Length(7),
        Constraint::Length(19),
        Constraint::Length(18),
        Constraint::Length(6),
        Constraint::Length(15),
        Constraint::Length(13),
        Constraint::Length(5),
        Constraint::Min(10),
    ];
    let header = Row::new([
        "id", "at (UTC)", "user", "action", "entity", "ids", "batch", "note",
    ])
    .style(t.accent);
    DataTable::new(header, widths, t.selected)
        .block(block)
        .render(
            frame,
            list,
            &a.scroll,
            (0, a.rows.len()),
            Some(a.selected),
            |i| {
                let e = &a.rows[i];
                let user = match &e.display_name {
                    Some(n) => format!("{} ({n})", e.os_user),
                    None => e.os_user.clone(),
                };
                let ids = match e.entity_id_last {
                    Some(last) if last != e.entity_id => format!("{}..{last}", e.entity_id),
                    _ => e.entity_id.to_string(),
                };
                let cells = [
                    e.id.to_string(),
                    e.at.replace('T', " ").trim_end_matches('Z').to_string(),
                    user,
                    e.action.clone(),
                    e.entity.clone(),
                    ids,
                    e.batch_id.map(|b| b.to_string()).unwrap_or_default(),
                    e.note.clone().unwrap_or_default(),
                ]
                .map(|c| Cell::from(terminal_safe(&c).into_owned()));
                Row::new(cells)
            },
        );
    if let (Some(area), Some(e)) = (detail, a.rows.get(a.selected)) {
        let show = |json: &Option<String>| match json {
            Some(j) => terminal_safe(j).into_owned(),
            None => "—".to_string(),
        };
        let text = vec![
            Line::styled("before", t.accent),
            Line::raw(show(&e.before)),
            Line::raw(""),
            Line::styled("after", t.accent),
            Line::raw(show(&e.after)),
        ];
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.border)
                    .title(Line::styled(format!(" entry {} ", e.id), t.title)),
            ),
            area,
        );
    }
}
