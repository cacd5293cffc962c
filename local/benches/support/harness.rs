//! The `main` of a benchmark here: run only under `cargo bench` (which
//! passes `--bench`; `cargo test --all-targets` builds and starts every
//! bench target, and these take minutes), on a runtime with one worker, and
//! print the `RESULT …` line the run returns as the last line of stdout.

use std::future::Future;
use std::process::ExitCode;

pub fn main<F>(name: &str, run: F) -> ExitCode
where
    F: Future<Output = Result<String, Box<dyn std::error::Error>>>,
{
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("{name}: run with `cargo bench -p hone-local --bench {name}`");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
