//! `hone serve` against llama.cpp's own `llama-server` under the same load:
//! 8 and then 32 concurrent loopback clients, each sending the same chat
//! request (the real actor prompt of `data/self_refine_real.json`, 64
//! generated tokens at temperature 0) several times in a row. Reports
//! requests per second and the p50 / p99 latency of each server.
//!
//! Both servers get the same model file, threads, context per sequence and
//! parallelism (as many sequences decoding together as there are clients),
//! and both keep the prompt cache they have by default. hone's side is the
//! server `hone serve` runs (`hone_local::serve::serve_with` over a
//! `LocalModel`), started in this process; llama-server is a child process,
//! built by `scripts/llamacpp-tools.sh` from the pinned llama-cpp-python
//! source distribution. The clients speak plain HTTP/1.1 over loopback
//! (one connection per request, as `Connection: close`), so neither server
//! gains from a client library's connection reuse.
//!
//! What it leaves out: streaming responses, prompts that differ between
//! clients, and `hone serve`'s argument parsing (the CLI runs the same
//! function after it).
//!
//! `cargo bench -p hone-local --bench serve_vs_llama_server`. Threads:
//! `HONE_BENCH_THREADS` (default 2). The last stdout line is
//! `RESULT hone_c8_rps=… hone_c8_p50_s=… hone_c8_p99_s=… llama_server_c8_rps=…
//! … hone_c32_rps=… … llama_server_c32_p99_s=…`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_core::LanguageModel;
use hone_local::provision::{default_model_spec, locate};
use hone_local::serve::{serve_with, ServeOptions};
use hone_local::{LocalModel, LocalOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error>;

/// Concurrent clients per scenario, and requests each sends in a row.
const SCENARIOS: &[(usize, usize)] = &[(8, 3), (32, 2)];
/// Context per sequence, in tokens (the actor prompt is about 300).
const CONTEXT_PER_SEQUENCE: u32 = 1024;
const MAX_TOKENS: u32 = 64;

#[derive(serde::Deserialize)]
struct Recorded {
    requests: Vec<RecordedRequest>,
}

#[derive(serde::Deserialize)]
struct RecordedRequest {
    messages: Vec<serde_json::Value>,
}

/// Requests per second and latency percentiles of one scenario.
struct Load {
    /// Completion tokens the answers reported, in all.
    tokens: u64,
    tok_s: f64,
    rps: f64,
    p50: f64,
    p99: f64,
}

impl Load {
    fn nan() -> Self {
        Load {
            tokens: 0,
            tok_s: f64::NAN,
            rps: f64::NAN,
            p50: f64::NAN,
            p99: f64::NAN,
        }
    }
}

/// The nearest-rank percentile `p` (0–100) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sends one request and reads the whole response; the HTTP status and
/// the completion tokens the body reports (0 when it reports none).
async fn post(addr: SocketAddr, body: &str) -> Result<(u16, u64), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", &text[..text.len().min(64)]))?;
    let tokens = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
        .and_then(|v| v["usage"]["completion_tokens"].as_u64())
        .unwrap_or(0);
    Ok((status, tokens))
}

/// One load: the model and threads both servers get, and `clients`
/// clients each sending `body` `repeats` times in a row.
struct Scenario<'a> {
    model_path: &'a Path,
    threads: usize,
    clients: usize,
    repeats: usize,
    body: &'a str,
}

/// Runs `sc`'s clients against the server at `addr`; every answer must be
/// a 200.
async fn load(addr: SocketAddr, sc: &Scenario<'_>) -> Result<Load, BoxError> {
    let (body, clients, repeats) = (sc.body, sc.clients, sc.repeats);
    // Warm-up: the first request evaluates the prompt and fills caches on
    // either server.
    let (status, _) = post(addr, body).await?;
    if status != 200 {
        return Err(format!("warm-up request answered {status}").into());
    }
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let body = body.to_string();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut tokens = 0;
                for _ in 0..repeats {
                    let t = Instant::now();
                    let (status, n) = post(addr, &body).await?;
                    if status != 200 {
                        return Err(format!("answered {status}"));
                    }
                    latencies.push(t.elapsed().as_secs_f64());
                    tokens += n;
                }
                Ok((latencies, tokens))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut tokens = 0;
    for t in tasks {
        let (l, n) = t.await??;
        latencies.extend(l);
        tokens += n;
    }
    let wall = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(Load {
        tokens,
        tok_s: tokens as f64 / wall,
        rps: latencies.len() as f64 / wall,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    })
}

