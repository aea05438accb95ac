//! What customers buy together, and what to offer each next, with the reason in words.

use super::Db;
use crate::analytics::baskets::{self, HitRates, Rule};
use crate::store::StoreError;
pub use baskets::Per;
use chrono::NaiveDate;
use std::collections::{BTreeSet, HashMap};

/// A rule with its products named.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NamedRule {
    pub bought: String,
    pub also_bought: String,
    pub customers: usize,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// A product to offer a customer, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Offer {
    pub product: String,
    pub score: f64,
    pub reason: String,
}

fn product_names(store: &Db) -> Result<HashMap<i64, String>, StoreError> {
    Ok(store
        .organisation()?
        .products
        .into_iter()
        .map(|p| (p.id, format!("{} ({})", p.name, p.sku)))
        .collect())
}

fn name(names: &HashMap<i64, String>, id: i64) -> String {
    names
        .get(&id)
        .cloned()
        .unwrap_or_else(|| format!("product #{id}"))
}

fn ledger(
    store: &Db,
    day: NaiveDate,
) -> Result<Vec<crate::domain::segments::LedgerLine>, StoreError> {
    store.order_ledger(&day.format("%Y-%m-%d").to_string())
}

/// The rules over every customer's basket up to `today` with at least this support and
/// confidence, highest lift first; and how many baskets there were.
pub fn associations(
    store: &Db,
    today: NaiveDate,
    min_support: f64,
    min_confidence: f64,
    per: baskets::Per,
) -> Result<(usize, Vec<NamedRule>), StoreError> {
    let names = product_names(store)?;
    let lines = ledger(store, today)?;
    let counts = match per {
        baskets::Per::Customer => baskets::count(&baskets::baskets(&lines, None, today)),
        baskets::Per::Order => baskets::count(&baskets::order_baskets(&lines, today)),
    };
    let rules = counts
        .rules(min_support, min_confidence)
        .into_iter()
        .map(|r| NamedRule {
            bought: name(&names, r.antecedent),
            also_bought: name(&names, r.consequent),
            customers: r.customers,
            support: r.support,
            confidence: r.confidence,
            lift: r.lift,
        })
        .collect();
    Ok((counts.baskets, rules))
}

fn reason(names: &HashMap<i64, String>, rule: &Rule) -> String {
    let a = name(names, rule.antecedent);
    format!(
        "bought {a}; {:.0}% of its buyers also bought {}, lift {:.1}",
        rule.confidence * 100.0,
        name(names, rule.consequent),
        rule.lift
    )
}

fn offer(
    names: &HashMap<i64, String>,
    owned: &BTreeSet<i64>,
    r: &baskets::Recommendation,
) -> Offer {
    Offer {
        product: name(names, r.product),
        score: r.score,
        reason: match &r.because {
            Some(rule) => reason(names, rule),
            None => format!(
                "popular: bought by {:.0}% of customers{}",
                r.score * 100.0,
                if owned.is_empty() {
                    " (this customer has no orders yet)"
                } else {
                    ""
                }
            ),
        },
    }
}

/// The `k` offers of each of `customers` from a ledger already read.
pub(super) fn offers_all(
    store: &Db,
    lines: &[crate::domain::segments::LedgerLine],
    today: NaiveDate,
    customers: impl Iterator<Item = i64>,
    k: usize,
) -> Result<HashMap<i64, Vec<Offer>>, StoreError> {
    let names = product_names(store)?;
    let all = baskets::baskets(lines, None, today);
    let counts = baskets::count(&all);
    let none = BTreeSet::new();
    Ok(customers
        .map(|id| {
            let owned = all.get(&id).unwrap_or(&none);
            let offers = baskets::recommend(&counts, owned, k)
                .iter()
                .map(|r| offer(&names, owned, r))
                .collect();
            (id, offers)
        })
        .collect())
}

/// The `k` products to offer the customer next (none it already has), each with its reason.
pub fn offers(
    store: &Db,
    customer_id: i64,
    today: NaiveDate,
    k: usize,
) -> Result<Vec<Offer>, StoreError> {
    let names = product_names(store)?;
    let all = baskets::baskets(&ledger(store, today)?, None, today);
    let counts = baskets::count(&all);
    let owned = all.get(&customer_id).cloned().unwrap_or_else(BTreeSet::new);
    Ok(baskets::recommend(&counts, &owned, k)
        .iter()
        .map(|r| offer(&names, &owned, r))
        .collect())
}

/// Hit rates @3 and @5 on a time split (rules learned on the orders up to
/// `calibration_end`, scored on the products new to each customer after it), against
/// popularity.
pub fn evaluate(
    store: &Db,
    calibration_end: NaiveDate,
    end: NaiveDate,
) -> Result<HitRates, StoreError> {
    Ok(baskets::evaluate(
        &ledger(store, end)?,
        calibration_end,
        end,
    ))
}
