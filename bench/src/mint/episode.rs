//! A MINT episode as a hone graph: `act` (the model's turn, then the code
//! it runs or the answer it proposes) → `feedback` (the simulated user,
//! when on) → `act` …, until a correct proposal, the proposal cap, the
//! step cap, or a model call that overflows the context.
//!
//! The rules, as the reference runs them (`shared/docs/PROTOCOLS.md`):
//! k chances to act, at most p proposals (p = 1 when k = 1, else 2); a
//! turn with neither tag costs a step; a wrong proposal's observation is
//! only "Your answer is wrong."; every other step's observation is followed
//! by the countdown, a push to propose when at most one step is left, and
//! the expert feedback when it is on; the final observation is not
//! appended and no feedback is asked for it. Model calls are greedy, at
//! most 512 tokens, and stop at `\nObservation:`, `\nExpert feedback:`,
//! `\nTask:` and `\n---`.
//!
//! The reference answer is in the state (the host checks proposals with
//! it) but never in a request to the evaluated model; the feedback model
//! sees it only in the GT modes.

use std::sync::Arc;

use hone_core::graph::{node_fn, Graph, GraphBuilder, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message, ModelError};
use serde::{Deserialize, Serialize};

use super::check::{py_str, MintChecker};
use super::data::{family, Family, MintItem};
use super::python::Sessions;
use super::turn::{parse_turn, Action};

/// The simulated user's feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feedback {
    /// No feedback.
    None,
    /// Textual feedback without the answer.
    NoGtTextual,
    /// GOOD/BAD without the answer.
    NoGtBinary,
    /// Textual feedback that knows the answer (and must not disclose it).
    GtTextual,
    /// GOOD/BAD that knows the answer.
    GtBinary,
}

impl Feedback {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Feedback::None => "none",
            Feedback::NoGtTextual => "no-gt-textual",
            Feedback::NoGtBinary => "no-gt-binary",
            Feedback::GtTextual => "gt-textual",
            Feedback::GtBinary => "gt-binary",
        }
    }

    /// Parses a CLI name.
    pub fn parse(text: &str) -> Result<Feedback, String> {
        [
            Feedback::None,
            Feedback::NoGtTextual,
            Feedback::NoGtBinary,
            Feedback::GtTextual,
            Feedback::GtBinary,
        ]
        .into_iter()
        .find(|f| f.name() == text)
        .ok_or_else(|| {
            format!(
                "unknown feedback {text:?}: none, no-gt-textual, no-gt-binary, gt-textual or gt-binary"
            )
        })
    }

    fn knows_the_answer(self) -> bool {
        matches!(self, Feedback::GtTextual | Feedback::GtBinary)
    }

    fn binary(self) -> bool {
        matches!(self, Feedback::NoGtBinary | Feedback::GtBinary)
    }
}

/// How an episode ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// A proposal was correct.
    TaskSuccess,
    /// The proposals ran out.
    MaxProposeSteps,
    /// The steps ran out.
    MaxSteps,
    /// A model call failed for good (the context overflowed).
    Error,
}

impl Termination {
    /// The reference's name.
    pub fn name(self) -> &'static str {
        match self {
            Termination::TaskSuccess => "task_success",
            Termination::MaxProposeSteps => "max_propose_steps",
            Termination::MaxSteps => "max_steps",
            Termination::Error => "error",
        }
    }
}

/// An observation waiting for the feedback model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The step's observation.
    pub observation: String,
    /// Steps left.
    pub steps_left: u32,
    /// Proposals left.
    pub proposals_left: u32,
}

/// The state of one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The task (its reference is for the host and the GT feedback only).
    pub item: MintItem,
    /// Chances to act.
    pub k: u32,
    /// Most proposals.
    pub max_proposals: u32,
    /// The feedback mode.
    pub feedback: Feedback,
    /// The task as the model sees it (after the set's tweak).
    pub task: String,
    /// The system message.
    pub system: String,
    /// The conversation after the system message.
    pub messages: Vec<Message>,
    /// Proposals made.
    pub proposals: u32,
    /// Code cells run.
    pub tool_uses: u32,
    /// Turns with neither tag.
    pub invalid: u32,
    /// The code run so far, in order (replayed into a resumed session).
    pub cells: Vec<String>,
    /// The last proposal.
    pub solution: Option<String>,
    /// The observation waiting for feedback.
    pub pending: Option<Pending>,
    /// Feedback given, in order.
    pub feedback_given: Vec<String>,
    /// How it ended.
    pub end: Option<Termination>,
    /// The failed model call, when it ended in an error.
    pub error: Option<String>,
}

