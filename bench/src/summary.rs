//! What a finished run says: its score with an interval, its cost, and how
//! two runs over the same items compare item by item; merged shards.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::results::{read_header, read_results, BenchHeader, ItemResult, ResultsError};
use crate::stats::{
    bootstrap_mean, mcnemar_exact, paired_bootstrap, pass_at_k, wilson, PairedDifference,
};

/// One run directory, read.
#[derive(Debug, Clone)]
pub struct RunData {
    /// Where it was read from.
    pub dir: PathBuf,
    /// Its header.
    pub header: BenchHeader,
    /// Its results of the first draw, by id: what scores, comparisons and
    /// reports use.
    pub results: BTreeMap<String, ItemResult>,
    /// Every draw's result, by id (more than one per id with `--samples`).
    pub draws: BTreeMap<String, Vec<ItemResult>>,
}

impl RunData {
    /// Reads a run directory.
    pub fn read(dir: &Path) -> Result<RunData, ResultsError> {
        let header = read_header(dir)?;
        Ok(Self::from_results(dir, header, read_results(dir)?))
    }

    /// A run from its header and results (in any order).
    pub fn from_results(dir: &Path, header: BenchHeader, all: Vec<ItemResult>) -> RunData {
        let mut draws: BTreeMap<String, Vec<ItemResult>> = BTreeMap::new();
        for r in all {
            draws.entry(r.id.clone()).or_default().push(r);
        }
        for list in draws.values_mut() {
            list.sort_by_key(|r| r.sample);
        }
        let results = draws
            .values()
            .filter_map(|list| list.iter().find(|r| r.sample == 0).cloned())
            .map(|r| (r.id.clone(), r))
            .collect();
        RunData {
            dir: dir.to_path_buf(),
            header,
            results,
            draws,
        }
    }

    /// pass@k for k = 1, 2, 4, ... up to the draws per item, over the
    /// items that have all their draws, with a 95% bootstrap interval over
    /// items. Empty without `--samples`.
    pub fn pass_at_k(&self) -> Vec<PassAtK> {
        let n = self.header.samples;
        if n < 2 {
            return Vec::new();
        }
        let complete: Vec<u32> = self
            .draws
            .values()
            .filter(|list| list.len() as u32 == n)
            .map(|list| list.iter().filter(|r| r.passed).count() as u32)
            .collect();
        let mut ks = Vec::new();
        let mut k = 1;
        while k < n {
            ks.push(k);
            k *= 2;
        }
        ks.push(n);
        ks.into_iter()
            .map(|k| {
                let per_item: Vec<f64> = complete.iter().map(|c| pass_at_k(n, *c, k)).collect();
                PassAtK {
                    k,
                    items: per_item.len(),
                    estimate: per_item.iter().sum::<f64>() / per_item.len().max(1) as f64,
                    interval: bootstrap_mean(&per_item),
                }
            })
            .collect()
    }

    /// Its summary.
    pub fn summary(&self) -> RunSummaryRow {
        let items = self.results.len() as u64;
        let passed = self.results.values().filter(|r| r.passed).count() as u64;
        let calls: Vec<f64> = self.results.values().map(|r| r.calls as f64).collect();
        let tokens: Vec<f64> = self
            .results
            .values()
            .map(|r| (r.input_tokens + r.output_tokens) as f64)
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        RunSummaryRow {
            dir: self.dir.display().to_string(),
            suite: self.header.suite.clone(),
            strategy: self.header.strategy.strategy.clone(),
            model: self.header.model.clone(),
            items,
            selected: self.header.selected,
            passed,
            score: passed as f64 / items.max(1) as f64,
            score_interval: wilson(passed, items),
            mean_calls: mean(&calls),
            calls_interval: bootstrap_mean(&calls),
            mean_tokens: mean(&tokens),
            total_calls: calls.iter().sum::<f64>() as u64,
            cache_hits: self.results.values().map(|r| r.cache_hits).sum(),
            wall_seconds: self
                .draws
                .values()
                .flatten()
                .map(|r| r.wall_ms)
                .sum::<f64>()
                / 1000.0,
            pass_at_k: self.pass_at_k(),
        }
    }
}

/// The unbiased pass@k of a run drawn several times per item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassAtK {
    /// k.
    pub k: u32,
    /// Items with all their draws.
    pub items: usize,
    /// Mean over items of the per-item estimate.
    pub estimate: f64,
    /// 95% bootstrap interval over items.
    pub interval: (f64, f64),
}

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummaryRow {
    /// The run directory.
    pub dir: String,
    /// Suite.
    pub suite: String,
    /// Strategy.
    pub strategy: String,
    /// Model.
    pub model: String,
    /// Items with a result.
    pub items: u64,
    /// Items the run selected (a partial run has fewer results).
    pub selected: usize,
    /// Items that passed.
    pub passed: u64,
    /// passed / items.
    pub score: f64,
    /// 95% Wilson interval of the score.
    pub score_interval: (f64, f64),
    /// Mean model calls per item.
    pub mean_calls: f64,
    /// 95% bootstrap interval of the mean calls.
    pub calls_interval: (f64, f64),
    /// Mean tokens (prompt and generated) per item.
    pub mean_tokens: f64,
    /// All model calls.
    pub total_calls: u64,
    /// Of those, from the response cache.
    pub cache_hits: u64,
    /// Sum of the items' wall times (every draw), in seconds.
    pub wall_seconds: f64,
    /// pass@k with `--samples` (empty otherwise).
    pub pass_at_k: Vec<PassAtK>,
}

