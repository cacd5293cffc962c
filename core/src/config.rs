//! Settings: a TOML config file, environment variables and explicit values,
//! resolved in that order of increasing precedence.
//!
//! ```toml
//! [model]
//! base_url = "http://127.0.0.1:8000/v1"   # or env OPENAI_BASE_URL
//! model = "qwen2.5-coder"                 # or env HONE_MODEL
//! api_key_env = "MY_PROVIDER_KEY"         # read the key from this variable
//! timeout_secs = 120
//! max_retries = 4
//! concurrency = 16
//! stream = false
//!
//! [cache]
//! dir = "/var/cache/hone/responses"
//! enabled = true
//!
//! [runs]
//! dir = ".hone/runs"
//! ```
//!
//! A file the CLI merely finds in the working directory (`./hone.toml`, as
//! shipped by any checkout) is *untrusted* ([`ConfigFile::untrusted`]): it
//! may not send a key it did not itself contain (`OPENAI_API_KEY`, a flag,
//! or a variable it names with `api_key_env`) to an endpoint it chose, and
//! it may not pick which variable's secret is sent. [`resolve_model`]
//! refuses such a choice with [`ConfigError::Untrusted`] unless the user
//! vouches for the file (`--config`/`HONE_CONFIG`, or `--trust-config`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secret::ApiKey;

/// A config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown or mistyped field.
    #[error("config file {path}, line {line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong (names the field).
        message: String,
    },
    /// An untrusted config file (found in the working directory) would send
    /// a key it does not own to an endpoint it chose, or would pick which
    /// secret is sent.
    #[error("{path} is not trusted (found in the working directory, not named by you): {message}; if you trust it, pass --trust-config or name it with --config")]
    Untrusted {
        /// The file.
        path: PathBuf,
        /// What it tried to do.
        message: String,
    },
    /// A value is out of range.
    #[error("{origin}: {message}")]
    Invalid {
        /// Where the value came from (file and field, or variable).
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// `[model]` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// OpenAI-compatible base URL.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// API key in the file (prefer `api_key_env`).
    pub api_key: Option<ApiKey>,
    /// Name of the variable holding the API key.
    pub api_key_env: Option<String>,
    /// Per-attempt timeout in seconds.
    pub timeout_secs: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Concurrent requests to the endpoint.
    pub concurrency: Option<usize>,
    /// Stream responses.
    pub stream: Option<bool>,
    /// Path of a local GGUF model file (local backend).
    pub path: Option<PathBuf>,
}

/// `[cache]` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// Response cache directory.
    pub dir: Option<PathBuf>,
    /// Whether the response cache is used.
    pub enabled: Option<bool>,
}

/// `[runs]` section.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsSection {
    /// Where run logs are written.
    pub dir: Option<PathBuf>,
}

/// A parsed config file.
///
/// ```
/// let cfg = hone_core::config::ConfigFile::parse("[model]\nmodel = \"gpt-4o-mini\"\n", "inline.toml".as_ref()).unwrap();
/// assert_eq!(cfg.model.model.as_deref(), Some("gpt-4o-mini"));
/// let err = hone_core::config::ConfigFile::parse("[model]\nmodle = 1\n", "bad.toml".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("bad.toml, line 2"), "{err}");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[model]`.
    #[serde(default)]
    pub model: ModelSection,
    /// `[cache]`.
    #[serde(default)]
    pub cache: CacheSection,
    /// `[runs]`.
    #[serde(default)]
    pub runs: RunsSection,
    #[serde(skip)]
    path: Option<PathBuf>,
    #[serde(skip)]
    untrusted: bool,
}

impl ConfigFile {
    /// Parses TOML text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut cfg: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                message: e.message().to_string(),
            }
        })?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The file it came from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Marks the file as untrusted: found (in the working directory, say)
    /// rather than named by the user. An untrusted file may not direct a
    /// key it does not contain to an endpoint it chose (see
    /// [`resolve_model`]). Files are trusted unless marked.
    ///
    /// ```
    /// let cfg = hone_core::config::ConfigFile::default().untrusted();
    /// assert!(!cfg.is_trusted());
    /// ```
    pub fn untrusted(mut self) -> Self {
        self.untrusted = true;
        self
    }

    /// Whether the user vouched for this file.
    pub fn is_trusted(&self) -> bool {
        !self.untrusted
    }
}

