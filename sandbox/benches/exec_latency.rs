//! Execution latency: a HumanEval-style check (define a function, run 7
//! asserts) in the sandbox vs a native `python3` subprocess, 200 iterations
//! each in the same run, plus the JavaScript equivalent.
//!
//! `cargo bench -p hone-sandbox --bench exec_latency`. Last line:
//! `RESULT wasm_p50_ms=<f> wasm_p99_ms=<f> native_p50_ms=<f> speedup=<native/wasm> js_p50_ms=<f>`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hone_sandbox::{Language, Limits, Program, Sandbox, SandboxConfig, Status};

const ITERATIONS: usize = 200;
const WARMUP: usize = 10;

const PY_CHECK: &str = r#"
def add_digits(n):
    total = 0
    while n:
        total += n % 10
        n //= 10
    return total

def check(candidate):
    assert candidate(0) == 0
    assert candidate(5) == 5
    assert candidate(12) == 3
    assert candidate(999) == 27
    assert candidate(1001) == 2
    assert candidate(123456789) == 45
    assert candidate(10**20) == 1

check(add_digits)
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
    let sandbox = Sandbox::new(SandboxConfig::default());
    for language in [Language::Python, Language::JavaScript] {
        if let Err(e) = sandbox.preload_blocking(language) {
            eprintln!("exec_latency: {e}");
            std::process::exit(1);
        }
    }
    let limits = Limits::default();

    let py = Program::python(PY_CHECK);
    let first = sandbox.run_blocking(&py, &limits).expect("sandbox run");
    assert_eq!(
        first.status,
        Status::Ok,
        "the check must pass in the sandbox: {first:?}"
    );
    let wasm = measure(|| {
        let r = sandbox.run_blocking(&py, &limits).expect("sandbox run");
        assert_eq!(r.status, Status::Ok);
    });
    report("wasm python check", &wasm);

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
    let native_ok = Command::new(&python)
        .args(["-c", PY_CHECK])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let native = if native_ok {
        let times = measure(|| {
            let status = Command::new(&python)
                .args(["-c", PY_CHECK])
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
    let first = sandbox.run_blocking(&js, &limits).expect("sandbox run");
    assert_eq!(
        first.status,
        Status::Ok,
        "the JS check must pass: {first:?}"
    );
    let js_times = measure(|| {
        let r = sandbox.run_blocking(&js, &limits).expect("sandbox run");
        assert_eq!(r.status, Status::Ok);
    });
    report("wasm javascript check", &js_times);

    let wasm_p50 = percentile(&wasm, 50.0);
    let native_p50 = percentile(&native, 50.0);
    println!(
        "RESULT wasm_p50_ms={:.3} wasm_p99_ms={:.3} native_p50_ms={:.3} speedup={:.2} js_p50_ms={:.3}",
        wasm_p50,
        percentile(&wasm, 99.0),
        native_p50,
        native_p50 / wasm_p50,
        percentile(&js_times, 50.0)
    );
}
