//! Automation rules (rules.toml): when a condition holds, then an action.

use serde::Serialize;

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// An open deal longer in its stage than the stage's learned stale threshold.
    DealStale,
    /// A customer past its contact interval (its own or its segment's learned one) with
    /// nothing scheduled.
    ContactOverdue,
    /// A big open deal whose expected close moved later or whose amount fell since the
    /// rule's last run.
    DealSlipped,
    /// A target of a running period projected below a share of itself.
    TargetBelow,
    /// A customer (not churned) without an owner.
    NoOwner,
}

impl When {
    pub const ALL: [(&'static str, When); 5] = [
        ("deal-stale", When::DealStale),
        ("contact-overdue", When::ContactOverdue),
        ("deal-slipped", When::DealSlipped),
        ("target-below", When::TargetBelow),
        ("no-owner", When::NoOwner),
    ];
    pub fn name(self) -> &'static str {
        When::ALL
            .iter()
            .find(|(_, w)| *w == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Then {
    /// A call for the owner (or `to`), due `due_in_days` after the run.
    Task,
    /// An alert on the dashboard until dismissed.
    Alert,
    /// The deal or customer given to the rep `to`.
    Reassign,
}

impl Then {
    pub const ALL: [(&'static str, Then); 3] = [
        ("task", Then::Task),
        ("alert", Then::Alert),
        ("reassign", Then::Reassign),
    ];
    pub fn name(self) -> &'static str {
        Then::ALL
            .iter()
            .find(|(_, w)| *w == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// One rule as rules.toml gives it, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    pub when: When,
    pub then: Then,
    /// Tasks: due this many days after the run.
    pub due_in_days: i64,
    /// deal-stale, deal-slipped: deals of at least this amount (cents).
    pub min_amount_cents: Option<i64>,
    /// target-below: projected attainment below this share (0.8 = 80%).
    pub level: f64,
    /// reassign: the rep; task on a customer without owner: whose task.
    pub to: Option<String>,
    /// The line of its `[[rule]]` in the file.
    pub line: usize,
}

/// A condition found true: what it is about, and its key (one action per rule and key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub key: String,
    pub message: String,
    pub customer_id: Option<i64>,
    pub deal_id: Option<i64>,
}

/// An action to write (the run's hits that no earlier run acted on).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleAction {
    pub rule: String,
    pub then: Then,
    pub hit: Hit,
    /// Tasks: the due day (YYYY-MM-DD).
    pub due_on: Option<String>,
    /// Reassign (and tasks for a customer without owner): the rep.
    pub to: Option<String>,
}

/// A big open deal as a deal-slipped rule reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedDeal {
    pub id: i64,
    pub name: String,
    pub customer_id: i64,
    pub customer: String,
    pub expected_close: Option<String>,
    pub amount_cents: i64,
}

/// One rule's run as `funnel rules list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRun {
    pub rule: String,
    pub ran_at: String,
    pub as_of: String,
    pub dry_run: bool,
    pub matched: i64,
    pub acted: i64,
    pub summary: String,
}

/// An alert a rule raised, until dismissed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub message: String,
    pub created_at: String,
    pub customer_id: Option<i64>,
    pub deal_id: Option<i64>,
}
