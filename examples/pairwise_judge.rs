//! Compare two answers with the order-swapping pairwise judge: it asks
//! twice, with the answers in both orders, and reports low confidence when
//! the two verdicts disagree (position bias) instead of hiding it.
//!
//! `cargo run --example pairwise_judge`

use hone::agents::judge::{judge_pairwise, PairwiseJudgement};
use hone::prelude::*;

async fn compare(
    model: &Model,
    task: &str,
    a: &str,
    b: &str,
) -> Result<PairwiseJudgement, NodeError> {
    // Outside a graph, a detached context still counts calls against a budget.
    let ctx = NodeContext::detached(Budget::unlimited().with_model_calls(2));
    judge_pairwise(
        &ctx,
        model,
        &hone::agents::templates::embedded(),
        task,
        a,
        b,
        512,
    )
    .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = Model::from_env()?;
    let task = "Explain in one sentence why the sky is blue.";
    let a = "Air molecules scatter short (blue) wavelengths of sunlight more than long ones.";
    let b = "Because it reflects the ocean.";
    let j = compare(&model, task, a, b).await?;
    println!(
        "winner {:?}, preference for A {:.2}, confidence {:?}{}",
        j.winner,
        j.preference_a,
        j.confidence,
        if j.needs_escalation() {
            " — escalate"
        } else {
            ""
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hone::agents::judge::{Confidence, Winner};

    #[tokio::test]
    async fn a_position_biased_judge_is_flagged() {
        // "Response 1" both times: the verdicts disagree once un-swapped.
        let model = Model::new(ScriptedModel::in_order(["WINNER: 1", "WINNER: 1"]));
        let j = compare(&model, "t", "a", "b").await.unwrap();
        assert_eq!((j.winner, j.confidence), (Winner::Tie, Confidence::Low));
        assert!(j.needs_escalation());
    }
}
