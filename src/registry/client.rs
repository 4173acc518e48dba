//! Registry requests made directly over HTTP: manifest HEAD, GET and PUT, blob HEAD, GET
//! (streamed and digest-checked), mounts and uploads.
//!
//! oci-client's own versions are a poor fit for a run of hundreds of entries (measured, see
//! `bench/RESULTS.md`): they ping `GET /v2/` before every request to a registry that needs no
//! login, turn a HEAD on an absent tag into a second request (a GET), hide response headers (so
//! `Retry-After` is lost), treat a mount answered 202 as an error and drop its upload, and keep
//! using a token the registry has stopped accepting. Logins still go through oci-client's
//! handshake ([`Client::auth`]); what it grants is remembered per repository and operation, and
//! asked for again once when the registry answers 401.

use super::hosts::Hosts;
use super::{Connection, error_chain, media};
use bytes::Bytes;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use sha2::Digest as _;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Manifests larger than this are refused (distribution's own limit is 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Tags asked for per page of a tag list.
const TAGS_PER_PAGE: usize = 1_000;
/// The most pages of a tag list read: half a million tags.
const MAX_TAG_PAGES: usize = 500;
/// Error answers and token answers are read up to this many bytes; only a message is wanted.
const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;

/// What [`read_body`] found.
enum Body {
    /// The whole body.
    Whole(Bytes),
    /// The body goes past the limit: nothing more of it was read.
    TooLarge,
}

/// Reads a response's body, at most `limit` bytes whatever its headers say (a chunked answer
/// announces no length), so no registry can make the run hold more than that in memory.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Body, HttpError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(Body::TooLarge);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > limit {
            return Ok(Body::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body.freeze()))
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 401 or 403 even after logging in with what we have.
    #[error("access denied by {url} (HTTP {status})")]
    Denied {
        /// The request URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The login handshake itself failed (for example, a wrong password).
    #[error("cannot log in to {registry}: {reason}")]
    Login {
        /// The registry host.
        registry: String,
        /// What the handshake said.
        reason: String,
    },
    /// Any other unexpected status.
    #[error("HTTP {status} from {url}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error messages, when it sent any.
        message: Option<String>,
        /// How long the registry asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The connection failed or broke.
    #[error("{0}")]
    Transport(String),
    /// TLS refused the registry: its certificate is not one we trust, and asking again will
    /// not change that.
    #[error("{0}")]
    Untrusted(String),
    /// The answer was not what the protocol promises (a digest mismatch, a bad header).
    #[error("{0}")]
    Invalid(String),
    /// The answer is larger than anything of its kind may be; asking again will not shrink it.
    #[error("{url}: the {what} is larger than {limit} bytes")]
    TooLarge {
        /// The request URL.
        url: String,
        /// What was being read.
        what: &'static str,
        /// The most we read.
        limit: usize,
    },
}

impl HttpError {
    /// Whether trying again may succeed: 408, 429, 5xx, transport failures, and bytes that
    /// did not match their digest (corrupted on the way).
    pub fn is_temporary(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            HttpError::Transport(_) => true,
            HttpError::Untrusted(_) => false,
            HttpError::Invalid(_) => true,
            HttpError::Denied { .. } | HttpError::Login { .. } | HttpError::TooLarge { .. } => {
                false
            }
        }
    }

    /// The wait the registry asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn transport(error: &reqwest::Error) -> HttpError {
    if tls_refusal(error) {
        HttpError::Untrusted(error_chain(error))
    } else {
        HttpError::Transport(error_chain(error))
    }
}

/// Whether rustls refused the connection: its error sits inside an `io::Error` somewhere down
/// the chain, where `source()` does not reach (an `io::Error` hands out its inner error's
/// source, not the inner error), so each `io::Error` is opened by hand.
fn tls_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if current.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && (inner.is::<rustls::Error>() || tls_refusal(inner))
        {
            return true;
        }
        next = current.source();
    }
    false
}

/// What a login granted for one repository. Never printed: `Debug` hides the secrets.
#[derive(Clone)]
enum Grant {
    Nothing,
    Basic(String, String),
    Bearer(String),
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grant::Nothing => "Nothing",
            Grant::Basic(..) => "Basic(<redacted>)",
            Grant::Bearer(_) => "Bearer(<redacted>)",
        })
    }
}

