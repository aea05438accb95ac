//! Monte Carlo pipeline forecast: each open deal wins with its probability and, if it
//! does, closes on its expected date moved by a slip drawn from what that stage's deals
//! did before. Totals per period give P10/P50/P90.

use super::stats::quantile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An open deal as the simulation sees it. Days are counted from today.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenDeal {
    pub amount: f64,
    pub probability: f64,
    pub expected_close: i64,
    /// Index into the slip samples.
    pub stage: usize,
}

/// A reporting period, days from today, end exclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub name: String,
    pub start: i64,
    pub end: i64,
    /// Revenue already won in the period.
    pub closed: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowResult {
    pub name: String,
    pub closed: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub mean: f64,
}

/// Runs `runs` simulations with a fixed seed (the same inputs give the same answer).
/// `slips[stage]` are observed days from expected to actual close; an empty list means no
/// slip. A deal whose (slipped) date is already past closes today.
pub fn simulate(
    deals: &[OpenDeal],
    slips: &[Vec<f64>],
    windows: &[Window],
    runs: usize,
    seed: u64,
) -> Vec<WindowResult> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let horizon = windows.iter().map(|w| w.end).max().unwrap_or(0);
    let mut totals = vec![vec![0.0f64; runs]; windows.len()];
    for r in 0..runs {
        for d in deals {
            let Some(day) = landing(d, slips, &mut rng) else {
                continue;
            };
            if day >= horizon {
                continue;
            }
            for (w, t) in windows.iter().zip(totals.iter_mut()) {
                if day >= w.start && day < w.end {
                    t[r] += d.amount;
                }
            }
        }
    }
    windows
        .iter()
        .zip(totals)
        .map(|(w, t)| {
            let with_closed: Vec<f64> = t.iter().map(|v| v + w.closed).collect();
            WindowResult {
                name: w.name.clone(),
                closed: w.closed,
                p10: quantile(&with_closed, 0.1).unwrap_or(w.closed),
                p50: quantile(&with_closed, 0.5).unwrap_or(w.closed),
                p90: quantile(&with_closed, 0.9).unwrap_or(w.closed),
                mean: with_closed.iter().sum::<f64>() / runs.max(1) as f64,
            }
        })
        .collect()
}

/// One draw for one deal: the day it closes won, or `None` if it does not win.
fn landing(d: &OpenDeal, slips: &[Vec<f64>], rng: &mut ChaCha8Rng) -> Option<i64> {
    if rng.random::<f64>() >= d.probability {
        return None;
    }
    let slip = slips
        .get(d.stage)
        .filter(|s| !s.is_empty())
        .map(|s| s[rng.random_range(0..s.len())])
        .unwrap_or(0.0);
    Some((d.expected_close as f64 + slip).round().max(0.0) as i64)
}

/// The same simulation for one window, with each deal's amount credited to its group:
/// `totals[run][group]`, for quantiles of any sum of groups.
pub fn simulate_groups(
    deals: &[(OpenDeal, usize)],
    groups: usize,
    slips: &[Vec<f64>],
    window: (i64, i64),
    runs: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut totals = vec![vec![0.0f64; groups]; runs];
    for run in totals.iter_mut() {
        for (d, g) in deals {
            if let Some(day) = landing(d, slips, &mut rng) {
                if day >= window.0 && day < window.1 && *g < groups {
                    run[*g] += d.amount;
                }
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start: i64, end: i64, closed: f64) -> Window {
        Window {
            name: "w".into(),
            start,
            end,
            closed,
        }
    }

    #[test]
    fn certain_deals_land_exactly() {
        let deals = [
            OpenDeal {
                amount: 100.0,
                probability: 1.0,
                expected_close: 5,
                stage: 0,
            },
            OpenDeal {
                amount: 50.0,
                probability: 1.0,
                expected_close: 40,
                stage: 0,
            },
        ];
        let r = simulate(
            &deals,
            &[vec![]],
            &[window(0, 30, 10.0), window(30, 60, 0.0)],
            200,
            1,
        );
        assert_eq!((r[0].p10, r[0].p50, r[0].p90), (110.0, 110.0, 110.0));
        assert_eq!((r[1].p10, r[1].p90), (50.0, 50.0));
    }

    #[test]
    fn many_coin_flips_centre_on_the_weighted_value() {
        let deals: Vec<OpenDeal> = (0..400)
            .map(|_| OpenDeal {
                amount: 10.0,
                probability: 0.5,
                expected_close: 1,
                stage: 0,
            })
            .collect();
        let r = simulate(&deals, &[vec![]], &[window(0, 30, 0.0)], 2000, 7);
        assert!((r[0].mean - 2000.0).abs() < 20.0, "{}", r[0].mean);
        // Binomial(400, 0.5) x 10: sd 100, so P10/P90 near 2000 -/+ 128.
        assert!(
            (r[0].p10 - 1872.0).abs() < 30.0 && (r[0].p90 - 2128.0).abs() < 30.0,
            "{:?}",
            r[0]
        );
    }

    #[test]
    fn slips_move_deals_into_later_windows() {
        let deals = [OpenDeal {
            amount: 100.0,
            probability: 1.0,
            expected_close: 10,
            stage: 0,
        }];
        let r = simulate(
            &deals,
            &[vec![30.0]],
            &[window(0, 30, 0.0), window(30, 60, 0.0)],
            50,
            3,
        );
        assert_eq!(r[0].p90, 0.0);
        assert_eq!(r[1].p50, 100.0);
    }

    #[test]
    fn groups_get_their_own_deals_and_certain_deals_always_land() {
        let d = |amount, probability, expected_close| OpenDeal {
            amount,
            probability,
            expected_close,
            stage: 0,
        };
        // Group 0: a sure 100 inside the window and a sure 50 after it; group 1: a 50/50 30.
        let deals = [
            (d(100.0, 1.0, 5), 0),
            (d(50.0, 1.0, 40), 0),
            (d(30.0, 0.5, 10), 1),
        ];
        let t = simulate_groups(&deals, 2, &[vec![]], (0, 30), 2000, 7);
        assert!(t.iter().all(|r| r[0] == 100.0));
        let won = t.iter().filter(|r| r[1] == 30.0).count() as f64 / 2000.0;
        assert!((won - 0.5).abs() < 0.05, "{won}");
        assert!(t.iter().all(|r| r[1] == 0.0 || r[1] == 30.0));
    }
}
