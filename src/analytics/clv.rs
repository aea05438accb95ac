//! Customer lifetime value: the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your
//! customers the easy way") for repeat purchases and the probability a customer is still
//! active, and the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV") for the
//! value of a purchase. Both are fitted by maximum likelihood, as the `lifetimes` package
//! does: Nelder–Mead on the logarithms of the parameters, starting from 1.
//!
//! Days are the unit of time; several orders on one day are one purchase (their amounts
//! summed, refunds subtracted). A day with an order of any value, free ones included (as
//! `lifetimes` counts them), is a purchase; a day with only refunds (negative amounts)
//! is not, but its refunds lower the customer's spend.

use crate::domain::segments::LedgerLine;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

/// One customer as the models read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub customer_id: i64,
    /// Repeat purchases: purchase days after the first.
    pub frequency: f64,
    /// Days from the first purchase to the last.
    pub recency: f64,
    /// Days from the first purchase to the end of the period.
    pub age: f64,
    /// Mean value of a repeat purchase in currency units, net of the refunds made after
    /// the first purchase (never below 0); 0 without repeat purchases.
    pub monetary: f64,
}

/// Per customer and day, up to `end` (inclusive): the net amount in currency units and
/// whether the day has an order (an amount of 0 or more), which makes it a purchase.
fn days(
    lines: &[LedgerLine],
    from: Option<NaiveDate>,
    end: NaiveDate,
) -> HashMap<i64, BTreeMap<NaiveDate, (f64, bool)>> {
    let mut by: HashMap<i64, BTreeMap<NaiveDate, (f64, bool)>> = HashMap::new();
    for l in lines {
        let Ok(on) = NaiveDate::parse_from_str(&l.ordered_on, "%Y-%m-%d") else {
            continue;
        };
        if on > end || from.is_some_and(|f| on <= f) {
            continue;
        }
        let day = by.entry(l.customer_id).or_default().entry(on).or_default();
        day.0 += l.amount_cents as f64 / 100.0;
        day.1 |= l.amount_cents >= 0;
    }
    by
}

/// The customers who bought on or before `end`, by id.
pub fn summarise(lines: &[LedgerLine], end: NaiveDate) -> Vec<Summary> {
    let mut out: Vec<Summary> = days(lines, None, end)
        .into_iter()
        .filter_map(|(id, d)| {
            let purchases: Vec<NaiveDate> =
                d.iter().filter(|(_, v)| v.1).map(|(k, _)| *k).collect();
            let first = *purchases.first()?;
            let last = *purchases.last()?;
            let x = (purchases.len() - 1) as f64;
            let after: f64 = d.range(first.succ_opt()?..).map(|(_, v)| v.0).sum();
            Some(Summary {
                customer_id: id,
                frequency: x,
                recency: (last - first).num_days() as f64,
                age: (end - first).num_days() as f64,
                monetary: if x > 0.0 { (after / x).max(0.0) } else { 0.0 },
            })
        })
        .collect();
    out.sort_by_key(|s| s.customer_id);
    out
}

/// What each customer (by id) bought after `calibration_end` up to `end`: purchase days
/// and the net value of everything in those days (refunds included).
pub fn holdout(
    lines: &[LedgerLine],
    calibration_end: NaiveDate,
    end: NaiveDate,
) -> HashMap<i64, (f64, f64)> {
    days(lines, Some(calibration_end), end)
        .into_iter()
        .map(|(id, d)| {
            let purchases = d.values().filter(|v| v.1).count();
            (id, (purchases as f64, d.values().map(|v| v.0).sum()))
        })
        .collect()
}

fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// BG/NBD parameters: purchase rates Gamma(r, α); dropout probability Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    /// One customer's log-likelihood.
    pub fn log_likelihood(&self, s: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (x, tx, t) = (s.frequency, s.recency, s.age);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (tx + alpha).ln();
            a1 + a2 + log_add_exp(a3, a4)
        } else {
            a1 + a2 + a3
        }
    }

    /// The log-likelihood of all customers: the same sum as of [`BgNbd::log_likelihood`],
    /// with the gamma-function terms computed once per repeat count (a few hundred
    /// distinct ones) instead of once per customer — the fit evaluates it hundreds of times.
    pub fn total_log_likelihood(&self, data: &[Summary]) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let most = data.iter().map(|s| s.frequency as usize).max().unwrap_or(0);
        let base = -ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) - ln_gamma(b);
        let per_x: Vec<f64> = (0..=most)
            .map(|x| {
                let x = x as f64;
                base + ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x)
            })
            .collect();
        let ln_a = a.ln();
        data.iter()
            .map(|s| {
                let x = s.frequency;
                let a3 = -(r + x) * (alpha + s.age).ln();
                let head = per_x[x as usize];
                if x > 0.0 {
                    let a4 = ln_a - (b + x - 1.0).ln() - (r + x) * (s.recency + alpha).ln();
                    head + log_add_exp(a3, a4)
                } else {
                    head + a3
                }
            })
            .sum()
    }

    /// The probability that the customer is still active at the end of its period.
    pub fn p_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = s.frequency;
        let ln_ratio = (r + x) * ((alpha + s.age).ln() - (alpha + s.recency).ln());
        let odds = (a / (b + x - 1.0)).ln() + ln_ratio;
        1.0 / (1.0 + odds.exp())
    }

    /// Expected purchases in the next `t` days given the customer's history.
    pub fn expected_purchases(&self, s: &Summary, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (x, tx, age) = (s.frequency, s.recency, s.age);
        // Eq. 10 of the paper: (a + b + x − 1)/(a − 1) and the bracket change sign together
        // when a < 1; only a = 1 itself is a removable singularity, not met in a fit.
        if (a - 1.0).abs() < 1e-12 {
            return f64::NAN;
        }
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + age + t));
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = 1.0 - ((alpha + age) / (alpha + age + t)).powf(r + x) * hyp;
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + age) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        first * second / denominator
    }
}

fn log_add_exp(p: f64, q: f64) -> f64 {
    let m = p.max(q);
    m + ((p - m).exp() + (q - m).exp()).ln()
}

/// Gauss's hypergeometric function ₂F₁(a, b; c; z) for 0 ≤ z < 1, by its series.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for j in 0..200_000 {
        let j = j as f64;
        term *= (a + j) * (b + j) / ((c + j) * (j + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

/// Gamma-Gamma parameters: spend per purchase Gamma(p, ν) with ν ~ Gamma(q, γ).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl GammaGamma {
    /// The log-likelihood of a customer's mean spend `m` over `x` repeat purchases.
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + (p * x) * x.ln()
            - (p * x + q) * (x * m + gamma).ln()
    }

    /// The expected value of the customer's next purchase (the population mean for a
    /// customer without repeat purchases).
    pub fn expected_spend(&self, s: &Summary) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        if q <= 1.0 {
            return f64::NAN;
        }
        if s.frequency > 0.0 && s.monetary > 0.0 {
            p * (gamma + s.frequency * s.monetary) / (p * s.frequency + q - 1.0)
        } else {
            p * gamma / (q - 1.0)
        }
    }
}

/// Minimises `f` from `x0` by Nelder–Mead (reflection 1, expansion 2, contraction ½,
/// shrink ½), restarted from its result until a restart no longer improves it.
pub fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    iterations: usize,
) -> Vec<f64> {
    let mut best = x0.to_vec();
    let mut value = f(&best);
    for _ in 0..4 {
        let (x, v) = nelder_mead_once(f, &best, step, iterations);
        let better = v < value - 1e-12;
        if v <= value {
            best = x;
            value = v;
        }
        if !better {
            break;
        }
    }
    best
}

