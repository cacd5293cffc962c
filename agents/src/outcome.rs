//! What a finished run comes to: [`RunSummary`] (the best answer, whether
//! it is verified and how, what the run spent), and the scores of that
//! answer on what the search never saw ([`AfterSearch`]: hidden tests,
//! a reference answer).
//!
//! `hone solve` prints and serialises exactly this; a program of yours can
//! do the same:
//!
//! ```no_run
//! # async fn demo(run: hone_agents::strategy::Run<hone_agents::refine::RefineState>,
//! #               harness: &hone_tools::Harness, hidden: &hone_tools::TestSuite)
//! #               -> Result<(), Box<dyn std::error::Error>> {
//! use hone_agents::outcome::{AfterSearch, RunSummary};
//! let summary = RunSummary::of_linear("self-refine", &run);
//! let scores = AfterSearch::new(harness).hidden_tests(hidden).score(summary.answer.as_deref()).await?;
//! println!("{} — hidden tests passed: {:?}", summary.judged, scores.hidden_tests.map(|h| h.passed));
//! # Ok(()) }
//! ```
//!
//! Scoring runs only after the search returned, on the final answer alone:
//! hidden tests and references never enter a strategy's state.

use std::collections::BTreeMap;
use std::time::Duration;

use hone_core::graph::{RunOutcome, StopReason};
use hone_core::UsageLedger;
use hone_sandbox::Language;
use hone_tools::answer::{extract_final_answer, Equivalence};
use hone_tools::math_check::MathChecker;
use hone_tools::{Harness, HarnessError, TestSuite};
use serde::{Deserialize, Serialize};

use crate::mcts::MctsState;
use crate::refine::{extract_code, Attempt, RefineState, Verdict};

/// What every strategy's result reduces to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run id.
    pub run_id: String,
    /// The strategy's name (`self-refine`, `rethink-mcts`, …).
    pub strategy: String,
    /// Why the run ended.
    pub stop: StopReason,
    /// Set when RethinkMCTS ended a rollout early for lack of budget (the
    /// run itself still finished).
    pub budget_note: Option<String>,
    /// Completed steps.
    pub steps: u64,
    /// Completed executions per node.
    pub node_runs: BTreeMap<String, u64>,
    /// Model usage.
    pub usage: UsageLedger,
    /// Wall time, including earlier processes of a resumed run.
    pub elapsed: Duration,
    /// The best answer, if any.
    pub answer: Option<String>,
    /// Whether the best answer is verified.
    pub verified: bool,
    /// How the answer was judged, in words.
    pub judged: String,
    /// Which answer it is, in words.
    pub position: String,
    /// Strategy-specific detail (attempts, or the search tree's figures).
    pub detail: serde_json::Value,
}

impl RunSummary {
    /// The summary of a linear strategy's run (single-shot, self-refine,
    /// Reflexion, best-of-n).
    pub fn of_linear(strategy: &str, o: &RunOutcome<RefineState>) -> Self {
        let best = o.state.best();
        RunSummary {
            run_id: o.run_id.clone(),
            strategy: strategy.to_string(),
            stop: o.stop.clone(),
            budget_note: None,
            steps: o.steps,
            node_runs: o.node_runs.clone(),
            usage: o.usage.clone(),
            elapsed: o.elapsed,
            answer: best.map(|a| a.answer.clone()),
            verified: best.is_some_and(|a| a.verified()),
            judged: best.map(judged).unwrap_or_else(|| "no answer".into()),
            position: format!(
                "answer {} of {}",
                o.state.best_index().map(|i| i + 1).unwrap_or(0),
                o.state.attempts.len()
            ),
            detail: serde_json::json!({
                "attempts": o.state.attempts,
                "reflections": o.state.reflections,
                "requirements": o.state.requirements,
                "selected": o.state.selected,
            }),
        }
    }

    /// The summary of a RethinkMCTS run.
    pub fn of_mcts(o: &RunOutcome<MctsState>) -> Self {
        let s = &o.state;
        let best = s.best_program();
        RunSummary {
            run_id: o.run_id.clone(),
            strategy: "rethink-mcts".into(),
            stop: o.stop.clone(),
            budget_note: s.budget_stop.clone(),
            steps: o.steps,
            node_runs: o.node_runs.clone(),
            usage: o.usage.clone(),
            elapsed: o.elapsed,
            answer: best.map(|p| p.answer.clone()),
            verified: best.is_some_and(|p| p.tests.all_passed()),
            judged: best
                .map(|p| {
                    format!(
                        "passes {}/{} public tests, value {:.3}",
                        p.tests.passed, p.tests.total, p.value
                    )
                })
                .unwrap_or_else(|| "no program".into()),
            position: format!(
                "program from rollout {} of {} rollouts; {} programs, {} thoughts, {} rethinks, {} malformed outputs",
                best.map(|p| p.rollout).unwrap_or(0),
                s.rollouts,
                s.programs.len(),
                s.chances.len(),
                s.rethinks,
                s.malformed
            ),
            detail: serde_json::json!({
                "rollouts": s.rollouts,
                "settings": s.settings,
                "programs": s.programs,
                "states": s.decisions.len(),
                "thoughts": s.chances.len(),
                "rethinks": s.rethinks,
                "malformed": s.malformed,
                "budget_stop": s.budget_stop,
            }),
        }
    }

    /// Whether a budget, rather than the strategy, ended the search.
    pub fn stopped_by_budget(&self) -> bool {
        match &self.stop {
            StopReason::Budget { .. } => true,
            // RethinkMCTS ends its last rollout early for lack of budget
            // and still finishes.
            StopReason::Finished => self.budget_note.is_some(),
            StopReason::NodeFailed { .. } | StopReason::InvalidRoute { .. } => false,
        }
    }
}

