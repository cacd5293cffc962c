//! # hone-local
//!
//! hone's local model: everything needed to do real work on a fresh machine
//! with no API key.
//!
//! - [`LocalModel`] (feature `llama`, on by default): a
//!   [`hone_core::LanguageModel`] that runs GGUF models in process through
//!   llama.cpp, renders the model's own chat template with minijinja, reuses
//!   the KV cache of the longest common prompt prefix, and decodes
//!   concurrent requests together in one batch per step (continuous
//!   batching, [`scheduler`]).
//! - [`provision`]: downloads the pinned models (Qwen2.5-Coder-0.5B-Instruct
//!   by default, SmolLM2-135M-Instruct for tests) into a cache directory,
//!   checking size, GGUF magic and sha256.
//! - [`serve`]: an OpenAI-compatible chat-completions server for any
//!   `LanguageModel` (`hone serve`).

#![warn(missing_docs)]

#[cfg(feature = "llama")]
mod engine;
pub mod provision;
#[cfg(feature = "llama")]
pub mod scheduler;
pub mod serve;
pub mod template;
pub mod text;

#[cfg(feature = "llama")]
pub use engine::{LocalError, LocalModel, LocalOptions, LocalStats, UNCONSTRAINED_SUFFIX};

use std::path::PathBuf;

/// Where models are cached: `$HONE_CACHE_DIR/models`, else
/// `$HOME/.cache/hone/models`, else `.hone/cache/models`
/// (see [`hone_core::config::cache_dir`]).
///
/// ```
/// assert!(hone_local::default_cache_dir().ends_with("models"));
/// ```
pub fn default_cache_dir() -> PathBuf {
    hone_core::config::cache_dir().join("models")
}
