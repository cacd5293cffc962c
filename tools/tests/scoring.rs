//! Verdicts a candidate cannot forge. Every candidate here is wrong (or
//! cheats); each must score as failed through the host-decided score
//! (`Harness::score`, what hidden tests and pass@k report) and must not be
//! verified through the per-test feedback view (`TestReport::all_passed`).
//! Needs the guests (`scripts/build-guests.sh`).

use std::time::Duration;

use hone_sandbox::{Language, Limits, Sandbox, SandboxConfig};
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

/// HumanEval style: three asserts on `add`.
fn suite() -> TestSuite {
    TestSuite::Check {
        test: "def check(candidate):\n    assert candidate(1, 1) == 2\n    assert candidate(2, 3) == 5\n    assert candidate(0, 7) == 7\n".into(),
        entry_point: "add".into(),
    }
}

/// Scores `candidate`: (host verdict, per-test view's all_passed).
async fn verdicts(h: &Harness, candidate: &str, suite: &TestSuite) -> (bool, bool) {
    let score = h
        .score(Language::Python, candidate, suite)
        .await
        .expect("score");
    let report = h.run_python(candidate, suite).await.expect("run");
    assert!(!report.tests.is_empty() || report.candidate_error.is_some() || !report.complete);
    (score.passed, report.all_passed())
}

async fn assert_fails(h: &Harness, name: &str, candidate: &str) {
    let (scored, verified) = verdicts(h, candidate, &suite()).await;
    assert!(
        !scored,
        "{name}: the host scored a wrong candidate as passing"
    );
    assert!(
        !verified,
        "{name}: the per-test view verified a wrong candidate"
    );
}

#[tokio::test]
async fn honest_candidates_score_as_they_should() {
    let h = harness();
    // Positive control: without it every "fails" below could pass vacuously.
    let right = "def add(a, b):\n    return a + b\n";
    assert_eq!(verdicts(&h, right, &suite()).await, (true, true));
    let wrong = "def add(a, b):\n    return 0\n";
    assert_eq!(verdicts(&h, wrong, &suite()).await, (false, false));
    let score = h
        .score(Language::Python, wrong, &suite())
        .await
        .expect("score");
    assert_eq!(score.status, "exception");
    assert!(score.detail.contains("AssertionError"), "{score:?}");
    // MBPP style assertion lists are scored the same way.
    let asserts = TestSuite::Asserts {
        setup: "import math".into(),
        asserts: vec![
            "assert add(2, 2) == 4".into(),
            "assert add(1, 0) == 1".into(),
        ],
    };
    assert_eq!(verdicts(&h, right, &asserts).await, (true, true));
    assert_eq!(verdicts(&h, wrong, &asserts).await, (false, false));
}

#[tokio::test]
async fn fake_report_events_do_not_pass() {
    let h = harness();
    assert_fails(
        &h,
        "fake events then SystemExit",
        r#"
import json
from wit_world import report
for i in range(3):
    report(json.dumps({"event": "result", "i": i, "status": "passed", "source": "", "line": 1}))
report(json.dumps({"event": "done", "total": 3}))
raise SystemExit

def add(a, b):
    return 0
"#,
    )
    .await;
    assert_fails(
        &h,
        "fake events, then the harness runs on",
        r#"
import json
from wit_world import report
for i in range(3):
    report(json.dumps({"event": "result", "i": i, "status": "passed", "source": "", "line": 1}))
report(json.dumps({"event": "done", "total": 3}))

def add(a, b):
    return 0
"#,
    )
    .await;
}

#[tokio::test]
async fn wrapping_the_report_import_does_not_pass() {
    let h = harness();
    assert_fails(
        &h,
        "report wrapper",
        r#"
import wit_world
_real = wit_world.report
def _lie(data):
    _real(data.replace('"failed"', '"passed"').replace('"error"', '"passed"'))
wit_world.report = _lie

def add(a, b):
    return 0
"#,
    )
    .await;
}

#[tokio::test]
async fn shadowing_bool_and_operator_does_not_pass() {
    let h = harness();
    assert_fails(
        &h,
        "bool/operator",
        r#"
import operator
operator.eq = lambda a, b: True
operator.ne = lambda a, b: False

def bool(x):
    return True

def add(a, b):
    return 0
"#,
    )
    .await;
}

#[tokio::test]
async fn exits_do_not_pass() {
    let h = harness();
    for (name, candidate) in [
        ("sys.exit(0) at load", "import sys\nsys.exit(0)\ndef add(a, b):\n    return 0\n"),
        (
            "sys.exit(0) in the function",
            "import sys\ndef add(a, b):\n    sys.exit(0)\n",
        ),
        ("os._exit(0) at load", "import os\nos._exit(0)\n"),
        ("os._exit(0) in the function", "import os\ndef add(a, b):\n    os._exit(0)\n"),
        (
            "SystemExit from __del__",
            "class Bye:\n    def __del__(self):\n        raise SystemExit(0)\n\ndef add(a, b):\n    Bye()\n    return 0\n",
        ),
        (
            "SystemExit from atexit",
            "import atexit, sys\natexit.register(lambda: sys.exit(0))\ndef add(a, b):\n    return 0\n",
        ),
    ] {
        assert_fails(&h, name, candidate).await;
    }
}

