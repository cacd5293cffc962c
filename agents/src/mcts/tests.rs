//! Unit tests of the search on hand-built trees.

use super::*;
use crate::refine::TestOutcome;
use hone_tools::TestSuite;

fn suite() -> TestSuite {
    TestSuite::Asserts {
        setup: String::new(),
        asserts: vec!["assert f() == 1".into()],
    }
}

fn tree() -> MctsState {
    MctsState::new("t", suite(), MctsSettings::default())
}

#[test]
fn var_p_uct_matches_the_formula_term_by_term() {
    for &(q, p, n_c, n, c0, b) in &[
        (0.0, 0.2, 0u32, 2u32, 4.0, 10.0),
        (0.75, 0.5, 3, 17, 4.0, 10.0),
        (1.0, 1.0, 0, 100, 1.0, 5.0),
    ] {
        let nf = f64::from(n);
        let c = ((nf + b + 1.0) / b).ln() + c0;
        let expected = q + c * p * nf.ln().sqrt() / (1.0 + f64::from(n_c));
        assert!((var_p_uct(q, p, n_c, n, c0, b) - expected).abs() < 1e-12);
    }
    // ln(1) = 0 and an unvisited parent: pure exploitation.
    assert_eq!(var_p_uct(0.4, 1.0, 0, 0, 4.0, 10.0), 0.4);
    assert_eq!(var_p_uct(0.4, 1.0, 0, 1, 4.0, 10.0), 0.4);
}

#[test]
fn selection_on_a_constructed_tree() {
    let mut s = tree();
    s.add_children(
        0,
        vec![("a".into(), 2.0), ("b".into(), 1.0), ("c".into(), 1.0)],
    );
    // Priors are normalised to sum 1.
    let priors: Vec<f64> = s.chances.iter().map(|c| c.prior).collect();
    assert_eq!(priors, vec![0.5, 0.25, 0.25]);
    // Unvisited root: all scores are Q = 0; the higher prior wins the tie.
    assert_eq!(s.select_child(0), Some(0));
    // a: visited 3 times with returns [0.2, 0.1, 0.3] → Q = 0.3.
    // b: visited once with return 0.9 → Q = 0.9. c: never visited.
    s.decisions[0].visits = 4;
    s.chances[0].visits = 3;
    s.chances[0].returns = vec![0.2, 0.1, 0.3];
    s.chances[1].visits = 1;
    s.chances[1].returns = vec![0.9];
    let score = |c: usize| {
        let ch = &s.chances[c];
        var_p_uct(ch.q(), ch.prior, ch.visits, 4, 4.0, 10.0)
    };
    let (a, b, c) = (score(0), score(1), score(2));
    // Worked by hand: C(4) = ln(15/10) + 4 = 4.405465; sqrt(ln 4) = 1.177410.
    let cn = (1.5f64).ln() + 4.0;
    let e = (4f64).ln().sqrt();
    assert!((a - (0.3 + cn * 0.5 * e / 4.0)).abs() < 1e-12);
    assert!((b - (0.9 + cn * 0.25 * e / 2.0)).abs() < 1e-12);
    assert!((c - (cn * 0.25 * e)).abs() < 1e-12);
    // 0.948, 1.548, 1.297: b's high Q beats c's unexplored bonus.
    assert!(b > c && c > a, "{a} {b} {c}");
    assert_eq!(s.select_child(0), Some(1));
    // More visits of b shrink its bonus until c wins.
    s.chances[1].visits = 6;
    assert_eq!(s.select_child(0), Some(2));
    // Q is the max of the returns, not the mean.
    assert_eq!(s.chances[0].q(), 0.3);
    let leaf = s.chances[2].child;
    assert_eq!(
        s.select_child(leaf),
        None,
        "an unexpanded state has no child"
    );
}

