//! The `verify` step every strategy shares: run the configured
//! [`Verifier`] (or the task kind's built-in one)
//! on an attempt, record its [`Evidence`](crate::evidence::Evidence) there and emit it as an
//! `evidence` event.

use std::time::Instant;

use hone_core::graph::{NodeContext, NodeError};
use hone_core::ModelError;
use hone_tools::{Harness, TestReport, TestSuite};
use tracing::Instrument;

use crate::events::AgentEvent;
use crate::refine::{Attempt, RefineConfig, RefineState, TestOutcome};
use crate::verifier::{TaskVerifier, Verifier, VerifyInput};

/// Whether a node error is the run's budget running out (strategies turn it
/// into "stop and keep the best so far").
pub fn is_budget_exhausted(error: &NodeError) -> bool {
    matches!(
        error,
        NodeError::Budget(_) | NodeError::Model(ModelError::BudgetExhausted(_))
    )
}

/// Runs `code` against the public tests in the sandbox and reports the
/// run as a `public_tests` tool call.
pub(crate) async fn run_public_tests(
    ctx: &NodeContext,
    harness: &Harness,
    code: &str,
    suite: &TestSuite,
) -> Result<TestOutcome, NodeError> {
    Ok(run_public_tests_report(ctx, harness, code, suite).await?.0)
}

/// [`run_public_tests`], also returning the harness's full report (which
/// test failed, for RethinkMCTS's execution trace).
pub(crate) async fn run_public_tests_report(
    ctx: &NodeContext,
    harness: &Harness,
    code: &str,
    suite: &TestSuite,
) -> Result<(TestOutcome, TestReport), NodeError> {
    let started = Instant::now();
    let report = harness
        .run_python(code, suite)
        .await
        .map_err(|e| NodeError::caused("running the public tests", e))?;
    let outcome = report.outcome(3);
    ctx.record_tool_call(
        "public_tests",
        outcome.all_passed(),
        started.elapsed(),
        &format!("{}/{} passed", outcome.passed, outcome.total),
    );
    Ok((outcome, report))
}

/// Runs the run's verifier on `attempt` ([`RefineConfig::verifier`], else
/// the task kind's built-in [`TaskVerifier`]) and records its evidence
/// there. `round` numbers the attempt in events.
pub async fn verify_attempt(
    attempt: &mut Attempt,
    state: &RefineState,
    round: usize,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<(), NodeError> {
    let input = VerifyInput {
        task: &state.task,
        kind: state.kind,
        attempt,
        round,
        public_tests: state.public_tests.as_ref(),
        requirements: &state.requirements,
    };
    let span = tracing::info_span!(
        "verify",
        hone.round = round,
        hone.verifier = tracing::field::Empty,
        hone.verified = tracing::field::Empty,
        hone.evidence.passed = tracing::field::Empty,
        hone.evidence.total = tracing::field::Empty,
    );
    let evidence = async {
        match &cfg.verifier {
            Some(verifier) => verifier.verify(input, ctx).await,
            None => TaskVerifier::from_config(cfg).verify(input, ctx).await,
        }
    }
    .instrument(span.clone())
    .await?;
    if let Some(evidence) = &evidence {
        span.record("hone.verifier", evidence.verifier.as_str());
        if let Some(verified) = evidence.verified() {
            span.record("hone.verified", verified);
        }
        span.record("hone.evidence.passed", evidence.passed as u64);
        span.record("hone.evidence.total", evidence.total as u64);
        AgentEvent::Evidence {
            round,
            evidence: evidence.clone(),
        }
        .emit(ctx);
    }
    attempt.evidence = evidence;
    Ok(())
}
