//! Running and resuming graphs.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::budget::{Budget, BudgetTracker, UsageCount, UsageLedger};
use crate::graph::context::{NodeContext, RunShared};
use crate::graph::events::{EventSender, RunEvent};
use crate::graph::log::{parse_log, LogRecord, LogWriter, RunLock, LOG_FORMAT};
use crate::graph::{Graph, GraphError, MergeFn, NodeError, State, StopReason, Transition};

/// How to run a graph.
///
/// ```
/// use hone_core::{graph::RunOptions, Budget};
/// let opts = RunOptions::default()
///     .with_budget(Budget::unlimited().with_steps(100))
///     .with_run_id("demo");
/// assert_eq!(opts.run_id.as_deref(), Some("demo"));
/// ```
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Limits of the run (on resume, the budget recorded in the log is used).
    pub budget: Budget,
    /// Run id; generated if `None`.
    pub run_id: Option<String>,
    /// Checkpoint every step to this JSONL file (must not exist yet).
    pub log: Option<PathBuf>,
    /// Sync every log line to disk (power-loss safety; slower).
    pub fsync: bool,
    /// Where to send [`RunEvent`]s.
    pub events: Option<EventSender>,
    /// Most fan-out jobs running at once.
    pub max_parallel: usize,
    /// Metadata stored in the log header (task, strategy, model…).
    pub meta: serde_json::Value,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            budget: Budget::unlimited(),
            run_id: None,
            log: None,
            fsync: false,
            events: None,
            max_parallel: 16,
            meta: serde_json::Value::Null,
        }
    }
}

impl RunOptions {
    /// Sets the budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }
    /// Sets the run id.
    pub fn with_run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }
    /// Checkpoints to `path`.
    pub fn with_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }
    /// Sends events to `events`.
    pub fn with_events(mut self, events: EventSender) -> Self {
        self.events = Some(events);
        self
    }
    /// Sets the header metadata.
    pub fn with_meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = meta;
        self
    }
    /// Sets the fan-out concurrency.
    pub fn with_max_parallel(mut self, n: usize) -> Self {
        self.max_parallel = n.max(1);
        self
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome<S> {
    /// Run id.
    pub run_id: String,
    /// The last committed state: the final state of a finished run, else the
    /// best the run had when it stopped.
    pub state: S,
    /// Why the run ended.
    pub stop: StopReason,
    /// Completed node executions.
    pub steps: u64,
    /// Completed executions per node.
    pub node_runs: BTreeMap<String, u64>,
    /// Model usage in total, per node and per model.
    pub usage: UsageLedger,
    /// Wall time, including earlier processes of a resumed run.
    pub elapsed: Duration,
}

struct Job<S> {
    node: usize,
    input: S,
    output: Option<S>,
}

enum Cursor<S> {
    Run {
        node: usize,
        input: S,
    },
    Parallel {
        base: S,
        jobs: Vec<Job<S>>,
        join: usize,
        merge: MergeFn<S>,
        logged: bool,
    },
    Done {
        state: S,
        stop: StopReason,
    },
}

struct Driver<S: State> {
    graph: Graph<S>,
    shared: Arc<RunShared>,
    log: Option<LogWriter>,
    next_step: u64,
    node_runs: BTreeMap<String, u64>,
    max_parallel: usize,
}

/// Generates a run id: UTC date and time plus a random suffix,
/// e.g. `20261126-235501-3fa2`.
///
/// ```
/// let id = hone_core::graph::new_run_id();
/// assert_eq!(id.len(), 20);
/// ```
pub fn new_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86400;
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{:04x}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        rand::random::<u16>()
    )
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

fn stop_for(node: &str, e: &NodeError) -> StopReason {
    match e.exhausted() {
        Some(exhausted) => StopReason::Budget { exhausted },
        None => StopReason::NodeFailed {
            node: node.to_string(),
            error: e.to_string(),
        },
    }
}

