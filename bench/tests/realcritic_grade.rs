//! RealCritic's grader on the answers only sympy can decide, in the real
//! sandbox: the reference's symbolic rules, component-wise tuples,
//! matrices and equations, and its 3 s limit scoring a timeout wrong.

use hone_bench::realcritic::extract::{extract_answer, ground_truth, Extraction};
use hone_bench::realcritic::grade::{Graded, Grader};
use hone_sandbox::{Sandbox, SandboxConfig};

fn grader() -> Grader {
    Grader::new(Sandbox::new(SandboxConfig::default()))
}

#[tokio::test]
async fn symbolic_answers_are_equal_when_sympy_says_so() {
    let g = grader();
    let cases = [
        ("\\frac{1}{2}", "0.5", Graded::Correct),
        (
            "\\frac{\\sqrt{2}}{2}",
            "\\frac{1}{\\sqrt{2}}",
            Graded::Correct,
        ),
        ("(x-1)(x+1)", "x^2-1", Graded::Correct),
        ("2x", "3x", Graded::Wrong),
        // Tuples component-wise, each by the numeric rule.
        ("(1,0.5)", "(1,\\frac{1}{2})", Graded::Correct),
        ("(1,2)", "(2,1)", Graded::Wrong),
        // Equations as lhs - rhs, either sign.
        ("y=2x+1", "2x-y=-1", Graded::Correct),
        // Matrices cell-wise.
        (
            "\\begin{pmatrix}1&0.5\\\\0&1\\end{pmatrix}",
            "\\begin{pmatrix}1&\\frac{1}{2}\\\\0&1\\end{pmatrix}",
            Graded::Correct,
        ),
        ("\\text{no idea}", "7", Graded::Wrong),
    ];
    for (pred, gt, want) in cases {
        assert_eq!(g.grade(pred, gt).await.unwrap(), want, "{pred} vs {gt}");
    }
}

#[tokio::test]
async fn a_whole_critique_is_scored_on_its_final_answer() {
    let critique = "Step 2 is wrong: the area is \\(\\pi r^2\\).\n\
                    Conclusion: incorrect, first wrong step: 2\n\
                    ===CORRECTION_START===\nThe area is $\\boxed{\\dfrac{9\\pi}{4}}$\n===CORRECTION_END===";
    let pred = extract_answer(critique, "math", Extraction::Reference);
    assert_eq!(pred, "\\frac{9\\pi}{4}");
    let gt = ground_truth("math", "so $\\boxed{2.25\\pi}$", "");
    assert_eq!(grader().grade(&pred, &gt).await.unwrap(), Graded::Correct);
}
