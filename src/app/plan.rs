//! Visit priority, explained, and the visit plan: each customer of a rep gets a score
//! from documented factors, the scores become visit probabilities with a softmax, and
//! the plan draws the days' visits by them without replacement (or takes the top ones).

use super::Db;
use crate::analytics::visits;
use crate::domain::agenda::{LoggedContact, PlanCustomer, PlanVisit, SavedPlan};
use crate::domain::audit::Actor;
use crate::domain::date::iso;
use crate::domain::Money;
use crate::store::StoreError;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::SeedableRng;

/// The weight of each factor in the score (each factor is between 0 and 1) and the
/// softmax temperature. Defaults; `[priority]` in config.toml changes them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Weights {
    pub overdue: f64,
    pub value: f64,
    pub pipeline: f64,
    pub stale: f64,
    pub churn: f64,
    pub alpha: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            overdue: 0.30,
            value: 0.25,
            pipeline: 0.25,
            stale: 0.10,
            churn: 0.10,
            alpha: 5.0,
        }
    }
}

impl Weights {
    /// The names `[priority]` in config.toml takes.
    pub const KEYS: [&'static str; 6] = ["overdue", "value", "pipeline", "stale", "churn", "alpha"];

    /// The defaults with the `[priority]` table's numbers (a key it does not know, or a
    /// value that is not a number of 0 or more, is an error naming it).
    pub fn from_table(table: Option<&toml::Table>) -> Result<Weights, String> {
        let mut w = Weights::default();
        let Some(t) = table else { return Ok(w) };
        for (k, v) in t {
            let x = v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|x| *x >= 0.0 && x.is_finite())
                .ok_or_else(|| format!("[priority] {k}: a number of 0 or more"))?;
            match k.as_str() {
                "overdue" => w.overdue = x,
                "value" => w.value = x,
                "pipeline" => w.pipeline = x,
                "stale" => w.stale = x,
                "churn" => w.churn = x,
                "alpha" => w.alpha = x,
                _ => {
                    return Err(format!(
                        "[priority] {k}: unknown (known: {})",
                        Weights::KEYS.join(", ")
                    ))
                }
            }
        }
        Ok(w)
    }
}

/// One customer's priority: the score, its visit probability among the rep's customers,
/// and each factor's contribution in words.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scored {
    pub customer_id: i64,
    pub customer: String,
    pub external_id: Option<String>,
    pub city: Option<String>,
    pub score: f64,
    pub probability: f64,
    pub reasons: Vec<String>,
}

/// The factors of a rep's customers, each between 0 and 1, and the words for them:
/// - overdue: days past the next contact by its interval, over the interval, capped at 1
///   (its own interval, else its segment's learned one — see `agenda::learned_intervals`;
///   a customer never contacted counts from the day it became a customer; no interval: 0);
/// - value: predicted value over the next 12 months over the rep's largest (the last
///   recompute's; none: 0);
/// - pipeline: open weighted pipeline (amount × stage probability) over the rep's largest;
/// - stale: open deals past their expected close, 3 or more counting 1;
/// - churn: churn risk (1 − P(alive)) of the last recompute.
fn factors(
    c: &PlanCustomer,
    today: NaiveDate,
    (max_value, max_pipe): (i64, i64),
    learned: &Learned,
) -> [(f64, String); 5] {
    let own = c.every_days.filter(|d| *d > 0);
    let every = own.or_else(|| c.segment.as_ref().and_then(|s| learned.get(s).copied()));
    let overdue = every.and_then(|every| {
        let since = c.last_contact.as_deref().unwrap_or(&c.created_on);
        let since = NaiveDate::parse_from_str(since, "%Y-%m-%d").ok()?;
        let late = (today - (since + Duration::days(every))).num_days();
        (late > 0).then(|| {
            let f = (late as f64 / every as f64).min(1.0);
            let whose = if own.is_some() {
                ""
            } else {
                ", learned for its segment"
            };
            (
                f,
                format!("contact {late} days overdue (every {every} days{whose})"),
            )
        })
    });
    let value = c.predicted_value_cents.filter(|v| *v > 0).map(|v| {
        (
            v as f64 / max_value.max(1) as f64,
            format!(
                "predicted {} over 12 months{}",
                Money(v),
                c.tier
                    .as_deref()
                    .map(|t| format!(" (tier {t})"))
                    .unwrap_or_default()
            ),
        )
    });
    let pipe = (c.weighted_pipeline_cents > 0).then(|| {
        (
            c.weighted_pipeline_cents as f64 / max_pipe.max(1) as f64,
            format!(
                "{} of weighted open pipeline",
                Money(c.weighted_pipeline_cents)
            ),
        )
    });
    let stale = (c.stale_deals > 0).then(|| {
        (
            (c.stale_deals as f64 / 3.0).min(1.0),
            format!("{} open deal(s) past expected close", c.stale_deals),
        )
    });
    let churn = c
        .churn_risk
        .filter(|r| *r > 0.005)
        .map(|r| (r, format!("churn risk {:.0}%", 100.0 * r)));
    let none = || (0.0, String::new());
    [
        overdue.unwrap_or_else(none),
        value.unwrap_or_else(none),
        pipe.unwrap_or_else(none),
        stale.unwrap_or_else(none),
        churn.unwrap_or_else(none),
    ]
}

