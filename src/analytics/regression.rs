//! Linear regression of a series on a time trend and month (season-position) effects,
//! fitted by ordinary least squares through linfa-linear. Pure function.

use linfa::prelude::*;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};

use super::forecast::Point;

/// z for a central 80% interval of a normal distribution.
const Z80: f64 = 1.281_551_565_545;

fn features(t0: usize, count: usize, n: usize, m: usize, seasonal: bool) -> Array2<f64> {
    let cols = 1 + if seasonal { m - 1 } else { 0 };
    Array2::from_shape_fn((count, cols), |(i, j)| {
        let t = t0 + i;
        if j == 0 {
            // Time scaled to the history's length keeps the normal equations well conditioned.
            t as f64 / n as f64
        } else if t % m == j {
            1.0
        } else {
            0.0
        }
    })
}

/// Forecasts `h` steps with `y = a + b·t + s[t mod m] + e` (no season terms with less
/// than two full seasons of history), the 80% interval from the residual spread widened by
/// the share of parameters in the fit. `None` when the series is too short to fit.
pub fn trend_season(y: &[f64], m: usize, h: usize) -> Option<Vec<Point>> {
    let n = y.len();
    let seasonal = m >= 2 && n >= 2 * m;
    let p = 2 + if seasonal { m - 1 } else { 0 };
    if n < p + 2 {
        return None;
    }
    let x = features(0, n, n, m, seasonal);
    let target = Array1::from_vec(y.to_vec());
    let data = Dataset::new(x.clone(), target);
    let model = LinearRegression::new().fit(&data).ok()?;
    let fitted = model.predict(&x);
    let sse: f64 = fitted.iter().zip(y).map(|(f, v)| (v - f) * (v - f)).sum();
    let sigma = (sse / (n - p) as f64).sqrt();
    let ahead = model.predict(&features(n, h, n, m, seasonal));
    let spread = Z80 * sigma * (1.0 + p as f64 / n as f64).sqrt();
    let points: Vec<Point> = ahead
        .iter()
        .map(|f| Point {
            forecast: *f,
            lo: f - spread,
            hi: f + spread,
        })
        .collect();
    points
        .iter()
        .all(|p| p.forecast.is_finite() && p.lo.is_finite() && p.hi.is_finite())
        .then_some(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_trend_and_month_effects() {
        let effect = [
            0.0, 5.0, -3.0, 2.0, 0.0, 1.0, -1.0, 4.0, 0.0, -2.0, 3.0, -4.0,
        ];
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + 0.5 * t as f64 + effect[t % 12])
            .collect();
        let f = trend_season(&y, 12, 12).unwrap();
        for (k, p) in f.iter().enumerate() {
            let t = 48 + k;
            let want = 10.0 + 0.5 * t as f64 + effect[t % 12];
            assert!((p.forecast - want).abs() < 1e-6, "{k}: {p:?} vs {want}");
            assert!((p.hi - p.lo).abs() < 1e-6, "an exact fit has no spread");
        }
    }

    #[test]
    fn short_series_fit_a_trend_only_and_tiny_ones_none() {
        let y: Vec<f64> = (0..10).map(|t| 3.0 * t as f64).collect();
        let f = trend_season(&y, 12, 3).unwrap();
        assert!((f[0].forecast - 30.0).abs() < 1e-6);
        assert!(trend_season(&y[..3], 12, 3).is_none());
    }
}
