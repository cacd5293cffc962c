//! Retries: the policy, `Retry-After` parsing, and the transport that
//! retries each request with per-attempt timeouts under a per-endpoint
//! concurrency limit.

use super::*;

/// When and how long to wait before retrying a failed request.
///
/// The delay before retry `k` (0-based) is the server's `Retry-After` when it
/// sent one (capped at [`RetryPolicy::max_delay`]), else a uniformly random
/// duration in `[0, min(max_delay, base_delay * 2^k)]` ("full jitter").
///
/// ```
/// use std::time::Duration;
/// use hone_core::openai::RetryPolicy;
/// let p = RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
/// assert!(p.delay(2, None) <= Duration::from_millis(400));
/// assert_eq!(p.delay(0, Some(Duration::from_secs(1))), Duration::from_secs(1));
/// assert_eq!(p.delay(0, Some(Duration::from_secs(60))), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step.
    pub base_delay: Duration,
    /// Longest wait, whatever the server asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(30)));
        let cap = exp.min(self.max_delay);
        let millis = cap.as_millis() as u64;
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=millis))
    }
}

/// Parses an HTTP `Retry-After` value: delta-seconds (possibly fractional,
/// as some servers send) or an HTTP date.
///
/// ```
/// use std::time::Duration;
/// use hone_core::openai::parse_retry_after;
/// assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
/// assert_eq!(parse_retry_after("soon"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = httpdate_to_unix(value)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(when.saturating_sub(now)))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
pub(super) fn httpdate_to_unix(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let day: u64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as u64
        + 1;
    let year: u64 = parts[3].parse().ok()?;
    let hms: Vec<u64> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 || year < 1970 {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// The tower service under async-openai: executes each attempt with a timeout
/// and retries transient failures.
#[derive(Clone)]
pub(super) struct RetryingTransport {
    pub(super) client: reqwest::Client,
    pub(super) retry: RetryPolicy,
    pub(super) attempt_timeout: Duration,
}

/// A timeout surfaced through async-openai's boxed middleware error.
#[derive(Debug, thiserror::Error)]
#[error("no response within {0:?}")]
pub(super) struct AttemptTimeout(pub(super) Duration);

impl tower::Service<HttpRequestFactory> for RetryingTransport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let mut retry = 0u32;
            loop {
                let request = factory.build().await?;
                let can_retry = retry < this.retry.max_retries;
                let outcome =
                    tokio::time::timeout(this.attempt_timeout, this.client.execute(request)).await;
                let wait = match outcome {
                    Ok(Ok(response)) => {
                        let status = response.status();
                        let transient = status.as_u16() == 429 || status.is_server_error();
                        if !transient || !can_retry {
                            return Ok(response);
                        }
                        let after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(parse_retry_after);
                        tracing::warn!(%status, retry, retry_after = ?after, "transient HTTP status, retrying");
                        this.retry.delay(retry, after)
                    }
                    Ok(Err(e)) => {
                        let transient = e.is_connect() || e.is_timeout() || e.is_request();
                        if !transient || !can_retry {
                            return Err(OpenAIError::Reqwest(e));
                        }
                        tracing::warn!(error = %e, retry, "transport error, retrying");
                        this.retry.delay(retry, None)
                    }
                    Err(_) => {
                        if !can_retry {
                            return Err(OpenAIError::Boxed(Box::new(AttemptTimeout(
                                this.attempt_timeout,
                            ))));
                        }
                        tracing::warn!(timeout = ?this.attempt_timeout, retry, "request timed out, retrying");
                        this.retry.delay(retry, None)
                    }
                };
                tokio::time::sleep(wait).await;
                retry += 1;
            }
        })
    }
}

pub(super) fn endpoint_semaphore(base_url: &str, permits: usize) -> Arc<Semaphore> {
    static LIMITS: OnceLock<Mutex<HashMap<String, Arc<Semaphore>>>> = OnceLock::new();
    let map = LIMITS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(base_url.to_string())
        .or_insert_with(|| Arc::new(Semaphore::new(permits)))
        .clone()
}
