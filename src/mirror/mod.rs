//! The copy engine: one source image to one target tag, digest-exact.
//!
//! The order follows the best peers (go-containerregistry's `crane copy`, regclient): HEAD the target and the source and stop if equal;
//! fetch the source manifest's raw bytes; copy children before their index and blobs before
//! their manifest; push the original bytes with the original media type, the tag last, so a tag
//! never points at missing content; check the target digest afterwards.

pub mod manifest;
pub mod run;

use crate::registry::client::{HttpError, Mount};
use crate::registry::{Lookup, SOURCE_ABSENT, SOURCE_PRIVATE, Session};
use futures_util::future::try_join_all;
use manifest::{Descriptor, Manifest, ManifestError};
use oci_client::Reference;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// What happened to one entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    /// The target already had the source's digest: no request beyond two HEADs.
    UpToDate {
        /// The shared digest.
        digest: String,
    },
    /// The image was copied and the target now has the source's digest.
    Copied {
        /// The digest, the same at both ends.
        digest: String,
        /// The target's digest before, when the tag existed.
        replaced: Option<String>,
        /// The tag that keeps the replaced image, when backups are on.
        #[serde(skip_serializing_if = "Option::is_none")]
        backup: Option<String>,
    },
    /// A copy back to app.ci found no QCI image to copy: nothing done. Named `absent`, the
    /// result a run reports it as, so JSON and tables never name it differently.
    #[serde(rename = "absent")]
    SourceAbsent,
}

/// Which way a copy goes; the two differ in what a missing source and a replaced image mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    IntoQci,
    BackToAppCi,
}

/// Why an entry failed, and at which step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{stage}: {reason}{}", backup.as_deref().map(|b| format!(" (the image the tag held is kept as {b})")).unwrap_or_default())]
pub struct CopyError {
    /// The step.
    pub stage: Stage,
    /// What went wrong.
    pub reason: String,
    /// The backup tag that keeps the image the target tag held, when one was made (or found)
    /// before the failure: the next run reuses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

/// The most earlier backup tags of one tag looked at (newest first) for one that holds the
/// image being replaced.
const MAX_BACKUPS_LOOKED_AT: usize = 5;

/// One repository's backup tags: those listed, and those this run wrote since.
type BackupTags = Mutex<Vec<String>>;

/// How deep indexes may nest under the top manifest.
pub const MAX_INDEX_DEPTH: usize = 8;
/// How many manifests one entry may hold, the top one included.
pub const MAX_MANIFESTS: usize = 1_000;

/// The slowest a blob may move from source to target, in bytes per second, on average: a
/// transfer that trickles (a byte every few seconds keeps any idle timeout at bay) ends, and
/// a healthy one of any size does not.
const MIN_TRANSFER_RATE: u64 = 64 * 1024;

/// The time a blob of `size` bytes may take: two idle timeouts to get going, then
/// [`MIN_TRANSFER_RATE`]. A 1 GiB layer gets 4.6 hours by default.
fn transfer_deadline(size: u64, idle: Duration) -> Duration {
    idle * 2 + Duration::from_secs(size / MIN_TRANSFER_RATE)
}

/// What [`Mirror::copy_manifest`] did with a manifest.
enum Copied {
    /// The top manifest, not written: the tag is the caller's to move.
    Top {
        /// Its bytes, exactly as the source served them.
        bytes: bytes::Bytes,
        /// Its media type.
        media_type: String,
    },
    /// A manifest under it, written by digest.
    Child,
}

/// What one entry's copy has walked so far.
#[derive(Default)]
struct Walk {
    manifests: std::sync::atomic::AtomicUsize,
}

/// The step of a copy that failed, in the order a copy takes them; `deadline` and `internal`
/// come from the run around the copy. Its JSON value (`stage`) is a stable contract listed in
/// `docs/json-output.md`, and a test holds [`Stage::ALL`] to that list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading the source's digest, or the source moved during the copy.
    Source,
    /// Reading the target tag, or another run moved it during the copy.
    Target,
    /// Keeping the image the tag held under a backup tag.
    Backup,
    /// Reading or parsing a source manifest.
    Manifest,
    /// Copying a blob.
    Blob,
    /// Writing a manifest or the tag.
    Push,
    /// The tag holds another digest than the one pushed.
    Verify,
    /// The run's time ran out.
    Deadline,
    /// A copy ended without a result.
    Internal,
}

