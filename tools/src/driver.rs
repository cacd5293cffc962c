//! What the Python drivers (`harness.py`, `trace.py`) share on the host side:
//! embedding a driver's spec into its source, laying out the program the
//! sandbox runs, and flattening guest text for feedback.

use hone_sandbox::{Cell, Language, Program};

use crate::harness::CANDIDATE_FILE;

/// Builds the program a driver runs: a setup cell that names the module
/// `candidate`, the candidate under [`CANDIDATE_FILE`] (so tracebacks use the
/// candidate's own line numbers), then the driver with `spec` substituted for
/// its `__HONE_SPEC__` placeholder.
pub(crate) fn driver_program(
    driver: &str,
    driver_cell: &str,
    spec: &serde_json::Value,
    candidate: &str,
) -> Program {
    // A JSON string literal is a valid Python string literal, so the spec
    // reaches the guest as data, never as code.
    let spec_literal = serde_json::Value::String(spec.to_string()).to_string();
    let driver = driver.replace(
        "__HONE_SPEC__",
        &format!("__import__('json').loads({spec_literal})"),
    );
    Program::new(
        Language::Python,
        Cell::new("<hone-setup>", "__name__ = 'candidate'"),
    )
    .with_cell(Cell::new(CANDIDATE_FILE, candidate))
    .with_cell(Cell::new(driver_cell, driver))
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
    fn spec_is_embedded_as_a_string_literal() {
        let spec = serde_json::json!({"quote": "a\"b'c\n", "n": 3});
        let program = driver_program("SPEC = __HONE_SPEC__\n", "<d>", &spec, "x = 1\n");
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
