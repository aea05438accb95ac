//! Win probability: logistic regression (linfa-logistic) against Gaussian naive Bayes
//! (linfa-bayes), a time-ordered split, Platt calibration, and the holdout's AUC, Brier
//! score, log loss and reliability table. Pure: takes feature rows, returns models and
//! metrics.

use linfa::prelude::*;
use linfa_bayes::{GaussianNb, NaiveBayes};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

/// One example: its features (already numeric) and, for closed deals, whether it won.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub features: Vec<f64>,
    pub won: bool,
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
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl WinModel {
    /// Raw log-odds of a feature row.
    pub fn log_odds(&self, row: &[f64]) -> f64 {
        let x = self.scaler.apply(row);
        self.intercept
            + x.iter()
                .zip(&self.coefficients)
                .map(|(a, b)| a * b)
                .sum::<f64>()
    }
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(self.platt.0 * self.log_odds(row) + self.platt.1)
    }
    /// Each feature's contribution to the log-odds against an average deal.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let x = self.scaler.apply(row);
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

/// The result of training: the calibrated logistic model and both learners' holdout metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trained {
    pub model: WinModel,
    pub logistic: Metrics,
    pub naive_bayes: Metrics,
    pub train: usize,
    pub calibration: usize,
    /// Holdout log loss of always predicting the training win rate: a model that cannot
    /// beat it has learned nothing.
    pub base_log_loss: f64,
}

impl Trained {
    /// Whether the calibrated model beats the base rate on the holdout.
    pub fn useful(&self) -> bool {
        self.logistic.log_loss < self.base_log_loss - 0.005 && self.logistic.auc > 0.55
    }
}

/// Trains on examples in time order (oldest first): the first 70% fit the learners, the
/// next 15% calibrate the logistic model (Platt), the last 15% are the holdout.
pub fn train(examples: &[Example]) -> Result<Trained, String> {
    let n = examples.len();
    if n < 100 {
        return Err(format!(
            "{n} closed deals are too few to learn from (need at least 100)"
        ));
    }
    let (a, b) = (n * 70 / 100, n * 85 / 100);
    let (fit, cal, test) = (&examples[..a], &examples[a..b], &examples[b..]);
    let labels = |e: &[Example]| -> Vec<bool> { e.iter().map(|x| x.won).collect() };
    if labels(fit).iter().all(|w| *w) || labels(fit).iter().all(|w| !*w) {
        return Err("the training deals are all won or all lost".into());
    }
    let raw: Vec<Vec<f64>> = fit.iter().map(|e| e.features.clone()).collect();
    let scaler = Scaler::fit(&raw);
    let scaled: Vec<Vec<f64>> = raw.iter().map(|r| scaler.apply(r)).collect();
    let (coefficients, intercept) = logistic(&scaled, &labels(fit), 1.0)?;
    let mut model = WinModel {
        scaler,
        coefficients,
        intercept,
        platt: (1.0, 0.0),
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
    Ok(Trained {
        base_log_loss: base.log_loss,
        logistic: metrics(&p_lr, &test_y),
        naive_bayes: metrics(&p_nb, &test_y),
        model,
        train: fit.len(),
        calibration: cal.len(),
    })
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
        let mut x = 987654321u64;
        let mut rnd = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let examples: Vec<Example> = (0..3000)
            .map(|_| {
                let a = rnd() * 4.0 - 2.0;
                let noise = rnd();
                let won = rnd() < sigmoid(1.5 * a);
                Example {
                    features: vec![a, noise],
                    won,
                }
            })
            .collect();
        let t = train(&examples).unwrap();
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
