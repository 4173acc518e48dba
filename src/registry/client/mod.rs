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
//!
//! This file is the transport every request goes through: sending with a grant, following
//! redirects, deadlines, the one bounded body reader, and reading error answers. The
//! endpoints live beside it: `manifests.rs`, `blobs.rs`; logins in `login.rs`; errors in `error.rs`.

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

mod blobs;
mod error;
mod login;
mod manifests;

pub use blobs::{Mount, VerifiedStream};
pub use error::HttpError;
pub use manifests::ManifestHead;

use blobs::*;
use error::*;
use login::*;

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

impl RegistryClient {
    /// A client that logs in through `handshake` and shares the run's per-host limits.
    pub fn new(
        connection: &Connection,
        handshake: Client,
        hosts: Arc<Hosts>,
    ) -> Result<Self, super::SetupError> {
        crate::install_tls_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("qci-mirror/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(connection.idle_timeout)
            .read_timeout(connection.idle_timeout)
            // Uploads are followed by hand (Location), never by redirect.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = connection.ca_pem()? {
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                super::SetupError::Client {
                    what: "HTTP client (its CA certificates)",
                    reason: e.to_string(),
                }
            })?;
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(RegistryClient {
            http: builder.build().map_err(|e| super::SetupError::Client {
                what: "HTTP client",
                reason: e.to_string(),
            })?,
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
            let (method, url) = (request.method().clone(), shown_url(request.url()));
            let started = std::time::Instant::now();
            let response = self.http.execute(request).await.map_err(|e| {
                tracing::debug!(
                    "{method} {url} failed after {} ms: {e}",
                    started.elapsed().as_millis()
                );
                transport(&e)
            })?;
            tracing::debug!(
                "{method} {url} -> {} in {} ms",
                response.status().as_u16(),
                started.elapsed().as_millis()
            );
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
        let (message, codes) = error_messages(&body);
        HttpError::Status {
            url: url.to_owned(),
            status,
            message,
            codes,
            retry_after,
        }
    }
}

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

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
        codes: Vec::new(),
        retry_after: None,
    }
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

/// The most error codes kept from one answer.
const MAX_ERROR_CODES: usize = 8;

/// What an error answer says: the `message`s of a registry's `{"errors": [...]}` body (or a
/// short plain-text body), for people, and its `code`s, for us.
fn error_messages(body: &[u8]) -> (Option<String>, Vec<String>) {
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
        // A hostile registry could send thousands; a few tell what happened.
        let errors = &envelope.errors[..envelope.errors.len().min(MAX_ERROR_CODES)];
        let codes = errors.iter().filter_map(|e| e.code.clone()).collect();
        let messages: Vec<String> = errors
            .iter()
            .filter_map(|e| e.message.clone().or_else(|| e.code.clone()))
            .collect();
        let message = (!messages.is_empty()).then(|| crate::diag::excerpt(&messages.join("; ")));
        return (message, codes);
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = (!text.is_empty() && !text.starts_with('<')).then(|| crate::diag::excerpt(text));
    (message, Vec::new())
}

/// `url` without its query and fragment: enough to tell requests apart, without upload
/// states or a CDN's signed parameters.
pub(crate) fn shown_url(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::manifests::*;
    use super::*;

    #[test]
    fn urls_are_shown_without_query_or_login() {
        let url = reqwest::Url::parse(
            "https://user:pass@cdn.example.com/blobs/sha256:ab?X-Amz-Signature=secret#x",
        )
        .unwrap();
        assert_eq!(shown_url(&url), "https://cdn.example.com/blobs/sha256:ab");
    }

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
    fn registry_error_bodies_become_short_messages_and_their_codes() {
        assert_eq!(
            error_messages(br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"},{"code":"DENIED"}]}"#),
            (
                Some("slow down; DENIED".to_owned()),
                vec!["TOOMANYREQUESTS".to_owned(), "DENIED".to_owned()]
            )
        );
        assert_eq!(
            error_messages(b"You have reached your pull rate limit.\n"),
            (
                Some("You have reached your pull rate limit.".to_owned()),
                Vec::new()
            )
        );
        assert_eq!(
            error_messages(b"<html>bad gateway</html>"),
            (None, Vec::new())
        );
        assert_eq!(error_messages(b""), (None, Vec::new()));
        let flood = format!(
            "{{\"errors\":[{}]}}",
            vec![r#"{"code":"DENIED"}"#; 1000].join(",")
        );
        assert_eq!(error_messages(flood.as_bytes()).1.len(), MAX_ERROR_CODES);
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
            codes: Vec::new(),
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
