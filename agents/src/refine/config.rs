//! [`RefineConfig`], the settings every strategy shares, and the
//! one-prompt model call the roles make through it.

use super::*;

/// Settings of the self-refine graph.
#[derive(Clone)]
pub struct RefineConfig {
    /// Model of the actor and refiner.
    pub actor: Arc<dyn LanguageModel>,
    /// Model of the critic (may be the same).
    pub critic: Arc<dyn LanguageModel>,
    /// Prompt templates.
    pub templates: Arc<Templates>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Token limit per call.
    pub max_tokens: u32,
    /// Runs public tests of code tasks; required when the state has tests
    /// and no [`RefineConfig::verifier`] is set.
    pub harness: Option<Arc<Harness>>,
    /// The check run on every attempt; `None` picks the task kind's
    /// built-in one ([`TaskVerifier`](crate::verifier::TaskVerifier)).
    pub verifier: Option<SharedVerifier>,
    /// Which independent draw of a whole run this is (0: the first). Runs
    /// of one task with different draws send differently seeded requests
    /// (and cache them apart), so repeated runs sample independently at a
    /// temperature above 0 — `hone bench --samples` for pass@k.
    pub draw: u32,
    /// When self-refine asks the critic (default: every unverified attempt).
    pub critic_policy: CriticPolicy,
    /// When the latest attempt repeated an earlier one (the same program or
    /// text, or the same failing evidence), the next refinement is told so
    /// and sampled at this temperature (never below
    /// [`RefineConfig::temperature`]) with a seed of its round's own.
    /// Default `Some(0.8)`; `None` turns this off (Self-Refine as
    /// published: every refinement greedy at `temperature`, no note).
    /// Small models at temperature 0 often copy the answer they were asked
    /// to fix, and a copy fails the same checks again.
    pub stuck_temperature: Option<f32>,
}

/// When self-refine asks the critic about an attempt that did not verify.
///
/// With code and public tests, a failing test already says what is wrong;
/// [`CriticPolicy::WhenUnchecked`] sends such an attempt straight to the
/// refiner with the test evidence and spends the critic call on another
/// refinement instead. docs/results/humaneval-full.md has the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriticPolicy {
    /// Critique every attempt that no check verified (Self-Refine as
    /// published).
    #[default]
    Always,
    /// Critique only attempts that no check decided (no public tests, no
    /// requirements); an attempt that failed its checks goes to the refiner
    /// with the checks' evidence as its only feedback.
    WhenUnchecked,
}

impl RefineConfig {
    /// The default [`RefineConfig::stuck_temperature`].
    pub const DEFAULT_STUCK_TEMPERATURE: Option<f32> = Some(0.8);

    /// One model for every role, the given templates, temperature 0, 768
    /// tokens per call and no sandbox harness.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hone_agents::refine::RefineConfig;
    /// use hone_core::ScriptedModel;
    /// let cfg = RefineConfig::new(Arc::new(ScriptedModel::new()), Arc::new(hone_agents::templates::embedded()))
    ///     .with_max_tokens(256);
    /// assert_eq!((cfg.temperature, cfg.max_tokens), (0.0, 256));
    /// assert!(cfg.harness.is_none());
    /// ```
    pub fn new(model: Arc<dyn LanguageModel>, templates: Arc<Templates>) -> Self {
        RefineConfig {
            actor: model.clone(),
            critic: model,
            templates,
            temperature: 0.0,
            max_tokens: 768,
            harness: None,
            verifier: None,
            draw: 0,
            critic_policy: CriticPolicy::Always,
            stuck_temperature: Self::DEFAULT_STUCK_TEMPERATURE,
        }
    }

    /// Sets the temperature of refinements after a repeated attempt, or
    /// turns that off with `None` (see [`RefineConfig::stuck_temperature`]).
    pub fn with_stuck_temperature(mut self, temperature: Option<f32>) -> Self {
        self.stuck_temperature = temperature;
        self
    }

