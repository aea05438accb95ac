//! `?` help (filterable) and the `:` palette (fuzzy), both from the keymap.

use crate::tui::keymap;
use crate::tui::state::{App, FilterField, Popup};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(popup) = &app.popup else { return };
    let t = &app.theme;
    let width = area.width.saturating_sub(4).min(
        if matches!(
            popup,
            Popup::Form(_) | Popup::Explain { .. } | Popup::Proposal { .. }
        ) {
            110
        } else {
            72
        },
    );
    let height = area.height.saturating_sub(2).min(24);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    // The popup keys as the keymap has them (remappable like every other key).
    let popup_keys = |a| app.keymap.keys_for(keymap::Context::Popup, a);
    use crate::tui::action::Action as A;
    let (ok, no) = (popup_keys(A::Confirm), popup_keys(A::Cancel));
    let first = |a| {
        app.keymap
            .key_for(keymap::Context::Popup, a)
            .unwrap_or_default()
    };
    let (down, up) = (first(A::MoveDown), first(A::MoveUp));
    let (title, lines) = match popup {
        Popup::Help { filter, scroll } => help(app, filter, *scroll, rect, &no, &down, &up),
        Popup::Form(form) => form_popup(app, form, rect),
        Popup::Confirm {
            question, strong, ..
        } => {
            let q = keymap::Context::Question;
            let keys = format!(
                "{}: yes{} · {}: no",
                app.keymap.keys_for(
                    q,
                    if *strong {
                        A::ConfirmAnyway
                    } else {
                        A::Confirm
                    }
                ),
                if *strong { ", anyway" } else { "" },
                app.keymap.keys_for(q, A::Cancel)
            );
            let lines = vec![
                Line::from(Span::styled(question.clone(), t.base)),
                Line::default(),
                Line::from(Span::styled(keys, t.muted)),
            ];
            (" confirm ".to_string(), lines)
        }
        Popup::Filter { field, input } => {
            let what = match field {
                FilterField::Owner => "owner (a rep's exact name)",
                FilterField::Region => "region (e.g. EMEA)",
                FilterField::MinPredicted => {
                    "a predicted value for the next 12 months of at least (e.g. 10000)"
                }
            };
            let lines = vec![
                Line::from(Span::styled(format!("Show customers by {what}:"), t.base)),
                Line::default(),
                Line::from(vec![
                    Span::styled("> ", t.muted),
                    Span::styled(format!("{input}"), t.accent),
                ]),
                Line::default(),
                Line::from(Span::styled(
                    format!("{ok} applies (empty clears), {no} cancels"),
                    t.muted,
                )),
            ];
            (" filter ".to_string(), lines)
        }
        Popup::Proposal {
            proposal,
            scroll,
            saving,
        } => proposal_popup(app, proposal, *scroll, *saving, rect, &ok, &no, &down, &up),
        Popup::Explain { deal, body, .. } => explain(app, deal, body.as_deref(), &no),
        Popup::LostReason { deal, input, .. } => {
            let lines = vec![
                Line::from(Span::styled(format!("Why was '{deal}' lost?"), t.base)),
                Line::default(),
                Line::from(vec![
                    Span::styled("reason: ", t.muted),
                    Span::styled(format!("{input}"), t.accent),
                ]),
                Line::default(),
                Line::from(Span::styled(format!("{ok} saves, {no} cancels"), t.muted)),
            ];
            (" mark lost ".to_string(), lines)
        }
        Popup::Palette { input, selected } => {
            let mut lines = vec![Line::from(vec![
                Span::styled(": ", t.accent),
                Span::styled(format!("{input}"), t.base),
            ])];
            for (i, (action, keys, desc)) in app.palette_matches().into_iter().enumerate() {
                let style = if i == *selected { t.selected } else { t.base };
                lines.push(Line::from(vec![Span::styled(
                    format!(" {:<22} {:<34} {keys}", action.name(), desc),
                    style,
                )]));
            }
            (format!(" command palette ({ok} runs, {no} closes) "), lines)
        }
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.focus)
        .title(Span::styled(title, t.title))
        .style(t.base);
    let paragraph = Paragraph::new(lines).block(block);
    // An explanation's sentences wrap on a narrow terminal rather than being cut off.
    let paragraph = if matches!(popup, Popup::Explain { .. } | Popup::Proposal { .. }) {
        paragraph.wrap(Wrap { trim: false })
    } else {
        paragraph
    };
    frame.render_widget(paragraph, rect);
}