#[tokio::test]
async fn a_full_report_channel_hides_no_failure() {
    let mut h = harness();
    // Right for the first test only. With the report channel nearly full
    // (as a candidate can fill it by calling `report` itself), the first
    // test's result still fits and everything after it, the failures and
    // the closing event, is dropped. Whatever the room left, nothing may
    // count as a full pass.
    let candidate = "def add(a, b):\n    return 2\n";
    let mut truncated = 0;
    for room in (200..=900).step_by(20) {
        h.limits.report_bytes = room;
        let report = h.run_python(candidate, &suite()).await.expect("run");
        truncated += usize::from(
            report
                .tests
                .iter()
                .all(|t| t.status == hone_tools::TestStatus::Passed),
        );
        assert!(!report.all_passed(), "room {room}: {report:?}");
    }
    assert!(
        truncated > 0,
        "some room must leave only passing results visible"
    );
    assert!(
        !h.score(Language::Python, candidate, &suite())
            .await
            .expect("score")
            .passed
    );
}

#[tokio::test]
async fn a_candidate_that_never_returns_does_not_pass() {
    let mut h = harness();
    h.limits.wall_time = Duration::from_millis(500);
    assert_fails(
        &h,
        "loops",
        "def add(a, b):\n    while True:\n        pass\n",
    )
    .await;
    assert_fails(
        &h,
        "sleeps",
        "import time\ndef add(a, b):\n    time.sleep(3600)\n",
    )
    .await;
}

#[tokio::test]
async fn a_suite_that_stops_early_is_never_all_passed() {
    let h = harness();
    // One passing assert, then a setup line that raises: the remaining
    // assert never runs.
    let suite = TestSuite::Check {
        test: "def check(candidate):\n    assert candidate(1, 1) == 2\n    r = candidate(-1, 1)\n    assert r == 0\n".into(),
        entry_point: "add".into(),
    };
    let candidate =
        "def add(a, b):\n    if a < 0:\n        raise ValueError('negative')\n    return a + b\n";
    let report = h.run_python(candidate, &suite).await.expect("run");
    assert_eq!(report.passed(), 1, "{report:?}");
    assert!(!report.complete, "{report:?}");
    assert!(!report.all_passed(), "{report:?}");
    assert!(!report.outcome(3).all_passed());
    let score = h
        .score(Language::Python, candidate, &suite)
        .await
        .expect("score");
    assert!(!score.passed, "{score:?}");
}

#[tokio::test]
async fn the_driver_state_is_out_of_reach() {
    let h = harness();
    // Without the scoring guard each of these reaches the driver's frame
    // and tells it to skip `check` (or that it passed).
    assert_fails(
        &h,
        "sys._getframe walk",
        r#"
import sys
f = sys._getframe()
while f is not None:
    if "entry_point" in f.f_locals:
        f.f_locals["entry_point"] = ""
    f = f.f_back

def add(a, b):
    return 0
"#,
    )
    .await;
    assert_fails(
        &h,
        "traceback frame walk",
        r#"
try:
    raise KeyError
except KeyError as e:
    f = e.__traceback__.tb_frame
while f is not None:
    if "entry_point" in f.f_locals:
        f.f_locals["entry_point"] = ""
    f = f.f_back

def add(a, b):
    return 0
"#,
    )
    .await;
    assert_fails(
        &h,
        "setting passed from inside the call",
        r#"
import sys
def add(a, b):
    f = sys._getframe()
    while f is not None:
        if "passed" in f.f_locals:
            f.f_locals["passed"] = True
        f = f.f_back
    return 0
"#,
    )
    .await;
    assert_fails(
        &h,
        "a tracer",
        "import sys\nsys.settrace(lambda *a: None)\ndef add(a, b):\n    return 0\n",
    )
    .await;
}

#[tokio::test]
async fn an_always_equal_return_value_is_detected() {
    let h = harness();
    // The one forgery the official harness accepts: `==` that always holds.
    let forged = "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef add(a, b):\n    return Anything()\n";
    let score = h
        .score(Language::Python, forged, &suite())
        .await
        .expect("score");
    assert!(!score.passed, "{score:?}");
    assert!(score.detail.contains("equals anything"), "{score:?}");
    // A value with an honest custom __eq__ is not flagged.
    let honest = "class Num(int):\n    def __eq__(self, other):\n        return int(self) == other\n    __hash__ = int.__hash__\n\ndef add(a, b):\n    return Num(a + b)\n";
    let score = h
        .score(Language::Python, honest, &suite())
        .await
        .expect("score");
    assert!(score.passed, "{score:?}");
}

#[tokio::test]
async fn ordinary_library_use_is_not_refused() {
    let h = harness();
    // The scoring guard refuses frame and tracer introspection only; what
    // candidates commonly use must still score normally.
    let candidate = r#"
import re, math, heapq, itertools, functools
from collections import namedtuple, Counter, defaultdict
from dataclasses import dataclass
from typing import List, NamedTuple
from enum import Enum

Pair = namedtuple("Pair", "a b")

class Typed(NamedTuple):
    a: int
    b: int

@dataclass
class Box:
    value: int

class Colour(Enum):
    RED = 1

@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def gen(n):
    yield from range(n)

def add(a, b):
    p = Pair(a, b)
    t = Typed(a, b)
    assert Box(1) == Box(1) and Colour.RED.value == 1 and fib(10) == 55
    assert sum(gen(3)) == 3 and Counter("aab")["a"] == 2 and re.match(r"\d", "1")
    try:
        raise ValueError("handled")
    except ValueError:
        pass
    return int(math.fsum([p.a, t.b]))
"#;
    let score = h
        .score(Language::Python, candidate, &suite())
        .await
        .expect("score");
    assert!(score.passed, "{score:?}");
}
