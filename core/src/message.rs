//! Chat messages, tool specifications and tool calls.
//!
//! These types are provider-agnostic: every [`LanguageModel`](crate::LanguageModel)
//! backend translates them to its own wire format.

use serde::{Deserialize, Serialize};

/// Who wrote a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The user (or the framework speaking for a task).
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering an assistant's [`ToolCall`].
    Tool,
}

/// One chat message.
///
/// ```
/// use hone_core::{Message, Role};
/// let m = Message::user("Write a function that adds two numbers.");
/// assert_eq!(m.role, Role::User);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Author of the message.
    pub role: Role,
    /// Text content (may be empty for an assistant message that only calls tools).
    pub content: String,
    /// Tool calls made by an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A system message.
    ///
    /// ```
    /// let m = hone_core::Message::system("You are terse.");
    /// assert_eq!(m.role, hone_core::Role::System);
    /// ```
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    ///
    /// ```
    /// let m = hone_core::Message::user("hi");
    /// assert_eq!(m.content, "hi");
    /// ```
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    ///
    /// ```
    /// let m = hone_core::Message::assistant("hello");
    /// assert_eq!(m.role, hone_core::Role::Assistant);
    /// ```
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool result answering the call with id `tool_call_id`.
    ///
    /// ```
    /// let m = hone_core::Message::tool_result("call_1", "42");
    /// assert_eq!(m.tool_call_id.as_deref(), Some("call_1"));
    /// ```
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, content)
        }
    }
}

/// A tool the model may call, described by a JSON schema of its arguments.
///
/// ```
/// use hone_core::ToolSpec;
/// let spec = ToolSpec {
///     name: "run_python".into(),
///     description: "Run Python code and return stdout".into(),
///     parameters: serde_json::json!({
///         "type": "object",
///         "properties": {"code": {"type": "string"}},
///         "required": ["code"]
///     }),
/// };
/// assert_eq!(spec.name, "run_python");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name the model uses to call the tool.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A call of a tool requested by the model.
///
/// ```
/// use hone_core::ToolCall;
/// let call = ToolCall { id: "c1".into(), name: "add".into(), arguments: r#"{"a":1}"#.into() };
/// assert_eq!(call.arguments_json().unwrap()["a"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider-assigned id, echoed in the [`Role::Tool`] answer.
    pub id: String,
    /// Name of the tool.
    pub name: String,
    /// Arguments as the raw JSON text the model produced (it may be malformed).
    pub arguments: String,
}

impl ToolCall {
    /// Parses [`ToolCall::arguments`]; the model may have written invalid JSON,
    /// so this is fallible.
    pub fn arguments_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.arguments)
    }
}
