//! `hone bench run mint` end to end against a loopback endpoint: the
//! episode's turns, the persistent Python session (within an episode, not
//! across), the countdown, the caps, the checks, the feedback modes, and
//! the reference never reaching the evaluated model.

use std::path::{Path, PathBuf};
use std::process::Command;

use hone_test_support::{assert_success, hone_against, FakeServer, Reply, SeenRequest};

const HIDDEN: &str = "HIDDEN-MINT-5e1";

fn write_data(dir: &Path) -> PathBuf {
    let data = dir.join("mint");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("gsm8k.jsonl"),
        format!(
            "{}\n",
            serde_json::json!({"id": "0", "prompt": "Q-G: what is 2 + 2?", "reference": "4"})
        ),
    )
    .unwrap();
    std::fs::write(
        data.join("humaneval.jsonl"),
        format!(
            "{}\n",
            serde_json::json!({"id": "0", "prompt": "def double(x):\n    \"\"\"Q-H: twice x.\"\"\"\n",
                               "reference": format!("# {HIDDEN}\ndef check(candidate):\n    assert candidate(3) == 6\n"),
                               "entry_point": "double"})
        ),
    )
    .unwrap();
    data
}

/// The n-th turn of each task, by the assistant turns already in the
/// request.
fn model(_: usize, r: &SeenRequest) -> Reply {
    let body = r.json();
    let text = r.messages_text();
    if text.contains("expert teacher") {
        return Reply::completion(if text.contains("Q-H") {
            "This is BAD. Write the function."
        } else {
            "This is GOOD. Keep going."
        });
    }
    let turn = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "assistant")
        .count();
    let reply = if text.contains("Q-G") {
        match turn {
            0 => "<thought>compute</thought><execute>x = 2 + 2\nx</execute>",
            1 => "<execute>print(x * 10)\nprint(wikipedia_search('two plus two'))</execute>",
            2 => "<solution>5</solution>",
            _ => "<solution>4</solution>",
        }
    } else {
        match turn {
            0 => "I think it doubles.",
            1 => "<execute>print(x)</execute>",
            _ => "<solution>\ndef double(x):\n    return 2 * x\n</solution>",
        }
    };
    Reply::completion(reply)
}

fn hone(server: &FakeServer) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    cmd.arg("--no-cache");
    cmd
}

