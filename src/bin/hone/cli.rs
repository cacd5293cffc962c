//! Command-line definition and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hone_core::config::ConfigFile;

/// Critique-and-refine agents: an actor proposes, a critic finds the first
/// wrong step, a refiner fixes it, until the answer is verified or the budget
/// runs out.
#[derive(Debug, Parser)]
#[command(name = "hone", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Config file (TOML). Default: $HONE_CONFIG, else ./hone.toml if present.
    #[arg(long, global = true, env = "HONE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Trust ./hone.toml (found, not named with --config): let its
    /// base_url receive your API key and its api_key_env pick the variable.
    #[arg(long, global = true)]
    pub trust_config: bool,
    /// OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (env OPENAI_BASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name at the endpoint (env HONE_MODEL).
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// A local GGUF model file.
    #[arg(long, global = true, value_name = "PATH.gguf")]
    pub model_path: Option<PathBuf>,
    /// CPU threads of the local model (default: every core). Use fewer when
    /// other work keeps cores busy: llama.cpp's threads spin while waiting.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Local model only: let JSON-schema and tool-call outputs be written
    /// freely instead of holding them to a grammar (they are still
    /// validated). For measuring what the grammar buys.
    #[arg(long, global = true)]
    pub no_output_grammar: bool,
    /// Per-attempt request timeout in seconds.
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Directory of prompt templates that replace or add to the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Do not read or write the response cache.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Response cache directory (default: <cache dir>/responses).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where run logs are written (default: .hone/runs).
    #[arg(long, global = true, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which backend and model would be used, and whether it answers.
    Models(ModelsArgs),
    /// Solve a task with a critique-and-refine strategy.
    Solve(Box<SolveArgs>),
    /// Continue an interrupted run from its log, exactly where it stopped.
    Resume(ResumeArgs),
    /// Grade one answer on a 1-5 rubric, or compare two answers with a
    /// judge asked in both orders.
    Judge(JudgeArgs),
    /// Render a run log.
    Show(ShowArgs),
    /// List recorded runs.
    Runs,
    /// Review a change: findings proposed, anchored to the diff, tested in
    /// the sandbox and scored by a critic; only what survives is shown or
    /// posted.
    Review(Box<ReviewArgs>),
    /// Run benchmark suites; merge shards; compare and report runs.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Download and list local models.
    #[cfg(feature = "local")]
    #[command(subcommand)]
    Model(ModelCommand),
    /// Serve the selected model over the OpenAI chat-completions protocol.
    #[cfg(feature = "local")]
    Serve(ServeArgs),
}

#[cfg(feature = "local")]
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download a known model into the cache (sha256-checked); default: the default model.
    Fetch {
        /// Model name (see `hone model list`).
        name: Option<String>,
    },
    /// List known models and whether they are downloaded.
    List,
}

