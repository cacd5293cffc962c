//! Building the model from flags, environment and config; `hone models`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hone_core::cache::{CacheStore, CachedModel};
use hone_core::config::{cache_dir, resolve_model, ConfigFile, ModelChoice, ModelOverrides};
use hone_core::openai::{OpenAiConfig, OpenAiModel, RetryPolicy};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};

use crate::cli::{Global, ModelsArgs};

/// Resolves which backend to use.
pub fn choose(global: &Global, config: &ConfigFile) -> Result<ModelChoice> {
    let timeout = match global.timeout {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => bail!("--timeout must be a positive number of seconds, got {s}"),
        None => None,
    };
    let overrides = ModelOverrides {
        base_url: global.base_url.clone(),
        model: global.model.clone(),
        api_key: None,
        model_path: global.model_path.clone(),
        timeout,
    };
    Ok(resolve_model(
        &overrides,
        |k| std::env::var(k).ok(),
        config,
    )?)
}

/// The response cache directory that flags and config select, or `None`
/// when the cache is off.
pub fn cache_setting(global: &Global, config: &ConfigFile) -> Option<PathBuf> {
    let cache_enabled = !global.no_cache && config.cache.enabled.unwrap_or(true);
    if !cache_enabled {
        return None;
    }
    Some(
        global
            .cache_dir
            .clone()
            .or_else(|| config.cache.dir.clone())
            .unwrap_or_else(|| cache_dir().join("responses")),
    )
}

/// The model to use, wrapped in the response cache unless disabled.
pub fn build(
    global: &Global,
    config: &ConfigFile,
) -> Result<(Arc<dyn LanguageModel>, ModelChoice)> {
    build_with_cache(global, config, cache_setting(global, config).as_deref())
}

/// The model to use, wrapped in the response cache at `cache` (none: no cache).
pub fn build_with_cache(
    global: &Global,
    config: &ConfigFile,
    cache: Option<&Path>,
) -> Result<(Arc<dyn LanguageModel>, ModelChoice)> {
    let (model, choice) = build_uncached(global, config)?;
    let Some(dir) = cache else {
        return Ok((model, choice));
    };
    let store = CacheStore::open(dir)
        .with_context(|| format!("opening the response cache at {}", dir.display()))?;
    Ok((Arc::new(CachedModel::new(model, store)), choice))
}

/// The model to use, without the response cache.
pub fn build_uncached(
    global: &Global,
    config: &ConfigFile,
) -> Result<(Arc<dyn LanguageModel>, ModelChoice)> {
    let choice = choose(global, config)?;
    let model: Arc<dyn LanguageModel> = match &choice {
        ModelChoice::Endpoint {
            base_url,
            model,
            api_key,
            timeout,
            max_retries,
            concurrency,
            stream,
            ..
        } => {
            if model.is_empty() {
                bail!("no model name for {base_url}: pass --model NAME or set HONE_MODEL");
            }
            let mut cfg = OpenAiConfig::new(base_url.clone(), model.clone())
                .with_timeout(*timeout)
                .with_retry(RetryPolicy {
                    max_retries: *max_retries,
                    ..RetryPolicy::default()
                })
                .with_max_concurrency(*concurrency);
            cfg.stream = *stream;
            if let Some(key) = api_key {
                cfg = cfg.with_api_key(key.clone());
            }
            Arc::new(OpenAiModel::new(cfg)?)
        }
        #[cfg(feature = "local")]
        ModelChoice::Local { path, model } => {
            crate::local::load(path.as_deref(), model.as_deref(), global.threads)?
        }
        #[cfg(not(feature = "local"))]
        ModelChoice::Local { .. } => bail!(
            "no model endpoint is configured and this build has no local model backend: \
             pass --base-url URL --model NAME, or set OPENAI_BASE_URL and HONE_MODEL"
        ),
    };
    Ok((model, choice))
}

/// The prompt templates, with `--templates DIR` applied.
pub fn templates(global: &Global) -> Result<Arc<Templates>> {
    templates_from(global.templates.as_deref())
}

/// The prompt templates, with an override directory applied.
pub fn templates_from(dir: Option<&Path>) -> Result<Arc<Templates>> {
    let t = Templates::embedded();
    let t = match dir {
        Some(dir) => t.with_override_dir(dir)?,
        None => t,
    };
    Ok(Arc::new(t))
}

pub async fn run(global: &Global, config: &ConfigFile, args: &ModelsArgs) -> Result<ExitCode> {
    let choice = choose(global, config)?;
    println!("backend: {choice}");
    if let Some(path) = config.path() {
        println!("config:  {}", path.display());
    }
    if args.no_ping {
        return Ok(ExitCode::SUCCESS);
    }
    let (model, _) = match build(global, config) {
        Ok(m) => m,
        Err(e) => {
            println!("status:  unusable: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let prompt = templates(global)?.render("ping.j2", serde_json::json!({}))?;
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_temperature(0.0)
        .with_max_tokens(8);
    let started = Instant::now();
    match model.chat(&request).await {
        Ok(r) => {
            println!("model:   {}", model.descriptor());
            println!(
                "status:  answers ({} ms{}): {:?}",
                started.elapsed().as_millis(),
                if r.from_cache { ", from cache" } else { "" },
                r.first_text().trim()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("status:  does not answer: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
