//! Benchmark items and suites, and the JSONL format of user suites.
//!
//! A suite is a list of items of one kind: **code** items (a function to
//! write, public tests the search may use, hidden tests that score the final
//! program) or **answer** items (a question and its reference answer,
//! optionally multiple choice). Built-in suites come from
//! [`crate::datasets`]; anyone can run their own set from a JSONL file, one
//! item per line:
//!
//! ```text
//! {"id": "add", "prompt": "def add(a, b):\n    \"\"\"Sum.\"\"\"\n", "entry_point": "add",
//!  "public_tests": ["assert add(1, 2) == 3"],
//!  "hidden_tests": "def check(candidate):\n    assert candidate(2, 2) == 4\n"}
//! {"id": "q1", "question": "What is 6 * 7?", "reference": "42"}
//! {"id": "q2", "question": "Which is prime?", "choices": ["4", "6", "7"], "reference": "C"}
//! ```
//!
//! Tests are either a list of assert statements (MBPP style) or a source
//! that defines `check(candidate)` (HumanEval style); `public_tests` may be
//! left out, and an optional `reference_solution` (a program known to pass)
//! lets a suite be checked before it is run. Every line of a file
//! must be of the same kind; ids must be unique.
//!
//! ```
//! let suite = hone_bench::item::Suite::from_jsonl(
//!     "mine",
//!     r#"{"id": "q1", "question": "What is 6 * 7?", "reference": "42"}"#,
//!     "mine.jsonl",
//! ).unwrap();
//! assert_eq!(suite.items.len(), 1);
//! assert_eq!(suite.kind, hone_bench::item::SuiteKind::Answer);
//! ```

use std::collections::HashSet;

use hone_tools::TestSuite;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What kind of items a suite holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteKind {
    /// Programs, scored on hidden tests.
    Code,
    /// Answers, scored against a reference.
    Answer,
}

/// A function to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeItem {
    /// Unique id in its suite.
    pub id: String,
    /// The function's signature and docstring (what the model completes).
    pub prompt: String,
    /// The function's name.
    pub entry_point: String,
    /// Tests the search may run (and show to models); may be empty.
    pub public_tests: TestSuite,
    /// Tests that score the final program, never shown to the search.
    pub hidden_tests: TestSuite,
    /// A known-good program (HumanEval's canonical solution), never shown
    /// to the search: for checking that a suite's tests are satisfiable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_solution: Option<String>,
}

/// A question with a reference answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerItem {
    /// Unique id in its suite.
    pub id: String,
    /// The question.
    pub question: String,
    /// The reference answer (for multiple choice, the letter of the right
    /// choice).
    pub reference: String,
    /// Choices of a multiple-choice question, shown as `A.`, `B.`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
}

/// One benchmark item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A code item.
    Code(CodeItem),
    /// An answer item.
    Answer(AnswerItem),
}

impl Item {
    /// The item's id.
    pub fn id(&self) -> &str {
        match self {
            Item::Code(c) => &c.id,
            Item::Answer(a) => &a.id,
        }
    }
}

/// A named list of items of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// Name (`humaneval`, `gsm8k`, a user file's name).
    pub name: String,
    /// Kind of every item.
    pub kind: SuiteKind,
    /// The items, in the suite's order.
    pub items: Vec<Item>,
    /// sha256 of the data the suite was read from.
    pub sha256: String,
}

/// Why a suite could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A line is not a valid item.
    #[error("{file}:{line}: {message}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong (names the field).
        message: String,
    },
    /// The file holds no items.
    #[error("{file}: no items (one JSON object per line)")]
    Empty {
        /// The file.
        file: String,
    },
    /// The file could not be read.
    #[error("reading {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Tests as a user suite writes them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TestsField {
    Asserts(Vec<String>),
    Check(String),
}

