//! Reflexion (Shinn et al., 2023): trials with verbal reflections kept in an
//! episodic memory.
//!
//! Each trial the actor answers the task from scratch, seeing its latest
//! attempt, that attempt's evidence and the lessons in memory. The
//! verifier checks the answer (public tests, checklist); for tasks with no
//! verifier the critic's verdict is the evaluator. A failed trial makes the
//! model write a short reflection — what went wrong, what to do differently —
//! which is appended to the memory. Unlike self-refine, the lesson persists
//! across all later trials instead of critiquing one answer.
//!
//! The graph: `actor` → `verify` → (`critic` when nothing was checked) →
//! `reflect` → `actor` …, ending when an answer is verified or `max_rounds`
//! trials were made. Only the newest `memory` reflections are shown to the
//! model (the paper keeps 1–3); the state keeps all of them.

use hone_core::graph::{Graph, GraphBuilder, GraphError, Route};

use crate::refine::{verified_by_check, RefineConfig, RefineState};
use crate::roles::{Actor, Critic, Reflect, Verify};

/// Reflections shown to the model by default.
pub const DEFAULT_MEMORY: usize = 3;

fn after_trial(s: &RefineState) -> Route {
    if s.verified() || s.attempts.len() as u32 >= s.max_rounds {
        Route::End
    } else {
        Route::to("reflect")
    }
}

/// Builds the Reflexion graph; `memory` is how many of the newest
/// reflections the actor and reflector see.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::{reflexion::reflexion_graph, refine::{RefineConfig, RefineState, TaskKind}};
/// use hone_core::{graph::RunOptions, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order([
///     "x = 3",                                    // trial 1
///     "VERDICT: INCORRECT",                       // critic (no verifier for text)
///     "I forgot to subtract; check arithmetic.",  // reflection
///     "x = 4",                                    // trial 2
///     "VERDICT: CORRECT",
/// ]));
/// let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_max_tokens(256);
/// let out = reflexion_graph(cfg, 3).unwrap()
///     .run(RefineState::new("Solve x + 1 = 5", TaskKind::Text, 4), RunOptions::default()).await.unwrap();
/// assert_eq!(out.state.reflections.len(), 1);
/// assert_eq!(out.state.best().unwrap().answer, "x = 4");
/// # });
/// ```
pub fn reflexion_graph(cfg: RefineConfig, memory: usize) -> Result<Graph<RefineState>, GraphError> {
    GraphBuilder::new("reflexion")
        .node("actor", Actor::reflexion(cfg.clone(), memory))
        .edge("actor", "verify")
        .node("verify", Verify::new(cfg.clone()))
        .router("verify", &["critic", "reflect"], |s: &RefineState| {
            let checked = s.attempts.last().is_some_and(|a| a.checked());
            if verified_by_check(s) {
                Route::End
            } else if checked {
                after_trial(s)
            } else {
                Route::to("critic")
            }
        })
        .node("critic", Critic::new(cfg.clone()))
        .router("critic", &["reflect"], after_trial)
        .node("reflect", Reflect::new(cfg, memory))
        .edge("reflect", "actor")
        .entry("actor")
        .build()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use hone_core::graph::RunOptions;
    use hone_core::ScriptedModel;

    use super::*;
    use crate::refine::TaskKind;

    fn cfg(model: Arc<ScriptedModel>) -> RefineConfig {
        RefineConfig::new(model, Arc::new(crate::templates::embedded())).with_max_tokens(64)
    }

    #[tokio::test]
    async fn reflections_accumulate_and_only_the_newest_are_shown() {
        let trials = AtomicUsize::new(0);
        let model = Arc::new(
            ScriptedModel::new()
                .with_rule(
                    |r| r.template.as_deref() == Some("refine_critic.j2"),
                    |_| "VERDICT: INCORRECT",
                )
                .with_rule(
                    |r| r.template.as_deref() == Some("reflexion_reflect.j2"),
                    |r| format!("lesson {}", r.messages[0].content.matches("lesson").count()),
                )
                // A new answer every trial keeps the trials off the stuck path
                // (a repeat is rewritten from scratch; see `roles::is_stuck`).
                .with_rule(
                    |_| true,
                    move |_| format!("answer {}", trials.fetch_add(1, Ordering::Relaxed)),
                ),
        );
        let out = reflexion_graph(cfg(model.clone()), 2)
            .unwrap()
            .run(
                RefineState::new("t", TaskKind::Text, 4),
                RunOptions::default(),
            )
            .await
            .unwrap();
        assert!(out.stop.is_finished());
        assert_eq!(out.state.attempts.len(), 4, "four trials");
        assert_eq!(
            out.state.reflections.len(),
            3,
            "no reflection after the last trial"
        );
        // The memory is episodic: every trial after the first sees lessons, but
        // only the newest two.
        let actor_prompts: Vec<String> = model
            .requests()
            .iter()
            .map(|r| r.messages[0].content.clone())
            .filter(|p| p.contains("Lessons from earlier trials"))
            .collect();
        assert_eq!(actor_prompts.len(), 3);
        let last = actor_prompts.last().unwrap();
        assert!(last.contains("- lesson 1") && last.contains("- lesson 2"));
        assert!(
            !last.contains("- lesson 0"),
            "oldest lesson dropped from view"
        );
        assert_eq!(out.state.reflections[0], "lesson 0");
    }

    #[tokio::test]
    async fn a_call_budget_returns_the_best_trial() {
        let model = Arc::new(
            ScriptedModel::new()
                .with_rule(
                    |r| r.template.as_deref() == Some("refine_critic.j2"),
                    |_| "VERDICT: INCORRECT",
                )
                .with_rule(|_| true, |_| "something"),
        );
        let out = reflexion_graph(cfg(model), 3)
            .unwrap()
            .run(
                RefineState::new("t", TaskKind::Text, 10),
                RunOptions::default()
                    .with_budget(hone_core::Budget::unlimited().with_model_calls(5)),
            )
            .await
            .unwrap();
        assert!(!out.stop.is_finished());
        assert_eq!(out.state.attempts.len(), 2);
        assert!(out.state.best().is_some());
    }
}
