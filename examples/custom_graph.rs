//! Your own graph with hone's roles in it: hone's actor drafts, a node of
//! yours enforces a house rule, hone's critic reviews, and a router of
//! yours decides whether to revise.
//!
//! `cargo run --example custom_graph`

use std::sync::Arc;

use hone::agents::roles::{Actor, Critic};
use hone::core::graph::{node_fn, Graph, GraphBuilder, GraphError, Route};
use hone::prelude::*;

/// draft → house_style → critic → (revise → house_style …) until the
/// critic accepts or three drafts were written.
fn release_notes_graph(model: Model) -> Result<Graph<RefineState>, GraphError> {
    let cfg = RefineConfig::new(
        Arc::new(model),
        Arc::new(hone::agents::templates::embedded()),
    );
    GraphBuilder::new("release-notes")
        .node("draft", Actor::first(cfg.clone()))
        .edge("draft", "house_style")
        .node(
            "house_style",
            node_fn(|mut s: RefineState, _ctx| async move {
                // House rule, no model needed: no exclamation marks.
                if let Some(last) = s.attempts.last_mut() {
                    last.answer = last.answer.replace('!', ".");
                }
                Ok(s)
            }),
        )
        .edge("house_style", "critic")
        .node("critic", Critic::new(cfg.clone()))
        .router("critic", &["revise"], |s: &RefineState| {
            if s.verified() || s.attempts.len() >= 3 {
                Route::End
            } else {
                Route::to("revise")
            }
        })
        .node("revise", Actor::refiner(cfg))
        .edge("revise", "house_style")
        .entry("draft")
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let graph = release_notes_graph(Model::from_env()?)?;
    let task = RefineState::new(
        "Write three lines of release notes for a CLI that added `hone bench`.",
        TaskKind::Text,
        3,
    );
    let out = graph.run(task, RunOptions::default()).await?;
    println!("{}", out.state.best().map_or("", |a| a.answer.as_str()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn house_style_runs_between_hone_roles() {
        let model = ScriptedModel::in_order([
            "New: hone bench!",
            "Say what it does.\nVERDICT: INCORRECT",
            "New: `hone bench` runs benchmark suites!",
            "Good.\nVERDICT: CORRECT",
        ]);
        let graph = release_notes_graph(Model::new(model)).unwrap();
        let out = graph
            .run(
                RefineState::new("notes", TaskKind::Text, 3),
                RunOptions::default(),
            )
            .await
            .unwrap();
        let answers: Vec<_> = out
            .state
            .attempts
            .iter()
            .map(|a| a.answer.as_str())
            .collect();
        assert_eq!(
            answers,
            [
                "New: hone bench.",
                "New: `hone bench` runs benchmark suites."
            ]
        );
        assert!(out.state.verified());
        assert_eq!(out.node_runs.get("house_style"), Some(&2));
    }
}
