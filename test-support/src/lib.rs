//! Test scaffolding shared by hone's crates, as a dev-dependency (never a
//! dependency of a published crate).
//!
//! - [`fake_openai`]: a real HTTP/1.1 server on loopback that speaks
//!   enough of the chat-completions protocol to test clients.
//! - [`files()`]: walking the files a run wrote.

pub mod fake_openai;
pub mod files;

pub use fake_openai::{FakeServer, Reply, ReplyBody, SeenRequest};
pub use files::files;
