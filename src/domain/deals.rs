//! Read models of deals: a card on the board, and where a deal is moved to.

use super::Money;

/// One card on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct DealCard {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub customer: String,
    /// The customer's row id (to log an activity from the board).
    pub customer_id: i64,
    pub owner: Option<String>,
    pub amount: Money,
    pub expected_close: Option<String>,
    pub stage_entered_on: String,
    /// Learned win probability, once `funnel score` or a recompute has run.
    pub win_probability: Option<f64>,
    /// The row's version when read (see `audit::row_version`).
    pub version: i64,
}

/// An open deal for the pipeline forecast: (cents, stage id, expected close, learned win
/// probability if scored).
/// (cents, stage id, expected close, learned win probability, owner rep id).
pub type OpenDealRow = (i64, i64, Option<String>, Option<f64>, Option<i64>);

/// Deals open at the start of past days, by their stage then and days to their expected
/// close (see `Store::snapshot_outcomes`).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotGroup {
    pub stage: Option<i64>,
    pub days_to_close: Option<i64>,
    pub won: i64,
    pub deals: i64,
}

/// A deal as it stood at the start of a past day (for backtests).
#[derive(Debug, Clone, PartialEq)]
pub struct AsOfDeal {
    pub cents: i64,
    /// Its stage then, from the stage history; `None` when none is recorded by then.
    pub stage_then: Option<i64>,
    pub stage_now: i64,
    /// As last recorded.
    pub expected_close: Option<String>,
    pub closed_on: Option<String>,
    /// Whether it ended won.
    pub won: bool,
}

/// Where a deal is moved to.
#[derive(Debug, Clone, PartialEq)]
pub enum Move {
    Stage(i64),
    Won,
    Lost(String),
}
