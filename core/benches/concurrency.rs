//! Throughput of many concurrent runs against a real HTTP endpoint: 512
//! concurrent runs of a 4-call graph (4 sequential model calls through the
//! OpenAI-compatible backend) against a loopback server that answers after
//! 20 ms. Ideal wall time is 4 × 20 ms; efficiency is ideal over achieved.
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

async fn wave(g: &Graph<u32>) -> Duration {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..RUNS {
        let g = g.clone();
        tasks.spawn(async move { g.run(0, RunOptions::default()).await });
    }
    while let Some(done) = tasks.join_next().await {
        let out = done.expect("task").expect("run");
        assert_eq!(out.state as usize, CALLS, "{:?}", out.stop);
    }
    started.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = FakeServer::start(|_, _| Reply::completion("ok").after(LATENCY)).await;
        let model: Arc<dyn LanguageModel> = Arc::new(
            OpenAiModel::new(
                OpenAiConfig::new(server.base_url(), "fake-model").with_max_concurrency(RUNS),
            )
            .expect("model"),
        );
        let g = graph(model);
        // The first wave opens the connections; measure the following ones.
        let warm = wave(&g).await;
        eprintln!("warm-up wave: {:.1} ms", warm.as_secs_f64() * 1e3);
        let mut best = Duration::MAX;
        for i in 0..5 {
            let t = wave(&g).await;
            eprintln!("wave {i}: {:.1} ms", t.as_secs_f64() * 1e3);
            best = best.min(t);
        }
        let ideal = LATENCY * CALLS as u32;
        eprintln!(
            "{} runs x {} calls; ideal {:.0} ms, best {:.1} ms, {} requests served",
            RUNS,
            CALLS,
            ideal.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            server.request_count()
        );
        println!(
            "RESULT efficiency={:.3}",
            ideal.as_secs_f64() / best.as_secs_f64()
        );
    });
}
