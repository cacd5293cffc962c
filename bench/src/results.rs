//! A benchmark run's directory: `header.json` (everything that makes the run
//! reproducible), `results.jsonl` (one line per finished item, appended as
//! items finish) and `runs/` (each item's checkpointed run log).
//!
//! A run is resumable at any moment: a line is only ever appended whole, a
//! torn last line (the process killed mid-write) is dropped when
//! the file is opened again, and an item without a result line resumes from
//! its run log, so it ends exactly as an uninterrupted run would.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use hone_agents::header::RunHeader;
use hone_agents::mcts::MctsSettings;
use hone_core::file_lock::try_lock_exclusive;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::item::{sha256_hex, SuiteKind};

/// Which part of a suite a process runs: items whose id hashes to `index`
/// modulo `count` (0-based, so a Kubernetes Indexed Job's or a Slurm
/// array's index maps to it directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses `i/n`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?}: expected i/n, e.g. 0/4"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: {i:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {text:?}: {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "--shard {text:?}: the index runs from 0 to n-1 (n at least 1)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the item `id` belongs to this shard: by a hash of the id, so
    /// the assignment depends on nothing but the id and the shard count.
    pub fn holds(&self, id: &str) -> bool {
        let digest = Sha256::digest(id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Budgets of each item's search.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemBudget {
    /// Most model calls per item.
    pub max_calls: Option<u64>,
    /// Most wall time per item, in seconds.
    pub max_seconds: Option<f64>,
}

/// Name prefixes of the templates only a protocol sends, never a strategy.
pub const PROTOCOL_TEMPLATE_PREFIXES: [&str; 3] = ["realcritic_", "mint_", "review_"];

/// What makes a run reproducible; written once as `header.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchHeader {
    /// hone's version.
    pub hone_version: String,
    /// The git revision hone was built from, when known.
    pub git_revision: Option<String>,
    /// Suite name.
    pub suite: String,
    /// Its kind.
    pub kind: SuiteKind,
    /// sha256 of the suite's data.
    pub dataset_sha256: String,
    /// Items selected (after --ids / --limit, before sharding), in order.
    pub selected: usize,
    /// The selection: `--ids`, `--limit` as given.
    pub selection: Selection,
    /// The shard this directory holds, if sharded.
    pub shard: Option<Shard>,
    /// Model identity: backend, name and endpoint host or file.
    pub model: String,
    /// sha256 of the local model's GGUF file, when local.
    pub model_sha256: Option<String>,
    /// The strategy and its sampling (the run-log header of every item).
    pub strategy: RunHeader,
    /// Most answers / trials per item (self-refine, reflexion).
    pub max_rounds: u32,
    /// RethinkMCTS's settings, when that is the strategy.
    pub mcts: Option<MctsSettings>,
    /// Budgets per item.
    pub item_budget: ItemBudget,
    /// Independent draws per item (`--samples`, for pass@k); 1 by default.
    #[serde(default = "one")]
    pub samples: u32,
    /// sha256 of each prompt template's source.
    pub templates: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// Which items of the suite were asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// `--ids`, when given.
    pub ids: Option<Vec<String>>,
    /// `--limit`, when given.
    pub limit: Option<usize>,
}

impl BenchHeader {
    /// The header of a run of `suite` (all of it, unsharded, one draw per
    /// item, no budgets) with `strategy`; the model is the one `strategy`
    /// names. Fill in what differs, e.g. [`BenchHeader::with_templates`].
    ///
    /// ```
    /// use hone_agents::header::RunHeader;
    /// use hone_bench::{item::Suite, results::BenchHeader};
    /// let suite = Suite::from_jsonl("s", r#"{"id": "q", "question": "1+1?", "reference": "2"}"#, "s.jsonl").unwrap();
    /// let header = BenchHeader::new(&suite, RunHeader::new("self-refine", "openai model m"));
    /// assert_eq!((header.selected, header.samples), (1, 1));
    /// ```
    pub fn new(suite: &crate::item::Suite, strategy: RunHeader) -> BenchHeader {
        BenchHeader {
            hone_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: None,
            suite: suite.name.clone(),
            kind: suite.kind,
            dataset_sha256: suite.sha256.clone(),
            selected: suite.items.len(),
            selection: Selection::default(),
            shard: None,
            model: strategy.model.clone(),
            model_sha256: None,
            strategy,
            max_rounds: 4,
            mcts: None,
            item_budget: ItemBudget::default(),
            samples: 1,
            templates: BTreeMap::new(),
        }
    }

