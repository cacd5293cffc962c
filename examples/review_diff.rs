//! Review a change in Rust: hone's reviewer proposes findings, anchors them
//! to the diff, tests the bug claims in the sandbox, lets a critic score
//! them, and prints what survives as GitHub review comments.
//!
//! `cargo run --example review_diff` (uses `Model::from_env`: an endpoint
//! from OPENAI_BASE_URL, else the embedded local model)

use std::collections::BTreeMap;
use std::sync::Arc;

use hone::prelude::*;
use hone::review::change::Change;
use hone::review::chunk::{chunks, FileFilter};
use hone::review::format;
use hone::review::pipeline::{graph, ReviewInput, ReviewOptions, ReviewState, Reviewer};

const BEFORE: &str =
    "def is_adult(age):\n    \"\"\"True for ages 18 and over.\"\"\"\n    return age >= 18\n";

/// Reviews the change from BEFORE to `after` with `model`.
async fn review(model: Model, after: &str) -> Result<ReviewState, Box<dyn std::error::Error>> {
    let before = BTreeMap::from([("ages.py".to_string(), BEFORE.to_string())]);
    let after = BTreeMap::from([("ages.py".to_string(), after.to_string())]);
    let change = Change::from_files(&before, &after)?;
    let pieces = chunks(&change, &FileFilter::default(), 6000);
    let reviewer = Reviewer {
        model: Arc::new(model),
        templates: Arc::new(hone::agents::templates::embedded()),
        sandbox: Sandbox::new(SandboxConfig::default()),
    };
    let input = Arc::new(ReviewInput::new(change, pieces));
    let state = ReviewState::new(&input, ReviewOptions::default());
    let out = graph(reviewer, input)?
        .run(state, RunOptions::default())
        .await?;
    Ok(out.state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let state = review(Model::from_env()?, &BEFORE.replace(">=", ">")).await?;
    eprint!("{}", format::terminal(&state));
    println!("{:#}", format::github_review(&state, None));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_confirmed_bug_is_posted_on_the_line_hone_found() {
        let model = ScriptedModel::in_order([
            // The actor (held to a JSON schema).
            r#"{"analysis": "> excludes 18.", "findings": [{"path": "ages.py", "category": "bug",
                "severity": "error", "message": "18 is no longer adult.", "snippet": "return age > 18",
                "replacement": "    return age >= 18"}]}"#,
            // The test of the claim: it fails on the new code.
            "```python\nassert is_adult(18)\n```",
            // The critic, evidence first.
            r#"{"evidence": "The docstring says 18 and over.", "score": 7}"#,
        ]);
        let state = review(Model::new(model), &BEFORE.replace(">=", ">"))
            .await
            .unwrap();
        let posted: Vec<_> = state.posted().collect();
        assert_eq!(posted.len(), 1);
        assert_eq!(posted[0].lines(), Some((3, 3)));
        assert!(posted[0].execution.as_ref().unwrap().confirmed());
        let review = format::github_review(&state, None);
        assert_eq!(review["comments"][0]["line"], 3);
    }
}
