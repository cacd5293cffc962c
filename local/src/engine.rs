//! [`LocalModel`]: GGUF inference in process through llama.cpp.
//!
//! One loaded model has one llama.cpp context, owned by an engine thread
//! that decodes every request in flight together, one batch per step
//! (continuous batching; see [`crate::scheduler`]). Requests wait for one of
//! [`LocalOptions::slots`] places on an async semaphore, so the tokio
//! runtime is never blocked. With prefix reuse on, a request starts from
//! the longest token prefix any sequence in the cache holds, and only the
//! tokens after it are evaluated. Dropping a request's future (or its
//! stream) cancels it: the engine notices before the next batch and frees
//! its place.

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use futures::StreamExt;
use hone_core::{
    ChatRequest, ChatResponse, ChatStream, Choice, FinishReason, LanguageModel, Message,
    ModelDescriptor, ModelError, ResponseFormat, StreamEvent, ToolChoice, Usage,
};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::provision::{check_gguf, ProvisionError};
use crate::scheduler::engine_main;
use crate::template::{ChatTemplate, TemplateError, CHATML_TEMPLATE};
use crate::text::{parse_tool_calls, ToolCallFilter};

/// Default sampling temperature when a request sets none (llama.cpp's).
const DEFAULT_TEMPERATURE: f32 = 0.8;
/// Default nucleus mass when a request sets none (llama.cpp's).
const DEFAULT_TOP_P: f32 = 0.95;
/// Default context length cap when [`LocalOptions::context_length`] is 0.
const DEFAULT_CONTEXT: u32 = 8192;
/// Grammar for JSON output (`response_format` other than text).
const JSON_GRAMMAR: &str = include_str!("../grammars/json_object.gbnf");

/// How to run a local model.
///
/// ```
/// let opts = hone_local::LocalOptions { slots: 2, ..Default::default() };
/// assert!(opts.prefix_reuse);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// CPU threads per evaluation; 0 uses every available core. llama.cpp's
    /// threads spin at their barriers, so on a machine busy with other work
    /// fewer threads than cores can be many times faster.
    pub threads: usize,
    /// Context length in tokens per request (prompt and output); 0 uses
    /// the model's training context, capped at 8192. The KV cache holds
    /// `slots` times this many tokens.
    pub context_length: u32,
    /// Tokens evaluated per batch (generated tokens of every request plus
    /// chunks of prompts); longer prompts are fed over several steps.
    pub batch_size: u32,
    /// Keep the KV cache between requests and evaluate only the tokens
    /// after the longest prefix already in the cache.
    pub prefix_reuse: bool,
    /// Requests decoded together, each a sequence of the one context;
    /// further requests queue.
    pub slots: usize,
    /// Hold the output of a request with a JSON schema, JSON mode or a
    /// required tool call to a grammar, so it always parses. Off, the model
    /// writes freely (to measure what the grammar buys; callers still
    /// validate), and the model's name gains [`UNCONSTRAINED_SUFFIX`] so its
    /// answers never share a response-cache entry with constrained ones.
    pub constrained_output: bool,
}

/// Appended to the model's name when [`LocalOptions::constrained_output`]
/// is off.
pub const UNCONSTRAINED_SUFFIX: &str = "+unconstrained";

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            threads: 0,
            context_length: 0,
            batch_size: 512,
            prefix_reuse: true,
            slots: 1,
            constrained_output: true,
        }
    }
}

/// What can go wrong loading a local model.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The file is missing, unreadable or not GGUF.
    #[error(transparent)]
    File(#[from] ProvisionError),
    /// The llama.cpp backend could not start.
    #[error("llama.cpp backend: {0}")]
    Backend(String),
    /// llama.cpp could not load the model or create a context.
    #[error("loading {path}: {detail}")]
    Load {
        /// The model file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// The model's chat template does not compile.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// An option is out of range.
    #[error("invalid local model option: {0}")]
    Options(String),
}

/// Cumulative counters of a [`LocalModel`], for benchmarks and `hone models`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LocalStats {
    /// Requests completed (or cancelled) by the slots.
    pub requests: u64,
    /// Prompt tokens of those requests.
    pub prompt_tokens: u64,
    /// Prompt tokens actually evaluated.
    pub prompt_tokens_evaluated: u64,
    /// Prompt tokens whose KV cache was reused from an earlier request.
    pub prompt_tokens_reused: u64,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// Seconds spent evaluating prompt tokens.
    pub prompt_seconds: f64,
    /// Seconds spent generating (sampling and evaluating generated tokens).
    pub generation_seconds: f64,
    /// The most requests one batch has held (1 when requests never
    /// overlapped).
    pub peak_batch_requests: u64,
    /// Tokens sampled in steps that held generating requests only (no
    /// prompt tokens): with [`LocalStats::decode_only_seconds`], the
    /// aggregate generation speed at the batch the load made
    /// (llama-batched-bench's `S_TG`).
    pub decode_only_tokens: u64,
    /// Wall time of those steps (evaluation and sampling).
    pub decode_only_seconds: f64,
}

