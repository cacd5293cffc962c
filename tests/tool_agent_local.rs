//! The tool agent on the embedded model (SmolLM2-135M, the test model):
//! the first turn is required to call a tool (the grammar makes even a
//! 135M model do it well-formed), the tool runs, its result goes back, and
//! the last turn answers in text that streams without any call markup.

use hone::agents::events::AgentEvent;
use hone::core::graph::RunOptions;
use hone::core::ToolChoice;
use hone::local::provision::{locate, SMOLLM2_135M};
use hone::local::{LocalModel, LocalOptions};
use hone::prelude::ToolAgent;
use hone::prelude::{JsonSchema, Tool};

struct Weather;

#[derive(serde::Deserialize, JsonSchema)]
#[schemars(crate = "hone::schemars")]
struct WeatherArgs {
    #[allow(dead_code)]
    city: Option<String>,
}

impl Tool for Weather {
    type Args = WeatherArgs;
    type Output = serde_json::Value;
    type Error = std::convert::Infallible;
    fn name(&self) -> &str {
        "get_weather"
    }
    fn description(&self) -> &str {
        "Current weather in a city."
    }
    async fn call(&self, _args: WeatherArgs) -> Result<serde_json::Value, Self::Error> {
        Ok(serde_json::json!({"sky": "sunny", "celsius": 21}))
    }
}

fn model() -> LocalModel {
    let cache = hone::local::default_cache_dir();
    let path = locate(&SMOLLM2_135M, &cache).unwrap_or_else(|| {
        panic!(
            "the test model is not provisioned in {}: run `hone model fetch smollm2-135m`",
            cache.display()
        )
    });
    LocalModel::load(
        &path,
        LocalOptions {
            threads: 1,
            context_length: 2048,
            ..Default::default()
        },
    )
    .expect("loading SmolLM2")
}

#[tokio::test]
async fn the_loop_runs_a_tool_and_answers_on_the_local_model() {
    let agent = ToolAgent::builder(model())
        .tool(Weather)
        .first_tool_choice(ToolChoice::Required)
        .max_steps(2)
        .sampling(hone::core::Sampling {
            temperature: Some(0.0),
            max_tokens: Some(48),
            ..Default::default()
        })
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = agent
        .run(
            "What is the weather in Paris?",
            RunOptions::default().with_events(tx),
        )
        .await
        .unwrap();
    assert!(out.stop.is_finished(), "{}", out.stop);
    assert_eq!(out.state.calls.len(), 1, "{:?}", out.state.messages);
    let record = &out.state.calls[0];
    assert_eq!(record.call.name, "get_weather");
    assert!(record.outcome.ok, "{record:?}");
    let answer = out.state.answer.clone().expect("the last turn answers");
    assert!(!answer.contains("<tool_call>"), "{answer:?}");

    let mut streamed = String::new();
    while let Ok(event) = rx.try_recv() {
        if let Some(AgentEvent::TextDelta { turn: 2, text }) = AgentEvent::from_run_event(&event) {
            streamed.push_str(&text);
        }
    }
    assert_eq!(streamed, answer);
}
