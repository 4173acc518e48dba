//! What a mirror run would do with each entry [`crate::entries::resolve`] gives: [`plan`] is the
//! dry run, read-only HEAD requests comparing each source's manifest digest with its target
//! tag's. Saying the result is [`crate::report::plan`]'s business.

use crate::config::model::Config;
use crate::diag::Diagnostic;
use crate::entries::{self, Lookups, PlannedEntry, Section, State, StateKind};
use crate::registry::{Lookup, SOURCE_ABSENT, SOURCE_PRIVATE, Session};
use crate::rules::Options;
use crate::tasks::{Bounded, Ended};
use serde::Serialize;
use std::sync::Arc;

/// How many entries are looked up at once. Each costs two HEAD requests.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Builds the plan for the entries of `config` (with its validation `diagnostics`) that
/// `select` picks, looking up at most `concurrency` entries at a time and telling
/// `looked_up(done, total)` after each.
pub async fn plan(
    config: &Config,
    diagnostics: &[Diagnostic],
    options: &Options,
    session: Arc<Session>,
    select: &(dyn Fn(&PlannedEntry) -> bool + Sync),
    concurrency: usize,
    looked_up: &mut dyn FnMut(usize, usize),
) -> Vec<PlannedEntry> {
    let (mut planned, lookups) = entries::resolve(config, diagnostics, options);
    let mut tasks = Bounded::new(concurrency);
    let mut total = 0;
    for lookup in lookups.into_iter().filter(|l| select(&planned[l.index])) {
        let session = Arc::clone(&session);
        tasks.spawn(
            lookup.index,
            async move { look_up(&session, &lookup).await },
        );
        total += 1;
    }
    let mut done = 0;
    // A lookup that panicked leaves its entry marked as not finished.
    while let Some((index, ended)) = tasks.next().await {
        if let Ended::Finished(state) = ended {
            planned[index].state = state;
        }
        done += 1;
        looked_up(done, total);
    }
    planned.retain(|entry| select(entry));
    planned
}

async fn look_up(session: &Session, lookup: &Lookups) -> State {
    let (source, target) = (&lookup.source, &lookup.target);
    let source_auth = session.credentials.for_source(source);
    let source_digest = match session
        .retry
        .run(source.resolve_registry(), || {
            session.sources.manifest_digest(source, &source_auth)
        })
        .await
        .into()
    {
        Lookup::Found(digest) => digest,
        // ci-images-mirror skips a copy back whose QCI image is gone.
        Lookup::Absent if lookup.section == Section::QciToAppCi => {
            return State::Absent {
                reason: "not in QCI: nothing to copy back".to_owned(),
            };
        }
        Lookup::Absent => {
            return State::Unreachable {
                reason: SOURCE_ABSENT.to_owned(),
            };
        }
        Lookup::Unauthorized => {
            return State::Unreachable {
                reason: SOURCE_PRIVATE.to_owned(),
            };
        }
        Lookup::Failed(reason) => return State::Unreachable { reason },
    };
    let target_auth = session.credentials.for_target(target);
    match session
        .retry
        .run(target.resolve_registry(), || {
            session.target.manifest_digest(target, &target_auth)
        })
        .await
        .into()
    {
        Lookup::Found(digest) if digest == source_digest => State::UpToDate { digest },
        Lookup::Found(digest) => State::Copy {
            source_digest,
            target_digest: Some(digest),
        },
        // Registries answer 401/403 for a tag that does not exist yet as well (ggcr treats both
        // as absent): copying will tell the two apart.
        Lookup::Absent | Lookup::Unauthorized => State::Copy {
            source_digest,
            target_digest: None,
        },
        Lookup::Failed(reason) => State::Unreachable {
            reason: format!("cannot read the target: {reason}"),
        },
    }
}

/// Counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries already mirrored.
    pub up_to_date: usize,
    /// Entries a mirror run would copy.
    pub copy: usize,
    /// Entries whose source could not be read.
    pub unreachable: usize,
    /// Entries with validation errors.
    pub invalid: usize,
    /// Entries whose source is ignored.
    pub ignored: usize,
    /// `qciToAppCIImages` entries whose QCI image does not exist.
    pub absent: usize,
}

impl Counts {
    /// Counts `entries`.
    pub fn of(entries: &[PlannedEntry]) -> Self {
        let mut counts = Counts::default();
        for entry in entries {
            let count = match entry.state.kind() {
                StateKind::UpToDate => &mut counts.up_to_date,
                StateKind::Copy => &mut counts.copy,
                StateKind::Unreachable => &mut counts.unreachable,
                StateKind::Invalid => &mut counts.invalid,
                StateKind::Ignored => &mut counts.ignored,
                StateKind::Absent => &mut counts.absent,
            };
            *count += 1;
        }
        counts
    }
}
