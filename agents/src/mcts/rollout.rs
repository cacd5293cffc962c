//! One rollout: select, evaluate (with rethinks), expand, backpropagate.

use hone_core::graph::{NodeContext, NodeError};
use hone_tools::trace::{trace_test, TraceLimits};
use hone_tools::{Harness, TestReport, TestStatus, TestSuite};

use super::*;
use crate::events::{AgentEvent, ProposedThought};
use crate::refine::{complete, complete_as, extract_code, RefineConfig};
use crate::verify::{is_budget_exhausted, run_public_tests_report};
use hone_core::ResponseFormat;

/// An error inside a rollout: the budget ran out, or the node failed.
pub(super) enum Stop {
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
pub(super) async fn expand(
    s: &mut MctsState,
    d: usize,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<(), Stop> {
    let prompt = cfg.templates.prompt(
        "mcts_expand.j2",
        serde_json::json!({
            "task": s.task,
            "thoughts": s.thoughts(d),
            "width": s.settings.width,
            "feedback": s.decisions[d].feedback,
            "trace": s.decisions[d].feedback.as_ref().and(latest_trace(s, d)),
        }),
    )?;
    let format = ResponseFormat::JsonSchema {
        name: "thoughts".into(),
        schema: thoughts_schema(s.settings.width),
    };
    let reply = complete_as(ctx, &*cfg.actor, prompt, cfg, 0, format).await?;
    let (mut thoughts, malformed) = parse_thoughts(&reply, s.settings.width);
    if malformed {
        s.malformed += 1;
    }
    if thoughts.is_empty() {
        let fallback = cfg
            .templates
            .render("mcts_fallback_thought.j2", serde_json::json!({}))?;
        thoughts.push((fallback, 1.0));
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
pub(super) async fn evaluate(
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
    let prompt = cfg.templates.prompt(
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
    s.programs.push(Candidate {
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
        let prompt = cfg.templates.prompt(
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
pub(super) async fn rethink(
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
    let prompt = cfg.templates.prompt(
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
pub(super) fn latest_trace(s: &MctsState, d: usize) -> Option<&String> {
    s.decisions[d]
        .program
        .and_then(|p| s.programs[p].trace.as_ref())
}

/// Traces the first failing public test of `code`; `None` when no test
/// failed as a test (the program did not load), the suite has no statement
/// to trace, or the tracer failed (reported as an event: the trace is extra
/// feedback, never a reason to stop the search).
pub(super) async fn failing_test_trace(
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
/// With `evaluate_root`, the first rollout begins by evaluating the root
/// itself, and ends there when that program solves the problem under
/// `stop_on_pass`.
pub(super) async fn rollout(
    s: &mut MctsState,
    ctx: &NodeContext,
    cfg: &RefineConfig,
) -> Result<(), Stop> {
    if s.settings.evaluate_root && !s.decisions[0].expanded && s.decisions[0].program.is_none() {
        let value = evaluate(s, 0, false, ctx, cfg).await?;
        if s.settings.stop_on_pass && s.solved() {
            finish_rollout(s, 0, value, ctx);
            return Ok(());
        }
    }
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
    finish_rollout(s, d, value, ctx);
    Ok(())
}

/// Ends a rollout whose leaf was `d` with `value`: backpropagates, counts
/// the rollout and reports the tree.
fn finish_rollout(s: &mut MctsState, d: usize, value: f64, ctx: &NodeContext) {
    s.backpropagate(d, value);
    s.rollouts += 1;
    AgentEvent::Tree {
        rollout: s.rollouts,
        states: s.decisions.len(),
        thoughts: s.chances.len(),
        programs: s.programs.len(),
        leaf_depth: s.depth(d),
        value,
        best_pass_fraction: s.best_program().map(Candidate::pass_fraction),
    }
    .emit(ctx);
}
