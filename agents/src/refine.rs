//! The self-refine strategy: actor → critic → (refiner → critic)* until the
//! answer is verified or the round or model-call budget runs out.
//!
//! For code tasks with public tests, a `verify` node runs the tests in the
//! Wasm sandbox after every attempt: all public tests passing verifies the
//! answer (execution outranks opinion), and otherwise the test report is the
//! evidence the critic and the refiner work from. Hidden tests never enter
//! the state.
//!
//! The critic must end its critique with `VERDICT: CORRECT` or
//! `VERDICT: INCORRECT`. A critique without a verdict line is not a crash: it
//! counts as "not verified", is recorded as a malformed critique, and the loop
//! refines again.

use std::sync::Arc;

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};
use hone_tools::{Harness, TestSuite};
use serde::{Deserialize, Serialize};

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

/// One answer and its critique.
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
    /// Public-test results, for code with tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestOutcome>,
}

/// The public-test result of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// Tests passed.
    pub passed: usize,
    /// Tests run.
    pub total: usize,
    /// Compact feedback for the models (failures, expected vs actual, traceback).
    pub feedback: String,
}

impl TestOutcome {
    /// Whether every test passed (and there was at least one).
    pub fn all_passed(&self) -> bool {
        self.total > 0 && self.passed == self.total
    }
}

impl Attempt {
    fn new(answer: String) -> Self {
        Attempt {
            answer,
            critique: None,
            verdict: None,
            tests: None,
        }
    }

    /// Whether this attempt is verified: all public tests pass when it was
    /// tested, else the critic accepted it.
    pub fn verified(&self) -> bool {
        match &self.tests {
            Some(t) => t.all_passed(),
            None => self.verdict == Some(Verdict::Correct),
        }
    }

    fn score(&self) -> (bool, u64) {
        let fraction = self
            .tests
            .as_ref()
            .map(|t| (t.passed as u64 * 1_000_000) / t.total.max(1) as u64)
            .unwrap_or(0);
        (self.verified(), fraction)
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
            attempts: Vec::new(),
        }
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

    /// The best answer so far: verified beats unverified, then the higher
    /// public-test pass fraction; among equals, the latest.
    pub fn best(&self) -> Option<&Attempt> {
        self.best_index().map(|i| &self.attempts[i])
    }

