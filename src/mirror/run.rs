//! One mirror run over a config: the selected entries copied concurrently (with [`Event`]s for
//! whoever shows progress), then every entry's result, a [`Report`]. The `mirror` command and
//! the action's push and schedule modes share it; [`crate::report::mirror`] renders the report,
//! so the run never decides how its results read.

use super::{CopyError, Mirror, Outcome, Stage};
use crate::config::model::Config;
use crate::diag::Diagnostic;
use crate::entries::{self, Lookups, PlannedEntry, Section, State};
use crate::registry::Session;
use crate::rules::Options;
use crate::tasks::{Bounded, Ended};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// How a run works.
#[derive(Clone, Copy, Debug)]
pub struct RunSettings {
    /// Entries copied at once.
    pub concurrency: usize,
    /// Keep replaced images under backup tags.
    pub backups: bool,
    /// How often a running copy reports its [`Status`].
    pub tick: std::time::Duration,
    /// The whole run's time: entries not finished by then fail, and the report still comes.
    pub deadline: std::time::Duration,
}

/// The default [`RunSettings::deadline`]: 340 minutes, inside the 360 a GitHub Actions job
/// may run, so the report and the job summary are written before the runner kills the job.
pub const DEFAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(340 * 60);

/// What a run did.
#[derive(Debug)]
pub struct Report {
    /// Every selected entry, in config order.
    pub entries: Vec<Mirrored>,
    /// Bytes streamed into the target.
    pub bytes_uploaded: u64,
    /// Blobs streamed into the target.
    pub blobs_uploaded: u64,
    /// Blobs mounted from another repository.
    pub blobs_mounted: u64,
    /// Blobs the target had already.
    pub blobs_existing: u64,
}

impl Report {
    /// Entries that failed or could not be tried because they are invalid.
    pub fn failed(&self) -> usize {
        let counts = Counts::of(&self.entries);
        counts.failed + counts.invalid
    }
}

/// Entries by result; `counts` in JSON, in the order the totals line names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Copied, the tag now on the source's digest.
    pub copied: usize,
    /// Already on the source's digest.
    pub up_to_date: usize,
    /// Tried and failed; the tag was not moved.
    pub failed: usize,
    /// Not tried: validation errors.
    pub invalid: usize,
    /// Not tried: the source is in `ignoredSources`.
    pub ignored: usize,
    /// Not tried: a `qciToAppCIImages` entry with nothing in QCI.
    pub absent: usize,
}

impl Counts {
    /// Counts `entries`.
    pub fn of(entries: &[Mirrored]) -> Self {
        let mut counts = Counts::default();
        for entry in entries {
            let count = match entry.result.kind() {
                ResultKind::Copied => &mut counts.copied,
                ResultKind::UpToDate => &mut counts.up_to_date,
                ResultKind::Failed => &mut counts.failed,
                ResultKind::Invalid => &mut counts.invalid,
                ResultKind::Ignored => &mut counts.ignored,
                ResultKind::Absent => &mut counts.absent,
            };
            *count += 1;
        }
        counts
    }
}

/// One entry's result in a mirror run.
#[derive(Debug, serde::Serialize)]
pub struct Mirrored {
    /// Which section the entry is in: which way it copies.
    pub section: Section,
    /// The config key.
    pub key: String,
    /// Its line in the config.
    pub line: u32,
    /// The source pull spec.
    pub source: String,
    /// The target reference.
    pub target: String,
    /// What happened.
    #[serde(flatten)]
    pub result: MirrorResult,
}

/// What became of an entry.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum MirrorResult {
    /// Copied or already up to date.
    Done(Outcome),
    /// The copy failed; the tag was not moved.
    #[serde(serialize_with = "failed_fields")]
    Failed {
        /// At which step, and why.
        error: CopyError,
    },
    /// Not attempted: `invalid` (validation errors), `ignored` (`ignoredSources`) or `absent`
    /// (a copy back to app.ci with nothing in QCI).
    Skipped {
        /// Why not.
        result: Skip,
        /// Why.
        reason: String,
    },
}

impl MirrorResult {
    /// Which of the documented results it is.
    pub fn kind(&self) -> ResultKind {
        match self {
            MirrorResult::Done(Outcome::Copied { .. }) => ResultKind::Copied,
            MirrorResult::Done(Outcome::UpToDate { .. }) => ResultKind::UpToDate,
            MirrorResult::Done(Outcome::SourceAbsent) => ResultKind::Absent,
            MirrorResult::Failed { .. } => ResultKind::Failed,
            MirrorResult::Skipped { result, .. } => result.kind(),
        }
    }
}

/// A failure's fields as the other results have theirs: `result` first, then the error's.
fn failed_fields<S: serde::Serializer>(
    error: &CopyError,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(serde::Serialize)]
    struct Failed<'a> {
        result: ResultKind,
        #[serde(flatten)]
        error: &'a CopyError,
    }
    serde::Serialize::serialize(
        &Failed {
            result: ResultKind::Failed,
            error,
        },
        serializer,
    )
}

