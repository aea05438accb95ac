//! Monte Carlo pipeline forecast: each open deal wins with its probability and, if it
//! does, closes on its expected date moved by a slip drawn from what deals in the same
//! stage did before (pooled with every stage's when the stage has few examples). Deals
//! are not drawn independently: each run shares one factor that moves every deal's win
//! log-odds together (good and bad months), so the ranges are as wide as history says.
//! Wins due early in a quarter may be pulled into the quarter before, as history shows
//! ([`QuarterPull`]). Totals per period give P10/P50/P90.

use super::stats::quantile;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::HashMap;

/// How the draws hang together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draws {
    /// σ of the shift every deal's win log-odds shares within a run (0: deals independent).
    pub sigma: f64,
    /// Slip lists are pooled in groups of this many consecutive lists (0: no pooling).
    pub pool_size: usize,
    /// A list of n slips is drawn from with probability n / (n + shrink), else its pool.
    pub shrink: f64,
    /// Wins pulled back into the quarter before (see [`QuarterPull`]).
    pub pull: QuarterPull,
}

impl Draws {
    /// Every deal on its own, every stage's slips alone, no calendar.
    pub const INDEPENDENT: Draws = Draws {
        sigma: 0.0,
        pool_size: 0,
        shrink: 0.0,
        pull: QuarterPull::NONE,
    };
}

/// Days at the start of a quarter from which a win may be pulled back to the quarter
/// before.
pub const PULL_DAYS: u32 = 10;

/// The quarter-end pull: of the wins that would close in the first [`PULL_DAYS`] days of
/// a quarter, this `share` closes on the last day of the quarter before instead (sales
/// teams pull deals into the quarter they are measured on). `starts`: the first days of
/// the quarters around the simulated period, as days from today (`i64::MIN`: none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuarterPull {
    pub share: f64,
    pub starts: [i64; 6],
}

impl QuarterPull {
    pub const NONE: QuarterPull = QuarterPull {
        share: 0.0,
        starts: [i64::MIN; 6],
    };

    /// Whether `day` is in the first days of a quarter that began on or before today.
    fn passed(&self, day: i64) -> bool {
        self.share > 0.0
            && self
                .starts
                .iter()
                .any(|&q| q != i64::MIN && q <= 0 && day >= q && day < q + PULL_DAYS as i64)
    }

    /// The day a win landing on `day` closes: moved to the day before its quarter's start
    /// with probability `share` when it lands in the quarter's first days, unless that day
    /// is already past (the deal is open today).
    fn apply(&self, day: i64, rng: &mut ChaCha8Rng) -> i64 {
        if self.share <= 0.0 {
            return day;
        }
        for &q in &self.starts {
            if q != i64::MIN && day >= q && day < q + PULL_DAYS as i64 && q > 0 {
                if rng.random::<f64>() < self.share {
                    return q - 1;
                }
                break;
            }
        }
        day
    }
}

/// The share of wins pulled back from a quarter's first days, from the wins on the first
/// [`PULL_DAYS`] days of months that start a quarter against those of the other months
/// (per day): 1 − rate(quarter starts) / rate(other months), within 0..0.9. 0 with fewer
/// than 100 wins in either group: too few to tell a pull from chance.
pub fn quarter_pull(quarter_starts: (f64, f64), other_months: (f64, f64)) -> f64 {
    let ((qw, qd), (ow, od)) = (quarter_starts, other_months);
    if qw + ow < 200.0 || ow < 100.0 || qd <= 0.0 || od <= 0.0 {
        return 0.0;
    }
    (1.0 - (qw / qd) / (ow / od)).clamp(0.0, 0.9)
}

/// Pseudo-examples of the pooled slips a stage's own are mixed with.
pub const SHRINK: f64 = 20.0;

