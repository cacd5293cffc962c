//! The state every linear strategy shares ([`RefineState`], [`Attempt`]),
//! and two strategies: single-shot (actor → verify) and self-refine
//! (actor → verify → critic → refiner → verify … until the answer is
//! verified or the round or model-call budget runs out).
//!
//! After every attempt a `verify` node attaches the task's evidence (see
//! [`crate::verify`]): public tests run in the Wasm sandbox for code, the
//! extracted final answer for math, a requirement checklist for design. All
//! public tests passing (or every requirement met) verifies the answer —
//! execution outranks opinion — and otherwise the evidence is what the
//! critic and the refiner work from. Hidden tests never enter the state.
//!
//! The critic must end its critique with `VERDICT: CORRECT` or
//! `VERDICT: INCORRECT`. A critique without a verdict line is not a crash: it
//! counts as "not verified", is recorded as a malformed critique, and the loop
//! refines again.

use std::sync::Arc;

use hone_core::graph::{Graph, GraphBuilder, GraphError, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};
pub use hone_tools::TestOutcome;
use hone_tools::{Harness, TestSuite};
use serde::{Deserialize, Serialize};

use crate::checklist::Checklist;
use crate::evidence::Evidence;
use crate::roles::{Actor, Critic, Verify};
use crate::verifier::{SharedVerifier, Verifier, FINAL_ANSWER};

/// What kind of answer the task wants; selects template variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Free text (design, explanation…).
    #[default]
    Text,
    /// A worked solution with a final answer.
    Math,
    /// A Python program, checked against public tests when given.
    Code,
    /// A structured design document, checked against the brief's
    /// requirements when it states any.
    Design,
}

/// The critic's judgement of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The critic accepts the answer.
    Correct,
    /// The critic found a problem.
    Incorrect,
    /// The critique had no verdict line.
    Malformed,
}

/// One answer, the verifier's evidence and its critique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The answer.
    pub answer: String,
    /// The critique, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critique: Option<String>,
    /// The verdict, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// What the verifier found, once it ran and had something to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Attempt {
    /// An attempt not yet verified or critiqued.
    pub fn new(answer: impl Into<String>) -> Self {
        Attempt {
            answer: answer.into(),
            critique: None,
            verdict: None,
            evidence: None,
        }
    }

    /// Attaches evidence (what a `verify` step does).
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// Whether this attempt is verified: the verifier's verdict when its
    /// evidence decides (all public tests pass, every requirement is met…),
    /// else whether the critic accepted it.
    pub fn verified(&self) -> bool {
        match self.evidence.as_ref().and_then(Evidence::verified) {
            Some(verified) => verified,
            None => self.verdict == Some(Verdict::Correct),
        }
    }

    /// Whether a verifier's evidence decided [`Attempt::verified`], rather
    /// than a critic's opinion.
    pub fn checked(&self) -> bool {
        self.evidence
            .as_ref()
            .is_some_and(|e| e.verified().is_some())
    }

    /// The verifier's score in [0, 1] (public-test pass fraction, share of
    /// requirements met); 0 when nothing was checked.
    pub fn check_fraction(&self) -> f64 {
        self.evidence.as_ref().map_or(0.0, Evidence::fraction)
    }

    /// False when the verifier decided with nothing checked (code that
    /// failed before any public test ran: a syntax error, a crash at
    /// import): among equal pass fractions, code that runs ranks higher.
    pub fn tests_ran(&self) -> bool {
        self.evidence
            .as_ref()
            .is_none_or(|e| e.verified().is_none() || e.total > 0)
    }

    /// The ranking key of [`RefineState::best`]: verified, verifier score,
    /// tests ran.
    pub(crate) fn score(&self) -> (bool, u64, bool) {
        (
            self.verified(),
            (self.check_fraction() * 1_000_000.0) as u64,
            self.tests_ran(),
        )
    }

    /// The final answer [`FinalAnswer`](crate::verifier::FinalAnswer) read
    /// from a math solution (empty when none was found); `None` when that
    /// verifier did not run.
    pub fn final_answer(&self) -> Option<&str> {
        self.evidence
            .as_ref()
            .filter(|e| e.verifier == FINAL_ANSWER)
            .and_then(|e| e.details.get(FINAL_ANSWER))
            .and_then(|v| v.as_str())
    }

    /// The requirement checklist, when a design checklist was graded.
    pub fn checklist(&self) -> Option<Checklist> {
        self.evidence.as_ref().and_then(Checklist::from_evidence)
    }
}