pub(crate) fn backend() -> Result<&'static LlamaBackend, LocalError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs verbosely to stderr; route it to `tracing`.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LocalError::Backend(e.clone()))
}

/// What the requesters and the engine thread share.
pub(crate) struct Shared {
    pub(crate) model: LlamaModel,
    template: ChatTemplate,
    bos_text: String,
    add_bos: bool,
    /// Tokens per request.
    pub(crate) n_ctx: u32,
    pub(crate) n_batch: u32,
    pub(crate) threads: i32,
    pub(crate) prefix_reuse: bool,
    /// See [`LocalOptions::constrained_output`].
    constrained_output: bool,
    /// Sequences decoded together.
    pub(crate) sequences: usize,
    pub(crate) stats: Mutex<LocalStats>,
}

/// Generation parameters resolved from a request.
pub(crate) struct GenParams {
    pub(crate) max_tokens: Option<u32>,
    temperature: f32,
    top_p: f32,
    seed: u32,
    pub(crate) stop: Vec<String>,
    pub(crate) n: u32,
    /// A GBNF grammar the output must match (JSON mode, a required tool
    /// call).
    grammar: Option<String>,
}

/// What the engine tells a requester.
pub(crate) enum WorkerEvent {
    Delta { choice: u32, text: String },
    Finished { text: String, finish: FinishReason },
    Done { usage: Usage },
    Error(ModelError),
}

/// A request handed to the engine thread.
pub(crate) struct Job {
    pub(crate) prompt: Vec<LlamaToken>,
    pub(crate) params: GenParams,
    pub(crate) events: mpsc::UnboundedSender<WorkerEvent>,
    /// Held until the engine drops the job: the request's place.
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// A GGUF model running in process. Cheap to share: wrap it in an `Arc`.
///
/// ```no_run
/// use hone_core::{ChatRequest, LanguageModel, Message};
/// use hone_local::{LocalModel, LocalOptions};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let model = LocalModel::load("model.gguf".as_ref(), LocalOptions::default())?;
/// let req = ChatRequest::new(vec![Message::user("Say hi.")]).with_max_tokens(16);
/// println!("{}", model.chat(&req).await?.first_text());
/// # Ok(()) }
/// ```
pub struct LocalModel {
    shared: Arc<Shared>,
    jobs: std_mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    descriptor: ModelDescriptor,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("descriptor", &self.descriptor)
            .field("n_ctx", &self.shared.n_ctx)
            .field("slots", &self.shared.sequences)
            .finish_non_exhaustive()
    }
}

fn token_text(model: &LlamaModel, token: LlamaToken) -> String {
    if token.0 < 0 || token.0 >= model.n_vocab() {
        return String::new();
    }
    String::from_utf8_lossy(&model.vocab().token_to_piece(token, true, None)).into_owned()
}

impl LocalModel {
    /// Loads a GGUF model and starts its engine thread. Blocking (reads the
    /// file and allocates the KV cache): call it from `spawn_blocking` in
    /// async code.
    pub fn load(path: &Path, opts: LocalOptions) -> Result<LocalModel, LocalError> {
        check_gguf(path)?;
        if opts.slots == 0 {
            return Err(LocalError::Options("slots must be at least 1".into()));
        }
        if opts.batch_size == 0 {
            return Err(LocalError::Options("batch size must be at least 1".into()));
        }
        let backend = backend()?;
        let load_err = |detail: String| LocalError::Load {
            path: path.display().to_string(),
            detail,
        };
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| load_err(format!("llama.cpp could not load the model ({e})")))?;

        let source = model
            .chat_template(None)
            .ok()
            .and_then(|t| t.to_string().ok())
            .unwrap_or_else(|| CHATML_TEMPLATE.to_string());
        let vocab = model.vocab();
        let bos_text = token_text(&model, vocab.bos());
        let eos_text = token_text(&model, vocab.eos());
        let add_bos = vocab.should_add_bos();
        let template = ChatTemplate::new(&source, bos_text.clone(), eos_text)?;

