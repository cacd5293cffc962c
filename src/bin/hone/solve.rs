//! `hone solve` and `hone resume`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hone_agents::checklist::parse_requirements;
use hone_agents::events::AgentEvent;
use hone_agents::evidence::Evidence;
use hone_agents::header::{RunHeader, RunSettings, Search};
use hone_agents::mcts::{MctsSettings, MctsState, RethinkMode, SelfEvalScale};
use hone_agents::outcome::{AfterSearch, RunSummary, Scores};
use hone_agents::refine::{RefineConfig, RefineState, TaskKind};
use hone_core::config::ConfigFile;
use hone_core::graph::{new_run_id, RunEvent, RunOptions, StopReason};
use hone_core::Budget;
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

use crate::cli::{
    Global, Kind, ResumeArgs, Rethink, SelfEvalScaleArg, SolveArgs, Strategy, StrategyArgs,
};

/// Exit codes of `hone solve` and `hone resume` (documented in README.md).
/// 1 is any error before or around the run (main.rs); clap uses 2 for
/// usage errors.
mod exit {
    /// The answer is verified (tests pass, requirements met, or the critic
    /// accepts).
    pub const VERIFIED: u8 = 0;
    /// The run ended on its own, but its best answer is not verified.
    pub const UNVERIFIED: u8 = 3;
    /// A budget (calls, tokens, wall time) stopped the run before an answer
    /// was verified; the best answer so far is printed.
    pub const BUDGET: u8 = 4;
    /// A step failed (e.g. the model endpoint kept failing); the best answer
    /// so far, if any, is printed.
    pub const FAILED: u8 = 5;
}

