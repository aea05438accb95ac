//! `?` help (filterable) and the `:` palette (fuzzy), both from the keymap.

use crate::tui::keymap;
use crate::tui::state::{App, Popup};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(popup) = &app.popup else { return };
    let t = &app.theme;
    let width = area.width.saturating_sub(4).min(72);
    let height = area.height.saturating_sub(2).min(24);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    let (title, lines) = match popup {
        Popup::Help { filter } => {
            let f = filter.to_lowercase();
            let mut lines = vec![Line::from(vec![
                Span::styled("filter: ", t.muted),
                Span::styled(format!("{filter}▏"), t.accent),
            ])];
            for (keys, action, desc) in keymap::describe(&app.keymap, app.context()) {
                let text = format!("{keys} {} {desc}", action.name());
                if !f.is_empty() && !text.to_lowercase().contains(&f) {
                    continue;
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("{keys:>16}  "), t.accent),
                    Span::styled(desc.to_string(), t.base),
                ]));
            }
            (
                format!(" keys: {} (esc closes) ", app.context().name()),
                lines,
            )
        }
        Popup::LostReason { deal, input, .. } => {
            let lines = vec![
                Line::from(Span::styled(format!("Why was '{deal}' lost?"), t.base)),
                Line::default(),
                Line::from(vec![
                    Span::styled("reason: ", t.muted),
                    Span::styled(format!("{input}▏"), t.accent),
                ]),
                Line::default(),
                Line::from(Span::styled("enter saves, esc cancels", t.muted)),
            ];
            (" mark lost ".to_string(), lines)
        }
        Popup::Palette { input, selected } => {
            let mut lines = vec![Line::from(vec![
                Span::styled(": ", t.accent),
                Span::styled(format!("{input}▏"), t.base),
            ])];
            for (i, (action, keys, desc)) in app.palette_matches().into_iter().enumerate() {
                let style = if i == *selected { t.selected } else { t.base };
                lines.push(Line::from(vec![Span::styled(
                    format!(" {:<22} {:<34} {keys}", action.name(), desc),
                    style,
                )]));
            }
            (
                " command palette (enter runs, esc closes) ".to_string(),
                lines,
            )
        }
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.focus)
        .title(Span::styled(title, t.title))
        .style(t.base);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
