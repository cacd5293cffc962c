//! `hone solve` and `hone resume`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hone_agents::refine::{
    extract_code, self_refine_graph, RefineConfig, RefineState, TaskKind, Verdict,
};
use hone_core::config::ConfigFile;
use hone_core::graph::{new_run_id, read_run_log, RunEvent, RunOptions, RunOutcome};
use hone_core::Budget;
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};
use serde::{Deserialize, Serialize};

use crate::cli::{Global, Kind, ResumeArgs, SolveArgs, Strategy};

/// Settings that shape the graph; stored in the log header so a resume
/// rebuilds exactly the same graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunMeta {
    strategy: String,
    temperature: f32,
    max_tokens: u32,
    model: String,
}

/// A HumanEval-style test file: it must define `check(candidate)`.
fn read_check_suite(path: &std::path::Path, entry_point: Option<&str>) -> Result<TestSuite> {
    let test = std::fs::read_to_string(path)
        .with_context(|| format!("reading the tests from {}", path.display()))?;
    if !test.contains("def check") {
        bail!(
            "{}: a test file must define `check(candidate)` (HumanEval style); \
             use --asserts for a list of assert statements",
            path.display()
        );
    }
    let entry_point = entry_point.unwrap_or_default().to_string();
    Ok(TestSuite::Check { test, entry_point })
}

/// The public tests named by --tests/--asserts, if any.
fn read_public_tests(args: &SolveArgs) -> Result<Option<TestSuite>> {
    if let Some(path) = &args.tests {
        return read_check_suite(path, args.entry_point.as_deref()).map(Some);
    }
    if let Some(path) = &args.asserts {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the asserts from {}", path.display()))?;
        let (asserts, setup): (Vec<&str>, Vec<&str>) = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .partition(|l| l.trim_start().starts_with("assert"));
        if asserts.is_empty() {
            bail!("{}: no line starts with `assert`", path.display());
        }
        return Ok(Some(TestSuite::Asserts {
            setup: setup.join("\n"),
            asserts: asserts.into_iter().map(str::to_string).collect(),
        }));
    }
    Ok(None)
}

/// The sandbox test harness (the guests load lazily, on the first test run).
fn harness() -> Arc<Harness> {
    Arc::new(Harness::new(Sandbox::new(SandboxConfig::default())))
}

fn read_task(args: &SolveArgs) -> Result<String> {
    let task = if let Some(path) = &args.file {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the task from {}", path.display()))?
    } else if !args.task.is_empty() {
        args.task.join(" ")
    } else {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("reading the task from standard input")?;
        buf
    };
    let task = task.trim().to_string();
    if task.is_empty() {
        bail!("the task is empty: pass it as arguments, with --file FILE, or on standard input");
    }
    Ok(task)
}

/// Resolves a run id or a path to a log path.
pub fn log_path(global: &Global, config: &ConfigFile, run: &str) -> Result<PathBuf> {
    let as_path = PathBuf::from(run);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let path = crate::cli::runs_dir(global, config).join(format!("{run}.jsonl"));
    if !path.is_file() {
        bail!(
            "no run {run:?}: {} does not exist (`hone runs` lists recorded runs)",
            path.display()
        );
    }
    Ok(path)
}

