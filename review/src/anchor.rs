//! Anchoring: hone, not the model, decides which lines a finding is on.
//!
//! The actor quotes the code it means ([`ProposedFinding::snippet`]); hone
//! looks for that code in the new side of the file and takes the line range
//! from where it is. A model's line numbers are never trusted: review bots
//! that trust them (or match one line as a substring) comment on the wrong
//! line, and GitHub rejects a whole review when one comment falls outside
//! the diff.
//!
//! Matching is line by line with surrounding whitespace ignored; a one-line
//! snippet may also be part of a line. Of several matches, the first inside
//! a hunk wins (an added line before a context line). A match must lie
//! entirely inside **one** hunk — that is where GitHub accepts a comment —
//! or the finding becomes file-level or is dropped ([`OutsideDiff`]).
//!
//! Models often quote the line a change removed (the listing shows it)
//! when they mean the line that replaced it. A snippet that is not on the
//! new side but is among a hunk's removed lines, directly followed by added
//! lines, is anchored on those added lines: the replacement, where the
//! change happened. A removed line that nothing replaced matches nothing.

use serde::{Deserialize, Serialize};

use crate::change::{FileChange, LineKind};
use crate::finding::{Anchor, Dropped, ProposedFinding};

/// What to do with a finding whose snippet is not inside the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutsideDiff {
    /// Drop it (the default: a finding about code the change did not touch,
    /// or about code that does not exist, is noise).
    #[default]
    Drop,
    /// Keep it as a file-level finding (when its snippet is in the file).
    File,
}

impl OutsideDiff {
    /// Parses `drop` or `file`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "drop" => Ok(OutsideDiff::Drop),
            "file" => Ok(OutsideDiff::File),
            other => Err(format!("--outside-diff {other:?}: drop or file")),
        }
    }
}

/// Every place `snippet` occurs in `lines` (`(number, text)`, in order), as
/// `(first, last)` line numbers.
pub fn find_snippet(lines: &[(u32, String)], snippet: &str) -> Vec<(u32, u32)> {
    let as_given: Vec<&str> = snippet.lines().map(str::trim).collect();
    let found = find_lines(lines, &as_given);
    if !found.is_empty() {
        return found;
    }
    let stripped: Vec<&str> = as_given.iter().map(|l| strip_listing(l)).collect();
    if stripped == as_given {
        return found;
    }
    find_lines(lines, &stripped)
}

