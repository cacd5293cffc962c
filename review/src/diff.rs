//! Unified diffs in, [`Change`]s out — through libgit2's own patch parser
//! and differ (the `git2` crate), so renames, deletions, binary files, mode
//! changes and "\ No newline at end of file" are read the way git writes
//! them.
//!
//! ```
//! use hone_review::diff::parse_unified;
//!
//! let diff = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def f(x):\n-    return x + 1\n+    return x - 1\n";
//! let change = parse_unified(diff).unwrap();
//! assert_eq!(change.files[0].path(), "m.py");
//! assert_eq!(change.files[0].hunks[0].added().collect::<Vec<_>>(), [2]);
//! ```
//!
//! A diff alone shows only the lines around each hunk. [`with_root`] reads
//! each file's new contents from a directory (the checkout at the head of
//! the change), checks that the diff matches them, and rebuilds the old
//! contents by undoing the hunks — which is what running a finding's test
//! against the old code needs.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions, Patch};

use crate::change::{Change, DiffLine, FileChange, FileStatus, Hunk, LineKind};

/// Why a diff could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// libgit2 could not parse the text as a diff.
    #[error("not a unified diff that git can read: {0}")]
    Parse(#[source] git2::Error),
    /// The differ failed.
    #[error("diffing {path}: {source}")]
    Diff {
        /// The file.
        path: String,
        /// What libgit2 said.
        #[source]
        source: git2::Error,
    },
    /// A file the diff names is not under `--root`.
    #[error("{path}: the diff changes this file, but it cannot be read: {source}")]
    Read {
        /// The file under the root.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file under `--root` does not match the diff's new side.
    #[error("{path}:{line}: the diff's new side says {expected:?}, the file has {found:?} (is --root the head of this diff?)")]
    Mismatch {
        /// The file under the root.
        path: PathBuf,
        /// The 1-based line.
        line: u32,
        /// The diff's line.
        expected: String,
        /// The file's line.
        found: String,
    },
}

fn options(context: u32) -> DiffOptions {
    let mut opts = DiffOptions::new();
    opts.context_lines(context);
    opts
}

/// Text of a diff line without its line ending.
fn text_of(content: &[u8]) -> String {
    let text = String::from_utf8_lossy(content);
    text.strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_string()
}

fn hunks_of(patch: &Patch<'_>) -> Result<Vec<Hunk>, git2::Error> {
    let mut hunks = Vec::new();
    for h in 0..patch.num_hunks() {
        let (hunk, count) = patch.hunk(h)?;
        let mut lines = Vec::with_capacity(count);
        for l in 0..count {
            let line = patch.line_in_hunk(h, l)?;
            let kind = match line.origin() {
                ' ' => LineKind::Context,
                '+' => LineKind::Added,
                '-' => LineKind::Removed,
                // '=', '>', '<': the end-of-file newline markers, not lines.
                _ => continue,
            };
            lines.push(DiffLine {
                kind,
                old_line: line.old_lineno(),
                new_line: line.new_lineno(),
                text: text_of(line.content()),
            });
        }
        hunks.push(Hunk {
            old_start: hunk.old_start(),
            old_lines: hunk.old_lines(),
            new_start: hunk.new_start(),
            new_lines: hunk.new_lines(),
            lines,
        });
    }
    Ok(hunks)
}

fn path_string(path: Option<&Path>) -> Option<String> {
    path.map(|p| p.to_string_lossy().replace('\\', "/"))
}

/// Parses a unified diff (git's format, or plain `diff -u` output) into a
/// [`Change`] without file contents.
pub fn parse_unified(text: &str) -> Result<Change, DiffError> {
    let text = with_git_headers(text);
    let diff = git2::Diff::from_buffer(text.as_bytes()).map_err(DiffError::Parse)?;
    let mut files = Vec::new();
    for (index, delta) in diff.deltas().enumerate() {
        let status = match delta.status() {
            Delta::Added | Delta::Untracked => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Renamed => FileStatus::Renamed,
            Delta::Copied => FileStatus::Copied,
            _ => FileStatus::Modified,
        };
        let old_path = (status != FileStatus::Added)
            .then(|| path_string(delta.old_file().path()))
            .flatten();
        let new_path = (status != FileStatus::Deleted)
            .then(|| path_string(delta.new_file().path()))
            .flatten();
        let (old_mode, new_mode) = (
            u32::from(delta.old_file().mode()),
            u32::from(delta.new_file().mode()),
        );
        let patch = Patch::from_diff(&diff, index).map_err(DiffError::Parse)?;
        let binary = delta.flags().is_binary() || patch.is_none();
        let hunks = match &patch {
            Some(p) => hunks_of(p).map_err(DiffError::Parse)?,
            None => Vec::new(),
        };
        files.push(FileChange {
            old_path,
            new_path,
            status,
            binary: binary && hunks.is_empty() && status_has_content(&delta),
            mode_change: (old_mode != 0 && new_mode != 0 && old_mode != new_mode)
                .then_some((old_mode, new_mode)),
            old_text: None,
            new_text: None,
            hunks,
        });
    }
    Ok(Change { files })
}

/// A path of a traditional `---`/`+++` header: without the timestamp
/// `diff -u` appends and without git's `a/`/`b/` prefix.
fn header_path(line: &str) -> &str {
    let path = line[4..].split('\t').next().unwrap_or("").trim_end();
    path.strip_prefix("a/")
        .or_else(|| path.strip_prefix("b/"))
        .unwrap_or(path)
}

/// libgit2 reads git's format only: a plain `diff -u` file pair (`---` then
/// `+++` with no `diff --git` line before it) gets one.
fn with_git_headers(text: &str) -> std::borrow::Cow<'_, str> {
    if text.lines().any(|l| l.starts_with("diff --git ")) {
        return std::borrow::Cow::Borrowed(text);
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len() + 64);
    let mut i = 0;
    while i < lines.len() {
        let (line, next) = (lines[i], lines.get(i + 1).copied().unwrap_or(""));
        if !(line.starts_with("--- ") && next.starts_with("+++ ")) {
            out.push_str(line);
            i += 1;
            continue;
        }
        // git's own header for the pair, and the pair in git's spelling.
        match (header_path(line), header_path(next)) {
            ("/dev/null", n) => out.push_str(&format!(
                "diff --git a/{n} b/{n}\nnew file mode 100644\n--- /dev/null\n+++ b/{n}\n"
            )),
            (o, "/dev/null") => out.push_str(&format!(
                "diff --git a/{o} b/{o}\ndeleted file mode 100644\n--- a/{o}\n+++ /dev/null\n"
            )),
            (o, n) => out.push_str(&format!("diff --git a/{o} b/{n}\n--- a/{o}\n+++ b/{n}\n")),
        }
        i += 2;
    }
    std::borrow::Cow::Owned(out)
}

