//! Running a suite: each item through the same strategy graphs `hone solve`
//! uses, `jobs` at a time, each with its own checkpointed run log, scored
//! by the host after its search, recorded as it finishes.
//!
//! Resuming is the same call on the same directory: items with a result are
//! skipped, an item with a run log but no result continues from its log
//! (exact resume: committed steps are not run again), the rest start.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hone_agents::header::{RunHeader, Search};
use hone_agents::mcts::MctsState;
use hone_agents::outcome::{AfterSearch, RunSummary, ScoringError};
use hone_agents::refine::{RefineConfig, RefineState, TaskKind};
use hone_core::graph::{
    read_run_log, Graph, GraphError, RunOptions, RunOutcome, State, StopReason,
};
use hone_core::templates::TemplateError;
use hone_core::Budget;
use hone_tools::{Harness, TestSuite};

use crate::item::{choice_index, AnswerItem, CodeItem, Item};
use crate::results::{BenchHeader, ItemResult, ResultsError, RunDir};

/// Why an item could not be run to a result. The item is not recorded, so
/// rerunning the command retries it (from its run log).
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The strategy's graph failed (its run log, a resume).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The task could not be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The header names no strategy hone has.
    #[error(transparent)]
    Header(#[from] hone_agents::header::HeaderError),
    /// Scoring failed (the sandbox, the answer checker).
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    /// A node failed (e.g. the model endpoint kept failing).
    #[error("{0}")]
    NodeFailed(String),
    /// RealCritic's grader could not grade an answer.
    #[error(transparent)]
    Grade(#[from] crate::realcritic::grade::GradeError),
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Recording a result failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// What a run reports as it goes.
#[derive(Debug)]
pub enum Progress<'a> {
    /// Items already recorded by an earlier run, skipped.
    Skipped(usize),
    /// An item finished and was recorded.
    Finished(&'a ItemResult),
    /// An item failed; it is not recorded and a rerun retries it.
    Failed {
        /// The item.
        id: &'a str,
        /// Why.
        error: &'a ItemError,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunTotals {
    /// Items recorded by this call.
    pub finished: usize,
    /// Items skipped because an earlier call recorded them.
    pub skipped: usize,
    /// Items that failed (not recorded).
    pub failed: usize,
    /// Items not started or cut off because the run's time ran out.
    pub not_run: usize,
    /// Whether `max_run_time` stopped the run.
    pub stopped_by_budget: bool,
}

/// One protocol item's graph run with its own checkpointed log at `log`:
/// the log is resumed when it holds a run (an item interrupted earlier),
/// else `initial` starts afresh under `meta` (a log cut off before its
/// header holds nothing to resume and is removed first).
pub async fn run_or_resume<S: State>(
    graph: &Graph<S>,
    log: &Path,
    meta: serde_json::Value,
    initial: S,
) -> Result<RunOutcome<S>, GraphError> {
    if read_run_log(log).is_ok() {
        return graph.resume(log, RunOptions::default()).await;
    }
    if log.exists() {
        let _ = std::fs::remove_file(log);
    }
    let options = RunOptions::default()
        .with_run_id(log.file_stem().unwrap_or_default().to_string_lossy())
        .with_log(log)
        .with_meta(meta);
    graph.run(initial, options).await
}

/// Runs the items of a protocol run (RealCritic, MINT, your own) that `dir`
/// does not hold yet, `jobs` at a time: `run_one(item, dir_path)` runs and
/// scores one, and each result is recorded as it finishes. An item that
/// fails is reported and not recorded, so rerunning retries it.
pub async fn run_protocol_items<'a, T, F, Fut>(
    items: &'a [T],
    key: impl Fn(&T) -> String,
    jobs: usize,
    dir: &mut RunDir,
    progress: &(dyn Fn(Progress<'_>) + Sync),
    run_one: F,
) -> Result<RunTotals, RunError>
where
    F: Fn(&'a T, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<ItemResult, ItemError>> + 'a,
{
    let mut totals = RunTotals::default();
    let todo: Vec<&T> = items.iter().filter(|i| !dir.is_done(&key(i), 0)).collect();
    totals.skipped = items.len() - todo.len();
    if totals.skipped > 0 {
        progress(Progress::Skipped(totals.skipped));
    }
    let root = dir.path().to_path_buf();
    let mut pending = futures::stream::iter(todo.into_iter().map(|item| {
        let fut = run_one(item, root.clone());
        async move { (item, fut.await) }
    }))
    .buffer_unordered(jobs.max(1));
    while let Some((item, result)) = pending.next().await {
        match result {
            Ok(result) => {
                dir.record(result.clone())?;
                totals.finished += 1;
                progress(Progress::Finished(&result));
            }
            Err(error) => {
                totals.failed += 1;
                let id = key(item);
                progress(Progress::Failed {
                    id: &id,
                    error: &error,
                });
            }
        }
    }
    Ok(totals)
}

/// A benchmark run: the model and templates (in `config`), the header the
/// run directory records, and how to schedule items.
#[derive(Clone)]
pub struct BenchRun {
    /// Model, templates and the harness that runs public tests.
    pub config: RefineConfig,
    /// What the run directory records (strategy, budgets, ...).
    pub header: BenchHeader,
    /// Items run at once.
    pub jobs: usize,
    /// Most wall time for the whole run: items still running then are
    /// cut off (their run logs keep what they did) and none start after.
    pub max_run_time: Option<Duration>,
}

impl BenchRun {
    /// Runs `items` into `dir`, skipping those it already holds.
    pub async fn run(
        &self,
        items: &[Item],
        dir: &mut RunDir,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<RunTotals, RunError> {
        let started = Instant::now();
        let mut totals = RunTotals::default();
        let draws = self.header.samples.max(1);
        let todo: Vec<(&Item, u32)> = items
            .iter()
            .flat_map(|item| (0..draws).map(move |s| (item, s)))
            .filter(|(item, s)| !dir.is_done(item.id(), *s))
            .collect();
        totals.skipped = items.len() * draws as usize - todo.len();
        if totals.skipped > 0 {
            progress(Progress::Skipped(totals.skipped));
        }
        let harness = self.config.harness.clone().unwrap_or_else(|| {
            Arc::new(Harness::new(hone_sandbox::Sandbox::new(Default::default())))
        });
        // Every suite's test plan in one sandbox execution, so a passing
        // verify or score costs one execution each.
        let suites: Vec<&TestSuite> = todo
            .iter()
            .filter_map(|(item, _)| match item {
                Item::Code(c) => Some([&c.public_tests, &c.hidden_tests]),
                Item::Answer(_) => None,
            })
            .flatten()
            .collect();
        if let Err(e) = harness.prepare(&suites).await {
            tracing::warn!(error = %e, "planning the suites' tests failed; each is planned at first use");
        }
        let root = dir.path().to_path_buf();
        let (root, harness) = (&root, &harness);
        let mut pending = futures::stream::iter(todo.iter().map(|(item, sample)| async move {
            let result = self.run_item(item, *sample, root, harness).await;
            (*item, result)
        }))
        .buffer_unordered(self.jobs.max(1));
        let deadline = self
            .max_run_time
            .map(|limit| tokio::time::Instant::from_std(started + limit));
        let mut seen = 0usize;
        loop {
            let next = match deadline {
                Some(at) => match tokio::time::timeout_at(at, pending.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        totals.stopped_by_budget = true;
                        break;
                    }
                },
                None => pending.next().await,
            };
            let Some((item, result)) = next else {
                break;
            };
            seen += 1;
            match result {
                Ok(result) => {
                    dir.record(result.clone())?;
                    totals.finished += 1;
                    progress(Progress::Finished(&result));
                }
                Err(error) => {
                    totals.failed += 1;
                    progress(Progress::Failed {
                        id: item.id(),
                        error: &error,
                    });
                }
            }
        }
        totals.not_run = todo.len() - seen;
        Ok(totals)
    }

    fn budget(&self) -> Budget {
        let mut budget = Budget::unlimited();
        budget.max_model_calls = self.header.item_budget.max_calls;
        budget.max_wall_time = self
            .header
            .item_budget
            .max_seconds
            .map(Duration::from_secs_f64);
        budget
    }

    /// Runs draw `sample` of one item (resuming its log when there is one)
    /// and scores it.
    pub async fn run_item(
        &self,
        item: &Item,
        sample: u32,
        root: &Path,
        harness: &Arc<Harness>,
    ) -> Result<ItemResult, ItemError> {
        let started = Instant::now();
        let log_name = RunDir::log_of(item.id(), sample);
        let log = root.join(&log_name);
        // The item's log records its draw, so `hone resume` of it draws
        // the same seeds.
        let header = RunHeader {
            draw: sample,
            ..self.header.strategy.clone()
        };
        let search = header.search(self.config.clone().with_harness(harness.clone()))?;
        let summary = if resumable(&log) {
            search.resume(&log, RunOptions::default()).await?
        } else {
            if log.exists() {
                // Cut off before its header: nothing to resume.
                let _ = std::fs::remove_file(&log);
            }
            let options = RunOptions::default()
                .with_run_id(log.file_stem().unwrap_or_default().to_string_lossy())
                .with_log(&log)
                .with_budget(self.budget())
                .with_meta(header.to_meta());
            self.fresh(&search, item, options).await?
        };
        if let StopReason::NodeFailed { node, error } = &summary.stop {
            return Err(ItemError::NodeFailed(format!(
                "node {node} failed: {error}"
            )));
        }
        let (passed, detail) = score(item, &summary, harness).await?;
        let usage = summary.usage.total;
        Ok(ItemResult {
            id: item.id().to_string(),
            sample,
            passed,
            verified: summary.verified,
            stop: summary.stop.to_string(),
            answer: summary.answer.clone(),
            detail,
            calls: usage.calls,
            cache_hits: usage.cache_hits,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            log: log_name,
            critic: None,
            mint: None,
            review: None,
        })
    }

    async fn fresh(
        &self,
        search: &Search,
        item: &Item,
        options: RunOptions,
    ) -> Result<RunSummary, ItemError> {
        let templates = &self.config.templates;
        let max_rounds = self.header.max_rounds;
        match (search, item) {
            (Search::Linear { strategy, graph }, Item::Code(c)) => {
                let mut state =
                    RefineState::new(code_task(templates, c)?, TaskKind::Code, max_rounds);
                if has_tests(&c.public_tests) {
                    state = state.with_public_tests(c.public_tests.clone());
                }
                Ok(RunSummary::of_linear(
                    strategy,
                    &graph.run(state, options).await?,
                ))
            }
            (Search::Linear { strategy, graph }, Item::Answer(a)) => {
                let state =
                    RefineState::new(answer_task(templates, a)?, TaskKind::Math, max_rounds);
                Ok(RunSummary::of_linear(
                    strategy,
                    &graph.run(state, options).await?,
                ))
            }
            (Search::Mcts(graph), Item::Code(c)) => {
                let settings = self.header.mcts.clone().unwrap_or_default();
                let state =
                    MctsState::new(code_task(templates, c)?, c.public_tests.clone(), settings);
                Ok(RunSummary::of_mcts(&graph.run(state, options).await?))
            }
            (Search::Mcts(_), Item::Answer(_)) => Err(ItemError::NodeFailed(
                "rethink-mcts searches code against public tests; this is an answer item".into(),
            )),
        }
    }
}

fn code_task(
    templates: &hone_core::templates::Templates,
    c: &CodeItem,
) -> Result<String, TemplateError> {
    templates.render(
        "bench_code_task.j2",
        serde_json::json!({"entry_point": c.entry_point, "prompt": c.prompt}),
    )
}

fn answer_task(
    templates: &hone_core::templates::Templates,
    a: &AnswerItem,
) -> Result<String, TemplateError> {
    templates.render(
        "bench_answer_task.j2",
        serde_json::json!({"question": a.question, "choices": a.choices.clone().unwrap_or_default()}),
    )
}

fn has_tests(suite: &TestSuite) -> bool {
    match suite {
        TestSuite::Asserts { asserts, .. } => !asserts.is_empty(),
        TestSuite::Check { .. } => true,
        TestSuite::Io { cases } => !cases.is_empty(),
    }
}

/// Whether `log` holds a run to resume (a header at least); a log cut off
/// before its header is started over.
fn resumable(log: &Path) -> bool {
    hone_agents::header::RunHeader::read(log).is_ok()
}

/// The host's score of a finished search: hidden tests for code, the
/// reference (or the right choice) for answers.
async fn score(
    item: &Item,
    summary: &RunSummary,
    harness: &Harness,
) -> Result<(bool, String), ItemError> {
    let answer = summary.answer.as_deref();
    match item {
        Item::Code(c) => {
            let scores = AfterSearch::new(harness)
                .hidden_tests(&c.hidden_tests)
                .score(answer)
                .await?;
            Ok(match scores.hidden_tests {
                Some(h) => (
                    h.passed,
                    format!("hidden tests {}: {}", h.status, h.detail)
                        .trim_end_matches(": ")
                        .to_string(),
                ),
                None => (false, "not scored".into()),
            })
        }
        Item::Answer(a) => match &a.choices {
            Some(choices) => {
                let extracted = answer.and_then(hone_tools::answer::extract_final_answer);
                let chosen = extracted.as_deref().and_then(|x| choice_index(x, choices));
                let right = choice_index(&a.reference, choices);
                Ok((
                    chosen.is_some() && chosen == right,
                    format!("final answer {:?}", extracted.unwrap_or_default()),
                ))
            }
            None => {
                let scores = AfterSearch::new(harness)
                    .reference(&a.reference)
                    .score(answer)
                    .await?;
                Ok(match scores.reference_check {
                    Some(r) => (
                        r.correct,
                        format!(
                            "final answer {:?} vs {:?} ({})",
                            r.final_answer.unwrap_or_default(),
                            r.reference,
                            r.equivalence
                        ),
                    ),
                    None => (false, "not scored".into()),
                })
            }
        },
    }
}
