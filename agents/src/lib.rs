//! # hone-agents
//!
//! Agent roles and search strategies built on [`hone_core`]'s graph runtime:
//!
//! - [`strategy`]: a builder per strategy, and [`Task`](strategy::Task).
//! - [`roles`]: actor, verify, critic and reflect as graph nodes, to
//!   compose graphs of your own.
//! - [`refine`]: the shared state of linear strategies, single-shot and
//!   self-refine (actor → verify → critic → refiner).
//! - [`reflexion`]: trials with verbal reflections in an episodic memory.
//! - [`best_of_n`]: n samples, verifier selection.
//! - [`mcts`]: RethinkMCTS, tree search over thoughts with rethinking.
//! - [`verifier`]: the [`Verifier`](verifier::Verifier) trait and the
//!   built-in verifiers (public tests in the sandbox, math final answers,
//!   design checklists); [`evidence`]: what they return.
//! - [`verify`]: the `verify` step every strategy shares.
//! - [`checklist`]: design requirements and their verdicts.
//! - [`events`]: [`AgentEvent`](events::AgentEvent), the typed stream of
//!   what agents do (attempts, evidence, critiques, tree growth…).
//! - [`templates`]: the prompt templates, embedded from `templates/*.j2`.
//! - [`outcome`]: what a finished run comes to ([`RunSummary`](outcome::RunSummary)),
//!   and the after-search scores on hidden tests and references.
//! - [`header`]: the run-log header a resume rebuilds a run from.
//! - [`judge`]: the rubric critic and the order-swapping pairwise judge.
//! - [`tool`]: the [`Tool`](tool::Tool) trait for model tool calling, and
//!   [`tool_agent`]: the loop that runs the calls.
//!
//! `use hone_agents::prelude::*;` brings in what a pipeline needs.

#![warn(missing_docs)]

pub mod best_of_n;
pub mod checklist;
pub mod events;
pub mod evidence;
pub mod header;
pub mod judge;
pub mod mcts;
pub mod outcome;
pub mod refine;
pub mod reflexion;
pub mod roles;
pub mod strategy;
pub mod templates;
pub mod tool;
pub mod tool_agent;
pub mod verifier;
pub mod verify;

/// The types most pipelines use, for a glob import.
pub mod prelude {
    pub use crate::best_of_n::BestOfN;
    pub use crate::events::AgentEvent;
    pub use crate::evidence::Evidence;
    pub use crate::mcts::{MctsSettings, MctsState};
    pub use crate::refine::{extract_code, Attempt, RefineConfig, RefineState, TaskKind, Verdict};
    pub use crate::strategy::{
        Agent, AgentBuilder, AgentError, Reflexion, RethinkMcts, Run, SelfRefine, SingleShot, Task,
    };
    pub use crate::tool::{Tool, Toolbox};
    pub use crate::tool_agent::{ToolAgent, ToolState};
    pub use crate::verifier::{
        FinalAnswer, PublicTests, RequirementChecklist, SharedVerifier, TaskVerifier, Verifier,
        VerifyInput,
    };
    pub use hone_core::graph::{NodeContext, NodeError, RunOptions, StopReason};
    pub use hone_core::{Budget, LanguageModel};
    pub use hone_tools::TestSuite;
}
