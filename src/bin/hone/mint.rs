//! `hone bench run mint`: MINT's episodes over its sets, one run per k.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use hone_bench::mint::check::MintChecker;
use hone_bench::mint::data::{self, MintItem, SETS};
use hone_bench::mint::episode::{Episode, Feedback, MintConfig};
use hone_bench::mint::metrics::{markdown, markdown_curve, summarize};
use hone_bench::mint::python::Sessions;
use hone_bench::mint::report::{html_report, MintRunData};
use hone_bench::mint::run::MintRun;
use hone_bench::mint::MintHeader;
use hone_bench::results::{read_header_as, read_results, RunDir, Shard};
use hone_core::config::ConfigFile;
use hone_sandbox::{Sandbox, SandboxConfig};

use crate::bench::{model_identity, model_sha256, Reporter};
use crate::cli::{BenchRunArgs, Global};

/// `--k`: one value, or a range `a-b`, each in 1..=5.
fn parse_k(text: Option<&str>) -> Result<Vec<u32>> {
    let text = text.unwrap_or("5");
    let (a, b) = match text.split_once('-') {
        Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
        None => (text.trim().parse::<u32>(), text.trim().parse::<u32>()),
    };
    match (a, b) {
        (Ok(a), Ok(b)) if (1..=5).contains(&a) && (1..=5).contains(&b) && a <= b => {
            Ok((a..=b).collect())
        }
        _ => bail!("--k takes one k from 1 to 5 (`3`) or a range (`1-5`), got {text:?}"),
    }
}

/// The first `--limit` tasks of each set, then `--ids` (`<set>/<id>`), then
/// `--shard`; and the shard.
fn select(mut items: Vec<MintItem>, args: &BenchRunArgs) -> Result<(Vec<MintItem>, Option<Shard>)> {
    if let Some(limit) = args.limit {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        items.retain(|i| {
            let n = seen.entry(i.set.clone()).or_default();
            *n += 1;
            *n <= limit
        });
    }
    if let Some(ids) = &args.ids {
        let known: std::collections::HashSet<String> = items.iter().map(|i| i.key()).collect();
        if let Some(missing) = ids.iter().find(|id| !known.contains(*id)) {
            bail!("--ids: no MINT task {missing:?} (ids are <set>/<id>, e.g. gsm8k/0)");
        }
        items.retain(|i| ids.contains(&i.key()));
    }
    if items.is_empty() {
        bail!("no MINT tasks selected");
    }
    let shard = crate::bench::keep_shard(&mut items, args, MintItem::key)?;
    Ok((items, shard))
}

