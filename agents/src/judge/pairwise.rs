//! The pairwise judge: both orders, the second un-swapped, averaged.

use hone_core::graph::{NodeContext, NodeError};
use hone_core::templates::Templates;
use hone_core::LanguageModel;
use serde::{Deserialize, Serialize};

use super::*;
use crate::events::AgentEvent;

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
/// use hone_core::{graph::NodeContext, Budget, ScriptedModel};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let model = ScriptedModel::in_order([
///     "Response 1 is right; Response 2 miscounts.\nWINNER: 1", // A shown first
///     "Response 2 is right; Response 1 miscounts.\nWINNER: 2", // B shown first
/// ]);
/// let ctx = NodeContext::detached(Budget::unlimited());
/// let j = judge_pairwise(&ctx, &model, &hone_agents::templates::embedded(), "2+2?", "4", "5", 512).await.unwrap();
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
        templates.prompt(
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
