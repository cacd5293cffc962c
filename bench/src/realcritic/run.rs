//! Running RealCritic items: each through the mode's graph with its own
//! checkpointed run log, graded by the host afterwards, recorded as it
//! finishes. Rerunning on the same directory resumes, as `hone bench run`
//! does for strategies.

use std::path::Path;
use std::time::Instant;

use hone_core::graph::StopReason;

use super::critique::parse_critique;
use super::data::CriticItem;
use super::extract::{extract_answer, ground_truth, Extraction};
use super::grade::{Graded, Grader};
use super::hone_critics::{scored_text, CriticDesign};
use super::protocol::{graph, parse_judgement, CriticConfig, CriticState, Mode};
use super::record::{CriticHeader, CriticRecord};
use crate::results::{ItemResult, RunDir};
use crate::runner::{run_or_resume, run_protocol_items, ItemError, Progress, RunError, RunTotals};

/// A RealCritic run: the model, the header its directory records, the
/// grader and how many items run at once.
#[derive(Clone)]
pub struct CriticRun {
    /// Model and templates.
    pub config: CriticConfig,
    /// What the run directory records (mode, rounds, sets, model...).
    pub header: CriticHeader,
    /// Grades final answers (sympy in the sandbox).
    pub grader: Grader,
    /// Items run at once.
    pub jobs: usize,
}

impl CriticRun {
    /// Runs `items` into `dir`, skipping those it already holds.
    pub async fn run(
        &self,
        items: &[CriticItem],
        dir: &mut RunDir,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<RunTotals, RunError> {
        run_protocol_items(
            items,
            |i: &CriticItem| i.id(),
            self.jobs,
            dir,
            progress,
            |item, root| async move { self.run_item(item, &root).await },
        )
        .await
    }

    /// Runs one item (resuming its log when there is one) and grades it.
    pub async fn run_item(&self, item: &CriticItem, root: &Path) -> Result<ItemResult, ItemError> {
        let started = Instant::now();
        let id = item.id();
        let log_name = RunDir::log_of(&id, 0);
        let log = root.join(&log_name);
        let mode = self.header.mode;
        let graph = graph(self.config.clone(), mode, self.header.critic)?;
        let state = CriticState::new(mode, self.header.rounds, &item.question, &item.reasoning)
            .with_post_check(self.header.post_check.is_some())
            .with_critic(self.header.critic);
        let meta = serde_json::json!({"protocol": "realcritic", "mode": mode, "item": id});
        let outcome = run_or_resume(&graph, &log, meta, state).await?;
        if let StopReason::NodeFailed { node, error } = &outcome.stop {
            return Err(ItemError::NodeFailed(format!(
                "node {node} failed: {error}"
            )));
        }
        let set = item.set.as_str();
        let reference = ground_truth(set, &item.gt_cot, &item.gt);
        let scored = scored_text(&outcome.state);
        let text = scored.as_str();
        let answer = extract_answer(text, set, Extraction::Reference);
        let graded = self.grader.grade(&answer, &reference).await?;
        let strict_answer = extract_answer(text, set, Extraction::Strict);
        let strict = if strict_answer == answer {
            graded.is_correct()
        } else {
            self.grader
                .grade(&strict_answer, &reference)
                .await?
                .is_correct()
        };
        let (previous, direct_answer) = match mode {
            Mode::Direct => (None, None),
            Mode::Cross | Mode::Iterative => (Some(item.previous_score), None),
            Mode::SelfCritique => {
                let direct = outcome.state.direct.as_deref().unwrap_or_default();
                let direct_answer = extract_answer(direct, set, Extraction::Reference);
                let graded = self.grader.grade(&direct_answer, &reference).await?;
                (Some(graded.is_correct()), Some(direct_answer))
            }
        };
        let critique = outcome.state.critiques.last().map(|c| parse_critique(c));
        let usage = outcome.usage.total;
        let timed_out = graded == Graded::TimedOut;
        Ok(ItemResult {
            id,
            sample: 0,
            passed: graded.is_correct(),
            verified: match self.header.critic {
                CriticDesign::Realcritic => {
                    critique.as_ref().and_then(|c| c.says_correct) == Some(true)
                }
                _ => outcome.state.keep == Some(true),
            },
            stop: outcome.stop.to_string(),
            answer: Some(answer.clone()),
            detail: format!(
                "final answer {answer:?} vs {reference:?}{}",
                if timed_out {
                    " (symbolic check timed out)"
                } else {
                    ""
                }
            ),
            calls: usage.calls,
            cache_hits: usage.cache_hits,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            log: log_name,
            mint: None,
            review: None,
            critic: Some(CriticRecord {
                set: item.set.clone(),
                previous,
                direct_answer,
                reference,
                strict,
                says_correct: critique.as_ref().and_then(|c| c.says_correct),
                corrected: critique.is_some_and(|c| c.correction.is_some()),
                post_check: outcome.state.judgement.as_deref().map(|j| {
                    match parse_judgement(j) {
                        Some(true) => "qualified",
                        Some(false) => "unqualified",
                        None => "unreadable",
                    }
                    .to_string()
                }),
                timed_out,
            }),
        })
    }
}
