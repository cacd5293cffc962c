//! The search tree: decision nodes (states), chance nodes (thoughts),
//! evaluated candidates, `var_p_uct` selection and backpropagation.

use hone_tools::TestSuite;
use serde::{Deserialize, Serialize};

use super::*;
use crate::refine::TestOutcome;

/// A state of the search: the thoughts on the path from the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionNode {
    /// The chance node (thought) leading here; `None` at the root.
    pub parent: Option<usize>,
    /// Chance nodes below, in the order they were created.
    pub children: Vec<usize>,
    /// Times a rollout passed through this state.
    pub visits: u32,
    /// Whether the state has been expanded.
    pub expanded: bool,
    /// The program generated from this state, if any (index into
    /// [`MctsState::programs`]).
    pub program: Option<usize>,
    /// Feedback of this state's latest failing program, used by its expansion.
    pub feedback: Option<String>,
}

/// One thought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChanceNode {
    /// The decision node this thought was proposed at.
    pub parent: usize,
    /// The decision node reached by taking the thought.
    pub child: usize,
    /// The thought (1–2 sentences).
    pub thought: String,
    /// Prior `P`.
    pub prior: f64,
    /// Discounted returns sampled through this thought.
    pub returns: Vec<f64>,
    /// Times a rollout took this thought.
    pub visits: u32,
    /// Times this thought was rewritten by a rethink.
    pub rethinks: u32,
}

impl ChanceNode {
    /// `Q(c) = max(sampled returns)`, 0 when there are none.
    pub fn q(&self) -> f64 {
        self.returns.iter().copied().fold(0.0, f64::max)
    }
}

/// A program generated and evaluated during the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The model's reply (the code is its last code block).
    pub answer: String,
    /// The decision node it was generated from.
    pub state: usize,
    /// The thoughts it was generated from.
    pub thoughts: Vec<String>,
    /// Public-test result.
    pub tests: TestOutcome,
    /// The model's self-evaluation (in the settings' [`SelfEvalScale`]),
    /// asked only when all public tests pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_eval: Option<f64>,
    /// Why the self-evaluation was not asked although all public tests
    /// pass: with `stop_on_pass` this program ends the search and, passing
    /// every public test, is the final answer whatever its blended value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_eval_skipped: Option<String>,
    /// Execution trace of the first failing public test (with `trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Reward: pass fraction, blended with the self-evaluation when all pass.
    pub value: f64,
    /// Rollout (1-based) that produced it.
    pub rollout: u32,
    /// Whether it came from a rethought state.
    pub rethought: bool,
}

impl Candidate {
    /// Public-test pass fraction.
    pub fn pass_fraction(&self) -> f64 {
        self.tests.pass_fraction()
    }
}

/// The whole search: tree, evaluated programs and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MctsState {
    /// The problem.
    pub task: String,
    /// Public tests (hidden tests never enter the state).
    pub public_tests: TestSuite,
    /// Settings.
    pub settings: MctsSettings,
    /// Decision nodes; index 0 is the root.
    pub decisions: Vec<DecisionNode>,
    /// Chance nodes (thoughts).
    pub chances: Vec<ChanceNode>,
    /// Every program evaluated, in order.
    pub programs: Vec<Candidate>,
    /// Rollouts finished.
    pub rollouts: u32,
    /// Malformed model outputs replaced by a fallback.
    pub malformed: u32,
    /// Rethinks made.
    pub rethinks: u32,
    /// Set when the model-call budget ran out inside a rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_stop: Option<String>,
}

/// `var_p_uct` score of a chance node.
///
/// `C(N) = ln((N + b + 1) / b) + c0`;
/// `score = Q + C(N_parent) · P · sqrt(ln N_parent) / (1 + n_c)`.
/// With `N_parent` ≤ 1 the exploration term is 0 (`ln 1 = 0`).
///
/// ```
/// use hone_agents::mcts::var_p_uct;
/// // Q = 0.5, P = 0.5, n_c = 1, N = 10, c0 = 4, b = 10.
/// let expected = 0.5 + ((21.0f64 / 10.0).ln() + 4.0) * 0.5 * (10.0f64.ln()).sqrt() / 2.0;
/// assert!((var_p_uct(0.5, 0.5, 1, 10, 4.0, 10.0) - expected).abs() < 1e-12);
/// assert_eq!(var_p_uct(0.3, 0.9, 0, 1, 4.0, 10.0), 0.3);
/// ```
pub fn var_p_uct(
    q: f64,
    prior: f64,
    child_visits: u32,
    parent_visits: u32,
    c0: f64,
    base: f64,
) -> f64 {
    let n = f64::from(parent_visits);
    let c = ((n + base + 1.0) / base).ln() + c0;
    let explore = if parent_visits <= 1 {
        0.0
    } else {
        n.ln().sqrt()
    };
    q + c * prior * explore / (1.0 + f64::from(child_visits))
}

