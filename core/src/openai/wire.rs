//! The chat-completions wire format: request and response bodies, usage,
//! finish reasons, and the mapping of client errors to [`ModelError`].

use super::*;

/// The chat-completions request body, serialised straight from borrowed
/// data (no intermediate JSON tree on the hot path).
#[derive(Serialize)]
pub(super) struct WireRequest<'a> {
    pub(super) model: &'a str,
    pub(super) messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(super) stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tools: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream_options: Option<Value>,
}

#[derive(Serialize)]
pub(super) struct WireMessage<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tool_call_id: Option<&'a str>,
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
pub(super) struct WireResponse {
    #[serde(default)]
    pub(super) model: Option<String>,
    pub(super) choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize)]
pub(super) struct WireChoice {
    pub(super) message: Option<WireResponseMessage>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireResponseMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Deserialize)]
pub(super) struct WireToolCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    pub(super) function: Option<WireFunction>,
}

#[derive(Deserialize)]
pub(super) struct WireFunction {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) arguments: Option<String>,
}

impl WireResponse {
    /// Checks the shape and converts; a body that is valid JSON but not a
    /// chat completion is [`ModelError::Malformed`].
    pub(super) fn into_response(self) -> Result<ChatResponse, ModelError> {
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

pub(super) fn map_error(e: OpenAIError, timeout: Duration) -> ModelError {
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
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) prompt_tokens: Option<u64>,
    #[serde(default)]
    pub(super) completion_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
        }
    }
}

pub(super) fn finish_reason_of(v: Option<&str>) -> FinishReason {
    match v {
        None | Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

pub(super) fn finish_reason(v: Option<&Value>) -> FinishReason {
    finish_reason_of(v.and_then(Value::as_str))
}

pub(super) fn parse_usage(v: Option<&Value>) -> Usage {
    v.and_then(|u| serde_json::from_value::<WireUsage>(u.clone()).ok())
        .map(Usage::from)
        .unwrap_or_default()
}
