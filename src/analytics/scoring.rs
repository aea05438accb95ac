//! Win probability: logistic regression (linfa-logistic) against Gaussian naive Bayes
//! (linfa-bayes), a time-ordered split, Platt calibration, and the holdout's AUC, Brier
//! score, log loss and reliability table. Pure: takes feature rows, returns models and
//! metrics.

use linfa::prelude::*;
use linfa_bayes::{GaussianNb, NaiveBayes};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

/// One example: its features (already numeric), for closed deals whether it won, and the
/// deal it was taken from (a deal gives several snapshots; all go to the same slice).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub features: Vec<f64>,
    pub won: bool,
    pub deal: i64,
}

/// Per-feature mean and spread from the training rows, so coefficients compare.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Scaler {
    fn fit(rows: &[Vec<f64>]) -> Scaler {
        let d = rows.first().map(Vec::len).unwrap_or(0);
        let n = rows.len().max(1) as f64;
        let mean: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let sd: Vec<f64> = (0..d)
            .map(|j| {
                let v = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if v > 1e-12 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Scaler { mean, sd }
    }
    pub fn apply(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, v)| (v - self.mean[j]) / self.sd[j])
            .collect()
    }
}

fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
    let d = rows.first().map(Vec::len).unwrap_or(0);
    Array2::from_shape_fn((rows.len(), d), |(i, j)| rows[i][j])
}

/// A calibrated logistic model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WinModel {
    pub scaler: Scaler,
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    /// Platt scaling of the raw log-odds: p = sigmoid(a * z + b).
    pub platt: (f64, f64),
    /// Each feature's least and greatest value in training: a deal beyond them is scored
    /// (and explained) at the edge, never by extrapolating the fitted line.
    #[serde(default)]
    pub ranges: Vec<(f64, f64)>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl WinModel {
    /// The row with each value held within the range seen in training.
    pub fn clip(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, v)| match self.ranges.get(j) {
                Some((lo, hi)) => v.clamp(*lo, *hi),
                None => *v,
            })
            .collect()
    }

    /// Raw log-odds of a feature row (clipped to the training ranges).
    pub fn log_odds(&self, row: &[f64]) -> f64 {
        let x = self.scaler.apply(&self.clip(row));
        self.intercept
            + x.iter()
                .zip(&self.coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>()
    }
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.platt.0 * self.log_odds(row) + self.platt.1)
    }
    /// Each feature's contribution to the log-odds against an average deal (the row
    /// clipped to the training ranges, as it is scored).
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let x = self.scaler.apply(&self.clip(row));
        x.iter()
            .zip(&self.coefficients)
            .map(|(a, b)| self.platt.0 * a * b)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub auc: f64,
    pub brier: f64,
    pub log_loss: f64,
    /// (mean predicted, observed win rate, deals) per tenth of predicted probability.
    pub reliability: Vec<(f64, f64, usize)>,
    pub n: usize,
}

