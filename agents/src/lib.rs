//! Placeholder while the crate is built up; see ARCHITECTURE.md.
