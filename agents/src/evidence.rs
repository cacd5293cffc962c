//! [`Evidence`]: what a verifier found about one attempt, in one shape for
//! every verifier — public tests, a math answer, a design checklist or a
//! check of your own.
//!
//! Evidence either *decides* the attempt ([`Evidence::decided`]: tests ran,
//! requirements were checked, and the attempt passed or not) or only
//! *informs* the critic ([`Evidence::informative`]: the final answer that
//! was read from a math solution, which the critic still has to judge).
//! Deciding evidence outranks the critic's opinion: a refiner keeps going
//! until it passes, and the best attempt is the one that passed most.
//!
//! ```
//! use hone_agents::evidence::Evidence;
//!
//! let tests = Evidence::decided("unit_tests", 3, 4, "test_empty failed: expected [] got None");
//! assert_eq!(tests.verified(), Some(false));
//! assert_eq!(tests.fraction(), 0.75);
//!
//! let note = Evidence::informative("final_answer", "Extracted final answer: 4");
//! assert_eq!(note.verified(), None);
//! ```

use serde::{Deserialize, Serialize};

/// What a verifier found about one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The verifier that produced it (`public_tests`, `final_answer`,
    /// `checklist`, or a user verifier's [`name`](crate::verifier::Verifier::name)).
    pub verifier: String,
    /// `Some(true)` when the verifier verified the attempt, `Some(false)`
    /// when it refuted it, `None` when the evidence only informs the critic.
    pub verdict: Option<bool>,
    /// Checks passed (tests, requirements met).
    pub passed: usize,
    /// Checks run. Zero with a verdict means nothing could be checked (code
    /// that failed before any test ran).
    pub total: usize,
    /// The evidence as text for critics and refiners.
    pub feedback: String,
    /// Verifier-specific detail (the checklist items, the extracted final
    /// answer…), kept in run logs and `--json` output.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl Evidence {
    /// Evidence that decides the attempt: verified when every one of
    /// `total` checks passed (and there was at least one).
    pub fn decided(
        verifier: impl Into<String>,
        passed: usize,
        total: usize,
        feedback: impl Into<String>,
    ) -> Self {
        Evidence {
            verifier: verifier.into(),
            verdict: Some(total > 0 && passed >= total),
            passed,
            total,
            feedback: feedback.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Evidence that only informs the critic, whose verdict still decides.
    pub fn informative(verifier: impl Into<String>, feedback: impl Into<String>) -> Self {
        Evidence {
            verifier: verifier.into(),
            verdict: None,
            passed: 0,
            total: 0,
            feedback: feedback.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Overrides the verdict of deciding evidence: a verifier that knows
    /// more than the pass count (the host's own score of a full pass, a
    /// report cut short) says so here.
    pub fn with_verdict(mut self, verified: bool) -> Self {
        self.verdict = Some(verified);
        self
    }

    /// Attaches verifier-specific detail.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// The verdict, when this evidence decides the attempt.
    pub fn verified(&self) -> Option<bool> {
        self.verdict
    }

    /// Share of checks passed in [0, 1]; 0 for informative evidence.
    pub fn fraction(&self) -> f64 {
        if self.verdict.is_none() || self.total == 0 {
            return 0.0;
        }
        (self.passed as f64 / self.total as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_needs_at_least_one_check() {
        assert_eq!(Evidence::decided("t", 0, 0, "").verified(), Some(false));
        assert_eq!(Evidence::decided("t", 2, 2, "").verified(), Some(true));
        assert_eq!(
            Evidence::decided("t", 2, 2, "")
                .with_verdict(false)
                .verified(),
            Some(false),
            "the host can overrule a full count"
        );
        assert_eq!(Evidence::informative("t", "x").fraction(), 0.0);
    }

    #[test]
    fn details_round_trip_and_are_omitted_when_empty() {
        let e = Evidence::decided("checklist", 1, 2, "1/2")
            .with_details(serde_json::json!({"items": [1, 2]}));
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Evidence>(&text).unwrap(), e);
        let bare = serde_json::to_value(Evidence::informative("n", "f")).unwrap();
        assert!(bare.get("details").is_none(), "{bare}");
        assert!(bare.get("verdict").is_some_and(|v| v.is_null()));
    }
}
