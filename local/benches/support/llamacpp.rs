//! llama.cpp's own tools as anchors: `llama-bench` (single-stream prompt
//! and generation) and `llama-batched-bench` (aggregate generation with 8
//! sequences), run on the same model file and threads as hone's figures.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The anchors; NaN where a tool could not be built or run (the reason is
/// printed).
pub struct Anchors {
    pub prompt_tok_s: f64,
    pub gen_tok_s: f64,
    pub batch8_gen_tok_s: f64,
}

impl Anchors {
    fn missing() -> Self {
        Anchors {
            prompt_tok_s: f64::NAN,
            gen_tok_s: f64::NAN,
            batch8_gen_tok_s: f64::NAN,
        }
    }
}

/// Builds the tools (cached) and runs them.
pub fn anchors(model: &Path, threads: usize) -> Anchors {
    let bin = match build() {
        Ok(bin) => bin,
        Err(e) => {
            eprintln!("llama.cpp anchors skipped: {e}");
            return Anchors::missing();
        }
    };
    let mut anchors = Anchors::missing();
    match llama_bench(&bin, model, threads) {
        Ok((pp, tg)) => {
            anchors.prompt_tok_s = pp;
            anchors.gen_tok_s = tg;
        }
        Err(e) => eprintln!("llama-bench failed: {e}"),
    }
    match batched_bench(&bin, model, threads) {
        Ok(tg) => anchors.batch8_gen_tok_s = tg,
        Err(e) => eprintln!("llama-batched-bench failed: {e}"),
    }
    anchors
}

/// Builds the tools (cached) with `scripts/llamacpp-tools.sh`; their
/// directory.
pub fn build() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/llamacpp-tools.sh");
    eprintln!("building llama.cpp's tools (cached after the first time)");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        return Err(format!("{} failed: {}", script.display(), tail.join(" | ")));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| "the build script printed no directory".to_string())
}

fn run(bin: &Path, tool: &str, args: &[String]) -> Result<String, String> {
    let out = Command::new(bin.join(tool))
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `llama-bench -p 512 -n 128 -r 3`: (prompt tok/s, generation tok/s).
fn llama_bench(bin: &Path, model: &Path, threads: usize) -> Result<(f64, f64), String> {
    let args = [
        "-m",
        &model.display().to_string(),
        "-t",
        &threads.to_string(),
        "-p",
        "512",
        "-n",
        "128",
        "-r",
        "3",
        "-o",
        "json",
    ]
    .map(String::from);
    let out = run(bin, "llama-bench", &args)?;
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&out).map_err(|e| format!("llama-bench output: {e}"))?;
    let mut pp = f64::NAN;
    let mut tg = f64::NAN;
    for row in &rows {
        let ts = row["avg_ts"].as_f64().unwrap_or(f64::NAN);
        if row["n_gen"].as_u64() == Some(0) {
            pp = ts;
        } else if row["n_prompt"].as_u64() == Some(0) {
            tg = ts;
        }
        eprintln!(
            "llama-bench (llama.cpp {} build {}): n_prompt {} n_gen {}: {ts:.1} tok/s",
            row["build_commit"].as_str().unwrap_or("?"),
            row["build_number"],
            row["n_prompt"],
            row["n_gen"]
        );
    }
    Ok((pp, tg))
}

/// `llama-batched-bench -npp 256 -ntg 128 -npl 1,8`: aggregate generation
/// tok/s (`S_TG`) with 8 sequences.
fn batched_bench(bin: &Path, model: &Path, threads: usize) -> Result<f64, String> {
    let args = [
        "-m",
        &model.display().to_string(),
        "-t",
        &threads.to_string(),
        "-c",
        "8192",
        "-b",
        "2048",
        "-ub",
        "512",
        "-npp",
        "256",
        "-ntg",
        "128",
        "-npl",
        "1,8",
        "--output-format",
        "jsonl",
    ]
    .map(String::from);
    let out = run(bin, "llama-batched-bench", &args)?;
    let mut batch8 = f64::NAN;
    for line in out.lines().filter(|l| l.starts_with('{')) {
        let row: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("llama-batched-bench output: {e}"))?;
        let speed = row["speed_tg"].as_f64().unwrap_or(f64::NAN);
        eprintln!(
            "llama-batched-bench: {} sequence(s): S_TG {speed:.1} tok/s",
            row["pl"]
        );
        if row["pl"].as_u64() == Some(8) {
            batch8 = speed;
        }
    }
    Ok(batch8)
}
