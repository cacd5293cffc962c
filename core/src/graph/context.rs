//! [`NodeContext`]: what a node sees of its run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::budget::{Budget, BudgetTracker, UsageCount};
use crate::graph::events::{EventSender, RunEvent};
use futures::StreamExt;

use crate::model::{ChatRequest, ChatResponse, LanguageModel, ModelError, StreamEvent};

pub(crate) struct RunShared {
    pub(crate) run_id: String,
    pub(crate) tracker: BudgetTracker,
    pub(crate) events: Option<EventSender>,
}

impl RunShared {
    pub(crate) fn emit(&self, event: RunEvent) {
        if let Some(tx) = &self.events {
            // A consumer that went away must not stop the run.
            let _ = tx.send(event);
        }
    }
}

struct CtxInner {
    node: Arc<str>,
    step: u64,
    branch: Option<usize>,
    run: Arc<RunShared>,
    usage: Mutex<BTreeMap<String, UsageCount>>,
}

/// The handle a node gets to its run: budgeted, accounted and traced model
/// calls, custom events, and its position in the run. Cheap to clone.
///
/// Outside a graph, [`NodeContext::detached`] gives a context with its own
/// budget, so agent code can be called directly.
///
/// ```
/// use hone_core::{graph::NodeContext, Budget, ChatRequest, Message, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ctx = NodeContext::detached(Budget::unlimited().with_model_calls(1));
/// let model = ScriptedModel::in_order(["one", "two"]);
/// let req = ChatRequest::new(vec![Message::user("hi")]);
/// assert_eq!(ctx.chat(&model, &req).await.unwrap().first_text(), "one");
/// assert!(ctx.chat(&model, &req).await.is_err()); // budget: one call
/// # });
/// ```
#[derive(Clone)]
pub struct NodeContext {
    inner: Arc<CtxInner>,
}

impl std::fmt::Debug for NodeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeContext")
            .field("node", &self.inner.node)
            .field("step", &self.inner.step)
            .finish()
    }
}

