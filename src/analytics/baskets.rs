//! What customers buy together: association rules over customer baskets (the products
//! each customer has bought), item-to-item similarity, and next-best products with the
//! reason for each.
//!
//! A basket is a customer's set of products up to a day, or (for the rules) one order's:
//! the ledger has one product per order row, so an order of several lines is a
//! customer's rows on one day. Rules have one product on each side (A → B); larger
//! antecedents are not mined.

use crate::domain::segments::LedgerLine;
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A hash map keyed by small integers, hashed with foldhash (the counts are read millions
/// of times by the recommendations; SipHash's resistance to crafted keys buys nothing
/// for product ids).
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// What a basket is: everything a customer has bought, or one order's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Per {
    /// The products each customer has bought.
    #[default]
    Customer,
    /// The products of one order: a customer's lines on one day (an order of several
    /// lines is imported as several orders of one product on the same day).
    Order,
}

/// The products bought (refunds left out) from `from` (exclusive, if any) to `end`: each
/// line's customer, day and product.
fn bought(
    lines: &[LedgerLine],
    from: Option<NaiveDate>,
    end: NaiveDate,
) -> impl Iterator<Item = (i64, NaiveDate, i64)> + '_ {
    lines.iter().filter_map(move |l| {
        let p = l.product_id?;
        let on = NaiveDate::parse_from_str(&l.ordered_on, "%Y-%m-%d").ok()?;
        (l.amount_cents >= 0 && on <= end && from.is_none_or(|f| on > f)).then_some((
            l.customer_id,
            on,
            p,
        ))
    })
}

/// The baskets per order (a customer's lines on one day, refunds left out) up to `end`.
pub fn order_baskets(
    lines: &[LedgerLine],
    end: NaiveDate,
) -> BTreeMap<(i64, NaiveDate), BTreeSet<i64>> {
    let mut out: BTreeMap<(i64, NaiveDate), BTreeSet<i64>> = BTreeMap::new();
    for (c, on, p) in bought(lines, None, end) {
        out.entry((c, on)).or_default().insert(p);
    }
    out
}

/// Each customer's products bought (not refunds) from `from` (exclusive, if any) to `end`.
pub fn baskets(
    lines: &[LedgerLine],
    from: Option<NaiveDate>,
    end: NaiveDate,
) -> BTreeMap<i64, BTreeSet<i64>> {
    let mut out: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (c, _, p) in bought(lines, from, end) {
        out.entry(c).or_default().insert(p);
    }
    out
}

/// A → B.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub antecedent: i64,
    pub consequent: i64,
    /// Customers with both.
    pub customers: usize,
    /// Share of all baskets with both.
    pub support: f64,
    /// Share of A's buyers who bought B.
    pub confidence: f64,
    /// Confidence over B's share of all baskets (above 1: A's buyers buy B more often).
    pub lift: f64,
}

/// Counts over a set of baskets.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub baskets: usize,
    pub item: FastMap<i64, usize>,
    /// Baskets holding both of (lower id, higher id).
    pub pair: FastMap<(i64, i64), usize>,
    /// For each product A, the products B with a rule A → B of lift above 1, best score
    /// first (then lowest id): built on the first recommendation.
    ranked: std::sync::OnceLock<HashMap<i64, Vec<(f64, i64)>>>,
    /// Products by how many baskets hold them, most first: sorted on first use.
    by_popularity: std::sync::OnceLock<Vec<i64>>,
}

pub fn count<K>(baskets: &BTreeMap<K, BTreeSet<i64>>) -> Counts {
    let mut c = Counts {
        baskets: baskets.len(),
        ..Default::default()
    };
    for b in baskets.values() {
        for &a in b {
            *c.item.entry(a).or_default() += 1;
            for &z in b.range(a + 1..) {
                *c.pair.entry((a, z)).or_default() += 1;
            }
        }
    }
    c
}

