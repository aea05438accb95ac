//! The targets screen for this month: teams against target with pace and gap, and the
//! rep leaderboard.

use super::compact;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

fn pct(v: Option<f64>) -> String {
    v.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(d) = &app.dashboard else {
        frame.render_widget(Paragraph::new("loading…").style(t.muted), area);
        return;
    };
    let p = &d.targets;
    let [teams, reps] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let rows: Vec<Row> = p
        .gauges
        .iter()
        .map(|g| {
            let ratio = g.attainment();
            let style = match ratio {
                Some(r) if r >= p.pace => t.won,
                Some(_) => t.warning,
                None => t.muted,
            };
            Row::new(vec![
                Cell::from(format!(
                    "{}{}",
                    "  ".repeat(g.depth.saturating_sub(1)),
                    g.name
                )),
                Cell::from(
                    Line::from(g.target.map(compact).unwrap_or_else(|| "-".into())).right_aligned(),
                ),
                Cell::from(Line::from(compact(g.actual)).right_aligned()),
                Cell::from(Line::from(pct(ratio)).right_aligned()).style(style),
                Cell::from(
                    Line::from(g.gap().map(compact).unwrap_or_else(|| "-".into())).right_aligned(),
                ),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(9),
        ],
    )
    .header(Row::new(["Team", "Target", "Actual", "Att.", "Gap"]).style(t.muted))
    .block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.focus)
            .title(Span::styled(
                format!(
                    " {} · pace {:.0}% (share of the month gone) ",
                    p.period,
                    p.pace * 100.0
                ),
                t.focus,
            )),
    );
    frame.render_widget(table, teams);

    let visible = reps.height.saturating_sub(3) as usize;
    let rows: Vec<Row> = p
        .leaderboard
        .iter()
        .enumerate()
        .skip(
            app.targets_scroll
                .min(p.leaderboard.len().saturating_sub(visible)),
        )
        .take(visible)
        .map(|(i, r)| {
            let ratio = r.attainment();
            Row::new(vec![
                Cell::from(format!("{:>3}", i + 1)),
                Cell::from(r.rep.clone()),
                Cell::from(r.team.clone().unwrap_or_default()),
                Cell::from(
                    Line::from(r.target.map(compact).unwrap_or_else(|| "-".into())).right_aligned(),
                ),
                Cell::from(Line::from(compact(r.actual)).right_aligned()),
                Cell::from(Line::from(pct(ratio)).right_aligned()).style(match ratio {
                    Some(x) if x >= p.pace => t.won,
                    Some(_) => t.warning,
                    None => t.muted,
                }),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
        ],
    )
    .header(Row::new(["#", "Rep", "Team", "Target", "Actual", "Att."]).style(t.muted))
    .block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.border)
            .title(Span::styled(
                format!(" leaderboard ({} reps) · j/k scroll ", p.leaderboard.len()),
                t.title,
            )),
    );
    frame.render_widget(table, reps);
}
