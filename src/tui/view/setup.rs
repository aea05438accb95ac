//! The Setup screen: a tab per kind of organisation data and a table of its rows. Only
//! the rows that fit are drawn; on a narrow terminal whole columns are dropped from the
//! right (never cut), and the title says which.

use super::table::DataTable;
use crate::tui::setup::Tab;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use ratatui::Frame;

/// Column titles with the width each needs, and the rows as text.
fn columns(app: &App) -> (Vec<(&'static str, u16)>, Vec<Vec<String>>) {
    let Some(d) = &app.setup.data else {
        return (Vec::new(), Vec::new());
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    match app.setup.tab {
        Tab::Teams => (
            vec![
                ("Team", 24),
                ("Parent", 18),
                ("Reps", 5),
                ("External id", 12),
            ],
            d.teams
                .iter()
                .map(|t| {
                    vec![
                        format!("{}{}", "  ".repeat(t.depth), t.name),
                        opt(&t.parent),
                        t.reps.to_string(),
                        opt(&t.external_id),
                    ]
                })
                .collect(),
        ),
        Tab::Reps => (
            vec![
                ("Rep", 20),
                ("Team", 18),
                ("Capacity", 8),
                ("Active", 6),
                ("Email", 24),
            ],
            d.reps
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        opt(&r.team),
                        format!("{:.2}", r.capacity),
                        if r.active { "yes" } else { "no" }.into(),
                        opt(&r.email),
                    ]
                })
                .collect(),
        ),
        Tab::Products => (
            vec![
                ("SKU", 14),
                ("Name", 22),
                ("Family", 14),
                ("List price", 12),
            ],
            d.products
                .iter()
                .map(|p| {
                    vec![
                        p.sku.clone(),
                        p.name.clone(),
                        opt(&p.family),
                        p.list_price.to_string(),
                    ]
                })
                .collect(),
        ),
        Tab::Stages => (
            vec![
                ("#", 3),
                ("Stage", 22),
                ("Kind", 5),
                ("Win %", 6),
                ("Category", 10),
                ("Deals", 7),
            ],
            d.stages
                .iter()
                .map(|s| {
                    vec![
                        s.position.to_string(),
                        s.name.clone(),
                        s.kind.as_str().into(),
                        format!("{:.0}%", s.probability * 100.0),
                        s.category.as_str().into(),
                        s.deals.to_string(),
                    ]
                })
                .collect(),
        ),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let s = &app.setup;
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let mut spans = Vec::new();
    for tab in Tab::ALL {
        let style = if tab == s.tab { t.selected } else { t.muted };
        spans.push(Span::styled(format!(" {} ", tab.title()), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs);

    let (cols, rows) = columns(app);
    // Whole columns, as many as fit (one space between them, two for the borders).
    let room = body.width.saturating_sub(2);
    let mut used = 0u16;
    let mut shown = 0;
    for (_, w) in &cols {
        let need = if shown == 0 { *w } else { w + 1 };
        if used + need > room && shown > 0 {
            break;
        }
        used += need;
        shown += 1;
    }
    let hidden: Vec<&str> = cols[shown.min(cols.len())..].iter().map(|c| c.0).collect();
    let mut title = format!(" {} · {} ", s.tab.title(), rows.len());
    if !hidden.is_empty() {
        title.push_str(&format!("· hidden: {} ", hidden.join(", ")));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.focus)
        .title(Span::styled(title, t.focus));
    if let Some(e) = &s.error {
        frame.render_widget(
            Paragraph::new(e.as_str()).style(t.danger).block(block),
            body,
        );
        return;
    }
    if s.data.is_none() {
        frame.render_widget(Paragraph::new("loading…").style(t.muted).block(block), body);
        return;
    }
    if rows.is_empty() {
        let msg = format!(
            "no {} yet: a adds one, or import a file (funnel import {} FILE)",
            s.tab.title().to_lowercase(),
            s.tab.title().to_lowercase()
        );
        frame.render_widget(Paragraph::new(msg).style(t.muted).block(block), body);
        return;
    }
    // Only the rows that fit, keeping the selected one in view.
    let header = Row::new(cols.iter().take(shown).map(|c| Cell::from(c.0))).style(t.title);
    let widths: Vec<Constraint> = cols
        .iter()
        .take(shown)
        .map(|c| Constraint::Length(c.1))
        .collect();
    DataTable::new(header, widths, t.selected)
        .block(block)
        .render(
            frame,
            body,
            &s.scroll,
            (0, rows.len()),
            Some(s.selected),
            |i| Row::new(rows[i].iter().take(shown).cloned().map(Cell::from)),
        );
}
