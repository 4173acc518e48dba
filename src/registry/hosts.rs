//! Per-registry-host limits: at most `limit` requests in flight to one host, and a pause for the
//! whole host when it asks for one (429 or 503 with `Retry-After`). A pause holds back every
//! entry, not only the request that was told, as regclient does: the registry counts all of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest pause honoured at once; a longer `Retry-After` is waited out in steps, each
/// retry spending the run's retry budget, so a registry cannot stall a run for hours.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Requests in flight per host unless told otherwise (the incumbent uses 20 toward quay.io;
/// oc 6; regclient 3).
pub const DEFAULT_LIMIT: usize = 8;

/// Every host this run talks to.
#[derive(Debug)]
pub struct Hosts {
    limit: usize,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

#[derive(Debug)]
struct Host {
    slots: Arc<Semaphore>,
    resume_at: Mutex<Option<Instant>>,
}

/// A request slot on one host, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Hosts {
    /// At most `limit` requests at once per host (at least one).
    pub fn new(limit: usize) -> Self {
        Hosts {
            limit: limit.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, name: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(hosts.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Host {
                slots: Arc::new(Semaphore::new(self.limit)),
                resume_at: Mutex::new(None),
            })
        }))
    }

    /// Waits out any pause on `host`, then for a free slot.
    pub async fn enter(&self, host: &str) -> Slot {
        let host = self.host(host);
        loop {
            let resume_at = *host.resume_at.lock().unwrap_or_else(|e| e.into_inner());
            match resume_at {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => break,
            }
        }
        let permit = Arc::clone(&host.slots)
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        Slot { _permit: permit }
    }

    /// Slots on two hosts for one request that spans both (a blob streamed from one into the
    /// other). Taken in name order, so two such requests going opposite ways cannot each hold
    /// one slot and wait forever for the other; one slot when both are the same host.
    pub async fn enter_both(&self, first: &str, second: &str) -> (Slot, Option<Slot>) {
        if first == second {
            return (self.enter(first).await, None);
        }
        let (low, high) = if first < second {
            (first, second)
        } else {
            (second, first)
        };
        let low = self.enter(low).await;
        let high = self.enter(high).await;
        (low, Some(high))
    }

    /// Holds back every request to `host` for `duration` (at most [`MAX_PAUSE`]).
    pub fn pause(&self, host: &str, duration: Duration) {
        let until = Instant::now() + duration.min(MAX_PAUSE);
        let host = self.host(host);
        let mut resume_at = host.resume_at.lock().unwrap_or_else(|e| e.into_inner());
        if resume_at.is_none_or(|at| at < until) {
            *resume_at = Some(until);
        }
    }
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts::new(DEFAULT_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_host_lets_in_at_most_its_limit() {
        let hosts = Hosts::new(2);
        let a = hosts.enter("a").await;
        let _b = hosts.enter("a").await;
        // A third request waits; another host is not affected.
        let third = tokio::time::timeout(Duration::from_secs(1), hosts.enter("a")).await;
        assert!(third.is_err(), "a third slot was given out");
        let _other = hosts.enter("b").await;
        drop(a);
        let third = tokio::time::timeout(Duration::from_secs(1), hosts.enter("a")).await;
        assert!(third.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_the_host_for_its_duration_and_no_longer_than_the_cap() {
        let hosts = Hosts::new(4);
        hosts.pause("a", Duration::from_secs(3));
        let started = Instant::now();
        let _slot = hosts.enter("a").await;
        assert_eq!(started.elapsed().as_secs(), 3);
        // A shorter pause does not cut a longer one short.
        hosts.pause("a", Duration::from_secs(600));
        hosts.pause("a", Duration::from_secs(1));
        let started = Instant::now();
        let _slot = hosts.enter("a").await;
        assert_eq!(started.elapsed(), MAX_PAUSE);
        let started = Instant::now();
        let _slot = hosts.enter("b").await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn both_ends_of_a_stream_are_held_and_a_shared_host_counts_once() {
        let hosts = Hosts::new(1);
        let (_x, y) = hosts.enter_both("src", "src").await;
        assert!(y.is_none());
        let (_p, q) = hosts.enter_both("dst", "other").await;
        assert!(q.is_some());
        let blocked = tokio::time::timeout(Duration::from_secs(1), hosts.enter("other")).await;
        assert!(blocked.is_err());
    }
}
