//! Best-of-n with verifier selection: `n` independent samples, each
//! verified, then one is selected.
//!
//! By default ([`BestOfN::greedy_first`]) the first answer is drawn at the
//! run's own temperature (greedy at 0) and the other `n − 1` only when its
//! checks did not verify it, so a task the first answer solves costs one
//! call, and a sample replaces that answer only when it checks better.
//!
//! The samples run concurrently as a run-time-sized `map` fan-out. Each
//! sample has its own sample index and seed, so they differ at a sampling
//! temperature yet reproduce on a rerun (and stay distinct in the response
//! cache). Selection:
//!
//! - **code / design**: verified first, then the higher verifier score
//!   (public-test pass fraction, requirements met), then code whose tests
//!   ran at all; ties go to the earliest sample.
//! - **math**: majority vote over the extracted final answers, grouped by
//!   [`hone_tools::answer::answers_equal`] and, for what those rules leave
//!   undecided, sympy in the sandbox (when a harness is configured); ties go
//!   to the group whose first member came first. Answers without a final
//!   answer do not vote.
//! - **text**: each sample is graded by the rubric critic
//!   ([`crate::judge::rubric_grade`]); the highest score wins.
//!
//! When the call budget runs out part-way, the samples already made are kept
//! and selection runs on them (selection never needs a model call for code
//! and math; for text an exhausted budget falls back to the first sample).

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, NodeError};
use hone_tools::answer::{answers_equal, Equivalence};
use hone_tools::math_check::MathChecker;

use crate::events::AgentEvent;
use crate::refine::{complete, Attempt, RefineConfig, RefineState, TaskKind};
use crate::roles::RefinePrompt;
use crate::verify::{is_budget_exhausted, verify_attempt};

/// Settings of best-of-n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestOfN {
    /// Samples to draw.
    pub n: usize,
    /// Sampling temperature of the samples (greedy decoding would make them
    /// identical).
    pub temperature: f32,
    /// Whether the first sample is drawn at the run's own temperature
    /// (greedy at the default 0) instead of `temperature`. Selection breaks
    /// ties towards earlier samples, so with it best-of-n keeps the
    /// single-shot answer unless a sample checks better: never worse than
    /// single-shot on the public tests, and better when a sample passes
    /// where the greedy answer fails.
    pub greedy_first: bool,
}

impl Default for BestOfN {
    fn default() -> Self {
        BestOfN {
            n: 4,
            temperature: 0.8,
            greedy_first: true,
        }
    }
}

/// Indices of the majority group of final answers; `None` when no sample has
/// a final answer. Groups are formed greedily in sample order.
///
/// ```
/// use hone_agents::best_of_n::majority_vote;
/// let answers = ["1/2", "0.4", "0.5", "", "50%"];
/// assert_eq!(majority_vote(&answers), Some(vec![0, 2, 4]));
/// ```
pub fn majority_vote(final_answers: &[&str]) -> Option<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, answer) in final_answers.iter().enumerate() {
        if answer.trim().is_empty() {
            continue;
        }
        let home = groups
            .iter_mut()
            .find(|g| answers_equal(final_answers[g[0]], answer) == Equivalence::Equal);
        match home {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    largest_group(groups)
}

/// The largest group; ties go to the group that started first (max_by_key
/// keeps the last maximum, so the groups are scanned in reverse).
fn largest_group(groups: Vec<Vec<usize>>) -> Option<Vec<usize>> {
    groups.into_iter().rev().max_by_key(|g| g.len())
}

/// Groups final answers like [`majority_vote`], asking `checker` (sympy in
/// the sandbox) about the pairs the rules leave undecided; returns the
/// majority group. A checker that cannot run counts as "not equal".
pub async fn majority_vote_checked(
    final_answers: &[&str],
    checker: &MathChecker,
) -> Option<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, answer) in final_answers.iter().enumerate() {
        if answer.trim().is_empty() {
            continue;
        }
        let mut home = None;
        for (g, group) in groups.iter().enumerate() {
            let representative = final_answers[group[0]];
            let equal = match answers_equal(representative, answer) {
                Equivalence::Unknown => match checker.equivalent(representative, answer).await {
                    Ok(e) => e == Equivalence::Equal,
                    Err(e) => {
                        tracing::warn!(error = %e, "symbolic answer check failed; treating as not equal");
                        false
                    }
                },
                decided => decided == Equivalence::Equal,
            };
            if equal {
                home = Some(g);
                break;
            }
        }
        match home {
            Some(g) => groups[g].push(i),
            None => groups.push(vec![i]),
        }
    }
    largest_group(groups)
}

