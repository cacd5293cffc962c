//! RealCritic's modes as one hone graph, so an item is checkpointed,
//! resumable and traced like any run.
//!
//! ```text
//! direct ──(self)──► critique ──(rounds left)──► critique …
//!   └──(direct)──► end       └──► end
//! ```
//!
//! Direct and self runs start at `direct`; cross and iterative runs at
//! `critique`.
//!
//! * `direct`: system prompt `realcritic_direct.j2`, the question as the
//!   user message.
//! * `critique`: system prompt `realcritic_critique.j2`, the problem and the
//!   solution to check as the user message (`realcritic_critique_user.j2`):
//!   the dataset's `reasoning` (cross, iterative) or the model's own direct
//!   answer (self). In iterative mode every round after the first continues
//!   the conversation: each earlier critique as an assistant turn followed by
//!   `realcritic_recheck.j2`.
//!
//! * `post_check` (optional, after the last critique): a judge labels the
//!   critique Qualified (it really checked the solution) or Unqualified (it
//!   solved the problem itself and sidestepped the solution),
//!   `realcritic_post_check.j2`. Its own figure; it never changes a score.
//!
//! Every call is greedy (temperature 0, top-p 1). The reference answer never
//! enters the state: scoring happens on the host after the graph ends.

use std::sync::Arc;

use hone_core::graph::{node_fn, Graph, GraphBuilder, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};
use serde::{Deserialize, Serialize};

use super::hone_critics::{self, CriticDesign};

/// Which RealCritic protocol a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Solve the question (no critique): the baseline.
    Direct,
    /// Critique and correct the dataset's solution.
    Cross,
    /// Solve directly, then critique and correct the model's own answer.
    #[serde(rename = "self")]
    SelfCritique,
    /// Cross critique repeated for `rounds` rounds in one conversation;
    /// only the last round is scored.
    Iterative,
}

impl Mode {
    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Direct => "direct",
            Mode::Cross => "cross",
            Mode::SelfCritique => "self",
            Mode::Iterative => "iterative",
        }
    }

    /// Parses a CLI name.
    pub fn parse(text: &str) -> Result<Mode, String> {
        match text {
            "direct" => Ok(Mode::Direct),
            "cross" => Ok(Mode::Cross),
            "self" => Ok(Mode::SelfCritique),
            "iterative" => Ok(Mode::Iterative),
            other => Err(format!(
                "unknown RealCritic mode {other:?}: direct, cross, self or iterative"
            )),
        }
    }
}

/// The state of one item's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticState {
    /// The mode.
    pub mode: Mode,
    /// Critique rounds (1 except in iterative mode).
    pub rounds: u32,
    /// The question.
    pub question: String,
    /// The dataset's solution (critiqued in cross and iterative modes).
    pub reasoning: String,
    /// The model's direct answer (direct and self modes).
    pub direct: Option<String>,
    /// The critiques, one per round.
    pub critiques: Vec<String>,
    /// Whether a judge labels the last critique (the post-check).
    #[serde(default)]
    pub post_check: bool,
    /// The judge's answer, when the post-check ran.
    #[serde(default)]
    pub judgement: Option<String>,
    /// Which critic writes the critique.
    #[serde(default)]
    pub critic: CriticDesign,
    /// hone's critics: whether the critique kept the solution.
    #[serde(default)]
    pub keep: Option<bool>,
    /// hone's critics: the refined or fresh answer.
    #[serde(default)]
    pub revised: Option<String>,
}

impl CriticState {
    /// The start of an item's run.
    pub fn new(mode: Mode, rounds: u32, question: &str, reasoning: &str) -> Self {
        CriticState {
            mode,
            rounds: if mode == Mode::Iterative {
                rounds.max(1)
            } else {
                1
            },
            question: question.to_string(),
            reasoning: reasoning.to_string(),
            direct: None,
            critiques: Vec::new(),
            post_check: false,
            judgement: None,
            critic: CriticDesign::Realcritic,
            keep: None,
            revised: None,
        }
    }

    /// The same, with `critic` writing the critique.
    pub fn with_critic(mut self, critic: CriticDesign) -> Self {
        self.critic = critic;
        self
    }

