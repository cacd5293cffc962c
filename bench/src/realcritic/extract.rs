//! Final-answer extraction and normalisation as RealCritic's reference
//! scores them (its evaluation code descends from the Qwen2.5-Math harness).
//!
//! The rules, in order (see `shared/docs/PROTOCOLS.md`):
//!
//! * **multiple choice** (`mmlu_stem`): after the first "answer is" or
//!   "choice is", the first standalone letter A–E; with no trigger, the
//!   last standalone letter. This keeps the reference's quirk: a critique
//!   that restates the student's answer ("the student's answer is B") before
//!   its own yields the student's letter. [`Extraction::Strict`] takes the
//!   letter of the last boxed answer or the last trigger instead.
//! * **other sets**: Minerva's "final answer is $…$" first; else the last
//!   `\boxed{…}` (balanced braces); else the text after the last "the
//!   answer is" / "final answer is"; else the last number. `arc-challenge`
//!   and `gpqa` then keep the last standalone letter A–E, when there is one.
//! * then [`normalize`]: strip, unit words, `\text{}`, `dfrac` → `frac`,
//!   `\left`/`\right`, trailing zeros, `a/b` → `\frac{a}{b}`, spaces and
//!   `x=` prefixes.
//!
//! ```
//! use hone_bench::realcritic::extract::{extract_answer, Extraction};
//! let text = "Adding them, 3 + 4 = 7. The final answer is \\boxed{7.0}.";
//! assert_eq!(extract_answer(text, "gsm8k", Extraction::Reference), "7");
//! ```

use std::sync::LazyLock;

use regex::Regex;

/// Which extraction rule picks a multiple-choice letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Extraction {
    /// The reference's rule, quirk included.
    #[default]
    Reference,
    /// The letter the text ends on: the last boxed letter, else the letter
    /// after the last trigger, else the last letter.
    Strict,
}

static LETTER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b([A-E])\b").expect("regex"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"-?\d*\.?\d+").expect("regex"));
static NEWLINE_SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n\s*").expect("regex"));
static CHOICE_TRIGGER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:answer|choice) is").expect("regex"));

/// Whether a set is scored as multiple choice from the start.
pub fn is_multiple_choice(set: &str) -> bool {
    set == "mmlu_stem"
}

/// Whether a set's extracted answer is reduced to its last letter.
fn keeps_last_letter(set: &str) -> bool {
    matches!(set, "arc-challenge" | "gpqa")
}

/// The letter a multiple-choice answer names (see the module docs).
pub fn choice_letter(text: &str, rule: Extraction) -> Option<String> {
    let text = text.trim().trim_end_matches(['.', '/']);
    let letters_in = |s: &str| -> Vec<String> {
        LETTER
            .captures_iter(s)
            .map(|c| c[1].to_string())
            .collect::<Vec<_>>()
    };
    match rule {
        Extraction::Reference => {
            if let Some(m) = CHOICE_TRIGGER.find(text) {
                if let Some(first) = letters_in(&text[m.end()..]).into_iter().next() {
                    return Some(first);
                }
            }
            letters_in(text).pop()
        }
        Extraction::Strict => {
            if let Some(boxed) = last_boxed(text) {
                if let Some(last) = letters_in(&boxed).pop() {
                    return Some(last);
                }
            }
            if let Some(m) = CHOICE_TRIGGER.find_iter(text).last() {
                if let Some(first) = letters_in(&text[m.end()..]).into_iter().next() {
                    return Some(first);
                }
            }
            letters_in(text).pop()
        }
    }
}

