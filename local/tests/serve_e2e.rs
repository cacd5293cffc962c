//! End to end: hone's OpenAI-compatible backend against `serve` running a
//! real local model (SmolLM2-135M-Instruct).

mod common;

use std::sync::Arc;

use common::http::request;
use futures::StreamExt;
use hone_core::openai::{OpenAiConfig, OpenAiModel};
use hone_core::{ChatRequest, FinishReason, LanguageModel, Message, StreamEvent};
use hone_local::serve::{serve_with, ServeOptions};
use hone_local::{LocalModel, LocalOptions};

#[tokio::test]
async fn openai_client_against_a_served_local_model() {
    let path = common::smollm2_path();
    let local = Arc::new(
        LocalModel::load(
            &path,
            LocalOptions {
                threads: 1,
                context_length: 2048,
                slots: 2,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(
        local.clone(),
        listener,
        ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let client =
        OpenAiModel::new(OpenAiConfig::new(format!("http://{addr}/v1"), "smollm2")).unwrap();
    let req = ChatRequest::new(vec![Message::user("What is the capital of France?")])
        .with_temperature(0.0)
        .with_max_tokens(24);

    // Plain: the same greedy answer as calling the model directly.
    let direct = local.chat(&req).await.unwrap();
    let remote = client.chat(&req).await.unwrap();
    assert!(!remote.first_text().is_empty());
    assert_eq!(remote.first_text(), direct.first_text());
    assert_eq!(remote.usage, direct.usage);
    assert_eq!(
        remote.choices[0].finish_reason,
        direct.choices[0].finish_reason
    );

    // Streaming: several deltas that add up to the same answer.
    let mut stream = client.chat_stream(&req).await.unwrap();
    let mut text = String::new();
    let mut deltas = 0;
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { text: t, .. } => {
                text.push_str(&t);
                deltas += 1;
            }
            StreamEvent::Done(r) => done = Some(r),
        }
    }
    assert!(deltas > 1, "expected a streamed answer");
    assert_eq!(text, direct.first_text());
    assert_eq!(done.unwrap().first_text(), direct.first_text());

    // Limits and stop sequences travel over the wire.
    let mut short = req.clone();
    short.sampling.max_tokens = Some(3);
    let r = client.chat(&short).await.unwrap();
    assert_eq!(r.choices[0].finish_reason, FinishReason::Length);
    assert_eq!(r.usage.output_tokens, 3);

    // A prompt over the context length is a 400 with a clear message.
    let huge = format!(
        r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "overflow ".repeat(3000)
    );
    let (status, body) = request(addr, "POST", "/v1/chat/completions", &huge).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("context_length_exceeded"), "{body}");
    assert!(
        body.contains("exceeds the context length of 2048"),
        "{body}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
