//! `hone bench`: run suites, merge shards, compare and report runs.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hone_agents::refine::RefineConfig;
use hone_bench::item::{Item, Suite};
use hone_bench::results::{BenchHeader, ItemBudget, RunDir, Selection, Shard};
use hone_bench::runner::{BenchRun, Progress};
use hone_bench::stats::wilson;
use hone_bench::summary::{compare, markdown_table, merge, RunData};
use hone_core::config::{ConfigFile, ModelChoice};
use hone_sandbox::{Sandbox, SandboxConfig};
use hone_tools::Harness;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{BenchCommand, BenchRunArgs, Global, Strategy};

pub async fn command(global: &Global, config: &ConfigFile, cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Run(args) => run(global, config, *args).await,
        BenchCommand::Merge { dirs, out } => merge_dirs(&dirs, &out),
        BenchCommand::Compare { a, b, json } => compare_dirs(&a, &b, json),
        BenchCommand::Report { dirs, json, html } => report(&dirs, json, html.as_deref()),
        BenchCommand::ReviewSet {
            out,
            seed,
            per_item,
            limit,
        } => review_set(&out, seed, per_item, limit).await,
    }
}

/// The suite `name`: a built-in one, or a JSONL file.
async fn load_suite(name: &str, sandbox: &Sandbox) -> Result<Suite> {
    if hone_bench::datasets::BUILTIN.contains(&name) {
        let cache = hone_core::config::cache_dir();
        return Ok(hone_bench::datasets::load(name, &cache, sandbox, &|m| eprintln!("{m}")).await?);
    }
    let path = Path::new(name);
    if !path.exists() {
        bail!(
            "no suite {name:?}: the built-in suites are {} (and the protocols realcritic and mint), or give a .jsonl file",
            hone_bench::datasets::BUILTIN.join(", ")
        );
    }
    Ok(Suite::read(path)?)
}

/// The items `args` select, in the suite's order.
fn select(suite: &Suite, args: &BenchRunArgs) -> Result<Vec<Item>> {
    let mut items: Vec<Item> = suite.items.clone();
    if let Some(ids) = &args.ids {
        let known: std::collections::HashSet<&str> = items.iter().map(|i| i.id()).collect();
        if let Some(missing) = ids.iter().find(|id| !known.contains(id.as_str())) {
            bail!("--ids: {} has no item {missing:?}", suite.name);
        }
        items.retain(|i| ids.iter().any(|id| id == i.id()));
    }
    if let Some(limit) = args.limit {
        items.truncate(limit);
    }
    if items.is_empty() {
        bail!("no items selected from {}", suite.name);
    }
    Ok(items)
}

