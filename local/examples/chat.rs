//! One chat turn with a local GGUF model, printing the answer and counters:
//! `cargo run -p hone-local --example chat -- MODEL.gguf "question" [max_tokens [threads]]`.

use std::process::ExitCode;

use hone_core::{ChatRequest, LanguageModel, Message};
use hone_local::{LocalModel, LocalOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, question, rest @ ..] = args.as_slice() else {
        eprintln!("usage: chat MODEL.gguf QUESTION [MAX_TOKENS [THREADS]]");
        return ExitCode::FAILURE;
    };
    let max_tokens = rest.first().and_then(|s| s.parse().ok()).unwrap_or(128);
    let threads = rest.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let opts = LocalOptions {
        threads,
        ..Default::default()
    };
    let model = match LocalModel::load(path.as_ref(), opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let messages = vec![Message::user(question.as_str())];
    if let Ok(prompt) = model.render_prompt(&messages) {
        eprintln!("--- prompt ---\n{prompt}\n--------------");
    }
    let req = ChatRequest::new(messages)
        .with_temperature(0.0)
        .with_max_tokens(max_tokens);
    match model.chat(&req).await {
        Ok(r) => {
            println!("{}", r.first_text());
            let s = model.stats();
            eprintln!(
                "{:?}; prompt {} tok in {:.2}s ({:.1} tok/s), generated {} tok in {:.2}s ({:.1} tok/s)",
                r.choices[0].finish_reason,
                s.prompt_tokens_evaluated,
                s.prompt_seconds,
                s.prompt_tokens_evaluated as f64 / s.prompt_seconds,
                s.generated_tokens,
                s.generation_seconds,
                s.generated_tokens as f64 / s.generation_seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
