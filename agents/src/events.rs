//! [`AgentEvent`]: what hone's roles and strategies report while they run,
//! as one typed stream.
//!
//! The graph runtime carries them as [`RunEvent::Custom`] (a kind and JSON
//! data, so a run log and any subscriber can hold them);
//! [`AgentEvent::from_run_event`] turns them back into this enum, which is
//! what `hone solve`'s progress printer reads and what a UI of yours can
//! match on:
//!
//! ```
//! use hone_agents::events::AgentEvent;
//! use hone_core::graph::RunEvent;
//!
//! fn show(event: &RunEvent) {
//!     match AgentEvent::from_run_event(event) {
//!         Some(AgentEvent::Attempt { round, answer }) => println!("attempt {round}: {answer}"),
//!         Some(AgentEvent::Evidence { round, evidence }) => {
//!             println!("attempt {round}: {}/{} {}", evidence.passed, evidence.total, evidence.verifier)
//!         }
//!         _ => {}
//!     }
//! }
//! # show(&RunEvent::BudgetExhausted(hone_core::Exhausted { kind: hone_core::BudgetKind::Steps, limit: 1, used: 1 }));
//! ```

use hone_core::graph::{NodeContext, RunEvent};
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;
use crate::judge::{Confidence, Winner};
use crate::refine::Verdict;

/// A thought an expansion added, with its prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedThought {
    /// The thought.
    pub thought: String,
    /// Its prior `P`.
    pub prior: f64,
}

/// Something an agent did. Serialised with its variant name in snake case
/// under `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The actor (or a best-of-n sample) wrote an answer.
    Attempt {
        /// 1-based attempt or sample number.
        round: usize,
        /// The answer.
        answer: String,
    },
    /// The latest attempt repeated an earlier one (the same answer or the
    /// same failure); the next refinement is sampled (see
    /// [`RefineConfig::stuck_temperature`](crate::refine::RefineConfig::stuck_temperature)).
    Stuck {
        /// 1-based number of the attempt being written.
        round: usize,
        /// Its sampling temperature.
        temperature: f32,
    },
    /// Best-of-n is about to draw `samples` sampled answers: its first
    /// (greedy) answer did not pass its checks, or every answer is sampled.
    Sampling {
        /// How many answers are drawn.
        samples: usize,
        /// Their sampling temperature.
        temperature: f32,
        /// Whether a greedy first answer came before and failed its checks.
        after_failed_first: bool,
    },
    /// A verifier checked an attempt.
    Evidence {
        /// 1-based attempt or sample number.
        round: usize,
        /// What it found.
        #[serde(flatten)]
        evidence: Evidence,
    },
    /// The critic judged the latest attempt.
    Critique {
        /// 1-based attempt number.
        round: usize,
        /// Its verdict.
        verdict: Verdict,
        /// The critique.
        critique: String,
    },
    /// Reflexion stored a lesson after a failed trial.
    Reflection {
        /// The trial it follows.
        trial: usize,
        /// The lesson.
        reflection: String,
    },
    /// Best-of-n graded a text sample with the rubric.
    Rubric {
        /// 1-based sample number.
        sample: usize,
        /// 1–5, or none when the grade was unreadable.
        score: Option<u8>,
        /// The grader's feedback.
        feedback: String,
    },
    /// Best-of-n picked a sample.
    Selected {
        /// 1-based sample number, none when there were no samples.
        sample: Option<usize>,
        /// Samples drawn.
        of: usize,
    },
    /// A rubric grade (any caller of the rubric critic).
    RubricGrade {
        /// The rubric's criterion.
        criterion: String,
        /// 1–5, or none.
        score: Option<u8>,
        /// Whether the grade was unreadable.
        malformed: bool,
    },
    /// The order-swapping pairwise judge decided.
    PairwiseJudgement {
        /// Mean preference for A.
        preference_a: f64,
        /// The winner.
        winner: Winner,
        /// High when both orders agree.
        confidence: Confidence,
        /// The verdict with A shown first.
        first_order: Winner,
        /// The verdict with B shown first, un-swapped.
        second_order: Winner,
        /// Malformed verdicts among the two.
        malformed: u32,
    },
    /// A piece of the model's answer, as it streams in (tool agent).
    TextDelta {
        /// 1-based model turn.
        turn: u32,
        /// New text.
        text: String,
    },
    /// The tool agent ran a tool the model called.
    ToolCalled {
        /// 1-based model turn that asked for it.
        turn: u32,
        /// The tool.
        name: String,
        /// The arguments as the model wrote them.
        arguments: String,
        /// Whether it succeeded.
        ok: bool,
        /// Its output, or `{"error": …}`.
        output: serde_json::Value,
    },
    /// RethinkMCTS expanded a state.
    Expand {
        /// 1-based rollout.
        rollout: u32,
        /// Depth of the expanded state.
        depth: usize,
        /// The new thoughts.
        thoughts: Vec<ProposedThought>,
        /// Whether the reply was malformed (fallback used).
        malformed: bool,
        /// Whether the state's program had failed.
        after_failure: bool,
    },
    /// RethinkMCTS did not expand a terminal state.
    ExpandSkipped {
        /// 1-based rollout.
        rollout: u32,
        /// Why.
        reason: String,
    },
    /// RethinkMCTS evaluated a program.
    Program {
        /// 1-based rollout.
        rollout: u32,
        /// 1-based program number.
        program: usize,
        /// Thoughts it was generated from.
        depth: usize,
        /// Public tests passed.
        passed: usize,
        /// Public tests run.
        total: usize,
        /// The model's self-evaluation, when asked.
        self_eval: Option<f64>,
        /// Its value in the search.
        value: f64,
        /// Whether a failing test was traced.
        traced: bool,
        /// Whether it came from a rethought state.
        rethought: bool,
        /// Test feedback.
        feedback: String,
        /// The model's reply.
        answer: String,
    },
    /// RethinkMCTS rewrote a thought.
    Rethink {
        /// 1-based rollout.
        rollout: u32,
        /// 1-based position of the thought on the path.
        position: usize,
        /// The thought before.
        old: String,
        /// The thought after.
        new: String,
    },
    /// RethinkMCTS skipped a self-evaluation that could not change the
    /// result.
    SelfEvalSkipped {
        /// 1-based program number.
        program: usize,
        /// Why.
        reason: String,
    },
    /// Tracing a failing test failed (the rethink goes on without it).
    TraceFailed {
        /// The error.
        error: String,
    },
    /// A RethinkMCTS rollout ended.
    Tree {
        /// Rollouts done.
        rollout: u32,
        /// Decision nodes.
        states: usize,
        /// Chance nodes (thoughts).
        thoughts: usize,
        /// Programs evaluated.
        programs: usize,
        /// Depth of this rollout's leaf.
        leaf_depth: usize,
        /// The value backpropagated.
        value: f64,
        /// Best public-test pass fraction so far.
        best_pass_fraction: Option<f64>,
    },
}

