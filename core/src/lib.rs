//! # hone-core
//!
//! The foundation of hone, a framework for critique-and-refine agents:
//!
//! - [`Message`], [`ChatRequest`], [`ChatResponse`] and the provider-agnostic
//!   [`LanguageModel`] trait, with backends: [`openai`] (any OpenAI-compatible
//!   endpoint) and [`ScriptedModel`] (a test double).
//! - [`cache::CachedModel`]: a content-addressed response cache on disk.
//! - [`budget`]: explicit limits (calls, tokens, wall time, steps) and usage
//!   accounting.
//! - [`templates`]: prompt templates (minijinja, strict undefined).
//! - [`graph`]: a graph runtime over typed, serialisable state, with routers,
//!   fan-out/fan-in, events, tracing spans and exact resume from a JSONL run log.
//!
//! A library user can depend on `hone-core` alone.

#![warn(missing_docs)]

pub mod message;
pub mod model;
pub mod scripted;
pub mod secret;

pub use message::{Message, Role, ToolCall, ToolSpec};
pub use model::{
    ChatRequest, ChatResponse, ChatStream, Choice, FinishReason, LanguageModel, ModelDescriptor,
    ModelError, ResponseFormat, Sampling, StreamEvent, ToolChoice, Usage,
};
pub use scripted::ScriptedModel;
pub use secret::ApiKey;
pub mod budget;
pub mod cache;
#[cfg(feature = "openai")]
pub mod openai;
pub mod templates;
pub mod wheels;

pub use budget::{Budget, BudgetKind, BudgetTracker, Exhausted, UsageCount, UsageLedger};
pub mod config;
pub mod file_lock;
pub mod graph;
