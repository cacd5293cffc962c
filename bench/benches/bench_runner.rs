//! The benchmark runner's own overhead, on the path `hone bench run` takes:
//! `BenchRun` over a real run directory (each item's checkpointed run log,
//! `results.jsonl` appended and synced per item), the single-shot graph with
//! its verify step, and the host's scoring after the search; the model is a
//! zero-latency scripted one, so what is measured is everything but the
//! model.
//!
//! - 1,000 answer items (a question, a reference; the final answer checked
//!   by hone's answer checker), five rounds, the median reported,
//! - 200 code items (public asserts verified in the sandbox during the
//!   search, hidden tests scored by the host's verdict after it),
//! - for comparison, in the same run, UK AISI's inspect-ai (pinned, in a
//!   venv this bench creates under the hone cache) evaluating 1,000 answer
//!   items with its `mockllm/model` provider and the `match` scorer
//!   (`bench/inspect/inspect_baseline.py`).
//!
//! Left out: model latency (zero here), the response cache (off: a scripted
//! model), progress printing, and dataset loading.
//!
//! `cargo bench -p hone-bench --bench bench_runner`. Last line:
//! `RESULT answer_items_per_s=<f> code_items_per_s=<f> inspect_items_per_s=<f>`
//! (`inspect_items_per_s=nan` when inspect-ai could not be installed).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use hone_agents::header::RunHeader;
use hone_agents::refine::RefineConfig;
use hone_bench::item::{AnswerItem, CodeItem, Item, Suite, SuiteKind};
use hone_bench::results::{BenchHeader, RunDir};
use hone_bench::runner::{BenchRun, Progress};
use hone_core::ScriptedModel;
use hone_sandbox::{Language, Sandbox, SandboxConfig};
use hone_tools::{Harness, TestSuite};

const ANSWER_ITEMS: usize = 1000;
const CODE_ITEMS: usize = 200;
/// Items run at once: `hone bench run`'s default.
const JOBS: usize = 1;
const INSPECT: &str = "inspect-ai==0.3.285";
/// Rounds of the answer items (the median is reported).
const ROUNDS: usize = 5;

fn header(kind: SuiteKind, items: &[Item]) -> BenchHeader {
    let suite = Suite {
        name: "bench".into(),
        kind,
        items: items.to_vec(),
        sha256: String::new(),
    };
    BenchHeader::new(&suite, RunHeader::new("single-shot", "scripted"))
}

/// The right answer to every item, from its own text.
fn model() -> ScriptedModel {
    ScriptedModel::new().with_rule(
        |_| true,
        |req| {
            let text = req
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            match text.split("`f_").nth(1).and_then(|r| r.split('`').next()) {
                Some(k) => format!("```python\ndef f_{k}(x):\n    return x + {k}\n```"),
                None => "6 * 7 = 42.\nFINAL ANSWER: 42".to_string(),
            }
        },
    )
}

fn run(items: &[Item], kind: SuiteKind, dir: &Path, harness: &Arc<Harness>) -> (f64, usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let header = header(kind, items);
    let mut run_dir = RunDir::open(dir, &header).expect("run dir");
    let bench = BenchRun {
        config: RefineConfig::new(
            Arc::new(model()),
            Arc::new(hone_agents::templates::embedded()),
        )
        .with_harness(harness.clone()),
        header,
        jobs: JOBS,
        max_run_time: None,
    };
    let started = Instant::now();
    let totals = runtime
        .block_on(bench.run(items, &mut run_dir, &|p| {
            if let Progress::Failed { id, error } = p {
                panic!("{id}: {error}");
            }
        }))
        .expect("bench run");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(totals.finished, items.len());
    let passed = run_dir.done().values().filter(|r| r.passed).count();
    (items.len() as f64 / seconds, passed)
}

/// inspect-ai's rate on the same number of answer items, in a venv created
/// (once) under the hone cache.
fn inspect_rate() -> f64 {
    let venv = hone_core::config::cache_dir().join("venv-inspect");
    let python = venv.join("bin").join("python");
    let installed = Command::new(&python)
        .args(["-c", "import inspect_ai"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("bench_runner: installing {INSPECT} into {}", venv.display());
        let ok = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&python)
                .args(["-m", "pip", "install", "-q", INSPECT])
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("bench_runner: could not install {INSPECT}; inspect's rate is nan");
            return f64::NAN;
        }
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("inspect/inspect_baseline.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(ANSWER_ITEMS.to_string())
        .output();
    let Ok(out) = out else {
        return f64::NAN;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("INSPECT ")) else {
        eprintln!(
            "bench_runner: inspect-ai failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return f64::NAN;
    };
    println!("{line}");
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("items_per_s="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    let sandbox = Sandbox::new(SandboxConfig::default());
    if let Err(e) = sandbox.preload_blocking(Language::Python) {
        eprintln!("bench_runner: {e}");
        std::process::exit(1);
    }
    let harness = Arc::new(Harness::new(sandbox));
    let tmp = tempfile::tempdir().expect("temp dir");

    let answers: Vec<Item> = (0..ANSWER_ITEMS)
        .map(|i| {
            Item::Answer(AnswerItem {
                id: format!("q{i}"),
                question: format!("Item {i}: what is 6 * 7?"),
                reference: "42".into(),
                choices: None,
            })
        })
        .collect();
    // File creation dominates an answer item (its run log and lock), and
    // this machine's disk is noisy: the median of five rounds.
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|round| {
            let (rate, passed) = run(
                &answers,
                SuiteKind::Answer,
                &tmp.path().join(format!("answers-{round}")),
                &harness,
            );
            println!("answer items, round {round}: {ANSWER_ITEMS} at {rate:.1} items/s ({passed} passed)");
            assert_eq!(passed, ANSWER_ITEMS);
            rate
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let answer_rate = rates[ROUNDS / 2];

    let code: Vec<Item> = (0..CODE_ITEMS)
        .map(|k| {
            Item::Code(CodeItem {
                id: format!("f{k}"),
                prompt: format!("def f_{k}(x):\n    \"\"\"x plus {k}\"\"\"\n"),
                entry_point: format!("f_{k}"),
                public_tests: TestSuite::Asserts {
                    setup: String::new(),
                    asserts: vec![
                        format!("assert f_{k}(1) == {}", 1 + k),
                        format!("assert f_{k}(0) == {k}"),
                    ],
                },
                hidden_tests: TestSuite::Check {
                    test: format!("def check(candidate):\n    assert candidate(10) == {}\n    assert candidate(-1) == {}\n", 10 + k, k as i64 - 1),
                    entry_point: format!("f_{k}"),
                },
                reference_solution: None,
            })
        })
        .collect();
    let (code_rate, passed) = run(&code, SuiteKind::Code, &tmp.path().join("code"), &harness);
    println!("code items: {CODE_ITEMS} at {code_rate:.1} items/s ({passed} passed)");
    assert_eq!(passed, CODE_ITEMS);

    let inspect = inspect_rate();
    println!(
        "answer items: {:.1}x inspect-ai's rate",
        answer_rate / inspect
    );
    println!(
        "RESULT answer_items_per_s={answer_rate:.3} code_items_per_s={code_rate:.3} inspect_items_per_s={inspect:.3}"
    );
}
