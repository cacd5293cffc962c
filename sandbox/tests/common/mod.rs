//! Shared helpers for the integration tests. Tests that need the guests
//! fail (never skip) when they are missing, pointing at the build script.

#![allow(dead_code)]

use std::time::Duration;

use hone_sandbox::{Language, Limits, Sandbox, SandboxConfig};

/// A sandbox with both guests loaded, or a panic that says how to build them.
pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default())
}

/// Like [`sandbox`] with a custom configuration.
pub fn sandbox_with(config: SandboxConfig) -> Sandbox {
    sandbox_for(config, &[Language::Python, Language::JavaScript])
}

/// A sandbox with only the given guests loaded.
pub fn sandbox_for(config: SandboxConfig, languages: &[Language]) -> Sandbox {
    let sandbox = Sandbox::new(config);
    for &language in languages {
        if let Err(e) = sandbox.preload_blocking(language) {
            panic!("sandbox setup failed (guests are required; build them with scripts/build-guests.sh): {e}");
        }
    }
    sandbox
}

/// Wall time for programs that must finish by themselves (or hit a limit
/// other than time): far above their normal cost (at most a few seconds),
/// so a loaded machine running the suite in parallel cannot turn a slow
/// run into a spurious timeout.
pub const ROOMY_MS: u64 = 120_000;

/// Limits for a program whose expected outcome is not a timeout.
pub fn roomy() -> Limits {
    quick(ROOMY_MS)
}

/// Limits with a short wall time, for programs expected to time out.
pub fn quick(wall_ms: u64) -> Limits {
    Limits {
        wall_time: Duration::from_millis(wall_ms),
        ..Limits::default()
    }
}

/// Resident set size of this process in KiB (Linux), 0 elsewhere.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