/// State of a self-refine run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefineState {
    /// The task.
    pub task: String,
    /// Kind of task.
    pub kind: TaskKind,
    /// Most answers to produce (the first plus refinements).
    pub max_rounds: u32,
    /// Public tests of a code task (hidden tests never enter the state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_tests: Option<TestSuite>,
    /// Requirements of a design brief, checked one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Reflexion's episodic memory: verbal lessons from failed trials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reflections: Vec<String>,
    /// The attempt a selection step picked (best-of-n); when unset,
    /// [`RefineState::best`] ranks the attempts itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<usize>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl RefineState {
    /// A fresh state.
    ///
    /// ```
    /// let s = hone_agents::refine::RefineState::new("Explain CRDTs", hone_agents::refine::TaskKind::Text, 3);
    /// assert!(s.best().is_none());
    /// ```
    pub fn new(task: impl Into<String>, kind: TaskKind, max_rounds: u32) -> Self {
        RefineState {
            task: task.into(),
            kind,
            max_rounds: max_rounds.max(1),
            public_tests: None,
            requirements: Vec::new(),
            reflections: Vec::new(),
            selected: None,
            attempts: Vec::new(),
        }
    }

    /// Adds the requirements a design verifier checks one by one.
    pub fn with_requirements(mut self, requirements: Vec<String>) -> Self {
        self.requirements = requirements;
        self
    }

    /// Adds public tests (code tasks).
    pub fn with_public_tests(mut self, tests: TestSuite) -> Self {
        self.public_tests = Some(tests);
        self
    }

    /// Whether the last attempt is verified.
    pub fn verified(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::verified)
    }

    /// The best answer so far: the selected one when a selection step ran;
    /// otherwise verified beats unverified, then the higher verifier score
    /// (public-test pass fraction, requirements met), then code whose tests
    /// ran at all; among equals, the latest.
    pub fn best(&self) -> Option<&Attempt> {
        self.best_index().map(|i| &self.attempts[i])
    }

    /// Index of [`RefineState::best`] in `attempts`.
    pub fn best_index(&self) -> Option<usize> {
        if let Some(i) = self.selected.filter(|&i| i < self.attempts.len()) {
            return Some(i);
        }
        self.attempts
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (a.score(), *i))
            .map(|(i, _)| i)
    }
}

/// The program in an answer: the last fenced code block, else the whole
/// answer.
///
/// ```
/// let a = "Here:\n```python\ndef f():\n    return 1\n```\nDone.";
/// assert_eq!(hone_agents::refine::extract_code(a), "def f():\n    return 1");
/// assert_eq!(hone_agents::refine::extract_code("x = 1"), "x = 1");
/// ```
pub fn extract_code(answer: &str) -> String {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in answer.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block.join("\n")),
                None => current = Some(Vec::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push(line);
        }
    }
    // An unterminated block (output cut at the token limit) still counts.
    if let Some(block) = current {
        blocks.push(block.join("\n"));
    }
    blocks
        .into_iter()
        .rev()
        .find(|b| !b.trim().is_empty())
        .unwrap_or_else(|| answer.trim().to_string())
}

/// Finds the critic's verdict line (the last `VERDICT:` line wins).
///
/// ```
/// use hone_agents::refine::{parse_verdict, Verdict};
/// assert_eq!(parse_verdict("step 2 is wrong\nVERDICT: INCORRECT"), Verdict::Incorrect);
/// assert_eq!(parse_verdict("fine.\n**Verdict:** correct"), Verdict::Correct);
/// assert_eq!(parse_verdict("looks fine"), Verdict::Malformed);
/// ```
pub fn parse_verdict(critique: &str) -> Verdict {
    for line in critique.lines().rev() {
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
            .collect::<String>()
            .trim()
            .to_ascii_uppercase();
        if let Some(rest) = cleaned.strip_prefix("VERDICT:") {
            let rest = rest.trim();
            if rest.starts_with("INCORRECT") {
                return Verdict::Incorrect;
            }
            if rest.starts_with("CORRECT") {
                return Verdict::Correct;
            }
        }
    }
    Verdict::Malformed
}

