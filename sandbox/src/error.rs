//! Errors of the sandbox itself (as opposed to outcomes of guest programs,
//! which are [`crate::Status`] values, never errors).

use std::path::PathBuf;

/// Why the sandbox could not run a program at all.
///
/// A guest program that crashes, loops or exhausts its memory is *not* an
/// error: it yields an [`crate::ExecResult`] with the matching
/// [`crate::Status`]. These variants are host-side problems.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A guest artifact is missing; the message says how to build it.
    #[error(
        "{language} guest not found at {path}: run `scripts/build-guests.sh` \
         (or set {env_var} to the artifact's path)"
    )]
    GuestMissing {
        /// `python` or `javascript`.
        language: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// The environment variable that overrides the location.
        env_var: &'static str,
    },
    /// A pinned artifact does not have the expected sha256.
    #[error("{path}: sha256 {actual} does not match the pinned {expected}; rebuild it with `scripts/build-guests.sh`")]
    ChecksumMismatch {
        /// The artifact.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// wasmtime refused a configuration, a module or an instantiation.
    #[error("wasmtime: {0}")]
    Wasmtime(String),
    /// The request was invalid (for example a fuel limit on an engine built
    /// without fuel metering).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The worker thread running an execution disappeared (a host bug).
    #[error("sandbox worker failed: {0}")]
    Worker(String),
}

impl SandboxError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SandboxError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn wasmtime(context: &str, err: impl std::fmt::Display) -> Self {
        SandboxError::Wasmtime(format!("{context}: {err:#}"))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = SandboxError> = std::result::Result<T, E>;
