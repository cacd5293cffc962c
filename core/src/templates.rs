//! Prompt templates.
//!
//! The engine for prompt templates (minijinja, with strict undefined: a
//! missing variable is an error, never an empty string). The templates
//! themselves belong to the agents that send them: hone-agents embeds its
//! `templates/*.j2` at build time (`hone_agents::templates::embedded`).
//! [`Templates::with_override_dir`] replaces or adds templates from a
//! directory at run time (the CLI's `--templates DIR`). Errors name the
//! file and the line.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

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

/// A rendered prompt and the name of the template it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The template's file name, e.g. `refine_critic.j2`.
    pub template: String,
    /// The rendered text.
    pub text: String,
}

/// The set of prompt templates.
///
/// ```
/// use hone_core::templates::Templates;
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("greet.j2"), "Hello {{ name }}!").unwrap();
/// let t = Templates::new().with_override_dir(dir.path()).unwrap();
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
    /// No templates.
    pub fn new() -> Self {
        Templates {
            env: new_env(),
            origins: std::collections::BTreeMap::new(),
        }
    }

    /// Templates compiled into a program: `(file name, source)` pairs,
    /// shown in errors as `{origin_dir}/{name}`.
    ///
    /// A template that does not parse is left out and logged, so the others
    /// stay usable; rendering it then fails with its name. Crates that embed
    /// templates test that every one parses (see
    /// [`Templates::check_sources`]).
    pub fn from_static(sources: &'static [(&'static str, &'static str)], origin_dir: &str) -> Self {
        let mut templates = Self::new();
        for (name, source) in sources {
            if let Err(e) = templates.env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "embedded template does not parse");
                continue;
            }
            templates
                .origins
                .insert(name.to_string(), format!("{origin_dir}/{name}"));
        }
        templates
    }

    /// Checks that every template of `sources` parses.
    pub fn check_sources(sources: &[(&str, &str)], origin_dir: &str) -> Result<(), TemplateError> {
        let mut env = new_env();
        for (name, source) in sources {
            env.add_template(name, source)
                .map_err(|e| convert(&format!("{origin_dir}/{name}"), &e))?;
        }
        Ok(())
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

    /// The source of template `name`, as loaded (embedded or overridden).
    pub fn source(&self, name: &str) -> Option<String> {
        self.env
            .get_template(name)
            .ok()
            .map(|t| t.source().to_string())
    }

    /// Names of all templates.
    pub fn names(&self) -> Vec<&str> {
        self.origins.keys().map(String::as_str).collect()
    }

    /// Renders template `name` with `context` into a [`Prompt`] that keeps
    /// the template's name.
    pub fn prompt(&self, name: &str, context: impl Serialize) -> Result<Prompt, TemplateError> {
        Ok(Prompt {
            template: name.to_string(),
            text: self.render(name, context)?,
        })
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
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SOURCES: &[(&str, &str)] = &[("a.j2", "A {{ x }}"), ("b.j2", "B")];

    #[test]
    fn static_sources_are_named_by_their_origin() {
        let t = Templates::from_static(SOURCES, "mine");
        assert_eq!(t.names(), ["a.j2", "b.j2"]);
        let err = t
            .render("a.j2", serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mine/a.j2:1"), "{err}");
        assert!(Templates::check_sources(&[("c.j2", "{% if %}")], "mine")
            .unwrap_err()
            .to_string()
            .contains("mine/c.j2"));
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.j2");
        std::fs::write(&path, "line one\nline two {% if %}\n").unwrap();
        let err = Templates::from_static(SOURCES, "templates")
            .with_override_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.j2:2"), "{err}");
    }

    #[test]
    fn override_replaces_embedded() {
        let name = SOURCES[0].0;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), "overridden").unwrap();
        let t = Templates::from_static(SOURCES, "templates")
            .with_override_dir(dir.path())
            .unwrap();
        assert_eq!(t.render(name, serde_json::json!({})).unwrap(), "overridden");
    }

    #[test]
    fn unknown_template_lists_known_ones() {
        let err = Templates::from_static(SOURCES, "templates")
            .render("nope.j2", serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.j2") && err.contains(".j2,") || err.contains("known"));
    }

    #[test]
    fn missing_directory_is_named() {
        let err = Templates::from_static(SOURCES, "templates")
            .with_override_dir(Path::new("/no/such/dir"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/dir"), "{err}");
    }
}
