//! The review bot's numbers, each with a 95% interval (Wilson for rates,
//! bootstrap for means):
//!
//! * **recall** — buggy items with a posted finding overlapping an expected
//!   range;
//! * **precision** — posted findings that overlap an expected range
//!   (findings on clean items count against it);
//! * **false-alarm rate** — clean items with any posted finding;
//! * **anchoring validity** — posted line comments inside one hunk of the
//!   diff, as the host checks it (must be 100%);
//! * calls and seconds per item.
//!
//! Runs record every score, so a threshold is applied here: a finding is
//! posted at threshold `t` when the pipeline kept it and (where a critic
//! ran) its score is at least `t`. Dropping more never revives a duplicate,
//! because a duplicate never outscores the finding it merged into.

use std::fmt::Write;

use serde::Serialize;

use super::run::FindingRecord;
use crate::results::ItemResult;
use crate::stats::{bootstrap_mean, wilson};

/// A count out of a total, with its Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Successes.
    pub k: u64,
    /// Total.
    pub n: u64,
    /// 95% interval.
    pub interval: (f64, f64),
}

impl Rate {
    fn new(k: u64, n: u64) -> Rate {
        Rate {
            k,
            n,
            interval: wilson(k, n),
        }
    }

    /// `k/n (p%, lo–hi%)`, or `–` when n is 0.
    pub fn show(&self) -> String {
        if self.n == 0 {
            return "–".into();
        }
        format!(
            "{}/{} ({:.1}%, {:.1}–{:.1}%)",
            self.k,
            self.n,
            100.0 * self.k as f64 / self.n as f64,
            100.0 * self.interval.0,
            100.0 * self.interval.1
        )
    }
}

/// A mean with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mean {
    /// The mean.
    pub mean: f64,
    /// 95% interval.
    pub interval: (f64, f64),
}

impl Mean {
    fn of(values: &[f64]) -> Mean {
        let mean = if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        };
        Mean {
            mean,
            interval: bootstrap_mean(values),
        }
    }

    /// `m (lo–hi)`.
    pub fn show(&self) -> String {
        format!(
            "{:.1} ({:.1}–{:.1})",
            self.mean, self.interval.0, self.interval.1
        )
    }
}

/// The numbers of one run at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewMetrics {
    /// Items.
    pub items: usize,
    /// Buggy items with a hit.
    pub recall: Rate,
    /// Posted findings that hit.
    pub precision: Rate,
    /// Clean items with a posted finding.
    pub false_alarms: Rate,
    /// Posted line comments inside the diff.
    pub anchoring: Rate,
    /// Model calls per item.
    pub calls: Mean,
    /// Wall seconds per item.
    pub seconds: Mean,
    /// Findings proposed per item.
    pub proposed: Mean,
    /// Actor answers unusable after their retry.
    pub malformed: u64,
    /// Findings a test confirmed / refuted.
    pub confirmed: u64,
    /// Findings whose test passed on the new code (dropped).
    pub refuted: u64,
    /// Findings the critic could not score.
    pub unscored: u64,
}

/// Whether `f` is posted at `threshold`.
pub fn posted_at(f: &FindingRecord, threshold: u8) -> bool {
    f.finding.alive()
        && f.finding
            .score
            .as_ref()
            .is_none_or(|s| s.score >= threshold)
}

/// The metrics of `results` at `threshold`.
pub fn metrics(results: &[ItemResult], threshold: u8) -> ReviewMetrics {
    let (mut buggy, mut found, mut clean, mut alarms) = (0, 0, 0, 0);
    let (mut posted, mut hits, mut lines, mut inside) = (0, 0, 0, 0);
    let (mut malformed, mut confirmed, mut refuted, mut unscored) = (0, 0, 0, 0);
    let mut calls = Vec::new();
    let mut seconds = Vec::new();
    let mut proposed = Vec::new();
    for r in results {
        let Some(rec) = &r.review else { continue };
        calls.push(r.calls as f64);
        seconds.push(r.wall_ms / 1000.0);
        proposed.push(rec.findings.len() as f64);
        malformed += u64::from(rec.malformed);
        let out: Vec<&FindingRecord> = rec
            .findings
            .iter()
            .filter(|f| posted_at(f, threshold))
            .collect();
        for f in &rec.findings {
            if let Some(e) = &f.finding.execution {
                confirmed += u64::from(e.confirmed());
                refuted += u64::from(e.refuted());
            }
            unscored += u64::from(f.finding.critic_error.is_some());
        }
        posted += out.len() as u64;
        hits += out.iter().filter(|f| f.hit).count() as u64;
        for f in out.iter().filter(|f| f.finding.lines().is_some()) {
            lines += 1;
            inside += u64::from(f.in_diff);
        }
        if rec.buggy {
            buggy += 1;
            found += u64::from(out.iter().any(|f| f.hit));
        } else {
            clean += 1;
            alarms += u64::from(!out.is_empty());
        }
    }
    ReviewMetrics {
        items: calls.len(),
        recall: Rate::new(found, buggy),
        precision: Rate::new(hits, posted),
        false_alarms: Rate::new(alarms, clean),
        anchoring: Rate::new(inside, lines),
        calls: Mean::of(&calls),
        seconds: Mean::of(&seconds),
        proposed: Mean::of(&proposed),
        malformed,
        confirmed,
        refuted,
        unscored,
    }
}

