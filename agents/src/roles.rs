//! The roles of the linear strategies as graph [`Node`]s over
//! [`RefineState`]: [`Actor`] (first answers and refinements), [`Verify`],
//! [`Critic`] and [`Reflect`]. hone's own graphs are built from them, and so
//! can yours, next to nodes of your own:
//!
//! ```
//! use std::sync::Arc;
//! use hone_agents::prelude::*;
//! use hone_agents::roles::{Actor, Critic};
//! use hone_core::graph::{node_fn, GraphBuilder};
//! use hone_core::ScriptedModel;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let model = Arc::new(ScriptedModel::in_order(["draft", "Too short.\nVERDICT: INCORRECT"]));
//! let cfg = RefineConfig::new(model, Arc::new(hone_agents::templates::embedded()));
//! let graph = GraphBuilder::new("draft-and-review")
//!     .node("actor", Actor::first(cfg.clone()))
//!     .edge("actor", "shout")
//!     .node("shout", node_fn(|mut s: RefineState, _ctx| async move {
//!         if let Some(last) = s.attempts.last_mut() {
//!             last.answer = last.answer.to_uppercase();
//!         }
//!         Ok(s)
//!     }))
//!     .edge("shout", "critic")
//!     .node("critic", Critic::new(cfg))
//!     .entry("actor")
//!     .build()
//!     .unwrap();
//! let out = graph.run(RefineState::new("Write a slogan", TaskKind::Text, 1), RunOptions::default()).await.unwrap();
//! assert_eq!(out.state.attempts[0].answer, "DRAFT");
//! assert_eq!(out.state.attempts[0].verdict, Some(Verdict::Incorrect));
//! # });
//! ```
//!
//! Every template of these roles gets a [`RefinePrompt`]: a typed struct,
//! so a variable a template needs cannot be forgotten.

use async_trait::async_trait;
use hone_core::graph::{Node, NodeContext, NodeError};
use hone_core::Message;
use serde::Serialize;

use crate::events::AgentEvent;
use crate::refine::{
    complete, extract_code, parse_verdict, Attempt, RefineConfig, RefineState, TaskKind, Turns,
};
use crate::verify::verify_attempt;

/// What the actor, refiner, critic and reflection templates see.
#[derive(Debug, Clone, Serialize)]
pub struct RefinePrompt<'a> {
    /// The task.
    pub task: &'a str,
    /// Its kind (templates vary their instructions by it).
    pub kind: TaskKind,
    /// A design brief's requirements.
    pub requirements: &'a [String],
    /// Reflexion's lessons shown to the model (the newest ones).
    pub reflections: &'a [String],
    /// The latest answer, once there is one.
    pub answer: Option<&'a str>,
    /// Its critique (empty before the critic ran).
    pub critique: Option<&'a str>,
    /// The verifier's evidence on it, as text.
    pub evidence: Option<&'a str>,
    /// Whether the latest attempt repeated an earlier one (the same answer
    /// or the same failure): the template asks for a real change.
    pub repeated: bool,
}

impl<'a> RefinePrompt<'a> {
    /// The prompt variables of `state`: the task and, once there is one,
    /// the latest attempt with its critique and evidence.
    pub fn of(state: &'a RefineState) -> Self {
        let last = state.attempts.last();
        RefinePrompt {
            task: &state.task,
            kind: state.kind,
            requirements: &state.requirements,
            reflections: &state.reflections,
            answer: last.map(|a| a.answer.as_str()),
            critique: last.map(|a| a.critique.as_deref().unwrap_or_default()),
            evidence: last.and_then(|a| a.evidence.as_ref().map(|e| e.feedback.as_str())),
            repeated: false,
        }
    }

    /// Shows only the newest `memory` reflections.
    pub fn with_memory(mut self, memory: usize) -> Self {
        let skip = self.reflections.len().saturating_sub(memory);
        self.reflections = &self.reflections[skip..];
        self
    }
}

/// Which prompt an [`Actor`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActorPrompt {
    /// `refine_actor.j2`: a first answer.
    First,
    /// `refine_refiner.j2`: fix the latest answer from its critique.
    Refine,
    /// Reflexion: a first answer, then `reflexion_actor.j2` with the newest
    /// `memory` lessons.
    Reflexion { memory: usize },
}

/// Writes an answer and appends it as a new attempt.
#[derive(Clone)]
pub struct Actor {
    cfg: RefineConfig,
    prompt: ActorPrompt,
}

