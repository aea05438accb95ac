//! STL: seasonal-trend decomposition by loess (Cleveland, Cleveland, McRae & Terpenning
//! 1990), the non-robust form with the defaults R's `forecast::mstl` and statsforecast use
//! for one season: seasonal window 11 with locally constant (degree 0) subseries smoothing,
//! trend window the next odd integer ≥ 1.5 m / (1 − 1.5 / 11), low-pass window the next odd
//! integer > m, five inner passes. Ported from the reference Fortran as statsmodels carries
//! it (every loess evaluated at every point, no jumps). Used for the seasonal strength that
//! decides a seasonal difference: a season that drifts over the years is absorbed by STL's
//! moving subseries, where a fixed seasonal index leaves it in the remainder.

/// The seasonal window `forecast::mstl` uses for a single season.
pub const SEASONAL_WINDOW: usize = 11;

/// Seasonal, trend and remainder of `y` with season length `m` (≥ 2); `None` when the
/// series is shorter than two seasons.
pub struct Decomposition {
    pub seasonal: Vec<f64>,
    pub trend: Vec<f64>,
    pub remainder: Vec<f64>,
}

pub fn stl(y: &[f64], m: usize) -> Option<Decomposition> {
    let n = y.len();
    if m < 2 || n < 2 * m {
        return None;
    }
    let ns = SEASONAL_WINDOW;
    let mut nt = (1.5 * m as f64 / (1.0 - 1.5 / ns as f64)).ceil() as usize;
    nt += usize::from(nt.is_multiple_of(2));
    let mut nl = m + 1;
    nl += usize::from(nl.is_multiple_of(2));
    let mut trend = vec![0.0; n];
    let mut season = vec![0.0; n];
    let mut detr = vec![0.0; n];
    let mut cycle = vec![0.0; n + 2 * m];
    for _ in 0..5 {
        for i in 0..n {
            detr[i] = y[i] - trend[i];
        }
        // Cycle-subseries smoothing, each subseries extended one point at either end.
        for j in 0..m {
            let sub: Vec<f64> = (j..n).step_by(m).map(|i| detr[i]).collect();
            let k = sub.len();
            let mut out = vec![0.0; k + 2];
            ess(&sub, ns, 0, &mut out[1..k + 1]);
            out[0] = est(&sub, ns, 0, 0.0, 1, ns.min(k)).unwrap_or(out[1]);
            out[k + 1] =
                est(&sub, ns, 0, (k + 1) as f64, k.saturating_sub(ns) + 1, k).unwrap_or(out[k]);
            for (i, v) in out.iter().enumerate() {
                cycle[i * m + j] = *v;
            }
        }
        // Low-pass filter of the cycle: moving averages of m, m and 3, then loess.
        let a = moving_average(&cycle, m);
        let b = moving_average(&a, m);
        let c = moving_average(&b, 3);
        let mut low = vec![0.0; n];
        ess(&c, nl, 1, &mut low);
        for i in 0..n {
            season[i] = cycle[m + i] - low[i];
            detr[i] = y[i] - season[i];
        }
        ess(&detr, nt, 1, &mut trend);
    }
    let remainder = (0..n).map(|i| y[i] - season[i] - trend[i]).collect();
    Some(Decomposition {
        seasonal: season,
        trend,
        remainder,
    })
}

/// Seasonal strength from STL: 1 − Var(remainder) / Var(seasonal + remainder), in [0, 1]
/// (Wang, Smith & Hyndman 2006); 0 when it cannot be computed.
pub fn seasonal_strength(y: &[f64], m: usize) -> f64 {
    let Some(d) = stl(y, m) else {
        return 0.0;
    };
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
    };
    let sr: Vec<f64> = d
        .seasonal
        .iter()
        .zip(&d.remainder)
        .map(|(s, r)| s + r)
        .collect();
    let total = var(&sr);
    if total <= 0.0 {
        return 0.0;
    }
    (1.0 - var(&d.remainder) / total).clamp(0.0, 1.0)
}

