//! Drawing: reads the state, does no I/O. Each part is a function of (state, frame, area).

pub(crate) mod agenda;
pub(crate) mod audit;
pub(crate) mod customers;
pub(crate) mod dashboard;
pub(crate) mod detail;
pub(crate) mod forecast;
pub(crate) mod pipeline;
mod popups;
pub(crate) mod reports;
pub(crate) mod segments;
pub(crate) mod setup;
pub mod table;
pub(crate) mod targets;

use super::state::App;
use crate::domain::Money;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

/// The smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let t = &app.theme;
    app.hits.borrow_mut().clear();
    frame.render_widget(Block::default().style(t.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "funnel needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}. Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg)
                .style(t.warning)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    (super::screens::def(app.screen).render)(app, frame, body);
    render_status(app, frame, status);
    render_footer(app, frame, footer);
    popups::render(app, frame, body);
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let screen = super::screens::def(app.screen).title;
    let mut spans = vec![
        Span::styled(" funnel ", t.selected),
        Span::styled(format!(" {screen} "), t.title),
        Span::styled(format!(" {}  ·  {}", app.db_label, app.today), t.muted),
    ];
    // The long form where it fits, else a short one (never cut mid-word).
    let wide = area.width >= 110;
    if let Some(n) = app.dashboard.as_ref().map(|d| d.alerts).filter(|n| *n > 0) {
        spans.push(Span::styled(
            if wide {
                format!("  {n} alert(s) · 9: agenda")
            } else {
                format!("  {n} alerts")
            },
            t.warning,
        ));
    }
    if app.today != app.real_today {
        spans.push(Span::styled(
            if wide {
                format!("  as of the data's last day (today {}; T)", app.real_today)
            } else {
                "  as of data end · T".to_string()
            },
            t.warning,
        ));
    } else if let Some(end) = app.dashboard.as_ref().and_then(|d| d.data_ends) {
        spans.push(Span::styled(
            if wide {
                format!("  data ends {end}: nothing closed in 90 days · T views as of then")
            } else if area.width >= 80 {
                format!("  data ends {end} · T")
            } else {
                "  old data · T".to_string()
            },
            t.warning,
        ));
    }
    let line = Line::from(spans);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let line = if let Some(task) = &app.task {
        let width = 20usize;
        let filled = ((task.done.clamp(0.0, 1.0)) * width as f64).round() as usize;
        Line::from(vec![
            Span::styled(format!(" {} ", SPINNER[app.tick % SPINNER.len()]), t.accent),
            Span::styled(format!("{} ", task.name), t.title),
            Span::styled("█".repeat(filled), t.bar),
            Span::styled("░".repeat(width - filled), t.muted),
            Span::styled(
                format!(" {:>3.0}% {}", task.done * 100.0, task.phase),
                t.muted,
            ),
        ])
    } else if let Some((msg, error)) = &app.status {
        Line::from(Span::styled(
            format!(" {msg}"),
            if *error { t.danger } else { t.accent },
        ))
    } else {
        Line::default()
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Key hints from the keymap: the same list that feeds help and the palette.
fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    use super::action::Action;
    use super::action::Action::*;
    let t = &app.theme;
    let ctx = app.context();
    let wanted = super::screens::def(app.screen).hints.to_vec();
    // `? help` and `q quit` always show: the other hints go from the right until the
    // rest fits, so that none is cut in the middle.
    let mut wanted = wanted;
    for must in [Help, Quit] {
        if !wanted.contains(&must) {
            wanted.push(must);
        }
    }
    let mut items: Vec<(Action, String, String)> = wanted
        .into_iter()
        .filter_map(|a| {
            let k = app.keymap.key_for(ctx, a)?;
            Some((
                a,
                format!(" {k} "),
                format!("{} ", a.name().replace('_', " ")),
            ))
        })
        .collect();
    let width = |items: &[(Action, String, String)]| -> usize {
        items
            .iter()
            .map(|(_, k, l)| k.chars().count() + l.chars().count())
            .sum()
    };
    while width(&items) > area.width as usize {
        match items
            .iter()
            .rposition(|(a, _, _)| !matches!(a, Help | Quit | Back))
            .or_else(|| items.iter().position(|(a, _, _)| *a == Back))
        {
            Some(i) => {
                items.remove(i);
            }
            None => break,
        }
    }
    let spans: Vec<Span> = items
        .into_iter()
        .flat_map(|(_, k, l)| [Span::styled(k, t.accent), Span::styled(l, t.muted)])
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Phrases laid out in lines of `width`, joined by " · ", a line breaking only between
/// phrases (a phrase longer than a line has one to itself), so that no label is parted
/// from its number.
pub fn phrase_lines(phrases: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for p in phrases {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 3 + p.chars().count() <= width => {
                line.push_str(" · ");
                line.push_str(p);
            }
            _ => lines.push(p.clone()),
        }
    }
    lines
}

pub(crate) fn render_loading(app: &App, frame: &mut Frame, area: Rect) {
    frame.render_widget(
        Paragraph::new("opening the database…").style(app.theme.muted),
        area,
    );
}

pub(crate) fn render_welcome(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let demo_key = app
        .keymap
        .key_for(app.context(), super::action::Action::LoadDemo)
        .unwrap_or_else(|| "d".into());
    let lines = vec![
        Line::from(Span::styled("Welcome to funnel", t.title)),
        Line::default(),
        Line::from(Span::styled("This database is empty.", t.base)),
        Line::default(),
        Line::from(vec![
            Span::styled(format!("  {demo_key}  "), t.selected),
            Span::styled(
                "  load demo data: 2,000 customers and 10,000 deals over 36 months, with targets and a forecast",
                t.base,
            ),
        ]),
        Line::default(),
        Line::from(Span::styled("Or quit and import your own CSV files:", t.base)),
        Line::from(Span::styled("  funnel import customers customers.csv", t.accent)),
        Line::from(Span::styled("  funnel import deals deals.csv --create-missing", t.accent)),
        Line::from(Span::styled(
            "  (Salesforce, HubSpot and Pipedrive deal exports are recognised; add --dry-run to check first)",
            t.muted,
        )),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// Money in a few characters: `950`, `12.3k`, `4.56M`.
pub fn compact(m: Money) -> String {
    compact_units(m.units())
}

pub fn compact_units(v: f64) -> String {
    let a = v.abs();
    let sign = if v < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}{:.2}B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}{:.2}M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.1}k", a / 1e3)
    } else {
        format!("{sign}{a:.0}")
    }
}

