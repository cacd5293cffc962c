//! A typed tool lent to sandboxed Python: the code a model writes calls the
//! same tool the model could call, by keyword, and gets its JSON result.

use hone_agents::tool::{JsonSchema, Tool, Toolbox};
use hone_sandbox::{HostTools, Limits, Program, Sandbox, SandboxConfig, Status};
use serde::Deserialize;

/// Looks up a word's length in a table the guest cannot see.
struct Lookup;

#[derive(Deserialize, JsonSchema)]
struct LookupArgs {
    /// The word.
    word: String,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown word {0:?}")]
struct Unknown(String);

impl Tool for Lookup {
    type Args = LookupArgs;
    type Output = serde_json::Value;
    type Error = Unknown;
    fn name(&self) -> &str {
        "lookup"
    }
    fn description(&self) -> &str {
        "Facts about a word."
    }
    async fn call(&self, args: LookupArgs) -> Result<serde_json::Value, Unknown> {
        match args.word.as_str() {
            "hone" => Ok(serde_json::json!({"letters": 4})),
            other => Err(Unknown(other.to_string())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandboxed_code_calls_a_typed_tool_by_keyword() {
    let host = Toolbox::new()
        .with(Lookup)
        .unwrap()
        .lend_to(HostTools::new())
        .unwrap();
    let code = r#"
import hone_host
print(lookup(word="hone")["letters"])
print(lookup.__doc__)
try:
    lookup(word="rust")
except hone_host.HostToolError as e:
    print("error:", e)
try:
    lookup("hone")
except TypeError:
    print("keywords only")
"#;
    let sandbox = Sandbox::new(SandboxConfig::default());
    let result = sandbox
        .run(
            Program::python(code).with_host_tools(host),
            Limits::default(),
        )
        .await
        .unwrap();
    assert_eq!(result.status, Status::Ok, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        "4\nFacts about a word. Keyword arguments: word.\nerror: lookup: unknown word \"rust\"\nkeywords only\n"
    );
}