/// Prints the trajectory as events arrive.
fn spawn_printer(quiet: bool) -> (hone_core::graph::EventSender, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RunEvent>();
    let task = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if quiet {
                continue;
            }
            match event {
                RunEvent::RunStarted {
                    run_id, resumed, ..
                } => eprintln!(
                    "{} run {run_id}",
                    if resumed { "resuming" } else { "starting" }
                ),
                RunEvent::NodeStarted { step, node, .. } => eprintln!("[{step}] {node} …"),
                RunEvent::ModelCall {
                    usage,
                    duration_ms,
                    error,
                    ..
                } => match error {
                    Some(e) => eprintln!("    model call failed after {duration_ms} ms: {e}"),
                    None => eprintln!(
                        "    model: {} in / {} out tokens, {duration_ms} ms{}",
                        usage.input_tokens,
                        usage.output_tokens,
                        if usage.cache_hits > 0 {
                            " (cached)"
                        } else {
                            ""
                        }
                    ),
                },
                RunEvent::Custom { kind, data, .. } => match kind.as_str() {
                    "attempt" => eprintln!(
                        "    attempt {}:\n{}",
                        data["round"],
                        indent(data["answer"].as_str().unwrap_or_default())
                    ),
                    "tests" => eprintln!(
                        "    public tests of attempt {}: {}/{} passed{}",
                        data["round"],
                        data["passed"],
                        data["total"],
                        if data["passed"] == data["total"] && data["total"] != 0 {
                            String::new()
                        } else {
                            format!(
                                "\n{}",
                                indent(data["feedback"].as_str().unwrap_or_default())
                            )
                        }
                    ),
                    "critique" => eprintln!(
                        "    critique of attempt {} (verdict {}):\n{}",
                        data["round"],
                        data["verdict"],
                        indent(data["critique"].as_str().unwrap_or_default())
                    ),
                    _ => eprintln!("    {kind}: {data}"),
                },
                RunEvent::BudgetExhausted(e) => eprintln!("    {e}"),
                RunEvent::NodeFailed { node, error, .. } => eprintln!("    {node} failed: {error}"),
                _ => {}
            }
        }
    });
    (tx, task)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The final program's score on the hidden tests: (passed, total).
type HiddenScore = Option<(usize, usize)>;

/// Scores the best attempt on the hidden tests, after the search is over.
async fn score_hidden(
    harness: &Harness,
    outcome: &RunOutcome<RefineState>,
    hidden: &TestSuite,
) -> Result<(usize, usize)> {
    let Some(best) = outcome.state.best() else {
        return Ok((0, 0));
    };
    let report = harness
        .run_python(&extract_code(&best.answer), hidden)
        .await
        .context("running the hidden tests")?;
    Ok((report.passed(), report.total()))
}

