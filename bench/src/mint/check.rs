//! MINT's success checks, per set, exactly as the reference decides them,
//! quirks included (see `shared/docs/PROTOCOLS.md`):
//!
//! * **gsm8k, math, hotpotqa**: the reference as `str(ref).strip().lower()`,
//!   the answer as `solution.lower().strip()`; two numbers match within 5%
//!   of the reference (0 needs exact), anything else matches when the
//!   reference is a substring of the answer ("6 mph" matches "6"; "1,110"
//!   does not match "1110").
//! * **mmlu**: the reference letter as a substring of the answer (quirk:
//!   reference "a" accepts "the answer is b"), else option texts: an answer
//!   holding another option's text is wrong, one holding the right one's is
//!   right.
//! * **theoremqa**: the answer normalised and evaluated as a Python
//!   expression *in the sandbox*, then compared by `answer_type` (integer:
//!   round half to even; float: within 4%; lists: sorted, element-wise;
//!   bool, option: equal).
//! * **humaneval, mbpp**: `solution + "\n" + reference` (HumanEval's
//!   reference then calls `check(entry_point)`) as a fresh program in the
//!   sandbox, 10 s; it passes when it raises nothing. The entry point's
//!   annotations are read first, so names it never imported fail as they
//!   did on the reference's Python (the guest's 3.14 evaluates them
//!   lazily).
//!
//! ```
//! use hone_bench::mint::check::{mmlu_correct, reasoning_correct};
//! assert!(reasoning_correct("She walks at 6 mph", &"6".into()));
//! assert!(!reasoning_correct("1110", &"1,110".into()));
//! let prompt = "Which? Options: A ) 6 , B ) 121 , C ) 18107 , D ) 54,320";
//! assert!(mmlu_correct(prompt, "18107", "c"));
//! assert!(mmlu_correct(prompt, "the answer is b", "a")); // the quirk
//! ```

use std::time::Duration;

use hone_sandbox::{Limits, Program, Sandbox, SandboxError, Status};
use serde::Deserialize;

use super::data::MintItem;

/// The TheoremQA check's guest half.
const THEOREMQA_PY: &str = include_str!("theoremqa.py");

/// Python's `str()` of a JSON value (what the reference compares).
pub fn py_str(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::String(s) => format!("'{s}'"),
                    other => py_str(other),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(_) => value.to_string(),
    }
}

/// Python's `float()` of a stripped string, as far as answers go.
fn py_float(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// gsm8k, math, hotpotqa (see the module docs).
pub fn reasoning_correct(solution: &str, reference: &serde_json::Value) -> bool {
    let reference = py_str(reference).trim().to_lowercase();
    let answer = solution.to_lowercase().trim().to_string();
    if let (Some(r), Some(a)) = (py_float(&reference), py_float(&answer)) {
        return (r - a).abs() <= 0.05 * r.abs();
    }
    answer.contains(&reference)
}

/// The options after "Options: " in an MMLU prompt, as (letter, text),
/// lower-cased.
pub fn mmlu_options(prompt: &str) -> Vec<(String, String)> {
    let Some((_, options)) = prompt.rsplit_once("Options: ") else {
        return Vec::new();
    };
    options
        .split(" , ")
        .filter_map(|option| {
            let (letter, text) = option.split_once(')')?;
            Some((letter.trim().to_lowercase(), text.trim().to_lowercase()))
        })
        .collect()
}

/// mmlu (see the module docs).
pub fn mmlu_correct(prompt: &str, solution: &str, reference: &str) -> bool {
    let answer = solution.to_lowercase().trim().to_string();
    let reference = reference.trim().to_lowercase();
    if !reference.is_empty() && answer.contains(&reference) {
        return true;
    }
    let options = mmlu_options(prompt);
    if options
        .iter()
        .any(|(letter, text)| *letter != reference && !text.is_empty() && answer.contains(text))
    {
        return false;
    }
    options
        .iter()
        .any(|(letter, text)| *letter == reference && !text.is_empty() && answer.contains(text))
}

/// SQuAD-style normalisation: lower case, no punctuation, no articles,
/// single spaces.
fn squad_normalise(text: &str) -> String {
    let lower = text.to_lowercase();
    let cleaned: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// hotpotqa, strictly: the normalised answer equals the normalised
/// reference (exact match, not a substring).
pub fn strict_text_correct(solution: &str, reference: &serde_json::Value) -> bool {
    let answer = squad_normalise(solution);
    !answer.is_empty() && answer == squad_normalise(&py_str(reference))
}

/// mmlu, strictly: the option the answer names (a lone letter, a letter
/// with its parenthesis, or exactly one option's text) is the reference.
pub fn strict_mmlu_correct(prompt: &str, solution: &str, reference: &str) -> bool {
    let answer = solution.trim().to_lowercase();
    let reference = reference.trim().to_lowercase();
    let letter = {
        let bare =
            answer.trim_matches(|c: char| c == '(' || c == ')' || c == '.' || c.is_whitespace());
        let mut chars = bare.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if ('a'..='e').contains(&c) => Some(c.to_string()),
            (Some(c), Some(next)) if ('a'..='e').contains(&c) && !next.is_alphanumeric() => {
                Some(c.to_string())
            }
            _ => None,
        }
    };
    let chosen = letter.or_else(|| {
        let options = mmlu_options(prompt);
        let normalised = squad_normalise(&answer);
        options
            .into_iter()
            .find(|(_, text)| squad_normalise(text) == normalised)
            .map(|(l, _)| l)
    });
    chosen.as_deref() == Some(reference.as_str())
}

/// A check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Whether the proposal solves the task.
    pub correct: bool,
    /// An exception raised while checking (TheoremQA's evaluation): the
    /// episode shows it as the observation; the proposal still counts.
    pub error: Option<String>,
}