/// A form's key help from the keymap (so a remapped key shows as it is), in short lines
/// that fit a narrow terminal.
fn form_keys(app: &App, picking: bool) -> Vec<String> {
    use crate::tui::action::Action as A;
    use crate::tui::keymap::Context as C;
    let k = |c: C, a: A| app.keymap.key_for(c, a).unwrap_or_else(|| "-".into());
    let mut out = vec![format!(
        "{} next · {} back · {} saves · {} cancels",
        k(C::Form, A::NextField),
        k(C::Form, A::PrevField),
        k(C::Form, A::Submit),
        k(C::Form, A::Cancel)
    )];
    if picking {
        out.push(format!(
            "{}/{} pick a suggestion · {} takes it",
            k(C::Form, A::PickNext),
            k(C::Form, A::PickPrev),
            k(C::Form, A::NextField)
        ));
    } else {
        out.push(format!(
            "{}/{} {} {} · {} {} {} edit the line",
            k(C::Text, A::CursorLeft),
            k(C::Text, A::CursorRight),
            k(C::Text, A::LineStart),
            k(C::Text, A::LineEnd),
            k(C::Text, A::KillToStart),
            k(C::Text, A::KillToEnd),
            k(C::Text, A::KillWord)
        ));
    }
    out
}

/// `?`: this screen's keys, then those of forms, text fields, popups and questions,
/// filtered by what is typed and scrolled when they do not fit.
fn help<'a>(
    app: &'a App,
    filter: &crate::tui::line::Input,
    scroll: usize,
    rect: Rect,
    no: &str,
    down: &str,
    up: &str,
) -> (String, Vec<Line<'a>>) {
    let t = &app.theme;
    let f = filter.text.to_lowercase();
    let mut lines = vec![Line::from(vec![
        Span::styled("filter: ", t.muted),
        Span::styled(format!("{filter}"), t.accent),
    ])];
    // This screen's keys, then those of forms, text fields, popups and questions.
    let sections = [
        (None, app.context()),
        (Some("in forms"), keymap::Context::Form),
        (Some("in text fields"), keymap::Context::Text),
        (Some("in popups"), keymap::Context::Popup),
        (Some("in questions"), keymap::Context::Question),
    ];
    for (heading, context) in sections {
        let mut rows = Vec::new();
        for (keys, action, desc) in keymap::describe(&app.keymap, context) {
            let text = format!("{keys} {} {desc}", action.name());
            if !f.is_empty() && !text.to_lowercase().contains(&f) {
                continue;
            }
            rows.push(Line::from(vec![
                Span::styled(format!("{keys:>16}  "), t.accent),
                Span::styled(desc.to_string(), t.base),
            ]));
        }
        if let (Some(h), false) = (heading, rows.is_empty()) {
            lines.push(Line::from(Span::styled(
                format!("{:>16}  ", format!("— {h}")),
                t.muted,
            )));
        }
        lines.extend(rows);
    }
    // The filter line stays; the keys below it scroll when they do not fit.
    let room = (rect.height as usize).saturating_sub(2);
    let total = lines.len();
    let skip = scroll.min(total.saturating_sub(room));
    let more = total.saturating_sub(1 + skip) > room.saturating_sub(1);
    let mut shown = vec![lines[0].clone()];
    shown.extend(lines.into_iter().skip(1 + skip));
    (
        format!(
            " keys: {} ({no} closes{}) ",
            app.context().name(),
            if more || skip > 0 {
                format!(" · {down}/{up} scroll")
            } else {
                String::new()
            }
        ),
        shown,
    )
}

