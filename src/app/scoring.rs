//! Win probability for open deals, learned from closed ones. Each closed deal is looked at
//! as it stood at fixed ages (7, 30, 60 and 120 days, while still open); open deals as they
//! stand today. Features read only what was known at that moment, so nothing after the
//! prediction date (least of all the outcome or the close date) leaks in.

use crate::analytics::scoring::{train, Example, Metrics, Trained};
use crate::app::Db as Store;
use crate::store::scoring::DealFacts;
use crate::store::StoreError;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Closed deals learned from (the most recently created of those old enough).
pub const TRAINING_DEALS: usize = 20_000;
/// Deals learned from were created at least this long ago, so most of their cohort has
/// closed either way.
pub const COHORT_AGE_DAYS: i64 = 180;

/// What each feature is, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    StageProgress,
    Age,
    Amount,
    RecentActivities,
    DaysSinceActivity,
    OwnerWinRate,
    Segment(String),
    Source(String),
    Product(String),
}

/// Turns a deal into numbers as of a date. Built from the training deals (the categories
/// seen there) and reused for scoring.
pub struct Featurizer {
    pub features: Vec<Feature>,
    max_position: i64,
    stage_entries: HashMap<i64, Vec<(NaiveDate, i64)>>,
    activity: HashMap<i64, Vec<NaiveDate>>,
    /// Per owner: close dates in order with running (won, closed) counts.
    owners: HashMap<i64, Vec<(NaiveDate, u32, u32)>>,
}

fn top(values: impl Iterator<Item = Option<String>>, n: usize) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in values.flatten() {
        *counts.entry(v).or_default() += 1;
    }
    let mut all: Vec<(String, usize)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.into_iter().take(n).map(|x| x.0).collect()
}

