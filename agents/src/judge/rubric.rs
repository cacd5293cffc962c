//! Rubric grading (Prometheus style): feedback first, then `SCORE: n` on a
//! 1–5 rubric.

use hone_core::graph::{NodeContext, NodeError};
use hone_core::templates::Templates;
use hone_core::LanguageModel;
use serde::{Deserialize, Serialize};

use super::*;
use crate::events::AgentEvent;

/// A 1–5 score rubric: the criterion and a description of each score.
///
/// ```
/// use hone_agents::judge::Rubric;
/// let r = Rubric::correctness();
/// assert!(r.scores[0].contains("incorrect"));
/// assert_eq!(r.scores.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rubric {
    /// What is graded (e.g. "Is the answer correct and complete?").
    pub criterion: String,
    /// Description of scores 1 to 5, in order (`scores[0]` describes 1).
    pub scores: [String; 5],
}

impl Rubric {
    /// A rubric from a criterion and the descriptions of scores 1 to 5.
    pub fn new(criterion: impl Into<String>, scores: [&str; 5]) -> Self {
        Rubric {
            criterion: criterion.into(),
            scores: scores.map(str::to_string),
        }
    }

    /// The default rubric: correctness and completeness of the answer.
    ///
    /// Rubric data, kept with the prompts in
    /// `templates/rubric_correctness.json`; the prompt around it is
    /// `templates/judge_rubric.j2`. Load a different rubric (it is
    /// `Deserialize`) to grade other criteria.
    pub fn correctness() -> Self {
        // Embedded and checked by `the_default_rubric_parses`.
        serde_json::from_str(CORRECTNESS_RUBRIC).unwrap_or_else(|e| {
            unreachable!("templates/rubric_correctness.json is checked by the tests: {e}")
        })
    }

    /// What the template sees: `criterion` and `scores` as a list of
    /// `{score, description}`.
    fn context(&self) -> serde_json::Value {
        let scores: Vec<serde_json::Value> = self
            .scores
            .iter()
            .enumerate()
            .map(|(i, d)| serde_json::json!({"score": i + 1, "description": d}))
            .collect();
        serde_json::json!({"criterion": self.criterion, "scores": scores})
    }
}

impl Default for Rubric {
    fn default() -> Self {
        Rubric::correctness()
    }
}

/// The outcome of [`rubric_grade`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricGrade {
    /// The grader's feedback (the text before the score line; the whole
    /// output when there is no score line).
    pub feedback: String,
    /// The score, 1 to 5; `None` when the output had no readable score.
    pub score: Option<u8>,
    /// Whether the score line was missing, unreadable or out of range.
    pub malformed: bool,
}

/// Grades `answer` to `task` against `rubric`, optionally with a reference
/// answer that deserves a 5.
///
/// The model (at temperature 0, at most `max_tokens` tokens) writes feedback
/// first and then a final `SCORE: n` line. A missing or out-of-range score
/// is not an error: the grade has `score: None` and `malformed: true`.
/// Errors are model-call failures (a budget running out included) and
/// template failures.
///
/// ```
/// use hone_agents::judge::{rubric_grade, Rubric};
/// use hone_core::{graph::NodeContext, Budget, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::in_order(["The sum is right but unexplained.\n**Score:** 4/5"]);
/// let ctx = NodeContext::detached(Budget::unlimited());
/// let grade = rubric_grade(&ctx, &model, &hone_agents::templates::embedded(), "2+2?", "4",
///     &Rubric::correctness(), Some("2 + 2 = 4"), 256).await.unwrap();
/// assert_eq!(grade.score, Some(4));
/// assert!(!grade.malformed);
/// assert_eq!(grade.feedback, "The sum is right but unexplained.");
/// assert!(model.requests()[0].messages[0].content.contains("2 + 2 = 4"));
/// # });
/// ```
#[allow(clippy::too_many_arguments)]
pub async fn rubric_grade(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    templates: &Templates,
    task: &str,
    answer: &str,
    rubric: &Rubric,
    reference: Option<&str>,
    max_tokens: u32,
) -> Result<RubricGrade, NodeError> {
    let mut context = rubric.context();
    context["task"] = task.into();
    context["answer"] = answer.into();
    context["reference"] = reference.into();
    let prompt = templates.prompt(RUBRIC_TEMPLATE, context)?;
    let output = ask(ctx, model, prompt, max_tokens).await?;
    let (feedback, score) = parse_rubric_output(&output);
    let grade = RubricGrade {
        feedback,
        score,
        malformed: score.is_none(),
    };
    AgentEvent::RubricGrade {
        criterion: rubric.criterion.clone(),
        score: grade.score,
        malformed: grade.malformed,
    }
    .emit(ctx);
    if grade.malformed {
        tracing::warn!(
            hone.node = ctx.node(),
            "rubric grader gave no readable 1-5 score"
        );
    }
    Ok(grade)
}

