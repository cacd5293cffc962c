//! The [`Verifier`] trait: a check that runs on every attempt before anyone
//! critiques or selects it, and the built-in verifiers that implement it.
//!
//! A verifier gets the task and the attempt ([`VerifyInput`]) and the node's
//! context (for model calls, events and tool-call records, all counted
//! against the run's budget) and returns [`Evidence`]: passed/total,
//! feedback text for the critic and refiner, and details. Every strategy
//! (self-refine, Reflexion, best-of-n) runs the same verifier, so a check of
//! your own plugs into all of them:
//!
//! ```
//! use hone_agents::prelude::*;
//!
//! /// Accepts answers that parse as JSON.
//! struct JsonValid;
//!
//! impl Verifier for JsonValid {
//!     fn name(&self) -> &str {
//!         "json_valid"
//!     }
//!
//!     async fn verify(&self, input: VerifyInput<'_>, _ctx: &NodeContext) -> Result<Option<Evidence>, NodeError> {
//!         let text = extract_code(&input.attempt.answer);
//!         Ok(Some(match serde_json::from_str::<serde_json::Value>(&text) {
//!             Ok(_) => Evidence::decided(self.name(), 1, 1, "valid JSON"),
//!             Err(e) => Evidence::decided(self.name(), 0, 1, format!("not JSON: {e}")),
//!         }))
//!     }
//! }
//! # let _ = SharedVerifier::new(JsonValid);
//! ```
//!
//! No `async-trait` is needed: `verify` is a plain `async fn`. Strategies
//! hold verifiers as [`SharedVerifier`], a cheap-to-clone handle.
//!
//! Built in (chosen by task kind when no verifier is configured, see
//! [`TaskVerifier`]):
//!
//! - [`PublicTests`]: code runs against the task's public tests in the Wasm
//!   sandbox; every test passing verifies it. Execution outranks opinion.
//! - [`FinalAnswer`]: the final answer of a math solution (`FINAL ANSWER:`,
//!   `\boxed{}`, `####`, last line), as information for the critic.
//!   Equivalence with a reference is decided only after the search (the
//!   reference, like hidden tests, never enters the state).
//! - [`RequirementChecklist`]: one model call grades a design document
//!   requirement by requirement (`R1: MET — evidence`); every requirement
//!   met verifies it.
//!
//! A verifier never fails a run because of what a model wrote: a checklist
//! with missing lines marks those requirements unmet and counts them as
//! malformed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hone_core::graph::{NodeContext, NodeError};
use hone_core::templates::{TemplateError, Templates};
use hone_core::LanguageModel;
use hone_tools::{Harness, TestSuite};

use crate::checklist::{parse_checklist, CHECKLIST};
use crate::evidence::Evidence;
use crate::refine::{ask_model, extract_code, Attempt, RefineConfig, TaskKind};
use crate::verify::run_public_tests;

/// The verifier name of [`FinalAnswer`]'s evidence and its details key.
pub(crate) const FINAL_ANSWER: &str = "final_answer";

/// What a verifier sees: the task and the attempt to check.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// The task, as the actor saw it.
    pub task: &'a str,
    /// Its kind.
    pub kind: TaskKind,
    /// The attempt to check.
    pub attempt: &'a Attempt,
    /// 1-based number of the attempt (or sample) in the run, for events.
    pub round: usize,
    /// The task's public tests, for code tasks that have them.
    pub public_tests: Option<&'a TestSuite>,
    /// The requirements a design brief states.
    pub requirements: &'a [String],
}

/// A check run on every attempt. See the [module docs](self).
pub trait Verifier: Send + Sync + 'static {
    /// A short name, recorded in the evidence and in events.
    fn name(&self) -> &str;

    /// Checks `input.attempt`. `Ok(None)` means there was nothing to check
    /// (the critic's verdict decides); `Err` fails the step (a budget that
    /// ran out arrives here as an error too, and strategies treat it as
    /// "stop and keep the best so far").
    fn verify(
        &self,
        input: VerifyInput<'_>,
        ctx: &NodeContext,
    ) -> impl Future<Output = Result<Option<Evidence>, NodeError>> + Send;
}

type EvidenceFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Evidence>, NodeError>> + Send + 'a>>;

/// The object-safe form of [`Verifier`], implemented for every verifier.
trait ErasedVerifier: Send + Sync {
    fn erased_name(&self) -> &str;
    fn verify_boxed<'a>(
        &'a self,
        input: VerifyInput<'a>,
        ctx: &'a NodeContext,
    ) -> EvidenceFuture<'a>;
}

impl<V: Verifier> ErasedVerifier for V {
    fn erased_name(&self) -> &str {
        self.name()
    }

    fn verify_boxed<'a>(
        &'a self,
        input: VerifyInput<'a>,
        ctx: &'a NodeContext,
    ) -> EvidenceFuture<'a> {
        Box::pin(self.verify(input, ctx))
    }
}

/// A shared handle to any [`Verifier`]; cloning it is cheap.
#[derive(Clone)]
pub struct SharedVerifier(Arc<dyn ErasedVerifier>);

impl SharedVerifier {
    /// Wraps `verifier`.
    pub fn new(verifier: impl Verifier) -> Self {
        SharedVerifier(Arc::new(verifier))
    }
}

impl std::fmt::Debug for SharedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedVerifier")
            .field(&self.0.erased_name())
            .finish()
    }
}

impl Verifier for SharedVerifier {
    fn name(&self) -> &str {
        self.0.erased_name()
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        self.0.verify_boxed(input, ctx).await
    }
}

/// Runs code against public tests in the Wasm sandbox: the task's own
/// ([`VerifyInput::public_tests`]) or a suite given here. Verified only
/// when every test ran and passed and the host's own score of the program
/// agrees (see [`Harness::run_python`]).
#[derive(Clone)]
pub struct PublicTests {
    harness: Arc<Harness>,
    suite: Option<TestSuite>,
}

impl PublicTests {
    /// Runs the task's public tests with `harness`.
    pub fn new(harness: Arc<Harness>) -> Self {
        PublicTests {
            harness,
            suite: None,
        }
    }

    /// Runs `suite` instead of the task's public tests.
    pub fn with_suite(mut self, suite: TestSuite) -> Self {
        self.suite = Some(suite);
        self
    }
}

impl Verifier for PublicTests {
    fn name(&self) -> &str {
        "public_tests"
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        let Some(suite) = self.suite.as_ref().or(input.public_tests) else {
            return Ok(None);
        };
        let code = extract_code(&input.attempt.answer);
        let outcome = run_public_tests(ctx, &self.harness, &code, suite).await?;
        Ok(Some(
            Evidence::decided(
                self.name(),
                outcome.passed,
                outcome.total,
                &outcome.feedback,
            )
            .with_verdict(outcome.all_passed()),
        ))
    }
}

/// Reads the final answer of a math solution, for the critic; the critic's
/// verdict still decides. The answer is in the evidence's details under
/// `final_answer` (empty when none was found) and in
/// [`Attempt::final_answer`].
#[derive(Debug, Clone)]
pub struct FinalAnswer {
    templates: Arc<Templates>,
}

impl Default for FinalAnswer {
    /// With the embedded templates.
    fn default() -> Self {
        FinalAnswer::new(Arc::new(crate::templates::embedded()))
    }
}

impl Verifier for FinalAnswer {
    fn name(&self) -> &str {
        FINAL_ANSWER
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        _ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        Ok(Some(self.read(&input.attempt.answer)?))
    }
}

impl FinalAnswer {
    /// Reads final answers, wording feedback with `templates`
    /// (`final_answer_feedback.j2`).
    pub fn new(templates: Arc<Templates>) -> Self {
        FinalAnswer { templates }
    }