    /// Sets when self-refine asks the critic (see [`CriticPolicy`]).
    pub fn with_critic_policy(mut self, policy: CriticPolicy) -> Self {
        self.critic_policy = policy;
        self
    }

    /// Makes this run draw `draw` of its task (see [`RefineConfig::draw`]).
    pub fn with_draw(mut self, draw: u32) -> Self {
        self.draw = draw;
        self
    }

    /// Uses `critic` for critiques, checklists and rubric grades.
    pub fn with_critic(mut self, critic: Arc<dyn LanguageModel>) -> Self {
        self.critic = critic;
        self
    }

    /// Sets the token limit per call.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }

    /// Runs `verifier` on every attempt instead of the task kind's built-in
    /// verifier.
    pub fn with_verifier(mut self, verifier: impl Verifier) -> Self {
        self.verifier = Some(SharedVerifier::new(verifier));
        self
    }

    /// Runs public tests (and symbolic math checks) with `harness`.
    pub fn with_harness(mut self, harness: Arc<Harness>) -> Self {
        self.harness = Some(harness);
        self
    }
}

/// What a role sends: one user turn rendered from a template, or a
/// conversation that continues an earlier call (the refiner continues the
/// critic's, so a model with prefix reuse evaluates only the new turn).
/// `template` names the template of the last turn.
pub(crate) struct Turns {
    pub(crate) template: String,
    pub(crate) messages: Vec<Message>,
}

impl From<Prompt> for Turns {
    fn from(prompt: Prompt) -> Self {
        Turns {
            template: prompt.template,
            messages: vec![Message::user(prompt.text)],
        }
    }
}

/// One user-turn call returning the trimmed text. `sample` > 0 asks for an
/// independent sample: it is part of the cache key and seeds the sampler,
/// so samples differ yet reruns reproduce them.
pub(crate) async fn ask_model(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: impl Into<Turns>,
    temperature: f32,
    max_tokens: u32,
    sample: u32,
) -> Result<String, NodeError> {
    ask_model_as(
        ctx,
        model,
        prompt,
        temperature,
        max_tokens,
        sample,
        ResponseFormat::Text,
    )
    .await
}

/// [`ask_model`] with an output format: a JSON schema makes the embedded
/// model's output match it (a grammar) and is passed to endpoints as
/// `response_format`.
pub(crate) async fn ask_model_as(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: impl Into<Turns>,
    temperature: f32,
    max_tokens: u32,
    sample: u32,
    format: ResponseFormat,
) -> Result<String, NodeError> {
    let Turns { template, messages } = prompt.into();
    let mut request = ChatRequest::new(messages);
    request.template = Some(template);
    let mut request = request
        .with_temperature(temperature)
        .with_max_tokens(max_tokens)
        .with_sample_index(sample);
    request.response_format = format;
    if sample > 0 {
        request.sampling.seed = Some(u64::from(sample));
    }
    let response = ctx.chat(model, &request).await?;
    Ok(response.first_text().trim().to_string())
}

/// [`ask_model`] with the configuration's temperature and token limit.
pub(crate) async fn complete(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: impl Into<Turns>,
    cfg: &RefineConfig,
    sample: u32,
) -> Result<String, NodeError> {
    complete_as(ctx, model, prompt, cfg, sample, ResponseFormat::Text).await
}

/// [`complete`] with an output format (see [`ask_model_as`]).
pub(crate) async fn complete_as(
    ctx: &NodeContext,
    model: &dyn LanguageModel,
    prompt: impl Into<Turns>,
    cfg: &RefineConfig,
    sample: u32,
    format: ResponseFormat,
) -> Result<String, NodeError> {
    // Draw 0 keeps the sample indices (and cache keys) runs always had;
    // a later draw moves every call to its own range of seeds.
    let sample = match cfg.draw {
        0 => sample,
        draw => draw.saturating_mul(1 << 16).saturating_add(sample),
    };
    ask_model_as(
        ctx,
        model,
        prompt,
        cfg.temperature,
        cfg.max_tokens,
        sample,
        format,
    )
    .await
}
