//! Test scaffolding shared by hone's crates, as a dev-dependency (never a
//! dependency of a published crate).
//!
//! - [`fake_openai`]: a real HTTP/1.1 server on loopback that speaks
//!   enough of the chat-completions protocol to test clients.
//! - [`files()`]: walking the files a run wrote.
//! - [`assert_success`]: a command's exit, with its stderr when it failed;
//!   [`hone_against`]: the `hone` binary pointed at a loopback endpoint.

pub mod fake_openai;
pub mod files;
pub mod process;

pub use fake_openai::{FakeServer, Reply, ReplyBody, SeenRequest};
pub use files::files;
pub use process::{assert_success, hone_against};