impl Actor {
    /// A first answer to the task (`refine_actor.j2`).
    pub fn first(cfg: RefineConfig) -> Self {
        Actor {
            cfg,
            prompt: ActorPrompt::First,
        }
    }

    /// The refiner: a new answer from the latest one, its critique and
    /// evidence (`refine_refiner.j2`).
    pub fn refiner(cfg: RefineConfig) -> Self {
        Actor {
            cfg,
            prompt: ActorPrompt::Refine,
        }
    }

    /// Reflexion's actor: the first trial is a plain first answer, later
    /// ones see the newest `memory` reflections (`reflexion_actor.j2`).
    pub fn reflexion(cfg: RefineConfig, memory: usize) -> Self {
        Actor {
            cfg,
            prompt: ActorPrompt::Reflexion {
                memory: memory.max(1),
            },
        }
    }

    /// The prompt for the next answer to `s`; `repeated` (the latest attempt
    /// repeated an earlier one) asks for a fresh approach instead.
    ///
    /// A refinement of a critiqued attempt continues the critic's
    /// conversation: the critic's prompt, its review as the model's turn,
    /// then `refine_refiner_followup.j2`. Its beginning is byte for byte
    /// the request the critic just answered, so a model with prefix reuse
    /// (the embedded one, vLLM, llama-server) evaluates only the new turn.
    fn prompt(&self, s: &RefineState, repeated: bool) -> Result<Turns, NodeError> {
        let vars = RefinePrompt {
            repeated,
            ..RefinePrompt::of(s)
        };
        let templates = &self.cfg.templates;
        let critique = s
            .attempts
            .last()
            .and_then(|a| a.critique.as_deref())
            .filter(|c| !c.is_empty());
        Ok(match (self.prompt, critique) {
            (ActorPrompt::First, _) => templates.prompt("refine_actor.j2", vars)?.into(),
            (ActorPrompt::Refine, Some(critique)) if !repeated => {
                // `RefinePrompt::of` as the critic saw it: its template reads
                // the attempt and evidence, not the critique.
                let asked = templates.prompt("refine_critic.j2", RefinePrompt::of(s))?;
                let turn = templates.prompt("refine_refiner_followup.j2", vars)?;
                Turns {
                    template: turn.template,
                    messages: vec![
                        Message::user(asked.text),
                        Message::assistant(critique),
                        Message::user(turn.text),
                    ],
                }
            }
            (ActorPrompt::Refine, _) => templates.prompt("refine_refiner.j2", vars)?.into(),
            // The first trial is exactly the single-shot prompt.
            (ActorPrompt::Reflexion { .. }, _) if s.attempts.is_empty() => {
                templates.prompt("refine_actor.j2", vars)?.into()
            }
            (ActorPrompt::Reflexion { memory }, _) => templates
                .prompt("reflexion_actor.j2", vars.with_memory(memory))?
                .into(),
        })
    }
}

#[async_trait]
impl Node<RefineState> for Actor {
    async fn run(&self, mut s: RefineState, ctx: NodeContext) -> Result<RefineState, NodeError> {
        // Unsticking: when the latest attempt repeated an earlier one, a
        // greedy rewrite of it tends to repeat it again; say so and sample,
        // with a seed of this round's own.
        let stuck_temperature = self
            .cfg
            .stuck_temperature
            .filter(|_| self.prompt != ActorPrompt::First && is_stuck(&s))
            .map(|t| t.max(self.cfg.temperature));
        let prompt = self.prompt(&s, stuck_temperature.is_some())?;
        let answer = match stuck_temperature {
            Some(temperature) => {
                AgentEvent::Stuck {
                    round: s.attempts.len() + 1,
                    temperature,
                }
                .emit(&ctx);
                let hot = self.cfg.clone().with_temperature(temperature);
                let sample = s.attempts.len() as u32;
                complete(&ctx, &*self.cfg.actor, prompt, &hot, sample).await?
            }
            None => complete(&ctx, &*self.cfg.actor, prompt, &self.cfg, 0).await?,
        };
        AgentEvent::Attempt {
            round: s.attempts.len() + 1,
            answer: answer.clone(),
        }
        .emit(&ctx);
        s.attempts.push(Attempt::new(answer));
        Ok(s)
    }
}

