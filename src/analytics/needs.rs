//! Needs by classification: a decision tree (`analytics::tree`, a deterministic CART)
//! predicting the product family a customer buys next, within 90 days, from what it bought before (orders by family, the
//! last family, days since the last order), who it is (industry, segment, region) and its
//! recent activity (activities in the 90 days before).
//!
//! Examples are monthly snapshots: at each first of a month `t`, every customer with an
//! order before `t` that orders within 90 days after `t` is an example whose label is the
//! family of its first order after `t`. The evaluation is time-ordered: the test snapshot
//! is the last whose 90 days are observed, and only snapshots whose 90 days end before it
//! are learned from.

use super::tree::{Node, Params, Tree};
use crate::domain::segments::LedgerLine;
use chrono::{Datelike, Duration, NaiveDate};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How far ahead a need is looked for, in days.
pub const WINDOW_DAYS: i64 = 90;

/// Who a customer is, for the tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub industry: Option<String>,
    pub segment: Option<String>,
    pub region: Option<String>,
}

/// Everything the examples are built from.
pub struct History<'a> {
    pub lines: &'a [LedgerLine],
    /// Product id → family.
    pub family_of: &'a HashMap<i64, String>,
    pub profiles: &'a HashMap<i64, Profile>,
    /// (customer, day) of every activity done.
    pub activities: &'a [(i64, NaiveDate)],
}

/// The columns of the feature matrix, named for the rules.
struct Columns {
    families: Vec<String>,
    industries: Vec<String>,
    segments: Vec<String>,
    regions: Vec<String>,
}

