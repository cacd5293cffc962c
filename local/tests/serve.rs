//! The OpenAI-compatible server with a scripted model (no model file).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use common::http::{request, request_with};
use futures::StreamExt;
use hone_core::openai::{ApiKey, OpenAiConfig, OpenAiModel};
use hone_core::{
    ChatRequest, ChatResponse, ChatStream, LanguageModel, Message, ModelDescriptor, ModelError,
    ScriptedModel, StreamEvent,
};
use hone_local::serve::{serve, serve_with, ServeError, ServeOptions};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

async fn start(model: Arc<dyn LanguageModel>) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    start_with(model, ServeOptions::default()).await
}

async fn start_with(
    model: Arc<dyn LanguageModel>,
    options: ServeOptions,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        serve_with(model, listener, options, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// A model that answers only when the test opens its gate (one answer per
/// permit added); its streams send one delta, then wait for the gate.
#[derive(Clone)]
struct GatedModel {
    gate: Arc<Semaphore>,
    entered: Arc<Semaphore>,
    /// One permit per stream dropped.
    dropped: Arc<Semaphore>,
}

struct DropSignal(Arc<Semaphore>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

impl GatedModel {
    fn new() -> Self {
        GatedModel {
            gate: Arc::new(Semaphore::new(0)),
            entered: Arc::new(Semaphore::new(0)),
            dropped: Arc::new(Semaphore::new(0)),
        }
    }
    /// Waits until a request is inside the model.
    async fn wait_entered(&self) {
        self.entered.acquire().await.unwrap().forget();
    }
    fn answer(r: &ChatRequest) -> ChatResponse {
        ChatResponse {
            model: "gated".into(),
            choices: vec![hone_core::Choice {
                text: "ok".into(),
                tool_calls: Vec::new(),
                finish_reason: hone_core::FinishReason::Stop,
            }],
            usage: hone_core::Usage {
                input_tokens: r.messages.len() as u64,
                output_tokens: 1,
            },
            from_cache: false,
        }
    }
}

#[async_trait]
impl LanguageModel for GatedModel {
    fn descriptor(&self) -> ModelDescriptor {
        ModelDescriptor {
            backend: "test".into(),
            model: "gated".into(),
            endpoint: None,
        }
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.entered.add_permits(1);
        self.gate.acquire().await.unwrap().forget();
        Ok(Self::answer(request))
    }
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        self.entered.add_permits(1);
        let gate = Arc::clone(&self.gate);
        let signal = DropSignal(Arc::clone(&self.dropped));
        let done = Self::answer(request);
        let first = futures::stream::iter([Ok(StreamEvent::Delta {
            choice: 0,
            text: "o".into(),
        })]);
        let rest = futures::stream::once(async move {
            let _signal = signal;
            gate.acquire().await.unwrap().forget();
            Ok(StreamEvent::Done(done))
        });
        Ok(first.chain(rest).boxed())
    }
}

const HELLO: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;

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

#[tokio::test]
async fn a_key_is_required_when_set() {
    let options = ServeOptions {
        api_key: Some(ApiKey::new("s3cret-serve-key")),
        ..Default::default()
    };
    let (addr, stop) = start_with(Arc::new(ScriptedModel::in_order(["a", "b"])), options).await;
    let post = "/v1/chat/completions";
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret-serve-key"),
        Some("Bearer "),
    ] {
        let (status, body) = request_with(addr, "POST", post, auth, HELLO).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(body.contains("invalid_api_key"), "{body}");
        assert!(!body.contains("s3cret"), "{body}");
    }
    let (status, _) = request_with(addr, "GET", "/v1/models", None, "").await;
    assert_eq!(status, 401);
    let (status, body) =
        request_with(addr, "POST", post, Some("Bearer s3cret-serve-key"), HELLO).await;
    assert_eq!(status, 200, "{body}");
    // hone's own client sends the key the same way.
    let client = OpenAiModel::new(
        OpenAiConfig::new(format!("http://{addr}/v1"), "any")
            .with_api_key(ApiKey::new("s3cret-serve-key")),
    )
    .unwrap();
    let req = ChatRequest::new(vec![Message::user("hi")]);
    assert_eq!(client.chat(&req).await.unwrap().first_text(), "b");
    let _ = stop.send(());
}

#[tokio::test]
async fn non_loopback_addresses_need_a_key() {
    // Refused before anything is bound: no socket is ever opened here.
    for addr in [
        "0.0.0.0:0",
        "[::]:0",
        "192.0.2.7:8080",
        "[::ffff:192.0.2.7]:80",
    ] {
        let err = serve(
            Arc::new(ScriptedModel::new()),
            addr.parse().unwrap(),
            ServeOptions::default(),
            async {},
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ServeError::Exposed { .. }), "{addr}: {err}");
        assert!(err.to_string().contains("HONE_SERVE_API_KEY"), "{err}");
    }
    let blank = ServeOptions {
        api_key: Some(ApiKey::new("  ")),
        ..Default::default()
    };
    let err = serve(
        Arc::new(ScriptedModel::new()),
        "127.0.0.1:0".parse().unwrap(),
        blank,
        async {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServeError::Options(_)), "{err}");
    // Loopback without a key is fine (and stops when told to).
    serve(
        Arc::new(ScriptedModel::new()),
        "127.0.0.1:0".parse().unwrap(),
        ServeOptions::default(),
        async {},
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn n_and_max_tokens_over_their_caps_are_400() {
    let model = ScriptedModel::in_order(["x"]);
    let options = ServeOptions {
        max_n: 2,
        max_tokens: 64,
        ..Default::default()
    };
    let (addr, stop) = start_with(Arc::new(model.clone()), options).await;
    for extra in [
        r#""n":3"#,
        r#""max_tokens":65"#,
        r#""max_completion_tokens":1000000"#,
    ] {
        let body = format!(r#"{{"messages":[{{"role":"user","content":"hi"}}],{extra}}}"#);
        let (status, text) = request(addr, "POST", "/v1/chat/completions", &body).await;
        assert_eq!(status, 400, "{extra}: {text}");
        assert!(text.contains("limit") || text.contains("range"), "{text}");
    }
    assert!(
        model.requests().is_empty(),
        "nothing over the caps reaches the model"
    );
    let (status, _) = request(addr, "POST", "/v1/chat/completions", HELLO).await;
    assert_eq!(status, 200);
    assert_eq!(model.requests()[0].sampling.max_tokens, Some(64));
    let _ = stop.send(());
}

#[tokio::test]
async fn a_full_queue_is_503_and_frees_up() {
    let model = GatedModel::new();
    let options = ServeOptions {
        max_queued: 1,
        ..Default::default()
    };
    let (addr, stop) = start_with(Arc::new(model.clone()), options).await;
    let post = "/v1/chat/completions";
    let first = tokio::spawn(async move { request(addr, "POST", post, HELLO).await });
    model.wait_entered().await;
    let (status, raw) = guarded(raw_request(addr, HELLO)).await;
    assert_eq!(status, 503, "{raw}");
    assert!(raw.to_ascii_lowercase().contains("retry-after: 1"), "{raw}");
    assert!(raw.contains("server_overloaded"), "{raw}");
    model.gate.add_permits(1);
    assert_eq!(first.await.unwrap().0, 200);
    // The slot in the queue came back.
    model.gate.add_permits(1);
    assert_eq!(request(addr, "POST", post, HELLO).await.0, 200);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_client_leaving_mid_stream_frees_its_place() {
    let model = GatedModel::new();
    let options = ServeOptions {
        max_queued: 1,
        ..Default::default()
    };
    let (addr, stop) = start_with(Arc::new(model.clone()), options).await;
    // A stream that sends its first delta and then hangs, until the client
    // hangs up.
    let streaming = r#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(http_post(streaming).as_bytes())
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(r#""content":"o""#) {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(guarded(raw_request(addr, HELLO)).await.0, 503);
    drop(conn);
    // The server notices, drops the stream (cancelling generation) and
    // with it the request's place in the queue.
    guarded(model.dropped.acquire()).await.unwrap().forget();
    model.gate.add_permits(1);
    assert_eq!(raw_request(addr, HELLO).await.0, 200);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_stalled_body_is_408_and_frees_its_place() {
    let options = ServeOptions {
        max_queued: 1,
        body_timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let (addr, stop) = start_with(Arc::new(ScriptedModel::in_order(["ok"])), options).await;
    // Promise a body, send half of it and stall.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = http_post(HELLO);
    conn.write_all(&head.as_bytes()[..head.len() - 5])
        .await
        .unwrap();
    let mut raw = Vec::new();
    guarded(conn.read_to_end(&mut raw)).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 408"), "{raw}");
    assert_eq!(raw_request(addr, HELLO).await.0, 200);
    let _ = stop.send(());
}

/// Fails a test that would otherwise hang when the behaviour under test
/// regresses (a guard, not a measurement: the bound is generous).
async fn guarded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(60), f)
        .await
        .expect("the server never answered")
}

fn http_post(body: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Status and the whole raw response (headers included).
async fn raw_request(addr: SocketAddr, body: &str) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(http_post(body).as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}
