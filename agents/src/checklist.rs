//! Design checklists: the requirements a brief states, and a checker's
//! requirement-by-requirement verdicts on a document
//! ([`RequirementChecklist`](crate::verifier::RequirementChecklist) asks the
//! model for them).

use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;

/// The verifier name of checklist evidence.
pub(crate) const CHECKLIST: &str = "checklist";

/// One requirement's verdict in a design checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementCheck {
    /// The requirement, as stated in the brief.
    pub requirement: String,
    /// Whether the document meets it.
    pub met: bool,
    /// The checker's evidence (quoted from its line), or why it is unmet.
    pub evidence: String,
}

/// A design document's requirement-by-requirement verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// One entry per requirement, in the brief's order.
    pub items: Vec<RequirementCheck>,
    /// Requirements the checker gave no parsable verdict for.
    pub malformed: usize,
}

impl Checklist {
    /// Requirements met.
    pub fn met(&self) -> usize {
        self.items.iter().filter(|i| i.met).count()
    }

    /// Whether every requirement is met (and there is at least one).
    pub fn all_met(&self) -> bool {
        !self.items.is_empty() && self.items.iter().all(|i| i.met)
    }

    /// The checklist as evidence: passed = requirements met, the items in
    /// the details.
    pub fn into_evidence(self) -> Evidence {
        let evidence = Evidence::decided(CHECKLIST, self.met(), self.items.len(), self.feedback())
            .with_verdict(self.all_met());
        let details = serde_json::to_value(&self).unwrap_or_default();
        evidence.with_details(details)
    }

    /// Reads a checklist back from [`Checklist::into_evidence`]'s evidence.
    pub fn from_evidence(evidence: &Evidence) -> Option<Checklist> {
        if evidence.verifier != CHECKLIST {
            return None;
        }
        serde_json::from_value(evidence.details.clone()).ok()
    }

    /// The checklist as text for a critic or refiner.
    pub fn feedback(&self) -> String {
        let mut out = format!("{}/{} requirements met", self.met(), self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            out.push_str(&format!(
                "\nR{}: {} — {} ({})",
                i + 1,
                if item.met { "MET" } else { "NOT MET" },
                item.requirement,
                item.evidence
            ));
        }
        out
    }
}

/// The requirements stated in a design brief: the bullet or numbered lines
/// under a heading or line that mentions "requirement".
///
/// ```
/// let brief = "Design a rate limiter.\n\nRequirements:\n- per-user limits\n2. survives restarts\n\nNotes: none";
/// assert_eq!(
///     hone_agents::checklist::parse_requirements(brief),
///     vec!["per-user limits".to_string(), "survives restarts".to_string()]
/// );
/// ```
pub fn parse_requirements(brief: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_section = false;
    for line in brief.lines() {
        let trimmed = line.trim();
        if !in_section {
            in_section = trimmed.to_ascii_lowercase().contains("requirement")
                && (trimmed.ends_with(':') || trimmed.starts_with('#'));
            continue;
        }
        if trimmed.is_empty() {
            if found.is_empty() {
                continue;
            }
            break;
        }
        match strip_list_marker(trimmed) {
            Some(item) if !item.is_empty() => found.push(item.to_string()),
            _ => break,
        }
    }
    found
}

fn strip_list_marker(line: &str) -> Option<&str> {
    for bullet in ["- ", "* ", "• "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(rest.trim());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 {
        let rest = &line[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim());
        }
    }
    None
}

/// Parses a checker's reply: lines `R<n>: MET` / `R<n>: NOT MET`, each
/// optionally followed by evidence. Requirements without a line are unmet
/// and counted as malformed; the last line for a requirement wins.
///
/// ```
/// use hone_agents::checklist::parse_checklist;
/// let reqs = vec!["a".to_string(), "b".to_string(), "c".to_string()];
/// let c = parse_checklist("R1: MET — has it\n**R2:** NOT MET - missing", &reqs);
/// assert_eq!((c.met(), c.malformed), (1, 1));
/// assert!(!c.items[1].met && !c.items[2].met);
/// ```
pub fn parse_checklist(reply: &str, requirements: &[String]) -> Checklist {
    let mut verdicts: Vec<Option<(bool, String)>> = vec![None; requirements.len()];
    for line in reply.lines() {
        let cleaned: String = line
            .chars()
            .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
            .collect();
        let cleaned = cleaned.trim().trim_start_matches(['-', '•', ' ']);
        let Some(rest) = cleaned.strip_prefix(['R', 'r']) else {
            continue;
        };
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        let Ok(number) = rest[..digits].parse::<usize>() else {
            continue;
        };
        if number == 0 || number > requirements.len() {
            continue;
        }
        let rest = rest[digits..].trim_start_matches([':', '.', ')', ' ', '-']);
        let upper = rest.to_ascii_uppercase();
        let (met, tail) = if upper.starts_with("NOT MET") {
            (false, &rest["NOT MET".len()..])
        } else if upper.starts_with("UNMET") {
            (false, &rest["UNMET".len()..])
        } else if upper.starts_with("MET") {
            (true, &rest["MET".len()..])
        } else {
            continue;
        };
        let evidence = tail
            .trim()
            .trim_start_matches(['—', '-', ':', '–', ' '])
            .trim()
            .to_string();
        verdicts[number - 1] = Some((met, evidence));
    }
    let mut malformed = 0;
    let items = requirements
        .iter()
        .zip(verdicts)
        .map(|(requirement, verdict)| {
            let (met, evidence) = verdict.unwrap_or_else(|| {
                malformed += 1;
                (false, "the checker gave no verdict".to_string())
            });
            RequirementCheck {
                requirement: requirement.clone(),
                met,
                evidence,
            }
        })
        .collect();
    Checklist { items, malformed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_come_from_the_requirements_section_only() {
        let brief = "# Design a URL shortener\n\nContext: - not this\n\n## Requirements\n\n* 10k writes/s\n* links expire\n\n## Out of scope\n- analytics";
        assert_eq!(parse_requirements(brief), ["10k writes/s", "links expire"]);
        assert!(parse_requirements("no list here\n- a bullet").is_empty());
    }

    #[test]
    fn checklist_parsing_tolerates_markdown_and_ignores_unknown_numbers() {
        let reqs: Vec<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
        let reply = "Thinking...\n- **R1**: MET — section 2 covers it\nR2) not met: no retry policy\nR9: MET\nR3. MET\nR3: UNMET – contradicts R1";
        let c = parse_checklist(reply, &reqs);
        assert_eq!(c.malformed, 0);
        assert!(c.items[0].met);
        assert_eq!(c.items[0].evidence, "section 2 covers it");
        assert!(!c.items[1].met);
        assert_eq!(c.items[1].evidence, "no retry policy");
        assert!(!c.items[2].met, "the last line for R3 wins");
        assert!(!c.all_met());
        let all = parse_checklist("R1: MET\nR2: MET\nR3: MET", &reqs);
        assert!(all.all_met());
        assert!(all.feedback().starts_with("3/3 requirements met"));
        let empty = parse_checklist("no idea", &reqs);
        assert_eq!(empty.malformed, 3);
        assert!(!parse_checklist("", &[]).all_met());
    }
}
