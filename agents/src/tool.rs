//! The [`Tool`] trait: a typed function a model may call, and [`Toolbox`],
//! the set of tools an agent offers.
//!
//! A tool names itself, says what it does, takes a Rust argument type whose
//! JSON schema is derived for the model (with [`schemars`]), and returns
//! anything serialisable:
//!
//! ```
//! use hone_agents::tool::{JsonSchema, Tool, Toolbox};
//! use serde::Deserialize;
//!
//! /// Adds two integers.
//! struct Add;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct AddArgs {
//!     /// The first addend.
//!     a: i64,
//!     /// The second addend.
//!     b: i64,
//! }
//!
//! impl Tool for Add {
//!     type Args = AddArgs;
//!     type Output = i64;
//!     type Error = std::convert::Infallible;
//!
//!     fn name(&self) -> &str {
//!         "add"
//!     }
//!     fn description(&self) -> &str {
//!         "Adds two integers and returns the sum."
//!     }
//!     async fn call(&self, args: AddArgs) -> Result<i64, Self::Error> {
//!         Ok(args.a + args.b)
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let tools = Toolbox::new().with(Add).unwrap();
//! let spec = &tools.specs()[0];
//! assert_eq!(spec.parameters["properties"]["a"]["type"], "integer");
//! let out = tools.call("add", r#"{"a": 2, "b": 3}"#).await;
//! assert_eq!(out.output, serde_json::json!(5));
//! # });
//! ```
//!
//! Deriving `JsonSchema` needs the `schemars` crate by name; without a
//! dependency of your own, point the derive at hone's copy with
//! `#[schemars(crate = "hone::schemars")]` (see the `tool_agent`
//! example). Doc comments on fields become their descriptions.
//!
//! No `async-trait` is needed: `call` is a plain `async fn`. A call never
//! fails the run because of what the model wrote: an unknown tool, arguments
//! that do not match the schema, or an error from the tool itself all come
//! back as a [`ToolOutcome`] with `ok: false` and an `{"error": …}` output,
//! which is what the model sees next, so it can correct itself.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hone_core::ToolSpec;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use schemars::{self, JsonSchema};

/// A function a model may call. See the [module docs](self).
pub trait Tool: Send + Sync + 'static {
    /// The arguments, parsed from the model's JSON; their schema is what the
    /// model is shown.
    type Args: DeserializeOwned + JsonSchema + Send;
    /// What the call returns, serialised to JSON for the model.
    type Output: Serialize;
    /// Why a call failed; its message is shown to the model.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The name the model calls the tool by (letters, digits, `_` and `-`;
    /// OpenAI allows at most 64 characters).
    fn name(&self) -> &str;

    /// What the tool does, for the model.
    fn description(&self) -> &str;

    /// Runs the tool.
    fn call(
        &self,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// The JSON schema of `T` as a tool's `parameters`: an object schema,
/// without the `$schema` and `title` keys some providers reject.
pub fn parameters_schema<T: JsonSchema>() -> serde_json::Value {
    let mut schema = serde_json::Value::from(schemars::schema_for!(T));
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    schema
}

/// The result of one tool call, as the model and the run log see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutcome {
    /// Whether the tool ran and succeeded.
    pub ok: bool,
    /// The tool's output, or `{"error": "…"}`.
    pub output: serde_json::Value,
    /// How long the call took.
    #[serde(with = "millis")]
    pub duration: Duration,
}

impl ToolOutcome {
    fn error(message: impl Into<String>) -> Self {
        ToolOutcome {
            ok: false,
            output: serde_json::json!({ "error": message.into() }),
            duration: Duration::ZERO,
        }
    }

    /// The output as the text of a tool message.
    pub fn content(&self) -> String {
        match &self.output {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

type OutcomeFuture<'a> = Pin<Box<dyn Future<Output = ToolOutcome> + Send + 'a>>;

/// The object-safe form of [`Tool`]: JSON arguments in, [`ToolOutcome`] out.
trait ErasedTool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    /// Arguments as a model sends them: JSON text.
    fn call_json<'a>(&'a self, arguments: &'a str) -> OutcomeFuture<'a>;
    /// Arguments already parsed (a sandboxed call's keywords).
    fn call_value(&self, arguments: serde_json::Value) -> OutcomeFuture<'_>;
}

impl<T: Tool> ErasedTool for T {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.name().to_string(),
            description: self.description().to_string(),
            parameters: parameters_schema::<T::Args>(),
        }
    }

