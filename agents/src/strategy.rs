//! Builders for every strategy: pick a model, a verifier and a budget, then
//! run a [`Task`].
//!
//! ```
//! use std::sync::Arc;
//! use hone_agents::prelude::*;
//! use hone_core::ScriptedModel;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let model = Arc::new(ScriptedModel::in_order([
//!     "x = 3",                                 // actor
//!     "Step 1 is wrong.\nVERDICT: INCORRECT",  // critic
//!     "x = 4",                                 // refiner
//!     "All good.\nVERDICT: CORRECT",           // critic
//! ]));
//! let run = SelfRefine::builder(model)
//!     .max_rounds(4)
//!     .build()?
//!     .run(Task::math("Solve x + 1 = 5"), RunOptions::default())
//!     .await?;
//! assert_eq!(run.best().unwrap().answer, "x = 4");
//! # Ok::<(), AgentError>(()) }).unwrap();
//! ```
//!
//! Every builder shares the settings of [`RefineConfig`] (models, templates,
//! temperature, tokens, sandbox harness, verifier); each strategy adds its
//! own ([`BestOfN::builder`]'s `n`, [`Reflexion`]'s memory, RethinkMCTS's
//! [`MctsSettings`]). `build` checks the graph once; the [`Agent`] it returns
//! runs any number of tasks, and resumes a run from its log.

use std::path::Path;
use std::sync::Arc;

use hone_core::graph::{Graph, GraphError, RunOptions, RunOutcome, State};
use hone_core::templates::Templates;
use hone_core::LanguageModel;
use hone_tools::{Harness, TestSuite};
use tracing::Instrument;

use crate::best_of_n::{best_of_n_graph, BestOfN};
use crate::checklist::parse_requirements;
use crate::mcts::{rethink_mcts_graph, Candidate, MctsSettings, MctsState};
use crate::refine::{
    self_refine_graph, single_shot_graph, Attempt, RefineConfig, RefineState, TaskKind,
};
use crate::reflexion::reflexion_graph;
use crate::verifier::{SharedVerifier, Verifier};

/// Errors of building or running an agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The graph could not be built, or the run failed (a node error, a run
    /// log that could not be written or read).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The task does not fit the strategy (RethinkMCTS without public
    /// tests).
    #[error("{0}")]
    Task(String),
}

/// What to solve: the text, its kind, and the public tests or requirements
/// its verifier checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task as the actor sees it.
    pub text: String,
    /// Its kind (selects prompt variants and the built-in verifier).
    pub kind: TaskKind,
    /// Public tests of a code task (never hidden tests: whatever is here
    /// reaches the model as feedback).
    pub public_tests: Option<TestSuite>,
    /// Requirements a design document is checked against.
    pub requirements: Vec<String>,
}

impl Task {
    /// A task of `kind`.
    pub fn new(text: impl Into<String>, kind: TaskKind) -> Self {
        Task {
            text: text.into(),
            kind,
            public_tests: None,
            requirements: Vec::new(),
        }
    }

    /// Free text: an explanation, an answer the critic judges.
    pub fn text(text: impl Into<String>) -> Self {
        Task::new(text, TaskKind::Text)
    }

    /// A math problem with a final answer.
    pub fn math(text: impl Into<String>) -> Self {
        Task::new(text, TaskKind::Math)
    }

    /// A Python program; add public tests with [`Task::with_public_tests`].
    pub fn code(text: impl Into<String>) -> Self {
        Task::new(text, TaskKind::Code)
    }

    /// A design brief; the requirements it lists under a "Requirements:"
    /// heading are checked one by one.
    pub fn design(text: impl Into<String>) -> Self {
        let text = text.into();
        let requirements = parse_requirements(&text);
        Task {
            requirements,
            ..Task::new(text, TaskKind::Design)
        }
    }

    /// Adds public tests.
    pub fn with_public_tests(mut self, tests: TestSuite) -> Self {
        self.public_tests = Some(tests);
        self
    }

    /// Sets the requirements explicitly.
    pub fn with_requirements(mut self, requirements: Vec<String>) -> Self {
        self.requirements = requirements;
        self
    }
}

/// A strategy: the graph it builds and the state it starts from.
pub trait Strategy: Clone + Send + Sync + 'static {
    /// The state its graph runs on.
    type State: State;

    /// Builds the graph.
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<Self::State>, GraphError>;

    /// The initial state for `task`.
    fn initial(&self, task: Task, max_rounds: u32) -> Result<Self::State, AgentError>;

    /// Refuses a configuration the strategy cannot run with.
    fn check(&self, _cfg: &RefineConfig) -> Result<(), AgentError> {
        Ok(())
    }
}

