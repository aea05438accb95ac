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
}