impl<S: State> Driver<S> {
    fn write(&mut self, record: &LogRecord<&S>) -> Result<(), GraphError> {
        match &mut self.log {
            Some(w) => w.write(record),
            None => Ok(()),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.shared.tracker.elapsed().as_millis() as u64
    }

    fn name(&self, node: usize) -> Arc<str> {
        self.graph.inner.names[node].clone()
    }

    /// Records that the steps still running (`(step, node)`) were cancelled
    /// at the wall-time deadline, and returns the exhausted limit. The
    /// `failed` records are informational: the steps are not committed, so a
    /// resume would run them again.
    fn cancelled_at_deadline(
        &mut self,
        running: &[(u64, String)],
    ) -> Result<crate::budget::Exhausted, GraphError> {
        let exhausted = self.shared.tracker.wall_time_exhausted();
        for (step, node) in running {
            self.write(&LogRecord::Failed {
                step: *step,
                node: node.clone(),
                error: format!("cancelled: {exhausted}"),
            })?;
        }
        self.shared.emit(RunEvent::BudgetExhausted(exhausted));
        Ok(exhausted)
    }

    /// Turns a finished node's output into the next cursor, logging a fan-out.
    fn after(&mut self, node: usize, output: S) -> Result<Cursor<S>, GraphError> {
        Ok(match self.graph.transition(node, output) {
            Transition::Run(next, state) => Cursor::Run {
                node: next,
                input: state,
            },
            Transition::End(state) => Cursor::Done {
                state,
                stop: StopReason::Finished,
            },
            Transition::InvalidRoute(target, state) => Cursor::Done {
                state,
                stop: StopReason::InvalidRoute {
                    from: self.name(node).to_string(),
                    target,
                },
            },
            Transition::Parallel {
                base,
                jobs,
                join,
                merge,
            } => Cursor::Parallel {
                base,
                jobs: jobs
                    .into_iter()
                    .map(|(node, input)| Job {
                        node,
                        input,
                        output: None,
                    })
                    .collect(),
                join,
                merge,
                logged: false,
            },
        })
    }

    async fn run_node(&mut self, node: usize, input: S) -> Result<Cursor<S>, GraphError> {
        if let Err(exhausted) = self.shared.tracker.begin_step() {
            self.shared.emit(RunEvent::BudgetExhausted(exhausted));
            return Ok(Cursor::Done {
                state: input,
                stop: StopReason::Budget { exhausted },
            });
        }
        let step = self.next_step;
        self.next_step += 1;
        let name = self.name(node);
        self.write(&LogRecord::Started {
            step,
            node: name.to_string(),
            branch: None,
        })?;
        if self.shared.events.is_some() {
            self.shared.emit(RunEvent::NodeStarted {
                step,
                node: name.to_string(),
                branch: None,
            });
        }
        let ctx = NodeContext::new(self.shared.clone(), name.clone(), step, None);
        let span = tracing::info_span!("node", hone.node = %name, hone.step = step);
        let started = Instant::now();
        let work = AssertUnwindSafe(
            self.graph.inner.nodes[node]
                .run(input.clone(), ctx.clone())
                .instrument(span),
        )
        .catch_unwind();
        // The wall-time limit is hard: a step still running at the deadline
        // is dropped (its model call or sandbox run cancelled), not committed.
        let finished = match self.shared.tracker.deadline() {
            Some(deadline) => {
                tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), work)
                    .await
                    .ok()
            }
            None => Some(work.await),
        };
        let Some(result) = finished else {
            let exhausted = self.cancelled_at_deadline(&[(step, name.to_string())])?;
            return Ok(Cursor::Done {
                state: input,
                stop: StopReason::Budget { exhausted },
            });
        };
        let result = result.unwrap_or_else(|p| Err(NodeError::failed(panic_message(p))));
        match result {
            Ok(output) => {
                let elapsed_ms = self.elapsed_ms();
                self.write(&LogRecord::Finished {
                    step,
                    node: name.to_string(),
                    branch: None,
                    output: &output,
                    usage: ctx.usage(),
                    elapsed_ms,
                })?;
                *self.node_runs.entry(name.to_string()).or_default() += 1;
                if self.shared.events.is_some() {
                    self.shared.emit(RunEvent::NodeFinished {
                        step,
                        node: name.to_string(),
                        branch: None,
                        duration_ms: started.elapsed().as_millis() as u64,
                    });
                }
                self.after(node, output)
            }
            Err(e) => {
                self.write(&LogRecord::Failed {
                    step,
                    node: name.to_string(),
                    error: e.to_string(),
                })?;
                self.shared.emit(RunEvent::NodeFailed {
                    step,
                    node: name.to_string(),
                    error: e.to_string(),
                });
                Ok(Cursor::Done {
                    state: input,
                    stop: stop_for(&name, &e),
                })
            }
        }
    }

    async fn run_parallel(
        &mut self,
        base: S,
        mut jobs: Vec<Job<S>>,
        join: usize,
        merge: MergeFn<S>,
        logged: bool,
    ) -> Result<Cursor<S>, GraphError> {
        if !logged {
            let nodes = jobs.iter().map(|j| self.name(j.node).to_string()).collect();
            let inputs = jobs.iter().map(|j| &j.input).collect();
            self.write(&LogRecord::Parallel { nodes, inputs })?;
        }
        let mut pending: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].output.is_none())
            .rev()
            .collect();
        let mut running = JoinSet::new();
        // Jobs in flight: branch -> (step, node), for the deadline's records.
        let mut in_flight: BTreeMap<usize, (u64, String)> = BTreeMap::new();
        let deadline = self
            .shared
            .tracker
            .deadline()
            .map(tokio::time::Instant::from_std);
        let mut stop: Option<StopReason> = None;
        loop {
            while stop.is_none() && running.len() < self.max_parallel {
                let Some(i) = pending.pop() else { break };
                if let Err(exhausted) = self.shared.tracker.begin_step() {
                    self.shared.emit(RunEvent::BudgetExhausted(exhausted));
                    stop = Some(StopReason::Budget { exhausted });
                    break;
                }
                let step = self.next_step;
                self.next_step += 1;
                let name = self.name(jobs[i].node);
                self.write(&LogRecord::Started {
                    step,
                    node: name.to_string(),
                    branch: Some(i),
                })?;
                self.shared.emit(RunEvent::NodeStarted {
                    step,
                    node: name.to_string(),
                    branch: Some(i),
                });
                in_flight.insert(i, (step, name.to_string()));
                let ctx = NodeContext::new(self.shared.clone(), name.clone(), step, Some(i));
                let node = self.graph.inner.nodes[jobs[i].node].clone();
                let input = jobs[i].input.clone();
                let span = tracing::info_span!("node", hone.node = %name, hone.step = step, hone.branch = i);
                running.spawn(
                    async move {
                        let started = Instant::now();
                        let result = AssertUnwindSafe(node.run(input, ctx.clone()))
                            .catch_unwind()
                            .await
                            .unwrap_or_else(|p| Err(NodeError::failed(panic_message(p))));
                        (i, step, result, ctx.usage(), started.elapsed())
                    }
                    .instrument(span),
                );
            }
            let next = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, running.join_next())
                    .await
                    .ok(),
                None => Some(running.join_next().await),
            };
            let Some(next) = next else {
                // Past the deadline: cancel every job still running.
                running.abort_all();
                let cancelled: Vec<_> = std::mem::take(&mut in_flight).into_values().collect();
                let exhausted = self.cancelled_at_deadline(&cancelled)?;
                stop.get_or_insert(StopReason::Budget { exhausted });
                break;
            };
            let Some(joined) = next else {
                break;
            };
            let (i, step, result, usage, duration) = match joined {
                Ok(done) => done,
                Err(e) => {
                    stop.get_or_insert(StopReason::NodeFailed {
                        node: "fan-out job".into(),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            in_flight.remove(&i);
            let name = self.name(jobs[i].node);
            match result {
                Ok(output) => {
                    let elapsed_ms = self.elapsed_ms();
                    self.write(&LogRecord::Finished {
                        step,
                        node: name.to_string(),
                        branch: Some(i),
                        output: &output,
                        usage,
                        elapsed_ms,
                    })?;
                    *self.node_runs.entry(name.to_string()).or_default() += 1;
                    self.shared.emit(RunEvent::NodeFinished {
                        step,
                        node: name.to_string(),
                        branch: Some(i),
                        duration_ms: duration.as_millis() as u64,
                    });
                    jobs[i].output = Some(output);
                }
                Err(e) => {
                    self.write(&LogRecord::Failed {
                        step,
                        node: name.to_string(),
                        error: e.to_string(),
                    })?;
                    self.shared.emit(RunEvent::NodeFailed {
                        step,
                        node: name.to_string(),
                        error: e.to_string(),
                    });
                    stop.get_or_insert(stop_for(&name, &e));
                }
            }
        }
        if let Some(stop) = stop {
            return Ok(Cursor::Done { state: base, stop });
        }
        let outputs = jobs.into_iter().filter_map(|j| j.output).collect();
        let merged = merge(base, outputs);
        self.write(&LogRecord::Merged { state: &merged })?;
        Ok(Cursor::Run {
            node: join,
            input: merged,
        })
    }

    async fn drive(mut self, mut cursor: Cursor<S>) -> Result<RunOutcome<S>, GraphError> {
        loop {
            cursor = match cursor {
                Cursor::Run { node, input } => self.run_node(node, input).await?,
                Cursor::Parallel {
                    base,
                    jobs,
                    join,
                    merge,
                    logged,
                } => self.run_parallel(base, jobs, join, merge, logged).await?,
                Cursor::Done { state, stop } => {
                    let steps = self.shared.tracker.steps();
                    self.write(&LogRecord::Ended {
                        stop: stop.clone(),
                        state: &state,
                        steps,
                    })?;
                    self.shared.emit(RunEvent::RunFinished {
                        stop: stop.clone(),
                        steps,
                    });
                    return Ok(RunOutcome {
                        run_id: self.shared.run_id.clone(),
                        state,
                        stop,
                        steps,
                        node_runs: self.node_runs,
                        usage: self.shared.tracker.ledger(),
                        elapsed: self.shared.tracker.elapsed(),
                    });
                }
            };
        }
    }
}

impl<S: State> Graph<S> {
    /// Runs the graph from `initial`.
    ///
    /// Returns `Err` only when the run log cannot be written; every other end
    /// (finished, budget, node failure) is a [`RunOutcome`].
    pub async fn run(&self, initial: S, options: RunOptions) -> Result<RunOutcome<S>, GraphError> {
        let run_id = options.run_id.clone().unwrap_or_else(new_run_id);
        let mut log = match &options.log {
            Some(path) => Some(LogWriter::create(path, options.fsync)?),
            None => None,
        };
        if let Some(w) = &mut log {
            w.write(&LogRecord::Header {
                format: LOG_FORMAT,
                run_id: run_id.clone(),
                graph: self.inner.name.clone(),
                fingerprint: self.inner.fingerprint.clone(),
                budget: options.budget.clone(),
                initial: &initial,
                meta: options.meta.clone(),
            })?;
        }
        let shared = Arc::new(RunShared {
            run_id: run_id.clone(),
            tracker: BudgetTracker::new(options.budget.clone()),
            events: options.events.clone(),
        });
        shared.emit(RunEvent::RunStarted {
            run_id: run_id.clone(),
            graph: self.inner.name.clone(),
            resumed: false,
        });
        let span = tracing::info_span!("run", hone.graph = %self.inner.name, hone.run_id = %run_id);
        let driver = Driver {
            graph: self.clone(),
            shared,
            log,
            next_step: 1,
            node_runs: BTreeMap::new(),
            max_parallel: options.max_parallel.max(1),
        };
        driver
            .drive(Cursor::Run {
                node: self.inner.entry,
                input: initial,
            })
            .instrument(span)
            .await
    }

    /// Continues the run recorded in `log`: committed steps are replayed from
    /// the log without running their nodes, the interrupted step restarts from
    /// its recorded input, and new steps are appended to the same log. A log
    /// whose run already ended returns its recorded outcome — except a run
    /// that ended because a node failed: that node runs again from its
    /// recorded input (a failure is never committed, and it is most often
    /// an endpoint that was down), so a resume is how a user retries it.
    ///
    /// `options.log`, `options.run_id`, `options.budget` and `options.meta`
    /// are ignored: they come from the log.
    pub async fn resume(
        &self,
        log: &Path,
        options: RunOptions,
    ) -> Result<RunOutcome<S>, GraphError> {
        // Locked before reading, so no other process appends between the
        // read and our writes.
        let lock = RunLock::acquire(log)?;
        let parsed = parse_log::<S>(log)?;
        let bad = |line: usize, problem: String| GraphError::Log {
            path: log.to_path_buf(),
            line,
            problem,
        };
        let mut records = parsed.records.into_iter();
        let Some((
            line,
            LogRecord::Header {
                format,
                run_id,
                graph,
                fingerprint,
                budget,
                initial,
                ..
            },
        )) = records.next()
        else {
            return Err(bad(1, "the log does not start with a header".into()));
        };
        if format != LOG_FORMAT {
            return Err(bad(
                line,
                format!("log format {format}, this build reads {LOG_FORMAT}"),
            ));
        }
        if graph != self.inner.name || fingerprint != self.inner.fingerprint {
            return Err(bad(
                line,
                format!(
                    "the log is of graph {graph:?} ({fingerprint}), not of {:?} ({})",
                    self.inner.name, self.inner.fingerprint
                ),
            ));
        }
        let mut cursor = Cursor::Run {
            node: self.inner.entry,
            input: initial,
        };
        let mut driver = Driver {
            graph: self.clone(),
            shared: Arc::new(RunShared {
                run_id: run_id.clone(),
                tracker: BudgetTracker::new(budget.clone()),
                events: None,
            }),
            log: None,
            next_step: 1,
            node_runs: BTreeMap::new(),
            max_parallel: options.max_parallel.max(1),
        };
        let mut ledger = UsageLedger::default();
        let mut steps = 0u64;
        let mut elapsed = Duration::ZERO;
        let mut add_usage = |node: &str, usage: &BTreeMap<String, UsageCount>| {
            for (model, count) in usage {
                ledger.add_count(node, model, count);
            }
        };
        for (line, record) in records {
            match record {
                LogRecord::Header { .. } => return Err(bad(line, "a second header".into())),
                LogRecord::Started { .. } | LogRecord::Failed { .. } => {}
                LogRecord::Finished {
                    node,
                    branch,
                    output,
                    usage,
                    elapsed_ms,
                    ..
                } => {
                    let Some(&index) = self.inner.index.get(&node) else {
                        return Err(bad(line, format!("unknown node {node:?}")));
                    };
                    steps += 1;
                    elapsed = Duration::from_millis(elapsed_ms);
                    add_usage(&node, &usage);
                    *driver.node_runs.entry(node.clone()).or_default() += 1;
                    cursor = match (cursor, branch) {
                        (Cursor::Run { node: expected, .. }, None) if expected == index => {
                            driver.after(index, output)?
                        }
                        (
                            Cursor::Parallel {
                                base,
                                mut jobs,
                                join,
                                merge,
                                logged,
                            },
                            Some(i),
                        ) if jobs.get(i).is_some_and(|j| j.node == index) => {
                            jobs[i].output = Some(output);
                            Cursor::Parallel {
                                base,
                                jobs,
                                join,
                                merge,
                                logged,
                            }
                        }
                        _ => {
                            return Err(bad(
                                line,
                                format!("node {node:?} finished where the graph does not run it"),
                            ))
                        }
                    };
                }
                LogRecord::Parallel { nodes, inputs } => {
                    cursor = match cursor {
                        Cursor::Parallel {
                            base, join, merge, ..
                        } if nodes.len() == inputs.len() => {
                            let mut jobs = Vec::with_capacity(nodes.len());
                            for (name, input) in nodes.iter().zip(inputs) {
                                let Some(&node) = self.inner.index.get(name) else {
                                    return Err(bad(line, format!("unknown node {name:?}")));
                                };
                                jobs.push(Job {
                                    node,
                                    input,
                                    output: None,
                                });
                            }
                            Cursor::Parallel {
                                base,
                                jobs,
                                join,
                                merge,
                                logged: true,
                            }
                        }
                        _ => return Err(bad(line, "fan-out where the graph has none".into())),
                    };
                }
                LogRecord::Merged { state } => {
                    cursor = match cursor {
                        Cursor::Parallel { join, .. } => Cursor::Run {
                            node: join,
                            input: state,
                        },
                        _ => return Err(bad(line, "merge without a fan-out".into())),
                    };
                }
                // The cursor is still at the failed node (or fan-out): it
                // runs again below.
                LogRecord::Ended {
                    stop: StopReason::NodeFailed { .. },
                    ..
                } => {}
                LogRecord::Ended { stop, state, steps } => {
                    return Ok(RunOutcome {
                        run_id,
                        state,
                        stop,
                        steps,
                        node_runs: driver.node_runs,
                        usage: ledger,
                        elapsed,
                    });
                }
            }
        }
        driver.shared = Arc::new(RunShared {
            run_id: run_id.clone(),
            tracker: BudgetTracker::resumed(budget, steps, ledger, elapsed),
            events: options.events.clone(),
        });
        driver.next_step = steps + 1;
        driver.log = Some(LogWriter::append(
            log,
            parsed.valid_len,
            options.fsync,
            lock,
        )?);
        driver.shared.emit(RunEvent::RunStarted {
            run_id: run_id.clone(),
            graph: self.inner.name.clone(),
            resumed: true,
        });
        let span = tracing::info_span!("run", hone.graph = %self.inner.name, hone.run_id = %run_id, hone.resumed = true);
        driver.drive(cursor).instrument(span).await
    }
}