/// σ of the shared factor from monthly (won, lost, group) counts: the spread of the
/// months' win log-odds beyond what binomial chance explains (method of moments), at most
/// 1.5, each month measured from its own group's mean. The group is where the month sits
/// in its quarter when the simulation already moves wins by the calendar
/// ([`quarter_pull`]): the quarter-end months' higher win share is then in the P50 and
/// must not also widen the range (at 1M demo deals σ was 0.13 with the calendar in, 0.03
/// with the three positions' means taken out). One group for every month otherwise. 0
/// with fewer than five months more than groups (six for one group) that have both wins
/// and losses. Months whose log-odds lie more than 3.5 scaled median absolute deviations
/// from the median (Iglewicz and Hoaglin's outlier rule), widened by the month's own
/// binomial noise so that a month of few closes is not an outlier for its chance alone,
/// are left out: the first months of a history that starts mid-stream, when only the
/// quick losses have had time to close (at 1M deals 43 wins to 6,241 losses against about
/// 1 to 3 after), would otherwise set σ for two years.
pub fn shared_sigma(months: &[(f64, f64, u8)]) -> f64 {
    let all: Vec<(f64, f64, u8)> = months
        .iter()
        .filter(|(w, l, _)| *w > 0.0 && *l > 0.0)
        .map(|&(w, l, g)| {
            let n = w + l;
            let p = w / n;
            ((p / (1.0 - p)).ln(), 1.0 / (n * p * (1.0 - p)), g)
        })
        .collect();
    if all.len() < 6 {
        return 0.0;
    }
    let median = |v: Vec<f64>| super::stats::quantile(&v, 0.5).unwrap_or(0.0);
    let centre = median(all.iter().map(|x| x.0).collect());
    let mad = 1.4826 * median(all.iter().map(|x| (x.0 - centre).abs()).collect());
    let logits: Vec<(f64, f64, u8)> = all
        .into_iter()
        .filter(|x| (x.0 - centre).abs() <= 3.5 * (mad * mad + x.1).sqrt())
        .collect();
    let mut groups: HashMap<u8, (f64, f64)> = HashMap::new();
    for x in &logits {
        let g = groups.entry(x.2).or_default();
        g.0 += x.0;
        g.1 += 1.0;
    }
    let k = logits.len() as f64;
    if k - (groups.len() as f64) < 5.0 {
        return 0.0;
    }
    let ss = logits
        .iter()
        .map(|x| (x.0 - groups[&x.2].0 / groups[&x.2].1).powi(2))
        .sum::<f64>();
    let var = ss / (k - groups.len() as f64);
    let noise = logits.iter().map(|x| x.1).sum::<f64>() / k;
    (var - noise).max(0.0).sqrt().min(1.5)
}

/// One past month's evidence on the shared factor's σ², from that month's simulated
/// totals with deals independent (`base`), the same with every deal's win log-odds moved
/// by +`shift` and −`shift` (`up`, `down`: same seed, so that few runs tell the
/// difference), and the revenue that was `actual`ly won. Where the actual fell among the
/// runs (its mid-rank share u, kept half a run from 0 and 1) is read as a normal score
/// z = Φ⁻¹(u): z² − 1 is how much more (or less) spread the month needed than its draws
/// gave, in units of their variance on the log scale (s = (ln P90 − ln P10) / 2.563).
/// That is turned into log-odds by how far the log of the runs' mean moves per unit of
/// shift (g): (z² − 1) s² / g². Read by rank rather than by ln(actual / P50), so that a
/// month with one giant deal, whose draws are skewed, counts by where it fell and not by
/// how far. `None` when nothing was won, P10 is 0 or the revenue barely moves with the
/// shift (g < 0.01).
pub fn miss_term(base: &[f64], up: &[f64], down: &[f64], shift: f64, actual: f64) -> Option<f64> {
    let runs = base.len() as f64;
    if actual <= 0.0 || base.is_empty() || shift <= 0.0 {
        return None;
    }
    let (p10, p90) = (quantile(base, 0.1)?, quantile(base, 0.9)?);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (hi, lo) = (mean(up), mean(down));
    if p10 <= 0.0 || lo <= 0.0 || hi <= 0.0 {
        return None;
    }
    let g = (hi / lo).ln() / (2.0 * shift);
    if g < 0.01 {
        return None;
    }
    let below = base.iter().filter(|&&t| t < actual).count() as f64;
    let equal = base.iter().filter(|&&t| t == actual).count() as f64;
    let u = ((below + 0.5 * equal) / runs).clamp(0.5 / runs, 1.0 - 0.5 / runs);
    let z = super::stats::normal_quantile(u);
    let s = (p90 / p10).ln() / (2.0 * super::stats::normal_quantile(0.9));
    Some((z * z - 1.0) * s * s / (g * g))
}

/// σ from the [`miss_term`]s of the months before: their mean, at least 0, σ at most 1.5.
pub fn sigma_from_misses(terms: &[f64]) -> f64 {
    if terms.is_empty() {
        return 0.0;
    }
    let var = terms.iter().sum::<f64>() / terms.len() as f64;
    var.max(0.0).sqrt().min(1.5)
}

