//! Load test of `serve` over the real local model (SmolLM2-135M-Instruct):
//! 200 concurrent clients on loopback for 60 s, one in ten misbehaving
//! (malformed JSON, garbage instead of HTTP, truncated bodies, stalled
//! bodies, over-the-cap requests, disconnecting before the answer or in the
//! middle of a stream). Checks that every well-formed request is answered
//! (200, or 503 with Retry-After when the queue is full), that RSS stays
//! flat, and that no slot or queue place is leaked; prints the figures.
//!
//! Long, so ignored by default:
//!
//! ```sh
//! cargo test -p hone-local --test serve_load -- --ignored --nocapture
//! ```
//!
//! Knobs (environment): `HONE_LOAD_CLIENTS` (200), `HONE_LOAD_SECONDS` (60),
//! `HONE_LOAD_SLOTS` (2), `HONE_LOAD_THREADS` (1), `HONE_LOAD_MAX_TOKENS`
//! (8), `HONE_LOAD_MAX_QUEUED` (the server's default).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hone_local::serve::{serve_with, ServeOptions};
use hone_local::{LocalModel, LocalOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

const PROMPTS: &[&str] = &[
    "What is the capital of France?",
    "Name a prime number.",
    "Say hello in Spanish.",
    "What colour is the sky?",
    "Give me one word that rhymes with cat.",
];

fn http(body: &str, content_length: usize) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\nConnection: close\r\n\r\n{body}"
    )
}

fn chat_body(prompt: &str, stream: bool, max_tokens: u64, extra: &str) -> String {
    format!(
        r#"{{"messages":[{{"role":"user","content":"{prompt}"}}],"max_tokens":{max_tokens},"temperature":0.7,"stream":{stream}{extra}}}"#
    )
}

