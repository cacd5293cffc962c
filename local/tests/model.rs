//! The local backend against a real model (SmolLM2-135M-Instruct).

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use hone_core::{ChatRequest, FinishReason, LanguageModel, Message, ModelError, StreamEvent};
use hone_local::{LocalModel, LocalOptions};

fn load(opts: LocalOptions) -> LocalModel {
    let path = common::smollm2_path();
    LocalModel::load(&path, opts).expect("loading SmolLM2")
}

/// One shared model with default options, for tests that do not inspect
/// the counters.
fn shared() -> Arc<LocalModel> {
    static MODEL: OnceLock<Arc<LocalModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            Arc::new(load(LocalOptions {
                threads: 1,
                context_length: 2048,
                slots: 2,
                ..Default::default()
            }))
        })
        .clone()
}

fn ask(q: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::user(q)])
}

#[test]
fn descriptor_names_the_file() {
    let m = shared();
    let d = m.descriptor();
    assert_eq!(d.backend, "local");
    assert_eq!(d.model, "smollm2-135m-instruct-q4_1");
    assert!(d.endpoint.unwrap().ends_with(".gguf"));
}

#[test]
fn the_gguf_template_adds_its_default_system_prompt() {
    let m = shared();
    let p = m.render_prompt(&[Message::user("Hi")]).unwrap();
    assert_eq!(
        p,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let p = m
        .render_prompt(&[Message::system("Be brief."), Message::user("Hi")])
        .unwrap();
    assert!(
        p.starts_with("<|im_start|>system\nBe brief.<|im_end|>"),
        "{p}"
    );
}

#[tokio::test]
async fn greedy_answers_are_deterministic_and_counted() {
    let m = shared();
    let req = ask("What is the capital of France?")
        .with_temperature(0.0)
        .with_max_tokens(24);
    let a = m.chat(&req).await.unwrap();
    let b = m.chat(&req).await.unwrap();
    assert!(!a.first_text().trim().is_empty());
    assert_eq!(a.first_text(), b.first_text());
    assert_eq!(
        a.usage.input_tokens as usize,
        m.count_prompt_tokens(&req).unwrap()
    );
    assert!(a.usage.output_tokens > 0 && a.usage.output_tokens <= 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_greedy_requests_share_batches_and_answer_as_they_do_alone() {
    let m = Arc::new(load(LocalOptions {
        threads: 1,
        context_length: 1024,
        slots: 4,
        ..Default::default()
    }));
    let prompts = [
        "What is the capital of France?",
        "Name three colours.",
        "What is two plus two?",
        "Write a short poem about the sea.",
    ];
    let req = |q: &str| ask(q).with_temperature(0.0).with_max_tokens(32);
    let mut alone = Vec::new();
    for q in prompts {
        alone.push(m.chat(&req(q)).await.unwrap().first_text().to_string());
    }
    assert_eq!(m.stats().peak_batch_requests, 1);
    // A fresh model, so that no prompt is already in the cache.
    let m = Arc::new(load(LocalOptions {
        threads: 1,
        context_length: 1024,
        slots: 4,
        ..Default::default()
    }));
    let together = futures::future::join_all(prompts.map(|q| {
        let m = m.clone();
        async move { m.chat(&req(q)).await.unwrap().first_text().to_string() }
    }))
    .await;
    assert!(alone.iter().all(|a| !a.trim().is_empty()), "{alone:?}");
    assert_eq!(together, alone);
    assert!(
        m.stats().peak_batch_requests > 1,
        "the requests never shared a batch: {:?}",
        m.stats()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn samples_of_one_prompt_evaluate_it_once_and_decode_together() {
    let m = Arc::new(load(LocalOptions {
        threads: 1,
        context_length: 1024,
        slots: 4,
        // Small batches: the prompt takes several steps, so the later
        // samples arrive while the first is still reading it.
        batch_size: 16,
        ..Default::default()
    }));
    let question = "Here is a list of fruits: apple, banana, cherry, damson, elderberry, fig, \
                    grape, honeydew, kiwi, lemon, mango, nectarine, orange, papaya, quince. \
                    Which of them is your favourite, and why?";
    let prompt_tokens = m.count_prompt_tokens(&ask(question)).unwrap() as u64;
    let answers = futures::future::join_all((1..=4u64).map(|seed| {
        let m = m.clone();
        async move {
            let mut req = ask(question).with_temperature(0.8).with_max_tokens(16);
            req.sampling.seed = Some(seed);
            m.chat(&req).await.unwrap().first_text().to_string()
        }
    }))
    .await;
    let stats = m.stats();
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.prompt_tokens, 4 * prompt_tokens);
    // The first sample reads the prompt; the others copy it and evaluate
    // its last token only.
    assert_eq!(
        stats.prompt_tokens_evaluated,
        prompt_tokens + 3,
        "{stats:?}"
    );
    assert!(stats.peak_batch_requests > 1, "{stats:?}");
    assert!(answers.iter().all(|a| !a.is_empty()), "{answers:?}");
}

#[tokio::test]
async fn a_seed_makes_sampling_reproducible() {
    let m = shared();
    let mut req = ask("Write a short poem about the sea.")
        .with_temperature(1.0)
        .with_max_tokens(24);
    req.sampling.seed = Some(1234);
    let a = m.chat(&req).await.unwrap();
    let b = m.chat(&req).await.unwrap();
    assert_eq!(a.first_text(), b.first_text());
    req.sampling.top_p = Some(0.5);
    let c = m.chat(&req).await.unwrap();
    let d = m.chat(&req).await.unwrap();
    assert_eq!(c.first_text(), d.first_text());
}

#[tokio::test]
async fn max_tokens_ends_with_length() {
    let m = shared();
    let req = ask("Count from one to one hundred in words.")
        .with_temperature(0.0)
        .with_max_tokens(5);
    let r = m.chat(&req).await.unwrap();
    assert_eq!(r.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(r.usage.output_tokens, 5);
}

#[tokio::test]
async fn stop_sequences_cut_the_answer() {
    let m = shared();
    let req = ask("List three fruits, one per line.")
        .with_temperature(0.0)
        .with_max_tokens(40);
    let full = m.chat(&req).await.unwrap().first_text().to_string();
    // Stop at the second word of the free answer.
    let word = full
        .split_whitespace()
        .nth(1)
        .expect("a few words")
        .to_string();
    let cut = full.find(&word).unwrap();
    let mut stopped = req.clone();
    stopped.sampling.stop = vec![word.clone()];
    let r = m.chat(&stopped).await.unwrap();
    assert_eq!(r.first_text(), &full[..cut], "stop {word:?} in {full:?}");
    assert_eq!(r.choices[0].finish_reason, FinishReason::Stop);
}

#[tokio::test]
async fn several_choices() {
    let m = shared();
    let mut req = ask("Name a colour.")
        .with_temperature(1.0)
        .with_max_tokens(8);
    req.sampling.n = 3;
    req.sampling.seed = Some(7);
    let r = m.chat(&req).await.unwrap();
    assert_eq!(r.choices.len(), 3);
    assert!(r.choices.iter().all(|c| !c.text.is_empty()));
}

#[tokio::test]
async fn streaming_matches_the_final_text() {
    let m = shared();
    let req = ask("Say hello in French.")
        .with_temperature(0.0)
        .with_max_tokens(16);
    let mut stream = m.chat_stream(&req).await.unwrap();
    let mut text = String::new();
    let mut deltas = 0;
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { choice, text: t } => {
                assert_eq!(choice, 0);
                text.push_str(&t);
                deltas += 1;
            }
            StreamEvent::Done(r) => done = Some(r),
        }
    }
    let done = done.expect("a Done event");
    assert!(deltas > 1, "generation should stream in pieces");
    assert_eq!(done.first_text(), text);
    let plain = m.chat(&req).await.unwrap();
    assert_eq!(plain.first_text(), text);
}

#[tokio::test]
async fn long_prompts_are_fed_in_chunks_and_overflow_is_an_error() {
    let m = load(LocalOptions {
        threads: 1,
        context_length: 512,
        batch_size: 32,
        slots: 1,
        ..Default::default()
    });
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(30);
    let req = ChatRequest::new(vec![Message::user(format!("{long}\nHow many foxes?"))])
        .with_temperature(0.0)
        .with_max_tokens(8);
    let n = m.count_prompt_tokens(&req).unwrap();
    assert!(
        n > 32 * 4,
        "prompt of {n} tokens should span several batches"
    );
    let r = m.chat(&req).await.unwrap();
    assert_eq!(r.usage.input_tokens as usize, n);

    let huge = ChatRequest::new(vec![Message::user(long.repeat(4))]).with_max_tokens(8);
    match m.chat(&huge).await {
        Err(ModelError::ContextOverflow {
            prompt_tokens,
            context_length,
        }) => {
            assert!(prompt_tokens > 512);
            assert_eq!(context_length, 512);
        }
        other => panic!("expected a context overflow, got {other:?}"),
    }
    // Generation that reaches the end of the context stops with `length`.
    let r = m
        .chat(
            &ChatRequest::new(vec![Message::user(format!("{long}Repeat the text:"))])
                .with_temperature(0.0),
        )
        .await
        .unwrap();
    if r.choices[0].finish_reason == FinishReason::Length {
        assert_eq!(r.usage.total(), 512);
    } else {
        assert!(r.usage.total() < 512);
    }
    // The model still works.
    assert!(m.chat(&req).await.is_ok());
}

#[tokio::test]
async fn prefix_reuse_evaluates_only_new_tokens() {
    let reuse = load(LocalOptions {
        threads: 1,
        context_length: 2048,
        ..Default::default()
    });
    let fresh = load(LocalOptions {
        threads: 1,
        context_length: 2048,
        prefix_reuse: false,
        ..Default::default()
    });
    let task = "Write a Python function that returns the sum of a list of numbers.";
    let first = ChatRequest::new(vec![Message::user(task)])
        .with_temperature(0.0)
        .with_max_tokens(48);
    let a1 = reuse.chat(&first).await.unwrap();
    let b1 = fresh.chat(&first).await.unwrap();
    assert_eq!(a1.first_text(), b1.first_text());
    let before = reuse.stats();

    let second = ChatRequest::new(vec![
        Message::user(task),
        Message::assistant(a1.first_text()),
        Message::user("Critique this solution briefly."),
    ])
    .with_temperature(0.0)
    .with_max_tokens(16);
    let a2 = reuse.chat(&second).await.unwrap();
    let b2 = fresh.chat(&second).await.unwrap();
    let after = reuse.stats();
    let evaluated = after.prompt_tokens_evaluated - before.prompt_tokens_evaluated;
    let prompt = a2.usage.input_tokens;
    assert!(
        evaluated * 3 < prompt,
        "with reuse {evaluated} of {prompt} prompt tokens were evaluated"
    );
    assert_eq!(
        after.prompt_tokens_reused - before.prompt_tokens_reused + evaluated,
        prompt
    );
    let fresh_stats = fresh.stats();
    assert_eq!(fresh_stats.prompt_tokens_reused, 0);
    // Same tokens either way: the cache is an optimisation, not a change.
    let n = 4;
    let head = |s: &str| s.split_whitespace().take(n).collect::<Vec<_>>().join(" ");
    assert_eq!(head(a2.first_text()), head(b2.first_text()));
}

#[tokio::test(flavor = "current_thread")]
async fn generation_does_not_block_the_runtime() {
    let m = shared();
    let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let started = std::time::Instant::now();
    m.chat(
        &ask("Tell me a story.")
            .with_temperature(0.0)
            .with_max_tokens(48),
    )
    .await
    .unwrap();
    let elapsed = started.elapsed();
    ticker.abort();
    let ticks = ticks.load(std::sync::atomic::Ordering::Relaxed);
    // A blocked runtime would tick at most once.
    assert!(
        ticks >= 3 && ticks as u128 * 50 >= elapsed.as_millis(),
        "{ticks} ticks in {elapsed:?}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_model_and_cancelled_ones_free_their_slot() {
    let m = Arc::new(load(LocalOptions {
        threads: 1,
        context_length: 2048,
        slots: 1,
        ..Default::default()
    }));
    // Four requests on one slot: they queue and all complete.
    let mut handles = Vec::new();
    for i in 0..4 {
        let m = m.clone();
        handles.push(tokio::spawn(async move {
            m.chat(
                &ask(&format!("What is {i} plus {i}?"))
                    .with_temperature(0.0)
                    .with_max_tokens(12),
            )
            .await
        }));
    }
    for h in handles {
        assert!(!h.await.unwrap().unwrap().first_text().is_empty());
    }

    // A request abandoned mid-generation frees the only slot.
    let long = ask("Write a very long essay about the history of computing.")
        .with_temperature(0.0)
        .with_max_tokens(1500);
    let cancelled = tokio::time::timeout(Duration::from_millis(300), m.chat(&long)).await;
    assert!(
        cancelled.is_err(),
        "the long request should still be running"
    );
    let started = std::time::Instant::now();
    let quick = tokio::time::timeout(
        Duration::from_secs(20),
        m.chat(&ask("Hi").with_temperature(0.0).with_max_tokens(4)),
    )
    .await
    .expect("the slot was not freed")
    .unwrap();
    assert!(!quick.first_text().is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
    // The abandoned request stopped early instead of generating 1500 tokens.
    assert!(m.stats().generated_tokens < 4 * 12 + 1000);
}

#[tokio::test]
async fn json_mode_constrains_the_output_to_an_object() {
    let m = shared();
    let mut req = ask("Describe a cat as JSON with fields name and age.")
        .with_temperature(0.0)
        .with_max_tokens(120);
    req.response_format = hone_core::ResponseFormat::JsonObject;
    let r = m.chat(&req).await.unwrap();
    let text = r.first_text();
    assert!(text.starts_with('{'), "{text:?}");
    if r.choices[0].finish_reason == FinishReason::Stop {
        let v: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert!(v.is_object(), "{text}");
    }
}

#[tokio::test]
async fn a_json_schema_holds_the_output_to_it() {
    // The form RethinkMCTS's expansion asks for (hone-agents'
    // `thoughts_schema(2)`, with shorter thoughts: the 135M test model
    // spends a token per character when it loops).
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"thoughts": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object",
            "properties": {
                "thought": {"type": "string", "minLength": 1, "maxLength": 120},
                "reasonableness": {"type": "number", "minimum": 0, "maximum": 1}
            },
            "required": ["thought", "reasonableness"],
            "additionalProperties": false
        }}},
        "required": ["thoughts"],
        "additionalProperties": false
    });
    let m = shared();
    for question in ["How do I reverse a list in Python?", "Tell me a joke."] {
        // Two thoughts of at most 120 characters fit in 400 tokens.
        let mut req = ask(question).with_temperature(0.0).with_max_tokens(400);
        req.response_format = hone_core::ResponseFormat::JsonSchema {
            name: "thoughts".into(),
            schema: schema.clone(),
        };
        let r = m.chat(&req).await.unwrap();
        let text = r.first_text();
        assert_eq!(
            r.choices[0].finish_reason,
            FinishReason::Stop,
            "{} chars, {} tokens: {text}",
            text.len(),
            r.usage.output_tokens
        );
        let v: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        let thoughts = v["thoughts"].as_array().expect("a thoughts array");
        assert!((1..=2).contains(&thoughts.len()), "{text}");
        for t in thoughts {
            assert!(
                !t["thought"].as_str().expect("a thought").is_empty(),
                "{text}"
            );
            assert!(t["reasonableness"].is_number(), "{text}");
            assert_eq!(t.as_object().map(|o| o.len()), Some(2), "{text}");
        }
    }
}

