//! [`Model`]: the language model a pipeline runs on, chosen the way `hone`
//! chooses it — from settings, the environment and `hone.toml`, else the
//! embedded local model — and wrapped in the response cache.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hone::prelude::*;
//!
//! // OPENAI_BASE_URL + HONE_MODEL (+ OPENAI_API_KEY) pick an endpoint;
//! // with neither set, the embedded model is loaded (`hone model fetch`).
//! let model = Model::from_env()?;
//! println!("using {}", model.descriptor());
//! # Ok(()) }
//! ```
//!
//! Resolution order, per setting: [`ModelSettings`] (what a program or the
//! CLI's flags say), then the environment, then the config file. A
//! `hone.toml` found in the working directory is *untrusted*: it may not
//! send `OPENAI_API_KEY` to a host of its choosing (see
//! [`hone_core::config`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hone_core::cache::{CacheStore, CachedModel};
pub use hone_core::config::ModelOverrides;
use hone_core::config::{cache_dir, resolve_model, ConfigError, ConfigFile, ModelChoice};
use hone_core::openai::{OpenAiConfig, OpenAiModel, RetryPolicy};
use hone_core::{
    ChatRequest, ChatResponse, ChatStream, LanguageModel, ModelDescriptor, ModelError,
};

/// Why a model could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ModelSetupError {
    /// The config file could not be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The endpoint settings are unusable (no model name, a bad URL…).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The response cache directory could not be opened.
    #[error(transparent)]
    Cache(#[from] hone_core::cache::CacheError),
    /// No endpoint is configured and this build has no embedded model.
    #[error(
        "no model endpoint is configured and this build has no local model backend: \
         set OPENAI_BASE_URL and HONE_MODEL (or pass --base-url URL --model NAME)"
    )]
    NoLocalBackend,
    /// The embedded model is not downloaded.
    #[error(
        "the local model {0} is not downloaded: run `hone model fetch {0}` \
         (or set OPENAI_BASE_URL and HONE_MODEL to use an endpoint)"
    )]
    NotDownloaded(String),
    /// The embedded model's name is unknown.
    #[cfg(feature = "local")]
    #[error(transparent)]
    Provision(#[from] hone_local::provision::ProvisionError),
    /// The embedded model could not be loaded.
    #[cfg(feature = "local")]
    #[error("loading {path}: {source}")]
    Load {
        /// The GGUF file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: hone_local::LocalError,
    },
}

/// Where responses are cached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CacheSetting {
    /// The config file's `[cache]`, else `<cache dir>/responses`.
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No response cache.
    Off,
}

/// How to choose and wrap the model. [`Model::from_env`] is
/// `ModelSettings::default().build()`.
#[derive(Debug, Clone, Default)]
pub struct ModelSettings {
    /// Explicit choices (the CLI's `--base-url`, `--model`, …); they win
    /// over the environment and the config file.
    pub overrides: ModelOverrides,
    /// The config file; `None` reads `./hone.toml` (untrusted) when present.
    pub config: Option<ConfigFile>,
    /// Response cache.
    pub cache: CacheSetting,
    /// Threads of the embedded model (`None`: its default).
    pub threads: Option<usize>,
    /// Let the embedded model write JSON-schema and tool-call outputs
    /// freely instead of holding them to a grammar (see
    /// `hone_local::LocalOptions::constrained_output`).
    pub unconstrained_output: bool,
}

impl ModelSettings {
    /// Uses this config file.
    pub fn with_config(mut self, config: ConfigFile) -> Self {
        self.config = Some(config);
        self
    }

    /// Turns the response cache off, or points it at a directory.
    pub fn with_cache(mut self, cache: CacheSetting) -> Self {
        self.cache = cache;
        self
    }

    /// An OpenAI-compatible endpoint and model name.
    pub fn with_endpoint(mut self, base_url: impl Into<String>, model: impl Into<String>) -> Self {
        self.overrides.base_url = Some(base_url.into());
        self.overrides.model = Some(model.into());
        self
    }

