//! Retries for temporary registry failures: 408, 429, 5xx, dropped connections and streams that
//! broke or arrived corrupted. Exponential backoff per operation, or exactly the wait the
//! registry asked for (`Retry-After`), a budget per registry host, so one broken registry cannot
//! spend the retries every other host needs, and a ceiling for the whole run, so registries that
//! keep failing end the run instead of stretching it for hours.

use super::client::HttpError;
use super::hosts::MAX_PAUSE;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How hard to try.
#[derive(Debug)]
pub struct RetryPolicy {
    /// The first wait; each retry doubles it.
    pub base_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
    /// Tries per operation, the first included.
    pub attempts: u32,
    /// Retries left for the whole run.
    budget: AtomicU32,
    /// The most retries one host may take.
    per_host: u32,
    /// Retries taken, by host.
    taken: Mutex<HashMap<String, u32>>,
}

impl RetryPolicy {
    /// A policy with `retries` retries for the whole run, at most half of them for any one
    /// host (see [`Self::with_host_budget`]).
    pub fn new(base_delay: Duration, max_delay: Duration, attempts: u32, retries: u32) -> Self {
        RetryPolicy {
            base_delay,
            max_delay,
            attempts,
            budget: AtomicU32::new(retries),
            per_host: retries.div_ceil(2),
            taken: Mutex::new(HashMap::new()),
        }
    }

    /// At most `retries` retries for any one host.
    #[must_use]
    pub fn with_host_budget(mut self, retries: u32) -> Self {
        self.per_host = retries;
        self
    }

    /// Retries left in the run's budget.
    pub fn retries_left(&self) -> u32 {
        self.budget.load(Ordering::Relaxed)
    }

    fn take_retry(&self, host: &str) -> bool {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let by_host = taken.entry(host.to_owned()).or_default();
        if *by_host >= self.per_host {
            return false;
        }
        let in_run = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if in_run {
            *by_host += 1;
        }
        in_run
    }

    /// Runs `operation` against `host`, again after a wait while it fails temporarily and tries
    /// and budgets (the host's and the run's) last.
    pub async fn run<T, E, F, Fut>(&self, host: &str, mut operation: F) -> Result<T, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            match operation().await {
                Ok(value) => return Ok(value),
                Err(error)
                    if error.is_temporary()
                        && attempt + 1 < self.attempts
                        && self.take_retry(host) =>
                {
                    let delay = error.retry_after().map_or_else(
                        || {
                            self.base_delay
                                .saturating_mul(1 << attempt.min(16))
                                .min(self.max_delay)
                        },
                        |asked| asked.min(MAX_PAUSE),
                    );
                    tracing::debug!(
                        "{host}: try {} of {} in {} ms, after: {error}",
                        attempt + 2,
                        self.attempts,
                        delay.as_millis()
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => {
                    if error.is_temporary() {
                        tracing::debug!(
                            "{host}: no more tries ({} made; {} retries left in the run): {error}",
                            attempt + 1,
                            self.retries_left()
                        );
                    }
                    return Err(error);
                }
            }
        }
    }
}

impl Default for RetryPolicy {
    /// 5 tries per operation (0.5 s, 1 s, 2 s, 4 s between them), 50 retries per host and 150
    /// per run.
    fn default() -> Self {
        RetryPolicy::new(Duration::from_millis(500), Duration::from_secs(8), 5, 150)
            .with_host_budget(50)
    }
}

/// An error that may go away when the request is made again.
pub trait Retryable {
    /// Whether trying again may succeed.
    fn is_temporary(&self) -> bool;
    /// How long the server asked us to wait before trying again.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl Retryable for HttpError {
    fn is_temporary(&self) -> bool {
        HttpError::is_temporary(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        HttpError::retry_after(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn server_error(status: u16) -> HttpError {
        HttpError::Status {
            url: "http://127.0.0.1/v2/".to_owned(),
            status,
            message: None,
            codes: Vec::new(),
            retry_after: None,
        }
    }

    #[test]
    fn temporary_errors_are_told_apart() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(server_error(code).is_temporary(), "{code}");
        }
        for code in [400, 401, 403, 404] {
            assert!(!server_error(code).is_temporary(), "{code}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_waits_as_long_as_the_server_asked_and_no_longer_than_the_cap() {
        let policy = RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(2), 3, 10);
        for (asked, waited) in [(3, 3), (600, MAX_PAUSE.as_secs())] {
            let calls = AtomicUsize::new(0);
            let started = tokio::time::Instant::now();
            let result = policy
                .run("h", || async {
                    if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                        Err(HttpError::Status {
                            url: String::new(),
                            status: 429,
                            message: None,
                            codes: Vec::new(),
                            retry_after: Some(Duration::from_secs(asked)),
                        })
                    } else {
                        Ok(())
                    }
                })
                .await;
            assert!(result.is_ok());
            assert_eq!(started.elapsed().as_secs(), waited);
        }
    }

    #[tokio::test]
    async fn retries_until_success_within_the_attempts_and_spends_the_budget() {
        let policy = RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(2), 3, 10);
        let calls = AtomicUsize::new(0);
        let result = policy
            .run("h", || async {
                if calls.fetch_add(1, Ordering::Relaxed) < 2 {
                    Err(server_error(503))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        assert_eq!(policy.retries_left(), 8);

        // Permanent errors are not retried; an exhausted budget stops retries.
        let calls = AtomicUsize::new(0);
        let result: Result<(), _> = policy
            .run("h", || async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(server_error(404))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        let empty = RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(1), 5, 0);
        let calls = AtomicUsize::new(0);
        let _: Result<(), _> = empty
            .run("h", || async {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(server_error(500))
            })
            .await;
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_host_that_keeps_failing_spends_only_its_own_retries() {
        let policy = RetryPolicy::new(Duration::from_millis(1), Duration::from_millis(1), 5, 20)
            .with_host_budget(4);
        // Thirty operations on a host that answers 503 to everything.
        for _ in 0..30 {
            let _: Result<(), _> = policy
                .run("broken.example", || async { Err(server_error(503)) })
                .await;
        }
        assert_eq!(policy.retries_left(), 16, "the broken host took only its 4");
        // A healthy host's single 503 is still retried.
        let calls = AtomicUsize::new(0);
        let result = policy
            .run("healthy.example", || async {
                if calls.fetch_add(1, Ordering::Relaxed) == 0 {
                    Err(server_error(503))
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::Relaxed), 2);
    }
}