impl Stage {
    /// Every stage, in the order of a copy: the order of the documentation's table.
    pub const ALL: [Stage; 9] = [
        Stage::Source,
        Stage::Target,
        Stage::Backup,
        Stage::Manifest,
        Stage::Blob,
        Stage::Push,
        Stage::Verify,
        Stage::Deadline,
        Stage::Internal,
    ];

    /// Its name in reports, the same as its JSON value.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Source => "source",
            Stage::Target => "target",
            Stage::Backup => "backup",
            Stage::Manifest => "manifest",
            Stage::Blob => "blob",
            Stage::Push => "push",
            Stage::Verify => "verify",
            Stage::Deadline => "deadline",
            Stage::Internal => "internal",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a tag found on the wrong image could not be put back.
#[derive(Debug, thiserror::Error)]
enum RestoreError {
    /// A request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The image it held is no manifest this tool reads.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Something else moved the tag meanwhile.
    #[error("the tag reads {0} afterwards")]
    Moved(String),
}

fn fail(stage: Stage, reason: impl Into<String>) -> CopyError {
    CopyError {
        stage,
        reason: reason.into(),
        backup: None,
    }
}

fn failed<E: std::fmt::Display>(stage: Stage) -> impl Fn(E) -> CopyError {
    move |error| fail(stage, error.to_string())
}

/// How a blob reached the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlobAction {
    Existed,
    Mounted,
    Uploaded,
}

/// Counters over a whole run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes of blobs the target accepted, each blob counted once when its upload completed.
    pub bytes_uploaded: AtomicU64,
    /// Bytes that have streamed from sources towards the target so far, counted as they pass
    /// (tries that broke off included): what progress shows.
    pub bytes_streamed: Arc<AtomicU64>,
    /// Blobs streamed into the target.
    pub blobs_uploaded: AtomicU64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: AtomicU64,
    /// Blobs the target already had.
    pub blobs_existing: AtomicU64,
}

/// Copies images into target repositories. Blobs are checked and uploaded at most once per
/// run and target repository across all entries.
pub struct Mirror {
    session: Session,
    backups: bool,
    blobs: Mutex<HashMap<String, Arc<OnceCell<BlobAction>>>>,
    /// Backup tags by target repository, listed once per run.
    backup_tags: Mutex<HashMap<String, Arc<OnceCell<BackupTags>>>>,
    /// What this run did, for reports and benchmarks.
    pub stats: Stats,
}

impl Mirror {
    /// A mirror working through `session`.
    pub fn new(session: Session) -> Self {
        Mirror {
            session,
            backups: false,
            blobs: Mutex::new(HashMap::new()),
            backup_tags: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        }
    }

    /// Before moving a tag that holds another image, keep that image under a backup tag
    /// ([`crate::qci::backup_tag`]); if the backup fails, the tag is not moved.
    #[must_use]
    pub fn with_backups(mut self, on: bool) -> Self {
        self.backups = on;
        self
    }

    /// The digest of a manifest by one HEAD, retrying temporary failures.
    async fn head(&self, target_side: bool, image: &Reference) -> Lookup {
        let (reader, auth) = if target_side {
            (
                &self.session.target,
                self.session.credentials.for_target(image),
            )
        } else {
            (
                &self.session.sources,
                self.session.credentials.for_source(image),
            )
        };
        self.session
            .retry
            .run(image.resolve_registry(), || {
                reader.manifest_digest(image, &auth)
            })
            .await
            .into()
    }

    /// Copies `source` into QCI's `target` unless the target already has the same digest.
    pub async fn mirror(
        &self,
        source: &Reference,
        target: &Reference,
    ) -> Result<Outcome, CopyError> {
        self.copy(source, target, Direction::IntoQci).await
    }

    /// Copies a QCI image back to app.ci's `target` (`qciToAppCIImages`) unless the target
    /// already has the same digest, or the QCI image does not exist (ci-images-mirror skips
    /// those). No backup tag: an imagestream keeps the history of its tags itself.
    pub async fn copy_back(
        &self,
        source: &Reference,
        target: &Reference,
    ) -> Result<Outcome, CopyError> {
        self.copy(source, target, Direction::BackToAppCi).await
    }