impl Checked {
    fn plain(correct: bool) -> Self {
        Checked {
            correct,
            error: None,
        }
    }
}

/// Why a check could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The sandbox could not run the check.
    #[error("running a MINT check in the sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// The check program gave no verdict.
    #[error("the MINT {set} check gave no verdict: {detail}")]
    NoVerdict {
        /// The set.
        set: String,
        /// What it printed.
        detail: String,
    },
}

/// Runs MINT's checks; code and TheoremQA run in the sandbox.
#[derive(Debug, Clone)]
pub struct MintChecker {
    sandbox: Sandbox,
}

impl MintChecker {
    /// A checker running its programs in `sandbox`.
    pub fn new(sandbox: Sandbox) -> Self {
        MintChecker { sandbox }
    }

    /// [`MintChecker::check`] or [`MintChecker::check_strict`].
    pub async fn check_with(
        &self,
        strict: bool,
        item: &MintItem,
        solution: &str,
    ) -> Result<Checked, CheckError> {
        if strict {
            self.check_strict(item, solution).await
        } else {
            self.check(item, solution).await
        }
    }

    /// hone's own answer checking in place of the reference's quirks
    /// (`--strict-checks`): gsm8k and math by hone's math checker on the
    /// final answer (sympy in the sandbox when the rules cannot tell),
    /// hotpotqa by exact match after normalisation, mmlu by the option the
    /// answer names; TheoremQA and code as the reference checks them.
    pub async fn check_strict(
        &self,
        item: &MintItem,
        solution: &str,
    ) -> Result<Checked, CheckError> {
        match item.set.as_str() {
            "gsm8k" | "math" => {
                let answer = hone_tools::answer::extract_final_answer(solution)
                    .unwrap_or_else(|| solution.trim().to_string());
                let checker = hone_tools::math_check::MathChecker::new(self.sandbox.clone());
                let verdict = checker
                    .equivalent(&answer, &py_str(&item.reference))
                    .await
                    .map_err(|e| CheckError::NoVerdict {
                        set: item.set.clone(),
                        detail: e.to_string(),
                    })?;
                Ok(Checked::plain(
                    verdict == hone_tools::answer::Equivalence::Equal,
                ))
            }
            "hotpotqa" => Ok(Checked::plain(strict_text_correct(
                solution,
                &item.reference,
            ))),
            "mmlu" => Ok(Checked::plain(strict_mmlu_correct(
                &item.prompt,
                solution,
                &py_str(&item.reference),
            ))),
            _ => self.check(item, solution).await,
        }
    }

    /// Whether `solution` (the text of a `<solution>` block) solves `item`.
    pub async fn check(&self, item: &MintItem, solution: &str) -> Result<Checked, CheckError> {
        match item.set.as_str() {
            "humaneval" | "mbpp" => self.code(item, solution).await,
            "theoremqa" => self.theoremqa(item, solution).await,
            "mmlu" => Ok(Checked::plain(mmlu_correct(
                &item.prompt,
                solution,
                &py_str(&item.reference),
            ))),
            _ => Ok(Checked::plain(reasoning_correct(solution, &item.reference))),
        }
    }

