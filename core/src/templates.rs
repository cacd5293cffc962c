//! Prompt templates.
//!
//! Every prompt hone sends lives in a `templates/*.j2` file (minijinja, with
//! strict undefined: a missing variable is an error, never an empty string).
//! The files are embedded at build time; [`Templates::with_override_dir`]
//! replaces or adds templates from a directory at run time (the CLI's
//! `--templates DIR`). Errors name the file and the line.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));

/// A template could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template directory could not be read.
    #[error("cannot read template {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The template has a syntax error or failed while rendering.
    #[error("template {file}{}: {detail}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// The template file (a path for overrides, the name for embedded ones).
        file: String,
        /// Line of the error, if known.
        line: Option<usize>,
        /// What went wrong.
        detail: String,
    },
    /// No template has this name.
    #[error("no template named {name:?} (known: {known})")]
    Unknown {
        /// The requested name.
        name: String,
        /// The names that exist.
        known: String,
    },
}

/// The set of prompt templates.
///
/// ```
/// use hone_core::templates::Templates;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("greet.j2"), "Hello {{ name }}!").unwrap();
/// let t = Templates::embedded().with_override_dir(dir.path()).unwrap();
/// assert_eq!(t.render("greet.j2", serde_json::json!({"name": "hone"})).unwrap(), "Hello hone!");
/// // Strict undefined: a missing variable is an error naming the file and line.
/// let err = t.render("greet.j2", serde_json::json!({})).unwrap_err().to_string();
/// assert!(err.contains("greet.j2:1"), "{err}");
/// ```
pub struct Templates {
    env: Environment<'static>,
    origins: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("names", &self.origins.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn new_env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(false);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env
}

fn convert(file: &str, err: &minijinja::Error) -> TemplateError {
    let mut detail = err.to_string();
    if let Some(detail_extra) = err.detail() {
        if !detail.contains(detail_extra) {
            detail = format!("{detail}: {detail_extra}");
        }
    }
    TemplateError::Template {
        file: file.to_string(),
        line: err.line(),
        detail,
    }
}

impl Templates {
    /// The templates embedded at build time.
    ///
    /// # Panics
    ///
    /// Never for a released build: the embedded templates are checked by the
    /// test suite (see `every_embedded_template_parses`).
    pub fn embedded() -> Self {
        let mut env = new_env();
        let mut origins = std::collections::BTreeMap::new();
        for (name, source) in EMBEDDED {
            if let Err(e) = env.add_template(name, source) {
                // A broken embedded template is a build defect; keep the
                // others usable and report this one when it is rendered.
                tracing::error!(template = name, error = %e, "embedded template does not parse");
                continue;
            }
            origins.insert(name.to_string(), format!("templates/{name}"));
        }
        Templates { env, origins }
    }

    /// Adds or replaces templates with every `*.j2` file of `dir`.
    pub fn with_override_dir(mut self, dir: &Path) -> Result<Self, TemplateError> {
        let io = |source| TemplateError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "j2"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = std::fs::read_to_string(&path).map_err(|source| TemplateError::Io {
                path: path.clone(),
                source,
            })?;
            let shown = path.display().to_string();
            self.env
                .add_template_owned(name.clone(), source)
                .map_err(|e| convert(&shown, &e))?;
            self.origins.insert(name, shown);
        }
        Ok(self)
    }

    /// Adds or replaces one template from a string.
    pub fn with_template(mut self, name: &str, source: &str) -> Result<Self, TemplateError> {
        self.env
            .add_template_owned(name.to_string(), source.to_string())
            .map_err(|e| convert(name, &e))?;
        self.origins.insert(name.to_string(), name.to_string());
        Ok(self)
    }

    /// Names of all templates.
    pub fn names(&self) -> Vec<&str> {
        self.origins.keys().map(String::as_str).collect()
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|_| TemplateError::Unknown {
                name: name.to_string(),
                known: self.names().join(", "),
            })?;
        let file = self.origins.get(name).map(String::as_str).unwrap_or(name);
        template
            .render(minijinja::Value::from_serialize(&context))
            .map(|s| s.trim().to_string())
            .map_err(|e| convert(file, &e))
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::embedded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        let mut env = new_env();
        for (name, source) in EMBEDDED {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("templates/{name} does not parse: {e}"));
        }
        assert!(!EMBEDDED.is_empty(), "no templates were embedded");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.j2");
        std::fs::write(&path, "line one\nline two {% if %}\n").unwrap();
        let err = Templates::embedded()
            .with_override_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.j2:2"), "{err}");
    }

    #[test]
    fn override_replaces_embedded() {
        let name = EMBEDDED[0].0;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), "overridden").unwrap();
        let t = Templates::embedded().with_override_dir(dir.path()).unwrap();
        assert_eq!(t.render(name, serde_json::json!({})).unwrap(), "overridden");
    }

    #[test]
    fn unknown_template_lists_known_ones() {
        let err = Templates::embedded()
            .render("nope.j2", serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.j2") && err.contains(".j2,") || err.contains("known"));
    }

    #[test]
    fn missing_directory_is_named() {
        let err = Templates::embedded()
            .with_override_dir(Path::new("/no/such/dir"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/dir"), "{err}");
    }
}