/// Builds an [`Agent`] for strategy `K`; start from `SelfRefine::builder`,
/// `SingleShot::builder`, `Reflexion::builder`, `BestOfN::builder` or
/// `RethinkMcts::builder`.
#[derive(Clone)]
pub struct AgentBuilder<K> {
    cfg: RefineConfig,
    max_rounds: u32,
    strategy: K,
}

impl<K: Strategy> AgentBuilder<K> {
    fn new(model: impl LanguageModel + 'static, strategy: K) -> Self {
        AgentBuilder {
            cfg: RefineConfig::new(Arc::new(model), Arc::new(crate::templates::embedded())),
            max_rounds: 4,
            strategy,
        }
    }

    /// Uses `critic` for critiques, checklists and rubric grades (default:
    /// the actor's model).
    pub fn critic(mut self, critic: impl LanguageModel + 'static) -> Self {
        self.cfg.critic = Arc::new(critic);
        self
    }

    /// Uses these prompt templates (default: the embedded ones).
    pub fn templates(mut self, templates: Arc<Templates>) -> Self {
        self.cfg.templates = templates;
        self
    }

    /// Sampling temperature of every call (default 0).
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.cfg.temperature = temperature;
        self
    }

    /// Token limit per call (default 768).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.cfg.max_tokens = max_tokens;
        self
    }

    /// Runs public tests (and symbolic math checks) in this sandbox
    /// harness.
    pub fn harness(mut self, harness: Arc<Harness>) -> Self {
        self.cfg.harness = Some(harness);
        self
    }

    /// Checks every attempt with `verifier` instead of the task kind's
    /// built-in verifier.
    pub fn verifier(mut self, verifier: impl Verifier) -> Self {
        self.cfg.verifier = Some(SharedVerifier::new(verifier));
        self
    }

    /// Most answers per run: the first plus refinements, or Reflexion's
    /// trials (default 4; best-of-n and RethinkMCTS size their search with
    /// their own settings).
    pub fn max_rounds(mut self, max_rounds: u32) -> Self {
        self.max_rounds = max_rounds.max(1);
        self
    }

    /// When self-refine asks the critic (default: every unverified
    /// attempt; see [`CriticPolicy`](crate::refine::CriticPolicy)).
    pub fn critic_policy(mut self, policy: crate::refine::CriticPolicy) -> Self {
        self.cfg.critic_policy = policy;
        self
    }

    /// The temperature of a refinement after an attempt that repeated an
    /// earlier one, or `None` for none (see
    /// [`RefineConfig::stuck_temperature`]).
    pub fn stuck_temperature(mut self, temperature: Option<f32>) -> Self {
        self.cfg.stuck_temperature = temperature;
        self
    }

    /// Replaces the whole shared configuration.
    pub fn config(mut self, cfg: RefineConfig) -> Self {
        self.cfg = cfg;
        self
    }

    /// Builds the agent; fails when the strategy cannot run with these
    /// settings or the graph does not validate.
    pub fn build(self) -> Result<Agent<K>, AgentError> {
        self.strategy.check(&self.cfg)?;
        let graph = self.strategy.graph(self.cfg)?;
        Ok(Agent {
            graph,
            strategy: self.strategy,
            max_rounds: self.max_rounds,
        })
    }
}

/// A built strategy, ready to run tasks.
pub struct Agent<K: Strategy> {
    graph: Graph<K::State>,
    strategy: K,
    max_rounds: u32,
}

impl<K: Strategy> Agent<K> {
    /// Runs `task` to the end (or until `options`' budget stops it).
    pub async fn run(&self, task: Task, options: RunOptions) -> Result<Run<K::State>, AgentError> {
        let initial = self.strategy.initial(task, self.max_rounds)?;
        let span = tracing::info_span!("agent", hone.strategy = self.graph.name());
        Ok(Run(self
            .graph
            .run(initial, options)
            .instrument(span)
            .await?))
    }

    /// Continues the run checkpointed in `log` (a run log written with
    /// [`RunOptions::with_log`]) from its last completed step.
    pub async fn resume(
        &self,
        log: impl AsRef<Path>,
        options: RunOptions,
    ) -> Result<Run<K::State>, AgentError> {
        let span = tracing::info_span!(
            "agent",
            hone.strategy = self.graph.name(),
            hone.resumed = true
        );
        Ok(Run(self
            .graph
            .resume(log.as_ref(), options)
            .instrument(span)
            .await?))
    }

    /// The graph, to run or resume directly or to draw (`to_dot`).
    pub fn graph(&self) -> &Graph<K::State> {
        &self.graph
    }
}

/// How a run ended: the [`RunOutcome`] (dereferenced to), and the best
/// answer.
#[derive(Debug, Clone)]
pub struct Run<S>(pub RunOutcome<S>);