impl Counts {
    fn both(&self, a: i64, b: i64) -> usize {
        self.pair.get(&(a.min(b), a.max(b))).copied().unwrap_or(0)
    }

    /// The rule A → B (`None` when A was never bought).
    pub fn rule(&self, a: i64, b: i64) -> Option<Rule> {
        let n = self.baskets as f64;
        let na = *self.item.get(&a)? as f64;
        let nb = self.item.get(&b).copied().unwrap_or(0) as f64;
        let both = self.both(a, b);
        let confidence = both as f64 / na;
        Some(Rule {
            antecedent: a,
            consequent: b,
            customers: both,
            support: both as f64 / n,
            confidence,
            lift: if nb > 0.0 { confidence / (nb / n) } else { 0.0 },
        })
    }

    /// Every rule with at least this support and confidence, highest lift first.
    pub fn rules(&self, min_support: f64, min_confidence: f64) -> Vec<Rule> {
        let mut out: Vec<Rule> = self
            .pair
            .keys()
            .flat_map(|&(a, b)| [(a, b), (b, a)])
            .filter_map(|(a, b)| self.rule(a, b))
            .filter(|r| r.support >= min_support && r.confidence >= min_confidence)
            .collect();
        out.sort_by(|x, y| {
            y.lift
                .total_cmp(&x.lift)
                .then(y.support.total_cmp(&x.support))
                .then((x.antecedent, x.consequent).cmp(&(y.antecedent, y.consequent)))
        });
        out
    }

    /// Cosine similarity of two products' buyers.
    pub fn similarity(&self, a: i64, b: i64) -> f64 {
        let na = self.item.get(&a).copied().unwrap_or(0) as f64;
        let nb = self.item.get(&b).copied().unwrap_or(0) as f64;
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        self.both(a, b) as f64 / (na * nb).sqrt()
    }

    /// The score of recommending B to a buyer of A (who bought A: `na` baskets hold it):
    /// ½·confidence + ½·cosine similarity; `None` unless the rule A → B has lift above 1.
    fn score(&self, a: i64, na: usize, b: i64) -> Option<f64> {
        let both = self.both(a, b);
        let nb = self.item.get(&b).copied().unwrap_or(0);
        if both == 0 || na == 0 || nb == 0 {
            return None;
        }
        let confidence = both as f64 / na as f64;
        let lift = confidence / (nb as f64 / self.baskets as f64);
        (lift > 1.0).then(|| 0.5 * confidence + 0.5 * both as f64 / ((na * nb) as f64).sqrt())
    }

    /// [`Counts::score`] with the rule.
    #[cfg(test)]
    fn scored(&self, a: i64, b: i64) -> Option<(f64, Rule)> {
        let na = self.item.get(&a).copied().unwrap_or(0);
        let score = self.score(a, na, b)?;
        Some((score, self.rule(a, b)?))
    }

    fn ranked(&self) -> &HashMap<i64, Vec<(f64, i64)>> {
        self.ranked.get_or_init(|| {
            let mut out: HashMap<i64, Vec<(f64, i64)>> = HashMap::new();
            for &(x, y) in self.pair.keys() {
                for (a, b) in [(x, y), (y, x)] {
                    let na = self.item.get(&a).copied().unwrap_or(0);
                    if let Some(score) = self.score(a, na, b) {
                        out.entry(a).or_default().push((score, b));
                    }
                }
            }
            for list in out.values_mut() {
                list.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
            }
            out
        })
    }

    /// Products by how many baskets hold them, most first (sorted once, then shared by
    /// every recommendation).
    pub fn popular(&self) -> &[i64] {
        self.by_popularity.get_or_init(|| {
            let mut items: Vec<(i64, usize)> = self.item.iter().map(|(k, v)| (*k, *v)).collect();
            items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            items.into_iter().map(|(k, _)| k).collect()
        })
    }
}

