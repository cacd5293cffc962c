//! Execution traces of one failing test: the lines a candidate executed and
//! its local variables' values after each, as compact text for a model.
//!
//! This is the verbal feedback of RethinkMCTS's reference implementation
//! (after LDB): for the failing test input, the code the candidate ran and
//! the values of its variables after each step, truncated. The reference
//! splits the program into basic blocks and prints the variables after each
//! block; here the step is one source line (a basic block of one line), as
//! recorded by `sys.settrace` in the sandbox (`trace.py` is the in-guest
//! driver). Only the candidate's own frames (`candidate.py`) are traced.
//!
//! The trace is capped three ways: each value's `repr`
//! ([`TraceLimits::max_value_chars`], cut in the middle as the reference
//! does), the number of steps kept (the first [`TraceLimits::head`] and
//! the last [`TraceLimits::tail`]; steps in between are counted, not kept),
//! and the rendered text ([`TraceLimits::max_chars`], steps dropped from the
//! middle).

use hone_sandbox::{SandboxError, Status};
use serde::{Deserialize, Serialize};

use crate::driver::{driver_program, one_line};
use crate::harness::{Harness, TestSuite, CANDIDATE_FILE};

/// The Python driver, run in the guest after the candidate.
pub(crate) const DRIVER: &str = include_str!("trace.py");

/// Errors of the tracer itself. A candidate that fails, raises or hangs is
/// a trace, not an error.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The sandbox could not run anything (guest missing, host problem).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The suite has no test statements to trace (stdin/stdout suites).
    #[error("{0}")]
    Unsupported(String),
}

/// Size caps of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLimits {
    /// Steps kept from the start of the run.
    pub head: usize,
    /// Steps kept from the end of the run.
    pub tail: usize,
    /// Characters of each value's `repr` (longer ones keep both ends).
    pub max_value_chars: usize,
    /// Local variables shown per step.
    pub max_vars: usize,
    /// Characters of the rendered trace.
    pub max_chars: usize,
    /// Steps after which tracing stops (the run goes on untraced).
    pub hard_cap: usize,
}

impl Default for TraceLimits {
    fn default() -> Self {
        TraceLimits {
            head: 12,
            tail: 12,
            max_value_chars: 100,
            max_vars: 8,
            max_chars: 2000,
            hard_cap: 20_000,
        }
    }
}

/// What a step records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A candidate function was entered (values: its arguments).
    Call,
    /// A line ran (values: the locals after it).
    Line,
    /// A function returned (detail: the returned value).
    Return,
    /// A line raised (detail: `Type: message`).
    Exception,
}

/// One traced step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Position in the run (0-based, counting steps not kept).
    pub n: usize,
    /// What happened.
    pub kind: StepKind,
    /// Line in the candidate (1-based).
    pub line: u32,
    /// The source of that line, stripped.
    #[serde(default)]
    pub code: String,
    /// `(name, repr)` of the local variables after the step.
    #[serde(default)]
    pub values: Vec<(String, String)>,
    /// Returned value or exception, for those kinds.
    #[serde(default)]
    pub detail: Option<String>,
}

/// The trace of one test statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionTrace {
    /// The statement that was run.
    pub statement: String,
    /// Steps kept, in order.
    pub steps: Vec<TraceStep>,
    /// Steps recorded in all (kept or not).
    pub total_steps: usize,
    /// How the statement ended: `completed`, `AssertionError…`, another
    /// exception, or why it did not finish (time limit, crash).
    pub outcome: String,
}

