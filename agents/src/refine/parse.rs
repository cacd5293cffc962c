//! Reading model output: the code in an answer, the critic's verdict.

use super::*;

/// The program in an answer: the last fenced code block, else the whole
/// answer.
///
/// ```
/// let a = "Here:\n```python\ndef f():\n    return 1\n```\nDone.";
/// assert_eq!(hone_agents::refine::extract_code(a), "def f():\n    return 1");
/// assert_eq!(hone_agents::refine::extract_code("x = 1"), "x = 1");
/// ```
pub fn extract_code(answer: &str) -> String {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in answer.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block.join("\n")),
                None => current = Some(Vec::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push(line);
        }
    }
    // An unterminated block (output cut at the token limit) still counts.
    if let Some(block) = current {
        blocks.push(block.join("\n"));
    }
    blocks
        .into_iter()
        .rev()
        .find(|b| !b.trim().is_empty())
        .unwrap_or_else(|| answer.trim().to_string())
}

/// Finds the critic's verdict line (the last `VERDICT:` line wins).
///
/// ```
/// use hone_agents::refine::{parse_verdict, Verdict};
/// assert_eq!(parse_verdict("step 2 is wrong\nVERDICT: INCORRECT"), Verdict::Incorrect);
/// assert_eq!(parse_verdict("fine.\n**Verdict:** correct"), Verdict::Correct);
/// assert_eq!(parse_verdict("looks fine"), Verdict::Malformed);
/// ```
pub fn parse_verdict(critique: &str) -> Verdict {
    for line in critique.lines().rev() {
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
            .collect::<String>()
            .trim()
            .to_ascii_uppercase();
        if let Some(rest) = cleaned.strip_prefix("VERDICT:") {
            let rest = rest.trim();
            if rest.starts_with("INCORRECT") {
                return Verdict::Incorrect;
            }
            if rest.starts_with("CORRECT") {
                return Verdict::Correct;
            }
        }
    }
    Verdict::Malformed
}