/// The model as the header records it: backend, name and the endpoint's
/// host (not its path, nor a local file's path, which differ between the
/// machines of one sharded run; a local file is identified by its sha256).
pub(crate) fn model_identity(d: &hone_core::ModelDescriptor) -> String {
    let host = d
        .endpoint
        .as_deref()
        .and_then(|e| e.parse::<http::Uri>().ok())
        .and_then(|u| {
            u.authority().map(|a| {
                a.as_str()
                    .rsplit('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        });
    match host {
        Some(host) => format!("{} model {} at {host}", d.backend, d.model),
        None => format!("{} model {}", d.backend, d.model),
    }
}

/// sha256 of the local model file, where the backend is the local model.
pub(crate) fn model_sha256(choice: &ModelChoice) -> Option<String> {
    let ModelChoice::Local { path, model, .. } = choice else {
        return None;
    };
    #[cfg(feature = "local")]
    {
        use hone_local::provision::{find_model, KNOWN_MODELS};
        let known = match (path, model) {
            (Some(p), _) => {
                let file = p.file_name()?.to_string_lossy().into_owned();
                KNOWN_MODELS.iter().find(|m| m.file_name == file)
            }
            (None, Some(name)) => find_model(name),
            (None, None) => Some(hone_local::provision::default_model_spec()),
        };
        match (known, path) {
            (Some(spec), _) => Some(spec.sha256.to_string()),
            (None, Some(p)) => hone_local::provision::sha256_file(p).ok(),
            (None, None) => None,
        }
    }
    #[cfg(not(feature = "local"))]
    {
        let _ = (path, model);
        None
    }
}

async fn run(global: &Global, config: &ConfigFile, args: BenchRunArgs) -> Result<ExitCode> {
    match args.suite.as_str() {
        "realcritic" => return crate::realcritic::run(global, config, args).await,
        "mint" => return crate::mint::run(global, config, args).await,
        "review" => return crate::bench_review::run(global, config, args).await,
        _ => {}
    }
    let p = &args.protocol;
    if p.data.is_some() || p.mode.is_some() || p.sets.is_some() || p.k.is_some() {
        bail!(
            "--data, --mode, --sets and --k belong to the protocol suites realcritic and mint, not {}",
            args.suite
        );
    }
    if p.post_check || p.names_post_check_judge() {
        bail!(
            "--post-check and its model belong to suite realcritic, not {}",
            args.suite
        );
    }
    let shard = shard_arg(&args)?;
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let s = &args.strategy;
    if s.n == 0 {
        bail!("--n must be at least 1");
    }
    if args.samples == 0 {
        bail!("--samples must be at least 1");
    }
    if args.samples > 1 && !s.draws_differ() {
        bail!(
            "--samples {} needs sampling (--temperature above 0, or best-of-n with --n above 1): \
             at temperature 0 every draw is the same",
            args.samples
        );
    }
    let max_run_time = match args.max_run_seconds {
        Some(v) if v.is_finite() && v > 0.0 => Some(Duration::from_secs_f64(v)),
        Some(v) => bail!("--max-run-seconds must be a positive number, got {v}"),
        None => None,
    };
    if let Some(v) = s.max_seconds {
        if !(v.is_finite() && v > 0.0) {
            bail!("--max-seconds must be a positive number, got {v}");
        }
    }
    let sandbox = Sandbox::new(SandboxConfig::default());
    let suite = load_suite(&args.suite, &sandbox).await?;
    if s.chosen() == Strategy::RethinkMcts && suite.kind != hone_bench::item::SuiteKind::Code {
        bail!(
            "--strategy rethink-mcts searches code against public tests; {} is not a code suite",
            suite.name
        );
    }
    let selected = select(&suite, &args)?;
    let items: Vec<Item> = selected
        .iter()
        .filter(|i| shard.is_none_or(|s| s.holds(i.id())))
        .cloned()
        .collect();
    let mcts = if s.chosen() == Strategy::RethinkMcts {
        Some(crate::solve::mcts_settings(s)?)
    } else {
        None
    };
    let (model, choice) = crate::models::build(global, config)?;
    let templates = crate::models::templates(global)?;
    let header = BenchHeader {
        hone_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: option_env!("HONE_GIT_REVISION").map(str::to_string),
        suite: suite.name.clone(),
        kind: suite.kind,
        dataset_sha256: suite.sha256.clone(),
        selected: selected.len(),
        selection: Selection {
            ids: args.ids.clone(),
            limit: args.limit,
        },
        shard,
        model: model_identity(&model.descriptor()),
        model_sha256: model_sha256(&choice),
        strategy: crate::solve::run_header(s, &model.descriptor().to_string()),
        max_rounds: s.max_rounds,
        mcts,
        item_budget: ItemBudget {
            max_calls: s.max_calls,
            max_seconds: s.max_seconds,
        },
        samples: args.samples,
        templates: Default::default(),
    }
    .with_templates(&templates);
    if let Ok(existing) = hone_bench::results::read_header(&args.out) {
        if existing.differences(&header, false).is_empty()
            && !existing.all_differences(&header, false).is_empty()
        {
            eprintln!(
                "warning: {} was started by hone {} ({}); continuing it with hone {} ({})",
                args.out.display(),
                existing.hone_version,
                existing
                    .git_revision
                    .as_deref()
                    .unwrap_or("unknown revision"),
                header.hone_version,
                header.git_revision.as_deref().unwrap_or("unknown revision"),
            );
        }
    }
    let mut dir = RunDir::open(&args.out, &header)?;
    let harness = Arc::new(Harness::new(sandbox));
    let bench = BenchRun {
        config: RefineConfig::new(model, templates).with_harness(harness),
        header,
        jobs: args.jobs,
        max_run_time,
    };
    let total = items.len() * args.samples as usize;
    let wanted: std::collections::HashSet<&str> = items.iter().map(|i| i.id()).collect();
    let already: Vec<bool> = dir
        .done()
        .iter()
        .filter(|((id, sample), _)| wanted.contains(id.as_str()) && *sample < args.samples)
        .map(|(_, r)| r.passed)
        .collect();
    let reporter = Reporter::new(total, already.len(), already.iter().filter(|p| **p).count());
    eprintln!(
        "hone bench: {} on {} ({} of {} items{}) into {}",
        s.chosen().name(),
        suite.name,
        total,
        suite.items.len(),
        shard.map(|s| format!(", shard {s}")).unwrap_or_default(),
        args.out.display()
    );
    let on_progress = |p: Progress<'_>| reporter.report(p);
    let totals = bench.run(&items, &mut dir, &on_progress).await?;
    reporter.finish();
    let data = RunData::read(&args.out)?;
    print!("{}", markdown_table(&[data.summary()]));
    if totals.stopped_by_budget {
        eprintln!(
            "stopped by --max-run-seconds: {} item(s) not finished; rerun the same command to continue",
            totals.not_run
        );
        return Ok(ExitCode::from(4));
    }
    if totals.failed > 0 {
        eprintln!(
            "{} item(s) failed and were not recorded; rerun the same command to retry them",
            totals.failed
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Default)]
struct Tally {
    done: usize,
    passed: usize,
    failed: usize,
    calls: u64,
    tokens: u64,
}

impl Tally {
    fn line(&self, total: usize) -> String {
        let (low, high) = wilson(self.passed as u64, self.done as u64);
        format!(
            "{}/{} done, score {}/{} ({:.1}%, 95% CI {:.1}–{:.1}%), {} calls, {} tokens{}",
            self.done,
            total,
            self.passed,
            self.done,
            100.0 * self.passed as f64 / self.done.max(1) as f64,
            100.0 * low,
            100.0 * high,
            self.calls,
            self.tokens,
            if self.failed > 0 {
                format!(", {} failed", self.failed)
            } else {
                String::new()
            }
        )
    }
}

/// Progress of a run as it goes: a bar with the score so far on a
/// terminal, one line per item otherwise.
pub(crate) struct Reporter {
    bar: Option<ProgressBar>,
    tally: Mutex<Tally>,
    total: usize,
}

impl Reporter {
    /// A reporter for `total` items of which `done` (`passed` of them
    /// passing) an earlier call recorded.
    pub(crate) fn new(total: usize, done: usize, passed: usize) -> Reporter {
        let bar = progress_bar(total);
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
        }
        Reporter {
            bar,
            tally: Mutex::new(Tally {
                done,
                passed,
                ..Tally::default()
            }),
            total,
        }
    }

    /// Reports one event of the run.
    pub(crate) fn report(&self, p: Progress<'_>) {
        let Ok(mut t) = self.tally.lock() else { return };
        let (bar, total) = (&self.bar, self.total);
        match p {
            Progress::Skipped(n) => {
                let line = format!("{n} item(s) already done, skipped");
                show(bar, &line);
            }
            Progress::Finished(r) => {
                t.done += 1;
                t.passed += usize::from(r.passed);
                t.calls += r.calls;
                t.tokens += r.input_tokens + r.output_tokens;
                let draw = if r.sample > 0 {
                    format!(" (draw {})", r.sample)
                } else {
                    String::new()
                };
                let line = format!(
                    "{}{draw} {} ({} calls, {:.1} s) | {}",
                    r.id,
                    if r.passed { "PASS" } else { "fail" },
                    r.calls,
                    r.wall_ms / 1000.0,
                    t.line(total)
                );
                show(bar, &line);
            }
            Progress::Failed { id, error } => {
                t.failed += 1;
                show(
                    bar,
                    &format!("{id} ERROR (not recorded; a rerun retries it): {error}"),
                );
            }
        }
        if let Some(bar) = bar {
            bar.set_position(t.done as u64);
            bar.set_message(t.line(total));
        }
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar on a terminal; plain lines otherwise.
fn progress_bar(total: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} ETA {eta} | {wide_msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

fn show(bar: &Option<ProgressBar>, line: &str) {
    match bar {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    }
}

fn merge_dirs(dirs: &[std::path::PathBuf], out: &Path) -> Result<ExitCode> {
    if let Some(protocol) = dirs.first().and_then(|d| protocol_of(d)) {
        return merge_protocol_dirs(&protocol, dirs, out);
    }
    // Absolute, so the merged results point at each shard's logs from
    // wherever the merged run is read.
    let shards = dirs
        .iter()
        .map(|d| {
            let d = std::path::absolute(d).with_context(|| format!("resolving {}", d.display()))?;
            RunData::read(&d).with_context(|| format!("reading {}", d.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let (header, results) = merge(&shards)?;
    let n = write_merged(out, &header, results)?;
    eprintln!(
        "merged {} shard(s), {n} item(s), into {}",
        shards.len(),
        out.display()
    );
    print!("{}", markdown_table(&[RunData::read(out)?.summary()]));
    Ok(ExitCode::SUCCESS)
}

/// Writes merged shards into `out`, which must not hold a run yet; returns
/// how many results were written.
fn write_merged<H: hone_bench::results::DirHeader>(
    out: &Path,
    header: &H,
    results: Vec<hone_bench::results::ItemResult>,
) -> Result<usize> {
    if out.join(hone_bench::results::RESULTS_FILE).exists() {
        bail!(
            "{} already holds a run; merge into a new directory",
            out.display()
        );
    }
    let mut dir = RunDir::open(out, header)?;
    let n = results.len();
    for result in results {
        dir.record(result)?;
    }
    Ok(n)
}

/// `hone bench merge` of a protocol's shards (MINT, RealCritic, review).
fn merge_protocol_dirs(
    protocol: &str,
    dirs: &[std::path::PathBuf],
    out: &Path,
) -> Result<ExitCode> {
    let shards = dirs
        .iter()
        .map(|d| std::path::absolute(d).with_context(|| format!("resolving {}", d.display())))
        .collect::<Result<Vec<_>>>()?;
    let (header, results) = hone_bench::summary::merge_protocol(&shards)?;
    let passed = results.iter().filter(|r| r.passed).count();
    let n = write_merged(out, &header, results)?;
    eprintln!(
        "merged {} {protocol} shard(s), {n} item(s) ({passed} passed), into {}; `hone bench report {}` shows it",
        shards.len(),
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn compare_dirs(a: &Path, b: &Path, json: bool) -> Result<ExitCode> {
    let (pa, pb) = (protocol_of(a), protocol_of(b));
    if pa.is_some() || pb.is_some() {
        if pa != pb {
            bail!(
                "{} and {} are runs of different kinds ({} and {}); compare runs of one protocol, or two strategy runs",
                a.display(),
                b.display(),
                pa.as_deref().unwrap_or("strategy"),
                pb.as_deref().unwrap_or("strategy")
            );
        }
        return compare_protocol_dirs(a, b, json);
    }
    let ra = RunData::read(a).with_context(|| format!("reading {}", a.display()))?;
    let rb = RunData::read(b).with_context(|| format!("reading {}", b.display()))?;
    let c = compare(&ra, &rb)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", markdown_table(&[ra.summary(), rb.summary()]));
    println!();
    println!(
        "{} items: both pass {}, only A ({}) {}, only B ({}) {}, neither {}",
        c.items,
        c.both,
        a.display(),
        c.only_a,
        b.display(),
        c.only_b,
        c.neither
    );
    let verdict = if c.p_value < 0.05 {
        "significant at 5%"
    } else {
        "not significant at 5%"
    };
    println!("exact McNemar p = {:.4} ({verdict})", c.p_value);
    println!(
        "model calls per item, B - A: {:+.2} (95% paired bootstrap {:+.2} to {:+.2}{})",
        c.calls.mean,
        c.calls.interval.0,
        c.calls.interval.1,
        if c.calls.significant {
            ", significant"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn report(dirs: &[std::path::PathBuf], json: bool, html: Option<&Path>) -> Result<ExitCode> {
    let protocols: Vec<Option<String>> = dirs.iter().map(|d| protocol_of(d)).collect();
    let first = protocols.first().cloned().flatten();
    if protocols.iter().any(|p| *p != first) {
        bail!("runs of different protocols (or protocol and strategy runs) are reported apart: give one kind of run directory at a time");
    }
    match first.as_deref() {
        Some("realcritic") => return crate::realcritic::report(dirs, json, html),
        Some("mint") => return crate::mint::report(dirs, json, html),
        Some("review") => return crate::bench_review::report(dirs, json, html),
        _ => {}
    }
    let runs = dirs
        .iter()
        .map(|d| RunData::read(d).with_context(|| format!("reading {}", d.display())))
        .collect::<Result<Vec<_>>>()?;
    let rows: Vec<_> = runs.iter().map(RunData::summary).collect();
    if json {
        let by_dir: BTreeMap<&str, _> = rows.iter().map(|r| (r.dir.as_str(), r)).collect();
        println!("{}", serde_json::to_string_pretty(&by_dir)?);
    } else {
        print!("{}", markdown_table(&rows));
    }
    if let Some(file) = html {
        let page = hone_bench::html::html_report(&runs, &|run, result| {
            let log = run.dir.join(&result.log);
            if !log.exists() {
                // Published run directories often keep only header and
                // results; say so once per item instead of an io error.
                return Some(format!(
                    "(no trajectory: {} is not there; this run directory was kept without its runs/ logs)",
                    log.display()
                ));
            }
            Some(match crate::runs::render(&log) {
                Ok(text) => text,
                Err(e) => format!("(no trajectory: {e})"),
            })
        })?;
        write_page(file, &page)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Pairs two protocol runs (RealCritic, MINT) item by item: the counts
/// each side wins and the exact McNemar p-value. They must hold the same
/// items.
fn compare_protocol_dirs(a: &Path, b: &Path, json: bool) -> Result<ExitCode> {
    let read = |d: &Path| -> Result<BTreeMap<String, bool>> {
        Ok(hone_bench::results::read_results(d)
            .with_context(|| format!("reading {}", d.display()))?
            .into_iter()
            .filter(|r| r.sample == 0)
            .map(|r| (r.id, r.passed))
            .collect())
    };
    let (ra, rb) = (read(a)?, read(b)?);
    if ra.keys().ne(rb.keys()) {
        let only: Vec<&String> = ra
            .keys()
            .filter(|k| !rb.contains_key(*k))
            .chain(rb.keys().filter(|k| !ra.contains_key(*k)))
            .take(5)
            .collect();
        bail!(
            "{} and {} hold different items (e.g. {only:?}); compare runs over the same items",
            a.display(),
            b.display()
        );
    }
    if ra.is_empty() {
        bail!("{} holds no results", a.display());
    }
    let (mut both, mut only_a, mut only_b, mut neither) = (0u64, 0u64, 0u64, 0u64);
    for (id, pa) in &ra {
        match (*pa, rb[id]) {
            (true, true) => both += 1,
            (true, false) => only_a += 1,
            (false, true) => only_b += 1,
            (false, false) => neither += 1,
        }
    }
    let p = hone_bench::stats::mcnemar_exact(only_a, only_b);
    if json {
        println!(
            "{}",
            serde_json::json!({"items": ra.len(), "both": both, "only_a": only_a, "only_b": only_b, "neither": neither, "mcnemar_p": p})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} items: both pass {both}, only A ({}) {only_a}, only B ({}) {only_b}, neither {neither}",
        ra.len(),
        a.display(),
        b.display()
    );
    println!(
        "exact McNemar p = {p:.4}{}",
        if p < 0.05 {
            " (significant at 5%)"
        } else {
            " (not significant at 5%)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `--shard i/n`, parsed.
pub(crate) fn shard_arg(args: &BenchRunArgs) -> Result<Option<Shard>> {
    args.shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(anyhow::Error::msg)
}

/// Keeps the items of `--shard` (assigned by `id`, as the suites' are) and
/// returns the shard; all of them without one.
pub(crate) fn keep_shard<T>(
    items: &mut Vec<T>,
    args: &BenchRunArgs,
    id: impl Fn(&T) -> String,
) -> Result<Option<Shard>> {
    let shard = shard_arg(args)?;
    if let Some(shard) = shard {
        items.retain(|i| shard.holds(&id(i)));
    }
    Ok(shard)
}

/// The protocol a run directory's header names (`None` for a strategy run).
pub(crate) fn protocol_of(dir: &Path) -> Option<String> {
    hone_bench::results::read_header_as::<serde_json::Value>(dir)
        .ok()?
        .get("protocol")?
        .as_str()
        .map(str::to_string)
}

/// Writes an HTML report atomically (a temporary file, then a rename).
pub(crate) fn write_page(file: &Path, page: &str) -> Result<()> {
    let tmp = file.with_extension("html.tmp");
    std::fs::write(&tmp, page).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("wrote {}", file.display());
    Ok(())
}

async fn review_set(
    out: &Path,
    seed: u64,
    per_item: usize,
    limit: Option<usize>,
) -> Result<ExitCode> {
    if per_item == 0 {
        bail!("--per-item must be at least 1");
    }
    let sandbox = Sandbox::new(SandboxConfig::default());
    let mut suite = load_suite("humaneval", &sandbox).await?;
    if let Some(limit) = limit {
        suite.items.truncate(limit);
    }
    let harness = Harness::new(sandbox);
    eprintln!(
        "hone bench review-set: {} problems, seed {seed}, up to {per_item} mutant(s) and clean change(s) each",
        suite.items.len()
    );
    let (items, made) = hone_bench::review::generate(&suite, &harness, seed, per_item).await?;
    let mut text = String::new();
    for item in &items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    let tmp = out.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} items to {}: {} mutants, {} clean changes ({} equivalent mutants and {} breaking \"clean\" changes dropped)",
        items.len(),
        out.display(),
        made.mutants,
        made.clean,
        made.dropped_mutants,
        made.dropped_clean
    );
    Ok(ExitCode::SUCCESS)
}
