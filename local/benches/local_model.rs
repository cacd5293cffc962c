//! Local model benchmark (default model, Qwen2.5-Coder-0.5B-Instruct Q4_K_M):
//!
//! - single-stream prompt and generation throughput;
//! - aggregate generation speed with 8 requests decoding together (256
//!   prompt and 128 generated tokens each), against 1;
//! - best-of-8 on one HumanEval problem (8 seeded samples of the real actor
//!   prompt), decoded together vs one after another;
//! - prefix reuse: a 3-iteration chat conversation on HumanEval/0, and the
//!   exact requests a real `self-refine` run sent to the model
//!   (`data/self_refine_real.json`: the templates put the task, the answer
//!   and its evidence first, and the refiner continues the critic's
//!   conversation), next to those of the same problem as sent before the
//!   refiner continued the conversation (`data/self_refine_real_single_turn.json`)
//!   and under the earlier templates, which began with each role's
//!   instruction (`data/self_refine_real_old_layout.json`);
//! - side by side, in the same run: llama.cpp's own `llama-bench` and
//!   `llama-batched-bench` on the same model file and threads, built by
//!   `scripts/llamacpp-tools.sh` from the pinned llama-cpp-python source
//!   distribution (skipped, with a note, when that build fails).
//!
//! `cargo bench -p hone-local --bench local_model`. Threads: `HONE_BENCH_THREADS`
//! (default 2). Progress goes to stderr; the last stdout line is
//! `RESULT prompt_tok_s=… gen_tok_s=… … llamacpp_prompt_tok_s=… llamacpp_gen_tok_s=…
//! batch8_gen_tok_s=… llamacpp_batch8_gen_tok_s=… refine_real_prompt_tokens_with_reuse=…
//! without_reuse=… refine_real_single_turn_with_reuse=… single_turn_without_reuse=…
//! refine_real_old_layout_with_reuse=… old_layout_without_reuse=…
//! best_of_8_wall_s=… best_of_8_wall_s_sequential=…`.

use std::time::Instant;

use hone_core::{ChatRequest, LanguageModel, Message};
use hone_local::provision::{default_model_spec, locate};
use hone_local::{LocalModel, LocalOptions, LocalStats};

#[derive(serde::Deserialize)]
struct Data {
    task_id: String,
    problem: String,
    attempt: String,
    critique: String,
    revise: String,
    generate: String,
}

type BoxError = Box<dyn std::error::Error>;

const PROMPT_TARGET_TOKENS: usize = 512;
const GEN_TOKENS: u32 = 128;
const REPS: usize = 3;
const REFINE_ITERATIONS: usize = 3;
const REFINE_MAX_TOKENS: u32 = 160;
const PARALLEL_PROMPT_TOKENS: usize = 256;
const PARALLEL_GEN_TOKENS: u32 = 128;

fn options(threads: usize, prefix_reuse: bool) -> LocalOptions {
    LocalOptions {
        threads,
        context_length: 4096,
        batch_size: 512,
        prefix_reuse,
        slots: 1,
        constrained_output: true,
    }
}

/// The model with `slots` requests decoding together.
fn load(
    path: &std::path::Path,
    threads: usize,
    slots: usize,
    prefix_reuse: bool,
) -> Result<LocalModel, hone_local::LocalError> {
    LocalModel::load(
        path,
        LocalOptions {
            slots,
            ..options(threads, prefix_reuse)
        },
    )
}

#[derive(serde::Deserialize)]
struct Recorded {
    source: String,
    requests: Vec<RecordedRequest>,
}

#[derive(serde::Deserialize)]
struct RecordedRequest {
    messages: Vec<Message>,
    max_tokens: u32,
}

fn delta(after: LocalStats, before: LocalStats) -> LocalStats {
    LocalStats {
        requests: after.requests - before.requests,
        prompt_tokens: after.prompt_tokens - before.prompt_tokens,
        prompt_tokens_evaluated: after.prompt_tokens_evaluated - before.prompt_tokens_evaluated,
        prompt_tokens_reused: after.prompt_tokens_reused - before.prompt_tokens_reused,
        generated_tokens: after.generated_tokens - before.generated_tokens,
        prompt_seconds: after.prompt_seconds - before.prompt_seconds,
        generation_seconds: after.generation_seconds - before.generation_seconds,
        peak_batch_requests: after.peak_batch_requests,
        decode_only_tokens: after.decode_only_tokens - before.decode_only_tokens,
        decode_only_seconds: after.decode_only_seconds - before.decode_only_seconds,
    }
}

