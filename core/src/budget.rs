//! Explicit budgets and usage accounting.
//!
//! A [`Budget`] caps model calls, tokens, wall time and graph steps. Hitting a
//! cap never throws a run away: the graph runtime ends the run with the last
//! committed state and an [`Exhausted`] reason (see
//! [`graph::StopReason`](crate::graph::StopReason)).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::Usage;

/// Limits on a run. `None` means unlimited.
///
/// ```
/// use std::time::Duration;
/// let budget = hone_core::Budget::unlimited().with_model_calls(20).with_wall_time(Duration::from_secs(60));
/// assert_eq!(budget.max_model_calls, Some(20));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Maximum number of model calls (cache hits included, so a re-run
    /// behaves exactly like the original run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_model_calls: Option<u64>,
    /// Maximum prompt tokens over all calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    /// Maximum generated tokens over all calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Maximum wall time of the run.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_millis")]
    pub max_wall_time: Option<Duration>,
    /// Maximum number of graph steps (node executions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
}

mod opt_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

impl Budget {
    /// No limits.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// Caps model calls.
    pub fn with_model_calls(mut self, n: u64) -> Self {
        self.max_model_calls = Some(n);
        self
    }

    /// Caps prompt tokens.
    pub fn with_input_tokens(mut self, n: u64) -> Self {
        self.max_input_tokens = Some(n);
        self
    }

    /// Caps generated tokens.
    pub fn with_output_tokens(mut self, n: u64) -> Self {
        self.max_output_tokens = Some(n);
        self
    }

    /// Caps wall time.
    pub fn with_wall_time(mut self, d: Duration) -> Self {
        self.max_wall_time = Some(d);
        self
    }

    /// Caps graph steps.
    pub fn with_steps(mut self, n: u64) -> Self {
        self.max_steps = Some(n);
        self
    }
}

/// Which limit of a [`Budget`] ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    /// [`Budget::max_model_calls`].
    ModelCalls,
    /// [`Budget::max_input_tokens`].
    InputTokens,
    /// [`Budget::max_output_tokens`].
    OutputTokens,
    /// [`Budget::max_wall_time`] (amounts in milliseconds).
    WallTime,
    /// [`Budget::max_steps`].
    Steps,
}

impl std::fmt::Display for BudgetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BudgetKind::ModelCalls => "model calls",
            BudgetKind::InputTokens => "input tokens",
            BudgetKind::OutputTokens => "output tokens",
            BudgetKind::WallTime => "wall time (ms)",
            BudgetKind::Steps => "graph steps",
        })
    }
}

/// A budget limit that has been reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("budget exhausted: {kind} used {used} of {limit}")]
pub struct Exhausted {
    /// The limit that ran out.
    pub kind: BudgetKind,
    /// The limit.
    pub limit: u64,
    /// Amount used when the limit was hit.
    pub used: u64,
}

/// Calls and tokens counted for one scope (a run, a node or a model).
///
/// ```
/// let mut c = hone_core::UsageCount::default();
/// c.record(hone_core::Usage { input_tokens: 3, output_tokens: 2 }, false);
/// assert_eq!((c.calls, c.input_tokens, c.output_tokens, c.cache_hits), (1, 3, 2, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageCount {
    /// Model calls, cache hits included.
    pub calls: u64,
    /// Of `calls`, how many were answered from the response cache.
    #[serde(default)]
    pub cache_hits: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

impl UsageCount {
    /// Adds one call.
    pub fn record(&mut self, usage: Usage, cache_hit: bool) {
        self.calls += 1;
        self.cache_hits += u64::from(cache_hit);
        self.input_tokens += usage.input_tokens;
        self.output_tokens += usage.output_tokens;
    }

    /// Adds another count.
    pub fn add(&mut self, other: &UsageCount) {
        self.calls += other.calls;
        self.cache_hits += other.cache_hits;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// Usage of a run, in total, per node and per model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageLedger {
    /// All calls.
    pub total: UsageCount,
    /// Calls made by each graph node (calls outside a node are under `""`).
    pub by_node: BTreeMap<String, UsageCount>,
    /// Calls per model (`backend/model`).
    pub by_model: BTreeMap<String, UsageCount>,
}

impl UsageLedger {
    /// Records one call made by `node` to `model`.
    ///
    /// ```
    /// let mut ledger = hone_core::UsageLedger::default();
    /// ledger.record("critic", "openai/gpt-4o-mini", hone_core::Usage { input_tokens: 10, output_tokens: 4 }, false);
    /// assert_eq!(ledger.by_node["critic"].output_tokens, 4);
    /// assert_eq!(ledger.total.calls, 1);
    /// ```
    pub fn record(&mut self, node: &str, model: &str, usage: Usage, cache_hit: bool) {
        self.total.record(usage, cache_hit);
        self.by_node
            .entry(node.to_string())
            .or_default()
            .record(usage, cache_hit);
        self.by_model
            .entry(model.to_string())
            .or_default()
            .record(usage, cache_hit);
    }

