//! An OpenAI-compatible chat-completions server for any [`LanguageModel`]
//! (`hone serve`): `POST /v1/chat/completions` (plain JSON, or server-sent
//! events with `stream: true`, ending in `data: [DONE]`) and
//! `GET /v1/models`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hone_core::{LanguageModel, ScriptedModel};
//! # async fn run() -> Result<(), hone_local::serve::ServeError> {
//! let model: Arc<dyn LanguageModel> = Arc::new(ScriptedModel::in_order(["hello"]));
//! let addr = "127.0.0.1:8080".parse().unwrap();
//! hone_local::serve::serve(model, addr, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use hone_core::{
    ChatRequest, ChatResponse, FinishReason, LanguageModel, Message, ModelError, ResponseFormat,
    Role, Sampling, StreamEvent, ToolCall, ToolChoice, ToolSpec,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Server settings.
///
/// ```
/// let opts = hone_local::serve::ServeOptions { model_id: Some("local".into()), ..Default::default() };
/// assert!(opts.max_body_bytes > 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The model id reported to clients; defaults to the model's descriptor
    /// name. Requests may name any model: the one loaded answers.
    pub model_id: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            model_id: None,
            max_body_bytes: 16 << 20,
        }
    }
}

/// What can go wrong running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

struct AppState {
    model: Arc<dyn LanguageModel>,
    model_id: String,
    counter: AtomicU64,
}

/// Binds `addr` and serves `model` until `shutdown` completes.
pub async fn serve(
    model: Arc<dyn LanguageModel>,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_with(model, listener, ServeOptions::default(), shutdown).await
}

/// Serves `model` on an already bound listener (bind port 0 to let the OS
/// choose, and read the address from the listener) until `shutdown`
/// completes.
pub async fn serve_with(
    model: Arc<dyn LanguageModel>,
    listener: TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, model = %model.descriptor(), "serving OpenAI-compatible chat completions");
    }
    axum::serve(listener, router(model, options))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The server's routes, for embedding in another axum application.
pub fn router(model: Arc<dyn LanguageModel>, options: ServeOptions) -> Router {
    let model_id = options
        .model_id
        .clone()
        .unwrap_or_else(|| model.descriptor().model);
    let state = Arc::new(AppState {
        model,
        model_id,
        counter: AtomicU64::new(0),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .layer(axum::extract::DefaultBodyLimit::max(options.max_body_bytes))
        .with_state(state)
}

// ---- wire types (the subset of the OpenAI protocol hone uses) ----

#[derive(Debug, Deserialize)]
struct WireRequest {
    #[serde(default)]
    messages: Vec<WireMessage>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    top_p: Option<f32>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    max_completion_tokens: Option<u32>,
    #[serde(default)]
    stop: Option<StopField>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
    #[serde(default)]
    response_format: Option<Value>,
    #[serde(default)]
    tools: Option<Vec<WireTool>>,
    #[serde(default)]
    tool_choice: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StopField {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    role: String,
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    tool_call_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

#[derive(Debug, Deserialize)]
struct WirePart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: String,
    function: WireFunctionCall,
}

#[derive(Debug, Deserialize)]
struct WireFunctionCall {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Debug, Deserialize)]
struct WireTool {
    function: WireFunction,
}

#[derive(Debug, Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

fn bad_request(message: impl Into<String>) -> ModelError {
    ModelError::Rejected {
        status: 400,
        message: message.into(),
    }
}

fn to_message(m: WireMessage) -> Result<Message, ModelError> {
    let role = match m.role.as_str() {
        "system" | "developer" => Role::System,
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        other => return Err(bad_request(format!("unknown message role {other:?}"))),
    };
    let content = match m.content {
        None => String::new(),
        Some(WireContent::Text(t)) => t,
        Some(WireContent::Parts(parts)) => {
            let mut text = String::new();
            for part in parts {
                match (part.kind.as_str(), part.text) {
                    ("text", Some(t)) => text.push_str(&t),
                    (kind, _) => {
                        return Err(bad_request(format!(
                            "content parts of type {kind:?} are not supported"
                        )))
                    }
                }
            }
            text
        }
    };
    Ok(Message {
        role,
        content,
        tool_calls: m
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.function.name,
                arguments: c.function.arguments,
            })
            .collect(),
        tool_call_id: m.tool_call_id,
    })
}

