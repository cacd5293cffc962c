//! RethinkMCTS control flow with a scripted model and the real Wasm sandbox.

use std::sync::Arc;

use hone_agents::mcts::{rethink_mcts_graph, MctsSettings, MctsState, RethinkMode};
use hone_agents::refine::RefineConfig;
use hone_core::graph::RunOptions;
use hone_core::templates::Templates;
use hone_core::{Budget, ChatRequest, ScriptedModel};
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

const BUGGY: &str = "```python\ndef add(a, b):\n    return a - b\n```";
const FIXED: &str = "```python\ndef add(a, b):\n    return a + b\n```";

fn prompt(r: &ChatRequest) -> &str {
    &r.messages[0].content
}

fn is_expand(r: &ChatRequest) -> bool {
    prompt(r).contains("possible next thoughts")
}
fn is_code(r: &ChatRequest) -> bool {
    prompt(r).contains("following the plan")
}
fn is_self_eval(r: &ChatRequest) -> bool {
    prompt(r).contains("Rate how likely")
}
fn is_rethink(r: &ChatRequest) -> bool {
    prompt(r).contains("led to code that fails its tests")
}

fn public_tests() -> TestSuite {
    TestSuite::Asserts {
        setup: String::new(),
        asserts: vec![
            "assert add(1, 2) == 3".into(),
            "assert add(0, 0) == 0".into(),
        ],
    }
}

fn cfg(model: Arc<ScriptedModel>) -> RefineConfig {
    RefineConfig::new(model, Arc::new(Templates::embedded())).with_harness(Arc::new(Harness::new(
        Sandbox::new(SandboxConfig::default()),
    )))
}

