//! Roll-ups over the team tree and pace through a period.

use chrono::NaiveDate;
use std::collections::HashMap;

/// Totals per team including every sub-team: `direct` holds what belongs to each team
/// itself; `parents` maps team -> parent. Cycles are cut, never followed forever.
pub fn roll_up(
    parents: &HashMap<i64, Option<i64>>,
    direct: &HashMap<i64, i64>,
) -> HashMap<i64, i64> {
    let mut total: HashMap<i64, i64> = parents.keys().map(|&t| (t, 0)).collect();
    for (&team, &value) in direct {
        let mut at = Some(team);
        let mut hops = 0;
        while let Some(t) = at {
            *total.entry(t).or_default() += value;
            at = parents.get(&t).copied().flatten();
            hops += 1;
            if hops > parents.len() {
                break;
            }
        }
    }
    total
}

/// Share of the period [start, end) that has passed by the end of `today`, in 0..=1.
/// Linear in days.
pub fn elapsed_share(start: NaiveDate, end_exclusive: NaiveDate, today: NaiveDate) -> f64 {
    let days = (end_exclusive - start).num_days().max(1) as f64;
    let passed = ((today - start).num_days() + 1).clamp(0, days as i64) as f64;
    passed / days
}

/// Share of a period's total that should be done by the end of `today` when the months
/// weigh differently: `months` are the period's months as (start, end exclusive, weight);
/// each month counts its weight times the share of its days passed. Equal weights give
/// the linear pace in days (up to unequal month lengths).
pub fn seasonal_pace(months: &[(NaiveDate, NaiveDate, f64)], today: NaiveDate) -> f64 {
    let total: f64 = months.iter().map(|m| m.2).sum();
    if total <= 0.0 {
        return months
            .first()
            .zip(months.last())
            .map(|(f, l)| elapsed_share(f.0, l.1, today))
            .unwrap_or(0.0);
    }
    months
        .iter()
        .map(|(s, e, w)| w * elapsed_share(*s, *e, today))
        .sum::<f64>()
        / total
}

/// Weight of each calendar month (index 0 = January) in a year's total, from monthly
/// history `(month 1..=12, value)`: the mean of each month's value, normalised to mean 1.
/// Months with no history weigh 1; no history at all gives equal weights.
pub fn month_weights(history: &[(u32, f64)]) -> [f64; 12] {
    let mut sum = [0.0; 12];
    let mut n = [0usize; 12];
    for (m, v) in history {
        if (1..=12).contains(m) {
            sum[*m as usize - 1] += v;
            n[*m as usize - 1] += 1;
        }
    }
    let means: Vec<Option<f64>> = (0..12)
        .map(|i| (n[i] > 0).then(|| sum[i] / n[i] as f64))
        .collect();
    let known: Vec<f64> = means.iter().flatten().copied().collect();
    let avg = known.iter().sum::<f64>() / known.len().max(1) as f64;
    let mut out = [1.0; 12];
    if avg > 0.0 {
        for i in 0..12 {
            if let Some(m) = means[i] {
                out[i] = m / avg;
            }
        }
    }
    out
}

/// Where a target stands. Amounts are in the metric's unit (cents or a count).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Standing {
    pub actual: f64,
    pub target: f64,
    /// actual / target.
    pub attainment: Option<f64>,
    /// Where attainment should be by now: the elapsed (seasonal) share of the period.
    pub pace: f64,
    /// What is left to reach the target (0 once reached).
    pub gap: f64,
    /// Weighted open pipeline expected in the period / gap (`None` when there is no gap
    /// or no pipeline for this metric).
    pub coverage: Option<f64>,
    /// (actual + the Monte Carlo median of what the pipeline adds, else its weighted
    /// value) / target.
    pub projected: Option<f64>,
    /// The same with the simulation's 10th and 90th percentiles: how far one large deal
    /// can swing the projection (`None` without a simulation).
    pub projected_p10: Option<f64>,
    pub projected_p90: Option<f64>,
    /// The share of the open pipeline in the period that must be won to close the gap;
    /// above 1 it cannot be closed from the current pipeline.
    pub required_win_rate: Option<f64>,
}