impl<S> std::ops::Deref for Run<S> {
    type Target = RunOutcome<S>;
    fn deref(&self) -> &RunOutcome<S> {
        &self.0
    }
}

impl<S> Run<S> {
    /// The outcome.
    pub fn into_outcome(self) -> RunOutcome<S> {
        self.0
    }
}

impl Run<RefineState> {
    /// The best attempt (see [`RefineState::best`]).
    pub fn best(&self) -> Option<&Attempt> {
        self.0.state.best()
    }
}

impl Run<MctsState> {
    /// The best program (see [`MctsState::best_program`]).
    pub fn best(&self) -> Option<&Candidate> {
        self.0.state.best_program()
    }
}

fn refine_state(task: Task, max_rounds: u32) -> RefineState {
    let mut state =
        RefineState::new(task.text, task.kind, max_rounds).with_requirements(task.requirements);
    state.public_tests = task.public_tests;
    state
}

/// Actor → verify, one answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleShot;

impl SingleShot {
    /// A single-shot agent on `model`.
    pub fn builder(model: impl LanguageModel + 'static) -> AgentBuilder<SingleShot> {
        AgentBuilder::new(model, SingleShot)
    }
}

impl Strategy for SingleShot {
    type State = RefineState;
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
        single_shot_graph(cfg)
    }
    fn initial(&self, task: Task, _max_rounds: u32) -> Result<RefineState, AgentError> {
        Ok(refine_state(task, 1))
    }
}

/// Actor → verify → critic → refiner … until verified or out of rounds
/// (see [`crate::refine`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SelfRefine;

impl SelfRefine {
    /// A self-refine agent on `model`.
    pub fn builder(model: impl LanguageModel + 'static) -> AgentBuilder<SelfRefine> {
        AgentBuilder::new(model, SelfRefine)
    }
}

impl Strategy for SelfRefine {
    type State = RefineState;
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
        self_refine_graph(cfg)
    }
    fn initial(&self, task: Task, max_rounds: u32) -> Result<RefineState, AgentError> {
        Ok(refine_state(task, max_rounds))
    }
}

/// Trials with verbal reflections in an episodic memory (see
/// [`crate::reflexion`]).
#[derive(Debug, Clone, Copy)]
pub struct Reflexion {
    /// Reflections the actor sees (the most recent ones).
    pub memory: usize,
}

impl Default for Reflexion {
    fn default() -> Self {
        Reflexion {
            memory: crate::reflexion::DEFAULT_MEMORY,
        }
    }
}

impl Reflexion {
    /// A Reflexion agent on `model`, remembering 3 reflections.
    pub fn builder(model: impl LanguageModel + 'static) -> AgentBuilder<Reflexion> {
        AgentBuilder::new(model, Reflexion::default())
    }
}

impl AgentBuilder<Reflexion> {
    /// Reflections the actor sees.
    pub fn memory(mut self, memory: usize) -> Self {
        self.strategy.memory = memory;
        self
    }
}

impl Strategy for Reflexion {
    type State = RefineState;
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
        reflexion_graph(cfg, self.memory)
    }
    fn initial(&self, task: Task, max_rounds: u32) -> Result<RefineState, AgentError> {
        Ok(refine_state(task, max_rounds))
    }
}

impl BestOfN {
    /// A best-of-n agent on `model`: a first answer at the run's
    /// temperature, then 3 samples at temperature 0.8.
    pub fn builder(model: impl LanguageModel + 'static) -> AgentBuilder<BestOfN> {
        AgentBuilder::new(model, BestOfN::default())
    }
}

impl AgentBuilder<BestOfN> {
    /// Samples to draw.
    pub fn n(mut self, n: usize) -> Self {
        self.strategy.n = n.max(1);
        self
    }

    /// Sampling temperature of the samples.
    pub fn sample_temperature(mut self, temperature: f32) -> Self {
        self.strategy.temperature = temperature;
        self
    }

    /// Whether the first sample is drawn at the run's temperature (default)
    /// or sampled like the others (see [`BestOfN::greedy_first`]).
    pub fn greedy_first(mut self, greedy_first: bool) -> Self {
        self.strategy.greedy_first = greedy_first;
        self
    }
}

impl Strategy for BestOfN {
    type State = RefineState;
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
        best_of_n_graph(cfg, *self)
    }
    fn initial(&self, task: Task, _max_rounds: u32) -> Result<RefineState, AgentError> {
        Ok(refine_state(task, 1))
    }
}

/// RethinkMCTS: tree search over thoughts, for code tasks with public tests
/// (see [`crate::mcts`]).
#[derive(Debug, Clone, Default)]
pub struct RethinkMcts {
    /// Search settings; the defaults are the reference implementation's.
    pub settings: MctsSettings,
}