fn to_response_format(v: Option<Value>) -> Result<ResponseFormat, ModelError> {
    let Some(v) = v else {
        return Ok(ResponseFormat::Text);
    };
    match v.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let spec = v.get("json_schema").cloned().unwrap_or(Value::Null);
            Ok(ResponseFormat::JsonSchema {
                name: spec
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("response")
                    .to_string(),
                schema: spec.get("schema").cloned().unwrap_or(json!({})),
            })
        }
        Some(other) => Err(bad_request(format!("unknown response_format {other:?}"))),
    }
}

fn to_tool_choice(v: Option<Value>) -> Result<ToolChoice, ModelError> {
    match v {
        None => Ok(ToolChoice::Auto),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(bad_request(format!("unknown tool_choice {other:?}"))),
        },
        Some(v) => v
            .pointer("/function/name")
            .and_then(Value::as_str)
            .map(|n| ToolChoice::Tool(n.to_string()))
            .ok_or_else(|| bad_request("tool_choice object without function.name")),
    }
}

fn to_chat_request(w: WireRequest) -> Result<(ChatRequest, bool, bool), ModelError> {
    if w.messages.is_empty() {
        return Err(bad_request("messages must not be empty"));
    }
    let messages = w
        .messages
        .into_iter()
        .map(to_message)
        .collect::<Result<Vec<_>, _>>()?;
    let request = ChatRequest {
        messages,
        sampling: Sampling {
            temperature: w.temperature,
            top_p: w.top_p,
            max_tokens: w.max_completion_tokens.or(w.max_tokens),
            stop: match w.stop {
                None => Vec::new(),
                Some(StopField::One(s)) => vec![s],
                Some(StopField::Many(v)) => v,
            },
            seed: w.seed,
            n: w.n.unwrap_or(1),
        },
        response_format: to_response_format(w.response_format)?,
        tools: w
            .tools
            .unwrap_or_default()
            .into_iter()
            .map(|t| ToolSpec {
                name: t.function.name,
                description: t.function.description.unwrap_or_default(),
                parameters: t.function.parameters.unwrap_or_else(|| json!({})),
            })
            .collect(),
        tool_choice: to_tool_choice(w.tool_choice)?,
        sample_index: 0,
    };
    let include_usage = w.stream_options.is_some_and(|o| o.include_usage);
    Ok((request, w.stream, include_usage))
}

fn finish_reason(f: &FinishReason) -> String {
    match f {
        FinishReason::Stop => "stop".into(),
        FinishReason::Length => "length".into(),
        FinishReason::ToolCalls => "tool_calls".into(),
        FinishReason::ContentFilter => "content_filter".into(),
        FinishReason::Other(s) => s.clone(),
    }
}

fn wire_tool_calls(calls: &[ToolCall]) -> Value {
    Value::Array(
        calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({
                    "index": i,
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                })
            })
            .collect(),
    )
}

