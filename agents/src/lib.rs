//! # hone-agents
//!
//! Agent roles and search strategies built on [`hone_core`]'s graph runtime:
//!
//! - [`refine`]: the shared state of linear strategies, single-shot and
//!   self-refine (actor → verify → critic → refiner).
//! - [`reflexion`]: trials with verbal reflections in an episodic memory.
//! - [`best_of_n`]: n samples, verifier selection.
//! - [`mcts`]: RethinkMCTS, tree search over thoughts with rethinking.
//! - [`verify`]: execution, math and design verifiers.
//! - [`judge`]: the rubric critic and the order-swapping pairwise judge.

#![warn(missing_docs)]

pub mod best_of_n;
pub mod judge;
pub mod mcts;
pub mod refine;
pub mod reflexion;
pub mod verify;
