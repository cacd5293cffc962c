//! [`RunHeader`]: what a run log's header records so that any process can
//! resume the run knowing nothing else — the strategy and its settings,
//! sampling, the model it used, and how the answer is scored afterwards and
//! where prompts and cached responses came from ([`RunSettings`]).
//!
//! `hone solve` writes one into every log (`RunOptions::with_meta`) and
//! `hone resume` rebuilds the graph from it:
//!
//! ```
//! use std::sync::Arc;
//! use hone_agents::header::RunHeader;
//! use hone_agents::refine::RefineConfig;
//! use hone_core::{graph::RunOptions, ScriptedModel};
//!
//! let header = RunHeader::new("self-refine", "scripted model m");
//! let meta = header.to_meta();
//! assert_eq!(meta["strategy"], "self-refine");
//! let cfg = RefineConfig::new(Arc::new(ScriptedModel::new()), Arc::new(hone_agents::templates::embedded()));
//! let search = RunHeader::from_meta(&meta).unwrap().search(cfg).unwrap();
//! assert_eq!(search.name(), "self-refine");
//! ```

use std::path::{Path, PathBuf};

use hone_core::graph::{read_run_log, Graph, GraphError, RunOptions};
use serde::{Deserialize, Serialize};

use crate::best_of_n::{best_of_n_graph, BestOfN};
use crate::mcts::{rethink_mcts_graph, MctsState};
use crate::outcome::RunSummary;
use crate::refine::{
    self_refine_graph, single_shot_graph, CriticPolicy, RefineConfig, RefineState,
};
use crate::reflexion::{reflexion_graph, DEFAULT_MEMORY};

/// The strategies a header can name.
pub const STRATEGIES: [&str; 5] = [
    "single-shot",
    "self-refine",
    "reflexion",
    "best-of-n",
    "rethink-mcts",
];

fn is_first_draw(draw: &u32) -> bool {
    *draw == 0
}

/// Settings that shape the graph, stored in the log header so a resume
/// rebuilds exactly the same graph (RethinkMCTS keeps its own settings in
/// its state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    /// The strategy, one of [`STRATEGIES`].
    pub strategy: String,
    /// Temperature of every call.
    pub temperature: f32,
    /// Token limit per call.
    pub max_tokens: u32,
    /// The model the run started with, for display (a resume with another
    /// one is warned about).
    pub model: String,
    /// Best-of-n's sample count.
    #[serde(default)]
    pub n: usize,
    /// Best-of-n's sampling temperature.
    #[serde(default)]
    pub sample_temperature: f32,
    /// Whether best-of-n's first sample is drawn at `temperature`; logs
    /// written before it was recorded sampled every one.
    #[serde(default)]
    pub greedy_first: bool,
    /// Reflexion's memory.
    #[serde(default)]
    pub memory: usize,
    /// When self-refine asks the critic; logs written before it was
    /// recorded always asked.
    #[serde(default)]
    pub critic: CriticPolicy,
    /// The temperature of a refinement after a repeated attempt
    /// ([`RefineConfig::stuck_temperature`]); logs written before it was
    /// recorded had none.
    #[serde(default)]
    pub stuck_temperature: Option<f32>,
    /// Which independent draw of the task this run is
    /// ([`RefineConfig::draw`]): 0, left out of the header, keeps the seeds
    /// runs always had.
    #[serde(default, skip_serializing_if = "is_first_draw")]
    pub draw: u32,
    /// Scoring, templates and cache; absent in logs written before they
    /// were recorded.
    #[serde(default)]
    pub settings: Option<RunSettings>,
}

/// What a resume must keep besides the graph: how the answer is scored
/// after the search, and where prompts and cached responses come from.
/// Paths are absolute, so a resume from another directory finds them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The hidden tests' file (the tests themselves never enter the log).
    pub hidden_tests: Option<PathBuf>,
    /// The entry point the hidden tests call.
    pub entry_point: Option<String>,
    /// A math task's reference answer, checked after the search.
    pub reference: Option<String>,
    /// The template override directory.
    pub templates: Option<PathBuf>,
    /// The response cache directory; `None`: no cache.
    pub cache: Option<PathBuf>,
}

