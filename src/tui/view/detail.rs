//! One customer: who they are, their contacts, deals, orders and activity timeline.

use super::{compact, pane_block};
use crate::domain::customers::CustomerDetail;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(d) = &app.detail else {
        frame.render_widget(Paragraph::new("loading…").style(t.muted), area);
        return;
    };
    let [head, insight, body] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(if d.intel.is_some() { 8 } else { 3 }),
        Constraint::Min(0),
    ])
    .areas(area);
    render_head(app, d, frame, head);
    render_insight(app, d, frame, insight);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
    let [contacts, deals] =
        Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(left);
    let [orders, timeline] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(right);

    render_contacts(app, d, frame, contacts);
    render_deals(app, d, frame, deals);
    render_orders(app, d, frame, orders);
    render_timeline(app, d, frame, timeline);
}

/// A line of (label, value) span pairs keeping the pairs that fit whole in `width`; a
/// first pair too long for it is clipped with "…".
fn whole_pairs(line: Line<'static>, width: usize) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    let all = line.spans;
    for pair in all.chunks(2) {
        let w: usize = pair.iter().map(|s| super::cols(&s.content)).sum();
        if used + w > width {
            if spans.is_empty() {
                return super::clip_line(Line::from(pair.to_vec()), width);
            }
            break;
        }
        used += w;
        spans.extend(pair.iter().cloned());
    }
    Line::from(spans)
}

/// Who the customer is: name and id, owner, segment, status, place, contact details, revenue.
fn render_head(app: &App, d: &CustomerDetail, frame: &mut Frame, head: Rect) {
    let t = &app.theme;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let head_lines = vec![
        Line::from(vec![
            Span::styled(d.name.clone(), t.title),
            Span::styled(
                format!("   {}", d.external_id.clone().unwrap_or_default()),
                t.muted,
            ),
        ]),
        Line::from(vec![
            Span::styled("owner ", t.muted),
            Span::styled(opt(&d.owner), t.base),
            Span::styled("   segment ", t.muted),
            Span::styled(opt(&d.segment).replace('_', " "), t.base),
            Span::styled("   status ", t.muted),
            Span::styled(d.status.clone(), t.base),
            Span::styled("   industry ", t.muted),
            Span::styled(opt(&d.industry), t.base),
        ]),
        Line::from(vec![
            Span::styled("city ", t.muted),
            Span::styled(
                format!("{}, {} ({})", opt(&d.city), opt(&d.country), opt(&d.region)),
                t.base,
            ),
            Span::styled("   email ", t.muted),
            Span::styled(opt(&d.email), t.base),
            Span::styled("   phone ", t.muted),
            Span::styled(opt(&d.phone), t.base),
        ]),
        Line::from(vec![
            Span::styled("customer since ", t.muted),
            Span::styled(d.created_on.clone(), t.base),
            Span::styled("   lifetime revenue ", t.muted),
            Span::styled(d.lifetime_revenue.to_string(), t.won),
            Span::styled("   contact every ", t.muted),
            Span::styled(
                d.contact_every_days
                    .map(|n| format!("{n} days"))
                    .unwrap_or_else(|| "-".into()),
                t.base,
            ),
        ]),
    ];
    // Label-value pairs that do not fit whole are left out (the edit form has them all).
    let w = head.width as usize;
    let head_lines: Vec<Line> = head_lines.into_iter().map(|l| whole_pairs(l, w)).collect();
    frame.render_widget(Paragraph::new(head_lines), head);
}

