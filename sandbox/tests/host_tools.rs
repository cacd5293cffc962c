//! Host tools: Rust async functions that sandboxed Python calls by name,
//! with JSON arguments and results, a time limit per call, and a clear
//! Python exception when there is no result.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{quick, roomy, sandbox};
use hone_sandbox::{HostTools, Program, Status};
use serde_json::{json, Value};

/// `add(a, b)` counting its calls on the host, `fails()` that always errs,
/// `slow()` that outlives its time limit.
fn tools(calls: Arc<AtomicUsize>) -> HostTools {
    HostTools::new()
        .register(
            "add",
            &["a", "b"],
            "Adds two numbers.",
            move |args: Value| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let (Some(a), Some(b)) = (args["a"].as_f64(), args["b"].as_f64()) else {
                        return Err(format!("add needs two numbers, got {args}"));
                    };
                    Ok(json!({"sum": a + b, "seen": args}))
                }
            },
        )
        .unwrap()
        .register("fails", &[], "Always fails.", |_| async {
            Err("the service said no".to_string())
        })
        .unwrap()
        .register("slow", &[], "Takes a minute.", |_| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json!(null))
        })
        .unwrap()
        .with_timeout(Duration::from_millis(300))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_calls_a_rust_function_with_json_in_and_out() {
    let sb = sandbox();
    let calls = Arc::new(AtomicUsize::new(0));
    let code = r#"
r = add(2, b=3.5)
print(r["sum"], r["seen"])
print(add.__doc__)
import hone_host
print(hone_host.call_tool("add", a=[1][0], b=-1)["sum"])
"#;
    let result = sb
        .run(
            Program::python(code).with_host_tools(tools(calls.clone())),
            roomy(),
        )
        .await
        .unwrap();
    assert_eq!(result.status, Status::Ok, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        "5.5 {'a': 2, 'b': 3.5}\nAdds two numbers.\n0.0\n"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "both calls ran on the host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_result_is_a_host_tool_error_the_code_can_catch() {
    let sb = sandbox();
    let code = r#"
import hone_host
for call in (lambda: fails(), lambda: slow(), lambda: add("x", 1),
             lambda: hone_host.call_tool("nope"), lambda: add(object(), 1)):
    try:
        call()
        print("no error")
    except hone_host.HostToolError as e:
        print("HostToolError:", e)
try:
    add(1, 2, 3)
except TypeError as e:
    print("TypeError:", e)
"#;
    let calls = Arc::new(AtomicUsize::new(0));
    let result = sb
        .run(Program::python(code).with_host_tools(tools(calls)), roomy())
        .await
        .unwrap();
    assert_eq!(result.status, Status::Ok, "{}", result.stderr);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", result.stdout);
    assert_eq!(lines[0], "HostToolError: fails: the service said no");
    assert!(lines[1].contains("slow: no result within its time limit (300ms)"));
    assert!(lines[2].contains("add needs two numbers"), "{}", lines[2]);
    assert!(
        lines[3].contains("no host tool named \"nope\" (available: add, fails, slow)"),
        "{}",
        lines[3]
    );
    assert!(lines[4].contains("arguments are not JSON"), "{}", lines[4]);
    assert!(lines[5].starts_with("TypeError: add() takes 2 arguments"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tools_there_are_none_and_scoring_lends_none() {
    let sb = sandbox();
    let code = "import hone_host\ntry:\n    hone_host.call_tool('add', a=1, b=2)\nexcept hone_host.HostToolError as e:\n    print(e)\nprint('add' in globals())";
    let result = sb.run(Program::python(code), roomy()).await.unwrap();
    assert_eq!(result.status, Status::Ok, "{}", result.stderr);
    assert_eq!(
        result.stdout,
        "no host tool named \"add\": this sandbox lends none\nFalse\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_its_tools_across_cells_and_a_restart() {
    let sb = sandbox();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut session = sb
        .session(quick(3_000))
        .with_host_tools(tools(calls.clone()));
    assert_eq!(
        session.run("x = add(1, 2)['sum']").await.unwrap().status,
        Status::Ok
    );
    assert_eq!(session.run("x").await.unwrap().stdout, "3.0\n");
    // A timeout restarts the interpreter; the tools come back with it.
    let stuck = session.run("while True:\n    pass").await.unwrap();
    assert_eq!(stuck.status, Status::Timeout);
    let after = session.run("add(4, 5)['sum']").await.unwrap();
    assert_eq!(after.stdout, "9.0\n", "{:?}", after.status);
    assert_eq!(session.restarts(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