    /// The same, with the post-check judge after the last critique.
    pub fn with_post_check(mut self, on: bool) -> Self {
        self.post_check = on && self.mode != Mode::Direct;
        self
    }

    /// The solution the critique checks: the dataset's, or the model's own
    /// direct answer in self mode.
    pub fn critiqued_solution(&self) -> String {
        match self.mode {
            Mode::SelfCritique => self.direct.clone().unwrap_or_default(),
            _ => self.reasoning.clone(),
        }
    }

    /// The output that is scored: the last critique, else the direct
    /// answer; with hone's critics, the solution they kept or its
    /// replacement.
    pub fn final_output(&self) -> Option<String> {
        if self.critic != CriticDesign::Realcritic {
            match self.keep {
                Some(true) => return Some(self.critiqued_solution()),
                Some(false) => return self.revised.clone(),
                None => {}
            }
        }
        self.critiques.last().or(self.direct.as_ref()).cloned()
    }
}

/// Model settings of a RealCritic run.
#[derive(Clone)]
pub struct CriticConfig {
    /// The model under test.
    pub model: Arc<dyn LanguageModel>,
    /// Prompt templates (the `realcritic_*.j2` ones are used).
    pub templates: Arc<Templates>,
    /// Token limit per call (the reference: 2,048).
    pub max_tokens: u32,
    /// The post-check judge (the model under test, or another).
    pub judge: Arc<dyn LanguageModel>,
}

fn greedy(messages: Vec<Message>, template: &str, max_tokens: u32) -> ChatRequest {
    let mut request = ChatRequest::new(messages)
        .with_temperature(0.0)
        .with_max_tokens(max_tokens);
    request.sampling.top_p = Some(1.0);
    request.template = Some(template.to_string());
    request
}

/// The direct mode's request: the protocol's system prompt, the question as
/// the user message (also the fresh answer of the pairwise critic).
pub(crate) fn direct_request(cfg: &CriticConfig, question: &str) -> Result<ChatRequest, NodeError> {
    let system = cfg
        .templates
        .render("realcritic_direct.j2", serde_json::json!({}))?;
    Ok(greedy(
        vec![Message::system(system.trim()), Message::user(question)],
        "realcritic_direct.j2",
        cfg.max_tokens,
    ))
}

async fn direct(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let request = direct_request(cfg, &state.question)?;
    let response = ctx.chat(cfg.model.as_ref(), &request).await?;
    state.direct = Some(response.first_text().trim().to_string());
    Ok(state)
}

async fn critique(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let t = &cfg.templates;
    let solution = state.critiqued_solution();
    let system = t.render("realcritic_critique.j2", serde_json::json!({}))?;
    let user = t.render(
        "realcritic_critique_user.j2",
        serde_json::json!({"question": state.question, "solution": solution}),
    )?;
    let mut messages = vec![Message::system(system.trim()), Message::user(user.trim())];
    let mut template = "realcritic_critique.j2";
    if !state.critiques.is_empty() {
        let recheck = t.render("realcritic_recheck.j2", serde_json::json!({}))?;
        for earlier in &state.critiques {
            messages.push(Message::assistant(earlier.clone()));
            messages.push(Message::user(recheck.trim()));
        }
        template = "realcritic_recheck.j2";
    }
    let request = greedy(messages, template, cfg.max_tokens);
    let response = ctx.chat(cfg.model.as_ref(), &request).await?;
    state
        .critiques
        .push(response.first_text().trim().to_string());
    Ok(state)
}

async fn post_check(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let prompt = cfg.templates.prompt(
        "realcritic_post_check.j2",
        serde_json::json!({
            "question": state.question,
            "solution": state.critiqued_solution(),
            "critique": state.critiques.last().cloned().unwrap_or_default(),
        }),
    )?;
    let mut request = ChatRequest::from_prompt(prompt)
        .with_temperature(0.0)
        .with_max_tokens(256);
    request.sampling.top_p = Some(1.0);
    let response = ctx.chat(cfg.judge.as_ref(), &request).await?;
    state.judgement = Some(response.first_text().trim().to_string());
    Ok(state)
}

