//! Host tools: Rust async functions that sandboxed Python code can call.
//!
//! The guest has no network and no host files, yet some tasks need the
//! world outside: a search, a database lookup, a second model. A
//! [`HostTools`] registry lends such functions to the guest without
//! lending it anything else. Each tool has a name, named parameters and a
//! description; in a [`Program`](crate::Program) or
//! [`Session`](crate::Session) given the registry, it is a plain Python
//! function of that name. Its arguments travel to the host as a JSON
//! object, its result comes back as JSON, and every call has a time limit
//! ([`HostTools::with_timeout`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hone_sandbox::{HostTools, Limits, Program, Sandbox};
//! use serde_json::{json, Value};
//!
//! let tools = HostTools::new().register(
//!     "lookup",
//!     &["city"],
//!     "The population of a city.",
//!     |args: Value| async move {
//!         match args["city"].as_str() {
//!             Some("Paris") => Ok(json!(2_102_650)),
//!             other => Err(format!("no population known for {other:?}")),
//!         }
//!     },
//! )?;
//! let program = Program::python("print(lookup('Paris') // 1000)").with_host_tools(tools);
//! let result = Sandbox::new(Default::default()).run(program, Limits::default()).await?;
//! assert_eq!(result.stdout, "2102\n");
//! # Ok(()) }
//! ```
//!
//! In the guest, a tool that gives no result — unknown name, arguments that
//! are not JSON, the tool's `Err`, its time limit — raises
//! `hone_host.HostToolError` with the reason; `hone_host.call_tool(name,
//! **arguments)` calls a tool by name. Tools run on the host, outside every
//! guest limit but their own time limit: write them as you would an HTTP
//! handler, for untrusted input. JavaScript guests have no host tools.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// The time limit of one tool call unless [`HostTools::with_timeout`]
/// says otherwise.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(10);

type ToolFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;
type ToolFn = Arc<dyn Fn(Value) -> ToolFuture + Send + Sync>;

/// Why a tool could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostToolError {
    /// A tool or parameter name that is not a plain Python identifier.
    #[error("host tool {tool:?}: {name:?} is not a Python identifier (letters, digits, `_`; not a keyword; not starting with a digit or `_`)")]
    BadName {
        /// The tool.
        tool: String,
        /// The offending name.
        name: String,
    },
    /// Two tools with one name, or one parameter twice.
    #[error("host tool {tool:?}: {name:?} is given twice")]
    Duplicate {
        /// The tool.
        tool: String,
        /// The repeated name.
        name: String,
    },
}

#[derive(Clone)]
struct HostTool {
    params: Vec<String>,
    description: String,
    call: ToolFn,
}

/// A set of host tools lent to sandboxed Python code; cheap to clone.
/// See the [module docs](self).
#[derive(Clone)]
pub struct HostTools {
    tools: Arc<BTreeMap<String, HostTool>>,
    timeout: Duration,
}

impl Default for HostTools {
    fn default() -> Self {
        HostTools {
            tools: Arc::default(),
            timeout: DEFAULT_TOOL_TIMEOUT,
        }
    }
}

/// Two registries are equal when both are empty, or are the same one
/// (clones of it), with the same time limit: functions cannot be compared.
impl PartialEq for HostTools {
    fn eq(&self, other: &Self) -> bool {
        let same = (self.is_empty() && other.is_empty()) || Arc::ptr_eq(&self.tools, &other.tools);
        same && self.timeout == other.timeout
    }
}

impl Eq for HostTools {}

