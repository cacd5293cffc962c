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
    let mut out = format!(
        "| variant | items | recall | precision | false alarms | anchoring valid | calls/item | s/item |\n\
         |---|---|---|---|---|---|---|---|\n"
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