    fn call_json<'a>(&'a self, arguments: &'a str) -> OutcomeFuture<'a> {
        // Models often send "" for a call without arguments.
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        Box::pin(invoke(self, serde_json::from_str(arguments)))
    }

    fn call_value(&self, arguments: serde_json::Value) -> OutcomeFuture<'_> {
        Box::pin(invoke(self, serde_json::from_value(arguments)))
    }
}

/// Calls `tool` with its parsed arguments, timing the call; arguments that
/// did not parse are the outcome's error.
async fn invoke<T: Tool>(tool: &T, args: Result<T::Args, serde_json::Error>) -> ToolOutcome {
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            return ToolOutcome::error(format!(
                "the arguments of `{}` do not match its schema: {e}",
                tool.name()
            ))
        }
    };
    let started = std::time::Instant::now();
    let result = tool.call(args).await;
    let duration = started.elapsed();
    let outcome = match result {
        Ok(output) => match serde_json::to_value(output) {
            Ok(output) => ToolOutcome {
                ok: true,
                output,
                duration,
            },
            Err(e) => ToolOutcome::error(format!(
                "`{}` returned a value that is not JSON: {e}",
                tool.name()
            )),
        },
        Err(e) => ToolOutcome::error(e.to_string()),
    };
    ToolOutcome {
        duration,
        ..outcome
    }
}

/// Why a tool could not be added to a [`Toolbox`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolboxError {
    /// Two tools share a name, so the model could not tell them apart.
    #[error("two tools are named `{0}`")]
    Duplicate(String),
    /// The name is empty, longer than 64 characters, or has characters
    /// other than letters, digits, `_` and `-` (which providers reject).
    #[error("`{0}` is not a valid tool name (1–64 letters, digits, `_` or `-`)")]
    InvalidName(String),
}

