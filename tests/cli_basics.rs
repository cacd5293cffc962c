//! The CLI against a real loopback endpoint: model check, task from standard
//! input, template overrides, the response cache and budgets.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hone_test_support::files;
use hone_test_support::{FakeServer, Reply, SeenRequest};

fn hone(server: &FakeServer, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
    cmd.args(["--base-url", &server.base_url(), "--model", "fake-model"])
        .arg("--runs-dir")
        .arg(dir.join("runs"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env_remove("OPENAI_BASE_URL")
        .env_remove("HONE_MODEL")
        .env_remove("HONE_CONFIG")
        .env("OPENAI_API_KEY", "sk-cli-secret");
    cmd
}

fn critic_accepts(_: usize, r: &SeenRequest) -> Reply {
    let prompt = r.last_message_text();
    if prompt.contains("careful reviewer") {
        Reply::completion("All steps are right.\nVERDICT: CORRECT")
    } else {
        Reply::completion("The answer is 42.\nFINAL ANSWER: 42")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_reports_the_endpoint_and_that_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(|_, _| Reply::completion("OK")).await;
    let out = hone(&server, dir.path()).arg("models").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&server.base_url()) && text.contains("answers"),
        "{text}"
    );
    assert!(!text.contains("sk-cli-secret"));
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-cli-secret")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solve_from_stdin_then_rerun_from_cache_makes_no_calls() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(critic_accepts).await;
    let run = |id: &str| {
        let mut child = hone(&server, dir.path())
            .args(["solve", "--kind", "math", "--json", "--run-id", id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"What is 6 * 7?\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = run("first");
    assert_eq!(first["verified"], true);
    assert!(first["answer"]
        .as_str()
        .unwrap()
        .contains("FINAL ANSWER: 42"));
    assert_eq!(server.request_count(), 2);
    let second = run("second");
    assert_eq!(second["answer"], first["answer"]);
    assert_eq!(
        server.request_count(),
        2,
        "the re-run was answered from the cache"
    );
    assert_eq!(second["usage"]["total"]["cache_hits"], 2);
    // No key in the cache or the run logs.
    for sub in ["cache", "runs"] {
        for entry in files(&dir.path().join(sub)) {
            let text = std::fs::read_to_string(&entry).unwrap_or_default();
            assert!(
                !text.contains("sk-cli-secret"),
                "key leaked into {}",
                entry.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_override_changes_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("refine_actor.j2"),
        "CUSTOM ACTOR PROMPT: {{ task }}",
    )
    .unwrap();
    let server = FakeServer::start(critic_accepts).await;
    let out = hone(&server, dir.path())
        .arg("--no-cache")
        .arg("--templates")
        .arg(&templates)
        .args(["solve", "--quiet", "hello"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = server.requests()[0].json();
    assert_eq!(
        first["messages"][0]["content"],
        "CUSTOM ACTOR PROMPT: hello"
    );

    std::fs::write(templates.join("refine_actor.j2"), "{{ task }\n").unwrap();
    let out = hone(&server, dir.path())
        .arg("--templates")
        .arg(&templates)
        .args(["solve", "--quiet", "hello"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refine_actor.j2:1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_budget_returns_the_best_answer_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(|_, r: &SeenRequest| {
        let prompt = r.last_message_text();
        if prompt.contains("careful reviewer") {
            Reply::completion("Step 1 is wrong.\nVERDICT: INCORRECT")
        } else {
            Reply::completion("an answer")
        }
    })
    .await;
    let out = hone(&server, dir.path())
        .args([
            "--no-cache",
            "solve",
            "--json",
            "--max-calls",
            "3",
            "--max-rounds",
            "9",
            "task",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "a budget stop has its own exit code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stop"]["reason"], "budget");
    assert_eq!(v["stop"]["exhausted"]["kind"], "model_calls");
    assert_eq!(v["answer"], "an answer");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_tests_score_the_final_program_and_never_reach_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.py");
    std::fs::write(
        &public,
        "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    )
    .unwrap();
    let hidden = dir.path().join("hidden.py");
    std::fs::write(
        &hidden,
        "# HIDDEN-MARKER-7f3a\ndef check(candidate):\n    assert candidate(10, 5) == 15\n    assert candidate(2, 2) == 5\n",
    )
    .unwrap();
    let server = FakeServer::start(|_, _| {
        Reply::completion("```python\ndef add(a, b):\n    return a + b\n```")
    })
    .await;
    let out = hone(&server, dir.path())
        .args([
            "--no-cache",
            "solve",
            "--json",
            "--kind",
            "code",
            "--entry-point",
            "add",
        ])
        .arg("--tests")
        .arg(&public)
        .arg("--hidden-tests")
        .arg(&hidden)
        .arg("Write add(a, b).")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true, "the public test passes");
    assert_eq!(
        v["strategy"], "best-of-n",
        "the default for code with public tests"
    );
    assert_eq!(
        v["hidden_tests"]["passed"], false,
        "the host's verdict: 2 + 2 == 5 fails"
    );
    assert_eq!(v["hidden_tests"]["status"], "exception");
    assert_eq!(v["hidden_tests"]["tests_passed"], 1);
    assert_eq!(v["hidden_tests"]["tests_total"], 2);
    assert_eq!(
        server.request_count(),
        1,
        "verified by the public test after one call"
    );
    for request in server.requests() {
        assert!(
            !request.body.contains("HIDDEN-MARKER") && !request.body.contains("candidate(10, 5)")
        );
    }
    for file in files(&dir.path().join("runs")) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("HIDDEN-MARKER"),
            "hidden tests leaked into {}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_verified_unverified_and_failed_apart() {
    let dir = tempfile::tempdir().unwrap();
    let solve = |server: &FakeServer, rounds: &str| {
        hone(server, dir.path())
            .args(["--no-cache", "solve", "--json", "--max-rounds", rounds])
            .arg("What is 6 * 7?")
            .output()
            .unwrap()
    };
    let accepts = FakeServer::start(critic_accepts).await;
    assert_eq!(solve(&accepts, "2").status.code(), Some(0), "verified");

    let rejects = FakeServer::start(|_, r: &SeenRequest| {
        let prompt = r.last_message_text();
        if prompt.contains("careful reviewer") {
            Reply::completion("Step 1 is wrong.\nVERDICT: INCORRECT")
        } else {
            Reply::completion("FINAL ANSWER: 41")
        }
    })
    .await;
    let out = solve(&rejects, "1");
    assert_eq!(out.status.code(), Some(3), "finished, unverified");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stop"]["reason"], "finished");
    assert_eq!(v["verified"], false);
    assert!(v["answer"].as_str().unwrap().contains("41"));

    let refuses =
        FakeServer::start(|_, _| Reply::status(400, r#"{"error": {"message": "bad request"}}"#))
            .await;
    let out = solve(&refuses, "2");
    assert_eq!(
        out.status.code(),
        Some(5),
        "a failed step: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stop"]["reason"], "node_failed");
}

/// `--max-seconds` is a hard limit: a model call still in flight when it
/// runs out is cancelled, and the run returns the best answer so far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_seconds_cancels_a_model_call_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    // The actor answers at once; the critic takes far longer than the limit.
    let server = FakeServer::start(|_, r: &SeenRequest| {
        let prompt = r.last_message_text();
        if prompt.contains("careful reviewer") {
            Reply::completion("VERDICT: CORRECT").after(Duration::from_secs(120))
        } else {
            Reply::completion("a quick answer")
        }
    })
    .await;
    let limit = 2.0;
    let started = Instant::now();
    let mut child = hone(&server, dir.path())
        .args([
            "--no-cache",
            "--timeout",
            "300",
            "solve",
            "--json",
            "--run-id",
            "slow",
        ])
        .args(["--max-seconds", &limit.to_string(), "task"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A generous bound: the process starts, runs ~2 s, and exits.
    let bound = Duration::from_secs_f64(limit) + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > bound {
            child.kill().unwrap();
            panic!("hone solve --max-seconds {limit} still running after {bound:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stop"]["reason"], "budget");
    assert_eq!(v["stop"]["exhausted"]["kind"], "wall_time");
    assert_eq!(v["answer"], "a quick answer", "the best answer so far");
    assert_eq!(
        server.request_count(),
        2,
        "actor, then the cancelled critic"
    );
}

#[test]
fn run_id_cannot_leave_the_runs_directory() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let abs = dir.path().join("abs").display().to_string();
    for id in ["../escape", "a/b", abs.as_str(), "..", ""] {
        let out = Command::new(env!("CARGO_BIN_EXE_hone"))
            .args([
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--no-cache",
            ])
            .arg("--runs-dir")
            .arg(&runs)
            .args(["solve", "--quiet", "--run-id", id, "task"])
            .env_remove("HONE_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{id:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--run-id"), "{id:?}: {err}");
    }
    assert!(!dir.path().join("escape.jsonl").exists());
    assert!(!dir.path().join("abs.jsonl").exists());
    assert!(!runs.join("a").exists());
}
