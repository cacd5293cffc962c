//! MINT's items and where they come from.
//!
//! The reference keeps one `test_prompts.json` per set under
//! `data/processed/<set>/` (one JSON object per line); hone reads that
//! layout or a flat directory of `<set>.jsonl` files (the development
//! halves in this repository's shared data). Fields used: `id`, `prompt`,
//! `reference` (any JSON value: a number, a string, a list, a boolean),
//! TheoremQA's `answer_type` and HumanEval's `entry_point`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The seven non-AlfWorld sets, reasoning first.
pub const SETS: [&str; 7] = [
    "gsm8k",
    "hotpotqa",
    "math",
    "mmlu",
    "theoremqa",
    "humaneval",
    "mbpp",
];

/// The family a set belongs to (SR is micro-averaged per family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// gsm8k, hotpotqa, math, mmlu, theoremqa.
    Reasoning,
    /// humaneval, mbpp.
    Code,
}

/// The family of `set`.
pub fn family(set: &str) -> Family {
    match set {
        "humaneval" | "mbpp" => Family::Code,
        _ => Family::Reasoning,
    }
}

/// One MINT task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintItem {
    /// Its set.
    pub set: String,
    /// Its id in the set.
    pub id: String,
    /// The task prompt.
    pub prompt: String,
    /// The reference: an answer, an option letter, or test code.
    pub reference: serde_json::Value,
    /// TheoremQA: integer, float, list of integer, list of float, bool,
    /// option.
    pub answer_type: Option<String>,
    /// HumanEval: the function the tests call.
    pub entry_point: Option<String>,
}

impl MintItem {
    /// The item's id in results: `<set>/<id>`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.set, self.id)
    }
}

#[derive(Deserialize)]
struct Line {
    id: serde_json::Value,
    prompt: String,
    reference: serde_json::Value,
    #[serde(default)]
    answer_type: Option<String>,
    #[serde(default)]
    entry_point: Option<String>,
}

/// Why MINT data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a MINT task.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A set asked for is not in the data.
    #[error("{root}: no data for set {set:?} (looked for {root}/{set}/test_prompts.json and {root}/{set}.jsonl)")]
    MissingSet {
        /// The data directory.
        root: String,
        /// The set.
        set: String,
    },
    /// A set was asked for twice.
    #[error("the set {0:?} is named twice")]
    DuplicateSet(String),
    /// A set name hone does not know.
    #[error("unknown MINT set {0:?}: the sets are {sets}", sets = SETS.join(", "))]
    UnknownSet(String),
}

/// Tasks of the sets asked for, read from the directory `root`, and the
/// sha256 of the data read (the files' bytes, in set order).
pub fn load(root: &Path, sets: &[String]) -> Result<(Vec<MintItem>, String), DataError> {
    let mut items = Vec::new();
    let mut hasher = Sha256::new();
    for (i, set) in sets.iter().enumerate() {
        if sets[..i].contains(set) {
            return Err(DataError::DuplicateSet(set.clone()));
        }
        if !SETS.contains(&set.as_str()) {
            return Err(DataError::UnknownSet(set.clone()));
        }
        let upstream = root.join(set).join("test_prompts.json");
        let flat = root.join(format!("{set}.jsonl"));
        let path = [upstream, flat]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| DataError::MissingSet {
                root: root.display().to_string(),
                set: set.clone(),
            })?;
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        hasher.update(&bytes);
        items.extend(parse_file(set, &path, &bytes)?);
    }
    Ok((items, hex::encode(hasher.finalize())))
}

/// The tasks of one set's file (JSON lines).
pub fn parse_file(set: &str, path: &Path, bytes: &[u8]) -> Result<Vec<MintItem>, DataError> {
    let err = |line: usize, message: String| DataError::Line {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| err(0, format!("not UTF-8: {e}")))?;
    let mut items = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(raw).map_err(|e| err(line, e.to_string()))?;
        let id = match &parsed.id {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(err(line, format!("field `id`: not an id: {other}"))),
        };
        if set == "theoremqa" && parsed.answer_type.is_none() {
            return Err(err(
                line,
                "field `answer_type`: TheoremQA tasks need one".into(),
            ));
        }
        if set == "humaneval" && parsed.entry_point.is_none() {
            return Err(err(
                line,
                "field `entry_point`: HumanEval tasks need one".into(),
            ));
        }
        items.push(MintItem {
            set: set.to_string(),
            id,
            prompt: parsed.prompt,
            reference: parsed.reference,
            answer_type: parsed.answer_type,
            entry_point: parsed.entry_point,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_halves_load() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mint");
        if !shared.is_dir() {
            return; // the shared data is not part of a published crate
        }
        let sets: Vec<String> = SETS.iter().map(|s| s.to_string()).collect();
        let (items, _) = load(&shared, &sets).unwrap();
        assert_eq!(items.len(), 228);
        let tq = items.iter().find(|i| i.set == "theoremqa").unwrap();
        assert!(tq.answer_type.is_some());
        assert_eq!(family("mbpp"), Family::Code);
        assert_eq!(family("hotpotqa"), Family::Reasoning);
    }

    #[test]
    fn a_theoremqa_task_without_its_answer_type_is_named() {
        let line = r#"{"id": "3", "prompt": "p", "reference": 2}"#;
        let err = parse_file("theoremqa", Path::new("tq.jsonl"), line.as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "tq.jsonl:1: field `answer_type`: TheoremQA tasks need one"
        );
    }
}
