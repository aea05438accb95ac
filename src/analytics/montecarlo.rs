//! Monte Carlo pipeline forecast: each open deal wins with its probability and, if it
//! does, closes on its expected date moved by a slip drawn from what deals in the same
//! stage did before (pooled with every stage's when the stage has few examples). Deals
//! are not drawn independently: each run shares one factor that moves every deal's win
//! log-odds together (good and bad months), so the ranges are as wide as history says.
//! Totals per period give P10/P50/P90.

use super::stats::quantile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// How the draws hang together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draws {
    /// σ of the shift every deal's win log-odds shares within a run (0: deals independent).
    pub sigma: f64,
    /// Slip lists are pooled in groups of this many consecutive lists (0: no pooling).
    pub pool_size: usize,
    /// A list of n slips is drawn from with probability n / (n + shrink), else its pool.
    pub shrink: f64,
}

impl Draws {
    /// Every deal on its own, every stage's slips alone.
    pub const INDEPENDENT: Draws = Draws {
        sigma: 0.0,
        pool_size: 0,
        shrink: 0.0,
    };
}

/// Pseudo-examples of the pooled slips a stage's own are mixed with.
pub const SHRINK: f64 = 20.0;

/// σ of the shared factor from monthly (won, lost) counts: the spread of the months' win
/// log-odds beyond what binomial chance explains (method of moments), at most 1.5. 0 with
/// fewer than six months that have both wins and losses.
pub fn shared_sigma(months: &[(f64, f64)]) -> f64 {
    let logits: Vec<(f64, f64)> = months
        .iter()
        .filter(|(w, l)| *w > 0.0 && *l > 0.0)
        .map(|(w, l)| {
            let n = w + l;
            let p = w / n;
            ((p / (1.0 - p)).ln(), 1.0 / (n * p * (1.0 - p)))
        })
        .collect();
    if logits.len() < 6 {
        return 0.0;
    }
    let k = logits.len() as f64;
    let mean = logits.iter().map(|x| x.0).sum::<f64>() / k;
    let var = logits.iter().map(|x| (x.0 - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let noise = logits.iter().map(|x| x.1).sum::<f64>() / k;
    (var - noise).max(0.0).sqrt().min(1.5)
}

/// The slips pooled per group of `draws.pool_size` lists.
fn pools(slips: &[Vec<f64>], draws: &Draws) -> Vec<Vec<f64>> {
    if draws.pool_size == 0 {
        return Vec::new();
    }
    slips
        .chunks(draws.pool_size)
        .map(|c| c.iter().flatten().copied().collect())
        .collect()
}

/// The run's shared factor on every deal's win odds: e^(σ·Z), a shift of σ·Z on the
/// log-odds (1 when deals are independent).
fn run_shift(draws: &Draws, rng: &mut ChaCha8Rng) -> f64 {
    if draws.sigma > 0.0 {
        let z: f64 = StandardNormal.sample(rng);
        (draws.sigma * z).exp()
    } else {
        1.0
    }
}

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
    draws: &Draws,
) -> Vec<WindowResult> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let horizon = windows.iter().map(|w| w.end).max().unwrap_or(0);
    let mut totals = vec![vec![0.0f64; runs]; windows.len()];
    let pooled = pools(slips, draws);
    for r in 0..runs {
        let shift = run_shift(draws, &mut rng);
        for d in deals {
            let Some(day) = landing(d, slips, (&pooled, draws, shift), &mut rng) else {
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

/// One draw for one deal: the day it closes won, or `None` if it does not win. `how`:
/// the pooled slips, the draws' settings and the run's shared factor on the odds
/// (e^(σ·Z); 1 when deals are independent).
fn landing(
    d: &OpenDeal,
    slips: &[Vec<f64>],
    how: (&[Vec<f64>], &Draws, f64),
    rng: &mut ChaCha8Rng,
) -> Option<i64> {
    let (pooled, draws, shift) = how;
    // The shift of the log-odds is a factor e^shift on the odds (computed once per run):
    // no logarithm or exponential per deal and draw.
    let p = if shift == 1.0 || d.probability <= 0.0 || d.probability >= 1.0 {
        d.probability
    } else {
        let odds = d.probability / (1.0 - d.probability) * shift;
        odds / (1.0 + odds)
    };
    if rng.random::<f64>() >= p {
        return None;
    }
    let own = slips.get(d.stage).map(Vec::as_slice).unwrap_or(&[]);
    let pool = d
        .stage
        .checked_div(draws.pool_size)
        .and_then(|i| pooled.get(i))
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let n = own.len() as f64;
    let from =
        if !own.is_empty() && (pool.is_empty() || rng.random::<f64>() < n / (n + draws.shrink)) {
            own
        } else {
            pool
        };
    let slip = if from.is_empty() {
        0.0
    } else {
        from[rng.random_range(0..from.len())]
    };
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
    draws: &Draws,
) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut totals = vec![vec![0.0f64; groups]; runs];
    let pooled = pools(slips, draws);
    for run in totals.iter_mut() {
        let shift = run_shift(draws, &mut rng);
        for (d, g) in deals {
            if let Some(day) = landing(d, slips, (&pooled, draws, shift), &mut rng) {
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
            &Draws::INDEPENDENT,
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
        let r = simulate(
            &deals,
            &[vec![]],
            &[window(0, 30, 0.0)],
            2000,
            7,
            &Draws::INDEPENDENT,
        );
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
            &Draws::INDEPENDENT,
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
        let t = simulate_groups(&deals, 2, &[vec![]], (0, 30), 2000, 7, &Draws::INDEPENDENT);
        assert!(t.iter().all(|r| r[0] == 100.0));
        let won = t.iter().filter(|r| r[1] == 30.0).count() as f64 / 2000.0;
        assert!((won - 0.5).abs() < 0.05, "{won}");
        assert!(t.iter().all(|r| r[1] == 0.0 || r[1] == 30.0));
    }
}

#[cfg(test)]
mod draws_tests {
    use super::*;

    fn coin(stage: usize) -> OpenDeal {
        OpenDeal {
            amount: 10.0,
            probability: 0.5,
            expected_close: 1,
            stage,
        }
    }

    fn window() -> Window {
        Window {
            name: "w".into(),
            start: 0,
            end: 30,
            closed: 0.0,
        }
    }

    /// 400 coin flips: independent, P10–P90 is ±128 around 2,000; with a shared factor of
    /// σ = 0.5 the months go well or badly together and the range is several times wider,
    /// the median still near 2,000.
    #[test]
    fn a_shared_factor_widens_the_range() {
        let deals: Vec<OpenDeal> = (0..400).map(|_| coin(0)).collect();
        let alone = simulate(&deals, &[vec![]], &[window()], 2000, 7, &Draws::INDEPENDENT);
        let together = Draws {
            sigma: 0.5,
            ..Draws::INDEPENDENT
        };
        let shared = simulate(&deals, &[vec![]], &[window()], 2000, 7, &together);
        let width = |r: &WindowResult| r.p90 - r.p10;
        assert!(
            width(&shared[0]) > 3.0 * width(&alone[0]),
            "{:?} vs {:?}",
            shared[0],
            alone[0]
        );
        assert!((shared[0].p50 - 2000.0).abs() < 60.0, "{:?}", shared[0]);
    }

    /// Stage 0 has 2 slips of +40 days, stage 1 has 200 of +40, stage 2 has 400 of 0: the
    /// pool of all three is 202 of 602 late. Stage 0 draws mostly from the pool, stage 1
    /// mostly its own.
    #[test]
    fn a_stage_with_few_slips_borrows_from_the_pool() {
        let slips = vec![vec![40.0; 2], vec![40.0; 200], vec![0.0; 400]];
        let draws = Draws {
            sigma: 0.0,
            pool_size: 3,
            shrink: SHRINK,
        };
        let sure = |stage| OpenDeal {
            amount: 1.0,
            probability: 1.0,
            expected_close: 1,
            stage,
        };
        let share_late = |stage: usize| {
            let r = simulate_groups(&[(sure(stage), 0)], 1, &slips, (30, 60), 4000, 3, &draws);
            r.iter().filter(|x| x[0] > 0.0).count() as f64 / 4000.0
        };
        // Stage 0: own with probability 2/22; the pool is 202 of 602 late.
        let want0 = 2.0 / 22.0 + 20.0 / 22.0 * 202.0 / 602.0;
        assert!(
            (share_late(0) - want0).abs() < 0.03,
            "{} vs {want0}",
            share_late(0)
        );
        // Stage 1: own with probability 200/220.
        let want1 = 200.0 / 220.0 + 20.0 / 220.0 * 202.0 / 602.0;
        assert!(
            (share_late(1) - want1).abs() < 0.03,
            "{} vs {want1}",
            share_late(1)
        );
        // Without pooling, both are always late.
        let alone = simulate_groups(
            &[(sure(0), 0)],
            1,
            &slips,
            (30, 60),
            500,
            3,
            &Draws::INDEPENDENT,
        );
        assert!(alone.iter().all(|x| x[0] == 1.0));
    }

    /// Months whose win rates vary only as binomial chance allows give σ near 0; months
    /// that swing between 30% and 70% give a σ near their log-odds spread.
    #[test]
    fn the_shared_sigma_is_what_chance_does_not_explain() {
        let steady: Vec<(f64, f64)> = (0..24)
            .map(|i| (500.0 + (i % 3) as f64 * 5.0, 500.0))
            .collect();
        assert!(shared_sigma(&steady) < 0.05, "{}", shared_sigma(&steady));
        let swinging: Vec<(f64, f64)> = (0..24)
            .map(|i| {
                if i % 2 == 0 {
                    (300.0, 700.0)
                } else {
                    (700.0, 300.0)
                }
            })
            .collect();
        let s = shared_sigma(&swinging);
        // logit(0.7) = 0.847: the months sit at ±0.847, sd ≈ 0.865 less a little noise.
        assert!((s - 0.86).abs() < 0.03, "{s}");
        assert_eq!(shared_sigma(&swinging[..4]), 0.0, "too few months");
    }
}
