//! Judges: a rubric grader (Prometheus style) and a position-debiased
//! pairwise judge.
//!
//! Both ask for evidence before the verdict, call the model at temperature 0
//! and never fail on a malformed verdict: a missing or unreadable score or
//! winner line is reported as malformed (and counted), not turned into an
//! error. Errors are reserved for what the caller must handle anyway: a model
//! call that failed (a budget running out included) or a template that did
//! not render.
//!
//! LLM judges tend to prefer the answer shown first. [`judge_pairwise`]
//! therefore asks twice, once in each order, un-swaps the second verdict and
//! averages. When the two orders disagree the judgement has
//! [`Confidence::Low`]: callers should escalate it (to a verifier, to tests,
//! or to a human) rather than act on the winner as if it were settled.
//!
//! Prefer execution over opinion: when a task has tests, a failing test
//! outranks any judge.
//!
//! The prompts are `templates/judge_rubric.j2` and
//! `templates/judge_pairwise.j2`.

use hone_core::graph::{NodeContext, NodeError};
use hone_core::templates::Templates;
use hone_core::LanguageModel;
use serde::{Deserialize, Serialize};

use crate::events::AgentEvent;

/// Template of the rubric grader.
const RUBRIC_TEMPLATE: &str = "judge_rubric.j2";
/// Template of the pairwise judge.
const PAIRWISE_TEMPLATE: &str = "judge_pairwise.j2";

/// Characters of markdown emphasis and headings that models wrap verdict
/// lines in (`**Score:** 4`, `### WINNER: 1`).
fn is_markdown(c: char) -> bool {
    matches!(c, '*' | '_' | '`' | '#')
}

/// `line` without markdown emphasis, trimmed and upper-cased (ASCII only).
fn clean_upper(line: &str) -> String {
    line.chars()
        .filter(|c| !is_markdown(*c))
        .collect::<String>()
        .trim()
        .to_ascii_uppercase()
}

/// Sends one prompt at temperature 0 and returns the trimmed text.
async fn ask(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: String,
    max_tokens: u32,
) -> Result<String, NodeError> {
    crate::refine::ask_model(ctx, model, prompt, 0.0, max_tokens, 0).await
}

// ---------------------------------------------------------------------------
// Rubric grading
// ---------------------------------------------------------------------------

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
    /// This is rubric data, not a prompt; the prompt around it is
    /// `templates/judge_rubric.j2`. Load a different rubric (it is
    /// `Deserialize`) to grade other criteria.
    pub fn correctness() -> Self {
        Rubric::new(
            "Is the response correct, complete and adequately justified for the task?",
            [
                "The response is incorrect or irrelevant: its main claim or final answer is wrong, or it does not address the task.",
                "The response is mostly incorrect: it contains some relevant ideas, but a major error makes its answer wrong.",
                "The response is partly correct: the approach is sound, but there is a significant error or an important part of the task is missing.",
                "The response is correct with minor issues: the answer is right, but there is a small mistake, gap in justification, or unclear step.",
                "The response is fully correct and complete: the answer is right, every step is justified, and nothing the task asks for is missing.",
            ],
        )
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
/// use hone_core::{graph::NodeContext, templates::Templates, Budget, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::in_order(["The sum is right but unexplained.\n**Score:** 4/5"]);
/// let ctx = NodeContext::detached(Budget::unlimited());
/// let grade = rubric_grade(&ctx, &model, &Templates::embedded(), "2+2?", "4",
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
    let prompt = templates.render(RUBRIC_TEMPLATE, context)?;
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
fn split_score_line(line: &str) -> Option<(&str, String)> {
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
fn parse_score_value(value: &str) -> Option<u8> {
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
fn clean_feedback(text: &str) -> String {
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

// ---------------------------------------------------------------------------
// Pairwise judging
// ---------------------------------------------------------------------------

/// Which of the two answers a pairwise judgement favours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    /// The first argument, `answer_a`.
    A,
    /// The second argument, `answer_b`.
    B,
    /// Neither.
    Tie,
}

/// How far a pairwise judgement can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Both orders gave well-formed verdicts that agree after un-swapping.
    High,
    /// The orders disagree, or a verdict was malformed: the judge is
    /// position-biased or unsure here. Escalate (to a verifier, tests or a
    /// human) rather than trust the winner.
    Low,
}

/// A verdict as the judge stated it, in the positions it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShownVerdict {
    /// `WINNER: 1`: the response shown first.
    First,
    /// `WINNER: 2`: the response shown second.
    Second,
    /// `WINNER: TIE`.
    Tie,
}

/// One of the two calls of [`judge_pairwise`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderVerdict {
    /// Whether `answer_a` was shown first (as "Response 1") in this call.
    pub a_shown_first: bool,
    /// The judge's whole output: its evidence and the verdict line.
    pub output: String,
    /// The verdict as stated, in shown positions; `None` when the output had
    /// no readable `WINNER:` line.
    pub stated: Option<ShownVerdict>,
}