impl Columns {
    fn new(h: &History) -> Columns {
        let distinct = |f: &dyn Fn(&Profile) -> Option<&String>| -> Vec<String> {
            let mut count: HashMap<&String, usize> = HashMap::new();
            for p in h.profiles.values() {
                if let Some(v) = f(p) {
                    *count.entry(v).or_default() += 1;
                }
            }
            let mut v: Vec<(&String, usize)> = count.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            v.into_iter().take(12).map(|(k, _)| k.clone()).collect()
        };
        Columns {
            families: h
                .family_of
                .values()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            industries: distinct(&|p| p.industry.as_ref()),
            segments: distinct(&|p| p.segment.as_ref()),
            regions: distinct(&|p| p.region.as_ref()),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut n = Vec::new();
        n.extend(self.families.iter().map(|f| format!("orders of {f}")));
        n.extend(self.families.iter().map(|f| format!("last bought {f}")));
        n.push("days since the last order".into());
        n.push("activities in the last 90 days".into());
        n.extend(self.industries.iter().map(|v| format!("industry is {v}")));
        n.extend(self.segments.iter().map(|v| format!("segment is {v}")));
        n.extend(self.regions.iter().map(|v| format!("region is {v}")));
        n
    }
}

/// One customer at one snapshot.
struct Example {
    customer: i64,
    features: Vec<f64>,
    /// Index into the families; `None` when it did not order in the window.
    label: Option<usize>,
    last_family: Option<usize>,
}

/// Per customer: its orders (day, family index), sorted.
type Orders = HashMap<i64, Vec<(NaiveDate, usize)>>;

fn orders(h: &History, cols: &Columns) -> Orders {
    let index: HashMap<&String, usize> = cols
        .families
        .iter()
        .enumerate()
        .map(|(i, f)| (f, i))
        .collect();
    let mut out: Orders = HashMap::new();
    for l in h.lines {
        if l.amount_cents < 0 {
            continue;
        }
        let (Some(f), Ok(on)) = (
            l.product_id
                .and_then(|p| h.family_of.get(&p))
                .and_then(|f| index.get(f)),
            NaiveDate::parse_from_str(&l.ordered_on, "%Y-%m-%d"),
        ) else {
            continue;
        };
        out.entry(l.customer_id).or_default().push((on, *f));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// The family most of a day's lines hold, the lowest index among equals (`lines`: one
/// day's, sorted by family). An order with lines of several families has one "family
/// bought" that day, the same for the label and for "last family".
fn dominant(lines: &[(NaiveDate, usize)]) -> usize {
    let mut best = (0, usize::MAX);
    for run in lines.chunk_by(|a, b| a.1 == b.1) {
        if run.len() > best.0 {
            best = (run.len(), run[0].1);
        }
    }
    best.1
}

/// The lines of the day of `lines[at]` (sorted by day).
fn day_of(lines: &[(NaiveDate, usize)], at: usize) -> &[(NaiveDate, usize)] {
    let day = lines[at].0;
    let from = lines[..at]
        .iter()
        .rposition(|l| l.0 != day)
        .map_or(0, |i| i + 1);
    let to = lines[at..]
        .iter()
        .position(|l| l.0 != day)
        .map_or(lines.len(), |i| at + i);
    &lines[from..to]
}

/// The examples at `t`; `keep(labelled)` says whether to build each candidate (building
/// is what costs memory; a count needs none).
fn snapshot(
    h: &History,
    cols: &Columns,
    orders: &Orders,
    acts: &HashMap<i64, Vec<NaiveDate>>,
    t: NaiveDate,
    keep: &mut dyn FnMut(bool) -> bool,
) -> Vec<Example> {
    let nf = cols.families.len();
    let mut out = Vec::new();
    let mut ids: Vec<&i64> = orders.keys().collect();
    ids.sort();
    for &c in ids {
        let o = &orders[&c];
        let n_before = o.partition_point(|(d, _)| *d < t);
        if n_before == 0 {
            continue;
        }
        let before = &o[..n_before];
        let last = (
            before[n_before - 1].0,
            dominant(day_of(before, n_before - 1)),
        );
        let end = t + Duration::days(WINDOW_DAYS);
        let label =
            (n_before < o.len() && o[n_before].0 < end).then(|| dominant(day_of(o, n_before)));
        if !keep(label.is_some()) {
            continue;
        }
        let mut f: Vec<f64> = vec![0.0; 2 * nf + 2];
        for (_, fam) in before {
            f[*fam] += 1.0;
        }
        for v in f.iter_mut().take(nf) {
            *v = f64::ln_1p(*v);
        }
        f[nf + last.1] = 1.0;
        f[2 * nf] = ((t - last.0).num_days() as f64).ln_1p();
        let recent = acts.get(&c).map_or(0, |a| {
            a.iter()
                .filter(|d| **d < t && **d >= t - Duration::days(WINDOW_DAYS))
                .count()
        });
        f[2 * nf + 1] = (recent as f64).ln_1p();
        let p = h.profiles.get(&c).cloned().unwrap_or_default();
        let one_hot = |values: &[String], v: &Option<String>| -> Vec<f64> {
            values
                .iter()
                .map(|x| f64::from(v.as_ref() == Some(x)))
                .collect()
        };
        f.extend(one_hot(&cols.industries, &p.industry));
        f.extend(one_hot(&cols.segments, &p.segment));
        f.extend(one_hot(&cols.regions, &p.region));
        out.push(Example {
            customer: c,
            features: f,
            label,
            last_family: Some(last.1),
        });
    }
    out
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("the first of a month")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(1))
        .expect("a month later")
}

/// A learned tree with, for each leaf, the families of the examples that reached it.
pub struct Needs {
    tree: Tree,
    families: Vec<String>,
    names: Vec<String>,
    leaves: HashMap<Vec<bool>, Vec<usize>>,
    /// Examples learned from.
    pub examples: usize,
    cols: Columns,
}

/// A predicted need.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Need {
    /// Families, most likely first (the leaf's share of each).
    pub ranked: Vec<(String, f64)>,
    /// The conditions that led to it, root first.
    pub rule: Vec<String>,
}

impl Needs {
    fn path(&self, x: &[f64]) -> (Vec<bool>, Vec<String>) {
        let (_, path) = self.tree.leaf(x);
        let mut rule = Vec::new();
        let mut at = 0;
        for &left in &path {
            if let Some(Node::Split {
                feature,
                value,
                left: l,
                right: r,
            }) = self.tree.nodes.get(at)
            {
                rule.push(condition(&self.names[*feature], *value, left));
                at = if left { *l } else { *r };
            }
        }
        (path, rule)
    }

    fn predict(&self, x: &[f64]) -> Need {
        let (path, rule) = self.path(x);
        let counts = self.leaves.get(&path).cloned().unwrap_or_default();
        let total: usize = counts.iter().sum();
        let mut ranked: Vec<(String, f64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (self.families[i].clone(), *n as f64 / total.max(1) as f64))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Need { ranked, rule }
    }

    /// The tree as rules, down to `depth` conditions: each line "if … then FAMILY (n
    /// examples, share)".
    pub fn rules(&self, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(0, &mut Vec::new(), &mut Vec::new(), depth, &mut out);
        out
    }

