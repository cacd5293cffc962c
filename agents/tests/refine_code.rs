//! Self-refine on a code task with public tests run in the real Wasm sandbox.

use std::sync::Arc;

use hone_agents::refine::{self_refine_graph, RefineConfig, RefineState, TaskKind};
use hone_core::graph::RunOptions;
use hone_core::ScriptedModel;
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

const BUGGY: &str = "```python\ndef add(a, b):\n    return a - b\n```";
const FIXED: &str = "Fixed:\n```python\ndef add(a, b):\n    return a + b\n```";

fn suite() -> TestSuite {
    TestSuite::Check {
        test: "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n".into(),
        entry_point: "add".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_tests_drive_the_refinement_and_passing_tests_end_it() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(
                |r| r.template.as_deref() == Some("refine_critic.j2"),
                |r| {
                    // The critic sees the execution evidence.
                    assert!(
                        r.messages[0].content.contains("1/2 tests passed"),
                        "{}",
                        r.messages[0].content
                    );
                    "Subtraction instead of addition.\nVERDICT: INCORRECT"
                },
            )
            .with_rule(
                // The refiner continues the critic's conversation.
                |r| r.template.as_deref() == Some("refine_refiner_followup.j2"),
                |r| {
                    assert_eq!(r.messages.len(), 3);
                    assert!(r.messages[0].content.contains("1/2 tests passed"));
                    FIXED
                },
            )
            .with_rule(|_| true, |_| BUGGY),
    );
    let cfg = RefineConfig::new(model.clone(), Arc::new(hone_agents::templates::embedded()))
        .with_max_tokens(256)
        .with_harness(Arc::new(Harness::new(Sandbox::new(
            SandboxConfig::default(),
        ))));
    let graph = self_refine_graph(cfg).unwrap();
    let state = RefineState::new("Write add(a, b).", TaskKind::Code, 4).with_public_tests(suite());
    let out = graph.run(state, RunOptions::default()).await.unwrap();
    assert!(out.stop.is_finished(), "{:?}", out.stop);
    assert!(out.state.verified());
    let attempts = &out.state.attempts;
    assert_eq!(attempts.len(), 2);
    let first = attempts[0].evidence.as_ref().expect("first attempt tested");
    assert_eq!((first.passed, first.total), (1, 2));
    let second = attempts[1]
        .evidence
        .as_ref()
        .expect("second attempt tested");
    assert_eq!((second.passed, second.total), (2, 2));
    assert_eq!(out.state.best().unwrap().answer, FIXED);
    // actor, critic, refiner: once the tests pass no critic is asked.
    assert_eq!(model.requests().len(), 3);
}
