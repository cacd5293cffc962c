//! Tests of both judges: parsing tables and scripted runs.

use super::*;
use hone_core::{Budget, ChatRequest, ScriptedModel};

#[test]
fn the_default_rubric_parses() {
    let rubric: Rubric = serde_json::from_str(CORRECTNESS_RUBRIC).unwrap();
    assert!(rubric.criterion.contains("correct"));
    assert!(rubric.scores.iter().all(|s| !s.is_empty()));
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ctx() -> NodeContext {
    NodeContext::detached(Budget::unlimited())
}

fn prompt(r: &ChatRequest) -> &str {
    r.messages
        .first()
        .map(|m| m.content.as_str())
        .unwrap_or_default()
}

#[test]
fn parse_rubric_output_table() {
    let cases: &[(&str, &str, Option<u8>)] = &[
        (
            "Correct and clear.\nSCORE: 5",
            "Correct and clear.",
            Some(5),
        ),
        ("Fine.\nScore: 3", "Fine.", Some(3)),
        ("Fine.\n**Score:** 4", "Fine.", Some(4)),
        ("Fine.\n**Score: 4**", "Fine.", Some(4)),
        ("Fine.\nSCORE: 4/5", "Fine.", Some(4)),
        ("Fine.\nScore: 4 / 5", "Fine.", Some(4)),
        ("Fine.\nScore: 4 out of 5", "Fine.", Some(4)),
        ("Fine.\nFinal score: 2.", "Fine.", Some(2)),
        ("Fine.\n### SCORE: [3]", "Fine.", Some(3)),
        ("Fine.\nSCORE = 1", "Fine.", Some(1)),
        ("Feedback: Off by one. [RESULT] 2", "Off by one.", Some(2)),
        ("Feedback: Off by one.\n[RESULT] 2", "Off by one.", Some(2)),
        (
            "**Feedback:** snake_case kept.\nSCORE: 3",
            "snake_case kept.",
            Some(3),
        ),
        // The last score line wins.
        (
            "Draft SCORE: 2\nOn reflection, better.\nSCORE: 4",
            "Draft SCORE: 2\nOn reflection, better.",
            Some(4),
        ),
        (
            "First\nSCORE: 2\nSecond\nSCORE: 5",
            "First\nSCORE: 2\nSecond",
            Some(5),
        ),
        // Malformed: out of range, fraction, range, other denominator, none.
        ("Great.\nSCORE: 0", "Great.", None),
        ("Great.\nSCORE: 6", "Great.", None),
        ("Great.\nSCORE: 300", "Great.", None),
        ("Great.\nSCORE: 3.5", "Great.", None),
        ("Great.\nSCORE: <1-5>", "Great.", None),
        ("Great.\nSCORE: 7/10", "Great.", None),
        ("Great.\nSCORE: four", "Great.", None),
        ("Great.\nSCORE:", "Great.", None),
        ("Looks right to me.", "Looks right to me.", None),
        ("", "", None),
        ("The score is high: 5", "The score is high: 5", None),
    ];
    for (input, feedback, score) in cases {
        let got = parse_rubric_output(input);
        assert_eq!(got, (feedback.to_string(), *score), "input {input:?}");
    }
}

#[test]
fn parse_winner_table() {
    use ShownVerdict::*;
    let cases: &[(&str, Option<ShownVerdict>)] = &[
        ("evidence\nWINNER: 1", Some(First)),
        ("evidence\nWINNER: 2", Some(Second)),
        ("evidence\nWINNER: TIE", Some(Tie)),
        ("evidence\nwinner: tie.", Some(Tie)),
        ("**Winner:** 2", Some(Second)),
        ("**WINNER: 1**", Some(First)),
        ("Final winner: Response 2", Some(Second)),
        ("WINNER: [[1]]", Some(First)),
        ("WINNER = 2", Some(Second)),
        ("WINNER: 1\nOn reflection:\nWINNER: 2", Some(Second)),
        ("WINNER: 12", None),
        ("WINNER: 3", None),
        ("WINNER: A", None),
        ("WINNER:", None),
        ("Response 1 is the winner", None),
        ("", None),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_winner(input), *expected, "input {input:?}");
    }
}

