//! What win-probability scoring knows of a deal.

use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq)]
pub struct DealFacts {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub customer: String,
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub amount_cents: i64,
    pub created_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    /// `Some(true)` won, `Some(false)` lost, `None` open.
    pub outcome: Option<bool>,
    pub stage: String,
    pub segment: Option<String>,
    pub source: Option<String>,
    pub product: Option<String>,
}
