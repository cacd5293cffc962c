//! The test harness against the real sandbox. Needs the guests
//! (`scripts/build-guests.sh`); fails with that instruction otherwise.

use std::time::Duration;

use hone_sandbox::{Language, Limits, Sandbox, SandboxConfig};
use hone_tools::{Harness, IoCase, TestStatus, TestSuite};

fn harness() -> Harness {
    let sandbox = Sandbox::new(SandboxConfig::default());
    for language in [Language::Python, Language::JavaScript] {
        if let Err(e) = sandbox.preload_blocking(language) {
            panic!("sandbox setup failed (guests are required; build them with scripts/build-guests.sh): {e}");
        }
    }
    let mut h = Harness::new(sandbox);
    h.limits = Limits {
        wall_time: Duration::from_secs(60),
        ..Limits::default()
    };
    h
}

const HUMANEVAL_TEST: &str = r#"
METADATA = {'author': 'x'}


def check(candidate):
    assert candidate([1, 2, 3]) == 6
    assert candidate([]) == 0
    assert candidate([5]) == 5, "single"
    assert abs(candidate([0.1, 0.2]) - 0.3) < 1e-9
    for n in range(3):
        assert candidate([n]) == n
    assert True
"#;

#[tokio::test]
async fn humaneval_all_pass() {
    let h = harness();
    let suite = TestSuite::Check {
        test: HUMANEVAL_TEST.into(),
        entry_point: "total".into(),
    };
    let report = h
        .run_python("def total(xs):\n    return sum(xs)\n", &suite)
        .await
        .expect("run");
    assert!(report.all_passed(), "{report:#?}");
    assert_eq!(
        report.total(),
        5,
        "trivial `assert True` is not a test: {report:#?}"
    );
    assert_eq!(report.feedback(3).lines().next(), Some("5/5 tests passed."));
}

#[tokio::test]
async fn humaneval_failures_are_precise() {
    let h = harness();
    let suite = TestSuite::Check {
        test: HUMANEVAL_TEST.into(),
        entry_point: "total".into(),
    };
    // Wrong for empty input (IndexError) and off by one otherwise.
    let candidate =
        "def total(xs):\n    first = xs[0]\n    return sum(xs) + (1 if len(xs) > 2 else 0)\n";
    let report = h.run_python(candidate, &suite).await.expect("run");
    // The host's failing verdict is not mistaken for a forged pass.
    assert!(
        !report.feedback(3).contains("Every test reported passing"),
        "{}",
        report.feedback(3)
    );
    let t0 = &report.tests[0];
    assert_eq!(t0.status, TestStatus::Failed, "{t0:#?}");
    assert_eq!(t0.source, "assert candidate([1, 2, 3]) == 6");
    assert_eq!(t0.expected.as_deref(), Some("6"));
    assert_eq!(t0.actual.as_deref(), Some("7"));
    assert_eq!(t0.call.as_deref(), Some("total([1, 2, 3]) returned 7"));
    let t1 = &report.tests[1];
    assert_eq!(t1.status, TestStatus::Error, "{t1:#?}");
    assert_eq!(
        t1.exception.as_deref(),
        Some("IndexError: list index out of range")
    );
    let tb = t1.traceback.as_deref().unwrap_or_default();
    assert!(
        tb.contains("File \"candidate.py\", line 2, in total"),
        "{tb}"
    );
    assert!(tb.contains("first = xs[0]"), "{tb}");
    assert!(
        !tb.contains("hone-harness"),
        "harness frames must be hidden: {tb}"
    );
    assert_eq!(report.tests[2].status, TestStatus::Passed);
    assert_eq!(report.passed(), 3, "{report:#?}");
    let fb = report.feedback(5);
    assert!(fb.starts_with("3/5 tests passed."), "{fb}");
    assert!(fb.contains("expected: 6"), "{fb}");
}

#[tokio::test]
async fn loop_assertion_reports_its_own_line() {
    let h = harness();
    let suite = TestSuite::Check {
        test:
            "def check(candidate):\n    for n in range(5):\n        assert candidate(n) == n * n\n"
                .into(),
        entry_point: "sq".into(),
    };
    let report = h
        .run_python("def sq(n):\n    return n * n if n < 3 else 0\n", &suite)
        .await
        .expect("run");
    let t = &report.tests[0];
    assert_eq!(t.status, TestStatus::Failed, "{t:#?}");
    assert_eq!(t.source, "assert candidate(n) == n * n");
    assert_eq!(t.line, 3);
    assert_eq!(t.call.as_deref(), Some("sq(3) returned 0"));
}