/// An entry's result, `result` in JSON: a stable value listed in `docs/json-output.md`, in the
/// order of [`Counts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResultKind {
    /// Copied, the tag now on the source's digest.
    Copied,
    /// Already on the source's digest.
    UpToDate,
    /// Tried and failed.
    Failed,
    /// Not tried: validation errors.
    Invalid,
    /// Not tried: the source is in `ignoredSources`.
    Ignored,
    /// Nothing in QCI to copy back.
    Absent,
}

impl ResultKind {
    /// Its name in reports, the same as its JSON value.
    pub const fn name(self) -> &'static str {
        match self {
            ResultKind::Copied => "copied",
            ResultKind::UpToDate => "up-to-date",
            ResultKind::Failed => "failed",
            ResultKind::Invalid => "invalid",
            ResultKind::Ignored => "ignored",
            ResultKind::Absent => "absent",
        }
    }
}

impl std::fmt::Display for ResultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an entry was not tried; `invalid`, `ignored` and `absent` in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    /// It has validation errors.
    Invalid,
    /// Its source is in `ignoredSources`.
    Ignored,
    /// A `qciToAppCIImages` entry whose QCI image does not exist (skipped, as
    /// ci-images-mirror skips it).
    Absent,
}

impl Skip {
    /// The result it is reported as.
    pub const fn kind(self) -> ResultKind {
        match self {
            Skip::Invalid => ResultKind::Invalid,
            Skip::Ignored => ResultKind::Ignored,
            Skip::Absent => ResultKind::Absent,
        }
    }
}

/// Why a copy back to app.ci did nothing.
pub(crate) const NOT_IN_QCI: &str = "not in QCI: nothing to copy back";

/// Where a task stands in the run's two phases: copies into QCI first, then back to app.ci.
enum Phase {
    IntoQci(tokio::sync::OwnedRwLockReadGuard<()>),
    BackToAppCi(Arc<tokio::sync::RwLock<()>>),
}

/// What a run tells whoever watches it (see [`crate::report::progress::Watcher`]), as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The copies start.
    Started {
        /// Entries to copy.
        total: usize,
    },
    /// An entry is done.
    Finished {
        /// Its target and source.
        entry: &'a PlannedEntry,
        /// What became of it.
        result: &'a MirrorResult,
        /// Where the run stands, this entry counted as done.
        status: Status,
    },
    /// Now and then while copies run.
    Tick(Status),
    /// Every copy has ended, or the run is out of time.
    Ended,
}

/// Where a run stands.
#[derive(Clone, Copy, Debug)]
pub struct Status {
    /// Entries done.
    pub done: usize,
    /// Entries to copy.
    pub total: usize,
    /// Copies running now.
    pub active: usize,
    /// Bytes streamed so far.
    pub bytes_streamed: u64,
    /// Since the run started.
    pub elapsed: std::time::Duration,
}

