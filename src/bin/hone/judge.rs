//! `hone judge`: the rubric critic and the order-swapping pairwise judge on
//! answers given as files.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use hone_agents::judge::{judge_pairwise, rubric_grade, Confidence, Rubric, Winner};
use hone_core::config::ConfigFile;
use hone_core::graph::NodeContext;
use hone_core::Budget;

use crate::cli::{Global, JudgeArgs};

fn read(path: &Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the {what} from {}", path.display()))?;
    if text.trim().is_empty() {
        anyhow::bail!("{}: the {what} is empty", path.display());
    }
    Ok(text)
}

pub async fn judge(global: &Global, config: &ConfigFile, args: &JudgeArgs) -> Result<ExitCode> {
    let task = read(&args.task, "task")?;
    let answer = read(&args.answer, "answer")?;
    let other = args
        .other
        .as_deref()
        .map(|p| read(p, "second answer"))
        .transpose()?;
    let reference = args
        .reference
        .as_deref()
        .map(|p| read(p, "reference answer"))
        .transpose()?;
    let (model, _) = crate::models::build(global, config)?;
    let templates = crate::models::templates(global)?;
    let ctx = NodeContext::detached(Budget::unlimited());
    match other {
        None => {
            let grade = rubric_grade(
                &ctx,
                &*model,
                &templates,
                &task,
                &answer,
                &Rubric::correctness(),
                reference.as_deref(),
                args.max_tokens,
            )
            .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&grade)?);
            } else {
                println!("{}", grade.feedback);
                match grade.score {
                    Some(score) => println!("\nscore: {score}/5"),
                    None => println!("\nscore: none (the grader gave no readable 1-5 score)"),
                }
            }
            Ok(if grade.malformed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(other) => {
            let j = judge_pairwise(
                &ctx,
                &*model,
                &templates,
                &task,
                &answer,
                &other,
                args.max_tokens,
            )
            .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&j)?);
            } else {
                let winner = match j.winner {
                    Winner::A => format!("A ({})", args.answer.display()),
                    Winner::B => format!(
                        "B ({})",
                        args.other
                            .as_deref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    ),
                    Winner::Tie => "tie".into(),
                };
                println!(
                    "A shown first: {:?}; B shown first: {:?} (un-swapped)",
                    j.first_order.winner(),
                    j.second_order.winner()
                );
                println!("preference for A: {:.2}; winner: {winner}", j.preference_a);
                if j.confidence == Confidence::Low {
                    println!(
                        "LOW CONFIDENCE: the two orders disagree{}; escalate to tests or a person",
                        if j.malformed > 0 {
                            " or a verdict was unreadable"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
