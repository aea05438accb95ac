//! Read models of customers: the list (its rows, filter, sort and keyset cursor) and one
//! customer with contacts, deals, orders and activities.

use super::Money;

/// Which column the list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerSort {
    #[default]
    Name,
    Created,
    City,
    /// Net revenue to the last recompute, highest first.
    LifetimeValue,
    /// Predicted value over the next year, highest first.
    PredictedValue,
    /// Churn risk (1 − P(alive)), highest first.
    ChurnRisk,
}

/// What the list shows: a search over name, email and city, and exact-match filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    pub search: String,
    pub owner: Option<String>,
    pub segment: Option<String>,
    pub status: Option<String>,
    pub region: Option<String>,
    /// The RFM segment of the last recompute (champions, at risk…).
    pub rfm_segment: Option<String>,
    /// The value tier of the last recompute: A, B or C.
    pub tier: Option<String>,
    /// Churn risk at least this many percent.
    pub min_churn_pct: Option<u8>,
    /// Predicted value over the next 12 months at least this (cents).
    pub min_predicted_cents: Option<i64>,
}

impl CustomerFilter {
    /// Whether the filter reads the stored customer intelligence.
    pub fn on_intel(&self) -> bool {
        self.rfm_segment.is_some()
            || self.tier.is_some()
            || self.min_churn_pct.is_some()
            || self.min_predicted_cents.is_some()
    }
}

/// One line of the customer list.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub owner: Option<String>,
    pub segment: Option<String>,
    pub status: String,
    pub city: Option<String>,
    pub open_pipeline: Money,
    pub last_contact: Option<String>,
    /// From the last recompute (none before one, or for a customer without orders then).
    pub rfm_segment: Option<String>,
    pub tier: Option<String>,
    pub churn_risk: Option<f64>,
    pub predicted_value: Option<Money>,
    pub lifetime_value: Option<Money>,
    /// The value of the sort column, for the next page's keyset.
    pub sort_key: SortKey,
}

/// The value of a sort column.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Text(String),
    Int(i64),
    Real(f64),
}

/// Where a page starts: after (or before) this row in the list order.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub sort_key: SortKey,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDirection {
    /// Rows after the cursor (or from the start).
    Forward,
    /// Rows before the cursor (or from the end), returned in list order.
    Backward,
}

/// A contact on the detail view.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactLine {
    pub id: i64,
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub primary: bool,
    /// The row's version when read (see `audit::row_version`).
    pub version: i64,
}

/// A deal on the detail view: (name, stage, stage kind, amount, expected close, closed on).
pub type DealLine = (
    String,
    String,
    String,
    Money,
    Option<String>,
    Option<String>,
);

/// An activity on the timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityLine {
    pub id: i64,
    /// Done on, or due on while not done.
    pub date: String,
    pub kind: String,
    pub subject: Option<String>,
    pub outcome: Option<String>,
    pub rep: Option<String>,
    pub done: bool,
}

/// Everything the customer detail view shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerDetail {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub owner: Option<String>,
    pub industry: Option<String>,
    pub segment: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: String,
    pub contact_every_days: Option<i64>,
    pub created_on: String,
    /// The row's version when read (see `audit::row_version`).
    pub version: i64,
    pub contacts: Vec<ContactLine>,
    /// (name, stage, stage kind, amount, expected close, closed on), newest first.
    pub deals: Vec<DealLine>,
    /// (date, amount, product), newest first.
    pub orders: Vec<(String, Money, Option<String>)>,
    /// (done or due date, kind, subject, outcome, rep, done), newest first.
    pub activities: Vec<ActivityLine>,
    pub lifetime_revenue: Money,
    /// The values of the last recompute (none before the first).
    pub intel: Option<super::intel::CustomerIntel>,
    /// The customer's RFM segment in every stored run, oldest first.
    pub segment_history: Vec<super::segments::SegmentHistory>,
}

/// The names a form's pickers choose from (small lists: the organisation and the regions
/// in use).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PickLists {
    pub reps: Vec<String>,
    pub teams: Vec<String>,
    pub products: Vec<String>,
    pub product_skus: Vec<String>,
    pub regions: Vec<String>,
    pub open_stages: Vec<String>,
}

impl CustomerSort {
    pub fn next(self) -> CustomerSort {
        match self {
            CustomerSort::Name => CustomerSort::Created,
            CustomerSort::Created => CustomerSort::City,
            CustomerSort::City => CustomerSort::LifetimeValue,
            CustomerSort::LifetimeValue => CustomerSort::PredictedValue,
            CustomerSort::PredictedValue => CustomerSort::ChurnRisk,
            CustomerSort::ChurnRisk => CustomerSort::Name,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CustomerSort::Name => "name",
            CustomerSort::Created => "created",
            CustomerSort::City => "city",
            CustomerSort::LifetimeValue => "lifetime value ↓",
            CustomerSort::PredictedValue => "predicted value ↓",
            CustomerSort::ChurnRisk => "churn risk ↓",
        }
    }
    /// Whether the list runs from the highest value down (the value sorts).
    pub fn descending(self) -> bool {
        matches!(
            self,
            CustomerSort::LifetimeValue | CustomerSort::PredictedValue | CustomerSort::ChurnRisk
        )
    }
    /// Whether the sort reads the stored customer intelligence.
    pub fn on_intel(self) -> bool {
        self.descending()
    }
}