/// The contents of the last `\boxed{…}` (balanced braces), or of a
/// `\boxed x` without braces (up to the next `$`).
pub fn last_boxed(text: &str) -> Option<String> {
    let at = text.rfind("boxed")?;
    let rest = &text[at + "boxed".len()..];
    let rest_trim = rest.trim_start();
    if let Some(inner) = rest_trim.strip_prefix('{') {
        let mut depth = 1usize;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(inner[..i].to_string());
                    }
                }
                _ => {}
            }
        }
        // Unbalanced: the reference keeps what it read.
        return Some(inner.to_string());
    }
    Some(
        rest.split('$')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

/// The final answer of `text` for `set`, normalised (see the module docs).
pub fn extract_answer(text: &str, set: &str, rule: Extraction) -> String {
    let text = text.replace("\u{043a}\u{0438}", "");
    if is_multiple_choice(set) {
        return choice_letter(&text, rule).unwrap_or_else(|| text.trim().to_string());
    }
    let mut pred = if let Some(after) = text.split_once("final answer is $").map(|(_, a)| a) {
        after
            .split('$')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    } else if text.contains("boxed") {
        last_boxed(&text).unwrap_or_default()
    } else if let Some((_, after)) = text.rsplit_once("he answer is") {
        after.trim().to_string()
    } else if let Some((_, after)) = text.rsplit_once("final answer is") {
        after.trim().to_string()
    } else {
        let plain = text.replace(',', "");
        NUMBER
            .find_iter(&plain)
            .last()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    };
    if keeps_last_letter(set) {
        if let Some(letter) = LETTER.captures_iter(&pred).last() {
            pred = letter[1].to_string();
        }
    }
    let pred: String = {
        let joined = NEWLINE_SPACES.replace_all(&pred, "");
        let mut p = joined.trim().to_string();
        if let Some(rest) = p.strip_prefix(':') {
            p = rest.to_string();
        }
        while p.ends_with('.') || p.ends_with('/') {
            p.pop();
        }
        p
    };
    normalize(&pred, set == "minerva_math")
}

/// The reference answer of `item` as it is compared: the last `\boxed{}`
/// of `gt_cot` for `math`, `gt` as given for `minerva_math`, else `gt`
/// normalised.
pub fn ground_truth(set: &str, gt_cot: &str, gt: &str) -> String {
    match set {
        "math" => last_boxed(gt_cot)
            .map(|b| normalize(&b, false))
            .unwrap_or_else(|| normalize(gt, false)),
        "minerva_math" => gt.to_string(),
        _ => normalize(gt, false),
    }
}

/// Unit words removed from an answer (whole words, singular or plural).
/// hone's own list of common units; the reference's is longer.
const UNITS: &[&str] = &[
    "meter",
    "metre",
    "centimeter",
    "kilometer",
    "millimeter",
    "mile",
    "inch",
    "inches",
    "feet",
    "foot",
    "yard",
    "km",
    "cm",
    "mm",
    "kg",
    "gram",
    "pound",
    "lb",
    "ounce",
    "liter",
    "litre",
    "gallon",
    "second",
    "sec",
    "minute",
    "min",
    "hour",
    "hr",
    "day",
    "week",
    "month",
    "year",
    "dollar",
    "cent",
    "degree",
    "percent",
    "unit",
    "mph",
];

static TEXT_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\text\{[^}]*\}$").expect("regex"));
static TEXT_CMD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\text\{([^}]*)\}").expect("regex"));
static MBOX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\mbox\{[^}]*\}").expect("regex"));
static UNIT_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = UNITS
        .iter()
        .map(|u| format!("{u}s?"))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(r"(^|\W)(?:{alternatives})($|\W)")).expect("regex")
});
static TRAILING_ZEROS_INNER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+)\.0*([^\d])").expect("regex"));
static TRAILING_ZEROS_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+)\.0*$").expect("regex"));
static TRAILING_JUNK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\\|,|\.)+$").expect("regex"));
static ARRAY_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\begin\{array\}\{[^}]*\}").expect("regex"));

