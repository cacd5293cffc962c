//! Symbolic answer equivalence against the real sandbox. Needs the Python
//! guest (`scripts/build-guests.sh`); fails with that instruction otherwise.

use std::time::Duration;

use hone_sandbox::{Language, Limits, Sandbox, SandboxConfig};
use hone_tools::answer::{answers_equal, Equivalence};
use hone_tools::math_check::MathChecker;

fn checker() -> MathChecker {
    let sandbox = Sandbox::new(SandboxConfig::default());
    if let Err(e) = sandbox.preload_blocking(Language::Python) {
        panic!("sandbox setup failed (guests are required; build them with scripts/build-guests.sh): {e}");
    }
    MathChecker::new(sandbox)
}

/// Answer pairs and their verdict. Most need sympy; a few (those the rules
/// already decide, e.g. numeric radicals) check that both layers agree.
const TABLE: &[(&str, &str, Equivalence)] = {
    use Equivalence::*;
    &[
        ("\\frac{\\sqrt{2}}{2}", "1/\\sqrt{2}", Equal),
        ("2\\pi", "\\pi*2", Equal),
        ("(x+1)^2", "x^2+2x+1", Equal),
        ("x = 3", "3", Equal),
        ("x^2-1", "(x-1)(x+1)", Equal),
        ("x^2+1", "(x-1)(x+1)", NotEqual),
        ("\\dfrac{1}{\\sqrt{3}}", "\\frac{\\sqrt{3}}{3}", Equal),
        ("\\sqrt[3]{-8}", "-2", Equal),
        ("\\pi", "3.14159", NotEqual),
        ("\\frac{\\pi}{4}", "45", NotEqual),
        ("e^{i\\pi}", "-1", Equal),
        ("\\sin^2 x + \\cos^2 x", "1", Equal),
        ("\\log_2 8", "3", Equal),
        (
            "\\left(\\frac{1}{2}, \\sqrt{2}\\right)",
            "(0.5, 2^{1/2})",
            Equal,
        ),
        ("\\{1, \\sqrt{2}\\}", "\\{\\sqrt{2}, 1\\}", Equal),
        ("\\{1, \\sqrt{2}\\}", "\\{\\sqrt{3}, 1\\}", NotEqual),
        ("1 \\pm \\sqrt{2}", "1-\\sqrt{2}, 1+\\sqrt{2}", Equal),
        ("x \\le 3", "3 \\ge x", Equal),
        ("x < 3", "x \\le 3", NotEqual),
        ("0 < x < 1", "1 > x > 0", Equal),
        ("y = 2x + 1", "2x - y + 1 = 0", Equal),
        ("x = 2, y = 3", "(2, 3)", Equal),
        ("x = 2, y = 3", "(3, 2)", NotEqual),
        ("x \\in (0, 1]", "(0, 1)", NotEqual),
        ("x \\in (0, 1]", "(0, 1]", Equal),
        ("\\frac{1}{x-1} - \\frac{1}{x+1}", "\\frac{2}{x^2-1}", Equal),
        ("\\sqrt{3+2\\sqrt{2}}", "1+\\sqrt{2}", Equal),
        ("\\frac{x}{2}", "0.5x", Equal),
        ("\\frac{a}{b}", "\\frac{b}{a}", NotEqual),
        ("3i + 2", "2 + 3i", Equal),
        ("\\alpha + \\beta", "\\beta\\cdot 1 + \\alpha", Equal),
        ("2 \\times 10^{3} x", "2000x", Equal),
        // Not parsable (or not arithmetic): unknown, never an error.
        ("\\frac{1}{", "x", Unknown),
        ("x.__class__", "x", Unknown),
        ("\\int_0^1 x\\,dx", "\\frac{1}{2}", Unknown),
    ]
};

#[tokio::test]
async fn sympy_equivalence_table() {
    let checker = checker();
    let need_sympy = TABLE
        .iter()
        .filter(|(a, b, _)| answers_equal(a, b) == Equivalence::Unknown)
        .count();
    assert!(need_sympy >= 25, "only {need_sympy} pairs need sympy");
    // Both orders, all at once (the sandbox bounds concurrency).
    let checks = TABLE.iter().flat_map(|&(a, b, want)| {
        let checker = &checker;
        [(a, b), (b, a)].map(move |(x, y)| async move {
            let got = checker.equivalent(x, y).await.expect("sandbox runs");
            (x, y, want, got)
        })
    });
    let mut failures = Vec::new();
    for (x, y, want, got) in futures::future::join_all(checks).await {
        if got != want {
            failures.push(format!("{x:?} vs {y:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn rules_decide_without_the_sandbox() {
    // A sandbox whose guest does not exist: rule-decided pairs never touch it.
    let sandbox = Sandbox::new(SandboxConfig {
        python_guest: "/nonexistent/python-guest.wasm".into(),
        ..SandboxConfig::default()
    });
    let checker = MathChecker::new(sandbox);
    assert_eq!(
        checker.equivalent("\\frac{1}{2}", "0.5").await.unwrap(),
        Equivalence::Equal
    );
    assert_eq!(
        checker.equivalent("12", "13").await.unwrap(),
        Equivalence::NotEqual
    );
    // A pair that needs sympy reports the missing guest as an error.
    assert!(checker.equivalent("x^2-1", "(x-1)(x+1)").await.is_err());
}

#[tokio::test]
async fn runaway_check_is_unknown() {
    let checker = checker().with_limits(Limits {
        wall_time: Duration::from_millis(300),
        ..Limits::default()
    });
    let got = checker
        .equivalent("2^{2^{2^{2^{10}}}}", "x")
        .await
        .expect("sandbox runs");
    assert_eq!(got, Equivalence::Unknown);
}