/// Attainment, pace, gap, coverage, projection and the required win rate of one target.
/// `open` and `weighted` are the open pipeline expected in the period and its weighted
/// value, `sim` the simulated 10th, 50th and 90th percentiles of what it adds (`None` for
/// metrics without a pipeline: activities, new customers; their projection is the run
/// rate, actual / pace).
pub fn standing(
    actual: f64,
    target: f64,
    pace: f64,
    open: Option<f64>,
    weighted: Option<f64>,
    sim: Option<(f64, f64, f64)>,
) -> Standing {
    let p50 = sim.map(|s| s.1);
    let share = |add: f64| (target > 0.0).then(|| (actual + add) / target);
    let gap = (target - actual).max(0.0);
    let attainment = (target > 0.0).then(|| actual / target);
    let coverage = match weighted {
        Some(w) if gap > 0.0 => Some(w / gap),
        _ => None,
    };
    let projected = match p50.or(weighted) {
        Some(w) => (target > 0.0).then(|| (actual + w) / target),
        None => (target > 0.0 && pace > 0.0).then(|| actual / pace / target),
    };
    let required_win_rate = match open {
        Some(o) if gap > 0.0 && o > 0.0 => Some(gap / o),
        Some(_) if gap == 0.0 => Some(0.0),
        _ => None,
    };
    Standing {
        actual,
        target,
        attainment,
        pace,
        gap,
        coverage,
        projected,
        projected_p10: sim.and_then(|s| share(s.0)),
        projected_p90: sim.and_then(|s| share(s.2)),
        required_win_rate,
    }
}

