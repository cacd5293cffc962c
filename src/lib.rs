//! # hone
//!
//! Critique-and-refine agents in Rust. An **actor** proposes, a
//! **verifier** checks, a **critic** names what is wrong, a **refiner**
//! fixes it — until the answer is verified or the budget runs out, and then
//! you still get the best answer so far and the reason. This crate is the
//! one to depend on: it re-exports hone's crates and adds model selection.
//!
//! ## A first agent
//!
//! ```no_run
//! use hone::prelude::*;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let model = Model::from_env()?; // an endpoint from the environment, else the embedded model
//! let run = SelfRefine::builder(model)
//!     .max_rounds(4)
//!     .build()?
//!     .run(Task::math("What is 17 * 23?"), RunOptions::default().with_log("run.jsonl"))
//!     .await?;
//! if let Some(best) = run.best() {
//!     println!("{} (verified: {})", best.answer, best.verified());
//! }
//! # Ok(()) }
//! ```
//!
//! Every step is checkpointed to `run.jsonl`; after a crash,
//! [`Agent::resume`](agents::strategy::Agent::resume) continues from the last
//! completed step with identical results.
//!
//! ## Your own check
//!
//! A [`Verifier`](agents::verifier::Verifier) runs on every attempt and
//! returns [`Evidence`](agents::evidence::Evidence): passed/total and
//! feedback the critic and refiner work from. Evidence that decides (a
//! test, a schema) outranks the critic's opinion.
//!
//! ```
//! use hone::prelude::*;
//!
//! struct NoTodo;
//!
//! impl Verifier for NoTodo {
//!     fn name(&self) -> &str {
//!         "no_todo"
//!     }
//!     async fn verify(&self, input: VerifyInput<'_>, _ctx: &NodeContext) -> Result<Option<Evidence>, NodeError> {
//!         let todos = input.attempt.answer.matches("TODO").count();
//!         Ok(Some(Evidence::decided(self.name(), usize::from(todos == 0), 1, format!("{todos} TODO markers left"))))
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let model = Model::new(ScriptedModel::in_order([
//!     "fn main() { /* TODO */ }",             // actor
//!     "Unfinished.\nVERDICT: INCORRECT",      // critic
//!     "fn main() { println!(\"hi\"); }",      // refiner
//! ]));
//! let run = SelfRefine::builder(model).verifier(NoTodo).build()?
//!     .run(Task::text("Write a Rust hello world."), RunOptions::default()).await?;
//! assert!(run.best().unwrap().verified());
//! # Ok::<(), AgentError>(()) }).unwrap();
//! ```
//!
//! ## Strategies
//!
//! [`SingleShot`](agents::strategy::SingleShot),
//! [`SelfRefine`](agents::strategy::SelfRefine),
//! [`Reflexion`](agents::strategy::Reflexion),
//! [`BestOfN`](agents::best_of_n::BestOfN) and
//! [`RethinkMcts`](agents::strategy::RethinkMcts) share one builder
//! ([`AgentBuilder`](agents::strategy::AgentBuilder)); each adds its own
//! settings. Code tasks run their public tests in a Wasm sandbox
//! ([`Harness`](tools::Harness)).
//!
//! ## Observability
//!
//! Every run, node, model call, verification and tool call is a `tracing`
//! span with the OpenTelemetry GenAI attributes;
//! [`Telemetry::init`](telemetry::Telemetry::init) exports them over OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the `hone` binary does this).
//!
//! ## The crates underneath
//!
//! - [`core`]: messages, the [`LanguageModel`](core::LanguageModel) trait,
//!   backends, the response cache, budgets, templates and the graph runtime.
//! - [`agents`]: roles, verifiers and strategies.
//! - [`tools`]: the test harness, answer checking, execution traces.
//! - [`sandbox`]: the Wasm sandbox (Python and JavaScript guests).
//! - [`bench`](mod@bench): benchmark suites, resumable sharded runs, intervals and
//!   paired comparisons (`hone bench`).
//! - [`review`](mod@review): the code-review bot (`hone review`): findings
//!   anchored to the diff by hone, tested in the sandbox, scored by a critic
//!   (`examples/review_diff.rs`).
//! - `local` (feature `local`, on by default): the embedded llama.cpp model.

#![warn(missing_docs)]

pub use hone_agents as agents;
pub use hone_bench as bench;
pub use hone_core as core;
#[cfg(feature = "local")]
pub use hone_local as local;
pub use hone_review as review;
pub use hone_sandbox as sandbox;
pub use hone_tools as tools;

pub mod model;
pub mod telemetry;

/// The JSON-schema crate tool arguments derive with: write
/// `#[derive(JsonSchema)] #[schemars(crate = "hone::schemars")]` to derive
/// without a dependency of your own.
pub use hone_agents::tool::schemars;

pub use model::{Model, ModelSettings, ModelSetupError};

/// Everything a pipeline usually needs: `use hone::prelude::*;`.
pub mod prelude {
    pub use crate::model::{Model, ModelSettings, ModelSetupError};
    pub use hone_agents::prelude::*;
    pub use hone_agents::tool::JsonSchema;
    pub use hone_core::ScriptedModel;
    pub use hone_sandbox::{Sandbox, SandboxConfig};
    pub use hone_tools::Harness;
}
