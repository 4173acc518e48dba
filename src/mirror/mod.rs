//! The copy engine: one source image to one target tag, digest-exact.
//!
//! The order follows the best peers (go-containerregistry, regclient; see
//! `../shared/reference/registries.md` §1): HEAD the target and the source and stop if equal;
//! fetch the source manifest's raw bytes; copy children before their index and blobs before
//! their manifest; push the original bytes with the original media type, the tag last, so a tag
//! never points at missing content; check the target digest afterwards.

pub mod manifest;
pub mod progress;
pub mod retry;

use crate::registry::{self, Credentials, Lookup};
use futures_util::StreamExt;
use manifest::{Descriptor, Manifest};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use retry::RetryPolicy;
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

fn failed(stage: &'static str) -> impl Fn(OciDistributionError) -> CopyError {
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
    source_client: Client,
    target_client: Client,
    credentials: Credentials,
    blobs: Mutex<HashMap<String, Arc<OnceCell<BlobAction>>>>,
    retry: RetryPolicy,
    /// What this run did, for reports and benchmarks.
    pub stats: Stats,
}

impl Mirror {
    /// A mirror with separate clients for sources and the target (oci-client keeps one
    /// credential per host, and sources often share the target's host).
    pub fn new(source_client: Client, target_client: Client, credentials: Credentials) -> Self {
        Mirror {
            source_client,
            target_client,
            credentials,
            blobs: Mutex::new(HashMap::new()),
            retry: RetryPolicy::default(),
            stats: Stats::default(),
        }
    }

    /// Replaces the default retry policy (tests use short delays).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The digest of a manifest by HEAD, retrying temporary failures.
    async fn head(&self, client: &Client, image: &Reference, auth: &RegistryAuth) -> Lookup {
        match self
            .retry
            .run(|| client.fetch_manifest_digest(image, auth))
            .await
        {
            Ok(digest) => Lookup::Found(digest),
            Err(error) => registry::classify(&error),
        }
    }

    /// Copies `source` to `target` unless the target already has the same digest.
    pub async fn mirror(
        &self,
        source: &Reference,
        target: &Reference,
    ) -> Result<Outcome, CopyError> {
        let source_auth = self.credentials.for_source(source);
        let target_auth = self.credentials.for_target(target);
        // The low-level calls below take no credentials: store them for each host first.
        self.source_client
            .store_auth_if_needed(source.resolve_registry(), &source_auth)
            .await;
        self.target_client
            .store_auth_if_needed(target.resolve_registry(), &target_auth)
            .await;

        let source_digest = match self.head(&self.source_client, source, &source_auth).await {
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
        let replaced = match self.head(&self.target_client, target, &target_auth).await {
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
        match self.head(&self.target_client, target, &target_auth).await {
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
    fn copy_manifest<'a>(
        &'a self,
        source: &'a Reference,
        target: &'a Reference,
        top: bool,
    ) -> Pin<Box<dyn Future<Output = Result<(), CopyError>> + Send + 'a>> {
        Box::pin(async move {
            let auth = self.credentials.for_source(source);
            let (bytes, digest) = self
                .retry
                .run(|| {
                    self.source_client
                        .pull_manifest_raw(source, &auth, &manifest::ACCEPTED)
                })
                .await
                .map_err(failed("manifest"))?;
            let parsed = manifest::parse(&bytes).map_err(|e| fail("manifest", e))?;
            let media_type = match &parsed {
                Manifest::Index {
                    media_type,
                    children,
                } => {
                    for child in children {
                        let child_source = source.clone_with_digest(child.digest.clone());
                        self.copy_manifest(&child_source, target, false).await?;
                    }
                    media_type
                }
                Manifest::Image { media_type, blobs } => {
                    for blob in blobs {
                        self.copy_blob(source, target, blob).await?;
                    }
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
            self.retry
                .run(|| {
                    self.target_client.push_manifest_raw(
                        &destination,
                        bytes.clone(),
                        content_type.clone(),
                    )
                })
                .await
                .map_err(failed("push"))?;
            Ok(())
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
        let exists = self
            .retry
            .run(|| self.target_client.blob_exists(target, &blob.digest))
            .await
            .map_err(failed("blob"))?;
        if exists {
            return Ok(BlobAction::Existed);
        }
        if source.resolve_registry() == target.resolve_registry() {
            // A failed or 202 mount is never fatal: stream instead (registries.md gaps 3, 4).
            if self
                .target_client
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
        self.retry
            .run(|| async {
                let stream = self
                    .source_client
                    .pull_blob_stream(source, blob.digest.as_str())
                    .await?;
                let stream = stream.map(|chunk| chunk.map_err(OciDistributionError::IoError));
                self.target_client
                    .push_blob_stream(target, stream, &blob.digest, Some(blob.size))
                    .await
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
