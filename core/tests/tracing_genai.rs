//! Model calls made through a node context are `tracing` spans carrying the
//! OpenTelemetry GenAI attribute names, and API keys appear nowhere.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hone_core::graph::NodeContext;
use hone_core::{Budget, ChatRequest, ChatResponse, Message, ScriptedModel, Usage};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<BTreeMap<String, String>>>);

struct Collect<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "chat" {
            let mut map = self.0.lock().unwrap();
            attrs.record(&mut Collect(&mut map));
        }
    }
    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut map = self.0.lock().unwrap();
        values.record(&mut Collect(&mut map));
    }
}

#[test]
fn chat_span_has_genai_attributes() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let model = ScriptedModel::new().named("tiny");
    let mut response = ChatResponse::text("tiny-2024", "hi");
    response.usage = Usage {
        input_tokens: 12,
        output_tokens: 3,
    };
    model.push_response(response);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ctx = NodeContext::detached(Budget::unlimited());
        let req = ChatRequest::new(vec![Message::user("hello")])
            .with_temperature(0.2)
            .with_max_tokens(50);
        ctx.chat(&model, &req).await.unwrap();
    });
    let fields = captured.0.lock().unwrap().clone();
    for name in [
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.request.temperature",
        "gen_ai.request.max_tokens",
        "gen_ai.response.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.finish_reasons",
    ] {
        assert!(fields.contains_key(name), "missing {name} in {fields:?}");
    }
    assert_eq!(fields["gen_ai.request.model"], "tiny");
    assert_eq!(fields["gen_ai.response.model"], "\"tiny-2024\"");
    assert_eq!(fields["gen_ai.usage.input_tokens"], "12");
    assert_eq!(fields["gen_ai.usage.output_tokens"], "3");
}