    async fn copy(
        &self,
        source: &Reference,
        target: &Reference,
        direction: Direction,
    ) -> Result<Outcome, CopyError> {
        let source_digest = match self.head(false, source).await {
            Lookup::Found(digest) => digest,
            Lookup::Absent if direction == Direction::BackToAppCi => {
                return Ok(Outcome::SourceAbsent);
            }
            Lookup::Absent => return Err(fail(Stage::Source, SOURCE_ABSENT)),
            Lookup::Unauthorized => {
                return Err(fail(Stage::Source, SOURCE_PRIVATE));
            }
            Lookup::Failed(reason) => return Err(fail(Stage::Source, reason)),
        };
        let replaced = match self.head(true, target).await {
            Lookup::Found(digest) if digest == source_digest => {
                return Ok(Outcome::UpToDate { digest });
            }
            Lookup::Found(digest) => Some(digest),
            Lookup::Absent | Lookup::Unauthorized => None,
            Lookup::Failed(reason) => return Err(fail(Stage::Target, reason)),
        };
        // Strictly before anything is written, so a failed backup leaves the tag alone.
        let backup = match &replaced {
            Some(old) if self.backups && direction == Direction::IntoQci => {
                Some(self.back_up(target, old).await?)
            }
            _ => None,
        };
        self.copy_and_tag(source, target, source_digest, replaced, backup.clone())
            .await
            .map_err(|error| CopyError { backup, ..error })
    }

    /// Everything after the backup: the copy, the tag, and its verification.
    async fn copy_and_tag(
        &self,
        source: &Reference,
        target: &Reference,
        source_digest: String,
        replaced: Option<String>,
        backup: Option<String>,
    ) -> Result<Outcome, CopyError> {
        let source_by_digest = source.clone_with_digest(source_digest.clone());
        let walk = Walk::default();
        let Copied::Top { bytes, media_type } = self
            .copy_manifest(&source_by_digest, target, 0, &walk)
            .await?
        else {
            unreachable!("the top manifest is left for the tag");
        };
        // Everything under the tag is in place. Another run may have moved the tag, or the
        // source moved on, while this one copied: then writing now could put an older image
        // over a newer one.
        if self
            .moved_meanwhile(source, target, &source_digest, replaced.as_deref())
            .await?
        {
            return Ok(Outcome::UpToDate {
                digest: source_digest,
            });
        }
        let auth = self.session.credentials.for_target(target);
        let stored = self
            .put_manifest(target, &bytes, &media_type, &auth)
            .await
            .map_err(failed(Stage::Push))?;
        match stored {
            Some(stored) if stored != source_digest => {
                let problem =
                    format!("the target stored {stored} for a manifest of digest {source_digest}");
                return Err(self.put_back(target, replaced.as_deref(), problem).await);
            }
            // The registry answered the tag's PUT with the source's digest.
            Some(_) => {
                return Ok(Outcome::Copied {
                    digest: source_digest,
                    replaced,
                    backup,
                });
            }
            None => {}
        }

        // The registry did not say what it stored: the tag must now name the source's bytes.
        match self.head(true, target).await {
            Lookup::Found(digest) if digest == source_digest => Ok(Outcome::Copied {
                digest,
                replaced,
                backup,
            }),
            Lookup::Found(digest) => {
                let problem =
                    format!("the target has {digest} after the push, not {source_digest}");
                Err(self.put_back(target, replaced.as_deref(), problem).await)
            }
            other => Err(fail(
                Stage::Verify,
                format!("cannot read the target back: {other:?}"),
            )),
        }
    }