/// Splits `total` over keys in proportion to their shares (equal split when every share
/// is zero). Rounded to whole units with the remainder given to the largest shares, so the
/// parts add up to the total exactly.
pub fn split(total: i64, shares: &[f64]) -> Vec<i64> {
    if shares.is_empty() {
        return Vec::new();
    }
    let sum: f64 = shares.iter().filter(|s| **s > 0.0).sum();
    let w: Vec<f64> = if sum > 0.0 {
        shares.iter().map(|s| s.max(0.0) / sum).collect()
    } else {
        vec![1.0 / shares.len() as f64; shares.len()]
    };
    let raw: Vec<f64> = w.iter().map(|x| x * total as f64).collect();
    let mut out: Vec<i64> = raw.iter().map(|r| r.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|a, b| (raw[*b] - raw[*b].floor()).total_cmp(&(raw[*a] - raw[*a].floor())));
    for i in order.into_iter().cycle() {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Performance-based proposal for one seller: the recent periods weighted toward the
/// newest (weights 1, 2, …, n, oldest first), each deseasonalised by its own seasonal
/// factor, then put on the target period's factor. `history` is (value, seasonal factor).
pub fn performance_based(history: &[(f64, f64)], target_factor: f64) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (i, (v, f)) in history.iter().enumerate() {
        let w = (i + 1) as f64;
        num += w * v / if *f > 0.0 { *f } else { 1.0 };
        den += w;
    }
    if den == 0.0 {
        0.0
    } else {
        num / den * target_factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolls_up_through_the_tree() {
        // 1 is the root; 2 and 3 under it; 4 under 2.
        let parents = HashMap::from([(1, None), (2, Some(1)), (3, Some(1)), (4, Some(2))]);
        let direct = HashMap::from([(4, 10), (3, 5), (2, 1)]);
        let t = roll_up(&parents, &direct);
        assert_eq!(t[&4], 10);
        assert_eq!(t[&2], 11);
        assert_eq!(t[&3], 5);
        assert_eq!(t[&1], 16);
        // A cycle does not hang.
        let cyclic = HashMap::from([(1, Some(2)), (2, Some(1))]);
        let _ = roll_up(&cyclic, &HashMap::from([(1, 1)]));
    }

    #[test]
    fn pace_is_the_share_of_days_passed() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(elapsed_share(d(11, 1), d(12, 1), d(11, 15)), 0.5);
        assert_eq!(elapsed_share(d(11, 1), d(12, 1), d(10, 15)), 0.0);
        assert_eq!(elapsed_share(d(11, 1), d(12, 1), d(12, 15)), 1.0);
    }

    #[test]
    fn seasonal_pace_weights_the_months() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let q = [
            (d(1, 1), d(2, 1), 1.0),
            (d(2, 1), d(3, 1), 1.0),
            (d(3, 1), d(4, 1), 2.0),
        ];
        // End of February: January and February done = 2 of 4 weight units.
        assert!((seasonal_pace(&q, d(2, 28)) - 0.5).abs() < 1e-12);
        // Mid-January: 15/31 of one unit.
        assert!((seasonal_pace(&q, d(1, 15)) - 15.0 / 31.0 / 4.0).abs() < 1e-12);
    }

    #[test]
    fn month_weights_average_to_one() {
        let h = [(1, 100.0), (1, 300.0), (2, 100.0), (3, 200.0)];
        let w = month_weights(&h);
        // Means 200, 100, 200 over the three known months: average 166.67.
        assert!((w[0] - 1.2).abs() < 1e-12);
        assert!((w[1] - 0.6).abs() < 1e-12);
        assert_eq!(w[5], 1.0);
    }

    #[test]
    fn standing_by_hand() {
        // Target 1000, actual 400, 50% of the period gone, 1200 open of which 450 weighted.
        let s = standing(400.0, 1000.0, 0.5, Some(1200.0), Some(450.0), None);
        assert_eq!(s.attainment, Some(0.4));
        assert_eq!(s.gap, 600.0);
        assert_eq!(s.coverage, Some(0.75));
        assert_eq!(s.projected, Some(0.85));
        assert_eq!(s.required_win_rate, Some(0.5));
        // With a simulated median of what the pipeline adds, the projection uses it.
        let m = standing(
            400.0,
            1000.0,
            0.5,
            Some(1200.0),
            Some(450.0),
            Some((0.0, 300.0, 5100.0)),
        );
        assert_eq!(m.projected, Some(0.7));
        // One large deal: the median leaves it out, the 90th percentile has it.
        assert_eq!((m.projected_p10, m.projected_p90), (Some(0.4), Some(5.5)));
        assert_eq!(s.projected_p10, None, "no simulation, no range");
        assert_eq!(
            m.coverage,
            Some(0.75),
            "coverage stays on the weighted pipeline"
        );
        // A count metric without a pipeline projects the run rate: 30 at 25% -> 120 of 100.
        let c = standing(30.0, 100.0, 0.25, None, None, None);
        assert_eq!(c.projected, Some(1.2));
        assert_eq!(c.coverage, None);
        // Reached: no gap, nothing more to win.
        let r = standing(1100.0, 1000.0, 0.9, Some(50.0), Some(20.0), None);
        assert_eq!(
            (r.gap, r.required_win_rate, r.coverage),
            (0.0, Some(0.0), None)
        );
    }

    #[test]
    fn split_adds_up_exactly() {
        assert_eq!(split(100, &[1.0, 1.0, 1.0]), vec![34, 33, 33]);
        assert_eq!(split(1000, &[3.0, 1.0]), vec![750, 250]);
        assert_eq!(split(10, &[0.0, 0.0]), vec![5, 5]);
        assert_eq!(split(7, &[]), Vec::<i64>::new());
    }

    #[test]
    fn performance_weights_recent_periods_and_seasonality() {
        // 100 then 200 (factors 1): (1*100 + 2*200) / 3 = 166.67; on a 1.5 period: 250.
        let p = performance_based(&[(100.0, 1.0), (200.0, 1.0)], 1.5);
        assert!((p - 250.0).abs() < 1e-9);
        // A period that was seasonally strong counts for less: 200 at factor 2 is 100.
        let q = performance_based(&[(200.0, 2.0)], 1.0);
        assert!((q - 100.0).abs() < 1e-9);
    }
}