/// Normalises an answer the way the reference does before comparing
/// (`skip_units` for Minerva, whose answers keep their unit words).
pub fn normalize(answer: &str, skip_units: bool) -> String {
    let mut s = answer.trim().replace('\n', "");
    while s.ends_with('.') {
        s.pop();
    }
    s = s.replace("\\!", "");
    s = ARRAY_BEGIN.replace_all(&s, "\\begin{pmatrix}").into_owned();
    s = s.replace("\\end{array}", "\\end{pmatrix}");
    s = s.replace("bmatrix", "pmatrix");
    s = s.replace("tfrac", "frac").replace("dfrac", "frac");
    s = s
        .replace("\\neq", "\\ne")
        .replace("\\leq", "\\le")
        .replace("\\geq", "\\ge");
    s = s.replace("\\left", "").replace("\\right", "");
    s = s.replace("\\{", "{").replace("\\}", "}");
    // A trailing \text{units} goes, unless it is all there is.
    let without_text = TEXT_SUFFIX.replace(&s, "").trim().to_string();
    if !without_text.is_empty() && without_text != s {
        s = without_text;
    }
    if !skip_units {
        for _ in 0..2 {
            let stripped = UNIT_WORDS.replace_all(&s, "$1$2").into_owned();
            if !stripped.trim().is_empty() {
                s = stripped;
            }
        }
    }
    s = s.replace("^{\\circ}", "").replace("^\\circ", "");
    s = s.replace("\\$", "").replace('$', "");
    s = s.replace("\\(", "").replace("\\)", "");
    s = TEXT_CMD.replace_all(&s, "$1").into_owned();
    for key in [
        "x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to",
    ] {
        s = s.replace(key, "");
    }
    s = s.replace("\\emptyset", "{}");
    s = s.replace("(-\\infty,\\infty)", "\\mathbb{R}");
    s = s.replace("\\%", "").replace('%', "");
    s = s.replace(" .", " 0.").replace("{.", "{0.");
    s = s.replace("infinity", "\\infty");
    if !s.contains("\\infty") {
        s = s.replace("inf", "\\infty");
    }
    s = s.replace("\\mathbf", "");
    s = MBOX.replace_all(&s, "").into_owned();
    if s.contains('j') && !s.contains('i') {
        s = s.replace('j', "i");
    }
    s = TRAILING_ZEROS_INNER.replace_all(&s, "$1$2").into_owned();
    s = TRAILING_ZEROS_END.replace_all(&s, "$1").into_owned();
    if s.is_empty() {
        return s;
    }
    if s.starts_with('.') {
        s.insert(0, '0');
    }
    if let Some((lhs, rhs)) = s.split_once('=') {
        if !rhs.contains('=') && lhs.chars().count() <= 2 {
            s = rhs.to_string();
        }
    }
    s = fix_sqrt(&s);
    s = s.replace(' ', "");
    s = fix_fracs(&s);
    s = fix_a_slash_b(&s);
    TRAILING_JUNK.replace(&s, "").into_owned()
}

/// `\sqrt3` → `\sqrt{3}`.
fn fix_sqrt(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("\\sqrt") {
        out.push_str(&rest[..at + 5]);
        rest = &rest[at + 5..];
        let mut chars = rest.chars();
        match chars.next() {
            Some(c) if c != '{' && c != '[' && !c.is_whitespace() && c != '\\' => {
                out.push('{');
                out.push(c);
                out.push('}');
                rest = chars.as_str();
            }
            _ => {}
        }
    }
    out.push_str(rest);
    out
}

/// `\frac12` → `\frac{1}{2}`, `\frac1{2}` → `\frac{1}{2}`.
fn fix_fracs(s: &str) -> String {
    let parts: Vec<&str> = s.split("\\frac").collect();
    let mut out = parts[0].to_string();
    for part in &parts[1..] {
        out.push_str("\\frac");
        let chars: Vec<char> = part.chars().collect();
        if chars.first() == Some(&'{') || chars.len() < 2 {
            out.push_str(part);
            continue;
        }
        let (a, b) = (chars[0], chars[1]);
        let tail: String = chars[2..].iter().collect();
        if b == '{' {
            out.push_str(&format!("{{{a}}}{b}{tail}"));
        } else {
            out.push_str(&format!("{{{a}}}{{{b}}}{tail}"));
        }
    }
    out
}

