//! Throughput of many concurrent runs against a real HTTP endpoint: 512 runs
//! of a 4-call graph (4 sequential model calls through the OpenAI-compatible
//! backend) kept in flight at all times against a loopback server that
//! answers after 20 ms. With zero overhead each run takes 80 ms, so the ideal
//! throughput is 512 runs per 80 ms; efficiency is achieved over ideal,
//! measured in steady state (a new run starts as soon as one finishes).
//! Last line: `RESULT efficiency=<achieved/ideal throughput>`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_core::graph::{node_fn, Graph, GraphBuilder, NodeContext, RunOptions};
use hone_core::openai::{OpenAiConfig, OpenAiModel};
use hone_core::{ChatRequest, LanguageModel, Message};
use hone_test_support::{FakeServer, Reply};

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

/// Runs `total` runs of `one_run` with `RUNS` in flight at all times;
/// returns the wall time.
async fn steady<F, Fut>(one_run: F, total: usize) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut launched = 0;
    while launched < RUNS.min(total) {
        tasks.spawn(one_run());
        launched += 1;
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
        if launched < total {
            tasks.spawn(one_run());
            launched += 1;
        }
    }
    started.elapsed()
}

fn graph_run(g: &Graph<u32>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let g = g.clone();
    async move {
        let out = g.run(0, RunOptions::default()).await.expect("run");
        assert_eq!(out.state as usize, CALLS, "{:?}", out.stop);
    }
}

/// The baseline: the same four calls made with a bare HTTP client (no
/// graph, no budget, no retries), to show what the machine itself allows
/// when client and server share its cores.
fn raw_run(
    client: &reqwest::Client,
    url: &str,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (client, url) = (client.clone(), url.to_string());
    async move {
        for n in 0..CALLS {
            let body = serde_json::json!({
                "model": "fake-model",
                "messages": [{"role": "user", "content": format!("step {n}")}],
                "max_tokens": 8
            });
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .expect("send");
            let bytes = response.bytes().await.expect("body");
            let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            assert!(value["choices"].is_array());
        }
    }
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
        let raw = reqwest::Client::new();
        let url = format!("{}/chat/completions", server.base_url());
        // Warm-up opens the connections of both clients.
        steady(|| graph_run(&g), RUNS).await;
        steady(|| raw_run(&raw, &url), RUNS).await;
        let ideal_runs_per_s = RUNS as f64 / (LATENCY * CALLS as u32).as_secs_f64();
        let total = RUNS * 8;
        let mut hone = Vec::new();
        let mut baseline = Vec::new();
        for rep in 0..3 {
            let t = steady(|| graph_run(&g), total).await;
            hone.push(total as f64 / t.as_secs_f64() / ideal_runs_per_s);
            let t = steady(|| raw_run(&raw, &url), total).await;
            baseline.push(total as f64 / t.as_secs_f64() / ideal_runs_per_s);
            eprintln!(
                "rep {rep}: hone {:.0} runs/s, bare HTTP client {:.0} runs/s, ideal {ideal_runs_per_s:.0}",
                hone[rep] * ideal_runs_per_s,
                baseline[rep] * ideal_runs_per_s
            );
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let (h, b) = (median(&mut hone), median(&mut baseline));
        eprintln!(
            "{} requests served; hone reaches {:.0}% of the bare client's throughput",
            server.request_count(),
            100.0 * h / b
        );
        println!("RESULT efficiency={h:.3} baseline_efficiency={b:.3}");
    });
}
