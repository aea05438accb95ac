//! `funnel agenda`: follow-ups due and overdue, customers past their contact interval;
//! as a table (every format) or an iCalendar file; and `done`, `snooze`, `reassign`.

use super::*;
use crate::domain::agenda::{AgendaChange, AgendaItem, AgendaScope};

#[derive(Subcommand, Debug)]
pub enum AgendaAction {
    /// Mark an open activity done (today, or --on), with what came of it.
    Done {
        /// The activity's id (A-0000123) or row id.
        activity: String,
        #[arg(long)]
        outcome: Option<String>,
        /// The day it was done (YYYY-MM-DD; default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Move an open activity to another day.
    Snooze {
        activity: String,
        /// The new due day (YYYY-MM-DD).
        #[arg(long, conflicts_with = "days", required_unless_present = "days")]
        to: Option<String>,
        /// Or this many days from today.
        #[arg(long)]
        days: Option<i64>,
    },
    /// Give an open activity to another rep.
    Reassign {
        activity: String,
        #[arg(long)]
        rep: String,
    },
}

fn day(flag: &str, text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| usage(format!("{flag} {text}: a day as YYYY-MM-DD")))
}

/// Whose agenda: --rep, --team, --all, else the configured rep.
fn scope(rep: Option<String>, team: Option<String>, all: bool) -> anyhow::Result<AgendaScope> {
    Ok(match (rep, team, all) {
        (Some(r), None, false) => AgendaScope::Rep(r),
        (None, Some(t), false) => AgendaScope::Team(t),
        (None, None, true) => AgendaScope::All,
        (None, None, false) => match app::configured_rep() {
            Some(r) => AgendaScope::Rep(r),
            None => {
                return Err(usage(format!(
                    "whose agenda? No rep is set for {}: put `rep = \"Your Name\"` in {} (or set $FUNNEL_REP), or give --rep, --team or --all",
                    crate::domain::audit::Actor::current().os_user,
                    app::config_files().config.display()
                )))
            }
        },
        _ => return Err(usage("give one of --rep, --team and --all")),
    })
}

/// `funnel agenda [ACTION]`.
pub(super) fn run(ctx: Ctx, command: Command) -> anyhow::Result<i32> {
    let Command::Agenda {
        action,
        rep,
        team,
        all,
        overdue,
        days,
    } = command
    else {
        unreachable!("execute routes only Agenda here")
    };
    let Ctx {
        store,
        out,
        format,
        today,
        ..
    } = ctx;
    if let Some(action) = action {
        let (activity, change, said) = match action {
            AgendaAction::Done {
                activity,
                outcome,
                on,
            } => {
                let on = on
                    .as_deref()
                    .map(|d| day("--on", d))
                    .transpose()?
                    .unwrap_or(today);
                (
                    activity,
                    AgendaChange::Complete { on, outcome },
                    format!("done on {on}"),
                )
            }
            AgendaAction::Snooze { activity, to, days } => {
                let to = match (to, days) {
                    (Some(t), _) => day("--to", &t)?,
                    (None, Some(n)) => today + chrono::Duration::days(n),
                    (None, None) => return Err(usage("give --to DAY or --days N")),
                };
                (
                    activity,
                    AgendaChange::Snooze { to },
                    format!("now due on {to}"),
                )
            }
            AgendaAction::Reassign { activity, rep } => {
                let said = format!("now {rep}'s");
                (activity, AgendaChange::Reassign { rep }, said)
            }
        };
        app::agenda::change(
            store,
            &activity,
            &change,
            &crate::domain::audit::Actor::current(),
        )?;
        writeln!(
            out,
            "activity {activity}: {said} (audited; `funnel audit` shows it)"
        )?;
        return Ok(0);
    }
    let scope = scope(rep, team, all)?;
    let items = app::agenda::list(&*store, &scope, today, days, overdue)?;
    if format == Format::Ics {
        write_ics(out, &items, today)?;
        return Ok(0);
    }
    let mut t = Table::new(&[
        "due",
        "overdue_days",
        "kind",
        "customer",
        "subject",
        "deal",
        "rep",
        "city",
        "activity",
    ]);
    for i in &items {
        let text = |v: &Option<String>| v.clone().map(Cell::Text).unwrap_or(Cell::Null);
        t.rows.push(vec![
            Cell::Text(i.due_on.to_string()),
            Cell::Int((today - i.due_on).num_days().max(0)),
            Cell::Text(i.kind.clone()),
            Cell::Text(i.customer.clone()),
            Cell::Text(i.subject.clone()),
            text(&i.deal),
            text(&i.rep),
            text(&i.city),
            text(&i.activity),
        ]);
    }
    if format == Format::Table {
        let late = items.iter().filter(|i| i.due_on < today).count();
        writeln!(
            out,
            "{} to do up to {}{}: {late} overdue\n",
            items.len(),
            if overdue {
                today - chrono::Duration::days(1)
            } else {
                today + chrono::Duration::days(days)
            },
            match &scope {
                AgendaScope::Rep(r) => format!(" for {r}"),
                AgendaScope::Team(t) => format!(" for team {t}"),
                AgendaScope::All => String::new(),
            }
        )?;
    }
    output::write_table(out, &t, format)?;
    Ok(0)
}