impl TestsField {
    fn into_suite(self, entry_point: &str) -> TestSuite {
        match self {
            TestsField::Asserts(asserts) => TestSuite::Asserts {
                setup: String::new(),
                asserts,
            },
            TestsField::Check(test) => TestSuite::Check {
                test,
                entry_point: entry_point.to_string(),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeLine {
    id: String,
    prompt: String,
    entry_point: String,
    #[serde(default)]
    public_tests: Option<TestsField>,
    hidden_tests: TestsField,
    #[serde(default)]
    reference_solution: Option<String>,
}

impl Suite {
    /// Reads a user suite from JSONL `text` (`file` names it in errors).
    pub fn from_jsonl(name: &str, text: &str, file: &str) -> Result<Suite, SuiteError> {
        let err = |line: usize, message: String| SuiteError::Line {
            file: file.to_string(),
            line,
            message,
        };
        let mut items = Vec::new();
        let mut kind = None;
        let mut ids = HashSet::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value =
                serde_json::from_str(raw).map_err(|e| err(line, format!("not JSON: {e}")))?;
            let this_kind = if value.get("entry_point").is_some() || value.get("prompt").is_some() {
                SuiteKind::Code
            } else {
                SuiteKind::Answer
            };
            if *kind.get_or_insert(this_kind) != this_kind {
                return Err(err(
                    line,
                    format!(
                        "a {} item in a suite of {} items (every line must be of one kind)",
                        kind_name(this_kind),
                        kind_name(this_kind.other())
                    ),
                ));
            }
            let item = match this_kind {
                SuiteKind::Code => {
                    let c: CodeLine = serde_json::from_value(value)
                        .map_err(|e| err(line, format!("code item: {e}")))?;
                    if c.entry_point.trim().is_empty() {
                        return Err(err(line, "field `entry_point` is empty".into()));
                    }
                    Item::Code(CodeItem {
                        public_tests: c
                            .public_tests
                            .map(|t| t.into_suite(&c.entry_point))
                            .unwrap_or(TestSuite::Asserts {
                                setup: String::new(),
                                asserts: Vec::new(),
                            }),
                        hidden_tests: c.hidden_tests.into_suite(&c.entry_point),
                        reference_solution: c.reference_solution,
                        id: c.id,
                        prompt: c.prompt,
                        entry_point: c.entry_point,
                    })
                }
                SuiteKind::Answer => {
                    let a: AnswerItem = serde_json::from_value(value)
                        .map_err(|e| err(line, format!("answer item: {e}")))?;
                    if let Some(choices) = &a.choices {
                        if choices.is_empty() || choices.len() > 26 {
                            return Err(err(line, "field `choices`: 1 to 26 choices".into()));
                        }
                        if choice_index(&a.reference, choices).is_none() {
                            return Err(err(
                                line,
                                format!(
                                    "field `reference`: {:?} is neither a choice letter (A-{}) nor a choice",
                                    a.reference,
                                    (b'A' + choices.len() as u8 - 1) as char
                                ),
                            ));
                        }
                    }
                    Item::Answer(a)
                }
            };
            if item.id().trim().is_empty() {
                return Err(err(line, "field `id` is empty".into()));
            }
            if !ids.insert(item.id().to_string()) {
                return Err(err(
                    line,
                    format!("field `id`: {:?} appears twice", item.id()),
                ));
            }
            items.push(item);
        }
        let Some(kind) = kind else {
            return Err(SuiteError::Empty {
                file: file.to_string(),
            });
        };
        Ok(Suite {
            name: name.to_string(),
            kind,
            items,
            sha256: sha256_hex(text.as_bytes()),
        })
    }

    /// Reads a user suite from a JSONL file; its name is the file's stem.
    pub fn read(path: &std::path::Path) -> Result<Suite, SuiteError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io {
            file: file.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.clone());
        Suite::from_jsonl(&name, &text, &file)
    }
}

impl SuiteKind {
    fn other(self) -> SuiteKind {
        match self {
            SuiteKind::Code => SuiteKind::Answer,
            SuiteKind::Answer => SuiteKind::Code,
        }
    }
}

fn kind_name(kind: SuiteKind) -> &'static str {
    match kind {
        SuiteKind::Code => "code",
        SuiteKind::Answer => "answer",
    }
}

/// The index of the choice `answer` names: a letter (`B`, `(B)`, `B.`) or
/// the choice's own text.
pub fn choice_index(answer: &str, choices: &[String]) -> Option<usize> {
    let trimmed = answer
        .trim()
        .trim_matches(|c: char| matches!(c, '(' | ')' | '.' | ':' | '*' | ' '));
    let mut chars = trimmed.chars();
    if let (Some(letter), None) = (chars.next(), chars.next()) {
        let letter = letter.to_ascii_uppercase();
        if letter.is_ascii_uppercase() {
            let index = (letter as u8 - b'A') as usize;
            if index < choices.len() {
                return Some(index);
            }
        }
    }
    let normal = |s: &str| s.trim().to_lowercase();
    choices
        .iter()
        .position(|c| normal(c) == normal(answer) || normal(c) == normal(trimmed))
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = r#"{"id": "add", "prompt": "def add(a, b):\n", "entry_point": "add", "public_tests": ["assert add(1, 2) == 3"], "hidden_tests": "def check(candidate):\n    assert candidate(2, 2) == 4\n"}"#;

    #[test]
    fn code_and_answer_lines_read() {
        let suite = Suite::from_jsonl("s", CODE, "s.jsonl").unwrap();
        assert_eq!(suite.kind, SuiteKind::Code);
        let Item::Code(c) = &suite.items[0] else {
            panic!("a code item")
        };
        assert!(
            matches!(&c.public_tests, TestSuite::Asserts { asserts, .. } if asserts.len() == 1)
        );
        assert!(
            matches!(&c.hidden_tests, TestSuite::Check { entry_point, .. } if entry_point == "add")
        );
        let answers = "{\"id\": \"a\", \"question\": \"q\", \"reference\": \"4\"}\n\n{\"id\": \"b\", \"question\": \"q\", \"choices\": [\"x\", \"y\"], \"reference\": \"(B)\"}\n";
        let suite = Suite::from_jsonl("s", answers, "s.jsonl").unwrap();
        assert_eq!(suite.kind, SuiteKind::Answer);
        assert_eq!(suite.items.len(), 2);
        assert_eq!(suite.sha256.len(), 64);
    }

    #[test]
    fn bad_lines_name_file_line_and_field() {
        let missing = format!("{CODE}\n{}", CODE.replace("\"entry_point\": \"add\", ", ""));
        let err = Suite::from_jsonl("s", &missing, "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.jsonl:2:"), "{err}");
        assert!(err.contains("entry_point"), "{err}");
        let twice = format!("{CODE}\n{CODE}");
        let err = Suite::from_jsonl("s", &twice, "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.jsonl:2:") && err.contains("twice"), "{err}");
        let mixed = format!("{CODE}\n{{\"id\": \"q\", \"question\": \"q\", \"reference\": \"1\"}}");
        let err = Suite::from_jsonl("s", &mixed, "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("s.jsonl:2:") && err.contains("one kind"),
            "{err}"
        );
        let err = Suite::from_jsonl("s", "{\"id\": 1", "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.jsonl:1: not JSON"), "{err}");
        let choice = r#"{"id": "q", "question": "q", "choices": ["x"], "reference": "D"}"#;
        let err = Suite::from_jsonl("s", choice, "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`reference`"), "{err}");
        let typo = r#"{"id": "q", "question": "q", "reference": "1", "refrence": "2"}"#;
        let err = Suite::from_jsonl("s", typo, "s.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("refrence"), "{err}");
        assert!(matches!(
            Suite::from_jsonl("s", "\n\n", "s.jsonl"),
            Err(SuiteError::Empty { .. })
        ));
    }

    #[test]
    fn choices_are_named_by_letter_or_text() {
        let choices: Vec<String> = ["four", "seven"].iter().map(|s| s.to_string()).collect();
        assert_eq!(choice_index("B", &choices), Some(1));
        assert_eq!(choice_index("(b)", &choices), Some(1));
        assert_eq!(choice_index("A.", &choices), Some(0));
        assert_eq!(choice_index("Seven", &choices), Some(1));
        assert_eq!(choice_index("C", &choices), None);
        assert_eq!(choice_index("nine", &choices), None);
    }
}
