//! A tool of your own: the model may run Python in hone's Wasm sandbox to
//! compute what it should not guess. The argument type's JSON schema is
//! derived for the model; the tool's output (or error) goes back to it.
//!
//! `cargo run --example tool_agent` (an endpoint from OPENAI_BASE_URL and
//! HONE_MODEL, else the embedded model).

use hone::prelude::*;
use hone::sandbox::{Limits, Program};

/// Runs a Python snippet and returns what it printed.
struct RunPython(Sandbox);

#[derive(serde::Deserialize, JsonSchema)]
#[schemars(crate = "hone::schemars")]
struct Code {
    /// A complete Python program; print the result.
    code: String,
}

impl Tool for RunPython {
    type Args = Code;
    type Output = String;
    type Error = hone::sandbox::SandboxError;

    fn name(&self) -> &str {
        "run_python"
    }
    fn description(&self) -> &str {
        "Runs a Python 3 program in a sandbox and returns its output."
    }
    async fn call(&self, args: Code) -> Result<String, Self::Error> {
        let result = self
            .0
            .run(Program::python(args.code), Limits::default())
            .await?;
        Ok(format!(
            "{:?}\n{}{}",
            result.status, result.stdout, result.stderr
        ))
    }
}

async fn ask(model: Model, question: &str) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let agent = ToolAgent::builder(model)
        .system("Use run_python for any arithmetic, then answer in one sentence.")
        .tool(RunPython(Sandbox::new(SandboxConfig::default())))
        .max_steps(4)
        .build()?;
    let run = agent.run(question, RunOptions::default()).await?;
    Ok(run.state.answer)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let answer = ask(Model::from_env()?, "What is 2**100 mod 97?").await?;
    println!(
        "{}",
        answer
            .as_deref()
            .unwrap_or("(no answer within the step budget)")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone::core::{ChatResponse, ToolCall};

    #[tokio::test]
    async fn the_sandbox_output_reaches_the_model() {
        let model = ScriptedModel::new();
        let code = serde_json::json!({ "code": "print(pow(2, 100, 97))" });
        model.push_response(ChatResponse::tool_calls(
            "m",
            vec![ToolCall {
                id: "c1".into(),
                name: "run_python".into(),
                arguments: code.to_string(),
            }],
        ));
        model.push_text("2**100 mod 97 is 16.");
        let answer = ask(Model::new(model.clone()), "What is 2**100 mod 97?")
            .await
            .unwrap();
        assert_eq!(answer.as_deref(), Some("2**100 mod 97 is 16."));
        let tool_message = &model.requests()[1].messages[3];
        assert!(tool_message.content.contains("16"), "{tool_message:?}");
    }
}