async fn hone_serve(sc: &Scenario<'_>) -> Result<Load, BoxError> {
    let clients = sc.clients;
    let model = LocalModel::load(
        sc.model_path,
        LocalOptions {
            threads: sc.threads,
            context_length: CONTEXT_PER_SEQUENCE,
            batch_size: 512,
            prefix_reuse: true,
            slots: clients,
            constrained_output: true,
        },
    )?;
    let model: Arc<dyn LanguageModel> = Arc::new(model);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        max_queued: clients * 2,
        ..Default::default()
    };
    let server = tokio::spawn(serve_with(model, listener, options, async {
        let _ = stopped.await;
    }));
    let result = load(addr, sc).await;
    let _ = stop.send(());
    server.await??;
    result
}

/// A running llama-server, killed when dropped.
struct LlamaServer(Child);

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn llama_server(bin: &Path, sc: &Scenario<'_>) -> Result<Load, BoxError> {
    let (threads, clients) = (sc.threads, sc.clients);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let child = Command::new(bin.join("llama-server"))
        .arg("-m")
        .arg(sc.model_path)
        .args(["-t", &threads.to_string(), "-tb", &threads.to_string()])
        .args(["-c", &(CONTEXT_PER_SEQUENCE as usize * clients).to_string()])
        .args(["-np", &clients.to_string(), "-b", "512"])
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start llama-server: {e}"))?;
    let _server = LlamaServer(child);
    // Ready once /health answers 200 (503 while the model loads).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let req = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut out = Vec::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_end(&mut out).await.is_ok()
                && out.starts_with(b"HTTP/1.1 200")
            {
                break;
            }
        }
        if Instant::now() > deadline {
            return Err("llama-server did not become ready in 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    load(addr, sc).await
}

fn report(who: &str, clients: usize, l: &Load) {
    eprintln!(
        "{who}, {clients} clients: {:.2} requests/s, p50 {:.1} s, p99 {:.1} s; {} completion tokens, {:.1} tok/s",
        l.rps, l.p50, l.p99, l.tokens, l.tok_s
    );
}

async fn run() -> Result<String, BoxError> {
    let threads: usize = match std::env::var("HONE_BENCH_THREADS") {
        Ok(v) => v.parse()?,
        Err(_) => 2,
    };
    let spec = default_model_spec();
    let Some(path) = locate(spec, &hone_local::default_cache_dir()) else {
        return Err(format!(
            "the default model {} is not provisioned; fetch it with `hone model fetch`",
            spec.name
        )
        .into());
    };
    let recorded: Recorded = serde_json::from_str(include_str!("data/self_refine_real.json"))?;
    let actor = recorded.requests.first().ok_or("no recorded request")?;
    let body = serde_json::json!({
        "model": "local",
        "messages": actor.messages,
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "seed": 1,
    })
    .to_string();
    let bin = llamacpp::build();
    if let Err(e) = &bin {
        eprintln!("llama-server skipped: {e}");
    }
    let mut fields = Vec::new();
    for &(clients, repeats) in SCENARIOS {
        let sc = Scenario {
            model_path: &path,
            threads,
            clients,
            repeats,
            body: &body,
        };
        let hone = hone_serve(&sc).await?;
        report("hone serve", clients, &hone);
        let llama = match &bin {
            Ok(bin) => llama_server(bin, &sc).await.unwrap_or_else(|e| {
                eprintln!("llama-server, {clients} clients, failed: {e}");
                Load::nan()
            }),
            Err(_) => Load::nan(),
        };
        report("llama-server", clients, &llama);
        eprintln!(
            "{clients} clients: hone serve / llama-server requests/s = {:.2}",
            hone.rps / llama.rps
        );
        for (who, l) in [("hone", &hone), ("llama_server", &llama)] {
            fields.push(format!(
                "{who}_c{clients}_rps={:.3} {who}_c{clients}_p50_s={:.2} {who}_c{clients}_p99_s={:.2}",
                l.rps, l.p50, l.p99
            ));
        }
    }
    Ok(format!("RESULT {}", fields.join(" ")))
}

// The anchors' build script wrapper; this benchmark uses only `build`.
#[allow(dead_code)]
#[path = "support/llamacpp.rs"]
mod llamacpp;

#[path = "support/harness.rs"]
mod harness;

fn main() -> std::process::ExitCode {
    harness::main("serve_vs_llama_server", run())
}
