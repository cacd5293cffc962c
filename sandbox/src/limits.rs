//! Per-execution resource limits.

use std::path::PathBuf;
use std::time::Duration;

/// Limits applied to every execution (and to every call of a
/// [`crate::Session`]).
///
/// ```
/// use std::time::Duration;
/// use hone_sandbox::Limits;
///
/// let limits = Limits {
///     wall_time: Duration::from_secs(2),
///     ..Limits::default()
/// };
/// assert_eq!(limits.stdout_bytes, 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time, enforced by epoch interruption (granularity
    /// [`crate::EPOCH_TICK`]). Default 10 s.
    pub wall_time: Duration,
    /// Maximum linear memory of the guest, in bytes. Python sees a
    /// `MemoryError` when an allocation would exceed it. Default 512 MiB
    /// (the pre-initialised Python heap with sympy already takes a large
    /// share of it).
    pub memory_bytes: usize,
    /// Optional fuel (roughly, wasm instructions). Requires an engine built
    /// with [`crate::SandboxConfig::fuel`]; `None` means unmetered.
    pub fuel: Option<u64>,
    /// Bytes of stdout kept; the rest is dropped and flagged. Default 64 KiB.
    pub stdout_bytes: usize,
    /// Bytes of stderr kept; the rest is dropped and flagged. Default 64 KiB.
    pub stderr_bytes: usize,
    /// Bytes of structured reports (the Python guest's side channel used by
    /// the test harness) kept. Default 1 MiB.
    pub report_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time: Duration::from_secs(10),
            memory_bytes: 512 << 20,
            fuel: None,
            stdout_bytes: 64 * 1024,
            stderr_bytes: 64 * 1024,
            report_bytes: 1 << 20,
        }
    }
}

/// A host directory made visible, read-only, inside the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Directory on the host.
    pub host_path: PathBuf,
    /// Where the guest sees it, e.g. `/data`.
    pub guest_path: String,
}
