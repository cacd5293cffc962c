//! A verifier of your own in self-refine: the answer must be valid JSON
//! with the keys the task asks for. Its evidence (what is missing) drives
//! the critic and the refiner until the answer passes.
//!
//! `cargo run --example custom_verifier` (an endpoint from OPENAI_BASE_URL
//! and HONE_MODEL, else the embedded model).

use hone::prelude::*;

/// Passes answers whose last code block (or whole text) is a JSON object
/// with every key in `keys`.
struct JsonWithKeys {
    keys: Vec<&'static str>,
}

impl Verifier for JsonWithKeys {
    fn name(&self) -> &str {
        "json_with_keys"
    }

    async fn verify(
        &self,
        input: VerifyInput<'_>,
        _ctx: &NodeContext,
    ) -> Result<Option<Evidence>, NodeError> {
        let total = self.keys.len();
        let text = extract_code(&input.attempt.answer);
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else {
            let feedback = "The answer is not a JSON object: reply with only the JSON.";
            return Ok(Some(Evidence::decided(self.name(), 0, total, feedback)));
        };
        let missing: Vec<_> = self
            .keys
            .iter()
            .filter(|k| !map.contains_key(**k))
            .collect();
        let feedback = format!("missing keys: {missing:?}");
        Ok(Some(Evidence::decided(
            self.name(),
            total - missing.len(),
            total,
            feedback,
        )))
    }
}

async fn describe_city(model: Model) -> Result<Run<RefineState>, AgentError> {
    let verifier = JsonWithKeys {
        keys: vec!["name", "country", "population"],
    };
    SelfRefine::builder(model)
        .verifier(verifier)
        .max_rounds(4)
        .build()?
        .run(
            Task::text("Describe Lisbon as a JSON object with keys name, country and population."),
            RunOptions::default(),
        )
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run = describe_city(Model::from_env()?).await?;
    let best = run.best().ok_or("no answer")?;
    println!(
        "{}\nverified: {} ({})",
        best.answer,
        best.verified(),
        run.stop
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_refiner_fixes_what_the_verifier_found() {
        let model = ScriptedModel::in_order([
            r#"{"name": "Lisbon", "country": "Portugal"}"#,
            "The population is missing.\nVERDICT: INCORRECT",
            r#"{"name": "Lisbon", "country": "Portugal", "population": 545000}"#,
        ]);
        let run = describe_city(Model::new(model)).await.unwrap();
        let first = run.state.attempts[0].evidence.as_ref().expect("verified");
        assert_eq!((first.passed, first.total), (2, 3));
        assert!(first.feedback.contains("population"));
        assert!(run.best().expect("an answer").verified());
        assert_eq!(run.state.attempts.len(), 2);
    }
}
