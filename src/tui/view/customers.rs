//! The customer list: only the visible rows are built, from the window the state holds.

use super::table::DataTable;
use super::{compact, pane_block};
use crate::tui::state::{App, HitTarget, Screen};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

/// The list inside `area` (a pane or the whole screen), with the selection kept visible.
pub fn render_list(app: &App, frame: &mut Frame, area: Rect, focused: bool, wide: bool) {
    let t = &app.theme;
    let c = &app.customers;
    let total = c.total.map(|n| n.to_string()).unwrap_or_else(|| "…".into());
    let mut title = format!(" 1 Customers ({total}) ");
    if !c.filter.search.is_empty() {
        title.push_str(&format!("/{} ", c.filter.search));
    }
    let block = pane_block(app, title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let visible = inner.height.saturating_sub(1) as usize;
    // Owner and segment need room; on a narrow pane the name keeps it.
    let medium = inner.width >= 50;
    if visible == 0 {
        return;
    }
    let mut header = vec!["Name"];
    let mut widths = vec![Constraint::Fill(3)];
    if medium {
        header.extend(["Owner", "Segment"]);
        widths.extend([
            Constraint::Fill(2),
            Constraint::Length(if wide { 10 } else { 7 }),
        ]);
    }
    // The full screen shows the stored customer intelligence; a very wide one also the
    // status, city and lifetime value.
    let xwide = wide && inner.width >= 140;
    if xwide {
        header.extend(["Status", "City"]);
        widths.extend([Constraint::Length(9), Constraint::Fill(1)]);
    }
    if wide {
        header.extend(["RFM segment", "Tier", "Churn", "Pred 12m"]);
        widths.extend([
            Constraint::Length(12),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(8),
        ]);
    }
    if xwide {
        header.push("Lifetime");
        widths.push(Constraint::Length(8));
    }
    // A narrow pane keeps the name readable: the last contact goes first.
    let show_last = inner.width >= 40;
    header.push("Pipeline");
    widths.push(Constraint::Length(9));
    if show_last {
        header.push("Last contact");
        widths.push(Constraint::Length(12));
    }
    // Each column's width, to clip names whole-word with "…" instead of cutting them.
    let col_w: Vec<usize> = Layout::horizontal(widths.clone())
        .spacing(1)
        .split(inner)
        .iter()
        .map(|r| r.width as usize)
        .collect();
    let fit = |text: &str, col: usize| super::clip(text, col_w.get(col).copied().unwrap_or(0));
    if c.rows.is_empty() {
        let msg = if c.loading {
            "loading…"
        } else {
            "no customers match"
        };
        frame.render_widget(Paragraph::new(msg).style(t.muted), inner);
        return;
    }
    let highlight = focused || app.screen == Screen::Customers;
    let (rows_area, top) = DataTable::new(Row::new(header).style(t.muted), widths, t.selected)
        .render(
            frame,
            inner,
            &c.scroll,
            (c.first, c.rows.len()),
            highlight.then_some(c.selected),
            |i| {
                let r = &c.rows[i - c.first];
                let mut cells = vec![Cell::from(fit(&r.name, 0))];
                if medium {
                    cells.push(Cell::from(fit(r.owner.as_deref().unwrap_or_default(), 1)));
                    let segment = r.segment.as_deref().unwrap_or_default();
                    cells.push(Cell::from(match (wide, segment) {
                        (false, "mid_market") => "mid".to_string(),
                        (false, "enterprise") => "ent".to_string(),
                        _ => segment.replace('_', " "),
                    }));
                }
                if xwide {
                    cells.push(Cell::from(r.status.clone()));
                    cells.push(Cell::from(fit(r.city.as_deref().unwrap_or_default(), 4)));
                }
                let money = |m: Option<crate::domain::Money>| {
                    Cell::from(
                        Line::from(m.map(compact).unwrap_or_else(|| "-".into())).right_aligned(),
                    )
                };
                if wide {
                    cells.push(Cell::from(
                        r.rfm_segment.clone().unwrap_or_else(|| "-".into()),
                    ));
                    cells.push(Cell::from(r.tier.clone().unwrap_or_else(|| "-".into())));
                    cells.push(Cell::from(
                        Line::from(
                            r.churn_risk
                                .map(|c| format!("{:.0}%", 100.0 * c))
                                .unwrap_or_else(|| "-".into()),
                        )
                        .right_aligned(),
                    ));
                    cells.push(money(r.predicted_value));
                }
                if xwide {
                    cells.push(money(r.lifetime_value));
                }
                cells.push(Cell::from(
                    Line::from(compact(r.open_pipeline)).right_aligned(),
                ));
                if show_last {
                    cells.push(Cell::from(
                        r.last_contact.clone().unwrap_or_else(|| "-".into()),
                    ));
                }
                Row::new(cells).style(t.base)
            },
        );
    app.hit(rows_area, HitTarget::Customers, top, 1);
}

pub fn render_screen(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let c = &app.customers;
    let [bar, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let mut spans = vec![
        Span::styled(" search: ", t.muted),
        Span::styled(
            if c.editing_search {
                crate::tui::line::Input {
                    text: c.filter.search.clone(),
                    cursor: c.search_cursor,
                }
                .to_string()
            } else {
                c.filter.search.clone()
            },
            if c.editing_search { t.accent } else { t.base },
        ),
        Span::styled(format!("   sort: {}", c.sort.label()), t.muted),
    ];
    for (label, v) in [
        ("owner", &c.filter.owner),
        ("region", &c.filter.region),
        ("segment", &c.filter.segment),
        ("status", &c.filter.status),
        ("RFM", &c.filter.rfm_segment),
        ("tier", &c.filter.tier),
    ] {
        if let Some(v) = v {
            spans.push(Span::styled(format!("   {label}: {v}"), t.accent));
        }
    }
    if let Some(p) = c.filter.min_churn_pct {
        spans.push(Span::styled(format!("   churn ≥ {p}%"), t.accent));
    }
    if let Some(v) = c.filter.min_predicted_cents {
        spans.push(Span::styled(
            format!("   pred 12m ≥ {}", compact(crate::domain::Money(v))),
            t.accent,
        ));
    }
    // Sorting or filtering on values no recompute has made yet: say how to make them.
    let on_intel = c.sort.on_intel() || c.filter.on_intel();
    if on_intel
        && app
            .segments
            .overview
            .as_ref()
            .is_some_and(|o| o.run.is_none())
    {
        spans.push(Span::styled(
            "   no values yet: R on the dashboard computes them",
            t.warning,
        ));
    }
    if let Some(total) = c.total {
        spans.push(Span::styled(
            format!("   {} of {total}", (c.selected + 1).min(total as usize)),
            t.muted,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), bar);
    render_list(app, frame, list, true, area.width >= 100);
}