fn status_of(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(&raw[..raw.len().min(64)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Sends `request` and reads the whole answer (the server closes).
async fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut conn = TcpStream::connect(addr).await?;
    conn.write_all(request).await?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await?;
    Ok(raw)
}

#[derive(Default)]
struct Tally {
    /// Well-formed requests by outcome ("200", "503", "other 4xx", "no answer").
    good: BTreeMap<String, u64>,
    /// Misbehaviours by kind and outcome.
    bad: BTreeMap<String, u64>,
    /// Latency of the answered (200) well-formed requests.
    latencies: Vec<Duration>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: String) {
    *map.entry(key).or_default() += 1;
}

async fn good_client(
    addr: SocketAddr,
    id: usize,
    deadline: Instant,
    max_tokens: u64,
    tally: Arc<Mutex<Tally>>,
) {
    let mut k = id;
    while Instant::now() < deadline {
        k += 1;
        let stream = k % 2 == 0;
        let body = chat_body(PROMPTS[k % PROMPTS.len()], stream, max_tokens, "");
        let started = Instant::now();
        let result = tokio::time::timeout(
            Duration::from_secs(180),
            exchange(addr, http(&body, body.len()).as_bytes()),
        )
        .await;
        let raw = match result {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => {
                bump(&mut tally.lock().unwrap().good, format!("no answer ({e})"));
                continue;
            }
            Err(_) => {
                bump(
                    &mut tally.lock().unwrap().good,
                    "no answer (timeout)".into(),
                );
                continue;
            }
        };
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&raw);
        let status = status_of(&raw);
        let complete = if stream {
            text.contains("data: [DONE]")
        } else {
            text.contains("\"chat.completion\"")
        };
        {
            let mut t = tally.lock().unwrap();
            match status {
                200 if complete => {
                    bump(&mut t.good, "200".into());
                    t.latencies.push(elapsed);
                }
                200 => bump(&mut t.good, "200 incomplete".into()),
                503 => bump(&mut t.good, "503".into()),
                s => bump(&mut t.good, format!("{s}")),
            }
        }
        if status == 503 {
            // Honour Retry-After: 1.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn bad_client(addr: SocketAddr, id: usize, deadline: Instant, tally: Arc<Mutex<Tally>>) {
    let mut k = id;
    while Instant::now() < deadline {
        k += 1;
        let (kind, outcome) = match k % 7 {
            0 => {
                let body = r#"{"messages":[{"role":"user","content":"#;
                let r = exchange(addr, http(body, body.len()).as_bytes()).await;
                ("malformed json", r.map(|raw| status_of(&raw).to_string()))
            }
            1 => {
                let r = exchange(addr, b"\x16\x03\x01garbage that is not HTTP\r\n\r\n").await;
                ("not http", r.map(|raw| status_of(&raw).to_string()))
            }
            2 => {
                let body = chat_body("hi", false, 8, ",\"n\":1000");
                let r = exchange(addr, http(&body, body.len()).as_bytes()).await;
                ("n over cap", r.map(|raw| status_of(&raw).to_string()))
            }
            3 => {
                // Promise 1000 bytes, send a few, hang up.
                let r = async {
                    let mut conn = TcpStream::connect(addr).await?;
                    conn.write_all(http("{\"messages\":", 1000).as_bytes())
                        .await?;
                    Ok("hung up".to_string())
                }
                .await;
                ("truncated body", r)
            }
            4 => {
                // Promise a body, stall for two seconds, hang up.
                let r = async {
                    let mut conn = TcpStream::connect(addr).await?;
                    conn.write_all(http("{", 200).as_bytes()).await?;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Ok("hung up".to_string())
                }
                .await;
                ("stalled body", r)
            }
            5 => {
                // A plain request, gone before the answer.
                let r = async {
                    let body = chat_body(PROMPTS[k % PROMPTS.len()], false, 64, "");
                    let mut conn = TcpStream::connect(addr).await?;
                    conn.write_all(http(&body, body.len()).as_bytes()).await?;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok("hung up".to_string())
                }
                .await;
                ("gone before answer", r)
            }
            _ => {
                // A stream, dropped after its first delta.
                let r = async {
                    let body = chat_body(PROMPTS[k % PROMPTS.len()], true, 64, "");
                    let mut conn = TcpStream::connect(addr).await?;
                    conn.write_all(http(&body, body.len()).as_bytes()).await?;
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = conn.read(&mut buf).await?;
                        if n == 0 {
                            return Ok(format!("closed ({})", status_of(&seen)));
                        }
                        seen.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&seen);
                        if text.contains("\"content\":\"") && text.contains("chunk") {
                            return Ok("hung up mid-stream".to_string());
                        }
                        if status_of(&seen) == 503 {
                            return Ok("503".to_string());
                        }
                    }
                }
                .await;
                ("dropped mid-stream", r)
            }
        };
        let outcome = outcome.unwrap_or_else(|e| format!("io error: {}", e.kind()));
        bump(&mut tally.lock().unwrap().bad, format!("{kind}: {outcome}"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "60 s load test: cargo test -p hone-local --test serve_load -- --ignored --nocapture"]
async fn two_hundred_clients_for_a_minute() {
    let clients = knob("HONE_LOAD_CLIENTS", 200) as usize;
    let seconds = knob("HONE_LOAD_SECONDS", 60);
    let slots = knob("HONE_LOAD_SLOTS", 2) as usize;
    let threads = knob("HONE_LOAD_THREADS", 1) as usize;
    let max_tokens = knob("HONE_LOAD_MAX_TOKENS", 8);
    let max_queued = knob(
        "HONE_LOAD_MAX_QUEUED",
        ServeOptions::default().max_queued as u64,
    ) as usize;

    let path = common::smollm2_path();
    let local = Arc::new(
        LocalModel::load(
            &path,
            LocalOptions {
                threads,
                context_length: 1024,
                slots,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServeOptions {
        max_queued,
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(local.clone(), listener, options, async {
        let _ = stopped.await;
    }));

    // Warm up (first evaluation allocates compute buffers), then measure.
    let body = chat_body("Hello", false, max_tokens, "");
    let raw = exchange(addr, http(&body, body.len()).as_bytes())
        .await
        .unwrap();
    assert_eq!(status_of(&raw), 200);
    let rss_start = rss_kib();

    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let samples = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let sampler = {
        let samples = Arc::clone(&samples);
        tokio::spawn(async move {
            loop {
                samples
                    .lock()
                    .unwrap()
                    .push((started.elapsed().as_secs(), rss_kib()));
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for id in 0..clients {
        let tally = Arc::clone(&tally);
        tasks.push(if id % 10 == 0 {
            tokio::spawn(bad_client(addr, id, deadline, tally))
        } else {
            tokio::spawn(good_client(addr, id, deadline, max_tokens, tally))
        });
    }
    for t in tasks {
        t.await.unwrap();
    }
    let drained = started.elapsed();
    sampler.abort();

    // Cancellations land on the slot threads asynchronously.
    let mut idle = local.idle_slots();
    for _ in 0..100 {
        if idle == slots {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        idle = local.idle_slots();
    }
    // Every queue place is free: a burst of exactly max_queued requests is
    // admitted in full.
    let burst_body = chat_body("Hi", false, 1, "");
    let burst: Vec<_> = (0..max_queued)
        .map(|_| {
            let req = http(&burst_body, burst_body.len());
            tokio::spawn(async move { exchange(addr, req.as_bytes()).await })
        })
        .collect();
    let mut burst_status = BTreeMap::new();
    for b in burst {
        let status = b.await.unwrap().map(|raw| status_of(&raw)).unwrap_or(0);
        bump(&mut burst_status, status.to_string());
    }
    let rss_end = rss_kib();

    let _ = stop.send(());
    server.await.unwrap().unwrap();

    let mut t = tally.lock().unwrap();
    t.latencies.sort();
    let answered_ok = t.good.get("200").copied().unwrap_or(0);
    let good_total: u64 = t.good.values().sum();
    let bad_total: u64 = t.bad.values().sum();
    let stats = local.stats();
    println!("serve load: {clients} clients ({} misbehaving), {seconds} s, {slots} slots x {threads} thread(s), max_tokens {max_tokens}, max_queued {max_queued}", clients.div_ceil(10));
    println!("well-formed requests: {good_total} {:?}", t.good);
    println!("misbehaving requests: {bad_total}");
    for (k, v) in &t.bad {
        println!("  {k}: {v}");
    }
    println!(
        "latency of answered well-formed requests: p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        percentile(&t.latencies, 0.5).as_secs_f64(),
        percentile(&t.latencies, 0.99).as_secs_f64(),
        percentile(&t.latencies, 1.0).as_secs_f64()
    );
    println!(
        "model: {} requests finished or cancelled, {} tokens generated",
        stats.requests, stats.generated_tokens
    );
    println!(
        "RSS (MiB): start {:.1}, samples {:?}, end {:.1}",
        rss_start as f64 / 1024.0,
        samples
            .lock()
            .unwrap()
            .iter()
            .map(|(s, r)| format!("{s}s:{:.1}", *r as f64 / 1024.0))
            .collect::<Vec<_>>(),
        rss_end as f64 / 1024.0
    );
    println!("drained after {:.1} s; idle slots at end: {idle}/{slots}; burst of {max_queued} after the run: {burst_status:?}", drained.as_secs_f64());
    println!(
        "RESULT serve_load ok={answered_ok} well_formed={good_total} misbehaving={bad_total} p50_s={:.2} p99_s={:.2} rss_start_mib={:.1} rss_end_mib={:.1} idle_slots={idle}/{slots}",
        percentile(&t.latencies, 0.5).as_secs_f64(),
        percentile(&t.latencies, 0.99).as_secs_f64(),
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );

    let unanswered: u64 = t
        .good
        .iter()
        .filter(|(k, _)| k.as_str() != "200" && k.as_str() != "503")
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        unanswered, 0,
        "well-formed requests without a proper answer: {:?}",
        t.good
    );
    assert!(answered_ok > 0);
    assert_eq!(idle, slots, "a slot was leaked");
    assert_eq!(
        burst_status.get("200").copied().unwrap_or(0),
        max_queued as u64,
        "a queue place was leaked: {burst_status:?}"
    );
    assert!(
        rss_end < rss_start + 128 * 1024,
        "RSS grew from {rss_start} KiB to {rss_end} KiB"
    );
}
