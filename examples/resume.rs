//! Kill a run half-way and resume it from its log: the resumed run skips
//! the steps already checkpointed and ends exactly as an uninterrupted one.
//!
//! `cargo run --example resume`

use std::path::Path;

use hone::core::graph::RunEvent;
use hone::prelude::*;

fn agent(model: Model) -> Result<Agent<SelfRefine>, AgentError> {
    SelfRefine::builder(model).max_rounds(3).build()
}

/// Starts a run logged to `log` and kills it once `steps` steps finished.
async fn run_and_kill(model: Model, log: &Path, steps: usize) -> Result<(), AgentError> {
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = RunOptions::default().with_log(log).with_events(tx);
    let agent = agent(model)?;
    let task = Task::math("A train covers 120 km in 1.5 hours. What is its average speed in km/h?");
    let run = tokio::spawn(async move { agent.run(task, options).await });
    let mut finished = 0;
    while let Some(event) = events.recv().await {
        if matches!(event, RunEvent::NodeFinished { .. }) {
            finished += 1;
            if finished == steps {
                run.abort(); // as if the process had been killed
                break;
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("hone-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("run.jsonl");
    let model = Model::from_env()?;
    run_and_kill(model.clone(), &log, 2).await?;
    let run = agent(model)?.resume(&log, RunOptions::default()).await?;
    println!(
        "resumed {}: {} after {} steps",
        log.display(),
        run.stop,
        run.steps
    );
    println!("{}", run.best().map_or("", |a| a.answer.as_str()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = "A train covers 120 km in 1.5 hours. What is its average speed in km/h?";
    const REPLIES: [&str; 4] = [
        "120 / 1.5 = 70\nFINAL ANSWER: 70",
        "120 / 1.5 is 80.\nVERDICT: INCORRECT",
        "120 / 1.5 = 80\nFINAL ANSWER: 80",
        "VERDICT: CORRECT",
    ];

    #[tokio::test]
    async fn a_killed_run_resumes_to_the_same_end() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("run.jsonl");
        let full = agent(Model::new(ScriptedModel::in_order(REPLIES))).unwrap();
        let full = full
            .run(Task::math(TASK), RunOptions::default().with_log(&log))
            .await
            .unwrap();
        // What a kill after two steps (actor, verify) leaves: the header and
        // the records up to the second finished step.
        let text = std::fs::read_to_string(&log).unwrap();
        let cut = text
            .match_indices("\"record\":\"finished\"")
            .nth(1)
            .unwrap()
            .0;
        let end = cut + text[cut..].find('\n').unwrap() + 1;
        std::fs::write(&log, &text[..end]).unwrap();
        // The resumed run asks only for what the first run had not finished.
        let rest = Model::new(ScriptedModel::in_order(REPLIES[1..].iter().copied()));
        let resumed = agent(rest)
            .unwrap()
            .resume(&log, RunOptions::default())
            .await
            .unwrap();
        assert!(resumed.stop.is_finished());
        assert_eq!(resumed.state.attempts, full.state.attempts);
        assert_eq!(resumed.best().unwrap().final_answer(), Some("80"));
    }
}
