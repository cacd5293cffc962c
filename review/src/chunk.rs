//! Splitting a change into pieces that fit the model's context: whole files
//! while they fit, then a large file's hunks one group at a time. Each
//! piece shows the new code with line numbers and some surrounding lines,
//! the removed lines marked, so the actor sees what changed and what it
//! changed into.
//!
//! Generated and vendored files are skipped by default
//! ([`FileFilter::default`]); `--include`/`--exclude` globs change that.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::change::{Change, FileChange, Hunk, LineKind};

/// Globs of files skipped unless `--include` names them: lock files,
/// vendored and generated code, minified bundles.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    "**/vendor/**",
    "vendor/**",
    "**/node_modules/**",
    "node_modules/**",
    "**/third_party/**",
    "third_party/**",
    "**/*.lock",
    "**/package-lock.json",
    "**/*.min.js",
    "**/*.min.css",
    "**/*_pb2.py",
    "**/*.pb.go",
    "**/*.generated.*",
    "**/generated/**",
    "generated/**",
    "**/dist/**",
    "dist/**",
];

/// Which files are reviewed.
#[derive(Debug, Clone)]
pub struct FileFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

/// A glob that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("glob {glob:?}: {source}")]
pub struct GlobError {
    glob: String,
    #[source]
    source: globset::Error,
}

fn set(globs: &[String]) -> Result<GlobSet, GlobError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|source| GlobError {
            glob: g.clone(),
            source,
        })?);
    }
    b.build().map_err(|source| GlobError {
        glob: globs.join(","),
        source,
    })
}

impl FileFilter {
    /// Files matching `include` (all when empty) and not `exclude`, nor —
    /// unless `include` names them — the [`DEFAULT_EXCLUDES`].
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, GlobError> {
        let mut excludes: Vec<String> = exclude.to_vec();
        if include.is_empty() {
            excludes.extend(DEFAULT_EXCLUDES.iter().map(|s| s.to_string()));
        }
        Ok(FileFilter {
            include: (!include.is_empty()).then(|| set(include)).transpose()?,
            exclude: set(&excludes)?,
        })
    }

    /// Whether `path` is reviewed.
    pub fn allows(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.is_match(path)) && !self.exclude.is_match(path)
    }
}

impl Default for FileFilter {
    fn default() -> Self {
        FileFilter::new(&[], &[]).unwrap_or_else(|_| FileFilter {
            include: None,
            exclude: GlobSet::empty(),
        })
    }
}

/// One piece of a change, as the actor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The files it shows.
    pub paths: Vec<String>,
    /// The text: per file a header, then numbered lines.
    pub text: String,
}

/// Lines shown around each hunk beyond the diff's own context.
const EXTRA_CONTEXT: u32 = 5;

/// The text of `hunks` of `file`: new lines numbered (`  12 | code`, added
/// lines `  12 + code`), removed lines as `     - code`.
fn render(file: &FileChange, hunks: &[&Hunk]) -> String {
    let mut out = format!("File: {} ({})\n", file.path(), file.status.name());
    let new_lines: Option<Vec<&str>> = file.new_text.as_deref().map(|t| t.lines().collect());
    let mut shown_to = 0u32;
    for hunk in hunks {
        let from = hunk
            .new_start
            .saturating_sub(EXTRA_CONTEXT)
            .max(shown_to + 1)
            .max(1);
        if shown_to > 0 && from > shown_to + 1 {
            out.push_str("     ...\n");
        }
        if let Some(lines) = &new_lines {
            for n in from..hunk.new_start {
                if let Some(t) = lines.get(n as usize - 1) {
                    out.push_str(&format!("{n:>5} | {t}\n"));
                }
            }
        }
        for line in &hunk.lines {
            match (line.kind, line.new_line) {
                (LineKind::Removed, _) => out.push_str(&format!("      - {}\n", line.text)),
                (LineKind::Added, Some(n)) => out.push_str(&format!("{n:>5} + {}\n", line.text)),
                (_, Some(n)) => out.push_str(&format!("{n:>5} | {}\n", line.text)),
                _ => {}
            }
        }
        let end = hunk.new_start + hunk.new_lines.max(1) - 1;
        shown_to = end;
        if let Some(lines) = &new_lines {
            let to = (end + EXTRA_CONTEXT).min(lines.len() as u32);
            for n in end + 1..=to {
                out.push_str(&format!("{n:>5} | {}\n", lines[n as usize - 1]));
            }
            shown_to = to.max(end);
        }
    }
    out
}

