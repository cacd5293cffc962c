use serde_json::{json, Value};

use crate::finding::{Category, Severity};
use crate::pipeline::ReviewState;

const CATEGORIES: [Category; 4] = [
    Category::Bug,
    Category::Security,
    Category::Performance,
    Category::Maintainability,
];

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one rule per category (`hone/bug` …), levels from
/// severity, `partialFingerprints` from the finding's fingerprint, `fixes`
/// for replacements.
pub fn sarif(state: &ReviewState) -> Value {
    let rules: Vec<Value> = CATEGORIES
        .iter()
        .map(|c| {
            json!({
                "id": format!("hone/{}", c.name()),
                "name": c.name(),
                "shortDescription": {"text": format!("hone review: {} finding", c.name())},
            })
        })
        .collect();
    let results: Vec<Value> = state
        .posted()
        .map(|f| {
            let index = CATEGORIES
                .iter()
                .position(|c| *c == f.proposed.category)
                .unwrap_or(0);
            let mut location =
                json!({"physicalLocation": {"artifactLocation": {"uri": f.proposed.path}}});
            if let Some((start, end)) = f.lines() {
                location["physicalLocation"]["region"] =
                    json!({"startLine": start, "endLine": end});
            }
            let mut r = json!({
                "ruleId": format!("hone/{}", f.proposed.category.name()),
                "ruleIndex": index,
                "level": level(f.proposed.severity),
                "message": {"text": f.proposed.message},
                "locations": [location],
                "partialFingerprints": {"honeFingerprint/v1": f.fingerprint},
            });
            if let Some(s) = &f.score {
                r["properties"] = json!({"score": s.score});
            }
            if let (Some(text), Some((start, end))) = (&f.proposed.replacement, f.lines()) {
                let mut inserted = text.trim_end_matches('\n').to_string();
                inserted.push('\n');
                r["fixes"] = json!([{
                    "description": {"text": "hone's suggested replacement"},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": f.proposed.path},
                        "replacements": [{
                            "deletedRegion": {"startLine": start, "endLine": end},
                            "insertedContent": {"text": inserted},
                        }],
                    }],
                }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hone",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}
