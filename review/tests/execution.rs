//! A finding's test in the real sandbox: the verdict comes from how the
//! program ended, on either side of a change, in Python and JavaScript.

use hone_review::execution::run_test;
use hone_review::finding::TestOutcome;
use hone_sandbox::{Language, Sandbox, SandboxConfig};

const PY_NEW: &str = "def is_adult(age):\n    return age > 18\n";
const PY_OLD: &str = "def is_adult(age):\n    return age >= 18\n";

#[tokio::test]
async fn python_claims_are_confirmed_refuted_or_undecided() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let test = "assert is_adult(18), 'an 18-year-old is an adult'\n";
    let new = run_test(&sandbox, Language::Python, "ages.py", PY_NEW, test).await;
    assert_eq!(
        new,
        TestOutcome::Fails {
            assertion: "an 18-year-old is an adult".into()
        }
    );
    let old = run_test(&sandbox, Language::Python, "ages.py", PY_OLD, test).await;
    assert_eq!(old, TestOutcome::Passes);
    // A test function the model never called still runs.
    let uncalled = "def test_eighteen():\n    assert is_adult(18)\n";
    let outcome = run_test(&sandbox, Language::Python, "ages.py", PY_NEW, uncalled).await;
    assert!(matches!(outcome, TestOutcome::Fails { .. }), "{outcome:?}");
    // The test's own error decides nothing.
    let broken = "assert is_adult(18\n";
    let outcome = run_test(&sandbox, Language::Python, "ages.py", PY_NEW, broken).await;
    assert!(
        matches!(outcome, TestOutcome::Inconclusive { .. }),
        "{outcome:?}"
    );
    // Nor does a file that does not run on its own.
    let needs = "import not_installed_anywhere\n\ndef f():\n    return 1\n";
    let outcome = run_test(
        &sandbox,
        Language::Python,
        "m.py",
        needs,
        "assert f() == 2\n",
    )
    .await;
    match outcome {
        TestOutcome::Inconclusive { reason } => {
            assert!(reason.contains("m.py does not run on its own"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // An AssertionError the file under test raises at import is not the test's.
    let asserts = "assert False, 'import-time check'\n";
    let outcome = run_test(&sandbox, Language::Python, "m.py", asserts, "pass\n").await;
    assert!(
        matches!(outcome, TestOutcome::Inconclusive { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn javascript_claims_run_with_an_assert_helper() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let source = "function clamp(x, lo, hi) { return Math.max(lo, Math.min(x, lo)); }\n";
    let test = "assert(clamp(5, 0, 10) === 5, 'clamp(5, 0, 10) should be 5');\n";
    let outcome = run_test(&sandbox, Language::JavaScript, "clamp.js", source, test).await;
    assert_eq!(
        outcome,
        TestOutcome::Fails {
            assertion: "clamp(5, 0, 10) should be 5".into()
        }
    );
    let fixed = source.replace("Math.min(x, lo)", "Math.min(x, hi)");
    let outcome = run_test(&sandbox, Language::JavaScript, "clamp.js", &fixed, test).await;
    assert_eq!(outcome, TestOutcome::Passes);
}
