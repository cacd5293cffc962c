//! RealCritic's figures: accuracy per set and their unweighted mean, and
//! the transitions against the critiqued solution's correctness.
//!
//! * acc = mean score × 100, one decimal; the overall figure is the
//!   unweighted mean of the per-set accuracies (as the reference reports
//!   it), each set with its Wilson 95% interval.
//! * transitions C→C, C→I, I→C, I→I as counts, and as percentages of the
//!   originally correct (C→·) and incorrect (I→·) items.
//! * the strict extraction's accuracy, and how many items it changes.
//! * the post-check: the share of critiques a judge labelled Qualified.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::data::SETS;
use crate::results::ItemResult;
use crate::stats::wilson;

/// Transition counts against the critiqued solution's correctness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Transitions {
    /// Correct, kept correct.
    pub cc: u64,
    /// Correct, made incorrect.
    pub ci: u64,
    /// Incorrect, corrected.
    pub ic: u64,
    /// Incorrect, left incorrect.
    pub ii: u64,
}

impl Transitions {
    /// `part` as a percentage of `whole` (0 when there is none).
    fn rate(part: u64, whole: u64) -> f64 {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    }

    /// C→C and C→I as percentages of the originally correct items.
    pub fn from_correct(&self) -> (f64, f64) {
        let n = self.cc + self.ci;
        (Self::rate(self.cc, n), Self::rate(self.ci, n))
    }

    /// I→C and I→I as percentages of the originally incorrect items.
    pub fn from_incorrect(&self) -> (f64, f64) {
        let n = self.ic + self.ii;
        (Self::rate(self.ic, n), Self::rate(self.ii, n))
    }
}

/// One set's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetScore {
    /// The set.
    pub set: String,
    /// Items graded.
    pub n: u64,
    /// Of those, correct.
    pub correct: u64,
    /// Accuracy in percent.
    pub acc: f64,
    /// Wilson 95% interval of the accuracy, in percent.
    pub interval: (f64, f64),
    /// Correct with the strict extraction.
    pub strict_correct: u64,
    /// Transitions (critique modes).
    pub transitions: Option<Transitions>,
    /// Symbolic checks that timed out (scored wrong).
    pub timeouts: u64,
    /// Critiques the post-check judged (0 when it did not run).
    pub post_checked: u64,
    /// Of those, labelled Qualified.
    pub qualified: u64,
}

/// A RealCritic run's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriticSummary {
    /// Per set, in the paper's order.
    pub sets: Vec<SetScore>,
    /// The unweighted mean of the per-set accuracies.
    pub mean_acc: f64,
    /// The same with the strict extraction.
    pub strict_mean_acc: f64,
    /// Items whose score the strict extraction changes.
    pub changed_by_strict: u64,
    /// All transitions (critique modes).
    pub transitions: Option<Transitions>,
}

