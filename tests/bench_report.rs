//! `hone bench report --html` as a person sees it: two runs against a
//! loopback endpoint, the report loaded in headless Chromium (Debian's
//! `chromium`, installed by scripts/test.sh), which must log no console
//! error, and a screenshot in which the charts' points are drawn.

use std::path::Path;
use std::process::Command;

use hone_test_support::{hone_against, FakeServer, Reply, SeenRequest};

fn write_suite(dir: &Path) -> std::path::PathBuf {
    let mut text = String::new();
    for k in 0..6 {
        let line = serde_json::json!({
            "id": format!("q{k}"),
            "question": format!("What is {k} + {k}?"),
            "reference": format!("{}", 2 * k),
        });
        text.push_str(&format!("{line}\n"));
    }
    let path = dir.join("sums.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// Right for even k at the first answer; a refiner's second answer is right.
fn model(_: usize, r: &SeenRequest) -> Reply {
    let text = r.messages_text();
    let k: u32 = text
        .split("What is ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let turn = r.last_message_text();
    let answer = if turn.contains("careful reviewer") {
        "The sum is wrong.\nVERDICT: INCORRECT".to_string()
    } else if k % 2 == 0 || turn.contains("was reviewed") {
        format!("{k} + {k} = {}.\nFINAL ANSWER: {}", 2 * k, 2 * k)
    } else {
        format!("{k} + {k} = {}.\nFINAL ANSWER: {}", 2 * k + 1, 2 * k + 1)
    };
    Reply::completion(&answer)
}

fn hone(server: &FakeServer) -> Command {
    let mut cmd = hone_against(env!("CARGO_BIN_EXE_hone"), &server.base_url());
    cmd.arg("--no-cache");
    cmd
}

/// Pixels of the screenshot within `tolerance` of `colour`.
fn count_colour(png_path: &Path, colour: [u8; 3], tolerance: i32) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|p| (0..3).all(|i| (p[i] as i32 - colour[i] as i32).abs() <= tolerance))
        .count()
}

fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("headless Chromium is needed (scripts/test.sh installs Debian's chromium)")
}

/// Loads `html` in headless Chromium: the screenshot's path, after
/// asserting that the page logged nothing to the console.
fn screenshot(html: &Path, dir: &Path) -> std::path::PathBuf {
    let shot = dir.join("shot.png");
    let run = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .env("HOME", dir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(shot.is_file(), "no screenshot: {log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    shot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_renders_in_chromium_with_its_charts() {
    chromium();
    let dir = tempfile::tempdir().unwrap();
    let suite = write_suite(dir.path());
    let server = FakeServer::start(model).await;
    for (out, strategy) in [
        ("single-shot", "single-shot"),
        ("self-refine", "self-refine"),
    ] {
        let status = hone(&server)
            .args(["bench", "run"])
            .arg(&suite)
            .arg("--out")
            .arg(dir.path().join(out))
            .args(["--strategy", strategy, "--max-rounds", "2"])
            .output()
            .unwrap();
        hone_test_support::assert_success(&status);
    }
    let html = dir.path().join("report.html");
    let out = hone(&server)
        .args(["bench", "report"])
        .arg(dir.path().join("single-shot"))
        .arg(dir.path().join("self-refine"))
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    hone_test_support::assert_success(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("50.0% (3/6)") && table.contains("100.0% (6/6)"),
        "{table}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("FINAL ANSWER: 3"),
        "trajectories are embedded"
    );

    let shot = screenshot(&html, dir.path());
    // The first two runs' colours: their points and error bars.
    let blue = count_colour(&shot, [31, 119, 180], 8);
    let orange = count_colour(&shot, [255, 127, 14], 8);
    assert!(
        blue > 200 && orange > 200,
        "chart points not drawn: {blue} blue, {orange} orange pixels"
    );
}

/// Four RealCritic items, one per transition: the critique is right for
/// even k, and the critiqued solution was right for k < 2.
fn critic_model(_: usize, r: &SeenRequest) -> Reply {
    let text = r.messages_text();
    let k: u32 = text
        .split("Q-")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let answer = if k % 2 == 0 { 10 + k } else { 99 };
    Reply::completion(&format!(
        "Conclusion: incorrect, first wrong step: 1\n===CORRECTION_START===\n\\boxed{{{answer}}}\n===CORRECTION_END==="
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_realcritic_report_renders_its_transitions_as_stacked_bars() {
    chromium();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gsm8k.jsonl");
    let lines: String = (0..4)
        .map(|k| {
            format!(
                "{}\n",
                serde_json::json!({"idx": k, "question": format!("Q-{k}: what is 10 + {k}?"),
                                   "gt_cot": "None", "gt": format!("{}", 10 + k),
                                   "reasoning": "Step 1: add.", "previous_score": [k < 2]})
            )
        })
        .collect();
    std::fs::write(&data, lines).unwrap();
    let server = FakeServer::start(critic_model).await;
    let out_dir = dir.path().join("rc-cross");
    let run = hone(&server)
        .args(["bench", "run", "realcritic", "--mode", "cross", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    hone_test_support::assert_success(&run);
    let html = dir.path().join("rc.html");
    let out = hone(&server)
        .args(["bench", "report"])
        .arg(&out_dir)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    hone_test_support::assert_success(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| gsm8k | 1 | 1 | 1 | 1 |"), "{table}");
    let shot = screenshot(&html, dir.path());
    // A quarter of the bar in each transition's colour.
    for (name, colour) in [
        ("C→C", [44, 160, 44]),
        ("C→I", [214, 39, 40]),
        ("I→C", [31, 119, 180]),
        ("I→I", [170, 170, 170]),
    ] {
        let pixels = count_colour(&shot, colour, 8);
        assert!(
            pixels > 1000,
            "the {name} segment is not drawn: {pixels} pixels"
        );
    }
}
