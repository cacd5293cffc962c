//! Local model benchmark (default model, Qwen2.5-Coder-0.5B-Instruct Q4_K_M):
//! prompt and generation throughput, and a 3-iteration refine conversation
//! on HumanEval/0 with and without prefix reuse.
//!
//! `cargo bench -p hone-local --bench local_model`. Threads: `HONE_BENCH_THREADS`
//! (default 2). Progress goes to stderr; the last stdout line is
//! `RESULT prompt_tok_s=… gen_tok_s=… refine_prompt_tokens_evaluated_with_reuse=…
//! without_reuse=… refine_wall_s_with_reuse=… without_reuse=…`.

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

fn options(threads: usize, prefix_reuse: bool) -> LocalOptions {
    LocalOptions {
        threads,
        context_length: 4096,
        batch_size: 512,
        prefix_reuse,
        slots: 1,
    }
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
    }
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
    let mut filler = data.problem.clone();
    let mut pp_request = ChatRequest::new(vec![Message::user(filler.as_str())]).with_max_tokens(1);
    while model.count_prompt_tokens(&pp_request)? < PROMPT_TARGET_TOKENS {
        filler.push_str(&data.problem);
        pp_request = ChatRequest::new(vec![Message::user(filler.as_str())]).with_max_tokens(1);
    }
    pp_request = pp_request.with_temperature(0.0);
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

    Ok(format!(
        "RESULT prompt_tok_s={prompt_tok_s:.1} gen_tok_s={gen_tok_s:.1} \
         refine_prompt_tokens_evaluated_with_reuse={with_tokens} without_reuse={without_tokens} \
         refine_wall_s_with_reuse={with_wall:.1} without_reuse={without_wall:.1}"
    ))
}

fn main() -> std::process::ExitCode {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` the
    // (minutes-long) run is skipped.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("local_model: run with `cargo bench -p hone-local --bench local_model`");
        return std::process::ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
