//! `?` help (filterable) and the `:` palette (fuzzy), both from the keymap.

use crate::tui::keymap;
use crate::tui::state::{App, Popup};
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
    let (title, lines) = match popup {
        Popup::Help { filter, scroll } => {
            let f = filter.to_lowercase();
            let mut lines = vec![Line::from(vec![
                Span::styled("filter: ", t.muted),
                Span::styled(format!("{filter}▏"), t.accent),
            ])];
            for (keys, action, desc) in keymap::describe(&app.keymap, app.context()) {
                let text = format!("{keys} {} {desc}", action.name());
                if !f.is_empty() && !text.to_lowercase().contains(&f) {
                    continue;
                }
                lines.push(Line::from(vec![
                    Span::styled(format!("{keys:>16}  "), t.accent),
                    Span::styled(desc.to_string(), t.base),
                ]));
            }
            // The filter line stays; the keys below it scroll when they do not fit.
            let room = (rect.height as usize).saturating_sub(2);
            let total = lines.len();
            let skip = (*scroll).min(total.saturating_sub(room));
            let more = total.saturating_sub(1 + skip) > room.saturating_sub(1);
            let mut shown = vec![lines[0].clone()];
            shown.extend(lines.into_iter().skip(1 + skip));
            (
                format!(
                    " keys: {} (esc closes{}) ",
                    app.context().name(),
                    if more || skip > 0 {
                        " · ↑/↓ scroll"
                    } else {
                        ""
                    }
                ),
                shown,
            )
        }
        Popup::Form(form) => {
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
                } else if focused && !spec.hint.is_empty() {
                    spans.push(Span::styled(format!("  {}", spec.hint), t.muted));
                }
                lines.push(Line::from(spans));
            }
            lines.push(Line::default());
            // The keys, in short lines so that none is cut on a narrow terminal.
            let help: &[&str] = if form.saving {
                &["saving…"]
            } else {
                &[
                    "tab/↓ next · ↑ back · ctrl-s saves · esc cancels",
                    "←/→ home end · ctrl-a/e/u/k/w edit the line",
                ]
            };
            for h in help {
                lines.push(Line::from(Span::styled(*h, t.muted)));
            }
            // A form taller than the popup scrolls to keep the focused field in view
            // (with the key help below it).
            let inner_h = rect.height.saturating_sub(2) as usize;
            let focus_line = form.focus + usize::from(form.error_for("").is_some());
            let skip = (focus_line + 2 + help.len()).saturating_sub(inner_h);
            let lines = lines.into_iter().skip(skip).collect();
            (format!(" {} ", form.kind.title()), lines)
        }
        Popup::Confirm {
            question, strong, ..
        } => {
            let keys = if *strong {
                "F: yes, anyway · n/esc: no"
            } else {
                "y/enter: yes · n/esc: no"
            };
            let lines = vec![
                Line::from(Span::styled(question.clone(), t.base)),
                Line::default(),
                Line::from(Span::styled(keys, t.muted)),
            ];
            (" confirm ".to_string(), lines)
        }
        Popup::Filter { owner, input } => {
            let what = if *owner {
                "owner (a rep's exact name)"
            } else {
                "region (e.g. EMEA)"
            };
            let lines = vec![
                Line::from(Span::styled(format!("Show customers by {what}:"), t.base)),
                Line::default(),
                Line::from(vec![
                    Span::styled("> ", t.muted),
                    Span::styled(format!("{input}▏"), t.accent),
                ]),
                Line::default(),
                Line::from(Span::styled(
                    "enter applies (empty clears), esc cancels",
                    t.muted,
                )),
            ];
            (" filter ".to_string(), lines)
        }
        Popup::Proposal {
            proposal,
            scroll,
            saving,
        } => {
            let mut lines = vec![
                Line::from(Span::styled(proposal.summary.clone(), t.accent)),
                Line::default(),
            ];
            for r in proposal.rows.iter().skip(*scroll) {
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
                if *saving {
                    "saving…"
                } else {
                    "enter saves every row (kept as revisions) · j/k scroll · esc drops it"
                },
                t.muted,
            )));
            (
                format!(" {} proposal for {} ", proposal.method, proposal.period),
                lines,
            )
        }
        Popup::Explain { deal, body, .. } => {
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
            lines.push(Line::from(Span::styled("esc closes", t.muted)));
            (format!(" why: {deal} "), lines)
        }
        Popup::LostReason { deal, input, .. } => {
            let lines = vec![
                Line::from(Span::styled(format!("Why was '{deal}' lost?"), t.base)),
                Line::default(),
                Line::from(vec![
                    Span::styled("reason: ", t.muted),
                    Span::styled(format!("{input}▏"), t.accent),
                ]),
                Line::default(),
                Line::from(Span::styled("enter saves, esc cancels", t.muted)),
            ];
            (" mark lost ".to_string(), lines)
        }
        Popup::Palette { input, selected } => {
            let mut lines = vec![Line::from(vec![
                Span::styled(": ", t.accent),
                Span::styled(format!("{input}▏"), t.base),
            ])];
            for (i, (action, keys, desc)) in app.palette_matches().into_iter().enumerate() {
                let style = if i == *selected { t.selected } else { t.base };
                lines.push(Line::from(vec![Span::styled(
                    format!(" {:<22} {:<34} {keys}", action.name(), desc),
                    style,
                )]));
            }
            (
                " command palette (enter runs, esc closes) ".to_string(),
                lines,
            )
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