/// Area under the ROC curve by ranks (ties averaged).
pub fn auc(p: &[f64], y: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut ranks = vec![0.0; p.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = r;
        }
        i = j + 1;
    }
    let pos = y.iter().filter(|v| **v).count() as f64;
    let neg = y.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    let sum_pos: f64 = ranks
        .iter()
        .zip(y)
        .filter(|(_, w)| **w)
        .map(|(r, _)| r)
        .sum();
    (sum_pos - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

pub fn metrics(p: &[f64], y: &[bool]) -> Metrics {
    let n = p.len().max(1) as f64;
    let brier = p
        .iter()
        .zip(y)
        .map(|(p, y)| (p - if *y { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / n;
    let log_loss = -p
        .iter()
        .zip(y)
        .map(|(p, y)| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            if *y {
                p.ln()
            } else {
                (1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / n;
    let mut bins = vec![(0.0, 0.0, 0usize); 10];
    for (p, y) in p.iter().zip(y) {
        let b = ((p * 10.0) as usize).min(9);
        bins[b].0 += p;
        bins[b].1 += if *y { 1.0 } else { 0.0 };
        bins[b].2 += 1;
    }
    let reliability = bins
        .into_iter()
        .map(|(sp, sy, c)| {
            if c == 0 {
                (0.0, 0.0, 0)
            } else {
                (sp / c as f64, sy / c as f64, c)
            }
        })
        .collect();
    Metrics {
        auc: auc(p, y),
        brier,
        log_loss,
        reliability,
        n: p.len(),
    }
}

/// Fits a logistic model on (already scaled) rows.
fn logistic(rows: &[Vec<f64>], y: &[bool], alpha: f64) -> Result<(Vec<f64>, f64), String> {
    let ds = Dataset::new(matrix(rows), Array1::from(y.to_vec()));
    let fit = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(200)
        .fit(&ds)
        .map_err(|e| format!("logistic regression: {e}"))?;
    // linfa's probabilities are for one of the two labels, its own choice: find which by
    // comparing with its predicted label on the most confident row, and turn the
    // coefficients into those for "won".
    let x = matrix(rows);
    let p = fit.predict_probabilities(&x);
    let labels = fit.predict(&x);
    let i = (0..p.len())
        .max_by(|a, b| (p[*a] - 0.5).abs().total_cmp(&(p[*b] - 0.5).abs()))
        .unwrap_or(0);
    let p_is_won = (p[i] > 0.5) == labels[i];
    let raw = fit.intercept()
        + rows[i]
            .iter()
            .zip(fit.params())
            .map(|(a, b)| a * b)
            .sum::<f64>();
    let params_match_p = (sigmoid(raw) - p[i]).abs() < 1e-6;
    let sign = if p_is_won == params_match_p {
        1.0
    } else {
        -1.0
    };
    Ok((
        fit.params().iter().map(|c| sign * c).collect(),
        sign * fit.intercept(),
    ))
}

/// A depth-limited decision tree: each leaf's win rate on the training deals that reach it
/// (shrunk toward the overall rate), so its probabilities are calibrated by construction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TreeNode {
    /// `row[feature] <= value` goes to `left`, else to `right` (indices into the nodes).
    Split {
        feature: usize,
        value: f64,
        left: usize,
        right: usize,
    },
    /// The leaf's probability and the training snapshots in it.
    Leaf { p: f64, n: usize },
}

/// The tree's nodes, the root first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TreeModel {
    pub nodes: Vec<TreeNode>,
}

impl TreeModel {
    /// The path of (feature, value, went left) from the root to the row's leaf, and the
    /// leaf's probability and size.
    pub fn route(&self, row: &[f64]) -> (Vec<(usize, f64, bool)>, f64, usize) {
        let mut at = 0;
        let mut path = Vec::new();
        loop {
            match self.nodes.get(at) {
                Some(TreeNode::Split {
                    feature,
                    value,
                    left,
                    right,
                }) => {
                    let go_left = row.get(*feature).is_some_and(|x| x <= value);
                    path.push((*feature, *value, go_left));
                    at = if go_left { *left } else { *right };
                }
                Some(TreeNode::Leaf { p, n }) => return (path, *p, *n),
                None => return (path, 0.5, 0),
            }
        }
    }

    pub fn probability(&self, row: &[f64]) -> f64 {
        self.route(row).1
    }

    /// Every node's (rate, training snapshots): a leaf's own, a split's the size-weighted
    /// mean of its subtree's leaves.
    pub fn node_rates(&self) -> Vec<(f64, usize)> {
        fn rate(nodes: &[TreeNode], at: usize, out: &mut Vec<(f64, usize)>) -> (f64, usize) {
            let r = match nodes.get(at) {
                Some(TreeNode::Leaf { p, n }) => (*p, *n),
                Some(TreeNode::Split { left, right, .. }) if *left != at && *right != at => {
                    let (pl, nl) = rate(nodes, *left, out);
                    let (pr, nr) = rate(nodes, *right, out);
                    let n = nl + nr;
                    let p = if n > 0 {
                        (pl * nl as f64 + pr * nr as f64) / n as f64
                    } else {
                        0.5
                    };
                    (p, n)
                }
                _ => (0.5, 0),
            };
            out[at] = r;
            r
        }
        let mut out = vec![(0.5, 0); self.nodes.len()];
        if !self.nodes.is_empty() {
            rate(&self.nodes, 0, &mut out);
        }
        out
    }
}

/// Depth of the tree learner.
pub const TREE_DEPTH: usize = 4;

/// Fits the tree on `rows` (unscaled) and turns it into leaves with win rates.
fn fit_tree(rows: &[Vec<f64>], y: &[bool]) -> Result<TreeModel, String> {
    let labels: Vec<usize> = y.iter().map(|w| *w as usize).collect();
    let min_leaf = (rows.len() as f64 / 100.0).max(20.0);
    if rows.is_empty() {
        return Err("decision tree: no rows to learn from".into());
    }
    let tree = super::tree::Tree::fit(
        rows,
        &labels,
        2,
        super::tree::Params::new(TREE_DEPTH, min_leaf),
    );
    // Our own nodes from the tree's (its leaves carry a class, not a rate).
    let nodes: Vec<TreeNode> = tree
        .nodes
        .iter()
        .map(|n| match *n {
            super::tree::Node::Leaf { .. } => TreeNode::Leaf { p: 0.5, n: 0 },
            super::tree::Node::Split {
                feature,
                value,
                left,
                right,
            } => TreeNode::Split {
                feature,
                value,
                left,
                right,
            },
        })
        .collect();
    let mut model = TreeModel { nodes };
    // Leaf rates from the training rows, shrunk toward the overall rate (10 pseudo-deals).
    let rate = y.iter().filter(|w| **w).count() as f64 / y.len().max(1) as f64;
    let mut counts: std::collections::HashMap<usize, (f64, usize)> = Default::default();
    for (row, won) in rows.iter().zip(y) {
        let mut at = 0;
        while let Some(TreeNode::Split {
            feature,
            value,
            left,
            right,
        }) = model.nodes.get(at)
        {
            at = if row[*feature] <= *value {
                *left
            } else {
                *right
            };
        }
        let c = counts.entry(at).or_default();
        c.0 += *won as u8 as f64;
        c.1 += 1;
    }
    for (at, node) in model.nodes.iter_mut().enumerate() {
        if let TreeNode::Leaf { p, n } = node {
            let (w, k) = counts.get(&at).copied().unwrap_or((0.0, 0));
            *p = (w + 10.0 * rate) / (k as f64 + 10.0);
            *n = k;
        }
    }
    Ok(model)
}

/// Which learner scores the open deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    /// The calibrated logistic regression.
    Logistic,
    /// The depth-limited decision tree.
    Tree,
}

/// The result of training: the calibrated logistic model and both learners' holdout metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trained {
    pub model: WinModel,
    pub tree: TreeModel,
    /// The learner in use: of the two that give calibrated probabilities (the logistic
    /// regression after Platt scaling, the tree by its leaf rates), the one with the lower
    /// holdout log loss. Naive Bayes is reported, never used (its probabilities are not
    /// calibrated).
    pub chosen: Learner,
    pub logistic: Metrics,
    pub tree_metrics: Metrics,
    pub naive_bayes: Metrics,
    pub train: usize,
    pub calibration: usize,
    /// Holdout log loss of always predicting the training win rate: a model that cannot
    /// beat it has learned nothing.
    pub base_log_loss: f64,
    /// Why the model is refused although it may score well: a leak (one feature alone
    /// separates won from lost in training, or the holdout is implausibly well predicted).
    pub refused: Option<String>,
    /// Pairs of features correlated in training (|r| ≥ `CORRELATED`), with r: their
    /// effects are not told apart, so explanations name them together.
    pub correlated: Vec<(usize, usize, f64)>,
    /// Deals (not snapshots) in each slice: training, calibration, holdout.
    pub deals: (usize, usize, usize),
}

/// A single feature separating won from lost this well (AUC or 1 − AUC) in training is a
/// leak, not a signal: the outcome is written into it (lost deals at amount 0, say).
pub const LEAK_AUC: f64 = 0.99;
/// A holdout AUC above this is implausible for win probability: something leaks.
pub const IMPLAUSIBLE_AUC: f64 = 0.98;
/// Features whose training correlation reaches this are explained together.
pub const CORRELATED: f64 = 0.5;

impl Trained {
    /// The holdout metrics of the learner in use.
    pub fn metrics(&self) -> &Metrics {
        match self.chosen {
            Learner::Logistic => &self.logistic,
            Learner::Tree => &self.tree_metrics,
        }
    }

    /// The win probability of a row by the learner in use.
    pub fn probability(&self, row: &[f64]) -> f64 {
        match self.chosen {
            Learner::Logistic => self.model.probability(row),
            Learner::Tree => self.tree.probability(row),
        }
    }

    /// Whether the learned model is used: not refused for a leak, and better than the
    /// base rate on the holdout.
    pub fn useful(&self) -> bool {
        self.refused.is_none()
            && self.metrics().log_loss < self.base_log_loss - 0.005
            && self.metrics().auc > 0.55
    }

    /// Why the learned probabilities are not used (`None` when they are).
    pub fn not_used_because(&self) -> Option<String> {
        if let Some(r) = &self.refused {
            return Some(format!("the model was refused: {r}"));
        }
        (!self.useful()).then(|| {
            format!(
                "the model does not beat the base rate on its holdout (log loss {:.3} vs {:.3}, AUC {:.2})",
                self.metrics().log_loss,
                self.base_log_loss,
                self.metrics().auc
            )
        })
    }
}

/// Where the deals (in time order) are cut into training, calibration and holdout: the
/// first 70% of `n` deals, the next 15%, the last 15%.
pub fn deal_cuts(n: usize) -> (usize, usize) {
    (n * 70 / 100, n * 85 / 100)
}

/// Trains on examples grouped by deal, the deals in time order (oldest first): the first
/// 70% of the deals fit the learners, the next 15% calibrate the logistic model (Platt),
/// the last 15% are the holdout — every snapshot of a deal in the same slice. `names`
/// name the features (for the leakage check's message).
pub fn train(examples: &[Example], names: &[String]) -> Result<Trained, String> {
    let n = examples.len();
    if n < 100 {
        return Err(format!(
            "{n} snapshots of closed deals are too few to learn from (need at least 100)"
        ));
    }
    // The deals in order of first appearance, cut by deal.
    let mut order: Vec<i64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in examples {
        if seen.insert(e.deal) {
            order.push(e.deal);
        }
    }
    let (da, db) = deal_cuts(order.len());
    let slice_of: std::collections::HashMap<i64, u8> = order
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                *d,
                if i < da {
                    0
                } else if i < db {
                    1
                } else {
                    2
                },
            )
        })
        .collect();
    let pick = |k: u8| -> Vec<Example> {
        examples
            .iter()
            .filter(|e| slice_of.get(&e.deal) == Some(&k))
            .cloned()
            .collect()
    };
    let (fit, cal, test) = (pick(0), pick(1), pick(2));
    let (fit, cal, test) = (fit.as_slice(), cal.as_slice(), test.as_slice());
    if cal.is_empty() || test.is_empty() {
        return Err(format!(
            "{} closed deals are too few to hold some out for calibration and testing",
            order.len()
        ));
    }
    let labels = |e: &[Example]| -> Vec<bool> { e.iter().map(|x| x.won).collect() };
    if labels(fit).iter().all(|w| *w) || labels(fit).iter().all(|w| !*w) {
        return Err("the training deals are all won or all lost".into());
    }
    let raw: Vec<Vec<f64>> = fit.iter().map(|e| e.features.clone()).collect();
    let d = raw.first().map(Vec::len).unwrap_or(0);
    let ranges: Vec<(f64, f64)> = (0..d)
        .map(|j| {
            raw.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                    (lo.min(r[j]), hi.max(r[j]))
                })
        })
        .collect();
    let leak = single_feature_leak(&raw, &labels(fit), names);
    let correlated = correlated_pairs(&raw);
    let scaler = Scaler::fit(&raw);
    let scaled: Vec<Vec<f64>> = raw.iter().map(|r| scaler.apply(r)).collect();
    let (coefficients, intercept) = logistic(&scaled, &labels(fit), 1.0)?;
    let mut model = WinModel {
        scaler,
        coefficients,
        intercept,
        platt: (1.0, 0.0),
        ranges,
    };
    // Platt scaling on the calibration slice.
    let z: Vec<Vec<f64>> = cal
        .iter()
        .map(|e| vec![model.log_odds(&e.features)])
        .collect();
    if !labels(cal).iter().all(|w| *w) && !labels(cal).iter().all(|w| !*w) {
        let (c, i) = logistic(&z, &labels(cal), 1e-3)?;
        model.platt = (c[0], i);
    }
    let test_y = labels(test);
    let p_lr: Vec<f64> = test
        .iter()
        .map(|e| model.probability(&e.features))
        .collect();
    // Gaussian naive Bayes on the same scaled features, for comparison.
    let nb_ds = Dataset::new(
        matrix(&scaled),
        Array1::from(labels(fit).iter().map(|w| *w as usize).collect::<Vec<_>>()),
    );
    let nb = GaussianNb::params()
        .fit(&nb_ds)
        .map_err(|e| format!("naive Bayes: {e}"))?;
    let test_x: Vec<Vec<f64>> = test
        .iter()
        .map(|e| model.scaler.apply(&e.features))
        .collect();
    let (proba, classes) = nb.predict_proba(matrix(&test_x).view());
    let won_col = classes.iter().position(|c| **c == 1).unwrap_or(0);
    let p_nb: Vec<f64> = proba.column(won_col).to_vec();
    let rate = labels(fit).iter().filter(|w| **w).count() as f64 / fit.len() as f64;
    let base = metrics(&vec![rate; test_y.len()], &test_y);
    let logistic = metrics(&p_lr, &test_y);
    let tree = fit_tree(&raw, &labels(fit))?;
    let p_tree: Vec<f64> = test.iter().map(|e| tree.probability(&e.features)).collect();
    let tree_metrics = metrics(&p_tree, &test_y);
    let chosen = if tree_metrics.log_loss < logistic.log_loss {
        Learner::Tree
    } else {
        Learner::Logistic
    };
    let best_auc = logistic.auc.max(tree_metrics.auc);
    let refused = leak.or_else(|| {
        (best_auc > IMPLAUSIBLE_AUC).then(|| {
            format!(
                "its holdout AUC is {:.3}, implausibly high for win probability — something that records the outcome is among the features",
                best_auc
            )
        })
    });
    Ok(Trained {
        base_log_loss: base.log_loss,
        logistic,
        tree_metrics,
        chosen,
        tree,
        naive_bayes: metrics(&p_nb, &test_y),
        model,
        train: fit.len(),
        calibration: cal.len(),
        refused,
        correlated,
        deals: (da, db - da, order.len() - db),
    })
}

