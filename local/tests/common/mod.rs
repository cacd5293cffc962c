//! Shared helpers for tests that need a real model.

#![allow(dead_code)]

pub mod http;

use std::path::PathBuf;

use hone_local::provision::{locate, SMOLLM2_135M};

/// The provisioned SmolLM2 file. Panics with instructions when it is
/// missing: tests that need a model must fail, never pass vacuously.
pub fn smollm2_path() -> PathBuf {
    let cache = hone_local::default_cache_dir();
    match locate(&SMOLLM2_135M, &cache) {
        Some(path) => path,
        None => panic!(
            "the test model {} is not provisioned in {}.\n\
             Fetch it first: `cargo run -p hone-local --example fetch -- smollm2-135m` \
             (or `hone model fetch smollm2-135m`); set HONE_CACHE_DIR to use another cache.",
            SMOLLM2_135M.name,
            cache.display()
        ),
    }
}
