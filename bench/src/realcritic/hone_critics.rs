//! hone's own critics in RealCritic's critique step (`--critic`), so the
//! critic designs of hone-agents are measured by the corrections they lead
//! to, on the same items and with the same grading as the protocol's own
//! critique prompt.
//!
//! * `default`: self-refine's critic (`refine_critic.j2`: the first wrong
//!   step and how to fix it, then `VERDICT: CORRECT|INCORRECT`); on
//!   INCORRECT (or no readable verdict) self-refine's refiner
//!   (`refine_refiner.j2`) rewrites the solution with that review.
//! * `rubric`: the rubric grader (`judge_rubric.j2`, hone's correctness
//!   rubric, no reference); a score below 4 (or none) sends its feedback to
//!   the refiner.
//! * `pairwise` (cross mode): a fresh answer (`realcritic_direct.j2`), then
//!   the pairwise judge in both orders; the fresh answer replaces the
//!   solution only when it wins.
//!
//! The solution kept, or its replacement, is what is scored. hone's
//! refiner ends with `FINAL ANSWER: …`, which the reference's extraction
//! does not read, so that answer is also given boxed before grading
//! ([`scored_text`]); the protocol's own critique is graded as it is.

use hone_agents::judge::{judge_pairwise, rubric_grade, Rubric, Winner};
use hone_agents::refine::{parse_verdict, TaskKind, Verdict};
use hone_agents::roles::RefinePrompt;
use hone_core::graph::{NodeContext, NodeError};
use hone_core::ChatRequest;
use serde::{Deserialize, Serialize};

use super::protocol::{direct_request, CriticConfig, CriticState};

/// Which critic writes the critique.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticDesign {
    /// The protocol's own critique prompt (`realcritic_critique.j2`).
    #[default]
    Realcritic,
    /// self-refine's critic, then its refiner.
    Default,
    /// The rubric grader, then the refiner.
    Rubric,
    /// A fresh answer against the solution, by the pairwise judge.
    Pairwise,
}

impl CriticDesign {
    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            CriticDesign::Realcritic => "realcritic",
            CriticDesign::Default => "default",
            CriticDesign::Rubric => "rubric",
            CriticDesign::Pairwise => "pairwise",
        }
    }

    /// Parses a CLI name.
    pub fn parse(text: &str) -> Result<CriticDesign, String> {
        match text {
            "realcritic" => Ok(CriticDesign::Realcritic),
            "default" => Ok(CriticDesign::Default),
            "rubric" => Ok(CriticDesign::Rubric),
            "pairwise" => Ok(CriticDesign::Pairwise),
            other => Err(format!(
                "unknown critic {other:?}: realcritic (the protocol's prompt), default, rubric or pairwise"
            )),
        }
    }
}

/// The rubric score at or above which the solution is kept.
pub const KEEP_AT_RUBRIC_SCORE: u8 = 4;

fn solution_prompt<'a>(state: &'a CriticState, solution: &'a str) -> RefinePrompt<'a> {
    RefinePrompt {
        task: &state.question,
        kind: TaskKind::Math,
        requirements: &[],
        reflections: &[],
        answer: Some(solution),
        critique: None,
        evidence: None,
        repeated: false,
    }
}

async fn greedy_prompt(
    cfg: &CriticConfig,
    ctx: &NodeContext,
    template: &str,
    context: impl Serialize,
) -> Result<String, NodeError> {
    let prompt = cfg.templates.prompt(template, context)?;
    let mut request = ChatRequest::from_prompt(prompt)
        .with_temperature(0.0)
        .with_max_tokens(cfg.max_tokens);
    request.sampling.top_p = Some(1.0);
    Ok(ctx
        .chat(cfg.model.as_ref(), &request)
        .await?
        .first_text()
        .trim()
        .to_string())
}