fn moving_average(x: &[f64], len: usize) -> Vec<f64> {
    let n = x.len();
    if n < len {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(n - len + 1);
    let mut v: f64 = x[..len].iter().sum();
    out.push(v / len as f64);
    for j in 1..=n - len {
        v += x[j + len - 1] - x[j - 1];
        out.push(v / len as f64);
    }
    out
}

/// Loess of `y` with window `len` and degree `deg` evaluated at every point (positions
/// 1..=n), into `out`.
fn ess(y: &[f64], len: usize, deg: usize, out: &mut [f64]) {
    let n = y.len();
    if n < 2 {
        if n == 1 {
            out[0] = y[0];
        }
        return;
    }
    if len >= n {
        for i in 0..n {
            out[i] = est(y, len, deg, (i + 1) as f64, 1, n).unwrap_or(y[i]);
        }
        return;
    }
    let nsh = (len + 2) / 2;
    let (mut left, mut right) = (1, len);
    for i in 0..n {
        if i + 1 > nsh && right != n {
            left += 1;
            right += 1;
        }
        out[i] = est(y, len, deg, (i + 1) as f64, left, right).unwrap_or(y[i]);
    }
}

/// One loess value at position `xs` (1-based) from the points `left..=right` (1-based),
/// tricube weights over the window, a local constant or line.
fn est(y: &[f64], len: usize, deg: usize, xs: f64, left: usize, right: usize) -> Option<f64> {
    let n = y.len();
    let range = n as f64 - 1.0;
    let mut h = (xs - left as f64).max(right as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let mut w = vec![0.0; right + 1 - left];
    let mut a = 0.0;
    for j in left..=right {
        let r = (j as f64 - xs).abs();
        if r <= h9 {
            let wj = if r <= h1 {
                1.0
            } else {
                (1.0 - (r / h).powi(3)).powi(3)
            };
            w[j - left] = wj;
            a += wj;
        }
    }
    if a <= 0.0 {
        return None;
    }
    for v in &mut w {
        *v /= a;
    }
    if h > 0.0 && deg > 0 {
        let a: f64 = (left..=right).map(|j| w[j - left] * j as f64).sum();
        let mut b = xs - a;
        let c: f64 = (left..=right)
            .map(|j| w[j - left] * (j as f64 - a).powi(2))
            .sum();
        if c.sqrt() > 0.001 * range {
            b /= c;
            for j in left..=right {
                w[j - left] *= b * (j as f64 - a) + 1.0;
            }
        }
    }
    Some((left..=right).map(|j| w[j - left] * y[j - 1]).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_season_on_a_line_is_taken_apart() {
        let pattern = [3.0, 1.0, -2.0, -4.0, 0.0, 2.0];
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + 0.5 * t as f64 + pattern[t % 6])
            .collect();
        let d = stl(&y, 6).unwrap();
        // Away from the ends a line plus a fixed season is recovered almost exactly.
        for t in 12..36 {
            assert!((d.seasonal[t] - pattern[t % 6]).abs() < 0.05, "{t}");
            assert!((d.trend[t] - (10.0 + 0.5 * t as f64)).abs() < 0.05, "{t}");
        }
        assert!(seasonal_strength(&y, 6) > 0.99);
    }

    #[test]
    fn the_decomposition_matches_statsmodels() {
        // statsmodels 0.15 STL(y, period=4, seasonal=11, seasonal_deg=0).fit() on this
        // series gave these seasonal and trend values (printed to 6 decimals).
        let y = [
            5.0, 9.0, 2.0, 4.0, 6.0, 11.0, 3.0, 5.0, 8.0, 12.0, 3.0, 7.0, 9.0, 14.0, 5.0, 8.0,
        ];
        let d = stl(&y, 4).unwrap();
        let (seasonal, trend) = reference();
        for t in 0..y.len() {
            assert!(
                (d.seasonal[t] - seasonal[t]).abs() < 1e-5,
                "season {t}: {}",
                d.seasonal[t]
            );
            assert!(
                (d.trend[t] - trend[t]).abs() < 1e-5,
                "trend {t}: {}",
                d.trend[t]
            );
        }
    }

    fn reference() -> ([f64; 16], [f64; 16]) {
        (REF_SEASONAL, REF_TREND)
    }

    const REF_SEASONAL: [f64; 16] = [
        0.549585, 4.709627, -3.796115, -1.468050, 0.553445, 4.731447, -3.831528, -1.458148,
        0.552296, 4.769246, -3.880288, -1.448602, 0.557806, 4.793567, -3.919320, -1.437450,
    ];
    const REF_TREND: [f64; 16] = [
        4.387000, 4.769583, 5.121777, 5.508912, 5.836361, 6.141019, 6.514539, 6.865918, 7.019950,
        7.241071, 7.585283, 7.998840, 8.531240, 8.842204, 9.148872, 9.431215,
    ];
}
