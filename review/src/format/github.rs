use serde_json::{json, Value};

use super::evidence_line;
use crate::finding::{Anchor, Finding};
use crate::pipeline::ReviewState;

/// The hidden marker that carries a comment's fingerprint, so a later run
/// finds and edits its own earlier comments.
pub const FINGERPRINT_MARKER: &str = "hone-fingerprint:";

/// A comment's Markdown: message, evidence, a suggestion block for a
/// replacement, and the fingerprint marker.
pub fn comment_body(f: &Finding) -> String {
    let mut body = format!(
        "**{}** ({}): {}",
        f.proposed.category.name(),
        f.proposed.severity.name(),
        f.proposed.message.trim()
    );
    if let Some(e) = evidence_line(f) {
        body.push_str(&format!("\n\n{e}"));
    }
    if let (Some(r), Some(_)) = (&f.proposed.replacement, f.lines()) {
        body.push_str(&format!(
            "\n\n```suggestion\n{}\n```",
            r.trim_end_matches('\n')
        ));
    }
    body.push_str(&format!(
        "\n\n<!-- {FINGERPRINT_MARKER} {} -->",
        f.fingerprint
    ));
    body
}

/// The body of GitHub's "create a review" call: line comments on the right
/// side (`start_line` for a range), file-level findings in the review's
/// body, event `COMMENT`.
pub fn github_review(state: &ReviewState, commit_id: Option<&str>) -> Value {
    let mut comments = Vec::new();
    let mut file_level = Vec::new();
    for f in state.posted() {
        match f.anchor {
            Some(Anchor::Lines { start, end }) => {
                let mut c = json!({
                    "path": f.proposed.path,
                    "line": end,
                    "side": "RIGHT",
                    "body": comment_body(f),
                });
                if start < end {
                    c["start_line"] = json!(start);
                    c["start_side"] = json!("RIGHT");
                }
                comments.push(c);
            }
            _ => file_level.push(format!("- `{}`: {}", f.proposed.path, comment_body(f))),
        }
    }
    let mut body = format!(
        "hone review: {} finding(s).",
        comments.len() + file_level.len()
    );
    if !file_level.is_empty() {
        body.push_str("\n\nAbout whole files:\n");
        body.push_str(&file_level.join("\n"));
    }
    let mut review = json!({"body": body, "event": "COMMENT", "comments": comments});
    if let Some(sha) = commit_id {
        review["commit_id"] = json!(sha);
    }
    review
}