/// Settings of the self-refine graph.
#[derive(Clone)]
pub struct RefineConfig {
    /// Model of the actor and refiner.
    pub actor: Arc<dyn LanguageModel>,
    /// Model of the critic (may be the same).
    pub critic: Arc<dyn LanguageModel>,
    /// Prompt templates.
    pub templates: Arc<Templates>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Token limit per call.
    pub max_tokens: u32,
    /// Runs public tests of code tasks; required when the state has tests
    /// and no [`RefineConfig::verifier`] is set.
    pub harness: Option<Arc<Harness>>,
    /// The check run on every attempt; `None` picks the task kind's
    /// built-in one ([`TaskVerifier`](crate::verifier::TaskVerifier)).
    pub verifier: Option<SharedVerifier>,
}

impl RefineConfig {
    /// One model for every role, the given templates, temperature 0, 768
    /// tokens per call and no sandbox harness.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hone_agents::refine::RefineConfig;
    /// use hone_core::{templates::Templates, ScriptedModel};
    /// let cfg = RefineConfig::new(Arc::new(ScriptedModel::new()), Arc::new(Templates::embedded()))
    ///     .with_max_tokens(256);
    /// assert_eq!((cfg.temperature, cfg.max_tokens), (0.0, 256));
    /// assert!(cfg.harness.is_none());
    /// ```
    pub fn new(model: Arc<dyn LanguageModel>, templates: Arc<Templates>) -> Self {
        RefineConfig {
            actor: model.clone(),
            critic: model,
            templates,
            temperature: 0.0,
            max_tokens: 768,
            harness: None,
            verifier: None,
        }
    }

    /// Uses `critic` for critiques, checklists and rubric grades.
    pub fn with_critic(mut self, critic: Arc<dyn LanguageModel>) -> Self {
        self.critic = critic;
        self
    }

    /// Sets the token limit per call.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }

    /// Runs `verifier` on every attempt instead of the task kind's built-in
    /// verifier.
    pub fn with_verifier(mut self, verifier: impl Verifier) -> Self {
        self.verifier = Some(SharedVerifier::new(verifier));
        self
    }

    /// Runs public tests (and symbolic math checks) with `harness`.
    pub fn with_harness(mut self, harness: Arc<Harness>) -> Self {
        self.harness = Some(harness);
        self
    }
}

/// One user-turn call returning the trimmed text. `sample` > 0 asks for an
/// independent sample: it is part of the cache key and seeds the sampler,
/// so samples differ yet reruns reproduce them.
pub(crate) async fn ask_model(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: String,
    temperature: f32,
    max_tokens: u32,
    sample: u32,
) -> Result<String, NodeError> {
    let mut request = ChatRequest::new(vec![Message::user(prompt)])
        .with_temperature(temperature)
        .with_max_tokens(max_tokens)
        .with_sample_index(sample);
    if sample > 0 {
        request.sampling.seed = Some(u64::from(sample));
    }
    let response = ctx.chat(model, &request).await?;
    Ok(response.first_text().trim().to_string())
}

/// [`ask_model`] with the configuration's temperature and token limit.
pub(crate) async fn complete(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: String,
    cfg: &RefineConfig,
    sample: u32,
) -> Result<String, NodeError> {
    ask_model(ctx, model, prompt, cfg.temperature, cfg.max_tokens, sample).await
}

/// Whether the latest attempt passed a verifier (tests or checklist); a
/// critic's acceptance does not count here.
pub(crate) fn verified_by_check(s: &RefineState) -> bool {
    s.attempts
        .last()
        .is_some_and(|a| a.checked() && a.verified())
}

