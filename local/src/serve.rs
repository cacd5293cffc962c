//! An OpenAI-compatible chat-completions server for any [`LanguageModel`]
//! (`hone serve`): `POST /v1/chat/completions` (plain JSON, or server-sent
//! events with `stream: true`, ending in `data: [DONE]`) and
//! `GET /v1/models`.
//!
//! Hardening, all in [`ServeOptions`]:
//!
//! - a non-loopback address is refused unless an API key is set; with a key,
//!   every request needs `Authorization: Bearer KEY` (401 otherwise), checked
//!   before the body is read;
//! - at most `max_queued` requests are admitted at once (generating or
//!   waiting for the model, streams until they end or the client goes away);
//!   more get 503 with `Retry-After`, before their body is read;
//! - `n` and `max_tokens` above their caps are a 400, and a request without
//!   `max_tokens` gets the cap, so no request generates without bound;
//! - bodies over `max_body_bytes` are a 413, and a body not received within
//!   `body_timeout` a 408 (a stalled client cannot hold a place for ever).
//!
//! ```no_run
//! use std::sync::Arc;
//! use hone_core::{LanguageModel, ScriptedModel};
//! use hone_local::serve::ServeOptions;
//! # async fn run() -> Result<(), hone_local::serve::ServeError> {
//! let model: Arc<dyn LanguageModel> = Arc::new(ScriptedModel::in_order(["hello"]));
//! let addr = "127.0.0.1:8080".parse().unwrap();
//! hone_local::serve::serve(model, addr, ServeOptions::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use hone_core::{
    ApiKey, ChatRequest, ChatResponse, FinishReason, LanguageModel, Message, ModelError,
    ResponseFormat, Role, Sampling, StreamEvent, ToolCall, ToolChoice, ToolSpec,
};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Server settings.
///
/// ```
/// let opts = hone_local::serve::ServeOptions { model_id: Some("local".into()), ..Default::default() };
/// assert!(opts.max_body_bytes > 0 && opts.api_key.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeOptions {
    /// The model id reported to clients; defaults to the model's descriptor
    /// name. Requests may name any model: the one loaded answers.
    pub model_id: Option<String>,
    /// Largest accepted request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// When set, every request must carry `Authorization: Bearer KEY`.
    /// Required to listen on anything but a loopback address.
    pub api_key: Option<ApiKey>,
    /// Largest `n` (choices) a request may ask for (more: 400).
    pub max_n: u32,
    /// Largest `max_tokens` a request may ask for (more: 400); also the
    /// limit of a request that sets none.
    pub max_tokens: u32,
    /// Requests admitted at once, generating or waiting for the model
    /// (more: 503 with `Retry-After`).
    pub max_queued: usize,
    /// Time allowed to receive an admitted request's body (then: 408).
    pub body_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            model_id: None,
            max_body_bytes: 4 << 20,
            api_key: None,
            max_n: 8,
            max_tokens: 4096,
            max_queued: 64,
            body_timeout: Duration::from_secs(30),
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
    /// A non-loopback address without an API key: anyone who can reach it
    /// could use the model.
    #[error("refusing to listen on {addr} without an API key: only loopback addresses may be served unauthenticated (set --api-key KEY or HONE_SERVE_API_KEY, or listen on 127.0.0.1)")]
    Exposed {
        /// The address.
        addr: SocketAddr,
    },
    /// An option is out of range.
    #[error("invalid server option: {0}")]
    Options(String),
    /// The listener's address could not be read.
    #[error("cannot read the listening address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks that `options` may be served on `addr`, before binding it: a
/// non-loopback address needs an API key, the key must not be blank, and
/// the caps must be at least 1.
///
/// ```
/// use hone_local::serve::{check_options, ServeOptions};
/// let open = ServeOptions::default();
/// assert!(check_options("127.0.0.1:8080".parse().unwrap(), &open).is_ok());
/// assert!(check_options("[::1]:8080".parse().unwrap(), &open).is_ok());
/// assert!(check_options("0.0.0.0:8080".parse().unwrap(), &open).is_err());
/// let keyed = ServeOptions { api_key: Some(hone_core::ApiKey::new("k")), ..Default::default() };
/// assert!(check_options("0.0.0.0:8080".parse().unwrap(), &keyed).is_ok());
/// ```
pub fn check_options(addr: SocketAddr, options: &ServeOptions) -> Result<(), ServeError> {
    if options.api_key.as_ref().is_some_and(ApiKey::is_blank) {
        return Err(ServeError::Options("the API key is empty".into()));
    }
    if options.max_n == 0 || options.max_tokens == 0 || options.max_queued == 0 {
        return Err(ServeError::Options(
            "max_n, max_tokens and max_queued must be at least 1".into(),
        ));
    }
    if options.max_queued > Semaphore::MAX_PERMITS {
        return Err(ServeError::Options(format!(
            "max_queued must be at most {}",
            Semaphore::MAX_PERMITS
        )));
    }
    if options.api_key.is_none() && !addr.ip().to_canonical().is_loopback() {
        return Err(ServeError::Exposed { addr });
    }
    Ok(())
}

struct AppState {
    model: Arc<dyn LanguageModel>,
    model_id: String,
    counter: AtomicU64,
    /// SHA-256 of the key: compared in constant time.
    key_digest: Option<[u8; 32]>,
    queue: Arc<Semaphore>,
    max_n: u32,
    max_tokens: u32,
    body_timeout: Duration,
}

