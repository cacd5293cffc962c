//! [`ToolAgent`]: the tool-calling loop. The model answers or calls tools;
//! hone runs the calls and sends their results back; until the model
//! answers or the step budget is spent.
//!
//! ```
//! use hone_agents::prelude::*;
//! use hone_agents::tool::{JsonSchema, Tool};
//! use hone_core::{ChatResponse, ScriptedModel, ToolCall};
//!
//! struct Clock;
//! #[derive(serde::Deserialize, JsonSchema)]
//! struct NoArgs {}
//!
//! impl Tool for Clock {
//!     type Args = NoArgs;
//!     type Output = &'static str;
//!     type Error = std::convert::Infallible;
//!     fn name(&self) -> &str { "clock" }
//!     fn description(&self) -> &str { "The current time, HH:MM." }
//!     async fn call(&self, _: NoArgs) -> Result<&'static str, Self::Error> { Ok("09:30") }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let model = ScriptedModel::new();
//! model.push_response(ChatResponse::tool_calls("m", vec![ToolCall {
//!     id: "c1".into(), name: "clock".into(), arguments: "{}".into(),
//! }]));
//! model.push_text("It is half past nine.");
//!
//! let agent = ToolAgent::builder(model).tool(Clock).max_steps(4).build().unwrap();
//! let run = agent.run("What time is it?", RunOptions::default()).await.unwrap();
//! assert_eq!(run.state.answer.as_deref(), Some("It is half past nine."));
//! assert_eq!(run.state.calls[0].outcome.output, "09:30");
//! # });
//! ```
//!
//! The loop is a hone graph (`model` → `tools` → `model` …), so a run is
//! budgeted, traced and checkpointed like any other: resuming it after a
//! crash never calls a tool twice, because the tool results are part of
//! the checkpointed state. The model is called with streaming: text
//! arrives as [`AgentEvent::TextDelta`] while tool calls are assembled
//! from their fragments; each executed call is an [`AgentEvent::ToolCalled`].
//!
//! The step budget counts model turns. The last allowed turn is sent with
//! tool choice `none`, so the model answers with what it has; a model that
//! calls tools anyway ends the run with [`ToolState::out_of_steps`] set.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use hone_core::graph::{
    Graph, GraphBuilder, GraphError, Node, NodeContext, NodeError, Route, RunOptions, RunOutcome,
};
use hone_core::{
    ChatRequest, LanguageModel, Message, Role, Sampling, ToolCall, ToolChoice, ToolSpec,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::events::AgentEvent;
use crate::tool::{Tool, ToolOutcome, Toolbox, ToolboxError};

/// One executed tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRecord {
    /// Model turn (1-based) that asked for it.
    pub turn: u32,
    /// The call as the model made it.
    pub call: ToolCall,
    /// What came back.
    pub outcome: ToolOutcome,
}

/// The state of a tool-calling run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolState {
    /// The conversation: the prompt, the model's turns and the tool results.
    pub messages: Vec<Message>,
    /// Every executed call, in order.
    pub calls: Vec<ToolRecord>,
    /// Model turns so far.
    pub turns: u32,
    /// Most model turns.
    pub max_steps: u32,
    /// The model's final answer, once it answered without calling a tool.
    pub answer: Option<String>,
    /// Whether the model still called tools on its last allowed turn.
    pub out_of_steps: bool,
}

impl ToolState {
    /// A conversation of `messages`, allowed `max_steps` model turns.
    pub fn new(messages: Vec<Message>, max_steps: u32) -> Self {
        ToolState {
            messages,
            calls: Vec::new(),
            turns: 0,
            max_steps: max_steps.max(1),
            answer: None,
            out_of_steps: false,
        }
    }

    fn pending_calls(&self) -> &[ToolCall] {
        match self.messages.last() {
            Some(m) if m.role == Role::Assistant && self.answer.is_none() => &m.tool_calls,
            _ => &[],
        }
    }
}

