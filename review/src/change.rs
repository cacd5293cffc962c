//! What a review looks at: a change, as files with hunks, and — where hone
//! has them — both sides' full contents.
//!
//! Every source of a change ([`crate::diff`] for a unified diff,
//! [`crate::git`] for a repository, [`Change::from_files`] for two sets of
//! files) produces the same [`Change`], so everything downstream (chunks,
//! anchoring, execution) has one input.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Unchanged, shown for context.
    Context,
    /// Added on the new side.
    Added,
    /// Removed from the old side.
    Removed,
}

/// A line of a hunk with its numbers on each side (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// Context, added or removed.
    pub kind: LineKind,
    /// Its number in the old file (context and removed lines).
    pub old_line: Option<u32>,
    /// Its number in the new file (context and added lines).
    pub new_line: Option<u32>,
    /// The text, without its line ending.
    pub text: String,
}

/// A hunk: a run of changed lines with their context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    /// First old-side line.
    pub old_start: u32,
    /// Old-side line count.
    pub old_lines: u32,
    /// First new-side line.
    pub new_start: u32,
    /// New-side line count.
    pub new_lines: u32,
    /// The lines, in order.
    pub lines: Vec<DiffLine>,
}

impl Hunk {
    /// Whether new-side lines `start..=end` all lie in this hunk, which is
    /// where GitHub accepts a review comment on the new side.
    pub fn contains_new(&self, start: u32, end: u32) -> bool {
        self.new_lines > 0
            && start >= self.new_start
            && end < self.new_start + self.new_lines
            && start <= end
    }

    /// New-side numbers of the added lines.
    pub fn added(&self) -> impl Iterator<Item = u32> + '_ {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Added)
            .filter_map(|l| l.new_line)
    }
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// New file.
    Added,
    /// File removed.
    Deleted,
    /// Contents (or mode) changed in place.
    Modified,
    /// Moved, perhaps also edited.
    Renamed,
    /// Copied from another file.
    Copied,
}

impl FileStatus {
    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Added => "added",
            FileStatus::Deleted => "deleted",
            FileStatus::Modified => "modified",
            FileStatus::Renamed => "renamed",
            FileStatus::Copied => "copied",
        }
    }
}

/// One file of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Path before (absent for an added file).
    pub old_path: Option<String>,
    /// Path after (absent for a deleted file).
    pub new_path: Option<String>,
    /// Added, deleted, modified, renamed or copied.
    pub status: FileStatus,
    /// A binary file: no hunks, never reviewed.
    pub binary: bool,
    /// File modes (e.g. `0o100644`) when they changed.
    pub mode_change: Option<(u32, u32)>,
    /// The full old contents, when known.
    pub old_text: Option<String>,
    /// The full new contents, when known.
    pub new_text: Option<String>,
    /// The hunks (none for a pure rename, mode change or binary file).
    pub hunks: Vec<Hunk>,
}

impl FileChange {
    /// The path a reviewer names: the new one, else the old one.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }

    /// Whether the file has new-side lines a comment could sit on.
    pub fn reviewable(&self) -> bool {
        !self.binary
            && self.status != FileStatus::Deleted
            && self.hunks.iter().any(|h| h.new_lines > 0)
    }

    /// The hunk holding new-side lines `start..=end`, if one does.
    pub fn hunk_with(&self, start: u32, end: u32) -> Option<&Hunk> {
        self.hunks.iter().find(|h| h.contains_new(start, end))
    }

    /// The new side's lines as `(number, text)`: the whole file when its
    /// contents are known, else the lines the hunks show.
    pub fn new_side(&self) -> Vec<(u32, String)> {
        match &self.new_text {
            Some(text) => text
                .lines()
                .enumerate()
                .map(|(i, l)| (i as u32 + 1, l.to_string()))
                .collect(),
            None => self
                .hunks
                .iter()
                .flat_map(|h| h.lines.iter())
                .filter_map(|l| l.new_line.map(|n| (n, l.text.clone())))
                .collect(),
        }
    }

    /// The language of the new file by extension, when hone can run it.
    pub fn language(&self) -> Option<hone_sandbox::Language> {
        let path = self.path();
        let ext = path.rsplit_once('.').map(|(_, e)| e)?;
        match ext {
            "py" => Some(hone_sandbox::Language::Python),
            "js" | "mjs" | "cjs" => Some(hone_sandbox::Language::JavaScript),
            _ => None,
        }
    }
}

/// A change: the files it touches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The files, in the order the source lists them.
    pub files: Vec<FileChange>,
}

impl Change {
    /// The change from `before` to `after` (path → contents; a path on one
    /// side only is an added or deleted file), diffed with 3 lines of
    /// context as GitHub shows a pull request.
    pub fn from_files(
        before: &BTreeMap<String, String>,
        after: &BTreeMap<String, String>,
    ) -> Result<Change, crate::diff::DiffError> {
        let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
        paths.sort();
        paths.dedup();
        let mut files = Vec::new();
        for path in paths {
            let old = before.get(path).map(String::as_str);
            let new = after.get(path).map(String::as_str);
            if old == new {
                continue;
            }
            files.push(crate::diff::diff_texts(
                old.map(|t| (path.as_str(), t)),
                new.map(|t| (path.as_str(), t)),
            )?);
        }
        Ok(Change { files })
    }

    /// The file at new path (or old path, for a deleted file) `path`.
    pub fn file(&self, path: &str) -> Option<&FileChange> {
        self.files.iter().find(|f| f.path() == path)
    }

    /// Counts of added and removed lines.
    pub fn line_counts(&self) -> (usize, usize) {
        let lines = self
            .files
            .iter()
            .flat_map(|f| f.hunks.iter())
            .flat_map(|h| h.lines.iter());
        lines.fold((0, 0), |(a, r), l| match l.kind {
            LineKind::Added => (a + 1, r),
            LineKind::Removed => (a, r + 1),
            LineKind::Context => (a, r),
        })
    }
}
