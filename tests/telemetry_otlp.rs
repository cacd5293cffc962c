//! Span export over OTLP/HTTP, checked by a loopback receiver that decodes
//! the protobuf requests it gets: a self-refine run with a verifier and a
//! tool-agent run show up as traces with the GenAI attributes and hone's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hone::prelude::*;
use hone::telemetry::otlp_layer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_subscriber::layer::SubscriberExt;

/// A span as received: name and attributes as strings.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    attributes: BTreeMap<String, String>,
}

fn value_text(value: &Option<Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// An OTLP/HTTP receiver on loopback, on a runtime of its own (the
/// exporter's flush blocks the test's thread): decodes every POST to
/// `/v1/traces`.
type Shared<T> = Arc<Mutex<Vec<T>>>;

fn receiver() -> (String, Shared<Received>, Shared<String>) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/v1/traces", std_listener.local_addr().unwrap());
    let spans = Arc::new(Mutex::new(Vec::new()));
    let services = Arc::new(Mutex::new(Vec::new()));
    let (spans_w, services_w) = (spans.clone(), services.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    std::thread::spawn(move || {
        runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
        while let Ok((mut stream, _)) = listener.accept().await {
            let (spans, services) = (spans_w.clone(), services_w.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                // Head, then a body of content-length bytes.
                let (head_end, length) = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        assert!(head.starts_with("post /v1/traces"), "{head}");
                        assert!(head.contains("content-type: application/x-protobuf"), "{head}");
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .expect("content-length");
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let request =
                    ExportTraceServiceRequest::decode(&buf[head_end..head_end + length]).unwrap();
                for resource_spans in request.resource_spans {
                    for attr in resource_spans.resource.iter().flat_map(|r| &r.attributes) {
                        if attr.key == "service.name" {
                            let v = attr.value.as_ref().map(|v| &v.value).cloned().flatten();
                            services.lock().unwrap().push(value_text(&v));
                        }
                    }
                    for scope in resource_spans.scope_spans {
                        for span in scope.spans {
                            let attributes = span
                                .attributes
                                .iter()
                                .map(|kv| {
                                    let v = kv.value.as_ref().map(|v| &v.value).cloned().flatten();
                                    (kv.key.clone(), value_text(&v))
                                })
                                .collect();
                            spans.lock().unwrap().push(Received {
                                name: span.name,
                                attributes,
                            });
                        }
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    })
    });
    (url, spans, services)
}

struct NoTodo;

impl Verifier for NoTodo {
    fn name(&self) -> &str {
        "no_todo"
    }
    async fn verify(
        &self,
        input: VerifyInput<'_>,
        _ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        let todos = input.attempt.answer.matches("TODO").count();
        let feedback = format!("{todos} TODO markers");
        Ok(Some(Evidence::decided(
            self.name(),
            usize::from(todos == 0),
            1,
            feedback,
        )))
    }
}

fn find<'a>(spans: &'a [Received], name: &str) -> Vec<&'a Received> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test]
async fn runs_are_exported_with_genai_and_hone_attributes() {
    let (url, spans, services) = receiver();
    let (layer, telemetry) = otlp_layer(&url).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    let guard = tracing::subscriber::set_default(subscriber);

    let model = ScriptedModel::in_order([
        "fn main() { /* TODO */ }",
        "Unfinished.\nVERDICT: INCORRECT",
        "fn main() {}",
    ])
    .named("tiny-model");
    let run = SelfRefine::builder(Model::new(model))
        .verifier(NoTodo)
        .build()
        .unwrap()
        .run(
            Task::text("Write an empty Rust main."),
            RunOptions::default(),
        )
        .await
        .unwrap();
    assert!(run.best().unwrap().verified());

    drop(guard);
    drop(telemetry); // flushes the batch
    let spans = spans.lock().unwrap().clone();

    assert_eq!(
        services.lock().unwrap().first().map(String::as_str),
        Some("hone")
    );
    let agent = find(&spans, "agent");
    assert_eq!(agent.len(), 1, "{spans:#?}");
    assert_eq!(agent[0].attributes["hone.strategy"], "self-refine");

    let chats = find(&spans, "chat tiny-model");
    assert_eq!(chats.len(), 3, "{spans:#?}");
    let critic = chats
        .iter()
        .find(|c| c.attributes.get("hone.node").map(String::as_str) == Some("critic"))
        .expect("a critic call");
    assert_eq!(critic.attributes["gen_ai.operation.name"], "chat");
    assert_eq!(critic.attributes["gen_ai.request.model"], "tiny-model");
    assert_eq!(critic.attributes["gen_ai.provider.name"], "scripted");
    assert_eq!(critic.attributes["gen_ai.usage.input_tokens"], "0");
    assert!(critic.attributes.contains_key("gen_ai.usage.output_tokens"));
    assert!(critic.attributes["gen_ai.response.finish_reasons"].contains("stop"));
    assert_eq!(critic.attributes["hone.template"], "refine_critic.j2");

    let verdicts: Vec<_> = find(&spans, "verify")
        .iter()
        .map(|v| {
            (
                v.attributes["hone.verifier"].clone(),
                v.attributes["hone.verified"].clone(),
                v.attributes["hone.evidence.passed"].clone(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("no_todo".to_string(), "false".to_string(), "0".to_string()),
            ("no_todo".to_string(), "true".to_string(), "1".to_string())
        ]
    );
    assert!(find(&spans, "node").len() >= 4, "{spans:#?}");
}
