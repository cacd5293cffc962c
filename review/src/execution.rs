//! Execution evidence: a finding that claims wrong behaviour comes with a
//! test the actor wrote, and hone runs it in the Wasm sandbox against the
//! new code and, where it exists, the old code.
//!
//! The verdict is the host's, read from how the program ended — never from
//! anything the code under test prints:
//!
//! * the test's assertion fails (an `AssertionError` raised in the test's
//!   own cell) → [`TestOutcome::Fails`]: the claim holds;
//! * the program ends normally → [`TestOutcome::Passes`]: the claim does
//!   not hold on this code, and the finding is dropped;
//! * anything else (the file does not run on its own, the test crashes or
//!   times out) → [`TestOutcome::Inconclusive`]: no evidence either way.
//!
//! Python files run as one cell and the test as a second cell in the same
//! globals; JavaScript files run with the test appended and an `assert`
//! helper that raises `AssertionError`.

use std::time::Duration;

use hone_sandbox::{Cell, Language, Limits, Program, Sandbox, Status};

use crate::finding::TestOutcome;

/// The test cell's file name, as tracebacks show it.
pub const TEST_CELL: &str = "test_finding";

/// Time for one run of a finding's test.
pub const TEST_TIME: Duration = Duration::from_secs(10);

/// Runs the test functions a test cell defined but never called (models
/// often write `def test_x(): ...` and stop): every callable whose name
/// starts with `test` and whose code lives in the test cell, in order.
const PY_RUNNER: &str = "for _hone_name, _hone_fn in list(globals().items()):\n    if _hone_name.startswith('test') and getattr(getattr(_hone_fn, '__code__', None), 'co_filename', '') == 'test_finding.py':\n        _hone_fn()\n";

const JS_PRELUDE: &str = "class AssertionError extends Error { constructor(m) { super(m); this.name = 'AssertionError'; } }\nfunction assert(ok, message) { if (!ok) throw new AssertionError(message || 'assertion failed'); }\n";

/// Runs `test` against `source` (the file at `path`).
pub async fn run_test(
    sandbox: &Sandbox,
    language: Language,
    path: &str,
    source: &str,
    test: &str,
) -> TestOutcome {
    let program = match language {
        Language::Python => Program::new(Language::Python, Cell::new(path, source))
            .with_cell(Cell::new(format!("{TEST_CELL}.py"), test))
            .with_cell(Cell::new(format!("{TEST_CELL}_runner.py"), PY_RUNNER)),
        Language::JavaScript => Program::javascript(format!("{JS_PRELUDE}{source}\n;\n{test}\n")),
    };
    let limits = Limits {
        wall_time: TEST_TIME,
        ..Limits::default()
    };
    let exec = match sandbox.run(program, limits).await {
        Ok(exec) => exec,
        Err(e) => {
            return TestOutcome::Inconclusive {
                reason: format!("the sandbox failed: {e}"),
            }
        }
    };
    classify(language, path, &exec.status, &exec.stderr)
}

/// A test written with `unittest` ends the program itself: exit 0 when it
/// passed, 1 with `FAILED (failures=…)` and the `AssertionError` on stderr
/// when an assertion failed.
fn classify(language: Language, path: &str, status: &Status, stderr: &str) -> TestOutcome {
    match status {
        Status::Ok | Status::Exit { code: 0 } => TestOutcome::Passes,
        Status::Exit { .. }
            if stderr.contains("FAILED (failures=") && stderr.contains("AssertionError") =>
        {
            let line = stderr
                .lines()
                .find(|l| l.starts_with("AssertionError"))
                .unwrap_or("AssertionError");
            TestOutcome::Fails {
                assertion: line.trim().to_string(),
            }
        }
        Status::Exception {
            kind,
            message,
            traceback,
            cell,
        } => {
            let in_test = match language {
                Language::Python => cell.starts_with(TEST_CELL),
                // One cell: the assertion type itself is the test's.
                Language::JavaScript => true,
            };
            if kind == "AssertionError" && in_test {
                TestOutcome::Fails {
                    assertion: assertion_text(message, traceback),
                }
            } else if language == Language::Python && !cell.starts_with(TEST_CELL) {
                TestOutcome::Inconclusive {
                    reason: format!("{path} does not run on its own: {kind}: {message}"),
                }
            } else {
                TestOutcome::Inconclusive {
                    reason: format!("the test itself failed: {kind}: {message}"),
                }
            }
        }
        Status::Timeout => TestOutcome::Inconclusive {
            reason: format!("timed out after {} s", TEST_TIME.as_secs()),
        },
        other => TestOutcome::Inconclusive {
            reason: format!("ended with {}", other.label()),
        },
    }
}

/// The assertion's message, else the traceback's last source line (the
/// `assert` statement).
fn assertion_text(message: &str, traceback: &str) -> String {
    if !message.trim().is_empty() {
        return message.trim().to_string();
    }
    traceback
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with("assert"))
        .unwrap_or("assertion failed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_tests_own_assertion_confirms_a_claim() {
        let fail = Status::Exception {
            kind: "AssertionError".into(),
            message: String::new(),
            traceback: "  File \"test_finding.py\", line 1\n    assert f(0) == 1\n".into(),
            cell: "test_finding.py".into(),
        };
        assert_eq!(
            classify(Language::Python, "m.py", &fail, ""),
            TestOutcome::Fails {
                assertion: "assert f(0) == 1".into()
            }
        );
        // An assertion inside the file under test is not the test's verdict.
        let inside = Status::Exception {
            kind: "AssertionError".into(),
            message: "x".into(),
            traceback: String::new(),
            cell: "m.py".into(),
        };
        assert!(matches!(
            classify(Language::Python, "m.py", &inside, ""),
            TestOutcome::Inconclusive { .. }
        ));
        assert_eq!(
            classify(Language::Python, "m.py", &Status::Ok, ""),
            TestOutcome::Passes
        );
        assert!(matches!(
            classify(Language::Python, "m.py", &Status::Timeout, ""),
            TestOutcome::Inconclusive { .. }
        ));
        let unittest = "F\nFAIL: test_x\nAssertionError: 1 != 2\nFAILED (failures=1)\n";
        assert_eq!(
            classify(
                Language::Python,
                "m.py",
                &Status::Exit { code: 1 },
                unittest
            ),
            TestOutcome::Fails {
                assertion: "AssertionError: 1 != 2".into()
            }
        );
        assert_eq!(
            classify(Language::Python, "m.py", &Status::Exit { code: 0 }, ""),
            TestOutcome::Passes
        );
        assert!(matches!(
            classify(Language::Python, "m.py", &Status::Exit { code: 2 }, "usage"),
            TestOutcome::Inconclusive { .. }
        ));
    }

    #[test]
    fn the_test_is_read_from_its_fence() {
        use hone_agents::refine::extract_code;
        assert_eq!(
            extract_code("Here:\n```python\nassert f(1) == 2\n```\nDone."),
            "assert f(1) == 2"
        );
        assert_eq!(extract_code("assert g()"), "assert g()");
    }
}
