//! A benchmark of your own, from Rust: a JSONL suite of questions run
//! through self-refine into a run directory (resumable: run it again and
//! finished items are skipped), scored by the host against the references
//! after each search, then summarised with a 95% interval.
//!
//! `cargo run --example bench_suite` (an endpoint from OPENAI_BASE_URL and
//! HONE_MODEL, else the embedded model). The same with the CLI:
//! `hone bench run questions.jsonl --strategy self-refine --out DIR`.

use std::path::Path;
use std::sync::Arc;

use hone::agents::header::RunHeader;
use hone::agents::refine::RefineConfig;
use hone::bench::item::Suite;
use hone::bench::results::{BenchHeader, RunDir};
use hone::bench::runner::{BenchRun, Progress};
use hone::bench::summary::{markdown_table, RunData};
use hone::prelude::*;

const QUESTIONS: &str = r#"{"id": "eggs", "question": "A hen lays 3 eggs a day. How many eggs does it lay in a week?", "reference": "21"}
{"id": "change", "question": "You pay 10 dollars for an item costing 6.75 dollars. How much change do you get?", "reference": "3.25"}
{"id": "prime", "question": "Which of these is prime?", "choices": ["21", "27", "29"], "reference": "C"}
"#;

/// Runs the suite into `out` and returns its summary table.
async fn run_suite(model: Model, out: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let suite = Suite::from_jsonl("questions", QUESTIONS, "questions.jsonl")?;
    let templates = Arc::new(hone::agents::templates::embedded());
    let strategy = RunHeader::new("self-refine", model.as_arc().descriptor().to_string());
    let header = BenchHeader::new(&suite, strategy).with_templates(&templates);
    let mut dir = RunDir::open(out, &header)?;
    let bench = BenchRun {
        config: RefineConfig::new(model.as_arc(), templates),
        header,
        jobs: 1,
        max_run_time: None,
    };
    bench
        .run(&suite.items, &mut dir, &|p| {
            if let Progress::Finished(r) = p {
                eprintln!(
                    "{}: {} in {} call(s)",
                    r.id,
                    if r.passed { "right" } else { "wrong" },
                    r.calls
                );
            }
        })
        .await?;
    Ok(markdown_table(&[RunData::read(out)?.summary()]))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::temp_dir().join("hone-bench-example");
    print!("{}", run_suite(Model::from_env()?, &out).await?);
    eprintln!("run directory: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_question_is_scored_against_its_reference() {
        // Right about the eggs and the prime; wrong about the change, and
        // the critic cannot talk it round.
        let model = ScriptedModel::new().with_rule(
            |_| true,
            |req| {
                let text = &req.messages[0].content;
                if text.contains("careful reviewer") {
                    "Looks right.\nVERDICT: CORRECT"
                } else if text.contains("eggs") {
                    "3 * 7 = 21.\nFINAL ANSWER: 21"
                } else if text.contains("prime") {
                    "29 has no divisors but 1 and itself.\nFINAL ANSWER: C"
                } else {
                    "10 - 6.75 = 3.35.\nFINAL ANSWER: 3.35"
                }
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let table = run_suite(Model::new(model), dir.path()).await.unwrap();
        assert!(table.contains("66.7% (2/3)"), "{table}");
        let run = RunData::read(dir.path()).unwrap();
        assert!(run.results["eggs"].passed && run.results["prime"].passed);
        assert!(!run.results["change"].passed);
    }
}
