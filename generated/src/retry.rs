//! Retrying safely: requests that cannot take effect twice (GET, HEAD, PUT, DELETE) are sent
//! again after a 429, 502, 503, 504 or a failure to reach Clerk Chat, with jittered backoff
//! that honours `Retry-After`, within a total budget. A POST (a send, a campaign, a new
//! contact) is never sent again by the SDK: a retry could text people twice.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

use crate::sdk::Client;

/// How a [`Client`] retries the requests it may retry (see the module's rules); part of
/// [`crate::ClientOptions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    budget: Duration,
    first_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, starting at 200 ms and doubling, all within 10 s.
    fn default() -> Self {
        RetryPolicy { max_retries: 2, budget: Duration::from_secs(10), first_backoff: Duration::from_millis(200) }
    }
}

impl RetryPolicy {
    /// No retries: every failure is the caller's to handle.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// At most `retries` retries of one request.
    pub fn max_retries(mut self, retries: u32) -> RetryPolicy {
        self.max_retries = retries;
        self
    }

    /// All attempts of one request, waits included, end within `budget`: a retry that would
    /// have to wait past it is not made.
    pub fn budget(mut self, budget: Duration) -> RetryPolicy {
        self.budget = budget;
        self
    }

    /// The wait before the first retry, doubled for each next one, with up to half of it
    /// added at random so that clients do not retry in step.
    pub fn first_backoff(mut self, backoff: Duration) -> RetryPolicy {
        self.first_backoff = backoff;
        self
    }

    /// The wait before retry number `retry` (from 0), when the answer names none.
    fn backoff(&self, retry: u32) -> Duration {
        let base = self.first_backoff.saturating_mul(2_u32.saturating_pow(retry));
        // std's RandomState is seeded from the OS: enough randomness for jitter without a crate.
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        base + base.mul_f64((random % 1000) as f64 / 2000.0)
    }
}

/// Whether a status means "try again later" rather than "this request is wrong": the one
/// classification behind [`crate::ErrorExt::is_retryable`] and the MCP tools' errors.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a request failed without an answer: Clerk Chat could not be reached, or not in time.
pub(crate) fn no_answer(error: &reqwest::Error) -> bool {
    error.is_connect() || error.is_timeout() || error.is_request()
}

/// Whether sending `method` twice has the effect of sending it once.
fn may_repeat(method: &reqwest::Method) -> bool {
    matches!(*method, reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::PUT | reqwest::Method::DELETE)
}

/// The wait a `Retry-After` header asks for, in seconds (an HTTP date is not read).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

/// The wait an answer asks for before a retry, or `None` when it is not worth retrying.
fn wait_after(outcome: &reqwest::Result<reqwest::Response>, policy: &RetryPolicy, retry: u32) -> Option<Duration> {
    match outcome {
        // Of the retryable statuses, those saying Clerk Chat is busy or out of reach; a 408 or
        // a 500 answers this request, which only a caller who decides so sends again.
        Ok(response) if matches!(response.status().as_u16(), 429 | 502 | 503 | 504) => {
            // Retry-After in seconds; an HTTP date falls back to the backoff.
            Some(retry_after(response.headers()).unwrap_or_else(|| policy.backoff(retry)))
        }
        Ok(_) => None,
        Err(error) if no_answer(error) => Some(policy.backoff(retry)),
        Err(_) => None,
    }
}

impl ClientHooks<RetryPolicy> for Client {
    async fn exec(&self, request: reqwest::Request, _info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
        let policy = self.inner();
        if !may_repeat(request.method()) || policy.max_retries == 0 {
            return self.client().execute(request).await;
        }
        let started = Instant::now();
        let mut retry = 0;
        loop {
            // A body that cannot be copied (a stream) is sent once.
            let Some(attempt) = request.try_clone() else { return self.client().execute(request).await };
            let outcome = self.client().execute(attempt).await;
            match wait_after(&outcome, policy, retry) {
                Some(wait) if retry < policy.max_retries && started.elapsed() + wait <= policy.budget => {
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
                _ => return outcome,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_that_cannot_take_effect_twice_may_repeat() {
        assert!(may_repeat(&reqwest::Method::GET) && may_repeat(&reqwest::Method::PUT) && may_repeat(&reqwest::Method::DELETE));
        assert!(!may_repeat(&reqwest::Method::POST) && !may_repeat(&reqwest::Method::PATCH));
    }

    #[test]
    fn backoff_doubles_with_up_to_half_again_of_jitter() {
        let policy = RetryPolicy::default().first_backoff(Duration::from_millis(100));
        for (retry, base) in [(0, 100), (1, 200), (2, 400)] {
            let wait = policy.backoff(retry);
            assert!(wait >= Duration::from_millis(base) && wait <= Duration::from_millis(base * 3 / 2), "retry {retry}: {wait:?}");
        }
    }
}