/// Contact intervals learned per customer segment (see `agenda::learned_intervals`).
pub type Learned = std::collections::HashMap<String, i64>;

/// Every customer of the rep with its score, visit probability (softmax at `w.alpha`)
/// and reasons (each factor's contribution), highest score first; and the rep's capacity.
/// `learned`: the segments' contact intervals, read once for many reps.
pub fn priorities(
    store: &Db,
    rep: &str,
    today: NaiveDate,
    w: &Weights,
    learned: &Learned,
) -> Result<(f64, Vec<Scored>), StoreError> {
    let (capacity, customers) = store.plan_customers(rep, &iso(today))?;
    Ok((capacity, score(&customers, today, w, learned)))
}

/// Every rep's priorities (as `priorities`), in one read of the store: (rep, capacity,
/// scored customers) by rep id.
pub fn priorities_all(
    store: &Db,
    today: NaiveDate,
    w: &Weights,
    learned: &Learned,
) -> Result<Vec<(String, f64, Vec<Scored>)>, StoreError> {
    Ok(store
        .plan_customers_all(&iso(today))?
        .into_iter()
        .map(|r| {
            let scored = score(&r.customers, today, w, learned);
            (r.rep, r.capacity, scored)
        })
        .collect())
}

/// The scores, probabilities and reasons of one rep's customers, highest score first.
fn score(
    customers: &[PlanCustomer],
    today: NaiveDate,
    w: &Weights,
    learned: &Learned,
) -> Vec<Scored> {
    let max_value = customers
        .iter()
        .filter_map(|c| c.predicted_value_cents)
        .max()
        .unwrap_or(0);
    let max_pipe = customers
        .iter()
        .map(|c| c.weighted_pipeline_cents)
        .max()
        .unwrap_or(0);
    let weights = [w.overdue, w.value, w.pipeline, w.stale, w.churn];
    let mut out: Vec<Scored> = customers
        .iter()
        .map(|c| {
            let f = factors(c, today, (max_value, max_pipe), learned);
            let score: f64 = f.iter().zip(weights).map(|((x, _), w)| x * w).sum();
            let reasons = f
                .iter()
                .zip(weights)
                .filter(|((x, _), w)| *x > 0.0 && *w > 0.0)
                .map(|((x, why), w)| format!("{why}: +{:.2}", x * w))
                .collect();
            Scored {
                customer_id: c.id,
                customer: c.name.clone(),
                external_id: c.external_id.clone(),
                city: c.city.clone(),
                score,
                probability: 0.0,
                reasons,
            }
        })
        .collect();
    let p = visits::softmax(&out.iter().map(|s| s.score).collect::<Vec<_>>(), w.alpha);
    for (s, p) in out.iter_mut().zip(p) {
        s.probability = p;
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.customer_id.cmp(&b.customer_id))
    });
    out
}

/// One planned contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub day: NaiveDate,
    pub visit: Scored,
}

/// How a plan is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSpec {
    /// Working days (Monday to Friday) from today.
    pub days: usize,
    /// Contacts a day (default: 4 × the rep's capacity, at least 1).
    pub per_day: Option<usize>,
    /// The draw's seed (the same seed, the same plan).
    pub seed: u64,
    /// The top scores in order instead of a draw.
    pub greedy: bool,
}

/// Why a rep has nobody to plan, when the data is the reason: customers without an owner
/// (an export often gives deals an owner but not their accounts). `None` when there are
/// none such.
pub fn unowned_note(store: &Db, rep: &str) -> Result<Option<String>, StoreError> {
    let n = store.customers_without_owner()?.len();
    Ok((n > 0).then(|| {
        format!(
            "{rep} owns no customers (not churned) to plan; {n} customer(s) have no owner — \
             plans and allocations follow customer owners: give them owners (`funnel import customers` \
             with an owner column, or a no-owner rule in rules.toml)"
        )
    }))
}

impl PlanSpec {
    /// How the plan is drawn, in words (kept with a saved plan).
    pub fn describe(&self, alpha: f64) -> String {
        if self.greedy {
            format!("the top scores, α = {alpha}")
        } else {
            format!(
                "drawn by visit probability, α = {alpha}, seed {}",
                self.seed
            )
        }
    }
}

/// The next `spec.days` working days from `today`, `per_day` contacts each, drawn by the
/// visit probabilities without replacement (deterministic for the seed) or, greedy, the
/// top scores in order.
pub fn plan(
    store: &Db,
    rep: &str,
    today: NaiveDate,
    spec: &PlanSpec,
    w: &Weights,
    learned: &Learned,
) -> Result<Vec<Planned>, StoreError> {
    let (capacity, scored) = priorities(store, rep, today, w, learned)?;
    Ok(plan_scored(capacity, &scored, today, spec))
}