impl Grant {
    fn as_given(auth: &RegistryAuth) -> Self {
        match auth {
            RegistryAuth::Anonymous => Grant::Nothing,
            RegistryAuth::Basic(user, password) => Grant::Basic(user.clone(), password.clone()),
            RegistryAuth::Bearer(token) => Grant::Bearer(token.clone()),
        }
    }
}

type GrantCell = Arc<OnceCell<Grant>>;

/// What a grant lets us do: read, or read and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Access {
    Pull,
    Push,
    /// No credentials at all: a request to another host than the registry's.
    Anonymous,
}

/// Talks to the registries on one side (sources or the target) of a run.
pub struct RegistryClient {
    http: reqwest::Client,
    handshake: Client,
    plain_http: Vec<String>,
    hosts: Arc<Hosts>,
    grants: Mutex<HashMap<(String, String, Access), GrantCell>>,
    /// Hosts that hand out no tokens (credentials go as they are, or none are needed): no
    /// handshake for any of their repositories.
    tokenless_hosts: Mutex<HashSet<String>>,
    /// Where each token registry hands out tokens, from its `/v2/` challenge.
    token_services: Mutex<HashMap<String, Arc<OnceCell<Option<TokenService>>>>>,
    /// Tokens for mounts, by (registry, repository, source repository).
    mount_tokens: Mutex<HashMap<MountPair, Arc<OnceCell<String>>>>,
    /// Whether a 401 on a remembered login logs in again and repeats the request.
    renew_logins: bool,
    /// The whole time a small request may take.
    small_timeout: Duration,
}

/// (registry, repository, source repository).
type MountPair = (String, String, String);

/// A token registry's token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TokenService {
    realm: String,
    service: Option<String>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("plain_http", &self.plain_http)
            .finish_non_exhaustive()
    }
}

/// Whether a request takes a slot on its host or runs under one the caller holds (a blob
/// stream holds its slots for both ends while it lasts; taking a second one on the same host
/// could wait forever once every slot is held by such streams).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slots {
    /// Wait for a free slot.
    Take,
    /// The caller holds a slot on the host already.
    Held,
}

/// A response we can act on.
enum Answer {
    Ok(reqwest::Response),
    NotFound,
}

/// What a manifest HEAD tells without the manifest's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestHead {
    /// `sha256:…`.
    pub digest: String,
    /// The `Content-Type`, without parameters, when the registry sent one.
    pub media_type: Option<String>,
}

/// How a blob reached the target when mounting was tried.
#[derive(Debug, PartialEq, Eq)]
pub enum Mount {
    /// The registry linked the blob from the other repository.
    Mounted,
    /// Not mounted; the registry opened an upload at this URL instead (a 202), or refused.
    Declined(Option<String>),
}