fn report(
    outcome: &RunOutcome<RefineState>,
    log: &std::path::Path,
    json: bool,
    hidden: HiddenScore,
) -> ExitCode {
    let best = outcome.state.best();
    if json {
        let value = serde_json::json!({
            "run_id": outcome.run_id,
            "stop": outcome.stop,
            "verified": outcome.state.verified(),
            "answer": best.map(|a| a.answer.clone()),
            "attempts": outcome.state.attempts,
            "steps": outcome.steps,
            "node_runs": outcome.node_runs,
            "usage": outcome.usage,
            "elapsed_ms": outcome.elapsed.as_millis() as u64,
            "log": log,
            "hidden_tests": hidden.map(|(passed, total)| serde_json::json!({"passed": passed, "total": total})),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        let verdict = match (
            best.and_then(|a| a.tests.as_ref()),
            best.and_then(|a| a.verdict),
        ) {
            (Some(t), _) if t.all_passed() => format!("passes all {} public tests", t.total),
            (Some(t), _) => format!("passes {}/{} public tests", t.passed, t.total),
            (None, Some(Verdict::Correct)) => "accepted by the critic".into(),
            (None, Some(Verdict::Incorrect)) => "NOT accepted by the critic".into(),
            (None, Some(Verdict::Malformed)) => "critic gave no verdict".into(),
            (None, None) => "not reviewed".into(),
        };
        eprintln!(
            "\nstopped: {} after {} steps, {} model calls ({} cached), {} in / {} out tokens, {:.1}s",
            outcome.stop,
            outcome.steps,
            outcome.usage.total.calls,
            outcome.usage.total.cache_hits,
            outcome.usage.total.input_tokens,
            outcome.usage.total.output_tokens,
            outcome.elapsed.as_secs_f64()
        );
        eprintln!("run log: {}  (hone show {})", log.display(), outcome.run_id);
        if let Some((passed, total)) = hidden {
            eprintln!("hidden tests (never seen during the search): {passed}/{total} passed");
        }
        eprintln!(
            "best answer ({verdict}; attempt {} of {} made, at most {}):",
            outcome.state.best_index().map(|i| i + 1).unwrap_or(0),
            outcome.state.attempts.len(),
            outcome.state.max_rounds
        );
        println!("{}", best.map(|a| a.answer.as_str()).unwrap_or(""));
    }
    if best.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub async fn solve(global: &Global, config: &ConfigFile, args: SolveArgs) -> Result<ExitCode> {
    let task = read_task(&args)?;
    let public_tests = read_public_tests(&args)?;
    let hidden_tests = match &args.hidden_tests {
        Some(path) => Some(read_check_suite(path, args.entry_point.as_deref())?),
        None => None,
    };
    if (public_tests.is_some() || hidden_tests.is_some()) && args.kind != Kind::Code {
        bail!("--tests, --asserts and --hidden-tests need --kind code");
    }
    let (model, _) = crate::models::build(global, config)?;
    let templates = crate::models::templates(global)?;
    let Strategy::SelfRefine = args.strategy;
    let meta = RunMeta {
        strategy: "self-refine".into(),
        temperature: args.temperature,
        max_tokens: args.max_tokens,
        model: model.descriptor().to_string(),
    };
    let harness = harness();
    let graph = self_refine_graph(RefineConfig {
        actor: model.clone(),
        critic: model,
        templates,
        temperature: meta.temperature,
        max_tokens: meta.max_tokens,
        harness: Some(harness.clone()),
    })?;
    let mut budget = Budget::unlimited();
    budget.max_model_calls = args.max_calls;
    if let Some(s) = args.max_seconds {
        if !(s.is_finite() && s > 0.0) {
            bail!("--max-seconds must be a positive number, got {s}");
        }
        budget.max_wall_time = Some(Duration::from_secs_f64(s));
    }
    let run_id = args.run_id.clone().unwrap_or_else(new_run_id);
    let dir = crate::cli::runs_dir(global, config);
    let log = dir.join(format!("{run_id}.jsonl"));
    if log.exists() {
        bail!(
            "run {run_id} already exists at {}: use `hone resume {run_id}` or another --run-id",
            log.display()
        );
    }
    let kind = match args.kind {
        Kind::Text => TaskKind::Text,
        Kind::Math => TaskKind::Math,
        Kind::Code => TaskKind::Code,
    };
    let (events, printer) = spawn_printer(args.quiet || args.json);
    let options = RunOptions::default()
        .with_run_id(run_id)
        .with_log(&log)
        .with_budget(budget)
        .with_events(events)
        .with_meta(serde_json::to_value(&meta)?);
    let mut state = RefineState::new(task, kind, args.max_rounds);
    if let Some(tests) = public_tests {
        state = state.with_public_tests(tests);
    }
    let outcome = graph.run(state, options).await?;
    let _ = printer.await;
    // Only now, with the search over, do the hidden tests run.
    let hidden = match &hidden_tests {
        Some(suite) => Some(score_hidden(&harness, &outcome, suite).await?),
        None => None,
    };
    Ok(report(&outcome, &log, args.json, hidden))
}

pub async fn resume(global: &Global, config: &ConfigFile, args: ResumeArgs) -> Result<ExitCode> {
    let log = log_path(global, config, &args.run)?;
    let summary = read_run_log(&log)?;
    let meta: RunMeta = serde_json::from_value(summary.meta.clone()).with_context(|| {
        format!(
            "{} was not written by `hone solve` (its header has no solve settings)",
            log.display()
        )
    })?;
    if meta.strategy != "self-refine" {
        bail!(
            "run uses strategy {:?}, which this build cannot resume",
            meta.strategy
        );
    }
    let (model, _) = crate::models::build(global, config)?;
    let now = model.descriptor().to_string();
    if now != meta.model {
        eprintln!("warning: the run used {}, resuming with {now}", meta.model);
    }
    let graph = self_refine_graph(RefineConfig {
        actor: model.clone(),
        critic: model,
        templates: crate::models::templates(global)?,
        temperature: meta.temperature,
        max_tokens: meta.max_tokens,
        harness: Some(harness()),
    })?;
    let (events, printer) = spawn_printer(args.quiet || args.json);
    let outcome = graph
        .resume(&log, RunOptions::default().with_events(events))
        .await?;
    let _ = printer.await;
    Ok(report(&outcome, &log, args.json, None))
}
