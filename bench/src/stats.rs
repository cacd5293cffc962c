//! Intervals and paired tests: the numbers a benchmark table may show.
//!
//! Proportions get a 95% **Wilson** score interval; means get a percentile
//! **bootstrap** interval. Two runs over the same items are compared item by
//! item: pass/fail outcomes with the **exact McNemar** test (a two-sided
//! binomial test on the discordant pairs), other measures with a **paired
//! bootstrap** of the mean difference. The distributions come from `statrs`.
//!
//! ```
//! use hone_bench::stats::{mcnemar_exact, wilson};
//! let (low, high) = wilson(8, 10);
//! assert!(low < 0.8 && 0.8 < high);
//! // 6 items only A passes, 0 only B passes: p = 2 * 0.5^6.
//! assert!((mcnemar_exact(6, 0) - 0.03125).abs() < 1e-12);
//! ```

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, Normal};

/// Bootstrap resamples.
pub const RESAMPLES: usize = 10_000;
/// Seed of the bootstrap's generator: the same data gives the same interval.
pub const BOOTSTRAP_SEED: u64 = 0x686f_6e65;

fn z95() -> f64 {
    Normal::new(0.0, 1.0)
        .map(|n| n.inverse_cdf(0.975))
        .unwrap_or(1.959_963_984_540_054)
}

/// 95% Wilson score interval of `successes` out of `n` (`(0, 1)` when `n`
/// is 0).
pub fn wilson(successes: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = z95();
    let n = n as f64;
    let p = successes as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    // At 0 or n successes the bound is exactly 0 or 1; the formula lands
    // a rounding error away from it.
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if successes as f64 == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (low, high)
}

/// 95% percentile bootstrap interval of the mean of `values`.
pub fn bootstrap_mean(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = StdRng::seed_from_u64(BOOTSTRAP_SEED);
    let n = values.len();
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    (quantile(&means, 0.025), quantile(&means, 0.975))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Two-sided exact McNemar p-value for `only_a` items that only run A
/// passed and `only_b` that only run B passed.
pub fn mcnemar_exact(only_a: u64, only_b: u64) -> f64 {
    let n = only_a + only_b;
    if n == 0 {
        return 1.0;
    }
    let k = only_a.min(only_b);
    match Binomial::new(0.5, n) {
        Ok(b) => (2.0 * b.cdf(k)).min(1.0),
        Err(_) => f64::NAN,
    }
}

/// The unbiased pass@k estimate for an item drawn `n` times with `c`
/// passes (Chen et al., 2021): 1 − C(n−c, k) / C(n, k), computed as a
/// product so large n does not overflow. `k` must be at most `n`.
pub fn pass_at_k(n: u32, c: u32, k: u32) -> f64 {
    if k == 0 || k > n {
        return f64::NAN;
    }
    if n - c < k {
        return 1.0;
    }
    let mut fail_all = 1.0;
    for i in (n - c + 1)..=n {
        fail_all *= 1.0 - f64::from(k) / f64::from(i);
    }
    1.0 - fail_all
}

/// A paired comparison of one measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedDifference {
    /// Mean of B − A over the items.
    pub mean: f64,
    /// 95% paired bootstrap interval of that mean.
    pub interval: (f64, f64),
    /// Whether the interval excludes 0.
    pub significant: bool,
}

/// Paired bootstrap of the mean difference `b[i] - a[i]`.
pub fn paired_bootstrap(a: &[f64], b: &[f64]) -> PairedDifference {
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    let interval = bootstrap_mean(&diffs);
    PairedDifference {
        mean,
        interval,
        significant: interval.0 > 0.0 || interval.1 < 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_hand_worked_values() {
        // 8/10: the textbook Wilson interval is (0.490, 0.943).
        let (low, high) = wilson(8, 10);
        assert!((low - 0.4902).abs() < 1e-3, "{low}");
        assert!((high - 0.9433).abs() < 1e-3, "{high}");
        let (low, high) = wilson(0, 20);
        assert_eq!(low, 0.0);
        assert!((high - 0.1611).abs() < 1e-3, "{high}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn pass_at_k_is_the_unbiased_estimator() {
        // n = 5, c = 2: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10.
        assert!((pass_at_k(5, 2, 1) - 0.4).abs() < 1e-12);
        assert!((pass_at_k(5, 2, 2) - 0.7).abs() < 1e-12);
        assert_eq!(pass_at_k(5, 4, 2), 1.0);
        assert_eq!(pass_at_k(5, 0, 3), 0.0);
        assert!(pass_at_k(2, 1, 3).is_nan());
    }

    #[test]
    fn mcnemar_is_the_two_sided_binomial_test() {
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // 1 vs 9 discordant: 2 * P(X <= 1), X ~ Bin(10, 0.5) = 2 * 11/1024.
        assert!((mcnemar_exact(1, 9) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(9, 1), mcnemar_exact(1, 9));
        assert_eq!(mcnemar_exact(5, 5), 1.0);
    }

    #[test]
    fn bootstrap_intervals_cover_the_mean_and_are_reproducible() {
        let values: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let mean = values.iter().sum::<f64>() / 50.0;
        let (low, high) = bootstrap_mean(&values);
        assert!(low < mean && mean < high, "{low} {mean} {high}");
        assert_eq!(bootstrap_mean(&values), (low, high));
        let same = paired_bootstrap(&values, &values);
        assert_eq!(same.mean, 0.0);
        assert!(!same.significant);
        let more: Vec<f64> = values.iter().map(|v| v + 1.0).collect();
        let d = paired_bootstrap(&values, &more);
        assert!(d.significant && (d.mean - 1.0).abs() < 1e-12, "{d:?}");
    }
}