impl RegistryClient {
    /// A client that logs in through `handshake` and shares the run's per-host limits.
    pub fn new(
        connection: &Connection,
        handshake: Client,
        hosts: Arc<Hosts>,
    ) -> Result<Self, String> {
        crate::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("qci-mirror/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connection.idle_timeout)
            .read_timeout(connection.idle_timeout)
            // Uploads are followed by hand (Location), never by redirect.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = connection.ca_pem()? {
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("cannot read the CA certificates: {e}"))?;
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(RegistryClient {
            http: builder
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))?,
            handshake,
            plain_http: connection.plain_http.clone(),
            hosts,
            grants: Mutex::new(HashMap::new()),
            tokenless_hosts: Mutex::new(HashSet::new()),
            token_services: Mutex::new(HashMap::new()),
            mount_tokens: Mutex::new(HashMap::new()),
            small_timeout: connection.idle_timeout * SMALL_REQUEST_IDLE_TIMEOUTS,
            renew_logins: true,
        })
    }

    /// A client that takes a 401 as final. Renewing a login serves runs long enough for
    /// tokens to expire; a pull-request check lasts seconds, so there a 401 means the login is
    /// not enough (a private image), and asking again would only repeat the request.
    #[must_use]
    pub fn without_login_renewal(mut self) -> Self {
        self.renew_logins = false;
        self
    }

    fn base(&self, image: &Reference) -> String {
        let registry = image.resolve_registry();
        let scheme = if self.plain_http.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}")
    }

    fn url(&self, image: &Reference, kind: &str, reference: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{reference}",
            self.base(image),
            image.repository()
        )
    }

    /// The digest of `image`'s manifest from one HEAD accepting every manifest type (so an
    /// index is compared as a whole), or `None` when the tag or repository does not exist.
    pub async fn manifest_digest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Option<String>, HttpError> {
        Ok(self
            .manifest_head(image, auth)
            .await?
            .map(|head| head.digest))
    }

    /// What one HEAD of `image`'s manifest says (accepting every manifest type), or `None` when
    /// the tag or repository does not exist.
    pub async fn manifest_head(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Option<ManifestHead>, HttpError> {
        let (url, answer) = self
            .request_manifest(reqwest::Method::HEAD, image, auth)
            .await?;
        let response = match answer {
            Answer::Ok(response) => response,
            Answer::NotFound => return Ok(None),
        };
        let media_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let Some(digest) = digest_header(&response) else {
            // Registries that keep the digest to themselves get the GET the spec allows.
            return self
                .manifest(image, auth)
                .await
                .map(|(_, digest)| Some(ManifestHead { digest, media_type }));
        };
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(HttpError::Invalid(format!(
                "{url} answered with digest {digest}, not the pinned {pinned}"
            )));
        }
        Ok(Some(ManifestHead { digest, media_type }))
    }

    /// The raw bytes of `image`'s manifest and their digest, checked against the pinned digest
    /// when `image` has one.
    pub async fn manifest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(Bytes, String), HttpError> {
        let (url, answer) = self
            .request_manifest(reqwest::Method::GET, image, auth)
            .await?;
        let response = match answer {
            Answer::Ok(response) => response,
            Answer::NotFound => {
                return Err(not_found(url, Some("manifest unknown")));
            }
        };
        let Body::Whole(bytes) = read_body(response, MAX_MANIFEST_BYTES).await? else {
            return Err(HttpError::TooLarge {
                url,
                what: "manifest",
                limit: MAX_MANIFEST_BYTES,
            });
        };
        let digest = sha256_digest(&bytes);
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(HttpError::Invalid(format!(
                "{url}: the manifest's bytes hash to {digest}, not {pinned}"
            )));
        }
        Ok((bytes, digest))
    }

    /// A HEAD or GET of `image`'s manifest accepting every manifest type; the URL for messages.
    async fn request_manifest(
        &self,
        method: reqwest::Method,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(String, Answer), HttpError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let request = |http: &reqwest::Client| {
            Some(
                http.request(method.clone(), &url)
                    .header(http::header::ACCEPT, media::ACCEPTED.join(", "))
                    .timeout(self.small_timeout),
            )
        };
        let answer = self
            .send(image, auth, Access::Pull, Slots::Take, request)
            .await?;
        Ok((url, answer))
    }

    /// Every tag of `image`'s repository, page by page as the registry hands them out (each
    /// page at most [`MAX_MANIFEST_BYTES`], at most [`MAX_TAG_PAGES`] pages).
    pub async fn tags(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Vec<String>, HttpError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut tags = Vec::new();
        let mut url = format!("{}?n={TAGS_PER_PAGE}", self.url(image, "tags", "list"));
        for _ in 0..MAX_TAG_PAGES {
            let request = |http: &reqwest::Client| Some(http.get(&url).timeout(self.small_timeout));
            let response = match self
                .send(image, auth, Access::Pull, Slots::Take, request)
                .await?
            {
                Answer::Ok(response) => response,
                Answer::NotFound => return Ok(tags),
            };
            // `Link: </v2/<name>/tags/list?n=1000&last=x>; rel="next"`, relative to the host.
            let next = response
                .headers()
                .get(http::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|link| {
                    let (target, params) = link.split_once(';')?;
                    params.contains("rel=\"next\"").then(|| {
                        target
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned()
                    })
                });
            let Body::Whole(body) = read_body(response, MAX_MANIFEST_BYTES).await? else {
                return Err(HttpError::TooLarge {
                    url,
                    what: "tag list page",
                    limit: MAX_MANIFEST_BYTES,
                });
            };
            let page: Page = serde_json::from_slice(&body)
                .map_err(|e| HttpError::Invalid(format!("{url}: the tag list is not JSON: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) if next.starts_with('/') => url = format!("{}{next}", self.base(image)),
                Some(next) if next.starts_with(&self.base(image)) => url = next,
                _ => return Ok(tags),
            }
        }
        Err(HttpError::Invalid(format!(
            "{url}: the tag list goes on past {MAX_TAG_PAGES} pages of {TAGS_PER_PAGE}"
        )))
    }

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

    /// Pushes manifest `bytes` of `media_type` to `image` (a tag or a digest) exactly as given,
    /// and returns the digest the registry says it stored, when it says.
    pub async fn put_manifest(
        &self,
        image: &Reference,
        bytes: Bytes,
        media_type: &str,
        auth: &RegistryAuth,
    ) -> Result<Option<String>, HttpError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let request = |http: &reqwest::Client| {
            Some(
                http.put(&url)
                    .header(http::header::CONTENT_TYPE, media_type)
                    .body(bytes.clone())
                    .timeout(self.small_timeout),
            )
        };
        match self
            .send(image, auth, Access::Push, Slots::Take, request)
            .await?
        {
            Answer::Ok(response) => Ok(digest_header(&response)),
            Answer::NotFound => Err(not_found(url, Some("the repository does not exist"))),
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

    /// A token for pushing to `image`'s repository and reading `from`, in one.
    async fn mount_token(
        &self,
        image: &Reference,
        from: &str,
        auth: &RegistryAuth,
    ) -> Result<String, HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let key = (
                registry.to_owned(),
                image.repository().to_owned(),
                from.to_owned(),
            );
            let mut tokens = self.mount_tokens.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(tokens.entry(key).or_default())
        };
        cell.get_or_try_init(|| async {
            let service = self
                .token_service(image)
                .await?
                .ok_or_else(|| HttpError::Login {
                    registry: registry.to_owned(),
                    reason: "it hands out no tokens".to_owned(),
                })?;
            let mut query = vec![
                (
                    "scope",
                    format!("repository:{}:pull,push", image.repository()),
                ),
                ("scope", format!("repository:{from}:pull")),
            ];
            if let Some(name) = &service.service {
                query.push(("service", name.clone()));
            }
            let mut request = self
                .http
                .get(&service.realm)
                .query(&query)
                .timeout(self.small_timeout);
            if let RegistryAuth::Basic(user, password) = auth {
                request = request.basic_auth(user, Some(password));
            }
            let response = request.send().await.map_err(|e| transport(&e))?;
            let status = response.status().as_u16();
            let body = match read_body(response, MAX_SMALL_BODY_BYTES).await? {
                Body::Whole(body) => body,
                Body::TooLarge => Bytes::new(),
            };
            #[derive(serde::Deserialize)]
            struct TokenAnswer {
                token: Option<String>,
                access_token: Option<String>,
            }
            let answer = (status == 200)
                .then(|| serde_json::from_slice::<TokenAnswer>(&body).ok())
                .flatten()
                .and_then(|a| a.token.or(a.access_token));
            answer.ok_or_else(|| HttpError::Login {
                registry: registry.to_owned(),
                reason: format!("the token service answered HTTP {status} for a mount token"),
            })
        })
        .await
        .cloned()
    }

    /// The token endpoint a registry names in its `/v2/` challenge, asked once per host.
    async fn token_service(&self, image: &Reference) -> Result<Option<TokenService>, HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let mut services = self
                .token_services
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Arc::clone(services.entry(registry.to_owned()).or_default())
        };
        cell.get_or_try_init(|| async {
            let response = {
                let _slot = self.hosts.enter(registry).await;
                self.http
                    .get(format!("{}/v2/", self.base(image)))
                    .timeout(self.small_timeout)
                    .send()
                    .await
                    .map_err(|e| transport(&e))?
            };
            Ok(response
                .headers()
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(bearer_challenge))
        })
        .await
        .cloned()
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
                message: Some(message),
                url,
                ..
            }) if message.contains("digest") => {
                Err(HttpError::Invalid(format!("{url}: {message}")))
            }
            Err(error) => Err(error),
        }
    }

    /// The absolute URL in a response's `Location` header.
    fn location(&self, image: &Reference, response: &reqwest::Response) -> Option<String> {
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

    /// Sends one request with the repository's grant; on a 401 with a remembered grant, logs
    /// in again once (tokens expire mid-run) and builds the request again, unless `build` can
    /// no longer (a streamed body is gone).
    async fn send<F>(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        access: Access,
        slots: Slots,
        mut build: F,
    ) -> Result<Answer, HttpError>
    where
        F: FnMut(&reqwest::Client) -> Option<reqwest::RequestBuilder>,
    {
        let mut renewed = false;
        loop {
            // A request that cannot be built again (its streamed body is gone) ends here,
            // before logging in afresh for nothing.
            let Some(request) = build(&self.http) else {
                return Err(HttpError::Denied {
                    url: format!("{}/v2/{}", self.base(image), image.repository()),
                    status: 401,
                });
            };
            let (cell, grant) = match access {
                Access::Anonymous => (None, Grant::Nothing),
                _ => {
                    let (cell, grant) = self.grant(image, auth, access, slots).await?;
                    (Some(cell), grant)
                }
            };
            let request = match &grant {
                Grant::Nothing => request,
                Grant::Basic(user, password) => request.basic_auth(user, Some(password)),
                Grant::Bearer(token) => request.bearer_auth(token),
            };
            let request = request.build().map_err(|e| transport(&e))?;
            let url = request.url().to_string();
            let response = {
                let _slot = match slots {
                    Slots::Take => Some(self.hosts.enter(image.resolve_registry()).await),
                    Slots::Held => None,
                };
                self.execute_following_redirects(request).await?
            };
            let status = response.status().as_u16();
            match (status, cell) {
                (200..=299, _) => return Ok(Answer::Ok(response)),
                (404, _) => return Ok(Answer::NotFound),
                (401, Some(cell))
                    if self.renew_logins && !renewed && !matches!(grant, Grant::Nothing) =>
                {
                    self.forget(image, access, &cell);
                    renewed = true;
                }
                (401 | 403, _) => return Err(HttpError::Denied { url, status }),
                _ => return Err(self.failure(image, &url, response).await),
            }
        }
    }

    /// Executes `request`; a GET or HEAD answered with a redirect (blob downloads often go to
    /// a CDN) is followed, at most five times, and credentials never leave the host they are
    /// for (CVE-2020-15157).
    async fn execute_following_redirects(
        &self,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response, HttpError> {
        for _hop in 0..=MAX_REDIRECTS {
            let next = match *request.method() {
                reqwest::Method::GET | reqwest::Method::HEAD => request.try_clone(),
                _ => None,
            };
            let response = self
                .http
                .execute(request)
                .await
                .map_err(|e| transport(&e))?;
            let target = response
                .status()
                .is_redirection()
                .then(|| response.headers().get(http::header::LOCATION))
                .flatten()
                .and_then(|location| location.to_str().ok())
                .and_then(|location| response.url().join(location).ok());
            let (Some(mut next), Some(target)) = (next, target) else {
                return Ok(response);
            };
            if target.host_str() != response.url().host_str()
                || target.port_or_known_default() != response.url().port_or_known_default()
            {
                next.headers_mut().remove(http::header::AUTHORIZATION);
            }
            *next.url_mut() = target;
            request = next;
        }
        Err(HttpError::Invalid(format!(
            "more than {MAX_REDIRECTS} redirects for {}",
            request.url()
        )))
    }

    async fn failure(
        &self,
        image: &Reference,
        url: &str,
        response: reqwest::Response,
    ) -> HttpError {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        if let Some(wait) = retry_after {
            self.hosts.pause(image.resolve_registry(), wait);
        }
        // Only for its message: a body too large, or cut, has none worth quoting.
        let body = match read_body(response, MAX_SMALL_BODY_BYTES).await {
            Ok(Body::Whole(body)) => body,
            Ok(Body::TooLarge) | Err(_) => Bytes::new(),
        };
        HttpError::Status {
            url: url.to_owned(),
            status,
            message: error_messages(&body),
            retry_after,
        }
    }

    fn key(image: &Reference, access: Access) -> (String, String, Access) {
        (
            image.resolve_registry().to_owned(),
            image.repository().to_owned(),
            access,
        )
    }

    fn forget(&self, image: &Reference, access: Access, stale: &GrantCell) {
        let key = Self::key(image, access);
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        if grants
            .get(&key)
            .is_some_and(|cell| Arc::ptr_eq(cell, stale))
        {
            grants.remove(&key);
        }
        self.tokenless_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(image.resolve_registry());
    }

    /// The grant for `image`'s repository, logging in once per repository and access
    /// (concurrent callers wait for the same handshake, made under a host slot). A caller
    /// holding a slot never waits, neither for a slot nor for another caller's handshake
    /// (which may itself be waiting for a slot): it logs in by itself.
    async fn grant(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        access: Access,
        slots: Slots,
    ) -> Result<(GrantCell, Grant), HttpError> {
        let registry = image.resolve_registry();
        let cell = {
            let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(grants.entry(Self::key(image, access)).or_default())
        };
        let tokenless = self
            .tokenless_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(registry);
        if tokenless {
            return Ok((cell, Grant::as_given(auth)));
        }
        if slots == Slots::Held {
            if let Some(grant) = cell.get() {
                return Ok((Arc::clone(&cell), grant.clone()));
            }
            let grant = self.log_in(image, auth, access).await?;
            let _ = cell.set(grant.clone());
            return Ok((cell, grant));
        }
        let grant = cell
            .get_or_try_init(|| async {
                let _slot = self.hosts.enter(registry).await;
                self.log_in(image, auth, access).await
            })
            .await?
            .clone();
        Ok((cell, grant))
    }

    /// One handshake through oci-client: a token, or what to send without one.
    async fn log_in(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        access: Access,
    ) -> Result<Grant, HttpError> {
        let registry = image.resolve_registry();
        let operation = match access {
            Access::Push => RegistryOperation::Push,
            Access::Pull | Access::Anonymous => RegistryOperation::Pull,
        };
        let login = tokio::time::timeout(
            self.small_timeout,
            self.handshake.auth(image, auth, operation),
        );
        let Ok(login) = login.await else {
            return Err(HttpError::Transport(format!(
                "{registry} did not finish the login within {} s",
                self.small_timeout.as_secs()
            )));
        };
        match login {
            Ok(Some(token)) => Ok(Grant::Bearer(token)),
            // No token: the registry takes Basic credentials as they are, or asks for nothing
            // at all; the same holds for its other repositories.
            Ok(None) => {
                self.tokenless_hosts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(registry.to_owned());
                Ok(Grant::as_given(auth))
            }
            // Not reaching the registry is not a failed login: it may pass on a retry.
            Err(OciDistributionError::RequestError(error)) => Err(transport(&error)),
            Err(error) => Err(HttpError::Login {
                registry: registry.to_owned(),
                reason: error_chain(&error),
            }),
        }
    }
}

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// A blob's bytes as they arrive, checked against its digest and size: a mismatch is an error
/// at the end of the stream, so an upload fed from it is never completed.
pub struct VerifiedStream {
    inner: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    hasher: Option<sha2::Sha256>,
    digest: String,
    expected_size: u64,
    seen: u64,
    /// The source URL, for messages.
    url: String,
    /// Bytes as they pass, for progress.
    progress: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// What went wrong on the source's side, if anything: the upload it feeds fails too, and
    /// would otherwise be blamed.
    failure: Arc<Mutex<Option<String>>>,
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

    fn fail(&self, reason: &str) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert_with(|| {
            format!("reading {} from the source failed: {reason}", self.url)
        });
    }

    fn mismatch(&self, reason: &str) -> std::io::Error {
        let reason = format!("blob {} arrived wrong: {reason}", self.digest);
        self.fail(&reason);
        std::io::Error::new(std::io::ErrorKind::InvalidData, reason)
    }
}

