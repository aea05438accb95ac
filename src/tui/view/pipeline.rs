//! The pipeline: a column per open stage with deal cards, or one list. Overdue deals (past
//! their expected close) and stuck ones (longer in the stage than 80% of the deals that
//! went on to win) are marked.

use super::compact;
use super::table::DataTable;
use crate::app::board::{days_in_stage, overdue};
use crate::domain::deals::DealCard;
use crate::tui::state::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use ratatui::Frame;

fn flags(app: &App, stage_id: i64, card: &DealCard) -> (bool, bool, i64) {
    let age = days_in_stage(card, app.today);
    let stuck = app
        .pipeline
        .stuck
        .get(&stage_id)
        .is_some_and(|t| age as f64 > *t);
    (overdue(card, app.today), stuck, age)
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(board) = &app.pipeline.board else {
        frame.render_widget(Paragraph::new("loading the pipeline…").style(t.muted), area);
        return;
    };
    if board.columns.is_empty() {
        frame.render_widget(Paragraph::new("no open stages").style(t.muted), area);
        return;
    }
    let [legend, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let stuck = if !app.pipeline.stuck_learned {
        "stuck (learning thresholds…)".to_string()
    } else if app.pipeline.stuck.is_empty() {
        format!(
            "stuck: not enough history (a stage needs {} won deals through it)",
            crate::app::funnel::MIN_STAYS
        )
    } else {
        "stuck: longer in the stage than 80% of deals that went on to win".to_string()
    };
    let short_stuck = if app.pipeline.stuck_learned && app.pipeline.stuck.is_empty() {
        "stuck: not enough history"
    } else {
        "stuck in its stage"
    };
    let legend_for = |stuck: String, showing: bool| {
        let mut spans = vec![
            Span::styled(" ! ", t.danger),
            Span::styled("past expected close   ", t.muted),
            Span::styled(" ⧗ ", t.warning),
            Span::styled(stuck, t.muted),
        ];
        if showing {
            spans.push(Span::styled(
                format!(
                    "   showing the largest {} per stage",
                    crate::app::board::CARDS_PER_STAGE
                ),
                t.muted,
            ));
        }
        Line::from(spans)
    };
    // Whole phrases only: the longest legend that fits.
    let w = legend.width as usize;
    let legend_line = [legend_for(stuck.clone(), true), legend_for(stuck, false)]
        .into_iter()
        .find(|l| super::cols(&l.to_string()) <= w)
        .unwrap_or_else(|| super::whole_spans(legend_for(short_stuck.to_string(), false), w));
    frame.render_widget(Paragraph::new(legend_line), legend);
    if app.pipeline.list {
        render_list(app, frame, body);
    } else {
        render_board(app, frame, body);
    }
}

fn render_board(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let board = app.pipeline.board.as_ref().expect("checked by caller");
    let n = board.columns.len() as u32;
    let areas = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(area);
    for (i, (col, rect)) in board.columns.iter().zip(areas.iter()).enumerate() {
        let focused = i == app.pipeline.column;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(if focused { t.focus } else { t.border })
            .title(Span::styled(
                column_title(
                    &col.name,
                    col.count,
                    compact(col.value),
                    rect.width as usize,
                ),
                if focused { t.focus } else { t.title },
            ));
        let inner = block.inner(*rect);
        frame.render_widget(block, *rect);
        let per_card = 3usize;
        let fits = (inner.height as usize / per_card).max(1);
        let selected = *app.pipeline.rows.get(i).unwrap_or(&0);
        let first = selected.saturating_sub(fits - 1);
        app.hit(
            inner,
            crate::tui::state::HitTarget::BoardColumn(i),
            first,
            per_card as u16,
        );
        let w = inner.width as usize;
        let mut lines = Vec::new();
        for (j, card) in col.cards.iter().enumerate().skip(first).take(fits) {
            let (late, stuck, age) = flags(app, col.stage_id, card);
            let sel = focused && j == selected;
            let style = if sel { t.selected } else { t.base };
            let name = super::clip(&card.name, w.saturating_sub(2));
            let customer = super::clip(&card.customer, w);
            let pad =
                |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(super::cols(s))));
            let mut first_line = vec![Span::styled(pad(&name, w), style)];
            if late || stuck {
                first_line = vec![
                    Span::styled(if late { "!" } else { " " }, t.danger),
                    Span::styled(if stuck { "⧗" } else { " " }, t.warning),
                    Span::styled(pad(&name, w.saturating_sub(2)), style),
                ];
            }
            lines.push(Line::from(first_line));
            lines.push(Line::from(Span::styled(customer, t.muted)));
            lines.push(super::whole_spans(
                Line::from(vec![
                    Span::styled(format!("{:>8} ", compact(card.amount)), t.accent),
                    Span::styled(
                        card.expected_close.clone().unwrap_or_default(),
                        if late { t.danger } else { t.muted },
                    ),
                    Span::styled(format!(" {age}d"), if stuck { t.warning } else { t.muted }),
                    Span::styled(
                        card.win_probability
                            .map(|p| format!(" {:.0}%", p * 100.0))
                            .unwrap_or_default(),
                        t.won,
                    ),
                ]),
                w,
            ));
        }
        if col.cards.is_empty() {
            lines.push(Line::from(Span::styled("no deals", t.muted)));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

/// The list view's columns: title, how it is sized, the least width it is shown at, and
/// the order in which whole columns go when the terminal is narrow (0: never).
const LIST_COLUMNS: [(&str, Constraint, u16, u8); 8] = [
    ("", Constraint::Length(2), 2, 0),
    ("Deal", Constraint::Fill(3), 16, 0),
    ("Customer", Constraint::Fill(3), 16, 4),
    ("Stage", Constraint::Length(14), 14, 5),
    ("Amount", Constraint::Length(8), 8, 0),
    ("Close", Constraint::Length(10), 10, 3),
    ("In stage", Constraint::Length(8), 8, 2),
    ("Owner", Constraint::Fill(2), 12, 1),
];

/// Which of `LIST_COLUMNS` fit in `width` (whole columns dropped, never cut).
fn list_columns(width: u16) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..LIST_COLUMNS.len()).collect();
    let need = |keep: &[usize]| -> u16 { keep.iter().map(|&i| LIST_COLUMNS[i].2 + 1).sum::<u16>() };
    for order in 1..=5 {
        if need(&keep) <= width {
            break;
        }
        keep.retain(|&i| LIST_COLUMNS[i].3 != order);
    }
    keep
}