    /// After the tag was written and found holding something else than was sent: the tag goes
    /// back to `previous`, the image it held before (still in the repository, under its backup
    /// tag), so it never stays on bytes nobody sent; the error says whether that worked.
    async fn put_back(
        &self,
        target: &Reference,
        previous: Option<&str>,
        problem: String,
    ) -> CopyError {
        let Some(previous) = previous else {
            return fail(
                Stage::Verify,
                format!("{problem}; the tag is new, so there is no earlier image to put back"),
            );
        };
        let auth = self.session.credentials.for_target(target);
        let held = target.clone_with_digest(previous.to_owned());
        let restored = async {
            let (bytes, _) = self
                .session
                .retry
                .run(target.resolve_registry(), || {
                    self.session.target.manifest(&held, &auth)
                })
                .await?;
            let media_type = match manifest::parse(&bytes)? {
                Manifest::Index { media_type, .. } | Manifest::Image { media_type, .. } => {
                    media_type
                }
            };
            self.put_manifest(target, &bytes, &media_type, &auth)
                .await?;
            match self.head(true, target).await {
                Lookup::Found(digest) if digest == previous => Ok(()),
                other => Err(RestoreError::Moved(format!("{other:?}"))),
            }
        };
        match restored.await {
            Ok(()) => fail(
                Stage::Verify,
                format!("{problem}; the tag was put back on {previous}, the image it held before"),
            ),
            Err(reason) => fail(
                Stage::Verify,
                format!(
                    "{problem}; and the tag could NOT be put back on {previous}, the image it held before ({reason}): check it by hand"
                ),
            ),
        }
    }

    /// Whether the target tag already holds `source_digest` (another run finished the same
    /// copy: nothing to write). An error when the tag no longer holds `replaced`, what this run
    /// saw before copying (another run moved it), or the source tag has moved on from
    /// `source_digest`: the tag is left as it is, and the next run mirrors what is current.
    async fn moved_meanwhile(
        &self,
        source: &Reference,
        target: &Reference,
        source_digest: &str,
        replaced: Option<&str>,
    ) -> Result<bool, CopyError> {
        let now = match self.head(true, target).await {
            Lookup::Found(digest) if digest == source_digest => return Ok(true),
            Lookup::Found(digest) => Some(digest),
            Lookup::Absent | Lookup::Unauthorized => None,
            Lookup::Failed(reason) => return Err(fail(Stage::Target, reason)),
        };
        if now.as_deref() != replaced {
            let was = replaced.unwrap_or("nothing");
            let is = now.as_deref().unwrap_or("nothing");
            return Err(fail(
                Stage::Target,
                format!(
                    "moved concurrently: the tag held {was} when this run started and holds {is} now (another run is mirroring it); left as it is"
                ),
            ));
        }
        match self.head(false, source).await {
            Lookup::Found(digest) if digest != source_digest => Err(fail(
                Stage::Source,
                format!(
                    "moved concurrently: it was {source_digest} when this run started and is {digest} now; the tag is left as it is, so an older image never replaces a newer one, and the next run mirrors {digest}"
                ),
            )),
            _ => Ok(false),
        }
    }

    /// Tags the target's current image `old` (a digest) with a backup tag in the same
    /// repository: its blobs and children are there already, so only the manifest is written.
    async fn back_up(&self, target: &Reference, old: &str) -> Result<String, CopyError> {
        let auth = self.session.credentials.for_target(target);
        let current = target.clone_with_digest(old.to_owned());
        let (bytes, _) = self
            .session
            .retry
            .run(target.resolve_registry(), || {
                self.session.target.manifest(&current, &auth)
            })
            .await
            .map_err(failed(Stage::Backup))?;
        let media_type = match manifest::parse(&bytes)
            .map_err(|e| fail(Stage::Backup, e.to_string()))?
        {
            Manifest::Index { media_type, .. } | Manifest::Image { media_type, .. } => media_type,
        };
        // One backup per move: a run that failed after its backup, or was killed, left one
        // that the next run takes over.
        if let Some(kept) = self.existing_backup(target, old).await {
            return Ok(kept);
        }
        let (destination, kept_already) = self.free_backup_tag(target, old).await?;
        let tag = destination.tag().unwrap_or_default().to_owned();
        if kept_already {
            return Ok(tag);
        }
        let stored = self
            .put_manifest(&destination, &bytes, &media_type, &auth)
            .await
            .map_err(failed(Stage::Backup))?;
        // Checked like the tag itself: a registry that does not say what it stored is asked.
        let stored = match stored {
            Some(stored) => Some(stored),
            None => match self.head(true, &destination).await {
                Lookup::Found(digest) => Some(digest),
                _ => None,
            },
        };
        match stored {
            Some(stored) if stored == old => {
                self.remember_backup(target, &tag);
                Ok(tag)
            }
            Some(stored) => Err(fail(
                Stage::Backup,
                format!("the registry stored {stored} under `{tag}`, not the replaced {old}"),
            )),
            None => Err(fail(
                Stage::Backup,
                format!("the registry does not show `{tag}` after writing it"),
            )),
        }
    }