#[test]
fn rubric_grade_renders_rubric_and_reference() {
    rt().block_on(async {
        let model = ScriptedModel::in_order(["Clear.\nSCORE: 5", "Clear.\nSCORE: 2"]);
        let templates = crate::templates::embedded();
        let rubric = Rubric::correctness();
        let grade = rubric_grade(
            &ctx(),
            &model,
            &templates,
            "Add 2 and 2",
            "It is 4",
            &rubric,
            Some("REF-ANSWER-4"),
            128,
        )
        .await
        .unwrap();
        assert_eq!(
            grade,
            RubricGrade {
                feedback: "Clear.".into(),
                score: Some(5),
                malformed: false,
            }
        );
        let no_ref = rubric_grade(
            &ctx(),
            &model,
            &templates,
            "Add 2 and 2",
            "It is 4",
            &rubric,
            None,
            128,
        )
        .await
        .unwrap();
        assert_eq!(no_ref.score, Some(2));
        let requests = model.requests();
        let (with, without) = (prompt(&requests[0]), prompt(&requests[1]));
        assert!(with.contains("Add 2 and 2") && with.contains("It is 4"));
        assert!(with.contains("REF-ANSWER-4"));
        assert!(!without.contains("REF-ANSWER-4"));
        assert!(!without.to_lowercase().contains("reference answer"));
        for (i, d) in rubric.scores.iter().enumerate() {
            assert!(with.contains(&format!("Score {}: {d}", i + 1)), "{with}");
        }
        assert!(with.contains(&rubric.criterion));
        assert!(with.contains("SCORE:"));
        for r in &requests {
            assert_eq!(r.sampling.temperature, Some(0.0));
            assert_eq!(r.sampling.max_tokens, Some(128));
        }
    });
}

#[test]
fn rubric_malformed_score_is_not_an_error() {
    rt().block_on(async {
        let model = ScriptedModel::in_order(["I like it a lot.", "Excellent work.\nSCORE: 10"]);
        let templates = crate::templates::embedded();
        for feedback in ["I like it a lot.", "Excellent work."] {
            let grade = rubric_grade(
                &ctx(),
                &model,
                &templates,
                "t",
                "a",
                &Rubric::default(),
                None,
                64,
            )
            .await
            .unwrap();
            assert_eq!(grade.score, None);
            assert!(grade.malformed);
            assert_eq!(grade.feedback, feedback);
        }
    });
}

#[test]
fn model_failure_is_an_error() {
    rt().block_on(async {
        let model = ScriptedModel::new();
        let templates = crate::templates::embedded();
        let err = judge_pairwise(&ctx(), &model, &templates, "t", "a", "b", 64).await;
        assert!(matches!(err, Err(NodeError::Model(_))));
        let limited = NodeContext::detached(Budget::unlimited().with_model_calls(1));
        let model = ScriptedModel::new().with_rule(|_| true, |_| "WINNER: 1");
        let err = judge_pairwise(&limited, &model, &templates, "t", "a", "b", 64).await;
        assert!(matches!(err, Err(NodeError::Model(_))), "{err:?}");
    });
}

/// Whether `a` occurs before `b` in `prompt`; `None` unless both occur.
fn first_of(prompt: &str, a: &str, b: &str) -> Option<bool> {
    Some(prompt.find(a)? < prompt.find(b)?)
}

#[test]
fn position_biased_judge_is_caught_by_swapping() {
    rt().block_on(async {
        const A: &str = "ANSWER-ALPHA";
        const B: &str = "ANSWER-BRAVO";
        // Always prefers whatever it is shown first.
        let model = ScriptedModel::new().with_rule(
            |r| first_of(prompt(r), A, B).is_some(),
            |_| "Response 1 reads well.\nWINNER: 1",
        );
        let j = judge_pairwise(
            &ctx(),
            &model,
            &crate::templates::embedded(),
            "task",
            A,
            B,
            64,
        )
        .await
        .unwrap();
        assert_eq!(j.confidence, Confidence::Low);
        assert_eq!(j.preference_a, 0.5);
        assert_eq!(j.winner, Winner::Tie);
        assert_eq!(j.malformed, 0);
        assert!(j.needs_escalation());
        assert_eq!(j.first_order.winner(), Winner::A);
        assert_eq!(j.second_order.winner(), Winner::B);
        // The judge really saw both orders: A first, then B first.
        let shown_a_first: Vec<_> = model
            .requests()
            .iter()
            .map(|r| first_of(prompt(r), A, B))
            .collect();
        assert_eq!(shown_a_first, [Some(true), Some(false)]);
    });
}