/// The sample best-of-n picks among `attempts` for a task of `kind`, when
/// no model call is needed for it (everything but text). Math answers are
/// grouped by the rules alone; the `select` step also asks sympy when a
/// sandbox harness is configured.
pub fn select_by_verifier(kind: TaskKind, attempts: &[Attempt]) -> Option<usize> {
    if attempts.is_empty() {
        return None;
    }
    if kind == TaskKind::Math {
        let answers: Vec<&str> = attempts
            .iter()
            .map(|a| a.final_answer().unwrap_or_default())
            .collect();
        return Some(majority_vote(&answers).map_or(0, |g| g[0]));
    }
    // The same ranking as `RefineState::best`, but ties go to the earliest
    // sample: max_by_key keeps the last maximum of the reversed order.
    attempts
        .iter()
        .enumerate()
        .rev()
        .max_by_key(|(_, a)| a.score())
        .map(|(i, _)| i)
}

/// Draws sample `index` (0-based; sample index and seed `index + 1`),
/// verifies it and appends it. Out of budget, the sample is simply not drawn.
async fn draw(
    mut s: RefineState,
    ctx: &NodeContext,
    cfg: &RefineConfig,
    index: usize,
) -> Result<RefineState, NodeError> {
    let prompt = cfg
        .templates
        .prompt("refine_actor.j2", RefinePrompt::of(&s))?;
    let answer = match complete(ctx, &*cfg.actor, prompt, cfg, index as u32 + 1).await {
        Ok(answer) => answer,
        Err(e) if is_budget_exhausted(&e) => return Ok(s),
        Err(e) => return Err(e),
    };
    AgentEvent::Attempt {
        round: index + 1,
        answer: answer.clone(),
    }
    .emit(ctx);
    let mut attempt = Attempt::new(answer);
    match verify_attempt(&mut attempt, &s, index + 1, ctx, cfg).await {
        Ok(()) => {}
        // A design checklist that did not fit the budget leaves the sample
        // unchecked.
        Err(e) if is_budget_exhausted(&e) => {}
        Err(e) => return Err(e),
    }
    s.attempts.push(attempt);
    Ok(s)
}