/// Splits a rubric grader's output into feedback and score.
///
/// The last score line wins: `SCORE: n`, also with markdown (`**Score:** 4`),
/// a denominator (`4/5`), a `FINAL`/`OVERALL` prefix, or Prometheus's
/// `[RESULT] 4` (which may end the feedback line itself). The feedback is
/// the text before that line, without a leading `Feedback:` label. A score
/// outside 1–5, a fraction (`3.5`), a range (`1-5`) or another denominator
/// (`7/10`) gives `None`; so does output with no score line, whose feedback
/// is then the whole output.
///
/// ```
/// use hone_agents::judge::parse_rubric_output;
/// assert_eq!(parse_rubric_output("Good.\nSCORE: 5"), ("Good.".to_string(), Some(5)));
/// assert_eq!(parse_rubric_output("Feedback: Off by one. [RESULT] 2"), ("Off by one.".to_string(), Some(2)));
/// assert_eq!(parse_rubric_output("Nice work"), ("Nice work".to_string(), None));
/// assert_eq!(parse_rubric_output("Hmm.\nSCORE: 9").1, None);
/// ```
pub fn parse_rubric_output(text: &str) -> (String, Option<u8>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate().rev() {
        if let Some((before, value)) = split_score_line(line) {
            let mut feedback = lines[..i].join("\n");
            if !before.is_empty() {
                feedback.push('\n');
                feedback.push_str(before);
            }
            return (clean_feedback(&feedback), parse_score_value(&value));
        }
    }
    (clean_feedback(text), None)
}

/// If `line` holds a score marker, the feedback text before the marker on
/// the same line and the (upper-cased) text after it.
pub(super) fn split_score_line(line: &str) -> Option<(&str, String)> {
    // `[RESULT] n`, possibly at the end of a feedback line (Prometheus).
    // ASCII upper-casing keeps byte offsets, so `at` indexes `line` too.
    let upper = line.to_ascii_uppercase();
    if let Some(at) = upper.rfind("[RESULT]") {
        let before = line[..at].trim_end_matches(|c: char| c.is_whitespace() || is_markdown(c));
        return Some((before, upper[at + "[RESULT]".len()..].to_string()));
    }
    let cleaned = clean_upper(line);
    let mut rest =
        cleaned.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '>'));
    for prefix in ["FINAL ", "OVERALL "] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
        }
    }
    let rest = rest
        .strip_prefix("SCORE")
        .or_else(|| rest.strip_prefix("RESULT"))?
        .trim_start();
    let value = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
    Some(("", value.to_string()))
}

/// Reads a 1–5 integer score at the start of `value`.
pub(super) fn parse_score_value(value: &str) -> Option<u8> {
    let value = value.trim_start_matches(|c: char| {
        c.is_whitespace() || is_markdown(c) || matches!(c, '[' | '(' | '<' | '"' | '\'')
    });
    let digits_len = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    if digits_len == 0 {
        return None;
    }
    let (digits, after) = value.split_at(digits_len);
    let mut after_chars = after.chars();
    match after_chars.next() {
        // `3.5`: a fraction is not a rubric score. (`4.` ending a sentence is.)
        Some('.') if after_chars.next().is_some_and(|c| c.is_ascii_digit()) => return None,
        // `1-5`: a range, e.g. the template's placeholder echoed back.
        Some('-' | '–') => return None,
        _ => {}
    }
    let after = after.trim_start_matches(|c: char| c.is_whitespace() || is_markdown(c));
    if let Some(denominator) = after.strip_prefix('/') {
        let denominator = denominator.trim_start();
        let end = denominator
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(denominator.len());
        if end > 0 && &denominator[..end] != "5" {
            return None;
        }
    }
    let score: u8 = digits.parse().ok()?;
    (1..=5).contains(&score).then_some(score)
}

/// Trims feedback and drops a leading `Feedback:` label.
pub(super) fn clean_feedback(text: &str) -> String {
    let text = text.trim();
    if let Some(colon) = text.find(':') {
        let label: String = text[..colon]
            .chars()
            .filter(|c| !is_markdown(*c) && !c.is_whitespace())
            .collect();
        if label.eq_ignore_ascii_case("feedback") {
            return text[colon + 1..]
                .trim_start_matches(|c: char| c.is_whitespace() || c == '*')
                .trim_end()
                .to_string();
        }
    }
    text.to_string()
}
