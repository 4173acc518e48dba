//! The copy engine: one source image to one target tag, digest-exact.
//!
//! The order follows the best peers (go-containerregistry, regclient; see
//! `../shared/reference/registries.md` §1): HEAD the target and the source and stop if equal;
//! fetch the source manifest's raw bytes; copy children before their index and blobs before
//! their manifest; push the original bytes with the original media type, the tag last, so a tag
//! never points at missing content; check the target digest afterwards.

pub mod manifest;
pub mod progress;

use crate::registry::{self, Lookup, Session};
use futures_util::StreamExt;
use futures_util::future::try_join_all;
use manifest::{Descriptor, Manifest};
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
    },
}

/// Why an entry failed, and at which step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{stage}: {reason}")]
pub struct CopyError {
    /// The step: `source`, `target`, `manifest`, `blob`, `push` or `verify`.
    pub stage: &'static str,
    /// What went wrong.
    pub reason: String,
}

fn fail(stage: &'static str, reason: impl Into<String>) -> CopyError {
    CopyError {
        stage,
        reason: reason.into(),
    }
}

fn failed<E: std::fmt::Display>(stage: &'static str) -> impl Fn(E) -> CopyError {
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
    /// Bytes streamed into the target.
    pub bytes_uploaded: AtomicU64,
    /// Blobs streamed into the target.
    pub blobs_uploaded: AtomicU64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: AtomicU64,
    /// Blobs the target already had.
    pub blobs_existing: AtomicU64,
}

/// Copies images into one target repository. Blobs are checked and uploaded at most once per
/// run across all entries (one target repository, so a digest is either there or not).
pub struct Mirror {
    session: Session,
    blobs: Mutex<HashMap<String, Arc<OnceCell<BlobAction>>>>,
    /// What this run did, for reports and benchmarks.
    pub stats: Stats,
}

impl Mirror {
    /// A mirror working through `session`.
    pub fn new(session: Session) -> Self {
        Mirror {
            session,
            blobs: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        }
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
            .run(|| reader.manifest_digest(image, &auth))
            .await
            .into()
    }

    /// Copies `source` to `target` unless the target already has the same digest.
    pub async fn mirror(
        &self,
        source: &Reference,
        target: &Reference,
    ) -> Result<Outcome, CopyError> {
        let source_digest = match self.head(false, source).await {
            Lookup::Found(digest) => digest,
            Lookup::Absent => return Err(fail("source", "it does not exist")),
            Lookup::Unauthorized => {
                return Err(fail(
                    "source",
                    "it needs credentials we do not have; private images cannot be mirrored",
                ));
            }
            Lookup::Failed(reason) => return Err(fail("source", reason)),
        };
        let replaced = match self.head(true, target).await {
            Lookup::Found(digest) if digest == source_digest => {
                return Ok(Outcome::UpToDate { digest });
            }
            Lookup::Found(digest) => Some(digest),
            Lookup::Absent | Lookup::Unauthorized => None,
            Lookup::Failed(reason) => return Err(fail("target", reason)),
        };

        let source_by_digest = source.clone_with_digest(source_digest.clone());
        self.copy_manifest(&source_by_digest, target, true).await?;

        // The tag must now name exactly the source's bytes.
        match self.head(true, target).await {
            Lookup::Found(digest) if digest == source_digest => {
                Ok(Outcome::Copied { digest, replaced })
            }
            Lookup::Found(digest) => Err(fail(
                "verify",
                format!("the target has {digest} after the push, not {source_digest}"),
            )),
            other => Err(fail(
                "verify",
                format!("cannot read the target back: {other:?}"),
            )),
        }
    }

