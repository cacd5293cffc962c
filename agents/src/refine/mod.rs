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
use hone_core::templates::{Prompt, Templates};
use hone_core::{ChatRequest, LanguageModel, Message, ResponseFormat};
pub use hone_tools::TestOutcome;
use hone_tools::{Harness, TestSuite};
use serde::{Deserialize, Serialize};

use crate::checklist::Checklist;
use crate::evidence::Evidence;
use crate::roles::{Actor, Critic, Verify};
use crate::verifier::{SharedVerifier, Verifier, FINAL_ANSWER};

mod config;
mod parse;
mod state;

pub(crate) use config::{ask_model, complete, complete_as, Turns};
pub use config::{CriticPolicy, RefineConfig};
pub use parse::{extract_code, parse_verdict};
pub use state::{Attempt, RefineState, TaskKind, Verdict};

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
/// use hone_core::{graph::RunOptions, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order(["2 + 2 = 4\nFINAL ANSWER: 4"]));
/// let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_max_tokens(256);
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
/// Under [`CriticPolicy::WhenUnchecked`] an attempt that failed its checks
/// skips the critic: `verify` → `refiner`.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::refine::{self_refine_graph, RefineConfig, RefineState, TaskKind};
/// use hone_core::{graph::RunOptions, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order([
///     "x = 3",                          // actor
///     "Step 1 is wrong.\nVERDICT: INCORRECT", // critic
///     "x = 4",                          // refiner
///     "All good.\nVERDICT: CORRECT",    // critic
/// ]));
/// let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_max_tokens(256);
/// let graph = self_refine_graph(cfg).unwrap();
/// let out = graph.run(RefineState::new("Solve x + 1 = 5", TaskKind::Math, 4), RunOptions::default()).await.unwrap();
/// assert!(out.state.verified());
/// assert_eq!(out.state.best().unwrap().answer, "x = 4");
/// # });
/// ```
pub fn self_refine_graph(cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
    let policy = cfg.critic_policy;
    GraphBuilder::new("self-refine")
        .node("actor", Actor::first(cfg.clone()))
        .edge("actor", "verify")
        .node("verify", Verify::new(cfg.clone()))
        .router("verify", &["critic", "refiner"], move |s: &RefineState| {
            let checked = s.attempts.last().is_some_and(Attempt::checked);
            if verified_by_check(s) {
                Route::End
            } else if policy == CriticPolicy::WhenUnchecked && checked {
                if s.attempts.len() as u32 >= s.max_rounds {
                    Route::End
                } else {
                    Route::to("refiner")
                }
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
mod tests;
