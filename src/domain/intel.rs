//! Customer intelligence as stored by a recompute: what each customer's RFM segment,
//! value tier, churn risk, predicted value, need and next offers were on the day it ran.

use super::Money;
use serde::{Deserialize, Serialize};

/// A product to offer, with the reason in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferLine {
    pub product: String,
    pub reason: String,
}

/// The product family a customer is likely to buy next, and the tree's rule that led there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeedLine {
    pub family: String,
    /// The share of the leaf's examples that bought this family next.
    pub share: f64,
    /// The conditions, root first, joined with " and ".
    pub rule: String,
}

/// One customer's stored values. A customer without orders on the run's day has a
/// segment, tier and value of `None` (nothing to value them on); offers are still made
/// (the popular products).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CustomerIntel {
    pub customer_id: i64,
    /// The day the values are as of (YYYY-MM-DD).
    pub as_of: String,
    pub segment: Option<String>,
    /// A, B or C.
    pub tier: Option<String>,
    pub p_alive: Option<f64>,
    /// 1 − P(alive).
    pub churn_risk: Option<f64>,
    /// Over the next 365 days.
    pub expected_purchases: Option<f64>,
    /// Over the next 365 days.
    pub predicted_value: Option<Money>,
    /// Net revenue up to the run's day.
    pub lifetime_value: Option<Money>,
    pub need: Option<NeedLine>,
    pub offers: Vec<OfferLine>,
}

/// A recompute of the customer intelligence, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntelRun {
    pub id: i64,
    pub created_at: String,
    pub as_of: String,
    /// The segment run it made (none when there were too few buyers to segment).
    pub segment_run_id: Option<i64>,
    /// Customers written (every customer in the database).
    pub customers: usize,
    /// Customers with a predicted value.
    pub valued: usize,
    /// What could not be computed, and why, one sentence each.
    pub notes: Vec<String>,
}