impl ExecutionTrace {
    /// Compact text for a model, at most `max_chars` characters (steps are
    /// dropped from the middle first, then the text is cut).
    ///
    /// ```
    /// use hone_tools::trace::{ExecutionTrace, StepKind, TraceStep};
    /// let trace = ExecutionTrace {
    ///     statement: "assert f(2) == 4".into(),
    ///     steps: vec![TraceStep { n: 0, kind: StepKind::Line, line: 2, code: "y = x + 1".into(),
    ///                             values: vec![("x".into(), "2".into()), ("y".into(), "3".into())], detail: None }],
    ///     total_steps: 1,
    ///     outcome: "AssertionError".into(),
    /// };
    /// let text = trace.render(2000);
    /// assert!(text.contains("line 2: y = x + 1\n    x = 2, y = 3"), "{text}");
    /// assert!(text.ends_with("Outcome: AssertionError\n"));
    /// ```
    pub fn render(&self, max_chars: usize) -> String {
        let header = format!(
            "Execution trace of `{}` (each line the code ran, then its local variables after it):\n",
            one_line(&self.statement, 200)
        );
        let footer = format!("Outcome: {}\n", one_line(&self.outcome, 300));
        let steps: Vec<String> = self.steps.iter().map(render_step).collect();
        let budget = max_chars.saturating_sub(header.len() + footer.len());
        // Keep steps from both ends while they fit (with room for the gap
        // notes).
        let gap_reserve = 40;
        let (mut h, mut t, mut used) = (0usize, 0usize, 0usize);
        loop {
            let mut progressed = false;
            for from_end in [false, true] {
                if h + t >= steps.len() {
                    break;
                }
                let s = if from_end {
                    &steps[steps.len() - 1 - t]
                } else {
                    &steps[h]
                };
                if used + s.len() + 2 * gap_reserve <= budget {
                    used += s.len();
                    if from_end {
                        t += 1;
                    } else {
                        h += 1;
                    }
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        let shown: Vec<usize> = (0..h).chain(steps.len() - t..steps.len()).collect();
        let mut out = header;
        // `next` is the step number expected next; a jump is a gap of steps
        // dropped here or never reported by the guest.
        let mut next = 0usize;
        for &i in &shown {
            let n = self.steps[i].n;
            if n > next {
                out.push_str(&format!("... {} steps not shown ...\n", n - next));
            }
            out.push_str(&steps[i]);
            next = n + 1;
        }
        if self.total_steps > next {
            out.push_str(&format!(
                "... {} steps not shown ...\n",
                self.total_steps - next
            ));
        }
        out.push_str(&footer);
        cut(out, max_chars)
    }
}

fn render_step(step: &TraceStep) -> String {
    let values = step
        .values
        .iter()
        .map(|(k, v)| format!("{k} = {}", one_line(v, 200)))
        .collect::<Vec<_>>()
        .join(", ");
    let code = one_line(&step.code, 160);
    let mut line = match step.kind {
        StepKind::Call => format!("call at line {}: {code}\n", step.line),
        StepKind::Line => format!("line {}: {code}\n", step.line),
        StepKind::Return => format!(
            "line {}: {code}  -> returns {}\n",
            step.line,
            one_line(step.detail.as_deref().unwrap_or("None"), 200)
        ),
        StepKind::Exception => format!(
            "line {}: {code}  -> raises {}\n",
            step.line,
            one_line(step.detail.as_deref().unwrap_or("?"), 200)
        ),
    };
    if !values.is_empty() {
        line.push_str(&format!("    {values}\n"));
    }
    line
}

fn cut(text: String, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text;
    }
    let keep: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{keep}…")
}

/// Runs `statement` (one test of `suite`, e.g. the failing assertion) against
/// `candidate` in `harness`'s sandbox, under its limits, tracing the
/// candidate's frames.
///
/// For a [`TestSuite::Check`] suite the test module runs first (it defines
/// `check` and any helpers) and `candidate` names the entry point; for
/// [`TestSuite::Asserts`] the suite's setup runs first. Stdin/stdout suites
/// have no statement to trace ([`TraceError::Unsupported`]).
pub async fn trace_test(
    harness: &Harness,
    candidate: &str,
    suite: &TestSuite,
    statement: &str,
    limits: &TraceLimits,
) -> Result<ExecutionTrace, TraceError> {
    let (setup, entry_point) = match suite {
        TestSuite::Check { test, entry_point } => (test.clone(), Some(entry_point.clone())),
        TestSuite::Asserts { setup, .. } => (setup.clone(), None),
        TestSuite::Io { .. } => {
            return Err(TraceError::Unsupported(
                "stdin/stdout suites have no test statement to trace".into(),
            ))
        }
    };
    let spec = serde_json::json!({
        "candidate_file": CANDIDATE_FILE,
        "candidate": candidate,
        "setup": setup,
        "entry_point": entry_point,
        "statement": statement,
        "head": limits.head,
        "tail": limits.tail,
        "max_value_chars": limits.max_value_chars,
        "max_vars": limits.max_vars,
        "hard_cap": limits.hard_cap.max(1),
    });
    let program = driver_program(harness.sandbox(), DRIVER, "<hone-trace>", &spec, candidate).await;
    let exec = harness
        .sandbox()
        .run(program, harness.limits.clone())
        .await?;
    let mut steps = Vec::new();
    let mut total = None;
    let mut outcome = None;
    for line in &exec.reports {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        match event.get("event").and_then(|e| e.as_str()) {
            Some("step") => {
                if let Some(step) = event
                    .get("step")
                    .cloned()
                    .and_then(|s| serde_json::from_value::<TraceStep>(s).ok())
                {
                    steps.push(step);
                }
            }
            Some("done") => {
                total = event.get("total").and_then(|t| t.as_u64());
                let mut text = event
                    .get("outcome")
                    .and_then(|o| o.as_str())
                    .unwrap_or("completed")
                    .to_string();
                if event.get("capped").and_then(|c| c.as_bool()) == Some(true) {
                    text.push_str(" (tracing stopped at the step cap)");
                }
                outcome = Some(text);
            }
            Some("fatal") => {
                outcome = Some(
                    event
                        .get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("the trace driver failed")
                        .to_string(),
                );
            }
            _ => {}
        }
    }
    steps.sort_by_key(|s| s.n);
    steps.dedup_by_key(|s| s.n);
    let outcome = outcome.unwrap_or_else(|| match &exec.status {
        Status::Timeout | Status::OutOfFuel => "time limit exceeded (trace cut)".into(),
        Status::OutOfMemory { .. } => "memory limit exceeded (trace cut)".into(),
        Status::GuestFault { message } => format!("the guest faulted: {message}"),
        Status::Exception { kind, message, .. } => {
            format!("{kind}: {message} (before the test ran)")
        }
        Status::Exit { code } => format!("the program exited with code {code}"),
        Status::Ok => "the trace driver reported nothing".into(),
    });
    let total_steps = total
        .and_then(|t| usize::try_from(t).ok())
        .unwrap_or_else(|| steps.last().map_or(0, |s| s.n + 1));
    Ok(ExecutionTrace {
        statement: statement.to_string(),
        steps,
        total_steps,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: usize, line: u32, values: &[(&str, &str)]) -> TraceStep {
        TraceStep {
            n,
            kind: StepKind::Line,
            line,
            code: format!("code {line}"),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            detail: None,
        }
    }

    #[test]
    fn driver_has_spec_placeholder() {
        assert!(DRIVER.contains("__HONE_SPEC__"));
    }

    #[test]
    fn render_keeps_both_ends_within_the_cap_and_counts_the_rest() {
        // 200 steps reported (the guest kept them all), ~40 chars each: the
        // 600-char cap keeps some from each end and names the gap.
        let steps: Vec<TraceStep> = (0..200)
            .map(|n| step(n, 3 + (n % 4) as u32, &[("i", &n.to_string())]))
            .collect();
        let trace = ExecutionTrace {
            statement: "assert f(200) == 1".into(),
            steps,
            total_steps: 200,
            outcome: "AssertionError".into(),
        };
        let text = trace.render(600);
        assert!(text.chars().count() <= 600, "{}", text.len());
        assert!(text.contains("    i = 0\n"), "first step kept: {text}");
        assert!(text.contains("    i = 199\n"), "last step kept: {text}");
        let shown = text.matches("    i = ").count();
        assert!(
            text.contains(&format!("... {} steps not shown ...", 200 - shown)),
            "{text}"
        );
        assert!(text.ends_with("Outcome: AssertionError\n"));
    }

    #[test]
    fn render_counts_steps_the_guest_did_not_report() {
        // The guest kept steps 0–1 and 8–9 of 10.
        let trace = ExecutionTrace {
            statement: "assert g() == 0".into(),
            steps: vec![
                step(0, 1, &[]),
                step(1, 2, &[]),
                step(8, 1, &[]),
                step(9, 2, &[]),
            ],
            total_steps: 10,
            outcome: "completed".into(),
        };
        let text = trace.render(2000);
        assert!(text.contains("... 6 steps not shown ..."), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("line ")).count(), 4);
    }
}