fn find_lines(lines: &[(u32, String)], wanted: &[&str]) -> Vec<(u32, u32)> {
    let first = wanted.iter().position(|l| !l.is_empty());
    let last = wanted.iter().rposition(|l| !l.is_empty());
    let (Some(first), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let wanted = &wanted[first..=last];
    let mut found = Vec::new();
    if wanted.len() <= lines.len() {
        for start in 0..=(lines.len() - wanted.len()) {
            let window = &lines[start..start + wanted.len()];
            // Consecutive numbers only: the hunks of a file without its
            // contents leave gaps.
            let consecutive = window.windows(2).all(|w| w[1].0 == w[0].0 + 1);
            if consecutive && window.iter().zip(wanted).all(|((_, l), w)| l.trim() == *w) {
                found.push((window[0].0, window[wanted.len() - 1].0));
            }
        }
    }
    if found.is_empty() && wanted.len() == 1 && wanted[0].len() >= 3 {
        found = lines
            .iter()
            .filter(|(_, l)| l.contains(wanted[0]))
            .map(|(n, _)| (*n, *n))
            .collect();
    }
    if found.is_empty() {
        found = find_compacted(lines, &wanted.join("\n"));
    }
    found
}

/// A line copied from the review's listing keeps its number and marker
/// (`12 | code`, `12 + code`): the code is what follows. A removed line
/// (`- code`) is not in the new file and is left as it is, so it matches
/// nothing.
fn strip_listing(line: &str) -> &str {
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return line;
    }
    let rest = line[digits..].trim_start();
    match rest.strip_prefix("| ").or_else(|| rest.strip_prefix("+ ")) {
        Some(code) => code.trim(),
        None if rest == "|" || rest == "+" => "",
        None => line,
    }
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The snippet with all whitespace ignored, e.g. two lines a model joined
/// into one: the smallest runs of at most [`MAX_JOINED`] consecutive lines
/// whose text contains it.
fn find_compacted(lines: &[(u32, String)], snippet: &str) -> Vec<(u32, u32)> {
    let wanted = compact(snippet);
    if wanted.len() < 6 {
        return Vec::new();
    }
    let mut found = Vec::new();
    for i in 0..lines.len() {
        let mut acc = String::new();
        for j in i..lines.len().min(i + MAX_JOINED) {
            if j > i && lines[j].0 != lines[j - 1].0 + 1 {
                break;
            }
            acc.push_str(&compact(&lines[j].1));
            if acc.contains(&wanted) {
                // Smallest: dropping the first line loses the match.
                let rest: String = lines[i + 1..=j].iter().map(|(_, l)| compact(l)).collect();
                if !rest.contains(&wanted) {
                    found.push((lines[i].0, lines[j].0));
                }
                break;
            }
        }
    }
    found
}

/// Most lines a whitespace-free match may span.
const MAX_JOINED: usize = 12;

/// Anchors `finding` in `file`: its lines inside one hunk, else the file
/// (or a drop, by `outside`).
pub fn anchor(
    file: &FileChange,
    finding: &ProposedFinding,
    outside: OutsideDiff,
) -> Result<Anchor, Dropped> {
    let matches = find_snippet(&file.new_side(), &finding.snippet);
    if matches.is_empty() {
        return replacement_of(file, &finding.snippet)
            .map(|(start, end)| Anchor::Lines { start, end })
            .ok_or(Dropped::SnippetNotFound);
    }
    let in_hunk = |&(s, e): &(u32, u32)| file.hunk_with(s, e).is_some();
    let touches_added = |&(s, e): &(u32, u32)| {
        file.hunks
            .iter()
            .flat_map(|h| h.added())
            .any(|n| n >= s && n <= e)
    };
    let best = matches
        .iter()
        .find(|m| in_hunk(m) && touches_added(m))
        .or_else(|| matches.iter().find(|m| in_hunk(m)));
    match (best, outside) {
        (Some(&(start, end)), _) => Ok(Anchor::Lines { start, end }),
        (None, OutsideDiff::File) => Ok(Anchor::File),
        (None, OutsideDiff::Drop) => Err(Dropped::OutsideDiff),
    }
}

/// The new-side lines that replaced the removed lines `snippet` quotes:
/// the run of added lines right after the run of removed lines holding the
/// match, in the same hunk. `None` when the snippet is not among removed
/// lines, or what it quotes was deleted and not replaced.
fn replacement_of(file: &FileChange, snippet: &str) -> Option<(u32, u32)> {
    for hunk in &file.hunks {
        let removed: Vec<(u32, String)> = hunk
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Removed)
            .filter_map(|l| Some((l.old_line?, l.text.clone())))
            .collect();
        for (_, end) in find_snippet(&removed, snippet) {
            // The last removed line of the match, then the added lines
            // after the run of removed lines it belongs to.
            let Some(at) = hunk
                .lines
                .iter()
                .position(|l| l.kind == LineKind::Removed && l.old_line == Some(end))
            else {
                continue;
            };
            let after_removed = hunk.lines[at..]
                .iter()
                .skip_while(|l| l.kind == LineKind::Removed);
            let added: Vec<u32> = after_removed
                .take_while(|l| l.kind == LineKind::Added)
                .filter_map(|l| l.new_line)
                .collect();
            if let (Some(&first), Some(&last)) = (added.first(), added.last()) {
                return Some((first, last));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff_texts;
    use crate::finding::{Category, Severity};

    fn finding(snippet: &str) -> ProposedFinding {
        ProposedFinding {
            path: "m.py".into(),
            category: Category::Bug,
            severity: Severity::Error,
            message: "m".into(),
            snippet: snippet.into(),
            replacement: None,
        }
    }

    /// 20 lines `x1 = 1` … `x20 = 20`, of which lines 2 and 15 change:
    /// hunks 1–5 and 12–18, lines 6–11 in none.
    fn old() -> String {
        (1..=20).map(|i| format!("x{i} = {i}\n")).collect()
    }

    fn file() -> FileChange {
        let new = old()
            .replace("x15 = 15\n", "x15 = 10 + 4\n")
            .replace("x2 = 2\n", "x2 = 20\n");
        diff_texts(Some(("m.py", &old())), Some(("m.py", &new))).unwrap()
    }

    #[test]
    fn lines_come_from_where_the_snippet_is() {
        let f = file();
        assert_eq!(f.hunks.len(), 2);
        assert_eq!(
            anchor(&f, &finding("  x15 = 10 + 4 "), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 15, end: 15 })
        );
        assert_eq!(
            anchor(&f, &finding("x14 = 14\nx15 = 10 + 4\n"), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 14, end: 15 })
        );
        // Part of one line.
        assert_eq!(
            anchor(&f, &finding("= 20"), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 2, end: 2 })
        );
    }

    #[test]
    fn code_outside_the_hunks_is_dropped_or_file_level() {
        let f = file();
        assert_eq!(
            anchor(&f, &finding("x8 = 8"), OutsideDiff::Drop),
            Err(Dropped::OutsideDiff)
        );
        assert_eq!(
            anchor(&f, &finding("x8 = 8"), OutsideDiff::File),
            Ok(Anchor::File)
        );
        assert_eq!(
            anchor(&f, &finding("zz = 1"), OutsideDiff::File),
            Err(Dropped::SnippetNotFound)
        );
        // Spanning two hunks is not one comment GitHub accepts.
        let span: String = (4..=13).map(|i| format!("x{i} = {i}\n")).collect();
        assert_eq!(
            anchor(&f, &finding(&span), OutsideDiff::Drop),
            Err(Dropped::OutsideDiff)
        );
    }

    #[test]
    fn numbers_and_markers_copied_from_the_listing_are_ignored() {
        let f = file();
        assert_eq!(
            anchor(
                &f,
                &finding("   14 | x14 = 14\n   15 + x15 = 10 + 4"),
                OutsideDiff::Drop
            ),
            Ok(Anchor::Lines { start: 14, end: 15 })
        );
        assert_eq!(strip_listing("10 - 1"), "10 - 1");
    }

    #[test]
    fn lines_a_model_joined_are_found() {
        let f = file();
        assert_eq!(
            anchor(&f, &finding("x14 = 14 x15 = 10 + 4"), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 14, end: 15 })
        );
    }

    #[test]
    fn a_quoted_removed_line_anchors_on_the_lines_that_replaced_it() {
        let f = file();
        // `x15 = 15` was replaced by `x15 = 10 + 4` (line 15).
        assert_eq!(
            anchor(&f, &finding("x15 = 15\n"), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 15, end: 15 })
        );
        // A replacement of two lines by three: the three.
        let new = old().replace("x8 = 8\nx9 = 9\n", "y8 = 8\ny9 = 9\ny10 = 1\n");
        let f = diff_texts(Some(("m.py", &old())), Some(("m.py", &new))).unwrap();
        assert_eq!(
            anchor(&f, &finding("x9 = 9"), OutsideDiff::Drop),
            Ok(Anchor::Lines { start: 8, end: 10 })
        );
    }

    #[test]
    fn a_deleted_line_that_nothing_replaced_matches_nothing() {
        let new = old().replace("x15 = 15\n", "");
        let f = diff_texts(Some(("m.py", &old())), Some(("m.py", &new))).unwrap();
        assert_eq!(
            anchor(&f, &finding("x15 = 15"), OutsideDiff::File),
            Err(Dropped::SnippetNotFound)
        );
    }
}
