//! The review as a hone graph of actor, verifiers and critic. Every node
//! visit is checkpointed, so a review is resumable and traced like
//! `hone solve`.
//!
//! ```text
//! propose ─(chunks left)─► propose
//!    └──► anchor ──► test ─(tests left)─► test
//!                     └──► critic ─(findings left)─► critic
//!                               └──► select ──► end
//! ```
//!
//! 1. `propose` (actor, one chunk per visit): findings as JSON held to
//!    [`Proposal::schema`]; an unusable answer is retried once with the
//!    parse error, then counted in [`ReviewState::malformed`], never a
//!    crash.
//! 2. `anchor` (no model): [`crate::anchor`] computes each finding's lines.
//! 3. `test` (when [`ReviewOptions::execution`]): for a bug in a Python or
//!    JavaScript file, the actor writes a test of the claim and hone runs it
//!    on the new and old code ([`crate::execution`]); a test that passes on
//!    the new code drops the finding.
//! 4. `critic` (when [`ReviewOptions::critic`]): a 0–10 score with the
//!    evidence first (`review_critic.j2`); a confirmed failing test (one
//!    that fails on the new code but not on the old) lifts the score to at
//!    least [`CONFIRMED_FLOOR`]; a failed call leaves the
//!    finding unscored and dropped (unless [`ReviewOptions::keep_unscored`])
//!    — no default score is ever invented. Below
//!    [`ReviewOptions::min_score`] a finding is dropped.
//! 5. `select` (no model): near-duplicates merge, caps apply
//!    ([`crate::select`]).
//!
//! Nothing is lost: dropped findings stay in the state with their reason.

use std::sync::Arc;

use hone_core::graph::{node_fn, Graph, GraphBuilder, GraphError, NodeContext, NodeError, Route};
use hone_core::templates::Templates;
use hone_core::{ChatRequest, LanguageModel, Message, ResponseFormat};
use hone_sandbox::{Language, Sandbox};
use serde::{Deserialize, Serialize};

use crate::anchor::{anchor, OutsideDiff};
use crate::change::Change;
use crate::chunk::Chunk;
use hone_agents::refine::extract_code;

use crate::execution::run_test;
use crate::finding::{
    critic_schema, Category, CriticAnswer, Dropped, Execution, Finding, Proposal, Score,
    TestOutcome,
};

/// The default `--min-score`.
///
/// Measured (docs/results/review.md, the embedded 0.5B model on 155
/// generated items): for the full pipeline every threshold from 4 to 9
/// gives the same recall and false alarms; 6 sits in that plateau and is
/// the lowest score of the critic template's "concrete problem" tier.
/// Re-measure with a stronger model (`hone bench run review`).
pub const DEFAULT_MIN_SCORE: u8 = 6;

/// A confirmed failing test scores at least this, whatever the critic said.
pub const CONFIRMED_FLOOR: u8 = 9;

/// The settings of a review; they travel in the state, so a resumed review
/// keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewOptions {
    /// Run the critic step.
    pub critic: bool,
    /// Run the execution step.
    pub execution: bool,
    /// Lowest score posted.
    pub min_score: u8,
    /// Post findings the critic could not score (off by default).
    pub keep_unscored: bool,
    /// A finding outside the diff: drop it or keep it file-level.
    pub outside_diff: OutsideDiff,
    /// Most findings posted per file.
    pub max_per_file: usize,
    /// Most findings posted per review.
    pub max_findings: usize,
    /// Most findings the actor may propose per chunk.
    pub max_proposed: usize,
    /// Token limit of each model call.
    pub max_tokens: u32,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            critic: true,
            execution: true,
            min_score: DEFAULT_MIN_SCORE,
            keep_unscored: false,
            outside_diff: OutsideDiff::Drop,
            max_per_file: 5,
            max_findings: 20,
            max_proposed: 6,
            max_tokens: 1024,
        }
    }
}

/// What is under review: the change and the chunks the actor reads.
///
/// It never changes during a review, so it is not part of
/// [`ReviewState`]: a checkpoint would copy it at every step (350 KB per
/// step on a real diff). The graph holds it ([`graph`]), and a caller that
/// wants a self-contained run log stores it once, in the log's header
/// (`hone review` does, under `meta.input`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewInput {
    /// The change under review.
    pub change: Change,
    /// The pieces the actor reads.
    pub chunks: Vec<Chunk>,
}

impl ReviewInput {
    /// A review of `change` in `chunks`.
    pub fn new(change: Change, chunks: Vec<Chunk>) -> Self {
        ReviewInput { change, chunks }
    }

