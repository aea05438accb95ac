//! The targets screen: every target of a period and metric (company, teams, reps) against
//! actual and projected, with a gauge and the pace marker; the selected target's numbers
//! and the rep leaderboard beside it.

use super::compact_units;
use super::table::DataTable;
use crate::app::targets::TargetStatus;
use crate::domain::TargetScope;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

fn pct(v: Option<f64>) -> String {
    v.map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// A value in the metric's unit: money (cents) shortened, counts as they are.
fn amount(r: &TargetStatus, v: f64) -> String {
    if r.target.metric.is_money() {
        compact_units(v / 100.0)
    } else {
        format!("{v:.0}")
    }
}

/// An attainment bar `width` wide with `│` where the pace is.
/// The projection with its P10–P90 range when simulated: "70% (P10–P90 40–550%)", or
/// "70% (40–550%)" where room is short.
fn projection(st: &crate::app::targets::Standing, short: bool) -> String {
    match (st.projected, st.projected_p10, st.projected_p90) {
        (Some(p), Some(lo), Some(hi)) if (hi - lo).abs() >= 0.005 => format!(
            "{:.0}% ({}{:.0}–{:.0}%)",
            p * 100.0,
            if short { "" } else { "P10–P90 " },
            lo * 100.0,
            hi * 100.0
        ),
        (p, _, _) => pct(p),
    }
}

/// The projection's P10–P90 alone, "40–550%" (empty when not simulated).
fn range(st: &crate::app::targets::Standing) -> String {
    match (st.projected_p10, st.projected_p90) {
        (Some(lo), Some(hi)) => format!("{:.0}–{:.0}%", lo * 100.0, hi * 100.0),
        _ => String::new(),
    }
}

fn gauge(attainment: f64, pace: f64, width: usize) -> String {
    let filled = ((attainment.clamp(0.0, 1.0)) * width as f64).round() as usize;
    let marker = ((pace.clamp(0.0, 1.0)) * width as f64).round() as usize;
    (0..width)
        .map(|i| {
            if i == marker.min(width - 1) && marker > 0 {
                '│'
            } else if i < filled {
                '█'
            } else {
                '░'
            }
        })
        .collect()
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    // Wide: the list with the selected target and the leaderboard beside it. Narrow: the
    // list alone, with the selected target's key numbers under it.
    let wide = area.width >= 100;
    let (list, side) = if wide {
        let [l, s] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
            .areas(area);
        (l, s)
    } else {
        let [l, s] = Layout::vertical([Constraint::Min(4), Constraint::Length(2)]).areas(area);
        (l, s)
    };
    render_list(app, frame, list);
    if !wide {
        render_key_numbers(app, frame, side);
        return;
    }
    let [detail, board] =
        Layout::vertical([Constraint::Length(11), Constraint::Min(3)]).areas(side);
    render_selected(app, frame, detail);
    render_leaderboard(app, frame, board);
}

/// The targets of the period and metric: target, actual, gauge at the pace, attainment, projection and gap; whole columns go on a narrow screen.
fn render_list(app: &App, frame: &mut Frame, list: Rect) {
    let t = &app.theme;
    let s = &app.targets;
    // Pace is where attainment should be by today; without targets there is none.
    let title = match s.rows.first() {
        Some(r) => format!(
            " {} · {} · pace {:.0}% ",
            s.period,
            s.metric.as_str(),
            r.standing.pace * 100.0
        ),
        None => format!(" {} · {} · no targets ", s.period, s.metric.as_str()),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.focus)
        .title(Span::styled(title, t.focus));
    if let Some(e) = &s.error {
        frame.render_widget(
            Paragraph::new(e.as_str()).style(t.danger).block(block),
            list,
        );
    } else if s.rows.is_empty() {
        let msg = if s.loading {
            "loading…".to_string()
        } else {
            format!(
                "no {} targets for {}: s sets one, P proposes a set to review",
                s.metric.as_str(),
                s.period
            )
        };
        frame.render_widget(Paragraph::new(msg).style(t.muted).block(block), list);
    } else {
        let bar_w = 12;
        // Columns that fit: the gauge goes first on a narrow screen, then the gap and the
        // projection; the name and the numbers stay whole.
        let inner = list.width.saturating_sub(2) as usize;
        let show_bar = inner >= 16 + 9 + 9 + (bar_w + 1) + 6 + 7 + 9;
        let show_gap = inner >= 16 + 9 + 9 + 6 + 7 + 9;
        let show_proj = inner >= 16 + 9 + 9 + 6 + 7;
        // The projection's P10–P90 beside it when there is room for all the rest.
        let show_range = inner >= 16 + 9 + 9 + (bar_w + 1) + 6 + 7 + 9 + 10;
        let row = |i: usize| {
            let r = &s.rows[i];
            let st = &r.standing;
            let indent = " ".repeat(r.depth);
            let ok = st.attainment.map(|a| a >= st.pace).unwrap_or(false);
            let mut cells = vec![
                Cell::from(format!(
                    "{indent}{}{}",
                    r.target.name,
                    if r.mismatch.is_some() { " ≠" } else { "" }
                )),
                Cell::from(Line::from(amount(r, st.target)).right_aligned()),
                Cell::from(Line::from(amount(r, st.actual)).right_aligned()),
            ];
            if show_bar {
                cells.push(Cell::from(Span::styled(
                    gauge(st.attainment.unwrap_or(0.0), st.pace, bar_w),
                    if ok { t.won } else { t.warning },
                )));
            }
            cells.push(Cell::from(Line::from(pct(st.attainment)).right_aligned()));
            if show_proj {
                cells.push(Cell::from(Line::from(pct(st.projected)).right_aligned()));
            }
            if show_range {
                cells.push(Cell::from(Line::from(range(st)).right_aligned()).style(t.muted));
            }
            if show_gap {
                cells.push(Cell::from(Line::from(amount(r, st.gap)).right_aligned()));
            }
            Row::new(cells).style(t.base)
        };
        let mut widths = vec![
            Constraint::Min(14),
            Constraint::Length(8),
            Constraint::Length(8),
        ];
        let mut header = vec!["Scope", "Target", "Actual"];
        if show_bar {
            widths.push(Constraint::Length(bar_w as u16));
            header.push("Attainment");
        }
        widths.push(Constraint::Length(5));
        header.push("Att.");
        if show_proj {
            widths.push(Constraint::Length(6));
            header.push("Proj.");
        }
        if show_range {
            widths.push(Constraint::Length(9));
            header.push("P10–P90");
        }
        if show_gap {
            widths.push(Constraint::Length(8));
            header.push("Gap");
        }
        let (rows_area, first) =
            DataTable::new(Row::new(header).style(t.muted), widths, t.selected)
                .block(block)
                .render(
                    frame,
                    list,
                    &s.scroll,
                    (0, s.rows.len()),
                    Some(s.selected),
                    row,
                );
        app.hit(rows_area, crate::tui::state::HitTarget::Targets, first, 1);
    }
}

/// On a narrow screen, under the list: the selected target's pace, coverage, projection and needed win rate, broken between phrases.
fn render_key_numbers(app: &App, frame: &mut Frame, side: Rect) {
    let t = &app.theme;
    let s = &app.targets;
    // The selected target's coverage, projection and needed win rate, under the list.
    let lines = s.rows.get(s.selected).map(|r| {
        let st = &r.standing;
        let mut phrases = vec![
            format!("{}: pace {:.0}%", r.target.name, st.pace * 100.0),
            format!(
                "coverage {}",
                st.coverage
                    .map(|c| format!("{c:.2}x"))
                    .unwrap_or_else(|| "-".into())
            ),
            format!("projected {}", projection(st, true)),
            format!("win rate needed {}", pct(st.required_win_rate)),
        ];
        if let Some(m) = r.mismatch {
            phrases.push(format!("≠ sum below {}", amount(r, m as f64)));
        }
        super::phrase_lines(&phrases, side.width as usize)
    });
    let lines: Vec<Line> = lines
        .unwrap_or_default()
        .into_iter()
        .map(Line::from)
        .collect();
    frame.render_widget(Paragraph::new(lines).style(t.muted), side);
}

/// On a wide screen: the selected target in full.
fn render_selected(app: &App, frame: &mut Frame, detail: Rect) {
    let t = &app.theme;
    let s = &app.targets;
    let mut lines = Vec::new();
    if let Some(r) = s.rows.get(s.selected) {
        let st = &r.standing;
        lines.push(Line::from(Span::styled(
            format!(
                "{} · {} · target {}",
                r.target.name, r.target.period, r.target.id
            ),
            t.accent,
        )));
        let kv = |k: &str, v: String| {
            Line::from(vec![
                Span::styled(format!("{k:<18}"), t.muted),
                Span::styled(v, t.base),
            ])
        };
        lines.push(kv(
            "target / actual",
            format!("{} / {}", amount(r, st.target), amount(r, st.actual)),
        ));
        lines.push(kv(
            "attainment · pace",
            format!(
                "{} · {:.0}% of the period's expected share",
                pct(st.attainment),
                st.pace * 100.0
            ),
        ));
        lines.push(kv("gap", amount(r, st.gap)));
        lines.push(kv(
            "coverage",
            st.coverage
                .map(|c| format!("{c:.2}x the gap in weighted pipeline"))
                .unwrap_or_else(|| "-".into()),
        ));
        lines.push(kv("projected", projection(st, false)));
        lines.push(kv(
            "win rate needed",
            st.required_win_rate
                .map(|w| format!("{:.0}% of the open pipeline in the period", w * 100.0))
                .unwrap_or_else(|| "-".into()),
        ));
        if let Some(m) = r.mismatch {
            lines.push(Line::from(Span::styled(
                format!(
                    "≠ the targets one level down add up to {}",
                    amount(r, m as f64)
                ),
                t.warning,
            )));
        }
        lines.push(Line::from(Span::styled(
            "s set · r revise (with a reason) · P propose",
            t.muted,
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(" selected ", t.title)),
        ),
        detail,
    );
}

/// On a wide screen: the reps by attainment.
fn render_leaderboard(app: &App, frame: &mut Frame, board: Rect) {
    let t = &app.theme;
    let s = &app.targets;
    let mut reps: Vec<&TargetStatus> = s
        .rows
        .iter()
        .filter(|r| r.target.scope == TargetScope::Rep)
        .collect();
    reps.sort_by(|a, b| {
        b.standing
            .attainment
            .unwrap_or(-1.0)
            .total_cmp(&a.standing.attainment.unwrap_or(-1.0))
            .then(a.target.name.cmp(&b.target.name))
    });
    let rows: Vec<Row> = reps
        .iter()
        .enumerate()
        .take(board.height.saturating_sub(3) as usize)
        .map(|(i, r)| {
            let st = &r.standing;
            Row::new(vec![
                Cell::from(format!("{:>3}", i + 1)),
                Cell::from(r.target.name.clone()),
                Cell::from(Line::from(pct(st.attainment)).right_aligned()).style(
                    if st.attainment.map(|a| a >= st.pace).unwrap_or(false) {
                        t.won
                    } else {
                        t.warning
                    },
                ),
                Cell::from(Line::from(projection(st, true)).right_aligned()),
            ])
        })
        .collect();
    frame.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(3),
                Constraint::Fill(1),
                Constraint::Length(6),
                Constraint::Length(16),
            ],
        )
        .header(Row::new(["#", "Rep", "Att.", "Proj. (P10–P90)"]).style(t.muted))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(t.border)
                .title(Span::styled(
                    format!(" leaderboard ({} reps) ", reps.len()),
                    t.title,
                )),
        ),
        board,
    );
}