#[cfg(feature = "local")]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but a loopback address needs
    /// --api-key.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Model id reported to clients (default: the model's name).
    #[arg(long)]
    pub model_id: Option<String>,
    /// Require `Authorization: Bearer KEY` on every request (prefer the
    /// variable: a flag shows in the process list).
    #[arg(
        long,
        env = "HONE_SERVE_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<hone_core::ApiKey>,
    /// Largest `n` (choices per request) accepted.
    #[arg(long, default_value_t = hone_local::serve::ServeOptions::default().max_n)]
    pub max_n: u32,
    /// Largest `max_tokens` accepted, and the limit of requests that set none.
    #[arg(long, default_value_t = hone_local::serve::ServeOptions::default().max_tokens)]
    pub max_tokens: u32,
    /// Requests admitted at once (generating or waiting for the model);
    /// more are answered 503 with Retry-After.
    #[arg(long, default_value_t = hone_local::serve::ServeOptions::default().max_queued)]
    pub max_queued: usize,
    /// Requests decoded together in one batch (as llama-server's
    /// --parallel); each holds its own context in the KV cache, and
    /// further admitted requests wait for a place.
    #[arg(long, default_value_t = hone::model::DEFAULT_LOCAL_SLOTS as u16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Only show the choice; do not send a test request.
    #[arg(long)]
    pub no_ping: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Strategy {
    /// One answer, verified; no critique.
    SingleShot,
    /// Actor, then critic and refiner in turn until the answer is verified.
    SelfRefine,
    /// Trials with verbal reflections kept in an episodic memory.
    Reflexion,
    /// n samples, the verifier picks (tests, majority vote, checklist, rubric).
    BestOfN,
    /// Monte Carlo tree search over thoughts with rethinking (code with
    /// public tests only).
    RethinkMcts,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::SingleShot => "single-shot",
            Strategy::SelfRefine => "self-refine",
            Strategy::Reflexion => "reflexion",
            Strategy::BestOfN => "best-of-n",
            Strategy::RethinkMcts => "rethink-mcts",
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Kind {
    /// Free text (an explanation, a review).
    Text,
    /// A worked solution ending in a final answer.
    Math,
    /// A Python program; with --tests or --asserts, checked in the sandbox.
    Code,
    /// A design document, checked requirement by requirement.
    Design,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Rethink {
    /// Rewrite the last thought on the path (the reference code's choice).
    Last,
    /// Rewrite the thought the model names as faulty.
    Any,
    /// Do not rethink.
    Off,
}

impl StrategyArgs {
    /// The strategy: the one asked for, else self-refine (`hone solve`
    /// fills in its per-task default first).
    pub fn chosen(&self) -> Strategy {
        self.strategy.unwrap_or(Strategy::SelfRefine)
    }

    /// Whether independent draws of one task can differ: some call is
    /// sampled above temperature 0 (every call, or best-of-n's samples).
    pub fn draws_differ(&self) -> bool {
        self.temperature > 0.0
            || (self.chosen() == Strategy::BestOfN && self.n > 1 && self.sample_temperature > 0.0)
    }
}

/// `--stuck-temperature`: a temperature, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StuckTemperature(pub Option<f32>);

impl std::str::FromStr for StuckTemperature {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "off" {
            return Ok(StuckTemperature(None));
        }
        match s.parse::<f32>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Ok(StuckTemperature(Some(t))),
            _ => Err(format!("expected a temperature ≥ 0 or `off`, got {s:?}")),
        }
    }
}

/// When self-refine asks the critic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CriticArg {
    /// Critique every attempt that did not verify.
    Always,
    /// Only attempts no check decided; a failing test goes straight to the
    /// refiner as its feedback.
    WhenUnchecked,
}

impl CriticArg {
    /// The library's policy.
    pub fn policy(self) -> hone_agents::refine::CriticPolicy {
        match self {
            CriticArg::Always => hone_agents::refine::CriticPolicy::Always,
            CriticArg::WhenUnchecked => hone_agents::refine::CriticPolicy::WhenUnchecked,
        }
    }
}

/// Range of RethinkMCTS's self-evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelfEvalScaleArg {
    /// [-1, 1], the reference's range.
    Signed,
    /// [0, 1].
    Unit,
}

