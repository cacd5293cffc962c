//! The OpenAI-compatible backend (vLLM, Ollama, llama.cpp servers, OpenAI…),
//! built on async-openai.
//!
//! What it adds over a bare client:
//!
//! - retries with exponential backoff and full jitter on 429, 5xx, connection
//!   failures and timeouts, honouring the server's `Retry-After`
//!   ([`RetryPolicy`]);
//! - a per-attempt request timeout;
//! - a concurrency limit shared by every [`OpenAiModel`] talking to the same
//!   base URL;
//! - streaming that assembles the final [`ChatResponse`];
//! - an API key that never appears in `Debug` output, logs, traces or the
//!   response cache.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::Client;
use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::message::{Message, Role, ToolCall};
use crate::model::{
    ChatRequest, ChatResponse, ChatStream, Choice, FinishReason, LanguageModel, ModelDescriptor,
    ModelError, ResponseFormat, StreamEvent, ToolChoice, Usage,
};

pub use crate::secret::ApiKey;

/// When and how long to wait before retrying a failed request.
///
/// The delay before retry `k` (0-based) is the server's `Retry-After` when it
/// sent one (capped at [`RetryPolicy::max_delay`]), else a uniformly random
/// duration in `[0, min(max_delay, base_delay * 2^k)]` ("full jitter").
///
/// ```
/// use std::time::Duration;
/// use hone_core::openai::RetryPolicy;
/// let p = RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
/// assert!(p.delay(2, None) <= Duration::from_millis(400));
/// assert_eq!(p.delay(0, Some(Duration::from_secs(1))), Duration::from_secs(1));
/// assert_eq!(p.delay(0, Some(Duration::from_secs(60))), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Longest wait, whatever the server asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(30)));
        let cap = exp.min(self.max_delay);
        let millis = cap.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

/// Parses an HTTP `Retry-After` value: delta-seconds (possibly fractional,
/// as some servers send) or an HTTP date.
///
/// ```
/// use std::time::Duration;
/// use hone_core::openai::parse_retry_after;
/// assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
/// assert_eq!(parse_retry_after("soon"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate_to_unix(value)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(when.saturating_sub(now)))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
fn httpdate_to_unix(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || year < 1970 {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// Settings of an [`OpenAiModel`].
///
/// ```
/// use hone_core::openai::{ApiKey, OpenAiConfig};
/// let cfg = OpenAiConfig::new("http://127.0.0.1:8000/v1", "qwen2.5-coder").with_api_key(ApiKey::new("k"));
/// assert!(!format!("{cfg:?}").contains("\"k\""));
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL ending before `/chat/completions`, e.g. `http://localhost:8000/v1`.
    pub base_url: String,
    /// The key, if the endpoint needs one.
    pub api_key: Option<ApiKey>,
    /// Model name sent with every request.
    pub model: String,
    /// Time allowed for one attempt to produce response headers, and for any
    /// pause while reading the body.
    pub request_timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Most requests in flight to this base URL, over all models sharing it.
    pub max_concurrency: usize,
    /// Use streaming for [`LanguageModel::chat`] too (the response is
    /// assembled from the stream).
    pub stream: bool,
}

impl OpenAiConfig {
    /// Defaults: 120 s timeout, 4 retries, 16 concurrent requests, no streaming.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: None,
            model: model.into(),
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            max_concurrency: 16,
            stream: false,
        }
    }

    /// Sets the key.
    pub fn with_api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the shared concurrency limit of the endpoint.
    pub fn with_max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }
}

/// The tower service under async-openai: executes each attempt with a timeout
/// and retries transient failures.
#[derive(Clone)]
struct RetryingTransport {
    client: reqwest::Client,
    retry: RetryPolicy,
    attempt_timeout: Duration,
}

/// A timeout surfaced through async-openai's boxed middleware error.
#[derive(Debug, thiserror::Error)]
#[error("no response within {0:?}")]
struct AttemptTimeout(Duration);

