//! The pipeline board: open deals by stage, with the deals that are overdue or stuck
//! marked, and moving deals between stages.

use crate::app::Db as Store;
use crate::domain::{Money, StageKind};
use crate::store::audit::Actor;
use crate::store::deals::{DealCard, Move};
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub stage_id: i64,
    pub name: String,
    pub probability: f64,
    pub count: i64,
    pub value: Money,
    /// The largest deals of the stage, largest first.
    pub cards: Vec<DealCard>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub columns: Vec<Column>,
}

/// Cards loaded per stage.
pub const CARDS_PER_STAGE: usize = 200;

pub fn load(store: &Store) -> Result<Board, StoreError> {
    let mut columns = Vec::new();
    for t in store.stage_totals()? {
        if t.stage.kind != StageKind::Open {
            continue;
        }
        columns.push(Column {
            stage_id: t.stage.id,
            name: t.stage.name.clone(),
            probability: t.stage.probability,
            count: t.count,
            value: t.value,
            cards: store.deals_in_stage(t.stage.id, CARDS_PER_STAGE)?,
        });
    }
    Ok(Board { columns })
}

/// When a deal counts as stuck, per stage: the funnel analysis's stale threshold (the
/// 80th percentile of the days that deals which went on to win spent in that stage, from
/// the stage history of the analysis cohort), so the board and `funnel report
/// stale-deals` agree. Stages with fewer than 20 such stays get no threshold.
/// Kept per data version (a year of stage history is read to learn them).
pub fn stuck_thresholds(store: &Store, today: NaiveDate) -> Result<HashMap<i64, f64>, StoreError> {
    super::cache::cached(store, "stuck_thresholds", today, || {
        super::funnel::thresholds(store, today)
    })
}

pub fn move_deal(
    store: &mut Store,
    deal_id: i64,
    to: &Move,
    today: NaiveDate,
) -> Result<(), StoreError> {
    store.move_deal(deal_id, to, today, &Actor::current())
}

/// Days a card has been in its stage on `today` (0 for a deal that entered it later, as
/// when the screens are viewed as of the day the data ends).
pub fn days_in_stage(card: &DealCard, today: NaiveDate) -> i64 {
    NaiveDate::parse_from_str(&card.stage_entered_on, "%Y-%m-%d")
        .map(|d| (today - d).num_days().max(0))
        .unwrap_or(0)
}

/// Past its expected close date.
pub fn overdue(card: &DealCard, today: NaiveDate) -> bool {
    card.expected_close
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .is_some_and(|d| d < today)
}