    fn walk(
        &self,
        node: usize,
        path: &mut Vec<bool>,
        conds: &mut Vec<String>,
        depth: usize,
        out: &mut Vec<String>,
    ) {
        let split = match self.tree.nodes.get(node) {
            Some(Node::Split {
                feature,
                value,
                left,
                right,
            }) if conds.len() < depth => Some((*feature, *value, *left, *right)),
            _ => None,
        };
        let Some((feature, value, left_child, right_child)) = split else {
            let mut counts = vec![0usize; self.families.len()];
            for (p, c) in &self.leaves {
                if p.starts_with(path) {
                    for (i, n) in c.iter().enumerate() {
                        counts[i] += n;
                    }
                }
            }
            let total: usize = counts.iter().sum();
            if let Some((best, n)) = counts
                .iter()
                .enumerate()
                .max_by_key(|(i, n)| (**n, usize::MAX - i))
            {
                let when = if conds.is_empty() {
                    "always".to_string()
                } else {
                    conds.join(" and ")
                };
                out.push(format!(
                    "if {when} then {} ({total} examples, {:.0}%)",
                    self.families[best],
                    *n as f64 / total.max(1) as f64 * 100.0
                ));
            }
            return;
        };
        for (left, child) in [(true, left_child), (false, right_child)] {
            {
                path.push(left);
                conds.push(condition(&self.names[feature], value, left));
                self.walk(child, path, conds, depth, out);
                conds.pop();
                path.pop();
            }
        }
    }
}

/// A split in words: features are on log scales (ln(1 + x)) or 0/1 flags.
fn condition(name: &str, value: f64, left: bool) -> String {
    if name.starts_with("industry is")
        || name.starts_with("segment is")
        || name.starts_with("region is")
        || name.starts_with("last bought")
    {
        let (what, yes) = name
            .split_once(" is ")
            .map_or((name.to_string(), ""), |(a, b)| (a.to_string(), b));
        return match (name.starts_with("last bought"), left) {
            (true, true) => format!("not {name}"),
            (true, false) => name.to_string(),
            (false, true) => format!("{what} is not {yes}"),
            (false, false) => name.to_string(),
        };
    }
    let raw = value.exp() - 1.0;
    if name.starts_with("orders of") || name.starts_with("activities") {
        // Counts: x < raw is x ≤ ⌈raw⌉ − 1.
        let most = (raw.ceil() as i64 - 1).max(0);
        return match (left, most) {
            (true, 0) => format!("no {name}"),
            (true, m) => format!("{name} ≤ {m}"),
            (false, m) => format!("{name} > {m}"),
        };
    }
    if left {
        format!("{name} < {raw:.0}")
    } else {
        format!("{name} ≥ {raw:.0}")
    }
}

fn fit(examples: &[Example], families: &[String], depth: usize) -> Option<Tree> {
    let rows: Vec<&Example> = examples.iter().filter(|e| e.label.is_some()).collect();
    if rows.len() < 20 || families.len() < 2 {
        return None;
    }
    let x: Vec<Vec<f64>> = rows.iter().map(|e| e.features.clone()).collect();
    let y: Vec<usize> = rows.iter().map(|e| e.label.unwrap_or(0)).collect();
    Some(Tree::fit(&x, &y, families.len(), Params::new(depth, 10.0)))
}

/// The result of learning and evaluating.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub train_examples: usize,
    pub test_examples: usize,
    /// The test snapshot: needs in the 90 days from it.
    pub test_from: String,
    pub top1: f64,
    pub top3: f64,
    pub popularity_top1: f64,
    pub popularity_top3: f64,
    pub last_family_top1: f64,
}

/// Learns the tree from every snapshot whose window has ended by `today`; `None` without
/// enough examples (20) or fewer than two families.
pub fn learn(h: &History, today: NaiveDate, depth: usize) -> Option<Needs> {
    learn_until(h, today, depth).map(|(n, _)| n)
}

