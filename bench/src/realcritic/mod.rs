//! RealCritic: critiques judged by the corrections they lead to.
//!
//! RealCritic (Tang et al., 2025) scores a critic not by what it says about
//! a solution but by whether the corrected final answer is right. hone runs
//! its protocol as the reference code does (`shared/docs/PROTOCOLS.md`), as
//! a hone graph per item, so every item is checkpointed, resumable and
//! traced:
//!
//! 1. **Data** ([`data`]): the eight sets in the upstream layout
//!    (`data/mix_data/<set>/test.jsonl`) or as `<set>.jsonl` files.
//! 2. **Modes** ([`protocol`]): `direct` (solve), `cross` (critique and
//!    correct the dataset's solution), `self` (solve, then critique the
//!    model's own answer: one run records both) and `iterative` (cross over
//!    several rounds of one conversation; the last round is scored). All
//!    calls are greedy, with at most 2,048 tokens each.
//! 3. **Grading** ([`extract`], [`grade`]): the final answer of the whole
//!    output, extracted and normalised by the reference's rules (its
//!    multiple-choice quirk included; [`Extraction::Strict`](extract::Extraction::Strict)
//!    shows what fixing it changes), compared by rule and then with sympy
//!    in the sandbox (3 s per item; a timeout scores wrong). The reference
//!    answer never enters a model request.
//!    With `--critic default|rubric|pairwise` hone's own critics
//!    ([`hone_critics`]) write the critique instead, measured the same way.
//! 4. **Figures** ([`metrics`]): accuracy per set and their unweighted
//!    mean, transitions C→C, C→I, I→C, I→I against the critiqued
//!    solution's correctness. hone also reads each critique's conclusion
//!    and correction ([`critique`]) without letting them change the score.
//!
//! The CLI is `hone bench run realcritic --mode cross --data DIR --out DIR`;
//! a run directory is the usual `header.json` ([`CriticHeader`]),
//! `results.jsonl` (each line's `critic` field is a [`CriticRecord`]) and
//! `runs/`.
//!
//! ```no_run
//! # async fn demo(config: hone_bench::realcritic::protocol::CriticConfig,
//! #               header: hone_bench::realcritic::CriticHeader,
//! #               sandbox: hone_sandbox::Sandbox) -> Result<(), Box<dyn std::error::Error>> {
//! use hone_bench::realcritic::{data, grade::Grader, metrics, run::CriticRun};
//! use hone_bench::results::RunDir;
//!
//! let (items, _sha) = data::load("data/realcritic".as_ref(), &["gsm8k".to_string()])?;
//! let mut dir = RunDir::open("out/rc-cross".as_ref(), &header)?;
//! let run = CriticRun { config, header, grader: Grader::new(sandbox), jobs: 4 };
//! run.run(&items, &mut dir, &|_| {}).await?;
//! let results = hone_bench::results::read_results("out/rc-cross".as_ref())?;
//! print!("{}", metrics::markdown(&metrics::summarize(&results)));
//! # Ok(()) }
//! ```

pub mod critique;
pub mod data;
pub mod extract;
pub mod grade;
pub mod hone_critics;
pub mod metrics;
pub mod protocol;
mod record;
pub mod report;
pub mod run;

pub use record::{CriticHeader, CriticRecord};