/// Sends `requests` to `model` at once (so they decode together) and waits
/// for every answer.
async fn chat_together(
    model: &LocalModel,
    requests: &[ChatRequest],
) -> Result<Vec<hone_core::ChatResponse>, hone_core::ModelError> {
    futures::future::join_all(requests.iter().map(|r| model.chat(r)))
        .await
        .into_iter()
        .collect()
}

/// Aggregate generation speed of `n` requests decoding together: distinct
/// prompts of about `PARALLEL_PROMPT_TOKENS` tokens, `PARALLEL_GEN_TOKENS`
/// generated each (greedy), counted over the steps without prompt tokens.
async fn parallel_generation(
    path: &std::path::Path,
    threads: usize,
    n: usize,
    data: &Data,
) -> Result<f64, BoxError> {
    let model = load(path, threads, n, false)?;
    let requests: Vec<ChatRequest> = (0..n)
        .map(|i| {
            // A different first line per request: no shared prefix.
            let mut text = format!("Request {i}. {}", data.generate);
            let mut req = ChatRequest::new(vec![Message::user(text.as_str())]);
            while model.count_prompt_tokens(&req)? < PARALLEL_PROMPT_TOKENS {
                text.push(' ');
                text.push_str(&data.problem);
                req = ChatRequest::new(vec![Message::user(text.as_str())]);
            }
            Ok(req
                .with_temperature(0.0)
                .with_max_tokens(PARALLEL_GEN_TOKENS))
        })
        .collect::<Result<_, hone_core::ModelError>>()?;
    let before = model.stats();
    chat_together(&model, &requests).await?;
    let d = delta(model.stats(), before);
    let tok_s = d.decode_only_tokens as f64 / d.decode_only_seconds;
    eprintln!(
        "{n} request(s) together: {} generated, {} in generation-only steps over {:.2} s: {tok_s:.1} tok/s (peak batch {})",
        d.generated_tokens, d.decode_only_tokens, d.decode_only_seconds, d.peak_batch_requests
    );
    Ok(tok_s)
}

/// Best-of-8 on the real actor prompt: 8 seeded samples sent at once, to a
/// model decoding `slots` of them together. Returns the wall time.
async fn best_of_8(
    path: &std::path::Path,
    threads: usize,
    slots: usize,
    actor: &RecordedRequest,
) -> Result<f64, BoxError> {
    let model = load(path, threads, slots, true)?;
    let started = Instant::now();
    let requests: Vec<ChatRequest> = (1..=8u64)
        .map(|seed| {
            let mut req = ChatRequest::new(actor.messages.clone())
                .with_temperature(0.8)
                .with_max_tokens(actor.max_tokens)
                .with_sample_index(seed as u32);
            req.sampling.seed = Some(seed);
            req
        })
        .collect();
    let answers = chat_together(&model, &requests).await?;
    let wall = started.elapsed().as_secs_f64();
    let generated: u64 = answers.iter().map(|a| a.usage.output_tokens).sum();
    let s = model.stats();
    eprintln!(
        "best-of-8, {slots} decoding together: {wall:.1} s, {generated} tokens generated, {} prompt tokens evaluated",
        s.prompt_tokens_evaluated
    );
    Ok(wall)
}

/// Replays the recorded self-refine requests one after another; returns the
/// prompt tokens evaluated.
async fn refine_real(
    path: &std::path::Path,
    threads: usize,
    reuse: bool,
    recorded: &Recorded,
) -> Result<u64, BoxError> {
    let model = load(path, threads, 4, reuse)?;
    for r in &recorded.requests {
        let req = ChatRequest::new(r.messages.clone())
            .with_temperature(0.0)
            .with_max_tokens(r.max_tokens);
        model.chat(&req).await?;
    }
    let s = model.stats();
    eprintln!(
        "real self-refine requests ({}), prefix reuse {}: {} prompt tokens, {} evaluated",
        recorded.source.split(':').next().unwrap_or_default(),
        if reuse { "on" } else { "off" },
        s.prompt_tokens,
        s.prompt_tokens_evaluated
    );
    Ok(s.prompt_tokens_evaluated)
}