    /// Adds a count of calls made by `node` to `model`.
    pub fn add_count(&mut self, node: &str, model: &str, count: &UsageCount) {
        self.total.add(count);
        self.by_node.entry(node.to_string()).or_default().add(count);
        self.by_model
            .entry(model.to_string())
            .or_default()
            .add(count);
    }

    /// Merges another ledger into this one.
    pub fn merge(&mut self, other: &UsageLedger) {
        self.total.add(&other.total);
        for (k, v) in &other.by_node {
            self.by_node.entry(k.clone()).or_default().add(v);
        }
        for (k, v) in &other.by_model {
            self.by_model.entry(k.clone()).or_default().add(v);
        }
    }
}

/// Live accounting against a [`Budget`], shared by everything in a run.
///
/// Thread-safe; cheap to check on every step.
///
/// ```
/// use hone_core::{Budget, BudgetTracker, BudgetKind};
/// let tracker = BudgetTracker::new(Budget::unlimited().with_steps(2));
/// assert!(tracker.begin_step().is_ok());
/// assert!(tracker.begin_step().is_ok());
/// assert_eq!(tracker.begin_step().unwrap_err().kind, BudgetKind::Steps);
/// ```
#[derive(Debug)]
pub struct BudgetTracker {
    budget: Budget,
    started: Instant,
    earlier_elapsed: Duration,
    steps: AtomicU64,
    calls: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    ledger: Mutex<UsageLedger>,
}

impl BudgetTracker {
    /// Starts tracking now.
    pub fn new(budget: Budget) -> Self {
        BudgetTracker {
            budget,
            started: Instant::now(),
            earlier_elapsed: Duration::ZERO,
            steps: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            input_tokens: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            ledger: Mutex::new(UsageLedger::default()),
        }
    }

    /// Continues tracking a resumed run that already used `steps` steps,
    /// `ledger` usage and `elapsed` wall time.
    pub fn resumed(budget: Budget, steps: u64, ledger: UsageLedger, elapsed: Duration) -> Self {
        let tracker = Self::new(budget);
        tracker.steps.store(steps, Ordering::Relaxed);
        tracker.calls.store(ledger.total.calls, Ordering::Relaxed);
        tracker
            .input_tokens
            .store(ledger.total.input_tokens, Ordering::Relaxed);
        tracker
            .output_tokens
            .store(ledger.total.output_tokens, Ordering::Relaxed);
        *tracker.lock_ledger() = ledger;
        BudgetTracker {
            earlier_elapsed: elapsed,
            ..tracker
        }
    }

    fn lock_ledger(&self) -> std::sync::MutexGuard<'_, UsageLedger> {
        // Every critical section is a single `record`, which cannot leave the
        // ledger half-updated, so a poisoned lock is still consistent.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The budget being tracked.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Wall time used, including earlier processes of a resumed run.
    pub fn elapsed(&self) -> Duration {
        self.earlier_elapsed + self.started.elapsed()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    /// A copy of the usage ledger.
    pub fn ledger(&self) -> UsageLedger {
        self.lock_ledger().clone()
    }

    /// When the wall-time limit runs out, if there is one (and the instant is
    /// representable). The graph runtime cancels a step still running then.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hone_core::{Budget, BudgetTracker};
    /// assert!(BudgetTracker::new(Budget::unlimited()).deadline().is_none());
    /// let t = BudgetTracker::new(Budget::unlimited().with_wall_time(Duration::from_secs(5)));
    /// assert!(t.deadline().is_some());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        let limit = self.budget.max_wall_time?;
        self.started
            .checked_add(limit.saturating_sub(self.earlier_elapsed))
    }

    /// The wall-time limit as exhausted now (`used` is at least the limit):
    /// the reason a step cancelled at [`BudgetTracker::deadline`] gives.
    pub(crate) fn wall_time_exhausted(&self) -> Exhausted {
        let limit = self.budget.max_wall_time.unwrap_or_default();
        Exhausted {
            kind: BudgetKind::WallTime,
            limit: limit.as_millis() as u64,
            used: self.elapsed().max(limit).as_millis() as u64,
        }
    }

    fn check_limit(kind: BudgetKind, limit: Option<u64>, used: u64) -> Result<(), Exhausted> {
        match limit {
            Some(limit) if used >= limit => Err(Exhausted { kind, limit, used }),
            _ => Ok(()),
        }
    }

    fn check_wall_time(&self) -> Result<(), Exhausted> {
        if let Some(limit) = self.budget.max_wall_time {
            let used = self.elapsed();
            if used >= limit {
                return Err(Exhausted {
                    kind: BudgetKind::WallTime,
                    limit: limit.as_millis() as u64,
                    used: used.as_millis() as u64,
                });
            }
        }
        Ok(())
    }

