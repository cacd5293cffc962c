//! Parsers of the model's replies: thoughts with priors, self-evaluation
//! scores, rethought thoughts. Malformed replies fall back, never fail.

/// Parses an expansion reply into thoughts with priors. The expected form is
/// a JSON object `{"thoughts": [{"thought": "...", "reasonableness": 0.6}, …]}`
/// (or a bare JSON array of such objects or strings), possibly inside a code
/// fence. Returns the thoughts and whether the reply was malformed; a
/// malformed reply falls back to its non-empty lines (list markers
/// stripped) with equal priors; a reply with no usable line gives no
/// thoughts (the expansion then uses `mcts_fallback_thought.j2`).
///
/// ```
/// use hone_agents::mcts::parse_thoughts;
/// let (t, malformed) = parse_thoughts(r#"{"thoughts": [{"thought": "Use a stack.", "reasonableness": 3}, {"thought": "Sort first.", "reasonableness": 1}]}"#, 3);
/// assert!(!malformed);
/// assert_eq!(t[0], ("Use a stack.".to_string(), 3.0));
/// let (t, malformed) = parse_thoughts("1. Use a stack.\n2. Sort first.", 3);
/// assert!(malformed);
/// assert_eq!(t.len(), 2);
/// ```
pub fn parse_thoughts(reply: &str, width: usize) -> (Vec<(String, f64)>, bool) {
    let width = width.max(1);
    if let Some(parsed) = json_thoughts(reply) {
        if !parsed.is_empty() {
            return (parsed.into_iter().take(width).collect(), false);
        }
    }
    let lines: Vec<(String, f64)> = reply
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(|c: char| {
                    c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | '•')
                })
                .trim()
                .to_string()
        })
        .filter(|l| {
            l.len() > 3 && !l.starts_with("```") && !l.starts_with('{') && !l.starts_with('}')
        })
        .take(width)
        .map(|l| (l, 1.0))
        .collect();
    (lines, true)
}

/// The JSON schema of an expansion reply with `width` thoughts: the form
/// `mcts_expand.j2` asks for, sent as the request's response format so the
/// embedded model's grammar cannot produce anything else. Thoughts are
/// capped at 400 characters so that a model caught in a loop must still
/// close the object. llama.cpp's converter keeps the properties in the
/// order they are serialised, which is alphabetical here: the score comes
/// before the thought, and the template's example shows that order.
///
/// ```
/// let schema = hone_agents::mcts::thoughts_schema(3);
/// assert_eq!(schema["properties"]["thoughts"]["maxItems"], 3);
/// ```
pub fn thoughts_schema(width: usize) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "thoughts": {
                "type": "array",
                "minItems": 1,
                "maxItems": width.max(1),
                "items": {
                    "type": "object",
                    "properties": {
                        "thought": {"type": "string", "minLength": 1, "maxLength": 400},
                        "reasonableness": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    "required": ["thought", "reasonableness"],
                    "additionalProperties": false,
                },
            },
        },
        "required": ["thoughts"],
        "additionalProperties": false,
    })
}

pub(super) fn json_value(reply: &str) -> Option<serde_json::Value> {
    let starts = reply.find(['{', '['])?;
    let ends = reply.rfind(['}', ']'])?;
    if ends < starts {
        return None;
    }
    serde_json::from_str(&reply[starts..=ends]).ok()
}

pub(super) fn json_thoughts(reply: &str) -> Option<Vec<(String, f64)>> {
    let value = json_value(reply)?;
    let list = match &value {
        serde_json::Value::Array(items) => items.clone(),
        serde_json::Value::Object(map) => map
            .get("thoughts")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default(),
        _ => return None,
    };
    let thoughts = list
        .iter()
        .filter_map(|item| match item {
            serde_json::Value::String(s) => Some((s.trim().to_string(), 1.0)),
            serde_json::Value::Object(o) => {
                let text = o
                    .get("thought")
                    .or_else(|| o.get("text"))
                    .and_then(|t| t.as_str())?
                    .trim()
                    .to_string();
                let prior = o
                    .get("reasonableness")
                    .or_else(|| o.get("prior"))
                    .or_else(|| o.get("score"))
                    .and_then(|p| {
                        p.as_f64()
                            .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
                    })
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .unwrap_or(1.0);
                Some((text, prior))
            }
            _ => None,
        })
        .filter(|(t, _)| !t.is_empty())
        .collect();
    Some(thoughts)
}

/// Parses a self-evaluation: the first number after the last "score" (any
/// case), else the first number on the last line that has one; read as a
/// score out of 10, or as a fraction when written with a decimal point and
/// ≤ 1. `None` when there is no usable number.
///
/// ```
/// use hone_agents::mcts::parse_self_eval;
/// assert_eq!(parse_self_eval("Looks right.\nSCORE: 8"), Some(0.8));
/// assert_eq!(parse_self_eval("score 0.9"), Some(0.9));
/// assert_eq!(parse_self_eval("I'd say 7/10"), Some(0.7));
/// assert_eq!(parse_self_eval("no idea"), None);
/// ```
pub fn parse_self_eval(reply: &str) -> Option<f64> {
    let lower = reply.to_ascii_lowercase();
    let region = match lower.rfind("score") {
        Some(at) => &reply[at + "score".len()..],
        None => reply
            .lines()
            .rev()
            .find(|l| l.chars().any(|c| c.is_ascii_digit()))?,
    };
    let start = region.find(|c: char| c.is_ascii_digit())?;
    let text: String = region[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let text = text.trim_end_matches('.');
    let number: f64 = text.parse().ok()?;
    let score = if text.contains('.') && number <= 1.0 {
        number
    } else {
        number / 10.0
    };
    (0.0..=1.0).contains(&score).then_some(score)
}

/// A rethink reply: the new thought and, for `rethink = any`, the 1-based
/// index of the thought it replaces.
pub(super) fn parse_rethink(reply: &str) -> (Option<usize>, Option<String>) {
    if let Some(serde_json::Value::Object(o)) = json_value(reply) {
        let index = o.get("index").and_then(|i| {
            i.as_u64()
                .map(|i| i as usize)
                .or_else(|| i.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let thought = o
            .get("thought")
            .and_then(|t| t.as_str())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if thought.is_some() {
            return (index, thought);
        }
    }
    let text = reply
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join(" ");
    (None, (!text.is_empty()).then_some(text))
}
