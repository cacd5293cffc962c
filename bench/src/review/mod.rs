//! Review items: a change to review and where its bugs are, for measuring a
//! code-review bot by the findings it makes (`hone review`, issue 13).
//!
//! An item is a JSONL line:
//!
//! ```text
//! {"id": "HumanEval/0/mutant-3", "files_before": {"solution.py": "..."},
//!  "files_after": {"solution.py": "..."},
//!  "expected": [{"path": "solution.py", "start_line": 14, "end_line": 14, "note": "flipped comparison"}],
//!  "tests": "def check(candidate): ...\ncheck(has_close_elements)\n"}
//! ```
//!
//! A path absent from one side is an added or deleted file; `expected` is
//! empty for a clean change; `tests` (optional) pass on a correct version.
//!
//! [`generate`] builds a development set from HumanEval's canonical
//! solutions, deterministically by seed: **mutants** (one of a fixed set of
//! operators — flipped comparison, off-by-one bound, swapped operands, wrong
//! constant, dropped negation, wrong variable — applied at one seeded site)
//! kept only when the sandbox confirms that the hidden tests now fail, and
//! **clean changes** (renamed variable, added comment, docstring edit,
//! reformatted return value, mirrored comparison, swapped commutative
//! operands) kept only when they still pass. The edits
//! are made by Python's own `ast` in the sandbox (`mutate.py`), replacing
//! only the changed node's text.

use std::collections::BTreeMap;
use std::path::Path;

use hone_sandbox::{Language, Limits, Program, Sandbox, Status};
use hone_tools::{Harness, HarnessError, TestSuite};
use serde::{Deserialize, Serialize};

use crate::item::{Item, Suite};

pub mod metrics;
pub mod run;

pub use run::{ReviewHeader, ReviewRecord, ReviewRun, Variant};

const MUTATE: &str = include_str!("mutate.py");
/// The file name of a generated item's program.
pub const SOLUTION_FILE: &str = "solution.py";

/// Where a reviewer should find a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedRange {
    /// File, as in `files_after`.
    pub path: String,
    /// First line (1-based) in the after-file.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// What is wrong there.
    pub note: String,
}

/// One change to review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewItem {
    /// Unique id.
    pub id: String,
    /// Files before the change, path → content.
    pub files_before: BTreeMap<String, String>,
    /// Files after the change.
    pub files_after: BTreeMap<String, String>,
    /// Ranges a reviewer should flag (empty: a clean change).
    pub expected: Vec<ExpectedRange>,
    /// Tests that pass on a correct version (Python; run as a program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<String>,
}

/// Why a review set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a review item.
    #[error("{path}:{line}: not a review item: {source}")]
    Item {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What serde said (it names the field).
        #[source]
        source: serde_json::Error,
    },
    /// Two items share an id.
    #[error("{path}:{line}: id {id:?} appears twice")]
    DuplicateId {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The id.
        id: String,
    },
}

/// Reads a JSONL file of review items, with its sha256.
pub fn read_items(path: &Path) -> Result<(Vec<ReviewItem>, String), ReadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: name.clone(),
        source,
    })?;
    let mut items: Vec<ReviewItem> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: ReviewItem = serde_json::from_str(line).map_err(|source| ReadError::Item {
            path: name.clone(),
            line: i + 1,
            source,
        })?;
        if !seen.insert(item.id.clone()) {
            return Err(ReadError::DuplicateId {
                path: name,
                line: i + 1,
                id: item.id,
            });
        }
        items.push(item);
    }
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    Ok((items, sha))
}

/// Why a review set could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The sandbox failed (not a candidate's failure: the host's).
    #[error("the sandbox: {0}")]
    Sandbox(String),
    /// Scoring a change failed.
    #[error(transparent)]
    Harness(#[from] HarnessError),
}

#[derive(Deserialize)]
struct Edit {
    operator: Option<String>,
    #[serde(default)]
    after: String,
    #[serde(default)]
    start_line: u32,
    #[serde(default)]
    end_line: u32,
}