    /// Records the sha256 of every template of `templates` a strategy may
    /// send (the protocols' own templates, e.g. `realcritic_*`, are
    /// recorded by their own headers, so adding one does not turn every
    /// existing run into another run).
    pub fn with_templates(mut self, templates: &hone_core::templates::Templates) -> Self {
        self.templates = templates
            .names()
            .into_iter()
            .filter(|name| {
                !PROTOCOL_TEMPLATE_PREFIXES
                    .iter()
                    .any(|p| name.starts_with(p))
            })
            .filter_map(|name| {
                let source = templates.source(name)?;
                Some((name.to_string(), sha256_hex(source.as_bytes())))
            })
            .collect();
        self
    }

    /// Fields that say which build ran, not what was run: a run may be
    /// resumed, and shards merged, across them (with a warning).
    pub const BUILD_FIELDS: [&'static str; 2] = ["hone_version", "git_revision"];

    /// Names of the top-level fields, other than [`BenchHeader::BUILD_FIELDS`],
    /// in which `self` and `other` differ: what makes two runs different
    /// runs. `shard` is left out when `ignore_shard`.
    pub fn differences(&self, other: &BenchHeader, ignore_shard: bool) -> Vec<String> {
        self.all_differences(other, ignore_shard)
            .into_iter()
            .filter(|k| !Self::BUILD_FIELDS.contains(&k.as_str()))
            .collect()
    }

    /// Like [`BenchHeader::differences`], build fields included.
    pub fn all_differences(&self, other: &BenchHeader, ignore_shard: bool) -> Vec<String> {
        let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
            (serde_json::to_value(self), serde_json::to_value(other))
        else {
            return vec!["(unreadable header)".into()];
        };
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !(ignore_shard && k.as_str() == "shard"))
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect()
    }
}

/// One finished item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The item's id.
    pub id: String,
    /// Which draw of the item (0-based; > 0 only with `--samples`).
    #[serde(default)]
    pub sample: u32,
    /// The score: hidden tests passed (code) or the answer matched the
    /// reference (answers). Decided by the host after the search.
    pub passed: bool,
    /// Whether the search's own verifier accepted the answer.
    pub verified: bool,
    /// Why the search stopped (`finished`, `budget: ...`, `node failed`).
    pub stop: String,
    /// The final answer, if any.
    pub answer: Option<String>,
    /// What scored it: hidden-test status or the extracted final answer.
    pub detail: String,
    /// Model calls (cache hits included).
    pub calls: u64,
    /// Of those, answered from the response cache.
    pub cache_hits: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Wall time of the search and scoring, in milliseconds.
    pub wall_ms: f64,
    /// The item's run log, relative to the run directory.
    pub log: String,
    /// RealCritic's record of the item (its set, the critiqued solution's
    /// correctness, the strict extraction's score), in RealCritic runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic: Option<crate::realcritic::CriticRecord>,
    /// MINT's record of the episode (its set, how it ended, its steps), in
    /// MINT runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mint: Option<crate::mint::MintRecord>,
    /// A review run's fields (findings with scores and the host's facts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<crate::review::ReviewRecord>,
}

/// Why a run directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not what hone writes.
    #[error("{path}:{line}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 for the whole file).
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// Another process is running into the same directory.
    #[error("{dir} is in use by another `hone bench run` (one writer per run directory): wait for it, or use another --out")]
    Busy {
        /// The directory.
        dir: PathBuf,
    },
    /// The directory holds a run with other settings.
    #[error("{dir} holds a run with other settings ({fields} differ); use another --out, or delete it to start over")]
    OtherRun {
        /// The directory.
        dir: PathBuf,
        /// The differing header fields.
        fields: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ResultsError + '_ {
    move |source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Header file name in a run directory.
pub const HEADER_FILE: &str = "header.json";
/// Results file name in a run directory.
pub const RESULTS_FILE: &str = "results.jsonl";
/// Directory of the items' run logs.
pub const RUNS_DIR: &str = "runs";

/// A run directory opened for writing.
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    results: std::fs::File,
    done: BTreeMap<ResultKey, ItemResult>,
}