/// A delta with no hunks is binary only when its content changed (a pure
/// rename or mode change has no hunks either).
fn status_has_content(delta: &git2::DiffDelta<'_>) -> bool {
    delta.flags().is_binary() || delta.old_file().is_binary() || delta.new_file().is_binary()
}

/// The change of one file from `old` to `new` (`(path, contents)`; `None`
/// for an added or deleted file), with full contents and 3 lines of
/// context.
pub fn diff_texts(
    old: Option<(&str, &str)>,
    new: Option<(&str, &str)>,
) -> Result<FileChange, DiffError> {
    let old_path = old.map(|(p, _)| p.to_string());
    let new_path = new.map(|(p, _)| p.to_string());
    let name = new_path.clone().or(old_path.clone()).unwrap_or_default();
    let (old_bytes, new_bytes) = (
        old.map_or(&b""[..], |(_, t)| t.as_bytes()),
        new.map_or(&b""[..], |(_, t)| t.as_bytes()),
    );
    let mut opts = options(3);
    let patch = Patch::from_buffers(
        old_bytes,
        old.map(|(p, _)| Path::new(p)),
        new_bytes,
        new.map(|(p, _)| Path::new(p)),
        Some(&mut opts),
    )
    .map_err(|source| DiffError::Diff {
        path: name.clone(),
        source,
    })?;
    let binary = patch.delta().flags().is_binary();
    let hunks = if binary {
        Vec::new()
    } else {
        hunks_of(&patch).map_err(|source| DiffError::Diff { path: name, source })?
    };
    let status = match (&old_path, &new_path) {
        (None, _) => FileStatus::Added,
        (_, None) => FileStatus::Deleted,
        (Some(a), Some(b)) if a != b => FileStatus::Renamed,
        _ => FileStatus::Modified,
    };
    Ok(FileChange {
        old_path,
        new_path,
        status,
        binary,
        mode_change: None,
        old_text: old.map(|(_, t)| t.to_string()),
        new_text: new.map(|(_, t)| t.to_string()),
        hunks,
    })
}

/// Fills in each file's contents from `root` (the new side, checked against
/// the diff) and rebuilds the old side by undoing the hunks.
pub fn with_root(mut change: Change, root: &Path) -> Result<Change, DiffError> {
    for file in &mut change.files {
        if file.binary {
            continue;
        }
        if file.status == FileStatus::Deleted {
            // A deletion's hunk is the whole old file.
            file.old_text = Some(side_from_hunks(&file.hunks, |l| l.kind != LineKind::Added));
            continue;
        }
        let path = root.join(file.path());
        let new_text = std::fs::read_to_string(&path).map_err(|source| DiffError::Read {
            path: path.clone(),
            source,
        })?;
        let new_lines: Vec<&str> = new_text.lines().collect();
        for line in file.hunks.iter().flat_map(|h| h.lines.iter()) {
            if let Some(n) = line.new_line {
                let found = new_lines
                    .get(n as usize - 1)
                    .copied()
                    .unwrap_or("<end of file>");
                if found.trim_end() != line.text.trim_end() {
                    return Err(DiffError::Mismatch {
                        path,
                        line: n,
                        expected: line.text.clone(),
                        found: found.to_string(),
                    });
                }
            }
        }
        file.old_text = match file.status {
            FileStatus::Added => None,
            _ => Some(undo_hunks(
                &new_lines,
                &file.hunks,
                new_text.ends_with('\n'),
            )),
        };
        file.new_text = Some(new_text);
    }
    Ok(change)
}

