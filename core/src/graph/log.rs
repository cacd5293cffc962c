//! The JSONL run log: one record per line, written as the run goes.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::budget::{Budget, UsageCount};
use crate::file_lock::try_lock_exclusive;
use crate::graph::{GraphError, StopReason};

/// Version of the log format.
pub(crate) const LOG_FORMAT: u32 = 1;

/// One line of a run log. `T` is the state type (`&S` when writing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum LogRecord<T> {
    /// First line: what ran, on what.
    Header {
        /// Log format version.
        format: u32,
        /// Run id.
        run_id: String,
        /// Graph name.
        graph: String,
        /// Graph fingerprint (see [`Graph::fingerprint`](crate::graph::Graph::fingerprint)).
        fingerprint: String,
        /// The budget the run started with.
        budget: Budget,
        /// The initial state.
        initial: T,
        /// Free-form metadata from the caller (task, strategy, model…).
        #[serde(default)]
        meta: serde_json::Value,
    },
    /// A node began. Its input is the previous committed state, or the job's
    /// recorded input inside a fan-out.
    Started {
        /// Step number.
        step: u64,
        /// Node name.
        node: String,
        /// Fan-out branch index.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
    },
    /// A node finished; its output is committed.
    Finished {
        /// Step number.
        step: u64,
        /// Node name.
        node: String,
        /// Fan-out branch index.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The node's output.
        output: T,
        /// Model usage of the step, per model.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        usage: BTreeMap<String, UsageCount>,
        /// Run wall time so far, in milliseconds.
        elapsed_ms: u64,
    },
    /// A fan-out began: the jobs and their inputs.
    Parallel {
        /// Node names of the jobs, in order.
        nodes: Vec<String>,
        /// Input state of each job.
        inputs: Vec<T>,
    },
    /// A fan-out's outputs were merged.
    Merged {
        /// The merged state.
        state: T,
    },
    /// A node failed (informational; the run ends right after).
    Failed {
        /// Step number.
        step: u64,
        /// Node name.
        node: String,
        /// The error.
        error: String,
    },
    /// The run ended.
    Ended {
        /// Why.
        stop: StopReason,
        /// The final state.
        state: T,
        /// Steps taken.
        steps: u64,
    },
}

/// The exclusive right to write a run log, held while the value lives.
///
/// An advisory OS lock (`flock`) on the log file itself, taken without
/// waiting: a second process that wants to write the same log gets
/// [`GraphError::Locked`]. The OS drops the lock when its process ends, even
/// on `kill -9`, so nothing left behind ever blocks a resume. One file per
/// run, not a lock file beside it: creating a second file per run was most
/// of a benchmark item's cost (docs/results/bench-runner.md). (On platforms
/// without `flock` the log is not locked.)
pub(crate) struct RunLock {
    file: File,
}

impl RunLock {
    /// Opens the existing `log` for writing and takes its lock.
    pub(crate) fn acquire(log: &Path) -> Result<Self, GraphError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(log)
            .map_err(|source| GraphError::Io {
                path: log.to_path_buf(),
                source,
            })?;
        Self::lock(log, file)
    }

    fn lock(log: &Path, file: File) -> Result<Self, GraphError> {
        let locked = try_lock_exclusive(&file).map_err(|source| GraphError::Io {
            path: log.to_path_buf(),
            source,
        })?;
        if !locked {
            return Err(GraphError::Locked {
                path: log.to_path_buf(),
                lock: log.to_path_buf(),
            });
        }
        Ok(RunLock { file })
    }
}

/// Appends records, one JSON line each, handing every line to the OS before
/// the step continues (so `kill -9` loses nothing committed). With
/// `fsync = true` every line is also synced to disk (power-loss safe, slower).
/// Holds the log's [`RunLock`] for as long as it lives.
pub(crate) struct LogWriter {
    path: PathBuf,
    out: BufWriter<File>,
    fsync: bool,
    line: Vec<u8>,
}

