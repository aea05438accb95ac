//! The Agenda screen: whose agenda and the alert count on top; the list chosen with `tab`
//! (follow-ups due and contacts overdue, the visit plan with priorities and
//! probabilities, the rules' alerts, the allocation of the month's hours); the selected
//! row in words below it.

use super::compact;
use super::table::DataTable;
use crate::domain::table::terminal_safe;
use crate::domain::Money;
use crate::tui::agenda::AgendaPane;
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
    let a = &app.agenda;
    let message = |frame: &mut Frame, text: String, style| {
        frame.render_widget(
            Paragraph::new(terminal_safe(&text).into_owned())
                .style(style)
                .wrap(Wrap { trim: true })
                .block(block(app, " Agenda ".into())),
            area,
        );
    };
    if let Some(e) = &a.error {
        return message(frame, e.clone(), t.danger);
    }
    let Some(d) = &a.data else {
        return message(frame, "reading the agenda…".into(), t.muted);
    };
    let [head, list, about] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(6),
    ])
    .areas(area);
    let overdue = d.items.iter().filter(|i| i.due_on < app.today).count();
    let tabs: Vec<Span> = AgendaPane::ALL
        .iter()
        .map(|p| {
            let (name, n) = match p {
                AgendaPane::Due => ("Due", d.items.len()),
                AgendaPane::Plan => ("Plan", d.plan.len()),
                AgendaPane::Alerts => ("Alerts", d.alerts.0),
                AgendaPane::Allocation => (
                    "Allocation",
                    a.allocation.as_ref().map_or(0, |x| x.reps.len()),
                ),
            };
            let style = if *p == a.pane { t.selected } else { t.muted };
            Span::styled(format!(" {name} ({n}) "), style)
        })
        .collect();
    let whose = match &d.rep {
        Some(r) => format!(" {r}"),
        None => " everyone".into(),
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(vec![
                Span::styled(whose, t.accent),
                Span::styled(
                    format!(
                        " · {} due today or before, {overdue} overdue · {} alert(s) · w: another rep",
                        d.items.len(),
                        d.alerts.0
                    ),
                    t.muted,
                ),
            ]),
            Line::from(tabs),
        ]),
        head,
    );
    match a.pane {
        AgendaPane::Due => render_due(app, d, frame, list),
        AgendaPane::Plan => render_plan(app, d, frame, list),
        AgendaPane::Alerts => render_alerts(app, d, frame, list),
        AgendaPane::Allocation => render_allocation(app, frame, list),
    }
    let words: Vec<Line> = selected_words(app, d)
        .into_iter()
        .map(|l| Line::from(terminal_safe(&l).into_owned()))
        .collect();
    frame.render_widget(
        Paragraph::new(words)
            .style(t.base)
            .wrap(Wrap { trim: true })
            .block(block(app, " Selected ".into())),
        about,
    );
}