fn snapshots(h: &History, cols: &Columns, orders: &Orders, last_t: NaiveDate) -> Vec<Example> {
    let acts = activities(h);
    let Some(first) = orders
        .values()
        .filter_map(|o| o.first())
        .map(|(d, _)| *d)
        .min()
    else {
        return Vec::new();
    };
    let start = next_month(first_of_month(first));
    // At most `MAX_EXAMPLES`, every `step`-th labelled one (each month keeps its share):
    // a first pass counts them without building any, so memory stays bounded.
    let mut labelled = 0usize;
    let mut t = start;
    while t <= last_t {
        snapshot(h, cols, orders, &acts, t, &mut |l| {
            labelled += usize::from(l);
            false
        });
        t = next_month(t);
    }
    let step = labelled.div_ceil(MAX_EXAMPLES).max(1);
    let mut seen = 0usize;
    let mut keep = |l: bool| {
        if !l {
            return false;
        }
        seen += 1;
        (seen - 1).is_multiple_of(step)
    };
    let mut out = Vec::new();
    let mut t = start;
    while t <= last_t {
        out.extend(snapshot(h, cols, orders, &acts, t, &mut keep));
        t = next_month(t);
    }
    out
}

/// The most examples a tree is learned from.
pub const MAX_EXAMPLES: usize = 100_000;

fn activities(h: &History) -> HashMap<i64, Vec<NaiveDate>> {
    let mut a: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
    for (c, d) in h.activities {
        a.entry(*c).or_default().push(*d);
    }
    a
}

fn learn_until(h: &History, today: NaiveDate, depth: usize) -> Option<(Needs, Vec<Example>)> {
    let cols = Columns::new(h);
    let names = cols.names();
    let o = orders(h, &cols);
    let examples = snapshots(h, &cols, &o, today - Duration::days(WINDOW_DAYS));
    let tree = fit(&examples, &cols.families, depth)?;
    let mut needs = Needs {
        tree,
        families: cols.families.clone(),
        names,
        leaves: HashMap::new(),
        examples: examples.iter().filter(|e| e.label.is_some()).count(),
        cols,
    };
    for e in examples.iter().filter(|e| e.label.is_some()) {
        let (path, _) = needs.path(&e.features);
        let counts = needs
            .leaves
            .entry(path)
            .or_insert_with(|| vec![0; needs.families.len()]);
        counts[e.label.unwrap_or(0)] += 1;
    }
    Some((needs, examples))
}

/// What each customer (by id) is predicted to need next, as of `today`.
pub fn predict_all(needs: &Needs, h: &History, today: NaiveDate) -> BTreeMap<i64, Need> {
    let o = orders(h, &needs.cols);
    let acts = activities(h);
    snapshot(h, &needs.cols, &o, &acts, today, &mut |_| true)
        .into_iter()
        .map(|e| (e.customer, needs.predict(&e.features)))
        .collect()
}

