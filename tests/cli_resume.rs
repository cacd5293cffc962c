//! `hone solve` killed with SIGKILL mid-run, then `hone resume`, must end
//! exactly like an uninterrupted run: same final state, same completed node
//! executions, and only the interrupted node runs again.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hone_test_support::{hone_against, FakeServer, Reply, SeenRequest};

/// Answers by content, never by arrival order, so a repeated call gets the
/// same answer: attempts are numbered and the critic accepts attempt 4.
fn deterministic(_: usize, request: &SeenRequest) -> Reply {
    // The role by the turn it answers (a refiner continues the critic's
    // conversation); the attempt's number from anywhere in the request.
    let prompt = request.last_message_text();
    let attempt = request
        .messages_text()
        .split("attempt ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    let text = if prompt.contains("careful reviewer") {
        if attempt >= 4 {
            "Every step checks out.\nVERDICT: CORRECT".to_string()
        } else {
            format!("Step {attempt} is wrong.\nVERDICT: INCORRECT")
        }
    } else if prompt.contains("was reviewed") {
        format!("attempt {}", attempt + 1)
    } else {
        "attempt 1".to_string()
    };
    Reply::completion(&text).after(Duration::from_millis(150))
}

fn hone(server: &FakeServer, runs: &Path) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    cmd.arg("--no-cache").arg("--runs-dir").arg(runs);
    cmd
}

