//! Seasonal ARIMA(p,d,q)(P,D,Q)_m, fitted by conditional sum of squares (CSS), with the
//! automatic order search of Hyndman & Khandakar (R's `auto.arima`, statsforecast's
//! AutoARIMA): differencing chosen by tests (seasonal strength for D, KPSS for d), then a
//! stepwise walk over the orders by AICc.
//!
//! The differenced series w = (1 − B)^d (1 − B^m)^D y follows a stationary, invertible
//! ARMA: φ(B) Φ(B^m) (w_t − μ) = θ(B) Θ(B^m) e_t. Stationarity and invertibility are built
//! into the parameters: each AR or MA block is written as partial autocorrelations
//! r = tanh(u) and turned into coefficients by the Durbin–Levinson recursion, so every
//! point the optimiser (Nelder–Mead) tries is a valid model. μ is estimated when d + D ≤ 1
//! (a mean, or a drift after one difference), as auto.arima does.

use super::forecast::{Forecast, Point};

/// z for a central 80% interval of a normal distribution.
const Z80: f64 = 1.281_551_565_545;

/// The orders of a seasonal ARIMA and its season length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub p: usize,
    pub d: usize,
    pub q: usize,
    pub sp: usize,
    pub sd: usize,
    pub sq: usize,
    pub m: usize,
}

impl Order {
    pub fn name(&self) -> String {
        if self.m > 1 && (self.sp + self.sd + self.sq) > 0 {
            format!(
                "ARIMA({},{},{})({},{},{})[{}]",
                self.p, self.d, self.q, self.sp, self.sd, self.sq, self.m
            )
        } else {
            format!("ARIMA({},{},{})", self.p, self.d, self.q)
        }
    }

    fn with_mean(&self) -> bool {
        self.d + self.sd <= 1
    }