/// `3/4` → `\frac{3}{4}` (integers only, as the reference does).
fn fix_a_slash_b(s: &str) -> String {
    let Some((a, b)) = s.split_once('/') else {
        return s.to_string();
    };
    if b.contains('/') {
        return s.to_string();
    }
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(a), Ok(b)) if s == format!("{a}/{b}") => format!("\\frac{{{a}}}{{{b}}}"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Extraction = Extraction::Reference;

    #[test]
    fn multiple_choice_takes_the_first_letter_after_the_first_trigger() {
        assert_eq!(
            choice_letter("I think the answer is C. Yes.", R).as_deref(),
            Some("C")
        );
        // No trigger: the last standalone letter.
        assert_eq!(
            choice_letter("A is wrong, B is wrong, so D", R).as_deref(),
            Some("D")
        );
        // Letters inside words do not count.
        assert_eq!(choice_letter("Because AB and CD", R), None);
    }

    #[test]
    fn the_reference_quirk_picks_the_students_letter_and_strict_fixes_it() {
        let critique = "The student's answer is B, but step 2 is wrong. \
                        Correcting it, the right choice is \\boxed{C}.";
        assert_eq!(extract_answer(critique, "mmlu_stem", R), "B");
        assert_eq!(
            extract_answer(critique, "mmlu_stem", Extraction::Strict),
            "C"
        );
    }

    #[test]
    fn other_sets_prefer_minerva_then_boxed_then_answer_is_then_last_number() {
        let minerva = "so x is 2. The final answer is $4$. I hope it is correct. \\boxed{5}";
        assert_eq!(extract_answer(minerva, "math", R), "4");
        let boxed = "first \\boxed{1} then \\boxed{\\frac{3}{4}} and the answer is 9";
        assert_eq!(extract_answer(boxed, "math", R), "\\frac{3}{4}");
        let nested = "\\boxed{\\frac{\\sqrt{2}}{2}}";
        assert_eq!(extract_answer(nested, "math", R), "\\frac{\\sqrt{2}}{2}");
        assert_eq!(extract_answer("So the answer is 42.", "gsm8k", R), "42");
        assert_eq!(
            extract_answer("we get 1,200 apples and 35 pears", "gsm8k", R),
            "35"
        );
        assert_eq!(extract_answer("no number at all", "gsm8k", R), "");
    }

    #[test]
    fn arc_and_gpqa_keep_the_last_letter_of_what_was_extracted() {
        assert_eq!(
            extract_answer("The answer is (B) thymine", "arc-challenge", R),
            "B"
        );
        assert_eq!(extract_answer("so \\boxed{D}", "gpqa", R), "D");
    }

    #[test]
    fn normalisation_follows_the_reference() {
        assert_eq!(normalize("\\dfrac{1}{2}", false), "\\frac{1}{2}");
        assert_eq!(normalize("3/4", false), "\\frac{3}{4}");
        assert_eq!(normalize("\\frac12", false), "\\frac{1}{2}");
        assert_eq!(normalize("\\sqrt3", false), "\\sqrt{3}");
        assert_eq!(normalize("x = 5", false), "5");
        // Only zeros right after the point go; 12.50 is left to the
        // numeric comparison, as upstream.
        assert_eq!(normalize("12.50", false), "12.50");
        assert_eq!(normalize("12.0 apples", false), "12apples");
        assert_eq!(normalize("18.00", false), "18");
        assert_eq!(normalize("540 meters", false), "540");
        assert_eq!(normalize("540 meters", true), "540meters");
        assert_eq!(normalize("10\\text{ cm}", false), "10");
        assert_eq!(normalize("\\$5", false), "5");
        assert_eq!(normalize("50\\%", false), "50");
        assert_eq!(normalize("\\left( 1, 2 \\right)", false), "(1,2)");
        assert_eq!(normalize(".5", false), "0.5");
        assert_eq!(normalize("90^\\circ", false), "90");
    }

    #[test]
    fn ground_truth_per_set() {
        let cot = "so it is $\\boxed{\\dfrac{7}{2}}$.";
        assert_eq!(ground_truth("math", cot, "ignored"), "\\frac{7}{2}");
        assert_eq!(
            ground_truth("minerva_math", "", "1+\\sqrt{3} i"),
            "1+\\sqrt{3} i"
        );
        assert_eq!(ground_truth("gsm8k", "", "1,000.0"), "1,000");
    }
}