impl Episode {
    /// The proposal cap for `k` chances: 1 when k = 1, else 2.
    pub fn proposals_for(k: u32) -> u32 {
        if k <= 1 {
            1
        } else {
            2
        }
    }

    /// A fresh episode of `item` with `k` chances.
    pub fn new(
        templates: &Templates,
        item: MintItem,
        k: u32,
        feedback: Feedback,
    ) -> Result<Episode, hone_core::templates::TemplateError> {
        let max_proposals = Self::proposals_for(k);
        let task = templates.render(
            "mint_task_prompt.j2",
            serde_json::json!({
                "set": item.set,
                "answer_type": item.answer_type.clone().unwrap_or_default(),
                "prompt": item.prompt,
            }),
        )?;
        let example = example(templates, &item.set, feedback != Feedback::None)?;
        let first = templates.render(
            "mint_task.j2",
            serde_json::json!({
                "max_steps": k,
                "max_proposals": max_proposals,
                "tool": family(&item.set) == Family::Reasoning,
                "example": example.trim(),
                "task": task.trim(),
            }),
        )?;
        let (system, rest) = first
            .split_once("\n---\n")
            .map(|(s, r)| (s.to_string(), r.to_string()))
            .unwrap_or_else(|| (String::new(), first.clone()));
        Ok(Episode {
            item,
            k,
            max_proposals,
            feedback,
            task: task.trim().to_string(),
            system,
            messages: vec![Message::user(rest.trim())],
            proposals: 0,
            tool_uses: 0,
            invalid: 0,
            cells: Vec::new(),
            solution: None,
            pending: None,
            feedback_given: Vec::new(),
            end: None,
            error: None,
        })
    }

    /// Steps taken (proposals, code runs and invalid turns).
    pub fn steps(&self) -> u32 {
        self.proposals + self.tool_uses + self.invalid
    }

    /// The session key of this episode.
    fn session_key(&self) -> String {
        format!("{}#k{}", self.item.key(), self.k)
    }
}

/// The family's in-context trajectory.
fn example(
    templates: &Templates,
    set: &str,
    feedback: bool,
) -> Result<String, hone_core::templates::TemplateError> {
    let name = match set {
        "humaneval" => "mint_example_humaneval.j2",
        "mbpp" => "mint_example_mbpp.j2",
        _ => "mint_example_reasoning.j2",
    };
    templates.render(name, serde_json::json!({ "feedback": feedback }))
}

/// What an episode's nodes use.
#[derive(Clone)]
pub struct MintConfig {
    /// The evaluated model.
    pub model: Arc<dyn LanguageModel>,
    /// The simulated user (any backend; may be the same model).
    pub feedback_model: Arc<dyn LanguageModel>,
    /// Prompt templates (the `mint_*.j2` ones).
    pub templates: Arc<Templates>,
    /// Checks proposals.
    pub checker: MintChecker,
    /// The episodes' Python sessions.
    pub sessions: Sessions,
    /// Check proposals with hone's own checker instead of the reference's
    /// (`--strict-checks`).
    pub strict_checks: bool,
}

/// The stop strings of the evaluated model's calls.
pub const STOP: [&str; 4] = ["\nObservation:", "\nExpert feedback:", "\nTask:", "\n---"];