impl RethinkMcts {
    /// A RethinkMCTS agent on `model`. It needs a sandbox harness
    /// ([`AgentBuilder::harness`]) to run the public tests.
    pub fn builder(model: impl LanguageModel + 'static) -> AgentBuilder<RethinkMcts> {
        AgentBuilder::new(model, RethinkMcts::default())
    }
}

impl AgentBuilder<RethinkMcts> {
    /// Replaces the search settings.
    pub fn settings(mut self, settings: MctsSettings) -> Self {
        self.strategy.settings = settings;
        self
    }
}

impl Strategy for RethinkMcts {
    type State = MctsState;
    fn graph(&self, cfg: RefineConfig) -> Result<Graph<MctsState>, GraphError> {
        rethink_mcts_graph(cfg)
    }
    fn initial(&self, task: Task, _max_rounds: u32) -> Result<MctsState, AgentError> {
        let Some(tests) = task.public_tests else {
            return Err(AgentError::Task(
                "RethinkMCTS searches with public tests: give the task some (Task::with_public_tests)"
                    .into(),
            ));
        };
        Ok(MctsState::new(task.text, tests, self.settings.clone()))
    }
    fn check(&self, cfg: &RefineConfig) -> Result<(), AgentError> {
        if cfg.harness.is_none() {
            return Err(AgentError::Task(
                "RethinkMCTS runs the public tests in the sandbox: give the builder a harness"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::ScriptedModel;
    use hone_sandbox::{Sandbox, SandboxConfig};

    #[test]
    fn rethink_mcts_refuses_what_it_cannot_run() {
        let no_harness = RethinkMcts::builder(ScriptedModel::new()).build();
        assert!(
            matches!(&no_harness, Err(AgentError::Task(m)) if m.contains("harness")),
            "{:?}",
            no_harness.err()
        );
        let harness = Arc::new(Harness::new(Sandbox::new(SandboxConfig::default())));
        let agent = RethinkMcts::builder(ScriptedModel::new())
            .harness(harness)
            .build()
            .unwrap();
        let no_tests = agent.strategy.initial(Task::code("Write add(a, b)."), 4);
        assert!(matches!(no_tests, Err(AgentError::Task(m)) if m.contains("public tests")));
    }

    #[test]
    fn tasks_carry_what_their_verifier_checks() {
        let design = Task::design("Design a cache.\n\nRequirements:\n- LRU eviction\n- 1 GB max");
        assert_eq!(design.requirements, ["LRU eviction", "1 GB max"]);
        let state = SelfRefine.initial(design, 3).unwrap();
        assert_eq!((state.kind, state.max_rounds), (TaskKind::Design, 3));
        assert_eq!(state.requirements.len(), 2);
        let suite = TestSuite::Asserts {
            setup: String::new(),
            asserts: vec!["assert f() == 1".into()],
        };
        let code = SingleShot
            .initial(Task::code("f").with_public_tests(suite.clone()), 9)
            .unwrap();
        assert_eq!((code.public_tests, code.max_rounds), (Some(suite), 1));
    }

    #[tokio::test]
    async fn a_configured_verifier_replaces_the_built_in_one() {
        struct Nope;
        impl Verifier for Nope {
            fn name(&self) -> &str {
                "nope"
            }
            async fn verify(
                &self,
                _input: crate::verifier::VerifyInput<'_>,
                _ctx: &hone_core::graph::NodeContext,
            ) -> Result<Option<crate::evidence::Evidence>, hone_core::graph::NodeError>
            {
                Ok(Some(crate::evidence::Evidence::decided(
                    "nope", 0, 1, "never",
                )))
            }
        }
        // The critic accepts, but deciding evidence outranks it: every
        // round refines, and the run ends unverified at max_rounds.
        let model = ScriptedModel::new()
            .with_rule(
                |r| r.template.as_deref() == Some("refine_critic.j2"),
                |_| "VERDICT: CORRECT",
            )
            .with_rule(|_| true, |_| "FINAL ANSWER: 4");
        let run = SelfRefine::builder(model)
            .verifier(Nope)
            .max_rounds(2)
            .build()
            .unwrap()
            .run(Task::math("2 + 2?"), RunOptions::default())
            .await
            .unwrap();
        assert_eq!(run.state.attempts.len(), 2);
        let evidence = run.state.attempts[1].evidence.as_ref().expect("verified");
        assert_eq!(evidence.verifier, "nope");
        assert!(!run.best().unwrap().verified());
        assert_eq!(
            run.best().unwrap().final_answer(),
            None,
            "FinalAnswer did not run"
        );
    }
}
