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
    for c in store.contact_intervals(scope, &iso(today))? {
        if c.scheduled {
            continue; // the agenda shows what is scheduled for it
        }
        let since = c.last_contact.as_deref().unwrap_or(&c.created_on);
        let Ok(since) = NaiveDate::parse_from_str(since, "%Y-%m-%d") else {
            continue;
        };
        let due_on = since + Duration::days(c.every_days);
        if due_on > until {
            continue;
        }
        let subject = match &c.last_contact {
            Some(l) => format!(
                "no contact since {l} ({} days; every {} days)",
                (today - since).num_days(),
                c.every_days
            ),
            None => format!("never contacted (every {} days)", c.every_days),
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