/// The first feature that alone separates won from lost in training (AUC ≥ `LEAK_AUC` or
/// ≤ 1 − `LEAK_AUC`), in words.
fn single_feature_leak(rows: &[Vec<f64>], y: &[bool], names: &[String]) -> Option<String> {
    let d = rows.first().map(Vec::len).unwrap_or(0);
    (0..d).find_map(|j| {
        let x: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        let first = x.first().copied().unwrap_or(0.0);
        if x.iter().all(|v| *v == first) {
            return None;
        }
        let a = auc(&x, y);
        (a >= LEAK_AUC || a <= 1.0 - LEAK_AUC).then(|| {
            let name = names.get(j).cloned().unwrap_or_else(|| format!("feature {j}"));
            let (won, lost): (Vec<f64>, Vec<f64>) = {
                let mut w = Vec::new();
                let mut l = Vec::new();
                for (v, won) in x.iter().zip(y) {
                    if *won { w.push(*v) } else { l.push(*v) }
                }
                (w, l)
            };
            let range = |v: &[f64]| {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo, hi)
            };
            let ((wl, wh), (ll, lh)) = (range(&won), range(&lost));
            format!(
                "{name} alone separates won from lost deals in training (AUC {a:.3}; won {wl:.2}–{wh:.2}, lost {ll:.2}–{lh:.2} on the model's scale) — the outcome is written into it (for example lost deals recorded at amount 0)"
            )
        })
    })
}