#[test]
fn consistent_judge_wins_in_both_orders_and_orders_are_really_swapped() {
    rt().block_on(async {
        const GOOD: &str = "The GOOD answer";
        const POOR: &str = "The POOR answer";
        // Prefers the text containing GOOD wherever it is shown.
        let model = ScriptedModel::new().with_rule(
            |r| first_of(prompt(r), "GOOD", "POOR").is_some(),
            |r| {
                if first_of(prompt(r), "GOOD", "POOR") == Some(true) {
                    "Response 1 is correct.\nWINNER: 1"
                } else {
                    "Response 2 is correct.\nWINNER: 2"
                }
            },
        );
        let templates = crate::templates::embedded();
        let j = judge_pairwise(&ctx(), &model, &templates, "task", GOOD, POOR, 64)
            .await
            .unwrap();
        assert_eq!(
            (j.winner, j.confidence, j.preference_a, j.malformed),
            (Winner::A, Confidence::High, 1.0, 0)
        );
        assert!(!j.needs_escalation());
        let j = judge_pairwise(&ctx(), &model, &templates, "task", POOR, GOOD, 64)
            .await
            .unwrap();
        assert_eq!(
            (j.winner, j.confidence, j.preference_a, j.malformed),
            (Winner::B, Confidence::High, 0.0, 0)
        );

        let requests = model.requests();
        assert_eq!(requests.len(), 4, "two calls per judgement");
        for pair in requests.chunks(2) {
            let (p1, p2) = (prompt(&pair[0]), prompt(&pair[1]));
            assert_ne!(p1, p2, "the two calls must show different orders");
            let orders = [first_of(p1, GOOD, POOR), first_of(p2, GOOD, POOR)];
            assert!(
                orders.contains(&Some(true)) && orders.contains(&Some(false)),
                "one prompt must show each answer first: {orders:?}"
            );
            for r in pair {
                assert_eq!(r.sampling.temperature, Some(0.0));
                assert_eq!(r.sampling.max_tokens, Some(64));
            }
        }
        // The first call shows answer_a first.
        assert_eq!(first_of(prompt(&requests[0]), GOOD, POOR), Some(true));
        assert_eq!(first_of(prompt(&requests[2]), POOR, GOOD), Some(true));
    });
}

#[test]
fn malformed_verdict_counts_as_tie_with_low_confidence() {
    rt().block_on(async {
        let model =
            ScriptedModel::in_order(["Both look fine to me.", "Response 2 is better.\nWINNER: 2"]);
        let j = judge_pairwise(
            &ctx(),
            &model,
            &crate::templates::embedded(),
            "t",
            "a",
            "b",
            64,
        )
        .await
        .unwrap();
        assert_eq!(j.malformed, 1);
        assert!(j.first_order.is_malformed());
        assert_eq!(j.first_order.winner(), Winner::Tie);
        assert_eq!(j.second_order.winner(), Winner::A);
        assert_eq!(j.preference_a, 0.75);
        assert_eq!(j.winner, Winner::A);
        assert_eq!(j.confidence, Confidence::Low);
    });
}

#[test]
fn from_orders_table() {
    use Confidence::{High, Low};
    let v = |a_first, s: &str| OrderVerdict::from_output(a_first, s);
    // (A-first output, B-first output, preference, winner, confidence, malformed)
    let cases = [
        ("WINNER: 1", "WINNER: 2", 1.0, Winner::A, High, 0),
        ("WINNER: 2", "WINNER: 1", 0.0, Winner::B, High, 0),
        ("WINNER: TIE", "WINNER: TIE", 0.5, Winner::Tie, High, 0),
        ("WINNER: 1", "WINNER: 1", 0.5, Winner::Tie, Low, 0),
        ("WINNER: 2", "WINNER: 2", 0.5, Winner::Tie, Low, 0),
        ("WINNER: 1", "WINNER: TIE", 0.75, Winner::A, Low, 0),
        ("WINNER: TIE", "WINNER: 1", 0.25, Winner::B, Low, 0),
        ("?", "?", 0.5, Winner::Tie, Low, 2),
        ("?", "WINNER: 1", 0.25, Winner::B, Low, 1),
    ];
    for (first, second, preference, winner, confidence, malformed) in cases {
        let j = PairwiseJudgement::from_orders(v(true, first), v(false, second));
        assert_eq!(
            (j.preference_a, j.winner, j.confidence, j.malformed),
            (preference, winner, confidence, malformed),
            "{first:?} / {second:?}"
        );
    }
}

#[test]
fn judgement_round_trips_through_json() {
    let j = PairwiseJudgement::from_orders(
        OrderVerdict::from_output(true, "WINNER: 1"),
        OrderVerdict::from_output(false, "nothing"),
    );
    let json = serde_json::to_value(&j).unwrap();
    assert_eq!(json["winner"], "a");
    assert_eq!(json["confidence"], "low");
    let back: PairwiseJudgement = serde_json::from_value(json).unwrap();
    assert_eq!(back, j);
}