/// A pane's block, highlighted when focused.
pub fn pane_block<'a>(app: &App, title: String, focused: bool) -> Block<'a> {
    let t = &app.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused { t.focus } else { t.border })
        .title(Span::styled(title, if focused { t.focus } else { t.title }))
}

#[cfg(test)]
mod phrase_tests {
    use super::phrase_lines;

    #[test]
    fn phrases_break_between_not_inside() {
        let p: Vec<String> = [
            "Company: pace 73%",
            "coverage 0.45x",
            "win rate needed 163%",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            phrase_lines(&p, 40),
            vec!["Company: pace 73% · coverage 0.45x", "win rate needed 163%"]
        );
        assert_eq!(phrase_lines(&p, 200).len(), 1);
        // A phrase longer than the line keeps a line to itself.
        assert_eq!(phrase_lines(&p, 5).len(), 3);
    }
}

/// The rows of a bordered table with a header line: `visible` lines inside the border,
/// under the header (where a click lands on a row).
pub fn table_rows(boxed: Rect, visible: usize) -> Rect {
    Rect {
        x: boxed.x + 1,
        y: boxed.y + 2,
        width: boxed.width.saturating_sub(2),
        height: visible as u16,
    }
}

/// Display columns of a text (CJK and emoji take two).
pub fn cols(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` in at most `width` columns: whole when it fits; else cut after the last whole
/// word that leaves room for "…" (a first word longer than that is cut inside), and the
/// "…" says so. Never a silent cut.
pub fn clip(text: &str, width: usize) -> String {
    if cols(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let mut end = 0;
    let mut used = 0;
    let mut last_space = None;
    for (i, c) in text.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > room {
            break;
        }
        if c == ' ' {
            last_space = Some(i);
        }
        used += w;
        end = i + c.len_utf8();
    }
    // Whole words when that keeps at least half the room.
    let cut = match last_space {
        Some(s) if cols(&text[..s]) * 2 >= room => s,
        _ => end,
    };
    format!("{}…", text[..cut].trim_end())
}

/// A line of spans clipped to `width` columns like `clip`, keeping each span's style.
pub fn clip_line(line: Line<'static>, width: usize) -> Line<'static> {
    let total: usize = line.spans.iter().map(|s| cols(&s.content)).sum();
    if total <= width {
        return line;
    }
    let mut left = width;
    let mut spans = Vec::new();
    for s in line.spans {
        let w = cols(&s.content);
        if w < left {
            left -= w;
            spans.push(s);
            continue;
        }
        // This span takes the rest of the room (at least the "…").
        let text = clip(&s.content, left.max(1));
        spans.push(Span::styled(text, s.style));
        break;
    }
    Line::from(spans)
}

/// The spans of a line that fit whole in `width` columns, from the left: a number or a
/// date that would be cut is left out instead.
pub fn whole_spans(line: Line<'static>, width: usize) -> Line<'static> {
    let mut used = 0;
    let spans: Vec<Span<'static>> = line
        .spans
        .into_iter()
        .take_while(|s| {
            used += cols(&s.content);
            used <= width
        })
        .collect();
    Line::from(spans)
}

#[cfg(test)]
mod clip_tests {
    use super::{clip, cols};

    #[test]
    fn clips_at_words_and_says_so() {
        assert_eq!(clip("Alpine Clinics Spa", 40), "Alpine Clinics Spa");
        assert_eq!(clip("Alpine Clinics Spa", 16), "Alpine Clinics…");
        assert_eq!(clip("Implementation Services", 12), "Implementat…");
        assert_eq!(clip("東京 Electronics", 6), "東京…");
        assert!(cols(&clip("東京東京東京", 5)) <= 5);
        assert_eq!(clip("abc", 0), "");
    }
}
