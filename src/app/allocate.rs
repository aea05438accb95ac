//! `funnel plan allocate`: each rep's selling hours in a period given to the rep's accounts
//! by linear programming (see `analytics::allocation`), compared with the greedy rule.

use super::Db;
/// The curve and bounds of the allocation (see `analytics::allocation`).
pub use crate::analytics::allocation::Params;
use crate::analytics::allocation::{self, Account};
use crate::domain::date::iso;
use crate::domain::Period;
use crate::store::StoreError;
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// One rep's part of the allocation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RepPart {
    pub rep: String,
    pub hours: f64,
    pub used: f64,
    pub accounts: usize,
    /// Expected revenue of the LP's allocation and of the greedy one, in cents.
    pub lp_cents: i64,
    pub greedy_cents: i64,
    /// What one more hour is worth (the shadow price of the capacity), in cents.
    pub hour_cents: i64,
    /// Whether the capacity is used to the last hour.
    pub binding: bool,
    /// Hours the minimum touches need when the capacity cannot give them (not planned).
    pub short_of: Option<f64>,
}

/// One account's hours.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountPart {
    pub rep: String,
    pub customer_id: i64,
    pub customer: String,
    /// Weighted open pipeline plus the period's share of predicted purchases, in cents.
    pub at_stake_cents: i64,
    pub hours: f64,
    pub greedy_hours: f64,
    pub expected_cents: i64,
    /// "minimum" or "maximum" when that bound holds it.
    pub bound: Option<&'static str>,
}

/// The allocation of a period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Allocated {
    pub period: String,
    /// Working days left in the period (from today) and selling hours a day per full-time
    /// rep.
    pub days: i64,
    pub hours_per_day: f64,
    pub params: Params,
    pub reps: Vec<RepPart>,
    /// By rep, then most hours first.
    pub accounts: Vec<AccountPart>,
    pub lp_cents: i64,
    pub greedy_cents: i64,
    pub solve_ms: f64,
    /// Customers (not churned) without an owner: no rep's account, so no hours.
    pub unowned: usize,
}

/// Mondays to Fridays from `from` to the day before `to`.
fn working_days(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            n += 1;
        }
        d += Duration::days(1);
    }
    n
}

/// Allocates every rep's hours in `period` (from `today` when the period has begun) to the
/// rep's accounts (customers not churned; active ones get the minimum touch, prospects
/// only what their value earns).
pub fn allocate(
    store: &Db,
    period: Period,
    today: NaiveDate,
    hours_per_day: f64,
    params: &Params,
) -> Result<Allocated, StoreError> {
    let from = period.start().max(today);
    let to = period.end_exclusive();
    if from >= to {
        return Err(StoreError::Invalid(format!(
            "{period} is over (today is {today}): allocate a period still to come"
        )));
    }
    let days = working_days(from, to);
    let share = (to - from).num_days() as f64 / 365.0;
    let reps = store.plan_customers_all(&iso(today))?;
    let capacity: Vec<f64> = reps
        .iter()
        .map(|r| r.capacity * days as f64 * hours_per_day)
        .collect();
    let mut accounts = Vec::new();
    let mut who = Vec::new();
    for (i, r) in reps.iter().enumerate() {
        for c in &r.customers {
            let cents = c.weighted_pipeline_cents as f64
                + c.predicted_value_cents.unwrap_or(0).max(0) as f64 * share;
            accounts.push((i, c.status == "active", cents));
            who.push(c);
        }
    }
    let lp_accounts: Vec<Account> = accounts
        .iter()
        .map(|(rep, active, cents)| Account {
            rep: *rep,
            value: *cents / 100.0,
            touch: *active,
        })
        .collect();
    let started = std::time::Instant::now();
    let a = allocation::solve(&lp_accounts, &capacity, params).map_err(StoreError::Invalid)?;
    let solve_ms = started.elapsed().as_secs_f64() * 1000.0;
    let g = allocation::greedy(&lp_accounts, &capacity, params);
    let cents = |v: f64| (v * 100.0).round() as i64;
    let mut rep_parts: Vec<RepPart> = reps
        .iter()
        .enumerate()
        .map(|(i, r)| RepPart {
            rep: r.rep.clone(),
            hours: capacity[i],
            used: a.used[i],
            accounts: r.customers.len(),
            lp_cents: 0,
            greedy_cents: 0,
            hour_cents: cents(a.shadow[i]),
            binding: a.used[i] >= capacity[i] - 1e-6 && !r.customers.is_empty(),
            short_of: a.short.iter().find(|(s, _)| *s == i).map(|(_, n)| *n),
        })
        .collect();
    let mut parts = Vec::with_capacity(accounts.len());
    for (n, ((acc, c), (h, gh))) in lp_accounts
        .iter()
        .zip(&who)
        .zip(a.hours.iter().zip(&g))
        .enumerate()
    {
        let lp = allocation::returns(acc.value, *h, params);
        let planned = rep_parts[acc.rep].short_of.is_none();
        rep_parts[acc.rep].lp_cents += cents(lp);
        if planned {
            rep_parts[acc.rep].greedy_cents += cents(allocation::returns(acc.value, *gh, params));
        }
        let bound = if !planned {
            None
        } else if *h >= params.max_hours - 1e-6 {
            Some("maximum")
        } else if acc.touch && *h <= params.min_touch + 1e-6 {
            Some("minimum")
        } else {
            None
        };
        parts.push(AccountPart {
            rep: reps[acc.rep].rep.clone(),
            customer_id: c.id,
            customer: c.name.clone(),
            at_stake_cents: accounts[n].2.round() as i64,
            hours: *h,
            greedy_hours: if planned { *gh } else { 0.0 },
            expected_cents: cents(lp),
            bound,
        });
    }
    parts.sort_by(|x, y| {
        x.rep
            .cmp(&y.rep)
            .then(y.hours.total_cmp(&x.hours))
            .then(y.at_stake_cents.cmp(&x.at_stake_cents))
    });
    Ok(Allocated {
        period: period.to_string(),
        days,
        hours_per_day,
        params: *params,
        lp_cents: rep_parts.iter().map(|r| r.lp_cents).sum(),
        greedy_cents: rep_parts.iter().map(|r| r.greedy_cents).sum(),
        reps: rep_parts,
        accounts: parts,
        solve_ms,
        unowned: store.customers_without_owner()?.len(),
    })
}
