//! Running MINT episodes: each through the episode graph with its own
//! checkpointed run log, recorded as it finishes; rerunning on the same
//! directory resumes (a resumed episode replays its code into a fresh
//! Python session).

use std::path::Path;
use std::time::Instant;

use hone_core::graph::StopReason;

use super::data::{family, MintItem};
use super::episode::{graph, Episode, MintConfig, Termination};
use super::record::{MintHeader, MintRecord};
use crate::results::{ItemResult, RunDir};
use crate::runner::{run_or_resume, run_protocol_items, ItemError, Progress, RunError, RunTotals};

/// A MINT run at one k.
#[derive(Clone)]
pub struct MintRun {
    /// Models, templates, checker and sessions.
    pub config: MintConfig,
    /// What the run directory records.
    pub header: MintHeader,
    /// Episodes run at once.
    pub jobs: usize,
}

impl MintRun {
    /// Runs `items` into `dir`, skipping those it already holds.
    pub async fn run(
        &self,
        items: &[MintItem],
        dir: &mut RunDir,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<RunTotals, RunError> {
        run_protocol_items(
            items,
            |i: &MintItem| i.key(),
            self.jobs,
            dir,
            progress,
            |item, root| async move { self.run_item(item, &root).await },
        )
        .await
    }

    /// Runs one episode (resuming its log when there is one).
    pub async fn run_item(&self, item: &MintItem, root: &Path) -> Result<ItemResult, ItemError> {
        let started = Instant::now();
        let id = item.key();
        let log_name = RunDir::log_of(&id, 0);
        let log = root.join(&log_name);
        let graph = graph(self.config.clone())?;
        let episode = Episode::new(
            &self.config.templates,
            item.clone(),
            self.header.k,
            self.header.feedback,
        )?;
        let meta = serde_json::json!({"protocol": "mint", "k": self.header.k, "item": id});
        let outcome = run_or_resume(&graph, &log, meta, episode).await;
        // The session goes with the episode, finished or not.
        self.config
            .sessions
            .close(&format!("{id}#k{}", self.header.k))
            .await;
        let outcome = outcome?;
        if let StopReason::NodeFailed { node, error } = &outcome.stop {
            return Err(ItemError::NodeFailed(format!(
                "node {node} failed: {error}"
            )));
        }
        let ep = &outcome.state;
        let termination = ep.end.unwrap_or(Termination::MaxSteps);
        let other_check = match &ep.solution {
            Some(solution) => Some(
                self.config
                    .checker
                    .check_with(!self.config.strict_checks, item, solution)
                    .await
                    .map_err(|e| ItemError::NodeFailed(e.to_string()))?
                    .correct,
            ),
            None => None,
        };
        let usage = outcome.usage.total;
        Ok(ItemResult {
            id,
            sample: 0,
            passed: termination == Termination::TaskSuccess,
            verified: false,
            stop: termination.name().to_string(),
            answer: ep.solution.clone(),
            detail: format!(
                "{}: {} step(s) of {} ({} code, {} proposal(s), {} invalid){}",
                termination.name(),
                ep.steps(),
                ep.k,
                ep.tool_uses,
                ep.proposals,
                ep.invalid,
                ep.error
                    .as_deref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            ),
            calls: usage.calls,
            cache_hits: usage.cache_hits,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            log: log_name,
            critic: None,
            review: None,
            mint: Some(MintRecord {
                set: item.set.clone(),
                family: family(&item.set),
                termination,
                proposals: ep.proposals,
                tool_uses: ep.tool_uses,
                invalid: ep.invalid,
                feedback_turns: ep.feedback_given.len() as u32,
                other_check,
            }),
        })
    }
}
