//! Downloads a pinned model into the cache directory without the `hone` CLI:
//! `cargo run -p hone-local --example fetch -- [NAME]` (default: the default
//! model; `all` for every known model).

use std::process::ExitCode;

use hone_local::provision::{fetch, resolve, KNOWN_MODELS};

fn main() -> ExitCode {
    let name = std::env::args().nth(1);
    let specs = match name.as_deref() {
        Some("all") => KNOWN_MODELS.iter().collect(),
        other => match resolve(other) {
            Ok(spec) => vec![spec],
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let cache = hone_local::default_cache_dir();
    for spec in specs {
        match fetch(spec, &cache, &|msg| eprintln!("{msg}")) {
            Ok(path) => println!("{}", path.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
