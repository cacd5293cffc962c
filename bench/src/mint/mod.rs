//! MINT (Wang et al., 2024): multi-turn tasks where the model may run
//! Python before it proposes a solution, judged by the reference's success
//! checks.
//!
//! This part of hone holds the protocol's data ([`data`]: the seven
//! non-AlfWorld sets in the upstream layout or as `<set>.jsonl`) and its
//! success checks ([`check`]: per set, quirks included, with code and
//! TheoremQA's evaluation in the sandbox, never on the host). The episode
//! loop (turn parsing, the persistent Python session, the countdown, the
//! feedback model) and `hone bench run mint` build on them and are still
//! to come; see `shared/docs/PROTOCOLS.md` for the rules they follow.
//!
//! ```
//! use hone_bench::mint::data::{family, Family};
//! assert_eq!(family("theoremqa"), Family::Reasoning);
//! assert_eq!(family("humaneval"), Family::Code);
//! ```

pub mod check;
pub mod data;