fn nelder_mead_once(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    iterations: usize,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut x = x0.to_vec();
            if i > 0 {
                x[i - 1] += step;
            }
            let v = f(&x);
            (x, v)
        })
        .collect();
    let value = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    for _ in 0..iterations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let spread = simplex[n].1 - simplex[0].1;
        if spread.abs() < 1e-12 && simplex[0].1.is_finite() {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|s| s.0[j]).sum::<f64>() / n as f64)
            .collect();
        let towards = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n].0[j] - centroid[j]))
                .collect()
        };
        let reflected = towards(-1.0);
        let fr = value(&reflected);
        if fr < simplex[0].1 {
            let expanded = towards(-2.0);
            let fe = value(&expanded);
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[n].1 {
                towards(-0.5)
            } else {
                towards(0.5)
            };
            let fc = value(&contracted);
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                let best = simplex[0].0.clone();
                for s in simplex.iter_mut().skip(1) {
                    for (x, b) in s.0.iter_mut().zip(&best) {
                        *x = b + 0.5 * (*x - b);
                    }
                    s.1 = value(&s.0);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

/// Fits BG/NBD to the customers (at least two, one with a repeat purchase).
pub fn fit_bgnbd(data: &[Summary]) -> Option<BgNbd> {
    if data.len() < 2 || data.iter().all(|s| s.frequency == 0.0) {
        return None;
    }
    let n = data.len() as f64;
    let params = |x: &[f64]| BgNbd {
        r: x[0].exp(),
        alpha: x[1].exp(),
        a: x[2].exp(),
        b: x[3].exp(),
    };
    let nll = |x: &[f64]| -> f64 { -params(x).total_log_likelihood(data) / n };
    let best = nelder_mead(&nll, &[0.0; 4], 0.5, 20_000);
    Some(params(&best)).filter(|m| [m.r, m.alpha, m.a, m.b].iter().all(|v| v.is_finite()))
}

/// Fits Gamma-Gamma to the customers with repeat purchases of positive value (at least
/// two of them).
pub fn fit_gamma_gamma(data: &[Summary]) -> Option<GammaGamma> {
    let rows: Vec<(f64, f64)> = data
        .iter()
        .filter(|s| s.frequency > 0.0 && s.monetary > 0.0)
        .map(|s| (s.frequency, s.monetary))
        .collect();
    if rows.len() < 2 {
        return None;
    }
    let n = rows.len() as f64;
    let params = |x: &[f64]| GammaGamma {
        p: x[0].exp(),
        q: x[1].exp(),
        gamma: x[2].exp(),
    };
    let most = rows.iter().map(|r| r.0 as usize).max().unwrap_or(0);
    // The likelihood of each row as in `GammaGamma::log_likelihood`, with the gamma
    // functions (which depend on the repeat count only) computed once per count.
    let nll = |x: &[f64]| -> f64 {
        let GammaGamma { p, q, gamma } = params(x);
        let per_x: Vec<f64> = (0..=most)
            .map(|x| {
                let x = x as f64;
                ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
                    + q * gamma.ln()
                    + (p * x) * x.ln()
            })
            .collect();
        let total: f64 = rows
            .iter()
            .map(|&(f, m)| {
                per_x[f as usize] + (p * f - 1.0) * m.ln() - (p * f + q) * (f * m + gamma).ln()
            })
            .sum();
        -total / n
    };
    let best = nelder_mead(&nll, &[0.0; 3], 0.5, 20_000);
    Some(params(&best)).filter(|m| [m.p, m.q, m.gamma].iter().all(|v| v.is_finite()))
}

/// Spearman's rank correlation (average ranks for ties).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            let avg = (i + j) as f64 / 2.0 + 1.0;
            for k in i..=j {
                r[idx[k]] = avg;
            }
            i = j + 1;
        }
        r
    }
    crate::analytics::stats::correlation(&ranks(a), &ranks(b)).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64, tx: f64, t: f64) -> Summary {
        Summary {
            customer_id: 0,
            frequency: x,
            recency: tx,
            age: t,
            monetary: 0.0,
        }
    }

    #[test]
    fn bgnbd_log_likelihood_at_known_parameters() {
        // The paper's formula (eq. 6) at r=0.25, α=4, a=0.8, b=2.5.
        let m = BgNbd {
            r: 0.25,
            alpha: 4.0,
            a: 0.8,
            b: 2.5,
        };
        // x = 0: ln Γ(r)−ln Γ(r) + r ln α + 0 − r ln(α+T) = 0.25 (ln 4 − ln 34).
        let zero = m.log_likelihood(&s(0.0, 0.0, 30.0));
        assert!(
            (zero - 0.25 * (4f64.ln() - 34f64.ln())).abs() < 1e-12,
            "{zero}"
        );
        // x = 2, t_x = 20, T = 30, by hand:
        // A1 = lnΓ(2.25) − lnΓ(0.25) + 0.25 ln 4 = 0.12429 − 1.28802 + 0.34657
        // A2 = lnΓ(3.3) + lnΓ(4.5) − lnΓ(2.5) − lnΓ(5.3)
        // A3 = −2.25 ln 34, A4 = ln 0.8 − ln 3.5 − 2.25 ln 24
        let a1 = ln_gamma(2.25) - ln_gamma(0.25) + 0.25 * 4f64.ln();
        let a2 = ln_gamma(3.3) + ln_gamma(4.5) - ln_gamma(2.5) - ln_gamma(5.3);
        let a3 = -2.25 * 34f64.ln();
        let a4 = 0.8f64.ln() - 3.5f64.ln() - 2.25 * 24f64.ln();
        let want = a1 + a2 + (a3.exp() + a4.exp()).ln();
        let got = m.log_likelihood(&s(2.0, 20.0, 30.0));
        assert!((got - want).abs() < 1e-12, "{got} {want}");
        // The value itself, computed separately in Python (math.lgamma): −8.8285967…
        assert!((got - (-8.828_596_745)).abs() < 1e-8, "{got}");
    }

    #[test]
    fn hypergeometric_known_values() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z)/z.
        let z: f64 = 0.5;
        assert!((hyp2f1(1.0, 1.0, 2.0, z) - (-(1.0 - z).ln() / z)).abs() < 1e-12);
        // ₂F₁(a, b; b; z) = (1 − z)^(−a).
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3) - 0.7f64.powf(-2.5)).abs() < 1e-12);
    }

    #[test]
    fn gamma_gamma_mean_and_likelihood() {
        let m = GammaGamma {
            p: 6.0,
            q: 4.0,
            gamma: 15.0,
        };
        // A customer without repeats: the population mean pγ/(q−1) = 30.
        assert_eq!(m.expected_spend(&s(0.0, 0.0, 10.0)), 30.0);
        // With x = 4 at a mean of 40: p(γ + x m)/(p x + q − 1) = 6·175/27.
        let mut c = s(4.0, 50.0, 60.0);
        c.monetary = 40.0;
        assert!((m.expected_spend(&c) - 6.0 * 175.0 / 27.0).abs() < 1e-12);
        // The likelihood by hand at x = 1, m = 10: lnΓ(10) − lnΓ(6) − lnΓ(4) + 4 ln 15
        // + 5 ln 10 + 0 − 10 ln 25.
        let want =
            ln_gamma(10.0) - ln_gamma(6.0) - ln_gamma(4.0) + 4.0 * 15f64.ln() + 5.0 * 10f64.ln()
                - 10.0 * 25f64.ln();
        assert!((m.log_likelihood(1.0, 10.0) - want).abs() < 1e-12);
    }

    #[test]
    fn a_fit_recovers_the_parameters_of_simulated_customers() {
        use rand::{Rng, SeedableRng};
        use rand_distr::{Beta, Distribution, Gamma};
        // 4000 customers from BG/NBD with r=0.5, α=10, a=0.7, b=2.5, observed 365 days.
        let truth = BgNbd {
            r: 0.5,
            alpha: 10.0,
            a: 0.7,
            b: 2.5,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let rate = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
        let drop = Beta::new(truth.a, truth.b).unwrap();
        let data: Vec<Summary> = (0..4000)
            .map(|i| {
                let (lambda, p) = (rate.sample(&mut rng), drop.sample(&mut rng));
                let (mut t, mut x, mut last) = (0.0, 0.0, 0.0);
                loop {
                    t += -(1.0 - rng.random::<f64>()).ln() / lambda;
                    if t > 365.0 {
                        break;
                    }
                    x += 1.0;
                    last = t;
                    if rng.random::<f64>() < p {
                        break;
                    }
                }
                Summary {
                    customer_id: i,
                    frequency: x,
                    recency: last,
                    age: 365.0,
                    monetary: 0.0,
                }
            })
            .collect();
        let fit = fit_bgnbd(&data).unwrap();
        // The fast sum the fit uses is the per-customer formula's sum.
        let each: f64 = data.iter().map(|s| fit.log_likelihood(s)).sum();
        assert!((fit.total_log_likelihood(&data) - each).abs() < 1e-6 * each.abs());
        let close = |got: f64, want: f64, tol: f64| (got / want - 1.0).abs() < tol;
        assert!(close(fit.r, 0.5, 0.15), "{fit:?}");
        assert!(close(fit.alpha, 10.0, 0.25), "{fit:?}");
        assert!(close(fit.a, 0.7, 0.35), "{fit:?}");
        assert!(close(fit.b, 2.5, 0.5), "{fit:?}");
        // The fit's likelihood is at least the truth's.
        let ll = |m: &BgNbd| data.iter().map(|s| m.log_likelihood(s)).sum::<f64>();
        assert!(ll(&fit) >= ll(&truth) - 1e-6);
    }

    #[test]
    fn summaries_count_purchase_days_and_net_refunds() {
        let l = |c: i64, on: &str, cents: i64| LedgerLine {
            customer_id: c,
            ordered_on: on.into(),
            amount_cents: cents,
            product_id: None,
        };
        let lines = [
            l(1, "2026-01-01", 10_000),
            l(1, "2026-01-01", 5_000), // same day: one purchase of 150
            l(1, "2026-01-11", 4_000),
            l(1, "2026-01-21", 8_000),
            l(1, "2026-01-25", -2_000), // a refund: not a purchase, lowers the mean
            l(2, "2026-01-30", 7_000),  // one order only
            l(3, "2026-01-05", -100),   // only a refund: not a buyer
            l(2, "2026-02-05", 99_999), // after the end: never read (the holdout's)
        ];
        let s = summarise(&lines, NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].frequency, s[0].recency, s[0].age, s[0].monetary),
            (2.0, 20.0, 30.0, 50.0)
        );
        assert_eq!(
            (s[1].frequency, s[1].recency, s[1].age, s[1].monetary),
            (0.0, 0.0, 1.0, 0.0)
        );
        // The holdout: what came after the calibration's end, and only that.
        let end = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        let later = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let h = holdout(&lines, end, later);
        assert_eq!(h.len(), 1);
        assert_eq!(h[&2], (1.0, 999.99));
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 30.0, 20.0]) - 0.5).abs() < 1e-12);
    }
}