impl tower::Service<HttpRequestFactory> for RetryingTransport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let mut retry = 0u32;
            loop {
                let request = factory.build().await?;
                let can_retry = retry < this.retry.max_retries;
                let outcome =
                    tokio::time::timeout(this.attempt_timeout, this.client.execute(request)).await;
                let wait = match outcome {
                    Ok(Ok(response)) => {
                        let status = response.status();
                        let transient = status.as_u16() == 429 || status.is_server_error();
                        if !transient || !can_retry {
                            return Ok(response);
                        }
                        let after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(parse_retry_after);
                        tracing::warn!(%status, retry, retry_after = ?after, "transient HTTP status, retrying");
                        this.retry.delay(retry, after)
                    }
                    Ok(Err(e)) => {
                        let transient = e.is_connect() || e.is_timeout() || e.is_request();
                        if !transient || !can_retry {
                            return Err(OpenAIError::Reqwest(e));
                        }
                        tracing::warn!(error = %e, retry, "transport error, retrying");
                        this.retry.delay(retry, None)
                    }
                    Err(_) => {
                        if !can_retry {
                            return Err(OpenAIError::Boxed(Box::new(AttemptTimeout(
                                this.attempt_timeout,
                            ))));
                        }
                        tracing::warn!(timeout = ?this.attempt_timeout, retry, "request timed out, retrying");
                        this.retry.delay(retry, None)
                    }
                };
                tokio::time::sleep(wait).await;
                retry += 1;
            }
        })
    }
}

fn endpoint_semaphore(base_url: &str, permits: usize) -> Arc<Semaphore> {
    static LIMITS: OnceLock<Mutex<HashMap<String, Arc<Semaphore>>>> = OnceLock::new();
    let map = LIMITS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(base_url.to_string())
        .or_insert_with(|| Arc::new(Semaphore::new(permits)))
        .clone()
}

/// A [`LanguageModel`] served by an OpenAI-compatible chat-completions endpoint.
///
/// ```no_run
/// use hone_core::{openai::{OpenAiConfig, OpenAiModel}, ChatRequest, LanguageModel, Message};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let model = OpenAiModel::new(OpenAiConfig::new("http://127.0.0.1:8080/v1", "qwen"))?;
/// let answer = model.chat(&ChatRequest::new(vec![Message::user("Say hi")])).await?;
/// println!("{}", answer.first_text());
/// # Ok(()) }
/// ```
pub struct OpenAiModel {
    config: OpenAiConfig,
    client: Client<OpenAIConfig>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for OpenAiModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiModel")
            .field("config", &self.config)
            .finish()
    }
}

impl OpenAiModel {
    /// Builds the client. Fails only on an unusable configuration.
    pub fn new(config: OpenAiConfig) -> Result<Self, ModelError> {
        if config.model.trim().is_empty() {
            return Err(ModelError::Config(
                "no model name given (flag --model, env HONE_MODEL or config file)".into(),
            ));
        }
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(ModelError::Config(format!(
                "base URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        let http = reqwest::Client::builder()
            .read_timeout(config.request_timeout)
            .build()
            .map_err(|e| ModelError::Config(format!("HTTP client: {e}")))?;
        let mut openai = OpenAIConfig::new().with_api_base(config.base_url.clone());
        // async-openai sends `Authorization: Bearer <key>`; an empty key sends
        // an empty bearer, which local servers accept.
        openai = openai.with_api_key(
            config
                .api_key
                .as_ref()
                .map(|k| k.expose().to_string())
                .unwrap_or_default(),
        );
        let transport = RetryingTransport {
            client: http,
            retry: config.retry,
            attempt_timeout: config.request_timeout,
        };
        let client = Client::with_config(openai).with_http_service(transport);
        let permits = endpoint_semaphore(&config.base_url, config.max_concurrency);
        Ok(OpenAiModel {
            config,
            client,
            permits,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    fn wire_request<'a>(&'a self, request: &'a ChatRequest, stream: bool) -> WireRequest<'a> {
        let s = &request.sampling;
        let response_format = match &request.response_format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(json!({"type": "json_object"})),
            ResponseFormat::JsonSchema { name, schema } => Some(
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema}}),
            ),
        };
        let (tools, tool_choice) = if request.tools.is_empty() {
            (None, None)
        } else {
            let tools = request
                .tools
                .iter()
                .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
                .collect();
            let choice = match &request.tool_choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
            };
            (Some(tools), Some(choice))
        };
        WireRequest {
            model: &self.config.model,
            messages: request.messages.iter().map(WireMessage::from).collect(),
            temperature: s.temperature,
            top_p: s.top_p,
            max_tokens: s.max_tokens,
            stop: &s.stop,
            seed: s.seed,
            n: (s.n != 1).then_some(s.n),
            response_format,
            tools,
            tool_choice,
            stream: stream.then_some(true),
            stream_options: stream.then(|| json!({"include_usage": true})),
        }
    }

    async fn chat_plain(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let body = self.wire_request(request, false);
        let response: WireResponse = self
            .client
            .chat()
            .create_byot(&body)
            .await
            .map_err(|e| map_error(e, self.config.request_timeout))?;
        response.into_response()
    }

    async fn open_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ModelError::Backend("endpoint limiter closed".into()))?;
        let body = self.wire_request(request, true);
        let timeout = self.config.request_timeout;
        let raw: RawStream = self
            .client
            .chat()
            .create_stream_byot(&body)
            .await
            .map_err(|e| map_error(e, timeout))?;
        let state = StreamState {
            raw,
            assembler: StreamAssembler::default(),
            pending: std::collections::VecDeque::new(),
            finished: false,
            timeout,
            _permit: permit,
        };
        Ok(Box::pin(futures::stream::unfold(state, next_event)))
    }
}

