//! `hone show` and `hone runs`.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use hone_agents::mcts::MctsState;
use hone_core::config::ConfigFile;
use hone_core::graph::{read_run_log, LogRecord};

use crate::cli::{Global, ShowArgs};

fn short(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    }
}

pub fn show(global: &Global, config: &ConfigFile, args: &ShowArgs) -> Result<ExitCode> {
    let path = crate::solve::log_path(global, config, &args.run)?;
    if args.json {
        let summary = read_run_log(&path)?;
        println!("{}", serde_json::to_string_pretty(&summary.records)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(&path)?);
    Ok(ExitCode::SUCCESS)
}

/// A run log as `hone show` prints it (also embedded in `hone bench
/// report --html`).
pub fn render(path: &Path) -> Result<String> {
    let mut out = String::new();
    let summary = read_run_log(path)?;
    writeln!(
        out,
        "run {} ({}), log {}",
        summary.run_id,
        summary.graph,
        path.display()
    )?;
    if !summary.meta.is_null() {
        writeln!(out, "settings: {}", summary.meta)?;
    }
    let mut last_state = None;
    for record in &summary.records {
        match record {
            LogRecord::Header { initial, .. } => {
                if let Some(task) = initial.get("task").and_then(|t| t.as_str()) {
                    writeln!(out, "task: {}", short(task, 200))?;
                }
            }
            LogRecord::Started { .. } => {}
            LogRecord::Finished {
                step,
                node,
                output,
                usage,
                ..
            } => {
                let calls: u64 = usage.values().map(|u| u.calls).sum();
                let detail =
                    if let Some(programs) = output.get("programs").and_then(|p| p.as_array()) {
                        let latest = programs
                            .last()
                            .map(|p| {
                                format!(
                                    ", latest {}/{} public tests (value {:.3})",
                                    p["tests"]["passed"],
                                    p["tests"]["total"],
                                    p["value"].as_f64().unwrap_or_default()
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "rollout {}: {} states, {} programs{latest}",
                            output["rollouts"],
                            output["decisions"].as_array().map_or(0, Vec::len),
                            programs.len()
                        )
                    } else {
                        output
                            .get("attempts")
                            .and_then(|a| a.as_array())
                            .and_then(|a| a.last())
                            .map(|a| match node.as_str() {
                                "critic" => format!(
                                    "verdict {}: {}",
                                    a["verdict"].as_str().unwrap_or("?"),
                                    short(a["critique"].as_str().unwrap_or_default(), 100)
                                ),
                                "verify" => verify_detail(a),
                                _ => short(a["answer"].as_str().unwrap_or_default(), 100),
                            })
                            .unwrap_or_default()
                    };
                writeln!(out, "[{step:>3}] {node:<10} {calls} call(s)  {detail}")?;
                last_state = Some(output.clone());
            }
            LogRecord::Failed { step, node, error } => {
                writeln!(out, "[{step:>3}] {node:<10} FAILED: {error}")?
            }
            LogRecord::Parallel { nodes, .. } => {
                writeln!(out, "      fan-out: {}", nodes.join(", "))?
            }
            LogRecord::Merged { .. } => writeln!(out, "      merged")?,
            LogRecord::Ended { stop, state, steps } => {
                writeln!(out, "ended after {steps} steps: {stop}")?;
                last_state = Some(state.clone());
            }
        }
    }
    if summary.stop.is_none() {
        writeln!(
            out,
            "(the run did not end: `hone resume {}` continues it)",
            summary.run_id
        )?;
    }
    let totals = summary.usage.values().fold((0, 0, 0), |acc, u| {
        (
            acc.0 + u.calls,
            acc.1 + u.input_tokens,
            acc.2 + u.output_tokens,
        )
    });
    writeln!(
        out,
        "usage: {} model calls, {} input / {} output tokens",
        totals.0, totals.1, totals.2
    )?;
    // A RethinkMCTS state: show its final pick, ranked by the search's own rule.
    let search = last_state
        .as_ref()
        .filter(|s| s.get("programs").is_some())
        .and_then(|s| serde_json::from_value::<MctsState>(s.clone()).ok());
    if let Some(best) = search.as_ref().and_then(MctsState::best_program) {
        writeln!(
            out,
            "\nbest program ({}/{} public tests, value {:.3}):\n{}",
            best.tests.passed, best.tests.total, best.value, best.answer
        )?;
    } else if let Some(answer) = last_state.as_ref().and_then(|s| {
        s.get("attempts")
            .and_then(|a| a.as_array())
            .and_then(|a| a.last())
            .and_then(|a| a["answer"].as_str().map(str::to_string))
    }) {
        writeln!(out, "\nlatest answer:\n{answer}")?;
    }
    Ok(out)
}

/// What a `verify` step found for an attempt: its verifier's evidence.
fn verify_detail(attempt: &serde_json::Value) -> String {
    let Some(e) = attempt.get("evidence").filter(|v| !v.is_null()) else {
        return "nothing to check".to_string();
    };
    match e["verifier"].as_str().unwrap_or_default() {
        "public_tests" => format!("public tests {}/{} passed", e["passed"], e["total"]),
        "checklist" => format!("requirements {}/{} met", e["passed"], e["total"]),
        "final_answer" => format!(
            "final answer: {}",
            short(
                e["details"]["final_answer"].as_str().unwrap_or_default(),
                60
            )
        ),
        name if e["verdict"].is_null() => {
            format!(
                "{name}: {}",
                short(e["feedback"].as_str().unwrap_or_default(), 60)
            )
        }
        name => format!("{name}: {}/{} passed", e["passed"], e["total"]),
    }
}

pub fn list(global: &Global, config: &ConfigFile) -> Result<ExitCode> {
    let dir = crate::cli::runs_dir(global, config);
    let mut entries: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no runs in {}", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    entries.sort();
    for path in entries {
        match read_run_log(&path) {
            Ok(s) => println!(
                "{:<24} {:<12} {}",
                s.run_id,
                s.graph,
                s.stop
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "interrupted (resumable)".into())
            ),
            Err(e) => println!("{:<24} unreadable: {e}", path.display()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
