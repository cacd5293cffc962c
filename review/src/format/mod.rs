//! What a review prints: a terminal summary, JSON, the body of GitHub's
//! create-review call, SARIF 2.1.0, or reviewdog's rdjsonl.
//!
//! Every format shows only posted findings (the terminal summary and JSON
//! also count, or list, what was dropped and why), and every line-level
//! comment is on lines inside one hunk of the diff — anchoring made sure.

use serde::Serialize;

use crate::finding::{Dropped, Finding, TestOutcome};
use crate::pipeline::ReviewState;

mod github;
mod rdjsonl;
mod sarif;
mod terminal;

pub use github::{comment_body, github_review, FINGERPRINT_MARKER};
pub use rdjsonl::rdjsonl;
pub use sarif::sarif;
pub use terminal::terminal;

/// The machine-readable result (`--json`).
#[derive(Debug, Serialize)]
pub struct ReviewReport<'a> {
    /// Files reviewed.
    pub files: usize,
    /// Lines added and removed.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Findings posted.
    pub posted: Vec<&'a Finding>,
    /// Findings dropped, each with its reason.
    pub dropped: Vec<&'a Finding>,
    /// Actor answers unusable after their retry.
    pub malformed: u32,
}

/// The `--json` output.
pub fn json(state: &ReviewState) -> String {
    let (added, removed) = state.reviewed_line_counts();
    let report = ReviewReport {
        files: state.reviewed_files(),
        added,
        removed,
        posted: state.posted().collect(),
        dropped: state.findings.iter().filter(|f| !f.alive()).collect(),
        malformed: state.malformed,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

/// One line on why a finding was dropped.
pub fn drop_reason(d: &Dropped) -> &'static str {
    match d {
        Dropped::SnippetNotFound => "its code is not in the file",
        Dropped::OutsideDiff => "outside the diff",
        Dropped::UnknownPath => "names a file the change does not touch",
        Dropped::Refuted => "its own test passed",
        Dropped::Unscored { .. } => "the critic could not score it",
        Dropped::LowScore => "scored below --min-score",
        Dropped::Duplicate { .. } => "a duplicate",
        Dropped::Capped => "over the caps",
    }
}

/// The execution evidence of a posted finding, in one sentence.
pub fn evidence_line(f: &Finding) -> Option<String> {
    let e = f.execution.as_ref()?;
    if !e.confirmed() {
        return None;
    }
    match &e.new {
        TestOutcome::Fails { assertion } => Some(match &e.old {
            Some(TestOutcome::Passes) => format!(
                "Confirmed by a test that fails on the new code and passes on the old: `{assertion}`"
            ),
            _ => format!("Confirmed by a failing test: `{assertion}`"),
        }),
        _ => None,
    }
}