    /// Per-attempt request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.overrides.timeout = Some(timeout);
        self
    }

    /// Threads of the embedded model.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The config file these settings read.
    pub fn config_file(&self) -> Result<ConfigFile, ModelSetupError> {
        match &self.config {
            Some(file) => Ok(file.clone()),
            None => working_dir_config(),
        }
    }

    /// Which backend these settings select, without loading it.
    pub fn choose(&self) -> Result<ModelChoice, ModelSetupError> {
        let config = self.config_file()?;
        Ok(resolve_model(
            &self.overrides,
            |k| std::env::var(k).ok(),
            &config,
        )?)
    }

    /// The response cache directory these settings select, if any.
    pub fn cache_dir(&self) -> Result<Option<PathBuf>, ModelSetupError> {
        Ok(match &self.cache {
            CacheSetting::Off => None,
            CacheSetting::Dir(dir) => Some(dir.clone()),
            CacheSetting::Default => {
                let config = self.config_file()?;
                if config.cache.enabled == Some(false) {
                    None
                } else {
                    Some(
                        config
                            .cache
                            .dir
                            .clone()
                            .unwrap_or_else(|| cache_dir().join("responses")),
                    )
                }
            }
        })
    }

    /// Chooses, loads and wraps the model.
    pub fn build(&self) -> Result<Model, ModelSetupError> {
        let uncached = self.build_uncached()?;
        match self.cache_dir()? {
            Some(dir) => uncached.with_cache_dir(&dir),
            None => Ok(uncached),
        }
    }

    /// Chooses and loads the model, without the response cache.
    pub fn build_uncached(&self) -> Result<Model, ModelSetupError> {
        let choice = self.choose()?;
        let local = LocalSettings {
            threads: self.threads,
            slots: None,
            unconstrained_output: self.unconstrained_output,
        };
        let inner = connect(&choice, &local)?;
        Ok(Model {
            inner,
            choice: Some(choice),
        })
    }
}

/// `./hone.toml` when present (untrusted: a checkout can ship one), else
/// the empty config.
fn working_dir_config() -> Result<ConfigFile, ModelSetupError> {
    let local = Path::new("hone.toml");
    if local.is_file() {
        return Ok(ConfigFile::load(local)?.untrusted());
    }
    Ok(ConfigFile::default())
}

/// Builds the backend `choice` names.
fn connect(
    choice: &ModelChoice,
    local: &LocalSettings,
) -> Result<Arc<dyn LanguageModel>, ModelSetupError> {
    match choice {
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
                return Err(ModelError::Config(format!(
                    "no model name for {base_url}: set HONE_MODEL (or --model NAME)"
                ))
                .into());
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
            Ok(Arc::new(OpenAiModel::new(cfg)?))
        }
        #[cfg(feature = "local")]
        ModelChoice::Local { path, model } => load_local(path.as_deref(), model.as_deref(), local),
        #[cfg(not(feature = "local"))]
        ModelChoice::Local { .. } => {
            let _ = local;
            Err(ModelSetupError::NoLocalBackend)
        }
    }
}

/// Requests the embedded model decodes together unless told otherwise; the
/// KV cache holds this many contexts (about 100 MB each for the default
/// model).
pub const DEFAULT_LOCAL_SLOTS: usize = 4;

/// How the embedded model runs; `None` and `false` are its defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalSettings {
    /// CPU threads (`None`: every core).
    pub threads: Option<usize>,
    /// Requests decoded together (`None`: [`DEFAULT_LOCAL_SLOTS`]).
    pub slots: Option<usize>,
    /// Do not hold JSON-schema and tool-call outputs to a grammar.
    pub unconstrained_output: bool,
}

/// Loads a GGUF file, or a known model from the cache by name (default: the
/// default model), run as `settings` say.
#[cfg(feature = "local")]
pub fn load_local(
    path: Option<&Path>,
    name: Option<&str>,
    settings: &LocalSettings,
) -> Result<Arc<dyn LanguageModel>, ModelSetupError> {
    use hone_local::{provision, LocalModel, LocalOptions};
    let file = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let spec = provision::resolve(name)?;
            let cache = hone_local::default_cache_dir();
            provision::locate(spec, &cache)
                .ok_or_else(|| ModelSetupError::NotDownloaded(spec.name.to_string()))?
        }
    };
    tracing::info!(file = %file.display(), "loading the local model");
    let options = LocalOptions {
        threads: settings.threads.unwrap_or(0),
        // Concurrent calls (best-of-n's samples, `hone bench --jobs`,
        // `hone serve`'s clients) decode together in one batch.
        slots: settings.slots.unwrap_or(DEFAULT_LOCAL_SLOTS).max(1),
        constrained_output: !settings.unconstrained_output,
        ..LocalOptions::default()
    };
    // Loading maps and checks a file of hundreds of megabytes: keep it off
    // a multi-threaded runtime's async workers.
    let load = || LocalModel::load(&file, options);
    let model = match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(load)
        }
        _ => load(),
    }
    .map_err(|source| ModelSetupError::Load {
        path: file.clone(),
        source,
    })?;
    Ok(Arc::new(model))
}

