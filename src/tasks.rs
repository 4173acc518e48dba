//! Work on many entries at once, bounded: at most a given number of tasks run at a time, and
//! none runs past an optional deadline. Plans, mirror runs and network checks all go through
//! [`Bounded`], so each entry's outcome comes back by its index, whatever happened to it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

/// How one task ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended<T> {
    /// It finished with this.
    Finished(T),
    /// The deadline came first (waiting for a slot counts too): the task was stopped where it
    /// was.
    OutOfTime,
    /// It panicked (a bug): its entry has no outcome.
    Panicked,
}

/// Tasks keyed by an index, at most `limit` running at once.
pub struct Bounded<T> {
    slots: Arc<Semaphore>,
    deadline: Option<Instant>,
    tasks: JoinSet<Ended<T>>,
    indexes: HashMap<Id, usize>,
}

impl<T: Send + 'static> Bounded<T> {
    /// At most `limit` tasks at a time (at least one).
    pub fn new(limit: usize) -> Self {
        Bounded {
            slots: Arc::new(Semaphore::new(limit.max(1))),
            deadline: None,
            tasks: JoinSet::new(),
            indexes: HashMap::new(),
        }
    }

    /// Tasks not finished by `deadline` end as [`Ended::OutOfTime`].
    #[must_use]
    pub fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Starts `work` for entry `index` as soon as a slot is free.
    pub fn spawn(&mut self, index: usize, work: impl Future<Output = T> + Send + 'static) {
        let (slots, deadline) = (Arc::clone(&self.slots), self.deadline);
        let task = self.tasks.spawn(async move {
            let slotted = async {
                let _slot = slots.acquire_owned().await;
                work.await
            };
            match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, slotted)
                    .await
                    .map_or(Ended::OutOfTime, Ended::Finished),
                None => Ended::Finished(slotted.await),
            }
        });
        self.indexes.insert(task.id(), index);
    }

    /// The next task to end, with its index; `None` once all have.
    pub async fn next(&mut self) -> Option<(usize, Ended<T>)> {
        let joined = self.tasks.join_next_with_id().await?;
        Some(match joined {
            Ok((id, ended)) => (self.indexes.remove(&id).unwrap_or_default(), ended),
            Err(error) => (
                self.indexes.remove(&error.id()).unwrap_or_default(),
                Ended::Panicked,
            ),
        })
    }

    /// Runs every task to its end; the outcomes by index (`None` where no task was spawned).
    pub async fn all(mut self, count: usize) -> Vec<Option<Ended<T>>> {
        let mut ended: Vec<Option<Ended<T>>> =
            std::iter::repeat_with(|| None).take(count).collect();
        while let Some((index, outcome)) = self.next().await {
            if let Some(slot) = ended.get_mut(index) {
                *slot = Some(outcome);
            }
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn never_more_than_the_limit_run_and_each_outcome_keeps_its_index() {
        runtime().block_on(async {
            let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
            let mut tasks = Bounded::new(3);
            for index in 0..10 {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                tasks.spawn(index, async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10 * (10 - index as u64))).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    index * 2
                });
            }
            let ended = tasks.all(10).await;
            assert_eq!(most.load(Ordering::SeqCst), 3);
            for (index, outcome) in ended.into_iter().enumerate() {
                assert_eq!(outcome, Some(Ended::Finished(index * 2)));
            }
        });
    }

    #[test]
    fn past_the_deadline_waiting_and_running_tasks_end_out_of_time_and_a_panic_keeps_its_index() {
        runtime().block_on(async {
            let mut tasks = Bounded::new(1).until(Instant::now() + Duration::from_secs(5));
            tasks.spawn(0, async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                "quick"
            });
            // Runs past the deadline; the task after it never gets a slot in time.
            tasks.spawn(1, async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "slow"
            });
            tasks.spawn(2, async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                "starved"
            });
            let ended = tasks.all(4).await;
            assert_eq!(
                ended,
                [
                    Some(Ended::Finished("quick")),
                    Some(Ended::OutOfTime),
                    Some(Ended::OutOfTime),
                    None,
                ]
            );

            let mut buggy = Bounded::new(2);
            buggy.spawn(0, async { "fine" });
            buggy.spawn(1, async { panic!("a bug") });
            assert_eq!(
                buggy.all(2).await,
                [Some(Ended::Finished("fine")), Some(Ended::Panicked)]
            );
        });
    }
}