/// Manifest reads and writes, blob checks, upload starts and logins are small and end within
/// this many idle timeouts in all; blob bodies are not, and only must keep moving (each read
/// within the idle timeout), however long a large layer takes.
const SMALL_REQUEST_IDLE_TIMEOUTS: u32 = 2;

/// A 404 where the protocol promises something: `what` says what was missing.
fn not_found(url: String, what: Option<&str>) -> HttpError {
    HttpError::Status {
        url,
        status: 404,
        message: what.map(str::to_owned),
        retry_after: None,
    }
}

fn digest_header(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `sha256:<hex>` of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(bytes);
    hex_digest(hasher)
}

fn hex_digest(hasher: sha2::Sha256) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hasher.finalize() {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The token endpoint in a `WWW-Authenticate: Bearer realm="…",service="…"` challenge.
fn bearer_challenge(header: &str) -> Option<TokenService> {
    let challenges = http_auth::parse_challenges(header).ok()?;
    let bearer = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("Bearer"))?;
    let param = |name: &str| {
        bearer
            .params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.to_unescaped())
    };
    Some(TokenService {
        realm: param("realm")?,
        service: param("service"),
    })
}

fn tag_or_digest(image: &Reference) -> String {
    image
        .digest()
        .or(image.tag())
        .unwrap_or("latest")
        .to_owned()
}

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3), measured from `now`; a date
/// already past means "now".
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `message`s of a registry's `{"errors": [...]}` body, or a short plain-text body.
fn error_messages(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    if let Ok(envelope) = serde_json::from_slice::<Envelope>(body) {
        let messages: Vec<String> = envelope
            .errors
            .into_iter()
            .filter_map(|e| e.message.or(e.code))
            .collect();
        return (!messages.is_empty()).then(|| crate::diag::excerpt(&messages.join("; ")));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && !text.starts_with('<')).then(|| crate::diag::excerpt(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_spelled_like_registries_spell_them() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    async fn verified(chunks: &[&'static [u8]], whole: &[u8]) -> Vec<Result<Bytes, String>> {
        use futures_util::StreamExt;
        let inner = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, reqwest::Error>(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        );
        let stream = VerifiedStream {
            inner: Box::pin(inner),
            hasher: Some(sha2::Sha256::new()),
            digest: sha256_digest(whole),
            expected_size: whole.len() as u64,
            seen: 0,
            url: "http://source.test/v2/a/blobs/x".to_owned(),
            progress: None,
            failure: Arc::default(),
        };
        stream.map(|r| r.map_err(|e| e.to_string())).collect().await
    }

    #[tokio::test]
    async fn a_blob_stream_holds_back_its_last_chunk_until_the_digest_is_right() {
        let ok = verified(&[b"hello ", b"world"], b"hello world").await;
        assert_eq!(
            ok,
            vec![Ok(Bytes::from("hello ")), Ok(Bytes::from("world"))]
        );
        assert_eq!(verified(&[], b"").await, vec![]);

        let corrupted = verified(&[b"hello ", b"wOrld"], b"hello world").await;
        assert_eq!(corrupted[0], Ok(Bytes::from("hello ")));
        assert!(
            corrupted[1]
                .as_ref()
                .unwrap_err()
                .contains("its bytes hash to sha256:")
        );
        assert_eq!(corrupted.len(), 2, "the wrong last chunk never went out");

        let short = verified(&[b"hello "], b"hello world").await;
        assert!(
            short[1]
                .as_ref()
                .unwrap_err()
                .contains("only 6 of 11 bytes")
        );
        let long = verified(&[b"hello world", b"!"], b"hello world").await;
        assert!(long[1].as_ref().unwrap_err().contains("more than 11 bytes"));
    }

    #[test]
    fn bearer_challenges_name_their_token_service() {
        assert_eq!(
            bearer_challenge(
                r#"Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:a/b:pull""#
            ),
            Some(TokenService {
                realm: "https://quay.io/v2/auth".to_owned(),
                service: Some("quay.io".to_owned()),
            })
        );
        assert_eq!(bearer_challenge(r#"Basic realm="registry""#), None);
        assert_eq!(bearer_challenge("garbage \u{0}"), None);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_is_understood() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn registry_error_bodies_become_short_messages() {
        assert_eq!(
            error_messages(br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"},{"code":"DENIED"}]}"#),
            Some("slow down; DENIED".to_owned())
        );
        assert_eq!(
            error_messages(b"You have reached your pull rate limit.\n"),
            Some("You have reached your pull rate limit.".to_owned())
        );
        assert_eq!(error_messages(b"<html>bad gateway</html>"), None);
        assert_eq!(error_messages(b""), None);
    }

    #[test]
    fn grants_never_print_their_secrets() {
        let text = format!(
            "{:?} {:?}",
            Grant::Basic("robot".into(), "hunter2".into()),
            Grant::Bearer("tok3n".into())
        );
        assert!(!text.contains("hunter2") && !text.contains("tok3n") && !text.contains("robot"));
    }

    #[test]
    fn temporary_failures_are_told_apart_from_final_ones() {
        let status = |status| HttpError::Status {
            url: String::new(),
            status,
            message: None,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(status(429).is_temporary());
        assert!(HttpError::Transport("connection reset".into()).is_temporary());
        assert!(
            !HttpError::Untrusted("invalid peer certificate: UnknownIssuer".into()).is_temporary()
        );
        assert!(status(503).is_temporary());
        assert!(!status(400).is_temporary());
        assert_eq!(status(429).retry_after(), Some(Duration::from_secs(2)));
        assert!(
            !HttpError::Denied {
                url: String::new(),
                status: 401
            }
            .is_temporary()
        );
    }
}
