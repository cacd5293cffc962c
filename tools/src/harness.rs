//! The test harness: runs a candidate program against tests in the sandbox
//! and returns precise, compact per-test feedback.

use std::time::Duration;

use hone_sandbox::{Cell, ExecResult, Language, Limits, Program, Sandbox, SandboxError, Status};
use serde::{Deserialize, Serialize};

/// The Python driver, run in the guest after the candidate.
const DRIVER: &str = include_str!("harness.py");
/// File name under which the candidate is compiled (tracebacks use it).
pub const CANDIDATE_FILE: &str = "candidate.py";
/// File name under which the tests are compiled.
pub const TEST_FILE: &str = "test.py";

/// Errors of the harness itself. Failing or crashing candidates are results,
/// not errors.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The sandbox could not run anything (guest missing, host problem).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The suite cannot run in this language (assertion suites are Python).
    #[error("{0}")]
    Unsupported(String),
}

/// A stdin/stdout example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCase {
    /// Fed to stdin.
    pub input: String,
    /// Expected stdout (compared with trailing whitespace of each line and
    /// trailing blank lines ignored).
    pub output: String,
}

/// What to test a candidate against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestSuite {
    /// HumanEval style: `test` defines `check(candidate)`; each statement of
    /// its body that contains an `assert` is one test, run against the
    /// candidate's `entry_point`.
    Check {
        /// The test source (defines `check`).
        test: String,
        /// Name of the function under test.
        entry_point: String,
    },
    /// MBPP style: each statement of `asserts` (typically one `assert` per
    /// entry) is one test, after `setup` (imports) has run.
    Asserts {
        /// Code run before the tests, e.g. imports.
        setup: String,
        /// Assertion statements.
        asserts: Vec<String>,
    },
    /// Program style: each case runs the whole program with its input.
    Io {
        /// The cases.
        cases: Vec<IoCase>,
    },
}

/// Verdict of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// The test passed.
    Passed,
    /// An assertion failed / the output differed.
    Failed,
    /// The test raised an exception (other than `AssertionError`), or the
    /// program exited with a non-zero code.
    Error,
    /// The time limit was reached during this test.
    Timeout,
    /// The memory limit was reached during this test.
    OutOfMemory,
    /// The guest faulted (e.g. stack exhaustion) during this test.
    Crashed,
    /// Not run (the candidate failed to load, or too many tests crashed).
    NotRun,
}

/// Result of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Position in the suite (0-based).
    pub index: usize,
    /// The verdict.
    pub status: TestStatus,
    /// Source of the test; for a failed assertion inside a loop, the failing
    /// assertion's own line.
    pub source: String,
    /// Line of `source` in the test file (1-based; 0 for I/O cases).
    pub line: u32,
    /// Expected value (`repr`) where derivable.
    pub expected: Option<String>,
    /// Actual value (`repr`) where derivable.
    pub actual: Option<String>,
    /// The outermost call of the candidate in this test and what it
    /// returned, e.g. `add(1, 2) returned 4`.
    pub call: Option<String>,
    /// `Type: message` of the exception, if one was raised.
    pub exception: Option<String>,
    /// Traceback restricted to the candidate's and the tests' frames, with
    /// the candidate's own line numbers (`candidate.py`).
    pub traceback: Option<String>,
    /// Output printed during the test.
    pub stdout: String,
    /// Wall time of the test, in milliseconds.
    pub duration_ms: f64,
}

/// Result of running a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Per-test results, in suite order.
    pub tests: Vec<TestResult>,
    /// Set when the candidate itself failed before any test could run
    /// (syntax error, exception at import, missing entry point), as
    /// `Type: message` plus traceback.
    pub candidate_error: Option<String>,
    /// Output the candidate printed while loading.
    pub stdout: String,
    /// Total wall time, in milliseconds (all executions).
    pub duration_ms: f64,
}

impl TestReport {
    /// Number of passed tests.
    pub fn passed(&self) -> usize {
        self.tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count()
    }

    /// Number of tests.
    pub fn total(&self) -> usize {
        self.tests.len()
    }

    /// Fraction passed (0 when there are no tests).
    pub fn pass_fraction(&self) -> f64 {
        if self.tests.is_empty() {
            0.0
        } else {
            self.passed() as f64 / self.tests.len() as f64
        }
    }