fn run(server: &FakeServer, data: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = hone(server);
    cmd.args(["bench", "run", "mint", "--data"])
        .arg(data)
        .arg("--out")
        .arg(out);
    if !extra.contains(&"--sets") {
        cmd.args(["--sets", "gsm8k,humaneval"]);
    }
    cmd.args(extra).output().unwrap()
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

/// The evaluated model's requests for the task whose prompt holds `marker`.
fn episode(server: &FakeServer, marker: &str) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| {
            r.messages_text().contains(marker) && !r.messages_text().contains("expert teacher")
        })
        .map(|r| r.messages_text())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_episode_runs_code_in_one_session_counts_down_and_ends_on_a_right_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model).await;
    let out_dir = dir.path().join("k5");
    let out = run(&server, &data, &out_dir, &["--k", "5"]);
    assert_success(&out);
    for r in server.requests() {
        assert!(
            !r.body.contains(HIDDEN),
            "the hidden tests reached the model"
        );
        let body = r.json();
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["max_tokens"], 512);
        assert!(
            body["stop"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "\nObservation:"),
            "{body}"
        );
    }
    let g = episode(&server, "Q-G");
    assert_eq!(g.len(), 4, "four turns");
    assert!(
        g[0].contains("5 chance(s) to act") && g[0].contains("at most 2"),
        "{}",
        g[0]
    );
    assert!(g[1].contains("Out[1]: 4"), "{}", g[1]);
    assert!(g[1].contains("You have 4 steps left and 2 chances to propose solution left."));
    // The session keeps x between turns.
    assert!(g[2].contains("\n40\n"), "{}", g[2]);
    // The search tool is a host tool, answered on the host: offline here.
    assert!(
        g[2].contains("wikipedia_search is unavailable: this sandbox has no network access, so no search was made for \"two plus two\"."),
        "{}",
        g[2]
    );
    // A wrong proposal is told only that, then the countdown.
    assert!(
        g[3].contains("Your answer is wrong.\nYou have 2 steps left and 1 chances"),
        "{}",
        g[3]
    );
    assert!(!g[3].contains("You should take the last step"));
    let h = episode(&server, "Q-H");
    assert_eq!(h.len(), 3);
    assert!(
        h[0].contains("Complete the following code:"),
        "HumanEval's tweak"
    );
    assert!(h[1].contains("I do not understand your input."), "{}", h[1]);
    // Sessions are per episode: x from the other task is not defined.
    assert!(h[2].contains("NameError"), "{}", h[2]);
    let rows = results(&out_dir);
    assert_eq!(rows[0]["id"], "gsm8k/0");
    assert_eq!(rows[0]["passed"], true);
    assert_eq!(rows[0]["stop"], "task_success");
    assert_eq!(rows[0]["mint"]["tool_uses"], 2);
    assert_eq!(rows[0]["mint"]["proposals"], 2);
    assert_eq!(rows[1]["passed"], true);
    assert_eq!(rows[1]["mint"]["invalid"], 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("| **overall** | 100.0 (2/2;"), "{stdout}");

    // k = 2: after one step, the push to propose now.
    let server = FakeServer::start(model).await;
    let out = run(
        &server,
        &data,
        &dir.path().join("k2"),
        &["--k", "2", "--sets", "gsm8k"],
    );
    assert_success(&out);
    let g = episode(&server, "Q-G");
    assert_eq!(g.len(), 2);
    assert!(g[1].contains("You have 1 steps left and 2 chances to propose solution left.\nYou should take the last step to propose a solution."), "{}", g[1]);
    assert_eq!(results(&dir.path().join("k2"))[0]["stop"], "max_steps");

    // k = 1: one proposal at most, one step; the first turn ends it.
    let out = run(&server, &data, &dir.path().join("k1"), &["--k", "1"]);
    assert_success(&out);
    let rows = results(&dir.path().join("k1"));
    assert_eq!(rows[0]["stop"], "max_steps", "{}", rows[0]);
    assert_eq!(rows[1]["stop"], "max_steps");
    assert_eq!(rows[0]["passed"], false);

    // `hone bench report` of the runs at k = 1, 2, 5: SR against k, and a
    // page with the curve.
    let page = dir.path().join("mint.html");
    let report = hone(&server)
        .args(["bench", "report"])
        .arg(dir.path().join("k1"))
        .arg(dir.path().join("k2"))
        .arg(&out_dir)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_success(&report);
    let stdout = String::from_utf8_lossy(&report.stdout);
    assert!(stdout.contains("Slope of overall SR against k"), "{stdout}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("success rate against k"));
    // Two runs over the same tasks pair item by item.
    let compare = hone(&server)
        .args(["bench", "compare"])
        .arg(dir.path().join("k1"))
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_success(&compare);
    let text = String::from_utf8_lossy(&compare.stdout);
    assert!(
        text.contains("2 items: both pass 0,") && text.contains("exact McNemar p = 0.5000"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_follows_every_step_but_the_last_and_knows_the_answer_only_in_gt_modes() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server = FakeServer::start(model).await;
    let out = run(
        &server,
        &data,
        &dir.path().join("fb"),
        &["--k", "5", "--feedback", "no-gt-textual"],
    );
    assert_success(&out);
    let feedback: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.messages_text())
        .filter(|t| t.contains("expert teacher"))
        .collect();
    // gsm8k: 3 non-final steps; humaneval: 2.
    assert_eq!(feedback.len(), 5);
    for f in &feedback {
        assert!(
            f.contains("do not disclose it to the student): NOT GIVEN"),
            "{f}"
        );
        assert!(!f.contains(HIDDEN));
    }
    let g = episode(&server, "Q-G");
    assert!(
        g[1].contains("Expert feedback:\nThis is GOOD. Keep going."),
        "{}",
        g[1]
    );
    let rows = results(&dir.path().join("fb"));
    assert_eq!(rows[0]["mint"]["feedback_turns"], 3);

    // GT binary: the feedback model sees the hidden tests; the evaluated
    // model sees only GOOD/BAD.
    let server = FakeServer::start(model).await;
    let out = run(
        &server,
        &data,
        &dir.path().join("gt"),
        &["--k", "5", "--feedback", "gt-binary"],
    );
    assert_success(&out);
    let requests = server.requests();
    assert!(requests
        .iter()
        .any(|r| r.messages_text().contains("expert teacher") && r.body.contains(HIDDEN)));
    let h = episode(&server, "Q-H");
    assert!(h.iter().all(|t| !t.contains(HIDDEN)));
    assert!(
        h[1].contains("Expert feedback:\nThis is BAD.\n")
            || h[1].ends_with("Expert feedback:\nThis is BAD."),
        "{}",
        h[1]
    );
    assert!(
        !h[1].contains("Write the function."),
        "binary feedback keeps only the label"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_wrong_proposals_end_the_episode_before_its_steps_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let server =
        FakeServer::start(|_, _: &SeenRequest| Reply::completion("<solution>7</solution>")).await;
    let out_dir = dir.path().join("wrong");
    let out = run(&server, &data, &out_dir, &["--k", "5", "--sets", "gsm8k"]);
    assert_success(&out);
    assert_eq!(server.request_count(), 2);
    let rows = results(&out_dir);
    assert_eq!(rows[0]["stop"], "max_propose_steps");
    assert_eq!(rows[0]["answer"], "7");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Terminations: max_propose_steps 1."));
    let out = run(
        &server,
        &data,
        &dir.path().join("twice"),
        &["--sets", "gsm8k,gsm8k"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the set \"gsm8k\" is named twice"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_checks_drop_the_substring_quirk_and_both_verdicts_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    // "4 apples and 6" holds the reference 4 as a substring.
    let server = FakeServer::start(|_, _: &SeenRequest| {
        Reply::completion("<solution>4 apples and 6</solution>")
    })
    .await;
    let reference = dir.path().join("reference");
    let out = run(&server, &data, &reference, &["--k", "5", "--sets", "gsm8k"]);
    assert_success(&out);
    let rows = results(&reference);
    assert_eq!(rows[0]["passed"], true, "the reference's substring rule");
    assert_eq!(
        rows[0]["mint"]["other_check"], false,
        "hone's check says no"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("disagrees on 1 episode(s)"), "{stdout}");
    let strict = dir.path().join("strict");
    let out = run(
        &server,
        &data,
        &strict,
        &["--k", "5", "--sets", "gsm8k", "--strict-checks"],
    );
    assert_success(&out);
    let rows = results(&strict);
    assert_eq!(rows[0]["passed"], false);
    assert_eq!(rows[0]["stop"], "max_propose_steps");
    assert_eq!(rows[0]["mint"]["other_check"], true);
}
