//! RealCritic's items and where they come from.
//!
//! RealCritic ships one `test.jsonl` per set under `data/mix_data/<set>/`;
//! hone reads that layout, a flat directory of `<set>.jsonl` files (the
//! development halves in this repository's shared data), or a single JSONL
//! file whose name is the set's. Fields used: `idx`, `question` (choices
//! inline for multiple choice), `gt_cot`, `gt`, `reasoning` (the solution
//! to critique) and `previous_score` (`[bool]`, that solution's
//! correctness); every other field is ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The eight sets, in the order the paper lists them.
pub const SETS: [&str; 8] = [
    "gsm8k",
    "math",
    "college_math",
    "minerva_math",
    "olympiadbench",
    "arc-challenge",
    "gpqa",
    "mmlu_stem",
];

/// One RealCritic item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticItem {
    /// The set it belongs to (`gsm8k`, `math`, ...).
    pub set: String,
    /// Its index in the upstream file.
    pub idx: u64,
    /// The question (multiple-choice questions carry their choices).
    pub question: String,
    /// The reference solution (`None` in sets without one).
    pub gt_cot: String,
    /// The reference answer.
    pub gt: String,
    /// The solution a critic is asked to check.
    pub reasoning: String,
    /// Whether `reasoning` is correct.
    pub previous_score: bool,
}

impl CriticItem {
    /// The item's id in results: `<set>/<idx>`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.set, self.idx)
    }
}

/// A line as RealCritic writes it (unknown fields ignored).
#[derive(Deserialize)]
struct Line {
    idx: serde_json::Value,
    question: String,
    #[serde(default)]
    gt_cot: Option<serde_json::Value>,
    gt: serde_json::Value,
    reasoning: String,
    previous_score: serde_json::Value,
}

/// Why RealCritic data could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a RealCritic item.
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
    #[error("{root}: no data for set {set:?} (looked for {root}/{set}/test.jsonl and {root}/{set}.jsonl)")]
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
    #[error("unknown RealCritic set {0:?}: the sets are {sets}", sets = SETS.join(", "))]
    UnknownSet(String),
}

/// Items of the sets asked for, read from `path`, and the sha256 of the
/// data read (the files' bytes, in set order).
pub fn load(path: &Path, sets: &[String]) -> Result<(Vec<CriticItem>, String), DataError> {
    for (i, set) in sets.iter().enumerate() {
        if sets[..i].contains(set) {
            return Err(DataError::DuplicateSet(set.clone()));
        }
        if !SETS.contains(&set.as_str()) {
            return Err(DataError::UnknownSet(set.clone()));
        }
    }
    let mut items = Vec::new();
    let mut hasher = Sha256::new();
    if path.is_file() {
        let set = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let set = if SETS.contains(&set.as_str()) {
            set
        } else {
            return Err(DataError::UnknownSet(set));
        };
        let bytes = read(path)?;
        hasher.update(&bytes);
        items.extend(parse_file(&set, path, &bytes)?);
    } else {
        for set in sets {
            let upstream = path.join(set).join("test.jsonl");
            let flat = path.join(format!("{set}.jsonl"));
            let file = if upstream.is_file() {
                upstream
            } else if flat.is_file() {
                flat
            } else {
                return Err(DataError::MissingSet {
                    root: path.display().to_string(),
                    set: set.clone(),
                });
            };
            let bytes = read(&file)?;
            hasher.update(&bytes);
            items.extend(parse_file(set, &file, &bytes)?);
        }
    }
    Ok((items, hex::encode(hasher.finalize())))
}

fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A JSON value as the text the reference code would see (`str(x)`).
fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "None".to_string(),
        other => other.to_string(),
    }
}

/// The items of one set's file.
pub fn parse_file(set: &str, path: &Path, bytes: &[u8]) -> Result<Vec<CriticItem>, DataError> {
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
        let idx = parsed
            .idx
            .as_u64()
            .or_else(|| parsed.idx.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| err(line, format!("field `idx`: not an index: {}", parsed.idx)))?;
        // `[true]` upstream; a bare boolean is accepted too.
        let previous_score = match &parsed.previous_score {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::Array(a) => match a.first() {
                Some(serde_json::Value::Bool(b)) => *b,
                _ => {
                    return Err(err(
                        line,
                        "field `previous_score`: expected [true] or [false]".into(),
                    ))
                }
            },
            other => {
                return Err(err(
                    line,
                    format!("field `previous_score`: expected [true] or [false], got {other}"),
                ))
            }
        };
        items.push(CriticItem {
            set: set.to_string(),
            idx,
            question: parsed.question,
            gt_cot: parsed.gt_cot.as_ref().map(text_of).unwrap_or_default(),
            gt: text_of(&parsed.gt),
            reasoning: parsed.reasoning,
            previous_score,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_the_protocol_uses() {
        let line = r#"{"idx": 4, "question": "Q", "gt_cot": "None", "gt": 12, "reasoning": "R", "previous_score": [false], "model": "x"}"#;
        let items = parse_file("gsm8k", Path::new("gsm8k.jsonl"), line.as_bytes()).unwrap();
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.id(), "gsm8k/4");
        assert_eq!(item.gt, "12");
        assert_eq!(item.gt_cot, "None");
        assert!(!item.previous_score);
    }

    #[test]
    fn a_bad_line_is_named_by_file_line_and_field() {
        let text = "{\"idx\": 0, \"question\": \"Q\", \"gt\": \"1\", \"reasoning\": \"R\", \"previous_score\": [true]}\n\
                    {\"idx\": 1, \"question\": \"Q\", \"gt\": \"1\", \"reasoning\": \"R\", \"previous_score\": \"yes\"}\n";
        let err = parse_file("math", Path::new("d/math.jsonl"), text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d/math.jsonl:2: field `previous_score`"),
            "{err}"
        );
    }

    #[test]
    fn the_development_halves_load_in_both_layouts() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/realcritic");
        if !shared.is_dir() {
            return; // the shared data is not part of a published crate
        }
        let sets: Vec<String> = SETS.iter().map(|s| s.to_string()).collect();
        let (items, sha) = load(&shared, &sets).unwrap();
        assert_eq!(items.len(), 1049);
        assert_eq!(sha.len(), 64);
        // The upstream layout: <root>/<set>/test.jsonl.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("gpqa")).unwrap();
        std::fs::copy(
            shared.join("gpqa.jsonl"),
            dir.path().join("gpqa/test.jsonl"),
        )
        .unwrap();
        let (gpqa, _) = load(dir.path(), &["gpqa".to_string()]).unwrap();
        assert_eq!(gpqa.len(), 95);
        let missing = load(dir.path(), &["math".to_string()]).unwrap_err();
        assert!(matches!(missing, DataError::MissingSet { .. }), "{missing}");
        let unknown = load(dir.path(), &["nope".to_string()]).unwrap_err();
        assert!(unknown.to_string().contains("gsm8k, math"), "{unknown}");
    }
}
