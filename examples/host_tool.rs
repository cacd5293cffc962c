//! Lend a Rust function to sandboxed Python: the code runs in the Wasm
//! sandbox with no network and no files, yet it can call `exchange_rate`,
//! which runs on the host, with its arguments and result as JSON and a time
//! limit per call.
//!
//! `cargo run --example host_tool` (needs the Python guest:
//! `scripts/build-guests.sh`).

use std::time::Duration;

use hone::sandbox::{HostTools, Limits, Program, Sandbox, SandboxConfig};
use serde_json::{json, Value};

/// The host's tools: one lookup in a table the guest cannot see.
fn tools() -> HostTools {
    let rate = |args: Value| async move {
        let pair = (args["base"].as_str(), args["quote"].as_str());
        match pair {
            (Some("EUR"), Some("USD")) => Ok(json!(1.08)),
            (Some("USD"), Some("EUR")) => Ok(json!(0.93)),
            _ => Err(format!("no rate for {pair:?}")),
        }
    };
    HostTools::new()
        .register(
            "exchange_rate",
            &["base", "quote"],
            "Units of `quote` per unit of `base`.",
            rate,
        )
        .expect("a valid tool name")
        .with_timeout(Duration::from_secs(2))
}

/// Code a model might write: it calls the tool like any function, and
/// catches the error the host reports.
const CODE: &str = r#"
import hone_host
print(round(250 * exchange_rate("EUR", "USD"), 2))
try:
    exchange_rate("EUR", "JPY")
except hone_host.HostToolError as e:
    print("no result:", e)
"#;

async fn run() -> Result<String, Box<dyn std::error::Error>> {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let program = Program::python(CODE).with_host_tools(tools());
    let result = sandbox.run(program, Limits::default()).await?;
    Ok(result.stdout)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    print!("{}", run().await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandboxed_code_gets_the_hosts_answers() {
        let out = run().await.unwrap();
        assert_eq!(
            out,
            "270.0\nno result: exchange_rate: no rate for (Some(\"EUR\"), Some(\"JPY\"))\n"
        );
    }
}
