//! Building the model from flags, environment and config; `hone models`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hone::model::{CacheSetting, ModelOverrides, ModelSettings};
use hone_core::config::{ConfigFile, ModelChoice};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message};

use crate::cli::{Global, ModelsArgs};

/// The library's model settings that the flags and config select.
pub fn settings(global: &Global, config: &ConfigFile) -> Result<ModelSettings> {
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
    let cache = if global.no_cache || config.cache.enabled == Some(false) {
        CacheSetting::Off
    } else if let Some(dir) = &global.cache_dir {
        CacheSetting::Dir(dir.clone())
    } else {
        CacheSetting::Default
    };
    Ok(ModelSettings {
        overrides,
        config: Some(config.clone()),
        cache,
        threads: global.threads,
        unconstrained_output: global.no_output_grammar,
    })
}

/// Resolves which backend to use.
pub fn choose(global: &Global, config: &ConfigFile) -> Result<ModelChoice> {
    Ok(settings(global, config)?.choose()?)
}

/// The response cache directory that flags and config select, or `None`
/// when the cache is off.
pub fn cache_setting(global: &Global, config: &ConfigFile) -> Result<Option<PathBuf>> {
    Ok(settings(global, config)?.cache_dir()?)
}

/// A second model beside the one `global` names (a feedback model, a
/// judge): `name` and `base_url` replace the global flags where given, the
/// rest (key, cache, local settings) is shared.
pub fn build_other(
    global: &Global,
    config: &ConfigFile,
    name: Option<&str>,
    base_url: Option<&str>,
) -> Result<Arc<dyn LanguageModel>> {
    let mut other = global.clone();
    if let Some(name) = name {
        other.model = Some(name.to_string());
    }
    if let Some(url) = base_url {
        other.base_url = Some(url.to_string());
    }
    Ok(build(&other, config)?.0)
}

/// The model to use, wrapped in the response cache unless disabled.
pub fn build(
    global: &Global,
    config: &ConfigFile,
) -> Result<(Arc<dyn LanguageModel>, ModelChoice)> {
    build_with_cache(global, config, cache_setting(global, config)?.as_deref())
}

/// The model to use, wrapped in the response cache at `cache` (none: no cache).
pub fn build_with_cache(
    global: &Global,
    config: &ConfigFile,
    cache: Option<&Path>,
) -> Result<(Arc<dyn LanguageModel>, ModelChoice)> {
    let settings = settings(global, config)?;
    let choice = settings.choose()?;
    if matches!(choice, ModelChoice::Local { .. }) {
        // Loading takes seconds: say what is happening.
        eprintln!("loading local model: {choice}");
    }
    let mut model = settings.build_uncached()?;
    if let Some(dir) = cache {
        model = model
            .with_cache_dir(dir)
            .with_context(|| format!("opening the response cache at {}", dir.display()))?;
    }
    Ok((model.as_arc(), choice))
}

/// The prompt templates, with `--templates DIR` applied.
pub fn templates(global: &Global) -> Result<Arc<Templates>> {
    templates_from(global.templates.as_deref())
}

/// The prompt templates, with an override directory applied.
pub fn templates_from(dir: Option<&Path>) -> Result<Arc<Templates>> {
    let t = hone::agents::templates::embedded();
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