fn render_list(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let board = app.pipeline.board.as_ref().expect("checked by caller");
    let flat = app.pipeline.flat();
    let keep = list_columns(area.width.saturating_sub(2));
    // The width each kept column gets, to clip text whole-word with "…".
    let inner = Rect {
        x: area.x + 1,
        width: area.width.saturating_sub(2),
        ..area
    };
    let widths: Vec<usize> = Layout::horizontal(keep.iter().map(|&c| LIST_COLUMNS[c].1))
        .spacing(1)
        .split(inner)
        .iter()
        .map(|r| r.width as usize)
        .collect();
    let fit = |text: &str, column: usize| {
        let w = keep
            .iter()
            .position(|&c| c == column)
            .map_or(0, |i| widths[i]);
        super::clip(text, w)
    };
    let row = |i: usize| {
        let (col, card) = &flat[i];
        let stage = &board.columns[*col];
        let (late, stuck, age) = flags(app, stage.stage_id, card);
        let mark = format!(
            "{}{}",
            if late { "!" } else { " " },
            if stuck { "⧗" } else { " " }
        );
        let cells = [
            Cell::from(mark),
            Cell::from(fit(&card.name, 1)),
            Cell::from(fit(&card.customer, 2)),
            Cell::from(fit(&stage.name, 3)),
            Cell::from(Line::from(compact(card.amount)).right_aligned()),
            Cell::from(card.expected_close.clone().unwrap_or_default()),
            Cell::from(Line::from(format!("{age}d")).right_aligned()),
            Cell::from(fit(card.owner.as_deref().unwrap_or_default(), 7)),
        ];
        Row::new(
            cells
                .into_iter()
                .enumerate()
                .filter(|(c, _)| keep.contains(c))
                .map(|(_, cell)| cell),
        )
        .style(t.base)
    };
    let hidden: Vec<String> = (0..LIST_COLUMNS.len())
        .filter(|c| !keep.contains(c))
        .map(|c| LIST_COLUMNS[c].0.to_lowercase())
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.focus)
        .title(Span::styled(
            {
                // The hidden columns named where the title has room, else counted.
                let named = format!(" Open deals ({}) · no {} ", flat.len(), hidden.join(", "));
                if hidden.is_empty() {
                    format!(" Open deals ({} loaded) ", flat.len())
                } else if named.chars().count() + 2 <= area.width as usize {
                    named
                } else {
                    format!(
                        " Open deals ({}) · {} columns hidden ",
                        flat.len(),
                        hidden.len()
                    )
                }
            },
            t.focus,
        ));
    let (rows_area, first) = DataTable::new(
        Row::new(keep.iter().map(|&c| LIST_COLUMNS[c].0)).style(t.muted),
        keep.iter().map(|&c| LIST_COLUMNS[c].1).collect(),
        t.selected,
    )
    .block(block)
    .render(
        frame,
        area,
        &app.pipeline.list_scroll,
        (0, flat.len()),
        Some(app.pipeline.list_row),
        row,
    );
    app.hit(
        rows_area,
        crate::tui::state::HitTarget::PipelineList,
        first,
        1,
    );
}

/// A stage column's title in `width` (border included): name, count and value when they
/// fit, then fewer parts, whole; a name longer than the column is clipped with "…".
fn column_title(name: &str, count: i64, value: String, width: usize) -> String {
    let room = width.saturating_sub(2);
    [
        format!(" {name} · {count} · {value} "),
        format!(" {name} · {count} "),
        format!(" {name} "),
    ]
    .into_iter()
    .find(|t| super::cols(t) <= room)
    .unwrap_or_else(|| super::clip(name, room))
}