/// A Markdown table of `rows`.
pub fn markdown_table(rows: &[RunSummaryRow]) -> String {
    let mut out = String::from(
        "| run | suite | strategy | items | score | 95% CI | mean calls (95% CI) | mean tokens | cache hits | wall |\n\
         |---|---|---|---:|---:|---|---|---:|---:|---:|\n",
    );
    for r in rows {
        let partial = if (r.items as usize) < r.selected {
            format!(" of {}", r.selected)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}{} | {:.1}% ({}/{}) | {:.1}–{:.1}% | {:.2} ({:.2}–{:.2}) | {:.0} | {} | {:.0} s |",
            r.dir,
            r.suite,
            r.strategy,
            r.items,
            partial,
            100.0 * r.score,
            r.passed,
            r.items,
            100.0 * r.score_interval.0,
            100.0 * r.score_interval.1,
            r.mean_calls,
            r.calls_interval.0,
            r.calls_interval.1,
            r.mean_tokens,
            r.cache_hits,
            r.wall_seconds
        );
    }
    for r in rows.iter().filter(|r| !r.pass_at_k.is_empty()) {
        let ks: Vec<String> = r
            .pass_at_k
            .iter()
            .map(|p| {
                format!(
                    "pass@{} {:.1}% ({:.1}–{:.1}%)",
                    p.k,
                    100.0 * p.estimate,
                    100.0 * p.interval.0,
                    100.0 * p.interval.1
                )
            })
            .collect();
        let items = r.pass_at_k.first().map_or(0, |p| p.items);
        let _ = writeln!(out, "\n{}: {} over {items} items", r.dir, ks.join(", "));
    }
    out
}

/// Two runs compared item by item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Items in both runs.
    pub items: usize,
    /// Passed in both.
    pub both: u64,
    /// Passed only in A.
    pub only_a: u64,
    /// Passed only in B.
    pub only_b: u64,
    /// Passed in neither.
    pub neither: u64,
    /// Exact McNemar p-value of the pass/fail difference.
    pub p_value: f64,
    /// Paired difference of model calls per item (B − A).
    pub calls: PairedDifference,
}

/// Why two runs cannot be compared or merged.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    /// The runs hold different items.
    #[error("the runs hold different items ({only_a} only in {a}, {only_b} only in {b}, e.g. {example:?}); compare runs over the same items (finish or --ids)")]
    DifferentItems {
        /// Run A.
        a: String,
        /// Run B.
        b: String,
        /// Items only A holds.
        only_a: usize,
        /// Items only B holds.
        only_b: usize,
        /// One of them.
        example: String,
    },
    /// The runs are of different suites or datasets.
    #[error("{a} and {b} are not runs of the same items")]
    DifferentSuites {
        /// Run A: its directory, suite and data hash.
        a: String,
        /// Run B: the same.
        b: String,
    },
    /// Shards disagree on what was run.
    #[error("{dir} was run with other settings than {first} ({fields} differ); shards of one run share every setting")]
    Mismatch {
        /// The shard that differs.
        dir: String,
        /// The first shard.
        first: String,
        /// Differing header fields.
        fields: String,
    },
    /// Two shards hold the same item with different results.
    #[error("item {id:?} is in {a} and {b} with different results")]
    Conflict {
        /// The item.
        id: String,
        /// One shard.
        a: String,
        /// The other.
        b: String,
    },
    /// Reading a run failed.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// Compares runs `a` and `b` item by item; they must hold the same items of