/// How a deal's size moves its win log-odds: `slope` per tenfold amount, from the
/// typical deal's [`crate::domain::deals::size_bucket`] `centre` (two classes a decade),
/// within the classes `seen` among the deals it was learned from.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SizeEffect {
    pub slope: f64,
    pub centre: f64,
    pub seen: (i64, i64),
}

impl SizeEffect {
    /// The factor on the win odds of a deal of `cents` (1 without an amount). A deal
    /// larger or smaller than any learned from counts as the largest or smallest class
    /// seen: one giant deal is not given odds nobody observed.
    pub fn factor(&self, cents: i64) -> f64 {
        crate::domain::deals::size_bucket(cents).map_or(1.0, |b| {
            let b = b.clamp(self.seen.0, self.seen.1.max(self.seen.0));
            (self.slope * (b as f64 - self.centre) / 2.0).exp()
        })
    }
}

/// `p` with its odds multiplied by `factor`.
pub fn with_odds_factor(p: f64, factor: f64) -> f64 {
    if factor == 1.0 || p <= 0.0 || p >= 1.0 {
        return p;
    }
    let odds = p / (1.0 - p) * factor;
    odds / (1.0 + odds)
}

/// How size moves the win odds, from `(size class, deals, won, rate before size)` groups
/// of snapshot deals: one slope on the log-odds per tenfold amount, centred on the typical
/// deal's class, by maximum likelihood given each group's own stage and timing rate
/// (bisection on the score within ±3 a decade). Standardised against those rates, not the
/// overall rate, so that big deals sitting in late stages do not make size look like an
/// advantage; one slope rather than a factor per class, so that a class of few deals
/// cannot swing. None (slope 0) with fewer than two classes.
pub fn size_effect(groups: &[(i64, i64, i64, f64)]) -> SizeEffect {
    let n: f64 = groups.iter().map(|g| g.1 as f64).sum();
    let seen = (
        groups.iter().map(|g| g.0).min().unwrap_or(0),
        groups.iter().map(|g| g.0).max().unwrap_or(0),
    );
    if n <= 0.0 || seen.0 == seen.1 {
        return SizeEffect::default();
    }
    let centre = groups.iter().map(|g| g.0 as f64 * g.1 as f64).sum::<f64>() / n;
    let x = |b: i64| (b as f64 - centre) / 2.0;
    // d log L / d slope: Σ x (wins − n p(slope)), decreasing in the slope.
    let score = |slope: f64| -> f64 {
        groups
            .iter()
            .map(|g| {
                let xg = x(g.0);
                xg * (g.2 as f64 - g.1 as f64 * with_odds_factor(g.3, (slope * xg).exp()))
            })
            .sum()
    };
    let (mut lo, mut hi) = (-3.0f64, 3.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if score(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    SizeEffect {
        slope: 0.5 * (lo + hi),
        centre,
        seen,
    }
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
    /// Whether `expected_close` is a date someone gave, so that the deal is simulated
    /// given that it is still open today; false: a time to win drawn from today (no date).
    pub dated: bool,
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

/// A deal made ready to draw: its odds and the slips it can still have.
struct Ready<'a> {
    amount: f64,
    /// The odds of winning, before the run's shared factor.
    odds: f64,
    /// Certain (true) or impossible (false): not moved by the shared factor.
    fixed: Option<bool>,
    expected: i64,
    /// The slips at least as late as today (sorted lists' tails), and the chance of
    /// drawing from the first.
    own: &'a [f64],
    pool: &'a [f64],
    own_share: f64,
}

/// Share of the sorted `list` at or above `at` (1 for an empty list: no evidence), and that
/// tail.
fn tail(list: &[f64], at: f64) -> (f64, &[f64]) {
    if list.is_empty() {
        return (1.0, list);
    }
    let i = list.partition_point(|&x| x < at);
    ((list.len() - i) as f64 / list.len() as f64, &list[i..])
}

/// Each deal's draw given that it is still open today. A deal expected `e` days from now
/// (negative: overdue) is open today, so if it wins its slip is at least −e: a win's slip
/// is drawn from the won deals' slips that late (the own and pooled lists weighted by how
/// many such slips each has). When no won deal ever slipped that far, it closes today if
/// it wins. Its probability is taken as given: the caller's is already conditioned on how
/// overdue the deal is (see `app::pipeline_forecast::Learned`).
fn ready<'a>(
    deals: &[OpenDeal],
    sorted: &'a [Vec<f64>],
    pooled: &'a [Vec<f64>],
    draws: &Draws,
) -> Vec<Ready<'a>> {
    deals
        .iter()
        .map(|d| {
            let at = if d.dated {
                -(d.expected_close as f64)
            } else {
                f64::NEG_INFINITY
            };
            let own_all = sorted.get(d.stage).map(Vec::as_slice).unwrap_or(&[]);
            let pool_all = d
                .stage
                .checked_div(draws.pool_size)
                .and_then(|i| pooled.get(i))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let n = own_all.len() as f64;
            let w_own = match (own_all.is_empty(), pool_all.is_empty()) {
                (true, _) => 0.0,
                (false, true) => 1.0,
                (false, false) => n / (n + draws.shrink),
            };
            let (f_own, own) = tail(own_all, at);
            let (f_pool, pool) = tail(pool_all, at);
            let f_win = w_own * f_own + (1.0 - w_own) * f_pool;
            let p = d.probability.clamp(0.0, 1.0);
            let fixed = if p <= 0.0 {
                Some(false)
            } else if p >= 1.0 {
                Some(true)
            } else {
                None
            };
            let (own, pool, own_share) = if f_win > 0.0 {
                (own, pool, w_own * f_own / f_win)
            } else {
                // No won deal slipped this late: it closes today if it wins.
                (&[][..], &[][..], 0.0)
            };
            Ready {
                amount: d.amount,
                odds: if fixed.is_none() { p / (1.0 - p) } else { 0.0 },
                fixed,
                expected: d.expected_close,
                own,
                pool,
                own_share,
            }
        })
        .collect()
}