/// Why a header could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The log could not be read.
    #[error(transparent)]
    Log(#[from] GraphError),
    /// The header holds no run settings (another program wrote the log).
    #[error("{path} was not written by `hone solve` (its header has no solve settings): {source}")]
    NotASolveRun {
        /// The log.
        path: PathBuf,
        /// Why the header did not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The header's strategy is unknown to this build.
    #[error("the run uses strategy {0:?}, which this build does not know (known: {known})", known = STRATEGIES.join(", "))]
    UnknownStrategy(String),
}

impl RunHeader {
    /// A header for `strategy` with the builders' defaults (temperature 0,
    /// 768 tokens, n 4 at temperature 0.8 after a greedy first sample,
    /// memory 3) and no settings.
    pub fn new(strategy: impl Into<String>, model: impl Into<String>) -> Self {
        let best_of_n = BestOfN::default();
        RunHeader {
            strategy: strategy.into(),
            temperature: 0.0,
            max_tokens: 768,
            model: model.into(),
            n: best_of_n.n,
            sample_temperature: best_of_n.temperature,
            greedy_first: best_of_n.greedy_first,
            memory: DEFAULT_MEMORY,
            critic: CriticPolicy::Always,
            stuck_temperature: RefineConfig::DEFAULT_STUCK_TEMPERATURE,
            draw: 0,
            settings: None,
        }
    }

    /// The header as run-log metadata, for `RunOptions::with_meta`.
    pub fn to_meta(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The header from run-log metadata.
    pub fn from_meta(meta: &serde_json::Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(meta.clone())
    }

    /// Reads the header of the run log at `log`.
    pub fn read(log: &Path) -> Result<Self, HeaderError> {
        let summary = read_run_log(log)?;
        Self::from_meta(&summary.meta).map_err(|source| HeaderError::NotASolveRun {
            path: log.to_path_buf(),
            source,
        })
    }

    /// The strategy's graph on `cfg`, with this header's temperature and
    /// token limit.
    pub fn search(&self, cfg: RefineConfig) -> Result<Search, HeaderError> {
        let cfg = cfg
            .with_temperature(self.temperature)
            .with_max_tokens(self.max_tokens)
            .with_critic_policy(self.critic)
            .with_stuck_temperature(self.stuck_temperature)
            .with_draw(self.draw);
        let linear = |graph| Search::Linear {
            strategy: self.strategy.clone(),
            graph,
        };
        Ok(match self.strategy.as_str() {
            "single-shot" => linear(single_shot_graph(cfg)?),
            "self-refine" => linear(self_refine_graph(cfg)?),
            "reflexion" => linear(reflexion_graph(cfg, self.memory)?),
            "best-of-n" => linear(best_of_n_graph(
                cfg,
                BestOfN {
                    n: self.n,
                    temperature: self.sample_temperature,
                    greedy_first: self.greedy_first,
                },
            )?),
            "rethink-mcts" => Search::Mcts(rethink_mcts_graph(cfg)?),
            other => return Err(HeaderError::UnknownStrategy(other.to_string())),
        })
    }
}

/// The graph a header names.
pub enum Search {
    /// A linear strategy's graph.
    Linear {
        /// Its name.
        strategy: String,
        /// The graph.
        graph: Graph<RefineState>,
    },
    /// RethinkMCTS's graph.
    Mcts(Graph<MctsState>),
}

impl Search {
    /// The strategy's name.
    pub fn name(&self) -> &str {
        match self {
            Search::Linear { strategy, .. } => strategy,
            Search::Mcts(_) => "rethink-mcts",
        }
    }

    /// Continues the run checkpointed in `log` and summarises it.
    pub async fn resume(&self, log: &Path, options: RunOptions) -> Result<RunSummary, GraphError> {
        Ok(match self {
            Search::Linear { strategy, graph } => {
                RunSummary::of_linear(strategy, &graph.resume(log, options).await?)
            }
            Search::Mcts(graph) => RunSummary::of_mcts(&graph.resume(log, options).await?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_older_logs_still_read() {
        // Written before `settings`, `n`, `memory` were recorded.
        let old = serde_json::json!({"strategy": "reflexion", "temperature": 0.0, "max_tokens": 256, "model": "m"});
        let header = RunHeader::from_meta(&old).unwrap();
        assert_eq!(header.settings, None);
        assert_eq!(header.memory, 0);
        assert_eq!(header.critic, CriticPolicy::Always);
    }

    #[test]
    fn an_unknown_strategy_is_named() {
        let cfg = RefineConfig::new(
            std::sync::Arc::new(hone_core::ScriptedModel::new()),
            std::sync::Arc::new(crate::templates::embedded()),
        );
        let err = RunHeader::new("tree-of-thought", "m")
            .search(cfg)
            .err()
            .expect("unknown");
        assert!(err.to_string().contains("tree-of-thought"), "{err}");
        assert!(err.to_string().contains("self-refine"), "{err}");
    }
}