        let train_ctx = model.n_ctx_train().max(1);
        let n_ctx = match opts.context_length {
            0 => train_ctx.min(DEFAULT_CONTEXT),
            n => n,
        };
        let threads = match opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let threads = i32::try_from(threads)
            .map_err(|_| LocalError::Options(format!("{threads} threads")))?;
        // Every generating request puts one token in each batch.
        let n_batch = opts
            .batch_size
            .min(n_ctx)
            .max(u32::try_from(opts.slots).unwrap_or(u32::MAX));

        let shared = Arc::new(Shared {
            model,
            template,
            bos_text,
            add_bos,
            n_ctx,
            n_batch,
            threads,
            prefix_reuse: opts.prefix_reuse,
            constrained_output: opts.constrained_output,
            sequences: opts.slots,
            stats: Mutex::new(LocalStats::default()),
        });

        let (jobs, rx) = std_mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = std_mpsc::channel::<Result<(), String>>();
        let engine_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("hone-local-engine".into())
            .spawn(move || engine_main(engine_shared, rx, ready_tx))
            .map_err(|e| load_err(format!("cannot start the engine thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(load_err(e)),
            Err(_) => return Err(load_err("the engine thread died while starting".into())),
        }

        let mut stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".to_string());
        if !opts.constrained_output {
            stem.push_str(UNCONSTRAINED_SUFFIX);
        }
        Ok(LocalModel {
            permits: Arc::new(Semaphore::new(opts.slots)),
            jobs,
            descriptor: ModelDescriptor {
                backend: "local".into(),
                model: stem,
                endpoint: Some(path.display().to_string()),
            },
            shared,
        })
    }

    /// The context length of each request, in tokens.
    pub fn context_length(&self) -> usize {
        self.shared.n_ctx as usize
    }

    /// Places free right now (of [`LocalOptions::slots`]); equal to the
    /// number of slots when the model is idle. For checking that cancelled
    /// and failed requests give their place back.
    pub fn idle_slots(&self) -> usize {
        self.permits.available_permits()
    }

    /// Cumulative counters since loading.
    pub fn stats(&self) -> LocalStats {
        self.shared
            .stats
            .lock()
            .map(|s| *s)
            .unwrap_or_else(|p| *p.into_inner())
    }

    /// The prompt the model's chat template makes of these messages (ending
    /// with the assistant's turn).
    pub fn render_prompt(&self, messages: &[Message]) -> Result<String, ModelError> {
        self.shared
            .template
            .render(messages, &[], true)
            .map_err(|e| ModelError::Rejected {
                status: 400,
                message: e.to_string(),
            })
    }

    /// The number of prompt tokens `request` renders to.
    pub fn count_prompt_tokens(&self, request: &ChatRequest) -> Result<usize, ModelError> {
        Ok(prepare_prompt(&self.shared, request)?.len())
    }

    /// Renders, tokenizes and queues `request`; returns the worker's events.
    async fn start(
        &self,
        request: &ChatRequest,
    ) -> Result<mpsc::UnboundedReceiver<WorkerEvent>, ModelError> {
        let mut params = gen_params(request)?;
        if !self.shared.constrained_output {
            params.grammar = None;
        }
        let shared = Arc::clone(&self.shared);
        let req = request.clone();
        let prompt = tokio::task::spawn_blocking(move || prepare_prompt(&shared, &req))
            .await
            .map_err(|e| ModelError::Backend(format!("tokenizer task failed: {e}")))??;
        if prompt.len() >= self.shared.n_ctx as usize {
            return Err(ModelError::ContextOverflow {
                prompt_tokens: prompt.len(),
                context_length: self.shared.n_ctx as usize,
            });
        }
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ModelError::Backend("the local model is shut down".into()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let job = Job {
            prompt,
            params,
            events: tx,
            _permit: permit,
        };
        if self.jobs.send(job).is_err() {
            return Err(ModelError::Backend("the local engine has stopped".into()));
        }
        Ok(rx)
    }
}

fn gen_params(request: &ChatRequest) -> Result<GenParams, ModelError> {
    let s = &request.sampling;
    let bad = |message: String| ModelError::Rejected {
        status: 400,
        message,
    };
    let temperature = s.temperature.unwrap_or(DEFAULT_TEMPERATURE);
    if !(temperature.is_finite() && temperature >= 0.0) {
        return Err(bad(format!("temperature {temperature} is out of range")));
    }
    let top_p = s.top_p.unwrap_or(DEFAULT_TOP_P);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(bad(format!("top_p {top_p} is out of range (0, 1]")));
    }
    if s.n == 0 {
        return Err(bad("n must be at least 1".into()));
    }
    let seed = match s.seed {
        Some(seed) => (seed ^ (seed >> 32)) as u32,
        None => rand::random::<u32>(),
    };
    Ok(GenParams {
        max_tokens: s.max_tokens,
        temperature,
        top_p,
        seed,
        stop: s.stop.clone(),
        n: s.n,
        grammar: output_grammar(request),
    })
}

/// The grammar a request's output must match: a tool call whose arguments
/// follow the tool's parameter schema when the request requires one
/// (`tool_choice` `required` or a named tool); the schema of a
/// `json_schema` response format; any JSON object for `json_object`.
/// Schemas are converted by llama.cpp's own converter; one it cannot
/// convert falls back to "any JSON object" (output is still validated by
/// whoever asked for the schema).
fn output_grammar(request: &ChatRequest) -> Option<String> {
    let required: Vec<&hone_core::ToolSpec> = match &request.tool_choice {
        ToolChoice::Required => request.tools.iter().collect(),
        ToolChoice::Tool(name) => request.tools.iter().filter(|t| &t.name == name).collect(),
        ToolChoice::Auto | ToolChoice::None => Vec::new(),
    };
    if !required.is_empty() {
        return Some(tool_call_grammar(&required));
    }
    match &request.response_format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(JSON_GRAMMAR.to_string()),
        ResponseFormat::JsonSchema { schema, .. } => {
            Some(schema_grammar(schema).unwrap_or_else(|| JSON_GRAMMAR.to_string()))
        }
    }
}