/// Builds the single-shot graph: `actor` → `verify`, one answer.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::refine::{single_shot_graph, RefineConfig, RefineState, TaskKind};
/// use hone_core::{graph::RunOptions, templates::Templates, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order(["2 + 2 = 4\nFINAL ANSWER: 4"]));
/// let cfg = RefineConfig::new(model, Arc::new(Templates::embedded())).with_max_tokens(256);
/// let out = single_shot_graph(cfg).unwrap()
///     .run(RefineState::new("What is 2 + 2?", TaskKind::Math, 1), RunOptions::default()).await.unwrap();
/// assert_eq!(out.state.attempts[0].final_answer(), Some("4"));
/// # });
/// ```
pub fn single_shot_graph(cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
    GraphBuilder::new("single-shot")
        .node("actor", Actor::first(cfg.clone()))
        .edge("actor", "verify")
        .node("verify", Verify::new(cfg))
        .entry("actor")
        .build()
}

/// Builds the self-refine graph: `actor` → `verify` → `critic` → `refiner` →
/// `verify` …, ending when the answer is verified or `max_rounds` answers
/// have been produced. `verify` passes text and math answers through.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::refine::{self_refine_graph, RefineConfig, RefineState, TaskKind};
/// use hone_core::{graph::RunOptions, templates::Templates, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order([
///     "x = 3",                          // actor
///     "Step 1 is wrong.\nVERDICT: INCORRECT", // critic
///     "x = 4",                          // refiner
///     "All good.\nVERDICT: CORRECT",    // critic
/// ]));
/// let cfg = RefineConfig::new(model, Arc::new(Templates::embedded())).with_max_tokens(256);
/// let graph = self_refine_graph(cfg).unwrap();
/// let out = graph.run(RefineState::new("Solve x + 1 = 5", TaskKind::Math, 4), RunOptions::default()).await.unwrap();
/// assert!(out.state.verified());
/// assert_eq!(out.state.best().unwrap().answer, "x = 4");
/// # });
/// ```
pub fn self_refine_graph(cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
    GraphBuilder::new("self-refine")
        .node("actor", Actor::first(cfg.clone()))
        .edge("actor", "verify")
        .node("verify", Verify::new(cfg.clone()))
        .router("verify", &["critic"], |s: &RefineState| {
            if verified_by_check(s) {
                Route::End
            } else {
                Route::to("critic")
            }
        })
        .node("critic", Critic::new(cfg.clone()))
        .router("critic", &["refiner"], |s: &RefineState| {
            if s.verified() || s.attempts.len() as u32 >= s.max_rounds {
                Route::End
            } else {
                Route::to("refiner")
            }
        })
        .node("refiner", Actor::refiner(cfg))
        .edge("refiner", "verify")
        .entry("actor")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::graph::{RunOptions, StopReason};
    use hone_core::{Budget, BudgetKind, ScriptedModel};

    fn cfg(model: Arc<ScriptedModel>) -> RefineConfig {
        RefineConfig::new(model, Arc::new(Templates::embedded())).with_max_tokens(64)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn best_prefers_verified_then_pass_fraction_then_latest() {
        let tested = |passed, total| {
            Attempt::new(format!("{passed}/{total}")).with_evidence(Evidence::decided(
                "public_tests",
                passed,
                total,
                "",
            ))
        };
        let mut s = RefineState::new("t", TaskKind::Code, 5);
        s.attempts = vec![
            tested(2, 6),
            tested(0, 0),
            tested(4, 6),
            tested(4, 6),
            tested(1, 6),
        ];
        assert_eq!(
            s.best_index(),
            Some(3),
            "highest fraction, latest among equals"
        );
        assert!(!s.verified());
        s.attempts.push(tested(6, 6));
        s.attempts.push(tested(5, 6));
        assert_eq!(s.best().unwrap().answer, "6/6");
        let mut critic_only = RefineState::new("t", TaskKind::Text, 5);
        let mut accepted = Attempt::new("ok");
        accepted.verdict = Some(Verdict::Correct);
        let mut rejected = Attempt::new("later");
        rejected.verdict = Some(Verdict::Incorrect);
        critic_only.attempts = vec![accepted, rejected];
        assert_eq!(critic_only.best().unwrap().answer, "ok");
    }

    #[test]
    fn math_evidence_tells_the_critic_when_no_final_answer_was_found() {
        rt().block_on(async {
            let model = Arc::new(ScriptedModel::in_order([
                "It is about four.",
                "No final answer line.\nVERDICT: INCORRECT",
                "2 + 2 = 4\nFINAL ANSWER: 4",
                "VERDICT: CORRECT",
            ]));
            let out = self_refine_graph(cfg(model.clone()))
                .unwrap()
                .run(
                    RefineState::new("2 + 2?", TaskKind::Math, 3),
                    RunOptions::default(),
                )
                .await
                .unwrap();
            let attempts = &out.state.attempts;
            assert_eq!(attempts[0].final_answer(), Some("It is about four."));
            assert_eq!(attempts[1].final_answer(), Some("4"));
            let critic_prompts: Vec<String> = model
                .requests()
                .iter()
                .map(|r| r.messages[0].content.clone())
                .filter(|p| p.contains("careful reviewer"))
                .collect();
            assert!(critic_prompts[0].contains("No final answer was found"));
            assert!(critic_prompts[1].contains("Extracted final answer: 4"));
            assert!(out.state.verified());
        });
    }

    #[test]
    fn single_shot_makes_one_call_and_verifies() {
        rt().block_on(async {
            let model = Arc::new(ScriptedModel::in_order(["only answer"]));
            let out = single_shot_graph(cfg(model.clone()))
                .unwrap()
                .run(
                    RefineState::new("t", TaskKind::Text, 5),
                    RunOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(out.state.attempts.len(), 1);
            assert_eq!(model.requests().len(), 1);
            assert_eq!(out.state.best().unwrap().answer, "only answer");
        });
    }

    #[test]
    fn stops_as_soon_as_the_critic_accepts() {
        rt().block_on(async {
            let model = Arc::new(ScriptedModel::in_order(["a1", "fine\nVERDICT: CORRECT"]));
            let g = self_refine_graph(cfg(model.clone())).unwrap();
            let out = g
                .run(
                    RefineState::new("t", TaskKind::Text, 5),
                    RunOptions::default(),
                )
                .await
                .unwrap();
            assert!(out.stop.is_finished());
            assert_eq!(out.state.attempts.len(), 1);
            assert_eq!(model.requests().len(), 2);
        });
    }

    #[test]
    fn malformed_critique_counts_as_unverified_and_refines() {
        rt().block_on(async {
            let model = Arc::new(ScriptedModel::in_order([
                "a1",
                "no verdict here",
                "a2",
                "VERDICT: CORRECT",
            ]));
            let g = self_refine_graph(cfg(model)).unwrap();
            let out = g
                .run(
                    RefineState::new("t", TaskKind::Text, 5),
                    RunOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(out.state.attempts[0].verdict, Some(Verdict::Malformed));
            assert_eq!(out.state.best().unwrap().answer, "a2");
        });
    }

    #[test]
    fn round_limit_and_call_budget_return_the_latest_answer() {
        rt().block_on(async {
            let model = Arc::new(
                ScriptedModel::new()
                    .with_rule(|r| r.messages[0].content.contains("reviewer"), |_| "VERDICT: INCORRECT")
                    .with_rule(|_| true, |r| format!("answer {}", r.messages[0].content.len())),
            );
            let g = self_refine_graph(cfg(model.clone())).unwrap();
            let out = g
                .run(
                    RefineState::new("t", TaskKind::Text, 3),
                    RunOptions::default(),
                )
                .await
                .unwrap();
            assert!(out.stop.is_finished());
            assert_eq!(out.state.attempts.len(), 3);
            assert!(!out.state.verified());

            let out = g
                .run(
                    RefineState::new("t", TaskKind::Text, 10),
                    RunOptions::default().with_budget(Budget::unlimited().with_model_calls(5)),
                )
                .await
                .unwrap();
            assert!(
                matches!(out.stop, StopReason::Budget { exhausted } if exhausted.kind == BudgetKind::ModelCalls)
            );
            assert_eq!(out.state.attempts.len(), 3, "actor, refiner, refiner");
            assert!(out.state.best().is_some());
        });
    }
}
