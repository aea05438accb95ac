//! The Segments screen: the segments of the last recompute (size, revenue share, the
//! profile in words and figures), who moved since the run before, the value tiers, and
//! what could not be computed.

use super::compact;
use super::table::DataTable;
use crate::app::intel::Overview;
use crate::domain::segments::SegmentProfile;
use crate::domain::table::terminal_safe;
use crate::domain::Money;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

fn block(app: &App, title: String) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border)
        .title(Line::styled(title, app.theme.title))
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let s = &app.segments;
    let block = |title: String| block(app, title);
    let message = |frame: &mut Frame, text: String, style| {
        frame.render_widget(
            Paragraph::new(terminal_safe(&text).into_owned())
                .style(style)
                .wrap(Wrap { trim: true })
                .block(block(" Segments ".into())),
            area,
        );
    };
    if let Some(e) = &s.error {
        return message(frame, e.clone(), t.danger);
    }
    let Some(o) = &s.overview else {
        return message(frame, "reading the last recompute…".into(), t.muted);
    };
    let Some(run) = &o.run else {
        return message(
            frame,
            "no customer intelligence yet: R recomputes forecasts, scores, segments, lifetime value, needs and offers (funnel recompute does the same)".into(),
            t.muted,
        );
    };
    let profiles = o
        .segments
        .as_ref()
        .map(|r| r.profiles.as_slice())
        .unwrap_or(&[]);
    let tier_rows = o.tiers.len() as u16;
    let move_rows = o.moves.len().min(8) as u16;
    let [head, table, about, lower] = Layout::vertical([
        Constraint::Length(2 + run.notes.len() as u16),
        Constraint::Max(profiles.len().max(1) as u16 + 3),
        Constraint::Min(3),
        Constraint::Length(3 + tier_rows.max(move_rows.max(1))),
    ])
    .areas(area);
    let mut lines = vec![Line::from(vec![
        Span::styled(format!(" as of {}", run.as_of), t.accent),
        Span::styled(
            format!(" · {} of {} customers valued", run.valued, run.customers),
            t.muted,
        ),
        Span::styled(
            match &o.segments {
                Some(r) => format!(
                    " · segment run {}: k = {}, silhouette {:.2}",
                    r.id, r.k, r.silhouette
                ),
                None => String::new(),
            },
            t.muted,
        ),
    ])];
    for n in &run.notes {
        lines.push(Line::styled(
            format!(" not computed: {}", terminal_safe(n)),
            t.warning,
        ));
    }
    frame.render_widget(Paragraph::new(lines), head);

    render_table(app, profiles, frame, table);
    if let Some(p) = profiles.get(s.selected) {
        frame.render_widget(
            Paragraph::new(terminal_safe(&p.description).into_owned())
                .style(t.base)
                .wrap(Wrap { trim: true })
                .block(block(format!(" {} ", p.name))),
            about,
        );
    }

    render_lower(app, o, frame, lower);
}

/// The segments as a table, the selected one highlighted.
fn render_table(app: &App, profiles: &[SegmentProfile], frame: &mut Frame, table: Rect) {
    let t = &app.theme;
    let s = &app.segments;
    let block = |title: String| block(app, title);
    let customers: usize = profiles.iter().map(|p| p.customers).sum();
    let revenue: i64 = profiles.iter().map(|p| p.revenue_cents).sum();
    let share = |part: f64, whole: f64| {
        if whole > 0.0 {
            format!("{:.0}%", 100.0 * part / whole)
        } else {
            "-".into()
        }
    };
    let header = Row::new([
        "Segment",
        "Customers",
        "Share",
        "Revenue",
        "Rev share",
        "Last buy",
        "Orders",
        "Avg order",
        "Tenure",
        "Products",
    ])
    .style(t.accent);
    let widths = vec![
        Constraint::Length(13),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(8),
    ];
    let title = format!(
        " Segments ({}) · enter: list its customers · R: recompute ",
        profiles.len()
    );
    if profiles.is_empty() {
        frame.render_widget(
            Paragraph::new("no segments in this run (see above)")
                .style(t.muted)
                .block(block(title)),
            table,
        );
    } else {
        DataTable::new(header, widths, t.selected)
            .block(block(title))
            .render(
                frame,
                table,
                &s.scroll,
                (0, profiles.len()),
                Some(s.selected),
                |i| {
                    let p = &profiles[i];
                    let right = |text: String| Cell::from(Line::from(text).right_aligned());
                    Row::new(vec![
                        Cell::from(p.name.clone()),
                        right(p.customers.to_string()),
                        right(share(p.customers as f64, customers as f64)),
                        right(compact(Money(p.revenue_cents))),
                        right(share(p.revenue_cents as f64, revenue as f64)),
                        right(format!("{:.0} d", p.recency_days)),
                        right(format!("{:.0}", p.frequency)),
                        right(compact(Money(p.monetary_cents.round() as i64))),
                        right(format!("{:.0} d", p.tenure_days)),
                        right(format!("{:.0}", p.breadth)),
                    ])
                    .style(t.base)
                },
            );
    }
}

/// Who moved since the run before, and the value tiers.
fn render_lower(app: &App, o: &Overview, frame: &mut Frame, lower: Rect) {
    let t = &app.theme;
    let block = |title: String| block(app, title);
    let [moves, tiers] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(lower);
    let mut move_lines: Vec<Line> = o
        .moves
        .iter()
        .take(8)
        .map(|m| {
            Line::from(vec![
                Span::styled(format!(" {:>7} ", m.customers), t.base),
                Span::styled(format!("{} → {}", m.from, m.to), t.base),
            ])
        })
        .collect();
    if move_lines.is_empty() {
        move_lines.push(Line::styled(
            if o.previous_run.is_some() {
                " nobody moved"
            } else {
                " the first run: nothing to compare with yet"
            },
            t.muted,
        ));
    }
    let moved_title = match o.previous_run {
        Some(p) => format!(" Moved since run {p} "),
        None => " Moved since the run before ".into(),
    };
    frame.render_widget(Paragraph::new(move_lines).block(block(moved_title)), moves);
    let mut tier_lines = vec![Line::styled("  tier  customers   predicted 12 m", t.muted)];
    tier_lines.extend(o.tiers.iter().map(|(tier, n, value)| {
        Line::from(format!("  {tier:<4}  {n:>9}   {:>14}", compact(*value)))
    }));
    if o.tiers.is_empty() {
        tier_lines.push(Line::styled("  no values (see above)", t.muted));
    }
    frame.render_widget(
        Paragraph::new(tier_lines).block(block(" Value tiers (A top 20%, B next 30%) ".into())),
        tiers,
    );
}
