//! The agenda: what a rep (or a team, or everyone) has to do — follow-ups due and overdue,
//! customers past their contact interval — and the changes made from it.

use super::Db;
use crate::domain::agenda::{AgendaChange, AgendaItem, AgendaScope};
use crate::domain::audit::{Actor, Entity};
use crate::domain::date::iso;
use crate::store::StoreError;
use chrono::{Duration, NaiveDate};

/// The agenda as of `today`: open activities due up to `days` ahead (with `overdue`,
/// only those due before today), and the customers whose next contact by their own
/// interval falls in the same window with nothing scheduled for them; earliest first.
pub fn list(
    store: &Db,
    scope: &AgendaScope,
    today: NaiveDate,
    days: i64,
    overdue: bool,
) -> Result<Vec<AgendaItem>, StoreError> {
    let until = if overdue {
        today - Duration::days(1)
    } else {
        today + Duration::days(days.max(0))
    };
    let mut out: Vec<AgendaItem> = Vec::new();
    for a in store.open_activities(scope, &iso(until))? {
        let Ok(due_on) = NaiveDate::parse_from_str(&a.due_on, "%Y-%m-%d") else {
            continue;
        };
        out.push(AgendaItem {
            activity_id: Some(a.id),
            activity: a.external_id,
            due_on,
            kind: a.kind,
            subject: a.subject.unwrap_or_default(),
            customer_id: a.customer_id,
            customer: a.customer,
            customer_external_id: a.customer_external_id,
            city: a.city,
            rep: a.rep,
            deal: a.deal,
        });
    }
    let learned = learned_intervals(store, today)?;
    for c in store.contact_intervals(scope, &iso(today))? {
        if c.scheduled {
            continue; // the agenda shows what is scheduled for it
        }
        let (every, whose) = match (
            c.every_days,
            c.segment.as_ref().and_then(|s| learned.get(s)),
        ) {
            (Some(d), _) => (d, String::new()),
            (None, Some(d)) => (
                *d,
                format!(", learned for {}", c.segment.as_deref().unwrap_or_default()),
            ),
            (None, None) => continue,
        };
        let since = c.last_contact.as_deref().unwrap_or(&c.created_on);
        let Ok(since) = NaiveDate::parse_from_str(since, "%Y-%m-%d") else {
            continue;
        };
        let due_on = since + Duration::days(every);
        if due_on > until {
            continue;
        }
        let subject = match &c.last_contact {
            Some(l) => format!(
                "no contact since {l} ({} days; every {every} days{whose})",
                (today - since).num_days()
            ),
            None => format!("never contacted (every {every} days{whose})"),
        };
        out.push(AgendaItem {
            activity_id: None,
            activity: None,
            due_on,
            kind: "contact overdue".into(),
            subject,
            customer_id: c.customer_id,
            customer: c.customer,
            customer_external_id: c.customer_external_id,
            city: c.city,
            rep: c.rep,
            deal: None,
        });
    }
    out.sort_by(|a, b| {
        (a.due_on, a.activity_id.is_none(), &a.customer).cmp(&(
            b.due_on,
            b.activity_id.is_none(),
            &b.customer,
        ))
    });
    Ok(out)
}

/// The least gaps a segment needs for its learned interval.
pub const MIN_GAPS: usize = 20;

/// Each customer segment's contact interval learned from the customers who kept buying
/// (an order in the last year): the median gap in days between their consecutive contact
/// days, for segments with at least `MIN_GAPS` gaps. Kept per data version (reading every
/// contact day takes about 2 s at a million deals; later reads are instant until the data
/// changes).
pub fn learned_intervals(
    store: &Db,
    today: NaiveDate,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    super::cache::cached(store, "learned_contact_intervals", today, || {
        learn_intervals(store, today)
    })
}

