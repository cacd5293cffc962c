//! `hone bench run realcritic`: RealCritic's protocol over its sets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use hone_bench::realcritic::data::{self, CriticItem, SETS};
use hone_bench::realcritic::grade::Grader;
use hone_bench::realcritic::hone_critics::CriticDesign;
use hone_bench::realcritic::metrics::{markdown, summarize};
use hone_bench::realcritic::protocol::{CriticConfig, Mode};
use hone_bench::realcritic::report::{html_report, CriticRunData};
use hone_bench::realcritic::run::CriticRun;
use hone_bench::realcritic::CriticHeader;
use hone_bench::results::{read_header_as, read_results, RunDir, Shard};
use hone_core::config::ConfigFile;
use hone_sandbox::{Sandbox, SandboxConfig};

use crate::bench::{model_identity, model_sha256, Reporter};
use crate::cli::{BenchRunArgs, Global};

/// The reference's token limit per call.
const REFERENCE_MAX_TOKENS: u32 = 2048;

/// The items `args` select: the first `--limit` of each set, then `--ids`,
/// then `--shard`; and the shard.
fn select(
    mut items: Vec<CriticItem>,
    args: &BenchRunArgs,
) -> Result<(Vec<CriticItem>, Option<Shard>)> {
    if let Some(limit) = args.limit {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        items.retain(|i| {
            let n = seen.entry(i.set.clone()).or_default();
            *n += 1;
            *n <= limit
        });
    }
    if let Some(ids) = &args.ids {
        let known: std::collections::HashSet<String> = items.iter().map(|i| i.id()).collect();
        if let Some(missing) = ids.iter().find(|id| !known.contains(*id)) {
            bail!("--ids: no RealCritic item {missing:?} (ids are <set>/<idx>, e.g. gsm8k/0)");
        }
        items.retain(|i| ids.contains(&i.id()));
    }
    if items.is_empty() {
        bail!("no RealCritic items selected");
    }
    let shard = crate::bench::keep_shard(&mut items, args, CriticItem::id)?;
    Ok((items, shard))
}