    fn check_tokens(&self) -> Result<(), Exhausted> {
        Self::check_limit(
            BudgetKind::InputTokens,
            self.budget.max_input_tokens,
            self.input_tokens.load(Ordering::Relaxed),
        )?;
        Self::check_limit(
            BudgetKind::OutputTokens,
            self.budget.max_output_tokens,
            self.output_tokens.load(Ordering::Relaxed),
        )
    }

    /// Claims one graph step, or says which limit is exhausted. Token and
    /// wall-time limits are checked too, so a run stops at a step boundary.
    pub fn begin_step(&self) -> Result<(), Exhausted> {
        self.check_wall_time()?;
        self.check_tokens()?;
        let used = self.steps.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = Self::check_limit(BudgetKind::Steps, self.budget.max_steps, used) {
            self.steps.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    /// Claims one model call, or says which limit is exhausted.
    pub fn begin_model_call(&self) -> Result<(), Exhausted> {
        self.check_wall_time()?;
        self.check_tokens()?;
        let used = self.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = Self::check_limit(BudgetKind::ModelCalls, self.budget.max_model_calls, used)
        {
            self.calls.fetch_sub(1, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    /// Records the usage of a finished model call (claimed with
    /// [`BudgetTracker::begin_model_call`]).
    pub fn record_model_call(&self, node: &str, model: &str, usage: Usage, cache_hit: bool) {
        self.input_tokens
            .fetch_add(usage.input_tokens, Ordering::Relaxed);
        self.output_tokens
            .fetch_add(usage.output_tokens, Ordering::Relaxed);
        self.lock_ledger().record(node, model, usage, cache_hit);
    }

    /// Gives back a claimed model call that failed before reaching the model.
    pub fn cancel_model_call(&self) {
        self.calls.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_call_limit_is_exact() {
        let t = BudgetTracker::new(Budget::unlimited().with_model_calls(3));
        for _ in 0..3 {
            t.begin_model_call().unwrap();
            t.record_model_call("n", "m", Usage::default(), false);
        }
        let e = t.begin_model_call().unwrap_err();
        assert_eq!(e.kind, BudgetKind::ModelCalls);
        assert_eq!((e.limit, e.used), (3, 3));
        assert_eq!(t.ledger().total.calls, 3);
    }

    #[test]
    fn token_limits_stop_the_next_call() {
        let t = BudgetTracker::new(Budget::unlimited().with_output_tokens(10));
        t.begin_model_call().unwrap();
        t.record_model_call(
            "n",
            "m",
            Usage {
                input_tokens: 1,
                output_tokens: 10,
            },
            false,
        );
        assert_eq!(
            t.begin_model_call().unwrap_err().kind,
            BudgetKind::OutputTokens
        );
        assert_eq!(t.begin_step().unwrap_err().kind, BudgetKind::OutputTokens);
    }

    #[test]
    fn wall_time_includes_earlier_processes() {
        let t = BudgetTracker::resumed(
            Budget::unlimited().with_wall_time(Duration::from_secs(5)),
            0,
            UsageLedger::default(),
            Duration::from_secs(6),
        );
        assert_eq!(t.begin_step().unwrap_err().kind, BudgetKind::WallTime);
    }

    #[test]
    fn deadline_counts_earlier_processes() {
        let t = BudgetTracker::resumed(
            Budget::unlimited().with_wall_time(Duration::from_secs(5)),
            0,
            UsageLedger::default(),
            Duration::from_secs(6),
        );
        let deadline = t.deadline().expect("a wall-time limit has a deadline");
        assert!(deadline <= Instant::now(), "already past");
        let e = t.wall_time_exhausted();
        assert_eq!((e.kind, e.limit), (BudgetKind::WallTime, 5000));
        assert!(e.used >= 6000);
    }

    #[test]
    fn resumed_tracker_keeps_counts() {
        let mut ledger = UsageLedger::default();
        ledger.record("a", "m", Usage::default(), true);
        ledger.record("a", "m", Usage::default(), false);
        let t = BudgetTracker::resumed(
            Budget::unlimited().with_model_calls(2).with_steps(4),
            4,
            ledger,
            Duration::ZERO,
        );
        assert_eq!(t.begin_model_call().unwrap_err().used, 2);
        assert_eq!(t.begin_step().unwrap_err().kind, BudgetKind::Steps);
        assert_eq!(t.ledger().by_node["a"].cache_hits, 1);
    }

    #[test]
    fn budget_round_trips_through_json() {
        let b = Budget::unlimited()
            .with_wall_time(Duration::from_millis(1500))
            .with_steps(7);
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Budget>(&text).unwrap(), b);
    }
}
