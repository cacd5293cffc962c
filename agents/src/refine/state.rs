//! What linear strategies keep: the task, its attempts with their
//! evidence, critiques and verdicts.

use super::*;

/// What kind of answer the task wants; selects template variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Free text (design, explanation…).
    #[default]
    Text,
    /// A worked solution with a final answer.
    Math,
    /// A Python program, checked against public tests when given.
    Code,
    /// A structured design document, checked against the brief's
    /// requirements when it states any.
    Design,
}

/// The critic's judgement of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The critic accepts the answer.
    Correct,
    /// The critic found a problem.
    Incorrect,
    /// The critique had no verdict line.
    Malformed,
}

/// One answer, the verifier's evidence and its critique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The answer.
    pub answer: String,
    /// The critique, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critique: Option<String>,
    /// The verdict, once the critic ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// What the verifier found, once it ran and had something to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Attempt {
    /// An attempt not yet verified or critiqued.
    pub fn new(answer: impl Into<String>) -> Self {
        Attempt {
            answer: answer.into(),
            critique: None,
            verdict: None,
            evidence: None,
        }
    }

    /// Attaches evidence (what a `verify` step does).
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence = Some(evidence);
        self
    }

    /// Whether this attempt is verified: the verifier's verdict when its
    /// evidence decides (all public tests pass, every requirement is met…),
    /// else whether the critic accepted it.
    pub fn verified(&self) -> bool {
        match self.evidence.as_ref().and_then(Evidence::verified) {
            Some(verified) => verified,
            None => self.verdict == Some(Verdict::Correct),
        }
    }

    /// Whether a verifier's evidence decided [`Attempt::verified`], rather
    /// than a critic's opinion.
    pub fn checked(&self) -> bool {
        self.evidence
            .as_ref()
            .is_some_and(|e| e.verified().is_some())
    }

    /// The verifier's score in [0, 1] (public-test pass fraction, share of
    /// requirements met); 0 when nothing was checked.
    pub fn check_fraction(&self) -> f64 {
        self.evidence.as_ref().map_or(0.0, Evidence::fraction)
    }

    /// False when the verifier decided with nothing checked (code that
    /// failed before any public test ran: a syntax error, a crash at
    /// import): among equal pass fractions, code that runs ranks higher.
    pub fn tests_ran(&self) -> bool {
        self.evidence
            .as_ref()
            .is_none_or(|e| e.verified().is_none() || e.total > 0)
    }

    /// The ranking key of [`RefineState::best`]: verified, verifier score,
    /// tests ran.
    pub(crate) fn score(&self) -> (bool, u64, bool) {
        (
            self.verified(),
            (self.check_fraction() * 1_000_000.0) as u64,
            self.tests_ran(),
        )
    }

    /// The final answer [`FinalAnswer`](crate::verifier::FinalAnswer) read
    /// from a math solution (empty when none was found); `None` when that
    /// verifier did not run.
    pub fn final_answer(&self) -> Option<&str> {
        self.evidence
            .as_ref()
            .filter(|e| e.verifier == FINAL_ANSWER)
            .and_then(|e| e.details.get(FINAL_ANSWER))
            .and_then(|v| v.as_str())
    }

    /// The requirement checklist, when a design checklist was graded.
    pub fn checklist(&self) -> Option<Checklist> {
        self.evidence.as_ref().and_then(Checklist::from_evidence)
    }
}

/// State of a self-refine run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefineState {
    /// The task.
    pub task: String,
    /// Kind of task.
    pub kind: TaskKind,
    /// Most answers to produce (the first plus refinements).
    pub max_rounds: u32,
    /// Public tests of a code task (hidden tests never enter the state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_tests: Option<TestSuite>,
    /// Requirements of a design brief, checked one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// Reflexion's episodic memory: verbal lessons from failed trials.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reflections: Vec<String>,
    /// The attempt a selection step picked (best-of-n); when unset,
    /// [`RefineState::best`] ranks the attempts itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<usize>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl RefineState {
    /// A fresh state.
    ///
    /// ```
    /// let s = hone_agents::refine::RefineState::new("Explain CRDTs", hone_agents::refine::TaskKind::Text, 3);
    /// assert!(s.best().is_none());
    /// ```
    pub fn new(task: impl Into<String>, kind: TaskKind, max_rounds: u32) -> Self {
        RefineState {
            task: task.into(),
            kind,
            max_rounds: max_rounds.max(1),
            public_tests: None,
            requirements: Vec::new(),
            reflections: Vec::new(),
            selected: None,
            attempts: Vec::new(),
        }
    }

    /// Adds the requirements a design verifier checks one by one.
    pub fn with_requirements(mut self, requirements: Vec<String>) -> Self {
        self.requirements = requirements;
        self
    }

    /// Adds public tests (code tasks).
    pub fn with_public_tests(mut self, tests: TestSuite) -> Self {
        self.public_tests = Some(tests);
        self
    }

    /// Whether the last attempt is verified.
    pub fn verified(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::verified)
    }

    /// The best answer so far: the selected one when a selection step ran;
    /// otherwise verified beats unverified, then the higher verifier score
    /// (public-test pass fraction, requirements met), then code whose tests
    /// ran at all; among equals, the latest.
    pub fn best(&self) -> Option<&Attempt> {
        self.best_index().map(|i| &self.attempts[i])
    }

    /// Index of [`RefineState::best`] in `attempts`.
    pub fn best_index(&self) -> Option<usize> {
        if let Some(i) = self.selected.filter(|&i| i < self.attempts.len()) {
            return Some(i);
        }
        self.attempts
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (a.score(), *i))
            .map(|(i, _)| i)
    }
}