/// Pairs of features whose correlation in training reaches `CORRELATED` in size.
fn correlated_pairs(rows: &[Vec<f64>]) -> Vec<(usize, usize, f64)> {
    let d = rows.first().map(Vec::len).unwrap_or(0);
    let col = |j: usize| -> Vec<f64> { rows.iter().map(|r| r[j]).collect() };
    let cols: Vec<Vec<f64>> = (0..d).map(col).collect();
    let mut out = Vec::new();
    for i in 0..d {
        for j in i + 1..d {
            if let Some(r) = super::stats::correlation(&cols[i], &cols[j]) {
                if r.abs() >= CORRELATED {
                    out.push((i, j, r));
                }
            }
        }
    }
    out
}

/// A seeded uniform generator for the tests (a 64-bit LCG's top 53 bits).
#[cfg(test)]
fn test_rng(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed;
    move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_answers() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auc(&[0.9, 0.8, 0.1], &[true, true, false]), 1.0);
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
    }

    #[test]
    fn brier_and_log_loss_known_answers() {
        let m = metrics(&[1.0, 0.0, 0.5], &[true, false, true]);
        assert!((m.brier - 0.25 / 3.0).abs() < 1e-12);
        assert!((m.log_loss - (-(0.5f64).ln() - 2.0 * (1.0 - 1e-6f64).ln()) / 3.0).abs() < 1e-9);
    }

    #[test]
    fn learns_a_real_signal_and_calibrates() {
        // Win chance rises with the first feature; the second is noise.
        let mut rnd = test_rng(987654321);
        let examples: Vec<Example> = (0..3000)
            .map(|i| {
                let a = rnd() * 4.0 - 2.0;
                let noise = rnd();
                let won = rnd() < sigmoid(1.5 * a);
                Example {
                    features: vec![a, noise],
                    won,
                    deal: i / 3,
                }
            })
            .collect();
        let names = vec!["a".to_string(), "noise".to_string()];
        let t = train(&examples, &names).unwrap();
        assert_eq!(t.refused, None);
        assert_eq!(
            t.deals,
            (700, 150, 150),
            "split by deal: three snapshots each"
        );
        // A smooth logistic signal: the logistic regression beats the step-wise tree.
        assert_eq!(
            t.chosen,
            Learner::Logistic,
            "{:?} vs {:?}",
            t.logistic,
            t.tree_metrics
        );
        assert!(t.logistic.auc > 0.75, "{:?}", t.logistic);
        assert!(
            t.model.coefficients[0] > 0.5 && t.model.coefficients[1].abs() < 0.2,
            "{:?}",
            t.model.coefficients
        );
        // Calibrated: predicted and observed agree in the well-filled bins.
        for (p, o, c) in &t.logistic.reliability {
            if *c > 60 {
                assert!((p - o).abs() < 0.12, "bin {p:.2} observed {o:.2} ({c})");
            }
        }
    }
}

