//! Findings: what the actor proposes (held to a JSON schema), and what
//! hone makes of each one (its anchor, its execution evidence, its score,
//! its fingerprint, and why it was dropped if it was).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Wrong behaviour.
    Bug,
    /// A vulnerability.
    Security,
    /// Needless cost in time or memory.
    Performance,
    /// Hard to read, change or test.
    Maintainability,
}

impl Category {
    /// The lower-case name (also the SARIF rule id's suffix).
    pub fn name(self) -> &'static str {
        match self {
            Category::Bug => "bug",
            Category::Security => "security",
            Category::Performance => "performance",
            Category::Maintainability => "maintainability",
        }
    }
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Should be fixed.
    Warning,
    /// Must be fixed.
    Error,
}

impl Severity {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding as the actor proposes it (the JSON schema the model is
/// held to is [`Proposal`]'s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedFinding {
    /// The file, as the review shows its path.
    pub path: String,
    /// bug, security, performance or maintainability.
    pub category: Category,
    /// info, warning or error.
    pub severity: Severity,
    /// What is wrong and why, in one or two sentences.
    pub message: String,
    /// The exact code (one or more whole lines of the new version) the
    /// finding is about, copied without line numbers.
    pub snippet: String,
    /// Code to put in place of the snippet, when there is a fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// The actor's answer: zero or more findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The actor's reading of the change, written before its findings (room
    /// to reason before committing to a list).
    #[serde(default)]
    pub analysis: String,
    /// The findings (empty when the change looks right).
    pub findings: Vec<ProposedFinding>,
}

impl Proposal {
    /// The JSON schema the actor's answer is held to (a grammar for the
    /// local model, `response_format` for an endpoint): at most
    /// `max_findings` findings, each with the fields of [`ProposedFinding`].
    pub fn schema(max_findings: usize) -> serde_json::Value {
        let text = serde_json::json!({"type": "string", "maxLength": 400});
        let code = serde_json::json!({"type": "string", "maxLength": 1200});
        serde_json::json!({
            "type": "object",
            "properties": {
                "analysis": {"type": "string", "maxLength": 1200},
                "findings": {
                    "type": "array",
                    "maxItems": max_findings,
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string", "maxLength": 200},
                            "category": {"enum": ["bug", "security", "performance", "maintainability"]},
                            "severity": {"enum": ["error", "warning", "info"]},
                            "message": text,
                            "snippet": code,
                            "replacement": code,
                        },
                        "required": ["path", "category", "severity", "message", "snippet"],
                        "additionalProperties": false,
                    },
                },
            },
            "required": ["analysis", "findings"],
            "additionalProperties": false,
        })
    }
}

/// The critic's answer, held to [`critic_schema`]: evidence first, then
/// the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticAnswer {
    /// For and against the finding.
    pub evidence: String,
    /// 0–10.
    pub score: u8,
}

/// The JSON schema of the critic's answer: the evidence (written first, as
/// the grammar orders it), then a score 0–10.
pub fn critic_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "evidence": {"type": "string", "maxLength": 800},
            "score": {"enum": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},
        },
        "required": ["evidence", "score"],
        "additionalProperties": false,
    })
}

/// Where a finding sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anchor {
    /// New-side lines `start..=end`, all inside one hunk of the diff.
    Lines {
        /// First line (1-based).
        start: u32,
        /// Last line, inclusive.
        end: u32,
    },
    /// The file as a whole (its snippet is not in the diff's lines).
    File,
}

/// What running a finding's test said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestOutcome {
    /// The test's assertion failed: the claim holds.
    Fails {
        /// The assertion's message and line.
        assertion: String,
    },
    /// The test passed: the claim does not hold on this code.
    Passes,
    /// The test could not decide (it crashed, timed out, or the file does
    /// not run on its own).
    Inconclusive {
        /// Why.
        reason: String,
    },
}

/// A finding's test and what it did on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// The test the actor wrote.
    pub test: String,
    /// On the new code.
    pub new: TestOutcome,
    /// On the old code, where it exists.
    pub old: Option<TestOutcome>,
}

impl Execution {
    /// The claim is confirmed: the test fails on the new code, and not on
    /// the old code too (a test that fails on both sides says nothing about
    /// the change — on the review set it was the test that was wrong).
    pub fn confirmed(&self) -> bool {
        matches!(self.new, TestOutcome::Fails { .. }) && !self.fails_on_both()
    }

    /// The test fails on the new code and on the old code.
    pub fn fails_on_both(&self) -> bool {
        matches!(self.new, TestOutcome::Fails { .. })
            && matches!(self.old, Some(TestOutcome::Fails { .. }))
    }