/// The selected row in words: why it is there and what the keys do with it.
fn selected_words(app: &App, d: &crate::app::agenda::Screen) -> Vec<String> {
    let a = &app.agenda;
    let i = a.selected();
    match a.pane {
        AgendaPane::Due => d
            .items
            .get(i)
            .map(|x| {
                vec![
                    format!(
                        "{} · {} · due {}{}",
                        x.customer,
                        x.kind,
                        x.due_on,
                        x.deal
                            .as_ref()
                            .map(|d| format!(" · deal {d}"))
                            .unwrap_or_default()
                    ),
                    x.subject.clone(),
                    if x.activity_id.is_some() {
                        "n: log it with the outcome and the next follow-up (completes it) · x: done · z: snooze · a: reassign".into()
                    } else {
                        "n: log a contact with the outcome and the next follow-up".into()
                    },
                ]
            })
            .unwrap_or_else(|| vec!["nothing due today or before".into()]),
        AgendaPane::Plan => match d.plan.get(i) {
            Some(p) => {
                let mut v = vec![format!(
                    "{} · {} · priority {:.2} · visit probability {:.1}%",
                    p.visit.customer,
                    p.day,
                    p.visit.score,
                    100.0 * p.visit.probability
                )];
                v.push(if p.visit.reasons.is_empty() {
                    "no factor raises its priority (drawn by chance at its share)".into()
                } else {
                    p.visit.reasons.join(" · ")
                });
                v.push("n: log the visit or call with its outcome and next follow-up".into());
                v
            }
            None => vec![d.plan_note.clone().unwrap_or_else(|| "no plan".into())],
        },
        AgendaPane::Alerts => d
            .alerts
            .1
            .get(i)
            .map(|x| {
                vec![
                    format!("rule '{}' · raised {}", x.rule, x.created_at),
                    x.message.clone(),
                    "x: dismiss (the same condition raises no new alert)".into(),
                ]
            })
            .unwrap_or_else(|| vec!["no open alerts: `funnel rules run` (cron) raises them from rules.toml".into()]),
        AgendaPane::Allocation => match &a.allocation {
            Some(x) => {
                let binding = x.reps.iter().filter(|r| r.binding).count();
                vec![
                    format!(
                        "{}: {} working days × {} h; expected {} by the LP vs {} by the greedy rule (biggest accounts first)",
                        x.period,
                        x.days,
                        x.hours_per_day,
                        Money(x.lp_cents),
                        Money(x.greedy_cents)
                    ),
                    format!(
                        "capacity binding for {binding} of {} reps; one more hour is worth the amount shown to a binding rep",
                        x.reps.len()
                    ),
                ]
            }
            None if a.allocating => vec!["solving…".into()],
            None => vec!["A: allocate this month's selling hours to accounts by linear programming".into()],
        },
    }
}

fn render_due(app: &App, d: &crate::app::agenda::Screen, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let header = Row::new(["Due", "Kind", "Customer", "City", "Rep", "What"]).style(t.accent);
    let widths = vec![
        Constraint::Length(10),
        Constraint::Length(15),
        Constraint::Length(28),
        Constraint::Length(12),
        Constraint::Length(16),
        Constraint::Min(20),
    ];
    if d.items.is_empty() {
        return empty(app, frame, area, " Due ", "nothing due today or before");
    }
    DataTable::new(header, widths, t.selected)
        .block(block(app, " Due today and overdue ".into()))
        .render(
            frame,
            area,
            &app.agenda.scroll,
            (0, d.items.len()),
            Some(app.agenda.selected()),
            |i| {
                let x = &d.items[i];
                let style = if x.due_on < app.today {
                    t.warning
                } else {
                    t.base
                };
                Row::new(vec![
                    Cell::from(x.due_on.to_string()),
                    Cell::from(x.kind.clone()),
                    Cell::from(x.customer.clone()),
                    Cell::from(x.city.clone().unwrap_or_default()),
                    Cell::from(x.rep.clone().unwrap_or_default()),
                    Cell::from(x.subject.clone()),
                ])
                .style(style)
            },
        );
}