/// Builds the best-of-n graph: `start` → n × `sample` (concurrently) →
/// `select`. With [`BestOfN::greedy_first`], `start` draws the first answer
/// and the other n − 1 samples are drawn only when its checks failed.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::best_of_n::{best_of_n_graph, BestOfN};
/// use hone_agents::refine::{RefineConfig, RefineState, TaskKind};
/// use hone_core::{graph::RunOptions, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// // Each sample's answer depends on its sample index: 1 → 7, 2 → 8, 3 → 7.
/// let model = Arc::new(ScriptedModel::new().with_rule(|_| true, |r| {
///     format!("FINAL ANSWER: {}", if r.sample_index == 2 { 8 } else { 7 })
/// }));
/// let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded())).with_max_tokens(64);
/// let out = best_of_n_graph(cfg, BestOfN { n: 3, temperature: 0.8, greedy_first: false }).unwrap()
///     .run(RefineState::new("3 + 4?", TaskKind::Math, 1), RunOptions::default()).await.unwrap();
/// assert_eq!(out.state.attempts.len(), 3);
/// assert_eq!(out.state.best().unwrap().final_answer(), Some("7"));
/// # });
/// ```
pub fn best_of_n_graph(
    cfg: RefineConfig,
    settings: BestOfN,
) -> Result<Graph<RefineState>, GraphError> {
    let n = settings.n.max(1);
    let greedy_first = settings.greedy_first;
    let first_cfg = cfg.clone();
    let mut sample_cfg = cfg.clone();
    sample_cfg.temperature = settings.temperature;
    let select_cfg = cfg;
    // With a greedy first answer, `start` draws it; the samples are drawn
    // only when it did not pass its checks, so an answer the tests verify
    // costs what single-shot costs.
    let offset = usize::from(greedy_first);
    let sample_temperature = settings.temperature;
    // How many samples follow `start`: none after a verified greedy answer.
    let samples_to_draw = move |s: &RefineState| {
        if greedy_first && crate::refine::verified_by_check(s) {
            0
        } else {
            n - offset
        }
    };
    GraphBuilder::new("best-of-n")
        .node(
            "start",
            node_fn(move |s: RefineState, ctx: NodeContext| {
                let cfg = first_cfg.clone();
                async move {
                    let s = if greedy_first {
                        draw(s, &ctx, &cfg, 0).await?
                    } else {
                        s
                    };
                    // Said before the samples start, so a reader of the
                    // trajectory sees why more answers follow.
                    let samples = samples_to_draw(&s);
                    if samples > 0 {
                        AgentEvent::Sampling {
                            samples,
                            temperature: sample_temperature,
                            after_failed_first: greedy_first,
                        }
                        .emit(&ctx);
                    }
                    Ok(s)
                }
            }),
        )
        .map(
            "start",
            "sample",
            "select",
            move |s: &RefineState| vec![s.clone(); samples_to_draw(s)],
            |mut parent: RefineState, outputs: Vec<RefineState>| {
                let before = parent.attempts.len();
                for out in outputs {
                    if out.attempts.len() > before {
                        parent
                            .attempts
                            .extend(out.attempts.into_iter().skip(before));
                    }
                }
                parent
            },
        )
        .node(
            "sample",
            node_fn(move |s: RefineState, ctx: NodeContext| {
                let cfg = sample_cfg.clone();
                async move {
                    let index = ctx.branch().unwrap_or(0) + offset;
                    draw(s, &ctx, &cfg, index).await
                }
            }),
        )
        .node(
            "select",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = select_cfg.clone();
                async move {
                    let selected = if s.kind == TaskKind::Text {
                        select_text(&s, &ctx, &cfg).await?
                    } else if let (TaskKind::Math, Some(harness)) = (s.kind, &cfg.harness) {
                        let checker = MathChecker::new(harness.sandbox().clone());
                        let answers: Vec<&str> = s
                            .attempts
                            .iter()
                            .map(|a| a.final_answer().unwrap_or_default())
                            .collect();
                        match majority_vote_checked(&answers, &checker).await {
                            Some(group) => Some(group[0]),
                            None => (!s.attempts.is_empty()).then_some(0),
                        }
                    } else {
                        select_by_verifier(s.kind, &s.attempts)
                    };
                    AgentEvent::Selected {
                        sample: selected.map(|i| i + 1),
                        of: s.attempts.len(),
                    }
                    .emit(&ctx);
                    s.selected = selected;
                    Ok(s)
                }
            }),
        )
        .entry("start")
        .build()
}

