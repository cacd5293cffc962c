//! Records the git revision hone is built from (for `hone bench` headers),
//! when the source is a git checkout with git installed. A build from a
//! tree with uncommitted changes to tracked files says so (`…-dirty`), so a
//! header never names a revision whose code it did not run.

/// What a build depends on: a change to any of these can change the
/// revision or whether the tree is dirty.
const WATCHED: &[&str] = &[
    ".git/HEAD",
    ".git/refs",
    ".git/packed-refs",
    ".git/index",
    "src",
    "templates",
    "Cargo.toml",
    "Cargo.lock",
    "core",
    "agents",
    "tools",
    "sandbox",
    "local",
    "review",
    "bench",
];

fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
}

fn main() {
    for path in WATCHED {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let Some(revision) = git(&["rev-parse", "--short=12", "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.trim().is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=HONE_GIT_REVISION={revision}{suffix}");
}
