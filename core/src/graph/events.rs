//! The run's event stream, for UIs, progress output and tests.

use serde::{Deserialize, Serialize};

use crate::budget::{Exhausted, UsageCount};
use crate::graph::StopReason;

/// Something that happened during a run. Serialisable, so a UI can consume
/// the stream as JSON lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run started (or resumed from its log).
    RunStarted {
        /// Run id.
        run_id: String,
        /// Graph name.
        graph: String,
        /// Whether this continues an earlier, interrupted run.
        resumed: bool,
    },
    /// A node began executing.
    NodeStarted {
        /// Step number (1-based, over the whole run).
        step: u64,
        /// Node name.
        node: String,
        /// Branch index inside a fan-out, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
    },
    /// A node finished successfully.
    NodeFinished {
        /// Step number.
        step: u64,
        /// Node name.
        node: String,
        /// Branch index inside a fan-out, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// Execution time in milliseconds.
        duration_ms: u64,
    },
    /// A node failed; the run ends with the last committed state.
    NodeFailed {
        /// Step number.
        step: u64,
        /// Node name.
        node: String,
        /// The error.
        error: String,
    },
    /// A model call finished (successfully or not).
    ModelCall {
        /// Step number of the calling node (0 outside a graph).
        step: u64,
        /// Calling node.
        node: String,
        /// `backend/model`.
        model: String,
        /// Token usage.
        usage: UsageCount,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// The error, if the call failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A tool was called by a node.
    ToolCall {
        /// Step number.
        step: u64,
        /// Calling node.
        node: String,
        /// Tool name.
        tool: String,
        /// Whether the tool succeeded.
        ok: bool,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// A short summary of the result.
        summary: String,
    },
    /// A node-defined event (attempts, critiques, test results, tree growth…).
    Custom {
        /// Step number.
        step: u64,
        /// Emitting node.
        node: String,
        /// Event kind, chosen by the node.
        kind: String,
        /// Payload.
        data: serde_json::Value,
    },
    /// A budget limit was reached; the run is ending.
    BudgetExhausted(Exhausted),
    /// The run ended.
    RunFinished {
        /// Why.
        stop: StopReason,
        /// Steps taken in total.
        steps: u64,
    },
}

/// Where events go: an unbounded channel, so emitting never blocks a node.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<RunEvent>;
