//! Blobs: existence checks, cross-repository mounts, and streamed uploads from a source
//! stream whose digest and size are checked before its last byte goes out.

use super::*;

/// The distribution spec's code for an upload whose bytes do not match its digest: they were
/// damaged on the way, and sending them again may work.
const DIGEST_INVALID: &str = "DIGEST_INVALID";

/// How a blob reached the target when mounting was tried.
#[derive(Debug, PartialEq, Eq)]
pub enum Mount {
    /// The registry linked the blob from the other repository.
    Mounted,
    /// Not mounted; the registry opened an upload at this URL instead (a 202), or refused.
    Declined(Option<String>),
}

/// A blob's bytes as they arrive, checked against its digest and size: a mismatch is an error
/// at the end of the stream, so an upload fed from it is never completed.
pub struct VerifiedStream {
    pub(super) inner:
        std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    pub(super) hasher: Option<sha2::Sha256>,
    pub(super) digest: String,
    pub(super) expected_size: u64,
    pub(super) seen: u64,
    /// The source URL, for messages.
    pub(super) url: String,
    /// Bytes as they pass, for progress.
    pub(super) progress: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// What went wrong on the source's side, if anything: the upload it feeds fails too, and
    /// would otherwise be blamed.
    pub(super) failure: Arc<Mutex<Option<String>>>,
}

impl futures_util::Stream for VerifiedStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        match this.inner.as_mut().poll_next(context) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(bytes))) => {
                this.seen += bytes.len() as u64;
                if let Some(progress) = &this.progress {
                    progress.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                if this.seen > this.expected_size {
                    let reason = format!("more than {} bytes", this.expected_size);
                    return Poll::Ready(Some(Err(this.mismatch(&reason))));
                }
                if let Some(hasher) = &mut this.hasher {
                    hasher.update(&bytes);
                }
                // The last chunk is held back until the whole blob is known to be right, so an
                // upload fed from this stream can never complete with wrong bytes.
                if this.seen == this.expected_size
                    && let Some(hasher) = this.hasher.take()
                {
                    let actual = hex_digest(hasher);
                    if actual != this.digest {
                        let reason = format!("its bytes hash to {actual}");
                        return Poll::Ready(Some(Err(this.mismatch(&reason))));
                    }
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(error))) => {
                let reason = error_chain(&error);
                this.fail(&reason);
                Poll::Ready(Some(Err(std::io::Error::other(reason))))
            }
            Poll::Ready(None) => match this.hasher.take() {
                None => Poll::Ready(None),
                // An empty blob: nothing was let through to check first.
                Some(hasher) if this.seen == this.expected_size => {
                    let actual = hex_digest(hasher);
                    if actual == this.digest {
                        Poll::Ready(None)
                    } else {
                        let reason = format!("its bytes hash to {actual}");
                        Poll::Ready(Some(Err(this.mismatch(&reason))))
                    }
                }
                Some(_) => {
                    let reason = format!("only {} of {} bytes", this.seen, this.expected_size);
                    Poll::Ready(Some(Err(this.mismatch(&reason))))
                }
            },
        }
    }
}

impl VerifiedStream {
    /// Counts the bytes that pass into `counter` as they pass.
    #[must_use]
    pub fn counting(mut self, counter: Arc<std::sync::atomic::AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }

    /// Where the source's failure will be, once the stream is handed over.
    pub fn source_failure(&self) -> Arc<Mutex<Option<String>>> {
        Arc::clone(&self.failure)
    }

    pub(super) fn fail(&self, reason: &str) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert_with(|| {
            format!("reading {} from the source failed: {reason}", self.url)
        });
    }

    pub(super) fn mismatch(&self, reason: &str) -> std::io::Error {
        let reason = format!("blob {} arrived wrong: {reason}", self.digest);
        self.fail(&reason);
        std::io::Error::new(std::io::ErrorKind::InvalidData, reason)
    }
}