    async fn code(&self, item: &MintItem, solution: &str) -> Result<Checked, CheckError> {
        let mut program = format!("{solution}\n{}", py_str(&item.reference));
        if let Some(entry) = &item.entry_point {
            // The guest's Python (3.14) evaluates annotations lazily; the
            // reference's evaluated them at definition, so a solution
            // annotated with names it never imported (`List`) failed there.
            // Reading them raises as that did.
            program.push_str(&format!("\n{entry}.__annotations__\ncheck({entry})\n"));
        }
        let limits = Limits {
            wall_time: Duration::from_secs(10),
            ..Limits::default()
        };
        let result = self.sandbox.run(Program::python(program), limits).await?;
        // `sys.exit(0)` before the tests raises SystemExit: no pass.
        Ok(Checked::plain(result.status == Status::Ok))
    }

    async fn theoremqa(&self, item: &MintItem, solution: &str) -> Result<Checked, CheckError> {
        let payload = serde_json::json!({
            "solution": solution,
            "reference": item.reference,
            "answer_type": item.answer_type.clone().unwrap_or_default(),
        })
        .to_string();
        let literal = serde_json::to_string(&payload).map_err(|e| CheckError::NoVerdict {
            set: item.set.clone(),
            detail: e.to_string(),
        })?;
        let source = format!("{THEOREMQA_PY}\n_PAYLOAD = {literal}\n_tq_main(_PAYLOAD)\n");
        let limits = Limits {
            wall_time: Duration::from_secs(10),
            ..Limits::default()
        };
        let result = self.sandbox.run(Program::python(source), limits).await?;
        match result.status {
            Status::Ok => {}
            Status::Exception {
                kind,
                message,
                traceback,
                ..
            } => {
                let text = if traceback.is_empty() {
                    format!("{kind}: {message}")
                } else {
                    traceback
                };
                return Ok(Checked {
                    correct: false,
                    error: Some(text),
                });
            }
            other => {
                return Ok(Checked {
                    correct: false,
                    error: Some(format!("checking the answer failed: {}", other.label())),
                })
            }
        }
        #[derive(Deserialize)]
        struct Verdict {
            correct: bool,
        }
        let verdict: Verdict = result
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| CheckError::NoVerdict {
                set: item.set.clone(),
                detail: result.stdout.clone(),
            })?;
        Ok(Checked::plain(verdict.correct))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_numbers_match_within_five_percent_and_text_by_substring() {
        assert!(reasoning_correct("6.2", &"6".into()));
        assert!(!reasoning_correct("6.4", &"6".into()));
        assert!(reasoning_correct("0", &"0".into()));
        assert!(!reasoning_correct("0.0001", &"0".into()));
        assert!(reasoning_correct("Yes, they were", &"yes".into()));
        assert!(reasoning_correct("10", &"10.0".into()));
        // "1,110" is not a float, and not a substring of "1110".
        assert!(!reasoning_correct("1110", &"1,110".into()));
        assert!(reasoning_correct("6 mph", &"6".into()));
    }

    #[test]
    fn mmlu_options_are_read_from_the_prompt() {
        let prompt = "Q? Options: A ) 6 , B ) 121 , C ) 18107 , D ) 54,320";
        let options = mmlu_options(prompt);
        assert_eq!(options.len(), 4);
        assert_eq!(options[2], ("c".to_string(), "18107".to_string()));
        // Another option's text makes it wrong, even beside the right one.
        assert!(!mmlu_correct(prompt, "121 or 18107", "c"));
        assert!(!mmlu_correct(prompt, "nothing", "c"));
    }

    #[test]
    fn strict_checks_drop_the_quirks() {
        let prompt = "Q? Options: A ) 6 , B ) 121 , C ) 18107 , D ) 54,320";
        // The quirk accepts this; the strict check does not.
        assert!(!strict_mmlu_correct(prompt, "the answer is b", "a"));
        assert!(strict_mmlu_correct(prompt, "(C)", "c"));
        assert!(strict_mmlu_correct(prompt, "c) 18107", "c"));
        assert!(strict_mmlu_correct(prompt, "18107", "c"));
        assert!(!strict_mmlu_correct(prompt, "121", "c"));
        // "6 mph" is a substring match for the reference, not an exact one.
        assert!(!strict_text_correct("6 mph", &"6".into()));
        assert!(strict_text_correct(
            "The Eiffel Tower.",
            &"eiffel tower".into()
        ));
    }

    #[test]
    fn python_str_of_references() {
        assert_eq!(py_str(&serde_json::json!([0, 5])), "[0, 5]");
        assert_eq!(py_str(&serde_json::json!(false)), "False");
        assert_eq!(py_str(&serde_json::json!(1.094)), "1.094");
        assert_eq!(py_str(&serde_json::json!(["a", 1])), "['a', 1]");
    }
}