impl std::fmt::Debug for HostTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTools")
            .field("tools", &self.names())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HostTools {
    /// No tools yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds tool `name` with parameters `params` (the Python function's
    /// parameter names, in order: positional arguments are matched to
    /// them) and a `description` (its docstring). `call` receives the
    /// arguments as a JSON object and returns the result as JSON, or the
    /// message the guest's `HostToolError` carries.
    pub fn register<F, Fut>(
        mut self,
        name: &str,
        params: &[&str],
        description: &str,
        call: F,
    ) -> Result<Self, HostToolError>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        check_identifier(name, name)?;
        if self.tools.contains_key(name) {
            return Err(HostToolError::Duplicate {
                tool: name.into(),
                name: name.into(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in params {
            check_identifier(name, p)?;
            if !seen.insert(*p) {
                return Err(HostToolError::Duplicate {
                    tool: name.into(),
                    name: (*p).into(),
                });
            }
        }
        let call: ToolFn = Arc::new(move |args| Box::pin(call(args)));
        Arc::make_mut(&mut self.tools).insert(
            name.to_string(),
            HostTool {
                params: params.iter().map(|p| p.to_string()).collect(),
                description: description.to_string(),
                call,
            },
        );
        Ok(self)
    }

    /// Sets the time limit of each call (default [`DEFAULT_TOOL_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time limit of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The tools' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Calls tool `name` with `arguments` (JSON text of an object), within
    /// the time limit: the result as JSON text, or why there is none. This
    /// is what the guest's call reaches.
    pub async fn call(&self, name: &str, arguments: &str) -> Result<String, String> {
        let Some(tool) = self.tools.get(name) else {
            return Err(match self.names().as_slice() {
                [] => format!("no host tool named {name:?}: this sandbox lends none"),
                names => format!(
                    "no host tool named {name:?} (available: {})",
                    names.join(", ")
                ),
            });
        };
        let args: Value = serde_json::from_str(arguments)
            .map_err(|e| format!("{name}: the arguments are not JSON: {e}"))?;
        if !args.is_object() {
            return Err(format!("{name}: the arguments are not a JSON object"));
        }
        let result = tokio::time::timeout(self.timeout, (tool.call)(args))
            .await
            .map_err(|_| {
                format!(
                    "{name}: no result within its time limit ({:?})",
                    self.timeout
                )
            })?
            .map_err(|e| format!("{name}: {e}"))?;
        serde_json::to_string(&result).map_err(|e| format!("{name}: its result is not JSON: {e}"))
    }

    /// The guest-side description of the tools (name, parameters,
    /// docstring), as the guest's `hone_host.define_tools` reads it.
    pub(crate) fn spec(&self) -> String {
        let entries: Vec<Value> = self
            .tools
            .iter()
            .map(|(name, t)| {
                serde_json::json!({"name": name, "params": t.params, "description": t.description})
            })
            .collect();
        Value::Array(entries).to_string()
    }

    /// The cell that defines the tools as functions in a run's globals;
    /// `None` without tools. The spec travels as a JSON string literal
    /// (names are checked identifiers; JSON escapes are valid Python).
    pub(crate) fn define_cell(&self) -> Option<crate::Cell> {
        if self.is_empty() {
            return None;
        }
        let literal = Value::String(self.spec()).to_string();
        Some(crate::Cell {
            name: "<hone host tools>".into(),
            code: format!("__import__('hone_host').define_tools(globals(), {literal})"),
            echo: false,
            compiled: None,
        })
    }
}

/// Python's keywords: never a tool or parameter name.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

fn check_identifier(tool: &str, name: &str) -> Result<(), HostToolError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name);
    if ok {
        Ok(())
    } else {
        Err(HostToolError::BadName {
            tool: tool.into(),
            name: name.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn echo() -> HostTools {
        HostTools::new()
            .register("echo", &["x"], "Returns x.", |a: Value| async move {
                Ok(a["x"].clone())
            })
            .unwrap()
    }

    #[test]
    fn names_must_be_plain_python_identifiers_given_once() {
        let ok = |a: Value| async move { Ok(a) };
        for bad in ["", "1x", "_private", "a-b", "class", "naïve"] {
            let err = HostTools::new().register(bad, &[], "", ok).unwrap_err();
            assert!(matches!(err, HostToolError::BadName { .. }), "{bad:?}");
        }
        let err = HostTools::new()
            .register("f", &["a", "lambda"], "", ok)
            .unwrap_err();
        assert!(err.to_string().contains("\"lambda\""), "{err}");
        let err = HostTools::new()
            .register("f", &["a", "a"], "", ok)
            .unwrap_err();
        assert!(matches!(err, HostToolError::Duplicate { .. }));
        let err = echo().register("echo", &[], "", ok).unwrap_err();
        assert!(matches!(err, HostToolError::Duplicate { .. }));
    }

    #[tokio::test]
    async fn a_call_gets_json_in_and_out_and_says_why_when_there_is_no_result() {
        let tools = echo()
            .register("fails", &[], "", |_| async {
                Err("quota spent".to_string())
            })
            .unwrap()
            .register("slow", &[], "", |_| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(json!(1))
            })
            .unwrap()
            .with_timeout(Duration::from_millis(50));
        assert_eq!(
            tools.call("echo", r#"{"x": [1, {"y": "z"}]}"#).await,
            Ok(r#"[1,{"y":"z"}]"#.to_string())
        );
        let err = tools.call("nope", "{}").await.unwrap_err();
        assert!(err.contains("available: echo, fails, slow"), "{err}");
        assert!(tools
            .call("echo", "[1]")
            .await
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(tools
            .call("echo", "{")
            .await
            .unwrap_err()
            .contains("not JSON"));
        assert_eq!(
            tools.call("fails", "{}").await,
            Err("fails: quota spent".into())
        );
        let err = tools.call("slow", "{}").await.unwrap_err();
        assert!(err.contains("time limit (50ms)"), "{err}");
        let none = HostTools::new().call("echo", "{}").await.unwrap_err();
        assert!(none.contains("lends none"), "{none}");
    }

    #[test]
    fn the_define_cell_carries_every_tool_and_none_without_tools() {
        assert!(HostTools::new().define_cell().is_none());
        let cell = echo().define_cell().unwrap();
        assert!(cell
            .code
            .starts_with("__import__('hone_host').define_tools(globals(), \""));
        let spec: Value = serde_json::from_str(&echo().spec()).unwrap();
        assert_eq!(
            spec,
            json!([{"name": "echo", "params": ["x"], "description": "Returns x."}])
        );
    }
}