/// The customer intelligence of the last recompute: segment and its history, tier,
/// P(alive), predicted value, the predicted need with its rule, and the offers with
/// their reasons.
fn render_insight(app: &App, d: &CustomerDetail, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(i) = &d.intel else {
        let block = pane_block(app, " Insight ".into(), false);
        frame.render_widget(
            Paragraph::new(
                "no customer intelligence yet: R on the dashboard (or funnel recompute) computes segment, value, churn risk, need and offers",
            )
            .style(t.muted)
            .block(block),
            area,
        );
        return;
    };
    let block = pane_block(app, format!(" Insight as of {} ", i.as_of), false);
    let w = area.width.saturating_sub(2) as usize;
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.0}%", 100.0 * v))
            .unwrap_or_else(|| "-".into())
    };
    let mut lines = vec![whole_pairs(
        Line::from(vec![
            Span::styled("RFM segment ", t.muted),
            Span::styled(
                i.segment.clone().unwrap_or_else(|| "- (no orders)".into()),
                t.accent,
            ),
            Span::styled("   tier ", t.muted),
            Span::styled(i.tier.clone().unwrap_or_else(|| "-".into()), t.accent),
            Span::styled("   P(alive) ", t.muted),
            Span::styled(
                format!("{} (churn risk {})", pct(i.p_alive), pct(i.churn_risk)),
                if i.churn_risk.is_some_and(|c| c >= 0.5) {
                    t.warning
                } else {
                    t.base
                },
            ),
            Span::styled("   next 12 months ", t.muted),
            Span::styled(
                match (i.predicted_value, i.expected_purchases) {
                    (Some(v), Some(n)) => format!("{} ({n:.1} purchases)", compact(v)),
                    _ => "-".into(),
                },
                t.won,
            ),
        ]),
        w,
    )];
    // The segment in each run, repeats folded: "loyal (2 runs) → at risk".
    let mut path: Vec<(String, usize)> = Vec::new();
    for h in &d.segment_history {
        match path.last_mut() {
            Some((name, n)) if *name == h.segment => *n += 1,
            _ => path.push((h.segment.clone(), 1)),
        }
    }
    let history = path
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|(name, n)| {
            if *n > 1 {
                format!("{name} ({n} runs)")
            } else {
                name.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" → ");
    lines.push(super::clip_line(
        Line::from(vec![
            Span::styled("segment history ", t.muted),
            Span::styled(
                if history.is_empty() {
                    "-".to_string()
                } else {
                    history
                },
                t.base,
            ),
        ]),
        w,
    ));
    lines.push(super::clip_line(
        match &i.need {
            Some(n) => Line::from(vec![
                Span::styled("predicted need ", t.muted),
                Span::styled(n.family.clone(), t.accent),
                Span::styled(
                    format!(
                        " ({:.0}% of similar customers bought it next)  because {}",
                        100.0 * n.share,
                        if n.rule.is_empty() { "-" } else { &n.rule }
                    ),
                    t.base,
                ),
            ]),
            None => Line::from(vec![
                Span::styled("predicted need ", t.muted),
                Span::styled("- (no prediction for this customer)", t.muted),
            ]),
        },
        w,
    ));
    for (k, o) in i.offers.iter().enumerate() {
        lines.push(super::clip_line(
            Line::from(vec![
                Span::styled(format!("offer {} ", k + 1), t.muted),
                Span::styled(o.product.clone(), t.accent),
                Span::styled(format!("  {}", o.reason), t.base),
            ]),
            w,
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The contacts, the primary one starred, the selected one highlighted when the list has the focus.
fn render_contacts(app: &App, d: &CustomerDetail, frame: &mut Frame, contacts: Rect) {
    let t = &app.theme;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let block = pane_block(
        app,
        format!(" Contacts ({}) ", d.contacts.len()),
        !app.timeline_focus,
    );
    app.hit(
        block.inner(contacts),
        crate::tui::state::HitTarget::Contacts,
        0,
        1,
    );
    let lines: Vec<Line> = d
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let style = if i == app.contact_sel && !app.timeline_focus {
                t.selected
            } else {
                t.base
            };
            Line::from(vec![
                Span::styled(if c.primary { "* " } else { "  " }, t.accent),
                Span::styled(c.name.clone(), style),
                Span::styled(format!("  {}  {}", opt(&c.title), opt(&c.email)), t.muted),
            ])
        })
        .collect();
    let w = contacts.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| super::clip_line(l, w)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), contacts);
}

/// The customer's deals, newest first, coloured by outcome.
fn render_deals(app: &App, d: &CustomerDetail, frame: &mut Frame, deals: Rect) {
    let t = &app.theme;
    let block = pane_block(app, format!(" Deals ({}) ", d.deals.len()), false);
    let lines: Vec<Line> = d
        .deals
        .iter()
        .map(|(name, stage, kind, amount, expected, closed)| {
            let style = match kind.as_str() {
                "won" => t.won,
                "lost" => t.lost,
                _ => t.base,
            };
            let when = closed
                .clone()
                .or_else(|| expected.clone())
                .unwrap_or_default();
            Line::from(vec![
                Span::styled(format!("{:>8} ", compact(*amount)), style),
                Span::styled(format!("{stage:<14} "), style),
                Span::styled(format!("{when} "), t.muted),
                Span::styled(name.clone(), t.base),
            ])
        })
        .collect();
    let w = deals.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| super::clip_line(l, w)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), deals);
}

/// The latest orders (refunds in red).
fn render_orders(app: &App, d: &CustomerDetail, frame: &mut Frame, orders: Rect) {
    let t = &app.theme;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let block = pane_block(app, format!(" Orders (last {}) ", d.orders.len()), false);
    let lines: Vec<Line> = d
        .orders
        .iter()
        .map(|(date, amount, product)| {
            Line::from(vec![
                Span::styled(format!("{date} "), t.muted),
                Span::styled(
                    format!("{:>10} ", amount.to_string()),
                    if amount.cents() < 0 { t.danger } else { t.base },
                ),
                Span::styled(opt(product), t.base),
            ])
        })
        .collect();
    let w = orders.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| super::clip_line(l, w)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), orders);
}

/// The activity timeline, scrolled to keep the selected activity in view.
fn render_timeline(app: &App, d: &CustomerDetail, frame: &mut Frame, timeline: Rect) {
    let t = &app.theme;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let block = pane_block(
        app,
        " Activity timeline (tab) ".to_string(),
        app.timeline_focus,
    );
    // Keep the selected activity in view.
    let rows = timeline.height.saturating_sub(2) as usize;
    let skip = (app.activity_sel + 1).saturating_sub(rows.max(1));
    app.hit(
        block.inner(timeline),
        crate::tui::state::HitTarget::Timeline,
        skip,
        1,
    );
    let lines: Vec<Line> = d
        .activities
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, a)| {
            let chosen = app.timeline_focus && i == app.activity_sel;
            Line::from(vec![
                Span::styled(if chosen { "▸ " } else { "  " }, t.accent),
                Span::styled(
                    format!("{} ", a.date),
                    if a.done { t.muted } else { t.warning },
                ),
                Span::styled(format!("{:<8}", a.kind), t.accent),
                Span::styled(
                    format!("{} ", opt(&a.subject)),
                    if chosen { t.selected } else { t.base },
                ),
                Span::styled(
                    if a.done {
                        format!("{} · {}", opt(&a.outcome), opt(&a.rep))
                    } else {
                        format!("due · {}", opt(&a.rep))
                    },
                    t.muted,
                ),
            ])
        })
        .collect();
    let w = timeline.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = lines.into_iter().map(|l| super::clip_line(l, w)).collect();
    frame.render_widget(Paragraph::new(lines).block(block), timeline);
}
