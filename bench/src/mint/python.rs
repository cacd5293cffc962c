//! MINT's Python tool: one persistent session per episode in the sandbox.
//!
//! Variables and imports persist across the turns of an episode, never
//! across episodes. Each cell has 30 s. The observation is what the cell
//! printed, `Out[n]: value` for a final bare expression (IPython style),
//! or its traceback; empty output is "[Executed Successfully with No
//! Output]"; past 2,000 characters the output is cut and marked. A cell
//! that times out ends in a `TimeoutError` line; the sandbox then starts a
//! fresh interpreter, and the observation says the variables are gone.
//!
//! The reasoning sets get `wikipedia_search(query)`, a host tool
//! ([`hone_sandbox::HostTools`]): the guest's call reaches
//! [`search_tools`] on the host. This machine has no network, so it answers
//! that it is unavailable; it never invents results. A library user lends
//! a real search the same way, with `HostTools::register`.
//!
//! A resumed episode replays its earlier cells (their output unseen) so
//! the session holds what the model saw it build.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hone_sandbox::{HostTools, Limits, Sandbox, SandboxError, Session, Status};
use tokio::sync::Mutex;

/// Most characters of output shown.
pub const MAX_OUTPUT_CHARS: usize = 2000;
/// Time per cell.
pub const CELL_SECONDS: u64 = 30;
/// The output of a cell that printed nothing.
pub const NO_OUTPUT: &str = "[Executed Successfully with No Output]";

/// Defines the cell runner in a fresh session. `_mint_run(code)` compiles the cell, runs it, prints
/// `Out[n]: repr` for a final expression that is not None, and prints a
/// traceback limited to the cell's own frames on an exception.
const PRELUDE: &str = r#"
import ast as _mint_ast, linecache as _mint_lc, traceback as _mint_tb
_mint_count = [0]
def _mint_run(_mint_code):
    _mint_count[0] += 1
    _mint_n = _mint_count[0]
    _mint_name = "<cell %d>" % _mint_n
    _mint_lc.cache[_mint_name] = (len(_mint_code), None, _mint_code.splitlines(True), _mint_name)
    try:
        _mint_tree = _mint_ast.parse(_mint_code, _mint_name)
        _mint_last = None
        if _mint_tree.body and isinstance(_mint_tree.body[-1], _mint_ast.Expr):
            _mint_last = _mint_ast.Expression(_mint_tree.body.pop().value)
        exec(compile(_mint_tree, _mint_name, "exec"), globals())
        if _mint_last is not None:
            _mint_value = eval(compile(_mint_last, _mint_name, "eval"), globals())
            if _mint_value is not None:
                print("Out[%d]: %r" % (_mint_n, _mint_value))
    except BaseException as _mint_e:
        _mint_frames = _mint_tb.extract_tb(_mint_e.__traceback__)
        _mint_frames = [f for f in _mint_frames if f.name != "_mint_run"]
        print("Traceback (most recent call last):")
        print("".join(_mint_tb.format_list(_mint_frames)), end="")
        print("".join(_mint_tb.format_exception_only(type(_mint_e), _mint_e)), end="")
"#;

/// Longest query the search tool reads.
const MAX_QUERY_CHARS: usize = 300;

/// The reasoning sets' tools: `wikipedia_search(query)`, offline. It says
/// that no search was made, never invents a result.
pub fn search_tools() -> HostTools {
    let search = |args: serde_json::Value| async move {
        let query = match &args["query"] {
            serde_json::Value::String(q) => q.clone(),
            serde_json::Value::Null => return Err("missing argument `query`".to_string()),
            other => other.to_string(),
        };
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        Ok(serde_json::Value::String(format!(
            "wikipedia_search is unavailable: this sandbox has no network access, so no search was made for {query:?}."
        )))
    };
    HostTools::new()
        .register(
            "wikipedia_search",
            &["query"],
            "Searches Wikipedia for `query` (cut to 300 characters).",
            search,
        )
        .unwrap_or_else(|e| unreachable!("a fixed, valid tool name: {e}"))
}