/// The figures of `results` (RealCritic results; others are left out).
pub fn summarize(results: &[ItemResult]) -> CriticSummary {
    let mut by_set: BTreeMap<&str, Vec<&ItemResult>> = BTreeMap::new();
    for r in results {
        if let Some(c) = &r.critic {
            by_set.entry(c.set.as_str()).or_default().push(r);
        }
    }
    let order = |s: &str| SETS.iter().position(|x| *x == s).unwrap_or(SETS.len());
    let mut names: Vec<&str> = by_set.keys().copied().collect();
    names.sort_by_key(|s| (order(s), s.to_string()));
    let mut all = Transitions::default();
    let mut any_transitions = false;
    let mut changed = 0;
    let sets: Vec<SetScore> = names
        .iter()
        .map(|name| {
            let rs = &by_set[name];
            let n = rs.len() as u64;
            let correct = rs.iter().filter(|r| r.passed).count() as u64;
            let mut strict_correct = 0;
            let mut t = Transitions::default();
            let mut has_t = false;
            let mut timeouts = 0;
            let (mut post_checked, mut qualified) = (0, 0);
            for r in rs {
                let Some(c) = &r.critic else { continue };
                if let Some(label) = &c.post_check {
                    post_checked += 1;
                    qualified += u64::from(label == "qualified");
                }
                strict_correct += u64::from(c.strict);
                changed += u64::from(c.strict != r.passed);
                timeouts += u64::from(c.timed_out);
                if let Some(prev) = c.previous {
                    has_t = true;
                    match (prev, r.passed) {
                        (true, true) => t.cc += 1,
                        (true, false) => t.ci += 1,
                        (false, true) => t.ic += 1,
                        (false, false) => t.ii += 1,
                    }
                }
            }
            if has_t {
                any_transitions = true;
                all.cc += t.cc;
                all.ci += t.ci;
                all.ic += t.ic;
                all.ii += t.ii;
            }
            let (lo, hi) = wilson(correct, n);
            SetScore {
                set: name.to_string(),
                n,
                correct,
                acc: percent(correct, n),
                interval: (100.0 * lo, 100.0 * hi),
                strict_correct,
                transitions: has_t.then_some(t),
                timeouts,
                post_checked,
                qualified,
            }
        })
        .collect();
    let mean = |f: &dyn Fn(&SetScore) -> f64| {
        if sets.is_empty() {
            0.0
        } else {
            sets.iter().map(f).sum::<f64>() / sets.len() as f64
        }
    };
    CriticSummary {
        mean_acc: mean(&|s| s.acc),
        strict_mean_acc: mean(&|s| percent(s.strict_correct, s.n)),
        changed_by_strict: changed,
        transitions: any_transitions.then_some(all),
        sets,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The figures as Markdown tables.
pub fn markdown(summary: &CriticSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| set | items | acc | 95% CI | strict acc |");
    let _ = writeln!(out, "|---|---:|---:|---|---:|");
    for s in &summary.sets {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1}–{:.1} | {:.1} |",
            s.set,
            s.n,
            s.acc,
            s.interval.0,
            s.interval.1,
            percent(s.strict_correct, s.n)
        );
    }
    let _ = writeln!(
        out,
        "| **mean of sets** | {} | **{:.1}** | | {:.1} |",
        summary.sets.iter().map(|s| s.n).sum::<u64>(),
        summary.mean_acc,
        summary.strict_mean_acc
    );
    let timeouts: u64 = summary.sets.iter().map(|s| s.timeouts).sum();
    let _ = writeln!(
        out,
        "\nThe strict extraction changes {} item(s); {} symbolic check(s) timed out (scored wrong).",
        summary.changed_by_strict, timeouts
    );
    if summary.sets.iter().any(|s| s.post_checked > 0) {
        let _ = writeln!(out, "\n| set | post-checked | qualified | rate | 95% CI |");
        let _ = writeln!(out, "|---|---:|---:|---:|---|");
        for s in summary.sets.iter().filter(|s| s.post_checked > 0) {
            let (lo, hi) = wilson(s.qualified, s.post_checked);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} | {:.1}–{:.1} |",
                s.set,
                s.post_checked,
                s.qualified,
                percent(s.qualified, s.post_checked),
                100.0 * lo,
                100.0 * hi
            );
        }
    }
    if summary.transitions.is_some() {
        let _ = writeln!(
            out,
            "\n| set | C→C | C→I | I→C | I→I | C→C % | C→I % | I→C % | I→I % |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let rows = summary
            .sets
            .iter()
            .filter_map(|s| s.transitions.map(|t| (s.set.as_str(), t)))
            .chain(summary.transitions.map(|t| ("**all**", t)));
        for (name, t) in rows {
            let (cc, ci) = t.from_correct();
            let (ic, ii) = t.from_incorrect();
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} | {cc:.1} | {ci:.1} | {ic:.1} | {ii:.1} |",
                t.cc, t.ci, t.ic, t.ii
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realcritic::CriticRecord;

    fn result(set: &str, passed: bool, previous: Option<bool>, strict: bool) -> ItemResult {
        ItemResult {
            id: format!("{set}/x"),
            sample: 0,
            passed,
            verified: false,
            stop: "finished".into(),
            answer: None,
            detail: String::new(),
            calls: 1,
            cache_hits: 0,
            input_tokens: 1,
            output_tokens: 1,
            wall_ms: 1.0,
            log: String::new(),
            mint: None,
            review: None,
            critic: Some(CriticRecord {
                set: set.into(),
                previous,
                direct_answer: None,
                reference: "1".into(),
                strict,
                says_correct: None,
                corrected: false,
                post_check: None,
                timed_out: false,
            }),
        }
    }

    #[test]
    fn the_overall_figure_is_the_unweighted_mean_of_sets_and_transitions_count_against_previous() {
        let results = vec![
            // gsm8k: 1 of 1 correct; math: 1 of 4 correct.
            result("gsm8k", true, Some(false), true),
            result("math", true, Some(true), true),
            result("math", false, Some(true), false),
            result("math", false, Some(false), true),
            result("math", false, Some(false), false),
        ];
        let s = summarize(&results);
        assert_eq!(s.sets.len(), 2);
        assert_eq!(s.sets[0].set, "gsm8k");
        assert_eq!(s.sets[1].acc, 25.0);
        // (100 + 25) / 2, not 2 / 5.
        assert!((s.mean_acc - 62.5).abs() < 1e-9, "{}", s.mean_acc);
        assert_eq!(s.changed_by_strict, 1);
        assert!((s.strict_mean_acc - 75.0).abs() < 1e-9);
        let t = s.transitions.unwrap();
        assert_eq!((t.cc, t.ci, t.ic, t.ii), (1, 1, 1, 2));
        assert_eq!(t.from_correct(), (50.0, 50.0));
        let table = markdown(&s);
        assert!(
            table.contains("| **mean of sets** | 5 | **62.5** |"),
            "{table}"
        );
        assert!(table.contains("| math | 1 | 1 | 0 | 2 |"), "{table}");
    }

    #[test]
    fn direct_runs_have_no_transitions() {
        let s = summarize(&[result("gpqa", true, None, true)]);
        assert!(s.transitions.is_none());
        assert!(!markdown(&s).contains("C→C"));
    }
}
