//! Text plumbing for generation: incremental UTF-8 decoding of token bytes,
//! stop sequences that never leak into streamed output, and parsing of
//! Hermes-style `<tool_call>` blocks.

use hone_core::ToolCall;

/// Turns a stream of byte pieces (token texts may split a UTF-8 character)
/// into text.
///
/// ```
/// use hone_local::text::Utf8Decoder;
/// let mut d = Utf8Decoder::default();
/// let euro = "€".as_bytes();
/// assert_eq!(d.push(&euro[..1]), "");
/// assert_eq!(d.push(&euro[1..]), "€");
/// ```
#[derive(Debug, Default)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Adds bytes and returns the text that is now complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // The prefix is valid UTF-8 by construction.
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for more.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Returns whatever is left (an incomplete character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// Finds stop sequences in generated text and holds back text that might be
/// the beginning of one, so streamed deltas never contain (part of) a stop
/// sequence.
///
/// ```
/// use hone_local::text::StopMatcher;
/// let mut m = StopMatcher::new(vec!["END".into()]);
/// assert_eq!(m.push("abc E"), ("abc ".to_string(), false));
/// assert_eq!(m.push("ND more"), (String::new(), true));
/// assert_eq!(m.text(), "abc ");
/// ```
#[derive(Debug)]
pub struct StopMatcher {
    stops: Vec<String>,
    text: String,
    emitted: usize,
    stopped: bool,
}

impl StopMatcher {
    /// A matcher for these stop sequences (empty ones are ignored).
    pub fn new(stops: Vec<String>) -> Self {
        StopMatcher {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            text: String::new(),
            emitted: 0,
            stopped: false,
        }
    }

    /// Adds generated text. Returns the text that is safe to emit now and
    /// whether a stop sequence was found (then the text is cut before it and
    /// further pushes are ignored).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        if self.stopped {
            return (String::new(), true);
        }
        let search_from = floor_char_boundary(
            &self.text,
            self.emitted
                .saturating_sub(self.stops.iter().map(String::len).max().unwrap_or(0)),
        );
        self.text.push_str(piece);
        let hit = self
            .stops
            .iter()
            .filter_map(|s| self.text[search_from..].find(s.as_str()))
            .min();
        if let Some(pos) = hit {
            let cut = search_from + pos;
            self.text.truncate(cut);
            self.stopped = true;
            let out = self.text[self.emitted.min(cut)..].to_string();
            self.emitted = cut;
            return (out, true);
        }
        let safe = self.text.len() - self.held_back();
        let out = self.text[self.emitted..safe].to_string();
        self.emitted = safe;
        (out, false)
    }

    /// Length of the longest suffix of the text that is a proper prefix of a
    /// stop sequence.
    fn held_back(&self) -> usize {
        let mut best = 0;
        for stop in &self.stops {
            for (len, _) in stop.char_indices().skip(1) {
                if len > best && self.text.ends_with(&stop[..len]) {
                    best = len;
                }
            }
        }
        best
    }

    /// Ends generation without a stop sequence: returns the held-back rest.
    pub fn finish(&mut self) -> String {
        let out = self.text[self.emitted..].to_string();
        self.emitted = self.text.len();
        out
    }

    /// All text so far (cut before the stop sequence, if one was found).
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Extracts Hermes-style tool calls (`<tool_call>{"name": …, "arguments":
/// …}</tool_call>`, as Qwen2.5 emits them) from generated text. Returns the
/// text with the blocks removed and the calls, numbered with `id_prefix`.
///
/// ```
/// let (text, calls) = hone_local::text::parse_tool_calls(
///     "ok <tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>", "call");
/// assert_eq!(text, "ok");
/// assert_eq!(calls[0].name, "add");
/// assert_eq!(calls[0].arguments, r#"{"a":1}"#);
/// ```
pub fn parse_tool_calls(text: &str, id_prefix: &str) -> (String, Vec<ToolCall>) {
    const OPEN: &str = "<tool_call>";
    const CLOSE: &str = "</tool_call>";
    let mut rest = text;
    let mut kept = String::new();
    let mut calls = Vec::new();
    while let Some(start) = rest.find(OPEN) {
        let body_start = start + OPEN.len();
        let (body, next) = match rest[body_start..].find(CLOSE) {
            Some(end) => (
                &rest[body_start..body_start + end],
                body_start + end + CLOSE.len(),
            ),
            None => (&rest[body_start..], rest.len()),
        };
        let parsed: Option<serde_json::Value> = serde_json::from_str(body.trim()).ok();
        match parsed
            .as_ref()
            .and_then(|v| Some((v.get("name")?.as_str()?, v.get("arguments"))))
        {
            Some((name, arguments)) => {
                kept.push_str(&rest[..start]);
                let arguments = match arguments {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => "{}".to_string(),
                };
                calls.push(ToolCall {
                    id: format!("{id_prefix}_{}", calls.len()),
                    name: name.to_string(),
                    arguments,
                });
            }
            // Not a well-formed call: keep the text as the model wrote it.
            None => kept.push_str(&rest[..next]),
        }
        rest = &rest[next..];
    }
    kept.push_str(rest);
    if calls.is_empty() {
        (text.to_string(), calls)
    } else {
        // Trailing whitespace was the separator before a call; leading
        // whitespace stays, so the text streamed before the first call
        // (see [`ToolCallFilter`]) is a prefix of this text.
        (kept.trim_end().to_string(), calls)
    }
}