    /// Copies the manifest `source` (by digest) and everything under it; tags the top one.
    /// Children and blobs go in parallel, bounded by the per-host limits.
    fn copy_manifest<'a>(
        &'a self,
        source: &'a Reference,
        target: &'a Reference,
        top: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), CopyError>> + Send + 'a>> {
        Box::pin(async move {
            let auth = self.session.credentials.for_source(source);
            let (bytes, digest) = self
                .session
                .retry
                .run(|| self.session.sources.manifest(source, &auth))
                .await
                .map_err(failed("manifest"))?;
            let parsed = manifest::parse(&bytes).map_err(|e| fail("manifest", e))?;
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
                            .map(|child| self.copy_manifest(child, target, false)),
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
            let destination = if top {
                target.clone()
            } else {
                target.clone_with_digest(digest)
            };
            let content_type = http::HeaderValue::from_str(media_type)
                .map_err(|e| fail("manifest", format!("bad media type {media_type:?}: {e}")))?;
            self.write(target, |client| {
                let (destination, bytes, content_type) =
                    (&destination, bytes.clone(), content_type.clone());
                async move {
                    client
                        .push_manifest_raw(destination, bytes, content_type)
                        .await
                }
            })
            .await
            .map_err(failed("push"))?;
            Ok(())
        })
    }

    /// Runs a write to the target with retries and a slot on its host. A registry that stops
    /// accepting the token it gave (expired early, revoked) gets one more try with a fresh
    /// login.
    async fn write<T, F, Fut>(
        &self,
        target: &Reference,
        operation: F,
    ) -> Result<T, OciDistributionError>
    where
        F: Fn(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        self.session
            .retry
            .run(|| async {
                let _slot = self.session.hosts.enter(target.resolve_registry()).await;
                let client = self.session.target_client(target).await;
                match operation(Arc::clone(&client)).await {
                    Err(error) if registry::is_unauthorized(&error) => {
                        self.session.renew_target_client(&client);
                        operation(self.session.target_client(target).await).await
                    }
                    other => other,
                }
            })
            .await
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
            Arc::clone(blobs.entry(blob.digest.clone()).or_default())
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
        let target_auth = self.session.credentials.for_target(target);
        let exists = self
            .session
            .retry
            .run(|| {
                self.session
                    .target
                    .blob_exists(target, &blob.digest, &target_auth)
            })
            .await
            .map_err(failed("blob"))?;
        if exists {
            return Ok(BlobAction::Existed);
        }
        if source.resolve_registry() == target.resolve_registry() {
            // A failed or 202 mount is never fatal: stream instead (registries.md gaps 3, 4).
            let _slot = self.session.hosts.enter(target.resolve_registry()).await;
            let client = self.session.target_client(target).await;
            if client
                .mount_blob(target, source, &blob.digest)
                .await
                .is_ok()
            {
                return Ok(BlobAction::Mounted);
            }
        }
        // A broken or corrupted transfer starts over from a fresh source stream: a stream cannot
        // be replayed. oci-client checks the digest at the end of the pull; the target checks it
        // again before accepting the upload.
        self.session
            .retry
            .run(|| async {
                let _slots = self
                    .session
                    .hosts
                    .enter_both(source.resolve_registry(), target.resolve_registry())
                    .await;
                let from = self.session.source_client(source).await;
                let to = self.session.target_client(target).await;
                let result = stream_blob(&from, &to, source, target, blob).await;
                if let Err(error) = &result
                    && registry::is_unauthorized(error)
                {
                    // Either end may have stopped accepting its token: log in afresh, once.
                    self.session.renew_source_client(&from);
                    self.session.renew_target_client(&to);
                    let from = self.session.source_client(source).await;
                    let to = self.session.target_client(target).await;
                    return stream_blob(&from, &to, source, target, blob).await;
                }
                result
            })
            .await
            .map_err(failed("blob"))?;
        self.stats
            .bytes_uploaded
            .fetch_add(blob.size, Ordering::Relaxed);
        self.stats.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
        Ok(BlobAction::Uploaded)
    }
}

/// Streams one blob from `source` into `target` without holding it in memory.
async fn stream_blob(
    from: &Client,
    to: &Client,
    source: &Reference,
    target: &Reference,
    blob: &Descriptor,
) -> Result<(), OciDistributionError> {
    let stream = from.pull_blob_stream(source, blob.digest.as_str()).await?;
    let stream = stream.map(|chunk| chunk.map_err(OciDistributionError::IoError));
    to.push_blob_stream(target, stream, &blob.digest, Some(blob.size))
        .await?;
    Ok(())
}