    /// Lines added and removed in the files the chunks show.
    pub fn reviewed_line_counts(&self) -> (usize, usize) {
        let paths: std::collections::BTreeSet<&str> = self
            .chunks
            .iter()
            .flat_map(|c| c.paths.iter().map(String::as_str))
            .collect();
        let reviewed = Change {
            files: self
                .change
                .files
                .iter()
                .filter(|f| paths.contains(f.path()))
                .cloned()
                .collect(),
        };
        reviewed.line_counts()
    }

    /// How many files the chunks show (a large file split into several
    /// chunks counts once).
    pub fn reviewed_files(&self) -> usize {
        self.chunks
            .iter()
            .flat_map(|c| c.paths.iter())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }
}

/// How much of the change a review covers, kept in the state so that a
/// report needs no [`ReviewInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewedSize {
    /// Files the chunks show.
    pub files: usize,
    /// Lines added in them.
    pub added: usize,
    /// Lines removed in them.
    pub removed: usize,
    /// Chunks the actor reads.
    pub chunks: usize,
}

/// The state of one review: its settings and its progress, never the change
/// itself (that is the [`ReviewInput`] the graph holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewState {
    /// Its settings.
    pub options: ReviewOptions,
    /// How much of the change it covers.
    pub reviewed: ReviewedSize,
    /// The next chunk to propose for.
    pub next_chunk: usize,
    /// Every finding, posted or dropped (with its reason).
    pub findings: Vec<Finding>,
    /// Actor answers still unusable after their retry.
    pub malformed: u32,
    /// Actor answers retried once with their parse error.
    pub retried: u32,
}

impl ReviewState {
    /// The start of a review of `input`.
    pub fn new(input: &ReviewInput, options: ReviewOptions) -> Self {
        let (added, removed) = input.reviewed_line_counts();
        ReviewState {
            options,
            reviewed: ReviewedSize {
                files: input.reviewed_files(),
                added,
                removed,
                chunks: input.chunks.len(),
            },
            next_chunk: 0,
            findings: Vec::new(),
            malformed: 0,
            retried: 0,
        }
    }

    /// Lines added and removed in the files the chunks show.
    pub fn reviewed_line_counts(&self) -> (usize, usize) {
        (self.reviewed.added, self.reviewed.removed)
    }

    /// How many files the chunks show (a large file split into several
    /// chunks counts once).
    pub fn reviewed_files(&self) -> usize {
        self.reviewed.files
    }

    /// The findings that survive, in order.
    pub fn posted(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.alive())
    }

    fn next_test(&self, input: &ReviewInput) -> Option<usize> {
        if !self.options.execution {
            return None;
        }
        self.findings.iter().position(|f| {
            f.alive()
                && f.execution.is_none()
                && f.proposed.category == Category::Bug
                && input
                    .change
                    .file(&f.proposed.path)
                    .is_some_and(|file| file.language().is_some() && file.new_text.is_some())
        })
    }

    fn next_critic(&self) -> Option<usize> {
        if !self.options.critic {
            return None;
        }
        self.findings
            .iter()
            .position(|f| f.alive() && f.score.is_none() && !f.unscored_kept())
    }
}

/// What a review needs besides its state: the model, the prompts and the
/// sandbox.
#[derive(Clone)]
pub struct Reviewer {
    /// The model for the actor, the test writer and the critic.
    pub model: Arc<dyn LanguageModel>,
    /// Prompt templates (the `review_*.j2` ones are used).
    pub templates: Arc<Templates>,
    /// Where findings' tests run.
    pub sandbox: Sandbox,
}

fn request(messages: Vec<Message>, template: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(messages)
        .with_temperature(0.0)
        .with_max_tokens(max_tokens);
    r.template = Some(template.to_string());
    r
}

/// Reads the actor's answer: JSON (a fence around it is tolerated).
pub fn parse_proposal(text: &str) -> Result<Proposal, String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .map(|t| t.trim_end().trim_end_matches("```"))
        .unwrap_or(trimmed);
    serde_json::from_str::<Proposal>(body.trim()).map_err(|e| e.to_string())
}

