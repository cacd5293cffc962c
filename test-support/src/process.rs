//! Running the `hone` binary in a test, and checking how it exited.

use std::process::{Command, Output, Stdio};

/// Asserts that `out`'s command succeeded, showing its exit code and
/// standard error when it did not.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `hone` binary at `exe` (a test's `env!("CARGO_BIN_EXE_hone")`)
/// pointed at the endpoint `base_url` as model `fake-model`: no model
/// settings inherited from the environment or a config file, a test key,
/// stdin closed. Callers add `--no-cache` or `--cache-dir`.
pub fn hone_against(exe: &str, base_url: &str) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(["--base-url", base_url, "--model", "fake-model"])
        .env_remove("OPENAI_BASE_URL")
        .env_remove("HONE_MODEL")
        .env_remove("HONE_CONFIG")
        .env("OPENAI_API_KEY", "sk-test")
        .stdin(Stdio::null());
    cmd
}
