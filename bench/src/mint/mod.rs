//! MINT (Wang et al., 2024): multi-turn tasks in which the model may run
//! Python before it proposes a solution, optionally guided by a simulated
//! user's feedback, judged by the reference's success checks.
//!
//! The protocol as its reference code runs it (`shared/docs/PROTOCOLS.md`):
//!
//! 1. **Data** ([`data`]): the seven non-AlfWorld sets in the upstream
//!    layout (`data/processed/<set>/test_prompts.json`) or as `<set>.jsonl`.
//! 2. **An episode** ([`episode`], a hone graph, so it is checkpointed,
//!    resumable and traced): the model's turns ([`turn`]: `<execute>` runs
//!    code, `<solution>` proposes), a persistent Python session per episode
//!    in the sandbox ([`python`]), the countdown, the caps (k steps, p
//!    proposals), and the feedback model when on.
//! 3. **Success checks** ([`check`]): per set, quirks included; code and
//!    TheoremQA's evaluation run in the sandbox, never on the host.
//! 4. **Figures** ([`metrics`]): SR per set, per family and overall, with
//!    intervals; termination reasons; SR against k with its slope, and
//!    the page that draws it ([`report`]).
//!
//! The CLI is `hone bench run mint --data DIR --k 1-5 --out DIR`.
//!
//! ```
//! use hone_bench::mint::data::{family, Family};
//! use hone_bench::mint::episode::Episode;
//! assert_eq!(family("theoremqa"), Family::Reasoning);
//! assert_eq!(Episode::proposals_for(1), 1);
//! assert_eq!(Episode::proposals_for(5), 2);
//! ```

pub mod check;
pub mod data;
pub mod episode;
pub mod metrics;
pub mod python;
mod record;
pub mod report;
pub mod run;
pub mod turn;

pub use record::{MintHeader, MintRecord};
