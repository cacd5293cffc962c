//! The graph runtime.
//!
//! A [`Graph`] is a set of named async [`Node`]s over a typed state `S`
//! (`Clone + Serialize + DeserializeOwned`), connected by
//!
//! - fixed edges ([`GraphBuilder::edge`]),
//! - routers that pick the next node from the state ([`GraphBuilder::router`]),
//! - static fan-out/fan-in: several branch nodes run concurrently on the same
//!   state and a merge function folds their outputs ([`GraphBuilder::fan_out`]),
//! - dynamic fan-out/fan-in sized at run time: a split function turns the state
//!   into any number of work items, one worker node runs on each, and a merge
//!   function folds the results ([`GraphBuilder::map`]).
//!
//! Cycles are allowed; the run's [`Budget`](crate::Budget) bounds them. A node
//! with no outgoing edge ends the run.
//!
//! Every run ends in a [`RunOutcome`] holding the last committed state and a
//! [`StopReason`]: a budget running out or a node failing is a reason, not an
//! error. With a run log ([`RunOptions::with_log`]) each step is checkpointed
//! as a JSON line, and [`Graph::resume`] continues a killed run exactly: a
//! finished node is never re-run, an unfinished one restarts from its recorded
//! input. Routers and split/merge functions must be deterministic functions of
//! the state for that to hold (they see nothing else).
//!
//! ```
//! use hone_core::graph::{GraphBuilder, Route, RunOptions, node_fn};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let graph = GraphBuilder::<u32>::new("count")
//!     .node("inc", node_fn(|n: u32, _ctx| async move { Ok(n + 1) }))
//!     .router("inc", &["inc"], |n: &u32| if *n < 5 { Route::to("inc") } else { Route::End })
//!     .entry("inc")
//!     .build()
//!     .unwrap();
//! let outcome = graph.run(0, RunOptions::default()).await.unwrap();
//! assert_eq!(outcome.state, 5);
//! assert!(outcome.stop.is_finished());
//! assert_eq!(outcome.node_runs["inc"], 5);
//! # });
//! ```

mod context;
mod events;
mod exec;
mod log;

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use context::NodeContext;
pub use events::{EventSender, RunEvent};
pub use exec::new_run_id;
pub use exec::{RunOptions, RunOutcome};
pub use log::{read_run_log, LogRecord, RunLogSummary};

use crate::budget::Exhausted;
use crate::model::ModelError;
use crate::templates::TemplateError;

/// What a graph state must be: cloneable (fan-out hands each branch a copy),
/// serialisable (checkpoints) and shareable across tasks.
pub trait State: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T> State for T where T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}