/// Rejects a `--run-id` that would put the log outside the runs directory.
fn check_run_id(id: &str) -> Result<()> {
    let plain = !id.is_empty()
        && !id.contains("..")
        && !id.contains(['/', '\\', ':'])
        && !id.chars().any(char::is_control)
        && !Path::new(id).is_absolute();
    if !plain {
        bail!(
            "--run-id {id:?} is not a plain name: it names the log file inside the runs \
             directory, so it cannot be empty, contain \"..\", a path separator or \":\", \
             or be an absolute path"
        );
    }
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
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

/// The sandbox (the guests load lazily, on first use).
fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default())
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
            if let Some(agent) = AgentEvent::from_run_event(&event) {
                print_agent_event(&agent);
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
                RunEvent::Custom { kind, data, .. } => eprintln!("    {kind}: {data}"),
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

/// Prints what an agent did, for `hone solve`'s progress output.
fn print_agent_event(event: &AgentEvent) {
    match event {
        AgentEvent::Attempt { round, answer } => {
            eprintln!("    attempt {round}:\n{}", indent(answer))
        }
        AgentEvent::Evidence { round, evidence } => eprintln!("{}", evidence_line(*round, evidence)),
        AgentEvent::Critique {
            round,
            verdict,
            critique,
        } => eprintln!(
            "    critique of attempt {round} (verdict {}):\n{}",
            serde_json::to_value(verdict).unwrap_or_default(),
            indent(critique)
        ),
        AgentEvent::Stuck { round, temperature } => eprintln!(
            "    the last attempt repeated an earlier one; attempt {round} is sampled at temperature {temperature}"
        ),
        AgentEvent::Sampling {
            samples,
            temperature,
            after_failed_first: true,
        } => eprintln!(
            "    attempt 1 did not pass its checks: drawing {samples} more at temperature {temperature}; the checks pick the best"
        ),
        AgentEvent::Sampling {
            samples,
            temperature,
            ..
        } => eprintln!("    drawing {samples} answers at temperature {temperature}"),
        AgentEvent::Reflection { trial, reflection } => {
            eprintln!("    reflection after trial {trial}:\n{}", indent(reflection))
        }
        AgentEvent::Rubric { sample, score, .. } => eprintln!(
            "    rubric score of sample {sample}: {}",
            score.map_or("none".to_string(), |s| s.to_string())
        ),
        AgentEvent::Selected { sample, of } => eprintln!(
            "    selected sample {} of {of}",
            sample.map_or("none".to_string(), |s| s.to_string())
        ),
        AgentEvent::Expand {
            depth,
            thoughts,
            malformed,
            after_failure,
            ..
        } => {
            eprintln!(
                "    expand at depth {depth}{}{}:",
                if *after_failure { " (after a failure)" } else { "" },
                if *malformed { " (malformed reply, fallback)" } else { "" }
            );
            for t in thoughts {
                eprintln!("      P={:.2}  {}", t.prior, t.thought);
            }
        }
        AgentEvent::Program {
            program,
            depth,
            rethought,
            passed,
            total,
            value,
            feedback,
            ..
        } => eprintln!(
            "    program {program} (depth {depth}{}): {passed}/{total} public tests, value {value:.3}{}",
            if *rethought { ", rethought" } else { "" },
            if passed == total {
                String::new()
            } else {
                format!("\n{}", indent(feedback))
            }
        ),
        AgentEvent::Rethink {
            position, old, new, ..
        } => eprintln!("    rethink thought {position}: {old:?} -> {new:?}"),
        AgentEvent::Tree {
            rollout,
            states,
            thoughts,
            programs,
            leaf_depth,
            value,
            best_pass_fraction,
        } => eprintln!(
            "    rollout {rollout} done: {states} states, {thoughts} thoughts, {programs} programs, leaf depth {leaf_depth}, value {value:.3}, best public pass {:.2}",
            best_pass_fraction.unwrap_or_default()
        ),
        other => eprintln!(
            "    {}: {}",
            other.kind(),
            serde_json::to_value(other).unwrap_or_default()
        ),
    }
}

/// One progress line (and the feedback, when it matters) for a verifier's
/// evidence.
fn evidence_line(round: usize, e: &Evidence) -> String {
    let feedback = indent(&e.feedback);
    match e.verifier.as_str() {
        "public_tests" if e.total == 0 && e.verdict == Some(false) => format!(
            "    public tests of attempt {round}: none ran (the program failed first)\n{feedback}"
        ),
        "public_tests" => format!(
            "    public tests of attempt {round}: {}/{} passed{}",
            e.passed,
            e.total,
            if e.verdict == Some(true) {
                String::new()
            } else {
                format!("\n{feedback}")
            }
        ),
        "final_answer" => format!(
            "    final answer of attempt {round}: {}",
            e.details["final_answer"]
                .as_str()
                .filter(|a| !a.is_empty())
                .unwrap_or("(none found)")
        ),
        "checklist" => format!(
            "    requirements of attempt {round}: {}/{} met\n{feedback}",
            e.passed, e.total
        ),
        name => match e.verdict {
            Some(v) => format!(
                "    {name} on attempt {round}: {}/{} passed{}\n{feedback}",
                e.passed,
                e.total,
                if v { ", verified" } else { "" }
            ),
            None => format!("    {name} on attempt {round}:\n{feedback}"),
        },
    }
}

fn report(view: &RunSummary, log: &std::path::Path, json: bool, scores: &Scores) -> ExitCode {
    if json {
        let value = serde_json::json!({
            "run_id": view.run_id,
            "strategy": view.strategy,
            "stop": view.stop,
            "budget_stop": view.budget_note,
            "verified": view.verified,
            "answer": view.answer,
            "search": view.detail,
            "steps": view.steps,
            "node_runs": view.node_runs,
            "usage": view.usage,
            "elapsed_ms": view.elapsed.as_millis() as u64,
            "log": log,
            "hidden_tests": scores.hidden_tests,
            "reference_check": scores.reference_check,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        let total = &view.usage.total;
        eprintln!(
            "\nstopped: {}{} after {} steps, {} model calls ({} cached), {} in / {} out tokens, {:.1}s",
            view.stop,
            view.budget_note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            view.steps,
            total.calls,
            total.cache_hits,
            total.input_tokens,
            total.output_tokens,
            view.elapsed.as_secs_f64()
        );
        eprintln!("run log: {}  (hone show {})", log.display(), view.run_id);
        if let Some(h) = &scores.hidden_tests {
            eprintln!(
                "hidden tests (never seen during the search): {} ({}/{} tests passed{})",
                if h.passed { "PASSED" } else { "FAILED" },
                h.tests_passed,
                h.tests_total,
                Some(h.detail.as_str())
                    .filter(|d| !d.is_empty())
                    .map(|d| format!("; {d}"))
                    .unwrap_or_default()
            );
        }
        if let Some(r) = &scores.reference_check {
            eprintln!(
                "reference answer {} (never seen during the search): final answer {} is {}",
                serde_json::Value::from(r.reference.as_str()),
                serde_json::to_value(&r.final_answer).unwrap_or_default(),
                if r.correct { "correct" } else { "not correct" }
            );
        }
        eprintln!(
            "best answer ({}; {} strategy, {}):",
            view.judged, view.strategy, view.position
        );
        println!("{}", view.answer.as_deref().unwrap_or(""));
    }
    ExitCode::from(exit_code(view))
}

/// The exit code of a finished `solve` or `resume` (see [`exit`]).
fn exit_code(view: &RunSummary) -> u8 {
    if view.answer.is_some() && view.verified {
        return exit::VERIFIED;
    }
    if view.stopped_by_budget() {
        return exit::BUDGET;
    }
    match &view.stop {
        StopReason::Finished => exit::UNVERIFIED,
        _ => exit::FAILED,
    }
}

fn task_kind(kind: Kind) -> TaskKind {
    match kind {
        Kind::Text => TaskKind::Text,
        Kind::Math => TaskKind::Math,
        Kind::Code => TaskKind::Code,
        Kind::Design => TaskKind::Design,
    }
}

fn read_requirements(args: &SolveArgs, task: &str) -> Result<Vec<String>> {
    if let Some(path) = &args.requirements {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the requirements from {}", path.display()))?;
        let list: Vec<String> = text
            .lines()
            .map(|l| l.trim().trim_start_matches(['-', '*']).trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if list.is_empty() {
            bail!("{}: no requirements (one per line)", path.display());
        }
        return Ok(list);
    }
    Ok(parse_requirements(task))
}

/// Most generated tokens per call when `--max-tokens` is not given.
pub const DEFAULT_MAX_TOKENS: u32 = 768;

/// The run-log header of a run with these strategy flags on `model`.
pub fn run_header(args: &StrategyArgs, model: &str) -> RunHeader {
    RunHeader {
        strategy: args.chosen().name().into(),
        temperature: args.temperature,
        max_tokens: args.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        model: model.to_string(),
        n: args.n,
        sample_temperature: args.sample_temperature,
        greedy_first: args.greedy_first,
        memory: args.memory,
        critic: args.critic.policy(),
        stuck_temperature: args.stuck_temperature.0,
        draw: 0,
        settings: None,
    }
}

/// RethinkMCTS's settings from the strategy flags, checked.
pub fn mcts_settings(args: &StrategyArgs) -> Result<MctsSettings> {
    for (name, value) in [
        ("--c0", args.c0),
        ("--base", args.base),
        ("--gamma", args.gamma),
    ] {
        if !(value.is_finite() && value > 0.0) {
            bail!("{name} must be a positive number, got {value}");
        }
    }
    if args.width == 0 || args.rollouts == 0 || args.max_think == 0 || args.max_depth == 0 {
        bail!("--width, --rollouts, --max-think and --max-depth must be at least 1");
    }
    Ok(MctsSettings {
        rollouts: args.rollouts,
        width: args.width,
        c0: args.c0,
        base: args.base,
        gamma: args.gamma,
        max_think: args.max_think,
        rethink: match args.rethink {
            Rethink::Last => RethinkMode::Last,
            Rethink::Any => RethinkMode::Any,
            Rethink::Off => RethinkMode::Off,
        },
        stop_on_pass: !args.keep_searching,
        temperature: args.temperature,
        max_depth: args.max_depth,
        self_eval_scale: match args.self_eval_scale {
            SelfEvalScaleArg::Signed => SelfEvalScale::Signed,
            SelfEvalScaleArg::Unit => SelfEvalScale::Unit,
        },
        trace: args.trace,
        evaluate_root: args.evaluate_root,
        ..MctsSettings::default()
    })
}

pub async fn solve(global: &Global, config: &ConfigFile, args: SolveArgs) -> Result<ExitCode> {
    if let Some(id) = &args.run_id {
        check_run_id(id)?;
    }
    let task = read_task(&args)?;
    let public_tests = read_public_tests(&args)?;
    let hidden_tests = match &args.hidden_tests {
        Some(path) => Some(read_check_suite(path, args.entry_point.as_deref())?),
        None => None,
    };
    if (public_tests.is_some() || hidden_tests.is_some()) && args.kind != Kind::Code {
        bail!("--tests, --asserts and --hidden-tests need --kind code");
    }
    if args.reference.is_some() && args.kind != Kind::Math {
        bail!("--reference needs --kind math");
    }
    if args.requirements.is_some() && args.kind != Kind::Design {
        bail!("--requirements needs --kind design");
    }
    // The default strategy, by measurement: with this model, sampling
    // fresh answers fixed code its tests failed where refining it did not.
    let mut args = args;
    args.strategy
        .strategy
        .get_or_insert(if public_tests.is_some() {
            Strategy::BestOfN
        } else {
            Strategy::SelfRefine
        });
    if args.strategy.chosen() == Strategy::RethinkMcts
        && (args.kind != Kind::Code || public_tests.is_none())
    {
        bail!("--strategy rethink-mcts searches code against public tests: it needs --kind code and --tests or --asserts");
    }
    if args.strategy.n == 0 {
        bail!("--n must be at least 1");
    }
    let requirements = if args.kind == Kind::Design {
        let list = read_requirements(&args, &task)?;
        if list.is_empty() && !args.quiet {
            eprintln!("note: the brief lists no requirements (a \"Requirements:\" heading with a bulleted list, or --requirements FILE); the critic alone judges the design");
        }
        list
    } else {
        Vec::new()
    };
    let mcts = if args.strategy.chosen() == Strategy::RethinkMcts {
        Some(mcts_settings(&args.strategy)?)
    } else {
        None
    };
    let settings = RunSettings {
        hidden_tests: args.hidden_tests.as_deref().map(absolute).transpose()?,
        entry_point: args.entry_point.clone(),
        reference: args.reference.clone(),
        templates: global.templates.as_deref().map(absolute).transpose()?,
        cache: crate::models::cache_setting(global, config)?
            .as_deref()
            .map(absolute)
            .transpose()?,
    };
    let (model, _) = crate::models::build_with_cache(global, config, settings.cache.as_deref())?;
    let templates = crate::models::templates_from(settings.templates.as_deref())?;
    let meta = RunHeader {
        settings: Some(settings),
        draw: args.draw,
        ..run_header(&args.strategy, &model.descriptor().to_string())
    };
    let sandbox = sandbox();
    let harness = Arc::new(Harness::new(sandbox.clone()));
    let search = meta.search(RefineConfig::new(model, templates).with_harness(harness.clone()))?;
    let mut budget = Budget::unlimited();
    budget.max_model_calls = args.strategy.max_calls;
    if let Some(s) = args.strategy.max_seconds {
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
    let (events, printer) = spawn_printer(args.quiet || args.json);
    let options = RunOptions::default()
        .with_run_id(run_id)
        .with_log(&log)
        .with_budget(budget)
        .with_events(events)
        .with_meta(meta.to_meta());
    let view = match search {
        Search::Linear { graph, .. } => {
            let mut state = RefineState::new(task, task_kind(args.kind), args.strategy.max_rounds)
                .with_requirements(requirements);
            if let Some(tests) = public_tests {
                state = state.with_public_tests(tests);
            }
            RunSummary::of_linear(&meta.strategy, &graph.run(state, options).await?)
        }
        Search::Mcts(graph) => {
            let (Some(tests), Some(settings)) = (public_tests, mcts) else {
                bail!("rethink-mcts needs public tests");
            };
            RunSummary::of_mcts(
                &graph
                    .run(MctsState::new(task, tests, settings), options)
                    .await?,
            )
        }
    };
    let scoring = Scoring {
        harness: &harness,
        hidden_tests: hidden_tests.as_ref(),
        reference: args.reference.as_deref(),
    };
    finish(view, printer, scoring, &log, args.json).await
}

pub async fn resume(global: &Global, config: &ConfigFile, args: ResumeArgs) -> Result<ExitCode> {
    let log = log_path(global, config, &args.run)?;
    let meta = RunHeader::read(&log)?;
    let settings = resume_settings(global, config, meta.settings.clone())?;
    // Read before resuming, so a missing file stops us before any work.
    let hidden_tests = match &settings.hidden_tests {
        Some(path) => Some(
            read_check_suite(path, settings.entry_point.as_deref())
                .context("the run is scored on hidden tests, which a resume scores again")?,
        ),
        None => None,
    };
    let (model, _) = crate::models::build_with_cache(global, config, settings.cache.as_deref())?;
    let now = model.descriptor().to_string();
    if now != meta.model {
        eprintln!("warning: the run used {}, resuming with {now}", meta.model);
    }
    let sandbox = sandbox();
    let harness = Arc::new(Harness::new(sandbox.clone()));
    let search = meta.search(
        RefineConfig::new(
            model,
            crate::models::templates_from(settings.templates.as_deref())?,
        )
        .with_harness(harness.clone()),
    )?;
    let (events, printer) = spawn_printer(args.quiet || args.json);
    let options = RunOptions::default().with_events(events);
    let view = search.resume(&log, options).await?;
    let scoring = Scoring {
        harness: &harness,
        hidden_tests: hidden_tests.as_ref(),
        reference: settings.reference.as_deref(),
    };
    finish(view, printer, scoring, &log, args.json).await
}

/// How a run is scored once its search is over (hidden tests, reference).
struct Scoring<'a> {
    harness: &'a Harness,
    hidden_tests: Option<&'a TestSuite>,
    reference: Option<&'a str>,
}

/// What `solve` and `resume` do after the search: wait for the progress
/// printer, score, report.
async fn finish(
    view: RunSummary,
    printer: tokio::task::JoinHandle<()>,
    scoring: Scoring<'_>,
    log: &std::path::Path,
    json: bool,
) -> Result<ExitCode> {
    let _ = printer.await;
    // Only now, with the search over, do the hidden tests and the reference
    // come into play.
    let mut after = AfterSearch::new(scoring.harness);
    if let Some(suite) = scoring.hidden_tests {
        after = after.hidden_tests(suite);
    }
    if let Some(reference) = scoring.reference {
        after = after.reference(reference);
    }
    let scores = after.score(view.answer.as_deref()).await?;
    Ok(report(&view, log, json, &scores))
}

/// The settings a resume uses: those recorded in the log, with a warning
/// for each flag of this command line that they override. A log from before
/// they were recorded takes this command line's templates and cache.
fn resume_settings(
    global: &Global,
    config: &ConfigFile,
    recorded: Option<RunSettings>,
) -> Result<RunSettings> {
    let templates = global.templates.as_deref().map(absolute).transpose()?;
    let cache = crate::models::cache_setting(global, config)?
        .as_deref()
        .map(absolute)
        .transpose()?;
    let Some(recorded) = recorded else {
        return Ok(RunSettings {
            templates,
            cache,
            ..RunSettings::default()
        });
    };
    let shown = |p: &Option<PathBuf>| match p {
        Some(p) => p.display().to_string(),
        None => "none".to_string(),
    };
    if global.templates.is_some() && templates != recorded.templates {
        eprintln!(
            "warning: --templates ignored: the run keeps the templates it started with ({})",
            match &recorded.templates {
                Some(dir) => format!("overrides from {}", dir.display()),
                None => "the built-in ones".to_string(),
            }
        );
    }
    if (global.no_cache || global.cache_dir.is_some()) && cache != recorded.cache {
        eprintln!(
            "warning: --no-cache/--cache-dir ignored: the run keeps its response cache ({})",
            shown(&recorded.cache)
        );
    }
    Ok(recorded)
}
