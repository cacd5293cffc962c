//! `hone`: critique-and-refine agents from the command line.

mod bench;
mod bench_review;
mod cli;
mod judge;
#[cfg(feature = "local")]
mod local;
mod mint;
mod models;
mod realcritic;
mod review;
mod runs;
mod solve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    // Log lines to stderr; spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT
    // is set. The guard flushes the last spans when main returns.
    let _telemetry = match hone::telemetry::Telemetry::init() {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("warning: no span export: {e}");
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    hone::telemetry::DEFAULT_LOG_FILTER,
                ))
                .with_writer(std::io::stderr)
                .try_init();
            hone::telemetry::Telemetry::default()
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::dispatch(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