pub async fn run(global: &Global, config: &ConfigFile, args: BenchRunArgs) -> Result<ExitCode> {
    let p = &args.protocol;
    let Some(data_path) = &p.data else {
        bail!(
            "hone bench run mint needs --data: MINT's data/processed directory \
             (<set>/test_prompts.json) or a directory of <set>.jsonl files"
        );
    };
    if !data_path.is_dir() {
        bail!("--data {}: not a directory", data_path.display());
    }
    if args.strategy.strategy.is_some()
        || p.mode.is_some()
        || p.post_check
        || p.names_post_check_judge()
    {
        bail!("mint runs its own protocol; --strategy, --mode and --post-check do not apply");
    }
    if args.samples != 1 || args.max_run_seconds.is_some() {
        bail!("mint does not take --samples or --max-run-seconds yet");
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if args.strategy.max_tokens.is_some() || args.strategy.temperature != 0.0 {
        bail!(
            "mint's calls are the reference's: greedy, 512 tokens (the feedback model's 1,024); \
             --max-tokens and --temperature do not apply"
        );
    }
    let ks = parse_k(p.k.as_deref())?;
    let feedback = Feedback::parse(&p.feedback).map_err(anyhow::Error::msg)?;
    if feedback == Feedback::None && (p.feedback_model.is_some() || p.feedback_base_url.is_some()) {
        bail!("--feedback-model and --feedback-base-url need --feedback other than none");
    }
    let sets: Vec<String> = match &p.sets {
        Some(sets) => sets.clone(),
        None => SETS.iter().map(|s| s.to_string()).collect(),
    };
    let (items, dataset_sha256) = data::load(data_path, &sets)?;
    let (items, shard) = select(items, &args)?;
    let (model, choice) = crate::models::build(global, config)?;
    let feedback_model = match (&p.feedback_model, &p.feedback_base_url) {
        (None, None) => model.clone(),
        (name, url) => crate::models::build_other(global, config, name.as_deref(), url.as_deref())
            .context("building the feedback model")?,
    };
    let templates = crate::models::templates(global)?;
    let sandbox = Sandbox::new(SandboxConfig::default());
    let config = MintConfig {
        model: model.clone(),
        feedback_model: feedback_model.clone(),
        templates: templates.clone(),
        checker: MintChecker::new(sandbox.clone()),
        sessions: Sessions::new(sandbox),
        strict_checks: p.strict_checks,
    };
    let mut curve = Vec::new();
    let mut failed = 0;
    for &k in &ks {
        let out = if ks.len() > 1 {
            args.out.join(format!("k{k}"))
        } else {
            args.out.clone()
        };
        let header = MintHeader {
            protocol: "mint".into(),
            hone_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: option_env!("HONE_GIT_REVISION").map(str::to_string),
            k,
            max_proposals: Episode::proposals_for(k),
            feedback,
            strict_checks: p.strict_checks,
            feedback_model: (feedback != Feedback::None)
                .then(|| model_identity(&feedback_model.descriptor())),
            sets: sets.clone(),
            dataset_sha256: dataset_sha256.clone(),
            limit_per_set: args.limit,
            model: model_identity(&model.descriptor()),
            model_sha256: model_sha256(&choice),
            templates: MintHeader::template_hashes(&templates),
            shard,
        };
        let mut dir = RunDir::open(&out, &header)?;
        let wanted: std::collections::HashSet<String> = items.iter().map(|i| i.key()).collect();
        let already: Vec<bool> = dir
            .done()
            .iter()
            .filter(|((id, _), _)| wanted.contains(id))
            .map(|(_, r)| r.passed)
            .collect();
        eprintln!(
            "hone bench: mint k = {k} (at most {} proposals), feedback {}, {} tasks of {} into {}",
            header.max_proposals,
            feedback.name(),
            items.len(),
            sets.join(", "),
            out.display()
        );
        let reporter = Reporter::new(
            items.len(),
            already.len(),
            already.iter().filter(|p| **p).count(),
        );
        let run = MintRun {
            config: config.clone(),
            header,
            jobs: args.jobs,
        };
        let totals = run.run(&items, &mut dir, &|p| reporter.report(p)).await?;
        reporter.finish();
        failed += totals.failed;
        let summary = summarize(&read_results(&out)?);
        println!("## k = {k}\n");
        print!("{}", markdown(&summary));
        println!();
        curve.push((k, summary));
    }
    if curve.len() > 1 {
        print!("{}", markdown_curve(&curve));
    }
    if failed > 0 {
        eprintln!(
            "{failed} task(s) failed and were not recorded; rerun the same command to retry them"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// `hone bench report` of MINT run directories: each run's table, then SR
/// against k when the runs differ in k.
pub fn report(dirs: &[PathBuf], json: bool, html: Option<&Path>) -> Result<ExitCode> {
    let mut runs = Vec::new();
    for d in dirs {
        let header: MintHeader = read_header_as(d)?;
        runs.push((d.as_path(), header, summarize(&read_results(d)?)));
    }
    if json {
        let by_dir: BTreeMap<String, _> = runs
            .iter()
            .map(|(d, _, s)| (d.display().to_string(), s))
            .collect();
        println!("{}", serde_json::to_string_pretty(&by_dir)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (d, h, s) in &runs {
        println!(
            "## {} (mint, k = {}, feedback {}, {})\n",
            Path::display(d),
            h.k,
            h.feedback.name(),
            h.model
        );
        print!("{}", markdown(s));
        println!();
    }
    let mut curve: Vec<(u32, _)> = runs.iter().map(|(_, h, s)| (h.k, s.clone())).collect();
    curve.sort_by_key(|(k, _)| *k);
    curve.dedup_by_key(|(k, _)| *k);
    if curve.len() > 1 && curve.len() == runs.len() {
        print!("{}", markdown_curve(&curve));
    }
    if let Some(file) = html {
        let data: Vec<MintRunData> = runs
            .into_iter()
            .map(|(d, header, summary)| MintRunData {
                dir: d.display().to_string(),
                header,
                summary,
            })
            .collect();
        crate::bench::write_page(file, &html_report(&data)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_is_one_value_or_a_range_within_one_to_five() {
        assert_eq!(parse_k(None).unwrap(), vec![5]);
        assert_eq!(parse_k(Some("1-5")).unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_k(Some("2")).unwrap(), vec![2]);
        assert!(parse_k(Some("0")).is_err());
        assert!(parse_k(Some("4-2")).is_err());
        assert!(parse_k(Some("6")).is_err());
    }
}
