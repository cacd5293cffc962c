//! The test harness: runs a candidate program against tests in the sandbox
//! and returns precise, compact per-test feedback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hone_sandbox::{Cell, ExecResult, Language, Limits, Program, Sandbox, SandboxError, Status};
use serde::{Deserialize, Serialize};

use crate::driver::{driver_program, one_line};

/// The Python driver, run in the guest after the candidate.
pub(crate) const DRIVER: &str = include_str!("harness.py");
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

/// Result of running a suite: the per-test view, for feedback.
///
/// For assertion suites the host's own verdict ([`TestReport::host_verdict`],
/// from [`Harness::score`]) is taken first. When it passes, every test is
/// listed as passed from the suite's plan, with no per-test output. When it
/// fails, the per-test results come from a driver that shares the
/// interpreter with the candidate: they explain the failure, and never turn
/// it into a pass. Whether the suite passed ([`TestReport::all_passed`])
/// needs the suite to have run to its end ([`TestReport::complete`]) and the
/// host's verdict, where one was taken, to agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Per-test results, in suite order.
    pub tests: Vec<TestResult>,
    /// Set when the candidate itself failed before any test could run
    /// (syntax error, exception at import, missing entry point), or when
    /// the suite's own setup failed part-way, as `Type: message` plus
    /// traceback.
    pub candidate_error: Option<String>,
    /// True when the driver ran every test of the suite and said so, and
    /// no result was lost to a full report channel. A suite that stopped
    /// early (a setup statement raised, resumes ran out, the candidate
    /// exited) is never complete.
    #[serde(default)]
    pub complete: bool,
    /// The host-decided verdict of the whole suite run as one program
    /// ([`Harness::score`]); taken for every assertion suite, `None` for
    /// `Io` suites (whose outputs the host compares itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_verdict: Option<Score>,
    /// Output the candidate printed while loading.
    pub stdout: String,
    /// Total wall time, in milliseconds (all executions).
    pub duration_ms: f64,
}

/// A host-decided verdict: whether a candidate and its tests, run as one
/// program in a fresh interpreter, ran to completion (see
/// [`hone_sandbox::Sandbox::score`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// True only when the program ran to completion with no exception, no
    /// exit, no trap and within its time limit.
    pub passed: bool,
    /// How the run ended: `ok`, `exception`, `exit`, `timeout`, ...
    pub status: String,
    /// A one-line reason when it failed (for display; it never decides).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The compact view of a [`TestReport`] that strategies keep in their state
/// and show to models: counts, completeness and the rendered feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// Tests passed.
    pub passed: usize,
    /// Tests in the suite.
    pub total: usize,
    /// Whether every test passed, decided as [`TestReport::all_passed`].
    #[serde(default)]
    pub verified: bool,
    /// Compact feedback for the models (failures, expected vs actual, traceback).
    pub feedback: String,
}

impl TestOutcome {
    /// Passed over total, 0 when nothing ran.
    pub fn pass_fraction(&self) -> f64 {
        self.passed as f64 / self.total.max(1) as f64
    }

    /// Whether the suite passed: as [`TestReport::all_passed`] decided when
    /// the outcome was made (every test ran and passed, and the host agreed).
    pub fn all_passed(&self) -> bool {
        self.verified
    }
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

    /// True only when the suite ran to its end ([`TestReport::complete`]),
    /// had at least one test, every test passed, and the host's verdict, if
    /// taken, agrees.
    pub fn all_passed(&self) -> bool {
        self.complete
            && self.candidate_error.is_none()
            && !self.tests.is_empty()
            && self.passed() == self.tests.len()
            && self.host_verdict.as_ref().is_none_or(|v| v.passed)
    }

    /// The compact view kept in strategy state, with up to `max_failures`
    /// failures in its feedback.
    pub fn outcome(&self, max_failures: usize) -> TestOutcome {
        TestOutcome {
            passed: self.passed(),
            total: self.total(),
            verified: self.all_passed(),
            feedback: self.feedback(max_failures),
        }
    }