type RawStream = Pin<Box<dyn futures::Stream<Item = Result<Value, OpenAIError>> + Send>>;

struct StreamState {
    raw: RawStream,
    assembler: StreamAssembler,
    pending: std::collections::VecDeque<StreamEvent>,
    finished: bool,
    timeout: Duration,
    // Held until the stream is dropped, so a slow consumer counts against the
    // endpoint's concurrency limit.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

async fn next_event(mut st: StreamState) -> Option<(Result<StreamEvent, ModelError>, StreamState)> {
    loop {
        if let Some(event) = st.pending.pop_front() {
            return Some((Ok(event), st));
        }
        if st.finished {
            return None;
        }
        let item = match st.raw.next().await {
            Some(Ok(chunk)) => match st.assembler.absorb(&chunk) {
                Ok(events) => {
                    st.pending.extend(events);
                    continue;
                }
                Err(e) => Err(e),
            },
            Some(Err(e)) => Err(map_error(e, st.timeout)),
            None => st.assembler.finish().map(StreamEvent::Done),
        };
        st.finished = true;
        return Some((item, st));
    }
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    fn descriptor(&self) -> ModelDescriptor {
        ModelDescriptor {
            backend: "openai".into(),
            model: self.config.model.clone(),
            endpoint: Some(self.config.base_url.clone()),
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        if self.config.stream {
            let mut stream = self.open_stream(request).await?;
            while let Some(event) = stream.next().await {
                if let StreamEvent::Done(response) = event? {
                    return Ok(response);
                }
            }
            return Err(ModelError::Malformed(
                "stream ended without a response".into(),
            ));
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ModelError::Backend("endpoint limiter closed".into()))?;
        self.chat_plain(request).await
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        self.open_stream(request).await
    }
}

/// The chat-completions request body, serialised straight from borrowed
/// data (no intermediate JSON tree on the hot path).
#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<Value>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

impl<'a> From<&'a Message> for WireMessage<'a> {
    fn from(m: &'a Message) -> Self {
        WireMessage {
            role: match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
                Role::Tool => "tool",
            },
            content: &m.content,
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect(),
            tool_call_id: m.tool_call_id.as_deref(),
        }
    }
}

/// The chat-completions response body. Lenient: servers differ in which
/// optional fields they send; only `choices[].message` is required.
#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: Option<WireResponseMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireResponseMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

impl WireResponse {
    /// Checks the shape and converts; a body that is valid JSON but not a
    /// chat completion is [`ModelError::Malformed`].
    fn into_response(self) -> Result<ChatResponse, ModelError> {
        let Some(choices) = self.choices else {
            return Err(ModelError::Malformed(
                "no `choices` array in the response".into(),
            ));
        };
        if choices.is_empty() {
            return Err(ModelError::Malformed(
                "empty `choices` in the response".into(),
            ));
        }
        let mut parsed = Vec::with_capacity(choices.len());
        for (i, c) in choices.into_iter().enumerate() {
            let Some(message) = c.message else {
                return Err(ModelError::Malformed(format!(
                    "choice {i} has no `message` object"
                )));
            };
            parsed.push(Choice {
                text: message.content.unwrap_or_default(),
                tool_calls: message
                    .tool_calls
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| {
                        let f = t.function.unwrap_or(WireFunction {
                            name: None,
                            arguments: None,
                        });
                        ToolCall {
                            id: t.id.unwrap_or_default(),
                            name: f.name.unwrap_or_default(),
                            arguments: f.arguments.unwrap_or_default(),
                        }
                    })
                    .collect(),
                finish_reason: finish_reason_of(c.finish_reason.as_deref()),
            });
        }
        Ok(ChatResponse {
            model: self.model.unwrap_or_default(),
            choices: parsed,
            usage: self.usage.map(Usage::from).unwrap_or_default(),
            from_cache: false,
        })
    }
}