/// A result's key: the item's id and the draw.
pub type ResultKey = (String, u32);

impl RunDir {
    /// Opens (creating if needed) `dir` for a run with `header`. An existing
    /// run must have the same header; its finished items are kept and a
    /// torn last line is cut off.
    pub fn open<H: DirHeader>(dir: &Path, header: &H) -> Result<RunDir, ResultsError> {
        std::fs::create_dir_all(dir.join(RUNS_DIR)).map_err(io_err(dir))?;
        // One writer per directory, for as long as this `RunDir` lives,
        // taken before the header or the results are read or written.
        let results_path = dir.join(RESULTS_FILE);
        let results = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&results_path)
            .map_err(io_err(&results_path))?;
        if !try_lock_exclusive(&results).map_err(io_err(&results_path))? {
            return Err(ResultsError::Busy {
                dir: dir.to_path_buf(),
            });
        }
        let header_path = dir.join(HEADER_FILE);
        if header_path.exists() {
            let existing: H = read_header_as(dir)?;
            let differ = existing.run_differences(header);
            if !differ.is_empty() {
                return Err(ResultsError::OtherRun {
                    dir: dir.to_path_buf(),
                    fields: differ.join(", "),
                });
            }
        } else {
            let text =
                serde_json::to_string_pretty(header).map_err(|e| ResultsError::Malformed {
                    path: header_path.clone(),
                    line: 0,
                    detail: e.to_string(),
                })?;
            let tmp = dir.join(format!(".{HEADER_FILE}.tmp"));
            std::fs::write(&tmp, text + "\n").map_err(io_err(&tmp))?;
            std::fs::rename(&tmp, &header_path).map_err(io_err(&header_path))?;
        }
        let (done, good_len) = read_results_prefix(&results_path)?;
        // Cut a torn tail so the next line starts on its own.
        results.set_len(good_len).map_err(io_err(&results_path))?;
        Ok(RunDir {
            dir: dir.to_path_buf(),
            results,
            done,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Results already recorded, by id and draw.
    pub fn done(&self) -> &BTreeMap<ResultKey, ItemResult> {
        &self.done
    }

    /// Whether draw `sample` of item `id` is recorded.
    pub fn is_done(&self, id: &str, sample: u32) -> bool {
        self.done.contains_key(&(id.to_string(), sample))
    }

    /// The run log path of draw `sample` of item `id` (a file name safe on
    /// every system, unique per id and draw), relative to the directory.
    pub fn log_of(id: &str, sample: u32) -> String {
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        let hash = hex::encode(&Sha256::digest(id.as_bytes())[..4]);
        match sample {
            0 => format!("{RUNS_DIR}/{safe}-{hash}.jsonl"),
            n => format!("{RUNS_DIR}/{safe}-{hash}-s{n}.jsonl"),
        }
    }

    /// Appends `result` as one line, written whole with one `write` (no
    /// fsync: a killed process loses nothing the OS has, like the run logs;
    /// a torn line from a crashed machine is cut on the next open).
    pub fn record(&mut self, result: ItemResult) -> Result<(), ResultsError> {
        let path = self.dir.join(RESULTS_FILE);
        let mut line = serde_json::to_string(&result).map_err(|e| ResultsError::Malformed {
            path: path.clone(),
            line: 0,
            detail: e.to_string(),
        })?;
        line.push('\n');
        self.results
            .write_all(line.as_bytes())
            .map_err(io_err(&path))?;
        self.done.insert((result.id.clone(), result.sample), result);
        Ok(())
    }
}

/// What a run directory's `header.json` holds: a strategy run's
/// [`BenchHeader`], or a protocol's own header (RealCritic's
/// [`CriticHeader`](crate::realcritic::CriticHeader)).
pub trait DirHeader: Serialize + serde::de::DeserializeOwned {
    /// The fields in which `other` would be a different run (a rerun with
    /// such a header may not continue this directory).
    fn run_differences(&self, other: &Self) -> Vec<String>;
}

/// A header read as plain JSON (a protocol's, in `hone bench merge`).
impl DirHeader for serde_json::Value {
    fn run_differences(&self, other: &Self) -> Vec<String> {
        json_differences(self, other)
    }
}

/// The top-level fields in which two headers' JSON differ, build fields
/// (`hone_version`, `git_revision`) aside: a protocol header's
/// [`DirHeader::run_differences`].
pub fn json_differences<H: Serialize>(a: &H, b: &H) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["header".into()];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !BenchHeader::BUILD_FIELDS.contains(&k.as_str()))
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// The sha256 of the source of every template of `templates` whose name
/// starts with `prefix` (a protocol's own templates).
pub fn template_hashes(
    templates: &hone_core::templates::Templates,
    prefix: &str,
) -> BTreeMap<String, String> {
    templates
        .names()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .filter_map(|name| {
            let source = templates.source(name)?;
            Some((name.to_string(), sha256_hex(source.as_bytes())))
        })
        .collect()
}

impl DirHeader for BenchHeader {
    fn run_differences(&self, other: &Self) -> Vec<String> {
        self.differences(other, false)
    }
}

/// Reads `dir`'s header.
pub fn read_header(dir: &Path) -> Result<BenchHeader, ResultsError> {
    read_header_as(dir)
}

/// Reads `dir`'s header as `H`.
pub fn read_header_as<H: serde::de::DeserializeOwned>(dir: &Path) -> Result<H, ResultsError> {
    let path = dir.join(HEADER_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|e| ResultsError::Malformed {
        path,
        line: e.line(),
        detail: format!("not a hone bench header of this kind: {e}"),
    })
}

/// Reads `dir`'s results (a torn last line is left out).
pub fn read_results(dir: &Path) -> Result<Vec<ItemResult>, ResultsError> {
    let (done, _) = read_results_prefix(&dir.join(RESULTS_FILE))?;
    Ok(done.into_values().collect())
}

/// The results of the whole lines of `path`, and the byte length they
/// span. Only the last line may be torn (no newline, or not JSON); a bad
/// line before it is an error.
fn read_results_prefix(
    path: &Path,
) -> Result<(BTreeMap<ResultKey, ItemResult>, u64), ResultsError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((BTreeMap::new(), 0)),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut done = BTreeMap::new();
    let mut good = 0usize;
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < bytes.len() {
        line_no += 1;
        let Some(rel_end) = bytes[start..].iter().position(|b| *b == b'\n') else {
            break; // torn: no newline
        };
        let end = start + rel_end;
        let parsed = std::str::from_utf8(&bytes[start..end])
            .ok()
            .and_then(|l| serde_json::from_str::<ItemResult>(l).ok());
        match parsed {
            Some(result) => {
                done.insert((result.id.clone(), result.sample), result);
                good = end + 1;
            }
            None if end + 1 == bytes.len() => break, // torn last line
            None => {
                return Err(ResultsError::Malformed {
                    path: path.to_path_buf(),
                    line: line_no,
                    detail: "not a result line".into(),
                })
            }
        }
        start = end + 1;
    }
    Ok((done, good as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str) -> ItemResult {
        ItemResult {
            id: id.into(),
            passed: true,
            verified: true,
            stop: "finished".into(),
            answer: Some("a".into()),
            detail: String::new(),
            calls: 1,
            cache_hits: 0,
            input_tokens: 1,
            output_tokens: 1,
            wall_ms: 1.0,
            log: RunDir::log_of(id, 0),
            sample: 0,
            critic: None,
            mint: None,
            review: None,
        }
    }

    #[test]
    fn a_strategy_header_leaves_out_the_protocols_templates() {
        let templates = hone_agents::templates::embedded();
        assert!(templates
            .names()
            .iter()
            .any(|n| n.starts_with("realcritic_")));
        let h = header().with_templates(&templates);
        assert!(
            h.templates.contains_key("refine_critic.j2"),
            "{:?}",
            h.templates
        );
        assert!(
            !h.templates.keys().any(|n| n.starts_with("realcritic_")),
            "{:?}",
            h.templates
        );
    }

    fn header() -> BenchHeader {
        let suite = crate::item::Suite::from_jsonl(
            "s",
            "{\"id\": \"a\", \"question\": \"?\", \"reference\": \"1\"}\n{\"id\": \"b\", \"question\": \"?\", \"reference\": \"2\"}",
            "s.jsonl",
        )
        .unwrap();
        BenchHeader::new(&suite, RunHeader::new("single-shot", "scripted"))
    }

    #[test]
    fn shards_partition_the_items() {
        let ids: Vec<String> = (0..200).map(|i| format!("HumanEval/{i}")).collect();
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        for id in &ids {
            assert_eq!(shards.iter().filter(|s| s.holds(id)).count(), 1, "{id}");
        }
        for s in &shards {
            let n = ids.iter().filter(|id| s.holds(id)).count();
            assert!(n > 20, "shard {s} holds only {n} of 200");
        }
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1", "a/2", "0/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_torn_last_line_is_cut_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = RunDir::open(dir.path(), &header()).unwrap();
        run.record(result("a")).unwrap();
        drop(run);
        let path = dir.path().join(RESULTS_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        let whole = text.len();
        text.push_str("{\"id\": \"b\", \"pass");
        std::fs::write(&path, &text).unwrap();
        let mut run = RunDir::open(dir.path(), &header()).unwrap();
        assert!(run.is_done("a", 0) && !run.is_done("b", 0) && run.done().len() == 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, whole);
        run.record(result("b")).unwrap();
        let ids: Vec<String> = read_results(dir.path())
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        drop(run);
        // A bad line before the end is not a torn write: it is an error.
        std::fs::write(&path, format!("garbage\n{}", &text[..whole])).unwrap();
        let err = RunDir::open(dir.path(), &header()).unwrap_err().to_string();
        assert!(err.contains(":1:"), "{err}");
    }

    #[test]
    fn one_writer_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunDir::open(dir.path(), &header()).unwrap();
        let err = RunDir::open(dir.path(), &header()).unwrap_err();
        assert!(matches!(err, ResultsError::Busy { .. }), "{err}");
        // The lock comes before anything is read or written: a second
        // writer with other settings is refused as busy, and the header
        // stays the first writer's.
        let before = std::fs::read_to_string(dir.path().join(HEADER_FILE)).unwrap();
        let mut other = header();
        other.max_rounds = 9;
        let err = RunDir::open(dir.path(), &other).unwrap_err();
        assert!(matches!(err, ResultsError::Busy { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(HEADER_FILE)).unwrap(),
            before
        );
        drop(first);
        assert!(RunDir::open(dir.path(), &header()).is_ok());
    }

    #[test]
    fn a_directory_of_another_run_is_refused_naming_the_fields() {
        let dir = tempfile::tempdir().unwrap();
        RunDir::open(dir.path(), &header()).unwrap();
        let mut other = header();
        other.strategy = RunHeader::new("self-refine", "scripted");
        other.max_rounds = 2;
        let err = RunDir::open(dir.path(), &other).unwrap_err().to_string();
        assert!(err.contains("max_rounds, strategy"), "{err}");
        // Another build of hone may continue the run.
        let mut rebuilt = header();
        rebuilt.git_revision = Some("abc".into());
        assert!(RunDir::open(dir.path(), &rebuilt).is_ok());
        assert_eq!(header().all_differences(&rebuilt, false), ["git_revision"]);
        let mut sharded = header();
        sharded.shard = Some(Shard { index: 0, count: 2 });
        assert!(header().differences(&sharded, true).is_empty());
        assert_eq!(header().differences(&sharded, false), ["shard"]);
    }

    #[test]
    fn log_names_are_safe_and_distinct() {
        assert_ne!(RunDir::log_of("a/b", 0), RunDir::log_of("a_b", 0));
        assert_ne!(RunDir::log_of("a", 0), RunDir::log_of("a", 1));
        assert!(RunDir::log_of("HumanEval/0", 0).starts_with("runs/HumanEval_0-"));
    }
}
