//! Execution latency on the path a real verify step takes: the async
//! worker pool (`Sandbox::run` behind its concurrency semaphore, a worker
//! thread per execution) and hone-tools' test harness, for a HumanEval-style
//! check (a function and 7 asserts) that passes (the host's verdict alone)
//! and one that fails (the verdict, then the in-guest per-test driver that
//! explains it). In the same run: the host-decided score of the same candidate (`Harness::score`,
//! what hidden tests and pass@1 use), the same check as one program in a
//! native `python3` subprocess, the JavaScript equivalent through the pool,
//! and how far past its limit a guest blocked in a host call (a sleep)
//! runs before the host stops it.
//!
//! Left out: model calls, the graph runtime and run-log writes around a
//! verify step (measured by hone-core's benches), and first-use guest
//! loading (warmed up before measuring).
//!
//! `cargo bench -p hone-sandbox --bench exec_latency`. Last line:
//! `RESULT wasm_p50_ms=<f> wasm_p99_ms=<f> native_p50_ms=<f> speedup=<native/wasm>
//! js_p50_ms=<f> score_p50_ms=<f> verify_failing_p50_ms=<f> timeout_overshoot_p50_ms=<f>
//! timeout_overshoot_max_ms=<f>`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hone_sandbox::{Language, Limits, Program, Sandbox, SandboxConfig, Status};
use hone_tools::{Harness, TestSuite};

const ITERATIONS: usize = 200;
const WARMUP: usize = 10;
/// Blocked guests measured for the timeout overshoot, and their limit.
const SLEEPERS: usize = 20;
const SLEEP_LIMIT: Duration = Duration::from_millis(100);

const CANDIDATE: &str = r#"
def add_digits(n):
    total = 0
    while n:
        total += n % 10
        n //= 10
    return total
"#;

/// Wrong for numbers of more than one digit: passes 2 of the 7 asserts.
const FAILING_CANDIDATE: &str = r#"
def add_digits(n):
    return n
"#;

const TESTS: &str = r#"
def check(candidate):
    assert candidate(0) == 0
    assert candidate(5) == 5
    assert candidate(12) == 3
    assert candidate(999) == 27
    assert candidate(1001) == 2
    assert candidate(123456789) == 45
    assert candidate(10**20) == 1
"#;

const JS_CHECK: &str = r#"
function addDigits(n) {
  let total = 0;
  while (n > 0) { total += n % 10; n = Math.floor(n / 10); }
  return total;
}
function assert(c) { if (!c) throw new Error("assertion failed"); }
function check(candidate) {
  assert(candidate(0) === 0);
  assert(candidate(5) === 5);
  assert(candidate(12) === 3);
  assert(candidate(999) === 27);
  assert(candidate(1001) === 2);
  assert(candidate(123456789) === 45);
  assert(candidate(1e15) === 1);
}
check(addDigits);
"#;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn measure(mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..WARMUP {
        f();
    }
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(name: &str, times: &[Duration]) {
    println!(
        "{name:<22} n={} p50={:.3} ms p90={:.3} ms p99={:.3} ms min={:.3} ms",
        times.len(),
        percentile(times, 50.0),
        percentile(times, 90.0),
        percentile(times, 99.0),
        percentile(times, 0.0)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let sandbox = Sandbox::new(SandboxConfig::default());
    for language in [Language::Python, Language::JavaScript] {
        if let Err(e) = sandbox.preload_blocking(language) {
            eprintln!("exec_latency: {e}");
            std::process::exit(1);
        }
    }
    let harness = Harness::new(sandbox.clone());
    let suite = TestSuite::Check {
        test: TESTS.to_string(),
        entry_point: "add_digits".to_string(),
    };

    let first = runtime
        .block_on(harness.run_python(CANDIDATE, &suite))
        .expect("harness run");
    assert!(
        first.all_passed(),
        "the check must pass in the sandbox: {first:?}"
    );
    let verify = measure(|| {
        let r = runtime
            .block_on(harness.run_python(CANDIDATE, &suite))
            .expect("harness run");
        assert!(r.all_passed());
    });
    report("verify (pool + harness)", &verify);

    // A failing candidate: the host's verdict, then the per-test driver
    // that explains the failure (what a refine loop sees most).
    let failing = measure(|| {
        let r = runtime
            .block_on(harness.run_python(FAILING_CANDIDATE, &suite))
            .expect("harness run");
        assert!(!r.all_passed() && r.passed() == 2, "{r:?}");
    });
    report("verify, failing", &failing);

    let score = measure(|| {
        let r = runtime
            .block_on(harness.score(Language::Python, CANDIDATE, &suite))
            .expect("score");
        assert!(r.passed, "{r:?}");
    });
    report("score (host verdict)", &score);

    // Resolve the real interpreter once, so wrappers (pyenv shims) are not
    // counted against native Python.
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".to_string());
    println!("native interpreter: {python}");
    let native_program = format!("{CANDIDATE}\n{TESTS}\ncheck(add_digits)\n");
    let native_ok = Command::new(&python)
        .args(["-c", &native_program])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let native = if native_ok {
        let times = measure(|| {
            let status = Command::new(&python)
                .args(["-c", &native_program])
                .stdout(Stdio::null())
                .status()
                .expect("python3");
            assert!(status.success());
        });
        report("native python3 check", &times);
        times
    } else {
        eprintln!("exec_latency: python3 not runnable; native numbers are NaN");
        Vec::new()
    };

    let js = Program::javascript(JS_CHECK);
    let js_times = measure(|| {
        let r = runtime
            .block_on(sandbox.run(js.clone(), Limits::default()))
            .expect("sandbox run");
        assert_eq!(r.status, Status::Ok, "{r:?}");
    });
    report("javascript check (pool)", &js_times);

    let sleeper = Program::python("import time\ntime.sleep(3600)");
    let limits = Limits {
        wall_time: SLEEP_LIMIT,
        ..Limits::default()
    };
    let mut overshoot: Vec<Duration> = (0..SLEEPERS)
        .map(|_| {
            let t = Instant::now();
            let r = runtime
                .block_on(sandbox.run(sleeper.clone(), limits.clone()))
                .expect("sandbox run");
            assert_eq!(r.status, Status::Timeout, "{r:?}");
            t.elapsed().saturating_sub(SLEEP_LIMIT)
        })
        .collect();
    overshoot.sort();
    report("sleep past a 100 ms limit", &overshoot);

    let wasm_p50 = percentile(&verify, 50.0);
    let native_p50 = percentile(&native, 50.0);
    println!(
        "RESULT wasm_p50_ms={:.3} wasm_p99_ms={:.3} native_p50_ms={:.3} speedup={:.2} js_p50_ms={:.3} \
         score_p50_ms={:.3} verify_failing_p50_ms={:.3} timeout_overshoot_p50_ms={:.3} \
         timeout_overshoot_max_ms={:.3}",
        wasm_p50,
        percentile(&verify, 99.0),
        native_p50,
        native_p50 / wasm_p50,
        percentile(&js_times, 50.0),
        percentile(&score, 50.0),
        percentile(&failing, 50.0),
        percentile(&overshoot, 50.0),
        percentile(&overshoot, 100.0),
    );
}