/// Reads a post-check judgement: `Some(true)` for QUALIFIED, `Some(false)`
/// for UNQUALIFIED (the last of the two words counts), `None` for neither.
///
/// ```
/// use hone_bench::realcritic::protocol::parse_judgement;
/// assert_eq!(parse_judgement("It checks each step.\nQUALIFIED"), Some(true));
/// assert_eq!(parse_judgement("It just re-solves.\nUNQUALIFIED"), Some(false));
/// assert_eq!(parse_judgement("hard to say"), None);
/// assert_eq!(parse_judgement("not UNQUALIFIED → QUALIFIED"), Some(true));
/// ```
pub fn parse_judgement(text: &str) -> Option<bool> {
    let upper = text.to_uppercase();
    let unqualified = upper.rfind("UNQUALIFIED");
    // A QUALIFIED that is not the tail of an UNQUALIFIED.
    let qualified = upper
        .match_indices("QUALIFIED")
        .map(|(i, _)| i)
        .filter(|&i| !upper[..i].ends_with("UN"))
        .last();
    match (qualified, unqualified) {
        (Some(q), Some(u)) => Some(q > u),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    }
}

/// The graph of `mode` with `critic` writing the critique: it starts at
/// `direct` (direct, self) or at the critique step (cross, iterative):
/// `critique` for the protocol's prompt, `hone_critic` (→ `refine` when
/// the solution is not kept) or `pairwise` for hone's critics.
pub fn graph(
    cfg: CriticConfig,
    mode: Mode,
    critic: CriticDesign,
) -> Result<Graph<CriticState>, hone_core::graph::GraphError> {
    let (a, b, c) = (cfg.clone(), cfg.clone(), cfg.clone());
    let (d, e, f) = (cfg.clone(), cfg.clone(), cfg);
    let critique_node = match critic {
        CriticDesign::Realcritic => "critique",
        CriticDesign::Default | CriticDesign::Rubric => "hone_critic",
        CriticDesign::Pairwise => "pairwise",
    };
    let entry = match mode {
        Mode::Direct | Mode::SelfCritique => "direct",
        Mode::Cross | Mode::Iterative => critique_node,
    };
    let then_post_check = |s: &CriticState| {
        if s.post_check {
            Route::to("post_check")
        } else {
            Route::End
        }
    };
    GraphBuilder::<CriticState>::new(format!("realcritic-{}", mode.name()))
        .node(
            "direct",
            node_fn(move |s, ctx| {
                let cfg = a.clone();
                async move { direct(&cfg, s, ctx).await }
            }),
        )
        .router("direct", &[critique_node], move |s: &CriticState| {
            match s.mode {
                Mode::SelfCritique => Route::to(critique_node),
                _ => Route::End,
            }
        })
        .node(
            "critique",
            node_fn(move |s, ctx| {
                let cfg = b.clone();
                async move { critique(&cfg, s, ctx).await }
            }),
        )
        .router(
            "critique",
            &["critique", "post_check"],
            |s: &CriticState| {
                if (s.critiques.len() as u32) < s.rounds {
                    Route::to("critique")
                } else if s.post_check {
                    Route::to("post_check")
                } else {
                    Route::End
                }
            },
        )
        .node(
            "post_check",
            node_fn(move |s, ctx| {
                let cfg = c.clone();
                async move { post_check(&cfg, s, ctx).await }
            }),
        )
        .node(
            "hone_critic",
            node_fn(move |s, ctx| {
                let cfg = d.clone();
                async move { hone_critics::critique(&cfg, s, ctx).await }
            }),
        )
        .router(
            "hone_critic",
            &["refine", "post_check"],
            move |s: &CriticState| {
                if s.keep == Some(false) {
                    Route::to("refine")
                } else {
                    then_post_check(s)
                }
            },
        )
        .node(
            "refine",
            node_fn(move |s, ctx| {
                let cfg = e.clone();
                async move { hone_critics::refine(&cfg, s, ctx).await }
            }),
        )
        .router("refine", &["post_check"], then_post_check)
        .node(
            "pairwise",
            node_fn(move |s, ctx| {
                let cfg = f.clone();
                async move { hone_critics::pairwise(&cfg, s, ctx).await }
            }),
        )
        .router("pairwise", &["post_check"], then_post_check)
        .entry(entry)
        .build()
}
