//! A benchmark protocol of your own, without touching hone's source: here
//! "answer, then re-check once", on your own items with your own checker,
//! built from the same public pieces `hone bench run realcritic` uses —
//! a graph per item (checkpointed, so a killed run resumes exactly), a run
//! directory with a header of your own (`DirHeader`), results the host
//! scores after the graph ends (the reference never enters a request), and
//! an interval for the score.
//!
//! `cargo run --example own_protocol` (an endpoint from OPENAI_BASE_URL and
//! HONE_MODEL, else the embedded model). Run it twice: the second run
//! finds every item recorded and calls no model.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use hone::bench::results::{read_results, DirHeader, ItemResult, RunDir};
use hone::bench::stats::wilson;
use hone::core::graph::{node_fn, GraphBuilder, NodeContext, NodeError, RunOptions};
use hone::core::{ChatRequest, LanguageModel, Message};
use hone::prelude::*;
use serde::{Deserialize, Serialize};

/// Your items: a question and the reference answer (an integer here).
const ITEMS: [(&str, &str, i64); 3] = [
    (
        "eggs",
        "A hen lays 3 eggs a day. How many eggs does it lay in a week?",
        21,
    ),
    (
        "legs",
        "How many legs do 4 chickens and 2 cows have together?",
        16,
    ),
    (
        "pages",
        "A book has 120 pages. You read 15 a day. After how many days are you done?",
        8,
    ),
];

/// What makes a run of this protocol a different run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    protocol: String,
    model: String,
}

impl DirHeader for Header {
    fn run_differences(&self, other: &Self) -> Vec<String> {
        let mut fields = Vec::new();
        if self.protocol != other.protocol {
            fields.push("protocol".to_string());
        }
        if self.model != other.model {
            fields.push("model".to_string());
        }
        fields
    }
}

/// The state of one item's run: what the model saw and said.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    question: String,
    answer: Option<String>,
    recheck: Option<String>,
}

async fn ask(
    model: &dyn LanguageModel,
    ctx: &NodeContext,
    messages: Vec<Message>,
) -> Result<String, NodeError> {
    let request = ChatRequest::new(messages)
        .with_temperature(0.0)
        .with_max_tokens(512);
    Ok(ctx
        .chat(model, &request)
        .await?
        .first_text()
        .trim()
        .to_string())
}

/// Your checker: the last integer of the text against the reference.
fn check(text: &str, reference: i64) -> bool {
    let last = text
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse::<i64>().ok())
        .next_back();
    last == Some(reference)
}

/// Runs every item not yet recorded in `out`; returns the summary line.
async fn run(
    model: Arc<dyn LanguageModel>,
    out: &Path,
) -> Result<String, Box<dyn std::error::Error>> {
    let header = Header {
        protocol: "answer-then-recheck/1".into(),
        model: model.descriptor().to_string(),
    };
    let mut dir = RunDir::open(out, &header)?;
    let (m1, m2) = (model.clone(), model.clone());
    // Prompts belong in templates (`Templates::render`); two short inline
    // ones keep this example in one file.
    let graph = GraphBuilder::<State>::new("answer-then-recheck")
        .node(
            "answer",
            node_fn(move |mut s: State, ctx| {
                let model = m1.clone();
                async move {
                    let q = format!("{}\nEnd with the answer as a number.", s.question);
                    s.answer = Some(ask(model.as_ref(), &ctx, vec![Message::user(q)]).await?);
                    Ok(s)
                }
            }),
        )
        .node(
            "recheck",
            node_fn(move |mut s: State, ctx| {
                let model = m2.clone();
                async move {
                    let messages = vec![
                        Message::user(s.question.clone()),
                        Message::assistant(s.answer.clone().unwrap_or_default()),
                        Message::user("Check that answer step by step; end with the final number."),
                    ];
                    s.recheck = Some(ask(model.as_ref(), &ctx, messages).await?);
                    Ok(s)
                }
            }),
        )
        .edge("answer", "recheck")
        .entry("answer")
        .build()?;
    for (id, question, reference) in ITEMS {
        if dir.is_done(id, 0) {
            continue;
        }
        let started = Instant::now();
        let log_name = RunDir::log_of(id, 0);
        let log = out.join(&log_name);
        let outcome = if hone::core::graph::read_run_log(&log).is_ok() {
            graph.resume(&log, RunOptions::default()).await?
        } else {
            let state = State {
                question: question.into(),
                answer: None,
                recheck: None,
            };
            graph
                .run(state, RunOptions::default().with_log(&log))
                .await?
        };
        // The host scores, after the graph: the reference was never sent.
        let final_text = outcome.state.recheck.clone().unwrap_or_default();
        let usage = outcome.usage.total;
        dir.record(ItemResult {
            id: id.into(),
            sample: 0,
            passed: check(&final_text, reference),
            verified: false,
            stop: outcome.stop.to_string(),
            answer: Some(final_text),
            detail: format!("reference {reference}"),
            calls: usage.calls,
            cache_hits: usage.cache_hits,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            log: log_name,
            critic: None,
            mint: None,
            review: None,
        })?;
    }
    let results = read_results(out)?;
    let right = results.iter().filter(|r| r.passed).count() as u64;
    let (low, high) = wilson(right, results.len() as u64);
    Ok(format!(
        "{right}/{} right (95% CI {:.0}–{:.0}%)",
        results.len(),
        100.0 * low,
        100.0 * high
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::temp_dir().join("hone-own-protocol");
    println!("{}", run(Model::from_env()?.as_arc(), &out).await?);
    eprintln!("run directory: {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_are_scored_after_the_recheck_and_a_rerun_calls_no_model() {
        // The first answers are all 20; the re-check fixes only the eggs.
        let model = Arc::new(ScriptedModel::new().with_rule(
            |_| true,
            |req| {
                let all: String = req.messages.iter().map(|m| m.content.as_str()).collect();
                if req.messages.len() == 1 {
                    "I think it is 20"
                } else if all.contains("eggs") {
                    "3 * 7 = 21, so 21"
                } else {
                    "Yes, 20"
                }
            },
        ));
        let dir = tempfile::tempdir().unwrap();
        let line = run(model.clone(), dir.path()).await.unwrap();
        assert!(line.starts_with("1/3 right"), "{line}");
        assert_eq!(model.requests().len(), 6, "two calls per item");
        for request in model.requests() {
            let text: String = request
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect();
            assert!(
                !text.contains("16") && !text.contains(" 8"),
                "a reference was sent: {text}"
            );
        }
        let again = run(model.clone(), dir.path()).await.unwrap();
        assert_eq!(again, line);
        assert_eq!(model.requests().len(), 6, "the rerun calls no model");
    }
}
