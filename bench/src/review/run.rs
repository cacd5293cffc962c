//! Running review items through `hone review`'s pipeline, one variant of the
//! ablation at a time: the actor alone, with the critic, with execution
//! evidence, or with both. Same model, same items, same prompts; the
//! actor's requests are identical across variants, so the response cache
//! serves them after the first variant.
//!
//! A run records every finding with its score (runs use `min_score` 0, so
//! any threshold can be applied afterwards by [`super::metrics`]) and two
//! host-computed facts per finding: whether its lines lie inside one hunk
//! of the item's diff (`in_diff`), and whether they overlap an expected
//! range (`hit`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hone_core::graph::StopReason;
use hone_core::templates::Templates;
use hone_core::LanguageModel;
use hone_review::change::Change;
use hone_review::chunk::{chunks, FileFilter};
use hone_review::finding::Finding;
use hone_review::pipeline::{graph, ReviewInput, ReviewOptions, ReviewState, Reviewer};
use hone_sandbox::Sandbox;
use serde::{Deserialize, Serialize};

use super::{ExpectedRange, ReviewItem};
use crate::results::{DirHeader, ItemResult, RunDir};
use crate::runner::{run_or_resume, run_protocol_items, ItemError, Progress, RunError, RunTotals};

/// A step set of the ablation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Proposals, anchored and deduplicated; nothing else.
    Actor,
    /// + the critic's score.
    Critic,
    /// + execution evidence.
    Execution,
    /// + both.
    Both,
}

impl Variant {
    /// All four, in the ablation's order.
    pub const ALL: [Variant; 4] = [
        Variant::Actor,
        Variant::Critic,
        Variant::Execution,
        Variant::Both,
    ];

    /// The name (also the run's subdirectory).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Actor => "actor",
            Variant::Critic => "critic",
            Variant::Execution => "execution",
            Variant::Both => "both",
        }
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Result<Variant, String> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == text)
            .ok_or_else(|| {
                format!("unknown review variant {text:?}: actor, critic, execution or both")
            })
    }

    /// The pipeline's options for this variant (`min_score` 0: every
    /// score is recorded and thresholds are applied afterwards).
    pub fn options(self, base: &ReviewOptions) -> ReviewOptions {
        ReviewOptions {
            critic: matches!(self, Variant::Critic | Variant::Both),
            execution: matches!(self, Variant::Execution | Variant::Both),
            min_score: 0,
            ..base.clone()
        }
    }
}

/// `header.json` of a review run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewHeader {
    /// Always `review`.
    pub protocol: String,
    /// hone's version.
    pub hone_version: String,
    /// The git revision hone was built from, when known.
    pub git_revision: Option<String>,
    /// Which steps ran.
    pub variant: Variant,
    /// The pipeline's options.
    pub options: ReviewOptions,
    /// Characters per chunk.
    pub chunk_chars: usize,
    /// sha256 of the items file.
    pub dataset_sha256: String,
    /// `--limit`, when given.
    pub limit: Option<usize>,
    /// Model identity.
    pub model: String,
    /// sha256 of the local model's GGUF file, when local.
    pub model_sha256: Option<String>,
    /// sha256 of each `review_*` template.
    pub templates: BTreeMap<String, String>,
    /// The shard this directory holds (`--shard i/n`), if sharded;
    /// `hone bench merge` combines the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::results::Shard>,
}

impl DirHeader for ReviewHeader {
    /// Everything but `limit`: a larger `--limit` continues the same run
    /// (results are per item), so a run can be measured on a first slice
    /// and extended later.
    fn run_differences(&self, other: &Self) -> Vec<String> {
        crate::results::json_differences(self, other)
            .into_iter()
            .filter(|field| field != "limit")
            .collect()
    }
}

impl ReviewHeader {
    /// The sha256 of every `review_*` template.
    pub fn template_hashes(templates: &Templates) -> BTreeMap<String, String> {
        crate::results::template_hashes(templates, "review_")
    }
}

/// A finding with the host's two facts about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRecord {
    /// The finding as the pipeline left it.
    #[serde(flatten)]
    pub finding: Finding,
    /// Its lines lie inside one hunk of the item's diff (file-level: false).
    pub in_diff: bool,
    /// Its lines (or, file-level, its file) overlap an expected range.
    pub hit: bool,
}