/// llama.cpp's grammar for `schema`, or `None` when it cannot convert it.
fn schema_grammar(schema: &serde_json::Value) -> Option<String> {
    match llama_cpp_2::json_schema_to_grammar(&schema.to_string()) {
        Ok(grammar) => Some(grammar),
        Err(e) => {
            tracing::warn!(error = %e, "JSON schema not convertible to a grammar; any JSON object allowed");
            None
        }
    }
}

/// A Hermes-style call (what [`parse_tool_calls`] reads) of one of
/// `tools`: `{"name": …, "arguments": …}` with the arguments held to that
/// tool's parameter schema.
fn tool_call_grammar(tools: &[&hone_core::ToolSpec]) -> String {
    let call = serde_json::json!({
        "oneOf": tools.iter().map(|t| serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"const": t.name},
                "arguments": if t.parameters.as_object().is_some_and(|o| !o.is_empty()) {
                    t.parameters.clone()
                } else {
                    serde_json::json!({"type": "object"})
                },
            },
            "required": ["name", "arguments"],
            "additionalProperties": false,
        })).collect::<Vec<_>>()
    });
    let body = schema_grammar(&call)
        .map(|g| g.replacen("root ::=", "call ::=", 1))
        .unwrap_or_else(|| {
            // Any JSON object under `call`, from the JSON-object grammar.
            JSON_GRAMMAR
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.replacen("root    ::= object", "call ::= object", 1))
                .collect::<Vec<_>>()
                .join("\n")
        });
    format!("root ::= \"<tool_call>\\n\" call \"\\n</tool_call>\"\n{body}\n")
}

/// The tools the prompt offers: none when the request says the model must
/// not call any.
fn offered_tools(request: &ChatRequest) -> &[hone_core::ToolSpec] {
    if request.tool_choice == ToolChoice::None {
        &[]
    } else {
        &request.tools
    }
}

fn prepare_prompt(shared: &Shared, request: &ChatRequest) -> Result<Vec<LlamaToken>, ModelError> {
    let text = shared
        .template
        .render(&request.messages, offered_tools(request), true)
        .map_err(|e| ModelError::Rejected {
            status: 400,
            message: e.to_string(),
        })?;
    let vocab = shared.model.vocab();
    let mut tokens = Vec::new();
    if shared.add_bos && !(shared.bos_text.is_empty() || text.starts_with(&shared.bos_text)) {
        tokens.push(vocab.bos());
    }
    tokens.extend(vocab.tokenize(text.as_bytes(), false, true));
    if tokens.is_empty() {
        return Err(ModelError::Rejected {
            status: 400,
            message: "the prompt is empty".into(),
        });
    }
    Ok(tokens)
}

