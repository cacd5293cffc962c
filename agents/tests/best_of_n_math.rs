//! Best-of-n on math: the majority vote asks sympy in the real sandbox about
//! answers the rules cannot compare.

use std::sync::Arc;

use hone_agents::best_of_n::{best_of_n_graph, BestOfN};
use hone_agents::refine::{RefineConfig, RefineState, TaskKind};
use hone_core::graph::RunOptions;
use hone_core::ScriptedModel;
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbolically_equal_answers_vote_together() {
    // Seeds 1..=4: a lone 5, then three forms of the same polynomial.
    let model = Arc::new(ScriptedModel::new().with_rule(
        |_| true,
        |r| match r.sampling.seed {
            Some(1) => "FINAL ANSWER: 5",
            Some(2) => "FINAL ANSWER: x^2 - 1",
            Some(3) => "FINAL ANSWER: (x-1)(x+1)",
            _ => "FINAL ANSWER: (x+1)*(x-1)",
        },
    ));
    let cfg = RefineConfig::new(model.clone(), Arc::new(hone_agents::templates::embedded()))
        .with_max_tokens(64)
        .with_harness(Arc::new(Harness::new(Sandbox::new(
            SandboxConfig::default(),
        ))));
    let out = best_of_n_graph(
        cfg,
        BestOfN {
            n: 4,
            temperature: 0.8,
            greedy_first: false,
        },
    )
    .unwrap()
    .run(
        RefineState::new("Factor-free form of (x-1)(x+1)?", TaskKind::Math, 1),
        RunOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(out.state.attempts.len(), 4);
    assert_eq!(
        out.state.selected,
        Some(1),
        "the x^2 - 1 group has three votes"
    );
}