/// The tools an agent offers the model, by name. Cheap to clone.
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: BTreeMap<String, Arc<dyn ErasedTool>>,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tool`; its name must be valid and not taken.
    pub fn with(mut self, tool: impl Tool) -> Result<Self, ToolboxError> {
        self.add(tool)?;
        Ok(self)
    }

    /// Adds `tool`; its name must be valid and not taken.
    pub fn add(&mut self, tool: impl Tool) -> Result<(), ToolboxError> {
        let name = tool.name().to_string();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(ToolboxError::InvalidName(name));
        }
        if self.tools.contains_key(&name) {
            return Err(ToolboxError::Duplicate(name));
        }
        self.tools.insert(name, Arc::new(tool));
        Ok(())
    }

    /// Whether no tool was added.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    /// What the model is shown, sorted by name.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|t| t.spec()).collect()
    }

    /// Lends every tool of this toolbox to sandboxed Python as well, on
    /// `host`: the tools a model calls through an agent become functions
    /// the code it writes can call in the sandbox
    /// ([`hone_sandbox::HostTools`]). They take keyword arguments only (the
    /// fields of their `Args`, listed in the docstring), since a schema's
    /// properties carry no order; an error comes back as the guest's
    /// `HostToolError`. A tool name with `-` is not a Python name and is
    /// refused.
    ///
    /// ```
    /// # use hone_agents::tool::{JsonSchema, Tool, Toolbox};
    /// # use serde::Deserialize;
    /// # struct Add;
    /// # #[derive(Deserialize, JsonSchema)]
    /// # struct AddArgs { a: i64, b: i64 }
    /// # impl Tool for Add {
    /// #     type Args = AddArgs; type Output = i64; type Error = std::convert::Infallible;
    /// #     fn name(&self) -> &str { "add" }
    /// #     fn description(&self) -> &str { "Adds two integers." }
    /// #     async fn call(&self, args: AddArgs) -> Result<i64, Self::Error> { Ok(args.a + args.b) }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let host = Toolbox::new().with(Add).unwrap().lend_to(hone_sandbox::HostTools::new()).unwrap();
    /// // What the sandboxed `add(a=2, b=3)` reaches:
    /// assert_eq!(host.call("add", r#"{"a": 2, "b": 3}"#).await, Ok("5".to_string()));
    /// # });
    /// ```
    pub fn lend_to(
        &self,
        mut host: hone_sandbox::HostTools,
    ) -> Result<hone_sandbox::HostTools, hone_sandbox::HostToolError> {
        for (name, tool) in &self.tools {
            let spec = tool.spec();
            let fields: Vec<String> = spec.parameters["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let description = if fields.is_empty() {
                spec.description.clone()
            } else {
                format!(
                    "{} Keyword arguments: {}.",
                    spec.description,
                    fields.join(", ")
                )
            };
            let tool = tool.clone();
            host = host.register(name, &[], &description, move |args| {
                let tool = tool.clone();
                async move {
                    let outcome = tool.call_value(args).await;
                    if outcome.ok {
                        Ok(outcome.output)
                    } else {
                        Err(outcome.output["error"]
                            .as_str()
                            .map_or_else(|| outcome.content(), str::to_string))
                    }
                }
            })?;
        }
        Ok(host)
    }

    /// Calls the tool `name` with the model's raw JSON `arguments`. Never
    /// fails: see [`ToolOutcome`].
    pub async fn call(&self, name: &str, arguments: &str) -> ToolOutcome {
        match self.tools.get(name) {
            Some(tool) => tool.call_json(arguments).await,
            None => ToolOutcome::error(format!(
                "there is no tool named `{name}`; the tools are: {}",
                self.names().join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Divide;

    #[derive(Deserialize, JsonSchema)]
    struct DivideArgs {
        a: f64,
        b: f64,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("division by zero")]
    struct DivByZero;

    impl Tool for Divide {
        type Args = DivideArgs;
        type Output = f64;
        type Error = DivByZero;
        fn name(&self) -> &str {
            "divide"
        }
        fn description(&self) -> &str {
            "a / b"
        }
        async fn call(&self, args: DivideArgs) -> Result<f64, DivByZero> {
            if args.b == 0.0 {
                Err(DivByZero)
            } else {
                Ok(args.a / args.b)
            }
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn the_schema_comes_from_the_argument_type() {
        let spec = &Toolbox::new().with(Divide).unwrap().specs()[0];
        assert_eq!(spec.name, "divide");
        assert_eq!(spec.parameters["type"], "object");
        assert_eq!(spec.parameters["properties"]["b"]["type"], "number");
        let required = spec.parameters["required"].as_array().unwrap();
        assert_eq!(required.len(), 2);
        assert!(spec.parameters.get("$schema").is_none());
    }

    #[test]
    fn every_failure_is_an_outcome_the_model_can_read() {
        let tools = Toolbox::new().with(Divide).unwrap();
        rt().block_on(async {
            let ok = tools.call("divide", r#"{"a": 1, "b": 4}"#).await;
            assert!(ok.ok);
            assert_eq!(ok.output, serde_json::json!(0.25));

            let failed = tools.call("divide", r#"{"a": 1, "b": 0}"#).await;
            assert!(!failed.ok);
            assert_eq!(failed.output["error"], "division by zero");

            let bad_args = tools.call("divide", r#"{"a": "one"}"#).await;
            assert!(!bad_args.ok);
            assert!(
                bad_args.content().contains("do not match its schema"),
                "{bad_args:?}"
            );

            let not_json = tools.call("divide", "{a: 1").await;
            assert!(!not_json.ok);

            let unknown = tools.call("multiply", "{}").await;
            assert!(!unknown.ok);
            assert!(unknown.content().contains("divide"), "{unknown:?}");
        });
    }

    #[test]
    fn a_toolbox_lent_to_the_sandbox_answers_keyword_calls_in_json() {
        let host = Toolbox::new()
            .with(Divide)
            .unwrap()
            .lend_to(hone_sandbox::HostTools::new())
            .unwrap();
        assert_eq!(host.names(), ["divide"]);
        // A host tool's time limit needs the runtime's timers.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            assert_eq!(
                host.call("divide", r#"{"a": 1, "b": 4}"#).await,
                Ok("0.25".to_string())
            );
            assert_eq!(
                host.call("divide", r#"{"a": 1, "b": 0}"#).await,
                Err("divide: division by zero".to_string())
            );
            let bad = host.call("divide", r#"{"a": "one"}"#).await.unwrap_err();
            assert!(bad.contains("do not match its schema"), "{bad}");
        });
    }

    #[test]
    fn names_are_checked_when_tools_are_added() {
        let tools = Toolbox::new().with(Divide).unwrap();
        assert_eq!(
            tools.with(Divide).unwrap_err(),
            ToolboxError::Duplicate("divide".into())
        );
    }
}
