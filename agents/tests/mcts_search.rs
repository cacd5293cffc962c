//! RethinkMCTS control flow with a scripted model and the real Wasm sandbox.

use std::sync::Arc;

use hone_agents::mcts::{rethink_mcts_graph, MctsSettings, MctsState, RethinkMode, SelfEvalScale};
use hone_agents::refine::RefineConfig;
use hone_core::graph::{RunOptions, RunOutcome};
use hone_core::{Budget, ChatRequest, ScriptedModel};
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

const BUGGY: &str = "```python\ndef add(a, b):\n    return a - b\n```";
const FIXED: &str = "```python\ndef add(a, b):\n    return a + b\n```";

fn prompt(r: &ChatRequest) -> &str {
    &r.messages[0].content
}

fn is_expand(r: &ChatRequest) -> bool {
    r.template.as_deref() == Some("mcts_expand.j2")
}
fn is_code(r: &ChatRequest) -> bool {
    r.template.as_deref() == Some("mcts_code.j2")
}
fn is_self_eval(r: &ChatRequest) -> bool {
    r.template.as_deref() == Some("mcts_self_eval.j2")
}
fn is_rethink(r: &ChatRequest) -> bool {
    r.template.as_deref() == Some("mcts_rethink.j2")
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
    RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_harness(Arc::new(
        Harness::new(Sandbox::new(SandboxConfig::default())),
    ))
}

