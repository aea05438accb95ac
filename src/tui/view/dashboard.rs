//! The home screen: Customers, Funnel, Targets and Forecast panes.

use super::{compact, compact_units, pane_block};
use crate::tui::state::{App, Pane};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    let [customers, funnel] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(top);
    let [targets, forecast] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    for (rect, pane) in [
        (customers, Pane::Customers),
        (funnel, Pane::Funnel),
        (targets, Pane::Targets),
        (forecast, Pane::Forecast),
    ] {
        app.hit(rect, crate::tui::state::HitTarget::Pane(pane), 0, 0);
    }
    super::customers::render_list(app, frame, customers, app.pane == Pane::Customers, false);
    render_funnel(app, frame, funnel);
    render_targets(app, frame, targets);
    render_forecast(app, frame, forecast);
}

fn waiting(app: &App) -> Paragraph<'static> {
    let text = match &app.dashboard_error {
        Some(e) => e.clone(),
        None => "loading…".into(),
    };
    Paragraph::new(text).style(if app.dashboard_error.is_some() {
        app.theme.danger
    } else {
        app.theme.muted
    })
}

fn render_funnel(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.pane == Pane::Funnel;
    let period = app
        .dashboard
        .as_ref()
        .map(|d| d.funnel.period.to_string())
        .unwrap_or_default();
    let block = pane_block(app, format!(" 2 Funnel  {period} "), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(d) = &app.dashboard else {
        frame.render_widget(waiting(app), inner);
        return;
    };
    let f = &d.funnel;
    let width = inner.width as usize;
    let longest = f
        .stages
        .iter()
        .map(|s| super::cols(&s.name))
        .max()
        .unwrap_or(5)
        .min(16);
    // Columns drop whole as the pane narrows: the bar shrinks first, then weighted value
    // goes, then conversion; a stage name keeps at least 6 columns (clipped with "…").
    let numbers_full = 6 + 8 + 8 + 7; // deals, value, weighted, conversion, with spaces
    let show_weighted = width >= 6 + 1 + numbers_full;
    let show_conv = width >= 6 + 1 + numbers_full - 8;
    let numbers = match (show_weighted, show_conv) {
        (true, _) => numbers_full,
        (false, true) => numbers_full - 8,
        (false, false) => numbers_full - 15,
    };
    let name_w = longest.min(width.saturating_sub(numbers + 1)).max(1);
    let bar_w = width.saturating_sub(name_w + 1 + numbers).min(40);
    let max = f
        .stages
        .iter()
        .map(|s| s.value.cents())
        .max()
        .unwrap_or(1)
        .max(1);
    let head = match (show_weighted, show_conv) {
        (true, _) => format!("{:>5} {:>7} {:>7} {:>6}", "deals", "value", "wtd", "conv"),
        (false, true) => format!("{:>5} {:>7} {:>6}", "deals", "value", "conv"),
        (false, false) => format!("{:>5} {:>7}", "deals", "value"),
    };
    let mut lines = vec![Line::from(Span::styled(
        format!("{:name_w$} {:bar_w$}{head}", "stage", ""),
        t.muted,
    ))];
    for s in &f.stages {
        let filled =
            (((s.value.cents() as f64 / max as f64) * bar_w as f64).round() as usize).min(bar_w);
        let name = super::clip(&s.name, name_w);
        let name_pad = name_w.saturating_sub(super::cols(&name));
        let conv = s
            .conversion
            .map(|c| format!("{:.0}%", c * 100.0))
            .unwrap_or_else(|| "-".into());
        let numbers = match (show_weighted, show_conv) {
            (true, _) => format!(
                "{:>5} {:>7} {:>7} {:>6}",
                s.count,
                compact(s.value),
                compact(s.weighted),
                conv
            ),
            (false, true) => format!("{:>5} {:>7} {:>6}", s.count, compact(s.value), conv),
            (false, false) => format!("{:>5} {:>7}", s.count, compact(s.value)),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{name}{} ", " ".repeat(name_pad)), t.base),
            Span::styled("█".repeat(filled), t.bar),
            Span::styled(" ".repeat(bar_w - filled), t.base),
            Span::styled(numbers, t.base),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("month ", t.muted),
        Span::styled(format!("won {} ({})", f.won.0, compact(f.won.1)), t.won),
        Span::styled("   ", t.base),
        Span::styled(format!("lost {} ({})", f.lost.0, compact(f.lost.1)), t.lost),
    ]));
    if f.stages.is_empty() {
        lines.insert(1, Line::from(Span::styled("no open stages", t.muted)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_targets(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.pane == Pane::Targets;
    let period = app
        .dashboard
        .as_ref()
        .map(|d| d.targets.period.to_string())
        .unwrap_or_default();
    let block = pane_block(app, format!(" 3 Targets  {period} "), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(d) = &app.dashboard else {
        frame.render_widget(waiting(app), inner);
        return;
    };
    let p = &d.targets;
    let width = inner.width as usize;
    let name_w = p
        .gauges
        .iter()
        .map(|g| g.name.chars().count() + 2 * g.depth.saturating_sub(1))
        .max()
        .unwrap_or(7)
        .min(20)
        .min(width / 3);
    // " 35% gap 202.8k" where it fits beside a bar of at least 3; else just " 35%" (never
    // a number cut short).
    let wide = width >= name_w + 1 + 3 + 17;
    let tail_w = if wide { 17 } else { 5 };
    let bar_w = width.saturating_sub(name_w + 1 + tail_w).clamp(3, 50);
    let pace_at = ((p.pace * bar_w as f64).round() as usize).min(bar_w.saturating_sub(1));
    let mut lines = vec![Line::from(Span::styled(
        super::clip(
            &format!("│ = pace: {:.0}% of the month gone", p.pace * 100.0),
            width,
        ),
        t.muted,
    ))];
    for g in &p.gauges {
        let indent = "  ".repeat(g.depth.saturating_sub(1));
        let name = super::clip(&format!("{indent}{}", g.name), name_w);
        let name = format!(
            "{name}{}",
            " ".repeat(name_w.saturating_sub(super::cols(&name)))
        );
        let ratio = g.attainment();
        // The bar is clamped to full; the label carries the real percentage.
        let filled = ((ratio.unwrap_or(0.0).clamp(0.0, 1.0)) * bar_w as f64).round() as usize;
        let ahead = ratio.is_some_and(|r| r >= p.pace);
        let fill_style: Style = if ratio.is_none() {
            t.muted
        } else if ahead {
            t.won
        } else {
            t.warning
        };
        let mut spans = vec![Span::styled(
            format!("{name:name_w$} "),
            if g.depth == 0 { t.title } else { t.base },
        )];
        for i in 0..bar_w {
            let (ch, style) = if i == pace_at {
                ("│", t.accent)
            } else if i < filled {
                ("█", fill_style)
            } else {
                ("░", t.muted)
            };
            spans.push(Span::styled(ch, style));
        }
        let label = match (ratio, g.gap()) {
            (Some(r), _) if !wide => format!(" {:>3.0}%", r * 100.0),
            (None, _) if !wide => " —".to_string(),
            (Some(r), Some(gap)) if gap.cents() > 0 => {
                format!(" {:>4.0}% gap {}", r * 100.0, compact(gap))
            }
            (Some(r), _) => format!(" {:>4.0}% done", r * 100.0),
            (None, _) => format!(" {} no target", compact(g.actual)),
        };
        spans.push(Span::styled(format!("{label:tail_w$}"), t.base));
        lines.push(Line::from(spans));
    }
    if p.gauges.len() <= 1 && p.gauges.first().is_none_or(|g| g.target.is_none()) {
        lines.push(Line::from(Span::styled(
            "no targets for this month (funnel import targets FILE)",
            t.muted,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn render_forecast(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.pane == Pane::Forecast;
    let model = app
        .dashboard
        .as_ref()
        .and_then(|d| d.forecast.as_ref())
        .and_then(|r| r.series.first())
        .map(|s| s.model.clone())
        .unwrap_or_default();
    let title = super::clip(
        &format!(" 4 Forecast  monthly revenue · {model}"),
        (area.width as usize).saturating_sub(3),
    );
    let block = pane_block(app, format!("{title} "), focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(d) = &app.dashboard else {
        frame.render_widget(waiting(app), inner);
        return;
    };
    let Some(run) = &d.forecast else {
        let msg = if app.task.is_some() {
            "computing the first forecast…"
        } else {
            "no forecast yet: press R"
        };
        frame.render_widget(Paragraph::new(msg).style(t.muted), inner);
        return;
    };
    let horizon = run.series.first().map(|s| s.points.len()).unwrap_or(0);
    let width = inner.width as usize;
    let name_w = 14.min(width / 4);
    // The 80% range is shown when there is room for it.
    let show_range = width >= name_w + 1 + 12 + 24;
    let tail_w = if show_range { 24 } else { 8 };
    let spark_w = width.saturating_sub(name_w + 1 + tail_w).max(horizon + 1);
    let hist_w = spark_w.saturating_sub(horizon).clamp(1, 24);
    let mut lines = vec![super::clip_line(
        Line::from(vec![
            Span::styled(format!("to {} ", run.last_actual), t.muted),
            Span::styled(format!("+{horizon} months forecast"), t.forecast),
            Span::styled(
                if show_range {
                    ": total, 80% range"
                } else {
                    ": total"
                },
                t.muted,
            ),
        ]),
        width,
    )];
    let rows = inner.height.saturating_sub(1) as usize;
    for s in run.series.iter().take(rows) {
        let hist: Vec<f64> = s
            .history
            .iter()
            .rev()
            .take(hist_w)
            .rev()
            .map(|h| h.1)
            .collect();
        let fut: Vec<f64> = s.points.iter().map(|p| p.1).collect();
        let max = hist
            .iter()
            .chain(fut.iter())
            .cloned()
            .fold(0.0f64, f64::max)
            .max(1.0);
        let level = |v: f64| BLOCKS[((v.max(0.0) / max) * 7.0).round() as usize];
        let name = super::clip(&s.key, name_w);
        let name = format!(
            "{name}{}",
            " ".repeat(name_w.saturating_sub(super::cols(&name)))
        );
        let total: f64 = fut.iter().sum();
        let lo: f64 = s.points.iter().map(|p| p.2).sum();
        let hi: f64 = s.points.iter().map(|p| p.3).sum();
        lines.push(Line::from(vec![
            Span::styled(format!("{name:name_w$} "), t.base),
            Span::styled(hist.iter().map(|v| level(*v)).collect::<String>(), t.bar),
            Span::styled(
                fut.iter().map(|v| level(*v)).collect::<String>(),
                t.forecast,
            ),
            Span::styled(
                if show_range {
                    format!(
                        " {:>6} {}–{}",
                        compact_units(total),
                        compact_units(lo.max(0.0)),
                        compact_units(hi)
                    )
                } else {
                    format!(" {:>6}", compact_units(total))
                },
                t.base,
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
