//! The tool agent against a real HTTP endpoint on loopback that streams its
//! tool calls in fragments, the way OpenAI-compatible servers do: ids and
//! names in the first fragment, arguments split across chunks, two calls
//! interleaved, text before the calls.

use std::time::Duration;

use hone_agents::events::AgentEvent;
use hone_agents::tool::{JsonSchema, Tool};
use hone_agents::tool_agent::ToolAgent;
use hone_core::graph::RunOptions;
use hone_core::openai::{OpenAiConfig, OpenAiModel};
use hone_core::Role;
use hone_test_support::{FakeServer, Reply};
use serde::Deserialize;
use serde_json::json;

struct Weather;

#[derive(Deserialize, JsonSchema)]
struct WeatherArgs {
    /// City name.
    city: String,
}

#[derive(Debug, thiserror::Error)]
#[error("no weather station in {0}")]
struct UnknownCity(String);

impl Tool for Weather {
    type Args = WeatherArgs;
    type Output = serde_json::Value;
    type Error = UnknownCity;
    fn name(&self) -> &str {
        "weather"
    }
    fn description(&self) -> &str {
        "Current temperature in a city, in degrees Celsius."
    }
    async fn call(&self, args: WeatherArgs) -> Result<serde_json::Value, UnknownCity> {
        match args.city.as_str() {
            "Oslo" => Ok(json!({"city": "Oslo", "celsius": -3})),
            "Lima" => Ok(json!({"city": "Lima", "celsius": 19})),
            other => Err(UnknownCity(other.to_string())),
        }
    }
}

fn fragment(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> serde_json::Value {
    let mut function = json!({ "arguments": args });
    if let Some(name) = name {
        function["name"] = json!(name);
    }
    let mut call = json!({ "index": index, "type": "function", "function": function });
    if let Some(id) = id {
        call["id"] = json!(id);
    }
    json!({ "tool_calls": [call] })
}

#[tokio::test]
async fn streamed_tool_calls_are_assembled_run_and_answered() {
    let server = FakeServer::start(|i, _| match i {
        0 => Reply::stream_deltas(
            &[
                json!({"role": "assistant", "content": "Let me check. "}),
                fragment(0, Some("call_oslo"), Some("weather"), ""),
                fragment(0, None, None, "{\"ci"),
                fragment(1, Some("call_lima"), Some("weather"), "{\"city\""),
                fragment(0, None, None, "ty\": \"Oslo\"}"),
                fragment(1, None, None, ": \"Lima\"}"),
            ],
            "tool_calls",
        ),
        _ => Reply::stream(&["Oslo is ", "colder: -3 °C ", "against 19 °C."]),
    })
    .await;
    let model = OpenAiModel::new(
        OpenAiConfig::new(server.base_url(), "fake-model").with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
    let agent = ToolAgent::builder(model)
        .system("Answer with the tools.")
        .tool(Weather)
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let out = agent
        .run(
            "Which is colder, Oslo or Lima?",
            RunOptions::default().with_events(tx),
        )
        .await
        .unwrap();

    assert!(out.stop.is_finished(), "{}", out.stop);
    assert_eq!(
        out.state.answer.as_deref(),
        Some("Oslo is colder: -3 °C against 19 °C.")
    );
    let calls = &out.state.calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].call.id, "call_oslo");
    assert_eq!(calls[0].call.arguments, r#"{"city": "Oslo"}"#);
    assert_eq!(calls[0].outcome.output["celsius"], -3);
    assert_eq!(calls[1].outcome.output["celsius"], 19);

    // What the server saw: the tools offered with their derived schema, then
    // the assistant's calls and both results, each naming its call.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = requests[0].json();
    assert_eq!(first["stream"], true);
    assert_eq!(first["tools"][0]["function"]["name"], "weather");
    assert_eq!(
        first["tools"][0]["function"]["parameters"]["properties"]["city"]["description"],
        "City name."
    );
    let second = requests[1].json();
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert_eq!(messages[2]["content"], "Let me check. ");
    assert_eq!(messages[2]["tool_calls"][1]["id"], "call_lima");
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[3]["tool_call_id"], "call_oslo");
    assert_eq!(messages[4]["tool_call_id"], "call_lima");
    assert!(messages[4]["content"].as_str().unwrap().contains("19"));

    // The text streamed as it came, across both turns; tool runs reported.
    let mut streamed = String::new();
    let mut tools_called = 0;
    while let Ok(event) = rx.try_recv() {
        match AgentEvent::from_run_event(&event) {
            Some(AgentEvent::TextDelta { turn: 2, text }) => streamed.push_str(&text),
            Some(AgentEvent::ToolCalled { ok: true, .. }) => tools_called += 1,
            _ => {}
        }
    }
    assert_eq!(streamed, out.state.answer.clone().unwrap());
    assert_eq!(tools_called, 2);
    assert_eq!(out.state.messages.last().unwrap().role, Role::Assistant);
}

#[tokio::test]
async fn a_failing_tool_is_reported_to_the_model_which_can_recover() {
    let server = FakeServer::start(|i, _| match i {
        0 => Reply::stream_deltas(
            &[fragment(
                0,
                Some("c1"),
                Some("weather"),
                r#"{"city": "Atlantis"}"#,
            )],
            "tool_calls",
        ),
        _ => Reply::stream(&["I have no data for Atlantis."]),
    })
    .await;
    let model = OpenAiModel::new(OpenAiConfig::new(server.base_url(), "fake-model")).unwrap();
    let agent = ToolAgent::builder(model).tool(Weather).build().unwrap();
    let out = agent
        .run("Weather in Atlantis?", RunOptions::default())
        .await
        .unwrap();
    assert!(!out.state.calls[0].outcome.ok);
    let sent = server.requests()[1].json();
    assert_eq!(
        sent["messages"][2]["content"],
        r#"{"error":"no weather station in Atlantis"}"#
    );
    assert_eq!(
        out.state.answer.as_deref(),
        Some("I have no data for Atlantis.")
    );
}