impl OrderVerdict {
    /// Builds the verdict of one call from the judge's output.
    ///
    /// ```
    /// use hone_agents::judge::{OrderVerdict, Winner};
    /// // B was shown first; "WINNER: 1" means B.
    /// assert_eq!(OrderVerdict::from_output(false, "B is right.\nWINNER: 1").winner(), Winner::B);
    /// ```
    pub fn from_output(a_shown_first: bool, output: impl Into<String>) -> Self {
        let output = output.into();
        let stated = parse_winner(&output);
        OrderVerdict {
            a_shown_first,
            output,
            stated,
        }
    }

    /// The verdict un-swapped into A/B terms; a malformed verdict is a tie.
    pub fn winner(&self) -> Winner {
        match (self.stated, self.a_shown_first) {
            (Some(ShownVerdict::First), true) | (Some(ShownVerdict::Second), false) => Winner::A,
            (Some(ShownVerdict::Second), true) | (Some(ShownVerdict::First), false) => Winner::B,
            (Some(ShownVerdict::Tie), _) | (None, _) => Winner::Tie,
        }
    }

    /// This call's preference for A: 1.0 (A), 0.5 (tie or malformed) or 0.0 (B).
    pub fn preference_a(&self) -> f64 {
        match self.winner() {
            Winner::A => 1.0,
            Winner::Tie => 0.5,
            Winner::B => 0.0,
        }
    }

    /// Whether the output had no readable verdict.
    pub fn is_malformed(&self) -> bool {
        self.stated.is_none()
    }
}

/// The outcome of [`judge_pairwise`]: the two calls and their average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairwiseJudgement {
    /// Mean of the two orders' preferences for A (each 1.0, 0.5 or 0.0), so
    /// one of 0, 0.25, 0.5, 0.75, 1.
    pub preference_a: f64,
    /// A above 0.5, B below, Tie at exactly 0.5.
    pub winner: Winner,
    /// High only when both verdicts are well formed and agree after
    /// un-swapping.
    pub confidence: Confidence,
    /// The call with A shown first.
    pub first_order: OrderVerdict,
    /// The call with B shown first.
    pub second_order: OrderVerdict,
    /// How many of the two verdicts were malformed (each counted as a tie).
    pub malformed: u32,
}

