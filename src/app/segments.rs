//! Customer segments: computed from the order ledger, stored as a run, compared with the
//! run before.

use super::Db;
use crate::analytics::segments as seg;
use crate::domain::segments::{NewSegmentRun, SegmentHistory, SegmentMove, SegmentRun};
use crate::store::StoreError;
use chrono::NaiveDate;

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error(
        "{buyers} customers have orders up to {as_of}: at least 10 are needed to find segments"
    )]
    TooFew { buyers: usize, as_of: NaiveDate },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many k-means seeds the stability check compares.
pub const STABILITY_SEEDS: usize = seg::SEEDS.len();

/// A stored run with what was learned making it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentReport {
    pub run: SegmentRun,
    /// Customers placed in a segment (those with at least one order).
    pub customers: usize,
    /// The silhouette of each k tried.
    pub tried: Vec<(usize, f64)>,
    /// The run compared with, and who moved since.
    pub previous_run: Option<i64>,
    pub moves: Vec<SegmentMove>,
}

/// Segments the customers as of `today` and stores the run. With `evaluate`, the
/// clustering is repeated with five seeds and the lowest adjusted Rand index between
/// them stored with the run.
pub fn run(
    store: &mut Db,
    today: NaiveDate,
    evaluate: bool,
) -> Result<SegmentReport, SegmentError> {
    let as_of = today.format("%Y-%m-%d").to_string();
    let ledger = store.order_ledger(&as_of)?;
    let Some(s) = seg::segment(&ledger, today, evaluate) else {
        let buyers = seg::rfm(&ledger, today).len();
        return Err(SegmentError::TooFew {
            buyers,
            as_of: today,
        });
    };
    let id = store.save_segment_run(&NewSegmentRun {
        as_of,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        k: s.k,
        silhouette: s.silhouette,
        adjusted_rand_min: s.adjusted_rand_min,
        profiles: s.profiles,
        members: s.members.clone(),
    })?;
    let run = store
        .segment_run(Some(id))?
        .expect("the run was just stored");
    let previous_run = store.previous_segment_run(id)?;
    let moves = match previous_run {
        Some(p) => store.segment_moves(p, id)?,
        None => Vec::new(),
    };
    Ok(SegmentReport {
        run,
        customers: s.members.len(),
        tried: s.tried,
        previous_run,
        moves,
    })
}

/// A customer's segment in every run, oldest first.
pub fn history(store: &Db, customer_id: i64) -> Result<Vec<SegmentHistory>, StoreError> {
    store.segment_history(customer_id)
}