    /// A backup tag of `target`'s tag that holds `old` already, newest first among the
    /// repository's backup tags of that tag (listed once per run and repository).
    async fn existing_backup(&self, target: &Reference, old: &str) -> Option<String> {
        let tag = target.tag().unwrap_or("latest");
        let mut candidates: Vec<String> = self
            .backup_tags(target)
            .await
            .into_iter()
            .filter(|candidate| crate::qci::is_backup_of(candidate, tag))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        // The stamp leads the name, so the newest come first; older ones were earlier moves.
        for candidate in candidates.into_iter().take(MAX_BACKUPS_LOOKED_AT) {
            let reference = Reference::with_tag(
                target.registry().to_owned(),
                target.repository().to_owned(),
                candidate.clone(),
            );
            if matches!(self.head(true, &reference).await, Lookup::Found(d) if d == old) {
                return Some(candidate);
            }
        }
        None
    }

    /// The backup tags in `target`'s repository; none when the registry will not list them
    /// (then a run cannot take over an earlier run's backup, and makes its own).
    async fn backup_tags(&self, target: &Reference) -> Vec<String> {
        let cell = {
            let mut listed = self.backup_tags.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(listed.entry(target.repository().to_owned()).or_default())
        };
        let tags = cell
            .get_or_init(|| async {
                let auth = self.session.credentials.for_target(target);
                let all = self
                    .session
                    .retry
                    .run(target.resolve_registry(), || {
                        self.session.target.tags(target, &auth)
                    })
                    .await
                    .unwrap_or_default();
                Mutex::new(
                    all.into_iter()
                        .filter(|t| t.contains(crate::qci::BACKUP_INFIX))
                        .collect(),
                )
            })
            .await;
        tags.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds a backup tag this run wrote to the repository's list.
    fn remember_backup(&self, target: &Reference, tag: &str) {
        let listed = self.backup_tags.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tags) = listed.get(target.repository()).and_then(|cell| cell.get()) {
            tags.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(tag.to_owned());
        }
    }

    /// The backup tag for `target`'s image `old`: the current second's name, or, when that name
    /// holds another image already (two moves of one tag within a second), the next second's.
    /// The timestamps stay within a few seconds of the truth, which is all the pruner's TTL
    /// needs, and no backup ever overwrites another. True when the tag holds `old` already.
    async fn free_backup_tag(
        &self,
        target: &Reference,
        old: &str,
    ) -> Result<(Reference, bool), CopyError> {
        const TRIES: i64 = 10;
        let now = chrono::Utc::now();
        for offset in 0..TRIES {
            let stamp = (now + chrono::TimeDelta::seconds(offset))
                .format("%Y%m%d%H%M%S")
                .to_string();
            let candidate = Reference::with_tag(
                target.registry().to_owned(),
                target.repository().to_owned(),
                crate::qci::backup_tag(&stamp, target.tag().unwrap_or("latest")),
            );
            match self.head(true, &candidate).await {
                Lookup::Absent => return Ok((candidate, false)),
                Lookup::Found(digest) if digest == old => return Ok((candidate, true)),
                Lookup::Found(_) => {}
                Lookup::Unauthorized => {
                    return Err(fail(Stage::Backup, "the target refuses to show its tags"));
                }
                Lookup::Failed(reason) => return Err(fail(Stage::Backup, reason)),
            }
        }
        Err(fail(
            Stage::Backup,
            format!("the next {TRIES} seconds' backup tags of `{target}` are all taken"),
        ))
    }

    /// Writes a manifest to the target, retrying temporary failures; the digest the registry
    /// says it stored, when it says.
    async fn put_manifest(
        &self,
        destination: &Reference,
        bytes: &bytes::Bytes,
        media_type: &str,
        auth: &oci_client::secrets::RegistryAuth,
    ) -> Result<Option<String>, HttpError> {
        self.session
            .retry
            .run(destination.resolve_registry(), || {
                self.session
                    .target
                    .put_manifest(destination, bytes.clone(), media_type, auth)
            })
            .await
    }