    /// True when there is at least one test and all passed.
    pub fn all_passed(&self) -> bool {
        self.candidate_error.is_none()
            && !self.tests.is_empty()
            && self.passed() == self.tests.len()
    }

    /// Compact text feedback for a model: the tally, then up to
    /// `max_failures` failing tests with expected vs actual and traceback.
    pub fn feedback(&self, max_failures: usize) -> String {
        let mut out = format!("{}/{} tests passed.\n", self.passed(), self.total());
        if let Some(err) = &self.candidate_error {
            out.push_str("The program failed before any test ran:\n");
            out.push_str(err.trim_end());
            out.push('\n');
            return out;
        }
        let failing: Vec<&TestResult> = self
            .tests
            .iter()
            .filter(|t| t.status != TestStatus::Passed)
            .collect();
        for t in failing.iter().take(max_failures) {
            let label = match t.status {
                TestStatus::Failed => "FAILED",
                TestStatus::Error => "ERROR",
                TestStatus::Timeout => "TIMEOUT",
                TestStatus::OutOfMemory => "OUT OF MEMORY",
                TestStatus::Crashed => "CRASHED",
                TestStatus::NotRun => "NOT RUN",
                TestStatus::Passed => "PASSED",
            };
            out.push_str(&format!("{label}: {}\n", one_line(&t.source, 200)));
            if let Some(call) = &t.call {
                out.push_str(&format!("  {}\n", one_line(call, 300)));
            }
            if let (Some(e), Some(a)) = (&t.expected, &t.actual) {
                out.push_str(&format!(
                    "  expected: {}\n  actual:   {}\n",
                    one_line(e, 300),
                    one_line(a, 300)
                ));
            }
            if let Some(tb) = &t.traceback {
                for line in tb.trim_end().lines() {
                    out.push_str("  ");
                    out.push_str(line);
                    out.push('\n');
                }
            } else if let Some(e) = &t.exception {
                out.push_str(&format!("  {e}\n"));
            }
            if !t.stdout.is_empty() {
                out.push_str(&format!("  stdout: {}\n", one_line(&t.stdout, 200)));
            }
        }
        if failing.len() > max_failures {
            out.push_str(&format!(
                "({} more failing tests not shown)\n",
                failing.len() - max_failures
            ));
        }
        out
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat = text.trim().replace('\n', "\\n");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// Runs candidates against suites.
///
/// Assertion suites run in one sandbox execution: the candidate as
/// `candidate.py`, then a driver that runs each test statement separately and
/// streams its result to the host, so a test that hangs or crashes is blamed
/// alone and the remaining tests resume in a fresh execution. The candidate
/// shares the interpreter with the driver, so the harness is precise, not
/// adversarial: a candidate written to fake results could. Hidden tests
/// should still be judged by pass/fail of separate runs if that matters.
///
/// ```no_run
/// # async fn demo() -> Result<(), hone_tools::HarnessError> {
/// use hone_sandbox::{Sandbox, SandboxConfig};
/// use hone_tools::{Harness, TestSuite};
///
/// let harness = Harness::new(Sandbox::new(SandboxConfig::default()));
/// let suite = TestSuite::Asserts {
///     setup: String::new(),
///     asserts: vec!["assert add(1, 2) == 3".into(), "assert add(2, 2) == 4".into()],
/// };
/// let report = harness.run_python("def add(a, b):\n    return a + b\n", &suite).await?;
/// assert!(report.all_passed());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Harness {
    sandbox: Sandbox,
    /// Limits of each sandbox execution (for `Io`, each case; for assertion
    /// suites, the whole suite — a timeout marks the running test and the
    /// rest resume in a fresh execution).
    pub limits: Limits,
    /// How many fresh executions may be started after tests that time out
    /// or crash, before the remaining tests are marked not run.
    pub max_resumes: usize,
    /// Characters kept of each `repr` in results.
    pub max_repr: usize,
    /// Characters of stdout kept per test.
    pub max_test_stdout: usize,
}

impl Harness {
    /// A harness with default limits (5 s per execution).
    pub fn new(sandbox: Sandbox) -> Self {
        Harness {
            sandbox,
            limits: Limits {
                wall_time: Duration::from_secs(5),
                ..Limits::default()
            },
            max_resumes: 3,
            max_repr: 300,
            max_test_stdout: 2000,
        }
    }

