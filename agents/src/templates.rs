//! The prompt templates hone's agents send, embedded from this crate's
//! `templates/*.j2` at build time.
//!
//! Every prompt lives in one of these files, never in a Rust string. A
//! template's variables are filled from a typed struct (see
//! [`roles`](crate::roles)), and rendering is strict: a missing variable is
//! an error naming the file and line. Override any of them at run time with
//! [`Templates::with_override_dir`] (the CLI's `--templates DIR`):
//!
//! ```
//! let templates = hone_agents::templates::embedded();
//! assert!(templates.names().contains(&"refine_critic.j2"));
//! ```

use hone_core::templates::Templates;

include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));

/// Where the embedded templates come from, as error messages name them.
pub const ORIGIN: &str = "agents/templates";

/// The embedded templates.
pub fn embedded() -> Templates {
    Templates::from_static(EMBEDDED, ORIGIN)
}

/// `(file name, source)` of every embedded template.
pub fn sources() -> &'static [(&'static str, &'static str)] {
    EMBEDDED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        assert!(!EMBEDDED.is_empty(), "no templates were embedded");
        Templates::check_sources(EMBEDDED, ORIGIN).unwrap();
        assert_eq!(embedded().names().len(), EMBEDDED.len());
    }
}