impl Featurizer {
    /// Facts of the deal as of `as_of`: the values in the order of `features`.
    pub fn row(&self, d: &DealFacts, as_of: NaiveDate) -> Vec<f64> {
        let reached = self
            .stage_entries
            .get(&d.id)
            .map(|v| {
                v.iter()
                    .filter(|(day, _)| *day <= as_of)
                    .map(|x| x.1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let acts = self.activity.get(&d.id).map(Vec::as_slice).unwrap_or(&[]);
        let before: Vec<&NaiveDate> = acts.iter().filter(|a| **a <= as_of).collect();
        let recent = before
            .iter()
            .filter(|a| (as_of - ***a).num_days() < 30)
            .count() as f64;
        let since = before
            .last()
            .map(|a| (as_of - **a).num_days().min(365))
            .unwrap_or(365) as f64;
        let owner_rate = d
            .owner_id
            .and_then(|o| self.owners.get(&o))
            .map(|hist| {
                let k = hist.partition_point(|(day, _, _)| *day < as_of);
                let (w, n) = if k == 0 {
                    (0, 0)
                } else {
                    (hist[k - 1].1, hist[k - 1].2)
                };
                (w as f64 + 1.0) / (n as f64 + 2.0)
            })
            .unwrap_or(0.5);
        self.features
            .iter()
            .map(|f| match f {
                Feature::StageProgress => reached as f64 / self.max_position.max(1) as f64,
                Feature::Age => ((as_of - d.created_on).num_days().max(0) as f64 + 1.0).ln(),
                Feature::Amount => (d.amount_cents as f64 / 100.0 + 1.0).ln(),
                Feature::RecentActivities => recent,
                Feature::DaysSinceActivity => since,
                Feature::OwnerWinRate => owner_rate,
                Feature::Segment(s) => (d.segment.as_deref() == Some(s)) as u8 as f64,
                Feature::Source(s) => (d.source.as_deref() == Some(s)) as u8 as f64,
                Feature::Product(s) => (d.product.as_deref() == Some(s)) as u8 as f64,
            })
            .collect()
    }
}

/// Ages (days since creation) at which closed deals are looked at to learn from: each
/// deal still open at that age gives one example. Fixed ages, so the prediction date never
/// depends on when (or how) the deal closed.
pub const SNAPSHOT_AGES: [i64; 4] = [7, 30, 60, 120];

/// The moments a closed deal is learned from: before its close, at the fixed ages.
pub fn snapshots(d: &DealFacts) -> Vec<NaiveDate> {
    let Some(closed) = d.closed_on else {
        return Vec::new();
    };
    SNAPSHOT_AGES
        .iter()
        .map(|a| d.created_on + chrono::Duration::days(*a))
        .filter(|s| *s < closed)
        .collect()
}

pub struct Scored {
    pub trained: Trained,
    pub featurizer: Featurizer,
    /// Open deals with their probability.
    pub open: Vec<(DealFacts, f64)>,
    pub today: NaiveDate,
}

/// Why win probabilities could not be learned.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data is too thin to learn from (the reason says what is missing).
    #[error("{0}")]
    Untrainable(String),
}

/// Learns from the newest closed deals and scores every open one.
pub fn score(store: &Store, today: NaiveDate) -> Result<Scored, ScoringError> {
    score_checked(store, today)?.map_err(ScoringError::Untrainable)
}

/// Like [`score`], telling a failure of the database (the outer error) from data too thin
/// to learn from (the inner one, a reason to show).
pub fn score_checked(
    store: &Store,
    today: NaiveDate,
) -> Result<Result<Scored, String>, StoreError> {
    let cohort_end = crate::domain::date::iso(today - chrono::Duration::days(COHORT_AGE_DAYS));
    let deals = store.scoring_deals(TRAINING_DEALS, &cohort_end)?;
    // The closed deals that give at least one snapshot, oldest first: the split is by
    // deal (every snapshot of a deal in one slice), the holdout the most recent deals.
    let mut closed: Vec<&DealFacts> = deals
        .iter()
        .filter(|d| d.outcome.is_some() && !snapshots(d).is_empty())
        .collect();
    closed.sort_by_key(|d| (d.created_on, d.id));
    // The categories (segments, sources, products) are learned from the training deals
    // only, so the holdout says nothing about them.
    let (fit_deals, _) = crate::analytics::scoring::deal_cuts(closed.len());
    let featurizer = featurizer(store, &deals, &closed[..fit_deals])?;
    let examples: Vec<Example> = closed
        .iter()
        .flat_map(|d| {
            let f = &featurizer;
            snapshots(d).into_iter().map(move |at| Example {
                features: f.row(d, at),
                won: d.outcome == Some(true),
                deal: d.id,
            })
        })
        .collect();
    let names: Vec<String> = featurizer.features.iter().map(describe_feature).collect();
    let trained = match train(&examples, &names) {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    let open = deals
        .into_iter()
        .filter(|d| d.outcome.is_none())
        .map(|d| {
            let p = trained.probability(&featurizer.row(&d, today));
            (d, p)
        })
        .collect();
    Ok(Ok(Scored {
        trained,
        featurizer,
        open,
        today,
    }))
}

/// Reads the stage history, activity and owners' records the features need, and picks
/// the categories (segments, sources, products) from `learn_from` (the training deals).
pub fn featurizer(
    store: &Store,
    deals: &[DealFacts],
    learn_from: &[&DealFacts],
) -> Result<Featurizer, StoreError> {
    let ids: Vec<i64> = deals.iter().map(|d| d.id).collect();
    let stage_entries = store.stage_entries(&ids)?;
    let activity = store.activity_days(&ids)?;
    let mut owners: HashMap<i64, Vec<(NaiveDate, u32, u32)>> = HashMap::new();
    for (owner, day, won) in store.owner_outcomes()? {
        let hist = owners.entry(owner).or_default();
        let (w, n) = hist.last().map(|x| (x.1, x.2)).unwrap_or((0, 0));
        hist.push((day, w + won as u32, n + 1));
    }
    let max_position = store
        .stages()?
        .iter()
        .filter(|s| s.kind == crate::domain::StageKind::Open)
        .map(|s| s.position)
        .max()
        .unwrap_or(1);
    let closed = learn_from;
    let mut features = vec![
        Feature::StageProgress,
        Feature::Age,
        Feature::Amount,
        Feature::RecentActivities,
        Feature::DaysSinceActivity,
        Feature::OwnerWinRate,
    ];
    features.extend(
        top(closed.iter().map(|d| d.segment.clone()), 4)
            .into_iter()
            .map(Feature::Segment),
    );
    features.extend(
        top(closed.iter().map(|d| d.source.clone()), 6)
            .into_iter()
            .map(Feature::Source),
    );
    features.extend(
        top(closed.iter().map(|d| d.product.clone()), 8)
            .into_iter()
            .map(Feature::Product),
    );
    Ok(Featurizer {
        features,
        max_position,
        stage_entries,
        activity,
        owners,
    })
}

/// Scores and stores them with the model run; returns the run id.
pub fn recompute(store: &mut Store, today: NaiveDate) -> Result<(i64, Scored), ScoringError> {
    let s = score(store, today)?;
    let id = store.save_scores(&new_scores(&s))?;
    Ok((id, s))
}

/// What storing a learned model writes: its parameters, metrics and (when it beats the
/// base rate) the open deals' scores.
pub fn new_scores(s: &Scored) -> crate::store::scoring::NewScores {
    let params = serde_json::json!({
        "chosen": s.trained.chosen,
        "logistic_regression": s.trained.model,
        "decision_tree": s.trained.tree,
    })
    .to_string();
    let metrics = serde_json::json!({
        "chosen": s.trained.chosen,
        "in_use": s.trained.metrics(),
        "logistic_regression": s.trained.logistic,
        "decision_tree": s.trained.tree_metrics,
        "gaussian_naive_bayes": s.trained.naive_bayes,
        "train": s.trained.train,
        "calibration": s.trained.calibration,
        "base_rate_log_loss": s.trained.base_log_loss,
        "scores_kept": s.trained.useful(),
        "refused": s.trained.refused,
        "deals": {"train": s.trained.deals.0, "calibration": s.trained.deals.1, "holdout": s.trained.deals.2},
        "features": s.featurizer.features.iter().map(describe_feature).collect::<Vec<_>>(),
    })
    .to_string();
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // A model no better than the base rate is recorded with its metrics but its scores are
    // not kept: the pipeline falls back to the stage probabilities.
    let scores: Vec<(i64, f64)> = if s.trained.useful() {
        s.open.iter().map(|(d, p)| (d.id, *p)).collect()
    } else {
        Vec::new()
    };
    crate::store::scoring::NewScores {
        params_json: params,
        metrics_json: metrics,
        at,
        scores,
        history: s.open.iter().map(|(d, p)| (d.id, *p)).collect(),
    }
}

pub fn describe_feature(f: &Feature) -> String {
    match f {
        Feature::StageProgress => "stage reached".into(),
        Feature::Age => "age".into(),
        Feature::Amount => "amount".into(),
        Feature::RecentActivities => "activities in the last 30 days".into(),
        Feature::DaysSinceActivity => "days since the last activity".into(),
        Feature::OwnerWinRate => "owner's past win rate".into(),
        Feature::Segment(s) => format!("segment {s}"),
        Feature::Source(s) => format!("source {s}"),
        Feature::Product(s) => format!("product {s}"),
    }
}

/// Each factor's effect on one open deal in words, biggest first: (sentence, log-odds).
/// A value beyond the range seen in training is said so, and its effect is the edge's (the
/// model is not extrapolated); features correlated in training are named together with
/// their joint effect, since the model cannot tell their parts apart.
pub fn explain(s: &Scored, deal: &DealFacts) -> Vec<(String, f64)> {
    if s.trained.chosen == crate::analytics::scoring::Learner::Tree {
        return explain_by_tree(s, deal);
    }
    let row = s.featurizer.row(deal, s.today);
    let model = &s.trained.model;
    let contributions = model.contributions(&row);
    let days = |v: f64| (v.exp() - 1.0).round();
    let parts: Vec<(usize, String, f64)> = s
        .featurizer
        .features
        .iter()
        .enumerate()
        .zip(row.iter().zip(&contributions))
        .filter_map(|((j, f), (v, c))| {
            let mut text = match f {
                Feature::StageProgress => format!("has reached {}", deal.stage),
                Feature::Age => format!("is {} days old", days(*v)),
                Feature::Amount => format!("is worth {:.0}", v.exp() - 1.0),
                Feature::RecentActivities => format!("{v:.0} activities in the last 30 days"),
                Feature::DaysSinceActivity if *v >= 365.0 => "no activity logged in a year".into(),
                Feature::DaysSinceActivity => format!("last activity {v:.0} days ago"),
                Feature::OwnerWinRate => format!(
                    "{} wins {:.0}% of the deals they close",
                    deal.owner.as_deref().unwrap_or("the owner"),
                    v * 100.0
                ),
                // Category flags speak only for the deal's own category.
                Feature::Segment(_) | Feature::Source(_) | Feature::Product(_) if *v == 0.0 => {
                    return None;
                }
                Feature::Segment(x) => format!("customer segment is {x}"),
                Feature::Source(x) => format!("came from {x}"),
                Feature::Product(x) => format!("is for {x}"),
            };
            if let Some((lo, hi)) = model.ranges.get(j) {
                if v > hi || v < lo {
                    let edge = if v > hi { *hi } else { *lo };
                    let edge_text = match f {
                        Feature::Age => format!("{} days", days(edge)),
                        Feature::Amount => format!("{:.0}", edge.exp() - 1.0),
                        _ => format!("{edge:.0}"),
                    };
                    text = format!(
                        "{text} — beyond anything seen in training ({} {edge_text}), so its effect is taken at that",
                        if v > hi { "at most" } else { "at least" }
                    );
                }
            }
            Some((j, text, *c))
        })
        .collect();
    // Correlated features of this deal, named together (joined by union-find).
    let mut group: Vec<usize> = (0..parts.len()).collect();
    fn root(g: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while g[r] != r {
            r = g[r];
        }
        g[i] = r;
        r
    }
    for (a, b, _) in &s.trained.correlated {
        let (Some(x), Some(y)) = (
            parts.iter().position(|p| p.0 == *a),
            parts.iter().position(|p| p.0 == *b),
        ) else {
            continue;
        };
        let (rx, ry) = (root(&mut group, x), root(&mut group, y));
        group[rx] = ry;
    }
    let mut joined: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..parts.len() {
        let r = root(&mut group, i);
        match joined.iter_mut().find(|(g, _)| *g == r) {
            Some((_, members)) => members.push(i),
            None => joined.push((r, vec![i])),
        }
    }
    let mut out: Vec<(String, f64)> = joined
        .into_iter()
        .map(|(_, m)| {
            let c: f64 = m.iter().map(|i| parts[*i].2).sum();
            if m.len() == 1 {
                (parts[m[0]].1.clone(), c)
            } else {
                let texts: Vec<&str> = m.iter().map(|i| parts[*i].1.as_str()).collect();
                (
                    format!(
                        "{} (correlated in training, so taken together)",
                        texts.join(" and ")
                    ),
                    c,
                )
            }
        })
        .collect();
    out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    out
}

/// The tree's way to the deal's leaf, a condition a line, each with the change in log-odds
/// it brings (from the training deals on either side), the deepest last.
fn explain_by_tree(s: &Scored, deal: &DealFacts) -> Vec<(String, f64)> {
    let row = s.featurizer.row(deal, s.today);
    let tree = &s.trained.tree;
    let rates = tree.node_rates();
    let logit = |p: f64| {
        let p = p.clamp(1e-6, 1.0 - 1e-6);
        (p / (1.0 - p)).ln()
    };
    let mut at = 0;
    let mut out = Vec::new();
    for (feature, value, left) in tree.route(&row).0 {
        let Some(crate::analytics::scoring::TreeNode::Split {
            left: l, right: r, ..
        }) = tree.nodes.get(at)
        else {
            break;
        };
        let next = if left { *l } else { *r };
        let f = s.featurizer.features.get(feature);
        let shown = match f {
            Some(Feature::Age) | Some(Feature::Amount) => format!("{:.0}", value.exp() - 1.0),
            Some(Feature::StageProgress) | Some(Feature::OwnerWinRate) => format!("{value:.2}"),
            _ => format!("{value:.1}"),
        };
        let name = f.map(describe_feature).unwrap_or_else(|| "?".into());
        let text = match f {
            Some(Feature::Segment(_) | Feature::Source(_) | Feature::Product(_)) => {
                format!("{name}: {}", if left { "no" } else { "yes" })
            }
            _ => format!("{name} {} {shown}", if left { "below" } else { "at least" }),
        };
        let c = logit(rates[next].0) - logit(rates[at].0);
        out.push((
            format!(
                "{text} (of {} training snapshots, {:.0}% won)",
                rates[next].1,
                100.0 * rates[next].0
            ),
            c,
        ));
        at = next;
    }
    out
}

/// One open deal's win probability in words: a headline, each factor with its effect,
/// and a note when the learned scores are not used.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub deal_id: i64,
    pub headline: String,
    /// (sentence, log-odds contribution, effect in words), biggest effect first.
    pub factors: Vec<(String, f64, &'static str)>,
    pub note: Option<String>,
}

/// Finds an open deal by id or external id and explains its score.
pub fn explain_deal(s: &Scored, which: &str) -> Option<Explanation> {
    let (deal, p) = s
        .open
        .iter()
        .find(|(d, _)| d.external_id.as_deref() == Some(which) || d.id.to_string() == which)?;
    let headline = format!(
        "{} — {} ({}), {} in {}: win probability {:.0}%",
        deal.external_id
            .clone()
            .unwrap_or_else(|| deal.id.to_string()),
        deal.name,
        deal.customer,
        crate::domain::Money(deal.amount_cents),
        deal.stage,
        p * 100.0
    );
    let factors = explain(s, deal)
        .into_iter()
        .map(|(text, c)| {
            let effect = if c.abs() < 0.05 {
                "hardly matters"
            } else if c > 0.0 {
                "raises the odds"
            } else {
                "lowers the odds"
            };
            (text, c, effect)
        })
        .collect();
    let note = s
        .trained
        .not_used_because()
        .map(|why| format!("{why}, so the pipeline uses the stage probability for this deal"));
    Some(Explanation {
        deal_id: deal.id,
        headline,
        factors,
        note,
    })
}

/// Metrics of the three learners, for `--evaluate`.
pub fn evaluation(s: &Scored) -> [(&'static str, &Metrics); 3] {
    [
        ("logistic regression (calibrated)", &s.trained.logistic),
        (
            "decision tree (depth 4, leaf rates)",
            &s.trained.tree_metrics,
        ),
        ("gaussian naive Bayes", &s.trained.naive_bayes),
    ]
}

/// The learner in use, in words.
pub fn learner_name(s: &Scored) -> &'static str {
    match s.trained.chosen {
        crate::analytics::scoring::Learner::Logistic => "the calibrated logistic regression",
        crate::analytics::scoring::Learner::Tree => "the decision tree",
    }
}

/// Deals a run must have seen close before its live error is judged.
pub const MIN_LIVE: usize = 30;

/// A stored win-probability run checked against what happened since.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunAccuracy {
    pub run_id: i64,
    pub at: String,
    /// Whether its scores were used (it beat the base rate and was not refused).
    pub used: bool,
    /// Open deals it scored, and of them those closed since.
    pub scored: usize,
    pub closed: usize,
    pub won: usize,
    /// On the deals closed since (`None` before any has).
    pub live: Option<Metrics>,
    /// Its training holdout's log loss and AUC.
    pub holdout_log_loss: Option<f64>,
    pub holdout_auc: Option<f64>,
    /// Said when the live log loss is significantly worse than the holdout's (one-sided
    /// z > 1.96 on the per-deal losses, with at least `MIN_LIVE` closed deals).
    pub drift: Option<String>,
}

/// Every stored win-probability run against the outcomes of the deals it scored.
pub fn accuracy(store: &Store) -> Result<Vec<RunAccuracy>, StoreError> {
    Ok(store
        .score_run_outcomes()?
        .into_iter()
        .map(|r| {
            let m: serde_json::Value = serde_json::from_str(&r.metrics_json).unwrap_or_default();
            // The learner in use (runs before the tree: the logistic regression).
            let used_m = if m["in_use"].is_object() {
                &m["in_use"]
            } else {
                &m["logistic_regression"]
            };
            let holdout_log_loss = used_m["log_loss"].as_f64();
            let holdout_auc = used_m["auc"].as_f64();
            let used = m["scores_kept"].as_bool().unwrap_or(false);
            let p: Vec<f64> = r.closed.iter().map(|x| x.0).collect();
            let y: Vec<bool> = r.closed.iter().map(|x| x.1).collect();
            let live = (!p.is_empty()).then(|| crate::analytics::scoring::metrics(&p, &y));
            let drift = match (&live, holdout_log_loss) {
                (Some(l), Some(h)) if p.len() >= MIN_LIVE => {
                    drift_z(&p, &y, h).filter(|z| *z > 1.96).map(|z| {
                        format!(
                            "drift: log loss {:.3} on the {} deals closed since against {:.3} on its holdout (z = {z:.1}): the model no longer fits — recompute",
                            l.log_loss,
                            p.len(),
                            h
                        )
                    })
                }
                _ => None,
            };
            RunAccuracy {
                run_id: r.run_id,
                at: r.at,
                used,
                scored: r.scored,
                closed: p.len(),
                won: y.iter().filter(|w| **w).count(),
                live,
                holdout_log_loss,
                holdout_auc,
                drift,
            }
        })
        .collect())
}

/// z of the live mean log loss against `holdout`: (mean − holdout) / standard error of
/// the per-deal losses. `None` without spread.
fn drift_z(p: &[f64], y: &[bool], holdout: f64) -> Option<f64> {
    let losses: Vec<f64> = p
        .iter()
        .zip(y)
        .map(|(p, y)| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            if *y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .collect();
    let n = losses.len() as f64;
    let mean = losses.iter().sum::<f64>() / n;
    let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let se = (var / n).sqrt();
    (se > 0.0).then(|| (mean - holdout) / se)
}
