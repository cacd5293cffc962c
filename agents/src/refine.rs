//! The self-refine strategy: actor → critic → (refiner → critic)* until the
//! critic accepts the answer or the round or model-call budget runs out.
//!
//! The critic must end its critique with `VERDICT: CORRECT` or
//! `VERDICT: INCORRECT`. A critique without a verdict line is not a crash: it
//! counts as "not verified", is recorded as a malformed critique, and the loop
//! refines again.

use std::sync::Arc;

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};
use serde::{Deserialize, Serialize};

/// What kind of answer the task wants; selects template variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Free text (design, explanation…).
    #[default]
    Text,
    /// A worked solution with a final answer.
    Math,
}

/// The critic's judgement of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The critic accepts the answer.
    Correct,
    /// The critic found a problem.
    Incorrect,
    /// The critique had no verdict line.
    Malformed,
}

/// One answer and its critique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The answer.
    pub answer: String,
    /// The critique, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critique: Option<String>,
    /// The verdict, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// State of a self-refine run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefineState {
    /// The task.
    pub task: String,
    /// Kind of task.
    pub kind: TaskKind,
    /// Most answers to produce (the first plus refinements).
    pub max_rounds: u32,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl RefineState {
    /// A fresh state.
    ///
    /// ```
    /// let s = hone_agents::refine::RefineState::new("Explain CRDTs", hone_agents::refine::TaskKind::Text, 3);
    /// assert!(s.best().is_none());
    /// ```
    pub fn new(task: impl Into<String>, kind: TaskKind, max_rounds: u32) -> Self {
        RefineState {
            task: task.into(),
            kind,
            max_rounds: max_rounds.max(1),
            attempts: Vec::new(),
        }
    }

    /// Whether the last attempt was accepted by the critic.
    pub fn verified(&self) -> bool {
        self.attempts
            .last()
            .is_some_and(|a| a.verdict == Some(Verdict::Correct))
    }

    /// The best answer so far: the last accepted one, else the latest.
    pub fn best(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.verdict == Some(Verdict::Correct))
            .or(self.attempts.last())
    }
}

/// Finds the critic's verdict line (the last `VERDICT:` line wins).
///
/// ```
/// use hone_agents::refine::{parse_verdict, Verdict};
/// assert_eq!(parse_verdict("step 2 is wrong\nVERDICT: INCORRECT"), Verdict::Incorrect);
/// assert_eq!(parse_verdict("fine.\n**Verdict:** correct"), Verdict::Correct);
/// assert_eq!(parse_verdict("looks fine"), Verdict::Malformed);
/// ```
pub fn parse_verdict(critique: &str) -> Verdict {
    for line in critique.lines().rev() {
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
            .collect::<String>()
            .trim()
            .to_ascii_uppercase();
        if let Some(rest) = cleaned.strip_prefix("VERDICT:") {
            let rest = rest.trim();
            if rest.starts_with("INCORRECT") {
                return Verdict::Incorrect;
            }
            if rest.starts_with("CORRECT") {
                return Verdict::Correct;
            }
        }
    }
    Verdict::Malformed
}

/// Settings of the self-refine graph.
#[derive(Clone)]
pub struct RefineConfig {
    /// Model of the actor and refiner.
    pub actor: Arc<dyn LanguageModel>,
    /// Model of the critic (may be the same).
    pub critic: Arc<dyn LanguageModel>,
    /// Prompt templates.
    pub templates: Arc<Templates>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Token limit per call.
    pub max_tokens: u32,
}

async fn complete(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: String,
    cfg: &RefineConfig,
) -> Result<String, NodeError> {
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_temperature(cfg.temperature)
        .with_max_tokens(cfg.max_tokens);
    let response = ctx.chat(model, &request).await?;
    Ok(response.first_text().trim().to_string())
}