const TWO_THOUGHTS: &str = r#"{"thoughts": [{"thought": "Subtract b from a.", "reasonableness": 0.9}, {"thought": "Add the two numbers.", "reasonableness": 0.1}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rethink_replaces_the_failing_thought_in_place_and_the_new_code_is_evaluated() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_self_eval, |_| "It handles all ints.\nSCORE: 9")
            .with_rule(is_rethink, |r| {
                // The feedback names the failing test with expected vs actual.
                assert!(prompt(r).contains("add(1, 2)"), "{}", prompt(r));
                r#"{"thought": "Return a + b instead."}"#
            })
            .with_rule(is_code, |r| {
                if prompt(r).contains("Return a + b") {
                    FIXED
                } else {
                    BUGGY
                }
            }),
    );
    let state = MctsState::new("Write add(a, b).", public_tests(), MctsSettings::default());
    let out = rethink_mcts_graph(cfg(model.clone()))
        .unwrap()
        .run(state, RunOptions::default())
        .await
        .unwrap();
    let s = &out.state;
    assert!(out.stop.is_finished());
    assert_eq!(s.rollouts, 1, "stops once all public tests pass");
    // Rollout 1: two think passes (root, then its best child), so the leaf
    // is at depth 2 along the higher-prior thought.
    assert_eq!(s.programs.len(), 2);
    let (failed, fixed) = (&s.programs[0], &s.programs[1]);
    assert_eq!(
        failed.thoughts,
        vec!["Subtract b from a.", "Subtract b from a."]
    );
    assert!(!failed.tests.all_passed() && !failed.rethought);
    assert!(fixed.rethought && fixed.tests.all_passed());
    assert_eq!(
        fixed.thoughts,
        vec!["Subtract b from a.", "Return a + b instead."]
    );
    assert_eq!(failed.state, fixed.state, "same tree position");
    let leaf = fixed.state;
    let c = s.decisions[leaf].parent.unwrap();
    assert_eq!(s.chances[c].prior, 1.0, "rethought prior reset to 1.0");
    assert_eq!(s.chances[c].rethinks, 1);
    let parent = s.chances[c].parent;
    assert_eq!(s.decisions[parent].children[0], c, "still the first child");
    // Blend only because all public tests pass: 0.8 * 1 + 0.2 * 0.9.
    assert_eq!(fixed.self_eval, Some(0.9));
    assert!((fixed.value - 0.98).abs() < 1e-9);
    assert_eq!(
        failed.self_eval, None,
        "no self-evaluation for failing code"
    );
    // Backpropagation: the rethought value, discounted once per level.
    assert!((s.chances[c].returns[0] - 0.98).abs() < 1e-9);
    let root_child = s.decisions[leaf]
        .parent
        .map(|c| s.chances[c].parent)
        .unwrap();
    let top = s.decisions[root_child].parent.unwrap();
    assert!((s.chances[top].returns[0] - 0.98 * 0.9).abs() < 1e-9);
    assert_eq!(s.best_program().unwrap().answer, FIXED);
    let calls = model.requests();
    assert_eq!(
        (
            calls.iter().filter(|r| is_expand(r)).count(),
            calls.iter().filter(|r| is_code(r)).count(),
            calls.iter().filter(|r| is_rethink(r)).count(),
            calls.iter().filter(|r| is_self_eval(r)).count(),
        ),
        (2, 2, 1, 1)
    );
    assert!(calls.iter().all(|r| r.sampling.temperature == Some(0.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rethink_any_rewrites_the_thought_the_model_names() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_self_eval, |_| "SCORE: 10")
            .with_rule(is_rethink, |r| {
                assert!(prompt(r).contains("first thought in the plan that is wrong"));
                r#"{"index": 1, "thought": "Return a + b."}"#
            })
            .with_rule(is_code, |r| {
                if prompt(r).contains("1. Return a + b") {
                    FIXED
                } else {
                    BUGGY
                }
            }),
    );
    let settings = MctsSettings {
        rethink: RethinkMode::Any,
        ..MctsSettings::default()
    };
    let out = rethink_mcts_graph(cfg(model))
        .unwrap()
        .run(
            MctsState::new("Write add(a, b).", public_tests(), settings),
            RunOptions::default(),
        )
        .await
        .unwrap();
    let s = &out.state;
    assert!(s.solved());
    let fixed = s.programs.last().unwrap();
    assert_eq!(fixed.thoughts, vec!["Return a + b.", "Subtract b from a."]);
    let first = s.decisions[0].children[0];
    assert_eq!(
        (s.chances[first].prior, s.chances[first].rethinks),
        (1.0, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_state_is_expanded_with_its_error_and_malformed_thoughts_fall_back() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |r| {
                if prompt(r).contains("failed its tests") {
                    assert!(prompt(r).contains("must avoid this error"));
                    r#"{"thoughts": [{"thought": "Use + not -.", "reasonableness": 1}]}"#
                } else {
                    "I think we should subtract." // not JSON: malformed
                }
            })
            .with_rule(is_self_eval, |_| "no number here")
            .with_rule(is_code, |r| {
                if prompt(r).contains("Use + not -") {
                    FIXED
                } else {
                    BUGGY
                }
            }),
    );
    let settings = MctsSettings {
        rethink: RethinkMode::Off,
        max_think: 1,
        ..MctsSettings::default()
    };
    let out = rethink_mcts_graph(cfg(model.clone()))
        .unwrap()
        .run(
            MctsState::new("Write add(a, b).", public_tests(), settings),
            RunOptions::default(),
        )
        .await
        .unwrap();
    let s = &out.state;
    assert!(out.stop.is_finished(), "{:?}", out.stop);
    assert!(s.solved());
    assert_eq!(s.rollouts, 2);
    assert_eq!(
        s.chances[0].thought, "I think we should subtract.",
        "fallback thought"
    );
    // Malformed: the thought reply and the self-evaluation with no score
    // (neutral 0.5 fallback).
    assert_eq!(s.malformed, 2);
    let best = s.best_program().unwrap();
    assert!((best.value - (0.8 + 0.2 * 0.5)).abs() < 1e-9);
    assert_eq!(
        best.thoughts,
        vec!["I think we should subtract.", "Use + not -."]
    );
    assert_eq!(
        model.requests().iter().filter(|r| is_rethink(r)).count(),
        0,
        "rethink off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_keeps_the_tree_and_returns_the_best_program() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_rethink, |_| r#"{"thought": "Try harder."}"#)
            .with_rule(is_code, |r| {
                if prompt(r).contains("Try harder") {
                    "```python\ndef add(a, b):\n    return 0\n```"
                } else {
                    BUGGY
                }
            }),
    );
    // Calls: expand, expand, code, rethink, code (rollout 1), expand … cut.
    let out = rethink_mcts_graph(cfg(model.clone()))
        .unwrap()
        .run(
            MctsState::new("Write add(a, b).", public_tests(), MctsSettings::default()),
            RunOptions::default().with_budget(Budget::unlimited().with_model_calls(6)),
        )
        .await
        .unwrap();
    let s = &out.state;
    assert_eq!(model.requests().len(), 6);
    assert!(s.budget_stop.is_some());
    assert_eq!(s.rollouts, 1, "the cut rollout is not counted");
    assert_eq!(s.programs.len(), 2);
    // `return 0` passes add(0, 0) == 0 (1/2) and beats a - b … which also
    // passes add(0, 0): equal fractions, so the earlier one wins.
    assert_eq!(s.best_program().unwrap().answer, BUGGY);
    assert_eq!(s.best_program().unwrap().tests.passed, 1);
}