fn map_error(e: OpenAIError, timeout: Duration) -> ModelError {
    match e {
        OpenAIError::ApiError(resp) => {
            let status = resp.status_code.as_u16();
            let message = resp.api_error.message;
            if status == 429 {
                ModelError::RateLimited { retry_after: None }
            } else if status >= 500 {
                ModelError::Server { status, message }
            } else {
                ModelError::Rejected { status, message }
            }
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => ModelError::Timeout(timeout),
        OpenAIError::Reqwest(e) => ModelError::Transport(e.to_string()),
        OpenAIError::JSONDeserialize(err, body) => ModelError::Malformed(format!(
            "{err}; body starts with {:?}",
            body.chars().take(200).collect::<String>()
        )),
        OpenAIError::StreamError(e) => ModelError::Malformed(format!("event stream: {e}")),
        OpenAIError::Boxed(b) if b.is::<AttemptTimeout>() => ModelError::Timeout(timeout),
        other => ModelError::Backend(other.to_string()),
    }
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
        }
    }
}

fn finish_reason_of(v: Option<&str>) -> FinishReason {
    match v {
        None | Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

fn finish_reason(v: Option<&Value>) -> FinishReason {
    finish_reason_of(v.and_then(Value::as_str))
}

fn parse_usage(v: Option<&Value>) -> Usage {
    v.and_then(|u| serde_json::from_value::<WireUsage>(u.clone()).ok())
        .map(Usage::from)
        .unwrap_or_default()
}

#[derive(Default)]
struct PartialChoice {
    text: String,
    tool_calls: Vec<ToolCall>,
    finish: Option<FinishReason>,
}

/// Accumulates streamed chunks into the final response.
#[derive(Default)]
struct StreamAssembler {
    model: String,
    choices: Vec<PartialChoice>,
    usage: Usage,
}

impl StreamAssembler {
    fn absorb(&mut self, chunk: &Value) -> Result<Vec<StreamEvent>, ModelError> {
        if let Some(m) = chunk.get("model").and_then(Value::as_str) {
            self.model = m.to_string();
        }
        if chunk.get("usage").is_some_and(|u| !u.is_null()) {
            self.usage = parse_usage(chunk.get("usage"));
        }
        let mut events = Vec::new();
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            if chunk.get("usage").is_some() {
                return Ok(events);
            }
            return Err(ModelError::Malformed(format!(
                "stream chunk without `choices`: {}",
                chunk.to_string().chars().take(200).collect::<String>()
            )));
        };
        for c in choices {
            let index = c["index"].as_u64().unwrap_or(0) as usize;
            if index >= 1024 {
                return Err(ModelError::Malformed(format!(
                    "choice index {index} out of range"
                )));
            }
            while self.choices.len() <= index {
                self.choices.push(PartialChoice::default());
            }
            let slot = &mut self.choices[index];
            let delta = &c["delta"];
            if let Some(text) = delta["content"].as_str() {
                if !text.is_empty() {
                    slot.text.push_str(text);
                    events.push(StreamEvent::Delta {
                        choice: index as u32,
                        text: text.to_string(),
                    });
                }
            }
            if let Some(calls) = delta["tool_calls"].as_array() {
                for call in calls {
                    let i = call["index"].as_u64().unwrap_or(0) as usize;
                    if i >= 1024 {
                        return Err(ModelError::Malformed(format!(
                            "tool call index {i} out of range"
                        )));
                    }
                    while slot.tool_calls.len() <= i {
                        slot.tool_calls.push(ToolCall {
                            id: String::new(),
                            name: String::new(),
                            arguments: String::new(),
                        });
                    }
                    let t = &mut slot.tool_calls[i];
                    if let Some(id) = call["id"].as_str() {
                        t.id = id.to_string();
                    }
                    if let Some(name) = call["function"]["name"].as_str() {
                        t.name.push_str(name);
                    }
                    if let Some(args) = call["function"]["arguments"].as_str() {
                        t.arguments.push_str(args);
                    }
                }
            }
            if c.get("finish_reason").is_some_and(|f| !f.is_null()) {
                slot.finish = Some(finish_reason(c.get("finish_reason")));
            }
        }
        Ok(events)
    }

    fn finish(&mut self) -> Result<ChatResponse, ModelError> {
        if self.choices.is_empty() {
            return Err(ModelError::Malformed(
                "stream ended without any choice".into(),
            ));
        }
        // A stream cut off mid-answer must not pass for a complete answer
        // (it would be cached): every choice must have been finished.
        if self.choices.iter().any(|c| c.finish.is_none()) {
            return Err(ModelError::Malformed(
                "stream ended before every choice reported a finish reason".into(),
            ));
        }
        Ok(ChatResponse {
            model: std::mem::take(&mut self.model),
            choices: std::mem::take(&mut self.choices)
                .into_iter()
                .map(|c| Choice {
                    text: c.text,
                    tool_calls: c.tool_calls,
                    finish_reason: c.finish.unwrap_or(FinishReason::Stop),
                })
                .collect(),
            usage: self.usage,
            from_cache: false,
        })
    }
}
