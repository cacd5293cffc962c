//! # hone-review: a code-review bot that critiques its own comments
//!
//! Review bots are known for noise: praise and style nits, the same comment
//! on every push, comments on the wrong line. hone's reviewer is a graph of
//! an actor, two verifiers and a critic, and posts only what survives them:
//!
//! 1. **Read the change** — from a repository ([`git`]), a unified diff
//!    ([`diff`]) or two sets of files ([`change::Change::from_files`]) —
//!    and split it into chunks that fit the model ([`chunk`]).
//! 2. **Propose** — the actor answers in JSON held to a schema
//!    ([`finding::Proposal`]): category, severity, message, the exact code
//!    it is about, optionally a replacement.
//! 3. **Anchor** — hone, not the model, finds that code in the new file and
//!    takes the lines from there; nothing lands outside the diff
//!    ([`anchor`]).
//! 4. **Run** — a claim of wrong behaviour in Python or JavaScript gets a
//!    test, run in the Wasm sandbox on the new and the old code; a test that
//!    passes on the new code drops the claim ([`execution`]).
//! 5. **Critique** — a 0–10 score, evidence first; failures are never given
//!    a default score ([`pipeline`]).
//! 6. **Select** — duplicates merge, fingerprints stay stable across
//!    pushes, caps apply ([`select`]); then [`format`](mod@format) prints it for a
//!    person, a CI system (SARIF, rdjsonl) or GitHub ([`github`]).
//!
//! ```no_run
//! # async fn demo(model: std::sync::Arc<dyn hone_core::LanguageModel>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use hone_review::{chunk, diff, format, pipeline};
//!
//! let change = diff::with_root(diff::parse_unified(&std::fs::read_to_string("pr.diff")?)?, ".".as_ref())?;
//! let chunks = chunk::chunks(&change, &chunk::FileFilter::default(), 6000);
//! let reviewer = pipeline::Reviewer {
//!     model,
//!     templates: Arc::new(hone_agents::templates::embedded()),
//!     sandbox: hone_sandbox::Sandbox::new(Default::default()),
//! };
//! let input = Arc::new(pipeline::ReviewInput::new(change, chunks));
//! let state = pipeline::ReviewState::new(&input, pipeline::ReviewOptions::default());
//! let out = pipeline::graph(reviewer, input)?.run(state, Default::default()).await?;
//! print!("{}", format::terminal(&out.state));
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod anchor;
pub mod change;
pub mod chunk;
pub mod diff;
pub mod execution;
pub mod finding;
pub mod format;
pub mod git;
pub mod github;
pub mod pipeline;
pub mod select;
