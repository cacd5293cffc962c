//! # hone-agents
//!
//! Agent roles and search strategies built on [`hone_core`]'s graph runtime.
//! Currently: [`refine`], the self-refine loop (actor → critic → refiner).

#![warn(missing_docs)]

pub mod refine;