/// the same suite.
pub fn compare(a: &RunData, b: &RunData) -> Result<Comparison, PairingError> {
    let name = |r: &RunData| r.dir.display().to_string();
    if a.header.suite != b.header.suite || a.header.dataset_sha256 != b.header.dataset_sha256 {
        let shown = |r: &RunData| {
            format!(
                "{} ({}, data {:.12})",
                name(r),
                r.header.suite,
                r.header.dataset_sha256
            )
        };
        return Err(PairingError::DifferentSuites {
            a: shown(a),
            b: shown(b),
        });
    }
    let only_a: Vec<&String> = a
        .results
        .keys()
        .filter(|k| !b.results.contains_key(*k))
        .collect();
    let only_b: Vec<&String> = b
        .results
        .keys()
        .filter(|k| !a.results.contains_key(*k))
        .collect();
    if !only_a.is_empty() || !only_b.is_empty() || a.results.is_empty() {
        return Err(PairingError::DifferentItems {
            a: name(a),
            b: name(b),
            only_a: only_a.len(),
            only_b: only_b.len(),
            example: only_a
                .first()
                .or(only_b.first())
                .map(|s| s.to_string())
                .unwrap_or_else(|| "(no items)".into()),
        });
    }
    let (mut both, mut oa, mut ob, mut neither) = (0, 0, 0, 0);
    let mut calls_a = Vec::new();
    let mut calls_b = Vec::new();
    for (id, ra) in &a.results {
        let rb = &b.results[id];
        match (ra.passed, rb.passed) {
            (true, true) => both += 1,
            (true, false) => oa += 1,
            (false, true) => ob += 1,
            (false, false) => neither += 1,
        }
        calls_a.push(ra.calls as f64);
        calls_b.push(rb.calls as f64);
    }
    Ok(Comparison {
        items: a.results.len(),
        both,
        only_a: oa,
        only_b: ob,
        neither,
        p_value: mcnemar_exact(oa, ob),
        calls: paired_bootstrap(&calls_a, &calls_b),
    })
}

/// Merges shard directories of one run: their headers must agree on every
/// setting but the shard, and an item in two shards must have one result.
pub fn merge(shards: &[RunData]) -> Result<(BenchHeader, Vec<ItemResult>), PairingError> {
    let Some(first) = shards.first() else {
        return Err(no_shards());
    };
    for shard in shards {
        let differ = first.header.differences(&shard.header, true);
        if !differ.is_empty() {
            return Err(PairingError::Mismatch {
                dir: shard.dir.display().to_string(),
                first: first.dir.display().to_string(),
                fields: differ.join(", "),
            });
        }
    }
    let results = union_of_shards(shards.iter().map(|s| {
        (
            s.dir.as_path(),
            s.draws.values().flatten().cloned().collect(),
        )
    }))?;
    let mut header = first.header.clone();
    header.shard = None;
    Ok((header, results))
}

/// Merges shard directories of one protocol run (MINT, RealCritic,
/// review), whose headers are read as JSON: they must agree on every field
/// but `shard` and the build fields, and an item in two shards must have
/// one result. The merged header has no `shard`.
pub fn merge_protocol(
    dirs: &[std::path::PathBuf],
) -> Result<(serde_json::Value, Vec<ItemResult>), MergeError> {
    let mut shards = Vec::new();
    for dir in dirs {
        let mut header: serde_json::Value = crate::results::read_header_as(dir)?;
        if let Some(fields) = header.as_object_mut() {
            fields.remove("shard");
        }
        shards.push((dir.as_path(), header, crate::results::read_results(dir)?));
    }
    let Some((first_dir, first, _)) = shards.first() else {
        return Err(no_shards().into());
    };
    for (dir, header, _) in &shards {
        let differ = crate::results::json_differences(first, header);
        if !differ.is_empty() {
            return Err(PairingError::Mismatch {
                dir: dir.display().to_string(),
                first: first_dir.display().to_string(),
                fields: differ.join(", "),
            }
            .into());
        }
    }
    let header = first.clone();
    let results = union_of_shards(shards.into_iter().map(|(dir, _, results)| (dir, results)))?;
    Ok((header, results))
}

/// Why protocol shards could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A shard's header or results could not be read.
    #[error(transparent)]
    Read(#[from] crate::results::ResultsError),
    /// The shards are not of one run.
    #[error(transparent)]
    Pairing(#[from] PairingError),
}

fn no_shards() -> PairingError {
    PairingError::DifferentItems {
        a: "(none)".into(),
        b: "(none)".into(),
        only_a: 0,
        only_b: 0,
        example: "(no shards given)".into(),
    }
}

/// The results of all shards, each item and draw once (a result in two
/// shards must be the same outcome), its log path pointing into its shard.
fn union_of_shards<'a>(
    shards: impl Iterator<Item = (&'a Path, Vec<ItemResult>)>,
) -> Result<Vec<ItemResult>, PairingError> {
    let mut merged: BTreeMap<(String, u32), (ItemResult, String)> = BTreeMap::new();
    for (dir, results) in shards {
        for result in results {
            let key = (result.id.clone(), result.sample);
            if let Some((existing, from)) = merged.get(&key) {
                if !same_outcome(existing, &result) {
                    return Err(PairingError::Conflict {
                        id: result.id.clone(),
                        a: from.clone(),
                        b: dir.display().to_string(),
                    });
                }
                continue;
            }
            let mut result = result;
            // The merged result points at the log in its shard's directory.
            result.log = dir.join(&result.log).display().to_string();
            merged.insert(key, (result, dir.display().to_string()));
        }
    }
    Ok(merged.into_values().map(|(r, _)| r).collect())
}

/// Same outcome: wall time and where the log lies aside.
pub fn same_outcome(a: &ItemResult, b: &ItemResult) -> bool {
    let key = |r: &ItemResult| ItemResult {
        wall_ms: 0.0,
        log: String::new(),
        ..r.clone()
    };
    key(a) == key(b)
}
