//! Reading a model turn as MINT's reference does.
//!
//! A turn containing `<solution>` is a proposal (code in the same turn is
//! ignored); otherwise it runs code. All `<solution>` (or `<execute>`)
//! blocks are taken and joined by newlines; an empty result is a parse
//! error. A turn with neither tag, or a `<solution>` without its closing
//! tag, gets an explanation of both tags as its observation; the first
//! costs a step as an invalid action, the second counts as a proposal.
//!
//! ```
//! use hone_bench::mint::turn::{parse_turn, Action};
//! let turn = "<thought>run it</thought><execute>print(1)</execute><solution>2</solution>";
//! assert_eq!(parse_turn(turn), Action::Propose("2".into()));
//! assert_eq!(parse_turn("<execute>x = 1</execute> and <execute>x</execute>"), Action::Execute("x = 1\nx".into()));
//! assert_eq!(parse_turn("I think it is 4."), Action::Invalid);
//! ```

/// What a turn does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Propose an answer (checked against the reference).
    Propose(String),
    /// A `<solution>` without its closing tag: a proposal that is not
    /// checked; the observation explains the tags.
    UnclosedProposal,
    /// Run code in the episode's Python session.
    Execute(String),
    /// Neither tag, or empty blocks: costs a step.
    Invalid,
}

/// The contents of every `<tag>…</tag>` block, and whether an opening tag
/// was left unclosed.
fn blocks(text: &str, tag: &str) -> (Vec<String>, bool) {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        match after.find(&close) {
            Some(end) => {
                found.push(after[..end].trim().to_string());
                rest = &after[end + close.len()..];
            }
            None => return (found, true),
        }
    }
    (found, false)
}

/// Reads a turn (see the module docs).
pub fn parse_turn(text: &str) -> Action {
    if text.contains("<solution>") {
        let (found, unclosed) = blocks(text, "solution");
        if unclosed && found.is_empty() {
            return Action::UnclosedProposal;
        }
        let joined = found.join("\n").trim().to_string();
        return if joined.is_empty() {
            Action::Invalid
        } else {
            Action::Propose(joined)
        };
    }
    if text.contains("<execute>") {
        let (found, _) = blocks(text, "execute");
        let joined = found.join("\n").trim().to_string();
        return if joined.is_empty() {
            Action::Invalid
        } else {
            Action::Execute(joined)
        };
    }
    Action::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solution_outranks_code_in_the_same_turn() {
        let turn = "<execute>x = 2</execute>\n<solution>\n42\n</solution>";
        assert_eq!(parse_turn(turn), Action::Propose("42".into()));
    }

    #[test]
    fn empty_or_unclosed_blocks() {
        assert_eq!(parse_turn("<execute>  </execute>"), Action::Invalid);
        assert_eq!(parse_turn("<solution></solution>"), Action::Invalid);
        assert_eq!(parse_turn("so <solution>42"), Action::UnclosedProposal);
        // An unclosed execute block runs nothing.
        assert_eq!(parse_turn("<execute>print(1)"), Action::Invalid);
        assert_eq!(
            parse_turn("<solution>a</solution> <solution>b</solution>"),
            Action::Propose("a\nb".into())
        );
    }
}
