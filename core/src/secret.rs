//! [`ApiKey`]: a secret that never shows in `Debug` or `Display` output.
//!
//! Always compiled (the config resolver holds keys even without the
//! `openai` feature); re-exported as `hone_core::openai::ApiKey`.

use std::convert::Infallible;
use std::str::FromStr;

/// An API key. Its `Debug` and `Display` print `***`.
///
/// ```
/// let key = hone_core::ApiKey::new("sk-secret");
/// assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
/// assert_eq!(key.expose(), "sk-secret");
/// let parsed: hone_core::ApiKey = "sk-secret".parse().unwrap();
/// assert_eq!(parsed, key);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    /// The key itself, for the HTTP header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the key is empty or only whitespace (treated as no key).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

/// Read from config files. There is deliberately no `Serialize`: a key
/// never goes into a log, a cache or a checkpoint.
impl<'de> serde::Deserialize<'de> for ApiKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ApiKey)
    }
}

impl FromStr for ApiKey {
    type Err = Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ApiKey::new(s))
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}