/// Why a [`ToolAgent`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ToolAgentError {
    /// A tool could not be added.
    #[error(transparent)]
    Toolbox(#[from] ToolboxError),
    /// The graph did not validate.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// Builds a [`ToolAgent`]; start from [`ToolAgent::builder`].
pub struct ToolAgentBuilder {
    model: Arc<dyn LanguageModel>,
    tools: Toolbox,
    error: Option<ToolboxError>,
    system: Option<String>,
    max_steps: u32,
    sampling: Sampling,
    first_choice: ToolChoice,
}

impl ToolAgentBuilder {
    /// Offers `tool` to the model. A name clash is reported by `build`.
    pub fn tool(mut self, tool: impl Tool) -> Self {
        if let Err(e) = self.tools.add(tool) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// Offers every tool of `tools`.
    pub fn toolbox(mut self, tools: Toolbox) -> Self {
        self.tools = tools;
        self
    }

    /// A system message put before every prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Most model turns per run (default 8).
    pub fn max_steps(mut self, max_steps: u32) -> Self {
        self.max_steps = max_steps.max(1);
        self
    }

    /// Sampling of every call (default: temperature 0, 1024 tokens).
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// The tool choice of the first turn (default [`ToolChoice::Auto`]);
    /// later turns use `Auto`, the last one `None`. `Required` makes a
    /// small model that would rather guess use a tool.
    pub fn first_tool_choice(mut self, choice: ToolChoice) -> Self {
        self.first_choice = choice;
        self
    }

    /// Builds the agent.
    pub fn build(self) -> Result<ToolAgent, ToolAgentError> {
        if let Some(e) = self.error {
            return Err(e.into());
        }
        let shared = Arc::new(Shared {
            specs: self.tools.specs(),
            tools: self.tools,
            model: self.model,
            sampling: self.sampling,
            first_choice: self.first_choice,
        });
        let graph = GraphBuilder::new("tool-agent")
            .node("model", ModelTurn(shared.clone()))
            .router("model", &["tools"], |s: &ToolState| {
                if s.pending_calls().is_empty() || s.out_of_steps {
                    Route::End
                } else {
                    Route::to("tools")
                }
            })
            .node("tools", RunTools(shared))
            .edge("tools", "model")
            .entry("model")
            .build()?;
        Ok(ToolAgent {
            graph,
            system: self.system,
            max_steps: self.max_steps,
        })
    }
}

struct Shared {
    model: Arc<dyn LanguageModel>,
    tools: Toolbox,
    specs: Vec<ToolSpec>,
    sampling: Sampling,
    first_choice: ToolChoice,
}

/// A model that answers questions with the help of tools. See the
/// [module docs](self).
pub struct ToolAgent {
    graph: Graph<ToolState>,
    system: Option<String>,
    max_steps: u32,
}

impl ToolAgent {
    /// Starts building an agent on `model`.
    pub fn builder(model: impl LanguageModel + 'static) -> ToolAgentBuilder {
        ToolAgentBuilder {
            model: Arc::new(model),
            tools: Toolbox::new(),
            error: None,
            system: None,
            max_steps: 8,
            sampling: Sampling {
                temperature: Some(0.0),
                max_tokens: Some(1024),
                ..Sampling::default()
            },
            first_choice: ToolChoice::Auto,
        }
    }

    /// Answers `prompt` (a user message after the system message, if any).
    pub async fn run(
        &self,
        prompt: impl Into<String>,
        options: RunOptions,
    ) -> Result<RunOutcome<ToolState>, GraphError> {
        let mut messages = Vec::new();
        if let Some(system) = &self.system {
            messages.push(Message::system(system.clone()));
        }
        messages.push(Message::user(prompt));
        self.run_conversation(messages, options).await
    }

    /// Continues `messages` (a conversation of your own).
    pub async fn run_conversation(
        &self,
        messages: Vec<Message>,
        options: RunOptions,
    ) -> Result<RunOutcome<ToolState>, GraphError> {
        self.graph
            .run(ToolState::new(messages, self.max_steps), options)
            .await
    }

    /// Continues the run checkpointed in `log` from its last completed step.
    pub async fn resume(
        &self,
        log: impl AsRef<Path>,
        options: RunOptions,
    ) -> Result<RunOutcome<ToolState>, GraphError> {
        self.graph.resume(log.as_ref(), options).await
    }

    /// The graph, to run directly or to draw.
    pub fn graph(&self) -> &Graph<ToolState> {
        &self.graph
    }
}

/// One model turn: streamed, with the tools offered.
struct ModelTurn(Arc<Shared>);

#[async_trait]
impl Node<ToolState> for ModelTurn {
    async fn run(&self, mut state: ToolState, ctx: NodeContext) -> Result<ToolState, NodeError> {
        let turn = state.turns + 1;
        let last = turn >= state.max_steps;
        let mut request = ChatRequest::new(state.messages.clone());
        request.sampling = self.0.sampling.clone();
        if !self.0.specs.is_empty() {
            request.tools = self.0.specs.clone();
            request.tool_choice = if last {
                ToolChoice::None
            } else if turn == 1 {
                self.0.first_choice.clone()
            } else {
                ToolChoice::Auto
            };
        }
        let response = ctx
            .chat_stream(self.0.model.as_ref(), &request, |choice, text| {
                if choice == 0 {
                    AgentEvent::TextDelta {
                        turn,
                        text: text.to_string(),
                    }
                    .emit(&ctx);
                }
            })
            .await?;
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| NodeError::failed("the model answered without any choice"))?;
        let mut calls = choice.tool_calls;
        // Some servers stream calls without ids; the tool message must
        // name the call it answers.
        for (i, call) in calls.iter_mut().enumerate() {
            if call.id.is_empty() {
                call.id = format!("call_{turn}_{i}");
            }
        }
        state.turns = turn;
        if calls.is_empty() {
            state.answer = Some(choice.text.clone());
        } else if last {
            state.out_of_steps = true;
        }
        state.messages.push(Message {
            tool_calls: calls,
            ..Message::assistant(choice.text)
        });
        Ok(state)
    }
}

/// Runs the calls of the last model turn, concurrently, and answers each.
struct RunTools(Arc<Shared>);

#[async_trait]
impl Node<ToolState> for RunTools {
    async fn run(&self, mut state: ToolState, ctx: NodeContext) -> Result<ToolState, NodeError> {
        let calls = state.pending_calls().to_vec();
        let outcomes = futures::future::join_all(calls.iter().map(|call| {
            let span = tracing::info_span!(
                "execute_tool",
                otel.name = %format_args!("execute_tool {}", call.name),
                gen_ai.operation.name = "execute_tool",
                gen_ai.tool.name = %call.name,
                gen_ai.tool.call.id = %call.id,
                hone.tool.ok = tracing::field::Empty,
            );
            let tools = &self.0.tools;
            async move {
                let outcome = tools.call(&call.name, &call.arguments).await;
                tracing::Span::current().record("hone.tool.ok", outcome.ok);
                outcome
            }
            .instrument(span)
        }))
        .await;
        for (call, outcome) in calls.into_iter().zip(outcomes) {
            let content = outcome.content();
            ctx.record_tool_call(&call.name, outcome.ok, outcome.duration, &content);
            AgentEvent::ToolCalled {
                turn: state.turns,
                name: call.name.clone(),
                arguments: call.arguments.clone(),
                ok: outcome.ok,
                output: outcome.output.clone(),
            }
            .emit(&ctx);
            state
                .messages
                .push(Message::tool_result(call.id.clone(), content));
            state.calls.push(ToolRecord {
                turn: state.turns,
                call,
                outcome,
            });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::JsonSchema;
    use hone_core::{Budget, ChatResponse, ScriptedModel};

    struct Echo;

    #[derive(Deserialize, JsonSchema)]
    struct EchoArgs {
        text: String,
    }

    impl Tool for Echo {
        type Args = EchoArgs;
        type Output = String;
        type Error = std::convert::Infallible;
        fn name(&self) -> &str {
            "echo"
        }
        fn description(&self) -> &str {
            "Returns its text."
        }
        async fn call(&self, args: EchoArgs) -> Result<String, Self::Error> {
            Ok(args.text)
        }
    }

    fn call(id: &str, text: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: "echo".into(),
            arguments: serde_json::json!({ "text": text }).to_string(),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn results_go_back_to_the_model_in_the_order_of_the_calls() {
        let model = ScriptedModel::new();
        model.push_response(ChatResponse::tool_calls(
            "m",
            vec![call("a", "one"), call("", "two")],
        ));
        model.push_text("done");
        let agent = ToolAgent::builder(model.clone())
            .system("Use tools.")
            .tool(Echo)
            .build()
            .unwrap();
        let out = rt()
            .block_on(agent.run("go", RunOptions::default()))
            .unwrap();
        assert_eq!(out.state.answer.as_deref(), Some("done"));
        assert_eq!(out.state.turns, 2);
        let second = &model.requests()[1];
        let tool_msgs: Vec<_> = second
            .messages
            .iter()
            .filter(|m| m.role == Role::Tool)
            .collect();
        assert_eq!(tool_msgs.len(), 2);
        assert_eq!(tool_msgs[0].tool_call_id.as_deref(), Some("a"));
        assert_eq!(tool_msgs[0].content, "one");
        // The call without an id got one, and its answer names it.
        assert_eq!(tool_msgs[1].tool_call_id.as_deref(), Some("call_1_1"));
        assert_eq!(second.messages[0].role, Role::System);
        assert_eq!(second.tools[0].name, "echo");
    }

    #[test]
    fn the_last_turn_is_asked_without_tools_and_a_model_that_insists_stops() {
        let model = ScriptedModel::new();
        for i in 0..3 {
            model.push_response(ChatResponse::tool_calls(
                "m",
                vec![call(&i.to_string(), "x")],
            ));
        }
        let agent = ToolAgent::builder(model.clone())
            .tool(Echo)
            .max_steps(3)
            .build()
            .unwrap();
        let out = rt()
            .block_on(agent.run("go", RunOptions::default()))
            .unwrap();
        assert!(out.stop.is_finished());
        assert!(out.state.out_of_steps);
        assert_eq!(out.state.answer, None);
        // Two turns' calls ran; the third turn's did not.
        assert_eq!(out.state.calls.len(), 2);
        let choices: Vec<_> = model
            .requests()
            .iter()
            .map(|r| r.tool_choice.clone())
            .collect();
        assert_eq!(
            choices,
            [ToolChoice::Auto, ToolChoice::Auto, ToolChoice::None]
        );
    }

    #[test]
    fn a_model_call_budget_stops_the_loop_with_what_it_has() {
        let model = ScriptedModel::new();
        model.push_response(ChatResponse::tool_calls("m", vec![call("a", "x")]));
        model.push_text("never reached");
        let agent = ToolAgent::builder(model).tool(Echo).build().unwrap();
        let options = RunOptions::default().with_budget(Budget::unlimited().with_model_calls(1));
        let out = rt().block_on(agent.run("go", options)).unwrap();
        assert!(matches!(
            out.stop,
            hone_core::graph::StopReason::Budget { .. }
        ));
        assert_eq!(out.state.calls.len(), 1);
        assert_eq!(out.state.answer, None);
    }

    #[test]
    fn the_first_turn_can_require_a_tool() {
        let model = ScriptedModel::in_order(["fine"]);
        let agent = ToolAgent::builder(model.clone())
            .tool(Echo)
            .first_tool_choice(ToolChoice::Required)
            .build()
            .unwrap();
        rt().block_on(agent.run("go", RunOptions::default()))
            .unwrap();
        assert_eq!(model.requests()[0].tool_choice, ToolChoice::Required);
    }
}