/// A form: a line per field with its value, cursor, error or hint (a picker's
/// suggestions when it has some), then the keys; scrolled to keep the focus in view.
fn form_popup<'a>(
    app: &'a App,
    form: &'a crate::tui::state::Form,
    rect: Rect,
) -> (String, Vec<Line<'a>>) {
    let t = &app.theme;
    let mut lines = Vec::new();
    if let Some(e) = form.error_for("") {
        lines.push(Line::from(Span::styled(e.to_string(), t.danger)));
    }
    let label_w = form
        .kind
        .fields()
        .iter()
        .map(|f| f.label.chars().count())
        .max()
        .unwrap_or(8)
        + 2;
    for (i, (spec, value)) in form.kind.fields().iter().zip(&form.values).enumerate() {
        let focused = i == form.focus;
        let label = format!("{}{}", spec.label, if spec.required { " *" } else { "" });
        let mut spans = vec![Span::styled(
            format!("{label:>label_w$} "),
            if focused { t.focus } else { t.muted },
        )];
        if focused && form.cursor.selected {
            // Selected: typing replaces it.
            spans.push(Span::styled(value.clone(), t.selected));
            spans.push(Span::styled("▏", t.accent));
        } else if focused {
            let at = value
                .char_indices()
                .nth(form.cursor.at)
                .map_or(value.len(), |(i, _)| i);
            spans.push(Span::styled(
                format!("{}▏{}", &value[..at], &value[at..]),
                t.accent,
            ));
        } else {
            spans.push(Span::styled(value.clone(), t.base));
        }
        if let Some(e) = form.error_for(spec.name) {
            spans.push(Span::styled(format!("  ✗ {e}"), t.danger));
        } else if let (true, Some(p)) = (focused, &form.pick) {
            // The picker's suggestions, the highlighted one marked.
            spans.push(Span::styled("  ", t.muted));
            for (j, m) in p.matches.iter().enumerate() {
                if j > 0 {
                    spans.push(Span::styled(" · ", t.muted));
                }
                spans.push(if p.chosen == Some(j) {
                    Span::styled(format!("▸{m}"), t.selected)
                } else {
                    Span::styled(m.clone(), t.muted)
                });
            }
        } else if focused && !spec.hint.is_empty() {
            spans.push(Span::styled(format!("  {}", spec.hint), t.muted));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    // The keys, in short lines so that none is cut on a narrow terminal.
    let help: Vec<String> = if form.saving {
        vec!["saving…".into()]
    } else {
        form_keys(app, form.pick.is_some())
    };
    for h in &help {
        lines.push(Line::from(Span::styled(h.clone(), t.muted)));
    }
    // A form taller than the popup scrolls to keep the focused field in view
    // (with the key help below it).
    let inner_h = rect.height.saturating_sub(2) as usize;
    let focus_line = form.focus + usize::from(form.error_for("").is_some());
    let skip = (focus_line + 2 + help.len()).saturating_sub(inner_h);
    let lines = lines.into_iter().skip(skip).collect();
    (format!(" {} ", form.kind.title()), lines)
}

/// Why a deal has its win probability: each factor in log-odds, coloured by direction.
fn explain<'a>(
    app: &'a App,
    deal: &str,
    body: Option<&'a crate::app::scoring::Explanation>,
    no: &str,
) -> (String, Vec<Line<'a>>) {
    let t = &app.theme;
    let mut lines = Vec::new();
    match body {
        None => lines.push(Line::from(Span::styled(
            "working out why… (the first time learns the model from closed deals)",
            t.muted,
        ))),
        Some(x) => {
            lines.push(Line::from(Span::styled(x.headline.clone(), t.accent)));
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                "what moves it, against an average deal (log-odds):",
                t.muted,
            )));
            for (text, c, effect) in &x.factors {
                let style = if c.abs() < 0.05 {
                    t.muted
                } else if *c > 0.0 {
                    t.won
                } else {
                    t.danger
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{c:>+6.2}  "), style),
                    Span::styled(text.clone(), t.base),
                    Span::styled(format!(" — {effect}"), t.muted),
                ]));
            }
            if let Some(note) = &x.note {
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(note.clone(), t.warning)));
            }
        }
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(format!("{no} closes"), t.muted)));
    (format!(" why: {deal} "), lines)
}

/// A target proposal to review: its summary, a row per target with its rationale, and the
/// keys (kept in view while the rows scroll).
#[allow(clippy::too_many_arguments)]
fn proposal_popup<'a>(
    app: &'a App,
    proposal: &'a crate::app::targets::Proposal,
    scroll: usize,
    saving: bool,
    rect: Rect,
    ok: &str,
    no: &str,
    down: &str,
    up: &str,
) -> (String, Vec<Line<'a>>) {
    let t = &app.theme;
    let mut lines = vec![
        Line::from(Span::styled(proposal.summary.clone(), t.accent)),
        Line::default(),
    ];
    for r in proposal.rows.iter().skip(scroll) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<8}", r.scope.as_str()), t.muted),
            Span::styled(format!("{:<22}", r.name), t.base),
            Span::styled(
                format!("{:>12}  ", crate::domain::Money(r.value_cents)),
                t.accent,
            ),
            Span::styled(r.rationale.clone(), t.muted),
        ]));
    }
    // The keys stay in view: the list above scrolls, this line does not.
    let inner_h = rect.height.saturating_sub(2) as usize;
    lines.truncate(inner_h.saturating_sub(2));
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        if saving {
            "saving…".to_string()
        } else {
            format!("{ok} saves every row (kept as revisions) · {down}/{up} scroll · {no} drops it")
        },
        t.muted,
    )));
    (
        format!(" {} proposal for {} ", proposal.method, proposal.period),
        lines,
    )
}