    /// The evidence for a math solution `answer`: its final answer in the
    /// details, and feedback that says how it was found.
    ///
    /// ```
    /// use hone_agents::verifier::FinalAnswer;
    /// use hone_agents::refine::Attempt;
    /// let answer = "2 + 2 = 4\nFINAL ANSWER: 4";
    /// let attempt = Attempt::new(answer).with_evidence(FinalAnswer::default().read(answer).unwrap());
    /// assert_eq!(attempt.final_answer(), Some("4"));
    /// ```
    pub fn read(&self, answer: &str) -> Result<Evidence, TemplateError> {
        let extracted = hone_tools::answer::extract_final_answer(answer).unwrap_or_default();
        let feedback = self.templates.render(
            "final_answer_feedback.j2",
            serde_json::json!({
                "extracted": extracted,
                "marked": has_final_answer_marker(answer),
            }),
        )?;
        Ok(Evidence::informative(FINAL_ANSWER, feedback)
            .with_details(serde_json::json!({ FINAL_ANSWER: extracted })))
    }
}

/// Whether a math answer marks its final answer explicitly
/// (`FINAL ANSWER:`, `\boxed{}` or `####`) rather than leaving it to the
/// last line.
fn has_final_answer_marker(answer: &str) -> bool {
    let upper = answer.to_ascii_uppercase();
    upper.contains("FINAL ANSWER") || answer.contains("\\boxed") || answer.contains("####")
}

/// Grades a design document against the brief's requirements with one
/// model call (`design_checklist.j2`). Every requirement met verifies it;
/// requirements without a parsable verdict are unmet and counted as
/// malformed in the details.
#[derive(Clone)]
pub struct RequirementChecklist {
    model: Arc<dyn LanguageModel>,
    templates: Arc<Templates>,
    temperature: f32,
    max_tokens: u32,
}

impl RequirementChecklist {
    /// Grades with `model`, templates from `templates`, at temperature 0 and
    /// 768 tokens.
    pub fn new(model: Arc<dyn LanguageModel>, templates: Arc<Templates>) -> Self {
        RequirementChecklist {
            model,
            templates,
            temperature: 0.0,
            max_tokens: 768,
        }
    }

    /// The critic model and sampling settings of `cfg`.
    pub fn from_config(cfg: &RefineConfig) -> Self {
        RequirementChecklist {
            model: cfg.critic.clone(),
            templates: cfg.templates.clone(),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
        }
    }
}

impl Verifier for RequirementChecklist {
    fn name(&self) -> &str {
        CHECKLIST
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        if input.requirements.is_empty() {
            return Ok(None);
        }
        let prompt = self.templates.prompt(
            "design_checklist.j2",
            serde_json::json!({
                "task": input.task,
                "answer": input.attempt.answer,
                "requirements": input.requirements,
            }),
        )?;
        let reply = ask_model(
            ctx,
            &*self.model,
            prompt,
            self.temperature,
            self.max_tokens,
            0,
        )
        .await?;
        let checklist = parse_checklist(&reply, input.requirements);
        Ok(Some(checklist.into_evidence()))
    }
}

/// The verifier a task gets when none is configured, chosen by its kind:
/// [`PublicTests`] for code (when the run has a sandbox harness),
/// [`FinalAnswer`] for math, [`RequirementChecklist`] for design, nothing
/// for text. Adding a task kind means adding its arm here.
#[derive(Clone)]
pub struct TaskVerifier {
    public_tests: Option<PublicTests>,
    final_answer: FinalAnswer,
    checklist: RequirementChecklist,
}

impl TaskVerifier {
    /// The built-in verifiers, configured from `cfg`.
    pub fn from_config(cfg: &RefineConfig) -> Self {
        TaskVerifier {
            public_tests: cfg.harness.clone().map(PublicTests::new),
            final_answer: FinalAnswer::new(cfg.templates.clone()),
            checklist: RequirementChecklist::from_config(cfg),
        }
    }
}

impl Verifier for TaskVerifier {
    fn name(&self) -> &str {
        "task"
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        match input.kind {
            TaskKind::Code => match (&self.public_tests, input.public_tests) {
                (_, None) => Ok(None),
                (Some(tests), Some(_)) => tests.verify(input, ctx).await,
                (None, Some(_)) => Err(NodeError::failed(
                    "the task has public tests but no sandbox harness is configured",
                )),
            },
            TaskKind::Math => self.final_answer.verify(input, ctx).await,
            TaskKind::Design => self.checklist.verify(input, ctx).await,
            TaskKind::Text => Ok(None),
        }
    }
}
