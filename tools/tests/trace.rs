//! Execution traces against the real sandbox. Needs the Python guest
//! (`scripts/build-guests.sh`); fails with that instruction otherwise.

use std::time::Duration;

use hone_sandbox::{Language, Limits, Sandbox, SandboxConfig};
use hone_tools::trace::{trace_test, StepKind, TraceLimits};
use hone_tools::{Harness, TestSuite};

fn harness() -> Harness {
    let sandbox = Sandbox::new(SandboxConfig::default());
    if let Err(e) = sandbox.preload_blocking(Language::Python) {
        panic!("sandbox setup failed (guests are required; build them with scripts/build-guests.sh): {e}");
    }
    let mut h = Harness::new(sandbox);
    h.limits = Limits {
        wall_time: Duration::from_secs(3),
        ..Limits::default()
    };
    h
}

const ROLLING_MAX: &str = "\
def rolling_max(numbers):
    result = []
    best = 0
    for n in numbers[1:]:
        best = max(best, n)
        result.append(best)
    return result
";

#[tokio::test]
async fn the_failing_call_is_traced_line_by_line_with_values_after_each_line() {
    let h = harness();
    let suite = TestSuite::Asserts {
        setup: String::new(),
        asserts: vec!["assert rolling_max([3, 1]) == [3, 3]".into()],
    };
    let trace = trace_test(
        &h,
        ROLLING_MAX,
        &suite,
        "assert rolling_max([3, 1]) == [3, 3]",
        &TraceLimits::default(),
    )
    .await
    .expect("trace");
    // By hand: call (numbers=[3, 1]); line 2 (result=[]); line 3 (best=0);
    // loop over [1]: line 4, line 5 (best=1), line 6 (result=[1]); line 4
    // again (loop ends); line 7 returns [1].
    let lines: Vec<(StepKind, u32)> = trace.steps.iter().map(|s| (s.kind, s.line)).collect();
    assert_eq!(
        lines,
        vec![
            (StepKind::Call, 1),
            (StepKind::Line, 2),
            (StepKind::Line, 3),
            (StepKind::Line, 4),
            (StepKind::Line, 5),
            (StepKind::Line, 6),
            (StepKind::Line, 4),
            (StepKind::Return, 7),
        ],
        "{trace:#?}"
    );
    assert_eq!(trace.total_steps, 8);
    assert!(
        trace.outcome.starts_with("AssertionError"),
        "{}",
        trace.outcome
    );
    let text = trace.render(2000);
    assert!(
        text.contains(
            "line 5: best = max(best, n)\n    numbers = [3, 1], result = [], best = 1, n = 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("line 7: return result  -> returns [1]"),
        "{text}"
    );
}

#[tokio::test]
async fn long_runs_keep_both_ends_within_the_caps() {
    let h = harness();
    let code = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n";
    let suite = TestSuite::Check {
        test: "def check(candidate):\n    assert candidate(500) == 1\n".into(),
        entry_point: "total".into(),
    };
    let limits = TraceLimits::default();
    let trace = trace_test(&h, code, &suite, "assert candidate(500) == 1", &limits)
        .await
        .expect("trace");
    // call + line 2 + 500 × (line 3, line 4) + line 3 (loop end) + return.
    assert_eq!(trace.total_steps, 1 + 1 + 1000 + 1 + 1);
    assert_eq!(trace.steps.len(), limits.head + limits.tail);
    assert_eq!(trace.steps.last().map(|s| s.kind), Some(StepKind::Return));
    let text = trace.render(limits.max_chars);
    assert!(text.chars().count() <= limits.max_chars);
    assert!(text.contains("steps not shown"), "{text}");
    assert!(text.contains("-> returns 124750"), "{text}");
}

#[tokio::test]
async fn a_hanging_candidate_keeps_the_steps_before_the_time_limit() {
    let mut h = harness();
    h.limits.wall_time = Duration::from_secs(1);
    let code = "def spin(x):\n    y = x + 1\n    while True:\n        pass\n";
    let suite = TestSuite::Asserts {
        setup: String::new(),
        asserts: vec![],
    };
    let trace = trace_test(
        &h,
        code,
        &suite,
        "assert spin(1) == 2",
        &TraceLimits::default(),
    )
    .await
    .expect("trace");
    assert!(trace.outcome.contains("time limit"), "{}", trace.outcome);
    assert!(
        trace
            .steps
            .iter()
            .any(|s| s.line == 2 && s.values.contains(&("y".to_string(), "2".to_string()))),
        "{trace:#?}"
    );
}