async fn propose(
    r: &Reviewer,
    input: &ReviewInput,
    mut s: ReviewState,
    ctx: NodeContext,
) -> Result<ReviewState, NodeError> {
    let Some(chunk) = input.chunks.get(s.next_chunk) else {
        return Ok(s);
    };
    let prompt = r
        .templates
        .render("review_actor.j2", serde_json::json!({"chunk": chunk.text}))?;
    let format = ResponseFormat::JsonSchema {
        name: "review_findings".into(),
        schema: Proposal::schema(s.options.max_proposed),
    };
    let mut messages = vec![Message::user(prompt.trim())];
    let mut req = request(messages.clone(), "review_actor.j2", s.options.max_tokens);
    req.response_format = format.clone();
    let first = ctx.chat(r.model.as_ref(), &req).await?;
    let answer = first.first_text().to_string();
    let parsed = match parse_proposal(&answer) {
        Ok(p) => Some(p),
        Err(error) => {
            s.retried += 1;
            let retry = r
                .templates
                .render("review_actor_retry.j2", serde_json::json!({"error": error}))?;
            messages.push(Message::assistant(answer));
            messages.push(Message::user(retry.trim()));
            let mut req = request(messages, "review_actor_retry.j2", s.options.max_tokens);
            req.response_format = format;
            let second = ctx.chat(r.model.as_ref(), &req).await?;
            parse_proposal(second.first_text()).ok()
        }
    };
    match parsed {
        Some(p) => {
            let n = p.findings.len();
            for mut f in p.findings.into_iter().take(s.options.max_proposed) {
                f.path = resolve_path(&input.change, chunk, &f.path);
                s.findings.push(Finding::new(f));
            }
            ctx.emit(
                "review.proposed",
                serde_json::json!({"chunk": s.next_chunk, "of": input.chunks.len(), "findings": n}),
            );
        }
        None => {
            s.malformed += 1;
            ctx.emit(
                "review.malformed",
                serde_json::json!({"chunk": s.next_chunk, "of": input.chunks.len()}),
            );
        }
    }
    s.next_chunk += 1;
    Ok(s)
}

/// The change's path a model meant: itself when the change has it, else the
/// only file of the chunk, else the one file of the chunk it ends with.
fn resolve_path(change: &Change, chunk: &Chunk, path: &str) -> String {
    let path = path.trim().trim_start_matches("./");
    if change.file(path).is_some() {
        return path.to_string();
    }
    if chunk.paths.len() == 1 {
        return chunk.paths[0].clone();
    }
    let ends: Vec<&String> = chunk
        .paths
        .iter()
        .filter(|p| p.ends_with(path) || path.ends_with(p.as_str()))
        .collect();
    match ends.as_slice() {
        [one] => (*one).clone(),
        _ => path.to_string(),
    }
}

/// Anchors every new finding; a repeat of an earlier finding's fingerprint
/// (models do repeat themselves) is merged here, before it costs a test or
/// a critic call.
fn anchor_all(input: &ReviewInput, mut s: ReviewState) -> ReviewState {
    let outside = s.options.outside_diff;
    let mut seen: std::collections::HashSet<String> = s
        .findings
        .iter()
        .filter(|f| f.anchor.is_some() || f.dropped.is_some())
        .map(|f| f.fingerprint.clone())
        .collect();
    for f in s
        .findings
        .iter_mut()
        .filter(|f| f.alive() && f.anchor.is_none())
    {
        if !seen.insert(f.fingerprint.clone()) {
            f.dropped = Some(Dropped::Duplicate {
                of: f.fingerprint.clone(),
            });
            continue;
        }
        match input.change.file(&f.proposed.path) {
            None => f.dropped = Some(Dropped::UnknownPath),
            Some(file) => match anchor(file, &f.proposed, outside) {
                Ok(a) => f.anchor = Some(a),
                Err(d) => f.dropped = Some(d),
            },
        }
    }
    s
}

