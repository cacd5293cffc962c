//! `hone bench run realcritic` end to end against a loopback endpoint:
//! the protocol's requests per mode, grading of the final answer (the
//! multiple-choice quirk and its strict fix), transitions, resume, and the
//! reference answers never reaching the model.

use std::path::{Path, PathBuf};
use std::process::Command;

use hone_test_support::{assert_success, hone_against, FakeServer, Reply, SeenRequest};

/// Markers in the reference fields that must never reach the model.
const GT_MARKER: &str = "GTCOT-41c9";

fn write_data(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let gsm = [
        // A right solution, and a wrong one.
        serde_json::json!({"idx": 0, "question": "Q-ADD: 2 + 3?", "gt_cot": format!("{GT_MARKER} 2+3=5"), "gt": "5",
                           "reasoning": "Step 1: 2 + 3 = 5. The answer is 5.", "previous_score": [true]}),
        serde_json::json!({"idx": 2, "question": "Q-MUL: 4 * 6?", "gt_cot": format!("{GT_MARKER} 4*6=24"), "gt": "24",
                           "reasoning": "Step 1: 4 * 6 = 26. The answer is 26.", "previous_score": [false]}),
    ];
    let mmlu = [
        serde_json::json!({"idx": 0, "question": "Q-CHOICE: Which is prime? (A) 4 (B) 6 (C) 7 (D) 8",
                                   "gt_cot": "None", "gt": "C", "reasoning": "4 is prime. The answer is A.",
                                   "previous_score": [false]}),
    ];
    let write = |name: &str, lines: &[serde_json::Value]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(data.join(name), text).unwrap();
    };
    write("gsm8k.jsonl", &gsm);
    write("mmlu_stem.jsonl", &mmlu);
    data
}

/// Direct answers are right for Q-ADD and Q-CHOICE, wrong for Q-MUL;
/// critiques keep Q-ADD, fix Q-MUL, and on Q-CHOICE restate the student's
/// letter before boxing the right one (the reference extraction's quirk).
fn model() -> impl Fn(usize, &SeenRequest) -> Reply + Send + Sync + 'static {
    |_, r| {
        let text = r.messages_text();
        if text.contains("Judge only the critique") {
            // The post-check: the Q-MUL critique checked the steps.
            let label = if text.contains("Q-MUL") {
                "QUALIFIED"
            } else {
                "UNQUALIFIED"
            };
            return Reply::completion(&format!("It does.\n{label}"));
        }
        // hone's critics: self-refine's critic, its refiner, the rubric
        // grader and the pairwise judge.
        if text.contains("careful reviewer") {
            let verdict = if text.contains("Q-MUL") {
                "INCORRECT"
            } else {
                "CORRECT"
            };
            return Reply::completion(&format!("Checked.\nVERDICT: {verdict}"));
        }
        if text.contains("was reviewed") {
            return Reply::completion("4 * 6 = 24.\nFINAL ANSWER: 24");
        }
        if text.contains("fair and strict evaluator") {
            let score = if text.contains("Q-MUL") { 2 } else { 5 };
            return Reply::completion(&format!("Feedback.\nSCORE: {score}"));
        }
        if text.contains("impartial judge") {
            // The response holding 24 wins, whichever order it is shown in.
            let second = text.split("[Response 2]").nth(1).unwrap_or_default();
            let winner = if text.contains("\\boxed{24}") {
                if second.contains("\\boxed{24}") {
                    "2"
                } else {
                    "1"
                }
            } else {
                "TIE"
            };
            return Reply::completion(&format!("Compared.\nWINNER: {winner}"));
        }
        let critique = text.contains("checking a student's solution");
        let reply = match (critique, text) {
            (false, t) if t.contains("Q-ADD") => "2 + 3 = 5, so \\boxed{5}.",
            (false, t) if t.contains("Q-MUL") => "4 * 6 = 25, so \\boxed{25}.",
            (false, _) => "7 is prime: \\boxed{C}",
            (true, t) if t.contains("Q-ADD") => {
                "Step 1 is right.\nConclusion: correct, first wrong step: -1\n\\boxed{5}"
            }
            (true, t) if t.contains("Q-MUL") => {
                "Step 1 is wrong: 4 * 6 is 24.\nConclusion: incorrect, first wrong step: 1\n\
                 ===CORRECTION_START===\n4 * 6 = 24, so \\boxed{24}\n===CORRECTION_END==="
            }
            (true, _) => {
                "The student's answer is A, but 4 = 2 * 2.\nConclusion: incorrect, first wrong step: 1\n\
                 ===CORRECTION_START===\n7 is prime, so the right choice is \\boxed{C}\n===CORRECTION_END==="
            }
        };
        Reply::completion(reply)
    }
}

