//! [`ScriptedModel`]: a test double that replays responses and records requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::model::{ChatRequest, ChatResponse, LanguageModel, ModelDescriptor, ModelError};

type Matcher = Box<dyn Fn(&ChatRequest) -> bool + Send + Sync>;
type Responder = Box<dyn Fn(&ChatRequest) -> Result<ChatResponse, ModelError> + Send + Sync>;

struct Rule {
    matches: Matcher,
    respond: Responder,
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Result<ChatResponse, ModelError>>,
    rules: Vec<Rule>,
    seen: Vec<ChatRequest>,
}

/// A [`LanguageModel`] that answers from a script, for testing control flow
/// without a real model.
///
/// Queued responses are replayed in order; once the queue is empty, rules are
/// tried in the order they were added (the first whose predicate matches the
/// request answers). Every request is recorded and can be inspected with
/// [`ScriptedModel::requests`].
///
/// ```
/// use hone_core::{ChatRequest, LanguageModel, Message, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let model = ScriptedModel::in_order(["first", "second"])
///     .with_rule(|req| req.messages.iter().any(|m| m.content.contains("critique")), |_| "looks wrong");
/// let req = ChatRequest::new(vec![Message::user("solve")]);
/// assert_eq!(model.chat(&req).await.unwrap().first_text(), "first");
/// assert_eq!(model.chat(&req).await.unwrap().first_text(), "second");
/// let critique = ChatRequest::new(vec![Message::user("critique this")]);
/// assert_eq!(model.chat(&critique).await.unwrap().first_text(), "looks wrong");
/// assert!(model.chat(&req).await.is_err()); // script exhausted
/// assert_eq!(model.requests().len(), 4);
/// # });
/// ```
#[derive(Clone)]
pub struct ScriptedModel {
    name: String,
    script: Arc<Mutex<Script>>,
}

impl Default for ScriptedModel {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedModel {
    /// An empty script: every call fails until responses or rules are added.
    pub fn new() -> Self {
        ScriptedModel {
            name: "scripted".to_string(),
            script: Arc::new(Mutex::new(Script::default())),
        }
    }

    /// A script that answers with `texts`, one per call, in order.
    pub fn in_order<I, S>(texts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let model = Self::new();
        for text in texts {
            model.push_text(text);
        }
        model
    }

    /// Renames the model (the name appears in descriptors and usage ledgers).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        // A panic while holding the lock cannot leave the script half-updated
        // (every critical section is a single push or pop), so poisoning is
        // safe to ignore.
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a text answer.
    pub fn push_text(&self, text: impl Into<String>) {
        let response = ChatResponse::text(self.name.clone(), text);
        self.lock().queue.push_back(Ok(response));
    }

    /// Queues a complete response (tool calls, usage, several choices…).
    pub fn push_response(&self, response: ChatResponse) {
        self.lock().queue.push_back(Ok(response));
    }

    /// Queues an error, e.g. to test retry or fallback logic.
    pub fn push_error(&self, error: ModelError) {
        self.lock().queue.push_back(Err(error));
    }

    /// Adds a rule that answers matching requests with a text computed from the request.
    pub fn with_rule<M, R, S>(self, matches: M, respond: R) -> Self
    where
        M: Fn(&ChatRequest) -> bool + Send + Sync + 'static,
        R: Fn(&ChatRequest) -> S + Send + Sync + 'static,
        S: Into<String>,
    {
        let name = self.name.clone();
        self.lock().rules.push(Rule {
            matches: Box::new(matches),
            respond: Box::new(move |req| Ok(ChatResponse::text(name.clone(), respond(req)))),
        });
        self
    }

    /// Adds a rule that answers requests rendered from `template` (a file
    /// name such as `refine_critic.j2`, see [`ChatRequest::template`]) with
    /// a text computed from the request. Scripts written this way keep
    /// working when a template's wording changes.
    ///
    /// ```
    /// use hone_core::{templates::Templates, ChatRequest, LanguageModel, ScriptedModel};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let t = Templates::new().with_template("critic.j2", "Critique: {{ a }}").unwrap();
    /// let model = ScriptedModel::new().on_template("critic.j2", |_| "VERDICT: CORRECT");
    /// let req = ChatRequest::from_prompt(t.prompt("critic.j2", serde_json::json!({"a": "4"})).unwrap());
    /// assert_eq!(model.chat(&req).await.unwrap().first_text(), "VERDICT: CORRECT");
    /// # });
    /// ```
    pub fn on_template<R, S>(self, template: &str, respond: R) -> Self
    where
        R: Fn(&ChatRequest) -> S + Send + Sync + 'static,
        S: Into<String>,
    {
        let template = template.to_string();
        self.with_rule(
            move |req| req.template.as_deref() == Some(template.as_str()),
            respond,
        )
    }

    /// Adds a rule that answers matching requests with a full response or an error.
    pub fn with_response_rule<M, R>(self, matches: M, respond: R) -> Self
    where
        M: Fn(&ChatRequest) -> bool + Send + Sync + 'static,
        R: Fn(&ChatRequest) -> Result<ChatResponse, ModelError> + Send + Sync + 'static,
    {
        self.lock().rules.push(Rule {
            matches: Box::new(matches),
            respond: Box::new(respond),
        });
        self
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().seen.clone()
    }

    /// Number of queued responses not yet used.
    pub fn remaining(&self) -> usize {
        self.lock().queue.len()
    }
}

#[async_trait]
impl LanguageModel for ScriptedModel {
    fn descriptor(&self) -> ModelDescriptor {
        ModelDescriptor {
            backend: "scripted".into(),
            model: self.name.clone(),
            endpoint: None,
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut script = self.lock();
        script.seen.push(request.clone());
        if let Some(next) = script.queue.pop_front() {
            return next;
        }
        for rule in &script.rules {
            if (rule.matches)(request) {
                return (rule.respond)(request);
            }
        }
        let last = request
            .messages
            .last()
            .map(|m| m.content.chars().take(80).collect::<String>())
            .unwrap_or_default();
        Err(ModelError::Backend(format!(
            "scripted model: no response left and no rule matches the request ending with {last:?}"
        )))
    }
}
