//! The OpenAI-compatible backend against a real HTTP server on loopback.

use std::time::{Duration, Instant};

use futures::StreamExt;
use hone_core::openai::{ApiKey, OpenAiConfig, OpenAiModel, RetryPolicy};
use hone_core::{ChatRequest, FinishReason, LanguageModel, Message, ModelError, StreamEvent};
use hone_test_support::{FakeServer, Reply};

fn config(server: &FakeServer) -> OpenAiConfig {
    OpenAiConfig::new(server.base_url(), "fake-model")
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
        })
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new(vec![Message::system("be brief"), Message::user(text)])
        .with_temperature(0.0)
        .with_max_tokens(32)
}

#[tokio::test]
async fn plain_completion_sends_the_request_and_parses_the_answer() {
    let server = FakeServer::start(|_, _| Reply::completion("four")).await;
    let model =
        OpenAiModel::new(config(&server).with_api_key(ApiKey::new("sk-test-secret"))).unwrap();
    let answer = model.chat(&ask("2+2?")).await.unwrap();
    assert_eq!(answer.first_text(), "four");
    assert_eq!(answer.usage.input_tokens, 11);
    assert_eq!(answer.usage.output_tokens, 7);
    assert_eq!(answer.choices[0].finish_reason, FinishReason::Stop);
    let seen = &server.requests()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.header("authorization"), Some("Bearer sk-test-secret"));
    let body = seen.json();
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "2+2?");
    assert!(!format!("{model:?}").contains("sk-test-secret"));
}

#[tokio::test]
async fn streaming_yields_deltas_then_the_assembled_response() {
    let server = FakeServer::start(|_, _| Reply::stream(&["Hel", "lo", " world"])).await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    let mut stream = model.chat_stream(&ask("greet")).await.unwrap();
    let mut deltas = String::new();
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { text, .. } => deltas.push_str(&text),
            StreamEvent::Done(r) => done = Some(r),
        }
    }
    let done = done.expect("a final response");
    assert_eq!(deltas, "Hello world");
    assert_eq!(done.first_text(), "Hello world");
    assert_eq!(done.usage.output_tokens, 3);
    assert_eq!(server.requests()[0].json()["stream"], true);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let server = FakeServer::start(|n, _| {
        if n == 0 {
            Reply::status(
                429,
                r#"{"error":{"message":"slow down","type":"rate_limit"}}"#,
            )
            .with_header("retry-after", "1")
        } else {
            Reply::completion("ok")
        }
    })
    .await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    let started = Instant::now();
    let answer = model.chat(&ask("x")).await.unwrap();
    assert_eq!(answer.first_text(), "ok");
    assert_eq!(server.request_count(), 2);
    // Backoff alone would wait at most 10 ms: the wait is the server's.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured: retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn rate_limit_that_never_clears_is_reported() {
    let server = FakeServer::start(|_, _| {
        Reply::status(429, r#"{"error":{"message":"slow down"}}"#).with_header("retry-after", "0")
    })
    .await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    let err = model.chat(&ask("x")).await.unwrap_err();
    assert!(matches!(err, ModelError::RateLimited { .. }), "{err:?}");
    assert_eq!(server.request_count(), 4, "first attempt plus 3 retries");
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = FakeServer::start(|n, _| {
        if n == 0 {
            Reply::status(500, "internal error")
        } else {
            Reply::completion("recovered")
        }
    })
    .await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    assert_eq!(
        model.chat(&ask("x")).await.unwrap().first_text(),
        "recovered"
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn malformed_body_is_an_error_not_a_panic_and_not_retried() {
    for body in [
        "this is not json",
        r#"{"object":"chat.completion","choices":[]}"#,
        r#"{"choices":[{"index":0}]}"#,
    ] {
        let server = FakeServer::start(move |_, _| Reply::status(200, body)).await;
        let model = OpenAiModel::new(config(&server)).unwrap();
        let err = model.chat(&ask("x")).await.unwrap_err();
        assert!(matches!(err, ModelError::Malformed(_)), "{body}: {err:?}");
        assert_eq!(server.request_count(), 1);
    }
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_times_out_after_retries() {
    let server =
        FakeServer::start(|_, _| Reply::completion("late").after(Duration::from_secs(3))).await;
    let model = OpenAiModel::new(
        config(&server)
            .with_timeout(Duration::from_millis(200))
            .with_retry(RetryPolicy {
                max_retries: 1,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
            }),
    )
    .unwrap();
    let err = model.chat(&ask("x")).await.unwrap_err();
    assert_eq!(err, ModelError::Timeout(Duration::from_millis(200)));
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = FakeServer::start(|_, _| {
        Reply::status(
            400,
            r#"{"error":{"message":"unknown model","type":"invalid_request_error"}}"#,
        )
    })
    .await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    let err = model.chat(&ask("x")).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Rejected { status: 400, message } if message.contains("unknown model")),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn tool_calls_are_parsed() {
    let server = FakeServer::start(|_, _| {
        Reply::json(serde_json::json!({
            "model": "fake-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "run_python", "arguments": "{\"code\":\"print(1)\"}"}}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4}
        }))
    })
    .await;
    let model = OpenAiModel::new(config(&server)).unwrap();
    let r = model.chat(&ask("x")).await.unwrap();
    assert_eq!(r.choices[0].finish_reason, FinishReason::ToolCalls);
    let call = &r.choices[0].tool_calls[0];
    assert_eq!(call.name, "run_python");
    assert_eq!(call.arguments_json().unwrap()["code"], "print(1)");
}

#[tokio::test]
async fn concurrency_limit_is_shared_per_endpoint() {
    let server =
        FakeServer::start(|_, _| Reply::completion("ok").after(Duration::from_millis(100))).await;
    let a = std::sync::Arc::new(OpenAiModel::new(config(&server).with_max_concurrency(2)).unwrap());
    let b = std::sync::Arc::new(OpenAiModel::new(config(&server).with_max_concurrency(2)).unwrap());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let m = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { m.chat(&ask("x")).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.request_count(), 8);
    assert!(server.max_in_flight() <= 2, "{}", server.max_in_flight());
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let err = OpenAiModel::new(OpenAiConfig::new("localhost:8000", "m")).unwrap_err();
    assert!(err.to_string().contains("http://"), "{err}");
    let err = OpenAiModel::new(OpenAiConfig::new("http://x/v1", " ")).unwrap_err();
    assert!(err.to_string().contains("model"), "{err}");
}