fn node_failed(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> NodeError {
    NodeError::caused(context, e)
}

/// The observation message after a step (countdown, a push to propose,
/// the feedback).
fn observation_message(
    templates: &Templates,
    pending: &Pending,
    feedback: Option<&str>,
) -> Result<String, NodeError> {
    Ok(templates
        .render(
            "mint_observation.j2",
            serde_json::json!({
                "observation": pending.observation,
                "steps_left": pending.steps_left,
                "proposals_left": pending.proposals_left,
                "feedback": feedback.unwrap_or_default(),
            }),
        )?
        .trim()
        .to_string())
}

async fn act(cfg: &MintConfig, mut ep: Episode, ctx: NodeContext) -> Result<Episode, NodeError> {
    let mut messages = Vec::with_capacity(ep.messages.len() + 1);
    if !ep.system.is_empty() {
        messages.push(Message::system(ep.system.clone()));
    }
    messages.extend(ep.messages.iter().cloned());
    let mut request = ChatRequest::new(messages)
        .with_temperature(0.0)
        .with_max_tokens(512);
    request.sampling.stop = STOP.iter().map(|s| s.to_string()).collect();
    request.template = Some("mint_task.j2".into());
    let response = match ctx.chat(cfg.model.as_ref(), &request).await {
        Ok(r) => r,
        Err(e @ ModelError::ContextOverflow { .. }) => {
            ep.error = Some(e.to_string());
            ep.end = Some(Termination::Error);
            return Ok(ep);
        }
        Err(e) => return Err(e.into()),
    };
    let text = response.first_text().trim().to_string();
    ep.messages.push(Message::assistant(text.clone()));
    let invalid_text = || -> Result<String, NodeError> {
        Ok(cfg
            .templates
            .render("mint_invalid_action.j2", serde_json::json!({}))?
            .trim()
            .to_string())
    };
    let observation = match parse_turn(&text) {
        Action::Propose(solution) => {
            ep.proposals += 1;
            ep.solution = Some(solution.clone());
            let checked = cfg
                .checker
                .check_with(cfg.strict_checks, &ep.item, &solution)
                .await
                .map_err(|e| node_failed("checking a MINT proposal", e))?;
            if checked.correct {
                ep.end = Some(Termination::TaskSuccess);
                return Ok(ep);
            }
            match checked.error {
                Some(error) => error,
                None => cfg
                    .templates
                    .render("mint_wrong_answer.j2", serde_json::json!({}))?
                    .trim()
                    .to_string(),
            }
        }
        Action::UnclosedProposal => {
            ep.proposals += 1;
            invalid_text()?
        }
        Action::Execute(code) => {
            ep.tool_uses += 1;
            let key = ep.session_key();
            let search = family(&ep.item.set) == Family::Reasoning;
            let observation = cfg
                .sessions
                .run(&key, search, &ep.cells, &code)
                .await
                .map_err(|e| node_failed("running MINT code in the sandbox", e))?;
            ep.cells.push(code);
            observation
        }
        Action::Invalid => {
            ep.invalid += 1;
            invalid_text()?
        }
    };
    if ep.proposals >= ep.max_proposals {
        ep.end = Some(Termination::MaxProposeSteps);
        return Ok(ep);
    }
    if ep.steps() >= ep.k {
        ep.end = Some(Termination::MaxSteps);
        return Ok(ep);
    }
    let pending = Pending {
        observation,
        steps_left: ep.k - ep.steps(),
        proposals_left: ep.max_proposals - ep.proposals,
    };
    if ep.feedback == Feedback::None {
        let message = observation_message(&cfg.templates, &pending, None)?;
        ep.messages.push(Message::user(message));
    } else {
        ep.pending = Some(pending);
    }
    Ok(ep)
}

/// What the feedback model is told the correct solution is.
pub fn ground_truth(item: &MintItem, feedback: Feedback) -> String {
    use serde_json::Value;
    if !feedback.knows_the_answer() {
        return "NOT GIVEN".into();
    }
    // A falsy reference (TheoremQA's False) shows as NOT GIVEN, as upstream.
    let falsy = match &item.reference {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    };
    if falsy {
        return "NOT GIVEN".into();
    }
    match item.set.as_str() {
        "theoremqa" | "humaneval" | "mbpp" | "mmlu" => py_str(&item.reference),
        _ => py_str(&item.reference).to_lowercase(),
    }
}

/// Binary feedback from the judge's reply: its first sentence decides
/// (GOOD, else BAD, else no feedback this turn).
///
/// ```
/// use hone_bench::mint::episode::binary_feedback;
/// assert_eq!(binary_feedback("This is GOOD. Keep going."), Some("This is GOOD."));
/// assert_eq!(binary_feedback("This is BAD! The sum is off. GOOD luck"), Some("This is BAD."));
/// assert_eq!(binary_feedback("Hmm. This is GOOD."), None);
/// ```
pub fn binary_feedback(reply: &str) -> Option<&'static str> {
    let first = reply
        .trim()
        .split(['.', '!', '?', '\n'])
        .next()
        .unwrap_or_default();
    if first.contains("GOOD") {
        Some("This is GOOD.")
    } else if first.contains("BAD") {
        Some("This is BAD.")
    } else {
        None
    }
}