#[test]
fn backpropagation_discounts_by_gamma_per_level() {
    let mut s = tree();
    s.add_children(0, vec![("a".into(), 1.0), ("b".into(), 1.0)]);
    let a_state = s.chances[0].child;
    s.add_children(a_state, vec![("a1".into(), 1.0)]);
    let leaf = s.chances[2].child;
    assert_eq!(s.thoughts(leaf), vec!["a", "a1"]);
    s.backpropagate(leaf, 0.5);
    // The reference: estimate = reward(transition) + gamma · estimate,
    // with no intermediate rewards, so already the first chance node
    // above the leaf is discounted: a1 = 0.9 · 0.5 = 0.45,
    // a = 0.9² · 0.5 = 0.405.
    assert_eq!(s.chances[2].returns.len(), 1);
    assert!((s.chances[2].returns[0] - 0.45).abs() < 1e-12);
    assert!((s.chances[0].returns[0] - 0.405).abs() < 1e-12);
    assert!(s.chances[1].returns.is_empty());
    assert_eq!((s.chances[0].visits, s.chances[2].visits), (1, 1));
    assert_eq!(
        (
            s.decisions[0].visits,
            s.decisions[a_state].visits,
            s.decisions[leaf].visits
        ),
        (1, 1, 1)
    );
    s.backpropagate(a_state, 1.0);
    assert_eq!(s.chances[0].returns.len(), 2);
    // Q(a) = max(0.405, 0.9 · 1.0) = 0.9.
    assert!((s.chances[0].q() - 0.9).abs() < 1e-12);
    assert_eq!(s.decisions[0].visits, 2);
    // What the discount changes in selection at the root (N = 2,
    // c0 = 4, b = 10, n_a = 2, n_b = 0, P = 0.5 each):
    // C(2) = ln(13/10) + 4 = 4.262364, sqrt(ln 2) = 0.832555;
    // score(a) = 0.9 + 4.262364 · 0.5 · 0.832555 / 3 = 1.491442;
    // score(b) = 0 + 4.262364 · 0.5 · 0.832555 / 1 = 1.774326;
    // so b is explored next. Undiscounted (Q(a) = 1.0) gives 1.591442.
    let score = |c: usize| {
        let ch = &s.chances[c];
        var_p_uct(ch.q(), ch.prior, ch.visits, 2, 4.0, 10.0)
    };
    assert!((score(0) - 1.491442).abs() < 1e-6, "{}", score(0));
    assert!((score(1) - 1.774326).abs() < 1e-6, "{}", score(1));
    assert_eq!(s.select_child(0), Some(1));
}

#[test]
fn replacing_a_thought_keeps_its_position_resets_the_prior_and_drops_stale_code() {
    let mut s = tree();
    s.add_children(0, vec![("a".into(), 3.0), ("b".into(), 1.0)]);
    let a_state = s.chances[0].child;
    s.add_children(a_state, vec![("a1".into(), 1.0)]);
    let leaf = s.chances[2].child;
    s.decisions[leaf].program = Some(0);
    s.decisions[leaf].feedback = Some("failed".into());
    s.decisions[a_state].program = Some(1);
    s.replace_thought(0, "a'".into());
    assert_eq!(s.chances[0].prior, 1.0);
    assert_eq!(s.chances[0].rethinks, 1);
    assert_eq!(s.decisions[0].children, vec![0, 1], "same tree position");
    assert_eq!(s.thoughts(leaf), vec!["a'", "a1"]);
    assert_eq!(s.decisions[leaf].program, None);
    assert_eq!(s.decisions[a_state].program, None);
    assert_eq!(s.rethinks, 1);
}