    /// Compact text feedback for a model: the tally, then up to
    /// `max_failures` failing tests with expected vs actual and traceback.
    pub fn feedback(&self, max_failures: usize) -> String {
        let mut out = format!("{}/{} tests passed.\n", self.passed(), self.total());
        if let Some(err) = &self.candidate_error {
            if self.tests.is_empty() {
                out.push_str("The program failed before any test ran:\n");
            } else {
                out.push_str("The tests stopped before the end:\n");
            }
            out.push_str(err.trim_end());
            out.push('\n');
            return out;
        }
        let driver_claims_a_pass = !self.tests.is_empty() && self.passed() == self.total();
        if let Some(verdict) = self
            .host_verdict
            .as_ref()
            .filter(|v| !v.passed && driver_claims_a_pass)
        {
            out.push_str(&format!(
                "Every test reported passing, but the candidate and the tests run as one \
                 program did not complete ({}): {}\n",
                verdict.status,
                one_line(&verdict.detail, 300)
            ));
        } else if !self.complete {
            out.push_str("The test run did not reach the end of the suite.\n");
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

/// Runs candidates against suites.
///
/// Assertion suites run first as one program whose verdict the host
/// decides ([`Harness::score`]: the candidate, then the tests, in a fresh
/// interpreter). A pass ends there, one execution: the tests are listed
/// from the suite's plan, which the driver finds from the test source once
/// per suite. A failure is then explained by the per-test driver: the
/// candidate as `candidate.py`, then a driver that runs each test statement
/// separately and streams its result to the host, so a test that hangs or
/// crashes is blamed alone and the remaining tests resume in a fresh
/// execution. The candidate shares the interpreter with that driver, so its
/// results are feedback, never a verdict. (A candidate that hangs therefore
/// costs the time limit twice: once in the verdict, once in the driver that
/// finds the hanging test.) Scores (hidden tests, pass@k) come from
/// [`Harness::score`] alone.
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
    /// Each suite's tests as the driver numbers them, found once per suite
    /// (see [`Harness::plan`]) and shared by clones of this harness.
    plans: Arc<Mutex<PlanCache>>,
}

/// An assertion suite as the driver and the host's verdict take it: the
/// driver's style (`check` or `module`), the whole test source, and the
/// function `check` is called with (HumanEval style only).
struct AssertionForm {
    style: &'static str,
    source: String,
    entry_point: Option<String>,
}

impl AssertionForm {
    /// The form of an assertion suite, or the cases of an `Io` suite,
    /// which has no assertions.
    fn of(suite: &TestSuite) -> Result<AssertionForm, &[IoCase]> {
        match suite {
            TestSuite::Check { test, entry_point } => Ok(AssertionForm {
                style: "check",
                source: test.clone(),
                entry_point: Some(entry_point.clone()),
            }),
            TestSuite::Asserts { setup, asserts } => Ok(AssertionForm {
                style: "module",
                source: assertion_source(setup, asserts),
                entry_point: None,
            }),
            TestSuite::Io { cases } => Err(cases),
        }
    }
}

/// A suite's style and test source: what its test plan depends on.
type PlanKey = (&'static str, String);

/// Plans by suite; `None` for a suite known to have none (its tests do
/// not parse, or a `check` suite without `check`).
type PlanCache = HashMap<PlanKey, Option<Arc<[PlannedTest]>>>;

/// Plans kept before the cache starts over (a plan is a few hundred bytes;
/// a benchmark run verifies against a few hundred suites).
const MAX_PLANS: usize = 4096;

/// One test of a suite, as found from the source without running it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PlannedTest {
    source: String,
    line: u32,
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
            plans: Arc::default(),
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
        match AssertionForm::of(suite) {
            Err(cases) => self.run_io(language, candidate, cases).await,
            Ok(form) => {
                self.require_python(language)?;
                self.run_asserts(candidate, form).await
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
        form: AssertionForm,
    ) -> Result<TestReport, HarnessError> {
        let started = std::time::Instant::now();
        let AssertionForm {
            style,
            source: test_source,
            entry_point,
        } = form;
        // The host's verdict comes first: a passing candidate needs no
        // other execution, and a failing one gets the per-test driver's
        // feedback next to a verdict it could not have forged.
        let program = scored_program(candidate, &test_source);
        let (verdict, scored_stdout) = self
            .score_program(&program, entry_point.as_deref().unwrap_or(""))
            .await?;
        if verdict.passed {
            if let Some(plan) = self.plan(style, &test_source).await? {
                return Ok(TestReport {
                    tests: plan
                        .iter()
                        .enumerate()
                        .map(|(index, t)| passed_by_verdict(index, t))
                        .collect(),
                    candidate_error: None,
                    complete: !plan.is_empty(),
                    host_verdict: Some(verdict),
                    stdout: scored_stdout,
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                });
            }
        }
        let mut results: Vec<TestResult> = Vec::new();
        let mut skip: Vec<usize> = Vec::new();
        let mut total: Option<usize> = None;
        let mut stdout = String::new();
        let mut candidate_error = None;
        let mut resumes = 0;
        let mut reached_end = false;
        let mut lost_reports = false;
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
            let program =
                driver_program(&self.sandbox, DRIVER, "<hone-harness>", &spec, candidate).await;
            let exec = self.sandbox.run(program, self.limits.clone()).await?;
            lost_reports |= exec.reports_truncated;
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
                reached_end = true;
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
        let complete = reached_end
            && !lost_reports
            && candidate_error.is_none()
            && results.iter().all(|r| r.status != TestStatus::NotRun);
        // The per-test view shares the interpreter with the candidate: it
        // explains a failure, and the host's verdict decides the pass.
        Ok(TestReport {
            tests: results,
            candidate_error,
            complete,
            host_verdict: Some(verdict),
            stdout,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// The tests of a suite as the driver numbers them, found by the driver
    /// from the test source alone (no candidate, nothing of the tests run),
    /// once per suite. `None` when the tests do not parse or a `check`
    /// suite defines no `check`: the driver's own run then says so.
    async fn plan(
        &self,
        style: &'static str,
        test_source: &str,
    ) -> Result<Option<Arc<[PlannedTest]>>, HarnessError> {
        let key: PlanKey = (style, test_source.to_string());
        if let Some(plan) = self.cached_plan(&key) {
            return Ok(plan);
        }
        self.plan_all(vec![key.clone()]).await?;
        Ok(self.cached_plan(&key).flatten())
    }

    /// Finds the test plans of every assertion suite in `suites` that is
    /// not planned yet, in one sandbox execution, so that verifying
    /// candidates against them later costs one execution each when they
    /// pass. A benchmark calls this once with all its suites; without it,
    /// each suite is planned at its first use.
    pub async fn prepare(&self, suites: &[&TestSuite]) -> Result<(), HarnessError> {
        let mut wanted: Vec<PlanKey> = suites
            .iter()
            .filter_map(|suite| AssertionForm::of(suite).ok())
            .map(|form| (form.style, form.source))
            .filter(|key| self.cached_plan(key).is_none())
            .collect();
        wanted.sort();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(());
        }
        self.plan_all(wanted).await
    }

    async fn plan_all(&self, keys: Vec<PlanKey>) -> Result<(), HarnessError> {
        let spec = serde_json::json!({
            "plans": keys.iter().map(|(style, source)| [*style, source.as_str()]).collect::<Vec<_>>(),
            "test_file": TEST_FILE,
        });
        let program = driver_program(&self.sandbox, DRIVER, "<hone-harness>", &spec, "").await;
        let exec = self.sandbox.run(program, self.limits.clone()).await?;
        let mut tests: Vec<Vec<PlannedTest>> = vec![Vec::new(); keys.len()];
        let mut found: Vec<Option<Option<Arc<[PlannedTest]>>>> = vec![None; keys.len()];
        for line in &exec.reports {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let suite = get_usize(&event, "suite");
            if suite >= keys.len() {
                continue;
            }
            match event.get("event").and_then(|e| e.as_str()) {
                Some("test") => tests[suite].push(PlannedTest {
                    source: get_str(&event, "source").unwrap_or_default(),
                    line: get_usize(&event, "line") as u32,
                }),
                // Only a plan whose every test arrived is kept (a report
                // channel that filled up may have dropped some).
                Some("planned") if get_usize(&event, "total") == tests[suite].len() => {
                    found[suite] = Some(Some(std::mem::take(&mut tests[suite]).into()));
                }
                Some("unplannable") => found[suite] = Some(None),
                _ => {}
            }
        }
        if exec.status != Status::Ok {
            return Ok(()); // nothing is cached; each suite is retried alone
        }
        if let Ok(mut plans) = self.plans.lock() {
            if plans.len() + keys.len() > MAX_PLANS {
                plans.clear();
            }
            for (key, plan) in keys.into_iter().zip(found) {
                if let Some(plan) = plan {
                    plans.insert(key, plan);
                }
            }
        }
        Ok(())
    }

    /// `Some(None)`: known to have no plan; `None`: not planned yet.
    fn cached_plan(&self, key: &PlanKey) -> Option<Option<Arc<[PlannedTest]>>> {
        self.plans.lock().ok()?.get(key).cloned()
    }

    /// The host-decided verdict of `candidate` against `suite`, with the
    /// official HumanEval semantics: a fresh interpreter runs the candidate,
    /// then the tests, then `check(entry_point)` (for [`TestSuite::Check`])
    /// as one program, and it passes only if that runs to completion with no
    /// exception within [`Harness::limits`]. Nothing the candidate prints or
    /// calls decides it (see [`hone_sandbox::Sandbox::score`]). `Io` suites
    /// pass when every case's output matches, as the host compares them.
    ///
    /// This is the verdict to report as a score (hidden tests, pass@k);
    /// [`Harness::run`] gives the per-test feedback for models.
    pub async fn score(
        &self,
        language: Language,
        candidate: &str,
        suite: &TestSuite,
    ) -> Result<Score, HarnessError> {
        let Ok(form) = AssertionForm::of(suite) else {
            let report = self.run(language, candidate, suite).await?;
            let passed = report.all_passed();
            return Ok(Score {
                passed,
                status: if passed { "ok" } else { "failed" }.into(),
                detail: String::new(),
            });
        };
        self.require_python(language)?;
        let program = scored_program(candidate, &form.source);
        let (score, _) = self
            .score_program(&program, form.entry_point.as_deref().unwrap_or(""))
            .await?;
        Ok(score)
    }

    /// The host's verdict of `program`, and what it printed.
    async fn score_program(
        &self,
        program: &str,
        entry_point: &str,
    ) -> Result<(Score, String), HarnessError> {
        let exec = self
            .sandbox
            .score(program, entry_point, 0, self.limits.clone())
            .await?;
        let detail = match &exec.status {
            Status::Ok => String::new(),
            Status::Exception { message, .. } => message.clone(),
            _ => describe_load_failure(&exec),
        };
        let score = Score {
            passed: exec.status == Status::Ok,
            status: exec.status.label().to_string(),
            detail,
        };
        Ok((score, exec.stdout))
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
            complete: true,
            host_verdict: None,
            stdout: String::new(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

/// The program the host scores: the candidate, then the tests, as one
/// module (as the official HumanEval harness concatenates them); the guest
/// then calls `check(entry_point)` itself.
fn scored_program(candidate: &str, tests: &str) -> String {
    format!("{}\n\n{}\n", candidate.trim_end(), tests.trim_end())
}

/// An assertion suite as one source: setup, then one assert per line.
fn assertion_source(setup: &str, asserts: &[String]) -> String {
    let mut source = setup.trim_end().to_string();
    if !source.is_empty() {
        source.push('\n');
    }
    for a in asserts {
        source.push_str(a.trim());
        source.push('\n');
    }
    source
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

/// A test the host's verdict passed: the whole suite ran to completion in
/// one program, so every test in it held.
fn passed_by_verdict(index: usize, test: &PlannedTest) -> TestResult {
    TestResult {
        status: TestStatus::Passed,
        source: test.source.clone(),
        line: test.line,
        ..not_run(index)
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
            complete: true,
            host_verdict: None,
            stdout: String::new(),
            duration_ms: 1.0,
        };
        let text = report.feedback(1);
        assert!(text.starts_with("0/2 tests passed."), "{text}");
        assert!(text.contains("expected: 2"), "{text}");
        assert!(text.contains("1 more failing"), "{text}");
    }
}