    /// The sandbox the harness runs in (shared, e.g. with a
    /// [`crate::math_check::MathChecker`]).
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Runs a Python candidate against `suite`.
    pub async fn run_python(
        &self,
        candidate: &str,
        suite: &TestSuite,
    ) -> Result<TestReport, HarnessError> {
        self.run(Language::Python, candidate, suite).await
    }

    /// Runs a candidate in `language` against `suite`. Assertion suites need
    /// Python; `Io` suites work in both languages.
    pub async fn run(
        &self,
        language: Language,
        candidate: &str,
        suite: &TestSuite,
    ) -> Result<TestReport, HarnessError> {
        match suite {
            TestSuite::Io { cases } => self.run_io(language, candidate, cases).await,
            TestSuite::Check { test, entry_point } => {
                self.require_python(language)?;
                self.run_asserts(candidate, "check", test.clone(), Some(entry_point.clone()))
                    .await
            }
            TestSuite::Asserts { setup, asserts } => {
                self.require_python(language)?;
                let mut source = setup.trim_end().to_string();
                if !source.is_empty() {
                    source.push('\n');
                }
                for a in asserts {
                    source.push_str(a.trim());
                    source.push('\n');
                }
                self.run_asserts(candidate, "module", source, None).await
            }
        }
    }

    fn require_python(&self, language: Language) -> Result<(), HarnessError> {
        if language == Language::Python {
            Ok(())
        } else {
            Err(HarnessError::Unsupported(
                "assertion test suites run Python candidates only; use TestSuite::Io".into(),
            ))
        }
    }

