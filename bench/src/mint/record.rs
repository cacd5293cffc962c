//! What a MINT run directory records: its header and, per episode, the
//! protocol's own fields next to the usual result.

use std::collections::BTreeMap;

use hone_core::templates::Templates;
use serde::{Deserialize, Serialize};

use super::data::Family;
use super::episode::{Feedback, Termination};
use crate::results::DirHeader;

/// `header.json` of a MINT run (one k per run, as the reference runs it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintHeader {
    /// Always `mint`.
    pub protocol: String,
    /// hone's version.
    pub hone_version: String,
    /// The git revision hone was built from, when known.
    pub git_revision: Option<String>,
    /// Chances to act.
    pub k: u32,
    /// Most proposals.
    pub max_proposals: u32,
    /// The feedback mode.
    pub feedback: Feedback,
    /// Whether hone's own checks decide the episodes (`--strict-checks`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict_checks: bool,
    /// The feedback model's identity (when feedback is on).
    pub feedback_model: Option<String>,
    /// The sets run, in order.
    pub sets: Vec<String>,
    /// sha256 of the data read.
    pub dataset_sha256: String,
    /// `--limit`: most tasks per set, when given.
    pub limit_per_set: Option<usize>,
    /// The evaluated model's identity.
    pub model: String,
    /// sha256 of the local model's GGUF file, when local.
    pub model_sha256: Option<String>,
    /// sha256 of each `mint_*` template's source.
    pub templates: BTreeMap<String, String>,
    /// The shard this directory holds (`--shard i/n`), if sharded;
    /// `hone bench merge` combines the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::results::Shard>,
}

impl MintHeader {
    /// The sha256 of every `mint_*` template of `templates`.
    pub fn template_hashes(templates: &Templates) -> BTreeMap<String, String> {
        crate::results::template_hashes(templates, "mint_")
    }
}

impl DirHeader for MintHeader {
    fn run_differences(&self, other: &Self) -> Vec<String> {
        crate::results::json_differences(self, other)
    }
}

/// MINT's fields of one episode's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MintRecord {
    /// The task's set.
    pub set: String,
    /// Its family.
    pub family: Family,
    /// How the episode ended.
    pub termination: Termination,
    /// Proposals made.
    pub proposals: u32,
    /// Code cells run.
    pub tool_uses: u32,
    /// Turns with neither tag.
    pub invalid: u32,
    /// Turns that got feedback.
    pub feedback_turns: u32,
    /// The other checker's verdict on the last proposal (hone's own when the
    /// reference's decided the episode, and the other way round), so the
    /// quirks' effect shows; absent when nothing was proposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_check: Option<bool>,
}