/// Runs the refine conversation; returns (prompt tokens evaluated, wall seconds).
async fn refine(model: &LocalModel, data: &Data) -> Result<(u64, f64), BoxError> {
    let before = model.stats();
    let started = Instant::now();
    let mut messages = vec![Message::user(
        data.attempt.replace("{problem}", &data.problem),
    )];
    let ask = |messages: &[Message]| {
        ChatRequest::new(messages.to_vec())
            .with_temperature(0.0)
            .with_max_tokens(REFINE_MAX_TOKENS)
    };
    let answer = model.chat(&ask(&messages)).await?;
    messages.push(Message::assistant(answer.first_text()));
    for i in 0..REFINE_ITERATIONS {
        messages.push(Message::user(data.critique.as_str()));
        let critique = model.chat(&ask(&messages)).await?;
        messages.push(Message::assistant(critique.first_text()));
        messages.push(Message::user(data.revise.as_str()));
        let attempt = model.chat(&ask(&messages)).await?;
        messages.push(Message::assistant(attempt.first_text()));
        eprintln!(
            "  iteration {}: prompt {} tokens",
            i + 1,
            attempt.usage.input_tokens
        );
    }
    let wall = started.elapsed().as_secs_f64();
    let d = delta(model.stats(), before);
    eprintln!(
        "  {} requests, {} prompt tokens, {} evaluated, {} reused, {} generated, {:.1} s",
        d.requests,
        d.prompt_tokens,
        d.prompt_tokens_evaluated,
        d.prompt_tokens_reused,
        d.generated_tokens,
        wall
    );
    Ok((d.prompt_tokens_evaluated, wall))
}

