//! What the Python drivers (`harness.py`, `trace.py`) share on the host side:
//! embedding a driver's spec into its source, laying out the program the
//! sandbox runs, and flattening guest text for feedback.

use hone_sandbox::{Cell, Language, Program, Sandbox};

use crate::harness::CANDIDATE_FILE;

/// Builds the program a driver runs: a setup cell that names the module
/// `candidate`, the candidate under [`CANDIDATE_FILE`] (so tracebacks use the
/// candidate's own line numbers), the driver's definitions (compiled once per
/// sandbox, see [`Sandbox::compiled_cell`]), then its call: the driver's
/// lines from the last that holds `__HONE_SPEC__` (the call; the marker may
/// also appear in the driver's comments), with `spec` in its place.
pub(crate) async fn driver_program(
    sandbox: &Sandbox,
    driver: &str,
    driver_cell: &str,
    spec: &serde_json::Value,
    candidate: &str,
) -> Program {
    let (definitions, call) = split_driver(driver);
    // A JSON string literal is a valid Python string literal, so the spec
    // reaches the guest as data, never as code.
    let spec_literal = serde_json::Value::String(spec.to_string()).to_string();
    let call = call.replace(
        "__HONE_SPEC__",
        &format!("__import__('json').loads({spec_literal})"),
    );
    Program::new(
        Language::Python,
        Cell::new("<hone-setup>", "__name__ = 'candidate'"),
    )
    .with_cell(Cell::new(CANDIDATE_FILE, candidate))
    .with_cell(sandbox.compiled_cell(driver_cell, definitions).await)
    .with_cell(Cell::new(format!("{driver_cell}-call"), call))
}

/// A driver's fixed definitions, and its call (from the first line that
/// holds the spec placeholder to the end).
fn split_driver(driver: &str) -> (&str, &str) {
    // The last occurrence: the drivers name the marker in their header
    // comments too, and splitting there would leave the whole driver in
    // the call cell, compiled from source on every run.
    match driver.rfind("__HONE_SPEC__") {
        Some(at) => {
            let line_start = driver[..at].rfind('\n').map_or(0, |i| i + 1);
            driver.split_at(line_start)
        }
        None => (driver, ""),
    }
}

/// `text` trimmed, with newlines shown as `\n`, cut to `max` characters.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let flat = text.trim().replace('\n', "\\n");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_splits_at_its_call() {
        let driver = "def main(spec):\n    pass\n\n\nmain(__HONE_SPEC__)\ndel main\n";
        let (definitions, call) = split_driver(driver);
        assert_eq!(definitions, "def main(spec):\n    pass\n\n\n");
        assert_eq!(call, "main(__HONE_SPEC__)\ndel main\n");
        assert_eq!(split_driver("x = 1\n"), ("x = 1\n", ""));
        let commented = "# main(__HONE_SPEC__) is replaced by the host\ndef main(spec):\n    pass\nmain(__HONE_SPEC__)\n";
        assert_eq!(split_driver(commented).1, "main(__HONE_SPEC__)\n");
    }

    /// The real drivers: everything but their one-line call is compiled
    /// once; the per-run cell is only the call.
    #[test]
    fn the_real_drivers_keep_only_their_call_per_run() {
        for driver in [crate::harness::DRIVER, crate::trace::DRIVER] {
            let (definitions, call) = split_driver(driver);
            assert!(definitions.contains("def __hone_"), "{definitions}");
            assert_eq!(call.lines().count(), 2, "{call}");
            assert!(!call.contains("def "), "{call}");
        }
    }

    #[tokio::test]
    async fn spec_is_embedded_as_a_string_literal() {
        let spec = serde_json::json!({"quote": "a\"b'c\n", "n": 3});
        // No guest is needed: a sandbox that cannot compile sends source.
        let sandbox = Sandbox::new(hone_sandbox::SandboxConfig {
            python_guest: "/nonexistent/python.wasm".into(),
            ..Default::default()
        });
        let program =
            driver_program(&sandbox, "SPEC = __HONE_SPEC__\n", "<d>", &spec, "x = 1\n").await;
        let driver = &program.cells.last().expect("driver cell").code;
        assert!(!driver.contains("__HONE_SPEC__"));
        let literal = driver
            .strip_prefix("SPEC = __import__('json').loads(")
            .and_then(|s| s.strip_suffix(")\n"))
            .expect("spec call");
        let inner: String = serde_json::from_str(literal).expect("a JSON string literal");
        let back: serde_json::Value = serde_json::from_str(&inner).expect("spec JSON");
        assert_eq!(back, spec);
    }

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(one_line("  a\nb  ", 10), "a\\nb");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