    fn arma_params(&self) -> usize {
        self.p + self.q + self.sp + self.sq
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub order: Order,
    pub ar: Vec<f64>,
    pub ma: Vec<f64>,
    pub sar: Vec<f64>,
    pub sma: Vec<f64>,
    /// The mean (or drift) of the differenced series; 0 when not estimated.
    pub mean: f64,
    pub sigma2: f64,
    pub loglik: f64,
    pub aicc: f64,
    y: Vec<f64>,
    /// Residuals of the differenced series (0 before the first conditional one).
    resid: Vec<f64>,
}

/// Partial autocorrelations (each in (−1, 1)) to AR coefficients of a stationary
/// polynomial, by the Durbin–Levinson recursion.
pub fn pacf_to_ar(r: &[f64]) -> Vec<f64> {
    let mut phi: Vec<f64> = Vec::with_capacity(r.len());
    for (k, rk) in r.iter().enumerate() {
        let prev = phi.clone();
        phi.push(*rk);
        for j in 0..k {
            phi[j] = prev[j] - rk * prev[k - 1 - j];
        }
    }
    phi
}

/// (1 − Σ a_i B^i) as coefficients [1, −a_1, …] spaced by `step`.
fn lag_poly(coef: &[f64], step: usize, sign: f64) -> Vec<f64> {
    let mut p = vec![0.0; coef.len() * step + 1];
    p[0] = 1.0;
    for (i, c) in coef.iter().enumerate() {
        p[(i + 1) * step] = sign * c;
    }
    p
}

fn multiply(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// The full AR coefficients a_k (w_t = Σ a_k w_{t−k} + …) and MA coefficients b_k
/// (… + e_t + Σ b_k e_{t−k}) of the seasonal product.
fn expand(ar: &[f64], sar: &[f64], ma: &[f64], sma: &[f64], m: usize) -> (Vec<f64>, Vec<f64>) {
    let arp = multiply(&lag_poly(ar, 1, -1.0), &lag_poly(sar, m.max(1), -1.0));
    let map = multiply(&lag_poly(ma, 1, 1.0), &lag_poly(sma, m.max(1), 1.0));
    (arp[1..].iter().map(|c| -c).collect(), map[1..].to_vec())
}

/// `y` differenced `d` times at lag 1 after `sd` times at lag `m`.
pub fn difference(y: &[f64], d: usize, sd: usize, m: usize) -> Vec<f64> {
    let mut w = y.to_vec();
    for _ in 0..sd {
        w = (m..w.len()).map(|t| w[t] - w[t - m]).collect();
    }
    for _ in 0..d {
        w = (1..w.len()).map(|t| w[t] - w[t - 1]).collect();
    }
    w
}

/// CSS residuals of the ARMA on `w` (mean `mu` removed), the first `start` (at least the
/// AR lags) left at 0, and the sum of squares from `start` on.
fn css(w: &[f64], a: &[f64], b: &[f64], mu: f64) -> (Vec<f64>, f64, usize) {
    css_from(w, a, b, mu, a.len())
}

fn css_from(w: &[f64], a: &[f64], b: &[f64], mu: f64, start: usize) -> (Vec<f64>, f64, usize) {
    let start = start.max(a.len()).min(w.len());
    let mut e = vec![0.0; w.len()];
    let mut sse = 0.0;
    for t in start..w.len() {
        let mut v = w[t] - mu;
        for (k, ak) in a.iter().enumerate() {
            v -= ak * (w[t - k - 1] - mu);
        }
        for (k, bk) in b.iter().enumerate() {
            if t > k {
                v -= bk * e[t - k - 1];
            }
        }
        e[t] = v;
        sse += v * v;
    }
    (e, sse, w.len().saturating_sub(start))
}

/// The CSS log-likelihood of `w` at the given coefficients: −n/2 (ln(2π σ²) + 1) with
/// σ² = SSE / n over the n conditional residuals.
pub fn css_loglik(
    w: &[f64],
    ar: &[f64],
    sar: &[f64],
    ma: &[f64],
    sma: &[f64],
    m: usize,
    mu: f64,
) -> f64 {
    let (a, b) = expand(ar, sar, ma, sma, m);
    let (_, sse, n) = css(w, &a, &b, mu);
    let s2 = sse / n.max(1) as f64;
    -0.5 * n as f64 * ((2.0 * std::f64::consts::PI * s2).ln() + 1.0)
}

/// Fits one order; `None` when the series is too short for it.
pub fn fit(y: &[f64], order: Order) -> Option<Fitted> {
    fit_from(y, order, 0)
}

/// Fits one order with the sum of squares taken from residual `cond` on (at least the
/// order's own AR lags): models compared by AICc must be scored on the same residuals, or
/// a longer lag wins just by dropping observations.
pub fn fit_from(y: &[f64], order: Order, cond: usize) -> Option<Fitted> {
    let w = difference(y, order.d, order.sd, order.m);
    let lags = (order.p + order.sp * order.m).max(cond);
    let k = order.arma_params() + order.with_mean() as usize + 1;
    if w.len() < lags + k + 3 {
        return None;
    }
    let n_arma = order.arma_params();
    let wmean = w.iter().sum::<f64>() / w.len() as f64;
    let wsd = (w.iter().map(|v| (v - wmean).powi(2)).sum::<f64>() / w.len() as f64)
        .sqrt()
        .max(1e-9);
    let split = |x: &[f64]| -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, f64) {
        let mut at = 0;
        let mut block = |n: usize, negate: bool| {
            let r: Vec<f64> = x[at..at + n].iter().map(|u| u.tanh()).collect();
            at += n;
            let c = pacf_to_ar(&r);
            if negate {
                c.iter().map(|v| -v).collect()
            } else {
                c
            }
        };
        let ar = block(order.p, false);
        let ma = block(order.q, true);
        let sar = block(order.sp, false);
        let sma = block(order.sq, true);
        let mu = if order.with_mean() {
            wmean + x[n_arma] * wsd
        } else {
            0.0
        };
        (ar, ma, sar, sma, mu)
    };
    // Estimated on every residual the order's own lags allow; compared (AICc) on the
    // residuals from `cond` on, the same for every candidate.
    let own = order.p + order.sp * order.m;
    let objective = |x: &[f64]| -> f64 {
        let (ar, ma, sar, sma, mu) = split(x);
        let (a, b) = expand(&ar, &sar, &ma, &sma, order.m);
        let (_, sse, _) = css_from(&w, &a, &b, mu, own);
        if sse.is_finite() {
            sse
        } else {
            f64::MAX
        }
    };
    let dim = n_arma + order.with_mean() as usize;
    let x = if dim == 0 {
        Vec::new()
    } else {
        let start = vec![0.0; dim];
        let lo = vec![-3.0; dim];
        let hi = vec![3.0; dim];
        super::ts::nelder_mead_tol(&objective, &start, &lo, &hi, 1e-12, 400)
    };
    let (ar, ma, sar, sma, mean) = split(&x);
    let (a, b) = expand(&ar, &sar, &ma, &sma, order.m);
    let (resid, sse_own, n_own) = css_from(&w, &a, &b, mean, own);
    let (_, sse, n) = css_from(&w, &a, &b, mean, lags);
    let sigma2 = sse / n.max(1) as f64;
    if !(sigma2.is_finite() && sigma2 > 0.0) {
        return None;
    }
    // The innovations' variance for the intervals, from every residual.
    let sigma2_all = sse_own / n_own.max(1) as f64;
    let loglik = -0.5 * n as f64 * ((2.0 * std::f64::consts::PI * sigma2).ln() + 1.0);
    let kf = k as f64;
    let nf = n as f64;
    if nf - kf - 1.0 <= 0.0 {
        return None;
    }
    let aicc = -2.0 * loglik + 2.0 * kf + 2.0 * kf * (kf + 1.0) / (nf - kf - 1.0);
    Some(Fitted {
        order,
        ar,
        ma,
        sar,
        sma,
        mean,
        sigma2: if sigma2_all.is_finite() && sigma2_all > 0.0 {
            sigma2_all
        } else {
            sigma2
        },
        loglik,
        aicc,
        y: y.to_vec(),
        resid,
    })
}

/// The KPSS statistic for level stationarity (Newey–West long-run variance with
/// ⌊4 (n/100)^¼⌋ lags).
pub fn kpss(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 3 {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let mut eta = 0.0;
    for v in &e {
        s += v;
        eta += s * s;
    }
    let lags = (4.0 * (n as f64 / 100.0).powf(0.25)).floor() as usize;
    let mut lr = e.iter().map(|v| v * v).sum::<f64>() / n as f64;
    for l in 1..=lags.min(n - 1) {
        let g = (l..n).map(|t| e[t] * e[t - l]).sum::<f64>() / n as f64;
        lr += 2.0 * (1.0 - l as f64 / (lags as f64 + 1.0)) * g;
    }
    if lr <= 0.0 {
        return 0.0;
    }
    eta / (n as f64 * n as f64 * lr)
}

/// KPSS 5% critical value for level stationarity.
const KPSS_5: f64 = 0.463;

/// Seasonal strength: 1 − Var(remainder) / Var(seasonal + remainder) after removing a
/// centred moving-average trend (Wang, Smith & Hyndman); ≥ 0.64 calls for a seasonal
/// difference, as statsforecast's default test does.
pub fn seasonal_strength(y: &[f64], m: usize) -> f64 {
    if m < 2 || y.len() < 2 * m + 1 {
        return 0.0;
    }
    let n = y.len();
    let half = m / 2;
    // Centred moving average of order m (2×m when m is even).
    let trend: Vec<Option<f64>> = (0..n)
        .map(|t| {
            if t < half || t + half >= n {
                return None;
            }
            if m.is_multiple_of(2) {
                let s: f64 = (t - half..=t + half)
                    .map(|i| {
                        if i == t - half || i == t + half {
                            y[i] / 2.0
                        } else {
                            y[i]
                        }
                    })
                    .sum();
                Some(s / m as f64)
            } else {
                Some((t - half..=t + half).map(|i| y[i]).sum::<f64>() / m as f64)
            }
        })
        .collect();
    let detr: Vec<(usize, f64)> = (0..n)
        .filter_map(|t| trend[t].map(|tr| (t, y[t] - tr)))
        .collect();
    let mut sums = vec![(0.0, 0usize); m];
    for (t, v) in &detr {
        sums[t % m].0 += v;
        sums[t % m].1 += 1;
    }
    let idx: Vec<f64> = sums
        .iter()
        .map(|(s, c)| if *c > 0 { s / *c as f64 } else { 0.0 })
        .collect();
    let mi = idx.iter().sum::<f64>() / m as f64;
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64
    };
    let sr: Vec<f64> = detr.iter().map(|(_, v)| *v).collect();
    let rem: Vec<f64> = detr.iter().map(|(t, v)| v - (idx[t % m] - mi)).collect();
    let vsr = var(&sr);
    if vsr <= 0.0 {
        return 0.0;
    }
    (1.0 - var(&rem) / vsr).max(0.0)
}

/// The automatic model: D by seasonal strength (≥ 0.64, with at least three seasons), d by
/// KPSS at 5% (at most 2), then the stepwise search over p, q ≤ 5, P, Q ≤ 2 (p + q + P + Q
/// ≤ 5) by AICc from auto.arima's four starting models. `None` when nothing fits.
pub fn auto(y: &[f64], m: usize) -> Option<Fitted> {
    let seasonal = m > 1 && y.len() >= 3 * m;
    let sd = usize::from(seasonal && seasonal_strength(y, m) >= 0.64);
    let mut d = 0;
    while d < 2 && kpss(&difference(y, d, sd, m)) > KPSS_5 {
        d += 1;
    }
    let mm = if seasonal { m } else { 1 };
    // Every candidate is scored on the same residuals: from the longest AR lag the search
    // may reach (p ≤ 5, P ≤ 2), or half the differenced series if that is shorter — orders
    // needing more lags than that are not tried.
    let w_len = difference(y, d, sd, m).len();
    let cond = (5 + if seasonal { 2 * m } else { 0 }).min(w_len / 2);
    let mk = |p, q, sp, sq| Order {
        p,
        d,
        q,
        sp: if seasonal { sp } else { 0 },
        sd,
        sq: if seasonal { sq } else { 0 },
        m: mm,
    };
    let valid = |o: &Order| {
        o.p <= 5
            && o.q <= 5
            && o.sp <= 2
            && o.sq <= 2
            && o.arma_params() <= 5
            && o.p + o.sp * o.m <= cond
    };
    let mut tried: std::collections::HashMap<Order, Option<f64>> = Default::default();
    let mut best: Option<Fitted> = None;
    let mut consider = |o: Order, best: &mut Option<Fitted>| -> bool {
        if !valid(&o) || tried.contains_key(&o) {
            return false;
        }
        let f = fit_from(y, o, cond);
        tried.insert(o, f.as_ref().map(|f| f.aicc));
        match f {
            Some(f) if best.as_ref().is_none_or(|b| f.aicc < b.aicc - 1e-9) => {
                *best = Some(f);
                true
            }
            _ => false,
        }
    };
    for o in [
        mk(2, 2, 1, 1),
        mk(0, 0, 0, 0),
        mk(1, 0, 1, 0),
        mk(0, 1, 0, 1),
    ] {
        consider(o, &mut best);
    }
    for _ in 0..94 {
        let Some(b) = best.as_ref().map(|b| b.order) else {
            break;
        };
        let step = |dp: i64, dq: i64, dsp: i64, dsq: i64| -> Option<Order> {
            let add = |x: usize, dx: i64| usize::try_from(x as i64 + dx).ok();
            Some(Order {
                p: add(b.p, dp)?,
                q: add(b.q, dq)?,
                sp: add(b.sp, dsp)?,
                sq: add(b.sq, dsq)?,
                ..b
            })
        };
        let moves = [
            (-1, 0, 0, 0),
            (1, 0, 0, 0),
            (0, -1, 0, 0),
            (0, 1, 0, 0),
            (-1, -1, 0, 0),
            (1, 1, 0, 0),
            (0, 0, -1, 0),
            (0, 0, 1, 0),
            (0, 0, 0, -1),
            (0, 0, 0, 1),
            (0, 0, -1, -1),
            (0, 0, 1, 1),
        ];
        let mut improved = false;
        for (dp, dq, dsp, dsq) in moves {
            if (dsp != 0 || dsq != 0) && !seasonal {
                continue;
            }
            if let Some(o) = step(dp, dq, dsp, dsq) {
                if consider(o, &mut best) {
                    improved = true;
                    break;
                }
            }
        }
        if !improved {
            break;
        }
    }
    best
}

impl Fitted {
    /// `h` steps ahead with 80% intervals from the ψ-weights of the integrated model.
    pub fn forecast(&self, h: usize) -> Vec<Point> {
        let o = self.order;
        let (a, b) = expand(&self.ar, &self.sar, &self.ma, &self.sma, o.m);
        // The differenced series forward.
        let w = difference(&self.y, o.d, o.sd, o.m);
        let mut x: Vec<f64> = w.iter().map(|v| v - self.mean).collect();
        let mut e = self.resid.clone();
        for _ in 0..h {
            let t = x.len();
            let mut v = 0.0;
            for (k, ak) in a.iter().enumerate() {
                if t > k {
                    v += ak * x[t - k - 1];
                }
            }
            for (k, bk) in b.iter().enumerate() {
                if t > k {
                    v += bk * e[t - k - 1];
                }
            }
            x.push(v);
            e.push(0.0);
        }
        let wf: Vec<f64> = x[w.len()..].iter().map(|v| v + self.mean).collect();
        // Undo the differences: regular ones (innermost) first, then the seasonal ones.
        let mut levels: Vec<Vec<f64>> = vec![self.y.clone()];
        for _ in 0..o.sd {
            let last = levels.last().expect("one level");
            levels.push((o.m..last.len()).map(|t| last[t] - last[t - o.m]).collect());
        }
        for _ in 0..o.d {
            let last = levels.last().expect("one level");
            levels.push((1..last.len()).map(|t| last[t] - last[t - 1]).collect());
        }
        let mut future = wf;
        for step in (0..o.sd + o.d).rev() {
            let base = &levels[step];
            let lag = if step < o.sd { o.m } else { 1 };
            let mut ext = base.clone();
            for (i, v) in future.iter().enumerate() {
                let t = base.len() + i;
                let prev = ext[t - lag];
                ext.push(prev + v);
            }
            future = ext[base.len()..].to_vec();
        }
        // ψ-weights of θ(B)Θ(B^m) / (φ(B)Φ(B^m)(1 − B)^d (1 − B^m)^D).
        let mut full = multiply(
            &lag_poly(&self.ar, 1, -1.0),
            &lag_poly(&self.sar, o.m.max(1), -1.0),
        );
        for _ in 0..o.d {
            full = multiply(&full, &[1.0, -1.0]);
        }
        for _ in 0..o.sd {
            let mut s = vec![0.0; o.m + 1];
            s[0] = 1.0;
            s[o.m] = -1.0;
            full = multiply(&full, &s);
        }
        let big_a: Vec<f64> = full[1..].iter().map(|c| -c).collect();
        let mut psi = vec![1.0];
        for j in 1..h {
            let mut v = b.get(j - 1).copied().unwrap_or(0.0);
            for (k, ak) in big_a.iter().enumerate().take(j) {
                v += ak * psi[j - k - 1];
            }
            psi.push(v);
        }
        let mut var = 0.0;
        future
            .iter()
            .enumerate()
            .map(|(i, f)| {
                var += psi[i] * psi[i];
                let half = Z80 * (self.sigma2 * var).sqrt();
                Point {
                    forecast: *f,
                    lo: f - half,
                    hi: f + half,
                }
            })
            .collect()
    }
}

/// The automatic ARIMA forecast, named by its order; `None` when no order fits.
pub fn forecast(y: &[f64], m: usize, h: usize) -> Option<Forecast> {
    let f = auto(y, m)?;
    Some(Forecast {
        method: f.order.name(),
        points: f.forecast(h),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let z = Normal::new(0.0, 1.0).unwrap();
        (0..n).map(|_| z.sample(&mut rng)).collect()
    }

    #[test]
    fn the_css_likelihood_matches_a_hand_computation() {
        // AR(1), φ = 0.5, no mean, on 1 2 3 2 1 2 3: residuals from t = 1 are
        // 1.5, 2, 0.5, 0, 1.5, 2 → SSE 12.75 over 6, σ² = 2.125.
        let w = [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0];
        let ll = css_loglik(&w, &[0.5], &[], &[], &[], 1, 0.0);
        let want = -3.0 * ((2.0 * std::f64::consts::PI * 2.125).ln() + 1.0);
        assert!((ll - want).abs() < 1e-12, "{ll} vs {want}");
        // An MA(1) θ = 0.5 on the same: e_t = w_t − 0.5 e_{t−1} from t = 0.
        let ll = css_loglik(&w, &[], &[], &[0.5], &[], 1, 0.0);
        let mut e: f64 = 0.0;
        let mut sse = 0.0;
        for v in w {
            e = v - 0.5 * e;
            sse += e * e;
        }
        let want = -3.5 * ((2.0 * std::f64::consts::PI * sse / 7.0).ln() + 1.0);
        assert!((ll - want).abs() < 1e-12);
    }

    #[test]
    fn the_partial_autocorrelation_transform_gives_stationary_coefficients() {
        assert_eq!(pacf_to_ar(&[0.5]), vec![0.5]);
        // Two lags: φ2 = r2, φ1 = r1 (1 − r2).
        let phi = pacf_to_ar(&[0.5, 0.3]);
        assert!((phi[0] - 0.35).abs() < 1e-12 && (phi[1] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn an_ar1_is_recovered() {
        let z = noise(800, 1);
        let mut y = vec![0.0; z.len()];
        for t in 1..y.len() {
            y[t] = 0.7 * y[t - 1] + z[t];
        }
        let o = Order {
            p: 1,
            d: 0,
            q: 0,
            sp: 0,
            sd: 0,
            sq: 0,
            m: 1,
        };
        let f = fit(&y, o).unwrap();
        assert!((f.ar[0] - 0.7).abs() < 0.05, "{:?}", f.ar);
        assert!((f.sigma2 - 1.0).abs() < 0.15, "{}", f.sigma2);
        // The automatic search lands on a stationary model with φ near 0.7.
        let a = auto(&y, 1).unwrap();
        assert_eq!(a.order.d, 0, "{:?}", a.order);
    }

    #[test]
    fn a_seasonal_ma_is_recovered() {
        let z = noise(900, 2);
        let y: Vec<f64> = (0..z.len())
            .map(|t| z[t] + if t >= 12 { 0.6 * z[t - 12] } else { 0.0 })
            .collect();
        let o = Order {
            p: 0,
            d: 0,
            q: 0,
            sp: 0,
            sd: 0,
            sq: 1,
            m: 12,
        };
        let f = fit(&y, o).unwrap();
        assert!((f.sma[0] - 0.6).abs() < 0.08, "{:?}", f.sma);
    }

    #[test]
    fn a_trending_seasonal_series_is_differenced_and_forecast_well() {
        let z = noise(96, 3);
        let pattern = [
            0.0, 5.0, 9.0, 4.0, -2.0, -6.0, -8.0, -3.0, 1.0, 6.0, 3.0, -9.0,
        ];
        let y: Vec<f64> = (0..96)
            .map(|t| 100.0 + 0.8 * t as f64 + pattern[t % 12] * 2.0 + z[t])
            .collect();
        let (train, test) = y.split_at(84);
        let f = auto(train, 12).unwrap();
        assert_eq!(f.order.sd, 1, "{}", f.order.name());
        let points = f.forecast(12);
        let mae: f64 = points
            .iter()
            .zip(test)
            .map(|(p, a)| (p.forecast - a).abs())
            .sum::<f64>()
            / 12.0;
        // The seasonal naive misses the year's trend (≈ 9.6 a point).
        assert!(mae < 4.0, "{mae}: {}", f.order.name());
        // Intervals widen with the horizon and hold most of the test points.
        assert!(points[11].hi - points[11].lo > points[0].hi - points[0].lo);
        let inside = points
            .iter()
            .zip(test)
            .filter(|(p, a)| p.lo <= **a && **a <= p.hi)
            .count();
        assert!(inside >= 5, "{inside} of 12 inside");
    }
}
