//! RethinkMCTS settings: widths, depths, constants, rethink and
//! self-evaluation modes.

use serde::{Deserialize, Serialize};

/// Which thought a rethink rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RethinkMode {
    /// The last thought on the path (the reference code's behaviour).
    #[default]
    Last,
    /// The thought the model identifies as faulty, anywhere on the path.
    Any,
    /// No rethinking (plain MCTS over thoughts).
    Off,
}

/// Search settings; the defaults are the reference implementation's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MctsSettings {
    /// Rollouts to run.
    pub rollouts: u32,
    /// Thoughts per expansion.
    pub width: usize,
    /// Exploration constant `c0`.
    pub c0: f64,
    /// Exploration base `b`.
    pub base: f64,
    /// Discount per tree level in backpropagation.
    pub gamma: f64,
    /// Evaluations of the new leaf per rollout, as the reference's
    /// `max_think_times`: evaluate, and while the code fails and evaluations
    /// remain, rethink and evaluate again (2 = at most one rethink).
    pub max_think: u32,
    /// States at this depth (thoughts from the root) are terminal: never
    /// expanded. Each rollout adds at most one level, so the default (the
    /// default rollouts) never binds in a default search.
    #[serde(default = "default_max_depth")]
    pub max_depth: u32,
    /// Which thought a rethink rewrites.
    pub rethink: RethinkMode,
    /// Weight of the model's self-evaluation once all public tests pass.
    pub self_eval_weight: f64,
    /// End the search once a program passes every public test. The
    /// reference runs all rollouts; stopping early saves the budget when
    /// nothing better than "all public tests pass" can be learned.
    pub stop_on_pass: bool,
    /// Sampling temperature of every call.
    pub temperature: f32,
    /// Range the self-evaluation is mapped to before the blend.
    #[serde(default)]
    pub self_eval_scale: SelfEvalScale,
    /// Add an execution trace of the first failing public test to the
    /// feedback of rethinks and of expansions after a failure (the
    /// reference's verbal feedback; off by default, see
    /// docs/results/rethink-mcts-reference.md).
    #[serde(default)]
    pub trace: bool,
    /// Before the root is expanded, write and test a program from the
    /// problem alone (no thought), as best-of-n's greedy first answer: a
    /// problem the plain answer solves costs one call, and when it fails,
    /// the root's expansion asks for thoughts that avoid its error. The
    /// final pick breaks ties towards the earliest program, so with nothing
    /// better found (or no public tests to rank by) the plain answer is
    /// returned. Off by default: the reference never evaluates the root,
    /// and at 4 calls per HumanEval problem its thought-first programs lost
    /// 6 problems whose plain answer passed the public tests
    /// (docs/results/humaneval-full.md).
    #[serde(default)]
    pub evaluate_root: bool,
}

pub(super) fn default_max_depth() -> u32 {
    16
}

/// The range of the model's self-evaluation in the blend
/// `0.8 · r + 0.2 · self_eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SelfEvalScale {
    /// `[-1, 1]`, the reference's range (its prompt asks for a score in
    /// `[-1, 1]`): the 0–10 score `s` becomes `s / 5 - 1`, so an all-pass
    /// program's value lies in `[0.6, 1.0]`.
    #[default]
    Signed,
    /// `[0, 1]` (hone's earlier variant): `s / 10`, so the value lies in
    /// `[0.8, 1.0]`.
    Unit,
}

impl SelfEvalScale {
    /// Maps a parsed score in `[0, 1]` to this range.
    ///
    /// ```
    /// use hone_agents::mcts::SelfEvalScale;
    /// assert_eq!(SelfEvalScale::Signed.map(0.9), 0.8);
    /// assert_eq!(SelfEvalScale::Signed.map(0.5), 0.0);
    /// assert_eq!(SelfEvalScale::Unit.map(0.9), 0.9);
    /// ```
    pub fn map(self, unit: f64) -> f64 {
        match self {
            SelfEvalScale::Signed => 2.0 * unit - 1.0,
            SelfEvalScale::Unit => unit,
        }
    }
}

impl Default for MctsSettings {
    fn default() -> Self {
        MctsSettings {
            rollouts: 16,
            width: 3,
            c0: 4.0,
            base: 10.0,
            gamma: 0.9,
            max_think: 2,
            max_depth: default_max_depth(),
            rethink: RethinkMode::Last,
            self_eval_weight: 0.2,
            stop_on_pass: true,
            temperature: 0.0,
            self_eval_scale: SelfEvalScale::Signed,
            // Off until a measurement shows it helps (the reference has it
            // on): docs/results/rethink-mcts-reference.md.
            trace: false,
            evaluate_root: false,
        }
    }
}