/// A model whose every program fails: the search runs all its rollouts.
fn stubborn() -> Arc<ScriptedModel> {
    Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |r| {
                // Thoughts depend on the prompt, so the tree differs per state.
                format!(
                    r#"{{"thoughts": [{{"thought": "Idea {}.", "reasonableness": 0.7}}, {{"thought": "Other idea {}.", "reasonableness": 0.3}}]}}"#,
                    prompt(r).len() % 97,
                    prompt(r).len() % 89
                )
            })
            .with_rule(is_rethink, |r| {
                format!(r#"{{"thought": "Rethought {}."}}"#, prompt(r).len() % 83)
            })
            .with_rule(is_code, |_| BUGGY),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_killed_after_a_rollout_resumes_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let settings = MctsSettings {
        rollouts: 3,
        ..MctsSettings::default()
    };
    let start = || MctsState::new("Write add(a, b).", public_tests(), settings.clone());
    let full_log = dir.path().join("full.jsonl");
    let full_model = stubborn();
    let full = rethink_mcts_graph(cfg(full_model.clone()))
        .unwrap()
        .run(start(), RunOptions::default().with_log(&full_log))
        .await
        .unwrap();
    assert_eq!(full.state.rollouts, 3);

    // Keep the log up to the second finished rollout and the start of the
    // third, as a process killed during rollout 3 would leave it.
    let text = std::fs::read_to_string(&full_log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let finished: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"] == "finished"
        })
        .map(|(i, _)| i)
        .collect();
    let cut_log = dir.path().join("cut.jsonl");
    std::fs::write(&cut_log, lines[..=finished[1] + 1].join("\n") + "\n").unwrap();

    let resumed_model = stubborn();
    let resumed = rethink_mcts_graph(cfg(resumed_model.clone()))
        .unwrap()
        .resume(&cut_log, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(
        resumed.state, full.state,
        "same tree, programs and counters"
    );
    // Only rollout 3's calls are made again, and they are the same calls.
    let prompts = |m: &ScriptedModel| -> Vec<String> {
        m.requests().iter().map(|r| prompt(r).to_string()).collect()
    };
    let (all, again) = (prompts(&full_model), prompts(&resumed_model));
    assert_eq!(again, all[all.len() - again.len()..]);
    assert!(resumed_model.requests().len() < full_model.requests().len() / 2);
}