/// The time-ordered evaluation (see the module's description).
pub fn evaluate(h: &History, today: NaiveDate, depth: usize) -> Option<Evaluation> {
    let test_t = first_of_month(today - Duration::days(WINDOW_DAYS));
    let (needs, train) = learn_until(h, test_t, depth)?;
    let o = orders(h, &needs.cols);
    let test: Vec<Example> = snapshot(h, &needs.cols, &o, &activities(h), test_t, &mut |l| l);
    if test.is_empty() {
        return None;
    }
    let mut popularity = vec![0usize; needs.families.len()];
    for e in train.iter().filter_map(|e| e.label) {
        popularity[e] += 1;
    }
    let mut popular: Vec<usize> = (0..popularity.len()).collect();
    popular.sort_by(|a, b| popularity[*b].cmp(&popularity[*a]).then(a.cmp(b)));
    let (mut t1, mut t3, mut p1, mut p3, mut l1) = (0, 0, 0, 0, 0);
    for e in &test {
        let want = e.label.unwrap_or(0);
        let need = needs.predict(&e.features);
        let ranked: Vec<&String> = need.ranked.iter().map(|r| &r.0).collect();
        let name = &needs.families[want];
        t1 += usize::from(ranked.first() == Some(&name));
        t3 += usize::from(ranked.iter().take(3).any(|r| *r == name));
        p1 += usize::from(popular.first() == Some(&want));
        p3 += usize::from(popular.iter().take(3).any(|p| *p == want));
        l1 += usize::from(e.last_family == Some(want));
    }
    let n = test.len() as f64;
    Some(Evaluation {
        train_examples: needs.examples,
        test_examples: test.len(),
        test_from: test_t.to_string(),
        top1: t1 as f64 / n,
        top3: t3 as f64 / n,
        popularity_top1: p1 as f64 / n,
        popularity_top3: p3 as f64 / n,
        last_family_top1: l1 as f64 / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_with_lines_of_several_families_counts_as_its_most_bought_one() {
        let d = |n: u32| NaiveDate::from_ymd_opt(2024, 3, n).unwrap();
        // Sorted by (day, family) as `orders` leaves them.
        let lines = [
            (d(1), 0),
            (d(2), 0),
            (d(2), 2),
            (d(2), 2),
            (d(2), 3),
            (d(5), 1),
        ];
        assert_eq!(day_of(&lines, 3), &lines[1..5]);
        assert_eq!(day_of(&lines, 0), &lines[..1]);
        assert_eq!(day_of(&lines, 5), &lines[5..]);
        // Two lines of family 2 beat one of 0 and one of 3 (not the highest index, 3).
        assert_eq!(dominant(day_of(&lines, 1)), 2);
        // A tie goes to the lowest index.
        assert_eq!(dominant(&[(d(9), 1), (d(9), 4)]), 1);
    }

    /// Two kinds of customer: retailers buy hardware after hardware, banks buy services
    /// after platform. A tree must tell them apart; popularity cannot.
    #[test]
    fn the_tree_learns_who_needs_what_and_beats_the_baselines() {
        let mut lines = Vec::new();
        let mut profiles = HashMap::new();
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        for c in 0..120i64 {
            let retail = c % 2 == 0;
            profiles.insert(
                c,
                Profile {
                    industry: Some(if retail { "Retail" } else { "Banking" }.into()),
                    segment: Some("smb".into()),
                    region: Some("EMEA".into()),
                },
            );
            // An order every 40 days from a customer-specific start.
            let mut d = start + Duration::days(c % 30);
            let mut i = 0;
            while d < NaiveDate::from_ymd_opt(2026, 6, 30).unwrap() {
                let product = match (retail, i % 2) {
                    (true, _) => 3,  // hardware
                    (false, 0) => 1, // platform
                    (false, _) => 4, // services
                };
                lines.push(LedgerLine {
                    customer_id: c,
                    ordered_on: d.to_string(),
                    amount_cents: 1000,
                    product_id: Some(product),
                });
                d += Duration::days(40);
                i += 1;
            }
        }
        let family_of: HashMap<i64, String> = [(1, "Platform"), (3, "Hardware"), (4, "Services")]
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let h = History {
            lines: &lines,
            family_of: &family_of,
            profiles: &profiles,
            activities: &[],
        };
        let today = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let e = evaluate(&h, today, 4).unwrap();
        assert!(e.test_examples >= 100, "{e:?}");
        // Retailers are always hardware; banks alternate (platform, services), which the
        // last family tells: the tree gets (nearly) all of them.
        assert!(e.top1 > 0.95, "{e:?}");
        assert!(e.top1 > e.popularity_top1 + 0.3, "{e:?}");
        assert!(e.top3 >= e.top1);
        let needs = learn(&h, today, 4).unwrap();
        let rules = needs.rules(3);
        assert!(rules.iter().any(|r| r.contains("Hardware")), "{rules:?}");
        assert!(rules.iter().all(|r| r.starts_with("if ")));
        // A retailer's predicted need, with the conditions that led to it.
        let all = predict_all(&needs, &h, today);
        let retailer = &all[&0];
        assert_eq!(retailer.ranked[0].0, "Hardware");
        assert!(!retailer.rule.is_empty());
    }

    #[test]
    fn conditions_read_in_natural_units() {
        // ln(1 + x) < ln(3.5): x ≤ 2 orders.
        assert_eq!(
            condition("orders of Hardware", 2.5f64.ln_1p(), true),
            "orders of Hardware ≤ 2"
        );
        assert_eq!(
            condition("orders of Hardware", 2.5f64.ln_1p(), false),
            "orders of Hardware > 2"
        );
        assert_eq!(
            condition("orders of Hardware", 0.4f64.ln_1p(), true),
            "no orders of Hardware"
        );
        assert_eq!(
            condition("days since the last order", 30.4f64.ln_1p(), true),
            "days since the last order < 30"
        );
        assert_eq!(condition("region is EMEA", 0.5, true), "region is not EMEA");
        assert_eq!(condition("region is EMEA", 0.5, false), "region is EMEA");
        assert_eq!(
            condition("last bought Services", 0.5, true),
            "not last bought Services"
        );
    }
}