/// The critique step of `default` and `rubric`: the critique, and whether
/// it keeps the solution.
pub(crate) async fn critique(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let solution = state.critiqued_solution();
    let (text, keep) = match state.critic {
        CriticDesign::Rubric => {
            let grade = rubric_grade(
                &ctx,
                cfg.model.as_ref(),
                &cfg.templates,
                &state.question,
                &solution,
                &Rubric::correctness(),
                None,
                cfg.max_tokens,
            )
            .await?;
            let keep = grade.score.is_some_and(|s| s >= KEEP_AT_RUBRIC_SCORE);
            let score = grade.score.map_or("none".to_string(), |s| s.to_string());
            (format!("{}\nSCORE: {score}", grade.feedback), keep)
        }
        _ => {
            let text = greedy_prompt(
                cfg,
                &ctx,
                "refine_critic.j2",
                solution_prompt(&state, &solution),
            )
            .await?;
            let keep = parse_verdict(&text) == Verdict::Correct;
            (text, keep)
        }
    };
    state.critiques.push(text);
    state.keep = Some(keep);
    Ok(state)
}

/// The refiner, after a critique that did not keep the solution.
pub(crate) async fn refine(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let solution = state.critiqued_solution();
    let critique = state.critiques.last().cloned().unwrap_or_default();
    let prompt = RefinePrompt {
        critique: Some(&critique),
        ..solution_prompt(&state, &solution)
    };
    state.revised = Some(greedy_prompt(cfg, &ctx, "refine_refiner.j2", prompt).await?);
    Ok(state)
}

/// `pairwise`: a fresh answer, then the judge in both orders.
pub(crate) async fn pairwise(
    cfg: &CriticConfig,
    mut state: CriticState,
    ctx: NodeContext,
) -> Result<CriticState, NodeError> {
    let request = direct_request(cfg, &state.question)?;
    let fresh = ctx
        .chat(cfg.model.as_ref(), &request)
        .await?
        .first_text()
        .trim()
        .to_string();
    let solution = state.critiqued_solution();
    let judgement = judge_pairwise(
        &ctx,
        cfg.model.as_ref(),
        &cfg.templates,
        &state.question,
        &solution,
        &fresh,
        cfg.max_tokens,
    )
    .await?;
    state.critiques.push(format!(
        "pairwise judge: {:?} (confidence {:?}; first order {:?}, second order {:?})",
        judgement.winner,
        judgement.confidence,
        judgement.first_order.winner(),
        judgement.second_order.winner()
    ));
    state.keep = Some(judgement.winner != Winner::B);
    state.revised = Some(fresh);
    Ok(state)
}

/// The text whose final answer is graded: the protocol's critique as it
/// is; for hone's critics, the solution they kept or its replacement, with
/// a hone `FINAL ANSWER:` also given boxed.
pub fn scored_text(state: &CriticState) -> String {
    let text = state.final_output().unwrap_or_default();
    if state.critic == CriticDesign::Realcritic || state.keep != Some(false) {
        return text;
    }
    let last_line = text.lines().rev().find(|l| !l.trim().is_empty());
    match last_line.and_then(|l| l.trim().strip_prefix("FINAL ANSWER:")) {
        Some(answer) => format!("{text}\n\\boxed{{{}}}", answer.trim()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realcritic::protocol::Mode;

    #[test]
    fn a_replacement_final_answer_is_also_given_boxed() {
        let mut s = CriticState::new(Mode::Cross, 1, "Q", "old \\boxed{1}");
        s.critic = CriticDesign::Default;
        s.keep = Some(false);
        s.revised = Some("work\nFINAL ANSWER: \\frac{1}{2}".into());
        assert_eq!(
            scored_text(&s),
            "work\nFINAL ANSWER: \\frac{1}{2}\n\\boxed{\\frac{1}{2}}"
        );
        // A kept solution is graded as the dataset wrote it.
        s.keep = Some(true);
        assert_eq!(scored_text(&s), "old \\boxed{1}");
    }
}
