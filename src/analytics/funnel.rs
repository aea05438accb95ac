//! Funnel analytics over deal histories: stage-to-stage conversion of cohorts (from the
//! stage changes, not a snapshot), time in stage, sales velocity, the bottleneck stage and
//! learned stale-deal thresholds. Pure functions; days are plain day numbers.

use super::stats::quantile;
pub use crate::domain::funnel::{DealPath, Outcome};

/// Conversion out of one open stage for a cohort of deals.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conversion {
    /// Deals that reached this stage (or went past it).
    pub reached: usize,
    /// Of those, deals that went further (a later stage or won).
    pub advanced: usize,
    /// Deals lost while this was their furthest stage.
    pub lost: usize,
    /// Deals still open here.
    pub open: usize,
}

impl Conversion {
    /// Advanced over resolved (advanced + lost): deals still sitting in the stage have
    /// not decided yet and do not count either way.
    pub fn rate(&self) -> Option<f64> {
        let resolved = self.advanced + self.lost;
        (resolved > 0).then(|| self.advanced as f64 / resolved as f64)
    }
}

/// Stage-to-stage conversion of a cohort over `k` open stages (the last one's "advance"
/// is winning).
pub fn conversions(paths: &[DealPath], k: usize) -> Vec<Conversion> {
    let mut out = vec![
        Conversion {
            reached: 0,
            advanced: 0,
            lost: 0,
            open: 0,
        };
        k
    ];
    for p in paths {
        let Some(top) = p.furthest(k) else { continue };
        for (i, c) in out.iter_mut().enumerate() {
            if top < i {
                break;
            }
            c.reached += 1;
            if top > i {
                c.advanced += 1;
            } else if p.outcome == Outcome::Lost {
                c.lost += 1;
            } else {
                c.open += 1;
            }
        }
    }
    out
}

/// Days spent in each open stage, from each entry to the next entry or the close.
/// `won_only` keeps deals that went on to win. A stay still in progress is not counted.
pub fn stage_days(paths: &[DealPath], k: usize, won_only: bool) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::new(); k];
    for p in paths {
        if won_only && p.outcome != Outcome::Won {
            continue;
        }
        for (j, (stage, day)) in p.entries.iter().enumerate() {
            if *stage >= k {
                continue;
            }
            let exit = match p.entries.get(j + 1) {
                Some((_, next)) => Some(*next),
                None => p.closed,
            };
            if let Some(e) = exit {
                out[*stage].push((e - day).max(0) as f64);
            }
        }
    }
    out
}

/// Median and 90th percentile of each stage's days.
pub fn days_summary(days: &[Vec<f64>]) -> Vec<(Option<f64>, Option<f64>)> {
    days.iter()
        .map(|d| {
            let mut v = d.clone();
            v.sort_by(f64::total_cmp);
            (quantile(&v, 0.5), quantile(&v, 0.9))
        })
        .collect()
}

/// The stale threshold of each stage: the `q` quantile of the days that deals which went
/// on to win spent there; `None` with fewer than `min_stays` such stays (too noisy).
pub fn stale_thresholds(
    paths: &[DealPath],
    k: usize,
    q: f64,
    min_stays: usize,
) -> Vec<Option<f64>> {
    stage_days(paths, k, true)
        .into_iter()
        .map(|v| {
            if v.len() >= min_stays {
                quantile(&v, q)
            } else {
                None
            }
        })
        .collect()
}

/// Sales velocity: expected revenue per day from the open pipeline,
/// open deals × win rate × average won size ÷ average cycle length in days.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Velocity {
    pub open_deals: usize,
    pub win_rate: f64,
    pub average_won: f64,
    pub cycle_days: f64,
    pub per_day: f64,
}

/// Velocity from the deals closed in a window (win rate, size, cycle) and the number of
/// open deals now. `None` when nothing was won.
pub fn velocity(closed: &[DealPath], open_deals: usize) -> Option<Velocity> {
    let won: Vec<&DealPath> = closed
        .iter()
        .filter(|p| p.outcome == Outcome::Won)
        .collect();
    let lost = closed.iter().filter(|p| p.outcome == Outcome::Lost).count();
    if won.is_empty() {
        return None;
    }
    let win_rate = won.len() as f64 / (won.len() + lost) as f64;
    let average_won = won.iter().map(|p| p.amount).sum::<f64>() / won.len() as f64;
    let cycle_days = won
        .iter()
        .map(|p| (p.closed.unwrap_or(p.created) - p.created).max(0) as f64)
        .sum::<f64>()
        / won.len() as f64;
    let cycle = cycle_days.max(1.0);
    Some(Velocity {
        open_deals,
        win_rate,
        average_won,
        cycle_days,
        per_day: open_deals as f64 * win_rate * average_won / cycle,
    })
}

