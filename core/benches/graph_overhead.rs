//! Runtime overhead per node step: an actor → critic → router loop of 10,000
//! node steps with a zero-latency scripted model, with and without
//! checkpointing. Last line:
//! `RESULT us_per_step=<f> us_per_step_checkpointed=<f>`.

use std::sync::Arc;
use std::time::Instant;

use hone_core::graph::{node_fn, Graph, GraphBuilder, NodeContext, Route, RunOptions};
use hone_core::{ChatRequest, LanguageModel, Message, ScriptedModel};
use serde::{Deserialize, Serialize};

const STEPS: u64 = 10_000;

#[derive(Clone, Serialize, Deserialize)]
struct Loop {
    answer: String,
    critique: String,
    rounds: u64,
}

fn graph(model: Arc<dyn LanguageModel>) -> Graph<Loop> {
    let (m1, m2) = (model.clone(), model);
    let actor_request = ChatRequest::new(vec![Message::user("propose")]);
    let critic_request = ChatRequest::new(vec![Message::user("critique")]);
    GraphBuilder::new("actor-critic")
        .node(
            "actor",
            node_fn(move |mut s: Loop, ctx: NodeContext| {
                let (m, r) = (m1.clone(), actor_request.clone());
                async move {
                    let out = ctx.chat(&*m, &r).await?;
                    s.answer.clear();
                    s.answer.push_str(out.first_text());
                    Ok(s)
                }
            }),
        )
        .edge("actor", "critic")
        .node(
            "critic",
            node_fn(move |mut s: Loop, ctx: NodeContext| {
                let (m, r) = (m2.clone(), critic_request.clone());
                async move {
                    let out = ctx.chat(&*m, &r).await?;
                    s.critique.clear();
                    s.critique.push_str(out.first_text());
                    s.rounds += 1;
                    Ok(s)
                }
            }),
        )
        .router("critic", &["actor"], |s: &Loop| {
            if s.rounds * 2 < STEPS {
                Route::to("actor")
            } else {
                Route::End
            }
        })
        .entry("actor")
        .build()
        .expect("valid graph")
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let model: Arc<dyn LanguageModel> =
        Arc::new(ScriptedModel::new().with_rule(|_| true, |_| "ok"));
    let g = graph(model);
    let initial = Loop {
        answer: String::new(),
        critique: String::new(),
        rounds: 0,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut plain = Vec::new();
    let mut checkpointed = Vec::new();
    for rep in 0..5 {
        let started = Instant::now();
        let out = rt
            .block_on(g.run(initial.clone(), RunOptions::default()))
            .expect("run");
        assert_eq!(out.steps, STEPS);
        plain.push(started.elapsed().as_secs_f64() * 1e6 / STEPS as f64);

        let log = dir.path().join(format!("run-{rep}.jsonl"));
        let started = Instant::now();
        let out = rt
            .block_on(g.run(initial.clone(), RunOptions::default().with_log(&log)))
            .expect("run");
        assert_eq!(out.steps, STEPS);
        checkpointed.push(started.elapsed().as_secs_f64() * 1e6 / STEPS as f64);
        eprintln!(
            "rep {rep}: {:.3} us/step, {:.3} us/step checkpointed",
            plain[rep], checkpointed[rep]
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "RESULT us_per_step={:.3} us_per_step_checkpointed={:.3}",
        median(&mut plain),
        median(&mut checkpointed)
    );
}
