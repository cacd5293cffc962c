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

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

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
    pub api_key: Option<String>,
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
}

/// Explicit values (command-line flags); they win over everything.
#[derive(Debug, Clone, Default)]
pub struct ModelOverrides {
    /// Base URL.
    pub base_url: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// API key.
    pub api_key: Option<String>,
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
        /// Key, if any. Never printed.
        api_key: Option<String>,
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
/// ```
/// use hone_core::config::{resolve_model, ConfigFile, ModelChoice, ModelOverrides};
/// let env = |k: &str| (k == "OPENAI_BASE_URL").then(|| "http://127.0.0.1:9/v1".to_string());
/// let choice = resolve_model(&ModelOverrides::default(), env, &ConfigFile::default()).unwrap();
/// assert!(matches!(choice, ModelChoice::Endpoint { ref base_url, .. } if base_url == "http://127.0.0.1:9/v1"));
/// let none = resolve_model(&ModelOverrides::default(), |_| None, &ConfigFile::default()).unwrap();
/// assert!(matches!(none, ModelChoice::Local { .. }));
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
    let (base_url, origin) = if let Some(u) = nonempty(overrides.base_url.clone()) {
        (u, "--base-url".to_string())
    } else if let Some(u) = nonempty(env("OPENAI_BASE_URL")) {
        (u, "OPENAI_BASE_URL".to_string())
    } else if let Some(u) = nonempty(file.model.base_url.clone()) {
        (u, format!("{file_name} [model] base_url"))
    } else {
        return Ok(ModelChoice::Local { path: None, model });
    };
    let api_key = nonempty(overrides.api_key.clone())
        .or_else(|| {
            file.model
                .api_key_env
                .as_deref()
                .and_then(|name| nonempty(env(name)))
        })
        .or_else(|| nonempty(env("OPENAI_API_KEY")))
        .or_else(|| nonempty(file.model.api_key.clone()));
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
            matches!(&c, ModelChoice::Endpoint { api_key: Some(k), .. } if k == "sk-very-secret")
        );
        assert!(!c.to_string().contains("sk-very-secret"));
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
