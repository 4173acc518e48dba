//! The reads on the hot path, made directly over HTTP: manifest HEAD and GET, and blob HEAD.
//!
//! oci-client's own versions are a poor fit for a run of hundreds of entries (measured, see
//! `bench/RESULTS.md`): they ping `GET /v2/` before every request to a registry that needs no
//! login, turn a HEAD on an absent tag into a second request (a GET), hide response headers (so
//! `Retry-After` is lost), and keep using a token the registry has stopped accepting. Logins
//! still go through oci-client's handshake ([`Client::auth`]); what it grants is remembered per
//! repository and asked for again once when the registry answers 401.

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

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
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
    /// The answer was not what the protocol promises (a digest mismatch, a bad header).
    #[error("{0}")]
    Invalid(String),
}

impl ReadError {
    /// Whether trying again may succeed: 408, 429, 5xx, transport failures, and bytes that
    /// did not match their digest (corrupted on the way).
    pub fn is_temporary(&self) -> bool {
        match self {
            ReadError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            // A certificate we do not trust stays untrusted (rustls says "invalid peer
            // certificate"; the error type itself is not reachable through reqwest).
            ReadError::Transport(reason) => !reason.contains("certificate"),
            ReadError::Invalid(_) => true,
            ReadError::Denied { .. } | ReadError::Login { .. } => false,
        }
    }

    /// The wait the registry asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ReadError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn transport(error: &reqwest::Error) -> ReadError {
    ReadError::Transport(error_chain(error))
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

/// Reads manifests and checks blobs on one side (sources or the target) of a run.
pub struct Reader {
    http: reqwest::Client,
    handshake: Client,
    plain_http: Vec<String>,
    hosts: Arc<Hosts>,
    grants: Mutex<HashMap<(String, String), GrantCell>>,
    /// Hosts that hand out no tokens (credentials go as they are, or none are needed): no
    /// handshake for any of their repositories.
    tokenless_hosts: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("plain_http", &self.plain_http)
            .finish_non_exhaustive()
    }
}

/// A response we can act on.
enum Answer {
    Ok(reqwest::Response),
    NotFound,
}

