//! The provider-agnostic [`LanguageModel`] trait and its request/response types.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::message::{Message, ToolCall, ToolSpec};

/// Sampling parameters of a chat request.
///
/// `None` leaves the choice to the backend.
///
/// ```
/// let s = hone_core::Sampling { temperature: Some(0.0), max_tokens: Some(256), ..Default::default() };
/// assert_eq!(s.n, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Softmax temperature; 0 means greedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Maximum number of generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sequences that end generation (not included in the output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Seed for reproducible sampling, where the backend supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Number of choices to generate.
    #[serde(default = "one")]
    pub n: u32,
}

fn one() -> u32 {
    1
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: None,
            top_p: None,
            max_tokens: None,
            stop: Vec::new(),
            seed: None,
            n: 1,
        }
    }
}

/// Constraint on the form of the model's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Name of the schema (some providers require one).
        name: String,
        /// The JSON schema.
        schema: serde_json::Value,
    },
}

/// Whether and how the model may call tools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// A chat-completion request.
///
/// ```
/// use hone_core::{ChatRequest, Message};
/// let req = ChatRequest::new(vec![Message::user("2+2?")]).with_temperature(0.0).with_max_tokens(16);
/// assert_eq!(req.sampling.max_tokens, Some(16));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Sampling parameters.
    #[serde(default)]
    pub sampling: Sampling,
    /// Output form.
    #[serde(default)]
    pub response_format: ResponseFormat,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Tool-call policy (ignored when `tools` is empty).
    #[serde(default)]
    pub tool_choice: ToolChoice,
    /// Which sample this is when the same request is deliberately repeated
    /// (best-of-n, self-consistency). Not sent to the provider; part of the
    /// response-cache key, so the k-th sample of a re-run replays the k-th
    /// cached answer.
    #[serde(default)]
    pub sample_index: u32,
    /// The prompt template the request was rendered from, if any (see
    /// [`Templates::prompt`](crate::templates::Templates::prompt)). Never
    /// sent and not part of the response-cache key: it lets tests script
    /// answers by template ([`ScriptedModel::on_template`](crate::ScriptedModel::on_template))
    /// and traces name the prompt (`hone.template`).
    #[serde(skip)]
    pub template: Option<String>,
}

impl ChatRequest {
    /// A request with default sampling and text output.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            sampling: Sampling::default(),
            response_format: ResponseFormat::Text,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            sample_index: 0,
            template: None,
        }
    }

    /// A one-message request (the user turn) from a rendered prompt,
    /// remembering its template.
    ///
    /// ```
    /// use hone_core::{templates::Templates, ChatRequest};
    /// let t = Templates::new().with_template("ask.j2", "What is {{ x }}?").unwrap();
    /// let req = ChatRequest::from_prompt(t.prompt("ask.j2", serde_json::json!({"x": "2+2"})).unwrap());
    /// assert_eq!(req.messages[0].content, "What is 2+2?");
    /// assert_eq!(req.template.as_deref(), Some("ask.j2"));
    /// ```
    pub fn from_prompt(prompt: crate::templates::Prompt) -> Self {
        ChatRequest {
            template: Some(prompt.template),
            ..Self::new(vec![Message::user(prompt.text)])
        }
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.sampling.temperature = Some(temperature);
        self
    }

    /// Sets the maximum number of generated tokens.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.sampling.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the sample index (see [`ChatRequest::sample_index`]).
    pub fn with_sample_index(mut self, index: u32) -> Self {
        self.sample_index = index;
        self
    }

    /// Offers tools to the model.
    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// The provider filtered the content.
    ContentFilter,
    /// Anything else the provider reported.
    Other(String),
}

/// Token counts of one call.
///
/// ```
/// let mut u = hone_core::Usage { input_tokens: 10, output_tokens: 5 };
/// u += hone_core::Usage { input_tokens: 1, output_tokens: 1 };
/// assert_eq!(u.total(), 17);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, rhs: Self) {
        self.input_tokens += rhs.input_tokens;
        self.output_tokens += rhs.output_tokens;
    }
}

/// One generated alternative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Generated text (empty if the model only called tools).
    pub text: String,
    /// Tool calls the model made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
}

/// The answer to a [`ChatRequest`].
///
/// ```
/// let r = hone_core::ChatResponse::text("fake-model", "4");
/// assert_eq!(r.first_text(), "4");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Model that answered, as the provider named it.
    pub model: String,
    /// At least one choice.
    pub choices: Vec<Choice>,
    /// Token usage of the call.
    pub usage: Usage,
    /// Whether the response was replayed from the response cache rather than
    /// produced by the model in this call. Never stored.
    #[serde(skip)]
    pub from_cache: bool,
}

impl ChatResponse {
    /// A single-choice text response with zero usage (handy in tests).
    pub fn text(model: impl Into<String>, text: impl Into<String>) -> Self {
        ChatResponse {
            model: model.into(),
            choices: vec![Choice {
                text: text.into(),
                tool_calls: Vec::new(),
                finish_reason: FinishReason::Stop,
            }],
            usage: Usage::default(),
            from_cache: false,
        }
    }