impl PairwiseJudgement {
    /// Combines the two orders' verdicts.
    ///
    /// `preference_a` is the mean of the two preferences and `winner`
    /// follows it. When the orders disagree the confidence is
    /// [`Confidence::Low`] and the winner is as averaged: A-versus-B
    /// disagreement averages to 0.5, a tie; a win against a tie (or against
    /// a malformed verdict, which counts as a tie) averages to 0.75 or 0.25,
    /// so that side is named the winner, but still with low confidence.
    ///
    /// ```
    /// use hone_agents::judge::{Confidence, OrderVerdict, PairwiseJudgement, Winner};
    /// // A position-biased judge: "Response 1" both times.
    /// let j = PairwiseJudgement::from_orders(
    ///     OrderVerdict::from_output(true, "WINNER: 1"),
    ///     OrderVerdict::from_output(false, "WINNER: 1"),
    /// );
    /// assert_eq!((j.winner, j.confidence, j.preference_a), (Winner::Tie, Confidence::Low, 0.5));
    /// ```
    pub fn from_orders(first_order: OrderVerdict, second_order: OrderVerdict) -> Self {
        let preference_a = (first_order.preference_a() + second_order.preference_a()) / 2.0;
        let winner = if preference_a > 0.5 {
            Winner::A
        } else if preference_a < 0.5 {
            Winner::B
        } else {
            Winner::Tie
        };
        let malformed =
            u32::from(first_order.is_malformed()) + u32::from(second_order.is_malformed());
        let confidence = if malformed == 0 && first_order.winner() == second_order.winner() {
            Confidence::High
        } else {
            Confidence::Low
        };
        PairwiseJudgement {
            preference_a,
            winner,
            confidence,
            first_order,
            second_order,
            malformed,
        }
    }

    /// Whether this judgement should be escalated (to a verifier, tests or a
    /// human) instead of trusted: its confidence is low.
    pub fn needs_escalation(&self) -> bool {
        self.confidence == Confidence::Low
    }
}

/// Compares `answer_a` and `answer_b` for `task`, debiased for position.
///
/// The model is asked twice at temperature 0 (at most `max_tokens` tokens
/// each): once with A shown first as "Response 1", once with B shown first.
/// Both requests are issued concurrently, the A-first one first. Each
/// output gives evidence before a final `WINNER: 1`, `WINNER: 2` or
/// `WINNER: TIE` line; the second verdict is un-swapped and the two are
/// averaged (see [`PairwiseJudgement::from_orders`]).
///
/// Disagreement between the orders, or a malformed verdict, is reported as
/// [`Confidence::Low`], never hidden: check
/// [`PairwiseJudgement::needs_escalation`] and escalate. A malformed verdict
/// counts as a tie for its order and is counted in `malformed`. Errors are
/// model-call failures (a budget running out included; the judgement needs
/// two calls) and template failures.
///
/// ```
/// use hone_agents::judge::{judge_pairwise, Confidence, Winner};
/// use hone_core::{graph::NodeContext, templates::Templates, Budget, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::in_order([
///     "Response 1 is right; Response 2 miscounts.\nWINNER: 1", // A shown first
///     "Response 2 is right; Response 1 miscounts.\nWINNER: 2", // B shown first
/// ]);
/// let ctx = NodeContext::detached(Budget::unlimited());
/// let j = judge_pairwise(&ctx, &model, &Templates::embedded(), "2+2?", "4", "5", 512).await.unwrap();
/// assert_eq!(j.winner, Winner::A);
/// assert_eq!(j.confidence, Confidence::High);
/// assert_eq!(j.preference_a, 1.0);
/// assert!(!j.needs_escalation());
/// # });
/// ```
pub async fn judge_pairwise(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    templates: &Templates,
    task: &str,
    answer_a: &str,
    answer_b: &str,
    max_tokens: u32,
) -> Result<PairwiseJudgement, NodeError> {
    let render = |first: &str, second: &str| {
        templates.render(
            PAIRWISE_TEMPLATE,
            serde_json::json!({"task": task, "response_1": first, "response_2": second}),
        )
    };
    let a_first = render(answer_a, answer_b)?;
    let b_first = render(answer_b, answer_a)?;
    let (out_a_first, out_b_first) = tokio::join!(
        ask(ctx, model, a_first, max_tokens),
        ask(ctx, model, b_first, max_tokens),
    );
    let judgement = PairwiseJudgement::from_orders(
        OrderVerdict::from_output(true, out_a_first?),
        OrderVerdict::from_output(false, out_b_first?),
    );
    AgentEvent::PairwiseJudgement {
        preference_a: judgement.preference_a,
        winner: judgement.winner,
        confidence: judgement.confidence,
        first_order: judgement.first_order.winner(),
        second_order: judgement.second_order.winner(),
        malformed: judgement.malformed,
    }
    .emit(ctx);
    if judgement.needs_escalation() {
        tracing::warn!(
            hone.node = ctx.node(),
            first_order = ?judgement.first_order.winner(),
            second_order = ?judgement.second_order.winner(),
            malformed = judgement.malformed,
            "pairwise judge is not consistent across orders; escalate"
        );
    }
    Ok(judgement)
}

