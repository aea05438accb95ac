//! Baseline time-series forecasts. Seasonal naive is the honest first method and the
//! yardstick every better model must beat.

/// One forecast step with its 80% prediction interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub forecast: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A forecast and the name of the method that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub method: String,
    pub points: Vec<Point>,
}

/// z for a central 80% interval of a normal distribution.
const Z80: f64 = 1.281_551_565_545;

/// Seasonal naive: each future period repeats the same period one season earlier. With
/// less than one full season of history it falls back to naive (the last value). The 80%
/// interval assumes normal errors with the spread of the in-sample one-season-ahead
/// (or one-step) errors, widening with the number of seasons (steps) ahead.
pub fn seasonal_naive(history: &[f64], season: usize, horizon: usize) -> Forecast {
    let n = history.len();
    if n == 0 || horizon == 0 {
        return Forecast {
            method: "none".into(),
            points: Vec::new(),
        };
    }
    let (lag, method) = if season >= 1 && n >= season {
        (season, "seasonal naive")
    } else {
        (1, "naive")
    };
    let errors: Vec<f64> = (lag..n).map(|t| history[t] - history[t - lag]).collect();
    let sigma = if errors.is_empty() {
        0.0
    } else {
        (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt()
    };
    let points = (1..=horizon)
        .map(|k| {
            let seasons_ahead = (k - 1) / lag + 1;
            let forecast = history[n + k - 1 - lag * seasons_ahead];
            let spread = Z80 * sigma * (seasons_ahead as f64).sqrt();
            Point {
                forecast,
                lo: forecast - spread,
                hi: forecast + spread,
            }
        })
        .collect();
    Forecast {
        method: method.into(),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_last_season_exactly() {
        let y: Vec<f64> = (0..24).map(|t| (t % 12) as f64 * 10.0 + 100.0).collect();
        let f = seasonal_naive(&y, 12, 15);
        assert_eq!(f.method, "seasonal naive");
        let got: Vec<f64> = f.points.iter().map(|p| p.forecast).collect();
        let mut want: Vec<f64> = (0..12).map(|m| m as f64 * 10.0 + 100.0).collect();
        want.extend([100.0, 110.0, 120.0]);
        assert_eq!(got, want);
        // A perfectly seasonal series has no error, so no spread.
        assert!(f
            .points
            .iter()
            .all(|p| p.lo == p.forecast && p.hi == p.forecast));
    }

    #[test]
    fn interval_from_seasonal_errors_widens_by_season() {
        // Errors y[t] - y[t-2] are +2 and -2 alternately: sigma = 2.
        let y = [10.0, 20.0, 12.0, 18.0, 10.0, 20.0];
        let f = seasonal_naive(&y, 2, 3);
        assert_eq!(f.points[0].forecast, 10.0);
        assert_eq!(f.points[1].forecast, 20.0);
        assert_eq!(f.points[2].forecast, 10.0);
        assert!((f.points[0].hi - (10.0 + Z80 * 2.0)).abs() < 1e-9);
        assert!((f.points[2].hi - (10.0 + Z80 * 2.0 * 2f64.sqrt())).abs() < 1e-9);
    }

    #[test]
    fn short_and_empty_histories() {
        let f = seasonal_naive(&[5.0, 7.0], 12, 2);
        assert_eq!(f.method, "naive");
        assert_eq!(f.points[1].forecast, 7.0);
        assert!(seasonal_naive(&[], 12, 3).points.is_empty());
        let one = seasonal_naive(&[3.0], 12, 2);
        assert_eq!(
            one.points[0],
            Point {
                forecast: 3.0,
                lo: 3.0,
                hi: 3.0
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn finite_and_ordered(y in proptest::collection::vec(-1e9f64..1e9, 0..60), h in 0usize..30) {
            for p in seasonal_naive(&y, 12, h).points {
                proptest::prop_assert!(p.forecast.is_finite() && p.lo <= p.forecast && p.forecast <= p.hi);
            }
        }
    }
}