/// A review item's own fields in `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// The change has a bug (a non-empty `expected`).
    pub buggy: bool,
    /// Where the bugs are.
    pub expected: Vec<ExpectedRange>,
    /// Every finding, posted or dropped.
    pub findings: Vec<FindingRecord>,
    /// Actor answers unusable after their retry.
    pub malformed: u32,
    /// Actor answers retried once.
    pub retried: u32,
}

/// Whether `f` overlaps one of `expected`.
pub fn hits(f: &Finding, expected: &[ExpectedRange]) -> bool {
    expected.iter().any(|e| {
        e.path == f.proposed.path
            && match f.lines() {
                Some((s, t)) => s <= e.end_line && e.start_line <= t,
                None => false,
            }
    })
}

/// A review run over items.
#[derive(Clone)]
pub struct ReviewRun {
    /// The model under test.
    pub model: Arc<dyn LanguageModel>,
    /// Templates.
    pub templates: Arc<Templates>,
    /// Where tests run.
    pub sandbox: Sandbox,
    /// The header (variant, options).
    pub header: ReviewHeader,
    /// Items at once.
    pub jobs: usize,
}

impl ReviewRun {
    /// Runs `items` into `dir`, skipping finished ones.
    pub async fn run(
        &self,
        items: &[ReviewItem],
        dir: &mut RunDir,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<RunTotals, RunError> {
        run_protocol_items(
            items,
            |i: &ReviewItem| i.id.clone(),
            self.jobs,
            dir,
            progress,
            |item, root| async move { self.run_item(item, &root).await },
        )
        .await
    }

    /// Reviews one item (resuming its log when there is one).
    pub async fn run_item(&self, item: &ReviewItem, root: &Path) -> Result<ItemResult, ItemError> {
        let started = Instant::now();
        let log_name = RunDir::log_of(&item.id, 0);
        let log = root.join(&log_name);
        let change = Change::from_files(&item.files_before, &item.files_after)
            .map_err(|e| ItemError::NodeFailed(format!("{}: {e}", item.id)))?;
        let reviewer = Reviewer {
            model: self.model.clone(),
            templates: self.templates.clone(),
            sandbox: self.sandbox.clone(),
        };
        // The item rebuilds the input on a resume, so the log needs only
        // the state.
        let pieces = chunks(&change, &FileFilter::default(), self.header.chunk_chars);
        let input = Arc::new(ReviewInput::new(change, pieces));
        let graph = graph(reviewer, input.clone())?;
        let state = ReviewState::new(&input, self.header.options.clone());
        let change = &input.change;
        let meta = serde_json::json!({
            "protocol": "review",
            "variant": self.header.variant,
            "item": item.id,
        });
        let outcome = run_or_resume(&graph, &log, meta, state).await?;
        if let StopReason::NodeFailed { node, error } = &outcome.stop {
            return Err(ItemError::NodeFailed(format!(
                "node {node} failed: {error}"
            )));
        }
        let state = outcome.state;
        let findings: Vec<FindingRecord> = state
            .findings
            .iter()
            .map(|f| FindingRecord {
                in_diff: f.lines().is_some_and(|(s, e)| {
                    change
                        .file(&f.proposed.path)
                        .is_some_and(|file| file.hunk_with(s, e).is_some())
                }),
                hit: hits(f, &item.expected),
                finding: f.clone(),
            })
            .collect();
        let buggy = !item.expected.is_empty();
        let posted: Vec<&FindingRecord> = findings.iter().filter(|f| f.finding.alive()).collect();
        let passed = if buggy {
            posted.iter().any(|f| f.hit)
        } else {
            posted.is_empty()
        };
        let usage = outcome.usage.total;
        Ok(ItemResult {
            id: item.id.clone(),
            sample: 0,
            passed,
            verified: false,
            stop: outcome.stop.to_string(),
            answer: None,
            detail: format!(
                "{} finding(s) proposed, {} posted (min score 0), {}",
                findings.len(),
                posted.len(),
                if buggy {
                    "buggy change"
                } else {
                    "clean change"
                }
            ),
            calls: usage.calls,
            cache_hits: usage.cache_hits,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            log: log_name,
            critic: None,
            mint: None,
            review: Some(ReviewRecord {
                buggy,
                expected: item.expected.clone(),
                findings,
                malformed: state.malformed,
                retried: state.retried,
            }),
        })
    }
}