fn side_from_hunks(hunks: &[Hunk], keep: impl Fn(&DiffLine) -> bool) -> String {
    let mut out = String::new();
    for line in hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter(|l| keep(l))
    {
        out.push_str(&line.text);
        out.push('\n');
    }
    out
}

/// The old file: the new lines with each hunk's new side replaced by its
/// old side.
fn undo_hunks(new_lines: &[&str], hunks: &[Hunk], trailing_newline: bool) -> String {
    let mut out: Vec<String> = Vec::with_capacity(new_lines.len());
    let mut next = 1u32; // next new-side line to copy
    for hunk in hunks {
        // A hunk with no new lines sits after line `new_start`.
        let first = if hunk.new_lines == 0 {
            hunk.new_start + 1
        } else {
            hunk.new_start
        };
        while next < first {
            out.push(
                new_lines
                    .get(next as usize - 1)
                    .copied()
                    .unwrap_or("")
                    .to_string(),
            );
            next += 1;
        }
        for line in &hunk.lines {
            if line.kind != LineKind::Added {
                out.push(line.text.clone());
            }
        }
        next = first + hunk.new_lines;
    }
    while (next as usize) <= new_lines.len() {
        out.push(new_lines[next as usize - 1].to_string());
        next += 1;
    }
    let mut text = out.join("\n");
    if trailing_newline && !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str =
        "def f(x):\n    if x > 0:\n        return x\n    return -x\n\n\ndef g():\n    return 1\n";
    const NEW: &str =
        "def f(x):\n    if x >= 0:\n        return x\n    return -x\n\n\ndef g():\n    return 2\n";

    #[test]
    fn undoing_hunks_gives_back_the_old_file() {
        let file = diff_texts(Some(("m.py", OLD)), Some(("m.py", NEW))).unwrap();
        assert!(!file.hunks.is_empty());
        let lines: Vec<&str> = NEW.lines().collect();
        assert_eq!(undo_hunks(&lines, &file.hunks, true), OLD);
    }

    #[test]
    fn a_diff_with_root_rebuilds_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.py"), NEW).unwrap();
        let text = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,4 +1,4 @@\n def f(x):\n-    if x > 0:\n+    if x >= 0:\n         return x\n     return -x\n@@ -5,4 +5,4 @@\n \n \n def g():\n-    return 1\n+    return 2\n";
        let change = with_root(parse_unified(text).unwrap(), dir.path()).unwrap();
        let file = &change.files[0];
        assert_eq!(file.old_text.as_deref(), Some(OLD));
        assert_eq!(file.new_text.as_deref(), Some(NEW));
        assert_eq!(change.line_counts(), (2, 2));
    }

    #[test]
    fn renames_deletions_binaries_modes_and_missing_newlines_are_read() {
        let text = "diff --git a/old.py b/new.py\nsimilarity index 100%\nrename from old.py\nrename to new.py\n\
diff --git a/gone.py b/gone.py\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n\
diff --git a/logo.png b/logo.png\nindex 2222222..3333333 100644\nBinary files a/logo.png and b/logo.png differ\n\
diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n\
diff --git a/m.py b/m.py\nindex 4444444..5555555 100644\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a = 1\n\\ No newline at end of file\n+a = 2\n\\ No newline at end of file\n";
        let change = parse_unified(text).unwrap();
        let by = |p: &str| change.file(p).unwrap_or_else(|| panic!("{p}: {change:#?}"));
        assert_eq!(by("new.py").status, FileStatus::Renamed);
        assert_eq!(by("new.py").old_path.as_deref(), Some("old.py"));
        assert!(!by("new.py").reviewable());
        assert_eq!(by("gone.py").status, FileStatus::Deleted);
        assert!(!by("gone.py").reviewable());
        assert!(by("logo.png").binary && !by("logo.png").reviewable());
        assert_eq!(by("run.sh").mode_change, Some((0o100644, 0o100755)));
        let m = by("m.py");
        assert_eq!(m.hunks[0].lines.len(), 2, "{m:#?}");
        assert_eq!(m.hunks[0].lines[1].text, "a = 2");
        assert!(m.reviewable());
    }

    #[test]
    fn a_plain_diff_u_is_read_too() {
        let text = "--- m.py\t2026-01-01 00:00:00\n+++ m.py\t2026-01-02 00:00:00\n@@ -1 +1 @@\n-a = 1\n+a = 2\n";
        let change = parse_unified(text).unwrap();
        assert_eq!(change.files.len(), 1);
        assert_eq!(change.files[0].path(), "m.py");
    }

    #[test]
    fn a_root_that_is_not_the_head_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.py"), OLD).unwrap();
        let text = "--- a/m.py\n+++ b/m.py\n@@ -2 +2 @@\n-    if x > 0:\n+    if x >= 0:\n";
        let err = with_root(parse_unified(text).unwrap(), dir.path()).unwrap_err();
        assert!(err.to_string().contains("m.py:2"), "{err}");
    }
}
