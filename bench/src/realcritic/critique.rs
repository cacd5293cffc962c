//! Reading a critique: its conclusion and its correction.
//!
//! The reference only extracts the final answer of a critique. hone also
//! reads what the critic concluded (correct or incorrect, and the first
//! wrong step) and the correction it wrote between the delimiters, so a run
//! can say how often a critic that called a solution wrong also fixed it.
//! None of this changes the score, which comes from the final answer alone.
//!
//! ```
//! use hone_bench::realcritic::critique::parse_critique;
//! let text = "Step 1 is right. Step 2 adds wrongly.\n\
//!             Conclusion: incorrect, first wrong step: 2\n\
//!             ===CORRECTION_START===\n2 + 2 = 4, so \\boxed{4}\n===CORRECTION_END===";
//! let c = parse_critique(text);
//! assert_eq!(c.says_correct, Some(false));
//! assert_eq!(c.first_wrong_step, Some(2));
//! assert_eq!(c.correction.as_deref(), Some("2 + 2 = 4, so \\boxed{4}"));
//! ```

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What a critique concluded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Critique {
    /// Whether the critic called the solution correct (`None`: it gave no
    /// conclusion hone could read).
    pub says_correct: Option<bool>,
    /// The first wrong step it named (`-1`: none).
    pub first_wrong_step: Option<i64>,
    /// The correction between `===CORRECTION_START===` and
    /// `===CORRECTION_END===` (an unterminated one runs to the end).
    pub correction: Option<String>,
}

static CONCLUSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)conclusion\W*(?:the solution is\s*)?\**\s*\[?(correct|incorrect|wrong)\b")
        .expect("regex")
});
static STEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)first (?:wrong|incorrect|erroneous) step[^\w-]*(-?\d+)").expect("regex")
});

/// Reads `text`'s conclusion and correction (the last conclusion counts).
pub fn parse_critique(text: &str) -> Critique {
    let says_correct = CONCLUSION
        .captures_iter(text)
        .last()
        .map(|c| c[1].eq_ignore_ascii_case("correct"));
    let first_wrong_step = STEP
        .captures_iter(text)
        .last()
        .and_then(|c| c[1].parse().ok());
    let correction = text
        .rsplit_once("===CORRECTION_START===")
        .map(|(_, rest)| {
            rest.split("===CORRECTION_END===")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .filter(|c| !c.is_empty());
    Critique {
        says_correct,
        first_wrong_step,
        correction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_has_no_correction() {
        let c = parse_critique("All steps check out.\nConclusion: correct, first wrong step: -1\nThe answer is \\boxed{5}.");
        assert_eq!(c.says_correct, Some(true));
        assert_eq!(c.first_wrong_step, Some(-1));
        assert_eq!(c.correction, None);
    }

    #[test]
    fn an_unterminated_correction_runs_to_the_end_and_no_conclusion_is_none() {
        let c = parse_critique("Hmm.\n===CORRECTION_START===\nredo: \\boxed{7}");
        assert_eq!(c.says_correct, None);
        assert_eq!(c.correction.as_deref(), Some("redo: \\boxed{7}"));
    }
}