    /// A single-choice response in which the model calls `calls` (handy in
    /// tests and scripted models).
    ///
    /// ```
    /// use hone_core::{ChatResponse, FinishReason, ToolCall};
    /// let call = ToolCall { id: "c1".into(), name: "add".into(), arguments: r#"{"a":1,"b":2}"#.into() };
    /// let r = ChatResponse::tool_calls("fake-model", vec![call]);
    /// assert_eq!(r.choices[0].finish_reason, FinishReason::ToolCalls);
    /// ```
    pub fn tool_calls(model: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        ChatResponse {
            model: model.into(),
            choices: vec![Choice {
                text: String::new(),
                tool_calls: calls,
                finish_reason: FinishReason::ToolCalls,
            }],
            usage: Usage::default(),
            from_cache: false,
        }
    }

    /// The response as a finished stream: one delta per choice, then `Done`.
    pub fn into_stream(self) -> ChatStream {
        let mut events: Vec<Result<StreamEvent, ModelError>> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(StreamEvent::Delta {
                    choice: i as u32,
                    text: c.text.clone(),
                })
            })
            .collect();
        events.push(Ok(StreamEvent::Done(self)));
        Box::pin(futures::stream::iter(events))
    }

    /// The text of the first choice, or `""` if there is none.
    pub fn first_text(&self) -> &str {
        self.choices.first().map(|c| c.text.as_str()).unwrap_or("")
    }
}

/// One event of a streamed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A piece of text for choice `choice`.
    Delta {
        /// Index of the choice.
        choice: u32,
        /// New text.
        text: String,
    },
    /// The complete response, always the last event of a successful stream.
    Done(ChatResponse),
}

/// A stream of [`StreamEvent`]s.
pub type ChatStream = BoxStream<'static, Result<StreamEvent, ModelError>>;

/// What can go wrong calling a model.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    /// The provider asked us to slow down (HTTP 429) and retries ran out.
    #[error("rate limited by the provider{}", retry_after.map(|d| format!(" (retry after {:.1}s)", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// The provider's `Retry-After`, if given.
        retry_after: Option<Duration>,
    },
    /// The provider failed (HTTP 5xx) and retries ran out.
    #[error("provider error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Provider's message.
        message: String,
    },
    /// The provider rejected the request (HTTP 4xx other than 429); not retried.
    #[error("request rejected with {status}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Provider's message.
        message: String,
    },
    /// No answer within the request timeout, and retries ran out.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// Connection-level failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// The provider answered with something that is not a valid response.
    #[error("malformed response from the provider: {0}")]
    Malformed(String),
    /// The prompt does not fit the model's context.
    #[error("prompt of {prompt_tokens} tokens exceeds the context length of {context_length}")]
    ContextOverflow {
        /// Tokens in the prompt.
        prompt_tokens: usize,
        /// The model's context length.
        context_length: usize,
    },
    /// The backend is misconfigured (missing model name, bad URL, …).
    #[error("model configuration: {0}")]
    Config(String),
    /// The backend does not support what the request asks for.
    #[error("unsupported by this backend: {0}")]
    Unsupported(String),
    /// The backend failed internally.
    #[error("backend failure: {0}")]
    Backend(String),
    /// The run's budget does not allow another call.
    #[error(transparent)]
    BudgetExhausted(#[from] crate::budget::Exhausted),
}

impl ModelError {
    /// Whether retrying the same request may succeed.
    ///
    /// ```
    /// use hone_core::ModelError;
    /// assert!(ModelError::Server { status: 503, message: String::new() }.is_transient());
    /// assert!(!ModelError::Rejected { status: 400, message: String::new() }.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ModelError::RateLimited { .. }
                | ModelError::Server { .. }
                | ModelError::Timeout(_)
                | ModelError::Transport(_)
        )
    }
}

/// Which backend and model answer, for display (never holds secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelDescriptor {
    /// Backend kind, e.g. `openai`, `local`, `scripted`.
    pub backend: String,
    /// Model name.
    pub model: String,
    /// Endpoint URL or file path, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl std::fmt::Display for ModelDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} model {}", self.backend, self.model)?;
        if let Some(endpoint) = &self.endpoint {
            write!(f, " at {endpoint}")?;
        }
        Ok(())
    }
}

/// A chat model. Object safe: hone passes models around as
/// `Arc<dyn LanguageModel>`.
///
/// ```
/// use hone_core::{ChatRequest, LanguageModel, Message, ScriptedModel};
/// # tokio_test_block(async {
/// let model = ScriptedModel::in_order(["4"]);
/// let answer = model.chat(&ChatRequest::new(vec![Message::user("2+2?")])).await.unwrap();
/// assert_eq!(answer.first_text(), "4");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// Which backend and model this is.
    fn descriptor(&self) -> ModelDescriptor;

    /// Completes the conversation.
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;

    /// Completes the conversation, yielding text as it is generated. The last
    /// event is [`StreamEvent::Done`]. The default implementation calls
    /// [`LanguageModel::chat`] and yields its text in one piece.
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        Ok(self.chat(request).await?.into_stream())
    }
}

#[async_trait]
impl<M: LanguageModel + ?Sized> LanguageModel for std::sync::Arc<M> {
    fn descriptor(&self) -> ModelDescriptor {
        (**self).descriptor()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        (**self).chat(request).await
    }
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        (**self).chat_stream(request).await
    }
}