/// Mirrors the entries of `config` that `select` picks, through `session`, telling `watch`
/// how it goes.
pub fn run(
    config: &Config,
    diagnostics: &[Diagnostic],
    options: &Options,
    session: Session,
    select: &dyn Fn(&PlannedEntry) -> bool,
    settings: RunSettings,
    watch: &mut dyn FnMut(Event<'_>),
) -> Result<Report, crate::RuntimeError> {
    let (planned, lookups) = entries::resolve(config, diagnostics, options);
    let mirror = Arc::new(Mirror::new(session).with_backups(settings.backups));
    let runtime = crate::current_thread_runtime()?;
    let mut results: Vec<Option<MirrorResult>> = planned.iter().map(skipped).collect();
    let work: Vec<_> = lookups
        .into_iter()
        .filter(|l| select(&planned[l.index]))
        .collect();
    let total = work.len();
    let started = std::time::Instant::now();
    watch(Event::Started { total });
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    runtime.block_on(async {
        let mut tasks = Bounded::new(settings.concurrency)
            .until(tokio::time::Instant::now() + settings.deadline);
        spawn_copies(&mut tasks, work, &mirror, &active).await;
        let mut ticks = tokio::time::interval(settings.tick);
        ticks.tick().await; // the first tick is immediate
        let mut done = 0;
        let status = |done: usize| Status {
            done,
            total,
            active: active.load(Ordering::Relaxed),
            bytes_streamed: mirror.stats.bytes_streamed.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        };
        loop {
            tokio::select! {
                ended = tasks.next() => {
                    let Some((index, ended)) = ended else { break };
                    done += 1;
                    let result = entry_result(ended, settings.deadline);
                    watch(Event::Finished {
                        entry: &planned[index],
                        result: &result,
                        status: status(done),
                    });
                    results[index] = Some(result);
                }
                _ = ticks.tick() => watch(Event::Tick(status(done))),
            }
        }
    });
    watch(Event::Ended);
    let entries: Vec<Mirrored> = planned
        .into_iter()
        .zip(results)
        .filter(|(entry, _)| select(entry))
        .map(|(entry, result)| Mirrored {
            section: entry.section,
            key: entry.key,
            line: entry.line,
            source: entry.source,
            target: entry.target,
            result: result.unwrap_or_else(|| {
                failed(Stage::Internal, "the copy was never started".to_owned())
            }),
        })
        .collect();
    let stats = &mirror.stats;
    Ok(Report {
        entries,
        bytes_uploaded: stats.bytes_uploaded.load(Ordering::Relaxed),
        blobs_uploaded: stats.blobs_uploaded.load(Ordering::Relaxed),
        blobs_mounted: stats.blobs_mounted.load(Ordering::Relaxed),
        blobs_existing: stats.blobs_existing.load(Ordering::Relaxed),
    })
}

/// Starts a copy per lookup. Copies back to app.ci read QCI tags that this run may be moving:
/// they wait until every copy into QCI has finished (each holds a read guard, taken before
/// any copy back asks for the write lock), so they copy back what QCI holds after the run.
async fn spawn_copies(
    tasks: &mut Bounded<Result<Outcome, CopyError>>,
    work: Vec<Lookups>,
    mirror: &Arc<Mirror>,
    active: &Arc<std::sync::atomic::AtomicUsize>,
) {
    let into_qci_done = Arc::new(tokio::sync::RwLock::new(()));
    for lookup in work {
        let phase = match lookup.section {
            Section::Supplemental => Phase::IntoQci(Arc::clone(&into_qci_done).read_owned().await),
            Section::QciToAppCi => Phase::BackToAppCi(Arc::clone(&into_qci_done)),
        };
        let (mirror, active) = (Arc::clone(mirror), Arc::clone(active));
        tasks.spawn(lookup.index, async move {
            let _copying_into_qci = match phase {
                Phase::IntoQci(guard) => Some(guard),
                Phase::BackToAppCi(copies_into_qci) => {
                    drop(copies_into_qci.write().await);
                    None
                }
            };
            active.fetch_add(1, Ordering::Relaxed);
            let result = match lookup.section {
                Section::Supplemental => mirror.mirror(&lookup.source, &lookup.target).await,
                Section::QciToAppCi => mirror.copy_back(&lookup.source, &lookup.target).await,
            };
            active.fetch_sub(1, Ordering::Relaxed);
            result
        });
    }
}

/// The result an entry has without a copy: invalid or ignored; `None` for those to copy.
fn skipped(entry: &PlannedEntry) -> Option<MirrorResult> {
    match &entry.state {
        State::Invalid { reason } => Some(MirrorResult::Skipped {
            result: Skip::Invalid,
            reason: reason.clone(),
        }),
        State::Ignored => Some(MirrorResult::Skipped {
            result: Skip::Ignored,
            reason: "listed in ignoredSources".to_owned(),
        }),
        _ => None,
    }
}

/// What a copy's end means for its entry.
fn entry_result(
    ended: Ended<Result<Outcome, CopyError>>,
    deadline: std::time::Duration,
) -> MirrorResult {
    match ended {
        Ended::Finished(Ok(Outcome::SourceAbsent)) => MirrorResult::Skipped {
            result: Skip::Absent,
            reason: NOT_IN_QCI.to_owned(),
        },
        Ended::Finished(Ok(outcome)) => MirrorResult::Done(outcome),
        Ended::Finished(Err(error)) => MirrorResult::Failed { error },
        // Copies in flight stop where they are: the tag is written last, so nothing is left
        // half-moved.
        Ended::OutOfTime => failed(
            Stage::Deadline,
            format!(
                "not finished within the run's {} minutes; the next run takes it up",
                deadline.as_secs() / 60
            ),
        ),
        Ended::Panicked => failed(Stage::Internal, "the copy did not finish".to_owned()),
    }
}

fn failed(stage: Stage, reason: String) -> MirrorResult {
    MirrorResult::Failed {
        error: CopyError {
            stage,
            reason,
            backup: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_is_named_as_in_json() {
        let why = || "why".to_owned();
        let results = [
            MirrorResult::Done(Outcome::Copied {
                digest: why(),
                replaced: None,
                backup: None,
            }),
            MirrorResult::Done(Outcome::UpToDate { digest: why() }),
            MirrorResult::Done(Outcome::SourceAbsent),
            failed(Stage::Blob, why()),
            MirrorResult::Skipped {
                result: Skip::Invalid,
                reason: why(),
            },
            MirrorResult::Skipped {
                result: Skip::Ignored,
                reason: why(),
            },
            MirrorResult::Skipped {
                result: Skip::Absent,
                reason: why(),
            },
        ];
        for result in results {
            let json = serde_json::to_value(&result).unwrap();
            assert_eq!(json["result"], result.kind().name());
            assert_eq!(serde_json::to_value(result.kind()).unwrap(), json["result"]);
            assert_eq!(result.kind().to_string(), result.kind().name());
        }
    }
}