fn learn_intervals(
    store: &Db,
    today: NaiveDate,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    let mut by: std::collections::HashMap<String, Vec<f64>> = Default::default();
    for (segment, gap) in store.contact_gaps(&iso(today))? {
        by.entry(segment).or_default().push(gap);
    }
    Ok(by
        .into_iter()
        .filter(|(_, g)| g.len() >= MIN_GAPS)
        .map(|(s, mut g)| {
            g.sort_by(f64::total_cmp);
            let n = g.len();
            let median = if n % 2 == 1 {
                g[n / 2]
            } else {
                (g[n / 2 - 1] + g[n / 2]) / 2.0
            };
            (s, median.round().max(1.0) as i64)
        })
        .collect())
}

/// Completes, snoozes or reassigns the open activity named by its external id (or row
/// id), audited; its row id.
pub fn change(
    store: &mut Db,
    activity: &str,
    change: &AgendaChange,
    actor: &Actor,
) -> Result<i64, StoreError> {
    let id = store.find_row(Entity::Activity, activity)?;
    store.change_activity(id, change, actor)?;
    Ok(id)
}

/// Whose agenda the TUI's Agenda screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whose {
    /// The configured rep (config.toml or $FUNNEL_REP), else the rep with the most due.
    Default,
    Everyone,
    Rep(String),
}

/// The Agenda screen: today's and overdue items, the plan for the next working days (for a
/// rep), the open alerts of the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Screen {
    /// The rep shown (`None`: everyone).
    pub rep: Option<String>,
    /// Every rep's name, for cycling.
    pub reps: Vec<String>,
    pub items: Vec<AgendaItem>,
    pub plan: Vec<super::plan::Planned>,
    pub alerts: (usize, Vec<crate::domain::rules::Alert>),
    /// Why there is no plan (everyone, or the rep has no customers).
    pub plan_note: Option<String>,
    /// How the plan was drawn (kept with it when saved).
    pub plan_method: String,
    /// The rep's last saved plan against what was logged since.
    pub last_saved: Option<super::plan::Review>,
}

/// The plan's days on the Agenda screen.
pub const SCREEN_PLAN_DAYS: usize = 5;

/// The Agenda screen's data as of `today`.
pub fn screen(store: &Db, whose: &Whose, today: NaiveDate) -> Result<Screen, StoreError> {
    let reps: Vec<String> = {
        let mut r: Vec<String> = super::organisation(store)?
            .reps
            .into_iter()
            .map(|r| r.name)
            .collect();
        r.sort();
        r
    };
    // No rep configured: the rep with the most follow-ups due, so that a demo shows a plan
    // at once (one indexed query, not everyone's agenda).
    let rep = match whose {
        Whose::Rep(r) => Some(r.clone()),
        Whose::Everyone => None,
        Whose::Default => match super::configured_rep() {
            Some(r) => Some(r),
            None => store
                .busiest_rep(&iso(today))?
                .or_else(|| reps.first().cloned()),
        },
    };
    let scope = match &rep {
        Some(r) => AgendaScope::Rep(r.clone()),
        None => AgendaScope::All,
    };
    let items = list(store, &scope, today, 0, false)?;
    let w = super::priority_weights().unwrap_or_default();
    let spec = super::plan::PlanSpec {
        days: SCREEN_PLAN_DAYS,
        per_day: None,
        seed: 1,
        greedy: false,
    };
    let plan_method = spec.describe(w.alpha);
    let (plan, plan_note) = match &rep {
        Some(r) => {
            let learned = learned_intervals(store, today)?;
            let plan = super::plan::plan(store, r, today, &spec, &w, &learned)?;
            let note = plan
                .is_empty()
                .then(|| format!("{r} has no customers to plan"));
            (plan, note)
        }
        None => (
            Vec::new(),
            Some("everyone's agenda: w chooses a rep to see a plan".into()),
        ),
    };
    // The last saved plan of the rep, if any (its absence is no error).
    let last_saved = match &rep {
        Some(r) => super::plan::review(store, None, Some(r), today).ok(),
        None => None,
    };
    Ok(Screen {
        rep,
        reps,
        items,
        plan,
        alerts: store.open_alerts(200)?,
        plan_note,
        plan_method,
        last_saved,
    })
}
