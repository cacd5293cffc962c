//! `hone bench run review`: the review bot's ablation over review items
//! (`hone bench review-set` writes a development set), and its report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use hone_bench::results::{read_header_as, read_results, ItemResult, RunDir, Shard};
use hone_bench::review::metrics::{ablation_markdown, best_threshold, threshold_markdown};
use hone_bench::review::{read_items, ReviewHeader, ReviewItem, ReviewRun, Variant};
use hone_core::config::ConfigFile;
use hone_review::pipeline::{ReviewOptions, DEFAULT_MIN_SCORE};
use hone_sandbox::{Sandbox, SandboxConfig};

use crate::bench::{model_identity, model_sha256, Reporter};
use crate::cli::{BenchRunArgs, Global};

/// Characters of diff per actor call in benchmark runs (an item is one
/// small file, so one chunk).
const CHUNK_CHARS: usize = 6000;

/// The items `--ids`, `--limit` and `--shard` select, and the shard.
fn select(
    mut items: Vec<ReviewItem>,
    args: &BenchRunArgs,
) -> Result<(Vec<ReviewItem>, Option<Shard>)> {
    if let Some(ids) = &args.ids {
        let known: std::collections::HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
        if let Some(missing) = ids.iter().find(|id| !known.contains(id.as_str())) {
            bail!("--ids: no review item {missing:?}");
        }
        items.retain(|i| ids.contains(&i.id));
    }
    if let Some(limit) = args.limit {
        items.truncate(limit);
    }
    if items.is_empty() {
        bail!("no review items selected");
    }
    let shard = crate::bench::keep_shard(&mut items, args, |i| i.id.clone())?;
    Ok((items, shard))
}

pub async fn run(global: &Global, config: &ConfigFile, args: BenchRunArgs) -> Result<ExitCode> {
    let p = &args.protocol;
    let Some(data) = &p.data else {
        bail!("hone bench run review needs --data: a JSONL file of review items (`hone bench review-set` writes one)");
    };
    if args.strategy.strategy.is_some() || p.mode.is_some() || p.k.is_some() || p.sets.is_some() {
        bail!("review runs its own pipeline: --strategy, --mode, --k and --sets do not apply");
    }
    if args.samples != 1 || args.max_run_seconds.is_some() {
        bail!("review does not take --samples or --max-run-seconds yet");
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let min_score = p.min_score.unwrap_or(DEFAULT_MIN_SCORE);
    if min_score > 10 {
        bail!("--min-score is 0-10, got {min_score}");
    }
    let variants: Vec<Variant> = match &p.variants {
        Some(names) => names
            .iter()
            .map(|n| Variant::parse(n).map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?,
        None => Variant::ALL.to_vec(),
    };
    let (items, dataset_sha256) = read_items(data)?;
    let (items, shard) = select(items, &args)?;
    let (model, choice) = crate::models::build(global, config)?;
    let templates = crate::models::templates(global)?;
    let base = ReviewOptions {
        max_tokens: args
            .strategy
            .max_tokens
            .unwrap_or(ReviewOptions::default().max_tokens),
        ..ReviewOptions::default()
    };
    let buggy = items.iter().filter(|i| !i.expected.is_empty()).count();
    eprintln!(
        "hone bench: review on {} ({} items: {buggy} buggy, {} clean), variants {} into {}",
        data.display(),
        items.len(),
        items.len() - buggy,
        variants
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    );
    let sandbox = Sandbox::new(SandboxConfig::default());
    let mut failed = 0;
    let mut dirs = Vec::new();
    for variant in variants {
        let out = args.out.join(variant.name());
        let header = ReviewHeader {
            protocol: "review".into(),
            hone_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: option_env!("HONE_GIT_REVISION").map(str::to_string),
            variant,
            options: variant.options(&base),
            chunk_chars: CHUNK_CHARS,
            dataset_sha256: dataset_sha256.clone(),
            limit: args.limit,
            model: model_identity(&model.descriptor()),
            model_sha256: model_sha256(&choice),
            templates: ReviewHeader::template_hashes(&templates),
            shard,
        };
        let mut dir = RunDir::open(&out, &header)?;
        let wanted: std::collections::HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let already: Vec<bool> = dir
            .done()
            .iter()
            .filter(|((id, _), _)| wanted.contains(id.as_str()))
            .map(|(_, r)| r.passed)
            .collect();
        eprintln!("== variant {} into {}", variant.name(), out.display());
        let run = ReviewRun {
            model: model.clone(),
            templates: templates.clone(),
            sandbox: sandbox.clone(),
            header,
            jobs: args.jobs,
        };
        let reporter = Reporter::new(
            items.len(),
            already.len(),
            already.iter().filter(|p| **p).count(),
        );
        let totals = run.run(&items, &mut dir, &|p| reporter.report(p)).await?;
        reporter.finish();
        failed += totals.failed;
        dirs.push(out);
    }
    print_tables(&dirs, min_score)?;
    if failed > 0 {
        eprintln!(
            "{failed} item(s) failed and were not recorded; rerun the same command to retry them"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn read_runs(dirs: &[PathBuf]) -> Result<Vec<(String, ReviewHeader, Vec<ItemResult>)>> {
    dirs.iter()
        .map(|d| {
            let header: ReviewHeader =
                read_header_as(d).with_context(|| format!("reading {}", d.display()))?;
            let results = read_results(d)?;
            Ok((header.variant.name().to_string(), header, results))
        })
        .collect()
}

fn print_tables(dirs: &[PathBuf], min_score: u8) -> Result<()> {
    let mut runs = read_runs(dirs)?;
    // Variants are compared on the items every one of them finished.
    let common: std::collections::BTreeSet<String> = runs
        .iter()
        .map(|(_, _, r)| {
            r.iter()
                .map(|i| i.id.clone())
                .collect::<std::collections::BTreeSet<_>>()
        })
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default();
    let finished: Vec<usize> = runs.iter().map(|(_, _, r)| r.len()).collect();
    for (_, _, results) in &mut runs {
        results.retain(|r| common.contains(&r.id));
    }
    let rows: Vec<(String, Vec<ItemResult>)> = runs
        .iter()
        .map(|(n, _, r)| (n.clone(), r.clone()))
        .collect();
    println!(
        "Review ablation at --min-score {min_score} on the {} item(s) every variant finished (finished: {}); variants without a critic post every anchored finding:\n",
        common.len(),
        runs.iter()
            .zip(&finished)
            .map(|((n, _, _), f)| format!("{n} {f}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print!("{}", ablation_markdown(&rows, min_score));
    for (name, header, results) in &runs {
        if header.options.critic {
            println!(
                "\n{name}: by threshold (best balanced accuracy at {}):\n",
                best_threshold(results)
            );
            print!("{}", threshold_markdown(results));
        }
    }
    Ok(())
}

/// `hone bench report` of review run directories (one per variant).
pub fn report(dirs: &[PathBuf], json: bool, html: Option<&Path>) -> Result<ExitCode> {
    if html.is_some() {
        bail!("--html is not drawn for review runs yet; the tables print as Markdown (or --json)");
    }
    if json {
        let runs = read_runs(dirs)?;
        let by_dir: std::collections::BTreeMap<String, _> = dirs
            .iter()
            .zip(&runs)
            .map(|(d, (_, h, r))| {
                (
                    d.display().to_string(),
                    hone_bench::review::metrics::metrics(
                        r,
                        if h.options.critic {
                            DEFAULT_MIN_SCORE
                        } else {
                            0
                        },
                    ),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&by_dir)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_tables(dirs, DEFAULT_MIN_SCORE)?;
    Ok(ExitCode::SUCCESS)
}
