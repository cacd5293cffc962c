//! What a RealCritic run directory records: its header and, per item, the
//! protocol's own fields next to the usual result.

use std::collections::BTreeMap;

use hone_core::templates::Templates;
use serde::{Deserialize, Serialize};

use super::hone_critics::CriticDesign;
use super::protocol::Mode;

fn is_protocol_critic(c: &CriticDesign) -> bool {
    *c == CriticDesign::Realcritic
}
use crate::results::DirHeader;

/// `header.json` of a RealCritic run: everything that makes it
/// reproducible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticHeader {
    /// Always `realcritic`.
    pub protocol: String,
    /// hone's version.
    pub hone_version: String,
    /// The git revision hone was built from, when known.
    pub git_revision: Option<String>,
    /// The mode.
    pub mode: Mode,
    /// Critique rounds (iterative mode; 1 otherwise).
    pub rounds: u32,
    /// The sets run, in order.
    pub sets: Vec<String>,
    /// sha256 of the data read (the sets' files, in order).
    pub dataset_sha256: String,
    /// `--limit`: most items per set, when given.
    pub limit_per_set: Option<usize>,
    /// Model identity: backend, name and endpoint host or file.
    pub model: String,
    /// sha256 of the local model's GGUF file, when local.
    pub model_sha256: Option<String>,
    /// Token limit per call.
    pub max_tokens: u32,
    /// Which critic writes the critique (left out for the protocol's own).
    #[serde(default, skip_serializing_if = "is_protocol_critic")]
    pub critic: CriticDesign,
    /// The post-check judge's identity, when the post-check runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_check: Option<String>,
    /// sha256 of each prompt template's source.
    pub templates: BTreeMap<String, String>,
    /// The shard this directory holds (`--shard i/n`), if sharded;
    /// `hone bench merge` combines the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::results::Shard>,
}

impl CriticHeader {
    /// The sha256 of every `realcritic_*` template of `templates` (the
    /// prompts a RealCritic run sends), for [`CriticHeader::templates`].
    pub fn template_hashes(templates: &Templates) -> BTreeMap<String, String> {
        crate::results::template_hashes(templates, "realcritic_")
    }
}

impl DirHeader for CriticHeader {
    fn run_differences(&self, other: &Self) -> Vec<String> {
        crate::results::json_differences(self, other)
    }
}

/// RealCritic's fields of one item's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticRecord {
    /// The item's set.
    pub set: String,
    /// Whether the critiqued solution was correct: the dataset's
    /// `previous_score` (cross, iterative) or the model's own direct answer
    /// as graded (self); `None` in direct mode.
    pub previous: Option<bool>,
    /// The model's direct answer, extracted (self mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_answer: Option<String>,
    /// The reference answer as compared.
    pub reference: String,
    /// The score with the strict multiple-choice extraction.
    pub strict: bool,
    /// Whether the (last) critique called the solution correct, as
    /// [`parse_critique`](super::critique::parse_critique) reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub says_correct: Option<bool>,
    /// Whether the (last) critique wrote a delimited correction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub corrected: bool,
    /// The post-check's label of the critique: `qualified`, `unqualified`,
    /// or `unreadable` (the judge said neither); absent when it did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_check: Option<String>,
    /// Whether the symbolic check ran out of time (scored wrong).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}
