//! The embedded local model: loading, `hone model`, `hone serve`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use hone_core::config::ConfigFile;
use hone_core::LanguageModel;
use hone_local::provision;
use hone_local::{LocalModel, LocalOptions};

use crate::cli::{Global, ModelCommand, ServeArgs};

/// Loads a GGUF file, or a known model from the cache by name (default: the
/// default model).
pub fn load(
    path: Option<&Path>,
    name: Option<&str>,
    threads: Option<usize>,
) -> Result<Arc<dyn LanguageModel>> {
    let file = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let spec = provision::resolve(name)?;
            let cache = hone_local::default_cache_dir();
            provision::locate(spec, &cache).with_context(|| {
                format!(
                    "the local model {} is not downloaded: run `hone model fetch {}` \
                     (or pass --base-url/--model to use an endpoint)",
                    spec.name, spec.name
                )
            })?
        }
    };
    eprintln!("loading local model {}", file.display());
    // Loading maps and checks a file of hundreds of megabytes: keep it off
    // the async workers' hot path.
    let options = LocalOptions {
        threads: threads.unwrap_or(0),
        ..LocalOptions::default()
    };
    let model = tokio::task::block_in_place(|| LocalModel::load(&file, options))
        .with_context(|| format!("loading {}", file.display()))?;
    Ok(Arc::new(model))
}

pub fn model_command(cmd: ModelCommand) -> Result<ExitCode> {
    let cache = hone_local::default_cache_dir();
    match cmd {
        ModelCommand::Fetch { name } => {
            let spec = provision::resolve(name.as_deref())?;
            let path = provision::fetch(spec, &cache, &|line| eprintln!("{line}"))?;
            println!("{}", path.display());
        }
        ModelCommand::List => {
            for spec in provision::KNOWN_MODELS {
                let state = match provision::locate(spec, &cache) {
                    Some(p) => format!("downloaded: {}", p.display()),
                    None => "not downloaded".to_string(),
                };
                let default = if spec.name == provision::default_model_spec().name {
                    " (default)"
                } else {
                    ""
                };
                println!("{:<22} {}{default}", spec.name, state);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(global: &Global, config: &ConfigFile, args: &ServeArgs) -> Result<ExitCode> {
    // No response cache here: a server must sample afresh for repeated
    // requests at non-zero temperature.
    let (model, choice) = crate::models::build_uncached(global, config)?;
    eprintln!(
        "serving {choice} at http://{}/v1 (chat completions, plain and streaming); Ctrl-C stops",
        args.addr
    );
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let options = hone_local::serve::ServeOptions {
        model_id: args.model_id.clone(),
        ..Default::default()
    };
    hone_local::serve::serve_with(model, listener, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
