//! The agenda: follow-ups due or overdue, and customers past their contact interval.

use chrono::NaiveDate;

/// Whose agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgendaScope {
    Rep(String),
    /// A team and every team under it.
    Team(String),
    All,
}

/// One line of the agenda: an open activity, or a customer to contact.
#[derive(Debug, Clone, PartialEq)]
pub struct AgendaItem {
    /// The open activity (none for a contact that is overdue).
    pub activity_id: Option<i64>,
    pub activity: Option<String>,
    /// Due on; for a contact overdue, the day the next contact was due.
    pub due_on: NaiveDate,
    pub kind: String,
    pub subject: String,
    pub customer_id: i64,
    pub customer: String,
    pub customer_external_id: Option<String>,
    pub city: Option<String>,
    pub rep: Option<String>,
    /// The deal the activity is tied to.
    pub deal: Option<String>,
}

/// An open activity and the customer it is for.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenActivity {
    pub id: i64,
    pub external_id: Option<String>,
    pub due_on: String,
    pub kind: String,
    pub subject: Option<String>,
    pub customer_id: i64,
    pub customer: String,
    pub customer_external_id: Option<String>,
    pub city: Option<String>,
    pub rep: Option<String>,
    pub deal: Option<String>,
}

/// A customer with its own contact interval and its last contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactDue {
    pub customer_id: i64,
    pub customer: String,
    pub customer_external_id: Option<String>,
    pub city: Option<String>,
    pub rep: Option<String>,
    /// Its own interval (none: its segment's learned one applies).
    pub every_days: Option<i64>,
    pub segment: Option<String>,
    /// The last contact done (none: never contacted), else the day it became a customer.
    pub last_contact: Option<String>,
    pub created_on: String,
    /// Whether an open activity is already scheduled for it.
    pub scheduled: bool,
}

/// What an agenda command does to an open activity.
#[derive(Debug, Clone, PartialEq)]
pub enum AgendaChange {
    /// Done on that day, with what came of it.
    Complete {
        on: NaiveDate,
        outcome: Option<String>,
    },
    /// Due on another day.
    Snooze { to: NaiveDate },
    /// Another rep's.
    Reassign { rep: String },
}

/// What a rep's customer brings to its visit priority.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanCustomer {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub city: Option<String>,
    pub every_days: Option<i64>,
    pub segment: Option<String>,
    /// The last contact done (none: never).
    pub last_contact: Option<String>,
    pub created_on: String,
    /// Σ amount × stage probability of its open deals, in cents.
    pub weighted_pipeline_cents: i64,
    /// Open deals past their expected close.
    pub stale_deals: i64,
    /// From the last recompute (customer intelligence).
    pub churn_risk: Option<f64>,
    pub predicted_value_cents: Option<i64>,
    pub tier: Option<String>,
    /// prospect or active.
    pub status: String,
}

/// A rep's customers with what their visit priority reads, and the rep's capacity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepCustomers {
    pub rep: String,
    /// 1.0 = one full-time seller.
    pub capacity: f64,
    pub customers: Vec<PlanCustomer>,
}

/// A plan as saved (`funnel plan --save`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SavedPlan {
    pub id: i64,
    pub rep: String,
    pub made_on: String,
    pub saved_at: String,
    pub saved_by: String,
    pub method: String,
    pub first_day: String,
    pub last_day: String,
}

/// A planned contact to save: the day, the customer, its priority then.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanVisit {
    pub day: NaiveDate,
    pub customer_id: i64,
    pub score: f64,
    pub probability: f64,
    pub reasons: String,
}

/// A contact done (an activity other than a note) in a plan's days.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LoggedContact {
    pub customer_id: i64,
    pub customer: String,
    pub done_on: String,
    pub kind: String,
}

/// A saved plan with what was planned and what was logged in its days.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub plan: SavedPlan,
    /// (day, customer id, customer, score, probability), by day.
    pub visits: Vec<(String, i64, String, f64, f64)>,
    /// Contacts done from the plan's first day to its last with the rep's customers or by
    /// the rep, by day.
    pub logged: Vec<LoggedContact>,
}