#[tokio::test]
async fn mbpp_asserts_and_candidate_output() {
    let h = harness();
    let suite = TestSuite::Asserts {
        setup: "import math".into(),
        asserts: vec![
            "assert remove_Occ(\"hello\",\"l\") == \"heo\"".into(),
            "assert remove_Occ(\"abcda\",\"a\") == \"bcd\"".into(),
            "assert math.isclose(len(remove_Occ(\"PHP\",\"P\")), 1)".into(),
        ],
    };
    let candidate =
        "def remove_Occ(s, ch):\n    print('called', s)\n    return s.replace(ch, '', 1)\n";
    let report = h.run_python(candidate, &suite).await.expect("run");
    assert_eq!(report.tests.len(), 3);
    assert_eq!(report.tests[0].status, TestStatus::Failed);
    assert_eq!(report.tests[0].expected.as_deref(), Some("'heo'"));
    assert_eq!(report.tests[0].actual.as_deref(), Some("'helo'"));
    assert_eq!(report.tests[0].stdout, "called hello\n");
    assert_eq!(report.tests[1].status, TestStatus::Failed);
    assert_eq!(report.tests[2].status, TestStatus::Failed);
    assert_eq!(report.tests[2].expected.as_deref(), Some("a truthy value"));
}

#[tokio::test]
async fn candidate_that_does_not_load() {
    let h = harness();
    let suite = TestSuite::Asserts {
        setup: String::new(),
        asserts: vec!["assert f(1) == 1".into()],
    };
    let report = h
        .run_python("def f(x)\n    return x\n", &suite)
        .await
        .expect("run");
    let err = report.candidate_error.as_deref().unwrap_or_default();
    assert!(err.contains("SyntaxError"), "{report:#?}");
    assert!(err.contains("candidate.py\", line 1"), "{err}");
    assert_eq!(report.pass_fraction(), 0.0);
    let suite = TestSuite::Check {
        test: "def check(candidate):\n    assert candidate(1) == 1\n".into(),
        entry_point: "missing".into(),
    };
    let report = h
        .run_python("def f(x):\n    return x\n", &suite)
        .await
        .expect("run");
    assert!(
        report
            .candidate_error
            .as_deref()
            .unwrap_or_default()
            .contains("missing"),
        "{report:#?}"
    );
    assert!(!report.all_passed());
}

#[tokio::test]
async fn timeout_in_one_test_does_not_lose_the_others() {
    let mut h = harness();
    h.limits.wall_time = Duration::from_secs(2);
    let suite = TestSuite::Asserts {
        setup: String::new(),
        asserts: vec![
            "assert f(1) == 1".into(),
            "assert f(-1) == -1".into(),
            "assert f(2) == 2".into(),
        ],
    };
    let report = h
        .run_python(
            "def f(x):\n    while x < 0:\n        pass\n    return x\n",
            &suite,
        )
        .await
        .expect("run");
    let statuses: Vec<TestStatus> = report.tests.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        vec![TestStatus::Passed, TestStatus::Timeout, TestStatus::Passed],
        "{report:#?}"
    );
    assert_eq!(report.tests[1].source, "assert f(-1) == -1");
}

#[tokio::test]
async fn sys_exit_inside_a_test_is_an_error() {
    let h = harness();
    let suite = TestSuite::Asserts {
        setup: String::new(),
        asserts: vec!["assert f(1) == 1".into(), "assert f(2) == 2".into()],
    };
    let report = h
        .run_python(
            "import sys\ndef f(x):\n    if x == 1:\n        sys.exit(0)\n    return x\n",
            &suite,
        )
        .await
        .expect("run");
    assert_eq!(report.tests[0].status, TestStatus::Error, "{report:#?}");
    assert_eq!(report.tests[1].status, TestStatus::Passed, "{report:#?}");
}

#[tokio::test]
async fn stdin_stdout_pairs_python_and_javascript() {
    let h = harness();
    let suite = TestSuite::Io {
        cases: vec![
            IoCase {
                input: "1 2\n".into(),
                output: "3\n".into(),
            },
            IoCase {
                input: "5 7\n".into(),
                output: "12".into(),
            },
            IoCase {
                input: "2 2\n".into(),
                output: "5\n".into(),
            },
        ],
    };
    let report = h
        .run_python("a, b = map(int, input().split())\nprint(a + b)\n", &suite)
        .await
        .expect("run");
    let statuses: Vec<TestStatus> = report.tests.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        vec![TestStatus::Passed, TestStatus::Passed, TestStatus::Failed]
    );
    assert_eq!(report.tests[2].expected.as_deref(), Some("5\n"));
    assert_eq!(report.tests[2].actual.as_deref(), Some("4\n"));
    let js =
        "const [a, b] = std.in.readAsString().trim().split(' ').map(Number); console.log(a + b);";
    let report = h.run(Language::JavaScript, js, &suite).await.expect("run");
    assert_eq!(report.passed(), 2, "{report:#?}");
    let report = h
        .run_python("raise ValueError('nope')", &suite)
        .await
        .expect("run");
    assert_eq!(report.tests[0].status, TestStatus::Error);
    assert!(
        report.tests[0]
            .traceback
            .as_deref()
            .unwrap_or_default()
            .contains("candidate.py"),
        "{report:#?}"
    );
}

