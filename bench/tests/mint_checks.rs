//! MINT's checks that run in the sandbox: code sets run the solution with
//! the reference tests as one fresh program; TheoremQA evaluates the
//! normalised answer as Python in the guest, an exception becoming the
//! observation.

use hone_bench::mint::check::MintChecker;
use hone_bench::mint::data::MintItem;
use hone_sandbox::{Sandbox, SandboxConfig};

fn item(
    set: &str,
    reference: serde_json::Value,
    answer_type: Option<&str>,
    entry: Option<&str>,
) -> MintItem {
    MintItem {
        set: set.into(),
        id: "0".into(),
        prompt: "task".into(),
        reference,
        answer_type: answer_type.map(str::to_string),
        entry_point: entry.map(str::to_string),
    }
}

fn checker() -> MintChecker {
    MintChecker::new(Sandbox::new(SandboxConfig::default()))
}

#[tokio::test]
async fn code_passes_when_the_reference_tests_raise_nothing() {
    let c = checker();
    let he = item(
        "humaneval",
        "def check(candidate):\n    assert candidate(2) == 4\n".into(),
        None,
        Some("double"),
    );
    assert!(
        c.check(&he, "def double(x):\n    return 2 * x")
            .await
            .unwrap()
            .correct
    );
    assert!(
        !c.check(&he, "def double(x):\n    return x + 1")
            .await
            .unwrap()
            .correct
    );
    // The solution must define what the tests call: REPL state is not used.
    assert!(!c.check(&he, "print('no function')").await.unwrap().correct);
    let mbpp = item(
        "mbpp",
        "assert add(1, 2) == 3\nassert add(0, 0) == 0".into(),
        None,
        None,
    );
    assert!(
        c.check(&mbpp, "def add(a, b): return a + b")
            .await
            .unwrap()
            .correct
    );
}

#[tokio::test]
async fn theoremqa_normalises_then_evaluates_in_the_guest() {
    let c = checker();
    let integer = item("theoremqa", serde_json::json!(25), Some("integer"), None);
    assert!(c.check(&integer, "n = 25").await.unwrap().correct);
    assert!(
        c.check(&integer, "24.6").await.unwrap().correct,
        "round half to even"
    );
    assert!(!c.check(&integer, "24.4").await.unwrap().correct);
    let float = item("theoremqa", serde_json::json!(442.02), Some("float"), None);
    assert!(
        c.check(&float, "approximately $450.0")
            .await
            .unwrap()
            .correct,
        "within 4%"
    );
    assert!(
        c.check(&float, "442.02 dollars").await.unwrap().correct,
        "unit words go"
    );
    assert!(!c.check(&float, "470").await.unwrap().correct);
    let list = item(
        "theoremqa",
        serde_json::json!([1, 6]),
        Some("list of integer"),
        None,
    );
    assert!(
        c.check(&list, "[6, 1]").await.unwrap().correct,
        "sorted before comparing"
    );
    assert!(!c.check(&list, "[1, 6, 7]").await.unwrap().correct);
    let boolean = item("theoremqa", serde_json::json!(false), Some("bool"), None);
    assert!(c.check(&boolean, "No").await.unwrap().correct);
    let option = item("theoremqa", serde_json::json!("a"), Some("option"), None);
    assert!(
        c.check(&option, "a) f is increasing")
            .await
            .unwrap()
            .correct
    );
    assert!(
        c.check(&integer, "1,152 = 25").await.unwrap().correct,
        "the value after the last ="
    );
    // An answer that is not an expression: the exception is the observation.
    let checked = c.check(&float, "the price of gold").await.unwrap();
    assert!(!checked.correct);
    let error = checked.error.expect("the exception is kept");
    assert!(
        error.contains("SyntaxError") || error.contains("NameError"),
        "{error}"
    );
}
