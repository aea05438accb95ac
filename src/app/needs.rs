//! Needs by classification: which product family each customer is likely to buy next.

use super::Db;
use crate::analytics::needs::{self, Evaluation, History, Need, Profile};
use crate::domain::segments::LedgerLine;
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

/// How deep the tree grows (the printed rules may stop earlier).
pub const DEPTH: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum NeedsError {
    #[error("too little history to learn needs from up to {0}: at least 20 customers must have ordered within 90 days of a month's start, in at least two product families")]
    TooLittle(NaiveDate),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Data {
    lines: Vec<LedgerLine>,
    family_of: HashMap<i64, String>,
    profiles: HashMap<i64, Profile>,
    activities: Vec<(i64, NaiveDate)>,
}

fn read(store: &Db, today: NaiveDate) -> Result<Data, StoreError> {
    let day = today.format("%Y-%m-%d").to_string();
    let lines = store.order_ledger(&day)?;
    read_with(store, today, lines)
}

/// What the tree learns from, with the ledger already read.
fn read_with(store: &Db, today: NaiveDate, lines: Vec<LedgerLine>) -> Result<Data, StoreError> {
    let day = today.format("%Y-%m-%d").to_string();
    let family_of = store
        .organisation()?
        .products
        .into_iter()
        .filter_map(|p| p.family.map(|f| (p.id, f)))
        .collect();
    let profiles = store
        .customer_profiles()?
        .into_iter()
        .map(|(id, (industry, segment, region))| {
            (
                id,
                Profile {
                    industry,
                    segment,
                    region,
                },
            )
        })
        .collect();
    let activities = store
        .customer_activity_days(&day)?
        .into_iter()
        .filter_map(|(c, d)| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .ok()
                .map(|d| (c, d))
        })
        .collect();
    Ok(Data {
        lines,
        family_of,
        profiles,
        activities,
    })
}

fn history(d: &Data) -> History<'_> {
    History {
        lines: &d.lines,
        family_of: &d.family_of,
        profiles: &d.profiles,
        activities: &d.activities,
    }
}

/// The tree's rules to `depth` conditions, and each customer's predicted need as of today.
pub fn learn(
    store: &Db,
    today: NaiveDate,
    depth: usize,
) -> Result<(Vec<String>, BTreeMap<i64, Need>), NeedsError> {
    let d = read(store, today)?;
    let h = history(&d);
    let n = needs::learn(&h, today, DEPTH).ok_or(NeedsError::TooLittle(today))?;
    Ok((n.rules(depth), needs::predict_all(&n, &h, today)))
}

/// Each customer's predicted need as of today, from a ledger already read (`None`: too
/// little history to learn from).
pub(super) fn predict_ledger(
    store: &Db,
    today: NaiveDate,
    lines: Vec<LedgerLine>,
) -> Result<Option<BTreeMap<i64, Need>>, StoreError> {
    let d = read_with(store, today, lines)?;
    let h = history(&d);
    Ok(needs::learn(&h, today, DEPTH).map(|n| needs::predict_all(&n, &h, today)))
}

/// The time-ordered evaluation against popularity and "same as last family".
pub fn evaluate(store: &Db, today: NaiveDate) -> Result<Evaluation, NeedsError> {
    let d = read(store, today)?;
    needs::evaluate(&history(&d), today, DEPTH).ok_or(NeedsError::TooLittle(today))
}