/// A language model and how it was chosen. Cloning is cheap; it implements
/// [`LanguageModel`], so it goes wherever a model does.
#[derive(Clone)]
pub struct Model {
    inner: Arc<dyn LanguageModel>,
    choice: Option<ModelChoice>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("descriptor", &self.inner.descriptor())
            .finish()
    }
}

impl Model {
    /// The model the environment and `./hone.toml` select (else the
    /// embedded one), with the response cache: `ModelSettings::default().build()`.
    pub fn from_env() -> Result<Model, ModelSetupError> {
        ModelSettings::default().build()
    }

    /// Settings to choose a model with.
    pub fn settings() -> ModelSettings {
        ModelSettings::default()
    }

    /// Any [`LanguageModel`] (a scripted model in tests, a backend of your
    /// own), without a response cache.
    pub fn new(model: impl LanguageModel + 'static) -> Model {
        Model {
            inner: Arc::new(model),
            choice: None,
        }
    }

    /// Wraps the model in the response cache stored at `dir`.
    pub fn with_cache_dir(self, dir: &Path) -> Result<Model, ModelSetupError> {
        let store = CacheStore::open(dir)?;
        Ok(Model {
            inner: Arc::new(CachedModel::new(self.inner, store)),
            choice: self.choice,
        })
    }

    /// Which backend the settings chose, and from where (never shows a
    /// key); `None` for a model given to [`Model::new`].
    pub fn choice(&self) -> Option<&ModelChoice> {
        self.choice.as_ref()
    }

    /// The model as a shared trait object.
    pub fn as_arc(&self) -> Arc<dyn LanguageModel> {
        self.inner.clone()
    }
}

#[async_trait]
impl LanguageModel for Model {
    fn descriptor(&self) -> ModelDescriptor {
        self.inner.descriptor()
    }
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.inner.chat(request).await
    }
    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ModelError> {
        self.inner.chat_stream(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone_core::{Message, ScriptedModel};

    #[test]
    fn explicit_settings_win_and_choose_an_endpoint() {
        let settings = Model::settings()
            .with_config(ConfigFile::default())
            .with_endpoint("http://127.0.0.1:9/v1", "tiny");
        match settings.choose().unwrap() {
            ModelChoice::Endpoint {
                base_url, model, ..
            } => assert_eq!(
                (base_url.as_str(), model.as_str()),
                ("http://127.0.0.1:9/v1", "tiny")
            ),
            other => panic!("expected the endpoint, got {other}"),
        }
        // Connecting makes no request: building an endpoint model is offline.
        let model = settings.with_cache(CacheSetting::Off).build().unwrap();
        assert!(model.choice().is_some());
        assert_eq!(model.descriptor().model, "tiny");
    }

    #[test]
    fn an_endpoint_without_a_model_name_is_a_clear_error() {
        let err = Model::settings()
            .with_config(ConfigFile::default())
            .with_endpoint("http://127.0.0.1:9/v1", "")
            .build_uncached()
            .unwrap_err();
        assert!(err.to_string().contains("no model name"), "{err}");
    }

    #[test]
    fn the_cache_setting_is_honoured() {
        let dir = tempfile::tempdir().unwrap();
        let off = Model::settings()
            .with_config(ConfigFile::default())
            .with_cache(CacheSetting::Off);
        assert_eq!(off.cache_dir().unwrap(), None);
        let here = off
            .clone()
            .with_cache(CacheSetting::Dir(dir.path().to_path_buf()));
        assert_eq!(here.cache_dir().unwrap().as_deref(), Some(dir.path()));
        let disabled = ConfigFile::parse("[cache]\nenabled = false\n", "t.toml".as_ref()).unwrap();
        let by_file = Model::settings().with_config(disabled);
        assert_eq!(by_file.cache_dir().unwrap(), None);
    }

    #[tokio::test]
    async fn any_model_can_be_wrapped_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let model = Model::new(ScriptedModel::in_order(["first"]))
            .with_cache_dir(dir.path())
            .unwrap();
        assert!(model.choice().is_none());
        let request = ChatRequest::new(vec![Message::user("hi")]);
        assert_eq!(model.chat(&request).await.unwrap().first_text(), "first");
        // The script is spent: the second answer can only come from the cache.
        let again = model.chat(&request).await.unwrap();
        assert!(again.from_cache);
        assert_eq!(again.first_text(), "first");
    }
}
