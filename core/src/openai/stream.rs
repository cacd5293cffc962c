//! Streamed responses: SSE chunks in, [`StreamEvent`]s out, and the final
//! response assembled from text and tool-call fragments.

use super::*;

pub(super) type RawStream = Pin<Box<dyn futures::Stream<Item = Result<Value, OpenAIError>> + Send>>;

pub(super) struct StreamState {
    pub(super) raw: RawStream,
    pub(super) assembler: StreamAssembler,
    pub(super) pending: std::collections::VecDeque<StreamEvent>,
    pub(super) finished: bool,
    pub(super) timeout: Duration,
    // Held until the stream is dropped, so a slow consumer counts against the
    // endpoint's concurrency limit.
    pub(super) _permit: tokio::sync::OwnedSemaphorePermit,
}

pub(super) async fn next_event(
    mut st: StreamState,
) -> Option<(Result<StreamEvent, ModelError>, StreamState)> {
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

#[derive(Default)]
pub(super) struct PartialChoice {
    pub(super) text: String,
    pub(super) tool_calls: Vec<ToolCall>,
    pub(super) finish: Option<FinishReason>,
}

/// Accumulates streamed chunks into the final response.
#[derive(Default)]
pub(super) struct StreamAssembler {
    pub(super) model: String,
    pub(super) choices: Vec<PartialChoice>,
    pub(super) usage: Usage,
}

impl StreamAssembler {
    pub(super) fn absorb(&mut self, chunk: &Value) -> Result<Vec<StreamEvent>, ModelError> {
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

    pub(super) fn finish(&mut self) -> Result<ChatResponse, ModelError> {
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
