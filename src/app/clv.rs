//! Customer lifetime value and churn risk: BG/NBD and Gamma-Gamma fitted on the order
//! ledger, each customer's expected purchases and value over the next year, value tiers,
//! and the evaluation on a time split.

use super::Db;
use crate::analytics::clv::{self, BgNbd, GammaGamma, Summary};
use crate::store::StoreError;
use chrono::NaiveDate;
use serde::Serialize;

/// The horizon of predicted value, in days.
pub const HORIZON_DAYS: f64 = 365.0;

#[derive(Debug, thiserror::Error)]
pub enum ClvError {
    #[error("{0}")]
    Usage(String),
    #[error("the models cannot be fitted on the orders up to {end}: {why}")]
    CannotFit { end: NaiveDate, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One customer's value.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerValue {
    pub customer_id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub frequency: f64,
    pub recency_days: f64,
    pub age_days: f64,
    pub p_alive: f64,
    /// 1 − P(alive).
    pub churn_risk: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
    /// Expected purchases × expected spend over the next `HORIZON_DAYS`.
    pub predicted_value: f64,
    /// A (top 20% by predicted value), B (next 30%), C (the rest).
    pub tier: char,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClvReport {
    pub as_of: String,
    pub bgnbd: BgNbd,
    pub gamma_gamma: GammaGamma,
    /// Highest predicted value first.
    pub customers: Vec<CustomerValue>,
}

fn fit(data: &[Summary], end: NaiveDate) -> Result<(BgNbd, GammaGamma), ClvError> {
    let bg = clv::fit_bgnbd(data).ok_or(ClvError::CannotFit {
        end,
        why: "no customer has bought twice",
    })?;
    let gg = clv::fit_gamma_gamma(data).ok_or(ClvError::CannotFit {
        end,
        why: "fewer than two customers have repeat purchases of positive value",
    })?;
    if gg.q <= 1.0 {
        return Err(ClvError::CannotFit {
            end,
            why: "the spend parameter q is at most 1, where the mean spend is undefined",
        });
    }
    Ok((bg, gg))
}

fn value(bg: &BgNbd, gg: &GammaGamma, s: &Summary, days: f64) -> CustomerValue {
    let p_alive = bg.p_alive(s);
    let expected_purchases = bg.expected_purchases(s, days);
    let expected_spend = gg.expected_spend(s);
    CustomerValue {
        customer_id: s.customer_id,
        external_id: None,
        name: String::new(),
        frequency: s.frequency,
        recency_days: s.recency,
        age_days: s.age,
        p_alive,
        churn_risk: 1.0 - p_alive,
        expected_purchases,
        expected_spend,
        predicted_value: expected_purchases * expected_spend,
        tier: 'C',
    }
}

/// Fits the models on every order up to `today` and values each customer who has bought.
pub fn values(store: &Db, today: NaiveDate) -> Result<ClvReport, ClvError> {
    let ledger = store.order_ledger(&today.format("%Y-%m-%d").to_string())?;
    let mut report = value_ledger(&ledger, today)?;
    let labels = store.customer_labels()?;
    for c in &mut report.customers {
        if let Some((ext, name)) = labels.get(&c.customer_id) {
            c.external_id = ext.clone();
            c.name = name.clone();
        }
    }
    Ok(report)
}

/// [`values`] on a ledger already read (customers unnamed).
pub(super) fn value_ledger(
    ledger: &[crate::domain::segments::LedgerLine],
    today: NaiveDate,
) -> Result<ClvReport, ClvError> {
    let data = clv::summarise(ledger, today);
    let (bgnbd, gamma_gamma) = fit(&data, today)?;
    let mut customers: Vec<CustomerValue> = data
        .iter()
        .map(|s| value(&bgnbd, &gamma_gamma, s, HORIZON_DAYS))
        .collect();
    customers.sort_by(|a, b| {
        b.predicted_value
            .total_cmp(&a.predicted_value)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    let n = customers.len();
    for (i, c) in customers.iter_mut().enumerate() {
        c.tier = if i * 5 < n {
            'A'
        } else if i * 2 < n {
            'B'
        } else {
            'C'
        };
    }
    Ok(ClvReport {
        as_of: today.to_string(),
        bgnbd,
        gamma_gamma,
        customers,
    })
}

/// One tenth of the customers by predicted holdout revenue.
#[derive(Debug, Clone, Serialize)]
pub struct Decile {
    pub decile: usize,
    pub customers: usize,
    pub revenue_predicted: f64,
    pub revenue_actual: f64,
}

/// The models fitted on the orders up to `calibration_end`, against what the customers
/// bought from the day after to `end`.
#[derive(Debug, Clone, Serialize)]
pub struct ClvEvaluation {
    pub calibration_end: String,
    pub end: String,
    pub bgnbd: BgNbd,
    pub gamma_gamma: GammaGamma,
    pub customers: usize,
    pub holdout_purchases_actual: f64,
    pub holdout_purchases_predicted: f64,
    pub purchases_mae: f64,
    pub revenue_actual: f64,
    pub revenue_predicted: f64,
    pub revenue_mae: f64,
    pub spearman_revenue: f64,
    pub deciles: Vec<Decile>,
}

/// The time split: fitted only on orders up to `calibration_end` (nothing later is read
/// for the fit), scored on the purchases from the day after to `end`.
pub fn evaluate(
    store: &Db,
    calibration_end: NaiveDate,
    end: NaiveDate,
) -> Result<ClvEvaluation, ClvError> {
    if calibration_end >= end {
        return Err(ClvError::Usage(format!(
            "--calibration-end {calibration_end} must be before the end of the data used ({end}, today or --today)"
        )));
    }
    let ledger = store.order_ledger(&end.format("%Y-%m-%d").to_string())?;
    let data = clv::summarise(&ledger, calibration_end);
    let (bgnbd, gamma_gamma) = fit(&data, calibration_end)?;
    let held = clv::holdout(&ledger, calibration_end, end);
    let days = (end - calibration_end).num_days() as f64;
    let mut rows: Vec<(f64, f64, f64, f64)> = data
        .iter()
        .map(|s| {
            let v = value(&bgnbd, &gamma_gamma, s, days);
            let (bought, revenue) = held.get(&s.customer_id).copied().unwrap_or((0.0, 0.0));
            (v.expected_purchases, bought, v.predicted_value, revenue)
        })
        .collect();
    let n = rows.len().max(1) as f64;
    let sum = |f: fn(&(f64, f64, f64, f64)) -> f64| rows.iter().map(f).sum::<f64>();
    let purchases_mae = rows.iter().map(|r| (r.0 - r.1).abs()).sum::<f64>() / n;
    let revenue_mae = rows.iter().map(|r| (r.2 - r.3).abs()).sum::<f64>() / n;
    let predicted: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let actual: Vec<f64> = rows.iter().map(|r| r.3).collect();
    let spearman_revenue = clv::spearman(&predicted, &actual);
    let (pp, pa, rp, ra) = (sum(|r| r.0), sum(|r| r.1), sum(|r| r.2), sum(|r| r.3));
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    let deciles = (0..10)
        .map(|d| {
            let part = &rows[d * rows.len() / 10..(d + 1) * rows.len() / 10];
            Decile {
                decile: d + 1,
                customers: part.len(),
                revenue_predicted: part.iter().map(|r| r.2).sum(),
                revenue_actual: part.iter().map(|r| r.3).sum(),
            }
        })
        .collect();
    Ok(ClvEvaluation {
        calibration_end: calibration_end.to_string(),
        end: end.to_string(),
        bgnbd,
        gamma_gamma,
        customers: rows.len(),
        holdout_purchases_actual: pa,
        holdout_purchases_predicted: pp,
        purchases_mae,
        revenue_actual: ra,
        revenue_predicted: rp,
        revenue_mae,
        spearman_revenue,
        deciles,
    })
}
