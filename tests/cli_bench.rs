//! `hone bench` end to end against a loopback endpoint: every item is
//! recorded and scored on hidden tests the search never sees, a second run
//! is served from the response cache, a run killed with SIGKILL resumes to
//! the results of an uninterrupted one, four shards merge to the unsharded
//! run, and comparisons pair items.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hone_test_support::{assert_success, hone_against, FakeServer, Reply, SeenRequest};

const ITEMS: usize = 12;
const HIDDEN_MARKER: &str = "HIDDEN-7f3a";

/// A suite of `f_k(x) = x + k`; the hidden tests carry a marker that must
/// never reach a model.
fn write_suite(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for k in 0..ITEMS {
        let line = serde_json::json!({
            "id": format!("item-{k:02}"),
            "prompt": format!("def f_{k}(x):\n    \"\"\"Return x plus {k}.\"\"\"\n"),
            "entry_point": format!("f_{k}"),
            "public_tests": [format!("assert f_{k}(1) == {}", 1 + k)],
            "hidden_tests": format!("# {HIDDEN_MARKER}\ndef check(candidate):\n    assert candidate(10) == {}\n", 10 + k),
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let path = dir.join("suite.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// Answers by content: `f_k` is right for even k, wrong for odd k, every
/// time (so a repeated call gets the same answer).
fn model(delay: Duration) -> impl Fn(usize, &SeenRequest) -> Reply + Send + Sync + 'static {
    move |_, r| {
        let p = r.messages_text();
        let k: usize = p
            .split("`f_")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let text = if r.last_message_text().contains("careful reviewer") {
            "The sign is wrong.\nVERDICT: INCORRECT".to_string()
        } else if k % 2 == 0 {
            format!("```python\ndef f_{k}(x):\n    return x + {k}\n```")
        } else {
            format!("```python\ndef f_{k}(x):\n    return x - {k}\n```")
        };
        Reply::completion(&text).after(delay)
    }
}

fn hone(server: &FakeServer, cache: Option<&Path>) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    match cache {
        Some(dir) => cmd.arg("--cache-dir").arg(dir),
        None => cmd.arg("--no-cache"),
    };
    cmd
}

fn bench_run(
    server: &FakeServer,
    cache: Option<&Path>,
    suite: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    hone(server, cache)
        .args(["bench", "run"])
        .arg(suite)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn results(out: &Path) -> Vec<serde_json::Value> {
    let mut rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rows
}

/// What must match between two runs of the same items: all but wall time
/// and where the logs lie.
fn outcome(rows: &[serde_json::Value]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            serde_json::json!({
                "id": r["id"], "passed": r["passed"], "verified": r["verified"],
                "stop": r["stop"], "answer": r["answer"], "calls": r["calls"],
                "input_tokens": r["input_tokens"], "output_tokens": r["output_tokens"],
            })
        })
        .collect()
}

/// Holds `out`'s writer lock as a running `hone bench run` would.
fn hone_bench_lock(out: &Path) -> hone_bench::results::RunDir {
    let header = hone_bench::results::read_header(out).unwrap();
    hone_bench::results::RunDir::open(out, &header).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_item_is_scored_on_hidden_tests_and_a_second_run_is_all_cache() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let cache = dir.path().join("cache");
    let server = FakeServer::start(model(Duration::ZERO)).await;
    let first = dir.path().join("first");
    let out = bench_run(
        &server,
        Some(&cache),
        &suite,
        &first,
        &["--strategy", "single-shot", "--jobs", "3"],
    );
    assert_success(&out);
    let rows = results(&first);
    assert_eq!(rows.len(), ITEMS, "{rows:#?}");
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], format!("item-{k:02}"));
        assert_eq!(row["passed"], k % 2 == 0, "{row}");
        assert_eq!(row["calls"], 1, "{row}");
        assert!(first.join(row["log"].as_str().unwrap()).is_file(), "{row}");
    }
    let requests = server.request_count();
    assert_eq!(requests, ITEMS);
    for r in server.requests() {
        assert!(
            !r.messages_text().contains(HIDDEN_MARKER),
            "a hidden test reached the model"
        );
    }
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("header.json")).unwrap()).unwrap();
    assert_eq!(header["suite"], "suite");
    assert_eq!(header["dataset_sha256"].as_str().map(str::len), Some(64));
    assert_eq!(header["strategy"]["strategy"], "single-shot");
    assert!(
        header["templates"]["bench_code_task.j2"].is_string(),
        "{header}"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("50.0% (6/12)"), "{table}");

    // The same run again, elsewhere: every answer from the cache.
    let second = dir.path().join("second");
    assert_success(&bench_run(
        &server,
        Some(&cache),
        &suite,
        &second,
        &["--strategy", "single-shot"],
    ));
    assert_eq!(
        server.request_count(),
        requests,
        "a cached run called the model"
    );
    let again = results(&second);
    assert_eq!(outcome(&again), outcome(&rows));
    assert!(
        again.iter().all(|r| r["cache_hits"] == r["calls"]),
        "{again:#?}"
    );

    // A second writer into a directory in use is refused.
    let busy = hone_bench_lock(&first);
    let refused = bench_run(
        &server,
        Some(&cache),
        &suite,
        &first,
        &["--strategy", "single-shot"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    drop(busy);

    // Rerunning a finished run does nothing; other settings are refused.
    assert_success(&bench_run(
        &server,
        Some(&cache),
        &suite,
        &first,
        &["--strategy", "single-shot"],
    ));
    assert_eq!(results(&first).len(), ITEMS);
    let refused = bench_run(
        &server,
        Some(&cache),
        &suite,
        &first,
        &["--strategy", "self-refine"],
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("other settings") && err.contains("strategy"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_at_any_moment_resumes_to_the_uninterrupted_results() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(model(Duration::from_millis(40))).await;
    let args = [
        "--strategy",
        "self-refine",
        "--max-rounds",
        "3",
        "--jobs",
        "2",
    ];
    let full = dir.path().join("full");
    assert_success(&bench_run(&server, None, &suite, &full, &args));
    let expected = results(&full);
    assert_eq!(expected.len(), ITEMS);
    // Odd items are never right: they use several calls, so kills land
    // inside items as well as between them.
    assert!(
        expected.iter().any(|r| r["calls"].as_u64() > Some(1)),
        "{expected:#?}"
    );

    let full_requests = server.request_count();
    let killed = dir.path().join("killed");
    let mut kills = 0;
    for wait_ms in [300u64, 700, 500, 900] {
        let mut child = hone(&server, None)
            .args(["bench", "run"])
            .arg(&suite)
            .arg("--out")
            .arg(&killed)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(wait_ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills > 0, "the run finished before it could be killed");
    assert!(results(&killed).len() < ITEMS || kills > 0);
    assert_success(&bench_run(&server, None, &suite, &killed, &args));
    assert_eq!(outcome(&results(&killed)), outcome(&expected));
    // Items resume from their logs: a kill costs at most the calls in
    // flight (two items at a time), never an item's finished steps.
    let spent = server.request_count() - full_requests;
    assert!(
        spent <= full_requests + 2 * kills,
        "{spent} requests for a run of {full_requests} killed {kills} times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_merge_to_the_unsharded_run_and_compare_pairs_items() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(model(Duration::ZERO)).await;
    let whole = dir.path().join("whole");
    assert_success(&bench_run(
        &server,
        None,
        &suite,
        &whole,
        &["--strategy", "single-shot"],
    ));

    let shards: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, out)| {
            hone(&server, None)
                .args(["bench", "run"])
                .arg(&suite)
                .arg("--out")
                .arg(out)
                .args(["--strategy", "single-shot", "--shard", &format!("{i}/4")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_success(&child.wait_with_output().unwrap());
    }
    let sizes: Vec<usize> = shards.iter().map(|s| results(s).len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), ITEMS, "{sizes:?}");
    assert!(sizes.iter().filter(|n| **n > 0).count() >= 2, "{sizes:?}");
    let merged = dir.path().join("merged");
    let out = hone(&server, None)
        .args(["bench", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(outcome(&results(&merged)), outcome(&results(&whole)));

    // A shard of another run is refused.
    let other = dir.path().join("other");
    assert_success(&bench_run(
        &server,
        None,
        &suite,
        &other,
        &["--strategy", "best-of-n", "--n", "2", "--shard", "0/4"],
    ));
    let out = hone(&server, None)
        .args(["bench", "merge"])
        .arg(&shards[1])
        .arg(&other)
        .arg("--out")
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("strategy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Compare: the same items pair up; a subset is refused.
    let refine = dir.path().join("refine");
    assert_success(&bench_run(
        &server,
        None,
        &suite,
        &refine,
        &["--strategy", "self-refine", "--max-rounds", "2"],
    ));
    let out = hone(&server, None)
        .args(["bench", "compare", "--json"])
        .arg(&whole)
        .arg(&refine)
        .output()
        .unwrap();
    assert_success(&out);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["items"], ITEMS);
    assert_eq!(
        (c["both"].as_u64(), c["neither"].as_u64()),
        (Some(6), Some(6)),
        "{c}"
    );
    assert_eq!(c["p_value"], 1.0);
    assert!(c["calls"]["mean"].as_f64().unwrap() > 0.0, "{c}");
    let out = hone(&server, None)
        .args(["bench", "compare"])
        .arg(&whole)
        .arg(&shards[0])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("different items"));
}

#[test]
fn a_bad_suite_line_is_named_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("bad.jsonl");
    std::fs::write(&suite, "{\"id\": \"q\", \"question\": \"?\", \"reference\": \"1\"}\n{\"id\": \"r\", \"question\": \"?\"}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args([
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--no-cache",
            "bench",
            "run",
        ])
        .arg(&suite)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env_remove("OPENAI_BASE_URL")
        .env_remove("HONE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:2:") && err.contains("reference"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

/// Right on every even draw (the first has no seed; draw d is seeded with
/// d << 16), wrong on odd ones.
fn by_draw(_: usize, r: &SeenRequest) -> Reply {
    let p = r.messages_text();
    let k: usize = p
        .split("`f_")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let draw = r.json()["seed"].as_u64().unwrap_or(0) >> 16;
    let op = if draw % 2 == 0 { "+" } else { "-" };
    Reply::completion(&format!(
        "```python\ndef f_{k}(x):\n    return x {op} {k}\n```"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_draw_each_item_independently_for_unbiased_pass_at_k() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(by_draw).await;
    let out_dir = dir.path().join("samples");
    let refused = bench_run(
        &server,
        None,
        &suite,
        &out_dir,
        &["--strategy", "single-shot", "--samples", "4"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--temperature"));
    let args = [
        "--strategy",
        "single-shot",
        "--samples",
        "4",
        "--temperature",
        "0.8",
        "--ids",
        "item-01,item-02,item-03",
    ];
    let out = bench_run(&server, None, &suite, &out_dir, &args);
    assert_success(&out);
    let rows = results(&out_dir);
    assert_eq!(rows.len(), 12, "3 items x 4 draws");
    let passes: Vec<bool> = rows
        .iter()
        .filter(|r| r["id"] == "item-01")
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passes.len(), 4);
    assert_eq!(passes.iter().filter(|p| **p).count(), 2, "{rows:#?}");
    let table = String::from_utf8_lossy(&out.stdout);
    // n = 4, c = 2 on every item: pass@1 = 1/2, pass@2 = 1 - 1/6, pass@4 = 1.
    assert!(table.contains("pass@1 50.0%"), "{table}\n{rows:#?}");
    assert!(table.contains("pass@2 83.3%"), "{table}");
    assert!(table.contains("pass@4 100.0%"), "{table}");
    let requests = server.request_count();
    assert_success(&bench_run(&server, None, &suite, &out_dir, &args));
    assert_eq!(
        server.request_count(),
        requests,
        "a finished run is not run again"
    );
}

/// Best-of-n samples even at temperature 0 (its first answer is greedy, the
/// rest are sampled), so `--samples` draws it apart without `--temperature`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_of_n_draws_apart_at_temperature_zero() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(by_draw).await;
    let out_dir = dir.path().join("bon");
    let args = [
        "--strategy",
        "best-of-n",
        "--n",
        "2",
        "--samples",
        "2",
        "--ids",
        "item-01",
    ];
    let out = bench_run(&server, None, &suite, &out_dir, &args);
    assert_success(&out);
    let mut rows = results(&out_dir);
    rows.sort_by_key(|r| r["sample"].as_u64());
    let passed: Vec<_> = rows.iter().map(|r| r["passed"].as_bool()).collect();
    assert_eq!(passed, [Some(true), Some(false)], "{rows:#?}");
    // Each item log records its draw, so `hone resume` of it sends the same seeds.
    let log = out_dir.join(rows[1]["log"].as_str().expect("a log path"));
    let text = std::fs::read_to_string(&log).unwrap();
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["meta"]["draw"], 1, "{header}");
}

/// Answer suites: the reference decides the score after the search and
/// never reaches a model, whatever the strategy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_never_reach_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("answers.jsonl");
    let mut text = String::new();
    for k in 0..4 {
        // The reference is a marker no model answer or prompt contains.
        let reference = if k % 2 == 0 {
            "42".to_string()
        } else {
            format!("9137{k}5")
        };
        text.push_str(
            &serde_json::json!({"id": format!("q{k}"), "question": format!("Item {k}: what is 6 * 7?"), "reference": reference})
                .to_string(),
        );
        text.push('\n');
    }
    std::fs::write(&suite, text).unwrap();
    let server = FakeServer::start(|_, r: &SeenRequest| {
        if r.last_message_text().contains("careful reviewer") {
            Reply::completion("Correct.\nVERDICT: CORRECT")
        } else {
            Reply::completion("6 * 7 = 42.\nFINAL ANSWER: 42")
        }
    })
    .await;
    for strategy in ["single-shot", "self-refine", "best-of-n"] {
        let out = dir.path().join(strategy);
        assert_success(&bench_run(
            &server,
            None,
            &suite,
            &out,
            &["--strategy", strategy, "--n", "2"],
        ));
        let rows = results(&out);
        let passed: Vec<bool> = rows
            .iter()
            .map(|r| r["passed"].as_bool().unwrap())
            .collect();
        assert_eq!(passed, [true, false, true, false], "{strategy}: {rows:#?}");
    }
    assert!(server.request_count() >= 12);
    for r in server.requests() {
        assert!(
            !r.messages_text().contains("9137"),
            "a reference reached the model"
        );
    }
}

/// `--max-run-seconds` stops the run, which reports what it finished and
/// exits 4; the same command without the limit finishes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_by_its_time_budget_reports_what_it_finished() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(model(Duration::from_millis(250))).await;
    let out_dir = dir.path().join("timed");
    let started = Instant::now();
    let out = bench_run(
        &server,
        None,
        &suite,
        &out_dir,
        &["--strategy", "single-shot", "--max-run-seconds", "1.2"],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stopped by --max-run-seconds"), "{err}");
    let done = results(&out_dir).len();
    assert!(done > 0 && done < ITEMS, "{done} items finished");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(&format!("| {done} of {ITEMS} |")), "{table}");
    assert_success(&bench_run(
        &server,
        None,
        &suite,
        &out_dir,
        &["--strategy", "single-shot"],
    ));
    assert_eq!(results(&out_dir).len(), ITEMS);
}

#[test]
fn review_sets_are_written_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_hone"))
            .args([
                "bench",
                "review-set",
                "--limit",
                "4",
                "--seed",
                seed,
                "--out",
            ])
            .arg(&out)
            .env_remove("HONE_CONFIG")
            .output()
            .unwrap();
        assert_success(&status);
        std::fs::read_to_string(out).unwrap()
    };
    let first = write("a.jsonl", "3");
    let items: Vec<serde_json::Value> = first
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(items.len() >= 6, "{first}");
    assert!(items
        .iter()
        .any(|i| i["expected"].as_array().is_some_and(|e| e.len() == 1)));
    assert!(items
        .iter()
        .any(|i| i["expected"].as_array().is_some_and(Vec::is_empty)));
    assert_eq!(write("b.jsonl", "3"), first);
}
