//! Symbolic equivalence of math answers, decided by sympy in the sandbox.
//!
//! [`MathChecker::equivalent`] first applies the rule-based
//! [`answers_equal`]; only what the rules call [`Equivalence::Unknown`] goes
//! to the Python guest, where `math_check.py` converts simple LaTeX
//! (`\frac`, `\dfrac`, `\sqrt{x}`, `\sqrt[n]{x}`, `^`, `\cdot`, `\times`,
//! `\pi`, `\infty`, `\left`/`\right`, braces, `\le`/`\ge`/`\ne`, `\pm`,
//! `\log_b`, trigonometric functions, Greek letters, `e` and `i`) to sympy
//! syntax, parses it with `parse_expr` (standard transformations, implicit
//! multiplication and application, `^` as power) and compares:
//!
//! * expressions: equal when `simplify(a - b) == 0` (or the difference
//!   expands to zero, or agrees to 25 digits at sample points); different
//!   when the difference is clearly non-zero at a sample point;
//! * equations: `x = 3` is compared by its right side (its value), so it
//!   equals `3`; two general equations are equal when one is a non-zero
//!   multiple of the other;
//! * inequalities, possibly chained: `x \le 3` equals `3 \ge x`;
//! * `\{…\}` sets and `±` answers unordered, tuples and bare lists in order;
//!   a half-open interval's brackets must match.
//!
//! Anything the guest cannot parse, or that runs out of time or memory, is
//! [`Equivalence::Unknown`], never an error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hone_tools::math_check::MathCheckError> {
//! use hone_sandbox::{Sandbox, SandboxConfig};
//! use hone_tools::answer::{extract_final_answer, Equivalence};
//! use hone_tools::math_check::MathChecker;
//!
//! let checker = MathChecker::new(Sandbox::new(SandboxConfig::default()));
//! let answer = extract_final_answer("so the result is \\boxed{x^2-1}").unwrap();
//! assert_eq!(checker.equivalent(&answer, "(x-1)(x+1)").await?, Equivalence::Equal);
//! # Ok(()) }
//! ```

use std::time::Duration;

use hone_sandbox::{Limits, Program, Sandbox, SandboxError};
use serde::Deserialize;

use crate::answer::{answers_equal, Equivalence};

/// The in-guest checker: defines `_main(payload)`.
const CHECKER: &str = include_str!("math_check.py");

/// The in-guest checker's Python source, for other guest programs that
/// build on its LaTeX converter (`latex_to_plain`, `parse`): RealCritic's
/// reference grader in hone-bench does.
pub fn checker_source() -> &'static str {
    CHECKER
}

/// Why a symbolic check could not be made at all. Answers that cannot be
/// parsed or compared are [`Equivalence::Unknown`], not errors.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hone_sandbox::{Sandbox, SandboxConfig};
/// use hone_tools::math_check::{MathCheckError, MathChecker};
///
/// let sandbox = Sandbox::new(SandboxConfig {
///     python_guest: "/nonexistent/python-guest.wasm".into(),
///     ..SandboxConfig::default()
/// });
/// let err = MathChecker::new(sandbox).equivalent("x^2-1", "(x-1)(x+1)").await.unwrap_err();
/// assert!(matches!(err, MathCheckError::Sandbox(_)));
/// # });
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MathCheckError {
    /// The sandbox could not run the checker (guest missing, host problem).
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The answers could not be encoded for the guest.
    #[error("cannot encode the answers: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Decides whether two final answers are mathematically equivalent: by rule
/// when the rules can tell, else with sympy in the sandbox's Python guest.
///
/// Cheap to clone (the sandbox is shared).
///
/// ```no_run
/// # async fn demo() -> Result<(), hone_tools::math_check::MathCheckError> {
/// use hone_sandbox::{Sandbox, SandboxConfig};
/// use hone_tools::answer::Equivalence;
/// use hone_tools::math_check::MathChecker;
///
/// let checker = MathChecker::new(Sandbox::new(SandboxConfig::default()));
/// let verdict = checker.equivalent("\\frac{\\sqrt{2}}{2}", "1/\\sqrt{2}").await?;
/// assert_eq!(verdict, Equivalence::Equal);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MathChecker {
    sandbox: Sandbox,
    limits: Limits,
}

impl MathChecker {
    /// A checker running in `sandbox`, with
    /// [`MathChecker::default_limits`] for each check. Loads nothing yet.
    ///
    /// ```
    /// use hone_sandbox::{Sandbox, SandboxConfig};
    /// use hone_tools::math_check::MathChecker;
    ///
    /// let checker = MathChecker::new(Sandbox::new(SandboxConfig::default()));
    /// assert_eq!(checker.limits().wall_time.as_secs(), 10);
    /// ```
    pub fn new(sandbox: Sandbox) -> Self {
        MathChecker {
            sandbox,
            limits: Self::default_limits(),
        }
    }

    /// The limits [`MathChecker::new`] uses: 10 s of wall time, the
    /// sandbox's default memory, 64 KiB of output.
    ///
    /// ```
    /// use hone_tools::math_check::MathChecker;
    ///
    /// assert_eq!(MathChecker::default_limits().wall_time.as_secs(), 10);
    /// ```
    pub fn default_limits() -> Limits {
        Limits {
            wall_time: Duration::from_secs(10),
            ..Limits::default()
        }
    }

