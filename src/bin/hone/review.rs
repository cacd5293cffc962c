//! `hone review`: read a change, run the review graph, print or post what
//! survives.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hone_core::config::ConfigFile;
use hone_core::graph::{new_run_id, read_run_log, RunEvent, RunOptions, StopReason};
use hone_review::anchor::OutsideDiff;
use hone_review::change::Change;
use hone_review::chunk::{chunks, FileFilter};
use hone_review::finding::Severity;
use hone_review::pipeline::{
    graph, ReviewInput, ReviewOptions, ReviewState, Reviewer, DEFAULT_MIN_SCORE,
};
use hone_review::{diff, format, git};
use hone_sandbox::{Sandbox, SandboxConfig};

use crate::cli::{FailOn, Global, ReviewArgs, ReviewFormat};

/// Reads the change the arguments name.
fn read_change(args: &ReviewArgs) -> Result<(Change, Option<String>)> {
    if let Some(source) = &args.diff {
        let text = if source == "-" {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .context("reading the diff from stdin")?;
            t
        } else {
            std::fs::read_to_string(source).with_context(|| format!("reading the diff {source}"))?
        };
        let change = diff::parse_unified(&text).with_context(|| format!("the diff {source}"))?;
        let change = match &args.root {
            Some(root) => diff::with_root(change, root)?,
            None => change,
        };
        return Ok((change, None));
    }
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let (change, revs) =
        git::change_in_repository(&dir, args.base.as_deref(), args.head.as_deref())?;
    Ok((change, revs.head))
}

fn progress(event: &RunEvent) {
    if let RunEvent::Custom { kind, data, .. } = event {
        let line = match kind.as_str() {
            "review.proposed" => format!(
                "chunk {}/{}: {} finding(s) proposed",
                data["chunk"].as_u64().unwrap_or(0) + 1,
                data["of"],
                data["findings"]
            ),
            "review.malformed" => format!(
                "chunk {}/{}: the actor's answer was unusable twice; counted, moving on",
                data["chunk"].as_u64().unwrap_or(0) + 1,
                data["of"]
            ),
            "review.test" => format!(
                "test of {}: {} on the new code",
                data["fingerprint"].as_str().unwrap_or("?"),
                data["new"]["kind"].as_str().unwrap_or("?")
            ),
            "review.score" => format!(
                "critic: {} scores {}",
                data["fingerprint"].as_str().unwrap_or("?"),
                data["score"]
            ),
            "review.unscored" => format!(
                "critic: {} unscored ({})",
                data["fingerprint"].as_str().unwrap_or("?"),
                data["error"].as_str().unwrap_or("?")
            ),
            _ => return,
        };
        eprintln!("  {line}");
    }
}

/// The change and chunks a review's log keeps in its header (taken out of
/// `meta`: it is the log's largest field).
fn input_of_log(meta: &mut serde_json::Value) -> Result<ReviewInput> {
    let input = meta
        .get_mut("input")
        .map(serde_json::Value::take)
        .filter(|v| !v.is_null())
        .context(
            "the log's header has no review input (`meta.input`); it was written by an older hone: review the change again under a new --run-id",
        )?;
    serde_json::from_value(input).context("the log's header field `meta.input`")
}

