//! Customer segments: the order ledger read for them, and the runs stored.

use serde::Serialize;

/// One order of the ledger as segmentation reads it (refunds are negative amounts).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerLine {
    pub customer_id: i64,
    /// YYYY-MM-DD.
    pub ordered_on: String,
    pub amount_cents: i64,
    pub product_id: Option<i64>,
}

/// A segment of one run: its name, what it looks like (medians of its members) and its
/// weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentProfile {
    pub name: String,
    pub description: String,
    pub customers: usize,
    /// Net revenue of its members up to the run's day, in cents.
    pub revenue_cents: i64,
    pub recency_days: f64,
    pub frequency: f64,
    pub monetary_cents: f64,
    pub tenure_days: f64,
    pub breadth: f64,
}

/// A run to store: the profiles and which profile (by index) each customer is in.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegmentRun {
    pub as_of: String,
    pub created_at: String,
    pub k: usize,
    pub silhouette: f64,
    pub adjusted_rand_min: Option<f64>,
    pub profiles: Vec<SegmentProfile>,
    pub members: Vec<(i64, usize)>,
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentRun {
    pub id: i64,
    pub as_of: String,
    pub created_at: String,
    pub k: usize,
    pub silhouette: f64,
    pub adjusted_rand_min: Option<f64>,
    pub profiles: Vec<SegmentProfile>,
}

/// A customer's segment in one run, for its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentHistory {
    pub run_id: i64,
    pub as_of: String,
    pub segment: String,
}

/// Customers that moved between two runs: from one segment to another, how many.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentMove {
    pub from: String,
    pub to: String,
    pub customers: usize,
}
