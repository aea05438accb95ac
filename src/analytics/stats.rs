//! Descriptive statistics.

/// Mean pinball (quantile) loss of the forecasts `(q, value)` for what happened: for each,
/// q·(actual − value) when the actual is above, (1 − q)·(value − actual) when below.
pub fn pinball_loss(actual: f64, quantiles: &[(f64, f64)]) -> f64 {
    if quantiles.is_empty() {
        return 0.0;
    }
    quantiles
        .iter()
        .map(|&(q, v)| {
            let e = actual - v;
            if e >= 0.0 {
                q * e
            } else {
                (q - 1.0) * e
            }
        })
        .sum::<f64>()
        / quantiles.len() as f64
}

/// The q-quantile (0..=1) by linear interpolation between order statistics (Hyndman and
/// Fan type 7, what R and numpy use by default). `None` for no finite values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

/// The standard normal's `u`-quantile (0 < u < 1), by bisection on its distribution
/// function (to 1e-12); ±∞ at 0 and 1, NaN outside.
pub fn normal_quantile(u: f64) -> f64 {
    if !(0.0..=1.0).contains(&u) || u.is_nan() {
        return f64::NAN;
    }
    if u == 0.0 || u == 1.0 {
        return if u == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let cdf = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let (mut lo, mut hi) = (-40.0, 40.0);
    while hi - lo > 1e-12 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < u {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Count, mean, sample standard deviation, min, quartiles, 90th percentile and max.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Describe {
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    pub q90: f64,
    pub max: f64,
}

/// Descriptive statistics of the finite values; `None` when there are none.
pub fn describe(values: &[f64]) -> Option<Describe> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let q = |p: f64| {
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        v[lo] + (h - lo as f64) * (v[h.ceil() as usize] - v[lo])
    };
    Some(Describe {
        count: v.len(),
        mean,
        std,
        min: v[0],
        q25: q(0.25),
        median: q(0.5),
        q75: q(0.75),
        q90: q(0.9),
        max: v[v.len() - 1],
    })
}

/// Pearson correlation of two equally long series; `None` when either is constant or
/// they are shorter than 3.
pub fn correlation(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 3 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (x[i] - mx, y[i] - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Robust z-score of `value` against `history`: (value - median) / (1.4826 × MAD). `None`
/// with fewer than 6 points of history or no spread.
pub fn robust_z(value: f64, history: &[f64]) -> Option<f64> {
    if history.len() < 6 {
        return None;
    }
    let med = quantile(history, 0.5)?;
    let dev: Vec<f64> = history.iter().map(|h| (h - med).abs()).collect();
    let mad = quantile(&dev, 0.5)? * 1.4826;
    (mad > 0.0).then(|| (value - med) / mad)
}

/// Log of the beta-binomial probability of `k` successes in `n` trials whose success rate
/// is drawn from Beta(`a`, `b`).
pub fn beta_binomial_ln(k: f64, n: f64, a: f64, b: f64) -> f64 {
    let ln_beta = |x: f64, y: f64| libm::lgamma(x) + libm::lgamma(y) - libm::lgamma(x + y);
    libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
        + ln_beta(k + a, n - k + b)
        - ln_beta(a, b)
}

/// The weakest and strongest priors [`prior_strength`] chooses between, in pseudo-trials.
pub const PRIOR_STRENGTH_RANGE: (f64, f64) = (1.0, 200.0);

/// How many pseudo-trials a Beta prior with a given mean per group is worth, judged by how
/// far the groups' own rates scatter around those means (empirical Bayes): of the strengths
/// m on a log grid over [`PRIOR_STRENGTH_RANGE`], the one under which the groups'
/// `(successes, trials, prior mean)` are likeliest, Σ log BetaBinomial(k | n, m·μ,
/// m·(1 − μ)). Means that the groups bear out earn a strong prior; means the groups
/// contradict (a vendor's default stage probabilities on deals that never win) a weak one.
/// Groups without trials say nothing; with none at all, `fallback`.
pub fn prior_strength(groups: &[(f64, f64, f64)], fallback: f64) -> f64 {
    let used: Vec<(f64, f64, f64)> = groups
        .iter()
        .filter(|g| g.1 > 0.0 && g.0.is_finite() && g.2.is_finite())
        .map(|&(k, n, mu)| (k.clamp(0.0, n), n, mu.clamp(1e-3, 1.0 - 1e-3)))
        .collect();
    if used.is_empty() {
        return fallback;
    }
    let (lo, hi) = PRIOR_STRENGTH_RANGE;
    let steps = 48;
    let mut best = (f64::NEG_INFINITY, fallback);
    for i in 0..=steps {
        let m = lo * (hi / lo).powf(f64::from(i) / f64::from(steps));
        let ll: f64 = used
            .iter()
            .map(|&(k, n, mu)| beta_binomial_ln(k, n, m * mu, m * (1.0 - mu)))
            .sum();
        // Ties (groups of one trial say nothing about the scatter) keep the weaker prior.
        if ll > best.0 + 1e-9 {
            best = (ll, m);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinball_known_answers() {
        // Actual 100: P10 at 80 is under by 20 (0.1·20 = 2), P50 at 100 exact, P90 at 150
        // over by 50 (0.1·50 = 5): mean 7/3.
        let l = pinball_loss(100.0, &[(0.1, 80.0), (0.5, 100.0), (0.9, 150.0)]);
        assert!((l - 7.0 / 3.0).abs() < 1e-12, "{l}");
        // Above a P90 costs nine times what the same miss below it does.
        assert!((pinball_loss(110.0, &[(0.9, 100.0)]) - 9.0).abs() < 1e-12);
        assert!((pinball_loss(90.0, &[(0.9, 100.0)]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn known_answers() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.8), Some(4.2));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(5.0));
        assert_eq!(quantile(&[7.0, 1.0], 0.5), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[f64::NAN, 2.0], 0.5), Some(2.0));
    }

    #[test]
    fn describe_by_hand() {
        let d = describe(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(d.count, 8);
        assert_eq!(d.mean, 5.0);
        // Sample variance 32 / 7.
        assert!((d.std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((d.min, d.median, d.max), (2.0, 4.5, 9.0));
        assert_eq!(d.q25, 4.0);
        assert!(describe(&[]).is_none());
    }

    #[test]
    fn correlation_and_robust_z() {
        assert_eq!(correlation(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), Some(1.0));
        assert_eq!(correlation(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(correlation(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
        // History 10, 11, 9, 10, 12, 8: median 10, deviations 0 1 1 0 2 2 -> MAD 1.
        let h = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0];
        let z = robust_z(16.0, &h).unwrap();
        assert!((z - 6.0 / 1.4826).abs() < 1e-9);
        assert_eq!(robust_z(16.0, &h[..5]), None);
    }
    #[test]
    fn beta_binomial_known_answers() {
        // Beta(1, 1) is uniform, so every count of n trials is equally likely: 1/(n + 1).
        for k in 0..=4 {
            let p = beta_binomial_ln(f64::from(k), 4.0, 1.0, 1.0).exp();
            assert!((p - 0.2).abs() < 1e-12, "{k}: {p}");
        }
        // One trial is a coin with the prior's mean: a/(a + b).
        assert!((beta_binomial_ln(1.0, 1.0, 3.0, 1.0).exp() - 0.75).abs() < 1e-12);
        // Beta(2, 1), 2 trials: P(2) = E[p²] = a(a + 1)/((a + b)(a + b + 1)) = 2·3/(3·4).
        assert!((beta_binomial_ln(2.0, 2.0, 2.0, 1.0).exp() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn prior_strength_follows_how_far_groups_stray_from_their_means() {
        use rand::{Rng, SeedableRng};
        use rand_distr::Distribution;
        // Rates exactly at their means: the strongest prior.
        let exact = vec![(50.0, 100.0, 0.5); 8];
        assert_eq!(prior_strength(&exact, 20.0), PRIOR_STRENGTH_RANGE.1);
        // Means of 0.4–0.9 on groups that never succeed: the weakest.
        let contradicted = [(0.0, 40.0, 0.4), (0.0, 60.0, 0.6), (0.0, 80.0, 0.9)];
        assert_eq!(prior_strength(&contradicted, 20.0), PRIOR_STRENGTH_RANGE.0);
        // Nothing to judge by: the fallback.
        assert_eq!(prior_strength(&[(0.0, 0.0, 0.5)], 20.0), 20.0);
        // Rates drawn from Beta(10·μ, 10·(1 − μ)) around their means, 300 trials each in
        // 60 groups: the strength is found near 10.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let groups: Vec<_> = (0..60)
            .map(|i| {
                let mu = 0.2 + 0.6 * f64::from(i % 5) / 4.0;
                let p = rand_distr::Beta::new(10.0 * mu, 10.0 * (1.0 - mu))
                    .unwrap()
                    .sample(&mut rng);
                let k = (0..300).filter(|_| rng.random::<f64>() < p).count() as f64;
                (k, 300.0, mu)
            })
            .collect();
        let m = prior_strength(&groups, 20.0);
        assert!((6.0..=16.0).contains(&m), "{m}");
    }

    #[test]
    fn the_normal_quantile_has_its_known_values() {
        assert!(normal_quantile(0.5).abs() < 1e-10);
        assert!((normal_quantile(0.9) - 1.281_551_565_545).abs() < 1e-9);
        assert!((normal_quantile(0.025) + 1.959_963_984_540).abs() < 1e-9);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
    }
}
