//! The OpenAI-compatible server with a scripted model (no model file).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::http::request;
use futures::StreamExt;
use hone_core::openai::{OpenAiConfig, OpenAiModel};
use hone_core::{ChatRequest, LanguageModel, Message, ScriptedModel, StreamEvent};
use hone_local::serve::{serve_with, ServeOptions};
use serde_json::Value;

async fn start(model: Arc<dyn LanguageModel>) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve_with(model, listener, ServeOptions::default(), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

#[tokio::test]
async fn plain_streaming_models_and_errors() {
    let model = ScriptedModel::in_order(["four", "five"]);
    let (addr, _stop) = start(Arc::new(model.clone())).await;

    let (status, body) = request(addr, "GET", "/v1/models", "").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"][0]["object"], "model");

    let req = r#"{"model":"m","messages":[{"role":"user","content":"2+2?"}],"temperature":0,"max_tokens":5,"stop":["x"],"seed":3}"#;
    let (status, body) = request(addr, "POST", "/v1/chat/completions", req).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "four");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let seen = &model.requests()[0];
    assert_eq!(seen.sampling.max_tokens, Some(5));
    assert_eq!(seen.sampling.seed, Some(3));
    assert_eq!(seen.sampling.stop, vec!["x".to_string()]);

    let req = r#"{"model":"m","messages":[{"role":"user","content":"2+3?"}],"stream":true,"stream_options":{"include_usage":true}}"#;
    let (status, body) = request(addr, "POST", "/v1/chat/completions", req).await;
    assert_eq!(status, 200);
    assert!(body.contains("chat.completion.chunk"), "{body}");
    assert!(body.contains(r#""content":"five""#), "{body}");
    assert!(body.contains(r#""finish_reason":"stop""#), "{body}");
    assert!(body.contains("\"usage\""), "{body}");
    assert!(body.contains("data: [DONE]"), "{body}");

    let (status, body) = request(addr, "POST", "/v1/chat/completions", "{not json").await;
    assert_eq!(status, 400);
    assert!(body.contains("\"error\""), "{body}");

    // The script is exhausted: a server-side failure, reported as JSON.
    let req = r#"{"messages":[{"role":"user","content":"again"}]}"#;
    let (status, body) = request(addr, "POST", "/v1/chat/completions", req).await;
    assert_eq!(status, 500);
    assert!(body.contains("scripted model"), "{body}");
}

#[tokio::test]
async fn the_openai_backend_talks_to_the_server() {
    let (addr, stop) = start(Arc::new(ScriptedModel::in_order(["hello", "world"]))).await;
    let client = OpenAiModel::new(OpenAiConfig::new(format!("http://{addr}/v1"), "any")).unwrap();
    let req = ChatRequest::new(vec![Message::user("hi")]);
    assert_eq!(client.chat(&req).await.unwrap().first_text(), "hello");
    let mut stream = client.chat_stream(&req).await.unwrap();
    let mut text = String::new();
    let mut done = None;
    while let Some(e) = stream.next().await {
        match e.unwrap() {
            StreamEvent::Delta { text: t, .. } => text.push_str(&t),
            StreamEvent::Done(r) => done = Some(r),
        }
    }
    assert_eq!(text, "world");
    assert_eq!(done.unwrap().first_text(), "world");
    let _ = stop.send(());
}
