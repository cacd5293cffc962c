use std::collections::BTreeMap;
use std::fmt::Write;

use super::{drop_reason, evidence_line};
use crate::finding::Anchor;
use crate::pipeline::ReviewState;

/// The human-readable summary (the default output).
pub fn terminal(state: &ReviewState) -> String {
    let (added, removed) = state.reviewed_line_counts();
    let files: usize = state.reviewed_files();
    let posted: Vec<_> = state.posted().collect();
    let mut out = format!(
        "hone review: {files} file(s), +{added} -{removed}; {} proposed, {} posted",
        state.findings.len(),
        posted.len()
    );
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for d in state.findings.iter().filter_map(|f| f.dropped.as_ref()) {
        *reasons.entry(drop_reason(d)).or_default() += 1;
    }
    if !reasons.is_empty() {
        let list: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let _ = write!(out, " (dropped: {})", list.join(", "));
    }
    if state.malformed > 0 {
        let _ = write!(out, "; {} unusable actor answer(s)", state.malformed);
    }
    out.push('\n');
    for f in posted {
        let place = match f.anchor {
            Some(Anchor::Lines { start, end }) if start == end => {
                format!("{}:{start}", f.proposed.path)
            }
            Some(Anchor::Lines { start, end }) => format!("{}:{start}-{end}", f.proposed.path),
            _ => format!("{} (file)", f.proposed.path),
        };
        let score = f
            .score
            .as_ref()
            .map_or("unscored".to_string(), |s| format!("score {}", s.score));
        let _ = writeln!(
            out,
            "\n{:<7} {:<15} {place}  [{score}]",
            f.proposed.severity.name(),
            f.proposed.category.name()
        );
        for line in f.proposed.message.lines() {
            let _ = writeln!(out, "    {line}");
        }
        if let Some(e) = evidence_line(f) {
            let _ = writeln!(out, "    {e}");
        }
        if let Some(r) = &f.proposed.replacement {
            let _ = writeln!(out, "    suggested:");
            for line in r.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    out
}