    /// Index of [`RefineState::best`] in `attempts`.
    pub fn best_index(&self) -> Option<usize> {
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
    /// Runs public tests of code tasks; required when the state has tests.
    pub harness: Option<Arc<Harness>>,
}

async fn complete(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: String,
    cfg: &RefineConfig,
) -> Result<String, NodeError> {
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_temperature(cfg.temperature)
        .with_max_tokens(cfg.max_tokens);
    let response = ctx.chat(model, &request).await?;
    Ok(response.first_text().trim().to_string())
}

/// What the templates see: the task, its kind and, once there is one, the
/// latest attempt with its critique and public-test feedback.
fn prompt_context(s: &RefineState) -> serde_json::Value {
    let mut context = serde_json::json!({"task": s.task, "kind": s.kind});
    if let Some(last) = s.attempts.last() {
        context["answer"] = last.answer.clone().into();
        context["critique"] = last.critique.clone().unwrap_or_default().into();
        context["tests"] = last.tests.as_ref().map(|t| t.feedback.clone()).into();
    }
    context
}

/// Asks the actor model for a new attempt with `template` (first answer or
/// refinement) and appends it.
async fn propose(
    mut s: RefineState,
    ctx: NodeContext,
    cfg: RefineConfig,
    template: &'static str,
) -> Result<RefineState, NodeError> {
    let prompt = cfg.templates.render(template, prompt_context(&s))?;
    let answer = complete(&ctx, &*cfg.actor, prompt, &cfg).await?;
    ctx.emit(
        "attempt",
        serde_json::json!({"round": s.attempts.len() + 1, "answer": answer}),
    );
    s.attempts.push(Attempt::new(answer));
    Ok(s)
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
/// let cfg = RefineConfig { actor: model.clone(), critic: model, templates: Arc::new(Templates::embedded()), temperature: 0.0, max_tokens: 256, harness: None };
/// let graph = self_refine_graph(cfg).unwrap();
/// let out = graph.run(RefineState::new("Solve x + 1 = 5", TaskKind::Math, 4), RunOptions::default()).await.unwrap();
/// assert!(out.state.verified());
/// assert_eq!(out.state.best().unwrap().answer, "x = 4");
/// # });
/// ```
pub fn self_refine_graph(cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
    let (c1, c2, c3, c4) = (cfg.clone(), cfg.clone(), cfg.clone(), cfg);
    GraphBuilder::new("self-refine")
        .node(
            "actor",
            node_fn(move |s: RefineState, ctx: NodeContext| {
                propose(s, ctx, c1.clone(), "refine_actor.j2")
            }),
        )
        .edge("actor", "verify")
        .node(
            "verify",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = c4.clone();
                async move {
                    let Some(suite) = s.public_tests.clone() else {
                        return Ok(s);
                    };
                    let Some(harness) = cfg.harness.clone() else {
                        return Err(NodeError::failed(
                            "the task has public tests but no sandbox harness is configured",
                        ));
                    };
                    let round = s.attempts.len();
                    let Some(last) = s.attempts.last_mut() else {
                        return Err(NodeError::failed("verify ran before any attempt"));
                    };
                    let code = extract_code(&last.answer);
                    let started = std::time::Instant::now();
                    let report = harness
                        .run_python(&code, &suite)
                        .await
                        .map_err(|e| NodeError::failed(format!("running the public tests: {e}")))?;
                    let outcome = TestOutcome {
                        passed: report.passed(),
                        total: report.total(),
                        feedback: report.feedback(3),
                    };
                    ctx.record_tool_call(
                        "public_tests",
                        outcome.all_passed(),
                        started.elapsed(),
                        &format!("{}/{} passed", outcome.passed, outcome.total),
                    );
                    ctx.emit(
                        "tests",
                        serde_json::json!({
                            "round": round,
                            "passed": outcome.passed,
                            "total": outcome.total,
                            "feedback": outcome.feedback,
                        }),
                    );
                    last.tests = Some(outcome);
                    Ok(s)
                }
            }),
        )
        .router("verify", &["critic"], |s: &RefineState| {
            let passed = s
                .attempts
                .last()
                .and_then(|a| a.tests.as_ref())
                .is_some_and(TestOutcome::all_passed);
            if passed {
                Route::End
            } else {
                Route::to("critic")
            }
        })
        .node(
            "critic",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = c2.clone();
                async move {
                    let prompt = cfg
                        .templates
                        .render("refine_critic.j2", prompt_context(&s))?;
                    let critique = complete(&ctx, &*cfg.critic, prompt, &cfg).await?;
                    let verdict = parse_verdict(&critique);
                    ctx.emit(
                        "critique",
                        serde_json::json!({"round": s.attempts.len(), "verdict": verdict, "critique": critique}),
                    );
                    if let Some(last) = s.attempts.last_mut() {
                        last.critique = Some(critique);
                        last.verdict = Some(verdict);
                    }
                    Ok(s)
                }
            }),
        )
        .router("critic", &["refiner"], |s: &RefineState| {
            if s.verified() || s.attempts.len() as u32 >= s.max_rounds {
                Route::End
            } else {
                Route::to("refiner")
            }
        })
        .node(
            "refiner",
            node_fn(move |s: RefineState, ctx: NodeContext| {
                propose(s, ctx, c3.clone(), "refine_refiner.j2")
            }),
        )
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
        RefineConfig {
            actor: model.clone(),
            critic: model,
            templates: Arc::new(Templates::embedded()),
            temperature: 0.0,
            max_tokens: 64,
            harness: None,
        }
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
            let mut a = Attempt::new(format!("{passed}/{total}"));
            a.tests = Some(TestOutcome {
                passed,
                total,
                feedback: String::new(),
            });
            a
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
        let mut accepted = Attempt::new("ok".into());
        accepted.verdict = Some(Verdict::Correct);
        let mut rejected = Attempt::new("later".into());
        rejected.verdict = Some(Verdict::Incorrect);
        critic_only.attempts = vec![accepted, rejected];
        assert_eq!(critic_only.best().unwrap().answer, "ok");
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