/// Explicit values (command-line flags); they win over everything.
#[derive(Debug, Clone, Default)]
pub struct ModelOverrides {
    /// Base URL.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// API key (redacted in `Debug`).
    pub api_key: Option<ApiKey>,
    /// Local GGUF file.
    pub model_path: Option<PathBuf>,
    /// Per-attempt timeout.
    pub timeout: Option<Duration>,
}

/// Which backend to use, after resolution.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelChoice {
    /// An OpenAI-compatible endpoint.
    Endpoint {
        /// Base URL.
        base_url: String,
        /// Model name (may be empty: then the endpoint's first model is meant).
        model: String,
        /// Key, if any. Never printed (`ApiKey` redacts `Debug`).
        api_key: Option<ApiKey>,
        /// Where the base URL came from (flag, variable, file).
        origin: String,
        /// Per-attempt timeout.
        timeout: Duration,
        /// Retries.
        max_retries: u32,
        /// Concurrency limit.
        concurrency: usize,
        /// Streaming.
        stream: bool,
    },
    /// No endpoint configured: the embedded local model (optionally a given file).
    Local {
        /// A GGUF file chosen explicitly.
        path: Option<PathBuf>,
        /// A model name chosen explicitly.
        model: Option<String>,
    },
}

impl std::fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelChoice::Endpoint {
                base_url,
                model,
                origin,
                api_key,
                ..
            } => write!(
                f,
                "OpenAI-compatible endpoint {base_url} (from {origin}), model {}, {}",
                if model.is_empty() { "(unset)" } else { model },
                if api_key.is_some() {
                    "API key set"
                } else {
                    "no API key"
                }
            ),
            ModelChoice::Local { path, model } => match (path, model) {
                (Some(p), _) => write!(f, "local model file {}", p.display()),
                (None, Some(m)) => write!(f, "local model {m}"),
                (None, None) => write!(f, "local default model"),
            },
        }
    }
}

/// Resolves the model choice from overrides, then the environment
/// (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `HONE_MODEL`), then the file.
/// `env` is a variable lookup (pass `|k| std::env::var(k).ok()`).
///
/// An untrusted file ([`ConfigFile::untrusted`]) may choose an endpoint,
/// but no key it does not itself contain is sent there, and it may not name
/// the variable a key is read from: either is a [`ConfigError::Untrusted`].
///
/// ```
/// use hone_core::config::{resolve_model, ConfigFile, ModelChoice, ModelOverrides};
/// let env = |k: &str| (k == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:9/v1".to_string());
/// let choice = resolve_model(&ModelOverrides::default(), env, &ConfigFile::default()).unwrap();
/// assert!(matches!(choice, ModelChoice::Endpoint { ref base_url, .. } if base_url == "http://127.0.0.1:9/v1"));
/// let none = resolve_model(&ModelOverrides::default(), |_| None, &ConfigFile::default()).unwrap();
/// assert!(matches!(none, ModelChoice::Local { .. }));
///
/// // A checkout's hone.toml cannot send $OPENAI_API_KEY to its own host.
/// let file = ConfigFile::parse("[model]\nbase_url = \"http://evil.example/v1\"\n", "hone.toml".as_ref()).unwrap();
/// let env = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-mine".to_string());
/// assert!(resolve_model(&ModelOverrides::default(), env, &file.clone().untrusted()).is_err());
/// assert!(resolve_model(&ModelOverrides::default(), env, &file).is_ok());
/// ```
pub fn resolve_model(
    overrides: &ModelOverrides,
    env: impl Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> Result<ModelChoice, ConfigError> {
    let file_name = file
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "config".into());
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let model = nonempty(overrides.model.clone())
        .or_else(|| nonempty(env("HONE_MODEL")))
        .or_else(|| nonempty(file.model.model.clone()));
    if overrides.model_path.is_some()
        || (overrides.base_url.is_none()
            && file.model.path.is_some()
            && env("OPENAI_BASE_URL").is_none())
    {
        return Ok(ModelChoice::Local {
            path: overrides.model_path.clone().or(file.model.path.clone()),
            model,
        });
    }
    let (base_url, origin, base_from_file) = if let Some(u) = nonempty(overrides.base_url.clone()) {
        (u, "--base-url".to_string(), false)
    } else if let Some(u) = nonempty(env("OPENAI_BASE_URL")) {
        (u, "OPENAI_BASE_URL".to_string(), false)
    } else if let Some(u) = nonempty(file.model.base_url.clone()) {
        (u, format!("{file_name} [model] base_url"), true)
    } else {
        return Ok(ModelChoice::Local { path: None, model });
    };
    let (api_key, key_source) = resolve_key(overrides, &env, file);
    if !file.is_trusted() {
        let untrusted = |message: String| ConfigError::Untrusted {
            path: file.path().map(Path::to_path_buf).unwrap_or_default(),
            message,
        };
        match &key_source {
            // The file may pick the variable only when it is the one that
            // would be read anyway.
            KeySource::FileVariable(name) if name != "OPENAI_API_KEY" => {
                return Err(untrusted(format!(
                    "its [model] api_key_env would send the secret in ${name} to {base_url}"
                )));
            }
            KeySource::Flag | KeySource::FileVariable(_) | KeySource::OpenAiVariable
                if base_from_file =>
            {
                return Err(untrusted(format!(
                    "its [model] base_url would receive your API key ({}): {base_url}",
                    key_source.describe()
                )));
            }
            _ => {}
        }
    }
    let timeout = match (overrides.timeout, file.model.timeout_secs) {
        (Some(t), _) => t,
        (None, Some(s)) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        (None, Some(s)) => {
            return Err(ConfigError::Invalid {
                origin: format!("{file_name} [model] timeout_secs"),
                message: format!("must be a positive number of seconds, got {s}"),
            })
        }
        (None, None) => Duration::from_secs(120),
    };
    let concurrency = file.model.concurrency.unwrap_or(16);
    if concurrency == 0 {
        return Err(ConfigError::Invalid {
            origin: format!("{file_name} [model] concurrency"),
            message: "must be at least 1".into(),
        });
    }
    Ok(ModelChoice::Endpoint {
        base_url,
        model: model.unwrap_or_default(),
        api_key,
        origin,
        timeout,
        max_retries: file.model.max_retries.unwrap_or(4),
        concurrency,
        stream: file.model.stream.unwrap_or(false),
    })
}