impl AgentEvent {
    /// The event's kind, as carried by [`RunEvent::Custom`].
    pub fn kind(&self) -> String {
        self.to_value()
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string()
    }

    fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Sends the event from a node (a no-op when the run has no
    /// subscriber).
    pub fn emit(&self, ctx: &NodeContext) {
        let mut data = self.to_value();
        let kind = data
            .as_object_mut()
            .and_then(|o| o.remove("kind"))
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_default();
        ctx.emit(&kind, data);
    }

    /// The agent event a run event carries, if it is one.
    pub fn from_run_event(event: &RunEvent) -> Option<AgentEvent> {
        let RunEvent::Custom { kind, data, .. } = event else {
            return None;
        };
        let mut value = data.clone();
        value
            .as_object_mut()?
            .insert("kind".into(), serde_json::Value::String(kind.clone()));
        serde_json::from_value(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(event: AgentEvent) -> AgentEvent {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = NodeContext::detached_with_events(hone_core::Budget::unlimited(), Some(tx));
        event.emit(&ctx);
        let sent = rx.try_recv().expect("an event was sent");
        assert!(matches!(&sent, RunEvent::Custom { kind, .. } if *kind == event.kind()));
        AgentEvent::from_run_event(&sent).expect("it reads back")
    }

    #[test]
    fn events_read_back_as_they_were_sent() {
        let evidence = Evidence::decided("public_tests", 2, 3, "test 3 failed")
            .with_details(serde_json::json!({"x": 1}));
        for event in [
            AgentEvent::Evidence { round: 2, evidence },
            AgentEvent::Critique {
                round: 1,
                verdict: Verdict::Incorrect,
                critique: "no".into(),
            },
            AgentEvent::Expand {
                rollout: 1,
                depth: 0,
                thoughts: vec![ProposedThought {
                    thought: "use a stack".into(),
                    prior: 0.5,
                }],
                malformed: false,
                after_failure: true,
            },
        ] {
            assert_eq!(round_trip(event.clone()), event);
        }
    }

    #[test]
    fn other_events_are_not_agent_events() {
        let unknown = RunEvent::Custom {
            node: "n".into(),
            step: 1,
            kind: "something_else".into(),
            data: serde_json::json!({}),
        };
        assert_eq!(AgentEvent::from_run_event(&unknown), None);
    }
}
