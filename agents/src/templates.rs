//! The prompt templates hone's agents send, embedded from this crate's
//! `templates/*.j2` at build time.
//!
//! Every prompt lives in one of these files, never in a Rust string. A
//! template's variables are filled from a typed struct (see
//! [`roles`](crate::roles)), and rendering is strict: a missing variable is
//! an error naming the file and line. Override any of them at run time with
//! [`Templates::with_override_dir`] (the CLI's `--templates DIR`):
//!
//! ```
//! let templates = hone_agents::templates::embedded();
//! assert!(templates.names().contains(&"refine_critic.j2"));
//! ```

use hone_core::templates::Templates;

include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));

/// Where the embedded templates come from, as error messages name them.
pub const ORIGIN: &str = "agents/templates";

/// The embedded templates.
pub fn embedded() -> Templates {
    Templates::from_static(EMBEDDED, ORIGIN)
}

/// `(file name, source)` of every embedded template.
pub fn sources() -> &'static [(&'static str, &'static str)] {
    EMBEDDED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        assert!(!EMBEDDED.is_empty(), "no templates were embedded");
        Templates::check_sources(EMBEDDED, ORIGIN).unwrap();
        assert_eq!(embedded().names().len(), EMBEDDED.len());
    }

    /// The length of the common beginning of `a` and `b`, in bytes.
    fn shared(a: &str, b: &str) -> usize {
        a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
    }

    /// Prefix reuse only pays when the calls of one round start alike: the
    /// task, the answer and its evidence first, each role's instruction
    /// last (issue: prefix reuse that hone's own prompts hit).
    #[test]
    fn the_prompts_of_one_round_share_their_beginning() {
        use crate::evidence::Evidence;
        use crate::refine::{Attempt, RefineState, TaskKind};
        use crate::roles::RefinePrompt;

        let t = embedded();
        let mut s = RefineState::new("TASK-TEXT", TaskKind::Code, 4);
        let actor = t.render("refine_actor.j2", RefinePrompt::of(&s)).unwrap();
        let mut attempt = Attempt::new("ANSWER-TEXT").with_evidence(Evidence::decided(
            "tests",
            0,
            1,
            "EVIDENCE-TEXT",
        ));
        s.attempts.push(attempt.clone());
        let critic = t.render("refine_critic.j2", RefinePrompt::of(&s)).unwrap();
        attempt.critique = Some("CRITIQUE-TEXT".into());
        s.attempts[0] = attempt;
        let refiner = t.render("refine_refiner.j2", RefinePrompt::of(&s)).unwrap();
        let reflect = t
            .render("reflexion_reflect.j2", RefinePrompt::of(&s))
            .unwrap();
        s.reflections.push("REFLECTION-TEXT".into());
        let reflexion_actor = t
            .render("reflexion_actor.j2", RefinePrompt::of(&s))
            .unwrap();

        let end_of = |text: &str, marker: &str| text.find(marker).expect(marker) + marker.len();
        assert!(shared(&actor, &critic) >= end_of(&actor, "TASK-TEXT"));
        let context = end_of(&critic, "EVIDENCE-TEXT");
        for (name, prompt) in [
            ("refiner", &refiner),
            ("reflection", &reflect),
            ("reflexion actor", &reflexion_actor),
        ] {
            assert!(
                shared(&critic, prompt) >= context,
                "the {name} prompt does not start with the critic's context:\n{prompt}"
            );
        }
        // The instruction comes after the context in every role.
        assert!(critic.find("careful reviewer").unwrap() > context);
        assert!(refiner.find("was reviewed").unwrap() > end_of(&refiner, "CRITIQUE-TEXT"));
    }

    #[test]
    fn the_prompts_of_one_search_node_share_their_beginning() {
        let t = embedded();
        let node = serde_json::json!({
            "task": "PROBLEM-TEXT",
            "thoughts": ["THOUGHT-ONE", "THOUGHT-TWO"],
            "width": 3,
            "feedback": null,
            "trace": null,
            "code": "CODE-TEXT",
            "mode": "any",
        });
        let expand = t.render("mcts_expand.j2", &node).unwrap();
        let code = t.render("mcts_code.j2", &node).unwrap();
        let rethink = t.render("mcts_rethink.j2", &node).unwrap();
        let plan = expand.find("THOUGHT-TWO").expect("the plan") + "THOUGHT-TWO".len();
        assert!(shared(&expand, &code) >= plan, "{code}");
        assert!(shared(&expand, &rethink) >= plan, "{rethink}");
    }
}
