//! RethinkMCTS: Monte Carlo tree search over thoughts for code, with
//! erroneous thoughts rewritten from execution feedback.
//!
//! The protocol follows the reference implementation of "RethinkMCTS:
//! Refining Erroneous Thoughts in Monte Carlo Tree Search for Code
//! Generation" as the brief states it:
//!
//! - A **decision node** is a state: the problem plus the thoughts on its
//!   path. A **chance node** is one thought with a prior `P` (the model's
//!   "reasonableness", normalised so siblings sum to 1) and the returns
//!   sampled through it. Code is never a node: it is generated from a state
//!   and cached per state.
//! - **Selection** (`var_p_uct`): `Q(c) = max(returns)` (0 if none),
//!   `C(N) = ln((N + b + 1) / b) + c0`,
//!   `score(c) = Q(c) + C(N_parent) · P(c) · sqrt(ln N_parent) / (1 + n_c)`
//!   — see [`var_p_uct`].
//! - **A rollout** (as the reference runs it): the root is expanded once,
//!   before anything else. Selection descends from the root through
//!   expanded states to the first state not yet expanded — the new leaf, one
//!   thought deeper than its parent. The leaf is evaluated; while its code
//!   fails and evaluations remain (`max_think` evaluations per rollout:
//!   evaluate, then rethink and evaluate again, so at most one rethink for
//!   the default 2), a thought is rethought and the leaf re-evaluated. Then
//!   the leaf is expanded (after a failure, with the error as feedback). So
//!   every rollout adds at most one level and the tree is at most
//!   `rollouts` deep; `max_depth` caps it further (a state at that depth is
//!   terminal: never expanded, and a rollout that reaches it again reuses
//!   its value without calling the model).
//! - **Expansion** asks for `width` thoughts in one call; after a failed
//!   evaluation of the node it asks for thoughts that avoid the reported
//!   error.
//! - **Evaluation**: code generated from the state runs against the
//!   **public** tests in the sandbox; reward = pass fraction. Only when all
//!   public tests pass is the model's own evaluation blended in:
//!   `0.8 · r + 0.2 · self_eval`, with `self_eval` in the reference's
//!   `[-1, 1]` ([`SelfEvalScale`]). With `stop_on_pass` the
//!   self-evaluation is skipped (see [`Program::self_eval_skipped`]).
//! - **Rethink**: when tests fail, the thought that led here is replaced at
//!   the same tree position with prior 1.0, using the failing test, expected
//!   vs actual and traceback as feedback — plus, with `trace`, an execution
//!   trace of the first failing test ([`hone_tools::trace`]); code is
//!   regenerated and re-evaluated. The returns sampled below the replaced
//!   thought are dropped (they belong to the old thought). `rethink = last`
//!   rewrites the last thought (what the reference code does);
//!   `rethink = any` lets the model name the faulty thought on the path and
//!   rewrites that one.
//! - **Backpropagation** (as the reference): the chance node just above the
//!   leaf gets `gamma · v`, the next `gamma² · v`, and so on; visits
//!   increase.
//! - **Final answer**: the program with the highest public-test value (pass
//!   fraction, then blended value, then code that ran, then earliest).
//!
//! Hidden tests never enter [`MctsState`]: the caller scores the final
//! program after the search. Malformed model output (thought JSON that does
//! not parse, code with no code block, a self-evaluation with no score) is
//! counted in [`MctsState::malformed`] and replaced by a documented fallback,
//! never a crash. When the model-call budget runs out inside a rollout, the
//! work done so far (tree, evaluated programs) is kept and the search ends.
//!
//! One graph step is one rollout, so every rollout is checkpointed and a
//! killed search resumes at the rollout it was in.

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, NodeError, Route};
use hone_tools::trace::{trace_test, TraceLimits};
use hone_tools::{Harness, TestReport, TestStatus, TestSuite};
use serde::{Deserialize, Serialize};

use crate::events::{AgentEvent, ProposedThought};
use crate::refine::{complete, extract_code, RefineConfig, TestOutcome};
use crate::verify::{is_budget_exhausted, run_public_tests_report};

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
}