pub async fn review(global: &Global, config: &ConfigFile, args: ReviewArgs) -> Result<ExitCode> {
    let min_score = args.min_score.unwrap_or(DEFAULT_MIN_SCORE);
    if min_score > 10 {
        bail!("--min-score is 0-10, got {min_score}");
    }
    if args.post.as_deref().is_some_and(|p| p != "github") {
        bail!("--post: only `github` is supported");
    }
    let outside_diff = OutsideDiff::parse(&args.outside_diff).map_err(anyhow::Error::msg)?;
    let run_id = args.run_id.clone().unwrap_or_else(new_run_id);
    let log = crate::cli::runs_dir(global, config).join(format!("{run_id}.jsonl"));
    let quiet = args.quiet;
    // The model is loaded only when there is something to review: an empty
    // change still prints (and posts, which resolves stale comments).
    // The input goes into the log once, in its header, so the log alone
    // resumes or reprints the review (`--run-id`).
    let run_graph = |input: Arc<ReviewInput>, state: Option<ReviewState>, head: Option<String>| {
        let log = log.clone();
        let run_id = run_id.clone();
        async move {
            let (model, _) = crate::models::build(global, config)?;
            let templates = crate::models::templates(global)?;
            let reviewer = Reviewer {
                model,
                templates,
                sandbox: Sandbox::new(SandboxConfig::default()),
            };
            let graph = graph(reviewer, input.clone())?;
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<RunEvent>();
            let printer = tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    if !quiet {
                        progress(&event);
                    }
                }
            });
            let outcome = match state {
                None => {
                    graph
                        .resume(&log, RunOptions::default().with_events(tx))
                        .await?
                }
                Some(state) => {
                    let options = RunOptions::default()
                        .with_run_id(run_id.clone())
                        .with_log(&log)
                        .with_events(tx)
                        .with_meta(serde_json::json!({
                            "command": "review", "head": head, "input": input.as_ref(),
                        }));
                    graph.run(state, options).await?
                }
            };
            let _ = printer.await;
            if let StopReason::NodeFailed { node, error } = &outcome.stop {
                bail!(
                    "the review stopped at {node}: {error}; `hone review --run-id {run_id}` resumes it ({})",
                    log.display()
                );
            }
            anyhow::Ok(outcome.state)
        }
    };
    let (final_state, head) = if let Ok(mut summary) = read_run_log(&log) {
        if !quiet {
            eprintln!("hone review: resuming run {run_id} ({})", log.display());
        }
        let input = input_of_log(&mut summary.meta)
            .with_context(|| format!("resuming the review in {}", log.display()))?;
        let head = summary.meta["head"].as_str().map(str::to_string);
        (run_graph(Arc::new(input), None, head.clone()).await?, head)
    } else {
        let (change, head) = read_change(&args)?;
        let filter = FileFilter::new(&args.include, &args.exclude)?;
        let pieces = chunks(&change, &filter, args.chunk_chars.max(500));
        let options = ReviewOptions {
            critic: !args.no_critic,
            execution: !args.no_execution,
            min_score,
            keep_unscored: args.keep_unscored,
            outside_diff,
            max_per_file: args.max_per_file,
            max_findings: args.max_findings,
            max_tokens: args.max_tokens,
            ..ReviewOptions::default()
        };
        let input = Arc::new(ReviewInput::new(change, pieces));
        let state = ReviewState::new(&input, options);
        let (added, removed) = input.change.line_counts();
        if !quiet {
            eprintln!(
                "hone review: {} file(s) changed (+{added} -{removed}), {} reviewed in {} chunk(s); run {run_id}",
                input.change.files.len(),
                state.reviewed_files(),
                input.chunks.len()
            );
        }
        if input.chunks.is_empty() {
            (state, head)
        } else {
            if let Some(dir) = log.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            (run_graph(input, Some(state), head.clone()).await?, head)
        }
    };
    let state = &final_state;
    let format = if args.json {
        ReviewFormat::Json
    } else {
        args.format
    };
    let text = match format {
        ReviewFormat::Terminal => format::terminal(state),
        ReviewFormat::Json => format::json(state),
        ReviewFormat::GithubReview => {
            serde_json::to_string_pretty(&format::github_review(state, head.as_deref()))?
        }
        ReviewFormat::Sarif => serde_json::to_string_pretty(&format::sarif(state))?,
        ReviewFormat::Rdjsonl => format::rdjsonl(state),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    if args.post.is_some() {
        let env = hone_review::github::ActionsEnv::from_env()?;
        let posted = hone_review::github::post(&env, state).await?;
        eprintln!("{posted}");
    }
    let worst = state.posted().map(|f| f.proposed.severity).max();
    let fail = match (args.fail_on, worst) {
        (Some(FailOn::Error), Some(w)) => w >= Severity::Error,
        (Some(FailOn::Warning), Some(w)) => w >= Severity::Warning,
        _ => false,
    };
    // 1 and 2 are taken: any error (main.rs) and usage (clap).
    Ok(if fail {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
