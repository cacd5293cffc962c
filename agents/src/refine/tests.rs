//! Tests of the linear strategies' state, parsers and graphs.

use super::*;
use hone_core::graph::{RunOptions, StopReason};
use hone_core::{Budget, BudgetKind, ScriptedModel};

fn cfg(model: Arc<ScriptedModel>) -> RefineConfig {
    RefineConfig::new(model, Arc::new(crate::templates::embedded())).with_max_tokens(64)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn best_prefers_verified_then_pass_fraction_then_latest() {
    let tested = |passed, total| {
        Attempt::new(format!("{passed}/{total}")).with_evidence(Evidence::decided(
            "public_tests",
            passed,
            total,
            "",
        ))
    };
    let mut s = RefineState::new("t", TaskKind::Code, 5);
    s.attempts = vec![
        tested(2, 6),
        tested(0, 0),
        tested(4, 6),
        tested(4, 6),
        tested(1, 6),
    ];
    assert_eq!(
        s.best_index(),
        Some(3),
        "highest fraction, latest among equals"
    );
    assert!(!s.verified());
    s.attempts.push(tested(6, 6));
    s.attempts.push(tested(5, 6));
    assert_eq!(s.best().unwrap().answer, "6/6");
    let mut critic_only = RefineState::new("t", TaskKind::Text, 5);
    let mut accepted = Attempt::new("ok");
    accepted.verdict = Some(Verdict::Correct);
    let mut rejected = Attempt::new("later");
    rejected.verdict = Some(Verdict::Incorrect);
    critic_only.attempts = vec![accepted, rejected];
    assert_eq!(critic_only.best().unwrap().answer, "ok");
}

#[test]
fn math_evidence_tells_the_critic_when_no_final_answer_was_found() {
    rt().block_on(async {
        let model = Arc::new(ScriptedModel::in_order([
            "It is about four.",
            "No final answer line.\nVERDICT: INCORRECT",
            "2 + 2 = 4\nFINAL ANSWER: 4",
            "VERDICT: CORRECT",
        ]));
        let out = self_refine_graph(cfg(model.clone()))
            .unwrap()
            .run(
                RefineState::new("2 + 2?", TaskKind::Math, 3),
                RunOptions::default(),
            )
            .await
            .unwrap();
        let attempts = &out.state.attempts;
        assert_eq!(attempts[0].final_answer(), Some("It is about four."));
        assert_eq!(attempts[1].final_answer(), Some("4"));
        let critic_prompts: Vec<String> = requests_for(&model, "refine_critic.j2")
            .iter()
            .map(|r| r.messages[0].content.clone())
            .collect();
        assert_eq!(critic_prompts.len(), 2);
        assert!(critic_prompts[0].contains("No final answer was found"));
        assert!(critic_prompts[1].contains("Extracted final answer: 4"));
        assert!(out.state.verified());
    });
}

#[test]
fn single_shot_makes_one_call_and_verifies() {
    rt().block_on(async {
        let model = Arc::new(ScriptedModel::in_order(["only answer"]));
        let out = single_shot_graph(cfg(model.clone()))
            .unwrap()
            .run(
                RefineState::new("t", TaskKind::Text, 5),
                RunOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(out.state.attempts.len(), 1);
        assert_eq!(model.requests().len(), 1);
        assert_eq!(out.state.best().unwrap().answer, "only answer");
    });
}

#[test]
fn stops_as_soon_as_the_critic_accepts() {
    rt().block_on(async {
        let model = Arc::new(ScriptedModel::in_order(["a1", "fine\nVERDICT: CORRECT"]));
        let g = self_refine_graph(cfg(model.clone())).unwrap();
        let out = g
            .run(
                RefineState::new("t", TaskKind::Text, 5),
                RunOptions::default(),
            )
            .await
            .unwrap();
        assert!(out.stop.is_finished());
        assert_eq!(out.state.attempts.len(), 1);
        assert_eq!(model.requests().len(), 2);
    });
}

#[test]
fn malformed_critique_counts_as_unverified_and_refines() {
    rt().block_on(async {
        let model = Arc::new(ScriptedModel::in_order([
            "a1",
            "no verdict here",
            "a2",
            "VERDICT: CORRECT",
        ]));
        let g = self_refine_graph(cfg(model)).unwrap();
        let out = g
            .run(
                RefineState::new("t", TaskKind::Text, 5),
                RunOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(out.state.attempts[0].verdict, Some(Verdict::Malformed));
        assert_eq!(out.state.best().unwrap().answer, "a2");
    });
}

#[test]
fn round_limit_and_call_budget_return_the_latest_answer() {
    rt().block_on(async {
        let model = Arc::new(
            ScriptedModel::new()
                .on_template("refine_critic.j2", |_| "VERDICT: INCORRECT")
                .with_rule(|_| true, |r| format!("answer {}", r.messages[0].content.len())),
        );
        let g = self_refine_graph(cfg(model.clone())).unwrap();
        let out = g
            .run(
                RefineState::new("t", TaskKind::Text, 3),
                RunOptions::default(),
            )
            .await
            .unwrap();
        assert!(out.stop.is_finished());
        assert_eq!(out.state.attempts.len(), 3);
        assert!(!out.state.verified());

        let out = g
            .run(
                RefineState::new("t", TaskKind::Text, 10),
                RunOptions::default().with_budget(Budget::unlimited().with_model_calls(5)),
            )
            .await
            .unwrap();
        assert!(
            matches!(out.stop, StopReason::Budget { exhausted } if exhausted.kind == BudgetKind::ModelCalls)
        );
        assert_eq!(out.state.attempts.len(), 3, "actor, refiner, refiner");
        assert!(out.state.best().is_some());
    });
}

fn text_of(r: &hone_core::ChatRequest) -> String {
    r.messages.iter().map(|m| m.content.as_str()).collect()
}

/// Runs `g` on a task of `kind` with at most `rounds` answers.
async fn run_task(
    g: &hone_core::graph::Graph<RefineState>,
    kind: TaskKind,
    rounds: u32,
) -> hone_core::graph::RunOutcome<RefineState> {
    g.run(RefineState::new("t", kind, rounds), RunOptions::default())
        .await
        .unwrap()
}

/// The answers of `s`'s attempts, in order.
fn answers(s: &RefineState) -> Vec<&str> {
    s.attempts.iter().map(|a| a.answer.as_str()).collect()
}

/// The requests `model` received for `template`, in order.
fn requests_for(model: &ScriptedModel, template: &str) -> Vec<hone_core::ChatRequest> {
    model
        .requests()
        .into_iter()
        .filter(|r| r.template.as_deref() == Some(template))
        .collect()
}

#[test]
fn the_refiner_continues_the_critics_conversation_byte_for_byte() {
    rt().block_on(async {
        let model = Arc::new(
            ScriptedModel::new()
                .on_template("refine_actor.j2", |_| "TODO one")
                .on_template("refine_critic.j2", |_| {
                    "The TODO is left in.\nVERDICT: INCORRECT"
                })
                .on_template("refine_refiner_followup.j2", |_| "done"),
        );
        let g = self_refine_graph(cfg(model.clone()).with_verifier(NoTodo)).unwrap();
        let out = run_task(&g, TaskKind::Text, 3).await;
        assert_eq!(answers(&out.state), ["TODO one", "done"]);
        let critic = requests_for(&model, "refine_critic.j2");
        let refiner = requests_for(&model, "refine_refiner_followup.j2");
        assert_eq!((critic.len(), refiner.len()), (1, 1));
        let turns = &refiner[0].messages;
        assert_eq!(turns.len(), 3);
        // The critic's request, then its answer, then the new turn: a model
        // with prefix reuse evaluates only the last one.
        assert_eq!(turns[0], critic[0].messages[0]);
        assert_eq!(turns[1].role, hone_core::Role::Assistant);
        assert_eq!(turns[1].content, "The TODO is left in.\nVERDICT: INCORRECT");
        assert_eq!(turns[2].role, hone_core::Role::User);
        assert!(
            turns[2].content.contains("was reviewed"),
            "{}",
            turns[2].content
        );
        assert!(!turns[2].content.contains("TODO one"));
        assert!(requests_for(&model, "refine_refiner.j2").is_empty());
    });
}

/// Fails an answer while it contains "TODO", with that as its evidence.
struct NoTodo;

impl crate::verifier::Verifier for NoTodo {
    fn name(&self) -> &str {
        "no_todo"
    }
    async fn verify(
        &self,
        input: crate::verifier::VerifyInput<'_>,
        _ctx: &NodeContext,
    ) -> Result<Option<crate::evidence::Evidence>, hone_core::graph::NodeError> {
        let todos = input.attempt.answer.matches("TODO").count();
        Ok(Some(crate::evidence::Evidence::decided(
            self.name(),
            usize::from(todos == 0),
            1,
            format!("{todos} TODO markers left"),
        )))
    }
}

/// A refiner that turns `TODO one` into `TODO two`, and that into `done`.
fn refine_todo(r: &hone_core::ChatRequest) -> String {
    if text_of(r).contains("TODO one") {
        "TODO two".to_string()
    } else {
        "done".to_string()
    }
}

#[test]
fn when_unchecked_a_failed_check_goes_straight_to_the_refiner() {
    rt().block_on(async {
        let model = Arc::new(
            ScriptedModel::new()
                .on_template("refine_critic.j2", |_| "Looks fine.\nVERDICT: CORRECT")
                .on_template("refine_actor.j2", |_| "TODO one")
                .on_template("refine_refiner.j2", refine_todo)
                .on_template("refine_refiner_followup.j2", refine_todo),
        );
        let policy_cfg = |policy| {
            cfg(model.clone())
                .with_verifier(NoTodo)
                .with_critic_policy(policy)
        };
        let g = self_refine_graph(policy_cfg(CriticPolicy::WhenUnchecked)).unwrap();
        let out = run_task(&g, TaskKind::Text, 4).await;
        assert_eq!(answers(&out.state), ["TODO one", "TODO two", "done"]);
        assert!(out.state.verified());
        assert!(out.state.attempts.iter().all(|a| a.critique.is_none()));
        let refiner_prompt = requests_for(&model, "refine_refiner.j2")
            .first()
            .map(text_of)
            .expect("the refiner was asked");
        assert!(
            refiner_prompt.contains("1 TODO markers left"),
            "{refiner_prompt}"
        );
        assert!(!refiner_prompt.contains("Review:"), "{refiner_prompt}");

        // The round limit still ends the run.
        let out = run_task(&g, TaskKind::Text, 2).await;
        assert_eq!(out.state.attempts.len(), 2);
        assert!(!out.state.verified());

        // Always: the critic reads every failed attempt (its acceptance
        // does not outrank the failed check).
        let g = self_refine_graph(policy_cfg(CriticPolicy::Always)).unwrap();
        let out = run_task(&g, TaskKind::Text, 4).await;
        let critiqued: Vec<bool> = out
            .state
            .attempts
            .iter()
            .map(|a| a.critique.is_some())
            .collect();
        assert_eq!(critiqued, [true, true, false]);
        assert!(out.state.verified());
    });
}

#[test]
fn after_a_repeated_attempt_the_next_refinement_is_sampled_and_told_so() {
    rt().block_on(async {
        // `repeat` is what the refiner answers at temperature 0: the first
        // attempt's program in other prose, or other code failing the same way.
        for repeat in [
            "Here it is again:\n```python\nTODO one\n```",
            "```python\nTODO one  # still\n```",
        ] {
            let model = Arc::new(
                ScriptedModel::new()
                    .on_template("refine_actor.j2", |_| "```python\nTODO one\n```")
                    .on_template("refine_refiner.j2", move |r: &hone_core::ChatRequest| {
                        if text_of(r).contains("from scratch") {
                            "```python\ndone\n```".to_string()
                        } else {
                            repeat.to_string()
                        }
                    }),
            );
            let code_cfg = || {
                cfg(model.clone())
                    .with_verifier(NoTodo)
                    .with_critic_policy(CriticPolicy::WhenUnchecked)
            };
            let g = self_refine_graph(code_cfg()).unwrap();
            let out = run_task(&g, TaskKind::Code, 4).await;
            assert_eq!(
                answers(&out.state),
                ["```python\nTODO one\n```", repeat, "```python\ndone\n```"]
            );
            assert!(out.state.verified());
            let refiner = requests_for(&model, "refine_refiner.j2");
            assert_eq!(refiner.len(), 2);
            assert_eq!(refiner[0].sampling.temperature, Some(0.0));
            assert!(!text_of(&refiner[0]).contains("from scratch"));
            // The stuck prompt leaves out the answer the model kept copying
            // and keeps the evidence.
            let stuck = text_of(&refiner[1]);
            assert!(!stuck.contains("TODO one"), "{stuck}");
            assert!(stuck.contains("1 TODO markers left"), "{stuck}");
            assert_eq!(refiner[1].sampling.temperature, Some(0.8));
            assert_eq!(refiner[1].sample_index, 2, "a seed of the round's own");

            // Off: every refinement stays greedy and the run stays stuck.
            let g = self_refine_graph(code_cfg().with_stuck_temperature(None)).unwrap();
            let out = run_task(&g, TaskKind::Code, 4).await;
            assert_eq!(out.state.attempts.len(), 4);
            assert!(!out.state.verified());
        }
    });
}