async fn test(
    r: &Reviewer,
    input: &ReviewInput,
    mut s: ReviewState,
    ctx: NodeContext,
) -> Result<ReviewState, NodeError> {
    let Some(i) = s.next_test(input) else {
        return Ok(s);
    };
    let f = s.findings[i].clone();
    let Some(file) = input.change.file(&f.proposed.path) else {
        return Ok(s);
    };
    let (Some(language), Some(source)) = (file.language(), file.new_text.as_deref()) else {
        return Ok(s);
    };
    let (name, fence) = match language {
        Language::Python => ("Python", "python"),
        Language::JavaScript => ("JavaScript", "javascript"),
    };
    let prompt = r.templates.render(
        "review_test.j2",
        serde_json::json!({
            "language": name, "fence": fence, "path": file.path(), "source": source,
            "snippet": f.proposed.snippet.trim(), "message": f.proposed.message,
        }),
    )?;
    let req = request(
        vec![Message::user(prompt.trim())],
        "review_test.j2",
        s.options.max_tokens,
    );
    let execution = match ctx.chat(r.model.as_ref(), &req).await {
        Err(e) => Execution {
            test: String::new(),
            new: TestOutcome::Inconclusive {
                reason: format!("the test-writing call failed: {e}"),
            },
            old: None,
        },
        Ok(reply) => {
            let test = extract_code(reply.first_text());
            let new = run_test(&r.sandbox, language, file.path(), source, &test).await;
            let old = match (&file.old_text, &file.old_path) {
                (Some(old), Some(old_path)) => {
                    Some(run_test(&r.sandbox, language, old_path, old, &test).await)
                }
                _ => None,
            };
            Execution { test, new, old }
        }
    };
    ctx.emit(
        "review.test",
        serde_json::json!({"fingerprint": f.fingerprint, "new": execution.new, "old": execution.old}),
    );
    if execution.refuted() {
        s.findings[i].dropped = Some(Dropped::Refuted);
    }
    s.findings[i].execution = Some(execution);
    Ok(s)
}

/// Reads the critic's score: the last `SCORE: n` (0–10), else a last line
/// that is only a number out of 10.
///
/// ```
/// use hone_review::pipeline::parse_score;
/// assert_eq!(parse_score("Real bug.\nSCORE: 8"), Some(8));
/// assert_eq!(parse_score("score: 3/10"), Some(3));
/// assert_eq!(parse_score("It is a nit.\n2"), Some(2));
/// assert_eq!(parse_score("SCORE: 11"), None);
/// assert_eq!(parse_score("no number"), None);
/// assert_eq!(parse_score("line 12 is wrong"), None);
/// ```
pub fn parse_score(text: &str) -> Option<u8> {
    let upper = text.to_uppercase();
    let digits_after = |from: &str| -> Option<u8> {
        let digits: String = from
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u8>().ok().filter(|n| *n <= 10)
    };
    if let Some(at) = upper.rfind("SCORE:") {
        return digits_after(&upper[at + 6..]);
    }
    let last = upper.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let bare = last.strip_suffix("/10").unwrap_or(last).trim();
    if !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit()) {
        return digits_after(bare);
    }
    None
}

/// Reads the critic's answer: JSON `{"evidence", "score"}` (what the schema
/// asks for), else text with a score [`parse_score`] reads (an endpoint
/// that ignores `response_format`). `Err` says why there is no score.
pub fn parse_critic(text: &str) -> Result<(u8, String), String> {
    let trimmed = text.trim();
    if let Ok(a) = serde_json::from_str::<CriticAnswer>(trimmed) {
        if a.score <= 10 {
            return Ok((a.score, a.evidence));
        }
        return Err(format!("the critic's score {} is not 0-10", a.score));
    }
    match parse_score(trimmed) {
        Some(n) => Ok((n, trimmed.to_string())),
        None => Err("the critic's answer has no score".to_string()),
    }
}

/// The lines a critic sees: the finding's lines with a few around them.
fn code_around(input: &ReviewInput, f: &Finding) -> (String, String) {
    let Some(file) = input.change.file(&f.proposed.path) else {
        return (String::new(), "?".into());
    };
    let lines = file.new_side();
    let (start, end) = f.lines().unwrap_or_else(|| {
        let first = lines.first().map_or(1, |l| l.0);
        (first, first + 40)
    });
    let code = lines
        .iter()
        .filter(|(n, _)| *n + 6 >= start && *n <= end + 6)
        .map(|(n, t)| format!("{n:>5} | {t}"))
        .collect::<Vec<_>>()
        .join("\n");
    let label = match f.lines() {
        Some((a, b)) if a == b => format!("{a}"),
        Some((a, b)) => format!("{a}-{b}"),
        None => "(whole file)".into(),
    };
    (code, label)
}

fn evidence_text(e: &Execution) -> Option<String> {
    let on = |o: &TestOutcome| match o {
        TestOutcome::Fails { assertion } => format!("FAILS ({assertion})"),
        TestOutcome::Passes => "passes".to_string(),
        TestOutcome::Inconclusive { reason } => format!("could not decide ({reason})"),
    };
    if matches!(e.new, TestOutcome::Inconclusive { .. }) && e.test.is_empty() {
        return None;
    }
    let mut text = format!(
        "Test:\n{}\nOn the new code the test {}.",
        e.test,
        on(&e.new)
    );
    if let Some(old) = &e.old {
        text.push_str(&format!(" On the old code it {}.", on(old)));
    }
    Some(text)
}