/// Why a node failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A model call failed (a budget running out arrives here too).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A prompt template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A budget limit was reached inside the node.
    #[error(transparent)]
    Budget(#[from] Exhausted),
    /// A failure outside hone's own types (a sandbox, a user verifier or
    /// tool), with what was being done and its cause.
    #[error("{context}: {source}")]
    Caused {
        /// What the node was doing, e.g. "running the public tests".
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Anything else.
    #[error("{0}")]
    Failed(String),
}

impl NodeError {
    /// A failure with a message.
    pub fn failed(message: impl Into<String>) -> Self {
        NodeError::Failed(message.into())
    }

    /// A failure while `context`, keeping `source` as its cause.
    ///
    /// ```
    /// use std::error::Error;
    /// use hone_core::graph::NodeError;
    /// let io = std::io::Error::other("disk full");
    /// let e = NodeError::caused("writing the report", io);
    /// assert_eq!(e.to_string(), "writing the report: disk full");
    /// assert!(e.source().is_some());
    /// ```
    pub fn caused(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        NodeError::Caused {
            context: context.into(),
            source: Box::new(source),
        }
    }

    fn exhausted(&self) -> Option<Exhausted> {
        match self {
            NodeError::Budget(e) | NodeError::Model(ModelError::BudgetExhausted(e)) => Some(*e),
            _ => None,
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// A node without a successor finished, or a router chose [`Route::End`].
    Finished,
    /// A budget limit was reached; the state is the last committed one.
    Budget {
        /// Which limit.
        exhausted: Exhausted,
    },
    /// A node failed; the state is the last committed one.
    NodeFailed {
        /// The node.
        node: String,
        /// The error.
        error: String,
    },
    /// A router chose a node it did not declare.
    InvalidRoute {
        /// The routing node.
        from: String,
        /// The undeclared target.
        target: String,
    },
}

impl StopReason {
    /// Whether the graph ran to its end.
    pub fn is_finished(&self) -> bool {
        matches!(self, StopReason::Finished)
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Finished => f.write_str("finished"),
            StopReason::Budget { exhausted } => write!(f, "{exhausted}"),
            StopReason::NodeFailed { node, error } => write!(f, "node {node} failed: {error}"),
            StopReason::InvalidRoute { from, target } => {
                write!(f, "router of {from} chose undeclared node {target:?}")
            }
        }
    }
}

/// A step of a graph.
///
/// Takes the state by value and returns the new state. Model calls should go
/// through [`NodeContext::chat`] so they are budgeted, accounted and traced.
#[async_trait]
pub trait Node<S: State>: Send + Sync {
    /// Runs the step.
    async fn run(&self, state: S, ctx: NodeContext) -> Result<S, NodeError>;
}

/// A [`Node`] made from an async closure; see [`node_fn`].
pub struct FnNode<F>(F);

/// Makes a [`Node`] from an async closure `|state, ctx| async move { … }`.
///
/// ```
/// use hone_core::graph::node_fn;
/// let double = node_fn(|x: i64, _ctx| async move { Ok(x * 2) });
/// # let _ = double;
/// ```
pub fn node_fn<S, F, Fut>(f: F) -> FnNode<F>
where
    S: State,
    F: Fn(S, NodeContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<S, NodeError>> + Send,
{
    FnNode(f)
}

#[async_trait]
impl<S, F, Fut> Node<S> for FnNode<F>
where
    S: State,
    F: Fn(S, NodeContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<S, NodeError>> + Send,
{
    async fn run(&self, state: S, ctx: NodeContext) -> Result<S, NodeError> {
        (self.0)(state, ctx).await
    }
}

/// A router's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Continue with the named node.
    To(Cow<'static, str>),
    /// End the run.
    End,
}

impl Route {
    /// Continue with `node`.
    pub fn to(node: impl Into<Cow<'static, str>>) -> Self {
        Route::To(node.into())
    }
}

type RouterFn<S> = Arc<dyn Fn(&S) -> Route + Send + Sync>;
type SplitFn<S> = Arc<dyn Fn(&S) -> Vec<S> + Send + Sync>;
type MergeFn<S> = Arc<dyn Fn(S, Vec<S>) -> S + Send + Sync>;

enum Outgoing<S> {
    Next(usize),
    Router {
        targets: Vec<usize>,
        route: RouterFn<S>,
    },
    FanOut {
        branches: Vec<usize>,
        join: usize,
        merge: MergeFn<S>,
    },
    Map {
        worker: usize,
        join: usize,
        split: SplitFn<S>,
        merge: MergeFn<S>,
    },
}

enum PendingEdge<S> {
    Next(String),
    Router(Vec<String>, RouterFn<S>),
    FanOut(Vec<String>, String, MergeFn<S>),
    Map(String, String, SplitFn<S>, MergeFn<S>),
}

/// A graph could not be built, run or resumed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// The graph's definition is inconsistent.
    #[error("graph {graph}: {problem}")]
    Invalid {
        /// Graph name.
        graph: String,
        /// What is wrong.
        problem: String,
    },
    /// The run log could not be written or read.
    #[error("run log {path}: {source}")]
    Io {
        /// The log file.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The run log does not describe a run of this graph, or is damaged.
    #[error("run log {path}, line {line}: {problem}")]
    Log {
        /// The log file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Another process holds the run log's lock: it is writing (or
    /// resuming) the same run.
    #[error(
        "run log {path} is being written by another process: wait for it to end, \
         or stop it (`fuser {}` names it)",
        .lock.display()
    )]
    Locked {
        /// The log file.
        path: std::path::PathBuf,
        /// The file whose lock is held (the log itself).
        lock: std::path::PathBuf,
    },
    /// A state could not be serialised for the run log.
    #[error("state serialisation: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Builds a [`Graph`].
pub struct GraphBuilder<S: State> {
    name: String,
    nodes: Vec<(String, Arc<dyn Node<S>>)>,
    edges: Vec<(String, PendingEdge<S>)>,
    entry: Option<String>,
}

impl<S: State> GraphBuilder<S> {
    /// An empty graph called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        GraphBuilder {
            name: name.into(),
            nodes: Vec::new(),
            edges: Vec::new(),
            entry: None,
        }
    }

    /// Adds a node.
    pub fn node(mut self, name: impl Into<String>, node: impl Node<S> + 'static) -> Self {
        self.nodes.push((name.into(), Arc::new(node)));
        self
    }

    /// Adds a shared node (the same node object may serve several graphs).
    pub fn shared_node(mut self, name: impl Into<String>, node: Arc<dyn Node<S>>) -> Self {
        self.nodes.push((name.into(), node));
        self
    }

    /// After `from`, always run `to`.
    pub fn edge(mut self, from: &str, to: &str) -> Self {
        self.edges
            .push((from.to_string(), PendingEdge::Next(to.to_string())));
        self
    }

    /// After `from`, run the node `route` picks among `targets`, or end.
    pub fn router<F>(mut self, from: &str, targets: &[&str], route: F) -> Self
    where
        F: Fn(&S) -> Route + Send + Sync + 'static,
    {
        self.edges.push((
            from.to_string(),
            PendingEdge::Router(
                targets.iter().map(|t| t.to_string()).collect(),
                Arc::new(route),
            ),
        ));
        self
    }

    /// After `from`, run every node of `branches` concurrently on a copy of
    /// the state, fold their outputs with `merge(state, outputs_in_branch_order)`
    /// and continue with `join`.
    pub fn fan_out<M>(mut self, from: &str, branches: &[&str], join: &str, merge: M) -> Self
    where
        M: Fn(S, Vec<S>) -> S + Send + Sync + 'static,
    {
        self.edges.push((
            from.to_string(),
            PendingEdge::FanOut(
                branches.iter().map(|b| b.to_string()).collect(),
                join.to_string(),
                Arc::new(merge),
            ),
        ));
        self
    }

    /// After `from`, run `worker` concurrently on each item of
    /// `split(state)` (any number, decided at run time), fold the outputs with
    /// `merge(state, outputs_in_item_order)` and continue with `join`.
    pub fn map<P, M>(mut self, from: &str, worker: &str, join: &str, split: P, merge: M) -> Self
    where
        P: Fn(&S) -> Vec<S> + Send + Sync + 'static,
        M: Fn(S, Vec<S>) -> S + Send + Sync + 'static,
    {
        self.edges.push((
            from.to_string(),
            PendingEdge::Map(
                worker.to_string(),
                join.to_string(),
                Arc::new(split),
                Arc::new(merge),
            ),
        ));
        self
    }

    /// The first node to run.
    pub fn entry(mut self, name: &str) -> Self {
        self.entry = Some(name.to_string());
        self
    }

    /// Checks the definition and builds the graph.
    pub fn build(self) -> Result<Graph<S>, GraphError> {
        let graph_name = self.name.clone();
        let invalid = |problem: String| GraphError::Invalid {
            graph: graph_name.clone(),
            problem,
        };
        let mut index = HashMap::new();
        let mut pg = DiGraph::<String, String>::new();
        for (i, (name, _)) in self.nodes.iter().enumerate() {
            if name.is_empty() {
                return Err(invalid("a node has an empty name".into()));
            }
            if index.insert(name.clone(), i).is_some() {
                return Err(invalid(format!("two nodes are named {name:?}")));
            }
            pg.add_node(name.clone());
        }
        let lookup = |name: &str, role: &str| {
            index.get(name).copied().ok_or_else(|| {
                invalid(format!(
                    "{role} {name:?} is not a node (nodes: {})",
                    self.nodes
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let mut outgoing: Vec<Option<Outgoing<S>>> = self.nodes.iter().map(|_| None).collect();
        let mut branch_nodes = Vec::new();
        for (from, edge) in self.edges {
            let f = lookup(&from, "edge source")?;
            if outgoing[f].is_some() {
                return Err(invalid(format!(
                    "node {from:?} has more than one outgoing rule; use a router to choose"
                )));
            }
            let out = match edge {
                PendingEdge::Next(to) => {
                    let t = lookup(&to, "edge target")?;
                    pg.add_edge(NodeIndex::new(f), NodeIndex::new(t), "next".into());
                    Outgoing::Next(t)
                }
                PendingEdge::Router(targets, route) => {
                    let mut ts = Vec::new();
                    for t in &targets {
                        let ti = lookup(t, "router target")?;
                        pg.add_edge(NodeIndex::new(f), NodeIndex::new(ti), "route".into());
                        ts.push(ti);
                    }
                    Outgoing::Router { targets: ts, route }
                }
                PendingEdge::FanOut(branches, join, merge) => {
                    if branches.is_empty() {
                        return Err(invalid(format!("fan-out after {from:?} has no branches")));
                    }
                    let j = lookup(&join, "join")?;
                    let mut bs = Vec::new();
                    for b in &branches {
                        let bi = lookup(b, "fan-out branch")?;
                        pg.add_edge(NodeIndex::new(f), NodeIndex::new(bi), "fan_out".into());
                        pg.add_edge(NodeIndex::new(bi), NodeIndex::new(j), "fan_in".into());
                        bs.push(bi);
                        branch_nodes.push(bi);
                    }
                    Outgoing::FanOut {
                        branches: bs,
                        join: j,
                        merge,
                    }
                }
                PendingEdge::Map(worker, join, split, merge) => {
                    let w = lookup(&worker, "map worker")?;
                    let j = lookup(&join, "join")?;
                    pg.add_edge(NodeIndex::new(f), NodeIndex::new(w), "map".into());
                    pg.add_edge(NodeIndex::new(w), NodeIndex::new(j), "fan_in".into());
                    branch_nodes.push(w);
                    Outgoing::Map {
                        worker: w,
                        join: j,
                        split,
                        merge,
                    }
                }
            };
            outgoing[f] = Some(out);
        }
        for b in branch_nodes {
            if outgoing[b].is_some() {
                return Err(invalid(format!(
                    "node {:?} is a fan-out branch or map worker: its output goes to the join, so it cannot have outgoing edges of its own",
                    self.nodes[b].0
                )));
            }
        }
        let entry_name = self
            .entry
            .ok_or_else(|| invalid("no entry node set".into()))?;
        let entry = lookup(&entry_name, "entry")?;
        let fingerprint = fingerprint(&self.name, &pg);
        Ok(Graph {
            inner: Arc::new(GraphInner {
                name: self.name,
                names: self
                    .nodes
                    .iter()
                    .map(|(n, _)| Arc::from(n.as_str()))
                    .collect(),
                nodes: self.nodes.into_iter().map(|(_, n)| n).collect(),
                outgoing,
                entry,
                index,
                structure: pg,
                fingerprint,
            }),
        })
    }
}

fn fingerprint(name: &str, pg: &DiGraph<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    for n in pg.node_indices() {
        h.update(b"\0n");
        h.update(pg[n].as_bytes());
    }
    for e in pg.edge_indices() {
        if let Some((a, b)) = pg.edge_endpoints(e) {
            h.update(format!("\0e{}>{}:{}", a.index(), b.index(), pg[e]).as_bytes());
        }
    }
    hex::encode(&h.finalize()[..8])
}

pub(crate) struct GraphInner<S: State> {
    pub(crate) name: String,
    pub(crate) names: Vec<Arc<str>>,
    pub(crate) nodes: Vec<Arc<dyn Node<S>>>,
    outgoing: Vec<Option<Outgoing<S>>>,
    pub(crate) entry: usize,
    pub(crate) index: HashMap<String, usize>,
    structure: DiGraph<String, String>,
    pub(crate) fingerprint: String,
}

/// A built graph; cheap to clone.
pub struct Graph<S: State> {
    pub(crate) inner: Arc<GraphInner<S>>,
}

impl<S: State> Clone for Graph<S> {
    fn clone(&self) -> Self {
        Graph {
            inner: self.inner.clone(),
        }
    }
}

/// What follows a finished node.
pub(crate) enum Transition<S> {
    Run(usize, S),
    Parallel {
        base: S,
        jobs: Vec<(usize, S)>,
        join: usize,
        merge: MergeFn<S>,
    },
    End(S),
    InvalidRoute(String, S),
}

impl<S: State> Graph<S> {
    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Node names, in the order they were added.
    pub fn node_names(&self) -> Vec<&str> {
        self.inner.names.iter().map(|n| &**n).collect()
    }

    /// A hash of the graph's structure; a run log only resumes on a graph
    /// with the same fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }

    /// The structure in Graphviz dot format.
    ///
    /// ```
    /// use hone_core::graph::{GraphBuilder, node_fn};
    /// let g = GraphBuilder::<u8>::new("g")
    ///     .node("a", node_fn(|s: u8, _| async move { Ok(s) }))
    ///     .entry("a").build().unwrap();
    /// assert!(g.to_dot().contains("label = \"a\""));
    /// ```
    pub fn to_dot(&self) -> String {
        petgraph::dot::Dot::with_config(&self.inner.structure, &[]).to_string()
    }

    /// Decides what follows node `node` given its output.
    pub(crate) fn transition(&self, node: usize, output: S) -> Transition<S> {
        match &self.inner.outgoing[node] {
            None => Transition::End(output),
            Some(Outgoing::Next(t)) => Transition::Run(*t, output),
            Some(Outgoing::Router { targets, route }) => match route(&output) {
                Route::End => Transition::End(output),
                Route::To(name) => match self.inner.index.get(name.as_ref()) {
                    Some(t) if targets.contains(t) => Transition::Run(*t, output),
                    _ => Transition::InvalidRoute(name.into_owned(), output),
                },
            },
            Some(Outgoing::FanOut {
                branches,
                join,
                merge,
            }) => Transition::Parallel {
                jobs: branches.iter().map(|b| (*b, output.clone())).collect(),
                base: output,
                join: *join,
                merge: merge.clone(),
            },
            Some(Outgoing::Map {
                worker,
                join,
                split,
                merge,
            }) => Transition::Parallel {
                jobs: split(&output).into_iter().map(|s| (*worker, s)).collect(),
                base: output,
                join: *join,
                merge: merge.clone(),
            },
        }
    }
}
