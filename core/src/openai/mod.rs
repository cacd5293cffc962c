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

mod retry;
mod stream;
mod wire;

use retry::*;
pub use retry::{parse_retry_after, RetryPolicy};
use stream::*;
use wire::*;

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