    /// The same checker with other limits for each guest execution. A check
    /// that reaches them is [`Equivalence::Unknown`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use hone_sandbox::{Limits, Sandbox, SandboxConfig};
    /// use hone_tools::math_check::MathChecker;
    ///
    /// let checker = MathChecker::new(Sandbox::new(SandboxConfig::default())).with_limits(Limits {
    ///     wall_time: Duration::from_secs(3),
    ///     ..Limits::default()
    /// });
    /// assert_eq!(checker.limits().wall_time, Duration::from_secs(3));
    /// ```
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits of each guest execution.
    ///
    /// ```
    /// use hone_sandbox::{Sandbox, SandboxConfig};
    /// use hone_tools::math_check::MathChecker;
    ///
    /// let checker = MathChecker::new(Sandbox::new(SandboxConfig::default()));
    /// assert_eq!(checker.limits(), &MathChecker::default_limits());
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether answers `a` and `b` are equivalent.
    ///
    /// [`answers_equal`] decides first; only when it returns
    /// [`Equivalence::Unknown`] does sympy run in the sandbox. Parse
    /// failures, timeouts and other guest failures give
    /// [`Equivalence::Unknown`]; only a sandbox that cannot run at all is an
    /// error.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), hone_tools::math_check::MathCheckError> {
    /// use hone_sandbox::{Sandbox, SandboxConfig};
    /// use hone_tools::answer::Equivalence;
    /// use hone_tools::math_check::MathChecker;
    ///
    /// let checker = MathChecker::new(Sandbox::new(SandboxConfig::default()));
    /// assert_eq!(checker.equivalent("(x+1)^2", "x^2+2x+1").await?, Equivalence::Equal);
    /// assert_eq!(checker.equivalent("x = 3", "3").await?, Equivalence::Equal);
    /// assert_eq!(checker.equivalent("\\pi", "3.14159").await?, Equivalence::NotEqual);
    /// // Decided by rule, without the sandbox:
    /// assert_eq!(checker.equivalent("\\frac{1}{2}", "0.5").await?, Equivalence::Equal);
    /// # Ok(()) }
    /// ```
    pub async fn equivalent(&self, a: &str, b: &str) -> Result<Equivalence, MathCheckError> {
        match answers_equal(a, b) {
            Equivalence::Unknown => {}
            decided => return Ok(decided),
        }
        let program = Program::python(checker_program(a, b)?);
        let result = self.sandbox.run(program, self.limits.clone()).await?;
        if !result.status.is_success() {
            return Ok(Equivalence::Unknown);
        }
        Ok(parse_verdict(&result.stdout))
    }
}

/// The guest program: the checker, then the answers as a Python string
/// literal holding their JSON encoding, then the call. The literal is
/// serde_json's encoding of that JSON text; a JSON string literal is a valid
/// Python string literal, so nothing of the answers is ever read as code.
fn checker_program(a: &str, b: &str) -> Result<String, serde_json::Error> {
    let payload = serde_json::to_string(&serde_json::json!({ "a": a, "b": b }))?;
    let literal = serde_json::to_string(&payload)?;
    Ok(format!(
        "{CHECKER}\n_PAYLOAD = {literal}\n_main(_PAYLOAD)\n"
    ))
}

#[derive(Deserialize)]
struct GuestVerdict {
    result: String,
}

/// The verdict on the last line of the guest's stdout; anything else is
/// `Unknown`.
fn parse_verdict(stdout: &str) -> Equivalence {
    let Some(line) = stdout.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Equivalence::Unknown;
    };
    match serde_json::from_str::<GuestVerdict>(line) {
        Ok(v) if v.result == "equal" => Equivalence::Equal,
        Ok(v) if v.result == "not_equal" => Equivalence::NotEqual,
        _ => Equivalence::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_embedded_as_literals() {
        let nasty = "\"); import os; print(\"\\\n'''\u{2028}";
        let program = checker_program(nasty, "1").unwrap();
        let last = program.lines().rev().nth(1).unwrap();
        assert!(last.starts_with("_PAYLOAD = \""), "{last}");
        // The literal decodes back to the JSON payload, which holds the
        // answers unchanged.
        let literal = last.trim_start_matches("_PAYLOAD = ");
        let payload: String = serde_json::from_str(literal).unwrap();
        let value: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(value["a"], nasty);
        assert_eq!(value["b"], "1");
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            parse_verdict("noise\n{\"result\": \"equal\", \"reason\": \"\"}\n"),
            Equivalence::Equal
        );
        assert_eq!(
            parse_verdict("{\"result\": \"not_equal\"}"),
            Equivalence::NotEqual
        );
        assert_eq!(
            parse_verdict("{\"result\": \"unknown\"}"),
            Equivalence::Unknown
        );
        assert_eq!(parse_verdict(""), Equivalence::Unknown);
        assert_eq!(parse_verdict("Traceback"), Equivalence::Unknown);
    }
}