fn render_plan(app: &App, d: &crate::app::agenda::Screen, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    if d.plan.is_empty() {
        let note = d.plan_note.clone().unwrap_or_else(|| "no plan".into());
        return empty(app, frame, area, " Plan ", &note);
    }
    let header =
        Row::new(["Day", "Customer", "City", "Priority", "P(visit)", "Why"]).style(t.accent);
    let widths = vec![
        Constraint::Length(10),
        Constraint::Length(28),
        Constraint::Length(12),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Min(20),
    ];
    DataTable::new(header, widths, t.selected)
        .block(block(
            app,
            match &d.last_saved {
                Some(r) => format!(
                    " Plan: next working days by visit probability · S saves · saved plan #{} ({} to {}): {} of {} done, {} on the day ",
                    r.plan.id,
                    r.plan.first_day,
                    r.plan.last_day,
                    r.contacted,
                    r.outcomes.len(),
                    r.on_the_day
                ),
                None => " Plan: next working days by visit probability · S saves it ".into(),
            },
        ))
        .render(
            frame,
            area,
            &app.agenda.scroll,
            (0, d.plan.len()),
            Some(app.agenda.selected()),
            |i| {
                let p = &d.plan[i];
                let right = |s: String| Cell::from(Line::from(s).right_aligned());
                Row::new(vec![
                    Cell::from(p.day.to_string()),
                    Cell::from(p.visit.customer.clone()),
                    Cell::from(p.visit.city.clone().unwrap_or_default()),
                    right(format!("{:.2}", p.visit.score)),
                    right(format!("{:.1}%", 100.0 * p.visit.probability)),
                    Cell::from(p.visit.reasons.first().cloned().unwrap_or_default()),
                ])
                .style(t.base)
            },
        );
}

fn render_alerts(app: &App, d: &crate::app::agenda::Screen, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let alerts = &d.alerts.1;
    if alerts.is_empty() {
        return empty(
            app,
            frame,
            area,
            " Alerts ",
            "no open alerts (rules in rules.toml raise them: funnel rules run)",
        );
    }
    let header = Row::new(["Raised", "Rule", "Alert"]).style(t.accent);
    let widths = vec![
        Constraint::Length(20),
        Constraint::Length(18),
        Constraint::Min(20),
    ];
    DataTable::new(header, widths, t.selected)
        .block(block(app, format!(" Alerts ({}) ", d.alerts.0)))
        .render(
            frame,
            area,
            &app.agenda.scroll,
            (0, alerts.len()),
            Some(app.agenda.selected()),
            |i| {
                let x = &alerts[i];
                Row::new(vec![
                    Cell::from(x.created_at.clone()),
                    Cell::from(x.rule.clone()),
                    Cell::from(x.message.clone()),
                ])
                .style(t.base)
            },
        );
}

fn render_allocation(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.theme;
    let Some(x) = &app.agenda.allocation else {
        let text = if app.agenda.allocating {
            "solving the allocation…"
        } else {
            "A: allocate this month's selling hours to accounts by linear programming"
        };
        return empty(app, frame, area, " Allocation ", text);
    };
    let header = Row::new([
        "Rep",
        "Hours",
        "Used",
        "Accounts",
        "Expected (LP)",
        "Greedy",
        "+1 hour",
        "Binding",
    ])
    .style(t.accent);
    let widths = vec![
        Constraint::Length(18),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(13),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(11),
    ];
    DataTable::new(header, widths, t.selected)
        .block(block(
            app,
            format!(" Allocation {} ({:.0} ms) ", x.period, x.solve_ms),
        ))
        .render(
            frame,
            area,
            &app.agenda.scroll,
            (0, x.reps.len()),
            Some(app.agenda.selected()),
            |i| {
                let r = &x.reps[i];
                let right = |s: String| Cell::from(Line::from(s).right_aligned());
                Row::new(vec![
                    Cell::from(r.rep.clone()),
                    right(format!("{:.0}", r.hours)),
                    right(format!("{:.0}", r.used)),
                    right(r.accounts.to_string()),
                    right(compact(Money(r.lp_cents))),
                    right(compact(Money(r.greedy_cents))),
                    right(compact(Money(r.hour_cents))),
                    Cell::from(match (r.short_of, r.binding) {
                        (Some(_), _) => "not planned",
                        (None, true) => "capacity",
                        _ => "",
                    }),
                ])
                .style(t.base)
            },
        );
}

fn empty(app: &App, frame: &mut Frame, area: Rect, title: &str, text: &str) {
    frame.render_widget(
        Paragraph::new(terminal_safe(text).into_owned())
            .style(app.theme.muted)
            .wrap(Wrap { trim: true })
            .block(block(app, title.to_string())),
        area,
    );
}