fn hone(server: &FakeServer) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    cmd.arg("--no-cache");
    cmd
}

fn run(server: &FakeServer, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    hone(server)
        .args(["bench", "run", "realcritic", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--sets", "gsm8k,mmlu_stem", "--jobs", "2"])
        .args(extra)
        .output()
        .unwrap()
}

fn results(out: &Path) -> Vec<serde_json::Value> {
    let mut rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    rows.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rows
}

fn no_reference_reaches_the_model(server: &FakeServer) {
    let requests = server.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(
            !r.body.contains(GT_MARKER),
            "a reference reached the model: {}",
            r.body
        );
        let body = r.json();
        assert_eq!(body["temperature"], 0.0, "{body}");
        assert_eq!(body["top_p"], 1.0, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_mode_scores_the_corrected_answer_with_the_reference_quirk_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let out_dir = dir.path().join("cross");
    let out = run(&server, &data, &out_dir, &["--mode", "cross"]);
    assert_success(&out);
    assert_eq!(server.request_count(), 3, "one critique per item");
    no_reference_reaches_the_model(&server);
    // The critique request carries the dataset's solution, not a direct answer.
    assert!(server
        .requests()
        .iter()
        .any(|r| r.messages_text().contains("4 * 6 = 26")));
    let rows = results(&out_dir);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gsm8k/0", "gsm8k/2", "mmlu_stem/0"]);
    // gsm8k/0 kept correct, gsm8k/2 corrected.
    assert_eq!(rows[0]["passed"], true, "{}", rows[0]);
    assert_eq!(rows[0]["critic"]["previous"], true);
    assert_eq!(rows[0]["verified"], true, "the critic said correct");
    assert_eq!(rows[1]["passed"], true, "{}", rows[1]);
    assert_eq!(rows[1]["critic"]["previous"], false);
    assert_eq!(rows[1]["critic"]["corrected"], true);
    // The quirk: the reference extraction takes the student's letter A.
    assert_eq!(rows[2]["answer"], "A", "{}", rows[2]);
    assert_eq!(rows[2]["passed"], false);
    assert_eq!(rows[2]["critic"]["strict"], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // gsm8k 100.0, mmlu_stem 0.0: the mean of sets is 50.0 (not 2/3).
    assert!(
        stdout.contains("| **mean of sets** | 3 | **50.0** |"),
        "{stdout}"
    );
    assert!(stdout.contains("changes 1 item(s)"), "{stdout}");
    assert!(stdout.contains("| **all** | 1 | 0 | 1 | 1 |"), "{stdout}");

    // Rerunning the same command finishes nothing new and calls no model.
    let again = run(&server, &data, &out_dir, &["--mode", "cross"]);
    assert_success(&again);
    assert_eq!(server.request_count(), 3);
    assert!(String::from_utf8_lossy(&again.stderr).contains("3 item(s) already done"));
    // `hone bench report` knows a RealCritic directory: the same tables, and
    // a page with the accuracy and transition charts.
    let page = dir.path().join("rc.html");
    let report = hone(&server)
        .args(["bench", "report"])
        .arg(&out_dir)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_success(&report);
    let tables = String::from_utf8_lossy(&report.stdout);
    assert!(
        tables.contains("realcritic cross") && tables.contains("**50.0**"),
        "{tables}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "accuracy and transitions charts"
    );
    assert!(html.contains("transitions per set"));
    // Another mode may not continue this directory.
    let other = run(&server, &data, &out_dir, &["--mode", "self"]);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("mode"),
        "{other:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_mode_critiques_the_models_own_answer_and_grades_both() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let out_dir = dir.path().join("self");
    let out = run(&server, &data, &out_dir, &["--mode", "self"]);
    assert_success(&out);
    assert_eq!(
        server.request_count(),
        6,
        "a direct answer and a critique per item"
    );
    no_reference_reaches_the_model(&server);
    // The critique of Q-MUL shows the model its own wrong answer.
    let requests = server.requests();
    let critique = requests
        .iter()
        .find(|r| {
            r.messages_text().contains("checking a student's solution")
                && r.messages_text().contains("Q-MUL")
        })
        .unwrap();
    assert!(
        critique.messages_text().contains("\\boxed{25}"),
        "{}",
        critique.body
    );
    let rows = results(&out_dir);
    // previous = the direct answer's grade: right, wrong, right.
    let previous: Vec<bool> = rows
        .iter()
        .map(|r| r["critic"]["previous"].as_bool().unwrap())
        .collect();
    assert_eq!(previous, [true, false, true]);
    assert_eq!(rows[1]["critic"]["direct_answer"], "25");
    assert_eq!(rows[1]["passed"], true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // mmlu: right directly, made wrong by the quirk: C→I.
    assert!(stdout.contains("| mmlu_stem | 0 | 1 | 0 | 0 |"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterative_mode_continues_the_conversation_and_direct_mode_has_no_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let out = run(
        &server,
        &data,
        &dir.path().join("iter"),
        &["--mode", "iterative", "--rounds", "2", "--ids", "gsm8k/2"],
    );
    assert_success(&out);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let second = requests[1].json();
    let roles: Vec<&str> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);

    let server = FakeServer::start(model()).await;
    let out = run(
        &server,
        &data,
        &dir.path().join("direct"),
        &["--mode", "direct"],
    );
    assert_success(&out);
    assert_eq!(server.request_count(), 3);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("C→C"), "{stdout}");
    // gsm8k 1 of 2, mmlu 1 of 1: mean of sets (50 + 100) / 2.
    assert!(stdout.contains("**75.0**"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_post_check_labels_each_critique_without_changing_a_score() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let out_dir = dir.path().join("post");
    let out = run(
        &server,
        &data,
        &out_dir,
        &["--mode", "cross", "--post-check"],
    );
    assert_success(&out);
    assert_eq!(
        server.request_count(),
        6,
        "a critique and a judgement per item"
    );
    no_reference_reaches_the_model(&server);
    // The judge sees the critique it judges.
    assert!(server.requests().iter().any(|r| {
        let t = r.messages_text();
        t.contains("Judge only the critique") && t.contains("first wrong step: 1")
    }));
    let rows = results(&out_dir);
    let labels: Vec<&str> = rows
        .iter()
        .map(|r| r["critic"]["post_check"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["unqualified", "qualified", "unqualified"]);
    let passed: Vec<bool> = rows
        .iter()
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, false], "the same scores as without it");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("| gsm8k | 2 | 1 | 50.0 |"), "{stdout}");
    let header = std::fs::read_to_string(out_dir.join("header.json")).unwrap();
    assert!(header.contains("\"post_check\""), "{header}");
    // Direct mode writes no critique to judge.
    let out = run(
        &server,
        &data,
        &dir.path().join("d"),
        &["--mode", "direct", "--post-check"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--post-check judges critiques"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_post_check_judge_can_be_another_model_at_another_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    // The judge calls every critique qualified; the model under test would not.
    let judge = FakeServer::start(|_, r: &SeenRequest| {
        assert_eq!(r.json()["model"], "judge-model");
        Reply::completion("Fine.\nQUALIFIED")
    })
    .await;
    let out_dir = dir.path().join("judged");
    let out = run(
        &server,
        &data,
        &out_dir,
        &[
            "--mode",
            "cross",
            "--post-check",
            "--post-check-model",
            "judge-model",
            "--post-check-base-url",
            &judge.base_url(),
        ],
    );
    assert_success(&out);
    assert_eq!(server.request_count(), 3, "only the critiques");
    assert_eq!(judge.request_count(), 3, "one judgement per item");
    assert!(judge
        .requests()
        .iter()
        .all(|r| r.messages_text().contains("Judge only the critique")));
    let labels: Vec<String> = results(&out_dir)
        .iter()
        .map(|r| r["critic"]["post_check"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["qualified", "qualified", "qualified"]);
    let header = std::fs::read_to_string(out_dir.join("header.json")).unwrap();
    assert!(header.contains("judge-model"), "{header}");
    // Without --post-check there is no judge to name.
    let out = run(
        &server,
        &data,
        &dir.path().join("x"),
        &["--mode", "cross", "--post-check-model", "judge-model"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --post-check"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hones_own_critics_are_graded_by_the_corrections_they_lead_to() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    // default: self-refine's critic keeps Q-ADD and (wrongly) Q-CHOICE, and
    // sends Q-MUL to the refiner, whose FINAL ANSWER 24 is graded.
    let server = FakeServer::start(model()).await;
    let out_dir = dir.path().join("hone-default");
    let out = run(
        &server,
        &data,
        &out_dir,
        &["--mode", "cross", "--critic-design", "default"],
    );
    assert_success(&out);
    assert_eq!(
        server.request_count(),
        4,
        "a critique per item, a refinement for Q-MUL"
    );
    no_reference_reaches_the_model(&server);
    let rows = results(&out_dir);
    let passed: Vec<bool> = rows
        .iter()
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, false]);
    assert_eq!(rows[1]["answer"], "24");
    assert_eq!(rows[1]["verified"], false, "the critic did not keep it");
    assert!(std::fs::read_to_string(out_dir.join("header.json"))
        .unwrap()
        .contains("\"critic\": \"default\""));

    // rubric: a score below 4 sends the feedback to the refiner.
    let server = FakeServer::start(model()).await;
    let out_dir = dir.path().join("hone-rubric");
    let out = run(
        &server,
        &data,
        &out_dir,
        &["--mode", "cross", "--critic-design", "rubric"],
    );
    assert_success(&out);
    assert_eq!(server.request_count(), 4);
    let passed: Vec<bool> = results(&out_dir)
        .iter()
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, false]);

    // pairwise: a fresh answer replaces the solution only when it wins.
    let server = FakeServer::start(|_, r: &SeenRequest| {
        // Fresh answers are right everywhere but Q-CHOICE.
        let text = r.messages_text();
        if text.contains("impartial judge") {
            return model()(0, r);
        }
        let reply = if text.contains("Q-ADD") {
            "\\boxed{5}"
        } else if text.contains("Q-MUL") {
            "4 * 6 = 24, so \\boxed{24}."
        } else {
            "\\boxed{B}"
        };
        Reply::completion(reply)
    })
    .await;
    let out_dir = dir.path().join("hone-pairwise");
    let out = run(
        &server,
        &data,
        &out_dir,
        &["--mode", "cross", "--critic-design", "pairwise"],
    );
    assert_success(&out);
    assert_eq!(
        server.request_count(),
        9,
        "a fresh answer and two judge orders per item"
    );
    let rows = results(&out_dir);
    // gsm8k/0: tie keeps the right solution; gsm8k/2: the fresh 24 wins;
    // mmlu: tie keeps the student's wrong A.
    let passed: Vec<bool> = rows
        .iter()
        .map(|r| r["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [true, true, false], "{rows:#?}");
    let out = run(
        &server,
        &data,
        &dir.path().join("p2"),
        &["--mode", "self", "--critic-design", "pairwise"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pairwise needs --mode cross"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let out = hone(&server)
        .args(["bench", "run", "realcritic", "--mode", "cross", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --data"));
    let out = run(
        &server,
        &data,
        &dir.path().join("y"),
        &["--mode", "sideways"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown RealCritic mode \"sideways\""));
    let out = run(
        &server,
        &data,
        &dir.path().join("z"),
        &["--mode", "cross", "--sets", "math"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no data for set \"math\""),
        "{out:?}"
    );
    assert_eq!(server.request_count(), 0);
}

/// The fields of a result that a merge must keep: everything but where the
/// log lies and how long the item took.
fn outcome(row: &serde_json::Value) -> serde_json::Value {
    let mut row = row.clone();
    let fields = row.as_object_mut().unwrap();
    fields.remove("log");
    fields.remove("wall_ms");
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_run_concurrently_merge_into_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model()).await;
    let whole = dir.path().join("whole");
    assert_success(&run(&server, &data, &whole, &["--mode", "cross"]));
    let shards: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("s{i}"))).collect();
    let children: Vec<std::process::Child> = shards
        .iter()
        .enumerate()
        .map(|(i, out)| {
            hone(&server)
                .args(["bench", "run", "realcritic", "--data"])
                .arg(&data)
                .arg("--out")
                .arg(out)
                .args(["--sets", "gsm8k,mmlu_stem", "--mode", "cross"])
                .args(["--shard", &format!("{i}/3")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shards[1].join("header.json")).unwrap())
            .unwrap();
    assert_eq!(header["shard"], serde_json::json!({"index": 1, "count": 3}));
    let held: usize = shards.iter().map(|s| results(s).len()).sum();
    assert_eq!(held, 3, "every item in exactly one shard");

    let merged = dir.path().join("merged");
    let out = hone(&server)
        .args(["bench", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_success(&out);
    let (a, b) = (results(&whole), results(&merged));
    assert_eq!(a.len(), 3);
    assert_eq!(
        a.iter().map(outcome).collect::<Vec<_>>(),
        b.iter().map(outcome).collect::<Vec<_>>()
    );
    // Each merged result's log is its shard's, and exists.
    assert!(b
        .iter()
        .all(|r| Path::new(r["log"].as_str().unwrap()).exists()));
    let merged_header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(merged.join("header.json")).unwrap())
            .unwrap();
    assert!(merged_header.get("shard").is_none());

    // Shards of different runs are refused.
    let other = dir.path().join("other");
    assert_success(&run(
        &server,
        &data,
        &other,
        &["--mode", "direct", "--shard", "0/3"],
    ));
    let out = hone(&server)
        .args(["bench", "merge"])
        .arg(&shards[1])
        .arg(&other)
        .arg("--out")
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mode"), "{stderr}");
}