/// A product to offer and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recommendation {
    pub product: i64,
    /// Half the best rule's confidence plus half the cosine similarity to that product
    /// (the popularity share when no product the customer owns points to it).
    pub score: f64,
    /// The owned product behind it, with the rule (none: recommended for popularity).
    pub because: Option<Rule>,
}

/// The `k` best products for a customer who owns `owned`: for each product not owned,
/// the owned product whose rule towards it (with lift above 1) scores highest, scored
/// ½·confidence + ½·cosine similarity; the rest of the list filled by popularity.
///
/// Only the candidates that can make the top `k` are scored: from each owned product's
/// ranked list, its first `k` products not owned (any product past them has `k` better
/// ones, through the same owned product). The result is the same as scoring every pair.
pub fn recommend(c: &Counts, owned: &BTreeSet<i64>, k: usize) -> Vec<Recommendation> {
    let ranked = c.ranked();
    let mut candidates: BTreeSet<i64> = BTreeSet::new();
    for a in owned {
        let Some(list) = ranked.get(a) else { continue };
        candidates.extend(
            list.iter()
                .map(|(_, b)| *b)
                .filter(|b| !owned.contains(b))
                .take(k),
        );
    }
    // Each candidate's best owned product (the first, in id order, among equals).
    let mut best: HashMap<i64, (f64, i64)> = HashMap::new();
    for &a in owned {
        let na = c.item.get(&a).copied().unwrap_or(0);
        for &b in &candidates {
            let Some(score) = c.score(a, na, b) else {
                continue;
            };
            if best.get(&b).is_none_or(|r| score > r.0) {
                best.insert(b, (score, a));
            }
        }
    }
    let mut out: Vec<Recommendation> = best
        .into_iter()
        .map(|(b, (score, a))| Recommendation {
            product: b,
            score,
            because: c.rule(a, b),
        })
        .collect();
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.product.cmp(&y.product)));
    out.truncate(k);
    let n = c.baskets.max(1) as f64;
    for &p in c.popular() {
        if out.len() >= k {
            break;
        }
        if owned.contains(&p) || out.iter().any(|r| r.product == p) {
            continue;
        }
        out.push(Recommendation {
            product: p,
            score: c.item[&p] as f64 / n,
            because: None,
        });
    }
    out
}

/// The popularity baseline: the `k` most bought products the customer does not own.
pub fn popular_for(c: &Counts, owned: &BTreeSet<i64>, k: usize) -> Vec<i64> {
    c.popular()
        .iter()
        .copied()
        .filter(|p| !owned.contains(p))
        .take(k)
        .collect()
}

/// Hit rates of a time split: for each customer who owned something by the calibration's
/// end and bought a product new to them after it, whether one of the top 3 (top 5) was
/// among those new products; for the recommendations and for popularity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HitRates {
    pub customers: usize,
    pub hit_rate_at_3: f64,
    pub hit_rate_at_5: f64,
    pub popularity_hit_rate_at_3: f64,
    pub popularity_hit_rate_at_5: f64,
}