/// The plan (as `plan`) of a rep whose customers are scored already.
pub fn plan_scored(
    capacity: f64,
    scored: &[Scored],
    today: NaiveDate,
    spec: &PlanSpec,
) -> Vec<Planned> {
    let per_day = spec
        .per_day
        .unwrap_or(((4.0 * capacity).round() as usize).max(1));
    let mut dates = Vec::new();
    let mut d = today;
    while dates.len() < spec.days {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            dates.push(d);
        }
        d += Duration::days(1);
    }
    let k = per_day * dates.len();
    let order: Vec<usize> = if spec.greedy {
        (0..scored.len().min(k)).collect()
    } else {
        let p: Vec<f64> = scored.iter().map(|s| s.probability).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
        visits::draw_without_replacement(&p, k, &mut rng)
    };
    let order = by_city(&order, |i| scored[i].city.as_deref());
    order
        .into_iter()
        .enumerate()
        .map(|(n, i)| Planned {
            day: dates[n / per_day],
            visit: scored[i].clone(),
        })
        .collect()
}

/// The chosen contacts in the order the days take them: the same customers (so no one of
/// higher priority is dropped for one of lower), each city's together, cities in the order
/// of their first (best-placed) customer; customers without a city keep their place among
/// the cities as one of their own.
fn by_city<'a>(order: &[usize], city: impl Fn(usize) -> Option<&'a str>) -> Vec<usize> {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for &i in order {
        let c = city(i);
        match groups.iter_mut().find(|(g, _)| c.is_some() && *g == c) {
            Some((_, members)) => members.push(i),
            None => groups.push((c, vec![i])),
        }
    }
    groups.into_iter().flat_map(|(_, m)| m).collect()
}

/// Saves a rep's plan (`funnel plan --save`, the TUI's plan); returns its id.
pub fn save(
    store: &mut Db,
    rep: &str,
    today: NaiveDate,
    method: &str,
    planned: &[Planned],
    actor: &Actor,
) -> Result<i64, StoreError> {
    let visits: Vec<PlanVisit> = planned
        .iter()
        .map(|p| PlanVisit {
            day: p.day,
            customer_id: p.visit.customer_id,
            score: p.visit.score,
            probability: p.visit.probability,
            reasons: p.visit.reasons.join("; "),
        })
        .collect();
    store.save_plan(rep, &iso(today), method, &visits, actor)
}

/// What became of one planned contact.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub day: String,
    pub customer_id: i64,
    pub customer: String,
    pub score: f64,
    pub probability: f64,
    /// The first contact logged with the customer in the plan's days, and how.
    pub contacted_on: Option<String>,
    pub how: Option<String>,
}

/// A saved plan compared with what was logged: each planned contact's outcome, the
/// contacts logged that were not planned, and the counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Review {
    pub plan: SavedPlan,
    pub outcomes: Vec<Outcome>,
    pub unplanned: Vec<LoggedContact>,
    /// Planned customers contacted in the plan's days; of them, on their planned day.
    pub contacted: usize,
    pub on_the_day: usize,
    /// Whether the plan's last day is still to come (`today` before it).
    pub running: bool,
}

/// The plan `id` (else the rep's latest) against the contacts logged in its days.
pub fn review(
    store: &Db,
    id: Option<i64>,
    rep: Option<&str>,
    today: NaiveDate,
) -> Result<Review, StoreError> {
    let record = store.plan_record(id, rep)?;
    let planned: std::collections::HashSet<i64> = record.visits.iter().map(|v| v.1).collect();
    let mut first: std::collections::HashMap<i64, &LoggedContact> = Default::default();
    for l in &record.logged {
        first.entry(l.customer_id).or_insert(l);
    }
    let outcomes: Vec<Outcome> = record
        .visits
        .iter()
        .map(|(day, id, name, score, p)| {
            let done = first.get(id);
            Outcome {
                day: day.clone(),
                customer_id: *id,
                customer: name.clone(),
                score: *score,
                probability: *p,
                contacted_on: done.map(|l| l.done_on.clone()),
                how: done.map(|l| l.kind.clone()),
            }
        })
        .collect();
    let contacted = outcomes.iter().filter(|o| o.contacted_on.is_some()).count();
    let on_the_day = outcomes
        .iter()
        .filter(|o| o.contacted_on.as_deref() == Some(o.day.as_str()))
        .count();
    let mut seen = std::collections::HashSet::new();
    let unplanned = record
        .logged
        .iter()
        .filter(|l| !planned.contains(&l.customer_id) && seen.insert(l.customer_id))
        .cloned()
        .collect();
    Ok(Review {
        running: iso(today) < record.plan.last_day,
        plan: record.plan,
        outcomes,
        unplanned,
        contacted,
        on_the_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chosen_contacts_go_city_by_city_in_the_order_of_each_citys_first() {
        let cities = [
            Some("Oslo"),
            Some("Rome"),
            None,
            Some("Oslo"),
            None,
            Some("Rome"),
        ];
        let order = [0, 1, 2, 3, 4, 5];
        let got = by_city(&order, |i| cities[i]);
        assert_eq!(got, [0, 3, 1, 5, 2, 4]);
        // The same customers, none lost or repeated.
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, order);
    }
}