/// Text as an iCalendar value: backslash, semicolon, comma and newlines escaped.
pub(super) fn ics_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// A content line folded at 75 octets (continuations start with a space), CRLF-ended.
pub(super) fn ics_line(out: &mut dyn Write, line: &str) -> std::io::Result<()> {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.write_all(b"\r\n ")?;
            width = 1;
        }
        let mut buf = [0u8; 4];
        out.write_all(c.encode_utf8(&mut buf).as_bytes())?;
        width += n;
    }
    out.write_all(b"\r\n")
}

/// The agenda as an iCalendar file: a whole-day event per follow-up on its due day, and
/// per customer past its contact interval a to-do due today.
fn write_ics(
    out: &mut dyn Write,
    items: &[AgendaItem],
    today: chrono::NaiveDate,
) -> std::io::Result<()> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let day = |d: chrono::NaiveDate| d.format("%Y%m%d").to_string();
    ics_line(out, "BEGIN:VCALENDAR")?;
    ics_line(out, "VERSION:2.0")?;
    ics_line(out, "PRODID:-//funnel//agenda//EN")?;
    ics_line(out, "CALSCALE:GREGORIAN")?;
    for i in items {
        let what = format!(
            "{}: {}{}",
            i.kind,
            i.customer,
            if i.subject.is_empty() {
                String::new()
            } else {
                format!(" — {}", i.subject)
            }
        );
        let mut about = vec![format!("customer {}", i.customer)];
        about.extend(
            i.customer_external_id
                .iter()
                .map(|e| format!("customer id {e}")),
        );
        about.extend(i.deal.iter().map(|d| format!("deal {d}")));
        about.extend(i.rep.iter().map(|r| format!("rep {r}")));
        about.extend(i.activity.iter().map(|a| format!("activity {a}")));
        match i.activity_id {
            Some(id) => {
                ics_line(out, "BEGIN:VEVENT")?;
                ics_line(out, &format!("UID:activity-{id}@funnel"))?;
                ics_line(out, &format!("DTSTAMP:{stamp}"))?;
                ics_line(out, &format!("DTSTART;VALUE=DATE:{}", day(i.due_on)))?;
                ics_line(
                    out,
                    &format!(
                        "DTEND;VALUE=DATE:{}",
                        day(i.due_on.succ_opt().unwrap_or(i.due_on))
                    ),
                )?;
                ics_line(out, &format!("SUMMARY:{}", ics_text(&what)))?;
                ics_line(out, &format!("DESCRIPTION:{}", ics_text(&about.join("\n"))))?;
                if let Some(c) = &i.city {
                    ics_line(out, &format!("LOCATION:{}", ics_text(c)))?;
                }
                ics_line(out, "END:VEVENT")?;
            }
            None => {
                ics_line(out, "BEGIN:VTODO")?;
                ics_line(
                    out,
                    &format!("UID:contact-{}-{}@funnel", i.customer_id, day(i.due_on)),
                )?;
                ics_line(out, &format!("DTSTAMP:{stamp}"))?;
                ics_line(out, &format!("DUE;VALUE=DATE:{}", day(today.max(i.due_on))))?;
                ics_line(out, &format!("SUMMARY:{}", ics_text(&what)))?;
                ics_line(out, &format!("DESCRIPTION:{}", ics_text(&about.join("\n"))))?;
                ics_line(out, "END:VTODO")?;
            }
        }
    }
    ics_line(out, "END:VCALENDAR")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ics_text_is_escaped_and_long_lines_are_folded_at_75_octets() {
        assert_eq!(ics_text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = Vec::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        ics_line(&mut out, &long).unwrap();
        let text = String::from_utf8(out).unwrap();
        for l in text.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        // Unfolded (CRLF + space removed) it is the line again.
        assert_eq!(text.replace("\r\n ", "").trim_end(), long);
    }
}