#[derive(Debug, Args)]
pub struct SolveArgs {
    /// The task. Read from --file or standard input when absent.
    pub task: Vec<String>,
    /// Read the task from this file.
    #[arg(long, short, value_name = "FILE", conflicts_with = "task")]
    pub file: Option<PathBuf>,
    /// Kind of task.
    #[arg(long, value_enum, default_value_t = Kind::Text)]
    pub kind: Kind,
    /// Public tests of a code task: a Python file defining `check(candidate)`
    /// (HumanEval style); needs --entry-point.
    #[arg(long, value_name = "FILE", requires = "entry_point")]
    pub tests: Option<PathBuf>,
    /// The function `check` is called with.
    #[arg(long, value_name = "NAME")]
    pub entry_point: Option<String>,
    /// Hidden tests (HumanEval style, needs --entry-point): run once on the
    /// final program after the search, never shown to any model or strategy.
    #[arg(long, value_name = "FILE", requires = "entry_point")]
    pub hidden_tests: Option<PathBuf>,
    /// Public tests of a code task: a file of assert statements, one per line
    /// (MBPP style).
    #[arg(long, value_name = "FILE", conflicts_with = "tests")]
    pub asserts: Option<PathBuf>,
    /// Requirements of a design brief, one per line (default: the list
    /// under the brief's "Requirements" heading).
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// Reference answer of a math task: compared with the final answer after
    /// the search (sympy decides symbolic cases), never shown to any model.
    #[arg(long, value_name = "ANSWER")]
    pub reference: Option<String>,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Independent try of the same task: every sampled call of draw N gets
    /// seeds (and cache entries) of its own, so --draw 1, 2, ... are fresh
    /// tries of a sampling strategy; 0 keeps the seeds runs always had.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub draw: u32,
    /// Run id (default: date, time and a random suffix).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Do not print the trajectory while running.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run a suite (humaneval, gsm8k, math500, or a .jsonl file) into a
    /// directory; rerun the same command to resume.
    Run(Box<BenchRunArgs>),
    /// Combine the directories of one run's shards into one.
    Merge {
        /// Shard directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged run is written.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Compare two runs item by item (exact McNemar on pass/fail).
    Compare {
        /// Run A.
        a: PathBuf,
        /// Run B.
        b: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a review development set (JSONL) from HumanEval's canonical
    /// solutions: seeded mutants that break the hidden tests and clean
    /// changes that keep them passing, both confirmed in the sandbox.
    ReviewSet {
        /// The JSONL file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Seed: the same seed writes the same set.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Mutants and clean changes per problem (each at most).
        #[arg(long, default_value_t = 1, value_name = "N")]
        per_item: usize,
        /// Only the first N problems.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// A table of runs: score with its 95% interval, cost; with --html, a
    /// self-contained page with charts and every item's trajectory.
    Report {
        /// Run directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also write an HTML report to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct BenchRunArgs {
    /// humaneval, gsm8k, math500, or a JSONL file of your own items.
    pub suite: String,
    /// The run directory (created; an existing run there is resumed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only the first N items (in the suite's order).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only these items (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub ids: Option<Vec<String>>,
    /// Items run at once.
    #[arg(long, default_value_t = 1, value_name = "J")]
    pub jobs: usize,
    /// Run only shard i of n (0-based; items are assigned by a hash of
    /// their id).
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
    /// Most wall time for the whole run, in seconds (items then running are
    /// cut off and resume on the next call).
    #[arg(long, value_name = "SECS")]
    pub max_run_seconds: Option<f64>,
    /// Independent draws per item, for unbiased pass@k (needs sampling:
    /// --temperature above 0, or best-of-n with --n above 1).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub samples: u32,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
}

/// Output formats of `hone review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    /// A summary for a person.
    Terminal,
    /// Every finding, posted and dropped, with its evidence and score.
    Json,
    /// The body of GitHub's create-review call.
    GithubReview,
    /// SARIF 2.1.0.
    Sarif,
    /// reviewdog's diagnostic format (one JSON object per line).
    Rdjsonl,
}

/// The severity at which `hone review` exits with 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A posted finding of severity error.
    Error,
    /// A posted finding of severity warning or error.
    Warning,
}

/// `hone review`.
#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// Base revision [default: the merge base of HEAD with the default branch].
    #[arg(long, value_name = "REV", conflicts_with = "diff")]
    pub base: Option<String>,
    /// Head revision [default: the working tree].
    #[arg(long, value_name = "REV", conflicts_with = "diff")]
    pub head: Option<String>,
    /// The repository [default: the current directory's].
    #[arg(long, value_name = "DIR", conflicts_with = "diff")]
    pub repo: Option<PathBuf>,
    /// Review a unified diff (`-` for stdin) instead of a repository.
    #[arg(long, value_name = "FILE|-")]
    pub diff: Option<String>,
    /// With --diff: the files at the head of the diff, checked against it
    /// (full contents give the actor more context and make execution
    /// evidence possible; without them findings are anchored in the lines
    /// the hunks show).
    #[arg(long, value_name = "DIR", requires = "diff")]
    pub root: Option<PathBuf>,
    /// Review only files matching these globs (also lifts the default
    /// exclusions of vendored and generated files).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching these globs.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Skip the critic step (every anchored finding is posted).
    #[arg(long)]
    pub no_critic: bool,
    /// Skip the execution step (no tests of claims).
    #[arg(long)]
    pub no_execution: bool,
    /// Lowest critic score posted, 0-10 [default: 6, chosen by measurement: docs/results/review.md].
    #[arg(long, value_name = "N")]
    pub min_score: Option<u8>,
    /// Post findings the critic failed to score (they are dropped by default, never given a score).
    #[arg(long)]
    pub keep_unscored: bool,
    /// A finding whose code is not inside the diff: drop it, or keep it as a file-level finding.
    #[arg(long, value_name = "drop|file", default_value = "drop")]
    pub outside_diff: String,
    /// Most findings posted per file.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_per_file: usize,
    /// Most findings posted per review.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_findings: usize,
    /// Characters of diff per actor call.
    #[arg(long, default_value_t = 6000, value_name = "N")]
    pub chunk_chars: usize,
    /// Tokens per model call.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_tokens: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "terminal")]
    pub format: ReviewFormat,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Exit with 3 when a posted finding is at least this severe (1 is an error, 2 bad usage).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Post the review: `github` inside a GitHub Actions run of a pull
    /// request (GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH).
    #[arg(long, value_name = "github")]
    pub post: Option<String>,
    /// The run's id: its log is RUNS_DIR/ID.jsonl; an existing log is
    /// resumed where it stopped [default: a new id].
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The settings of the protocol suites `realcritic` and `mint` (the other
/// suites take none of them).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Protocols (suites `realcritic` and `mint`)")]
pub struct ProtocolArgs {
    /// The data: RealCritic's `data/mix_data` directory (`<set>/test.jsonl`)
    /// or MINT's `data/processed` (`<set>/test_prompts.json`), a directory
    /// of `<set>.jsonl` files, or (RealCritic) one set's `.jsonl` file.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// RealCritic: direct (solve), cross (critique the dataset's solution), self (solve,
    /// then critique the answer) or iterative (cross over --rounds rounds).
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Sets to run (comma-separated) [default: all of the protocol's:
    /// RealCritic's eight, MINT's seven].
    #[arg(long, value_delimiter = ',', value_name = "SET,...")]
    pub sets: Option<Vec<String>>,
    /// RealCritic iterative: critique rounds (only the last is scored).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub rounds: u32,
    /// RealCritic: who writes the critique: realcritic (the protocol's prompt), or
    /// hone's own critics: default (self-refine's critic, then its refiner),
    /// rubric (the rubric grader, then the refiner), pairwise (a fresh
    /// answer against the solution, cross mode only).
    #[arg(long, value_name = "CRITIC", default_value = "realcritic")]
    pub critic_design: String,
    /// RealCritic: after each item's last critique, a judge (the model under
    /// test, or --post-check-model) labels it Qualified or Unqualified: its
    /// own figure, never a score.
    #[arg(long)]
    pub post_check: bool,
    /// RealCritic: the post-check judge's name (at --post-check-base-url,
    /// else where the evaluated model is) [default: the evaluated model].
    #[arg(long, value_name = "NAME")]
    pub post_check_model: Option<String>,
    /// RealCritic: the post-check judge's endpoint (OpenAI-compatible).
    #[arg(long, value_name = "URL")]
    pub post_check_base_url: Option<String>,
    /// MINT: chances to act, one k (`3`) or a range run one k at a time
    /// (`1-5`, into DIR/k1 … DIR/k5) [default: 5].
    #[arg(long, value_name = "K|A-B")]
    pub k: Option<String>,
    /// MINT: the simulated user's feedback after each step: none,
    /// no-gt-textual, no-gt-binary, gt-textual or gt-binary.
    #[arg(long, value_name = "MODE", default_value = "none")]
    pub feedback: String,
    /// MINT: the feedback model's name (at --feedback-base-url, else where
    /// the evaluated model is) [default: the evaluated model].
    #[arg(long, value_name = "NAME")]
    pub feedback_model: Option<String>,
    /// MINT: decide episodes with hone's own answer checks instead of the
    /// reference's quirky ones (the other verdict is recorded either way).
    #[arg(long)]
    pub strict_checks: bool,
    /// MINT: the feedback model's endpoint (OpenAI-compatible).
    #[arg(long, value_name = "URL")]
    pub feedback_base_url: Option<String>,
    /// review: the ablation's variants to run, each into DIR/<variant>
    /// [default: actor,critic,execution,both].
    #[arg(long, value_delimiter = ',', value_name = "VARIANT,...")]
    pub variants: Option<Vec<String>>,
    /// review: the critic threshold the table applies (runs record every
    /// score) [default: hone review's default].
    #[arg(long, value_name = "N")]
    pub min_score: Option<u8>,
}

impl ProtocolArgs {
    /// Whether `--post-check-model` or `--post-check-base-url` names a
    /// post-check judge.
    pub fn names_post_check_judge(&self) -> bool {
        self.post_check_model.is_some() || self.post_check_base_url.is_some()
    }
}

/// The strategy and its settings: the same flags for `hone solve` and
/// `hone bench run`.
#[derive(Debug, Clone, Args)]
pub struct StrategyArgs {
    /// Search strategy. Default for `hone solve`: best-of-n for code with
    /// public tests (measured: docs/results/humaneval-full.md), self-refine
    /// otherwise; for `hone bench run`: self-refine.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Most answers (self-refine) or trials (reflexion).
    #[arg(long, default_value_t = 4)]
    pub max_rounds: u32,
    /// self-refine: when to ask the critic.
    #[arg(long, value_enum, default_value_t = CriticArg::Always)]
    pub critic: CriticArg,
    /// self-refine, reflexion: after an attempt that repeats an earlier one
    /// (same code or text, or the same failure), sample the next one at
    /// this temperature and say so in its prompt; `off` keeps every
    /// refinement at --temperature.
    #[arg(long, default_value = "0.8", value_name = "T|off")]
    pub stuck_temperature: StuckTemperature,
    /// best-of-n: samples to draw.
    #[arg(long, default_value_t = 4)]
    pub n: usize,
    /// best-of-n: sampling temperature of the samples.
    #[arg(long, default_value_t = 0.8)]
    pub sample_temperature: f32,
    /// best-of-n: draw the first sample at --temperature (greedy by
    /// default), so a sample is picked over it only when it checks better.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "true|false")]
    pub greedy_first: bool,
    /// reflexion: reflections shown to the model (the newest ones).
    #[arg(long, default_value_t = 3)]
    pub memory: usize,
    /// rethink-mcts: rollouts.
    #[arg(long, default_value_t = 16)]
    pub rollouts: u32,
    /// rethink-mcts: thoughts per expansion.
    #[arg(long, default_value_t = 3)]
    pub width: usize,
    /// rethink-mcts: exploration constant c0.
    #[arg(long, default_value_t = 4.0)]
    pub c0: f64,
    /// rethink-mcts: exploration base b.
    #[arg(long, default_value_t = 10.0)]
    pub base: f64,
    /// rethink-mcts: discount per level in backpropagation.
    #[arg(long, default_value_t = 0.9)]
    pub gamma: f64,
    /// rethink-mcts: evaluations of the new leaf per rollout (the
    /// reference's max_think_times: evaluate, then rethink and evaluate
    /// again while it fails; 2 = at most one rethink).
    #[arg(long, default_value_t = 2)]
    pub max_think: u32,
    /// rethink-mcts: states this many thoughts deep are not expanded
    /// (each rollout adds at most one level).
    #[arg(long, default_value_t = 16)]
    pub max_depth: u32,
    /// rethink-mcts: range of the self-evaluation in the 0.8/0.2 blend:
    /// signed = [-1, 1] as the reference, unit = [0, 1].
    #[arg(long, value_enum, default_value_t = SelfEvalScaleArg::Signed)]
    pub self_eval_scale: SelfEvalScaleArg,
    /// rethink-mcts: add an execution trace of the first failing public
    /// test (variables after each line) to rethink and expansion prompts
    /// (the reference does; off until measured to help).
    #[arg(
        long,
        default_value = "off",
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "on|off"
    )]
    pub trace: bool,
    /// rethink-mcts: which thought a failing test rewrites.
    #[arg(long, value_enum, default_value_t = Rethink::Last)]
    pub rethink: Rethink,
    /// rethink-mcts: keep searching after a program passes every public test
    /// (the reference runs all rollouts).
    #[arg(long)]
    pub keep_searching: bool,
    /// rethink-mcts: first write and test a program from the problem alone,
    /// before any thought (not in the reference): a problem the plain
    /// answer solves costs one call, and a failing one seeds the first
    /// expansion with its error.
    #[arg(long)]
    pub evaluate_root: bool,
    /// Most model calls for the whole run.
    #[arg(long)]
    pub max_calls: Option<u64>,
    /// Most wall time for the whole run, in seconds.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Most generated tokens per model call [default: 768; RealCritic:
    /// 2048, its reference's limit].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
}

#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// File with the task the answers respond to.
    #[arg(long, value_name = "FILE")]
    pub task: PathBuf,
    /// File with the answer to grade (answer A when comparing).
    pub answer: PathBuf,
    /// File with a second answer (B): compare A and B instead of grading.
    pub other: Option<PathBuf>,
    /// File with a reference answer that deserves the top score (grading only).
    #[arg(long, value_name = "FILE", conflicts_with = "other")]
    pub reference: Option<PathBuf>,
    /// Most generated tokens per model call.
    #[arg(long, default_value_t = 768)]
    pub max_tokens: u32,
    /// Print the judgement as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Run id (or path of a run log).
    pub run: String,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Do not print the trajectory while running.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Run id (or path of a run log).
    pub run: String,
    /// Print the raw log records as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Loads the config file named by --config / HONE_CONFIG (trusted: the
/// user named it), else ./hone.toml (untrusted unless --trust-config: any
/// checkout can ship one, and it must not collect the user's API key).
pub fn load_config(global: &Global) -> Result<ConfigFile> {
    if let Some(path) = &global.config {
        return ConfigFile::load(path).map_err(Into::into);
    }
    let local = PathBuf::from("hone.toml");
    if local.is_file() {
        let file = ConfigFile::load(&local)?;
        return Ok(if global.trust_config {
            file
        } else {
            file.untrusted()
        });
    }
    Ok(ConfigFile::default())
}

/// The directory of run logs.
pub fn runs_dir(global: &Global, config: &ConfigFile) -> PathBuf {
    global
        .runs_dir
        .clone()
        .or_else(|| config.runs.dir.clone())
        .unwrap_or_else(|| PathBuf::from(".hone").join("runs"))
}

pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let config = load_config(&cli.global).context("loading the config file")?;
    match cli.command {
        Command::Models(args) => crate::models::run(&cli.global, &config, &args).await,
        Command::Solve(args) => crate::solve::solve(&cli.global, &config, *args).await,
        Command::Resume(args) => crate::solve::resume(&cli.global, &config, args).await,
        Command::Judge(args) => crate::judge::judge(&cli.global, &config, &args).await,
        Command::Show(args) => crate::runs::show(&cli.global, &config, &args),
        Command::Runs => crate::runs::list(&cli.global, &config),
        Command::Review(args) => crate::review::review(&cli.global, &config, *args).await,
        Command::Bench(cmd) => crate::bench::command(&cli.global, &config, cmd).await,
        #[cfg(feature = "local")]
        Command::Model(cmd) => crate::local::model_command(cmd),
        #[cfg(feature = "local")]
        Command::Serve(args) => crate::local::serve(&cli.global, &config, &args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::StuckTemperature;

    #[test]
    fn stuck_temperature_is_a_temperature_or_off() {
        assert_eq!("0.8".parse(), Ok(StuckTemperature(Some(0.8))));
        assert_eq!("off".parse(), Ok(StuckTemperature(None)));
        for bad in ["-1", "hot", "NaN"] {
            let err = bad.parse::<StuckTemperature>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