impl LogWriter {
    pub(crate) fn create(path: &Path, fsync: bool) -> Result<Self, GraphError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| GraphError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| GraphError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self::wrap(path, RunLock::lock(path, file)?, fsync))
    }

    /// Appends after truncating to `valid_len` bytes (dropping a torn last
    /// line), through the descriptor that holds the lock, which must have
    /// been taken before the log was read.
    pub(crate) fn append(
        path: &Path,
        valid_len: u64,
        fsync: bool,
        lock: RunLock,
    ) -> Result<Self, GraphError> {
        let io = |source| GraphError::Io {
            path: path.to_path_buf(),
            source,
        };
        lock.file.set_len(valid_len).map_err(io)?;
        let mut w = Self::wrap(path, lock, fsync);
        use std::io::Seek;
        w.out
            .get_mut()
            .seek(std::io::SeekFrom::Start(valid_len))
            .map_err(io)?;
        Ok(w)
    }

    /// A writer on the locked descriptor: the lock lives as long as it.
    fn wrap(path: &Path, lock: RunLock, fsync: bool) -> Self {
        LogWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(lock.file),
            fsync,
            line: Vec::with_capacity(256),
        }
    }

    pub(crate) fn write<T: Serialize>(&mut self, record: &LogRecord<T>) -> Result<(), GraphError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        let io = |source| GraphError::Io {
            path: self.path.clone(),
            source,
        };
        self.out.write_all(&self.line).map_err(io)?;
        self.out.flush().map_err(io)?;
        if self.fsync {
            self.out.get_ref().sync_data().map_err(io)?;
        }
        Ok(())
    }
}

/// The records of a log and the byte length of its valid prefix.
pub(crate) struct ParsedLog<S> {
    pub(crate) records: Vec<(usize, LogRecord<S>)>,
    pub(crate) valid_len: u64,
}

/// Reads a run log. A last line that does not parse is a write torn by a
/// kill and is dropped; a bad line before the end is an error naming it.
pub(crate) fn parse_log<S: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<ParsedLog<S>, GraphError> {
    let file = File::open(path).map_err(|source| GraphError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut valid_len = 0u64;
    // Bytes, not a `String`: a write torn inside a multi-byte character is
    // not valid UTF-8, and must be dropped like any other torn line.
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut pending_error: Option<(usize, String)> = None;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| GraphError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some((line, problem)) = pending_error.take() {
            return Err(GraphError::Log {
                path: path.to_path_buf(),
                line,
                problem,
            });
        }
        let complete = buf.ends_with(b"\n");
        let parsed = std::str::from_utf8(&buf)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|text| {
                serde_json::from_str::<LogRecord<S>>(text.trim_end()).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(record) if complete => {
                records.push((line_no, record));
                valid_len += n as u64;
            }
            Ok(_) => pending_error = Some((line_no, "unterminated last line".into())),
            Err(problem) => pending_error = Some((line_no, problem)),
        }
    }
    if let Some((line, problem)) = pending_error {
        tracing::warn!(path = %path.display(), line, %problem, "dropping torn last line of run log");
    }
    Ok(ParsedLog { records, valid_len })
}

/// A summary of a run log, for display (`hone show`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunLogSummary {
    /// Run id.
    pub run_id: String,
    /// Graph name.
    pub graph: String,
    /// Caller metadata from the header.
    pub meta: serde_json::Value,
    /// Every record, in order, with states as JSON.
    pub records: Vec<LogRecord<serde_json::Value>>,
    /// The end, if the run ended.
    pub stop: Option<StopReason>,
    /// Completed node executions per node.
    pub node_runs: BTreeMap<String, u64>,
    /// Usage per model, summed over committed steps.
    pub usage: BTreeMap<String, UsageCount>,
}

/// Reads any run log without knowing its state type.
///
/// ```
/// # use hone_core::graph::read_run_log;
/// assert!(read_run_log(std::path::Path::new("/no/such/run.jsonl")).is_err());
/// ```
pub fn read_run_log(path: &Path) -> Result<RunLogSummary, GraphError> {
    let parsed = parse_log::<serde_json::Value>(path)?;
    let mut summary = RunLogSummary {
        run_id: String::new(),
        graph: String::new(),
        meta: serde_json::Value::Null,
        records: Vec::new(),
        stop: None,
        node_runs: BTreeMap::new(),
        usage: BTreeMap::new(),
    };
    for (i, (line, record)) in parsed.records.into_iter().enumerate() {
        match &record {
            LogRecord::Header {
                run_id,
                graph,
                meta,
                ..
            } => {
                summary.run_id = run_id.clone();
                summary.graph = graph.clone();
                summary.meta = meta.clone();
            }
            _ if i == 0 => {
                return Err(GraphError::Log {
                    path: path.to_path_buf(),
                    line,
                    problem: "the first record is not a header".into(),
                })
            }
            LogRecord::Finished { node, usage, .. } => {
                *summary.node_runs.entry(node.clone()).or_default() += 1;
                for (m, u) in usage {
                    summary.usage.entry(m.clone()).or_default().add(u);
                }
            }
            LogRecord::Ended { stop, .. } => summary.stop = Some(stop.clone()),
            _ => {}
        }
        summary.records.push(record);
    }
    if summary.records.is_empty() {
        return Err(GraphError::Log {
            path: path.to_path_buf(),
            line: 1,
            problem: "empty run log".into(),
        });
    }
    Ok(summary)
}