/// The stage whose conversion dropped most from `before` to `now`, in percentage points,
/// counting only stages with at least `min_resolved` decided deals in both and a drop a
/// two-proportion z-test calls significant at 95% (z > 1.96): (stage index, rate before,
/// rate now). `None` when no stage got significantly worse.
pub fn bottleneck(
    before: &[Conversion],
    now: &[Conversion],
    min_resolved: usize,
) -> Option<(usize, f64, f64)> {
    before
        .iter()
        .zip(now)
        .enumerate()
        .filter(|(_, (b, n))| {
            b.advanced + b.lost >= min_resolved && n.advanced + n.lost >= min_resolved
        })
        .filter(|(_, (b, n))| significant_drop(b, n))
        .filter_map(|(i, (b, n))| Some((i, b.rate()?, n.rate()?)))
        .max_by(|x, y| (x.1 - x.2).total_cmp(&(y.1 - y.2)))
}

/// Whether `now` converts worse than `before` beyond chance (one-sided z > 1.96, that is
/// p < 0.025).
fn significant_drop(before: &Conversion, now: &Conversion) -> bool {
    drop_p_value(before, now).is_some_and(|p| p < 0.025)
}

/// The one-sided p-value of "`now` converts worse than `before`" by the two-proportion
/// z-test (pooled); `None` when either side has no decided deals.
pub fn drop_p_value(before: &Conversion, now: &Conversion) -> Option<f64> {
    let (n1, n2) = (
        (before.advanced + before.lost) as f64,
        (now.advanced + now.lost) as f64,
    );
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    let (p1, p2) = (before.advanced as f64 / n1, now.advanced as f64 / n2);
    let pooled = (before.advanced + now.advanced) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(if p1 > p2 { 0.0 } else { 1.0 });
    }
    let z = (p1 - p2) / se;
    // P(Z > z) for a standard normal Z.
    Some(0.5 * libm::erfc(z / std::f64::consts::SQRT_2))
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the order given: a test whose q is
/// at most `α` is a discovery with the false discovery rate controlled at `α`.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// The false discovery rate the "against the team" comparisons are held to.
pub const TEAM_FDR: f64 = 0.05;

/// The weakest group against the rest, with how many comparisons were made.
#[derive(Debug, Clone, PartialEq)]
pub struct WeakestGroup {
    /// (group, stage, rest's rate, group's rate, q-value) of the largest significant drop.
    pub worst: Option<(usize, usize, f64, f64, f64)>,
    /// Group × stage comparisons with at least `min_resolved` decided deals on both sides.
    pub comparisons: usize,
}