    /// The claim is refuted: the test passes on the new code.
    pub fn refuted(&self) -> bool {
        self.new == TestOutcome::Passes
    }
}

/// The critic's judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// 0 (drop) to 10 (must be posted), after hone's rules.
    pub score: u8,
    /// The critic's own number, before hone's rules.
    pub critic_score: u8,
    /// The evidence the critic wrote before its score.
    pub rationale: String,
}

/// Why a finding is not posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Dropped {
    /// Its snippet is not in the file.
    SnippetNotFound,
    /// Its snippet is outside the diff's hunks (`--outside-diff drop`).
    OutsideDiff,
    /// Its path is not a reviewed file of the change.
    UnknownPath,
    /// Its test passed on the new code.
    Refuted,
    /// The critic's call failed; no score was invented.
    Unscored {
        /// What failed.
        error: String,
    },
    /// Scored below `--min-score`.
    LowScore,
    /// Merged into the finding with this fingerprint.
    Duplicate {
        /// The finding kept.
        of: String,
    },
    /// Over the per-file or per-review cap.
    Capped,
}

/// A finding after hone's steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The actor's proposal.
    #[serde(flatten)]
    pub proposed: ProposedFinding,
    /// Where it sits (`None` until anchored or when dropped before).
    pub anchor: Option<Anchor>,
    /// Stable id across pushes: path, normalised snippet, category.
    pub fingerprint: String,
    /// The test and its outcomes, when one ran.
    pub execution: Option<Execution>,
    /// The critic's score, when the critic ran and answered.
    pub score: Option<Score>,
    /// Why the critic gave no score, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic_error: Option<String>,
    /// Why it is not posted; `None` for a posted finding.
    pub dropped: Option<Dropped>,
}

impl Finding {
    /// A proposal not yet anchored.
    pub fn new(proposed: ProposedFinding) -> Self {
        let fingerprint = fingerprint(&proposed.path, &proposed.snippet, proposed.category);
        Finding {
            proposed,
            anchor: None,
            fingerprint,
            execution: None,
            score: None,
            critic_error: None,
            dropped: None,
        }
    }

    /// Still in the running.
    pub fn alive(&self) -> bool {
        self.dropped.is_none()
    }

    /// Kept without a score because the critic failed and unscored
    /// findings are kept (`--keep-unscored`).
    pub fn unscored_kept(&self) -> bool {
        self.score.is_none() && self.dropped.is_none() && self.critic_error.is_some()
    }

    /// Its lines, when it sits on lines.
    pub fn lines(&self) -> Option<(u32, u32)> {
        match self.anchor {
            Some(Anchor::Lines { start, end }) => Some((start, end)),
            _ => None,
        }
    }
}

/// Collapses whitespace so a re-indented or re-wrapped snippet keeps its
/// fingerprint.
pub fn normalise_snippet(snippet: &str) -> String {
    snippet.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The stable fingerprint of a finding: the first 16 hex digits of the
/// SHA-256 of path, normalised snippet and category. Line numbers are left
/// out on purpose: a later push that moves the code keeps the fingerprint.
///
/// ```
/// use hone_review::finding::{fingerprint, Category};
/// let a = fingerprint("m.py", "if x > 0:", Category::Bug);
/// assert_eq!(a, fingerprint("m.py", "  if x >  0:\n", Category::Bug));
/// assert_ne!(a, fingerprint("m.py", "if x > 0:", Category::Performance));
/// assert_eq!(a.len(), 16);
/// ```
pub fn fingerprint(path: &str, snippet: &str, category: Category) -> String {
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update([0]);
    h.update(normalise_snippet(snippet).as_bytes());
    h.update([0]);
    h.update(category.name().as_bytes());
    hex::encode(&h.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails() -> TestOutcome {
        TestOutcome::Fails {
            assertion: "assert f(1) == 2".into(),
        }
    }

    #[test]
    fn a_test_failing_on_both_sides_confirms_nothing() {
        let e = |old| Execution {
            test: "t".into(),
            new: fails(),
            old,
        };
        assert!(e(Some(TestOutcome::Passes)).confirmed());
        assert!(e(None).confirmed(), "an added file has no old side");
        assert!(!e(Some(fails())).confirmed());
        assert!(e(Some(fails())).fails_on_both());
        let refuted = Execution {
            test: "t".into(),
            new: TestOutcome::Passes,
            old: None,
        };
        assert!(refuted.refuted() && !refuted.confirmed());
    }
}