/// Rubric-grades every text sample and picks the highest score (the
/// earliest among equals). A budget that runs out stops grading; ungraded
/// samples rank below graded ones.
async fn select_text(
    s: &RefineState,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<Option<usize>, hone_core::graph::NodeError> {
    let rubric = crate::judge::Rubric::correctness();
    let mut best: Option<(u8, usize)> = None;
    for (i, attempt) in s.attempts.iter().enumerate() {
        let grade = match crate::judge::rubric_grade(
            ctx,
            &*cfg.critic,
            &cfg.templates,
            &s.task,
            &attempt.answer,
            &rubric,
            None,
            cfg.max_tokens,
        )
        .await
        {
            Ok(grade) => grade,
            Err(e) if is_budget_exhausted(&e) => break,
            Err(e) => return Err(e),
        };
        let score = grade.score.unwrap_or(0);
        AgentEvent::Rubric {
            sample: i + 1,
            score: grade.score,
            feedback: grade.feedback.clone(),
        }
        .emit(ctx);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, i));
        }
    }
    Ok(best
        .map(|(_, i)| i)
        .or(if s.attempts.is_empty() { None } else { Some(0) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Evidence;

    fn tested(passed: usize, total: usize) -> Attempt {
        Attempt::new(format!("{passed}/{total}")).with_evidence(Evidence::decided(
            "public_tests",
            passed,
            total,
            "",
        ))
    }

    #[test]
    fn verifier_selection_prefers_verified_then_fraction_then_earliest() {
        let attempts = vec![tested(1, 3), tested(2, 3), tested(2, 3), tested(0, 3)];
        assert_eq!(select_by_verifier(TaskKind::Code, &attempts), Some(1));
        let attempts = vec![tested(2, 3), tested(3, 3), tested(3, 3)];
        assert_eq!(select_by_verifier(TaskKind::Code, &attempts), Some(1));
        assert_eq!(select_by_verifier(TaskKind::Code, &[]), None);
    }

    /// Passes an answer that says "good".
    struct SaysGood;

    impl crate::verifier::Verifier for SaysGood {
        fn name(&self) -> &str {
            "says_good"
        }
        async fn verify(
            &self,
            input: crate::verifier::VerifyInput<'_>,
            _ctx: &NodeContext,
        ) -> Result<Option<crate::evidence::Evidence>, hone_core::graph::NodeError> {
            let good = input.attempt.answer.contains("good");
            Ok(Some(crate::evidence::Evidence::decided(
                self.name(),
                usize::from(good),
                1,
                "",
            )))
        }
    }

    #[tokio::test]
    async fn greedy_first_keeps_the_greedy_answer_unless_a_sample_checks_better() {
        use hone_core::graph::RunOptions;
        use hone_core::ScriptedModel;
        use std::sync::Arc;
        // `greedy` is what the model answers at temperature 0; samples
        // answer "good" or "bad" by seed.
        // A greedy answer its check verifies is kept without drawing samples.
        for (greedy, picked, calls) in [("good greedy", 0, 1), ("bad greedy", 2, 4)] {
            let model = Arc::new(ScriptedModel::new().with_rule(
                |_| true,
                move |r| match r.sampling.temperature {
                    Some(0.0) => greedy.to_string(),
                    _ if r.sample_index == 3 => "good sample".to_string(),
                    _ => "bad sample".to_string(),
                },
            ));
            let cfg = RefineConfig::new(model.clone(), Arc::new(crate::templates::embedded()))
                .with_max_tokens(32)
                .with_verifier(SaysGood);
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let out = best_of_n_graph(cfg, BestOfN::default())
                .unwrap()
                .run(
                    RefineState::new("q", TaskKind::Code, 1),
                    RunOptions::default().with_events(tx),
                )
                .await
                .unwrap();
            let mut sampling = Vec::new();
            while let Ok(event) = rx.try_recv() {
                if let Some(AgentEvent::Sampling {
                    samples,
                    after_failed_first,
                    ..
                }) = AgentEvent::from_run_event(&event)
                {
                    sampling.push((samples, after_failed_first));
                }
            }
            // The samples are announced only when they are drawn.
            let announced: &[(usize, bool)] = if calls == 1 { &[] } else { &[(3, true)] };
            assert_eq!(sampling, announced, "{greedy}");
            let temperatures: Vec<_> = model
                .requests()
                .iter()
                .map(|r| (r.sample_index, r.sampling.temperature))
                .collect();
            assert_eq!(temperatures.len(), calls, "{greedy}");
            for (index, t) in temperatures {
                let want = if index == 1 { 0.0 } else { 0.8 };
                assert_eq!(t, Some(want), "sample {index}");
            }
            let best = out.state.best().expect("a selection");
            assert!(best.answer.starts_with("good"), "{}", best.answer);
            assert_eq!(out.state.selected, Some(picked), "{greedy}");
        }
    }

    #[tokio::test]
    async fn a_budget_smaller_than_n_keeps_the_samples_drawn_and_still_selects() {
        use hone_core::graph::RunOptions;
        use hone_core::{Budget, ScriptedModel};
        use std::sync::Arc;
        let model = Arc::new(ScriptedModel::new().with_rule(
            |_| true,
            |r| format!("FINAL ANSWER: {}", r.sampling.seed.unwrap_or(0) % 2),
        ));
        let cfg = RefineConfig::new(model.clone(), Arc::new(crate::templates::embedded()))
            .with_max_tokens(32);
        let out = best_of_n_graph(
            cfg,
            BestOfN {
                n: 5,
                temperature: 0.7,
                greedy_first: false,
            },
        )
        .unwrap()
        .run(
            RefineState::new("q", TaskKind::Math, 1),
            RunOptions::default().with_budget(Budget::unlimited().with_model_calls(3)),
        )
        .await
        .unwrap();
        assert!(out.stop.is_finished(), "{:?}", out.stop);
        assert_eq!(out.state.attempts.len(), 3, "three samples fit the budget");
        assert!(out.state.selected.is_some());
        let requests = model.requests();
        assert!(requests.iter().all(|r| r.sampling.temperature == Some(0.7)));
        let mut seeds: Vec<u64> = requests.iter().filter_map(|r| r.sampling.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 3, "every sample has its own seed");
    }

    #[tokio::test]
    async fn text_samples_are_picked_by_the_rubric_critic() {
        use hone_core::graph::RunOptions;
        use hone_core::ScriptedModel;
        use std::sync::Arc;
        let model = Arc::new(
            ScriptedModel::new()
                .with_rule(
                    |r| r.template.as_deref() == Some("judge_rubric.j2"),
                    |r| {
                        // Sample 2 is the best; feedback comes before the score.
                        let score = if r.messages[0].content.contains("draft 2") {
                            5
                        } else {
                            2
                        };
                        format!("Feedback: judged on its merits.\nSCORE: {score}")
                    },
                )
                .with_rule(
                    |_| true,
                    |r| format!("draft {}", r.sampling.seed.unwrap_or(0)),
                ),
        );
        let cfg = RefineConfig::new(model.clone(), Arc::new(crate::templates::embedded()));
        let out = best_of_n_graph(
            cfg,
            BestOfN {
                n: 3,
                temperature: 0.7,
                greedy_first: false,
            },
        )
        .unwrap()
        .run(
            RefineState::new("Explain CRDTs", TaskKind::Text, 1),
            RunOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(out.state.best().unwrap().answer, "draft 2");
        let graded = model
            .requests()
            .iter()
            .filter(|r| r.template.as_deref() == Some("judge_rubric.j2"))
            .count();
        assert_eq!(graded, 3, "every sample is graded");
    }

    #[test]
    fn majority_vote_groups_equivalent_answers_and_breaks_ties_by_order() {
        assert_eq!(majority_vote(&["3", "4", "4", "3"]), Some(vec![0, 3]));
        assert_eq!(majority_vote(&["", "", ""]), None);
        assert_eq!(
            majority_vote(&["\\frac{1}{4}", "0.25", "x", "25%"]),
            Some(vec![0, 1, 3])
        );
        let math = |fa: &str| {
            Attempt::new(fa)
                .with_evidence(crate::verifier::FinalAnswer::default().read(fa).unwrap())
        };
        let attempts = vec![math(""), math("12"), math("12.0"), math("13")];
        assert_eq!(select_by_verifier(TaskKind::Math, &attempts), Some(1));
        assert_eq!(select_by_verifier(TaskKind::Math, &[math("")]), Some(0));
    }
}