    async fn run_asserts(
        &self,
        candidate: &str,
        style: &str,
        test_source: String,
        entry_point: Option<String>,
    ) -> Result<TestReport, HarnessError> {
        let started = std::time::Instant::now();
        let mut results: Vec<TestResult> = Vec::new();
        let mut skip: Vec<usize> = Vec::new();
        let mut total: Option<usize> = None;
        let mut stdout = String::new();
        let mut candidate_error = None;
        let mut resumes = 0;
        loop {
            let spec = serde_json::json!({
                "style": style,
                "test_source": test_source,
                "entry_point": entry_point,
                "test_file": TEST_FILE,
                "candidate_file": CANDIDATE_FILE,
                "max_repr": self.max_repr,
                "max_stdout": self.max_test_stdout,
                "skip": skip,
            });
            let spec_text =
                serde_json::to_string(&spec.to_string()).unwrap_or_else(|_| "\"{}\"".into());
            let driver = DRIVER.replace(
                "__HONE_SPEC__",
                &format!("__import__('json').loads({spec_text})"),
            );
            let program = Program::new(
                Language::Python,
                Cell::new("<hone-setup>", "__name__ = 'candidate'"),
            )
            .with_cell(Cell::new(CANDIDATE_FILE, candidate))
            .with_cell(Cell::new("<hone-harness>", driver));
            let exec = self.sandbox.run(program, self.limits.clone()).await?;
            if stdout.is_empty() {
                stdout = exec.stdout.clone();
            }
            let mut running: Option<(usize, String, u32)> = None;
            let mut fatal: Option<String> = None;
            let mut done = false;
            for line in &exec.reports {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                match event.get("event").and_then(|e| e.as_str()) {
                    Some("start") => {
                        running = Some((
                            get_usize(&event, "i"),
                            get_str(&event, "source").unwrap_or_default(),
                            get_usize(&event, "line") as u32,
                        ))
                    }
                    Some("result") => {
                        running = None;
                        results.push(parse_result(&event));
                    }
                    Some("fatal") => {
                        let mut text = get_str(&event, "message").unwrap_or_default();
                        if let Some(tb) = get_str(&event, "traceback") {
                            text = format!("{text}\n{tb}");
                        }
                        fatal = Some(text);
                    }
                    Some("done") => {
                        done = true;
                        total = Some(get_usize(&event, "total"));
                    }
                    _ => {}
                }
            }
            if let Some(msg) = fatal {
                candidate_error = Some(msg);
                break;
            }
            if done {
                break;
            }
            if let Some((index, source, line)) = running {
                // The execution ended inside a test: blame it, then resume.
                results.push(abnormal_result(index, source, line, &exec));
                skip.extend(results.iter().map(|r| r.index));
                resumes += 1;
                if resumes > self.max_resumes {
                    break;
                }
                continue;
            }
            // Ended before the first test: the candidate (or its load) failed.
            if results.is_empty() {
                candidate_error = Some(describe_load_failure(&exec));
            }
            break;
        }
        results.sort_by_key(|r| r.index);
        results.dedup_by_key(|r| r.index);
        if candidate_error.is_none() {
            // Tests never reached (resumes exhausted) are listed as not run.
            let count = total.unwrap_or_else(|| count_tests_hint(&results));
            let seen: std::collections::HashSet<usize> = results.iter().map(|r| r.index).collect();
            for index in 0..count {
                if !seen.contains(&index) {
                    results.push(not_run(index));
                }
            }
            results.sort_by_key(|r| r.index);
        }
        Ok(TestReport {
            tests: results,
            candidate_error,
            stdout,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    async fn run_io(
        &self,
        language: Language,
        candidate: &str,
        cases: &[IoCase],
    ) -> Result<TestReport, HarnessError> {
        let started = std::time::Instant::now();
        let runs = cases.iter().map(|case| {
            let program = match language {
                Language::Python => Program::new(language, Cell::new(CANDIDATE_FILE, candidate)),
                Language::JavaScript => {
                    Program::new(language, Cell::new("candidate.js", candidate))
                }
            }
            .with_stdin(case.input.clone());
            self.sandbox.run(program, self.limits.clone())
        });
        let execs = futures::future::join_all(runs).await;
        let mut tests = Vec::with_capacity(cases.len());
        for (index, (case, exec)) in cases.iter().zip(execs).enumerate() {
            let exec = exec?;
            tests.push(io_result(index, case, &exec, self.max_repr));
        }
        Ok(TestReport {
            tests,
            candidate_error: None,
            stdout: String::new(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

fn get_str(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

fn get_usize(v: &serde_json::Value, key: &str) -> usize {
    v.get(key)
        .and_then(|x| x.as_u64())
        .and_then(|x| usize::try_from(x).ok())
        .unwrap_or(0)
}

fn parse_result(event: &serde_json::Value) -> TestResult {
    let status = match event.get("status").and_then(|s| s.as_str()) {
        Some("passed") => TestStatus::Passed,
        Some("failed") => TestStatus::Failed,
        _ => TestStatus::Error,
    };
    TestResult {
        index: get_usize(event, "i"),
        status,
        source: get_str(event, "source").unwrap_or_default(),
        line: get_usize(event, "line") as u32,
        expected: get_str(event, "expected"),
        actual: get_str(event, "actual"),
        call: get_str(event, "call"),
        exception: get_str(event, "exception"),
        traceback: get_str(event, "traceback"),
        stdout: get_str(event, "stdout").unwrap_or_default(),
        duration_ms: event
            .get("duration_ms")
            .and_then(|d| d.as_f64())
            .unwrap_or(0.0),
    }
}

fn abnormal_result(index: usize, source: String, line: u32, exec: &ExecResult) -> TestResult {
    let (status, exception, traceback) = match &exec.status {
        Status::Timeout => (
            TestStatus::Timeout,
            Some("time limit exceeded".to_string()),
            None,
        ),
        Status::OutOfMemory { traceback } => (
            TestStatus::OutOfMemory,
            Some("MemoryError: memory limit exceeded".to_string()),
            (!traceback.is_empty()).then(|| traceback.clone()),
        ),
        Status::OutOfFuel => (
            TestStatus::Timeout,
            Some("fuel limit exceeded".to_string()),
            None,
        ),
        Status::GuestFault { message } => (TestStatus::Crashed, Some(message.clone()), None),
        Status::Exit { code } => (
            TestStatus::Error,
            Some(format!("the program exited with code {code}")),
            None,
        ),
        Status::Exception {
            kind,
            message,
            traceback,
            ..
        } => (
            TestStatus::Error,
            Some(format!("{kind}: {message}")),
            Some(traceback.clone()),
        ),
        Status::Ok => (
            TestStatus::Error,
            Some("the harness stopped unexpectedly".to_string()),
            None,
        ),
    };
    TestResult {
        index,
        status,
        source,
        line,
        expected: None,
        actual: None,
        call: None,
        exception,
        traceback,
        stdout: String::new(),
        duration_ms: exec.duration.as_secs_f64() * 1000.0,
    }
}

fn not_run(index: usize) -> TestResult {
    TestResult {
        index,
        status: TestStatus::NotRun,
        source: String::new(),
        line: 0,
        expected: None,
        actual: None,
        call: None,
        exception: None,
        traceback: None,
        stdout: String::new(),
        duration_ms: 0.0,
    }
}

fn count_tests_hint(results: &[TestResult]) -> usize {
    results.iter().map(|r| r.index + 1).max().unwrap_or(0)
}

fn describe_load_failure(exec: &ExecResult) -> String {
    match &exec.status {
        Status::Exception {
            traceback,
            kind,
            message,
            ..
        } => {
            if traceback.is_empty() {
                format!("{kind}: {message}")
            } else {
                traceback.clone()
            }
        }
        Status::Exit { code } => format!("the program exited with code {code} while loading"),
        Status::Timeout => "time limit exceeded while loading the program".into(),
        Status::OutOfMemory { .. } => "memory limit exceeded while loading the program".into(),
        Status::OutOfFuel => "fuel limit exceeded while loading the program".into(),
        Status::GuestFault { message } => {
            format!("the sandbox guest faulted while loading the program: {message}")
        }
        Status::Ok => "the test harness produced no results".into(),
    }
}

/// Normalises program output for comparison: trailing whitespace of each
/// line and trailing blank lines are ignored.
pub fn normalize_output(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |p| p + 1);
    lines[..end].join("\n")
}

fn io_result(index: usize, case: &IoCase, exec: &ExecResult, max_repr: usize) -> TestResult {
    let clip = |s: &str| -> String {
        if s.chars().count() > max_repr {
            let cut: String = s.chars().take(max_repr).collect();
            format!("{cut}…")
        } else {
            s.to_string()
        }
    };
    let source = format!("input: {}", clip(&case.input));
    let mut result = TestResult {
        index,
        status: TestStatus::Passed,
        source,
        line: 0,
        expected: None,
        actual: None,
        call: None,
        exception: None,
        traceback: None,
        stdout: clip(&exec.stdout),
        duration_ms: exec.duration.as_secs_f64() * 1000.0,
    };
    match &exec.status {
        Status::Ok | Status::Exit { code: 0 } => {
            if normalize_output(&exec.stdout) != normalize_output(&case.output)
                || exec.stdout_truncated
            {
                result.status = TestStatus::Failed;
                result.expected = Some(clip(&case.output));
                result.actual = Some(clip(&exec.stdout));
            }
        }
        other => {
            let abnormal = abnormal_result(index, String::new(), 0, exec);
            result.status = abnormal.status;
            result.exception = abnormal.exception;
            result.traceback = abnormal.traceback;
            if let Status::Exception { .. } = other {
                result.expected = Some(clip(&case.output));
                result.actual = Some(clip(&exec.stdout));
            }
            if let Status::Exit { .. } = other {
                if !exec.stderr.is_empty() {
                    result.traceback = Some(clip(&exec.stderr));
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_normalisation() {
        assert_eq!(normalize_output("1 \n2\n\n\n"), "1\n2");
        assert_eq!(normalize_output(""), "");
        assert_eq!(normalize_output("\n\n"), "");
        assert_ne!(normalize_output("1\n\n2"), normalize_output("1\n2"));
    }

    #[test]
    fn driver_has_spec_placeholder() {
        assert!(DRIVER.contains("__HONE_SPEC__"));
    }

    #[test]
    fn feedback_lists_failures_compactly() {
        let report = TestReport {
            tests: vec![
                TestResult {
                    index: 0,
                    status: TestStatus::Failed,
                    source: "assert f(1) == 2".into(),
                    line: 1,
                    expected: Some("2".into()),
                    actual: Some("3".into()),
                    call: Some("f(1) returned 3".into()),
                    exception: None,
                    traceback: None,
                    stdout: String::new(),
                    duration_ms: 0.1,
                },
                not_run(1),
            ],
            candidate_error: None,
            stdout: String::new(),
            duration_ms: 1.0,
        };
        let text = report.feedback(1);
        assert!(text.starts_with("0/2 tests passed."), "{text}");
        assert!(text.contains("expected: 2"), "{text}");
        assert!(text.contains("1 more failing"), "{text}");
    }
}
