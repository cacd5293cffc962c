//! Every `hone solve --strategy` end to end against a loopback endpoint:
//! hidden tests stay out of every search, design briefs are checked
//! requirement by requirement, math references are checked after the run,
//! and RethinkMCTS logs resume.

use std::path::Path;
use std::process::Command;

use hone_test_support::files;
use hone_test_support::{hone_against, FakeServer, Reply, SeenRequest};

fn hone(server: &FakeServer, dir: &Path) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    cmd.arg("--no-cache")
        .arg("--runs-dir")
        .arg(dir.join("runs"));
    cmd
}

/// The turn a request asks the model to answer (a refiner continues the
/// critic's conversation, so earlier turns carry the critic's prompt).
fn prompt(r: &SeenRequest) -> String {
    r.last_message_text()
}

/// The JSON result of a run that exited with `code` (0 verified, 3
/// unverified, 4 stopped by a budget).
fn json_of(out: &std::process::Output, code: i32) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A model that never gets `add` right: every strategy runs until its
/// budget is spent, touching all of its nodes.
fn stubborn(_: usize, r: &SeenRequest) -> Reply {
    let p = prompt(r);
    if p.contains("possible next thoughts") {
        Reply::completion(
            r#"{"thoughts": [{"thought": "Subtract.", "reasonableness": 0.6}, {"thought": "Negate.", "reasonableness": 0.4}]}"#,
        )
    } else if p.contains("led to code that fails") {
        Reply::completion(r#"{"thought": "Subtract carefully."}"#)
    } else if p.contains("careful reviewer") {
        Reply::completion("Wrong operator.\nVERDICT: INCORRECT")
    } else if p.contains("short reflection") {
        Reply::completion("I used the wrong operator.")
    } else {
        Reply::completion("```python\ndef add(a, b):\n    return a - b\n```")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_strategy_sees_the_hidden_tests_and_each_stops_at_the_call_budget() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.txt");
    std::fs::write(&public, "assert add(1, 2) == 3\nassert add(0, 0) == 0\n").unwrap();
    let hidden = dir.path().join("hidden.py");
    std::fs::write(
        &hidden,
        "# HIDDEN-MARKER-91c2\ndef check(candidate):\n    assert candidate(10, 5) == 15\n    assert candidate(3, 0) == 3\n",
    )
    .unwrap();
    let server = FakeServer::start(stubborn).await;
    // (strategy, calls, exit code): single-shot and best-of-n finish with an
    // unverified answer, the others run out of calls.
    for (strategy, calls, code) in [
        ("single-shot", 1, 3),
        ("self-refine", 6, 4),
        ("reflexion", 6, 4),
        ("best-of-n", 4, 3),
        ("rethink-mcts", 6, 4),
    ] {
        let before = server.request_count();
        let out = hone(&server, dir.path())
            .args(["solve", "--json", "--kind", "code", "--entry-point", "add"])
            .args([
                "--strategy",
                strategy,
                "--max-calls",
                "6",
                "--max-rounds",
                "10",
            ])
            .arg("--asserts")
            .arg(&public)
            .arg("--hidden-tests")
            .arg(&hidden)
            .arg("Write add(a, b).")
            .output()
            .unwrap();
        let v = json_of(&out, code);
        assert_eq!(v["strategy"], strategy);
        assert_eq!(v["verified"], false, "{strategy}");
        let hidden = &v["hidden_tests"];
        assert_eq!(
            (
                &hidden["passed"],
                &hidden["tests_passed"],
                &hidden["tests_total"]
            ),
            (
                &serde_json::json!(false),
                &serde_json::json!(1),
                &serde_json::json!(2)
            ),
            "{strategy}: a - b passes only candidate(3, 0)"
        );
        assert_eq!(v["usage"]["total"]["calls"], calls, "{strategy}");
        assert_eq!(
            server.request_count() - before,
            calls as usize,
            "{strategy}"
        );
        if strategy == "rethink-mcts" {
            assert!(v["budget_stop"].is_string(), "{v}");
            assert!(v["search"]["programs"].as_array().unwrap().len() >= 2);
        }
    }
    for request in server.requests() {
        assert!(
            !request.body.contains("HIDDEN-MARKER") && !request.body.contains("candidate(10, 5)"),
            "hidden tests reached a model"
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
async fn design_briefs_are_checked_requirement_by_requirement() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(|_, r| {
        let p = prompt(r);
        if p.contains("one requirement at a time") {
            if p.contains("token bucket") {
                Reply::completion("R1: MET — per-user buckets\nR2: MET — state in Redis")
            } else {
                Reply::completion(
                    "R1: MET — per-user limits\nR2: NOT MET — state is in memory only",
                )
            }
        } else if p.contains("careful reviewer") {
            assert!(p.contains("R2: NOT MET"), "the critic sees the checklist");
            Reply::completion("Requirement 2 is missed.\nVERDICT: INCORRECT")
        } else if p.contains("was reviewed") {
            Reply::completion("# Rate limiter\nA token bucket per user, persisted to Redis.")
        } else {
            assert!(
                p.contains("R2: survives restarts"),
                "the actor sees the requirements"
            );
            Reply::completion("# Rate limiter\nA counter per user in memory.")
        }
    })
    .await;
    let out = hone(&server, dir.path())
        .args(["solve", "--json", "--kind", "design"])
        .arg("Design a rate limiter.\n\nRequirements:\n- per-user limits\n- survives restarts\n")
        .output()
        .unwrap();
    let v = json_of(&out, 0);
    assert_eq!(v["verified"], true);
    let attempts = v["search"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["evidence"]["details"]["items"][1]["met"], false);
    assert_eq!(attempts[1]["evidence"]["details"]["items"][1]["met"], true);
    assert_eq!(
        server.request_count(),
        5,
        "actor, check, critic, refiner, check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_of_n_math_votes_and_the_reference_is_checked_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(|_, r| {
        assert!(!r.body.contains("50%"), "the reference reached a model");
        // Samples 1 and 3 say one half, sample 2 says 0.4.
        match r.json()["seed"].as_u64() {
            Some(2) => Reply::completion("FINAL ANSWER: 0.4"),
            _ => Reply::completion("Half of it.\nFINAL ANSWER: \\frac{1}{2}"),
        }
    })
    .await;
    let out = hone(&server, dir.path())
        .args([
            "solve",
            "--json",
            "--kind",
            "math",
            "--strategy",
            "best-of-n",
            "--n",
            "3",
        ])
        .args(["--reference", "50%"])
        .arg("What fraction is one of two equal parts?")
        .output()
        .unwrap();
    // A majority vote is not a verification.
    let v = json_of(&out, 3);
    assert_eq!(v["search"]["selected"], 0);
    assert_eq!(v["reference_check"]["correct"], true, "{v}");
    assert_eq!(v["reference_check"]["final_answer"], "\\frac{1}{2}");
    let seeds: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.json()["seed"].clone())
        .collect();
    assert_eq!(seeds.len(), 3);
    for seed in [1, 2, 3] {
        assert!(seeds.contains(&serde_json::json!(seed)), "{seeds:?}");
    }
}

/// `--draw N` is a fresh try of the same task: every call gets seeds of its
/// own (draw d starts at d << 16), and the log records the draw, so a resume
/// sends the same seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_draw_sends_seeds_of_its_own_and_its_log_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeServer::start(|_, _| Reply::completion("FINAL ANSWER: 7")).await;
    let out = hone(&server, dir.path())
        .args(["solve", "--json", "--kind", "math"])
        .args(["--strategy", "best-of-n", "--n", "3", "--draw", "2"])
        .args(["--run-id", "second-try"])
        .arg("What is 3 + 4?")
        .output()
        .unwrap();
    let v = json_of(&out, 3);
    assert_eq!(v["search"]["attempts"].as_array().map(Vec::len), Some(3));
    let mut seeds: Vec<u64> = server
        .requests()
        .iter()
        .filter_map(|r| r.json()["seed"].as_u64())
        .collect();
    seeds.sort();
    assert_eq!(seeds, [(2 << 16) + 1, (2 << 16) + 2, (2 << 16) + 3]);
    let log = std::fs::read_to_string(dir.path().join("runs/second-try.jsonl")).unwrap();
    let header: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("a header line")).unwrap();
    assert_eq!(header["meta"]["draw"], 2, "{header}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcts_run_log_renders_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let public = dir.path().join("public.txt");
    std::fs::write(&public, "assert add(1, 2) == 3\n").unwrap();
    let server = FakeServer::start(stubborn).await;
    let out = hone(&server, dir.path())
        .args([
            "solve",
            "--json",
            "--kind",
            "code",
            "--strategy",
            "rethink-mcts",
        ])
        .args(["--rollouts", "2", "--run-id", "tree"])
        .arg("--asserts")
        .arg(&public)
        .arg("Write add(a, b).")
        .output()
        .unwrap();
    let v = json_of(&out, 3);
    assert_eq!(v["search"]["rollouts"], 2);
    assert_eq!(v["stop"]["reason"], "finished");
    assert!(v["answer"].is_string(), "{v}");
    let show = hone(&server, dir.path())
        .args(["show", "tree"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success());
    assert!(
        text.contains("rollout") && text.contains("public tests"),
        "{text}"
    );
    // Resuming a finished search makes no calls.
    let before = server.request_count();
    let resumed = hone(&server, dir.path())
        .args(["resume", "tree", "--json"])
        .output()
        .unwrap();
    let r = json_of(&resumed, 3);
    assert_eq!(r["answer"], v["answer"]);
    assert_eq!(server.request_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judge_asks_both_orders_and_reports_disagreement() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let (task, a, b) = (
        write("task.md", "What is 2 + 2?"),
        write("a.md", "ANSWER-A: 4"),
        write("b.md", "ANSWER-B: 5"),
    );
    // A judge that always prefers whatever is shown first.
    let server =
        FakeServer::start(|_, _| Reply::completion("The first is better.\nWINNER: 1")).await;
    let out = hone(&server, dir.path())
        .args(["judge", "--json", "--task"])
        .arg(&task)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    let v = json_of(&out, 0);
    assert_eq!(v["confidence"], "low");
    assert_eq!(v["preference_a"], 0.5);
    let prompts: Vec<String> = server.requests().iter().map(prompt).collect();
    assert_eq!(prompts.len(), 2);
    let order = |p: &String| p.find("ANSWER-A").unwrap() < p.find("ANSWER-B").unwrap();
    assert_ne!(
        order(&prompts[0]),
        order(&prompts[1]),
        "both orders were asked"
    );
}
