//! A deal's path through the funnel, as the funnel analytics read it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Open,
    Won,
    Lost,
}

/// One deal's path through the funnel. Stage indices: the open stages in order `0..k`,
/// `k` for won; entries into a lost stage are not listed (the outcome says it).
#[derive(Debug, Clone, PartialEq)]
pub struct DealPath {
    pub created: i64,
    /// (stage index, day entered), in time order.
    pub entries: Vec<(usize, i64)>,
    pub outcome: Outcome,
    pub closed: Option<i64>,
    pub amount: f64,
    /// The owner's group (a team index) when the caller compares groups.
    pub group: Option<usize>,
}

impl DealPath {
    /// The furthest stage reached: `k` when won.
    pub fn furthest(&self, k: usize) -> Option<usize> {
        if self.outcome == Outcome::Won {
            return Some(k);
        }
        self.entries.iter().map(|e| e.0).filter(|s| *s < k).max()
    }
}

/// An open deal with how long it has sat in its stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenInStage {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub customer: String,
    pub owner: Option<String>,
    pub stage_id: i64,
    pub amount_cents: i64,
    pub days_in_stage: i64,
}