/// The sampler chain of one choice of a request.
pub(crate) fn sampler(
    model: &LlamaModel,
    params: &GenParams,
    choice: u32,
) -> Result<LlamaSampler, ModelError> {
    let mut chain = Vec::new();
    if let Some(grammar) = &params.grammar {
        chain.push(
            LlamaSampler::grammar(model, grammar, "root")
                .map_err(|e| ModelError::Backend(format!("output grammar: {e}")))?,
        );
    }
    if params.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.extend([
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(params.top_p, 1),
            LlamaSampler::min_p(0.05, 1),
            LlamaSampler::temp(params.temperature),
            LlamaSampler::dist(params.seed.wrapping_add(choice)),
        ]);
    }
    Ok(LlamaSampler::chain_simple(chain))
}

/// Folds worker events into stream events and the final response.
struct Collector {
    model: String,
    with_tools: bool,
    choices: Vec<Choice>,
    /// Per choice, when tools are offered: keeps call markup out of deltas.
    filters: Vec<ToolCallFilter>,
}

impl Collector {
    fn new(model: String, with_tools: bool) -> Self {
        Collector {
            model,
            with_tools,
            choices: Vec::new(),
            filters: Vec::new(),
        }
    }

    fn filter(&mut self, choice: u32) -> &mut ToolCallFilter {
        let index = choice as usize;
        while self.filters.len() <= index {
            self.filters.push(ToolCallFilter::default());
        }
        &mut self.filters[index]
    }

    /// The part of a delta that may be shown.
    fn shown(&mut self, choice: u32, text: &str) -> String {
        if self.with_tools {
            self.filter(choice).push(text)
        } else {
            text.to_string()
        }
    }

    /// Records the next choice; returns the text still to stream for it.
    fn finish_choice(&mut self, text: String, finish: FinishReason) -> String {
        let index = self.choices.len();
        let (text, tool_calls, finish, rest) = if self.with_tools {
            let (text, calls) = parse_tool_calls(&text, &format!("call_{index}"));
            let finish = if calls.is_empty() {
                finish
            } else {
                FinishReason::ToolCalls
            };
            let rest = self.filter(index as u32).finish(&text);
            (text, calls, finish, rest)
        } else {
            (text, Vec::new(), finish, String::new())
        };
        self.choices.push(Choice {
            text,
            tool_calls,
            finish_reason: finish,
        });
        rest
    }

    fn response(&mut self, usage: Usage) -> ChatResponse {
        ChatResponse {
            model: self.model.clone(),
            choices: std::mem::take(&mut self.choices),
            usage,
            from_cache: false,
        }
    }
}

#[async_trait]
impl LanguageModel for LocalModel {
    fn descriptor(&self) -> ModelDescriptor {
        self.descriptor.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut rx = self.start(request).await?;
        let mut collector = Collector::new(
            self.descriptor.model.clone(),
            !offered_tools(request).is_empty(),
        );
        while let Some(event) = rx.recv().await {
            match event {
                WorkerEvent::Delta { .. } => {}
                WorkerEvent::Finished { text, finish } => {
                    collector.finish_choice(text, finish);
                }
                WorkerEvent::Done { usage } => return Ok(collector.response(usage)),
                WorkerEvent::Error(e) => return Err(e),
            }
        }
        Err(ModelError::Backend(
            "the local engine stopped without an answer".into(),
        ))
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        let rx = self.start(request).await?;
        let collector = Collector::new(
            self.descriptor.model.clone(),
            !offered_tools(request).is_empty(),
        );
        let stream = futures::stream::unfold(
            (rx, collector, false),
            |(mut rx, mut collector, done)| async move {
                if done {
                    return None;
                }
                loop {
                    let item = match rx.recv().await {
                        Some(WorkerEvent::Delta { choice, text }) => {
                            let text = collector.shown(choice, &text);
                            if text.is_empty() {
                                continue;
                            }
                            Ok(StreamEvent::Delta { choice, text })
                        }
                        Some(WorkerEvent::Finished { text, finish }) => {
                            let choice = collector.choices.len() as u32;
                            let rest = collector.finish_choice(text, finish);
                            if rest.is_empty() {
                                continue;
                            }
                            Ok(StreamEvent::Delta { choice, text: rest })
                        }
                        Some(WorkerEvent::Done { usage }) => {
                            let response = collector.response(usage);
                            return Some((Ok(StreamEvent::Done(response)), (rx, collector, true)));
                        }
                        Some(WorkerEvent::Error(e)) => Err(e),
                        None => Err(ModelError::Backend(
                            "the local engine stopped without an answer".into(),
                        )),
                    };
                    let done = item.is_err();
                    return Some((item, (rx, collector, done)));
                }
            },
        );
        Ok(stream.boxed())
    }
}
