//! Whether an extracted answer equals the reference, as RealCritic's
//! reference grader decides it.
//!
//! The rules, in order: equal strings (case-insensitive); a letter
//! reference A–E equal to the prediction's last standalone letter; two
//! numbers equal within `rel_tol = 1e-4`, also against the reference / 100
//! and × 100 (a numeric mismatch is final); then brackets removed, tuples
//! and intervals component-wise, matrices cell-wise, equations as
//! lhs − rhs of either sign, and sympy (`simplify(a − b) == 0`, or numeric
//! values within 1e-4). The first three are decided here; the rest run in
//! the sandbox's Python guest (`equal.py`, on top of hone's LaTeX
//! converter), 3 s per item, and a timeout scores wrong, as in the
//! reference.
//!
//! ```
//! use hone_bench::realcritic::grade::{quick_equal, Quick};
//! assert_eq!(quick_equal("0.5", "50"), Quick::Equal); // against 50 / 100
//! assert_eq!(quick_equal("12", "13"), Quick::NotEqual);
//! assert_eq!(quick_equal("\\frac{1}{2}", "0.5"), Quick::Ask);
//! ```

use std::time::Duration;

use hone_sandbox::{Limits, Program, Sandbox, SandboxError, Status};
use serde::Deserialize;

/// The Python half of the grader.
const EQUAL_PY: &str = include_str!("equal.py");

/// What the host-side rules decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quick {
    /// Equal by rule.
    Equal,
    /// Different by rule (final: a numeric mismatch is never reconsidered).
    NotEqual,
    /// The symbolic rules must decide.
    Ask,
}

/// The reference's number parse: commas dropped; a trailing `%` (or `\%`)
/// divides by 100.
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.replace(',', "");
    if let Ok(v) = s.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let s = s.strip_suffix('%')?;
    let s = s.strip_suffix('\\').unwrap_or(s);
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / 100.0)
}

/// Python's `math.isclose(a, b, rel_tol=1e-4)`.
pub fn is_close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-4 * a.abs().max(b.abs())
}

/// The last standalone letter A–E of the upper-cased prediction, as the
/// reference's choice cleaning takes it.
fn choice_clean(pred: &str) -> String {
    let trimmed = pred
        .trim_matches('\n')
        .trim_end_matches('.')
        .trim_end_matches('/')
        .trim_matches(' ')
        .trim_start_matches(':');
    let upper = trimmed.to_uppercase();
    let bytes = upper.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut last = None;
    for (i, &b) in bytes.iter().enumerate() {
        if (b'A'..=b'E').contains(&b)
            && (i == 0 || !is_word(bytes[i - 1]))
            && (i + 1 == bytes.len() || !is_word(bytes[i + 1]))
        {
            last = Some(b as char);
        }
    }
    match last {
        Some(c) => c.to_string(),
        None => trimmed.trim().trim_matches('.').to_string(),
    }
}

/// The rules the host decides (see the module docs).
pub fn quick_equal(pred: &str, gt: &str) -> Quick {
    if pred.trim().to_lowercase() == gt.trim().to_lowercase() {
        return Quick::Equal;
    }
    let letters = ["A", "B", "C", "D", "E"];
    if letters.contains(&gt) && choice_clean(pred) == gt {
        return Quick::Equal;
    }
    // Two different letters: the symbolic rules could only say so too.
    if letters.contains(&gt) && letters.contains(&pred.trim()) {
        return Quick::NotEqual;
    }
    if let (Some(p), Some(r)) = (parse_number(pred), parse_number(gt)) {
        return if [r / 100.0, r, r * 100.0].iter().any(|g| is_close(p, *g)) {
            Quick::Equal
        } else {
            Quick::NotEqual
        };
    }
    if pred.is_empty() {
        return Quick::NotEqual;
    }
    Quick::Ask
}

/// How an answer was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graded {
    /// Equal to the reference.
    Correct,
    /// Not equal.
    Wrong,
    /// The symbolic check ran out of its 3 s (scored wrong, as upstream).
    TimedOut,
}