/// The ablation table: one row per `(variant, results)` at `threshold`
/// (variants without a critic have no scores, so the threshold does not
/// touch them).
pub fn ablation_markdown(runs: &[(String, Vec<ItemResult>)], threshold: u8) -> String {
    let mut out = String::from(
        "| variant | items | recall | precision | false alarms | anchoring valid | calls/item | s/item |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (name, results) in runs {
        let m = metrics(results, threshold);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            m.items,
            m.recall.show(),
            m.precision.show(),
            m.false_alarms.show(),
            m.anchoring.show(),
            m.calls.show(),
            m.seconds.show()
        );
    }
    out
}

/// Recall, precision and false alarms of one run at every threshold 0–10.
pub fn threshold_markdown(results: &[ItemResult]) -> String {
    let mut out =
        String::from("| min score | recall | precision | false alarms |\n|---|---|---|---|\n");
    for t in 0..=10u8 {
        let m = metrics(results, t);
        let _ = writeln!(
            out,
            "| {t} | {} | {} | {} |",
            m.recall.show(),
            m.precision.show(),
            m.false_alarms.show()
        );
    }
    out
}

/// The threshold with the best balanced accuracy (mean of recall and
/// 1 − false-alarm rate; ties to the lower threshold).
pub fn best_threshold(results: &[ItemResult]) -> u8 {
    let score = |t: u8| {
        let m = metrics(results, t);
        let recall = m.recall.k as f64 / m.recall.n.max(1) as f64;
        let quiet = 1.0 - m.false_alarms.k as f64 / m.false_alarms.n.max(1) as f64;
        (recall + quiet) / 2.0
    };
    (0..=10u8).fold(0u8, |best, t| {
        if score(t) > score(best) + 1e-12 {
            t
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::run::ReviewRecord;
    use crate::review::ExpectedRange;
    use hone_review::finding::{
        Anchor, Category, Dropped, Finding, ProposedFinding, Score, Severity,
    };

    fn record(
        line: u32,
        score: Option<u8>,
        hit: bool,
        in_diff: bool,
        dropped: Option<Dropped>,
    ) -> FindingRecord {
        let mut f = Finding::new(ProposedFinding {
            path: "s.py".into(),
            category: Category::Bug,
            severity: Severity::Error,
            message: "m".into(),
            snippet: format!("line {line}"),
            replacement: None,
        });
        f.anchor = Some(Anchor::Lines {
            start: line,
            end: line,
        });
        f.score = score.map(|score| Score {
            score,
            critic_score: score,
            rationale: String::new(),
        });
        f.dropped = dropped;
        FindingRecord {
            finding: f,
            in_diff,
            hit,
        }
    }

    fn item(id: &str, buggy: bool, findings: Vec<FindingRecord>) -> ItemResult {
        let expected = if buggy {
            vec![ExpectedRange {
                path: "s.py".into(),
                start_line: 3,
                end_line: 3,
                note: "n".into(),
            }]
        } else {
            Vec::new()
        };
        ItemResult {
            id: id.into(),
            sample: 0,
            passed: false,
            verified: false,
            stop: "finished".into(),
            answer: None,
            detail: String::new(),
            calls: 2,
            cache_hits: 0,
            input_tokens: 0,
            output_tokens: 0,
            wall_ms: 1000.0,
            log: String::new(),
            critic: None,
            mint: None,
            review: Some(ReviewRecord {
                buggy,
                expected,
                findings,
                malformed: 0,
                retried: 0,
            }),
        }
    }

    #[test]
    fn rates_count_items_and_findings_at_a_threshold() {
        let results = vec![
            // Buggy: a hit scored 8 and a miss scored 2.
            item(
                "a",
                true,
                vec![
                    record(3, Some(8), true, true, None),
                    record(9, Some(2), false, true, None),
                ],
            ),
            // Buggy: only a hit scored 7.
            item("b", true, vec![record(3, Some(7), true, true, None)]),
            // Clean: a false alarm scored 5, and a dropped finding.
            item(
                "c",
                false,
                vec![
                    record(5, Some(5), false, true, None),
                    record(6, None, false, false, Some(Dropped::Refuted)),
                ],
            ),
            // Clean and silent.
            item("d", false, vec![]),
        ];
        let all = metrics(&results, 0);
        assert_eq!((all.recall.k, all.recall.n), (2, 2));
        assert_eq!((all.precision.k, all.precision.n), (2, 4));
        assert_eq!((all.false_alarms.k, all.false_alarms.n), (1, 2));
        assert_eq!((all.anchoring.k, all.anchoring.n), (4, 4));
        let six = metrics(&results, 6);
        assert_eq!(
            (
                six.recall.k,
                six.precision.k,
                six.precision.n,
                six.false_alarms.k
            ),
            (2, 2, 2, 0)
        );
        // Balanced accuracy: 1.0 from t=6 (both hits, no alarm) to 7; t=8
        // loses b's hit; t<6 keeps c's alarm.
        assert_eq!(best_threshold(&results), 6);
        let nine = metrics(&results, 9);
        assert_eq!((nine.recall.k, nine.precision.n), (0, 0));
        assert!(ablation_markdown(&[("both".into(), results.clone())], 8)
            .contains("| both | 4 | 1/2 (50.0%"));
    }
}