#[tokio::test]
async fn without_the_grammar_the_model_writes_freely_under_its_own_name() {
    let m = load(LocalOptions {
        threads: 1,
        context_length: 1024,
        constrained_output: false,
        ..Default::default()
    });
    assert!(
        m.descriptor()
            .model
            .ends_with(hone_local::UNCONSTRAINED_SUFFIX),
        "{:?}",
        m.descriptor()
    );
    let mut req = ask("Tell me a joke.")
        .with_temperature(0.0)
        .with_max_tokens(40);
    req.response_format = hone_core::ResponseFormat::JsonSchema {
        name: "answer".into(),
        schema: serde_json::json!({
            "type": "object",
            "properties": {"answer": {"type": "integer"}},
            "required": ["answer"]
        }),
    };
    let text = m.chat(&req).await.unwrap().first_text().to_string();
    // Held to this schema the reply could only be {"answer": <integer>};
    // free, the model tells its joke.
    let parsed = serde_json::from_str::<serde_json::Value>(text.trim()).ok();
    assert!(
        parsed.as_ref().and_then(|v| v["answer"].as_i64()).is_none(),
        "{text}"
    );
    assert!(!text.trim().is_empty());
}

fn weather_tool() -> hone_core::ToolSpec {
    hone_core::ToolSpec {
        name: "get_weather".into(),
        description: "Current weather in a city".into(),
        parameters: serde_json::json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        }),
    }
}

