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

/// Deals open at the start of past days, by their stage then, days to their expected
/// close and [`size_bucket`] (see `Store::snapshot_outcomes`).
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotGroup {
    pub stage: Option<i64>,
    pub days_to_close: Option<i64>,
    pub size: Option<i64>,
    pub won: i64,
    pub deals: i64,
}

/// A deal's size class: half-decades of its amount in cents, 2 × its digits plus one from
/// 32 on in its first two digits (10–31 cents: 4; 32–99: 5; 100–319: 6; …); `None` for an
/// amount of 0 or less. Integer arithmetic, so that a store's SQL computes the same
/// (`2 * length(c) + (CAST(substr(c, 1, 2) AS INTEGER) >= 32)` on the amount's text).
pub fn size_bucket(cents: i64) -> Option<i64> {
    if cents <= 0 {
        return None;
    }
    let text = cents.to_string();
    let lead: i64 = text[..text.len().min(2)].parse().unwrap_or(0);
    Some(2 * text.len() as i64 + i64::from(lead >= 32))
}

/// The smallest amount in cents of a [`size_bucket`].
pub fn size_bucket_floor(bucket: i64) -> i64 {
    let digits = (bucket / 2).clamp(1, 18) as u32;
    let base = 10i64.pow(digits - 1);
    match (bucket % 2, digits) {
        (0, _) => base,
        (_, 1) => 10,
        _ => 32 * base / 10,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Half-decades of cents, and each class's smallest amount: the same rule a store's
    /// SQL applies to the amount's text.
    #[test]
    fn size_classes_are_half_decades() {
        for (cents, class) in [
            (1, 2),
            (9, 2),
            (10, 4),
            (31, 4),
            (32, 5),
            (99, 5),
            (100, 6),
            (319, 6),
            (320, 7),
            (1_000_000, 14),
        ] {
            assert_eq!(size_bucket(cents), Some(class), "{cents}");
            assert!(size_bucket_floor(class) <= cents, "{cents}");
        }
        assert_eq!(size_bucket(0), None);
        assert_eq!(size_bucket(-5), None);
        assert_eq!(size_bucket_floor(7), 320);
        assert_eq!(size_bucket_floor(14), 1_000_000);
    }
}