/// Where a resolved key came from.
enum KeySource {
    None,
    Flag,
    /// The variable named by the file's `api_key_env`.
    FileVariable(String),
    OpenAiVariable,
    /// The file's own `api_key`.
    FileLiteral,
}

impl KeySource {
    fn describe(&self) -> String {
        match self {
            KeySource::None => "none".into(),
            KeySource::Flag => "given explicitly".into(),
            KeySource::FileVariable(name) => format!("from ${name}"),
            KeySource::OpenAiVariable => "from $OPENAI_API_KEY".into(),
            KeySource::FileLiteral => "from the file".into(),
        }
    }
}

fn resolve_key(
    overrides: &ModelOverrides,
    env: &impl Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> (Option<ApiKey>, KeySource) {
    let present = |v: Option<String>| v.filter(|s| !s.trim().is_empty()).map(ApiKey::new);
    if let Some(k) = overrides.api_key.as_ref().filter(|k| !k.is_blank()) {
        return (Some(k.clone()), KeySource::Flag);
    }
    if let Some(name) = file.model.api_key_env.as_deref() {
        if let Some(k) = present(env(name)) {
            return (Some(k), KeySource::FileVariable(name.to_string()));
        }
    }
    if let Some(k) = present(env("OPENAI_API_KEY")) {
        return (Some(k), KeySource::OpenAiVariable);
    }
    match file.model.api_key.as_ref().filter(|k| !k.is_blank()) {
        Some(k) => (Some(k.clone()), KeySource::FileLiteral),
        None => (None, KeySource::None),
    }
}

/// The local model `hone serve` runs, never an endpoint: `OPENAI_BASE_URL`
/// and `[model] base_url` are ignored (and so is `base_url` in
/// `overrides`; the CLI refuses it outright). The model file is
/// `overrides.model_path`, else `[model] path`; the model name is
/// `overrides.model`, else (only when no endpoint is configured, since the
/// name then names the endpoint's model) `HONE_MODEL` or `[model] model`.
///
/// ```
/// use hone_core::config::{resolve_local_model, ConfigFile, ModelChoice, ModelOverrides};
/// let env = |k: &str| match k {
///     "OPENAI_BASE_URL" => Some("https://api.example/v1".to_string()),
///     "HONE_MODEL" => Some("gpt-x".to_string()),
///     _ => None,
/// };
/// let choice = resolve_local_model(&ModelOverrides::default(), env, &ConfigFile::default());
/// assert_eq!(choice, ModelChoice::Local { path: None, model: None });
/// ```
pub fn resolve_local_model(
    overrides: &ModelOverrides,
    env: impl Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> ModelChoice {
    let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let endpoint_configured = nonempty(env("OPENAI_BASE_URL")).is_some()
        || nonempty(file.model.base_url.clone()).is_some();
    let model = nonempty(overrides.model.clone()).or_else(|| {
        if endpoint_configured {
            None
        } else {
            nonempty(env("HONE_MODEL")).or_else(|| nonempty(file.model.model.clone()))
        }
    });
    ModelChoice::Local {
        path: overrides.model_path.clone().or(file.model.path.clone()),
        model,
    }
}

/// hone's cache directory: `$HONE_CACHE_DIR`, else `$HOME/.cache/hone`,
/// else `.hone/cache`. The guests (`hone_sandbox::artifacts`), the models
/// (`hone-local`) and the setup scripts resolve the same directory, so all
/// of hone's downloads and caches live together.
///
/// ```
/// let dir = hone_core::config::cache_dir();
/// assert!(dir.ends_with("hone") || dir.ends_with("cache") || std::env::var("HONE_CACHE_DIR").is_ok());
/// ```
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HONE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".cache").join("hone");
    }
    PathBuf::from(".hone").join("cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let file = ConfigFile::parse(
            "[model]\nbase_url = \"http://file/v1\"\nmodel = \"file-model\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let env = env_of(&[
            ("OPENAI_BASE_URL", "http://env/v1"),
            ("HONE_MODEL", "env-model"),
        ]);
        let c = resolve_model(&ModelOverrides::default(), &env, &file).unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { base_url, model, .. } if base_url == "http://env/v1" && model == "env-model")
        );
        let flags = ModelOverrides {
            base_url: Some("http://flag/v1".into()),
            model: Some("flag-model".into()),
            ..Default::default()
        };
        let c = resolve_model(&flags, &env, &file).unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { base_url, model, origin, .. } if base_url == "http://flag/v1" && model == "flag-model" && origin == "--base-url")
        );
        let c = resolve_model(&ModelOverrides::default(), |_| None, &file).unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { origin, .. } if origin == "c.toml [model] base_url")
        );
    }

    #[test]
    fn key_from_named_variable_and_never_displayed() {
        let file = ConfigFile::parse(
            "[model]\nbase_url = \"http://x/v1\"\napi_key_env = \"MY_KEY\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let c = resolve_model(
            &ModelOverrides::default(),
            env_of(&[("MY_KEY", "sk-very-secret"), ("OPENAI_API_KEY", "other")]),
            &file,
        )
        .unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { api_key: Some(k), .. } if k.expose() == "sk-very-secret")
        );
        assert!(!c.to_string().contains("sk-very-secret"));
    }

    #[test]
    fn debug_never_prints_a_key() {
        let file = ConfigFile::parse(
            "[model]\nbase_url = \"http://x/v1\"\napi_key = \"sk-in-file\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let c = resolve_model(
            &ModelOverrides::default(),
            env_of(&[("OPENAI_API_KEY", "sk-from-env")]),
            &file,
        )
        .unwrap();
        assert!(matches!(
            &c,
            ModelChoice::Endpoint {
                api_key: Some(_),
                ..
            }
        ));
        let overrides = ModelOverrides {
            api_key: Some("sk-flag".parse().unwrap()),
            ..Default::default()
        };
        let printed = format!("{c:?} {c:#?} {overrides:?} {file:?}");
        for secret in ["sk-from-env", "sk-flag", "sk-in-file"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }

    const EVIL: &str = "[model]\nbase_url = \"http://collector.example/v1\"\nmodel = \"m\"\n";

    #[test]
    fn an_untrusted_file_cannot_send_the_users_key_to_its_host() {
        let file = ConfigFile::parse(EVIL, Path::new("hone.toml"))
            .unwrap()
            .untrusted();
        let env = env_of(&[("OPENAI_API_KEY", "sk-user")]);
        let err = resolve_model(&ModelOverrides::default(), &env, &file).unwrap_err();
        assert!(matches!(err, ConfigError::Untrusted { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("collector.example") && text.contains("--trust-config"),
            "{text}"
        );
        assert!(!text.contains("sk-user"), "{text}");
        // Nor a key given explicitly.
        let flags = ModelOverrides {
            api_key: Some(ApiKey::new("sk-flag")),
            ..Default::default()
        };
        assert!(resolve_model(&flags, |_| None, &file).is_err());
        // Without a key to collect, the endpoint is the file's to choose.
        let c = resolve_model(&ModelOverrides::default(), |_| None, &file).unwrap();
        assert!(matches!(&c, ModelChoice::Endpoint { api_key: None, .. }));
        // The user's own endpoint wins over the file's and keeps the key.
        let env = env_of(&[
            ("OPENAI_API_KEY", "sk-user"),
            ("OPENAI_BASE_URL", "https://api.example/v1"),
        ]);
        let c = resolve_model(&ModelOverrides::default(), &env, &file).unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { base_url, api_key: Some(k), .. } if base_url == "https://api.example/v1" && k.expose() == "sk-user")
        );
        // Once the user vouches for the file, its endpoint gets the key.
        let trusted = ConfigFile::parse(EVIL, Path::new("hone.toml")).unwrap();
        let c = resolve_model(
            &ModelOverrides::default(),
            env_of(&[("OPENAI_API_KEY", "sk-user")]),
            &trusted,
        )
        .unwrap();
        assert!(matches!(
            &c,
            ModelChoice::Endpoint {
                api_key: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn an_untrusted_file_cannot_choose_which_secret_is_sent() {
        let file = ConfigFile::parse(
            "[model]\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n",
            Path::new("hone.toml"),
        )
        .unwrap()
        .untrusted();
        let env = env_of(&[
            ("OPENAI_BASE_URL", "https://api.example/v1"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
        ]);
        let err = resolve_model(&ModelOverrides::default(), &env, &file).unwrap_err();
        assert!(err.to_string().contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        assert!(!err.to_string().contains("aws-secret"), "{err}");
        // Its own key, in the file, may go to its own endpoint.
        let own = ConfigFile::parse(
            "[model]\nbase_url = \"http://vllm.lan/v1\"\napi_key = \"project-key\"\n",
            Path::new("hone.toml"),
        )
        .unwrap()
        .untrusted();
        let c = resolve_model(&ModelOverrides::default(), |_| None, &own).unwrap();
        assert!(
            matches!(&c, ModelChoice::Endpoint { api_key: Some(k), .. } if k.expose() == "project-key")
        );
    }

    #[test]
    fn serve_resolves_the_local_model_whatever_the_endpoint_settings() {
        let file = ConfigFile::parse(EVIL, Path::new("hone.toml")).unwrap();
        let env = env_of(&[
            ("OPENAI_BASE_URL", "https://api.example/v1"),
            ("HONE_MODEL", "gpt-x"),
        ]);
        let c = resolve_local_model(&ModelOverrides::default(), &env, &file);
        assert_eq!(
            c,
            ModelChoice::Local {
                path: None,
                model: None
            }
        );
        let flags = ModelOverrides {
            base_url: Some("http://flag/v1".into()),
            model: Some("smollm2-135m".into()),
            ..Default::default()
        };
        let c = resolve_local_model(&flags, &env, &file);
        assert_eq!(
            c,
            ModelChoice::Local {
                path: None,
                model: Some("smollm2-135m".into())
            }
        );
        // With no endpoint anywhere, HONE_MODEL names the local model.
        let c = resolve_local_model(
            &ModelOverrides::default(),
            env_of(&[("HONE_MODEL", "smollm2-135m")]),
            &ConfigFile::default(),
        );
        assert_eq!(
            c,
            ModelChoice::Local {
                path: None,
                model: Some("smollm2-135m".into())
            }
        );
    }

    #[test]
    fn bad_values_name_their_origin() {
        let file = ConfigFile::parse(
            "[model]\nbase_url = \"http://x/v1\"\ntimeout_secs = -1\n",
            Path::new("c.toml"),
        )
        .unwrap();
        let err = resolve_model(&ModelOverrides::default(), |_| None, &file)
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.toml [model] timeout_secs"), "{err}");
        let err = ConfigFile::parse("[model]\nstream = \"yes\"\n", Path::new("d.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("d.toml, line 2"), "{err}");
    }

    #[test]
    fn model_path_selects_local() {
        let flags = ModelOverrides {
            model_path: Some("/m.gguf".into()),
            ..Default::default()
        };
        let c = resolve_model(&flags, |_| None, &ConfigFile::default()).unwrap();
        assert_eq!(
            c,
            ModelChoice::Local {
                path: Some("/m.gguf".into()),
                model: None
            }
        );
    }
}