/// Whether the latest attempt failed and repeated an earlier attempt: the
/// same program for code (whatever the prose around it) or the same text,
/// or the same failing evidence (it made no progress on the checks).
fn is_stuck(s: &RefineState) -> bool {
    let Some((last, earlier)) = s.attempts.split_last() else {
        return false;
    };
    if last.verified() {
        return false;
    }
    let key = |a: &Attempt| match s.kind {
        TaskKind::Code => extract_code(&a.answer).trim().to_string(),
        _ => a.answer.trim().to_string(),
    };
    fn failure(a: &Attempt) -> Option<&str> {
        a.evidence
            .as_ref()
            .filter(|e| e.verified() == Some(false))
            .map(|e| e.feedback.as_str())
    }
    let (last_key, last_failure) = (key(last), failure(last));
    earlier
        .iter()
        .any(|a| key(a) == last_key || (last_failure.is_some() && failure(a) == last_failure))
}

/// Runs the run's verifier on the latest attempt (see [`crate::verify`]);
/// tasks with nothing to check pass through.
#[derive(Clone)]
pub struct Verify {
    cfg: RefineConfig,
}

impl Verify {
    /// Verifies with `cfg`'s verifier (or the task kind's built-in one).
    pub fn new(cfg: RefineConfig) -> Self {
        Verify { cfg }
    }
}

#[async_trait]
impl Node<RefineState> for Verify {
    async fn run(&self, mut s: RefineState, ctx: NodeContext) -> Result<RefineState, NodeError> {
        let round = s.attempts.len();
        let Some(mut last) = s.attempts.pop() else {
            return Err(NodeError::failed("verify ran before any attempt"));
        };
        let result = verify_attempt(&mut last, &s, round, &ctx, &self.cfg).await;
        s.attempts.push(last);
        result.map(|()| s)
    }
}

/// Critiques the latest attempt, with the verifier's evidence, and records
/// the critique and its verdict (`VERDICT: CORRECT|INCORRECT`) there.
#[derive(Clone)]
pub struct Critic {
    cfg: RefineConfig,
}

impl Critic {
    /// Critiques with `cfg`'s critic model (`refine_critic.j2`).
    pub fn new(cfg: RefineConfig) -> Self {
        Critic { cfg }
    }
}

#[async_trait]
impl Node<RefineState> for Critic {
    async fn run(&self, mut s: RefineState, ctx: NodeContext) -> Result<RefineState, NodeError> {
        let prompt = self
            .cfg
            .templates
            .prompt("refine_critic.j2", RefinePrompt::of(&s))?;
        let critique = complete(&ctx, &*self.cfg.critic, prompt, &self.cfg, 0).await?;
        let verdict = parse_verdict(&critique);
        AgentEvent::Critique {
            round: s.attempts.len(),
            verdict,
            critique: critique.clone(),
        }
        .emit(&ctx);
        if let Some(last) = s.attempts.last_mut() {
            last.critique = Some(critique);
            last.verdict = Some(verdict);
        }
        Ok(s)
    }
}

/// Reflexion's reflector: after a failed trial, writes a short lesson
/// (`reflexion_reflect.j2`) and appends it to the episodic memory.
#[derive(Clone)]
pub struct Reflect {
    cfg: RefineConfig,
    memory: usize,
}

impl Reflect {
    /// Reflects with `cfg`'s actor model, seeing the newest `memory`
    /// reflections.
    pub fn new(cfg: RefineConfig, memory: usize) -> Self {
        Reflect {
            cfg,
            memory: memory.max(1),
        }
    }
}

#[async_trait]
impl Node<RefineState> for Reflect {
    async fn run(&self, mut s: RefineState, ctx: NodeContext) -> Result<RefineState, NodeError> {
        let prompt = self.cfg.templates.prompt(
            "reflexion_reflect.j2",
            RefinePrompt::of(&s).with_memory(self.memory),
        )?;
        let reflection = complete(&ctx, &*self.cfg.actor, prompt, &self.cfg, 0).await?;
        let reflection = if reflection.trim().is_empty() {
            // An empty reflection still marks the trial as failed.
            self.cfg
                .templates
                .render("reflexion_fallback.j2", serde_json::json!({}))?
        } else {
            reflection
        };
        AgentEvent::Reflection {
            trial: s.attempts.len(),
            reflection: reflection.clone(),
        }
        .emit(&ctx);
        s.reflections.push(reflection);
        Ok(s)
    }
}