/// The host's verdict is taken for every assertion suite and decides it,
/// and every pool slot comes back either way.
#[tokio::test]
async fn the_host_verdict_decides_every_assertion_suite_and_slots_come_back() {
    let h = harness();
    let idle = h.sandbox().available_slots();
    let suite = TestSuite::Check {
        test: HUMANEVAL_TEST.into(),
        entry_point: "total".into(),
    };
    let good = h
        .run_python("def total(xs):\n    return sum(xs)\n", &suite)
        .await
        .unwrap();
    assert!(good.all_passed());
    assert_eq!(good.host_verdict.as_ref().map(|v| v.passed), Some(true));
    let bad = h
        .run_python("def total(xs):\n    return 0\n", &suite)
        .await
        .unwrap();
    assert!(!bad.all_passed());
    assert_eq!(bad.host_verdict.as_ref().map(|v| v.passed), Some(false));
    // A candidate that forges a pass in the shared interpreter is still
    // refuted by the host's run.
    let forged = h
        .run_python(
            "import operator\noperator.eq = lambda a, b: True\ndef total(xs):\n    return 0\n",
            &suite,
        )
        .await
        .unwrap();
    if forged.tests.iter().all(|t| t.status == TestStatus::Passed) {
        assert_eq!(forged.host_verdict.as_ref().map(|v| v.passed), Some(false));
        assert!(!forged.all_passed());
    }
    assert_eq!(h.sandbox().available_slots(), idle);
}

/// A pass is decided by the host's run alone: its tests are the suite's
/// plan (the same tests, sources and lines the per-test driver runs), with
/// nothing recorded from inside the candidate's interpreter.
#[tokio::test]
async fn a_pass_lists_the_tests_the_driver_runs_without_running_the_driver() {
    let h = harness();
    let suite = TestSuite::Check {
        test: HUMANEVAL_TEST.into(),
        entry_point: "total".into(),
    };
    let good = h
        .run_python(
            "print('loaded')\ndef total(xs):\n    return sum(xs)\n",
            &suite,
        )
        .await
        .unwrap();
    let failing = h
        .run_python("def total(xs):\n    return -1\n", &suite)
        .await
        .unwrap();
    assert!(good.all_passed() && good.complete, "{good:#?}");
    assert_eq!(good.total(), 5);
    assert_eq!(failing.total(), good.total());
    for (passed, driven) in good.tests.iter().zip(&failing.tests) {
        assert_eq!(passed.index, driven.index);
        assert_eq!(passed.status, TestStatus::Passed);
        assert_eq!(passed.call, None, "{passed:#?}");
        assert_eq!(driven.status, TestStatus::Failed, "{driven:#?}");
        assert!(driven.call.is_some(), "{driven:#?}");
        // A failed assert inside a loop is reported at its own line.
        if !passed.source.starts_with("for ") {
            assert_eq!((&passed.source, passed.line), (&driven.source, driven.line));
        }
    }
    assert_eq!(good.tests[0].source, "assert candidate([1, 2, 3]) == 6");
    assert!(good.stdout.contains("loaded"), "{good:#?}");
    // Module-style suites are planned the same way.
    let asserts = TestSuite::Asserts {
        setup: "import math".into(),
        asserts: vec!["assert f(1) == 1".into(), "assert f(4) == 2".into()],
    };
    let r = h
        .run_python(
            "import math\ndef f(x):\n    return math.isqrt(x)\n",
            &asserts,
        )
        .await
        .unwrap();
    assert!(r.all_passed(), "{r:#?}");
    let sources: Vec<&str> = r.tests.iter().map(|t| t.source.as_str()).collect();
    assert_eq!(sources, ["assert f(1) == 1", "assert f(4) == 2"]);
}

/// `prepare` plans many suites in one execution; each is then verified as
/// if planned alone, and a suite that cannot be planned still reports why.
#[tokio::test]
async fn prepared_suites_verify_as_if_planned_alone() {
    let prepared = harness();
    let fresh = harness();
    let suites: Vec<TestSuite> = (0..20)
        .map(|k| TestSuite::Check {
            test: format!("def check(candidate):\n    assert candidate({k}) == {}\n    for i in range(2):\n        assert candidate(i) == i + 1\n", k + 1),
            entry_point: "inc".into(),
        })
        .chain([TestSuite::Check {
            test: "def not_check(candidate):\n    assert candidate(1) == 2\n".into(),
            entry_point: "inc".into(),
        }])
        .collect();
    let refs: Vec<&TestSuite> = suites.iter().collect();
    prepared.prepare(&refs).await.unwrap();
    for suite in &suites {
        let a = prepared
            .run_python("def inc(x):\n    return x + 1\n", suite)
            .await
            .unwrap();
        let b = fresh
            .run_python("def inc(x):\n    return x + 1\n", suite)
            .await
            .unwrap();
        assert_eq!(a.tests, b.tests);
        assert_eq!(a.all_passed(), b.all_passed());
        assert_eq!(a.candidate_error, b.candidate_error);
    }
    let last = prepared
        .run_python("def inc(x):\n    return x + 1\n", &suites[20])
        .await
        .unwrap();
    assert!(!last.all_passed());
    assert!(last
        .candidate_error
        .unwrap_or_default()
        .contains("check(candidate)"));
    let first = prepared
        .run_python("def inc(x):\n    return x + 1\n", &suites[0])
        .await
        .unwrap();
    assert!(first.all_passed() && first.total() == 2, "{first:#?}");
}