fn usage_json(r: &ChatResponse) -> Value {
    json!({
        "prompt_tokens": r.usage.input_tokens,
        "completion_tokens": r.usage.output_tokens,
        "total_tokens": r.usage.total(),
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An OpenAI-style error response.
struct ApiError(ModelError);

impl ApiError {
    fn status(&self) -> StatusCode {
        let code = match &self.0 {
            ModelError::Rejected { status, .. } => *status,
            ModelError::ContextOverflow { .. } | ModelError::Unsupported(_) => 400,
            ModelError::RateLimited { .. } => 429,
            ModelError::Timeout(_) => 504,
            ModelError::Server { status, .. } => *status,
            _ => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn body(&self) -> Value {
        let (kind, code) = match &self.0 {
            ModelError::ContextOverflow { .. } => {
                ("invalid_request_error", "context_length_exceeded")
            }
            ModelError::Rejected { .. } | ModelError::Unsupported(_) => {
                ("invalid_request_error", "invalid_request")
            }
            _ => ("server_error", "internal_error"),
        };
        json!({"error": {"message": self.0.to_string(), "type": kind, "code": code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

async fn list_models(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": state.model_id,
            "object": "model",
            "created": 0,
            "owned_by": state.model.descriptor().backend,
        }],
    }))
}

async fn chat_completions(
    State(state): State<Arc<AppState>>,
    body: Result<Json<WireRequest>, JsonRejection>,
) -> Response {
    let wire = match body {
        Ok(Json(w)) => w,
        Err(rejection) => {
            let err = ApiError(bad_request(rejection.body_text()));
            return err.into_response();
        }
    };
    let (request, stream, include_usage) = match to_chat_request(wire) {
        Ok(x) => x,
        Err(e) => return ApiError(e).into_response(),
    };
    let id = format!(
        "chatcmpl-{:x}{:04x}",
        unix_now(),
        state.counter.fetch_add(1, Ordering::Relaxed)
    );
    if stream {
        match state.model.chat_stream(&request).await {
            Ok(events) => Sse::new(sse_events(
                events,
                id,
                state.model_id.clone(),
                include_usage,
            ))
            .into_response(),
            Err(e) => ApiError(e).into_response(),
        }
    } else {
        match state.model.chat(&request).await {
            Ok(response) => Json(completion_json(&response, &id, &state.model_id)).into_response(),
            Err(e) => ApiError(e).into_response(),
        }
    }
}

fn completion_json(r: &ChatResponse, id: &str, model: &str) -> Value {
    let choices: Vec<Value> = r
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut message = json!({"role": "assistant", "content": c.text});
            if !c.tool_calls.is_empty() {
                message["tool_calls"] = wire_tool_calls(&c.tool_calls);
                if c.text.is_empty() {
                    message["content"] = Value::Null;
                }
            }
            json!({
                "index": i,
                "message": message,
                "finish_reason": finish_reason(&c.finish_reason),
            })
        })
        .collect();
    json!({
        "id": id,
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": choices,
        "usage": usage_json(r),
    })
}

fn sse_events(
    events: hone_core::ChatStream,
    id: String,
    model: String,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let created = unix_now();
    let chunk = move |choices: Value, usage: Option<Value>| {
        let mut v = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        });
        if let Some(u) = usage {
            v["usage"] = u;
        }
        Event::default().data(v.to_string())
    };
    let mut started = std::collections::HashSet::new();
    events
        .map(move |event| -> Vec<Event> {
            match event {
                Ok(StreamEvent::Delta { choice, text }) => {
                    let mut out = Vec::new();
                    if started.insert(choice) {
                        out.push(chunk(
                            json!([{"index": choice, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
                            None,
                        ));
                    }
                    out.push(chunk(
                        json!([{"index": choice, "delta": {"content": text}, "finish_reason": null}]),
                        None,
                    ));
                    out
                }
                Ok(StreamEvent::Done(response)) => {
                    let mut out = Vec::new();
                    for (i, c) in response.choices.iter().enumerate() {
                        let mut delta = json!({});
                        if started.insert(i as u32) {
                            delta["role"] = json!("assistant");
                            delta["content"] = json!("");
                        }
                        if !c.tool_calls.is_empty() {
                            delta["tool_calls"] = wire_tool_calls(&c.tool_calls);
                        }
                        out.push(chunk(
                            json!([{"index": i, "delta": delta, "finish_reason": finish_reason(&c.finish_reason)}]),
                            None,
                        ));
                    }
                    if include_usage {
                        out.push(chunk(json!([]), Some(usage_json(&response))));
                    }
                    out.push(Event::default().data("[DONE]"));
                    out
                }
                Err(e) => {
                    vec![Event::default().data(ApiError(e).body().to_string())]
                }
            }
        })
        .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_requests_convert() {
        let w: WireRequest = serde_json::from_value(json!({
            "model": "x",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}
            ],
            "stop": "END",
            "max_completion_tokens": 7,
            "stream": true,
            "stream_options": {"include_usage": true},
            "tool_choice": {"type": "function", "function": {"name": "f"}}
        }))
        .unwrap();
        let (r, stream, usage) = to_chat_request(w).unwrap();
        assert!(stream && usage);
        assert_eq!(r.messages[0].role, Role::System);
        assert_eq!(r.messages[1].content, "ab");
        assert_eq!(r.messages[2].tool_calls[0].name, "f");
        assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(r.sampling.stop, vec!["END".to_string()]);
        assert_eq!(r.sampling.max_tokens, Some(7));
        assert_eq!(r.tool_choice, ToolChoice::Tool("f".into()));
    }

    #[test]
    fn bad_roles_are_rejected() {
        let w: WireRequest =
            serde_json::from_value(json!({"messages": [{"role": "robot", "content": "x"}]}))
                .unwrap();
        assert!(matches!(
            to_chat_request(w),
            Err(ModelError::Rejected { status: 400, .. })
        ));
    }

    #[test]
    fn context_overflow_is_a_client_error() {
        let e = ApiError(ModelError::ContextOverflow {
            prompt_tokens: 10,
            context_length: 5,
        });
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.body()["error"]["code"], "context_length_exceeded");
    }
}