/// Sorted copies of the slip lists and their pools.
fn sorted_lists(slips: &[Vec<f64>], draws: &Draws) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let sort = |v: &Vec<f64>| {
        let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let sorted: Vec<Vec<f64>> = slips.iter().map(sort).collect();
    let pooled = pools(&sorted, draws).iter().map(sort).collect();
    (sorted, pooled)
}

/// Runs `runs` simulations with a fixed seed (the same inputs give the same answer).
/// `slips[stage]` are observed days from expected to actual close of won deals; an empty
/// list means no slip. Every deal is simulated given that it is still open today (see
/// [`ready`]).
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
    let (sorted, pooled) = sorted_lists(slips, draws);
    let ready = ready(deals, &sorted, &pooled, draws);
    for r in 0..runs {
        let shift = run_shift(draws, &mut rng);
        for d in &ready {
            let Some(day) = landing(d, shift, &draws.pull, &mut rng) else {
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

/// One draw for one deal: the day it closes won, or `None` if it does not win. `shift`:
/// the run's shared factor on the odds (e^(σ·Z); 1 when deals are independent).
fn landing(d: &Ready, shift: f64, pull: &QuarterPull, rng: &mut ChaCha8Rng) -> Option<i64> {
    let draw = |rng: &mut ChaCha8Rng| {
        let from = if !d.own.is_empty() && (d.pool.is_empty() || rng.random::<f64>() < d.own_share)
        {
            d.own
        } else {
            d.pool
        };
        let slip = if from.is_empty() {
            0.0
        } else {
            from[rng.random_range(0..from.len())]
        };
        (d.expected as f64 + slip).round().max(0.0) as i64
    };
    // A deal still open in the first days of a quarter that has begun was not pulled into
    // the quarter before: an outcome in which it won, landed there and was pulled cannot
    // be its, so such a draw is drawn again whole (win or not, then the day). That is the
    // win probability given that it is still open, p (1 − e·s) / (1 − p·e·s) with e the
    // chance that a win of its lands in those days and s the pull, and its landings
    // given the same.
    let mut outcome = None;
    for _ in 0..8 {
        let wins = match d.fixed {
            Some(w) => w,
            None => {
                // The shift of the log-odds is a factor on the odds (computed once per
                // run): no logarithm or exponential per deal and draw.
                let odds = d.odds * shift;
                rng.random::<f64>() < odds / (1.0 + odds)
            }
        };
        if !wins {
            return None;
        }
        let day = draw(rng);
        outcome = Some(day);
        if !pull.passed(day) || rng.random::<f64>() >= pull.share {
            break;
        }
    }
    outcome.map(|day| pull.apply(day, rng))
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
    let (sorted, pooled) = sorted_lists(slips, draws);
    let only: Vec<OpenDeal> = deals.iter().map(|(d, _)| *d).collect();
    let ready = ready(&only, &sorted, &pooled, draws);
    for run in totals.iter_mut() {
        let shift = run_shift(draws, &mut rng);
        for (d, (_, g)) in ready.iter().zip(deals) {
            if let Some(day) = landing(d, shift, &draws.pull, &mut rng) {
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
                dated: true,
            },
            OpenDeal {
                amount: 50.0,
                probability: 1.0,
                expected_close: 40,
                stage: 0,
                dated: true,
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
                dated: true,
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
            dated: true,
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
            dated: true,
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
            dated: true,
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
    /// A deal still open 20 days past its date can only have slipped 20 days or more: it
    /// draws from those slips (landing 10 days from now at most, given slips of 30 days
    /// at most), and a deal past every slip seen closes today if it wins.
    #[test]
    fn an_overdue_deal_draws_only_slips_as_late_as_it_already_is() {
        let slips = vec![vec![-10.0, 0.0, 5.0, 25.0, 30.0]];
        let overdue = |days: i64| OpenDeal {
            amount: 1.0,
            probability: 1.0,
            expected_close: -days,
            stage: 0,
            dated: true,
        };
        let landed = |d: OpenDeal, window: (i64, i64)| {
            simulate_groups(&[(d, 0)], 1, &slips, window, 2000, 5, &Draws::INDEPENDENT)
                .iter()
                .filter(|r| r[0] > 0.0)
                .count()
        };
        // Slips of 25 and 30 days remain: it lands on day 5 or day 10, never today.
        assert_eq!(landed(overdue(20), (5, 11)), 2000);
        assert_eq!(landed(overdue(20), (0, 5)), 0);
        // 40 days overdue: no won deal slipped that far; it closes today.
        assert_eq!(landed(overdue(40), (0, 1)), 2000);
        // Without a date the whole list is drawn (times to win from today).
        let undated = OpenDeal {
            dated: false,
            expected_close: 0,
            ..overdue(0)
        };
        let t = simulate_groups(
            &[(undated, 0)],
            1,
            &slips,
            (0, 1),
            4000,
            5,
            &Draws::INDEPENDENT,
        );
        let today = t.iter().filter(|r| r[0] > 0.0).count() as f64 / 4000.0;
        // -10 and 0 land today: 2 of 5.
        assert!((today - 0.4).abs() < 0.04, "{today}");
    }

    /// Known answers: 60 wins in 40 quarter-start days against 240 in 80 other days is
    /// 1.5 a day against 3, half pulled away; no fewer wins than elsewhere is no pull;
    /// too few wins to tell is none either.
    #[test]
    fn the_quarter_pull_is_the_missing_share_of_early_quarter_wins() {
        assert!((quarter_pull((60.0, 40.0), (240.0, 80.0)) - 0.5).abs() < 1e-12);
        assert_eq!(quarter_pull((150.0, 40.0), (240.0, 80.0)), 0.0);
        assert_eq!(quarter_pull((0.0, 40.0), (240.0, 80.0)), 0.9);
        assert_eq!(quarter_pull((10.0, 40.0), (90.0, 80.0)), 0.0);
    }

    /// A quarter starting 20 days from today, every win pulled: sure deals landing on its
    /// days 0–9 close on day 19; one landing on day 10 stays. A quarter that began 5 days
    /// ago (its first days partly past): a deal still open cannot have been pulled, and a
    /// landing in its first days is drawn again (here to day 30, its only other slip).
    #[test]
    fn wins_early_in_a_quarter_close_in_the_quarter_before() {
        let pull = QuarterPull {
            share: 1.0,
            starts: [-5, 20, i64::MIN, i64::MIN, i64::MIN, i64::MIN],
        };
        let draws = Draws {
            pull,
            ..Draws::INDEPENDENT
        };
        let sure = |expected_close| OpenDeal {
            amount: 1.0,
            probability: 1.0,
            expected_close,
            stage: 0,
            dated: true,
        };
        let day = |expected: i64, slips: Vec<f64>| {
            let windows: Vec<Window> = (0..40)
                .map(|d| Window {
                    name: d.to_string(),
                    start: d,
                    end: d + 1,
                    closed: 0.0,
                })
                .collect();
            let r = simulate(&[sure(expected)], &[slips], &windows, 50, 3, &draws);
            r.iter().position(|w| w.p50 > 0.5)
        };
        assert_eq!(day(20, vec![]), Some(19));
        assert_eq!(day(29, vec![]), Some(19));
        assert_eq!(day(30, vec![]), Some(30));
        // Day 2 is in the first days of the quarter that began on day −5: drawn again
        // until it lands elsewhere (slips 0 or +28: day 2 or day 30).
        assert_eq!(day(2, vec![0.0, 28.0]), Some(30));
        // Without the pull nothing moves.
        let none = Draws::INDEPENDENT;
        let w = Window {
            name: "day 20".into(),
            start: 20,
            end: 21,
            closed: 0.0,
        };
        let r = simulate(&[sure(20)], &[vec![]], &[w], 10, 3, &none);
        assert_eq!(r[0].p50, 1.0);
    }

    /// Known answer: a deal at 0.5 whose wins all land on day 2, in the first days of a
    /// quarter that began on day −5, half of such wins pulled. Still open today, it was
    /// not pulled: it wins with 0.5 · 0.5 / (1 − 0.5 · 0.5) = 1/3, not 0.5.
    #[test]
    fn a_deal_still_open_early_in_a_quarter_wins_as_one_not_pulled() {
        let draws = Draws {
            pull: QuarterPull {
                share: 0.5,
                starts: [-5, 86, i64::MIN, i64::MIN, i64::MIN, i64::MIN],
            },
            ..Draws::INDEPENDENT
        };
        let deal = OpenDeal {
            amount: 1.0,
            probability: 0.5,
            expected_close: 2,
            stage: 0,
            dated: true,
        };
        let runs = 40_000;
        let r = simulate_groups(&[(deal, 0)], 1, &[vec![]], (0, 40), runs, 7, &draws);
        let won = r.iter().filter(|x| x[0] > 0.0).count() as f64 / runs as f64;
        assert!((won - 1.0 / 3.0).abs() < 0.01, "{won}");
        // With no pull the same deal wins half the time.
        let r = simulate_groups(
            &[(deal, 0)],
            1,
            &[vec![]],
            (0, 40),
            runs,
            7,
            &Draws::INDEPENDENT,
        );
        let won = r.iter().filter(|x| x[0] > 0.0).count() as f64 / runs as f64;
        assert!((won - 0.5).abs() < 0.01, "{won}");
    }

    #[test]
    fn a_stage_with_few_slips_borrows_from_the_pool() {
        let slips = vec![vec![40.0; 2], vec![40.0; 200], vec![0.0; 400]];
        let draws = Draws {
            sigma: 0.0,
            pool_size: 3,
            shrink: SHRINK,
            pull: QuarterPull::NONE,
        };
        let sure = |stage| OpenDeal {
            amount: 1.0,
            probability: 1.0,
            expected_close: 1,
            stage,
            dated: true,
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

    /// 2,000 runs spread as a log-normal of log-scale sd `s` around `median`, at evenly
    /// spaced quantiles.
    fn log_normal(median: f64, s: f64) -> Vec<f64> {
        (0..2000)
            .map(|i| {
                median
                    * (s * crate::analytics::stats::normal_quantile((i as f64 + 0.5) / 2000.0))
                        .exp()
            })
            .collect()
    }

    /// Known answer: runs log-normal with s = 0.1 around 100, moving by g = 0.5 on the log
    /// scale per unit of shift. An actual at their 90th percentile (z = 1.2816) asks for
    /// (z² − 1)·s²/g² = 0.0257 more variance on the log-odds; one at the median for −s²/g²
    /// = −0.04 (less spread than the draws gave). A month without wins says nothing.
    #[test]
    fn a_months_miss_is_read_by_where_it_fell_among_the_runs() {
        let (s, g, shift): (f64, f64, f64) = (0.1, 0.5, 0.25);
        let base = log_normal(100.0, s);
        let up = log_normal(100.0 * (g * shift).exp(), s);
        let down = log_normal(100.0 * (-g * shift).exp(), s);
        let at_p90 = 100.0 * (s * 1.281_551_6).exp();
        let t = miss_term(&base, &up, &down, shift, at_p90).unwrap();
        let want = (1.281_551_6f64.powi(2) - 1.0) * s * s / (g * g);
        assert!((t - want).abs() < 0.002, "{t} vs {want}");
        let t = miss_term(&base, &up, &down, shift, 100.0).unwrap();
        assert!((t + s * s / (g * g)).abs() < 0.002, "{t}");
        assert_eq!(miss_term(&base, &up, &down, shift, 0.0), None);
        // Revenue that does not move with the shift (every deal sure) gives no reading.
        assert_eq!(miss_term(&base, &base, &base, shift, 100.0), None);
        // Far beyond every run: read as half a run past the last, not as infinitely far.
        let far = miss_term(&base, &up, &down, shift, 1e9).unwrap();
        let z = crate::analytics::stats::normal_quantile(1.0 - 0.5 / 2000.0);
        assert!(
            (far - (z * z - 1.0) * s * s / (g * g)).abs() < 0.003,
            "{far}"
        );
        // σ from the months: the mean of their terms, never below 0.
        assert!((sigma_from_misses(&[0.02, 0.06]) - 0.2).abs() < 1e-12);
        assert_eq!(sigma_from_misses(&[-0.04, 0.01]), 0.0);
        assert_eq!(sigma_from_misses(&[]), 0.0);
    }

    /// A one-sided skew (one giant deal: most runs without it, a tenth with it) read by
    /// rank: an actual with the giant deal counts as a 90th-95th percentile month, not as
    /// a miss of ln(11) on the log scale.
    #[test]
    fn a_giant_deal_month_is_not_read_as_a_huge_miss() {
        let base: Vec<f64> = (0..2000)
            .map(|i| {
                if i % 10 == 0 {
                    1100.0
                } else {
                    100.0 + (i % 7) as f64
                }
            })
            .collect();
        let up: Vec<f64> = base.iter().map(|x| x * 1.1).collect();
        let down: Vec<f64> = base.iter().map(|x| x / 1.1).collect();
        let t = miss_term(&base, &up, &down, 0.25, 1100.0).unwrap();
        // u = 0.95 (1,800 runs below, 200 equal): z = 1.645, z² − 1 = 1.71 variances of
        // the runs' own log spread s, against (ln(1100 / 103) / s)² − 1 ≈ 30 by log error.
        let p10 = crate::analytics::stats::quantile(&base, 0.1).unwrap();
        let p90 = crate::analytics::stats::quantile(&base, 0.9).unwrap();
        let s = (p90 / p10).ln() / (2.0 * 1.281_551_6);
        let g = 1.1f64.ln() / 0.25;
        let want = (1.644_853_6f64.powi(2) - 1.0) * s * s / (g * g);
        assert!((t - want).abs() < 0.01 * want, "{t} vs {want}");
        let by_log_error = ((1100.0f64 / 103.0).ln().powi(2) - s * s) / (g * g);
        assert!(t < by_log_error / 10.0, "{t} vs {by_log_error}");
    }

    /// Months of (won, lost) in one group.
    fn one(months: &[(f64, f64)]) -> Vec<(f64, f64, u8)> {
        months.iter().map(|&(w, l)| (w, l, 0)).collect()
    }

    /// Known answer: 24 months whose win rate is set by their place in the quarter (25%,
    /// 30%, 40%) with binomial-sized counts around it. In one group σ is the positions'
    /// spread (log-odds −1.10, −0.85, −0.41: sd about 0.29); measured within the three
    /// positions it is near 0, and a position's own swing is still found.
    #[test]
    fn the_shared_sigma_leaves_out_the_quarter_calendar_when_grouped() {
        let rate = [0.25, 0.3, 0.4];
        let months: Vec<(f64, f64, u8)> = (0..24)
            .map(|i| {
                let g = (i % 3) as u8;
                let w = 10_000.0 * rate[g as usize] + [-20.0, 0.0, 20.0][i / 3 % 3];
                (w, 10_000.0 - w, g)
            })
            .collect();
        let flat: Vec<(f64, f64, u8)> = months.iter().map(|m| (m.0, m.1, 0)).collect();
        let s = shared_sigma(&flat);
        assert!((s - 0.29).abs() < 0.02, "{s}");
        assert!(shared_sigma(&months) < 0.01, "{}", shared_sigma(&months));
        // Every quarter-end month alternately 35% and 45% (log-odds ±0.21 about their mean in
        // a third of the months): σ within positions about 0.13 is found.
        let swinging: Vec<(f64, f64, u8)> = months
            .iter()
            .enumerate()
            .map(|(i, m)| match (m.2, i / 3 % 2) {
                (2, 0) => (3_500.0, 6_500.0, 2),
                (2, _) => (4_500.0, 5_500.0, 2),
                _ => *m,
            })
            .collect();
        let s = shared_sigma(&swinging);
        assert!((s - 0.13).abs() < 0.02, "{s}");
        // Seven months in three groups: too few to tell a swing from the groups' means.
        assert_eq!(shared_sigma(&swinging[..7]), 0.0);
        assert!(shared_sigma(&swinging[..8]) > 0.0);
    }

    /// 24 months of (won, lost), alternating between `a` and `b`.
    fn alternating(a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
        (0..24).map(|i| if i % 2 == 0 { a } else { b }).collect()
    }

    /// Months whose win rates vary only as binomial chance allows give σ near 0; months
    /// that swing between 30% and 70% give a σ near their log-odds spread.
    #[test]
    fn the_shared_sigma_is_what_chance_does_not_explain() {
        let steady: Vec<(f64, f64)> = (0..24)
            .map(|i| (500.0 + (i % 3) as f64 * 5.0, 500.0))
            .collect();
        assert!(
            shared_sigma(&one(&steady)) < 0.05,
            "{}",
            shared_sigma(&one(&steady))
        );
        let swinging = alternating((300.0, 700.0), (700.0, 300.0));
        let s = shared_sigma(&one(&swinging));
        // logit(0.7) = 0.847: the months sit at ±0.847, sd ≈ 0.865 less a little noise.
        assert!((s - 0.86).abs() < 0.03, "{s}");
        assert_eq!(shared_sigma(&one(&swinging[..4])), 0.0, "too few months");
    }

    /// A history that starts mid-stream: its first two months closed only quick losses
    /// (logit −5 and −2 against about −1 after). Left in, they make σ about 0.8; left out
    /// as outliers, the steady months' σ stays near 0, as without them.
    #[test]
    fn the_first_months_of_a_history_do_not_set_the_shared_sigma() {
        let mut months: Vec<(f64, f64)> = (0..22)
            .map(|i| (5000.0 + (i % 3) as f64 * 20.0, 15000.0))
            .collect();
        let steady = shared_sigma(&one(&months));
        months.push((1611.0, 12414.0));
        months.push((43.0, 6241.0));
        let s = shared_sigma(&one(&months));
        assert!(steady < 0.05 && (s - steady).abs() < 1e-12, "{steady} {s}");
        // The same two months among months that swing as much are not outliers.
        // A month of four closes, 2 won, is as far off as its chance allows: kept (σ moves),
        // where the bare rule (its scaled MAD near 0.003 here) would drop it.
        let mut small = months[..22].to_vec();
        small.push((2.0, 2.0));
        let with_small = shared_sigma(&one(&small));
        assert!(with_small != steady && with_small < 0.2, "{with_small}");
        let swinging = alternating((43.0, 6241.0), (1611.0, 12414.0));
        assert!(
            shared_sigma(&one(&swinging)) > 1.0,
            "{}",
            shared_sigma(&one(&swinging))
        );
    }

    /// Known answer: two size classes a decade apart, every deal at 0.5 before size; the
    /// smaller 60 wins in 100, the larger 40. The slope solves σ(slope/2) = 0.4 (centred
    /// between them): 2·ln(2/3) per tenfold. Equal classes give none, one class none.
    #[test]
    fn the_size_effect_is_a_slope_by_maximum_likelihood() {
        let e = size_effect(&[(8, 100, 60, 0.5), (10, 100, 40, 0.5)]);
        assert!((e.centre - 9.0).abs() < 1e-12);
        assert!((e.slope - 2.0 * (2.0f64 / 3.0).ln()).abs() < 1e-9, "{e:?}");
        // A deal of 100.00 is class 10 (5 digits of cents, leading 10): half a decade
        // above the centre, odds ×2/3, p 0.4.
        assert!((with_odds_factor(0.5, e.factor(10_000)) - 0.4).abs() < 1e-9);
        assert_eq!(e.factor(0), 1.0);
        // Beyond the classes seen (8–10), a giant deal counts as the largest class.
        assert!((e.factor(10i64.pow(12)) - e.factor(10_000)).abs() < 1e-12);
        assert!((e.factor(1) - e.factor(1_000)).abs() < 1e-12);
        let flat = size_effect(&[(8, 100, 50, 0.5), (10, 100, 50, 0.5)]);
        assert!(flat.slope.abs() < 1e-9);
        assert_eq!(size_effect(&[(8, 100, 90, 0.5)]).slope, 0.0);
        // Standardised: the larger class wins more only because its stage's rate is higher.
        let e = size_effect(&[(8, 100, 20, 0.2), (10, 100, 80, 0.8)]);
        assert!(e.slope.abs() < 1e-9, "{e:?}");
    }
}