/// Builds the self-refine graph (`actor`, `critic`, `refiner`).
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::refine::{self_refine_graph, RefineConfig, RefineState, TaskKind};
/// use hone_core::{graph::RunOptions, templates::Templates, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::in_order([
///     "x = 3",                          // actor
///     "Step 1 is wrong.\nVERDICT: INCORRECT", // critic
///     "x = 4",                          // refiner
///     "All good.\nVERDICT: CORRECT",    // critic
/// ]));
/// let cfg = RefineConfig { actor: model.clone(), critic: model, templates: Arc::new(Templates::embedded()), temperature: 0.0, max_tokens: 256 };
/// let graph = self_refine_graph(cfg).unwrap();
/// let out = graph.run(RefineState::new("Solve x + 1 = 5", TaskKind::Math, 4), RunOptions::default()).await.unwrap();
/// assert!(out.state.verified());
/// assert_eq!(out.state.best().unwrap().answer, "x = 4");
/// # });
/// ```
pub fn self_refine_graph(cfg: RefineConfig) -> Result<Graph<RefineState>, GraphError> {
    let (c1, c2, c3) = (cfg.clone(), cfg.clone(), cfg);
    GraphBuilder::new("self-refine")
        .node(
            "actor",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = c1.clone();
                async move {
                    let prompt = cfg.templates.render(
                        "refine_actor.j2",
                        serde_json::json!({"task": s.task, "kind": s.kind}),
                    )?;
                    let answer = complete(&ctx, &*cfg.actor, prompt, &cfg).await?;
                    ctx.emit("attempt", serde_json::json!({"round": 1, "answer": answer}));
                    s.attempts.push(Attempt {
                        answer,
                        critique: None,
                        verdict: None,
                    });
                    Ok(s)
                }
            }),
        )
        .edge("actor", "critic")
        .node(
            "critic",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = c2.clone();
                async move {
                    let Some(last) = s.attempts.last() else {
                        return Err(NodeError::failed("critic ran before any attempt"));
                    };
                    let prompt = cfg.templates.render(
                        "refine_critic.j2",
                        serde_json::json!({"task": s.task, "answer": last.answer}),
                    )?;
                    let critique = complete(&ctx, &*cfg.critic, prompt, &cfg).await?;
                    let verdict = parse_verdict(&critique);
                    ctx.emit(
                        "critique",
                        serde_json::json!({"round": s.attempts.len(), "verdict": verdict, "critique": critique}),
                    );
                    if let Some(last) = s.attempts.last_mut() {
                        last.critique = Some(critique);
                        last.verdict = Some(verdict);
                    }
                    Ok(s)
                }
            }),
        )
        .router("critic", &["refiner"], |s: &RefineState| {
            if s.verified() || s.attempts.len() as u32 >= s.max_rounds {
                Route::End
            } else {
                Route::to("refiner")
            }
        })
        .node(
            "refiner",
            node_fn(move |mut s: RefineState, ctx: NodeContext| {
                let cfg = c3.clone();
                async move {
                    let Some(last) = s.attempts.last() else {
                        return Err(NodeError::failed("refiner ran before any attempt"));
                    };
                    let prompt = cfg.templates.render(
                        "refine_refiner.j2",
                        serde_json::json!({
                            "task": s.task,
                            "kind": s.kind,
                            "answer": last.answer,
                            "critique": last.critique.clone().unwrap_or_default(),
                        }),
                    )?;
                    let answer = complete(&ctx, &*cfg.actor, prompt, &cfg).await?;
                    ctx.emit(
                        "attempt",
                        serde_json::json!({"round": s.attempts.len() + 1, "answer": answer}),
                    );
                    s.attempts.push(Attempt {
                        answer,
                        critique: None,
                        verdict: None,
                    });
                    Ok(s)
                }
            }),
        )
        .edge("refiner", "critic")
        .entry("actor")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::graph::{RunOptions, StopReason};
    use hone_core::{Budget, BudgetKind, ScriptedModel};

    fn cfg(model: Arc<ScriptedModel>) -> RefineConfig {
        RefineConfig {
            actor: model.clone(),
            critic: model,
            templates: Arc::new(Templates::embedded()),
            temperature: 0.0,
            max_tokens: 64,
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
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
                    .with_rule(|r| r.messages[0].content.contains("reviewer"), |_| "VERDICT: INCORRECT")
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
}
