//! A change read from a git repository through libgit2 (the `git2` crate):
//! both sides' file contents come from the object database (or the working
//! tree), never from parsing `git` porcelain output.
//!
//! * `base`: a revision, default the merge base of `HEAD` with the default
//!   branch (`origin/HEAD`'s target, else `main`, else `master`; `HEAD`
//!   itself when none exists).
//! * `head`: a revision, default the working tree (tracked files with their
//!   uncommitted edits, plus untracked files that are not ignored).
//!
//! Renames are detected as `git diff -M` does. Each file is then diffed
//! from its two full contents with 3 lines of context.

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

use crate::change::{Change, FileChange, FileStatus};
use crate::diff::diff_texts;

/// Why a repository's change could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// libgit2 failed.
    #[error("{context}: {source}")]
    Git {
        /// What was being done.
        context: String,
        /// libgit2's error.
        #[source]
        source: git2::Error,
    },
    /// A working-tree file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn ctx(context: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let context = context.into();
    move |source| GitError::Git { context, source }
}

/// The revisions a review compares, as resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revisions {
    /// The base commit.
    pub base: String,
    /// The head commit, `None` for the working tree.
    pub head: Option<String>,
}

fn default_branch(repo: &Repository) -> Option<Oid> {
    for name in [
        "refs/remotes/origin/HEAD",
        "refs/heads/main",
        "refs/heads/master",
    ] {
        if let Ok(r) = repo.find_reference(name) {
            if let Ok(c) = r.peel_to_commit() {
                return Some(c.id());
            }
        }
    }
    None
}

/// Reads the change in the repository containing `dir` from `base` to
/// `head` (see the module docs for the defaults).
pub fn change_in_repository(
    dir: &Path,
    base: Option<&str>,
    head: Option<&str>,
) -> Result<(Change, Revisions), GitError> {
    let repo = Repository::discover(dir)
        .map_err(ctx(format!("{} is not in a git repository", dir.display())))?;
    let commit_of = |rev: &str| -> Result<Oid, GitError> {
        let obj = repo
            .revparse_single(rev)
            .map_err(ctx(format!("revision {rev:?}")))?;
        let commit = obj
            .peel_to_commit()
            .map_err(ctx(format!("revision {rev:?} is not a commit")))?;
        Ok(commit.id())
    };
    let head_oid = head.map(commit_of).transpose()?;
    let base_oid = match base {
        Some(b) => commit_of(b)?,
        None => {
            let tip = match head_oid {
                Some(h) => h,
                None => commit_of("HEAD")?,
            };
            match default_branch(&repo) {
                Some(branch) => repo
                    .merge_base(tip, branch)
                    .map_err(ctx("finding the merge base with the default branch"))?,
                None => tip,
            }
        }
    };
    let base_tree = repo
        .find_commit(base_oid)
        .and_then(|c| c.tree())
        .map_err(ctx("reading the base tree"))?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let mut diff = match head_oid {
        Some(h) => {
            let tree = repo
                .find_commit(h)
                .and_then(|c| c.tree())
                .map_err(ctx("reading the head tree"))?;
            repo.diff_tree_to_tree(Some(&base_tree), Some(&tree), Some(&mut opts))
        }
        None => repo.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut opts)),
    }
    .map_err(ctx("diffing"))?;
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find))
        .map_err(ctx("finding renames"))?;
    let workdir = repo.workdir().map(Path::to_path_buf);
    let blob_text = |oid: Oid| -> Result<Option<Vec<u8>>, GitError> {
        if oid.is_zero() {
            return Ok(None);
        }
        let blob = repo
            .find_blob(oid)
            .map_err(ctx(format!("reading blob {oid}")))?;
        Ok(Some(blob.content().to_vec()))
    };
    let mut files = Vec::new();
    for delta in diff.deltas() {
        let status = match delta.status() {
            Delta::Added | Delta::Untracked => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Renamed => FileStatus::Renamed,
            Delta::Copied => FileStatus::Copied,
            Delta::Modified | Delta::Typechange => FileStatus::Modified,
            _ => continue,
        };
        let old_path = delta
            .old_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        let new_path = delta
            .new_file()
            .path()
            .map(|p| p.to_string_lossy().into_owned());
        let old = match status {
            FileStatus::Added => None,
            _ => blob_text(delta.old_file().id())?,
        };
        let new = match status {
            FileStatus::Deleted => None,
            _ => match (head_oid, &workdir, &new_path) {
                (None, Some(root), Some(p)) => {
                    let full = root.join(p);
                    if full.is_dir() {
                        continue; // a submodule or nested repository
                    }
                    Some(std::fs::read(&full).map_err(|source| GitError::Read {
                        path: full.display().to_string(),
                        source,
                    })?)
                }
                _ => blob_text(delta.new_file().id())?,
            },
        };
        let (om, nm) = (
            u32::from(delta.old_file().mode()),
            u32::from(delta.new_file().mode()),
        );
        let mode_change = (om != 0 && nm != 0 && om != nm).then_some((om, nm));
        let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8(b.clone()));
        let binary = delta.flags().is_binary()
            || matches!(text(&old), Some(Err(_)))
            || matches!(text(&new), Some(Err(_)))
            || old.as_ref().is_some_and(|b| b.contains(&0))
            || new.as_ref().is_some_and(|b| b.contains(&0));
        if binary {
            files.push(FileChange {
                old_path: (status != FileStatus::Added).then_some(old_path).flatten(),
                new_path: (status != FileStatus::Deleted)
                    .then_some(new_path)
                    .flatten(),
                status,
                binary: true,
                mode_change,
                old_text: None,
                new_text: None,
                hunks: Vec::new(),
            });
            continue;
        }
        let old_s = old.map(|b| String::from_utf8_lossy(&b).into_owned());
        let new_s = new.map(|b| String::from_utf8_lossy(&b).into_owned());
        let mut file = diff_texts(
            old_s
                .as_deref()
                .zip(old_path.as_deref())
                .map(|(t, p)| (p, t)),
            new_s
                .as_deref()
                .zip(new_path.as_deref())
                .map(|(t, p)| (p, t)),
        )
        .map_err(|e| GitError::Git {
            context: e.to_string(),
            source: git2::Error::from_str("diff"),
        })?;
        file.status = status;
        file.mode_change = mode_change;
        if old_s == new_s && mode_change.is_none() && status == FileStatus::Modified {
            continue;
        }
        files.push(file);
    }
    Ok((
        Change { files },
        Revisions {
            base: base_oid.to_string(),
            head: head_oid.map(|h| h.to_string()),
        },
    ))
}