#[cfg(test)]
mod leak_tests {
    use super::*;

    fn examples(leaky: bool) -> Vec<Example> {
        let mut rnd = test_rng(42);
        (0..2000)
            .map(|i| {
                let signal = rnd() * 2.0 - 1.0;
                let won = rnd() < sigmoid(1.2 * signal);
                // ln(1 + amount): lost deals at amount 0 when leaky.
                let amount = if leaky && !won {
                    0.0
                } else {
                    8.0 + rnd() * 3.0
                };
                Example {
                    features: vec![signal, amount],
                    won,
                    deal: i as i64,
                }
            })
            .collect()
    }

    #[test]
    fn a_feature_that_records_the_outcome_is_refused_by_name() {
        let names = vec!["stage reached".to_string(), "amount".to_string()];
        let t = train(&examples(true), &names).unwrap();
        let why = t.refused.clone().expect("refused");
        assert!(
            why.starts_with("amount alone separates won from lost"),
            "{why}"
        );
        assert!(!t.useful());
        assert!(t.not_used_because().unwrap().contains("refused"));
        let honest = train(&examples(false), &names).unwrap();
        assert_eq!(honest.refused, None);
        assert!(honest.useful(), "{:?}", honest.logistic);
    }

    #[test]
    fn no_deal_is_in_two_slices_and_scores_stay_in_the_training_range() {
        let mut e = examples(false);
        // Five snapshots per deal.
        for (i, x) in e.iter_mut().enumerate() {
            x.deal = (i / 5) as i64;
        }
        let t = train(&e, &["a".into(), "b".into()]).unwrap();
        assert_eq!(t.deals, (280, 60, 60));
        assert_eq!(t.train + t.calibration + t.logistic.n, 2000);
        assert_eq!(t.train, 280 * 5, "whole deals");
        // Beyond the training range, the score is the edge's.
        let (lo, hi) = t.model.ranges[0];
        let edge = t.model.probability(&[hi, 9.0]);
        assert_eq!(t.model.probability(&[hi + 50.0, 9.0]), edge);
        assert!(lo < hi);
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    /// Wins only inside a box (a < 0.3 and b > 0.6): no line separates it, a tree does. The
    /// tree is chosen by log loss and its leaves give the box's rate.
    #[test]
    fn the_tree_is_chosen_where_the_signal_is_not_a_line() {
        let mut rnd = test_rng(7);
        let examples: Vec<Example> = (0..4000)
            .map(|i| {
                let (a, b) = (rnd(), rnd());
                let inside = a < 0.3 && b > 0.6;
                let won = rnd() < if inside { 0.9 } else { 0.1 };
                Example {
                    features: vec![a, b],
                    won,
                    deal: i,
                }
            })
            .collect();
        let t = train(&examples, &["a".into(), "b".into()]).unwrap();
        assert_eq!(
            t.chosen,
            Learner::Tree,
            "{:?} vs {:?}",
            t.tree_metrics,
            t.logistic
        );
        assert!(t.tree_metrics.log_loss < t.logistic.log_loss);
        let inside = t.probability(&[0.1, 0.9]);
        let outside = t.probability(&[0.8, 0.2]);
        assert!((inside - 0.9).abs() < 0.1, "{inside}");
        assert!((outside - 0.1).abs() < 0.05, "{outside}");
        let (path, _, n) = t.tree.route(&[0.1, 0.9]);
        assert!(!path.is_empty() && n > 0);
    }
}
