//! The embedded local model: loading, `hone model`, `hone serve`.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use hone_core::config::{resolve_local_model, ConfigFile, ModelChoice, ModelOverrides};
use hone_local::provision;

use crate::cli::{Global, ModelCommand, ServeArgs};

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
    // serve exposes the local model only: it never forwards to an endpoint,
    // whatever OPENAI_BASE_URL or [model] base_url say (a request would
    // otherwise carry the operator's API key to that endpoint on behalf of
    // anyone who can reach the server).
    if global.base_url.is_some() {
        bail!("hone serve serves the local model only; --base-url is for clients (pass --model NAME or --model-path F.gguf)");
    }
    let options = hone_local::serve::ServeOptions {
        model_id: args.model_id.clone(),
        api_key: args.api_key.clone(),
        max_n: args.max_n,
        max_tokens: args.max_tokens,
        max_queued: args.max_queued,
        ..Default::default()
    };
    // Before the (slow) model load.
    hone_local::serve::check_options(args.addr, &options)?;
    let env = |k: &str| std::env::var(k).ok();
    if env("OPENAI_BASE_URL").is_some_and(|v| !v.trim().is_empty())
        || config.model.base_url.is_some()
    {
        eprintln!(
            "note: hone serve ignores OPENAI_BASE_URL and [model] base_url; it serves the local model"
        );
    }
    let overrides = ModelOverrides {
        model: global.model.clone(),
        model_path: global.model_path.clone(),
        ..Default::default()
    };
    let choice = resolve_local_model(&overrides, env, config);
    let ModelChoice::Local { path, model } = &choice else {
        bail!("hone serve resolved an endpoint instead of the local model");
    };
    // No response cache here: a server must sample afresh for repeated
    // requests at non-zero temperature.
    eprintln!("loading local model: {choice}");
    let model = hone::model::load_local(
        path.as_deref(),
        model.as_deref(),
        &hone::model::LocalSettings {
            threads: global.threads,
            slots: Some(usize::from(args.parallel)),
            unconstrained_output: global.no_output_grammar,
        },
    )?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("listening on {}", args.addr))?;
    let addr = listener
        .local_addr()
        .with_context(|| format!("listening on {}", args.addr))?;
    eprintln!(
        "serving {choice} at http://{addr}/v1 (chat completions, plain and streaming; {}); Ctrl-C stops",
        if options.api_key.is_some() {
            "bearer key required"
        } else {
            "no key, loopback only"
        }
    );
    hone_local::serve::serve_with(model, listener, options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