async fn critic(
    r: &Reviewer,
    input: &ReviewInput,
    mut s: ReviewState,
    ctx: NodeContext,
) -> Result<ReviewState, NodeError> {
    let Some(i) = s.next_critic() else {
        return Ok(s);
    };
    let f = s.findings[i].clone();
    let (code, lines) = code_around(input, &f);
    let prompt = r.templates.render(
        "review_critic.j2",
        serde_json::json!({
            "path": f.proposed.path, "lines": lines, "code": code,
            "category": f.proposed.category.name(), "severity": f.proposed.severity.name(),
            "message": f.proposed.message, "replacement": f.proposed.replacement,
            "evidence": f.execution.as_ref().and_then(evidence_text),
        }),
    )?;
    let mut req = request(
        vec![Message::user(prompt.trim())],
        "review_critic.j2",
        s.options.max_tokens,
    );
    req.response_format = ResponseFormat::JsonSchema {
        name: "review_score".into(),
        schema: critic_schema(),
    };
    let outcome = match ctx.chat(r.model.as_ref(), &req).await {
        Err(e) => Err(format!("the critic's call failed: {e}")),
        Ok(reply) => parse_critic(reply.first_text()),
    };
    let finding = &mut s.findings[i];
    match outcome {
        Ok((critic_score, rationale)) => {
            let confirmed = finding.execution.as_ref().is_some_and(Execution::confirmed);
            let score = if confirmed {
                critic_score.max(CONFIRMED_FLOOR)
            } else {
                critic_score
            };
            if score < s.options.min_score {
                finding.dropped = Some(Dropped::LowScore);
            }
            ctx.emit(
                "review.score",
                serde_json::json!({"fingerprint": finding.fingerprint, "score": score}),
            );
            finding.score = Some(Score {
                score,
                critic_score,
                rationale,
            });
        }
        Err(error) => {
            ctx.emit(
                "review.unscored",
                serde_json::json!({"fingerprint": finding.fingerprint, "error": error}),
            );
            finding.critic_error = Some(error.clone());
            if !s.options.keep_unscored {
                finding.dropped = Some(Dropped::Unscored { error });
            }
        }
    }
    Ok(s)
}

/// The graph of one review of `input`.
pub fn graph(
    reviewer: Reviewer,
    input: Arc<ReviewInput>,
) -> Result<Graph<ReviewState>, GraphError> {
    let after_anchor = {
        let input = input.clone();
        move |s: &ReviewState| {
            if s.next_test(&input).is_some() {
                Route::to("test")
            } else if s.next_critic().is_some() {
                Route::to("critic")
            } else {
                Route::to("select")
            }
        }
    };
    let node_parts = || (reviewer.clone(), input.clone());
    let (propose_with, test_with, critic_with) = (node_parts(), node_parts(), node_parts());
    let chunk_count = input.chunks.len();
    let anchor_input = input.clone();
    GraphBuilder::<ReviewState>::new("review")
        .node(
            "propose",
            node_fn(move |s, ctx| {
                let (r, input) = propose_with.clone();
                async move { propose(&r, &input, s, ctx).await }
            }),
        )
        .router("propose", &["propose", "anchor"], move |s: &ReviewState| {
            if s.next_chunk < chunk_count {
                Route::to("propose")
            } else {
                Route::to("anchor")
            }
        })
        .node(
            "anchor",
            node_fn(move |s, _ctx| {
                let input = anchor_input.clone();
                async move { Ok(anchor_all(&input, s)) }
            }),
        )
        .router(
            "anchor",
            &["test", "critic", "select"],
            after_anchor.clone(),
        )
        .node(
            "test",
            node_fn(move |s, ctx| {
                let (r, input) = test_with.clone();
                async move { test(&r, &input, s, ctx).await }
            }),
        )
        .router("test", &["test", "critic", "select"], after_anchor)
        .node(
            "critic",
            node_fn(move |s, ctx| {
                let (r, input) = critic_with.clone();
                async move { critic(&r, &input, s, ctx).await }
            }),
        )
        .router("critic", &["critic", "select"], |s: &ReviewState| {
            if s.next_critic().is_some() {
                Route::to("critic")
            } else {
                Route::to("select")
            }
        })
        .node(
            "select",
            node_fn(|mut s: ReviewState, _ctx| async move {
                crate::select::select(&mut s.findings, &s.options);
                Ok(s)
            }),
        )
        .entry("propose")
        .build()
}