pub async fn run(global: &Global, config: &ConfigFile, args: BenchRunArgs) -> Result<ExitCode> {
    let rc = &args.protocol;
    let Some(data_path) = &rc.data else {
        bail!(
            "hone bench run realcritic needs --data: RealCritic's data/mix_data directory \
             (<set>/test.jsonl), a directory of <set>.jsonl files, or one set's .jsonl file"
        );
    };
    let Some(mode) = &rc.mode else {
        bail!("hone bench run realcritic needs --mode: direct, cross, self or iterative");
    };
    let mode = Mode::parse(mode).map_err(anyhow::Error::msg)?;
    if args.strategy.strategy.is_some() {
        bail!("realcritic runs its own protocol (--mode); --strategy does not apply");
    }
    if args.samples != 1 || args.max_run_seconds.is_some() {
        bail!("realcritic does not take --samples or --max-run-seconds yet");
    }
    if rc.k.is_some() || rc.feedback != "none" || rc.feedback_model.is_some() || rc.strict_checks {
        bail!("--k, --feedback, --feedback-model and --strict-checks belong to suite mint");
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if args.strategy.temperature != 0.0 {
        bail!("realcritic's calls are greedy, as its reference's; --temperature does not apply");
    }
    let critic = CriticDesign::parse(&rc.critic_design).map_err(anyhow::Error::msg)?;
    if critic != CriticDesign::Realcritic && !matches!(mode, Mode::Cross | Mode::SelfCritique) {
        bail!(
            "--critic-design {} critiques in cross or self mode",
            critic.name()
        );
    }
    if critic == CriticDesign::Pairwise && mode != Mode::Cross {
        bail!("--critic-design pairwise needs --mode cross (in self mode a fresh greedy answer is the answer it judges)");
    }
    if rc.post_check && mode == Mode::Direct {
        bail!("--post-check judges critiques; --mode direct writes none");
    }
    if !rc.post_check && rc.names_post_check_judge() {
        bail!("--post-check-model and --post-check-base-url need --post-check");
    }
    if mode == Mode::Iterative && rc.rounds < 2 {
        bail!("--rounds must be at least 2 for iterative mode (1 round is --mode cross)");
    }
    let sets: Vec<String> = match (&rc.sets, data_path.is_file()) {
        (_, true) => vec![data_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()],
        (Some(sets), false) => sets.clone(),
        (None, false) => SETS.iter().map(|s| s.to_string()).collect(),
    };
    let (items, dataset_sha256) = data::load(data_path, &sets)?;
    let (items, shard) = select(items, &args)?;
    let (model, choice) = crate::models::build(global, config)?;
    let templates = crate::models::templates(global)?;
    let max_tokens = args.strategy.max_tokens.unwrap_or(REFERENCE_MAX_TOKENS);
    let judge = match (&rc.post_check_model, &rc.post_check_base_url) {
        (None, None) => None,
        (name, url) => Some(
            crate::models::build_other(global, config, name.as_deref(), url.as_deref())
                .context("building the post-check judge")?,
        ),
    };
    let header = CriticHeader {
        protocol: "realcritic".into(),
        hone_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: option_env!("HONE_GIT_REVISION").map(str::to_string),
        mode,
        rounds: if mode == Mode::Iterative {
            rc.rounds
        } else {
            1
        },
        sets: sets.clone(),
        dataset_sha256,
        limit_per_set: args.limit,
        model: model_identity(&model.descriptor()),
        model_sha256: model_sha256(&choice),
        max_tokens,
        critic,
        post_check: rc.post_check.then(|| match &judge {
            Some(judge) => model_identity(&judge.descriptor()),
            None => format!(
                "the model under test: {}",
                model_identity(&model.descriptor())
            ),
        }),
        templates: CriticHeader::template_hashes(&templates),
        shard,
    };
    let mut dir = RunDir::open(&args.out, &header)?;
    let already: Vec<bool> = {
        let wanted: std::collections::HashSet<String> = items.iter().map(|i| i.id()).collect();
        dir.done()
            .iter()
            .filter(|((id, _), _)| wanted.contains(id))
            .map(|(_, r)| r.passed)
            .collect()
    };
    let run = CriticRun {
        config: CriticConfig {
            judge: judge.unwrap_or_else(|| model.clone()),
            model,
            templates,
            max_tokens,
        },
        header,
        grader: Grader::new(Sandbox::new(SandboxConfig::default())),
        jobs: args.jobs,
    };
    eprintln!(
        "hone bench: realcritic {} on {} ({} items) into {}",
        mode.name(),
        sets.join(", "),
        items.len(),
        args.out.display()
    );
    let reporter = Reporter::new(
        items.len(),
        already.len(),
        already.iter().filter(|p| **p).count(),
    );
    let totals = run.run(&items, &mut dir, &|p| reporter.report(p)).await?;
    reporter.finish();
    print!("{}", markdown(&summarize(&read_results(&args.out)?)));
    if totals.failed > 0 {
        eprintln!(
            "{} item(s) failed and were not recorded; rerun the same command to retry them",
            totals.failed
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `hone bench report` of RealCritic run directories.
pub fn report(dirs: &[PathBuf], json: bool, html: Option<&Path>) -> Result<ExitCode> {
    let runs = dirs
        .iter()
        .map(|d| {
            let header: CriticHeader = read_header_as(d)?;
            let summary = summarize(&read_results(d)?);
            Ok(CriticRunData {
                dir: d.display().to_string(),
                header,
                summary,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if json {
        let by_dir: BTreeMap<&str, _> = runs.iter().map(|r| (r.dir.as_str(), &r.summary)).collect();
        println!("{}", serde_json::to_string_pretty(&by_dir)?);
    } else {
        for r in &runs {
            println!(
                "## {} (realcritic {}, {})\n",
                r.dir,
                r.header.mode.name(),
                r.header.model
            );
            print!("{}", markdown(&r.summary));
            println!();
        }
    }
    if let Some(file) = html {
        crate::bench::write_page(file, &html_report(&runs)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