impl NodeContext {
    pub(crate) fn new(
        run: Arc<RunShared>,
        node: Arc<str>,
        step: u64,
        branch: Option<usize>,
    ) -> Self {
        NodeContext {
            inner: Arc::new(CtxInner {
                node,
                step,
                branch,
                run,
                usage: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// A context outside any graph, with its own budget and no events.
    pub fn detached(budget: Budget) -> Self {
        Self::detached_with_events(budget, None)
    }

    /// A context outside any graph, with its own budget, sending events to `events`.
    pub fn detached_with_events(budget: Budget, events: Option<EventSender>) -> Self {
        let run = Arc::new(RunShared {
            run_id: String::new(),
            tracker: BudgetTracker::new(budget),
            events,
        });
        Self::new(run, Arc::from(""), 0, None)
    }

    /// Name of the running node (`""` when detached).
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Step number (1-based; 0 when detached).
    pub fn step(&self) -> u64 {
        self.inner.step
    }

    /// Branch index inside a fan-out or map.
    pub fn branch(&self) -> Option<usize> {
        self.inner.branch
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.inner.run.run_id
    }

    /// The run's budget tracker (shared by all nodes of the run).
    pub fn budget(&self) -> &BudgetTracker {
        &self.inner.run.tracker
    }

    /// Usage of the model calls made through this context, per model.
    pub fn usage(&self) -> BTreeMap<String, UsageCount> {
        self.inner
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Calls `model`, after claiming a call from the run's budget. Records
    /// usage per run, node and model, emits a [`RunEvent::ModelCall`] and
    /// wraps the call in a `tracing` span with OpenTelemetry GenAI attribute
    /// names (`gen_ai.request.model`, `gen_ai.usage.input_tokens`, …).
    pub async fn chat(
        &self,
        model: &dyn LanguageModel,
        request: &ChatRequest,
    ) -> Result<ChatResponse, ModelError> {
        let (span, model_key) = self.begin_call(model, request)?;
        let started = Instant::now();
        let result = model.chat(request).instrument(span.clone()).await;
        self.finish_call(model_key, &span, started, result)
    }

    /// Like [`NodeContext::chat`], but streams: `on_delta(choice, text)` sees
    /// each piece of text as the model writes it, and the complete response
    /// (text and tool calls, assembled from their fragments) is returned at
    /// the end. Budget, usage and tracing are those of a `chat` call.
    ///
    /// ```
    /// use hone_core::{graph::NodeContext, Budget, ChatRequest, Message, ScriptedModel};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let ctx = NodeContext::detached(Budget::unlimited());
    /// let model = ScriptedModel::in_order(["streamed"]);
    /// let mut seen = String::new();
    /// let req = ChatRequest::new(vec![Message::user("hi")]);
    /// let response = ctx.chat_stream(&model, &req, |_, text| seen.push_str(text)).await.unwrap();
    /// assert_eq!(seen, response.first_text());
    /// # });
    /// ```
    pub async fn chat_stream(
        &self,
        model: &dyn LanguageModel,
        request: &ChatRequest,
        mut on_delta: impl FnMut(u32, &str) + Send,
    ) -> Result<ChatResponse, ModelError> {
        let (span, model_key) = self.begin_call(model, request)?;
        let started = Instant::now();
        let result = async {
            let mut stream = model.chat_stream(request).await?;
            while let Some(event) = stream.next().await {
                match event? {
                    StreamEvent::Delta { choice, text } => on_delta(choice, &text),
                    StreamEvent::Done(response) => return Ok(response),
                }
            }
            Err(ModelError::Malformed(
                "the stream ended without its final response".into(),
            ))
        }
        .instrument(span.clone())
        .await;
        self.finish_call(model_key, &span, started, result)
    }

    /// Claims a model call from the budget and opens its span; returns it
    /// with the model's `backend/model` key for the usage ledger.
    fn begin_call(
        &self,
        model: &dyn LanguageModel,
        request: &ChatRequest,
    ) -> Result<(tracing::Span, String), ModelError> {
        let tracker = &self.inner.run.tracker;
        if let Err(exhausted) = tracker.begin_model_call() {
            self.inner.run.emit(RunEvent::BudgetExhausted(exhausted));
            return Err(ModelError::BudgetExhausted(exhausted));
        }
        let descriptor = model.descriptor();
        let span = tracing::info_span!(
            "chat",
            otel.name = %format_args!("chat {}", descriptor.model),
            otel.kind = "client",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = %descriptor.backend,
            gen_ai.request.model = %descriptor.model,
            gen_ai.request.temperature = request.sampling.temperature.map(f64::from),
            gen_ai.request.top_p = request.sampling.top_p.map(f64::from),
            gen_ai.request.max_tokens = request.sampling.max_tokens,
            gen_ai.request.seed = request.sampling.seed,
            gen_ai.request.choice.count = request.sampling.n,
            gen_ai.response.model = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            hone.node = %self.inner.node,
            hone.template = request.template.as_deref(),
            hone.cache_hit = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        Ok((span, format!("{}/{}", descriptor.backend, descriptor.model)))
    }

    /// Records a finished call: span attributes, usage, the run event.
    fn finish_call(
        &self,
        model_key: String,
        span: &tracing::Span,
        started: Instant,
        result: Result<ChatResponse, ModelError>,
    ) -> Result<ChatResponse, ModelError> {
        let tracker = &self.inner.run.tracker;
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => {
                let reasons: Vec<String> = response
                    .choices
                    .iter()
                    .map(|c| format!("{:?}", c.finish_reason).to_lowercase())
                    .collect();
                span.record("gen_ai.response.model", response.model.as_str());
                span.record(
                    "gen_ai.response.finish_reasons",
                    tracing::field::debug(&reasons),
                );
                span.record("gen_ai.usage.input_tokens", response.usage.input_tokens);
                span.record("gen_ai.usage.output_tokens", response.usage.output_tokens);
                span.record("hone.cache_hit", response.from_cache);
                tracker.record_model_call(
                    &self.inner.node,
                    &model_key,
                    response.usage,
                    response.from_cache,
                );
                let mut count = UsageCount::default();
                count.record(response.usage, response.from_cache);
                self.inner
                    .usage
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(model_key.clone())
                    .or_default()
                    .add(&count);
                self.inner.run.emit(RunEvent::ModelCall {
                    step: self.inner.step,
                    node: self.inner.node.to_string(),
                    model: model_key,
                    usage: count,
                    duration_ms,
                    error: None,
                });
            }
            Err(e) => {
                span.record("error.type", tracing::field::display(e));
                // A failed call produced no tokens but did use the budget slot:
                // the provider may have billed it, and a retry storm must not
                // run forever.
                tracker.record_model_call(&self.inner.node, &model_key, Default::default(), false);
                self.inner.run.emit(RunEvent::ModelCall {
                    step: self.inner.step,
                    node: self.inner.node.to_string(),
                    model: model_key,
                    usage: UsageCount::default(),
                    duration_ms,
                    error: Some(e.to_string()),
                });
            }
        }
        result
    }

    /// Emits a node-defined event (attempt, critique, test result, tree growth…).
    pub fn emit(&self, kind: &str, data: serde_json::Value) {
        self.inner.run.emit(RunEvent::Custom {
            step: self.inner.step,
            node: self.inner.node.to_string(),
            kind: kind.to_string(),
            data,
        });
    }

    /// Reports a tool call made by the node.
    pub fn record_tool_call(&self, tool: &str, ok: bool, duration: Duration, summary: &str) {
        tracing::info!(
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = tool,
            ok,
            duration_ms = duration.as_millis() as u64,
            "tool call"
        );
        self.inner.run.emit(RunEvent::ToolCall {
            step: self.inner.step,
            node: self.inner.node.to_string(),
            tool: tool.to_string(),
            ok,
            duration_ms: duration.as_millis() as u64,
            summary: summary.to_string(),
        });
    }
}
