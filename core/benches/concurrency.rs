//! Throughput of many concurrent runs against a real HTTP endpoint: 512 runs
//! of a 4-call graph (4 sequential model calls through the OpenAI-compatible
//! backend) kept in flight at all times against a loopback server that
//! answers after 20 ms. With zero overhead each run takes 80 ms, so the ideal
//! throughput is 512 runs per 80 ms; efficiency is achieved over ideal,
//! measured in steady state (a new run starts as soon as one finishes).
//! Last line: `RESULT efficiency=<achieved/ideal throughput>`.

#[path = "../tests/support/fake_openai.rs"]
mod fake_openai;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_openai::{FakeServer, Reply};
use hone_core::graph::{node_fn, Graph, GraphBuilder, NodeContext, RunOptions};
use hone_core::openai::{OpenAiConfig, OpenAiModel};
use hone_core::{ChatRequest, LanguageModel, Message};

const RUNS: usize = 512;
const CALLS: usize = 4;
const LATENCY: Duration = Duration::from_millis(20);

fn graph(model: Arc<dyn LanguageModel>) -> Graph<u32> {
    let mut b = GraphBuilder::new("four-calls");
    for i in 0..CALLS {
        let m = model.clone();
        b = b.node(
            format!("call{i}"),
            node_fn(move |n: u32, ctx: NodeContext| {
                let m = m.clone();
                async move {
                    let req = ChatRequest::new(vec![Message::user(format!("step {n}"))])
                        .with_max_tokens(8);
                    ctx.chat(&*m, &req).await?;
                    Ok(n + 1)
                }
            }),
        );
        if i + 1 < CALLS {
            b = b.edge(&format!("call{i}"), &format!("call{}", i + 1));
        }
    }
    b.entry("call0").build().expect("valid graph")
}

/// Runs `total` graph runs with `RUNS` in flight at all times; returns the
/// wall time.
async fn steady(g: &Graph<u32>, total: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut launched = 0;
    while launched < RUNS.min(total) {
        let g = g.clone();
        tasks.spawn(async move { g.run(0, RunOptions::default()).await });
        launched += 1;
    }
    while let Some(done) = tasks.join_next().await {
        let out = done.expect("task").expect("run");
        assert_eq!(out.state as usize, CALLS, "{:?}", out.stop);
        if launched < total {
            let g = g.clone();
            tasks.spawn(async move { g.run(0, RunOptions::default()).await });
            launched += 1;
        }
    }
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let reply = Reply::completion("ok").after(LATENCY);
        let server = FakeServer::start_unrecorded(move |_, _| reply.clone()).await;
        let model: Arc<dyn LanguageModel> = Arc::new(
            OpenAiModel::new(
                OpenAiConfig::new(server.base_url(), "fake-model").with_max_concurrency(RUNS),
            )
            .expect("model"),
        );
        let g = graph(model);
        // Warm-up opens the connections.
        let warm = steady(&g, RUNS).await;
        eprintln!("warm-up: {RUNS} runs in {:.1} ms", warm.as_secs_f64() * 1e3);
        let ideal_runs_per_s = RUNS as f64 / (LATENCY * CALLS as u32).as_secs_f64();
        let mut efficiencies = Vec::new();
        for rep in 0..3 {
            let total = RUNS * 8;
            let t = steady(&g, total).await;
            let achieved = total as f64 / t.as_secs_f64();
            eprintln!(
                "rep {rep}: {total} runs in {:.0} ms: {achieved:.0} runs/s (ideal {ideal_runs_per_s:.0})",
                t.as_secs_f64() * 1e3
            );
            efficiencies.push(achieved / ideal_runs_per_s);
        }
        efficiencies.sort_by(|a, b| a.total_cmp(b));
        eprintln!("{} requests served", server.request_count());
        println!("RESULT efficiency={:.3}", efficiencies[1]);
    });
}
