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