pub(super) fn hex_digest(hasher: sha2::Sha256) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hasher.finalize() {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

impl RegistryClient {
    /// Whether `image`'s repository holds the blob `digest`.
    pub async fn blob_exists(
        &self,
        image: &Reference,
        digest: &str,
        auth: &RegistryAuth,
    ) -> Result<bool, HttpError> {
        let url = self.url(image, "blobs", digest);
        let request = |http: &reqwest::Client| Some(http.head(&url).timeout(self.small_timeout));
        match self
            .send(image, auth, Access::Pull, Slots::Take, request)
            .await?
        {
            Answer::Ok(_) => Ok(true),
            Answer::NotFound => Ok(false),
        }
    }

    /// Asks the registry to link blob `digest` from repository `from` into `image`'s
    /// repository. A 202 means "not mounted, upload here": the upload it opened is handed
    /// back, so it is used rather than leaked. On a token registry the mount needs one token
    /// for both repositories (oci-client asks for one repository at a time), fetched here once
    /// per pair.
    pub async fn mount_blob(
        &self,
        image: &Reference,
        from: &str,
        digest: &str,
        auth: &RegistryAuth,
    ) -> Result<Mount, HttpError> {
        let url = self.url(image, "blobs", "uploads/");
        let (_, push_grant) = self.grant(image, auth, Access::Push, Slots::Take).await?;
        let handed_out =
            matches!(push_grant, Grant::Bearer(_)) && !matches!(auth, RegistryAuth::Bearer(_));
        if handed_out {
            let Ok(token) = self.mount_token(image, from, auth).await else {
                return Ok(Mount::Declined(None));
            };
            let request = self
                .http
                .post(&url)
                .query(&[("mount", digest), ("from", from)])
                .header(http::header::CONTENT_LENGTH, 0)
                .timeout(self.small_timeout)
                .bearer_auth(token);
            let response = {
                let _slot = self.hosts.enter(image.resolve_registry()).await;
                request.send().await.map_err(|e| transport(&e))?
            };
            return Ok(match response.status().as_u16() {
                201 => Mount::Mounted,
                202 => Mount::Declined(self.location(image, &response)),
                // Refusals are normal (no read access to `from`, mounts disabled).
                _ => Mount::Declined(None),
            });
        }
        let request = |http: &reqwest::Client| {
            Some(
                http.post(&url)
                    .query(&[("mount", digest), ("from", from)])
                    .header(http::header::CONTENT_LENGTH, 0)
                    .timeout(self.small_timeout),
            )
        };
        match self
            .send(image, auth, Access::Push, Slots::Take, request)
            .await
        {
            Ok(Answer::Ok(response)) if response.status() == reqwest::StatusCode::CREATED => {
                Ok(Mount::Mounted)
            }
            Ok(Answer::Ok(response)) => Ok(Mount::Declined(self.location(image, &response))),
            // Refusals are normal (no read access to `from` in this token, mounts disabled).
            Ok(Answer::NotFound) | Err(HttpError::Denied { .. }) => Ok(Mount::Declined(None)),
            Err(error) => Err(error),
        }
    }

    /// Streams blob `digest` of `size` bytes out of `image`'s repository, following redirects
    /// (to a CDN, without our credentials). The stream fails at its end, before the last byte
    /// could be committed anywhere, when the bytes do not hash to `digest` or are too many.
    /// The caller holds a slot on the source's host for the whole stream.
    pub async fn pull_blob(
        &self,
        image: &Reference,
        blob: (&str, u64),
        auth: &RegistryAuth,
    ) -> Result<VerifiedStream, HttpError> {
        let (digest, size) = blob;
        let url = self.url(image, "blobs", digest);
        let request = |http: &reqwest::Client| Some(http.get(&url));
        match self
            .send(image, auth, Access::Pull, Slots::Held, request)
            .await?
        {
            Answer::Ok(response) => Ok(VerifiedStream {
                inner: Box::pin(response.bytes_stream()),
                hasher: Some(sha2::Sha256::new()),
                digest: digest.to_owned(),
                expected_size: size,
                seen: 0,
                url,
                progress: None,
                failure: Arc::default(),
            }),
            Answer::NotFound => Err(not_found(url, Some("blob unknown"))),
        }
    }

    /// Opens an upload in `image`'s repository and returns its URL.
    pub async fn start_upload(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<String, HttpError> {
        let url = self.url(image, "blobs", "uploads/");
        let request = |http: &reqwest::Client| {
            Some(
                http.post(&url)
                    .header(http::header::CONTENT_LENGTH, 0)
                    .timeout(self.small_timeout),
            )
        };
        match self
            .send(image, auth, Access::Push, Slots::Take, request)
            .await?
        {
            Answer::Ok(response) => self
                .location(image, &response)
                .ok_or_else(|| HttpError::Invalid(format!("{url}: no Location for the upload"))),
            Answer::NotFound => Err(not_found(url, None)),
        }
    }

    /// Sends blob `digest` of `size` bytes from `stream` to the open upload at `location` in
    /// one request, never holding it in memory. The caller holds a slot on the target's host
    /// for the whole stream. A stream is used once: a 401 fails the attempt (its login is
    /// forgotten) and the caller starts over.
    pub async fn finish_upload<S>(
        &self,
        image: &Reference,
        location: &str,
        blob: (&str, u64),
        stream: S,
        auth: &RegistryAuth,
    ) -> Result<(), HttpError>
    where
        S: futures_util::TryStream + Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        Bytes: From<S::Ok>,
    {
        let (digest, size) = blob;
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={digest}");
        // Credentials go only to the registry itself, never to another host a Location names
        // (CVE-2020-15157).
        let access = if url.starts_with(&format!("{}/", self.base(image))) {
            Access::Push
        } else {
            Access::Anonymous
        };
        let mut body = Some(reqwest::Body::wrap_stream(stream));
        let request = |http: &reqwest::Client| {
            body.take().map(|body| {
                http.put(&url)
                    .header(http::header::CONTENT_LENGTH, size)
                    .header(http::header::CONTENT_TYPE, "application/octet-stream")
                    .body(body)
            })
        };
        match self.send(image, auth, access, Slots::Held, request).await {
            Ok(Answer::Ok(_)) => Ok(()),
            Ok(Answer::NotFound) => Err(not_found(url, Some("the upload was lost"))),
            // The registry got other bytes than we checked: damaged on the way, worth a retry.
            Err(HttpError::Status {
                status: 400,
                message,
                codes,
                url,
                ..
            }) if codes.iter().any(|code| code == DIGEST_INVALID) => Err(HttpError::Invalid(
                format!("{url}: {}", message.as_deref().unwrap_or(DIGEST_INVALID)),
            )),
            Err(error) => Err(error),
        }
    }

    /// The absolute URL in a response's `Location` header.
    pub(super) fn location(
        &self,
        image: &Reference,
        response: &reqwest::Response,
    ) -> Option<String> {
        let location = response
            .headers()
            .get(http::header::LOCATION)?
            .to_str()
            .ok()?;
        Some(if location.starts_with('/') {
            format!("{}{location}", self.base(image))
        } else {
            location.to_owned()
        })
    }
}