/// The group whose deals convert worst against everyone else's in the same cohort: each
/// group's conversion at each stage against the rest's (where both sides have at least
/// `min_resolved` decided deals), tested one-sided, the p-values of all those comparisons
/// adjusted together by Benjamini–Hochberg (false discovery rate `TEAM_FDR`); the largest
/// drop among the discoveries.
pub fn weakest_group(
    paths: &[DealPath],
    groups: usize,
    k: usize,
    min_resolved: usize,
) -> WeakestGroup {
    let mut tests: Vec<(usize, usize, f64, f64, f64)> = Vec::new();
    for g in 0..groups {
        let (mine, rest): (Vec<DealPath>, Vec<DealPath>) =
            paths.iter().cloned().partition(|p| p.group == Some(g));
        let (theirs, ours) = (conversions(&rest, k), conversions(&mine, k));
        for (i, (b, n)) in theirs.iter().zip(&ours).enumerate() {
            if b.advanced + b.lost < min_resolved || n.advanced + n.lost < min_resolved {
                continue;
            }
            if let (Some(p), Some(others), Some(us)) = (drop_p_value(b, n), b.rate(), n.rate()) {
                tests.push((g, i, others, us, p));
            }
        }
    }
    let q = benjamini_hochberg(&tests.iter().map(|t| t.4).collect::<Vec<_>>());
    let worst = tests
        .iter()
        .zip(&q)
        .filter(|((_, _, others, ours, _), q)| **q <= TEAM_FDR && ours < others)
        .map(|((g, i, others, ours, _), q)| (*g, *i, *others, *ours, *q))
        .max_by(|a, b| (a.2 - a.3).total_cmp(&(b.2 - b.3)));
    WeakestGroup {
        worst,
        comparisons: tests.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(entries: &[(usize, i64)], outcome: Outcome, closed: Option<i64>) -> DealPath {
        DealPath {
            created: entries.first().map(|e| e.1).unwrap_or(0),
            entries: entries.to_vec(),
            outcome,
            closed,
            amount: 100.0,
            group: None,
        }
    }

    /// Three open stages (0, 1, 2), won = 3.
    fn cohort() -> Vec<DealPath> {
        vec![
            // Won through every stage: 10, 20, 5 days.
            path(&[(0, 0), (1, 10), (2, 30)], Outcome::Won, Some(35)),
            // Won, skipping stage 1: 4 days in 0, 6 in 2.
            path(&[(0, 0), (2, 4)], Outcome::Won, Some(10)),
            // Lost in stage 1 after 8 days there.
            path(&[(0, 0), (1, 2)], Outcome::Lost, Some(10)),
            // Lost in stage 0.
            path(&[(0, 0)], Outcome::Lost, Some(3)),
            // Still open in stage 1.
            path(&[(0, 0), (1, 5)], Outcome::Open, None),
        ]
    }

    #[test]
    fn conversion_from_paths_by_hand() {
        let c = conversions(&cohort(), 3);
        // Stage 0: all five reached; four went further (two won, one lost in 1, one open
        // in 1), one lost here.
        assert_eq!(
            (c[0].reached, c[0].advanced, c[0].lost, c[0].open),
            (5, 3 + 1, 1, 0)
        );
        assert_eq!(c[0].rate(), Some(0.8));
        // Stage 1: reached by the two winners (one skipped it, but went past), the lost
        // one and the open one: advanced 2, lost 1, open 1.
        assert_eq!(
            (c[1].reached, c[1].advanced, c[1].lost, c[1].open),
            (4, 2, 1, 1)
        );
        assert!((c[1].rate().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // Stage 2 -> won: both winners.
        assert_eq!((c[2].reached, c[2].advanced), (2, 2));
        assert_eq!(c[2].rate(), Some(1.0));
    }

    #[test]
    fn days_in_stage_and_learned_thresholds() {
        let d = stage_days(&cohort(), 3, false);
        // Stage 0: 10, 4, 2, 3 (the open deal's 5 days are a finished stay too).
        let mut s0 = d[0].clone();
        s0.sort_by(f64::total_cmp);
        assert_eq!(s0, vec![2.0, 3.0, 4.0, 5.0, 10.0]);
        // Stage 1: 20 (winner), 8 (lost); the open deal's stay is in progress.
        let mut s1 = d[1].clone();
        s1.sort_by(f64::total_cmp);
        assert_eq!(s1, vec![8.0, 20.0]);
        // Thresholds from winners only: stage 0 has 10 and 4.
        let t = stale_thresholds(&cohort(), 3, 0.5, 1);
        assert_eq!(
            stale_thresholds(&cohort(), 3, 0.5, 3),
            vec![None, None, None]
        );
        assert_eq!(t[0], Some(7.0));
        assert_eq!(t[1], Some(20.0));
        assert_eq!(t[2], Some(5.5));
    }

    #[test]
    fn velocity_by_hand() {
        // Two won (cycles 35 and 10 days, 100 each), two lost: win rate 0.5.
        let v = velocity(&cohort(), 40).unwrap();
        assert_eq!(v.win_rate, 0.5);
        assert_eq!(v.average_won, 100.0);
        assert_eq!(v.cycle_days, 22.5);
        // 40 × 0.5 × 100 / 22.5
        assert!((v.per_day - 2000.0 / 22.5).abs() < 1e-9);
        assert!(velocity(&[], 5).is_none());
    }

    #[test]
    fn the_bottleneck_is_the_largest_drop() {
        let c = |a, l| Conversion {
            reached: a + l,
            advanced: a,
            lost: l,
            open: 0,
        };
        let before = [c(60, 40), c(50, 50), c(30, 70)];
        let now = [c(58, 42), c(30, 70), c(40, 60)];
        assert_eq!(bottleneck(&before, &now, 20), Some((1, 0.5, 0.3)));
        // Too few decided deals: not judged.
        assert_eq!(bottleneck(&before, &now, 1000), None);
        // A drop of 2 points on 100 deals is chance, not a bottleneck.
        assert_eq!(bottleneck(&before[..1], &now[..1], 20), None);
    }

    #[test]
    fn the_weakest_group_converts_worse_than_the_rest() {
        // Group 0: 40 of 100 leads advance; group 1: 70 of 100 do.
        let mut paths = Vec::new();
        for (g, advanced) in [(0usize, 40), (1, 70)] {
            for i in 0..100 {
                let mut p = if i < advanced {
                    path(&[(0, 0), (1, 5)], Outcome::Won, Some(9))
                } else {
                    path(&[(0, 0)], Outcome::Lost, Some(5))
                };
                p.group = Some(g);
                paths.push(p);
            }
        }
        let w = weakest_group(&paths, 2, 2, 30);
        let (g, stage, others, ours, q) = w.worst.unwrap();
        assert_eq!((g, stage), (0, 0));
        assert!((others - 0.7).abs() < 1e-12 && (ours - 0.4).abs() < 1e-12);
        assert!(q < 0.05);
        // Each group against the rest at both stages (at stage 1 every deal that reached it
        // won: no difference, p = 1, but a comparison made all the same).
        assert_eq!(w.comparisons, 4);
    }

    /// Many groups, each a little worse than the rest at one stage by chance: one-sided
    /// z > 1.96 would call some of them, the false discovery rate control calls none.
    #[test]
    fn chance_shortfalls_among_many_comparisons_are_not_discoveries() {
        let mut paths = Vec::new();
        // 20 groups of 60 leads; advancing 27..=33 of 60 around a common 50%.
        for g in 0..20usize {
            let advanced = 27 + (g * 7919 % 7);
            for i in 0..60 {
                let mut p = if i < advanced {
                    path(&[(0, 0), (1, 5)], Outcome::Won, Some(9))
                } else {
                    path(&[(0, 0)], Outcome::Lost, Some(5))
                };
                p.group = Some(g);
                paths.push(p);
            }
        }
        // One group much worse: 10 of 60.
        for i in 0..60 {
            let mut p = if i < 10 {
                path(&[(0, 0), (1, 5)], Outcome::Won, Some(9))
            } else {
                path(&[(0, 0)], Outcome::Lost, Some(5))
            };
            p.group = Some(20);
            paths.push(p);
        }
        let w = weakest_group(&paths, 21, 2, 30);
        // 21 at stage 0, and stage 1 where a group has 30 decided deals or more.
        assert!(w.comparisons >= 21, "{}", w.comparisons);
        assert_eq!(
            w.worst.map(|x| x.0),
            Some(20),
            "the real shortfall is found"
        );
        let mild = weakest_group(&paths[..20 * 60], 20, 2, 30);
        assert_eq!(mild.worst, None, "chance is not a discovery: {mild:?}");
    }
}

#[cfg(test)]
mod fdr_tests {
    use super::*;

    /// Known answers: p = (0.01, 0.04, 0.03, 0.005) → sorted 0.005, 0.01, 0.03, 0.04 with
    /// m/rank 4, 2, 4/3, 1 → 0.02, 0.02, 0.04, 0.04 (each the least of those after it).
    #[test]
    fn benjamini_hochberg_known_answers() {
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert!(benjamini_hochberg(&[]).is_empty());
        assert_eq!(benjamini_hochberg(&[0.9, 0.8]), vec![0.9, 0.9]);
    }

    #[test]
    fn the_one_sided_p_value_follows_the_z_test() {
        let c = |advanced, lost| Conversion {
            reached: advanced + lost,
            advanced,
            lost,
            open: 0,
        };
        // 60/100 against 40/100: pooled 0.5, se = sqrt(0.25 · 0.02) = 0.0707, z = 2.828.
        let p = drop_p_value(&c(60, 40), &c(40, 60)).unwrap();
        assert!((p - 0.002339).abs() < 1e-5, "{p}");
        // The other way round: no drop.
        assert!(drop_p_value(&c(40, 60), &c(60, 40)).unwrap() > 0.99);
        assert!(drop_p_value(&c(0, 0), &c(1, 1)).is_none());
    }
}