/// The text of a cell's observation (see the module docs).
pub fn observation_of(stdout: &str, status: &Status) -> String {
    let mut text = stdout.trim_end().to_string();
    if matches!(status, Status::Timeout) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "Traceback (most recent call last):\n  ...\nTimeoutError: the cell ran for more than {CELL_SECONDS} s and was stopped\n\
             (the Python session was restarted: earlier variables are gone)"
        ));
    } else if !matches!(status, Status::Ok) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!(
            "the Python session failed ({}) and was restarted: earlier variables are gone",
            status.label()
        ));
    }
    if text.trim().is_empty() {
        return NO_OUTPUT.to_string();
    }
    truncate(&text)
}

/// The first 2,000 characters and a marker, when longer.
pub fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_OUTPUT_CHARS {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX_OUTPUT_CHARS).collect();
    format!("{head}...\n[Output Truncated]")
}

/// The open sessions of running episodes, by episode key.
#[derive(Clone, Default)]
pub struct Sessions {
    sandbox: Option<Sandbox>,
    open: Arc<Mutex<HashMap<String, Arc<Mutex<Session>>>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions in `sandbox`.
    pub fn new(sandbox: Sandbox) -> Self {
        Sessions {
            sandbox: Some(sandbox),
            open: Arc::default(),
        }
    }

    /// Runs `code` in episode `key`'s session, opening it first (with the
    /// search tool when `search`) and replaying `earlier` cells when the
    /// session is new (a resumed episode). Returns the observation.
    pub async fn run(
        &self,
        key: &str,
        search: bool,
        earlier: &[String],
        code: &str,
    ) -> Result<String, SandboxError> {
        let session = {
            let mut open = self.open.lock().await;
            match open.get(key) {
                Some(s) => s.clone(),
                None => {
                    let sandbox = self
                        .sandbox
                        .clone()
                        .unwrap_or_else(|| Sandbox::new(Default::default()));
                    let limits = Limits {
                        wall_time: Duration::from_secs(CELL_SECONDS),
                        ..Limits::default()
                    };
                    let tools = if search {
                        search_tools()
                    } else {
                        HostTools::new()
                    };
                    let mut session = sandbox.session(limits).with_host_tools(tools);
                    session.run(PRELUDE).await?;
                    for cell in earlier {
                        session.run(run_call(cell)?).await?;
                    }
                    let session = Arc::new(Mutex::new(session));
                    open.insert(key.to_string(), session.clone());
                    session
                }
            }
        };
        let mut session = session.lock().await;
        let restarts = session.restarts();
        let result = session.run(run_call(code)?).await?;
        let mut observation = observation_of(&result.stdout, &result.status);
        if session.restarts() > restarts {
            // The prelude went with the old interpreter: define it again
            // (the session defines the tools itself).
            session.run(PRELUDE).await?;
            if !observation.contains("restarted") {
                observation
                    .push_str("\n(the Python session was restarted: earlier variables are gone)");
            }
        }
        Ok(observation)
    }

    /// Closes episode `key`'s session.
    pub async fn close(&self, key: &str) {
        self.open.lock().await.remove(key);
    }
}

/// The session call that runs `code` as one cell.
fn run_call(code: &str) -> Result<String, SandboxError> {
    let literal = serde_json::to_string(code)
        .map_err(|e| SandboxError::Worker(format!("encoding a cell: {e}")))?;
    Ok(format!("_mint_run({literal})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_search_tool_says_it_is_offline_and_invents_nothing() {
        let tools = search_tools();
        let long = "q".repeat(400);
        let text = tools
            .call(
                "wikipedia_search",
                &serde_json::json!({"query": long}).to_string(),
            )
            .await
            .unwrap();
        let text: String = serde_json::from_str(&text).unwrap();
        assert!(
            text.starts_with("wikipedia_search is unavailable"),
            "{text}"
        );
        assert!(text.contains(&"q".repeat(300)) && !text.contains(&"q".repeat(301)));
        let missing = tools.call("wikipedia_search", "{}").await.unwrap_err();
        assert!(missing.contains("missing argument `query`"), "{missing}");
    }

    #[test]
    fn long_output_is_cut_and_marked_and_empty_output_says_so() {
        let long = "x".repeat(2500);
        let cut = observation_of(&long, &Status::Ok);
        assert!(cut.ends_with("...\n[Output Truncated]"));
        assert_eq!(cut.chars().count(), 2000 + "...\n[Output Truncated]".len());
        assert_eq!(observation_of("", &Status::Ok), NO_OUTPUT);
        assert!(observation_of("", &Status::Timeout).contains("\nTimeoutError: "));
    }
}
