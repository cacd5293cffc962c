//! Checking the exit of a command a test ran.

use std::process::Output;

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
