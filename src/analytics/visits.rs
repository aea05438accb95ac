//! Visit planning: priorities turned into visit probabilities with a softmax,
//! P(i) = e^{α·x_i} / Σ_j e^{α·x_j}, and visits drawn by them without replacement.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The softmax of `scores` at temperature `alpha` (α = 0: every one equal; a large α puts
/// nearly all the weight on the top score). Computed with the largest score subtracted,
/// so large scores and large α do not overflow. Empty in, empty out.
pub fn softmax(scores: &[f64], alpha: f64) -> Vec<f64> {
    let Some(max) = scores.iter().copied().reduce(f64::max) else {
        return Vec::new();
    };
    let e: Vec<f64> = scores.iter().map(|s| (alpha * (s - max)).exp()).collect();
    let total: f64 = e.iter().sum();
    e.into_iter().map(|x| x / total).collect()
}

/// `k` distinct indices drawn with probability proportional to `weights`, one after
/// another, each draw among those left (successive sampling without replacement).
/// Indices of weight 0 are drawn only when nothing else is left. Deterministic for the
/// generator's seed.
pub fn draw_without_replacement(weights: &[f64], k: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut left: Vec<usize> = (0..weights.len()).collect();
    let mut out = Vec::with_capacity(k.min(weights.len()));
    while out.len() < k && !left.is_empty() {
        let total: f64 = left.iter().map(|&i| weights[i].max(0.0)).sum();
        let pick = if total > 0.0 {
            let mut u = rng.random::<f64>() * total;
            let mut at = left.len() - 1;
            for (n, &i) in left.iter().enumerate() {
                u -= weights[i].max(0.0);
                if u < 0.0 {
                    at = n;
                    break;
                }
            }
            at
        } else {
            0
        };
        out.push(left.remove(pick));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn softmax_sums_to_one_spreads_at_zero_and_picks_the_top_when_hot() {
        let s = [0.2, 0.5, 0.9, 0.1];
        let p = softmax(&s, 3.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[2] > p[1] && p[1] > p[0] && p[0] > p[3]);
        // By hand: e^{3·(0.5−0.9)} / Σ.
        let z: f64 = s.iter().map(|x| (3.0 * (x - 0.9_f64)).exp()).sum();
        assert!((p[1] - (3.0 * (0.5 - 0.9_f64)).exp() / z).abs() < 1e-12);
        assert!(softmax(&s, 0.0).iter().all(|x| (x - 0.25).abs() < 1e-12));
        let hot = softmax(&s, 200.0);
        assert!(hot[2] > 0.999_999);
        // Scores far from 0 and a large α stay finite.
        let big = softmax(&[1e6, 1e6 + 1.0, 1e6 - 1.0], 800.0);
        assert!(big.iter().all(|x| x.is_finite()) && (big[1] - 1.0).abs() < 1e-9);
        assert!(softmax(&[], 1.0).is_empty());
    }

    #[test]
    fn draws_never_repeat_follow_the_weights_and_repeat_for_a_seed() {
        let w = softmax(&[0.0, 1.0, 2.0, 3.0, 0.5], 1.5);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let d = draw_without_replacement(&w, 5, &mut rng);
        let mut sorted = d.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4], "each once");
        let again = draw_without_replacement(&w, 5, &mut ChaCha8Rng::seed_from_u64(9));
        assert_eq!(d, again);
        assert_eq!(draw_without_replacement(&w, 9, &mut rng).len(), 5);
        // The first draw follows the weights: over many seeds, index 3 is first most often.
        let mut first = [0usize; 5];
        for seed in 0..4000 {
            let d = draw_without_replacement(&w, 1, &mut ChaCha8Rng::seed_from_u64(seed));
            first[d[0]] += 1;
        }
        for (i, n) in first.iter().enumerate() {
            let share = *n as f64 / 4000.0;
            assert!((share - w[i]).abs() < 0.03, "{i}: {share} vs {}", w[i]);
        }
    }
}
