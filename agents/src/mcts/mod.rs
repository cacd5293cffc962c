//! RethinkMCTS: Monte Carlo tree search over thoughts for code, with
//! erroneous thoughts rewritten from execution feedback.
//!
//! The protocol follows the reference implementation of "RethinkMCTS:
//! Refining Erroneous Thoughts in Monte Carlo Tree Search for Code
//! Generation" as the brief states it:
//!
//! - A **decision node** is a state: the problem plus the thoughts on its
//!   path. A **chance node** is one thought with a prior `P` (the model's
//!   "reasonableness", normalised so siblings sum to 1) and the returns
//!   sampled through it. Code is never a node: it is generated from a state
//!   and cached per state.
//! - **Selection** (`var_p_uct`): `Q(c) = max(returns)` (0 if none),
//!   `C(N) = ln((N + b + 1) / b) + c0`,
//!   `score(c) = Q(c) + C(N_parent) · P(c) · sqrt(ln N_parent) / (1 + n_c)`
//!   — see [`var_p_uct`].
//! - **A rollout** (as the reference runs it): the root is expanded once,
//!   before anything else. Selection descends from the root through
//!   expanded states to the first state not yet expanded — the new leaf, one
//!   thought deeper than its parent. The leaf is evaluated; while its code
//!   fails and evaluations remain (`max_think` evaluations per rollout:
//!   evaluate, then rethink and evaluate again, so at most one rethink for
//!   the default 2), a thought is rethought and the leaf re-evaluated. Then
//!   the leaf is expanded (after a failure, with the error as feedback). So
//!   every rollout adds at most one level and the tree is at most
//!   `rollouts` deep; `max_depth` caps it further (a state at that depth is
//!   terminal: never expanded, and a rollout that reaches it again reuses
//!   its value without calling the model).
//! - **Expansion** asks for `width` thoughts in one call; after a failed
//!   evaluation of the node it asks for thoughts that avoid the reported
//!   error.
//! - **Evaluation**: code generated from the state runs against the
//!   **public** tests in the sandbox; reward = pass fraction. Only when all
//!   public tests pass is the model's own evaluation blended in:
//!   `0.8 · r + 0.2 · self_eval`, with `self_eval` in the reference's
//!   `[-1, 1]` ([`SelfEvalScale`]). With `stop_on_pass` the
//!   self-evaluation is skipped (see [`Candidate::self_eval_skipped`]).
//! - **Rethink**: when tests fail, the thought that led here is replaced at
//!   the same tree position with prior 1.0, using the failing test, expected
//!   vs actual and traceback as feedback — plus, with `trace`, an execution
//!   trace of the first failing test ([`hone_tools::trace`]); code is
//!   regenerated and re-evaluated. The returns sampled below the replaced
//!   thought are dropped (they belong to the old thought). `rethink = last`
//!   rewrites the last thought (what the reference code does);
//!   `rethink = any` lets the model name the faulty thought on the path and
//!   rewrites that one.
//! - **Backpropagation** (as the reference): the chance node just above the
//!   leaf gets `gamma · v`, the next `gamma² · v`, and so on; visits
//!   increase.
//! - **Final answer**: the program with the highest public-test value (pass
//!   fraction, then blended value, then code that ran, then earliest).
//! - **Root answer** (hone's option, off by default: `evaluate_root`): the
//!   first rollout starts by writing and testing a program from the
//!   problem alone; if it passes (with `stop_on_pass`) the search ends
//!   there, otherwise the root's expansion gets its error as feedback.
//!
//! Hidden tests never enter [`MctsState`]: the caller scores the final
//! program after the search. Malformed model output (thought JSON that does
//! not parse, code with no code block, a self-evaluation with no score) is
//! counted in [`MctsState::malformed`] and replaced by a documented fallback,
//! never a crash. When the model-call budget runs out inside a rollout, the
//! work done so far (tree, evaluated programs) is kept and the search ends.
//!
//! One graph step is one rollout, so every rollout is checkpointed and a
//! killed search resumes at the rollout it was in.