async fn run() -> Result<String, BoxError> {
    let data: Data = serde_json::from_str(include_str!("data/refine.json"))?;
    let threads: usize = match std::env::var("HONE_BENCH_THREADS") {
        Ok(v) => v.parse()?,
        Err(_) => 2,
    };
    let spec = default_model_spec();
    let cache = hone_local::default_cache_dir();
    let Some(path) = locate(spec, &cache) else {
        return Err(format!(
            "the default model {} is not provisioned in {}; fetch it with \
             `cargo run -p hone-local --example fetch` (or `hone model fetch`)",
            spec.name,
            cache.display()
        )
        .into());
    };
    eprintln!("model {} ({} threads)", path.display(), threads);

    // Throughput, measured without prefix reuse so every prompt token is
    // evaluated.
    let model = LocalModel::load(&path, options(threads, false))?;
    // As close to llama-bench's pp512 as the chat template allows: at most
    // PROMPT_TARGET_TOKENS tokens, so the prompt is one batch as there (a
    // longer prompt would be a full batch and a short one).
    let request_of = |text: &str| {
        ChatRequest::new(vec![Message::user(text)])
            .with_max_tokens(1)
            .with_temperature(0.0)
    };
    let mut filler = data.problem.clone();
    let mut tokens = model.count_prompt_tokens(&request_of(&filler))?;
    while tokens < PROMPT_TARGET_TOKENS {
        filler.push_str(&data.problem);
        tokens = model.count_prompt_tokens(&request_of(&filler))?;
    }
    // The longest prefix of the filler that fits, by bisection on bytes.
    let over = filler.len();
    let (mut fits, mut over) = if tokens <= PROMPT_TARGET_TOKENS {
        (over, over)
    } else {
        (0, over)
    };
    while fits < over && over - fits > 1 {
        let mut mid = (fits + over) / 2;
        while !filler.is_char_boundary(mid) {
            mid -= 1;
        }
        if mid <= fits {
            break;
        }
        if model.count_prompt_tokens(&request_of(&filler[..mid]))? <= PROMPT_TARGET_TOKENS {
            fits = mid;
        } else {
            over = mid;
        }
    }
    let pp_request = request_of(&filler[..fits]);
    model.chat(&pp_request).await?; // warm-up
    let before = model.stats();
    for _ in 0..REPS {
        model.chat(&pp_request).await?;
    }
    let pp = delta(model.stats(), before);
    let prompt_tok_s = pp.prompt_tokens_evaluated as f64 / pp.prompt_seconds;
    eprintln!(
        "prompt: {} tokens x {REPS} in {:.2} s: {prompt_tok_s:.1} tok/s",
        pp.prompt_tokens_evaluated / REPS as u64,
        pp.prompt_seconds
    );

    let tg_request = ChatRequest::new(vec![Message::user(data.generate.as_str())])
        .with_temperature(0.0)
        .with_max_tokens(GEN_TOKENS);
    let before = model.stats();
    for _ in 0..REPS {
        model.chat(&tg_request).await?;
    }
    let tg = delta(model.stats(), before);
    let gen_tok_s = tg.generated_tokens as f64 / tg.generation_seconds;
    eprintln!(
        "generation: {} tokens in {:.2} s: {gen_tok_s:.1} tok/s",
        tg.generated_tokens, tg.generation_seconds
    );
    drop(model);

    eprintln!("refine conversation on {} with prefix reuse", data.task_id);
    let model = LocalModel::load(&path, options(threads, true))?;
    let (with_tokens, with_wall) = refine(&model, &data).await?;
    drop(model);
    eprintln!(
        "refine conversation on {} without prefix reuse",
        data.task_id
    );
    let model = LocalModel::load(&path, options(threads, false))?;
    let (without_tokens, without_wall) = refine(&model, &data).await?;
    drop(model);

    let recorded: Recorded = serde_json::from_str(include_str!("data/self_refine_real.json"))?;
    let real_with = refine_real(&path, threads, true, &recorded).await?;
    let real_without = refine_real(&path, threads, false, &recorded).await?;
    // The same problem's requests as sent before the refiner continued
    // the critic's conversation, and before the templates put the shared
    // material first: what each step gained.
    let single_turn: Recorded =
        serde_json::from_str(include_str!("data/self_refine_real_single_turn.json"))?;
    let single_with = refine_real(&path, threads, true, &single_turn).await?;
    let single_without = refine_real(&path, threads, false, &single_turn).await?;
    let old_layout: Recorded =
        serde_json::from_str(include_str!("data/self_refine_real_old_layout.json"))?;
    let old_with = refine_real(&path, threads, true, &old_layout).await?;
    let old_without = refine_real(&path, threads, false, &old_layout).await?;

    let batch1 = parallel_generation(&path, threads, 1, &data).await?;
    let batch8 = parallel_generation(&path, threads, 8, &data).await?;
    eprintln!(
        "aggregate generation, 8 together / 1: {:.2}x",
        batch8 / batch1
    );

    let actor = recorded.requests.first().ok_or("no recorded request")?;
    let bo8 = best_of_8(&path, threads, 8, actor).await?;
    let bo8_sequential = best_of_8(&path, threads, 1, actor).await?;
    eprintln!("best-of-8 speedup: {:.2}x", bo8_sequential / bo8);

    let anchors = llamacpp::anchors(&path, threads);

    Ok(format!(
        "RESULT prompt_tok_s={prompt_tok_s:.1} gen_tok_s={gen_tok_s:.1} \
         refine_prompt_tokens_evaluated_with_reuse={with_tokens} without_reuse={without_tokens} \
         refine_wall_s_with_reuse={with_wall:.1} without_reuse={without_wall:.1} \
         llamacpp_prompt_tok_s={:.1} llamacpp_gen_tok_s={:.1} \
         batch1_gen_tok_s={batch1:.1} batch8_gen_tok_s={batch8:.1} llamacpp_batch8_gen_tok_s={:.1} \
         refine_real_prompt_tokens_with_reuse={real_with} without_reuse={real_without} \
         refine_real_single_turn_with_reuse={single_with} single_turn_without_reuse={single_without} \
         refine_real_old_layout_with_reuse={old_with} old_layout_without_reuse={old_without} \
         best_of_8_wall_s={bo8:.1} best_of_8_wall_s_sequential={bo8_sequential:.1}",
        anchors.prompt_tok_s, anchors.gen_tok_s, anchors.batch8_gen_tok_s
    ))
}

#[path = "support/llamacpp.rs"]
mod llamacpp;

#[path = "support/harness.rs"]
mod harness;

fn main() -> std::process::ExitCode {
    harness::main("local_model", run())
}