/// How the best attempt was judged, in words.
fn judged(best: &Attempt) -> String {
    if let Some(e) = best.evidence.as_ref().filter(|e| e.verdict.is_some()) {
        return match e.verifier.as_str() {
            "public_tests" if e.verdict == Some(true) => {
                format!("passes all {} public tests", e.total)
            }
            "public_tests" => format!("passes {}/{} public tests", e.passed, e.total),
            "checklist" => format!("meets {}/{} requirements", e.passed, e.total),
            name => format!(
                "{name}: {}/{} checks passed{}",
                e.passed,
                e.total,
                if e.verdict == Some(true) {
                    ", verified"
                } else {
                    ""
                }
            ),
        };
    }
    let final_answer = match best.final_answer() {
        Some("") => "no final answer found; ",
        _ => "",
    };
    let verdict = match best.verdict {
        Some(Verdict::Correct) => "accepted by the critic",
        Some(Verdict::Incorrect) => "NOT accepted by the critic",
        Some(Verdict::Malformed) => "critic gave no verdict",
        None => "not reviewed",
    };
    format!("{final_answer}{verdict}")
}

/// The final program's score on the hidden tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenTestScore {
    /// The host's verdict with the official HumanEval semantics (candidate,
    /// tests and `check` as one program in a fresh interpreter, passing
    /// only if it runs to completion): what pass@1 counts.
    pub passed: bool,
    /// How that run ended (`ok`, `exception`, `timeout`…, `no_answer`).
    pub status: String,
    /// A one-line reason when it failed.
    pub detail: String,
    /// Tests passed, from the feedback harness: information only.
    pub tests_passed: usize,
    /// Tests run, from the feedback harness.
    pub tests_total: usize,
}

/// The final answer checked against a reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceCheck {
    /// The reference answer.
    pub reference: String,
    /// The final answer read from the solution, if one was found.
    pub final_answer: Option<String>,
    /// Whether they are equivalent.
    pub correct: bool,
    /// The checker's finding (`equal`, `not_equal`, …).
    pub equivalence: String,
}

/// What [`AfterSearch::score`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scores {
    /// The hidden tests' score, when there were hidden tests.
    pub hidden_tests: Option<HiddenTestScore>,
    /// The reference check, when there was a reference.
    pub reference_check: Option<ReferenceCheck>,
}

/// Why scoring failed (the sandbox, not the answer).
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// Running the hidden tests failed.
    #[error("scoring the hidden tests: {0}")]
    HiddenTests(#[source] HarnessError),
    /// Checking the final answer failed.
    #[error("checking the final answer against the reference: {0}")]
    Reference(#[source] hone_tools::math_check::MathCheckError),
}

/// Scores a final answer on what the search never saw.
#[derive(Clone, Copy)]
pub struct AfterSearch<'a> {
    harness: &'a Harness,
    hidden_tests: Option<&'a TestSuite>,
    reference: Option<&'a str>,
}

impl<'a> AfterSearch<'a> {
    /// Scoring in `harness`'s sandbox; nothing to score yet.
    pub fn new(harness: &'a Harness) -> Self {
        AfterSearch {
            harness,
            hidden_tests: None,
            reference: None,
        }
    }

    /// Scores the program on `suite` (Python).
    pub fn hidden_tests(mut self, suite: &'a TestSuite) -> Self {
        self.hidden_tests = Some(suite);
        self
    }

    /// Checks the final answer against `reference`.
    pub fn reference(mut self, reference: &'a str) -> Self {
        self.reference = Some(reference);
        self
    }

    /// Scores `answer` (the run's best answer; `None` when it has none).
    pub async fn score(&self, answer: Option<&str>) -> Result<Scores, ScoringError> {
        let mut scores = Scores::default();
        if let Some(suite) = self.hidden_tests {
            scores.hidden_tests = Some(self.score_hidden(answer, suite).await?);
        }
        if let Some(reference) = self.reference {
            scores.reference_check = Some(self.check_reference(answer, reference).await?);
        }
        Ok(scores)
    }

    async fn score_hidden(
        &self,
        answer: Option<&str>,
        hidden: &TestSuite,
    ) -> Result<HiddenTestScore, ScoringError> {
        let Some(answer) = answer else {
            return Ok(HiddenTestScore {
                passed: false,
                status: "no_answer".into(),
                detail: String::new(),
                tests_passed: 0,
                tests_total: 0,
            });
        };
        let code = extract_code(answer);
        let report = self
            .harness
            .run_python(&code, hidden)
            .await
            .map_err(ScoringError::HiddenTests)?;
        // The report of an assertion suite carries the host's verdict on
        // the same program; one without (an `Io` suite) gets its own.
        let verdict = match report.host_verdict.clone() {
            Some(verdict) => verdict,
            None => self
                .harness
                .score(Language::Python, &code, hidden)
                .await
                .map_err(ScoringError::HiddenTests)?,
        };
        Ok(HiddenTestScore {
            passed: verdict.passed,
            status: verdict.status,
            detail: verdict.detail,
            tests_passed: report.passed(),
            tests_total: report.total(),
        })
    }

    async fn check_reference(
        &self,
        answer: Option<&str>,
        reference: &str,
    ) -> Result<ReferenceCheck, ScoringError> {
        let extracted = answer.and_then(extract_final_answer);
        let equivalence = match &extracted {
            Some(a) => MathChecker::new(self.harness.sandbox().clone())
                .equivalent(a, reference)
                .await
                .map_err(ScoringError::Reference)?,
            None => Equivalence::NotEqual,
        };
        Ok(ReferenceCheck {
            reference: reference.to_string(),
            final_answer: extracted,
            correct: equivalence == Equivalence::Equal,
            equivalence: format!("{equivalence:?}").to_lowercase(),
        })
    }
}
