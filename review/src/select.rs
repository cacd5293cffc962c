//! The last step: near-duplicates merge and caps apply, so a review says
//! each thing once and never floods a pull request.
//!
//! Findings are ranked by score (unscored last), then severity; walking
//! that order, a finding is a duplicate of one already kept when they share
//! a fingerprint, or sit in the same file on overlapping lines with the same
//! category or nearly the same message. Then at most
//! [`ReviewOptions::max_per_file`] per file and
//! [`ReviewOptions::max_findings`] in all are kept.

use std::collections::BTreeMap;

use crate::finding::{Dropped, Finding};
use crate::pipeline::ReviewOptions;

/// Messages at least this similar (normalised Levenshtein) say the same
/// thing.
pub const SAME_MESSAGE: f64 = 0.8;

fn overlaps(a: &Finding, b: &Finding) -> bool {
    match (a.lines(), b.lines()) {
        (Some((s1, e1)), Some((s2, e2))) => s1 <= e2 && s2 <= e1,
        (None, None) => true,
        _ => false,
    }
}

fn same_message(a: &Finding, b: &Finding) -> bool {
    let (x, y) = (
        a.proposed.message.to_lowercase(),
        b.proposed.message.to_lowercase(),
    );
    strsim::normalized_levenshtein(&x, &y) >= SAME_MESSAGE
}

/// Whether `b` repeats `a`.
pub fn duplicates(a: &Finding, b: &Finding) -> bool {
    a.fingerprint == b.fingerprint
        || (a.proposed.path == b.proposed.path
            && overlaps(a, b)
            && (a.proposed.category == b.proposed.category || same_message(a, b)))
}

/// Marks duplicates and findings over the caps as dropped.
pub fn select(findings: &mut [Finding], options: &ReviewOptions) {
    let mut order: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].alive())
        .collect();
    order.sort_by_key(|&i| {
        let f = &findings[i];
        (
            std::cmp::Reverse(f.score.as_ref().map_or(-1, |s| i32::from(s.score))),
            std::cmp::Reverse(f.proposed.severity),
            i,
        )
    });
    let mut kept: Vec<usize> = Vec::new();
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    for i in order {
        if let Some(&k) = kept
            .iter()
            .find(|&&k| duplicates(&findings[k], &findings[i]))
        {
            let of = findings[k].fingerprint.clone();
            findings[i].dropped = Some(Dropped::Duplicate { of });
            continue;
        }
        let n = per_file
            .entry(findings[i].proposed.path.clone())
            .or_default();
        if *n >= options.max_per_file || kept.len() >= options.max_findings {
            findings[i].dropped = Some(Dropped::Capped);
            continue;
        }
        *n += 1;
        kept.push(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Anchor, Category, ProposedFinding, Score, Severity};

    fn f(path: &str, lines: (u32, u32), cat: Category, msg: &str, score: Option<u8>) -> Finding {
        let mut f = Finding::new(ProposedFinding {
            path: path.into(),
            category: cat,
            severity: Severity::Warning,
            message: msg.into(),
            snippet: format!("{msg}{}", lines.0),
            replacement: None,
        });
        f.anchor = Some(Anchor::Lines {
            start: lines.0,
            end: lines.1,
        });
        f.score = score.map(|score| Score {
            score,
            critic_score: score,
            rationale: String::new(),
        });
        f
    }

    #[test]
    fn overlapping_findings_merge_into_the_best_scored() {
        let mut v = vec![
            f(
                "a.py",
                (3, 4),
                Category::Bug,
                "off by one in the loop",
                Some(5),
            ),
            f(
                "a.py",
                (4, 4),
                Category::Bug,
                "the loop stops early",
                Some(8),
            ),
            f("a.py", (4, 4), Category::Performance, "slow", Some(7)),
            f(
                "b.py",
                (4, 4),
                Category::Bug,
                "the loop stops early",
                Some(7),
            ),
        ];
        select(&mut v, &ReviewOptions::default());
        let of = v[1].fingerprint.clone();
        assert_eq!(v[0].dropped, Some(Dropped::Duplicate { of }));
        assert!(v[1].alive() && v[2].alive() && v[3].alive());
    }

    #[test]
    fn caps_keep_the_best() {
        let mut v: Vec<Finding> = (0..8)
            .map(|i| {
                f(
                    "a.py",
                    (i * 10 + 1, i * 10 + 1),
                    Category::Bug,
                    &format!("problem number {i}"),
                    Some(i as u8 + 2),
                )
            })
            .collect();
        let options = ReviewOptions {
            max_per_file: 3,
            ..ReviewOptions::default()
        };
        select(&mut v, &options);
        let alive: Vec<usize> = (0..8).filter(|&i| v[i].alive()).collect();
        assert_eq!(alive, [5, 6, 7]);
        assert!(v[0].dropped == Some(Dropped::Capped));
    }
}
