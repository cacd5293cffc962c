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

mod pairwise;
mod rubric;

pub use pairwise::{
    judge_pairwise, parse_winner, Confidence, OrderVerdict, PairwiseJudgement, ShownVerdict, Winner,
};
pub use rubric::{parse_rubric_output, rubric_grade, Rubric, RubricGrade};

#[allow(unused_imports)]
use pairwise::*;
#[allow(unused_imports)]
use rubric::*;

use hone_core::graph::{NodeContext, NodeError};
use hone_core::templates::Prompt;
use hone_core::LanguageModel;

/// Template of the rubric grader.
const RUBRIC_TEMPLATE: &str = "judge_rubric.j2";
/// Template of the pairwise judge.
const PAIRWISE_TEMPLATE: &str = "judge_pairwise.j2";
/// The default rubric's data.
const CORRECTNESS_RUBRIC: &str = include_str!("../../templates/rubric_correctness.json");

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
    prompt: Prompt,
    max_tokens: u32,
) -> Result<String, NodeError> {
    crate::refine::ask_model(ctx, model, prompt, 0.0, max_tokens, 0).await
}

#[cfg(test)]
mod tests;