/// Finds a pairwise judge's verdict: the last `WINNER:` line wins. Accepts
/// `1`, `2`, `TIE`, also as `Response 1`, `[[2]]` or with markdown; an
/// unreadable value on the last `WINNER:` line, or no such line, is `None`.
///
/// ```
/// use hone_agents::judge::{parse_winner, ShownVerdict};
/// assert_eq!(parse_winner("1 is better\nWINNER: 2"), Some(ShownVerdict::Second));
/// assert_eq!(parse_winner("**Winner:** Response 1"), Some(ShownVerdict::First));
/// assert_eq!(parse_winner("winner: tie"), Some(ShownVerdict::Tie));
/// assert_eq!(parse_winner("both fine"), None);
/// ```
pub fn parse_winner(text: &str) -> Option<ShownVerdict> {
    let line = text.lines().rev().map(clean_upper).find_map(|line| {
        let rest = line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '>'));
        let rest = rest.strip_prefix("FINAL ").unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix("WINNER")?.trim_start();
        rest.strip_prefix(':')
            .or_else(|| rest.strip_prefix('='))
            .map(str::to_string)
    })?;
    let value = line.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '[' | '(' | '<' | '"' | '\'')
    });
    let value = value.strip_prefix("RESPONSE").unwrap_or(value).trim_start();
    if value.starts_with("TIE") {
        return Some(ShownVerdict::Tie);
    }
    let digits_len = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    match &value[..digits_len] {
        "1" => Some(ShownVerdict::First),
        "2" => Some(ShownVerdict::Second),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::{Budget, ChatRequest, ScriptedModel};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn ctx() -> NodeContext {
        NodeContext::detached(Budget::unlimited())
    }

    fn prompt(r: &ChatRequest) -> &str {
        r.messages
            .first()
            .map(|m| m.content.as_str())
            .unwrap_or_default()
    }

    #[test]
    fn parse_rubric_output_table() {
        let cases: &[(&str, &str, Option<u8>)] = &[
            (
                "Correct and clear.\nSCORE: 5",
                "Correct and clear.",
                Some(5),
            ),
            ("Fine.\nScore: 3", "Fine.", Some(3)),
            ("Fine.\n**Score:** 4", "Fine.", Some(4)),
            ("Fine.\n**Score: 4**", "Fine.", Some(4)),
            ("Fine.\nSCORE: 4/5", "Fine.", Some(4)),
            ("Fine.\nScore: 4 / 5", "Fine.", Some(4)),
            ("Fine.\nScore: 4 out of 5", "Fine.", Some(4)),
            ("Fine.\nFinal score: 2.", "Fine.", Some(2)),
            ("Fine.\n### SCORE: [3]", "Fine.", Some(3)),
            ("Fine.\nSCORE = 1", "Fine.", Some(1)),
            ("Feedback: Off by one. [RESULT] 2", "Off by one.", Some(2)),
            ("Feedback: Off by one.\n[RESULT] 2", "Off by one.", Some(2)),
            (
                "**Feedback:** snake_case kept.\nSCORE: 3",
                "snake_case kept.",
                Some(3),
            ),
            // The last score line wins.
            (
                "Draft SCORE: 2\nOn reflection, better.\nSCORE: 4",
                "Draft SCORE: 2\nOn reflection, better.",
                Some(4),
            ),
            (
                "First\nSCORE: 2\nSecond\nSCORE: 5",
                "First\nSCORE: 2\nSecond",
                Some(5),
            ),
            // Malformed: out of range, fraction, range, other denominator, none.
            ("Great.\nSCORE: 0", "Great.", None),
            ("Great.\nSCORE: 6", "Great.", None),
            ("Great.\nSCORE: 300", "Great.", None),
            ("Great.\nSCORE: 3.5", "Great.", None),
            ("Great.\nSCORE: <1-5>", "Great.", None),
            ("Great.\nSCORE: 7/10", "Great.", None),
            ("Great.\nSCORE: four", "Great.", None),
            ("Great.\nSCORE:", "Great.", None),
            ("Looks right to me.", "Looks right to me.", None),
            ("", "", None),
            ("The score is high: 5", "The score is high: 5", None),
        ];
        for (input, feedback, score) in cases {
            let got = parse_rubric_output(input);
            assert_eq!(got, (feedback.to_string(), *score), "input {input:?}");
        }
    }

    #[test]
    fn parse_winner_table() {
        use ShownVerdict::*;
        let cases: &[(&str, Option<ShownVerdict>)] = &[
            ("evidence\nWINNER: 1", Some(First)),
            ("evidence\nWINNER: 2", Some(Second)),
            ("evidence\nWINNER: TIE", Some(Tie)),
            ("evidence\nwinner: tie.", Some(Tie)),
            ("**Winner:** 2", Some(Second)),
            ("**WINNER: 1**", Some(First)),
            ("Final winner: Response 2", Some(Second)),
            ("WINNER: [[1]]", Some(First)),
            ("WINNER = 2", Some(Second)),
            ("WINNER: 1\nOn reflection:\nWINNER: 2", Some(Second)),
            ("WINNER: 12", None),
            ("WINNER: 3", None),
            ("WINNER: A", None),
            ("WINNER:", None),
            ("Response 1 is the winner", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_winner(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn rubric_grade_renders_rubric_and_reference() {
        rt().block_on(async {
            let model = ScriptedModel::in_order(["Clear.\nSCORE: 5", "Clear.\nSCORE: 2"]);
            let templates = Templates::embedded();
            let rubric = Rubric::correctness();
            let grade = rubric_grade(
                &ctx(),
                &model,
                &templates,
                "Add 2 and 2",
                "It is 4",
                &rubric,
                Some("REF-ANSWER-4"),
                128,
            )
            .await
            .unwrap();
            assert_eq!(
                grade,
                RubricGrade {
                    feedback: "Clear.".into(),
                    score: Some(5),
                    malformed: false,
                }
            );
            let no_ref = rubric_grade(
                &ctx(),
                &model,
                &templates,
                "Add 2 and 2",
                "It is 4",
                &rubric,
                None,
                128,
            )
            .await
            .unwrap();
            assert_eq!(no_ref.score, Some(2));
            let requests = model.requests();
            let (with, without) = (prompt(&requests[0]), prompt(&requests[1]));
            assert!(with.contains("Add 2 and 2") && with.contains("It is 4"));
            assert!(with.contains("REF-ANSWER-4"));
            assert!(!without.contains("REF-ANSWER-4"));
            assert!(!without.to_lowercase().contains("reference answer"));
            for (i, d) in rubric.scores.iter().enumerate() {
                assert!(with.contains(&format!("Score {}: {d}", i + 1)), "{with}");
            }
            assert!(with.contains(&rubric.criterion));
            assert!(with.contains("SCORE:"));
            for r in &requests {
                assert_eq!(r.sampling.temperature, Some(0.0));
                assert_eq!(r.sampling.max_tokens, Some(128));
            }
        });
    }

    #[test]
    fn rubric_malformed_score_is_not_an_error() {
        rt().block_on(async {
            let model = ScriptedModel::in_order(["I like it a lot.", "Excellent work.\nSCORE: 10"]);
            let templates = Templates::embedded();
            for feedback in ["I like it a lot.", "Excellent work."] {
                let grade = rubric_grade(
                    &ctx(),
                    &model,
                    &templates,
                    "t",
                    "a",
                    &Rubric::default(),
                    None,
                    64,
                )
                .await
                .unwrap();
                assert_eq!(grade.score, None);
                assert!(grade.malformed);
                assert_eq!(grade.feedback, feedback);
            }
        });
    }

    #[test]
    fn model_failure_is_an_error() {
        rt().block_on(async {
            let model = ScriptedModel::new();
            let templates = Templates::embedded();
            let err = judge_pairwise(&ctx(), &model, &templates, "t", "a", "b", 64).await;
            assert!(matches!(err, Err(NodeError::Model(_))));
            let limited = NodeContext::detached(Budget::unlimited().with_model_calls(1));
            let model = ScriptedModel::new().with_rule(|_| true, |_| "WINNER: 1");
            let err = judge_pairwise(&limited, &model, &templates, "t", "a", "b", 64).await;
            assert!(matches!(err, Err(NodeError::Model(_))), "{err:?}");
        });
    }

    /// Whether `a` occurs before `b` in `prompt`; `None` unless both occur.
    fn first_of(prompt: &str, a: &str, b: &str) -> Option<bool> {
        Some(prompt.find(a)? < prompt.find(b)?)
    }

    #[test]
    fn position_biased_judge_is_caught_by_swapping() {
        rt().block_on(async {
            const A: &str = "ANSWER-ALPHA";
            const B: &str = "ANSWER-BRAVO";
            // Always prefers whatever it is shown first.
            let model = ScriptedModel::new().with_rule(
                |r| first_of(prompt(r), A, B).is_some(),
                |_| "Response 1 reads well.\nWINNER: 1",
            );
            let j = judge_pairwise(&ctx(), &model, &Templates::embedded(), "task", A, B, 64)
                .await
                .unwrap();
            assert_eq!(j.confidence, Confidence::Low);
            assert_eq!(j.preference_a, 0.5);
            assert_eq!(j.winner, Winner::Tie);
            assert_eq!(j.malformed, 0);
            assert!(j.needs_escalation());
            assert_eq!(j.first_order.winner(), Winner::A);
            assert_eq!(j.second_order.winner(), Winner::B);
            // The judge really saw both orders: A first, then B first.
            let shown_a_first: Vec<_> = model
                .requests()
                .iter()
                .map(|r| first_of(prompt(r), A, B))
                .collect();
            assert_eq!(shown_a_first, [Some(true), Some(false)]);
        });
    }

    #[test]
    fn consistent_judge_wins_in_both_orders_and_orders_are_really_swapped() {
        rt().block_on(async {
            const GOOD: &str = "The GOOD answer";
            const POOR: &str = "The POOR answer";
            // Prefers the text containing GOOD wherever it is shown.
            let model = ScriptedModel::new().with_rule(
                |r| first_of(prompt(r), "GOOD", "POOR").is_some(),
                |r| {
                    if first_of(prompt(r), "GOOD", "POOR") == Some(true) {
                        "Response 1 is correct.\nWINNER: 1"
                    } else {
                        "Response 2 is correct.\nWINNER: 2"
                    }
                },
            );
            let templates = Templates::embedded();
            let j = judge_pairwise(&ctx(), &model, &templates, "task", GOOD, POOR, 64)
                .await
                .unwrap();
            assert_eq!(
                (j.winner, j.confidence, j.preference_a, j.malformed),
                (Winner::A, Confidence::High, 1.0, 0)
            );
            assert!(!j.needs_escalation());
            let j = judge_pairwise(&ctx(), &model, &templates, "task", POOR, GOOD, 64)
                .await
                .unwrap();
            assert_eq!(
                (j.winner, j.confidence, j.preference_a, j.malformed),
                (Winner::B, Confidence::High, 0.0, 0)
            );

            let requests = model.requests();
            assert_eq!(requests.len(), 4, "two calls per judgement");
            for pair in requests.chunks(2) {
                let (p1, p2) = (prompt(&pair[0]), prompt(&pair[1]));
                assert_ne!(p1, p2, "the two calls must show different orders");
                let orders = [first_of(p1, GOOD, POOR), first_of(p2, GOOD, POOR)];
                assert!(
                    orders.contains(&Some(true)) && orders.contains(&Some(false)),
                    "one prompt must show each answer first: {orders:?}"
                );
                for r in pair {
                    assert_eq!(r.sampling.temperature, Some(0.0));
                    assert_eq!(r.sampling.max_tokens, Some(64));
                }
            }
            // The first call shows answer_a first.
            assert_eq!(first_of(prompt(&requests[0]), GOOD, POOR), Some(true));
            assert_eq!(first_of(prompt(&requests[2]), POOR, GOOD), Some(true));
        });
    }

    #[test]
    fn malformed_verdict_counts_as_tie_with_low_confidence() {
        rt().block_on(async {
            let model = ScriptedModel::in_order([
                "Both look fine to me.",
                "Response 2 is better.\nWINNER: 2",
            ]);
            let j = judge_pairwise(&ctx(), &model, &Templates::embedded(), "t", "a", "b", 64)
                .await
                .unwrap();
            assert_eq!(j.malformed, 1);
            assert!(j.first_order.is_malformed());
            assert_eq!(j.first_order.winner(), Winner::Tie);
            assert_eq!(j.second_order.winner(), Winner::A);
            assert_eq!(j.preference_a, 0.75);
            assert_eq!(j.winner, Winner::A);
            assert_eq!(j.confidence, Confidence::Low);
        });
    }

    #[test]
    fn from_orders_table() {
        use Confidence::{High, Low};
        let v = |a_first, s: &str| OrderVerdict::from_output(a_first, s);
        // (A-first output, B-first output, preference, winner, confidence, malformed)
        let cases = [
            ("WINNER: 1", "WINNER: 2", 1.0, Winner::A, High, 0),
            ("WINNER: 2", "WINNER: 1", 0.0, Winner::B, High, 0),
            ("WINNER: TIE", "WINNER: TIE", 0.5, Winner::Tie, High, 0),
            ("WINNER: 1", "WINNER: 1", 0.5, Winner::Tie, Low, 0),
            ("WINNER: 2", "WINNER: 2", 0.5, Winner::Tie, Low, 0),
            ("WINNER: 1", "WINNER: TIE", 0.75, Winner::A, Low, 0),
            ("WINNER: TIE", "WINNER: 1", 0.25, Winner::B, Low, 0),
            ("?", "?", 0.5, Winner::Tie, Low, 2),
            ("?", "WINNER: 1", 0.25, Winner::B, Low, 1),
        ];
        for (first, second, preference, winner, confidence, malformed) in cases {
            let j = PairwiseJudgement::from_orders(v(true, first), v(false, second));
            assert_eq!(
                (j.preference_a, j.winner, j.confidence, j.malformed),
                (preference, winner, confidence, malformed),
                "{first:?} / {second:?}"
            );
        }
    }

    #[test]
    fn judgement_round_trips_through_json() {
        let j = PairwiseJudgement::from_orders(
            OrderVerdict::from_output(true, "WINNER: 1"),
            OrderVerdict::from_output(false, "nothing"),
        );
        let json = serde_json::to_value(&j).unwrap();
        assert_eq!(json["winner"], "a");
        assert_eq!(json["confidence"], "low");
        let back: PairwiseJudgement = serde_json::from_value(json).unwrap();
        assert_eq!(back, j);
    }
}