fn default_max_depth() -> u32 {
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
        }
    }
}

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
pub struct Program {
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

impl Program {
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
    pub programs: Vec<Program>,
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
    pub fn best_program(&self) -> Option<&Program> {
        self.programs.iter().rev().max_by(|a, b| {
            let ran = |p: &Program| p.tests.total > 0;
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

/// Parses an expansion reply into thoughts with priors. The expected form is
/// a JSON object `{"thoughts": [{"thought": "...", "reasonableness": 0.6}, …]}`
/// (or a bare JSON array of such objects or strings), possibly inside a code
/// fence. Returns the thoughts and whether the reply was malformed; a
/// malformed reply falls back to its non-empty lines (list markers
/// stripped) with equal priors, and an empty one to a single generic
/// thought.
///
/// ```
/// use hone_agents::mcts::parse_thoughts;
/// let (t, malformed) = parse_thoughts(r#"{"thoughts": [{"thought": "Use a stack.", "reasonableness": 3}, {"thought": "Sort first.", "reasonableness": 1}]}"#, 3);
/// assert!(!malformed);
/// assert_eq!(t[0], ("Use a stack.".to_string(), 3.0));
/// let (t, malformed) = parse_thoughts("1. Use a stack.\n2. Sort first.", 3);
/// assert!(malformed);
/// assert_eq!(t.len(), 2);
/// ```
pub fn parse_thoughts(reply: &str, width: usize) -> (Vec<(String, f64)>, bool) {
    let width = width.max(1);
    if let Some(parsed) = json_thoughts(reply) {
        if !parsed.is_empty() {
            return (parsed.into_iter().take(width).collect(), false);
        }
    }
    let lines: Vec<(String, f64)> = reply
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(|c: char| {
                    c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | '•')
                })
                .trim()
                .to_string()
        })
        .filter(|l| {
            l.len() > 3 && !l.starts_with("```") && !l.starts_with('{') && !l.starts_with('}')
        })
        .take(width)
        .map(|l| (l, 1.0))
        .collect();
    if lines.is_empty() {
        return (
            vec![(
                "Solve the problem directly, handling the edge cases in the examples.".to_string(),
                1.0,
            )],
            true,
        );
    }
    (lines, true)
}

fn json_value(reply: &str) -> Option<serde_json::Value> {
    let starts = reply.find(['{', '['])?;
    let ends = reply.rfind(['}', ']'])?;
    if ends < starts {
        return None;
    }
    serde_json::from_str(&reply[starts..=ends]).ok()
}

fn json_thoughts(reply: &str) -> Option<Vec<(String, f64)>> {
    let value = json_value(reply)?;
    let list = match &value {
        serde_json::Value::Array(items) => items.clone(),
        serde_json::Value::Object(map) => map
            .get("thoughts")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default(),
        _ => return None,
    };
    let thoughts = list
        .iter()
        .filter_map(|item| match item {
            serde_json::Value::String(s) => Some((s.trim().to_string(), 1.0)),
            serde_json::Value::Object(o) => {
                let text = o
                    .get("thought")
                    .or_else(|| o.get("text"))
                    .and_then(|t| t.as_str())?
                    .trim()
                    .to_string();
                let prior = o
                    .get("reasonableness")
                    .or_else(|| o.get("prior"))
                    .or_else(|| o.get("score"))
                    .and_then(|p| {
                        p.as_f64()
                            .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
                    })
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .unwrap_or(1.0);
                Some((text, prior))
            }
            _ => None,
        })
        .filter(|(t, _)| !t.is_empty())
        .collect();
    Some(thoughts)
}

/// Parses a self-evaluation: the first number after the last "score" (any
/// case), else the first number on the last line that has one; read as a
/// score out of 10, or as a fraction when written with a decimal point and
/// ≤ 1. `None` when there is no usable number.
///
/// ```
/// use hone_agents::mcts::parse_self_eval;
/// assert_eq!(parse_self_eval("Looks right.\nSCORE: 8"), Some(0.8));
/// assert_eq!(parse_self_eval("score 0.9"), Some(0.9));
/// assert_eq!(parse_self_eval("I'd say 7/10"), Some(0.7));
/// assert_eq!(parse_self_eval("no idea"), None);
/// ```
pub fn parse_self_eval(reply: &str) -> Option<f64> {
    let lower = reply.to_ascii_lowercase();
    let region = match lower.rfind("score") {
        Some(at) => &reply[at + "score".len()..],
        None => reply
            .lines()
            .rev()
            .find(|l| l.chars().any(|c| c.is_ascii_digit()))?,
    };
    let start = region.find(|c: char| c.is_ascii_digit())?;
    let text: String = region[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let text = text.trim_end_matches('.');
    let number: f64 = text.parse().ok()?;
    let score = if text.contains('.') && number <= 1.0 {
        number
    } else {
        number / 10.0
    };
    (0.0..=1.0).contains(&score).then_some(score)
}

/// A rethink reply: the new thought and, for `rethink = any`, the 1-based
/// index of the thought it replaces.
fn parse_rethink(reply: &str) -> (Option<usize>, Option<String>) {
    if let Some(serde_json::Value::Object(o)) = json_value(reply) {
        let index = o.get("index").and_then(|i| {
            i.as_u64()
                .map(|i| i as usize)
                .or_else(|| i.as_str().and_then(|s| s.trim().parse().ok()))
        });
        let thought = o
            .get("thought")
            .and_then(|t| t.as_str())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if thought.is_some() {
            return (index, thought);
        }
    }
    let text = reply
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"))
        .collect::<Vec<_>>()
        .join(" ");
    (None, (!text.is_empty()).then_some(text))
}

/// An error inside a rollout: the budget ran out, or the node failed.
enum Stop {
    Budget(String),
    Failed(NodeError),
}

impl From<NodeError> for Stop {
    fn from(e: NodeError) -> Self {
        if is_budget_exhausted(&e) {
            Stop::Budget(e.to_string())
        } else {
            Stop::Failed(e)
        }
    }
}

impl From<hone_core::templates::TemplateError> for Stop {
    fn from(e: hone_core::templates::TemplateError) -> Self {
        Stop::Failed(e.into())
    }
}

/// Expands decision node `d` with `width` thoughts.
async fn expand(
    s: &mut MctsState,
    d: usize,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<(), Stop> {
    let prompt = cfg.templates.render(
        "mcts_expand.j2",
        serde_json::json!({
            "task": s.task,
            "thoughts": s.thoughts(d),
            "width": s.settings.width,
            "feedback": s.decisions[d].feedback,
            "trace": s.decisions[d].feedback.as_ref().and(latest_trace(s, d)),
        }),
    )?;
    let reply = complete(ctx, &*cfg.actor, prompt, cfg, 0).await?;
    let (thoughts, malformed) = parse_thoughts(&reply, s.settings.width);
    if malformed {
        s.malformed += 1;
    }
    let first_new = s.chances.len();
    s.add_children(d, thoughts);
    let added: Vec<ProposedThought> = (first_new..s.chances.len())
        .map(|c| ProposedThought {
            thought: s.chances[c].thought.clone(),
            prior: s.chances[c].prior,
        })
        .collect();
    AgentEvent::Expand {
        rollout: s.rollouts + 1,
        depth: s.depth(d),
        thoughts: added,
        malformed,
        after_failure: s.decisions[d].feedback.is_some(),
    }
    .emit(ctx);
    Ok(())
}

/// Generates and evaluates the program of state `d` (reusing the cached
/// one); returns its value.
async fn evaluate(
    s: &mut MctsState,
    d: usize,
    rethought: bool,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<f64, Stop> {
    if let Some(p) = s.decisions[d].program {
        return Ok(s.programs[p].value);
    }
    let harness = cfg.harness.as_ref().ok_or_else(|| {
        Stop::Failed(NodeError::failed(
            "RethinkMCTS needs a sandbox harness to run the public tests",
        ))
    })?;
    let thoughts = s.thoughts(d);
    let prompt = cfg.templates.render(
        "mcts_code.j2",
        serde_json::json!({"task": s.task, "thoughts": thoughts}),
    )?;
    let answer = complete(ctx, &*cfg.actor, prompt, cfg, 0).await?;
    if !answer.contains("```") {
        // No code block: the whole reply is tried as code (and most likely
        // fails its tests).
        s.malformed += 1;
    }
    let code = extract_code(&answer);
    let (tests, report) = run_public_tests_report(ctx, harness, &code, &s.public_tests).await?;
    let trace = if s.settings.trace && !tests.all_passed() {
        failing_test_trace(harness, &code, &s.public_tests, &report, ctx).await
    } else {
        None
    };
    let index = s.programs.len();
    let reward = tests.pass_fraction();
    s.programs.push(Program {
        answer,
        state: d,
        thoughts,
        tests: tests.clone(),
        self_eval: None,
        self_eval_skipped: None,
        trace,
        value: reward,
        rollout: s.rollouts + 1,
        rethought,
    });
    s.decisions[d].program = Some(index);
    s.decisions[d].feedback = (!tests.all_passed()).then(|| tests.feedback.clone());
    if tests.all_passed() && s.settings.stop_on_pass {
        // The first program to pass every public test ends the search
        // (`stop_on_pass`) and is the final answer, since the final pick
        // ranks by pass fraction first: its blended value cannot change the
        // result, so the call is saved and the reason kept in the state.
        let reason = "stop_on_pass: this program passes every public test, so it ends the \
                      search and is the final answer whatever its self-evaluation";
        s.programs[index].self_eval_skipped = Some(reason.to_string());
        AgentEvent::SelfEvalSkipped {
            program: index + 1,
            reason: reason.to_string(),
        }
        .emit(ctx);
    } else if tests.all_passed() {
        let prompt = cfg.templates.render(
            "mcts_self_eval.j2",
            serde_json::json!({"task": s.task, "code": code, "total": tests.total}),
        )?;
        let reply = complete(ctx, &*cfg.actor, prompt, cfg, 0).await?;
        let unit = parse_self_eval(&reply).unwrap_or_else(|| {
            // No usable score: neutral (0.5 of [0, 1], 0 of [-1, 1]; the
            // reference falls back to 0.0 of [-1, 1]).
            s.malformed += 1;
            0.5
        });
        let self_eval = s.settings.self_eval_scale.map(unit);
        let w = s.settings.self_eval_weight;
        let program = &mut s.programs[index];
        program.self_eval = Some(self_eval);
        program.value = (1.0 - w) * reward + w * self_eval;
    }
    let program = &s.programs[index];
    AgentEvent::Program {
        rollout: program.rollout,
        program: index + 1,
        depth: program.thoughts.len(),
        passed: program.tests.passed,
        total: program.tests.total,
        self_eval: program.self_eval,
        value: program.value,
        traced: program.trace.is_some(),
        rethought,
        feedback: program.tests.feedback.clone(),
        answer: program.answer.clone(),
    }
    .emit(ctx);
    Ok(program.value)
}

/// Rewrites a thought on the path of failed state `d` from its feedback;
/// returns whether a thought was replaced.
async fn rethink(
    s: &mut MctsState,
    d: usize,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<bool, Stop> {
    let path = s.path(d);
    let (Some(&last), Some(program)) = (path.last(), s.decisions[d].program) else {
        return Ok(false);
    };
    let program = &s.programs[program];
    let prompt = cfg.templates.render(
        "mcts_rethink.j2",
        serde_json::json!({
            "task": s.task,
            "thoughts": s.thoughts(d),
            "code": extract_code(&program.answer),
            "feedback": program.tests.feedback,
            "trace": program.trace,
            "mode": s.settings.rethink,
        }),
    )?;
    let reply = complete(ctx, &*cfg.actor, prompt, cfg, 0).await?;
    let (index, thought) = parse_rethink(&reply);
    let Some(thought) = thought else {
        s.malformed += 1;
        return Ok(false);
    };
    let target = match (s.settings.rethink, index) {
        (RethinkMode::Any, Some(i)) if (1..=path.len()).contains(&i) => path[i - 1],
        (RethinkMode::Any, _) => {
            // No usable index: rewrite the last thought.
            s.malformed += 1;
            last
        }
        _ => last,
    };
    let position = path
        .iter()
        .position(|&c| c == target)
        .unwrap_or(path.len() - 1);
    AgentEvent::Rethink {
        rollout: s.rollouts + 1,
        position: position + 1,
        old: s.chances[target].thought.clone(),
        new: thought.clone(),
    }
    .emit(ctx);
    s.replace_thought(target, thought);
    Ok(true)
}

/// The execution trace of state `d`'s latest program, if any.
fn latest_trace(s: &MctsState, d: usize) -> Option<&String> {
    s.decisions[d]
        .program
        .and_then(|p| s.programs[p].trace.as_ref())
}

/// Traces the first failing public test of `code`; `None` when no test
/// failed as a test (the program did not load), the suite has no statement
/// to trace, or the tracer failed (reported as an event: the trace is extra
/// feedback, never a reason to stop the search).
async fn failing_test_trace(
    harness: &Harness,
    code: &str,
    suite: &TestSuite,
    report: &TestReport,
    ctx: &NodeContext,
) -> Option<String> {
    if report.candidate_error.is_some() {
        return None;
    }
    let failing = report
        .tests
        .iter()
        .find(|t| t.status != TestStatus::Passed && !t.source.trim().is_empty())?;
    let limits = TraceLimits::default();
    match trace_test(harness, code, suite, &failing.source, &limits).await {
        Ok(trace) if !trace.steps.is_empty() => Some(trace.render(limits.max_chars)),
        Ok(_) => None,
        Err(e) => {
            AgentEvent::TraceFailed {
                error: e.to_string(),
            }
            .emit(ctx);
            None
        }
    }
}

/// One rollout, as the reference runs it: expand the root the first time;
/// select down through expanded states to the new leaf; evaluate it up to
/// `max_think` times, rethinking between failed evaluations; expand it
/// (unless terminal, or solved with `stop_on_pass`); backpropagate.
async fn rollout(s: &mut MctsState, ctx: &NodeContext, cfg: &RefineConfig) -> Result<(), Stop> {
    if !s.decisions[0].expanded {
        expand(s, 0, ctx, cfg).await?;
    }
    let mut d = 0;
    while s.decisions[d].expanded {
        match s.select_child(d) {
            Some(c) => d = s.chances[c].child,
            None => break,
        }
    }
    let failed = |s: &MctsState, d: usize| {
        s.decisions[d]
            .program
            .is_some_and(|p| !s.programs[p].tests.all_passed())
    };
    let value = match s.decisions[d].program {
        // A terminal state reached again: its value, no model call.
        Some(p) => s.programs[p].value,
        None => {
            let mut value = evaluate(s, d, false, ctx, cfg).await?;
            let mut evaluations = 1;
            while evaluations < s.settings.max_think
                && failed(s, d)
                && s.settings.rethink != RethinkMode::Off
                && rethink(s, d, ctx, cfg).await?
            {
                value = evaluate(s, d, true, ctx, cfg).await?;
                evaluations += 1;
            }
            let solved = !failed(s, d);
            if s.depth(d) >= s.settings.max_depth as usize {
                AgentEvent::ExpandSkipped {
                    rollout: s.rollouts + 1,
                    reason: "max_depth: the state is terminal".into(),
                }
                .emit(ctx);
            } else if !(solved && s.settings.stop_on_pass) {
                expand(s, d, ctx, cfg).await?;
            }
            value
        }
    };
    s.backpropagate(d, value);
    s.rollouts += 1;
    AgentEvent::Tree {
        rollout: s.rollouts,
        states: s.decisions.len(),
        thoughts: s.chances.len(),
        programs: s.programs.len(),
        leaf_depth: s.depth(d),
        value,
        best_pass_fraction: s.best_program().map(Program::pass_fraction),
    }
    .emit(ctx);
    Ok(())
}

/// Whether the search is over: rollouts done, solved (with
/// `stop_on_pass`), or out of budget.
pub fn search_finished(s: &MctsState) -> bool {
    s.budget_stop.is_some()
        || s.rollouts >= s.settings.rollouts
        || (s.settings.stop_on_pass && s.solved())
}

/// Builds the RethinkMCTS graph: one `rollout` node looping until
/// [`search_finished`]. `cfg.actor` answers every call; `cfg.harness` runs
/// the public tests.
///
/// ```
/// use std::sync::Arc;
/// use hone_agents::mcts::{rethink_mcts_graph, MctsSettings, MctsState};
/// use hone_agents::refine::RefineConfig;
/// use hone_core::{graph::RunOptions, templates::Templates, ScriptedModel};
/// use hone_tools::{Harness, TestSuite};
/// use hone_sandbox::{Sandbox, SandboxConfig};
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// let model = Arc::new(ScriptedModel::new()
///     .with_rule(|r| r.messages[0].content.contains("possible next thoughts"),
///                |_| r#"{"thoughts": [{"thought": "Add the numbers.", "reasonableness": 1}]}"#)
///     .with_rule(|r| r.messages[0].content.contains("Rate how likely"), |_| "SCORE: 9")
///     .with_rule(|_| true, |_| "```python\ndef add(a, b):\n    return a + b\n```"));
/// let harness = Arc::new(Harness::new(Sandbox::new(SandboxConfig::default())));
/// let cfg = RefineConfig::new(model, Arc::new(Templates::embedded())).with_harness(harness);
/// let tests = TestSuite::Asserts { setup: String::new(), asserts: vec!["assert add(1, 2) == 3".into()] };
/// let out = rethink_mcts_graph(cfg).unwrap()
///     .run(MctsState::new("Write add(a, b).", tests, MctsSettings::default()), RunOptions::default()).await.unwrap();
/// assert!(out.state.solved());
/// // With stop_on_pass the passing program ends the search: no self-evaluation.
/// let best = out.state.best_program().unwrap();
/// assert_eq!((best.value, best.self_eval), (1.0, None));
/// assert!(best.self_eval_skipped.is_some());
/// # });
/// ```
pub fn rethink_mcts_graph(cfg: RefineConfig) -> Result<Graph<MctsState>, GraphError> {
    GraphBuilder::new("rethink-mcts")
        .node(
            "rollout",
            node_fn(move |mut s: MctsState, ctx: NodeContext| {
                // Every call of the search samples at the settings' temperature.
                let cfg = cfg.clone().with_temperature(s.settings.temperature);
                async move {
                    if search_finished(&s) {
                        return Ok(s);
                    }
                    match rollout(&mut s, &ctx, &cfg).await {
                        Ok(()) => Ok(s),
                        Err(Stop::Budget(message)) => {
                            s.budget_stop = Some(message);
                            Ok(s)
                        }
                        Err(Stop::Failed(e)) => Err(e),
                    }
                }
            }),
        )
        .router("rollout", &["rollout"], |s: &MctsState| {
            if search_finished(s) {
                Route::End
            } else {
                Route::to("rollout")
            }
        })
        .entry("rollout")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite() -> TestSuite {
        TestSuite::Asserts {
            setup: String::new(),
            asserts: vec!["assert f() == 1".into()],
        }
    }

    fn tree() -> MctsState {
        MctsState::new("t", suite(), MctsSettings::default())
    }

    #[test]
    fn var_p_uct_matches_the_formula_term_by_term() {
        for &(q, p, n_c, n, c0, b) in &[
            (0.0, 0.2, 0u32, 2u32, 4.0, 10.0),
            (0.75, 0.5, 3, 17, 4.0, 10.0),
            (1.0, 1.0, 0, 100, 1.0, 5.0),
        ] {
            let nf = f64::from(n);
            let c = ((nf + b + 1.0) / b).ln() + c0;
            let expected = q + c * p * nf.ln().sqrt() / (1.0 + f64::from(n_c));
            assert!((var_p_uct(q, p, n_c, n, c0, b) - expected).abs() < 1e-12);
        }
        // ln(1) = 0 and an unvisited parent: pure exploitation.
        assert_eq!(var_p_uct(0.4, 1.0, 0, 0, 4.0, 10.0), 0.4);
        assert_eq!(var_p_uct(0.4, 1.0, 0, 1, 4.0, 10.0), 0.4);
    }

    #[test]
    fn selection_on_a_constructed_tree() {
        let mut s = tree();
        s.add_children(
            0,
            vec![("a".into(), 2.0), ("b".into(), 1.0), ("c".into(), 1.0)],
        );
        // Priors are normalised to sum 1.
        let priors: Vec<f64> = s.chances.iter().map(|c| c.prior).collect();
        assert_eq!(priors, vec![0.5, 0.25, 0.25]);
        // Unvisited root: all scores are Q = 0; the higher prior wins the tie.
        assert_eq!(s.select_child(0), Some(0));
        // a: visited 3 times with returns [0.2, 0.1, 0.3] → Q = 0.3.
        // b: visited once with return 0.9 → Q = 0.9. c: never visited.
        s.decisions[0].visits = 4;
        s.chances[0].visits = 3;
        s.chances[0].returns = vec![0.2, 0.1, 0.3];
        s.chances[1].visits = 1;
        s.chances[1].returns = vec![0.9];
        let score = |c: usize| {
            let ch = &s.chances[c];
            var_p_uct(ch.q(), ch.prior, ch.visits, 4, 4.0, 10.0)
        };
        let (a, b, c) = (score(0), score(1), score(2));
        // Worked by hand: C(4) = ln(15/10) + 4 = 4.405465; sqrt(ln 4) = 1.177410.
        let cn = (1.5f64).ln() + 4.0;
        let e = (4f64).ln().sqrt();
        assert!((a - (0.3 + cn * 0.5 * e / 4.0)).abs() < 1e-12);
        assert!((b - (0.9 + cn * 0.25 * e / 2.0)).abs() < 1e-12);
        assert!((c - (cn * 0.25 * e)).abs() < 1e-12);
        // 0.948, 1.548, 1.297: b's high Q beats c's unexplored bonus.
        assert!(b > c && c > a, "{a} {b} {c}");
        assert_eq!(s.select_child(0), Some(1));
        // More visits of b shrink its bonus until c wins.
        s.chances[1].visits = 6;
        assert_eq!(s.select_child(0), Some(2));
        // Q is the max of the returns, not the mean.
        assert_eq!(s.chances[0].q(), 0.3);
        let leaf = s.chances[2].child;
        assert_eq!(
            s.select_child(leaf),
            None,
            "an unexpanded state has no child"
        );
    }

    #[test]
    fn backpropagation_discounts_by_gamma_per_level() {
        let mut s = tree();
        s.add_children(0, vec![("a".into(), 1.0), ("b".into(), 1.0)]);
        let a_state = s.chances[0].child;
        s.add_children(a_state, vec![("a1".into(), 1.0)]);
        let leaf = s.chances[2].child;
        assert_eq!(s.thoughts(leaf), vec!["a", "a1"]);
        s.backpropagate(leaf, 0.5);
        // The reference: estimate = reward(transition) + gamma · estimate,
        // with no intermediate rewards, so already the first chance node
        // above the leaf is discounted: a1 = 0.9 · 0.5 = 0.45,
        // a = 0.9² · 0.5 = 0.405.
        assert_eq!(s.chances[2].returns.len(), 1);
        assert!((s.chances[2].returns[0] - 0.45).abs() < 1e-12);
        assert!((s.chances[0].returns[0] - 0.405).abs() < 1e-12);
        assert!(s.chances[1].returns.is_empty());
        assert_eq!((s.chances[0].visits, s.chances[2].visits), (1, 1));
        assert_eq!(
            (
                s.decisions[0].visits,
                s.decisions[a_state].visits,
                s.decisions[leaf].visits
            ),
            (1, 1, 1)
        );
        s.backpropagate(a_state, 1.0);
        assert_eq!(s.chances[0].returns.len(), 2);
        // Q(a) = max(0.405, 0.9 · 1.0) = 0.9.
        assert!((s.chances[0].q() - 0.9).abs() < 1e-12);
        assert_eq!(s.decisions[0].visits, 2);
        // What the discount changes in selection at the root (N = 2,
        // c0 = 4, b = 10, n_a = 2, n_b = 0, P = 0.5 each):
        // C(2) = ln(13/10) + 4 = 4.262364, sqrt(ln 2) = 0.832555;
        // score(a) = 0.9 + 4.262364 · 0.5 · 0.832555 / 3 = 1.491442;
        // score(b) = 0 + 4.262364 · 0.5 · 0.832555 / 1 = 1.774326;
        // so b is explored next. Undiscounted (Q(a) = 1.0) gives 1.591442.
        let score = |c: usize| {
            let ch = &s.chances[c];
            var_p_uct(ch.q(), ch.prior, ch.visits, 2, 4.0, 10.0)
        };
        assert!((score(0) - 1.491442).abs() < 1e-6, "{}", score(0));
        assert!((score(1) - 1.774326).abs() < 1e-6, "{}", score(1));
        assert_eq!(s.select_child(0), Some(1));
    }

    #[test]
    fn replacing_a_thought_keeps_its_position_resets_the_prior_and_drops_stale_code() {
        let mut s = tree();
        s.add_children(0, vec![("a".into(), 3.0), ("b".into(), 1.0)]);
        let a_state = s.chances[0].child;
        s.add_children(a_state, vec![("a1".into(), 1.0)]);
        let leaf = s.chances[2].child;
        s.decisions[leaf].program = Some(0);
        s.decisions[leaf].feedback = Some("failed".into());
        s.decisions[a_state].program = Some(1);
        s.replace_thought(0, "a'".into());
        assert_eq!(s.chances[0].prior, 1.0);
        assert_eq!(s.chances[0].rethinks, 1);
        assert_eq!(s.decisions[0].children, vec![0, 1], "same tree position");
        assert_eq!(s.thoughts(leaf), vec!["a'", "a1"]);
        assert_eq!(s.decisions[leaf].program, None);
        assert_eq!(s.decisions[a_state].program, None);
        assert_eq!(s.rethinks, 1);
    }

    #[test]
    fn rethinking_drops_the_stale_returns_of_the_replaced_subtree() {
        // root ─ a ─ a_state ─ a1 ─ leaf
        //      └ b ─ b_state
        let mut s = tree();
        s.add_children(0, vec![("a".into(), 1.0), ("b".into(), 1.0)]);
        let (a, b) = (0, 1);
        let a_state = s.chances[a].child;
        let b_state = s.chances[b].child;
        s.add_children(a_state, vec![("a1".into(), 1.0)]);
        let a1 = 2;
        let leaf = s.chances[a1].child;
        // Three rollouts, by hand (gamma = 0.9):
        // leaf 0.6 → a1 gets 0.54, a gets 0.486;
        // a_state 0.2 → a gets 0.18;  b_state 1.0 → b gets 0.9.
        s.backpropagate(leaf, 0.6);
        s.backpropagate(a_state, 0.2);
        s.backpropagate(b_state, 1.0);
        assert_eq!(s.decisions[0].visits, 3);
        assert_eq!((s.chances[a].visits, s.chances[a1].visits), (2, 1));
        assert!((s.chances[a].q() - 0.486).abs() < 1e-12);
        // Rewriting `a` makes every return sampled through it or below it
        // stale: they were earned by the old thought.
        s.replace_thought(a, "a'".into());
        assert!(s.chances[a].returns.is_empty() && s.chances[a1].returns.is_empty());
        assert_eq!((s.chances[a].visits, s.chances[a1].visits), (0, 0));
        assert_eq!(
            (s.decisions[a_state].visits, s.decisions[leaf].visits),
            (0, 0)
        );
        assert_eq!(s.chances[a].q(), 0.0);
        // The sibling and the root are untouched (the reference keeps the
        // parent's visit count when it swaps in a fresh chance node).
        assert_eq!(s.chances[b].returns, vec![0.9]);
        assert_eq!((s.chances[b].visits, s.decisions[0].visits), (1, 3));
        // Selection at the root now (N = 3, P(a') = 1.0, P(b) = 0.5):
        // C(3) = ln(14/10) + 4 = 4.336472, sqrt(ln 3) = 1.048147;
        // a' = 0 + 4.336472 · 1.0 · 1.048147 / 1 = 4.545261;
        // b  = 0.9 + 4.336472 · 0.5 · 1.048147 / 2 = 2.036315.
        assert_eq!(s.select_child(0), Some(a));
        let ch = &s.chances[a];
        assert!((var_p_uct(ch.q(), ch.prior, ch.visits, 3, 4.0, 10.0) - 4.545261).abs() < 1e-6);
        let ch = &s.chances[b];
        assert!((var_p_uct(ch.q(), ch.prior, ch.visits, 3, 4.0, 10.0) - 2.036315).abs() < 1e-6);
    }

    #[test]
    fn final_pick_is_by_public_test_value() {
        let mut s = tree();
        let program = |passed, value, rollout| Program {
            answer: format!("p{rollout}"),
            state: 0,
            thoughts: vec![],
            tests: TestOutcome {
                passed,
                total: 4,
                verified: passed == 4,
                feedback: String::new(),
            },
            self_eval: None,
            self_eval_skipped: None,
            trace: None,
            value,
            rollout,
            rethought: false,
        };
        s.programs = vec![
            program(3, 0.75, 1),
            program(4, 0.82, 2),
            program(4, 0.9, 3),
            program(4, 0.9, 4),
        ];
        assert_eq!(
            s.best_program().unwrap().rollout,
            3,
            "highest value, earliest among equals"
        );
        let mut crashed = program(0, 0.0, 5);
        crashed.tests.total = 0;
        s.programs = vec![crashed, program(0, 0.0, 6)];
        assert_eq!(
            s.best_program().unwrap().rollout,
            6,
            "code that ran beats a crash"
        );
        s.programs = vec![program(2, 0.5, 1), program(1, 0.25, 2)];
        assert_eq!(s.best_program().unwrap().rollout, 1);
        assert!(!s.solved());
    }

    #[test]
    fn malformed_outputs_fall_back() {
        let (t, bad) = parse_thoughts("```json\n{\"thoughts\": [\"x is y\", {\"text\": \"use dp\", \"prior\": \"0.5\"}]}\n```", 3);
        assert!(!bad);
        assert_eq!(t, vec![("x is y".into(), 1.0), ("use dp".into(), 0.5)]);
        let (t, bad) = parse_thoughts("", 3);
        assert!(bad);
        assert_eq!(t.len(), 1);
        let (t, _) = parse_thoughts("{\"thoughts\": [\"1\", \"2\", \"3\", \"4\"]}", 2);
        assert_eq!(t.len(), 2, "at most width thoughts");
        assert_eq!(parse_self_eval("SCORE: 11"), None);
        assert_eq!(parse_self_eval("Score: 10"), Some(1.0));
        assert_eq!(parse_self_eval("I rate it 3 out of 10\nfine"), Some(0.3));
        assert_eq!(
            parse_rethink("{\"index\": 2, \"thought\": \"t\"}"),
            (Some(2), Some("t".into()))
        );
        assert_eq!(
            parse_rethink("Just sort it."),
            (None, Some("Just sort it.".into()))
        );
        assert_eq!(parse_rethink("  "), (None, None));
    }
}
