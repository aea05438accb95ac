//! The forecast screen: one series at a time as a chart of its history, the forecast and
//! its 80% interval, with the method named and the points listed.

use super::compact_units;
use crate::domain::forecasts::{ForecastRun, ForecastSeries};
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(run) = app.dashboard.as_ref().and_then(|d| d.forecast.as_ref()) else {
        let msg = if app.task.is_some() {
            "computing the forecast…"
        } else {
            "no forecast yet: press R"
        };
        frame.render_widget(Paragraph::new(msg).style(t.muted), area);
        return;
    };
    let lines = app.monitoring.as_ref().map_or(1, Vec::len) as u16;
    let [area, watch] =
        Layout::vertical([Constraint::Min(10), Constraint::Length(lines + 2)]).areas(area);
    render_monitoring(app, frame, watch);
    let [list, main] = Layout::horizontal([Constraint::Length(30), Constraint::Min(0)]).areas(area);
    render_series_list(app, run, frame, list);
    let Some(s) = run.series.get(app.forecast_sel) else {
        return;
    };
    let [chart_area, table] =
        Layout::vertical([Constraint::Min(8), Constraint::Length(5)]).areas(main);
    render_chart(app, run, s, frame, chart_area);
    render_points(app, run, s, frame, table);
}

/// Every series of the run with its forecast total, the selected one highlighted and kept in view.
fn render_series_list(app: &App, run: &ForecastRun, frame: &mut Frame, list: Rect) {
    let t = &app.theme;
    let lines: Vec<Line> = run
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let total: f64 = s.points.iter().map(|p| p.1).sum();
            let name = super::clip(&s.key, 18);
            let pad = " ".repeat(18usize.saturating_sub(super::cols(&name)));
            Line::from(Span::styled(
                format!("{name}{pad} {:>9}", compact_units(total)),
                if i == app.forecast_sel {
                    t.selected
                } else {
                    t.base
                },
            ))
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(
                " series · next {} ",
                match run.series.first().map(|s| s.points.len()).unwrap_or(0) {
                    1 => "month".to_string(),
                    n => format!("{n} months"),
                }
            ),
            t.title,
        ));
    let inner_h = block.inner(list).height as usize;
    let skip = app.forecast_sel.saturating_sub(inner_h.saturating_sub(1));
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()).block(block),
        list,
    );
}

/// One series as a chart: its actuals, the forecast and the 80% range.
fn render_chart(
    app: &App,
    run: &ForecastRun,
    s: &ForecastSeries,
    frame: &mut Frame,
    chart_area: Rect,
) {
    let t = &app.theme;
    let history: Vec<(f64, f64)> = s
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| (i as f64, h.1))
        .collect();
    let start = history.len() as f64 - 1.0;
    // The forecast line starts at the last actual so the two join.
    let join = history.last().copied();
    let fc: Vec<(f64, f64)> = join
        .into_iter()
        .chain(
            s.points
                .iter()
                .enumerate()
                .map(|(i, p)| (start + 1.0 + i as f64, p.1)),
        )
        .collect();
    let lo: Vec<(f64, f64)> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (start + 1.0 + i as f64, p.2.max(0.0)))
        .collect();
    let hi: Vec<(f64, f64)> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (start + 1.0 + i as f64, p.3))
        .collect();
    let y_max = history
        .iter()
        .map(|p| p.1)
        .chain(hi.iter().map(|p| p.1))
        .fold(1.0f64, f64::max);
    let x_max = start + s.points.len() as f64;
    let first = s.history.first().map(|h| h.0.clone()).unwrap_or_default();
    let last = s.points.last().map(|p| p.0.clone()).unwrap_or_default();
    let datasets = vec![
        Dataset::default()
            .name("actual")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.bar)
            .data(&history),
        Dataset::default()
            .name(format!("forecast ({})", s.model))
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.forecast)
            .data(&fc),
        Dataset::default()
            .name("80% range")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(t.muted)
            .data(&lo),
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(t.muted)
            .data(&hi),
    ];
    let chart = Chart::new(datasets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.focus)
                .title(Span::styled(
                    format!(
                        " {} · monthly won revenue · actuals to {} · run {} ",
                        s.key, run.last_actual, run.id
                    ),
                    t.focus,
                )),
        )
        .x_axis(
            Axis::default()
                .style(t.muted)
                .bounds([0.0, x_max.max(1.0)])
                .labels(vec![Span::raw(first), Span::raw(last)]),
        )
        .y_axis(
            Axis::default()
                .style(t.muted)
                .bounds([0.0, y_max * 1.05])
                .labels(vec![
                    Span::raw("0"),
                    Span::raw(compact_units(y_max / 2.0)),
                    Span::raw(compact_units(y_max)),
                ]),
        );
    frame.render_widget(chart, chart_area);
}

/// Under the chart: the forecast points with their ranges (whole periods only), the model and its backtest, the run's note.
fn render_points(app: &App, run: &ForecastRun, s: &ForecastSeries, frame: &mut Frame, table: Rect) {
    let t = &app.theme;
    let periods: Vec<Span> = s
        .points
        .iter()
        .map(|p| Span::styled(format!("{:>10}", p.0), t.muted))
        .collect();
    let values: Vec<Span> = s
        .points
        .iter()
        .map(|p| Span::styled(format!("{:>10}", compact_units(p.1)), t.forecast))
        .collect();
    let ranges: Vec<Span> = s
        .points
        .iter()
        .map(|p| {
            Span::styled(
                format!("{:>10}", format!("±{}", compact_units((p.3 - p.1).abs()))),
                Style::default(),
            )
        })
        .collect();
    let note = run.note.clone().unwrap_or_default();
    let model = format!(
        "model {} · backtest MASE {}",
        s.model,
        s.backtest_mase
            .map(|b| format!("{b:.2} (3 rolling origins)"))
            .unwrap_or_else(|| "— (too little history to hold out)".into())
    );
    // Whole periods only; the model and the note wrap at words.
    let w = table.width as usize;
    let lines = vec![
        super::whole_spans(Line::from(periods), w),
        super::whole_spans(Line::from(values), w),
        super::whole_spans(Line::from(ranges), w),
        Line::from(Span::styled(model, t.base)),
        Line::from(Span::styled(note, t.muted)),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        table,
    );
}

/// The stored models against what happened since; drift warnings stand out.
fn render_monitoring(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let lines: Vec<Line> = match &app.monitoring {
        None => vec![Line::styled(
            "checking the stored runs against what happened…",
            t.muted,
        )],
        Some(v) => v
            .iter()
            .map(|l| {
                let text = crate::domain::table::terminal_safe(l).into_owned();
                if l.contains("drift:") {
                    Line::styled(text, t.warning)
                } else {
                    Line::styled(text, t.base)
                }
            })
            .collect(),
    };
    frame.render_widget(
        Paragraph::new(lines).block(
            ratatui::widgets::Block::default()
                .borders(ratatui::widgets::Borders::ALL)
                .border_style(t.border)
                .title(Line::styled(
                    " Monitoring: the stored runs against what happened ",
                    t.title,
                )),
        ),
        area,
    );
}