#[test]
fn rethinking_drops_the_stale_returns_of_the_replaced_subtree() {
    // root ─ a ─ a_state ─ a1 ─ leaf
    //      └ b ─ b_state
    let mut s = tree();
    s.add_children(0, vec![("a".into(), 1.0), ("b".into(), 1.0)]);
    let (a, b) = (0, 1);
    let a_state = s.chances[a].child;
    let b_state = s.chances[b].child;
    s.add_children(a_state, vec![("a1".into(), 1.0)]);
    let a1 = 2;
    let leaf = s.chances[a1].child;
    // Three rollouts, by hand (gamma = 0.9):
    // leaf 0.6 → a1 gets 0.54, a gets 0.486;
    // a_state 0.2 → a gets 0.18;  b_state 1.0 → b gets 0.9.
    s.backpropagate(leaf, 0.6);
    s.backpropagate(a_state, 0.2);
    s.backpropagate(b_state, 1.0);
    assert_eq!(s.decisions[0].visits, 3);
    assert_eq!((s.chances[a].visits, s.chances[a1].visits), (2, 1));
    assert!((s.chances[a].q() - 0.486).abs() < 1e-12);
    // Rewriting `a` makes every return sampled through it or below it
    // stale: they were earned by the old thought.
    s.replace_thought(a, "a'".into());
    assert!(s.chances[a].returns.is_empty() && s.chances[a1].returns.is_empty());
    assert_eq!((s.chances[a].visits, s.chances[a1].visits), (0, 0));
    assert_eq!(
        (s.decisions[a_state].visits, s.decisions[leaf].visits),
        (0, 0)
    );
    assert_eq!(s.chances[a].q(), 0.0);
    // The sibling and the root are untouched (the reference keeps the
    // parent's visit count when it swaps in a fresh chance node).
    assert_eq!(s.chances[b].returns, vec![0.9]);
    assert_eq!((s.chances[b].visits, s.decisions[0].visits), (1, 3));
    // Selection at the root now (N = 3, P(a') = 1.0, P(b) = 0.5):
    // C(3) = ln(14/10) + 4 = 4.336472, sqrt(ln 3) = 1.048147;
    // a' = 0 + 4.336472 · 1.0 · 1.048147 / 1 = 4.545261;
    // b  = 0.9 + 4.336472 · 0.5 · 1.048147 / 2 = 2.036315.
    assert_eq!(s.select_child(0), Some(a));
    let ch = &s.chances[a];
    assert!((var_p_uct(ch.q(), ch.prior, ch.visits, 3, 4.0, 10.0) - 4.545261).abs() < 1e-6);
    let ch = &s.chances[b];
    assert!((var_p_uct(ch.q(), ch.prior, ch.visits, 3, 4.0, 10.0) - 2.036315).abs() < 1e-6);
}

#[test]
fn final_pick_is_by_public_test_value() {
    let mut s = tree();
    let program = |passed, value, rollout| Candidate {
        answer: format!("p{rollout}"),
        state: 0,
        thoughts: vec![],
        tests: TestOutcome {
            passed,
            total: 4,
            verified: passed == 4,
            feedback: String::new(),
        },
        self_eval: None,
        self_eval_skipped: None,
        trace: None,
        value,
        rollout,
        rethought: false,
    };
    s.programs = vec![
        program(3, 0.75, 1),
        program(4, 0.82, 2),
        program(4, 0.9, 3),
        program(4, 0.9, 4),
    ];
    assert_eq!(
        s.best_program().unwrap().rollout,
        3,
        "highest value, earliest among equals"
    );
    let mut crashed = program(0, 0.0, 5);
    crashed.tests.total = 0;
    s.programs = vec![crashed, program(0, 0.0, 6)];
    assert_eq!(
        s.best_program().unwrap().rollout,
        6,
        "code that ran beats a crash"
    );
    s.programs = vec![program(2, 0.5, 1), program(1, 0.25, 2)];
    assert_eq!(s.best_program().unwrap().rollout, 1);
    assert!(!s.solved());
}

#[test]
fn malformed_outputs_fall_back() {
    let (t, bad) = parse_thoughts(
        "```json\n{\"thoughts\": [\"x is y\", {\"text\": \"use dp\", \"prior\": \"0.5\"}]}\n```",
        3,
    );
    assert!(!bad);
    assert_eq!(t, vec![("x is y".into(), 1.0), ("use dp".into(), 0.5)]);
    let (t, bad) = parse_thoughts("", 3);
    assert!(bad);
    assert!(t.is_empty());
    let (t, _) = parse_thoughts("{\"thoughts\": [\"1\", \"2\", \"3\", \"4\"]}", 2);
    assert_eq!(t.len(), 2, "at most width thoughts");
    assert_eq!(parse_self_eval("SCORE: 11"), None);
    assert_eq!(parse_self_eval("Score: 10"), Some(1.0));
    assert_eq!(parse_self_eval("I rate it 3 out of 10\nfine"), Some(0.3));
    assert_eq!(
        parse_rethink("{\"index\": 2, \"thought\": \"t\"}"),
        (Some(2), Some("t".into()))
    );
    assert_eq!(
        parse_rethink("Just sort it."),
        (None, Some("Just sort it.".into()))
    );
    assert_eq!(parse_rethink("  "), (None, None));
}
