//! Customer intelligence, recomputed with the forecasts (`funnel recompute`, `R`): each
//! customer's RFM segment, value tier, P(alive), predicted value and lifetime revenue,
//! predicted need and top offers, stored so that the customer list sorts and filters on
//! them and the detail shows them without computing anything.

use super::Db;
use crate::analytics::segments as seg;
use crate::domain::intel::{CustomerIntel, IntelRun, NeedLine, OfferLine};
use crate::domain::segments::NewSegmentRun;
use crate::domain::Money;
use crate::store::intel::NewIntelRun;
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

/// How many offers are kept per customer.
pub const OFFERS: usize = 3;

/// What a recompute stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntelSummary {
    pub run: IntelRun,
    /// The segments' names and sizes, largest revenue first.
    pub segments: Vec<(String, usize)>,
    /// Customers with a predicted need.
    pub with_need: usize,
}

/// Recomputes every customer's intelligence as of `today` and stores it in one
/// transaction with the segment run it made (a run as `funnel segments` stores it). What
/// cannot be computed on this data — too few buyers to segment, no repeat buyers to fit
/// lifetime value on, too little history for needs — is left empty and said in the run's
/// notes; the rest is still stored.
pub fn recompute(
    store: &mut Db,
    today: NaiveDate,
    progress: &mut dyn FnMut(&str, f64),
) -> Result<IntelSummary, StoreError> {
    let as_of = today.format("%Y-%m-%d").to_string();
    progress("reading the order ledger", 0.0);
    let ledger = store.order_ledger(&as_of)?;
    let mut notes = Vec::new();
    let mut rows: HashMap<i64, CustomerIntel> = store
        .customer_labels()?
        .into_keys()
        .map(|id| {
            (
                id,
                CustomerIntel {
                    customer_id: id,
                    as_of: as_of.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();
    for l in &ledger {
        if let Some(r) = rows.get_mut(&l.customer_id) {
            let v = r.lifetime_value.get_or_insert(Money(0));
            v.0 += l.amount_cents;
        }
    }

    progress("segments", 0.1);
    let mut segments = Vec::new();
    let segment_run = match seg::segment(&ledger, today, false) {
        Some(s) => {
            for &(id, p) in &s.members {
                if let Some(r) = rows.get_mut(&id) {
                    r.segment = Some(s.profiles[p].name.clone());
                }
            }
            segments = s
                .profiles
                .iter()
                .map(|p| (p.name.clone(), p.customers))
                .collect();
            Some(NewSegmentRun {
                as_of: as_of.clone(),
                created_at: now(),
                k: s.k,
                silhouette: s.silhouette,
                adjusted_rand_min: None,
                profiles: s.profiles,
                members: s.members,
            })
        }
        None => {
            notes.push(format!(
                "segments: {} customers have orders up to {as_of}; at least 10 are needed",
                seg::rfm(&ledger, today).len()
            ));
            None
        }
    };

    progress("lifetime value", 0.35);
    match super::clv::value_ledger(&ledger, today) {
        Ok(report) => {
            for v in report.customers {
                if let Some(r) = rows.get_mut(&v.customer_id) {
                    r.tier = Some(v.tier.to_string());
                    r.p_alive = Some(v.p_alive);
                    r.churn_risk = Some(v.churn_risk);
                    r.expected_purchases = Some(v.expected_purchases);
                    r.predicted_value = Some(Money::from_units(v.predicted_value));
                }
            }
        }
        Err(e) => notes.push(format!("lifetime value: {e}")),
    }

    progress("offers", 0.5);
    let ids: Vec<i64> = rows.keys().copied().collect();
    let offers = super::recommend::offers_all(store, &ledger, today, ids.into_iter(), OFFERS)?;
    for (id, list) in offers {
        if let Some(r) = rows.get_mut(&id) {
            r.offers = list
                .into_iter()
                .map(|o| OfferLine {
                    product: o.product,
                    reason: o.reason,
                })
                .collect();
        }
    }

    progress("needs", 0.6);
    let needs = super::needs::predict_ledger(store, today, ledger)?;
    let mut with_need = 0;
    match needs {
        Some(needs) => {
            for (id, n) in needs {
                let (Some(r), Some((family, share))) = (rows.get_mut(&id), n.ranked.first()) else {
                    continue;
                };
                r.need = Some(NeedLine {
                    family: family.clone(),
                    share: *share,
                    rule: n.rule.join(" and "),
                });
                with_need += 1;
            }
        }
        None => notes.push(format!(
            "needs: {}",
            super::needs::NeedsError::TooLittle(today)
        )),
    }

    progress("saving", 0.9);
    let mut customers: Vec<CustomerIntel> = rows.into_values().collect();
    customers.sort_by_key(|c| c.customer_id);
    let id = store.save_intel_run(&NewIntelRun {
        created_at: now(),
        as_of,
        segments: segment_run,
        notes,
        customers,
    })?;
    let run = store
        .last_intel_run()?
        .filter(|r| r.id == id)
        .ok_or_else(|| StoreError::Invalid("the stored intelligence run is gone".into()))?;
    progress("done", 1.0);
    Ok(IntelSummary {
        run,
        segments,
        with_need,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The last recompute's record (`None` before the first).
pub fn last_run(store: &Db) -> Result<Option<IntelRun>, StoreError> {
    store.last_intel_run()
}

/// What the Segments screen shows: the last recompute, its segment run with profiles,
/// who moved since the run before, and the value tiers.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Overview {
    pub run: Option<IntelRun>,
    pub segments: Option<crate::domain::segments::SegmentRun>,
    /// The segment run compared with (the one before), if any.
    pub previous_run: Option<i64>,
    pub moves: Vec<crate::domain::segments::SegmentMove>,
    /// (tier, customers, predicted value over the next year), A first.
    pub tiers: Vec<(String, usize, Money)>,
}

/// The Segments screen's data, read from what the last recompute stored.
pub fn overview(store: &Db) -> Result<Overview, StoreError> {
    let Some(run) = store.last_intel_run()? else {
        return Ok(Overview::default());
    };
    let segments = match run.segment_run_id {
        Some(id) => store.segment_run(Some(id))?,
        None => None,
    };
    let previous_run = match &segments {
        Some(s) => store.previous_segment_run(s.id)?,
        None => None,
    };
    let moves = match (previous_run, &segments) {
        (Some(p), Some(s)) => store.segment_moves(p, s.id)?,
        _ => Vec::new(),
    };
    Ok(Overview {
        tiers: store.intel_tiers()?,
        run: Some(run),
        segments,
        previous_run,
        moves,
    })
}
