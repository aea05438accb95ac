//! Stored targets and their revisions, as the screens and commands show them.

use super::{TargetMetric, TargetScope};

/// One stored target with the name of its team or rep.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetRow {
    pub id: i64,
    pub scope: TargetScope,
    pub team_id: Option<i64>,
    pub rep_id: Option<i64>,
    /// "Company", the team's or the rep's name.
    pub name: String,
    pub period: String,
    pub metric: TargetMetric,
    /// Cents for revenue, a count otherwise.
    pub value: i64,
}

/// One change of a target: who, when, why, from what to what.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Revision {
    pub id: i64,
    pub target_id: i64,
    /// What the target measures: the values are cents for revenue, counts otherwise.
    pub metric: TargetMetric,
    pub old_value: Option<i64>,
    pub new_value: i64,
    pub changed_at: String,
    pub changed_by: String,
    pub reason: String,
}
