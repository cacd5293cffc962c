//! MINT's figures: success rate per set, micro-averaged per family and
//! overall, with Wilson intervals, and the termination reasons; across
//! runs at several k, the slope of SR against k and the feedback gain.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::data::{Family, SETS};
use crate::results::ItemResult;
use crate::stats::wilson;

/// Successes out of episodes, with the interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    /// Episodes.
    pub n: u64,
    /// Of those, solved.
    pub solved: u64,
    /// SR in percent.
    pub sr: f64,
    /// Wilson 95% interval, in percent.
    pub interval: (f64, f64),
}

impl Rate {
    fn of(solved: u64, n: u64) -> Rate {
        let (lo, hi) = wilson(solved, n);
        Rate {
            n,
            solved,
            sr: if n == 0 {
                0.0
            } else {
                100.0 * solved as f64 / n as f64
            },
            interval: (100.0 * lo, 100.0 * hi),
        }
    }
}

/// A MINT run's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MintSummary {
    /// Per set, in the reference's order.
    pub sets: Vec<(String, Rate)>,
    /// The reasoning sets together (micro-average).
    pub reasoning: Rate,
    /// The code sets together.
    pub code: Rate,
    /// Every episode.
    pub overall: Rate,
    /// Episodes per termination reason.
    pub terminations: BTreeMap<String, u64>,
    /// Episodes whose last proposal the other checker (see
    /// [`MintRecord::other_check`](super::MintRecord::other_check)) judges
    /// otherwise than the episode's outcome.
    pub other_check_differs: u64,
    /// Episodes the other checker accepts (on the last proposal).
    pub other_check_solved: u64,
}

/// The figures of `results` (MINT results; others are left out).
pub fn summarize(results: &[ItemResult]) -> MintSummary {
    let mut by_set: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut family = BTreeMap::new();
    let mut terminations = BTreeMap::new();
    let (mut differs, mut other_solved) = (0, 0);
    for r in results {
        let Some(m) = &r.mint else { continue };
        let e = by_set.entry(m.set.as_str()).or_default();
        e.0 += u64::from(r.passed);
        e.1 += 1;
        let f = family
            .entry(m.family == Family::Code)
            .or_insert((0u64, 0u64));
        f.0 += u64::from(r.passed);
        f.1 += 1;
        *terminations
            .entry(m.termination.name().to_string())
            .or_default() += 1;
        let other = m.other_check.unwrap_or(false);
        differs += u64::from(other != r.passed);
        other_solved += u64::from(other);
    }
    let order = |s: &str| SETS.iter().position(|x| *x == s).unwrap_or(SETS.len());
    let mut sets: Vec<(String, Rate)> = by_set
        .iter()
        .map(|(s, (ok, n))| (s.to_string(), Rate::of(*ok, *n)))
        .collect();
    sets.sort_by_key(|(s, _)| (order(s), s.clone()));
    let fam = |code: bool| {
        let (ok, n) = family.get(&code).copied().unwrap_or_default();
        Rate::of(ok, n)
    };
    let (ok, n) = by_set.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    MintSummary {
        sets,
        reasoning: fam(false),
        code: fam(true),
        overall: Rate::of(ok, n),
        terminations,
        other_check_differs: differs,
        other_check_solved: other_solved,
    }
}

/// The least-squares slope of SR (percent) against k.
pub fn slope(points: &[(u32, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|(k, _)| f64::from(*k)).sum::<f64>() / n;
    let my = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = points
        .iter()
        .map(|(k, _)| (f64::from(*k) - mx).powi(2))
        .sum();
    let sxy: f64 = points
        .iter()
        .map(|(k, y)| (f64::from(*k) - mx) * (y - my))
        .sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn rate_cell(r: &Rate) -> String {
    format!(
        "{:.1} ({}/{}; {:.1}–{:.1})",
        r.sr, r.solved, r.n, r.interval.0, r.interval.1
    )
}

/// One run's figures as Markdown.
pub fn markdown(summary: &MintSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| set | SR % (solved/n; 95% CI) |");
    let _ = writeln!(out, "|---|---|");
    for (set, r) in &summary.sets {
        let _ = writeln!(out, "| {set} | {} |", rate_cell(r));
    }
    for (name, r) in [
        ("**reasoning**", &summary.reasoning),
        ("**code**", &summary.code),
        ("**overall**", &summary.overall),
    ] {
        if r.n > 0 {
            let _ = writeln!(out, "| {name} | {} |", rate_cell(r));
        }
    }
    let reasons: Vec<String> = summary
        .terminations
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(out, "\nTerminations: {}.", reasons.join(", "));
    let _ = writeln!(
        out,
        "The other checker (reference vs hone's strict checks) accepts {} last proposal(s) and disagrees on {} episode(s).",
        summary.other_check_solved, summary.other_check_differs
    );
    out
}

/// SR against k over several runs (one per k), with the slope.
pub fn markdown_curve(runs: &[(u32, MintSummary)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| k | reasoning SR % | code SR % | overall SR % (95% CI) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---|");
    for (k, s) in runs {
        let _ = writeln!(
            out,
            "| {k} | {:.1} | {:.1} | {} |",
            s.reasoning.sr,
            s.code.sr,
            rate_cell(&s.overall)
        );
    }
    let points: Vec<(u32, f64)> = runs.iter().map(|(k, s)| (*k, s.overall.sr)).collect();
    if let Some(m) = slope(&points) {
        let _ = writeln!(
            out,
            "\nSlope of overall SR against k: {m:.2} points per turn."
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_is_least_squares() {
        assert_eq!(slope(&[(1, 10.0), (2, 20.0), (3, 30.0)]), Some(10.0));
        assert_eq!(slope(&[(1, 10.0)]), None);
    }
}
