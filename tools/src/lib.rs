//! # hone-tools
//!
//! Tools built on hone's sandbox. This crate currently provides the test
//! harness ([`Harness`]): run a candidate program against HumanEval-style
//! `check(candidate)` tests, MBPP-style assert lists or stdin/stdout pairs,
//! and get per-test results — passed or failed, the failing assertion's
//! source, expected vs actual where derivable, the traceback in the
//! candidate's own line numbers (`candidate.py`), stdout and duration. This
//! is the execution feedback critics and RethinkMCTS consume.
//!
//! [`trace`] runs one failing test under `sys.settrace` and renders the
//! lines the candidate executed with its variables' values after each, cut
//! to a size cap (RethinkMCTS's block-level verbal feedback).
//!
//! [`answer`] extracts final answers from solutions and decides whether two
//! math or multiple-choice answers are equivalent.

#![warn(missing_docs)]

pub mod answer;
mod driver;
mod harness;
pub mod math_check;
pub mod trace;

pub use harness::{
    normalize_output, Harness, HarnessError, IoCase, Score, TestOutcome, TestReport, TestResult,
    TestStatus, TestSuite, CANDIDATE_FILE, TEST_FILE,
};