/// Keeps tool-call markup out of streamed text: passes text through until
/// a `<tool_call>` begins, holding back what could be the start of one (and
/// the whitespace before it); after it, nothing. [`ToolCallFilter::finish`]
/// then yields what the final text (from [`parse_tool_calls`]) has beyond
/// what was streamed, so the deltas add up to the final text.
///
/// ```
/// use hone_local::text::{parse_tool_calls, ToolCallFilter};
/// let pieces = ["Let me", " look. <tool", "_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"];
/// let mut filter = ToolCallFilter::default();
/// let mut streamed: String = pieces.iter().map(|p| filter.push(p)).collect();
/// let (text, calls) = parse_tool_calls(&pieces.concat(), "call");
/// streamed.push_str(&filter.finish(&text));
/// assert_eq!(streamed, "Let me look.");
/// assert_eq!((text.as_str(), calls.len()), ("Let me look.", 1));
/// ```
#[derive(Debug, Default)]
pub struct ToolCallFilter {
    pending: String,
    emitted: String,
    in_call: bool,
}

impl ToolCallFilter {
    const OPEN: &'static str = "<tool_call>";

    /// Takes the next piece of generated text; returns what may be shown.
    pub fn push(&mut self, piece: &str) -> String {
        if self.in_call {
            return String::new();
        }
        self.pending.push_str(piece);
        let ready = match self.pending.find(Self::OPEN) {
            Some(start) => {
                self.in_call = true;
                self.pending[..start].trim_end().len()
            }
            None => {
                // The longest suffix that could begin `<tool_call>`…
                let partial = (1..Self::OPEN.len())
                    .rev()
                    .find(|&n| {
                        self.pending.len() >= n
                            && self.pending.is_char_boundary(self.pending.len() - n)
                            && Self::OPEN.starts_with(&self.pending[self.pending.len() - n..])
                    })
                    .unwrap_or(0);
                // …and the whitespace before it.
                self.pending[..self.pending.len() - partial]
                    .trim_end()
                    .len()
            }
        };
        let out: String = self.pending.drain(..ready).collect();
        if self.in_call {
            self.pending.clear();
        }
        self.emitted.push_str(&out);
        out
    }

    /// The rest of `final_text` after what was already shown (empty if
    /// what was shown is not a prefix of it).
    pub fn finish(&mut self, final_text: &str) -> String {
        let rest = final_text
            .strip_prefix(self.emitted.as_str())
            .unwrap_or_default()
            .to_string();
        self.emitted.push_str(&rest);
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_text_never_shows_tool_markup_and_adds_up_to_the_final_text() {
        let text = "  Sure.\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>\nDone <3";
        // Every way of cutting the text into two pieces.
        for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let mut filter = ToolCallFilter::default();
            let mut streamed = filter.push(&text[..cut]);
            streamed.push_str(&filter.push(&text[cut..]));
            assert!(!streamed.contains('<'), "cut {cut}: {streamed:?}");
            let (final_text, calls) = parse_tool_calls(text, "c");
            assert_eq!(calls.len(), 1);
            streamed.push_str(&filter.finish(&final_text));
            assert_eq!(streamed, final_text, "cut {cut}");
        }
        // Without a call, the text streams whole.
        let mut filter = ToolCallFilter::default();
        let plain = "a < b and c <tool";
        let mut streamed = filter.push(plain);
        let (final_text, calls) = parse_tool_calls(plain, "c");
        assert!(calls.is_empty());
        streamed.push_str(&filter.finish(&final_text));
        assert_eq!(streamed, plain);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut d = Utf8Decoder::default();
        assert_eq!(d.push(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(d.push(&[0xe2, 0x82]), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }

    #[test]
    fn stop_sequences_split_across_pieces() {
        let mut m = StopMatcher::new(vec!["\n\n".into(), "###".into()]);
        let mut out = String::new();
        for piece in ["def f():", "\n", "  return 1", "\n", "\nmore"] {
            let (s, stop) = m.push(piece);
            out.push_str(&s);
            if stop {
                break;
            }
        }
        assert_eq!(out, "def f():\n  return 1");
        assert_eq!(m.text(), out);
    }

    #[test]
    fn near_misses_are_released() {
        let mut m = StopMatcher::new(vec!["STOP".into()]);
        assert_eq!(m.push("ST").0, "");
        assert_eq!(m.push("ART").0, "START");
        assert_eq!(m.push("S").0, "");
        assert_eq!(m.finish(), "S");
    }

    #[test]
    fn no_stops_passes_everything() {
        let mut m = StopMatcher::new(vec![String::new()]);
        assert_eq!(m.push("héllo").0, "héllo");
        assert_eq!(m.finish(), "");
    }

    #[test]
    fn stop_in_the_first_piece() {
        let mut m = StopMatcher::new(vec!["é".into()]);
        assert_eq!(m.push("aéb"), ("a".to_string(), true));
    }

    #[test]
    fn malformed_tool_calls_stay_text() {
        let (text, calls) = parse_tool_calls("x <tool_call>not json</tool_call> y", "c");
        assert!(calls.is_empty());
        assert_eq!(text, "x <tool_call>not json</tool_call> y");
        let (text, calls) =
            parse_tool_calls("<tool_call>{\"name\":\"f\",\"arguments\":\"{}\"}", "c");
        assert_eq!(text, "");
        assert_eq!(calls[0].arguments, "{}");
    }
}