/// Splits the reviewable files of `change` that `filter` allows into chunks
/// of at most about `max_chars` characters (one file's hunk group may be
/// larger when a single hunk is).
pub fn chunks(change: &Change, filter: &FileFilter, max_chars: usize) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut current = Chunk {
        paths: Vec::new(),
        text: String::new(),
    };
    let flush = |c: &mut Chunk, out: &mut Vec<Chunk>| {
        if !c.paths.is_empty() {
            out.push(std::mem::replace(
                c,
                Chunk {
                    paths: Vec::new(),
                    text: String::new(),
                },
            ));
        }
    };
    for file in change
        .files
        .iter()
        .filter(|f| f.reviewable() && filter.allows(f.path()))
    {
        let all: Vec<&Hunk> = file.hunks.iter().filter(|h| h.new_lines > 0).collect();
        let whole = render(file, &all);
        if whole.len() <= max_chars {
            if current.text.len() + whole.len() > max_chars {
                flush(&mut current, &mut out);
            }
            current.paths.push(file.path().to_string());
            current.text.push_str(&whole);
            current.text.push('\n');
            continue;
        }
        flush(&mut current, &mut out);
        // A large file: groups of hunks, each group its own chunk.
        let mut group: Vec<&Hunk> = Vec::new();
        for hunk in all {
            group.push(hunk);
            if render(file, &group).len() > max_chars && group.len() > 1 {
                group.pop();
                out.push(Chunk {
                    paths: vec![file.path().to_string()],
                    text: render(file, &group),
                });
                group = vec![hunk];
            }
        }
        if !group.is_empty() {
            out.push(Chunk {
                paths: vec![file.path().to_string()],
                text: render(file, &group),
            });
        }
    }
    flush(&mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff_texts;

    #[test]
    fn vendored_and_generated_files_are_skipped_unless_included() {
        let f = FileFilter::default();
        assert!(f.allows("src/app.py"));
        assert!(!f.allows("vendor/lib/x.py"));
        assert!(!f.allows("web/node_modules/a/index.js"));
        assert!(!f.allows("Cargo.lock"));
        let only = FileFilter::new(&["vendor/**".into()], &[]).unwrap();
        assert!(only.allows("vendor/lib/x.py"));
        assert!(!only.allows("src/app.py"));
        assert!(FileFilter::new(&["[".into()], &[]).is_err());
    }

    #[test]
    fn a_large_file_is_split_by_hunks_and_every_added_line_is_shown_once() {
        let old: String = (1..=400).map(|i| format!("x{i} = {i}\n")).collect();
        let new = old
            .replace("x10 = 10\n", "x10 = 11\n")
            .replace("x200 = 200\n", "x200 = 201\n")
            .replace("x390 = 390\n", "x390 = 391\n");
        let file = diff_texts(Some(("big.py", &old)), Some(("big.py", &new))).unwrap();
        let change = Change { files: vec![file] };
        let pieces = chunks(&change, &FileFilter::default(), 400);
        assert_eq!(pieces.len(), 3, "{pieces:#?}");
        for (piece, n) in pieces.iter().zip([10, 200, 390]) {
            assert!(
                piece.text.contains(&format!("{n:>5} + x{n} = {}", n + 1)),
                "{}",
                piece.text
            );
            assert!(piece.text.contains(&format!("      - x{n} = {n}")));
        }
        let one = chunks(&change, &FileFilter::default(), 100_000);
        assert_eq!(one.len(), 1);
        assert!(
            one[0].text.starts_with("File: big.py (modified)"),
            "{}",
            one[0].text
        );
    }
}