impl Graded {
    /// The score: only [`Graded::Correct`] counts.
    pub fn is_correct(self) -> bool {
        self == Graded::Correct
    }
}

/// Why an answer could not be graded at all.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// The sandbox could not run the grader.
    #[error("running the RealCritic grader in the sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// The grader failed in a way the reference never does.
    #[error("the RealCritic grader failed on {pred:?} vs {gt:?}: {detail}")]
    Guest {
        /// The prediction.
        pred: String,
        /// The reference.
        gt: String,
        /// What the guest reported.
        detail: String,
    },
}

/// RealCritic's grader: host rules, then sympy in the sandbox.
#[derive(Debug, Clone)]
pub struct Grader {
    sandbox: Sandbox,
    limit: Duration,
}

impl Grader {
    /// A grader whose symbolic checks run in `sandbox`, 3 s each.
    pub fn new(sandbox: Sandbox) -> Self {
        Grader {
            sandbox,
            limit: Duration::from_secs(3),
        }
    }

    /// Grades `pred` (extracted and normalised) against `gt`.
    pub async fn grade(&self, pred: &str, gt: &str) -> Result<Graded, GradeError> {
        match quick_equal(pred, gt) {
            Quick::Equal => return Ok(Graded::Correct),
            Quick::NotEqual => return Ok(Graded::Wrong),
            Quick::Ask => {}
        }
        let payload = serde_json::json!({ "pred": pred, "gt": gt }).to_string();
        let literal = serde_json::to_string(&payload).map_err(|e| GradeError::Guest {
            pred: pred.into(),
            gt: gt.into(),
            detail: e.to_string(),
        })?;
        let source = format!(
            "{}\n{EQUAL_PY}\n_PAYLOAD = {literal}\n_rc_main(_PAYLOAD)\n",
            hone_tools::math_check::checker_source()
        );
        let limits = Limits {
            wall_time: self.limit,
            ..Limits::default()
        };
        let result = self.sandbox.run(Program::python(source), limits).await?;
        match result.status {
            Status::Timeout | Status::OutOfFuel => return Ok(Graded::TimedOut),
            // Out of memory on a pathological expression: not equal, as
            // the reference's exception handlers would have it.
            Status::OutOfMemory { .. } => return Ok(Graded::Wrong),
            Status::Ok => {}
            other => {
                return Err(GradeError::Guest {
                    pred: pred.into(),
                    gt: gt.into(),
                    detail: format!("{other:?}"),
                })
            }
        }
        #[derive(Deserialize)]
        struct Verdict {
            equal: bool,
        }
        let verdict: Verdict = result
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| GradeError::Guest {
                pred: pred.into(),
                gt: gt.into(),
                detail: format!("no verdict in {:?}", result.stdout),
            })?;
        Ok(if verdict.equal {
            Graded::Correct
        } else {
            Graded::Wrong
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_within_the_relative_tolerance_and_as_percentages() {
        assert_eq!(quick_equal("540", "540"), Quick::Equal);
        assert_eq!(quick_equal("1000", "1,000"), Quick::Equal);
        assert_eq!(quick_equal("3.14159", "3.1416"), Quick::Equal);
        assert_eq!(quick_equal("3.14", "3.1416"), Quick::NotEqual);
        assert_eq!(quick_equal("25", "0.25"), Quick::Equal); // gt * 100
        assert_eq!(quick_equal("0.25", "25"), Quick::Equal); // gt / 100
        assert_eq!(quick_equal("25\\%", "0.25"), Quick::Equal);
        assert_eq!(quick_equal("", "3"), Quick::NotEqual);
    }

    #[test]
    fn letters_match_by_the_last_standalone_letter() {
        assert_eq!(quick_equal("c", "C"), Quick::Equal);
        assert_eq!(quick_equal("(B) thymine", "B"), Quick::Equal);
        // Upper-casing makes the article "a" a letter, as upstream.
        assert_eq!(quick_equal("B is a guess", "A"), Quick::Equal);
        assert_eq!(quick_equal("D", "C"), Quick::NotEqual);
    }
}