//!
//! The code: [`settings`](MctsSettings) (widths, constants, modes), the
//! tree (`tree.rs`: nodes, [`Candidate`], [`var_p_uct`], backpropagation),
//! the reply parsers (`parse.rs`), one rollout (`rollout.rs`) and, here,
//! the graph.

mod parse;
mod rollout;
mod settings;
mod tree;

pub use parse::{parse_self_eval, parse_thoughts, thoughts_schema};
pub use settings::{MctsSettings, RethinkMode, SelfEvalScale};
pub use tree::{var_p_uct, Candidate, ChanceNode, DecisionNode, MctsState};

#[allow(unused_imports)]
use parse::*;
use rollout::*;
#[allow(unused_imports)]
use settings::*;
#[allow(unused_imports)]
use tree::*;

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, Route};

use crate::refine::RefineConfig;

/// Whether the search is over: rollouts done, solved (with
/// `stop_on_pass`), or out of budget.
pub fn search_finished(s: &MctsState) -> bool {
    s.budget_stop.is_some()
        || s.rollouts >= s.settings.rollouts
        || (s.settings.stop_on_pass && s.solved())
}

/// Builds the RethinkMCTS graph: one `rollout` node looping until
/// [`search_finished`]. `cfg.actor` answers every call; `cfg.harness` runs
/// the public tests.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::mcts::{rethink_mcts_graph, MctsSettings, MctsState};
/// use hone_agents::refine::RefineConfig;
/// use hone_core::{graph::RunOptions, ScriptedModel};
/// use hone_tools::{Harness, TestSuite};
/// use hone_sandbox::{Sandbox, SandboxConfig};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new()
///     .on_template("mcts_expand.j2",
///                |_| r#"{"thoughts": [{"thought": "Add the numbers.", "reasonableness": 1}]}"#)
///     .on_template("mcts_self_eval.j2", |_| "SCORE: 9")
///     .with_rule(|_| true, |_| "```python\ndef add(a, b):\n    return a + b\n```"));
/// let harness = Arc::new(Harness::new(Sandbox::new(SandboxConfig::default())));
/// let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_harness(harness);
/// let tests = TestSuite::Asserts { setup: String::new(), asserts: vec!["assert add(1, 2) == 3".into()] };
/// let out = rethink_mcts_graph(cfg).unwrap()
///     .run(MctsState::new("Write add(a, b).", tests, MctsSettings::default()), RunOptions::default()).await.unwrap();
/// assert!(out.state.solved());
/// // With stop_on_pass the passing program ends the search: no self-evaluation.
/// let best = out.state.best_program().unwrap();
/// assert_eq!((best.value, best.self_eval), (1.0, None));
/// assert!(best.self_eval_skipped.is_some());
/// # });
/// ```
pub fn rethink_mcts_graph(cfg: RefineConfig) -> Result<Graph<MctsState>, GraphError> {
    GraphBuilder::new("rethink-mcts")
        .node(
            "rollout",
            node_fn(move |mut s: MctsState, ctx: NodeContext| {
                // Every call of the search samples at the settings' temperature.
                let cfg = cfg.clone().with_temperature(s.settings.temperature);
                async move {
                    if search_finished(&s) {
                        return Ok(s);
                    }
                    match rollout(&mut s, &ctx, &cfg).await {
                        Ok(()) => Ok(s),
                        Err(Stop::Budget(message)) => {
                            s.budget_stop = Some(message);
                            Ok(s)
                        }
                        Err(Stop::Failed(e)) => Err(e),
                    }
                }
            }),
        )
        .router("rollout", &["rollout"], |s: &MctsState| {
            if search_finished(s) {
                Route::End
            } else {
                Route::to("rollout")
            }
        })
        .entry("rollout")
        .build()
}

#[cfg(test)]
mod tests;