/// What [`generate`] made and left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateReport {
    /// Mutants kept (the hidden tests fail on them).
    pub mutants: usize,
    /// Clean changes kept (the hidden tests still pass).
    pub clean: usize,
    /// Mutants dropped because the tests still passed (an equivalent
    /// mutant) or no site existed.
    pub dropped_mutants: usize,
    /// Clean changes dropped because the tests failed or no site existed.
    pub dropped_clean: usize,
}

/// Up to `per_item` mutants and `per_item` clean changes of each code item
/// of `suite` that has a reference solution, by seed `seed` (the same seed
/// gives the same set).
pub async fn generate(
    suite: &Suite,
    harness: &Harness,
    seed: u64,
    per_item: usize,
) -> Result<(Vec<ReviewItem>, GenerateReport), GenerateError> {
    let mut items = Vec::new();
    let mut report = GenerateReport::default();
    for item in &suite.items {
        let Item::Code(code) = item else { continue };
        let Some(solution) = &code.reference_solution else {
            continue;
        };
        let tests = match &code.hidden_tests {
            TestSuite::Check { test, entry_point } => {
                format!("{}\n\ncheck({entry_point})\n", test.trim_end())
            }
            _ => continue,
        };
        for (kind, wanted) in [("mutant", true), ("clean", false)] {
            let mut kept = 0;
            // Sites are drawn by seed; a few draws per kept change, so an
            // equivalent mutant does not end the item's supply.
            for draw in 0..(per_item as u64 * 4) {
                if kept == per_item {
                    break;
                }
                let draw_seed = seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(draw)
                    .wrapping_add(u64::from(kind == "clean") << 32);
                let edit = mutate(harness.sandbox(), solution, draw_seed, kind).await?;
                let Some(operator) = edit.operator else {
                    break;
                };
                let id = format!("{}/{kind}-{kept}", code.id);
                if items
                    .iter()
                    .any(|i: &ReviewItem| i.files_after.get(SOLUTION_FILE) == Some(&edit.after))
                {
                    continue;
                }
                let score = harness
                    .score(Language::Python, &edit.after, &code.hidden_tests)
                    .await?;
                // A mutant must break the tests; a clean change must not.
                if score.passed == wanted {
                    if wanted {
                        report.dropped_mutants += 1;
                    } else {
                        report.dropped_clean += 1;
                    }
                    continue;
                }
                kept += 1;
                items.push(ReviewItem {
                    id,
                    files_before: BTreeMap::from([(SOLUTION_FILE.to_string(), solution.clone())]),
                    files_after: BTreeMap::from([(SOLUTION_FILE.to_string(), edit.after)]),
                    expected: if wanted {
                        vec![ExpectedRange {
                            path: SOLUTION_FILE.to_string(),
                            start_line: edit.start_line,
                            end_line: edit.end_line,
                            note: operator,
                        }]
                    } else {
                        Vec::new()
                    },
                    tests: Some(tests.clone()),
                });
                if wanted {
                    report.mutants += 1;
                } else {
                    report.clean += 1;
                }
            }
        }
    }
    Ok((items, report))
}

async fn mutate(
    sandbox: &Sandbox,
    source: &str,
    seed: u64,
    kind: &str,
) -> Result<Edit, GenerateError> {
    let input = serde_json::json!({"source": source, "seed": seed, "kind": kind}).to_string();
    let exec = sandbox
        .run(Program::python(MUTATE).with_stdin(input), Limits::default())
        .await
        .map_err(|e| GenerateError::Sandbox(e.to_string()))?;
    if exec.status != Status::Ok {
        return Err(GenerateError::Sandbox(format!(
            "mutate.py ended with {}: {}",
            exec.status.label(),
            exec.stderr.trim()
        )));
    }
    serde_json::from_str(exec.stdout.trim())
        .map_err(|e| GenerateError::Sandbox(format!("unreadable mutate.py output: {e}")))
}