fn started_per_node(log: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["record"] == "started" {
            *counts
                .entry(v["node"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_run_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let task = ["Design", "a", "rate", "limiter"];

    // Uninterrupted reference run.
    let server = FakeServer::start(deterministic).await;
    let out = hone(&server, &runs)
        .args(["solve", "--json", "--max-rounds", "6", "--run-id", "full"])
        .args(task)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(full["answer"], "attempt 4");
    assert_eq!(full["verified"], true);
    // What the comparisons below compare must exist: two absent values
    // compare equal.
    assert_eq!(full["search"]["attempts"].as_array().map(Vec::len), Some(4));
    assert_eq!(full["stop"]["reason"], "finished");
    assert!(full["node_runs"]["critic"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(full["usage"]["total"]["calls"], 8);
    let full_calls = server.request_count();
    assert_eq!(full_calls, 8);

    // The same run, killed while its fourth model call is in flight.
    let server = FakeServer::start(deterministic).await;
    let mut child = hone(&server, &runs)
        .args([
            "solve",
            "--quiet",
            "--max-rounds",
            "6",
            "--run-id",
            "killed",
        ])
        .args(task)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.request_count() < 4 {
        assert!(
            Instant::now() < deadline,
            "the run never reached its 4th call"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let log = runs.join("killed.jsonl");
    let listing = hone(&server, &runs).arg("runs").output().unwrap();
    assert!(String::from_utf8_lossy(&listing.stdout).contains("interrupted (resumable)"));

    let out = hone(&server, &runs)
        .args(["resume", "killed", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_eq!(resumed["search"]["attempts"], full["search"]["attempts"]);
    assert_eq!(resumed["answer"], full["answer"]);
    assert_eq!(resumed["stop"], full["stop"]);
    assert_eq!(resumed["node_runs"], full["node_runs"]);
    assert_eq!(
        resumed["usage"]["total"]["calls"],
        full["usage"]["total"]["calls"]
    );
    // Only the call in flight at the kill was made again.
    assert_eq!(server.request_count(), full_calls + 1);
    let full_started = started_per_node(&runs.join("full.jsonl"));
    let killed_started = started_per_node(&log);
    let extra: usize =
        killed_started.values().sum::<usize>() - full_started.values().sum::<usize>();
    assert_eq!(
        extra, 1,
        "exactly the interrupted node restarted: {killed_started:?} vs {full_started:?}"
    );

    // Resuming a finished run changes nothing and calls no model.
    let before = server.request_count();
    let again = hone(&server, &runs)
        .args(["resume", "killed", "--json"])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(server.request_count(), before);

    let shown = hone(&server, &runs)
        .args(["show", "killed"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("ended after 12 steps: finished"), "{text}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hone.toml");
    std::fs::write(
        &cfg,
        "[model]\nbase_url = \"http://127.0.0.1:9/v1\"\ntimeout_secs = \"soon\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hone"))
        .arg("--config")
        .arg(&cfg)
        .args(["models", "--no-ping"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hone.toml, line 3") && err.contains("timeout_secs") || err.contains("line 3"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args([
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--runs-dir",
        ])
        .arg(dir.path())
        .args(["resume", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run \"nope\""));
}

/// Waits for `child` at most `bound`, killing it (and failing) past that.
async fn wait_bounded(mut child: std::process::Child, bound: Duration) -> std::process::Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > bound {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still running after {bound:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_being_written_cannot_be_resumed_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // The critic never answers in time: the run stays in progress.
    let server = FakeServer::start(|_, r: &SeenRequest| {
        if r.last_message_text().contains("careful reviewer") {
            Reply::completion("VERDICT: CORRECT").after(Duration::from_secs(120))
        } else {
            Reply::completion("attempt 1")
        }
    })
    .await;
    let mut first = hone(&server, &runs)
        .args(["solve", "--quiet", "--run-id", "busy", "task"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.request_count() < 2 {
        assert!(Instant::now() < deadline, "the critic was never asked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = hone(&server, &runs)
        .args(["resume", "busy", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(second, Duration::from_secs(20)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("being written by another process") && err.contains("busy.jsonl"),
        "{err}"
    );
    assert_eq!(
        server.request_count(),
        2,
        "the second process called no model"
    );
}

/// `hone resume` scores the answer as the run was to be scored (hidden
/// tests, reference answer) and keeps its templates and cache settings,
/// whatever its own command line says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_keeps_scoring_templates_and_cache_settings() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let cache = dir.path().join("cache");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("refine_actor.j2"),
        "CUSTOM ACTOR PROMPT: {{ task }}",
    )
    .unwrap();
    let public = write("public.txt", "assert add(1, 2) == 3\n");
    let hidden = write(
        "hidden.py",
        "def check(candidate):\n    assert candidate(2, 2) == 4\n    assert candidate(2, 2) == 5\n",
    );
    let server = FakeServer::start(|_, r: &SeenRequest| {
        if r.last_message_text().contains("careful reviewer") {
            Reply::completion("Right.\nVERDICT: CORRECT")
        } else if r.body.contains("6 * 7") {
            Reply::completion("FINAL ANSWER: 42")
        } else {
            Reply::completion("```python\ndef add(a, b):\n    return a + b\n```")
        }
    })
    .await;
    let bare = |server: &FakeServer| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
        cmd.args(["--base-url", &server.base_url(), "--model", "fake-model"])
            .arg("--runs-dir")
            .arg(&runs)
            .env_remove("OPENAI_BASE_URL")
            .env_remove("HONE_MODEL")
            .env_remove("HONE_CONFIG")
            .stdin(Stdio::null());
        cmd
    };
    let out = bare(&server)
        .arg("--no-cache")
        .arg("--templates")
        .arg(&templates)
        .args(["solve", "--json", "--kind", "code", "--entry-point", "add"])
        .arg("--asserts")
        .arg(&public)
        .arg("--hidden-tests")
        .arg(&hidden)
        .args(["--run-id", "code", "Write add(a, b)."])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &full["hidden_tests"]["passed"],
            &full["hidden_tests"]["tests_passed"],
            &full["hidden_tests"]["tests_total"]
        ),
        (
            &serde_json::json!(false),
            &serde_json::json!(1),
            &serde_json::json!(2)
        )
    );
    let log = runs.join("code.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("candidate(2, 2)"), "hidden tests in the log");
    // Interrupted right after its header: a resume runs everything again.
    std::fs::write(&log, format!("{}\n", text.lines().next().unwrap())).unwrap();
    let before = server.request_count();
    let out = bare(&server)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["resume", "code", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let resumed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resumed["hidden_tests"], full["hidden_tests"]);
    assert_eq!(resumed["answer"], full["answer"]);
    let requests = server.requests();
    assert!(requests.len() > before);
    for r in &requests[before..] {
        assert!(
            r.body.contains("CUSTOM ACTOR PROMPT"),
            "the resume used the run's templates: {}",
            r.body
        );
    }
    assert!(
        !cache.exists() || std::fs::read_dir(&cache).unwrap().next().is_none(),
        "the run had no cache, and neither has its resume"
    );
    assert!(err.contains("--cache-dir ignored"), "{err}");

    // A math run's reference answer is checked again on resume.
    let out = bare(&server)
        .args(["--no-cache", "solve", "--json", "--kind", "math"])
        .args(["--reference", "42", "--run-id", "math", "What is 6 * 7?"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let full: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(full["reference_check"]["correct"], true);
    let out = bare(&server)
        .args(["resume", "math", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let resumed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resumed["reference_check"], full["reference_check"]);
}
