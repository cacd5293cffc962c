//! Final-answer extraction and equivalence for math and multiple-choice
//! answers: integers, decimals, fractions, percent, thousands separators,
//! units in `\text{}`, simple LaTeX (`\boxed{}`, `\frac{}{}`, `\sqrt{}`),
//! multiple-choice letters, and tuples or lists of these.
//!
//! What plain rules cannot decide (e.g. `x^2-1` vs `(x-1)(x+1)`) is
//! [`Equivalence::Unknown`]; a caller can then ask sympy in the sandbox.

/// Whether two answers mean the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Equivalence {
    /// Same value.
    Equal,
    /// Different values.
    NotEqual,
    /// The rules here cannot tell; symbolic checking is needed.
    Unknown,
}

/// Finds the final answer in a solution: the last `\boxed{…}`, else a
/// `FINAL ANSWER:` / `The answer is` / `####` line, else the last non-empty line.
///
/// ```
/// use hone_tools::answer::extract_final_answer;
/// assert_eq!(extract_final_answer("so \\boxed{\\frac{1}{2}}.").as_deref(), Some("\\frac{1}{2}"));
/// assert_eq!(extract_final_answer("work\nFINAL ANSWER: 42").as_deref(), Some("42"));
/// assert_eq!(extract_final_answer("#### 1,000").as_deref(), Some("1,000"));
/// ```
pub fn extract_final_answer(text: &str) -> Option<String> {
    if let Some(boxed) = last_braced_after(text, "\\boxed") {
        return Some(boxed.trim().to_string());
    }
    for line in text.lines().rev() {
        let lower = line.to_ascii_lowercase();
        for marker in ["final answer:", "the answer is", "answer:", "####"] {
            if let Some(pos) = lower.rfind(marker) {
                let rest = line[pos + marker.len()..].trim();
                let rest = rest.trim_end_matches('.').trim();
                if !rest.is_empty() {
                    return Some(rest.to_string());
                }
            }
        }
    }
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// The content of the last `{…}` group that follows `command`, with nested
/// braces balanced.
fn last_braced_after(text: &str, command: &str) -> Option<String> {
    let start = text.rfind(command)? + command.len();
    let rest = &text[start..];
    let open = rest.find('{')?;
    if !rest[..open].trim().is_empty() {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(rest[open + 1..open + i].to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a leading `{…}` group (braces balanced) off `s`: its content and
/// the rest.
fn group(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if !s.starts_with('{') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[1..i], &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Removes LaTeX decoration, units and spacing that do not change the value.
fn normalize(answer: &str) -> String {
    let mut s = answer.trim().to_string();
    if let Some(inner) = last_braced_after(&s, "\\boxed") {
        s = inner;
    }
    for (from, to) in [
        ("\\left", ""),
        ("\\right", ""),
        ("\\!", ""),
        ("\\,", ""),
        ("\\;", ""),
        ("\\dfrac", "\\frac"),
        ("\\tfrac", "\\frac"),
        ("^\\circ", ""),
        ("^{\\circ}", ""),
        ("°", ""),
        ("\\%", "%"),
        ("\\$", ""),
        ("$", ""),
    ] {
        s = s.replace(from, to);
    }
    // `\text{cm}` and similar: units after a value are dropped, a text-only
    // answer keeps its words.
    while let Some(pos) = s.find("\\text") {
        let Some((inner, rest)) = group(&s[pos + 5..]) else {
            break;
        };
        let replacement = if s[..pos].trim().is_empty() {
            inner.to_string()
        } else {
            String::new()
        };
        let rest = rest.to_string();
        s = format!("{}{}{}", &s[..pos], replacement, rest);
    }
    s = s.trim().trim_end_matches('.').trim().to_string();
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A number written in one of the supported forms.
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('-') {
        return number(rest).map(|v| -v);
    }
    if let Some(rest) = s.strip_suffix('%') {
        return number(rest);
    }
    if let Some(inner) = s.strip_prefix("\\frac") {
        let (num, rest) = group(inner)?;
        let (den, rest) = group(rest)?;
        if !rest.trim().is_empty() {
            return None;
        }
        return Some(number(num)? / number(den)?);
    }
    if let Some(pos) = s.find("\\sqrt") {
        let coefficient = if pos == 0 { 1.0 } else { number(&s[..pos])? };
        let (radicand, rest) = group(&s[pos + 5..])?;
        if !rest.trim().is_empty() {
            return None;
        }
        return Some(coefficient * number(radicand)?.sqrt());
    }
    if let Some(inner) = s.strip_prefix("sqrt(").and_then(|r| r.strip_suffix(')')) {
        return Some(number(inner)?.sqrt());
    }
    if let Some((a, b)) = s.split_once('/') {
        return Some(number(a)? / number(b)?);
    }
    let plain: String = if is_grouped_thousands(s) {
        s.replace(',', "")
    } else {
        s.to_string()
    };
    plain.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `1,234,567.5` style grouping (so `1,2` stays a pair, not 12).
fn is_grouped_thousands(s: &str) -> bool {
    let int = s.split('.').next().unwrap_or("");
    let groups: Vec<&str> = int.split(',').collect();
    groups.len() > 1
        && !groups[0].is_empty()
        && groups[0].len() <= 3
        && groups[0].chars().all(|c| c.is_ascii_digit())
        && groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// A multiple-choice letter: `B`, `(B)`, `B.`, `B)`, `Option B`.
fn choice_letter(s: &str) -> Option<char> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    // Normalised answers have no spaces: `Option C` arrives as `OptionC`.
    let t = if lower.starts_with("option") || lower.starts_with("choice") {
        t[6..].trim_start()
    } else {
        t
    };
    let t = t
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']', '.', ':']);
    let mut chars = t.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Some(c.to_ascii_uppercase()),
        _ => None,
    }
}

/// Splits `(1, 2)`, `[1,2]` or `1, 2` into items at top-level commas.
fn items(s: &str) -> Option<Vec<String>> {
    let inner = s
        .strip_prefix(['(', '['])
        .and_then(|r| r.strip_suffix([')', ']']))
        .unwrap_or(s);
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in inner.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    (out.len() > 1).then_some(out)
}

/// Compares two final answers.
///
/// ```
/// use hone_tools::answer::{answers_equal, Equivalence};
/// assert_eq!(answers_equal("\\frac{1}{2}", "0.5"), Equivalence::Equal);
/// assert_eq!(answers_equal("(B)", "b"), Equivalence::Equal);
/// assert_eq!(answers_equal("12", "13"), Equivalence::NotEqual);
/// assert_eq!(answers_equal("x^2-1", "(x-1)(x+1)"), Equivalence::Unknown);
/// ```
pub fn answers_equal(a: &str, b: &str) -> Equivalence {
    let (na, nb) = (normalize(a), normalize(b));
    if na == nb {
        return Equivalence::Equal;
    }
    if let (Some(x), Some(y)) = (number(&na), number(&nb)) {
        if close(x, y) {
            return Equivalence::Equal;
        }
        // 50% against 0.5: a percentage may be written as a fraction.
        let pa = na.ends_with('%');
        let pb = nb.ends_with('%');
        if (pa && !pb && close(x / 100.0, y)) || (pb && !pa && close(x, y / 100.0)) {
            return Equivalence::Equal;
        }
        return Equivalence::NotEqual;
    }
    // Word answers (yes/no, true/false, names) compare case-insensitively.
    let word = |s: &str| s.chars().count() > 1 && s.chars().all(char::is_alphabetic);
    let is_choice = |s: &str| choice_letter(s).is_some();
    if word(&na) && word(&nb) && !is_choice(&na) && !is_choice(&nb) {
        return if na.to_lowercase() == nb.to_lowercase() {
            Equivalence::Equal
        } else {
            Equivalence::NotEqual
        };
    }
    if let (Some(x), Some(y)) = (choice_letter(&na), choice_letter(&nb)) {
        return if x == y {
            Equivalence::Equal
        } else {
            Equivalence::NotEqual
        };
    }
    if let (Some(xs), Some(ys)) = (items(&na), items(&nb)) {
        if xs.len() != ys.len() {
            return Equivalence::NotEqual;
        }
        // `(1, 2)` and `[1, 2]` are the same tuple or list, but an interval
        // with a half-open end must match brackets exactly: `(0, 1]` is not
        // `(0, 1)`.
        let ends = |s: &str| {
            let (first, last) = (s.chars().next()?, s.chars().last()?);
            (matches!(first, '(' | '[') && matches!(last, ')' | ']')).then_some((first, last))
        };
        let half_open = |(first, last): (char, char)| (first == '(') != (last == ')');
        if let (Some(x), Some(y)) = (ends(&na), ends(&nb)) {
            if x != y && (half_open(x) || half_open(y)) {
                return Equivalence::NotEqual;
            }
        }
        let mut all = Equivalence::Equal;
        for (x, y) in xs.iter().zip(&ys) {
            match answers_equal(x, y) {
                Equivalence::NotEqual => return Equivalence::NotEqual,
                Equivalence::Unknown => all = Equivalence::Unknown,
                Equivalence::Equal => {}
            }
        }
        return all;
    }
    // One side is a plain number and the other is not: different, unless the
    // other side is symbolic and could still evaluate to it.
    let symbolic = |s: &str| {
        s.chars()
            .any(|c| c.is_ascii_alphabetic() || c == '\\' || c == '^')
    };
    if number(&na).is_some() != number(&nb).is_some() && !symbolic(&na) && !symbolic(&nb) {
        return Equivalence::NotEqual;
    }
    Equivalence::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use Equivalence::*;

    #[test]
    fn equivalence_table() {
        let table: &[(&str, &str, Equivalence)] = &[
            ("42", "42", Equal),
            ("(0, 1]", "(0, 1)", NotEqual),
            ("[0, 1)", "[0, 1)", Equal),
            ("(0, \\pi]", "(0, \\pi)", NotEqual),
            ("42", "42.0", Equal),
            ("42", "43", NotEqual),
            ("-3", "-3.00", Equal),
            ("-3", "3", NotEqual),
            ("1,000", "1000", Equal),
            ("1,234,567", "1234567", Equal),
            ("1,000", "100", NotEqual),
            ("0.5", "\\frac{1}{2}", Equal),
            ("\\dfrac{3}{4}", "0.75", Equal),
            ("\\frac{2}{3}", "0.6667", NotEqual),
            ("\\frac{2}{3}", "2/3", Equal),
            ("-\\frac{1}{4}", "-0.25", Equal),
            ("1/3", "0.333333333", Equal),
            ("1/3", "0.33", NotEqual),
            ("50%", "50", Equal),
            ("50\\%", "0.5", Equal),
            ("25%", "0.4", NotEqual),
            ("\\boxed{7}", "7", Equal),
            ("\\boxed{\\frac{1}{2}}", "1/2", Equal),
            ("$5$", "5", Equal),
            ("\\$5.00", "5", Equal),
            ("12 \\text{ cm}", "12", Equal),
            ("12\\text{cm}", "13", NotEqual),
            ("90^\\circ", "90", Equal),
            ("90°", "90", Equal),
            ("\\sqrt{4}", "2", Equal),
            ("2\\sqrt{2}", "\\sqrt{8}", Equal),
            ("\\sqrt{2}", "1.41421356", Equal),
            ("\\sqrt{2}", "1.5", NotEqual),
            ("sqrt(9)", "3", Equal),
            ("1e3", "1000", Equal),
            ("3.14159", "3.14", NotEqual),
            ("A", "a", Equal),
            ("(B)", "B", Equal),
            ("B.", "(B)", Equal),
            ("Option C", "C", Equal),
            ("C", "D", NotEqual),
            ("(1, 2)", "(1,2)", Equal),
            ("(1, 2)", "(2, 1)", NotEqual),
            ("[1, 2, 3]", "(1,2,3)", Equal),
            ("(1, 2)", "(1, 2, 3)", NotEqual),
            ("(\\frac{1}{2}, 3)", "(0.5, 3)", Equal),
            ("x^2-1", "(x-1)(x+1)", Unknown),
            ("x+1", "x + 1", Equal),
            ("\\left(1,2\\right)", "(1,2)", Equal),
            ("yes", "Yes.", Equal),
            ("yes", "no", NotEqual),
            ("True", "true", Equal),
            ("7.", "7", Equal),
            ("0", "-0", Equal),
            ("100", "1e2", Equal),
            ("2/4", "1/2", Equal),
            ("3", "x", Unknown),
            ("\\pi", "3.14159", Unknown),
        ];
        assert!(table.len() >= 50);
        for (a, b, want) in table {
            assert_eq!(answers_equal(a, b), *want, "{a:?} vs {b:?}");
            assert_eq!(answers_equal(b, a), *want, "{b:?} vs {a:?} (symmetry)");
        }
    }

    #[test]
    fn extraction() {
        assert_eq!(
            extract_final_answer("a \\boxed{1} then \\boxed{\\frac{3}{4}}").as_deref(),
            Some("\\frac{3}{4}")
        );
        assert_eq!(
            extract_final_answer("So the answer is 12.").as_deref(),
            Some("12")
        );
        assert_eq!(extract_final_answer("").as_deref(), None);
        assert_eq!(
            extract_final_answer("just\n  17  \n").as_deref(),
            Some("17")
        );
    }
}