/// Runs a search for `add(a, b)` with `settings` and `options`.
async fn search(
    model: &Arc<ScriptedModel>,
    settings: MctsSettings,
    options: RunOptions,
) -> RunOutcome<MctsState> {
    rethink_mcts_graph(cfg(model.clone()))
        .unwrap()
        .run(
            MctsState::new("Write add(a, b).", public_tests(), settings),
            options,
        )
        .await
        .unwrap()
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
    // Rollout 1: the root is expanded, selection takes the higher-prior
    // thought and stops at the new leaf one thought deep, which is
    // evaluated, rethought and evaluated again (max_think = 2 evaluations).
    assert_eq!(s.programs.len(), 2);
    let (failed, fixed) = (&s.programs[0], &s.programs[1]);
    assert_eq!(failed.thoughts, vec!["Subtract b from a."]);
    assert!(!failed.tests.all_passed() && !failed.rethought);
    assert!(fixed.rethought && fixed.tests.all_passed());
    assert_eq!(fixed.thoughts, vec!["Return a + b instead."]);
    assert_eq!(failed.state, fixed.state, "same tree position");
    let leaf = fixed.state;
    let c = s.decisions[leaf].parent.unwrap();
    assert_eq!(s.chances[c].prior, 1.0, "rethought prior reset to 1.0");
    assert_eq!(s.chances[c].rethinks, 1);
    assert_eq!(s.decisions[0].children[0], c, "still the first child");
    // stop_on_pass: this program ends the search and is the answer, so the
    // self-evaluation is skipped (and why is kept in the state).
    assert_eq!((fixed.self_eval, fixed.value), (None, 1.0));
    assert!(fixed
        .self_eval_skipped
        .as_deref()
        .is_some_and(|r| r.starts_with("stop_on_pass")));
    assert_eq!(failed.self_eval_skipped, None);
    // Backpropagation as the reference: 0.9 · 1.0 on the first chance node.
    assert_eq!(s.chances[c].returns.len(), 1);
    assert!((s.chances[c].returns[0] - 0.9).abs() < 1e-12);
    assert_eq!(s.best_program().unwrap().answer, FIXED);
    let calls = model.requests();
    // expand root, code, rethink, code; no self-evaluation, no expansion of
    // the solved leaf.
    assert_eq!(
        (
            calls.iter().filter(|r| is_expand(r)).count(),
            calls.iter().filter(|r| is_code(r)).count(),
            calls.iter().filter(|r| is_rethink(r)).count(),
            calls.iter().filter(|r| is_self_eval(r)).count(),
        ),
        (1, 2, 1, 0)
    );
    assert!(calls.iter().all(|r| r.sampling.temperature == Some(0.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stop_on_pass_the_self_evaluation_is_blended_on_the_signed_scale() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_self_eval, |_| "It handles all ints.\nSCORE: 9")
            .with_rule(is_code, |_| FIXED),
    );
    let run = |scale| {
        let model = model.clone();
        async move {
            let settings = MctsSettings {
                rollouts: 1,
                stop_on_pass: false,
                self_eval_scale: scale,
                ..MctsSettings::default()
            };
            rethink_mcts_graph(cfg(model))
                .unwrap()
                .run(
                    MctsState::new("Write add(a, b).", public_tests(), settings),
                    RunOptions::default(),
                )
                .await
                .unwrap()
                .state
        }
    };
    // SCORE: 9 of 10. Signed (the reference's [-1, 1]): 9/5 - 1 = 0.8, so
    // value = 0.8 · 1 + 0.2 · 0.8 = 0.96 and the first chance node gets
    // 0.9 · 0.96 = 0.864. Unit ([0, 1]): 0.9, value 0.8 + 0.18 = 0.98.
    let s = run(SelfEvalScale::Signed).await;
    let p = &s.programs[0];
    assert_eq!(p.self_eval_skipped, None);
    assert!((p.self_eval.unwrap() - 0.8).abs() < 1e-12);
    assert!((p.value - 0.96).abs() < 1e-12);
    assert!((s.chances[0].returns[0] - 0.864).abs() < 1e-12);
    // Not stopping: the solved leaf is expanded as the reference does.
    assert!(s.decisions[p.state].expanded);
    let s = run(SelfEvalScale::Unit).await;
    assert!((s.programs[0].value - 0.98).abs() < 1e-12);
    assert_eq!(
        model.requests().iter().filter(|r| is_self_eval(r)).count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rethink_any_rewrites_the_thought_the_model_names() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_rethink, |r| {
                assert!(prompt(r).contains("first thought in the plan that is wrong"));
                if prompt(r).contains("\n2. ") {
                    // A two-thought plan: blame the first thought.
                    r#"{"index": 1, "thought": "Return a + b."}"#
                } else {
                    r#"{"index": 1, "thought": "Subtract carefully."}"#
                }
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
    // Rollout 1: leaf "Subtract b from a." fails (1/2), is rethought to
    // "Subtract carefully.", fails again (0.5) and is expanded; its chance
    // node gets 0.9 · 0.5 = 0.45. Rollout 2: root N = 1, so no exploration
    // term: the rethought thought (Q 0.45) wins; below it the new leaf
    // ["Subtract carefully.", "Subtract b from a."] fails and the model
    // names thought 1, which is rewritten; the leaf then passes.
    assert!(s.solved());
    assert_eq!(s.rollouts, 2);
    let fixed = s.programs.last().unwrap();
    assert_eq!(fixed.thoughts, vec!["Return a + b.", "Subtract b from a."]);
    let first = s.decisions[0].children[0];
    assert_eq!(
        (s.chances[first].prior, s.chances[first].rethinks),
        (1.0, 2)
    );
    // The 0.45 earned by the old first thought was dropped with it: only
    // rollout 2's 0.9² · 1.0 = 0.81 remains.
    assert_eq!(s.chances[first].returns.len(), 1);
    assert!((s.chances[first].returns[0] - 0.81).abs() < 1e-12);
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
        rollouts: 2,
        stop_on_pass: false,
        ..MctsSettings::default()
    };
    let out = search(&model, settings, RunOptions::default()).await;
    let s = &out.state;
    assert!(out.stop.is_finished(), "{:?}", out.stop);
    assert!(s.solved());
    assert_eq!(s.rollouts, 2);
    assert_eq!(
        s.chances[0].thought, "I think we should subtract.",
        "fallback thought"
    );
    // Malformed: the root's thought reply, the self-evaluation with no
    // score (neutral: 0 on the signed scale) and the solved leaf's
    // expansion (not after a failure, so the malformed reply again).
    assert_eq!(s.malformed, 3);
    let best = s.best_program().unwrap();
    assert!((best.value - 0.8).abs() < 1e-9, "0.8 · 1 + 0.2 · 0");
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
    // Calls: expand root, code, rethink, code, expand leaf (rollout 1);
    // code (rollout 2), then the rethink is cut.
    let out = search(
        &model,
        MctsSettings::default(),
        RunOptions::default().with_budget(Budget::unlimited().with_model_calls(6)),
    )
    .await;
    let s = &out.state;
    assert_eq!(model.requests().len(), 6);
    assert!(s.budget_stop.is_some());
    assert_eq!(s.rollouts, 1, "the cut rollout is not counted");
    assert_eq!(s.programs.len(), 3);
    // `return 0` passes add(0, 0) == 0 (1/2) and beats a - b … which also
    // passes add(0, 0): equal fractions, so the earlier one wins.
    assert_eq!(s.best_program().unwrap().answer, BUGGY);
    assert_eq!(s.best_program().unwrap().tests.passed, 1);
}

/// Whether a code request carries a plan (a thought), or asks from the
/// problem alone.
fn has_plan(r: &ChatRequest) -> bool {
    prompt(r).contains("following the plan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_root_answers_from_the_problem_alone_and_a_pass_ends_the_search_in_one_call() {
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |_| TWO_THOUGHTS)
            .with_rule(is_code, |r| if has_plan(r) { BUGGY } else { FIXED }),
    );
    let settings = MctsSettings {
        evaluate_root: true,
        ..MctsSettings::default()
    };
    let out = search(&model, settings, RunOptions::default()).await;
    let s = &out.state;
    assert!(out.stop.is_finished(), "{:?}", out.stop);
    let calls = model.requests();
    assert_eq!(calls.len(), 1, "one code call, no expansion");
    assert!(is_code(&calls[0]) && !has_plan(&calls[0]));
    assert_eq!((s.rollouts, s.programs.len(), s.chances.len()), (1, 1, 0));
    let root = &s.programs[0];
    assert_eq!((root.state, root.thoughts.len()), (0, 0));
    assert!(root.tests.all_passed());
    assert_eq!(s.best_program().unwrap().answer, FIXED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_root_answer_seeds_the_first_expansion_and_wins_ties_as_the_earliest() {
    const TIMES: &str = "```python\ndef add(a, b):\n    return a * b\n```";
    let model = Arc::new(
        ScriptedModel::new()
            .with_rule(is_expand, |r| {
                // The root's own failure is the expansion's feedback.
                assert!(prompt(r).contains("failed its tests"), "{}", prompt(r));
                assert!(prompt(r).contains("add(1, 2)"), "{}", prompt(r));
                TWO_THOUGHTS
            })
            .with_rule(is_rethink, |_| r#"{"thought": "Try harder."}"#)
            // The root's program and the planned one both pass add(0, 0)
            // only: equal pass fractions.
            .with_rule(is_code, |r| if has_plan(r) { TIMES } else { BUGGY }),
    );
    let settings = MctsSettings {
        evaluate_root: true,
        ..MctsSettings::default()
    };
    // Calls: root code, expand root, code, rethink; the next code is cut.
    let out = search(
        &model,
        settings,
        RunOptions::default().with_budget(Budget::unlimited().with_model_calls(4)),
    )
    .await;
    let s = &out.state;
    let calls = model.requests();
    assert_eq!(calls.len(), 4);
    assert!(is_code(&calls[0]) && !has_plan(&calls[0]));
    assert!(is_expand(&calls[1]) && is_code(&calls[2]) && has_plan(&calls[2]));
    assert!(s.budget_stop.is_some());
    assert_eq!(s.programs.len(), 2);
    assert_eq!(s.programs[0].state, 0);
    assert_eq!(s.programs[1].answer, TIMES);
    assert_eq!(s.programs[1].tests.passed, s.programs[0].tests.passed);
    assert_eq!(
        s.best_program().unwrap().answer,
        BUGGY,
        "the root's, earliest"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_think_counts_evaluations_per_rollout_and_max_depth_bounds_the_tree() {
    let counts = |m: &ScriptedModel| {
        let calls = m.requests();
        (
            calls.iter().filter(|r| is_expand(r)).count(),
            calls.iter().filter(|r| is_code(r)).count(),
            calls.iter().filter(|r| is_rethink(r)).count(),
        )
    };
    let run = |max_think: u32, max_depth: u32| async move {
        let model = stubborn();
        let settings = MctsSettings {
            rollouts: 3,
            max_think,
            max_depth,
            ..MctsSettings::default()
        };
        let out = search(&model, settings, RunOptions::default()).await;
        (out.state, model)
    };
    // Every program is `a - b` (1/2 public tests). max_think = 2: each
    // rollout evaluates its new leaf, rethinks once, evaluates again, then
    // expands the leaf. Rollout 1: expand root + code, rethink, code +
    // expand = 5 calls; rollouts 2 and 3: 4 each. Each rollout goes one
    // level deeper: leaves at depth 1, 2, 3 (the rethought thought has
    // prior 1.0 and Q = 0.45 or more, and wins every time: e.g. at the
    // root in rollout 3, N = 2: 0.45 + 4.262364 · 1.0 · 0.832555 / 3 =
    // 1.632884 against 4.262364 · 0.3 · 0.832555 / 1 = 1.064595).
    let (s, model) = run(2, 16).await;
    assert_eq!(counts(&model), (4, 6, 3));
    let depths: Vec<usize> = s.programs.iter().map(|p| p.thoughts.len()).collect();
    assert_eq!(depths, vec![1, 1, 2, 2, 3, 3]);
    // max_think = 1: one evaluation, no rethink: expand + code per rollout
    // (+ the root's expansion).
    let (s, model) = run(1, 16).await;
    assert_eq!(counts(&model), (4, 3, 0));
    assert_eq!(s.programs.len(), 3);
    // max_depth = 2: rollout 2's leaf (depth 2) is terminal and is not
    // expanded (5 + 3 calls); rollout 3 selects it again and reuses its
    // value without any call, backpropagating 0.9 · 0.5 = 0.45 once more.
    let (s, model) = run(2, 2).await;
    assert_eq!(counts(&model), (2, 4, 2));
    assert_eq!(s.rollouts, 3);
    assert!((0..s.decisions.len()).all(|d| s.depth(d) <= 2));
    let deepest = s.programs.last().unwrap().state;
    let c = s.decisions[deepest].parent.unwrap();
    assert_eq!(s.chances[c].returns.len(), 2);
    assert!(s.chances[c]
        .returns
        .iter()
        .all(|r| (r - 0.45).abs() < 1e-12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rethink_prompt_carries_an_execution_trace_of_the_failing_test_when_on() {
    let run = |trace: bool| async move {
        let model = Arc::new(
            ScriptedModel::new()
                .with_rule(is_expand, |_| TWO_THOUGHTS)
                .with_rule(is_rethink, |_| r#"{"thought": "Return a + b instead."}"#)
                .with_rule(is_code, |r| {
                    if prompt(r).contains("Return a + b") {
                        FIXED
                    } else {
                        BUGGY
                    }
                }),
        );
        let settings = MctsSettings {
            trace,
            ..MctsSettings::default()
        };
        let out = search(&model, settings, RunOptions::default()).await;
        let rethink_prompt = model
            .requests()
            .iter()
            .find(|r| is_rethink(r))
            .map(|r| prompt(r).to_string())
            .unwrap();
        (out.state, rethink_prompt)
    };
    let (s, with) = run(true).await;
    // The failing test is `assert add(1, 2) == 3` (a - b = -1): the trace
    // shows the call's arguments, the line that ran and what it returned.
    assert!(
        with.contains("Execution trace of `assert add(1, 2) == 3`"),
        "{with}"
    );
    assert!(with.contains("a = 1, b = 2"), "{with}");
    assert!(with.contains("return a - b  -> returns -1"), "{with}");
    assert!(with.contains("Outcome: AssertionError"), "{with}");
    assert_eq!(
        s.programs[0].trace.as_deref().map(|t| with.contains(t)),
        Some(true)
    );
    assert_eq!(s.programs[1].trace, None, "passing code is not traced");
    let (s, without) = run(false).await;
    assert!(!without.contains("Execution trace"), "{without}");
    assert_eq!(s.programs[0].trace, None);
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
