use serde_json::json;

use crate::finding::Severity;
use crate::pipeline::ReviewState;

/// reviewdog's diagnostic format, one JSON object per line.
pub fn rdjsonl(state: &ReviewState) -> String {
    let mut out = String::new();
    for f in state.posted() {
        let severity = match f.proposed.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        };
        let mut d = json!({
            "message": f.proposed.message,
            "location": {"path": f.proposed.path},
            "severity": severity,
            "source": {"name": "hone"},
            "code": {"value": f.proposed.category.name()},
        });
        if let Some((start, end)) = f.lines() {
            d["location"]["range"] = json!({"start": {"line": start}, "end": {"line": end}});
            if let Some(text) = &f.proposed.replacement {
                let mut text = text.trim_end_matches('\n').to_string();
                text.push('\n');
                d["suggestions"] = json!([{
                    "range": {"start": {"line": start, "column": 1}, "end": {"line": end + 1, "column": 1}},
                    "text": text,
                }]);
            }
        }
        out.push_str(&d.to_string());
        out.push('\n');
    }
    out
}