impl Reader {
    /// A reader that logs in through `handshake` and shares the run's per-host limits.
    pub fn new(
        connection: &Connection,
        handshake: Client,
        hosts: Arc<Hosts>,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("qci-mirror/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120));
        if let Some(pem) = connection.ca_pem()? {
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("cannot read the CA certificates: {e}"))?;
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(Reader {
            http: builder
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))?,
            handshake,
            plain_http: connection.plain_http.clone(),
            hosts,
            grants: Mutex::new(HashMap::new()),
            tokenless_hosts: Mutex::new(HashSet::new()),
        })
    }

    fn url(&self, image: &Reference, kind: &str, reference: &str) -> String {
        let registry = image.resolve_registry();
        let scheme = if self.plain_http.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        };
        format!(
            "{scheme}://{registry}/v2/{}/{kind}/{reference}",
            image.repository()
        )
    }

    /// The digest of `image`'s manifest from one HEAD accepting every manifest type (so an
    /// index is compared as a whole), or `None` when the tag or repository does not exist.
    pub async fn manifest_digest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<Option<String>, ReadError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let response = match self
            .send(reqwest::Method::HEAD, &url, image, auth, true)
            .await?
        {
            Answer::Ok(response) => response,
            Answer::NotFound => return Ok(None),
        };
        let Some(digest) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            // Registries that keep the digest to themselves get the GET the spec allows.
            return self
                .manifest(image, auth)
                .await
                .map(|(_, digest)| Some(digest));
        };
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(ReadError::Invalid(format!(
                "{url} answered with digest {digest}, not the pinned {pinned}"
            )));
        }
        Ok(Some(digest))
    }

    /// The raw bytes of `image`'s manifest and their digest, checked against the pinned digest
    /// when `image` has one.
    pub async fn manifest(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(Bytes, String), ReadError> {
        let url = self.url(image, "manifests", &tag_or_digest(image));
        let response = match self
            .send(reqwest::Method::GET, &url, image, auth, true)
            .await?
        {
            Answer::Ok(response) => response,
            Answer::NotFound => {
                return Err(ReadError::Status {
                    url,
                    status: 404,
                    message: Some("manifest unknown".to_owned()),
                    retry_after: None,
                });
            }
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_MANIFEST_BYTES as u64)
        {
            return Err(ReadError::Invalid(format!(
                "{url}: the manifest is larger than {MAX_MANIFEST_BYTES} bytes"
            )));
        }
        let bytes = response.bytes().await.map_err(|e| transport(&e))?;
        let digest = sha256_digest(&bytes);
        if let Some(pinned) = image.digest()
            && pinned != digest
        {
            return Err(ReadError::Invalid(format!(
                "{url}: the manifest's bytes hash to {digest}, not {pinned}"
            )));
        }
        Ok((bytes, digest))
    }

    /// Whether `image`'s repository holds the blob `digest`.
    pub async fn blob_exists(
        &self,
        image: &Reference,
        digest: &str,
        auth: &RegistryAuth,
    ) -> Result<bool, ReadError> {
        let url = self.url(image, "blobs", digest);
        match self
            .send(reqwest::Method::HEAD, &url, image, auth, false)
            .await?
        {
            Answer::Ok(_) => Ok(true),
            Answer::NotFound => Ok(false),
        }
    }

    /// Sends one request with the repository's grant; on a 401 with a remembered grant, logs
    /// in again once (tokens expire mid-run) and resends.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        image: &Reference,
        auth: &RegistryAuth,
        manifest: bool,
    ) -> Result<Answer, ReadError> {
        let mut renewed = false;
        loop {
            let (cell, grant) = self.grant(image, auth).await?;
            let mut request = self.http.request(method.clone(), url);
            if manifest {
                request = request.header(http::header::ACCEPT, media::ACCEPTED.join(", "));
            }
            request = match &grant {
                Grant::Nothing => request,
                Grant::Basic(user, password) => request.basic_auth(user, Some(password)),
                Grant::Bearer(token) => request.bearer_auth(token),
            };
            let response = {
                let _slot = self.hosts.enter(image.resolve_registry()).await;
                request.send().await.map_err(|e| transport(&e))?
            };
            let status = response.status().as_u16();
            match status {
                200..=299 => return Ok(Answer::Ok(response)),
                404 => return Ok(Answer::NotFound),
                401 if !renewed && !matches!(grant, Grant::Nothing) => {
                    self.forget(image, &cell);
                    renewed = true;
                }
                401 | 403 => {
                    return Err(ReadError::Denied {
                        url: url.to_owned(),
                        status,
                    });
                }
                _ => return Err(self.failure(image, url, response).await),
            }
        }
    }

    async fn failure(
        &self,
        image: &Reference,
        url: &str,
        response: reqwest::Response,
    ) -> ReadError {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        if let Some(wait) = retry_after {
            self.hosts.pause(image.resolve_registry(), wait);
        }
        let body = response.bytes().await.unwrap_or_default();
        ReadError::Status {
            url: url.to_owned(),
            status,
            message: error_messages(&body),
            retry_after,
        }
    }

    fn cell(&self, image: &Reference) -> GrantCell {
        let key = (
            image.resolve_registry().to_owned(),
            image.repository().to_owned(),
        );
        let mut grants = self.grants.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(grants.entry(key).or_default())
    }

    fn forget(&self, image: &Reference, stale: &GrantCell) {
        let key = (
            image.resolve_registry().to_owned(),
            image.repository().to_owned(),
        );
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

    /// The grant for `image`'s repository, logging in once per repository (concurrent callers
    /// wait for the same handshake).
    async fn grant(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
    ) -> Result<(GrantCell, Grant), ReadError> {
        let registry = image.resolve_registry();
        let cell = self.cell(image);
        let tokenless = self
            .tokenless_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(registry);
        if tokenless {
            return Ok((cell, Grant::as_given(auth)));
        }
        let grant = cell
            .get_or_try_init(|| async {
                let answer = {
                    let _slot = self.hosts.enter(registry).await;
                    self.handshake
                        .auth(image, auth, RegistryOperation::Pull)
                        .await
                };
                match answer {
                    Ok(Some(token)) => Ok(Grant::Bearer(token)),
                    // No token: the registry takes Basic credentials as they are, or asks for
                    // nothing at all; the same holds for its other repositories.
                    Ok(None) => {
                        self.tokenless_hosts
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(registry.to_owned());
                        Ok(Grant::as_given(auth))
                    }
                    // Not reaching the registry is not a failed login: it may pass on a retry.
                    Err(OciDistributionError::RequestError(error)) => Err(transport(&error)),
                    Err(error) => Err(ReadError::Login {
                        registry: registry.to_owned(),
                        reason: error_chain(&error),
                    }),
                }
            })
            .await?
            .clone();
        Ok((cell, grant))
    }
}

/// `sha256:<hex>` of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in sha2::Sha256::digest(bytes) {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

fn tag_or_digest(image: &Reference) -> String {
    image
        .digest()
        .or(image.tag())
        .unwrap_or("latest")
        .to_owned()
}

/// `Retry-After` in seconds; an HTTP date (rare from registries) falls back to our backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
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
        return (!messages.is_empty()).then(|| messages.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && text.len() <= 200 && !text.starts_with('<')).then(|| text.to_owned())
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

    #[test]
    fn retry_after_in_seconds_is_understood() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
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
        let status = |status| ReadError::Status {
            url: String::new(),
            status,
            message: None,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(status(429).is_temporary());
        assert!(ReadError::Transport("connection reset".into()).is_temporary());
        assert!(
            !ReadError::Transport("invalid peer certificate: UnknownIssuer".into()).is_temporary()
        );
        assert!(status(503).is_temporary());
        assert!(!status(400).is_temporary());
        assert_eq!(status(429).retry_after(), Some(Duration::from_secs(2)));
        assert!(
            !ReadError::Denied {
                url: String::new(),
                status: 401
            }
            .is_temporary()
        );
    }
}