async fn give_feedback(
    cfg: &MintConfig,
    mut ep: Episode,
    ctx: NodeContext,
) -> Result<Episode, NodeError> {
    let Some(pending) = ep.pending.take() else {
        return Ok(ep);
    };
    // The trajectory from "Task:" on, with the current observation.
    let mut trajectory = format!("Task:\n{}\n", ep.task);
    for m in ep.messages.iter().skip(1) {
        let who = match m.role {
            hone_core::Role::Assistant => "Assistant",
            _ => "",
        };
        if who.is_empty() {
            trajectory.push_str(&format!("{}\n", m.content));
        } else {
            trajectory.push_str(&format!("{who}:\n{}\n", m.content));
        }
    }
    trajectory.push_str(&observation_message(&cfg.templates, &pending, None)?);
    let example = example(&cfg.templates, &ep.item.set, true)?;
    let prompt = cfg.templates.prompt(
        "mint_feedback.j2",
        serde_json::json!({
            "example": example.trim(),
            "tool": family(&ep.item.set) == Family::Reasoning,
            "trajectory": trajectory.trim(),
            "ground_truth": ground_truth(&ep.item, ep.feedback),
            "binary": ep.feedback.binary(),
        }),
    )?;
    let request = ChatRequest::from_prompt(prompt)
        .with_temperature(0.0)
        .with_max_tokens(1024);
    let reply = ctx
        .chat(cfg.feedback_model.as_ref(), &request)
        .await?
        .first_text()
        .trim()
        .to_string();
    let feedback = if ep.feedback.binary() {
        binary_feedback(&reply).map(str::to_string)
    } else {
        Some(reply)
    };
    if let Some(f) = &feedback {
        ep.feedback_given.push(f.clone());
    }
    let message = observation_message(&cfg.templates, &pending, feedback.as_deref())?;
    ep.messages.push(Message::user(message));
    Ok(ep)
}

/// The episode graph.
pub fn graph(cfg: MintConfig) -> Result<Graph<Episode>, hone_core::graph::GraphError> {
    let (a, b) = (cfg.clone(), cfg);
    GraphBuilder::<Episode>::new("mint")
        .node(
            "act",
            node_fn(move |ep, ctx| {
                let cfg = a.clone();
                async move { act(&cfg, ep, ctx).await }
            }),
        )
        .router("act", &["act", "feedback"], |ep: &Episode| {
            if ep.end.is_some() {
                Route::End
            } else if ep.pending.is_some() {
                Route::to("feedback")
            } else {
                Route::to("act")
            }
        })
        .node(
            "feedback",
            node_fn(move |ep, ctx| {
                let cfg = b.clone();
                async move { give_feedback(&cfg, ep, ctx).await }
            }),
        )
        .edge("feedback", "act")
        .entry("act")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(set: &str, reference: serde_json::Value) -> MintItem {
        MintItem {
            set: set.into(),
            id: "0".into(),
            prompt: "p".into(),
            reference,
            answer_type: None,
            entry_point: None,
        }
    }

    #[test]
    fn the_feedback_model_sees_the_reference_only_in_gt_modes_and_never_a_falsy_one() {
        let gsm = item("gsm8k", "Yes".into());
        assert_eq!(ground_truth(&gsm, Feedback::NoGtTextual), "NOT GIVEN");
        assert_eq!(ground_truth(&gsm, Feedback::GtTextual), "yes");
        let tq = item("theoremqa", serde_json::json!(false));
        assert_eq!(ground_truth(&tq, Feedback::GtBinary), "NOT GIVEN");
        let tq = item("theoremqa", serde_json::json!([1, 6]));
        assert_eq!(ground_truth(&tq, Feedback::GtBinary), "[1, 6]");
        let mmlu = item("mmlu", "c".into());
        assert_eq!(ground_truth(&mmlu, Feedback::GtTextual), "c");
    }

    #[test]
    fn a_new_episode_puts_the_rules_in_the_system_message_and_the_task_last() {
        let templates = hone_agents::templates::embedded();
        let mut he = item("humaneval", "tests".into());
        he.prompt = "def f():\n    pass\n".into();
        let ep = Episode::new(&templates, he, 1, Feedback::None).unwrap();
        assert_eq!(ep.max_proposals, 1);
        assert!(ep.system.contains("1 chance(s) to act"), "{}", ep.system);
        assert!(
            !ep.system.contains("wikipedia_search"),
            "no search tool for code"
        );
        let first = &ep.messages[0].content;
        assert!(
            first.ends_with("Task:\nComplete the following code:\n\ndef f():\n    pass"),
            "{first}"
        );
        assert!(
            !first.contains("Expert feedback"),
            "no feedback in the example when off"
        );
        let mut mbpp = item("mbpp", "tests".into());
        mbpp.prompt = "\"\"\"\nWrite f.\n\"\"\"".into();
        let ep = Episode::new(&templates, mbpp, 5, Feedback::GtTextual).unwrap();
        assert!(ep.task == "Write f.", "{:?}", ep.task);
        assert!(ep.messages[0]
            .content
            .contains("Expert feedback:\nThis is BAD."));
    }
}