pub fn evaluate(lines: &[LedgerLine], calibration_end: NaiveDate, end: NaiveDate) -> HitRates {
    let before = baskets(lines, None, calibration_end);
    let after = baskets(lines, Some(calibration_end), end);
    let counts = count(&before);
    let (mut n, mut h3, mut h5, mut p3, mut p5) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (customer, owned) in &before {
        let Some(later) = after.get(customer) else {
            continue;
        };
        let new: BTreeSet<i64> = later.difference(owned).copied().collect();
        if new.is_empty() {
            continue;
        }
        n += 1;
        let recs: Vec<i64> = recommend(&counts, owned, 5)
            .iter()
            .map(|r| r.product)
            .collect();
        let pops = popular_for(&counts, owned, 5);
        let hit = |list: &[i64], k: usize| list.iter().take(k).any(|p| new.contains(p));
        h3 += usize::from(hit(&recs, 3));
        h5 += usize::from(hit(&recs, 5));
        p3 += usize::from(hit(&pops, 3));
        p5 += usize::from(hit(&pops, 5));
    }
    let rate = |h: usize| if n > 0 { h as f64 / n as f64 } else { 0.0 };
    HitRates {
        customers: n,
        hit_rate_at_3: rate(h3),
        hit_rate_at_5: rate(h5),
        popularity_hit_rate_at_3: rate(p3),
        popularity_hit_rate_at_5: rate(p5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[i64]) -> BTreeSet<i64> {
        items.iter().copied().collect()
    }

    /// Five baskets by hand: {1,2}, {1,2,3}, {1,3}, {2}, {4}.
    fn five() -> Counts {
        let b: BTreeMap<i64, BTreeSet<i64>> = [
            (10, set(&[1, 2])),
            (11, set(&[1, 2, 3])),
            (12, set(&[1, 3])),
            (13, set(&[2])),
            (14, set(&[4])),
        ]
        .into_iter()
        .collect();
        count(&b)
    }

    #[test]
    fn support_confidence_and_lift_by_hand() {
        let c = five();
        // 1 → 2: both in 2 of 5 baskets; 1 in 3: confidence 2/3; 2 in 3 of 5: lift (2/3)/(3/5) = 10/9.
        let r = c.rule(1, 2).unwrap();
        assert_eq!(r.customers, 2);
        assert!((r.support - 0.4).abs() < 1e-12);
        assert!((r.confidence - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.lift - 10.0 / 9.0).abs() < 1e-12);
        // 3 → 1: both 2, 3 in 2: confidence 1; 1 in 3 of 5: lift 5/3.
        let r = c.rule(3, 1).unwrap();
        assert!((r.confidence - 1.0).abs() < 1e-12 && (r.lift - 5.0 / 3.0).abs() < 1e-12);
        // Cosine of 1 and 3: 2 / sqrt(3·2).
        assert!((c.similarity(1, 3) - 2.0 / 6f64.sqrt()).abs() < 1e-12);
        // Rules above 30% support: the pairs in 2 baskets, highest lift first.
        // (2, 3 is in one basket only.)
        let rules = c.rules(0.3, 0.5);
        let names: Vec<(i64, i64)> = rules.iter().map(|r| (r.antecedent, r.consequent)).collect();
        assert_eq!(names.len(), 4);
        assert_eq!(
            set(&[names[0].0, names[1].0]),
            set(&[1, 3]),
            "lift 5/3 first"
        );
        assert_eq!(names[2..], [(1, 2), (2, 1)]);
    }

    #[test]
    fn recommendations_follow_rules_then_popularity_with_reasons() {
        let c = five();
        // Owner of 3: product 1 (3 → 1, lift 5/3) first; 2 (3 → 2: confidence ½, lift 5/6
        // ≤ 1) only by popularity, then 4.
        let recs = recommend(&c, &set(&[3]), 3);
        let order: Vec<i64> = recs.iter().map(|r| r.product).collect();
        assert_eq!(order, [1, 2, 4]);
        let why = recs[0].because.as_ref().unwrap();
        assert_eq!((why.antecedent, why.consequent), (3, 1));
        assert!((recs[0].score - (0.5 + 0.5 * 2.0 / 6f64.sqrt())).abs() < 1e-12);
        assert!(recs[1].because.is_none() && (recs[1].score - 0.6).abs() < 1e-12);
        // Never what is owned.
        assert!(recommend(&c, &set(&[1, 2, 3, 4]), 3).is_empty());
        assert_eq!(popular_for(&c, &set(&[1]), 2), [2, 3]);
    }

    #[test]
    fn the_time_split_scores_only_new_products_after_the_cut() {
        let l = |c: i64, on: &str, p: i64| LedgerLine {
            customer_id: c,
            ordered_on: on.into(),
            amount_cents: 100,
            product_id: Some(p),
        };
        let mut lines = Vec::new();
        // Before the cut: 20 customers buy 1 and 2; 20 buy 3 only; 5 buy 4.
        for c in 0..20 {
            lines.push(l(c, "2026-01-05", 1));
            lines.push(l(c, "2026-01-06", 2));
        }
        for c in 20..40 {
            lines.push(l(c, "2026-01-05", 3));
        }
        for c in 40..45 {
            lines.push(l(c, "2026-01-05", 4));
        }
        // A customer with 1 only, then (after the cut) 2: the rule 1 → 2 finds it.
        lines.push(l(100, "2026-01-07", 1));
        lines.push(l(100, "2026-03-01", 2));
        // Rebuying what it owned is not a new product: not scored.
        lines.push(l(0, "2026-03-01", 1));
        let cut = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let end = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let h = evaluate(&lines, cut, end);
        assert_eq!(h.customers, 1);
        assert_eq!(h.hit_rate_at_3, 1.0);
        // Popularity's top 3 for that customer (2, 3, 4) has it too.
        assert_eq!(h.popularity_hit_rate_at_3, 1.0);
    }

    /// Every owned product against every product not owned: what `recommend` prunes.
    fn brute_force(c: &Counts, owned: &BTreeSet<i64>, k: usize) -> Vec<(i64, f64)> {
        let mut best: HashMap<i64, f64> = HashMap::new();
        for &a in owned {
            for &b in c.item.keys() {
                if owned.contains(&b) {
                    continue;
                }
                if let Some((score, _)) = c.scored(a, b) {
                    let e = best.entry(b).or_insert(score);
                    *e = e.max(score);
                }
            }
        }
        let mut out: Vec<(i64, f64)> = best.into_iter().collect();
        out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        out.truncate(k);
        out
    }

    #[test]
    fn an_order_basket_is_a_customers_lines_on_one_day() {
        let line = |c: i64, on: &str, cents: i64, p: i64| LedgerLine {
            customer_id: c,
            ordered_on: on.into(),
            amount_cents: cents,
            product_id: Some(p),
        };
        let lines = [
            line(1, "2024-01-05", 100, 1),
            line(1, "2024-01-05", 100, 2),
            line(1, "2024-01-05", -100, 3), // a refund is not bought
            line(1, "2024-02-01", 100, 3),
            line(2, "2024-01-05", 100, 1),
            line(2, "2024-03-01", 100, 2), // after the end
        ];
        let end = NaiveDate::from_ymd_opt(2024, 2, 28).unwrap();
        let b = order_baskets(&lines, end);
        let got: Vec<Vec<i64>> = b.values().map(|s| s.iter().copied().collect()).collect();
        assert_eq!(got, [vec![1, 2], vec![3], vec![1]]);
        let c = count(&b);
        assert_eq!((c.baskets, c.both(1, 2)), (3, 1));
    }

    #[test]
    fn pruned_candidates_give_the_same_recommendations_as_scoring_every_pair() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // 300 customers over 40 products, popular ones more likely, some pairs together.
        let baskets: BTreeMap<i64, BTreeSet<i64>> = (0..300)
            .map(|c| {
                let mut b = BTreeSet::new();
                for _ in 0..rng.random_range(1..12) {
                    let p = (rng.random::<f64>().powi(2) * 40.0) as i64;
                    b.insert(p);
                    if p % 3 == 0 && rng.random::<f64>() < 0.6 {
                        b.insert((p + 7) % 40);
                    }
                }
                (c, b)
            })
            .collect();
        let c = count(&baskets);
        for owned in baskets.values() {
            for k in [1, 3, 5] {
                let got: Vec<(i64, f64)> = recommend(&c, owned, k)
                    .into_iter()
                    .filter(|r| r.because.is_some())
                    .map(|r| (r.product, r.score))
                    .collect();
                let want = brute_force(&c, owned, k);
                assert_eq!(got, want, "{owned:?} k={k}");
            }
        }
    }
}