    /// Copies the manifest `source` (by digest) and everything under it, by digest; the top
    /// one (`depth` 0) is not written but handed back, for the caller to tag once it knows
    /// the tag may move. Children and blobs go in parallel, bounded by the per-host limits.
    /// Indexes nest at most
    /// [`MAX_INDEX_DEPTH`] deep and one entry holds at most [`MAX_MANIFESTS`] manifests: a
    /// source that nests deeper, or fans out wider, is refused before its depth can exhaust
    /// the stack or its breadth the run.
    fn copy_manifest<'a>(
        &'a self,
        source: &'a Reference,
        target: &'a Reference,
        depth: usize,
        walk: &'a Walk,
    ) -> Pin<Box<dyn Future<Output = Result<Copied, CopyError>> + Send + 'a>> {
        Box::pin(async move {
            if depth > MAX_INDEX_DEPTH {
                return Err(fail(
                    Stage::Manifest,
                    format!(
                        "the source's indexes nest more than {MAX_INDEX_DEPTH} deep (real images nest 2)"
                    ),
                ));
            }
            if walk.manifests.fetch_add(1, Ordering::Relaxed) >= MAX_MANIFESTS {
                return Err(fail(
                    Stage::Manifest,
                    format!("the source references more than {MAX_MANIFESTS} manifests"),
                ));
            }
            let auth = self.session.credentials.for_source(source);
            let (bytes, digest) = self
                .session
                .retry
                .run(source.resolve_registry(), || {
                    self.session.sources.manifest(source, &auth)
                })
                .await
                .map_err(failed(Stage::Manifest))?;
            let parsed =
                manifest::parse(&bytes).map_err(|e| fail(Stage::Manifest, e.to_string()))?;
            let media_type = match &parsed {
                Manifest::Index {
                    media_type,
                    children,
                } => {
                    let children: Vec<Reference> = children
                        .iter()
                        .map(|child| source.clone_with_digest(child.digest.clone()))
                        .collect();
                    try_join_all(
                        children
                            .iter()
                            .map(|child| self.copy_manifest(child, target, depth + 1, walk)),
                    )
                    .await?;
                    media_type
                }
                Manifest::Image { media_type, blobs } => {
                    try_join_all(
                        blobs
                            .iter()
                            .map(|blob| self.copy_blob(source, target, blob)),
                    )
                    .await?;
                    media_type
                }
            };
            if depth == 0 {
                return Ok(Copied::Top {
                    media_type: media_type.clone(),
                    bytes,
                });
            }
            let destination = target.clone_with_digest(digest.clone());
            let auth = self.session.credentials.for_target(target);
            let stored = self
                .put_manifest(&destination, &bytes, media_type, &auth)
                .await
                .map_err(failed(Stage::Push))?;
            match stored {
                Some(stored) if stored != digest => Err(fail(
                    Stage::Verify,
                    format!("the target stored {stored} for a manifest of digest {digest}"),
                )),
                _ => Ok(Copied::Child),
            }
        })
    }

    /// Gets one blob into the target, cheapest way first, at most once per run.
    async fn copy_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &Descriptor,
    ) -> Result<(), CopyError> {
        let cell = {
            let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
            let key = format!(
                "{}/{}@{}",
                target.resolve_registry(),
                target.repository(),
                blob.digest
            );
            Arc::clone(blobs.entry(key).or_default())
        };
        // `get_or_try_init` forgets a failure, so another entry may try the blob again.
        let action = cell
            .get_or_try_init(|| self.transfer_blob(source, target, blob))
            .await?;
        let counter = match action {
            BlobAction::Existed => &self.stats.blobs_existing,
            BlobAction::Mounted => &self.stats.blobs_mounted,
            BlobAction::Uploaded => return Ok(()), // counted once, where it happened
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn transfer_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &Descriptor,
    ) -> Result<BlobAction, CopyError> {
        let auth = self.session.credentials.for_target(target);
        let exists = self
            .session
            .retry
            .run(target.resolve_registry(), || {
                self.session.target.blob_exists(target, &blob.digest, &auth)
            })
            .await
            .map_err(failed(Stage::Blob))?;
        if exists {
            return Ok(BlobAction::Existed);
        }
        let mut upload = None;
        if source.resolve_registry() == target.resolve_registry() {
            // Any failed mount is never fatal: stream instead (registries.md gaps 3, 4); a 202
            // hands over the upload it opened.
            match self
                .session
                .target
                .mount_blob(target, source.repository(), &blob.digest, &auth)
                .await
            {
                Ok(Mount::Mounted) => return Ok(BlobAction::Mounted),
                Ok(Mount::Declined(location)) => upload = location,
                Err(_) => {}
            }
        }
        let upload = Mutex::new(upload);
        // A broken or corrupted transfer starts over from a fresh source stream: a stream cannot
        // be replayed. The pull checks the digest at the end of the stream; the target checks
        // it again before accepting the upload. A token refused mid-stream gets one fresh login.
        // A broken transfer may be either side's fault: the pair pays, so neither a failing
        // source nor a failing target spends the retries of the other hosts.
        let pair = format!(
            "{} -> {}",
            source.resolve_registry(),
            target.resolve_registry()
        );
        self.session
            .retry
            .run(&pair, || async {
                let deadline = transfer_deadline(blob.size, self.session.idle_timeout);
                let tried = tokio::time::timeout(deadline, async {
                    match self.stream_blob(source, target, blob, &upload).await {
                        // The upload's login was refused mid-stream and forgotten: once more.
                        Err(HttpError::Denied { status: 401, .. }) => {
                            self.stream_blob(source, target, blob, &upload).await
                        }
                        other => other,
                    }
                });
                tried.await.unwrap_or_else(|_| {
                    Err(HttpError::Transport(format!(
                        "moving blob {} ({}) took longer than {} s: slower than {} KiB/s",
                        blob.digest,
                        crate::diag::mebibytes(blob.size),
                        deadline.as_secs(),
                        MIN_TRANSFER_RATE / 1024
                    )))
                })
            })
            .await
            .map_err(failed(Stage::Blob))?;
        self.stats
            .bytes_uploaded
            .fetch_add(blob.size, Ordering::Relaxed);
        self.stats.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
        Ok(BlobAction::Uploaded)
    }

    /// One try at streaming a blob from the source into the target, never holding it in
    /// memory.
    async fn stream_blob(
        &self,
        source: &Reference,
        target: &Reference,
        blob: &Descriptor,
        upload: &Mutex<Option<String>>,
    ) -> Result<(), HttpError> {
        let auth = self.session.credentials.for_target(target);
        let open = upload.lock().unwrap_or_else(|e| e.into_inner()).take();
        let location = match open {
            Some(location) => location,
            None => self.session.target.start_upload(target, &auth).await?,
        };
        // Both ends for as long as the stream lasts.
        let _slots = self
            .session
            .hosts
            .enter_both(source.resolve_registry(), target.resolve_registry())
            .await;
        let source_auth = self.session.credentials.for_source(source);
        let blob = (blob.digest.as_str(), blob.size);
        let stream = match self
            .session
            .sources
            .pull_blob(source, blob, &source_auth)
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                // Nothing was sent to the upload yet: the next try can use it.
                *upload.lock().unwrap_or_else(|e| e.into_inner()) = Some(location);
                return Err(error);
            }
        };
        let stream = stream.counting(Arc::clone(&self.stats.bytes_streamed));
        let source_failure = stream.source_failure();
        let uploaded = self
            .session
            .target
            .finish_upload(target, &location, blob, stream, &auth)
            .await;
        // A stream that broke at the source fails the upload too: name the side that failed.
        let failed_at_source = source_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match (uploaded, failed_at_source) {
            (Err(_), Some(reason)) => Err(HttpError::Transport(reason)),
            (result, _) => result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn every_stage_is_listed_once_and_named_as_in_json() {
        // No wildcard: a new stage stops this from compiling until it is in `Stage::ALL`.
        let position = |stage: Stage| match stage {
            Stage::Source => 0,
            Stage::Target => 1,
            Stage::Backup => 2,
            Stage::Manifest => 3,
            Stage::Blob => 4,
            Stage::Push => 5,
            Stage::Verify => 6,
            Stage::Deadline => 7,
            Stage::Internal => 8,
        };
        for (i, stage) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(position(stage), i);
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::Value::from(stage.name())
            );
            assert_eq!(stage.to_string(), stage.name());
        }
    }
}