/// Binds `addr` and serves `model` until `shutdown` completes. A
/// non-loopback `addr` without [`ServeOptions::api_key`] is refused before
/// anything is bound.
pub async fn serve(
    model: Arc<dyn LanguageModel>,
    addr: SocketAddr,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check_options(addr, &options)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    serve_with(model, listener, options, shutdown).await
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
    let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
    check_options(addr, &options)?;
    tracing::info!(%addr, model = %model.descriptor(), "serving OpenAI-compatible chat completions");
    axum::serve(listener, router(model, options))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The server's routes, for embedding in another axum application (which
/// then decides where it listens: see [`check_options`]). Caps of 0 are
/// raised to 1.
pub fn router(model: Arc<dyn LanguageModel>, options: ServeOptions) -> Router {
    let model_id = options
        .model_id
        .clone()
        .unwrap_or_else(|| model.descriptor().model);
    let state = Arc::new(AppState {
        model,
        model_id,
        counter: AtomicU64::new(0),
        key_digest: options
            .api_key
            .as_ref()
            .map(|k| Sha256::digest(k.expose().as_bytes()).into()),
        queue: Arc::new(Semaphore::new(
            options.max_queued.clamp(1, Semaphore::MAX_PERMITS),
        )),
        max_n: options.max_n.max(1),
        max_tokens: options.max_tokens.max(1),
        body_timeout: options.body_timeout,
    });
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .layer(axum::extract::DefaultBodyLimit::max(options.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            authenticate,
        ))
        .with_state(state)
}

/// Rejects a request without the right bearer token (when a key is set),
/// before its body is read.
async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &state.key_digest else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(|token| Sha256::digest(token.as_bytes()));
    let ok = given.is_some_and(|d| {
        d.iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    });
    if ok {
        return next.run(request).await;
    }
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        "missing or invalid API key: send `Authorization: Bearer KEY`",
        "invalid_request_error",
        "invalid_api_key",
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn error_response(status: StatusCode, message: &str, kind: &str, code: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": kind, "code": code}})),
    )
        .into_response()
}

/// Answers 503 with `Retry-After` when `max_queued` requests are in.
fn overloaded() -> Response {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is at its limit of queued requests; retry later",
        "server_error",
        "server_overloaded",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
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

/// Per-request caps of the server.
#[derive(Debug, Clone, Copy)]
struct Caps {
    max_n: u32,
    max_tokens: u32,
}

fn to_chat_request(w: WireRequest, caps: Caps) -> Result<(ChatRequest, bool, bool), ModelError> {
    if w.messages.is_empty() {
        return Err(bad_request("messages must not be empty"));
    }
    let n = w.n.unwrap_or(1);
    if n == 0 || n > caps.max_n {
        return Err(bad_request(format!(
            "n = {n} is out of range: this server allows 1 to {}",
            caps.max_n
        )));
    }
    let max_tokens = match w.max_completion_tokens.or(w.max_tokens) {
        None => caps.max_tokens,
        Some(m) if m <= caps.max_tokens => m,
        Some(m) => {
            return Err(bad_request(format!(
                "max_tokens = {m} is over this server's limit of {}",
                caps.max_tokens
            )))
        }
    };
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
            max_tokens: Some(max_tokens),
            stop: match w.stop {
                None => Vec::new(),
                Some(StopField::One(s)) => vec![s],
                Some(StopField::Many(v)) => v,
            },
            seed: w.seed,
            n,
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
        template: None,
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

async fn chat_completions(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // Admission first: a full queue costs no body read. The permit lives
    // as long as the response (a stream's until it ends or is dropped).
    let Ok(permit) = Arc::clone(&state.queue).try_acquire_owned() else {
        return overloaded();
    };
    let body = tokio::time::timeout(
        state.body_timeout,
        Json::<WireRequest>::from_request(request, &()),
    )
    .await;
    let wire = match body {
        Ok(Ok(Json(w))) => w,
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
                "invalid_request_error",
                "request_timeout",
            )
        }
        Ok(Err(rejection)) => {
            let status = match rejection.status() {
                // Unparsable and mistyped JSON alike: a 400.
                StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                s => s,
            };
            return error_response(
                status,
                &rejection.body_text(),
                "invalid_request_error",
                "invalid_request",
            );
        }
    };
    let caps = Caps {
        max_n: state.max_n,
        max_tokens: state.max_tokens,
    };
    let (request, stream, include_usage) = match to_chat_request(wire, caps) {
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
            Ok(events) => Sse::new(held(
                sse_events(events, id, state.model_id.clone(), include_usage),
                permit,
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

/// Keeps `permit` until `stream` is dropped.
fn held<S: Stream>(stream: S, permit: OwnedSemaphorePermit) -> impl Stream<Item = S::Item> {
    stream.map(move |item| {
        let _ = &permit;
        item
    })
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
        let (r, stream, usage) = to_chat_request(w, CAPS).unwrap();
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
            to_chat_request(w, CAPS),
            Err(ModelError::Rejected { status: 400, .. })
        ));
    }

    const CAPS: Caps = Caps {
        max_n: 4,
        max_tokens: 100,
    };

    #[test]
    fn n_and_max_tokens_are_capped() {
        let req = |extra: Value| {
            let mut v = json!({"messages": [{"role": "user", "content": "x"}]});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            to_chat_request(serde_json::from_value(v).unwrap(), CAPS)
        };
        for over in [
            json!({"n": 5}),
            json!({"n": 0}),
            json!({"max_tokens": 101}),
            json!({"max_completion_tokens": 4_000_000_000u32}),
        ] {
            assert!(
                matches!(
                    req(over.clone()),
                    Err(ModelError::Rejected { status: 400, .. })
                ),
                "{over}"
            );
        }
        let (r, _, _) = req(json!({"n": 4, "max_tokens": 100})).unwrap();
        assert_eq!((r.sampling.n, r.sampling.max_tokens), (4, Some(100)));
        // No limit asked for: the cap, never unbounded generation.
        let (r, _, _) = req(json!({})).unwrap();
        assert_eq!(r.sampling.max_tokens, Some(100));
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