impl MctsState {
    /// A search with only the root state.
    pub fn new(task: impl Into<String>, public_tests: TestSuite, settings: MctsSettings) -> Self {
        MctsState {
            task: task.into(),
            public_tests,
            settings,
            decisions: vec![DecisionNode {
                parent: None,
                children: Vec::new(),
                visits: 0,
                expanded: false,
                program: None,
                feedback: None,
            }],
            chances: Vec::new(),
            programs: Vec::new(),
            rollouts: 0,
            malformed: 0,
            rethinks: 0,
            budget_stop: None,
        }
    }

    /// The chance nodes from the root to decision node `d`, root first.
    pub fn path(&self, d: usize) -> Vec<usize> {
        let mut path = Vec::new();
        let mut node = d;
        while let Some(c) = self.decisions[node].parent {
            path.push(c);
            node = self.chances[c].parent;
        }
        path.reverse();
        path
    }

    /// The thoughts of state `d`, in order.
    pub fn thoughts(&self, d: usize) -> Vec<String> {
        self.path(d)
            .into_iter()
            .map(|c| self.chances[c].thought.clone())
            .collect()
    }

    /// The child of decision node `d` that `var_p_uct` selects; ties go to
    /// the higher prior, then the earlier child.
    pub fn select_child(&self, d: usize) -> Option<usize> {
        let node = &self.decisions[d];
        let s = &self.settings;
        let mut best: Option<(f64, f64, usize)> = None;
        for &c in &node.children {
            let chance = &self.chances[c];
            let score = var_p_uct(
                chance.q(),
                chance.prior,
                chance.visits,
                node.visits,
                s.c0,
                s.base,
            );
            let better = match best {
                None => true,
                Some((bs, bp, _)) => score > bs || (score == bs && chance.prior > bp),
            };
            if better {
                best = Some((score, chance.prior, c));
            }
        }
        best.map(|(_, _, c)| c)
    }

    /// Adds thoughts below decision node `d` (priors normalised to sum 1).
    pub fn add_children(&mut self, d: usize, thoughts: Vec<(String, f64)>) {
        let total: f64 = thoughts.iter().map(|(_, p)| p.max(0.0)).sum();
        let count = thoughts.len().max(1) as f64;
        for (thought, prior) in thoughts {
            let prior = if total > 0.0 {
                prior.max(0.0) / total
            } else {
                1.0 / count
            };
            let child = self.decisions.len();
            let c = self.chances.len();
            self.decisions.push(DecisionNode {
                parent: Some(c),
                children: Vec::new(),
                visits: 0,
                expanded: false,
                program: None,
                feedback: None,
            });
            self.chances.push(ChanceNode {
                parent: d,
                child,
                thought,
                prior,
                returns: Vec::new(),
                visits: 0,
                rethinks: 0,
            });
            self.decisions[d].children.push(c);
        }
        self.decisions[d].expanded = true;
    }

    /// Backpropagates `reward` from decision node `leaf` as the reference
    /// does (`estimate = reward_of_transition + gamma · estimate`, with no
    /// intermediate rewards): the chance node just above the leaf gets
    /// `gamma · reward`, the next `gamma² · reward`, and so on; every node on
    /// the path gains a visit.
    pub fn backpropagate(&mut self, leaf: usize, reward: f64) {
        let mut value = reward;
        let mut node = leaf;
        self.decisions[node].visits += 1;
        while let Some(c) = self.decisions[node].parent {
            value *= self.settings.gamma;
            self.chances[c].returns.push(value);
            self.chances[c].visits += 1;
            node = self.chances[c].parent;
            self.decisions[node].visits += 1;
        }
    }

    /// Replaces thought `c` by `thought` at the same tree position, resets
    /// its prior to 1.0 and drops what was learnt under the old thought: the
    /// cached programs and feedback of every state at or below it, and the
    /// returns and visits of `c` and of every thought below it (the
    /// reference replaces the chance node by a fresh one). Visits of the
    /// states above are kept, as in the reference.
    pub fn replace_thought(&mut self, c: usize, thought: String) {
        self.chances[c].thought = thought;
        self.chances[c].prior = 1.0;
        self.chances[c].rethinks += 1;
        let mut chances = vec![c];
        while let Some(c) = chances.pop() {
            self.chances[c].returns.clear();
            self.chances[c].visits = 0;
            let d = self.chances[c].child;
            self.decisions[d].program = None;
            self.decisions[d].feedback = None;
            self.decisions[d].visits = 0;
            chances.extend(self.decisions[d].children.iter().copied());
        }
        self.rethinks += 1;
    }

    /// The final answer: the program with the highest public-test pass
    /// fraction, then the highest value, then one whose tests ran at all
    /// (not a crash before the first test), then the earliest.
    pub fn best_program(&self) -> Option<&Candidate> {
        self.programs.iter().rev().max_by(|a, b| {
            let ran = |p: &Candidate| p.tests.total > 0;
            (a.pass_fraction(), a.value, ran(a))
                .partial_cmp(&(b.pass_fraction(), b.value, ran(b)))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    }

    /// Whether some program passes every public test.
    pub fn solved(&self) -> bool {
        self.programs.iter().any(|p| p.tests.all_passed())
    }

    /// Depth (thoughts) of decision node `d`.
    pub fn depth(&self, d: usize) -> usize {
        self.path(d).len()
    }
}