#[tokio::test]
async fn a_required_tool_call_is_always_well_formed_and_never_streamed_as_text() {
    let m = shared();
    let mut req = ask("What is the weather in Paris?")
        .with_temperature(0.0)
        .with_max_tokens(96)
        .with_tools(vec![weather_tool()]);
    req.tool_choice = hone_core::ToolChoice::Required;
    let mut stream = m.chat_stream(&req).await.unwrap();
    let mut streamed = String::new();
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { text, .. } => streamed.push_str(&text),
            StreamEvent::Done(r) => done = Some(r),
        }
    }
    let done = done.expect("a Done event");
    let choice = &done.choices[0];
    // The grammar makes even a 135M model call the tool, with JSON
    // arguments, and nothing else.
    assert_eq!(choice.finish_reason, FinishReason::ToolCalls, "{choice:?}");
    assert_eq!(choice.tool_calls.len(), 1, "{choice:?}");
    assert_eq!(choice.tool_calls[0].name, "get_weather");
    assert!(choice.tool_calls[0].arguments_json().unwrap().is_object());
    assert!(!streamed.contains("<tool_call>"), "{streamed:?}");
    assert_eq!(streamed, choice.text);
}

#[tokio::test]
async fn tool_choice_none_offers_no_tools() {
    let m = shared();
    let mut req = ask("Say hi.")
        .with_temperature(0.0)
        .with_max_tokens(16)
        .with_tools(vec![weather_tool()]);
    req.tool_choice = hone_core::ToolChoice::None;
    let with_none = m.chat(&req).await.unwrap();
    let plain = m
        .chat(&ask("Say hi.").with_temperature(0.0).with_max_tokens(16))
        .await
        .unwrap();
    assert!(with_none.choices[0].tool_calls.is_empty());
    assert_eq!(with_none.first_text(), plain.first_text());
}

#[test]
fn loading_a_non_gguf_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.gguf");
    std::fs::write(&p, b"<html>not found</html>").unwrap();
    let err = LocalModel::load(&p, LocalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not a GGUF"), "{err}");
    let err =
        LocalModel::load(&dir.path().join("missing.gguf"), LocalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("missing.gguf"), "{err}");
}
