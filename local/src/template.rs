//! Chat templates: rendering a conversation into a prompt with the model's
//! own Jinja template (from the GGUF's `tokenizer.chat_template`), the way
//! Hugging Face `transformers` does, so default system prompts and special
//! tokens come out exactly as the model was trained on.

use hone_core::{Message, Role, ToolSpec};
use minijinja::{Environment, ErrorKind, Value};

/// The ChatML template used when a model file carries no template.
pub const CHATML_TEMPLATE: &str = include_str!("../templates/chatml.jinja");

/// A compiled chat template.
///
/// ```
/// use hone_core::Message;
/// use hone_local::template::ChatTemplate;
/// let t = ChatTemplate::new(hone_local::template::CHATML_TEMPLATE, "", "<|im_end|>").unwrap();
/// let prompt = t.render(&[Message::user("hi")], &[], true).unwrap();
/// assert_eq!(prompt, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
/// ```
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

/// A template that does not compile or fails to render.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("chat template: {0}")]
pub struct TemplateError(pub String);

impl From<minijinja::Error> for TemplateError {
    fn from(e: minijinja::Error) -> Self {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        TemplateError(msg)
    }
}

fn raise_exception(message: String) -> Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `strftime_now(format)`, used by some templates to state today's date.
/// Supports `%Y %m %d %B %b %H %M %S %%` (UTC).
fn strftime_now(format: String) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let month_name = MONTHS[(month as usize).saturating_sub(1) % 12];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('B') => out.push_str(month_name),
            Some('b') => out.push_str(&month_name[..3]),
            Some('H') => out.push_str(&format!("{:02}", tod / 3600)),
            Some('M') => out.push_str(&format!("{:02}", tod / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", tod % 60)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// The message as templates expect it (the OpenAI/Hugging Face shape).
fn message_value(m: &Message) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    obj.insert("role".into(), role_name(m.role).into());
    obj.insert("content".into(), m.content.clone().into());
    if !m.tool_calls.is_empty() {
        let calls: Vec<serde_json::Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                // Templates print `arguments` with `tojson` when it is a
                // mapping and verbatim when it is a string.
                let arguments = c
                    .arguments_json()
                    .unwrap_or_else(|_| serde_json::Value::String(c.arguments.clone()));
                serde_json::json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": arguments},
                })
            })
            .collect();
        obj.insert("tool_calls".into(), calls.into());
    }
    if let Some(id) = &m.tool_call_id {
        obj.insert("tool_call_id".into(), id.clone().into());
    }
    serde_json::Value::Object(obj)
}

fn tool_value(t: &ToolSpec) -> serde_json::Value {
    serde_json::json!({
        "type": "function",
        "function": {
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
        }
    })
}

impl ChatTemplate {
    /// Compiles `source` (a Hugging Face chat template). `bos_token` and
    /// `eos_token` are the texts of the model's special tokens, which
    /// templates may reference.
    pub fn new(
        source: &str,
        bos_token: impl Into<String>,
        eos_token: impl Into<String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        // As transformers renders chat templates.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned("chat", source.to_string())?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// Renders the conversation. With `add_generation_prompt` the prompt
    /// ends where the assistant's answer begins.
    pub fn render(
        &self,
        messages: &[Message],
        tools: &[ToolSpec],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let template = self.env.get_template("chat")?;
        let messages: Vec<serde_json::Value> = messages.iter().map(message_value).collect();
        let tools: Option<Vec<serde_json::Value>> =
            (!tools.is_empty()).then(|| tools.iter().map(tool_value).collect());
        let ctx = minijinja::context! {
            messages => Value::from_serialize(&messages),
            tools => Value::from_serialize(&tools),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.as_str(),
            eos_token => self.eos_token.as_str(),
        };
        Ok(template.render(ctx)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Qwen2.5-style template (test data), with its default system prompt.
    const QWEN_LIKE: &str = "{%- if messages[0]['role'] == 'system' %}\n    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n{%- else %}\n    {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {%- if not (message.role == 'system' and loop.first) %}\n        {{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

    #[test]
    fn default_system_prompt_is_rendered() {
        let t = ChatTemplate::new(QWEN_LIKE, "", "<|im_end|>").unwrap();
        let p = t.render(&[Message::user("  hi ")], &[], true).unwrap();
        assert_eq!(
            p,
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        let p = t
            .render(
                &[Message::system("Be terse."), Message::user("hi")],
                &[],
                false,
            )
            .unwrap();
        assert_eq!(
            p,
            "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        );
    }

    #[test]
    fn raise_exception_is_an_error() {
        let t = ChatTemplate::new(
            "{% if messages|length == 0 %}{{ raise_exception('no messages') }}{% endif %}",
            "",
            "",
        )
        .unwrap();
        let err = t.render(&[], &[], true).unwrap_err();
        assert!(err.0.contains("no messages"), "{err}");
    }

    #[test]
    fn tools_and_tool_calls_reach_the_template() {
        let t = ChatTemplate::new(
            "{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters | tojson }};{% endfor %}{% for m in messages %}{% for c in m.tool_calls %}{{ c.function.name }}({{ c.function.arguments.a }}){% endfor %}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let tool = ToolSpec {
            name: "add".into(),
            description: "adds".into(),
            parameters: serde_json::json!({"type": "object"}),
        };
        let mut m = Message::assistant("");
        m.tool_calls.push(hone_core::ToolCall {
            id: "1".into(),
            name: "add".into(),
            arguments: r#"{"a": 2}"#.into(),
        });
        let out = t.render(&[m], &[tool], true).unwrap();
        assert_eq!(out, r#"add:{"type":"object"};add(2)"#);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(strftime_now("100%%".into()), "100%");
        assert_eq!(strftime_now("%Y".into()).len(), 4);
    }
}
